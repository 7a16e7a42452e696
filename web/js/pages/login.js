// login.js - login for every role (key file, pasted keys or a key kept
// encrypted in this browser) and unlocking the key of an open session.

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { keyPicker, unlockCard } from '../widgets.js';
import { setTitle, toast } from '../ui.js';
import * as sess from '../session.js';

export function roleHome(role) {
  return { admin: '#/admin', department: '#/dept', student: '#/student' }[role] || '#/';
}

export function login() {
  setTitle(t('nav.login'));
  return h('div', { class: 'grid' },
    h('section', { class: 'card', 'aria-labelledby': 'h-login' },
      h('h1', { id: 'h-login' }, t('login.title')),
      h('p', null, t('login.intro')),
      keyPicker({ onKey: async (pair) => {
        const s = await sess.login(pair);
        toast(t('login.ok', { role: t('role.' + s.role) }), 'ok');
        location.hash = roleHome(s.role);
      } })),
    h('section', { class: 'card' },
      h('h2', null, t('login.newHere')),
      h('p', null, t('login.newText')),
      h('div', { class: 'actions' },
        h('a', { class: 'button secondary', href: '#/student/register' }, t('home.registerStudent')),
        h('a', { class: 'button secondary', href: '#/dept/register' }, t('home.registerDept'))),
      h('h3', null, t('login.adminTitle')),
      h('p', null, t('login.adminText'))));
}

export function unlock() {
  setTitle(t('unlock.title'));
  const s = sess.current();
  if (!s) {
    location.hash = '#/login';
    return h('p', { class: 'loading' }, t('loading'));
  }
  return unlockCard(() => {
    toast(t('unlock.ok'), 'ok');
    location.hash = roleHome(s.role);
  });
}

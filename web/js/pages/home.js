// home.js - the public home page: what LTDRS is, announcements, the activity
// catalogue, lookup by student number, register and login.

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { announcements, catalogue, lookupForm } from '../widgets.js';
import { setTitle } from '../ui.js';
import * as sess from '../session.js';

export function home(params) {
  setTitle(t('home.title'));
  const s = sess.current();
  const lookup = lookupForm(params && params.sid ? params.sid : '');
  const page = h('div', { class: 'home' },
    h('section', { class: 'card hero' },
      h('h1', null, t('home.title')),
      h('p', { class: 'lead' }, t('home.lead')),
      s ? null : h('div', { class: 'actions' },
        h('a', { class: 'button', href: '#/login' }, t('nav.login')),
        h('a', { class: 'button secondary', href: '#/student/register' }, t('home.registerStudent')),
        h('a', { class: 'button secondary', href: '#/dept/register' }, t('home.registerDept')))),
    h('div', { class: 'grid' },
      h('section', { class: 'card', 'aria-labelledby': 'h-lookup' },
        h('h2', { id: 'h-lookup' }, t('home.lookup')),
        h('p', { class: 'hint' }, t('home.lookupHint')),
        lookup),
      h('section', { class: 'card', 'aria-labelledby': 'h-ann' },
        h('h2', { id: 'h-ann' }, t('home.announcements')),
        announcements(10))),
    h('section', { class: 'card', 'aria-labelledby': 'h-cat' },
      h('h2', { id: 'h-cat' }, t('home.catalogue')),
      catalogue()));
  page.refresh = lookup.refresh;
  return page;
}

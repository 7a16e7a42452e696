// app.js - the single-page app: hash routes (plus the path /t/<ticket> for
// public ticket links), the header (navigation, who is logged in, language),
// and the live connection to the node's event stream.

import { h, replace } from './dom.js';
import { t, lang, setLang, applyStatic } from './i18n.js';
import * as sess from './session.js';
import { resetPanels, scheduleRefresh, errorBox, toast, errorText } from './ui.js';
import { home } from './pages/home.js';
import { login, unlock, roleHome } from './pages/login.js';
import { studentRegister, studentHome } from './pages/student.js';
import { deptRegister, deptHome, deptApply, deptDistribute, deptHistory } from './pages/dept.js';
import { adminHome, adminDepartments, adminApplications, adminAnnouncements, adminRoster, adminTickets,
  adminStats, adminDistributions } from './pages/admin.js';
import { ledger } from './pages/ledger.js';
import { ticketPage } from './pages/ticket.js';

const routes = [
  [/^\/?$/, home],
  [/^\/lookup\/([0-9A-Za-z_-]{1,32})$/, (m) => home({ sid: m[1] })],
  [/^\/login$/, login],
  [/^\/unlock$/, unlock],
  [/^\/student\/register$/, studentRegister],
  [/^\/student$/, studentHome],
  [/^\/dept\/register$/, deptRegister],
  [/^\/dept$/, deptHome],
  [/^\/dept\/apply$/, deptApply],
  [/^\/dept\/distribute(?:\/([0-9a-f]{64}))?$/, (m) => deptDistribute({ app: m[1] })],
  [/^\/dept\/history$/, deptHistory],
  [/^\/admin$/, adminHome],
  [/^\/admin\/departments$/, adminDepartments],
  [/^\/admin\/applications$/, adminApplications],
  [/^\/admin\/announcements$/, adminAnnouncements],
  [/^\/admin\/roster$/, adminRoster],
  [/^\/admin\/tickets$/, adminTickets],
  [/^\/admin\/stats$/, adminStats],
  [/^\/admin\/distributions$/, adminDistributions],
  [/^\/ledger$/, ledger],
  [/^\/t\/([^/]+)$/, (m) => ticketPage({ ticket: decodeURIComponent(m[1]) })],
];

let view = null;

function currentPath() {
  const hash = location.hash.replace(/^#/, '');
  if (!hash && location.pathname.startsWith('/t/')) return location.pathname;
  return hash || '/';
}

function navItems() {
  const s = sess.current();
  const items = [['#/', 'nav.home']];
  if (!s || s.role === 'student') items.push([s ? '#/student' : '#/student/register', 'nav.student']);
  if (!s || s.role === 'department') items.push([s ? '#/dept' : '#/dept/register', 'nav.dept']);
  if (s && s.role === 'admin') items.push(['#/admin', 'nav.admin']);
  items.push(['#/ledger', 'nav.ledger']);
  if (!s) items.push(['#/login', 'nav.login']);
  return items;
}

function renderHeader() {
  const path = '#' + currentPath();
  replace(document.getElementById('nav'), navItems().map(([href, k]) => h('a', {
    href, 'aria-current': (href === '#/' ? path === '#/' : path === href || path.startsWith(href + '/')) ? 'page' : null,
  }, t(k))));
  const s = sess.current();
  const who = document.getElementById('who');
  if (s) {
    const name = s.role === 'student' ? s.sid : s.name || '';
    replace(who, h('span', { class: 'who-text' }, t('role.' + s.role), name ? ' · ' + name : ''),
      sess.signingKey() ? null : h('a', { href: '#/unlock', class: 'who-lock' }, ' ', t('unlock.short')),
      h('button', { type: 'button', id: 'logout', on: { click: doLogout } }, t('nav.logout')));
  } else {
    replace(who);
  }
  document.getElementById('nav').setAttribute('aria-label', t('nav.main'));
}

async function doLogout() {
  try {
    await sess.logout();
    toast(t('nav.loggedOut'), 'ok');
  } catch (e) {
    toast(errorText(e), 'bad');
  }
  location.hash = '#/';
}

function render() {
  const main = document.getElementById('main');
  resetPanels();
  const path = currentPath();
  let node = null;
  for (const [re, fn] of routes) {
    const m = re.exec(path);
    if (m) {
      try {
        node = fn(m);
      } catch (e) {
        node = errorBox(e);
      }
      break;
    }
  }
  if (!node) node = h('section', { class: 'card' }, h('h1', null, t('notFound.title')), h('p', null, t('notFound.text')),
    h('a', { href: '#/' }, t('nav.home')));
  view = node;
  replace(main, node);
  renderHeader();
  applyStatic();
}

// A committed block may change the logged-in role itself (a department
// certified or rejected, a student number unbound): re-read the session and
// re-render the page when it changed.
let sessionTimer = null;
function scheduleSessionCheck() {
  if (!sess.current()) return;
  clearTimeout(sessionTimer);
  sessionTimer = setTimeout(async () => {
    const before = JSON.stringify(roleFacts(sess.current()));
    try {
      await sess.load();
    } catch (e) {
      return;
    }
    if (JSON.stringify(roleFacts(sess.current())) !== before) render();
  }, 300);
}

function roleFacts(s) {
  return s ? [s.role, s.status, s.sid, s.name, s.public_key] : null;
}

// The node's stream of committed transactions: every live panel reloads.
function connectStream() {
  let delay = 1000;
  const open = () => {
    const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host +
      '/api/v1/streams/valid_transactions');
    ws.addEventListener('open', () => { delay = 1000; });
    ws.addEventListener('message', () => {
      scheduleRefresh();
      if (view && typeof view.refresh === 'function') view.refresh();
      scheduleSessionCheck();
    });
    ws.addEventListener('close', () => {
      setTimeout(open, delay);
      delay = Math.min(delay * 2, 30000);
    });
  };
  open();
}

async function boot() {
  document.getElementById('lang-switch').addEventListener('click', () => {
    setLang(lang() === 'zh' ? 'en' : 'zh');
    render();
  });
  sess.onChange(() => renderHeader());
  try {
    await sess.load();
  } catch (e) {
    toast(errorText(e), 'bad');
  }
  window.addEventListener('hashchange', () => {
    render();
    document.getElementById('main').focus({ preventScroll: true });
    window.scrollTo(0, 0);
  });
  render();
  connectStream();
  document.documentElement.dataset.ready = '1';
}

export { roleHome };

if (!window.BigchainDB || !window.sha3_256) {
  replace(document.getElementById('main'), h('p', { class: 'notice bad' }, 'BigchainDB driver not loaded / 签名库未加载'));
} else {
  boot();
}

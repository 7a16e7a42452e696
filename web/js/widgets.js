// widgets.js - pieces used by several pages: the key picker (key file,
// pasted keys, stored key), student lookup, ticket and activity lists, the
// announcement list, the distribution history, and the "sign as" guard of
// role pages.

import { h, field, checkbox, replace, readFileText, safeHref, isHttpUrl, table } from './dom.js';
import { t } from './i18n.js';
import * as keys from './keys.js';
import * as api from './api.js';
import * as sess from './session.js';
import { errorText, fmtTime, fmtMs, legalBadge, whyNot, emptyNode, panel, statusBadge, toast, short } from './ui.js';

// ---- key picker ----
// opts.submitLabel, opts.expectPublic (unlock: the session's key),
// opts.onKey(pair) -> Promise (errors are shown next to the form).

export function keyPicker(opts) {
  const o = opts || {};
  const stored = keys.storedKeys();
  const name = 'kp-' + Math.random().toString(36).slice(2, 8);
  let mode = stored.length ? 'stored' : 'file';
  const modes = ['file', 'paste', 'stored'];
  const tabs = h('div', { class: 'tabs', role: 'radiogroup', 'aria-label': t('login.how') },
    modes.map((m) => {
      const id = name + '-' + m;
      return h('label', { for: id },
        h('input', { type: 'radio', name, id, value: m, checked: m === mode,
                     on: { change: () => { mode = m; show(); } } }),
        t('login.mode.' + m));
    }));

  const fileField = field({ label: t('login.file'), type: 'file', name: 'keyfile',
    hint: t('login.fileHint'), attrs: { accept: '.key,.json,application/json,text/plain' } });
  const pubField = field({ label: t('login.public'), name: 'public_key',
    attrs: { autocomplete: 'off', spellcheck: 'false', class: 'mono' } });
  const privField = field({ label: t('login.private'), type: 'password', name: 'private_key',
    hint: t('login.privateHint'), attrs: { autocomplete: 'off', spellcheck: 'false', class: 'mono' } });
  const storedSelect = field({ label: t('login.storedKey'), tag: 'select', name: 'stored',
    options: stored.map((e) => ({ value: e.public_key,
      label: (e.label ? e.label + ' — ' : '') + e.public_key.slice(0, 8) + '…' })) });
  const storedPw = field({ label: t('login.password'), type: 'password', name: 'stored_password',
    attrs: { autocomplete: 'current-password' } });
  const remember = checkbox(t('login.remember'));
  const rememberPw = field({ label: t('login.newPassword'), type: 'password', name: 'remember_password',
    hint: t('login.passwordHint'), attrs: { autocomplete: 'new-password' } });
  const rememberLabel = field({ label: t('login.keyLabel'), name: 'remember_label',
    attrs: { autocomplete: 'off' } });
  const rememberBox = h('div', { class: 'remember' }, remember, rememberPw, rememberLabel);
  const formErr = h('p', { class: 'error', role: 'alert' });
  const btn = h('button', { type: 'submit' }, o.submitLabel || t('login.submit'));

  const sections = {
    file: h('div', null, fileField),
    paste: h('div', null, pubField, privField),
    stored: stored.length ? h('div', null, storedSelect, storedPw)
      : h('p', { class: 'empty' }, t('login.noStored')),
  };
  const area = h('div');
  function show() {
    replace(area, sections[mode]);
    rememberBox.hidden = mode === 'stored' || o.noRemember;
    syncRemember();
  }
  function syncRemember() {
    rememberPw.hidden = !remember.control.checked;
    rememberLabel.hidden = !remember.control.checked;
  }
  remember.control.addEventListener('change', syncRemember);

  async function pairFromForm() {
    for (const f of [fileField, pubField, privField, storedPw, rememberPw]) f.setError('');
    if (mode === 'file') {
      const file = fileField.control.files[0];
      if (!file) {
        fileField.setError(t('login.needFile'));
        return null;
      }
      try {
        return keys.parseKeyFile(await readFileText(file, 64 * 1024));
      } catch (e) {
        fileField.setError(errorText(e));
        return null;
      }
    }
    if (mode === 'paste') {
      if (!privField.control.value.trim()) {
        privField.setError(t('login.needPrivate'));
        return null;
      }
      if (!pubField.control.value.trim()) {
        pubField.setError(t('login.needPublic'));
        return null;
      }
      try {
        return keys.checkPair(pubField.control.value, privField.control.value);
      } catch (e) {
        (e.code === 'badPublic' ? pubField : privField).setError(errorText(e));
        return null;
      }
    }
    if (!stored.length) return null;
    try {
      return await keys.unlockKey(storedSelect.control.value, storedPw.control.value);
    } catch (e) {
      storedPw.setError(errorText(e));
      return null;
    }
  }

  const form = h('form', { class: 'key-picker', novalidate: true, on: { submit: async (ev) => {
    ev.preventDefault();
    formErr.textContent = '';
    btn.disabled = true;
    try {
      const pair = await pairFromForm();
      if (!pair) return;
      if (o.expectPublic && pair.publicKey !== o.expectPublic) {
        formErr.textContent = t('login.otherKey');
        return;
      }
      if (remember.control.checked && mode !== 'stored' && !o.noRemember) {
        if (rememberPw.control.value.length < 8) {
          rememberPw.setError(t('login.passwordShort'));
          return;
        }
        await keys.storeKey(pair, rememberPw.control.value, rememberLabel.control.value);
      }
      await o.onKey(pair);
      privField.control.value = '';
    } catch (e) {
      formErr.textContent = errorText(e);
    } finally {
      btn.disabled = false;
    }
  } } }, tabs, area, rememberBox, formErr, h('div', { class: 'actions' }, btn));
  show();
  return form;
}

// ---- unlock: the session is open but the key is not in this page ----

export function unlockCard(onDone) {
  const s = sess.current();
  return h('section', { class: 'card' },
    h('h2', null, t('unlock.title')),
    h('p', null, t('unlock.text')),
    keyPicker({ submitLabel: t('unlock.submit'), expectPublic: s.public_key, noRemember: true,
      onKey: async (pair) => {
        sess.useKey(pair);
        if (onDone) onDone();
      } }));
}

// The body of a role page: a notice unless logged in with one of `roles`.
export function guard(roles, build) {
  const s = sess.current();
  if (!s || !roles.includes(s.role)) {
    return h('section', { class: 'card' },
      h('p', { class: 'notice warn' }, t('guard.login')),
      h('p', null, h('a', { class: 'button', href: '#/login' }, t('nav.login'))));
  }
  return build(s);
}

// Runs fn(key) with the signing key, or tells the user to unlock it.
export function withKey(fn) {
  const k = sess.signingKey();
  if (!k) {
    toast(t('unlock.needed'), 'bad');
    location.hash = '#/unlock';
    return null;
  }
  return fn(k);
}

// ---- lists ----

export function ticketLink(ticket) {
  return h('a', { href: '/t/' + ticket, class: 'mono' }, ticket.slice(0, 10) + '…' + ticket.slice(-6));
}

export function ticketsList(tickets) {
  if (!tickets.length) return emptyNode(t('student.noTickets'));
  return h('ul', { class: 'plain tickets' }, tickets.map((tk) => h('li', { class: 'ticket-item' },
    h('div', { class: 'item-title' }, tk.activity.name, ' ', legalBadge(tk)),
    h('div', { class: 'meta' },
      t('ticket.dept'), t('colon'), tk.department.name, ' · ',
      fmtTime(tk.activity.start), ' – ', fmtTime(tk.activity.end), ' · ',
      tk.activity.venue, tk.activity.category ? ' · ' + tk.activity.category : ''),
    tk.legal ? null : h('div', { class: 'meta' }, whyNot(tk)),
    h('div', { class: 'meta' }, t('ticket.id'), t('colon'), ticketLink(tk.ticket)))));
}

export function studentResult(st) {
  return h('div', { class: 'student-result' },
    h('dl', { class: 'facts' },
      h('dt', null, t('student.sid')), h('dd', { class: 'mono' }, st.sid),
      st.name ? [h('dt', null, t('student.name')), h('dd', null, st.name)] : null,
      h('dt', null, t('student.registered')), h('dd', null, st.registered ? t('yes') : t('no')),
      h('dt', null, t('student.count')), h('dd', { class: 'count' }, String(st.legal_tickets))),
    ticketsList(st.tickets || []));
}

export function lookupForm(initial) {
  const f = field({ label: t('lookup.sid'), name: 'sid', value: initial || '',
    hint: t('lookup.hint'), attrs: { inputmode: 'text', autocomplete: 'off', maxlength: 32 } });
  const out = h('div', { class: 'lookup-out', 'aria-live': 'polite' });
  let last = null;
  async function run() {
    const sid = f.control.value.trim();
    f.setError('');
    if (!/^[0-9A-Za-z_-]{1,32}$/.test(sid)) {
      f.setError(t('lookup.bad'));
      return;
    }
    last = sid;
    replace(out, h('p', { class: 'loading' }, t('loading')));
    try {
      replace(out, studentResult(await api.get('/students/' + encodeURIComponent(sid))));
    } catch (e) {
      replace(out, e.status === 404 ? h('p', { class: 'notice warn' }, t('lookup.none', { sid }))
        : h('p', { class: 'notice bad' }, errorText(e)));
    }
  }
  const form = h('form', { class: 'lookup', role: 'search', novalidate: true,
    on: { submit: (ev) => { ev.preventDefault(); run(); } } },
    f, h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('lookup.go'))));
  // A committed block may change the result: re-run the last lookup.
  const wrap = h('div', null, form, out);
  wrap.refresh = () => (last ? run() : null);
  if (initial) run();
  return wrap;
}

export function activityFacts(a) {
  return h('div', { class: 'meta' },
    fmtTime(a.start), ' – ', fmtTime(a.end), ' · ', a.venue,
    a.category ? ' · ' + a.category : '',
    a.department ? ' · ' + a.department.name : '');
}

export function catalogue() {
  return panel(async () => {
    const r = await api.get('/activities', { per_page: 50 });
    const list = r.activities || [];
    if (!list.length) return emptyNode(t('home.noActivities'));
    return h('ul', { class: 'plain activities' }, list.map((a) => h('li', null,
      h('div', { class: 'item-title' }, a.name, ' ', a.closed ? h('span', { class: 'badge muted' }, t('app.closed')) : null),
      activityFacts(a),
      a.description ? h('p', { class: 'pre-text' }, a.description) : null,
      h('div', { class: 'meta' }, t('home.ticketsLine', {
        approved: a.tickets.approved, distributed: a.tickets.distributed, remaining: a.tickets.remaining })))));
  });
}

export function announcements(limit) {
  return panel(async () => {
    const r = await api.get('/announcements', { per_page: limit || 20 });
    const list = r.announcements || [];
    if (!list.length) return emptyNode(t('home.noAnnouncements'));
    return h('ul', { class: 'plain announcements' }, list.map((a) => h('li', null,
      h('div', { class: 'item-title' }, a.title),
      h('p', { class: 'pre-text' }, a.text),
      a.link && isHttpUrl(a.link) ? h('p', { class: 'meta' },
        h('a', { href: safeHref(a.link), rel: 'noopener noreferrer nofollow', target: '_blank' }, a.link)) : null,
      a.activity ? h('p', { class: 'meta' }, t('ann.activity'), t('colon'),
        typeof a.activity === 'object' ? a.activity.name : a.activity) : null)));
  });
}

export function applicationItem(a, extra) {
  return h('li', { class: 'application' },
    h('div', { class: 'item-title' }, a.name, ' ', statusBadge(a.status),
      a.closed ? [' ', h('span', { class: 'badge muted' }, t('app.closed'))] : null),
    activityFacts(a),
    h('div', { class: 'meta' }, t('app.requested', { n: a.tickets.requested }),
      a.status === 'approved' ? ' · ' + t('app.stats', a.tickets) : ''),
    a.reason ? h('p', { class: 'notice ' + (a.status === 'rejected' ? 'bad' : 'ok') },
      t('app.reason'), t('colon'), a.reason) : null,
    extra || null);
}

// ---- distribution history (GET /distributions) ----
// opts.filter: 'activity' (a department: its approved activities) or
// 'department' (the admin: every department); opts.showDept adds a column.
// One page at a time, newest first, with the block time of each transfer.

const HISTORY_PER_PAGE = 20;

function historyFilter(kind) {
  const f = field({ label: t(kind === 'department' ? 'hist.filterDept' : 'hist.filterActivity'),
    name: 'hist_' + kind, tag: 'select', options: [{ value: '', label: t('hist.all') }] });
  f.load = async () => {
    const sel = f.control;
    if (sel.options.length > 1) return;
    const list = kind === 'department' ? (await api.get('/departments')).departments || []
      : (await api.get('/applications', { status: 'approved', per_page: 1000 })).applications || [];
    for (const x of list) sel.appendChild(h('option', { value: x.id }, x.name));
  };
  return f;
}

function studentsCell(d) {
  return h('span', { class: 'wrap' }, d.students.map((s, i) => [i ? ', ' : '',
    h('a', { href: '/t/' + d.transaction_id + ':' + s.output_index, class: 'sid-link' }, s.sid),
    s.status === 'legal' ? null : h('span', { class: 'muted' }, ' (' + t('hist.st.' + s.status) + ')')]));
}

export function distributionHistory(opts) {
  const o = opts || {};
  const state = { page: 1 };
  const filter = historyFilter(o.filter || 'activity');
  const info = h('p', { class: 'meta', id: 'hist-info', 'aria-live': 'polite' });
  const prev = h('button', { type: 'button', class: 'secondary', id: 'hist-prev', disabled: true }, t('hist.prev'));
  const next = h('button', { type: 'button', class: 'secondary', id: 'hist-next', disabled: true }, t('hist.next'));
  const body = panel(async () => {
    await filter.load();
    const params = { page: state.page, per_page: HISTORY_PER_PAGE };
    if (filter.control.value) params[o.filter === 'department' ? 'department' : 'activity'] = filter.control.value;
    const r = await api.get('/distributions', params);
    const pages = Math.max(1, Math.ceil(r.total / r.per_page));
    info.textContent = t('hist.pageInfo', { page: r.page, pages, total: r.total });
    prev.disabled = r.page <= 1;
    next.disabled = r.page >= pages;
    const list = r.distributions || [];
    if (!list.length) return emptyNode(t('hist.none'));
    const cols = [
      { label: t('hist.time'), cell: (d) => h('time', { datetime: d.time || '' }, fmtMs(d.time_ms)) },
      { label: t('hist.activity'), cell: (d) => d.activity.name },
    ];
    if (o.showDept) cols.push({ label: t('hist.dept'), cell: (d) => d.department.name });
    cols.push({ label: t('hist.count'), cls: 'num', cell: (d) => String(d.count) },
      { label: t('hist.students'), cell: studentsCell },
      { label: t('hist.tx'), cell: (d) => h('span', { class: 'mono', title: d.transaction_id }, short(d.transaction_id, 8)) });
    return h('div', { class: 'dist-history' }, table(cols, list, { caption: t('dept.nav.history') }));
  });
  const go = (page) => {
    state.page = page;
    body.reload();
  };
  filter.control.addEventListener('change', () => go(1));
  prev.addEventListener('click', () => go(Math.max(1, state.page - 1)));
  next.addEventListener('click', () => go(state.page + 1));
  return h('div', null, h('div', { class: 'filters' }, filter), body,
    h('div', { class: 'pager' }, info, h('div', { class: 'actions' }, prev, next)));
}

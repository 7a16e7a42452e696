// ui.js - shared pieces of the pages: live panels (refreshed when a block
// commits), the sign-confirmation dialog, toasts, progress, formatting.

import { h, replace, clear } from './dom.js';
import { t, lang } from './i18n.js';
import { ApiError } from './api.js';

// ---- live panels ----
// A panel shows what a loader returns; every panel of the current view is
// reloaded when the node reports a committed transaction (WebSocket) or after
// this page commits one, so no page needs a reload to show a result.

let panels = [];
let refreshTimer = null;

export function resetPanels() {
  panels = [];
}

export function panel(loader, opts) {
  const o = opts || {};
  const body = h('div', { class: 'panel-body', 'aria-live': o.live === false ? null : 'polite', 'aria-busy': 'true' },
    h('p', { class: 'loading' }, t('loading')));
  const p = { body, loader, seq: 0 };
  p.reload = async (force) => {
    if (force === false && editing(body)) return;
    const seq = ++p.seq;
    body.setAttribute('aria-busy', 'true');
    try {
      const node = await loader();
      if (seq === p.seq) replace(body, node);
    } catch (e) {
      if (seq === p.seq) replace(body, errorBox(e));
    } finally {
      if (seq === p.seq) body.setAttribute('aria-busy', 'false');
    }
  };
  panels.push(p);
  p.reload();
  body.reload = p.reload;
  return body;
}

// A panel the user is typing in is not replaced by a refresh from the stream
// (after the user's own commit it is: force).
export function editing(body) {
  const a = document.activeElement;
  if (a && body.contains(a) && /^(INPUT|TEXTAREA|SELECT)$/.test(a.tagName)) return true;
  for (const el of body.querySelectorAll('input, textarea')) {
    if (el.type !== 'checkbox' && el.type !== 'radio' && el.type !== 'file' && el.value !== el.defaultValue) return true;
  }
  return false;
}

export function refreshAll(force) {
  clearTimeout(refreshTimer);
  refreshTimer = null;
  return Promise.all(panels.map((p) => p.reload(force !== false)));
}

export function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => refreshAll(false), 250);
}

// ---- errors ----

export function errorText(e) {
  if (e instanceof ApiError) {
    if (e.rule && t.has('rule.' + e.rule)) return t('rule.' + e.rule) + ' (' + e.message + ')';
    if (e.status === 401) return t('err.401');
    if (e.status === 403) return t('err.403') + ' (' + e.message + ')';
    if (e.status === 404) return t('err.404');
    if (e.status >= 500) return t('err.5xx') + ' (' + e.message + ')';
    return e.message;
  }
  if (e && e.code && t.has('key.' + e.code)) return t('key.' + e.code);
  return (e && e.message) || String(e);
}

export function errorBox(e) {
  return h('p', { class: 'notice bad', role: 'alert' }, errorText(e));
}

// ---- toasts ----

export function toast(msg, kind) {
  const box = document.getElementById('toasts');
  const el = h('div', { class: ['toast', kind] }, msg);
  box.appendChild(el);
  setTimeout(() => el.remove(), kind === 'bad' ? 9000 : 5000);
}

// ---- the confirmation before signing ----
// lines: [[label, value], ...] in plain words; tx: the unsigned transaction.
// Resolves true when the user chose to sign.

export function confirmSign(opts) {
  return new Promise((resolve) => {
    const dlg = h('dialog', { 'aria-labelledby': 'dlg-title', class: 'confirm' });
    const done = (v) => {
      dlg.close();
      dlg.remove();
      resolve(v);
    };
    const ok = h('button', { type: 'button', class: 'primary', id: 'dlg-sign', on: { click: () => done(true) } },
      opts.button || t('confirm.sign'));
    dlg.appendChild(h('div', { class: 'dlg' },
      h('h2', { id: 'dlg-title' }, opts.title),
      h('p', { class: 'signer' }, t('confirm.signer', { key: opts.signer || '' })),
      h('p', null, t('confirm.intro')),
      h('ul', { class: 'words' }, (opts.lines || []).map(([k, v]) => h('li', null, h('strong', null, k + t('colon')), String(v)))),
      opts.note ? h('p', { class: 'notice warn' }, opts.note) : null,
      opts.tx ? h('details', null, h('summary', null, t('confirm.json')),
        h('pre', { class: 'json' }, JSON.stringify(opts.tx, null, 2))) : null,
      h('p', { class: 'hint' }, t('confirm.private')),
      h('div', { class: 'actions' }, ok,
        h('button', { type: 'button', class: 'secondary', id: 'dlg-cancel', on: { click: () => done(false) } }, t('cancel')))));
    dlg.addEventListener('cancel', (ev) => {
      ev.preventDefault();
      done(false);
    });
    document.body.appendChild(dlg);
    dlg.showModal();
    ok.focus();
  });
}

// ---- progress ----

export function progress(labelText) {
  const bar = h('progress', { max: 1, value: 0, 'aria-label': labelText });
  const label = h('span', { class: 'progress-label' }, '');
  const el = h('div', { class: 'field progress', role: 'group', 'aria-label': labelText }, bar, label);
  el.set = (done, total, text) => {
    bar.max = Math.max(1, total);
    bar.value = done;
    label.textContent = text || (done + ' / ' + total);
  };
  return el;
}

// ---- formatting ----

export function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(lang() === 'zh' ? 'zh-CN' : 'en-GB',
    { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
}

export function fmtMs(ms) {
  if (!ms) return '';
  return new Date(Number(ms)).toLocaleString(lang() === 'zh' ? 'zh-CN' : 'en-GB');
}

export function short(id, n) {
  const s = String(id || '');
  const k = n || 10;
  return s.length > 2 * k ? s.slice(0, k) + '…' + s.slice(-4) : s;
}

export function statusBadge(status) {
  const cls = { approved: 'ok', rejected: 'bad', pending: 'warn' }[status] || 'muted';
  return h('span', { class: ['badge', cls] }, t.has('status.' + status) ? t('status.' + status) : String(status));
}

export function legalBadge(ticket) {
  if (ticket.legal) return h('span', { class: 'badge ok' }, t('ticket.legal'));
  return h('span', { class: 'badge bad' }, t('ticket.notLegal'));
}

export function whyNot(ticket) {
  const w = ticket.why_not;
  if (!w) return '';
  if (w === 'returned') return t('why.returned');
  if (w === 'held by the department') return t('why.dept');
  if (w.startsWith('revoked')) return t('why.revoked', { reason: w.replace(/^revoked:\s*/, '') });
  return w;
}

export function loadingNode() {
  return h('p', { class: 'loading' }, t('loading'));
}

export function emptyNode(text) {
  return h('p', { class: 'empty' }, text);
}

export function setTitle(text) {
  document.title = text + ' · LTDRS';
}

export { clear };

// admin.js - the school admin: certify departments, review applications,
// announcements, roster import (CSV in, activation codes out), revoke and
// unbind, statistics with charts and the CSV report.

import { h, field, replace, readFileText, table, download, isHttpUrl } from '../dom.js';
import { t } from '../i18n.js';
import * as api from '../api.js';
import * as txs from '../tx.js';
import { signAndSend } from '../actions.js';
import { panel, setTitle, errorText, toast, confirmSign, progress, refreshAll, emptyNode, statusBadge,
  legalBadge, whyNot, editing, fmtMs } from '../ui.js';
import { guard, withKey, applicationItem, ticketLink, distributionHistory } from '../widgets.js';
import { hbars, vbars } from '../charts.js';
import { newCode, codeHash } from '../codes.js';

const ROSTER_MAX = 5000; // students per roster record (ltdrs_roster_max)

function utf8Len(s) {
  return new TextEncoder().encode(s).length;
}

function subnav(active) {
  const items = [['#/admin', 'admin.nav.overview'], ['#/admin/departments', 'admin.nav.departments'],
    ['#/admin/applications', 'admin.nav.applications'], ['#/admin/announcements', 'admin.nav.announcements'],
    ['#/admin/roster', 'admin.nav.roster'], ['#/admin/tickets', 'admin.nav.tickets'],
    ['#/admin/distributions', 'admin.nav.distributions'], ['#/admin/stats', 'admin.nav.stats']];
  return h('nav', { class: 'subnav', 'aria-label': t('admin.title') },
    items.map(([href, k]) => h('a', { href, 'aria-current': href === active ? 'page' : null }, t(k))));
}

// build() runs only for a logged-in admin, so that no panel asks the server
// for what this browser may not see.
function page(active, title, build) {
  setTitle(title);
  return guard(['admin'], () => {
    const body = build();
    const el = h('div', null, subnav(active), body);
    if (body && body.refresh) el.refresh = body.refresh;
    return el;
  });
}

// ---- overview ----

export function adminHome() {
  return page('#/admin', t('admin.title'), () => h('section', { class: 'card' },
    h('h1', null, t('admin.title')),
    panel(async () => {
      const [deps, apps, stats] = await Promise.all([api.get('/departments'),
        api.get('/applications', { status: 'pending', per_page: 1 }), api.get('/stats/departments')]);
      const pendingDeps = (deps.departments || []).filter((d) => d.status === 'pending').length;
      const totals = { legal: 0, distributed: 0, remaining: 0 };
      for (const d of stats.departments || []) for (const k of Object.keys(totals)) totals[k] += d.tickets[k] || 0;
      const tile = (n, l, href) => h('a', { class: 'tile', href }, h('div', { class: 'n' }, String(n)), h('div', { class: 'l' }, l));
      return h('div', { class: 'stat-tiles' },
        tile(pendingDeps, t('admin.pendingDeps'), '#/admin/departments'),
        tile(apps.total, t('admin.pendingApps'), '#/admin/applications'),
        tile(totals.distributed, t('stat.distributed'), '#/admin/stats'),
        tile(totals.legal, t('stat.legal'), '#/admin/stats'),
        tile(totals.remaining, t('stat.remaining'), '#/admin/stats'));
    })));
}

// ---- departments ----

function decideForm(onDecide, needReasonToReject) {
  const reason = field({ label: t('admin.reason'), name: 'reason', hint: t('admin.reasonHint'), attrs: { maxlength: 2000 } });
  const err = h('p', { class: 'error', role: 'alert' });
  const go = (ok) => async () => {
    reason.setError('');
    const r = reason.control.value.trim();
    if (!ok && needReasonToReject && !r) {
      reason.setError(t('admin.reasonNeeded'));
      return;
    }
    if (utf8Len(r) > 2000) {
      reason.setError(t('v.tooLong', { n: 2000 }));
      return;
    }
    await onDecide(ok, r, err);
  };
  return h('div', { class: 'decide' }, reason, err, h('div', { class: 'actions' },
    h('button', { type: 'button', class: 'approve', on: { click: go(true) } }, t('admin.approve')),
    h('button', { type: 'button', class: 'danger reject', on: { click: go(false) } }, t('admin.reject'))));
}

export function adminDepartments() {
  return page('#/admin/departments', t('admin.nav.departments'), () => h('section', { class: 'card' },
    h('h1', null, t('admin.nav.departments')),
    panel(async () => {
      const r = await api.get('/departments');
      const list = r.departments || [];
      if (!list.length) return emptyNode(t('admin.noDeps'));
      const order = { pending: 0, approved: 1, rejected: 2 };
      list.sort((a, b) => order[a.status] - order[b.status]);
      return h('ul', { class: 'plain departments' }, list.map((d) => h('li', { class: 'department' },
        h('div', { class: 'item-title' }, d.name, ' ', statusBadge(d.status)),
        h('div', { class: 'meta' }, t('dept.contact'), t('colon'), d.contact || ''),
        h('div', { class: 'meta' }, t('login.public'), t('colon'), h('span', { class: 'mono' }, d.public_key || '')),
        d.reason ? h('div', { class: 'meta' }, t('admin.reason'), t('colon'), d.reason) : null,
        d.status === 'pending' ? decideForm((ok, reason, err) => withKey((key) => signAndSend({
          title: ok ? t('sign.certify.title') : t('sign.certifyReject.title'), key, errorEl: err,
          tx: txs.records.certify(key.publicKey, d.id, ok ? 'approved' : 'rejected', reason),
          lines: [[t('dept.name'), d.name], [t('dept.contact'), d.contact || ''],
            [t('admin.decision'), ok ? t('status.approved') : t('status.rejected')],
            reason ? [t('admin.reason'), reason] : null].filter(Boolean),
          success: t('done.decided'),
        })), false) : null)));
    })));
}

// ---- applications ----

export function adminApplications() {
  return page('#/admin/applications', t('admin.nav.applications'), () => [
    h('section', { class: 'card' },
      h('h1', null, t('admin.pendingTitle')),
      panel(async () => {
        const [r, deps] = await Promise.all([api.get('/applications', { status: 'pending', per_page: 200 }),
          api.get('/departments')]);
        const keyOf = new Map((deps.departments || []).map((d) => [d.id, d]));
        const list = r.applications || [];
        if (!list.length) return emptyNode(t('admin.noPending'));
        return h('ul', { class: 'plain' }, list.map((a) => {
          const dept = keyOf.get(a.department.id);
          const n = field({ label: t('admin.approveN'), name: 'n', type: 'number', value: String(a.tickets.requested),
            hint: t('admin.approveNHint', { n: a.tickets.requested }),
            attrs: { min: 1, max: a.tickets.requested, step: 1, inputmode: 'numeric' } });
          const reason = field({ label: t('admin.rejectReason'), name: 'reason', attrs: { maxlength: 2000 } });
          const err = h('p', { class: 'error', role: 'alert' });
          const approve = () => {
            n.setError('');
            const v = n.control.value.trim();
            if (!/^[1-9][0-9]*$/.test(v) || Number(v) > a.tickets.requested) {
              n.setError(t('admin.approveNBad', { n: a.tickets.requested }));
              return;
            }
            if (!dept || !dept.public_key) {
              err.textContent = t('admin.noDeptKey');
              return;
            }
            withKey((key) => signAndSend({
              title: t('sign.approve.title'), key, errorEl: err,
              tx: txs.records.ticket(key.publicKey, a, Number(v), dept.public_key),
              lines: [[t('ticket.activity'), a.name], [t('ticket.dept'), a.department.name],
                [t('admin.approveN'), v + ' / ' + a.tickets.requested], [t('app.start'), a.start],
                [t('app.venue'), a.venue], [t('sign.to'), dept.public_key]],
              note: t('sign.approve.note'), success: t('done.approved'),
            }));
          };
          const reject = () => {
            reason.setError('');
            const r2 = reason.control.value.trim();
            if (!r2) {
              reason.setError(t('admin.reasonNeeded'));
              return;
            }
            if (utf8Len(r2) > 2000) {
              reason.setError(t('v.tooLong', { n: 2000 }));
              return;
            }
            withKey((key) => signAndSend({
              title: t('sign.reject.title'), key, errorEl: err,
              tx: txs.records.reject(key.publicKey, a.id, r2),
              lines: [[t('ticket.activity'), a.name], [t('ticket.dept'), a.department.name], [t('admin.reason'), r2]],
              success: t('done.rejected'),
            }));
          };
          return applicationItem(a, h('div', { class: 'review' },
            a.description ? h('p', { class: 'pre-text' }, a.description) : null,
            h('div', { class: 'row' },
              h('div', { class: 'field' }, n, h('button', { type: 'button', class: 'approve', on: { click: approve } }, t('admin.approve'))),
              h('div', { class: 'field' }, reason, h('button', { type: 'button', class: 'danger reject', on: { click: reject } }, t('admin.reject')))),
            err));
        }));
      })),
    h('section', { class: 'card' },
      h('h2', null, t('admin.decidedTitle')),
      panel(async () => {
        const r = await api.get('/applications', { status: 'all', per_page: 200 });
        const list = (r.applications || []).filter((a) => a.status !== 'pending');
        if (!list.length) return emptyNode(t('admin.noDecided'));
        return h('ul', { class: 'plain' }, list.map((a) => applicationItem(a,
          a.status === 'approved' && !a.closed ? h('div', { class: 'actions' },
            h('button', { type: 'button', class: 'secondary small', on: { click: () => withKey((key) => signAndSend({
              title: t('sign.close.title'), key, tx: txs.records.close(key.publicKey, a.id),
              lines: [[t('ticket.activity'), a.name], [t('ticket.dept'), a.department.name],
                [t('app.remaining'), String(a.tickets.remaining)]],
              note: t('sign.close.note'), success: t('done.closed'),
            })) } }, t('dept.close'))) : null)));
      }))]);
}

// ---- announcements ----

export function adminAnnouncements() {
  return page('#/admin/announcements', t('admin.nav.announcements'), announcementsBody);
}

function announcementsBody() {
  const title = field({ label: t('ann.title'), name: 'title', required: true, attrs: { maxlength: 200 } });
  const text = field({ label: t('ann.text'), name: 'text', tag: 'textarea', required: true, attrs: { maxlength: 2000 } });
  const link = field({ label: t('ann.link'), name: 'link', type: 'url', hint: t('ann.linkHint'), attrs: { maxlength: 500 } });
  const act = field({ label: t('ann.activity'), name: 'application', tag: 'select', options: [{ value: '', label: t('ann.none') }] });
  const err = h('p', { class: 'error', role: 'alert' });
  const btn = h('button', { type: 'submit' }, t('ann.publish'));
  const acts = panel(async () => {
    const r = await api.get('/activities', { per_page: 100 });
    const keep = act.control.value;
    replace(act.control, h('option', { value: '' }, t('ann.none')),
      (r.activities || []).map((a) => h('option', { value: a.id, selected: a.id === keep }, a.name)));
    return h('span');
  }, { live: false });
  const form = h('form', { novalidate: true, on: { submit: async (ev) => {
    ev.preventDefault();
    for (const f of [title, text, link]) f.setError('');
    const v = { title: title.control.value.trim(), text: text.control.value.trim(), link: link.control.value.trim(),
      application: act.control.value };
    let ok = true;
    if (!v.title) { title.setError(t('v.required')); ok = false; } else if (utf8Len(v.title) > 200) { title.setError(t('v.tooLong', { n: 200 })); ok = false; }
    if (!v.text) { text.setError(t('v.required')); ok = false; } else if (utf8Len(v.text) > 2000) { text.setError(t('v.tooLong', { n: 2000 })); ok = false; }
    if (v.link && (!isHttpUrl(v.link) || utf8Len(v.link) > 500)) { link.setError(t('ann.linkBad')); ok = false; }
    if (!ok) return;
    btn.disabled = true;
    try {
      const actName = v.application ? act.control.selectedOptions[0].textContent : '';
      const done = await withKey((key) => signAndSend({
        title: t('sign.ann.title'), key, errorEl: err, tx: txs.records.announcement(key.publicKey, v),
        lines: [[t('ann.title'), v.title], [t('ann.text'), v.text], v.link ? [t('ann.link'), v.link] : null,
          actName ? [t('ann.activity'), actName] : null].filter(Boolean),
        success: t('done.published'),
      }));
      if (done) form.reset();
    } finally {
      btn.disabled = false;
    }
  } } }, title, text, link, act, acts, err, h('div', { class: 'actions' }, btn));
  return h('div', { class: 'grid' },
    h('section', { class: 'card' }, h('h1', null, t('ann.new')), form),
    h('section', { class: 'card' }, h('h2', null, t('home.announcements')), announcementsAdmin()));
}

function announcementsAdmin() {
  return panel(async () => {
    const r = await api.get('/announcements', { per_page: 50 });
    const list = r.announcements || [];
    if (!list.length) return emptyNode(t('home.noAnnouncements'));
    return h('ul', { class: 'plain announcements' }, list.map((a) => h('li', null,
      h('div', { class: 'item-title' }, a.title),
      h('p', { class: 'pre-text' }, a.text),
      h('div', { class: 'meta' }, t('ledger.height'), ' ', String(a.height), a.activity ? ' · ' + a.activity : ''))));
  });
}

// ---- roster ----

function csvCell(v) {
  let s = String(v === undefined || v === null ? '' : v);
  if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;
  return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}

function csvParse(text) {
  const rows = [];
  for (const line of String(text).split(/\r?\n/)) {
    if (!line.trim()) continue;
    const cells = [];
    let cur = '';
    let q = false;
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (q) {
        if (c === '"' && line[i + 1] === '"') { cur += '"'; i++; } else if (c === '"') q = false; else cur += c;
      } else if (c === '"') q = true;
      else if (c === ',' || c === '\t' || c === ';') { cells.push(cur.trim()); cur = ''; } else cur += c;
    }
    cells.push(cur.trim());
    rows.push(cells);
  }
  return rows;
}

export function parseRoster(text) {
  const rows = csvParse(text);
  if (rows.length && /^(sid|学号|student|student_id|student_number)$/i.test(rows[0][0])) rows.shift();
  const seen = new Set();
  const ok = [];
  const bad = [];
  rows.forEach((r, i) => {
    const sid = r[0];
    if (!/^[0-9A-Za-z_-]{1,32}$/.test(sid)) bad.push({ line: i + 1, sid, why: t('roster.badSid') });
    else if (seen.has(sid)) bad.push({ line: i + 1, sid, why: t('roster.dup') });
    else {
      seen.add(sid);
      ok.push({ sid, name: r[1] || '' });
    }
  });
  return { ok, bad };
}

export function adminRoster() {
  const area = field({ label: t('roster.csv'), name: 'roster', tag: 'textarea', hint: t('roster.csvHint'),
    attrs: { spellcheck: 'false', class: 'mono', rows: 8 } });
  const file = field({ label: t('roster.file'), name: 'roster_file', type: 'file', attrs: { accept: '.csv,.txt,text/csv,text/plain' } });
  const gen = field({ label: t('roster.generation'), name: 'generation', type: 'number', value: '1',
    hint: t('roster.generationHint'), attrs: { min: 1, step: 1, inputmode: 'numeric' } });
  const err = h('p', { class: 'error', role: 'alert' });
  const out = h('div', { 'aria-live': 'polite' });
  const btn = h('button', { type: 'submit' }, t('roster.import'));
  let genTyped = false; // the proposal follows the ledger until the admin types a generation
  gen.control.addEventListener('input', () => { genTyped = true; });
  // made in build(): only a logged-in admin asks for the roster
  const infoPanel = () => panel(async () => {
    const r = await api.get('/roster');
    if (!genTyped) gen.control.value = String(r.generation + 1);
    return rosterInfo(r);
  });
  file.control.addEventListener('change', async () => {
    const fl = file.control.files[0];
    if (!fl) return;
    try {
      area.control.value = await readFileText(fl, 5 * 1024 * 1024);
    } catch (e) {
      file.setError(t('dist.fileBad'));
    }
  });
  const form = h('form', { novalidate: true, on: { submit: async (ev) => {
    ev.preventDefault();
    area.setError('');
    gen.setError('');
    err.textContent = '';
    const { ok, bad } = parseRoster(area.control.value);
    const g = gen.control.value.trim();
    if (!/^[1-9][0-9]{0,8}$/.test(g)) { gen.setError(t('roster.generationBad')); return; }
    if (!ok.length) { area.setError(t('roster.empty')); return; }
    if (bad.length) {
      area.setError(t('roster.badLines', { n: bad.length, list: bad.slice(0, 5).map((b) => b.line + ': ' + b.sid + ' (' + b.why + ')').join('; ') }));
      return;
    }
    const key = withKey((k) => k);
    if (!key) return;
    const batches = [];
    for (let i = 0; i < ok.length; i += ROSTER_MAX) batches.push(ok.slice(i, i + ROSTER_MAX));
    const coded = [];
    for (const s of ok) {
      const code = newCode();
      coded.push({ sid: s.sid, name: s.name, code, code_hash: await codeHash(s.sid, code) });
    }
    const sample = txs.records.roster(key.publicKey, Number(g),
      coded.slice(0, ROSTER_MAX).map((c) => ({ sid: c.sid, code_hash: c.code_hash })));
    const yes = await confirmSign({
      title: t('sign.roster.title'), signer: key.publicKey, tx: sample,
      lines: [[t('roster.students'), String(ok.length)], [t('roster.generation'), g],
        [t('roster.records'), String(batches.length)],
        [t('dist.first'), ok.slice(0, 5).map((s) => s.sid).join(', ') + (ok.length > 5 ? ' …' : '')]],
      note: t('sign.roster.note'),
    });
    if (!yes) return;
    btn.disabled = true;
    const bar = progress(t('roster.progress'));
    replace(out, bar);
    bar.set(0, ok.length);
    const doneRows = [];
    let failure = null;
    for (let i = 0; i < coded.length; i += ROSTER_MAX) {
      const part = coded.slice(i, i + ROSTER_MAX);
      const tx = i === 0 ? sample : txs.records.roster(key.publicKey, Number(g), part.map((c) => ({ sid: c.sid, code_hash: c.code_hash })));
      try {
        await api.postTx(txs.sign(tx, key.privateKey));
        doneRows.push(...part);
        bar.set(doneRows.length, ok.length, t('dist.progressText', { done: doneRows.length, total: ok.length }));
      } catch (e) {
        failure = errorText(e);
        break;
      }
    }
    btn.disabled = false;
    const csv = 'sid,code,name\r\n' + doneRows.map((r) => [r.sid, r.code, r.name].map(csvCell).join(',')).join('\r\n') + '\r\n';
    const fname = 'ltdrs-activation-codes-g' + g + '.csv';
    const dl = h('button', { type: 'button', id: 'roster-download', disabled: !doneRows.length,
      on: { click: () => download(fname, csv, 'text/csv;charset=utf-8') } }, t('roster.download', { n: doneRows.length }));
    replace(out, h('div', { class: 'notice ' + (failure ? 'bad' : 'ok'), id: 'roster-result' },
      h('p', null, t('roster.done', { n: doneRows.length, total: ok.length })),
      failure ? h('p', null, failure) : null,
      h('p', null, t('roster.keepCodes')),
      h('div', { class: 'actions' }, dl)));
    if (doneRows.length) toast(t('roster.done', { n: doneRows.length, total: ok.length }), 'ok');
    await refreshAll();
  } } }, area, file, gen, err, h('div', { class: 'actions' }, btn));
  return page('#/admin/roster', t('admin.nav.roster'), () => h('section', { class: 'card' },
    h('h1', null, t('admin.nav.roster')), h('p', null, t('roster.intro')),
    h('h2', null, t('roster.current')), infoPanel(),
    h('h2', null, t('roster.new')), form, out));
}

// The roster as the ledger has it (GET /roster).
function rosterInfo(r) {
  const tile = (n, l, key) => h('div', { class: 'tile', 'data-k': key },
    h('div', { class: 'n' }, String(n)), h('div', { class: 'l' }, l));
  if (!r.students && !r.off_roster) return emptyNode(t('roster.none'));
  return h('div', { id: 'roster-info' },
    h('div', { class: 'stat-tiles' },
      tile(r.generation, t('roster.currentGen'), 'generation'),
      tile(r.students, t('roster.size'), 'students'),
      tile(r.registered, t('roster.registered'), 'registered'),
      tile(r.unregistered, t('roster.unregistered'), 'unregistered'),
      r.off_roster ? tile(r.off_roster, t('roster.offRoster'), 'off_roster') : null),
    r.generations.length > 1 ? table([
      { label: t('roster.generation'), cls: 'num', cell: (g) => String(g.generation) },
      { label: t('roster.size'), cls: 'num', cell: (g) => String(g.students) },
      { label: t('roster.registered'), cls: 'num', cell: (g) => String(g.registered) },
    ], r.generations, { caption: t('roster.current') }) : null,
    r.updated ? h('p', { class: 'meta' }, t('roster.updated', { time: fmtMs(r.updated.time_ms), height: r.updated.height })) : null);
}

// ---- distribution history of every department ----

export function adminDistributions() {
  return page('#/admin/distributions', t('admin.nav.distributions'), () => h('section', { class: 'card' },
    h('h1', null, t('admin.nav.distributions')), h('p', null, t('hist.adminIntro')),
    distributionHistory({ filter: 'department', showDept: true })));
}

// ---- revoke and unbind ----

export function adminTickets() {
  const sid = field({ label: t('student.sid'), name: 'sid', attrs: { maxlength: 32, autocomplete: 'off' } });
  const out = h('div', { 'aria-live': 'polite' });
  let last = '';
  async function show() {
    const s = last;
    if (!s) return;
    let st;
    try {
      st = await api.get('/students/' + encodeURIComponent(s));
    } catch (e) {
      replace(out, h('p', { class: 'notice ' + (e.status === 404 ? 'warn' : 'bad') }, e.status === 404 ? t('lookup.none', { sid: s }) : errorText(e)));
      return;
    }
    const unbindReason = field({ label: t('admin.unbindReason'), name: 'unbind_reason', attrs: { maxlength: 2000 } });
    const uerr = h('p', { class: 'error', role: 'alert' });
    const uout = h('div', { 'aria-live': 'polite' });
    const unbind = async () => {
      unbindReason.setError('');
      const r = unbindReason.control.value.trim();
      if (!r) { unbindReason.setError(t('admin.reasonNeeded')); return; }
      const code = newCode();
      const hash = await codeHash(st.sid, code);
      const done = await withKey((key) => signAndSend({
        title: t('sign.unbind.title'), key, errorEl: uerr, tx: txs.records.unbind(key.publicKey, st.sid, r, hash),
        lines: [[t('student.sid'), st.sid], [t('admin.reason'), r], [t('admin.newCode'), code]],
        note: t('sign.unbind.note'), success: t('done.unbound'),
      }));
      if (done) {
        replace(uout, h('div', { class: 'notice ok', id: 'unbind-result' },
          h('p', null, t('admin.newCodeText', { sid: st.sid })), h('p', { class: 'mono' }, code),
          h('button', { type: 'button', on: { click: () => download('ltdrs-code-' + st.sid + '.csv',
            'sid,code\r\n' + csvCell(st.sid) + ',' + code + '\r\n', 'text/csv;charset=utf-8') } }, t('roster.downloadOne'))));
      }
    };
    replace(out, h('div', null,
      h('dl', { class: 'facts' },
        h('dt', null, t('student.sid')), h('dd', { class: 'mono' }, st.sid),
        h('dt', null, t('student.registered')), h('dd', null, st.registered ? t('yes') : t('no')),
        st.key ? [h('dt', null, t('login.public')), h('dd', { class: 'mono' }, st.key)] : null,
        h('dt', null, t('student.count')), h('dd', null, String(st.legal_tickets))),
      (st.tickets || []).length ? h('ul', { class: 'plain' }, st.tickets.map((tk) => {
        const reason = field({ label: t('admin.revokeReason'), name: 'revoke_reason', attrs: { maxlength: 2000 } });
        const err = h('p', { class: 'error', role: 'alert' });
        const revoke = () => {
          reason.setError('');
          const r = reason.control.value.trim();
          if (!r) { reason.setError(t('admin.reasonNeeded')); return; }
          withKey((key) => signAndSend({
            title: t('sign.revoke.title'), key, errorEl: err, tx: txs.records.revocation(key.publicKey, tk.ticket, r),
            lines: [[t('student.sid'), st.sid], [t('ticket.activity'), tk.activity.name], [t('ticket.id'), tk.ticket], [t('admin.reason'), r]],
            note: t('sign.revoke.note'), success: t('done.revoked'),
          }));
        };
        return h('li', null,
          h('div', { class: 'item-title' }, tk.activity.name, ' ', legalBadge(tk)),
          h('div', { class: 'meta' }, tk.department.name, ' · ', ticketLink(tk.ticket)),
          tk.legal ? h('div', { class: 'row' }, reason, h('div', { class: 'actions' },
            h('button', { type: 'button', class: 'danger', on: { click: revoke } }, t('admin.revoke')))) : h('div', { class: 'meta' }, whyNot(tk)),
          err);
      })) : emptyNode(t('student.noTickets')),
      st.registered ? h('fieldset', null, h('legend', null, t('admin.unbind')),
        h('p', { class: 'hint' }, t('admin.unbindText')), unbindReason, uerr,
        h('div', { class: 'actions' }, h('button', { type: 'button', class: 'danger', on: { click: unbind } }, t('admin.unbind'))), uout) : null));
  }
  const form = h('form', { novalidate: true, role: 'search', on: { submit: (ev) => {
    ev.preventDefault();
    sid.setError('');
    const s = sid.control.value.trim();
    if (!/^[0-9A-Za-z_-]{1,32}$/.test(s)) { sid.setError(t('lookup.bad')); return; }
    last = s;
    show();
  } } }, sid, h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('lookup.go'))));
  const ticketId = field({ label: t('ticket.id'), name: 'ticket', hint: t('admin.ticketIdHint'), attrs: { class: 'mono', spellcheck: 'false' } });
  const treason = field({ label: t('admin.revokeReason'), name: 'reason2', attrs: { maxlength: 2000 } });
  const terr = h('p', { class: 'error', role: 'alert' });
  const direct = h('form', { novalidate: true, on: { submit: (ev) => {
    ev.preventDefault();
    ticketId.setError('');
    treason.setError('');
    const id = ticketId.control.value.trim();
    const r = treason.control.value.trim();
    if (!/^[0-9a-f]{64}:(0|[1-9][0-9]{0,4})$/.test(id)) { ticketId.setError(t('ticket.badId')); return; }
    if (!r) { treason.setError(t('admin.reasonNeeded')); return; }
    withKey((key) => signAndSend({ title: t('sign.revoke.title'), key, errorEl: terr,
      tx: txs.records.revocation(key.publicKey, id, r), lines: [[t('ticket.id'), id], [t('admin.reason'), r]],
      note: t('sign.revoke.note'), success: t('done.revoked') }));
  } } }, ticketId, treason, terr, h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'danger' }, t('admin.revoke'))));
  return page('#/admin/tickets', t('admin.nav.tickets'), () => {
    const body = [
      h('section', { class: 'card' }, h('h1', null, t('admin.nav.tickets')), h('p', null, t('admin.ticketsIntro')), form, out),
      h('section', { class: 'card' }, h('h2', null, t('admin.revokeById')), direct)];
    body.refresh = () => (editing(out) ? null : show());
    return body;
  });
}

// ---- statistics ----

export function adminStats() {
  return page('#/admin/stats', t('admin.nav.stats'), statsBody);
}

function statsBody() {
  const filters = { department: '', category: '', activity: '', sort: 'count', order: 'desc', nonzero: 'false', page: 1 };
  const dept = field({ label: t('stats.department'), name: 'f_department', tag: 'select', options: [{ value: '', label: t('stats.all') }] });
  const act = field({ label: t('stats.activity'), name: 'f_activity', tag: 'select', options: [{ value: '', label: t('stats.all') }] });
  const cat = field({ label: t('stats.category'), name: 'f_category', attrs: { maxlength: 200 } });
  const sort = field({ label: t('stats.sort'), name: 'f_sort', tag: 'select', value: 'count:desc', options: [
    { value: 'count:desc', label: t('stats.sortCountDesc') }, { value: 'count:asc', label: t('stats.sortCountAsc') },
    { value: 'sid:asc', label: t('stats.sortSid') }] });
  const exportLink = h('a', { class: 'button', id: 'export-csv', href: api.reportUrl({}), download: 'ltdrs-students.csv' }, t('stats.export'));

  function params() {
    const p = {};
    for (const k of ['department', 'category', 'activity']) if (filters[k]) p[k] = filters[k];
    p.sort = filters.sort;
    p.order = filters.order;
    return p;
  }
  async function loadReport() {
    exportLink.setAttribute('href', api.reportUrl(params()));
    const r = await api.get('/students', Object.assign(params(), { page: filters.page, per_page: 50 }));
    const pages = Math.max(1, Math.ceil(r.total / r.per_page));
    return h('div', null,
      h('p', { class: 'meta' }, t('stats.total', { n: r.total })),
      r.students.length ? table([
        { label: t('student.sid'), cell: (s) => h('a', { href: '#/lookup/' + encodeURIComponent(s.sid), class: 'mono' }, s.sid) },
        { label: t('student.name'), cell: (s) => s.name || '' },
        { label: t('student.count'), cls: 'num', cell: (s) => String(s.legal_tickets) },
      ], r.students, { caption: t('stats.report') }) : emptyNode(t('stats.none')),
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'secondary small', disabled: filters.page <= 1,
          on: { click: () => { filters.page--; reportPanel.reload(); } } }, t('stats.prev')),
        h('span', null, t('stats.page', { page: filters.page, pages })),
        h('button', { type: 'button', class: 'secondary small', disabled: filters.page >= pages,
          on: { click: () => { filters.page++; reportPanel.reload(); } } }, t('stats.next'))));
  }
  const reportPanel = panel(loadReport);

  const filterForm = h('form', { class: 'filters', novalidate: true, on: { submit: (ev) => {
    ev.preventDefault();
    filters.department = dept.control.value;
    filters.activity = act.control.value;
    filters.category = cat.control.value.trim();
    [filters.sort, filters.order] = sort.control.value.split(':');
    filters.page = 1;
    reportPanel.reload();
  } } }, h('div', { class: 'row' }, dept, act, cat, sort),
  h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('stats.apply')), exportLink));

  const charts = panel(async () => {
    const [ds, hist, acts] = await Promise.all([api.get('/stats/departments'), api.get('/stats/histogram'),
      api.get('/activities', { per_page: 30 })]);
    const deps = (ds.departments || []).filter((d) => d.status === 'approved');
    const keepD = dept.control.value;
    const keepA = act.control.value;
    replace(dept.control, h('option', { value: '' }, t('stats.all')),
      deps.map((d) => h('option', { value: d.id, selected: d.id === keepD }, d.name)));
    replace(act.control, h('option', { value: '' }, t('stats.all')),
      (acts.activities || []).map((a) => h('option', { value: a.id, selected: a.id === keepA }, a.name)));
    const al = acts.activities || [];
    return h('div', { class: 'charts' },
      h('section', null, h('h2', null, t('stats.perDept')),
        deps.length ? hbars(t('stats.perDept'), deps.map((d) => d.name),
          [{ name: t('stat.legal'), values: deps.map((d) => d.tickets.legal) },
            { name: t('stat.approved'), values: deps.map((d) => d.tickets.approved) }]) : emptyNode(t('stats.none'))),
      h('section', null, h('h2', null, t('stats.histogram')),
        vbars(t('stats.histogram'), hist.labels, hist.buckets, t('stats.students')),
        h('p', { class: 'hint' }, t('stats.histHint', { n: hist.students }))),
      h('section', null, h('h2', null, t('stats.perActivity')),
        al.length ? hbars(t('stats.perActivity'), al.map((a) => a.name),
          [{ name: t('stat.distributed'), values: al.map((a) => a.tickets.distributed) },
            { name: t('stat.approved'), values: al.map((a) => a.tickets.approved) }]) : emptyNode(t('stats.none'))),
      h('section', { class: 'wide' }, h('h2', null, t('stats.deptTable')),
        table([
          { label: t('dept.name'), cell: (d) => d.name },
          { label: t('stat.approved'), cls: 'num', cell: (d) => String(d.tickets.approved) },
          { label: t('stat.distributed'), cls: 'num', cell: (d) => String(d.tickets.distributed) },
          { label: t('stat.remaining'), cls: 'num', cell: (d) => String(d.tickets.remaining) },
          { label: t('stat.revoked'), cls: 'num', cell: (d) => String(d.tickets.revoked) },
        ], deps)));
  });

  return [
    h('section', { class: 'card' }, h('h1', null, t('admin.nav.stats')), charts),
    h('section', { class: 'card' }, h('h2', null, t('stats.report')), filterForm, reportPanel)];
}

// dept.js - department pages: register, applications (status, reasons,
// remaining tickets, close), apply, distribute, distribution history.

import { h, field, replace, readFileText, table } from '../dom.js';
import { t } from '../i18n.js';
import * as keys from '../keys.js';
import * as api from '../api.js';
import * as txs from '../tx.js';
import { signAndSend } from '../actions.js';
import { panel, setTitle, errorText, toast, confirmSign, progress, refreshAll, emptyNode } from '../ui.js';
import { guard, withKey, applicationItem, activityFacts, distributionHistory } from '../widgets.js';
import { keepKeyFields, registered } from './student.js';

const BATCH = 50;          // students per distribution transaction
const INPUTS_MAX = 100;    // department outputs spent by one transaction
const KEYS_CHUNK = 2000;   // student numbers per preview request (query_keys_sids_max)

function utf8Len(s) {
  return new TextEncoder().encode(s).length;
}

function subnav(active) {
  const items = [['#/dept', 'dept.nav.apps'], ['#/dept/apply', 'dept.nav.apply'],
    ['#/dept/distribute', 'dept.nav.distribute'], ['#/dept/history', 'dept.nav.history']];
  return h('nav', { class: 'subnav', 'aria-label': t('dept.title') },
    items.map(([href, k]) => h('a', { href, 'aria-current': href === active ? 'page' : null }, t(k))));
}

function statusNotice(s) {
  if (s.status === 'approved') return null;
  return h('p', { class: 'notice ' + (s.status === 'rejected' ? 'bad' : 'warn') },
    s.status === 'rejected' ? t('dept.rejected') : t('dept.pending'));
}

// ---- register ----

export function deptRegister() {
  setTitle(t('reg.deptTitle'));
  const name = field({ label: t('dept.name'), name: 'dept_name', required: true, hint: t('dept.nameHint'),
    attrs: { autocomplete: 'organization', maxlength: 200 } });
  const contact = field({ label: t('dept.contact'), name: 'contact', required: true, hint: t('dept.contactHint'),
    attrs: { autocomplete: 'email', maxlength: 200 } });
  const keep = keepKeyFields();
  const err = h('p', { class: 'error', role: 'alert' });
  const out = h('div', { 'aria-live': 'polite' });
  const btn = h('button', { type: 'submit' }, t('reg.submit'));
  const form = h('form', { novalidate: true, on: { submit: async (ev) => {
    ev.preventDefault();
    name.setError('');
    contact.setError('');
    const n = name.control.value.trim();
    const c = contact.control.value.trim();
    let ok = true;
    if (!n) { name.setError(t('v.required')); ok = false; } else if (utf8Len(n) > 200) { name.setError(t('v.tooLong', { n: 200 })); ok = false; }
    if (!c) { contact.setError(t('v.required')); ok = false; } else if (utf8Len(c) > 200) { contact.setError(t('v.tooLong', { n: 200 })); ok = false; }
    if (!keep.validate()) ok = false;
    if (!ok) return;
    btn.disabled = true;
    try {
      const pair = keys.generate();
      const tx = txs.records.department(pair.publicKey, n, c);
      const done = await signAndSend({
        title: t('sign.dept.title'), key: pair, tx, errorEl: err,
        lines: [[t('dept.name'), n], [t('dept.contact'), c], [t('sign.newKey'), pair.publicKey]],
        note: t('sign.dept.note'), success: t('reg.done'),
      });
      if (!done) return;
      form.hidden = true;
      const stored = await keep.keep(pair, n, 'department');
      await registered(out, pair, 'ltdrs-department.key', stored, '#/dept');
    } catch (e) {
      err.textContent = errorText(e);
    } finally {
      btn.disabled = false;
    }
  } } }, name, contact, keep, err, h('div', { class: 'actions' }, btn));
  return h('section', { class: 'card narrow' },
    h('h1', null, t('reg.deptTitle')),
    h('p', null, t('reg.deptIntro')),
    form, out);
}

// ---- applications ----

async function closeActivity(app) {
  return withKey((key) => signAndSend({
    title: t('sign.close.title'), key, tx: txs.records.close(key.publicKey, app.id),
    lines: [[t('ticket.activity'), app.name], [t('app.remaining'), String(app.tickets.remaining)]],
    note: t('sign.close.note'), success: t('done.closed'),
  }));
}

export function deptHome() {
  setTitle(t('dept.title'));
  return guard(['department'], (s) => h('div', null,
    subnav('#/dept'),
    h('section', { class: 'card' },
      h('h1', null, t('dept.title'), t('colon'), s.name || ''),
      statusNotice(s),
      panel(async () => {
        const r = await api.get('/applications', { per_page: 200 });
        const list = r.applications || [];
        if (!list.length) return emptyNode(t('dept.noApps'));
        return h('ul', { class: 'plain' }, list.map((a) => applicationItem(a,
          a.status === 'approved' && !a.closed ? h('div', { class: 'actions' },
            a.tickets.remaining > 0 ? h('a', { class: 'button', href: '#/dept/distribute/' + a.id }, t('dept.distribute')) : null,
            h('button', { type: 'button', class: 'secondary', on: { click: () => closeActivity(a) } }, t('dept.close')))
            : null)));
      }))));
}

// ---- apply ----

function tzOffset() {
  const m = -new Date().getTimezoneOffset();
  const sign = m >= 0 ? '+' : '-';
  const a = Math.abs(m);
  return sign + String(Math.floor(a / 60)).padStart(2, '0') + ':' + String(a % 60).padStart(2, '0');
}

export function deptApply() {
  setTitle(t('dept.nav.apply'));
  return guard(['department'], (s) => {
    const tz = tzOffset();
    const f = {
      name: field({ label: t('app.name'), name: 'name', required: true, attrs: { maxlength: 200 } }),
      category: field({ label: t('app.category'), name: 'category', required: true, hint: t('app.categoryHint'),
        attrs: { maxlength: 200, list: 'cat-list' } }),
      start: field({ label: t('app.start'), name: 'start', type: 'datetime-local', required: true,
        hint: t('app.tz', { tz }) }),
      end: field({ label: t('app.end'), name: 'end', type: 'datetime-local', required: true,
        hint: t('app.tz', { tz }) }),
      venue: field({ label: t('app.venue'), name: 'venue', required: true, attrs: { maxlength: 200 } }),
      tickets: field({ label: t('app.tickets'), name: 'tickets', type: 'number', required: true,
        hint: t('app.ticketsHint'), attrs: { min: 1, max: 100000, step: 1, inputmode: 'numeric' } }),
      description: field({ label: t('app.description'), name: 'description', tag: 'textarea',
        hint: t('app.descriptionHint'), attrs: { maxlength: 2000 } }),
    };
    const cats = h('datalist', { id: 'cat-list' },
      ['讲座', '学术报告', '文体活动', '志愿服务', 'Lecture', 'Seminar'].map((c) => h('option', { value: c })));
    const err = h('p', { class: 'error', role: 'alert' });
    const btn = h('button', { type: 'submit' }, t('app.submit'));
    function validate() {
      for (const x of Object.values(f)) x.setError('');
      const v = {};
      let ok = true;
      for (const k of ['name', 'category', 'venue']) {
        v[k] = f[k].control.value.trim();
        if (!v[k]) { f[k].setError(t('v.required')); ok = false; } else if (utf8Len(v[k]) > 200) { f[k].setError(t('v.tooLong', { n: 200 })); ok = false; }
      }
      for (const k of ['start', 'end']) {
        const raw = f[k].control.value;
        if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(raw)) { f[k].setError(t('v.time')); ok = false; } else v[k] = raw + tz;
      }
      if (v.start && v.end && new Date(v.end) < new Date(v.start)) { f.end.setError(t('v.endBeforeStart')); ok = false; }
      const n = f.tickets.control.value.trim();
      if (!/^[1-9][0-9]{0,5}$/.test(n) || Number(n) > 100000) { f.tickets.setError(t('v.tickets')); ok = false; } else v.tickets = Number(n);
      v.description = f.description.control.value.trim();
      if (utf8Len(v.description) > 2000) { f.description.setError(t('v.tooLong', { n: 2000 })); ok = false; }
      if (!ok) {
        const first = Object.values(f).find((x) => x.control.getAttribute('aria-invalid') === 'true');
        if (first) first.control.focus();
        return null;
      }
      return v;
    }
    const form = h('form', { novalidate: true, on: { submit: async (ev) => {
      ev.preventDefault();
      const v = validate();
      if (!v) return;
      btn.disabled = true;
      try {
        const done = await withKey((key) => signAndSend({
          title: t('sign.app.title'), key, tx: txs.records.application(key.publicKey, v), errorEl: err,
          lines: [[t('app.name'), v.name], [t('app.category'), v.category], [t('app.start'), v.start],
            [t('app.end'), v.end], [t('app.venue'), v.venue], [t('app.tickets'), String(v.tickets)],
            v.description ? [t('app.description'), v.description] : null].filter(Boolean),
          note: t('sign.app.note'), success: t('done.applied'),
        }));
        if (done) {
          form.reset();
          location.hash = '#/dept';
        }
      } finally {
        btn.disabled = false;
      }
    } } }, h('div', { class: 'row' }, f.name, f.category), h('div', { class: 'row' }, f.start, f.end),
    h('div', { class: 'row' }, f.venue, f.tickets), f.description, cats, err, h('div', { class: 'actions' }, btn));
    return h('div', null, subnav('#/dept/apply'),
      h('section', { class: 'card' }, h('h1', null, t('dept.nav.apply')), statusNotice(s),
        h('p', null, t('app.intro')), form));
  });
}

// ---- distribute ----

const HEADER_WORDS = new Set(['sid', '学号', 'student', 'student_id', 'studentid', 'student_number', 'number', 'id']);

// Student numbers from pasted text (every word between spaces, commas,
// semicolons or line breaks) or from a CSV file (the first cell of each
// line).  Order kept, duplicates counted once, a header word skipped.
export function parseSids(text, csvFile) {
  const words = [];
  for (const line of String(text).split(/\r?\n/)) {
    if (csvFile) {
      const cell = line.split(/[,;\t]/)[0].trim().replace(/^"(.*)"$/, '$1').trim();
      if (cell) words.push(cell);
    } else {
      for (const w of line.split(/[\s,;，；、]+/)) if (w) words.push(w.replace(/^"(.*)"$/, '$1'));
    }
  }
  const seen = new Set();
  const out = [];
  let dup = 0;
  for (const w of words) {
    if (seen.size === 0 && HEADER_WORDS.has(w.toLowerCase())) continue;
    if (seen.has(w)) { dup++; continue; }
    seen.add(w);
    out.push(w);
  }
  return { sids: out, duplicates: dup };
}

async function preview(sids, appId) {
  const res = {};
  for (let i = 0; i < sids.length; i += KEYS_CHUNK) {
    Object.assign(res, await api.post('/students/keys', { sids: sids.slice(i, i + KEYS_CHUNK), activity: appId }));
  }
  return sids.map((sid) => ({ sid, status: (res[sid] && res[sid].status) || 'invalid', key: res[sid] ? res[sid].key : null }));
}

function chunks(list, n) {
  const out = [];
  for (let i = 0; i < list.length; i += n) out.push(list.slice(i, i + n));
  return out;
}

async function freshInputs(appId) {
  const o = await api.get('/activities/' + appId + '/outputs');
  const outs = (o.outputs || []).slice(0, INPUTS_MAX);
  const txCache = new Map();
  const inputs = [];
  for (const x of outs) {
    if (!txCache.has(x.transaction_id)) txCache.set(x.transaction_id, await api.getTx(x.transaction_id));
    inputs.push({ tx: txCache.get(x.transaction_id), output_index: x.output_index });
  }
  return { info: o, inputs };
}

function inputsTotal(inputs) {
  return inputs.reduce((n, i) => n + Number(i.tx.outputs[i.output_index].amount), 0);
}

// Sends tickets to `students` ([{sid, key}]) in batches; a batch refused for
// a student-specific rule is retried one student at a time so that the
// others still get theirs.  Returns {sent: [sid], failed: [{sid, reason}]}.
async function distributeAll(app, students, key, onProgress) {
  const sent = [];
  const failed = [];
  let { info, inputs } = await freshInputs(app.id);
  if (info.department_key !== key.publicKey) throw new Error(t('dist.notYours'));
  if (info.closed) throw new Error(t('dist.closed'));
  const one = async (batch) => {
    const have = inputsTotal(inputs);
    if (have < batch.length) {
      for (const s of batch) failed.push({ sid: s.sid, reason: t('dist.noneLeft') });
      return true;
    }
    const signed = txs.sign(await txs.distribution(inputs, batch, key.publicKey), key.privateKey);
    try {
      await api.postTx(signed);
    } catch (e) {
      ({ inputs } = await freshInputs(app.id));
      return e;
    }
    for (const s of batch) sent.push(s.sid);
    inputs = signed.outputs.length > batch.length ? [{ tx: signed, output_index: batch.length }] : [];
    return true;
  };
  let done = 0;
  for (const batch of chunks(students, BATCH)) {
    const r = await one(batch);
    if (r !== true) {
      if (batch.length === 1) failed.push({ sid: batch[0].sid, reason: errorText(r) });
      else {
        for (const s of batch) {
          const r1 = await one([s]);
          if (r1 !== true) failed.push({ sid: s.sid, reason: errorText(r1) });
          onProgress(done + 1, students.length);
          done += 1;
        }
        continue;
      }
    }
    done += batch.length;
    onProgress(done, students.length);
  }
  return { sent, failed };
}

const STATUS_ORDER = ['ok', 'has_ticket', 'unregistered', 'unknown', 'invalid'];

export function deptDistribute(params) {
  setTitle(t('dept.nav.distribute'));
  return guard(['department'], () => {
    const sel = field({ label: t('dist.activity'), name: 'activity', tag: 'select', options: [] });
    const info = h('div', { class: 'meta', 'aria-live': 'polite' });
    const area = field({ label: t('dist.list'), name: 'sids', tag: 'textarea', hint: t('dist.listHint'),
      attrs: { spellcheck: 'false', class: 'mono', rows: 8 } });
    const file = field({ label: t('dist.file'), name: 'sids_file', type: 'file', hint: t('dist.fileHint'),
      attrs: { accept: '.csv,.txt,text/csv,text/plain' } });
    const previewBtn = h('button', { type: 'submit' }, t('dist.preview'));
    const err = h('p', { class: 'error', role: 'alert' });
    const previewOut = h('div', { class: 'preview', 'aria-live': 'polite' });
    const runOut = h('div', { class: 'run', 'aria-live': 'polite' });
    let apps = [];
    let current = null;

    file.control.addEventListener('change', async () => {
      file.setError('');
      const fl = file.control.files[0];
      if (!fl) return;
      try {
        const text = await readFileText(fl, 2 * 1024 * 1024);
        const { sids } = parseSids(text, /\.csv$/i.test(fl.name) || /csv/.test(fl.type));
        area.control.value = (area.control.value.trim() ? area.control.value.trim() + '\n' : '') + sids.join('\n');
      } catch (e) {
        file.setError(t('dist.fileBad'));
      }
    });

    function showInfo() {
      current = apps.find((a) => a.id === sel.control.value) || null;
      replace(info, current ? [activityFacts(current), ' · ', t('app.remaining'), t('colon'), String(current.tickets.remaining)] : '');
    }
    sel.control.addEventListener('change', () => { showInfo(); replace(previewOut); replace(runOut); });

    const loader = panel(async () => {
      const r = await api.get('/applications', { status: 'approved', per_page: 200 });
      apps = (r.applications || []).filter((a) => !a.closed && a.tickets.remaining > 0);
      const want = sel.control.value || (params && params.app) || '';
      replace(sel.control, apps.map((a) => h('option', { value: a.id, selected: a.id === want },
        a.name + ' (' + t('app.remaining') + ' ' + a.tickets.remaining + ')')));
      if (!apps.length) replace(sel.control, h('option', { value: '' }, t('dist.noActivity')));
      showInfo();
      return apps.length ? h('span') : h('p', { class: 'notice warn' }, t('dist.noActivity'));
    }, { live: false });

    async function runPreview() {
      err.textContent = '';
      area.setError('');
      replace(runOut);
      if (!current) { sel.setError(t('dist.noActivity')); return; }
      const { sids, duplicates } = parseSids(area.control.value);
      if (!sids.length) { area.setError(t('dist.empty')); return; }
      replace(previewOut, h('p', { class: 'loading' }, t('loading')));
      let rows;
      try {
        rows = await preview(sids, current.id);
      } catch (e) {
        replace(previewOut, h('p', { class: 'notice bad' }, errorText(e)));
        return;
      }
      const by = {};
      for (const s of STATUS_ORDER) by[s] = [];
      for (const r of rows) (by[r.status] || by.invalid).push(r);
      const valid = by.ok;
      const over = valid.length > current.tickets.remaining;
      const sendBtn = h('button', { type: 'button', id: 'dist-send', disabled: valid.length === 0,
        on: { click: () => send(valid.slice(0, current.tickets.remaining)) } },
        t('dist.send', { n: Math.min(valid.length, current.tickets.remaining) }));
      replace(previewOut, h('div', null,
        h('h2', null, t('dist.previewTitle')),
        h('div', { class: 'stat-tiles' }, STATUS_ORDER.map((s) => h('div', { class: 'tile', dataset: { status: s } },
          h('div', { class: 'n' }, String(by[s].length)), h('div', { class: 'l' }, t('dist.st.' + s))))),
        duplicates ? h('p', { class: 'hint' }, t('dist.duplicates', { n: duplicates })) : null,
        over ? h('p', { class: 'notice warn' }, t('dist.over', { n: current.tickets.remaining })) : null,
        table([
          { label: t('student.sid'), cell: (r) => h('span', { class: 'mono' }, r.sid) },
          { label: t('dist.status'), cell: (r) => h('span', { class: ['badge', r.status === 'ok' ? 'ok' : r.status === 'has_ticket' ? 'muted' : 'bad'] }, t('dist.st.' + r.status)) },
        ], rows.slice(0, 500), { caption: t('dist.previewTitle') }),
        rows.length > 500 ? h('p', { class: 'hint' }, t('dist.more', { n: rows.length - 500 })) : null,
        h('div', { class: 'actions' }, sendBtn)));
    }

    async function send(valid) {
      const key = withKey((k) => k);
      if (!key || !valid.length) return;
      const app = current;
      const batches = Math.ceil(valid.length / BATCH);
      let sample;
      try {
        const { inputs } = await freshInputs(app.id);
        sample = await txs.distribution(inputs, valid.slice(0, BATCH), key.publicKey);
      } catch (e) {
        err.textContent = errorText(e);
        return;
      }
      const ok = await confirmSign({
        title: t('sign.dist.title'), signer: key.publicKey, tx: sample,
        lines: [[t('ticket.activity'), app.name], [t('dist.students'), String(valid.length)],
          [t('dist.batches'), t('dist.batchesText', { n: batches, size: BATCH })],
          [t('dist.first'), valid.slice(0, 5).map((s) => s.sid).join(', ') + (valid.length > 5 ? ' …' : '')],
          [t('dist.after'), String(app.tickets.remaining - valid.length)]],
        note: t('sign.dist.note'),
      });
      if (!ok) return;
      replace(previewOut);
      const bar = progress(t('dist.progress'));
      const status = h('p', { class: 'progress-text' });
      replace(runOut, h('div', { class: 'card' }, h('h2', null, t('dist.sending')), bar, status));
      bar.set(0, valid.length);
      let result;
      try {
        result = await distributeAll(app, valid, key, (done, total) => {
          bar.set(done, total, t('dist.progressText', { done, total }));
        });
      } catch (e) {
        replace(runOut, h('p', { class: 'notice bad' }, errorText(e)));
        return;
      }
      await refreshAll();
      const after = apps.find((a) => a.id === app.id);
      replace(runOut, h('div', { class: 'card summary', id: 'dist-summary' },
        h('h2', null, t('dist.summary')),
        h('p', { class: 'notice ' + (result.failed.length ? 'warn' : 'ok') },
          t('dist.summaryText', { sent: result.sent.length, failed: result.failed.length })),
        after ? h('p', null, t('app.remaining'), t('colon'), String(after.tickets.remaining)) : null,
        result.failed.length ? table([
          { label: t('student.sid'), cell: (r) => h('span', { class: 'mono' }, r.sid) },
          { label: t('dist.reason'), cell: (r) => r.reason },
        ], result.failed) : null));
      toast(t('dist.summaryText', { sent: result.sent.length, failed: result.failed.length }),
        result.failed.length ? 'bad' : 'ok');
    }

    const form = h('form', { novalidate: true, on: { submit: (ev) => { ev.preventDefault(); runPreview(); } } },
      sel, info, loader, area, file, err, h('div', { class: 'actions' }, previewBtn));
    return h('div', null, subnav('#/dept/distribute'),
      h('section', { class: 'card' }, h('h1', null, t('dept.nav.distribute')), h('p', null, t('dist.intro')), form),
      previewOut, runOut);
  });
}

// ---- history ----

export function deptHistory() {
  setTitle(t('dept.nav.history'));
  return guard(['department'], () => h('div', null, subnav('#/dept/history'),
    h('section', { class: 'card' },
      h('h1', null, t('dept.nav.history')),
      h('p', null, t('hist.intro')),
      distributionHistory({ filter: 'activity' }))));
}

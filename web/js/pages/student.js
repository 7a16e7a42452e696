// student.js - student registration (keys made here) and "my tickets".

import { h, field, checkbox, download, replace } from '../dom.js';
import { t } from '../i18n.js';
import * as keys from '../keys.js';
import * as api from '../api.js';
import * as sess from '../session.js';
import { records } from '../tx.js';
import { signAndSend } from '../actions.js';
import { panel, setTitle, errorText, toast } from '../ui.js';
import { guard, lookupForm, studentResult } from '../widgets.js';
import { normalizeCode } from '../codes.js';

function utf8Len(s) {
  return new TextEncoder().encode(s).length;
}

// The part of both registration forms that keeps the new key in this browser.
export function keepKeyFields() {
  const keep = checkbox(t('reg.keep'));
  const pw = field({ label: t('login.newPassword'), type: 'password', name: 'keep_password',
    hint: t('login.passwordHint'), attrs: { autocomplete: 'new-password' } });
  const pw2 = field({ label: t('reg.password2'), type: 'password', name: 'keep_password2',
    attrs: { autocomplete: 'new-password' } });
  const box = h('fieldset', null, h('legend', null, t('reg.keyLegend')),
    h('p', { class: 'hint' }, t('reg.keyText')), keep, pw, pw2);
  const sync = () => { pw.hidden = pw2.hidden = !keep.control.checked; };
  keep.control.addEventListener('change', sync);
  sync();
  box.validate = () => {
    pw.setError('');
    pw2.setError('');
    if (!keep.control.checked) return true;
    if (pw.control.value.length < 8) {
      pw.setError(t('login.passwordShort'));
      return false;
    }
    if (pw.control.value !== pw2.control.value) {
      pw2.setError(t('reg.passwordDiffer'));
      return false;
    }
    return true;
  };
  box.keep = async (pair, label, role) => {
    if (keep.control.checked) await keys.storeKey(pair, pw.control.value, label, role);
    return keep.control.checked;
  };
  return box;
}

// After a registration: the key file, and a login with the new key.
export async function registered(out, pair, fileName, stored, homeHash) {
  const dl = h('button', { type: 'button', id: 'download-key',
    on: { click: () => download(fileName, keys.keyFileText(pair), 'application/json') } }, t('reg.download'));
  replace(out, h('div', { class: 'notice ok', role: 'status' },
    h('p', null, h('strong', null, t('reg.done'))),
    h('p', null, stored ? t('reg.stored') : t('reg.notStored')),
    h('p', null, t('reg.keepFile')),
    h('dl', { class: 'facts' }, h('dt', null, t('login.public')), h('dd', { class: 'mono' }, pair.publicKey)),
    h('div', { class: 'actions' }, dl, h('a', { class: 'button secondary', href: homeHash }, t('reg.continue')))));
  try {
    await sess.login(pair);
  } catch (e) {
    toast(errorText(e), 'bad');
  }
}

export function studentRegister() {
  setTitle(t('reg.studentTitle'));
  const sid = field({ label: t('student.sid'), name: 'sid', required: true, hint: t('reg.sidHint'),
    attrs: { autocomplete: 'username', maxlength: 32 } });
  const code = field({ label: t('reg.code'), name: 'code', required: true, hint: t('reg.codeHint'),
    attrs: { autocomplete: 'off', spellcheck: 'false', maxlength: 64, class: 'mono' } });
  const name = field({ label: t('reg.nameOptional'), name: 'name', attrs: { autocomplete: 'name' } });
  const keep = keepKeyFields();
  const err = h('p', { class: 'error', role: 'alert' });
  const out = h('div', { 'aria-live': 'polite' });
  const btn = h('button', { type: 'submit' }, t('reg.submit'));
  const form = h('form', { novalidate: true, on: { submit: async (ev) => {
    ev.preventDefault();
    for (const f of [sid, code, name]) f.setError('');
    let ok = true;
    const s = sid.control.value.trim();
    const c = normalizeCode(code.control.value); // as `ltdrs student register` does
    const n = name.control.value.trim();
    if (!/^[0-9A-Za-z_-]{1,32}$/.test(s)) { sid.setError(t('lookup.bad')); ok = false; }
    if (!c || utf8Len(c) > 64) { code.setError(t('reg.codeBad')); ok = false; }
    if (utf8Len(n) > 200) { name.setError(t('v.tooLong', { n: 200 })); ok = false; }
    if (!keep.validate()) ok = false;
    if (!ok) return;
    btn.disabled = true;
    try {
      const pair = keys.generate();
      const tx = records.student(pair.publicKey, s, c, n);
      const done = await signAndSend({
        title: t('sign.student.title'), key: pair, tx, errorEl: err,
        lines: [[t('student.sid'), s], [t('reg.code'), c], n ? [t('student.name'), n] : null,
          [t('sign.newKey'), pair.publicKey]].filter(Boolean),
        note: t('sign.student.note'), success: t('reg.done'),
      });
      if (!done) return;
      form.hidden = true;
      const stored = await keep.keep(pair, s, 'student');
      await registered(out, pair, 'ltdrs-student-' + s + '.key', stored, '#/student');
    } catch (e) {
      err.textContent = errorText(e);
    } finally {
      btn.disabled = false;
    }
  } } }, sid, code, name, keep, err, h('div', { class: 'actions' }, btn));
  return h('section', { class: 'card narrow' },
    h('h1', null, t('reg.studentTitle')),
    h('p', null, t('reg.studentIntro')),
    form, out);
}

export function studentHome() {
  setTitle(t('student.title'));
  return guard(['student'], (s) => {
    const lookup = lookupForm('');
    const page = h('div', null,
      h('section', { class: 'card' },
        h('h1', null, t('student.title')),
        h('p', null, t('student.hello', { sid: s.sid })),
        panel(async () => studentResult(await api.get('/students/' + encodeURIComponent(s.sid))))),
      h('section', { class: 'card' },
        h('h2', null, t('student.lookupOther')),
        lookup));
    page.refresh = lookup.refresh;
    return page;
  });
}

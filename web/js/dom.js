// dom.js - builds DOM nodes.  Every string becomes a text node or an attribute
// value set with setAttribute; nothing here (or anywhere in the pages) assigns
// innerHTML, outerHTML or insertAdjacentHTML, so a ledger string is always
// shown as text (threat C1).

const SVG_NS = 'http://www.w3.org/2000/svg';

function append(el, child) {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) {
    for (const c of child) append(el, c);
    return;
  }
  if (child instanceof Node) el.appendChild(child);
  else el.appendChild(document.createTextNode(String(child)));
}

function setAttrs(el, attrs) {
  if (!attrs) return;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'on') {
      for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    } else if (k === 'class') {
      el.setAttribute('class', Array.isArray(v) ? v.filter(Boolean).join(' ') : v);
    } else if (k === 'dataset') {
      for (const [dk, dv] of Object.entries(v)) el.dataset[dk] = String(dv);
    } else if (k === 'value' && 'value' in el) {
      el.value = String(v);
    } else if (k === 'checked' || k === 'disabled' || k === 'selected' || k === 'required' ||
               k === 'multiple' || k === 'open') {
      el[k] = Boolean(v);
    } else if (k === 'href') {
      el.setAttribute('href', safeHref(v));
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
}

// Links: same-document hashes and paths, and http(s) URLs only (never
// javascript:, data: or other schemes from a ledger string).
export function safeHref(v) {
  const s = String(v);
  if (s.startsWith('#') || (s.startsWith('/') && !s.startsWith('//'))) return s;
  try {
    const u = new URL(s, location.href);
    if (u.protocol === 'http:' || u.protocol === 'https:' || u.protocol === 'blob:') return u.href;
  } catch (e) { /* fall through */ }
  return '#';
}

export function isHttpUrl(s) {
  try {
    const u = new URL(String(s));
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch (e) {
    return false;
  }
}

// h('div', {class: 'x'}, 'text', child, [more])
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

export function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v !== null && v !== undefined) el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

let idSeq = 0;
export function uid(prefix) {
  idSeq += 1;
  return (prefix || 'f') + '-' + idSeq;
}

// A labelled form field with a hint and a place for its validation message.
// opts: {label, type, name, value, hint, required, attrs, tag ('input'|'textarea'|'select'), options}
export function field(opts) {
  const id = opts.id || uid(opts.name || 'f');
  const errId = id + '-err';
  const hintId = id + '-hint';
  let control;
  const describedBy = [opts.hint ? hintId : null, errId].filter(Boolean).join(' ');
  const common = Object.assign({ id, name: opts.name, 'aria-describedby': describedBy,
                                 required: opts.required }, opts.attrs || {});
  if (opts.tag === 'textarea') {
    control = h('textarea', common);
    if (opts.value !== undefined) control.defaultValue = opts.value;
  } else if (opts.tag === 'select') {
    control = h('select', common,
      (opts.options || []).map((o) => h('option', { value: o.value, selected: o.value === opts.value }, o.label)));
  } else {
    control = h('input', Object.assign({ type: opts.type || 'text' }, common));
    if (opts.value !== undefined) control.setAttribute('value', opts.value);
  }
  const err = h('p', { class: 'error', id: errId, 'aria-live': 'polite' });
  const wrap = h('div', { class: 'field' },
    h('label', { for: id }, opts.label),
    control,
    opts.hint ? h('p', { class: 'hint', id: hintId }, opts.hint) : null,
    err);
  wrap.control = control;
  wrap.setError = (msg) => {
    err.textContent = msg || '';
    if (msg) control.setAttribute('aria-invalid', 'true');
    else control.removeAttribute('aria-invalid');
  };
  return wrap;
}

export function checkbox(label, opts) {
  const id = uid('c');
  const input = h('input', Object.assign({ type: 'checkbox', id }, opts || {}));
  const wrap = h('div', { class: 'field check' }, input, h('label', { for: id }, label));
  wrap.control = input;
  return wrap;
}

// Table: cols = [{label, cls, cell: (row) => node|string}]
export function table(cols, rows, opts) {
  const o = opts || {};
  return h('div', { class: 'table-wrap' },
    h('table', { class: o.stack === false ? null : 'stack' },
      o.caption ? h('caption', { class: 'visually-hidden' }, o.caption) : null,
      h('thead', h('tr', cols.map((c) => h('th', { class: c.cls, scope: 'col' }, c.label)))),
      h('tbody', rows.map((r) => h('tr', cols.map((c) => h('td', { class: c.cls, 'data-label': c.label }, c.cell(r))))))));
}

export function download(name, text, type) {
  const blob = new Blob([text], { type: type || 'application/octet-stream' });
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: name, class: 'visually-hidden' }, name);
  document.body.appendChild(a);
  a.click();
  setTimeout(() => {
    URL.revokeObjectURL(url);
    a.remove();
  }, 1000);
}

export function readFileText(file, maxBytes) {
  if (file.size > (maxBytes || 5 * 1024 * 1024)) return Promise.reject(new Error('too large'));
  return file.text();
}

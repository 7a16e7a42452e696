// api.js - the node's HTTP APIs.  LTDRS queries and sessions under
// /ltdrs/api/v1 (cookie session; state-changing calls carry the CSRF token
// from the login reply in X-CSRF-Token), and BigchainDB's
// /api/v1/transactions for signed transactions, which need no cookie.

const BASE = '/ltdrs/api/v1';
const HINT = 'ltdrs.session.hint';

let csrfToken = null;

export class ApiError extends Error {
  constructor(status, body) {
    const msg = body && typeof body.message === 'string' ? body.message
      : body && body.message ? JSON.stringify(body.message) : 'HTTP ' + status;
    super(msg);
    this.status = status;
    this.body = body;
    const m = /Invalid transaction \(([A-Za-z]+)\)/.exec(msg);
    this.rule = m ? m[1] : (body && body.error) || null;
  }
}

async function parse(res) {
  const type = res.headers.get('Content-Type') || '';
  let body = null;
  if (type.includes('json')) {
    try {
      body = await res.json();
    } catch (e) {
      body = null;
    }
  } else {
    body = await res.text();
  }
  if (!res.ok) throw new ApiError(res.status, typeof body === 'object' ? body : { message: String(body || '') });
  return body;
}

export async function get(path, params) {
  let url = BASE + path;
  if (params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
    const s = q.toString();
    if (s) url += '?' + s;
  }
  const res = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  return parse(res);
}

export async function post(path, body) {
  const headers = { Accept: 'application/json', 'Content-Type': 'application/json' };
  if (csrfToken) headers['X-CSRF-Token'] = csrfToken;
  const res = await fetch(BASE + path, {
    method: 'POST', credentials: 'same-origin', headers,
    body: body === undefined ? '' : JSON.stringify(body),
  });
  return parse(res);
}

export function reportUrl(params) {
  const q = new URLSearchParams(Object.assign({ format: 'csv' }, params || {}));
  return BASE + '/students?' + q.toString();
}

// ---- sessions ----

export function setSession(s) {
  csrfToken = s ? s.csrf_token : null;
  if (s) localStorage.setItem(HINT, '1');
  else localStorage.removeItem(HINT);
}

// The session of this browser, if it may have one (the cookie is HttpOnly;
// a hint in localStorage avoids asking, and a 401, when it surely has none).
export async function currentSession() {
  if (!localStorage.getItem(HINT)) return null;
  try {
    const s = await get('/session');
    setSession(s);
    return s;
  } catch (e) {
    if (e.status === 401 || e.status === 403) {
      setSession(null);
      return null;
    }
    throw e;
  }
}

export async function logout() {
  try {
    await post('/logout');
  } finally {
    setSession(null);
  }
}

// ---- BigchainDB ----

// Posts a signed transaction and waits for its commit (202 after the block is
// durable).  Throws ApiError with .rule set for a broken LTDRS rule.
export async function postTx(tx) {
  const res = await fetch('/api/v1/transactions?mode=commit', {
    method: 'POST', credentials: 'omit',
    headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
    body: JSON.stringify(tx),
  });
  return parse(res);
}

export async function getTx(id) {
  const res = await fetch('/api/v1/transactions/' + encodeURIComponent(id), { credentials: 'omit' });
  return parse(res);
}

export async function listAssetTxs(assetId, operation) {
  const q = new URLSearchParams({ asset_id: assetId });
  if (operation) q.set('operation', operation);
  const res = await fetch('/api/v1/transactions?' + q.toString(), { credentials: 'omit' });
  return parse(res);
}

export async function getBlock(height) {
  const res = await fetch('/api/v1/blocks/' + encodeURIComponent(height), { credentials: 'omit' });
  return parse(res);
}

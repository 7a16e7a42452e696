// session.js - who is logged in (from the server; the role comes from the
// ledger) and the key in memory that signs for them.

import * as api from './api.js';
import * as keys from './keys.js';

const listeners = [];
let session = null;

export function current() {
  return session;
}

export function onChange(fn) {
  listeners.push(fn);
}

function changed() {
  for (const fn of listeners) fn(session);
}

export async function load() {
  session = await api.currentSession();
  changed();
  return session;
}

// Logs in with a checked key pair: challenge, signature of the login text,
// session.  The request carries the public key and the signature only.
export async function login(pair) {
  const ch = await api.post('/login/challenge');
  const signature = keys.loginSignature(ch.challenge, ch.message, pair.privateKey);
  const s = await api.post('/login', { public_key: pair.publicKey, challenge: ch.challenge, signature });
  api.setSession(s);
  keys.setCurrent(pair);
  session = s;
  changed();
  return s;
}

export async function logout() {
  try {
    await api.logout();
  } finally {
    keys.setCurrent(null);
    session = null;
    changed();
  }
}

// The key that signs for the session, if it is in memory and matches.
export function signingKey() {
  const k = keys.getCurrent();
  if (!k || !session || k.publicKey !== session.public_key) return null;
  return k;
}

export function useKey(pair) {
  keys.setCurrent(pair);
  changed();
}

export function role() {
  return session ? session.role : 'none';
}

// keys.js - Ed25519 keys in the browser.  Private keys never leave this page:
// they are generated here (BigchainDB.Ed25519Keypair), offered as a key file,
// optionally kept encrypted in localStorage (PBKDF2-SHA256 + AES-GCM), and
// used for signing here.  Only public keys and signatures are ever sent.

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const STORE_KEY = 'ltdrs.keys.v1';
export const PBKDF2_ITERATIONS = 310000;

function driver() {
  if (!window.BigchainDB) throw new Error('BigchainDB driver not loaded');
  return window.BigchainDB;
}

export function b58encode(bytes) {
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++;
  const digits = [];
  for (let i = zeros; i < bytes.length; i++) {
    let carry = bytes[i];
    for (let j = 0; j < digits.length; j++) {
      carry += digits[j] << 8;
      digits[j] = carry % 58;
      carry = (carry / 58) | 0;
    }
    while (carry > 0) {
      digits.push(carry % 58);
      carry = (carry / 58) | 0;
    }
  }
  let s = '1'.repeat(zeros);
  for (let i = digits.length - 1; i >= 0; i--) s += B58[digits[i]];
  return s;
}

export function b58decode(s) {
  if (typeof s !== 'string' || s.length === 0 || s.length > 64) throw new Error('bad base58');
  let zeros = 0;
  while (zeros < s.length && s[zeros] === '1') zeros++;
  const bytes = [];
  for (let i = zeros; i < s.length; i++) {
    const v = B58.indexOf(s[i]);
    if (v < 0) throw new Error('bad base58');
    let carry = v;
    for (let j = 0; j < bytes.length; j++) {
      carry += bytes[j] * 58;
      bytes[j] = carry & 0xff;
      carry >>= 8;
    }
    while (carry > 0) {
      bytes.push(carry & 0xff);
      carry >>= 8;
    }
  }
  const out = new Uint8Array(zeros + bytes.length);
  for (let i = 0; i < bytes.length; i++) out[out.length - 1 - i] = bytes[i];
  return out;
}

function decode32(s) {
  const b = b58decode(String(s).trim());
  if (b.length !== 32) throw new Error('not 32 bytes');
  return b;
}

export function isPublicKey(s) {
  try {
    decode32(s);
    return true;
  } catch (e) {
    return false;
  }
}

export function hex(bytes) {
  return Array.from(bytes, (x) => x.toString(16).padStart(2, '0')).join('');
}

function b64(bytes) {
  let s = '';
  for (const x of bytes) s += String.fromCharCode(x);
  return btoa(s);
}

function unb64(s) {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function randomHex(n) {
  return hex(crypto.getRandomValues(new Uint8Array(n)));
}

// A new key pair {publicKey, privateKey} (base58, as the drivers encode them).
export function generate() {
  const kp = new (driver().Ed25519Keypair)();
  return { publicKey: kp.publicKey, privateKey: kp.privateKey };
}

// The public key of a private key (base58 32-byte seed), or throws.
export function publicOf(privateKey) {
  const seed = decode32(privateKey);
  const kp = new (driver().Ed25519Keypair)(seed);
  return kp.publicKey;
}

// Checks a pair: returns {publicKey, privateKey} or throws an Error whose
// .code is 'badPrivate', 'badPublic' or 'mismatch'.
export function checkPair(publicKey, privateKey) {
  const priv = String(privateKey || '').trim();
  let derived;
  try {
    derived = publicOf(priv);
  } catch (e) {
    throw Object.assign(new Error('private key is not a base58 32-byte seed'), { code: 'badPrivate' });
  }
  const pub = String(publicKey || '').trim();
  if (pub === '') return { publicKey: derived, privateKey: priv };
  if (!isPublicKey(pub)) throw Object.assign(new Error('bad public key'), { code: 'badPublic' });
  if (pub !== derived) throw Object.assign(new Error('keys do not match'), { code: 'mismatch' });
  return { publicKey: pub, privateKey: priv };
}

// The crypto-condition classes of the driver bundle (it does not export them
// by name; ccJsonLoad builds instances from which the classes are taken).
let ccClasses = null;
export function cc() {
  if (!ccClasses) {
    const d = driver();
    const ed = d.ccJsonLoad({ type: 'ed25519-sha-256', public_key: '11111111111111111111111111111111' });
    const thr = d.ccJsonLoad({ type: 'threshold-sha-256', threshold: 1, subconditions: [] });
    // The bundle's Buffer polyfill (Ed25519Sha256.sign wants Buffers): the
    // class of the public key that ccJsonLoad decoded.
    const Buffer = ed.publicKey && ed.publicKey.constructor;
    if (!Buffer || typeof Buffer.from !== 'function' || typeof Buffer.isBuffer !== 'function') {
      throw new Error('driver bundle: no Buffer');
    }
    ccClasses = { Ed25519Sha256: ed.constructor, ThresholdSha256: thr.constructor, Buffer };
  }
  return ccClasses;
}

// Ed25519 detached signature (tweetnacl, inside the driver bundle) of bytes.
export function signBytes(bytes, privateKey) {
  const { Ed25519Sha256, Buffer } = cc();
  const f = new Ed25519Sha256();
  f.sign(Buffer.from(bytes), Buffer.from(decode32(privateKey)));
  return new Uint8Array(f.signature);
}

// Login (domain §2): sign the UTF-8 text "ltdrs-login:v1:<origin>:<challenge>".
// Refuses anything else, so that a login can never sign a transaction digest
// (threat A3).
export function loginSignature(challenge, message, privateKey) {
  if (!/^[0-9a-f]{64}$/.test(String(challenge))) throw new Error('malformed challenge');
  const expected = 'ltdrs-login:v1:' + location.origin + ':' + challenge;
  if (message !== undefined && message !== expected) throw new Error('unexpected login message');
  return hex(signBytes(new TextEncoder().encode(expected), privateKey));
}

export function keyFileText(pair) {
  return JSON.stringify({ public_key: pair.publicKey, private_key: pair.privateKey }, null, 2) + '\n';
}

// Parses a key file ({"public_key","private_key"}, as written by `ltdrs keygen`
// and `ltdrs init`) and checks that the keys match.
export function parseKeyFile(text) {
  let o;
  try {
    o = JSON.parse(text);
  } catch (e) {
    throw Object.assign(new Error('not JSON'), { code: 'badFile' });
  }
  if (!o || typeof o !== 'object' || typeof o.private_key !== 'string') {
    throw Object.assign(new Error('no private_key'), { code: 'badFile' });
  }
  return checkPair(o.public_key || '', o.private_key);
}

// ---- encrypted storage in this browser ----

export function storedKeys() {
  try {
    const list = JSON.parse(localStorage.getItem(STORE_KEY) || '[]');
    return Array.isArray(list) ? list.filter((e) => e && typeof e.public_key === 'string') : [];
  } catch (e) {
    return [];
  }
}

async function aesKey(password, salt, iterations) {
  const base = await crypto.subtle.importKey('raw', new TextEncoder().encode(password), 'PBKDF2',
    false, ['deriveKey']);
  return crypto.subtle.deriveKey({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, base,
    { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
}

// Keeps pair encrypted under password (label: what the list shows).
export async function storeKey(pair, password, label, role) {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const key = await aesKey(password, salt, PBKDF2_ITERATIONS);
  const ct = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: new TextEncoder().encode(pair.publicKey) }, key,
    new TextEncoder().encode(pair.privateKey));
  const entry = {
    public_key: pair.publicKey, label: String(label || ''), role: String(role || ''),
    kdf: 'PBKDF2-SHA256', iterations: PBKDF2_ITERATIONS, salt: b64(salt), iv: b64(iv),
    ciphertext: b64(new Uint8Array(ct)), saved: new Date().toISOString(),
  };
  const list = storedKeys().filter((e) => e.public_key !== pair.publicKey);
  list.push(entry);
  localStorage.setItem(STORE_KEY, JSON.stringify(list));
}

// Decrypts the stored key of publicKey; throws {code:'badPassword'|'missing'}.
export async function unlockKey(publicKey, password) {
  const e = storedKeys().find((x) => x.public_key === publicKey);
  if (!e) throw Object.assign(new Error('no such stored key'), { code: 'missing' });
  let plain;
  try {
    const key = await aesKey(password, unb64(e.salt), Number(e.iterations) || PBKDF2_ITERATIONS);
    plain = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: unb64(e.iv), additionalData: new TextEncoder().encode(publicKey) },
      key, unb64(e.ciphertext));
  } catch (err) {
    throw Object.assign(new Error('wrong password'), { code: 'badPassword' });
  }
  return checkPair(publicKey, new TextDecoder().decode(plain));
}

export function forgetKey(publicKey) {
  localStorage.setItem(STORE_KEY, JSON.stringify(storedKeys().filter((e) => e.public_key !== publicKey)));
}

// ---- the key in use (memory only) ----

let current = null;
export function setCurrent(pair) { current = pair; }
export function getCurrent() { return current; }

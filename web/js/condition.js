// condition.js - the 2-of-2 threshold condition {student, department} of a
// distributed ticket, as BigchainDB's crypto-conditions encode it.
//
// Why here and not from the driver: every browser bundle of
// bigchaindb-driver 4.3.0 fails in Transaction.makeThresholdCondition with
// "Assertion failed" (crypto-conditions' schemas/condition.js refers to
// `exports.Simple256Condition` inside an ES module, and webpack rewrote that to
// an unrelated variable, so the ASN.1 Condition schema has no members).
// Ed25519 conditions, signing and threshold *fulfillments* work; only the
// threshold condition's fingerprint is built here.  tests/js/browser.js
// checks the result byte for byte against the Node driver.
//
// Encoding (crypto-conditions draft 02, DER):
//   ed25519 fingerprint  = SHA-256( 30 22 80 20 <public key> )
//   ed25519 Condition    = A4 27 80 20 <fingerprint> 81 03 02 00 00   (cost 131072)
//   threshold contents   = 30 L 80 01 <threshold> A1 L <Conditions sorted by length, then bytes>
//   threshold cost       = sum of the `threshold` largest costs + 1024 per subcondition
//   uri = ni:///sha-256;<base64url(SHA-256(contents))>?fpt=threshold-sha-256&cost=<cost>&subtypes=ed25519-sha-256

import { b58decode } from './keys.js';

const ED_COST = 131072;

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

function b64url(bytes) {
  let s = '';
  for (const x of bytes) s += String.fromCharCode(x);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function cat(...parts) {
  const n = parts.reduce((k, p) => k + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function tlv(tag, body) {
  if (body.length > 127) throw new Error('DER length > 127 not needed here');
  return cat([tag, body.length], body);
}

function cmp(a, b) {
  if (a.length !== b.length) return a.length - b.length;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

async function edConditionDer(publicKey) {
  const pk = b58decode(publicKey);
  if (pk.length !== 32) throw new Error('bad public key');
  const fp = await sha256(tlv(0x30, tlv(0x80, pk)));
  return tlv(0xa4, cat(tlv(0x80, fp), tlv(0x81, [0x02, 0x00, 0x00])));
}

// The condition object of an output locked by all of `publicKeys` (a
// threshold of n out of n ed25519 keys, subconditions in the given order).
export async function thresholdCondition(publicKeys) {
  const n = publicKeys.length;
  if (n < 1 || n > 3) throw new Error('1..3 keys'); // keeps every DER length in one byte
  const subs = await Promise.all(publicKeys.map(edConditionDer));
  subs.sort(cmp);
  const contents = tlv(0x30, cat(tlv(0x80, [n]), tlv(0xa1, cat(...subs))));
  const cost = ED_COST * n + 1024 * n;
  return {
    details: {
      type: 'threshold-sha-256',
      threshold: n,
      subconditions: publicKeys.map((k) => ({ type: 'ed25519-sha-256', public_key: k })),
    },
    uri: 'ni:///sha-256;' + b64url(await sha256(contents)) + '?fpt=threshold-sha-256&cost=' + cost +
      '&subtypes=ed25519-sha-256',
  };
}

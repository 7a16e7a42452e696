// codes.js - one-time activation codes, in the form `ltdrs admin roster
// import` issues them (16 Crockford base32 symbols = 80 random bits, in
// groups of four: 7K2M-9QXF-T4HB-0ZC8), and the normalisation of a typed
// code that `ltdrs student register` applies (normalize_code in
// src/cmd_student.c), so that a code works the same typed in the page or in
// the CLI.  The ledger keeps sha256(sid ":" code) of the issued form only.

export const CODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'; // Crockford base32
const SYMBOLS = 16;

// A fresh activation code "XXXX-XXXX-XXXX-XXXX" (256 is a multiple of 32,
// so `byte & 31` is uniform).
export function newCode() {
  const b = crypto.getRandomValues(new Uint8Array(SYMBOLS));
  const s = Array.from(b, (x) => CODE_ALPHABET[x & 31]).join('');
  return s.slice(0, 4) + '-' + s.slice(4, 8) + '-' + s.slice(8, 12) + '-' + s.slice(12);
}

// A code typed loosely, put back into the issued form when it is one: ASCII
// letters to upper case, spaces, tabs and dashes dropped, O read as 0, I and
// L as 1; exactly 16 symbols of the alphabet give "XXXX-XXXX-XXXX-XXXX".
// Anything else is kept as typed, minus leading spaces/tabs and trailing
// spaces/tabs/CR/LF (as the CLI does).
export function normalizeCode(input) {
  const text = String(input === undefined || input === null ? '' : input);
  const sym = [];
  let ours = true;
  for (let i = 0; i < text.length && ours; i++) {
    let c = text[i];
    if (c >= 'a' && c <= 'z') c = c.toUpperCase(); // toupper() in the C locale: ASCII only
    if (c === ' ' || c === '-' || c === '\t' || c === '\n' || c === '\r') continue;
    if (c === 'O') c = '0';
    else if (c === 'I' || c === 'L') c = '1';
    ours = sym.length < SYMBOLS && CODE_ALPHABET.includes(c);
    if (ours) sym.push(c);
  }
  if (ours && sym.length === SYMBOLS) {
    const s = sym.join('');
    return s.slice(0, 4) + '-' + s.slice(4, 8) + '-' + s.slice(8, 12) + '-' + s.slice(12);
  }
  let b = 0;
  let e = text.length;
  while (b < e && (text[b] === ' ' || text[b] === '\t')) b++;
  while (e > b && ' \t\n\r'.includes(text[e - 1])) e--;
  return text.slice(b, e);
}

// Hex SHA-256 of "sid:code", as the roster record carries it.
export async function codeHash(sid, code) {
  const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(sid + ':' + code));
  return Array.from(new Uint8Array(d), (x) => x.toString(16).padStart(2, '0')).join('');
}

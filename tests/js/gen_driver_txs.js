#!/usr/bin/env node
/*
 * gen_driver_txs.js - builds and signs BigchainDB 2.0 transactions with the
 * official JS driver (bigchaindb-driver 4.3.0) so that the C core can be
 * checked against it byte for byte (tests/interop_check.c, mode `verify`).
 *
 * Everything is deterministic from --seed: one seeded PRNG makes every
 * choice and every key seed (`new Ed25519Keypair(seedBytes)`).  Only the
 * driver and its own dependencies are used: Transaction, Ed25519Keypair,
 * and the driver's crypto-conditions (ThresholdSha256 + Ed25519Sha256 for
 * threshold fulfillments, as protocol doc §3.8 shows) and js-sha3.
 *
 * Output, one JSON object per line, "tx" always first so that its exact
 * text (what the driver would POST: JSON.stringify(tx)) can be cut out:
 *   {"tx":<signed tx>,"id":<tx.id>,"kind":"...","canon":"<driver's id preimage>"}
 * TRANSFER inputs spend outputs of earlier lines of the same file, so a
 * checker finds the spent outputs by id.  "canon" is the driver's canonical
 * string with "id": null (what it hashes), for byte-level diagnostics.
 *
 * The first five lines are the documented transactions of protocol doc §6.4
 * and §3.8 (the generator refuses to run if the driver does not reproduce
 * their ids); 16 fixed corner cases follow, then the random mix.
 *
 * The mismatch file holds transactions on which the driver and the
 * reference server disagree (doc §2.2) or that the server refuses; each
 * line carries "expect": the BigchainDB error type the reference answers
 * ("InvalidHash", "SchemaValidationError") or "ok".
 *
 * Deliberately not here: HTTP, the browser bundle.
 *
 * usage: node gen_driver_txs.js [--seed S] [--n N] [--out FILE] [--mismatch FILE]
 */
'use strict';

const fs = require('fs');
const path = require('path');
const { Transaction, Ed25519Keypair, ccJsonLoad } = require('bigchaindb-driver');

// The driver's own copies of its dependencies (not whatever else is hoisted).
const driverDir = path.dirname(require.resolve('bigchaindb-driver/package.json'));
const driverDep = (name) => require(require.resolve(name, { paths: [driverDir] }));
const cc = driverDep('crypto-conditions');
const { sha3_256 } = driverDep('js-sha3');

// ---------------------------------------------------------------- options

function parseArgs(argv) {
    const o = { seed: '1', n: 1200, out: 'driver_txs.jsonl', mismatch: 'driver_mismatch.jsonl' };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const v = argv[i + 1];
        if (a === '--seed') { o.seed = v; i++; }
        else if (a === '--n') { o.n = parseInt(v, 10); i++; }
        else if (a === '--out') { o.out = v; i++; }
        else if (a === '--mismatch') { o.mismatch = v; i++; }
        else {
            process.stderr.write('usage: gen_driver_txs.js [--seed S] [--n N] [--out FILE] [--mismatch FILE]\n');
            process.exit(2);
        }
    }
    if (!(o.n >= 21)) {
        process.stderr.write('gen_driver_txs: --n must be >= 21\n');
        process.exit(2);
    }
    return o;
}

// ---------------------------------------------------------------- PRNG

// xmur3 string hash -> sfc32: small, well mixed, and reproducible.
function makeRng(seedText) {
    let h = 1779033703 ^ seedText.length;
    for (let i = 0; i < seedText.length; i++) {
        h = Math.imul(h ^ seedText.charCodeAt(i), 3432918353);
        h = (h << 13) | (h >>> 19);
    }
    const next32 = () => {
        h = Math.imul(h ^ (h >>> 16), 2246822507);
        h = Math.imul(h ^ (h >>> 13), 3266489909);
        return (h ^= h >>> 16) >>> 0;
    };
    let a = next32(), b = next32(), c = next32(), d = next32();
    const u32 = () => {
        a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0;
        let t = (a + b) | 0;
        a = b ^ (b >>> 9);
        b = (c + (c << 3)) | 0;
        c = (c << 21) | (c >>> 11);
        d = (d + 1) | 0;
        t = (t + d) | 0;
        c = (c + t) | 0;
        return t >>> 0;
    };
    for (let i = 0; i < 16; i++) u32();
    const r = {
        u32,
        float: () => u32() / 4294967296,
        int: (lo, hi) => lo + Math.floor((u32() / 4294967296) * (hi - lo + 1)), // inclusive
        chance: (p) => u32() / 4294967296 < p,
        pick: (arr) => arr[Math.floor((u32() / 4294967296) * arr.length)],
        bytes: (n) => {
            const out = Buffer.alloc(n);
            for (let i = 0; i < n; i++) out[i] = u32() & 0xff;
            return out;
        },
        // uniform-ish BigInt in [0, n)
        big: (n) => {
            let x = 0n;
            for (let i = 0; i < 3; i++) x = (x << 32n) | BigInt(u32());
            return x % n;
        },
    };
    return r;
}

// ---------------------------------------------------------------- keys

function keyFromSeed(seed) {
    const kp = new Ed25519Keypair(seed);
    return { seed: Buffer.from(seed), pub: kp.publicKey, priv: kp.privateKey };
}

const DOC_KEYS = {
    alice: keyFromSeed(Buffer.from('ad564904ee5ac34accc256f8663b30bf8fd4c6e335dcf272ebbe8e6d81407af0', 'hex')),
    bob: keyFromSeed(Buffer.from('203004b9071ff190ed85277fd6a6b5548810b7329cc4f0767900ad053c0ee109', 'hex')),
};

// ---------------------------------------------------------------- locks

// A lock is who may spend an output: {t:'ed', key} or {t:'thr', m, subs:[lock...]}.
const edLock = (key) => ({ t: 'ed', key });
const thrLock = (m, subs) => ({ t: 'thr', m, subs });

function lockName(l) {
    if (l.t === 'ed') return 'ed';
    const flat = l.subs.every((s) => s.t === 'ed');
    return flat ? `${l.m}of${l.subs.length}` : `nested${l.m}of${l.subs.length}`;
}

// crypto-conditions object (unsigned) for a lock, as the driver builds it.
function lockCcObject(l) {
    if (l.t === 'ed') return Transaction.makeEd25519Condition(l.key.pub, false);
    return Transaction.makeThresholdCondition(l.m, l.subs.map(lockCcObject), false);
}

function lockConditionJson(l) {
    if (l.t === 'ed') return Transaction.makeEd25519Condition(l.key.pub);
    return Transaction.makeThresholdCondition(l.m, l.subs.map(lockCcObject));
}

function makeOutput(l, amount) {
    return Transaction.makeOutput(lockConditionJson(l), amount.toString());
}

// Signed fulfillment object for a lock over msg (a Buffer).  For a threshold
// a random set of m children signs; sometimes all of them sign (the library
// then keeps m and demotes the surplus to conditions, doc §3.8).
function fulfillLock(rng, l, msg) {
    if (l.t === 'ed') {
        const f = new cc.Ed25519Sha256();
        f.sign(msg, l.key.seed);
        return f;
    }
    const f = new cc.ThresholdSha256();
    f.setThreshold(l.m);
    const n = l.subs.length;
    const surplus = l.m < n && rng.chance(0.2);
    const order = [...Array(n).keys()];
    for (let i = n - 1; i > 0; i--) {
        const j = rng.int(0, i);
        [order[i], order[j]] = [order[j], order[i]];
    }
    const signing = new Set(order.slice(0, surplus ? n : l.m));
    l.subs.forEach((s, i) => {
        if (signing.has(i)) f.addSubfulfillment(fulfillLock(rng, s, msg));
        else f.addSubcondition(lockCcObject(s).getCondition());
    });
    return f;
}

// The message input `input` signs (doc §2.4), from the string the driver
// hands to delegateSignTransaction's callback.
function signingMessage(serialized, input) {
    const tail = input.fulfills ? input.fulfills.transaction_id + input.fulfills.output_index : '';
    return Buffer.from(sha3_256(serialized + tail), 'hex');
}

// ---------------------------------------------------------------- random data

// Pieces that exercise escaping and UTF-8 (all interoperable, doc §2.2).
const PIECES = [
    'hello', 'BigchainDB', 'asset', 'x', ' ', '  spaced  ', '0', 'null', 'true', '1.5', '-',
    '中文', '区块链数据库', '測試', '日本語のテキスト', '한국어', 'Ελληνικά', 'русский', 'עברית', 'العربية',
    'हिन्दी', 'ไทย', '😀', '🚀', '👍🏽', '👨‍👩‍👧‍👦', '🇩🇪', '𝒜𝓑𝒞', '𐍈', '🀄', '\u{10FFFD}', '\u{1F9EA}',
    'e\u0301', 'n\u0303', 'a\u030A\u0323', '\u0301', 'Z\u0351\u0352\u0357', 'ﬁ', '\u00c5', 'A\u030A',
    '"', '\\', '\n', '\t', '\r', '\b', '\f', '/', '</script>', '\u007f', '\u0080', '\u00a0', '\u00ad',
    '\u2028', '\u2029', '\u200b', '\u200d', '\ufeff', '\ufffd', '\uffff', '\ue000', '\uf8ff', '｡', '￥',
    '\\u0041', '\\n', "'", '`', '{', '}', '[', ']', ':', ',', '%s', '&amp;',
    // Control characters whose \u00XX escape has only digits print alike in
    // JSON.stringify and rapidjson (doc §2.2 lists them all as mismatches;
    // only U+000B, U+000E, U+000F and U+001A-U+001F differ).
    '\u0001', '\u0007', '\u0010', '\u0019',
];
const NUL = '\u0000'; // values only: keys must not contain NUL (doc §1.4)

function randomCodePoint(rng) {
    switch (rng.int(0, 5)) {
    case 0: return rng.int(0x20, 0x7e);
    case 1: return rng.int(0xa0, 0x7ff);
    case 2: return rng.int(0x800, 0xd7ff);
    case 3: return rng.int(0xe000, 0xffff);
    case 4: return rng.int(0x10000, 0x10ffff);
    default: return rng.pick([0x08, 0x09, 0x0a, 0x0c, 0x0d, 0x22, 0x5c, 0x2f, 0x7f]);
    }
}

function randomString(rng, maxParts) {
    const parts = rng.int(0, maxParts);
    let s = '';
    for (let i = 0; i < parts; i++) {
        const r = rng.float();
        s += r < 0.6 ? rng.pick(PIECES) : r < 0.98 ? String.fromCodePoint(randomCodePoint(rng)) : NUL;
    }
    return s;
}

// Keys the reference accepts (doc §1.4): no leading '$', no '.', no NUL,
// and no "language" (whose value is restricted) unless we set a valid one.
function randomKey(rng) {
    for (;;) {
        const k = rng.chance(0.3) ? rng.pick(['a', 'b', 'id', 'data', 'msg', 'seq', 'ключ', '键', '🔑', 'z']) + randomString(rng, 1)
                                  : randomString(rng, 3);
        if (k.startsWith('$') || k.includes('.') || k.includes('\u0000')) continue;
        if (k === 'language' || k === '__proto__') continue;
        return k;
    }
}

const cmpUtf16 = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
function cmpCodePoints(a, b) {
    const x = Array.from(a, (c) => c.codePointAt(0));
    const y = Array.from(b, (c) => c.codePointAt(0));
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
    return x.length - y.length;
}
// True when sorting keys by UTF-16 units (driver) and by code points
// (server, doc §2.1) give the same order.
function sortAgrees(keys) {
    const a = [...keys].sort(cmpUtf16);
    const b = [...keys].sort(cmpCodePoints);
    return a.every((k, i) => k === b[i]);
}

// Non-integral doubles with |x| >= 1e-4 print the same in JS and Python repr.
function randomFloat(rng) {
    for (;;) {
        let x;
        switch (rng.int(0, 4)) {
        case 0: x = rng.pick([0.5, 0.25, 0.125, 0.1, 0.2, 0.3, 0.75, 1.5, 2.5, 123.25, 3.14159, 0.0001, 0.00012]); break;
        case 1: x = rng.int(0, 1e6) + rng.pick([0.5, 0.25, 0.1, 0.01, 0.001]); break;
        case 2: x = rng.float() * Math.pow(10, rng.int(-3, 15)); break;
        case 3: x = rng.float(); break;
        default: x = Number((rng.float() * 1000).toFixed(rng.int(1, 6))); break;
        }
        if (rng.chance(0.3)) x = -x;
        if (Number.isInteger(x) || Math.abs(x) < 1e-4 || !Number.isFinite(x)) continue;
        return x;
    }
}

function randomInt(rng) {
    switch (rng.int(0, 5)) {
    case 0: return rng.int(0, 9);
    case 1: return rng.int(-1000, 1000);
    case 2: return rng.int(-2147483648, 2147483647);
    case 3: return rng.pick([Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 32, 2 ** 53 - 2, 1e15, 0]);
    case 4: return rng.int(0, 2 ** 20) * 2 ** 21 + rng.int(0, 2 ** 21 - 1); // up to 2^41
    // Integral doubles beyond 2^53 print as plain digits in JS and parse as
    // integers on the server: interoperable.
    default: return rng.pick([1e16, 2 ** 60, 123456789012345680000, 1e20]);
    }
}

function randomValue(rng, depth) {
    const r = rng.int(0, depth <= 0 ? 6 : 9);
    switch (r) {
    case 0: return null;
    case 1: return rng.chance(0.5);
    case 2: return randomInt(rng);
    case 3: return randomFloat(rng);
    case 4: case 5: case 6: return randomString(rng, 6);
    case 7: case 8: return randomObject(rng, depth - 1, 0);
    default: {
        const n = rng.int(0, 5);
        const arr = [];
        for (let i = 0; i < n; i++) arr.push(randomValue(rng, depth - 1));
        return arr;
    }
    }
}

function randomObject(rng, depth, minMembers) {
    const n = rng.int(minMembers, 6);
    const obj = {};
    const keys = [];
    for (let tries = 0; keys.length < n && tries < 50; tries++) {
        const k = randomKey(rng);
        if (Object.prototype.hasOwnProperty.call(obj, k)) continue;
        if (!sortAgrees([...keys, k])) continue; // doc §2.2 astral vs U+E000-U+FFFF
        keys.push(k);
        obj[k] = randomValue(rng, depth);
    }
    if (rng.chance(0.05)) obj.language = rng.pick(['english', 'de', 'none', 'russian']);
    return obj;
}

// ---------------------------------------------------------------- transactions

function canonIdPreimage(tx) {
    return Transaction.serializeTransactionIntoCanonicalString({ ...tx, id: null });
}

function line(tx, kind, extra) {
    const canon = canonIdPreimage(tx);
    let s = '{"tx":' + JSON.stringify(tx) + ',"id":' + JSON.stringify(tx.id) +
            ',"kind":' + JSON.stringify(kind) + ',"canon":' + JSON.stringify(canon);
    if (extra) for (const [k, v] of Object.entries(extra)) s += ',' + JSON.stringify(k) + ':' + JSON.stringify(v);
    return s + '}';
}

// Signs every input: signTransaction when all inputs are single keys (the
// driver's common path), delegateSignTransaction with crypto-conditions
// fulfillments otherwise.
function signTx(rng, tx, locks) {
    if (locks.every((l) => l.t === 'ed')) return Transaction.signTransaction(tx, ...locks.map((l) => l.key.priv));
    return Transaction.delegateSignTransaction(tx, (serialized, input, index) =>
        fulfillLock(rng, locks[index], signingMessage(serialized, input)).serializeUri());
}

function check(cond, what) {
    if (!cond) {
        process.stderr.write(`gen_driver_txs: self-check failed: ${what}\n`);
        process.exit(1);
    }
}

// The documented transactions (doc §6.4, §3.8): the driver must reproduce them.
function docTransactions() {
    const { alice, bob } = DOC_KEYS;
    const carolPub = '3Af3fhhjU6d9WecEM9Uw5hfom9kNEwE7YuDWdqAUssqm';
    const bobKeyForCarol = bob; // §6.4: bob -> carol signed by bob
    const out = [];
    const c1 = Transaction.signTransaction(Transaction.makeCreateTransaction(
        { msg: 'Hello BigchainDB!' }, { sequence: 0 }, [makeOutput(edLock(alice), 1)], alice.pub), alice.priv);
    check(c1.id === '4957744b3ac54434b8270f2c854cc1040228c82ea4e72d66d2887a4d3e30b317', 'doc CREATE id ' + c1.id);
    out.push(line(c1, 'doc CREATE out[ed]'));
    const t1 = Transaction.signTransaction(Transaction.makeTransferTransaction(
        [{ tx: c1, output_index: 0 }], [makeOutput(edLock(bob), 1)], { sequence: 1 }), alice.priv);
    check(t1.id === '79ef6803210c941903d63d08b40fa17f0a5a04f11ac0ff04451553a187d97a30', 'doc TRANSFER id ' + t1.id);
    out.push(line(t1, 'doc TRANSFER in[ed] out[ed]'));
    const t2 = Transaction.signTransaction(Transaction.makeTransferTransaction(
        [{ tx: t1, output_index: 0 }], [Transaction.makeOutput(Transaction.makeEd25519Condition(carolPub))],
        { sequence: 2 }), bobKeyForCarol.priv);
    check(t2.id === '1fec726a3b426498147f1a1f19a92c187d551a7f66db4b88d666d7dcc10e86a4', 'doc TRANSFER 2 id ' + t2.id);
    out.push(line(t2, 'doc TRANSFER in[ed] out[ed]'));
    const both = thrLock(2, [edLock(alice), edLock(bob)]);
    const c2 = Transaction.signTransaction(Transaction.makeCreateTransaction(
        { msg: 'threshold demo' }, null, [makeOutput(both, 1)], alice.pub), alice.priv);
    check(c2.id === '6d2d45a6094408f229536fc14e03b6c8301194a344a1485af271b8c7327ad2f8', 'doc threshold CREATE id ' + c2.id);
    out.push(line(c2, 'doc CREATE out[2of2]'));
    const noRng = makeRng('doc');
    const t3 = signTx(noRng, Transaction.makeTransferTransaction(
        [{ tx: c2, output_index: 0 }], [Transaction.makeOutput(Transaction.makeEd25519Condition(carolPub))], null),
    [both]);
    check(t3.id === '9132d8fc0eba6336e2eaaf9dc1490aeada20b702d6a02e3748bbe081753548b3', 'doc threshold TRANSFER id ' + t3.id);
    out.push(line(t3, 'doc TRANSFER in[2of2] out[ed]'));
    return out;
}

// Fixed corner cases the random mix rarely hits: 1-of-1, a key twice in
// one threshold, 10-of-12, five nested 1-of-1, spending output index 129,
// a CREATE without outputs, a 110 kB string, data nested 60 deep.
function edgeTransactions(rng, keys) {
    const out = [];
    const A = keys[0];
    const B = keys[1];
    const C = keys[2];
    const spendOnce = (name, lock) => {
        const c = Transaction.signTransaction(Transaction.makeCreateTransaction(
            { edge: name }, null, [makeOutput(lock, 1)], A.pub), A.priv);
        out.push(line(c, `edge CREATE out[${name}]`));
        const t = signTx(rng, Transaction.makeTransferTransaction(
            [{ tx: c, output_index: 0 }], [makeOutput(edLock(C), 1)], { edge: name }), [lock]);
        out.push(line(t, `edge TRANSFER in[${name}] out[ed]`));
    };
    spendOnce('1of1', thrLock(1, [edLock(A)]));
    spendOnce('2of2 same key', thrLock(2, [edLock(A), edLock(A)]));
    spendOnce('1of2 same key', thrLock(1, [edLock(A), edLock(A)]));
    spendOnce('3of3 A,B,A', thrLock(3, [edLock(A), edLock(B), edLock(A)]));
    spendOnce('10of12', thrLock(10, keys.slice(0, 12).map(edLock)));
    let deep = edLock(B);
    for (let i = 0; i < 5; i++) deep = thrLock(1, [deep]);
    spendOnce('nested 1of1 x5', deep);
    const many = Transaction.signTransaction(Transaction.makeCreateTransaction(
        { many: true }, null, Array.from({ length: 130 }, () => makeOutput(edLock(A), 1)), A.pub), A.priv);
    out.push(line(many, 'edge CREATE 130 outputs'));
    out.push(line(Transaction.signTransaction(Transaction.makeTransferTransaction(
        [{ tx: many, output_index: 129 }], [makeOutput(edLock(B), 1)], { i: 129 }), A.priv),
    'edge TRANSFER output_index 129'));
    out.push(line(Transaction.signTransaction(Transaction.makeCreateTransaction(
        { big: 'x'.repeat(100000) + '中'.repeat(3000) }, null, [makeOutput(edLock(A), 1)], A.pub), A.priv),
    'edge CREATE 110 kB string'));
    const nested = {};
    let cur = nested;
    for (let i = 0; i < 60; i++) { cur.n = [{}]; cur = cur.n[0]; }
    cur.end = true;
    out.push(line(Transaction.signTransaction(Transaction.makeCreateTransaction(
        nested, null, [makeOutput(edLock(A), 1)], A.pub), A.priv), 'edge CREATE data nested 60 deep'));
    return out;
}

const AMOUNT_MAX = 9000000000000000000n;

function randomLock(rng, keys) {
    const distinct = (k) => {
        const chosen = [];
        while (chosen.length < k) {
            const key = rng.pick(keys);
            if (!chosen.includes(key)) chosen.push(key);
        }
        return chosen;
    };
    const r = rng.float();
    if (r < 0.5) return edLock(rng.pick(keys));
    if (r < 0.8) return thrLock(2, distinct(2).map(edLock));
    if (r < 0.88) return thrLock(1, distinct(2).map(edLock));
    if (r < 0.95) return thrLock(2, distinct(3).map(edLock));
    const [a, b, c] = distinct(3);
    return thrLock(2, [edLock(a), thrLock(1, [edLock(b), edLock(c)])]);
}

function randomAmount(rng) {
    const r = rng.float();
    if (r < 0.6) return 1n;
    if (r < 0.85) return BigInt(rng.int(2, 1000));
    if (r < 0.95) return 1n + rng.big(AMOUNT_MAX);
    return AMOUNT_MAX;
}

// Splits total into k parts, each in [1, AMOUNT_MAX].
function splitAmount(rng, total, k) {
    const need = Number((total + AMOUNT_MAX - 1n) / AMOUNT_MAX);
    k = Math.max(k, need);
    if (BigInt(k) > total) k = Number(total);
    const parts = [];
    let rem = total;
    for (let i = 0; i < k - 1; i++) {
        const left = BigInt(k - 1 - i); // parts still to come after this one
        let lo = rem - left * AMOUNT_MAX; // keep the rest coverable
        if (lo < 1n) lo = 1n;
        let hi = rem - left; // leave at least 1 for each later part
        if (hi > AMOUNT_MAX) hi = AMOUNT_MAX;
        const p = lo + rng.big(hi - lo + 1n);
        parts.push(p);
        rem -= p;
    }
    parts.push(rem);
    return parts;
}

function randomMetadata(rng) {
    if (rng.chance(0.25)) return null;
    return randomObject(rng, 3, 1);
}

function randomAssetData(rng) {
    const r = rng.float();
    if (r < 0.08) return null;
    if (r < 0.11) return {};
    return randomObject(rng, 4, 1);
}

function generate(opts) {
    const rng = makeRng('ltdrs-interop/' + opts.seed);
    const keys = [];
    for (let i = 0; i < 24; i++) keys.push(keyFromSeed(rng.bytes(32)));
    keys.push(DOC_KEYS.alice, DOC_KEYS.bob);

    const lines = docTransactions().concat(edgeTransactions(rng, keys));
    const utxos = []; // {tx, index, lock, amount, asset}
    const counts = {};
    while (lines.length < opts.n) {
        const doTransfer = utxos.length > 0 && rng.chance(0.65);
        let tx;
        let kind;
        let newLocks;
        if (!doTransfer) {
            const issuer = rng.pick(keys);
            const nOut = rng.chance(0.7) ? 1 : rng.int(2, 4);
            newLocks = [];
            const outputs = [];
            for (let i = 0; i < nOut; i++) {
                const l = randomLock(rng, keys);
                newLocks.push(l);
                outputs.push(makeOutput(l, randomAmount(rng)));
            }
            const unsigned = Transaction.makeCreateTransaction(randomAssetData(rng), randomMetadata(rng), outputs, issuer.pub);
            tx = Transaction.signTransaction(unsigned, issuer.priv);
            kind = `CREATE out[${newLocks.map(lockName).join(',')}]`;
        } else {
            // Prefer recent outputs so that chains of transfers form.
            const first = rng.chance(0.6) ? utxos.length - 1 - rng.int(0, Math.min(10, utxos.length - 1)) : rng.int(0, utxos.length - 1);
            const asset = utxos[first].asset;
            const same = utxos.map((u, i) => i).filter((i) => i !== first && utxos[i].asset === asset);
            const nIn = 1 + Math.min(same.length, rng.chance(0.7) ? 0 : rng.int(1, 3));
            const picked = [first];
            while (picked.length < nIn) {
                const i = rng.pick(same);
                if (!picked.includes(i)) picked.push(i);
            }
            const spent = picked.map((i) => utxos[i]);
            for (const i of [...picked].sort((x, y) => y - x)) utxos.splice(i, 1);
            const total = spent.reduce((s, u) => s + u.amount, 0n);
            const parts = splitAmount(rng, total, rng.chance(0.6) ? 1 : rng.int(2, 3));
            newLocks = parts.map(() => randomLock(rng, keys));
            const outputs = parts.map((p, i) => makeOutput(newLocks[i], p));
            const unsigned = Transaction.makeTransferTransaction(
                spent.map((u) => ({ tx: u.tx, output_index: u.index })), outputs, randomMetadata(rng));
            tx = signTx(rng, unsigned, spent.map((u) => u.lock));
            kind = `TRANSFER in[${spent.map((u) => lockName(u.lock)).join(',')}] out[${newLocks.map(lockName).join(',')}]`;
        }
        const asset = tx.operation === 'CREATE' ? tx.id : tx.asset.id;
        tx.outputs.forEach((o, i) => utxos.push({ tx, index: i, lock: newLocks[i], amount: BigInt(o.amount), asset }));
        check(/^[0-9a-f]{64}$/.test(tx.id), 'id shape');
        lines.push(line(tx, kind));
        const k = kind.split(' ')[0] + (/[0-9]of[0-9]/.test(kind) ? '+threshold' : '');
        counts[k] = (counts[k] || 0) + 1;
    }
    return { lines, counts };
}

// ---------------------------------------------------------------- mismatches

// Transactions on which the driver and the reference server disagree (doc
// §2.2), plus a few the driver makes that the server refuses by schema.
function mismatches(opts) {
    const rng = makeRng('ltdrs-mismatch/' + opts.seed);
    const { alice, bob } = DOC_KEYS;
    const out = [];
    const create = (data, meta, kind, expect, issuers) => {
        const iss = issuers || [alice];
        const unsigned = Transaction.makeCreateTransaction(data, meta, [makeOutput(rng.chance(0.5) ? edLock(alice) : thrLock(2, [edLock(alice), edLock(bob)]), 1)],
            ...iss.map((k) => k.pub));
        const tx = Transaction.signTransaction(unsigned, ...iss.map((k) => k.priv));
        out.push(line(tx, kind, { expect }));
    };
    // The server reformats small floats and exponents (Python repr).
    create({ x: 0.00001 }, null, 'float 0.00001', 'InvalidHash');
    create({ x: 1.5e-7 }, null, 'float 1.5e-7', 'InvalidHash');
    create({ msg: 'tiny' }, { deep: [1, { v: -0.00005 }] }, 'float -0.00005 in metadata', 'InvalidHash');
    create({ x: 1e-7 }, null, 'float 1e-7', 'InvalidHash');
    create({ x: 0.000099 }, null, 'float 0.000099', 'InvalidHash');
    // rapidjson escapes control characters with uppercase hex.
    create({ s: 'a\u001fb' }, null, 'control U+001F', 'InvalidHash');
    create({ s: '\u000b' }, null, 'control U+000B', 'InvalidHash');
    create(null, { k: '\u0001\u001a' }, 'control U+0001 U+001A in metadata', 'InvalidHash');
    create({ 'k\u001e': 1 }, null, 'control U+001E in key', 'InvalidHash');
    // Key order: UTF-16 units (driver) vs code points (server).
    create({ '😀': 1, '｡': 2 }, null, 'keys 😀 vs ｡', 'InvalidHash');
    create({ msg: 'm' }, { '\u{10000}': 'a', '\ue000': 'b' }, 'keys U+10000 vs U+E000 in metadata', 'InvalidHash');
    create({ n: { 'x🚀': 1, 'x\uffff': 2 } }, null, 'nested keys x🚀 vs xU+FFFF', 'InvalidHash');
    create({ s: '\u000e\u000f' }, null, 'control U+000E U+000F', 'InvalidHash');
    // Accepted although the driver prints its own way.
    create({ x: 1e21 }, null, 'float 1e21', 'ok');
    create({ x: 1.5e300, y: -2e22 }, null, 'float 1.5e300 -2e22', 'ok');
    create({ x: 1.0 }, null, 'float 1.0 -> 1', 'ok');
    create({ x: -0 }, null, 'float -0 -> 0', 'ok');
    create({ x: 1e16, y: 100000.0 }, null, 'float 1e16 100000.0 -> integers', 'ok');
    create({ x: 0.0001 }, null, 'float 0.0001 (boundary)', 'ok');
    // Below 1e-99 both print a 3-digit exponent the same way (doc §2.2 says
    // "any |x| < 1e-4"; only exponents -5..-99 differ).
    create({ x: 5e-324, y: 1.5e-300 }, null, 'float 5e-324 1.5e-300', 'ok');
    // The driver builds them; the server's schema refuses them (doc §1.1, §6.3).
    create({ msg: 'two issuers' }, null, 'CREATE with two issuers (two inputs)', 'SchemaValidationError', [alice, bob]);
    create({ msg: 'empty metadata' }, {}, 'metadata {}', 'SchemaValidationError');
    // The driver builds them; the server's key, language and amount rules
    // refuse them (doc §1.4, §1.6 step 7).
    create({ 'a.b': 1 }, null, 'key with a dot', 'ValidationError');
    create({ msg: 'm' }, { $where: 1 }, 'metadata key starting with $', 'ValidationError');
    create({ nested: [{ language: 'klingon' }] }, null, 'language klingon', 'ValidationError');
    const amountCase = (amount, kind) => {
        const tx = Transaction.signTransaction(Transaction.makeCreateTransaction(
            { amount }, null, [makeOutput(edLock(alice), amount)], alice.pub), alice.priv);
        out.push(line(tx, kind, { expect: 'AmountError' }));
    };
    amountCase('0', 'amount 0');
    amountCase('9000000000000000001', 'amount 9e18+1');
    // The server accepts a CREATE without outputs (doc §1.1).
    out.push(line(Transaction.signTransaction(Transaction.makeCreateTransaction(
        { msg: 'no outputs' }, null, [], alice.pub), alice.priv), 'CREATE without outputs', { expect: 'ok' }));
    return out;
}

// ---------------------------------------------------------------- main

function main() {
    const opts = parseArgs(process.argv.slice(2));
    const { lines, counts } = generate(opts);
    fs.writeFileSync(opts.out, lines.join('\n') + '\n');
    const mm = mismatches(opts);
    fs.writeFileSync(opts.mismatch, mm.join('\n') + '\n');
    const summary = Object.entries(counts).map(([k, v]) => `${k}=${v}`).join(' ');
    process.stdout.write(`gen_driver_txs: ${lines.length} transactions (5 documented, 16 edge cases, ${summary}) -> ${opts.out}; ` +
                         `${mm.length} mismatch cases -> ${opts.mismatch}\n`);
}

main();

#!/usr/bin/env node
// scenario_http.js - the LTDRS scenario of the issue end to end through the HTTP API, every
// ledger change a BigchainDB 2.0 transaction built and signed with the official driver
// (bigchaindb-driver 4.3.0) and posted to POST /api/v1/transactions?mode=commit; every read
// and the login through the LTDRS API (/ltdrs/api/v1, docs/api.md).
//
//   node tests/js/scenario_http.js http://127.0.0.1:PORT DATA_DIR/admin.key
//
// 1. The scenario: roster import (codes of 96 random bits, sha256(sid:code)) -> 300 students
//    register with their own new keys (16 at a time) -> department 学习部 registers and is
//    certified -> applies for 一对一帮扶学习 (2020-06-28 .. 2020-08-01, A1 教学楼, 300 tickets)
//    -> the same activity again is refused (DuplicateActivity) -> the admin approves (ticket
//    CREATE of 300 to the department) -> the department distributes to 250 students read from
//    a CSV file (keys from /students/keys, outputs from /activities/{id}/outputs, TRANSFERs of
//    50 2-of-2 {student, department} outputs + change) -> every student sees their ticket ->
//    a student tries to pass a ticket on (co-signed by the department, and variants) ->
//    refused (TicketNotTransferable) -> the admin revokes one ticket -> the admin's report
//    (session login) shows 249 legal tickets for the activity, and the CSV export matches
//    the JSON report row by row.
// 2. Every rule of docs/ltdrs-records.md broken through the HTTP API (the rule's name must be
//    in the 400 message), and the access rules of the LTDRS API (401/403, challenge replay,
//    CSRF token, Origin).
//
// The driver throws away error bodies, so refused transactions are posted with fetch.
// Prints `scenario_http: N passed, M failed`; exit status 1 on any failure.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const crypto = require('crypto');
const { Connection, Transaction, Ed25519Keypair } = require('bigchaindb-driver');
const driverDir = path.dirname(require.resolve('bigchaindb-driver/package.json'));
const dep = (name) => require(require.resolve(name, { paths: [driverDir] }));
const cc = dep('crypto-conditions');
const bs58 = dep('bs58');
const { sha3_256 } = dep('js-sha3');
const nacl = dep('tweetnacl');

const base = (process.argv[2] || 'http://127.0.0.1:9984').replace(/\/$/, '');
const adminFile = process.argv[3];
if (!adminFile) {
    console.error('usage: scenario_http.js BASE_URL ADMIN_KEY_FILE');
    process.exit(2);
}
const adminJson = JSON.parse(fs.readFileSync(adminFile, 'utf8'));
const admin = { publicKey: adminJson.public_key, privateKey: adminJson.private_key };
const conn = new Connection(base + '/api/v1/');
const API = base + '/ltdrs/api/v1';

const N_STUDENTS = 300, N_DIST = 250, BATCH = 50, CONC = 16;
const ACT = {
    name: '一对一帮扶学习', start: '2020-06-28T08:00:00+08:00', end: '2020-08-01T18:00:00+08:00',
    venue: 'A1 教学楼', category: '学习',
};

// ------------------------------------------------------------------ checks
let passed = 0, failed = 0, nPos = 0, nNeg = 0, step = 'start';
const rulesSeen = new Set();
function check(cond, what, kind) {
    if (kind === 'neg') nNeg++;
    else nPos++;
    if (cond) passed++;
    else { failed++; console.error('FAIL [' + step + ']', what); }
    return cond;
}
const eq = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const show = (x) => JSON.stringify(x).slice(0, 400);

// ------------------------------------------------------------------ HTTP
async function http(method, p, opt = {}) {
    const h = Object.assign({}, opt.headers || {});
    let body;
    if (opt.body !== undefined) {
        h['Content-Type'] = 'application/json';
        body = typeof opt.body === 'string' ? opt.body : JSON.stringify(opt.body);
    }
    if (opt.cookie) h.Cookie = 'ltdrs_session=' + opt.cookie;
    if (opt.csrf) h['X-CSRF-Token'] = opt.csrf;
    if (opt.origin) h.Origin = opt.origin;
    const url = /^https?:/.test(p) ? p : API + p;
    const r = await fetch(url, { method, headers: h, body });
    const text = await r.text();
    let json = null;
    try { json = JSON.parse(text); } catch (e) { /* not JSON (CSV) */ }
    return { status: r.status, text, json, headers: r.headers };
}
const get = (p, opt) => http('GET', p, opt);

// Posts with fetch (the driver would drop the body of a 400).
async function postRaw(tx) {
    const r = await fetch(base + '/api/v1/transactions?mode=commit', {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(tx),
    });
    const text = await r.text();
    let json = null;
    try { json = JSON.parse(text); } catch (e) { /* keep text */ }
    return { status: r.status, text, json };
}

// A transaction that must be committed: posted with the driver (commit mode); on failure the
// node's message is fetched and the scenario stops.
async function commit(tx, what) {
    try {
        const r = await conn.postTransactionCommit(tx);
        if (r.id !== tx.id) throw new Error('the node echoed another id');
        return tx;
    } catch (e) {
        const r = await postRaw(tx);
        throw new Error(`${what}: not committed: ${e.status || ''} ${e.message}; node says ${r.status} ${r.text}`);
    }
}

// A transaction that breaks `rule`: 400 with "(<rule>)" in BigchainDB's error body.
async function refused(tx, rule, what) {
    const r = await postRaw(tx);
    const msg = (r.json && r.json.message) || r.text;
    const good = r.status === 400 && r.json && r.json.status === 400 &&
        typeof msg === 'string' && msg.startsWith('Invalid transaction') && msg.includes('(' + rule + ')');
    if (good) rulesSeen.add(rule);
    check(good, `${what}: want 400 (${rule}), got ${r.status} ${msg}`, 'neg');
}
// Refused by BigchainDB's own rules (signatures, spends), not by an LTDRS rule.
async function refusedBdb(tx, what, re) {
    const r = await postRaw(tx);
    const msg = (r.json && r.json.message) || r.text;
    check(r.status === 400 && (!re || re.test(msg)), `${what}: want 400 ${re || ''}, got ${r.status} ${msg}`, 'neg');
}

async function pool(items, n, fn) {
    const out = new Array(items.length);
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
        while (next < items.length) {
            const k = next++;
            out[k] = await fn(items[k], k);
        }
    }));
    return out;
}

// ------------------------------------------------------------------ transactions
const nonce = () => ({ nonce: crypto.randomBytes(12).toString('hex') });
const ed = (pk) => Transaction.makeEd25519Condition(pk, false);
const plain = (pk, amount = '1') => Transaction.makeOutput(Transaction.makeEd25519Condition(pk), String(amount));
const thr = (t, pks) => Transaction.makeThresholdCondition(t, pks.map(ed));
const twoOfTwo = (a, b, amount = '1') => Transaction.makeOutput(thr(2, [a, b]), String(amount));

// An LTDRS CREATE record signed by `key` (its single owner), metadata nonce; by default one
// record-token output of 1 to the signer.
function record(key, data, outputs) {
    const outs = outputs || [plain(key.publicKey)];
    return Transaction.signTransaction(Transaction.makeCreateTransaction(data, nonce(), outs, key.publicKey),
        key.privateKey);
}

// Signs every input: spec[i] is [key] for a plain ed25519 output or [k1, k2] for a 2-of-2
// output (a threshold fulfillment with both signatures, as a department and a student would
// produce together).
function signInputs(tx, spec) {
    return Transaction.delegateSignTransaction(tx, (serialized, input, index) => {
        const tail = input.fulfills ? input.fulfills.transaction_id + input.fulfills.output_index : '';
        const msg = Buffer.from(sha3_256(serialized + tail), 'hex');
        const keys = spec[index];
        const leaf = (k) => {
            const e = new cc.Ed25519Sha256();
            e.sign(msg, Buffer.from(bs58.decode(k.privateKey)));
            return e;
        };
        if (keys.length === 1) return leaf(keys[0]).serializeUri();
        const f = new cc.ThresholdSha256();
        f.setThreshold(keys.length);
        for (const k of keys) f.addSubfulfillment(leaf(k));
        return f.serializeUri();
    });
}

function transfer(inputs, outputs, metadata, spec) {
    return signInputs(Transaction.makeTransferTransaction(inputs, outputs, metadata), spec);
}
const distMeta = (sids) => ({ ltdrs: 'distribution', v: 1, students: sids });

// Login message signature (the raw UTF-8 text, never a digest).
function signText(text, key, enc = 'hex') {
    const kp = nacl.sign.keyPair.fromSeed(Uint8Array.from(bs58.decode(key.privateKey)));
    const sig = Buffer.from(nacl.sign.detached(Buffer.from(text, 'utf8'), kp.secretKey));
    return enc === 'hex' ? sig.toString('hex') : sig.toString('base64url');
}
async function challenge(origin = base) {
    const c = await http('POST', '/login/challenge', { origin });
    if (c.status !== 200) throw new Error('challenge: ' + c.status + ' ' + c.text);
    return c.json;
}
function cookieOf(r) {
    const sc = r.headers.get('set-cookie') || '';
    const m = /ltdrs_session=([0-9a-f]{64})/.exec(sc);
    return m ? m[1] : null;
}
async function loginWith(key, ch, sig, origin = base, cookie) {
    const r = await http('POST', '/login', {
        origin, cookie, body: { public_key: key.publicKey, challenge: ch.challenge, signature: sig },
    });
    return { status: r.status, json: r.json, text: r.text, cookie: cookieOf(r), setCookie: r.headers.get('set-cookie') };
}
async function login(key, enc = 'hex') {
    const ch = await challenge();
    const r = await loginWith(key, ch, signText(ch.message, key, enc));
    if (r.status !== 200 || !r.cookie) throw new Error('login failed: ' + r.status + ' ' + r.text);
    return { cookie: r.cookie, csrf: r.json.csrf_token, role: r.json.role, json: r.json };
}

// ------------------------------------------------------------------ CSV
function parseCsv(text) {
    const rows = [];
    let row = [], cell = '', i = 0, quoted = false;
    while (i < text.length) {
        const c = text[i];
        if (quoted) {
            if (c === '"' && text[i + 1] === '"') { cell += '"'; i += 2; continue; }
            if (c === '"') { quoted = false; i++; continue; }
            cell += c; i++; continue;
        }
        if (c === '"') { quoted = true; i++; continue; }
        if (c === ',') { row.push(cell); cell = ''; i++; continue; }
        if (c === '\r' && text[i + 1] === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; i += 2; continue; }
        if (c === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; i++; continue; }
        cell += c; i++;
    }
    if (cell !== '' || row.length) { row.push(cell); rows.push(row); }
    return rows;
}
const csvCell = (s) => (/[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s);

// ================================================================== the scenario
const S = {}; // state shared by the sections

async function scenario() {
    // ---- roster import: 300 students + 10 more for the rule tests
    step = 'roster';
    const people = [];
    for (let i = 1; i <= N_STUDENTS; i++) people.push(String(2020000 + i));
    const extra = [];
    for (let i = 901; i <= 910; i++) extra.push(String(2020000 + i));
    // activation codes: 12 random bytes (96 bits) in groups, handed out of band
    const codeOf = {};
    for (const sid of people.concat(extra)) {
        codeOf[sid] = crypto.randomBytes(12).toString('hex').toUpperCase().match(/.{4}/g).join('-');
    }
    const hashOf = (sid, code) => crypto.createHash('sha256').update(sid + ':' + code, 'utf8').digest('hex');
    const all = people.concat(extra);
    const rosterTxs = [all.slice(0, 160), all.slice(160)].map((part) => record(admin, {
        ltdrs: 'roster', v: 1, generation: 1, students: part.map((sid) => ({ sid, code_hash: hashOf(sid, codeOf[sid]) })),
    }));
    for (const t of rosterTxs) await commit(t, 'roster import');
    let r = await get('/students/2020001');
    check(r.status === 200 && r.json.on_roster === true && r.json.registered === false && r.json.key === null,
        'after the roster: 2020001 on the roster, not registered: ' + r.text);
    r = await get('/students/2029999');
    check(r.status === 404, 'a number on no roster: 404, got ' + r.status, 'neg');
    r = await get('/students/20%2001');
    check(r.status === 400, 'a malformed number: 400, got ' + r.status, 'neg');

    // ---- 300 students register, each with a new key, 16 at a time
    step = 'students';
    const students = {};
    const names = {};
    people.forEach((sid, i) => { names[sid] = '学生' + String(i + 1).padStart(3, '0'); });
    names['2020007'] = '=1+1'; // formula injection in the CSV export
    names['2020008'] = 'Li, "Lee"'; // RFC 4180 quoting
    const t0 = Date.now();
    await pool(people, CONC, async (sid) => {
        const key = new Ed25519Keypair();
        await commit(record(key, { ltdrs: 'student', v: 1, sid, code: codeOf[sid], name: names[sid] }), 'student ' + sid);
        students[sid] = key;
    });
    const regSecs = (Date.now() - t0) / 1000;
    const keysAll = await http('POST', '/students/keys', { body: people });
    check(keysAll.status === 200 && people.every((sid) => keysAll.json[sid] && keysAll.json[sid].status === 'ok' &&
        keysAll.json[sid].key === students[sid].publicKey),
    `all ${N_STUDENTS} students registered with their own keys (${regSecs.toFixed(1)} s)`);
    r = await get('/keys/' + students['2020001'].publicKey + '/role');
    check(r.status === 200 && r.json.role === 'student' && r.json.sid === '2020001', 'role of a student key: ' + r.text);

    // ---- the department registers and is certified
    step = 'department';
    const dept = new Ed25519Keypair();
    const deptTx = await commit(record(dept, { ltdrs: 'department', v: 1, name: '学习部', contact: 'xuexibu@example.edu.cn' }), 'department');
    r = await get('/departments');
    check(r.status === 200 && !JSON.stringify(r.json).includes(deptTx.id), 'a pending department is not listed publicly');
    await commit(record(admin, { ltdrs: 'certify', v: 1, department: deptTx.id, decision: 'approved', reason: '材料齐全' }), 'certify');
    r = await get('/departments');
    check(r.status === 200 && JSON.stringify(r.json).includes(deptTx.id) && JSON.stringify(r.json).includes('学习部'),
        'the certified department is listed: ' + show(r.json));

    // ---- it applies for the activity; the same activity again is refused
    step = 'application';
    const appData = Object.assign({ ltdrs: 'application', v: 1 }, ACT, { tickets: 300, description: '一对一帮扶学习，结对辅导' });
    const appTx = await commit(record(dept, appData), 'application');
    await refused(record(dept, appData), 'DuplicateActivity', 'the same activity applied for again');
    r = await get('/activities/' + appTx.id);
    check(r.status === 404, 'a pending activity is not public: ' + r.status, 'neg');

    // ---- the admin approves: the ticket asset, 300 to the department
    step = 'approve';
    const ticketData = Object.assign({ ltdrs: 'ticket', v: 1, application: appTx.id }, ACT);
    const ticketTx = await commit(record(admin, ticketData, [plain(dept.publicKey, '300')]), 'approval');
    r = await get('/activities/' + appTx.id);
    check(r.status === 200 && r.json.status === 'approved' && r.json.asset_id === ticketTx.id &&
        r.json.tickets.requested === 300 && r.json.tickets.approved === 300 && r.json.tickets.remaining === 300 &&
        r.json.department.name === '学习部', 'the approved activity: ' + show(r.json));

    // ---- distribution to 250 students from a CSV file, in batches of 50
    step = 'distribution';
    const chosen = people.slice().sort(() => Math.random() - 0.5).slice(0, N_DIST).sort();
    const csvFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ltdrs-scenario-')), '一对一帮扶学习.csv');
    fs.writeFileSync(csvFile, '\ufeffsid,name\r\n' + chosen.map((sid) => sid + ',' + csvCell(names[sid])).join('\r\n') + '\r\n');
    const csvRows = parseCsv(fs.readFileSync(csvFile, 'utf8').replace(/^\ufeff/, ''));
    fs.rmSync(path.dirname(csvFile), { recursive: true, force: true });
    const list = csvRows.slice(1).filter((row) => row[0]).map((row) => row[0].trim());
    check(eq(list, chosen), 'the CSV read back lists the 250 students');
    const keys = await http('POST', '/students/keys', { body: { sids: list, activity: appTx.id } });
    check(keys.status === 200 && list.every((sid) => keys.json[sid].status === 'ok' && keys.json[sid].key === students[sid].publicKey),
        'distribution preview: all 250 ok with their keys');
    const holding = {}; // sid -> ticket "<txid>:<index>"
    for (let b = 0; b < list.length; b += BATCH) {
        const part = list.slice(b, b + BATCH);
        const o = await get('/activities/' + appTx.id + '/outputs');
        if (o.status !== 200 || o.json.outputs.length !== 1 || o.json.department_key !== dept.publicKey) {
            throw new Error('department outputs: ' + o.text);
        }
        const out = o.json.outputs[0];
        const left = Number(out.amount) - part.length;
        const src = await conn.getTransaction(out.transaction_id);
        const outs = part.map((sid) => twoOfTwo(keys.json[sid].key, dept.publicKey));
        if (left > 0) outs.push(plain(dept.publicKey, left));
        const t = await commit(transfer([{ tx: src, output_index: out.output_index }], outs, distMeta(part), [[dept]]),
            'distribution batch ' + (b / BATCH + 1));
        part.forEach((sid, i) => { holding[sid] = t.id + ':' + i; });
        S.lastDist = t;
    }
    r = await get('/activities/' + appTx.id + '/outputs');
    check(r.status === 200 && r.json.outputs.length === 1 && r.json.outputs[0].amount === '50' && r.json.remaining === 50,
        'the department keeps 50 tickets: ' + show(r.json));

    // ---- the students see their tickets
    step = 'students see';
    const bad = [];
    await pool(people, CONC, async (sid) => {
        const s = await get('/students/' + sid);
        const j = s.json;
        if (holding[sid]) {
            const t = j && j.tickets && j.tickets[0];
            const ok = s.status === 200 && j.registered && j.legal_tickets === 1 && j.tickets.length === 1 &&
                t.legal === true && t.why_not === null && t.ticket === holding[sid] && t.holder === 'student' &&
                t.sid === sid && t.student_key === students[sid].publicKey && t.amount === 1 &&
                t.activity.id === appTx.id && t.activity.name === ACT.name && t.activity.start === ACT.start &&
                t.activity.end === ACT.end && t.activity.venue === ACT.venue && t.activity.category === ACT.category &&
                t.activity.closed === false && t.department.id === deptTx.id && t.department.name === '学习部' &&
                eq(t.history.map((h) => h.event), ['approved', 'distributed']);
            if (!ok) bad.push(sid + ' ' + s.status + ' ' + show(j));
        } else if (!(s.status === 200 && j.registered && j.legal_tickets === 0 && j.tickets.length === 0)) {
            bad.push(sid + ' ' + s.status + ' ' + show(j));
        }
    });
    check(bad.length === 0, `250 students see one legal ticket with the activity, 50 see none: ${bad.length} wrong, e.g. ${bad.slice(0, 3).join(' | ')}`);
    r = await get('/tickets/' + holding[list[0]]);
    check(r.status === 200 && r.json.legal === true && r.json.sid === list[0], 'the public ticket page: ' + show(r.json));

    // ---- a student tries to pass the ticket to another student
    step = 'no trading';
    const A = list[0];
    const C = people.find((sid) => !holding[sid]); // registered, no ticket
    const outsider = new Ed25519Keypair();
    const [aTx, aIdx] = holding[A].split(':');
    const aSrc = await conn.getTransaction(aTx);
    const aIn = [{ tx: aSrc, output_index: Number(aIdx) }];
    const sA = students[A], sC = students[C];
    const both = [[sA, dept]];
    await refused(transfer(aIn, [twoOfTwo(sC.publicKey, dept.publicKey)], distMeta([C]), both),
        'TicketNotTransferable', 'student A -> 2-of-2 {C, department}, co-signed by A and the department');
    await refused(transfer(aIn, [twoOfTwo(sC.publicKey, dept.publicKey)], null, both),
        'TicketNotTransferable', 'the same without LTDRS metadata');
    await refused(transfer(aIn, [twoOfTwo(sC.publicKey, dept.publicKey)], { ltdrs: 'return', v: 1 }, both),
        'TicketNotTransferable', 'the same labelled as a return');
    await refused(transfer(aIn, [plain(sC.publicKey)], null, both),
        'TicketNotTransferable', 'A -> C\'s single key');
    await refused(transfer(aIn, [Transaction.makeOutput(thr(1, [sC.publicKey, dept.publicKey]), '1')], null, both),
        'TicketNotTransferable', 'A -> 1-of-2 {C, department}');
    await refused(transfer(aIn, [twoOfTwo(sC.publicKey, outsider.publicKey)], null, both),
        'TicketNotTransferable', 'A -> 2-of-2 {C, substituted key}');
    await refused(transfer(aIn, [twoOfTwo(dept.publicKey, sC.publicKey)], distMeta([C]), both),
        'TicketNotTransferable', 'A -> 2-of-2 {department, C} (order swapped)');
    await refused(transfer(aIn, [plain(sA.publicKey)], null, both),
        'TicketNotTransferable', 'A -> A\'s own single key');
    await refused(transfer(aIn, [plain(outsider.publicKey)], null, both),
        'TicketNotTransferable', 'A -> an outsider (sold)');
    await refusedBdb(transfer(aIn, [twoOfTwo(sC.publicKey, dept.publicKey)], distMeta([C]), [[sA]]),
        'A alone signs the 2-of-2 input (single key)', /\(InvalidSignature\)/);
    await refusedBdb(transfer(aIn, [twoOfTwo(sC.publicKey, dept.publicKey)], distMeta([C]), [[sA, sC]]),
        'A and C co-sign A\'s 2-of-2 input (substituted signer)', /\(InvalidSignature\)/);
    await refusedBdb(transfer(aIn, [twoOfTwo(sC.publicKey, dept.publicKey)], distMeta([C]), [[dept]]),
        'the department alone signs A\'s 2-of-2 input', /\(InvalidSignature\)/);
    r = await get('/students/' + A);
    const r2 = await get('/students/' + C);
    check(r.json.legal_tickets === 1 && r.json.tickets[0].ticket === holding[A] && r2.json.tickets.length === 0,
        'after the attempts A still holds the ticket and C has none');

    // ---- the admin revokes one ticket
    step = 'revoke';
    const R = list[2];
    await commit(record(admin, { ltdrs: 'revocation', v: 1, ticket: holding[R], reason: '未到场，代签' }), 'revocation');
    r = await get('/students/' + R);
    check(r.status === 200 && r.json.legal_tickets === 0 && r.json.tickets.length === 1 && r.json.tickets[0].legal === false &&
        /^revoked: 未到场/.test(r.json.tickets[0].why_not) &&
        eq(r.json.tickets[0].history.map((h) => h.event), ['approved', 'distributed', 'revoked']),
    'the revoked ticket is listed, not legal, with its history: ' + show(r.json));

    Object.assign(S, { people, extra, codeOf, hashOf, students, names, dept, deptTx, appTx, ticketTx, list, holding, A, C, R, outsider });
    await report();
}

// ---- the admin's report and CSV export for the activity
async function report(again) {
    step = again ? 'report again' : 'report';
    const { appTx, holding, R, people, extra, names } = S;
    const adm = S.adminSession || (S.adminSession = await login(admin));
    check(adm.role === 'admin', 'admin login through the session API: ' + show(adm.json));
    const want = {}; // sid -> legal tickets of this activity
    for (const sid of people.concat(extra)) want[sid] = holding[sid] && sid !== R ? 1 : 0;
    const q = '/students?activity=' + appTx.id;
    const j = await get(q + '&per_page=1000', { cookie: adm.cookie });
    const rows = j.json && j.json.students;
    check(j.status === 200 && j.json.total === people.length + extra.length && rows.length === j.json.total,
        `report for the activity lists everyone on the roster (${people.length + extra.length}): ${j.status} total ${j.json && j.json.total}`);
    const ones = rows.filter((x) => x.legal_tickets === 1).length;
    const zeros = rows.filter((x) => x.legal_tickets === 0).length;
    check(ones === 249 && zeros === rows.length - 249 && rows.every((x) => x.legal_tickets === want[x.sid]),
        `report: 249 students with 1 legal ticket, the others 0 (got ${ones} / ${zeros})`);
    check(eq(rows.map((x) => x.sid), rows.map((x) => x.sid).slice().sort()), 'report sorted by student number');
    const nz = await get(q + '&nonzero=true&per_page=1000', { cookie: adm.cookie });
    check(nz.status === 200 && nz.json.total === 249 && nz.json.students.every((x) => x.legal_tickets === 1),
        'report nonzero=true: 249 rows: ' + (nz.json && nz.json.total));
    const act = await get('/activities/' + appTx.id, { cookie: adm.cookie });
    const tk = act.json && act.json.tickets;
    check(act.status === 200 && tk.requested === 300 && tk.approved === 300 && tk.distributed === 250 &&
        tk.revoked === 1 && tk.returned === 0 && tk.legal === 249 && tk.remaining === 50 && tk.lapsed === 0,
    'activity figures: ' + show(tk));
    const csv = await get(q + '&format=csv', { cookie: adm.cookie });
    check(csv.status === 200 && /^text\/csv; charset=utf-8/.test(csv.headers.get('content-type')) &&
        /attachment; filename="ltdrs-students.csv"/.test(csv.headers.get('content-disposition') || ''),
    'CSV export: status and headers: ' + csv.status + ' ' + csv.headers.get('content-type'));
    check(/^sid,name,legal_tickets\r\n/.test(csv.text) && csv.text.endsWith('\r\n') && !/[^\r]\n/.test(csv.text),
        'CSV: header and CRLF lines');
    const crow = parseCsv(csv.text);
    const data = crow.slice(1);
    const mism = [];
    const csvName = (n) => (n && /^[=+\-@\t\r]/.test(n) ? "'" + n : (n || ''));
    for (let i = 0; i < Math.max(data.length, rows.length); i++) {
        const c = data[i], x = rows[i];
        if (!c || !x || c.length !== 3 || c[0] !== x.sid || c[1] !== csvName(x.name) || Number(c[2]) !== x.legal_tickets) {
            mism.push(i + ': ' + JSON.stringify(c) + ' vs ' + JSON.stringify(x));
        }
    }
    check(mism.length === 0 && data.length === rows.length,
        `CSV rows equal the JSON report row by row (${data.length} rows): ${mism.slice(0, 3).join(' | ')}`);
    check(data.filter((c) => c[2] === '1').length === 249 && data.filter((c) => c[2] === '0').length === data.length - 249,
        'CSV: 249 rows with 1, the rest 0');
    const inj = data.find((c) => c[0] === '2020007'), quo = data.find((c) => c[0] === '2020008');
    check(inj && inj[1] === "'=1+1" && names['2020007'] === '=1+1', 'CSV: a name starting with = gets a leading apostrophe: ' + JSON.stringify(inj));
    check(quo && quo[1] === 'Li, "Lee"' && csv.text.includes('"Li, ""Lee"""'), 'CSV: RFC 4180 quoting: ' + JSON.stringify(quo));
    const hist = await get('/stats/histogram?activity=' + appTx.id, { cookie: adm.cookie });
    check(hist.status === 200 && hist.json.buckets[1] === 249 && hist.json.buckets[0] === rows.length - 249,
        'histogram for the activity: ' + show(hist.json));
}

// ================================================================== every rule, broken
async function rules() {
    const { people, extra, codeOf, hashOf, students, dept, deptTx, appTx, ticketTx, list, holding, R, outsider } = S;
    const zero = '0'.repeat(64);
    const s1 = students['2020001'];

    step = 'rules: roster';
    const rosterOf = (gen, entries) => ({ ltdrs: 'roster', v: 1, generation: gen, students: entries });
    const ent = (sid, code = 'C0DE-' + sid) => ({ sid, code_hash: hashOf(sid, code) });
    await refused(record(outsider, rosterOf(1, [ent('2029001')])), 'NotAdmin', 'roster signed by an outsider');
    await refused(record(dept, rosterOf(1, [ent('2029001')])), 'NotAdmin', 'roster signed by a department');
    await refused(record(admin, rosterOf(1, [ent('20 01')])), 'BadStudentNumber', 'roster with "20 01"');
    await refused(record(admin, rosterOf(1, [ent('x'.repeat(33))])), 'BadStudentNumber', 'roster with a 33-character number');
    await refused(record(admin, rosterOf(1, [ent('学号1')])), 'BadStudentNumber', 'roster with a non-ASCII number');
    await refused(record(admin, rosterOf(1, [ent('2029001'), ent('2029001')])), 'DuplicateRosterEntry', 'a number twice in one roster');
    await refused(record(admin, rosterOf(1, [ent('2020902')])), 'DuplicateRosterEntry', 'an unregistered number again in generation 1');
    await refused(record(admin, rosterOf(3, [ent('2029002'), ent('2020004')])), 'StudentAlreadyBound', 'a bound number in a later roster');
    await refused(record(admin, rosterOf(2, [ent('2020002')])), 'StudentAlreadyBound', 'a bound number re-listed in generation 2');
    await refused(record(admin, rosterOf(0, [ent('2029003')])), 'BadRecord', 'roster generation 0');
    await refused(record(admin, rosterOf(1, [])), 'BadRecord', 'an empty roster');
    await refused(record(admin, rosterOf(1, [{ sid: '2029004', code_hash: 'abc' }])), 'BadRecord', 'a code hash that is not 64 hex');
    await refused(record(admin, rosterOf(1, [{ sid: '2029004', code: 'plain' }])), 'BadRecord', 'a roster entry with the code in clear');
    // a new code for an unregistered number: a later generation (allowed)
    await commit(record(admin, rosterOf(2, [ent('2020910', 'NEW-CODE-910')])), 'roster generation 2 for 2020910');
    await refused(record(new Ed25519Keypair(), { ltdrs: 'student', v: 1, sid: '2020910', code: codeOf['2020910'] }),
        'BadActivationCode', 'the old code after a new generation');
    await refused(record(admin, rosterOf(2, [ent('2020910', 'NEWER')])), 'DuplicateRosterEntry', 'the same generation 2 again');
    await refused(record(admin, rosterOf(1, [ent('2020910', 'OLDER')])), 'DuplicateRosterEntry', 'an older generation');
    await commit(record(new Ed25519Keypair(), { ltdrs: 'student', v: 1, sid: '2020910', code: 'NEW-CODE-910' }),
        '2020910 registers with the code of generation 2');

    step = 'rules: students';
    const stu = (sid, code, extraFields) => Object.assign({ ltdrs: 'student', v: 1, sid, code }, extraFields || {});
    await refused(record(new Ed25519Keypair(), stu('2029999', 'X')), 'StudentNotOnRoster', 'a number on no roster registers');
    await refused(record(new Ed25519Keypair(), stu('2020901', 'WRONG-CODE')), 'BadActivationCode', 'a wrong activation code');
    await refused(record(new Ed25519Keypair(), stu('2020901', codeOf['2020901'].toLowerCase())), 'BadActivationCode', 'the code in lower case');
    await refused(record(new Ed25519Keypair(), stu('2020001', codeOf['2020001'])), 'StudentAlreadyBound', 'a second key for a bound number (right code)');
    await refused(record(s1, stu('2020901', codeOf['2020901'])), 'KeyAlreadyBound', 'a bound student key registers another number');
    await refused(record(dept, stu('2020901', codeOf['2020901'])), 'KeyAlreadyBound', 'a department key registers as a student');
    await refused(record(admin, stu('2020901', codeOf['2020901'])), 'KeyAlreadyBound', 'the admin key registers as a student');
    await refused(record(new Ed25519Keypair(), stu('a/b', 'X')), 'BadStudentNumber', 'student record with a malformed number');
    await refused(record(new Ed25519Keypair(), stu('2020901', codeOf['2020901'], { class: '1班' })), 'BadRecord', 'student record with an unknown field');
    await refused(record(new Ed25519Keypair(), { ltdrs: 'student', v: 2, sid: '2020901', code: codeOf['2020901'] }), 'BadRecord', 'student record v 2');
    await refused(record(new Ed25519Keypair(), { ltdrs: 'student', v: 1, sid: '2020901' }), 'BadRecord', 'student record without a code');
    {
        const k = new Ed25519Keypair();
        await refused(record(k, stu('2020901', codeOf['2020901']), [plain(admin.publicKey)]), 'BadRecord', 'record token paid to someone else');
        await refused(record(k, stu('2020901', codeOf['2020901']), [plain(k.publicKey, '2')]), 'BadRecord', 'record token of amount 2');
        await refused(record(k, stu('2020901', codeOf['2020901']), [plain(k.publicKey), plain(k.publicKey)]), 'BadRecord', 'two record tokens');
        // two signers on one record (a 2-of-2 CREATE input signed by both)
        const k2 = new Ed25519Keypair();
        const two = Transaction.makeCreateTransaction(stu('2020901', codeOf['2020901']), nonce(), [plain(k.publicKey)], k.publicKey);
        two.inputs[0].owners_before = [k.publicKey, k2.publicKey];
        await refused(signInputs(two, [[k, k2]]), 'BadRecord', 'a record with two owners_before (2-of-2 input)');
        const twoIn = Transaction.makeCreateTransaction(stu('2020901', codeOf['2020901']), nonce(), [plain(k.publicKey)], k.publicKey, k2.publicKey);
        await refusedBdb(signInputs(twoIn, [[k], [k2]]), 'a record with two inputs', /exactly one input/);
    }

    step = 'rules: unbind';
    const unb = (sid, code) => ({ ltdrs: 'unbind', v: 1, sid, reason: '丢失密钥', code_hash: hashOf(sid, code) });
    await refused(record(outsider, unb('2020001', 'X')), 'NotAdmin', 'unbind signed by an outsider');
    await refused(record(students['2020001'], unb('2020001', 'X')), 'NotAdmin', 'a student unbinds their own number');
    await refused(record(admin, unb('2020902', 'X')), 'StudentNotBound', 'unbind a number that never registered');
    await refused(record(admin, unb('2029999', 'X')), 'StudentNotBound', 'unbind a number on no roster');
    await refused(record(admin, unb('2020 1', 'X')), 'BadStudentNumber', 'unbind a malformed number');
    // register 2020903, unbind it, the old key stays used, a new key registers with the new code
    const old903 = new Ed25519Keypair();
    await commit(record(old903, stu('2020903', codeOf['2020903'])), 'register 2020903');
    await commit(record(admin, unb('2020903', 'NEW-903')), 'unbind 2020903');
    await refused(record(admin, unb('2020903', 'NEW-903-2')), 'StudentNotBound', 'unbind an unbound number again');
    await refused(record(old903, stu('2020903', 'NEW-903')), 'KeyAlreadyBound', 'the unbound key registers again');
    await refused(record(new Ed25519Keypair(), stu('2020903', codeOf['2020903'])), 'BadActivationCode', 'the old code after an unbind');
    const new903 = new Ed25519Keypair();
    await commit(record(new903, stu('2020903', 'NEW-903')), 're-register 2020903 with the new code');
    let r = await get('/students/2020903');
    check(r.status === 200 && r.json.registered && r.json.key === new903.publicKey, '2020903 bound to its new key: ' + show(r.json));
    S.old903 = old903;

    step = 'rules: departments';
    const depRec = (name) => ({ ltdrs: 'department', v: 1, name, contact: 'c@example.edu.cn' });
    await refused(record(new Ed25519Keypair(), depRec('学习部')), 'DuplicateDepartment', 'a second 学习部');
    await refused(record(new Ed25519Keypair(), depRec('  学习部\u3000')), 'DuplicateDepartment', '学习部 with spaces around');
    await refused(record(s1, depRec('篮球社')), 'KeyAlreadyBound', 'a student key registers a department');
    await refused(record(dept, depRec('学习部二')), 'KeyAlreadyBound', 'a department key registers a second department');
    await refused(record(admin, depRec('校办')), 'KeyAlreadyBound', 'the admin key registers a department');
    await refused(record(new Ed25519Keypair(), depRec('   ')), 'BadRecord', 'a department name of spaces');
    await refused(record(new Ed25519Keypair(), { ltdrs: 'department', v: 1, name: '无联系方式' }), 'BadRecord', 'a department without contact');
    await refused(record(new Ed25519Keypair(), depRec('x'.repeat(201))), 'BadRecord', 'a department name of 201 bytes');
    const sport = new Ed25519Keypair(), art = new Ed25519Keypair(), outreach = new Ed25519Keypair();
    const sportTx = await commit(record(sport, depRec('体育部')), 'department 体育部');
    const artTx = await commit(record(art, depRec('文艺部')), 'department 文艺部 (stays pending)');
    const outTx = await commit(record(outreach, depRec('外联部')), 'department 外联部');
    const cert = (id, decision, reason) => Object.assign({ ltdrs: 'certify', v: 1, department: id, decision }, reason ? { reason } : {});
    await refused(record(outsider, cert(sportTx.id, 'approved')), 'NotAdmin', 'certify signed by an outsider');
    await refused(record(dept, cert(sportTx.id, 'approved')), 'NotAdmin', 'a department certifies another');
    await refused(record(sport, cert(sportTx.id, 'approved')), 'NotAdmin', 'a department certifies itself');
    await refused(record(admin, cert(zero, 'approved')), 'UnknownDepartment', 'certify an unknown id');
    await refused(record(admin, cert(appTx.id, 'approved')), 'UnknownDepartment', 'certify an application id');
    await refused(record(admin, cert(sportTx.id, 'maybe')), 'BadRecord', 'certify with decision "maybe"');
    await refused(record(admin, cert('XYZ', 'approved')), 'BadRecord', 'certify with a malformed id');
    await commit(record(admin, cert(sportTx.id, 'approved', 'ok')), 'certify 体育部');
    await commit(record(admin, cert(outTx.id, 'rejected', '材料不全')), 'reject 外联部');
    await refused(record(admin, cert(deptTx.id, 'rejected', '改主意')), 'AlreadyDecided', 'certify 学习部 again');
    await refused(record(admin, cert(outTx.id, 'approved', '补齐')), 'AlreadyDecided', 'approve a rejected department');
    // the name of a rejected department is free again
    const outreach2 = new Ed25519Keypair();
    await commit(record(outreach2, depRec('外联部')), 'a new 外联部 after the rejection');
    S.sport = sport;
    S.art = art;
    S.outreach = outreach;

    step = 'rules: applications';
    const app = (fields) => Object.assign({ ltdrs: 'application', v: 1 }, ACT, { tickets: 20, description: 'd' }, fields);
    await refused(record(art, app({ name: '迎新晚会' })), 'DepartmentNotCertified', 'a pending department applies');
    await refused(record(outreach, app({ name: '企业参访' })), 'DepartmentNotCertified', 'a rejected department applies');
    await refused(record(s1, app({ name: '自习' })), 'DepartmentNotCertified', 'a student applies');
    await refused(record(admin, app({ name: '校庆' })), 'DepartmentNotCertified', 'the admin applies');
    await refused(record(outsider, app({ name: '黑市' })), 'DepartmentNotCertified', 'an outsider applies');
    await refused(record(dept, app({ name: '读书会', start: ACT.end, end: ACT.start })), 'BadActivityTime', 'end before start');
    await refused(record(dept, app({ name: '读书会', start: '2020-06-28T08:00:00' })), 'BadActivityTime', 'a time without a zone');
    await refused(record(dept, app({ name: '读书会', start: '2020-06-28' })), 'BadActivityTime', 'a date without a time');
    await refused(record(dept, app({ name: '读书会', end: '2020-02-30T18:00:00+08:00' })), 'BadActivityTime', 'February 30');
    await refused(record(dept, app({ name: '读书会', tickets: 0 })), 'BadTicketCount', '0 tickets');
    await refused(record(dept, app({ name: '读书会', tickets: 100001 })), 'BadTicketCount', '100,001 tickets');
    await refused(record(dept, app({ name: '读书会', tickets: '20' })), 'BadRecord', 'tickets as a string');
    await refused(record(dept, app({ name: ' 一对一帮扶学习  ' })), 'DuplicateActivity', 'the same activity with other spacing');
    await refused(record(dept, app({ name: '一对一帮扶学习', start: '2020-06-28T00:00:00Z' })), 'DuplicateActivity', 'the same start written in UTC');
    await refused(record(dept, app({ name: '一对一帮扶学习', tickets: 10, category: '其他' })), 'DuplicateActivity', 'the same activity with other tickets and category');
    await refused(record(dept, app({ name: '读书会', venue: 'x'.repeat(201) })), 'BadRecord', 'a venue of 201 bytes');
    await refused(record(dept, app({ name: '读书会', room: '101' })), 'BadRecord', 'an application with an unknown field');
    // the same name at another venue is another activity; another department may use the name
    const app2Tx = await commit(record(dept, app({ name: '读书会' })), 'application 读书会');
    const app3Tx = await commit(record(dept, app({ name: '一对一帮扶学习', venue: 'B2 实验楼' })), 'same name, other venue');
    await commit(record(sport, app({ name: '一对一帮扶学习' })), 'same activity by another department');

    step = 'rules: decisions';
    const dec = (id, reason = '场地冲突') => ({ ltdrs: 'decision', v: 1, application: id, decision: 'rejected', reason });
    await refused(record(outsider, dec(app3Tx.id)), 'NotAdmin', 'a decision signed by an outsider');
    await refused(record(dept, dec(app3Tx.id)), 'NotAdmin', 'a department rejects its own application');
    await refused(record(admin, dec(zero)), 'UnknownApplication', 'reject an unknown application');
    await refused(record(admin, dec(deptTx.id)), 'UnknownApplication', 'reject a department record id');
    await refused(record(admin, Object.assign(dec(app3Tx.id), { decision: 'approved' })), 'BadRecord', 'a decision that approves');
    await refused(record(admin, dec(app3Tx.id, '')), 'BadRecord', 'a rejection without a reason');
    await refused(record(admin, dec(appTx.id)), 'AlreadyDecided', 'reject an approved application');
    await commit(record(admin, dec(app3Tx.id)), 'reject the B2 application');
    await refused(record(admin, dec(app3Tx.id, 'again')), 'AlreadyDecided', 'reject twice');
    await commit(record(dept, app({ name: '一对一帮扶学习', venue: 'B2 实验楼' })), 'file the rejected activity again');

    step = 'rules: approval';
    const tick = (id, fields) => Object.assign({ ltdrs: 'ticket', v: 1, application: id }, ACT, { name: '读书会' }, fields || {});
    const to = (pk, n) => [plain(pk, String(n))];
    await refused(record(outsider, tick(app2Tx.id), to(dept.publicKey, 20)), 'NotAdmin', 'tickets issued by an outsider');
    await refused(record(dept, tick(app2Tx.id), to(dept.publicKey, 20)), 'NotAdmin', 'a department issues its own tickets');
    await refused(record(admin, tick(zero), to(dept.publicKey, 20)), 'UnknownApplication', 'tickets for an unknown application');
    await refused(record(admin, tick(app2Tx.id), to(dept.publicKey, 21)), 'OverQuota', '21 tickets for 20 requested');
    await refused(record(admin, tick(app2Tx.id), to(admin.publicKey, 20)), 'BadTicketOutput', 'tickets paid to the admin');
    await refused(record(admin, tick(app2Tx.id), to(sport.publicKey, 20)), 'BadTicketOutput', 'tickets paid to another department');
    await refused(record(admin, tick(app2Tx.id), [plain(dept.publicKey, 10), plain(dept.publicKey, 10)]), 'BadTicketOutput', 'tickets in two outputs');
    await refused(record(admin, tick(app2Tx.id), [twoOfTwo(dept.publicKey, admin.publicKey, '20')]), 'BadTicketOutput', 'tickets to a 2-of-2 {department, admin}');
    await refused(record(admin, tick(app2Tx.id, { name: '读书会 ' }), to(dept.publicKey, 20)), 'ActivityMismatch', 'ticket name differs');
    await refused(record(admin, tick(app2Tx.id, { venue: 'B2' }), to(dept.publicKey, 20)), 'ActivityMismatch', 'ticket venue differs');
    await refused(record(admin, tick(app2Tx.id, { start: '2020-06-28T00:00:00Z' }), to(dept.publicKey, 20)), 'ActivityMismatch', 'ticket start spelled otherwise');
    await refused(record(admin, tick(app2Tx.id, { category: '其他' }), to(dept.publicKey, 20)), 'ActivityMismatch', 'ticket category differs');
    await refused(record(admin, tick(app2Tx.id, { tickets: 20 }), to(dept.publicKey, 20)), 'BadRecord', 'ticket record with a tickets field');
    const t2 = await commit(record(admin, tick(app2Tx.id), to(dept.publicKey, 20)), 'approve 读书会 with 20');
    await refused(record(admin, tick(app2Tx.id), to(dept.publicKey, 20)), 'AlreadyDecided', 'approve twice');
    await refused(record(admin, tick(appTx.id, { name: ACT.name }), to(dept.publicKey, 300)), 'AlreadyDecided', 'approve the main activity twice');
    await refused(record(admin, dec(app2Tx.id)), 'AlreadyDecided', 'reject after the approval');

    step = 'rules: distribution';
    const P = people.filter((sid) => !holding[sid]); // registered, without a main ticket
    const [p1, p2, p3, p4] = P;
    const k = (sid) => students[sid].publicKey;
    const d = dept.publicKey;
    const in2 = [{ tx: t2, output_index: 0 }];
    const D = (outs, meta) => transfer(in2, outs, meta, [[dept]]);
    const ch = (n) => plain(d, n);
    await refused(D([plain(k(p1)), ch(19)], distMeta([p1])), 'TicketNotTransferable', 'a single-key student output');
    await refused(D([Transaction.makeOutput(thr(1, [k(p1), d]), '1'), ch(19)], distMeta([p1])), 'TicketNotTransferable', 'a 1-of-2 {student, department} output');
    await refused(D([twoOfTwo(k(p1), outsider.publicKey), ch(19)], distMeta([p1])), 'TicketNotTransferable', 'a 2-of-2 {student, substituted key} output');
    await refused(D([twoOfTwo(k(p1), k(p2)), ch(19)], distMeta([p1])), 'TicketNotTransferable', 'a 2-of-2 {student, student} output');
    await refused(D([twoOfTwo(d, d), ch(19)], distMeta([p1])), 'TicketNotTransferable', 'a 2-of-2 {department, department} output');
    await refused(D([Transaction.makeOutput(thr(2, [k(p1), d, outsider.publicKey]), '1'), ch(19)], distMeta([p1])),
        'TicketNotTransferable', 'a 2-of-3 {student, department, outsider} output');
    const nested = Transaction.makeThresholdCondition(2, [ed(k(p1)), Transaction.makeThresholdCondition(1, [ed(d), ed(k(p1))], false)]);
    await refused(D([Transaction.makeOutput(nested, '1'), ch(19)], distMeta([p1])), 'TicketNotTransferable', 'a nested threshold output');
    await refused(D([twoOfTwo(k(p1), d, '2'), ch(18)], distMeta([p1])), 'TicketNotTransferable', 'two tickets in one student output');
    await refused(D([twoOfTwo(k(p1), d), plain(outsider.publicKey, 19)], distMeta([p1])), 'TicketNotTransferable', 'change paid to an outsider');
    await refused(D([twoOfTwo(k(p1), d), plain(sport.publicKey, 19)], distMeta([p1])), 'TicketNotTransferable', 'change paid to another department');
    await refused(D([twoOfTwo(k(p2), d), ch(19)], distMeta([p1])), 'StudentKeyMismatch', 'p2\'s key listed as p1');
    await refused(D([twoOfTwo(S.old903.publicKey, d), ch(19)], distMeta(['2020903'])), 'StudentKeyMismatch', 'the unbound old key of 2020903');
    await refused(D([twoOfTwo(outsider.publicKey, d), ch(19)], distMeta(['2020902'])), 'StudentNotRegistered', 'a roster number that never registered');
    await refused(D([twoOfTwo(outsider.publicKey, d), ch(19)], distMeta(['2029999'])), 'StudentNotRegistered', 'a number on no roster');
    await refused(D([twoOfTwo(k(p1), d), ch(19)], distMeta(['p 1'])), 'BadStudentNumber', 'a malformed number in the list');
    await refused(D([twoOfTwo(k(p1), d), twoOfTwo(k(p2), d), ch(18)], distMeta([p1])), 'BadRecord', 'fewer numbers than student outputs');
    await refused(D([twoOfTwo(k(p1), d), ch(19)], distMeta([p1, p2])), 'BadRecord', 'more numbers than student outputs');
    await refused(D([twoOfTwo(k(p1), d), ch(19)], null), 'BadRecord', 'a distribution without metadata');
    await refused(D([twoOfTwo(k(p1), d), ch(19)], { ltdrs: 'distribution', v: 1, students: [p1], note: 'x' }), 'BadRecord', 'distribution metadata with an unknown field');
    await refused(D([twoOfTwo(k(p1), d), ch(19)], { ltdrs: 'distribution', v: 2, students: [p1] }), 'BadRecord', 'distribution v 2');
    await refused(D([twoOfTwo(k(p1), d), ch(19)], { ltdrs: 'gift', v: 1 }), 'BadRecord', 'an unknown TRANSFER kind');
    await refused(D([ch(20)], { ltdrs: 'return', v: 1 }), 'BadRecord', 'department-held tickets "returned"');
    await refused(D([twoOfTwo(k(p1), d), twoOfTwo(k(p1), d), ch(18)], distMeta([p1, p1])), 'StudentAlreadyHasTicket', 'a student twice in one distribution');
    await refusedBdb(transfer(in2, [twoOfTwo(k(p1), d), ch(19)], distMeta([p1]), [[sport]]), 'another department signs 学习部\'s tickets', /\(InvalidSignature\)/);
    await refusedBdb(D([twoOfTwo(k(p1), d), ch(20)], distMeta([p1])), 'outputs worth more than the input', /\(AmountError\)/);
    await refused(record(dept, distMeta([p1])), 'BadRecord', 'a distribution as a CREATE');
    {
        // a plain BigchainDB TRANSFER of something else may not carry a distribution
        const own = new Ed25519Keypair();
        const c = await commit(Transaction.signTransaction(Transaction.makeCreateTransaction({ note: 'plain asset' }, nonce(),
            [plain(own.publicKey, '2')], own.publicKey), own.privateKey), 'a plain BigchainDB CREATE');
        await refused(transfer([{ tx: c, output_index: 0 }], [plain(own.publicKey, '2')], distMeta([p1]), [[own]]),
            'BadRecord', 'a distribution of a non-ticket asset');
        await commit(transfer([{ tx: c, output_index: 0 }], [plain(outsider.publicKey, '2')], { note: 'plain' }, [[own]]),
            'a plain BigchainDB TRANSFER (no LTDRS)');
    }
    // a valid distribution of 3 (p1, p2, p3) with change 17
    const dist2 = await commit(D([twoOfTwo(k(p1), d), twoOfTwo(k(p2), d), twoOfTwo(k(p3), d), ch(17)], distMeta([p1, p2, p3])), 'distribute 读书会 to 3');
    const in17 = [{ tx: dist2, output_index: 3 }];
    const D17 = (outs, meta) => transfer(in17, outs, meta, [[dept]]);
    await refused(D17([twoOfTwo(k(p1), d), ch(16)], distMeta([p1])), 'StudentAlreadyHasTicket', 'a second ticket of the same activity');
    await refusedBdb(D([twoOfTwo(k(p4), d), ch(19)], distMeta([p4])), 'the spent ticket output again (double spend)', /\(DoubleSpend\)/);
    const kk = await http('POST', '/students/keys', { body: { sids: [p1, p4, '2020902', '2029999', 'a b', p1], activity: app2Tx.id } });
    check(kk.status === 200 && eq(Object.keys(kk.json), [p1, p4, '2020902', '2029999', 'a b']) &&
        kk.json[p1].status === 'has_ticket' && kk.json[p4].status === 'ok' && kk.json['2020902'].status === 'unregistered' &&
        kk.json['2029999'].status === 'unknown' && kk.json['a b'].status === 'invalid',
    'distribution preview statuses: ' + kk.text);
    // on the main activity: holders, including the revoked ticket, cannot get a second one
    const mainOut = (await get('/activities/' + appTx.id + '/outputs')).json.outputs[0];
    const mainIn = [{ tx: await conn.getTransaction(mainOut.transaction_id), output_index: mainOut.output_index }];
    await refused(transfer(mainIn, [twoOfTwo(k(list[5]), d), ch(49)], distMeta([list[5]]), [[dept]]),
        'StudentAlreadyHasTicket', 'a holder of the main activity gets a second ticket');
    await refused(transfer(mainIn, [twoOfTwo(k(R), d), ch(49)], distMeta([R]), [[dept]]),
        'StudentAlreadyHasTicket', 'the student whose ticket was revoked gets a new one');

    step = 'rules: return';
    // a student-held ticket goes back only to its department, signed by both
    const p3Src = [{ tx: dist2, output_index: 2 }];
    await refused(transfer(p3Src, [plain(d)], distMeta([p3]), [[students[p3], dept]]), 'BadRecord', 'a return labelled as a distribution');
    await refused(transfer(p3Src, [plain(sport.publicKey)], { ltdrs: 'return', v: 1 }, [[students[p3], dept]]),
        'TicketNotTransferable', 'a return to another department');
    await refused(transfer([p3Src[0], { tx: dist2, output_index: 3 }], [plain(d, '18')], { ltdrs: 'return', v: 1 },
        [[students[p3], dept], [dept]]), 'TicketNotTransferable', 'a return mixed with department-held tickets');
    await refused(transfer(p3Src, [plain(d)], { ltdrs: 'return', v: 1, reason: 'x', extra: 1 }, [[students[p3], dept]]),
        'BadRecord', 'a return with an unknown field');
    const ret = await commit(transfer(p3Src, [plain(d)], { ltdrs: 'return', v: 1, reason: '提前离场' }, [[students[p3], dept]]),
        'p3 returns the ticket to the department');
    r = await get('/students/' + p3);
    check(r.json.legal_tickets === 0 && r.json.tickets[0].legal === false && r.json.tickets[0].why_not === 'returned',
        'a returned ticket is not legal: ' + show(r.json));

    step = 'rules: revocation';
    const rev = (ticket, reason = '违规') => ({ ltdrs: 'revocation', v: 1, ticket, reason });
    const p1Ticket = dist2.id + ':0';
    await refused(record(outsider, rev(p1Ticket)), 'NotAdmin', 'revocation by an outsider');
    await refused(record(dept, rev(p1Ticket)), 'NotAdmin', 'revocation by the department');
    await refused(record(admin, rev(dist2.id + ':3')), 'UnknownTicket', 'revoke department-held change');
    await refused(record(admin, rev(dist2.id + ':2')), 'UnknownTicket', 'revoke a returned (spent) ticket');
    await refused(record(admin, rev(ret.id + ':0')), 'UnknownTicket', 'revoke the department output of a return');
    await refused(record(admin, rev(zero + ':0')), 'UnknownTicket', 'revoke an unknown transaction');
    await refused(record(admin, rev(dist2.id + ':9')), 'UnknownTicket', 'revoke an output index past the end');
    await refused(record(admin, rev(ticketTx.id + ':0')), 'UnknownTicket', 'revoke the issued ticket asset output (spent)');
    await refused(record(admin, rev('nothex:0')), 'BadRecord', 'revoke a malformed ticket id');
    await refused(record(admin, rev(p1Ticket, '')), 'BadRecord', 'a revocation without a reason');
    await refused(record(admin, rev(holding[R], '再次')), 'AlreadyRevoked', 'revoke the revoked main ticket again');
    await commit(record(admin, rev(p1Ticket, '代领')), 'revoke p1\'s 读书会 ticket');
    await refused(record(admin, rev(p1Ticket, '再次')), 'AlreadyRevoked', 'revoke it twice');

    step = 'rules: close';
    const close = (id) => ({ ltdrs: 'close', v: 1, application: id });
    await refused(record(sport, close(app2Tx.id)), 'NotAllowed', 'another department closes the activity');
    await refused(record(students[p2], close(app2Tx.id)), 'NotAllowed', 'a student closes the activity');
    await refused(record(outsider, close(app2Tx.id)), 'NotAllowed', 'an outsider closes the activity');
    await refused(record(dept, close(zero)), 'UnknownApplication', 'close an unknown application');
    await refused(record(dept, close(app3Tx.id)), 'UnknownApplication', 'close a rejected application');
    const pending = await commit(record(dept, app({ name: '英语角' })), 'a pending application');
    await refused(record(dept, close(pending.id)), 'UnknownApplication', 'close a pending application');
    await commit(record(dept, close(app2Tx.id)), 'the department closes 读书会');
    await refused(record(dept, close(app2Tx.id)), 'AlreadyClosed', 'close twice');
    await refused(record(admin, close(app2Tx.id)), 'AlreadyClosed', 'the admin closes a closed activity');
    await refused(D17([twoOfTwo(k(p4), d), ch(16)], distMeta([p4])), 'ActivityClosed', 'distribute after the close');
    await refused(transfer([{ tx: dist2, output_index: 1 }], [plain(d)], { ltdrs: 'return', v: 1 }, [[students[p2], dept]]),
        'ActivityClosed', 'return after the close');
    await refused(transfer([{ tx: ret, output_index: 0 }, { tx: dist2, output_index: 3 }], [plain(d, '18')], null, [[dept], [dept]]),
        'ActivityClosed', 'the department merges lapsed tickets');
    r = await get('/activities/' + app2Tx.id);
    const tk2 = r.json && r.json.tickets;
    check(r.status === 200 && r.json.closed === true && tk2.requested === 20 && tk2.approved === 20 && tk2.distributed === 3 &&
        tk2.returned === 1 && tk2.revoked === 1 && tk2.legal === 1 && tk2.remaining === 0 && tk2.lapsed === 18,
    'closed activity figures: ' + show(r.json));
    r = await get('/students/' + p2);
    check(r.json.legal_tickets === 1 && r.json.tickets[0].activity.closed === true && r.json.tickets[0].legal === true,
        'a ticket of a closed activity stays legal: ' + show(r.json));

    step = 'rules: announcements';
    const ann = (f) => Object.assign({ ltdrs: 'announcement', v: 1, title: '通知', text: '讲座票将计入综测' }, f || {});
    await refused(record(dept, ann()), 'NotAdmin', 'an announcement by a department');
    await refused(record(s1, ann()), 'NotAdmin', 'an announcement by a student');
    await refused(record(admin, ann({ application: zero })), 'UnknownApplication', 'an announcement of an unknown activity');
    await refused(record(admin, ann({ link: 'javascript:alert(1)' })), 'BadRecord', 'a javascript: link');
    await refused(record(admin, ann({ application: '00' })), 'BadRecord', 'a malformed application id');
    await refused(record(admin, ann({ text: 'x'.repeat(2001) })), 'BadRecord', 'a text of 2,001 bytes');
    await commit(record(admin, ann({ link: 'https://example.edu.cn/zc', application: appTx.id })), 'an announcement');
    r = await get('/announcements');
    check(r.status === 200 && r.json.total === 1 && r.json.announcements[0].title === '通知', 'the announcement is public: ' + show(r.json));

    step = 'rules: malformed records';
    await refused(record(admin, { ltdrs: 'party', v: 1 }), 'BadRecord', 'an unknown kind');
    await refused(record(admin, { ltdrs: 'announcement', title: 't', text: 'x' }), 'BadRecord', 'a record without v');
    await refused(record(admin, { ltdrs: 'announcement', v: '1', title: 't', text: 'x' }), 'BadRecord', 'v as a string');
    await refused(record(admin, { ltdrs: 3, v: 1 }), 'BadRecord', 'a kind that is not a string');
    await refused(record(admin, { ltdrs: 'return', v: 1 }), 'BadRecord', 'a return as a CREATE');
    await refused(record(admin, { ltdrs: 'certify', v: 1, department: deptTx.id }), 'BadRecord', 'certify without a decision');
    await commit(record(outsider, { msg: '普通的 BigchainDB 资产' }), 'a plain CREATE is still accepted');
    S.app2Tx = app2Tx;
}

// ================================================================== access rules
async function access() {
    step = 'access';
    const { students, dept, list, outsider, appTx } = S;
    const adminOnly = ['/students', '/students?format=csv', '/students?activity=' + appTx.id, '/stats/histogram',
        '/roster'];
    for (const p of adminOnly.concat(['/applications', '/session', '/distributions'])) {
        const r = await get(p);
        check(r.status === 401 && r.json && r.json.code === 477, 'anonymous GET ' + p + ': want 401, got ' + r.status + ' ' + r.text, 'neg');
    }
    let r = await http('POST', '/logout');
    check(r.status === 401, 'anonymous logout: 401, got ' + r.status, 'neg');
    const stu = await login(students[list[0]], 'base64url');
    check(stu.role === 'student' && stu.json.sid === list[0], 'student login (base64url signature): ' + show(stu.json));
    const dep = await login(dept);
    check(dep.role === 'department', 'department login: ' + show(dep.json));
    for (const p of adminOnly) {
        for (const [who, s] of [['student', stu], ['department', dep]]) {
            r = await get(p, { cookie: s.cookie });
            check(r.status === 403 && r.json && r.json.code === 477, who + ' GET ' + p + ': want 403, got ' + r.status, 'neg');
        }
    }
    r = await get('/applications', { cookie: stu.cookie });
    check(r.status === 403, 'student GET /applications: 403, got ' + r.status, 'neg');
    r = await get('/applications', { cookie: dep.cookie });
    check(r.status === 200 && r.json.total >= 5 && r.json.applications.every((a) => a.department.name === '学习部'),
        'the department sees only its own applications: ' + show(r.json));
    r = await get('/applications?department=' + S.deptTx.id + '&status=pending', { cookie: dep.cookie });
    check(r.status === 200, 'department: status filter ' + r.status);
    r = await get('/session', { cookie: stu.cookie });
    check(r.status === 200 && r.json.role === 'student' && r.json.csrf_token === stu.csrf, 'GET /session returns the CSRF token');
    // distribution history: a department sees its own, nobody else's; students none
    r = await get('/distributions', { cookie: stu.cookie });
    check(r.status === 403 && r.json && r.json.code === 477, 'student GET /distributions: 403, got ' + r.status, 'neg');
    r = await get('/distributions?per_page=100', { cookie: dep.cookie });
    check(r.status === 200 && r.json.total >= 5 && r.json.distributions.length === Math.min(r.json.total, 100) &&
        r.json.distributions.every((d) => d.department.id === S.deptTx.id),
    'the department sees its own distributions: ' + (r.json && r.json.total));
    r = await get('/distributions?department=' + S.deptTx.id + '&activity=' + appTx.id, { cookie: dep.cookie });
    check(r.status === 200 && r.json.total >= 5, 'department: own department and activity filter ' + r.status);
    r = await get('/distributions?department=' + '0'.repeat(64), { cookie: dep.cookie });
    check(r.status === 403 && r.json && r.json.code === 477, 'department asks for another department\'s history: 403, got ' + r.status, 'neg');
    const adm0 = S.adminSession;
    for (const [q, what] of [['?per_page=101', 'per_page 101'], ['?per_page=0', 'per_page 0'], ['?page=0', 'page 0'],
        ['?page=01', 'page with a leading zero'], ['?activity=ABC', 'malformed activity id'],
        ['?department=' + 'A'.repeat(64), 'upper-case department id'], ['?sort=time', 'unknown argument']]) {
        r = await get('/distributions' + q, { cookie: adm0.cookie });
        check(r.status === 400, 'distributions: ' + what + ' 400, got ' + r.status, 'neg');
    }
    r = await get('/distributions?department=' + '0'.repeat(64), { cookie: adm0.cookie });
    check(r.status === 200 && r.json.total === 0 && r.json.distributions.length === 0, 'distributions: an unknown department matches nothing', 'neg');
    r = await get('/distributions?activity=' + S.deptTx.id, { cookie: adm0.cookie });
    check(r.status === 200 && r.json.total === 0, 'distributions: a department id is no activity', 'neg');
    r = await get('/roster?generation=1', { cookie: adm0.cookie });
    check(r.status === 400, 'roster: unknown argument 400, got ' + r.status, 'neg');
    const adm = S.adminSession;
    r = await get('/students?bogus=1', { cookie: adm.cookie });
    check(r.status === 400, 'report: unknown argument 400, got ' + r.status, 'neg');
    r = await get('/students?activity=ABC', { cookie: adm.cookie });
    check(r.status === 400, 'report: malformed activity id 400, got ' + r.status, 'neg');
    r = await get('/students?activity=' + '0'.repeat(64) + '&nonzero=true', { cookie: adm.cookie });
    check(r.status === 200 && r.json.total === 0, 'report: an unknown activity matches nothing');
    r = await get('/students?per_page=1001', { cookie: adm.cookie });
    check(r.status === 400, 'report: per_page 1001 400, got ' + r.status, 'neg');
    r = await get('/students', { cookie: 'f'.repeat(64) });
    check(r.status === 401, 'a made-up session id: 401, got ' + r.status, 'neg');

    step = 'access: login';
    // replay: the same challenge and signature a second time
    let ch = await challenge();
    const sig = signText(ch.message, admin);
    check(ch.message === 'ltdrs-login:v1:' + base + ':' + ch.challenge && /^[0-9a-f]{64}$/.test(ch.challenge),
        'challenge message: ' + ch.message);
    r = await loginWith(admin, ch, sig);
    check(r.status === 200 && r.cookie && /HttpOnly/.test(r.setCookie) && /SameSite=Strict/.test(r.setCookie), 'admin login: ' + r.setCookie);
    const adm2 = r;
    r = await loginWith(admin, ch, sig);
    check(r.status === 401 && !r.cookie, 'login challenge replayed: want 401, got ' + r.status + ' ' + r.text, 'neg');
    // a wrong signature does not use up the challenge
    ch = await challenge();
    r = await loginWith(admin, ch, signText(ch.message, outsider));
    check(r.status === 401, 'login with a signature by another key: 401, got ' + r.status, 'neg');
    r = await loginWith(admin, ch, signText('ltdrs-login:v1:http://evil.example:' + ch.challenge, admin));
    check(r.status === 401, 'login with a signature over another origin: 401, got ' + r.status, 'neg');
    r = await loginWith(admin, ch, signText(ch.challenge, admin));
    check(r.status === 401, 'login with a signature over the bare challenge: 401, got ' + r.status, 'neg');
    r = await loginWith(admin, ch, signText(ch.message, admin).slice(0, 100));
    check(r.status === 400, 'login with a truncated signature: 400, got ' + r.status, 'neg');
    r = await loginWith(admin, ch, signText(ch.message, admin));
    check(r.status === 200, 'the challenge survived the failed attempts: ' + r.status + ' ' + r.text);
    // concurrent logins with one challenge: exactly one wins
    ch = await challenge();
    const s2 = signText(ch.message, admin);
    const many = await Promise.all(Array.from({ length: 6 }, () => loginWith(admin, ch, s2)));
    check(many.filter((x) => x.status === 200).length === 1 && many.filter((x) => x.status === 401).length === 5,
        'six concurrent logins with one challenge: one 200, five 401: ' + many.map((x) => x.status).join(','), 'neg');
    // a challenge issued for another origin (a proxy's X-Forwarded-Host) is not valid here
    const other = 'http://other.example';
    r = await http('POST', '/login/challenge', { origin: other, headers: { 'X-Forwarded-Host': 'other.example' } });
    check(r.status === 200 && r.json.message === 'ltdrs-login:v1:' + other + ':' + r.json.challenge,
        'a challenge for the proxied origin: ' + r.text);
    ch = r.json;
    r = await loginWith(admin, ch, signText('ltdrs-login:v1:' + base + ':' + ch.challenge, admin));
    check(r.status === 401, 'a challenge of another origin used here: 401, got ' + r.status + ' ' + r.text, 'neg');
    r = await http('POST', '/login', { origin: other, headers: { 'X-Forwarded-Host': 'other.example' },
        body: { public_key: admin.publicKey, challenge: ch.challenge, signature: signText(ch.message, admin) } });
    check(r.status === 401, 'that challenge is used up (tainted) for its own origin too: 401, got ' + r.status, 'neg');
    r = await http('POST', '/login/challenge', { origin: 'http://evil.example' });
    check(r.status === 403, 'POST /login/challenge from a foreign Origin: 403, got ' + r.status, 'neg');
    ch = await challenge();
    r = await loginWith(admin, ch, signText(ch.message, admin), 'http://evil.example');
    check(r.status === 403, 'login posted from a foreign Origin: 403, got ' + r.status, 'neg');
    // keys without a role
    ch = await challenge();
    r = await loginWith(outsider, ch, signText(ch.message, outsider));
    check(r.status === 403 && !r.cookie, 'a key without a role: 403, got ' + r.status, 'neg');
    ch = await challenge();
    r = await loginWith(S.old903, ch, signText(ch.message, S.old903));
    check(r.status === 403, 'an unbound student key: 403, got ' + r.status, 'neg');
    ch = await challenge();
    r = await loginWith(S.outreach, ch, signText(ch.message, S.outreach));
    check(r.status === 403, 'a rejected department: 403, got ' + r.status, 'neg');
    ch = await challenge();
    r = await loginWith(S.art, ch, signText(ch.message, S.art));
    check(r.status === 200 && r.json.role === 'department', 'a pending department may log in: ' + r.text);
    r = await get('/students', { cookie: r.cookie });
    check(r.status === 403, 'a pending department GET /students: 403', 'neg');

    step = 'access: CSRF and logout';
    r = await http('POST', '/logout', { cookie: adm2.cookie });
    check(r.status === 403 && r.json && r.json.code === 477, 'logout without X-CSRF-Token: 403, got ' + r.status, 'neg');
    r = await http('POST', '/logout', { cookie: adm2.cookie, csrf: 'a'.repeat(64) });
    check(r.status === 403, 'logout with a wrong X-CSRF-Token: 403, got ' + r.status, 'neg');
    r = await http('POST', '/logout', { cookie: adm2.cookie, csrf: stu.csrf });
    check(r.status === 403, 'logout with another session\'s CSRF token: 403, got ' + r.status, 'neg');
    r = await http('POST', '/logout', { cookie: adm2.cookie, csrf: adm2.json.csrf_token, origin: 'http://evil.example' });
    check(r.status === 403, 'logout from a foreign Origin: 403, got ' + r.status, 'neg');
    r = await get('/students?per_page=1', { cookie: adm2.cookie });
    check(r.status === 200, 'the session survived the refused logouts');
    r = await http('POST', '/logout', { cookie: adm2.cookie, csrf: adm2.json.csrf_token, origin: base });
    check(r.status === 200, 'logout with the CSRF token: ' + r.status + ' ' + r.text);
    r = await get('/students?per_page=1', { cookie: adm2.cookie });
    check(r.status === 401, 'the logged-out session: 401, got ' + r.status, 'neg');
    // session fixation: a login made while sending an old cookie ends the old session
    const first = await login(students[list[1]]);
    ch = await challenge();
    r = await loginWith(students[list[1]], ch, signText(ch.message, students[list[1]]), base, first.cookie);
    check(r.status === 200 && r.cookie && r.cookie !== first.cookie, 'a new login gets a new session id');
    r = await get('/session', { cookie: first.cookie });
    check(r.status === 401, 'the cookie sent along with a new login is ended: ' + r.status, 'neg');
    // a student whose number is unbound loses the session at once
    const victim = list[10];
    const vs = await login(students[victim]);
    await commit(record(admin, { ltdrs: 'unbind', v: 1, sid: victim, reason: '冒用', code_hash: S.hashOf(victim, 'NEW-' + victim) }), 'unbind ' + victim);
    r = await get('/session', { cookie: vs.cookie });
    check(r.status === 200 && r.json.role === 'none', 'an unbound student\'s session has no role: ' + r.text);
    r = await get('/applications', { cookie: vs.cookie });
    check(r.status === 403, 'an unbound student\'s session: 403 on /applications, got ' + r.status, 'neg');
    r = await get('/students/' + victim);
    check(r.status === 200 && r.json.registered === false && r.json.legal_tickets === 1 && r.json.tickets[0].legal === true,
        'after the unbind the number keeps its legal ticket ("is or was bound"): ' + show(r.json));
}

async function finish() {
    step = 'final';
    // the report of the main activity is unchanged by everything above (the unbind keeps counts)
    await report(true);
    // the tallies behind the unfiltered report agree with every student's own page
    const adm = S.adminSession;
    const all = await get('/students?per_page=1000', { cookie: adm.cookie });
    const diff = [];
    await pool(all.json.students, CONC, async (row) => {
        const s = await get('/students/' + row.sid);
        if (s.status !== 200 || s.json.legal_tickets !== row.legal_tickets ||
            s.json.tickets.filter((t) => t.legal).length !== row.legal_tickets) {
            diff.push(row.sid + ': report ' + row.legal_tickets + ', page ' + (s.json && s.json.legal_tickets));
        }
    });
    check(all.status === 200 && all.json.total === S.people.length + S.extra.length && diff.length === 0,
        `unfiltered report = each student's legal tickets (${all.json && all.json.total} rows): ${diff.slice(0, 5).join(' | ')}`);
    const sum = all.json.students.reduce((n, x) => n + x.legal_tickets, 0);
    const st = await get('/stats/departments', { cookie: adm.cookie });
    const perDept = st.status === 200 ? st.json.departments.map((x) => x.tickets.legal) : [];
    check(sum === 249 + 1 && perDept.reduce((n, x) => n + x, 0) === sum,
        `legal tickets: students' sum ${sum} = 249 + 1 (读书会) = sum over departments ${perDept.join('+')}`);
    // the roster as the admin page shows it
    const ro = await get('/roster', { cookie: adm.cookie });
    const regd = (await pool(S.people.concat(S.extra), CONC, async (sid) => (await get('/students/' + sid)).json))
        .filter((x) => x && x.registered).length;
    check(ro.status === 200 && ro.json.students === S.people.length + S.extra.length && ro.json.generation >= 1 &&
        ro.json.registered === regd && ro.json.unregistered === ro.json.students - regd &&
        ro.json.generations.reduce((n, g) => n + g.students, 0) === ro.json.students &&
        ro.json.updated && ro.json.updated.time_ms >= T0 && ro.json.updated.time_ms <= Date.now(),
    `roster: ${S.people.length + S.extra.length} numbers, ${regd} registered: ` + show(ro.json));
    // the distribution history of the main activity: 250 students in batches of 50, with block times
    const dh = await get('/distributions?activity=' + S.appTx.id + '&per_page=100', { cookie: adm.cookie });
    const ds = dh.json ? dh.json.distributions : [];
    const act = await get('/activities/' + S.appTx.id);
    const seen = {};
    for (const d of ds) for (const x of d.students) seen[x.sid] = d.transaction_id + ':' + x.output_index;
    check(dh.status === 200 && dh.json.total === ds.length && ds.length >= 5 &&
        ds.reduce((n, d) => n + d.count, 0) === act.json.tickets.distributed &&
        S.list.every((sid) => seen[sid] === S.holding[sid] || S.holding[sid] === undefined),
    'history of the activity: every ticket handed out, at its output: ' + ds.length + ' distributions');
    const ordered = ds.every((d, i) => i === 0 || (d.height < ds[i - 1].height && d.time_ms <= ds[i - 1].time_ms));
    check(ordered && ds.every((d) => d.time_ms >= T0 && d.time_ms <= Date.now() &&
        new Date(d.time).getTime() === d.time_ms && d.activity.id === S.appTx.id && d.department.name === '学习部'),
    'history newest first, with the block time of each transfer: ' + show(ds.map((d) => [d.height, d.time])));
    const p2 = await get('/distributions?activity=' + S.appTx.id + '&per_page=2&page=2', { cookie: adm.cookie });
    check(p2.status === 200 && p2.json.distributions.length === 2 && p2.json.distributions[0].transaction_id === ds[2].transaction_id,
        'history paging: page 2 of 2 per page');
    const v = await get(base + '/ltdrs/api/v1/ledger/verify');
    check(v.status === 200 && v.json && v.json.ok === true, 'the ledger verifies: ' + v.text.slice(0, 300));
    const ALL = ['NotAdmin', 'BadStudentNumber', 'DuplicateRosterEntry', 'StudentAlreadyBound', 'StudentNotOnRoster',
        'BadActivationCode', 'KeyAlreadyBound', 'StudentNotBound', 'DuplicateDepartment', 'UnknownDepartment',
        'AlreadyDecided', 'DepartmentNotCertified', 'BadActivityTime', 'BadTicketCount', 'DuplicateActivity',
        'UnknownApplication', 'OverQuota', 'BadTicketOutput', 'ActivityMismatch', 'ActivityClosed',
        'TicketNotTransferable', 'StudentKeyMismatch', 'StudentNotRegistered', 'StudentAlreadyHasTicket',
        'UnknownTicket', 'AlreadyRevoked', 'NotAllowed', 'AlreadyClosed', 'BadRecord'];
    const missing = ALL.filter((x) => !rulesSeen.has(x));
    check(missing.length === 0, 'every rule was seen refusing a transaction; missing: ' + missing.join(', '));
    check(nNeg >= nPos, `at least as many negative checks as positive (${nNeg} negative, ${nPos} positive)`);
}

const T0 = Date.now();

async function main() {
    const t0 = Date.now();
    await scenario();
    await rules();
    await access();
    await finish();
    console.log(`scenario_http: ${nPos} positive and ${nNeg} negative checks, ${rulesSeen.size} rules, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    console.log(`scenario_http: ${passed} passed, ${failed} failed`);
    process.exit(failed ? 1 : 0);
}

main().catch((e) => {
    console.error('scenario_http: error at step', step, e.status || '', e.stack || e.message);
    console.log(`scenario_http: ${passed} passed, ${failed + 1} failed`);
    process.exit(1);
});

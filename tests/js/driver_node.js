#!/usr/bin/env node
// driver_node.js - the official bigchaindb-driver 4.3.0 against a running LTDRS node,
// through its documented flows, unchanged: create, transfer, 2-of-2 threshold outputs
// signed by both owners, getTransaction, listTransactions, listOutputs (spent true/false),
// searchAssets, searchMetadata, getBlock, listBlocks, the three post modes, and a
// WebSocket listener on /api/v1/streams/valid_transactions that must see every committed
// transaction.
//
//   node tests/js/driver_node.js http://127.0.0.1:9984
'use strict';

const net = require('net');
const crypto = require('crypto');
const path = require('path');
const { Connection, Transaction, Ed25519Keypair } = require('bigchaindb-driver');
const driverDir = path.dirname(require.resolve('bigchaindb-driver/package.json'));
const dep = (name) => require(require.resolve(name, { paths: [driverDir] }));
const cc = dep('crypto-conditions');
const bs58 = dep('bs58');
const { sha3_256 } = dep('js-sha3');

const base = (process.argv[2] || 'http://127.0.0.1:9984').replace(/\/$/, '');
const conn = new Connection(base + '/api/v1/');
// The driver discards error bodies (protocol doc §0.1 #5): keep the last posted
// transaction so that a failure can show the node's message.
let lastTx = null;
for (const m of ['postTransaction', 'postTransactionCommit', 'postTransactionSync', 'postTransactionAsync']) {
    const orig = conn[m].bind(conn);
    conn[m] = (tx) => { lastTx = tx; return orig(tx); };
}
async function explain() {
    if (!lastTx) return '';
    const r = await fetch(base + '/api/v1/transactions?mode=sync', { method: 'POST', body: JSON.stringify(lastTx) });
    return r.status + ' ' + await r.text();
}

let passed = 0, failed = 0, step = 'start';
function check(cond, what) {
    if (cond) passed++;
    else { failed++; console.error('FAIL', what); }
}

// ---- a minimal WebSocket client (RFC 6455, client side, text frames) ----
function wsListen(url, onText) {
    const u = new URL(url);
    const sock = net.connect(Number(u.port || 80), u.hostname);
    const key = crypto.randomBytes(16).toString('base64');
    let buf = Buffer.alloc(0), open = false;
    const ready = new Promise((resolve, reject) => {
        sock.on('connect', () => sock.write(
            `GET ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\n` +
            `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`));
        sock.on('error', reject);
        sock.on('data', (d) => {
            buf = Buffer.concat([buf, d]);
            if (!open) {
                const end = buf.indexOf('\r\n\r\n');
                if (end < 0) return;
                const head = buf.slice(0, end).toString();
                const want = crypto.createHash('sha1')
                    .update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
                if (!/^HTTP\/1\.1 101/.test(head) || head.indexOf(want) < 0)
                    return reject(new Error('bad upgrade: ' + head));
                open = true;
                buf = buf.slice(end + 4);
                resolve();
            }
            for (;;) {
                if (buf.length < 2) return;
                let len = buf[1] & 0x7f, off = 2;
                if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
                else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); off = 10; }
                if (buf.length < off + len) return;
                const op = buf[0] & 0x0f, payload = buf.slice(off, off + len);
                buf = buf.slice(off + len);
                if (op === 1) onText(payload.toString('utf8'));
            }
        });
    });
    return { ready, close: () => sock.destroy() };
}

function signThreshold(tx, keys) {
    return Transaction.delegateSignTransaction(tx, (serialized, input) => {
        const tail = input.fulfills ? input.fulfills.transaction_id + input.fulfills.output_index : '';
        const msg = Buffer.from(sha3_256(serialized + tail), 'hex');
        const f = new cc.ThresholdSha256();
        f.setThreshold(keys.length);
        for (const k of keys) {
            const e = new cc.Ed25519Sha256();
            e.sign(msg, Buffer.from(bs58.decode(k.privateKey)));
            f.addSubfulfillment(e);
        }
        return f.serializeUri();
    });
}

async function main() {
    const seen = new Set();
    const ws = wsListen(base.replace(/^http/, 'ws') + '/api/v1/streams/valid_transactions', (t) => {
        const ev = JSON.parse(t);
        check(typeof ev.height === 'number' && /^[0-9a-f]{64}$/.test(ev.asset_id), 'event shape ' + t);
        seen.add(ev.transaction_id);
    });
    await ws.ready;
    const committed = [];
    const alice = new Ed25519Keypair(), bob = new Ed25519Keypair(), carol = new Ed25519Keypair();
    const word = 'lecture' + crypto.randomBytes(4).toString('hex');

    // CREATE, commit mode (postTransactionCommit)
    const create = Transaction.makeCreateTransaction(
        { title: word + ' 讲座', n: 1 }, { note: 'meta ' + word },
        [Transaction.makeOutput(Transaction.makeEd25519Condition(alice.publicKey), '2')], alice.publicKey);
    const signed = Transaction.signTransaction(create, alice.privateKey);
    step = 'postTransactionCommit';
    const posted = await conn.postTransactionCommit(signed);
    check(posted.id === signed.id, 'postTransactionCommit echoes the tx');
    committed.push(signed.id);
    step = 'getTransaction';
    const got = await conn.getTransaction(signed.id);
    check(got.id === signed.id && got.asset.data.title === word + ' 讲座', 'getTransaction');

    // TRANSFER alice -> bob (1) + change (1), postTransaction (commit)
    const tr = Transaction.makeTransferTransaction([{ tx: signed, output_index: 0 }],
        [Transaction.makeOutput(Transaction.makeEd25519Condition(bob.publicKey), '1'),
         Transaction.makeOutput(Transaction.makeEd25519Condition(alice.publicKey), '1')], { step: 1 });
    const trs = Transaction.signTransaction(tr, alice.privateKey);
    step = 'postTransaction';
    await conn.postTransaction(trs);
    committed.push(trs.id);
    step = 'listTransactions';
    const list = await conn.listTransactions(signed.id);
    check(list.length === 2, 'listTransactions returns CREATE and TRANSFER');
    step = 'listTransactions';
    const onlyT = await conn.listTransactions(signed.id, 'TRANSFER');
    check(onlyT.length === 1 && onlyT[0].id === trs.id, 'listTransactions TRANSFER');
    step = 'listOutputs';
    const bobOut = await conn.listOutputs(bob.publicKey, false);
    check(bobOut.some((o) => o.transaction_id === trs.id && o.output_index === 0), 'listOutputs unspent');
    step = 'listOutputs';
    const aliceSpent = await conn.listOutputs(alice.publicKey, true);
    check(aliceSpent.some((o) => o.transaction_id === signed.id), 'listOutputs spent=true');
    step = 'listOutputs';
    const aliceAll = await conn.listOutputs(alice.publicKey);
    check(aliceAll.length === 2, 'listOutputs all: ' + JSON.stringify(aliceAll));

    // 2-of-2 threshold output (bob, carol), spent by both owners
    const thr = Transaction.makeThresholdCondition(2, [
        Transaction.makeEd25519Condition(bob.publicKey, false),
        Transaction.makeEd25519Condition(carol.publicKey, false)]);
    const c2 = Transaction.makeCreateTransaction({ kind: 'threshold ' + word }, null,
        [Transaction.makeOutput(thr, '1')], bob.publicKey);
    c2.outputs[0].public_keys = [bob.publicKey, carol.publicKey];
    const c2s = Transaction.signTransaction(c2, bob.privateKey);
    step = 'postTransactionCommit';
    await conn.postTransactionCommit(c2s);
    committed.push(c2s.id);
    const t2 = Transaction.makeTransferTransaction([{ tx: c2s, output_index: 0 }],
        [Transaction.makeOutput(Transaction.makeEd25519Condition(alice.publicKey), '1')], null);
    const t2s = signThreshold(t2, [bob, carol]);
    step = 'postTransactionCommit';
    await conn.postTransactionCommit(t2s);
    committed.push(t2s.id);
    step = 'listOutputs';
    const carolSpent = await conn.listOutputs(carol.publicKey, true);
    check(carolSpent.some((o) => o.transaction_id === c2s.id), 'threshold output spent');

    // only one owner of the 2-of-2: refused (driver throws on 400)
    const c3 = Transaction.makeCreateTransaction({ kind: 'half ' + word }, null,
        [Transaction.makeOutput(thr, '1')], bob.publicKey);
    c3.outputs[0].public_keys = [bob.publicKey, carol.publicKey];
    const c3s = Transaction.signTransaction(c3, bob.privateKey);
    step = 'postTransactionCommit';
    await conn.postTransactionCommit(c3s);
    committed.push(c3s.id);
    const t3 = Transaction.makeTransferTransaction([{ tx: c3s, output_index: 0 }],
        [Transaction.makeOutput(Transaction.makeEd25519Condition(bob.publicKey), '1')], null);
    let refused = false;
    try { await conn.postTransactionCommit(Transaction.signTransaction(t3, bob.privateKey)); }
    catch (e) { refused = /400/.test(String(e.status || e.message)); }
    check(refused, 'single signature on a 2-of-2 output is refused');

    // sync and async modes
    const c4 = Transaction.signTransaction(Transaction.makeCreateTransaction({ kind: 'sync ' + word },
        { m: 1 }, [Transaction.makeOutput(Transaction.makeEd25519Condition(carol.publicKey))],
        carol.publicKey), carol.privateKey);
    step = 'postTransactionSync';
    await conn.postTransactionSync(c4);
    const c5 = Transaction.signTransaction(Transaction.makeCreateTransaction({ kind: 'async ' + word },
        { m: 2 }, [Transaction.makeOutput(Transaction.makeEd25519Condition(carol.publicKey))],
        carol.publicKey), carol.privateKey);
    step = 'postTransactionAsync';
    await conn.postTransactionAsync(c5);
    for (const id of [c4.id, c5.id]) {
        let ok = false;
        for (let i = 0; i < 100 && !ok; i++) {
            try { ok = (await conn.getTransaction(id)).id === id; }
            catch (e) { await new Promise((r) => setTimeout(r, 50)); }
        }
        check(ok, 'sync/async tx committed ' + id);
        committed.push(id);
    }

    // search
    step = 'searchAssets';
    const assets = await conn.searchAssets(word);
    check(assets.some((a) => a.id === signed.id && a.data.title === word + ' 讲座'), 'searchAssets');
    step = 'searchMetadata';
    const metas = await conn.searchMetadata(word, 5);
    check(metas.some((m) => m.id === signed.id && m.metadata.note === 'meta ' + word), 'searchMetadata');

    // blocks
    step = 'listBlocks';
    const heights = await conn.listBlocks(trs.id);
    check(Array.isArray(heights) && heights.length === 1, 'listBlocks');
    step = 'getBlock';
    const block = await conn.getBlock(heights[0]);
    check(block.height === heights[0] && block.transactions.some((t) => t.id === trs.id), 'getBlock');

    // the stream saw every committed transaction
    for (let i = 0; i < 100 && committed.some((id) => !seen.has(id)); i++)
        await new Promise((r) => setTimeout(r, 50));
    check(committed.every((id) => seen.has(id)), 'WebSocket saw all ' + committed.length + ' transactions');
    ws.close();
    console.log(`driver_node: ${passed} passed, ${failed} failed`);
    process.exit(failed ? 1 : 0);
}

main().catch(async (e) => { console.error('driver_node: error at step', step, e.status || '', e.message, await explain()); console.log(`driver_node: ${passed} passed, ${failed + 1} failed`); process.exit(1); });

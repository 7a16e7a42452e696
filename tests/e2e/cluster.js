#!/usr/bin/env node
/*
 * cluster.js - the HTTP side of tests/e2e/70_cluster.sh: builds signed
 * transactions with the official bigchaindb-driver (tests/js/node_modules),
 * sends them to several nodes over keep-alive connections, and checks what
 * the nodes answer and hold.  70_cluster.sh owns the processes (etcd
 * members, nodes, kills); this file only talks HTTP.
 *
 *   gen N OUT                      N signed CREATEs, one JSON per line
 *   load --urls U,.. --file F --out LOG [--conc C] [--stop FILE] [--start I]
 *        posts the lines of F in mode=commit, line i to node i % nodes (until
 *        F ends or FILE exists); LOG gets "<ms> <id> <status> <node> <type>"
 *   race --urls U,.. --rounds R --racers N
 *        per round: a CREATE, then N TRANSFERs of its one output posted at
 *        once, spread over the nodes; checks one 202 and N-1 DoubleSpend, and
 *        that every node holds that same winner and no other transfer
 *   acked --urls U,.. --log LOG    every id answered 202 in LOG is on every node
 *   converge --urls U,.. [--timeout S]
 *        waits until every node has the same height and head hash
 *   post URL FILE                  one POST ?mode=commit; prints the status
 *   ledgerpage URL --expect ok|NODE [--min-height H]
 *        opens URL/#/ledger in Chromium (playwright-core): with "ok" the
 *        cluster section lists 3 nodes and says that no node diverges; with a
 *        node id it shows an alert naming that node with a height >= H, and
 *        the node as the suspect, in Chinese and (after the language switch)
 *        in English; no console or page error either way
 * Exit 0 when the checks hold, 1 otherwise (the reason on stderr).
 */
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');
const driverPath = path.join(__dirname, '..', 'js', 'node_modules', 'bigchaindb-driver');
const { Transaction, Ed25519Keypair } = require(driverPath);

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function request(url, method, body, timeoutMs) {
    return new Promise((resolve) => {
        const u = new URL(url);
        const req = http.request({
            host: u.hostname, port: u.port, path: u.pathname + u.search, method, agent,
            headers: body ? { 'Content-Type': 'application/json',
                              'Content-Length': Buffer.byteLength(body) } : {},
        }, (res) => {
            let data = '';
            res.setEncoding('utf8');
            res.on('data', (c) => { data += c; });
            res.on('end', () => resolve({ status: res.statusCode, body: data }));
            res.on('error', () => resolve({ status: 0, body: 'response error' }));
        });
        req.setTimeout(timeoutMs || 60000, () => req.destroy(new Error('timeout')));
        req.on('error', (e) => resolve({ status: 0, body: String(e.message || e) }));
        if (body) req.write(body);
        req.end();
    });
}

const post = (base, tx) => request(`${base}/api/v1/transactions?mode=commit`, 'POST',
                                   typeof tx === 'string' ? tx : JSON.stringify(tx));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function args(argv) {
    const o = {};
    for (let i = 0; i < argv.length; i++) {
        if (argv[i].startsWith('--')) { o[argv[i].slice(2)] = argv[i + 1]; i++; }
        else (o._ = o._ || []).push(argv[i]);
    }
    o.urls = o.urls ? o.urls.split(',') : [];
    return o;
}

function die(msg) {
    process.stderr.write(`cluster.js: ${msg}\n`);
    process.exit(1);
}

function create(kp, meta) {
    const tx = Transaction.makeCreateTransaction(
        { kind: 'cluster-test' }, meta,
        [Transaction.makeOutput(Transaction.makeEd25519Condition(kp.publicKey))], kp.publicKey);
    return Transaction.signTransaction(tx, kp.privateKey);
}

function transfer(kp, prev, meta) {
    const tx = Transaction.makeTransferTransaction(
        [{ tx: prev, output_index: 0 }],
        [Transaction.makeOutput(Transaction.makeEd25519Condition(kp.publicKey))], meta);
    return Transaction.signTransaction(tx, kp.privateKey);
}

// ------------------------------------------------------------------- gen
function gen(n, out) {
    const kp = new Ed25519Keypair();
    const tag = `${process.pid}-${Date.now()}`;
    const lines = [];
    for (let i = 0; i < n; i++) lines.push(JSON.stringify(create(kp, { run: tag, i })));
    fs.writeFileSync(out, lines.join('\n') + '\n');
}

// ------------------------------------------------------------------ load
async function load(o) {
    const lines = fs.readFileSync(o.file, 'utf8').split('\n').filter(Boolean);
    const conc = parseInt(o.conc || '8', 10);
    const log = fs.openSync(o.out, 'a');
    let next = parseInt(o.start || '0', 10);
    const stopped = () => o.stop && fs.existsSync(o.stop);
    async function worker() {
        while (next < lines.length && !stopped()) {
            const i = next++;
            const node = i % o.urls.length;
            const id = JSON.parse(lines[i]).id;
            const r = await post(o.urls[node], lines[i]);
            const kind = r.status === 400 ? (/\((\w+)\)/.exec(r.body) || ['', 'other'])[1] : '-';
            fs.writeSync(log, `${Date.now()} ${id} ${r.status} ${node} ${kind}\n`);
            if (r.status === 0 || r.status >= 500) await sleep(100); /* node down or no quorum */
        }
    }
    await Promise.all(Array.from({ length: conc }, worker));
    fs.closeSync(log);
}

// ------------------------------------------------------------------ race
async function waitTx(urls, id, timeoutMs) {
    const end = Date.now() + timeoutMs;
    for (;;) {
        const rs = await Promise.all(urls.map((u) => request(`${u}/api/v1/transactions/${id}`, 'GET')));
        if (rs.every((r) => r.status === 200)) return true;
        if (Date.now() > end) return false;
        await sleep(20);
    }
}

async function transfersOf(urls, assetId) {
    return Promise.all(urls.map(async (u) => {
        const r = await request(`${u}/api/v1/transactions?asset_id=${assetId}&operation=TRANSFER`, 'GET');
        return r.status === 200 ? JSON.parse(r.body).map((t) => t.id) : null;
    }));
}

async function race(o) {
    const rounds = parseInt(o.rounds, 10);
    const racers = parseInt(o.racers, 10);
    const kp = new Ed25519Keypair();
    let good = 0;
    const bad = [];
    const tag = `${process.pid}-${Date.now()}`;
    for (let r = 0; r < rounds; r++) {
        const c = create(kp, { race: tag, round: r });
        const spends = [];
        for (let k = 0; k < racers; k++) spends.push(transfer(kp, c, { round: r, racer: k }));
        const rc = await post(o.urls[r % o.urls.length], c);
        if (rc.status !== 202) { bad.push(`round ${r}: CREATE answered ${rc.status} ${rc.body}`); continue; }
        if (!await waitTx(o.urls, c.id, 20000)) { bad.push(`round ${r}: CREATE not on every node`); continue; }
        const res = await Promise.all(spends.map((t, k) => post(o.urls[(k + r) % o.urls.length], t)));
        const winners = spends.filter((t, k) => res[k].status === 202).map((t) => t.id);
        const ds = res.filter((x) => x.status === 400 && x.body.includes('DoubleSpend')).length;
        const odd = res.filter((x) => x.status !== 202 && !(x.status === 400 && x.body.includes('DoubleSpend')));
        let held = null;
        for (let t = 0; t < 200; t++) { /* every node applies the whole round */
            held = await transfersOf(o.urls, c.id);
            if (held.every((h) => h && h.length >= 1)) break;
            await sleep(25);
        }
        const same = held.every((h) => h && h.length === 1 && h[0] === winners[0]);
        if (winners.length === 1 && ds === racers - 1 && same) {
            good++;
        } else {
            bad.push(`round ${r}: ${winners.length} winners, ${ds} DoubleSpend, odd ${JSON.stringify(odd.map((x) => [x.status, x.body.slice(0, 120)]))}, nodes hold ${JSON.stringify(held)}`);
        }
    }
    console.log(`race: ${good}/${rounds} rounds with exactly one winner, the same on every node`);
    for (const b of bad.slice(0, 10)) process.stderr.write(`  ${b}\n`);
    process.exit(good === rounds ? 0 : 1);
}

// ----------------------------------------------------------------- acked
async function acked(o) {
    const ids = [...new Set(fs.readFileSync(o.log, 'utf8').split('\n').filter(Boolean)
        .map((l) => l.split(' ')).filter((f) => f[2] === '202').map((f) => f[1]))];
    let missing = 0;
    const conc = 16;
    let next = 0;
    async function worker() {
        while (next < ids.length) {
            const id = ids[next++];
            for (const u of o.urls) {
                const r = await request(`${u}/api/v1/transactions/${id}`, 'GET');
                if (r.status !== 200) {
                    missing++;
                    if (missing <= 5) process.stderr.write(`  acked ${id} missing on ${u} (${r.status})\n`);
                }
            }
        }
    }
    await Promise.all(Array.from({ length: conc }, worker));
    console.log(`acked: ${ids.length} acknowledged transactions, ${missing} missing copies on ${o.urls.length} nodes`);
    process.exit(missing === 0 && ids.length > 0 ? 0 : 1);
}

// -------------------------------------------------------------- converge
async function converge(o) {
    const end = Date.now() + 1000 * parseFloat(o.timeout || '60');
    let last = '';
    for (;;) {
        const hs = await Promise.all(o.urls.map(async (u) => {
            const r = await request(`${u}/ltdrs/api/v1/ledger/head`, 'GET', null, 5000);
            return r.status === 200 ? JSON.parse(r.body) : null;
        }));
        last = hs.map((h) => (h ? `${h.height}:${h.hash.slice(0, 16)}` : 'down')).join(' ');
        if (hs.every((h) => h && h.height === hs[0].height && h.hash === hs[0].hash)) {
            console.log(`converge: ${last}`);
            process.exit(0);
        }
        if (Date.now() > end) { console.log(`converge: NOT equal: ${last}`); process.exit(1); }
        await sleep(200);
    }
}

// ------------------------------------------------------------ ledgerpage
async function ledgerpage(o) {
    const { chromium } = require(path.join(__dirname, '..', 'js', 'node_modules', 'playwright-core'));
    const os = require('os');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ltdrs-cluster-page-'));
    const errors = [];
    let ctx = null;
    const bad = [];
    const want = (cond, what) => { if (!cond) bad.push(what); };
    try {
        ctx = await chromium.launchPersistentContext(dir, {
            executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
            args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
                   '--disable-background-networking', '--disable-component-update', '--disable-sync'],
            locale: 'zh-CN',
        });
        ctx.setDefaultTimeout(30000);
        const page = ctx.pages()[0] || await ctx.newPage();
        page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
        page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
        await page.goto(`${o._[1]}/#/ledger`, { timeout: 60000 });
        await page.waitForSelector('#cluster');
        const rows = await page.$$eval('#cluster tbody tr', (trs) => trs.length);
        want(rows === 3, `the cluster table lists 3 nodes (${rows})`);
        if (o.expect === 'ok') {
            want(await page.$('#cluster-ok') !== null, 'no divergence is said');
            want(await page.$('#cluster-divergences') === null, 'no divergence alert');
            const etcd = (await page.textContent('#cluster-etcd')).trim();
            want(etcd === '正常', `etcd is shown as ok (${etcd})`);
        } else {
            const minH = parseInt(o['min-height'] || '0', 10);
            const sel = `#cluster-divergences li[data-node="${o.expect}"]`;
            await page.waitForSelector(sel);
            for (const lg of ['zh', 'en']) {
                if (lg === 'en') {
                    await page.click('#lang-switch');
                    await page.waitForSelector(sel);
                }
                const li = await page.$(sel);
                const hgt = parseInt(await li.getAttribute('data-height'), 10);
                const text = await li.textContent();
                want(hgt >= minH, `${lg}: divergence height ${hgt} >= ${minH}`);
                want(text.includes(o.expect) && text.includes(String(hgt)),
                     `${lg}: the alert names the node and the height: ${text}`);
                want(lg === 'zh' ? text.includes('不一致') : text.includes('differs from this node at height'),
                     `${lg}: the alert is in the page's language: ${text}`);
                const role = await page.getAttribute('#cluster-divergences', 'role');
                want(role === 'alert', `${lg}: the divergence is an alert`);
                const sus = await page.$('#cluster-suspects');
                want(sus !== null && (await sus.textContent()).includes(o.expect),
                     `${lg}: the suspect is named`);
            }
        }
    } catch (e) {
        bad.push(String(e.message || e));
    } finally {
        if (ctx) await ctx.close().catch(() => {});
        fs.rmSync(dir, { recursive: true, force: true });
    }
    for (const e of errors) bad.push(e);
    for (const b of bad) process.stderr.write(`  ledgerpage: ${b}\n`);
    console.log(`ledgerpage: ${bad.length ? 'FAILED' : 'ok'} (${o.expect})`);
    process.exit(bad.length ? 1 : 0);
}

async function main() {
    const o = args(process.argv.slice(2));
    const cmd = o._ ? o._[0] : '';
    if (cmd === 'gen') return gen(parseInt(o._[1], 10), o._[2]);
    if (cmd === 'load') return load(o);
    if (cmd === 'race') return race(o);
    if (cmd === 'acked') return acked(o);
    if (cmd === 'converge') return converge(o);
    if (cmd === 'ledgerpage') return ledgerpage(o);
    if (cmd === 'post') {
        const r = await post(o._[1], fs.readFileSync(o._[2], 'utf8'));
        console.log(`${r.status} ${r.body.slice(0, 300)}`);
        return;
    }
    die('usage: cluster.js gen|load|race|acked|converge|post|ledgerpage ...');
}

main().then(() => process.exit(0), (e) => die(e.stack || String(e)));

#!/usr/bin/env node
// browser.js - the seed's story through the web pages in Chromium (Debian's
// /usr/bin/chromium driven by playwright-core; it starts no node itself):
//
//   the admin logs in with admin.key and imports a roster; a department
//   registers (XSS payload as its name) and is certified; it applies (XSS
//   payloads as activity fields) twice, the admin approves one and rejects the
//   other with a reason; students register with their activation codes (keys
//   made in the browser); the department previews a pasted list and
//   distributes in batches; a student who had the page open sees the ticket
//   arrive without a reload, logs out and in again (stored key, pasted keys,
//   a mismatched pair is refused), opens the ticket's public page with its QR
//   code; a visitor on the home page looks up another number and switches to
//   English; the admin publishes an announcement (XSS payloads), revokes a
//   ticket, sees the statistics and exports the report; the ledger verifies.
//
// Fails on any console error or page error, on any request body that carries
// a private key (the admin's and every key the pages made), on any script
// execution by the XSS payloads (window.__xss tripwire plus a DOM check), and
// on missing translations.  Screenshots of every screen in zh and en, desktop
// and phone, go to $LTDRS_SCREENSHOTS (default build/screenshots).
//
//   node tests/js/browser.js http://127.0.0.1:9984 DATA_DIR
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const base = (process.argv[2] || 'http://127.0.0.1:9984').replace(/\/$/, '');
const dataDir = process.argv[3] || 'data';
const shotDir = process.env.LTDRS_SCREENSHOTS || path.join(__dirname, '..', '..', 'build', 'screenshots');
const chromePath = process.env.CHROMIUM || '/usr/bin/chromium';
const STEP_MS = 30000; // per step; generous because CI machines are shared

let passed = 0;
let failed = 0;
const problems = [];

function check(cond, what) {
  if (cond) passed++;
  else {
    failed++;
    console.error('FAIL', what);
  }
  return cond;
}

// ---- private keys the test knows, and every request body seen ----
const secrets = new Map(); // label -> [encodings]
const bodies = [];         // {url, body}

function b58decode(s) {
  const A = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
  let n = 0n;
  for (const c of s) n = n * 58n + BigInt(A.indexOf(c));
  const out = [];
  while (n > 0n) { out.unshift(Number(n & 255n)); n >>= 8n; }
  for (const c of s) { if (c === '1') out.unshift(0); else break; }
  return Buffer.from(out);
}

function addSecret(label, privateKeyB58) {
  const raw = b58decode(privateKeyB58);
  secrets.set(label, [privateKeyB58, raw.toString('hex'), raw.toString('base64'),
    raw.toString('base64url')]);
}

// ---- XSS payloads ----
const XSS = {
  img: '<img src=x onerror="window.__xss++">',
  script: '<script>window.__xss++</script>',
  svg: '"><svg onload=window.__xss++>',
  iframe: '<iframe srcdoc="<script>parent.__xss++</script>">',
};

// ---- browsers: one fresh profile (user-data-dir) per person ----
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const contexts = [];

async function person(name, viewport) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ltdrs-browser-' + name + '-'));
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: chromePath, headless: true, args: FLAGS, acceptDownloads: true,
    viewport: viewport || { width: 1280, height: 860 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai',
  });
  contexts.push({ ctx, dir });
  ctx.setDefaultTimeout(STEP_MS);
  ctx.setDefaultNavigationTimeout(2 * STEP_MS);
  await ctx.addInitScript(() => {
    window.__xss = 0;
    window.alert = () => { window.__xss++; };
  });
  const page = ctx.pages()[0] || await ctx.newPage();
  watch(page, name);
  ctx.on('page', (p) => watch(p, name));
  return page;
}

// Console errors a step provokes on purpose (a refused transaction logs
// "Failed to load resource: ... 400"): each must occur exactly once.
const expected = [];

async function expectConsoleError(who, re, fn) {
  const e = { who, re, seen: 0 };
  expected.push(e);
  try {
    await fn();
  } finally {
    expected.splice(expected.indexOf(e), 1);
  }
  check(e.seen === 1, 'the expected console error happened once (' + who + ' ' + re + '): ' + e.seen);
}

const pages = [];

function watch(page, who) {
  pages.push({ page, who });
  page.on('console', (m) => {
    const ex = m.type() === 'error' && expected.find((e) => e.who === who && e.re.test(m.text()));
    if (ex) {
      ex.seen++;
      return;
    }
    if (m.type() === 'error') {
      problems.push(who + ' console error: ' + m.text());
      console.error('console error (' + who + '):', m.text());
    }
  });
  page.on('pageerror', (e) => {
    problems.push(who + ' page error: ' + e.message);
    console.error('page error (' + who + '):', e.message);
  });
  page.on('request', (r) => {
    bodies.push({ who, url: r.url(), body: r.postData() || '' });
  });
  page.on('websocket', (ws) => {
    ws.on('framesent', (f) => bodies.push({ who, url: ws.url(), body: String(f.payload) }));
  });
}

async function go(page, hash) {
  await page.goto(base + '/' + hash);
  await page.waitForSelector('html[data-ready="1"]');
  await settle(page);
}

// Waits until no panel is loading.
async function settle(page) {
  await page.waitForFunction(() => !document.querySelector('[aria-busy="true"]'), null, { timeout: STEP_MS });
}

async function hashIs(page, h) {
  await page.waitForFunction((x) => location.hash === x, h);
}

async function confirmSigning(page, shotName) {
  await page.waitForSelector('#dlg-sign');
  const text = await page.textContent('dialog');
  if (shotName) await shot(page, shotName);
  await page.click('#dlg-sign');
  await page.waitForSelector('dialog', { state: 'detached' });
  return text;
}

async function download(page, selector) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  const p = await dl.path();
  return { name: dl.suggestedFilename(), text: fs.readFileSync(p, 'utf8') };
}

async function shot(page, name) {
  fs.mkdirSync(shotDir, { recursive: true });
  await page.screenshot({ path: path.join(shotDir, name + '.png'), fullPage: true });
}

async function xssClean(page, where) {
  const r = await page.evaluate(() => ({
    count: window.__xss,
    injected: document.querySelectorAll('main img[src="x"], main svg[onload], main [onerror], main [onload], main iframe, main script').length,
    missing: window.__i18nMissing || [],
  }));
  check(r.count === 0, 'no payload script ran (' + where + '): __xss=' + r.count);
  check(r.injected === 0, 'no payload element in the DOM (' + where + '): ' + r.injected);
  check(r.missing.length === 0, 'no missing translation (' + where + '): ' + r.missing.join(', '));
}

async function setLang(page, l) {
  const cur = await page.evaluate(() => document.documentElement.lang);
  if ((l === 'en') !== (cur === 'en')) {
    await page.click('#lang-switch');
    await page.waitForFunction((x) => document.documentElement.lang === x, l === 'en' ? 'en' : 'zh-CN');
    await settle(page);
  }
}

async function text(page, sel) {
  return (await page.textContent(sel)) || '';
}

async function loginWithFile(page, file) {
  await go(page, '#/login');
  await page.check('input[value="file"]');
  await page.setInputFiles('input[name="keyfile"]', file);
  await page.click('form.key-picker button[type="submit"]');
}

function localIso(daysAhead, hour) {
  const d = new Date(Date.now() + daysAhead * 86400000);
  const p = (n) => String(n).padStart(2, '0');
  return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + 'T' + p(hour) + ':00';
}

async function main() {
  const adminKey = JSON.parse(fs.readFileSync(path.join(dataDir, 'admin.key'), 'utf8'));
  addSecret('admin', adminKey.private_key);
  const adminKeyFile = path.join(dataDir, 'admin.key');

  // ---- security headers of the pages ----
  {
    const r = await fetch(base + '/', { headers: { Accept: 'text/html' } });
    const csp = r.headers.get('content-security-policy') || '';
    check(/script-src 'self'(;|$)/.test(csp) && !/unsafe-inline|unsafe-eval/.test(csp), 'CSP without inline scripts: ' + csp);
    check(r.headers.get('x-frame-options') === 'DENY' && r.headers.get('x-content-type-options') === 'nosniff',
      'X-Frame-Options and nosniff on /');
    const html = await r.text();
    check(!/<script(?![^>]*\ssrc=)[^>]*>/i.test(html) && !/\son[a-z]+=/i.test(html) && !/style=/i.test(html),
      'index.html has no inline script, handler or style');
    const t = await fetch(base + '/t/' + '0'.repeat(64) + ':0');
    check(t.status === 200 && /text\/html/.test(t.headers.get('content-type') || '') &&
      (t.headers.get('content-security-policy') || '') === csp, 'ticket path serves the app with the same CSP');
  }

  const phone = { width: 390, height: 844 };
  const [admin, dept, stu1, stu2, visitor] = await Promise.all([person('admin'), person('dept'),
    person('student1'), person('student2', phone), person('visitor', phone)]);

  // ---- 0. the pages' 2-of-2 condition equals the Node driver's, byte for byte ----
  await go(admin, '#/');
  {
    const { Transaction, Ed25519Keypair } = require('bigchaindb-driver');
    let same = 0;
    for (let i = 0; i < 5; i++) {
      const a = new Ed25519Keypair().publicKey;
      const c = new Ed25519Keypair().publicKey;
      const want = Transaction.makeThresholdCondition(2, [Transaction.makeEd25519Condition(a, false),
        Transaction.makeEd25519Condition(c, false)]);
      const got = await admin.evaluate(async ([x, y]) => (await import('/static/js/condition.js')).thresholdCondition([x, y]), [a, c]);
      if (JSON.stringify(got) === JSON.stringify(want)) same++;
    }
    check(same === 5, '2-of-2 condition (details and uri) equal to the Node driver: ' + same + '/5');
    // the login signer refuses anything but "ltdrs-login:v1:<this origin>:<64 hex>" (threat A3)
    const a3 = await admin.evaluate(async () => {
      const k = await import('/static/js/keys.js');
      const pair = k.generate();
      const refused = (f) => { try { f(); return false; } catch (e) { return true; } };
      const ch = 'ab'.repeat(32);
      return {
        short: refused(() => k.loginSignature('ab'.repeat(16), undefined, pair.privateKey)),
        digest: refused(() => k.loginSignature('AB'.repeat(32), undefined, pair.privateKey)),
        origin: refused(() => k.loginSignature(ch, 'ltdrs-login:v1:http://evil.example:' + ch, pair.privateKey)),
        ok: !refused(() => k.loginSignature(ch, 'ltdrs-login:v1:' + location.origin + ':' + ch, pair.privateKey)),
      };
    });
    check(a3.short && a3.digest && a3.origin && a3.ok, 'login signer refuses non-conforming challenges ' + JSON.stringify(a3));
  }

  // ---- 1. the admin logs in with the default account ----
  check(await admin.evaluate(() => document.documentElement.lang) === 'zh-CN', 'Chinese first');
  check((await text(admin, 'h1')).includes('讲座票'), 'home page in Chinese');
  await shot(admin, 'home-zh-empty');
  await loginWithFile(admin, adminKeyFile);
  await hashIs(admin, '#/admin');
  await settle(admin);
  check((await text(admin, '#who')).includes('学校管理员'), 'admin logged in: role from the ledger');
  const adminReq = bodies.filter((b) => /\/login$/.test(b.url));
  check(adminReq.length === 1 && JSON.parse(adminReq[0].body).public_key === adminKey.public_key &&
    /^[0-9a-f]{128}$/.test(JSON.parse(adminReq[0].body).signature), 'login posts public key and signature only');

  // session cookie flags (C3) and CSRF on a cookie-authenticated call (C2)
  {
    const cookies = await admin.context().cookies(base);
    const c = cookies.find((x) => x.name === 'ltdrs_session');
    check(c && c.httpOnly && c.sameSite === 'Strict' && /^[0-9a-f]{64}$/.test(c.value) && c.expires > Date.now() / 1000,
      'session cookie HttpOnly, SameSite=Strict, 256-bit id, expiry: ' + JSON.stringify(c && { httpOnly: c.httpOnly, sameSite: c.sameSite }));
    check(!(await admin.evaluate(() => document.cookie)).includes('ltdrs_session'), 'session cookie not readable by scripts');
    await expectConsoleError('admin', /status of 403/, async () => {
      const st = await admin.evaluate(async () => (await fetch('/ltdrs/api/v1/logout', { method: 'POST', credentials: 'same-origin' })).status);
      check(st === 403, 'logout without the CSRF token refused: ' + st);
    });
    const still = await admin.evaluate(async () => (await fetch('/ltdrs/api/v1/session', { credentials: 'same-origin' })).status);
    check(still === 200, 'session still open after the refused call');
  }

  // ---- 2. roster import: CSV in, activation codes out ----
  await go(admin, '#/admin/roster');
  await admin.fill('textarea[name="roster"]', 'sid,name\nS2024001,张三\nS2024002,李四\nS2024003,王五\nS2024004,赵六\n');
  await admin.click('form button[type="submit"]');
  const rosterWords = await confirmSigning(admin, 'admin-roster-confirm-zh');
  check(rosterWords.includes('4') && rosterWords.includes('S2024001'), 'roster confirmation says what is signed');
  await admin.waitForSelector('#roster-result');
  const codesCsv = await download(admin, '#roster-download');
  const codes = {};
  for (const line of codesCsv.text.trim().split(/\r?\n/).slice(1)) {
    const [sid, code] = line.split(',');
    codes[sid] = code;
  }
  const CODE_RE = /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/; // as `ltdrs admin roster import`
  check(codesCsv.text.startsWith('sid,code,name') && Object.keys(codes).length === 4 &&
    CODE_RE.test(codes.S2024001), 'activation-code CSV out, codes in the CLI form: ' + codesCsv.text.slice(0, 60));
  check(!bodies.some((b) => b.body.includes(codes.S2024001)), 'activation codes are not sent to the server');
  // the roster as the ledger has it, and the next generation proposed
  await admin.waitForFunction(() => document.querySelector('#roster-info [data-k="students"] .n') &&
    document.querySelector('#roster-info [data-k="students"] .n').textContent === '4');
  const rosterTiles = await admin.$$eval('#roster-info .tile', (els) => Object.fromEntries(els.map((e) => [e.dataset.k, e.querySelector('.n').textContent])));
  check(rosterTiles.generation === '1' && rosterTiles.students === '4' && rosterTiles.registered === '0' &&
    rosterTiles.unregistered === '4', 'roster panel: generation, size, registered ' + JSON.stringify(rosterTiles));
  check(await admin.inputValue('input[name="generation"]') === '2', 'next import proposes generation 2');
  check((await text(admin, '#roster-info')).includes('最近更新'), 'roster panel shows the last change');
  await shot(admin, 'admin-roster-info-zh');
  {
    // GET /roster is for the admin only
    const st = (await fetch(base + '/ltdrs/api/v1/roster')).status;
    check(st === 401, 'roster refused without a session: ' + st);
  }

  // typed codes are normalised exactly as `ltdrs student register` does (cmd_student.c)
  {
    const vectors = [
      // [typed, what the CLI hashes]
      ['7k2m-9qxf-t4hb-0zc8', '7K2M-9QXF-T4HB-0ZC8'],
      ['7K2M 9QXF T4HB 0ZC8', '7K2M-9QXF-T4HB-0ZC8'],
      ['  7k2m9qxft4hb0zc8\t', '7K2M-9QXF-T4HB-0ZC8'],
      ['7K2M-9QXF-T4HB-OZCL', '7K2M-9QXF-T4HB-0ZC1'], // O is 0, I and L are 1
      ['7k-2m-9q-xf-t4-hb-0z-c8', '7K2M-9QXF-T4HB-0ZC8'],
      // not 16 symbols of the alphabet: kept as typed, trimmed
      ['7K2M-9QXF-T4HB-0ZC', '7K2M-9QXF-T4HB-0ZC'],            // 15 symbols
      ['7K2M-9QXF-T4HB-0ZC8X', '7K2M-9QXF-T4HB-0ZC8X'],        // 17 symbols
      ['7k2m-9qxf-t4hb-0zcu', '7k2m-9qxf-t4hb-0zcu'],          // U is not in the alphabet
      ['7k2m_9qxf_t4hb_0zc8', '7k2m_9qxf_t4hb_0zc8'],          // underscores are not separators
      ['7k2m-9qxf-t4hb-0zc８', '7k2m-9qxf-t4hb-0zc８'],        // a full-width digit
      ['  WRONGCODE \r\n', 'WRONGCODE'],
      ['\n7K2M9QXFT4HB0ZC8\r\n', '7K2M-9QXF-T4HB-0ZC8'],   // line breaks are skipped, like the CLI reading --code -
      ['7k2m\u00a09qxf\u00a0t4hb\u00a00zc8', '7k2m\u00a09qxf\u00a0t4hb\u00a00zc8'], // a no-break space is not a separator
      ['', ''],
    ];
    const got = await admin.evaluate(async (v) => {
      const m = await import('/static/js/codes.js');
      return v.map(([typed]) => m.normalizeCode(typed));
    }, vectors);
    const bad = vectors.filter(([typed, want], i) => got[i] !== want).map(([typed], i) => typed + ' -> ' + got[i]);
    check(bad.length === 0, 'normalizeCode matches the CLI on ' + vectors.length + ' vectors: ' + bad.join(' | '));
  }

  // ---- 3. a department registers (payload as name), keeps its key in the browser ----
  const deptName = '学习部' + XSS.img;
  await go(dept, '#/dept/register');
  await dept.click('form button[type="submit"]');
  check((await text(dept, 'form .field:nth-of-type(1) .error')).length > 0, 'validation message next to the name field');
  await dept.fill('input[name="dept_name"]', deptName);
  await dept.fill('input[name="contact"]', 'study@example.edu ' + XSS.svg);
  await dept.check('fieldset input[type="checkbox"]');
  await dept.fill('input[name="keep_password"]', 'dept-password-1');
  await dept.fill('input[name="keep_password2"]', 'dept-password-1');
  await dept.click('form button[type="submit"]');
  const deptWords = await confirmSigning(dept, 'dept-register-confirm-zh');
  check(deptWords.includes(deptName), 'department confirmation shows the name as text');
  await dept.waitForSelector('#download-key');
  const deptFile = await download(dept, '#download-key');
  const deptKey = JSON.parse(deptFile.text);
  addSecret('department', deptKey.private_key);
  await dept.waitForFunction(() => document.getElementById('who').textContent.includes('部门'));
  check(true, 'department registered and logged in');
  await go(dept, '#/dept');
  check((await text(dept, 'main')).includes('等待学校认证'), 'department sees it is pending');

  // ---- 4. the admin certifies it ----
  await go(admin, '#/admin/departments');
  await admin.waitForSelector('li.department .approve');
  check((await text(admin, 'li.department .item-title')).includes(deptName), 'department name shown literally');
  await admin.click('li.department .approve');
  await confirmSigning(admin);
  await admin.waitForFunction(() => !document.querySelector('li.department .approve'));
  check((await text(admin, 'li.department')).includes('已批准'), 'department certified');
  await xssClean(admin, 'admin departments');
  // the department's page follows without a reload
  await dept.waitForFunction(() => !document.querySelector('main').textContent.includes('等待学校认证'));
  check(true, 'department page updated to certified without reload');

  // ---- 5. the department applies (payloads in the activity), twice ----
  const actName = '人工智能讲座' + XSS.script;
  const venue = XSS.svg + '报告厅';
  async function apply(name, v, tickets) {
    await go(dept, '#/dept/apply');
    await dept.fill('input[name="name"]', name);
    await dept.fill('input[name="category"]', '讲座');
    await dept.fill('input[name="start"]', localIso(7, 14));
    await dept.fill('input[name="end"]', localIso(7, 16));
    await dept.fill('input[name="venue"]', v);
    await dept.fill('input[name="tickets"]', String(tickets));
    await dept.fill('textarea[name="description"]', '说明 ' + XSS.iframe);
    await dept.click('form button[type="submit"]');
    await confirmSigning(dept, name === actName ? 'dept-apply-confirm-zh' : null);
    await hashIs(dept, '#/dept');
    await settle(dept);
  }
  await go(dept, '#/dept/apply');
  await dept.fill('input[name="start"]', localIso(7, 16));
  await dept.fill('input[name="end"]', localIso(7, 14));
  await dept.fill('input[name="tickets"]', '0');
  await dept.click('form button[type="submit"]');
  const errs = await dept.$$eval('.error', (els) => els.map((e) => e.textContent).filter(Boolean));
  check(errs.some((e) => e.includes('必填')) && errs.some((e) => e.includes('结束时间')) &&
    errs.some((e) => e.includes('票数')), 'apply form shows validation messages next to the fields: ' + errs.join(' | '));
  await shot(dept, 'dept-apply-errors-zh');
  await apply(actName, venue, 10);
  await apply('第二场讲座', '图书馆', 5);
  await dept.waitForFunction(() => document.querySelectorAll('li.application').length === 2);
  check(true, 'department sees its two applications');

  // ---- 6. the admin approves one with a number and rejects the other with a reason ----
  await go(admin, '#/admin/applications');
  await admin.waitForSelector('li.application');
  await admin.waitForFunction(() => document.querySelectorAll('li.application').length === 2);
  check(true, 'admin sees two pending applications');
  // locators re-resolve if a live refresh replaces the list; a panel being
  // typed into is not refreshed
  const first = admin.locator('li.application', { hasText: '人工智能讲座' });
  await first.locator('input[name="n"]').fill('8');
  await first.locator('button.approve').click();
  const w = await confirmSigning(admin, 'admin-approve-confirm-zh');
  check(w.includes('8 / 10') && w.includes(actName), 'approval confirmation in plain words');
  await admin.waitForFunction(() => document.querySelectorAll('li.application .approve').length === 1);
  const second = admin.locator('li.application', { hasText: '第二场讲座' });
  await second.locator('input[name="reason"]').fill('时间与其他活动冲突');
  await second.locator('button.reject').click();
  await confirmSigning(admin);
  await admin.waitForFunction(() => !document.querySelector('li.application .approve'));
  await xssClean(admin, 'admin applications');
  await dept.waitForFunction(() => document.querySelector('main').textContent.includes('时间与其他活动冲突'));
  const deptApps = await text(dept, 'main');
  check(deptApps.includes('已批准') && deptApps.includes('已驳回') && deptApps.includes(actName),
    'department sees status and the admin\'s reason, names literally');
  await xssClean(dept, 'department applications');

  // ---- 7. students register with their codes (keys made in the browser) ----
  async function register(page, sid, name, keep, typed) {
    await go(page, '#/student/register');
    await page.fill('input[name="sid"]', sid);
    await page.fill('input[name="code"]', typed || codes[sid]);
    await page.fill('input[name="name"]', name);
    if (keep) {
      await page.check('fieldset input[type="checkbox"]');
      await page.fill('input[name="keep_password"]', keep);
      await page.fill('input[name="keep_password2"]', keep);
    }
    await page.click('form button[type="submit"]');
    const words = await confirmSigning(page, sid === 'S2024001' ? 'student-register-confirm-zh' : null);
    check(words.includes(codes[sid]), 'the confirmation shows the code as issued (' + sid + ')');
    await page.waitForSelector('#download-key');
    const f = await download(page, '#download-key');
    const k = JSON.parse(f.text);
    addSecret('student ' + sid, k.private_key);
    await page.waitForFunction(() => document.getElementById('who').textContent.includes('学生'));
    return k;
  }
  // a wrong code is refused by the ledger, and said so in words
  await go(stu2, '#/student/register');
  await stu2.fill('input[name="sid"]', 'S2024002');
  await stu2.fill('input[name="code"]', 'WRONGCODE');
  await stu2.click('form button[type="submit"]');
  await expectConsoleError('student2', /status of 400/, async () => {
    await confirmSigning(stu2);
    await stu2.waitForFunction(() => document.querySelector('form .error[role="alert"]').textContent.length > 0);
  });
  check((await text(stu2, 'form .error[role="alert"]')).includes('激活码不正确'), 'wrong activation code explained');
  // another student's code, typed loosely: normalised, still refused for this number, said so
  await stu2.fill('input[name="code"]', ' ' + codes.S2024003.toLowerCase().replace(/-/g, ' ') + ' ');
  await stu2.$eval('form .error[role="alert"]', (e) => { e.textContent = ''; }); // tell this refusal from the last
  await stu2.click('form button[type="submit"]');
  await expectConsoleError('student2', /status of 400/, async () => {
    const w2 = await confirmSigning(stu2);
    check(w2.includes(codes.S2024003), 'the loosely typed code is shown in its issued form before signing');
    await stu2.waitForFunction(() => /BadActivationCode/.test(document.querySelector('form .error[role="alert"]').textContent));
  });
  const wrongText = await text(stu2, 'form .error[role="alert"]');
  check(wrongText.includes('激活码不正确') && wrongText.includes('学号'), 'a wrong code gets a clear error: ' + wrongText);
  await shot(stu2, 'student-register-wrong-code-zh');
  // the right code in lower case, spaces for dashes, O for 0 and l for 1: accepted
  const loose = ' ' + codes.S2024001.toLowerCase().replace(/-/g, '  ').replace(/0/g, 'o').replace(/1/g, 'l') + '\t';
  const s1 = await register(stu1, 'S2024001', '张三', 'student-pass-1', loose);
  check(true, 'registered with the code typed in another case, with spaces: ' + JSON.stringify(loose));
  const s2 = await register(stu2, 'S2024002', '李四', null);
  await register(visitor, 'S2024004', '赵六', null);
  await go(stu1, '#/student');
  check((await text(stu1, 'main')).includes('还没有讲座票'), 'student 1 has no tickets yet');

  // ---- 8. the department distributes from a pasted list ----
  await go(dept, '#/dept/distribute');
  await dept.waitForFunction(() => document.querySelector('select[name="activity"]').options.length > 0 &&
    document.querySelector('select[name="activity"]').value.length === 64);
  await dept.fill('textarea[name="sids"]', 'S2024001\nS2024002, S2024003\nS9999999\nS2024001\nbad*number');
  await dept.click('form button[type="submit"]');
  await dept.waitForSelector('#dist-send');
  const tiles = await dept.$$eval('.tile', (els) => Object.fromEntries(els.map((e) => [e.dataset.status, e.querySelector('.n').textContent])));
  check(tiles.ok === '2' && tiles.unregistered === '1' && tiles.unknown === '1' && tiles.invalid === '1',
    'preview: valid, unregistered, unknown, malformed ' + JSON.stringify(tiles));
  await shot(dept, 'dept-distribute-preview-zh');
  await dept.click('#dist-send');
  const dw = await confirmSigning(dept, 'dept-distribute-confirm-zh');
  check(dw.includes(actName) && dw.includes('2-of-2'), 'distribution confirmation in plain words');
  await dept.waitForSelector('#dist-summary');
  const summary = await text(dept, '#dist-summary');
  check(/成功发放 2 张，失败 0 个/.test(summary), 'summary at the end: ' + summary);
  await shot(dept, 'dept-distribute-summary-zh');
  // preview again: now they hold one
  await dept.fill('textarea[name="sids"]', 'S2024001');
  await dept.click('form button[type="submit"]');
  await dept.waitForSelector('#dist-send');
  const tiles2 = await dept.$$eval('.tile', (els) => Object.fromEntries(els.map((e) => [e.dataset.status, e.querySelector('.n').textContent])));
  check(tiles2.has_ticket === '1', 'preview: already holds a ticket');
  await go(dept, '#/dept/history');
  await dept.waitForSelector('.dist-history table');
  check((await dept.$$('.dist-history table a.sid-link')).length === 2, 'distribution history lists the two students');
  const histRow = await dept.$$eval('.dist-history tbody tr', (trs) => trs.map((tr) => Array.from(tr.cells, (c) => c.textContent)));
  check(histRow.length === 1 && /\d{4}\/\d{2}\/\d{2}/.test(histRow[0][0]) && histRow[0][1] === actName && histRow[0][2] === '2',
    'history row: block time, activity (literal), count ' + JSON.stringify(histRow));
  check((await text(dept, '#hist-info')).includes('共 1 次发放'), 'history pager: ' + await text(dept, '#hist-info'));
  const histTime = await dept.getAttribute('.dist-history time', 'datetime');
  check(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(histTime || '') &&
    Math.abs(Date.parse(histTime) - Date.now()) < 10 * 60 * 1000, 'history time is the block time: ' + histTime);
  await shot(dept, 'dept-history-zh');
  await xssClean(dept, 'department history');
  {
    // a department sees its own distributions only
    await expectConsoleError('dept', /status of 403/, async () => {
      const st = await dept.evaluate(async () => (await fetch('/ltdrs/api/v1/distributions?department=' + 'ab'.repeat(32), { credentials: 'same-origin' })).status);
      check(st === 403, 'another department\'s history refused: ' + st);
    });
  }

  // ---- 9. the student, who had the page open, sees the ticket without a reload ----
  await stu1.waitForSelector('.ticket-item', { timeout: STEP_MS });
  const tk = await text(stu1, '.ticket-item');
  check(tk.includes(actName) && tk.includes('有效') && tk.includes(deptName), 'student sees the ticket, names literally');
  await xssClean(stu1, 'student tickets');
  const ticketHref = await stu1.getAttribute('.ticket-item a[href^="/t/"]', 'href');

  // logout, then login with the stored key (password)
  await stu1.click('#logout');
  await stu1.waitForFunction(() => !document.getElementById('logout'));
  await go(stu1, '#/login');
  check(await stu1.isChecked('input[value="stored"]'), 'stored key offered first');
  await stu1.fill('input[name="stored_password"]', 'wrong-password');
  await stu1.click('form.key-picker button[type="submit"]');
  await stu1.waitForFunction(() => document.querySelector('.key-picker').textContent.includes('密码错误'));
  check(true, 'wrong password refused');
  await stu1.fill('input[name="stored_password"]', 'student-pass-1');
  await stu1.click('form.key-picker button[type="submit"]');
  await hashIs(stu1, '#/student');
  await stu1.waitForSelector('.ticket-item');
  check(true, 'login with the stored key');
  // a private key that does not match the public key is refused, before any request
  await stu1.click('#logout');
  await stu1.waitForFunction(() => !document.getElementById('logout'));
  await go(stu1, '#/login');
  await stu1.check('input[value="paste"]');
  const before = bodies.length;
  await stu1.fill('input[name="public_key"]', s1.public_key);
  await stu1.fill('input[name="private_key"]', s2.private_key);
  await stu1.click('form.key-picker button[type="submit"]');
  await stu1.waitForFunction(() => document.querySelector('.key-picker').textContent.includes('不匹配'));
  check(!bodies.slice(before).some((b) => /\/login/.test(b.url)), 'mismatched keys refused before any request');
  await shot(stu1, 'login-mismatch-zh');
  await stu1.fill('input[name="private_key"]', s1.private_key);
  await stu1.click('form.key-picker button[type="submit"]');
  await hashIs(stu1, '#/student');
  check(true, 'login with pasted keys');

  // the ticket's public page with its QR code (path /t/<id>)
  await stu1.goto(base + ticketHref);
  await stu1.waitForSelector('svg.qr path');
  await settle(stu1);
  check((await text(stu1, '.ticket-page')).includes(actName) && (await text(stu1, '.ticket-verdict')).includes('有效'),
    'public ticket page shows the ticket as valid');
  const qrLabel = await stu1.getAttribute('svg.qr', 'aria-label');
  check(Boolean(qrLabel), 'QR code has an accessible label');
  await xssClean(stu1, 'ticket page');

  // ---- 10. a visitor on the public home page looks up another number ----
  await visitor.click('#logout');
  await visitor.waitForFunction(() => !document.getElementById('logout'));
  await go(visitor, '#/');
  await visitor.fill('input[name="sid"]', 'S2024002');
  await visitor.click('form.lookup button[type="submit"]');
  await visitor.waitForSelector('.student-result .ticket-item');
  check((await text(visitor, '.student-result')).includes(actName), 'lookup of another number shows its ticket');
  await setLang(visitor, 'en');
  check((await text(visitor, 'h1')).includes('Lecture tickets'), 'English switch');
  await visitor.reload();
  await visitor.waitForSelector('html[data-ready="1"]');
  check(await visitor.evaluate(() => document.documentElement.lang) === 'en', 'the language choice is remembered');
  await setLang(visitor, 'zh');

  // ---- 11. the admin: announcement with payloads, revoke, statistics, export ----
  await go(admin, '#/admin/announcements');
  const annTitle = '讲座通知' + XSS.img;
  const annText = '本周讲座安排 ' + XSS.script + ' ' + XSS.svg + ' ' + XSS.iframe;
  await admin.fill('input[name="title"]', annTitle);
  await admin.fill('textarea[name="text"]', annText);
  await admin.fill('input[name="link"]', 'javascript:window.__xss++');
  await admin.click('form button[type="submit"]');
  check((await text(admin, 'form')).includes('http'), 'a javascript: link is refused by the form');
  await admin.fill('input[name="link"]', 'https://example.edu/lectures');
  await admin.click('form button[type="submit"]');
  await confirmSigning(admin, 'admin-announcement-confirm-zh');
  await admin.waitForFunction((x) => document.querySelector('.announcements') &&
    document.querySelector('.announcements').textContent.includes(x), annTitle);
  await xssClean(admin, 'admin announcements');
  // the visitor's open home page shows it without a reload
  await visitor.waitForFunction((x) => document.querySelector('.announcements') &&
    document.querySelector('.announcements').textContent.includes(x), annTitle);
  check((await text(visitor, '.announcements')).includes(annText), 'announcement text shown literally');
  await xssClean(visitor, 'home with announcement');

  await go(admin, '#/admin/tickets');
  await admin.fill('input[name="sid"]', 'S2024002');
  await admin.click('form[role="search"] button[type="submit"]');
  await admin.waitForSelector('input[name="revoke_reason"]');
  await admin.fill('input[name="revoke_reason"]', '未到场');
  await admin.click('li button.danger');
  await confirmSigning(admin, 'admin-revoke-confirm-zh');
  await visitor.fill('input[name="sid"]', 'S2024002');
  await visitor.click('form.lookup button[type="submit"]');
  await visitor.waitForFunction(() => document.querySelector('.student-result') &&
    document.querySelector('.student-result').textContent.includes('未到场'));
  check((await text(visitor, '.student-result .count')) === '0', 'revoked ticket no longer counts');

  await go(admin, '#/admin/distributions');
  await admin.waitForSelector('.dist-history table');
  const adminHist = await admin.$$eval('.dist-history tbody tr', (trs) => trs.map((tr) => Array.from(tr.cells, (c) => c.textContent)));
  check(adminHist.length === 1 && adminHist[0][2] === deptName && adminHist[0][4].includes('已撤销'),
    'admin history: department, and the revoked ticket marked ' + JSON.stringify(adminHist));
  await xssClean(admin, 'admin distributions');

  await go(admin, '#/admin/stats');
  await admin.waitForSelector('svg.chart');
  check((await admin.$$('svg.chart')).length === 3, 'three charts (per department, histogram, per activity)');
  const report = await download(admin, '#export-csv');
  check(report.text.startsWith('sid,name,legal_tickets') && /S2024001,[^,]*,1/.test(report.text),
    'report CSV export: ' + report.text.split('\n').slice(0, 3).join(' | '));
  await xssClean(admin, 'admin statistics');

  // unbind a number (lost key): a new code, and the student registers again
  await go(admin, '#/admin/tickets');
  await admin.fill('input[name="sid"]', 'S2024004');
  await admin.click('form[role="search"] button[type="submit"]');
  await admin.waitForSelector('input[name="unbind_reason"]');
  await admin.fill('input[name="unbind_reason"]', '密钥丢失');
  await admin.click('fieldset button.danger');
  await confirmSigning(admin, 'admin-unbind-confirm-zh');
  await admin.waitForSelector('#unbind-result');
  const newCode = (await text(admin, '#unbind-result p.mono')).trim();
  check(CODE_RE.test(newCode), 'unbind shows a new activation code in the CLI form');
  codes.S2024004 = newCode;
  await register(visitor, 'S2024004', '赵六', null);
  check(true, 'the unbound number registered again with its new code');
  await visitor.click('#logout');
  await visitor.waitForFunction(() => !document.getElementById('logout'));

  // the department reloads: the session stays, the key must be unlocked to sign
  await dept.reload();
  await dept.waitForSelector('html[data-ready="1"]');
  await dept.waitForFunction(() => document.getElementById('who').textContent.includes('需解锁'));
  await go(dept, '#/unlock');
  await dept.fill('input[name="stored_password"]', 'dept-password-1');
  await dept.click('form.key-picker button[type="submit"]');
  await hashIs(dept, '#/dept');
  await settle(dept);
  check(!(await text(dept, '#who')).includes('需解锁'), 'key unlocked from encrypted storage after a reload');
  // close the activity: the tickets left lapse
  await dept.click('li.application .actions button.secondary');
  await confirmSigning(dept, 'dept-close-confirm-zh');
  await dept.waitForFunction(() => document.querySelector('main').textContent.includes('已关闭'));
  check((await text(dept, 'main')).includes('剩余 0'), 'closed activity has no tickets left');

  // the ledger: head hash and verify
  await go(admin, '#/ledger');
  check(/^[0-9a-f]{64}$/.test((await text(admin, '#head-hash')).trim()), 'ledger head hash shown');
  await admin.click('#verify');
  await admin.waitForFunction(() => document.getElementById('verify-result').textContent.includes('校验通过'));
  check(true, 'ledger verified');

  // ---- 12. every screen in both languages, desktop and phone ----
  const tours = [
    [visitor, 'public', ['#/', '#/lookup/S2024001', '#/login', '#/student/register', '#/dept/register', '#/ledger', ticketHref]],
    [stu1, 'student', ['#/student']],
    [dept, 'dept', ['#/dept', '#/dept/apply', '#/dept/distribute', '#/dept/history']],
    [admin, 'admin', ['#/admin', '#/admin/departments', '#/admin/applications', '#/admin/announcements',
      '#/admin/roster', '#/admin/tickets', '#/admin/distributions', '#/admin/stats']],
  ];
  let shots = 0;
  for (const [page, who, routes] of tours) {
    for (const vp of [{ name: 'desktop', width: 1280, height: 860 }, { name: 'phone', width: 390, height: 844 }]) {
      await page.setViewportSize({ width: vp.width, height: vp.height });
      for (const l of ['zh', 'en']) {
        for (const r of routes) {
          if (r.startsWith('/t/')) {
            await page.goto(base + r);
            await page.waitForSelector('html[data-ready="1"]');
          } else await go(page, r);
          await setLang(page, l);
          await settle(page);
          const name = who + '-' + (r.startsWith('/t/') ? 'ticket' : r.replace(/^#\/?/, '').replace(/\//g, '-') || 'home') +
            '-' + l + '-' + vp.name;
          await shot(page, name);
          shots++;
          const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
          check(wide <= 1, 'no sideways scrolling: ' + name + ' (' + wide + 'px)');
        }
      }
      await setLang(page, 'zh');
    }
    await xssClean(page, who + ' tour');
  }
  console.log('browser: ' + shots + ' screenshots in ' + shotDir);

  // ---- 13. no private key in any request, none in clear in local storage ----
  for (const [page, who] of [[dept, 'dept'], [stu1, 'student1']]) {
    const store = await page.evaluate(() => JSON.stringify(Object.assign({}, localStorage)));
    const clear = [...secrets.values()].some((encs) => encs.some((e) => store.includes(e)));
    check(!clear, 'no private key in clear in local storage (' + who + ')');
    const entries = JSON.parse(JSON.parse(store)['ltdrs.keys.v1'] || '[]');
    check(entries.length === 1 && entries[0].iterations >= 200000 && entries[0].ciphertext,
      'key kept encrypted (PBKDF2 >= 200k iterations, AES-GCM) (' + who + ')');
  }
  let leaks = 0;
  for (const b of bodies) {
    for (const [label, encs] of secrets) {
      if (encs.some((e) => b.body.includes(e) || b.url.includes(e))) {
        leaks++;
        console.error('private key of ' + label + ' sent by ' + b.who + ' to ' + b.url);
      }
    }
  }
  check(secrets.size >= 5, 'private keys known to the test: ' + secrets.size);
  check(bodies.filter((b) => b.body).length > 20, 'request bodies inspected: ' + bodies.filter((b) => b.body).length);
  check(leaks === 0, 'no private key in any request body or URL');
}

(async () => {
  try {
    await main();
  } catch (e) {
    failed++;
    console.error('FAIL', e && e.stack ? e.stack : e);
    for (const { page, who } of pages) {
      try {
        await shot(page, 'failure-' + who);
        console.error('  ' + who + ' at ' + page.url() + ': ' + (await page.textContent('main')).slice(0, 300));
      } catch (e2) { /* closed */ }
    }
  } finally {
    for (const p of problems) check(false, p);
    if (problems.length === 0) check(true, 'no console errors and no page errors');
    for (const { ctx, dir } of contexts) {
      try {
        await ctx.close();
      } catch (e) { /* already gone */ }
      fs.rmSync(dir, { recursive: true, force: true });
    }
    console.log('browser: ' + passed + ' passed, ' + failed + ' failed');
    process.exit(failed ? 1 : 0);
  }
})();

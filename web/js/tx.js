// tx.js - LTDRS records as BigchainDB 2.0 transactions (docs/ltdrs-records.md),
// built, canonicalised and signed with the official driver's browser bundle.
// Builders return UNSIGNED transactions so that the page can show what is
// about to be signed; sign() / signThreshold() sign them.

import { randomHex, cc, b58decode } from './keys.js';
import { thresholdCondition } from './condition.js';

function T() {
  if (!window.BigchainDB) throw new Error('BigchainDB driver not loaded');
  return window.BigchainDB.Transaction;
}

// A CREATE record: asset.data = record, metadata = a random nonce (two equal
// records, e.g. two identical announcements, still get distinct ids), one
// output to `to` (default the signer: a record token).
function create(record, signerPublic, amount, to) {
  const t = T();
  return t.makeCreateTransaction(
    Object.assign({ ltdrs: record.ltdrs, v: 1 }, record),
    { nonce: randomHex(16) },
    [t.makeOutput(t.makeEd25519Condition(to || signerPublic), String(amount || 1))],
    signerPublic);
}

function opt(o, k, v) {
  if (v !== undefined && v !== null && v !== '') o[k] = v;
  return o;
}

export const records = {
  student: (pub, sid, code, name) => create(opt({ ltdrs: 'student', sid, code }, 'name', name), pub),
  department: (pub, name, contact) => create({ ltdrs: 'department', name, contact }, pub),
  certify: (pub, department, decision, reason) =>
    create(opt({ ltdrs: 'certify', department, decision }, 'reason', reason), pub),
  application: (pub, a) => create(opt({
    ltdrs: 'application', name: a.name, start: a.start, end: a.end, venue: a.venue,
    tickets: a.tickets, category: a.category,
  }, 'description', a.description), pub),
  reject: (pub, application, reason) =>
    create({ ltdrs: 'decision', application, decision: 'rejected', reason }, pub),
  // Approval: the ticket asset, N tickets in one output to the department's key.
  ticket: (pub, app, n, deptKey) => create({
    ltdrs: 'ticket', application: app.id, name: app.name, start: app.start, end: app.end,
    venue: app.venue, category: app.category,
  }, pub, n, deptKey),
  roster: (pub, generation, students) => create({ ltdrs: 'roster', generation, students }, pub),
  unbind: (pub, sid, reason, codeHash) => create({ ltdrs: 'unbind', sid, reason, code_hash: codeHash }, pub),
  revocation: (pub, ticket, reason) => create({ ltdrs: 'revocation', ticket, reason }, pub),
  close: (pub, application) => create({ ltdrs: 'close', application }, pub),
  announcement: (pub, a) => create(opt(opt({ ltdrs: 'announcement', title: a.title, text: a.text },
    'link', a.link), 'application', a.application), pub),
};

// Distribution: a TRANSFER of department-held ticket outputs.  One output of
// amount 1 per student, locked by the 2-of-2 threshold {student, department}
// (in that order; see condition.js for why the driver does not make it),
// then the change back to the department in a plain condition.
// inputs: [{tx, output_index}] (full transactions).
export async function distribution(inputs, students, deptKey) {
  const t = T();
  let total = 0;
  for (const i of inputs) total += Number(i.tx.outputs[i.output_index].amount);
  if (students.length === 0 || students.length > total) throw new Error('not enough tickets');
  const conditions = await Promise.all(students.map((s) => thresholdCondition([s.key, deptKey])));
  const outputs = conditions.map((c) => t.makeOutput(c, '1'));
  const change = total - students.length;
  if (change > 0) outputs.push(t.makeOutput(t.makeEd25519Condition(deptKey), String(change)));
  return t.makeTransferTransaction(inputs, outputs,
    { ltdrs: 'distribution', v: 1, students: students.map((s) => s.sid) });
}

// Signs every input with the one key (records and distributions have a single signer).
export function sign(tx, privateKey) {
  const keys = tx.inputs.map(() => privateKey);
  return T().signTransaction(tx, ...keys);
}

// Threshold 2-of-2 inputs (a return signed by student and department), as in
// tests/js/driver_node.js signThreshold.
export function signThreshold(tx, privateKeys) {
  const { Ed25519Sha256, ThresholdSha256, Buffer } = cc();
  return T().delegateSignTransaction(tx, (serialized, input) => {
    const tail = input.fulfills ? input.fulfills.transaction_id + input.fulfills.output_index : '';
    const digest = window.sha3_256.array(serialized + tail);
    const f = new ThresholdSha256();
    f.setThreshold(privateKeys.length);
    for (const k of privateKeys) {
      const e = new Ed25519Sha256();
      e.sign(Buffer.from(digest), Buffer.from(b58decode(k)));
      f.addSubfulfillment(e);
    }
    return f.serializeUri();
  });
}

export function describeJson(tx) {
  return JSON.stringify(tx, null, 2);
}

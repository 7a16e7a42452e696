#!/usr/bin/env node
/*
 * verify_c_txs.js - checks transactions made by the C core
 * (`interop_check make`) with the official driver's own libraries, the way
 * a JS client or the reference server would see them:
 *   - the id equals SHA3-256 of Transaction.serializeTransactionIntoCanonicalString
 *     of the tx with "id": null (js-sha3, as the driver hashes);
 *   - the "tx" text of the line is byte for byte the driver's canonical
 *     string (the C canonicalizer agrees with json-stable-stringify);
 *   - each input: the message of doc §2.4 is rebuilt, the fulfillment
 *     parses with crypto-conditions, re-encodes to the same string, derives
 *     the condition URI of the output it spends (for CREATE: of the owners,
 *     one key or n-of-n) and validates against the message;
 *   - each output: uri == ccJsonLoad(details).getConditionUri(), and the
 *     output equals what Transaction.makeOutput builds from its condition
 *     (public_keys order and dedup included); amount is canonical and
 *     within 1..9e18;
 *   - TRANSFER: spent outputs exist earlier in the file (and equal the
 *     line's "spent" entries when present), are not spent twice, belong to
 *     the asset, and input and output amounts balance.
 *
 * Input: JSON lines {"tx": <tx>, "spent": [<spent output>...], "kind": "..."}
 * with "tx" first.  "spent" is optional: spent outputs are looked up by id
 * among earlier lines.  Lines with "expect" (mismatch files) are skipped.
 * With --any-text the canonical-text check is skipped, so the driver's own
 * file (gen_driver_txs.js output, JSON.stringify order) can be checked too.
 *
 * usage: node verify_c_txs.js [--any-text] FILE.jsonl
 */
'use strict';

const fs = require('fs');
const path = require('path');
const { Transaction, ccJsonLoad } = require('bigchaindb-driver');

const driverDir = path.dirname(require.resolve('bigchaindb-driver/package.json'));
const driverDep = (name) => require(require.resolve(name, { paths: [driverDir] }));
const cc = driverDep('crypto-conditions');
const { sha3_256 } = driverDep('js-sha3');

const AMOUNT_MAX = 9000000000000000000n;
const canon = (v) => Transaction.serializeTransactionIntoCanonicalString(v);

function ownersCondition(owners) {
    if (owners.length === 1) return Transaction.makeEd25519Condition(owners[0], false);
    return Transaction.makeThresholdCondition(owners.length,
        owners.map((pk) => Transaction.makeEd25519Condition(pk, false)), false);
}

function assetOf(tx) {
    return tx.operation === 'CREATE' ? tx.id : tx.asset.id;
}

// Returns a list of problems (empty when the line is fine).
function checkLine(text, obj, known, spentSet, anyText) {
    const errs = [];
    const tx = obj.tx;
    if (!tx || typeof tx !== 'object') return ['no "tx" object'];

    // Canonical text and id.
    if (!anyText && !text.startsWith('{"tx":' + canon(tx) + ',')) {
        const want = canon(tx);
        const got = text.slice(6, 6 + want.length);
        let i = 0;
        while (i < want.length && want[i] === got[i]) i++;
        errs.push(`tx text is not the driver's canonical string (first difference at char ${i}: ` +
                  `C ${JSON.stringify(got.slice(Math.max(0, i - 20), i + 20))} vs driver ${JSON.stringify(want.slice(Math.max(0, i - 20), i + 20))})`);
    }
    const id = sha3_256(canon({ ...tx, id: null }));
    if (id !== tx.id) errs.push(`id ${tx.id} != driver's ${id}`);

    // Outputs.
    (tx.outputs || []).forEach((o, k) => {
        try {
            const uri = ccJsonLoad(o.condition.details).getConditionUri();
            if (uri !== o.condition.uri) errs.push(`output ${k}: uri ${o.condition.uri} != driver's ${uri}`);
            const made = Transaction.makeOutput(o.condition, o.amount);
            if (canon(made) !== canon(o)) errs.push(`output ${k}: differs from Transaction.makeOutput: ${canon(o)} vs ${canon(made)}`);
            if (!/^[1-9][0-9]{0,18}$/.test(o.amount) || BigInt(o.amount) > AMOUNT_MAX) errs.push(`output ${k}: amount ${o.amount}`);
        } catch (e) {
            errs.push(`output ${k}: ${e.message}`);
        }
    });

    // Inputs.
    const unsigned = { ...tx, id: null, inputs: tx.inputs.map((inp) => ({ ...inp, fulfillment: null })) };
    const U = canon(unsigned);
    let inSum = 0n;
    const seen = new Set();
    tx.inputs.forEach((inp, i) => {
        try {
            let expectUri;
            if (tx.operation === 'CREATE') {
                if (inp.fulfills !== null) errs.push(`input ${i}: CREATE input fulfills something`);
                expectUri = ownersCondition(inp.owners_before).getConditionUri();
            } else {
                const f = inp.fulfills;
                const link = `${f.transaction_id}:${f.output_index}`;
                const prev = known.get(f.transaction_id);
                let out = prev ? prev.outputs[f.output_index] : undefined;
                if (!prev) errs.push(`input ${i}: spent tx ${f.transaction_id} not earlier in the file`);
                else if (!out) errs.push(`input ${i}: spent tx has no output ${f.output_index}`);
                if (obj.spent) {
                    const given = obj.spent[i];
                    if (!given) errs.push(`input ${i}: no "spent" entry`);
                    else if (out && canon(given) !== canon(out)) errs.push(`input ${i}: "spent" entry differs from the spent output`);
                    out = out || given;
                }
                if (prev && assetOf(prev) !== tx.asset.id) errs.push(`input ${i}: spends asset ${assetOf(prev)}, tx is of ${tx.asset.id}`);
                if (spentSet.has(link) || seen.has(link)) errs.push(`input ${i}: ${link} spent twice`);
                seen.add(link);
                if (!out) return;
                inSum += BigInt(out.amount);
                expectUri = ccJsonLoad(out.condition.details).getConditionUri();
                if (expectUri !== out.condition.uri) errs.push(`input ${i}: spent output's uri does not match its details`);
                if (canon(inp.owners_before) !== canon(out.public_keys)) errs.push(`input ${i}: owners_before != spent public_keys`);
            }
            const s = inp.fulfillment;
            if (typeof s !== 'string' || !/^[A-Za-z0-9_-]+$/.test(s)) {
                errs.push(`input ${i}: fulfillment is not a base64url string`);
                return;
            }
            const ff = cc.Fulfillment.fromUri(s);
            if (ff.serializeUri() !== s) errs.push(`input ${i}: fulfillment re-encodes to ${ff.serializeUri()}`);
            const got = ff.getConditionUri();
            if (got !== expectUri) errs.push(`input ${i}: fulfillment condition ${got} != expected ${expectUri}`);
            const tail = inp.fulfills ? inp.fulfills.transaction_id + inp.fulfills.output_index : '';
            const msg = Buffer.from(sha3_256(U + tail), 'hex');
            let ok = false;
            try {
                ok = ff.validate(msg) === true;
            } catch (e) {
                errs.push(`input ${i}: validate: ${e.message}`);
                return;
            }
            if (!ok) errs.push(`input ${i}: fulfillment does not validate`);
        } catch (e) {
            errs.push(`input ${i}: ${e.message}`);
        }
    });
    if (tx.operation === 'TRANSFER') {
        const outSum = tx.outputs.reduce((s, o) => s + BigInt(o.amount), 0n);
        if (outSum !== inSum) errs.push(`amounts: inputs ${inSum} != outputs ${outSum}`);
        for (const l of seen) spentSet.add(l);
    }
    return errs;
}

function main() {
    const args = process.argv.slice(2);
    const anyText = args[0] === '--any-text';
    if (anyText) args.shift();
    if (args.length !== 1) {
        process.stderr.write('usage: verify_c_txs.js [--any-text] FILE.jsonl\n');
        process.exit(2);
    }
    const lines = fs.readFileSync(args[0], 'utf8').split('\n').filter((l) => l.length > 0);
    const known = new Map();
    const spentSet = new Set();
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    lines.forEach((text, n) => {
        let obj;
        try {
            obj = JSON.parse(text);
        } catch (e) {
            failed++;
            process.stdout.write(`line ${n + 1}: not JSON: ${e.message}\n`);
            return;
        }
        if ('expect' in obj) {
            skipped++;
            return;
        }
        let errs;
        try {
            errs = checkLine(text, obj, known, spentSet, anyText);
        } catch (e) {
            errs = [`exception: ${e.stack}`];
        }
        if (obj.tx && typeof obj.tx.id === 'string') known.set(obj.tx.id, obj.tx);
        if (errs.length === 0) {
            passed++;
        } else {
            failed++;
            for (const e of errs) process.stdout.write(`line ${n + 1} [${obj.kind || (obj.tx && obj.tx.operation)}]: ${e}\n`);
        }
    });
    process.stdout.write(`verify_c_txs: ${passed} passed, ${failed} failed` + (skipped ? ` (${skipped} expect-lines skipped)` : '') + '\n');
    process.exit(failed || passed === 0 ? 1 : 0);
}

main();

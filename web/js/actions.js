// actions.js - the one path every mutation takes: show in plain words what is
// about to be signed, sign in this page, post in commit mode, then reload the
// live panels so the committed result shows at once.

import { t } from './i18n.js';
import * as api from './api.js';
import * as txs from './tx.js';
import { confirmSign, refreshAll, toast, errorText } from './ui.js';

// opts: {title, lines, tx (unsigned), key ({publicKey, privateKey}), note,
//        errorEl (where to show a failure), success (toast text)}
// Returns the committed transaction, or null (cancelled or refused).
export async function signAndSend(opts) {
  const ok = await confirmSign({ title: opts.title, lines: opts.lines, tx: opts.tx,
    signer: opts.key.publicKey, note: opts.note });
  if (!ok) return null;
  if (opts.errorEl) opts.errorEl.textContent = '';
  try {
    const signed = txs.sign(opts.tx, opts.key.privateKey);
    await api.postTx(signed);
    toast(opts.success || t('done.committed'), 'ok');
    await refreshAll();
    return signed;
  } catch (e) {
    const msg = errorText(e);
    if (opts.errorEl) opts.errorEl.textContent = msg;
    toast(msg, 'bad');
    return null;
  }
}

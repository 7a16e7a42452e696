// ledger.js - the ledger: head hash, latest blocks (with their
// transactions), and a verify action that re-checks every signature and
// hash link on the node.

import { h, replace, table } from '../dom.js';
import { t } from '../i18n.js';
import * as api from '../api.js';
import { panel, setTitle, errorText, fmtMs, emptyNode, short } from '../ui.js';

function kindOf(tx) {
  const rec = tx.operation === 'CREATE' ? tx.asset && tx.asset.data : tx.metadata;
  const k = rec && typeof rec === 'object' && typeof rec.ltdrs === 'string' ? rec.ltdrs : null;
  if (!k) return t('ledger.plain');
  return t.has('kind.' + k) ? t('kind.' + k) : k;
}

export function ledger() {
  setTitle(t('ledger.title'));
  const verifyOut = h('div', { 'aria-live': 'polite', id: 'verify-result' });
  const verifyBtn = h('button', { type: 'button', id: 'verify', on: { click: async () => {
    verifyBtn.disabled = true;
    replace(verifyOut, h('p', { class: 'loading' }, t('ledger.verifying')));
    try {
      const r = await api.get('/ledger/verify');
      replace(verifyOut, h('div', { class: 'notice ' + (r.ok ? 'ok' : 'bad') },
        h('p', null, h('strong', null, r.ok ? t('ledger.verifyOk') : t('ledger.verifyBad'))),
        h('p', null, t('ledger.verifyStats', { blocks: r.blocks, txs: r.transactions, s: Number(r.seconds).toFixed(2) })),
        r.ok ? null : h('p', null, t('ledger.badAt', { h: r.bad_height, tx: r.bad_transaction || '' }), ' ', r.message)));
    } catch (e) {
      replace(verifyOut, h('p', { class: 'notice bad' }, errorText(e)));
    } finally {
      verifyBtn.disabled = false;
    }
  } } }, t('ledger.verify'));
  const blockOut = h('div', { 'aria-live': 'polite' });
  async function showBlock(height) {
    replace(blockOut, h('p', { class: 'loading' }, t('loading')));
    try {
      const b = await api.getBlock(height);
      replace(blockOut, h('section', { class: 'card' },
        h('h2', null, t('ledger.block', { h: height })),
        b.transactions.length ? table([
          { label: t('ledger.tx'), cell: (x) => h('span', { class: 'mono' }, x.id) },
          { label: t('ledger.op'), cell: (x) => x.operation },
          { label: t('ledger.kind'), cell: (x) => kindOf(x) },
        ], b.transactions) : emptyNode(t('ledger.noTx'))));
    } catch (e) {
      replace(blockOut, h('p', { class: 'notice bad' }, errorText(e)));
    }
  }
  return h('div', null,
    h('section', { class: 'card' },
      h('h1', null, t('ledger.title')),
      h('p', null, t('ledger.intro')),
      panel(async () => {
        const hd = await api.get('/ledger/head');
        return h('dl', { class: 'facts head' },
          h('dt', null, t('ledger.chain')), h('dd', { class: 'mono' }, hd.chain_id),
          h('dt', null, t('ledger.height')), h('dd', { id: 'head-height' }, String(hd.height)),
          h('dt', null, t('ledger.headHash')), h('dd', { class: 'mono', id: 'head-hash' }, hd.hash),
          h('dt', null, t('ledger.time')), h('dd', null, fmtMs(hd.time_ms)));
      }),
      h('div', { class: 'actions' }, verifyBtn),
      verifyOut),
    h('section', { class: 'card' },
      h('h2', null, t('ledger.blocks')),
      panel(async () => {
        const list = await api.get('/ledger/blocks', { limit: 20 });
        return table([
          { label: t('ledger.height'), cls: 'num', cell: (b) => h('button', { type: 'button', class: 'secondary small',
            'aria-label': t('ledger.block', { h: b.height }), on: { click: () => showBlock(b.height) } }, String(b.height)) },
          { label: t('ledger.txCount'), cls: 'num', cell: (b) => String(b.n_tx) },
          { label: t('ledger.hash'), cell: (b) => h('span', { class: 'mono', title: b.hash }, short(b.hash, 16)) },
          { label: t('ledger.time'), cell: (b) => fmtMs(b.time_ms) },
        ], list, { caption: t('ledger.blocks') });
      })),
    blockOut);
}

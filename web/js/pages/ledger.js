// ledger.js - the ledger: head hash, latest blocks (with their
// transactions), and a verify action that re-checks every signature and
// hash link on the node.  On a cluster member (the head carries a
// "cluster" object, see node_cluster.c cluster_status_json) it also shows
// etcd's state, every node's signed head and, in an alert, each divergence
// with the node and the height, and the node(s) most likely at fault.

import { h, replace, table } from '../dom.js';
import { t, lang } from '../i18n.js';
import * as api from '../api.js';
import { panel, setTitle, errorText, fmtMs, emptyNode, short } from '../ui.js';

// The cluster strings live here, with the only page that shows them.
const CL = {
  zh: {
    title: '集群',
    etcd: 'etcd 排序服务',
    'etcd.ok': '正常',
    'etcd.unavailable': '不可用：暂停写入，仍可查询',
    'etcd.stopped': '已停止写入',
    thisNode: '本节点',
    applied: '已应用的日志批次',
    node: '节点',
    height: '高度',
    hash: '区块哈希',
    state: '状态',
    self: '本节点',
    agrees: '一致',
    differs: '不一致',
    pending: '尚未比较',
    noHead: '尚未发布',
    badSig: '签名无效',
    divTitle: '发现分歧！',
    divOne: '节点 {node} 在高度 {h} 与本节点不一致（最近一次在高度 {last}，共 {count} 次）：{msg}',
    suspects: '多数节点认为出错的是：{list}',
    noDiv: '所有节点在相同高度的区块哈希一致。',
  },
  en: {
    title: 'Cluster',
    etcd: 'etcd ordering service',
    'etcd.ok': 'ok',
    'etcd.unavailable': 'unavailable: writes paused, reads still served',
    'etcd.stopped': 'writes stopped',
    thisNode: 'This node',
    applied: 'Log batches applied',
    node: 'Node',
    height: 'Height',
    hash: 'Block hash',
    state: 'State',
    self: 'this node',
    agrees: 'agrees',
    differs: 'DIFFERS',
    pending: 'not compared yet',
    noHead: 'no head published yet',
    badSig: 'bad signature',
    divTitle: 'Divergence found!',
    divOne: 'Node {node} differs from this node at height {h} (last at height {last}, {count} times): {msg}',
    suspects: 'Most likely at fault: {list}',
    noDiv: 'Every node has the same block hash at the same height.',
  },
};

function tc(key, vars) {
  const d = CL[lang()] || CL.en;
  let s = d[key] !== undefined ? d[key] : CL.en[key];
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] === undefined ? m : String(vars[k])));
  return s;
}

function nodeState(n) {
  if (n.self) return h('span', { class: 'badge ok' }, tc('self'));
  if (n.height === undefined) return h('span', { class: 'badge muted' }, tc('noHead'));
  if (n.signature_ok === false) return h('span', { class: 'badge bad' }, tc('badSig'));
  if (n.agrees === false) return h('span', { class: 'badge bad' }, tc('differs'));
  if (n.agrees === true) return h('span', { class: 'badge ok' }, tc('agrees'));
  return h('span', { class: 'badge muted' }, tc('pending'));
}

// The cluster part of the head (c: the head's "cluster" object).  Every
// value is put in as text (h() never parses HTML), so a node id or message
// cannot inject markup.
export function clusterView(c) {
  const divs = Array.isArray(c.divergences) ? c.divergences : [];
  const suspects = Array.isArray(c.suspects) ? c.suspects : [];
  const nodes = Array.isArray(c.nodes) ? c.nodes : [];
  const etcdKey = 'etcd.' + c.etcd;
  const etcdText = CL.en[etcdKey] !== undefined ? tc(etcdKey) : String(c.etcd);
  return h('section', { class: 'card', id: 'cluster' },
    h('h2', null, tc('title')),
    divs.length
      ? h('div', { class: 'notice bad', role: 'alert', id: 'cluster-divergences' },
        h('p', null, h('strong', null, tc('divTitle'))),
        h('ul', null, divs.map((d) => h('li', { class: 'divergence', 'data-node': String(d.node),
          'data-height': String(d.height) },
          tc('divOne', { node: d.node, h: d.height, last: d.last_height, count: d.count, msg: d.message })))),
        suspects.length ? h('p', { id: 'cluster-suspects' }, tc('suspects', { list: suspects.join(', ') })) : null)
      : h('p', { class: 'notice ok', id: 'cluster-ok' }, tc('noDiv')),
    h('dl', { class: 'facts' },
      h('dt', null, tc('etcd')),
      h('dd', { id: 'cluster-etcd' }, h('span', { class: 'badge ' + (c.etcd === 'ok' ? 'ok' : 'bad') }, etcdText)),
      h('dt', null, tc('thisNode')), h('dd', { class: 'mono' }, String(c.node_id)),
      h('dt', null, tc('applied')), h('dd', null, String(c.log_batches_applied))),
    table([
      { label: tc('node'), cell: (n) => h('span', { class: 'mono' }, String(n.node)) },
      { label: tc('height'), cls: 'num', cell: (n) => (n.height === undefined ? '' : String(n.height)) },
      { label: tc('hash'), cell: (n) => (n.hash ? h('span', { class: 'mono', title: n.hash }, short(n.hash, 16)) : '') },
      { label: tc('state'), cell: nodeState },
    ], nodes, { caption: tc('title') }));
}

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
  // The head, and the cluster's state when this node is a member.  Panels
  // reload when a block commits; a divergence or an etcd outage can show up
  // without one, so this one also reloads every few seconds while shown.
  const clusterOut = h('div', { 'aria-live': 'polite' });
  const headPanel = panel(async () => {
    const hd = await api.get('/ledger/head');
    replace(clusterOut, hd.cluster && typeof hd.cluster === 'object' ? clusterView(hd.cluster) : null);
    return h('dl', { class: 'facts head' },
      h('dt', null, t('ledger.chain')), h('dd', { class: 'mono' }, hd.chain_id),
      h('dt', null, t('ledger.height')), h('dd', { id: 'head-height' }, String(hd.height)),
      h('dt', null, t('ledger.headHash')), h('dd', { class: 'mono', id: 'head-hash' }, hd.hash),
      h('dt', null, t('ledger.time')), h('dd', null, fmtMs(hd.time_ms)));
  });
  const timer = setInterval(() => {
    if (!document.body.contains(headPanel)) clearInterval(timer);
    else if (clusterOut.firstChild) headPanel.reload();
  }, 3000);
  return h('div', null,
    h('section', { class: 'card' },
      h('h1', null, t('ledger.title')),
      h('p', null, t('ledger.intro')),
      headPanel,
      h('div', { class: 'actions' }, verifyBtn),
      verifyOut),
    clusterOut,
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

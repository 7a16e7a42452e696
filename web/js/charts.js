// charts.js - small SVG bar charts (no library: a few dozen lines are enough
// for bars).  Labels are ledger strings and go in as text nodes.  Each chart
// carries an aria-label and a data table for screen readers.

import { h, svg } from './dom.js';

function clip(s, n) {
  const str = String(s);
  return str.length > n ? str.slice(0, n - 1) + '…' : str;
}

function dataTable(caption, labels, series) {
  return h('div', { class: 'visually-hidden' }, h('table', null,
    h('caption', null, caption),
    h('thead', h('tr', h('th', { scope: 'col' }, ''), series.map((s) => h('th', { scope: 'col' }, s.name)))),
    h('tbody', labels.map((l, i) => h('tr', h('th', { scope: 'row' }, l), series.map((s) => h('td', null, String(s.values[i]))))))));
}

// Horizontal bars, one row per label; series drawn as thin parallel bars.
export function hbars(title, labels, series) {
  const rowH = 12 + 13 * series.length;
  const labelW = 140;
  const W = 440;
  const barW = W - labelW - 44;
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const H = Math.max(rowH * labels.length + 10, 30);
  const g = [];
  labels.forEach((l, i) => {
    const y = 5 + i * rowH;
    g.push(svg('text', { x: labelW - 6, y: y + rowH / 2 + 4, 'text-anchor': 'end' }, svg('title', null, l), clip(l, 10)));
    series.forEach((s, k) => {
      const v = Number(s.values[i]) || 0;
      const w = Math.round((v / max) * barW);
      const by = y + 4 + k * 13;
      g.push(svg('rect', { class: 'bar' + (k ? ' alt' : ''), x: labelW, y: by, width: Math.max(w, v ? 2 : 0), height: 11 }));
      g.push(svg('text', { class: 'val', x: labelW + w + 4, y: by + 10 }, String(v)));
    });
  });
  g.push(svg('line', { class: 'axis', x1: labelW, y1: 0, x2: labelW, y2: H }));
  return h('figure', { class: 'chart-fig' },
    svg('svg', { class: 'chart', viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': title,
                 preserveAspectRatio: 'xMinYMin meet' }, g),
    series.length > 1 ? h('div', { class: 'legend' }, series.map((s, k) => h('span', { class: k ? 'alt' : null }, s.name))) : null,
    dataTable(title, labels, series));
}

// Vertical bars (a histogram).
export function vbars(title, labels, values, seriesName) {
  const W = 440;
  const H = 220;
  const pad = 24;
  const n = Math.max(1, labels.length);
  const slot = (W - pad * 2) / n;
  const max = Math.max(1, ...values);
  const g = [svg('line', { class: 'axis', x1: pad, y1: H - pad, x2: W - pad, y2: H - pad })];
  labels.forEach((l, i) => {
    const v = Number(values[i]) || 0;
    const bh = Math.round((v / max) * (H - pad * 2 - 10));
    const x = pad + i * slot + slot * 0.15;
    g.push(svg('rect', { class: 'bar', x, y: H - pad - bh, width: slot * 0.7, height: bh }));
    g.push(svg('text', { class: 'val', x: x + slot * 0.35, y: H - pad - bh - 4, 'text-anchor': 'middle' }, String(v)));
    g.push(svg('text', { x: x + slot * 0.35, y: H - pad + 16, 'text-anchor': 'middle' }, clip(l, 4)));
  });
  return h('figure', { class: 'chart-fig' },
    svg('svg', { class: 'chart', viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': title }, g),
    dataTable(title, labels, [{ name: seriesName, values }]));
}

// qr.js - a QR code of a text as an SVG element (qrcode-generator, MIT).

import qrcode from '/static/vendor/qrcode.mjs';
import { svg } from './dom.js';

export function qrSvg(text, label) {
  const qr = qrcode(0, 'M');
  qr.addData(text);
  qr.make();
  const n = qr.getModuleCount();
  const q = 4; // quiet zone
  let d = '';
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) if (qr.isDark(r, c)) d += 'M' + (c + q) + ' ' + (r + q) + 'h1v1h-1z';
  }
  const size = n + 2 * q;
  return svg('svg', { class: 'qr', viewBox: '0 0 ' + size + ' ' + size, role: 'img', 'aria-label': label,
                      'shape-rendering': 'crispEdges' },
    svg('title', null, label),
    svg('rect', { class: 'bg', width: size, height: size }),
    svg('path', { d }));
}

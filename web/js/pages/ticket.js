// ticket.js - the public ticket page /t/<transaction_id>:<output_index>:
// validity, activity, holder, history, and a QR code of the page's link.

import { h } from '../dom.js';
import { t } from '../i18n.js';
import * as api from '../api.js';
import { panel, setTitle, legalBadge, whyNot, fmtTime, emptyNode } from '../ui.js';
import { qrSvg } from '../qr.js';

export function ticketPage(params) {
  const id = params.ticket || '';
  setTitle(t('ticket.title'));
  if (!/^[0-9a-f]{64}:(0|[1-9][0-9]{0,4})$/.test(id)) {
    return h('section', { class: 'card' }, h('h1', null, t('ticket.title')),
      h('p', { class: 'notice bad' }, t('ticket.badId')));
  }
  const link = location.origin + '/t/' + id;
  return h('section', { class: 'card ticket-page' },
    h('h1', null, t('ticket.title')),
    panel(async () => {
      let tk;
      try {
        tk = await api.get('/tickets/' + id);
      } catch (e) {
        if (e.status === 404) return h('p', { class: 'notice bad' }, t('ticket.unknown'));
        throw e;
      }
      return h('div', null,
        h('div', { class: 'ticket-head' },
          h('div', null,
            h('p', { class: 'ticket-verdict' }, legalBadge(tk), ' ', tk.legal ? t('ticket.legalText') : whyNot(tk)),
            h('dl', { class: 'facts' },
              h('dt', null, t('ticket.activity')), h('dd', null, tk.activity.name),
              h('dt', null, t('ticket.time')), h('dd', null, fmtTime(tk.activity.start), ' – ', fmtTime(tk.activity.end)),
              h('dt', null, t('ticket.venue')), h('dd', null, tk.activity.venue),
              tk.activity.category ? [h('dt', null, t('ticket.category')), h('dd', null, tk.activity.category)] : null,
              h('dt', null, t('ticket.dept')), h('dd', null, tk.department.name),
              h('dt', null, t('ticket.holder')),
              h('dd', null, tk.holder === 'student' ? t('ticket.holderStudent', { sid: tk.sid || '' }) : t('ticket.holderDept')),
              tk.activity.closed ? [h('dt', null, t('ticket.state')), h('dd', null, t('app.closed'))] : null,
              h('dt', null, t('ticket.id')), h('dd', { class: 'mono' }, tk.ticket))),
          h('figure', { class: 'qr-fig' }, qrSvg(link, t('ticket.qr')),
            h('figcaption', { class: 'hint' }, t('ticket.qrHint')))),
        h('h2', null, t('ticket.history')),
        tk.history && tk.history.length ? h('ol', { class: 'history' }, tk.history.map((ev) => h('li', null,
          h('strong', null, t.has('event.' + ev.event) ? t('event.' + ev.event) : ev.event), ' · ',
          t('ledger.height'), ' ', String(ev.height), ' · ',
          h('span', { class: 'mono' }, ev.transaction_id),
          ev.reason ? [' · ', t('ticket.reason'), t('colon'), ev.reason] : null)))
          : emptyNode(t('ticket.noHistory')),
        h('p', { class: 'meta' }, t('ticket.link'), t('colon'), h('a', { href: '/t/' + id, class: 'mono' }, link)));
    }));
}

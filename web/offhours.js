// Off-hours: which accounts are closed now, since when, and when they open
// again (with any crisis override and the pinned off-hours note). Data:
// GET /v1/off-hours, read again on off_hours_* events and every minute.

import { optional } from './api.js';
import { h, fill, time, badge } from './dom.js';

let accounts = null;
let timer = null;

export function init() {
  clearInterval(timer);
  timer = setInterval(() => refresh().catch(() => {}), 60000);
}

export async function refresh() {
  accounts = (await optional('/v1/off-hours'))?.accounts ?? null;
  draw();
}

export function onEvent(kind) {
  if (kind.startsWith('off_hours') || kind.startsWith('auto_reply') || kind.startsWith('autoresponder')) {
    refresh().catch(() => {});
  }
}

export function shown() {}

function draw() {
  const root = document.getElementById('offhours-body');
  if (accounts === null) { fill(root, h('p', { class: 'empty' }, 'This squall has no off-hours API yet.')); return; }
  if (!accounts.length) { fill(root, h('p', { class: 'empty' }, 'No account has support hours.')); return; }
  const closed = accounts.filter((a) => !a.open);
  fill(root,
    h('p', { class: 'summary' }, closed.length ? `${closed.length} of ${accounts.length} accounts closed now` : 'Every account is open.'),
    h('table', { class: 'offhours' },
      h('thead', {}, h('tr', {}, ...['Account', 'Now', 'Since', 'Opens', 'Next change', 'Schedule', 'Notes'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, ...[...closed, ...accounts.filter((a) => a.open)].map((a) => h('tr', { class: a.open ? '' : 'closed' },
        h('th', { scope: 'row' }, a.account, h('span', { class: 'muted' }, ` ${a.platform}`)),
        h('td', {}, a.open ? badge('open', 'on') : badge('closed', 'off')),
        h('td', {}, time(a.since, true)),
        h('td', {}, a.open ? '—' : time(a.next_open, true)),
        h('td', {}, time(a.next_change, true)),
        h('td', {}, a.schedule),
        h('td', {}, a.override ? badge('on-call override', 'warn') : null, a.pinned_note ? badge('note pinned', 'lang') : null))))));
}

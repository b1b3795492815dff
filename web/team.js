// Team: who is on duty, how many drafts each holds against their capacity,
// and how many answers went past the SLA. Data: GET /v1/staff, read again
// when drafts are assigned, sent, discarded or escalated.

import { optional } from './api.js';
import { h, fill, badge } from './dom.js';

let staff = null;
let pending = null;

export function init() {}

export async function refresh() {
  staff = (await optional('/v1/staff'))?.staff ?? null;
  draw();
}

export function onEvent(kind) {
  if (!kind.startsWith('draft_') && !kind.startsWith('off_hours')) return;
  clearTimeout(pending);
  pending = setTimeout(() => refresh().catch(() => {}), 500);
}

export function shown() {}

function draw() {
  const root = document.getElementById('team-body');
  if (staff === null) { fill(root, h('p', { class: 'empty' }, 'This squall has no staff API yet.')); return; }
  if (!staff.length) { fill(root, h('p', { class: 'empty' }, 'No staff configured.')); return; }
  const sorted = [...staff].sort((a, b) => Number(b.on_duty) - Number(a.on_duty) || a.name.localeCompare(b.name));
  const onDuty = staff.filter((s) => s.on_duty).length;
  const breaches = staff.reduce((n, s) => n + s.sla_breaches, 0);
  fill(root,
    h('p', { class: 'summary' }, `${onDuty} of ${staff.length} on duty · ${breaches} SLA breach${breaches === 1 ? '' : 'es'}`),
    h('table', { class: 'team' },
      h('thead', {}, h('tr', {}, ...['Person', 'Duty', 'Load', 'Languages', 'Skills', 'SLA breaches'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, ...sorted.map((s) => {
        const meter = h('meter', { min: 0, max: Math.max(1, s.capacity), value: s.load, high: Math.max(1, s.capacity) * 0.8, 'aria-label': `${s.load} of ${s.capacity}` });
        return h('tr', { class: s.on_duty ? '' : 'off' },
          h('th', { scope: 'row' }, h('span', { dir: 'auto' }, s.name), h('span', { class: 'muted' }, ` ${s.id}`)),
          h('td', {}, s.on_duty ? badge('on duty', 'on') : badge('off', 'off')),
          h('td', {}, meter, ` ${s.load}/${s.capacity}`),
          h('td', {}, s.languages.join(' ')),
          h('td', {}, s.skills.join(', ')),
          h('td', {}, s.sla_breaches ? badge(String(s.sla_breaches), 'failed') : '0'));
      }))));
}

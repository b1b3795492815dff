// Incidents: open ones first; the selected one with its state, status text
// (edit and approve while it waits, a preview per account language), what
// is pinned on each account and what it displaced, accounts that failed and
// why, and the timeline. Commanders get the controls; others read.

import { api } from './api.js';
import { h, fill, time, badge, toast } from './dom.js';

let ctx = { can: {} };
let list = [];
let selected = null;
let detail = null;
let previews = [];
let pending = null;
let editing = false;

export function init(c) { ctx = c; }

export async function refresh() {
  list = await api('GET', '/v1/incidents?all=true');
  // Open first (the API lists unresolved first, newest first).
  if (!selected && list.length) selected = list[0].id;
  drawList();
  if (selected) await load(selected);
}

export function onEvent(kind, ev) {
  if (!ev || typeof ev !== 'object' || !ev.incident) return;
  // Reply drafts are the queue's business: in a surge there are thousands,
  // and they change nothing this screen shows but a timeline line.
  if (kind.startsWith('draft_')) return;
  // Many events come at once: read again once they settle.
  clearTimeout(pending);
  pending = setTimeout(() => refresh().catch(() => {}), 200);
}

async function load(id) {
  const d = await api('GET', `/v1/incidents/${encodeURIComponent(id)}`);
  // Previews are rendered by the engine: asked only when there is a status.
  const p = d.status.state === 'none' ? { previews: [] }
    : await api('GET', `/v1/incidents/${encodeURIComponent(id)}/status/previews`).catch(() => ({ previews: [] }));
  if (selected !== id) return;
  detail = d;
  previews = p.previews;
  drawDetail();
}

function drawList() {
  const ul = document.getElementById('incident-list');
  if (!list.length) {
    fill(ul, h('li', { class: 'empty' }, 'No incidents. All quiet.'));
    return;
  }
  fill(ul, ...list.map((i) => h('li', {},
    h('button', {
      type: 'button', class: `incident-row${i.id === selected ? ' selected' : ''}`,
      'aria-current': i.id === selected ? 'true' : undefined, 'data-id': i.id,
      onclick: () => { selected = i.id; editing = false; drawList(); load(i.id).catch(err); },
    },
    h('span', { class: 'title' }, i.title),
    badge(i.state),
    h('span', { class: 'id muted' }, i.id),
    h('span', { class: 'muted' }, 'opened ', time(i.opened_at, true), ` · ${i.trigger_kind}`),
    i.status.state === 'awaiting_approval' ? badge('status awaiting approval', 'warn') : null))));
}

function err(e) { toast(e.message || String(e), true); }

async function act(label, method, path, body) {
  try {
    detail = await api(method, path, body);
    editing = false;
    toast(label);
    drawDetail();
    await refresh();
  } catch (e) { err(e); }
}

function drawDetail() {
  const root = document.getElementById('incident-detail');
  const d = detail;
  if (!d) return;
  const id = encodeURIComponent(d.id);
  const open = d.state !== 'resolved';
  const controls = ctx.can.command && open ? h('div', { class: 'actions' },
    d.state === 'open' ? h('button', { type: 'button', onclick: () => act('Acknowledged', 'POST', `/v1/incidents/${id}/ack`) }, 'Acknowledge') : null,
    d.state !== 'mitigated' ? h('button', { type: 'button', onclick: () => act('Marked mitigated', 'POST', `/v1/incidents/${id}/state`, { state: 'mitigated' }) }, 'Mitigated') : null,
    resolveForm(id)) : null;
  fill(root,
    h('header', { class: 'detail-head' },
      h('h2', {}, d.title), badge(d.state),
      h('p', { class: 'muted' }, d.id, ' · ', d.playbook, ' · opened ', time(d.opened_at, true),
        d.resolved_at ? [' · resolved ', time(d.resolved_at, true)] : null)),
    controls,
    statusBlock(d, id),
    pinsBlock(d),
    failuresBlock(d),
    timelineBlock(d));
}

function resolveForm(id) {
  const note = h('input', { type: 'text', name: 'note', placeholder: 'Resolution note (optional)', 'aria-label': 'Resolution note' });
  return h('form', {
    class: 'inline', onsubmit: (e) => {
      e.preventDefault();
      act('Resolved', 'POST', `/v1/incidents/${id}/resolve`, note.value ? { note: note.value } : {});
    },
  }, note, h('button', { type: 'submit', class: 'danger', id: 'resolve' }, 'Resolve'));
}

function statusBlock(d, id) {
  const s = d.status;
  const waiting = s.state === 'awaiting_approval';
  const parts = [h('h3', {}, 'Status post ', badge(s.state.replace(/_/g, ' '), s.state))];
  if (waiting && s.deadline) parts.push(h('p', { class: 'muted' }, 'Waiting for approval until ', time(s.deadline, true)));
  if (s.approved_by) parts.push(h('p', { class: 'muted' }, `Approved by ${s.approved_by}`));
  if (waiting && ctx.can.command) {
    const text = h('textarea', { id: 'status-text', rows: 4, dir: 'auto', 'aria-label': 'Status text' });
    // A live refresh never overwrites what the commander is typing.
    const typed = editing ? document.getElementById('status-text') : null;
    text.value = typed ? typed.value : (s.text || '');
    text.addEventListener('input', () => { editing = true; });
    parts.push(h('form', {
      class: 'status-form', onsubmit: (e) => {
        e.preventDefault();
        act('Status approved: posting and pinning', 'POST', `/v1/incidents/${id}/status/approve`, { text: text.value });
      },
    }, text, h('div', { class: 'actions' },
      h('button', { type: 'button', onclick: () => act('Status text saved', 'PUT', `/v1/incidents/${id}/status`, { text: text.value }) }, 'Save text'),
      h('button', { type: 'submit', class: 'primary', id: 'approve-status' }, 'Approve and post'))));
  } else if (s.text) {
    parts.push(h('blockquote', { dir: 'auto', class: 'status-text' }, s.text));
  }
  if (previews.length) {
    parts.push(h('details', { class: 'previews', open: waiting },
      h('summary', {}, `Preview per account (${previews.length})`),
      h('ul', {}, ...previews.map((p) => h('li', {},
        h('span', { class: 'muted' }, `${p.account} · ${p.platform || ''} · ${p.language}`),
        h('p', { lang: p.language, dir: 'auto', class: 'preview-text' }, p.text))))));
  }
  return h('section', { class: 'card block', 'aria-label': 'Status post' }, ...parts);
}

function pinsBlock(d) {
  const rows = (d.pins || []).map((p) => h('tr', { 'data-account': p.account },
    h('th', { scope: 'row' }, p.account),
    h('td', {}, badge(p.state), ' ', h('span', { class: 'muted' }, p.post_id)),
    h('td', {}, p.displaced.length
      ? h('ul', { class: 'plain' }, ...p.displaced.map((x) => h('li', {}, x.id)))
      : h('span', { class: 'muted' }, 'nothing displaced')),
    h('td', {}, p.displaced.length === 0 ? '—'
      : p.restored_at ? ['restored ', time(p.restored_at)]
        : p.state === 'pinned' ? 'will be restored on resolve' : 'restoring…')));
  const skipped = d.timeline.filter((t) => t.kind === 'pin_skipped');
  return h('section', { class: 'card block', 'aria-label': 'Pins' },
    h('h3', {}, 'Pins per account'),
    rows.length ? h('table', { class: 'pins' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Account'), h('th', {}, 'Status pin'), h('th', {}, 'Displaced'), h('th', {}, 'Restore'))),
      h('tbody', {}, ...rows)) : h('p', { class: 'muted' }, 'Nothing pinned for this incident.'),
    skipped.length ? h('ul', { class: 'plain muted' }, ...skipped.map((t) => h('li', {}, t.message))) : null);
}

function failuresBlock(d) {
  const bad = d.actions.filter((a) => a.state === 'failed' || (a.last_error && a.state !== 'done'));
  if (!bad.length) return null;
  return h('section', { class: 'card block failures', 'aria-label': 'Failed accounts' },
    h('h3', {}, 'Accounts with problems'),
    h('ul', { class: 'plain' }, ...bad.map((a) => h('li', {},
      h('strong', {}, a.account || a.kind), ' ', badge(a.state === 'failed' ? 'failed' : 'retrying', 'failed'),
      ` ${a.kind} after ${a.attempts} attempt${a.attempts === 1 ? '' : 's'}: `,
      h('span', { class: 'reason' }, a.last_error || 'no reason given')))));
}

function timelineBlock(d) {
  const items = [...d.timeline].reverse().slice(0, 200);
  return h('section', { class: 'card block', 'aria-label': 'Timeline' },
    h('h3', {}, `Timeline (${d.timeline.length})`),
    h('ol', { class: 'timeline' }, ...items.map((t) => h('li', {},
      time(t.at), ' ', h('span', { class: 'kind' }, t.kind), ' ',
      h('span', { dir: 'auto' }, t.message), t.actor !== 'engine' && t.actor !== 'outbox' ? h('span', { class: 'muted' }, ` — ${t.actor}`) : null))));
}

// The reply queue: drafts in the order people wrote (mention time, then
// id; never by followers), with how long each has waited, who holds it,
// its language and flags. Only the rows in view exist in the page, so ten
// thousand drafts scroll as fast as ten. Live events update single drafts
// in place. Staff and commanders open a draft, edit, approve and send, or
// discard it with a reason.

import { api } from './api.js';
import { h, fill, time, duration, badge, toast, langAttr, dirFor } from './dom.js';

const ROW = 64; // px, fixed: the list is virtual
const OVERSCAN = 6;
const PAGE = 500;

let ctx = { can: {} };
let drafts = []; // sorted by (mention_at, id)
let byId = new Map();
let total = 0;
let active = -1; // keyboard position
let openId = null;
let filter = 'pending';
let loading = null;
let wanted = new Set();
let fetchTimer = null;
let tick = null;
let available = true;

const $ = (id) => document.getElementById(id);

export function init(c) {
  ctx = c;
  const list = $('queue-list');
  if (!list.dataset.ready) {
    list.dataset.ready = '1';
    list.append(h('div', { class: 'vspace' }));
    list.addEventListener('scroll', () => requestAnimationFrame(render), { passive: true });
    list.addEventListener('keydown', keys);
    list.addEventListener('click', (e) => {
      const row = e.target.closest('[data-index]');
      if (row) { active = Number(row.dataset.index); open(drafts[active].id); render(); }
    });
    $('queue-filter').addEventListener('change', (e) => { filter = e.target.value; refresh().catch(fail); });
    window.addEventListener('resize', () => requestAnimationFrame(render));
  }
  clearInterval(tick);
  // Waiting times move on by themselves.
  tick = setInterval(() => { if (!$('queue').hidden) render(); }, 1000);
}

function fail(e) { toast(e.message || String(e), true); }

function query(after) {
  const q = new URLSearchParams({ limit: String(PAGE) });
  if (filter === 'all') q.set('state', 'all');
  else q.set('state', 'pending');
  if (filter === 'mine') q.set('assignee', 'me');
  if (after) q.set('after', after);
  return `/v1/drafts?${q}`;
}

/** Reads the whole queue page by page (each page is drawn as it comes). */
export async function refresh() {
  if (loading) return loading;
  loading = (async () => {
    try {
      let next = null;
      const fresh = [];
      do {
        const page = await api('GET', query(next));
        fresh.push(...page.drafts);
        total = page.total;
        next = page.next;
        if (!next || fresh.length === page.drafts.length) set(fresh);
      } while (next);
      set(fresh);
      available = true;
    } catch (e) {
      if (e.status === 404) { available = false; set([]); return; }
      throw e;
    } finally { loading = null; }
  })();
  return loading;
}

function key(d) { return [Date.parse(d.mention_at), d.id]; }
function before(a, b) {
  const [ta, ia] = key(a); const [tb, ib] = key(b);
  return ta < tb || (ta === tb && ia < ib);
}

function set(list) {
  drafts = list.slice().sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
  byId = new Map(drafts.map((d) => [d.id, d]));
  render();
  if (openId !== null && byId.has(openId)) drawDetail(byId.get(openId));
}

function matches(d) {
  if (filter === 'all') return true;
  if (d.state !== 'pending') return false;
  return filter !== 'mine' || (ctx.can.me && d.assignee === ctx.can.me.actor);
}

/** Puts one draft where it belongs in the order, or takes it out. */
function upsert(d) {
  const old = byId.get(d.id);
  if (old) {
    const i = drafts.indexOf(old);
    drafts.splice(i, 1);
    byId.delete(d.id);
    if (!matches(d)) total = Math.max(0, total - 1);
  } else if (matches(d)) total += 1;
  if (matches(d)) {
    let lo = 0; let hi = drafts.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (before(drafts[mid], d)) lo = mid + 1; else hi = mid; }
    drafts.splice(lo, 0, d);
    byId.set(d.id, d);
  }
  if (d.id === openId) drawDetail(d);
}

export function onEvent(kind, ev) {
  if (!kind.startsWith('draft_') || !ev || !ev.detail) return;
  const id = ev.detail.draft;
  if (id === undefined) return;
  wanted.add(id);
  clearTimeout(fetchTimer);
  fetchTimer = setTimeout(pull, 120);
}

/** Fetches the drafts named by recent events; a flood reads the queue again. */
async function pull() {
  const ids = [...wanted];
  wanted = new Set();
  if (ids.length > 40) { refresh().catch(fail); return; }
  for (let i = 0; i < ids.length; i += 8) {
    const got = await Promise.all(ids.slice(i, i + 8).map((id) => api('GET', `/v1/drafts/${id}`).catch(() => null)));
    for (const d of got) if (d) upsert(d);
  }
  render();
}

export function shown() { render(); $('queue-list').focus({ preventScroll: true }); }

function waited(d) {
  if (d.state !== 'pending') return d.waiting_seconds;
  return (Date.now() - Date.parse(d.mention_at)) / 1000;
}

function render() {
  const list = $('queue-list');
  const count = $('queue-count');
  count.textContent = available ? String(total) : '';
  const space = list.firstChild;
  if (!available) {
    space.style.height = '0px';
    for (const r of [...list.querySelectorAll('.qrow')]) r.remove();
    if (!list.querySelector('.empty')) list.append(h('p', { class: 'empty' }, 'This squall has no reply drafts API yet.'));
    return;
  }
  list.querySelector('.empty')?.remove();
  space.style.height = `${drafts.length * ROW}px`;
  if (!drafts.length) {
    for (const r of [...list.querySelectorAll('.qrow')]) r.remove();
    list.append(h('p', { class: 'empty' }, 'Nobody is waiting for a reply.'));
    return;
  }
  const first = Math.max(0, Math.floor(list.scrollTop / ROW) - OVERSCAN);
  const last = Math.min(drafts.length, Math.ceil((list.scrollTop + list.clientHeight) / ROW) + OVERSCAN);
  const keep = new Map();
  for (const r of [...list.querySelectorAll('.qrow')]) {
    const i = Number(r.dataset.index);
    if (i >= first && i < last && r.dataset.id === String(drafts[i]?.id) && r.dataset.rev === rev(drafts[i])) keep.set(i, r);
    else r.remove();
  }
  for (let i = first; i < last; i++) {
    const d = drafts[i];
    let r = keep.get(i);
    if (!r) { r = place(row(d, i)); list.append(r); }
    r.classList.toggle('active', i === active);
    r.setAttribute('aria-selected', String(d.id === openId));
    r.querySelector('.wait').textContent = duration(waited(d));
  }
  if (active >= 0 && drafts[active]) list.setAttribute('aria-activedescendant', `draft-${drafts[active].id}`);
}

function rev(d) { return `${d.state}|${d.assignee}|${d.text.length}|${d.flags.join(',')}`; }

function row(d, i) {
  const lang = langAttr(d.lang);
  const late = d.sla_deadline && Date.parse(d.sla_deadline) < Date.now() && d.state === 'pending';
  return h('div', {
    class: `qrow${late ? ' late' : ''}`, role: 'option', id: `draft-${d.id}`, 'data-index': i,
    'data-id': d.id, 'data-rev': rev(d),
  },
  h('span', { class: 'wait', title: 'waiting' }),
  h('span', { class: 'who' }, h('strong', { dir: 'auto' }, d.author.name || d.author.handle), ' ',
    h('span', { class: 'muted', dir: 'ltr' }, d.author.handle)),
  h('span', { class: 'tags' }, badge(d.lang || '?', 'lang'),
    ...d.flags.map((f) => badge(f.replace(/_/g, ' '), f)),
    d.state !== 'pending' ? badge(d.state) : null,
    h('span', { class: 'assignee' }, d.assignee ? `→ ${d.assignee}` : 'unassigned')),
  h('span', { class: 'snippet', lang, dir: dirFor(d.lang) }, d.mention_text));
}

/** Rows sit at their index's offset (CSSOM, which the CSP allows). */
function place(r) {
  r.style.transform = `translateY(${Number(r.dataset.index) * ROW}px)`;
  return r;
}

function keys(e) {
  if (!drafts.length) return;
  const list = $('queue-list');
  const pageRows = Math.max(1, Math.floor(list.clientHeight / ROW) - 1);
  const moves = { ArrowDown: 1, ArrowUp: -1, PageDown: pageRows, PageUp: -pageRows, Home: -Infinity, End: Infinity };
  if (e.key in moves) {
    active = Math.max(0, Math.min(drafts.length - 1, (active < 0 ? -1 : active) + moves[e.key]));
    if (active * ROW < list.scrollTop) list.scrollTop = active * ROW;
    else if ((active + 1) * ROW > list.scrollTop + list.clientHeight) list.scrollTop = (active + 1) * ROW - list.clientHeight;
    render();
    e.preventDefault();
  } else if (e.key === 'Enter' && active >= 0) {
    open(drafts[active].id);
    render();
    e.preventDefault();
  }
}

async function open(id) {
  openId = id;
  const cached = byId.get(id);
  if (cached) drawDetail(cached);
  try { drawDetail(await api('GET', `/v1/drafts/${id}`), true); } catch (e) { fail(e); }
}

async function act(label, method, path, body) {
  try {
    const d = await api(method, path, body);
    upsert(d);
    render();
    toast(label);
  } catch (e) { fail(e); }
}

function drawDetail(d, focus = false) {
  const root = $('draft-detail');
  const lang = langAttr(d.lang);
  const dir = dirFor(d.lang);
  const editingNow = root.querySelector('#draft-text');
  const keepText = editingNow && root.dataset.id === String(d.id) && editingNow.dataset.dirty ? editingNow.value : null;
  root.dataset.id = String(d.id);
  const text = h('textarea', { id: 'draft-text', rows: 6, lang, dir, 'aria-label': 'Reply text', readonly: !ctx.can.reply || d.state !== 'pending' });
  text.value = keepText ?? d.text;
  if (keepText !== null) text.dataset.dirty = '1';
  text.addEventListener('input', () => { text.dataset.dirty = '1'; });
  const reason = h('input', { type: 'text', id: 'discard-reason', placeholder: 'Why discard (required)', 'aria-label': 'Reason to discard', required: true });
  const mine = ctx.can.me && d.assignee === ctx.can.me.actor;
  const controls = ctx.can.reply && d.state === 'pending' ? [
    h('div', { class: 'actions' },
      !mine ? h('button', { type: 'button', onclick: () => act('Claimed', 'POST', `/v1/drafts/${d.id}/claim`) }, 'Claim') : null,
      h('button', { type: 'button', onclick: () => { delete text.dataset.dirty; act('Saved', 'PUT', `/v1/drafts/${d.id}`, { text: text.value }); } }, 'Save'),
      h('button', {
        type: 'button', class: 'primary', id: 'approve-draft', onclick: async () => {
          delete text.dataset.dirty;
          if (text.value !== d.text) await act('Saved', 'PUT', `/v1/drafts/${d.id}`, { text: text.value });
          act('Approved and sent', 'POST', `/v1/drafts/${d.id}/approve`);
        },
      }, 'Approve and send')),
    h('form', {
      class: 'inline', onsubmit: (e) => {
        e.preventDefault();
        if (!reason.value.trim()) { reason.focus(); return; }
        act('Discarded', 'POST', `/v1/drafts/${d.id}/discard`, { reason: reason.value.trim() });
      },
    }, reason, h('button', { type: 'submit', class: 'danger' }, 'Discard')),
  ] : [];
  fill(root,
    h('header', { class: 'detail-head' },
      h('h2', {}, `Draft #${d.id}`), badge(d.state), badge(d.lang || '?', 'lang'),
      ...d.flags.map((f) => badge(f.replace(/_/g, ' '), f)),
      h('p', { class: 'muted' }, `${d.platform} · ${d.account} · incident ${d.incident}`)),
    h('section', { class: 'card block' },
      h('h3', {}, h('span', { dir: 'auto' }, d.author.name || d.author.handle), ' ',
        h('span', { class: 'muted', dir: 'ltr' }, `${d.author.handle} · ${d.author.followers} followers`)),
      h('p', { class: 'muted' }, 'wrote ', time(d.mention_at, true), ` · waiting ${duration(waited(d))}`,
        d.previous_contacts ? ` · ${d.previous_contacts} earlier contacts` : '',
        d.mentions > 1 ? ` · ${d.mentions} mentions in this conversation` : ''),
      h('blockquote', { lang, dir, class: 'mention-text' }, d.mention_text),
      d.private ? h('p', { class: 'warn' }, 'Contains personal data: the reply goes as a private message.') : null),
    h('section', { class: 'card block' },
      h('h3', {}, 'Reply ', d.assignee ? h('span', { class: 'muted' }, `held by ${d.assignee}`) : h('span', { class: 'muted' }, 'unassigned')),
      d.sla_deadline ? h('p', { class: 'muted' }, 'answer by ', time(d.sla_deadline, true)) : null,
      text, ...controls,
      d.discard_reason ? h('p', { class: 'muted' }, `Discarded: ${d.discard_reason}`) : null));
  if (focus && ctx.can.reply && d.state === 'pending' && keepText === null && window.innerWidth > 700) text.focus({ preventScroll: true });
}

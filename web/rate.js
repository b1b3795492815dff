// Mention rate per surge trigger: the matching mentions in each window
// against what the detector expected and its threshold, surges in red.
// Data: GET /v1/triggers, read again when a surge starts or ends and every
// bucket (the detector closes one a minute).

import { api } from './api.js';
import { h, fill, svg, time } from './dom.js';

let timer = null;
let series = [];

export function init() {
  clearInterval(timer);
  timer = setInterval(() => refresh().catch(() => {}), 20000);
}

export async function refresh() {
  const body = await api('GET', '/v1/triggers');
  series = body.triggers;
  draw();
}

export function onEvent(kind) {
  if (kind.startsWith('surge_') || kind === 'incident_opened' || kind === 'incident_resolved') {
    refresh().catch(() => {});
  }
}

export function shown() { draw(); }

let resizing = null;
window.addEventListener('resize', () => {
  clearTimeout(resizing);
  resizing = setTimeout(() => { if (!document.getElementById('rate').hidden) draw(); }, 100);
});

function draw() {
  const root = document.getElementById('charts');
  if (!series.length) {
    fill(root, h('p', { class: 'empty' }, 'No playbook has a surge trigger.'));
    return;
  }
  // Drawn at the pixel size it is shown at: text is never stretched.
  const width = Math.max(280, root.clientWidth - 34);
  const height = width < 600 ? 160 : 220;
  fill(root, ...series.map((s) => chart(s, width, height)));
}

const PAD = { l: 44, r: 12, t: 12, b: 26 };
/** The chart shows at least this much time, so one bucket is not a wall. */
const MIN_SPAN_MS = 30 * 60 * 1000;

function chart(s, W, H) {
  const pts = s.points;
  const last = pts[pts.length - 1];
  const surging = pts.some((p) => p.surge);
  const head = h('header', { class: 'chart-head' },
    h('h3', {}, `${s.playbook} · ${s.trigger}`),
    h('span', { class: 'muted' }, `${Math.round(s.window_seconds / 60)} min window`),
    last ? h('span', { class: 'now' }, `now ${last.observed} · expected ${last.expected.toFixed(1)} · surge at ${last.threshold.toFixed(1)}`) : null,
    last && last.surge ? h('span', { class: 'badge b-surge' }, 'SURGE') : null);
  if (!pts.length) {
    return h('article', { class: 'card chart' }, head, h('p', { class: 'empty' }, 'No bucket closed yet.'));
  }
  const t1 = Math.max(Date.parse(last.at), Date.now());
  const t0 = Math.min(Date.parse(pts[0].at) - s.bucket_seconds * 1000, t1 - MIN_SPAN_MS);
  const top = Math.max(1, ...pts.map((p) => Math.max(p.observed, p.threshold, p.expected))) * 1.1;
  const x = (at) => PAD.l + ((Date.parse(at) - t0) / (t1 - t0)) * (W - PAD.l - PAD.r);
  const y = (v) => H - PAD.b - (v / top) * (H - PAD.t - PAD.b);
  const barW = Math.max(1, ((s.bucket_seconds * 1000) / (t1 - t0)) * (W - PAD.l - PAD.r) - 1);
  // Steps over each bar: a level holds for its whole window, and a single
  // point still shows its expected count and threshold.
  const line = (key) => pts.map((p, i) => `${i ? 'L' : 'M'}${(x(p.at) - barW).toFixed(1)},${y(p[key]).toFixed(1)}H${x(p.at).toFixed(1)}`).join('');
  const bars = pts.map((p) => svg('rect', {
    class: p.surge ? 'bar surge' : 'bar', x: (x(p.at) - barW).toFixed(1), y: y(p.observed).toFixed(1),
    width: barW.toFixed(1), height: Math.max(0, H - PAD.b - y(p.observed)).toFixed(1),
  }));
  const grid = [0, top / 2, top / 1.1].map((v) => [
    svg('line', { class: 'grid', x1: PAD.l, x2: W - PAD.r, y1: y(v), y2: y(v) }),
    svg('text', { class: 'axis', x: PAD.l - 6, y: y(v) + 4, 'text-anchor': 'end' }, Math.round(v)),
  ]).flat();
  const labels = [t0, (t0 + t1) / 2, t1].map((t, i) => svg('text', {
    class: 'axis', x: x(new Date(t).toISOString()), y: H - 8, 'text-anchor': ['start', 'middle', 'end'][i],
  }, time(new Date(t).toISOString()).textContent));
  const peak = pts.reduce((a, p) => (p.observed > a.observed ? p : a), pts[0]);
  const desc = `${s.playbook} ${s.trigger}: ${pts.length} windows; latest ${last.observed} mentions against `
    + `${last.expected.toFixed(1)} expected and a surge threshold of ${last.threshold.toFixed(1)}; `
    + `peak ${peak.observed}${surging ? '; surge marked' : ''}.`;
  const graph = svg('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': desc },
    ...grid, ...bars,
    svg('path', { class: 'expected', d: line('expected') }),
    svg('path', { class: 'threshold', d: line('threshold') }),
    ...labels);
  return h('article', { class: 'card chart', 'data-trigger': `${s.playbook}/${s.trigger}` }, head, graph);
}

// The reply queue with 10,000 drafts, in headless Chromium: it loads them
// all in the order people wrote, keeps only the rows in view in the page,
// reaches the last one from the keyboard, and takes a live change without
// reloading. Timings are printed for the record (machine-dependent: look
// at them, the checks are about structure).
//
// Environment: SQUALL_URL, SHOTS, CHROMIUM (see dashboard.mjs).

import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const BASE = process.env.SQUALL_URL;
const SHOTS = process.env.SHOTS || 'target/screenshots';
const N = Number(process.env.DRAFTS || 10000);
if (!BASE) throw new Error('SQUALL_URL is not set');
mkdirSync(SHOTS, { recursive: true });
const check = (c, what) => { if (!c) throw new Error(`check failed: ${what}`); };
const step = (s) => console.log(`-- ${s}`);

async function call(method, path, token, body) {
  const r = await fetch(`${BASE}${path}`, {
    method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  check(r.ok, `${method} ${path}: ${r.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

const langs = [['en', 'the site is down'], ['pl', 'strona nie działa'], ['ru', 'сайт не работает'],
  ['ja', 'サイトが落ちてる'], ['he', 'האתר לא עובד']];
function mention(i, at) {
  const [lang, text] = langs[i % langs.length];
  return {
    id: `bulk-${i}`, platform: 'mastodon', account: 'acme-main',
    author: { id: `bulk-u-${i}`, handle: `@bulk${i}@example.social`, name: `Person ${i}`, followers: i % 997 === 0 ? 50000 : 10 },
    text: `${text} (${i})`, lang, created_at: new Date(at).toISOString(),
  };
}

step('a surge opens the incident');
const start = Date.now();
await call('POST', '/v1/mentions', 'ingest-token', Array.from({ length: 25 }, (_, i) => mention(i, start - 25 + i)));
for (;;) {
  const open = await call('GET', '/v1/incidents', 'viewer-token');
  if (open.length) break;
  check(Date.now() - start < 90000, 'the surge opened no incident');
  await new Promise((r) => setTimeout(r, 500));
}

step(`${N} more people write while it is open`);
const t0 = Date.now();
for (let i = 25; i < N; i += 1000) {
  const batch = [];
  for (let j = i; j < Math.min(N, i + 1000); j++) batch.push(mention(j, Date.now()));
  await call('POST', '/v1/mentions', 'ingest-token', batch);
}
let total = 0;
while (total < N) {
  total = (await call('GET', '/v1/drafts?state=pending&limit=1', 'viewer-token')).total;
  check(Date.now() - t0 < 300000, `only ${total} drafts after 5 minutes`);
  if (total < N) await new Promise((r) => setTimeout(r, 500));
}
console.log(`ingest: ${N} mentions to ${total} pending drafts in ${Date.now() - t0} ms`);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.setDefaultTimeout(60000);
  await page.goto(BASE);
  await page.fill('#token', 'staff-token');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#me:has-text("staff")');
  await page.evaluate(() => { window.__notReloaded = true; });

  step('the queue loads every draft; only the rows in view are in the page');
  const l0 = Date.now();
  await page.click('#tab-queue');
  await page.waitForFunction((n) => document.getElementById('queue-count').textContent === String(n)
    && document.querySelector('#queue-list .vspace').style.height === `${n * 64}px`, N);
  const loadMs = Date.now() - l0;
  const rows = await page.locator('.qrow').count();
  check(rows > 5 && rows < 60, `rows in the page: ${rows}`);
  const first = await page.locator('.qrow').first().getAttribute('id');
  check(first === 'draft-1' || first.startsWith('draft-'), `first row ${first}`);

  step('End reaches the newest draft from the keyboard; scrolling renders a handful of rows');
  await page.focus('#queue-list');
  const s0 = Date.now();
  await page.keyboard.press('End');
  await page.waitForSelector('.qrow.active');
  const endMs = Date.now() - s0;
  const last = await page.locator('.qrow.active .who').innerText();
  check(last.includes(`Person ${N - 1}`), `last row: ${last}`);
  const frames = await page.evaluate(async () => {
    const list = document.getElementById('queue-list');
    const times = [];
    for (let i = 0; i < 60; i++) {
      const t = performance.now();
      list.scrollTop = Math.random() * list.scrollHeight;
      list.dispatchEvent(new Event('scroll'));
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    return { median: times[30], p95: times[57], rows: document.querySelectorAll('.qrow').length };
  });
  check(frames.rows < 60, `rows after scrolling: ${frames.rows}`);
  await page.screenshot({ path: join(SHOTS, 'queue-10k-1280.png') });

  step('a draft sent elsewhere leaves the list live, without a reload');
  const page1 = await call('GET', '/v1/drafts?state=pending&limit=1', 'staff-token');
  const id = page1.drafts[0].id;
  await call('POST', `/v1/drafts/${id}/approve`, 'staff-token');
  await page.waitForFunction((n) => document.getElementById('queue-count').textContent === String(n - 1), N);
  check(await page.evaluate(() => window.__notReloaded === true), 'the page was reloaded');

  console.log(`queue of ${N}: loaded and drawn in ${loadMs} ms; End in ${endMs} ms; `
    + `random scroll to painted frame median ${frames.median.toFixed(1)} ms, p95 ${frames.p95.toFixed(1)} ms; `
    + `${rows} rows in the page`);
  console.log('queue-10k: all checks passed');
} catch (e) {
  console.error(e.stack || String(e));
  process.exitCode = 1;
} finally {
  await browser.close();
}

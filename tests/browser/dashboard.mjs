// The command-centre dashboard in a real headless Chromium, against a
// running `squall serve` (tests/dashboard.rs starts it and runs this).
//
// The story of an outage, as the commander lives it: sign in, a surge of
// complaints in five languages comes in while the dashboard is open, the
// incident appears with its status text waiting; approve it and see it
// pinned on every account (Bluesky's welcome post displaced); approve and
// send a reply draft; resolve and see the welcome post restored. Every
// screen is saved as a screenshot at 1280×800 and at phone size.
//
// Environment: SQUALL_URL, SHOTS (directory), CHROMIUM (executable).
// Exit status 0 when every check held; otherwise the first failure.

import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const BASE = process.env.SQUALL_URL;
const SHOTS = process.env.SHOTS || 'target/screenshots';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const COMMANDER = 'commander-token';
const STAFF = 'staff-token';
const VIEWER = 'viewer-token';
const INGEST = 'ingest-token';
if (!BASE) throw new Error('SQUALL_URL is not set');
mkdirSync(SHOTS, { recursive: true });

const step = (s) => console.log(`-- ${s}`);
function check(cond, what) { if (!cond) throw new Error(`check failed: ${what}`); }

/** The surge: complaints in five languages, one with personal data, one influential author. */
function surge() {
  const now = Date.now();
  const texts = [
    ['en', 'acme is down again, checkout fails'],
    ['pl', 'acme nie działa od rana, nie mogę zapłacić'],
    ['ru', 'acme не работает, не могу войти'],
    ['ja', 'acmeのアプリが落ちてる？ログインできない'],
    ['he', 'האתר של acme לא עובד כבר שעה'],
  ];
  const out = [];
  for (let i = 0; i < 25; i++) {
    const [lang, text] = texts[i % texts.length];
    out.push({
      id: `dash-${i}`, platform: 'mastodon', account: 'acme-main',
      author: {
        id: `u-${i}`, handle: `@user${i}@example.social`,
        name: { en: `Pat ${i}`, pl: `Jan ${i}`, ru: `Иван ${i}`, ja: `田中 ${i}`, he: `דנה ${i}` }[lang],
        followers: i === 0 ? 250000 : 40 + i,
      },
      text: i === 5 ? `${text} — write me at jan.kowalski${i}@example.com` : `${text} (#${i})`,
      // Written just now, in the detector's open bucket: a mention for a
      // bucket already closed would be late and not counted.
      lang, created_at: new Date(now - (25 - i)).toISOString(),
    });
  }
  return out;
}

async function post(path, token, body) {
  const r = await fetch(`${BASE}${path}`, {
    method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  check(r.ok, `${path} answered ${r.status}: ${text}`);
  return JSON.parse(text);
}

async function shot(page, name) {
  await page.waitForTimeout(150);
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });
}

async function signIn(page, token) {
  await page.goto(BASE);
  await page.waitForSelector('#token');
  await page.fill('#token', token);
  await page.keyboard.press('Enter');
  await page.waitForSelector('.tabs:not([hidden])');
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  // Playwright gives every launch a fresh, empty profile directory of its own.
});
const problems = [];
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  // Chrome logs every non-2xx answer as a console error; those are the
  // API's business (a refused token is one). Script errors and CSP
  // violations are not.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`);
  });
  page.setDefaultTimeout(20000);

  step('the page is served with a strict CSP and no inline script');
  const resp = await page.goto(BASE);
  const csp = resp.headers()['content-security-policy'] || '';
  check(csp.includes("script-src 'self'") && !csp.includes('unsafe-inline'), `CSP: ${csp}`);
  await shot(page, 'login-1280');

  step('a wrong token is refused and stays out of the URL');
  await page.fill('#token', 'not-a-token');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#login-error:has-text("not known")');
  check(!page.url().includes('not-a-token'), 'token in URL');

  step('the commander signs in with the keyboard');
  await page.fill('#token', COMMANDER);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#me:has-text("commander")');
  await page.waitForSelector('#live[data-state="live"]');
  check(!page.url().includes(COMMANDER), 'token in URL');
  check(await page.evaluate(() => sessionStorage.getItem('squall.token')) === COMMANDER, 'token kept in the session');

  step('a surge is replayed into the running squall; the incident appears live');
  const report = await post('/v1/mentions', INGEST, surge());
  check(report.accepted === 25, `accepted: ${JSON.stringify(report)}`);
  // On a fresh squall the detector is still warming up: the surge is
  // confirmed when the minute's bucket closes, not earlier.
  const row = page.locator('.incident-row').first();
  await row.waitFor({ timeout: 75000 });
  await page.waitForSelector('.detail-head h2:has-text("Site outage")');
  await page.waitForSelector('#status-text');
  const previews = page.locator('.previews li');
  await previews.first().waitFor();
  check(await previews.count() === 3, 'a preview per account');
  const he = page.locator('.preview-text[lang="he"]');
  check(await he.count() === 1, 'Hebrew preview');
  check(await he.evaluate((el) => getComputedStyle(el).direction) === 'rtl', 'Hebrew preview is right to left');
  await shot(page, 'incident-awaiting-1280');

  step('the commander edits and approves the status text');
  await page.fill('#status-text', 'We know Acme is down for many of you and we are working on it. Updates here.');
  await page.click('#approve-status');
  await page.waitForSelector('.pins tr[data-account="acme-bsky"] .b-pinned', { timeout: 30000 });
  await page.waitForSelector('.pins tr[data-account="acme-main"] .b-pinned');
  await page.waitForSelector('.pins tr[data-account="acme-he"] .b-pinned');
  const bsky = await page.locator('.pins tr[data-account="acme-bsky"]').innerText();
  check(bsky.includes('acme-bsky-welcome') && bsky.includes('will be restored'), `bsky pin row: ${bsky}`);
  await page.waitForSelector('.status-text:has-text("working on it")');
  await shot(page, 'incident-pinned-1280');

  step('the mention rate shows the surge against its threshold');
  await page.click('#tab-rate');
  await page.waitForSelector('.chart[data-trigger="outage/surge"] svg');
  await page.waitForSelector('.chart .bar.surge');
  await shot(page, 'rate-1280');

  step('the reply queue lists drafts by mention time; Hebrew is right to left');
  await page.click('#tab-queue');
  await page.waitForSelector('.qrow');
  const rows = await page.locator('.qrow').count();
  check(rows >= 10, `rows rendered: ${rows}`);
  const heRow = page.locator('.qrow .snippet[lang="he"]').first();
  check(await heRow.evaluate((el) => getComputedStyle(el).direction) === 'rtl', 'Hebrew row right to left');
  check(await page.locator('.qrow .b-influential').count() >= 1, 'influential flag');
  check(await page.locator('.qrow .b-private_data').count() >= 1, 'private data flag');
  await page.focus('#queue-list');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#draft-text');
  await shot(page, 'queue-1280');

  step('the first draft is edited, approved and sent');
  const id = await page.locator('#draft-detail').getAttribute('data-id');
  await page.fill('#draft-text', 'Sorry, Pat — the site is down for many people right now. We are on it and will post here when it is back.');
  await page.click('#approve-draft');
  await page.waitForSelector('#toast:has-text("Approved and sent")');
  await page.waitForFunction((d) => !document.querySelector(`#draft-${d}`), id);
  await shot(page, 'queue-sent-1280');

  step('team and off-hours');
  await page.click('#tab-team');
  await page.waitForSelector('#team-body table, #team-body .empty');
  await shot(page, 'team-1280');
  await page.click('#tab-offhours');
  await page.waitForSelector('#offhours-body table, #offhours-body .empty');
  await shot(page, 'offhours-1280');

  step('phone size: every screen');
  await page.setViewportSize({ width: 390, height: 844 });
  for (const tab of ['incidents', 'rate', 'queue', 'team', 'offhours']) {
    await page.click(`#tab-${tab}`);
    await page.waitForTimeout(200);
    await shot(page, `${tab}-phone`);
  }
  await page.setViewportSize({ width: 1280, height: 800 });

  step('resolve: the displaced welcome post is pinned again');
  await page.click('#tab-incidents');
  await page.click('#resolve');
  await page.waitForSelector('.detail-head .b-resolved');
  await page.waitForSelector('.pins tr[data-account="acme-bsky"] .b-restored', { timeout: 30000 });
  const after = await page.locator('.pins tr[data-account="acme-bsky"]').innerText();
  check(after.includes('restored'), `after resolve: ${after}`);
  await shot(page, 'incident-resolved-1280');

  step('a viewer reads but gets no controls; staff may reply but not command');
  const viewer = await context.browser().newContext({ viewport: { width: 1280, height: 800 } });
  const vpage = await viewer.newPage();
  await signIn(vpage, VIEWER);
  await vpage.waitForSelector('.incident-row');
  check(await vpage.locator('#resolve, #approve-status, .detail-pane .actions').count() === 0, 'viewer sees no incident controls');
  await viewer.close();
  const staff = await context.browser().newContext({ viewport: { width: 1280, height: 800 } });
  const spage = await staff.newPage();
  await signIn(spage, STAFF);
  await spage.click('#tab-queue');
  await spage.waitForSelector('.qrow');
  await spage.keyboard.press('Tab');
  await spage.focus('#queue-list');
  await spage.keyboard.press('ArrowDown');
  await spage.keyboard.press('Enter');
  await spage.waitForSelector('#approve-draft');
  await staff.close();

  check(problems.length === 0, `browser reported:\n${problems.join('\n')}`);
  console.log('dashboard: all checks passed');
} catch (e) {
  console.error(e.stack || String(e));
  if (problems.length) console.error(`browser reported:\n${problems.join('\n')}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}

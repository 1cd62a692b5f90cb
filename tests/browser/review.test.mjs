// End-to-end test of the review page in Debian's headless Chromium, driven
// by playwright-core (no browser download: executablePath is the system's).
// Run by tests/cli/review_browser.sh, which builds the store (the bundled
// sample and tests/browser/fixture-ring.jsonl, a mule and its eight
// senders), starts `riskgate serve --as ops` and sets:
//   RG_REVIEW_URL      http://127.0.0.1:PORT/
//   RG_REVIEW_TOKEN    path of the single token file
//   RG_SCREENSHOTS     where to write the PNGs (docs/screenshots)
//   RG_BIN, RG_DB      the riskgate binary and the store (to add users and
//                      read the history as the CLI prints it)
// Steps: the API refuses requests without / with a wrong token; the page
// refuses a wrong token; the single token signs in as its one lead; a
// search; then two users are added (the single token stops working), the
// analyst takes four alerts with a bulk assignment, labels them fraud in
// bulk, opens one with the keyboard, resolves it and reads its history;
// the server refuses her a reassignment; the lead reopens and reassigns
// it; `alerts history` shows every step with the right names in order; the
// Rules tab shows the labels and opens a rule's queue; an entity link
// filters the queue; a legit resolution of a frozen alert shows under
// Releases. Screenshots of each view. Fails on any request to another
// origin and on any console error (a CSP violation shows there).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const base = process.env.RG_REVIEW_URL;
const single = fs.readFileSync(process.env.RG_REVIEW_TOKEN, 'utf8').trim();
const shots = process.env.RG_SCREENSHOTS;
const bin = process.env.RG_BIN;
const db = process.env.RG_DB;
assert.ok(base && single && shots && bin && db, 'RG_REVIEW_URL, RG_REVIEW_TOKEN, RG_SCREENSHOTS, RG_BIN and RG_DB are required');
fs.mkdirSync(shots, { recursive: true });

let passed = 0;
let failed = 0;
async function step(name, fn) {
  try {
    await fn();
    passed++;
    console.log('ok - ' + name);
  } catch (err) {
    failed++;
    console.log('not ok - ' + name + '\n  ' + String(err && err.stack || err).split('\n').join('\n  '));
    throw err;
  }
}
const riskgate = (...args) => execFileSync(bin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const apiAs = (token, method, p, body) => fetch(base + p, {
  method, headers: Object.assign({ Authorization: 'Bearer ' + token }, body ? { 'Content-Type': 'application/json' } : {}),
  body: body ? JSON.stringify(body) : undefined,
});

// The mule's four new_account_mule alerts (fixture-ring.jsonl).
const MULE = ['ring-t-05/ring-mule', 'ring-t-06/ring-mule', 'ring-t-07/ring-mule', 'ring-t-08/ring-mule'];

// ---- the API without the browser -----------------------------------------
await step('API refuses a request without the token', async () => {
  const r = await fetch(base + 'api/alerts');
  assert.equal(r.status, 401);
  assert.match((await r.json()).error, /missing token/);
  assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="riskgate"');
});
await step('API refuses a wrong token', async () => {
  const r = await apiAs('f'.repeat(64), 'GET', 'api/precision');
  assert.equal(r.status, 401);
});
await step('API answers the single token as its one lead', async () => {
  const r = await apiAs(single, 'GET', 'api/me');
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), { name: 'ops', role: 'lead', single_token: true });
});
await step('the page is static and locked down by CSP', async () => {
  const r = await fetch(base);
  assert.equal(r.status, 200);
  const csp = r.headers.get('content-security-policy');
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'sha256-/);
  assert.doesNotMatch(csp, /unsafe-inline/);
  const html = await r.text();
  assert.ok(!html.includes(single), 'the page must not carry the token');
});

// ---- the browser --------------------------------------------------------
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
         '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
});
const origin = new URL(base).origin;
const foreign = [];
const consoleErrors = [];
let ana = '';
let lea = '';
try {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.on('request', (req) => {
    const u = req.url();
    if (!u.startsWith(origin + '/') && !u.startsWith('data:')) foreign.push(u);
  });
  page.on('console', (msg) => { if (msg.type() === 'error') consoleErrors.push(msg.text()); });
  page.on('pageerror', (err) => consoleErrors.push(String(err)));
  const rowIds = () => page.$$eval('#alerts tbody tr.row', (trs) => trs.map((tr) => tr.dataset.id));
  const waitQueue = async () => {
    await page.waitForFunction(() => !document.getElementById('queue').hidden);
    await page.waitForLoadState('networkidle');
  };
  const signIn = async (token) => {
    await page.fill('#token', token);
    await page.click('#signin');
    await page.waitForSelector('#nav:not([hidden])');
    await waitQueue();   // signing in opens the queue (signing out forgot the route)
  };

  await page.goto(base);

  await step('a wrong token is refused on the sign-in form', async () => {
    await page.fill('#token', '0'.repeat(64));
    await page.click('#signin');
    await page.waitForFunction(() => document.getElementById('login-error').textContent.includes('Wrong token'));
    // The browser's own 401 on the probe is expected; nothing else may log errors.
    consoleErrors.length = 0;
    await page.screenshot({ path: path.join(shots, 'login.png') });
  });

  await step('the single token signs in as its lead; my queue starts empty', async () => {
    await signIn(single);
    assert.equal(await page.textContent('#analyst'), 'ops');
    assert.match(await page.textContent('#me-role'), /lead · single token/);
    await page.waitForSelector('#queue-empty:not([hidden])');
    assert.match(await page.textContent('#queue-empty'), /Nothing assigned to you/);
    await page.click('#queue-empty button');
    await page.waitForSelector('#alerts tbody tr.row');
    assert.match(await page.textContent('#queue-title'), /Unassigned/);
  });

  await step('searching finds alerts by a part of the subject', async () => {
    await page.fill('#f-search', 'ng-mu');
    await page.press('#f-search', 'Enter');
    await page.waitForFunction(() => [...document.querySelectorAll('#alerts tbody tr.row')].length > 0 &&
      [...document.querySelectorAll('#alerts tbody tr.row')].every((tr) => tr.cells[3].textContent === 'ring-mule'));
    const ids = await rowIds();
    assert.equal(ids.length, 5);
    assert.equal(ids[0], 'ring-t-08/ring-mule'); // newest first
    assert.match(await page.textContent('#queue-count'), /^5 alerts$/);
  });

  await step('users added to the store replace the single token at once', async () => {
    ana = riskgate('users', 'add', '--db', db, 'ana').trim();
    lea = riskgate('users', 'add', '--db', db, 'lea', '--role', 'lead').trim();
    assert.match(ana, /^[0-9a-f]{64}$/);
    assert.match(riskgate('users', 'list', '--db', db), /ana\s+analyst[\s\S]*lea\s+lead/);
    await page.click('#tab-rules');
    await page.waitForSelector('#login:not([hidden])');
    assert.match(await page.textContent('#login-error'), /refused the token/);
    consoleErrors.length = 0;
  });

  await step('the analyst signs in with her own token; lead controls are hidden', async () => {
    await signIn(ana);
    assert.equal(await page.textContent('#analyst'), 'ana');
    assert.equal(await page.textContent('#me-role'), 'analyst');
    assert.equal(await page.isHidden('#bulk-reopen'), true);
  });

  await step('a bulk assignment: four alerts to me', async () => {
    await page.click('#views button[data-preset="unassigned"]');
    await page.waitForSelector('tr.row[data-id="ring-t-08/ring-mule"]');
    for (const id of MULE) await page.check(`tr.row[data-id="${id}"] input[type=checkbox]`);
    assert.equal(await page.textContent('#bulk-count'), '4 selected');
    await page.screenshot({ path: path.join(shots, 'bulk.png') });
    await page.click('#bulk-take');
    await page.waitForFunction(() => document.getElementById('toast').textContent.startsWith('4 assigned to you'));
    await page.click('#views button[data-preset="mine"]');
    await page.waitForFunction(() => document.querySelectorAll('#alerts tbody tr.row').length === 4);
    assert.deepEqual((await rowIds()).sort(), [...MULE].sort());
    await page.waitForFunction(() => document.querySelector('[data-count="mine"]').textContent === '4');
  });

  await step('a bulk label: the whole queue fraud', async () => {
    await page.check('#check-all');
    assert.equal(await page.textContent('#bulk-count'), '4 selected');
    await page.click('#bulk-fraud');
    await page.waitForFunction(() => document.getElementById('toast').textContent.startsWith('4 labelled fraud'));
    await page.waitForFunction(() => [...document.querySelectorAll('#alerts tbody tr.row')]
      .every((tr) => tr.cells[8].textContent === 'fraud'));
    await page.screenshot({ path: path.join(shots, 'queue.png') });
  });

  await step('the keyboard opens an alert and resolves it; the history lists each step', async () => {
    await page.keyboard.press('j');
    await page.keyboard.press('k');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('#a-title .mono') &&
      document.querySelector('#a-title .mono').textContent === 'ring-t-08/ring-mule');
    await page.waitForSelector('#history li.label-fraud');
    await page.keyboard.press('r');
    await page.waitForFunction(() => document.getElementById('review-msg').textContent.startsWith('Resolved.'));
    await page.waitForFunction(() => document.querySelectorAll('#history li').length === 3);
    const hist = await page.$$eval('#history li', (lis) => lis.map((li) =>
      li.querySelector('.who > span:last-child').textContent + li.querySelector('.what').textContent));
    assert.deepEqual(hist, ['ana took it', 'ana labelled it fraud', 'ana resolved it']);
    // Amounts as money, the event's parties as links, the related picture.
    assert.match(await page.textContent('#a-facts'), /2,087\.50 CNY/);
    assert.match(await page.textContent('#event-table'), /38\.106\.122\.87 — /);
    await page.waitForSelector('#related-svg g.node');
    assert.ok((await page.$$('#related-svg g.node')).length >= 9); // the mule and its eight senders
    await page.screenshot({ path: path.join(shots, 'alert.png'), fullPage: true });
  });

  await step('the server refuses the analyst what only a lead may do', async () => {
    let r = await apiAs(ana, 'POST', 'api/alerts/' + encodeURIComponent(MULE[3]) + '/reopen');
    assert.equal(r.status, 403);
    r = await apiAs(ana, 'POST', 'api/alerts/' + encodeURIComponent(MULE[3]) + '/assign', { assignee: 'lea' });
    assert.equal(r.status, 403);
    assert.match((await r.json()).error, /only to themselves/);
    assert.equal(await page.isHidden('#reopen'), true);
  });

  await step('the lead reopens and reassigns it', async () => {
    await page.click('#signout');
    await signIn(lea);
    await page.goto(base + '#/alert/' + encodeURIComponent(MULE[3]));
    await page.waitForSelector('#reopen:not([hidden])');
    await page.click('#reopen');
    await page.waitForFunction(() => document.getElementById('review-msg').textContent === 'Reopened.');
    await page.selectOption('#assign-to', 'lea');
    await page.waitForFunction(() => document.getElementById('review-msg').textContent === 'Assigned to lea.');
    await page.waitForFunction(() => document.querySelectorAll('#history li').length === 5);
  });

  await step('alerts history prints every step with the right names, oldest first', async () => {
    const out = riskgate('alerts', 'history', '--db', db, MULE[3]);
    const steps = out.split('\n').slice(1).filter(Boolean).map((l) => l.trim().split(/\s+/).slice(1).join(' '));
    assert.deepEqual(steps, ['ana assign ana', 'ana label fraud', 'ana resolve', 'lea reopen', 'lea assign lea']);
  });

  await step('the Rules tab shows the labels; a rule opens its queue', async () => {
    await page.click('#tab-rules');
    await page.waitForSelector('#rules-table tr[data-rule="new_account_mule"]');
    const cells = await page.$eval('#rules-table tr[data-rule="new_account_mule"]', (tr) => [...tr.cells].map((td) => td.textContent));
    assert.deepEqual(cells.slice(1, 5), ['5', '4', '4', '0']);
    assert.equal(await page.textContent('#rules-table tr[data-rule="new_account_mule"] .precision'), '1.00');
    assert.ok((await page.$$('#rules-table tr[data-rule="new_account_mule"] svg.spark rect')).length >= 7);
    assert.ok((await page.$$('#rules-table tr[data-rule="new_account_mule"] svg.prec-line circle:not(.none)')).length >= 1);
    await page.screenshot({ path: path.join(shots, 'rules.png') });
    await page.click('#rules-table tr[data-rule="new_account_mule"]');
    await page.waitForFunction(() => document.getElementById('f-rule').value === 'new_account_mule');
    await page.waitForFunction(() => [...document.querySelectorAll('#alerts tbody tr.row')].length > 0 &&
      [...document.querySelectorAll('#alerts tbody tr.row')].every((tr) => tr.cells[5].textContent.includes('new_account_mule')));
  });

  await step('an entity link shows every alert naming that account', async () => {
    await page.click('#views button[data-preset="all"]');
    await page.waitForSelector('tr.row[data-id="ring-t-08/ring-s8"]');
    await page.click('tr.row[data-id="ring-t-08/ring-s8"] td:nth-child(4) button');
    await page.waitForFunction(() => document.getElementById('chips').textContent.includes('Alerts naming ring-s8'));
    await page.waitForFunction(() => document.querySelectorAll('#alerts tbody tr.row').length === 2);
    assert.deepEqual((await rowIds()).sort(), ['ring-t-08/ring-mule', 'ring-t-08/ring-s8']);
  });

  await step('a frozen subject resolved as legit shows under Releases', async () => {
    await page.goto(base + '#/alert/' + encodeURIComponent('ring-c-1/ring-mule'));
    await page.waitForSelector('#label-legit');
    await page.waitForFunction(() => document.querySelector('#a-title .mono').textContent === 'ring-c-1/ring-mule');
    await page.fill('#note', 'the complaint was withdrawn (e2e test)');
    await page.keyboard.press('Escape'); // leaves the note field
    await page.keyboard.press('l');
    await page.waitForFunction(() => document.getElementById('review-msg').textContent === 'Labelled legit.');
    await page.keyboard.press('r');
    await page.waitForFunction(() => document.getElementById('review-msg').textContent.includes('A release decision was queued'));
    await page.waitForFunction(() => document.getElementById('history').textContent.includes('the complaint was withdrawn'));
    await page.click('#tab-releases');
    await page.waitForSelector('#releases-table tbody tr');
    assert.match(await page.textContent('#releases-table tbody'), /ring-c-1\/ring-mule\/release/);
    await page.screenshot({ path: path.join(shots, 'releases.png') });
  });

  await step('no request left the server, no console errors', async () => {
    assert.deepEqual(foreign, []);
    assert.deepEqual(consoleErrors, []);
  });

  await step('signing out forgets the token', async () => {
    await page.click('#signout');
    assert.equal(await page.isVisible('#login'), true);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('rg.token')), null);
  });
} finally {
  await browser.close();
  console.log(`${passed} passed, ${failed} failed`);
}

// End-to-end test of the review page in Debian's headless Chromium, driven
// by playwright-core (no browser download: executablePath is the system's).
// Run by tests/cli/review_browser.sh, which starts `riskgate serve` and sets:
//   RG_REVIEW_URL      http://127.0.0.1:PORT/
//   RG_REVIEW_TOKEN    path of the token file
//   RG_SCREENSHOTS     where to write the PNGs (docs/screenshots)
// Steps: the API refuses requests without / with a wrong token; the page
// refuses a wrong token; signs in; opens the newest open alert; labels it
// fraud with a note; resolves it; the rule table's labelled/fraud counts
// and precision change. Screenshots of each view. Fails on any request to
// another origin and on any console error (a CSP violation shows there).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const base = process.env.RG_REVIEW_URL;
const token = fs.readFileSync(process.env.RG_REVIEW_TOKEN, 'utf8').trim();
const shots = process.env.RG_SCREENSHOTS;
assert.ok(base && token && shots, 'RG_REVIEW_URL, RG_REVIEW_TOKEN and RG_SCREENSHOTS are required');
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

// ---- the API without the browser -----------------------------------------
await step('API refuses a request without the token', async () => {
  const r = await fetch(base + 'api/alerts');
  assert.equal(r.status, 401);
  assert.match((await r.json()).error, /missing token/);
  assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="riskgate"');
});
await step('API refuses a wrong token', async () => {
  const r = await fetch(base + 'api/precision', { headers: { Authorization: 'Bearer ' + 'f'.repeat(64) } });
  assert.equal(r.status, 401);
});
await step('API answers with the token', async () => {
  const r = await fetch(base + 'api/precision', { headers: { Authorization: 'Bearer ' + token } });
  assert.equal(r.status, 200);
  assert.ok(Array.isArray((await r.json()).rules));
});
await step('the page is static and locked down by CSP', async () => {
  const r = await fetch(base);
  assert.equal(r.status, 200);
  const csp = r.headers.get('content-security-policy');
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'sha256-/);
  assert.doesNotMatch(csp, /unsafe-inline/);
  const html = await r.text();
  assert.ok(!html.includes(token), 'the page must not carry the token');
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
try {
  const context = await browser.newContext({ viewport: { width: 1360, height: 860 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.on('request', (req) => {
    const u = req.url();
    if (!u.startsWith(origin + '/') && !u.startsWith('data:')) foreign.push(u);
  });
  page.on('console', (msg) => { if (msg.type() === 'error') consoleErrors.push(msg.text()); });
  page.on('pageerror', (err) => consoleErrors.push(String(err)));

  await page.goto(base);

  await step('a wrong token is refused on the sign-in form', async () => {
    await page.fill('#token', '0'.repeat(64));
    await page.fill('#name', 'e2e-analyst');
    await page.click('#signin');
    await page.waitForFunction(() => document.getElementById('login-error').textContent.includes('Wrong token'));
    // The browser's own 401 on the probe is expected; nothing else may log errors.
    consoleErrors.length = 0;
    await page.screenshot({ path: path.join(shots, 'login.png') });
  });

  await step('signing in shows the open queue', async () => {
    await page.fill('#token', token);
    await page.fill('#name', 'e2e-analyst');
    await page.click('#signin');
    await page.waitForSelector('#alerts tbody tr.row');
    assert.equal(await page.isVisible('#queue'), true);
    assert.match(await page.textContent('#queue-summary'), /alerts? match/);
    await page.screenshot({ path: path.join(shots, 'queue.png') });
  });

  const first = await page.$eval('#alerts tbody tr.row', (tr) => ({
    id: tr.dataset.id,
    rule: tr.querySelector('td:nth-child(5) .badge').textContent,
  }));

  const precisionRow = async (rule) => {
    await page.click('#tab-rules');
    await page.waitForSelector(`#precision tbody tr[data-rule="${rule}"]`);
    return page.$eval(`#precision tbody tr[data-rule="${rule}"]`, (tr) => {
      const c = [...tr.cells].map((td) => td.textContent);
      return { alerts: +c[1], labelled: +c[2], fraud: +c[3], legit: +c[4], precision: c[5] };
    });
  };

  const before = await precisionRow(first.rule);
  await step('the rule table lists the rule of the first alert', async () => {
    assert.ok(before.alerts >= 1);
    await page.screenshot({ path: path.join(shots, 'rules-before.png') });
  });

  await step('filtering the queue by rule and subject', async () => {
    await page.click('#tab-queue');
    await page.selectOption('#f-rule', first.rule);
    await page.waitForFunction((rule) => [...document.querySelectorAll('#alerts tbody tr.row')]
      .every((tr) => tr.cells[4].textContent.includes(rule)), first.rule);
    await page.selectOption('#f-rule', '');
    await page.waitForSelector(`#alerts tbody tr.row[data-id="${first.id}"]`);
  });

  await step('the alert view shows evidence, the event and the timeline', async () => {
    await page.click(`#alerts tbody tr.row[data-id="${first.id}"]`);
    await page.waitForFunction((id) => document.getElementById('a-title').textContent === 'Alert ' + id, first.id);
    await page.waitForSelector('#evidence tbody tr');
    await page.waitForSelector('#timeline li.current');
    assert.match(await page.textContent('#evidence tbody'), new RegExp(first.rule));
    assert.ok((await page.$$('#event tbody tr')).length >= 1);
    await page.screenshot({ path: path.join(shots, 'alert.png'), fullPage: true });
  });

  await step('labelling the alert fraud', async () => {
    await page.fill('#note', 'confirmed with the bank (e2e test)');
    await page.click('#label-fraud');
    await page.waitForFunction(() => document.getElementById('review-msg').textContent === 'Labelled fraud.');
    assert.match(await page.textContent('#a-facts'), /fraud by e2e-analyst/);
    assert.match(await page.textContent('#a-facts'), /confirmed with the bank/);
  });

  await step('resolving the alert', async () => {
    await page.click('#resolve');
    await page.waitForFunction(() => document.getElementById('review-msg').textContent.startsWith('Resolved.'));
    assert.match(await page.textContent('#a-facts'), /resolved by e2e-analyst/);
    assert.equal(await page.isDisabled('#resolve'), true);
    await page.screenshot({ path: path.join(shots, 'alert-resolved.png'), fullPage: true });
  });

  await step('the precision table changes', async () => {
    const after = await precisionRow(first.rule);
    assert.equal(after.alerts, before.alerts);
    assert.equal(after.labelled, before.labelled + 1);
    assert.equal(after.fraud, before.fraud + 1);
    assert.equal(after.precision, (after.fraud / after.labelled).toFixed(2));
    assert.notEqual(after.precision, before.precision);
    await page.screenshot({ path: path.join(shots, 'rules.png') });
  });

  await step('the resolved alert left the open queue', async () => {
    await page.click('#tab-queue');
    await page.selectOption('#f-status', 'open');
    await page.waitForSelector('#alerts tbody');
    await page.waitForFunction((id) => !document.querySelector(`#alerts tbody tr.row[data-id="${id}"]`), first.id);
    await page.selectOption('#f-status', 'resolved');
    await page.waitForSelector(`#alerts tbody tr.row[data-id="${first.id}"]`);
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

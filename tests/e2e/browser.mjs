// browser.mjs - the console (www/index.html + streamer.js) in Debian's headless chromium driven by playwright-core: connect, echo, a report to 100 % with its link, topics, a server-side close survived by reconnecting, a phone-sized layout, a screenshot.
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  startStack, missingPrograms, connect, uniq, waitFor, stackTest, FLOOR,
} from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const CHROMIUM = process.env.STREAMER_CHROMIUM || '/usr/bin/chromium';
const OUTPUT = process.env.STREAMER_E2E_OUTPUT ||
  (process.env.top_builddir ? join(process.env.top_builddir, 'tests', 'e2e', 'output') : join(tmpdir(), 'streamer-e2e-output'));

let chromium = null;
try {
  ({ chromium } = createRequire((process.env.STREAMER_E2E_NODE_MODULES || join(here, 'node_modules')) + '/')('playwright-core'));
} catch { /* skipped below */ }

const skip = missingPrograms('lighttpd') || (FLOOR && 'needs streamer-fcgi') ||
  (!existsSync(CHROMIUM) && `not installed: ${CHROMIUM} (apt-get install chromium)`) ||
  (!chromium && 'playwright-core is not installed (npm ci in tests/e2e)');

let stack;
let browser;
let page;
const pageErrors = [];
const test = stackTest(nodeTest, () => stack);

before(async () => {
  if (skip) return;
  stack = await startStack();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1100, height: 1300 } });
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
});

const text = (sel) => page.locator(sel).innerText();
const TOPIC = `news.${process.pid}`;
let publisher;

async function publishFromOutside(data) {
  const id = uniq('pub');
  publisher.send({ action: 'publish', id, payload: { topic: TOPIC, data } });
  for (;;) {
    const m = await publisher.nextJson();
    if (m.request_id === id) return m;
  }
}

test('the console opens with the token and the ws URL from the fragment, and connects from the keyboard', { skip }, async () => {
  const token = stack.token({ sub: 'console-user', tenant: 'acme', permissions: 'publish,reports' });
  // the library and the page are served as JavaScript (modules need it), by lighttpd and through Pushpin
  for (const base of [stack.httpUrl, stack.wsUrl.replace(/^ws/, 'http').replace(/\/ws$/, '')]) {
    for (const f of ['streamer.js', 'console.js']) {
      const res = await fetch(`${base}/${f}`);
      assert.equal(res.status, 200, `${base}/${f}`);
      assert.match(res.headers.get('content-type'), /javascript/);
    }
  }
  await page.goto(`${stack.httpUrl}/#token=${token}`);
  assert.equal(await page.inputValue('#ws-url'), 'ws://127.0.0.1:7999/ws', 'the default WebSocket URL');
  await page.goto(`${stack.httpUrl}/#token=${token}&ws=${encodeURIComponent(stack.wsUrl)}`);
  assert.equal(await page.title(), 'streamer console');
  assert.equal(await page.inputValue('#token'), token);
  assert.equal(await page.inputValue('#ws-url'), stack.wsUrl);
  assert.equal(await text('#state'), 'disconnected');
  // every form control has a label
  const unlabelled = await page.$$eval('input, textarea, select', (els) => els.filter((e) => !e.labels || e.labels.length === 0).map((e) => e.id));
  assert.deepEqual(unlabelled, []);
  // keyboard only: Tab from the URL reaches the token, Enter there connects
  await page.focus('#ws-url');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'token');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.getElementById('state').textContent === 'connected');
  await page.waitForFunction(() => document.getElementById('conn-id').textContent.length > 0);
  assert.match(await text('#identity'), /console-user @ acme \(publish, reports\)/);
  assert.equal(await page.isEnabled('#echo-send'), true);
  assert.equal(await page.isDisabled('#connect'), true);
});

test('echo: the answer is shown and both frames are in the log', { skip }, async () => {
  await page.fill('#echo-text', '{"from":"chromium","n":7}');
  await page.press('#echo-text', 'Enter');
  await page.waitForFunction(() => document.getElementById('echo-result').textContent.startsWith('echo:'));
  assert.match(await text('#echo-result'), /echo: \{"from":"chromium","n":7\}/);
  const log = await text('#log');
  assert.match(log, /→ \{"action":"echo","id":"[^"]+","payload":\{"from":"chromium","n":7\}\}/);
  assert.match(log, /← \{"type":"response"/);
});

test('report: the progress bar reaches 100 % and the link downloads the CSV', { skip }, async () => {
  const p = stack.startProcessor();
  try {
    await page.evaluate(() => {
      window.seenPercent = [];
      const el = document.getElementById('report-percent');
      new MutationObserver(() => window.seenPercent.push(el.textContent)).observe(el, { childList: true, characterData: true, subtree: true });
    });
    assert.equal(await page.inputValue('#report-format'), 'csv');
    assert.equal(await page.inputValue('#report-start'), new Date().toISOString().slice(0, 10));
    await page.click('#report-run');
    await page.waitForSelector('#report-link:not([hidden])', { timeout: 20_000 });
    assert.equal(await text('#report-percent'), '100 %');
    assert.equal(await page.$eval('#report-progress', (e) => e.value), 100);
    const seen = await page.evaluate(() => window.seenPercent.map((s) => parseInt(s, 10)));
    assert.ok(seen.length >= 2, `progress seen: ${seen}`);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i] >= seen[i - 1], `progress went down: ${seen}`);
    const href = await page.getAttribute('#report-link', 'href');
    assert.match(href, /^\/reports\/[^/]+\.csv$/);
    assert.match(await text('#report-link'), /Download the report \(csv, \d+ rows\)/);
    // the link resolves against the page's origin: the web server serves it
    const res = await page.evaluate(async (u) => {
      const r = await fetch(u);
      return { status: r.status, body: await r.text() };
    }, href);
    assert.equal(res.status, 200);
    assert.ok(res.body.split('\n').length >= 2, res.body);
  } finally {
    await stack.stopProcessor(p);
  }
});

test('topics: subscribe, then events published by the page and by another client appear', { skip }, async () => {
  publisher = await connect(stack, { sub: uniq('outside'), tenant: 'acme', permissions: 'publish' });
  await page.fill('#topic', TOPIC);
  await page.click('#subscribe');
  await page.waitForFunction((t) => document.getElementById('topics-list').textContent === t, TOPIC);
  await page.fill('#publish-data', '{"from":"the page"}');
  await page.click('#publish');
  await page.waitForFunction(() => document.getElementById('events').textContent.includes('"from":"the page"'));
  const m = await publishFromOutside({ from: 'node' });
  assert.equal(m.type, 'response', JSON.stringify(m));
  await page.waitForFunction(() => document.getElementById('events').textContent.includes('"from":"node"'));
  assert.match(await text('#events'), new RegExp(`${TOPIC.replace('.', '\\.')}: \\{"from":"node"\\}`));
});

test('a server-side close: the console reconnects, resubscribes and keeps working', { skip }, async () => {
  const oldId = await text('#conn-id');
  const r = await stack.cliRun(['close', oldId, '--code', '4001', '--reason', 'kicked by the test']);
  assert.equal(r.status, 0, r.stderr);
  await page.waitForFunction(() => document.getElementById('log').textContent.includes('closed 4001 kicked by the test; reconnecting'));
  await page.waitForFunction((id) => {
    const c = document.getElementById('conn-id').textContent;
    return document.getElementById('state').textContent === 'connected' && c && c !== id;
  }, oldId);
  assert.notEqual(await text('#conn-id'), oldId);
  // the subscription came back with the new connection
  assert.ok(await waitFor(async () => {
    await publishFromOutside({ from: 'after the close' });
    return (await text('#events')).includes('after the close');
  }, 8000, 300), 'no event after the reconnect');
  await page.fill('#echo-text', '"still here"');
  await page.click('#echo-send');
  await page.waitForFunction(() => document.getElementById('echo-result').textContent.includes('"still here"'));
});

test('a screenshot of the console is saved and is not blank; on a phone nothing overflows', { skip }, async (t) => {
  mkdirSync(OUTPUT, { recursive: true });
  const file = join(OUTPUT, 'console.png');
  await page.screenshot({ path: file, fullPage: true });
  const size = statSync(file).size;
  assert.ok(size > 10_000, `${file} is only ${size} bytes`);
  const visible = await page.locator('body').innerText();
  for (const s of ['streamer console', 'Connection', 'Echo', 'Report', 'Topics', 'Frames', 'connected', 'Download the report']) {
    assert.ok(visible.includes(s), `"${s}" is not visible on the page`);
  }
  // a phone: one column, no horizontal scrolling, buttons big enough to tap
  await page.setViewportSize({ width: 375, height: 740 });
  const layout = await page.evaluate(() => ({
    overflow: document.documentElement.scrollWidth - window.innerWidth,
    columns: getComputedStyle(document.querySelector('main')).gridTemplateColumns.split(' ').length,
    smallest: Math.min(...[...document.querySelectorAll('button')].map((b) => b.getBoundingClientRect().height)),
  }));
  assert.ok(layout.overflow <= 0, `the page scrolls sideways by ${layout.overflow} px`);
  assert.equal(layout.columns, 1);
  assert.ok(layout.smallest >= 40, `a button is ${layout.smallest} px high`);
  const phone = join(OUTPUT, 'console-phone.png');
  await page.screenshot({ path: phone, fullPage: true });
  assert.ok(statSync(phone).size > 10_000);
  t.diagnostic(`screenshots: ${file} ${phone}`);
});

test('disconnect closes for good; the page logged no errors', { skip }, async () => {
  await page.click('#disconnect');
  await page.waitForFunction(() => document.getElementById('state').textContent === 'disconnected');
  assert.equal(await page.isEnabled('#connect'), true);
  assert.equal(await page.isDisabled('#echo-send'), true);
  if (publisher) await publisher.close();
  assert.deepEqual(pageErrors, []);
});

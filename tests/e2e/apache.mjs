// apache.mjs - the same connect/echo/disconnect with Apache (mod_proxy_fcgi, contrib/apache/streamer.conf) in place of lighttpd.
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  startStack, missingPrograms, needsWorker, Client, connect, echoMsg, echoProblem, waitFor, uniq,
  stackTest, checkBearerHeader,
} from './lib.mjs';

const skip = missingPrograms('apache');
const API_KEY = `apache-api-key-${process.pid}-0123456789`;
let stack;
const test = stackTest(nodeTest, () => stack);

before(async () => {
  if (skip) return;
  stack = await startStack({ STREAMER_WEB_SERVER: 'apache', STREAMER_ALLOWED_TENANTS: 'acme', STREAMER_API_KEY: API_KEY });
});

after(async () => {
  if (stack) await stack.stop();
});

test('through Apache: open, echo in order, close removes the row', { skip }, async () => {
  const sub = uniq('apache');
  const c = await connect(stack, { sub, tenant: 'acme' });
  for (let i = 0; i < 5; i++) c.send(echoMsg(`a${i}`, { i, via: 'apache' }));
  for (let i = 0; i < 5; i++) assert.equal(echoProblem(await c.next(), `a${i}`, { i, via: 'apache' }), null);
  if (!needsWorker) assert.equal(stack.rowsFor(sub).length, 1, 'one row while connected');
  await c.close();
  if (!needsWorker) assert.ok(await waitFor(() => stack.rowsFor(sub).length === 0, 15_000), 'row gone after close');
});

test('through Apache: a socket destroyed without a close frame removes the row', { skip: skip || needsWorker }, async () => {
  const sub = uniq('apache-vanish');
  const c = await connect(stack, { sub, tenant: 'acme' });
  c.send(echoMsg('x', {}));
  await c.next();
  assert.equal(stack.rowsFor(sub).length, 1);
  c.terminate();
  assert.ok(await waitFor(() => stack.rowsFor(sub).length === 0, 15_000), 'row gone after DISCONNECT');
});

test('through Apache: a refused handshake keeps its status and JSON body', { skip: skip || needsWorker }, async () => {
  const c = new Client(stack.url(stack.token({ sub: uniq('apache-t'), tenant: 'initech' })));
  const e = await c.open().then(() => null, (err) => err);
  assert.ok(e && e.status, `the handshake should fail: ${e}`);
  assert.equal(e.status, 403, `body: ${e.body}`);
  assert.equal(JSON.parse(e.body).code, 'FORBIDDEN');
});

test('through Apache: a token in an Authorization: Bearer header opens the WebSocket', { skip: skip || needsWorker }, async () => {
  await checkBearerHeader(stack);
});

test('through Apache: a POST without Grip-Sig is refused with 401', { skip: skip || needsWorker }, async () => {
  const res = await fetch(`${stack.httpUrl}/ws?Authorization=${encodeURIComponent(stack.token({ sub: uniq('apache-direct') }))}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/websocket-events', 'Connection-Id': uniq('forged') },
    body: 'OPEN\r\n',
  });
  assert.equal(res.status, 401, await res.text());
});

test('through Apache: GET /healthz answers 200', { skip }, async () => {
  const res = await fetch(`${stack.httpUrl}/healthz`);
  assert.equal(res.status, 200);
});

test('through Pushpin and Apache: the console and reports are served from /public/, the plain dialect and /metrics are not', { skip }, async () => {
  const pushpin = stack.wsUrl.replace(/^ws/, 'http').replace(/\/ws$/, '');
  writeFileSync(join(stack.var, 'reports', 'apache-probe.csv'), 'a,b\n1,2\n');
  for (const [path, want] of [['/', /<!doctype html>/i], ['/streamer.js', /export/], ['/reports/apache-probe.csv', /^a,b/]]) {
    const res = await fetch(`${pushpin}${path}`);
    assert.equal(res.status, 200, `GET ${path} through Pushpin`);
    assert.match(await res.text(), want);
  }
  assert.equal((await fetch(`${pushpin}/healthz`)).status, 200);
  for (const path of ['/metrics', '/api/connect', '/connect', '/message', '/api/v1/broadcast', '/api/v1/connections']) {
    const res = await fetch(`${pushpin}${path}`, {
      method: /metrics|connections/.test(path) ? 'GET' : 'POST',
      headers: { 'X-Connection-Id': 'x1', Authorization: `Bearer ${API_KEY}` },
    });
    const body = await res.text();
    assert.equal(res.status, 404, `${path} through Pushpin: ${body}`);
    assert.ok(!/streamer_|connection_secret/.test(body), body);
  }
  // The same paths answer on Apache's own port.
  assert.equal((await fetch(`${stack.httpUrl}/metrics`)).status, 200);
  const api = await fetch(`${stack.httpUrl}/api/v1/connections?tenant=acme`, { headers: { Authorization: `Bearer ${API_KEY}` } });
  assert.equal(api.status, 200, 'the server API on Apache\'s own port');
  assert.ok(Array.isArray((await api.json()).connections));
});

test('through Apache: no worker crashed and no error was logged', { skip }, async () => {
  assert.deepEqual(stack.workerCrashes(), []);
  assert.deepEqual(stack.workerLogLines().filter((l) => l.level === 'error'), []);
});

test('the workers stop cleanly on SIGTERM (no sanitizer or leak report)', { skip }, async () => {
  const r = stack.stack('stop');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(stack.workerCrashes(), [], 'workers.log has crash/sanitizer reports');
  assert.deepEqual(stack.tokenLeaks(), [], 'a log holds a token the tests used');
});

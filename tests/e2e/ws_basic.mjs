// ws_basic.mjs - one client at a time through Pushpin -> lighttpd -> streamer-fcgi: open, echo, order, auth rejections, disconnects, Grip-Sig.
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startStack, missingPrograms, needsWorker, Client, connect, echoMsg, echoProblem,
  rs256, strangerPrivateKey, waitFor, uniq,
  stackTest, checkBearerHeader,
} from './lib.mjs';
import { readFileSync } from 'node:fs';

const skip = missingPrograms('lighttpd');
let stack;
const test = stackTest(nodeTest, () => stack);

before(async () => {
  if (skip) return;
  stack = await startStack({ STREAMER_ALLOWED_TENANTS: 'acme,globex' });
});

after(async (t) => {
  if (!stack) return;
  await stack.stop();
});

// Fails the file when a worker crashed or a sanitizer complained.
function assertNoCrash() {
  assert.deepEqual(stack.workerCrashes(), [], 'worker stderr has crash/sanitizer reports');
}

test('a valid token opens the WebSocket', { skip }, async () => {
  const c = await connect(stack, { sub: uniq('open') });
  assert.equal(c.ws.readyState, 1);
  await c.close();
});

test('echo round trip carries the request_id and the payload', { skip }, async () => {
  const c = await connect(stack, { sub: uniq('echo') });
  const payload = { text: 'héllo', n: 42, nested: { a: [1, 2, 3] } };
  c.send(echoMsg('r1', payload));
  const problem = echoProblem(await c.next(), 'r1', payload);
  assert.equal(problem, null);
  await c.close();
});

test('10 messages sent back to back come back in order', { skip }, async () => {
  const c = await connect(stack, { sub: uniq('order') });
  for (let i = 0; i < 10; i++) c.send(echoMsg(`m${i}`, { i }));
  for (let i = 0; i < 10; i++) {
    assert.equal(echoProblem(await c.next(), `m${i}`, { i }), null, `message ${i}`);
  }
  await c.close();
});

async function refused(token) {
  const c = new Client(stack.url(token));
  try {
    await c.open();
  } catch (e) {
    if (e.status === undefined) throw e;
    return e;
  }
  await c.close();
  assert.fail('the handshake succeeded but should have been refused');
}

function assertJsonError(e, status, code) {
  assert.equal(e.status, status, `handshake status (body: ${e.body})`);
  let body;
  assert.doesNotThrow(() => { body = JSON.parse(e.body); }, `body is JSON: ${e.body}`);
  assert.equal(body.code, code);
  assert.equal(typeof body.error, 'string');
  assert.ok(body.error.length > 0);
}

test('a token signed by another key is refused with 401 and a JSON body', { skip: skip || needsWorker }, async () => {
  const now = Math.floor(Date.now() / 1000);
  const tok = rs256({ sub: 'mallory', tenant_id: 'acme', iat: now, exp: now + 600 }, strangerPrivateKey());
  assertJsonError(await refused(tok), 401, 'UNAUTHORIZED');
});

test('an expired token is refused with 401 and a JSON body', { skip: skip || needsWorker }, async () => {
  const now = Math.floor(Date.now() / 1000);
  // Signed with the right key, so only the expiry can be the reason.
  const key = readFileSync(stack.privateKey, 'utf8');
  const tok = rs256({ sub: 'late', tenant_id: 'acme', iat: now - 7200, exp: now - 3600 }, key);
  assertJsonError(await refused(tok), 401, 'UNAUTHORIZED');
  // The same key and claims with a future exp are accepted: the refusal above is the expiry.
  const good = rs256({ sub: 'late', tenant_id: 'acme', iat: now, exp: now + 600 }, key);
  const c = await new Client(stack.url(good)).open();
  await c.close();
});

test('a tenant outside STREAMER_ALLOWED_TENANTS is refused with 403 and a JSON body', { skip: skip || needsWorker }, async () => {
  const e = await refused(stack.token({ sub: uniq('tenant'), tenant: 'initech' }));
  assertJsonError(e, 403, 'FORBIDDEN');
});

test('lighttpd: a token in an Authorization: Bearer header opens the WebSocket', { skip: skip || needsWorker }, async () => {
  await checkBearerHeader(stack);
});

test('a client close removes the connection row', { skip: skip || needsWorker }, async () => {
  const sub = uniq('close');
  const c = await connect(stack, { sub, tenant: 'globex' });
  c.send(echoMsg('x', {}));
  await c.next();
  const rows = stack.rowsFor(sub);
  assert.equal(rows.length, 1, 'one row while connected');
  assert.equal(rows[0].tenant_id, 'globex');
  await c.close();
  const gone = await waitFor(() => stack.rowsFor(sub).length === 0, 15_000);
  assert.ok(gone, 'row still there 5 s after the close');
});

test('a socket destroyed without a close frame: DISCONNECT removes the row within 5 s', { skip: skip || needsWorker }, async () => {
  const sub = uniq('vanish');
  const c = await connect(stack, { sub });
  c.send(echoMsg('x', {}));
  await c.next();
  assert.equal(stack.rowsFor(sub).length, 1, 'one row while connected');
  c.terminate();
  const gone = await waitFor(() => stack.rowsFor(sub).length === 0, 15_000);
  assert.ok(gone, 'row still there 5 s after the socket was destroyed');
});

async function postEvents(headers, body = 'OPEN\r\n', token = stack.token({ sub: uniq('direct') })) {
  const res = await fetch(`${stack.httpUrl}/ws?Authorization=${encodeURIComponent(token)}`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/websocket-events',
      'Connection-Id': uniq('forged'),
      ...headers,
    },
    body,
  });
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}

test('a POST straight to lighttpd without Grip-Sig is refused with 401', { skip: skip || needsWorker }, async () => {
  const r = await postEvents({});
  assert.equal(r.status, 401, `body: ${r.body}`);
  assert.doesNotMatch(r.body, /^OPEN/);
});

test('a POST with a Grip-Sig signed by another key is refused with 401', { skip: skip || needsWorker }, async () => {
  const r = await postEvents({ 'Grip-Sig': stack.gripSig('not-the-grip-key') });
  assert.equal(r.status, 401, `body: ${r.body}`);
});

test('the same POST with a valid Grip-Sig is accepted (the refusals above are the signature)', { skip: skip || needsWorker }, async () => {
  const r = await postEvents({ 'Grip-Sig': stack.gripSig() });
  assert.equal(r.status, 200, `body: ${r.body}`);
  assert.equal(r.type, 'application/websocket-events');
  assert.match(r.body, /^OPEN\r\n/);
});

test('GET /healthz through lighttpd answers 200 without Grip-Sig', { skip }, async () => {
  const res = await fetch(`${stack.httpUrl}/healthz`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') || '', /^application\/json/);
  JSON.parse(await res.text());
});

test('no worker crashed and no error was logged', { skip }, async () => {
  assertNoCrash();
  const errors = stack.workerLogLines().filter((l) => l.level === 'error' || l.level === 'unparsable');
  assert.deepEqual(errors, []);
});

test('the workers stop cleanly on SIGTERM (no sanitizer or leak report)', { skip }, async () => {
  const r = stack.stack('stop');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(stack.workerCrashes(), [], 'workers.log has crash/sanitizer reports');
  assert.deepEqual(stack.tokenLeaks(), [], 'a log holds a token the tests used');
});

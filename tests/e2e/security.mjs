// security.mjs - issue 13's connection takeover, tried as an attacker through the real dev-stack Pushpin configuration: every way in is refused and the victim's connection stays its own.
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import {
  startStack, missingPrograms, needsWorker, Client, uniq, stackTest,
} from './lib.mjs';

const skip = missingPrograms() || needsWorker;
let stack;
let pushpin; // http://127.0.0.1:<Pushpin's client port>: what the internet reaches
const secrets = []; // connection secrets issued to the tests (must appear in no log)
const test = stackTest(nodeTest, () => stack);

before(async () => {
  if (skip) return;
  stack = await startStack();
  pushpin = stack.wsUrl.replace(/^ws/, 'http').replace(/\/ws$/, '');
});

after(async () => {
  if (stack) await stack.stop();
});

// One HTTP request with the path sent exactly as given (fetch would resolve
// "/../metrics" to "/metrics" before sending): { status, body }.
function raw(base, method, path, headers = {}, body = '') {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({
      host: u.hostname, port: u.port, method, path,
      headers: { 'Content-Length': Buffer.byteLength(body), ...headers },
      timeout: 15_000,
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: text }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within 15 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

// What identifies a connection row and what a takeover or a forged message would change.
const identity = (row) => row && {
  id: row.id, user_id: row.user_id, tenant_id: row.tenant_id, permissions: row.permissions,
  connected_at: row.connected_at, messages_received: row.messages_received,
};
const rowOf = (id) => stack.connections().find((r) => r.id === id);

// The victim: a WebSocket through Pushpin, with a permission the attacker lacks.
async function victim() {
  const sub = uniq('victim');
  const c = await new Client(stack.url(stack.token({ sub, tenant: 'acme', permissions: 'publish' }))).open();
  const rows = stack.rowsFor(sub);
  assert.equal(rows.length, 1, 'the victim has one row');
  return { sub, c, id: rows[0].id, before: identity(rows[0]) };
}

async function whoami(c, id) {
  c.send({ action: 'whoami', id });
  const m = JSON.parse(await c.next(10_000));
  assert.equal(m.request_id, id, JSON.stringify(m));
  assert.equal(m.type, 'response', JSON.stringify(m));
  return m.data;
}

const attackerToken = () => stack.token({ sub: uniq('attacker'), tenant: 'acme' });

test('through Pushpin, the plain dialect cannot act as a victim\'s WebSocket connection', { skip }, async () => {
  const v = await victim();
  const body = JSON.stringify({ action: 'whoami', id: 'a' });
  for (const path of ['/api/message', '/message', '/ws/message', '/api/ws/message', '/ws/../api/message',
    '/../api/message', '/%2e%2e/api/message', '/healthz/../api/message', '/public/../message']) {
    const r = await raw(pushpin, 'POST', path, { 'X-Connection-Id': v.id, 'Content-Type': 'application/json' }, body);
    assert.notEqual(r.status, 200, `POST ${path} through Pushpin answered 200: ${r.body}`);
    assert.ok(!r.body.includes(v.sub), `POST ${path} told the victim's user: ${r.body}`);
    assert.ok(!r.body.includes('"response"'), `POST ${path} was routed to an action: ${r.body}`);
  }
  assert.deepEqual(identity(rowOf(v.id)), v.before, 'the victim\'s row changed (touched or counted)');
  assert.equal((await whoami(v.c, 'v1')).user_id, v.sub);
  await v.c.close();
});

test('through Pushpin, a connect with the victim\'s id and the attacker\'s token does not rebind it', { skip }, async () => {
  const v = await victim();
  const token = attackerToken();
  for (const path of ['/api/connect', '/connect', '/ws/connect', '/../api/connect', '/healthz/../connect']) {
    for (const headers of [{ Authorization: `Bearer ${token}` }, {}]) {
      const q = headers.Authorization ? '' : `?Authorization=${encodeURIComponent(token)}`;
      const r = await raw(pushpin, 'POST', path + q, { 'X-Connection-Id': v.id, ...headers });
      assert.notEqual(r.status, 200, `POST ${path} through Pushpin answered 200: ${r.body}`);
      assert.ok(!/connection_secret/.test(r.body), `POST ${path} issued a secret: ${r.body}`);
    }
  }
  assert.deepEqual(identity(rowOf(v.id)), v.before, 'the victim\'s row was replaced');
  const me = await whoami(v.c, 'v2');
  assert.equal(me.user_id, v.sub);
  assert.deepEqual(me.permissions, ['publish']);
  await v.c.close();
});

test('even on the web server\'s own port the victim\'s id is refused: 409 at connect, 401 without the secret', { skip }, async () => {
  const v = await victim();
  const c = await raw(stack.httpUrl, 'POST', '/api/connect', { 'X-Connection-Id': v.id, Authorization: `Bearer ${attackerToken()}` });
  assert.equal(c.status, 409, c.body);
  assert.equal(JSON.parse(c.body).code, 'CONFLICT');
  const m = await raw(stack.httpUrl, 'POST', '/api/message', { 'X-Connection-Id': v.id }, JSON.stringify({ action: 'whoami', id: 'a' }));
  assert.equal(m.status, 401, m.body);
  assert.ok(!m.body.includes(v.sub), m.body);
  const d = await raw(stack.httpUrl, 'POST', '/api/disconnect', { 'X-Connection-Id': v.id, 'X-Connection-Secret': '0'.repeat(64) });
  assert.equal(d.status, 401, d.body);
  assert.deepEqual(identity(rowOf(v.id)), v.before, 'the victim\'s row changed');
  assert.equal((await whoami(v.c, 'v3')).user_id, v.sub);
  await v.c.close();
});

test('a WebSocket opened with the id of a live connection of someone else is refused with 409', { skip }, async () => {
  // Pushpin chooses WebSocket ids; a plain-dialect connection on the web
  // server's port stands for a live id here, and Pushpin's Connection-Id is
  // forged the only way possible: straight to the web server, with a Grip-Sig.
  const id = uniq('plain');
  const sub = uniq('owner');
  const c = await raw(stack.httpUrl, 'POST', '/api/connect', { 'X-Connection-Id': id, Authorization: `Bearer ${stack.token({ sub })}` });
  assert.equal(c.status, 200, c.body);
  const o = await raw(stack.httpUrl, 'POST', `/ws?Authorization=${encodeURIComponent(attackerToken())}`, {
    'Content-Type': 'application/websocket-events', 'Connection-Id': id, 'Grip-Sig': stack.gripSig(),
  }, 'OPEN\r\n');
  assert.equal(o.status, 409, o.body);
  assert.equal(JSON.parse(o.body).code, 'CONFLICT');
  assert.equal(rowOf(id).user_id, sub);
});

test('/metrics is not served through Pushpin, whatever the path trick', { skip }, async () => {
  for (const path of ['/metrics', '/api/metrics', '/ws/metrics', '/public/../metrics', '/../metrics', '/%2e%2e/metrics',
    '/./metrics', '/healthz/../metrics', '/healthz/..%2fmetrics', '//metrics', '/reports/../metrics', '/ws/../metrics']) {
    const r = await raw(pushpin, 'GET', path);
    assert.notEqual(r.status, 200, `GET ${path} through Pushpin answered 200`);
    assert.ok(!/streamer_/.test(r.body), `GET ${path} through Pushpin showed metrics`);
  }
  // On the web server's own port, from loopback, it is served.
  const direct = await raw(stack.httpUrl, 'GET', '/metrics');
  assert.equal(direct.status, 200);
  assert.match(direct.body, /^streamer_/m);
  // A loopback peer that forwards for someone else is not.
  const fwd = await raw(stack.httpUrl, 'GET', '/metrics', { 'X-Forwarded-For': '203.0.113.1' });
  assert.equal(fwd.status, 403, fwd.body);
});

test('through Pushpin: the console and GET /healthz are served; /healthz names no URL', { skip }, async () => {
  const page = await raw(pushpin, 'GET', '/');
  assert.equal(page.status, 200);
  assert.match(page.body, /<!doctype html>/i);
  const js = await raw(pushpin, 'GET', '/streamer.js');
  assert.equal(js.status, 200);
  writeFileSync(join(stack.var, 'reports', 'probe.csv'), 'a,b\n1,2\n');
  const rep = await raw(pushpin, 'GET', '/reports/probe.csv');
  assert.equal(rep.status, 200);
  assert.equal(rep.body, 'a,b\n1,2\n');
  const h = await raw(pushpin, 'GET', '/healthz');
  assert.equal(h.status, 200, h.body);
  const health = JSON.parse(h.body);
  assert.equal(health.checks.database, 'ok');
  assert.ok(!/https?:|127\.0\.0\.1|\/publish/.test(h.body), `healthz names a URL: ${h.body}`);
  const post = await raw(pushpin, 'POST', '/healthz');
  assert.notEqual(post.status, 200, post.body);
});

test('a WebSocket on another path than /ws does not reach the workers', { skip }, async () => {
  for (const path of ['/api/connect', '/connect', '/metrics']) {
    const url = `${stack.wsUrl.replace(/\/ws$/, path)}?Authorization=${encodeURIComponent(attackerToken())}`;
    const e = await new Client(url).open().then(() => null, (err) => err);
    assert.ok(e, `a WebSocket on ${path} opened`);
  }
});

test('X-Forwarded-For from the client is not recorded: Pushpin replaces it', { skip }, async () => {
  const sub = uniq('xff');
  const c = await new Client(stack.url(stack.token({ sub })), { headers: { 'X-Forwarded-For': '6.6.6.6' } }).open();
  const [row] = stack.rowsFor(sub);
  assert.equal(row.source_addr, '127.0.0.1');
  await c.close();
});

test('the plain dialect works on the web server\'s port with its secret', { skip }, async () => {
  const id = uniq('p');
  const sub = uniq('plain-user');
  const c = await raw(stack.httpUrl, 'POST', '/api/connect', { 'X-Connection-Id': id, Authorization: `Bearer ${stack.token({ sub })}` });
  assert.equal(c.status, 200, c.body);
  const { connection_secret: secret } = JSON.parse(c.body);
  assert.match(secret, /^[0-9a-f]{64}$/);
  secrets.push(secret);
  const m = await raw(stack.httpUrl, 'POST', '/api/message', { 'X-Connection-Id': id, 'X-Connection-Secret': secret },
    JSON.stringify({ action: 'whoami', id: 'w' }));
  assert.equal(m.status, 200, m.body);
  assert.equal(JSON.parse(m.body).data.user_id, sub);
  const d = await raw(stack.httpUrl, 'POST', '/api/disconnect', { 'X-Connection-Id': id, 'X-Connection-Secret': secret });
  assert.equal(d.status, 200, d.body);
  assert.equal(rowOf(id), undefined);
});

test('no worker crashed; no token or connection secret in the logs', { skip }, async () => {
  assert.deepEqual(stack.workerCrashes(), []);
  assert.deepEqual(stack.tokenLeaks(), []);
  assert.ok(secrets.length > 0);
  for (const f of readdirSync(stack.logDir)) {
    const text = readFileSync(join(stack.logDir, f), 'utf8');
    assert.ok(!secrets.some((x) => text.includes(x)), `${f} holds a connection secret`);
  }
});

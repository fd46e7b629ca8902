// api.mjs - the server HTTP API, presence and topic claims through the real stack: POST /api/v1/broadcast on the web server reaches WebSocket clients through Pushpin (and is 404 through Pushpin itself); send and close; presence join/leave between clients, after a killed socket and after an expiry; a topics claim subscribes at connect; STREAMER_TOPIC_POLICY=claims refuses an unlisted topic.
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import {
  startStack, missingPrograms, connect, uniq, waitFor, stackTest, FLOOR,
} from './lib.mjs';

const skip = missingPrograms('lighttpd') || (FLOOR && 'needs streamer-fcgi');
const KEY = `e2e-api-key-${process.pid}-0123456789`;
let stack;
const test = stackTest(nodeTest, () => stack);

before(async () => {
  if (skip) return;
  stack = await startStack({ STREAMER_API_KEY: KEY });
});

after(async () => {
  if (stack) await stack.stop();
});

// One API call on the web server's own port (or base), on a connection of its own
// (no keep-alive: an idle socket the web server closes would fail the next call);
// resolves { status, body, text }.
function api(method, path, body, { base = stack.httpUrl, key = KEY } = {}) {
  const payload = body === undefined ? null : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}/api/v1/${path}`, {
      method,
      agent: false,
      headers: {
        ...(key === null ? {} : { Authorization: `Bearer ${key}` }),
        'Content-Type': 'application/json',
        ...(payload === null ? {} : { 'Content-Length': Buffer.byteLength(payload) }),
      },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON: left null */ }
        resolve({ status: res.statusCode, body: json, text });
      });
    });
    req.on('error', (e) => reject(new Error(`${method} ${path}: ${e.message}`)));
    req.end(payload ?? undefined);
  });
}

// Resolves with the next message that passes pred, dropping others; rejects after ms.
async function nextWhere(c, pred, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const left = end - Date.now();
    if (left <= 0) throw new Error('no matching message in time');
    const m = await c.nextJson(left);
    if (pred(m)) return m;
  }
}

// Resolves with the next message, or null when none comes within ms.
async function maybeNext(c, ms = 400) {
  try { return await c.nextJson(ms); } catch { return null; }
}

async function subscribe(c, topic, extra = {}) {
  const id = uniq('sub');
  c.send({ action: 'subscribe', id, payload: { topic, ...extra } });
  const m = await nextWhere(c, (x) => x.request_id === id);
  assert.equal(m.type, 'response', JSON.stringify(m));
  return m.data;
}

test('POST /api/v1/broadcast on the web server reaches the topic\'s subscribers through Pushpin', { skip }, async () => {
  const tenant = uniq('t');
  const subs = await Promise.all([1, 2, 3].map((i) => connect(stack, { sub: `u${i}`, tenant })));
  const other = await connect(stack, { sub: 'x', tenant });
  for (const c of subs) await subscribe(c, 'news');
  const r = await api('POST', 'broadcast', { tenant, topic: 'news', data: { headline: 'hi' } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.published, true);
  assert.equal(r.body.stream, `topic:${tenant}:news`);
  for (const c of subs) {
    const m = await nextWhere(c, (x) => x.type === 'event');
    assert.equal(m.topic, 'news');
    assert.deepEqual(m.data, { headline: 'hi' });
    assert.equal(m.offset, r.body.offset, 'the event carries the offset the API answered');
  }
  assert.equal(await maybeNext(other), null, 'a connection not subscribed gets nothing');

  const t = await api('POST', 'broadcast', { tenant, data: { type: 'notice', n: 1 } });
  assert.equal(t.status, 200, t.text);
  for (const c of [...subs, other]) {
    const m = await nextWhere(c, (x) => x.type === 'notice');
    assert.equal(m.stream, `tenant:${tenant}`);
  }
  await Promise.all([...subs, other].map((c) => c.close()));
});

test('the API through Pushpin is 404 and delivers nothing', { skip }, async () => {
  const tenant = uniq('t');
  const c = await connect(stack, { sub: 'u', tenant });
  await subscribe(c, 'news');
  const pushpin = `http://127.0.0.1:${stack.env.STREAMER_PUSHPIN_PORT}`;
  for (const path of ['broadcast', 'send']) {
    const r = await api('POST', path, { tenant, topic: 'news', data: { x: 1 } }, { base: pushpin });
    assert.equal(r.status, 404, `POST /api/v1/${path} through Pushpin: ${r.status} ${r.text}`);
  }
  const g = await api('GET', `connections?tenant=${tenant}`, undefined, { base: pushpin });
  assert.equal(g.status, 404);
  assert.doesNotMatch(g.text, /connections/, 'nothing of the API answers through Pushpin');
  assert.equal(await maybeNext(c, 600), null, 'nothing was delivered');
  await c.close();
});

test('send to a connection and to a user, list connections, close through the API', { skip }, async () => {
  const tenant = uniq('t');
  const a = await connect(stack, { sub: 'ann', tenant });
  const b = await connect(stack, { sub: 'ann', tenant });
  a.send({ action: 'whoami', id: 'w' });
  const id = (await nextWhere(a, (m) => m.request_id === 'w')).data.connection_id;

  let r = await api('POST', 'send', { connection: id, data: { type: 'direct', n: 1 } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.sent, 1);
  assert.equal((await nextWhere(a, (m) => m.type === 'direct')).n, 1);
  assert.equal(await maybeNext(b), null, 'only that connection');

  r = await api('POST', 'send', { user: 'ann', tenant, data: { type: 'to-user' } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.sent, 2);
  for (const c of [a, b]) await nextWhere(c, (m) => m.type === 'to-user');

  r = await api('GET', `connections?tenant=${tenant}&user=ann`);
  assert.equal(r.status, 200);
  assert.equal(r.body.connections.length, 2);
  assert.ok(r.body.connections.some((c) => c.id === id));

  r = await api('POST', 'close', { connection: id, code: 4000, reason: 'bye from the API' });
  assert.equal(r.status, 200, r.text);
  await waitFor(() => a.closed);
  assert.equal(a.closed.code, 4000);
  assert.equal(a.closed.reason, 'bye from the API');
  assert.ok(!stack.connections().some((c) => c.id === id), 'the row is gone');
  r = await api('POST', 'close', { connection: id });
  assert.equal(r.status, 404);
  await b.close();
});

test('presence: join and leave between two clients, a killed socket, an expired plain-HTTP connection', { skip }, async () => {
  const tenant = uniq('t');
  const watcher = await connect(stack, { sub: 'watcher', tenant });
  const d = await subscribe(watcher, 'room', { presence: true });
  assert.equal(d.presence, true);

  const bob = await connect(stack, { sub: 'bob', tenant });
  await subscribe(bob, 'room');
  let ev = await nextWhere(watcher, (m) => m.type === 'presence');
  assert.deepEqual({ ...ev, timestamp: undefined },
    { type: 'presence', topic: 'room', event: 'join', user_id: 'bob', connections: 1, timestamp: undefined });

  watcher.send({ action: 'presence', id: 'p', payload: { topic: 'room' } });
  const p = await nextWhere(watcher, (m) => m.request_id === 'p');
  assert.deepEqual(p.data.users, [{ user_id: 'bob', connections: 1 }, { user_id: 'watcher', connections: 1 }]);

  bob.send({ action: 'unsubscribe', id: 'u', payload: { topic: 'room' } });
  ev = await nextWhere(watcher, (m) => m.type === 'presence');
  assert.equal(ev.event, 'leave');
  assert.equal(ev.user_id, 'bob');
  assert.equal(ev.connections, 0);

  // Killed without a close frame: Pushpin reports the disconnect.
  const carl = await connect(stack, { sub: 'carl', tenant });
  await subscribe(carl, 'room');
  assert.equal((await nextWhere(watcher, (m) => m.type === 'presence')).event, 'join');
  carl.terminate();
  ev = await nextWhere(watcher, (m) => m.type === 'presence', 10_000);
  assert.deepEqual([ev.event, ev.user_id], ['leave', 'carl']);

  // A plain HTTP connection never disconnects: it expires, presence stops
  // counting it at once, and gc sends its leave.
  const token = stack.token({ sub: 'dora', tenant });
  const hid = uniq('h');
  let r = await fetch(`${stack.httpUrl}/api/connect`, { method: 'POST', headers: { 'X-Connection-Id': hid, Authorization: `Bearer ${token}` } });
  const secret = (await r.json()).connection_secret;
  r = await fetch(`${stack.httpUrl}/api/message`, {
    method: 'POST',
    headers: { 'X-Connection-Id': hid, 'X-Connection-Secret': secret },
    body: JSON.stringify({ action: 'subscribe', id: 's', payload: { topic: 'room' } }),
  });
  assert.equal(r.status, 200);
  ev = await nextWhere(watcher, (m) => m.type === 'presence');
  assert.deepEqual([ev.event, ev.user_id], ['join', 'dora']);
  stack.exec(`UPDATE connections SET expires_at = 1 WHERE id = '${hid}'`);
  const q = await api('GET', `presence?tenant=${tenant}&topic=room`);
  assert.deepEqual(q.body.users, [{ user_id: 'watcher', connections: 1 }], 'an expired connection is not present');
  const gc = await stack.cliRun(['gc']);
  assert.equal(gc.status, 0, gc.stderr);
  ev = await nextWhere(watcher, (m) => m.type === 'presence');
  assert.deepEqual([ev.event, ev.user_id, ev.connections], ['leave', 'dora', 0]);
  await Promise.all([watcher.close(), bob.close()]);
});

test('a topics claim subscribes at connect: events of its topics and patterns arrive without a subscribe', { skip }, async () => {
  const tenant = uniq('t');
  const c = await connect(stack, { sub: 'sam', tenant, topics: 'news,prices.*' });
  const first = await c.nextJson();
  assert.equal(first.type, 'subscriptions');
  assert.deepEqual(first.topics.map((t) => t.topic), ['news', 'prices.*']);
  assert.equal(first.topics[0].stream, `topic:${tenant}:news`);
  assert.equal(first.topics[1].pattern, true);
  for (const [topic, n] of [['news', 1], ['prices.eur', 2], ['prices.usd.spot', 3]]) {
    const r = await api('POST', 'broadcast', { tenant, topic, data: { n } });
    assert.equal(r.status, 200, r.text);
    const m = await nextWhere(c, (x) => x.type === 'event');
    assert.deepEqual([m.topic, m.data.n, m.stream], [topic, n, `topic:${tenant}:${topic}`]);
  }
  await api('POST', 'broadcast', { tenant, topic: 'prices', data: {} });
  await api('POST', 'broadcast', { tenant, topic: 'other', data: {} });
  assert.equal(await maybeNext(c, 600), null, 'prices.* covers neither prices nor other topics');
  // Subscribed by name and by pattern: one copy.
  const d = await subscribe(c, 'prices.gbp');
  assert.equal(d.subscribed, true);
  await api('POST', 'broadcast', { tenant, topic: 'prices.gbp', data: { once: true } });
  await nextWhere(c, (x) => x.type === 'event');
  assert.equal(await maybeNext(c, 600), null, 'no second copy');
  await c.close();
});

test('STREAMER_TOPIC_POLICY=claims: an unlisted topic is FORBIDDEN, a listed one works', { skip }, async () => {
  const strict = await startStack({ STREAMER_API_KEY: KEY, STREAMER_TOPIC_POLICY: 'claims' });
  try {
    const tenant = uniq('t');
    const c = await connect(strict, { sub: 'pat', tenant, permissions: 'publish', topics: 'news', publishTopics: 'chat.*' });
    assert.equal((await c.nextJson()).type, 'subscriptions');
    c.send({ action: 'subscribe', id: 's1', payload: { topic: 'secret' } });
    let m = await nextWhere(c, (x) => x.request_id === 's1');
    assert.equal(m.error.code, 'FORBIDDEN');
    assert.match(m.error.message, /'secret'/);
    c.send({ action: 'publish', id: 'p1', payload: { topic: 'news', data: 1 } });
    m = await nextWhere(c, (x) => x.request_id === 'p1');
    assert.equal(m.error.code, 'FORBIDDEN');
    c.send({ action: 'subscribe', id: 's2', payload: { topic: 'chat.room' } });
    m = await nextWhere(c, (x) => x.request_id === 's2');
    assert.equal(m.error.code, 'FORBIDDEN', 'publish_topics does not open subscribing');
    c.send({ action: 'publish', id: 'p2', payload: { topic: 'chat.room', data: 2 } });
    m = await nextWhere(c, (x) => x.request_id === 'p2');
    assert.equal(m.type, 'response', JSON.stringify(m));
    const r = await api('POST', 'broadcast', { tenant, topic: 'news', data: 3 }, { base: strict.httpUrl });
    assert.equal(r.status, 200);
    assert.equal((await nextWhere(c, (x) => x.type === 'event')).data, 3);
    await c.close();
  } finally {
    await strict.stop();
  }
});

test('the server API needs its key', { skip }, async () => {
  const r = await api('GET', 'connections?tenant=acme', undefined, { key: 'not-the-key-0123456789' });
  assert.equal(r.status, 401);
  assert.equal(r.body.error.code, 'UNAUTHORIZED');
  const s = await api('POST', 'broadcast', { tenant: 'acme', topic: 'news', data: 1 }, { key: null });
  assert.equal(s.status, 401);
  assert.match(s.body.error.message, /Bearer/);
});

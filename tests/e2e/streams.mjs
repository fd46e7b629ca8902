// streams.mjs - numbered streams through the real Pushpin with raw WebSocket clients: offsets and epochs on every push, history, streams.recover, subscribe with since, position hints, access, and a deterministic reproduction of Pushpin's push loss that the history repairs.
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startStack, missingPrograms, connect, sleep, uniq, waitFor, stackTest, FLOOR,
} from './lib.mjs';

const skip = missingPrograms('lighttpd') || (FLOOR && 'needs streamer-fcgi');
const HISTORY_SIZE = 300;
let stack;
const test = stackTest(nodeTest, () => stack);

before(async () => {
  if (skip) return;
  // No message rate limit: the tests publish hundreds of events from one connection.
  stack = await startStack({ STREAMER_HISTORY_SIZE: String(HISTORY_SIZE), STREAMER_RATE_LIMIT: '0' });
});

after(async () => {
  if (stack) await stack.stop();
});

// Sends one request and resolves with its answer; pushes that arrive
// meanwhile are kept in c.pushes.
async function call(c, action, payload, id = uniq('r')) {
  c.send({ action, id, payload });
  for (;;) {
    const m = await c.nextJson(10_000).catch((e) => { throw new Error(`${action} ${JSON.stringify(payload).slice(0, 200)}: ${e.message}`); });
    if (m.request_id === id && m.type !== 'progress' && m.type !== 'complete') return m;
    (c.pushes ??= []).push(m);
  }
}

async function ok(c, action, payload) {
  const m = await call(c, action, payload);
  assert.equal(m.type, 'response', `${action}: ${JSON.stringify(m)}`);
  return m.data;
}

async function errorCode(c, action, payload) {
  const m = await call(c, action, payload);
  assert.equal(m.type, 'error', `${action} should fail: ${JSON.stringify(m)}`);
  return m.error;
}

// The next n pushes (messages without a request_id of ours), in arrival order.
async function pushes(c, n, timeoutMs = 10_000) {
  const got = c.pushes ? c.pushes.splice(0) : [];
  while (got.length < n) got.push(await c.nextJson(timeoutMs));
  return got;
}

const EPOCH = /^[0-9a-f]{16}$/;

function publisher(tenant = 'acme') {
  return connect(stack, { sub: uniq('pub'), tenant, permissions: ['publish'] });
}

test('every publish is numbered: offsets 1, 2, 3 in one epoch, on the event and in the answer', { skip }, async () => {
  const topic = uniq('t');
  const sub = await connect(stack, { sub: uniq('s'), tenant: 'acme' });
  const pub = await publisher();
  const s = await ok(sub, 'subscribe', { topic });
  assert.deepEqual([s.stream, s.epoch, s.offset], [`topic:acme:${topic}`, null, 0]);
  const answers = [];
  for (let i = 1; i <= 3; i++) answers.push(await ok(pub, 'publish', { topic, data: { i } }));
  const got = await pushes(sub, 3);
  for (let i = 0; i < 3; i++) {
    assert.equal(got[i].type, 'event');
    assert.deepEqual(got[i].data, { i: i + 1 });
    assert.equal(got[i].stream, `topic:acme:${topic}`);
    assert.equal(got[i].offset, i + 1);
    assert.match(got[i].epoch, EPOCH);
    assert.equal(got[i].epoch, got[0].epoch);
    assert.deepEqual([answers[i].offset, answers[i].epoch], [i + 1, got[0].epoch]);
  }
  // The position fields come last, after the event's own.
  assert.deepEqual(Object.keys(got[0]), ['type', 'topic', 'data', 'timestamp', 'stream', 'offset', 'epoch']);
  await sub.close();
  await pub.close();
});

test('history: since, limit, paging with more/until, position only, newest without since', { skip }, async () => {
  const topic = uniq('h');
  const stream = `topic:acme:${topic}`;
  const pub = await publisher();
  for (let i = 1; i <= 12; i++) await ok(pub, 'publish', { topic, data: i });
  const all = await ok(pub, 'history', { stream, since: { epoch: null, offset: 0 } });
  assert.equal(all.recovered, true);
  assert.deepEqual(all.messages.map((m) => m.data), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  assert.deepEqual([all.offset, all.until, all.more], [12, 12, false]);
  const { epoch } = all;
  const page1 = await ok(pub, 'history', { stream, since: { epoch, offset: 3 }, limit: 4 });
  assert.deepEqual(page1.messages.map((m) => m.offset), [4, 5, 6, 7]);
  assert.deepEqual([page1.more, page1.until, page1.recovered], [true, 7, true]);
  const page2 = await ok(pub, 'history', { stream, since: { epoch, offset: page1.until }, limit: 100 });
  assert.deepEqual(page2.messages.map((m) => m.offset), [8, 9, 10, 11, 12]);
  assert.deepEqual([page2.more, page2.until], [false, 12]);
  const pos = await ok(pub, 'history', { stream, limit: 0 });
  assert.deepEqual([pos.epoch, pos.offset, pos.messages], [epoch, 12, []]);
  assert.equal(pos.recovered, undefined);
  const newest = await ok(pub, 'history', { stream, limit: 2 });
  assert.deepEqual(newest.messages.map((m) => m.data), [11, 12]);
  // A stored message is the pushed message, field for field.
  assert.deepEqual(Object.keys(all.messages[0]), ['type', 'topic', 'data', 'timestamp', 'stream', 'offset', 'epoch']);
  const none = await ok(pub, 'history', { stream: `topic:acme:${uniq('never')}`, since: { epoch: null, offset: 0 } });
  assert.deepEqual([none.epoch, none.offset, none.messages, none.recovered], [null, 0, [], true]);
  await pub.close();
});

test('recovered is false for another epoch and beyond the history window', { skip }, async () => {
  const topic = uniq('w');
  const stream = `topic:acme:${topic}`;
  const pub = await publisher();
  const first = await ok(pub, 'publish', { topic, data: 0 });
  const wrong = first.epoch === '0123456789abcdef' ? 'fedcba9876543210' : '0123456789abcdef';
  const other = await ok(pub, 'history', { stream, since: { epoch: wrong, offset: 1 } });
  assert.deepEqual([other.recovered, other.messages, other.epoch, other.offset], [false, [], first.epoch, 1]);
  for (let i = 1; i <= HISTORY_SIZE + 10; i++) await ok(pub, 'publish', { topic, data: i });
  const gone = await ok(pub, 'history', { stream, since: { epoch: first.epoch, offset: 1 }, limit: 1000 });
  assert.equal(gone.recovered, false);
  assert.equal(gone.messages.length, HISTORY_SIZE);
  assert.equal(gone.messages[0].offset, HISTORY_SIZE + 11 - HISTORY_SIZE + 1);
  const fine = await ok(pub, 'history', { stream, since: { epoch: first.epoch, offset: 40 } });
  assert.equal(fine.recovered, true);
  await pub.close();
});

test('subscribe with since answers what was missed, and hints name the streams that moved', { skip }, async () => {
  const topic = uniq('s');
  const stream = `topic:acme:${topic}`;
  const sub = await connect(stack, { sub: uniq('s'), tenant: 'acme' });
  const pub = await publisher();
  const a = await ok(pub, 'publish', { topic, data: 'a' });
  await ok(pub, 'publish', { topic, data: 'b' });
  await ok(pub, 'publish', { topic, data: 'c' });
  const s = await ok(sub, 'subscribe', { topic, since: { epoch: a.epoch, offset: 1 } });
  assert.equal(s.subscribed, true);
  assert.equal(s.recovered, true);
  assert.deepEqual(s.messages.map((m) => m.data), ['b', 'c']);
  assert.deepEqual([s.epoch, s.offset], [a.epoch, 3]);
  await ok(pub, 'publish', { topic, data: 'd' });
  await pushes(sub, 1);
  const echo = await call(sub, 'echo', {});
  assert.deepEqual(echo.positions?.[stream], { epoch: a.epoch, offset: 4 }, JSON.stringify(echo));
  await sub.close();
  await pub.close();
});

test('streams are readable only by their own user and tenant', { skip }, async () => {
  const me = uniq('me');
  const c = await connect(stack, { sub: me, tenant: 'acme' });
  assert.equal((await errorCode(c, 'history', { stream: 'topic:globex:x' })).code, 'FORBIDDEN');
  assert.equal((await errorCode(c, 'history', { stream: 'tenant:globex' })).code, 'FORBIDDEN');
  assert.equal((await errorCode(c, 'history', { stream: 'user:acme:someone-else' })).code, 'FORBIDDEN');
  assert.equal((await errorCode(c, 'history', { stream: `user:globex:${me}` })).code, 'FORBIDDEN');
  assert.equal((await errorCode(c, 'history', { stream: 'nonsense' })).code, 'VALIDATION_ERROR');
  assert.equal((await errorCode(c, 'history', { stream: 'topic:acme:bad topic' })).code, 'VALIDATION_ERROR');
  assert.equal((await errorCode(c, 'history', { stream: 'tenant:acme', since: { epoch: 'xyz', offset: 1 } })).code, 'VALIDATION_ERROR');
  assert.equal((await errorCode(c, 'history', { stream: 'tenant:acme', since: { epoch: null, offset: -1 } })).code, 'VALIDATION_ERROR');
  assert.equal((await errorCode(c, 'history', { stream: 'tenant:acme', limit: 1001 })).code, 'VALIDATION_ERROR');
  assert.equal((await errorCode(c, 'history', { stream: 'tenant:acme', connections: 'x' })).code, 'VALIDATION_ERROR');
  const forbidden = await errorCode(c, 'streams.recover', { streams: { 'tenant:acme': { epoch: null, offset: 0 }, 'tenant:globex': { epoch: null, offset: 0 } } });
  assert.equal(forbidden.code, 'FORBIDDEN');
  assert.match(forbidden.message, /tenant:globex/);
  const mine = await ok(c, 'history', { stream: `user:acme:${me}` });
  assert.deepEqual([mine.epoch, mine.offset], [null, 0]);
  await c.close();
});

test('send --connection numbers the user stream; the sibling connection gets neither the push nor its history', { skip }, async () => {
  const user = uniq('u');
  const stream = `user:acme:${user}`;
  const a = await connect(stack, { sub: user, tenant: 'acme' });
  const b = await connect(stack, { sub: user, tenant: 'acme' });
  const aId = (await ok(a, 'whoami', {})).connection_id;
  await ok(b, 'whoami', {});
  let r = await stack.cliRun(['send', '--connection', aId, '{"type":"notice","n":1}']);
  assert.equal(r.status, 0, r.stderr);
  r = await stack.cliRun(['send', '--user', user, '--tenant', 'acme', '{"type":"notice","n":2}']);
  assert.equal(r.status, 0, r.stderr);
  const [m1, m2] = await pushes(a, 2);
  assert.deepEqual([m1.n, m1.stream, m1.offset], [1, stream, 1]);
  assert.deepEqual([m2.n, m2.stream, m2.offset], [2, stream, 2]);
  const [bOnly] = await pushes(b, 1);
  assert.deepEqual([bOnly.n, bOnly.offset], [2, 2]);
  const fromB = await ok(b, 'history', { stream, since: { epoch: null, offset: 0 } });
  assert.deepEqual([fromB.messages.map((m) => m.n), fromB.recovered, fromB.until], [[2], true, 2]);
  const named = await ok(b, 'history', { stream, since: { epoch: null, offset: 0 }, connections: [aId] });
  assert.deepEqual(named.messages.map((m) => m.n), [1, 2]);
  const notObject = await stack.cliRun(['send', '--connection', aId, '[1,2]']);
  assert.equal(notObject.status, 1);
  assert.match(notObject.stderr, /JSON object/);
  await a.close();
  await b.close();
});

test('broadcast numbers the tenant stream; streams.recover lists and recovers the connection\'s streams', { skip }, async () => {
  const tenant = `t${Math.random().toString(36).slice(2, 8)}`;
  const c = await connect(stack, { sub: uniq('r'), tenant });
  const fresh = await ok(c, 'streams.recover', { streams: {} });
  assert.equal(typeof fresh.connection_id, 'string');
  assert.deepEqual(fresh.streams, {});
  let r = await stack.cliRun(['broadcast', '--tenant', tenant, '{"type":"announcement","n":1}']);
  assert.equal(r.status, 0, r.stderr);
  const [m] = await pushes(c, 1);
  assert.deepEqual([m.stream, m.offset], [`tenant:${tenant}`, 1]);
  r = await stack.cliRun(['broadcast', '--tenant', tenant, '{"type":"announcement","n":2}']);
  assert.equal(r.status, 0, r.stderr);
  await pushes(c, 1);
  const listed = await ok(c, 'streams.recover', { streams: {} });
  assert.deepEqual(listed.streams[`tenant:${tenant}`], { epoch: m.epoch, offset: 2 });
  const rec = await ok(c, 'streams.recover', { streams: { [`tenant:${tenant}`]: { epoch: m.epoch, offset: 1 } } });
  const page = rec.streams[`tenant:${tenant}`];
  assert.deepEqual([page.recovered, page.messages.map((x) => x.n), page.offset], [true, [2], 2]);
  await c.close();
});

test('Pushpin drops pushes to a client that does not read; the history gives every one back', { skip }, async () => {
  const topic = uniq('flood');
  const stream = `topic:acme:${topic}`;
  const sub = await connect(stack, { sub: uniq('slow'), tenant: 'acme' });
  const pub = await publisher();
  const s = await ok(sub, 'subscribe', { topic });
  const N = 250;
  const big = 'x'.repeat(30 * 1024);
  // The subscriber stops reading: its socket fills and Pushpin drops what does not fit.
  sub.ws._socket.pause();
  for (let i = 1; i <= N; i++) {
    const r = await call(pub, 'publish', { topic, data: { i, big } });
    assert.equal(r.type, 'response', JSON.stringify(r).slice(0, 200));
  }
  sub.ws._socket.resume();
  const live = new Map();
  await waitFor(async () => {
    for (;;) {
      let m;
      try { m = await sub.nextJson(300); } catch { return true; }
      if (m.stream === stream) live.set(m.offset, m);
    }
  }, 15_000);
  assert.ok(live.size < N, `expected Pushpin to drop some of ${N} events of 30 KB to a paused reader, all ${live.size} arrived`);
  // Recovery: everything after what the client had, in order, nothing twice.
  const got = new Map(live);
  let since = { epoch: s.epoch, offset: s.offset };
  for (;;) {
    const page = await ok(sub, 'history', { stream, since, limit: 10 });
    assert.equal(page.recovered, true);
    for (const m of page.messages) got.set(m.offset, m);
    if (!page.more) break;
    since = { epoch: page.epoch, offset: page.until };
  }
  assert.deepEqual([...got.keys()].sort((x, y) => x - y), Array.from({ length: N }, (_, i) => i + 1));
  for (const [off, m] of got) assert.equal(m.data.i, off);
  console.log(`# a paused reader got ${live.size} of ${N} events of 30 KB live; history returned the other ${N - live.size}`);
  await sub.close();
  await pub.close();
});

// sdk_flow.mjs - www/streamer.js's flow control through the real stack (issue 15): 10,000 publishes from one client all answered, never more than maxInFlight outstanding, no false CONNECTION_LOST; async results racing their acknowledgment seen as ack, progress, complete; and, against local servers, a heartbeat queued behind the client's own burst that does not kill the connection, and answers held back until the client sends again (Pushpin 1.36's stall) released by the early heartbeat.
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startStack, missingPrograms, WebSocket, uniq, stackTest, FLOOR, sdkClient, sdkModule,
} from './lib.mjs';

const { StreamerClient, MAX_IN_FLIGHT, MAX_IN_FLIGHT_BYTES } = await sdkModule();

const skip = missingPrograms('lighttpd') || (FLOOR && 'needs streamer-fcgi');
let stack;
const test = stackTest(nodeTest, () => stack);
const clients = new Set();

before(async () => {
  if (skip) return;
  // A rate that 10,000 messages can pass in a test's time (the window still meets it),
  // and no cap on one connection's live async requests.
  stack = await startStack({ STREAMER_RATE_LIMIT: '1000', STREAMER_RATE_BURST: '200', STREAMER_MAX_REQUESTS_PER_CONNECTION: '0' });
});

after(async () => {
  for (const c of clients) c.close();
  if (stack) await stack.stop();
});

function sdk(tokenOpts = {}, opts = {}) {
  return sdkClient(StreamerClient, stack, clients, {
    tokenOpts,
    opts,
    prefix: 'flow',
    setup: (c) => {
      c.events = [];
      for (const type of ['open', 'close', 'error']) c.on(type, (d) => c.events.push({ type, ...d }));
    },
  });
}

function done(c) {
  c.close();
  clients.delete(c);
}

// Counts the client's requests sent and not yet answered (first answer), and the most at once.
function outstanding(c) {
  const open = new Set();
  const o = { max: 0, refused: 0 };
  c.on('sent', ({ message: m }) => {
    if (m.action === 'health' || m.action === 'streams.recover' || m.action === 'history') return; // outside the window
    open.add(m.id);
    o.max = Math.max(o.max, open.size);
  });
  c.on('message', ({ message: m }) => {
    if (m.request_id == null) return;
    if (m.type === 'error' && m.error?.code === 'RATE_LIMITED') o.refused += 1;
    open.delete(m.request_id);
  });
  return o;
}

test('10,000 publishes from one client at once: every one answered, at most maxInFlight outstanding, no CONNECTION_LOST', { skip }, async () => {
  const topic = uniq('burst').replace(/-/g, '.');
  const c = await sdk({ permissions: 'publish' }, { heartbeat: { interval: 1000, timeout: 3000 }, requestTimeout: 60_000 });
  const o = outstanding(c);
  const n = 10_000;
  const t0 = Date.now();
  const settled = await Promise.allSettled(Array.from({ length: n }, (_, i) => c.publish(topic, { i })));
  const ms = Date.now() - t0;
  const failed = settled.filter((s) => s.status === 'rejected').map((s) => s.reason.code);
  assert.deepEqual([...new Set(failed)], [], `${failed.length} of ${n} rejected`);
  assert.ok(settled.every((s) => s.value?.published === true));
  assert.ok(o.max <= MAX_IN_FLIGHT, `${o.max} outstanding at once`);
  assert.ok(o.max >= Math.min(MAX_IN_FLIGHT, 8), `the window was not used (${o.max})`);
  assert.equal(c.events.filter((e) => e.type === 'open').length, 1, `reconnected: ${JSON.stringify(c.events)}`);
  assert.deepEqual(c.events.filter((e) => e.type === 'error'), []);
  console.log(`# 10,000 publishes in ${ms} ms (${Math.round(n / (ms / 1000))}/s), ${o.refused} RATE_LIMITED and resent, at most ${o.max} outstanding`);
  done(c);
});

test('300 publishes of 16 KB from one client: the byte window keeps Pushpin reading, every one answered', { skip }, async () => {
  // 32 of these outstanding would be 520 KB: Pushpin 1.36 stops reading a client with
  // more than 200,000 bytes on the way (BENCHMARKS.md, "The other direction").
  const topic = uniq('big').replace(/-/g, '.');
  const c = await sdk({ permissions: 'publish' }, { heartbeat: { interval: 1000, timeout: 3000 }, requestTimeout: 60_000 });
  const o = outstanding(c);
  const big = 'x'.repeat(16 * 1024);
  const settled = await Promise.allSettled(Array.from({ length: 300 }, (_, i) => c.publish(topic, { i, big })));
  const failed = settled.filter((s) => s.status === 'rejected').map((s) => s.reason.code);
  assert.deepEqual(failed, [], `${failed.length} of 300 rejected`);
  assert.ok(o.max <= Math.floor(MAX_IN_FLIGHT_BYTES / (16 * 1024)), `${o.max} outstanding at once`);
  assert.equal(c.events.filter((e) => e.type === 'open').length, 1, `reconnected: ${JSON.stringify(c.events)}`);
  done(c);
});

test('async results racing their acknowledgment: each request sees ack, progress in order, complete once', { skip }, async () => {
  const p = stack.startProcessor(2);
  const c = await sdk();
  const n = 150;
  let implied = 0;
  const runs = Array.from({ length: n }, async (_, i) => {
    const seen = [];
    const result = await c.request('echo_async', { i }, {
      onAck: (a) => { seen.push('ack'); if (a.implied) implied += 1; },
      onProgress: (pr) => seen.push(pr.percentage),
      timeout: 60_000,
    });
    assert.deepEqual(result, { i });
    assert.equal(seen[0], 'ack', JSON.stringify(seen));
    assert.equal(seen.filter((x) => x === 'ack').length, 1, JSON.stringify(seen));
    const pct = seen.slice(1);
    for (let k = 1; k < pct.length; k++) assert.ok(pct[k] >= pct[k - 1], JSON.stringify(seen));
  });
  await Promise.all(runs);
  assert.equal(c._pending.size, 0);
  console.log(`# ${implied} of ${n} results or progress overtook their acknowledgment`);
  done(c);
  await stack.stopProcessor(p);
});

// ---- against a slow local server ------------------------------------------------

nodeTest('a heartbeat queued behind the client\'s own burst does not declare the connection dead', async () => {
  // Answers one message every 300 ms, in order: the heartbeat waits behind the
  // burst for seconds, longer than its timeout, but the server is not silent.
  const wss = new WebSocket.WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.on('listening', r));
  let conns = 0;
  let healthAt = null;
  wss.on('connection', (ws) => {
    conns += 1;
    const queue = [];
    let busy = false;
    const next = () => {
      const m = queue.shift();
      if (!m) { busy = false; return; }
      busy = true;
      setTimeout(() => {
        if (m.action === 'health') healthAt = Date.now();
        if (m.action === 'request.status') { // what a reconnected client asks about the lost publishes
          ws.send(JSON.stringify({ type: 'error', request_id: m.id, error: { code: 'NOT_FOUND', message: 'not async' } }));
        } else {
          const data = m.action === 'health' ? { status: 'healthy' } : { topic: m.payload?.topic, published: true };
          ws.send(JSON.stringify({ type: 'response', request_id: m.id, success: true, data }));
        }
        next();
      }, 300);
    };
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      if (m.action === 'streams.recover') { // no streams here
        ws.send(JSON.stringify({ type: 'error', request_id: m.id, error: { code: 'INVALID_ACTION', message: 'no' } }));
        return;
      }
      queue.push(m);
      if (!busy) next();
    });
  });
  const c = new StreamerClient(`ws://127.0.0.1:${wss.address().port}/ws`, {
    WebSocket, token: 't', heartbeat: { interval: 100, timeout: 700 }, reconnect: { initialDelay: 20, maxDelay: 50 }, maxInFlight: 10,
  });
  const errors = [];
  c.on('error', (d) => errors.push(d.error));
  try {
    await c.connect();
    const t0 = Date.now();
    // publish is not idempotent: a false "dead" would reject these with CONNECTION_LOST
    const out = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => c.publish('t', i)));
    assert.deepEqual(out.filter((s) => s.status === 'rejected').map((s) => s.reason.code), []);
    assert.equal(conns, 1, 'the client reconnected');
    assert.deepEqual(errors, []);
    assert.ok(healthAt, 'no heartbeat was sent during the burst');
    assert.ok(healthAt - t0 > 700, 'the heartbeat was answered within its timeout: the test proves nothing');
  } finally {
    c.close();
    for (const ws of wss.clients) ws.terminate();
    await new Promise((r) => wss.close(r));
  }
});

nodeTest('answers held back until the client sends again (Pushpin 1.36\'s stall) are released by the early heartbeat', async () => {
  // Like Pushpin when its send credits run out at a message boundary: the answers
  // after the 10th wait until the client sends anything.
  const wss = new WebSocket.WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.on('listening', r));
  let held = [];
  let answered = 0;
  let released = 0;
  wss.on('connection', (ws) => ws.on('message', (d) => {
    const m = JSON.parse(d.toString());
    if (held.length) { // anything from the client lets the held answers go
      released += held.length;
      for (const h of held.splice(0)) ws.send(h);
    }
    const answer = m.action === 'streams.recover'
      ? JSON.stringify({ type: 'error', request_id: m.id, error: { code: 'INVALID_ACTION', message: 'no' } })
      : JSON.stringify({ type: 'response', request_id: m.id, success: true, data: { echo: m.payload } });
    if (m.action === 'echo' && ++answered > 10) held.push(answer);
    else ws.send(answer);
  }));
  const c = new StreamerClient(`ws://127.0.0.1:${wss.address().port}/ws`, { WebSocket, token: 't', reconnect: false });
  try {
    await c.connect();
    const t0 = Date.now();
    const out = await Promise.all(Array.from({ length: 20 }, (_, i) => c.request('echo', i)));
    const ms = Date.now() - t0;
    assert.deepEqual(out.map((d) => d.echo), Array.from({ length: 20 }, (_, i) => i));
    assert.ok(released >= 10, `${released} released`);
    assert.ok(ms >= 900 && ms < 5000, `all answered after ${ms} ms: the default heartbeat is 30 s, the early one 1 s`);
    assert.equal(c.state, 'open');
  } finally {
    c.close();
    for (const ws of wss.clients) ws.terminate();
    await new Promise((r) => wss.close(r));
    held = [];
  }
});

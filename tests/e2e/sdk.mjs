// sdk.mjs - www/streamer.js (the client SDK) in Node with the ws package: against the real stack (requests, errors, async progress, topics, timeout/abort, reconnect after a server-side close without losing results) and against a local ws server (backoff, fresh tokens, heartbeat).
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import {
  startStack, missingPrograms, freePorts, WebSocket, sleep, uniq, waitFor, stackTest, FLOOR, sdkModule, sdkClient,
} from './lib.mjs';

const { StreamerClient, StreamerError, tokenExpiry } = await sdkModule();

const skip = missingPrograms('lighttpd') || (FLOOR && 'needs streamer-fcgi');
let stack;
const test = stackTest(nodeTest, () => stack);
const clients = new Set();

before(async () => {
  if (skip) return;
  // No leeway: a token is refused at its exp, so the token-expiry tests need not wait a minute.
  stack = await startStack({ STREAMER_JWT_LEEWAY: '0' });
});

after(async () => {
  for (const c of clients) c.close();
  if (stack) await stack.stop();
});

// A connected SDK client; opts go to StreamerClient, tokenOpts to stack.token().
function sdk(tokenOpts = {}, opts = {}) {
  return sdkClient(StreamerClient, stack, clients, {
    tokenOpts,
    opts: { pollInterval: 300, ...opts },
    setup: (c) => {
      c.events = [];
      for (const type of ['open', 'close', 'reconnecting', 'error']) c.on(type, (d) => c.events.push({ type, ...d }));
    },
  });
}

function done(c) {
  c.close();
  clients.delete(c);
}

// Closes the client's connection from the server side (`streamer close`).
async function kick(c, code = 4001) {
  const { connection_id: id } = await c.request('whoami');
  const r = await stack.cliRun(['close', id, '--code', String(code), '--reason', 'kicked by the test']);
  assert.equal(r.status, 0, r.stderr);
  return id;
}

const opened = (c, n) => waitFor(() => c.events.filter((e) => e.type === 'open').length >= n, 10_000, 20);

test('connect, echo: the promise resolves with the response data', { skip }, async () => {
  const c = await sdk();
  assert.equal(c.state, 'open');
  assert.equal(c.events[0].type, 'open');
  const payload = { hello: 'world', n: [1, 2, 3] };
  const data = await c.request('echo', payload);
  assert.deepEqual(data.echo, payload);
  assert.equal(data.action, 'echo');
  // ids are unique: 20 requests at once, each answered with its own payload
  const many = await Promise.all(Array.from({ length: 20 }, (_, i) => c.request('echo', { i })));
  assert.deepEqual(many.map((d) => d.echo.i), Array.from({ length: 20 }, (_, i) => i));
  const health = await c.request('health');
  assert.equal(health.status, 'healthy');
  done(c);
  assert.equal(c.state, 'closed');
  await assert.rejects(c.request('echo', 1), { code: 'NOT_CONNECTED' });
});

test('RATE_LIMITED: the SDK waits retry_after_ms and resends, so a burst over the limit still succeeds', { skip }, async () => {
  // The stack's defaults: 50 messages/s per connection, bursts of 100.
  const c = await sdk({}, { requestTimeout: 60_000 });
  const refused = [];
  c.on('message', ({ message: m }) => {
    if (m.type === 'error' && m.error?.code === 'RATE_LIMITED') refused.push(m);
  });
  const n = 250;
  const out = await Promise.all(Array.from({ length: n }, (_, i) => c.request('echo', { i })));
  assert.deepEqual(out.map((d) => d.echo.i), Array.from({ length: n }, (_, i) => i));
  assert.ok(refused.length > 0, 'the burst went over the server limit');
  for (const m of refused) {
    assert.equal(m.error.details.limit, 'message');
    assert.ok(m.error.details.retry_after_ms > 0, JSON.stringify(m));
  }
  done(c);

  // Without retries the refusal reaches the caller, with its details.
  const d = await sdk({}, { rateLimitRetries: 0 });
  const settled = await Promise.allSettled(Array.from({ length: 150 }, (_, i) => d.request('echo', { i })));
  const rejected = settled.filter((x) => x.status === 'rejected').map((x) => x.reason);
  assert.ok(rejected.length > 0, 'some of 150 at once were refused');
  for (const e of rejected) {
    assert.ok(e instanceof StreamerError);
    assert.equal(e.code, 'RATE_LIMITED');
    assert.ok(e.details.retry_after_ms > 0);
  }
  done(d);
});

test('RATE_LIMITED with the window: refusals stop the window, the rest go at the server\'s rate', { skip }, async () => {
  // The stack's defaults: 50 messages/s per connection, bursts of 100. Without the
  // pause, every request of the window would be fired into the limit again and again.
  const c = await sdk({}, { requestTimeout: 60_000 });
  const refused = [];
  c.on('message', ({ message: m }) => {
    if (m.type === 'error' && m.error?.code === 'RATE_LIMITED') refused.push(m.request_id);
  });
  const n = 300;
  const t0 = Date.now();
  const out = await Promise.all(Array.from({ length: n }, (_, i) => c.request('echo', { i })));
  const ms = Date.now() - t0;
  assert.deepEqual(out.map((d) => d.echo.i), Array.from({ length: n }, (_, i) => i));
  assert.ok(refused.length > 0, 'the burst went over the server limit');
  // a window's worth refused when the bucket ran dry, then few: the rest are paced
  // (about 45 of 300 on the dev machine; fired at once, 200 would be refused each round)
  assert.ok(refused.length <= n / 4, `${refused.length} refusals`);
  assert.ok(new Set(refused).size >= refused.length / 2, 'the same requests were refused over and over');
  assert.ok(ms >= ((n - 100) / 50) * 1000 * 0.8, `done in ${ms} ms: faster than the server's rate?`);
  console.log(`# ${n} echoes at 50/s: ${refused.length} RATE_LIMITED (${new Set(refused).size} requests), ${ms} ms`);
  done(c);
});

test('errors reject with code, message and request_id', { skip }, async () => {
  const c = await sdk({ permissions: 'reports' });
  const err = await c.request('no.such.action', {}).then(() => null, (e) => e);
  assert.ok(err instanceof StreamerError, String(err));
  assert.ok(err instanceof Error);
  assert.equal(err.code, 'INVALID_ACTION');
  assert.match(err.message, /no\.such\.action/);
  assert.match(err.request_id, /^c[a-z0-9]+-\d+$/);
  await assert.rejects(c.request('generate_report', { start_date: '2026-02-30', end_date: '2026-03-01' }),
    (e) => e.code === 'VALIDATION_ERROR' && /start_date/.test(e.message));
  await assert.rejects(c.request('request.status', { request_id: 'never-sent' }), { code: 'NOT_FOUND' });
  await assert.rejects(c.request('publish', { topic: 't', data: 1 }), { code: 'FORBIDDEN' });
  done(c);
});

test('async: onProgress in order up to 100, then the result; a report is served at result.url', { skip }, async () => {
  const p = stack.startProcessor();
  const c = await sdk({ permissions: 'reports' });
  const progress = [];
  let ack = null;
  const result = await c.request('delay', { seconds: 1, steps: 4 }, {
    onProgress: (pr) => progress.push(pr),
    onAck: (m) => { ack = m; },
    timeout: 15_000,
  });
  assert.equal(ack?.status, 'queued');
  assert.equal(result.steps, 4);
  assert.ok(result.elapsed_ms >= 900, JSON.stringify(result));
  assert.ok(progress.length >= 4, JSON.stringify(progress));
  for (let i = 1; i < progress.length; i++) assert.ok(progress[i].percentage >= progress[i - 1].percentage, JSON.stringify(progress));
  assert.equal(progress.at(-1).percentage, 100);
  assert.equal(typeof progress[0].message, 'string');

  const today = new Date().toISOString().slice(0, 10);
  let last = 0;
  const rep = await c.request('generate_report', { start_date: today, end_date: today, format: 'csv' },
    { onProgress: (pr) => { last = pr.percentage; }, timeout: 15_000 });
  assert.equal(last, 100);
  assert.equal(rep.format, 'csv');
  assert.match(rep.url, /^\/reports\//);
  const res = await fetch(`${stack.httpUrl}${rep.url}`);
  assert.equal(res.status, 200);
  assert.ok((await res.text()).length > 0);
  done(c);
  await stack.stopProcessor(p);
});

test('subscribe + publish: the handler gets the data; unsubscribe stops it', { skip }, async () => {
  const topic = uniq('news').replace(/-/g, '.');
  const pub = await sdk({ permissions: 'publish' });
  const sub = await sdk();
  const got = [];
  const ans = await sub.subscribe(topic, (data, ev) => got.push({ data, ev }));
  assert.equal(ans.topic, topic);
  assert.equal(ans.subscribed, true);
  assert.deepEqual(sub.topics, [topic]);
  const r = await pub.publish(topic, { n: 1 });
  assert.equal(r.published, true);
  assert.ok(await waitFor(() => got.length === 1, 15_000, 20), 'the event did not arrive');
  assert.deepEqual(got[0].data, { n: 1 });
  assert.equal(got[0].ev.type, 'event');
  assert.equal(got[0].ev.topic, topic);
  // a second handler on the same topic shares the subscription
  const second = [];
  const h2 = (d) => second.push(d);
  await sub.subscribe(topic, h2);
  await pub.publish(topic, 2);
  assert.ok(await waitFor(() => got.length === 2 && second.length === 1, 15_000, 20));
  await sub.unsubscribe(topic, h2);
  await sub.unsubscribe(topic);
  assert.deepEqual(sub.topics, []);
  await pub.publish(topic, 3);
  await sleep(400);
  assert.equal(got.length, 2, 'an event arrived after unsubscribe');
  await assert.rejects(sub.subscribe('has space', () => {}), { code: 'VALIDATION_ERROR' });
  assert.deepEqual(sub.topics, [], 'a refused subscription is not remembered');
  done(pub);
  done(sub);
});

test('timeout and AbortSignal reject, and cancel the async request on the server', { skip }, async () => {
  const c = await sdk();
  // no processor runs: the request stays PENDING until the client gives up
  const t0 = Date.now();
  const tid = c.nextId();
  await assert.rejects(c.request('delay', { seconds: 5 }, { timeout: 300, id: tid }),
    (e) => e.code === 'TIMEOUT' && e.request_id === tid);
  const took = Date.now() - t0;
  assert.ok(took >= 280 && took < 2000, `timeout after ${took} ms`);
  assert.ok(await waitFor(async () => (await c.request('request.status', { request_id: tid })).status === 'CANCELLED', 15_000));

  const ac = new AbortController();
  const aid = c.nextId();
  const pending = c.request('delay', { seconds: 5 }, { signal: ac.signal, id: aid, onAck: () => ac.abort() });
  await assert.rejects(pending, (e) => e.code === 'ABORTED' && e.request_id === aid);
  assert.ok(await waitFor(async () => (await c.request('request.status', { request_id: aid })).status === 'CANCELLED', 15_000));

  // an already aborted signal rejects at once, nothing is sent
  const sent = [];
  c.on('sent', (d) => sent.push(d.message));
  await assert.rejects(c.request('echo', 1, { signal: AbortSignal.abort() }), { code: 'ABORTED' });
  assert.deepEqual(sent, []);
  // a sync request under its timeout is unaffected
  assert.deepEqual((await c.request('echo', 'ok', { timeout: 5000 })).echo, 'ok');
  done(c);
});

test('server-side close: reconnect with a fresh token, topics resubscribed, publish still arrives', { skip }, async () => {
  const topic = uniq('re').replace(/-/g, '.');
  const pub = await sdk({ permissions: 'publish' });
  let tokens = 0;
  const sub = uniq('rc');
  const c = await sdk({ sub }, { getToken: () => { tokens += 1; return stack.token({ sub }); } });
  const got = [];
  await c.subscribe(topic, (d) => got.push(d));
  const oldId = await kick(c, 4001);
  assert.ok(await opened(c, 2), `no reconnect: ${JSON.stringify(c.events)}`);
  const close = c.events.find((e) => e.type === 'close');
  assert.equal(close.code, 4001);
  assert.equal(close.reason, 'kicked by the test');
  assert.equal(close.willReconnect, true);
  assert.ok(c.events.some((e) => e.type === 'reconnecting' && e.attempt === 1 && e.delay >= 50 && e.delay <= 100));
  assert.equal(tokens, 2, 'getToken was not asked for a fresh token');
  const { connection_id: newId } = await c.request('whoami');
  assert.notEqual(newId, oldId);
  // the resubscription went out right after the open; the store has it before any publish
  assert.ok(await waitFor(() => stack.connections().some((r) => r.id === newId), 15_000));
  await waitFor(async () => {
    await pub.publish(topic, 'after');
    return got.length > 0;
  }, 5000, 300);
  assert.equal(got[0], 'after');
  done(c);
  done(pub);
});

test('an async request running across a server-side close still resolves with its result (request.status polling, the user stream\'s history)', { skip }, async () => {
  const p = stack.startProcessor();
  const c = await sdk({ permissions: 'reports' });
  const progress = [];
  let fetched = 0; // pushes to the old connection, recovered from the user stream's history
  c.on('message', ({ message: m, recovered }) => { if (recovered && (m.type === 'progress' || m.type === 'complete')) fetched += 1; });
  let kicked = null;
  const t0 = Date.now();
  const result = await c.request('delay', { seconds: 2, steps: 10 }, {
    timeout: 20_000,
    onProgress: (pr) => {
      progress.push(pr);
      if (!kicked && pr.percentage >= 10 && !pr.polled) kicked = kick(c);
    },
  });
  await kicked;
  assert.ok(kicked, 'no progress before the close');
  assert.equal(result.steps, 10);
  assert.ok(Date.now() - t0 >= 1900);
  assert.ok(c.events.some((e) => e.type === 'close' && e.code === 4001), JSON.stringify(c.events));
  assert.ok(progress.some((pr) => pr.polled) || fetched > 0, `no progress came after the close: ${JSON.stringify(progress)}`);
  for (let i = 1; i < progress.length; i++) assert.ok(progress[i].percentage > progress[i - 1].percentage, JSON.stringify(progress));
  assert.equal(progress.at(-1).percentage, 100);
  done(c);
  await stack.stopProcessor(p);
});

test('a request the server cancelled with its connection (never started) is sent again and completes', { skip }, async () => {
  const c = await sdk();
  let acks = 0;
  const req = c.request('echo_async', { keep: 'me' }, { timeout: 20_000, onAck: () => { acks += 1; } });
  assert.ok(await waitFor(() => acks === 1, 15_000, 20));
  await kick(c); // PENDING: the close cancels it ("connection closed before the request started")
  assert.ok(await opened(c, 2));
  assert.ok(await waitFor(() => acks === 2, 15_000, 20), 'it was not sent again');
  const p = stack.startProcessor();
  assert.deepEqual(await req, { keep: 'me' });
  done(c);
  await stack.stopProcessor(p);
});

test('a result whose push was lost still arrives: the SDK asks request.status after checkInterval', { skip }, async () => {
  // The processor's callback URL is dead, so neither progress nor the result
  // reaches the client; only the acknowledgment (the worker's answer) does.
  const [port] = await freePorts(1); // nothing listens there: pushes fail at once
  const p = stack.startProcessor(1, { env: { STREAMER_CALLBACK_URL: `http://127.0.0.1:${port}/publish/` } });
  const c = await sdk({}, { checkInterval: 500 });
  let acked = false;
  const t0 = Date.now();
  const result = await c.request('echo_async', { lost: 'push' }, { timeout: 20_000, onAck: () => { acked = true; } });
  assert.ok(acked, 'no acknowledgment');
  assert.deepEqual(result, { lost: 'push' });
  assert.ok(Date.now() - t0 >= 450, 'resolved before the first check: was the push not lost?');
  done(c);
  await stack.stopProcessor(p);

  // Without the check, the same request waits until its own timeout.
  const p2 = stack.startProcessor(1, { env: { STREAMER_CALLBACK_URL: `http://127.0.0.1:${port}/publish/` } });
  const c2 = await sdk({}, { checkInterval: false });
  await assert.rejects(c2.request('echo_async', { lost: 'again' }, { timeout: 3000 }), (e) => e.code === 'TIMEOUT');
  done(c2);
  await stack.stopProcessor(p2);
});

test('sends made while reconnecting wait for the connection; the wait is bounded', { skip }, async () => {
  const c = await sdk({}, { reconnect: { initialDelay: 800, maxDelay: 1000 } });
  const waiting = [];
  const onClose = () => {
    c.off('close', onClose);
    // sent in the close handler, before any new socket exists
    waiting.push(c.request('echo', 'queued-1'), c.request('echo', 'queued-2'));
  };
  c.on('close', onClose);
  await kick(c);
  assert.ok(await waitFor(() => waiting.length === 2, 15_000, 10));
  assert.equal(c.state, 'reconnecting');
  const got = await Promise.all(waiting);
  assert.deepEqual(got.map((d) => d.echo), ['queued-1', 'queued-2']);

  const d = await sdk({}, { reconnect: { initialDelay: 5000, maxDelay: 5000 }, queueTimeout: 200, queueLimit: 1 });
  const closed = new Promise((r) => d.on('close', r));
  await kick(d);
  await closed;
  const first = d.request('echo', 1);
  await assert.rejects(d.request('echo', 2), (e) => e.code === 'NOT_CONNECTED' && /already wait/.test(e.message));
  const t0 = Date.now();
  await assert.rejects(first, { code: 'NOT_CONNECTED' });
  assert.ok(Date.now() - t0 < 1000);
  done(d);
  done(c);
});

// ---- against a local ws server: what the stack cannot easily show -----------

nodeTest('backoff grows with jitter up to the cap; every attempt asks for a fresh token in ?Authorization=', async () => {
  const { WebSocketServer } = WebSocket;
  let server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => server.on('listening', r));
  const port = server.address().port;
  const seen = [];
  const onConn = (ws, req) => seen.push(new URL(req.url, 'http://x').searchParams.get('Authorization'));
  server.on('connection', onConn);
  let n = 0;
  const c = new StreamerClient(`ws://127.0.0.1:${port}/ws?x=1`, {
    WebSocket,
    getToken: async () => `tok${++n}`,
    reconnect: { initialDelay: 40, maxDelay: 200 },
    heartbeat: false,
  });
  const delays = [];
  c.on('reconnecting', (d) => delays.push(d));
  try {
    await c.connect();
    assert.deepEqual(seen, ['tok1']);
    // the server goes away: attempts fail and back off
    for (const ws of server.clients) ws.terminate();
    await new Promise((r) => server.close(r));
    assert.ok(await waitFor(() => delays.length >= 6, 10_000, 10), JSON.stringify(delays));
    for (const { attempt, delay } of delays) {
      const d = Math.min(200, 40 * 2 ** (attempt - 1));
      assert.ok(delay >= d / 2 && delay <= d, `attempt ${attempt}: ${delay} ms outside [${d / 2}, ${d}]`);
    }
    assert.ok(delays.every((d) => d.delay <= 200));
    // back again on the same port: the client finds it with a fresh token
    server = new WebSocketServer({ host: '127.0.0.1', port });
    server.on('connection', onConn);
    assert.ok(await waitFor(() => c.state === 'open', 5000, 10));
    assert.equal(seen.length, 2);
    assert.equal(seen[1], `tok${n}`);
    assert.ok(n > 2, 'each attempt should ask for a token');
    assert.equal(c.attempt, 0);
  } finally {
    c.close();
    for (const ws of server.clients) ws.terminate();
    await new Promise((r) => server.close(r));
  }
  // the default cap is 30 s
  const d = new StreamerClient('ws://127.0.0.1:1/ws', { WebSocket });
  for (let i = 0; i < 40; i++) assert.ok(d._backoff(i) <= 30_000);
  assert.ok(d._backoff(30) >= 15_000);
});

nodeTest('several URLs: a refused node is skipped, a lost connection moves to the next node, round robin', async () => {
  const { WebSocketServer } = WebSocket;
  const serve = async (port = 0) => {
    const s = new WebSocketServer({ host: '127.0.0.1', port });
    await new Promise((r) => s.on('listening', r));
    s.seen = 0;
    s.on('connection', () => { s.seen += 1; });
    return s;
  };
  const stop = async (s) => {
    for (const ws of s.clients) ws.terminate();
    await new Promise((r) => s.close(r));
  };
  assert.throws(() => new StreamerClient([], { WebSocket }), TypeError);
  assert.throws(() => new StreamerClient(['ws://127.0.0.1:1/ws', 7], { WebSocket }), TypeError);
  const [closed] = await freePorts(1);
  const down = `ws://127.0.0.1:${closed}/ws`;
  let a = await serve();
  const b = await serve();
  const urlA = `ws://127.0.0.1:${a.address().port}/ws`;
  const urlB = `ws://127.0.0.1:${b.address().port}/ws`;
  const c = new StreamerClient([down, urlA, urlB], {
    WebSocket, token: 't', heartbeat: false, reconnect: { initialDelay: 20, maxDelay: 100 },
  });
  const moves = [];
  c.on('failover', ({ from, to }) => moves.push([from, to]));
  try {
    // the first node refuses: connect() opens on the second without failing
    await c.connect();
    assert.equal(c.url, urlA);
    assert.deepEqual(c.urls, [down, urlA, urlB]);
    assert.deepEqual(moves, [[down, urlA]]);
    assert.equal(a.seen, 1);
    // node A dies (no close frame): the client moves on to B, not back to A
    const portA = a.address().port;
    await stop(a);
    assert.ok(await waitFor(() => c.state === 'open' && c.url === urlB, 5000, 10), `state ${c.state} on ${c.url}`);
    assert.equal(b.seen, 1);
    assert.deepEqual(moves.slice(1), [[urlA, urlB]]);
    // A is back, B dies: round robin past the refused node to A again
    a = await serve(portA);
    await stop(b);
    assert.ok(await waitFor(() => c.state === 'open' && c.url === urlA, 5000, 10), `state ${c.state} on ${c.url}`);
    assert.deepEqual(moves.slice(2), [[urlB, down], [down, urlA]]);
    assert.equal(a.seen, 1);
  } finally {
    c.close();
    await stop(a);
  }
  // no node takes the connection: connect() tries each once, then rejects
  const [p1, p2] = await freePorts(2);
  const none = new StreamerClient([`ws://127.0.0.1:${p1}/ws`, `ws://127.0.0.1:${p2}/ws`], { WebSocket, token: 't' });
  const tried = [];
  none.on('failover', ({ from }) => tried.push(from));
  await assert.rejects(none.connect(), /handshake failed/);
  assert.deepEqual(tried, [`ws://127.0.0.1:${p1}/ws`, `ws://127.0.0.1:${p2}/ws`]);
  assert.equal(none.state, 'closed');
});

nodeTest('an unanswered heartbeat makes the client reconnect; a refused first connect rejects; close() ends a hung handshake', async () => {
  const { WebSocketServer } = WebSocket;
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => server.on('listening', r));
  let conns = 0;
  server.on('connection', () => { conns += 1; }); // never answers anything
  const c = new StreamerClient(`ws://127.0.0.1:${server.address().port}/ws`, {
    WebSocket, token: 't', heartbeat: { interval: 200, timeout: 200 }, reconnect: { initialDelay: 20, maxDelay: 50 },
  });
  const errors = [];
  c.on('error', (d) => errors.push(d.error));
  try {
    await c.connect();
    assert.ok(await waitFor(() => conns >= 2, 5000, 10), 'no reconnect after the heartbeat timed out');
    assert.ok(errors.some((e) => e.code === 'TIMEOUT'), errors.map(String).join());
  } finally {
    c.close();
    for (const ws of server.clients) ws.terminate();
    await new Promise((r) => server.close(r));
  }
  const refused = new StreamerClient('ws://127.0.0.1:9/ws', { WebSocket, token: 't' });
  await assert.rejects(refused.connect(), /handshake failed/);
  assert.equal(refused.state, 'closed');
  // close() during a handshake that never finishes ends connect() at once
  const silent = createServer(() => {});
  await new Promise((r) => silent.listen(0, '127.0.0.1', r));
  const hung = new StreamerClient(`ws://127.0.0.1:${silent.address().port}/ws`, { WebSocket, token: 't' });
  try {
    const p = hung.connect();
    await sleep(200);
    assert.equal(hung.state, 'connecting');
    const t0 = Date.now();
    hung.close();
    await assert.rejects(p, { code: 'CLOSED' });
    assert.ok(Date.now() - t0 < 500);
    assert.equal(hung.state, 'closed');
  } finally {
    silent.close();
  }
});

test('token refresh: the connection outlives its short-lived token (auth.refresh before exp, no reconnect)', { skip }, async () => {
  const sub = uniq('rf');
  const minted = [];
  // 10 s tokens: refreshed at 8 s, leaving 2 s for a loaded machine.
  const c = await sdk({ sub }, { getToken: () => { minted.push(stack.token({ sub, ttl: 10 })); return minted.at(-1); } });
  const refreshed = [];
  c.on('refresh', (d) => refreshed.push(d));
  const { connection_id: id } = await c.request('whoami');
  const exp = tokenExpiry(minted[0]);
  assert.ok(exp > Date.now() / 1000, 'the first token is live');
  await waitFor(() => Date.now() > exp * 1000 + 500, 30_000, 50);
  assert.ok(refreshed.length >= 1, 'auth.refresh was sent before exp');
  assert.ok(Date.parse(refreshed[0].expires_at) / 1000 > exp, JSON.stringify(refreshed));
  assert.equal((await c.request('echo', 'after exp')).echo, 'after exp');
  assert.equal((await c.request('whoami')).connection_id, id, 'still the same connection');
  assert.equal(c.events.filter((e) => e.type === 'open').length, 1, 'no reconnect');
  assert.deepEqual(c.events.filter((e) => e.type === 'error'), []);
  done(c);
});

test('without refresh the server closes at exp with 4001; the SDK reconnects with a fresh token and resends', { skip }, async () => {
  const sub = uniq('nr');
  const minted = [];
  const c = await sdk({ sub }, {
    refresh: false,
    getToken: () => { minted.push(stack.token({ sub, ttl: minted.length ? 3600 : 3 })); return minted.at(-1); },
  });
  const exp = tokenExpiry(minted[0]);
  await waitFor(() => Date.now() > exp * 1000 + 200, 30_000, 50);
  // Refused unrun (UNAUTHORIZED, token_expired), closed with 4001, sent again on the new connection.
  assert.equal((await c.request('echo', 'late', { timeout: 20_000 })).echo, 'late');
  const close = c.events.find((e) => e.type === 'close');
  assert.equal(close?.code, 4001, JSON.stringify(c.events));
  assert.match(close.reason, /token expired/);
  assert.ok(minted.length >= 2, 'a fresh token was asked for');
  assert.equal(c.events.filter((e) => e.type === 'open').length, 2);
  done(c);
});

nodeTest('pushes that overtake the acknowledgment: the first counts as it, a late one is ignored, results resolve', async () => {
  // The acknowledgment travels in the answer to the request, progress and
  // complete through the publish API: the client may see them in any order.
  const { WebSocketServer } = WebSocket;
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => server.on('listening', r));
  const ts = new Date().toISOString();
  const ack = (id) => ({ type: 'acknowledgment', request_id: id, status: 'queued', message: 'Request queued for processing' });
  const progress = (id, percentage) => ({ type: 'progress', request_id: id, percentage, message: `at ${percentage}`, timestamp: ts });
  const complete = (id, result) => ({ type: 'complete', request_id: id, result, timestamp: ts });
  const orders = {
    // progress before the acknowledgment
    progressFirst: (id) => [progress(id, 40), ack(id), progress(id, 100), complete(id, { n: 1 })],
    // everything before it
    completeFirst: (id) => [progress(id, 50), progress(id, 100), complete(id, { n: 2 }), ack(id)],
    // the complete alone before it
    bareComplete: (id) => [complete(id, { n: 3 }), ack(id)],
    // the order of a quiet day
    inOrder: (id) => [ack(id), progress(id, 100), complete(id, { n: 4 })],
  };
  server.on('connection', (ws) => ws.on('message', (data) => {
    const m = JSON.parse(data.toString());
    const order = orders[m.payload?.order];
    const out = order ? order(m.id) : [{ type: 'response', request_id: m.id, success: true, data: { echo: m.payload } }];
    for (const o of out) ws.send(JSON.stringify(o));
  }));
  const c = new StreamerClient(`ws://127.0.0.1:${server.address().port}/ws`, {
    WebSocket, token: 't', heartbeat: false, reconnect: false,
  });
  const errors = [];
  c.on('error', (d) => errors.push(d));
  try {
    await c.connect();
    for (const [order, n] of [['progressFirst', 1], ['completeFirst', 2], ['bareComplete', 3], ['inOrder', 4]]) {
      const seen = [];
      const result = await c.request('job', { order }, {
        onAck: (a) => seen.push(`ack${a.implied ? ' (implied)' : ''}`),
        onProgress: (p) => seen.push(p.percentage),
        timeout: 5000,
      });
      assert.deepEqual(result, { n }, order);
      const expected = {
        progressFirst: ['ack (implied)', 40, 100],
        completeFirst: ['ack (implied)', 50, 100],
        bareComplete: ['ack (implied)'],
        inOrder: ['ack', 100],
      }[order];
      assert.deepEqual(seen, expected, order);
    }
    // the late acknowledgments went nowhere: the client still answers, and nothing was reported
    assert.deepEqual((await c.request('echo', 'after')).echo, 'after');
    assert.equal(c._pending.size, 0);
    assert.deepEqual(errors, []);
  } finally {
    c.close();
    for (const ws of server.clients) ws.terminate();
    await new Promise((r) => server.close(r));
  }
});

test('no worker error was logged, nothing crashed', { skip }, async () => {
  const bad = stack.workerLogLines().filter((l) => l.level === 'error' || l.level === 'unparsable');
  assert.deepEqual(bad, []);
  assert.deepEqual(stack.workerCrashes(), []);
  assert.deepEqual(stack.tokenLeaks(), [], 'a log holds a token the tests used');
});

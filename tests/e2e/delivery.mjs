// delivery.mjs - no silent loss through the real Pushpin with www/streamer.js: floods of topic events, tenant broadcasts, direct messages and async results delivered exactly once in order; across `streamer close`, a Pushpin restart and reconnects; `recovery` {recovered: false} past the history window; and floods of requests all answered.
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startStack, missingPrograms, connect, WebSocket, sleep, uniq, waitFor, stackTest, FLOOR, sdkClient, countDelivery, sdkModule,
} from './lib.mjs';

const { StreamerClient } = await sdkModule();

const skip = missingPrograms('lighttpd') || (FLOOR && 'needs streamer-fcgi');
const HISTORY_SIZE = 1000; // the default: a stalled client catches up within it
let stack;
const test = stackTest(nodeTest, () => stack);
const clients = new Set();

before(async () => {
  if (skip) return;
  // No message rate limit: the floods here are about Pushpin, not the quota
  // (sdk_flow.mjs floods into the limit).
  stack = await startStack({ STREAMER_RATE_LIMIT: '0', STREAMER_HISTORY_SIZE: String(HISTORY_SIZE) });
});

after(async () => {
  for (const c of clients) c.close();
  if (stack) await stack.stop();
});

// An SDK client through Pushpin; WS is the WebSocket implementation (a wrapper may drop frames).
function sdk(tokenOpts = {}, opts = {}, WS = WebSocket) {
  return sdkClient(StreamerClient, stack, clients, {
    tokenOpts: { tenant: 'acme', ...tokenOpts },
    opts: { WebSocket: WS, ...opts },
    prefix: 'd',
    setup: countDelivery,
  });
}

// Raw publishers flooding count events of `bytes` to topic, each with `window` publishes in flight.
async function flood(topic, count, { bytes = 4096, publishers = 3, window = 16, from = 1, onPublished = () => {} } = {}) {
  const conns = await Promise.all(Array.from({ length: publishers }, () =>
    connect(stack, { sub: uniq('pub'), tenant: 'acme', permissions: ['publish'] })));
  const pad = 'x'.repeat(bytes);
  let next = from;
  const last = from + count - 1;
  await Promise.all(conns.map((c) => (async () => {
    let inFlight = 0;
    const done = new Promise((resolve, reject) => {
      const pump = () => {
        while (inFlight < window && next <= last) {
          const i = next++;
          inFlight++;
          c.send({ action: 'publish', id: `p${i}`, payload: { topic, data: { i, pad } } });
        }
        if (inFlight === 0) resolve();
      };
      c.ws.on('message', (d) => {
        const m = JSON.parse(String(d));
        if (!/^p\d+$/.test(m.request_id || '')) return;
        if (m.type !== 'response') return reject(new Error(`publish refused: ${String(d).slice(0, 300)}`));
        inFlight--;
        onPublished();
        pump();
      });
      pump();
    });
    await done;
    await c.close();
  })()));
}

// Checks got ([value, offset] in the order the app saw them): offsets one after the
// other from the first, and the values exactly first..last, each once.
function exactlyOnceInOrder(got, first, last, what) {
  const offsets = got.map(([, o]) => o);
  const bad = offsets.findIndex((o, k) => k && o !== offsets[k - 1] + 1);
  const values = got.map(([v]) => v).sort((a, b) => a - b);
  const want = Array.from({ length: last - first + 1 }, (_, k) => first + k);
  if (bad < 0 && values.length === want.length && values.every((v, k) => v === want[k])) return;
  const seen = new Set(values);
  const missing = want.filter((v) => !seen.has(v));
  assert.fail(`${what}: ${got.length} delivered for ${want.length}; missing ${missing.length} (${missing.slice(0, 10)}), ` +
    `${values.length - seen.size} twice; ${bad < 0 ? 'offsets in order' : `offset ${offsets[bad]} after ${offsets[bad - 1]}`}`);
}

// Runs cmds (arrays of CLI arguments), `parallel` at a time; resolves with the exit statuses.
async function cliAll(cmds, parallel = 4) {
  const status = [];
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < cmds.length) {
      const k = next++;
      status[k] = (await stack.cliRun(cmds[k])).status;
    }
  }));
  return status;
}

test('a flood of 600 events of 16 KB to a subscriber that is also sending and stalls: every one, once, in order', { skip }, async () => {
  const topic = uniq('flood');
  // The client's socket, to stop reading it for a while as a slow device would: what
  // the kernel buffers cannot hold, Pushpin drops (and still answers the publisher 200).
  let socket = null;
  class Tapped extends WebSocket {
    constructor(...a) {
      super(...a);
      socket = this;
    }
  }
  const c = await sdk({}, {}, Tapped);
  const got = [];
  await c.subscribe(topic, (data, ev) => got.push([data.i, ev.offset]));
  let chatting = true;
  const chatter = (async () => { while (chatting) await Promise.all([1, 2, 3, 4].map(() => c.request('echo', { x: 1 }))); })();
  let published = 0;
  let resumed = false;
  // Stalled while 380 events (6 MB) are published: more than the socket buffers hold.
  // Not more: with about 7 MB queued for this client (which is also sending),
  // Pushpin 1.36 stopped taking publishes until it read again (1 run in 4 at 450).
  const stall = (async () => {
    await waitFor(() => got.length >= 50, 20_000);
    const from = published;
    socket._socket.pause();
    await waitFor(() => published >= from + 380, 10_000, 20);
    socket._socket.resume();
    resumed = true;
  })();
  // 6 in flight per publisher: Pushpin 1.36 stops reading a client with more than its
  // 200,000-byte buffer of messages on the way to the worker (BENCHMARKS.md).
  await flood(topic, 600, { bytes: 16384, window: 6, onPublished: () => { published++; } });
  await stall;
  assert.ok(resumed);
  assert.ok(await waitFor(() => got.length >= 600, 30_000), `only ${got.length} of 600 events arrived`);
  chatting = false;
  await chatter;
  await sleep(300);
  exactlyOnceInOrder(got, 1, 600, 'topic events');
  assert.deepEqual(c.recoveries, []);
  console.log(`# 600 events of 16 KB, stalled for 380 of them: ${c.live} live, ${c.recovered} recovered from the history`);
  assert.ok(c.recovered > 0, 'Pushpin dropped nothing: the test did not exercise recovery');
});

test('tenant broadcasts and direct messages sent by the CLI: every one, once, in order', { skip }, async () => {
  const tenant = `dt${process.pid}`;
  const user = uniq('du');
  const c = await sdk({ sub: user, tenant });
  const broadcasts = [];
  const direct = [];
  c.on('message', ({ message: m }) => {
    if (m.stream === `tenant:${tenant}`) broadcasts.push([m.n, m.offset]);
    if (m.stream === `user:${tenant}:${user}`) direct.push([m.n, m.offset]);
  });
  const cmds = [];
  for (let n = 1; n <= 60; n++) {
    cmds.push(['broadcast', '--tenant', tenant, JSON.stringify({ type: 'announcement', n })]);
    cmds.push(['send', '--user', user, '--tenant', tenant, JSON.stringify({ type: 'notice', n })]);
  }
  const status = await cliAll(cmds, 4);
  assert.ok(status.every((s) => s === 0), `CLI exits ${status}`);
  assert.ok(await waitFor(() => broadcasts.length >= 60 && direct.length >= 60, 20_000),
    `broadcasts ${broadcasts.length}, direct ${direct.length} of 60`);
  await sleep(300);
  exactlyOnceInOrder(broadcasts, 1, 60, 'tenant broadcasts');
  exactlyOnceInOrder(direct, 1, 60, 'direct messages');
});

test('async requests: acknowledgment, progress in order and one result each, also across a reconnect', { skip }, async () => {
  const proc = stack.startProcessor(2);
  try {
    const c = await sdk();
    const runs = Array.from({ length: 12 }, (_, k) => {
      const seen = [];
      const p = c.request('delay', { seconds: 1, steps: 5 }, {
        timeout: 60_000,
        onAck: () => seen.push('ack'),
        onProgress: ({ percentage }) => seen.push(percentage),
      }).then((r) => { seen.push('result'); return r; });
      return { k, seen, p };
    });
    // Mid-run, the server closes the connection: progress and results pushed meanwhile
    // went to a connection that is gone; the history of the user's stream has them.
    await sleep(1500);
    const id = (await c.request('whoami')).connection_id;
    const r = await stack.cliRun(['close', id, '--code', '4000', '--reason', 'test']);
    assert.equal(r.status, 0, r.stderr);
    const results = await Promise.all(runs.map((x) => x.p));
    for (const [k, res] of results.entries()) {
      assert.equal(res.steps, 5, JSON.stringify(res));
      const s = runs[k].seen;
      assert.equal(s[0], 'ack', JSON.stringify(s));
      assert.equal(s.filter((x) => x === 'result').length, 1, JSON.stringify(s));
      assert.equal(s[s.length - 1], 'result', JSON.stringify(s));
      const pct = s.filter((x) => typeof x === 'number');
      assert.ok(pct.every((v, i) => !i || v >= pct[i - 1]), `progress went down: ${JSON.stringify(s)}`);
    }
  } finally {
    await stack.stopProcessor(proc);
  }
});

test('streamer close in the middle of a flood: the reconnected client has every event once, in order', { skip }, async () => {
  const topic = uniq('close');
  const c = await sdk();
  const got = [];
  await c.subscribe(topic, (data, ev) => got.push([data.i, ev.offset]));
  const id = (await c.request('whoami')).connection_id;
  const publishing = flood(topic, 600, { bytes: 1024 });
  assert.ok(await waitFor(() => got.length >= 100, 20_000));
  const r = await stack.cliRun(['close', id, '--code', '4000', '--reason', 'mid-flood']);
  assert.equal(r.status, 0, r.stderr);
  await publishing;
  assert.ok(await waitFor(() => got.length >= 600, 30_000), `only ${got.length} of 600 after the close`);
  await sleep(300);
  exactlyOnceInOrder(got, 1, 600, 'events across streamer close');
  assert.notEqual((await c.request('whoami')).connection_id, id, 'the client did not reconnect');
});

test('a Pushpin restart in the middle of a flood: what could not be pushed is recovered after the reconnect', { skip }, async () => {
  const topic = uniq('restart');
  const c = await sdk();
  const got = [];
  await c.subscribe(topic, (data, ev) => got.push([data.n, ev.offset]));
  // The CLI stores each event (numbered) before it pushes: a push to a Pushpin that is
  // down fails (exit 1), the event is still in the topic's history.
  const cmds = Array.from({ length: 150 }, (_, k) => ['broadcast', '--tenant', 'acme', '--topic', topic, JSON.stringify({ n: k + 1 })]);
  const sending = (async () => {
    const status = [];
    for (let k = 0; k < cmds.length; k += 3) {
      status.push(...await cliAll(cmds.slice(k, k + 3), 3));
      await sleep(10);
    }
    return status;
  })();
  assert.ok(await waitFor(() => got.length >= 30, 20_000));
  await stack.restartService('pushpin');
  const status = await sending;
  assert.ok(await waitFor(() => got.length >= 150, 30_000), `only ${got.length} of 150 after the restart (CLI exits: ${status.join('')})`);
  await sleep(300);
  exactlyOnceInOrder(got, 1, 150, 'events across a Pushpin restart');
  console.log(`# Pushpin restart: ${status.filter((s) => s !== 0).length} of 150 pushes failed; ${c.live} live, ${c.recovered} recovered`);
});

test('past the history window the client is told: recovery {recovered: false}, then it goes on', { skip }, async () => {
  const topic = uniq('window');
  // A transport that drops every event while `deaf` is set, as Pushpin drops pushes to a full socket.
  let deaf = false;
  class DeafWebSocket extends WebSocket {
    constructor(...a) {
      super(...a);
      const emit = this.emit.bind(this);
      this.emit = (type, ...args) => {
        if (type === 'message' && deaf && String(args[0]).includes('"type":"event"')) return true;
        return emit(type, ...args);
      };
    }
  }
  const c = await sdk({}, { positionInterval: 60_000 }, DeafWebSocket);
  const got = [];
  await c.subscribe(topic, (data, ev) => got.push([data.i, ev.offset]));
  await flood(topic, 5, { bytes: 10, publishers: 1 });
  assert.ok(await waitFor(() => got.length === 5, 10_000));
  deaf = true;
  await flood(topic, HISTORY_SIZE + 50, { bytes: 10, from: 6 });
  deaf = false;
  await flood(topic, 1, { bytes: 10, publishers: 1, from: HISTORY_SIZE + 56 });
  assert.ok(await waitFor(() => c.recoveries.length > 0, 10_000), 'no recovery event');
  const rec = c.recoveries[0];
  assert.equal(rec.recovered, false);
  assert.equal(rec.stream, `topic:acme:${topic}`);
  // What the history still held is delivered, in order, and the client goes on live.
  const top = HISTORY_SIZE + 56;
  assert.ok(await waitFor(() => got.length && got[got.length - 1][1] === top, 10_000), `last ${JSON.stringify(got[got.length - 1])}`);
  const after = got.slice(5).map(([, o]) => o);
  assert.deepEqual(after, Array.from({ length: HISTORY_SIZE }, (_, k) => top - HISTORY_SIZE + 1 + k));
});

test('50 floods of 300 and 50 of 1,000 requests from one SDK client: every one answered', { skip }, async () => {
  const c = await sdk();
  for (const size of [300, 1000]) {
    for (let round = 0; round < 50; round++) {
      const answers = await Promise.all(Array.from({ length: size }, (_, k) => c.request('echo', { round, k })));
      assert.equal(answers.length, size);
      for (const [k, a] of answers.entries()) assert.deepEqual(a.echo, { round, k });
    }
  }
});

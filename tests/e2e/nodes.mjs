// nodes.mjs - two nodes (each its own Pushpin, zurl, lighttpd and workers) on one database: topic events, broadcasts and sends across nodes; presence across nodes; an async request run by the other node's processor; failover to the other node with recovery; 2 nodes x 2 processors x 1,000 requests, each run exactly once.
//
// The nodes share the database (a PostgreSQL database when the suite runs on
// one, else node 1's SQLite file, which two stacks on one host may share),
// the JWT keys (one token works on both) and the callback list: every push
// goes to both Pushpins (STREAMER_CALLBACK_URL lists both publish URLs).
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, chmodSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import {
  startStack, missingPrograms, connect, sleep, uniq, waitFor, stackTest, FLOOR, freePorts,
  sdkModule, countDelivery, WebSocket,
} from './lib.mjs';

const skip = missingPrograms('lighttpd') || (FLOOR && 'needs streamer-fcgi');
const { StreamerClient } = await sdkModule();
let n1;
let n2;
let dir;
const clients = new Set();
const test = stackTest(nodeTest, () => n1);

// An exec handler per node that notes each run (request id) in runs-<node> and answers {"node": N}.
function writeScript(node) {
  const p = join(dir, `run${node}.sh`);
  writeFileSync(p, `#!/bin/sh
cat >/dev/null
echo "PROGRESS 50 node ${node} halfway"
echo "$STREAMER_REQUEST_ID" >>'${join(dir, `runs-${node}`)}'
echo '{"node":${node}}'
`);
  chmodSync(p, 0o755);
  return p;
}

const runs = (node) => {
  const f = join(dir, `runs-${node}`);
  return existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean) : [];
};

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'streamer-nodes-'));
  chmodSync(dir, 0o755);
  const [ws1, http1, pub1, ws2, http2, pub2] = await freePorts(6);
  const common = {
    STREAMER_CALLBACK_URL: `http://127.0.0.1:${pub1}/publish/,http://127.0.0.1:${pub2}/publish/`,
    STREAMER_CALLBACK_CONNECT_TIMEOUT: '500',
    STREAMER_MAX_REQUESTS_PER_CONNECTION: '1000',
    STREAMER_MAX_PENDING_PER_TENANT: '0',
    STREAMER_RATE_LIMIT: '100000',
    STREAMER_RATE_BURST: '100000',
    STREAMER_JOB_LEASE: '5',
  };
  // node k: its ports, its exec handler, and what it shares
  const node = (k, ws, http, pub, shared = {}) => startStack({
    ...common,
    STREAMER_PUSHPIN_PORT: String(ws),
    STREAMER_HTTP_PORT: String(http),
    STREAMER_PUBLISH_PORT: String(pub),
    STREAMER_EXEC_ACTIONS: `x_run=${writeScript(k)}`,
    ...shared,
  });
  n1 = await node(1, ws1, http1, pub1);
  n2 = await node(2, ws2, http2, pub2, { STREAMER_STACK_DB: n1.db, STREAMER_STACK_KEYS_FROM: join(n1.var, 'keys') });
});

after(async () => {
  for (const c of clients) c.close();
  if (n2) await n2.stop();
  if (n1) await n1.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// ms an answer, or a push from the other node, may take: a push crosses one node's worker, the other
// node's Pushpin and, in the sanitizer build beside other tests under make -j2, can
// take more than the 5 s default (CI saw test 1 fail once there; not reproduced in 13
// runs beside busy loops, ASan included).
const PUSH_WAIT = 20000;

async function whoami(c) {
  c.send({ action: 'whoami', id: uniq('who') });
  for (;;) {
    const m = await c.nextJson(PUSH_WAIT);
    if (m.type === 'response' && m.data?.connection_id) return m.data.connection_id;
  }
}

async function request(c, action, payload, id = uniq('r')) {
  c.send({ action, id, payload });
  for (;;) {
    const m = await c.nextJson(PUSH_WAIT);
    if (m.request_id === id) return m;
  }
}

// Resolves with the next message, or null when none comes within ms.
async function maybeNext(c, ms = 400) {
  try {
    return await c.nextJson(ms);
  } catch {
    return null;
  }
}

test('a topic event published on node 2 reaches a subscriber on node 1; a broadcast and a send reach clients on both nodes', { skip }, async () => {
  const tenant = `nd${process.pid}`;
  const topic = uniq('x').replace(/-/g, '.');
  const a = await connect(n1, { sub: uniq('a'), tenant });
  const b = await connect(n2, { sub: uniq('b'), tenant, permissions: 'publish' });
  const idA = await whoami(a);
  await whoami(b);
  let m = await request(a, 'subscribe', { topic });
  assert.equal(m.type, 'response', JSON.stringify(m));
  m = await request(b, 'publish', { topic, data: { from: 2 } });
  assert.equal(m.type, 'response', JSON.stringify(m));
  const ev = await a.nextJson(PUSH_WAIT);
  assert.deepEqual([ev.type, ev.topic, ev.data], ['event', topic, { from: 2 }], JSON.stringify(ev));

  // a broadcast made with node 2's settings reaches the tenant on both nodes
  let r = await n2.cliRun(['broadcast', '--tenant', tenant, '{"type":"announcement","n":1}']);
  assert.equal(r.status, 0, r.stderr);
  for (const c of [a, b]) {
    const got = await c.nextJson(PUSH_WAIT);
    assert.deepEqual([got.type, got.n], ['announcement', 1], JSON.stringify(got));
  }
  // a send to a connection of node 1, from node 2: only that connection
  r = await n2.cliRun(['send', '--connection', idA, '{"type":"notice","n":2}']);
  assert.equal(r.status, 0, r.stderr);
  const got = await a.nextJson(PUSH_WAIT);
  assert.deepEqual([got.type, got.n], ['notice', 2], JSON.stringify(got));
  assert.equal(await maybeNext(b), null);
  // each node sees the other's connections in the one store
  const ids = n2.connections().map((c) => c.connection_id ?? c.id);
  assert.ok(ids.includes(idA), `node 2 does not list node 1's connection ${idA}`);
  await a.close();
  await b.close();
});

test('presence across nodes: a watcher on node 1 sees a client of node 2 join and leave; both nodes answer the same presence', { skip }, async () => {
  const tenant = `np${process.pid}`;
  const w = await connect(n1, { sub: 'watcher', tenant });
  let m = await request(w, 'subscribe', { topic: 'room', presence: true });
  assert.equal(m.data.presence, true, JSON.stringify(m));
  const b = await connect(n2, { sub: 'bob', tenant });
  m = await request(b, 'subscribe', { topic: 'room' });
  assert.equal(m.type, 'response', JSON.stringify(m));
  let ev = await w.nextJson();
  assert.deepEqual([ev.type, ev.event, ev.user_id], ['presence', 'join', 'bob'], JSON.stringify(ev));
  const on1 = (await request(w, 'presence', { topic: 'room' })).data;
  const on2 = (await request(b, 'presence', { topic: 'room' })).data;
  assert.deepEqual(on1, on2, 'one store: the same answer on both nodes');
  assert.deepEqual(on1.users.map((u) => u.user_id), ['bob', 'watcher']);
  await b.close();
  ev = await w.nextJson();
  assert.deepEqual([ev.type, ev.event, ev.user_id, ev.connections], ['presence', 'leave', 'bob', 0], JSON.stringify(ev));
  await w.close();
});

test('an async request made on node 1 is run by node 2\'s processor; its progress and result reach the client on node 1', { skip }, async () => {
  const p = n2.startProcessor(1);
  const c = await connect(n1, { sub: uniq('as') });
  const id = uniq('job');
  c.send({ action: 'x_run', id, payload: {} });
  const seen = [];
  for (;;) {
    const m = await c.nextJson(20_000);
    if (m.request_id !== id) continue;
    seen.push(m);
    if (m.type === 'complete' || m.type === 'error') break;
  }
  const last = seen.at(-1);
  assert.equal(last.type, 'complete', JSON.stringify(seen));
  assert.deepEqual(last.result, { node: 2 });
  const progress = seen.find((m) => m.type === 'progress' && m.message === 'node 2 halfway');
  assert.ok(progress, `no progress from node 2: ${JSON.stringify(seen)}`);
  assert.deepEqual(runs(2), [id]);
  assert.deepEqual(runs(1), []);
  await c.close();
  await n2.stopProcessor(p);
});

test('node 1\'s Pushpin is killed: an SDK client moves to node 2 and misses nothing of its topic', { skip }, async () => {
  try {
    await failover();
  } finally {
    await n1.restartService('pushpin');
  }
});

async function failover() {
  const topic = uniq('fo').replace(/-/g, '.');
  const user = uniq('fo');
  // one client that knows both nodes, node 1 first
  const sub = new StreamerClient([n1.wsUrl, n2.wsUrl], {
    WebSocket,
    getToken: () => n1.token({ sub: user }),
    reconnect: { initialDelay: 50, maxDelay: 500 },
    requestTimeout: 60_000,
  });
  countDelivery(sub);
  clients.add(sub);
  await sub.connect();
  assert.equal(sub.url, n1.wsUrl);
  const moves = [];
  sub.on('failover', (d) => moves.push(d));
  const got = [];
  await sub.subscribe(topic, (d) => got.push(d.n));
  const pub = await connect(n2, { sub: uniq('pub'), permissions: 'publish' });
  const total = 60;
  for (let n = 1; n <= total; n++) {
    if (n === 20) {
      // Pushpin and its processes (condure, proxy, handler: one session): a node that dies
      const sid = readFileSync(join(n1.var, 'run', 'pushpin.pid'), 'utf8').trim();
      const k = spawnSync('pkill', ['-KILL', '-s', sid]);
      assert.equal(k.status, 0, `pkill -s ${sid}: ${k.stderr}`);
    }
    const m = await request(pub, 'publish', { topic, data: { n } });
    assert.equal(m.type, 'response', JSON.stringify(m)); // node 1 down does not fail a publish
    await sleep(20);
  }
  assert.ok(await waitFor(() => got.length >= total, 30_000, 50), `${got.length} of ${total}: ${got.join(',')}`);
  await sleep(300);
  assert.deepEqual(got, Array.from({ length: total }, (_, i) => i + 1));
  assert.equal(sub.url, n2.wsUrl);
  assert.ok(moves.some((d) => d.from === n1.wsUrl && d.to === n2.wsUrl), JSON.stringify(moves));
  assert.deepEqual(sub.recoveries, []);
  console.log(`# ${total} events across the failover: ${sub.live} live, ${sub.recovered} from the history`);
  const missed = n2.workerLogLines().filter((l) => l.event === 'push_node_missed' && l.node === 1);
  assert.ok(missed.length > 0, 'no push_node_missed for the dead node');
  // node 2's health: its pushes still reach a node, so 200, with the callback
  // degraded (once each worker's last probe, at most 5 s old, is renewed)
  let health;
  const degraded = await waitFor(async () => {
    const res = await fetch(`${n2.httpUrl}/healthz`);
    health = [res.status, await res.json()];
    return health[1].checks?.callback === 'degraded';
  }, 15_000, 250);
  assert.ok(degraded, JSON.stringify(health));
  assert.equal(health[0], 200);
  assert.deepEqual(health[1].checks, { database: 'ok', callback: 'degraded' });
  sub.close();
  clients.delete(sub);
  await pub.close();
}

test('2 nodes x 2 processors x 1,000 requests: each runs exactly once', { skip }, async (t) => {
  const before1 = runs(1).length;
  const before2 = runs(2).length;
  const procs = [n1.startProcessor(2), n1.startProcessor(2), n2.startProcessor(2), n2.startProcessor(2)];
  const [c1, c2] = [await connect(n1, { sub: uniq('m1') }), await connect(n2, { sub: uniq('m2') })];
  const ids = Array.from({ length: 1000 }, (_, i) => `k${i}`);
  const done = new Set();
  const listen = (c) => (async () => {
    for (;;) {
      let m;
      try {
        m = await c.nextJson(10_000);
      } catch {
        return;
      }
      if (m.type === 'complete') {
        assert.ok(!done.has(m.request_id), `${m.request_id} completed twice`);
        done.add(m.request_id);
      } else if (m.type === 'error') {
        assert.fail(JSON.stringify(m));
      }
    }
  })();
  const listening = [listen(c1), listen(c2)];
  for (const [i, id] of ids.entries()) (i % 2 ? c2 : c1).send({ action: 'x_run', id, payload: {} });
  const ran = () => runs(1).length - before1 + runs(2).length - before2;
  assert.ok(await waitFor(() => ran() >= ids.length, 180_000, 200), `${ran()} of ${ids.length} ran`);
  await sleep(1000); // a second run of anything would show now
  const all = [...runs(1).slice(before1), ...runs(2).slice(before2)];
  const counts = new Map();
  for (const id of all) counts.set(id, (counts.get(id) ?? 0) + 1);
  assert.deepEqual([...counts.entries()].filter(([, n]) => n !== 1), [], 'run more than once');
  assert.deepEqual(ids.filter((id) => !counts.has(id)), [], 'never ran');
  assert.equal(all.length, ids.length);
  const by1 = runs(1).length - before1;
  t.diagnostic(`node 1 ran ${by1}, node 2 ran ${ids.length - by1}`);
  assert.ok(by1 > 0 && by1 < ids.length, `one node ran everything (${by1} on node 1)`);
  // Results reach the clients: pushed, or read with request.status when the
  // push was dropped (the listeners end after 10 s without a message).
  await Promise.all(listening);
  const lost = ids.filter((id) => !done.has(id));
  if (lost.length) t.diagnostic(`${lost.length} of 1000 completes were not pushed; request.status has them`);
  for (const id of lost) {
    const c = Number(id.slice(1)) % 2 ? c2 : c1;
    const m = await request(c, 'request.status', { request_id: id }, `s-${id}`);
    assert.equal(m.data?.status, 'COMPLETED', JSON.stringify(m));
  }
  for (const [i, p] of procs.entries()) await (i < 2 ? n1 : n2).stopProcessor(p);
  await c1.close();
  await c2.close();
});

test('no worker or processor error was logged on either node, nothing crashed', { skip }, async () => {
  for (const n of [n1, n2]) {
    assert.deepEqual(n.workerCrashes(), []);
    const errors = n.workerLogLines().filter((l) => l.level === 'error');
    assert.deepEqual(errors, []);
    assert.deepEqual(n.tokenLeaks(), []);
  }
});

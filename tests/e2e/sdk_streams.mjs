// sdk_streams.mjs - www/streamer.js's numbered streams (issue 15): each message once, in offset order, across dropped pushes, lost tails, duplicates, epoch changes, paging and reconnects, also of the topics a token's topics claim subscribes at the connect (issue 18: names and patterns); first against a small in-process server that speaks the streams protocol and drops what it is told to, then through the real stack (Pushpin) when streamer-fcgi numbers its messages.
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  startStack, missingPrograms, WebSocket, sleep, uniq, waitFor, stackTest, FLOOR, sdkClient, sdkModule, countDelivery,
} from './lib.mjs';

const { StreamerClient } = await sdkModule();

// ---- a streams server in this process ----------------------------------------
//
// The protocol of issue 15 (docs/protocol.md, "Streams and recovery"), small: one tenant
// (acme), the user is the token; every push is numbered in its stream and kept;
// drop(message, connection) decides which pushes never leave (as Pushpin's do).

const TENANT = 'acme';
const hex = () => randomBytes(8).toString('hex');

// Whether a topics-claim entry covers topic (`*`, `<prefix>.*`, or the name), as the server matches.
function covers(pattern, topic) {
  if (pattern === '*') return true;
  if (pattern.endsWith('.*')) return topic.startsWith(pattern.slice(0, -1)) && topic.length > pattern.length - 1;
  return pattern === topic;
}

// claims(user): the topics claim of user's token (names and patterns), subscribed at the
// connect; told at once, or (toldLate) just before the answer to the client's first
// request, as a browser may see it (its open runs before the next message).
async function streamsServer({ drop = () => false, hints = true, page = 100, claims = () => [], toldLate = false } = {}) {
  const wss = new WebSocket.WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.on('listening', r));
  const streams = new Map(); // name -> { epoch, base, msgs: [{ m, to }] }
  const conns = new Map(); //   id -> { id, ws, user, topics }
  let nconn = 0;
  const srv = { wss, streams, conns, drop, hints, page, claims, received: [], url: `ws://127.0.0.1:${wss.address().port}/ws` };

  const stream = (name) => {
    if (!streams.has(name)) streams.set(name, { epoch: hex(), base: 0, msgs: [] });
    return streams.get(name);
  };
  const current = (st) => st.base + st.msgs.length;
  const visible = (e, conn, earlier) => e.to == null || e.to === conn.id || earlier.includes(e.to);
  const connStreams = (conn) => [`user:${TENANT}:${conn.user}`, `tenant:${TENANT}`, ...[...conn.topics].map((t) => `topic:${TENANT}:${t}`)];
  const deliver = (conn, m) => {
    if (conn.ws.readyState === WebSocket.OPEN && !srv.drop(m, conn)) conn.ws.send(JSON.stringify(m));
  };
  const append = (name, body, to = null) => {
    const st = stream(name);
    const m = { ...body, stream: name, offset: current(st) + 1, epoch: st.epoch };
    st.msgs.push({ m, to });
    return m;
  };

  function history(conn, name, since, limit = srv.page, earlier = []) {
    const st = streams.get(name);
    if (!st) return { stream: name, epoch: null, offset: 0, messages: [], more: false, until: 0, ...(since ? { recovered: true } : {}) };
    const cur = current(st);
    if (since && since.epoch != null && since.epoch !== st.epoch) {
      return { stream: name, epoch: st.epoch, offset: cur, messages: [], recovered: false, more: false, until: cur };
    }
    const from = since ? since.offset + 1 : Math.max(st.base + 1, cur - limit + 1);
    const messages = [];
    let more = false;
    let until = cur;
    for (let o = Math.max(from, st.base + 1); o <= cur; o++) {
      const e = st.msgs[o - st.base - 1];
      if (!visible(e, conn, earlier)) continue;
      if (messages.length >= limit) {
        more = true;
        until = o - 1;
        break;
      }
      messages.push(e.m);
    }
    const out = { stream: name, epoch: st.epoch, offset: cur, messages, more, until };
    if (since) out.recovered = from > st.base;
    return out;
  }

  function handle(conn, msg) {
    const p = msg.payload || {};
    switch (msg.action) {
      case 'echo': return { echo: p };
      case 'health': return { status: 'healthy' };
      case 'whoami': return { connection_id: conn.id, user_id: conn.user, tenant_id: TENANT };
      case 'subscribe': {
        conn.topics.add(p.topic);
        if (p.presence !== undefined) (conn.presence ??= new Map()).set(p.topic, p.presence);
        srv.onSubscribe?.(p.topic); // between the subscription and the position the answer reads
        const name = `topic:${TENANT}:${p.topic}`;
        const st = streams.get(name);
        const d = { topic: p.topic, subscribed: true, stream: name, epoch: st ? st.epoch : null, offset: st ? current(st) : 0 };
        if (p.presence !== undefined) d.presence = p.presence;
        return p.since ? { ...d, ...history(conn, name, p.since) } : d;
      }
      case 'unsubscribe': return { topic: p.topic, subscribed: false, was_subscribed: conn.topics.delete(p.topic) };
      case 'publish': srv.publish(p.topic, p.data); return { topic: p.topic, published: true };
      case 'history': return history(conn, p.stream, p.since, Math.min(p.limit ?? srv.page, srv.page), p.connections || []); // page: the byte budget
      case 'streams.recover': {
        const out = {};
        for (const [name, since] of Object.entries(p.streams || {})) out[name] = history(conn, name, since, srv.page, p.connections || []);
        for (const name of connStreams(conn)) {
          const st = streams.get(name);
          if (!out[name] && st) out[name] = { epoch: st.epoch, offset: current(st) };
        }
        return { connection_id: conn.id, streams: out };
      }
      default: return undefined;
    }
  }

  wss.on('connection', (ws, req) => {
    const user = new URL(req.url, 'http://x').searchParams.get('Authorization') || 'anon';
    const conn = { id: `conn${++nconn}`, ws, user, topics: new Set(), patterns: new Set() };
    conns.set(conn.id, conn);
    // The server-side subscriptions of the token's topics claim, told first.
    const told = [];
    for (const t of srv.claims(user)) {
      if (t.includes('*')) {
        conn.patterns.add(t);
        told.push({ topic: t, pattern: true });
        continue;
      }
      conn.topics.add(t);
      const st = streams.get(`topic:${TENANT}:${t}`);
      told.push({ topic: t, stream: `topic:${TENANT}:${t}`, epoch: st ? st.epoch : null, offset: st ? current(st) : 0 });
    }
    let tell = told.length ? () => ws.send(JSON.stringify({ type: 'subscriptions', server_side: true, topics: told })) : () => {};
    if (!toldLate) {
      tell();
      tell = () => {};
    }
    ws.on('close', () => conns.delete(conn.id));
    ws.on('message', (data) => {
      tell();
      tell = () => {};
      const msg = JSON.parse(data.toString());
      srv.received.push({ conn: conn.id, msg });
      if (msg.action === 'job') { // async: acknowledged, then progress and complete through the user stream
        if (srv.onJob) return srv.onJob(conn, msg);
      }
      const d = handle(conn, msg);
      const answer = d === undefined
        ? { type: 'error', request_id: msg.id, error: { code: 'INVALID_ACTION', message: `Unknown action: ${msg.action}` } }
        : { type: 'response', request_id: msg.id, success: true, data: d };
      if (srv.hints) {
        const positions = {};
        for (const name of connStreams(conn)) {
          const st = streams.get(name);
          if (st) positions[name] = { epoch: st.epoch, offset: current(st) };
        }
        if (Object.keys(positions).length) answer.positions = positions;
      }
      ws.send(JSON.stringify(answer));
    });
  });

  srv.publish = (topic, data) => {
    const m = append(`topic:${TENANT}:${topic}`, { type: 'event', topic, data, timestamp: new Date().toISOString() });
    for (const c of conns.values()) {
      if (c.topics.has(topic) || [...c.patterns].some((pt) => covers(pt, topic))) deliver(c, m);
    }
    return m;
  };
  // A direct message to every connection of user, or (connId) to one.
  srv.send = (user, body, connId = null) => {
    const m = append(`user:${TENANT}:${user}`, body, connId);
    for (const c of conns.values()) if (c.user === user && (connId == null || c.id === connId)) deliver(c, m);
    return m;
  };
  srv.broadcast = (body) => {
    const m = append(`tenant:${TENANT}`, body);
    for (const c of conns.values()) deliver(c, m);
    return m;
  };
  srv.answer = (conn, obj) => conn.ws.send(JSON.stringify(obj));
  srv.push = (conn, m) => conn.ws.send(JSON.stringify(m)); // sent again, as is
  srv.reset = (name) => streams.set(name, { epoch: hex(), base: 0, msgs: [] });
  srv.trim = (name, keep) => {
    const st = streams.get(name);
    const n = Math.max(0, st.msgs.length - keep);
    st.msgs.splice(0, n);
    st.base += n;
  };
  srv.kill = (connId) => conns.get(connId)?.ws.terminate();
  srv.close = async () => {
    for (const c of wss.clients) c.terminate();
    await new Promise((r) => wss.close(r));
  };
  return srv;
}

function client(srv, user, opts = {}) {
  const c = new StreamerClient(srv.url, {
    WebSocket, token: user, heartbeat: false, reconnect: { initialDelay: 20, maxDelay: 100 }, ...opts,
  });
  c.seen = [];
  c.recoveries = [];
  c.errors = [];
  c.on('recovery', (d) => c.recoveries.push(d));
  c.on('error', (d) => c.errors.push(d));
  return c;
}

const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

nodeTest('topic: dropped pushes are fetched from the history (just the gaps); the handler sees each message once, in order', async () => {
  const srv = await streamsServer({ drop: (m) => m.offset % 7 === 3 || (m.offset > 40 && m.offset < 60) });
  const c = client(srv, 'u1');
  try {
    await c.connect();
    const got = [];
    const ans = await c.subscribe('prices', (data, ev) => got.push([data.n, ev.offset]));
    assert.equal(ans.subscribed, true);
    for (let i = 1; i <= 200; i++) srv.publish('prices', { n: i });
    assert.ok(await waitFor(() => got.length >= 200, 5000, 10), `got ${got.length}`);
    assert.deepEqual(got.map((g) => g[0]), range(1, 200));
    assert.deepEqual(got.map((g) => g[1]), range(1, 200));
    const fetched = srv.received.filter((r) => r.msg.action === 'history');
    assert.ok(fetched.length > 0, 'nothing was fetched');
    // each fetch asked for its gap only: what follows it was held already
    assert.ok(fetched.every((r) => r.msg.payload.limit >= 1 && r.msg.payload.limit <= 19), JSON.stringify(fetched.map((r) => r.msg.payload)));
    assert.deepEqual(c.recoveries, []);
    assert.deepEqual(c.errors, []);
    assert.deepEqual(c.positions[`topic:${TENANT}:prices`].offset, 200);
  } finally {
    c.close();
    await srv.close();
  }
});

nodeTest('a lost tail is noticed by a position hint in an answer, or by the idle check (positionInterval)', async () => {
  const srv = await streamsServer({ drop: (m) => m.offset > 5 });
  const c = client(srv, 'u1', { positionInterval: false });
  const d = client(srv, 'u2', { positionInterval: 300 });
  try {
    await c.connect();
    await d.connect();
    const gc = [];
    const gd = [];
    await c.subscribe('t', (x) => gc.push(x));
    await d.subscribe('t', (x) => gd.push(x));
    for (let i = 1; i <= 10; i++) srv.publish('t', i);
    await sleep(100);
    assert.deepEqual(gc, range(1, 5), 'the tail was dropped');
    await c.request('echo', 1); // its answer says where topic t stands
    assert.ok(await waitFor(() => gc.length === 10, 3000, 10), JSON.stringify(gc));
    assert.deepEqual(gc, range(1, 10));
    srv.hints = false;
    // d says nothing: after 300 ms of silence it asks where its streams stand
    assert.ok(await waitFor(() => gd.length === 10, 3000, 10), JSON.stringify(gd));
    assert.deepEqual(gd, range(1, 10));
    assert.ok(srv.received.some((r) => r.msg.action === 'streams.recover' && Object.keys(r.msg.payload.streams).length));
  } finally {
    c.close();
    d.close();
    await srv.close();
  }
});

nodeTest('duplicates are dropped; a long gap is paged with more/until; the history no longer holding it is recovered:false', async () => {
  const srv = await streamsServer({ page: 7, drop: (m) => m.offset > 3 && m.offset <= 60 });
  const c = client(srv, 'u1', { positionInterval: false });
  try {
    await c.connect();
    const got = [];
    await c.subscribe('t', (x) => got.push(x));
    const conn = [...srv.conns.values()][0];
    for (let i = 1; i <= 80; i++) {
      const m = srv.publish('t', i);
      if (i % 10 === 0) srv.push(conn, m); // twice
    }
    assert.ok(await waitFor(() => got.length >= 80, 3000, 10), `got ${got.length}`);
    await sleep(50);
    assert.deepEqual(got, range(1, 80));
    assert.ok(srv.received.filter((r) => r.msg.action === 'history').length >= 8, 'not paged');
    // Trimmed history: 81..100 dropped, only the last 10 kept.
    srv.drop = (m) => m.offset > 80 && m.offset <= 100;
    for (let i = 81; i <= 100; i++) srv.publish('t', i);
    srv.trim(`topic:${TENANT}:t`, 10);
    srv.drop = () => false;
    srv.publish('t', 101);
    assert.ok(await waitFor(() => got.length >= 91, 3000, 10), `got ${got.length}`);
    await sleep(50);
    assert.deepEqual(got.slice(80), range(91, 101));
    assert.equal(c.recoveries.length, 1);
    assert.equal(c.recoveries[0].recovered, false);
    assert.equal(c.recoveries[0].stream, `topic:${TENANT}:t`);
    assert.equal(c.recoveries[0].topic, 't');
  } finally {
    c.close();
    await srv.close();
  }
});

nodeTest('events pushed between the subscription and the position its answer reads are delivered, once', async () => {
  for (const settled of [false, true]) { // subscribed at once (positions still asked for), or later
    await earlyEvents(settled);
  }
});

async function earlyEvents(settled) {
  const srv = await streamsServer({ hints: false });
  const c = client(srv, 'u1', { positionInterval: false });
  try {
    await c.connect();
    if (settled) await c.request('echo', 'synchronised');
    srv.publish('t', 'before'); // before the subscription: not for this client
    srv.onSubscribe = () => {
      srv.publish('t', 'a');
      srv.drop = (m) => m.data === 'b'; // lost: fetched
      srv.publish('t', 'b');
      srv.drop = () => false;
      srv.publish('t', 'c');
    };
    const got = [];
    await c.subscribe('t', (x) => got.push(x));
    srv.onSubscribe = null;
    srv.publish('t', 'd');
    assert.ok(await waitFor(() => got.length >= 4, 3000, 10), JSON.stringify(got));
    await sleep(50);
    assert.deepEqual(got, ['a', 'b', 'c', 'd'], `settled ${settled}`);
  } finally {
    c.close();
    await srv.close();
  }
}

nodeTest('epoch change: recovery {recovered:false, epoch, offset}, then the new epoch in order', async () => {
  const srv = await streamsServer({ hints: false });
  const c = client(srv, 'u1', { positionInterval: false });
  try {
    await c.connect();
    const got = [];
    await c.subscribe('t', (x) => got.push(x));
    for (let i = 1; i <= 5; i++) srv.publish('t', i);
    assert.ok(await waitFor(() => got.length === 5, 3000, 10));
    srv.reset(`topic:${TENANT}:t`);
    srv.drop = (m) => m.offset === 1; // the first of the new epoch is lost
    srv.publish('t', 'a');
    srv.drop = () => false;
    srv.publish('t', 'b');
    srv.publish('t', 'c');
    assert.ok(await waitFor(() => c.recoveries.length === 1, 3000, 10), JSON.stringify({ got, r: c.recoveries }));
    await sleep(50);
    const { epoch } = srv.streams.get(`topic:${TENANT}:t`);
    assert.deepEqual(c.recoveries[0], { stream: `topic:${TENANT}:t`, recovered: false, epoch, offset: 3, topic: 't' });
    // reset to the new epoch: what came live of it (b, c; a was lost before the client
    // knew the epoch) in order, then what follows
    srv.publish('t', 'd');
    assert.ok(await waitFor(() => got.includes('d'), 3000, 10));
    await sleep(50);
    assert.deepEqual(got, [...range(1, 5), 'b', 'c', 'd']);
    assert.equal(c.positions[`topic:${TENANT}:t`].epoch, epoch);
  } finally {
    c.close();
    await srv.close();
  }
});

nodeTest('reconnect: subscribe with since, streams.recover with connections; direct messages and an async result of the old connection arrive once', async () => {
  const srv = await streamsServer();
  const c = client(srv, 'u1', { positionInterval: false, pollInterval: 60_000 });
  const direct = [];
  c.on('message', ({ message: m }) => { if (m.type === 'notice') direct.push(m.n); });
  let jobConn = null;
  let jobId = null;
  srv.onJob = (conn, msg) => {
    jobConn = conn;
    jobId = msg.id;
    srv.answer(conn, { type: 'acknowledgment', request_id: msg.id, status: 'queued' });
  };
  try {
    await c.connect();
    const got = [];
    await c.subscribe('t', (x) => got.push(x));
    const seen = [];
    const job = c.request('job', {}, { onAck: () => seen.push('ack'), onProgress: (p) => seen.push(p.percentage), timeout: 10_000 });
    for (let i = 1; i <= 20; i++) srv.publish('t', i);
    for (let i = 1; i <= 5; i++) srv.send('u1', { type: 'notice', n: i });
    assert.ok(await waitFor(() => got.length === 20 && direct.length === 5 && jobConn, 3000, 10));
    const oldId = jobConn.id;
    srv.send('u1', { type: 'progress', request_id: jobId, percentage: 30, message: 'p' }, oldId);
    await waitFor(() => seen.length === 2, 3000, 10);
    // The connection breaks; meanwhile the topic, the user and the old connection get messages.
    srv.kill(oldId);
    await waitFor(() => c.state !== 'open', 3000, 5);
    for (let i = 21; i <= 40; i++) srv.publish('t', i);
    for (let i = 6; i <= 8; i++) srv.send('u1', { type: 'notice', n: i });
    srv.send('u1', { type: 'progress', request_id: jobId, percentage: 60, message: 'p' }, oldId);
    srv.send('u1', { type: 'progress', request_id: jobId, percentage: 100, message: 'p' }, oldId);
    srv.send('u1', { type: 'complete', request_id: jobId, result: { done: 1 } }, oldId);
    srv.send('u1', { type: 'notice', n: 'other' }, 'conn-of-another-device');
    assert.deepEqual(await job, { done: 1 });
    assert.ok(await waitFor(() => got.length >= 40 && direct.length >= 8, 3000, 10));
    for (let i = 41; i <= 50; i++) srv.publish('t', i);
    srv.send('u1', { type: 'notice', n: 9 });
    assert.ok(await waitFor(() => got.length >= 50 && direct.length >= 9, 3000, 10));
    await sleep(50);
    assert.deepEqual(got, range(1, 50));
    assert.deepEqual(direct, range(1, 9));
    assert.deepEqual(seen, ['ack', 30, 60, 100]);
    const rec = srv.received.filter((r) => r.msg.action === 'streams.recover' && r.conn !== oldId);
    assert.equal(rec.length, 1);
    assert.deepEqual(rec[0].msg.payload.connections, [oldId]);
    assert.ok(rec[0].msg.payload.streams[`user:${TENANT}:u1`], JSON.stringify(rec[0].msg.payload));
    const resub = srv.received.filter((r) => r.msg.action === 'subscribe' && r.conn !== oldId);
    assert.deepEqual(resub[0].msg.payload.since, { epoch: srv.streams.get(`topic:${TENANT}:t`).epoch, offset: 20 });
    assert.deepEqual(c.recoveries, []);
  } finally {
    c.close();
    await srv.close();
  }
});

nodeTest('progress and complete through the user stream before the acknowledgment: ack, progress, complete, once each', async () => {
  const srv = await streamsServer({ hints: false });
  const c = client(srv, 'u1', { positionInterval: false });
  srv.onJob = (conn, msg) => {
    const id = msg.id;
    srv.send('u1', { type: 'progress', request_id: id, percentage: 50, message: 'half' }, conn.id);
    srv.drop = (m) => m.type === 'progress' && m.percentage === 100; // lost, fetched again
    srv.send('u1', { type: 'progress', request_id: id, percentage: 100, message: 'all' }, conn.id);
    srv.drop = () => false;
    const done = srv.send('u1', { type: 'complete', request_id: id, result: { id } }, conn.id);
    srv.push(conn, done); // twice
    srv.answer(conn, { type: 'acknowledgment', request_id: id, status: 'queued' });
  };
  try {
    await c.connect();
    await c.request('echo', 'synchronised'); // the first pushes would otherwise wait for the positions
    for (let k = 0; k < 3; k++) {
      const seen = [];
      const id = c.nextId();
      const res = await c.request('job', {}, { id, onAck: (a) => seen.push(a.implied ? 'ack*' : 'ack'), onProgress: (p) => seen.push(p.percentage), timeout: 5000 });
      assert.deepEqual(res, { id });
      assert.deepEqual(seen, ['ack*', 50, 100]);
    }
    assert.equal(c._pending.size, 0);
    assert.deepEqual(c.errors, []);
  } finally {
    c.close();
    await srv.close();
  }
});

nodeTest('server-side subscriptions: a named topic starts where the connect told, a pattern\'s stream at its first push (one that overtakes is kept); gaps are fetched; on(\'event\') and onTopic get each once', async () => {
  const srv = await streamsServer({ hints: false, claims: () => ['news', 'prices.*'] });
  const c = client(srv, 'u1', { positionInterval: false });
  const told = [];
  const events = [];
  const byPattern = [];
  const byName = [];
  c.on('subscriptions', (d) => told.push(d));
  c.on('event', (ev) => events.push(`${ev.topic}:${ev.data}`));
  c.onTopic('prices.*', (data, ev) => byPattern.push(`${ev.topic}:${data}`));
  c.onTopic('news', (data) => byName.push(data));
  c.onTopic('*', (data) => byName.push(data)); // the same handler twice: once per event
  c.offTopic('*');
  try {
    for (let i = 1; i <= 3; i++) srv.publish('news', i); // before the connect: not for this client
    for (let i = 1; i <= 2; i++) srv.publish('prices.eur', i);
    await c.connect();
    assert.ok(await waitFor(() => told.length === 1, 3000, 5));
    assert.deepEqual(told[0].topics.map((t) => t.topic), ['news', 'prices.*']);
    assert.deepEqual(c.serverTopics, ['news', 'prices.*']);
    assert.deepEqual(c.positions[`topic:${TENANT}:news`], { epoch: srv.streams.get(`topic:${TENANT}:news`).epoch, offset: 3 });
    await c.request('echo', 'synchronised');
    const conn = [...srv.conns.values()][0];
    // prices.eur 3 and 4 reach the client in the wrong order; 6 is lost
    srv.drop = (m) => m.stream === `topic:${TENANT}:prices.eur` && (m.offset === 3 || m.offset === 6);
    const m3 = srv.publish('prices.eur', 3);
    srv.publish('prices.eur', 4);
    srv.push(conn, m3);
    srv.publish('news', 4);
    srv.drop = (m) => m.stream === `topic:${TENANT}:news` && m.offset === 5;
    srv.publish('news', 5);
    srv.drop = (m) => m.stream === `topic:${TENANT}:prices.eur` && m.offset === 6;
    for (let i = 5; i <= 7; i++) srv.publish('prices.eur', i);
    srv.drop = () => false;
    srv.publish('news', 6);
    srv.publish('prices', 'no'); // prices.* does not cover prices
    srv.publish('other', 'no');
    assert.ok(await waitFor(() => events.length >= 8, 3000, 5), JSON.stringify(events));
    await sleep(50);
    assert.deepEqual(events.filter((e) => e.startsWith('news:')), ['news:4', 'news:5', 'news:6']);
    assert.deepEqual(events.filter((e) => !e.startsWith('news:')), range(3, 7).map((i) => `prices.eur:${i}`));
    assert.deepEqual(byPattern, range(3, 7).map((i) => `prices.eur:${i}`));
    assert.deepEqual(byName, [4, 5, 6]);
    assert.deepEqual(c.positions[`topic:${TENANT}:prices.eur`].offset, 7);
    assert.ok(!srv.received.some((r) => r.msg.action === 'subscribe'), 'the server subscribed by itself');
    assert.deepEqual(c.errors, []);
    assert.deepEqual(c.recoveries, []);
  } finally {
    c.close();
    await srv.close();
  }
});

nodeTest('server-side subscriptions across reconnects: recovered with the client\'s streams; when the claim is gone, a subscribe() that relied on it subscribes by itself', async () => {
  for (const toldLate of [false, true]) await serverSideReconnects(toldLate);
});

async function serverSideReconnects(toldLate) {
  let claim = ['news', 'prices.*'];
  const srv = await streamsServer({ claims: () => claim, toldLate });
  const c = client(srv, 'u1', { positionInterval: false });
  const told = [];
  const news = [];
  const prices = [];
  c.on('subscriptions', (d) => told.push(d.topics.map((t) => t.topic)));
  c.onTopic('prices.*', (data) => prices.push(data));
  try {
    await c.connect();
    assert.ok(await waitFor(() => told.length === 1, 3000, 5)); // (a browser may see the open first)
    assert.deepEqual(await c.subscribe('news', (x) => news.push(x)), { topic: 'news', subscribed: true, server_side: true });
    assert.deepEqual(c.topics, ['news']);
    srv.publish('news', 1);
    srv.publish('prices.eur', 1);
    assert.ok(await waitFor(() => news.length === 1 && prices.length === 1, 3000, 5));
    // The connection breaks; both streams move meanwhile.
    const firstConn = [...srv.conns.keys()][0];
    srv.kill(firstConn);
    await waitFor(() => c.state !== 'open', 3000, 5);
    for (let i = 2; i <= 5; i++) {
      srv.publish('news', i);
      srv.publish('prices.eur', i);
    }
    assert.ok(await waitFor(() => news.length === 5 && prices.length === 5, 3000, 5), JSON.stringify({ news, prices }));
    assert.deepEqual(told, [['news', 'prices.*'], ['news', 'prices.*']]);
    // one streams.recover names them (with the user's streams, or on its own once told after the open)
    const rec = srv.received.filter((r) => r.conn !== firstConn && r.msg.action === 'streams.recover' && r.msg.payload.streams[`topic:${TENANT}:news`]);
    assert.equal(rec.length, 1, `toldLate ${toldLate}`);
    assert.equal(rec[0].msg.payload.streams[`topic:${TENANT}:news`].offset, 1);
    assert.equal(rec[0].msg.payload.streams[`topic:${TENANT}:prices.eur`].offset, 1);
    assert.ok(!srv.received.some((r) => r.msg.action === 'subscribe'));
    // The next token has no topics claim: no subscriptions message, news is subscribed by the client.
    claim = [];
    srv.kill([...srv.conns.keys()][0]);
    await waitFor(() => c.state !== 'open', 3000, 5);
    srv.publish('news', 6);
    srv.publish('prices.eur', 6);
    assert.ok(await waitFor(() => told.length === 3, 3000, 5));
    assert.deepEqual(told[2], []);
    assert.deepEqual(c.serverTopics, []);
    const sub = await waitFor(() => srv.received.find((r) => r.msg.action === 'subscribe'), 3000, 5);
    assert.deepEqual(sub.msg.payload, { topic: 'news', since: { epoch: srv.streams.get(`topic:${TENANT}:news`).epoch, offset: 5 } });
    srv.publish('news', 7);
    srv.publish('prices.eur', 7);
    assert.ok(await waitFor(() => news.length === 7, 3000, 5), JSON.stringify(news));
    await sleep(50);
    assert.deepEqual(news, range(1, 7));
    assert.deepEqual(prices, range(1, 5), 'prices.* is no longer subscribed');
    assert.equal(c.positions[`topic:${TENANT}:prices.eur`], undefined, 'its stream is no longer followed');
    assert.deepEqual(c.recoveries, []);
    assert.deepEqual(c.errors, []);
  } finally {
    c.close();
    await srv.close();
  }
}

nodeTest('presence events: emitted (presence, join/leave) only for the topics subscribed with presence, not numbered; asked again after a reconnect', async () => {
  const srv = await streamsServer({ hints: false });
  const c = client(srv, 'u1', { positionInterval: false });
  const seen = [];
  for (const type of ['presence', 'join', 'leave']) c.on(type, (p) => seen.push(`${type}:${p.topic}:${p.user_id}`));
  const got = [];
  try {
    await c.connect();
    const ans = await c.subscribe('room', (x) => got.push(x), { presence: true });
    assert.equal(ans.presence, true);
    await c.subscribe('plain', (x) => got.push(x));
    const conn = () => [...srv.conns.values()][0];
    const ev = (topic, event, user) => ({ type: 'presence', topic, event, user_id: user, connections: 1, timestamp: new Date().toISOString() });
    srv.push(conn(), ev('room', 'join', 'bob'));
    srv.push(conn(), ev('plain', 'join', 'bob')); // not asked for
    srv.push(conn(), ev('room', 'leave', 'bob'));
    srv.publish('room', 'x');
    assert.ok(await waitFor(() => got.length === 1, 3000, 5));
    await sleep(20);
    assert.deepEqual(seen, ['presence:room:bob', 'join:room:bob', 'presence:room:bob', 'leave:room:bob']);
    assert.deepEqual(Object.keys(c.positions).sort(), [`topic:${TENANT}:plain`, `topic:${TENANT}:room`]);
    srv.kill(conn().id);
    await waitFor(() => c.state !== 'open', 3000, 5);
    await waitFor(() => c.state === 'open', 3000, 5);
    const again = await waitFor(() => srv.received.filter((r) => r.msg.action === 'subscribe' && r.conn === conn()?.id).length === 2 &&
      srv.received.filter((r) => r.msg.action === 'subscribe' && r.conn === conn().id), 3000, 5);
    assert.deepEqual(again.map((r) => [r.msg.payload.topic, r.msg.payload.presence]).sort(), [['plain', undefined], ['room', true]]);
    // presence asked on a subscribed topic: one more subscribe; unsubscribe ends it
    await c.subscribe('plain', null, { presence: true });
    srv.push(conn(), ev('plain', 'join', 'eve'));
    await c.unsubscribe('room');
    srv.push(conn(), ev('room', 'join', 'eve'));
    await c.request('echo', 'after');
    await sleep(20);
    assert.deepEqual(seen.slice(4), ['presence:plain:eve', 'join:plain:eve']);
  } finally {
    c.close();
    await srv.close();
  }
});

// ---- through the real stack ---------------------------------------------------

const skip = missingPrograms('lighttpd') || (FLOOR && 'needs streamer-fcgi');
let stack;
const test = stackTest(nodeTest, () => stack);
let numbered = false;
const clients = new Set();

before(async () => {
  if (skip) return;
  stack = await startStack({ STREAMER_RATE_LIMIT: '2000', STREAMER_RATE_BURST: '500' });
  // Does this server number its pushes? (streams.recover is its action)
  const c = await sdk();
  numbered = await c.request('streams.recover', { streams: {} }).then(() => true, () => false);
  done(c);
});

after(async () => {
  for (const c of clients) c.close();
  if (stack) await stack.stop();
});

function sdk(tokenOpts = {}, opts = {}) {
  return sdkClient(StreamerClient, stack, clients, {
    tokenOpts,
    opts: { reconnect: { initialDelay: 50, maxDelay: 500 }, requestTimeout: 60_000, ...opts },
    prefix: 'st',
    setup: countDelivery,
  });
}

function done(c) {
  c.close();
  clients.delete(c);
}

const notNumbered = () => !numbered && 'the server does not number its pushes yet (no streams.recover)';

test('a flood of 4 KB events through Pushpin to an SDK subscriber that also sends: each exactly once, in order', { skip }, async (t) => {
  if (notNumbered()) return t.skip(notNumbered());
  const topic = uniq('flood').replace(/-/g, '.');
  const pub = await sdk({ permissions: 'publish' });
  const sub = await sdk();
  const got = [];
  await sub.subscribe(topic, (d) => got.push(d.n));
  const pad = 'x'.repeat(4096);
  const n = 2000;
  const sending = Promise.all(Array.from({ length: 200 }, (_, i) => sub.request('echo', { i })));
  await Promise.all(Array.from({ length: n }, (_, i) => pub.publish(topic, { n: i + 1, pad })));
  await sending;
  assert.ok(await waitFor(() => got.length >= n, 30_000, 50), `${got.length} of ${n}`);
  await sleep(200);
  assert.deepEqual(got, range(1, n));
  assert.deepEqual(sub.recoveries, []);
  console.log(`# ${n} events of 4 KB: ${sub.live} live, ${sub.recovered} from the history`);
  done(pub);
  done(sub);
});

test('the subscriber closes its WebSocket mid-flood: after the reconnect nothing is lost or seen twice', { skip }, async (t) => {
  if (notNumbered()) return t.skip(notNumbered());
  const topic = uniq('rc').replace(/-/g, '.');
  const pub = await sdk({ permissions: 'publish' });
  const sub = await sdk();
  const got = [];
  let opens = 0;
  sub.on('open', () => { opens += 1; });
  await sub.subscribe(topic, (d) => got.push(d.n));
  const n = 1500;
  const publishing = (async () => {
    for (let i = 1; i <= n; i += 50) {
      await Promise.all(range(i, Math.min(n, i + 49)).map((k) => pub.publish(topic, { n: k, pad: 'y'.repeat(1024) })));
      if (i === 501 || i === 1001) { // twice, mid-flood, each time on an open connection
        await waitFor(() => sub.state === 'open', 10_000, 5);
        sub._ws.close(4000, 'test: the client closes');
      }
    }
  })();
  await publishing;
  assert.ok(await waitFor(() => got.length >= n, 30_000, 50), `${got.length} of ${n}`);
  await sleep(200);
  assert.equal(opens, 2, 'the two closes did not both reconnect');
  assert.deepEqual(got, range(1, n));
  assert.deepEqual(sub.recoveries, []);
  assert.ok(sub.recovered > 0, 'nothing came from the history: did the closes lose nothing?');
  console.log(`# ${n} events across 2 client-side closes: ${sub.live} live, ${sub.recovered} from the history`);
  done(pub);
  done(sub);
});

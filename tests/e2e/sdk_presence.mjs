// sdk_presence.mjs - www/streamer.js's presence and server-side subscriptions (issue 18) through the real stack: join/leave events and presence() between SDK clients (and after a reconnect), a token's topics claim delivering events to on('event') and onTopic without a subscribe (names and patterns), what a reconnect loses of those topics recovered once, in order, also under STREAMER_TOPIC_POLICY=claims.
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startStack, missingPrograms, sleep, uniq, waitFor, stackTest, FLOOR, sdkModule, sdkClient, countDelivery,
} from './lib.mjs';

const { StreamerClient } = await sdkModule();

const skip = missingPrograms('lighttpd') || (FLOOR && 'needs streamer-fcgi');
let stack;
const test = stackTest(nodeTest, () => stack);
const clients = new Set();

before(async () => {
  if (skip) return;
  stack = await startStack({ STREAMER_RATE_LIMIT: '2000', STREAMER_RATE_BURST: '500' });
});

after(async () => {
  for (const c of clients) c.close();
  if (stack) await stack.stop();
});

// A connected SDK client that records what it is told: c.got[type] for the
// presence, join, leave, event and subscriptions events, c.sent (the requests it sent).
function sdk(tokenOpts = {}, opts = {}) {
  return sdkClient(StreamerClient, stack, clients, {
    tokenOpts,
    opts: { requestTimeout: 30_000, ...opts },
    prefix: 'pr',
    setup: (c) => {
      countDelivery(c);
      c.got = {};
      for (const type of ['presence', 'join', 'leave', 'event', 'subscriptions']) {
        c.got[type] = [];
        c.on(type, (d) => c.got[type].push(d));
      }
      c.sent = [];
      c.on('sent', ({ message }) => c.sent.push(message));
      c.answered = new Set(); // ids of the requests answered
      c.on('message', ({ message: m }) => { if (m.type === 'response') c.answered.add(m.request_id); });
      c.opens = 0;
      c.on('open', () => { c.opens += 1; });
    },
  });
}

function done(c) {
  c.close();
  clients.delete(c);
}

// A topic name of this run (topic names are [A-Za-z0-9._:-]).
const topicName = (p) => uniq(p).replace(/-/g, '_');

// The user id of an SDK client.
const userOf = async (c) => (await c.request('whoami')).user_id;

// Closes c's connection from the server side (`streamer close`); c reconnects.
async function kick(c) {
  const { connection_id: id } = await c.request('whoami');
  const r = await stack.cliRun(['close', id, '--code', '4001', '--reason', 'kicked by the test']);
  assert.equal(r.status, 0, r.stderr);
}

// Waits for an event of c's list type that passes pred; returns it.
async function gotWhere(c, type, pred, ms = 10_000) {
  let hit;
  const ok = await waitFor(() => (hit = c.got[type].find(pred)), ms, 20);
  assert.ok(ok, `no ${type} event as expected: ${JSON.stringify(c.got[type])}`);
  return hit;
}

test('presence: join and leave events with the user id, presence() and presenceCount() list both users', { skip }, async () => {
  const topic = topicName('room');
  const a = await sdk();
  const b = await sdk();
  const [ua, ub] = await Promise.all([userOf(a), userOf(b)]);
  const ans = await a.subscribe(topic, () => {}, { presence: true });
  assert.equal(ans.presence, true, JSON.stringify(ans));
  assert.deepEqual(a.sent.find((m) => m.action === 'subscribe').payload, { topic, presence: true });

  await b.subscribe(topic, () => {});
  const join = await gotWhere(a, 'join', (p) => p.user_id === ub);
  assert.equal(join.type, 'presence');
  assert.equal(join.topic, topic);
  assert.equal(join.event, 'join');
  assert.equal(join.connections, 1);
  assert.match(join.timestamp, /^\d{4}-\d\d-\d\dT/);
  assert.ok(a.got.presence.includes(join), 'a join is a presence event too');
  assert.equal(join.stream, undefined, 'presence events are not numbered');
  assert.deepEqual(b.got.presence, [], 'b did not ask for presence');

  const p = await a.presence(topic);
  assert.equal(p.topic, topic);
  assert.deepEqual(p.users.map((u) => u.user_id).sort(), [ua, ub].sort());
  assert.ok(p.users.every((u) => u.connections === 1), JSON.stringify(p));
  assert.deepEqual(p.count, { users: 2, connections: 2 });
  assert.equal(p.truncated, false);
  assert.deepEqual(await b.presenceCount(topic), { topic, users: 2, connections: 2 });

  await b.unsubscribe(topic);
  const leave = await gotWhere(a, 'leave', (x) => x.user_id === ub);
  assert.deepEqual([leave.event, leave.topic, leave.connections], ['leave', topic, 0]);
  assert.deepEqual(await a.presenceCount(topic), { topic, users: 1, connections: 1 });

  // b's connection ends (the client closes): a leave too
  await b.subscribe(topic);
  await gotWhere(a, 'join', (x) => x.user_id === ub && x !== join);
  done(b);
  await waitFor(() => a.got.leave.filter((x) => x.user_id === ub).length >= 2, 10_000, 20);
  assert.equal(a.got.leave.filter((x) => x.user_id === ub).length, 2, JSON.stringify(a.got.leave));
  assert.deepEqual(a.got.presence.filter((x) => x.user_id === ub).map((x) => x.event), ['join', 'leave', 'join', 'leave']);
  assert.deepEqual(a.got.event, [], 'presence events are not topic events');
  done(a);
});

test('presence: asked on a subscribed topic it is added; after a reconnect it is asked again; unsubscribe stops it', { skip }, async () => {
  const topic = topicName('lobby');
  const a = await sdk({}, { reconnect: { initialDelay: 50, maxDelay: 200 } });
  const got = [];
  await a.subscribe(topic, (d) => got.push(d));
  const ans = await a.subscribe(topic, undefined, { presence: true });
  assert.equal(ans.presence, true, JSON.stringify(ans));
  assert.equal(a.sent.filter((m) => m.action === 'subscribe').length, 2);

  await kick(a);
  await waitFor(() => a.opens >= 2 && a.state === 'open', 10_000, 20);
  const resub = await waitFor(() => a.sent.filter((m) => m.action === 'subscribe')[2], 10_000, 20);
  assert.equal(resub.payload.presence, true, JSON.stringify(resub));
  assert.ok(resub.payload.since, 'resubscribed from its position');
  assert.ok(await waitFor(() => a.answered.has(resub.id), 10_000, 20), 'the resubscription was not answered');

  const b = await sdk();
  const ub = await userOf(b);
  await b.subscribe(topic);
  await gotWhere(a, 'join', (x) => x.user_id === ub);
  const pub = await sdk({ permissions: 'publish' });
  await pub.publish(topic, { n: 1 });
  assert.ok(await waitFor(() => got.length === 1, 10_000, 20));

  await a.unsubscribe(topic);
  const n = a.got.presence.length;
  done(b);
  await sleep(500);
  assert.equal(a.got.presence.length, n, 'a presence event after unsubscribe');
  done(a);
  done(pub);
});

test('a topics claim: its events reach on(\'event\') and onTopic without a subscribe, names and patterns (prices.* covers prices.eur)', { skip }, async () => {
  const news = topicName('news');
  const prices = topicName('prices');
  const c = await sdk({ topics: `${news},${prices}.*` });
  await gotWhere(c, 'subscriptions', () => true);
  const told = c.got.subscriptions[0].topics;
  assert.deepEqual(told.map((t) => t.topic), [news, `${prices}.*`]);
  assert.equal(told[0].stream, `topic:acme:${news}`);
  assert.equal(told[1].pattern, true);
  assert.deepEqual(c.serverTopics, [news, `${prices}.*`]);
  assert.deepEqual(c.topics, [], 'no subscribe() was made');

  const byPattern = [];
  const byName = [];
  const all = [];
  c.onTopic(`${prices}.*`, (data, ev) => byPattern.push([ev.topic, data.n]));
  c.onTopic(news, (data) => byName.push(data.n));
  c.onTopic('*', (data) => all.push(data.n));
  const pub = await sdk({ permissions: 'publish' });
  await pub.publish(news, { n: 1 });
  await pub.publish(`${prices}.eur`, { n: 2 });
  await pub.publish(prices, { n: 3 }); // not covered: prices.* needs more after the dot
  await pub.publish(topicName('other'), { n: 4 });
  await pub.publish(`${prices}.usd.spot`, { n: 5 });
  assert.ok(await waitFor(() => c.got.event.length >= 3, 10_000, 20), JSON.stringify(c.got.event));
  await sleep(300);
  // (pushes of different topics may overtake one another)
  const byN = (x, y) => x[1] - y[1];
  assert.deepEqual(c.got.event.map((e) => [e.topic, e.data.n]).sort(byN), [[news, 1], [`${prices}.eur`, 2], [`${prices}.usd.spot`, 5]]);
  assert.deepEqual(byPattern.sort(byN), [[`${prices}.eur`, 2], [`${prices}.usd.spot`, 5]]);
  assert.deepEqual(byName, [1]);
  assert.deepEqual(all.sort(), [1, 2, 5]);
  const pos = c.positions;
  assert.equal(pos[`topic:acme:${news}`].offset, 1);
  assert.equal(pos[`topic:acme:${prices}.eur`].offset, 1, JSON.stringify(pos));

  // subscribe() on a server-side topic adds the handler, without a request
  const h = [];
  const before = c.sent.filter((m) => m.action === 'subscribe').length;
  const ans = await c.subscribe(news, (d) => h.push(d.n));
  assert.deepEqual(ans, { topic: news, subscribed: true, server_side: true });
  assert.equal(c.sent.filter((m) => m.action === 'subscribe').length, before);
  await pub.publish(news, { n: 6 });
  assert.ok(await waitFor(() => h.length === 1, 10_000, 20));
  assert.deepEqual(byName, [1, 6]);
  // its unsubscribe removes the handler, not the server's subscription
  assert.deepEqual(await c.unsubscribe(news), { topic: news, subscribed: true, server_side: true });
  assert.ok(!c.sent.some((m) => m.action === 'unsubscribe'), 'an unsubscribe went to the server');
  c.offTopic(news);
  await pub.publish(news, { n: 7 });
  assert.ok(await waitFor(() => c.got.event.some((e) => e.data.n === 7), 10_000, 20));
  assert.deepEqual(h, [6]);
  assert.deepEqual(byName, [1, 6]);
  // subscribed by name to a topic a pattern covers too: each event once
  await c.subscribe(`${prices}.gbp`, () => {});
  await pub.publish(`${prices}.gbp`, { n: 8 });
  await pub.publish(`${prices}.gbp`, { n: 9 });
  assert.ok(await waitFor(() => c.got.event.some((e) => e.data.n === 9), 10_000, 20));
  await sleep(300);
  assert.deepEqual(c.got.event.filter((e) => e.topic === `${prices}.gbp`).map((e) => e.data.n), [8, 9]);
  assert.deepEqual(c.recoveries, []);
  done(c);
  done(pub);
});

test('server-side topics across a reconnect: a fresh subscriptions message; what was published meanwhile arrives once, in order (names and pattern-matched streams)', { skip }, async () => {
  const news = topicName('news');
  const prices = topicName('prices');
  // A slow reconnect (1 to 2 s): what is published while it waits comes from the history.
  const c = await sdk({ topics: `${news},${prices}.*` }, { reconnect: { initialDelay: 2000, maxDelay: 2000 } });
  const pub = await sdk({ permissions: 'publish' });
  const got = [];
  c.on('event', (ev) => got.push([ev.topic, ev.data.n]));
  await pub.publish(news, { n: 0 });
  await pub.publish(`${prices}.eur`, { n: 0 });
  assert.ok(await waitFor(() => got.length === 2, 10_000, 20));

  await kick(c);
  await waitFor(() => c.state !== 'open', 10_000, 5);
  const mark = c.sent.length;
  for (let n = 1; n <= 10; n++) {
    await Promise.all([pub.publish(news, { n }), pub.publish(`${prices}.eur`, { n })]);
  }
  assert.ok(await waitFor(() => c.opens === 2 && c.got.subscriptions.length === 2, 15_000, 20), `opens ${c.opens}`);
  for (let n = 11; n <= 15; n++) {
    await Promise.all([pub.publish(news, { n }), pub.publish(`${prices}.eur`, { n })]);
  }
  assert.ok(await waitFor(() => got.length >= 32, 15_000, 20), `${got.length} of 32`);
  await sleep(300);
  const range = Array.from({ length: 16 }, (_, i) => i);
  assert.deepEqual(got.filter(([t]) => t === news).map(([, n]) => n), range);
  assert.deepEqual(got.filter(([t]) => t === `${prices}.eur`).map(([, n]) => n), range);
  assert.ok(c.recovered > 0, 'nothing came from the history: was nothing published while it was away?');
  console.log(`# 32 events across a reconnect: ${c.live} live, ${c.recovered} from the history`);
  assert.deepEqual(c.recoveries, []);
  assert.deepEqual(c.got.subscriptions[1].topics.map((t) => t.topic), [news, `${prices}.*`]);
  // the reconnect asked for both streams from where they stood
  const rec = c.sent.slice(mark).filter((m) => m.action === 'streams.recover' && m.payload.streams[`topic:acme:${news}`]);
  assert.ok(rec.length >= 1, JSON.stringify(c.sent.slice(mark)));
  assert.deepEqual(rec[0].payload.streams[`topic:acme:${news}`].offset, 1);
  assert.deepEqual(rec[0].payload.streams[`topic:acme:${prices}.eur`].offset, 1);
  assert.ok(!c.sent.some((m) => m.action === 'subscribe'), 'the server subscribes by itself');
  done(c);
  done(pub);
});

test('STREAMER_TOPIC_POLICY=claims: the SDK recovers its server-side topics across a reconnect, presence() works on them, an unlisted topic is refused and not remembered', { skip }, async () => {
  const strict = await startStack({ STREAMER_TOPIC_POLICY: 'claims', STREAMER_RATE_LIMIT: '2000', STREAMER_RATE_BURST: '500' });
  const own = new Set();
  try {
    const news = topicName('news');
    const prices = topicName('prices');
    const mk = (tokenOpts, opts = {}) => sdkClient(StreamerClient, strict, own, {
      tokenOpts, prefix: 'cl', opts: { requestTimeout: 30_000, ...opts }, setup: countDelivery,
    });
    const c = await mk({ topics: `${news},${prices}.*` }, { reconnect: { initialDelay: 1000, maxDelay: 1000 } });
    const pub = await mk({ permissions: 'publish', publishTopics: `${news},${prices}.*` });
    const got = [];
    c.on('event', (ev) => got.push([ev.topic, ev.data.n]));
    await pub.publish(news, { n: 0 });
    await pub.publish(`${prices}.eur`, { n: 0 });
    assert.ok(await waitFor(() => got.length === 2, 10_000, 20));
    await assert.rejects(c.subscribe(topicName('secret'), () => {}), { code: 'FORBIDDEN' });
    assert.deepEqual(c.topics, [], 'a refused subscription is not remembered');
    assert.deepEqual(await c.subscribe(news, () => {}, { presence: true }).then((a) => a.presence), true);
    const p = await c.presence(news);
    assert.equal(p.count.users, 1, JSON.stringify(p));
    await assert.rejects(c.presence(topicName('secret')), { code: 'FORBIDDEN' });

    const errors = [];
    c.on('error', (d) => errors.push(d));
    const { connection_id: id } = await c.request('whoami');
    const r = await strict.cliRun(['close', id, '--code', '4001', '--reason', 'kicked by the test']);
    assert.equal(r.status, 0, r.stderr);
    await waitFor(() => c.state !== 'open', 10_000, 5);
    for (let n = 1; n <= 5; n++) await Promise.all([pub.publish(news, { n }), pub.publish(`${prices}.eur`, { n })]);
    assert.ok(await waitFor(() => got.length >= 12, 15_000, 20), `${got.length} of 12`);
    await sleep(300);
    const range = [0, 1, 2, 3, 4, 5];
    assert.deepEqual(got.filter(([t]) => t === news).map(([, n]) => n), range);
    assert.deepEqual(got.filter(([t]) => t === `${prices}.eur`).map(([, n]) => n), range);
    assert.ok(c.recovered > 0, 'nothing came from the history');
    assert.deepEqual(errors, [], 'a recovery call was refused');
    assert.deepEqual(c.recoveries, []);
  } finally {
    for (const x of own) x.close();
    await strict.stop();
  }
});

// push.mjs - the push path end to end: streamer send/broadcast/close and the topic actions through Pushpin's publish API; several callback nodes; retries and the circuit breaker against a failing callback; the apigw style against an @connections double.
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startStack, missingPrograms, connect, connectAll, sleep, uniq, waitFor, stackTest, FLOOR, freePorts,
} from './lib.mjs';
import { ApiGatewayDouble, PublishDouble } from './doubles.mjs';

const skip = missingPrograms('lighttpd') || (FLOOR && 'needs streamer-fcgi');
let stack;
const test = stackTest(nodeTest, () => stack);

before(async () => {
  if (skip) return;
  stack = await startStack();
});

after(async () => {
  if (stack) await stack.stop();
});

async function whoami(c) {
  c.send({ action: 'whoami', id: 'who' });
  const m = await c.nextJson();
  assert.equal(m.type, 'response', JSON.stringify(m));
  return m.data.connection_id;
}

// Resolves with the next message, or null when none comes within ms.
async function maybeNext(c, ms = 400) {
  try {
    return await c.nextJson(ms);
  } catch {
    return null;
  }
}

// A pushed message without its stream position (checked here: every push has one).
function unnumbered(m) {
  const { stream, offset, epoch, ...rest } = m;
  assert.match(stream, /^(user|tenant|topic):/, JSON.stringify(m));
  assert.ok(Number.isInteger(offset) && offset > 0, JSON.stringify(m));
  assert.match(epoch, /^[0-9a-f]{16}$/, JSON.stringify(m));
  return rest;
}

async function request(c, action, payload, id = uniq('r')) {
  c.send({ action, id, payload });
  for (;;) {
    const m = await c.nextJson();
    if (m.request_id === id) return m;
  }
}

test('streamer send --connection reaches exactly that connection', { skip }, async () => {
  const a = await connect(stack, { sub: uniq('s1') });
  const b = await connect(stack, { sub: uniq('s1') });
  const id = await whoami(a);
  await whoami(b);
  const r = await stack.cliRun(['send', '--connection', id, '{"type":"notice","text":"hello"}']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /sent to connection/);
  assert.deepEqual(unnumbered(await a.nextJson()), { type: 'notice', text: 'hello' });
  assert.equal(await maybeNext(b), null);
  const bad = await stack.cliRun(['send', '--connection', 'no-such-connection', '{}']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /no live connection no-such-connection/);
  const notJson = await stack.cliRun(['send', '--connection', id, '{oops']);
  assert.equal(notJson.status, 1);
  assert.match(notJson.stderr, /not JSON/);
  await a.close();
  await b.close();
});

test('streamer send --user reaches all 3 of the user\'s connections and nobody else', { skip }, async () => {
  const user = uniq('u3');
  const mine = await connectAll(stack, [1, 2, 3].map(() => ({ sub: user, tenant: 'acme' })));
  const other = await connect(stack, { sub: uniq('other'), tenant: 'acme' });
  const sameNameElsewhere = await connect(stack, { sub: user, tenant: 'globex' });
  for (const c of [...mine, other, sameNameElsewhere]) await whoami(c);
  const r = await stack.cliRun(['send', '--user', user, '--tenant', 'acme', '{"type":"notice","n":1}']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /sent to 3 connections/);
  for (const c of mine) assert.deepEqual(unnumbered(await c.nextJson()), { type: 'notice', n: 1 });
  assert.equal(await maybeNext(other), null);
  assert.equal(await maybeNext(sameNameElsewhere), null);
  const none = await stack.cliRun(['send', '--user', uniq('nobody'), '--tenant', 'acme', '{}']);
  assert.equal(none.status, 1);
  assert.match(none.stderr, /no live connection/);
  for (const c of [...mine, other, sameNameElsewhere]) await c.close();
});

test('streamer broadcast --tenant reaches exactly that tenant\'s clients', { skip }, async () => {
  const t = `bt${process.pid}`;
  const ins = await connectAll(stack, [1, 2].map(() => ({ sub: uniq('b'), tenant: t })));
  const out = await connect(stack, { sub: uniq('b'), tenant: `${t}x` });
  for (const c of [...ins, out]) await whoami(c);
  const r = await stack.cliRun(['broadcast', '--tenant', t, '{"type":"announcement","text":"maintenance"}']);
  assert.equal(r.status, 0, r.stderr);
  for (const c of ins) assert.deepEqual(unnumbered(await c.nextJson()), { type: 'announcement', text: 'maintenance' });
  assert.equal(await maybeNext(out), null);
  for (const c of [...ins, out]) await c.close();
});

test('topics: subscribe, publish, unsubscribe stops delivery; publish needs the permission', { skip }, async () => {
  const pub = await connect(stack, { sub: uniq('p'), permissions: 'publish' });
  const sub = await connect(stack, { sub: uniq('q') });
  const bystander = await connect(stack, { sub: uniq('q') });
  let m = await request(sub, 'subscribe', { topic: 'prices.eu' });
  assert.equal(m.type, 'response', JSON.stringify(m));
  assert.deepEqual([m.data.topic, m.data.subscribed, m.data.stream], ['prices.eu', true, 'topic:acme:prices.eu']);
  m = await request(pub, 'publish', { topic: 'prices.eu', data: { eur: 1.08 } }, 'pub1');
  assert.equal(m.type, 'response', JSON.stringify(m));
  assert.equal(m.data.published, true);
  const ev = await sub.nextJson();
  assert.equal(ev.type, 'event');
  assert.equal(ev.topic, 'prices.eu');
  assert.deepEqual(ev.data, { eur: 1.08 });
  assert.match(ev.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(await maybeNext(bystander), null);

  // the CLI publishes to the same topic the same way
  const r = await stack.cliRun(['broadcast', '--tenant', 'acme', '--topic', 'prices.eu', '{"eur":1.09}']);
  assert.equal(r.status, 0, r.stderr);
  const ev2 = await sub.nextJson();
  assert.equal(ev2.type, 'event');
  assert.deepEqual(ev2.data, { eur: 1.09 });

  // the store knows the subscription; unsubscribe removes it and stops delivery
  m = await request(sub, 'unsubscribe', { topic: 'prices.eu' });
  assert.equal(m.data.subscribed, false);
  m = await request(pub, 'publish', { topic: 'prices.eu', data: 2 });
  assert.equal(m.type, 'response');
  assert.equal(await maybeNext(sub), null);

  // without the publish permission
  m = await request(sub, 'publish', { topic: 'prices.eu', data: 3 });
  assert.equal(m.type, 'error');
  assert.equal(m.error.code, 'FORBIDDEN');
  // bad topic names
  m = await request(sub, 'subscribe', { topic: 'has space' });
  assert.equal(m.error.code, 'VALIDATION_ERROR');
  m = await request(sub, 'subscribe', { topic: 'x'.repeat(129) });
  assert.equal(m.error.code, 'VALIDATION_ERROR');
  for (const c of [pub, sub, bystander]) await c.close();
});

test('a client of tenant B subscribing to tenant A\'s topic name receives nothing of A', { skip }, async () => {
  const aPub = await connect(stack, { sub: uniq('a'), tenant: 'acme', permissions: 'publish' });
  const aSub = await connect(stack, { sub: uniq('a'), tenant: 'acme' });
  const bSub = await connect(stack, { sub: uniq('b'), tenant: 'globex' });
  const bPub = await connect(stack, { sub: uniq('b'), tenant: 'globex', permissions: 'publish' });
  for (const c of [aSub, bSub]) assert.equal((await request(c, 'subscribe', { topic: 'secret' })).type, 'response');
  // even a topic spelled like another tenant's channel stays inside B
  assert.equal((await request(bSub, 'subscribe', { topic: 'acme:secret' })).type, 'response');
  await request(aPub, 'publish', { topic: 'secret', data: 'for acme only' });
  const got = await aSub.nextJson();
  assert.equal(got.data, 'for acme only');
  assert.equal(await maybeNext(bSub), null, 'tenant B received tenant A\'s publish');
  await request(bPub, 'publish', { topic: 'secret', data: 'for globex' });
  assert.equal((await bSub.nextJson()).data, 'for globex');
  assert.equal(await maybeNext(aSub), null, 'tenant A received tenant B\'s publish');
  for (const c of [aPub, aSub, bSub, bPub]) await c.close();
});

test('the 19th topic is a VALIDATION_ERROR, not a silent drop; a disconnect removes the subscriptions', { skip }, async () => {
  const c = await connect(stack, { sub: uniq('lim') });
  const id = await whoami(c);
  for (let i = 0; i < 18; i++) {
    const m = await request(c, 'subscribe', { topic: `t${i}` });
    assert.equal(m.type, 'response', `topic ${i}: ${JSON.stringify(m)}`);
  }
  const m = await request(c, 'subscribe', { topic: 't18' });
  assert.equal(m.type, 'error');
  assert.equal(m.error.code, 'VALIDATION_ERROR');
  assert.match(m.error.message, /at most 18 topics/);
  // the 18th subscription still works (Pushpin took all of them)
  const r = await stack.cliRun(['broadcast', '--tenant', 'acme', '--topic', 't17', '"still here"']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal((await c.nextJson()).data, 'still here');
  const count = () => Number(stack.rows(`SELECT count(*) AS n FROM subscriptions WHERE connection_id = '${id}'`)[0].n);
  assert.equal(count(), 18);
  await c.close();
  assert.ok(await waitFor(() => count() === 0, 15_000), 'subscriptions outlived the connection');
});

test('streamer close: the client sees the code and reason; the row is gone', { skip }, async () => {
  const c = await connect(stack, { sub: uniq('cl') });
  const id = await whoami(c);
  const r = await stack.cliRun(['close', id, '--code', '4001', '--reason', 'kicked by admin']);
  assert.equal(r.status, 0, r.stderr);
  const closed = await waitFor(() => c.closed, 15_000);
  assert.ok(closed, 'the client was not closed');
  assert.equal(closed.code, 4001);
  assert.equal(closed.reason, 'kicked by admin');
  assert.ok(await waitFor(() => !stack.connections().some((x) => x.id === id), 15_000));
  const bad = await stack.cliRun(['close', id, '--code', '1006']);
  assert.equal(bad.status, 2);
});

test('streamer gc removes expired connections and closes them at the proxy', { skip }, async () => {
  const c = await connect(stack, { sub: uniq('gc') });
  const id = await whoami(c);
  stack.exec(`UPDATE connections SET expires_at = 1 WHERE id = '${id}'`);
  const r = await stack.cliRun(['gc']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /removed 1 expired connection \(1 closed at the proxy\)/);
  const closed = await waitFor(() => c.closed, 15_000);
  assert.equal(closed?.code, 1001);
  assert.ok(!stack.connections().some((x) => x.id === id));
});

test('no worker error was logged, nothing crashed', { skip }, async () => {
  const bad = stack.workerLogLines().filter((l) => l.level === 'error' || l.level === 'unparsable');
  assert.deepEqual(bad, []);
  assert.deepEqual(stack.workerCrashes(), []);
  assert.deepEqual(stack.tokenLeaks(), [], 'a log holds a token the tests used');
});

// ---- a failing callback: retries, the circuit breaker, a worker that keeps serving ----

nodeTest('a failing callback: 3 attempts, then the breaker opens, fails fast, half-opens and closes', { skip }, async () => {
  const dbl = await new PublishDouble().start();
  // credentials in the callback URL: never in an answer, masked in every log
  const st = await startStack({
    STREAMER_WORKERS: '1',
    STREAMER_CALLBACK_URL: `${dbl.url.replace('http://', 'http://pubuser:pubpass-SECRET7@')}?token=cbtoken-SECRET8`,
    STREAMER_CALLBACK_TIMEOUT: '2000',
    STREAMER_CALLBACK_BREAKER_RESET: '1',
  });
  st.addSecret('pubpass-SECRET7');
  st.addSecret('cbtoken-SECRET8');
  const lastPushFailure = () => st.workerLogLines().filter((l) => l.event === 'push_failed').at(-1)?.reason ?? '';
  try {
    const c = await connect(st, { sub: uniq('br'), permissions: 'publish' });
    dbl.failing = true;
    let t0 = Date.now();
    let m = await request(c, 'publish', { topic: 'x', data: 1 });
    assert.equal(m.type, 'error', JSON.stringify(m));
    assert.equal(m.error.code, 'PROCESSING_FAILED');
    // the client learns that delivery failed, never the callback URL or why (that is logged)
    assert.equal(m.error.message, 'Could not deliver the message');
    assert.ok(!/127\.0\.0\.1|http|SECRET|pubuser/.test(JSON.stringify(m)), JSON.stringify(m));
    assert.match(lastPushFailure(), /HTTP 503/);
    assert.match(lastPushFailure(), /http:\/\/\*\*\*@127\.0\.0\.1:\d+\/publish\/\?token=\*\*\*/);
    assert.equal(dbl.hits, 3, 'three attempts');
    assert.ok(Date.now() - t0 >= 200, 'backoff between attempts');

    // open: fails at once without reaching the callback
    t0 = Date.now();
    m = await request(c, 'publish', { topic: 'x', data: 2 });
    assert.equal(m.error.code, 'PROCESSING_FAILED');
    assert.equal(m.error.message, 'Could not deliver the message');
    assert.match(lastPushFailure(), /circuit open/);
    assert.equal(dbl.hits, 3);
    assert.ok(Date.now() - t0 < 300, `fail fast took ${Date.now() - t0} ms`);

    // after the reset time one trial goes through; success closes the breaker
    await sleep(1100);
    dbl.failing = false;
    m = await request(c, 'publish', { topic: 'x', data: 3 });
    assert.equal(m.type, 'response', JSON.stringify(m));
    assert.equal(dbl.hits, 4);
    m = await request(c, 'publish', { topic: 'x', data: 4 });
    assert.equal(m.type, 'response');
    assert.equal(dbl.items.at(-1).channel, 'topic:acme:x');

    // the callback's port closed: a clear error within the timeout, the worker still serves
    await dbl.stop();
    await sleep(1100); // not because of the breaker: it is closed
    t0 = Date.now();
    m = await request(c, 'publish', { topic: 'x', data: 5 }, uniq('down'));
    const took = Date.now() - t0;
    assert.equal(m.error.code, 'PROCESSING_FAILED');
    assert.equal(m.error.message, 'Could not deliver the message');
    assert.match(lastPushFailure(), /Couldn't connect|Connection refused|circuit open/);
    assert.ok(took < 2000 + 500, `took ${took} ms, over STREAMER_CALLBACK_TIMEOUT`);
    m = await request(c, 'echo', { still: 'serving' });
    assert.equal(m.type, 'response');
    assert.deepEqual(m.data.echo, { still: 'serving' });
    const opened = st.workerLogLines().filter((l) => l.event === 'push_circuit_open');
    assert.ok(opened.length >= 1, 'the breaker opening was logged');
    await c.close();
    assert.deepEqual(st.tokenLeaks(), [], 'a log holds a credential of the callback URL');
  } finally {
    await st.stop();
    await dbl.stop().catch(() => {});
  }
});

// ---- the apigw style against a double of the @connections API ----

nodeTest('apigw style: presence events reach each watcher; a pattern subscriber gets the topic\'s broadcast once', { skip }, async () => {
  const gw = await new ApiGatewayDouble('/prod').start();
  const tenant = uniq('gwp');
  const [w, m, p] = await Promise.all([
    connect(stack, { sub: 'watcher', tenant }),
    connect(stack, { sub: 'member', tenant }),
    connect(stack, { sub: 'pat', tenant, topics: 'px.*,px.a' }),
  ]);
  const [wid, mid] = [await whoami(w), await whoami(m)];
  await p.nextJson(); // its subscriptions message
  const pid = await whoami(p);
  for (const id of [wid, mid, pid]) gw.known.add(id);
  w.send({ action: 'subscribe', id: 's', payload: { topic: 'room', presence: true } });
  assert.equal((await w.nextJson()).type, 'response');
  m.send({ action: 'subscribe', id: 's', payload: { topic: 'room' } });
  assert.equal((await m.nextJson()).type, 'response');
  const aws = { STREAMER_CALLBACK_STYLE: 'apigw', STREAMER_CALLBACK_URL: gw.url };
  try {
    const cl = await stack.cliRun(['close', mid], aws);
    assert.equal(cl.status, 0, cl.stderr);
    assert.deepEqual(gw.deleted, [mid]);
    const got = (gw.delivered.get(wid) || []).map((x) => JSON.parse(x));
    assert.equal(got.length, 1, 'one leave event to the watcher');
    assert.deepEqual([got[0].type, got[0].event, got[0].user_id, got[0].connections], ['presence', 'leave', 'member', 0]);
    assert.equal(gw.delivered.get(pid), undefined, 'nothing to who does not watch presence');

    const b = await stack.cliRun(['broadcast', '--tenant', tenant, '--topic', 'px.a', '{"n":1}'], aws);
    assert.equal(b.status, 0, b.stderr);
    const ev = (gw.delivered.get(pid) || []).map((x) => JSON.parse(x));
    assert.equal(ev.length, 1, 'subscribed by name and by pattern: one POST');
    assert.deepEqual([ev[0].type, ev[0].topic, ev[0].data.n], ['event', 'px.a', 1]);
    assert.equal(gw.delivered.get(wid).length, 1, 'the watcher is not subscribed to px.a');
  } finally {
    await Promise.all([w.close(), m.close(), p.close()]);
    await gw.stop();
  }
});


nodeTest('apigw style: POST per connection, SigV4 headers, 429 retried, 410 removes the rows, DELETE closes', { skip }, async () => {
  const gw = await new ApiGatewayDouble('/prod').start();
  const user = uniq('gw');
  const conns = await connectAll(stack, [1, 2, 3].map(() => ({ sub: user, tenant: 'acme' })));
  const ids = [];
  for (const c of conns) ids.push(await whoami(c));
  gw.known.add(ids[0]);
  gw.known.add(ids[1]); // ids[2] is unknown to the gateway: 410
  gw.throttle[ids[1]] = 1; // one 429 first
  const aws = {
    STREAMER_CALLBACK_STYLE: 'apigw',
    STREAMER_CALLBACK_URL: gw.url,
    STREAMER_AWS_REGION: 'eu-west-1',
    STREAMER_AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    STREAMER_AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
    STREAMER_AWS_SESSION_TOKEN: 'session-token-example',
  };
  try {
    const r = await stack.cliRun(['send', '--user', user, '--tenant', 'acme', '{"type":"notice","via":"apigw"}'], aws);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /1 stale connection removed/);
    for (const id of ids.slice(0, 2)) {
      assert.equal(gw.delivered.get(id)?.length, 1);
      assert.deepEqual(unnumbered(JSON.parse(gw.delivered.get(id)[0])), { type: 'notice', via: 'apigw' });
    }
    const tries = gw.requests.filter((q) => q.id === ids[1]).map((q) => q.status);
    assert.deepEqual(tries, [429, 200], 'a 429 is retried');
    const post = gw.requests.find((q) => q.id === ids[0]);
    assert.equal(post.method, 'POST');
    assert.match(post.headers.authorization, /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/);
    assert.match(post.headers['x-amz-date'], /^\d{8}T\d{6}Z$/);
    assert.equal(post.headers['x-amz-security-token'], 'session-token-example');
    // 410: the stale connection's row is gone, the others stay
    const left = stack.connections().map((x) => x.id);
    assert.ok(!left.includes(ids[2]), 'the stale row was not removed');
    assert.ok(left.includes(ids[0]) && left.includes(ids[1]));

    // a 4xx other than 429 is not retried
    gw.requests.length = 0;
    const four = await stack.cliRun(['send', '--connection', ids[0], '{}'], { ...aws, STREAMER_CALLBACK_URL: `${gw.url.replace('/prod', '/other')}` });
    assert.equal(four.status, 1);
    assert.match(four.stderr, /HTTP 404/);
    assert.equal(gw.requests.length, 1);

    // close is a DELETE
    const cl = await stack.cliRun(['close', ids[0]], aws);
    assert.equal(cl.status, 0, cl.stderr);
    assert.deepEqual(gw.deleted, [ids[0]]);
    assert.ok(!stack.connections().some((x) => x.id === ids[0]));
  } finally {
    for (const c of conns) await c.close();
    await gw.stop();
  }
});

nodeTest('several callback nodes: every node gets each push; a node down misses it at once, a node refusing fails it', { skip }, async () => {
  const own = stack.cliEnv().STREAMER_CALLBACK_URL;
  const dbl = await new PublishDouble().start();
  const [closed, closed2] = await freePorts(2);
  const down = `http://127.0.0.1:${closed}/publish/`;
  const missed = () => stack.workerLogLines().filter((l) => l.event === 'push_node_missed');
  const c = await connect(stack, { sub: uniq('fan') });
  const id = await whoami(c);
  const send = (n, urls, extra = {}) => stack.cliRun(['send', '--connection', id, JSON.stringify({ n })],
    { STREAMER_CALLBACK_URL: urls, ...extra });
  try {
    // both nodes up: each gets the publish
    let r = await send(1, `${own},${dbl.url}`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(unnumbered(await c.nextJson()).n, 1);
    assert.equal(dbl.items.length, 1);
    assert.equal(dbl.items[0].channel, `conn:${id}`);
    assert.equal(JSON.parse(dbl.items[0].formats['ws-message'].content).n, 1);

    // the first node takes no connection: the push succeeds through the other,
    // and the down node is given up after one attempt (no retries, no backoff)
    const before = missed().length;
    r = await send(2, ` ${down} , ${own} `);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(unnumbered(await c.nextJson()).n, 2);
    const m = missed().slice(before);
    assert.equal(m.length, 1, JSON.stringify(m));
    assert.equal(m[0].node, 1);
    assert.equal(m[0].attempts, 1);
    assert.match(m[0].error, /Couldn't connect|Connection refused/);

    // a node that answers and refuses fails the push after its retries,
    // while the live node still delivered it
    dbl.failing = true;
    const hits = dbl.hits;
    r = await send(3, `${own},${dbl.url}`, { STREAMER_CALLBACK_TIMEOUT: '3000' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /HTTP 503/);
    assert.equal(dbl.hits - hits, 3, 'three attempts at the refusing node');
    assert.equal(unnumbered(await c.nextJson()).n, 3);

    // no node reachable: a failure that says so
    r = await send(4, `${down},http://127.0.0.1:${closed2}/publish/`);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no callback node took it/);
    assert.equal(await maybeNext(c), null);

    // lists the settings refuse, with the reason
    for (const [urls, says, extra] of [
      [`${own},`, /URL number 2 of the list is empty/],
      [`${own},${own}`, /URL number 2 repeats number 1/],
      [`${own},ftp://x/`, /expected an http:\/\/ or https:\/\/ URL/],
      [`${own},${dbl.url}`, /apigw style takes exactly one URL/, { STREAMER_CALLBACK_STYLE: 'apigw' }],
    ]) {
      r = await send(5, urls, extra);
      assert.notEqual(r.status, 0, urls);
      assert.match(r.stderr, says);
      assert.match(r.stderr, /STREAMER_CALLBACK_URL/);
    }
    assert.equal(await maybeNext(c), null);
  } finally {
    await c.close();
    await dbl.stop();
  }
});

nodeTest('streamer send without a callback, or to a closed port, fails with a one-line reason within the timeout', { skip }, async () => {
  const c = await connect(stack, { sub: uniq('np') });
  const id = await whoami(c);
  const none = await stack.cliRun(['send', '--connection', id, '{}'], { STREAMER_CALLBACK_URL: '' });
  assert.equal(none.status, 1);
  assert.match(none.stderr, /STREAMER_CALLBACK_URL is not set/);
  const [port] = await freePorts(1);
  const t0 = Date.now();
  const down = await stack.cliRun(['send', '--connection', id, '{}'], { STREAMER_CALLBACK_URL: `http://127.0.0.1:${port}/publish/`, STREAMER_CALLBACK_TIMEOUT: '1500' });
  assert.equal(down.status, 1);
  assert.equal(down.stderr.trim().split('\n').length, 1, down.stderr);
  assert.match(down.stderr, /streamer send: .*127\.0\.0\.1/);
  assert.ok(Date.now() - t0 < 3000);
  await c.close();
});

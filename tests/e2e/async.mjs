// async.mjs - async requests end to end: Pushpin -> workers queue them, `streamer processor` runs them and pushes progress and results back through Pushpin.
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, chmodSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startStack, missingPrograms, connect, connectAll, sleep, uniq, waitFor, stackTest, FLOOR, SRC, freePorts,
} from './lib.mjs';

const skip = missingPrograms('lighttpd') || (FLOOR && 'needs streamer-fcgi');
const BUILD = process.env.top_builddir || join(SRC, 'build');
let stack;
let scripts;
const test = stackTest(nodeTest, () => stack);

// Small exec handlers, written for this run.
function writeScripts() {
  scripts = mkdtempSync(join(tmpdir(), 'streamer-exec-'));
  chmodSync(scripts, 0o755);
  const put = (name, body) => {
    const p = join(scripts, name);
    writeFileSync(p, `#!/bin/sh\n${body}\n`);
    chmodSync(p, 0o755);
    return p;
  };
  return {
    ok: put('ok.sh', 'in=$(cat)\necho "PROGRESS 30 read the payload"\necho "PROGRESS 80 almost"\nprintf \'{"bytes":%d}\\n\' "${#in}"'),
    fail: put('fail.sh', 'cat >/dev/null\necho "the thing broke: disk on fire" >&2\nexit 3'),
    slow: put('slow.sh', 'cat >/dev/null\necho "PROGRESS 10 started"\nsleep 60\necho "{}"'),
  };
}

// `streamer processor` with the workers' settings, signalled as one process:
// the tests kill the supervisor alone (its slots must die with it).
const startProcessor = (concurrency) => stack.startProcessor(concurrency, { group: false });

before(async () => {
  if (skip) return;
  const s = writeScripts();
  stack = await startStack({
    STREAMER_JOB_LEASE: '2',
    // '2 processors x 100 requests' queues 100 on one connection (the default limit is 16).
    STREAMER_MAX_REQUESTS_PER_CONNECTION: '100',
    STREAMER_JOB_TIMEOUT: '4',
    STREAMER_EXEC_ACTIONS: `x_ok=${s.ok},x_fail=${s.fail},x_slow=${s.slow}`,
    STREAMER_PLUGINS: join(BUILD, 'examples', 'plugin', 'wordcount.so'),
  });
});

after(async () => {
  if (stack) await stack.stop();
  if (scripts) rmSync(scripts, { recursive: true, force: true });
});

// Every message for the queued request id, each with its arrival time
// ([message, ms]): until both its acknowledgment and its complete or error
// are in. The protocol does not order the acknowledgment (in the answer to
// the client's message) against the pushes (progress, complete, error: sent
// by a processor through the publish API): docs/protocol.md, "Async requests".
//
// Pushes are best effort until the delivery issue: Pushpin 1.36 drops a
// publish that reaches a connection while it is still reading the backend's
// answer for it (shared/reference/delivery-and-scale.md), and an instant job
// pushes within a millisecond of that answer. What the protocol promises then
// is request.status, which is how the SDK recovers: when nothing for the
// request came for QUIET_MS after its acknowledgment, ask it, and a finished
// request ends the collection with a {type: 'status', data} entry.
const QUIET_MS = 3000;
let statusAsks = 0;
async function collectTimed(c, id, timeoutMs = 15_000) {
  const got = [];
  const until = Date.now() + timeoutMs;
  const has = (...types) => got.some(([m]) => types.includes(m.type));
  let lastSeen = Date.now();
  let asked = null;
  while (!(has('acknowledgment') && has('complete', 'error', 'status'))) {
    const wait = has('acknowledgment') && !asked ? Math.min(until, lastSeen + QUIET_MS) : until;
    let m;
    try {
      m = await c.nextJson(Math.max(1, wait - Date.now()));
    } catch (e) {
      if (Date.now() < until && has('acknowledgment') && !asked) {
        asked = `status-${id}-${++statusAsks}`;
        c.send({ action: 'request.status', id: asked, payload: { request_id: id } });
        continue;
      }
      e.message += ` (request ${id}; so far: ${JSON.stringify(got.map(([x]) => x))})`;
      throw e;
    }
    if (asked && m.request_id === asked) {
      assert.equal(m.type, 'response', JSON.stringify(m));
      asked = null;
      lastSeen = Date.now();
      if (['COMPLETED', 'FAILED', 'CANCELLED'].includes(m.data.status)) {
        process.stdout.write(`# ${id}: its last pushes did not arrive; request.status says ${m.data.status}\n`);
        got.push([{ type: 'status', request_id: id, data: m.data }, Date.now()]);
      }
      continue;
    }
    if (m.request_id === id) {
      got.push([m, Date.now()]);
      lastSeen = Date.now();
    }
  }
  return got;
}

const collect = async (c, id, timeoutMs) => (await collectTimed(c, id, timeoutMs)).map(([m]) => m);

// The complete or error among a request's messages (an error made from
// request.status when the pushes were lost).
const outcome = (msgs) => {
  const end = msgs.find((m) => m.type === 'complete' || m.type === 'error');
  if (end) return end;
  const st = msgs.find((m) => m.type === 'status');
  return st.data.status === 'COMPLETED'
    ? { type: 'complete', request_id: st.request_id, result: st.data.result }
    : { type: 'error', request_id: st.request_id, error: st.data.error };
};

// What the protocol promises about a queued request that completes: one
// acknowledgment (anywhere: see collectTimed), progress that never goes down
// and ends at 100, the complete as the last push, every message carrying the
// request id. When Pushpin dropped the last pushes, request.status must say
// COMPLETED at 100 % with the result. Returns the result.
function checkFlow(msgs, id) {
  const all = JSON.stringify(msgs);
  const acks = msgs.filter((m) => m.type === 'acknowledgment');
  assert.equal(acks.length, 1, `one acknowledgment: ${all}`);
  assert.equal(acks[0].status, 'queued');
  for (const m of msgs) assert.equal(m.request_id, id);
  const pushes = msgs.filter((m) => m.type !== 'acknowledgment' && m.type !== 'status');
  const progress = pushes.filter((m) => m.type === 'progress');
  for (let i = 1; i < progress.length; i++) {
    assert.ok(progress[i].percentage >= progress[i - 1].percentage,
      `progress goes down: ${progress.map((p) => p.percentage)}`);
  }
  const status = msgs.find((m) => m.type === 'status');
  if (status) {
    assert.equal(status.data.status, 'COMPLETED', all);
    assert.equal(status.data.progress, 100, all);
    assert.ok(!pushes.some((m) => m.type === 'complete' || m.type === 'error'), all);
    return status.data.result;
  }
  const last = pushes[pushes.length - 1];
  assert.equal(last.type, 'complete', `the complete is the last push: ${all}`);
  assert.equal(pushes.filter((m) => m.type === 'complete' || m.type === 'error').length, 1, all);
  assert.ok(progress.length >= 1, 'at least one progress message');
  assert.equal(progress[progress.length - 1].percentage, 100);
  assert.match(last.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  return last.result;
}

const rows = (sql) => stack.rows(sql);

test('echo_async: ack, progress to 100, complete with the payload', { skip }, async () => {
  const p = startProcessor();
  const c = await connect(stack, { sub: uniq('a') });
  c.send({ action: 'echo_async', id: 'ea1', payload: { hello: 'world', n: [1, 2] } });
  const result = checkFlow(await collect(c, 'ea1'), 'ea1');
  assert.deepEqual(result, { hello: 'world', n: [1, 2] });
  await c.close();
  await stack.stopProcessor(p);
});

test('delay: progress in order, complete with the timing', { skip }, async () => {
  const p = startProcessor();
  const c = await connect(stack, { sub: uniq('d') });
  c.send({ action: 'delay', id: 'd1', payload: { seconds: 1, steps: 5 } });
  const msgs = await collect(c, 'd1');
  const result = checkFlow(msgs, 'd1');
  assert.equal(result.steps, 5);
  assert.ok(result.elapsed_ms >= 900, `elapsed ${result.elapsed_ms}`);
  assert.ok(msgs.filter((m) => m.type === 'progress').length >= 5);
  await c.close();
  await stack.stopProcessor(p);
});

test('progress is pushed while requests run, not held back: 20 requests at once, 200 pushes a second', { skip }, async () => {
  // Pushpin with a publish rate limit (Debian's message_rate=2500) held every
  // push until publishing paused, here until the requests ended; the
  // templates set message_rate=0.
  const p = startProcessor(20);
  const clients = await connectAll(stack, Array.from({ length: 20 }, (_, i) => ({ sub: uniq(`pr${i}`) })));
  const timed = await Promise.all(clients.map(async (c, i) => {
    const id = `pr${i}`;
    c.send({ action: 'delay', id, payload: { seconds: 2, steps: 20 } });
    const got = await collectTimed(c, id);
    checkFlow(got.map(([m]) => m), id);
    return got;
  }));
  for (const got of timed) {
    const half = got.find(([m]) => m.type === 'progress' && m.percentage >= 50);
    const end = got.find(([m]) => m.type === 'complete' || m.type === 'status')[1];
    assert.ok(end - half[1] >= 500,
      `progress ${half[0].percentage} arrived only ${end - half[1]} ms before the result`);
  }
  await Promise.all(clients.map((c) => c.close()));
  await stack.stopProcessor(p);
});

test('process_data: filter, transform, sort, aggregate give the right result', { skip }, async () => {
  const p = startProcessor();
  const c = await connect(stack, { sub: uniq('pd') });
  c.send({
    action: 'process_data',
    id: 'pd1',
    payload: {
      items: [
        { name: 'b', team: 'x', score: 3 }, { name: 'a', team: 'y', score: 10 },
        { name: 'c', team: 'x', score: 7 }, { name: 'd', team: 'y', score: 1 },
      ],
      operations: [
        { type: 'filter', field: 'score', op: 'gte', value: 3 },
        { type: 'transform', field: 'name', op: 'upper' },
        { type: 'sort', field: 'score', order: 'desc' },
      ],
    },
  });
  const result = checkFlow(await collect(c, 'pd1'), 'pd1');
  assert.deepEqual(result.data.map((r) => r.name), ['A', 'C', 'B']);
  c.send({
    action: 'process_data',
    id: 'pd2',
    payload: {
      items: [{ team: 'x', score: 3 }, { team: 'y', score: 10 }, { team: 'x', score: 7 }],
      operations: [{ type: 'aggregate', group_by: 'team', field: 'score', fn: 'sum' }],
    },
  });
  const agg = checkFlow(await collect(c, 'pd2'), 'pd2');
  const byTeam = Object.fromEntries(agg.data.map((r) => [r.team, r]));
  assert.equal(JSON.stringify(byTeam.x).includes('10'), true, JSON.stringify(agg));
  assert.equal(JSON.stringify(byTeam.y).includes('10'), true, JSON.stringify(agg));
  await c.close();
  await stack.stopProcessor(p);
});

test('generate_report: a CSV of the tenant\'s own activity, served by the web server', { skip }, async () => {
  const p = startProcessor();
  const tenant = `rep${process.pid}`;
  const sub = uniq('r');
  const c = await connect(stack, { sub, tenant, permissions: 'reports' });
  const today = new Date().toISOString().slice(0, 10);
  c.send({ action: 'echo_async', id: 'before-report', payload: 1 });
  await collect(c, 'before-report');
  c.send({ action: 'generate_report', id: 'rep1', payload: { start_date: today, end_date: today, format: 'csv' } });
  const result = checkFlow(await collect(c, 'rep1'), 'rep1');
  assert.equal(result.format, 'csv');
  assert.ok(result.rows >= 2, `rows ${result.rows}: the connection and the earlier request`);
  const res = await fetch(`${stack.httpUrl}${result.url}`);
  assert.equal(res.status, 200, `GET ${result.url}`);
  const body = await res.text();
  assert.ok(body.includes('before-report'), body);
  assert.ok(!body.includes('acme'), 'another tenant\'s rows leaked into the report');
  const [own] = rows(`SELECT id FROM connections WHERE user_id = '${sub}'`);
  assert.ok(own && !body.includes(own.id), 'the report names a connection id');
  await c.close();
  await stack.stopProcessor(p);
});

test('generate_report without the reports permission is FORBIDDEN (nothing queued)', { skip }, async () => {
  const c = await connect(stack, { sub: uniq('np') });
  c.send({ action: 'generate_report', id: 'noperm1', payload: { start_date: '2026-03-01', end_date: '2026-03-01' } });
  const m = await c.nextJson();
  assert.equal(m.type, 'error');
  assert.equal(m.request_id, 'noperm1');
  assert.equal(m.error.code, 'FORBIDDEN');
  assert.match(m.error.message, /reports/);
  assert.equal(rows("SELECT id FROM requests WHERE request_id = 'noperm1'").length, 0);
  await c.close();
});

test('an invalid payload is refused at enqueue with VALIDATION_ERROR (nothing queued)', { skip }, async () => {
  const c = await connect(stack, { sub: uniq('v'), permissions: 'reports' });
  c.send({ action: 'generate_report', id: 'bad1', payload: { start_date: '2026-02-30', end_date: '2026-03-01' } });
  const m = await c.nextJson();
  assert.equal(m.type, 'error');
  assert.equal(m.request_id, 'bad1');
  assert.equal(m.error.code, 'VALIDATION_ERROR');
  assert.match(m.error.message, /start_date/);
  assert.equal(rows("SELECT id FROM requests WHERE request_id = 'bad1'").length, 0);
  await c.close();
});

test('a client id already live on the connection is a VALIDATION_ERROR naming it', { skip }, async () => {
  const c = await connect(stack, { sub: uniq('dup') });
  c.send({ action: 'delay', id: 'same', payload: { seconds: 1 } });
  assert.equal((await c.nextJson()).type, 'acknowledgment');
  c.send({ action: 'delay', id: 'same', payload: { seconds: 1 } });
  const m = await c.nextJson();
  assert.equal(m.type, 'error');
  assert.equal(m.error.code, 'VALIDATION_ERROR');
  assert.match(m.error.message, /same/);
  await c.close();
});

test('cancel a pending request: CANCELLED at once, a processor never runs it', { skip }, async () => {
  const c = await connect(stack, { sub: uniq('cp') });
  c.send({ action: 'delay', id: 'cp1', payload: { seconds: 2 } });
  assert.equal((await c.nextJson()).type, 'acknowledgment');
  c.send({ action: 'request.cancel', id: 'cancel-cp1', payload: { request_id: 'cp1' } });
  const got = [await c.nextJson(), await c.nextJson()];
  const resp = got.find((m) => m.request_id === 'cancel-cp1');
  const err = got.find((m) => m.request_id === 'cp1');
  assert.equal(resp.type, 'response', JSON.stringify(got));
  assert.equal(resp.data.status, 'CANCELLED');
  assert.equal(err.type, 'error');
  assert.equal(err.error.code, 'CANCELLED');
  const p = startProcessor();
  await sleep(500);
  assert.deepEqual(rows("SELECT status, attempts FROM requests WHERE request_id = 'cp1'"),
    [{ status: 'CANCELLED', attempts: 0 }]);
  await c.close();
  await stack.stopProcessor(p);
});

test('cancel a running request: it stops at its next progress report', { skip }, async () => {
  const p = startProcessor();
  const c = await connect(stack, { sub: uniq('cr') });
  c.send({ action: 'delay', id: 'cr1', payload: { seconds: 3, steps: 30 } });
  const msgs = [];
  for (;;) {
    const m = await c.nextJson(5000);
    msgs.push(m);
    if (m.type === 'progress' && m.percentage >= 10) break;
  }
  const t0 = Date.now();
  c.send({ action: 'request.cancel', id: 'cancel-cr1', payload: { request_id: 'cr1' } });
  let err;
  let stopped;
  for (;;) {
    let m;
    try {
      m = await c.nextJson(5000);
    } catch (e) {
      // The CANCELLED push is best effort (see collectTimed): the store tells when it stopped.
      const [row] = rows("SELECT status, updated_at FROM requests WHERE request_id = 'cr1'");
      if (err || row.status !== 'CANCELLED') throw e;
      process.stdout.write('# cr1: Pushpin dropped the CANCELLED push; the store says CANCELLED\n');
      err = { type: 'error', request_id: 'cr1', error: { code: 'CANCELLED' } };
      stopped = row.updated_at;
      if (msgs.some((x) => x.type === 'acknowledgment')) break;
      continue;
    }
    msgs.push(m);
    if (m.request_id === 'cr1' && m.type === 'error') { err = m; stopped = Date.now(); }
    if (m.request_id === 'cr1') assert.notEqual(m.type, 'complete');
    if (err && msgs.some((x) => x.type === 'acknowledgment')) break;
  }
  assert.equal(msgs.filter((m) => m.type === 'acknowledgment' && m.request_id === 'cr1').length, 1,
    JSON.stringify(msgs));
  assert.equal(err.error.code, 'CANCELLED');
  assert.ok(stopped - t0 < 2000, `took ${stopped - t0} ms to stop`);
  assert.equal(rows("SELECT status FROM requests WHERE request_id = 'cr1'")[0].status, 'CANCELLED');
  await c.close();
  await stack.stopProcessor(p);
});

test('request.status works from a second connection of the same user, NOT_FOUND from another tenant', { skip }, async () => {
  const p = startProcessor();
  const sub = uniq('st');
  const c1 = await connect(stack, { sub, tenant: 'acme' });
  c1.send({ action: 'echo_async', id: 'st1', payload: { x: 42 } });
  await collect(c1, 'st1');
  await c1.close();
  const c2 = await connect(stack, { sub, tenant: 'acme' });
  c2.send({ action: 'request.status', id: 'q1', payload: { request_id: 'st1' } });
  const m = await c2.nextJson();
  assert.equal(m.type, 'response', JSON.stringify(m));
  assert.equal(m.data.status, 'COMPLETED');
  assert.equal(m.data.progress, 100);
  assert.deepEqual(m.data.result, { x: 42 });
  const other = await connect(stack, { sub, tenant: 'globex' });
  other.send({ action: 'request.status', id: 'q2', payload: { request_id: 'st1' } });
  const n = await other.nextJson();
  assert.equal(n.type, 'error');
  assert.equal(n.error.code, 'NOT_FOUND');
  await c2.close();
  await other.close();
  await stack.stopProcessor(p);
});

test('a processor killed with SIGKILL mid-request: another completes it (attempts = 2)', { skip }, async () => {
  const p1 = startProcessor(1);
  const c = await connect(stack, { sub: uniq('k9') });
  c.send({ action: 'delay', id: 'k1', payload: { seconds: 1.5, steps: 15 } });
  for (;;) {
    const m = await c.nextJson(5000);
    if (m.request_id === 'k1' && m.type === 'progress' && m.percentage >= 10) break;
  }
  await stack.stopProcessor(p1, 'SIGKILL');
  // The job process of the dead processor must not finish it either.
  const p2 = startProcessor(1);
  let last;
  for (;;) {
    last = await c.nextJson(15_000);
    if (last.request_id === 'k1' && (last.type === 'complete' || last.type === 'error')) break;
  }
  assert.equal(last.type, 'complete', JSON.stringify(last));
  assert.deepEqual(rows("SELECT status, attempts FROM requests WHERE request_id = 'k1'"),
    [{ status: 'COMPLETED', attempts: 2 }]);
  await c.close();
  await stack.stopProcessor(p2);
});

test('2 processors x 100 requests: each runs exactly once', { skip }, async (t) => {
  const sub = uniq('many');
  const c = await connect(stack, { sub });
  const ids = Array.from({ length: 100 }, (_, i) => `m${i}`);
  const p1 = startProcessor(2);
  const p2 = startProcessor(2);
  for (const id of ids) c.send({ action: 'echo_async', id, payload: { id } });
  const stored = () => rows(`SELECT request_id, status, attempts, result FROM requests WHERE user_id = '${sub}'`);
  const done = new Map();
  const until = Date.now() + 60_000;
  while (done.size < ids.length) {
    let m;
    try {
      m = await c.nextJson(3000);
    } catch (e) {
      // Quiet for 3 s. Pushes are best effort (docs/sdk.md): Pushpin drops
      // some published while it still forwards a burst of messages from the
      // same client. Once the store has every request finished, the pushes
      // that did not come are not coming.
      const st = stored();
      if (st.length === ids.length && st.every((r) => r.status !== 'PENDING' && r.status !== 'PROCESSING')) break;
      if (Date.now() > until) throw e;
      continue;
    }
    if (m.type === 'complete' || m.type === 'error') {
      assert.equal(m.type, 'complete', JSON.stringify(m));
      assert.ok(!done.has(m.request_id), `${m.request_id} completed twice`);
      assert.deepEqual(m.result, { id: m.request_id });
      done.set(m.request_id, m);
    }
  }
  const st = stored();
  assert.equal(st.length, 100);
  for (const r of st) {
    assert.deepEqual([r.status, r.attempts, JSON.parse(r.result)], ['COMPLETED', 1, { id: r.request_id }], JSON.stringify(r));
  }
  // How many completes Pushpin dropped depends on the machine's load (17 of
  // 100 beside two busy loops): pushes are best effort until the delivery
  // issue, so no share of them is asserted. What the protocol promises is that
  // the client can still read every result, which is how the SDK recovers.
  const lost = ids.filter((id) => !done.has(id));
  if (lost.length) t.diagnostic(`${lost.length} of 100 completes were not pushed; request.status has them`);
  for (const id of lost) {
    c.send({ action: 'request.status', id: `s-${id}`, payload: { request_id: id } });
    let m;
    do m = await c.nextJson(15_000); while (m.request_id !== `s-${id}`);
    assert.equal(m.type, 'response', JSON.stringify(m));
    assert.equal(m.data.status, 'COMPLETED', JSON.stringify(m));
    assert.deepEqual(m.data.result, { id }, JSON.stringify(m));
  }
  await c.close();
  await Promise.all([stack.stopProcessor(p1), stack.stopProcessor(p2)]);
});

test('exec handlers: success with progress, failure with its stderr, timeout', { skip }, async () => {
  const p = startProcessor(2);
  const c = await connect(stack, { sub: uniq('x') });
  c.send({ action: 'x_ok', id: 'x1', payload: { text: 'abc' } });
  const ok = checkFlow(await collect(c, 'x1'), 'x1');
  assert.equal(ok.bytes, JSON.stringify({ text: 'abc' }).length);
  c.send({ action: 'x_fail', id: 'x2', payload: {} });
  const fail = outcome(await collect(c, 'x2'));
  assert.equal(fail.type, 'error');
  assert.equal(fail.error.code, 'PROCESSING_FAILED');
  assert.match(fail.error.message, /disk on fire/);
  c.send({ action: 'x_slow', id: 'x3', payload: {} });
  const t0 = Date.now();
  const slowTimed = await collectTimed(c, 'x3', 20_000);
  const slow = outcome(slowTimed.map(([x]) => x));
  const slowAt = slowTimed.find(([m]) => ['complete', 'error', 'status'].includes(m.type))[1];
  assert.equal(slow.type, 'error');
  assert.equal(slow.error.code, 'TIMEOUT');
  assert.ok(slowAt - t0 < 10_000, `timeout took ${slowAt - t0} ms`);
  await c.close();
  await stack.stopProcessor(p);
});

test('the example plugin (wordcount) runs through the queue', { skip }, async () => {
  const p = startProcessor();
  const c = await connect(stack, { sub: uniq('wc') });
  c.send({ action: 'wordcount', id: 'wc1', payload: { text: 'to be or not to be', top: 2 } });
  const result = checkFlow(await collect(c, 'wc1'), 'wc1');
  assert.equal(result.words, 6);
  assert.deepEqual(result.top.map((t) => t.count), [2, 2]);
  await c.close();
  await stack.stopProcessor(p);
});

test('a disconnect cancels that connection\'s pending requests', { skip }, async () => {
  const c = await connect(stack, { sub: uniq('dc') });
  c.send({ action: 'delay', id: 'dc1', payload: { seconds: 1 } });
  assert.equal((await c.nextJson()).type, 'acknowledgment');
  await c.close();
  const st = await waitFor(() => rows("SELECT status FROM requests WHERE request_id = 'dc1'")[0]?.status === 'CANCELLED', 15_000);
  assert.ok(st, 'the pending request was not cancelled');
});

test('every push lost (a dead callback URL): the acknowledged result is still there for request.status', { skip }, async () => {
  // What a client relies on while pushes are best effort: nothing acknowledged is
  // lost, and collect() (like the SDK) reads it with request.status.
  const [dead] = await freePorts(1);
  const p = stack.startProcessor(1, {
    group: false,
    env: { STREAMER_CALLBACK_URL: `http://127.0.0.1:${dead}/publish/`, STREAMER_CALLBACK_TIMEOUT: '200' },
  });
  const c = await connect(stack, { sub: uniq('lost') });
  c.send({ action: 'echo_async', id: 'lost1', payload: { kept: true } });
  const msgs = await collect(c, 'lost1');
  assert.ok(msgs.some((m) => m.type === 'status'), `no push can have arrived: ${JSON.stringify(msgs)}`);
  assert.deepEqual(checkFlow(msgs, 'lost1'), { kept: true });
  await waitFor(() => stack.workerLogLines().some((l) => l.event === 'job_push_failed' && l.request_id === 'lost1'),
    15_000);
  await c.close();
  await stack.stopProcessor(p);
});

test('no worker or processor error was logged, nothing crashed', { skip }, async () => {
  const bad = stack.workerLogLines().filter((l) => l.level === 'error' || l.level === 'unparsable');
  assert.deepEqual(bad, []);
  assert.deepEqual(stack.workerCrashes(), []);
  assert.deepEqual(stack.tokenLeaks(), [], 'a log holds a token the tests used');
  for (const p of stack.processors) assert.equal(p.stderrText, '');
});

// pg_outage.mjs - PostgreSQL stopped for 5 s under load: requests fail fast with a clear error, nothing crashes, the workers and the processor reconnect, and nothing acknowledged is lost. Runs on PostgreSQL only (make check-postgresql).
//
// The stack gets a PostgreSQL server of its own (tests/pg.sh under a temporary
// directory), so stopping it disturbs no other test.
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startStack, missingPrograms, connect, sleep, uniq, waitFor, stackTest, FLOOR, SRC, PG_URL,
} from './lib.mjs';

const skip = missingPrograms('lighttpd') || (FLOOR && 'needs streamer-fcgi')
  || (!PG_URL && 'PostgreSQL only: make check-postgresql runs it');
const PGBIN = process.env.PGBIN || '/usr/lib/postgresql/15/bin';
let stack;
let pgDir;
const test = stackTest(nodeTest, () => stack);

// tests/pg.sh start|stop on this test's server; start returns its URL.
function pg(cmd) {
  const r = spawnSync('sh', [join(SRC, 'tests', 'pg.sh'), cmd, pgDir], { encoding: 'utf8', env: { ...process.env, PGBIN } });
  assert.equal(r.status, 0, `pg.sh ${cmd}: ${r.stderr}`);
  return r.stdout.trim();
}

before(async () => {
  if (skip) return;
  pgDir = mkdtempSync(join(tmpdir(), 'streamer-pg-outage-'));
  chmodSync(pgDir, 0o755);
  const url = pg('start');
  stack = await startStack({
    STREAMER_STACK_DB: url,
    STREAMER_JOB_LEASE: '3',
    STREAMER_MAX_REQUESTS_PER_CONNECTION: '1000',
    STREAMER_RATE_LIMIT: '100000',
    STREAMER_RATE_BURST: '100000',
  });
});

after(async () => {
  if (stack) await stack.stop();
  if (pgDir) {
    spawnSync('sh', [join(SRC, 'tests', 'pg.sh'), 'stop', pgDir], { env: { ...process.env, PGBIN } });
    rmSync(pgDir, { recursive: true, force: true });
  }
});

// One client sending echo and echo_async in turn, one request at a time, until
// stop(): every answer with when it was sent and when it came.
function load(c, k, log, running) {
  return (async () => {
    for (let i = 0; running(); i++) {
      const id = uniq(i % 2 ? 'a' : 'e');
      const action = i % 2 ? 'echo_async' : 'echo';
      const sent = Date.now();
      c.send({ action, id, payload: { id } });
      let m;
      do m = await c.nextJson(30_000); while (m.request_id !== id);
      log.push({ client: k, id, action, sent, took: Date.now() - sent, type: m.type, code: m.error?.code, message: m.error?.message });
      await sleep(20);
    }
  })();
}

test('PostgreSQL stopped for 5 s under load: fast clear failures, no crash, reconnect, nothing acknowledged lost', { skip }, async () => {
  const proc = stack.startProcessor(2);
  const pids = stack.workerPids().sort();
  const clients = [];
  for (let i = 0; i < 4; i++) clients.push(await connect(stack, { sub: uniq('o') }));
  // pushes (progress, complete) come on the same sockets: keep them apart
  const pushed = new Map();
  for (const c of clients) {
    const next = c.nextJson.bind(c);
    c.nextJson = async (ms) => {
      for (;;) {
        const m = await next(ms);
        if (m.type === 'complete' || m.type === 'progress') {
          if (m.type === 'complete') pushed.set(m.request_id, (pushed.get(m.request_id) ?? 0) + 1);
          continue;
        }
        return m;
      }
    };
  }
  const log = [];
  let on = true;
  const loads = clients.map((c, k) => load(c, k, log, () => on));
  await sleep(1500);
  const down = Date.now();
  pg('stop');
  await sleep(5000);
  pg('start');
  const up = Date.now();
  // the first success after the restart, on every client
  const back = await waitFor(() => clients.every((_, k) => log.some((r) => r.client === k && r.sent > up && r.type === 'response')), 15_000, 100);
  await sleep(1000);
  on = false;
  await Promise.all(loads);

  const during = log.filter((r) => r.sent > down + 200 && r.sent + r.took < up);
  assert.ok(during.length >= 20, `only ${during.length} requests during the outage`);
  // every request was answered, and during the outage each fast, with a clear error
  const slow = during.filter((r) => r.took > 2000);
  assert.deepEqual(slow, [], 'requests held up by the outage');
  const errs = during.filter((r) => r.type === 'error');
  assert.ok(errs.length > 0, 'no request failed while the database was down');
  for (const r of errs) assert.equal(r.code, 'INTERNAL_ERROR', JSON.stringify(r));
  assert.ok(back, 'requests did not succeed again within 15 s of the restart');
  const firstOk = Math.min(...log.filter((r) => r.sent > up && r.type === 'response').map((r) => r.sent));
  console.log(`# ${log.length} requests; ${during.length} during the outage (${errs.length} failed, slowest ${Math.max(...during.map((r) => r.took))} ms); served again ${firstOk - up} ms after the restart`);

  // nothing crashed: the same workers, the processor still running
  assert.deepEqual(stack.workerPids().sort(), pids, 'a worker was replaced');
  assert.equal(proc.exitCode, null, `the processor exited: ${proc.stderrText}`);
  assert.deepEqual(stack.workerCrashes(), []);

  // every acknowledged async request completes, exactly once
  const acked = log.filter((r) => r.action === 'echo_async' && r.type === 'acknowledgment').map((r) => r.id);
  assert.ok(acked.length > 10, `only ${acked.length} acknowledged`);
  const done = await waitFor(() => {
    const rows = stack.rows(`SELECT request_id, status FROM requests WHERE request_id IN (${acked.map((id) => `'${id}'`).join(',')})`);
    return rows.length === acked.length && rows.every((r) => r.status === 'COMPLETED') && rows;
  }, 30_000, 250);
  assert.ok(done, 'an acknowledged request did not complete');
  for (const [id, n] of pushed) assert.equal(n, 1, `${id} completed ${n} times`);

  // the outage and the recovery are in the log
  const events = stack.workerLogLines().map((l) => l.event);
  assert.ok(events.includes('database_connection_lost'), 'no database_connection_lost logged');
  assert.ok(events.includes('database_reconnected'), 'no database_reconnected logged');
  for (const c of clients) await c.close();
  await stack.stopProcessor(proc);
});

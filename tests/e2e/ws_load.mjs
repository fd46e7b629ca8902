// ws_load.mjs - many clients at once through Pushpin -> lighttpd -> streamer-fcgi, and a worker killed under load.
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startStack, missingPrograms, connect, connectAll, echoMsg, echoProblem, waitFor, uniq,
  stackTest,
} from './lib.mjs';

const skip = missingPrograms('lighttpd');
let stack;
const test = stackTest(nodeTest, () => stack);

before(async () => {
  if (skip) return;
  // The kill test's clients send as fast as round trips allow, beyond the
  // default 50 messages/s per connection: the limiter runs, at a rate they do not reach.
  stack = await startStack({ STREAMER_WORKERS: '2', STREAMER_RATE_LIMIT: '100000' });
});

after(async () => {
  if (stack) await stack.stop();
});

test('50 clients x 20 messages at once: every reply arrives, in order per client', { skip }, async () => {
  const CLIENTS = 50;
  const MESSAGES = 20;
  const clients = await connectAll(stack, Array.from({ length: CLIENTS }, (_, i) =>
    ({ sub: uniq(`load${i}`), tenant: i % 2 ? 'acme' : 'globex' })));
  const linesBefore = stack.workerLogLines().length;

  const results = await Promise.all(clients.map(async (c, ci) => {
    for (let m = 0; m < MESSAGES; m++) c.send(echoMsg(`c${ci}-m${m}`, { ci, m }));
    const problems = [];
    for (let m = 0; m < MESSAGES; m++) {
      let reply;
      try {
        reply = await c.next(30_000);
      } catch (e) {
        problems.push(`client ${ci}: reply ${m}: ${e.message}`);
        break;
      }
      const p = echoProblem(reply, `c${ci}-m${m}`, { ci, m });
      if (p) problems.push(`client ${ci}: reply ${m}: ${p}`);
    }
    return problems;
  }));
  await Promise.all(clients.map((c) => c.close()));

  const problems = results.flat();
  assert.deepEqual(problems.slice(0, 10), [], `${problems.length} problems`);
  const errors = stack.workerLogLines().slice(linesBefore).filter((l) => l.level === 'error' || l.level === 'unparsable');
  assert.deepEqual(errors, [], 'worker logged errors under load');
  assert.deepEqual(stack.workerCrashes(), []);
});

test('a worker killed with SIGKILL under load is restarted and clients keep working', { skip }, async () => {
  const CLIENTS = 10;
  const before = stack.workerPids();
  assert.equal(before.length, 2, `two workers before the kill: ${before}`);

  const clients = await connectAll(stack, Array.from({ length: CLIENTS }, (_, i) =>
    ({ sub: uniq(`kill${i}`) })));
  // Closed loop: each client sends its next message when the previous reply
  // is in. A client whose request was in the killed worker's hands is
  // dropped by Pushpin (the web server answers 5xx); the others must not
  // notice.
  let phase = 'before';
  const stats = clients.map(() => ({ before: 0, after: 0, failed: null }));
  const loops = clients.map(async (c, ci) => {
    for (let m = 0; phase !== 'done'; m++) {
      const id = `k${ci}-${m}`;
      try {
        c.send(echoMsg(id, { m }));
        const p = echoProblem(await c.next(10_000), id, { m });
        if (p) throw new Error(p);
      } catch (e) {
        stats[ci].failed = `${phase}: ${e.message}`;
        return;
      }
      stats[ci][phase === 'before' ? 'before' : 'after']++;
    }
  });

  // Every client has had replies (however loaded the machine), then the kill.
  assert.ok(await waitFor(() => stats.every((s) => s.before > 0 || s.failed), 30_000, 20),
    `not every client got a reply before the kill: ${JSON.stringify(stats)}`);
  const victim = before[0];
  process.kill(victim, 'SIGKILL');
  phase = 'after';
  const restarted = await waitFor(() => {
    const now = stack.workerPids();
    return now.length === 2 && !now.includes(victim) ? now : null;
  }, 15_000);
  assert.ok(restarted, `multiwatch did not replace worker ${victim}: ${stack.workerPids()}`);
  // Until every surviving client has had replies since (or 30 s passed: the checks below say who did not).
  await waitFor(() => stats.every((s) => s.after > 0 || s.failed), 30_000, 20);
  phase = 'done';
  await Promise.all(loops);
  await Promise.all(clients.map((c) => c.close()));

  const failed = stats.filter((s) => s.failed);
  assert.ok(stats.every((s) => s.before > 0), `every client got replies before the kill: ${JSON.stringify(stats)}`);
  assert.ok(failed.length <= 1, `at most the one in-flight request fails, but: ${JSON.stringify(failed)}`);
  const survivors = stats.filter((s) => !s.failed);
  assert.ok(survivors.every((s) => s.after > 0), `every surviving client got replies after the kill: ${JSON.stringify(stats)}`);

  // A new connection works after the restart.
  const c = await connect(stack, { sub: uniq('after-kill') });
  c.send(echoMsg('fresh', { ok: true }));
  assert.equal(echoProblem(await c.next(), 'fresh', { ok: true }), null);
  await c.close();
  assert.deepEqual(stack.workerCrashes(), []);
});

test('the workers stop cleanly on SIGTERM (no sanitizer or leak report)', { skip }, async () => {
  const r = stack.stack('stop');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(stack.workerCrashes(), [], 'workers.log has crash/sanitizer reports');
});

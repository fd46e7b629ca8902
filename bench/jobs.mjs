// jobs.mjs - async requests through the whole stack: pick-up latency on an idle system and throughput under load.
//
// Run by bench/jobs (which starts the stack and the processors) with
// BENCH_WS_URL, BENCH_TOKEN, BENCH_DB and:
//   BENCH_IDLE=200         requests sent one at a time, each after the last completed
//   BENCH_LOAD=2000        requests sent at once for the throughput phase
// Pick-up latency is measured two ways: in the store (claimed started_at -
// created_at, ms, from the rows) and at the client (acknowledgment ->
// first progress message, which the handler sends when it starts, so this
// also includes a push through Pushpin). Throughput is completions per
// second at the client for BENCH_LOAD echo_async requests.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '..', 'tests', 'e2e', 'node_modules') + '/');
const WebSocket = require('ws');
const env = process.env;
const idleN = Number(env.BENCH_IDLE || 200);
const loadN = Number(env.BENCH_LOAD || 2000);

const ws = new WebSocket(`${env.BENCH_WS_URL}?Authorization=${encodeURIComponent(env.BENCH_TOKEN)}`);
const waiting = new Map();
ws.on('message', (d) => {
  const m = JSON.parse(String(d));
  const w = waiting.get(m.request_id);
  if (w) w(m, process.hrtime.bigint());
});
await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });

const pct = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(s.length * p))]; };
const fmt = (a) => `p50 ${pct(a, 0.5).toFixed(2)} ms, p99 ${pct(a, 0.99).toFixed(2)} ms, max ${Math.max(...a).toFixed(2)} ms`;
let failed = 0;

// Idle: one request at a time.
const client = [];
for (let i = 0; i < idleN; i++) {
  const id = `idle${i}`;
  await new Promise((resolve) => {
    let ack;
    const timer = setTimeout(() => { failed++; waiting.delete(id); resolve(); }, 10_000);
    waiting.set(id, (m, t) => {
      if (m.type === 'acknowledgment') ack = t;
      else if (m.type === 'progress' && ack !== undefined && client.length <= i) client.push(Number(t - ack) / 1e6);
      else if (m.type === 'complete' || m.type === 'error') {
        if (m.type === 'error') failed++;
        clearTimeout(timer);
        waiting.delete(id);
        resolve();
      }
    });
    ws.send(JSON.stringify({ action: 'echo_async', id, payload: { i } }));
  });
  await new Promise((r) => setTimeout(r, 20)); // idle between requests: processors are asleep again
}
const rows = spawnSync('sqlite3', [env.BENCH_DB, "SELECT started_at - created_at FROM requests WHERE request_id LIKE 'idle%'"], { encoding: 'utf8' })
  .stdout.split('\n').filter(Boolean).map(Number);
console.log(`idle, ${idleN} requests one at a time:`);
console.log(`  pick-up in the store (created -> claimed): ${fmt(rows)}`);
console.log(`  at the client (acknowledgment -> first progress): ${fmt(client)}`);

// Load: everything at once.
let done = 0;
const t0 = process.hrtime.bigint();
const all = new Promise((resolve) => {
  for (let i = 0; i < loadN; i++) {
    const id = `load${i}`;
    waiting.set(id, (m) => {
      if (m.type === 'complete' || m.type === 'error') {
        if (m.type === 'error') failed++;
        waiting.delete(id);
        if (++done === loadN) resolve();
      }
    });
    ws.send(JSON.stringify({ action: 'echo_async', id, payload: { i } }));
  }
});
const timeout = new Promise((r) => setTimeout(r, 120_000));
await Promise.race([all, timeout]);
const s = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(`load, ${loadN} requests at once: ${done} completed in ${s.toFixed(2)} s = ${Math.round(done / s)} requests/s`);
const wait = spawnSync('sqlite3', [env.BENCH_DB, "SELECT started_at - created_at FROM requests WHERE request_id LIKE 'load%'"], { encoding: 'utf8' })
  .stdout.split('\n').filter(Boolean).map(Number);
console.log(`  queue wait under load: ${fmt(wait)}`);
const attempts = spawnSync('sqlite3', [env.BENCH_DB, "SELECT count(*), sum(attempts) FROM requests WHERE status = 'COMPLETED'"], { encoding: 'utf8' }).stdout.trim();
console.log(`  completed rows, total attempts: ${attempts} (equal: each ran once)`);
ws.close();
if (failed || done !== loadN) {
  console.log(`FAILED: ${failed} errors, ${loadN - done} missing`);
  process.exit(1);
}

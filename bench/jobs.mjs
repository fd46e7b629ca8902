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
// second at the client for BENCH_LOAD echo_async requests, up to the last
// result pushed. Results that never arrive are looked up with request.status
// and reported; any request not COMPLETED in the end fails the run.
//   BENCH_TIMELINE=1       also print the load's arrivals per second by message
//                          type, and what each request not pushed did receive
import { spawnSync } from 'node:child_process';
import { WebSocket } from './util.mjs';
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
// sql(SQL): the rows of a query on either engine, one line each, columns joined by '|'.
const sql = (q) => (env.BENCH_DB.includes('://')
  ? spawnSync('psql', ['-qAt', '-d', env.BENCH_DB, '-c', q], { encoding: 'utf8' })
  : spawnSync('sqlite3', [env.BENCH_DB, q], { encoding: 'utf8' })).stdout.split('\n').filter(Boolean);
const rows = sql("SELECT started_at - created_at FROM requests WHERE request_id LIKE 'idle%'").map(Number);
console.log(`idle, ${idleN} requests one at a time:`);
console.log(`  pick-up in the store (created -> claimed): ${fmt(rows)}`);
console.log(`  at the client (acknowledgment -> first progress): ${fmt(client)}`);

// Load: everything at once. A request whose result push never arrives is
// looked up with request.status once the pushes have stopped for 5 s, as the
// SDK does after checkInterval; it counts as recovered, not as pushed.
let done = 0;
let lastAt = process.hrtime.bigint();
const t0 = lastAt;
let finish;
const timeline = !!env.BENCH_TIMELINE;
const tl = []; //   per second: { type: count }
const seen = {}; // per request: the types received
const all = new Promise((resolve) => {
  finish = resolve;
  for (let i = 0; i < loadN; i++) {
    const id = `load${i}`;
    waiting.set(id, (m, t) => {
      lastAt = t;
      if (timeline) {
        (seen[id] = seen[id] || []).push(m.type);
        const sec = Number((t - t0) / 1_000_000_000n);
        tl[sec] = tl[sec] || {};
        tl[sec][m.type] = (tl[sec][m.type] || 0) + 1;
      }
      if (m.type === 'complete' || m.type === 'error') {
        if (m.type === 'error') failed++;
        waiting.delete(id);
        if (++done === loadN) resolve();
      }
    });
    ws.send(JSON.stringify({ action: 'echo_async', id, payload: { i } }));
  }
});
const quiet = setInterval(() => {
  if (process.hrtime.bigint() - lastAt > 5_000_000_000n) finish();
}, 250);
const timeout = setTimeout(() => finish(), 120_000);
await all;
clearInterval(quiet);
clearTimeout(timeout);
const s = Number(lastAt - t0) / 1e9;
if (timeline) tl.forEach((x, i) => x && console.log(`  t=${i}s ${JSON.stringify(x)}`));
console.log(`load, ${loadN} requests at once: ${done} results pushed in ${s.toFixed(2)} s = ${Math.round(done / s)} requests/s`);
const lost = [...waiting.keys()].filter((id) => id.startsWith('load'));
for (const id of lost) {
  waiting.delete(id); // a push arriving now no longer counts
  if (timeline) console.log(`  not pushed ${id}: received ${JSON.stringify(seen[id])}`);
}
let recovered = 0;
for (const id of lost) {
  const st = await new Promise((resolve) => {
    const sid = `status-${id}`;
    const timer = setTimeout(() => { waiting.delete(sid); resolve(null); }, 10_000);
    waiting.set(sid, (m) => { clearTimeout(timer); waiting.delete(sid); resolve(m); });
    ws.send(JSON.stringify({ action: 'request.status', id: sid, payload: { request_id: id } }));
  });
  if (st?.type === 'response' && st.data?.status === 'COMPLETED') {
    recovered++;
    done++;
  }
}
if (lost.length) {
  console.log(`  results not pushed: ${lost.length} (${(100 * lost.length / loadN).toFixed(2)} %), ` +
    `${recovered} of them COMPLETED and read with request.status`);
}
const wait = sql("SELECT started_at - created_at FROM requests WHERE request_id LIKE 'load%'").map(Number);
console.log(`  queue wait under load: ${fmt(wait)}`);
const attempts = sql("SELECT count(*), sum(attempts) FROM requests WHERE status = 'COMPLETED'").join('');
console.log(`  completed rows, total attempts: ${attempts} (equal: each ran once)`);
ws.close();
if (failed || done !== loadN) {
  console.log(`FAILED: ${failed} errors, ${loadN - done} missing`);
  process.exit(1);
}

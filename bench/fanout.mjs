// fanout.mjs - broadcast fan-out: time from `streamer broadcast` until the last of N WebSocket clients has the message, beside a direct publish to Pushpin (the floor).
//
// Run by bench/fanout, which starts the stack and passes its settings:
//   BENCH_WS_URL, BENCH_PUBLISH_URL, BENCH_CLI, BENCH_KEY (private key for
//   tokens), BENCH_ENV_FILE (the workers' settings, for the CLI), and
//   BENCH_SIZES ("1000 10000"), BENCH_ROUNDS (7), BENCH_CONNECT_CONCURRENCY (50).
// Several nodes (bench/nodes): BENCH_WS_URL and BENCH_PUBLISH_URL may each list
// several URLs, space-separated: clients are spread over the WebSocket URLs in
// turn, and the floor publishes to every publish URL at once (as the workers
// push to every node of STREAMER_CALLBACK_URL).
// For each size it connects N clients of one tenant, then alternates rounds of
//   streamer:  spawn `streamer broadcast --tenant T MSG` (the CLI resolves
//              nothing for a tenant: one publish item on tenant:T), and
//   floor:     spawn `curl` publishing the same message to tenant:T itself,
// each time measuring until every client has that round's message. Prints the
// median and best of each, and the difference; exits 1 if a client missed a
// message or a call failed.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { WebSocket, mintToken } from './util.mjs';

const env = process.env;
const sizes = (env.BENCH_SIZES || '1000 10000').split(/\s+/).filter(Boolean).map(Number);
const rounds = Number(env.BENCH_ROUNDS || 7);
const concurrency = Number(env.BENCH_CONNECT_CONCURRENCY || 50);
const cliEnv = { PATH: env.PATH, HOME: env.HOME || '/root' };
for (const line of readFileSync(env.BENCH_ENV_FILE, 'utf8').split('\n')) {
  const i = line.indexOf('=');
  if (i > 0) cliEnv[line.slice(0, i)] = line.slice(i + 1);
}

const token = (sub, tenant) => mintToken(env.BENCH_CLI, env.BENCH_KEY, sub, tenant);

function run(cmd, args, opts = {}) {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('close', (status) => resolve({ status, out, err }));
  });
}

async function connectAll(n, tenant) {
  const tok = token('fan', tenant);
  const urls = env.BENCH_WS_URL.split(/\s+/).filter(Boolean).map((u) => `${u}?Authorization=${encodeURIComponent(tok)}`);
  const clients = [];
  let next = 0;
  const t0 = process.hrtime.bigint();
  async function one() {
    while (next < n) {
      const ws = new WebSocket(urls[next++ % urls.length], { perMessageDeflate: false });
      ws.waiting = null;
      ws.on('message', (data) => { if (ws.waiting) ws.waiting(String(data)); });
      ws.on('error', () => {});
      await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
        ws.once('unexpected-response', (_, res) => reject(new Error(`handshake ${res.statusCode}`)));
      });
      clients.push(ws);
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, one));
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`  connected ${n} clients in ${s.toFixed(1)} s (${Math.round(n / s)}/s)`);
  return clients;
}

// Resolves with the ms from start until every client got a message containing mark.
function arrivals(clients, mark) {
  let left = clients.length;
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${left} of ${clients.length} clients did not get ${mark} within 30 s`)), 30_000);
    for (const ws of clients) {
      ws.waiting = (m) => {
        if (!m.includes(mark)) return;
        ws.waiting = null;
        if (--left === 0) {
          clearTimeout(t);
          resolve(process.hrtime.bigint());
        }
      };
    }
  });
}

async function round(clients, tenant, how, i) {
  const mark = `${how}-${i}-${Math.random().toString(36).slice(2, 8)}`;
  const msg = JSON.stringify({ type: 'notice', mark });
  const done = arrivals(clients, mark);
  const t0 = process.hrtime.bigint();
  let r;
  if (how === 'streamer') {
    r = await run(env.BENCH_CLI, ['broadcast', '--tenant', tenant, msg], { env: cliEnv });
  } else {
    const body = JSON.stringify({ items: [{ channel: `tenant:${tenant}`, formats: { 'ws-message': { content: msg } } }] });
    const all = await Promise.all(env.BENCH_PUBLISH_URL.split(/\s+/).filter(Boolean)
      .map((u) => run('curl', ['-sS', '-f', '-d', body, '-H', 'Content-Type: application/json', u])));
    r = all.find((x) => x.status !== 0) || all[0];
  }
  if (r.status !== 0) throw new Error(`${how}: exit ${r.status}: ${r.err}`);
  const t1 = await done;
  return Number(t1 - t0) / 1e6;
}

const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };

let failed = false;
const rows = [];
for (const n of sizes) {
  const tenant = `fan${n}x${process.pid}`;
  console.log(`N = ${n}`);
  const clients = await connectAll(n, tenant);
  const times = { streamer: [], floor: [] };
  try {
    await round(clients, tenant, 'floor', -1); // warm up both paths
    await round(clients, tenant, 'streamer', -1);
    for (let i = 0; i < rounds; i++) {
      for (const how of i % 2 ? ['streamer', 'floor'] : ['floor', 'streamer']) {
        times[how].push(await round(clients, tenant, how, i));
      }
    }
  } catch (e) {
    console.log(`  FAILED: ${e.message}`);
    failed = true;
  }
  for (const ws of clients) ws.terminate();
  if (times.floor.length === rounds && times.streamer.length === rounds) {
    const row = {
      n,
      floor_median: median(times.floor), floor_best: Math.min(...times.floor),
      streamer_median: median(times.streamer), streamer_best: Math.min(...times.streamer),
    };
    row.added = row.streamer_median - row.floor_median;
    rows.push(row);
    console.log(`  floor (curl publish):     median ${row.floor_median.toFixed(1)} ms, best ${row.floor_best.toFixed(1)} ms`);
    console.log(`  streamer broadcast (CLI): median ${row.streamer_median.toFixed(1)} ms, best ${row.streamer_best.toFixed(1)} ms`);
    console.log(`  streamer adds ${row.added.toFixed(1)} ms (target <= 10 ms)`);
  }
  await new Promise((r) => setTimeout(r, 2000)); // let Pushpin drop the terminated connections
}
console.log('\nsummary (ms, median of', rounds, 'rounds):');
console.log('N\tfloor\tstreamer\tadded');
for (const r of rows) console.log(`${r.n}\t${r.floor_median.toFixed(1)}\t${r.streamer_median.toFixed(1)}\t\t${r.added.toFixed(1)}`);
process.exit(failed ? 1 : 0);

// api.mjs - the server HTTP API: POST /api/v1/broadcast calls/s, and the time from a call until the last of N subscribed clients has the event, beside the CLI and a direct Pushpin publish (the floor).
//
// Run by bench/api, which starts the stack and passes its settings:
//   BENCH_WS_URL, BENCH_HTTP_URL (the web server), BENCH_PUBLISH_URL (Pushpin's
//   publish API), BENCH_CLI, BENCH_KEY (private key for tokens), BENCH_ENV_FILE
//   (the workers' settings, for the CLI), STREAMER_API_KEY; and BENCH_CONCURRENCY
//   ("1 8 32"), BENCH_SECONDS (5), BENCH_CLIENTS (1000), BENCH_ROUNDS (7),
//   BENCH_CONNECT_CONCURRENCY (50), BENCH_KINDS ("floor api cli").
// Three ways to get an event to a topic's subscribers:
//   floor: POST {"items":[{"channel":"topic:<tenant>:<topic>",…}]} to Pushpin itself
//          (keep-alive; no numbering, no store: what any push costs at least);
//   api:   POST /api/v1/broadcast {"tenant","topic","data"} on the web server
//          (keep-alive, Bearer key);
//   cli:   spawn `streamer broadcast --tenant T --topic X DATA`.
// Part 1 runs C concurrent callers of each for BENCH_SECONDS on a topic without
// subscribers and prints calls/s and call latency; part 2 connects N clients
// subscribed to one topic and times rounds from the call until every client has
// that round's event. Exits 1 on a failed call or a missed event.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import http from 'node:http';
import { WebSocket, intEnv, mintToken, percentile } from './util.mjs';

const env = process.env;
const KINDS = (env.BENCH_KINDS || 'floor api cli').split(/\s+/).filter(Boolean);
for (const k of KINDS) if (!['floor', 'api', 'cli'].includes(k)) throw new Error(`BENCH_KINDS: unknown kind ${k}`);
const CONCURRENCY = (env.BENCH_CONCURRENCY || '1 8 32').split(/\s+/).filter(Boolean).map(Number);
const SECONDS = intEnv('BENCH_SECONDS', 5);
const CLIENTS = env.BENCH_CLIENTS === '0' ? 0 : intEnv('BENCH_CLIENTS', 1000);
const ROUNDS = intEnv('BENCH_ROUNDS', 7);
const CONNECT_CONCURRENCY = intEnv('BENCH_CONNECT_CONCURRENCY', 50);
const KEY = env.STREAMER_API_KEY;
if (!KEY) throw new Error('STREAMER_API_KEY is not set');
const cliEnv = { PATH: env.PATH, HOME: env.HOME || '/root' };
for (const line of readFileSync(env.BENCH_ENV_FILE, 'utf8').split('\n')) {
  const i = line.indexOf('=');
  if (i > 0) cliEnv[line.slice(0, i)] = line.slice(i + 1);
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

// POST body (a string) to url on a kept-alive connection; resolves { status, text }.
function post(url, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: 'POST',
      agent,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...headers },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function run(cmd, args, opts = {}) {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    p.stdout.on('data', () => {});
    p.stderr.on('data', (d) => { err += d; });
    p.on('close', (status) => resolve({ status, err }));
  });
}

// One call of kind how publishing data to topic of tenant; throws when it fails.
async function publish(how, tenant, topic, data) {
  if (how === 'floor') {
    // What the workers push for a topic: the event on the topic's channel.
    const content = JSON.stringify({ type: 'event', topic, data, timestamp: new Date().toISOString() });
    const r = await post(env.BENCH_PUBLISH_URL,
      JSON.stringify({ items: [{ channel: `topic:${tenant}:${topic}`, formats: { 'ws-message': { content } } }] }));
    if (r.status !== 200) throw new Error(`floor: HTTP ${r.status} ${r.text}`);
  } else if (how === 'api') {
    const r = await post(`${env.BENCH_HTTP_URL}/api/v1/broadcast`, JSON.stringify({ tenant, topic, data }),
      { Authorization: `Bearer ${KEY}` });
    if (r.status !== 200) throw new Error(`api: HTTP ${r.status} ${r.text}`);
  } else {
    const r = await run(env.BENCH_CLI, ['broadcast', '--tenant', tenant, '--topic', topic, JSON.stringify(data)], { env: cliEnv });
    if (r.status !== 0) throw new Error(`cli: exit ${r.status}: ${r.err}`);
  }
}

// CPU ticks (utime + stime) of each role's process tree, from BENCH_CPU_ROOTS ("role:pid ...",
// bench/api fills it in: multiwatch, the web server, zurl, Pushpin's runner, the PostgreSQL
// postmaster); the trees are walked at each reading, so workers and database sessions
// started later count too. The client: this process and the children it waited for (the CLI).
const CLK_TCK = 100; // Linux's USER_HZ for /proc/<pid>/stat
function procStat(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}
function cpuByRole() {
  const children = new Map();
  const ticks = new Map();
  for (const pid of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(pid)) continue;
    const f = procStat(pid);
    if (!f) continue;
    ticks.set(pid, Number(f[11]) + Number(f[12]));
    if (!children.has(f[1])) children.set(f[1], []);
    children.get(f[1]).push(pid);
  }
  const out = {};
  for (const item of (env.BENCH_CPU_ROOTS || '').split(/\s+/).filter(Boolean)) {
    const [role, root] = item.split(':');
    let sum = 0;
    for (const stack = [root]; stack.length;) {
      const pid = stack.pop();
      sum += ticks.get(pid) || 0;
      stack.push(...(children.get(pid) || []));
    }
    out[role] = (out[role] || 0) + sum;
  }
  const self = procStat('self');
  out.client = Number(self[11]) + Number(self[12]) + Number(self[13]) + Number(self[14]);
  return out;
}

const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const LABEL = { floor: 'floor (POST to Pushpin)', api: 'api (POST /api/v1/broadcast)', cli: 'cli (streamer broadcast)' };
let failed = false;

// ---- part 1: calls per second ------------------------------------------------------
const rate = {}; // `${how} ${c}` -> { perSecond, p50, p99, errors }
if (SECONDS > 0 && CONCURRENCY.length) {
  console.log(`calls per second, ${SECONDS} s per line, a topic without subscribers:`);
  const tenant = `rate${process.pid}`;
  for (const c of CONCURRENCY) {
    for (const how of KINDS) {
      const lat = [];
      let errors = 0;
      let firstError = '';
      const cpu0 = cpuByRole();
      const end = performance.now() + SECONDS * 1000;
      const t0 = performance.now();
      await Promise.all(Array.from({ length: c }, async (_, w) => {
        for (let n = 0; performance.now() < end; n++) {
          const s = process.hrtime.bigint();
          try {
            await publish(how, tenant, 'quiet', { w, n });
            lat.push(ms(s));
          } catch (e) {
            errors++;
            firstError ||= e.message;
          }
        }
      }));
      const secs = (performance.now() - t0) / 1000;
      lat.sort((a, b) => a - b);
      const row = { perSecond: lat.length / secs, p50: percentile(lat, 50), p99: percentile(lat, 99), errors };
      rate[`${how} ${c}`] = row;
      console.log(`  C=${String(c).padEnd(3)} ${LABEL[how].padEnd(30)} ${row.perSecond.toFixed(0).padStart(6)} calls/s` +
        `   latency ms p50 ${row.p50.toFixed(1)} p99 ${row.p99.toFixed(1)}${errors ? `   ${errors} FAILED (${firstError})` : ''}`);
      if (errors) failed = true;
      const cpu1 = cpuByRole();
      const per = Object.keys(cpu1).map((r) => [r, ((cpu1[r] - (cpu0[r] || 0)) / CLK_TCK) * 1e6 / Math.max(1, lat.length)]);
      const total = per.reduce((a, [, us]) => a + us, 0);
      row.cpu = Object.fromEntries(per);
      row.cpuTotal = total;
      console.log(`        CPU µs a call: ${per.map(([r, us]) => `${r} ${us.toFixed(0)}`).join(', ')}; total ${total.toFixed(0)}` +
        ` (${((total * lat.length) / 1e6 / secs).toFixed(2)} cores)`);
    }
  }
}

// ---- part 2: fan-out to N subscribed clients --------------------------------------------
async function connectAll(n, tenant, topic) {
  const tok = mintToken(env.BENCH_CLI, env.BENCH_KEY, 'fan', tenant);
  const url = `${env.BENCH_WS_URL}?Authorization=${encodeURIComponent(tok)}`;
  const clients = [];
  let next = 0;
  const t0 = process.hrtime.bigint();
  async function one() {
    while (next < n) {
      next++;
      const ws = new WebSocket(url, { perMessageDeflate: false });
      ws.waiting = null;
      ws.on('error', () => {});
      await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
        ws.once('unexpected-response', (_, res) => reject(new Error(`handshake ${res.statusCode}`)));
      });
      // Subscribe, and wait for the answer before the next handshake.
      await new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no answer to subscribe within 10 s')), 10_000);
        ws.on('message', (data) => {
          const m = String(data);
          if (ws.waiting) ws.waiting(m);
          else if (m.includes('"request_id":"s"')) {
            clearTimeout(t);
            if (!m.includes('"subscribed":true')) reject(new Error(`subscribe: ${m}`));
            else resolve();
          }
        });
        ws.send(JSON.stringify({ action: 'subscribe', id: 's', payload: { topic } }));
      });
      clients.push(ws);
    }
  }
  await Promise.all(Array.from({ length: Math.min(CONNECT_CONCURRENCY, n) }, one));
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`  connected and subscribed ${n} clients in ${s.toFixed(1)} s (${Math.round(n / s)}/s)`);
  return clients;
}

// Resolves with the time at which every client got a message containing mark.
function arrivals(clients, mark) {
  let left = clients.length;
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      const missing = clients.filter((ws) => ws.waiting);
      const closed = missing.filter((ws) => ws.readyState !== WebSocket.OPEN).length;
      reject(new Error(`${left} of ${clients.length} clients did not get ${mark} within 30 s (${closed} of them closed)`));
    }, 30_000);
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

async function round(clients, tenant, topic, how, i) {
  const mark = `${how}-${i}-${Math.random().toString(36).slice(2, 8)}`;
  const done = arrivals(clients, mark);
  const t0 = process.hrtime.bigint();
  await publish(how, tenant, topic, { mark });
  return Number((await done) - t0) / 1e6;
}

const rows = {};
if (CLIENTS > 0) {
  const tenant = `fan${process.pid}`;
  const topic = 'news';
  console.log(`\nfan-out: from the call until the last of ${CLIENTS} subscribed clients has the event`);
  const clients = await connectAll(CLIENTS, tenant, topic);
  const times = Object.fromEntries(KINDS.map((k) => [k, []]));
  try {
    for (const how of KINDS) await round(clients, tenant, topic, how, -1); // warm up every path
    for (let i = 0; i < ROUNDS; i++) {
      // Each kind goes first in turn.
      const order = KINDS.map((_, j) => KINDS[(i + j) % KINDS.length]);
      for (const how of order) times[how].push(await round(clients, tenant, topic, how, i));
    }
  } catch (e) {
    console.log(`  FAILED: ${e.message}`);
    failed = true;
  }
  for (const ws of clients) ws.terminate();
  for (const how of KINDS) {
    if (times[how].length !== ROUNDS) continue;
    rows[how] = { median: median(times[how]), best: Math.min(...times[how]) };
    console.log(`  ${LABEL[how].padEnd(30)} median ${rows[how].median.toFixed(1)} ms, best ${rows[how].best.toFixed(1)} ms`);
  }
  if (rows.floor && rows.api) console.log(`  the API adds ${(rows.api.median - rows.floor.median).toFixed(1)} ms to the floor`);
  if (rows.floor && rows.cli) console.log(`  the CLI adds ${(rows.cli.median - rows.floor.median).toFixed(1)} ms to the floor`);
}

console.log('\nsummary:');
if (Object.keys(rate).length) {
  console.log(`calls/s (p50 ms)\t${KINDS.join('\t')}`);
  for (const c of CONCURRENCY) {
    console.log(`C=${c}\t\t\t${KINDS.map((k) => (rate[`${k} ${c}`] ? `${rate[`${k} ${c}`].perSecond.toFixed(0)} (${rate[`${k} ${c}`].p50.toFixed(1)})` : '-')).join('\t')}`);
  }
}
if (Object.keys(rows).length) {
  console.log(`fan-out to ${CLIENTS}, ms (median of ${ROUNDS})\t${KINDS.map((k) => (rows[k] ? rows[k].median.toFixed(1) : '-')).join('\t')}`);
}
agent.destroy();
process.exit(failed ? 1 : 0);

// e2e.mjs - end-to-end benchmark through Pushpin: echo messages/s and round trips over many WebSockets, then a connect storm.
//
// Run it with bench/e2e, which starts the stack and passes its description in
// STACK_* variables (the lines of `tests/e2e/stack.sh env`): STACK_WS_URL,
// STACK_PRIVATE_KEY, STACK_CLI, STACK_DB. Exits 1 when any reply is wrong or
// missing or any connect fails.
//
// Settings (environment):
//   BENCH_CLIENTS=50               (a) WebSocket clients sending echo messages at once
//   BENCH_MESSAGES=200             (a) echo messages each client sends
//   BENCH_WINDOW=4                 (a) messages a client keeps outstanding
//   BENCH_CONNECTS=500             (b) connects in the storm
//   BENCH_CONNECT_CONCURRENCY=50   (b) connects in flight at once
//   BENCH_USERS=50                 distinct users (one RS256 token each, minted before the clock starts)
//   BENCH_PHASES="echo storm"      which phases to run
//   BENCH_TARGET=streamer          floor: the backend is bench/floor, which echoes each message as sent
//   BENCH_RESULTS=FILE             append "target phase key value" lines for bench/e2e's comparison
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { WebSocket, intEnv, mintToken, percentile as pct } from './util.mjs';

const CLIENTS = intEnv('BENCH_CLIENTS', 50);
const MESSAGES = intEnv('BENCH_MESSAGES', 200);
const WINDOW = intEnv('BENCH_WINDOW', 4);
const CONNECTS = intEnv('BENCH_CONNECTS', 500);
const CONCURRENCY = intEnv('BENCH_CONNECT_CONCURRENCY', 50);
const USERS = intEnv('BENCH_USERS', 50);
const PHASES = (process.env.BENCH_PHASES || 'echo storm').split(/[\s,]+/).filter(Boolean);
for (const p of PHASES) if (!['echo', 'storm'].includes(p)) throw new Error(`unknown phase '${p}' in BENCH_PHASES (echo, storm)`);

for (const v of ['STACK_WS_URL', 'STACK_PRIVATE_KEY', 'STACK_CLI']) {
  if (!process.env[v]) {
    console.error(`e2e.mjs: ${v} is not set: run bench/e2e, which starts the stack`);
    process.exit(2);
  }
}
const WS_URL = process.env.STACK_WS_URL;
const TARGET = process.env.BENCH_TARGET || 'streamer';
if (!['streamer', 'floor'].includes(TARGET)) throw new Error(`BENCH_TARGET must be streamer or floor, not '${TARGET}'`);

// Records one number for bench/e2e's streamer-beside-floor table.
function record(phase, key, value) {
  if (process.env.BENCH_RESULTS) appendFileSync(process.env.BENCH_RESULTS, `${TARGET} ${phase} ${key} ${value}\n`);
}

// One RS256 token per user, minted by `streamer token` before any clock runs.
function mintTokens(n) {
  return Array.from({ length: n }, (_, i) =>
    mintToken(process.env.STACK_CLI, process.env.STACK_PRIVATE_KEY, `bench-u${i}`, 'bench'));
}

const urlFor = (token) => `${WS_URL}?Authorization=${encodeURIComponent(token)}`;

const ms = (x) => x.toFixed(2);

// Opens one WebSocket; resolves with it, or rejects with a reason (the HTTP
// status and body when the handshake is refused).
function open(url, timeoutMs = 15_000) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const t = setTimeout(() => { ws.terminate(); reject(new Error('handshake timed out')); }, timeoutMs);
    ws.once('open', () => { clearTimeout(t); ws.on('error', () => {}); resolve(ws); });
    ws.once('unexpected-response', (req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => { clearTimeout(t); req.destroy(); reject(new Error(`handshake refused: ${res.statusCode} ${body.slice(0, 200)}`)); });
    });
    ws.once('error', (e) => { clearTimeout(t); reject(e); });
  });
}

function close(ws) {
  return new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) return resolve();
    const t = setTimeout(() => { ws.terminate(); resolve(); }, 5000);
    ws.once('close', () => { clearTimeout(t); resolve(); });
    ws.close(1000);
  });
}

// Checks one echo reply; returns a problem string or null. The floor
// answers with the message itself.
function replyProblem(text, id, n, sent) {
  if (TARGET === 'floor') return text === sent ? null : `the floor echoed ${text.slice(0, 200)}, expected ${sent.slice(0, 200)}`;
  let m;
  try {
    m = JSON.parse(text);
  } catch {
    return `reply is not JSON: ${text.slice(0, 200)}`;
  }
  if (m.type !== 'response' || m.success !== true) return `not a successful response: ${text.slice(0, 200)}`;
  if (m.request_id !== id) return `request_id ${m.request_id}, expected ${id}`;
  if (m.data?.echo?.n !== n) return `echo ${JSON.stringify(m.data?.echo)}, expected n=${n}`;
  return null;
}

// (a) CLIENTS clients each send MESSAGES echo messages, WINDOW outstanding;
// replies arrive in order per connection, so a FIFO of send times per client
// gives each round trip.
async function echoPhase(tokens) {
  const clients = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => open(urlFor(tokens[i % tokens.length]))));
  const rtts = [];
  const problems = [];
  const payloadText = 'x'.repeat(64);
  const start = performance.now();
  await Promise.all(clients.map((ws, ci) => new Promise((resolve) => {
    const pending = []; // [id, n, sentAt, text]
    let sent = 0;
    let received = 0;
    let idle;
    let done = false;
    const finish = (problem) => {
      if (done) return;
      done = true;
      if (problem) problems.push(`client ${ci}: ${problem}`);
      clearTimeout(idle);
      ws.removeAllListeners('message');
      resolve();
    };
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(() => finish(`no reply within 30 s (${received}/${MESSAGES} received)`), 30_000);
    };
    const sendNext = () => {
      const n = sent++;
      const id = `c${ci}-${n}`;
      const text = JSON.stringify({ action: 'echo', id, payload: { n, text: payloadText } });
      pending.push([id, n, performance.now(), text]);
      ws.send(text);
    };
    ws.on('message', (data) => {
      const now = performance.now();
      const head = pending.shift();
      if (!head) return finish(`unexpected message: ${String(data).slice(0, 200)}`);
      const p = replyProblem(String(data), head[0], head[1], head[3]);
      if (p) return finish(p);
      rtts.push(now - head[2]);
      received++;
      if (received === MESSAGES) return finish(null);
      if (sent < MESSAGES) sendNext();
      arm();
    });
    ws.once('close', (code) => { if (received < MESSAGES) finish(`closed (${code}) after ${received}/${MESSAGES} replies`); });
    arm();
    while (sent < Math.min(WINDOW, MESSAGES)) sendNext();
  })));
  const elapsed = (performance.now() - start) / 1000;
  await Promise.all(clients.map(close));
  rtts.sort((a, b) => a - b);
  const total = rtts.length;
  console.log(`(a) echo: ${CLIENTS} clients x ${MESSAGES} messages, window ${WINDOW}, ${USERS} users`);
  console.log(`    ${total}/${CLIENTS * MESSAGES} replies in ${elapsed.toFixed(2)} s: ${(total / elapsed).toFixed(0)} messages/s`);
  console.log(`    round trip ms: p50 ${ms(pct(rtts, 50))}  p90 ${ms(pct(rtts, 90))}  p99 ${ms(pct(rtts, 99))}  max ${ms(rtts[total - 1] ?? NaN)}`);
  record('echo', 'messages/s', (total / elapsed).toFixed(1));
  record('echo', 'p50_ms', ms(pct(rtts, 50)));
  record('echo', 'p99_ms', ms(pct(rtts, 99)));
  return problems;
}

// (b) CONNECTS connects, CONCURRENCY at a time: each opens a WebSocket
// through Pushpin (the backend verifies the RS256 token and stores the
// connection before Pushpin completes the handshake), then closes it.
async function stormPhase(tokens) {
  const times = [];
  const problems = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, CONNECTS) }, async () => {
    while (next < CONNECTS) {
      const i = next++;
      const t0 = performance.now();
      let ws;
      try {
        ws = await open(urlFor(tokens[i % tokens.length]));
      } catch (e) {
        problems.push(`connect ${i}: ${e.message}`);
        continue;
      }
      times.push(performance.now() - t0);
      await close(ws);
    }
  }));
  const elapsed = (performance.now() - start) / 1000;
  times.sort((a, b) => a - b);
  console.log(`(b) connect storm: ${CONNECTS} connects (open + close), ${CONCURRENCY} at a time, RS256 tokens of ${USERS} users`);
  console.log(`    ${times.length}/${CONNECTS} succeeded in ${elapsed.toFixed(2)} s: ${(times.length / elapsed).toFixed(0)} connects/s`);
  console.log(`    connect (handshake) ms: p50 ${ms(pct(times, 50))}  p90 ${ms(pct(times, 90))}  p99 ${ms(pct(times, 99))}  max ${ms(times[times.length - 1] ?? NaN)}`);
  record('storm', 'connects/s', (times.length / elapsed).toFixed(1));
  record('storm', 'p50_ms', ms(pct(times, 50)));
  record('storm', 'p99_ms', ms(pct(times, 99)));
  return problems;
}

// CPU ticks (utime + stime) per role of the stack's processes, from
// BENCH_CPU_PIDS ("role:pid ..."; bench/e2e fills it in); {} without it.
const CLK_TCK = 100; // Linux's USER_HZ for /proc/<pid>/stat
// The fields of /proc/<pid>/stat after the command name (f[1] is the parent,
// f[11] + f[12] the CPU ticks), or null when the process is gone.
function procStat(pid) {
  let stat;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

function stackCpu() {
  const sum = {};
  for (const item of (process.env.BENCH_CPU_PIDS || '').split(/\s+/).filter(Boolean)) {
    const [role, pid] = item.split(':');
    const f = procStat(pid);
    if (f) sum[role] = (sum[role] || 0) + Number(f[11]) + Number(f[12]);
  }
  return sum;
}

// Busy ticks of the whole machine (user + nice + system), from /proc/stat.
function machineCpu() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  return Number(f[1]) + Number(f[2]) + Number(f[3]);
}

// CPU ticks of the kernel's threads (children of kthreadd, pid 2): network
// softirqs and writeback run there, for whoever caused them.
function kthreadCpu() {
  let sum = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(pid)) continue;
    const f = procStat(pid);
    if (f && f[1] === '2') sum += Number(f[11]) + Number(f[12]);
  }
  return sum;
}

const tokens = mintTokens(USERS);
const problems = [];
for (const phase of PHASES) {
  const cpu0 = process.cpuUsage();
  const stack0 = stackCpu();
  const machine0 = machineCpu();
  const kthread0 = kthreadCpu();
  const t0 = performance.now();
  problems.push(...await (phase === 'echo' ? echoPhase(tokens) : stormPhase(tokens)));
  const wall = (performance.now() - t0) / 1000;
  const machine = (machineCpu() - machine0) / CLK_TCK;
  const kthreads = (kthreadCpu() - kthread0) / CLK_TCK;
  const stack1 = stackCpu();
  const cpu = process.cpuUsage(cpu0);
  const parts = Object.keys(stack1).sort().map((r) => [r, (stack1[r] - (stack0[r] || 0)) / CLK_TCK]);
  parts.push(['client (node)', (cpu.user + cpu.system) / 1e6]);
  const total = parts.reduce((a, [, s]) => a + s, 0);
  console.log(`    CPU over the phase (${wall.toFixed(2)} s, opens and closes included): ` +
    `${parts.map(([r, s]) => `${r} ${s.toFixed(2)} s`).join(', ')}; total ${total.toFixed(2)} s = ${(total / wall).toFixed(2)} cores`);
  // The machine's busy time against what the stack, the client and the
  // kernel's threads used: the rest went to other programs.
  const other = (machine - total - kthreads) / wall;
  console.log(`    machine busy ${(machine / wall).toFixed(2)} cores of ${availableParallelism()} ` +
    `(kernel threads ${(kthreads / wall).toFixed(2)}); other programs ${other.toFixed(2)} cores`);
  if (other > 0.25) console.error(`e2e.mjs: WARNING: about ${other.toFixed(2)} cores went to other programs during the ${phase} phase: the numbers are skewed`);
}
if (problems.length) {
  console.error(`e2e.mjs: FAILED: ${problems.length} problems, the first ones:\n  ${problems.slice(0, 10).join('\n  ')}`);
  process.exit(1);
}

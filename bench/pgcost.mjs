// pgcost.mjs - CPU per operation of each part of one stack (workers, processor, database server, Pushpin + zurl, web server): echo, publish to a subscriber, connect + close, an async request; bench/pgcost runs it on each engine.
//
// Settings (environment, bench/pgcost fills them in): BENCH_WS_URL, BENCH_CLI,
// BENCH_KEY (the stack's private JWT key), BENCH_CPU_PIDS ("role:pid ...",
// bench_procs), BENCH_OPS=2000 (operations per kind), BENCH_CLIENTS=20.
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { WebSocket, intEnv } from './util.mjs';

const OPS = intEnv('BENCH_OPS', 2000);
const CLIENTS = intEnv('BENCH_CLIENTS', 20);
const URL = process.env.BENCH_WS_URL;
const CLI = process.env.BENCH_CLI;
const KEY = process.env.BENCH_KEY;
if (!URL || !CLI || !KEY) throw new Error('BENCH_WS_URL, BENCH_CLI and BENCH_KEY must be set (bench/pgcost does)');
const CLK_TCK = 100;

// CPU ticks per role of BENCH_CPU_PIDS's processes (and their children: slots, sessions).
function cpu() {
  const sum = {};
  const add = (role, pid) => {
    let stat;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return;
    }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    sum[role] = (sum[role] || 0) + Number(f[11]) + Number(f[12]);
  };
  for (const item of (process.env.BENCH_CPU_PIDS || '').split(/\s+/).filter(Boolean)) {
    const [role, pid] = item.split(':');
    add(role, pid);
  }
  return sum;
}

// A token for sub (with permissions, e.g. 'publish'), minted by the CLI.
function token(sub, permissions) {
  const args = ['token', '--key', KEY, '--sub', sub, '--tenant', 'bench', '--ttl', '3600'];
  if (permissions) args.push('--permissions', permissions);
  const r = spawnSync(CLI, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`streamer token failed: ${r.stderr}`);
  return r.stdout.trim();
}

// A client with token tok: resolves once open; its send(msg) resolves with the
// first answer to msg.id; pushes are counted.
function client(tok) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${URL}?Authorization=${encodeURIComponent(tok)}`);
    const waiting = new Map();
    const c = {
      ws,
      pushes: 0,
      onPush: null,
      send(msg) {
        return new Promise((res) => {
          waiting.set(msg.id, res);
          ws.send(JSON.stringify(msg));
        });
      },
    };
    ws.on('message', (data) => {
      const m = JSON.parse(String(data));
      const w = waiting.get(m.request_id);
      if (w && (m.type === 'response' || m.type === 'error' || m.type === 'acknowledgment')) {
        waiting.delete(m.request_id);
        w(m);
      } else if (m.type === 'complete' || m.type === 'event') {
        c.pushes += 1;
        c.onPush?.(m);
      }
    });
    ws.once('open', () => resolve(c));
    ws.once('error', reject);
  });
}

// Runs n operations over `clients`, `window` outstanding per client.
async function spread(clients, n, op, window = 4) {
  let next = 0;
  await Promise.all(clients.flatMap((c) => Array.from({ length: window }, async () => {
    while (next < n) {
      const i = next++;
      const m = await op(c, i);
      if (m && m.type === 'error') throw new Error(JSON.stringify(m));
    }
  })));
}

async function phase(name, n, body) {
  const c0 = cpu();
  const t0 = performance.now();
  await body();
  const wall = (performance.now() - t0) / 1000;
  const c1 = cpu();
  const roles = Object.keys(c1).sort();
  const per = roles.map((r) => `${r} ${(((c1[r] - (c0[r] || 0)) / CLK_TCK) * 1e6 / n).toFixed(0)}`);
  console.log(`${name.padEnd(16)} ${String(n).padStart(6)} ops ${(n / wall).toFixed(0).padStart(6)} ops/s   CPU µs per op: ${per.join(', ')}`);
}

const clients = [];
for (let i = 0; i < CLIENTS; i++) clients.push(await client(token(`pc${i}`)));

await phase('echo', OPS, () => spread(clients, OPS, (c, i) => c.send({ action: 'echo', id: `e${i}`, payload: { i } })));

// publish: 4 publishers, one subscriber that gets every event
{
  const pubs = [];
  for (let i = 0; i < 4; i++) pubs.push(await client(token(`pp${i}`, 'publish')));
  const sub = clients[0];
  const m = await sub.send({ action: 'subscribe', id: 'sub1', payload: { topic: 'cost' } });
  if (m.type !== 'response') throw new Error(JSON.stringify(m));
  const before = sub.pushes;
  await phase('publish (1 sub)', OPS, async () => {
    await spread(pubs, OPS, (c, i) => c.send({ action: 'publish', id: `p${i}`, payload: { topic: 'cost', data: { i } } }));
    const until = Date.now() + 10_000;
    while (sub.pushes - before < OPS && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  });
  for (const p of pubs) p.ws.close();
}

// connect + close: 10 at a time, tokens of 50 users minted before the clock starts
const tokens = Array.from({ length: 50 }, (_, i) => token(`cc${i}`));
await phase('connect + close', Math.min(OPS, 500), async () => {
  let next = 0;
  const n = Math.min(OPS, 500);
  await Promise.all(Array.from({ length: 10 }, async () => {
    while (next < n) {
      next++;
      const c = await client(tokens[next % 50]);
      await new Promise((r) => { c.ws.once('close', r); c.ws.close(); });
    }
  }));
});

if (process.env.BENCH_ASYNC !== '0') {
  const n = Math.min(OPS, 1000);
  let done = 0;
  for (const c of clients) c.onPush = (m) => { if (m.type === 'complete') done += 1; };
  await phase('async request', n, async () => {
    await spread(clients, n, (c, i) => c.send({ action: 'echo_async', id: `a${i}`, payload: { i } }), 2);
    const until = Date.now() + 60_000;
    while (done < n && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    if (done < n) console.log(`  (${n - done} completes not pushed within 60 s)`);
  });
}
for (const c of clients) c.ws.close();

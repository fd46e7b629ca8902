// delivery.mjs - events flooded to a subscriber through Pushpin: live, recovered and lost events and the publish-to-app time, for the SDK with streams, the SDK before them, and a raw client.
//
// Run by bench/delivery, which starts the stack and passes BENCH_WS_URL,
// BENCH_CLI, BENCH_KEY and BENCH_OLD_SDK (a copy of the old www/streamer.js,
// or empty), and the BENCH_* settings it documents.
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { WebSocket, SRC, intEnv, percentile, mintToken } from './util.mjs';

const env = process.env;
const counts = (env.BENCH_COUNTS || '1000 10000').split(/\s+/).filter(Boolean).map(Number);
const eventBytes = intEnv('BENCH_EVENT_BYTES', 4096);
const publishers = intEnv('BENCH_PUBLISHERS', 4);
const window = intEnv('BENCH_WINDOW', 16);
const kinds = (env.BENCH_KINDS || 'sdk old raw').split(/\s+/).filter(Boolean)
  .filter((k) => k !== 'old' || env.BENCH_OLD_SDK);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const url = (sub, tenant = 'bench') =>
  `${env.BENCH_WS_URL}?Authorization=${encodeURIComponent(mintToken(env.BENCH_CLI, env.BENCH_KEY, sub, tenant))}`;
// Publishing needs the publish permission: tokens minted with it.
function publisherUrl(sub) {
  const r = spawnSync(env.BENCH_CLI, ['token', '--key', env.BENCH_KEY, '--sub', sub, '--tenant', 'bench',
    '--ttl', '3600', '--permissions', 'publish'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`streamer token failed: ${r.stderr}`);
  return `${env.BENCH_WS_URL}?Authorization=${encodeURIComponent(r.stdout.trim())}`;
}

function open(u) {
  const ws = new WebSocket(u, { perMessageDeflate: false });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_, res) => reject(new Error(`handshake ${res.statusCode}`)));
  });
}

// Publishes count events of eventBytes to topic from `publishers` connections,
// each keeping `window` publishes in flight; data carries {i, t: ms at send}.
async function flood(topic, count) {
  const conns = await Promise.all(Array.from({ length: publishers }, (_, k) => open(publisherUrl(`pub-${k}-${topic}`))));
  const pad = 'x'.repeat(eventBytes);
  let next = 0;
  let failed = 0;
  await Promise.all(conns.map((ws) => new Promise((resolve) => {
    let inFlight = 0;
    const pump = () => {
      while (inFlight < window && next < count) {
        const i = next++;
        inFlight++;
        ws.send(JSON.stringify({ action: 'publish', id: `p${i}`, payload: { topic, data: { i, t: Date.now(), pad } } }));
      }
      if (inFlight === 0 && next >= count) resolve();
    };
    ws.on('message', (d) => {
      const m = JSON.parse(String(d));
      if (!/^p\d+$/.test(m.request_id || '')) return;
      if (m.type !== 'response') failed++;
      inFlight--;
      pump();
    });
    pump();
  })));
  for (const ws of conns) ws.close();
  return failed;
}

// A WebSocket for the SDKs that counts the event frames of topic as they arrive.
function countingWebSocket(topic, frames) {
  return class extends WebSocket {
    constructor(...a) {
      super(...a);
      this.on('message', (d) => {
        const s = String(d);
        if (!s.includes('"type":"event"')) return;
        const m = JSON.parse(s);
        if (m.topic === topic) frames.set(m.data.i, Date.now());
      });
    }
  };
}

async function subscriber(kind, topic) {
  const frames = new Map(); // i -> arrival ms of the push
  const app = [];           // [i, ms] in the order the app saw them
  let close;
  let send;
  if (kind === 'raw') {
    const ws = await open(url(`sub-${topic}`));
    ws.on('message', (d) => {
      const m = JSON.parse(String(d));
      if (m.type === 'event' && m.topic === topic) {
        frames.set(m.data.i, Date.now());
        app.push([m.data.i, Date.now(), m.data.t]);
      }
    });
    await new Promise((resolve) => {
      ws.once('message', resolve);
      ws.send(JSON.stringify({ action: 'subscribe', id: 's', payload: { topic } }));
    });
    let n = 0;
    send = () => ws.send(JSON.stringify({ action: 'echo', id: `e${n++}`, payload: { n } }));
    close = () => ws.close();
  } else {
    const file = kind === 'sdk' ? join(SRC, 'www', 'streamer.js') : env.BENCH_OLD_SDK;
    const { StreamerClient } = await import(pathToFileURL(file).href);
    const sub = `sub-${kind}-${topic}`;
    const tok = url(sub).split('Authorization=')[1];
    const c = new StreamerClient(env.BENCH_WS_URL, { WebSocket: countingWebSocket(topic, frames), token: decodeURIComponent(tok) });
    c.on('recovery', (d) => console.log(`    ${kind}: recovery ${JSON.stringify(d)}`));
    await c.connect();
    await c.subscribe(topic, (data) => app.push([data.i, Date.now(), data.t]));
    send = () => c.request('echo', { n: 1 }).catch(() => {});
    close = () => c.close();
  }
  return { frames, app, send, close };
}

function stats(ms) {
  const s = ms.slice().sort((a, b) => a - b);
  return s.length ? `p50 ${percentile(s, 50)} ms, p99 ${percentile(s, 99)} ms` : '-';
}

let bad = 0;
console.log(`bench/delivery: ${eventBytes}-byte events, ${publishers} publishers x ${window} in flight; the subscriber sends echoes meanwhile`);
for (const count of counts) {
  for (const kind of kinds) {
    const topic = `d${count}-${kind}-${Date.now().toString(36)}`;
    const s = await subscriber(kind, topic);
    const chatter = setInterval(() => { for (let k = 0; k < 4; k++) s.send(); }, 5);
    const t0 = Date.now();
    const failed = await flood(topic, count);
    clearInterval(chatter);
    // Wait until the app has everything, or nothing new came for 10 s.
    let last = -1;
    let quiet = Date.now();
    while (Date.now() - quiet < 10_000 && new Set(s.app.map(([i]) => i)).size < count) {
      if (s.app.length !== last) { last = s.app.length; quiet = Date.now(); }
      await sleep(50);
    }
    const took = Date.now() - t0;
    s.close();
    const seen = new Map(); // i -> ms from publish to the app
    let dup = 0;
    let order = 0;
    let prev = -1;
    for (const [i, at, t] of s.app) {
      if (seen.has(i)) dup++;
      else seen.set(i, at - t);
      if (i < prev) order++;
      prev = i;
    }
    const live = [];
    const recovered = [];
    for (const [i, ms] of seen) (s.frames.has(i) ? live : recovered).push(ms);
    const lost = count - seen.size;
    console.log(`  ${String(count).padStart(5)} events, ${kind.padEnd(3)}: live ${live.length}, recovered ${recovered.length}, lost ${lost}` +
      `${dup ? `, duplicates ${dup}` : ''}${kind !== 'raw' && order ? `, out of order ${order}` : ''}; ` +
      `${(count / (took / 1000)).toFixed(0)} events/s` + (failed ? `; ${failed} publishes refused` : ''));
    console.log(`        publish -> app: live ${stats(live)}; recovered ${stats(recovered)}`);
    if (kind === 'sdk' && (lost || dup || order)) bad = 1;
  }
}
process.exit(bad);

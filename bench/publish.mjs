// publish.mjs - Pushpin alone: one WebSocket, messages published to its channel at a steady rate; how late and how many arrive.
//
// Run by bench/publish, which starts the stack and passes STACK_WS_URL, BENCH_TOKEN
// and STREAMER_PUBLISH_PORT. The client connects through Pushpin (the backend
// accepts it), learns its connection id with `whoami`, then publishes
// BENCH_COUNT messages to conn:<id> straight to Pushpin's publish API at
// BENCH_RATE a second from BENCH_PUBLISHERS concurrent loops, one item per
// call. It prints the delay from each publish to its arrival (p50/p99/max), the
// arrivals per second, and how many never arrived within 5 s of the last
// publish. Exits 1 when any is missing.
import { WebSocket, intEnv, percentile } from './util.mjs';

const COUNT = intEnv('BENCH_COUNT', 2000);
const RATE = intEnv('BENCH_RATE', 360);
const PUBLISHERS = intEnv('BENCH_PUBLISHERS', 1);
const publishUrl = `http://127.0.0.1:${process.env.STREAMER_PUBLISH_PORT}/publish/`;

const ws = new WebSocket(`${process.env.STACK_WS_URL}?Authorization=${encodeURIComponent(process.env.BENCH_TOKEN)}`);
await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
const arrived = new Map(); // n -> ms
let me = null;
ws.on('message', (d) => {
  const m = JSON.parse(String(d));
  if (m.request_id === 'whoami') me = m.data.connection_id;
  else if (typeof m.n === 'number') arrived.set(m.n, performance.now());
});
ws.send(JSON.stringify({ action: 'whoami', id: 'whoami' }));
for (let i = 0; me === null; i++) {
  if (i > 500) throw new Error('no whoami answer');
  await new Promise((r) => setTimeout(r, 10));
}
const channel = `conn:${me}`;

const sentAt = [];
let failures = 0;
const t0 = performance.now();
async function loop(first) {
  for (let n = first; n < COUNT; n += PUBLISHERS) {
    const wait = t0 + (n * 1000) / RATE - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    sentAt[n] = performance.now();
    const body = JSON.stringify({ items: [{ channel, formats: { 'ws-message': { content: JSON.stringify({ n }) } } }] });
    const r = await fetch(publishUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await r.text();
    if (r.status !== 200) failures++;
  }
}
await Promise.all(Array.from({ length: PUBLISHERS }, (_, i) => loop(i)));
const publishedIn = performance.now() - t0;
await new Promise((r) => setTimeout(r, 5000));
ws.close();

const delays = [...arrived].map(([n, t]) => t - sentAt[n]).sort((a, b) => a - b);
const pct = (p) => percentile(delays, p);
const perSecond = [];
for (const t of arrived.values()) {
  const s = Math.floor((t - t0) / 1000);
  perSecond[s] = (perSecond[s] || 0) + 1;
}
console.log(`${COUNT} messages at ${RATE}/s from ${PUBLISHERS} publisher(s), published in ${(publishedIn / 1000).toFixed(2)} s: ` +
  `${arrived.size} arrived, delay ms p50 ${pct(50).toFixed(1)} p99 ${pct(99).toFixed(1)} max ${(delays.at(-1) ?? NaN).toFixed(1)}`);
console.log(`    arrivals per second: ${Array.from(perSecond, (x) => x || 0).join(' ')}`);
if (failures || arrived.size !== COUNT) {
  console.error(`publish.mjs: FAILED: ${failures} publish calls refused, ${COUNT - arrived.size} messages missing`);
  process.exit(1);
}

// answers.mjs - floods of echo requests from one raw WebSocket client through Pushpin: how many floods get every answer, how many stall or close.
//
// Run by bench/answers, which starts the stack and passes:
//   BENCH_WS_URL, BENCH_CLI, BENCH_KEY (private key for tokens), BENCH_FLOOR
//   (1: the worker is bench/floor, no token), BENCH_LABEL (printed first),
//   BENCH_CASES ("300:0 1000:0 300:1024": requests:payload bytes),
//   BENCH_WINDOWS ("0 32": outstanding requests, 0 = all at once),
//   BENCH_RUNS (10 floods per case), BENCH_STALL_MS (2000).
// Each flood opens a new connection, sends its requests (keeping at most the
// window outstanding), and waits until every answer arrived, the connection
// closed, or no answer came for BENCH_STALL_MS (a stall: Pushpin 1.36 keeps
// the rest until the connection's next event). Prints one line per case.
import { WebSocket, mintToken, intEnv } from './util.mjs';

const env = process.env;
const cases = (env.BENCH_CASES || '300:0 1000:0 300:1024').split(/\s+/).filter(Boolean).map((c) => c.split(':').map(Number));
const windows = (env.BENCH_WINDOWS || '0 32').split(/\s+/).filter(Boolean).map(Number);
const runs = intEnv('BENCH_RUNS', 10);
const stallMs = intEnv('BENCH_STALL_MS', 2000);
const floor = env.BENCH_FLOOR === '1';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function flood(n, payloadBytes, window, tag) {
  const url = floor ? env.BENCH_WS_URL : `${env.BENCH_WS_URL}?Authorization=${encodeURIComponent(mintToken(env.BENCH_CLI, env.BENCH_KEY, tag, "acme"))}`;
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  const pad = 'x'.repeat(payloadBytes);
  let got = 0;
  let sent = 0;
  let closed = null;
  let last = Date.now();
  const t0 = Date.now();
  let ms = null;
  const send = () => { ws.send(JSON.stringify({ action: 'echo', id: `${tag}-${sent}`, payload: { i: sent, pad } })); sent++; };
  ws.on('close', (code) => { closed = code; });
  ws.on('message', () => {
    got++;
    last = Date.now();
    if (got === n) ms = last - t0;
    if (window && sent < n) send();
  });
  while (sent < (window ? Math.min(window, n) : n)) send();
  while (got < n && closed === null && Date.now() - last < stallMs) await sleep(10);
  ws.terminate();
  return { got, closed, ms };
}

let failed = false;
for (const window of windows) {
  for (const [n, payloadBytes] of cases) {
    const gots = [];
    const times = [];
    let stalls = 0;
    let closes = 0;
    for (let r = 0; r < runs; r++) {
      const f = await flood(n, payloadBytes, window, `answers-${process.pid}-${window}-${n}-${payloadBytes}-${r}`);
      gots.push(f.got);
      if (f.ms !== null) times.push(f.ms);
      else if (f.closed !== null) closes++;
      else stalls++;
      await sleep(100);
    }
    if (stalls + closes) failed = true;
    times.sort((a, b) => a - b);
    const short = gots.filter((g) => g < n);
    console.log(`${env.BENCH_LABEL || ''} window ${window || 'none'}  ${n} x ${payloadBytes} B payload: ` +
      `${runs - stalls - closes}/${runs} floods complete` +
      (times.length ? ` (median ${times[times.length >> 1]} ms)` : '') +
      `, ${stalls} stalled, ${closes} closed` +
      (short.length ? `; answers in the short floods: ${short.join(' ')}` : ''));
  }
}
process.exitCode = failed && env.BENCH_EXPECT_COMPLETE === '1' ? 1 : 0;

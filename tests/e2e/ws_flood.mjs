// ws_flood.mjs - floods of echo requests from one raw WebSocket client through the real Pushpin: every answer arrives (BENCHMARKS.md, "Answer loss under a flood").
//
// Pushpin 1.36 stalls a connection's answers when the client's send credits
// (client_buffer_size bytes) run out exactly at a message boundary; they stay
// inside Pushpin until the connection's next event. The old failure rate was
// about one flood in two (300 at once, client_buffer_size=8192), so each case
// runs 20 floods. A stalled flood fails within STALL_MS: answers of a flood
// that works arrive in well under a second.
import { test as nodeTest, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, missingPrograms, Client, echoMsg, echoProblem, sleep, uniq, stackTest } from './lib.mjs';

const skip = missingPrograms('lighttpd');
const FLOODS = 20;
const STALL_MS = 5000; // no answer for this long while some are missing: stalled
// The window the SDK keeps (maxInFlight): with answers of at most 256 bytes,
// 32 outstanding answers are at most 8,192 bytes, Debian's client_buffer_size.
const WINDOW = 32;

const stacks = [];
let stack;
const test = stackTest(nodeTest, () => stack);

after(async () => {
  for (const s of stacks) await s.stop();
});

async function useStack(settings) {
  if (stack) await stack.stop();
  // The clients send far beyond the default 50 messages/s per connection:
  // the limiter runs, at a rate they do not reach.
  stack = await startStack({ STREAMER_WORKERS: '2', STREAMER_RATE_LIMIT: '1000000', ...settings });
  stacks.push(stack);
}

// Sends n echo requests on a new connection, keeping at most `window`
// outstanding (0: all at once), and waits for the answers. Returns
// { got, problems, maxBytes } (maxBytes: the largest answer).
async function flood(n, window, tag) {
  const c = await new Client(stack.url(stack.token({ sub: uniq(tag), tenant: 'acme' }))).open();
  const problems = [];
  let got = 0;
  let sent = 0;
  let maxBytes = 0;
  let last = Date.now();
  const send = () => {
    c.send(echoMsg(`${tag}-${sent}`, { i: sent }));
    sent++;
  };
  c.ws.on('message', (data) => {
    const p = echoProblem(data.toString('utf8'), `${tag}-${got}`, { i: got });
    if (p && problems.length < 5) problems.push(`answer ${got}: ${p}`);
    maxBytes = Math.max(maxBytes, data.length);
    got++;
    last = Date.now();
    if (window && sent < n) send();
  });
  while (sent < (window ? Math.min(window, n) : n)) send();
  while (got < n && !c.closed && Date.now() - last < STALL_MS) await sleep(10);
  if (c.closed) problems.push(`closed (${c.closed.code}) after ${got} answers`);
  c.terminate();
  return { got, problems, maxBytes };
}

async function floods(n, window) {
  const short = [];
  let maxBytes = 0;
  for (let f = 0; f < FLOODS; f++) {
    const r = await flood(n, window, `f${n}w${window}n${f}`);
    maxBytes = Math.max(maxBytes, r.maxBytes);
    if (r.got !== n || r.problems.length) short.push(`flood ${f}: ${r.got}/${n} answers ${r.problems.join('; ')}`);
  }
  assert.deepEqual(short, [], `${short.length} of ${FLOODS} floods of ${n} (window ${window || 'none'}) lost answers`);
  return maxBytes;
}

test('client_buffer_size=8192 (Debian default): floods of 300 and 1,000 kept within the SDK window are all answered', { skip }, async () => {
  await useStack({ STREAMER_PUSHPIN_CLIENT_BUFFER_SIZE: '8192' });
  const maxBytes = Math.max(await floods(300, WINDOW), await floods(1000, WINDOW));
  // The window is safe only while WINDOW answers fit in the client's credits.
  assert.ok(WINDOW * maxBytes <= 8192, `answers of ${maxBytes} bytes: ${WINDOW} of them exceed 8,192 bytes of credits`);
});

test('shipped pushpin.conf (client_buffer_size=65536): up to 300 requests at once, 20 floods, all answered', { skip }, async () => {
  await useStack({});
  // The shipped credits hold the whole flood's answers (with room for answers
  // that grow by a quarter): as many requests as that allows, at most 300.
  const probe = await flood(1, 0, 'probe');
  assert.deepEqual(probe.problems, []);
  const n = Math.min(300, Math.floor(65536 / (probe.maxBytes * 1.25)));
  assert.ok(n >= 100, `answers of ${probe.maxBytes} bytes: only ${n} fit in 65,536 bytes of credits`);
  const maxBytes = await floods(n, 0);
  assert.ok(n * maxBytes <= 65536, `answers of ${maxBytes} bytes: ${n} of them exceed 65,536 bytes of credits`);
});

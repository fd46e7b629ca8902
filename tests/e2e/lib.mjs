// lib.mjs - shared helpers for the end-to-end tests: a private stack on free ports (via stack.sh), tokens, WebSocket clients, store queries.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHmac, generateKeyPairSync, sign as rsaSign } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
// ws from run-node.sh's node_modules (the build tree's when the source tree is read-only).
const NODE_MODULES = process.env.STREAMER_E2E_NODE_MODULES || join(here, 'node_modules');
const require = createRequire(NODE_MODULES + '/');
export const WebSocket = require('ws');

export const SRC = process.env.top_srcdir || join(here, '..', '..');
const STACK_SH = join(here, 'stack.sh');

// STREAMER_E2E_BACKEND=floor runs the transport tests against bench/floor
// (a bare echo responder) and skips what needs streamer-fcgi's semantics.
export const FLOOR = process.env.STREAMER_E2E_BACKEND === 'floor';
export const needsWorker = FLOOR ? 'needs streamer-fcgi (STREAMER_E2E_BACKEND=floor)' : false;

const which = (p) => spawnSync('sh', ['-c', `command -v ${p}`]).status === 0;

// A reason to skip every test of a file, or false when the machine has the
// programs the stack needs.
export function missingPrograms(web = 'lighttpd') {
  const need = ['pushpin', 'zurl', 'condure', 'spawn-fcgi', 'multiwatch', 'openssl', 'curl', web === 'apache' ? 'apache2' : 'lighttpd'];
  const missing = need.filter((p) => !which(p));
  return missing.length ? `not installed: ${missing.join(' ')} (./dev.sh test installs them)` : false;
}

// n distinct free TCP ports on 127.0.0.1 (held open together, then released).
export async function freePorts(n) {
  const servers = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = createServer();
      await new Promise((resolve, reject) => {
        s.once('error', reject);
        s.listen(0, '127.0.0.1', resolve);
      });
      servers.push(s);
    }
    return servers.map((s) => s.address().port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000, ...opts });
  if (r.error) throw r.error;
  return r;
}

// ---- the engine under test ------------------------------------------------------
// SQLite by default. With STREAMER_TEST_PG_URL (`make check-postgresql` sets it:
// a libpq URL of a database on a server where the tests may create databases)
// every stack gets a fresh database there, dropped when the stack stops.
export const PG_URL = process.env.STREAMER_TEST_PG_URL || '';

// STREAMER_TEST_PG_URL with its database replaced by name.
function pgUrlOf(name) {
  const q = PG_URL.indexOf('?');
  const base = q < 0 ? PG_URL : PG_URL.slice(0, q);
  return `${base.slice(0, base.lastIndexOf('/'))}/${name}${q < 0 ? '' : PG_URL.slice(q)}`;
}

function psql(url, sql, extra = []) {
  const r = run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', ...extra, '-d', url, '-c', sql]);
  if (r.status !== 0) throw new Error(`psql failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

// A fresh database on STREAMER_TEST_PG_URL's server: { url, drop() }.
export function pgDatabase() {
  const name = `streamer_e2e_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  psql(PG_URL, `CREATE DATABASE "${name}"`);
  return {
    url: pgUrlOf(name),
    drop() {
      try {
        psql(PG_URL, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } catch { /* the server is gone: nothing to drop */ }
    },
  };
}

// The rows of a query on db (a SQLite path or a PostgreSQL URL) as objects, as `sqlite3 -json` gives them.
export function dbRows(db, sql) {
  if (/^postgres(ql)?:/.test(db)) {
    const out = psql(db, `SELECT coalesce(json_agg(t), '[]') FROM (${sql}) t`, ['-A', '-t']);
    return JSON.parse(out.trim());
  }
  const r = run('sqlite3', ['-json', db, sql]);
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout.trim() ? JSON.parse(r.stdout) : [];
}

// Runs a statement that returns no rows (UPDATE, DELETE) on db, either engine.
export function dbExec(db, sql) {
  if (/^postgres(ql)?:/.test(db)) psql(db, sql);
  else {
    const r = run('sqlite3', [db, sql]);
    if (r.status !== 0) throw new Error(r.stderr);
  }
}

const liveStacks = new Set();
function stopAllSync() {
  for (const st of liveStacks) st.stopSync();
}
process.on('exit', stopAllSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    stopAllSync();
    process.exit(128 + 2);
  });
}

export class Stack {
  constructor(env, info) {
    this.env = env;
    this.info = info;
    this.wsUrl = info.STACK_WS_URL;
    this.httpUrl = info.STACK_HTTP_URL;
    this.publishUrl = info.STACK_PUBLISH_URL;
    this.db = info.STACK_DB;
    this.privateKey = info.STACK_PRIVATE_KEY;
    this.gripKey = readFileSync(info.STACK_GRIP_KEY_FILE, 'utf8').trim();
    this.workerLog = info.STACK_WORKER_LOG;
    this.logDir = info.STACK_LOG_DIR;
    this.cli = info.STACK_CLI;
    this.var = info.STACK_VAR;
    this.stopped = false;
    this.processors = new Set(); // started by startProcessor and still running
  }

  stack(...args) {
    return run('bash', [STACK_SH, ...args], { env: this.env });
  }

  // Stops one service of the stack (pushpin, zurl, lighttpd, workers...) and
  // starts it again, without blocking the event loop (clients of this process
  // go on meanwhile).
  restartService(name) {
    return new Promise((resolve, reject) => {
      const p = spawn('bash', [STACK_SH, 'restart', name], { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      p.stdout.on('data', (d) => { out += d; });
      p.stderr.on('data', (d) => { out += d; });
      p.on('close', (status) => (status === 0 ? resolve() : reject(new Error(`stack.sh restart ${name} failed (${status}): ${out}`))));
    });
  }

  stopSync() {
    if (this.stopped) return;
    this.stopped = true;
    liveStacks.delete(this);
    this.stack('stop');
    this.pg?.drop();
    if (!process.env.STREAMER_E2E_KEEP) rmSync(this.var, { recursive: true, force: true });
  }

  // The rows of a query on the stack's database (either engine), as objects.
  rows(sql) {
    return dbRows(this.db, sql);
  }

  // Runs a statement without rows (UPDATE, DELETE) on the stack's database.
  exec(sql) {
    dbExec(this.db, sql);
  }

  // Stops the processors the test started (SIGKILL), then the stack.
  async stop() {
    for (const p of [...this.processors]) await this.stopProcessor(p, 'SIGKILL');
    this.stopSync();
  }

  // The environment of the CLI and the processor: the workers' settings
  // (var/conf/streamer.env), then extra on top.
  cliEnv(extra = {}) {
    const env = { PATH: process.env.PATH, HOME: process.env.HOME || '/root' };
    for (const line of readFileSync(join(this.var, 'conf', 'streamer.env'), 'utf8').split('\n')) {
      const i = line.indexOf('=');
      if (i > 0) env[line.slice(0, i)] = line.slice(i + 1);
    }
    return { ...env, ...extra };
  }

  // Runs the CLI with cliEnv(extra) without blocking the event loop (a double
  // or a client of this process may have to answer meanwhile); resolves with
  // { status, stdout, stderr }.
  cliRun(args, extra) {
    return new Promise((resolve) => {
      const p = spawn(this.cli, args, { env: this.cliEnv(extra), stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d) => { stdout += d; });
      p.stderr.on('data', (d) => { stderr += d; });
      p.on('close', (status) => resolve({ status, stdout, stderr }));
    });
  }

  // Starts `streamer processor --concurrency N` with cliEnv(env). With group
  // (the default) it runs in a process group of its own, so that stopping it
  // reaches its slot processes too, even when the supervisor is stopped at an
  // awkward moment; without, a signal reaches the supervisor alone. The
  // process gets stderrText (what it wrote there) and exited (resolves with
  // { code, sig }).
  startProcessor(concurrency = 2, { env = {}, group = true } = {}) {
    const p = spawn(this.cli, ['processor', '--concurrency', String(concurrency)],
      { env: this.cliEnv(env), stdio: ['ignore', 'ignore', 'pipe'], detached: group });
    p.group = group;
    p.stderrText = '';
    p.stderr.on('data', (d) => { p.stderrText += d; });
    p.exited = new Promise((r) => p.on('exit', (code, sig) => { this.processors.delete(p); r({ code, sig }); }));
    this.processors.add(p);
    return p;
  }

  // Sends sig to a processor of startProcessor and resolves with its exit.
  // A group gets SIGKILL after 5 s, and once more after the exit (a slot
  // the supervisor did not wait for).
  async stopProcessor(p, sig = 'SIGTERM') {
    if (!p.group) {
      p.kill(sig);
      return p.exited;
    }
    const killGroup = (s) => {
      try {
        process.kill(-p.pid, s);
      } catch { /* gone */ }
    };
    killGroup(sig);
    const t = setTimeout(() => killGroup('SIGKILL'), 5000);
    const r = await p.exited;
    clearTimeout(t);
    killGroup('SIGKILL');
    return r;
  }

  // Tail of every log of the instance, for failure messages.
  logs(lines = 30) {
    return this.stack('logs', String(lines)).stdout;
  }

  // A token minted by `streamer token` with the stack's development key.
  // topics / publishTopics: the topics and publish_topics claims (comma-separated).
  token({ sub = 'e2e-user', tenant = 'acme', ttl = 3600, permissions, topics, publishTopics } = {}) {
    if (FLOOR) return 'floor-does-not-check';
    const args = ['token', '--key', this.privateKey, '--sub', sub, '--tenant', tenant, '--ttl', String(ttl)];
    if (permissions) args.push('--permissions', permissions);
    if (topics) args.push('--topics', topics);
    if (publishTopics) args.push('--publish-topics', publishTopics);
    const r = run(this.cli, args);
    if (r.status !== 0) throw new Error(`streamer token failed (${r.status}): ${r.stderr}`);
    const tok = r.stdout.trim();
    (this.tokens ??= new Set()).add(tok);
    return tok;
  }

  url(token) {
    return `${this.wsUrl}?Authorization=${encodeURIComponent(token)}`;
  }

  // The connection rows, from `streamer connections --json`.
  connections() {
    const r = run(this.cli, ['connections', '--json', '--db', this.db]);
    if (r.status !== 0) throw new Error(`streamer connections failed (${r.status}): ${r.stderr}`);
    return r.stdout.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
  }

  rowsFor(sub) {
    return this.connections().filter((c) => c.user_id === sub);
  }

  // Parsed JSON lines of the worker log (STREAMER_LOG_FILE); [] when absent.
  workerLogLines() {
    if (!existsSync(this.workerLog)) return [];
    return readFileSync(this.workerLog, 'utf8').split('\n').filter((l) => l.trim()).map((l) => {
      try {
        return JSON.parse(l);
      } catch {
        return { level: 'unparsable', line: l };
      }
    });
  }

  // The logs of the instance (workers, processors, Pushpin, zurl, web server)
  // that contain a token minted by token(), a secret given to addSecret(), or
  // a URL with credentials (user:password@, or a credential query parameter
  // such as Authorization=, token=, X-Amz-Signature= that is not masked as
  // ***): [] when none leaked, else "file: what" for each.
  tokenLeaks() {
    const leaks = [];
    const urlCreds = [
      /[a-z][a-z0-9+.-]*:\/\/[^\s/?#"'@]+@/i,
      /[?&](authorization|token|access_token|password|secret|signature|x-amz-[a-z-]+)=(?!\*\*\*)[^&\s"']/i,
    ];
    for (const f of readdirSync(this.logDir)) {
      const text = readFileSync(join(this.logDir, f), 'utf8');
      const sig = [...(this.tokens ?? [])].find((t) => text.includes(t.split('.')[2]));
      if (sig) leaks.push(`${f}: a token`);
      const secret = [...(this.secrets ?? [])].find((s) => text.includes(s));
      if (secret) leaks.push(`${f}: the secret ${secret.slice(0, 4)}…`);
      for (const re of urlCreds) {
        const m = text.match(re);
        if (m && !/:\/\/\*\*\*@/.test(m[0])) leaks.push(`${f}: a URL with credentials (${m[0].slice(0, 40)})`);
      }
    }
    return leaks;
  }

  // Registers a secret (a password, a key) that no log of the instance may contain (tokenLeaks).
  addSecret(s) {
    (this.secrets ??= new Set()).add(s);
  }

  // Sanitizer reports and crashes the workers wrote to stderr.
  workerCrashes() {
    const f = join(this.logDir, 'workers.log');
    if (!existsSync(f)) return [];
    return readFileSync(f, 'utf8').split('\n')
      .filter((l) => /AddressSanitizer|LeakSanitizer|runtime error:|Segmentation fault|Aborted/.test(l));
  }

  // The live streamer-fcgi pids (children of multiwatch).
  workerPids() {
    const mw = readFileSync(join(this.var, 'run', 'workers.pid'), 'utf8').trim();
    const r = run('pgrep', ['-P', mw]);
    return r.stdout.split('\n').filter(Boolean).map(Number);
  }

  // Grip-Sig as Pushpin makes it: HS256, iss "pushpin", one hour.
  gripSig(key = this.gripKey) {
    return hs256({ iss: 'pushpin', exp: Math.floor(Date.now() / 1000) + 3600 }, key);
  }
}

// Starts a private stack on free ports in a fresh directory; extra settings
// (STREAMER_ALLOWED_TENANTS, STREAMER_WEB_SERVER, ...) go in `settings`.
export async function startStack(settings = {}) {
  let lastErr;
  // On PostgreSQL a database of the stack's own, unless the caller names one
  // (a second node on the first one's database).
  const pg = PG_URL && !settings.STREAMER_STACK_DB ? pgDatabase() : null;
  if (pg) settings = { ...settings, STREAMER_STACK_DB: pg.url };
  for (let attempt = 0; attempt < 3; attempt++) {
    const [pp, http, pub] = await freePorts(3);
    const varDir = mkdtempSync(join(tmpdir(), 'streamer-e2e-'));
    chmodSync(varDir, 0o755);
    const env = {
      ...process.env,
      STREAMER_VAR_DIR: varDir,
      STREAMER_PUSHPIN_PORT: String(pp),
      STREAMER_HTTP_PORT: String(http),
      STREAMER_PUBLISH_PORT: String(pub),
      STREAMER_WORKERS: '2',
      // The tests start and stop their own processors; `./dev.sh test` runs
      // with dev.sh's STREAMER_PROCESSORS=2 in its environment.
      STREAMER_PROCESSORS: '0',
      STREAMER_LOG_LEVEL: 'info',
      ...settings,
    };
    if (FLOOR && !env.STREAMER_FCGI_BIN) {
      env.STREAMER_FCGI_BIN = process.env.STREAMER_FLOOR || join(process.env.top_builddir || join(SRC, 'build'), 'bench', 'floor');
    }
    // An interrupt (Ctrl-C reaches stack.sh too) during the start would
    // leave what it had started running: the exit handlers stop it.
    const starting = {
      stopSync() {
        liveStacks.delete(starting);
        run('bash', [STACK_SH, 'stop'], { env });
        if (!process.env.STREAMER_E2E_KEEP) rmSync(varDir, { recursive: true, force: true });
      },
    };
    liveStacks.add(starting);
    const r = run('bash', [STACK_SH, 'start'], { env });
    liveStacks.delete(starting);
    if (r.status === 0) {
      const info = Object.fromEntries(run('bash', [STACK_SH, 'env'], { env }).stdout
        .split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      const st = new Stack(env, info);
      st.pg = pg;
      liveStacks.add(st);
      return st;
    }
    lastErr = new Error(`stack.sh start failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
    run('bash', [STACK_SH, 'stop'], { env });
    const portRace = /taken by another program/.test(r.stderr);
    if (!process.env.STREAMER_E2E_KEEP) rmSync(varDir, { recursive: true, force: true });
    if (!portRace) break;
  }
  pg?.drop();
  throw lastErr;
}

const b64url = (b) => Buffer.from(b).toString('base64url');

export function hs256(claims, key) {
  const data = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}`;
  return `${data}.${createHmac('sha256', key).update(data).digest('base64url')}`;
}

export function rs256(claims, privateKeyPem) {
  const data = `${b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}`;
  return `${data}.${rsaSign('sha256', Buffer.from(data), privateKeyPem).toString('base64url')}`;
}

let strangerKey;
// A private key the stack does not trust.
export function strangerPrivateKey() {
  strangerKey ??= generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
    .export({ type: 'pkcs8', format: 'pem' });
  return strangerKey;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls fn until it returns a truthy value; returns that value, or the last
// falsy one after timeoutMs.
export async function waitFor(fn, timeoutMs = 5000, stepMs = 100) {
  const until = Date.now() + timeoutMs;
  let v;
  for (;;) {
    v = await fn();
    if (v || Date.now() >= until) return v;
    await sleep(stepMs);
  }
}

// A WebSocket client with a queue of received messages.
export class Client {
  // opts go to ws (e.g. { headers: { Authorization: 'Bearer ...' } }).
  constructor(url, opts) {
    this.ws = new WebSocket(url, opts);
    this.queue = [];
    this.waiters = [];
    this.closed = null;
    this.ws.on('message', (data, isBinary) => {
      const m = isBinary ? data : data.toString('utf8');
      const w = this.waiters.shift();
      if (w) w.resolve(m);
      else this.queue.push(m);
    });
    this.ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      for (const w of this.waiters.splice(0)) w.reject(new Error(`connection closed (${code}) while waiting for a message`));
    });
    this.ws.on('error', () => {}); // surfaced through open()/close
  }

  // Resolves on open; rejects with err.status / err.body when the handshake
  // is refused (ws's 'unexpected-response' hands us the HTTP answer).
  open(timeoutMs = 10_000) {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('handshake timed out')), timeoutMs);
      this.ws.once('open', () => { clearTimeout(t); resolve(this); });
      this.ws.once('unexpected-response', (req, res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => { body += c; });
        res.on('end', () => {
          clearTimeout(t);
          const err = new Error(`handshake refused: ${res.statusCode} ${body}`);
          err.status = res.statusCode;
          err.headers = res.headers;
          err.body = body;
          req.destroy();
          reject(err);
        });
      });
      this.ws.once('error', (e) => { clearTimeout(t); reject(e); });
    });
  }

  send(obj) {
    this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj));
  }

  next(timeoutMs = 5000) {
    if (this.queue.length) return Promise.resolve(this.queue.shift());
    if (this.closed) return Promise.reject(new Error(`connection closed (${this.closed.code})`));
    return new Promise((resolve, reject) => {
      const w = {
        resolve: (m) => { clearTimeout(t); resolve(m); },
        reject: (e) => { clearTimeout(t); reject(e); },
      };
      const t = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`no message within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  async nextJson(timeoutMs) {
    return JSON.parse(await this.next(timeoutMs));
  }

  close(code = 1000) {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) return resolve(this.closed);
      this.ws.once('close', (c) => resolve({ code: c }));
      this.ws.close(code);
    });
  }

  terminate() {
    this.ws.terminate();
  }
}

export async function connect(stack, tokenOpts) {
  return new Client(stack.url(stack.token(tokenOpts))).open();
}

// Opens one connection per entry of tokenOptsList at once. Every token is
// minted first: minting runs `streamer token` synchronously, and minting
// while earlier handshakes wait would block the event loop past their
// timeout on a loaded machine (a sanitizer build with 50 clients took 10 s).
export async function connectAll(stack, tokenOptsList) {
  const urls = tokenOptsList.map((o) => stack.url(stack.token(o)));
  return Promise.all(urls.map((u) => new Client(u).open()));
}

// The message a client sends for `echo`.
export const echoMsg = (id, payload) => ({ action: 'echo', id, payload });

// Checks an echo reply; returns an error string or null. Against the floor
// the reply is the request itself.
export function echoProblem(reply, id, payload) {
  if (FLOOR) {
    const sent = JSON.stringify(echoMsg(id, payload));
    return reply === sent ? null : `expected the floor to echo ${sent}, got ${reply}`;
  }
  let m;
  try {
    m = JSON.parse(reply);
  } catch {
    return `reply is not JSON: ${reply}`;
  }
  if (m.type !== 'response') return `type ${m.type}, expected response: ${reply}`;
  if (m.request_id !== id) return `request_id ${m.request_id}, expected ${id}: ${reply}`;
  if (m.success !== true) return `success ${m.success}: ${reply}`;
  if (!m.data || JSON.stringify(m.data.echo) !== JSON.stringify(payload)) return `echo ${JSON.stringify(m.data?.echo)}, expected ${JSON.stringify(payload)}`;
  if (m.data.action !== 'echo') return `data.action ${m.data.action}`;
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(m.data.received_at || '')) return `received_at ${m.data.received_at}`;
  return null;
}

// A token in an Authorization: Bearer header (tenant acme) opens the
// WebSocket, echoes and stores one row; without any token the handshake is 401.
export async function checkBearerHeader(stack) {
  const sub = uniq('bearer');
  const c = await new Client(stack.wsUrl, { headers: { Authorization: `Bearer ${stack.token({ sub, tenant: 'acme' })}` } }).open();
  c.send(echoMsg('b1', { bearer: true }));
  assert.equal(echoProblem(await c.next(), 'b1', { bearer: true }), null);
  assert.equal(stack.rowsFor(sub).length, 1);
  await c.close();
  // And without any token the handshake is refused.
  const e = await new Client(stack.wsUrl).open().then(() => null, (err) => err);
  assert.equal(e?.status, 401, `no token: ${e}`);
}

// www/streamer.js, the client SDK the tests drive.
export const sdkModule = () => import(pathToFileURL(join(SRC, 'www', 'streamer.js')).href);

// A connected SDK client (a StreamerClient of sdkModule) of stack through Pushpin:
// tokenOpts go to stack.token() (a sub unique to the client, from prefix, unless
// given), opts to StreamerClient over quick reconnects; setup(c) runs before the
// connect (to listen for its first events). The client joins `clients`, which the
// test file closes in its after().
export async function sdkClient(StreamerClient, stack, clients, {
  tokenOpts = {}, opts = {}, prefix = 'sdk', setup = () => {},
} = {}) {
  const sub = tokenOpts.sub || uniq(prefix);
  const c = new StreamerClient(stack.wsUrl, {
    WebSocket,
    getToken: () => stack.token({ ...tokenOpts, sub }),
    reconnect: { initialDelay: 100, maxDelay: 1000 },
    ...opts,
  });
  setup(c);
  clients.add(c);
  await c.connect();
  return c;
}

// Counts what SDK client c hands to the app from its streams: c.live (pushes as
// they came), c.recovered (from the history), c.recoveries (its recovery events).
export function countDelivery(c) {
  c.recoveries = [];
  c.live = 0;
  c.recovered = 0;
  c.on('recovery', (d) => c.recoveries.push(d));
  c.on('message', (d) => {
    if (!d.message?.stream) return;
    if (d.recovered) c.recovered += 1;
    else c.live += 1;
  });
}

export const uniq = (prefix) => `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

// test() whose failures carry the end of the stack's logs (the stack's
// directory is removed at the end, so this is where they survive). A
// processor the test started and left running (it failed before its
// stopProcessor) is stopped when the test ends: left alive, it would run the
// requests later tests keep pending on purpose and fail them too.
export function stackTest(test, getStack) {
  return (name, opts, fn) => test(name, opts, async (t) => {
    const st0 = getStack();
    const before = new Set(st0 ? st0.processors : []);
    try {
      await fn(t);
    } catch (e) {
      const st = getStack();
      if (st && !st.stopped) {
        try {
          e.message += `\n--- end of the stack's logs ---\n${st.logs(15)}`;
        } catch { /* keep the original error */ }
      }
      throw e;
    } finally {
      const st = getStack();
      if (st && !st.stopped) {
        for (const p of [...st.processors]) {
          if (!before.has(p)) await st.stopProcessor(p);
        }
      }
    }
  });
}

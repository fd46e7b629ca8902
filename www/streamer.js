// streamer.js - the browser and Node client of streamer: request/response correlation, async progress, topics (and server-side subscriptions), presence, flow control, reconnect with backoff (several nodes' URLs, round robin), numbered streams recovered exactly once in order. ES module, no dependencies.
//
//   import { StreamerClient } from './streamer.js';
//   const client = new StreamerClient('ws://127.0.0.1:7999/ws', { getToken: async () => token });
//   await client.connect();
//   const data = await client.request('echo', { hello: 'world' });
//   const result = await client.request('generate_report', { start_date, end_date, format: 'csv' },
//     { onProgress: (p) => console.log(p.percentage, p.message), timeout: 120000 });
//   await client.subscribe('prices', (data, event) => console.log(data));
//   await client.publish('prices', { eur: 1.08 });
//   await client.subscribe('room.1', null, { presence: true });
//   client.on('join', (p) => console.log(p.user_id, 'joined', p.topic));
//   const { users } = await client.presence('room.1');
//   client.onTopic('news.*', (data, event) => console.log(event.topic, data)); // the token's topics claim
//
// In Node < 22 pass a WebSocket implementation: new StreamerClient(url, { WebSocket: require('ws') }).

// Requests that may wait for their first answer at once (options.maxInFlight); the
// rest queue in order. Pushpin 1.36 holds back a WebSocket's answers when its send
// credits toward the client (client_buffer_size) run out exactly at a message boundary
// (BENCHMARKS.md, "Answer loss under a flood"): safe while window x largest answer fits
// in them, i.e. 32 answers of up to 256 bytes at Debian's 8192 (an echo answer is about
// 150) and up to 2 KB at the 65536 we ship.
export const MAX_IN_FLIGHT = 32;

// Bytes of requests that may wait for their first answer at once
// (options.maxInFlightBytes; one request always goes, whatever its size). Pushpin 1.36
// stops reading a client with more than its 200,000-byte buffer of messages on the way
// to the worker (BENCHMARKS.md, "The other direction").
export const MAX_IN_FLIGHT_BYTES = 128 * 1024;

// ms without any frame while answers are awaited after which the heartbeat goes out
// early: sending anything releases answers Pushpin 1.36 holds back (see above).
const ANSWERS_OVERDUE = 1000;

const DEFAULTS = {
  token: null, //           a JWT string, or:
  getToken: null, //        () => string | Promise<string>, called before every (re)connect
  WebSocket: null, //       the WebSocket class (default: globalThis.WebSocket)
  reconnect: true, //       false, true, or { initialDelay, maxDelay, factor, maxAttempts }
  heartbeat: 30000, //      ms between `health` requests on an idle connection (false = off), or { interval, timeout };
  //                        also sent after 1 s of silence while answers are awaited
  connectTimeout: 10000, // ms one handshake may take
  requestTimeout: 30000, // ms a request may wait for its first answer (response, ack or error) unless it has its own timeout
  pollInterval: 1500, //    ms between request.status polls of async requests that outlived their connection
  checkInterval: 15000, //  ms without news of an acknowledged async request before asking request.status
  //                        once (a progress or result push can be lost on the way); false = off
  queueLimit: 256, //       messages that may wait for a connection
  queueTimeout: 30000, //   ms a message may wait for a connection
  resubmit: true, //        send again an async request the server cancelled because its connection closed before it started
  refresh: true, //         with getToken: get a new token before the current one expires and hand it to the
  //                        server (auth.refresh), so the connection outlives its token; false = off
  idempotent: ['echo', 'health', 'whoami', 'subscribe', 'unsubscribe', 'request.status', 'presence', 'presence.count'], // resent when unanswered at a disconnect
  rateLimitRetries: 8, //   times a request refused with RATE_LIMITED is sent again after the server's retry_after_ms
  maxInFlight: MAX_IN_FLIGHT, // requests sent and not yet answered at once; the rest wait in order
  maxInFlightBytes: MAX_IN_FLIGHT_BYTES, // and their size in all (JSON characters)
  positionInterval: 5000, // ms without any message from the server after which the client asks where its
  //                        streams stand (streams.recover), to notice a lost tail; false = off
};

const RECONNECT_DEFAULTS = { initialDelay: 500, maxDelay: 30000, factor: 2, maxAttempts: Infinity };
const CANCELLED_BEFORE_START = /connection closed before the request started/i;
const TERMINAL = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);
const EARLIER_CONNECTIONS = 16; // connection ids named in `connections` (the protocol's maximum)
const RECOVER_STREAMS = 20; //     streams one streams.recover may name
const HINT_GRACE = 50; //          ms a position hint waits for pushes still on their way before a gap is fetched
// ms a gap waits before it is fetched. Pushes of one stream published by different
// workers reach Pushpin in any order: with 4 publishers flooding 4 KB events, a
// subscriber saw about 500 of 5,000 offsets come late, 90 % within 4 ms, 99 % within
// 10 ms, and only ~15 truly lost. Fetching each at once spent a history call on every
// reordering, and a real loss then waited behind it (one fetch per stream at a time).
const GAP_GRACE = 10;

// The topic of a topic stream (topic:<tenant>:<topic>; a tenant name has no ':'), else null.
function topicOf(stream) {
  if (!stream.startsWith('topic:')) return null;
  const i = stream.indexOf(':', 6);
  return i < 0 ? null : stream.slice(i + 1);
}

/** Whether a topic pattern covers topic, as the server matches a token's topics claim:
 * `*` covers every topic, `<prefix>.*` every topic that starts with `<prefix>.` (and
 * goes on: `prices.*` covers `prices.eur`, not `prices`), anything else is a topic
 * name and covers itself (topic names hold no `*`). */
export function topicCovers(pattern, topic) {
  if (typeof pattern !== 'string' || typeof topic !== 'string') return false;
  if (pattern === '*') return true;
  if (pattern.length >= 2 && pattern.endsWith('.*')) {
    return topic.length > pattern.length - 1 && topic.startsWith(pattern.slice(0, -1));
  }
  return pattern === topic;
}

/** An error answered by the server (code from the protocol) or made by the client
 * (NOT_CONNECTED, CONNECTION_LOST, CLOSED, ABORTED, TIMEOUT). */
export class StreamerError extends Error {
  constructor(code, message, requestId = null, details = undefined) {
    super(message || code);
    this.name = 'StreamerError';
    this.code = code;
    this.request_id = requestId;
    if (details !== undefined) this.details = details;
  }
}

/** Events of the client; `detail` carries the payload (CustomEvent is not in every runtime). */
export class StreamerEvent extends Event {
  constructor(type, detail) {
    super(type);
    this.detail = detail;
  }
}

function randomId(len = 10) {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = new Uint8Array(len);
  if (globalThis.crypto && typeof globalThis.crypto.getRandomValues === 'function') globalThis.crypto.getRandomValues(bytes);
  else for (let i = 0; i < len; i++) bytes[i] = Math.floor(Math.random() * 256);
  let s = '';
  for (const b of bytes) s += alphabet[b % alphabet.length];
  return s;
}

// The exp claim (seconds) of a JWT, read without verifying it (the server does); null when unreadable.
export function tokenExpiry(token) {
  try {
    const part = String(token).split('.')[1];
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=');
    const exp = JSON.parse(atob(b64)).exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp : null;
  } catch {
    return null;
  }
}

// When to refresh a token with `remaining` ms left: 60 s before exp, or at 80 % of a shorter lifetime.
function refreshDelay(remaining) {
  return Math.max(0, remaining - Math.min(60000, remaining * 0.2));
}

function withToken(url, token) {
  if (!token) return url;
  const u = new URL(url);
  u.searchParams.set('Authorization', token);
  return u.toString();
}

export class StreamerClient extends EventTarget {
  /**
   * @param {string|string[]} url  the WebSocket URL, e.g. ws://127.0.0.1:7999/ws (the token is added
   *   as ?Authorization=), or the URLs of several nodes: a failed handshake, or a connection that
   *   ends without a close frame (1006) or going away (1001), moves to the next one (round robin)
   * @param {object} options  see DEFAULTS above
   */
  constructor(url, options = {}) {
    super();
    const urls = Array.isArray(url) ? url : [url];
    if (urls.length === 0 || urls.some((u) => typeof u !== 'string' || u === '')) {
      throw new TypeError('StreamerClient: url must be a WebSocket URL or a non-empty array of them');
    }
    this.urls = [...urls]; // the nodes, in the order they are tried
    this._urlIndex = 0; //   the one in use (or tried next): this.url
    this.options = { ...DEFAULTS, ...options };
    const rc = this.options.reconnect;
    this._reconnect = rc === false ? null : { ...RECONNECT_DEFAULTS, ...(typeof rc === 'object' ? rc : {}) };
    const hb = this.options.heartbeat;
    if (hb === false || hb === 0 || hb == null) this._heartbeat = null;
    else if (typeof hb === 'number') this._heartbeat = { interval: hb, timeout: Math.min(10000, hb) };
    else this._heartbeat = { interval: 30000, timeout: 10000, ...hb };
    this.state = 'idle'; // idle | connecting | open | reconnecting | closed
    this.attempt = 0; //    reconnect attempts since the last open
    this._ws = null;
    this._prefix = `c${randomId(8)}`;
    this._seq = 0;
    this._pending = new Map(); // request id -> request record
    this._queue = []; //         records waiting for a connection
    this._topics = new Map(); // topic -> Set of handlers (flags: subscribing, presence, server, stream)
    this._server = new Map(); // server-side subscriptions (the token's topics claim): topic or pattern -> { topic, pattern, stream }
    this._serverTold = false; // this connection's server-side subscriptions are known (told, or none: an answer came first)
    this._topicHandlers = new Map(); // onTopic: topic or pattern -> Set of handlers
    this._listeners = new Map(); // on/off wrappers
    this._timer = null; //       reconnect timer
    this._wake = null; //        resolves the reconnect wait early
    this._hbTimer = null;
    this._lastRx = 0;
    this._connecting = null;
    this._abortHandshake = null; // fails the handshake in progress
    this._gen = 0; //            connection generation, bumped on every socket
    this._tokenExp = null; //    exp (s) of the token the connection holds, when known
    this._refreshTimer = null;
    this._rateNext = 0; //       Date.now() before which the window sends nothing (RATE_LIMITED)
    this._rateGap = 0; //        while > 0, ms between two sends of the window (the pace, see _pump)
    this._order = 0; //          creation order of requests (the window sends in it)
    this._backlog = []; //       requests waiting for a slot of the window, in order
    this._inFlight = 0; //       requests holding a slot (sent, first answer not yet in)
    this._inFlightBytes = 0; //  their size in all (JSON characters)
    this._pumpTimer = null;
    this._pumpSoon = false;
    this._hbSentAt = 0; //       when the outstanding heartbeat went out (0: none)
    // Streams: name -> { name, known, epoch, offset, buffer (offset -> message of epoch),
    // foreign (messages of another epoch), upTo (offsets <= it that are not in buffer are
    // not for this connection), target (highest offset known to exist), fetching }.
    this._streams = new Map();
    this._held = []; //          stream messages received while the positions are synchronised
    this._syncing = 0; //        synchronisation calls (streams.recover, subscribe with since) in flight
    this._streamsOff = false; // the server does not number its messages (no streams.recover)
    this._connId = null; //      this connection's id (streams.recover tells it)
    this._connIds = []; //       earlier connection ids of this client, newest last
    this._posTimer = null;
    this._positionsKnown = false; // the last synchronisation told where every stream stood
  }

  // ---- events -------------------------------------------------------------

  /** Calls fn(detail, event) for each event of type (open, close, reconnecting, refresh, error, message, sent, state, ratelimited, recovery, failover,
   * event, presence, join, leave, subscriptions):
   * - `event`: every topic event delivered (detail: the message {type: 'event', topic, data, timestamp, ...}), whatever
   *   subscription brought it: subscribe() or a server-side one (the token's topics claim, see onTopic)
   * - `presence`: a join or leave on a topic subscribed with {presence: true} (detail: the message {type: 'presence',
   *   topic, event: 'join'|'leave', user_id, connections, timestamp}; connections: the user's connections still
   *   subscribed to the topic after the change); `join` / `leave`: the same message, by its event
   * - `subscriptions`: the server told (after a connect, or a reconnect) the subscriptions it made itself from the
   *   token's topics claim; detail {topics: [{topic, stream, epoch, offset} | {topic, pattern: true}]} (topics: [] when
   *   a reconnect's token has none any more) */
  on(type, fn) {
    const wrapper = (e) => fn(e.detail, e);
    if (!this._listeners.has(fn)) this._listeners.set(fn, new Map());
    this._listeners.get(fn).set(type, wrapper);
    this.addEventListener(type, wrapper);
    return this;
  }

  off(type, fn) {
    const wrapper = this._listeners.get(fn)?.get(type);
    if (wrapper) {
      this.removeEventListener(type, wrapper);
      this._listeners.get(fn).delete(type);
    }
    return this;
  }

  _emit(type, detail) {
    this.dispatchEvent(new StreamerEvent(type, detail));
  }

  _setState(state) {
    if (this.state === state) return;
    this.state = state;
    this._emit('state', { state });
  }

  // ---- connection -----------------------------------------------------------

  /** Opens the connection; resolves when open. A first attempt that fails rejects
   * (a refused token looks like any other failed handshake in a browser); once it
   * has been open, the client reconnects by itself. */
  connect() {
    if (this.state === 'open') return Promise.resolve(this);
    if (this._connecting) return this._connecting;
    if (this.state === 'reconnecting') {
      const waiting = this._nextOpen();
      this.reconnectNow();
      return waiting;
    }
    this._closedByUser = false;
    this._setState('connecting');
    this._connecting = this._openAny().then(
      () => {
        this._connecting = null;
        this._onOpen();
        return this;
      },
      (err) => {
        this._connecting = null;
        this._setState('closed');
        this._failQueue(new StreamerError('NOT_CONNECTED', `Could not connect: ${err.message}`));
        throw err;
      },
    );
    return this._connecting;
  }

  /** Closes the connection for good (no reconnect); requests still waiting reject with CLOSED.
   * Topic subscriptions are remembered and restored by the next connect(). */
  close(code = 1000, reason = 'client closed') {
    this._closedByUser = true;
    clearTimeout(this._timer);
    this._timer = null;
    if (this._wake) this._wake();
    this._stopHeartbeat();
    this._stopRefresh();
    this._connectionEnded();
    if (this._abortHandshake) this._abortHandshake(new StreamerError('CLOSED', 'The client was closed'));
    const ws = this._ws;
    this._ws = null;
    this._gen++;
    const err = new StreamerError('CLOSED', 'The client was closed');
    for (const r of [...this._pending.values()]) this._settle(r, err);
    this._failQueue(err);
    const was = this.state;
    this._setState('closed');
    if (ws) {
      this._detach(ws);
      try {
        ws.close(code, reason);
      } catch { /* already closing */ }
    }
    if (was !== 'idle' && was !== 'closed') this._emit('close', { code, reason, byClient: true, willReconnect: false });
  }

  // Resolves at the next open, rejects when the client gives up or is closed.
  _nextOpen() {
    return new Promise((resolve, reject) => {
      const onOpen = () => { done(); resolve(this); };
      const onClose = (e) => {
        if (e.detail.willReconnect) return;
        done();
        reject(new StreamerError('NOT_CONNECTED', `Not connected: ${e.detail.reason || e.detail.code}`));
      };
      const done = () => {
        this.removeEventListener('open', onOpen);
        this.removeEventListener('close', onClose);
      };
      this.addEventListener('open', onOpen);
      this.addEventListener('close', onClose);
    });
  }

  async _token() {
    if (this.options.getToken) return this.options.getToken();
    return this.options.token;
  }

  /** The URL in use, or the one the next handshake tries. */
  get url() {
    return this.urls[this._urlIndex];
  }

  // Moves to the next URL (round robin); no-op with one URL.
  _nextUrl(error) {
    if (this.urls.length < 2) return;
    const from = this.url;
    this._urlIndex = (this._urlIndex + 1) % this.urls.length;
    this._emit('failover', { from, to: this.url, error });
  }

  // Handshakes with each URL at most once, from the current one on, until one
  // succeeds: a failure moves to the next URL. Rejects with the last error.
  async _openAny() {
    let last;
    for (let i = 0; i < this.urls.length; i++) {
      try {
        return await this._open();
      } catch (e) {
        last = e;
        if (this._closedByUser) throw e;
        this._nextUrl(e);
      }
    }
    throw last;
  }

  // One handshake with this.url: resolves with the open socket, rejects on failure.
  async _open() {
    const WS = this.options.WebSocket || globalThis.WebSocket;
    if (!WS) throw new StreamerError('NOT_CONNECTED', 'No WebSocket implementation: pass { WebSocket } (e.g. the ws package)');
    const token = await this._token();
    if (this._closedByUser) throw new StreamerError('CLOSED', 'The client was closed');
    this._openExp = tokenExpiry(token);
    const gen = ++this._gen;
    const ws = new WS(withToken(this.url, token));
    this._ws = ws;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => fail(new Error(`handshake timed out after ${this.options.connectTimeout} ms`)), this.options.connectTimeout);
      const fail = (e) => {
        clearTimeout(t);
        if (this._abortHandshake === fail) this._abortHandshake = null;
        this._detach(ws);
        if (this._ws === ws) this._ws = null;
        try {
          ws.close();
        } catch { /* not open */ }
        reject(e);
      };
      this._abortHandshake = fail;
      ws.onopen = () => {
        clearTimeout(t);
        this._abortHandshake = null;
        if (gen !== this._gen || this._closedByUser) {
          fail(new StreamerError('CLOSED', 'The client was closed'));
          return;
        }
        // Messages may come before _onOpen runs: the server-side subscriptions come first.
        this._serverTold = false;
        ws.onmessage = (e) => this._onMessage(ws, e);
        ws.onclose = (e) => this._onClose(ws, e);
        ws.onerror = () => this._emit('error', { error: new Error('WebSocket error') });
        resolve(ws);
      };
      ws.onerror = () => { /* the close that follows says more */ };
      ws.onclose = (e) => fail(new Error(`handshake failed (close ${e.code}${e.reason ? ` ${e.reason}` : ''})`));
    });
  }

  _detach(ws) {
    ws.onopen = ws.onmessage = ws.onclose = null;
    ws.onerror = () => {};
  }

  _onOpen() {
    this.attempt = 0;
    this._lastRx = Date.now();
    this._setState('open');
    this._startHeartbeat();
    this._tokenExp = this._openExp;
    this._scheduleRefresh(0);
    this._emit('open', { url: this.url });
    // Restore what the previous connection had: the streams' positions (their
    // messages are held until then), the subscriptions; then send what waited.
    this._synchronise();
    this._startPositionCheck();
    const again = [];
    for (const r of [...this._pending.values()]) {
      if (r.resend) {
        r.resend = false;
        again.push(r);
      } else if (r.orphan) this._poll(r);
    }
    for (const r of this._queue.splice(0)) {
      clearTimeout(r.queueTimer);
      r.queued = false;
      again.push(r);
    }
    again.sort((a, b) => a.seq - b.seq);
    for (const r of again) this._submit(r);
  }

  // What a connection leaves behind when it ends: its slots of the window, its
  // id (named in `connections` by the next one), its position check.
  _connectionEnded() {
    this._stopPositionCheck();
    this._inFlight = 0;
    this._inFlightBytes = 0;
    this._hbSentAt = 0;
    this._syncing = 0;
    clearTimeout(this._pumpTimer);
    this._pumpTimer = null;
    for (const r of this._pending.values()) r.slot = false;
    for (const s of this._streams.values()) s.fetching = false;
    if (this._connId) {
      this._connIds = this._connIds.filter((id) => id !== this._connId).concat(this._connId).slice(-EARLIER_CONNECTIONS);
      this._connId = null;
    }
  }

  _onClose(ws, e) {
    if (ws !== this._ws) return;
    this._detach(ws);
    this._ws = null;
    this._gen++;
    this._stopHeartbeat();
    this._stopRefresh();
    this._connectionEnded();
    const code = e?.code ?? 1006;
    const reason = e?.reason ?? '';
    // The node went away (no close frame, or 1001): the next attempt starts at the next one.
    if (code === 1006 || code === 1001) this._nextUrl(new Error(`connection lost (close ${code})`));
    // Requests sent on this connection outlive it: async ones are polled after the
    // reconnect; one still unanswered is looked up too (it may have been queued).
    for (const r of [...this._pending.values()]) {
      if (r.internal) this._settle(r, new StreamerError('CONNECTION_LOST', 'The connection closed before the answer', r.id));
      else if (r.sent) {
        r.sent = false;
        clearTimeout(r.ackTimer);
        clearTimeout(r.watchTimer);
        if (!r.async && r.idempotent) r.resend = true; // harmless to send again
        else r.orphan = true; //                          look it up with request.status
      }
    }
    // Those still waiting for a slot wait for the next connection (queueTimeout, not queueLimit).
    for (const r of this._backlog.splice(0)) {
      r.waiting = false;
      if (r.internal) this._settle(r, new StreamerError('CONNECTION_LOST', 'The connection closed before the answer', r.id));
      else this._enqueue(r, true);
    }
    const willReconnect = !!this._reconnect && !this._closedByUser;
    if (willReconnect) this._setState('reconnecting'); // sends from a close listener wait
    this._emit('close', { code, reason, byClient: false, willReconnect });
    if (willReconnect) this._scheduleReconnect();
    else {
      this._setState('closed');
      const err = new StreamerError('CONNECTION_LOST', `The connection closed (${code}${reason ? ` ${reason}` : ''})`);
      for (const r of [...this._pending.values()]) this._settle(r, err);
      this._failQueue(err);
    }
  }

  // Exponential backoff with jitter: a random delay in [d/2, d], d = min(maxDelay, initialDelay * factor^n).
  _backoff(n) {
    const { initialDelay, maxDelay, factor } = this._reconnect;
    const d = Math.min(maxDelay, initialDelay * factor ** n);
    return Math.round(d / 2 + Math.random() * (d / 2));
  }

  async _scheduleReconnect() {
    this._setState('reconnecting');
    while (!this._closedByUser) {
      if (this.attempt >= this._reconnect.maxAttempts) {
        this._setState('closed');
        const err = new StreamerError('CONNECTION_LOST', `Gave up reconnecting after ${this.attempt} attempts`);
        for (const r of [...this._pending.values()]) this._settle(r, err);
        this._failQueue(err);
        this._emit('close', { code: 1006, reason: 'gave up reconnecting', byClient: false, willReconnect: false });
        return;
      }
      const delay = this._backoff(this.attempt);
      this.attempt += 1;
      this._emit('reconnecting', { attempt: this.attempt, delay });
      await new Promise((resolve) => {
        this._wake = resolve;
        this._timer = setTimeout(resolve, delay);
      });
      this._wake = null;
      this._timer = null;
      if (this._closedByUser) return;
      try {
        await this._openAny();
        if (this._closedByUser) return;
        this._onOpen();
        return;
      } catch (error) {
        if (this._closedByUser) return;
        this._emit('error', { error, attempt: this.attempt });
      }
    }
  }

  /** Skips the current reconnect wait (e.g. when the browser says it is online again). */
  reconnectNow() {
    if (this._wake) this._wake();
  }

  // ---- heartbeat ------------------------------------------------------------

  // After `interval` ms without a frame from the server (ANSWERS_OVERDUE while answers
  // are awaited), a `health` request goes out at once (past the window: the client's
  // own burst must not hold it back). The connection is dead when, after it went out,
  // nothing at all (its answer, another answer, a push) arrives for `timeout` ms, and
  // nothing for `interval` ms in all: a server that talks is alive, even when the
  // heartbeat waits behind the client's burst on the server's side.
  _startHeartbeat() {
    this._stopHeartbeat();
    if (!this._heartbeat) return;
    const { interval, timeout } = this._heartbeat;
    this._hbTimer = setInterval(() => {
      if (this.state !== 'open') return;
      const now = Date.now();
      if (this._hbSentAt) {
        // (an early heartbeat, for overdue answers, does not make a slow answer fatal sooner)
        if (now - Math.max(this._hbSentAt, this._lastRx) < timeout || now - this._lastRx < interval) return;
        // Silence since the heartbeat went out: the connection is dead even if the socket does not know it yet.
        const ws = this._ws;
        this._emit('error', { error: new StreamerError('TIMEOUT', 'Heartbeat not answered; reconnecting') });
        try {
          ws.close(4000, 'heartbeat timeout');
        } catch { /* closing */ }
        this._onClose(ws, { code: 4000, reason: 'heartbeat timeout' });
        return;
      }
      // Answers overdue: send now, it releases answers Pushpin holds back.
      if (now - this._lastRx < (this._inFlight > 0 ? Math.min(interval, ANSWERS_OVERDUE) : interval)) return;
      const sentAt = now;
      this._hbSentAt = sentAt;
      const done = () => { if (this._hbSentAt === sentAt) this._hbSentAt = 0; };
      this._call('health', null, Math.max(timeout, this.options.requestTimeout || 0), true).then(done, done);
    }, Math.max(50, Math.min(250, Math.floor(interval / 2), Math.floor(timeout / 2))));
    this._hbTimer.unref?.();
  }

  _stopHeartbeat() {
    clearInterval(this._hbTimer);
    this._hbTimer = null;
  }

  // ---- token refresh --------------------------------------------------------

  // Arms the refresh of the connection's token (after `failures` failed tries: sooner, with backoff).
  _scheduleRefresh(failures) {
    this._stopRefresh();
    if (!this.options.refresh || !this.options.getToken || this._tokenExp == null) return;
    const remaining = this._tokenExp * 1000 - Date.now();
    if (remaining <= 0) return; // the server closes with 4001; the reconnect gets a new token
    const delay = failures ? Math.min(remaining / 4, 1000 * 2 ** (failures - 1), 30000) : refreshDelay(remaining);
    const gen = this._gen;
    this._refreshTimer = setTimeout(() => this._refreshToken(gen, failures), Math.max(delay, 100));
    this._refreshTimer.unref?.();
  }

  _stopRefresh() {
    clearTimeout(this._refreshTimer);
    this._refreshTimer = null;
  }

  // Gets a new token and hands it to the server; on failure tries again before exp.
  async _refreshToken(gen, failures) {
    this._refreshTimer = null;
    if (gen !== this._gen || this.state !== 'open') return;
    try {
      const token = await this.options.getToken();
      if (gen !== this._gen || this.state !== 'open') return;
      const data = await this._call('auth.refresh', { token });
      if (gen !== this._gen) return;
      const parsed = Date.parse(data?.expires_at) / 1000;
      const exp = Number.isFinite(parsed) ? parsed : tokenExpiry(token);
      // getToken gave back the token the connection already holds: ask again later, with backoff.
      const stale = exp == null || (this._tokenExp != null && exp <= this._tokenExp);
      if (exp != null) this._tokenExp = exp;
      this._emit('refresh', { expires_at: data?.expires_at });
      this._scheduleRefresh(stale ? failures + 1 : 0);
    } catch (error) {
      if (gen !== this._gen) return;
      this._emit('error', { error, refresh: true });
      this._scheduleRefresh(failures + 1);
    }
  }

  // ---- requests -------------------------------------------------------------

  /** A fresh request id, unique per client (random prefix + counter). */
  nextId() {
    this._seq += 1;
    return `${this._prefix}-${this._seq}`;
  }

  /**
   * Sends {action, payload} and resolves with the `data` of its response, or the
   * `result` of its `complete` for an async action. Rejects with a StreamerError
   * ({code, message, request_id}).
   * @param {object} [opts]
   * @param {(p: {percentage:number,message:string,metadata?:object,timestamp?:string,polled?:boolean}) => void} [opts.onProgress]
   * @param {(ack: object) => void} [opts.onAck]  called once when an async request is
   *   acknowledged; when its first progress or its complete arrives before the
   *   acknowledgment (they travel different paths), that counts as it and ack.implied is true
   * @param {number} [opts.timeout]  ms for the whole request (async ones included); an
   *   acknowledged request that times out or is aborted is cancelled on the server
   * @param {AbortSignal} [opts.signal]
   * @param {object} [opts.metadata]
   * @param {string} [opts.id]
   * @param {boolean} [opts.idempotent]  send it again if the connection drops before the
   *   answer (default for the actions in options.idempotent); otherwise such a request is
   *   looked up with request.status and rejects with CONNECTION_LOST if it was not async
   */
  request(action, payload = null, opts = {}) {
    return this._request(action, payload, opts, false);
  }

  // Internal requests (status polls, resubscription, heartbeat, recovery) go out only
  // on an open connection and end with it; `bypass` ones skip the window (the
  // heartbeat, and the recovery calls, at most one per stream).
  _call(action, payload, timeout = this.options.requestTimeout, bypass = false) {
    return this._request(action, payload, { timeout, bypass }, true);
  }

  _request(action, payload, opts, internal) {
    return new Promise((resolve, reject) => {
      const r = {
        id: opts.id || this.nextId(),
        seq: ++this._order,
        bypass: !!opts.bypass,
        action,
        payload,
        metadata: opts.metadata,
        onProgress: opts.onProgress,
        onAck: opts.onAck,
        resolve,
        reject,
        internal,
        idempotent: opts.idempotent ?? this.options.idempotent.includes(action),
        async: false,
        sent: false,
        orphan: false,
        lastProgress: -1,
        timer: null,
        pollTimer: null,
        signal: opts.signal,
        abort: null,
      };
      if (opts.signal) {
        if (opts.signal.aborted) {
          reject(new StreamerError('ABORTED', 'The request was aborted', r.id));
          return;
        }
        r.abort = () => this._giveUp(r, new StreamerError('ABORTED', 'The request was aborted', r.id));
        opts.signal.addEventListener('abort', r.abort, { once: true });
      }
      if (opts.timeout) {
        r.timer = setTimeout(() => this._giveUp(r, new StreamerError('TIMEOUT', `No result within ${opts.timeout} ms`, r.id)), opts.timeout);
        r.timer.unref?.();
      } else if (this.options.requestTimeout) {
        r.firstAnswerTimeout = this.options.requestTimeout;
      }
      this._pending.set(r.id, r);
      if (this.state === 'open') this._submit(r);
      else if (internal) this._settle(r, new StreamerError('NOT_CONNECTED', 'Not connected', r.id));
      else if (this.state === 'connecting' || this.state === 'reconnecting') this._enqueue(r);
      else this._settle(r, new StreamerError('NOT_CONNECTED', 'Not connected: call connect() first', r.id));
    });
  }

  // Makes r wait for a connection, at most queueTimeout ms; at most queueLimit
  // requests wait unless `accepted` (made while open, waiting for the window).
  _enqueue(r, accepted = false) {
    if (!accepted && this._queue.length >= this.options.queueLimit) {
      this._settle(r, new StreamerError('NOT_CONNECTED', `Not connected and ${this.options.queueLimit} messages already wait`, r.id));
      return;
    }
    r.queued = true;
    r.queueTimer = setTimeout(() => {
      const i = this._queue.indexOf(r);
      if (i >= 0) this._queue.splice(i, 1);
      this._settle(r, new StreamerError('NOT_CONNECTED', `Not connected within ${this.options.queueTimeout} ms`, r.id));
    }, this.options.queueTimeout);
    r.queueTimer.unref?.();
    this._queue.push(r);
  }

  // Hands r to the window: sent when a slot is free and the rate allows, in creation
  // order (a resend keeps its place ahead of later requests).
  _submit(r) {
    if (r.bypass) {
      this._transmit(r);
      return;
    }
    const b = this._backlog;
    let i = b.length;
    while (i > 0 && b[i - 1].seq > r.seq) i--;
    if (i === b.length) b.push(r);
    else b.splice(i, 0, r);
    r.waiting = true;
    this._pump();
  }

  // Sends from the backlog while slots are free. After a RATE_LIMITED answer
  // nothing goes before _rateNext, then one request per _rateGap until the backlog
  // is empty. retry_after_ms is the wait for the next token of the server's bucket,
  // often shorter than its rate's interval (a partly refilled bucket), and the proxy
  // may batch paced messages: so the gap grows by half when a paced request is
  // refused and shrinks by 3 % when one passes, settling just under the server's rate.
  _pump() {
    clearTimeout(this._pumpTimer);
    this._pumpTimer = null;
    const b = this._backlog;
    while (this.state === 'open' && b.length && this._inFlight < this.options.maxInFlight &&
           (this._inFlight === 0 || this._inFlightBytes + this._size(b[0]) <= this.options.maxInFlightBytes)) {
      const now = Date.now();
      if (now < this._rateNext) {
        this._pumpTimer = setTimeout(() => this._pump(), this._rateNext - now);
        this._pumpTimer.unref?.();
        return;
      }
      const r = b.shift();
      r.waiting = false;
      if (this._rateGap) {
        this._rateNext = now + this._rateGap;
        r.paced = true;
      }
      this._transmit(r);
    }
    if (!b.length && Date.now() >= this._rateNext) this._rateGap = 0; // the paced episode is over
  }

  // The size of r's message as sent (JSON characters), computed once.
  _size(r) {
    if (r.size === undefined) {
      r.size = JSON.stringify({ action: r.action, id: r.id, payload: r.payload, metadata: r.metadata }).length;
    }
    return r.size;
  }

  // r had its first answer (or needs none any more): its slot is free.
  _release(r) {
    if (!r.slot) return;
    r.slot = false;
    this._inFlight -= 1;
    this._inFlightBytes -= this._size(r);
    if (this._pumpSoon || !this._backlog.length) return;
    this._pumpSoon = true;
    queueMicrotask(() => {
      this._pumpSoon = false;
      this._pump();
    });
  }

  _failQueue(err) {
    for (const r of this._queue.splice(0)) this._settle(r, new StreamerError(err.code, err.message, r.id));
  }

  _transmit(r) {
    clearTimeout(r.queueTimer);
    r.queued = false;
    const msg = { action: r.action, id: r.id, payload: r.payload };
    if (r.metadata) msg.metadata = r.metadata;
    if (!this._sendRaw(msg)) {
      this._enqueue(r, true);
      return;
    }
    r.sent = true;
    if (!r.bypass) {
      r.slot = true;
      this._inFlight += 1;
      this._inFlightBytes += this._size(r);
    }
    if (r.firstAnswerTimeout && !r.async && !r.timer) {
      r.ackTimer = setTimeout(() => this._giveUp(r, new StreamerError('TIMEOUT', `No answer within ${r.firstAnswerTimeout} ms`, r.id)), r.firstAnswerTimeout);
      r.ackTimer.unref?.();
    }
  }

  _sendRaw(msg) {
    const ws = this._ws;
    if (!ws || this.state !== 'open') return false;
    const text = JSON.stringify(msg);
    try {
      ws.send(text);
    } catch {
      return false;
    }
    this._emit('sent', { message: msg, raw: text });
    return true;
  }

  // The caller stopped waiting (timeout or abort): reject, and cancel on the server
  // an async request that may be running.
  _giveUp(r, err) {
    if (!this._pending.has(r.id)) return;
    const mayRun = r.async || r.sent || r.orphan;
    this._settle(r, err);
    if (mayRun && !r.internal && r.action !== 'request.cancel' && r.action !== 'request.status' && this.state === 'open') {
      this._sendRaw({ action: 'request.cancel', id: this.nextId(), payload: { request_id: r.id } });
    }
  }

  _settle(r, err, value) {
    if (this._pending.get(r.id) === r) this._pending.delete(r.id);
    clearTimeout(r.timer);
    clearTimeout(r.ackTimer);
    clearTimeout(r.queueTimer);
    clearTimeout(r.pollTimer);
    clearTimeout(r.watchTimer);
    clearTimeout(r.rateTimer);
    this._release(r);
    if (r.queued) {
      const i = this._queue.indexOf(r);
      if (i >= 0) this._queue.splice(i, 1);
    }
    if (r.waiting) {
      r.waiting = false;
      const i = this._backlog.indexOf(r);
      if (i >= 0) this._backlog.splice(i, 1);
    }
    if (r.signal && r.abort) r.signal.removeEventListener('abort', r.abort);
    if (err) r.reject(err);
    else r.resolve(value);
  }

  // A RATE_LIMITED answer means the server did not route the request: send it again
  // after the retry_after_ms it names, at most options.rateLimitRetries times; then the
  // request rejects with RATE_LIMITED. It gives back its slot of the window and takes
  // its place again in the backlog, ahead of the requests made after it. The
  // connection's message rate (and a batch answer cut short) holds back every request:
  // the window sends nothing for retry_after_ms, then paced (_pump) until its backlog
  // is empty, instead of firing the requests behind it into the limit. A quota of async
  // requests holds back only the request it refused. Returns true when a resend is
  // scheduled.
  _backOff(r, m) {
    if (m.error?.code !== 'RATE_LIMITED' || r.async) return false;
    const n = (r.rateRetries || 0) + 1;
    if (n > this.options.rateLimitRetries) return false;
    r.rateRetries = n;
    r.sent = false;
    clearTimeout(r.ackTimer);
    this._release(r);
    const paced = r.paced;
    r.paced = false;
    const wait = Math.max(1, Number(m.error?.details?.retry_after_ms) || 1000);
    const limit = m.error?.details?.limit;
    const now = Date.now();
    let delay;
    if (!r.bypass && (limit === 'message' || limit === 'batch' || limit == null)) {
      if (limit !== 'batch') this._rateGap = Math.max(wait, paced ? this._rateGap * 1.5 : this._rateGap);
      this._rateNext = Math.max(this._rateNext, now + wait);
      delay = this._rateNext - now;
      if (this.state === 'open') this._submit(r);
      else this._enqueue(r, true);
    } else {
      delay = Math.min(60000, wait + Math.random() * Math.min(wait, 20));
      r.rateTimer = setTimeout(() => {
        r.rateTimer = null;
        if (this._pending.get(r.id) !== r) return;
        if (this.state === 'open') this._submit(r);
        else if (r.internal) this._settle(r, new StreamerError('CONNECTION_LOST', 'The connection closed before the answer', r.id));
        else this._enqueue(r, true);
      }, delay);
      r.rateTimer.unref?.();
    }
    this._emit('ratelimited', { request_id: r.id, retry: n, delay: Math.round(delay) });
    return true;
  }

  _progress(r, p) {
    if (!r.onProgress) return;
    try {
      r.onProgress(p);
    } catch (error) {
      this._emit('error', { error, request_id: r.id });
    }
  }

  // After a reconnect: asks request.status about r until it finishes. Progress and
  // the result were pushed to the old connection, so polling is the only way now.
  async _poll(r) {
    r.orphan = true;
    const gen = this._gen;
    while (this._pending.get(r.id) === r && this.state === 'open' && gen === this._gen) {
      let st;
      try {
        st = await this._call('request.status', { request_id: r.id });
      } catch (e) {
        if (this._pending.get(r.id) !== r) return;
        if (e.code === 'NOT_FOUND') {
          // Not an async request the server knows: a sync request whose answer was lost.
          this._settle(r, new StreamerError('CONNECTION_LOST', `The connection closed before the answer to ${r.id}; it may or may not have run`, r.id));
          return;
        }
        if (e.code === 'CONNECTION_LOST' || e.code === 'NOT_CONNECTED' || gen !== this._gen) return; // the next open polls again
        await new Promise((res) => { r.pollTimer = setTimeout(res, this.options.pollInterval); });
        continue;
      }
      if (this._pending.get(r.id) !== r) return;
      r.async = true;
      clearTimeout(r.ackTimer);
      if (st.status === 'CANCELLED' && this.options.resubmit && CANCELLED_BEFORE_START.test(st.error?.message || '') && (r.resubmits || 0) < 3) {
        // It never ran: the server dropped it with its connection. Send it again here.
        r.resubmits = (r.resubmits || 0) + 1;
        r.orphan = false;
        r.async = false;
        r.acked = false;
        this._transmit(r);
        return;
      }
      if (this._settleFromStatus(r, st)) return;
      if (!TERMINAL.has(st.status)) {
        await new Promise((res) => { r.pollTimer = setTimeout(res, this.options.pollInterval); });
      }
    }
  }

  // Arms (again) the check of an acknowledged async request: when checkInterval
  // passes without a progress or result push, _check asks request.status.
  _watch(r) {
    clearTimeout(r.watchTimer);
    if (!this.options.checkInterval || r.orphan) return;
    r.watchTimer = setTimeout(() => this._check(r), this.options.checkInterval);
    r.watchTimer.unref?.();
  }

  // Asks request.status about r once, on the connection it was sent on: a push
  // the proxy dropped (or that could not be delivered) would otherwise leave r
  // waiting for ever. A finished request settles r; one still running re-arms.
  async _check(r) {
    const gen = this._gen;
    if (this._pending.get(r.id) !== r || r.orphan || this.state !== 'open') return;
    let st;
    try {
      st = await this._call('request.status', { request_id: r.id });
    } catch {
      st = null; // asked again at the next interval, or polled after a reconnect
    }
    if (this._pending.get(r.id) !== r || r.orphan || gen !== this._gen) return;
    if (!st || !this._settleFromStatus(r, st)) this._watch(r);
  }

  // Applies a request.status answer to r: a failed or cancelled request
  // rejects r; otherwise its progress is reported and a completed one resolves
  // r. Returns true when r is settled, false while the request still runs.
  _settleFromStatus(r, st) {
    if (st.status === 'FAILED' || st.status === 'CANCELLED') {
      this._settle(r, new StreamerError(st.error?.code || st.status, st.error?.message || st.status, r.id));
      return true;
    }
    this._progressFromStatus(r, st);
    if (st.status !== 'COMPLETED') return false;
    this._settle(r, null, st.result);
    return true;
  }

  _progressFromStatus(r, st) {
    if (typeof st.progress !== 'number' || st.progress <= r.lastProgress) return;
    r.lastProgress = st.progress;
    r.polledProgress = true;
    const p = { percentage: st.progress, message: st.progress_message || st.status, polled: true };
    if (st.progress_metadata) p.metadata = st.progress_metadata;
    this._progress(r, p);
  }

  // ---- incoming -------------------------------------------------------------

  _onMessage(ws, e) {
    if (ws !== this._ws) return;
    this._lastRx = Date.now();
    if (typeof e.data !== 'string') return;
    let m;
    try {
      m = JSON.parse(e.data);
    } catch {
      this._emit('error', { error: new Error('A frame that is not JSON'), raw: e.data });
      return;
    }
    if (this._numbered(m)) {
      this._onStreamMessage(m, e.data);
      return;
    }
    // The server-side subscriptions come with the open, before any answer: when an
    // answer comes first, this connection has none.
    if (!this._serverTold && m && typeof m === 'object' && m.request_id != null &&
        (m.type === 'response' || m.type === 'error')) {
      this._serverTold = true;
      if (this._server.size) this._setServer([]);
    }
    this._deliver(m, e.data, false);
    if (m && typeof m === 'object' && m.positions && typeof m.positions === 'object') {
      for (const [name, pos] of Object.entries(m.positions)) this._hint(name, pos);
    }
  }

  // Hands one message to the application (the `message` event, then a topic's
  // handlers or the request it is about). Stream messages come here exactly once,
  // in offset order; `recovered` ones came from the history.
  _deliver(m, raw, recovered) {
    const detail = { message: m, raw: raw ?? JSON.stringify(m) };
    if (recovered) detail.recovered = true;
    this._emit('message', detail);
    if (!m || typeof m !== 'object') return;
    if (m.type === 'event') {
      this._dispatchEvent(m);
      return;
    }
    if (m.type === 'presence') {
      this._onPresence(m);
      return;
    }
    if (m.type === 'subscriptions' && m.request_id == null) {
      this._serverTold = true;
      this._setServer(Array.isArray(m.topics) ? m.topics : []);
      return;
    }
    const r = m.request_id != null ? this._pending.get(m.request_id) : undefined;
    if (r?.paced && m.error?.code !== 'RATE_LIMITED') {
      r.paced = false; // it passed: the pace may be a little faster
      if (this._rateGap) this._rateGap = Math.max(1, this._rateGap * 0.97);
    }
    if (!r) {
      if (m.type === 'error' && m.request_id == null) {
        this._emit('error', { error: new StreamerError(m.error?.code || 'INTERNAL_ERROR', m.error?.message) });
      }
      return;
    }
    switch (m.type) {
      case 'response':
        this._settle(r, null, m.data);
        break;
      case 'error':
        if (m.error?.details?.reason === 'token_expired' && !r.internal) {
          // Refused unrun because the token expired; the server closes (4001): send it again after the reconnect.
          r.sent = false;
          r.resend = true;
          clearTimeout(r.ackTimer);
          this._release(r);
          break;
        }
        if (this._backOff(r, m)) break;
        this._settle(r, new StreamerError(m.error?.code || 'INTERNAL_ERROR', m.error?.message, r.id, m.error?.details));
        break;
      case 'acknowledgment':
        this._acknowledged(r, m);
        break;
      case 'progress': {
        this._acknowledged(r, m);
        this._watch(r);
        // Progress never goes back for the application: a polled report (request.status
        // after a reconnect) may have told more than a push recovered later.
        if (m.percentage < r.lastProgress || (m.percentage === r.lastProgress && r.polledProgress)) break;
        r.lastProgress = m.percentage;
        r.polledProgress = false;
        const p = { percentage: m.percentage, message: m.message, timestamp: m.timestamp };
        if (m.metadata !== undefined) p.metadata = m.metadata;
        this._progress(r, p);
        break;
      }
      case 'complete':
        this._acknowledged(r, m);
        this._settle(r, null, m.result);
        break;
      default:
        break;
    }
  }

  // The acknowledgment m of r, or a push (progress, complete) for r that
  // overtook it: the acknowledgment comes in the answer to the request, the
  // pushes from a processor through the proxy's publish API, and the two
  // paths do not keep order. The first of them counts as the acknowledgment:
  // onAck runs once, with the acknowledgment itself or, when a push came
  // first, with one made here ({type, request_id, status: 'queued', implied:
  // true}); a later acknowledgment is ignored (after the complete, r is gone).
  _acknowledged(r, m) {
    r.async = true;
    clearTimeout(r.ackTimer);
    this._release(r);
    if (r.acked) return;
    r.acked = true;
    if (m.type === 'acknowledgment') this._watch(r);
    if (!r.onAck) return;
    const ack = m.type === 'acknowledgment' ? m
      : { type: 'acknowledgment', request_id: r.id, status: 'queued', implied: true };
    try {
      r.onAck(ack);
    } catch (error) {
      this._emit('error', { error, request_id: r.id });
    }
  }

  // A topic event: the `event` event, then the handlers of its topic (subscribe) and
  // those of onTopic whose topic or pattern covers it, each once.
  _dispatchEvent(m) {
    this._emit('event', m);
    if (typeof m.topic !== 'string') return;
    const fns = new Set(this._topics.get(m.topic));
    for (const [key, set] of this._topicHandlers) {
      if (topicCovers(key, m.topic)) for (const h of set) fns.add(h);
    }
    for (const h of fns) {
      try {
        h(m.data, m);
      } catch (error) {
        this._emit('error', { error, topic: m.topic });
      }
    }
  }

  // A join or leave of a topic subscribed with presence (not numbered: no stream).
  _onPresence(m) {
    if (typeof m.topic !== 'string' || !this._topics.get(m.topic)?.presence) return;
    this._emit('presence', m);
    if (m.event === 'join' || m.event === 'leave') this._emit(m.event, m);
  }

  // ---- streams -----------------------------------------------------------------
  //
  // Every message the server pushes (not the answers) belongs to a stream
  // (topic:<tenant>:<topic>, tenant:<tenant>, user:<tenant>:<user>) and carries its
  // epoch and offset (+1 per message). The client keeps each stream's position,
  // drops duplicates, holds what comes early, and fetches a gap from the history at
  // once (`history`, one call per stream at a time), so that the application sees
  // each message once, in offset order. See docs/sdk.md.

  _numbered(m) {
    return !this._streamsOff && !!m && typeof m === 'object' && typeof m.stream === 'string' &&
      Number.isInteger(m.offset) && m.offset >= 1 && typeof m.epoch === 'string';
  }

  // The state of stream name, made (position unknown) when new.
  _stream(name) {
    let s = this._streams.get(name);
    if (!s) {
      s = { name, known: false, epoch: null, offset: 0, buffer: new Map(), foreign: [], upTo: 0, target: 0, fetching: false, graceTimer: null, gapTimer: null, startTimer: null };
      this._streams.set(name, s);
    }
    return s;
  }

  // Whether messages of stream name concern this client: a topic stream only while
  // subscribed (subscribe, or the server's own subscription to it or to a pattern covering it).
  _wanted(name) {
    const topic = topicOf(name);
    if (topic == null) return true;
    if (topic.includes('*')) return false; // a pattern's channel, not a stream
    return this._topics.has(topic) || this._serverCovers(topic);
  }

  // Whether a server-side subscription (a name or a pattern) covers topic.
  _serverCovers(topic) {
    for (const key of this._server.keys()) if (topicCovers(key, topic)) return true;
    return false;
  }

  // The server-side subscription to topic by name (not by a pattern), or undefined.
  _serverExact(topic) {
    const e = this._server.get(topic);
    return e && !e.pattern ? e : undefined;
  }

  // A topic whose subscribe answer (which gives the stream's position) is awaited.
  _awaitingPosition(name) {
    const topic = topicOf(name);
    return topic != null && !!this._topics.get(topic)?.subscribing;
  }

  _onStreamMessage(m, raw) {
    if (this._syncing) {
      this._held.push([m, raw]);
      return;
    }
    if (!this._wanted(m.stream)) return;
    const s = this._stream(m.stream);
    if (!s.known) {
      if (this._awaitingPosition(m.stream)) {
        s.foreign.push([m, raw, false]);
        return;
      }
      if (topicOf(m.stream) != null) {
        this._startAtFirst(s, m, raw);
        return;
      }
      // A user or tenant stream that did not exist at the last synchronisation starts
      // at 0; when that synchronisation failed, where it stood is unknown: it starts
      // here rather than replay a history from before this client.
      if (this._positionsKnown) this._setPosition(s, null, 0);
      else this._setPosition(s, m.epoch, m.offset - 1);
    }
    this._accept(s, m, raw, false);
  }

  // One message of s: delivered when it is the next, dropped when already seen,
  // else kept until the gap before it is filled.
  _accept(s, m, raw, recovered) {
    if (m.epoch !== s.epoch) {
      if (s.epoch == null && s.offset === 0 && m.offset === 1) s.epoch = m.epoch; // a new stream, from its start
      else {
        s.foreign.push([m, raw, recovered]);
        this._recoverGap(s);
        return;
      }
    }
    if (m.offset <= s.offset) return;
    if (m.offset > s.target) s.target = m.offset;
    if (!s.buffer.has(m.offset)) s.buffer.set(m.offset, [m, raw, recovered, Date.now()]);
    this._drain(s);
  }

  // Delivers what follows s's position; offsets up to s.upTo that are not held are
  // not for this connection (a user stream's messages to the user's other connections).
  _drain(s) {
    for (;;) {
      const next = s.offset + 1;
      const e = s.buffer.get(next);
      if (e) {
        s.buffer.delete(next);
        s.offset = next;
        this._deliver(e[0], e[1], e[2]);
        if (this._streams.get(s.name) !== s) return; // a handler unsubscribed
        continue;
      }
      if (next > s.upTo) break;
      let to = s.upTo;
      for (const k of s.buffer.keys()) if (k > s.offset && k <= to) to = k - 1;
      s.offset = to;
    }
    if (s.buffer.size || s.foreign.length) this._recoverGap(s);
  }

  // A gap (or another epoch) is fetched unless what is missing comes within GAP_GRACE
  // ms of the first message after it (the earliest arrival the buffer holds).
  _recoverGap(s) {
    if (s.gapTimer || s.fetching) return;
    let seen = Infinity;
    for (const e of s.buffer.values()) if (e[3] < seen) seen = e[3];
    const wait = s.foreign.length || seen === Infinity ? GAP_GRACE : GAP_GRACE - (Date.now() - seen);
    if (wait <= 0) {
      this._recover(s);
      return;
    }
    s.gapTimer = setTimeout(() => {
      s.gapTimer = null;
      if (this._streams.get(s.name) === s && (s.buffer.size || s.foreign.length)) this._recover(s);
    }, wait);
    s.gapTimer.unref?.();
  }

  // A topic stream whose position nobody told (one a server-side pattern covers, seen
  // for the first time): it starts at its first message that comes. The pattern was
  // subscribed at the connect; where the stream stood then is not known. The
  // messages that come within GAP_GRACE ms are held first, and it starts before the
  // lowest of them: pushes of one stream reach Pushpin in any order.
  _startAtFirst(s, m, raw) {
    s.foreign.push([m, raw, false]);
    if (s.startTimer) return;
    s.startTimer = setTimeout(() => {
      s.startTimer = null;
      if (this._streams.get(s.name) !== s || s.known || !s.foreign.length) return;
      const epoch = s.foreign[s.foreign.length - 1][0].epoch; // the newest epoch
      let first = Infinity;
      for (const [x] of s.foreign) if (x.epoch === epoch && x.offset < first) first = x.offset;
      this._setPosition(s, epoch, first - 1);
      this._refeed(s);
    }, GAP_GRACE);
    s.startTimer.unref?.();
  }

  _setPosition(s, epoch, offset) {
    s.known = true;
    if (epoch !== s.epoch) s.buffer.clear();
    s.epoch = epoch;
    s.offset = offset;
    s.upTo = offset;
    s.target = offset;
    for (const k of s.buffer.keys()) if (k <= offset) s.buffer.delete(k);
  }

  // Messages that waited for s's position or epoch: those of its epoch are taken, others are old.
  _refeed(s) {
    const waiting = s.foreign.splice(0);
    for (const [m, raw, recovered] of waiting) {
      if (m.epoch === s.epoch || (s.epoch == null && s.offset === 0 && m.offset === 1)) this._accept(s, m, raw, recovered);
    }
    this._drain(s);
  }

  // A position the server reported for stream name ({epoch, offset}: a hint in an
  // answer, or a stream streams.recover lists): a stream of unknown position
  // starts there; a known one that is behind fetches the rest.
  _position(name, pos) {
    if (this._streamsOff || !pos || typeof pos !== 'object' || !Number.isInteger(pos.offset) || !this._wanted(name)) return;
    const s = this._stream(name);
    if (!s.known) {
      if (this._awaitingPosition(name)) return; // its subscribe answer sets it
      this._setPosition(s, pos.epoch ?? null, pos.offset);
      if (this._syncing) s.fresh = true; // live messages held meanwhile may be at or before it (_synced)
      this._adoptEarly(s, s.foreign.map(([m]) => m)); // those of a stream a pattern covers (_startAtFirst)
      this._refeed(s);
      return;
    }
    this._hint(name, pos);
  }

  // s's position was just learned, and msgs came live while it was asked for: a
  // message that came live was pushed after this connection joined the stream, even
  // when the position (read a moment later) already counts it. s goes on from
  // before the first of them; what lies between is fetched.
  _adoptEarly(s, msgs) {
    const first = msgs.find((m) => m.epoch === s.epoch);
    if (first && first.offset <= s.offset) {
      s.offset = first.offset - 1;
      s.upTo = s.offset;
    }
  }

  _hint(name, pos) {
    if (this._syncing || this._streamsOff || !pos || typeof pos !== 'object' || !pos.epoch || !Number.isInteger(pos.offset)) return;
    let s = this._streams.get(name);
    if (!s) {
      if (!this._wanted(name)) return;
      if (!this._positionsKnown) return; // where it stood is unknown: its next message tells
      if (topicOf(name) != null) return; // a topic its subscription did not place: from its next message (_startAtFirst)
      s = this._stream(name);
      this._setPosition(s, null, 0); // appeared since the synchronisation: it starts at 0
    }
    if (!s.known) return; // its subscribe answer sets it
    if (pos.epoch === s.epoch || (s.epoch == null && s.offset === 0)) {
      if (pos.offset > s.target) s.target = pos.offset;
      if (s.target > s.offset) this._recoverSoon(s);
    } else {
      s.stale = true;
      this._recover(s);
    }
  }

  // A hint runs ahead of pushes still on their way: the stream is fetched when it is
  // behind and nothing came for it for HINT_GRACE ms (while messages keep coming,
  // a gap shows in their offsets anyway).
  _recoverSoon(s) {
    if (s.graceTimer || s.fetching) return;
    const from = s.offset;
    s.graceTimer = setTimeout(() => {
      s.graceTimer = null;
      if (!(s.target > s.offset || s.stale)) return;
      if (s.offset > from && !s.stale) this._recoverSoon(s);
      else this._recover(s);
    }, HINT_GRACE);
    s.graceTimer.unref?.();
  }

  _since(s) {
    return { epoch: s.epoch, offset: s.offset };
  }

  // Fetches what s misses after its position (`history`), unless a fetch is on. A
  // gap before messages it holds is fetched alone (limit: the gap's size): the
  // messages after it are here already, or on their way.
  _recover(s) {
    if (s.fetching || this._syncing || this.state !== 'open' || this._streamsOff || !s.known) return;
    clearTimeout(s.graceTimer);
    clearTimeout(s.gapTimer);
    s.graceTimer = null;
    s.gapTimer = null;
    s.fetching = true;
    s.stale = false;
    const gen = this._gen;
    const payload = { stream: s.name, since: this._since(s) };
    let first = Infinity;
    for (const k of s.buffer.keys()) if (k < first) first = k;
    const gap = first - s.offset - 1;
    if (!s.foreign.length && gap >= 1 && gap < 1000) payload.limit = gap;
    if (s.name.startsWith('user:') && this._connIds.length) payload.connections = [...this._connIds];
    this._call('history', payload, this.options.requestTimeout, true).then((d) => {
      if (gen !== this._gen) return;
      s.fetching = false;
      this._recovered(s, d, !!payload.limit);
    }, (error) => {
      if (gen !== this._gen) return;
      s.fetching = false;
      this._emit('error', { error, stream: s.name });
      s.graceTimer = setTimeout(() => { s.graceTimer = null; this._recover(s); }, 1000); // not at once: it may fail again
      s.graceTimer.unref?.();
    });
  }

  // Applies a recovery answer for s (history, a stream of streams.recover, a
  // subscribe with since): {epoch, offset, messages, recovered, more, until}.
  // `limited`: the fetch asked for one gap only, its `more` says nothing missing.
  _recovered(s, d, limited = false) {
    if (this._streams.get(s.name) !== s || !d || typeof d !== 'object') return;
    const msgs = Array.isArray(d.messages) ? d.messages.filter((m) => this._numbered(m)) : [];
    const epoch = d.epoch ?? null;
    const current = Number.isInteger(d.offset) ? d.offset : 0;
    let reset = false; // to the current position of another epoch: the answer covers nothing
    if (d.recovered === false) {
      const detail = { stream: s.name, recovered: false, epoch, offset: current };
      const topic = topicOf(s.name);
      if (topic != null) detail.topic = topic;
      this._emit('recovery', detail);
      const first = msgs.find((m) => m.epoch === epoch);
      if (first && (epoch === s.epoch || (s.epoch == null && s.offset === 0))) {
        // the history lost the oldest: go on from what it still holds
        this._setPosition(s, epoch, Math.max(epoch === s.epoch ? s.offset : 0, first.offset - 1));
      } else {
        // start again from the current position, and from the messages of the new
        // epoch that came live (held meanwhile): they are delivered in order
        this._setPosition(s, epoch, current);
        this._adoptEarly(s, s.foreign.map(([m]) => m));
        reset = true;
      }
    } else if (s.epoch == null && s.offset === 0 && epoch) {
      s.epoch = epoch; // from the start of the epoch the stream is in
    }
    if (epoch === s.epoch) {
      for (const m of msgs) {
        if (m.epoch === s.epoch && m.offset > s.offset && !s.buffer.has(m.offset)) s.buffer.set(m.offset, [m, null, true]);
      }
      const until = d.more ? d.until : Math.max(Number.isInteger(d.until) ? d.until : 0, current);
      if (!reset && Number.isInteger(until) && until > s.upTo) s.upTo = until;
      if (current > s.target) s.target = current;
    }
    const offset = s.offset;
    this._refeed(s);
    if (this._streams.get(s.name) !== s) return;
    if (d.more && !limited && s.offset > offset) this._recover(s); // the next page
    else if (s.target > s.offset) this._recoverSoon(s);
  }

  // After an open: where every stream stands (streams.recover with the known
  // positions and the earlier connection ids; subscribe with since for topics).
  // The topics the server subscribes by itself (the token's topics claim, by name or
  // pattern) are subscribed again by the server at the connect: their streams go in
  // the streams.recover once the connection told which they are (its `subscriptions`
  // message comes before any answer, but may come after the open: then _setServer
  // asks for them). Stream messages are held until all of it is in, then go through
  // in order.
  _synchronise() {
    this._positionsKnown = true; // until a streams.recover of it fails
    const since = {};
    for (const s of this._streams.values()) {
      if (!s.known) continue;
      if (topicOf(s.name) == null || (this._serverTold && this._followsServer(s.name))) since[s.name] = this._since(s);
    }
    const names = Object.keys(since);
    const chunks = [];
    for (let i = 0; i < names.length; i += RECOVER_STREAMS) chunks.push(names.slice(i, i + RECOVER_STREAMS));
    if (!chunks.length) chunks.push([]);
    if (!this._streamsOff) {
      for (const chunk of chunks) this._recoverMany(chunk.map((n) => this._streams.get(n)), true);
    }
    for (const [topic, handlers] of this._topics) {
      if (this._subscribesItself(topic)) this._resubscribe(topic, handlers);
    }
  }

  // Whether stream name is a topic stream followed only for a server-side
  // subscription (not for one subscribe() makes again after a reconnect).
  _followsServer(name) {
    const topic = topicOf(name);
    return topic != null && this._wanted(name) && !this._subscribesItself(topic);
  }

  // Whether topic's subscription is the client's to make again after a reconnect: a
  // subscribe() the server answered (or will: its request is queued or being resent)
  // is, one that only added handlers to a server-side subscription is not.
  _subscribesItself(topic) {
    const handlers = this._topics.get(topic);
    return !!handlers && !handlers.server && !handlers.subscribing;
  }

  // Subscribes to topic again on this connection (since its stream's position, with
  // presence when it had it); stream messages are held until the answer is in.
  _resubscribe(topic, handlers) {
    const s = handlers.stream && this._streams.get(handlers.stream);
    const payload = { topic };
    if (handlers.presence) payload.presence = true;
    if (s && s.known && !this._streamsOff) payload.since = this._since(s);
    this._syncing += 1;
    const gen = this._gen;
    this._call('subscribe', payload, this.options.requestTimeout, true).then(
      (d) => { if (gen === this._gen) this._subscribed(topic, d); },
      (error) => { if (gen === this._gen) this._emit('error', { error, topic }); },
    ).finally(() => { if (gen === this._gen) this._synced(); });
  }

  // The server-side subscriptions this connection has (a `subscriptions` message, or
  // none): exact topics take the position the server read at the connect, as a
  // subscribe answer; a subscribe() that relied on a server-side subscription that
  // is gone subscribes by itself; streams nothing covers any more are dropped.
  _setServer(list) {
    const items = list.filter((t) => t && typeof t === 'object' && typeof t.topic === 'string' && t.topic !== '');
    const known = [...this._streams.values()].filter((s) => s.known); // before this message
    this._server = new Map();
    for (const t of items) {
      const pattern = t.pattern === true || t.topic.includes('*');
      this._server.set(t.topic, pattern ? { topic: t.topic, pattern: true }
        : { topic: t.topic, pattern: false, stream: typeof t.stream === 'string' ? t.stream : null });
    }
    for (const t of items) {
      const e = this._server.get(t.topic);
      if (e.pattern || !e.stream || this._streamsOff) continue;
      const handlers = this._topics.get(e.topic);
      if (handlers?.server) handlers.stream = e.stream;
      const s = this._stream(e.stream);
      if (s.known) this._hint(e.stream, t);
      else if (!this._awaitingPosition(e.stream)) {
        this._setPosition(s, t.epoch ?? null, Number.isInteger(t.offset) ? t.offset : 0);
        if (this._syncing) s.fresh = true; // live messages held meanwhile may be at or before it (_synced)
        this._adoptEarly(s, s.foreign.map(([m]) => m));
        this._refeed(s);
      }
    }
    for (const [topic, handlers] of this._topics) {
      if (!handlers.server || this._serverExact(topic)) continue;
      handlers.server = false;
      if (this.state === 'open') this._resubscribe(topic, handlers);
    }
    for (const name of [...this._streams.keys()]) if (!this._wanted(name)) this._dropStream(name);
    // Told after the open (_synchronise left these streams out): what they missed.
    if (this.state === 'open' && !this._streamsOff) {
      const list = known.filter((s) => this._streams.get(s.name) === s && !s.fetching && this._followsServer(s.name));
      for (let i = 0; i < list.length; i += RECOVER_STREAMS) this._recoverMany(list.slice(i, i + RECOVER_STREAMS), true);
    }
    this._emit('subscriptions', { topics: items });
  }

  // One streams.recover for the streams list (the since of each); `sync` ones hold
  // stream messages until answered.
  _recoverMany(list, sync) {
    const streams = {};
    for (const s of list) {
      streams[s.name] = this._since(s);
      s.fetching = true;
    }
    const payload = { streams };
    if (this._connIds.length) payload.connections = [...this._connIds];
    const gen = this._gen;
    if (sync) this._syncing += 1;
    this._call('streams.recover', payload, this.options.requestTimeout, true).then((d) => {
      if (gen !== this._gen) return;
      for (const s of list) s.fetching = false;
      if (typeof d?.connection_id === 'string') this._connId = d.connection_id;
      for (const [name, e] of Object.entries(d?.streams || {})) {
        if (!e || typeof e !== 'object') continue;
        const s = this._streams.get(name);
        if (s && s.known && streams[name] && ('messages' in e || 'recovered' in e)) this._recovered(s, e);
        else if (sync) this._position(name, e);
        else this._hint(name, e);
      }
    }, (error) => {
      if (gen !== this._gen) return;
      for (const s of list) s.fetching = false;
      if (error.code === 'INVALID_ACTION') this._streamsOff = true; // a server without streams
      else {
        if (sync) this._positionsKnown = false;
        this._emit('error', { error, streams: Object.keys(streams) });
      }
    }).finally(() => { if (sync && gen === this._gen) this._synced(); });
  }

  // One synchronisation call is in; after the last, the held messages go through.
  _synced() {
    this._syncing = Math.max(0, this._syncing - 1);
    if (this._syncing) return;
    const held = this._held.splice(0);
    for (const s of this._streams.values()) {
      if (!s.fresh) continue;
      s.fresh = false;
      this._adoptEarly(s, held.filter(([m]) => m.stream === s.name).map(([m]) => m));
    }
    for (const [m, raw] of held) {
      if (this._streamsOff) this._deliver(m, raw, false);
      else this._onStreamMessage(m, raw);
    }
    for (const s of [...this._streams.values()]) {
      if (this._streams.get(s.name) !== s || !s.known) continue;
      this._drain(s);
      if (s.target > s.offset) this._recover(s);
    }
  }

  // The answer to a subscribe: the topic stream's position (and, with since, what it missed).
  _subscribed(topic, d) {
    const handlers = this._topics.get(topic);
    if (!handlers || !d || typeof d.stream !== 'string' || this._streamsOff) return;
    handlers.stream = d.stream;
    const s = this._stream(d.stream);
    if (s.known && ('recovered' in d || 'messages' in d)) this._recovered(s, d);
    else if (!s.known) {
      this._setPosition(s, d.epoch ?? null, Number.isInteger(d.offset) ? d.offset : 0);
      if (this._syncing) s.fresh = true; // live messages held meanwhile may be at or before it (_synced)
      this._adoptEarly(s, s.foreign.map(([m]) => m));
      this._refeed(s);
    } else this._hint(d.stream, d);
  }

  // Asks where the streams stand when the server has said nothing for
  // positionInterval ms: a lost tail shows as a stream that is further than the client.
  _startPositionCheck() {
    this._stopPositionCheck();
    const every = this.options.positionInterval;
    if (!every) return;
    this._lastCheck = Date.now();
    this._posTimer = setInterval(() => {
      const now = Date.now();
      if (this.state !== 'open' || this._streamsOff || this._syncing) return;
      if (now - this._lastRx < every || now - this._lastCheck < every) return;
      this._lastCheck = now;
      const list = [...this._streams.values()].filter((s) => s.known && !s.fetching && this._wanted(s.name));
      for (let i = 0; i < list.length || i === 0; i += RECOVER_STREAMS) this._recoverMany(list.slice(i, i + RECOVER_STREAMS), false);
    }, Math.max(50, Math.min(1000, Math.floor(every / 2))));
    this._posTimer.unref?.();
  }

  _stopPositionCheck() {
    clearInterval(this._posTimer);
    this._posTimer = null;
  }

  /** Where each stream stands on this client: {stream: {epoch, offset}} (its last delivered message). */
  get positions() {
    const out = {};
    for (const s of this._streams.values()) if (s.known) out[s.name] = { epoch: s.epoch, offset: s.offset };
    return out;
  }

  // ---- topics ---------------------------------------------------------------

  /** Subscribes handler(data, event) to topic; resolves with the server's answer.
   * Subscriptions are restored after every reconnect. On a topic the server
   * subscribed this connection to by itself (by name in the token's topics claim,
   * see serverTopics) it only adds the handler: no request, the answer is
   * {topic, subscribed: true, server_side: true}. (The server tells them right after
   * the open, the `subscriptions` event; in a browser connect() may resolve just before:
   * a subscribe() made then sends its request, which is harmless.)
   * @param {string} topic
   * @param {(data: any, event: object) => void} [handler]  called with each event's data and the event message
   * @param {object} [opts]
   * @param {boolean} [opts.presence]  also receive the topic's join and leave events (the `presence`,
   *   `join` and `leave` events of the client); asked again after every reconnect. Asked on a topic
   *   already subscribed, it is added to the subscription (one more subscribe request). The server
   *   may require a permission for it (STREAMER_PRESENCE_PERMISSION): FORBIDDEN otherwise. */
  async subscribe(topic, handler, opts = {}) {
    const presence = opts?.presence === true;
    let handlers = this._topics.get(topic);
    const first = !handlers;
    if (first) {
      handlers = new Set();
      this._topics.set(topic, handlers);
    }
    if (handler) handlers.add(handler);
    if (!first) {
      if (presence && !handlers.presence) return this._addPresence(topic, handlers);
      return handlers.server ? { topic, subscribed: true, server_side: true } : { topic, subscribed: true };
    }
    const server = this._serverExact(topic);
    if (server && !presence) {
      handlers.server = true; // the server subscribed it at the connect, and does after every reconnect
      handlers.stream = server.stream;
      return { topic, subscribed: true, server_side: true };
    }
    handlers.subscribing = true;
    if (presence) handlers.presence = true;
    try {
      const data = await this.request('subscribe', presence ? { topic, presence: true } : { topic });
      if (this._topics.get(topic) === handlers) {
        handlers.subscribing = false;
        this._subscribed(topic, data);
      }
      const { messages, recovered, more, until, ...answer } = data || {};
      return answer;
    } catch (e) {
      if (this._topics.get(topic) === handlers) {
        this._topics.delete(topic);
        for (const [name, st] of this._streams) if (topicOf(name) === topic && !st.known && !this._wanted(name)) this._dropStream(name);
      }
      throw e;
    } finally {
      handlers.subscribing = false;
    }
  }

  // Asks for the join and leave events of topic, subscribed already (by subscribe()
  // or by the server): one more subscribe, with presence. A refusal leaves the
  // subscription as it was.
  async _addPresence(topic, handlers) {
    const server = handlers.server;
    handlers.presence = true;
    handlers.server = false; // the subscription with presence is the client's to make again
    try {
      const data = await this.request('subscribe', { topic, presence: true });
      if (this._topics.get(topic) === handlers) this._subscribed(topic, data);
      const { messages, recovered, more, until, ...answer } = data || {};
      return answer;
    } catch (e) {
      if (this._topics.get(topic) === handlers) {
        handlers.presence = false;
        handlers.server = server && !!this._serverExact(topic);
      }
      throw e;
    }
  }

  _dropStream(name) {
    const s = this._streams.get(name);
    if (!s) return;
    clearTimeout(s.graceTimer);
    clearTimeout(s.gapTimer);
    clearTimeout(s.startTimer);
    this._streams.delete(name);
  }

  /** Removes handler (or every handler) of topic; unsubscribes on the server when none is left.
   * A server-side subscription (the token's topics claim) stays: its events still reach
   * on('event') and onTopic; only the join and leave events, if subscribe() asked for them,
   * are turned off (answer {topic, subscribed: true, server_side: true}). */
  async unsubscribe(topic, handler) {
    const handlers = this._topics.get(topic);
    if (!handlers) return { topic, subscribed: false };
    if (handler) handlers.delete(handler);
    else handlers.clear();
    if (handlers.size) return { topic, subscribed: true };
    this._topics.delete(topic);
    // Its position goes too (unless the server's subscriptions still cover it): a later
    // subscribe starts from where the topic then stands.
    for (const name of [...this._streams.keys()]) if (topicOf(name) === topic && !this._wanted(name)) this._dropStream(name);
    const server = !!this._serverExact(topic);
    // A connection that is not open has no subscriptions: the next one will not get this topic.
    if (this.state !== 'open') return server ? { topic, subscribed: true, server_side: true } : { topic, subscribed: false };
    if (server) {
      if (handlers.presence && !handlers.server) await this.request('subscribe', { topic, presence: false });
      return { topic, subscribed: true, server_side: true };
    }
    return this.request('unsubscribe', { topic });
  }

  /** Calls handler(data, event) for each event of topic, or of every topic a pattern covers
   * (`*`, `<prefix>.*`: see topicCovers), whatever subscription brought it: one the server made
   * at the connect from the token's topics claim (server-side subscriptions: no subscribe()
   * needed), or subscribe(). It subscribes to nothing. Each handler runs once per event, even
   * when it is registered for the event's topic in several ways.
   * @param {string} topic  a topic name or a pattern
   * @param {(data: any, event: object) => void} handler
   * @returns {StreamerClient} this */
  onTopic(topic, handler) {
    if (typeof topic !== 'string' || topic === '') throw new TypeError('onTopic: topic must be a topic name or pattern');
    if (typeof handler !== 'function') throw new TypeError('onTopic: handler must be a function');
    let set = this._topicHandlers.get(topic);
    if (!set) {
      set = new Set();
      this._topicHandlers.set(topic, set);
    }
    set.add(handler);
    return this;
  }

  /** Removes a handler of onTopic (or, without one, every handler of that topic or pattern).
   * @param {string} topic  the topic name or pattern given to onTopic
   * @param {Function} [handler]
   * @returns {StreamerClient} this */
  offTopic(topic, handler) {
    const set = this._topicHandlers.get(topic);
    if (!set) return this;
    if (handler) set.delete(handler);
    else set.clear();
    if (!set.size) this._topicHandlers.delete(topic);
    return this;
  }

  /** Publishes data to topic (the token needs the `publish` permission). */
  publish(topic, data, opts) {
    return this.request('publish', { topic, data }, opts);
  }

  /** Who is subscribed to topic in this connection's tenant (live connections, subscribed
   * by the topic's name): resolves with {topic, users: [{user_id, connections}],
   * count: {users, connections}, truncated} (at most 1,000 users listed; truncated when
   * there are more). The server may require a permission (STREAMER_PRESENCE_PERMISSION),
   * and under STREAMER_TOPIC_POLICY=claims a topic the token's topics claim covers:
   * FORBIDDEN otherwise.
   * @param {string} topic
   * @param {object} [opts]  as request()'s */
  presence(topic, opts) {
    return this.request('presence', { topic }, opts);
  }

  /** The numbers of presence(topic) only: resolves with {topic, users, connections}.
   * @param {string} topic
   * @param {object} [opts]  as request()'s */
  presenceCount(topic, opts) {
    return this.request('presence.count', { topic }, opts);
  }

  /** The topics this client is subscribed to with subscribe() (restored after every reconnect). */
  get topics() {
    return [...this._topics.keys()];
  }

  /** The topics the server subscribed this connection to by itself, from the token's topics
   * claim: names and patterns (`prices.*`, `*`), as the last `subscriptions` event told. */
  get serverTopics() {
    return [...this._server.keys()];
  }
}

export default StreamerClient;

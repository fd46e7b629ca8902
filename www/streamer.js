// streamer.js - the browser and Node client of streamer: request/response correlation, async progress, topics, reconnect with backoff. ES module, no dependencies.
//
//   import { StreamerClient } from './streamer.js';
//   const client = new StreamerClient('ws://127.0.0.1:7999/ws', { getToken: async () => token });
//   await client.connect();
//   const data = await client.request('echo', { hello: 'world' });
//   const result = await client.request('generate_report', { start_date, end_date, format: 'csv' },
//     { onProgress: (p) => console.log(p.percentage, p.message), timeout: 120000 });
//   await client.subscribe('prices', (data, event) => console.log(data));
//   await client.publish('prices', { eur: 1.08 });
//
// In Node < 22 pass a WebSocket implementation: new StreamerClient(url, { WebSocket: require('ws') }).

const DEFAULTS = {
  token: null, //           a JWT string, or:
  getToken: null, //        () => string | Promise<string>, called before every (re)connect
  WebSocket: null, //       the WebSocket class (default: globalThis.WebSocket)
  reconnect: true, //       false, true, or { initialDelay, maxDelay, factor, maxAttempts }
  heartbeat: 30000, //      ms between `health` requests on an idle connection (false = off), or { interval, timeout }
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
  idempotent: ['echo', 'health', 'whoami', 'subscribe', 'unsubscribe', 'request.status'], // resent when unanswered at a disconnect
  rateLimitRetries: 8, //   times a request refused with RATE_LIMITED is sent again after the server's retry_after_ms
};

const RECONNECT_DEFAULTS = { initialDelay: 500, maxDelay: 30000, factor: 2, maxAttempts: Infinity };
const CANCELLED_BEFORE_START = /connection closed before the request started/i;
const TERMINAL = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);

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
   * @param {string} url  the WebSocket URL, e.g. ws://127.0.0.1:7999/ws (the token is added as ?Authorization=)
   * @param {object} options  see DEFAULTS above
   */
  constructor(url, options = {}) {
    super();
    this.url = url;
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
    this._topics = new Map(); // topic -> Set of handlers
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
    this._rateNext = 0; //       Date.now() from which the next RATE_LIMITED resend may go
    this._rateGap = 0; //        ms between those resends: the longest retry_after_ms of the burst
  }

  // ---- events -------------------------------------------------------------

  /** Calls fn(detail, event) for each event of type (open, close, reconnecting, refresh, error, message, sent, state, ratelimited). */
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
    this._connecting = this._open().then(
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

  // One handshake: resolves with the open socket, rejects on failure.
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
    // Restore what the previous connection had, then send what waited.
    for (const [topic, handlers] of this._topics) {
      if (handlers.subscribing) continue; // its own subscribe request is in the queue
      this._call('subscribe', { topic }).catch((error) => this._emit('error', { error, topic }));
    }
    for (const r of [...this._pending.values()]) {
      if (r.resend) {
        r.resend = false;
        this._transmit(r);
      } else if (r.orphan) this._poll(r);
    }
    const queued = this._queue.splice(0);
    for (const r of queued) this._transmit(r);
  }

  _onClose(ws, e) {
    if (ws !== this._ws) return;
    this._detach(ws);
    this._ws = null;
    this._gen++;
    this._stopHeartbeat();
    this._stopRefresh();
    const code = e?.code ?? 1006;
    const reason = e?.reason ?? '';
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
        await this._open();
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

  _startHeartbeat() {
    this._stopHeartbeat();
    if (!this._heartbeat) return;
    const { interval, timeout } = this._heartbeat;
    this._hbTimer = setInterval(() => {
      if (this.state !== 'open' || Date.now() - this._lastRx < interval) return;
      const ws = this._ws;
      this._call('health', null, timeout).catch((e) => {
        // No answer in time: the connection is dead even if the socket does not know it yet.
        if (e.code === 'TIMEOUT' && ws && ws === this._ws) {
          this._emit('error', { error: new StreamerError('TIMEOUT', 'Heartbeat not answered; reconnecting') });
          try {
            ws.close(4000, 'heartbeat timeout');
          } catch { /* closing */ }
          this._onClose(ws, { code: 4000, reason: 'heartbeat timeout' });
        }
      });
    }, Math.max(250, Math.floor(interval / 2)));
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

  // Internal requests (status polls, resubscription, heartbeat) go out only on an
  // open connection and end with it.
  _call(action, payload, timeout = this.options.requestTimeout) {
    return this._request(action, payload, { timeout }, true);
  }

  _request(action, payload, opts, internal) {
    return new Promise((resolve, reject) => {
      const r = {
        id: opts.id || this.nextId(),
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
      if (this.state === 'open') this._transmit(r);
      else if (internal) this._settle(r, new StreamerError('NOT_CONNECTED', 'Not connected', r.id));
      else if (this.state === 'connecting' || this.state === 'reconnecting') this._enqueue(r);
      else this._settle(r, new StreamerError('NOT_CONNECTED', 'Not connected: call connect() first', r.id));
    });
  }

  _enqueue(r) {
    if (this._queue.length >= this.options.queueLimit) {
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

  _failQueue(err) {
    for (const r of this._queue.splice(0)) this._settle(r, new StreamerError(err.code, err.message, r.id));
  }

  _transmit(r) {
    clearTimeout(r.queueTimer);
    r.queued = false;
    const msg = { action: r.action, id: r.id, payload: r.payload };
    if (r.metadata) msg.metadata = r.metadata;
    if (!this._sendRaw(msg)) {
      this._enqueue(r);
      return;
    }
    r.sent = true;
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
    if (r.queued) {
      const i = this._queue.indexOf(r);
      if (i >= 0) this._queue.splice(i, 1);
    }
    if (r.signal && r.abort) r.signal.removeEventListener('abort', r.abort);
    if (err) r.reject(err);
    else r.resolve(value);
  }

  // A RATE_LIMITED answer means the server did not route the request (message rate,
  // async quota, or a batch answer too large): send it again after the retry_after_ms
  // it names, at most options.rateLimitRetries times; then the request rejects with
  // RATE_LIMITED. retry_after_ms is the wait for one more message, so the resends of a
  // refused burst are spaced that far apart (a queue in time, _rateNext; the longest
  // wait of the burst, as a partly refilled bucket gives shorter ones) instead of all
  // coming back at once to be refused again. Returns true when a resend is scheduled.
  _backOff(r, m) {
    if (m.error?.code !== 'RATE_LIMITED' || r.async) return false;
    const n = (r.rateRetries || 0) + 1;
    if (n > this.options.rateLimitRetries) return false;
    r.rateRetries = n;
    r.sent = false;
    clearTimeout(r.ackTimer);
    const wait = Math.max(1, Number(m.error?.details?.retry_after_ms) || 1000);
    const now = Date.now();
    if (now >= this._rateNext) this._rateGap = 0; // the resends of an earlier burst are out
    this._rateGap = Math.max(this._rateGap, wait);
    const at = Math.max(now + wait, this._rateNext);
    this._rateNext = at + this._rateGap;
    const delay = Math.min(60000, at - now + Math.random() * Math.min(wait, 20));
    r.rateTimer = setTimeout(() => {
      r.rateTimer = null;
      if (this._pending.get(r.id) !== r) return;
      if (this.state === 'open') this._transmit(r);
      else if (r.internal) this._settle(r, new StreamerError('CONNECTION_LOST', 'The connection closed before the answer', r.id));
      else this._enqueue(r);
    }, delay);
    r.rateTimer.unref?.();
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
    if (typeof st.progress !== 'number' || st.progress === r.lastProgress) return;
    r.lastProgress = st.progress;
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
    this._emit('message', { message: m, raw: e.data });
    if (!m || typeof m !== 'object') return;
    if (m.type === 'event') {
      this._dispatchEvent(m);
      return;
    }
    const r = m.request_id != null ? this._pending.get(m.request_id) : undefined;
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
        r.lastProgress = m.percentage;
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

  _dispatchEvent(m) {
    const handlers = this._topics.get(m.topic);
    if (!handlers) return;
    for (const h of [...handlers]) {
      try {
        h(m.data, m);
      } catch (error) {
        this._emit('error', { error, topic: m.topic });
      }
    }
  }

  // ---- topics ---------------------------------------------------------------

  /** Subscribes handler(data, event) to topic; resolves with the server's answer.
   * Subscriptions are restored after every reconnect. */
  async subscribe(topic, handler) {
    let handlers = this._topics.get(topic);
    const first = !handlers;
    if (first) {
      handlers = new Set();
      this._topics.set(topic, handlers);
    }
    if (handler) handlers.add(handler);
    if (!first) return { topic, subscribed: true };
    handlers.subscribing = true;
    try {
      return await this.request('subscribe', { topic });
    } catch (e) {
      if (this._topics.get(topic) === handlers) this._topics.delete(topic);
      throw e;
    } finally {
      handlers.subscribing = false;
    }
  }

  /** Removes handler (or every handler) of topic; unsubscribes on the server when none is left. */
  async unsubscribe(topic, handler) {
    const handlers = this._topics.get(topic);
    if (!handlers) return { topic, subscribed: false };
    if (handler) handlers.delete(handler);
    else handlers.clear();
    if (handlers.size) return { topic, subscribed: true };
    this._topics.delete(topic);
    // A connection that is not open has no subscriptions: the next one will not get this topic.
    if (this.state !== 'open') return { topic, subscribed: false };
    return this.request('unsubscribe', { topic });
  }

  /** Publishes data to topic (the token needs the `publish` permission). */
  publish(topic, data, opts) {
    return this.request('publish', { topic, data }, opts);
  }

  /** The topics this client is subscribed to. */
  get topics() {
    return [...this._topics.keys()];
  }
}

export default StreamerClient;

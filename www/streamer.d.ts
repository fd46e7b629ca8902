// streamer.d.ts - TypeScript declarations of streamer.js, the streamer client: every export, option, method and event.
//
// Checked by tests/sdk_types.sh: examples/typescript/client.ts compiles against it
// with `tsc --noEmit --strict`, misuse fails to compile, and every export, method
// and emitted event of streamer.js is declared here. See docs/sdk.md.

/** Requests that may wait for their first answer at once (the default of `maxInFlight`). */
export declare const MAX_IN_FLIGHT: number;

/** Bytes (JSON characters) of requests that may wait for their first answer at once (the default of `maxInFlightBytes`). */
export declare const MAX_IN_FLIGHT_BYTES: number;

/** Whether a topic pattern (`*`, `<prefix>.*` or a plain name) covers a topic, as the server matches. */
export declare function topicCovers(pattern: string, topic: string): boolean;

/** The `exp` claim (seconds since the epoch) of a JWT, read without verifying it; null when unreadable. */
export declare function tokenExpiry(token: string): number | null;

/** JSON as the protocol carries it. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** The codes of the protocol (`error.code` of an error message) and the client's own. */
export type StreamerErrorCode =
  | 'VALIDATION_ERROR'
  | 'INVALID_ACTION'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'PAYLOAD_TOO_LARGE'
  | 'RATE_LIMITED'
  | 'TIMEOUT'
  | 'PROCESSING_FAILED'
  | 'CANCELLED'
  | 'INTERNAL_ERROR'
  | 'NOT_CONNECTED'
  | 'CONNECTION_LOST'
  | 'CLOSED'
  | 'ABORTED'
  | (string & {});

/** An error answered by the server (a protocol code) or made by the client
 * (NOT_CONNECTED, CONNECTION_LOST, CLOSED, ABORTED, TIMEOUT). */
export declare class StreamerError extends Error {
  constructor(code: StreamerErrorCode, message?: string, requestId?: string | null, details?: unknown);
  readonly name: 'StreamerError';
  code: StreamerErrorCode;
  /** The request it answers, when there is one. */
  request_id: string | null;
  /** The server's `error.details`, when it gave any. */
  details?: unknown;
}

/** The events the client dispatches; `detail` carries the payload. */
export declare class StreamerEvent<T = unknown> extends Event {
  constructor(type: string, detail: T);
  readonly detail: T;
}

/** The WebSocket class the client uses (the browser's, Node 22's, or the `ws` package's). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: any) => any) | null;
  onclose: ((ev: any) => any) | null;
  onerror: ((ev: any) => any) | null;
  onmessage: ((ev: any) => any) | null;
}
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** `reconnect` as an object: exponential backoff with jitter. */
export interface ReconnectOptions {
  /** ms before the first retry (500). */
  initialDelay?: number;
  /** ms between retries at most (30000). */
  maxDelay?: number;
  /** growth of the delay per attempt (2). */
  factor?: number;
  /** attempts before the client gives up (Infinity). */
  maxAttempts?: number;
}

/** `heartbeat` as an object. */
export interface HeartbeatOptions {
  /** ms between `health` requests on an idle connection (30000). */
  interval?: number;
  /** ms without any frame after one went out before the connection counts as dead (10000). */
  timeout?: number;
}

/** The options of `new StreamerClient(url, options)`; every one has a default. */
export interface StreamerClientOptions {
  /** A JWT (it goes in `?Authorization=`). */
  token?: string | null;
  /** Called before every connect and reconnect, and for `auth.refresh`; wins over `token`. */
  getToken?: (() => string | Promise<string>) | null;
  /** The WebSocket class (default: `globalThis.WebSocket`). */
  WebSocket?: WebSocketConstructor | null;
  /** false, true (the defaults) or the backoff. */
  reconnect?: boolean | ReconnectOptions;
  /** ms between `health` requests on an idle connection (30000), `false` = off, or an object. */
  heartbeat?: number | false | null | HeartbeatOptions;
  /** ms one handshake may take (10000). */
  connectTimeout?: number;
  /** ms a request may wait for its first answer unless it has its own timeout (30000). */
  requestTimeout?: number;
  /** ms between `request.status` polls of async requests that outlived their connection (1500). */
  pollInterval?: number;
  /** ms without news of an acknowledged async request before asking `request.status` once (15000), `false` = off. */
  checkInterval?: number | false;
  /** Messages that may wait for a connection (256). */
  queueLimit?: number;
  /** ms a message may wait for a connection (30000). */
  queueTimeout?: number;
  /** Send again an async request the server cancelled because its connection closed before it started (true). */
  resubmit?: boolean;
  /** With getToken: refresh the token on the open connection before it expires (true). */
  refresh?: boolean;
  /** Actions resent when unanswered at a disconnect. */
  idempotent?: string[];
  /** Times a request refused with RATE_LIMITED is sent again after `retry_after_ms` (8). */
  rateLimitRetries?: number;
  /** Requests sent and not yet answered at once (MAX_IN_FLIGHT). */
  maxInFlight?: number;
  /** Their size in all, JSON characters (MAX_IN_FLIGHT_BYTES). */
  maxInFlightBytes?: number;
  /** ms without any message after which the client asks where its streams stand (5000), `false` = off. */
  positionInterval?: number | false;
}

/** `options` once the defaults are filled in. */
export type ResolvedStreamerClientOptions = Required<Omit<StreamerClientOptions, 'token' | 'getToken' | 'WebSocket'>> &
  Pick<StreamerClientOptions, 'token' | 'getToken' | 'WebSocket'>;

export type StreamerState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/** A progress report of an async request (`onProgress`). */
export interface Progress {
  percentage: number;
  message: string;
  metadata?: Record<string, Json>;
  timestamp?: string;
  /** true when it came from a `request.status` poll rather than a push. */
  polled?: boolean;
}

/** The acknowledgment of an async request (`onAck`). */
export interface Ack {
  request_id?: string;
  status?: string;
  /** true when a progress or the complete arrived first and stands for it. */
  implied?: boolean;
  [key: string]: unknown;
}

/** The options of one request. */
export interface RequestOptions {
  onProgress?: (progress: Progress) => void;
  onAck?: (ack: Ack) => void;
  /** ms for the whole request, async ones included; then it rejects with TIMEOUT (and is cancelled on the server). */
  timeout?: number;
  signal?: AbortSignal;
  metadata?: Record<string, Json>;
  /** The request id (default: a fresh one, see nextId()). */
  id?: string;
  /** Send it again if the connection drops before the answer (default: the action is in `options.idempotent`). */
  idempotent?: boolean;
}

/** A topic event as pushed. */
export interface TopicEvent<D = unknown> {
  type: 'event';
  topic: string;
  data: D;
  timestamp: string;
  stream?: string;
  offset?: number;
  epoch?: string;
  [key: string]: unknown;
}

/** A join or leave on a topic subscribed with `{presence: true}`. */
export interface PresenceEvent {
  type: 'presence';
  topic: string;
  event: 'join' | 'leave';
  user_id: string;
  /** The user's connections still subscribed to the topic after the change. */
  connections: number;
  timestamp: string;
}

/** A server-side subscription told by the `subscriptions` event. */
export type ServerSubscription =
  | { topic: string; stream: string; epoch: string | null; offset: number }
  | { topic: string; pattern: true };

/** The answer of subscribe(). */
export interface SubscribeResult {
  topic: string;
  subscribed: boolean;
  /** The server subscribed this connection to it by itself (the token's topics claim). */
  server_side?: boolean;
  presence?: boolean;
  stream?: string;
  epoch?: string | null;
  offset?: number;
  [key: string]: unknown;
}

/** The answer of unsubscribe(). */
export interface UnsubscribeResult {
  topic: string;
  subscribed: boolean;
  was_subscribed?: boolean;
  server_side?: boolean;
  [key: string]: unknown;
}

/** The answer of publish(). */
export interface PublishResult {
  topic: string;
  published: true;
  stream: string;
  epoch: string;
  offset: number;
}

/** The answer of presence(). */
export interface PresenceResult {
  topic: string;
  users: { user_id: string; connections: number }[];
  count: { users: number; connections: number };
  truncated: boolean;
}

/** The answer of presenceCount(). */
export interface PresenceCountResult {
  topic: string;
  users: number;
  connections: number;
}

/** Where a stream stands on this client: its last delivered message. */
export interface StreamPosition {
  epoch: string | null;
  offset: number;
}

/** The `detail` of each event, by its type. */
export interface StreamerEventMap {
  open: { url: string };
  close: { code: number; reason: string; byClient: boolean; willReconnect: boolean };
  reconnecting: { attempt: number; delay: number };
  refresh: { expires_at?: number };
  /** `request_id`, `topic`, `stream(s)`, `attempt`, `refresh` or `raw` say what it concerns, when anything. */
  error: {
    error: Error | StreamerError;
    request_id?: string;
    topic?: string;
    stream?: string;
    streams?: string[];
    attempt?: number;
    refresh?: boolean;
    raw?: unknown;
  };
  /** Every answer as it arrives, and every pushed message exactly once, in its stream's order. */
  message: { message: any; raw: string; recovered?: true };
  sent: { message: Record<string, unknown>; raw: string };
  state: { state: StreamerState };
  ratelimited: { request_id: string; retry: number; delay: number };
  failover: { from: string; to: string; error?: unknown };
  /** Messages of that stream are lost for good (the history no longer holds them). */
  recovery: { stream: string; recovered: false; epoch: string | null; offset: number; topic?: string };
  event: TopicEvent;
  presence: PresenceEvent;
  join: PresenceEvent;
  leave: PresenceEvent;
  subscriptions: { topics: ServerSubscription[] };
}

export type StreamerEventType = keyof StreamerEventMap;

/** The client: one logical connection that reconnects by itself, with request/response
 * correlation, async progress, topics, presence, flow control and exactly-once recovery. */
export declare class StreamerClient extends EventTarget {
  /**
   * @param url the WebSocket URL (ws://127.0.0.1:7999/ws), or several nodes' URLs tried round robin
   * @throws TypeError when url is empty or not a string (array)
   */
  constructor(url: string | string[], options?: StreamerClientOptions);

  /** The nodes' URLs, in the order they are tried. */
  readonly urls: string[];
  /** The URL in use, or the one the next handshake tries. */
  readonly url: string;
  /** The options, defaults filled in. */
  readonly options: ResolvedStreamerClientOptions;
  readonly state: StreamerState;
  /** Reconnect attempts since the last open. */
  readonly attempt: number;
  /** The topics subscribed with subscribe() (restored after every reconnect). */
  readonly topics: string[];
  /** The names and patterns the server subscribed this connection to (the token's topics claim). */
  readonly serverTopics: string[];
  /** Where each stream stands: {stream: {epoch, offset}}. */
  readonly positions: Record<string, StreamPosition>;

  /** Calls fn(detail, event) for each event of type; returns this. */
  on<K extends StreamerEventType>(type: K, fn: (detail: StreamerEventMap[K], event: StreamerEvent<StreamerEventMap[K]>) => void): this;
  /** Removes a listener added with on(); returns this. */
  off<K extends StreamerEventType>(type: K, fn: (detail: StreamerEventMap[K], event: StreamerEvent<StreamerEventMap[K]>) => void): this;

  addEventListener<K extends StreamerEventType>(
    type: K,
    listener: (event: StreamerEvent<StreamerEventMap[K]>) => void,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends StreamerEventType>(
    type: K,
    listener: (event: StreamerEvent<StreamerEventMap[K]>) => void,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;

  /** Opens the connection; resolves when open. A first attempt that fails rejects. */
  connect(): Promise<this>;
  /** Closes for good (no reconnect); what still waits rejects with CLOSED. */
  close(code?: number, reason?: string): void;
  /** Skips the current reconnect wait. */
  reconnectNow(): void;
  /** A fresh request id, unique per client. */
  nextId(): string;

  /** Sends {action, payload}; resolves with the response's `data`, or an async request's `result`. */
  request<T = any>(action: string, payload?: unknown, opts?: RequestOptions): Promise<T>;

  /** Subscribes handler(data, event) to topic; restored after every reconnect. */
  subscribe<D = any>(
    topic: string,
    handler?: ((data: D, event: TopicEvent<D>) => void) | null,
    opts?: { presence?: boolean },
  ): Promise<SubscribeResult>;
  /** Removes handler (or every handler); unsubscribes on the server when none is left. */
  unsubscribe(topic: string, handler?: (data: any, event: TopicEvent<any>) => void): Promise<UnsubscribeResult>;
  /** Calls handler(data, event) for each event of a topic or of every topic a pattern covers; subscribes to nothing. */
  onTopic<D = any>(topic: string, handler: (data: D, event: TopicEvent<D>) => void): this;
  /** Removes a handler of onTopic (or every handler of that topic or pattern). */
  offTopic(topic: string, handler?: (data: any, event: TopicEvent<any>) => void): this;
  /** Publishes data to topic (needs the `publish` permission). */
  publish(topic: string, data: unknown, opts?: RequestOptions): Promise<PublishResult>;
  /** Who is subscribed to topic in this connection's tenant. */
  presence(topic: string, opts?: RequestOptions): Promise<PresenceResult>;
  /** The numbers of presence(topic) only. */
  presenceCount(topic: string, opts?: RequestOptions): Promise<PresenceCountResult>;
}

export default StreamerClient;

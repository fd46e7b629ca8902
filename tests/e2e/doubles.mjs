// doubles.mjs - local HTTP servers speaking the callback protocols for tests: API Gateway's @connections API and a Pushpin publish endpoint whose health can be switched.
import { createServer } from 'node:http';

// Starts an HTTP server on a free loopback port; resolves with { server, url }.
function listen(handler) {
  return new Promise((resolve, reject) => {
    const server = createServer(handler);
    server.keepAliveTimeout = 5000;
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${server.address().port}` }));
  });
}

function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

// The @connections API of an API Gateway WebSocket stage, as documented:
// POST {stage}/@connections/{id} delivers the body (200), DELETE closes (204),
// GET describes; an id it does not know is 410 Gone. `known` holds the live
// ids; `throttle[id] = n` answers 429 to the next n requests for id.
export class ApiGatewayDouble {
  constructor(stage = '/prod') {
    this.stage = stage;
    this.known = new Set();
    this.throttle = {};
    this.requests = []; // { method, id, body, headers, status }
    this.delivered = new Map(); // id -> [body, ...]
    this.deleted = [];
  }

  async start() {
    const { server, url } = await listen((req, res) => this.handle(req, res));
    this.server = server;
    this.url = `${url}${this.stage}`;
    return this;
  }

  async handle(req, res) {
    const body = await readBody(req);
    const prefix = `${this.stage}/@connections/`;
    const rec = { method: req.method, id: null, body, headers: req.headers, status: 0 };
    this.requests.push(rec);
    const answer = (status, text = '') => {
      rec.status = status;
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(text);
    };
    if (!req.url.startsWith(prefix)) return answer(404, '{"message":"Not Found"}');
    const id = decodeURIComponent(req.url.slice(prefix.length));
    rec.id = id;
    if (this.throttle[id] > 0) {
      this.throttle[id]--;
      return answer(429, '{"message":"LimitExceededException"}');
    }
    if (!this.known.has(id)) return answer(410, '{"message":"GoneException"}');
    if (req.method === 'POST') {
      if (!this.delivered.has(id)) this.delivered.set(id, []);
      this.delivered.get(id).push(body);
      return answer(200);
    }
    if (req.method === 'DELETE') {
      this.known.delete(id);
      this.deleted.push(id);
      return answer(204);
    }
    if (req.method === 'GET') {
      return answer(200, JSON.stringify({ connectedAt: new Date().toISOString(), lastActiveAt: new Date().toISOString(), identity: { sourceIp: '127.0.0.1', userAgent: 'test' } }));
    }
    return answer(405, '{"message":"Method Not Allowed"}');
  }

  stop() {
    return new Promise((r) => { this.server.closeAllConnections(); this.server.close(() => r()); });
  }
}

// Pushpin's publish endpoint (POST /publish/ -> 200 "Published"), except
// that `failing = true` makes it answer 503. Counts every request it sees.
export class PublishDouble {
  constructor() {
    this.failing = false;
    this.hits = 0;
    this.items = [];
  }

  async start() {
    const { server, url } = await listen(async (req, res) => {
      const body = await readBody(req);
      this.hits++;
      if (this.failing) {
        res.writeHead(503, { 'Content-Type': 'text/plain' });
        return res.end('Service Unavailable');
      }
      try {
        this.items.push(...JSON.parse(body).items);
      } catch {
        res.writeHead(400);
        return res.end('bad publish body');
      }
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('Published\n');
    });
    this.server = server;
    this.url = `${url}/publish/`;
    return this;
  }

  stop() {
    return new Promise((r) => { this.server.closeAllConnections(); this.server.close(() => r()); });
  }
}

// client.ts - a browser client of streamer in TypeScript: the typed API of the streamer-client package (compiled by tests/sdk_types.sh with tsc --noEmit --strict).
import {
  StreamerClient,
  StreamerError,
  topicCovers,
  tokenExpiry,
  MAX_IN_FLIGHT,
  type Progress,
  type TopicEvent,
  type PresenceEvent,
} from 'streamer-client';

interface Prices {
  eur: number;
}

interface Report {
  url: string;
  bytes: number;
}

async function fetchToken(): Promise<string> {
  const res = await fetch('/token');
  return res.text();
}

export async function main(): Promise<void> {
  const client = new StreamerClient(['wss://ws1.example.com/ws', 'wss://ws2.example.com/ws'], {
    getToken: fetchToken,
    reconnect: { initialDelay: 250, maxDelay: 10_000 },
    heartbeat: { interval: 20_000, timeout: 5_000 },
    maxInFlight: MAX_IN_FLIGHT / 2,
    positionInterval: false,
  });

  client.on('state', ({ state }) => console.log('state', state));
  client.on('reconnecting', ({ attempt, delay }) => console.log(`retry ${attempt} in ${delay} ms`));
  client.on('close', ({ code, willReconnect }) => console.log('closed', code, willReconnect));
  client.on('failover', ({ from, to }) => console.log(`moved from ${from} to ${to}`));
  client.on('recovery', ({ stream, topic }) => console.warn(`lost messages of ${topic ?? stream}`));
  client.on('error', ({ error, request_id }) => console.error(request_id ?? '-', error.message));
  client.on('join', (p: PresenceEvent) => console.log(`${p.user_id} joined ${p.topic} (${p.connections})`));
  client.on('subscriptions', ({ topics }) => {
    for (const t of topics) console.log('server-side', t.topic, 'pattern' in t ? 'pattern' : t.stream);
  });
  client.addEventListener('message', (e) => console.log('frame', e.detail.raw.length, e.detail.recovered === true));

  await client.connect();
  console.log('connected to', client.url, 'of', client.urls.length, client.state);

  const echo = await client.request<{ hello: string }>('echo', { hello: 'world' });
  console.log(echo.hello.toUpperCase());

  const controller = new AbortController();
  try {
    const report = await client.request<Report>(
      'generate_report',
      { start_date: '2026-11-01', end_date: '2026-11-30', format: 'csv' },
      {
        onProgress: (p: Progress) => console.log(p.percentage.toFixed(0), p.message),
        onAck: (ack) => console.log('queued', ack.implied === true),
        timeout: 120_000,
        signal: controller.signal,
      },
    );
    console.log(`download ${report.url} (${report.bytes} bytes)`);
  } catch (e) {
    if (e instanceof StreamerError && e.code === 'TIMEOUT') console.log('too slow', e.request_id);
    else throw e;
  }

  const sub = await client.subscribe<Prices>('prices.eu', (data, event: TopicEvent<Prices>) => {
    console.log(event.topic, event.offset, data.eur.toFixed(2));
  });
  console.log(sub.subscribed, sub.stream);
  const pub = await client.publish('prices.eu', { eur: 1.08 });
  console.log(pub.stream, pub.offset, pub.epoch);

  await client.subscribe('room.1', null, { presence: true });
  const who = await client.presence('room.1');
  console.log(who.users.map((u) => u.user_id).join(','), who.count.connections, who.truncated);
  const n = await client.presenceCount('room.1');
  console.log(n.users, n.connections);

  const onAny = (data: unknown, event: TopicEvent) => console.log(event.topic, data);
  client.onTopic('news.*', onAny).offTopic('news.*', onAny);
  console.log(topicCovers('news.*', 'news.eu'), tokenExpiry('a.b.c'), client.topics, client.serverTopics);
  for (const [stream, pos] of Object.entries(client.positions)) console.log(stream, pos.epoch, pos.offset);

  await client.unsubscribe('prices.eu');
  client.close(1000, 'done');
}

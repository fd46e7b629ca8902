// console.js - the streamer console (index.html): drives www/streamer.js from a form UI and logs every frame.
import { StreamerClient } from './streamer.js';

const $ = (id) => document.getElementById(id);
const LOG_MAX = 500;

let client = null;
let reportAbort = null;

// ---- settings from the fragment: #token=<jwt>&ws=<url> ------------------------

function defaultWsUrl() {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${location.hostname || '127.0.0.1'}:7999/ws`;
}

function readFragment() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get('token')) $('token').value = fragment.get('token');
  $('ws-url').value = fragment.get('ws') || $('ws-url').value || defaultWsUrl();
}

const today = () => new Date().toISOString().slice(0, 10);

// ---- log ---------------------------------------------------------------------

function log(kind, text) {
  const list = $('log');
  const stick = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
  const li = document.createElement('li');
  li.className = kind;
  const t = document.createElement('span');
  t.className = 't';
  t.textContent = `${new Date().toISOString().slice(11, 23)} `;
  const arrow = { out: '→ ', in: '← ', note: '• ', err: '! ' }[kind] || '';
  li.append(t, arrow + text);
  list.append(li);
  while (list.childElementCount > LOG_MAX) list.firstElementChild.remove();
  if (stick) list.scrollTop = list.scrollHeight;
}

// JSON when it parses, else the text itself.
function parseLoose(text) {
  const s = text.trim();
  if (s === '') return null;
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

const describe = (e) => (e && e.code ? `${e.code}: ${e.message}` : String(e && e.message ? e.message : e));

function show(id, text, isError = false) {
  const el = $(id);
  el.textContent = text;
  el.classList.toggle('error', isError);
}

// ---- state -------------------------------------------------------------------

const LABELS = {
  idle: 'disconnected',
  connecting: 'connecting…',
  open: 'connected',
  reconnecting: 'reconnecting…',
  closed: 'disconnected',
};

function setState(state, extra = '') {
  const el = $('state');
  el.dataset.state = state;
  el.textContent = LABELS[state] + extra;
  const live = state === 'open' || state === 'reconnecting'; // sends made while reconnecting wait
  $('connect').disabled = !(state === 'idle' || state === 'closed');
  $('disconnect').disabled = state === 'idle' || state === 'closed';
  for (const id of ['echo-send', 'subscribe', 'unsubscribe', 'publish']) $(id).disabled = !live;
  $('report-run').disabled = !live || reportAbort !== null;
  $('ws-url').readOnly = $('token').readOnly = !(state === 'idle' || state === 'closed');
  if (state === 'idle' || state === 'closed') $('identity').hidden = true;
}

function renderTopics() {
  const topics = client ? client.topics : [];
  $('topics-list').textContent = topics.length ? topics.join(', ') : 'none';
}

async function showIdentity() {
  try {
    const me = await client.request('whoami');
    $('identity-user').textContent = `${me.user_id} @ ${me.tenant_id}` +
      (me.permissions && me.permissions.length ? ` (${me.permissions.join(', ')})` : '');
    $('conn-id').textContent = me.connection_id;
    $('identity').hidden = false;
  } catch (e) {
    log('err', `whoami: ${describe(e)}`);
  }
}

// ---- connection --------------------------------------------------------------

async function connect() {
  const url = $('ws-url').value.trim();
  const token = $('token').value.trim();
  try {
    const u = new URL(url);
    if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new Error('not ws: or wss:');
  } catch (e) {
    log('err', `bad WebSocket URL ${url}: ${e.message}`);
    $('ws-url').focus();
    return;
  }
  if (!token) {
    log('err', 'a token is needed (./dev.sh up prints this page with one after #token=)');
    $('token').focus();
    return;
  }
  if (client) client.close();
  const c = new StreamerClient(url, { getToken: () => $('token').value.trim() });
  client = c;
  c.on('state', ({ state }) => { if (client === c) setState(state); });
  c.on('open', () => {
    if (client !== c) return;
    log('note', `open ${url}`);
    showIdentity();
  });
  c.on('close', ({ code, reason, willReconnect, byClient }) => {
    if (client !== c) return;
    log('note', `closed ${code}${reason ? ` ${reason}` : ''}${byClient ? ' (by you)' : ''}${willReconnect ? '; reconnecting' : ''}`);
  });
  c.on('reconnecting', ({ attempt, delay }) => {
    if (client !== c) return;
    setState('reconnecting', ` (attempt ${attempt}, in ${(delay / 1000).toFixed(1)} s)`);
    log('note', `reconnect attempt ${attempt} in ${delay} ms`);
  });
  c.on('error', ({ error }) => { if (client === c) log('err', describe(error)); });
  c.on('sent', ({ raw }) => { if (client === c) log('out', raw); });
  c.on('message', ({ raw }) => { if (client === c) log('in', raw); });
  renderTopics();
  try {
    await c.connect();
  } catch (e) {
    if (client === c) log('err', `could not connect: ${e.message} (a refused token looks the same; see ./dev.sh logs)`);
  }
}

function disconnect() {
  if (!client) return;
  client.close(1000, 'bye');
  if (reportAbort) reportAbort.abort();
  renderTopics();
}

// ---- echo --------------------------------------------------------------------

async function echo() {
  show('echo-result', 'waiting…');
  try {
    const data = await client.request('echo', parseLoose($('echo-text').value));
    show('echo-result', `echo: ${JSON.stringify(data.echo)} (received ${data.received_at})`);
  } catch (e) {
    show('echo-result', describe(e), true);
  }
}

// ---- report ------------------------------------------------------------------

function setProgress(pct, message) {
  const p = Math.max(0, Math.min(100, Math.round(pct)));
  $('report-progress').value = p;
  $('report-percent').textContent = `${p} %`;
  if (message !== undefined) show('report-message', message);
}

async function report() {
  const link = $('report-link');
  link.hidden = true;
  link.removeAttribute('href');
  setProgress(0, 'queued…');
  reportAbort = new AbortController();
  $('report-run').disabled = true;
  $('report-cancel').disabled = false;
  const payload = {
    start_date: $('report-start').value || today(),
    end_date: $('report-end').value || today(),
    format: $('report-format').value,
  };
  try {
    const result = await client.request('generate_report', payload, {
      signal: reportAbort.signal,
      timeout: 300000,
      onAck: () => show('report-message', 'queued: waiting for a processor (streamer processor)…'),
      onProgress: (p) => setProgress(p.percentage, p.message || ''),
    });
    setProgress(100, `done: ${result.rows ?? '?'} rows`);
    link.href = result.url; // relative to this page's origin: the same web server serves /reports/
    link.textContent = `Download the report (${result.format || payload.format}${result.rows !== undefined ? `, ${result.rows} rows` : ''})`;
    link.hidden = false;
  } catch (e) {
    show('report-message', describe(e), true);
  } finally {
    reportAbort = null;
    $('report-cancel').disabled = true;
    if (client) setState(client.state);
  }
}

// ---- topics ------------------------------------------------------------------

function onEvent(data, ev) {
  const li = document.createElement('li');
  const time = (ev.timestamp || new Date().toISOString()).slice(11, 19);
  li.textContent = `${time} ${ev.topic}: ${JSON.stringify(data)}`;
  $('events').prepend(li);
  while ($('events').childElementCount > 50) $('events').lastElementChild.remove();
}

async function subscribe() {
  const topic = $('topic').value.trim();
  if (!topic) return;
  try {
    await client.subscribe(topic, onEvent);
    log('note', `subscribed to ${topic}`);
  } catch (e) {
    log('err', `subscribe ${topic}: ${describe(e)}`);
  }
  renderTopics();
}

async function unsubscribe() {
  const topic = $('topic').value.trim();
  if (!topic) return;
  try {
    await client.unsubscribe(topic);
    log('note', `unsubscribed from ${topic}`);
  } catch (e) {
    log('err', `unsubscribe ${topic}: ${describe(e)}`);
  }
  renderTopics();
}

async function publish() {
  const topic = $('topic').value.trim();
  try {
    await client.publish(topic, parseLoose($('publish-data').value));
    log('note', `published to ${topic}`);
  } catch (e) {
    log('err', `publish ${topic}: ${describe(e)}`);
  }
}

// ---- wiring --------------------------------------------------------------------

function onSubmit(id, fn) {
  $(id).addEventListener('submit', (e) => {
    e.preventDefault();
    fn();
  });
}

readFragment();
$('report-start').value = $('report-end').value = today();
onSubmit('conn-form', connect);
onSubmit('echo-form', echo);
onSubmit('report-form', report);
onSubmit('topic-form', subscribe);
onSubmit('publish-form', publish);
$('disconnect').addEventListener('click', disconnect);
$('unsubscribe').addEventListener('click', unsubscribe);
$('report-cancel').addEventListener('click', () => reportAbort && reportAbort.abort());
$('log-clear').addEventListener('click', () => { $('log').textContent = ''; });
// Enter in the token field connects (Shift+Enter for a new line is never needed in a JWT).
$('token').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey) {
    e.preventDefault();
    $('conn-form').requestSubmit();
  }
});
window.addEventListener('hashchange', readFragment);
addEventListener('online', () => client && client.reconnectNow());
setState('idle');

// For the console of the browser's developer tools.
window.streamerConsole = { get client() { return client; }, StreamerClient };

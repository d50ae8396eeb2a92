'use strict';
// The server under clients that misbehave or are slow, in this process on stand-in predictors, over raw sockets
// where the HTTP client would hide what is on the wire: a body trickled during a stop, a request that never ends, more
// connections than the cap, requests pipelined behind a malformed one, a request that arrives while the server stops,
// the API key's scheme in lower case, and what a 500 may say.
const test = require('ava');
const net = require('net');
const { assertError, inProcess, predict, sleep, standIn } = require('../helpers/serve');

const KEY = '0123456789abcdef0123456789abcdef';

/** A raw connection to `url`; `received` collects what the server sends, `closed` resolves when it ends. */
function connect(url) {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  const c = { socket, received: '', ended: false };
  socket.on('data', (d) => (c.received += d));
  socket.on('error', () => undefined);
  c.closed = new Promise((resolve) => socket.on('close', () => resolve((c.ended = true))));
  c.opened = new Promise((resolve) => socket.once('connect', resolve));
  return c;
}

function head(body, extra = '') {
  return (
    `POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n`
  );
}

/** The status codes of the responses in `text`, in order. */
const statuses = (text) => [...text.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((m) => Number(m[1]));

test.serial('a stop with a client trickling its body ends within the stop grace', async (t) => {
  const server = await inProcess([standIn('m')], { stopGraceMs: 1500 });
  await server.ready;
  const body = JSON.stringify({ text: '今天天气真好' });
  const c = connect(server.url);
  await c.opened;
  c.socket.write(head(body) + body.slice(0, 3));
  // One more byte every 500 ms: the whole body would take 7 s more.
  let sent = 3;
  const trickle = setInterval(() => sent < body.length && c.socket.write(body.slice(sent, ++sent)), 500);
  await sleep(300);
  const started = Date.now();
  await Promise.race([server.stop(), sleep(20_000)]);
  const seconds = (Date.now() - started) / 1000;
  clearInterval(trickle);
  t.log(`stopped ${seconds.toFixed(2)} s after stop() (grace 1.5 s), ${sent} of ${body.length} body bytes sent`);
  t.true(seconds < 1.5 + 1, `the stop took ${seconds} s`);
  t.true(seconds >= 1.4, 'the upload had its grace');
  await c.closed;
  t.true(c.ended, 'its connection is closed');
});

test.serial('a request not received within requestTimeoutMs gets 408, and the connection closes', async (t) => {
  const server = await inProcess([standIn('m')], { requestTimeoutMs: 1000 });
  await server.ready;
  const body = JSON.stringify({ text: 'slow' });
  const c = connect(server.url);
  await c.opened;
  const started = Date.now();
  c.socket.write(head(body) + body.slice(0, 2));
  await Promise.race([c.closed, sleep(10_000)]);
  const seconds = (Date.now() - started) / 1000;
  t.log(`closed after ${seconds.toFixed(2)} s: ${c.received.split('\r\n')[0]}`);
  t.true(c.ended);
  t.true(seconds < 3, `${seconds} s`);
  t.deepEqual(statuses(c.received), [408]);
  await server.stop();
});

test.serial('connections over maxConnections are closed as they arrive; the others are served', async (t) => {
  const server = await inProcess([standIn('m')], { maxConnections: 3 });
  await server.ready;
  const held = [0, 1, 2].map(() => connect(server.url));
  await Promise.all(held.map((c) => c.opened));
  await sleep(100);
  const extra = connect(server.url);
  await Promise.race([extra.closed, sleep(5000)]);
  t.true(extra.ended, 'the fourth connection is closed');
  t.false(
    held.some((c) => c.ended),
    'the first three stay open'
  );
  held[0].socket.write(head('{"text":"a"}') + '{"text":"a"}');
  await (async () => {
    for (let i = 0; i < 100 && !held[0].received.includes('\r\n\r\n'); i++) await sleep(20);
  })();
  t.deepEqual(statuses(held[0].received), [200]);
  for (const c of held) c.socket.destroy();
  await server.stop();
});

test.serial('requests pipelined behind a malformed one get an answer or a close, never silence', async (t) => {
  const server = await inProcess([standIn('m')]);
  await server.ready;
  const c = connect(server.url);
  await c.opened;
  const good = '{"text":"好"}';
  c.socket.write(head('{"text":') + '{"text":' + head(good) + good + head(good) + good);
  await Promise.race([c.closed, sleep(5000)]);
  const codes = statuses(c.received);
  t.log(`answers ${JSON.stringify(codes)}, connection ${c.ended ? 'closed' : 'open'}`);
  t.is(codes[0], 400);
  t.true(c.ended || codes.length === 3, `answered ${codes.length} of 3 and left the connection open`);
  c.socket.destroy();
  await server.stop();
});

test.serial('a request arriving while the server stops gets the documented 503 with its code', async (t) => {
  let release;
  const gate = new Promise((r) => (release = r));
  const server = await inProcess([standIn('m', { predictGate: gate })]);
  await server.ready;
  // One request in the model holds the stop open; a second connection has sent half its headers.
  const busy = predict(server.url, { text: 'busy' });
  await sleep(100);
  const c = connect(server.url);
  await c.opened;
  c.socket.write('POST /v1/predict HTTP/1.1\r\nHost: x\r\n');
  await sleep(100);
  const stopped = server.stop();
  await sleep(200);
  const body = '{"text":"late"}';
  c.socket.write(`Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  for (let i = 0; i < 100 && !c.received.includes('}'); i++) await sleep(20);
  release();
  t.is((await busy).status, 200, 'the request in the model is answered');
  await stopped;
  t.deepEqual(statuses(c.received), [503]);
  const json = JSON.parse(c.received.slice(c.received.indexOf('\r\n\r\n') + 4));
  t.is(json.code, 'shutting_down', c.received);
  t.is(json.statusCode, 503);
});

test.serial('the API key: the Bearer scheme in any case; anything else is refused', async (t) => {
  const server = await inProcess([standIn('m')], { apiKey: KEY });
  await server.ready;
  for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
    const r = await predict(server.url, { text: 'a' }, { headers: { authorization: `${scheme} ${KEY}` } });
    t.is(r.status, 200, `${scheme}: ${r.text}`);
  }
  for (const header of [`Bearer ${KEY}x`, KEY, `Basic ${KEY}`, `Bearer`, `Bearer ${KEY} ${KEY}`]) {
    assertError(
      t,
      await predict(server.url, { text: 'a' }, { headers: { authorization: header } }),
      401,
      'unauthorized'
    );
  }
  await server.stop();
});

test.serial("a 500 names what failed without the server's folders", async (t) => {
  const server = await inProcess([
    standIn('m', { fail: 'bad', error: '/srv/private/models/m: the model gives non-finite probabilities' }),
  ]);
  await server.ready;
  const r = await predict(server.url, { text: 'bad' });
  assertError(t, r, 500, 'internal', undefined, 'm: the model gives non-finite probabilities');
  t.false(r.text.includes('/srv/private'), r.text);
  await server.stop();
});

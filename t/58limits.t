#!/usr/bin/env node
// No client can pin what others share (DESIGN 3.8): connection caps on
// every listener (total, per peer, and file descriptors kept for the WAL
// and Parquet), head and receive deadlines counted from a request's first
// byte, header and body sizes refused while reading, and gRPC streams
// that fall silent reset with their in-flight bytes freed.
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
(async () => {
const { start, freePort, curl, ok, is, like, note, done, sleep, jsonTraces, tmpdir, bin } = await import('./lib/harness.mjs');
const { TRACES, connect } = await import('./lib/h2.mjs');

const run = `${process.pid}`;
const metrics = (s) => curl(`${s.control}/metrics`).text;
const metric = (s, name) => Number((metrics(s).match(new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm')) || [])[1]);
const until = async (cond, ms = 10000) => { const t0 = Date.now(); while (!cond() && Date.now() - t0 < ms) await sleep(50); return cond(); };
const within = (p, ms = 10000) => Promise.race([p, sleep(ms).then(() => 'timeout')]);
const json = ['-X', 'POST', '-H', 'Content-Type: application/json'];
const postTraces = (s, name, extra = []) => curl(`${s.otlp}/v1/traces`, [...json, ...extra, '--data-binary', jsonTraces(name)]);
const portOf = (url) => Number(new URL(url).port);

// A raw TCP client: what it received, and when it was closed (ms after
// it connected), for requests no well-behaved client sends.
function raw(port, localAddress = '127.0.0.1') {
  const sock = net.connect({ port, host: '127.0.0.1', localAddress });
  const c = { sock, data: '', t0: Date.now() };
  c.connected = new Promise((resolve) => sock.once('connect', resolve));
  c.closed = new Promise((resolve) => sock.once('close', () => { c.closedAt = Date.now() - c.t0; resolve(c.closedAt); }));
  sock.on('data', (d) => { c.data += d.toString('latin1'); });
  sock.on('error', (e) => { c.error = e.code; });
  // resolves with the status of the first complete answer
  c.answer = () => new Promise((resolve) => {
    const look = () => {
      const m = c.data.match(/^HTTP\/1\.1 (\d+)[^]*?\r\n\r\n/);
      const len = m && Number((m[0].match(/content-length: (\d+)/i) || [])[1] || 0);
      if (m && c.data.length >= m[0].length + len) { sock.off('data', look); resolve(Number(m[1])); }
    };
    sock.on('data', look);
    look();
    c.closed.then(() => resolve(0));
  });
  return c;
}
const request = (method, p, headers, body = '') =>
  `${method} ${p} HTTP/1.1\r\nHost: x\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}` +
  `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

// ---- gRPC: streams that send just under the budget and fall silent ----
{
  const gport = await freePort();
  const s = await start({ tag: 'limits-grpc', config: {
    'ingestion.grpc.port': gport, 'memory.max_inflight_bytes': 2097152, 'ingestion.grpc.idle_timeout_ms': 2000,
    'ingestion.grpc.max_connections_per_peer': 2 } });
  const c = await connect(gport);
  c.on('error', () => {});
  const held = [0, 1].map(() => {
    const st = c.request({ ':method': 'POST', ':path': TRACES, 'content-type': 'application/grpc' });
    const r = {};
    st.on('response', (h) => { if (h['grpc-status'] !== undefined) r.status = Number(h['grpc-status']); });
    st.on('trailers', (h) => { r.status = Number(h['grpc-status']); });
    st.on('error', (e) => { r.error = e.code; });
    r.closed = new Promise((resolve) => st.on('close', () => { r.rst = st.rstCode; resolve(); }));
    st.resume();
    st.write(Buffer.alloc(1048576 - 8, 1)); // never ended
    return r;
  });
  ok(await until(() => metric(s, 'openwit_inflight_bytes') >= 2097152 - 16), 'two silent gRPC streams hold the in-flight budget');
  is(postTraces(s, `pinned-${run}`).code, 503, 'meanwhile OTLP/HTTP gets 503');
  const t0 = Date.now();
  let code = 0;
  while (code !== 200 && Date.now() - t0 < 8000) {
    await sleep(250);
    code = postTraces(s, `freed-${run}`).code;
  }
  is(code, 200, `after ingestion.grpc.idle_timeout_ms the silent streams are reset and OTLP/HTTP gets 200 (${Date.now() - t0} ms)`);
  const ends = await within(Promise.all(held.map((r) => r.closed)), 5000);
  ok(ends !== 'timeout', 'both silent streams are closed by the server');
  note(`silent streams: grpc-status ${held.map((r) => r.status)}, RST_STREAM ${held.map((r) => r.rst)}, error ${held.map((r) => r.error)}`);
  is(held.map((r) => r.rst), [8, 8], 'with RST_STREAM CANCEL (gRPC CANCELLED)');
  like(metrics(s), /openwit_deadline_closed_total\{listener="otlp_grpc",deadline="idle"\} 2/, '/metrics counts the two silent streams');
  is(metric(s, 'openwit_inflight_bytes'), 0, 'their bytes are back in the budget');
  c.close();

  // per peer: two connections from 127.0.0.1 at most
  const keep = await Promise.all([connect(gport), connect(gport)]);
  await sleep(100);
  const third = raw(gport);
  ok(await within(third.closed, 3000) !== 'timeout', 'a third gRPC connection from one address is closed at once');
  const other = raw(gport, '127.0.0.2');
  ok(await within(other.closed, 1000) === 'timeout', 'a connection from another address is served');
  other.sock.destroy();
  like(metrics(s), /openwit_connections_refused_total\{listener="otlp_grpc",reason="max_connections_per_peer"\} [1-9]/, '/metrics counts the refusal');
  for (const k of keep) { k.on('error', () => {}); k.close(); }
}

// ---- HTTP: deadlines, header and body sizes, connection caps ----
const s = await start({ tag: 'limits-http', config: {
  'ingestion.http.header_timeout_ms': 2000, 'control.header_timeout_ms': 2000,
  'ingestion.http.request_timeout_ms': 4000,
  'ingestion.http.max_connections': 6, 'ingestion.http.max_connections_per_peer': 3,
  'control.max_connections_per_peer': 4, 'storage.buffer.flush_interval_ms': 300 } });
const oport = portOf(s.otlp), cport = portOf(s.control);

// a slow head: one header line every 1.5 s, on both kinds of listener
for (const [what, port, p] of [['OTLP/HTTP', oport, '/v1/traces'], ['control', cport, '/api/search']]) {
  const c = raw(port);
  await c.connected;
  c.sock.write(`POST ${p} HTTP/1.1\r\nHost: x\r\n`);
  for (let i = 0; i < 8 && c.closedAt === undefined; i++) {
    await sleep(1500);
    if (c.closedAt === undefined) c.sock.write(`X-Slow-${i}: ${i}\r\n`);
  }
  const t = await within(c.closed, 3000);
  ok(t !== 'timeout' && t < 5000, `${what}: a head sent one line every 1.5 s is cut off at header_timeout_ms, 2 s (closed after ${t} ms)`);
}
// a slow body: the head at once, then a byte every second
{
  const c = raw(oport);
  await c.connected;
  c.sock.write(`POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n`);
  for (let i = 0; i < 10 && c.closedAt === undefined; i++) {
    await sleep(1000);
    if (c.closedAt === undefined) c.sock.write('x');
  }
  const t = await within(c.closed, 3000);
  ok(t !== 'timeout' && t < 7000, `OTLP/HTTP: a body trickled a byte a second is cut off at request_timeout_ms, 4 s (closed after ${t} ms)`);
}
like(metrics(s), /openwit_deadline_closed_total\{listener="otlp_http",deadline="head"\} 1\n[^]*deadline="receive"\} 1/, '/metrics counts the head and receive deadlines');

// 4 MB of headers: refused, on both kinds of listener
{
  const pad = Array.from({ length: 4096 }, (_, i) => `X-Pad-${i}: ${'p'.repeat(1000)}\r\n`).join('');
  for (const [what, port, req] of [
    ['OTLP/HTTP', oport, `POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${pad}Content-Length: ${jsonTraces('pad').length}\r\n\r\n${jsonTraces('pad')}`],
    ['control', cport, `GET /health HTTP/1.1\r\nHost: x\r\n${pad}\r\n`]]) {
    const c = raw(port);
    await c.connected;
    c.sock.write(req);
    const code = await within(c.answer(), 5000);
    ok(code === 413 || code === 431 || code === 400 || (code === 0 && /^(ECONNRESET|EPIPE)$/.test(c.error)),
      `${what}: 4 MB of headers is refused (${code === 0 ? c.error : code})`);
    c.sock.destroy();
  }
}

// a 20 MB body on the control port: refused before it is read
{
  const c = raw(cport);
  await c.connected;
  c.sock.write('POST /api/search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 20971520\r\n\r\n');
  is(await within(c.answer(), 3000), 413, 'control: a request announcing a 20 MB body is answered 413 before any of it is sent');
  c.sock.destroy();
  const f = path.join(tmpdir('limits-body'), 'big.json');
  fs.writeFileSync(f, JSON.stringify({ query: 'SELECT 1', pad: 'x'.repeat(20 << 20) }));
  const r = curl(`${s.control}/api/search`, ['-H', 'Content-Type: application/json', '--data-binary', `@${f}`, '-w', '\n%{size_upload}']);
  const up = Number(r.text.split('\n').pop());
  is(r.code, 413, 'curl posting 20 MB to /api/search: 413');
  ok(up < 1 << 20, `and it never sent the body (${up} bytes uploaded)`);
}

// connection caps: 3 per peer, 6 in all, on OTLP/HTTP
{
  const mine = [raw(oport), raw(oport), raw(oport)];
  await Promise.all(mine.map((c) => c.connected));
  await sleep(200);
  const fourth = raw(oport);
  is(await within(fourth.closed, 3000) !== 'timeout' && /^HTTP\/1\.1 503/.test(fourth.data), true, 'a 4th connection from one address: 503 and closed');
  const others = ['127.0.0.2', '127.0.0.2', '127.0.0.2'].map((a) => raw(oport, a));
  await Promise.all(others.map((c) => c.connected));
  await sleep(200);
  const seventh = raw(oport, '127.0.0.3');
  is(await within(seventh.closed, 3000) !== 'timeout' && /^HTTP\/1\.1 503/.test(seventh.data), true, 'a 7th connection in all: 503 and closed');
  mine[0].sock.write(request('POST', '/v1/traces', { 'Content-Type': 'application/json' }, jsonTraces(`held-${run}`)));
  is(await within(mine[0].answer(), 5000), 200, 'a connection already open still works: 200');
  const m = metrics(s);
  like(m, /openwit_connections_refused_total\{listener="otlp_http",reason="max_connections_per_peer"\} 1\n/, '/metrics counts the per-peer refusal');
  like(m, /openwit_connections_refused_total\{listener="otlp_http",reason="max_connections"\} 1\n/, '/metrics counts the total refusal');
  like(m, /openwit_connections\{listener="otlp_http"\} 6\n/, '/metrics: 6 connections open');
  for (const c of [...mine, ...others]) c.sock.destroy();
  ok(await until(() => /openwit_connections\{listener="otlp_http"\} 0\n/.test(metrics(s))), 'closed connections give their slots back');
  is(postTraces(s, `after-${run}`).code, 200, 'a new connection after them: 200');
}
// control: 4 per peer
{
  const mine = [0, 1, 2, 3].map(() => raw(cport));
  await Promise.all(mine.map((c) => c.connected));
  await sleep(200);
  is(curl(`${s.control}/health`).code, 503, 'control: past control.max_connections_per_peer, curl gets 503');
  for (const c of mine) c.sock.destroy();
  ok(await until(() => curl(`${s.control}/health`).code === 200), 'and 200 once they are closed');
}

// ---- file descriptors: a flood of connections never takes the WAL's ----
{
  const dir = tmpdir('limits-fds');
  const wrap = path.join(dir, 'openwit-nofile');
  fs.writeFileSync(wrap, `#!/bin/sh\nulimit -n 256 || exit 1\nexec ${bin} "$@"\n`, { mode: 0o755 });
  const f = await start({ tag: 'limits-fds', bin: wrap, config: {
    'connections.reserved_fds': 128, 'storage.buffer.flush_interval_ms': 300 } });
  const first = raw(portOf(f.otlp));
  await first.connected;
  const flood = [];
  for (let i = 0; i < 300; i++) {
    const c = raw(portOf(f.otlp));
    c.sock.on('error', () => {});
    flood.push(c);
  }
  await Promise.all(flood.map((c) => within(c.connected, 3000)));
  await sleep(500);
  const served = flood.filter((c) => c.closedAt === undefined).length;
  note(`flood: ${served} of 300 connections kept open`);
  ok(served < 128, 'connections stop short of RLIMIT_NOFILE less connections.reserved_fds');
  first.sock.write(request('POST', '/v1/traces', { 'Content-Type': 'application/json' }, jsonTraces(`flood-${run}`)));
  is(await within(first.answer(), 5000), 200, 'during the flood an open connection ingests: 200 (its WAL file could be opened)');
  for (const c of flood) c.sock.destroy();
  first.sock.destroy();
  ok(await until(() => metric(f, 'openwit_rows_stored_total') >= 1), 'and its span reaches a Parquet part');
  like(metrics(f), /openwit_connections_refused_total\{listener="otlp_http",reason="reserved_fds"\} [1-9]/, '/metrics counts the refusals');
}
done();
})();

#!/usr/bin/env node
// OTLP/gRPC connections: ingestion.grpc.idle_timeout_ms closes a connection
// without open streams (GOAWAY NO_ERROR) and one whose answers make no
// write progress; a client that stops reading is not buffered for without
// bound (the server stops reading it); a client that disconnects halfway
// through a message leaves nothing stored and no budget taken.
const fs = require('node:fs');
const net = require('node:net');
(async () => {
const { start, freePort, curl, ok, is, like, note, done, sleep, pbTraces } = await import('./lib/harness.mjs');
const { TRACES, grpcFrame, connect, call } = await import('./lib/h2.mjs');

const run = `${process.pid}`;
const metrics = (s) => curl(`${s.control}/metrics`).text;
const metric = (s, name) => Number((metrics(s).match(new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm')) || [])[1]);
const count = (s, like) => JSON.parse(curl(`${s.control}/api/search`, ['--data-binary',
  JSON.stringify({ query: `SELECT count(*) AS n FROM spans WHERE name LIKE '${like}'` })]).text).result.rows[0].n;
const until = async (cond, ms = 10000) => { const t0 = Date.now(); while (!cond() && Date.now() - t0 < ms) await sleep(20); return cond(); };
// a promise's value, or 'timeout' after ms: a test fails rather than hangs
const within = (p, ms = 10000) => Promise.race([p, sleep(ms).then(() => 'timeout')]);
const rss = (s) => Number(fs.readFileSync(`/proc/${s.proc.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]) * 1024;

// ---- HTTP/2 frames by hand, for a client that never reads ----
const frame = (type, flags, id, payload) => {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(id, 5);
  return Buffer.concat([h, payload]);
};
const PREFACE = Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), frame(4, 0, 0, Buffer.alloc(0))]);
// HPACK literals without indexing, so every HEADERS frame stands alone
const hpack = (headers) => Buffer.concat(Object.entries(headers).map(([k, v]) =>
  Buffer.concat([Buffer.from([0, k.length]), Buffer.from(k), Buffer.from([v.length]), Buffer.from(v)])));
const exportRequest = (id, msg) => Buffer.concat([
  frame(1, 4, id, hpack({ ':method': 'POST', ':scheme': 'http', ':path': TRACES, ':authority': 'x', 'content-type': 'application/grpc' })),
  frame(0, 1, id, grpcFrame(msg))]);

// ---- idle connections ----
const s = await start({ tag: 'grpc-conn', config: { 'ingestion.grpc.port': await freePort(), 'ingestion.grpc.idle_timeout_ms': 400 } });
const gport = Number(fs.readFileSync(s.conf, 'utf8').match(/ingestion\.grpc\.port: (\d+)/)[1]);
{
  const c = await connect(gport);
  const goaway = new Promise((resolve) => c.on('goaway', (code) => resolve(code)));
  const closed = new Promise((resolve) => c.on('close', resolve));
  c.on('error', () => {});
  is((await call(c, TRACES, grpcFrame(pbTraces(`idle-${run}`)))).status, 0, 'idle: a request first: OK');
  is(await within(goaway), 0, 'idle: GOAWAY with NO_ERROR once no stream has been open for idle_timeout_ms');
  ok(await within(closed) !== 'timeout', 'idle: and the connection is closed');
}
{
  // a stream open longer than the idle timeout, never silent that long,
  // keeps its connection (a silent one is reset: t/58limits.t)
  const c = await connect(gport);
  let away = false;
  c.on('goaway', () => { away = true; });
  c.on('error', () => {});
  const st = c.request({ ':method': 'POST', ':path': TRACES, 'content-type': 'application/grpc' });
  const body = grpcFrame(pbTraces(`slow-${run}`));
  const res = new Promise((resolve) => {
    let status;
    st.on('response', (h) => { if (h['grpc-status'] !== undefined) status = Number(h['grpc-status']); });
    st.on('trailers', (h) => { status = Number(h['grpc-status']); });
    st.on('error', () => {});
    st.resume();
    st.on('close', () => resolve(status));
  });
  for (let i = 0; i < 5; i++) {
    st.write(body.subarray(i * 4, i * 4 + 4));
    await sleep(200);
  }
  ok(!away, 'an open stream: no GOAWAY after 2.5 idle timeouts');
  st.end(body.subarray(20));
  is(await within(res), 0, 'an open stream: its request completes, OK');
  c.close();
}
{
  // a connection that never opens a stream
  const sock = net.connect(gport, '127.0.0.1');
  let got = Buffer.alloc(0);
  sock.on('data', (d) => { got = Buffer.concat([got, d]); });
  sock.on('error', () => {});
  sock.write(PREFACE);
  await within(new Promise((resolve) => sock.on('close', resolve)));
  sock.destroy();
  const frames = [];
  for (let o = 24 - 24; o + 9 <= got.length;) { const len = got.readUIntBE(o, 3); frames.push({ type: got[o + 3], payload: got.subarray(o + 9, o + 9 + len) }); o += 9 + len; }
  const ga = frames.find((f) => f.type === 7);
  ok(ga && ga.payload.readUInt32BE(4) === 0, 'no stream ever: GOAWAY NO_ERROR, then the server closes', frames.map((f) => f.type));
}
is(metric(s, 'openwit_grpc_idle_closed_total'), 2, '/metrics counts the two idle closes');

// ---- a client that disconnects halfway through a message ----
{
  const c = await connect(gport);
  c.on('error', () => {});
  const st = c.request({ ':method': 'POST', ':path': TRACES, 'content-type': 'application/grpc' });
  st.on('error', () => {});
  const body = grpcFrame(pbTraces(`half-${run}`));
  st.write(body.subarray(0, body.length >> 1));
  await until(() => metric(s, 'openwit_inflight_bytes') > 0, 3000);
  ok(metric(s, 'openwit_inflight_bytes') > 0, 'half a message: its bytes are in the in-flight budget');
  c.sock.destroy();
  ok(await until(() => metric(s, 'openwit_inflight_bytes') === 0), 'disconnected: the budget is released');
  ok(await until(() => metric(s, 'openwit_grpc_connections') === 0), 'disconnected: the connection is gone');
  const c2 = await connect(gport);
  c2.on('error', () => {});
  is((await call(c2, TRACES, grpcFrame(pbTraces(`after-${run}`)))).status, 0, 'the next client: OK');
  c2.close();
  is([count(s, `half-${run}`), count(s, `after-${run}`)], [0, 1], 'nothing of the half message is stored; the next request is');
}
is(curl(`${s.control}/health`).code, 200, 'the server is healthy');
is((await s.stop()).code, 0, 'SIGTERM: clean exit');

// ---- a client that sends and never reads ----
// It sends Export requests, each followed by PING frames: an answer to a
// request is small, a PING's ACK is as large as the PING, so unread answers
// grow as fast as the client writes. The server stops reading it past 1 MiB
// of unread answers (and the kernel's socket buffers fill), so the client's
// writes stall; after idle_timeout_ms without write progress it is closed.
const t = await start({ tag: 'grpc-flood', config: { 'ingestion.grpc.port': await freePort(), 'ingestion.grpc.idle_timeout_ms': 2000 },
  // ASan keeps freed memory in quarantine: keep it small so RSS means memory held
  env: { ASAN_OPTIONS: `${process.env.ASAN_OPTIONS || ''}:quarantine_size_mb=4:thread_local_quarantine_size_kb=64` } });
const tport = Number(fs.readFileSync(t.conf, 'utf8').match(/ingestion\.grpc\.port: (\d+)/)[1]);
{
  const warm = await connect(tport);
  warm.on('error', () => {});
  is((await call(warm, TRACES, grpcFrame(pbTraces(`warm-${run}`)))).status, 0, 'flood: a first client is served');
  const rss0 = rss(t);
  const TOTAL = 64 << 20;
  const ping = frame(6, 0, 0, Buffer.alloc(8));
  const pings = Buffer.concat(Array(2048).fill(ping));
  const sock = net.connect(tport, '127.0.0.1');
  sock.pause(); // never read
  sock.on('error', () => {});
  const closed = new Promise((resolve) => sock.on('close', resolve));
  await new Promise((resolve) => sock.on('connect', resolve));
  sock.write(PREFACE);
  let sent = 0, id = 1, stalled = false;
  const t0 = Date.now();
  while (sent < TOTAL && !sock.destroyed && Date.now() - t0 < 30000) {
    const chunk = Buffer.concat([exportRequest(id, pbTraces(`flood-${run}`)), pings]);
    id += 2;
    sent += chunk.length;
    if (!sock.write(chunk)) {
      // stalled: no drain for 300 ms once the server says it stopped
      // reading (a server merely slow to read drains later)
      const drain = new Promise((resolve) => sock.once('drain', () => resolve(true)));
      while (!stalled && (await within(drain, 300)) === 'timeout' && Date.now() - t0 < 30000)
        stalled = metric(t, 'openwit_grpc_read_pauses_total') >= 1;
      if (stalled) break;
    }
  }
  note(`flood: ${(sent / 1048576).toFixed(1)} MiB written, ${(id - 1) / 2} requests, stalled ${stalled}`);
  ok(stalled && sent < TOTAL, `flood: the client's writes stall (${(sent / 1048576).toFixed(1)} MiB of ${TOTAL >> 20} written)`);
  ok(metric(t, 'openwit_grpc_read_pauses_total') >= 1, 'flood: the server stopped reading the connection');
  const other = await connect(tport);
  other.on('error', () => {});
  is((await call(other, TRACES, grpcFrame(pbTraces(`other-${run}`)))).status, 0, 'flood: meanwhile another client is served');
  other.close();
  warm.close();
  const grown = rss(t) - rss0;
  ok(grown < 24 << 20, `flood: server RSS grew by ${(grown / 1048576).toFixed(1)} MiB (bounded)`);
  ok(await within(closed) !== 'timeout', 'flood: the server closes the connection that makes no write progress');
  sock.destroy();
  is(metric(t, 'openwit_grpc_write_timeouts_total'), 1, 'flood: /metrics counts one write timeout');
  ok(await until(() => metric(t, 'openwit_grpc_connections') === 0), 'flood: no connection left');
  ok(await until(() => metric(t, 'openwit_inflight_bytes') === 0), 'flood: the budget is released');
  is(count(t, `other-${run}`), 1, 'flood: the other client\'s request is stored');
  note(`flood: ${count(t, `flood-${run}`)} of the flood's requests stored`);
}
is(curl(`${t.control}/health`).code, 200, 'flood: the server is healthy');
is((await t.stop()).code, 0, 'flood: SIGTERM, clean exit');
done();
})();

#!/usr/bin/env node
// OTLP/gRPC (h2c): the OpenTelemetry JS SDK gRPC exporters for all three
// signals with and without gzip, read back through /api/search; a bad
// tenant, an unknown method, malformed and oversized messages (nghttp);
// clients that reset a stream or drop the connection before the ack; a
// small h2load run.
const fs = require('node:fs');
const http2 = require('node:http2');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
(async () => {
const { start, freePort, curl, sql, otelSend, ok, is, like, note, done, sleep, pbTraces, pbField, tmpdir } = await import('./lib/harness.mjs');
const { grpcFrame } = await import('./lib/h2.mjs');

const gport = await freePort();
const s = await start({ tag: 'grpc', config: { 'ingestion.grpc.port': gport, 'ingestion.grpc.max_message_size': 65536 } });
const grpc = `http://127.0.0.1:${gport}`;
const db = path.join(s.data, 'openwit.db');
const run = `${process.pid}`;
like(s.log(), new RegExp(`OTLP/gRPC listening on 127.0.0.1:${gport}`), 'the gRPC listener is logged');

const search = (tenant, query) => {
  const r = curl(`${s.control}/api/search`, ['-H', `X-Scope-OrgID: ${tenant}`, '--data-binary', JSON.stringify({ query })]);
  try { return JSON.parse(r.text); } catch { return { text: r.text }; }
};
const queries = {
  traces: (m) => `SELECT count(*) AS n FROM spans WHERE name LIKE '${m}-span-%'`,
  logs: (m) => `SELECT count(*) AS n FROM logs WHERE body LIKE '%${m}-log-%'`,
  metrics: (m) => `SELECT count(*) AS n FROM metrics WHERE metric_name LIKE '${m.replace(/[^A-Za-z0-9_.\-/]/g, '_')}.%'`,
};

for (const signal of ['traces', 'logs', 'metrics'])
  for (const gzip of [false, true]) {
    const label = `${signal}${gzip ? ' gzip' : ''}`;
    const tenant = `grpc-${signal}${gzip ? '-gz' : ''}`;
    const marker = `g${run}-${signal}${gzip ? '-gz' : ''}`;
    const r = otelSend(grpc, signal, 'grpc', ['--count', '5', '--marker', marker, '--tenant', tenant, ...(gzip ? ['--gzip'] : [])]);
    note(`${label}: ${JSON.stringify(r)}`);
    is(r.exit, 0, `${label}: send.mjs exits 0`);
    ok(r.failed === 0 && r.exports > 0 && r.succeeded === r.exports, `${label}: every export succeeded`, r);
    // the tracker is written off the loop, after the answer: wait for its rows
    let rows = [];
    for (let i = 0; i < 100; i++) {
      rows = sql(db, `select source, message_count m, record_count n from batch_tracker where client_id = '${tenant}'`);
      if (rows.reduce((a, x) => a + x.m, 0) >= r.exports) break;
      await sleep(50);
    }
    ok(rows.length > 0 && rows.every((x) => x.source === 'grpc'), `${label}: tracker rows have source grpc`, rows);
    is(rows.reduce((a, x) => a + x.n, 0), r.items, `${label}: tracker record_count == the ${r.items} items sent`);
    is(rows.reduce((a, x) => a + x.m, 0), r.exports, `${label}: tracker message_count == export calls`);
    const q = search(tenant, queries[signal](marker));
    const want = signal === 'metrics' ? 7 : 5;
    is(q.result && q.result.rows[0].n, want, `${label}: /api/search reads the ${want} records back at once`);
  }

// a tenant the server refuses
const before = sql(db, 'select count(*) n from batch_tracker')[0].n;
const bad = otelSend(grpc, 'traces', 'grpc', ['--count', '2', '--tenant', '../evil']);
is(bad.exit, 1, 'invalid tenant: send.mjs exits 1');
like((bad.errors || []).join('\n'), /INVALID_ARGUMENT.*tenant/, 'invalid tenant: INVALID_ARGUMENT naming the tenant');

// raw HTTP/2 with nghttp
const tmp = tmpdir('grpc-body');
const file = (name, buf) => { const f = path.join(tmp, name); fs.writeFileSync(f, buf); return f; };
const nghttp = (p, body, headers = []) => {
  const r = spawnSync('nghttp', ['-v', '-H', ':method: POST', '-H', 'content-type: application/grpc', ...headers.flatMap((h) => ['-H', h]), `--data=${body}`, `${grpc}${p}`], { timeout: 20000 });
  if (process.env.DBG) note(`nghttp ${p} ${body}: status ${r.status} signal ${r.signal} ${r.error} ${r.stderr}`);
  return r.stdout.toString();
};
const TRACES = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
let out = nghttp('/x.y/Z', '/dev/null');
like(out, /grpc-status: 12/, 'unknown method: grpc-status 12 UNIMPLEMENTED');
like(out, /SETTINGS_MAX_CONCURRENT_STREAMS\(0x03\):100/, 'SETTINGS announce max_concurrent_streams 100');
out = nghttp(TRACES, file('short', Buffer.from([0, 0, 0, 0, 100, 1, 2, 3])));
like(out, /grpc-status: 3/, 'a message shorter than its length prefix: INVALID_ARGUMENT');
like(out, /grpc-message: malformed/, 'malformed: grpc-message says so');
out = nghttp(TRACES, file('proto', Buffer.concat([Buffer.from([0, 0, 0, 0, 4]), Buffer.from([0x0a, 0xff, 0xff, 0x01])])));
like(out, /grpc-status: 3/, 'malformed protobuf: INVALID_ARGUMENT');
out = nghttp(TRACES, file('big', Buffer.from([0, 0, 2, 0, 0])));
like(out, /grpc-status: 8/, 'a length prefix over max_message_size: RESOURCE_EXHAUSTED');
out = nghttp(TRACES, file('huge', Buffer.alloc(70000)));
like(out, /grpc-status: 8/, 'a body over max_message_size: RESOURCE_EXHAUSTED');
out = nghttp(TRACES, file('gzflag', Buffer.concat([Buffer.from([1, 0, 0, 0, 3]), Buffer.from('abc')])));
like(out, /grpc-status: 3/, 'compressed flag without grpc-encoding gzip: INVALID_ARGUMENT');
like(out, /grpc-message: compressed message without grpc-encoding gzip/, 'and grpc-message says why (the flag, not the payload, decides)');
out = nghttp(TRACES, file('badgz', Buffer.concat([Buffer.from([1, 0, 0, 0, 3]), Buffer.from('abc')])), ['grpc-encoding: gzip']);
like(out, /grpc-status: 3/, 'not gzip with grpc-encoding gzip: INVALID_ARGUMENT');
out = nghttp(TRACES, file('br', Buffer.from([0, 0, 0, 0, 0])), ['grpc-encoding: br']);
like(out, /grpc-status: 12/, 'grpc-encoding br: UNIMPLEMENTED');
out = nghttp(TRACES, file('ct', Buffer.from([0, 0, 0, 0, 0])), ['content-type: text/plain']);
like(out, /grpc-status: 3/, 'content type text/plain: INVALID_ARGUMENT');
const body = pbTraces(`raw-${run}`);
const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, body.length]), body]);
out = nghttp(TRACES, file('good', framed));
like(out, /recv DATA frame <length=5/, 'a good raw request: a DATA frame with the empty response');
like(out, /grpc-status: 0/, 'a good raw request: grpc-status 0 in the trailers');
is(sql(db, 'select count(*) n from batch_tracker where client_id like \'%evil%\'')[0].n, 0, 'nothing stored for the refused tenant');

// clients that go away before their ack: the requests still land
const net = require('node:net');
const h2 = (fn) => new Promise((resolve) => {
  const sock = net.connect(gport, '127.0.0.1');
  const c = http2.connect(grpc, { createConnection: () => sock });
  c.on('error', () => {});
  c.on('close', resolve);
  c.on('connect', () => fn(c, sock));
});
await h2((c) => {
  for (let i = 0; i < 5; i++) {
    const b = pbTraces(`reset-${run}-${i}`);
    const st = c.request({ ':method': 'POST', ':path': TRACES, 'content-type': 'application/grpc', 'x-scope-orgid': 'gone' });
    st.on('error', () => {});
    st.end(Buffer.concat([Buffer.from([0, 0, 0, 0, b.length]), b]), () => st.close(http2.constants.NGHTTP2_CANCEL));
  }
  setTimeout(() => c.close(), 200);
});
await h2((c, sock) => {
  // drop the connection when the first answer arrives: the rest are pending
  for (let i = 0; i < 20; i++) {
    const b = pbTraces(`drop-${run}-${i}`);
    const st = c.request({ ':method': 'POST', ':path': TRACES, 'content-type': 'application/grpc', 'x-scope-orgid': 'gone' });
    st.on('error', () => {});
    st.on('response', () => sock.destroy());
    st.end(Buffer.concat([Buffer.from([0, 0, 0, 0, b.length]), b]));
  }
});
let got = 0;
for (let i = 0, same = 0; i < 100 && same < 6; i++) {
  await sleep(50);
  const q = search('gone', `SELECT count(*) AS n FROM spans WHERE name LIKE 'reset-${run}-%' OR name LIKE 'drop-${run}-%'`);
  const n = q.result ? q.result.rows[0].n : 0;
  same = n === got && n > 0 ? same + 1 : 0;
  got = n;
}
ok(got <= 25 && got > 6, `requests whose stream was reset (5) or whose connection was dropped (20) land all the same: ${got}`);

// h2load: 400 requests of 10 log records each over 4 connections, 10
// streams at a time on each
{
  const tenant = `h2load-${run}`;
  const rec = pbField(2, Buffer.concat([pbField(2, 9), pbField(5, pbField(1, `h2load-${run} GET /api/v1/items 200`))]));
  const req = pbField(1, pbField(2, Buffer.concat(Array(10).fill(rec))));
  const f = file('h2load.grpc', grpcFrame(req));
  const r = spawnSync('h2load', ['-n', '400', '-c', '4', '-m', '10', '-d', f, '-H', 'content-type: application/grpc', '-H', 'te: trailers',
    '-H', `x-scope-orgid: ${tenant}`, `${grpc}/opentelemetry.proto.collector.logs.v1.LogsService/Export`], { timeout: 60000 });
  const text = r.stdout.toString();
  note(text.split('\n').filter((l) => /^(requests|status codes)/.test(l)).join('\n'));
  like(text, /requests: 400 total, 400 started, 400 done, 400 succeeded, 0 failed, 0 errored/, 'h2load: 400 requests, all succeeded');
  like(text, /status codes: 400 2xx/, 'h2load: 400 answered 200');
  const mt = curl(`${s.control}/metrics`).text;
  like(mt, new RegExp(`openwit_ingest_requests_total\\{tenant="${tenant}",signal="logs"\\} 400\n`), 'h2load: /metrics counts 400 requests acknowledged with grpc-status 0');
  let t;
  for (let i = 0; i < 100; i++) {
    t = sql(db, `select sum(message_count) m, sum(record_count) n from batch_tracker where client_id = '${tenant}'`)[0];
    if (t.m >= 400) break;
    await sleep(50);
  }
  is([t.m, t.n], [400, 4000], 'h2load: the tracker holds 400 messages, 4000 records');
  const q = search(tenant, `SELECT count(*) AS n FROM logs WHERE body LIKE '%h2load-${run} %'`);
  is(q.result && q.result.rows[0].n, 4000, 'h2load: /api/search reads exactly 4000 records');
}

// still healthy
is(curl(`${s.control}/health`).code, 200, 'the server is still healthy');
const after = otelSend(grpc, 'logs', 'grpc', ['--count', '3']);
is(after.exit, 0, 'a good export after the bad ones succeeds');
const m = curl(`${s.control}/metrics`).text;
like(m, /openwit_rejected_requests_total\{reason="invalid_tenant"\} [1-9]/, '/metrics counts the invalid tenant');
like(m, /openwit_rejected_requests_total\{reason="too_large"\} 2/, '/metrics counts the two messages too large');
const st = await s.stop();
is(st.code, 0, 'SIGTERM: clean exit');
note(`${before} batches before the bad tenant`);
done();
})();

#!/usr/bin/env node
// Memory is bounded in bytes: rows waiting for Parquet may hold at most
// memory.max_buffer_bytes; past it (with no high-water mark, t/57flush.t)
// requests get 503 with Retry-After until
// a flush frees the memory, and a gRPC client (grpc-js) UNAVAILABLE with a
// google.rpc.RetryInfo of the same delay, as OTLP's throttling asks.
// Nothing acknowledged is lost meanwhile.
const path = require('node:path');
(async () => {
const { start, freePort, curl, sql, duck, parts, ok, is, like, done, sleep, tmpdir, nowNs, pbLogs, root } = await import('./lib/harness.mjs');
const { LOGS } = await import('./lib/h2.mjs');
const fs = require('node:fs');
const otel = require('node:module').createRequire(path.join(root, 't/otel/package.json'));
const grpc = otel('@grpc/grpc-js');
const protobuf = otel('protobufjs');
// google/rpc/status.proto, google/protobuf/any.proto, duration.proto and
// google/rpc/error_details.proto's RetryInfo, as far as they are read here
const rpc = protobuf.parse(`syntax = "proto3";
  message Any { string type_url = 1; bytes value = 2; }
  message Status { int32 code = 1; string message = 2; repeated Any details = 3; }
  message Duration { int64 seconds = 1; int32 nanos = 2; }
  message RetryInfo { Duration retry_delay = 1; }`, { keepCase: true }).root;
const gport = await freePort();
const s = await start({ tag: 'buffer', config: { 'memory.max_buffer_bytes': 1048576, 'storage.buffer.flush_interval_ms': 4000, 'storage.buffer.flush_at_percent': 100, 'ingestion.grpc.port': gport } });
const client = new grpc.Client(`127.0.0.1:${gport}`, grpc.credentials.createInsecure());
const export_ = (body) => new Promise((resolve) => client.makeUnaryRequest(LOGS, (b) => b, (b) => b, body, new grpc.Metadata(), (err) => resolve(err)));
const f = path.join(tmpdir('buffer-body'), 'logs.json');
const rec = (i) => ({ timeUnixNano: String(nowNs() + BigInt(i)), body: { stringValue: `line ${i} ` + 'y'.repeat(2000) } });
fs.writeFileSync(f, JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: Array.from({ length: 50 }, (_, i) => rec(i)) }] }] }));
const post = (base = s.otlp) => curl(`${base}/v1/logs`, ['-X', 'POST', '-H', 'Content-Type: application/json', '--data-binary', `@${f}`]);
let acked = 0, full = null;
for (let i = 0; i < 40 && !full; i++) {
  const r = post();
  if (r.code === 200) acked++;
  else full = r;
}
ok(acked > 0, `requests are taken until the buffers are full (${acked} taken)`);
is(full && full.code, 503, 'then a request gets 503');
is(full && full.headers['retry-after'], '1', 'with Retry-After');
like(full && full.text, /memory.max_buffer_bytes/, 'the Status names memory.max_buffer_bytes');
like(curl(`${s.control}/metrics`).text, new RegExp(`^openwit_buffered_rows ${acked * 50}$`, 'm'), '/metrics counts the rows buffered');
const legacy = post(s.legacy);
is([legacy.code, legacy.headers['retry-after']], [503, '1'], 'the same on the other OTLP/HTTP port');
const err = await export_(pbLogs('over gRPC'));
is(err && err.code, grpc.status.UNAVAILABLE, 'gRPC: UNAVAILABLE');
const bin = err && err.metadata.get('grpc-status-details-bin')[0];
const st = bin && rpc.lookupType('Status').decode(bin);
const any = st && st.details[0];
is(any && any.type_url, 'type.googleapis.com/google.rpc.RetryInfo', 'with a RetryInfo in grpc-status-details-bin');
const delay = any && rpc.lookupType('RetryInfo').decode(any.value).retry_delay;
is(delay && Number(delay.seconds), 1, 'whose retry_delay is the Retry-After of HTTP: 1 s');
like(curl(`${s.control}/metrics`).text, /openwit_rejected_requests_total\{reason="buffer_full"\} 3/, '/metrics counts them');
let again = 0;
for (let i = 0; i < 300 && again !== 200; i++) { await sleep(100); again = post().code; }
is(again, 200, 'once a flush has written the rows to Parquet, requests are taken again');
acked++;
const db = path.join(s.data, 'openwit.db');
// every acknowledged row is in the buffers until its part commits (the
// tracker's rows may come a moment after the acknowledgement)
const buffered = () => Number((/^openwit_buffered_rows (\d+)$/m.exec(curl(`${s.control}/metrics`).text) || [])[1]);
for (let i = 0; i < 300 && (buffered() > 0 || sql(db, 'select count(*) n from batch_tracker where storage_pip = 0')[0].n > 0); i++) await sleep(100);
is(Number((await duck(`select count(*) n from ${parts(s.data, 'logs')}`))[0].n), acked * 50, 'every acknowledged record is in Parquet');
done();
})();

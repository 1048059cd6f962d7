#!/usr/bin/env node
// OTLP partial success: a span whose trace_id or span_id is empty or all
// zero bytes is invalid (trace.proto); it is dropped alone and the answer
// carries partial_success {rejected_spans, error_message}, over OTLP/gRPC,
// OTLP/HTTP protobuf and OTLP/HTTP JSON alike. The WAL keeps the request as
// it came; replay after SIGKILL skips the same spans. A request whose every
// span is invalid is answered the same way and stores nothing.
const fs = require('node:fs');
const path = require('node:path');
(async () => {
const { start, freePort, curl, sql, duck, parts, walFiles, ok, is, like, done, pbField, nowNs } = await import('./lib/harness.mjs');
const { TRACES, grpcFrame, connect, call } = await import('./lib/h2.mjs');

const run = `${process.pid}`;
const gport = await freePort();
const s = await start({ tag: 'partial', config: { 'ingestion.grpc.port': gport } });
const db = path.join(s.data, 'openwit.db');

const TID = Buffer.from('5b8efff798038103d269b633813fc60c', 'hex');
const SID = Buffer.from('eee19b7ec3c1b174', 'hex');
const ZERO16 = Buffer.alloc(16), ZERO8 = Buffer.alloc(8), EMPTY = Buffer.alloc(0);
// 3 good spans, one with an empty trace_id, one with an all-zero span_id
const spans = (m) => [
  { name: `${m}-good-0`, tid: TID, sid: SID },
  { name: `${m}-bad-empty-trace`, tid: EMPTY, sid: SID },
  { name: `${m}-good-1`, tid: TID, sid: SID },
  { name: `${m}-bad-zero-span`, tid: TID, sid: ZERO8 },
  { name: `${m}-good-2`, tid: TID, sid: SID },
];
const allBad = (m) => [{ name: `${m}-bad-0`, tid: ZERO16, sid: SID }, { name: `${m}-bad-1`, tid: TID, sid: EMPTY }];
const pbRequest = (list) => pbField(1, pbField(2, Buffer.concat(list.map((x) =>
  pbField(2, Buffer.concat([x.tid.length ? pbField(1, x.tid) : EMPTY, x.sid.length ? pbField(2, x.sid) : EMPTY, pbField(5, x.name)]))))));
const jsonRequest = (list) => JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: list.map((x) => ({
  traceId: x.tid.toString('hex'), spanId: x.sid.toString('hex'), name: x.name, startTimeUnixNano: String(nowNs()) })) }] }] });

// an Export*ServiceResponse in protobuf: {rejected, message} of partial_success
function readVarint(b, o) {
  let v = 0n, shift = 0n;
  for (;;) { const c = b[o++]; v |= BigInt(c & 0x7f) << shift; shift += 7n; if (!(c & 0x80)) return [v, o]; }
}
function fields(b) {
  const out = {};
  for (let o = 0; o < b.length;) {
    let tag, v;
    [tag, o] = readVarint(b, o);
    if ((tag & 7n) === 0n) { [v, o] = readVarint(b, o); out[Number(tag >> 3n)] = v; }
    else { let n; [n, o] = readVarint(b, o); out[Number(tag >> 3n)] = b.subarray(o, o + Number(n)); o += Number(n); }
  }
  return out;
}
function partial(b) {
  const ps = fields(b)[1];
  if (!ps) return { empty: b.length === 0 };
  const f = fields(ps);
  return { rejected: Number(f[1] || 0n), message: f[2] ? f[2].toString() : undefined };
}
const names = (tenant, like) => JSON.parse(curl(`${s.control}/api/search`, ['-H', `X-Scope-OrgID: ${tenant}`, '--data-binary',
  JSON.stringify({ query: `SELECT name FROM spans WHERE name LIKE '${like}%' ORDER BY name` })]).text).result.rows.map((r) => r.name);
const good = (m) => [`${m}-good-0`, `${m}-good-1`, `${m}-good-2`];
const MESSAGE = /^2 spans rejected; the first: span 1: its trace_id is empty \(an empty or all-zero trace_id or span_id is invalid\)$/;

// ---- OTLP/gRPC ----
const c = await connect(gport);
c.on('error', () => {});
const mg = `pg${run}`;
let r = await call(c, TRACES, grpcFrame(pbRequest(spans(mg))), { 'x-scope-orgid': 'ps-grpc' });
is(r.status, 0, 'gRPC: 3 good + 2 invalid spans: grpc-status 0');
let p = partial(r.data.subarray(5));
is(p.rejected, 2, 'gRPC: partial_success.rejected_spans 2');
like(p.message, MESSAGE, 'gRPC: partial_success.error_message names the first');
is(r.data.readUInt32BE(1), r.data.length - 5, 'gRPC: one length-prefixed response message');
is(names('ps-grpc', mg), good(mg), 'gRPC: exactly the 3 good spans are stored');
r = await call(c, TRACES, grpcFrame(pbRequest([{ name: `${mg}-fine`, tid: TID, sid: SID }])), { 'x-scope-orgid': 'ps-grpc' });
is([r.status, r.data.length], [0, 5], 'gRPC: a request without invalid spans: an empty response (no partial_success)');

// ---- OTLP/HTTP protobuf ----
const mp = `pp${run}`;
const postBody = (ctype, body, tenant) => {
  const f = path.join(s.dir, `body-${Math.random().toString(36).slice(2)}`);
  fs.writeFileSync(f, body);
  return curl(`${s.otlp}/v1/traces`, ['-H', `Content-Type: ${ctype}`, '-H', `X-Scope-OrgID: ${tenant}`, '--data-binary', `@${f}`]);
};
r = postBody('application/x-protobuf', pbRequest(spans(mp)), 'ps-pb');
is(r.code, 200, 'HTTP protobuf: 200');
is(r.headers['content-type'], 'application/x-protobuf', 'HTTP protobuf: a protobuf answer');
p = partial(r.body);
is(p.rejected, 2, 'HTTP protobuf: partial_success.rejected_spans 2');
like(p.message, MESSAGE, 'HTTP protobuf: partial_success.error_message');
is(names('ps-pb', mp), good(mp), 'HTTP protobuf: exactly the 3 good spans are stored');

// ---- OTLP/HTTP JSON ----
const mj = `pj${run}`;
r = postBody('application/json', jsonRequest(spans(mj)), 'ps-json');
is(r.code, 200, 'HTTP JSON: 200');
let j = JSON.parse(r.text);
is(Object.keys(j), ['partialSuccess'], 'HTTP JSON: {"partialSuccess": ...}');
is(j.partialSuccess.rejectedSpans, '2', 'HTTP JSON: rejectedSpans "2" (an int64: a string in proto3 JSON)');
like(j.partialSuccess.errorMessage, MESSAGE, 'HTTP JSON: errorMessage');
is(names('ps-json', mj), good(mj), 'HTTP JSON: exactly the 3 good spans are stored');
r = postBody('application/json', jsonRequest([{ name: `${mj}-fine`, tid: TID, sid: SID }]), 'ps-json');
is([r.code, r.text], [200, '{}'], 'HTTP JSON: without invalid spans, {}');

// ---- every span invalid ----
const ma = `pa${run}`;
const walBefore = walFiles(s.data).length;
r = postBody('application/json', jsonRequest(allBad(ma)), 'ps-all');
j = JSON.parse(r.text);
is([r.code, j.partialSuccess && j.partialSuccess.rejectedSpans], [200, '2'], 'all invalid, HTTP: 200 with rejectedSpans "2"');
like(j.partialSuccess && j.partialSuccess.errorMessage, /span 0: its trace_id is all zero bytes/, 'all invalid, HTTP: the reason');
r = await call(c, TRACES, grpcFrame(pbRequest(allBad(ma))), { 'x-scope-orgid': 'ps-all' });
p = partial(r.data.subarray(5));
is([r.status, p.rejected], [0, 2], 'all invalid, gRPC: OK with rejected_spans 2');
r = await call(c, TRACES, grpcFrame(Buffer.alloc(0)), { 'x-scope-orgid': 'ps-all' });
is([r.status, r.data.length], [0, 5], 'an empty request, gRPC: OK, an empty response');
is(walFiles(s.data).length, walBefore, 'no WAL file for any of them');
is(sql(db, "select count(*) n from batch_tracker where client_id = 'ps-all'")[0].n, 0, 'no batch for any of them');
is(names('ps-all', ma), [], 'nothing stored');
c.close();

const m = curl(`${s.control}/metrics`).text;
like(m, /openwit_ingest_rejected_records_total\{tenant="ps-grpc",signal="traces"\} 2\n/, '/metrics counts the rejected spans (gRPC tenant)');
like(m, /openwit_ingest_rejected_records_total\{tenant="ps-all",signal="traces"\} 4\n/, '/metrics counts the rejected spans (all-invalid tenant)');
like(m, /openwit_ingest_records_total\{tenant="ps-json",signal="traces"\} 4\n/, '/metrics counts the taken spans');

// ---- SIGKILL before any flush: the WAL replays, skipping the same spans ----
const rows = sql(db, "select client_id, sum(record_count) n from batch_tracker where client_id like 'ps-%' group by 1 order by 1");
is(rows, [{ client_id: 'ps-grpc', n: 4 }, { client_id: 'ps-json', n: 4 }, { client_id: 'ps-pb', n: 3 }], 'tracker record_count: the spans taken');
ok(walFiles(s.data).length >= 3, 'the batches are in the WAL (no flush yet)');
await s.stop('SIGKILL');
s.forget();
const s2 = await start({ dir: s.dir, ports: s.ports, tag: 'partial', config: { 'ingestion.grpc.port': await freePort() } });
like(s2.log(), /wal: recovery: [1-9]\d* complete batches/, 'restart: the WAL batches are replayed');
const names2 = (tenant, like) => JSON.parse(curl(`${s2.control}/api/search`, ['-H', `X-Scope-OrgID: ${tenant}`, '--data-binary',
  JSON.stringify({ query: `SELECT name FROM spans WHERE name LIKE '${like}%' ORDER BY name` })]).text).result.rows.map((x) => x.name);
is([names2('ps-grpc', mg), names2('ps-pb', mp), names2('ps-json', mj), names2('ps-all', ma)],
  [[`${mg}-fine`, ...good(mg)], good(mp), [`${mj}-fine`, ...good(mj)], []],
  'after SIGKILL and replay: exactly the 3 good spans of each request (and the fine ones)');
is((await s2.stop()).code, 0, 'SIGTERM: clean exit (the buffers are flushed to Parquet)');
const rowsDuck = await duck(`select name from ${parts(s.data, 'traces')} where name like 'p%${run}-%' order by name`);
is(rowsDuck.map((x) => x.name), [`${mg}-fine`, ...good(mg), `${mj}-fine`, ...good(mj), ...good(mp)],
  'DuckDB reads exactly the 3 good spans of each (and the fine ones) from the Parquet parts');
done();
})();

#!/usr/bin/env node
// OTLP/HTTP with curl: good requests in every encoding, and every bad one.
const zlib = require('node:zlib');
const fs = require('node:fs');
const path = require('node:path');
(async () => {
const { start, curl, sql, ok, is, like, done, pbTraces, pbLogs, jsonTraces, jsonLogs, walFiles, walRecords, tmpdir, nowNs } = await import('./lib/harness.mjs');

const s = await start({ tag: 'http', config: { 'ingestion.http.max_payload_size_mb': 1 } });
const db = path.join(s.data, 'openwit.db');
const tmp = tmpdir('body');
const file = (name, buf) => { const f = path.join(tmp, name); fs.writeFileSync(f, buf); return f; };
const post = (url, ctype, body, extra = []) =>
  curl(url, ['-X', 'POST', '-H', `Content-Type: ${ctype}`, '--data-binary', `@${file('b' + Math.random(), body)}`, ...extra]);

let r = post(`${s.otlp}/v1/traces`, 'application/json', jsonTraces('json-span'));
is(r.code, 200, 'JSON traces: 200');
is(r.text, '{}', 'JSON traces: the response is an empty ExportTraceServiceResponse in JSON');
is(r.headers['content-type'], 'application/json', 'JSON traces: answered in JSON');

r = post(`${s.otlp}/v1/traces`, 'application/x-protobuf', pbTraces('pb-span'));
is(r.code, 200, 'protobuf traces: 200');
is(r.body.length, 0, 'protobuf traces: the response is an empty ExportTraceServiceResponse');
is(r.headers['content-type'], 'application/x-protobuf', 'protobuf traces: answered in protobuf');

r = post(`${s.legacy}/v1/logs`, 'application/x-protobuf', zlib.gzipSync(pbLogs('gzip-pb-log')), ['-H', 'Content-Encoding: gzip']);
is(r.code, 200, 'gzip protobuf logs on the second port (9087 by default): 200');
r = post(`${s.otlp}/v1/logs`, 'application/json; charset=utf-8', zlib.gzipSync(jsonLogs('gzip-json-log')), ['-H', 'Content-Encoding: gzip']);
is(r.code, 200, 'gzip JSON logs with a charset parameter: 200');

r = post(`${s.otlp}/v1/metrics`, 'application/json', JSON.stringify({ resourceMetrics: [{ scopeMetrics: [{ metrics: [
  { name: 'g', gauge: { dataPoints: [{ asDouble: 'NaN', timeUnixNano: String(nowNs()) }, { asInt: '-9223372036854775808' }] } },
  { name: 'h', histogram: { aggregationTemporality: 2, dataPoints: [{ count: '3', sum: 1.5, bucketCounts: [1, '2'], explicitBounds: [1] }] } },
  { name: 's', summary: { dataPoints: [{ count: 1, quantileValues: [{ quantile: 0.5, value: 'Infinity' }] }] } }] }] }] }));
is(r.code, 200, 'JSON metrics with NaN, Infinity, int64 minimum, numbers as strings: 200');

r = post(`${s.otlp}/v1/traces`, 'application/json', jsonTraces('tenant-span'), ['-H', 'X-Scope-OrgID: team-a.prod_1']);
is(r.code, 200, 'a valid X-Scope-OrgID tenant: 200');

// what was stored
const rows = sql(db, 'select client_id, signal, source, message_count, record_count, wal_pip from batch_tracker order by created_at');
const sum = (f) => rows.filter(f).reduce((a, x) => a + x.message_count, 0);
is(sum((x) => x.signal === 'traces' && x.client_id === 'default'), 2, 'tracker: two traces requests for tenant default');
is(sum((x) => x.signal === 'logs'), 2, 'tracker: two logs requests');
is(sum((x) => x.signal === 'metrics'), 1, 'tracker: one metrics request');
is(rows.filter((x) => x.signal === 'metrics').map((x) => x.record_count), [4], 'tracker: the metrics request counts its 4 data points');
is(sum((x) => x.client_id === 'team-a.prod_1'), 1, 'tracker: the tenant is client_id');
ok(rows.every((x) => x.wal_pip === 1 && x.source === 'http'), 'tracker: every batch has wal_pip = 1 and source http');
const allWal = Buffer.concat(walFiles(s.data).flatMap(walRecords));
ok(allWal.includes('pb-span') && allWal.includes('json-span') && allWal.includes('gzip-json-log'), 'WAL records hold the requests (JSON converted to protobuf)');
ok(fs.existsSync(path.join(s.data, 'wal', 'team-a.prod_1')), 'WAL files of a tenant live under data/wal/{tenant}/');

// errors
const nStored = sql(db, 'select count(*) n from batch_tracker')[0].n;
r = post(`${s.otlp}/v1/traces`, 'application/json', '{"resourceSpans": [');
is(r.code, 400, 'malformed JSON: 400');
is(r.json = JSON.parse(r.text).code, 3, 'malformed JSON: google.rpc.Status code INVALID_ARGUMENT in JSON');
r = post(`${s.otlp}/v1/traces`, 'application/x-protobuf', Buffer.from([0x0a, 0xff, 0xff, 0x01]));
is(r.code, 400, 'malformed protobuf: 400');
is(r.headers['content-type'], 'application/x-protobuf', 'malformed protobuf: Status answered in protobuf');
ok(r.body.length > 2 && r.body[0] === 0x08 && r.body[1] === 3 && r.body.includes('malformed protobuf'), 'malformed protobuf: body is google.rpc.Status{code: 3, message}');
r = post(`${s.otlp}/v1/traces`, 'application/json', JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'abcd' }] }] }] }));
is(r.code, 400, 'a trace id of the wrong length: 400');
r = post(`${s.otlp}/v1/logs`, 'application/json', JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ severityNumber: 'x' }] }] }] }));
is(r.code, 400, 'a string where an enum is expected: 400');
like(r.text, /severity_number/, 'the error names the field');
r = post(`${s.otlp}/v1/logs`, 'application/json', '{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"intValue":9007199254740993}}]}]}]}');
is(r.code, 400, 'a JSON number past 2^53 (which a double cannot hold exactly): 400');
like(r.text, /must be sent as JSON strings/, 'the error says to send it as a string');
r = post(`${s.otlp}/v1/traces`, 'text/plain', 'hello');
is(r.code, 415, 'text/plain: 415');
r = curl(`${s.otlp}/v1/traces`, ['-X', 'POST', '--data-binary', 'x', '-H', 'Content-Type:']);
is(r.code, 415, 'no content type: 415');
r = post(`${s.otlp}/v1/traces`, 'application/json', jsonTraces('x'), ['-H', 'Content-Encoding: br']);
is(r.code, 415, 'Content-Encoding br: 415');
r = post(`${s.otlp}/v1/traces`, 'application/json', 'not gzip', ['-H', 'Content-Encoding: gzip']);
is(r.code, 400, 'a body that is not gzip with Content-Encoding gzip: 400');
r = curl(`${s.otlp}/v1/traces`);
is(r.code, 405, 'GET: 405');
is(r.headers.allow, 'POST', '405 names the allowed method');
r = post(`${s.otlp}/v1/spans`, 'application/json', '{}');
is(r.code, 404, 'unknown path: 404');
for (const t of ['..', '.', 'a/b', 'x'.repeat(65), 'bad tenant']) {
  r = post(`${s.otlp}/v1/traces`, 'application/json', jsonTraces('x'), ['-H', `X-Scope-OrgID: ${t}`]);
  is(r.code, 400, `tenant ${JSON.stringify(t.length > 10 ? t.slice(0, 10) + '...' : t)}: 400`);
}
const big = Buffer.alloc((1 << 20) + 10, 0x20);
r = post(`${s.otlp}/v1/traces`, 'application/json', big);
is(r.code, 413, 'a body over max_payload_size_mb: 413');
r = post(`${s.otlp}/v1/traces`, 'application/json', zlib.gzipSync(Buffer.concat([Buffer.from('{"resourceSpans":[]'), Buffer.alloc(3 << 20, 0x20), Buffer.from('}')])), ['-H', 'Content-Encoding: gzip']);
is(r.code, 413, 'a gzip body that inflates past max_payload_size_mb: 413');
is(sql(db, 'select count(*) n from batch_tracker')[0].n, nStored, 'no rejected request was stored');

const m = curl(`${s.control}/metrics`).text;
like(m, /openwit_rejected_requests_total\{reason="bad_request"\} [5-9]/, '/metrics counts malformed requests');
like(m, /openwit_rejected_requests_total\{reason="invalid_tenant"\} 5/, '/metrics counts invalid tenants');
// libevent answers a body over the limit itself while reading it; only the
// inflated gzip body reaches our handler and is counted
like(m, /openwit_rejected_requests_total\{reason="too_large"\} 1/, '/metrics counts bodies too large');
like(m, /openwit_ingest_requests_total\{tenant="team-a.prod_1",signal="traces"\} 1/, '/metrics counts requests by tenant and signal');

// a kept-alive connection: an answer of more than 16 KiB leaves as several
// writes, which Nagle held for the client's delayed ACK (40 ms, at least)
// on every request after a connection's first (TCP_NODELAY, server.c)
const http = require('node:http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const big40k = () => new Promise((resolve, reject) => {
  const t = performance.now();
  const req = http.request(`${s.control}/api/search`, { method: 'POST', agent, headers: { 'Content-Type': 'application/json' } }, (res) => {
    const c = [];
    res.on('data', (x) => c.push(x));
    res.on('end', () => resolve({ code: res.statusCode, bytes: Buffer.concat(c).length, ms: performance.now() - t }));
  });
  req.on('error', reject);
  req.end(JSON.stringify({ query: "SELECT printf('%.40000c', 'x') AS x" }));
});
const kept = [];
for (let i = 0; i < 12; i++) kept.push(await big40k());
agent.destroy();
ok(kept.every((k) => k.code === 200 && k.bytes > 40000), 'a kept-alive connection: 12 answers of 40 KB');
const fastest = Math.min(...kept.slice(1).map((k) => k.ms));
ok(fastest < 40, `a kept-alive connection: the fastest of its 2nd to 12th answers took ${fastest.toFixed(1)} ms, under the 40 ms of a delayed ACK`);

// good input still works after bad input
r = post(`${s.otlp}/v1/traces`, 'application/json', jsonTraces('after-errors'));
is(r.code, 200, 'a good request after the bad ones: 200');
done();
})();

#!/usr/bin/env node
// Tenant limits (issue 18): limits.max_tenants - 10k tenants attempted,
// only the cap taken, the others refused (403, gRPC RESOURCE_EXHAUSTED)
// without a directory, a buffer or a catalog row; the tenants taken keep
// working, also after a restart, where the tenants on disk count. And
// per-tenant ingest rates (limits.tenant_records_per_second,
// limits.tenant_bytes_per_second, limits.tenant_overrides): 429 with
// Retry-After, RESOURCE_EXHAUSTED over gRPC, other tenants unaffected.
const fs = require('node:fs');
const path = require('node:path');
const http = require('node:http');
(async () => {
const { start, freePort, curl, sql, ok, is, like, note, done, sleep, pbLogs, nowNs } = await import('./lib/harness.mjs');
const { LOGS, grpcFrame, connect, call } = await import('./lib/h2.mjs');

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
const postLogs = (port, tenant, body = pbLogs('x')) => new Promise((resolve, reject) => {
  const req = http.request({ host: '127.0.0.1', port, path: '/v1/logs', method: 'POST', agent,
    headers: { 'Content-Type': 'application/x-protobuf', 'Content-Length': body.length, 'X-Scope-OrgID': tenant } }, (res) => {
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => resolve({ code: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString('latin1') }));
  });
  req.on('error', reject);
  req.end(body);
});
const rss = (pid) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
const dirs = (d) => (fs.existsSync(d) ? fs.readdirSync(d).length : 0);
const metric = (srv, re) => { const m = re.exec(curl(`${srv.control}/metrics`).text); return m ? Number(m[1]) : undefined; };

// ---- the tenant cap ----
const CAP = 100, TRIES = 10000;
const grpcPort = await freePort();
// (under ASan, a small quarantine: freed memory is not held for RSS to count)
const s = await start({ tag: 'tenants-cap', config: { 'limits.max_tenants': CAP, 'storage.buffer.flush_interval_ms': 200,
  'ingestion.grpc.port': grpcPort },
  env: { ASAN_OPTIONS: `${process.env.ASAN_OPTIONS || ''}:quarantine_size_mb=4:thread_local_quarantine_size_kb=64` } });
const codes = {};
let rssTaken = 0, refusal;
for (let i = 0; i < TRIES; i += 8) {
  const batch = [];
  for (let k = i; k < Math.min(i + 8, TRIES); k++) batch.push(postLogs(s.ports.otlp, `t${k}`));
  for (const r of await Promise.all(batch)) {
    codes[r.code] = (codes[r.code] || 0) + 1;
    if (r.code === 403 && !refusal) refusal = r;
  }
  if (i + 8 === CAP + 4) rssTaken = rss(s.proc.pid);
}
is(codes, { 200: CAP, 403: TRIES - CAP }, `${TRIES} tenants tried, ${CAP} (limits.max_tenants) taken, every other one refused with 403`);
like(refusal && refusal.text, /tenant limit reached \(limits\.max_tenants\)/, 'the refusal says why');
const rssAfter = rss(s.proc.pid);
note(`RSS with ${CAP} tenants: ${(rssTaken / 1048576).toFixed(1)} MB; after ${TRIES - CAP} more refused: ${(rssAfter / 1048576).toFixed(1)} MB`);
ok(rssAfter - rssTaken < 16 * 1048576, 'the refused tenants took no memory to speak of (under 16 MB more)');
const db = path.join(s.data, 'openwit.db');
for (let k = 0; k < 200 && sql(db, 'select count(distinct tenant) n from parts')[0].n < CAP; k++) await sleep(50);
is(sql(db, 'select count(distinct tenant) n from parts')[0].n, CAP, `the catalog has parts of ${CAP} tenants`);
is([dirs(path.join(s.data, 'wal')) <= CAP, dirs(path.join(s.data, 'parquet'))], [true, CAP], `at most ${CAP} tenant directories under wal/ and parquet/`);
const taken = await Promise.all([0, 1, 50, 99].map((k) => postLogs(s.ports.otlp, `t${k}`)));
is(taken.map((r) => r.code), [200, 200, 200, 200], 'the tenants taken keep working');
const c = await connect(grpcPort);
let g = await call(c, LOGS, grpcFrame(pbLogs('grpc')), { 'x-scope-orgid': 'one-too-many' });
is([g.status, g.message], [8, 'tenant limit reached (limits.max_tenants): no new tenant is taken'], 'gRPC: a new tenant gets RESOURCE_EXHAUSTED');
g = await call(c, LOGS, grpcFrame(pbLogs('grpc')), { 'x-scope-orgid': 't7' });
is(g.status, 0, 'gRPC: a tenant taken is answered OK');
c.close();
is([metric(s, /^openwit_tenants (\d+)$/m), metric(s, /^openwit_rejected_requests_total\{reason="tenant_limit"\} (\d+)$/m)],
  [CAP, TRIES - CAP + 1], '/metrics: the tenants taken and the refusals');
await s.stop();

// the tenants on disk count, and keep working under a lower cap
const s2 = await start({ tag: 'tenants-cap-again', dir: s.dir, config: { 'limits.max_tenants': 40 } });
like(s2.log(), /100 tenants have data, more than limits.max_tenants \(40\)/, 'a restart under a lower cap warns');
const again = await Promise.all([postLogs(s2.ports.otlp, 't3'), postLogs(s2.ports.otlp, 't98'), postLogs(s2.ports.otlp, 'newcomer')]);
is(again.map((r) => r.code), [200, 200, 403], 'after a restart the tenants on disk still work, a new one is refused');
await s2.stop();

// ---- rates ----
const grpcRate = await freePort();
const r = await start({ tag: 'tenants-rate', config: { 'limits.tenant_records_per_second': 10, 'ingestion.grpc.port': grpcRate,
  'limits.tenant_overrides': '["fast 100000 0", "bytey 0 2000"]' } });
const logs = (n) => Buffer.concat(Array.from({ length: n }, () => pbLogs('r').subarray(0)));
// 30 records in one request: a ResourceLogs each
let x = await postLogs(r.ports.otlp, 'slow', logs(30));
is(x.code, 200, 'a request of 30 records while the bucket holds 10: taken (it overdraws)');
x = await postLogs(r.ports.otlp, 'slow');
is(x.code, 429, 'the next one: 429');
const wait = Number(x.headers['retry-after']);
ok(wait >= 2 && wait <= 4, `with Retry-After ${wait} (20 records owed at 10/s)`, x.headers);
like(x.text, /tenant slow is over its ingest rate \(limits\.tenant_records_per_second 10, limits\.tenant_bytes_per_second 0\); retry in \d s/, 'the message names the limits');
const rc = await connect(grpcRate);
g = await call(rc, LOGS, grpcFrame(pbLogs('grpc')), { 'x-scope-orgid': 'slow' });
is(g.status, 8, 'gRPC: RESOURCE_EXHAUSTED');
// google.rpc.Status {code 8, message, details [Any {RetryInfo {retry_delay {seconds}}}]}
const d = g.details || Buffer.alloc(0);
const type = 'type.googleapis.com/google.rpc.RetryInfo';
const at = d.indexOf(type);
ok(d[0] === 0x08 && d[1] === 8 && at > 0 && d[at + type.length] === 0x12 && d[at + type.length + 2] === 0x0a &&
  d[at + type.length + 4] === 0x08 && d[at + type.length + 5] >= 1 && d[at + type.length + 5] <= 4,
  `with a RetryInfo in grpc-status-details-bin, which makes exporters retry (${d[at + type.length + 5]} s)`, d.toString('hex'));
rc.close();
is((await postLogs(r.ports.otlp, 'other')).code, 200, 'another tenant is not held back');
const fast = [];
for (let k = 0; k < 3; k++) fast.push((await postLogs(r.ports.otlp, 'fast', logs(30))).code);
is(fast, [200, 200, 200], 'a tenant with its own rate (limits.tenant_overrides) goes on');
const big = pbLogs('b'.repeat(3000));
is([(await postLogs(r.ports.otlp, 'bytey', big)).code, (await postLogs(r.ports.otlp, 'bytey', big)).code], [200, 429],
  'bytes/s: a body over the bucket is taken, the next refused');
await sleep(wait * 1000);
is((await postLogs(r.ports.otlp, 'slow')).code, 200, 'after Retry-After, the tenant is taken again');
is(metric(r, /^openwit_rejected_requests_total\{reason="rate_limited"\} (\d+)$/m), 3, '/metrics counts the rate refusals');
agent.destroy();
done();
})();

#!/usr/bin/env node
// The monitoring API on control.port: /health, /ready, the batch monitor
// (status, one batch, batch lists, alerts), /metrics in the Prometheus text
// format, and tracker pruning at start.
const fs = require('node:fs');
const path = require('node:path');
const { spawn, execFileSync } = require('node:child_process');
(async () => {
const { start, curl, curlJSON, sql, sleep, ok, is, like, note, done, tmpdir, pbTraces, pbLogs, jsonTraces, walFiles, walRecords, nowNs } =
  await import('./lib/harness.mjs');

// A write from the sqlite3 shell while the server has the db open (WAL mode).
const sqlw = (db, q) => execFileSync('sqlite3', ['-cmd', '.timeout 5000', db, q]).toString();
const tmp = tmpdir('monbody');
let nfile = 0;
const bodyFile = (buf) => { const f = path.join(tmp, `b${nfile++}`); fs.writeFileSync(f, buf); return f; };
const postArgs = (ctype, body, tenant) => ['-X', 'POST', '-H', `Content-Type: ${ctype}`, '--data-binary', `@${bodyFile(body)}`,
  ...(tenant ? ['-H', `X-Scope-OrgID: ${tenant}`] : [])];
// curl in the background, for requests that share a batch
const curlAsync = (url, args) => new Promise((resolve) => {
  const p = spawn('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '30', ...args, url]);
  let out = '';
  p.stdout.on('data', (d) => { out += d; });
  p.on('close', () => resolve(Number(out))); // 'close': stdout is complete; 'exit' may come first
});

const s = await start({ tag: 'monitor', config: { 'ingestion.batch_tracker.stuck_after_minutes': 1 } });
const db = path.join(s.data, 'openwit.db');
const api = (p) => curlJSON(`${s.control}${p}`);

// ---- health and readiness ----
let r = api('/health');
is(r.code, 200, 'GET /health: 200');
is(r.json, { status: 'ok' }, 'GET /health: {"status":"ok"}');
is(r.headers['content-type'], 'application/json', 'GET /health: JSON');
r = api('/ready');
is(r.code, 200, 'GET /ready: 200');
is(r.json, { status: 'ready' }, 'GET /ready: {"status":"ready"}');
r = curl(`${s.control}/health`, ['-I']);
is(r.code, 200, 'HEAD /health: 200');
// HEAD: GET's head with its Content-Length, and no body (a body after it
// would be read as the next response on a kept-alive connection)
{
  const net = require('node:net');
  const rawHead = (p) => new Promise((resolve) => {
    const c = net.connect(s.ports.control, '127.0.0.1', () => c.write(`HEAD ${p} HTTP/1.1\r\nHost: openwit\r\n\r\n`));
    let d = '';
    c.on('data', (x) => { d += x; });
    setTimeout(() => { c.destroy(); resolve(d); }, 300);
  });
  for (const p of ['/health', '/ready', '/metrics', '/nope']) {
    const head = curl(`${s.control}${p}`, ['-I']);
    const got = curl(`${s.control}${p}`);
    if (p !== '/metrics') is(head.headers['content-length'], String(got.body.length), `curl -I ${p}: Content-Length as GET's body`);
    const raw = await rawHead(p);
    ok(/^HTTP\/1\.1 (200|404) /.test(raw) && raw.endsWith('\r\n\r\n'), `HEAD ${p}: the head alone, no body after it`, raw.slice(-80));
  }
}
r = curlJSON(`${s.control}/health`, ['-X', 'POST', '-d', 'x']);
is(r.code, 405, 'POST /health: 405');
is(r.headers.allow, 'GET', 'POST /health: Allow: GET');
ok(r.json && typeof r.json.error === 'string', 'POST /health: a JSON error', r.text);
r = curlJSON(`${s.control}/api/batch-monitor/status`, ['-X', 'DELETE']);
is(r.code, 405, 'DELETE /api/batch-monitor/status: 405');
for (const p of ['/nope', '/api/batch-monitor', '/api/batch-monitor/batches/', '/api/batch-monitor/status/x', `/api/batch-monitor/batches/${'a'.repeat(37)}`]) {
  r = api(p);
  is(r.code, 404, `GET ${p.length > 40 ? p.slice(0, 40) + '...' : p}: 404`);
  ok(r.json && r.json.error === 'not found' && r.headers['content-type'] === 'application/json', `GET ${p.slice(0, 40)}: JSON error`, r.text);
}

// ---- an empty tracker ----
r = api('/api/batch-monitor/status');
is(r.code, 200, 'status before any data: 200');
is(r.json && r.json.batches, { total: 0, pending: 0, completed: 0, failed: 0 }, 'status before any data: no batches');
is(r.json && r.json.oldest_pending_created_at, null, 'status before any data: oldest_pending_created_at null');
is(api('/api/batch-monitor/batches').json, { batches: [], count: 0 }, 'batches before any data: none');

// ---- traffic: two tenants, every signal, some of it concurrent ----
const sent = {}; // tenant -> signal -> {requests, records}
const tally = (tenant, signal, records) => {
  const t = (sent[tenant] ||= { traces: { requests: 0, records: 0 }, logs: { requests: 0, records: 0 }, metrics: { requests: 0, records: 0 } });
  t[signal].requests++;
  t[signal].records += records;
};
// span ids 0000000000000100, ...01, ...: an all-zero one would make its span
// invalid (rejected, a partial success)
const spansJSON = (n, tag) => JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: Array.from({ length: n }, (_, i) => ({
  traceId: '5b8efff798038103d269b633813fc60c', spanId: `00000000000001${String(i).padStart(2, '0')}`, name: `${tag}-${i}`,
  startTimeUnixNano: String(nowNs()), endTimeUnixNano: String(nowNs() + 1000000000n) })) }] }] });
const metricsJSON = (n) => JSON.stringify({ resourceMetrics: [{ scopeMetrics: [{ metrics: [
  { name: 'mon.gauge', gauge: { dataPoints: Array.from({ length: n }, (_, i) => ({ asDouble: i, timeUnixNano: String(nowNs()) })) } }] }] }] });
const send = (tenant, signal, ctype, body, records) => {
  const res = curl(`${s.otlp}/v1/${signal}`, postArgs(ctype, body, tenant));
  if (res.code === 200) tally(tenant || 'default', signal, records);
  return res.code;
};
const codes = [
  send('mon-a', 'traces', 'application/json', jsonTraces('a-json-span'), 1),
  send('mon-a', 'traces', 'application/x-protobuf', pbTraces('a-pb-span'), 1),
  send('mon-a', 'logs', 'application/json', JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'l1' } }, { body: { stringValue: 'l2' } }] }] }] }), 2),
  send('mon-a', 'metrics', 'application/json', metricsJSON(3), 3),
  send('mon-b', 'traces', 'application/json', spansJSON(5, 'b-span'), 5),
  send('mon-b', 'logs', 'application/x-protobuf', pbLogs('b-log-1'), 1),
  send('mon-b', 'logs', 'application/x-protobuf', pbLogs('b-log-2'), 1),
  send('mon-b', 'metrics', 'application/json', metricsJSON(2), 2),
];
// six at once for one tenant and signal: they may share batches
const par = await Promise.all(Array.from({ length: 6 }, (_, i) =>
  curlAsync(`${s.otlp}/v1/traces`, postArgs('application/json', spansJSON(2, `par-${i}`), 'mon-b'))));
for (const c of par) if (c === 200) tally('mon-b', 'traces', 2);
is([...codes, ...par], Array(14).fill(200), 'all 14 good requests acknowledged with 200');
const acked = 14;
// rejected requests, by reason
const rejects = {
  invalid_tenant: [send('..', 'traces', 'application/json', jsonTraces('x')), send('x'.repeat(65), 'logs', 'application/json', '{}')],
  bad_request: [send('mon-a', 'traces', 'application/json', '{"resourceSpans": [')],
  unsupported_media_type: [send('mon-a', 'traces', 'text/plain', 'hi')],
  method: [curl(`${s.otlp}/v1/traces`).code],
  not_found: [curl(`${s.otlp}/v1/nope`, postArgs('application/json', '{}')).code],
};
is(Object.values(rejects).flat(), [400, 400, 400, 415, 405, 404], 'the bad requests are refused');

// the tracker catches up a few ms after the acks
let rows;
for (let i = 0; i < 100; i++) {
  rows = sql(db, 'select * from batch_tracker order by created_at');
  if (rows.reduce((a, x) => a + x.message_count, 0) >= acked) break;
  await sleep(20);
}
is(rows.reduce((a, x) => a + x.message_count, 0), acked, 'tracker: sum(message_count) == acknowledged requests');
note(`${rows.length} batches for ${acked} requests`);
const bySignal = (sig) => rows.filter((x) => x.signal === sig);
const sumOf = (rs, f) => rs.reduce((a, x) => a + x[f], 0);
const sentSum = (sig, f) => Object.values(sent).reduce((a, t) => a + t[sig][f], 0);

// ---- /api/batch-monitor/status ----
r = api('/api/batch-monitor/status');
is(r.code, 200, 'status: 200');
const st = r.json || {};
note(JSON.stringify(st));
is(st.batches, { total: rows.length, pending: rows.length, completed: 0, failed: 0 },
  'status: batches.total == tracker rows, all pending, none completed or failed');
is(st.stages, { kafka: 0, wal: rows.length, ingestion: 0, storage: 0, index: 0, janitor: 0 }, 'status: stages.wal == total, no later stage');
for (const sig of ['traces', 'logs', 'metrics']) {
  const x = (st.signals || {})[sig];
  is(x, { batches: bySignal(sig).length, messages: sentSum(sig, 'requests'), records: sentSum(sig, 'records'), bytes: sumOf(bySignal(sig), 'batch_size') },
    `status: signals.${sig} = {batches, messages, records, bytes} of what was sent`);
}
is(st.oldest_pending_created_at, rows[0].created_at, 'status: oldest_pending_created_at is the oldest row');
is(st.alerts, 0, 'status: no alerts');
const pipe = st.pipeline || {};
is(pipe.inflight_bytes, 0, 'status: pipeline.inflight_bytes 0 after all acks');
ok(pipe.inflight_bytes_max > 0, 'status: pipeline.inflight_bytes_max is set');
is(pipe.wal_batches_in_flight, 0, 'status: pipeline.wal_batches_in_flight 0');
is(pipe.disk_full, false, 'status: pipeline.disk_full false');
is(pipe.draining, false, 'status: pipeline.draining false');

// ---- /api/batch-monitor/batches/{id} ----
const row = rows.find((x) => x.client_id === 'mon-b' && x.signal === 'traces') || rows[0];
r = api(`/api/batch-monitor/batches/${row.batch_id}`);
is(r.code, 200, 'batch by id: 200');
const b = r.json || {};
is([b.batch_id, b.client_id, b.signal, b.source], [row.batch_id, row.client_id, row.signal, 'http'], 'batch by id: batch_id, client_id, signal, source');
is([b.message_count, b.record_count, b.batch_size, b.created_at, b.wal_completed_at],
  [row.message_count, row.record_count, row.batch_size, row.created_at, row.wal_completed_at], 'batch by id: counts, size and times as in the table');
is([b.kafka_pip, b.wal_pip, b.ingestion_pip, b.storage_pip, b.index_pip, b.janitor_pip], [false, true, false, false, false, false],
  'batch by id: the *_pip flags are booleans, only wal_pip true');
is(b.stage, 'ingestion', 'batch by id: stage is the first incomplete stage, ingestion');
is([b.error_stage, b.error_message, b.retry_count, b.topics], [null, null, 0, null], 'batch by id: no error, no retries, no topics');
like(b.created_at, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/, 'batch by id: created_at is UTC "YYYY-MM-DD HH:MM:SS.mmm"');
ok(Math.abs(Date.parse(b.created_at.replace(' ', 'T') + 'Z') - Date.now()) < 60000, 'batch by id: created_at is now (UTC)', b.created_at);
const cols = sql(db, 'pragma table_info(batch_tracker)').map((x) => x.name);
is(Object.keys(b), [...cols, 'stage'], 'batch by id: every column of batch_tracker, then stage');
r = api('/api/batch-monitor/batches/01900000-0000-7000-8000-000000000000');
is(r.code, 404, 'an unknown batch id: 404');
like(r.json && r.json.error, /no batch 01900000-0000-7000-8000-000000000000/, 'an unknown batch id: a JSON error naming it');
r = api(`/api/batch-monitor/batches/${encodeURIComponent("x' OR '1'='1")}`);
is(r.code, 404, 'a batch id with SQL in it: 404');

// ---- /api/batch-monitor/batches ----
r = api('/api/batch-monitor/batches?status=pending&min_age_minutes=0');
is(r.code, 200, 'pending batches: 200');
is(r.json && r.json.count, rows.length, 'pending, min_age_minutes=0: lists all');
is(r.json && r.json.batches.map((x) => x.batch_id), rows.map((x) => x.batch_id), 'pending: oldest first, the same ids as the table');
ok(r.json && r.json.batches.every((x) => x.stage === 'ingestion' && x.wal_pip === true), 'pending: every batch at stage ingestion with wal_pip true');
r = api('/api/batch-monitor/batches?status=pending&min_age_minutes=60');
is([r.code, r.json && r.json.count, r.json && r.json.batches], [200, 0, []], 'min_age_minutes=60: none (count 0)');
is(api('/api/batch-monitor/batches?status=completed').json.count, 0, 'status=completed: none');
is(api('/api/batch-monitor/batches?status=failed').json.count, 0, 'status=failed: none');
is(api('/api/batch-monitor/batches').json.count, rows.length, 'no status: all batches');
r = api('/api/batch-monitor/batches?limit=1');
is([r.code, r.json && r.json.count, r.json && r.json.batches.length], [200, 1, 1], 'limit=1: exactly 1');
is(r.json && r.json.batches[0].batch_id, rows[0].batch_id, 'limit=1: the oldest');
for (const q of ['status=bogus', 'status=PENDING', 'min_age_minutes=-1', 'min_age_minutes=abc', 'min_age_minutes=', 'limit=0', 'limit=100001', 'limit=1x']) {
  r = api(`/api/batch-monitor/batches?${q}`);
  is(r.code, 400, `${q}: 400`);
  ok(r.json && /status must be/.test(r.json.error), `${q}: a JSON error`, r.text);
}

// ---- /metrics ----
r = curl(`${s.control}/metrics`);
is(r.code, 200, '/metrics: 200');
like(r.headers['content-type'], /^text\/plain; version=0\.0\.4/, '/metrics: text/plain; version=0.0.4');
const samples = []; // {name, labels, value}
const types = {};
const badLines = [];
const sampleRe = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? ([-+]?(?:[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|Inf|NaN))$/;
const labelRe = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"$/;
for (const l of r.text.split('\n')) {
  if (l === '') continue;
  let m;
  if ((m = l.match(/^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/))) { types[m[1]] = m[2]; continue; }
  if (/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* \S/.test(l)) continue;
  if (!(m = l.match(sampleRe))) { badLines.push(l); continue; }
  const labels = {};
  if (m[2]) for (const p of m[2].split(',')) { const lm = p.match(labelRe); if (lm) labels[lm[1]] = lm[2]; else badLines.push(l); }
  const base = m[1].replace(/_(bucket|sum|count)$/, '');
  if (!types[m[1]] && !(types[base] === 'histogram')) badLines.push(`(no TYPE before) ${l}`);
  samples.push({ name: m[1], labels, value: Number(m[3].replace(/^\+?Inf$/, 'Infinity')) });
}
is(badLines, [], '/metrics: every line is a HELP, a TYPE or a well-formed sample after its TYPE');
ok(r.text.endsWith('\n'), '/metrics: ends with a newline');
const get = (name, labels = {}) => {
  const x = samples.filter((p) => p.name === name && Object.entries(labels).every(([k, v]) => p.labels[k] === v));
  return x.length === 1 ? x[0].value : x.length === 0 ? undefined : NaN;
};
// bytes: the payloads the WAL holds (JSON is counted converted to protobuf)
const walBytes = {};
for (const f of walFiles(s.data)) {
  const k = `${path.basename(path.dirname(f))}/${['traces', 'logs', 'metrics'][fs.readFileSync(f)[36]]}`;
  walBytes[k] = (walBytes[k] || 0) + walRecords(f).reduce((a, x) => a + x.length, 0);
}
for (const [tenant, sigs] of Object.entries(sent))
  for (const [sig, v] of Object.entries(sigs)) {
    const l = { tenant, signal: sig };
    is([get('openwit_ingest_requests_total', l), get('openwit_ingest_records_total', l), get('openwit_ingest_bytes_total', l)],
      [v.requests, v.records, walBytes[`${tenant}/${sig}`] || 0], `/metrics: requests, records, bytes of ${tenant}/${sig}`);
  }
is([...new Set(samples.filter((p) => p.name === 'openwit_ingest_requests_total').map((p) => p.labels.tenant))].sort(), ['mon-a', 'mon-b'],
  '/metrics: only the two tenants (nothing for refused ones)');
for (const sig of ['traces', 'logs', 'metrics']) {
  is(get('openwit_batches_total', { signal: sig }), bySignal(sig).length, `/metrics: openwit_batches_total{signal="${sig}"} == tracker rows`);
  is(get('openwit_batch_messages_total', { signal: sig }), sumOf(bySignal(sig), 'message_count'), `/metrics: openwit_batch_messages_total{signal="${sig}"}`);
}
for (const [k, t] of Object.entries({ openwit_ingest_requests_total: 'counter', openwit_batches_total: 'counter', openwit_inflight_bytes: 'gauge', openwit_ack_latency_seconds: 'histogram', openwit_wal_fsync_seconds: 'histogram' }))
  is(types[k], t, `/metrics: ${k} is a ${t}`);
function histogram(name) {
  const buckets = samples.filter((p) => p.name === `${name}_bucket`);
  const le = buckets.map((p) => (p.labels.le === '+Inf' ? Infinity : Number(p.labels.le)));
  return { buckets, le, count: get(`${name}_count`), sum: get(`${name}_sum`) };
}
const ack = histogram('openwit_ack_latency_seconds');
is(ack.count, acked, '/metrics: openwit_ack_latency_seconds_count == acknowledged requests');
ok(ack.le.every((x, i) => i === 0 || x > ack.le[i - 1]) && ack.le[ack.le.length - 1] === Infinity, '/metrics: ack latency le bounds increase and end with +Inf', ack.le);
ok(ack.buckets.every((p, i) => i === 0 || p.value >= ack.buckets[i - 1].value), '/metrics: ack latency buckets are cumulative (non-decreasing)');
is(ack.buckets.length && ack.buckets[ack.buckets.length - 1].value, ack.count, '/metrics: ack latency le="+Inf" bucket == _count');
ok(ack.sum > 0 && ack.sum < acked * 5, '/metrics: ack latency _sum is plausible', ack.sum);
const fsync = histogram('openwit_wal_fsync_seconds');
const nBatches = ['traces', 'logs', 'metrics'].reduce((a, sig) => a + get('openwit_batches_total', { signal: sig }), 0);
is(fsync.count, nBatches, '/metrics: openwit_wal_fsync_seconds_count == sum of openwit_batches_total');
is(fsync.buckets.length && fsync.buckets[fsync.buckets.length - 1].value, fsync.count, '/metrics: fsync le="+Inf" bucket == _count');
ok(fsync.buckets.every((p, i) => i === 0 || p.value >= fsync.buckets[i - 1].value), '/metrics: fsync buckets are cumulative');
is(get('openwit_wal_fsyncs_total'), nBatches, '/metrics: openwit_wal_fsyncs_total == batches');
is(get('openwit_wal_bytes_total'), walFiles(s.data).reduce((a, f) => a + fs.statSync(f).size, 0), '/metrics: openwit_wal_bytes_total == bytes of the WAL files');
is(get('openwit_wal_bytes_total'), sumOf(rows, 'batch_size'), '/metrics: openwit_wal_bytes_total == sum(batch_size)');
is(get('openwit_inflight_bytes'), 0, '/metrics: openwit_inflight_bytes 0');
is(get('openwit_inflight_bytes_max'), pipe.inflight_bytes_max, '/metrics: openwit_inflight_bytes_max as in status');
is([get('openwit_wal_disk_full'), get('openwit_wal_failed_batches_total'), get('openwit_wal_recovered_batches'), get('openwit_wal_quarantined_files')], [0, 0, 0, 0],
  '/metrics: no disk full, failed, recovered or quarantined batches');
const reasons = ['bad_request', 'invalid_tenant', 'too_large', 'unsupported_media_type', 'method', 'not_found', 'memory_budget', 'queue_full', 'disk_full', 'draining', 'wal_failed', 'buffer_full', 'deadline_exceeded', 'unauthenticated', 'permission_denied', 'tenant_limit', 'rate_limited'];
is(samples.filter((p) => p.name === 'openwit_rejected_requests_total').map((p) => p.labels.reason), reasons, '/metrics: rejections by every reason');
is(reasons.map((x) => get('openwit_rejected_requests_total', { reason: x })), reasons.map((x) => (rejects[x] || []).length),
  '/metrics: rejection counts match what was refused');

// ---- alerts: a batch stuck for 2 hours ----
const oldId = '01900000-0000-7000-8000-00000000a1e7';
const oldDone = '01900000-0000-7000-8000-00000000d0e0';
sqlw(db, "INSERT INTO batch_tracker(batch_id, client_id, signal, source, wal_pip, batch_size, message_count, record_count, created_at, wal_completed_at) " +
  `VALUES ('${oldId}', 'mon-old', 'logs', 'http', 1, 100, 1, 1, strftime('%Y-%m-%d %H:%M:%f', 'now', '-120 minutes'), strftime('%Y-%m-%d %H:%M:%f', 'now', '-120 minutes'))`);
sqlw(db, "INSERT INTO batch_tracker(batch_id, client_id, signal, source, kafka_pip, wal_pip, ingestion_pip, storage_pip, index_pip, janitor_pip, batch_size, message_count, created_at) " +
  `VALUES ('${oldDone}', 'mon-old', 'logs', 'http', 0, 1, 1, 1, 1, 1, 100, 1, strftime('%Y-%m-%d %H:%M:%f', 'now', '-120 minutes'))`);
const oldFailed = '01900000-0000-7000-8000-0000000fa11d';
sqlw(db, "INSERT INTO batch_tracker(batch_id, client_id, signal, source, wal_pip, batch_size, message_count, created_at, error_stage, error_message, retry_count) " +
  `VALUES ('${oldFailed}', 'mon-old', 'logs', 'http', 1, 100, 1, strftime('%Y-%m-%d %H:%M:%f', 'now', '-120 minutes'), 'storage', 'disk on fire', 3)`);
r = api('/api/batch-monitor/alerts');
is(r.code, 200, 'alerts: 200');
is((r.json.failed_batches || []).map((x) => [x.batch_id, x.error_stage, x.error_message, x.retry_count]), [[oldFailed, 'storage', 'disk on fire', 3]],
  'alerts: a failed batch is listed under failed_batches with its error');
const al = r.json || {};
note(JSON.stringify(al));
is(al.stuck_after_minutes, 1, 'alerts: stuck_after_minutes from the config');
is((al.stuck_batches || []).map((x) => x.batch_id), [oldId], 'alerts: the 2-hour-old pending batch is stuck; fresh, completed and failed ones are not');
const sb = (al.stuck_batches || [])[0] || {};
is([sb.client_id, sb.signal, sb.source, sb.stage, sb.error_stage, sb.retry_count], ['mon-old', 'logs', 'http', 'ingestion', null, 0], 'alerts: the stuck batch with its stage');
is((al.alerts || []).filter((x) => !(x.kind === 'stuck' && x.batch_id === oldId)), [], 'alerts: no alerts raised (but the stuck batch\'s own, should the janitor pass meanwhile)');
r = api('/api/batch-monitor/batches?status=pending&min_age_minutes=60');
is(r.json && r.json.batches.map((x) => x.batch_id), [oldId], 'min_age_minutes=60 now lists the old pending batch only');
is(api('/api/batch-monitor/batches?status=completed').json.batches.map((x) => [x.batch_id, x.stage, x.janitor_pip]), [[oldDone, 'completed', true]],
  'status=completed lists the completed batch, stage completed');
const st2 = api('/api/batch-monitor/status').json || {};
is(st2.batches, { total: rows.length + 3, pending: rows.length + 1, completed: 1, failed: 1 }, 'status counts the inserted rows');
is(st2.oldest_pending_created_at, sql(db, `select created_at from batch_tracker where batch_id = '${oldId}'`)[0].created_at, 'status: oldest_pending_created_at is the stuck batch');
ok(Date.now() - Date.parse(st2.oldest_pending_created_at.replace(' ', 'T') + 'Z') > 119 * 60000, 'status: ... and it is 2 hours old');

// ---- pruning at start ----
const dir = tmpdir('prune');
let p = await start({ dir, tag: 'prune', config: { 'ingestion.batch_tracker.retention_days': 7 } });
const pdb = path.join(p.data, 'openwit.db');
const ex = await p.stop('SIGTERM');
is(ex, { code: 0, sig: null }, 'prune: the first server stops on SIGTERM with status 0');
p.forget();
const ins = (id, janitor, ago) => "INSERT INTO batch_tracker(batch_id, client_id, signal, source, wal_pip, ingestion_pip, storage_pip, index_pip, janitor_pip, batch_size, message_count, created_at) " +
  `VALUES ('${id}', 'old', 'traces', 'http', 1, ${janitor}, ${janitor}, ${janitor}, ${janitor}, 10, 1, strftime('%Y-%m-%d %H:%M:%f', 'now', '${ago}'));`;
sqlw(pdb, ins('old-completed', 1, '-30 days') + ins('old-pending', 0, '-30 days') + ins('recent-completed', 1, '-6 days') +
  "INSERT INTO alerts(created_at, kind, message) VALUES (strftime('%Y-%m-%d %H:%M:%f', 'now', '-30 days'), 'test', 'old alert');" +
  "INSERT INTO alerts(created_at, kind, message) VALUES (strftime('%Y-%m-%d %H:%M:%f', 'now', '-1 days'), 'test', 'recent alert');");
is(sql(pdb, 'select count(*) n from batch_tracker')[0].n, 3, 'prune: three rows before the restart');
p = await start({ dir, ports: p.ports, tag: 'prune', config: { 'ingestion.batch_tracker.retention_days': 7 } });
let left;
for (let i = 0; i < 100; i++) {
  left = sql(pdb, 'select batch_id from batch_tracker order by batch_id').map((x) => x.batch_id);
  if (!left.includes('old-completed')) break;
  await sleep(20);
}
is(left, ['old-pending', 'recent-completed'], 'prune: the 30-day-old completed row is deleted; the pending and the recent ones are kept');
is(sql(pdb, 'select message from alerts').map((x) => x.message), ['recent alert'], 'prune: alerts older than retention_days are deleted too');
for (let i = 0; i < 50 && !/tracker: pruned/.test(p.log()); i++) await sleep(20);
like(p.log(), /tracker: pruned 2 completed batches and alerts older than 7 days/, 'prune: logged with the number of rows');
r = curlJSON(`${p.control}/api/batch-monitor/status`);
is(r.json && r.json.batches, { total: 2, pending: 1, completed: 1, failed: 0 }, 'prune: status after pruning');
done();
})();

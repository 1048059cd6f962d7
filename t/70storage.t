#!/usr/bin/env node
// Columns and Parquet: every acknowledged record ends in zstd Parquet parts
// that DuckDB reads, exactly once, with its fields and types intact; the
// tracker shows each stage, the catalog lists each part, and the WAL keeps
// only what is not stored yet.
const fs = require('node:fs');
const path = require('node:path');
(async () => {
const { start, curl, sql, duck, parts, partFiles, walFiles, otelSend, ok, is, like, note, done, sleep, tmpdir } = await import('./lib/harness.mjs');
// The edge cases below store times at the ends of their range (0, 2^64-1,
// 2023): this server takes any time (the window is t/43limits.t's).
const s = await start({ tag: 'storage', config: { 'storage.buffer.flush_interval_ms': 200,
  'limits.max_past_hours': 0, 'limits.max_future_hours': 0 } });
const db = path.join(s.data, 'openwit.db');
const tmp = tmpdir('storage-body');
let nbody = 0;
const post = (p, body, tenant) => curl(`${s.otlp}${p}`, ['-X', 'POST', '-H', 'Content-Type: application/json',
  ...(tenant ? ['-H', `X-Scope-OrgID: ${tenant}`] : []), '--data-binary', `@${(() => { const f = path.join(tmp, `b${nbody++}`); fs.writeFileSync(f, body); return f; })()}`]);

// ---- real exporters ----
const sent = {};
for (const [signal, enc] of [['traces', 'proto'], ['traces', 'json'], ['logs', 'proto'], ['logs', 'json'], ['metrics', 'proto'], ['metrics', 'json']]) {
  const r = otelSend(s.otlp, signal, enc, ['--count', '50', '--marker', `sdk-${signal}-${enc}`, '--tenant', 'sdk']);
  ok(r.exit === 0 && r.failed === 0, `SDK ${signal}/${enc}: exported`, r);
  sent[signal] = (sent[signal] || 0) + (r.items || 0);
}

// ---- hand-made edge cases ----
const big = 'x'.repeat(200000);
const uni = 'ünïcødé 日本語 🚀 "quotes" \\ back\\slash \u0001 ctrl';
const anyKinds = [
  { key: 'str', value: { stringValue: uni } },
  { key: 'empty', value: { stringValue: '' } },
  { key: 'bool', value: { boolValue: false } },
  { key: 'imin', value: { intValue: '-9223372036854775808' } },
  { key: 'imax', value: { intValue: '9223372036854775807' } },
  { key: 'nan', value: { doubleValue: 'NaN' } },
  { key: 'inf', value: { doubleValue: 'Infinity' } },
  { key: 'ninf', value: { doubleValue: '-Infinity' } },
  { key: 'tiny', value: { doubleValue: 5e-324 } },
  { key: 'bytes', value: { bytesValue: Buffer.from([0, 1, 2, 254, 255]).toString('base64') } },
  { key: 'arr', value: { arrayValue: { values: [{ intValue: '1' }, { stringValue: 'two' }, { arrayValue: { values: [] } }] } } },
  { key: 'kv', value: { kvlistValue: { values: [{ key: 'inner', value: { doubleValue: 1.5 } }] } } },
  { key: 'none', value: {} },
];
let r = post('/v1/traces', JSON.stringify({ resourceSpans: [
  { scopeSpans: [{ spans: [{ traceId: '0102030405060708090a0b0c0d0e0f10', spanId: '0102030405060708', name: '', startTimeUnixNano: '0', endTimeUnixNano: '0' }] }] },
  { resource: { attributes: [{ key: 'service.name', value: { stringValue: 'edge' } }], droppedAttributesCount: 3 },
    scopeSpans: [{ scope: { name: 'edge-scope', version: '9.9' }, spans: [
      { traceId: 'ffffffffffffffffffffffffffffffff', spanId: 'ffffffffffffffff', parentSpanId: '0000000000000001', name: big, kind: 5,
        startTimeUnixNano: '18446744073709551615', endTimeUnixNano: '18446744073709551615', attributes: anyKinds,
        droppedAttributesCount: 7, status: { code: 2, message: uni },
        events: [{ timeUnixNano: '1', name: 'ev', attributes: [anyKinds[3]] }],
        links: [{ traceId: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', spanId: 'bbbbbbbbbbbbbbbb', traceState: 'k=v', flags: 1 }] },
      { traceId: '0102030405060708090a0b0c0d0e0f11', spanId: '0102030405060709', name: uni, startTimeUnixNano: '1700000000123456789', endTimeUnixNano: '1700000001123456789' },
    ] }] }] }), 'edge');
is(r.code, 200, 'edge-case spans: 200');
r = post('/v1/logs', JSON.stringify({ resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'edge' } }] }, scopeLogs: [{ logRecords: [
  { timeUnixNano: '1700000000000000001', severityNumber: 24, severityText: 'FATAL', body: { kvlistValue: { values: [{ key: 'k', value: { bytesValue: 'AAE=' } }] } }, traceId: '0102030405060708090a0b0c0d0e0f10', spanId: '0102030405060708', flags: 1, eventName: 'evt' },
  { body: { stringValue: uni }, observedTimeUnixNano: '1700000000000000002' },
  { timeUnixNano: '1700000000000000003' },
] }] }] }), 'edge');
is(r.code, 200, 'edge-case logs: 200');
r = post('/v1/metrics', JSON.stringify({ resourceMetrics: [{ scopeMetrics: [{ metrics: [
  { name: 'edge.gauge', unit: 'ms', description: 'd', gauge: { dataPoints: [{ timeUnixNano: '1700000000000000000', asDouble: 'NaN' }, { timeUnixNano: '1700000000000000000', asInt: '-9223372036854775808', exemplars: [{ timeUnixNano: '5', asInt: '3', spanId: '0102030405060708', traceId: '0102030405060708090a0b0c0d0e0f10', filteredAttributes: [anyKinds[0]] }] }] } },
  { name: 'edge.sum', sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [{ timeUnixNano: '1700000000000000000', startTimeUnixNano: '1600000000000000000', asDouble: -0.0 }] } },
  { name: 'edge.hist', histogram: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: '1700000000000000000', count: '18446744073709551615', sum: 1.5, min: -1, max: 2, bucketCounts: ['1', '18446744073709551614'], explicitBounds: [0.5] }, { timeUnixNano: '1700000000000000000', count: '0' }] } },
  { name: 'edge.exp', exponentialHistogram: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: '1700000000000000000', count: '4', scale: -3, zeroCount: '1', zeroThreshold: 0.001, positive: { offset: -2, bucketCounts: ['1', '2'] }, negative: { offset: 1, bucketCounts: ['0'] } }] } },
  { name: 'edge.summary', summary: { dataPoints: [{ timeUnixNano: '1700000000000000000', count: '3', sum: 6, quantileValues: [{ quantile: 0.5, value: 2 }, { quantile: 1, value: 'Infinity' }] }] } },
] }] }] }).replace('"asDouble":0}', '"asDouble":-0.0}'), 'edge');
is(r.code, 200, 'edge-case metrics: 200');
const edge = { traces: 3, logs: 3, metrics: 7 };
// one trace of six spans (tenant ids): the spans share its trace_id
const now = BigInt(Date.now()) * 1000000n;
r = post('/v1/traces', JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'ids' } }] },
  scopeSpans: [{ spans: Array.from({ length: 6 }, (_, k) => ({ traceId: '5'.repeat(32), spanId: `000000000000000${k + 1}`, name: `step ${k}`,
  startTimeUnixNano: String(now + BigInt(k)), endTimeUnixNano: String(now + BigInt(k) + 1000n) })) }] }] }), 'ids');
is(r.code, 200, 'a trace of six spans: 200');
const idSpans = 6;

// ---- wait for the flush and the janitor ----
let rows = [];
for (let i = 0; i < 200; i++) {
  rows = sql(db, 'select * from batch_tracker');
  if (rows.length && rows.every((x) => x.wal_removed_at && x.janitor_pip) && walFiles(s.data).length === 0) break;
  await sleep(50);
}
ok(rows.length > 0 && rows.every((x) => x.wal_pip && x.ingestion_pip && x.storage_pip && x.wal_removed_at), 'tracker: every batch went through wal, ingestion, storage, and lost its WAL file (wal_removed_at)');
ok(rows.every((x) => x.index_pip && x.index_completed_at && x.janitor_pip && x.janitor_completed_at), 'tracker: every batch is indexed, then COMPLETED (its WAL gone, its parts indexed)', rows.filter((x) => !x.janitor_pip));
ok(rows.every((x) => x.ingestion_completed_at && x.storage_completed_at && x.wal_removed_at >= x.storage_completed_at && x.storage_completed_at >= x.wal_completed_at), 'tracker: each stage has its time, in order');
is(walFiles(s.data), [], 'the WAL is empty once every batch is stored');

// ---- DuckDB reads what was acknowledged, exactly once ----
for (const signal of ['traces', 'logs', 'metrics']) {
  const n = Number((await duck(`select count(*) n from ${parts(s.data, signal)}`))[0].n);
  const more = signal === 'traces' ? idSpans : 0;
  is(n, sent[signal] + edge[signal] + more, `DuckDB: ${signal} rows = acknowledged records (${sent[signal]} from the SDK + ${edge[signal]} edge cases + ${more})`);
}
const dup = await duck(`select count(*) - count(distinct (trace_id, span_id)) d from ${parts(s.data, 'traces')}`);
is(Number(dup[0].d), 0, 'DuckDB: no span twice');
// a trace_id chunk keeps its dictionary when the trace's spans share it
// (the writer's rule: at most half as many entries as values); span ids,
// distinct, stay PLAIN
const idEnc = await duck(`select m.file_name f, m.path_in_schema c, m.encodings e, m.num_values n, d.nd from parquet_metadata('${s.data}/parquet/*/traces/**/*.parquet') m
  join (select filename, count(distinct trace_id) nd from read_parquet('${s.data}/parquet/*/traces/**/*.parquet', filename = true) group by 1) d on d.filename = m.file_name
  where m.path_in_schema in ('trace_id', 'span_id')`);
const shared = idEnc.filter((x) => x.c === 'trace_id' && 2 * Number(x.nd) <= Number(x.n));
ok(shared.length > 0 && shared.every((x) => /RLE_DICTIONARY/.test(x.e)), 'Parquet: a trace_id chunk whose spans share trace ids has a dictionary', idEnc);
ok(idEnc.filter((x) => x.c === 'span_id').every((x) => !/DICTIONARY/.test(x.e)), 'Parquet: span ids, distinct, are PLAIN', idEnc);
const types = Object.fromEntries((await duck(`describe select * from ${parts(s.data, 'traces')}`)).map((x) => [x.column_name, x.column_type]));
is([types.trace_id, types.name, types.start_time, types.attributes, types.kind, types.flags, types.duration_ns, types.otlp_exact],
  ['BLOB', 'VARCHAR', 'TIMESTAMP_NS', 'JSON', 'TINYINT', 'UINTEGER', 'BIGINT', 'JSON'], 'DuckDB: column types (blob ids, strings, timestamps, JSON, sized integers)');
const ltypes = Object.fromEntries((await duck(`describe select * from ${parts(s.data, 'logs')}`)).map((x) => [x.column_name, x.column_type]));
is([ltypes.body, ltypes.attributes], ['VARCHAR', 'JSON'], 'DuckDB: a log body is text');

const sp = await duck(`select hex(trace_id) t, name, kind, epoch_ns(start_time)::VARCHAR st, service_name, resource_dropped_attributes_count rd, scope_name, scope_version, attributes, dropped_attributes_count da, status_code, status_message, events, links, hex(parent_span_id) p, otlp_exact
  from ${parts(s.data, 'traces')} where service_name = 'edge' or service_name is null order by t`);
is(sp.length, 3, 'edge spans: 3 rows');
const [noRes, mid, last] = sp;
is([noRes.service_name, noRes.scope_name, noRes.name, noRes.st, noRes.p], [null, null, '', '0', null], 'a span without resource or scope: nulls, empty name, time 0');
is([mid.name, mid.st], [uni, '1700000000123456789'], 'unicode name and nanosecond time');
is([last.name.length, last.kind, last.st, last.rd, last.scope_name, last.scope_version, last.da, last.status_code, last.status_message, last.p],
  [200000, 5, '-1', 3, 'edge-scope', '9.9', 7, 2, uni, '0000000000000001'], 'a 200 kB name, kind, time 2^64-1 (read as -1, bit-exact), dropped counts, scope, status');
const attrs = JSON.parse(last.attributes);
is(attrs, { str: uni, empty: '', bool: false, imin: -9223372036854775808, imax: 9223372036854775807, nan: 'NaN', inf: 'Infinity', ninf: '-Infinity',
  tiny: 5e-324, bytes: 'AAEC/v8=', arr: [1, 'two', []], kv: { inner: 1.5 }, none: null },
'every AnyValue kind reads back as its plain value (NaN, ±Inf as strings, 5e-324, bytes in base64, nested array and kvlist, empty as null)');
ok(last.attributes.includes('"imin":-9223372036854775808,"imax":9223372036854775807,') && last.attributes.includes('"kv":{"inner":1.5}'),
  'int64 extremes as JSON integers, digit for digit; a double with its point', last.attributes);
is(JSON.parse(last.otlp_exact), { attributes: Object.fromEntries(anyKinds.map((k) => [k.key, k.value])) },
  'otlp_exact: the attributes as sent, in OTLP/JSON (bytes and NaN lose their type in plain JSON)');
is(JSON.parse(last.events), [{ timeUnixNano: '1', name: 'ev', attributes: { imin: -9223372036854775808 }, droppedAttributesCount: 0 }], 'events as sent');
ok(last.events.includes('"imin":-9223372036854775808}'), 'an event attribute as its plain value');
is(JSON.parse(last.links), [{ traceId: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', spanId: 'bbbbbbbbbbbbbbbb', traceState: 'k=v', attributes: {}, droppedAttributesCount: 0, flags: 1 }], 'links as sent');

const lg = await duck(`select epoch_ns(time)::VARCHAR t, epoch_ns(observed_time)::VARCHAR o, severity_number sn, severity_text st, body, hex(trace_id) tid, flags, event_name, otlp_exact from ${parts(s.data, 'logs')} where service_name = 'edge' order by o`);
is(lg.length, 3, 'edge logs: 3 rows');
const bodyKv = lg.find((x) => x.sn === 24);
is([bodyKv.t, bodyKv.st, bodyKv.body, JSON.parse(bodyKv.otlp_exact), bodyKv.tid, bodyKv.flags, bodyKv.event_name],
  ['1700000000000000001', 'FATAL', '{"k":"AAE="}', { body: { kvlistValue: { values: [{ key: 'k', value: { bytesValue: 'AAE=' } }] } } }, '0102030405060708090A0B0C0D0E0F10', 1, 'evt'],
  'a log with a kvlist body of bytes (plain JSON, its OTLP/JSON in otlp_exact), trace id, flags and event name');
const bodyStr = lg.find((x) => x.o === '1700000000000000002');
is([bodyStr.t, bodyStr.body, bodyStr.otlp_exact], ['0', uni, null], 'a log without time keeps time 0 and its observed time; a string body is its text');
ok(lg.some((x) => x.body === null), 'a log without body has a null body');

const mt = await duck(`select metric_name, metric_type, value, value_int, count, sum, min, max, bucket_counts, explicit_bounds, scale, zero_count, positive, negative, quantiles, exemplars, temporality, is_monotonic, metric_unit
  from ${parts(s.data, 'metrics')} where metric_name like 'edge.%' order by metric_name, value_int nulls first, count`);
is(mt.length, 7, 'edge metrics: 7 data points');
const byName = (n) => mt.filter((x) => x.metric_name === n);
const g = byName('edge.gauge');
is([g[0].value, g[1].value_int, g[0].metric_unit], ['NaN', '-9223372036854775808', 'ms'], 'gauge: NaN double and int64 minimum kept apart, unit');
ok(JSON.parse(g[1].exemplars)[0].asInt === '3', 'gauge: exemplars');
const negz = await duck(`select 1 / value < 0 neg from ${parts(s.data, 'metrics')} where metric_name = 'edge.sum'`);
is([byName('edge.sum')[0].temporality, byName('edge.sum')[0].is_monotonic, negz[0].neg], [1, true, true], 'sum: temporality, monotonic, and -0.0 keeps its sign');
const h = byName('edge.hist');
is([h[1].count, h[1].sum, h[1].min, h[1].max, JSON.parse(h[1].bucket_counts), JSON.parse(h[1].explicit_bounds)],
  ['18446744073709551615', 1.5, -1, 2, ['1', '18446744073709551614'], [0.5]], 'histogram: uint64 count, sum/min/max, buckets');
is([h[0].count, h[0].sum], ['0', null], 'histogram: an absent sum is null, not 0');
const e = byName('edge.exp')[0];
is([e.scale, e.zero_count, JSON.parse(e.positive), JSON.parse(e.negative)], [-3, '1', { offset: -2, bucketCounts: ['1', '2'] }, { offset: 1, bucketCounts: ['0'] }], 'exponential histogram');
is(JSON.parse(byName('edge.summary')[0].quantiles), [{ quantile: 0.5, value: 2 }, { quantile: 1, value: 'Infinity' }], 'summary quantiles');

// ---- the catalog ----
const cat = sql(db, 'select * from parts');
const files = partFiles(s.data);
is(cat.length, files.length, 'catalog: one row per part file');
ok(cat.every((p) => fs.existsSync(path.join(s.data, p.path)) && fs.statSync(path.join(s.data, p.path)).size === p.bytes), 'catalog: each path exists with its byte size');
ok(cat.every((p) => /_active\.parquet$/.test(p.path) && p.path.startsWith(`parquet/${p.tenant}/${p.signal}/${p.day.replace(/-/g, '/')}/node-1/${p.tenant}_`)), 'catalog: paths are parquet/{tenant}/{signal}/{yyyy}/{mm}/{dd}/{node}/{tenant}_{time}_{id}_active.parquet');
is(cat.reduce((a, p) => a + p.rows, 0), Object.values(sent).reduce((a, b) => a + b, 0) + 13 + idSpans, 'catalog: rows add up to every record');
ok(cat.some((p) => p.day === '1970-01-01') && cat.some((p) => p.day === '1969-12-31'), 'records are partitioned by the UTC day of their time (time 0, and 2^64-1 read as -1)');
const meta = await duck(`select file_name, decode(key) k, decode(value) v from parquet_kv_metadata('${s.data}/parquet/**/*.parquet')`);
const ids = new Map();
for (const m of meta) if (m.k === 'openwit.batch_ids') ids.set(path.relative(s.data, m.file_name), m.v.split(',').sort());
const bp = sql(db, 'select p.path, group_concat(b.batch_id) ids from parts p join batch_parts b using (part_id) group by p.path');
ok(bp.length === cat.length && bp.every((x) => JSON.stringify(x.ids.split(',').sort()) === JSON.stringify(ids.get(x.path))), 'each part names its batches in its metadata, as batch_parts does');
const codecs = await duck(`select distinct compression from parquet_metadata('${s.data}/parquet/**/*.parquet')`);
is(codecs.map((x) => x.compression), ['ZSTD'], 'pages are zstd-compressed');
const prom = curl(`${s.control}/metrics`).text;
is(Number((prom.match(/^openwit_rows_stored_total (\d+)$/m) || [])[1]), Object.values(sent).reduce((a, b) => a + b, 0) + 13 + idSpans, '/metrics: rows stored');
is(Number((prom.match(/^openwit_parts_written_total (\d+)$/m) || [])[1]), cat.length, '/metrics: parts written');
like(prom, /^openwit_buffered_bytes 0$/m, '/metrics: nothing left in the buffers');
const stat = JSON.parse(curl(`${s.control}/api/batch-monitor/status`).text);
is([stat.batches.completed, stat.batches.pending, stat.stages.storage], [rows.length, 0, rows.length], 'batch-monitor: every batch stored and completed (indexed)');

// bytes on disk per record, for the note
const pb = sql(db, "select signal, sum(batch_size) b from batch_tracker group by signal");
for (const x of pb) {
  const disk = cat.filter((p) => p.signal === x.signal).reduce((a, p) => a + p.bytes, 0);
  note(`${x.signal}: ${disk} bytes in Parquet for ${x.b} bytes of WAL (OTLP protobuf + framing)`);
}
done();
})();

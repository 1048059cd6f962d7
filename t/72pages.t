#!/usr/bin/env node
// Data pages by signal (storage.parquet.page_rows): by default a metric
// part cuts its pages at 8192 points (a one-service metric query decodes
// only the pages of its points), a span part at 32768 spans (zstd finds a
// trace's ids again in long pages); a value set in the configuration
// holds for every signal. Read from each part's own metadata by hyparquet
// (ColumnMetaData.encoding_stats counts the data pages of a chunk).
// With pages of 5000 spans, SQLite's virtual tables (a query forced to
// {"engine":"sqlite"}) read a constrained column only in the pages whose
// statistics allow the constraint and the other columns only in the pages
// with a matching row, with the answers of the columnar engine:
// bytes_scanned counts the pages read, as stored (hyparquet says how big
// the chunks are).
// A metric part's rows are in series order, the series being the metric's
// name, its resource's service and its attributes: one service's points of
// a metric are contiguous, so they share pages.
const fs = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
(async () => {
const { start, httpPost, partFiles, root, is, ok, note, done, sleep, yesterdayNs } = await import('./lib/harness.mjs');
const hyparquet = await import(pathToFileURL(path.join(root, 't/otel/node_modules/hyparquet/src/index.js')));

const N = 20000, T0 = yesterdayNs();
const spans = JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'pages' } }] },
  scopeSpans: [{ spans: Array.from({ length: N }, (_, i) => ({ traceId: (i + 1).toString(16).padStart(32, '0'), spanId: (i + 1).toString(16).padStart(16, '0'),
    name: 'op', startTimeUnixNano: String(T0 + BigInt(i) * 1000n), endTimeUnixNano: String(T0 + BigInt(i) * 1000n + 500n) })) }] }] });
const metrics = JSON.stringify({ resourceMetrics: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'pages' } }] },
  scopeMetrics: [{ metrics: [{ name: 'cpu', gauge: { dataPoints: Array.from({ length: N }, (_, i) => ({ timeUnixNano: String(T0 + BigInt(i) * 1000n), asDouble: i / 7 })) } }] }] }] });

// the first row group's column chunks of the signal's one part
const chunks = (data, signal) => {
  const files = partFiles(data).filter((f) => f.includes(`/${signal}/`));
  if (files.length !== 1) return null;
  const buf = fs.readFileSync(files[0]);
  return hyparquet.parquetMetadata(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)).row_groups[0].columns;
};
// the data pages of a column of the signal's one part
const dataPages = (data, signal, column) => {
  const cols = chunks(data, signal);
  if (!cols) return 'not one part';
  const chunk = cols.find((c) => c.meta_data.path_in_schema.join('.') === column);
  return chunk ? chunk.meta_data.encoding_stats.filter((e) => e.page_type === 'DATA_PAGE').reduce((a, e) => a + e.count, 0) : `no ${column}`;
};

// SQLite's scan over the span part of 4 pages a column
const sqlitePages = async (s) => {
  const size = Object.fromEntries(chunks(s.data, 'traces').map((c) => [c.meta_data.path_in_schema.join('.'), Number(c.meta_data.total_compressed_size)]));
  const total = Object.values(size).reduce((a, b) => a + b, 0);
  const ask = async (query, engine) => {
    const r = await httpPost(s.ports.control, '/api/search', JSON.stringify({ query, ...(engine ? { engine } : {}) }));
    try { return JSON.parse(r.text); } catch { return { error: r.text }; }
  };
  const id = (i) => (i + 1).toString(16).padStart(32, '0');
  const late = `start_time >= ${T0 + 15000n * 1000n}`;
  const cases = [
    ['a trace by id, every column', `SELECT * FROM spans WHERE trace_id = '${id(12345)}'`, 1],
    ['the last 5000 spans by time', `SELECT count(*) AS n, min(span_id) AS s FROM spans WHERE ${late}`, 1],
    ['the first 10 by time, every column', `SELECT * FROM spans WHERE start_time < ${T0 + 10000n} ORDER BY start_time`, 10],
    ['a LIKE prefix and a range on another column', `SELECT count(*) AS n FROM spans WHERE name LIKE 'O%' AND ${late} AND duration_ns = 500`, 1],
  ];
  const got = {};
  for (const [what, q, nrows] of cases) {
    const x = await ask(q, 'sqlite'), y = await ask(q);
    got[what] = x;
    ok(x.engine === 'sqlite' && x.status === 'success' && x.result.rows.length === nrows && JSON.stringify(x.result.rows) === JSON.stringify(y.result.rows),
      `${what}: SQLite's rows are the other engine's (${y.engine})`, { sqlite: x, other: y });
  }
  is(got['the last 5000 spans by time'].result.rows[0].n, 5000, 'the last 5000 spans counted');
  const all = await ask(`SELECT count(*) AS n, min(span_id) AS s FROM spans WHERE start_time >= ${T0}`, 'sqlite');
  note(`bytes_scanned: chunks ${total} in all; ${Object.entries(got).map(([w, x]) => `${w} ${x.bytes_scanned}`).join(', ')}; every page of start_time and span_id ${all.bytes_scanned}`);
  is(all.bytes_scanned, size.start_time + size.span_id, 'every page of start_time and span_id read: bytes_scanned is their chunks\' bytes');
  ok(got['the last 5000 spans by time'].bytes_scanned < all.bytes_scanned / 2, 'a time range over the last page: its pages only, under half the bytes');
  const tid = got['a trace by id, every column'].bytes_scanned;
  ok(tid < size.trace_id + (total - size.trace_id) / 2, `a trace by id: trace_id's pages, then one page of each other column (${tid} bytes of ${total})`);
  ok(got['the first 10 by time, every column'].bytes_scanned < total / 2, 'the first 10 spans: one page of each column');
  ok(got['a LIKE prefix and a range on another column'].bytes_scanned < (size.name + size.start_time + size.duration_ns) / 2, 'name LIKE, a time range, duration_ns =: the pages the range allows');
};

for (const [config, want, what] of [[{}, { metrics: 3, traces: 1 }, 'by default'], [{ 'storage.parquet.page_rows': 5000 }, { metrics: 4, traces: 4 }, 'page_rows 5000']]) {
  const s = await start({ tag: 'pages', config: { 'storage.buffer.flush_interval_ms': 100, ...config } });
  is((await httpPost(s.ports.otlp, '/v1/traces', spans)).code, 200, `${what}: ${N} spans acknowledged`);
  is((await httpPost(s.ports.otlp, '/v1/metrics', metrics)).code, 200, `${what}: ${N} points acknowledged`);
  for (let k = 0; k < 200 && partFiles(s.data).length < 2; k++) await sleep(50);
  ok(partFiles(s.data).length === 2, `${what}: a part a signal`);
  is(dataPages(s.data, 'metrics', 'time'), want.metrics, `${what}: the metric part's time column in ${want.metrics} data pages`);
  is(dataPages(s.data, 'traces', 'start_time'), want.traces, `${what}: the span part's start_time column in ${want.traces} data page(s)`);
  if (want.traces > 1) await sqlitePages(s);
  await s.stop();
  s.forget();
}

// Two services report one metric, interleaved in time, each with its own
// attributes ("b" sorts before "a" by attributes, after it by service).
{
  const s = await start({ tag: 'series', config: { 'storage.buffer.flush_interval_ms': 100 } });
  const rm = (service, k) => ({ resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
    scopeMetrics: [{ metrics: [{ name: 'cpu', gauge: { dataPoints: Array.from({ length: 100 }, (_, i) => ({
      timeUnixNano: String(T0 + BigInt(2 * i + (service === 'a' ? 0 : 1)) * 1000n), asDouble: i,
      attributes: [{ key: 'k', value: { stringValue: k } }] })) } }] }] });
  const body = JSON.stringify({ resourceMetrics: [rm('b', '1'), rm('a', '2')] });
  is((await httpPost(s.ports.otlp, '/v1/metrics', body)).code, 200, 'series: 200 points of two services acknowledged');
  for (let k = 0; k < 200 && partFiles(s.data).length < 1; k++) await sleep(50);
  const files = partFiles(s.data);
  is(files.length, 1, 'series: one metric part');
  const buf = fs.readFileSync(files[0]);
  const rows = await hyparquet.parquetReadObjects({ file: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength),
    compressors: (await import(pathToFileURL(path.join(root, 't/otel/node_modules/hyparquet-compressors/src/index.js')))).compressors,
    columns: ['service_name', 'time'], parsers: { timestampFromNanoseconds: (n) => n } });
  is(rows.map((r) => r.service_name).join(''), 'a'.repeat(100) + 'b'.repeat(100), 'series: the part holds service a\'s points, then b\'s');
  ok(rows.every((r, i) => i === 0 || r.service_name !== rows[i - 1].service_name || rows[i - 1].time < r.time), 'series: each service\'s points in time order');
  await s.stop();
  s.forget();
}
done();
})();

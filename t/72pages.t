#!/usr/bin/env node
// Data pages by signal (storage.parquet.page_rows): by default a metric
// part cuts its pages at 8192 points (a one-service metric query decodes
// only the pages of its points), a span part at 32768 spans (zstd finds a
// trace's ids again in long pages); a value set in the configuration
// holds for every signal. Read from each part's own metadata by hyparquet
// (ColumnMetaData.encoding_stats counts the data pages of a chunk).
const fs = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
(async () => {
const { start, httpPost, partFiles, root, is, ok, done, sleep } = await import('./lib/harness.mjs');
const hyparquet = await import(pathToFileURL(path.join(root, 't/otel/node_modules/hyparquet/src/index.js')));

const N = 20000, T0 = 1700000000000000000n;
const spans = JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'pages' } }] },
  scopeSpans: [{ spans: Array.from({ length: N }, (_, i) => ({ traceId: (i + 1).toString(16).padStart(32, '0'), spanId: (i + 1).toString(16).padStart(16, '0'),
    name: 'op', startTimeUnixNano: String(T0 + BigInt(i) * 1000n), endTimeUnixNano: String(T0 + BigInt(i) * 1000n + 500n) })) }] }] });
const metrics = JSON.stringify({ resourceMetrics: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'pages' } }] },
  scopeMetrics: [{ metrics: [{ name: 'cpu', gauge: { dataPoints: Array.from({ length: N }, (_, i) => ({ timeUnixNano: String(T0 + BigInt(i) * 1000n), asDouble: i / 7 })) } }] }] }] });

// the data pages of a column of the signal's one part
const dataPages = (data, signal, column) => {
  const files = partFiles(data).filter((f) => f.includes(`/${signal}/`));
  if (files.length !== 1) return `${files.length} parts`;
  const buf = fs.readFileSync(files[0]);
  const meta = hyparquet.parquetMetadata(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const chunk = meta.row_groups[0].columns.find((c) => c.meta_data.path_in_schema.join('.') === column);
  return chunk ? chunk.meta_data.encoding_stats.filter((e) => e.page_type === 'DATA_PAGE').reduce((a, e) => a + e.count, 0) : `no ${column}`;
};

for (const [config, want, what] of [[{}, { metrics: 3, traces: 1 }, 'by default'], [{ 'storage.parquet.page_rows': 5000 }, { metrics: 4, traces: 4 }, 'page_rows 5000']]) {
  const s = await start({ tag: 'pages', config: { 'storage.buffer.flush_interval_ms': 100, ...config } });
  is((await httpPost(s.ports.otlp, '/v1/traces', spans)).code, 200, `${what}: ${N} spans acknowledged`);
  is((await httpPost(s.ports.otlp, '/v1/metrics', metrics)).code, 200, `${what}: ${N} points acknowledged`);
  for (let k = 0; k < 200 && partFiles(s.data).length < 2; k++) await sleep(50);
  ok(partFiles(s.data).length === 2, `${what}: a part a signal`);
  is(dataPages(s.data, 'metrics', 'time'), want.metrics, `${what}: the metric part's time column in ${want.metrics} data pages`);
  is(dataPages(s.data, 'traces', 'start_time'), want.traces, `${what}: the span part's start_time column in ${want.traces} data page(s)`);
  await s.stop();
  s.forget();
}
done();
})();

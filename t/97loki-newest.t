#!/usr/bin/env node
// A Loki log query by service, newest first (modules/loki's log_streams
// over columnar.c's by_bound), over log records merged into row groups cut
// by time and sorted by service: the answers are SQLite's for the same
// question, and the newest 100 read the service's pages of the newest
// row group, not more. Before, Loki asked for 1000 rows where 100 were
// wanted (reading row groups the answer has no entry of), and each page
// of every row group read became a segment of its own, each other
// service's page with a pass over the row group. Lines and bytes read are
// the query's stats in Loki's summary (totalLinesProcessed,
// totalBytesProcessed).
const path = require('node:path');
const crypto = require('node:crypto');
(async () => {
const { startMerged, httpPost, ok, is, note, done, duck, partFiles } = await import('./lib/harness.mjs');

const now = BigInt(Date.now()) * 1000000n - 1800n * 1000000000n; // half an hour ago
const services = ['checkout', 'cart', 'edge'];
// 'timeout' in half of them, 'TIMEOUT' (which LIKE matches and |= does not) and '50%' in some
const bodies = ['request timeout after 30s', 'upstream TIMEOUT', 'load 50% ok', 'upstream timeout', 'cache miss', 'ok done'];
let nrec = 0;
// n records over span seconds from now + from, 20 ms apart or more: no two
// at the same time
const batch = (n, from, span) => {
  const by = Object.fromEntries(services.map((x) => [x, []]));
  for (let i = 0; i < n; i++, nrec++) {
    const t = now + BigInt(from) * 1000000000n + BigInt(Math.floor((i * span * 1000) / n)) * 1000000n;
    // a random trace id for 8 records (a trace_id chunk with a dictionary
    // that does not compress, as loadgen's), a span id each
    by[services[nrec % 3]].push({ timeUnixNano: String(t), severityText: 'INFO', severityNumber: 9,
      traceId: crypto.createHash('md5').update(String(nrec >> 3)).digest('hex'), spanId: (nrec + 1).toString(16).padStart(16, '0'),
      body: { stringValue: `${bodies[Math.floor(nrec / 3) % bodies.length]} #${nrec}` } });
  }
  return JSON.stringify({ resourceLogs: services.map((svc) => ({ resource: { attributes: [{ key: 'service.name', value: { stringValue: svc } }] },
    scopeLogs: [{ logRecords: by[svc] }] })) });
};

// parts of 3000 records, merged into one stable part of row groups of
// 4000 rows cut by time, pages of 100 rows
const cfg = { 'storage.parquet.row_group_size': 4000, 'storage.parquet.page_rows': 100, 'storage.buffer.flush_interval_ms': 100 };
const batches = [];
for (let k = 0; k < 10; k++) batches.push(['/v1/logs', batch(3000, k * 60, 60), 3000, `3000 records from +${k * 60}s`]);
const { s, merged, st } = await startMerged({ tag: 'lokinew', config: cfg, batches, total: nrec, what: 'records' });
ok(merged, `merged into ${st.n} stable parts of ${st.r} rows`);

const search = async (query, engine) => {
  const r = await httpPost(s.ports.control, '/api/search', JSON.stringify({ query, limit: 100000, engine }));
  const j = JSON.parse(r.text);
  return { rows: j.result ? j.result.rows : [], engine: j.engine, lines: j.rows_scanned, bytes: j.bytes_scanned, error: j.error };
};
const lo = now - 60n * 1000000000n, hi = now + 3600n * 1000000000n;
const loki = async (query, limit, direction) => {
  const r = await fetch(`${s.control}/loki/api/v1/query_range?${new URLSearchParams({ query, start: `${lo}`, end: `${hi}`, limit: `${limit}`, direction })}`);
  const j = await r.json();
  const entries = j.data.result.flatMap((x) => x.values.map(([t, line]) => [t, x.stream.service_name, line]));
  entries.sort((a, b) => (BigInt(a[0]) < BigInt(b[0]) ? -1 : 1) * (direction === 'backward' ? -1 : 1));
  return { status: r.status, entries, summary: j.data.stats.summary };
};

// the answers: SQLite's, for selectors whose SQL keeps only entries and for
// others (a regexp, a case LIKE cannot tell), both directions
const cases = [
  ['{service_name="checkout"} |= "timeout"', "service_name = 'checkout' AND instr(body, 'timeout') > 0"],
  ['{service_name="checkout"} |= "TIMEOUT"', "service_name = 'checkout' AND instr(body, 'TIMEOUT') > 0"],
  ['{service_name="cart"} |= "50%"', "service_name = 'cart' AND instr(body, '50%') > 0"],
  ['{service_name=~"check.*"} |= "timeout"', "service_name LIKE 'check%' AND instr(body, 'timeout') > 0"],
  ['{service_name="edge"} |~ "time(out)?"', "service_name = 'edge' AND regexp('time(out)?', body)"],
  ['{service_name="checkout"} |= "timeout" != "#2"', "service_name = 'checkout' AND instr(body, 'timeout') > 0 AND instr(body, '#2') = 0"],
];
for (const [q, where] of cases)
  for (const [limit, dir] of [[100, 'backward'], [7, 'forward'], [1500, 'backward']]) {
    const got = await loki(q, limit, dir);
    const want = await search(`SELECT time, service_name, body FROM logs WHERE time >= ${lo} AND time < ${hi} AND ${where} ORDER BY time ${dir === 'backward' ? 'DESC' : 'ASC'} LIMIT ${limit}`, 'sqlite');
    is(got.entries.map((e) => e.join(' ')), want.rows.map((r) => `${r.time} ${r.service_name} ${r.body}`), `${q} ${dir} limit ${limit}: SQLite's ${want.rows.length} entries`);
  }

// the newest 100 read few rows: the checkout pages of the newest row group
const top = await loki('{service_name="checkout"} |= "timeout"', 100, 'backward');
const all = await search(`SELECT time, body FROM logs WHERE service_name = 'checkout' AND body LIKE '%timeout%'`);
note(`newest 100: ${top.summary.totalLinesProcessed} lines, ${top.summary.totalBytesProcessed} bytes read; all ${all.rows.length}: ${all.lines} lines, ${all.bytes} bytes`);
ok(top.entries.length === 100 && all.rows.length > 2000, 'the newest 100 of more than 2000');
// a third of the checkout records say 'timeout': the newest 100 are in its
// newest 300, 3 pages of 100 rows; read: not twice that, and no page of the
// other services (each a third of a row group's pages)
ok(top.summary.totalLinesProcessed > 0 && top.summary.totalLinesProcessed <= 800,
  `the newest 100 read the lines of a few checkout pages of the newest row group: ${top.summary.totalLinesProcessed} (<= 800)`);
ok(top.summary.totalBytesProcessed > 0 && top.summary.totalBytesProcessed * 5 < all.bytes,
  `and a fifth of the bytes of all matches or less: ${top.summary.totalBytesProcessed} of ${all.bytes}`);

// the label columns Loki selects cost their pages of the rows read: the
// newest 100 with trace_id read at most the trace_id chunk of the newest
// row group more, its dictionary once (by_bound reads the row group as
// runs of checkout pages, each of which decoded the dictionary again)
const newest = `FROM logs WHERE service_name = 'checkout' AND body LIKE '%timeout%' AND instr(body, 'timeout') > 0 ORDER BY time DESC LIMIT 100`;
const plain = await search(`SELECT time, body ${newest}`), withId = await search(`SELECT trace_id, time, body ${newest}`);
is(withId.rows.map((r) => r.time), plain.rows.map((r) => r.time), 'the newest 100 with trace_id: the same rows');
const files = partFiles(s.data).filter((f) => f.includes('/logs/')).map((f) => `'${f}'`).join(', ');
const chunks = await duck(`SELECT m.row_group_id, m.total_compressed_size AS bytes, m.data_page_offset - m.dictionary_page_offset AS dict, t.stats_max_value AS hi
  FROM parquet_metadata([${files}]) m JOIN parquet_metadata([${files}]) t ON t.file_name = m.file_name AND t.row_group_id = m.row_group_id
  WHERE m.path_in_schema = 'trace_id' AND t.path_in_schema = 'time' ORDER BY CAST(t.stats_max_value AS TIMESTAMP) DESC LIMIT 1`);
const chunk = Number(chunks[0].bytes), dict = Number(chunks[0].dict), more = withId.bytes - plain.bytes;
note(`the newest 100: ${plain.bytes} bytes, with trace_id ${withId.bytes}; the newest row group's trace_id chunk ${chunk} bytes, its dictionary ${dict}`);
ok(dict > 0 && more > 0 && more <= chunk,
  `with trace_id, ${more} bytes more: no more than the newest row group's trace_id chunk (${chunk} bytes, its dictionary ${dict})`);
await s.stop();
s.checkLog();
done();
})();

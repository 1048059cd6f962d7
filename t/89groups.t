#!/usr/bin/env node
// Many groups under a small query memory budget (query.max_memory_bytes 8
// MiB), on the columnar engine (modules/search/columnar.c: a group holds
// its keys in 16 bytes each, text in an arena, and only the state its
// aggregates need):
//  - 40000 traces (48000 spans) grouped by trace_id, as the "longest traces" dashboard
//    asks (max - min, count, ORDER BY with a LIMIT), answer within the
//    budget, with SQLite's rows (at ~700 bytes a group they did not);
//  - the same groups each holding sets of values (quantiles, count
//    DISTINCT) pass the budget and fail cleanly with its message, and the
//    server answers the next query;
//  - count(DISTINCT) of dictionary-encoded columns over parts and buffers,
//    with NULLs, and the plain count beside it: SQLite's rows;
//  - integer expressions evaluated a batch at a time as group terms,
//    aggregates' arguments and WHERE conditions: SQLite's values where its rules go past
//    integers (overflow to real, division by 0 or -1, NULL, text).
// Timestamps are near now.
(async () => {
const { createHash } = require('node:crypto');
const { start, httpPost, ok, is, like, note, done } = await import('./lib/harness.mjs');

let seed = 0x89;
const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
const ri = (a, b) => a + Math.floor(rnd() * (b - a + 1));
const md5 = (x) => createHash('md5').update(String(x)).digest('hex');
const NOW = BigInt(Date.now()) * 1000000n - 3600000000000n;
const SPANS = 48000, TRACES = 40000; // span j of trace floor(j * 5 / 6)

const budget = 8 * 1024 * 1024;
const cfg = { 'query.max_memory_bytes': budget, 'storage.parquet.row_group_size': 5000 };
let s = await start({ tag: 'groups', config: { ...cfg, 'storage.buffer.flush_interval_ms': 100 } });
const post = (p, body) => httpPost(p.startsWith('/v1/') ? s.ports.otlp : s.ports.control, p, body, { headers: { 'X-Scope-OrgID': 'acme' } });
const spans = (n, from) => JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: `svc-${from % 7}` } }] },
  scopeSpans: [{ spans: Array.from({ length: n }, (_, i) => {
    const t = NOW + BigInt(from + i) * 1000000n;
    const sp = { traceId: md5(Math.floor((from + i) * 5 / 6)), spanId: md5(`s${from + i}`).slice(0, 16), name: `op-${ri(0, 30)}`, kind: ri(1, 3),
      startTimeUnixNano: String(t), endTimeUnixNano: String(t + BigInt(ri(1000, 9000000))) };
    if (ri(0, 3)) sp.status = { code: ri(0, 2), ...(ri(0, 1) ? { message: `m${ri(0, 5)}` } : {}) };
    return sp;
  }) }] }] });
const ingest = async (n, from) => {
  for (let k = 0; k < n; k += 5000) {
    const r = await post('/v1/traces', spans(Math.min(5000, n - k), from + k));
    if (r.code !== 200) note(`ingest: ${r.code} ${r.text}`);
  }
};
// parts first (flushed, drained by SIGTERM), then rows kept in the buffers
await ingest(SPANS - 4000, 0);
await s.stop();
s.forget();
s = await start({ dir: s.dir, ports: s.ports, config: { ...cfg, 'storage.buffer.flush_interval_ms': 3600000 } });
await ingest(4000, SPANS - 4000);

const search = async (query, extra = {}) => {
  const r = await post('/api/search', JSON.stringify({ query, limit: 100000, ...extra }));
  const m = r.text.match(/"rows":(\[.*\]),"total_count"/s);
  let j;
  try { j = JSON.parse(r.text); } catch {}
  return { code: r.code, rows: m && m[1], engine: j && j.engine, error: j && j.error };
};
const same = async (q, what) => {
  const a = await search(q), b = await search(q, { engine: 'sqlite', limit: 100000 });
  ok(a.code === 200 && a.engine === 'columnar', `${what}: answered on the columnar engine within ${budget >> 20} MiB`, `${a.code} ${a.engine} ${a.error}`);
  is(a.rows, b.rows, `${what}: SQLite's rows`);
  return a;
};

// ---- many groups within the budget ----
const n = await search('SELECT count(DISTINCT trace_id) AS n FROM spans');
is(n.rows, `[{"n":${TRACES}}]`, `${TRACES} traces`);
await same('SELECT trace_id, max(end_time) - min(start_time) AS trace_ns, count(*) AS spans FROM spans GROUP BY trace_id ORDER BY trace_ns DESC, trace_id LIMIT 10', 'longest traces');
await same('SELECT trace_id, count(*) AS spans FROM spans GROUP BY trace_id ORDER BY spans DESC, trace_id LIMIT 10', 'most spans per trace');
await same('SELECT span_id, min(name) AS lo, max(status_message) AS hi FROM spans GROUP BY span_id ORDER BY lo DESC, hi, span_id LIMIT 5 OFFSET 3', 'text min and max by span');
await same('SELECT trace_id, sum(duration_ns) AS d FROM spans GROUP BY trace_id ORDER BY d DESC, trace_id LIMIT 5', 'sum by trace');

// ---- count(DISTINCT) of dictionary-encoded columns, parts and buffers, NULLs ----
for (const q of ['SELECT count(*) AS n, count(DISTINCT status_message) AS m, count(DISTINCT name) AS o, count(DISTINCT service_name) AS s FROM spans',
  'SELECT count(DISTINCT status_message) AS m, count(*) AS n FROM spans WHERE kind = 2',
  'SELECT service_name, count(DISTINCT status_message) AS m, count(DISTINCT name) AS o, count(*) AS n FROM spans GROUP BY 1 ORDER BY 1',
  'SELECT kind, count(DISTINCT status_message) AS m FROM spans GROUP BY 1 ORDER BY 1'])
  await same(q, q);

// ---- integer expressions a batch at a time (vec_eval): SQLite's values
// where its rules go past integers (overflow to real, division by 0 or -1,
// NULL, text beside numbers) ----
for (const q of ['SELECT duration_ns * 4611686018427387904 AS x, count(*) AS n FROM spans GROUP BY 1 ORDER BY 1 LIMIT 5',
  'SELECT kind / (kind - 2) AS x, kind % (kind - 2) AS y, count(*) AS n FROM spans GROUP BY 1, 2 ORDER BY 1, 2',
  'SELECT (CASE WHEN kind = 2 THEN NULL ELSE kind END) * 3 AS x, count(*) AS n FROM spans GROUP BY 1 ORDER BY 1',
  "SELECT service_name, sum(CASE WHEN kind = 2 THEN duration_ns % (kind - 1) END) AS a, max(min(duration_ns, 'abc')) AS b, min(max(duration_ns, NULL)) AS c, max(iif(status_code, -9223372036854775807 - kind * 2, abs(-duration_ns))) AS d FROM spans GROUP BY 1 ORDER BY 1",
  "SELECT CASE WHEN duration_ns > '5000000' THEN 'slow' WHEN duration_ns + '1' > 1000 THEN kind ELSE 1.5 END AS x, count(*) AS n, max(-duration_ns + 9223372036854775000) AS s FROM spans GROUP BY 1 ORDER BY 1",
  'SELECT status_message IS NULL AS x, sum(status_message IS NOT NULL) AS a, sum(trace_id IS NULL) AS b, sum(name ISNULL) AS c, sum(kind IS NULL) AS d FROM spans GROUP BY 1 ORDER BY 1',
  'SELECT count(*) AS n, sum(kind) AS k FROM spans WHERE duration_ns * 4611686018427387904 > 0 OR (CASE WHEN kind = 2 THEN NULL ELSE kind END) * duration_ns >= 3000000',
  "SELECT count(*) AS n FROM spans WHERE kind / (kind - 2) = 0 AND duration_ns / 1000000 >= 2 AND NOT (duration_ns + '1' < 5000)",
  'SELECT service_name, sum(kind % 2 IS NOT kind) AS a, sum(duration_ns / 1000000 IS kind) AS b FROM spans WHERE kind % 3 IS NOT status_code GROUP BY 1 ORDER BY 1',
  'SELECT max(duration_ns * 10000000000000) AS a, min(end_time - start_time - duration_ns) AS b, max(NOT kind = 2 AND status_code >= 1 OR duration_ns IS NULL) AS c, count(DISTINCT duration_ns / 1000000 ISNULL) AS d FROM spans'])
  await same(q, q);

// ---- past the budget: its error, cleanly ----
{
  const r = await search('SELECT trace_id, span_id, p99(duration_ns) AS a, p50(start_time) AS b, count(DISTINCT name) AS c, count(DISTINCT kind) AS d FROM spans GROUP BY 1, 2 ORDER BY a DESC LIMIT 1');
  is(r.code, 400, 'groups holding sets of values past the budget: 400');
  like(r.error, new RegExp(`query exceeded its memory budget of ${budget >> 20} MiB`), 'the memory budget\'s message');
  const after = await search('SELECT count(*) AS n FROM spans');
  is(after.rows, `[{"n":${SPANS}}]`, 'the server answers the next query');
}

done();
})();

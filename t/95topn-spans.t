#!/usr/bin/env node
// Newest-first span searches (columnar.c's by_bound) over spans merged
// into row groups cut by time (ow_columns_sort): the answers are SQLite's,
// and the newest 50 spans named GET, matching an attribute or of a service
// read the newest row group, not every one. Before, spans were sorted by
// service, name and start time across the whole part: each row group held
// every stretch of time, and the newest 50 read them all.
const path = require('node:path');
const crypto = require('node:crypto');
(async () => {
const { startMerged, httpPost, ok, is, note, done } = await import('./lib/harness.mjs');

const now = BigInt(Date.now()) * 1000000n - 1800n * 1000000000n; // half an hour ago
const services = ['checkout', 'cart', 'edge'];
const names = ['GET /cart', 'POST /pay', 'SELECT users', 'GET /health', 'publish'];
let nspan = 0;
// n spans over span seconds from now + from, 20 ms apart or more; a trace
// of 6 spans, their ids random (a trace_id dictionary as loadgen's)
const batch = (n, from, span) => {
  const by = Object.fromEntries(services.map((x) => [x, []]));
  for (let i = 0; i < n; i++, nspan++) {
    const t = now + BigInt(from) * 1000000000n + BigInt(Math.floor((i * span * 1000) / n)) * 1000000n;
    by[services[nspan % 3]].push({ traceId: crypto.createHash('md5').update(String(Math.floor(nspan / 6))).digest('hex'),
      spanId: (nspan + 1).toString(16).padStart(16, '0'), name: names[Math.floor(nspan / 3) % names.length], kind: 2,
      startTimeUnixNano: String(t), endTimeUnixNano: String(t + 5000000n),
      attributes: [{ key: 'http.route', value: { stringValue: nspan % 4 ? '/cart' : '/pay' } }] });
  }
  return JSON.stringify({ resourceSpans: services.map((svc) => ({ resource: { attributes: [{ key: 'service.name', value: { stringValue: svc } }] },
    scopeSpans: [{ spans: by[svc] }] })) });
};

// parts of 3000 spans, merged into one stable part of row groups of 4000
const cfg = { 'storage.parquet.row_group_size': 4000, 'storage.buffer.flush_interval_ms': 100 };
const batches = [];
for (let k = 0; k < 6; k++) batches.push(['/v1/traces', batch(3000, k * 60, 60), 3000, `3000 spans from +${k * 60}s`]);
const { s, merged, st } = await startMerged({ tag: 'topnspans', config: cfg, batches, total: nspan, what: 'spans' });
ok(merged, `merged into ${st.n} stable part(s) of ${st.r} spans`);

const search = async (query, engine) => {
  const r = await httpPost(s.ports.control, '/api/search', JSON.stringify({ query, limit: 100000, engine }));
  const j = JSON.parse(r.text);
  return { rows: j.result ? j.result.rows : [], engine: j.engine, scanned: j.rows_scanned, error: j.error };
};
const cases = [
  ["name LIKE '%GET%'", 'named GET'],
  ["match(name, 'GET')", 'match()ing GET'],
  ["attributes->>'http.route' = '/pay'", 'of route /pay'],
  ["service_name = 'edge'", 'of service edge'],
];
for (const [where, what] of cases)
  for (const [limit, dir] of [[50, 'DESC'], [50, 'ASC'], [5000, 'DESC']]) {
    const q = `SELECT trace_id, name, start_time FROM spans WHERE ${where} ORDER BY start_time ${dir} LIMIT ${limit}`;
    const got = await search(q), want = await search(q, 'sqlite');
    is(got.engine, 'columnar', `${what} ${dir} ${limit}: the columnar engine`);
    is(got.rows, want.rows, `${what} ${dir} ${limit}: SQLite's ${want.rows.length} spans`);
    if (limit === 50)
      ok(got.scanned > 0 && got.scanned <= 4000, `${what} ${dir} ${limit}: one row group read, ${got.scanned} spans of ${nspan} (<= 4000)`);
  }
await s.stop();
s.checkLog();
done();
})();

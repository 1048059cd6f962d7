#!/usr/bin/env node
// The query API on 8083: POST /api/search, GET /api/traces/{id},
// GET /api/logs/search. Read-your-writes across buffers and parts, one
// tenant per query, bad SQL answered with 400, a slow query never holding
// up an acknowledgement.
const path = require('node:path');
const fs = require('node:fs');
(async () => {
const { start, curl, httpPost, sql, duck, ok, is, like, done, sleep, tmpdir, yesterdayNs } = await import('./lib/harness.mjs');
const s = await start({ tag: 'query', config: { 'storage.buffer.flush_interval_ms': 300, 'query.timeout_ms': 4000, 'query.max_memory_bytes': 33554432 } });
const db = path.join(s.data, 'openwit.db');
const tmp = tmpdir('query-body');
let nb = 0;
const file = (body) => { const f = path.join(tmp, `b${nb++}`); fs.writeFileSync(f, body); return f; };
const ingest = (p, body, tenant = 'acme') => curl(`${s.otlp}${p}`, ['-X', 'POST', '-H', 'Content-Type: application/json', '-H', `X-Scope-OrgID: ${tenant}`, '--data-binary', `@${file(body)}`]);
const search = (query, extra = {}, tenant = 'acme') => {
  const r = curl(`${s.control}/api/search`, ['-H', `X-Scope-OrgID: ${tenant}`, '--data-binary', `@${file(JSON.stringify({ query, ...extra }))}`]);
  try { r.json = JSON.parse(r.text); } catch {}
  return r;
};
const hex = (n, w) => n.toString(16).padStart(w, '0');
const span = (trace, id, name, svc, t) => ({ resource: { attributes: [{ key: 'service.name', value: { stringValue: svc } }] },
  scopeSpans: [{ spans: [{ traceId: hex(trace, 32), spanId: hex(id, 16), name, startTimeUnixNano: String(t), endTimeUnixNano: String(t + 1000n * BigInt(id)) }] }] });
const DAY = 86400000000000n, T0 = yesterdayNs() - DAY + 12n * 3600000000000n; // noon UTC two days ago

// read-your-writes: a query right after the acknowledgement, no sleep
is(ingest('/v1/traces', JSON.stringify({ resourceSpans: [span(1, 1, 'first', 'svc-a', T0)] })).code, 200, 'a span acknowledged');
let r = search("SELECT name FROM spans WHERE trace_id = '00000000000000000000000000000001'");
is(r.json && r.json.result.rows, [{ name: 'first' }], 'read-your-writes: the query right after the acknowledgement finds it (still in the buffer)');
is(r.json.status, 'success', 'status success');
ok(['request_id', 'status', 'result', 'error', 'execution_time_ms', 'rows_scanned', 'bytes_scanned'].every((k) => k in r.json), 'the answer has every documented field');

// wait for a flush, then add more: the query reads parts and buffers as one
for (let i = 0; i < 100 && sql(db, 'select count(*) n from parts')[0].n === 0; i++) await sleep(20);
is(ingest('/v1/traces', JSON.stringify({ resourceSpans: [span(1, 2, 'second', 'svc-b', T0 + DAY), span(1, 3, 'third', 'svc-a', T0 + 2n * DAY)] })).code, 200, 'two more spans of the trace, on other days');
r = curl(`${s.control}/api/traces/00000000000000000000000000000001`, ['-H', 'X-Scope-OrgID: acme']);
const tr = JSON.parse(r.text);
is(tr.result.rows.map((x) => [x.name, x.span_id]), [['first', '0000000000000001'], ['second', '0000000000000002'], ['third', '0000000000000003']],
  'trace by id: every span, from a part and from the buffer, across days, in start order, ids in hex');
is(curl(`${s.control}/api/traces/xyz`).code, 400, 'trace by id: a malformed id is 400');

// a bigger set, then compare aggregates with DuckDB over the same parts
const rs = [];
for (let i = 0; i < 300; i++) rs.push(span(100 + (i % 30), 1000 + i, `op-${i % 7}`, `svc-${i % 4}`, T0 + BigInt(i) * 1000000n));
is(ingest('/v1/traces', JSON.stringify({ resourceSpans: rs })).code, 200, '300 spans acknowledged');
for (let i = 0; i < 200 && sql(db, 'select count(*) n from batch_tracker where storage_pip = 0')[0].n > 0; i++) await sleep(20);
const files = sql(db, "select path from parts where tenant = 'acme' and signal = 'traces'").map((p) => `'${path.join(s.data, p.path)}'`).join(',');
const ours = search('SELECT service_name, count(*) AS n, sum(duration_ns) AS d, min(start_time) AS lo FROM spans GROUP BY 1 ORDER BY 1', { limit: 100 }).json.result.rows;
const theirs = await duck(`select service_name, count(*) n, sum(duration_ns) d, min(epoch_ns(start_time)) lo from read_parquet([${files}]) group by 1 order by 1`);
is(ours.map((x) => [x.service_name, x.n, x.d, String(x.lo)]), theirs.map((x) => [x.service_name, Number(x.n), Number(x.d), String(x.lo)]), 'count, sum and min by service equal DuckDB on the same parts');
const p99 = search('SELECT name, p99(duration_ns) AS p FROM spans GROUP BY 1 ORDER BY 1').json.result.rows;
const dp99 = await duck(`select name, quantile_disc(duration_ns, 0.99) p from read_parquet([${files}]) group by 1 order by 1`);
is(p99.map((x) => [x.name, x.p]), dp99.map((x) => [x.name, Number(x.p)]), 'p99 by operation equals DuckDB quantile_disc');

// LIKE: the literal prefix prunes by statistics, ASCII case ignored as SQLite does
const likeN = search("SELECT count(*) AS n FROM spans WHERE name LIKE 'OP-1%'").json.result.rows[0].n;
const dLike = await duck(`select count(*) n from read_parquet([${files}]) where name ilike 'op-1%'`);
is(likeN, Number(dLike[0].n), `LIKE 'OP-1%' counts as DuckDB's ILIKE (${likeN})`);
const all = search("SELECT count(*) AS n FROM spans WHERE name LIKE '%'").json;
const none = search("SELECT count(*) AS n FROM spans WHERE name LIKE 'zzz%'").json;
ok(none.result.rows[0].n === 0 && none.rows_scanned < all.rows_scanned, `LIKE 'zzz%' skips row groups by their statistics (${none.rows_scanned} rows scanned, ${all.rows_scanned} without)`);

// limit, offset, has_more, formats
r = search('SELECT name FROM spans ORDER BY name, span_id', { limit: 5, offset: 2 });
is([r.json.result.total_count, r.json.result.has_more], [5, true], 'limit 5: five rows and has_more');
r = search("SELECT name FROM spans WHERE name = 'first'", { limit: 5 });
is([r.json.result.total_count, r.json.result.has_more], [1, false], 'a result under the limit: has_more false');
r = search("SELECT name, 1 AS one FROM spans WHERE name LIKE 'op-1' ORDER BY span_id", { format: 'ndjson', limit: 2 });
is(r.text.trim().split('\n').map((l) => JSON.parse(l)), [{ name: 'op-1', one: 1 }, { name: 'op-1', one: 1 }], 'format ndjson');
r = search("SELECT name, 1 AS one, 'a' || char(10) || 'b' AS nl FROM spans WHERE name = 'first' OR name = 'second' ORDER BY name", { format: 'csv', limit: 1 });
is(r.text.trim().split(/\r?\n/), ['name,one,nl', 'first,1,"a', 'b"'], 'format csv: the limit counts rows, not lines');

// logs: substring search, newest first
const logs = Array.from({ length: 20 }, (_, i) => ({ timeUnixNano: String(T0 + BigInt(i)), body: { stringValue: i % 2 ? `request ${i} timeout after 5s` : `request ${i} ok` } }));
is(ingest('/v1/logs', JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: logs }] }] })).code, 200, 'logs acknowledged');
r = curl(`${s.control}/api/logs/search?q=timeout&limit=3`, ['-H', 'X-Scope-OrgID: acme']);
is(JSON.parse(r.text).result.rows.map((x) => x.body), ['request 19 timeout after 5s', 'request 17 timeout after 5s', 'request 15 timeout after 5s'], 'log search: matches, newest first, limited');
r = curl(`${s.control}/api/logs/search?q=${encodeURIComponent("100%' OR 1=1 --")}`, ['-H', 'X-Scope-OrgID: acme']);
is(JSON.parse(r.text).result.rows, [], 'log search: quotes and wildcards in q match literally');
is(ingest('/v1/logs', JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [
  { timeUnixNano: String(T0 + 100n), body: { stringValue: 'he said "hi" in C:\\tmp — déjà vu' } },
  { timeUnixNano: String(T0 + 101n), body: { kvlistValue: { values: [{ key: 'user', value: { stringValue: 'zoë' } }] } } }] }] }] })).code, 200, 'logs with quotes, a backslash, unicode and a kvlist body');
const find = (text) => JSON.parse(curl(`${s.control}/api/logs/search?q=${encodeURIComponent(text)}`, ['-H', 'X-Scope-OrgID: acme']).text).result.rows.length;
is([find('said "hi" in C:\\tmp'), find('déjà vu'), find('zoë'), find('"user":"zoë"'), find('stringValue')], [1, 1, 1, 1, 0],
  'log search: text with quotes and a backslash, unicode, inside a kvlist body (matched on its plain JSON)');
is(curl(`${s.control}/api/logs/search`).code, 400, 'log search without q: 400');

// tenants
is(ingest('/v1/traces', JSON.stringify({ resourceSpans: [span(9, 9, 'other-tenant', 'svc-z', T0)] }), 'globex').code, 200, 'a span of another tenant');
is(search('SELECT count(*) AS n FROM spans', {}, 'globex').json.result.rows, [{ n: 1 }], 'tenant globex sees its one span');
is(search("SELECT count(*) AS n FROM spans WHERE name = 'other-tenant'").json.result.rows, [{ n: 0 }], 'tenant acme sees none of it');
is(search('SELECT 1', {}, '../x').code, 400, 'an invalid tenant: 400');

// bad queries: clear errors, the server unharmed
for (const [what, q, re] of [
  ['a syntax error', 'SELEC 1', /syntax error/],
  ['a write', 'DELETE FROM spans', /.+/],
  ['the schema table', 'SELECT * FROM sqlite_master', /not authorized|prohibited/],
  ['load_extension', "SELECT load_extension('x')", /not authorized/],
  ['a never-ending recursive CTE', 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) FROM c', /time budget/],
  ['randomblob', 'SELECT randomblob(1000000000)', /not authorized/],
]) {
  r = search(q);
  ok(r.code === 400 && r.json && r.json.status === 'failed' && re.test(r.json.error), `${what}: 400, status failed, ${JSON.stringify(r.json && r.json.error)}`);
}
// memory: a sort larger than the budget spills to a file; holding more stops the query
const gen = (n) => `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${n}) SELECT x FROM c`;
r = search(`SELECT x FROM (${gen(300000)}) ORDER BY -x`, { limit: 1 });
is(r.json && r.json.result && r.json.result.rows, [{ x: 300000 }], 'a sort of 300k rows under a 32 MiB budget spills and succeeds');
// the values come from a join of two materialized 5000-row tables: each
// row costs a step of a loop, not of a recursive CTE, so the 4M values
// that fill the budget come well within the time budget, even under ASan
r = search(`WITH g AS MATERIALIZED (${gen(5000)}) SELECT quantile(a.x * 5000 + b.x, 0.5) AS q FROM g a, g b`);
ok(r.code === 400 && /memory budget of 32 MiB/.test(r.json && r.json.error), `a quantile over 25M values stops at the memory budget: ${r.json && r.json.error}`);
r = curl(`${s.control}/api/search`, ['--data-binary', 'not json']);
is(r.code, 400, 'a body that is not JSON: 400');
is(curl(`${s.control}/api/search`).code, 405, 'GET /api/search: 405');

// a slow query never holds up an acknowledgement
const slow = httpPost(s.ports.control, '/api/search', JSON.stringify({ query: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) FROM c' }));
let slowDone = false;
slow.then(() => { slowDone = true; });
await sleep(100);
is(ingest('/v1/traces', JSON.stringify({ resourceSpans: [span(7, 7, 'during', 'svc-a', T0)] })).code, 200, 'an ingest request during a slow query: 200');
ok(!slowDone, 'and it was answered while the slow query still ran');
is((await slow).code, 400, 'the slow query then fails on its time budget');
is(search("SELECT count(*) AS n FROM spans WHERE name = 'during'").json.result.rows, [{ n: 1 }], 'the span acknowledged during it is readable');

// after a restart (SIGKILL: buffered rows come back from the WAL)
const before = search('SELECT count(*) AS n FROM spans').json.result.rows[0].n;
s.kill();
await s.exited;
s.forget();
const s2 = await start({ dir: s.dir, ports: s.ports, config: { 'storage.buffer.flush_interval_ms': 300 } });
const r2 = curl(`${s2.control}/api/search`, ['-H', 'X-Scope-OrgID: acme', '-d', JSON.stringify({ query: 'SELECT count(*) AS n FROM spans' })]);
is(JSON.parse(r2.text).result.rows[0].n, before, `after SIGKILL and a restart the same ${before} spans are found (parts and replayed WAL)`);
done();
})();

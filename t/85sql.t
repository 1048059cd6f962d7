#!/usr/bin/env node
// openwit sql: SQL over the committed Parquet parts of one tenant, with no
// server. Each query shape gives what DuckDB gives over the same files
// (the catalog's list); the tables prune by time, service, trace id; one
// tenant never sees another's rows; everything but a read is refused with
// a clear message, within the bounds; the data directory is left as it was.
const fs = require('node:fs');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
(async () => {
const { start, bin, sql, duck, otelSend, httpPost, ok, is, like, note, done, sleep, yesterdayNs } = await import('./lib/harness.mjs');
const s = await start({ tag: 'sql', config: { 'storage.buffer.flush_interval_ms': 200, 'storage.parquet.row_group_size': 1000 } });
const db = path.join(s.data, 'openwit.db');

// ---- data: the SDK's and hand-made requests, two tenants ----
for (const [signal, enc] of [['traces', 'proto'], ['logs', 'json'], ['metrics', 'proto']]) {
  const r = otelSend(s.otlp, signal, enc, ['--count', '20', '--marker', `sdk-${signal}`, '--tenant', 'acme']);
  ok(r.exit === 0 && r.failed === 0, `SDK ${signal}: exported to acme`, r);
}
const rb = otelSend(s.otlp, 'traces', 'json', ['--count', '7', '--marker', 'sdk-beta', '--tenant', 'beta']);
ok(rb.exit === 0 && rb.failed === 0, 'SDK traces: exported to beta', rb);

let seed = 42;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const hex = (n) => Array.from({ length: n }, () => Math.floor(rand() * 256).toString(16).padStart(2, '0')).join('');
// 23:00 UTC two days ago: the spans cross a day
const DAY = 86400000000000n, t0 = yesterdayNs() - DAY + 23n * 3600000000000n;
const isoDay = (ns) => new Date(Number(ns / 1000000n)).toISOString().slice(0, 10);
const day1 = isoDay(t0 + DAY), day2 = isoDay(t0 + 2n * DAY), t0iso = new Date(Number(t0 / 1000000n)).toISOString();
const services = ['checkout', 'frontend', 'payments'];
const names = ['GET /', 'POST /pay', 'SELECT', 'render'];
const methods = ['GET', 'POST', 'PUT'];
const traceIds = [];
const spanReq = (svc, n, from) => {
  const spans = [];
  for (let i = 0; i < n; i++) {
    if ((from + i) % 4 === 0) traceIds.push(hex(16));
    const start = t0 + BigInt(from + i) * 2000000000n;
    const dur = BigInt(1000 + Math.floor(rand() * 1e6));
    spans.push({ traceId: traceIds[traceIds.length - 1], spanId: hex(8), name: names[(from + i) % 4], kind: 2,
      startTimeUnixNano: String(start), endTimeUnixNano: String(start + dur),
      attributes: [{ key: 'http.method', value: { stringValue: methods[i % 3] } }], status: { code: i % 17 === 0 ? 2 : 0 } });
  }
  return JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: svc } }] }, scopeSpans: [{ spans }] }] });
};
let sent = 0;
for (const svc of services)
  for (let k = 0; k < 4; k++) {
    const r = await httpPost(s.ports.otlp, '/v1/traces', spanReq(svc, 200, sent), { headers: { 'X-Scope-OrgID': 'acme' } });
    ok(r.code === 200, `spans of ${svc} (${k}): 200`) || note(r.text);
    sent += 200;
  }
const logRecs = [];
for (let i = 0; i < 300; i++)
  logRecs.push({ timeUnixNano: String(t0 + BigInt(i) * 7000000000n), severityNumber: 9 + (i % 3) * 4,
    body: { stringValue: i % 10 === 3 ? `payment failed marker-${i} retry` : `request ${i} ok` },
    attributes: [{ key: 'http.method', value: { stringValue: methods[i % 3] } }] });
let r = await httpPost(s.ports.otlp, '/v1/logs', JSON.stringify({ resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'payments' } }] }, scopeLogs: [{ logRecords: logRecs }] }] }), { headers: { 'X-Scope-OrgID': 'acme' } });
is(r.code, 200, 'logs: 200');
const points = (name, n) => ({ name, sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: Array.from({ length: n }, (_, i) => ({ timeUnixNano: String(t0 + BigInt(i) * 1000000000n), asInt: String(i * 3 + 1) })) } });
r = await httpPost(s.ports.otlp, '/v1/metrics', JSON.stringify({ resourceMetrics: [{ scopeMetrics: [{ metrics: [points('requests', 40), points('errors', 9), { name: 'temp', gauge: { dataPoints: [{ timeUnixNano: String(t0), asDouble: 'NaN' }, { timeUnixNano: String(t0), asDouble: 21.5 }] } }] }] }] }), { headers: { 'X-Scope-OrgID': 'acme' } });
is(r.code, 200, 'metrics: 200');
r = await httpPost(s.ports.otlp, '/v1/traces', spanReq('beta-svc', 5, 0), { headers: { 'X-Scope-OrgID': 'beta' } });
is(r.code, 200, 'beta spans: 200');

for (let i = 0; i < 200; i++) {
  const rows = sql(db, 'select storage_pip from batch_tracker');
  if (rows.length && rows.every((x) => x.storage_pip === 1)) break;
  await sleep(50);
}
is(sql(db, 'select count(*) n from batch_tracker where storage_pip = 0')[0].n, 0, 'every batch is stored');

// ---- the runner and DuckDB over the catalog's files ----
const run = (q, { tenant = 'acme', format = 'json', args = [], input } = {}) => {
  const t = Date.now();
  const p = spawnSync(bin, ['sql', '-d', s.data, '-T', tenant, '--format', format, ...args, ...(input === undefined ? [q] : [])],
    { input, maxBuffer: 1 << 26, timeout: 30000 });
  const res = { code: p.status, out: p.stdout.toString(), err: p.stderr.toString(), ms: Date.now() - t };
  if (format === 'json' && res.code === 0) res.rows = JSON.parse(res.out);
  return res;
};
const rows = (q, opts) => {
  const x = run(q, opts);
  if (x.code !== 0) note(`${q}: ${x.err}`);
  return x.rows || [];
};
const files = (tenant, signal) => sql(db, `select path from parts where tenant = '${tenant}' and signal = '${signal}'`).map((p) => `'${path.join(s.data, p.path)}'`);
const src = (tenant, signal) => `openwit([${files(tenant, signal).join(', ')}])`;
const spans = src('acme', 'traces'), logs = src('acme', 'logs'), metrics = src('acme', 'metrics');
// DuckDB's integers arrive as strings, ours as numbers: compare as numbers
const norm = (list) => list.map((o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v !== null && v !== '' && !isNaN(Number(v)) ? Number(v) : v])));
const same = async (ours, theirs, name) => is(norm(rows(ours)), norm(await duck(theirs)), name);

const total = Number((await duck(`select count(*) n from ${spans}`))[0].n);
is(total, 2400 + 20, 'DuckDB: acme has 2420 spans');
await same('select count(*) n from spans', `select count(*) n from ${spans}`, 'count(*)');
await same('select service_name s, count(*) n from spans group by 1 order by 1',
  `select service_name s, count(*) n from ${spans} group by 1 order by 1`, 'count by service_name');
const avg = rows('select name, avg(duration_ns) a, min(duration_ns) mn, max(duration_ns) mx from spans group by name order by name');
const davg = await duck(`select name, avg(duration_ns) a, min(duration_ns) mn, max(duration_ns) mx from ${spans} group by name order by name`);
ok(avg.length === davg.length && avg.length > 4 && avg.every((x, i) => x.name === davg[i].name && Math.abs(x.a - davg[i].a) <= 1e-9 * Math.abs(x.a) &&
  x.mn === Number(davg[i].mn) && x.mx === Number(davg[i].mx)), 'avg, min, max of duration_ns by name', { ours: avg, duckdb: davg });
await same('select service_name s, p50(duration_ns) a, p90(duration_ns) b, p99(duration_ns) c, quantile(duration_ns, 0.25) d from spans group by 1 order by 1',
  `select service_name s, quantile_disc(duration_ns, 0.5) a, quantile_disc(duration_ns, 0.9) b, quantile_disc(duration_ns, 0.99) c, quantile_disc(duration_ns, 0.25) d from ${spans} group by 1 order by 1`,
  'p50, p90, p99 and quantile of duration by service (exact, as quantile_disc)');
const lo = t0 + 1000n * 1000000000n, hi = t0 + 1500n * 1000000000n;
await same(`select service_name s, count(*) n from spans where start_time between ${lo} and ${hi} group by 1 order by 1`,
  `select service_name s, count(*) n from ${spans} where epoch_ns(start_time) between ${lo} and ${hi} group by 1 order by 1`, 'a time range, by service');
await same(`select count(*) n from spans where start_time >= ns('${day1}') and start_time < ns('${day1}') + interval_ns('1 day')`,
  `select count(*) n from ${spans} where start_time >= '${day1}' and start_time < '${day2}'`, 'a day, with ns() and interval_ns()');
await same(`select count(*) n from spans where service_name in ('payments', 'frontend') and name = 'SELECT'`,
  `select count(*) n from ${spans} where service_name in ('payments', 'frontend') and name = 'SELECT'`, 'service_name IN and name =');
const tid = traceIds[37];
const trace = rows(`select span_id, name, cast(start_time as text) st from spans where trace_id = '${tid}' order by start_time`);
const dtrace = await duck(`select lower(hex(span_id)) span_id, name, epoch_ns(start_time)::VARCHAR st from ${spans} where hex(trace_id) = upper('${tid}') order by start_time`);
ok(trace.length === 4 && JSON.stringify(trace) === JSON.stringify(dtrace), 'trace by id: its 4 spans, in start order', { ours: trace, duckdb: dtrace });
await same(`select trace_id, count(*) n from spans where trace_id in ('${traceIds[1]}', '${traceIds[500]}', 'not-an-id') group by 1 order by 1`,
  `select lower(hex(trace_id)) trace_id, count(*) n from ${spans} where hex(trace_id) in (upper('${traceIds[1]}'), upper('${traceIds[500]}')) group by 1 order by 1`, 'trace_id IN');
is(rows(`select count(*) n from spans where trace_id = upper('${tid}')`), [{ n: 0 }], 'ids compare as lowercase hex: the uppercase id finds nothing');
await same(`select cast(time as text) t, body from logs where body like '%marker%' order by time desc limit 5`,
  `select epoch_ns(time)::VARCHAR t, body from ${logs} where body like '%marker%' order by time desc limit 5`, 'logs LIKE, newest first, limit');
await same(`select severity_number sn, count(*) n from logs group by 1 order by 1`, `select severity_number sn, count(*) n from ${logs} group by 1 order by 1`, 'logs by severity');
await same(`select metric_name m, sum(value_int) s, count(value) v from metrics group by 1 order by 1`,
  `select metric_name m, sum(value_int) s, count(value) filter (where not isnan(value)) v from ${metrics} group by 1 order by 1`, 'metrics: sum of value_int by metric_name (a NaN value reads as NULL)');
await same(`select json_extract(attributes, '$."http.method".stringValue') m, count(*) n from spans group by 1 order by 1`,
  `select json_extract_string(attributes, '$."http.method"') m, count(*) n from ${spans} group by 1 order by 1 nulls first`, 'json_extract on attributes: a README path of before, and DuckDB by key');
await same(`select time_bucket_ns(start_time, interval_ns('10 min')) b, count(*) n from spans where service_name = 'checkout' group by 1 order by 1`,
  `select epoch_ns(time_bucket(interval 10 minute, start_time)) b, count(*) n from ${spans} where service_name = 'checkout' group by 1 order by 1`, 'time_bucket_ns by 10 minutes');
is(rows(`select ns_to_iso(${t0}) a, ns('${t0iso.slice(0, 10)} 23:00:00') = ${t0} b, interval_ns('90s') c, interval_ns('2 hours') d, time_bucket_ns(-1, 10) e`),
  [{ a: `${t0iso.slice(0, 19)}.000000000Z`, b: 1, c: 90e9, d: 7200e9, e: -10 }], 'time helpers');

// ---- pruning, seen in what was read ----
const stats = (q, args = []) => {
  const x = run(q, { format: 'csv', args: ['--stats', ...args] });
  const m = x.err.match(/read (\d+) parts, (\d+) row groups, (\d+) rows, (\d+) bytes/);
  return m ? { parts: +m[1], rgs: +m[2], rows: +m[3], bytes: +m[4] } : { err: x.err };
};
const all = stats('select count(*) from spans');
const byId = stats(`select * from spans where trace_id = '${tid}'`);
const byDay = stats(`select count(*) from spans where start_time >= ${t0 + 3600n * 1000000000n}`);
const bySvc = stats(`select count(*) from spans where service_name = 'frontend'`);
note(`read: all ${JSON.stringify(all)}, trace by id ${JSON.stringify(byId)}, one day ${JSON.stringify(byDay)}, one service ${JSON.stringify(bySvc)}`);
ok(all.rows === total && all.bytes === 0, 'count(*) reads every row group and decodes no column');
ok(byId.rows > 0 && byId.rgs < all.rgs && byId.rows < all.rows / 2, 'trace by id: bloom filters and statistics leave few row groups');
ok(byDay.parts < all.parts, 'a time range opens only the parts of its day');
ok(bySvc.rgs < all.rgs, 'service_name = prunes row groups by their statistics');
// one scan layer under both engines: SQLite skips the parts and row groups
// the columnar engine skips
for (const [what, q, auto] of [['trace by id', `select * from spans where trace_id = '${tid}'`, byId],
  ['one day', `select count(*) from spans where start_time >= ${t0 + 3600n * 1000000000n}`, byDay],
  ['one service', `select count(*) from spans where service_name = 'frontend'`, bySvc]]) {
  const x = stats(q, ['--engine', 'sqlite']);
  is([x.parts, x.rgs, x.rows], [auto.parts, auto.rgs, auto.rows], `${what}: SQLite reads the parts, row groups and rows the columnar engine reads`);
}
// a pattern past SQLite's limit prunes nothing: SQLite's error, not rows
// pruned away unchecked
like(run(`select count(*) n from spans where name like '${'x'.repeat(60000)}%'`, { args: ['--engine', 'sqlite'] }).err, /LIKE or GLOB pattern too complex/,
  'a LIKE pattern past SQLITE_LIMIT_LIKE_PATTERN_LENGTH: SQLite\'s error');

// ---- tenants ----
is(rows('select service_name s, count(*) n from spans group by 1 order by 1', { tenant: 'beta' }), [{ s: 'beta-svc', n: 5 }, { s: 'otel-js-test', n: 7 }], 'tenant beta sees its 12 spans');
is(rows(`select count(*) n from spans where trace_id = '${tid}' or service_name = 'checkout'`, { tenant: 'beta' }), [{ n: 0 }], 'and none of acme\'s');
is(rows('select (select count(*) from logs) + (select count(*) from metrics) n', { tenant: 'nobody' }), [{ n: 0 }], 'a tenant without data has empty tables');
like(run('select 1', { tenant: '../acme' }).err, /invalid tenant/, 'an invalid tenant is refused');

// ---- formats ----
const csv = run('select service_name, count(*) n from spans group by 1 order by 1', { format: 'csv' });
is(csv.out.trim().split('\n'), ['service_name,n', 'checkout,800', 'frontend,800', 'otel-js-test,20', 'payments,800'], 'csv');
const nd = run(`select name, 'a,"b"' x, null y from spans where service_name = 'payments' group by 1 order by 1`, { format: 'ndjson' });
is(nd.out.trim().split('\n').map((l) => JSON.parse(l)), names.slice().sort().map((n) => ({ name: n, x: 'a,"b"', y: null })), 'ndjson');
like(run('select service_name, count(*) n from spans group by 1 order by 1', { format: 'table' }).out, /^ service_name \| +n\n-+\+-+\n checkout +\| +800\n/, 'table');
const viaConf = spawnSync(bin, ['sql', '-c', s.conf, '-T', 'acme', '--format', 'csv', 'select count(*) n from spans']);
is(viaConf.stdout.toString(), `n\n${total}\n`, '-c FILE: the data directory from the configuration');
const viaStdin = run(null, { input: 'select count(*) n from logs' });
is(viaStdin.rows, [{ n: 300 + 20 }], 'the query from standard input');
const bad = run('select 1', { args: ['--max-rows', 'x'] });
ok(bad.code === 2 && /--max-rows needs a number/.test(bad.err), 'a bad option value is a usage error (exit 2)', bad);

// ---- refused, each with a message, within the bounds ----
const refused = [
  ["attach '/tmp/x.db' as x", /not authorized/],
  ['pragma table_info(spans)', /not authorized/],
  ["select * from pragma_table_info('spans')", /prohibited|not authorized/],
  ['select * from sqlite_master', /prohibited/],
  ['select name from sqlite_schema', /prohibited/],
  ["insert into spans(name) values ('x')", /not authorized/],
  ['create table t(a)', /not authorized/],
  ['create temp view v as select 1', /not authorized/],
  ['delete from logs', /may not be modified/],
  ['begin', /not authorized/],
  ["vacuum into '/tmp/openwit-vacuum.db'", /not authorized/],
  ["select load_extension('x')", /not authorized to use function: load_extension/],
  ['select randomblob(1e9)', /not authorized to use function: randomblob/],
  ['select length(zeroblob(1e9))', /not authorized to use function: zeroblob/],
  ['select 1; select 2', /one statement at a time/],
];
for (const [q, re] of refused) {
  const x = run(q);
  ok(x.code === 1 && re.test(x.err) && /^openwit: sql: /.test(x.err) && x.ms < 5000, `refused: ${q}`, x);
}
const bounded = [
  ['a recursive CTE that never ends', 'with recursive c(x) as (select 1 union all select x + 1 from c) select count(*) from c', /query exceeded its time budget of 1000 ms/],
  ['a result past --max-rows', 'with recursive c(x) as (select 1 union all select x + 1 from c) select x from c', /result exceeds 100 rows/],
  ['a quantile past the memory bound', 'with recursive c(x) as (select 1 union all select x + 1 from c where x < 3000000) select p50(x) from c', /exceeded its memory budget of 8 MiB/],
  ['1 MB of SQL', 'select ' + "'x' || ".repeat(150000) + "'x'", /SQL is \d+ bytes long, more than 100000/],
  ['deeply nested parentheses', 'select ' + '('.repeat(2000) + '1' + ')'.repeat(2000), /parser stack overflow|too large/],
  ['a deep expression', 'select ' + '1 + '.repeat(500) + '1', /Expression tree is too large \(maximum depth 100\)/],
];
for (const [name, q, re] of bounded) {
  // the memory case gets time enough to reach its bound on a loaded machine
  const ms = /memory/.test(name) ? '20000' : '1000';
  const x = run(null, { input: q, args: ['--timeout-ms', ms, '--max-rows', '100', '--max-memory-mb', '8'] });
  ok(x.code === 1 && re.test(x.err) && x.ms < 20000, `bounded: ${name} (${x.ms} ms)`, x);
}

// ---- after the server stopped: the same answers, nothing written ----
const before = rows('select service_name s, count(*) n from spans group by 1 order by 1');
await s.stop();
const listing = () => {
  const out = [];
  const walk = (d) => { for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name < b.name ? -1 : 1)) { const f = path.join(d, e.name); if (e.isDirectory()) walk(f); else out.push(`${path.relative(s.data, f)} ${fs.statSync(f).size} ${fs.statSync(f).mtimeMs}`); } };
  walk(s.data);
  return out;
};
const l0 = listing();
ok(!l0.some((f) => /openwit\.db-(wal|shm)/.test(f)), 'a stopped server leaves no -wal or -shm file');
is(rows('select service_name s, count(*) n from spans group by 1 order by 1'), before, 'after the server stopped: the same answer');
run('select * from sqlite_master');
run('select count(*) from logs', { tenant: 'beta' });
is(listing(), l0, 'the data directory is as it was (names, sizes, times): no -wal or -shm created, nothing written');

// ---- beside a server that flushes and merges all the time ----
// Each request is one batch of 100 spans, stored whole: every count a
// query sees is a multiple of 100, and never smaller than the one before
// (a merge swaps its parts in one step; a mapped part outlives its unlink).
const m = await start({ tag: 'sql-merge', config: { 'storage.buffer.flush_interval_ms': 30,
  'storage.file_rotation.file_duration_minutes': 0, 'storage.file_rotation.check_interval_ms': 20 } });
const count = () => new Promise((resolve) => {
  const p = spawn(bin, ['sql', '-d', m.data, '--format', 'csv', 'select count(*) from spans']);
  let out = '', err = '';
  p.stdout.on('data', (d) => { out += d; });
  p.stderr.on('data', (d) => { err += d; });
  p.on('close', (code) => resolve(code === 0 ? Number(out.split('\n')[1]) : err));
});
let sending = true;
const sender = (async () => {
  for (let k = 0; k < 20; k++) {
    await httpPost(m.ports.otlp, '/v1/traces', spanReq('merge', 100, k * 100));
    await sleep(40);
  }
  sending = false;
})();
const seen = [];
while (sending || seen.length < 5) seen.push(await count());
await sender;
ok(seen.every((n, i) => Number.isInteger(n) && n % 100 === 0 && n <= 2000 && (i === 0 || n >= seen[i - 1])), `${seen.length} queries during flushes and merges: whole batches, never fewer than before`, seen);
for (let i = 0; i < 100 && (await count()) !== 2000; i++) await sleep(50);
is(await count(), 2000, 'then every span');
ok(sql(path.join(m.data, 'openwit.db'), "select count(*) n from parts where kind = 'stable'")[0].n > 0, 'and the janitor did merge meanwhile');
done();
})();

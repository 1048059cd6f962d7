#!/usr/bin/env node
// The query corpus (t/corpus/queries.mjs: queries as users write them, each
// a pair of openwit SQL and DuckDB SQL) and generated expression-rich
// queries (t/corpus/random.mjs), over a realistic dataset: t/bench/loadgen
// gen at a small scale from its fixed seed, sent over OTLP/HTTP, checked
// once every record is in a Parquet part. Each query runs three ways on
// the same parts: openwit as it comes (the answer's "engine"), openwit
// with {"engine":"sqlite"} (the same bytes), and DuckDB over the catalog's
// files (the same values, t/corpus/check.mjs). Every corpus query must run
// on the columnar engine but those listed in FALLBACK, and a listed one
// that runs columnar fails the test until it is taken off the list: the
// list only shrinks. CORPUS_RANDOM=N sets how many generated queries (300).
const path = require('node:path');
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');
(async () => {
const { start, sql, ok, is, note, done, root, tmpdir, sleep } = await import('./lib/harness.mjs');
const { corpus } = await import('./corpus/queries.mjs');
const { generate } = await import('./corpus/random.mjs');
const { openwit, duckdb, differ } = await import('./corpus/check.mjs');

// The corpus queries that SQLite answers today, by name: the columnar
// engine does not take their shape yet (issue 17).
const FALLBACK = new Set([
  'red: requests, errors and p99 per minute, checkout', 'red: rate, errors, duration per service (CASE)',
  'red: error rate per service, percent', 'red: p50, p90, p99 per operation, ms',
  'red: p99 per operation, real ms', 'red: avg duration ms per service, rounded',
  'red: requests per second per service, 30 minutes',
  'red: count by service, 30 min range (folded literals)',
  'red: count by service, 10 minutes with interval_ns', 'red: spans per minute, BETWEEN',
  'red: requests per 5 minutes, integer division', 'red: requests per minute label (strftime)',
  'red: error ratio per minute (frontend-proxy)', 'red: p99 per minute, payment',
  'red: server and client spans per service (IIF)', 'red: spans by kind, named',
  'red: apdex per service (250 ms)', 'red: slow request share per service',
  'red: total time per service, seconds', 'red: requests of two services, OR',
  'red: services with more than 1% errors (HAVING)', 'red: operations slower than 50 ms at p90 (HAVING)',
  'red: busy operations (HAVING count alias)', 'red: the 15-minute window after 00:30 per service',
  'red: hourly summary', 'topk: slowest spans of payment in ms', 'topk: longest traces',
  'topk: busiest pods', 'hist: 10 ms buckets, frontend', 'hist: 100 ms buckets as ms',
  'hist: named buckets (CASE)', 'hist: buckets per service (CASE)',
  'hist: 1 ms buckets under 20 ms, checkout', 'hist: log2 buckets of microseconds',
  'hist: database latency buckets', 'hist: cumulative share under thresholds',
  'hist: duration percent of trace (substr of name)', 'attr: status classes per route (CASE on ->>)',
  'attr: error rate per route', 'attr: methods (json_extract)',
  'attr: route and method (json_extract and ->>)', 'attr: HTTP 500 by service (json_extract)',
  'attr: cache hit ratio', 'attr: score thresholds (a real attribute)', 'attr: high score thresholds',
  'attr: method, COALESCE with rpc', 'attr: IFNULL route', 'attr: NULLIF of status 200',
  'attr: requests per pod of checkout', 'attr: runtime names (resource json_extract)',
  'attr: distinct routes', 'trace: children of its root (IN subquery)',
  'trace: traces having an error, per service (IN subquery)',
  'trace: spans of traces having an error, count', 'trace: root operations of failed traces',
  'trace: traces touching payment, by root', 'trace: spans of a service in a window',
  'trace: end before start never happens', 'trace: first span as ISO text', 'trace: datetime of slow spans',
  'log: connection refused, lower()', 'log: error percentage per service',
  'log: warn and error percentage per service (IN)', 'log: severity per minute (CASE columns)',
  'log: distinct severity texts', 'log: errors of one service in a window',
  'log: card declined by service (instr)', 'log: message kinds by first words (substr)',
  'log: body lengths per service', 'log: upper-case search',
  'log: retries per dependency (replace and substr)', 'log: circuit breakers, trim',
  'log: access log bytes per path', 'log: access log 5xx share per minute',
  'log: exception messages per service', 'log: pods with most errors',
  'log: services logging more than 500 lines (HAVING)',
  'log: services with errors and warnings (HAVING two aggregates)', 'log: OR of two searches',
  'log: NOT of a search', 'log: the log search API shape', 'log: observed delay per service, microseconds',
  'log: COALESCE severity', 'log: error lines in a 10 minute window (folded literals)',
  'log: hour and minute labels of errors', 'log: currencies resolved', 'log: carriers of shipments',
  'metric: memory per pod, last value (IN subquery)', 'metric: memory per service, MB, max',
  'metric: memory series per minute in MiB (real)', 'metric: units and descriptions',
  'metric: counter increase per pod (max - min)', 'metric: histogram observations per route (last point)',
  'metric: histogram mean latency per service', 'metric: consumed messages increase per group',
  'metric: points in the first 90 seconds', 'metric: points per 10 s tick',
  'metric: values as one number (COALESCE, CAST)', 'metric: integer or real points',
  'metric: cpu utilization over 20% (HAVING)', 'metric: utilization rounded percent per pod',
  'metric: uptime hours per service (start_time)', 'metric: bucket bounds of one histogram',
  'metric: gauge min/avg/max per minute, ns() window', 'misc: GROUP BY alias and ORDER BY alias',
  'misc: expression group (kind * 10 + status)', 'misc: modulo buckets of duration',
  'misc: abs of a difference', 'misc: scalar min and max', 'misc: CAST to text and back',
  'misc: CAST real to integer', 'misc: string concatenation of service and operation',
  'misc: length of names', 'misc: upper and lower names', 'misc: NOT BETWEEN', 'misc: nested OR and AND',
  'misc: status message empty or null', 'misc: comparison as a value', 'misc: DISTINCT pairs',
  'misc: DISTINCT of an expression', 'misc: count DISTINCT of an expression',
  'misc: sum of CASE with ELSE NULL', 'misc: nested CASE', 'misc: IIF and NULLIF together',
  'misc: WHERE on an expression', 'misc: WHERE end - start', 'misc: ORDER BY an expression',
  'misc: aggregate of an expression ORDER BY it again', 'misc: avg of a boolean for share',
  'misc: interval_ns buckets', 'misc: minute of hour', 'misc: sum of durations as real seconds'
]);
// The corpus queries openwit answers wrongly today, by name, with the bug:
// each must still differ (from SQLite's rows or DuckDB's), and one that
// agrees fails the test until it is taken off this list.
// vtab.c: a row's rowid is its number in its scan (it restarts at 0 with
// every xFilter), so when SQLite answers an OR with one scan per term and
// drops the rowids it has seen (its OR-by-union plan), rows of the later
// terms are lost: only the GET rows are counted, 1067 spans where there
// are 1081 (the same query with +kind, which no index takes, finds them).
const OR_ROWIDS = 'OR: rowids repeat across the scans SQLite unites';
const WRONG = new Map([
  ['hist: duration percent of trace (substr of name)', OR_ROWIDS],
  ['log: OR of two searches', OR_ROWIDS],
  ['misc: nested OR and AND', OR_ROWIDS],
]);

const T_START = Date.now();
const loadgen = process.env.OPENWIT_LOADGEN_BIN || path.join(root, 't/bench/loadgen');
const N = 20000; // records a signal
const gdir = tmpdir('corpus-gen');
// loadgen is a tool here, not under test: no leak report from an ASan build
const lgEnv = { env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=0' } };
const g = spawnSync(loadgen, ['gen', '-o', gdir, '-n', N, '-l', N, '-m', N, '-r', 500].map(String), lgEnv);
ok(g.status === 0, `loadgen gen: ${N} spans, log records and points`, g.stderr.toString());
const gen = JSON.parse(g.stdout.toString());

const TENANT = 'corpus';
const s = await start({ tag: 'corpus', config: { 'storage.buffer.flush_interval_ms': 500,
  // no merge while the test reads the parts the catalog listed
  'storage.file_rotation.file_size_mb': 1048576, 'storage.file_rotation.file_duration_minutes': 525600 } });
for (const sig of ['traces', 'logs', 'metrics']) {
  const r = spawnSync(loadgen, ['send', '-k', sig, '-a', `127.0.0.1:${s.ports.otlp}`, '-c', '2', '-T', TENANT, gdir], lgEnv);
  let j = {};
  try { j = JSON.parse(r.stdout.toString().trim().split('\n').pop()); } catch {}
  ok(r.status === 0 && j.acked_records === gen[sig].records, `${sig}: ${gen[sig].records} records sent over OTLP/HTTP and acknowledged`, r.stderr.toString() + r.stdout.toString());
}
// every batch in a committed part
const db = path.join(s.data, 'openwit.db');
const total = gen.traces.records + gen.logs.records + gen.metrics.records;
for (let k = 0; ; k++) {
  const r = sql(db, 'select coalesce(sum(storage_pip = 0), 0) waiting, coalesce(sum(record_count), 0) recs from batch_tracker')[0];
  if (r.waiting === 0 && r.recs === total) break;
  if (k > 600) { ok(false, `stored: ${JSON.stringify(r)}, want ${total} records`); done(); }
  await sleep(50);
}
const files = (sig) => sql(db, `select path from parts where tenant = '${TENANT}' and signal = '${sig}'`).map((p) => `'${path.join(s.data, p.path)}'`);
const duck = await duckdb();
await duck.views({ spans: `read_parquet([${files('traces').join(', ')}])`, logs: `read_parquet([${files('logs').join(', ')}])`,
  metrics: `read_parquet([${files('metrics').join(', ')}])` });
const counts = [];
for (const t of ['spans', 'logs', 'metrics']) counts.push(Number((await openwit(s.ports.control, TENANT, `SELECT count(*) AS n FROM ${t}`)).rows[0][0].i));
is(counts, [gen.traces.records, gen.logs.records, gen.metrics.records], `every record visible (${((Date.now() - T_START) / 1000).toFixed(1)} s in)`);

// A query three ways: null when the three answers agree, else why not.
const three = async (ours, theirs) => {
  const a = await openwit(s.ports.control, TENANT, ours);
  const b = await openwit(s.ports.control, TENANT, ours, 'sqlite');
  let d;
  try { d = await duck.run(theirs); } catch (e) { d = { error: String(e.message || e) }; }
  const res = { engine: a.engine, rows: b.rows ? b.rows.length : 0 };
  if (b.code !== 200) res.why = `SQLite: ${b.code} ${b.error}`;
  else if (a.code !== 200 || a.rowsText !== b.rowsText) res.why = `${a.engine}: ${a.code} ${(a.rowsText || a.error || '').slice(0, 300)}\n  sqlite: ${b.rowsText.slice(0, 300)}`;
  else if (d.error) res.why = `DuckDB: ${d.error}`;
  else {
    const x = differ(b.rows, d.rows);
    if (x) res.why = `DuckDB differs: ${x}`;
  }
  return res;
};

// ---- the corpus ----
const Q = corpus({ traceId: gen.sample_trace_id });
const names = new Set(Q.map((q) => q.name));
ok(Q.length >= 200 && names.size === Q.length, `${Q.length} corpus queries, each with a name of its own`);
const strays = [...FALLBACK, ...WRONG.keys()].filter((n) => !names.has(n));
ok(strays.length === 0, 'FALLBACK and WRONG name corpus queries', strays.join('\n'));
let columnar = 0;
const leftFallback = [], leftWrong = [];
for (const q of Q) {
  const r = await three(q.ow, q.duck);
  const why = [];
  if (WRONG.has(q.name)) {
    if (!r.why) { why.push(`answers right now (${WRONG.get(q.name)}): remove it from WRONG in t/92corpus.t`); leftWrong.push(q.name); }
  } else if (r.why) why.push(r.why);
  else if (r.rows === 0) why.push('no rows: a corpus query should find something');
  if (r.engine === 'columnar') {
    columnar++;
    if (FALLBACK.has(q.name)) { why.push('runs columnar now: remove it from FALLBACK in t/92corpus.t'); leftFallback.push(q.name); }
  } else if (!FALLBACK.has(q.name)) why.push(`answered by ${r.engine}, not columnar`);
  const said = WRONG.has(q.name) ? `, wrong as known: ${WRONG.get(q.name)}` : why.length ? '' : ', as DuckDB';
  ok(why.length === 0, `${q.name}: ${r.engine}, ${r.rows} rows${said}`, `${why.join('\n')}\n  ${q.ow}\n  ${q.duck}`);
}
if (leftFallback.length) note(`to take off FALLBACK (they run columnar now):\n${leftFallback.map((n) => `  ${JSON.stringify(n)}`).join('\n')}`);
if (leftWrong.length) note(`to take off WRONG (they answer right now):\n${leftWrong.map((n) => `  ${JSON.stringify(n)}`).join('\n')}`);
note(`corpus: ${columnar} of ${Q.length} queries columnar (${((Date.now() - T_START) / 1000).toFixed(1)} s in)`);

// ---- generated queries ----
// Those with an OR are counted apart while SQLite's OR-by-union loses rows
// (OR_ROWIDS above): a TODO, which passes unexpectedly once it is fixed.
const R = Number(process.env.CORPUS_RANDOM || 300);
let rcol = 0, nonEmpty = 0;
const gen2 = { plain: { n: 0, same: 0, bad: [] }, or: { n: 0, same: 0, bad: [] } };
for (const q of generate(R, 0x92c0)) {
  const r = await three(q.ow, q.duck);
  const k = gen2[/ OR /.test(q.ow) ? 'or' : 'plain'];
  k.n++;
  if (!r.why) k.same++;
  else if (k.bad.length < 5) k.bad.push(`${r.why}\n  ${q.ow}\n  ${q.duck}`);
  if (r.engine === 'columnar') rcol++;
  if (r.rows > 0) nonEmpty++;
}
is(gen2.plain.same, gen2.plain.n, `${gen2.plain.n} generated queries without OR: columnar or not, SQLite's bytes and DuckDB's values`) || note(gen2.plain.bad.join('\n'));
ok(gen2.or.same === gen2.or.n, `${gen2.or.n} generated queries with OR: the same (${gen2.or.same} are) # TODO ${OR_ROWIDS}`) || note(gen2.or.bad.join('\n'));
ok(nonEmpty > R * 0.8, `most of them have rows (${nonEmpty})`);
// as many as ran columnar when this was written, or more: raise it as the
// engine takes more shapes
const GENERATED_COLUMNAR = 5;
if (R === 300) ok(rcol >= GENERATED_COLUMNAR, `at least ${GENERATED_COLUMNAR} of them columnar (${rcol})`);
note(`generated: ${rcol} of ${R} columnar (${((Date.now() - T_START) / 1000).toFixed(1)} s in)`);
s.checkLog();
done();
})();

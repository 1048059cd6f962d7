// queries.mjs - the query corpus: questions asked of traces, logs and
// metrics the way people type them (dashboards, drill-downs, log searches,
// metric panels), each as a pair: the openwit SQL (SQLite's dialect, our
// tables) and the DuckDB SQL of the same question over the same rows
// (views named spans, logs and metrics over the Parquet files). Used by
// t/92corpus.t (the three engines agree) and make bench (t/bench/corpus.mjs:
// openwit's time beside DuckDB's).
//
// The data is t/bench/loadgen's (an online shop; spans and logs over the
// hour from its t0_ns, a UTC midnight, metric points every 10 s from then),
// at any scale, so the queries name its services, operations, attribute
// keys and texts. P.traceId is a trace of the data (loadgen's
// sample_trace_id), P.t0 its t0_ns.
//
// The dialects, as the pairs write them:
//   times       ours: integer ns; DuckDB: TIMESTAMP_NS (epoch_ns() to
//               show, a TIMESTAMP literal or make_timestamp_ns() to compare)
//   ids         ours: lowercase hex text; DuckDB: BLOB (lower(hex()) to
//               show, hex(id) = upper('...') to filter: DuckDB 1.5.6
//               misreads the bloom filter for = from_hex(), see README)
//   ->>         ours: the value with its type; DuckDB: VARCHAR, cast by
//               the query (::BIGINT) where a number is meant; an OTel key
//               holds dots and is one key in both ('http.route')
//   body        ours: a string body reads as the string; DuckDB: the JSON
//               string it is stored as, body
//   /           ours: integer division between integers; DuckDB: //
//   LIKE        ours: ASCII case ignored; DuckDB: ILIKE
//   p50 p90 p99 quantile_disc(x, 0.5 | 0.9 | 0.99)
//   booleans    ours: 0 and 1; DuckDB: ::INT
//   min(a, b)   DuckDB: least(a, b); max(a, b): greatest(a, b)
//   time_bucket_ns(t, w)   epoch_ns(t) // w * w
//   strftime(f, t / 1000000000, 'unixepoch')   strftime(t, f)
// NULLs sort first going up and last going down in both (check.mjs sets
// DuckDB so). Every query orders its rows totally, so that the rows can be
// compared in order: a group query by its groups, a top-k with its key
// after the measure.

const MIN = 60000000000n;

export function corpus(P) {
  const tid = P.traceId;
  const T0 = BigInt(P.t0);
  const day = new Date(Number(T0 / 1000000n)).toISOString().slice(0, 10); // T0's, 'YYYY-MM-DD'
  const at = (m) => String(T0 + BigInt(m) * MIN); // minute m, integer ns
  const hm = (m) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
  const ts = (m) => `TIMESTAMP '${day} ${hm(m)}:00'`;
  const iso = (m) => `'${day} ${hm(m)}:00'`;
  const q = [];
  const Q = (name, ow, duck = ow) => q.push({ name, ow, duck });

  // ---- dashboards: RED over spans ----
  Q('red: requests per minute per service',
    'SELECT service_name, time_bucket_ns(start_time, 60000000000) AS minute, count(*) AS requests FROM spans WHERE kind = 2 GROUP BY 1, 2 ORDER BY 1, 2',
    'SELECT service_name, epoch_ns(start_time) // 60000000000 * 60000000000 AS minute, count(*) AS requests FROM spans WHERE kind = 2 GROUP BY 1, 2 ORDER BY 1, 2');
  Q('red: requests, errors and p99 per minute, checkout',
    "SELECT time_bucket_ns(start_time, 60000000000) AS minute, count(*) AS requests, sum(status_code = 2) AS errors, p99(duration_ns) AS p99_ns FROM spans WHERE service_name = 'checkout' AND kind = 2 GROUP BY 1 ORDER BY 1",
    "SELECT epoch_ns(start_time) // 60000000000 * 60000000000 AS minute, count(*) AS requests, sum((status_code = 2)::INT) AS errors, quantile_disc(duration_ns, 0.99) AS p99_ns FROM spans WHERE service_name = 'checkout' AND kind = 2 GROUP BY 1 ORDER BY 1");
  Q('red: rate, errors, duration per service (CASE)',
    'SELECT service_name, count(*) AS requests, sum(CASE WHEN status_code = 2 THEN 1 ELSE 0 END) AS errors, avg(duration_ns) AS avg_ns FROM spans WHERE kind = 2 GROUP BY service_name ORDER BY service_name');
  Q('red: error rate per service, percent',
    'SELECT service_name, round(100.0 * sum(CASE WHEN status_code = 2 THEN 1 ELSE 0 END) / count(*), 3) AS error_pct FROM spans WHERE kind = 2 GROUP BY service_name ORDER BY error_pct DESC, service_name');
  Q('red: p50 and p99 per service',
    'SELECT service_name, p50(duration_ns) AS p50, p99(duration_ns) AS p99 FROM spans WHERE kind = 2 GROUP BY service_name ORDER BY service_name',
    'SELECT service_name, quantile_disc(duration_ns, 0.5) AS p50, quantile_disc(duration_ns, 0.99) AS p99 FROM spans WHERE kind = 2 GROUP BY service_name ORDER BY service_name');
  Q('red: p50, p90, p99 per operation, ms',
    'SELECT service_name, name, count(*) AS calls, p50(duration_ns) / 1000000 AS p50_ms, p90(duration_ns) / 1000000 AS p90_ms, p99(duration_ns) / 1000000 AS p99_ms FROM spans WHERE kind = 2 GROUP BY service_name, name ORDER BY service_name, name',
    'SELECT service_name, name, count(*) AS calls, quantile_disc(duration_ns, 0.5) // 1000000 AS p50_ms, quantile_disc(duration_ns, 0.9) // 1000000 AS p90_ms, quantile_disc(duration_ns, 0.99) // 1000000 AS p99_ms FROM spans WHERE kind = 2 GROUP BY service_name, name ORDER BY service_name, name');
  Q('red: p99 per operation, real ms',
    'SELECT name, p99(duration_ns) / 1e6 AS p99_ms FROM spans GROUP BY name ORDER BY name',
    'SELECT name, quantile_disc(duration_ns, 0.99) / 1e6 AS p99_ms FROM spans GROUP BY name ORDER BY name');
  Q('red: avg duration ms per service, rounded',
    'SELECT service_name, round(avg(duration_ns) / 1000000.0, 2) AS avg_ms FROM spans WHERE kind = 2 GROUP BY 1 ORDER BY 1');
  Q('red: requests per second per service, 30 minutes',
    `SELECT service_name, count(*) / 1800.0 AS rps FROM spans WHERE kind = 2 AND start_time >= ns(${iso(15)}) AND start_time < ns(${iso(45)}) GROUP BY service_name ORDER BY rps DESC, service_name`,
    `SELECT service_name, count(*) / 1800.0 AS rps FROM spans WHERE kind = 2 AND start_time >= ${ts(15)} AND start_time < ${ts(45)} GROUP BY service_name ORDER BY rps DESC, service_name`);
  Q('red: count by service, 30 min range (folded literals)',
    `SELECT service_name, count(*) AS n FROM spans WHERE start_time >= ${T0} + 900000000000 AND start_time < ${T0} + 2700000000000 GROUP BY 1 ORDER BY 1`,
    `SELECT service_name, count(*) AS n FROM spans WHERE start_time >= make_timestamp_ns(${T0} + 900000000000) AND start_time < make_timestamp_ns(${T0} + 2700000000000) GROUP BY 1 ORDER BY 1`);
  Q('red: count by service, 30 min range (integer literals)',
    `SELECT service_name, count(*) AS n FROM spans WHERE start_time >= ${at(15)} AND start_time < ${at(45)} GROUP BY 1 ORDER BY 1`,
    `SELECT service_name, count(*) AS n FROM spans WHERE start_time >= make_timestamp_ns(${at(15)}) AND start_time < make_timestamp_ns(${at(45)}) GROUP BY 1 ORDER BY 1`);
  Q('red: count by service, 10 minutes with interval_ns',
    `SELECT service_name, count(*) AS n FROM spans WHERE start_time >= ns(${iso(20)}) AND start_time < ns(${iso(20)}) + interval_ns('10 minutes') GROUP BY 1 ORDER BY 1`,
    `SELECT service_name, count(*) AS n FROM spans WHERE start_time >= ${ts(20)} AND start_time < ${ts(20)} + INTERVAL 10 MINUTE GROUP BY 1 ORDER BY 1`);
  Q('red: spans per minute, BETWEEN',
    `SELECT time_bucket_ns(start_time, 60000000000) AS minute, count(*) AS n FROM spans WHERE start_time BETWEEN ${at(5)} AND ${at(15)} - 1 GROUP BY 1 ORDER BY 1`,
    `SELECT epoch_ns(start_time) // 60000000000 * 60000000000 AS minute, count(*) AS n FROM spans WHERE start_time BETWEEN make_timestamp_ns(${at(5)}) AND make_timestamp_ns(${at(15)} - 1) GROUP BY 1 ORDER BY 1`);
  Q('red: requests per 5 minutes, integer division',
    'SELECT start_time / 300000000000 * 300000000000 AS bucket, count(*) AS n FROM spans WHERE kind = 2 GROUP BY bucket ORDER BY bucket',
    'SELECT epoch_ns(start_time) // 300000000000 * 300000000000 AS bucket, count(*) AS n FROM spans WHERE kind = 2 GROUP BY bucket ORDER BY bucket');
  Q('red: requests per minute label (strftime)',
    "SELECT strftime('%H:%M', start_time / 1000000000, 'unixepoch') AS minute, count(*) AS n FROM spans WHERE service_name = 'frontend' AND kind = 2 GROUP BY minute ORDER BY minute",
    "SELECT strftime(start_time, '%H:%M') AS minute, count(*) AS n FROM spans WHERE service_name = 'frontend' AND kind = 2 GROUP BY minute ORDER BY minute");
  Q('red: errors per minute per service',
    'SELECT time_bucket_ns(start_time, 60000000000) AS minute, service_name, count(*) AS errors FROM spans WHERE status_code = 2 GROUP BY 1, 2 ORDER BY 1, 2',
    'SELECT epoch_ns(start_time) // 60000000000 * 60000000000 AS minute, service_name, count(*) AS errors FROM spans WHERE status_code = 2 GROUP BY 1, 2 ORDER BY 1, 2');
  Q('red: error ratio per minute (frontend-proxy)',
    "SELECT time_bucket_ns(start_time, 60000000000) AS minute, sum(CASE WHEN status_code = 2 THEN 1.0 ELSE 0.0 END) / count(*) AS error_ratio FROM spans WHERE service_name = 'frontend-proxy' GROUP BY 1 ORDER BY 1",
    "SELECT epoch_ns(start_time) // 60000000000 * 60000000000 AS minute, sum(CASE WHEN status_code = 2 THEN 1.0 ELSE 0.0 END) / count(*) AS error_ratio FROM spans WHERE service_name = 'frontend-proxy' GROUP BY 1 ORDER BY 1");
  Q('red: p99 per minute, payment',
    "SELECT time_bucket_ns(start_time, 60000000000) AS minute, p99(duration_ns) AS p99 FROM spans WHERE service_name = 'payment' GROUP BY minute ORDER BY minute",
    "SELECT epoch_ns(start_time) // 60000000000 * 60000000000 AS minute, quantile_disc(duration_ns, 0.99) AS p99 FROM spans WHERE service_name = 'payment' GROUP BY minute ORDER BY minute");
  Q('red: server and client spans per service (IIF)',
    "SELECT service_name, sum(iif(kind = 2, 1, 0)) AS server, sum(iif(kind = 3, 1, 0)) AS client FROM spans GROUP BY 1 ORDER BY 1",
    'SELECT service_name, sum(CASE WHEN kind = 2 THEN 1 ELSE 0 END) AS server, sum(CASE WHEN kind = 3 THEN 1 ELSE 0 END) AS client FROM spans GROUP BY 1 ORDER BY 1');
  Q('red: spans by kind, named',
    "SELECT CASE kind WHEN 1 THEN 'internal' WHEN 2 THEN 'server' WHEN 3 THEN 'client' WHEN 4 THEN 'producer' WHEN 5 THEN 'consumer' ELSE 'unspecified' END AS kind_name, count(*) AS n FROM spans GROUP BY kind_name ORDER BY kind_name");
  Q('red: apdex per service (250 ms)',
    'SELECT service_name, round((sum(CASE WHEN duration_ns <= 250000000 THEN 1 ELSE 0 END) + sum(CASE WHEN duration_ns > 250000000 AND duration_ns <= 1000000000 THEN 1 ELSE 0 END) / 2.0) / count(*), 4) AS apdex FROM spans WHERE kind = 2 GROUP BY service_name ORDER BY service_name');
  Q('red: slow request share per service',
    'SELECT service_name, count(*) AS n, sum(duration_ns > 100000000) AS slow, 100 * sum(duration_ns > 100000000) / count(*) AS slow_pct FROM spans WHERE kind = 2 GROUP BY 1 ORDER BY 1',
    'SELECT service_name, count(*) AS n, sum((duration_ns > 100000000)::INT) AS slow, 100 * sum((duration_ns > 100000000)::INT) // count(*) AS slow_pct FROM spans WHERE kind = 2 GROUP BY 1 ORDER BY 1');
  Q('red: total time per service, seconds',
    'SELECT service_name, sum(duration_ns) / 1000000000 AS busy_s, max(duration_ns) AS max_ns FROM spans WHERE kind = 2 GROUP BY 1 ORDER BY 1',
    'SELECT service_name, sum(duration_ns) // 1000000000 AS busy_s, max(duration_ns) AS max_ns FROM spans WHERE kind = 2 GROUP BY 1 ORDER BY 1');
  Q('red: min, avg, max duration per operation of cart',
    "SELECT name, min(duration_ns) AS min_ns, avg(duration_ns) AS avg_ns, max(duration_ns) AS max_ns FROM spans WHERE service_name = 'cart' GROUP BY name ORDER BY name");
  Q('red: requests of two services, IN list',
    "SELECT service_name, name, count(*) AS n FROM spans WHERE service_name IN ('checkout', 'payment') AND kind = 2 GROUP BY 1, 2 ORDER BY 1, 2");
  Q('red: requests of two services, OR',
    "SELECT service_name, count(*) AS n FROM spans WHERE (service_name = 'cart' OR service_name = 'currency') AND kind = 2 GROUP BY 1 ORDER BY 1");
  Q('red: services with more than 1% errors (HAVING)',
    'SELECT service_name, count(*) AS n, sum(status_code = 2) AS errors FROM spans GROUP BY service_name HAVING sum(status_code = 2) * 100 > count(*) ORDER BY service_name',
    'SELECT service_name, count(*) AS n, sum((status_code = 2)::INT) AS errors FROM spans GROUP BY service_name HAVING sum((status_code = 2)::INT) * 100 > count(*) ORDER BY service_name');
  Q('red: operations slower than 50 ms at p90 (HAVING)',
    'SELECT service_name, name, p90(duration_ns) AS p90 FROM spans GROUP BY 1, 2 HAVING p90(duration_ns) > 50000000 ORDER BY 3 DESC, 1, 2',
    'SELECT service_name, name, quantile_disc(duration_ns, 0.9) AS p90 FROM spans GROUP BY 1, 2 HAVING quantile_disc(duration_ns, 0.9) > 50000000 ORDER BY 3 DESC, 1, 2');
  Q('red: busy operations (HAVING count alias)',
    'SELECT name, count(*) AS n FROM spans GROUP BY name HAVING n >= 500 ORDER BY n DESC, name',
    'SELECT name, count(*) AS n FROM spans GROUP BY name HAVING count(*) >= 500 ORDER BY n DESC, name');
  Q('red: services by distinct operations',
    'SELECT service_name, count(DISTINCT name) AS operations FROM spans GROUP BY 1 ORDER BY 2 DESC, 1');
  Q('red: distinct traces per service',
    'SELECT service_name, count(DISTINCT trace_id) AS traces FROM spans GROUP BY 1 ORDER BY 1');
  Q('red: the 15-minute window after 00:30 per service',
    `SELECT service_name, count(*) AS n, avg(duration_ns) AS avg_ns FROM spans WHERE start_time >= ns('${day}T00:30:00') AND start_time < ns('${day}T00:45:00') AND kind = 2 GROUP BY 1 ORDER BY 1`,
    `SELECT service_name, count(*) AS n, avg(duration_ns) AS avg_ns FROM spans WHERE start_time >= ${ts(30)} AND start_time < ${ts(45)} AND kind = 2 GROUP BY 1 ORDER BY 1`);
  Q('red: hourly summary',
    'SELECT count(*) AS spans, count(DISTINCT trace_id) AS traces, count(DISTINCT service_name) AS services, sum(status_code = 2) AS errors FROM spans',
    'SELECT count(*) AS spans, count(DISTINCT trace_id) AS traces, count(DISTINCT service_name) AS services, sum((status_code = 2)::INT) AS errors FROM spans');
  Q('red: span count',
    'SELECT count(*) FROM spans');
  Q('red: server span count, lower case',
    'select count(*) as n from spans where kind = 2');

  // ---- top-k ----
  Q('topk: busiest services',
    'SELECT service_name, count(*) AS n FROM spans GROUP BY service_name ORDER BY n DESC, service_name LIMIT 5');
  Q('topk: busiest operations',
    'SELECT service_name, name, count(*) AS n FROM spans WHERE kind = 2 GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT 10');
  Q('topk: slowest operations by avg',
    'SELECT service_name, name, avg(duration_ns) AS avg_ns FROM spans GROUP BY 1, 2 ORDER BY avg_ns DESC, 1, 2 LIMIT 10');
  Q('topk: slowest operations by p99',
    'SELECT name, p99(duration_ns) AS p99 FROM spans GROUP BY name ORDER BY p99 DESC, name LIMIT 10',
    'SELECT name, quantile_disc(duration_ns, 0.99) AS p99 FROM spans GROUP BY name ORDER BY p99 DESC, name LIMIT 10');
  Q('topk: slowest spans',
    'SELECT trace_id, span_id, service_name, name, duration_ns FROM spans ORDER BY duration_ns DESC, span_id LIMIT 10',
    'SELECT lower(hex(trace_id)) AS trace_id, lower(hex(span_id)) AS span_id, service_name, name, duration_ns FROM spans ORDER BY duration_ns DESC, spans.span_id LIMIT 10');
  Q('topk: slowest spans of payment in ms',
    "SELECT span_id, name, duration_ns / 1000000 AS ms FROM spans WHERE service_name = 'payment' ORDER BY duration_ns DESC, span_id LIMIT 20",
    "SELECT lower(hex(span_id)) AS span_id, name, duration_ns // 1000000 AS ms FROM spans WHERE service_name = 'payment' ORDER BY duration_ns DESC, spans.span_id LIMIT 20");
  Q('topk: services with most errors',
    'SELECT service_name, count(*) AS errors FROM spans WHERE status_code = 2 GROUP BY 1 ORDER BY errors DESC, service_name LIMIT 5');
  Q('topk: error messages',
    'SELECT status_message, count(*) AS n FROM spans WHERE status_code = 2 GROUP BY status_message ORDER BY n DESC, status_message LIMIT 10');
  Q('topk: most spans per trace',
    'SELECT trace_id, count(*) AS spans FROM spans GROUP BY trace_id ORDER BY spans DESC, trace_id LIMIT 10',
    'SELECT lower(hex(trace_id)) AS trace_id, count(*) AS spans FROM spans GROUP BY spans.trace_id ORDER BY spans DESC, spans.trace_id LIMIT 10');
  Q('topk: longest traces',
    'SELECT trace_id, max(end_time) - min(start_time) AS trace_ns, count(*) AS spans FROM spans GROUP BY trace_id ORDER BY trace_ns DESC, trace_id LIMIT 10',
    'SELECT lower(hex(trace_id)) AS trace_id, epoch_ns(max(end_time)) - epoch_ns(min(start_time)) AS trace_ns, count(*) AS spans FROM spans GROUP BY spans.trace_id ORDER BY trace_ns DESC, spans.trace_id LIMIT 10');
  Q('topk: busiest pods',
    "SELECT resource_attributes ->> 'k8s.pod.name' AS pod, count(*) AS n FROM spans GROUP BY pod ORDER BY n DESC, pod LIMIT 10",
    "SELECT (resource_attributes ->> 'k8s.pod.name') AS pod, count(*) AS n FROM spans GROUP BY pod ORDER BY n DESC, pod LIMIT 10");
  Q('topk: routes by p99',
    "SELECT attributes ->> 'http.route' AS route, p99(duration_ns) AS p99 FROM spans WHERE kind = 2 AND attributes ->> 'http.route' IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5",
    "SELECT (attributes ->> 'http.route') AS route, quantile_disc(duration_ns, 0.99) AS p99 FROM spans WHERE kind = 2 AND (attributes ->> 'http.route') IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5");
  Q('topk: slowest database statements',
    "SELECT attributes ->> 'db.system' AS db, name, max(duration_ns) AS worst FROM spans WHERE attributes ->> 'db.system' IS NOT NULL GROUP BY 1, 2 ORDER BY worst DESC, 1, 2 LIMIT 10",
    "SELECT (attributes ->> 'db.system') AS db, name, max(duration_ns) AS worst FROM spans WHERE (attributes ->> 'db.system') IS NOT NULL GROUP BY 1, 2 ORDER BY worst DESC, 1, 2 LIMIT 10");
  Q('topk: second page of busiest operations (OFFSET)',
    'SELECT name, count(*) AS n FROM spans GROUP BY name ORDER BY n DESC, name LIMIT 10 OFFSET 10');
  Q('topk: the 3 newest error spans',
    'SELECT start_time, service_name, name, status_message FROM spans WHERE status_code = 2 ORDER BY start_time DESC, span_id LIMIT 3',
    'SELECT epoch_ns(start_time) AS start_time, service_name, name, status_message FROM spans WHERE status_code = 2 ORDER BY spans.start_time DESC, span_id LIMIT 3');

  // ---- latency histograms ----
  Q('hist: 10 ms buckets, frontend',
    "SELECT duration_ns / 10000000 AS bucket_10ms, count(*) AS n FROM spans WHERE service_name = 'frontend' AND kind = 2 GROUP BY 1 ORDER BY 1",
    "SELECT duration_ns // 10000000 AS bucket_10ms, count(*) AS n FROM spans WHERE service_name = 'frontend' AND kind = 2 GROUP BY 1 ORDER BY 1");
  Q('hist: 100 ms buckets as ms',
    'SELECT duration_ns / 100000000 * 100 AS from_ms, count(*) AS n FROM spans WHERE kind = 2 GROUP BY from_ms ORDER BY from_ms',
    'SELECT duration_ns // 100000000 * 100 AS from_ms, count(*) AS n FROM spans WHERE kind = 2 GROUP BY from_ms ORDER BY from_ms');
  Q('hist: named buckets (CASE)',
    "SELECT CASE WHEN duration_ns < 1000000 THEN 'a <1ms' WHEN duration_ns < 10000000 THEN 'b 1-10ms' WHEN duration_ns < 100000000 THEN 'c 10-100ms' WHEN duration_ns < 1000000000 THEN 'd 100ms-1s' ELSE 'e >1s' END AS bucket, count(*) AS n FROM spans GROUP BY bucket ORDER BY bucket");
  Q('hist: buckets per service (CASE)',
    "SELECT service_name, CASE WHEN duration_ns < 5000000 THEN 'fast' WHEN duration_ns < 50000000 THEN 'ok' ELSE 'slow' END AS speed, count(*) AS n FROM spans WHERE kind = 2 GROUP BY 1, 2 ORDER BY 1, 2");
  Q('hist: 1 ms buckets under 20 ms, checkout',
    "SELECT duration_ns / 1000000 AS ms, count(*) AS n FROM spans WHERE service_name = 'checkout' AND duration_ns < 20000000 GROUP BY ms ORDER BY ms",
    "SELECT duration_ns // 1000000 AS ms, count(*) AS n FROM spans WHERE service_name = 'checkout' AND duration_ns < 20000000 GROUP BY ms ORDER BY ms");
  Q('hist: log2 buckets of microseconds',
    "SELECT CASE WHEN duration_ns < 1000 THEN 0 WHEN duration_ns < 16000 THEN 1 WHEN duration_ns < 256000 THEN 2 WHEN duration_ns < 4096000 THEN 3 WHEN duration_ns < 65536000 THEN 4 ELSE 5 END AS b, count(*) AS n, min(duration_ns) AS lo, max(duration_ns) AS hi FROM spans GROUP BY 1 ORDER BY 1");
  Q('hist: database latency buckets',
    "SELECT attributes ->> 'db.system' AS db, duration_ns / 5000000 AS bucket, count(*) AS n FROM spans WHERE kind = 3 AND attributes ->> 'db.system' IN ('postgresql', 'mysql') GROUP BY 1, 2 ORDER BY 1, 2",
    "SELECT (attributes ->> 'db.system') AS db, duration_ns // 5000000 AS bucket, count(*) AS n FROM spans WHERE kind = 3 AND (attributes ->> 'db.system') IN ('postgresql', 'mysql') GROUP BY 1, 2 ORDER BY 1, 2");
  Q('hist: cumulative share under thresholds',
    'SELECT service_name, avg(duration_ns < 10000000) AS under_10ms, avg(duration_ns < 100000000) AS under_100ms FROM spans WHERE kind = 2 GROUP BY 1 ORDER BY 1',
    'SELECT service_name, avg((duration_ns < 10000000)::INT) AS under_10ms, avg((duration_ns < 100000000)::INT) AS under_100ms FROM spans WHERE kind = 2 GROUP BY 1 ORDER BY 1');
  Q('hist: duration percent of trace (substr of name)',
    "SELECT substr(name, 1, instr(name, ' ') - 1) AS verb, count(*) AS n, p50(duration_ns) AS p50 FROM spans WHERE name LIKE 'GET %' OR name LIKE 'POST %' GROUP BY 1 ORDER BY 1",
    "SELECT substr(name, 1, instr(name, ' ') - 1) AS verb, count(*) AS n, quantile_disc(duration_ns, 0.5) AS p50 FROM spans WHERE name ILIKE 'GET %' OR name ILIKE 'POST %' GROUP BY 1 ORDER BY 1");

  // ---- attributes ----
  Q('attr: requests per route',
    "SELECT attributes ->> 'http.route' AS route, count(*) AS n FROM spans WHERE kind = 2 AND attributes ->> 'http.route' IS NOT NULL GROUP BY 1 ORDER BY 1",
    "SELECT (attributes ->> 'http.route') AS route, count(*) AS n FROM spans WHERE kind = 2 AND (attributes ->> 'http.route') IS NOT NULL GROUP BY 1 ORDER BY 1");
  Q('attr: one route by service',
    "SELECT service_name, count(*) AS n FROM spans WHERE attributes ->> 'http.route' = '/api/cart' GROUP BY 1 ORDER BY 1",
    "SELECT service_name, count(*) AS n FROM spans WHERE (attributes ->> 'http.route') = '/api/cart' GROUP BY 1 ORDER BY 1");
  Q('attr: HTTP 5xx by service',
    "SELECT service_name, count(*) AS n FROM spans WHERE attributes ->> 'http.response.status_code' >= 500 GROUP BY 1 ORDER BY 1",
    "SELECT service_name, count(*) AS n FROM spans WHERE (attributes ->> 'http.response.status_code')::BIGINT >= 500 GROUP BY 1 ORDER BY 1");
  Q('attr: HTTP 500 by service',
    "SELECT service_name, count(*) AS n FROM spans WHERE attributes ->> 'http.response.status_code' = 500 GROUP BY 1 ORDER BY 1",
    "SELECT service_name, count(*) AS n FROM spans WHERE (attributes ->> 'http.response.status_code')::BIGINT = 500 GROUP BY 1 ORDER BY 1");
  Q('attr: status codes',
    "SELECT attributes ->> 'http.response.status_code' AS status, count(*) AS n FROM spans WHERE attributes ->> 'http.response.status_code' IS NOT NULL GROUP BY 1 ORDER BY 1",
    "SELECT (attributes ->> 'http.response.status_code')::BIGINT AS status, count(*) AS n FROM spans WHERE (attributes ->> 'http.response.status_code') IS NOT NULL GROUP BY 1 ORDER BY 1");
  Q('attr: status classes per route (CASE on ->>)',
    "SELECT attributes ->> 'http.route' AS route, CASE WHEN attributes ->> 'http.response.status_code' >= 500 THEN '5xx' WHEN attributes ->> 'http.response.status_code' >= 400 THEN '4xx' ELSE '2xx' END AS class, count(*) AS n FROM spans WHERE kind = 2 AND attributes ->> 'http.route' IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2",
    "SELECT (attributes ->> 'http.route') AS route, CASE WHEN (attributes ->> 'http.response.status_code')::BIGINT >= 500 THEN '5xx' WHEN (attributes ->> 'http.response.status_code')::BIGINT >= 400 THEN '4xx' ELSE '2xx' END AS class, count(*) AS n FROM spans WHERE kind = 2 AND (attributes ->> 'http.route') IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2");
  Q('attr: error rate per route',
    "SELECT attributes ->> 'http.route' AS route, count(*) AS n, round(100.0 * sum(CASE WHEN attributes ->> 'http.response.status_code' >= 500 THEN 1 ELSE 0 END) / count(*), 2) AS err_pct FROM spans WHERE kind = 2 AND attributes ->> 'http.route' IS NOT NULL GROUP BY 1 ORDER BY 1",
    "SELECT (attributes ->> 'http.route') AS route, count(*) AS n, round(100.0 * sum(CASE WHEN (attributes ->> 'http.response.status_code')::BIGINT >= 500 THEN 1 ELSE 0 END) / count(*), 2) AS err_pct FROM spans WHERE kind = 2 AND (attributes ->> 'http.route') IS NOT NULL GROUP BY 1 ORDER BY 1");
  Q('attr: methods (json_extract)',
    "SELECT json_extract(attributes, '$.\"http.request.method\"') AS method, count(*) AS n FROM spans WHERE json_extract(attributes, '$.\"http.request.method\"') IS NOT NULL GROUP BY 1 ORDER BY 1",
    "SELECT json_extract_string(attributes, '$.\"http.request.method\"') AS method, count(*) AS n FROM spans WHERE json_extract_string(attributes, '$.\"http.request.method\"') IS NOT NULL GROUP BY 1 ORDER BY 1");
  Q('attr: route and method (json_extract and ->>)',
    "SELECT json_extract(attributes, '$.\"http.request.method\"') AS method, attributes ->> 'http.route' AS route, count(*) AS n FROM spans WHERE kind = 2 AND attributes ->> 'http.route' IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2",
    "SELECT json_extract_string(attributes, '$.\"http.request.method\"') AS method, (attributes ->> 'http.route') AS route, count(*) AS n FROM spans WHERE kind = 2 AND (attributes ->> 'http.route') IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2");
  Q('attr: HTTP 500 by service (json_extract)',
    "SELECT service_name, count(*) AS n FROM spans WHERE json_extract(attributes, '$.\"http.response.status_code\"') = 500 GROUP BY 1 ORDER BY 1",
    "SELECT service_name, count(*) AS n FROM spans WHERE json_extract_string(attributes, '$.\"http.response.status_code\"')::BIGINT = 500 GROUP BY 1 ORDER BY 1");
  Q('attr: HTTP 500 by service (wrapped path, as before)',
    "SELECT service_name, count(*) AS n FROM spans WHERE attributes ->> '$.\"http.response.status_code\".intValue' = '500' GROUP BY 1 ORDER BY 1",
    "SELECT service_name, count(*) AS n FROM spans WHERE (attributes ->> 'http.response.status_code') = '500' GROUP BY 1 ORDER BY 1");
  Q('attr: database systems',
    "SELECT attributes ->> 'db.system' AS db, count(*) AS n, avg(duration_ns) AS avg_ns FROM spans WHERE attributes ->> 'db.system' IS NOT NULL GROUP BY 1 ORDER BY 1",
    "SELECT (attributes ->> 'db.system') AS db, count(*) AS n, avg(duration_ns) AS avg_ns FROM spans WHERE (attributes ->> 'db.system') IS NOT NULL GROUP BY 1 ORDER BY 1");
  Q('attr: database operations per table',
    "SELECT attributes ->> 'db.collection.name' AS tbl, attributes ->> 'db.operation.name' AS op, count(*) AS n FROM spans WHERE attributes ->> 'db.collection.name' IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2",
    "SELECT (attributes ->> 'db.collection.name') AS tbl, (attributes ->> 'db.operation.name') AS op, count(*) AS n FROM spans WHERE (attributes ->> 'db.collection.name') IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2");
  Q('attr: redis commands',
    "SELECT attributes ->> 'db.operation.name' AS cmd, count(*) AS n, p99(duration_ns) AS p99 FROM spans WHERE attributes ->> 'db.system' = 'redis' GROUP BY 1 ORDER BY 1",
    "SELECT (attributes ->> 'db.operation.name') AS cmd, count(*) AS n, quantile_disc(duration_ns, 0.99) AS p99 FROM spans WHERE (attributes ->> 'db.system') = 'redis' GROUP BY 1 ORDER BY 1");
  Q('attr: gRPC methods with non-zero status',
    "SELECT attributes ->> 'rpc.service' AS svc, attributes ->> 'rpc.method' AS method, count(*) AS n FROM spans WHERE attributes ->> 'rpc.grpc.status_code' != 0 GROUP BY 1, 2 ORDER BY 1, 2",
    "SELECT (attributes ->> 'rpc.service') AS svc, (attributes ->> 'rpc.method') AS method, count(*) AS n FROM spans WHERE (attributes ->> 'rpc.grpc.status_code')::BIGINT != 0 GROUP BY 1, 2 ORDER BY 1, 2");
  Q('attr: gRPC status codes',
    "SELECT attributes ->> 'rpc.grpc.status_code' AS code, count(*) AS n FROM spans WHERE attributes ->> 'rpc.system' = 'grpc' GROUP BY 1 ORDER BY 1",
    "SELECT (attributes ->> 'rpc.grpc.status_code')::BIGINT AS code, count(*) AS n FROM spans WHERE (attributes ->> 'rpc.system') = 'grpc' GROUP BY 1 ORDER BY 1");
  Q('attr: server ports',
    "SELECT attributes ->> 'server.port' AS port, count(*) AS n FROM spans WHERE kind = 3 GROUP BY 1 ORDER BY 1",
    "SELECT (attributes ->> 'server.port')::BIGINT AS port, count(*) AS n FROM spans WHERE kind = 3 GROUP BY 1 ORDER BY 1");
  Q('attr: peers called',
    "SELECT service_name, attributes ->> 'server.address' AS peer, count(*) AS n FROM spans WHERE kind = 3 GROUP BY 1, 2 ORDER BY 1, 2",
    "SELECT service_name, (attributes ->> 'server.address') AS peer, count(*) AS n FROM spans WHERE kind = 3 GROUP BY 1, 2 ORDER BY 1, 2");
  Q('attr: cache hits',
    "SELECT service_name, attributes ->> 'cache.hit' AS hit, count(*) AS n FROM spans WHERE attributes ->> 'cache.hit' IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2",
    "SELECT service_name, (attributes ->> 'cache.hit')::BOOLEAN::INT AS hit, count(*) AS n FROM spans WHERE (attributes ->> 'cache.hit') IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2");
  Q('attr: cache hit ratio',
    "SELECT avg(attributes ->> 'cache.hit') AS hit_ratio, count(attributes ->> 'cache.hit') AS n FROM spans",
    "SELECT avg((attributes ->> 'cache.hit')::BOOLEAN::INT) AS hit_ratio, count(attributes ->> 'cache.hit') AS n FROM spans");
  Q('attr: score thresholds (a real attribute)',
    "SELECT service_name, min(attributes ->> 'app.score_threshold') AS lo, max(attributes ->> 'app.score_threshold') AS hi, count(attributes ->> 'app.score_threshold') AS n FROM spans WHERE attributes ->> 'app.score_threshold' IS NOT NULL GROUP BY 1 ORDER BY 1",
    "SELECT service_name, min((attributes ->> 'app.score_threshold')::DOUBLE) AS lo, max((attributes ->> 'app.score_threshold')::DOUBLE) AS hi, count(attributes ->> 'app.score_threshold') AS n FROM spans WHERE (attributes ->> 'app.score_threshold') IS NOT NULL GROUP BY 1 ORDER BY 1");
  Q('attr: high score thresholds',
    "SELECT count(*) AS n FROM spans WHERE attributes ->> 'app.score_threshold' > 0.9",
    "SELECT count(*) AS n FROM spans WHERE (attributes ->> 'app.score_threshold')::DOUBLE > 0.9");
  Q('attr: messaging partitions',
    "SELECT attributes ->> 'messaging.destination.partition.id' AS part, count(*) AS n FROM spans WHERE attributes ->> 'messaging.system' = 'kafka' GROUP BY 1 ORDER BY 1",
    "SELECT (attributes ->> 'messaging.destination.partition.id')::BIGINT AS part, count(*) AS n FROM spans WHERE (attributes ->> 'messaging.system') = 'kafka' GROUP BY 1 ORDER BY 1");
  Q('attr: consumer groups',
    "SELECT attributes ->> 'messaging.consumer.group.name' AS grp, count(*) AS n, max(duration_ns) AS worst FROM spans WHERE kind = 5 GROUP BY 1 ORDER BY 1",
    "SELECT (attributes ->> 'messaging.consumer.group.name') AS grp, count(*) AS n, max(duration_ns) AS worst FROM spans WHERE kind = 5 GROUP BY 1 ORDER BY 1");
  Q('attr: user agents of the proxy',
    "SELECT attributes ->> 'user_agent.original' AS agent, count(*) AS n FROM spans WHERE service_name = 'frontend-proxy' AND kind = 2 GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5",
    "SELECT (attributes ->> 'user_agent.original') AS agent, count(*) AS n FROM spans WHERE service_name = 'frontend-proxy' AND kind = 2 GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5");
  Q('attr: url paths of products (LIKE on ->>)',
    "SELECT count(*) AS n FROM spans WHERE attributes ->> 'url.path' LIKE '/api/products/%'",
    "SELECT count(*) AS n FROM spans WHERE (attributes ->> 'url.path') ILIKE '/api/products/%'");
  Q('attr: code functions of internal spans',
    "SELECT attributes ->> 'code.function' AS fn, name, count(*) AS n FROM spans WHERE kind = 1 GROUP BY 1, 2 ORDER BY 1, 2",
    "SELECT (attributes ->> 'code.function') AS fn, name, count(*) AS n FROM spans WHERE kind = 1 GROUP BY 1, 2 ORDER BY 1, 2");
  Q('attr: method, COALESCE with rpc',
    "SELECT COALESCE(attributes ->> 'http.request.method', attributes ->> 'rpc.system', attributes ->> 'db.system', 'other') AS protocol, count(*) AS n FROM spans GROUP BY 1 ORDER BY 1",
    "SELECT COALESCE((attributes ->> 'http.request.method'), (attributes ->> 'rpc.system'), (attributes ->> 'db.system'), 'other') AS protocol, count(*) AS n FROM spans GROUP BY 1 ORDER BY 1");
  Q('attr: IFNULL route',
    "SELECT IFNULL(attributes ->> 'http.route', '(none)') AS route, count(*) AS n FROM spans WHERE service_name = 'frontend' GROUP BY 1 ORDER BY 1",
    "SELECT IFNULL((attributes ->> 'http.route'), '(none)') AS route, count(*) AS n FROM spans WHERE service_name = 'frontend' GROUP BY 1 ORDER BY 1");
  Q('attr: NULLIF of status 200',
    "SELECT count(NULLIF(attributes ->> 'http.response.status_code', 200)) AS not_200, count(attributes ->> 'http.response.status_code') AS all_http FROM spans",
    "SELECT count(NULLIF((attributes ->> 'http.response.status_code')::BIGINT, 200)) AS not_200, count(attributes ->> 'http.response.status_code') AS all_http FROM spans");
  Q('attr: pod of resource, per service',
    "SELECT service_name, count(DISTINCT resource_attributes ->> 'k8s.pod.name') AS pods FROM spans GROUP BY 1 ORDER BY 1",
    "SELECT service_name, count(DISTINCT (resource_attributes ->> 'k8s.pod.name')) AS pods FROM spans GROUP BY 1 ORDER BY 1");
  Q('attr: requests per pod of checkout',
    "SELECT resource_attributes ->> 'k8s.pod.name' AS pod, count(*) AS n, p99(duration_ns) AS p99 FROM spans WHERE service_name = 'checkout' GROUP BY pod ORDER BY pod",
    "SELECT (resource_attributes ->> 'k8s.pod.name') AS pod, count(*) AS n, quantile_disc(duration_ns, 0.99) AS p99 FROM spans WHERE service_name = 'checkout' GROUP BY pod ORDER BY pod");
  Q('attr: spans per node',
    "SELECT resource_attributes ->> 'k8s.node.name' AS node, count(*) AS n FROM spans GROUP BY 1 ORDER BY 1",
    "SELECT (resource_attributes ->> 'k8s.node.name') AS node, count(*) AS n FROM spans GROUP BY 1 ORDER BY 1");
  Q('attr: SDK languages',
    "SELECT resource_attributes ->> 'telemetry.sdk.language' AS lang, count(DISTINCT service_name) AS services, count(*) AS spans FROM spans GROUP BY 1 ORDER BY 1",
    "SELECT (resource_attributes ->> 'telemetry.sdk.language') AS lang, count(DISTINCT service_name) AS services, count(*) AS spans FROM spans GROUP BY 1 ORDER BY 1");
  Q('attr: service versions',
    "SELECT service_name, resource_attributes ->> 'service.version' AS version, count(*) AS n FROM spans GROUP BY 1, 2 ORDER BY 1, 2",
    "SELECT service_name, (resource_attributes ->> 'service.version') AS version, count(*) AS n FROM spans GROUP BY 1, 2 ORDER BY 1, 2");
  Q('attr: one pod by its name (LIKE)',
    "SELECT resource_attributes ->> 'k8s.pod.name' AS pod, count(*) AS n FROM spans WHERE resource_attributes ->> 'k8s.pod.name' LIKE 'payment-%' GROUP BY 1 ORDER BY 1",
    "SELECT (resource_attributes ->> 'k8s.pod.name') AS pod, count(*) AS n FROM spans WHERE (resource_attributes ->> 'k8s.pod.name') ILIKE 'payment-%' GROUP BY 1 ORDER BY 1");
  Q('attr: process ids (an integer resource attribute)',
    "SELECT resource_attributes ->> 'process.pid' AS pid, count(*) AS n FROM spans WHERE service_name = 'auth' GROUP BY 1 ORDER BY 1",
    "SELECT (resource_attributes ->> 'process.pid')::BIGINT AS pid, count(*) AS n FROM spans WHERE service_name = 'auth' GROUP BY 1 ORDER BY 1");
  Q('attr: runtime names (resource json_extract)',
    "SELECT json_extract(resource_attributes, '$.\"process.runtime.name\"') AS rt, count(*) AS n FROM spans GROUP BY 1 ORDER BY 1",
    "SELECT json_extract_string(resource_attributes, '$.\"process.runtime.name\"') AS rt, count(*) AS n FROM spans GROUP BY 1 ORDER BY 1");
  Q('attr: scope names of server spans',
    'SELECT scope_name, count(*) AS n FROM spans WHERE kind = 2 GROUP BY scope_name ORDER BY scope_name');
  Q('attr: distinct routes',
    "SELECT DISTINCT attributes ->> 'http.route' AS route FROM spans WHERE attributes ->> 'http.route' IS NOT NULL ORDER BY 1",
    "SELECT DISTINCT (attributes ->> 'http.route') AS route FROM spans WHERE (attributes ->> 'http.route') IS NOT NULL ORDER BY 1");
  Q('attr: count distinct status codes per service',
    "SELECT service_name, count(DISTINCT attributes ->> 'http.response.status_code') AS codes FROM spans GROUP BY 1 ORDER BY 1",
    "SELECT service_name, count(DISTINCT (attributes ->> 'http.response.status_code')) AS codes FROM spans GROUP BY 1 ORDER BY 1");
  Q('attr: HTTP 4xx by route and status, BETWEEN',
    "SELECT attributes ->> 'http.route' AS route, attributes ->> 'http.response.status_code' AS status, count(*) AS n FROM spans WHERE attributes ->> 'http.response.status_code' BETWEEN 400 AND 499 GROUP BY 1, 2 ORDER BY 1, 2",
    "SELECT (attributes ->> 'http.route') AS route, (attributes ->> 'http.response.status_code')::BIGINT AS status, count(*) AS n FROM spans WHERE (attributes ->> 'http.response.status_code')::BIGINT BETWEEN 400 AND 499 GROUP BY 1, 2 ORDER BY 1, 2");
  Q('attr: status codes IN list',
    "SELECT service_name, count(*) AS n FROM spans WHERE attributes ->> 'http.response.status_code' IN (502, 503) GROUP BY 1 ORDER BY 1",
    "SELECT service_name, count(*) AS n FROM spans WHERE (attributes ->> 'http.response.status_code')::BIGINT IN (502, 503) GROUP BY 1 ORDER BY 1");

  // ---- trace drill-downs ----
  Q('trace: by id',
    `SELECT * FROM spans WHERE trace_id = '${tid}' ORDER BY start_time, span_id`,
    `SELECT * REPLACE (lower(hex(trace_id)) AS trace_id, lower(hex(span_id)) AS span_id, lower(hex(parent_span_id)) AS parent_span_id, epoch_ns(start_time) AS start_time, epoch_ns(end_time) AS end_time) FROM spans WHERE hex(trace_id) = upper('${tid}') ORDER BY spans.start_time, spans.span_id`);
  Q('trace: by id, the waterfall columns',
    `SELECT span_id, parent_span_id, service_name, name, start_time, duration_ns FROM spans WHERE trace_id = '${tid}' ORDER BY start_time, span_id`,
    `SELECT lower(hex(span_id)) AS span_id, lower(hex(parent_span_id)) AS parent_span_id, service_name, name, epoch_ns(start_time) AS start_time, duration_ns FROM spans WHERE hex(trace_id) = upper('${tid}') ORDER BY spans.start_time, spans.span_id`);
  Q('trace: its root span',
    `SELECT span_id, service_name, name, duration_ns FROM spans WHERE trace_id = '${tid}' AND parent_span_id IS NULL`,
    `SELECT lower(hex(span_id)) AS span_id, service_name, name, duration_ns FROM spans WHERE hex(trace_id) = upper('${tid}') AND parent_span_id IS NULL`);
  Q('trace: children of its root (IN subquery)',
    `SELECT span_id, name, kind FROM spans WHERE parent_span_id IN (SELECT span_id FROM spans WHERE trace_id = '${tid}' AND parent_span_id IS NULL) ORDER BY start_time, span_id`,
    `SELECT lower(hex(span_id)) AS span_id, name, kind FROM spans WHERE parent_span_id IN (SELECT span_id FROM spans WHERE hex(trace_id) = upper('${tid}') AND parent_span_id IS NULL) ORDER BY start_time, spans.span_id`);
  Q('trace: services in it',
    `SELECT service_name, count(*) AS spans, sum(duration_ns) AS total_ns FROM spans WHERE trace_id = '${tid}' GROUP BY 1 ORDER BY 1`,
    `SELECT service_name, count(*) AS spans, sum(duration_ns) AS total_ns FROM spans WHERE hex(trace_id) = upper('${tid}') GROUP BY 1 ORDER BY 1`);
  Q('trace: its logs',
    `SELECT time, severity_text, body FROM logs WHERE trace_id = '${tid}' ORDER BY time, observed_time`,
    `SELECT epoch_ns(time) AS time, severity_text, body AS body FROM logs WHERE hex(trace_id) = upper('${tid}') ORDER BY logs.time, observed_time`);
  Q('trace: its span count by kind',
    `SELECT kind, count(*) AS n FROM spans WHERE trace_id = '${tid}' GROUP BY kind ORDER BY kind`,
    `SELECT kind, count(*) AS n FROM spans WHERE hex(trace_id) = upper('${tid}') GROUP BY kind ORDER BY kind`);
  Q('trace: traces having an error, per service (IN subquery)',
    'SELECT service_name, count(DISTINCT trace_id) AS traces FROM spans WHERE trace_id IN (SELECT trace_id FROM spans WHERE status_code = 2) GROUP BY 1 ORDER BY 1');
  Q('trace: spans of traces having an error, count',
    'SELECT count(*) AS spans, count(DISTINCT trace_id) AS traces FROM spans WHERE trace_id IN (SELECT trace_id FROM spans WHERE status_code = 2)');
  Q('trace: root operations of failed traces',
    'SELECT name, count(*) AS n FROM spans WHERE parent_span_id IS NULL AND trace_id IN (SELECT trace_id FROM spans WHERE status_code = 2) GROUP BY name ORDER BY n DESC, name');
  Q('trace: traces touching payment, by root',
    "SELECT name, count(*) AS n, avg(duration_ns) AS avg_ns FROM spans WHERE parent_span_id IS NULL AND trace_id IN (SELECT trace_id FROM spans WHERE service_name = 'payment') GROUP BY 1 ORDER BY 1");
  Q('trace: slow traces (root over 500 ms)',
    'SELECT trace_id, name, duration_ns FROM spans WHERE parent_span_id IS NULL AND duration_ns > 500000000 ORDER BY duration_ns DESC, trace_id LIMIT 20',
    'SELECT lower(hex(trace_id)) AS trace_id, name, duration_ns FROM spans WHERE parent_span_id IS NULL AND duration_ns > 500000000 ORDER BY duration_ns DESC, spans.trace_id LIMIT 20');
  Q('trace: root spans per minute',
    'SELECT time_bucket_ns(start_time, 60000000000) AS minute, count(*) AS traces FROM spans WHERE parent_span_id IS NULL GROUP BY 1 ORDER BY 1',
    'SELECT epoch_ns(start_time) // 60000000000 * 60000000000 AS minute, count(*) AS traces FROM spans WHERE parent_span_id IS NULL GROUP BY 1 ORDER BY 1');
  Q('trace: spans of a service in a window',
    `SELECT start_time, span_id, name, duration_ns FROM spans WHERE service_name = 'checkout' AND start_time >= ns(${iso(10)}) AND start_time < ns(${iso(12)}) ORDER BY start_time, span_id`,
    `SELECT epoch_ns(start_time) AS start_time, lower(hex(span_id)) AS span_id, name, duration_ns FROM spans WHERE service_name = 'checkout' AND spans.start_time >= ${ts(10)} AND spans.start_time < ${ts(12)} ORDER BY spans.start_time, spans.span_id`);
  Q('trace: error spans in a window, newest first',
    `SELECT start_time, service_name, name, status_message FROM spans WHERE status_code = 2 AND start_time >= ${at(30)} AND start_time < ${at(60)} ORDER BY start_time DESC, span_id LIMIT 25`,
    `SELECT epoch_ns(start_time) AS start_time, service_name, name, status_message FROM spans WHERE status_code = 2 AND spans.start_time >= make_timestamp_ns(${at(30)}) AND spans.start_time < make_timestamp_ns(${at(60)}) ORDER BY spans.start_time DESC, span_id LIMIT 25`);
  Q('trace: error messages by operation',
    'SELECT service_name, name, status_message, count(*) AS n FROM spans WHERE status_code = 2 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3');
  Q('trace: spans with events',
    "SELECT service_name, count(*) AS n FROM spans WHERE events IS NOT NULL AND events != '[]' GROUP BY 1 ORDER BY 1",
    "SELECT service_name, count(*) AS n FROM spans WHERE events IS NOT NULL AND events::VARCHAR != '[]' GROUP BY 1 ORDER BY 1");
  Q('trace: end before start never happens',
    'SELECT count(*) AS n, sum(end_time - start_time = duration_ns) AS consistent FROM spans',
    'SELECT count(*) AS n, sum((epoch_ns(end_time) - epoch_ns(start_time) = duration_ns)::INT) AS consistent FROM spans');
  Q('trace: time of the first and last span',
    'SELECT min(start_time) AS first, max(end_time) AS last FROM spans',
    'SELECT epoch_ns(min(start_time)) AS first, epoch_ns(max(end_time)) AS last FROM spans');
  Q('trace: first span as ISO text',
    'SELECT ns_to_iso(min(start_time)) AS first FROM spans',
    "SELECT strftime(min(start_time), '%Y-%m-%dT%H:%M:%S') || '.' || lpad(CAST(epoch_ns(min(start_time)) % 1000000000 AS VARCHAR), 9, '0') || 'Z' AS first FROM spans");
  Q('trace: datetime of slow spans',
    "SELECT datetime(start_time / 1000000000, 'unixepoch') AS at, name FROM spans WHERE duration_ns > 400000000 ORDER BY start_time, span_id LIMIT 10",
    "SELECT strftime(start_time, '%Y-%m-%d %H:%M:%S') AS at, name FROM spans WHERE duration_ns > 400000000 ORDER BY start_time, span_id LIMIT 10");
  Q('trace: remote-parent flags',
    'SELECT flags, kind, count(*) AS n FROM spans GROUP BY 1, 2 ORDER BY 1, 2');
  Q('trace: span ids that start with ab',
    "SELECT count(*) AS n FROM spans WHERE span_id LIKE 'ab%'",
    "SELECT count(*) AS n FROM spans WHERE lower(hex(span_id)) LIKE 'ab%'");
  Q('trace: several traces by id (IN list)',
    `SELECT trace_id, count(*) AS n FROM spans WHERE trace_id IN ('${tid}', '00000000000000000000000000000000') GROUP BY 1 ORDER BY 1`,
    `SELECT lower(hex(trace_id)) AS trace_id, count(*) AS n FROM spans WHERE hex(trace_id) IN (upper('${tid}'), '00000000000000000000000000000000') GROUP BY spans.trace_id ORDER BY spans.trace_id`);

  // ---- logs ----
  Q('log: timeout search, newest 100',
    "SELECT time, service_name, body FROM logs WHERE body LIKE '%timeout%' ORDER BY time DESC, observed_time DESC LIMIT 100",
    "SELECT epoch_ns(time) AS time, service_name, body AS body FROM logs WHERE body ILIKE '%timeout%' ORDER BY logs.time DESC, observed_time DESC LIMIT 100");
  Q('log: timeout count by service',
    "SELECT service_name, count(*) AS n FROM logs WHERE body LIKE '%timeout%' GROUP BY 1 ORDER BY 1",
    "SELECT service_name, count(*) AS n FROM logs WHERE body ILIKE '%timeout%' GROUP BY 1 ORDER BY 1");
  Q('log: connection refused, lower()',
    "SELECT service_name, count(*) AS n FROM logs WHERE lower(body) LIKE '%connection refused%' GROUP BY 1 ORDER BY 1",
    "SELECT service_name, count(*) AS n FROM logs WHERE lower(body) LIKE '%connection refused%' GROUP BY 1 ORDER BY 1");
  Q('log: exact body',
    "SELECT service_name, count(*) AS n FROM logs WHERE body = 'Health check OK' GROUP BY 1 ORDER BY 1",
    "SELECT service_name, count(*) AS n FROM logs WHERE body = 'Health check OK' GROUP BY 1 ORDER BY 1");
  Q('log: body prefix',
    "SELECT service_name, count(*) AS n FROM logs WHERE body LIKE 'Slow query detected%' GROUP BY 1 ORDER BY 1",
    "SELECT service_name, count(*) AS n FROM logs WHERE body ILIKE 'Slow query detected%' GROUP BY 1 ORDER BY 1");
  Q('log: NOT LIKE access lines among warnings',
    "SELECT service_name, count(*) AS n FROM logs WHERE severity_text = 'WARN' AND body NOT LIKE '%HTTP/1.1%' GROUP BY 1 ORDER BY 1",
    "SELECT service_name, count(*) AS n FROM logs WHERE severity_text = 'WARN' AND body NOT ILIKE '%HTTP/1.1%' GROUP BY 1 ORDER BY 1");
  Q('log: errors by service',
    "SELECT service_name, count(*) AS errors FROM logs WHERE severity_text = 'ERROR' GROUP BY 1 ORDER BY 1");
  Q('log: severity >= error by service',
    'SELECT service_name, count(*) AS n FROM logs WHERE severity_number >= 17 GROUP BY 1 ORDER BY 2 DESC, 1');
  Q('log: error percentage per service',
    "SELECT service_name, count(*) AS total, round(100.0 * sum(CASE WHEN severity_text = 'ERROR' THEN 1 ELSE 0 END) / count(*), 2) AS error_pct FROM logs GROUP BY service_name ORDER BY error_pct DESC, service_name");
  Q('log: warn and error percentage per service (IN)',
    "SELECT service_name, 100 * sum(severity_text IN ('WARN', 'ERROR')) / count(*) AS bad_pct FROM logs GROUP BY 1 ORDER BY 1",
    "SELECT service_name, 100 * sum((severity_text IN ('WARN', 'ERROR'))::INT) // count(*) AS bad_pct FROM logs GROUP BY 1 ORDER BY 1");
  Q('log: count by minute',
    'SELECT time_bucket_ns(time, 60000000000) AS minute, count(*) AS n FROM logs GROUP BY 1 ORDER BY 1',
    'SELECT epoch_ns(time) // 60000000000 * 60000000000 AS minute, count(*) AS n FROM logs GROUP BY 1 ORDER BY 1');
  Q('log: errors by minute',
    'SELECT time_bucket_ns(time, 60000000000) AS minute, count(*) AS errors FROM logs WHERE severity_number >= 17 GROUP BY 1 ORDER BY 1',
    'SELECT epoch_ns(time) // 60000000000 * 60000000000 AS minute, count(*) AS errors FROM logs WHERE severity_number >= 17 GROUP BY 1 ORDER BY 1');
  Q('log: severity per minute (CASE columns)',
    "SELECT time_bucket_ns(time, 300000000000) AS t, sum(CASE WHEN severity_text = 'INFO' THEN 1 ELSE 0 END) AS info, sum(CASE WHEN severity_text = 'WARN' THEN 1 ELSE 0 END) AS warn, sum(CASE WHEN severity_text = 'ERROR' THEN 1 ELSE 0 END) AS error FROM logs GROUP BY 1 ORDER BY 1",
    "SELECT epoch_ns(time) // 300000000000 * 300000000000 AS t, sum(CASE WHEN severity_text = 'INFO' THEN 1 ELSE 0 END) AS info, sum(CASE WHEN severity_text = 'WARN' THEN 1 ELSE 0 END) AS warn, sum(CASE WHEN severity_text = 'ERROR' THEN 1 ELSE 0 END) AS error FROM logs GROUP BY 1 ORDER BY 1");
  Q('log: severities',
    'SELECT severity_number, severity_text, count(*) AS n FROM logs GROUP BY 1, 2 ORDER BY 1, 2');
  Q('log: distinct severity texts',
    'SELECT DISTINCT severity_text FROM logs ORDER BY severity_text');
  Q('log: newest 20 errors',
    "SELECT time, service_name, body FROM logs WHERE severity_text = 'ERROR' ORDER BY time DESC, observed_time DESC LIMIT 20",
    "SELECT epoch_ns(time) AS time, service_name, body AS body FROM logs WHERE severity_text = 'ERROR' ORDER BY logs.time DESC, observed_time DESC LIMIT 20");
  Q('log: errors of one service in a window',
    `SELECT time, body FROM logs WHERE service_name = 'checkout' AND severity_number >= 13 AND time >= ns(${iso(0)}) AND time < ns(${iso(30)}) ORDER BY time, observed_time`,
    `SELECT epoch_ns(time) AS time, body AS body FROM logs WHERE service_name = 'checkout' AND severity_number >= 13 AND logs.time >= ${ts(0)} AND logs.time < ${ts(30)} ORDER BY logs.time, observed_time`);
  Q('log: card declined by service (instr)',
    "SELECT service_name, count(*) AS n FROM logs WHERE instr(body, 'card declined') > 0 GROUP BY 1 ORDER BY 1",
    "SELECT service_name, count(*) AS n FROM logs WHERE instr(body, 'card declined') > 0 GROUP BY 1 ORDER BY 1");
  Q('log: message kinds by first words (substr)',
    "SELECT substr(body, 1, 12) AS head, count(*) AS n FROM logs WHERE severity_text != 'INFO' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 15",
    "SELECT substr(body, 1, 12) AS head, count(*) AS n FROM logs WHERE severity_text != 'INFO' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 15");
  Q('log: body lengths per service',
    'SELECT service_name, min(length(body)) AS shortest, max(length(body)) AS longest, avg(length(body)) AS avg_len FROM logs GROUP BY 1 ORDER BY 1',
    "SELECT service_name, min(length(body)) AS shortest, max(length(body)) AS longest, avg(length(body)) AS avg_len FROM logs GROUP BY 1 ORDER BY 1");
  Q('log: upper-case search',
    "SELECT count(*) AS n FROM logs WHERE upper(body) LIKE '%NULLPOINTEREXCEPTION%'",
    "SELECT count(*) AS n FROM logs WHERE upper(body) LIKE '%NULLPOINTEREXCEPTION%'");
  Q('log: retries per dependency (replace and substr)',
    "SELECT replace(substr(body, 18, instr(body, ' (') - 18), 'to ', '') AS dep, count(*) AS n FROM logs WHERE body LIKE 'Retrying call to %' GROUP BY 1 ORDER BY 1",
    "SELECT replace(substr(body, 18, instr(body, ' (') - 18), 'to ', '') AS dep, count(*) AS n FROM logs WHERE body ILIKE 'Retrying call to %' GROUP BY 1 ORDER BY 1");
  Q('log: circuit breakers, trim',
    "SELECT trim(substr(body, 21, 20)) AS what, count(*) AS n FROM logs WHERE body LIKE 'Circuit breaker for %' GROUP BY 1 ORDER BY 1",
    "SELECT trim(substr(body, 21, 20)) AS what, count(*) AS n FROM logs WHERE body ILIKE 'Circuit breaker for %' GROUP BY 1 ORDER BY 1");
  Q('log: access log status codes',
    "SELECT attributes ->> 'http.response.status_code' AS status, count(*) AS n FROM logs WHERE attributes ->> 'log.type' = 'access' GROUP BY 1 ORDER BY 1",
    "SELECT (attributes ->> 'http.response.status_code')::BIGINT AS status, count(*) AS n FROM logs WHERE (attributes ->> 'log.type') = 'access' GROUP BY 1 ORDER BY 1");
  Q('log: access log bytes per path',
    "SELECT attributes ->> 'url.path' AS path, count(*) AS n, sum(attributes ->> 'http.response.body.size') AS bytes FROM logs WHERE attributes ->> 'log.type' = 'access' AND attributes ->> 'url.path' LIKE '/api/%' GROUP BY 1 ORDER BY 3 DESC, 1 LIMIT 10",
    "SELECT (attributes ->> 'url.path') AS path, count(*) AS n, sum((attributes ->> 'http.response.body.size')::BIGINT) AS bytes FROM logs WHERE (attributes ->> 'log.type') = 'access' AND (attributes ->> 'url.path') ILIKE '/api/%' GROUP BY 1 ORDER BY 3 DESC, 1 LIMIT 10");
  Q('log: access log 5xx share per minute',
    "SELECT time_bucket_ns(time, 60000000000) AS minute, avg(attributes ->> 'http.response.status_code' >= 500) AS share_5xx FROM logs WHERE attributes ->> 'log.type' = 'access' GROUP BY 1 ORDER BY 1",
    "SELECT epoch_ns(time) // 60000000000 * 60000000000 AS minute, avg(((attributes ->> 'http.response.status_code')::BIGINT >= 500)::INT) AS share_5xx FROM logs WHERE (attributes ->> 'log.type') = 'access' GROUP BY 1 ORDER BY 1");
  Q('log: methods of access logs',
    "SELECT attributes ->> 'http.request.method' AS method, count(*) AS n FROM logs WHERE attributes ->> 'log.type' = 'access' GROUP BY 1 ORDER BY 1",
    "SELECT (attributes ->> 'http.request.method') AS method, count(*) AS n FROM logs WHERE (attributes ->> 'log.type') = 'access' GROUP BY 1 ORDER BY 1");
  Q('log: exception types',
    "SELECT attributes ->> 'exception.type' AS type, count(*) AS n FROM logs WHERE attributes ->> 'exception.type' IS NOT NULL GROUP BY 1 ORDER BY 1",
    "SELECT (attributes ->> 'exception.type') AS type, count(*) AS n FROM logs WHERE (attributes ->> 'exception.type') IS NOT NULL GROUP BY 1 ORDER BY 1");
  Q('log: exception messages per service',
    "SELECT service_name, json_extract(attributes, '$.\"exception.message\"') AS msg, count(*) AS n FROM logs WHERE severity_number = 17 AND json_extract(attributes, '$.\"exception.message\"') IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2",
    "SELECT service_name, json_extract_string(attributes, '$.\"exception.message\"') AS msg, count(*) AS n FROM logs WHERE severity_number = 17 AND json_extract_string(attributes, '$.\"exception.message\"') IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2");
  Q('log: Go source lines of errors',
    "SELECT attributes ->> 'code.filepath' AS file, count(*) AS n, max(attributes ->> 'code.lineno') AS max_line FROM logs WHERE attributes ->> 'code.filepath' IS NOT NULL GROUP BY 1 ORDER BY 1",
    "SELECT (attributes ->> 'code.filepath') AS file, count(*) AS n, max((attributes ->> 'code.lineno')::BIGINT) AS max_line FROM logs WHERE (attributes ->> 'code.filepath') IS NOT NULL GROUP BY 1 ORDER BY 1");
  Q('log: Java threads',
    "SELECT attributes ->> 'thread.name' AS thread, count(*) AS n FROM logs WHERE attributes ->> 'thread.name' LIKE 'http-nio-8080-exec-1%' GROUP BY 1 ORDER BY 1",
    "SELECT (attributes ->> 'thread.name') AS thread, count(*) AS n FROM logs WHERE (attributes ->> 'thread.name') ILIKE 'http-nio-8080-exec-1%' GROUP BY 1 ORDER BY 1");
  Q('log: loggers',
    'SELECT scope_name, count(*) AS n FROM logs GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10');
  Q('log: pods with most errors',
    "SELECT resource_attributes ->> 'k8s.pod.name' AS pod, count(*) AS n FROM logs WHERE severity_text = 'ERROR' GROUP BY pod ORDER BY n DESC, pod LIMIT 5",
    "SELECT (resource_attributes ->> 'k8s.pod.name') AS pod, count(*) AS n FROM logs WHERE severity_text = 'ERROR' GROUP BY pod ORDER BY n DESC, pod LIMIT 5");
  Q('log: logs without trace context',
    'SELECT service_name, count(*) AS n FROM logs WHERE trace_id IS NULL GROUP BY 1 ORDER BY 1');
  Q('log: traced share per service',
    'SELECT service_name, count(trace_id) AS traced, count(*) AS total FROM logs GROUP BY 1 ORDER BY 1');
  Q('log: services logging more than 500 lines (HAVING)',
    'SELECT service_name, count(*) AS n FROM logs GROUP BY service_name HAVING count(*) > 500 ORDER BY n DESC, service_name');
  Q('log: services with errors and warnings (HAVING two aggregates)',
    "SELECT service_name, sum(severity_text = 'ERROR') AS errors, sum(severity_text = 'WARN') AS warnings FROM logs GROUP BY 1 HAVING sum(severity_text = 'ERROR') > 0 AND sum(severity_text = 'WARN') > 0 ORDER BY 1",
    "SELECT service_name, sum((severity_text = 'ERROR')::INT) AS errors, sum((severity_text = 'WARN')::INT) AS warnings FROM logs GROUP BY 1 HAVING sum((severity_text = 'ERROR')::INT) > 0 AND sum((severity_text = 'WARN')::INT) > 0 ORDER BY 1");
  Q('log: OR of two searches',
    "SELECT service_name, count(*) AS n FROM logs WHERE body LIKE '%deadline exceeded%' OR body LIKE '%ECONNREFUSED%' GROUP BY 1 ORDER BY 1",
    "SELECT service_name, count(*) AS n FROM logs WHERE body ILIKE '%deadline exceeded%' OR body ILIKE '%ECONNREFUSED%' GROUP BY 1 ORDER BY 1");
  Q('log: NOT of a search',
    "SELECT severity_text, count(*) AS n FROM logs WHERE NOT (body LIKE '%order%') AND severity_number >= 13 GROUP BY 1 ORDER BY 1",
    "SELECT severity_text, count(*) AS n FROM logs WHERE NOT (body ILIKE '%order%') AND severity_number >= 13 GROUP BY 1 ORDER BY 1");
  Q('log: kafka lag lines per minute',
    "SELECT time_bucket_ns(time, 600000000000) AS t, count(*) AS n FROM logs WHERE body LIKE 'Kafka consumer lag%' GROUP BY 1 ORDER BY 1",
    "SELECT epoch_ns(time) // 600000000000 * 600000000000 AS t, count(*) AS n FROM logs WHERE body ILIKE 'Kafka consumer lag%' GROUP BY 1 ORDER BY 1");
  Q('log: GC pauses',
    "SELECT service_name, count(*) AS n FROM logs WHERE body LIKE 'GC pause%' GROUP BY 1 ORDER BY 1",
    "SELECT service_name, count(*) AS n FROM logs WHERE body ILIKE 'GC pause%' GROUP BY 1 ORDER BY 1");
  Q('log: orders placed (LIKE with _)',
    "SELECT count(*) AS n FROM logs WHERE body LIKE 'Order ORD-______ placed%'",
    "SELECT count(*) AS n FROM logs WHERE body ILIKE 'Order ORD-______ placed%'");
  Q('log: the log search API shape',
    "SELECT time, body FROM logs WHERE body LIKE '%Payment authorized%' AND time >= ns(" + iso(40) + ") ORDER BY time DESC, observed_time DESC LIMIT 10",
    `SELECT epoch_ns(time) AS time, body AS body FROM logs WHERE body ILIKE '%Payment authorized%' AND logs.time >= ${ts(40)} ORDER BY logs.time DESC, observed_time DESC LIMIT 10`);
  Q('log: observed delay per service, microseconds',
    'SELECT service_name, avg(observed_time - time) / 1000 AS avg_delay_us, max(observed_time - time) AS max_delay_ns FROM logs GROUP BY 1 ORDER BY 1',
    'SELECT service_name, avg(epoch_ns(observed_time) - epoch_ns(time)) / 1000 AS avg_delay_us, max(epoch_ns(observed_time) - epoch_ns(time)) AS max_delay_ns FROM logs GROUP BY 1 ORDER BY 1');
  Q('log: COALESCE severity',
    "SELECT COALESCE(severity_text, 'UNSET') AS sev, count(*) AS n FROM logs GROUP BY 1 ORDER BY 1");
  Q('log: count',
    'SELECT count(*) AS n FROM logs');
  Q('log: INFO count, lower-case keywords',
    "select service_name, count(*) n from logs where severity_text = 'INFO' group by service_name order by service_name");
  Q('log: warnings of frontend services (LIKE on service)',
    "SELECT service_name, count(*) AS n FROM logs WHERE service_name LIKE 'frontend%' AND severity_number = 13 GROUP BY 1 ORDER BY 1",
    "SELECT service_name, count(*) AS n FROM logs WHERE service_name ILIKE 'frontend%' AND severity_number = 13 GROUP BY 1 ORDER BY 1");
  Q('log: distinct services logging errors',
    "SELECT count(DISTINCT service_name) AS services FROM logs WHERE severity_text = 'ERROR'");
  Q('log: error lines in a 10 minute window (folded literals)',
    `SELECT count(*) AS n FROM logs WHERE severity_number >= 17 AND time >= ${T0} + 10 * 60000000000 AND time < ${T0} + 20 * 60000000000`,
    `SELECT count(*) AS n FROM logs WHERE severity_number >= 17 AND time >= make_timestamp_ns(${T0} + 10 * 60000000000) AND time < make_timestamp_ns(${T0} + 20 * 60000000000)`);
  Q('log: hour and minute labels of errors',
    "SELECT strftime('%H:%M', time / 1000000000, 'unixepoch') AS hm, count(*) AS n FROM logs WHERE severity_text = 'ERROR' GROUP BY 1 ORDER BY 1",
    "SELECT strftime(time, '%H:%M') AS hm, count(*) AS n FROM logs WHERE severity_text = 'ERROR' GROUP BY 1 ORDER BY 1");
  Q('log: cache misses of products',
    "SELECT count(*) AS n FROM logs WHERE body LIKE 'Cache miss for key product:%' AND severity_number = 5",
    "SELECT count(*) AS n FROM logs WHERE body ILIKE 'Cache miss for key product:%' AND severity_number = 5");
  Q('log: currencies resolved',
    "SELECT substr(body, 35, 3) AS currency, count(*) AS n FROM logs WHERE body LIKE 'Resolved currency conversion USD->%' GROUP BY 1 ORDER BY 1",
    "SELECT substr(body, 35, 3) AS currency, count(*) AS n FROM logs WHERE body ILIKE 'Resolved currency conversion USD->%' GROUP BY 1 ORDER BY 1");
  Q('log: carriers of shipments',
    "SELECT CASE WHEN body LIKE '%carrier UPS%' THEN 'UPS' WHEN body LIKE '%carrier FedEx%' THEN 'FedEx' WHEN body LIKE '%carrier DHL%' THEN 'DHL' ELSE 'other' END AS carrier, count(*) AS n FROM logs WHERE body LIKE 'Shipment scheduled%' GROUP BY 1 ORDER BY 1",
    "SELECT CASE WHEN body ILIKE '%carrier UPS%' THEN 'UPS' WHEN body ILIKE '%carrier FedEx%' THEN 'FedEx' WHEN body ILIKE '%carrier DHL%' THEN 'DHL' ELSE 'other' END AS carrier, count(*) AS n FROM logs WHERE body ILIKE 'Shipment scheduled%' GROUP BY 1 ORDER BY 1");

  // ---- metrics ----
  Q('metric: cpu utilization per minute, one service',
    "SELECT time_bucket_ns(time, 60000000000) AS minute, avg(value) AS v FROM metrics WHERE metric_name = 'process.cpu.utilization' AND service_name = 'checkout' GROUP BY 1 ORDER BY 1",
    "SELECT epoch_ns(time) // 60000000000 * 60000000000 AS minute, avg(value) AS v FROM metrics WHERE metric_name = 'process.cpu.utilization' AND service_name = 'checkout' GROUP BY 1 ORDER BY 1");
  Q('metric: cpu utilization per minute per service',
    "SELECT service_name, time_bucket_ns(time, 60000000000) AS minute, avg(value) AS avg_util, max(value) AS max_util FROM metrics WHERE metric_name = 'process.cpu.utilization' GROUP BY 1, 2 ORDER BY 1, 2",
    "SELECT service_name, epoch_ns(time) // 60000000000 * 60000000000 AS minute, avg(value) AS avg_util, max(value) AS max_util FROM metrics WHERE metric_name = 'process.cpu.utilization' GROUP BY 1, 2 ORDER BY 1, 2");
  Q('metric: memory per pod, last value (IN subquery)',
    "SELECT resource_attributes ->> 'k8s.pod.name' AS pod, value_int FROM metrics WHERE metric_name = 'process.memory.usage' AND time IN (SELECT max(time) FROM metrics WHERE metric_name = 'process.memory.usage') ORDER BY 1",
    "SELECT (resource_attributes ->> 'k8s.pod.name') AS pod, value_int FROM metrics WHERE metric_name = 'process.memory.usage' AND time IN (SELECT max(time) FROM metrics WHERE metric_name = 'process.memory.usage') ORDER BY 1");
  Q('metric: memory per service, MB, max',
    "SELECT service_name, max(value_int) / 1048576 AS max_mb FROM metrics WHERE metric_name = 'process.memory.usage' GROUP BY 1 ORDER BY 1",
    "SELECT service_name, max(value_int) // 1048576 AS max_mb FROM metrics WHERE metric_name = 'process.memory.usage' GROUP BY 1 ORDER BY 1");
  Q('metric: memory series per minute in MiB (real)',
    "SELECT time_bucket_ns(time, 60000000000) AS minute, round(avg(value_int) / 1048576.0, 1) AS avg_mib FROM metrics WHERE metric_name = 'process.memory.usage' GROUP BY 1 ORDER BY 1",
    "SELECT epoch_ns(time) // 60000000000 * 60000000000 AS minute, round(avg(value_int) / 1048576.0, 1) AS avg_mib FROM metrics WHERE metric_name = 'process.memory.usage' GROUP BY 1 ORDER BY 1");
  Q('metric: last time each metric reported',
    'SELECT metric_name, max(time) AS last FROM metrics GROUP BY 1 ORDER BY 1',
    'SELECT metric_name, epoch_ns(max(time)) AS last FROM metrics GROUP BY 1 ORDER BY 1');
  Q('metric: points per metric and type',
    'SELECT metric_name, metric_type, count(*) AS points FROM metrics GROUP BY 1, 2 ORDER BY 1, 2');
  Q('metric: metrics by type',
    'SELECT metric_type, count(DISTINCT metric_name) AS metrics, count(*) AS points FROM metrics GROUP BY 1 ORDER BY 1');
  Q('metric: units and descriptions',
    'SELECT DISTINCT metric_name, metric_unit FROM metrics ORDER BY 1, 2');
  Q('metric: monotonic sums',
    "SELECT metric_name, is_monotonic, temporality, count(*) AS n FROM metrics WHERE metric_type = 'sum' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    "SELECT metric_name, is_monotonic::INT AS is_monotonic, temporality, count(*) AS n FROM metrics WHERE metric_type = 'sum' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3");
  Q('metric: counter increase per pod (max - min)',
    "SELECT resource_attributes ->> 'k8s.pod.name' AS pod, max(value_int) - min(value_int) AS increase FROM metrics WHERE metric_name = 'system.network.io' AND attributes ->> 'network.io.direction' = 'transmit' GROUP BY 1 ORDER BY 1",
    "SELECT (resource_attributes ->> 'k8s.pod.name') AS pod, max(value_int) - min(value_int) AS increase FROM metrics WHERE metric_name = 'system.network.io' AND (attributes ->> 'network.io.direction') = 'transmit' GROUP BY 1 ORDER BY 1");
  Q('metric: network by direction',
    "SELECT attributes ->> 'network.io.direction' AS dir, count(*) AS n, max(value_int) AS max_bytes FROM metrics WHERE metric_name = 'system.network.io' GROUP BY 1 ORDER BY 1",
    "SELECT (attributes ->> 'network.io.direction') AS dir, count(*) AS n, max(value_int) AS max_bytes FROM metrics WHERE metric_name = 'system.network.io' GROUP BY 1 ORDER BY 1");
  Q('metric: cpu time by mode',
    "SELECT service_name, attributes ->> 'cpu.mode' AS mode, max(value) AS seconds FROM metrics WHERE metric_name = 'process.cpu.time' GROUP BY 1, 2 ORDER BY 1, 2",
    "SELECT service_name, (attributes ->> 'cpu.mode') AS mode, max(value) AS seconds FROM metrics WHERE metric_name = 'process.cpu.time' GROUP BY 1, 2 ORDER BY 1, 2");
  Q('metric: JVM memory pools',
    "SELECT attributes ->> 'jvm.memory.pool.name' AS pool, attributes ->> 'jvm.memory.type' AS type, max(value_int) AS max_bytes FROM metrics WHERE metric_name = 'jvm.memory.used' GROUP BY 1, 2 ORDER BY 1, 2",
    "SELECT (attributes ->> 'jvm.memory.pool.name') AS pool, (attributes ->> 'jvm.memory.type') AS type, max(value_int) AS max_bytes FROM metrics WHERE metric_name = 'jvm.memory.used' GROUP BY 1, 2 ORDER BY 1, 2");
  Q('metric: .NET GC per generation',
    "SELECT attributes ->> 'dotnet.gc.heap.generation' AS gen, max(value_int) AS collections FROM metrics WHERE metric_name = 'dotnet.gc.collections' GROUP BY 1 ORDER BY 1",
    "SELECT (attributes ->> 'dotnet.gc.heap.generation') AS gen, max(value_int) AS collections FROM metrics WHERE metric_name = 'dotnet.gc.collections' GROUP BY 1 ORDER BY 1");
  Q('metric: active requests per service',
    "SELECT service_name, avg(value_int) AS avg_active, max(value_int) AS peak FROM metrics WHERE metric_name = 'http.server.active_requests' GROUP BY 1 ORDER BY 1");
  Q('metric: histogram observations per route (last point)',
    "SELECT attributes ->> 'http.route' AS route, sum(count) AS observations, sum(sum) AS total_s FROM metrics WHERE metric_name = 'http.server.request.duration' AND time IN (SELECT max(time) FROM metrics WHERE metric_name = 'http.server.request.duration') GROUP BY 1 ORDER BY 1",
    "SELECT (attributes ->> 'http.route') AS route, sum(count) AS observations, sum(sum) AS total_s FROM metrics WHERE metric_name = 'http.server.request.duration' AND time IN (SELECT max(time) FROM metrics WHERE metric_name = 'http.server.request.duration') GROUP BY 1 ORDER BY 1");
  Q('metric: histogram mean latency per service',
    "SELECT service_name, sum(sum) / sum(count) AS mean_s FROM metrics WHERE metric_name = 'http.server.request.duration' AND count > 0 GROUP BY 1 ORDER BY 1");
  Q('metric: histogram max of max per service',
    "SELECT service_name, max(max) AS worst_s, min(min) AS best_s FROM metrics WHERE metric_type = 'histogram' GROUP BY 1 ORDER BY 1");
  Q('metric: histogram counts per minute',
    "SELECT time_bucket_ns(time, 60000000000) AS minute, max(count) AS cumulative FROM metrics WHERE metric_name = 'db.client.operation.duration' GROUP BY 1 ORDER BY 1",
    "SELECT epoch_ns(time) // 60000000000 * 60000000000 AS minute, max(count) AS cumulative FROM metrics WHERE metric_name = 'db.client.operation.duration' GROUP BY 1 ORDER BY 1");
  Q('metric: exponential histogram scales',
    "SELECT scale, count(*) AS n, sum(zero_count) AS zeros FROM metrics WHERE metric_type = 'exponential_histogram' GROUP BY 1 ORDER BY 1");
  Q('metric: summaries',
    "SELECT service_name, max(count) AS pauses, max(sum) AS total_s FROM metrics WHERE metric_type = 'summary' GROUP BY 1 ORDER BY 1");
  Q('metric: event loop delay p99 gauge over 10 ms',
    "SELECT service_name, count(*) AS n FROM metrics WHERE metric_name = 'nodejs.eventloop.delay.p99' AND value > 0.01 GROUP BY 1 ORDER BY 1");
  Q('metric: consumed messages increase per group',
    "SELECT attributes ->> 'messaging.consumer.group.name' AS grp, max(value_int) - min(value_int) AS consumed FROM metrics WHERE metric_name = 'messaging.client.consumed.messages' GROUP BY 1 ORDER BY 1",
    "SELECT (attributes ->> 'messaging.consumer.group.name') AS grp, max(value_int) - min(value_int) AS consumed FROM metrics WHERE metric_name = 'messaging.client.consumed.messages' GROUP BY 1 ORDER BY 1");
  Q('metric: points in the first 90 seconds',
    `SELECT metric_name, count(*) AS n FROM metrics WHERE time < ${T0} + 90000000000 GROUP BY 1 ORDER BY 1`,
    `SELECT metric_name, count(*) AS n FROM metrics WHERE time < make_timestamp_ns(${T0} + 90000000000) GROUP BY 1 ORDER BY 1`);
  Q('metric: points per 10 s tick',
    'SELECT time / 10000000000 AS tick, count(*) AS n FROM metrics GROUP BY 1 ORDER BY 1 LIMIT 20',
    'SELECT epoch_ns(time) // 10000000000 AS tick, count(*) AS n FROM metrics GROUP BY 1 ORDER BY 1 LIMIT 20');
  Q('metric: values as one number (COALESCE, CAST)',
    "SELECT metric_name, min(COALESCE(value, CAST(value_int AS REAL))) AS lo, max(COALESCE(value, CAST(value_int AS REAL))) AS hi FROM metrics WHERE metric_type IN ('gauge', 'sum') GROUP BY 1 ORDER BY 1",
    "SELECT metric_name, min(COALESCE(value, CAST(value_int AS DOUBLE))) AS lo, max(COALESCE(value, CAST(value_int AS DOUBLE))) AS hi FROM metrics WHERE metric_type IN ('gauge', 'sum') GROUP BY 1 ORDER BY 1");
  Q('metric: integer or real points',
    "SELECT metric_name, sum(value IS NULL) AS ints, sum(value_int IS NULL) AS reals FROM metrics WHERE metric_type IN ('gauge', 'sum') GROUP BY 1 ORDER BY 1",
    "SELECT metric_name, sum((value IS NULL)::INT) AS ints, sum((value_int IS NULL)::INT) AS reals FROM metrics WHERE metric_type IN ('gauge', 'sum') GROUP BY 1 ORDER BY 1");
  Q('metric: process metrics (LIKE)',
    "SELECT metric_name, count(*) AS n FROM metrics WHERE metric_name LIKE 'process.%' GROUP BY 1 ORDER BY 1",
    "SELECT metric_name, count(*) AS n FROM metrics WHERE metric_name ILIKE 'process.%' GROUP BY 1 ORDER BY 1");
  Q('metric: series count per metric',
    "SELECT metric_name, count(DISTINCT attributes) AS label_sets, count(DISTINCT service_name) AS services FROM metrics GROUP BY 1 ORDER BY 1",
    "SELECT metric_name, count(DISTINCT attributes::VARCHAR) AS label_sets, count(DISTINCT service_name) AS services FROM metrics GROUP BY 1 ORDER BY 1");
  Q('metric: cpu utilization over 20% (HAVING)',
    "SELECT service_name, max(value) AS peak FROM metrics WHERE metric_name = 'process.cpu.utilization' GROUP BY 1 HAVING max(value) > 0.2 ORDER BY 1");
  Q('metric: utilization rounded percent per pod',
    "SELECT resource_attributes ->> 'k8s.pod.name' AS pod, round(avg(value) * 100, 1) AS pct FROM metrics WHERE metric_name = 'process.cpu.utilization' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10",
    "SELECT (resource_attributes ->> 'k8s.pod.name') AS pod, round(avg(value) * 100, 1) AS pct FROM metrics WHERE metric_name = 'process.cpu.utilization' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10");
  Q('metric: scopes',
    'SELECT scope_name, count(DISTINCT metric_name) AS metrics FROM metrics GROUP BY 1 ORDER BY 1');
  Q('metric: the start of the cumulative sums',
    "SELECT service_name, min(start_time) AS since FROM metrics WHERE metric_name = 'process.cpu.time' GROUP BY 1 ORDER BY 1",
    "SELECT service_name, epoch_ns(min(start_time)) AS since FROM metrics WHERE metric_name = 'process.cpu.time' GROUP BY 1 ORDER BY 1");
  Q('metric: uptime hours per service (start_time)',
    "SELECT service_name, max(time - start_time) / 3600000000000 AS uptime_h FROM metrics WHERE metric_name = 'process.cpu.time' GROUP BY 1 ORDER BY 1",
    "SELECT service_name, max(epoch_ns(time) - epoch_ns(start_time)) // 3600000000000 AS uptime_h FROM metrics WHERE metric_name = 'process.cpu.time' GROUP BY 1 ORDER BY 1");
  Q('metric: points per service and metric in a window',
    `SELECT service_name, metric_name, count(*) AS n FROM metrics WHERE time BETWEEN ${at(0)} AND ${at(1)} AND service_name IN ('cart', 'checkout') GROUP BY 1, 2 ORDER BY 1, 2`,
    `SELECT service_name, metric_name, count(*) AS n FROM metrics WHERE time BETWEEN make_timestamp_ns(${at(0)}) AND make_timestamp_ns(${at(1)}) AND service_name IN ('cart', 'checkout') GROUP BY 1, 2 ORDER BY 1, 2`);
  Q('metric: metric count',
    'SELECT count(*) AS n, count(DISTINCT metric_name) AS metrics FROM metrics');
  Q('metric: exemplars on histograms',
    "SELECT metric_name, count(*) AS n FROM metrics WHERE exemplars IS NOT NULL GROUP BY 1 ORDER BY 1");
  Q('metric: bucket bounds of one histogram',
    "SELECT DISTINCT explicit_bounds FROM metrics WHERE metric_name = 'http.server.request.duration'",
    "SELECT DISTINCT explicit_bounds::VARCHAR FROM metrics WHERE metric_name = 'http.server.request.duration'");
  Q('metric: gauge min/avg/max per minute, ns() window',
    `SELECT time_bucket_ns(time, 60000000000) AS minute, min(value) AS lo, avg(value) AS mean, max(value) AS hi FROM metrics WHERE metric_name = 'nodejs.eventloop.delay.p99' AND time >= ns(${iso(0)}) AND time < ns(${iso(30)}) GROUP BY 1 ORDER BY 1`,
    `SELECT epoch_ns(time) // 60000000000 * 60000000000 AS minute, min(value) AS lo, avg(value) AS mean, max(value) AS hi FROM metrics WHERE metric_name = 'nodejs.eventloop.delay.p99' AND time >= ${ts(0)} AND time < ${ts(30)} GROUP BY 1 ORDER BY 1`);
  Q('metric: services per runtime (resource)',
    "SELECT resource_attributes ->> 'process.runtime.name' AS rt, count(DISTINCT service_name) AS services FROM metrics GROUP BY 1 ORDER BY 1",
    "SELECT (resource_attributes ->> 'process.runtime.name') AS rt, count(DISTINCT service_name) AS services FROM metrics GROUP BY 1 ORDER BY 1");

  // ---- mixed shapes ----
  Q('misc: GROUP BY alias and ORDER BY alias',
    'SELECT service_name AS svc, count(*) AS n FROM spans GROUP BY svc ORDER BY svc');
  Q('misc: GROUP BY position, ORDER BY position DESC',
    'SELECT kind, status_code, count(*) FROM spans GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2');
  Q('misc: quoted identifiers',
    'SELECT "service_name", count(*) AS "count" FROM spans GROUP BY "service_name" ORDER BY "service_name"');
  Q('misc: LIMIT with comma',
    'SELECT name, count(*) AS n FROM spans GROUP BY name ORDER BY name LIMIT 5, 10',
    'SELECT name, count(*) AS n FROM spans GROUP BY name ORDER BY name LIMIT 10 OFFSET 5');
  Q('misc: expression group (kind * 10 + status)',
    'SELECT kind * 10 + status_code AS k, count(*) AS n FROM spans GROUP BY k ORDER BY k');
  Q('misc: modulo buckets of duration',
    'SELECT duration_ns % 7 AS r, count(*) AS n FROM spans GROUP BY 1 ORDER BY 1');
  Q('misc: abs of a difference',
    'SELECT service_name, max(abs(duration_ns - 50000000)) AS far FROM spans GROUP BY 1 ORDER BY 1');
  Q('misc: scalar min and max',
    'SELECT service_name, max(min(duration_ns, 1000000000)) AS capped, min(max(duration_ns, 1000)) AS floored FROM spans GROUP BY 1 ORDER BY 1',
    'SELECT service_name, max(least(duration_ns, 1000000000)) AS capped, min(greatest(duration_ns, 1000)) AS floored FROM spans GROUP BY 1 ORDER BY 1');
  Q('misc: CAST to text and back',
    "SELECT CAST(kind AS TEXT) || '-' || CAST(status_code AS TEXT) AS ks, count(*) AS n FROM spans GROUP BY 1 ORDER BY 1");
  Q('misc: CAST real to integer',
    'SELECT CAST(avg(duration_ns) AS INTEGER) AS avg_ns FROM spans WHERE kind = 1',
    'SELECT CAST(trunc(avg(duration_ns)) AS BIGINT) AS avg_ns FROM spans WHERE kind = 1');
  Q('misc: string concatenation of service and operation',
    "SELECT service_name || ' ' || name AS op, count(*) AS n FROM spans WHERE kind = 2 GROUP BY op ORDER BY n DESC, op LIMIT 10");
  Q('misc: length of names',
    'SELECT length(name) AS len, count(*) AS n FROM spans GROUP BY 1 ORDER BY 1');
  Q('misc: upper and lower names',
    "SELECT upper(service_name) AS svc, lower(name) AS op, count(*) AS n FROM spans WHERE service_name = 'ad' GROUP BY 1, 2 ORDER BY 1, 2");
  Q('misc: NOT IN',
    "SELECT service_name, count(*) AS n FROM spans WHERE service_name NOT IN ('frontend', 'frontend-proxy', 'checkout') AND kind = 2 GROUP BY 1 ORDER BY 1");
  Q('misc: NOT BETWEEN',
    'SELECT kind, count(*) AS n FROM spans WHERE duration_ns NOT BETWEEN 1000000 AND 100000000 GROUP BY 1 ORDER BY 1');
  Q('misc: nested OR and AND',
    "SELECT service_name, count(*) AS n FROM spans WHERE (kind = 2 AND duration_ns > 100000000) OR (kind = 3 AND status_code = 2) GROUP BY 1 ORDER BY 1");
  Q('misc: IS NOT NULL status message',
    'SELECT status_code, count(status_message) AS with_msg, count(*) AS n FROM spans GROUP BY 1 ORDER BY 1');
  Q('misc: status message empty or null',
    "SELECT count(*) AS n FROM spans WHERE status_message IS NULL OR status_message = ''");
  Q('misc: comparison as a value',
    'SELECT service_name, max(duration_ns > 1000000000) AS any_over_1s FROM spans GROUP BY 1 ORDER BY 1',
    'SELECT service_name, max((duration_ns > 1000000000)::INT) AS any_over_1s FROM spans GROUP BY 1 ORDER BY 1');
  Q('misc: DISTINCT pairs',
    'SELECT DISTINCT service_name, kind FROM spans ORDER BY 1, 2');
  Q('misc: DISTINCT of an expression',
    'SELECT DISTINCT duration_ns / 1000000000 AS secs FROM spans ORDER BY 1',
    'SELECT DISTINCT duration_ns // 1000000000 AS secs FROM spans ORDER BY 1');
  Q('misc: count DISTINCT of an expression',
    'SELECT count(DISTINCT duration_ns / 1000000) AS distinct_ms FROM spans',
    'SELECT count(DISTINCT duration_ns // 1000000) AS distinct_ms FROM spans');
  Q('misc: sum of CASE with ELSE NULL',
    "SELECT service_name, count(CASE WHEN status_code = 2 THEN 1 END) AS errors, sum(CASE WHEN kind = 2 THEN duration_ns END) AS server_ns FROM spans GROUP BY 1 ORDER BY 1");
  Q('misc: nested CASE',
    "SELECT CASE WHEN kind = 2 THEN CASE WHEN status_code = 2 THEN 'server error' ELSE 'server ok' END ELSE 'other' END AS c, count(*) AS n FROM spans GROUP BY 1 ORDER BY 1");
  Q('misc: IIF and NULLIF together',
    "SELECT service_name, sum(iif(status_code = 2, duration_ns, 0)) / NULLIF(sum(status_code = 2), 0) AS avg_error_ns FROM spans GROUP BY 1 ORDER BY 1",
    "SELECT service_name, sum(CASE WHEN status_code = 2 THEN duration_ns ELSE 0 END) // NULLIF(sum((status_code = 2)::INT), 0) AS avg_error_ns FROM spans GROUP BY 1 ORDER BY 1");
  Q('misc: WHERE on an expression',
    'SELECT service_name, count(*) AS n FROM spans WHERE duration_ns / 1000000 >= 250 GROUP BY 1 ORDER BY 1',
    'SELECT service_name, count(*) AS n FROM spans WHERE duration_ns // 1000000 >= 250 GROUP BY 1 ORDER BY 1');
  Q('misc: WHERE end - start',
    'SELECT count(*) AS n FROM spans WHERE end_time - start_time > 500000000',
    'SELECT count(*) AS n FROM spans WHERE epoch_ns(end_time) - epoch_ns(start_time) > 500000000');
  Q('misc: ORDER BY an expression',
    "SELECT name, count(*) AS n FROM spans WHERE service_name = 'frontend' GROUP BY name ORDER BY length(name), name");
  Q('misc: aggregate of an expression ORDER BY it again',
    'SELECT service_name, sum(duration_ns / 1000) AS us FROM spans GROUP BY 1 ORDER BY sum(duration_ns / 1000) DESC, 1 LIMIT 5',
    'SELECT service_name, sum(duration_ns // 1000) AS us FROM spans GROUP BY 1 ORDER BY sum(duration_ns // 1000) DESC, 1 LIMIT 5');
  Q('misc: avg of a boolean for share',
    "SELECT name, round(avg(status_code = 2), 4) AS error_share FROM spans WHERE service_name = 'payment' GROUP BY 1 ORDER BY 1",
    "SELECT name, round(avg((status_code = 2)::INT), 4) AS error_share FROM spans WHERE service_name = 'payment' GROUP BY 1 ORDER BY 1");
  Q('misc: two time buckets',
    'SELECT time_bucket_ns(start_time, 3600000000000) AS hour, time_bucket_ns(start_time, 600000000000) AS ten, count(*) AS n FROM spans GROUP BY 1, 2 ORDER BY 1, 2',
    'SELECT epoch_ns(start_time) // 3600000000000 * 3600000000000 AS hour, epoch_ns(start_time) // 600000000000 * 600000000000 AS ten, count(*) AS n FROM spans GROUP BY 1, 2 ORDER BY 1, 2');
  Q('misc: interval_ns buckets',
    "SELECT time_bucket_ns(start_time, interval_ns('10 minutes')) AS t, count(*) AS n FROM spans GROUP BY 1 ORDER BY 1",
    'SELECT epoch_ns(start_time) // 600000000000 * 600000000000 AS t, count(*) AS n FROM spans GROUP BY 1 ORDER BY 1');
  Q('misc: minute of hour',
    "SELECT CAST(strftime('%M', start_time / 1000000000, 'unixepoch') AS INTEGER) AS minute, count(*) AS n FROM spans WHERE parent_span_id IS NULL GROUP BY 1 ORDER BY 1",
    "SELECT CAST(strftime(start_time, '%M') AS INTEGER) AS minute, count(*) AS n FROM spans WHERE parent_span_id IS NULL GROUP BY 1 ORDER BY 1");
  Q('misc: sum of durations as real seconds',
    'SELECT service_name, round(sum(duration_ns) / 1e9, 3) AS secs FROM spans GROUP BY 1 ORDER BY 1');
  Q('misc: semicolon at the end',
    'SELECT count(*) AS n FROM logs WHERE severity_number = 9;');
  Q('misc: trailing spaces and newlines',
    '  SELECT metric_type, count(*) AS n\n  FROM metrics\n  GROUP BY metric_type\n  ORDER BY metric_type  ');
  return q;
}

#!/usr/bin/env node
// Attribute values by name: what an exporter sends reads back as the value
// itself, by its OpenTelemetry key, dots and all - `attributes ->> 'http.route'`
// is the string, an int an integer, a double a real, a bool 1 or 0, arrays
// and maps JSON - in both engines (the API's columnar engine and SQLite),
// in `openwit sql`, and in DuckDB over the Parquet parts; a string log body
// is the line itself. The OTLP/JSON steps of today's README (.stringValue,
// .intValue, ...) keep their answers. Values plain JSON cannot type exactly
// (bytes, NaN, a structured body) keep their OTLP/JSON in otlp_exact. Parts
// written before this (t/fixtures/v1, format 1) answer the same, and a
// merge rewrites them.
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
(async () => {
const { start, bin, root, curlJSON, otelSend, sql, duck, tmpdir, ok, is, note, done, sleep, nowNs } = await import('./lib/harness.mjs');

const T0 = 1700000000000000000n; // 2023-11-14, the day of the fixture's records
// A live server takes times near now only: the fixture's requests are sent
// moved from T0 to now, all else as they are.
const NOW = nowNs();
const moved = (o) => JSON.parse(JSON.stringify(o), (k, v) => /timeunixnano$/i.test(k) ? String(BigInt(v) - T0 + NOW) : v);
const tid = '5b8efff798038103d269b633813fc60c';
const sv = (key, v) => ({ key, value: { stringValue: v } });
// The raw requests: every AnyValue kind, in OTLP/JSON as curl sends it.
// t/fixtures/v1 holds these same requests as the last release stored them.
const rawSpans = moved(JSON.parse(fs.readFileSync(path.join(root, 't/fixtures/v1/spans.json'), 'utf8')));
const rawLogs = moved(JSON.parse(fs.readFileSync(path.join(root, 't/fixtures/v1/logs.json'), 'utf8')));

const s = await start({ tag: 'attrs', config: { 'storage.buffer.flush_interval_ms': 200 } });
const post = (tenant, signal, body, srv = s) => {
  const f = path.join(srv.dir, `${signal}.json`);
  fs.writeFileSync(f, typeof body === 'string' ? body : JSON.stringify(body));
  return curlJSON(`${srv.otlp}/v1/${signal}`, ['-H', 'Content-Type: application/json', '-H', `X-Scope-OrgID: ${tenant}`, '--data-binary', `@${f}`]);
};
is(post('t17', 'traces', rawSpans).code, 200, 'raw OTLP/JSON spans: 200');
is(post('t17', 'logs', rawLogs).code, 200, 'raw OTLP/JSON logs: 200');
const rawMetrics = { resourceMetrics: [{ resource: { attributes: [sv('service.name', 'raw-svc')] }, scopeMetrics: [{ metrics: [{ name: 'raw.gauge',
  metadata: [sv('meta.k', 'mv'), { key: 'meta.b', value: { bytesValue: 'AQ==' } }],
  gauge: { dataPoints: [{ timeUnixNano: String(NOW), asDouble: 2.5, attributes: [sv('host.name', 'h1'), { key: 'cpu', value: { intValue: '3' } }],
    exemplars: [{ timeUnixNano: String(NOW), asInt: '7', filteredAttributes: [sv('user.id', 'u-1'), { key: 'w', value: { doubleValue: 0.5 } }] }] }] } }] }] }] };
is(post('t17', 'metrics', rawMetrics).code, 200, 'raw OTLP/JSON metrics: 200');
const marker = `mk17-${process.pid}`;
for (const [signal, enc] of [['traces', 'proto'], ['logs', 'json'], ['traces', 'json']]) {
  const r = otelSend(s.otlp, signal, enc, ['--count', '6', '--marker', `${marker}-${enc}`, '--tenant', 't17sdk']);
  ok(r.exit === 0 && r.failed === 0, `SDK ${signal} (${enc}): exported`, r);
}

// ---- one query, everywhere ----
const api = (srv, tenant, q, engine) => {
  const body = { query: q, limit: 1000, ...(engine ? { engine } : {}) };
  const r = curlJSON(`${srv.control}/api/search`, ['-H', `X-Scope-OrgID: ${tenant}`, '-d', JSON.stringify(body)]);
  return r.json && r.json.status === 'success' ? { rows: r.json.result.rows, engine: r.json.engine } : { error: r.text };
};
const cli = (data, tenant, q) => {
  const p = spawnSync(bin, ['sql', '-d', data, '-T', tenant, '--format', 'json', q]);
  try { return { rows: JSON.parse(p.stdout.toString() || '[]') }; } catch { return { error: p.stderr.toString() }; }
};
// The rows of q from the API (auto and SQLite) and openwit sql, which must
// agree; the engines that ran are noted.
const engines = { columnar: 0, sqlite: 0 };
function everywhere(srv, tenant, q, want, name, { committed = true } = {}) {
  const a = api(srv, tenant, q), b = api(srv, tenant, q, 'sqlite');
  const c = committed ? cli(srv.data, tenant, q) : b;
  if (a.engine) engines[a.engine]++;
  const got = [a.rows, b.rows, c.rows];
  ok(got.every((g) => JSON.stringify(g) === JSON.stringify(want)), `${name} (${a.engine}, sqlite, openwit sql)`,
    { query: q, want, auto: a.rows || a.error, sqlite: b.rows || b.error, cli: c.rows || c.error });
}
async function waitRows(srv, tenant, q, n) {
  for (let i = 0; i < 200; i++) {
    const r = cli(srv.data, tenant, q);
    if (r.rows && r.rows.length && Object.values(r.rows[0])[0] >= n) return true;
    await sleep(50);
  }
  return false;
}
ok(await waitRows(s, 't17', 'SELECT count(*) n FROM spans', 2) && await waitRows(s, 't17', 'SELECT count(*) n FROM logs', 6) &&
  await waitRows(s, 't17', 'SELECT count(*) n FROM metrics', 1) &&
  await waitRows(s, 't17sdk', 'SELECT count(*) n FROM spans', 12) && await waitRows(s, 't17sdk', 'SELECT count(*) n FROM logs', 6),
'every record is in a committed part');

// What the raw spans and logs read as (the same from format 1 parts below).
function checkRaw(srv, tenant, label) {
  const q = (sel) => `SELECT ${sel} FROM spans WHERE name = 'raw-a'`;
  everywhere(srv, tenant, q(`attributes ->> 'http.route' AS r, attributes ->> 'code' AS c, attributes ->> 'big' AS b, attributes ->> 'ratio' AS x, ` +
    `attributes ->> 'ok' AS t, attributes ->> 'no' AS f, attributes ->> 'empty' AS e, attributes ->> 'missing' AS m`),
  [{ r: '/api/cart', c: 200, b: 9223372036854775807, x: 0.25, t: 1, f: 0, e: null, m: null }],
  `${label}: a string, an int, int64 max, a double, true, false, an empty value, a missing key, by name`);
  everywhere(srv, tenant, q(`typeof(attributes ->> 'one_d') AS d, typeof(attributes ->> 'one_i') AS i, attributes ->> 'one_d' AS dv, attributes ->> 'negz' AS z`),
    [{ d: 'real', i: 'integer', dv: 1, z: 0 }], `${label}: a double 1.0 stays a real, an int 1 an integer; -0.0 a real`);
  everywhere(srv, tenant, q(`attributes ->> 'bytes' AS b, attributes ->> 'nan' AS n, attributes ->> 'kv' AS kv, attributes ->> '$.kv."inner.key"' AS ik, ` +
    `attributes ->> 'arr' AS a, attributes ->> '$.arr[1]' AS a1, attributes ->> 'dup' AS d`),
  [{ b: 'AAEC/w==', n: 'NaN', kv: '{"inner.key":"v","n":5}', ik: 'v', a: '["x",2,false]', a1: 2, d: 'first' }],
  `${label}: bytes as base64, NaN as its name, a kvlist and an array as JSON (and into them), the first of duplicate keys`);
  everywhere(srv, tenant, q(`attributes ->> 'esc' AS e, attributes ->> 'ключ' AS k, attributes -> 'code' AS j, attributes -> 'http.route' AS jr`),
    [{ e: 'say "hi"\\ \n\t é ✓ 😀 \u0001', k: 'значение', j: '200', jr: '"/api/cart"' }], `${label}: escapes and non-ASCII, keys too; -> gives JSON`);
  everywhere(srv, tenant, q(`json_extract(attributes, 'http.route') AS a, json_extract(attributes, '$."http.route"') AS b, json_extract(attributes, '$.code') AS c`),
    [{ a: '/api/cart', b: '/api/cart', c: 200 }], `${label}: json_extract by key and by '$' path`);
  everywhere(srv, tenant, q(`attributes ->> '$."http.route".stringValue' AS s, attributes ->> '$.code.intValue' AS i, attributes ->> '$.ratio.doubleValue' AS d, ` +
    `attributes ->> '$.ok.boolValue' AS b, attributes ->> '$.code.stringValue' AS wrong, json_extract(attributes, '$.nan.doubleValue') AS n, ` +
    `resource_attributes ->> '$."service.name".stringValue' AS svc`),
  [{ s: '/api/cart', i: '200', d: 0.25, b: 1, wrong: null, n: 'NaN', svc: 'raw-svc' }],
  `${label}: today's README paths (.stringValue, .intValue as text, .doubleValue, .boolValue) give what they gave`);
  everywhere(srv, tenant, `SELECT name, count(*) AS n FROM spans WHERE attributes ->> 'http.route' = '/api/cart' GROUP BY 1 ORDER BY 1`,
    [{ name: 'raw-a', n: 1 }], `${label}: a filter on a dotted key`);
  everywhere(srv, tenant, `SELECT count(*) AS n FROM spans WHERE attributes ->> '$."http.response.status_code".intValue' = '404'`,
    [{ n: 1 }], `${label}: README's status code filter, as written before`);
  everywhere(srv, tenant, `SELECT attributes ->> 'code' AS c, count(*) AS n FROM spans WHERE attributes ->> 'code' IS NOT NULL GROUP BY 1 ORDER BY 1`,
    [{ c: 200, n: 1 }, { c: 404, n: 1 }], `${label}: a group by an int attribute`);
  everywhere(srv, tenant, q(`events ->> '$[0].attributes."ev.attr"' AS e, links ->> '$[0].attributes."link.n"' AS l, events ->> '$[0].name' AS en`),
    [{ e: 'hello', l: 3, en: 'ev' }], `${label}: event and link attributes by name`);
  everywhere(srv, tenant, `SELECT body, typeof(body) AS t FROM logs WHERE body LIKE 'connection refused%'`,
    [{ body: 'connection refused to db:5432', t: 'text' }], `${label}: a string body is the line; LIKE 'prefix%' finds it`);
  everywhere(srv, tenant, `SELECT count(*) AS n FROM logs WHERE body = 'connection refused to db:5432'`, [{ n: 1 }], `${label}: body = the line`);
  everywhere(srv, tenant, `SELECT body, body ->> 'k' AS k, body ->> '$.stringValue' AS sv FROM logs WHERE severity_text = 'kv'`,
    [{ body: '{"k":"v","n":1}', k: 'v', sv: null }], `${label}: a kvlist body is plain JSON`);
  everywhere(srv, tenant, `SELECT body, body ->> '$' AS b, typeof(body ->> '$') AS t FROM logs WHERE severity_text = 'int'`,
    [{ body: '42', b: 42, t: 'integer' }], `${label}: an int body`);
  everywhere(srv, tenant, `SELECT body ->> 'level' AS l FROM logs WHERE severity_text = 'jsonline'`,
    [{ l: 'warn' }], `${label}: a string body holding JSON reads into it`);
  everywhere(srv, tenant, `SELECT body ->> '$.stringValue' AS a, coalesce(body ->> '$.stringValue', body) AS b, body ->> 'x' AS c FROM logs WHERE severity_text = 'line'`,
    [{ a: 'connection refused to db:5432', b: 'connection refused to db:5432', c: null }],
    `${label}: a line's .stringValue is the line (today's query), a member of it NULL, no error`);
  everywhere(srv, tenant, `SELECT count(*) AS n FROM logs WHERE body IS NULL`, [{ n: 1 }], `${label}: a log without a body`);
}
checkRaw(s, 't17', 'new parts');

// otlp_exact: what plain JSON does not type exactly, as OTLP/JSON
everywhere(s, 't17', `SELECT name, json_extract(otlp_exact, '$.attributes.bytes') AS b, json_extract(otlp_exact, '$.attributes.nan') AS n, ` +
  `json_extract(otlp_exact, '$.attributes.ratio') AS r FROM spans ORDER BY name`,
[{ name: 'raw-a', b: '{"bytesValue":"AAEC/w=="}', n: '{"doubleValue":"NaN"}', r: '{"doubleValue":0.25}' }, { name: 'raw-b', b: null, n: null, r: null }],
'otlp_exact holds a row\'s attributes as OTLP/JSON when plain loses their type, and is NULL otherwise');
everywhere(s, 't17', `SELECT severity_text AS s, otlp_exact ->> '$.body' AS b FROM logs WHERE otlp_exact IS NOT NULL ORDER BY 1`,
  [{ s: 'empty', b: '{}' }, { s: 'int', b: '{"intValue":"42"}' }, { s: 'kv', b: '{"kvlistValue":{"values":[{"key":"k","value":{"stringValue":"v"}},{"key":"n","value":{"intValue":"1"}}]}}' }],
  'a body that is not a string keeps its OTLP/JSON');

everywhere(s, 't17', `SELECT attributes ->> 'host.name' AS h, attributes ->> 'cpu' AS c, metric_metadata ->> 'meta.k' AS m, metric_metadata ->> 'meta.b' AS b, ` +
  `exemplars ->> '$[0].filteredAttributes."user.id"' AS u, exemplars ->> '$[0].filteredAttributes.w' AS w, json_extract(otlp_exact, '$.metric_metadata."meta.b"') AS x ` +
  `FROM metrics WHERE metric_name = 'raw.gauge'`,
[{ h: 'h1', c: 3, m: 'mv', b: 'AQ==', u: 'u-1', w: 0.5, x: '{"bytesValue":"AQ=="}' }], 'metrics: point attributes, metadata and exemplar attributes by name');

// ---- the SDK's attributes ----
for (const enc of ['proto', 'json']) {
  everywhere(s, 't17sdk', `SELECT attributes ->> 'test.str' AS s, attributes ->> 'test.index' AS i, attributes ->> 'test.ratio' AS r, ` +
    `attributes ->> 'test.even' AS b, attributes ->> 'test.tags' AS tags, attributes ->> 'test.ints' AS ints, ` +
    `resource_attributes ->> 'service.name' AS svc FROM spans WHERE name = '${marker}-${enc}-span-3'`,
  [{ s: 'value-3', i: 3, r: 3.5, b: 0, tags: '["alpha","beta","gamma-3"]', ints: '[3,4,5]', svc: 'otel-js-test' }],
  `SDK spans (${enc}): string, int, double, bool and array attributes`);
  everywhere(s, 't17sdk', `SELECT count(*) AS n FROM spans WHERE attributes ->> 'test.even' = 1 AND attributes ->> 'marker' = '${marker}-${enc}'`,
    [{ n: 3 }], `SDK spans (${enc}): a bool attribute filter`);
  everywhere(s, 't17sdk', `SELECT events ->> '$[0].attributes."event.attr"' AS a, events ->> '$[0].attributes."event.n"' AS n FROM spans WHERE name = '${marker}-${enc}-span-0'`,
    [{ a: 'hello', n: 7 }], `SDK spans (${enc}): event attributes`);
}
everywhere(s, 't17sdk', `SELECT body, attributes ->> 'test.index' AS i FROM logs WHERE body LIKE '${marker}-json-log-2%'`,
  [{ body: `${marker}-json-log-2`, i: 2 }], 'SDK logs: the body is the line');

// SQLite's own rule ('a.b' is two steps) is not ours, in our connections
everywhere(s, 't17', `SELECT '{"a":{"b":1},"a.b":2}' ->> 'a.b' AS ours, '{"a":{"b":1},"a.b":2}' ->> '$.a.b' AS steps, '[5,6]' ->> 1 AS i, ` +
  `'{"a":[1,2]}' -> '$.a' AS j, json_extract('{"a":1.5}', '$.a') AS r`,
[{ ours: 2, steps: 1, i: 6, j: '[1,2]', r: 1.5 }], "->> 'a.b' is one key; '$.a.b' two steps; an integer an index");
const search = curlJSON(`${s.control}/api/logs/search?q=${encodeURIComponent('refused to db')}`, ['-H', 'X-Scope-OrgID: t17']);
is(search.json && search.json.result.rows.map((x) => x.body), ['connection refused to db:5432'], 'log search finds the line in the body');

// ---- DuckDB over the parts ----
const files = (data, tenant, signal) => sql(path.join(data, 'openwit.db'), `select path from parts where tenant = '${tenant}' and signal = '${signal}'`)
  .map((p) => `'${path.join(data, p.path)}'`).join(', ');
const dspans = `openwit([${files(s.data, 't17', 'traces')}])`, dlogs = `openwit([${files(s.data, 't17', 'logs')}])`;
is(await duck(`SELECT attributes ->> 'http.route' AS r, attributes ->> 'code' AS c, attributes ->> '$.kv."inner.key"' AS k, attributes ->> 'ratio' AS x, ` +
  `(attributes -> 'code')::BIGINT AS ci FROM ${dspans} WHERE name = 'raw-a'`),
[{ r: '/api/cart', c: '200', k: 'v', x: '0.25', ci: '200' }], 'DuckDB: attributes ->> \'http.route\' over our Parquet');
is(await duck(`SELECT body FROM ${dlogs} WHERE body LIKE 'connection refused%'`), [{ body: 'connection refused to db:5432' }], 'DuckDB: SELECT body is the line');
const sdkSpans = `openwit([${files(s.data, 't17sdk', 'traces')}])`;
is(await duck(`SELECT attributes ->> 'test.str' AS s, attributes ->> 'test.index' AS i FROM ${sdkSpans} WHERE name = '${marker}-proto-span-3'`),
  [{ s: 'value-3', i: '3' }], 'DuckDB: the SDK\'s attributes by name');

// ---- parts of format 1 (t/fixtures/v1: made by the release before) ----
const fx = tmpdir('attrs-v1');
fs.cpSync(path.join(root, 't/fixtures/v1/data'), path.join(fx, 'data'), { recursive: true });
const old = await start({ tag: 'attrs-old', dir: fx, config: { 'storage.buffer.flush_interval_ms': 200 } });
const oldParts = sql(path.join(old.data, 'openwit.db'), "select count(*) n from parts where tenant = 't17'")[0].n;
ok(oldParts >= 2, `the fixture's ${oldParts} parts are listed`);
const v1files = files(old.data, 't17', 'traces');
is(await duck(`SELECT count(*) AS n FROM parquet_schema([${v1files}]) WHERE name = 'otlp_exact'`), [{ n: '0' }], 'they are of format 1: no otlp_exact column');
checkRaw(old, 't17', 'format 1 parts');
everywhere(old, 't17', `SELECT name FROM spans WHERE otlp_exact IS NULL ORDER BY 1`, [{ name: 'raw-a' }, { name: 'raw-b' }], 'format 1 parts: otlp_exact reads NULL');

// a merge of format 1 and 2 parts writes format 2: a span of the fixture's
// day joins its parts, a backfill, so this server takes any time
await old.stop();
const again = await start({ tag: 'attrs-merge', dir: fx, config: { 'storage.buffer.flush_interval_ms': 200,
  'limits.max_past_hours': 0,
  'storage.file_rotation.file_duration_minutes': 0, 'storage.file_rotation.check_interval_ms': 100 } });
const more = JSON.parse(JSON.stringify(rawSpans));
more.resourceSpans[0].scopeSpans[0].spans = [{ traceId: tid, spanId: 'eee19b7ec3c1b1ff', name: 'raw-c', kind: 1, startTimeUnixNano: String(T0 + 5n),
  endTimeUnixNano: String(T0 + 9n), attributes: [sv('http.route', '/api/new'), { key: 'b2', value: { bytesValue: 'AQI=' } }] }];
is(post('t17', 'traces', more, again).code, 200, 'format 2 spans beside the format 1 parts');
const catalog = path.join(again.data, 'openwit.db');
let merged = [];
for (let i = 0; i < 200; i++) {
  merged = sql(catalog, "select path from parts where tenant = 't17' and signal = 'traces'");
  if (merged.length === 1 && /stable/.test(merged[0].path)) break;
  await sleep(100);
}
ok(merged.length === 1 && /stable/.test(merged[0].path), 'the janitor merged the traces parts into one', merged);
const mfile = `'${path.join(again.data, merged[0].path)}'`;
is(await duck(`SELECT name, attributes ->> 'http.route' AS r, json_extract_string(otlp_exact, '$.attributes.b2') AS x, ` +
  `json_extract_string(otlp_exact, '$.attributes.bytes') AS y FROM openwit(${mfile}) ORDER BY name`),
[{ name: 'raw-a', r: '/api/cart', x: null, y: '{"bytesValue":"AAEC/w=="}' }, { name: 'raw-b', r: '/api/home', x: null, y: null },
  { name: 'raw-c', r: '/api/new', x: '{"bytesValue":"AQI="}', y: null }],
'the merged part is of format 2: plain attributes, otlp_exact of the old rows rebuilt from their OTLP/JSON');
checkRaw(again, 't17', 'after the merge');
note(`engines of the API's answers: ${JSON.stringify(engines)}`);
ok(engines.columnar > 10, 'the columnar engine answered many of them');
done();
})();

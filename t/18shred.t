#!/usr/bin/env node
// Shredded attributes (storage.parquet.shred_keys): a part's frequent
// attribute keys (in a tenth of its rows) of one type become typed columns "attributes.<key>",
// listed in its metadata openwit.shredded, the attributes column keeping
// the rest; a key of mixed types, with nulls, nested values, or in few
// rows stays in the JSON. Every reader sees the whole object as it was
// sent: attributes itself (key order and text byte for byte), ->> and ->
// of every key in both engines and in `openwit sql`, DuckDB through the
// documented macro (conf/duckdb/views.sql). Two parts shred differently
// (a key shredded in one, absent or of another type in the other), and
// their merge chooses again from the merged rows. The columnar engine
// reads ->>, -> and json_extract of a shredded key from its column.
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
(async () => {
const { start, bin, curlJSON, sql, duck, ok, is, done, sleep, nowNs } = await import('./lib/harness.mjs');

const NOW = nowNs();
const config = { 'storage.parquet.shred_keys': 16, 'storage.parquet.shred_min_rows': 0, 'storage.buffer.flush_interval_ms': 100, 'storage.file_rotation.file_duration_minutes': 0,
  'storage.file_rotation.check_interval_ms': 60000 };
const s = await start({ tag: 'shred', config });
const db = path.join(s.data, 'openwit.db');

// Attributes as [key, OTLP AnyValue, its plain JSON text] in the order sent.
const str = (v) => [{ stringValue: v }, JSON.stringify(v)];
const int = (v) => [{ intValue: String(v) }, String(v)];
const dbl = (v, t) => [{ doubleValue: v }, t];
const bool = (v) => [{ boolValue: v }, String(v)];
const WEIRD = "it's.a/key", QUOTED = 'q"k\\ey'; // ->> finds the first; the second by its whole text
function attrsA(i) {
  const a = [];
  if (i % 15 === 3) a.push(['rare', ...str('first')]); // before the shredded keys: the row has an order string
  a.push(['http.method', ...str(['GET', 'POST', 'PUT'][i % 3])]);
  a.push(['code', ...int([200, 404, 500, -1, 9007199254740993][i % 5])]);
  a.push(['ratio', ...dbl([0.5, 1, 2.25, -0.125][i % 4], ['0.5', '1.0', '2.25', '-0.125'][i % 4])]);
  a.push(['ok', ...bool(i % 2 === 0)]);
  if (i % 5 !== 0) a.push(['sometimes', ...str(`s-${i}`)]);
  a.push([WEIRD, ...str(`q"uote\\ back\nline tab\t é ${i}`)]);
  a.push([QUOTED, ...int(i)]);
  a.push(['mixed', ...(i % 2 ? int(i) : str(`m${i}`))]);
  a.push(['nested', { kvlistValue: { values: [{ key: 'a', value: { intValue: String(i) } }] } }, `{"a":${i}}`]);
  if (i % 3 === 0) a.push(['nullish', {}, 'null']);
  else a.push(['nullish', ...str('x')]);
  a.push(['list', { arrayValue: { values: [{ intValue: '1' }, { stringValue: 'b' }] } }, '[1,"b"]']);
  // more members than shred.c looks at: the row keeps its whole object
  if (i === 7) for (let k = 0; k < 260; k++) a.push([`x${k}`, ...int(k)]);
  return a;
}
function attrsB(i) { // no http.method; code a string; ratio in few rows
  const a = [['code', ...str(`c${i % 4}`)], ['ok', ...bool(i % 3 === 0)], [WEIRD, ...str(`b${i}`)]];
  if (i % 15 === 0) a.push(['ratio', ...dbl(3.5, '3.5')]);
  a.push(['only.b', ...int(i * 1000)]);
  return a;
}
const N = 30;
const want = new Map(); // span name -> attributes text
const spans = (tag, fn, from) => {
  const out = [];
  for (let i = 0; i < N; i++) {
    const name = `${tag}-${String(i).padStart(2, '0')}`;
    const a = i === N - 1 ? [] : fn(i); // one span without attributes
    want.set(name, a.length ? `{${a.map(([k, , t]) => `${JSON.stringify(k)}:${t}`).join(',')}}` : null);
    out.push({ traceId: (from + i + 1).toString(16).padStart(32, '0'), spanId: (from + i + 1).toString(16).padStart(16, '0'),
      name, startTimeUnixNano: String(NOW + BigInt(from + i) * 1000n), endTimeUnixNano: String(NOW + BigInt(from + i) * 1000n + 500n),
      ...(a.length ? { attributes: a.map(([key, value]) => ({ key, value })) } : {}) });
  }
  return { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shred' } }] }, scopeSpans: [{ spans: out }] }] };
};
const logs = (tag, fn) => ({ resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shred' } }] }, scopeLogs: [{
  logRecords: Array.from({ length: N }, (_, i) => ({ timeUnixNano: String(NOW + BigInt(i)), body: { stringValue: `${tag}-${i}` },
    attributes: fn(i).map(([key, value]) => ({ key, value })) })) }] }] });
const wantLogs = new Map();
for (const [tag, fn] of [['la', attrsA], ['lb', attrsB]])
  for (let i = 0; i < N; i++) wantLogs.set(`${tag}-${i}`, `{${fn(i).map(([k, , t]) => `${JSON.stringify(k)}:${t}`).join(',')}}`);

const post = (signal, body) => {
  const f = path.join(s.dir, `${signal}.json`);
  fs.writeFileSync(f, JSON.stringify(body));
  return curlJSON(`${s.otlp}/v1/${signal}`, ['-H', 'Content-Type: application/json', '--data-binary', `@${f}`]).code;
};
const parts = (signal) => sql(db, `select path, kind from parts where signal = '${signal}' order by path`);
const waitParts = async (signal, n) => { for (let k = 0; k < 300 && parts(signal).length < n; k++) await sleep(20); return parts(signal).length; };
is([post('traces', spans('a', attrsA, 0)), post('logs', logs('la', attrsA))], [200, 200], 'part A sent');
ok(await waitParts('traces', 1) === 1 && await waitParts('logs', 1) === 1, 'part A flushed');
is([post('traces', spans('b', attrsB, 1000)), post('logs', logs('lb', attrsB))], [200, 200], 'part B sent');
ok(await waitParts('traces', 2) === 2 && await waitParts('logs', 2) === 2, 'part B flushed: two parts of each');

// ---- what the parts hold ----
const shredded = async (file) => {
  const kv = await duck(`select decode(key) k, decode(value) v from parquet_kv_metadata('${file}') where decode(key) = 'openwit.shredded'`);
  return kv.length ? JSON.parse(kv[0].v) : [];
};
const files = (signal) => parts(signal).map((p) => path.join(s.data, p.path));
const [fa, fb] = files('traces');
is(await shredded(fa), ['attributes.http.method:s', 'attributes.code:i', 'attributes.ratio:f', 'attributes.ok:b', 'attributes.sometimes:s', `attributes.${WEIRD}:s`, `attributes.${QUOTED}:i`],
  'part A: its keys of one type in a tenth of the rows or more, by their place in the objects (not mixed, nullish, nested, list, rare)');
is(await shredded(fb), ['attributes.code:s', 'attributes.ok:b', `attributes.${WEIRD}:s`, 'attributes.only.b:i'], 'part B: code a string column, ratio in too few rows');
const types = Object.fromEntries((await duck(`select name, type from parquet_schema('${fa}') where name like 'attributes.%'`)).map((r) => [r.name, r.type]));
is(types, { 'attributes.http.method:s': 'BYTE_ARRAY', 'attributes.code:i': 'INT64', 'attributes.ratio:f': 'DOUBLE', 'attributes.ok:b': 'BOOLEAN',
  'attributes.sometimes:s': 'BYTE_ARRAY', [`attributes.${WEIRD}:s`]: 'BYTE_ARRAY', [`attributes.${QUOTED}:i`]: 'INT64' }, 'part A: typed columns, the type\'s letter after the key');
const rest = await duck(`select name, attributes a, "attributes#order" o from read_parquet('${fa}') where name in ('a-01', 'a-03') order by name`);
is(rest, [{ name: 'a-01', a: '{"mixed":1,"nested":{"a":1},"nullish":"x","list":[1,"b"]}', o: null },
  { name: 'a-03', a: '{"rare":"first","mixed":3,"nested":{"a":3},"nullish":null,"list":[1,"b"]}', o: '.ABCDEFG....' }],
  'the JSON keeps the rest; a row whose keys come in another order has it in attributes#order');

// ---- every reader sees the objects as sent ----
const api = (q, engine) => {
  const r = curlJSON(`${s.control}/api/search`, ['-d', JSON.stringify({ query: q, limit: 1000, ...(engine ? { engine } : {}) })]);
  return r.json && r.json.status === 'success' ? { rows: r.json.result.rows, engine: r.json.engine } : { error: r.text };
};
const cli = (q) => {
  const p = spawnSync(bin, ['sql', '-d', s.data, '--format', 'json', q]);
  try { return { rows: JSON.parse(p.stdout.toString() || '[]') }; } catch { return { error: p.stderr.toString() }; }
};
const engines = new Set();
const everywhere = (q, wantRows, name) => {
  const a = api(q), b = api(q, 'sqlite'), c = cli(q);
  if (a.engine) engines.add(a.engine);
  ok([a.rows, b.rows, c.rows].every((g) => JSON.stringify(g) === JSON.stringify(wantRows)), `${name} (${a.engine}, sqlite, openwit sql)`,
    { query: q, want: wantRows, auto: a.rows || a.error, sqlite: b.rows || b.error, cli: c.rows || c.error });
};
const keys = ['http.method', 'code', 'ratio', 'ok', 'sometimes', WEIRD, 'mixed', 'nested', 'nullish', 'list', 'rare', 'only.b'];
const sqlStr = (t) => `'${t.replace(/'/g, "''")}'`;
const check = async (when, fileList) => {
  const names = [...want.keys()].sort();
  everywhere('SELECT name, attributes FROM spans ORDER BY name', names.map((n) => ({ name: n, attributes: want.get(n) })),
    `${when}: spans' attributes whole, byte for byte`);
  everywhere("SELECT body, attributes FROM logs ORDER BY body", [...wantLogs.keys()].sort().map((b) => ({ body: b, attributes: wantLogs.get(b) })),
    `${when}: log records' attributes whole`);
  // ->> and -> of every key, from the objects sent (SQLite's json over the whole text)
  for (const k of keys) {
    const rows = names.map((n) => {
      const o = want.get(n) === null ? undefined : JSON.parse(want.get(n))[k];
      const v = o === undefined || o === null ? null : typeof o === 'boolean' ? Number(o) : typeof o === 'object' ? JSON.stringify(o) : o;
      return { name: n, v };
    });
    if (k === 'code') continue; // an int64 past 2^53: checked as text below
    everywhere(`SELECT name, attributes ->> ${sqlStr(k)} v FROM spans ORDER BY name`, rows, `${when}: ->> '${k}'`);
  }
  everywhere(`SELECT name, attributes -> '$.code' v FROM spans ORDER BY name`,
    names.map((n) => ({ name: n, v: want.get(n) === null ? null : /"code":(-?\d+|"[^"]*")/.exec(want.get(n))[1] })),
    `${when}: -> '$.code' (an int64 past 2^53 exact)`);
  everywhere(`SELECT count(*) n FROM spans WHERE attributes ->> ${sqlStr(WEIRD)} LIKE 'q"uote%'`, [{ n: N - 1 }], `${when}: ->> of a key with a dot, a quote and a backslash`);
  everywhere(`SELECT json_extract(attributes, '$."http.method"') m, count(*) n FROM spans GROUP BY 1 ORDER BY 1`,
    [{ m: null, n: N + 1 }, { m: 'GET', n: 10 }, { m: 'POST', n: 10 }, { m: 'PUT', n: 9 }], `${when}: json_extract by a quoted '$' path`);
  everywhere(`SELECT attributes ->> 'code' c, count(*) n FROM spans GROUP BY 1 ORDER BY 1`,
    (() => { const m = new Map(); for (const t of want.values()) { const c = t === null ? null : (/"code":("[^"]*"|-?\d+)/.exec(t) || [])[1]; const v = c == null ? null : c.startsWith('"') ? JSON.parse(c) : Number(c); m.set(JSON.stringify(v), (m.get(JSON.stringify(v)) || 0) + 1); }
      return [...m].map(([c, n]) => ({ c: JSON.parse(c), n })).sort((x, y) => (x.c === null ? -1 : y.c === null ? 1 : typeof x.c !== typeof y.c ? (typeof x.c === 'number' ? -1 : 1) : x.c < y.c ? -1 : x.c > y.c ? 1 : 0)); })(),
    `${when}: group by a key of an int column in one part and a string one in the other`);
  // the columnar engine reads a shredded key's own column (and the rest only
  // for the rows without it): the same rows as SQLite's json over the
  // whole objects, for ->>, -> and json_extract of every key, filters,
  // groups, two keys at once, a key beside the whole object, paths past
  // the key; a row kept whole (rare first), a key absent, bools, an int64
  // past 2^53 (as text), strings with escapes
  const same = (q, name) => {
    const a = api(q), b = api(q, 'sqlite');
    if (a.engine) engines.add(a.engine);
    ok(a.rows && JSON.stringify(a.rows) === JSON.stringify(b.rows), `${name} (${a.engine} as sqlite)`, { query: q, auto: a.rows || a.error, sqlite: b.rows || b.error });
  };
  for (const k of [...keys, QUOTED]) {
    const K = sqlStr(k), P = sqlStr(`$."${k}"`);
    same(`SELECT name, attributes -> ${K} j, CAST(attributes ->> ${K} AS TEXT) t, typeof(attributes ->> ${K}) ty FROM spans ORDER BY name`, `${when}: -> and ->> '${k}' as text and type`);
    same(`SELECT name, json_extract(attributes, ${P}) v, typeof(json_extract(attributes, ${P})) ty FROM spans ORDER BY name`, `${when}: json_extract '${k}'`);
    same(`SELECT CAST(attributes ->> ${K} AS TEXT) v, count(*) n FROM spans GROUP BY 1 ORDER BY 1`, `${when}: group by ->> '${k}'`);
    same(`SELECT count(*) n FROM spans WHERE attributes ->> ${K} IS NULL`, `${when}: ->> '${k}' IS NULL`);
  }
  same(`SELECT name FROM spans WHERE attributes ->> 'ok' = 1 AND attributes ->> 'code' > 300 ORDER BY name`, `${when}: a bool and an int filtered`);
  same(`SELECT name FROM spans WHERE attributes ->> 'ratio' > 0.75 ORDER BY name`, `${when}: a double filtered`);
  same(`SELECT name FROM spans WHERE attributes ->> 'http.method' IN ('GET', 'PUT') AND (attributes ->> 'sometimes') LIKE 's-1%' ORDER BY name`, `${when}: two string keys filtered`);
  same(`SELECT name, attributes ->> 'ok' o, attributes ->> 'mixed' m FROM spans ORDER BY name`, `${when}: a shredded key beside one in the JSON`);
  same(`SELECT name, attributes ->> 'ok' o, length(attributes) l FROM spans ORDER BY name`, `${when}: a shredded key beside the whole object`);
  same(`SELECT name, attributes ->> '$.ok.x' a, attributes -> '$."http.method"[0]' b FROM spans ORDER BY name`, `${when}: paths past a shredded key`);
  same(`SELECT name, CAST(attributes ->> '$.code' AS TEXT) c FROM spans WHERE attributes ->> 'code' = 9007199254740993 ORDER BY name`, `${when}: an int64 past 2^53 exact`);
  // keys shredded in every part: read from their columns alone, fewer bytes than the objects whole
  const scanned = (q, engine) => JSON.parse(curlJSON(`${s.control}/api/search`, ['-d', JSON.stringify({ query: q, ...(engine ? { engine } : {}) })]).text);
  const bq = `SELECT count(*) n FROM spans WHERE attributes ->> 'ok' = 1`, fast = scanned(bq), slow = scanned(bq, 'sqlite');
  ok(fast.engine === 'columnar' && fast.bytes_scanned < slow.bytes_scanned, `${when}: ->> of a shredded key reads its column, not every one (${fast.bytes_scanned} bytes against ${slow.bytes_scanned})`);
  // DuckDB through the documented macro: every key, the values of our SQL
  const src = `openwit([${fileList.map((f) => sqlStr(f)).join(', ')}])`;
  const theirs = await duck(`SELECT name, attributes::VARCHAR a FROM ${src} ORDER BY name`);
  const canon = (t) => {
    if (t === null) return 'null';
    const sort = (o) => (o && typeof o === 'object' && !Array.isArray(o) ? Object.fromEntries(Object.keys(o).sort().map((k) => [k, sort(o[k])])) : o);
    return JSON.stringify(sort(JSON.parse(t.replace(/:(9007199254740993)([,}])/g, ':"$1"$2'))));
  };
  const bad = theirs.filter((r) => canon(r.a) !== canon(want.get(r.name)));
  ok(theirs.length === want.size && bad.length === 0, `${when}: DuckDB's openwit(files) finds every key with its value`, { bad: bad.slice(0, 3) });
  // a token search through the index finds a value of a shredded column
  everywhere("SELECT count(*) n FROM spans WHERE match(attributes, 'POST')", [{ n: 10 }], `${when}: match() finds a shredded string`);
  everywhere("SELECT count(*) n FROM spans WHERE attributes LIKE '%POST%'", [{ n: 10 }], `${when}: LIKE finds a shredded string`);
  const dk = await duck(`SELECT count(*) n FROM ${src} WHERE (attributes ->> ${sqlStr(WEIRD)}) LIKE 'q"uote%' AND (attributes ->> 'http.method') = 'GET'`);
  const ours = api(`SELECT count(*) n FROM spans WHERE (attributes ->> ${sqlStr(WEIRD)}) LIKE 'q"uote%' AND (attributes ->> 'http.method') = 'GET'`);
  is(Number(dk[0].n), ours.rows && ours.rows[0].n, `${when}: DuckDB and our SQL count alike by two keys (${dk[0].n})`);
};
await check('two parts', files('traces'));

// ---- the merge: one stable part, its keys chosen again ----
s.stop('SIGTERM');
await s.exited;
s.forget();
const m = await start({ dir: s.dir, ports: s.ports, config: { ...config, 'storage.file_rotation.check_interval_ms': 50 } });
for (let k = 0; k < 400 && !(parts('traces').length === 1 && parts('traces')[0].kind === 'stable' && parts('logs').length === 1); k++) await sleep(25);
is(parts('traces').map((p) => p.kind), ['stable'], 'merged: one stable part of spans');
const [fm] = files('traces');
const merged = await shredded(fm);
ok(merged.includes('attributes.http.method:s') && merged.includes('attributes.ok:b') && merged.includes(`attributes.${WEIRD}:s`) &&
  !merged.some((k) => k.startsWith('attributes.code:')) && !merged.some((k) => k.startsWith('attributes.rare:')),
  'the merge chose again: code of two types and rare in too few rows stay in the JSON', merged);
Object.assign(s, { control: m.control });
await check('merged', files('traces'));
ok(engines.has('columnar'), `the columnar engine answered some (${[...engines].join(', ')})`);
m.stop('SIGTERM');
await m.exited;
m.forget();

// ---- rows that must not be shredded, or not wholly ----
// Part C: a 150 KB value of a mixed key left in the rest and a span of
// 300 attributes (both once crashed the writer), a key twice in one
// row, keys with an uppercase letter or a newline (DuckDB's union_by_name
// matches names ignoring case; its column regex skips a newline), a
// negative zero; n an integer past 2^53 and flag a boolean. Part D: host
// lowercase, n a double, flag an integer (DuckDB's union_by_name would
// widen one column of two types).
const NEG = 'NEGATIVE-ZERO';
const edgeC = (i) => {
  const a = [['k', ...int(i)], ['Host', ...str(`H${i}`)], ['ctl\nkey', ...str(`c${i}`)]];
  if (i === 4) a.push(['dup', ...int(1)], ['dup', ...int(2)]);
  else a.push(['dup', ...int(i)]);
  a.push(['z', ...(i === 6 ? [{ doubleValue: NEG }, '-0.0'] : dbl(1.5, '1.5'))]);
  a.push(['big', ...(i === 8 ? str(`x${'y'.repeat(150 * 1024)}`) : int(i))]);
  a.push(['n', ...int(9007199254740993n)], ['flag', ...bool(i % 2 === 0)]);
  if (i === 10) for (let x = 0; x < 300; x++) a.push([`x${x}`, ...int(x)]);
  return a;
};
const edgeD = (i) => [['k', ...int(i)], ['host', ...str(`h${i}`)], ['n', ...dbl(1.5, '1.5')], ['flag', ...int(i)]];
want.clear();
const e = await start({ tag: 'shred-edge', config });
const edb = path.join(e.dir, 'data', 'openwit.db');
const eparts = () => sql(edb, "select path, kind from parts where signal = 'traces' order by path");
const epost = (body) => {
  const f = path.join(e.dir, 'traces.json');
  fs.writeFileSync(f, JSON.stringify(body).replace(`"${NEG}"`, '-0.0'));
  return curlJSON(`${e.otlp}/v1/traces`, ['-H', 'Content-Type: application/json', '--data-binary', `@${f}`]).code;
};
is(epost(spans('c', edgeC, 2000)), 200, 'part C sent');
for (let k = 0; k < 300 && eparts().length < 1; k++) await sleep(20);
is(epost(spans('d', edgeD, 3000)), 200, 'part D sent');
for (let k = 0; k < 300 && eparts().length < 2; k++) await sleep(20);
is(eparts().length, 2, 'parts C and D flushed');
const [fc] = eparts().map((p) => path.join(e.data, p.path));
const sc = await shredded(fc);
ok(!sc.some((k) => /[A-Z\n]/.test(k)), 'part C: no key with an uppercase letter or a newline is a column', sc);
// the row of a -0.0 keeps its whole object in the JSON column (a reader
// may print a shredded -0.0 as 0.0), beside rows whose z is a column
const rawC = Object.fromEntries((await duck(`SELECT name, attributes::VARCHAR a FROM read_parquet(${sqlStr(fc)}) WHERE name IN ('c-05', 'c-06')`)).map((x) => [x.name, x.a]));
ok(sc.some((k) => /^attributes\.z:f$/.test(k)) && !/"z"/.test(rawC['c-05']) && rawC['c-06'] === want.get('c-06'),
  'part C: z is a column, and the row with z -0.0 is stored whole', { sc, rawC });
const edgeCheck = async (when) => {
  const names = [...want.keys()].sort();
  const r = curlJSON(`${e.control}/api/search`, ['-d', JSON.stringify({ query: 'SELECT name, attributes FROM spans ORDER BY name', limit: 1000 })]);
  const got = r.json && r.json.status === 'success' ? r.json.result.rows : [];
  const bad = names.filter((n, i) => !got[i] || got[i].name !== n || got[i].attributes !== want.get(n));
  ok(got.length === names.length && bad.length === 0, `${when}: every object byte for byte (a 150 KB value, 300 keys, a key twice)`, { bad: bad.slice(0, 3).map((n) => n) });
  const files2 = eparts().map((p) => path.join(e.data, p.path));
  const src = `openwit([${files2.map((f) => sqlStr(f)).join(', ')}])`;
  const theirs = await duck(`SELECT name, attributes::VARCHAR a FROM ${src} ORDER BY name`);
  const canon = (t) => {
    if (t === null) return 'null';
    const sort = (o) => (o && typeof o === 'object' && !Array.isArray(o) ? Object.fromEntries(Object.keys(o).sort().map((k) => [k, sort(o[k])])) : o);
    return JSON.stringify(sort(JSON.parse(t.replace(/:(-0\.0|9007199254740993)([,}])/g, ':"$1"$2'))));
  };
  const dbad = theirs.filter((x) => canon(x.a) !== canon(want.get(x.name)));
  ok(theirs.length === want.size && dbad.length === 0, `${when}: DuckDB's openwit(files) gives every key its value (case, newline, a key twice, -0.0, int and double, bool and int)`,
    { bad: dbad.slice(0, 3).map((x) => ({ name: x.name, got: x.a.slice(0, 200), want: (want.get(x.name) || '').slice(0, 200) })) });
};
await edgeCheck('parts C and D');
e.stop('SIGTERM');
await e.exited;
e.forget();
const e2 = await start({ dir: e.dir, ports: e.ports, config: { ...config, 'storage.file_rotation.check_interval_ms': 50 } });
for (let k = 0; k < 400 && !(eparts().length === 1 && eparts()[0].kind === 'stable'); k++) await sleep(25);
is(eparts().map((p) => p.kind), ['stable'], 'parts C and D merged');
Object.assign(e, { control: e2.control });
await edgeCheck('C and D merged');
e2.stop('SIGTERM');
await e2.exited;
// the macro reads a column whose key has a newline (parts written before
// such keys stayed in the JSON had them)
const nl = path.join(e.dir, 'newline.parquet');
await duck(`COPY (SELECT '{"x":1}' AS attributes, '"v"' AS "attributes.a\nb", NULL::VARCHAR AS "attributes#order") TO ${sqlStr(nl)} (FORMAT parquet)`);
is((await duck(`SELECT attributes::VARCHAR a FROM openwit([${sqlStr(nl)}])`))[0].a, '{"x":1,"a\\nb":"v"}', "DuckDB's macro: a shredded key with a newline");
done();
})();

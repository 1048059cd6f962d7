#!/usr/bin/env node
// Input limits (issue 18; tenants and rates are t/44tenants.t's): private
// files; the window of record times (limits.max_past_hours,
// limits.max_future_hours): records outside refused in OTLP's partial
// success, a request with none inside refused whole with 400, or clamped
// (limits.clamp_timestamps); and never applied to what the WAL replays: a
// restart with a narrower window brings back every acknowledged record,
// and none that was refused. "limit" and LIMIT/OFFSET at the ends of their
// range; crafted Parquet parts under openwit sql; CORS.
const fs = require('node:fs');
const path = require('node:path');
(async () => {
const { start, curl, ok, is, like, done, nowNs } = await import('./lib/harness.mjs');

const HOUR = 3600000000000n, DAY = 24n * HOUR;
const post = (srv, signal, body, tenant = 'lim') => {
  const r = curl(`${srv.otlp}/v1/${signal}`, ['-X', 'POST', '-H', 'Content-Type: application/json', '-H', `X-Scope-OrgID: ${tenant}`, '--data-binary', JSON.stringify(body)]);
  try { r.json = JSON.parse(r.text); } catch {}
  return r;
};
const query = (srv, q, tenant = 'lim') => {
  const r = curl(`${srv.control}/api/search`, ['-H', `X-Scope-OrgID: ${tenant}`, '--data-binary', JSON.stringify({ query: q, limit: 1000 })]);
  try { return JSON.parse(r.text).result.rows; } catch { return r.text; }
};
let id = 0;
const span = (name, t, dur = 1000n) => ({ traceId: '5b8efff798038103d269b633813fc60c', spanId: (++id).toString(16).padStart(16, '0'), name,
  startTimeUnixNano: String(t), endTimeUnixNano: String(t + dur) });
const spans = (list) => ({ resourceSpans: [{ scopeSpans: [{ spans: list }] }] });
const logs = (list) => ({ resourceLogs: [{ scopeLogs: [{ logRecords: list }] }] });
const points = (list) => ({ resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'g', gauge: { dataPoints: list } }] }] }] });

// ---- private files ----
const s = await start({ tag: 'limits', config: { 'storage.buffer.flush_interval_ms': 600000 } });
const mode = (p) => (fs.statSync(p).mode & 0o777).toString(8);
is(mode(s.data), '700', 'the data directory is 0700');
is(mode(path.join(s.data, 'openwit.db')), '600', 'the catalog is 0600');

// ---- the window ----
const now = nowNs();
let r = post(s, 'traces', spans([span('w-now', now), span('w-year', now - 365n * DAY), span('w-29d', now - 29n * DAY),
  span('w-future', now + 2n * DAY), span('w-zero', 0n)]));
is(r.code, 200, 'spans a year old and two days ahead beside good ones: 200');
is(r.json && r.json.partialSuccess && r.json.partialSuccess.rejectedSpans, '2', 'partial success: 2 spans rejected');
like(r.json && r.json.partialSuccess && r.json.partialSuccess.errorMessage, /^2 spans rejected; the first: span 1: its time \d{4}-\d\d-\d\d .* is outside the window taken/,
  'the message names the first and its time');
is(query(s, "SELECT name FROM spans WHERE name LIKE 'w-%' ORDER BY name"), [{ name: 'w-29d' }, { name: 'w-now' }, { name: 'w-zero' }],
  'the spans inside the window are stored (a start_time of 0 is not checked), the others not');

r = post(s, 'traces', spans([span('all-old-1', now - 365n * DAY), span('all-old-2', now - 31n * DAY)]));
is(r.code, 400, 'a request whose spans are all outside the window: 400');
like(r.text, /no record taken: span 0: its time .* is outside the window/, 'its message says why');

r = post(s, 'logs', logs([{ timeUnixNano: String(now), body: { stringValue: 'l-now' } },
  { timeUnixNano: String(now - 40n * DAY), body: { stringValue: 'l-old' } },
  { observedTimeUnixNano: String(now - 40n * DAY), body: { stringValue: 'l-old-observed' } },
  { body: { stringValue: 'l-no-time' } }]));
is([r.code, r.json && r.json.partialSuccess && r.json.partialSuccess.rejectedLogRecords], [200, '2'],
  'logs: time, or observed_time when time is 0, out of the window: rejected (none at all: taken)');
is(query(s, "SELECT body FROM logs ORDER BY body"), [{ body: 'l-no-time' }, { body: 'l-now' }], 'logs: the two inside are stored');

r = post(s, 'metrics', points([{ timeUnixNano: String(now), asInt: '1' }, { timeUnixNano: String(now + 25n * HOUR), asInt: '2' }, { asInt: '3' }]));
is([r.code, r.json && r.json.partialSuccess && r.json.partialSuccess.rejectedDataPoints], [200, '1'], 'metrics: a point 25 hours ahead rejected');
is(query(s, 'SELECT value_int FROM metrics ORDER BY 1'), [{ value_int: 1 }, { value_int: 3 }], 'metrics: the others stored');

// ---- replay: never windowed ----
r = post(s, 'traces', spans([span('r-20d', now - 20n * DAY), span('r-year', now - 365n * DAY)]));
is(r.code, 200, 'a span 20 days old, one a year old: 200');
s.proc.kill('SIGKILL');
await s.exited;
s.forget();
const s2 = await start({ tag: 'limits-replay', dir: s.dir, ports: s.ports,
  config: { 'storage.buffer.flush_interval_ms': 600000, 'limits.max_past_hours': 1 } });
is(query(s2, "SELECT name FROM spans WHERE name LIKE 'r-%' OR name LIKE 'w-%' ORDER BY name"),
  [{ name: 'r-20d' }, { name: 'w-29d' }, { name: 'w-now' }, { name: 'w-zero' }],
  'after kill -9, a restart with a one-hour window replays every acknowledged span, and none that was refused');
r = post(s2, 'traces', spans([span('after', now - 2n * HOUR)]));
is(r.code, 400, 'while new spans two hours old are refused by its window');
await s2.stop();

// ---- clamping ----
const c = await start({ tag: 'limits-clamp', config: { 'storage.buffer.flush_interval_ms': 600000, 'limits.clamp_timestamps': 'true' } });
const before = nowNs();
r = post(c, 'traces', spans([span('c-old', before - 365n * DAY, 5000n), span('c-future', before + 10n * DAY, 7n), span('c-now', before)]));
is([r.code, r.json && r.json.partialSuccess], [200, undefined], 'clamping: every span taken, no partial success');
const after = nowNs();
const check = (srv, name) => {
  const rows = query(srv, 'SELECT name, start_time, end_time, duration_ns FROM spans ORDER BY name');
  const by = Object.fromEntries((Array.isArray(rows) ? rows : []).map((x) => [x.name, x]));
  const old = by['c-old'], fut = by['c-future'];
  ok(old && BigInt(old.start_time) >= before - 720n * HOUR && BigInt(old.start_time) <= after - 720n * HOUR,
    `${name}: a span a year old starts at the window's start, 720 hours ago`, rows);
  ok(fut && BigInt(fut.start_time) >= before + 24n * HOUR && BigInt(fut.start_time) <= after + 24n * HOUR,
    `${name}: a span ten days ahead starts at the window's end, 24 hours ahead`, rows);
  is([old && old.duration_ns, fut && fut.duration_ns], [5000, 7], `${name}: their durations hold (end_time moved as much)`);
  return rows;
};
const rows = check(c, 'clamped');
c.proc.kill('SIGKILL');
await c.exited;
c.forget();
const c2 = await start({ tag: 'limits-clamp-replay', dir: c.dir, ports: c.ports, config: { 'storage.buffer.flush_interval_ms': 600000 } });
is(query(c2, 'SELECT name, start_time, end_time, duration_ns FROM spans ORDER BY name'), rows,
  'after kill -9, replay (without clamping) gives the same clamped times: the WAL holds them');
await c2.stop();

// ---- limits and offsets at the ends of their range ----
const q = await start({ tag: 'limits-offsets' });
is(post(q, 'traces', spans(Array.from({ length: 50 }, (_, i) => span(`o-${String(i).padStart(2, '0')}`, nowNs() - BigInt(i) * 1000n)))).code, 200, '50 spans');
const search = (body, engine) => {
  const r = curl(`${q.control}/api/search`, ['-H', 'X-Scope-OrgID: lim', '--data-binary', JSON.stringify({ ...body, ...(engine ? { engine } : {}) })]);
  let j;
  try { j = JSON.parse(r.text); } catch {}
  return { code: r.code, rows: j && j.result && j.result.rows, engine: j && j.engine, error: j && j.error };
};
for (const [k, v] of [['limit', 1e300], ['limit', -1e300], ['offset', 1e300], ['limit', 9.3e18]]) {
  const r = search({ query: 'SELECT name FROM spans', [k]: v });
  is([r.code, r.error], [400, '"limit" must be 1..query.max_rows and "offset" >= 0'], `"${k}": ${v} is refused with 400`);
}
const BIG = '9223372036854775807';
const engines = new Set();
for (const [sql, offset] of [[`SELECT name FROM spans ORDER BY name LIMIT ${BIG}`, 0], [`SELECT name FROM spans ORDER BY name LIMIT ${BIG} OFFSET ${BIG}`, 0],
  [`SELECT name FROM spans ORDER BY name LIMIT 5 OFFSET ${BIG}`, 10], [`SELECT name FROM spans ORDER BY name LIMIT ${BIG} OFFSET 45`, 3],
  [`SELECT name FROM spans LIMIT ${BIG}, ${BIG}`, 0], [`SELECT name FROM spans ORDER BY name DESC LIMIT 3 OFFSET 48`, 0],
  ['SELECT name FROM spans ORDER BY name LIMIT -1 OFFSET 47', 0], ['SELECT name FROM spans ORDER BY name LIMIT 2 OFFSET -5', 0],
  [`SELECT count(*) AS n FROM spans LIMIT ${BIG} OFFSET ${BIG}`, 0], [`SELECT name FROM spans ORDER BY name LIMIT 1`, 8999999999999999999]]) {
  const a = search({ query: sql, offset, limit: 100 }), b = search({ query: sql, offset, limit: 100 }, 'sqlite');
  engines.add(a.engine);
  is([a.code, a.rows], [b.code, b.rows], `${sql} (API offset ${offset}): ${a.engine} answers as SQLite (${b.rows ? b.rows.length : b.error} rows)`);
}
ok(engines.has('columnar'), 'the columnar engine answered some of them');
await q.stop();

// ---- a crafted Parquet part: openwit sql says what is wrong, in little memory ----
// Thrift's compact protocol, as much of it as a footer needs.
const uvarint = (v) => { const o = []; v = BigInt(v); do { let b = Number(v & 0x7fn); v >>= 7n; if (v) b |= 0x80; o.push(b); } while (v); return o; };
const zz = (v) => uvarint((BigInt(v) << 1n) ^ (BigInt(v) < 0n ? -1n : 0n));
function tstruct(fields) { // [[id, type, value]]: type i32 5, i64 6, binary 8, list 9 ([etype, items]), struct 12
  const o = [];
  let last = 0;
  for (const [id, type, v] of fields) {
    if (id > last && id - last <= 15) o.push(((id - last) << 4) | type); else o.push(type, ...zz(id));
    last = id;
    if (type === 5 || type === 6) o.push(...zz(v));
    else if (type === 8) { const b = Buffer.from(v); o.push(...uvarint(b.length), ...b); }
    else if (type === 12) o.push(...tstruct(v));
    else if (type === 9) {
      const [et, items] = v;
      o.push(items.length < 15 ? (items.length << 4) | et : 0xf0 | et, ...(items.length < 15 ? [] : uvarint(items.length)));
      for (const it of items) {
        if (et === 12) o.push(...tstruct(it));
        else if (et === 8) { const b = Buffer.from(it); o.push(...uvarint(b.length), ...b); } else o.push(...zz(it));
      }
    }
  }
  o.push(0);
  return o;
}
// one REQUIRED INT64 column, start_time: rows declared, a page of nv
// values over 16 bytes, the chunk padded by pad bytes
function crafted(rows, nv, pad) {
  const page = Buffer.from([...tstruct([[1, 5, 0], [2, 5, 16], [3, 5, 16], [5, 12, [[1, 5, nv], [2, 5, 0], [3, 5, 3]]]]), ...Buffer.alloc(16)]);
  const chunk = Buffer.concat([page, Buffer.alloc(pad)]);
  const foot = Buffer.from(tstruct([[1, 5, 1], [2, 9, [12, [[[4, 8, 'schema'], [5, 5, 1]], [[1, 5, 2], [3, 5, 0], [4, 8, 'start_time']]]]],
    [3, 6, rows], [4, 9, [12, [[[1, 9, [12, [[[2, 6, 4], [3, 12, [[1, 5, 2], [2, 9, [5, [0]]], [3, 9, [8, ['start_time']]], [4, 5, 0],
      [5, 6, rows], [6, 6, chunk.length], [7, 6, chunk.length], [9, 6, 4]]]]]]], [2, 6, chunk.length], [3, 6, rows]]]]]]));
  const tail = Buffer.alloc(8);
  tail.writeUInt32LE(foot.length, 0);
  tail.write('PAR1', 4);
  return Buffer.concat([Buffer.from('PAR1'), chunk, foot, tail]);
}
const { spawnSync } = require('node:child_process');
const { bin } = await import('./lib/harness.mjs');
const pq = await start({ tag: 'limits-crafted', config: { 'storage.buffer.flush_interval_ms': 100 } });
is(post(pq, 'traces', spans([span('crafted', nowNs())])).code, 200, 'a span, for a part');
await pq.stop();
const part = (function find(d) {
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) { const f = find(p); if (f) return f; } else if (p.endsWith('.parquet')) return p;
  }
})(path.join(pq.data, 'parquet'));
ok(part, `its part: ${part && path.basename(part)}`);
for (const [what, bytes, re] of [
  ['2^40 rows in a few bytes', crafted(2n ** 40n, 2, 0), /1099511627776 rows cannot be in \d+ bytes/],
  ['2^31-1 rows in 256 KB', crafted(2147483647, 2147483647, 1 << 18), /2147483647 rows cannot be in \d+ bytes/],
  // a row group's count that its chunk's bytes allow, a page's that they do not
  ['a page of 2^24 values', crafted(1 << 24, 1 << 24, 8192), /a page of 16777216 values cannot be in \d+ bytes/]]) {
  fs.writeFileSync(part, bytes);
  const r = spawnSync('/usr/bin/time', ['-v', bin, 'sql', '-d', pq.data, '-T', 'lim', 'SELECT count(*) AS n FROM spans WHERE start_time > 0']);
  const err = r.stderr.toString();
  const kb = Number((/Maximum resident set size \(kbytes\): (\d+)/.exec(err) || [])[1]);
  ok(r.status !== 0 && re.test(err) && !/Command terminated by signal/.test(err), `openwit sql over ${what} (${bytes.length} bytes): an error that says so`, err);
  ok(kb > 0 && kb < 100 * 1024, `... in ${(kb / 1024).toFixed(1)} MB`);
}

// ---- CORS (cors.allowed_origins): off by default ----
const ORIGIN = 'http://ui.example:3000';
const pre = ['-X', 'OPTIONS', '-H', `Origin: ${ORIGIN}`, '-H', 'Access-Control-Request-Method: POST',
  '-H', 'Access-Control-Request-Headers: content-type, x-scope-orgid, authorization'];
const off = await start({ tag: 'limits-cors-off' });
is(curl(`${off.control}/api/search`, pre).headers['access-control-allow-origin'], undefined, 'by default: no CORS header, also for a preflight');
await off.stop();
const co = await start({ tag: 'limits-cors', config: { 'cors.allowed_origins': `["${ORIGIN}", "https://grafana.example"]` } });
for (const [what, url] of [['control API', `${co.control}/api/search`], ['OTLP/HTTP', `${co.otlp}/v1/traces`]]) {
  const r = curl(url, pre);
  is([r.code, r.headers['access-control-allow-origin'], r.headers.vary], [204, ORIGIN, 'Origin'], `${what}: a preflight from an allowed origin: 204 with the origin`);
  is([r.headers['access-control-allow-methods'], r.headers['access-control-allow-headers']],
    ['GET, POST, OPTIONS', 'Authorization, Content-Type, Content-Encoding, X-Scope-OrgID'], `${what}: the methods and headers allowed`);
  const bad = curl(url, ['-X', 'OPTIONS', '-H', 'Origin: http://evil.example', '-H', 'Access-Control-Request-Method: POST']);
  ok(bad.code !== 204 && bad.headers['access-control-allow-origin'] === undefined, `${what}: a preflight from another origin: ${bad.code}, no CORS header`);
}
let r2 = curl(`${co.control}/api/search`, ['-H', `Origin: ${ORIGIN}`, '-H', 'X-Scope-OrgID: lim', '--data-binary', JSON.stringify({ query: 'SELECT 1 AS one' })]);
is([r2.code, r2.headers['access-control-allow-origin'], JSON.parse(r2.text).result.rows], [200, ORIGIN, [{ one: 1 }]], 'a query from an allowed origin: its answer, with the header');
r2 = curl(`${co.otlp}/v1/traces`, ['-H', 'Origin: https://grafana.example', '-H', 'Content-Type: application/json', '--data-binary', JSON.stringify(spans([span('cors', nowNs())]))]);
is([r2.code, r2.headers['access-control-allow-origin'], r2.headers['access-control-expose-headers']], [200, 'https://grafana.example', 'Retry-After'], 'an export from another allowed origin: 200 with the header');
r2 = curl(`${co.control}/health`, ['-H', 'Origin: http://evil.example']);
is([r2.code, r2.headers['access-control-allow-origin']], [200, undefined], 'a request from another origin: answered, without CORS headers');
await co.stop();

done();
})();

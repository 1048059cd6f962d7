#!/usr/bin/env node
// The query_range result cache (modules/prom/rcache.c): three servers get
// the same remote_write batches - one with the cache (the default size),
// one with prom.result_cache_bytes 0, one with a cache of a few KB - and
// every answer of a set of queries (offsets, negative offsets, a subquery,
// time() alone, topk, aggregations) over several steps and starts must be
// byte for byte the uncached server's, asked twice (the second from the
// cache): after the first batches, after new samples at the tail, after a
// late sample inside the cached range (which must show up: the test fails
// if the invalidation is removed), after a backfill of a new series, for
// two tenants (no answer of one is the other's), after a part dropped by
// retention, and over a delta series (never stored); two query texts that
// read the same with '+' as a space are two entries. A request that fails
// keeps nothing. The /metrics counters and the "stats" of an answer say
// what the cache did.
const path = require('node:path');
const fs = require('node:fs');
(async () => {
const { start, curl, ok, is, done, sleep } = await import('./lib/harness.mjs');
const { remoteWriteBody } = await import('./lib/remotewrite.mjs');

const STEP = 10000;
const T0 = Math.floor(Date.now() / STEP) * STEP - 120 * STEP; // step k at T0 + k * STEP
const at = (k) => T0 + Math.round(k * STEP);

const conf = { 'storage.buffer.flush_interval_ms': 200, 'janitor.interval_seconds': 5,
  'storage.local_retention.retention_hours': 2, 'storage.file_rotation.check_interval_ms': 600000 };
const on = await start({ tag: 'promrcache-on', config: conf });
const off = await start({ tag: 'promrcache-off', config: { ...conf, 'prom.result_cache_bytes': 0 } });
const small = await start({ tag: 'promrcache-small', config: { ...conf, 'prom.result_cache_bytes': 6000 } });
const all = [on, off, small];

// series: [{labels: {..}, samples: [[t, v], ...]}] to every server, as tenant
let nwrites = 0;
function write(tenant, series) {
  const timeseries = series.map((s) => ({
    labels: Object.entries(s.labels).map(([name, value]) => ({ name, value })),
    samples: s.samples.map(([t, v]) => ({ value: v, timestamp: t })) }));
  const body = remoteWriteBody(timeseries);
  const codes = all.map((s) => {
    const f = path.join(s.dir, `wr-${nwrites}.bin`);
    fs.writeFileSync(f, body);
    return curl(`${s.control}/prometheus/api/v1/write`, ['-X', 'POST', '-H', 'Content-Encoding: snappy',
      '-H', 'Content-Type: application/x-protobuf', '-H', `X-Scope-OrgID: ${tenant}`, '--data-binary', `@${f}`]).code;
  });
  nwrites++;
  return codes;
}
// a counter req_total{job, route} (growing by job-and-route's own rate) and
// a gauge g, steps k0..k1 (mul: the tenant's own values)
function base(tenant, k0, k1, mul) {
  const series = [];
  for (const job of ['a', 'b']) for (const route of ['/1', '/2', '/3']) {
    const r = (job === 'a' ? 1 : 2) * Number(route.slice(1)) * mul, samples = [];
    for (let k = k0; k <= k1; k++) samples.push([at(k), r * k]);
    series.push({ labels: { __name__: 'req_total', job, route }, samples });
  }
  const g = [];
  for (let k = k0; k <= k1; k++) g.push([at(k), (k * 37 * mul) % 101]);
  series.push({ labels: { __name__: 'g', job: 'a' }, samples: g });
  return write(tenant, series);
}

const QUERIES = [
  'sum by (job) (rate(req_total[1m]))',
  'req_total{route="/2"}',
  'topk(2, req_total)',
  'rate(req_total[2m] offset 3m)',
  'req_total offset -1m',
  'max_over_time(g[5m])',
  'g > 50',
  'max_over_time(rate(req_total[1m])[3m:30s])',
  'time()',
  'vector(1) + time() / 1000',
  '{__name__=~"g|d_total"}',
];
// [first step, last step, step in ms]
const WINDOWS = [[0, 130, 10000], [3, 130, 30000], [0, 130, 60000], [7, 100, 20000]];
function rangeQuery(s, tenant, q, [k0, k1, step], extra = '') {
  const form = `query=${encodeURIComponent(q)}&start=${at(k0) / 1000}&end=${at(k1) / 1000}&step=${step / 1000}${extra}`;
  return curl(`${s.control}/prometheus/api/v1/query_range`, ['-X', 'POST', '-H', 'Content-Type: application/x-www-form-urlencoded',
    '-H', `X-Scope-OrgID: ${tenant}`, '--data-binary', form]).text;
}
// every query over every window, twice from the cached servers, against
// the uncached server's answer: the number of points the answers hold
function compare(tenant, what) {
  const bad = [];
  let points = 0;
  for (const q of QUERIES) for (const w of WINDOWS) {
    const want = rangeQuery(off, tenant, q, w);
    const j = JSON.parse(want);
    if (j.status !== 'success') bad.push(`${q} ${w}: ${want.slice(0, 200)}`);
    else for (const r of j.data.result) points += r.values.length;
    for (const s of [on, small]) for (const pass of ['first', 'second']) {
      const got = rangeQuery(s, tenant, q, w);
      if (got !== want) bad.push(`${s === on ? 'cache' : 'small cache'}, ${pass} ask, ${q} ${JSON.stringify(w)}:\n got ${got.slice(0, 300)}\nwant ${want.slice(0, 300)}`);
    }
  }
  ok(bad.length === 0 && points > 1000, `${what}: ${QUERIES.length * WINDOWS.length} answers equal the uncached server's, byte for byte (${points} points)`,
    bad.slice(0, 3).join('\n'));
  return points;
}
const metric = (s, name) => {
  const m = curl(`${s.control}/metrics`).text.match(new RegExp(`^${name} (\\d+)$`, 'm'));
  return m ? Number(m[1]) : -1;
};
const rc = (s, name) => metric(s, `openwit_prom_result_cache_${name}`);

// ---- 1. the first batches, two tenants ----
is(base('t1', 0, 110, 1), [204, 204, 204], 'tenant t1: 7 series, steps 0..110');
is(base('t2', 0, 110, 3), [204, 204, 204], 'tenant t2: the same names, other values');
await sleep(500);
compare('t1', 't1');
compare('t2', 't2');
ok(rc(on, 'hits_total') >= QUERIES.length * WINDOWS.length * 2, `answered from the cache (${rc(on, 'hits_total')} hits)`);
ok(rc(on, 'misses_total') >= QUERIES.length * WINDOWS.length * 2, `misses counted (${rc(on, 'misses_total')})`);
ok(rc(on, 'entries') > 0 && rc(on, 'bytes') > 0, `entries held (${rc(on, 'entries')}, ${rc(on, 'bytes')} bytes)`);
is([rc(off, 'entries'), rc(off, 'hits_total'), rc(off, 'misses_total')], [0, 0, 0], 'prom.result_cache_bytes 0: nothing kept, nothing counted');
{
  const q = 'sum by (job) (rate(req_total[1m]))', w = WINDOWS[0];
  ok(rangeQuery(on, 't1', q, w) !== rangeQuery(on, 't2', q, w), 'the tenants\' answers differ (no leak between them)');
  const st = JSON.parse(rangeQuery(on, 't1', q, w, '&stats=all'));
  is(st.data.stats && st.data.stats.openwit.resultCache, 'hit', 'stats=all: the answer says it came from the cache');
  ok(st.data.stats && typeof st.data.stats.timings.evalTotalTime === 'number', 'stats=all: Prometheus\' timings');
}

{ // a request that fails keeps nothing
  const q = 'label_replace(req_total, "route", "x", "", "")', w = WINDOWS[0];
  const entries = rc(on, 'entries'), hits = rc(on, 'hits_total');
  const a = [rangeQuery(on, 't1', q, w), rangeQuery(on, 't1', q, w)].map((t) => JSON.parse(t));
  is(a.map((x) => [x.status, x.errorType]), [['error', 'execution'], ['error', 'execution']], 'a query that fails (a label set twice at a step), asked twice, fails twice');
  is([rc(on, 'entries'), rc(on, 'hits_total')], [entries, hits], 'and keeps nothing: no entry, no hit');
}

// ---- 2. new samples at the tail ----
const partial0 = rc(on, 'partial_total');
is(base('t1', 111, 125, 1), [204, 204, 204], 't1: steps 111..125, at the tail');
await sleep(300);
compare('t1', 't1 after new samples at the tail');
ok(rc(on, 'partial_total') > partial0, `cached points reused, the tail evaluated (${rc(on, 'partial_total') - partial0} partial)`);
compare('t2', 't2 unchanged by t1\'s batch');

// ---- 3. a late sample inside the cached range ----
{
  const q = 'sum by (job) (rate(req_total[1m]))', w = WINDOWS[0];
  const before = rangeQuery(on, 't1', q, w);
  is(write('t1', [{ labels: { __name__: 'req_total', job: 'a', route: '/1' }, samples: [[at(50.5), 5000]] },
    { labels: { __name__: 'g', job: 'a' }, samples: [[at(60.5), 99]] }]), [204, 204, 204], 't1: a late sample at step 50.5 (a counter jump) and one of g');
  await sleep(300);
  const after = rangeQuery(on, 't1', q, w);
  ok(after !== before && after === rangeQuery(off, 't1', q, w), 'the late sample shows up in the cached query\'s answer');
  compare('t1', 't1 after the late samples');
}

// ---- 4. a remote_write backfill: a new series over the whole range ----
{
  const samples = [];
  for (let k = 0; k <= 125; k++) samples.push([at(k), 7 * k]);
  is(write('t1', [{ labels: { __name__: 'req_total', job: 'c', route: '/9' }, samples }]), [204, 204, 204], 't1: a backfilled series, steps 0..125');
  await sleep(300);
  compare('t1', 't1 after the backfill');
  // a late sample that only the negative offset reads: t - (-1m) at the tail
  is(write('t1', [{ labels: { __name__: 'req_total', job: 'b', route: '/1' }, samples: [[at(124.5), 1e6]] }]), [204, 204, 204], 't1: a late sample at step 124.5');
  await sleep(300);
  compare('t1', 't1 after a late sample near the tail (offset -1m)');
}

// ---- 5. a delta series: summed from its span's start, never stored ----
{
  const dp = [];
  for (let k = 100; k <= 125; k++) dp.push({ timeUnixNano: `${BigInt(at(k)) * 1000000n}`, asDouble: 2 });
  const body = JSON.stringify({ resourceMetrics: [{ scopeMetrics: [{ metrics: [
    { name: 'd', sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: dp } }] }] }] });
  is(all.map((s) => curl(`${s.otlp}/v1/metrics`, ['-X', 'POST', '-H', 'Content-Type: application/json',
    '-H', 'X-Scope-OrgID: t1', '--data-binary', body]).code), [200, 200, 200], 't1: a delta sum d over steps 100..125 (OTLP)');
  await sleep(300);
  compare('t1', 't1 with a delta series');
  const st = JSON.parse(rangeQuery(on, 't1', 'd_total', WINDOWS[0], '&stats=all'));
  is([st.data.result.length, st.data.stats.openwit.resultCache], [1, 'miss'], 'asked again, the delta series is evaluated again');
}

// ---- 6. the small cache: evictions, the same answers ----
ok(rc(small, 'evictions_total') > 0 && rc(small, 'bytes') <= 6000,
  `the small cache evicted (${rc(small, 'evictions_total')}) and holds at most 6000 bytes (${rc(small, 'bytes')})`);
ok(rc(on, 'trims_total') > 0, `entries were cut at the changed times (${rc(on, 'trims_total')} trims)`);

// ---- 7. a part dropped by retention (2 hours) ----
{
  // the old part's newest sample passes the 2 hours some 25 s from now
  const OLDEND = Date.now() - 2 * 3600 * 1000 + 25000, samples = [];
  for (let k = 0; k < 20; k++) samples.push([OLDEND - (19 - k) * 60000, k]);
  const recent = [];
  for (let k = 0; k <= 110; k++) recent.push([at(k), k]);
  is(write('t3', [{ labels: { __name__: 'old' }, samples }]), [204, 204, 204], 't3: samples near 2 hours old');
  await sleep(1000); // flushed into a part of their own
  is(write('t3', [{ labels: { __name__: 'old' }, samples: recent }]), [204, 204, 204], 't3: and recent ones');
  await sleep(300);
  const w = [Math.floor((OLDEND - 25 * 60000 - T0) / STEP), 110, 300000], q = 'max_over_time(old[10m])';
  const before = rangeQuery(on, 't3', q, w);
  is(before, rangeQuery(off, 't3', q, w), 'the long range, cached: equal');
  const first = JSON.parse(before).data.result[0];
  ok(first && first.values[0][0] * 1000 < OLDEND, 'it holds the old points');
  const dropped = (s) => /^openwit_parts_dropped_total\{reason="retention"\} [1-9]/m.test(curl(`${s.control}/metrics`).text);
  let gone = false;
  for (const t0 = Date.now(); Date.now() - t0 < 60000 && !gone; await sleep(200)) gone = all.every(dropped);
  ok(gone, 'the janitors dropped the old parts');
  const after = rangeQuery(on, 't3', q, w);
  ok(after !== before && after === rangeQuery(off, 't3', q, w), 'after the drop: the old points are gone from the cached answer too');
  is(rangeQuery(small, 't3', q, w), rangeQuery(off, 't3', q, w), 'and from the small cache\'s');
}

// ---- 8. two texts that read the same with '+' as a space ----
{
  const samples = [];
  for (let k = 0; k <= 110; k++) samples.push([at(k), k]);
  is(write('t4', [{ labels: { __name__: 'foo', a: 'x+y' }, samples }, { labels: { __name__: 'foo', a: 'x y' }, samples }]),
    [204, 204, 204], 't4: foo{a="x+y"} and foo{a="x y"}');
  await sleep(300);
  // sent as they are: the form reads both as 'foo{a="x y"} 1', which does
  // not parse, so each is parsed with '+' kept: two different queries
  const ask = (s, q) => curl(`${s.control}/prometheus/api/v1/query_range`, ['-X', 'POST', '-H', 'Content-Type: application/x-www-form-urlencoded',
    '-H', 'X-Scope-OrgID: t4', '--data-binary', `query=${q}&start=${at(0) / 1000}&end=${at(110) / 1000}&step=10`]).text;
  const bad = [];
  for (const pass of [1, 2]) for (const q of ['foo{a="x+y"}+1', 'foo{a="x%20y"}+1']) {
    const want = ask(off, q), got = ask(on, q);
    if (got !== want || !want.includes('"success"')) bad.push(`${pass}: ${q}:\n got ${got.slice(0, 200)}\nwant ${want.slice(0, 200)}`);
  }
  ok(bad.length === 0, 'foo{a="x+y"}+1 and foo{a="x%20y"}+1, asked in turn twice: each its own answer', bad.join('\n'));
}

done();
})();

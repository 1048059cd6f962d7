#!/usr/bin/env node
// The PromQL read path over committed parts (modules/prom/series.c) and
// its series cache (cache.c), on data remote-written with known values
// (v = 1000 * i + k for series i at step k): a part of 300 series read by
// matchers that select 3; the answer again from the cache (the /metrics
// hits, not misses, grow); a second part; active parts merged into one
// stable part (the merged-away parts' pieces leave the cache); buffered
// rows alone and beside parts; a cache smaller than what is read (pieces
// evicted, answers unchanged); a part dropped by retention (its pieces
// and points gone); the memory a request fetches, series API too, counted
// against query.max_memory_bytes; a name stored as a gauge and as a
// histogram (the piece of the name read by one holds the other's columns).
// Every server runs without the result cache (prom.result_cache_bytes 0):
// a repeated query reads its parts again (t/99promrcache.t tests that cache).
const path = require('node:path');
const { createRequire } = require('node:module');
(async () => {
const { start, root, curl, curlJSON, sql, ok, is, done, sleep } = await import('./lib/harness.mjs');
const req = createRequire(path.join(root, 't/otel/package.json'));
const { remoteWriteBody } = await import('./lib/remotewrite.mjs');

const STEP = 10000;
const T0 = Math.floor(Date.now() / STEP) * STEP - 90 * STEP; // step k at T0 + k * STEP
const value = (i, k) => 1000 * i + k;

// series 0..n-1 of metric name, steps k0..k1-1 (from base), one request
function write(s, name, n, k0, k1, base = T0) {
  const timeseries = [];
  for (let i = 0; i < n; i++) {
    const samples = [];
    for (let k = k0; k < k1; k++) samples.push({ value: value(i, k), timestamp: base + k * STEP });
    timeseries.push({ labels: [{ name: '__name__', value: name }, { name: 'job', value: 'cache' }, { name: 'i', value: String(i) }], samples });
  }
  const body = remoteWriteBody(timeseries);
  const f = path.join(s.dir, `wr-${name}-${k0}.bin`);
  require('node:fs').writeFileSync(f, body);
  return curl(`${s.control}/prometheus/api/v1/write`, ['-X', 'POST', '-H', 'Content-Encoding: snappy',
    '-H', 'Content-Type: application/x-protobuf', '--data-binary', `@${f}`]).code;
}
function range(s, q, k0, k1, base = T0) {
  const form = `query=${encodeURIComponent(q)}&start=${(base + k0 * STEP) / 1000}&end=${(base + k1 * STEP) / 1000}&step=${STEP / 1000}`;
  return curlJSON(`${s.control}/prometheus/api/v1/query_range`, ['-X', 'POST', '-H', 'Content-Type: application/x-www-form-urlencoded', '--data-binary', form]).json;
}
// the answer of a range query against what was written: series ids and
// every value at every step from k0 to k1 (a step sees the newest sample
// at or before it, which is its own: the steps are the samples' times)
function check(ans, ids, k0, k1, name, base = T0) {
  if (!ans || ans.status !== 'success') return ok(false, name, ans);
  const got = ans.data.result.map((r) => Number(r.metric.i)).sort((a, b) => a - b);
  const want = [...ids].sort((a, b) => a - b);
  const bad = [];
  for (const r of ans.data.result) {
    const i = Number(r.metric.i);
    if (r.values.length !== k1 - k0 + 1) bad.push(`i=${i}: ${r.values.length} points, want ${k1 - k0 + 1}`);
    for (const [t, v] of r.values) {
      const k = Math.round((t * 1000 - base) / STEP);
      if (Number(v) !== value(i, k)) { bad.push(`i=${i} at step ${k}: ${v}, want ${value(i, k)}`); break; }
    }
  }
  ok(JSON.stringify(got) === JSON.stringify(want) && bad.length === 0, name, `series ${JSON.stringify(got)} want ${JSON.stringify(want)}\n${bad.slice(0, 5).join('\n')}`);
}
const metric = (s, name) => {
  const m = curl(`${s.control}/metrics`).body.toString().match(new RegExp(`^${name} (\\d+)$`, 'm'));
  return m ? Number(m[1]) : -1;
};
const parts = (s) => sql(path.join(s.data, 'openwit.db'), "select kind, rows from parts where signal = 'metrics'");
async function until(f, ms = 20000) {
  for (const t0 = Date.now(); Date.now() - t0 < ms; await sleep(50)) if (f()) return true;
  return f();
}

// ---- 1. parts: many series, few selected; the cache ----
{
  const s = await start({ tag: 'promcache', config: { 'prom.result_cache_bytes': 0,
    'storage.buffer.flush_interval_ms': 100, 'storage.file_rotation.file_duration_minutes': 0,
    'storage.file_rotation.check_interval_ms': 600000 } });
  is(write(s, 'big_gauge', 300, 0, 30), 204, 'remote_write: 300 series x 30 samples');
  ok(await until(() => parts(s).reduce((a, p) => a + p.rows, 0) === 9000), 'flushed: one part of 9,000 rows');
  const q = 'big_gauge{i=~"7|42|299"}';
  const m0 = metric(s, 'openwit_prom_cache_misses_total');
  check(range(s, q, 0, 29), [7, 42, 299], 0, 29, `${q}: the 3 series of 300, every value`);
  const m1 = metric(s, 'openwit_prom_cache_misses_total'), h1 = metric(s, 'openwit_prom_cache_hits_total');
  ok(m1 > m0, `the first read decoded the part (misses ${m0} -> ${m1})`);
  ok(metric(s, 'openwit_prom_cache_bytes') > 300 * 30 * 16, 'the cache holds the part\'s 300 series (openwit_prom_cache_bytes)');
  check(range(s, q, 0, 29), [7, 42, 299], 0, 29, `${q} again: the same answer`);
  is(metric(s, 'openwit_prom_cache_misses_total'), m1, 'from the cache: no miss');
  ok(metric(s, 'openwit_prom_cache_hits_total') > h1, 'hits grew');
  // a narrower span out of the same piece
  check(range(s, 'big_gauge{i=~"1|2"}', 10, 12), [1, 2], 10, 12, 'steps 10..12 alone, from the cached piece');
  const inst = curlJSON(`${s.control}/prometheus/api/v1/query?query=${encodeURIComponent('sum(big_gauge)')}&time=${(T0 + 29 * STEP) / 1000}`).json;
  let want = 0;
  for (let i = 0; i < 300; i++) want += value(i, 29);
  is(inst.data && inst.data.result[0] && Number(inst.data.result[0].value[1]), want, 'sum(big_gauge) at step 29: every series\' value');

  // a second part: later steps of the same series
  is(write(s, 'big_gauge', 300, 30, 45), 204, 'remote_write: 15 more steps');
  ok(await until(() => parts(s).reduce((a, p) => a + p.rows, 0) === 13500), 'flushed into a second part');
  const active = parts(s).length;
  ok(active >= 2, `${active} active parts`);
  check(range(s, q, 0, 44), [7, 42, 299], 0, 44, `${q} over both parts: every value`);
  const entries = metric(s, 'openwit_prom_cache_entries');
  ok(entries >= 2 * active, `pieces of every part cached (${entries} entries)`);
  s.stop();
  await s.exited;
  s.forget();
}

// ---- 2. a merge while the server runs ----
{
  const s = await start({ tag: 'promcache-merge', config: { 'prom.result_cache_bytes': 0,
    'storage.buffer.flush_interval_ms': 100, 'storage.file_rotation.file_duration_minutes': 0,
    'storage.file_rotation.check_interval_ms': 8000 } });
  is(write(s, 'm_gauge', 20, 0, 20), 204, 'remote_write: 20 series');
  ok(await until(() => parts(s).length === 1), 'a first part');
  is(write(s, 'm_gauge', 20, 20, 40), 204, 'and 20 more steps');
  ok(await until(() => parts(s).length === 2), 'a second part');
  check(range(s, 'm_gauge{i=~"3|19"}', 0, 39), [3, 19], 0, 39, 'both active parts: every value');
  const cached = metric(s, 'openwit_prom_cache_entries');
  ok(cached >= 4 && parts(s).every((p) => p.kind === 'active'), `read before the merge: ${cached} pieces of the 2 active parts`);
  ok(await until(() => { const p = parts(s); return p.length === 1 && p[0].kind === 'stable'; }, 30000), 'the janitor merged them into one stable part');
  ok(await until(() => metric(s, 'openwit_prom_cache_entries') === 0, 15000), 'the merged-away parts\' pieces left the cache (0 entries)');
  check(range(s, 'm_gauge{i=~"3|19"}', 0, 39), [3, 19], 0, 39, 'the stable part: every value once');
  is(metric(s, 'openwit_prom_cache_entries'), 2, 'the stable part\'s 2 pieces (its metrics and m_gauge)');
  s.stop();
  await s.exited;
  s.forget();
}

// ---- 3. buffered rows; then beside a part; a small cache ----
{
  const conf = { 'prom.result_cache_bytes': 0, 'storage.buffer.flush_interval_ms': 600000, 'storage.file_rotation.check_interval_ms': 600000, 'prom.cache_bytes': 20000 };
  const s = await start({ tag: 'promcache-buffer', config: conf });
  for (const n of ['a_gauge', 'b_gauge', 'c_gauge']) is(write(s, n, 12, 0, 30), 204, `${n}: 12 series x 30 samples`);
  is(parts(s).length, 0, 'nothing flushed yet');
  check(range(s, 'a_gauge{i=~"0|11"}', 0, 29), [0, 11], 0, 29, 'buffered rows alone: every value');
  is(metric(s, 'openwit_prom_cache_entries'), 0, 'buffered rows are not cached');
  s.stop();
  await s.exited; // SIGTERM flushes the buffer
  s.forget();
  const s2 = await start({ dir: s.dir, ports: s.ports, tag: 'promcache-buffer', config: conf });
  ok(parts(s2).length >= 1, 'the buffer flushed at the stop: a part');
  is(write(s2, 'a_gauge', 12, 30, 40), 204, 'a_gauge: 10 more steps, buffered');
  check(range(s2, 'a_gauge{i=~"0|5|11"}', 0, 39), [0, 5, 11], 0, 39, 'a part and buffered rows: every value');
  // three metrics of some 8 KB each in a cache of 20,000 bytes: reading
  // them in turn evicts
  for (let round = 0; round < 2; round++)
    for (const n of ['a_gauge', 'b_gauge', 'c_gauge'])
      check(range(s2, `${n}{i=~"1|4"}`, 0, 29), [1, 4], 0, 29, `round ${round}: ${n} with a small cache`);
  ok(metric(s2, 'openwit_prom_cache_evictions_total') > 0, `pieces evicted (${metric(s2, 'openwit_prom_cache_evictions_total')})`);
  ok(metric(s2, 'openwit_prom_cache_bytes') <= 20000, `the cache within prom.cache_bytes (${metric(s2, 'openwit_prom_cache_bytes')})`);
  is(metric(s2, 'openwit_prom_cache_limit_bytes'), 20000, 'openwit_prom_cache_limit_bytes');
  s2.stop();
  await s2.exited;
  s2.forget();
}
// ---- 4. a part dropped by retention: its pieces go, its points too ----
{
  const s = await start({ tag: 'promcache-drop', config: { 'prom.result_cache_bytes': 0,
    'storage.buffer.flush_interval_ms': 100, 'janitor.interval_seconds': 10,
    'storage.local_retention.retention_hours': 2, 'storage.file_rotation.check_interval_ms': 600000 } });
  await sleep(1500); // the janitor's first pass (a second after the start) is over
  const OLD = T0 - 3 * 3600 * 1000;
  is(write(s, 'old_gauge', 5, 0, 10, OLD), 204, 'samples 3 hours old (retention: 2 hours)');
  ok(await until(() => parts(s).length === 1), 'in a part of their own');
  is(write(s, 'new_gauge', 5, 0, 10), 204, 'samples of now');
  ok(await until(() => parts(s).length === 2), 'in a second part');
  check(range(s, 'old_gauge{i=~"1|3"}', 0, 9, OLD), [1, 3], 0, 9, 'the old part read before the janitor\'s pass: every value', OLD);
  const before = metric(s, 'openwit_prom_cache_entries');
  ok(before >= 3, `its pieces cached (${before} entries)`);
  const dropped = () => /^openwit_parts_dropped_total\{reason="retention"\} [1-9]/m.test(curl(`${s.control}/metrics`).body.toString());
  ok(await until(dropped, 30000), 'the janitor dropped the old part');
  ok(await until(() => metric(s, 'openwit_prom_cache_entries') === before - 2, 15000),
    `the dropped part's 2 pieces left the cache (${metric(s, 'openwit_prom_cache_entries')} of ${before} entries left)`);
  const gone = range(s, 'old_gauge', 0, 9, OLD);
  is([gone.status, gone.data && gone.data.result.length], ['success', 0], 'the dropped part\'s points are not read again');
  check(range(s, 'new_gauge{i="4"}', 0, 9), [4], 0, 9, 'the other part still read');
  s.stop();
  await s.exited;
  s.forget();
}
// ---- 5. what a request fetches counts against query.max_memory_bytes ----
{
  const s = await start({ tag: 'promcache-memory', config: { 'prom.result_cache_bytes': 0, 'storage.buffer.flush_interval_ms': 100, 'query.max_memory_bytes': 4194304 } });
  is(write(s, 'big_gauge', 300, 0, 30), 204, '300 series x 30 samples');
  ok(await until(() => parts(s).length === 1), 'flushed');
  const one = curlJSON(`${s.control}/prometheus/api/v1/series?match[]=big_gauge`, ['-g']);
  is([one.code, one.json.data && one.json.data.length], [200, 300], 'series API, one selector: its 300 label sets within 4 MiB');
  // each selector's label sets are held until the answer: 160 of 300 are
  // past 4 MiB (before, the series and label APIs were not counted)
  const many = curlJSON(`${s.control}/prometheus/api/v1/series?${Array(160).fill('match[]=big_gauge').join('&')}`, ['-g']);
  is([many.code, many.json.errorType], [422, 'execution'], 'series API, 160 selectors of 300 series: refused');
  ok(/query processing would load too much data into memory: more than query.max_memory_bytes \(4194304\)/.test(many.json.error || ''), 'with Prometheus\' message', many.json.error);
  const lab = curlJSON(`${s.control}/prometheus/api/v1/label/i/values?${Array(160).fill('match[]=big_gauge').join('&')}`, ['-g']);
  is([lab.code, lab.json.errorType], [422, 'execution'], 'label values API, the same: refused');
  check(range(s, 'big_gauge{i=~"0|299"}', 0, 29), [0, 299], 0, 29, 'a query within the budget answers');
  s.stop();
  await s.exited;
  s.forget();
}
// ---- 5b. pieces about as large as query.max_memory_bytes: refused as they decode ----
{
  const s = await start({ tag: 'promcache-piece', config: { 'prom.result_cache_bytes': 0, 'storage.buffer.flush_interval_ms': 5000, 'storage.buffer.flush_bytes': 134217728, 'query.max_memory_bytes': 1048576,
    'storage.file_rotation.file_duration_minutes': 0, 'storage.file_rotation.check_interval_ms': 600000 } });
  is(write(s, 'huge_gauge', 300, 0, 300, T0 - 300 * STEP), 204, '300 series x 300 samples: 90,000 points (1.4 MB)');
  ok(await until(() => parts(s).reduce((a, p) => a + p.rows, 0) === 90000), 'flushed', parts(s));
  const r = range(s, 'huge_gauge{i="0"}', 0, 299, T0 - 300 * STEP);
  is([r.status, r.errorType], ['error', 'execution'], 'pieces of ~0.9 MB of points each and their columns, under 1 MiB: refused');
  ok(/query\.max_memory_bytes|memory budget/.test(r.error || ''), `for the memory budget: ${r.error}`);
  is(range(s, 'vector(1)', 0, 0).status, 'success', 'the server answers after');
  s.stop();
  await s.exited;
  s.forget();
}
// ---- 5c. prom.cache_bytes 0: each part read for the span alone, nothing kept ----
{
  const s = await start({ tag: 'promcache-none', config: { 'prom.result_cache_bytes': 0, 'storage.buffer.flush_interval_ms': 100, 'prom.cache_bytes': 0,
    'storage.file_rotation.file_duration_minutes': 0, 'storage.file_rotation.check_interval_ms': 600000 } });
  is(write(s, 'n_gauge', 20, 0, 60), 204, '20 series x 60 samples');
  ok(await until(() => parts(s).reduce((a, p) => a + p.rows, 0) === 1200), 'flushed');
  check(range(s, 'n_gauge{i=~"2|17"}', 0, 59), [2, 17], 0, 59, 'every step: every value');
  check(range(s, 'n_gauge{i=~"2|17"}', 40, 44), [2, 17], 40, 44, 'steps 40..44 alone: their values');
  const ser = curlJSON(`${s.control}/prometheus/api/v1/series?match[]=n_gauge`, ['-g']);
  is(ser.json.data && ser.json.data.length, 20, 'series API: the 20 label sets');
  is([metric(s, 'openwit_prom_cache_entries'), metric(s, 'openwit_prom_cache_bytes')], [0, 0], 'nothing kept');
  s.stop();
  await s.exited;
  s.forget();
}
// ---- 6. a name stored as two types: one piece holds both ----
{
  const { MeterProvider, PeriodicExportingMetricReader } = req('@opentelemetry/sdk-metrics');
  const { OTLPMetricExporter } = req('@opentelemetry/exporter-metrics-otlp-proto');
  const s = await start({ tag: 'promcache-kinds', config: { 'prom.result_cache_bytes': 0, 'storage.buffer.flush_interval_ms': 100 } });
  const reader = new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter({ url: `${s.otlp}/v1/metrics` }), exportIntervalMillis: 3600000 });
  const provider = new MeterProvider({ readers: [reader] });
  provider.getMeter('a').createGauge('dual').record(5);
  const h = provider.getMeter('b').createHistogram('dual');
  for (const v of [1, 2, 3]) h.record(v);
  await provider.shutdown();
  ok(await until(() => parts(s).length === 1), 'dual (a gauge and a histogram) flushed into a part');
  const at = Date.now() / 1000 + 1;
  const inst = (q) => curlJSON(`${s.control}/prometheus/api/v1/query?query=${encodeURIComponent(q)}&time=${at}`).json;
  const val = (a) => a && a.data && a.data.result.map((r) => r.value[1]);
  is(val(inst('dual')), ['5'], 'dual: the gauge (its piece decoded and cached first)');
  is(val(inst('dual_count')), ['3'], 'dual_count from the same cached piece: the histogram\'s count');
  is(val(inst('dual_sum')), ['6'], 'dual_sum: its sum');
  is(val(inst('dual_bucket{le="+Inf"}')), ['3'], 'dual_bucket{le="+Inf"}');
  s.stop();
  await s.exited;
  s.forget();
}
done();
})();

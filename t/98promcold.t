#!/usr/bin/env node
// PromQL over parts read cold (the first query after a restart: modules/
// search/rows.c reads a part's text columns by dictionary codes, tells a
// row of the same series by them, and gives a part's metric names without
// SQL), on OTLP/JSON metrics with known values whose stored rows differ
// in one key column at a time: one name with two units (lat_milliseconds,
// lat_seconds), one name as a monotonic and a non-monotonic sum with the
// same attributes (reqs_total, reqs: only is_monotonic tells their rows
// apart), a gauge without a unit; 3 resources x 10 routes, matchers that
// select a few; two parts, then rows still buffered beside them. Every
// series and every value at every step is checked.
const fs = require('node:fs');
const path = require('node:path');
(async () => {
const { start, curlJSON, sql, ok, is, done, sleep } = await import('./lib/harness.mjs');

const STEP = 10000, STEPS = 50;
const T0 = Math.floor(Date.now() / STEP) * STEP - (STEPS + 5) * STEP; // step k at T0 + k * STEP
const METRICS = ['lat_ms', 'lat_s', 'reqs_mono', 'reqs_gauge', 'temp'];
// the value of metric m (an index of METRICS), service j, route r, step k:
// whole numbers, rising with k (a monotonic sum's)
const value = (m, j, r, k) => 100000 * m + 1000 * j + 10 * r + k;
const sv = (key, v) => ({ key, value: { stringValue: v } });

function points(m, j, routes, k0, k1) {
  const out = [];
  for (let r = 0; r < routes; r++)
    for (let k = k0; k < k1; k++)
      out.push({ timeUnixNano: String(BigInt(T0 + k * STEP) * 1000000n), asDouble: value(m, j, r, k), attributes: [sv('route', `r${r}`)] });
  return out;
}
function body(k0, k1) {
  const resourceMetrics = [];
  for (let j = 0; j < 3; j++) {
    const sum = (m, mono) => ({ aggregationTemporality: 2, isMonotonic: mono, dataPoints: points(m, j, 10, k0, k1) });
    resourceMetrics.push({ resource: { attributes: [sv('service.name', `svc${j}`)] }, scopeMetrics: [{ metrics: [
      { name: 'lat', unit: 'ms', gauge: { dataPoints: points(0, j, 10, k0, k1) } },
      { name: 'lat', unit: 's', gauge: { dataPoints: points(1, j, 2, k0, k1) } },
      { name: 'reqs', sum: sum(2, true) },
      { name: 'reqs', sum: sum(3, false) },
      { name: 'temp', gauge: { dataPoints: points(4, j, 1, k0, k1) } },
    ] }] });
  }
  return { resourceMetrics };
}
function send(s, k0, k1) {
  const f = path.join(s.dir, `m-${k0}.json`);
  fs.writeFileSync(f, JSON.stringify(body(k0, k1)));
  return curlJSON(`${s.otlp}/v1/metrics`, ['-H', 'Content-Type: application/json', '--data-binary', `@${f}`]).code;
}
function range(s, q, k0, k1) {
  const form = `query=${encodeURIComponent(q)}&start=${(T0 + k0 * STEP) / 1000}&end=${(T0 + k1 * STEP) / 1000}&step=${STEP / 1000}`;
  return curlJSON(`${s.control}/prometheus/api/v1/query_range`, ['-X', 'POST', '-H', 'Content-Type: application/x-www-form-urlencoded', '--data-binary', form]).json;
}
// the answer against what was sent: the series (job/route) wanted, each
// with every value of metric m from step k0 to k1
function check(ans, m, want, k0, k1, name) {
  if (!ans || ans.status !== 'success') return ok(false, name, ans);
  const got = ans.data.result.map((x) => `${x.metric.job}/${x.metric.route}`).sort();
  const bad = [];
  for (const x of ans.data.result) {
    const j = Number(x.metric.job.slice(3)), r = Number(x.metric.route.slice(1));
    if (x.values.length !== k1 - k0 + 1) bad.push(`${x.metric.job}/${x.metric.route}: ${x.values.length} points, want ${k1 - k0 + 1}`);
    for (const [t, v] of x.values) {
      const k = Math.round((t * 1000 - T0) / STEP);
      if (Number(v) !== value(m, j, r, k)) { bad.push(`${JSON.stringify(x.metric)} at step ${k}: ${v}, want ${value(m, j, r, k)}`); break; }
    }
  }
  ok(JSON.stringify(got) === JSON.stringify([...want].sort()) && bad.length === 0, name,
    `series ${JSON.stringify(got)} want ${JSON.stringify([...want].sort())}\n${bad.slice(0, 5).join('\n')}`);
}
const parts = (s) => sql(path.join(s.data, 'openwit.db'), "select kind, rows from parts where signal = 'metrics'");
async function until(f, ms = 20000) {
  for (const t0 = Date.now(); Date.now() - t0 < ms; await sleep(50)) if (f()) return true;
  return f();
}
const ROWS = 3 * (10 + 2 + 10 + 10 + 1); // rows a step
function queries(s, k1, where) {
  check(range(s, 'lat_milliseconds{job="svc1", route=~"r3|r7"}', 0, k1), 0, ['svc1/r3', 'svc1/r7'], 0, k1,
    `${where}: lat_milliseconds, 2 series of 30 (one unit of two of the name)`);
  check(range(s, 'lat_seconds', 0, k1), 1, ['svc0/r0', 'svc0/r1', 'svc1/r0', 'svc1/r1', 'svc2/r0', 'svc2/r1'], 0, k1,
    `${where}: lat_seconds, the other unit's 6 series`);
  check(range(s, 'reqs_total{route="r9"}', 0, k1), 2, ['svc0/r9', 'svc1/r9', 'svc2/r9'], 0, k1,
    `${where}: reqs_total (the monotonic sum), route r9`);
  check(range(s, 'reqs{route="r9"}', 0, k1), 3, ['svc0/r9', 'svc1/r9', 'svc2/r9'], 0, k1,
    `${where}: reqs (the same name and labels, not monotonic), route r9`);
  check(range(s, 'temp{job!="svc0"}', 0, k1), 4, ['svc1/r0', 'svc2/r0'], 0, k1, `${where}: temp, no unit`);
  const names = curlJSON(`${s.control}/prometheus/api/v1/label/__name__/values`).json;
  for (const n of ['lat_milliseconds', 'lat_seconds', 'reqs', 'reqs_total', 'temp'])
    ok(names && names.data.includes(n), `${where}: ${n} among the names`, names);
}

const s = await start({ tag: 'promcold', config: {
  'storage.buffer.flush_interval_ms': 100, 'storage.file_rotation.file_duration_minutes': 0,
  'storage.file_rotation.check_interval_ms': 600000 } });
is(send(s, 0, 20), 200, 'OTLP/JSON: steps 0..19');
ok(await until(() => parts(s).reduce((a, p) => a + p.rows, 0) === 20 * ROWS), 'flushed: a part');
is(send(s, 20, 40), 200, 'OTLP/JSON: steps 20..39');
ok(await until(() => parts(s).reduce((a, p) => a + p.rows, 0) === 40 * ROWS), 'flushed: a second part');
ok(parts(s).length >= 2, `${parts(s).length} parts`);
s.stop();
await s.exited;
s.forget();

// cold: nothing read since the start; the buffered rows beside the parts
const s2 = await start({ tag: 'promcold', dir: s.dir, ports: s.ports, config: {
  'storage.buffer.flush_interval_ms': 600000, 'storage.file_rotation.file_duration_minutes': 0,
  'storage.file_rotation.check_interval_ms': 600000 } });
queries(s2, 39, 'two parts, cold');
is(send(s2, 40, STEPS), 200, 'OTLP/JSON: steps 40..49, buffered');
queries(s2, STEPS - 1, 'two parts and buffered rows');
s2.stop();
await s2.exited;
s2.forget();
done();
})();

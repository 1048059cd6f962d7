#!/usr/bin/env node
// Debian's Prometheus 2.42 scrapes openwit's own /metrics every second and
// remote-writes what it scrapes to openwit's /prometheus/api/v1/write
// (remote_write 1.0: snappy protobuf, through the ingest front and the
// WAL). Then the same dashboard PromQL, instant and range over the same
// span, is asked of that Prometheus and of openwit: the answers must be
// the same series with the same values (to 1e-9, relative).
const path = require('node:path');
const fs = require('node:fs');
const { spawn } = require('node:child_process');
(async () => {
const { start, freePort, curlJSON, ok, is, note, done, sleep } = await import('./lib/harness.mjs');

const s = await start({ tag: 'prom-compare' });
const promPort = await freePort();
const conf = path.join(s.dir, 'prometheus.yml');
fs.writeFileSync(conf, `global: {scrape_interval: 1s, evaluation_interval: 1m}
scrape_configs:
  - job_name: openwit
    static_configs: [{targets: ['127.0.0.1:${s.ports.control}']}]
remote_write:
  - url: http://127.0.0.1:${s.ports.control}/prometheus/api/v1/write
    queue_config: {batch_send_deadline: 1s, max_samples_per_send: 2000}
`);
const prom = spawn('prometheus', [`--config.file=${conf}`, `--storage.tsdb.path=${s.dir}/tsdb`,
  `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
let promLog = '';
prom.stdout.on('data', (d) => { promLog += d; });
prom.stderr.on('data', (d) => { promLog += d; });
process.on('exit', () => { try { prom.kill('SIGKILL'); } catch {} });

const P = `http://127.0.0.1:${promPort}/api/v1`, O = `${s.control}/prometheus/api/v1`;
const t0 = Date.now() / 1000;
// some traffic, so that the counters move
const load = setInterval(() => {
  curlJSON(`${s.otlp}/v1/traces`, ['-X', 'POST', '-H', 'Content-Type: application/json', '--data-binary',
    JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', name: 'x', startTimeUnixNano: String(Date.now() * 1e6), endTimeUnixNano: String(Date.now() * 1e6) }] }] }] })]);
}, 250);
await sleep(45000);
clearInterval(load);
await sleep(4000); // the last remote_write batches
const end = Math.floor(Date.now() / 1000) - 3, begin = Math.ceil(t0) + 10;
note(`span ${begin}..${end}`);

const queries = [
  'up',
  'rate(openwit_ingest_requests_total[10s])',
  'sum by (job) (rate(openwit_wal_fsyncs_total[10s]))',
  'irate(openwit_wal_bytes_total[10s])',
  'increase(openwit_batches_total[15s])',
  'delta(openwit_inflight_bytes_max[20s])',
  'histogram_quantile(0.9, sum by (le) (rate(openwit_ack_latency_seconds_bucket[10s])))',
  'histogram_quantile(0.5, sum by (le, job) (rate(openwit_wal_fsync_seconds_bucket[20s])))',
  'topk(3, openwit_queue_capacity)',
  'bottomk(2, openwit_queue_capacity_bytes)',
  'openwit_rows_stored_total offset 5s',
  'label_replace(up, "host", "$1", "instance", "([^:]*):.*")',
  'openwit_tenants > 0',
  'openwit_connections >= bool 1',
  'sum without (instance) (openwit_queue_capacity_bytes)',
  'avg(openwit_queue_depth) + count(up) * 2',
  'max_over_time(openwit_connections[10s])',
  'min_over_time(scrape_duration_seconds[10s])',
  'avg_over_time(openwit_buffered_bytes[10s])',
  'count_over_time(up[10s])',
  'sum(rate(openwit_ingest_requests_total[10s])) / sum(rate(openwit_batches_total[10s]))',
  'rate(openwit_ack_latency_seconds_sum[10s]) / rate(openwit_ack_latency_seconds_count[10s])',
  'changes(openwit_queue_depth[20s])',
  'resets(openwit_wal_bytes_total[20s])',
  'quantile(0.5, openwit_queue_capacity)',
  'count by (__name__) ({__name__=~"openwit_queue_.*"})',
  'sum(openwit_queue_capacity) by (job)',
  'openwit_ingest_requests_total unless openwit_ingest_requests_total{signal="traces"}',
  'up == 1 and on(job) openwit_tenants',
  'scalar(up) * 3',
  'time() - time()',
  'absent(nonexistent_metric)',
  'vector(1) or up',
  'abs(-up) + ceil(openwit_tenants / 3)',
  'clamp_max(openwit_queue_depth, 1)',
  'sort_desc(openwit_queue_capacity)',
  'stddev(openwit_queue_capacity)',
  'openwit_connections_max - on(instance, job) group_right openwit_connections',
  'max_over_time(rate(openwit_wal_bytes_total[10s])[30s:5s])',
  'avg_over_time(up[20s:3s])',
  'min_over_time(sum(openwit_queue_depth)[20s:2s] offset 10s)',
  'max_over_time(deriv(openwit_wal_bytes_total[10s])[90s:])',
  'openwit_connections / ignoring(listener) group_left openwit_connections_max',
  'openwit_connections_refused_total * on(listener) group_left(job) openwit_connections',
  '2 ^ 3 ^ 2 - -2 ^ 2 + up * 3 % 2',
  'sum(openwit_queue_depth) - avg(openwit_queue_depth) * 2 / count(up) > bool 1',
];

function same(a, b) {
  const x = a === 'NaN' ? NaN : Number(a), y = b === 'NaN' ? NaN : Number(b);
  if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) && Number.isNaN(y);
  return x === y || Math.abs(x - y) <= 1e-9 * Math.max(Math.abs(x), Math.abs(y));
}
const key = (m) => JSON.stringify(Object.keys(m).sort().map((k) => [k, m[k]]));
function compare(name, a, b, emptyOk = false) {
  if (!a || !b || a.status !== 'success' || b.status !== 'success')
    return ok(false, name, { prometheus: a, openwit: b });
  if (a.data.resultType !== b.data.resultType) return ok(false, `${name}: result type`, { prometheus: a.data.resultType, openwit: b.data.resultType });
  const norm = (d) => d.resultType === 'scalar' ? [{ metric: {}, values: [d.result] }]
    : d.result.map((r) => ({ metric: r.metric, values: r.values || [r.value] }));
  const pa = new Map(norm(a.data).map((r) => [key(r.metric), r.values]));
  const pb = new Map(norm(b.data).map((r) => [key(r.metric), r.values]));
  const diffs = [];
  for (const [k, v] of pa) {
    const w = pb.get(k);
    if (!w) { diffs.push(`only in Prometheus: ${k}`); continue; }
    if (v.length !== w.length) diffs.push(`${k}: ${v.length} points in Prometheus, ${w.length} in openwit`);
    else for (let i = 0; i < v.length; i++)
      if (v[i][0] !== w[i][0] || !same(v[i][1], w[i][1])) { diffs.push(`${k} at ${v[i][0]}: ${v[i][1]} vs ${w[i][0]} ${w[i][1]}`); break; }
  }
  for (const k of pb.keys()) if (!pa.has(k)) diffs.push(`only in openwit: ${k}`);
  return ok(diffs.length === 0 && (pa.size > 0 || emptyOk), `${name} (${pa.size} series)`, diffs.slice(0, 5).join('\n'));
}
const form = (q, extra) => ['-X', 'POST', '-H', 'Content-Type: application/x-www-form-urlencoded', '--data-binary', `query=${encodeURIComponent(q)}${extra}`];
for (const q of queries) {
  const extra = `&start=${begin}&end=${end}&step=2`;
  // a subquery without a step takes the evaluation interval's (1m), aligned
  // to the epoch: a run that spans no whole minute has no point, in both
  compare(`range: ${q}`, curlJSON(`${P}/query_range`, form(q, extra)).json, curlJSON(`${O}/query_range`, form(q, extra)).json, /\[\d+s:\]/.test(q));
}
for (const q of queries.slice(0, 12)) {
  const extra = `&time=${end - 5.5}`;
  compare(`instant: ${q}`, curlJSON(`${P}/query`, form(q, extra)).json, curlJSON(`${O}/query`, form(q, extra)).json);
}
{
  // the series and label APIs over the same span
  const m = `match[]=${encodeURIComponent('{__name__=~"openwit_wal_.*"}')}&start=${begin}&end=${end}`;
  const sp = curlJSON(`${P}/series?${m}`).json.data.map(key).sort();
  const so = curlJSON(`${O}/series?${m}`).json.data.map(key).sort();
  is(so, sp, `series ${decodeURIComponent(m)}: the same label sets`);
  const lp = curlJSON(`${P}/label/instance/values?start=${begin}&end=${end}`).json.data;
  is(curlJSON(`${O}/label/instance/values?start=${begin}&end=${end}`).json.data, lp, 'label/instance/values');
}
// errors: the same errorType for the same bad PromQL
for (const q of ['sum(rate(up[1m])', 'rate(up)', 'up{', '1 +', 'sum by (job) up', 'openwit_connections_max - on(instance, job) openwit_connections']) {
  const a = curlJSON(`${P}/query`, form(q, '')), b = curlJSON(`${O}/query`, form(q, ''));
  is([b.code, b.json.status, b.json.errorType], [a.code, a.json.status, a.json.errorType], `bad PromQL ${JSON.stringify(q)}: ${a.json.error}`);
}
if (!/level=(error)/.test(promLog)) ok(true, 'Prometheus logged no error (remote_write accepted)');
else ok(false, 'Prometheus logged no error', promLog.split('\n').filter((l) => /level=error/.test(l)).slice(0, 5).join('\n'));
prom.kill('SIGTERM');
done();
})();

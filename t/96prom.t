#!/usr/bin/env node
// The Prometheus API (modules/prom) on data the OpenTelemetry JS SDK
// exports: promtool's instant, range, series and labels queries; the
// names of the compatibility rules (c_total, _bucket/_sum/_count with le,
// unit suffixes, job from service.name); cumulative and delta temporality;
// Grafana's health check (POST query=1+1&time=4, from Grafana's
// healthcheck.go); Prometheus' error form; hostile input (points limit,
// deep nesting, long queries, bad snappy and protobuf); auth and tenants.
const path = require('node:path');
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');
const { createRequire } = require('node:module');
(async () => {
const { start, root, bin, curl, curlJSON, ok, is, like, note, done } = await import('./lib/harness.mjs');
const req = createRequire(path.join(root, 't/otel/package.json'));
const { MeterProvider, PeriodicExportingMetricReader } = req('@opentelemetry/sdk-metrics');
const { resourceFromAttributes } = req('@opentelemetry/resources');
const { OTLPMetricExporter } = req('@opentelemetry/exporter-metrics-otlp-proto');
const { AggregationTemporalityPreference } = req('@opentelemetry/exporter-metrics-otlp-http');
const snappy = req('snappyjs');
const protobuf = req('protobufjs');

const s = await start({ tag: 'prom' });
const api = `${s.control}/prometheus`;

// ---- data from the OTel JS SDK ----
async function sdk(service, temporality, record) {
  const exporter = new OTLPMetricExporter({
    url: `${s.otlp}/v1/metrics`,
    temporalityPreference: temporality === 'delta' ? AggregationTemporalityPreference.DELTA
      : AggregationTemporalityPreference.CUMULATIVE,
  });
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3600000 });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'service.instance.id': `${service}-1`, 'host.name': 'box1' }),
    readers: [reader],
  });
  await record(provider.getMeter('prom-test'), reader);
  await provider.shutdown();
}
await sdk('shop', 'cumulative', async (meter) => {
  const c = meter.createCounter('c');
  c.add(3, { route: '/r1' });
  c.add(2, { route: '/r2' });
  const h = meter.createHistogram('http.server.duration', { unit: 'ms' });
  for (const v of [3, 7, 20, 30, 80, 300]) h.record(v, { route: '/r1' });
  meter.createUpDownCounter('queue.depth', { unit: '{item}' }).add(4);
});
// delta: two exports of 5 and 7, which a reader sums to 12
await sdk('batch', 'delta', async (meter, reader) => {
  const d = meter.createCounter('d');
  d.add(5);
  await reader.forceFlush();
  await new Promise((r) => setTimeout(r, 20));
  d.add(7);
});

// ---- promtool ----
function promtool(...args) {
  const r = spawnSync('promtool', ['query', ...args], { encoding: 'utf8', timeout: 30000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
{
  const r = promtool('instant', api, 'sum(c_total)');
  is(r.code, 0, 'promtool query instant sum(c_total): exit 0');
  like(r.out, /^\{\} => 5 @\[/, 'sum(c_total) is 5 (3 on /r1, 2 on /r2)');
  const r1 = promtool('instant', api, 'c_total{route="/r1"}');
  like(r1.out, /^c_total\{instance="shop-1", job="shop", route="\/r1"\} => 3 @/, 'c_total{route="/r1"}: 3, job and instance from the resource');
  const now = Math.floor(Date.now() / 1000);
  const rr = promtool('range', `--start=${now - 90}`, `--end=${now + 60}`, '--step=30s', api, 'sum by (route) (c_total)');
  is(rr.code, 0, 'promtool query range: exit 0');
  like(rr.out, /\{route="\/r1"\} =>\n3 @\[\d+\]\n3 @/, 'range: sum by (route) has route="/r1" at 3 on its steps');
  const ser = promtool('series', api, '--match=c_total');
  is(ser.out.trim().split('\n').sort(), ['{__name__="c_total", instance="shop-1", job="shop", route="/r1"}',
    '{__name__="c_total", instance="shop-1", job="shop", route="/r2"}'], 'promtool query series --match=c_total');
  const lab = promtool('labels', api, 'route');
  is(lab.out.trim().split('\n'), ['/r1', '/r2'], 'promtool query labels route');
}

// ---- the API's answers ----
const get = (p) => curlJSON(`${api}${p}`, ['-g']);
const post = (p, form, args = []) => curlJSON(`${api}${p}`, ['-X', 'POST', '-H', 'Content-Type: application/x-www-form-urlencoded', '--data-binary', form, ...args]);
const q = (query, extra = '') => get(`/api/v1/query?query=${encodeURIComponent(query)}${extra}`);
const val = (r) => r.json && r.json.data && r.json.data.result;
{
  // Grafana's health check: POST, form-encoded, time=4
  const r = post('/api/v1/query', 'query=1%2B1&time=4');
  is([r.code, r.json], [200, { status: 'success', data: { resultType: 'scalar', result: [4, '2'] } }], 'Grafana\'s health check: query=1+1 at time=4 answers the scalar 2');
  is(post('/api/v1/query', 'query=1+1&time=4').json.data.result, [4, '2'], 'query=1+1 with a literal +, as curl -d sends it, also answers 2');
  const b = get('/api/v1/status/buildinfo');
  is([b.code, b.json.status], [200, 'success'], 'status/buildinfo');
  like(b.json.data.version, /^2\./, 'buildinfo has a Prometheus 2.x version for Grafana\'s feature detection');

  const buckets = val(q('sort_desc(http_server_duration_milliseconds_bucket)'));
  is(buckets.filter((x) => x.metric.le === '+Inf').map((x) => x.value[1]), ['6'], 'histogram: _bucket{le="+Inf"} is the count');
  ok(buckets.some((x) => x.metric.le === '5' && x.value[1] === '1') && buckets.some((x) => x.metric.le === '25' && x.value[1] === '3'),
    'histogram: buckets are cumulative by le (le="5" 1, le="25" 3)', buckets);
  is(val(q('http_server_duration_milliseconds_count'))[0].value[1], '6', 'histogram: _count');
  is(val(q('http_server_duration_milliseconds_sum'))[0].value[1], '440', 'histogram: _sum');
  const p50 = Number(val(q('histogram_quantile(0.5, sum by (le) (http_server_duration_milliseconds_bucket))'))[0].value[1]);
  ok(p50 > 10 && p50 <= 25, `histogram_quantile(0.5) falls in the (10, 25] bucket: ${p50}`);
  is(val(q('queue_depth'))[0].metric.__name__, 'queue_depth', 'a non-monotonic sum keeps its name; a {annotation} unit adds no suffix');
  is(val(q('sum(d_total)'))[0].value[1], '12', 'delta temporality: the points are summed (5 + 7 = 12)');
  is(val(q('count(c_total > 2)'))[0].value[1], '1', 'comparison filter');
  is(val(q('sum(c_total) * 2 + 1'))[0].value[1], '11', 'arithmetic with scalars');
  is(val(q('topk(1, c_total)'))[0].metric.route, '/r1', 'topk');
  is(val(q('label_replace(c_total{route="/r2"}, "r", "$1", "route", "/(.*)")'))[0].metric.r, 'r2', 'label_replace');
  is(val(q('vector(3) + scalar(sum(c_total))'))[0].value[1], '8', 'vector() and scalar()');
  is(val(q('absent(nonexistent{job="x"})'))[0].metric, { job: 'x' }, 'absent() with the equality matchers\' labels');
  is(val(q('c_total offset 1h')), [], 'offset before the data: nothing');
  const series = get('/api/v1/series?match[]={job="shop"}&match[]=d_total');
  ok(series.json.data.some((x) => x.__name__ === 'd_total') && series.json.data.some((x) => x.__name__ === 'http_server_duration_milliseconds_bucket'), 'series with two match[] selectors');
  is(get('/api/v1/series?match={__name__="c_total",route="/r2"}').json.data.length, 1, 'series with match (Grafana 8\'s name for match[])');
  const names = get('/api/v1/label/__name__/values').json.data;
  ok(['c_total', 'd_total', 'http_server_duration_milliseconds_bucket', 'http_server_duration_milliseconds_count', 'http_server_duration_milliseconds_sum', 'queue_depth'].every((n) => names.includes(n)), 'label/__name__/values lists the metric names', names);
  const labels = get('/api/v1/labels').json.data;
  ok(['__name__', 'instance', 'job', 'le', 'route'].every((n) => labels.includes(n)), 'labels', labels);
  const ti = val(q('target_info{job="shop"}'));
  ok(ti.length === 1 && ti[0].value[1] === '1' && ti[0].metric.instance === 'shop-1' && ti[0].metric.host_name === 'box1',
    'target_info: job, instance and the resource\'s other attributes as labels, value 1', ti);
  const md = get('/api/v1/metadata').json.data;
  is([md.c_total[0].type, md.http_server_duration_milliseconds[0].type], ['counter', 'histogram'], 'metadata: types');
  const now = Date.now() / 1000;
  const range = post('/api/v1/query_range', `query=${encodeURIComponent('sum(rate(c_total[5m]))')}&start=${now - 60}&end=${now}&step=15`);
  is([range.code, range.json.data.resultType], [200, 'matrix'], 'query_range as a POST form');
}

// ---- errors and hostile input ----
{
  const r = q('sum(rate(c_total[5m])');
  is(r.code, 400, 'bad PromQL: 400');
  is([r.json.status, r.json.errorType], ['error', 'bad_data'], 'bad PromQL: Prometheus\' error form');
  like(r.json.error, /^invalid parameter "query": 1:\d+: parse error: /, 'the error has the position of the parse error');
  like(q('rate(c_total)').json.error, /1:6: parse error: expected type range vector in call to function "rate", got instant vector/, 'type errors name the argument\'s position');
  like(q('c_total{route="a"').json.error, /parse error/, 'unterminated matchers');
  like(q('foo(1)').json.error, /unknown function with name "foo"/, 'unknown function');
  like(q('"a" + 1').json.error, /binary expression must contain only scalar and instant vector types/, 'string in arithmetic');
  const deep = '('.repeat(5000) + '1' + ')'.repeat(5000);
  const d = post('/api/v1/query', `query=${deep}`);
  is([d.code, d.json.errorType], [400, 'bad_data'], 'nesting 5000 deep: a parse error, no crash');
  const neg = '-'.repeat(20000) + '1';
  is(post('/api/v1/query', `query=${neg}`).json.errorType, 'bad_data', '20000 unary minus signs: a parse error');
  const now = Math.floor(Date.now() / 1000);
  const big = get(`/api/v1/query_range?query=up&start=0&end=${now}&step=1`);
  is([big.code, big.json.error], [400, 'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)'], 'range over 11,000 steps: Prometheus\' refusal');
  like(get(`/api/v1/query_range?query=up&start=10&end=0&step=1`).json.error, /end timestamp must not be before start time/, 'end before start');
  like(get(`/api/v1/query_range?query=up&start=0&end=10&step=0`).json.error, /zero or negative query resolution step/, 'step 0');
  like(get(`/api/v1/query_range?query=up&start=0&end=10&step=abc`).json.error, /cannot parse "abc" to a valid duration/, 'bad step');
  like(q('1', '&time=yesterday').json.error, /invalid parameter "time"/, 'bad time');
  // extreme times and steps: Prometheus' errors, or an answer; never an
  // overflow (a step count that wraps, a time past int64)
  is([get('/api/v1/query_range?query=up&start=0&end=10&step=1e300').code, get('/api/v1/query_range?query=up&start=0&end=10&step=1e300').json.error],
    [400, 'invalid parameter "step": cannot parse "1e300" to a valid duration. It overflows int64'], 'step 1e300: Prometheus\' overflow error');
  like(get('/api/v1/query_range?query=up&start=0&end=10&step=1e10').json.error, /It overflows int64/, 'step 1e10 s: past int64 ns');
  is(get('/api/v1/query_range?query=1&start=0&end=10&step=9e9').json.status, 'success', 'step 9e9 s: within int64 ns, one step');
  for (const [st, en] of [['-1e300', '1e300'], ['-9e15', '9e15'], ['-9.3e18', '9.3e18']])
    is(get(`/api/v1/query_range?query=1&start=${st}&end=${en}&step=1e9`).json.error,
      'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)', `start ${st}, end ${en}: too many steps (no wrap)`);
  for (const t of ['1e300', '-1e300', '9.3e15'])
    is(q('1', `&time=${t}`).json.status, 'success', `time=${t}: an answer (the time taken at openwit's bound)`);
  is(q('rate(c_total[5m])', '&time=-1e300').json.data.result, [], 'rate at time=-1e300: nothing, no overflow');
  like(q('1', '&time=NaN').json.error, /cannot parse "NaN" to a valid timestamp/, 'time=NaN: refused');
  const all = get(`/api/v1/series?match[]=c_total&start=-292273086-05-16T16:47:06Z&end=292277025-08-18T07:12:54.999999999Z`);
  is([all.json.status, all.json.data && all.json.data.length], ['success', 2], 'series between Prometheus\' minTime and maxTime (what clients send for all time): both c_total series');
  is(q('rate(c_total[292y])').json.status, 'success', 'a range of 292y (within int64 ns, as Prometheus)');
  like(q('rate(c_total[293y])').json.error, /bad number or duration syntax/, '293y: past int64 ns, a parse error');
  is(get('/api/v1/nothing').code, 404, 'unknown endpoint: 404');
  like(q('sum by (route) (c_total / on() group_left c_total)').json.error, /many-to-many|duplicate series/, 'many-to-many matching: execution error');
  // remote_write: bad snappy, bad protobuf, no __name__
  const w = (body, args = []) => curl(`${api}/api/v1/write`, ['-X', 'POST', '-H', 'Content-Encoding: snappy', '-H', 'Content-Type: application/x-protobuf', '--data-binary', `@${body}`, ...args]);
  const tmp = path.join(s.dir, 'body');
  fs.writeFileSync(tmp, Buffer.from('this is not snappy at all'));
  const bs = w(tmp);
  is(bs.code, 400, 'remote_write: bad snappy is 400 (Prometheus drops the batch)');
  like(bs.text, /snappy/, 'and says so');
  fs.writeFileSync(tmp, Buffer.from(snappy.compress(Buffer.from([0x0a, 0xff, 0xff, 0x01, 0x00]))));
  is(w(tmp).code, 400, 'remote_write: bad protobuf (a length past the end) is 400');
  const root_ = protobuf.Root.fromJSON({ nested: { WR: { fields: { timeseries: { rule: 'repeated', type: 'TS', id: 1 } } },
    TS: { fields: { labels: { rule: 'repeated', type: 'L', id: 1 }, samples: { rule: 'repeated', type: 'S', id: 2 } } },
    L: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
    S: { fields: { value: { type: 'double', id: 1 }, timestamp: { type: 'int64', id: 2 } } } } });
  const WR = root_.lookupType('WR');
  const wr = (ts) => Buffer.from(snappy.compress(Buffer.from(WR.encode(WR.fromObject({ timeseries: ts })).finish())));
  fs.writeFileSync(tmp, wr([{ labels: [{ name: 'job', value: 'x' }], samples: [{ value: 1, timestamp: Date.now() }] }]));
  is(w(tmp).code, 400, 'remote_write: a series without __name__ is 400');
  fs.writeFileSync(tmp, wr([{ labels: [{ name: '__name__', value: 'rw_gauge' }, { name: 'job', value: 'rw' }], samples: [{ value: 42.5, timestamp: Date.now() - 1000 }] }]));
  is(w(tmp).code, 204, 'remote_write: a good request is 204 once durable');
  // a long label on every sample: 20000 samples x 256 KB would convert to 5 GB;
  // the conversion stops at the limit (64 MiB) with 413, and the server goes on
  fs.writeFileSync(tmp, wr([{ labels: [{ name: '__name__', value: 'wide' }, { name: 'pad', value: 'x'.repeat(256 << 10) }],
    samples: Array.from({ length: 20000 }, (_, i) => ({ value: i, timestamp: Date.now() - 60000 + i })) }]));
  const wide = w(tmp);
  is(wide.code, 413, 'remote_write: a request that converts past the limit is 413');
  like(wide.text, /more than 67108864 bytes/, 'and says so');
  // matchers are RE2's, as Prometheus reads them; a pattern that would take
  // regcomp gigabytes is refused
  const re2 = q('c_total{route=~"/r\\\\d"}'); // PromQL "/r\\d": the pattern /r\d
  is(re2.json.data && re2.json.data.result.length, 2, 'a matcher with \\d (RE2) selects both routes', re2.json);
  const badre = q('c_total{route=~"(a{2000}){2000}"}');
  is([badre.code, badre.json.errorType], [400, 'bad_data'], 'a count over 1000 (4M states for regcomp): bad_data');
  like(badre.json.error, /invalid regular expression/, 'its error names the regular expression');
  // a query reads more samples than query.max_rows (a result's bound, not
  // an input's): 300 samples of one series under query.max_rows 50
  {
    const t = await start({ tag: 'prom-rows', config: { 'query.max_rows': 50 } });
    const body = path.join(t.dir, 'many');
    const now = Date.now();
    fs.writeFileSync(body, wr([{ labels: [{ name: '__name__', value: 'many' }, { name: 'job', value: 'rw' }],
      samples: Array.from({ length: 300 }, (_, i) => ({ value: i, timestamp: now - (300 - i) * 500 })) }]));
    is(curl(`${t.control}/prometheus/api/v1/write`, ['-X', 'POST', '-H', 'Content-Encoding: snappy', '--data-binary', `@${body}`]).code, 204, 'remote_write of 300 samples');
    const r = curlJSON(`${t.control}/prometheus/api/v1/query?query=${encodeURIComponent('count_over_time(many[5m])')}&time=${now / 1000}`);
    is([r.code, r.json && r.json.data && r.json.data.result.map((x) => x.value[1])], [200, ['300']],
      'count_over_time reads all 300 samples under query.max_rows 50');
    await t.stop();
  }
  is(q('rw_gauge{job="rw"}').json.data.result[0].value[1], '42.5', 'and its sample is read at once (read-your-writes)');
  is(curl(`${api}/api/v1/write`).code, 405, 'remote_write: GET is 405');
}

// ---- auth and tenants ----
{
  const tok = (scopes) => spawnSync(bin, ['token', 'acme', scopes], { encoding: 'utf8' }).stdout.split('\n');
  const [readtok, readline] = tok('read'), [writetok, writeline] = tok('write');
  const t = await start({ tag: 'prom-auth', config: { 'auth.tokens': JSON.stringify([readline, writeline]) } });
  const a = `${t.control}/prometheus`;
  const body = path.join(t.dir, 'wr');
  is(curl(`${a}/api/v1/query?query=1`).code, 401, 'auth on: no token is 401');
  is(curl(`${a}/api/v1/query?query=1`, ['-H', `Authorization: Bearer ${writetok}`]).code, 403, 'a write token cannot query: 403');
  is(curlJSON(`${a}/api/v1/query?query=1`, ['-H', `Authorization: Bearer ${readtok}`]).json.data.result[1], '1', 'a read token queries');
  fs.writeFileSync(body, Buffer.from(snappy.compress(Buffer.from([]))));
  const wargs = ['-X', 'POST', '-H', 'Content-Encoding: snappy', '--data-binary', `@${body}`];
  is(curl(`${a}/api/v1/write`, [...wargs, '-H', `Authorization: Bearer ${readtok}`]).code, 403, 'remote_write with a read token: 403');
  is(curl(`${a}/api/v1/write`, wargs).code, 401, 'remote_write without a token: 401');
  is(curl(`${a}/api/v1/write`, [...wargs, '-H', `Authorization: Bearer ${writetok}`]).code, 204, 'remote_write with a write token: 204');
  is(curl(`${a}/api/v1/query?query=1`, ['-H', `Authorization: Bearer ${readtok}`, '-H', 'X-Scope-OrgID: other']).code, 403, 'a tenant\'s token asking another tenant: 403');
  // tenants: the same metric name in two tenants stays apart
  const other = curlJSON(`${api}/api/v1/query?query=sum(c_total)`, ['-H', 'X-Scope-OrgID: other']);
  is(other.json.data.result, [], 'another tenant sees none of the default tenant\'s series');
  is(curl(`${api}/api/v1/query?query=1`, ['-H', 'X-Scope-OrgID: ../x']).code, 400, 'an invalid tenant: 400');
}

// ---- conf/grafana/datasources.yaml ----
{
  const ds = fs.readFileSync(path.join(root, 'conf/grafana/datasources.yaml'), 'utf8');
  like(ds, /apiVersion: 1/, 'datasources.yaml: Grafana provisioning, apiVersion 1');
  const m = ds.match(/uid: openwit-prometheus[\s\S]*?url: (\S+)/) || ds.match(/url: (\S+)[\s\S]*?uid: openwit-prometheus/);
  ok(m, 'datasources.yaml has the Prometheus data source with uid openwit-prometheus');
  const url = m ? m[1].replace(/^['"]|['"]$/g, '') : '';
  is(url, 'http://127.0.0.1:8083/prometheus', 'its URL is the control port\'s /prometheus');
  // the same request at the same path on this test's control port
  const r = curlJSON(url.replace('http://127.0.0.1:8083', s.control) + '/api/v1/query', ['-X', 'POST', '-H', 'Content-Type: application/x-www-form-urlencoded', '--data-binary', 'query=1%2B1&time=4']);
  is(r.json && r.json.data, { resultType: 'scalar', result: [4, '2'] }, 'that URL answers Grafana\'s health check');
}
note(`log: ${s.log().split('\n').filter((l) => /prom/.test(l)).slice(0, 5).join(' | ')}`);
done();
})();

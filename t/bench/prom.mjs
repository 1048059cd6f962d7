// make bench-prom (and make bench's metrics part): the same Prometheus
// remote_write batches to openwit (/prometheus/api/v1/write on its control
// port), to Debian's Prometheus 2.42 (--web.enable-remote-write-receiver)
// and to Debian's VictoriaMetrics, each started here on loopback with a
// fresh data directory; then each answers the same dashboard PromQL over
// the whole span, as a range query of ~240 steps: rate by job,
// histogram_quantile by route, topk.
//
// The data (a fixed seed): 20 targets (4 jobs x 5 instances), each with a
// counter http_requests_total{route, code}, a histogram
// http_request_duration_seconds (11 buckets by route, _sum, _count) and a
// gauge: 1,520 series, scraped every 15 s, the span ending now. Batches
// of 2,000 samples (max_samples_per_send of Prometheus after 2.42, whose
// own is 500), snappy protobuf,
// the series in 4 shards sent in parallel, each in time order, as
// Prometheus' queue manager sends them (in step: a batch of each at a time).
//
// Reported per server: ingest rate (samples/s, wall time until the last
// batch is answered), bytes on disk per sample (openwit: its Parquet parts
// once flushed, without the WAL; Prometheus: its TSDB directory, WAL and
// head chunks, which is what it holds for this span; VictoriaMetrics: its
// data directory after /internal/force_flush), and each query's time,
// cold (the first run right after a restart of the server on its data:
// nothing a query kept, openwit's series cache empty) and warm (the
// median of BENCH_RUNS (3) runs after it), with the server's CPU time for
// it (/proc, in 10 ms ticks: on a loaded machine the wall time says more of
// the machine than of the server), with a check that openwit's answers
// are Prometheus'.
//
// openwit runs with query.timeout_ms 120000 and query.max_memory_bytes
// 1 GiB (Prometheus' --query.timeout=2m; at 5M samples the histogram
// query reads 3.6M points, past the 256 MiB default), and query.nice 0:
// Prometheus and VictoriaMetrics answer at the default niceness too (on
// a busy machine openwit's default 10 leaves its queries the scraps).
// Its series cache (prom.cache_bytes) is the default 256 MiB, its result
// cache (prom.result_cache_bytes) 64 MiB; "openwit-nocache" is openwit
// with prom.result_cache_bytes 0, beside it.
//
// Warm is the same request again: for openwit (and VictoriaMetrics) an
// answer from the result cache. "+step" is the span moved by one step, as
// a dashboard's next refresh: the cached steps and one evaluated.
// VictoriaMetrics saves its rollup result cache in its data directory
// (cache/rollupResult, at a graceful stop: the SIGTERM of the restart) and
// loads it at its start, so its "cold" run after the restart is partly
// warm (all but the newest minutes of the span, which it never caches);
// openwit's and Prometheus' cold runs start from nothing a query kept.
//
// Scale: BENCH_PROM_SAMPLES (500000; 5000000 for the 5M run).
// BENCH_PROM_SERVERS picks some of openwit,prometheus,victoriametrics;
// BENCH_PROM_HOLD=N keeps each up N seconds after its queries (a profiler).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { freePort, sleep } = await import(path.join(root, 't/lib/harness.mjs'));
const { remoteWriteBody } = await import(path.join(root, 't/lib/remotewrite.mjs'));

const SAMPLES = Number(process.env.BENCH_PROM_SAMPLES || 500000);
const RUNS = Number(process.env.BENCH_RUNS || 3);
const BATCH = 2000, INFLIGHT = 4, STEP_S = 15;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openwit-bench-prom-'));

// ---- the series ----
let seed = 42;
const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
const LES = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '+Inf'];
const series = []; // {labels, kind, state}
for (let j = 0; j < 4; j++) for (let i = 0; i < 5; i++) {
  const base = [['job', `job${j}`], ['instance', `host${j}-${i}:9100`]];
  for (let r = 0; r < 5; r++) {
    for (const code of ['200', '500'])
      series.push({ labels: [['__name__', 'http_requests_total'], ...base, ['route', `/r${r}`], ['code', code]], kind: 'counter', rate: code === '200' ? 10 + 20 * rnd() : rnd(), v: 0 });
    const h = { count: 0, sum: 0, buckets: LES.map(() => 0) };
    for (let b = 0; b < LES.length; b++)
      series.push({ labels: [['__name__', 'http_request_duration_seconds_bucket'], ...base, ['route', `/r${r}`], ['le', LES[b]]], kind: 'bucket', h, b });
    series.push({ labels: [['__name__', 'http_request_duration_seconds_sum'], ...base, ['route', `/r${r}`]], kind: 'sum', h });
    series.push({ labels: [['__name__', 'http_request_duration_seconds_count'], ...base, ['route', `/r${r}`]], kind: 'count', h });
  }
  series.push({ labels: [['__name__', 'node_memory_free_bytes'], ...base], kind: 'gauge' });
}
const steps = Math.ceil(SAMPLES / series.length);
const end = Math.floor(Date.now() / 1000 / STEP_S) * STEP_S * 1000 - 60000;
const begin = end - (steps - 1) * STEP_S * 1000;

// The batches: the series in INFLIGHT shards (by their index), as
// Prometheus shards its queue; each shard's samples in time order, every
// series of the shard at a step, then the next step.
function* batches(shard) {
  let ts = [], n = 0;
  const mine = series.filter((s, i) => i % INFLIGHT === shard);
  for (let k = 0; k < steps; k++) {
    const t = begin + k * STEP_S * 1000;
    for (const s of mine) {
      let v;
      if (s.kind === 'counter') v = (s.v += Math.round(s.rate * STEP_S * (0.5 + rnd())));
      else if (s.kind === 'bucket') v = s.h.at[k].buckets[s.b];
      else if (s.kind === 'sum') v = s.h.at[k].sum;
      else if (s.kind === 'count') v = s.h.at[k].count;
      else v = Math.round(1e9 + 1e8 * rnd());
      ts.push({ labels: s.labels.map(([name, value]) => ({ name, value })), samples: [{ value: v, timestamp: t }] });
      if (++n === BATCH) { yield ts; ts = []; n = 0; }
    }
  }
  if (ts.length) yield ts;
}
// each histogram's state at every step, before the shards split its series
for (const h of new Set(series.filter((s) => s.h).map((s) => s.h))) {
  h.at = [];
  for (let k = 0; k < steps; k++) {
    const obs = Math.floor(5 + 20 * rnd());
    for (let o = 0; o < obs; o++) {
      const x = Math.exp(-5 + 5 * rnd());
      h.count++; h.sum += x;
      for (let b = 0; b < LES.length; b++) if (b === LES.length - 1 || x <= Number(LES[b])) h.buckets[b]++;
    }
    h.at.push({ count: h.count, sum: h.sum, buckets: [...h.buckets] });
  }
}
const shards = [];
for (let k = 0; k < INFLIGHT; k++) {
  shards.push([]);
  for (const ts of batches(k)) shards[k].push(remoteWriteBody(ts));
}
const bodies = shards.flat();
const total = steps * series.length;
console.log(`# ${total} samples, ${series.length} series, ${steps} steps of ${STEP_S} s, ${bodies.length} batches`);

// ---- the servers ----
function post(port, p, body, headers) {
  return new Promise((resolve, reject) => {
    const r = http.request({ host: '127.0.0.1', port, path: p, method: 'POST', agent, headers: { 'Content-Length': body.length, ...headers } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ code: res.statusCode, text: Buffer.concat(chunks).toString() }));
    });
    r.on('error', reject);
    r.end(body);
  });
}
const agent = new http.Agent({ keepAlive: true, maxSockets: INFLIGHT });
async function until(port, p) {
  for (let i = 0; i < 300; i++) {
    try { const r = await new Promise((res, rej) => http.get({ host: '127.0.0.1', port, path: p }, (x) => { x.resume(); res(x.statusCode); }).on('error', rej)); if (r === 200) return; } catch {}
    await sleep(100);
  }
  throw new Error(`port ${port} not ready`);
}
function du(p) {
  const r = spawnSync('du', ['-sb', p], { encoding: 'utf8' });
  return Number(r.stdout.split(/\s/)[0]);
}
function vmhwm(pid) {
  try { return Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmHWM:\s+(\d+)/)[1]) * 1024; } catch { return 0; }
}

async function startServer(name) {
  const port = await freePort(), d = path.join(dir, name);
  fs.mkdirSync(d, { recursive: true });
  let proc, write, queryBase, bytes, launch;
  if (name.startsWith('openwit')) {
    const conf = path.join(d, 'openwit.yaml');
    fs.writeFileSync(conf, [`storage.data_dir: "${d}/data"`, `control.port: ${port}`, `ingestion.http.otlp_port: ${await freePort()}`,
      `ingestion.http.port: ${await freePort()}`, 'ingestion.grpc.port: 0', 'storage.local_retention.retention_days: 0',
      'storage.disk.low_watermark_percent: 0', 'storage.disk.critical_watermark_percent: 0', 'query.timeout_ms: 120000',
      'query.max_memory_bytes: 1073741824', 'query.nice: 0',
      `prom.result_cache_bytes: ${name === 'openwit-nocache' ? 0 : 67108864}`].join('\n') + '\n');
    launch = async () => {
      const p = spawn(path.join(root, 'openwit'), ['-c', conf], { stdio: 'ignore' });
      await until(port, '/ready');
      return p;
    };
    write = '/prometheus/api/v1/write';
    queryBase = '/prometheus/api/v1';
    bytes = async () => {
      // flushed: every buffered row in a part (storage.buffer.flush_interval_ms)
      await sleep(12000);
      return du(path.join(d, 'data/parquet'));
    };
  } else if (name === 'prometheus') {
    const conf = path.join(d, 'prometheus.yml');
    fs.writeFileSync(conf, 'global: {scrape_interval: 1h}\n');
    launch = async () => {
      const p = spawn('prometheus', [`--config.file=${conf}`, `--storage.tsdb.path=${d}/tsdb`, `--web.listen-address=127.0.0.1:${port}`,
        '--web.enable-remote-write-receiver', '--log.level=warn', '--query.timeout=2m'], { stdio: 'ignore' });
      await until(port, '/-/ready');
      return p;
    };
    write = '/api/v1/write';
    queryBase = '/api/v1';
    bytes = async () => du(path.join(d, 'tsdb'));
  } else {
    launch = async () => {
      const p = spawn('victoria-metrics', [`-storageDataPath=${d}/vm`, `-httpListenAddr=127.0.0.1:${port}`, '-retentionPeriod=10y',
        '-search.latencyOffset=0s', '-loggerLevel=ERROR'], { stdio: 'ignore' });
      await until(port, '/health');
      return p;
    };
    write = '/api/v1/write';
    queryBase = '/api/v1';
    bytes = async () => {
      await new Promise((res) => http.get({ host: '127.0.0.1', port, path: '/internal/force_flush' }, (x) => { x.resume(); x.on('end', res); }));
      await sleep(2000);
      return du(path.join(d, 'vm'));
    };
  }
  proc = await launch();
  const s = { name, port, proc, write, queryBase, bytes };
  // a restart on the same data: nothing openwit's or Prometheus' queries
  // kept survives it (VictoriaMetrics keeps its rollup result cache: see
  // the header)
  s.restart = async () => {
    await stop(s.proc);
    s.proc = await launch();
  };
  return s;
}
async function stop(proc) {
  proc.kill('SIGTERM');
  await new Promise((r) => { if (proc.exitCode !== null) r(); proc.on('exit', r); setTimeout(r, 30000); });
}

async function ingest(s) {
  const t0 = process.hrtime.bigint();
  let bad = 0, firstBad = '';
  async function send(b) {
    for (;;) {
      const r = await post(s.port, s.write, b, { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf', 'X-Prometheus-Remote-Write-Version': '0.1.0' });
      if (r.code === 429 || r.code === 503) { await sleep(50); continue; }
      if (r.code >= 300) { bad++; firstBad = firstBad || `${r.code} ${r.text.slice(0, 200)}`; }
      return;
    }
  }
  // the shards in step, a batch of each at a time: none falls behind the
  // others by more than a batch (Prometheus refuses samples more than an
  // hour older than its newest: "out of bounds")
  const rounds = Math.max(...shards.map((x) => x.length));
  for (let i = 0; i < rounds; i++)
    await Promise.all(shards.filter((x) => i < x.length).map((x) => send(x[i])));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (bad) console.log(`# ${s.name}: ${bad} batches refused, the first: ${firstBad}`);
  return { secs, rate: total / secs };
}

const step = Math.max(STEP_S, Math.round((end - begin) / 1000 / 240));
const QUERIES = {
  'rate by job': 'sum by (job) (rate(http_requests_total[5m]))',
  'histogram_quantile by route': 'histogram_quantile(0.9, sum by (le, route) (rate(http_request_duration_seconds_bucket[5m])))',
  'topk': 'topk(5, sum by (instance) (rate(http_requests_total[5m])))',
};
// the server's CPU time (user + system) in ms: a measure that a loaded
// machine disturbs less than the wall clock
function cpuMs(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 1000 / 100;
}
// The first run right after a restart (cold: nothing a query kept), then
// the median of RUNS more (warm).
async function query(s, q) {
  const form = Buffer.from(`query=${encodeURIComponent(q)}&start=${begin / 1000 + Math.min(300, (end - begin) / 2000)}&end=${end / 1000}&step=${step}`);
  const times = [], cpus = [];
  let answer;
  s.rss = Math.max(s.rss || 0, vmhwm(s.proc.pid)); // the peak of each process
  await s.restart();
  const t0 = process.hrtime.bigint(), c0 = cpuMs(s.proc.pid);
  await post(s.port, `${s.queryBase}/query_range`, form, { 'Content-Type': 'application/x-www-form-urlencoded' });
  const cold = Number(process.hrtime.bigint() - t0) / 1e6, coldCpu = cpuMs(s.proc.pid) - c0;
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint(), c0 = cpuMs(s.proc.pid);
    const r = await post(s.port, `${s.queryBase}/query_range`, form, { 'Content-Type': 'application/x-www-form-urlencoded' });
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    cpus.push(cpuMs(s.proc.pid) - c0);
    answer = JSON.parse(r.text);
  }
  times.sort((a, b) => a - b);
  cpus.sort((a, b) => a - b);
  // a dashboard's refresh one step later: the same span moved by a step
  const moved = Buffer.from(`query=${encodeURIComponent(q)}&start=${begin / 1000 + Math.min(300, (end - begin) / 2000) + step}&end=${end / 1000 + step}&step=${step}`);
  const t1 = process.hrtime.bigint(), c1 = cpuMs(s.proc.pid);
  await post(s.port, `${s.queryBase}/query_range`, moved, { 'Content-Type': 'application/x-www-form-urlencoded' });
  const next = Number(process.hrtime.bigint() - t1) / 1e6, nextCpu = cpuMs(s.proc.pid) - c1;
  return { cold, coldCpu, ms: times[Math.floor(times.length / 2)], cpu: cpus[Math.floor(cpus.length / 2)], next, nextCpu, answer };
}
// the answers, rounded, by series: to see that the servers agree
function digest(a) {
  if (!a || a.status !== 'success') return `error: ${a && a.error}`;
  return JSON.stringify(a.data.result.map((r) => [JSON.stringify(Object.entries(r.metric).sort()), r.values.length,
    r.values.reduce((x, v) => x + (Number.isFinite(Number(v[1])) ? Number(v[1]) : 0), 0).toPrecision(6)]).sort());
}

const results = [];
const SERVERS = (process.env.BENCH_PROM_SERVERS || 'openwit,openwit-nocache,prometheus,victoriametrics').split(',');
for (const name of SERVERS) {
  const s = await startServer(name);
  try {
    const ing = await ingest(s);
    const bytes = await s.bytes();
    const qs = {};
    for (const [k, q] of Object.entries(QUERIES)) qs[k] = await query(s, q);
    results.push({ name, ...ing, bytes, rss: Math.max(s.rss, vmhwm(s.proc.pid)), qs });
    if (process.env.BENCH_PROM_HOLD) { // for a profiler: the server stays up a while
      console.log(`# ${name} on port ${s.port}, pid ${s.proc.pid}, for ${process.env.BENCH_PROM_HOLD} s`);
      await sleep(Number(process.env.BENCH_PROM_HOLD) * 1000);
    }
  } finally {
    await stop(s.proc);
  }
}

const lines = [];
lines.push(`remote_write: ${total} samples (${series.length} series x ${steps} steps), ${bodies.length} batches of <= ${BATCH}, ${INFLIGHT} in flight`);
lines.push(`${'server'.padEnd(24)}${'samples/s'.padStart(12)}${'B/sample'.padStart(10)}${'peak RSS MB'.padStart(13)}` +
  Object.keys(QUERIES).map((k) => k.padStart(30)).join(''));
const shown = { cold: ['cold', 'coldCpu'], warm: ['ms', 'cpu'], '+step': ['next', 'nextCpu'] };
for (const r of results)
  for (const [row, [ms, cpu]] of Object.entries(shown))
    lines.push(`${(r.name + ' ' + row).padEnd(24)}${row !== 'cold' ? ''.padStart(35) : Math.round(r.rate).toString().padStart(12) +
      (r.bytes / total).toFixed(2).padStart(10) + (r.rss / 1048576).toFixed(0).padStart(13)}` +
      Object.keys(QUERIES).map((k) => `${r.qs[k][ms].toFixed(1)} ms (cpu ${r.qs[k][cpu].toFixed(0)})`.padStart(30)).join(''));
lines.push(`load average at the end: ${fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
// openwit's answers against Prometheus', whose PromQL it follows;
// VictoriaMetrics' MetricsQL rate() does not extrapolate, so its values
// differ by design
for (const k of ['openwit', 'prometheus', 'victoriametrics'].every((n) => SERVERS.includes(n)) ? Object.keys(QUERIES) : []) {
  const d = Object.fromEntries(results.map((r) => [r.name, digest(r.qs[k].answer)]));
  lines.push(`${k}: openwit ${d.openwit === d.prometheus ? 'answers as Prometheus does' : 'DIFFERS from Prometheus: ' + d.openwit.slice(0, 200) + ' | ' + d.prometheus.slice(0, 200)}` +
    `; VictoriaMetrics ${d.victoriametrics === d.prometheus ? 'too' : 'differs (MetricsQL)'}` +
    (d['openwit-nocache'] ? `; openwit without its result cache ${d['openwit-nocache'] === d.openwit ? 'the same' : 'DIFFERS'}` : ''));
}
const out = lines.join('\n');
console.log(out);
fs.mkdirSync(path.join(root, 'build/bench'), { recursive: true });
fs.writeFileSync(path.join(root, `build/bench/prom-${SAMPLES}.txt`), out + '\n');
fs.rmSync(dir, { recursive: true, force: true });
process.exit(0);

// make bench: openwit beside ClickHouse and DuckDB on the same records, in
// one run, printed as one table and written to build/bench/results.txt
// (and results.json).
//
// 1. t/bench/loadgen gen makes the records from a fixed seed: spans, log
//    records and metric data points as OTLP protobuf requests of ~500
//    records, and the same records as JSON lines with openwit's columns.
// 4. (first, for 2b) DuckDB (@duckdb/node-api): loads the JSON lines and
//    writes its own zstd Parquet, as loaded and sorted by openwit's sort
//    key (in a child process, whose peak RSS is reported).
// 2. openwit (a fresh data directory, flushes every second): the requests
//    over OTLP/HTTP protobuf on CONNS keep-alive connections, one signal
//    after the other; 2b. once every record is stored, the query corpus
//    "as flushed" (t/bench/corpus.mjs: on the parts as flushed, no forced
//    merge; openwit's HTTP round trip and DuckDB in process with 2 threads
//    over its sorted Parquet, best of 3 each, the ratio per query and its
//    geometric mean); then the requests again over OTLP/gRPC to a second
//    tenant.
//    Acknowledged records/s and acknowledgement latency from loadgen,
//    whose senders retry a 503/429 after its Retry-After (UNAVAILABLE and
//    RESOURCE_EXHAUSTED after their RetryInfo delay), and the requests refused at first:
//    what a sender that does not retry loses. Bytes held a buffered record
//    (openwit_buffered_bytes / openwit_buffered_rows), sampled every
//    100 ms while a signal is sent. Peak RSS is the server's VmHWM. Once every batch is stored, the server is
//    restarted with a janitor that merges at once, so that each signal is
//    one stable part (as after an hour of running); bytes on disk are the
//    catalog's. The stored rows are checked against the rows sent (DuckDB,
//    a hash over every column). The queries go to its HTTP API.
// 3. ClickHouse (clickhouse-server from Debian, 18.16): started by this
//    script on loopback with its own config and data directory, MergeTree
//    tables with openwit's columns and sort order (t/bench/schema.mjs),
//    zstd for every part (the server config: 18.16 has no per-column
//    CODEC). The same batches as JSONEachRow over its HTTP interface on
//    the same number of connections (loadgen send -M clickhouse). It
//    answers an INSERT without an fsync; openwit fsyncs before it answers.
//    Bytes on disk after OPTIMIZE TABLE ... FINAL (one part a partition).
// 4b. DuckDB runs the six queries over openwit's Parquet files (the
//    catalog's list).
// 4c. The Loki, Tempo and Jaeger APIs (a Tempo trace by id, a Jaeger search
//    by service, a Loki query_range with a line filter) as Grafana asks
//    them, beside the same questions in SQL (openwit, ClickHouse, DuckDB).
// 5. The h2load runs of t/bench/ingest.sh, as extra lines.
// 6. Contract 7 (a query never delays an acknowledgement): openwit's
//    acknowledgement latency over OTLP/HTTP, the spans' requests again
//    (loadgen send, to tenants of their own), once idle and once while
//    QUERY_CLIENTS clients (query.max_concurrent_per_tenant's default, 8: one tenant at its cap) loop the
//    heavy canonical queries (p99 by operation, the log search) on
//    /api/search, retrying a 429 after 20 ms: both p99s and their ratio
//    (the target: within 2x).
// 7. (after the six queries) the web UI's first load, t/bench/ui.mjs:
//    chromium opening / on the bench's tenant, the load event (the goal:
//    under 200 ms) and the Services table drawn.
//
// Scale: BENCH_SCALE=smoke (50k records a signal, under 2 minutes),
// default (500k, under 10 minutes), or Nx (N times default, e.g. 10x).
// Knobs: BENCH_CONNS (4), BENCH_RECORDS (records a request, 500),
// BENCH_GRPC_CONNS (2), BENCH_GRPC_STREAMS (4), BENCH_RUNS (query runs,
// median), BENCH_H2LOAD=0 skips step 5, BENCH_QUERY_CLIENTS (8, step 6),
// BENCH_ACK_RUNS (3 pairs of step 6's runs, idle and under queries),
// BENCH_CORPUS_RUNS (3: the best of as many runs in step 2b; 0 skips it),
// BENCH_OW_CONFIG (a JSON object of openwit settings, e.g. '{"query.nice":19}'),
// BENCH_SPANS/BENCH_LOGS/BENCH_POINTS (a signal's count, instead of the
// scale's), BENCH_OUT (build/bench), KEEP=1 keeps the temporary directory.
// make bench-search runs it with many log records and few of the others:
// the token searches at a larger scale (10M by default).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { start, sql, duck, sleep, freePort, root } from '../lib/harness.mjs';
import { tables, signalOf, sortKey, clickhouseDDL, duckReadJSON, duckTyped } from './schema.mjs';
import { runCorpus, corpusLines } from './corpus.mjs';
import { uiFirstLoad } from './ui.mjs';

const SIGNALS = ['traces', 'logs', 'metrics'];
const TABLE = { traces: 'spans', logs: 'logs', metrics: 'metrics' };
const UNIT = { traces: 'span', logs: 'log record', metrics: 'point' };
const loadgen = path.join(root, 't/bench/loadgen');

// ---- the child: DuckDB loads the rows and writes its own Parquet ----
if (process.argv[2] === 'duckdb-load') {
  const [dir, out] = process.argv.slice(3);
  const res = {};
  for (const t of Object.keys(tables)) {
    const src = `SELECT ${duckTyped(t)} FROM ${duckReadJSON(t, path.join(dir, `${t}.jsonl`))}`;
    let t0 = process.hrtime.bigint();
    await duck(`COPY (${src}) TO '${out}/${t}.parquet' (FORMAT parquet, COMPRESSION zstd)`);
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    t0 = process.hrtime.bigint();
    await duck(`COPY (${src} ORDER BY ${sortKey[t].join(', ')}) TO '${out}/${t}-sorted.parquet' (FORMAT parquet, COMPRESSION zstd)`);
    const sortedSecs = Number(process.hrtime.bigint() - t0) / 1e9;
    res[t] = { seconds: secs, bytes: fs.statSync(`${out}/${t}.parquet`).size, sortedSeconds: sortedSecs,
      sortedBytes: fs.statSync(`${out}/${t}-sorted.parquet`).size };
  }
  res.maxRssKB = process.resourceUsage().maxRSS;
  console.log(JSON.stringify(res));
  process.exit(0);
}

// ---- settings ----
const T_START = Date.now();
const say = (s) => process.stderr.write(`bench: ${s} (${((Date.now() - T_START) / 1000).toFixed(1)} s)\n`);
const scaleName = process.env.BENCH_SCALE || 'default';
const BASE = { spans: 500000, logs: 500000, points: 500000, runs: 5, h2: [2000, 50000] };
let scale;
if (scaleName === 'smoke') scale = { spans: 50000, logs: 50000, points: 50000, runs: 3, h2: [500, 5000] };
else if (scaleName === 'default') scale = BASE;
else if (/^\d+(\.\d+)?x$/.test(scaleName)) {
  const k = parseFloat(scaleName);
  scale = { spans: Math.round(BASE.spans * k), logs: Math.round(BASE.logs * k), points: Math.round(BASE.points * k), runs: BASE.runs, h2: BASE.h2 };
} else throw new Error(`BENCH_SCALE=${scaleName}: smoke, default or Nx (e.g. 10x)`);
// BENCH_SPANS, BENCH_LOGS, BENCH_POINTS: one signal's count instead of the
// scale's (make bench-search: many log records, few of the others)
for (const [k, env] of [['spans', 'BENCH_SPANS'], ['logs', 'BENCH_LOGS'], ['points', 'BENCH_POINTS']])
  if (process.env[env]) scale[k] = Number(process.env[env]);
const CONNS = Number(process.env.BENCH_CONNS || 4);
const RECORDS = Number(process.env.BENCH_RECORDS || 500);
const GRPC_CONNS = Number(process.env.BENCH_GRPC_CONNS || 2);
const GRPC_STREAMS = Number(process.env.BENCH_GRPC_STREAMS || 4);
const RUNS = Number(process.env.BENCH_RUNS || scale.runs);
const QUERY_CLIENTS = Number(process.env.BENCH_QUERY_CLIENTS || 8);
const ACK_RUNS = Number(process.env.BENCH_ACK_RUNS || 3);
const CORPUS_RUNS = Number(process.env.BENCH_CORPUS_RUNS ?? 3);
const TENANT = 'bench', TENANT_GRPC = 'bench-grpc';
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'openwit-bench-'));
const outDir = path.resolve(root, process.env.BENCH_OUT || 'build/bench');
fs.mkdirSync(outDir, { recursive: true });
const notes = [];
const children = new Set();
process.on('exit', () => {
  for (const c of children) try { c.kill('SIGKILL'); } catch {}
  if (!process.env.KEEP) fs.rmSync(work, { recursive: true, force: true });
});

const run = (file, args, opts = {}) => {
  const r = spawnSync(file, args, { maxBuffer: 1 << 26, ...opts });
  if (r.status !== 0 && !opts.allowFail) throw new Error(`${file} ${args.join(' ')}: exit ${r.status}\n${r.stderr}${r.stdout}`);
  return r;
};
// Peak RSS of a phase: VmHWM, reset for the next phase by writing 5 to
// clear_refs (Linux 4.0 and later; NaN where that fails). The reset sets
// it to the RSS of the moment, so a phase's peak is at least what the
// process held when the phase began (kept in rss.start).
const vm = (pid, key) => {
  const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'));
  return m ? Number(m[1]) * 1024 : NaN;
};
const rss = { ow: {}, ch: {}, duck: {}, start: {} };
const peakRSS = (pid, next) => {
  const v = vm(pid, 'VmHWM');
  try { fs.writeFileSync(`/proc/${pid}/clear_refs`, '5'); } catch { return NaN; }
  if (next) rss.start[next] = vm(pid, 'VmRSS');
  return v;
};
const median = (a) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];
// 64-bit integers (times in ns) as strings, so that no digit is lost to a double
const bigJSON = (t) => JSON.parse(t.replace(/([:,[]\s*)(-?\d{16,})(?=\s*[,\]}])/g, '$1"$2"'));
const request = (port, method, p, body, headers = {}) => new Promise((resolve, reject) => {
  const h = { ...headers };
  if (body !== undefined) h['Content-Length'] = Buffer.byteLength(body);
  const req = http.request({ host: '127.0.0.1', port, path: p, method, agent: false, headers: h }, (res) => {
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => resolve({ code: res.statusCode, text: Buffer.concat(chunks).toString() }));
    res.on('error', reject);
  });
  req.on('error', reject);
  req.end(body);
});

// ---- 1. the records ----
const genDir = path.join(work, 'gen');
const gen = JSON.parse(run(loadgen, ['gen', '-o', genDir, '-n', scale.spans, '-l', scale.logs, '-m', scale.points, '-r', RECORDS].map(String)).stdout);
say(`generated ${gen.traces.records} spans, ${gen.logs.records} log records, ${gen.metrics.records} points in ${gen.traces.requests + gen.logs.requests + gen.metrics.requests} requests (${gen.seconds} s); ${gen.services} services, ${gen.pods} pods`);
const send = (args) => {
  const r = run(loadgen, ['send', ...args.map(String)], { allowFail: true });
  const j = JSON.parse(r.stdout.toString().trim().split('\n').pop());
  if (j.failed || j.acked_records !== j.records) notes.push(`loadgen ${args.join(' ')}: ${j.acked_records} of ${j.records} records acknowledged, ${j.failed} requests failed: ${j.error}`);
  return j;
};
// loadgen send as a child the event loop waits on, so that what this
// process does meanwhile (query clients, /metrics samples) goes on
const sendAsync = (args) => new Promise((resolve, reject) => {
  const c = spawn(loadgen, ['send', ...args.map(String)], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(c);
  let out = '', err = '';
  c.stdout.on('data', (d) => { out += d; });
  c.stderr.on('data', (d) => { err += d; });
  c.on('error', reject);
  c.on('exit', (code) => {
    children.delete(c);
    try { resolve(JSON.parse(out.trim().split('\n').pop())); } catch { reject(new Error(`loadgen send: exit ${code}\n${err}${out}`)); }
  });
});

// ---- 4. DuckDB loads the rows (first: the corpus mode needs its Parquet) ----
const duckDir = path.join(work, 'duckdb');
fs.mkdirSync(duckDir);
const dl = JSON.parse(run(process.execPath, [path.join(root, 't/bench/compare.mjs'), 'duckdb-load', genDir, duckDir]).stdout.toString().trim().split('\n').pop());
const duckVersion = (await duck('select version() v'))[0].v;
say(`DuckDB ${duckVersion} loaded the rows and wrote Parquet`);

// ---- 2. openwit ----
const owDir = path.join(work, 'openwit');
fs.mkdirSync(owDir);
const grpcPort = await freePort();
const owConfig = { 'storage.buffer.flush_interval_ms': 1000, 'ingestion.grpc.port': grpcPort, ...JSON.parse(process.env.BENCH_OW_CONFIG || '{}') };
let ow = await start({ dir: owDir, config: owConfig });
say(`openwit started (pid ${ow.proc.pid})`);
const db = path.join(ow.data, 'openwit.db');
// every acknowledged record in a committed part: the tracker's record
// counts reach the acknowledged ones and no batch waits for storage
const waitStored = async (want) => {
  for (let k = 0; ; k++) {
    const r = sql(db, 'select coalesce(sum(storage_pip = 0), 0) waiting, coalesce(sum(record_count), 0) recs from batch_tracker')[0];
    if (r.waiting === 0 && r.recs === want) return;
    if (k > 3000) throw new Error(`openwit: batches not stored after 300 s: ${JSON.stringify(r)}, want ${want} records`);
    await sleep(50);
  }
};
const partBytes = (kind) => Object.fromEntries(sql(db, `select signal, sum(bytes) bytes, sum(rows) rows, count(*) n from parts where tenant = '${TENANT}'${kind ? ` and kind = '${kind}'` : ''} group by 1`).map((r) => [r.signal, r]));
const total = gen.traces.records + gen.logs.records + gen.metrics.records;
const owIngest = {}, owGrpc = {};
let t0 = Date.now();
// bytes held a buffered record: openwit_buffered_bytes over
// openwit_buffered_rows on /metrics, sampled every 100 ms while a signal is
// sent (the median of the samples with 1000 rows or more buffered; the
// first ones may still hold the signal before)
const heldPerRecord = {};
const sampleHeld = (sig) => {
  let stop = false;
  const samples = [];
  const loop = (async () => {
    while (!stop) {
      const m = (await request(ow.ports.control, 'GET', '/metrics').catch(() => ({ text: '' }))).text;
      const b = Number((/^openwit_buffered_bytes (\d+)$/m.exec(m) || [])[1]), n = Number((/^openwit_buffered_rows (\d+)$/m.exec(m) || [])[1]);
      if (n >= 1000) samples.push(b / n);
      await sleep(100);
    }
    if (samples.length) heldPerRecord[sig] = median(samples);
  })();
  return async () => { stop = true; await loop; };
};
for (const sig of SIGNALS) {
  const stopSampling = sampleHeld(sig);
  owIngest[sig] = await sendAsync(['-k', sig, '-a', `127.0.0.1:${ow.ports.otlp}`, '-c', CONNS, '-T', TENANT, genDir]);
  await stopSampling();
  if (owIngest[sig].failed || owIngest[sig].acked_records !== owIngest[sig].records) notes.push(`loadgen ${sig}: ${owIngest[sig].acked_records} of ${owIngest[sig].records} records acknowledged, ${owIngest[sig].failed} requests failed: ${owIngest[sig].error}`);
  say(`openwit ${sig} over OTLP/HTTP: ${owIngest[sig].records_per_s.toFixed(0)} records/s acknowledged, ${owIngest[sig].refused_requests} of ${owIngest[sig].requests} requests refused at first (503/429), ${(heldPerRecord[sig] || 0).toFixed(1)} B held a buffered record`);
}
const owLastAck = Date.now();
await waitStored(total);
const owStored = { rate: total / ((Date.now() - t0) / 1000), lag: (Date.now() - owLastAck) / 1000 };
rss.ow.ingest = peakRSS(ow.proc.pid);
say(`openwit: stored ${(owStored.lag).toFixed(1)} s after the last acknowledgement; peak RSS ${(rss.ow.ingest / 1048576).toFixed(0)} MB`);

// ---- 2b. the corpus as flushed: every record stored, no forced merge ----
let corpusRes = null, corpusParts = null;
if (CORPUS_RUNS > 0) {
  corpusParts = partBytes();
  corpusRes = await runCorpus({ port: ow.ports.control, tenant: TENANT, traceId: gen.sample_trace_id, t0: gen.t0_ns, runs: CORPUS_RUNS, say,
    parquet: Object.fromEntries(Object.keys(tables).map((t) => [t, path.join(duckDir, `${t}-sorted.parquet`)])) });
  rss.ow.corpus = peakRSS(ow.proc.pid);
  say(`corpus: ${corpusRes.length} queries; peak RSS ${(rss.ow.corpus / 1048576).toFixed(0)} MB`);
}
t0 = Date.now();
for (const sig of SIGNALS) {
  owGrpc[sig] = send(['-k', sig, '-M', 'grpc', '-a', `127.0.0.1:${grpcPort}`, '-c', GRPC_CONNS, '-s', GRPC_STREAMS, '-T', TENANT_GRPC, genDir]);
  say(`openwit ${sig} over OTLP/gRPC: ${owGrpc[sig].records_per_s.toFixed(0)} records/s acknowledged`);
}
await waitStored(2 * total);
const owGrpcStored = { rate: total / ((Date.now() - t0) / 1000) };
rss.ow.grpc = peakRSS(ow.proc.pid);
const owActive = partBytes();
say('openwit: merging');
const errLines = (s) => s.log().split('\n').filter((l) => /\[(error|crit)\]/.test(l));
await ow.stop('SIGTERM');
const owErrors = errLines(ow);
ow = await start({ dir: owDir, ports: ow.ports, config: { ...owConfig, 'storage.file_rotation.file_duration_minutes': 0, 'storage.file_rotation.check_interval_ms': 100 } });
// the merges and the indexes take their time: 300 s, or a second per 10k
// records a tenant (at 5M log records two tenants' 10M rows, merged at
// zstd level 9 on 2 cores other work shares, can take longer than 300 s)
const waitS = Math.max(300, Math.round(total / 10000));
for (let k = 0; ; k++) {
  // every active part merged (a merge stops at storage.file_rotation.merge_memory_mb,
  // so a day may hold several stable parts) but a lone one, which the
  // janitor leaves (a (tenant, signal, day) of one flush: 50k spans sent
  // in less than a flush interval)
  const r = sql(db, "select count(*) n from (select 1 from parts where kind = 'active' group by tenant, signal, day having count(*) > 1)")[0];
  if (r.n === 0) break;
  if (k > waitS * 10) throw new Error(`openwit: parts not merged after ${waitS} s`);
  await sleep(100);
}
// and every part's full-text index built (modules/index), as a search finds
// it once the indexer has caught up
const idxNames = () => { try { return fs.readdirSync(path.join(ow.data, 'index')).sort().join(); } catch { return ''; } };
for (let k = 0; ; k++) {
  const want = sql(db, 'select part_id from parts').map((r) => `${r.part_id}.idx`).sort().join();
  if (idxNames() === want) break;
  if (k > waitS * 10) throw new Error(`openwit: parts not indexed after ${waitS} s`);
  await sleep(100);
}
const owStable = partBytes();
rss.ow.merge = peakRSS(ow.proc.pid, 'owQuery');
say('openwit: merged into stable parts');
const owFiles = (sig) => sql(db, `select path from parts where tenant = '${TENANT}' and signal = '${sig}'`).map((p) => `'${path.join(ow.data, p.path)}'`);
// DuckDB reads parts with shredded attributes (storage.parquet.shred_keys)
// through conf/duckdb/views.sql's macro, the others as they are
const owShredded = async (files) => files.length > 0 &&
  Number((await duck(`select count(*) n from parquet_schema([${files.join(', ')}]) where name like 'attributes.%'`))[0].n) > 0;
const owParquet = {}, owShred = {};
for (const sig of SIGNALS) {
  owShred[TABLE[sig]] = await owShredded(owFiles(sig));
  owParquet[TABLE[sig]] = owShred[TABLE[sig]] ? `openwit([${owFiles(sig).join(', ')}])` : `read_parquet([${owFiles(sig).join(', ')}])`;
}

// ---- 3. ClickHouse ----
const chBin = ['/usr/bin/clickhouse-server', '/usr/sbin/clickhouse-server'].find((f) => fs.existsSync(f)) || null;
let ch = null;
const chIngest = {}, chBytes = {};
let chVersion = '';
async function chQuery(q) {
  const r = await request(ch.port, 'POST', '/', q);
  if (r.code !== 200) throw new Error(`ClickHouse: ${q.slice(0, 200)}: ${r.code} ${r.text.slice(0, 500)}`);
  return r.text;
}
if (chBin) {
  const dir = path.join(work, 'clickhouse');
  fs.mkdirSync(dir);
  const port = await freePort(), tcp = await freePort();
  fs.writeFileSync(path.join(dir, 'config.xml'), `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${dir}/server.log</log><errorlog>${dir}/error.log</errorlog><console>0</console></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>${port}</http_port>
  <tcp_port>${tcp}</tcp_port>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path>
  <format_schema_path>${dir}/format_schemas/</format_schema_path>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>536870912</mark_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
  <!-- 18.16 has no per-column CODEC: every part is compressed with zstd -->
  <compression><case><method>zstd</method></case></compression>
</yandex>
`);
  fs.writeFileSync(path.join(dir, 'users.xml'), `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
`);
  const proc = spawn(chBin, [`--config-file=${dir}/config.xml`], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  let chOut = '';
  proc.stdout.on('data', (d) => { chOut += d; });
  proc.stderr.on('data', (d) => { chOut += d; });
  ch = { proc, port, dir };
  for (let k = 0; ; k++) {
    const r = await request(port, 'GET', '/ping').catch(() => null);
    if (r && r.code === 200) break;
    if (k > 300 || proc.exitCode !== null) throw new Error(`clickhouse-server did not start:\n${chOut}`);
    await sleep(100);
  }
  chVersion = (await chQuery('SELECT version()')).trim();
  say(`ClickHouse ${chVersion} started (pid ${proc.pid})`);
  for (const t of Object.keys(tables)) await chQuery(clickhouseDDL(t));
  for (const sig of SIGNALS) {
    chIngest[sig] = send(['-k', sig, '-M', 'clickhouse', '-a', `127.0.0.1:${port}`, '-c', CONNS,
      '-p', `/?query=${encodeURIComponent(`INSERT INTO ${TABLE[sig]} FORMAT JSONEachRow`)}`, genDir]);
    say(`ClickHouse ${TABLE[sig]}: ${chIngest[sig].records_per_s.toFixed(0)} rows/s`);
  }
  rss.ch.ingest = peakRSS(proc.pid);
  for (const t of Object.keys(tables)) {
    await chQuery(`OPTIMIZE TABLE ${t} FINAL`);
    const r = JSON.parse(await chQuery(`SELECT sum(bytes_on_disk) AS bytes, sum(rows) AS rows, count() AS parts FROM system.parts WHERE active AND database = 'default' AND table = '${t}' FORMAT JSON`)).data[0];
    chBytes[signalOf[t]] = { bytes: Number(r.bytes), rows: Number(r.rows), n: Number(r.parts) };
  }
  rss.ch.merge = peakRSS(proc.pid, 'chQuery');
  say('ClickHouse: tables optimized');
} else {
  notes.push('clickhouse-server not found: the ClickHouse column is empty (on Debian, make bench installs it)');
}

// openwit's stored rows are the rows sent: a hash over every column of
// openwit's Parquet (tenant bench) equals the same over DuckDB's; where
// the parts shred attributes, DuckDB's macro gives the shredded keys last
// (openwit's own reader gives the text as sent, t/18shred.t): attributes
// is then compared by its members, in both
const members = (c) => `list_sort(map_entries(CAST(${c} AS MAP(VARCHAR, JSON))))`;
for (const t of Object.keys(tables)) {
  const h = (src) => `select count(*)::VARCHAR n, sum(hash(${tables[t].map((c) => owShred[t] && c.name === 'attributes' ? members(c.name) : c.name).join(', ')}))::VARCHAR h from ${src}`;
  const [a] = await duck(h(owParquet[t]));
  const [b] = await duck(h(`read_parquet('${duckDir}/${t}.parquet')`));
  if (a.n !== b.n || a.h !== b.h) notes.push(`CHECK FAILED: openwit's ${t} (${a.n} rows) differ from the rows sent (${b.n} rows)`);
  else notes.push(`check: openwit stored exactly the ${t} rows sent (${a.n} rows, every column${owShred[t] ? '; attributes by its members' : ''})`);
}

// ---- the queries ----
const A = BigInt(gen.t0_ns) + 15n * 60n * 1000000000n, B = A + 30n * 60n * 1000000000n;
const tid = gen.sample_trace_id;
const Q = [
  { name: 'count by service, 30 min range',
    ow: `SELECT service_name, count(*) AS n FROM spans WHERE start_time >= ${A} AND start_time < ${B} GROUP BY 1 ORDER BY 1`,
    ch: `SELECT service_name, count() AS n FROM spans WHERE start_time >= ${A} AND start_time < ${B} GROUP BY service_name ORDER BY service_name`,
    duck: `SELECT service_name, count(*) AS n FROM ${owParquet.spans} WHERE start_time >= make_timestamp_ns(${A}) AND start_time < make_timestamp_ns(${B}) GROUP BY 1 ORDER BY 1`,
    key: (r) => [r.service_name, String(r.n)] },
  { name: 'p99 duration by operation',
    ow: 'SELECT name, p99(duration_ns) AS p99 FROM spans GROUP BY 1 ORDER BY 1',
    ch: 'SELECT name, quantileExact(0.99)(duration_ns) AS p99 FROM spans GROUP BY name ORDER BY name',
    duck: `SELECT name, quantile_disc(duration_ns, 0.99) AS p99 FROM ${owParquet.spans} GROUP BY 1 ORDER BY 1`,
    key: (r) => [r.name] },
  { name: 'trace by id',
    ow: `SELECT * FROM spans WHERE trace_id = '${tid}' ORDER BY start_time`,
    ch: `SELECT * FROM spans WHERE trace_id = '${tid}' ORDER BY start_time`,
    // hex(): DuckDB 1.5.6 misreads the bloom filter for = from_hex(...) (README)
    duck: `SELECT * REPLACE (lower(hex(trace_id)) AS trace_id, lower(hex(span_id)) AS span_id, lower(hex(parent_span_id)) AS parent_span_id) FROM ${owParquet.spans} WHERE hex(trace_id) = upper('${tid}') ORDER BY start_time`,
    key: (r) => [r.span_id, r.name] },
  { name: 'attribute filter (HTTP 500 by service)',
    ow: `SELECT service_name, count(*) AS n FROM spans WHERE attributes ->> '$."http.response.status_code".intValue' = '500' GROUP BY 1 ORDER BY 1`,
    ch: `SELECT service_name, count() AS n FROM spans WHERE visitParamExtractRaw(attributes, 'http.response.status_code') = '500' GROUP BY service_name ORDER BY service_name`,
    duck: `SELECT service_name, count(*) AS n FROM ${owParquet.spans} WHERE attributes ->> 'http.response.status_code' = '500' GROUP BY 1 ORDER BY 1`,
    key: (r) => [r.service_name, String(r.n)] },
  { name: "log search ('timeout', newest 100)",
    ow: "SELECT time, service_name, body FROM logs WHERE body LIKE '%timeout%' ORDER BY time DESC LIMIT 100",
    ch: "SELECT time, service_name, body FROM logs WHERE body LIKE '%timeout%' ORDER BY time DESC LIMIT 100",
    duck: `SELECT epoch_ns(time) AS time, service_name, body FROM ${owParquet.logs} WHERE body LIKE '%timeout%' ORDER BY time DESC LIMIT 100`,
    key: (r) => [String(r.time)] },
  { name: 'metric series (cpu util/min, 1 svc)',
    ow: "SELECT time_bucket_ns(time, 60000000000) AS minute, avg(value) AS v FROM metrics WHERE metric_name = 'process.cpu.utilization' AND service_name = 'checkout' GROUP BY 1 ORDER BY 1",
    ch: "SELECT intDiv(time, 60000000000) * 60000000000 AS minute, avg(value) AS v FROM metrics WHERE metric_name = 'process.cpu.utilization' AND service_name = 'checkout' GROUP BY minute ORDER BY minute",
    duck: `SELECT epoch_ns(time) // 60000000000 * 60000000000 AS minute, avg(value) AS v FROM ${owParquet.metrics} WHERE metric_name = 'process.cpu.utilization' AND service_name = 'checkout' GROUP BY 1 ORDER BY 1`,
    key: (r) => [String(r.minute), Number(r.v).toPrecision(9)] },
];
// a word found in few records: the first order id of the generated logs
const rareWord = (() => {
  const fd = fs.openSync(path.join(genDir, 'logs.jsonl'), 'r');
  const b = Buffer.alloc(1 << 20);
  const n = fs.readSync(fd, b, 0, b.length, 0);
  fs.closeSync(fd);
  return (b.toString('utf8', 0, n).match(/ORD-\d+/) || ['ORD-100000'])[0];
})();
// its number, a token of its own: every record that holds it, counted
const rareToken = rareWord.replace(/^ORD-/, '');
// token searches: openwit with its full-text index, and again scanned (a
// restart with index.enabled false, after the latency runs)
const tokenQ = [
  { name: "log token search (match 'timeout', newest 100)",
    ow: "SELECT time, service_name, body FROM logs WHERE match(body, 'timeout') ORDER BY time DESC LIMIT 100",
    // ClickHouse 18.16 has no hasToken(): its re2 match() on the same tokens
    ch: "SELECT time, service_name, body FROM logs WHERE match(lower(body), '(^|[^a-z0-9])timeout([^a-z0-9]|$)') ORDER BY time DESC LIMIT 100",
    duck: `SELECT epoch_ns(time) AS time, service_name, body FROM ${owParquet.logs} WHERE regexp_matches(lower(body), '(^|[^a-z0-9])timeout([^a-z0-9]|$)') ORDER BY time DESC LIMIT 100`,
    key: (r) => [String(r.time)] },
  { name: `log search, a rare word (LIKE '%${rareWord}%', newest 100)`,
    ow: `SELECT time, service_name, body FROM logs WHERE body LIKE '%${rareWord}%' ORDER BY time DESC LIMIT 100`,
    ch: `SELECT time, service_name, body FROM logs WHERE body LIKE '%${rareWord}%' ORDER BY time DESC LIMIT 100`,
    duck: `SELECT epoch_ns(time) AS time, service_name, body FROM ${owParquet.logs} WHERE body LIKE '%${rareWord}%' ORDER BY time DESC LIMIT 100`,
    key: (r) => [String(r.time)] },
  { name: `log count of a rare token (match '${rareToken}')`,
    ow: `SELECT count(*) AS n FROM logs WHERE match(body, '${rareToken}')`,
    ch: `SELECT count() AS n FROM logs WHERE match(lower(body), '(^|[^a-z0-9])${rareToken}([^a-z0-9]|$)')`,
    duck: `SELECT count(*) AS n FROM ${owParquet.logs} WHERE regexp_matches(lower(body), '(^|[^a-z0-9])${rareToken}([^a-z0-9]|$)')`,
    key: (r) => [String(r.n)] },
];
Q.push(...tokenQ);
const timed = async (fn) => { const t = process.hrtime.bigint(); const rows = await fn(); return { ms: Number(process.hrtime.bigint() - t) / 1e6, rows }; };
const owRun = async (q) => {
  const r = await request(ow.ports.control, 'POST', '/api/search', JSON.stringify({ query: q, limit: 100000 }), { 'X-Scope-OrgID': TENANT, 'Content-Type': 'application/json' });
  if (r.code !== 200) throw new Error(`openwit: ${q}: ${r.code} ${r.text.slice(0, 500)}`);
  const j = bigJSON(r.text);
  owEngine.set(q, j.engine);
  return j.result.rows;
};
const owEngine = new Map(); // the engine that answered each query
const chRun = async (q) => JSON.parse(await chQuery(`${q} FORMAT JSON`)).data;
const duckRun = (q) => duck(q);
const qres = [];
peakRSS(process.pid);
for (const q of Q) {
  const res = {};
  for (const [k, fn, text] of [['ow', owRun, q.ow], ['ch', ch ? chRun : null, q.ch], ['duck', duckRun, q.duck]]) {
    if (!fn) continue;
    const warm = await timed(() => fn(text));
    const ms = [];
    for (let i = 0; i < RUNS; i++) ms.push((await timed(() => fn(text))).ms);
    res[k] = { ms: median(ms), warm: warm.ms, rows: warm.rows };
  }
  const keyOf = (rows) => JSON.stringify(rows.map(q.key));
  for (const k of ['ch', 'duck']) {
    if (res[k] && keyOf(res[k].rows) !== keyOf(res.ow.rows)) notes.push(`CHECK FAILED: ${q.name}: ${k === 'ch' ? 'ClickHouse' : 'DuckDB'} answered ${res[k].rows.length} rows, openwit ${res.ow.rows.length}, or the rows differ`);
  }
  if (owEngine.get(q.ow) !== 'columnar') notes.push(`CHECK FAILED: ${q.name}: openwit answered on its ${owEngine.get(q.ow)} engine, not the columnar one`);
  qres.push({ q, res });
  say(`query ${q.name}: openwit ${res.ow.ms.toFixed(1)} ms${res.ch ? `, ClickHouse ${res.ch.ms.toFixed(1)} ms` : ''}, DuckDB ${res.duck.ms.toFixed(1)} ms (${res.ow.rows.length} rows)`);
}
notes.push(`queries: every one answered by openwit's columnar engine ("engine" in the answer; a CHECK FAILED note otherwise)`);

// ---- the Loki, Tempo and Jaeger APIs, beside the same questions in SQL ----
// openwit's API (as Grafana asks it) in the openwit column, openwit's own
// SQL for the same question in the note; ClickHouse and DuckDB run that
// SQL. The API's answer is checked against openwit's SQL.
const T0 = BigInt(gen.t0_ns), T1 = T0 + 86400n * 1000000000n;
const apiQ = [
  { name: 'Tempo: trace by id (protobuf)', path: `/tempo/api/traces/${tid}`, headers: { Accept: 'application/protobuf' },
    ow: Q[2].ow, ch: Q[2].ch, duck: Q[2].duck, count: (r, rows) => (r.text.length > 0 && rows.length > 0 ? rows.length : -1) },
  { name: 'Jaeger: search by service (20 traces)', path: `/jaeger/api/traces?service=checkout&limit=20&start=${T0 / 1000n}&end=${T1 / 1000n}`,
    ow: `SELECT * FROM spans WHERE trace_id IN (SELECT trace_id FROM spans WHERE service_name = 'checkout' AND start_time >= ${T0} AND start_time <= ${T1} GROUP BY trace_id ORDER BY max(start_time) DESC LIMIT 20) ORDER BY trace_id, start_time`,
    ch: `SELECT * FROM spans WHERE trace_id IN (SELECT trace_id FROM spans WHERE service_name = 'checkout' AND start_time >= ${T0} AND start_time <= ${T1} GROUP BY trace_id ORDER BY max(start_time) DESC LIMIT 20) ORDER BY trace_id, start_time`,
    duck: `SELECT * FROM ${owParquet.spans} WHERE trace_id IN (SELECT trace_id FROM ${owParquet.spans} WHERE service_name = 'checkout' AND start_time >= make_timestamp_ns(${T0}) AND start_time <= make_timestamp_ns(${T1}) GROUP BY trace_id ORDER BY max(start_time) DESC LIMIT 20) ORDER BY trace_id, start_time`,
    count: (r) => JSON.parse(r.text).data.reduce((a, t) => a + t.spans.length, 0) },
  { name: 'Loki: query_range |= "timeout" (newest 100)', path: `/loki/api/v1/query_range?${new URLSearchParams({ query: '{service_name="checkout"} |= "timeout"', start: `${T0}`, end: `${T1}`, limit: '100', direction: 'backward', step: '60000ms' })}`,
    ow: `SELECT time, body FROM logs WHERE service_name = 'checkout' AND body LIKE '%timeout%' AND time >= ${T0} AND time < ${T1} ORDER BY time DESC LIMIT 100`,
    ch: `SELECT time, body FROM logs WHERE service_name = 'checkout' AND body LIKE '%timeout%' AND time >= ${T0} AND time < ${T1} ORDER BY time DESC LIMIT 100`,
    duck: `SELECT epoch_ns(time) AS time, body FROM ${owParquet.logs} WHERE service_name = 'checkout' AND body LIKE '%timeout%' AND time >= make_timestamp_ns(${T0}) AND time < make_timestamp_ns(${T1}) ORDER BY time DESC LIMIT 100`,
    count: (r) => JSON.parse(r.text).data.result.reduce((a, st) => a + st.values.length, 0) },
];
const apiRes = [];
for (const q of apiQ) {
  const api = async () => {
    const r = await request(ow.ports.control, 'GET', q.path, undefined, { 'X-Scope-OrgID': TENANT, ...(q.headers || {}) });
    if (r.code !== 200) throw new Error(`openwit: ${q.path}: ${r.code} ${r.text.slice(0, 300)}`);
    return r;
  };
  const res = {};
  for (const [k, fn, text] of [['api', api, null], ['ow', owRun, q.ow], ['ch', ch ? chRun : null, q.ch], ['duck', duckRun, q.duck]]) {
    if (!fn) continue;
    const warm = await timed(() => fn(text));
    const ms = [];
    for (let i = 0; i < RUNS; i++) ms.push((await timed(() => fn(text))).ms);
    res[k] = { ms: median(ms), rows: warm.rows };
  }
  const n = q.count(res.api.rows, res.ow.rows);
  if (n !== res.ow.rows.length) notes.push(`CHECK FAILED: ${q.name}: the API answered ${n} spans or lines, openwit's SQL ${res.ow.rows.length}`);
  apiRes.push({ q, res });
  say(`api ${q.name}: openwit API ${res.api.ms.toFixed(1)} ms, SQL ${res.ow.ms.toFixed(1)} ms${res.ch ? `, ClickHouse ${res.ch.ms.toFixed(1)} ms` : ''}, DuckDB ${res.duck.ms.toFixed(1)} ms (${res.ow.rows.length} rows)`);
}
notes.push('APIs: openwit answers as Grafana asks (GET, X-Scope-OrgID), median of the runs; ClickHouse and DuckDB run the same question in SQL, and so does openwit (the note); the API\'s spans or lines are checked to be as many as its SQL\'s');
notes.push(`queries: median of ${RUNS} runs after one warm-up, client-side wall time (openwit: POST /api/search; ClickHouse: its HTTP interface; DuckDB: in process, over openwit's Parquet files); results compared across the three (p99: the operations only, ClickHouse's quantileExact may pick the neighbouring rank)`);
rss.ow.query = peakRSS(ow.proc.pid);
rss.duck.query = peakRSS(process.pid);

// ---- the web UI's first load (t/bench/ui.mjs): the bench's tenant ----
let ui = null;
try {
  // the bench's records start at the latest UTC midnight: two days hold them
  ui = await uiFirstLoad(`http://127.0.0.1:${ow.ports.control}`, `tenant=${TENANT}&from=2d`);
  say(`UI first load: ${ui.load_ms.toFixed(1)} ms to the load event, Services drawn at ${ui.services_ms.toFixed(1)} ms`);
} catch (e) {
  notes.push(`UI first load not measured: ${e.message}`);
}

// ---- 6. acknowledgement latency while queries run at their cap ----
const latArgs = (tenant) => ['-k', 'traces', '-a', `127.0.0.1:${ow.ports.otlp}`, '-c', CONNS, '-T', tenant, genDir];
const heavy = [Q[1].ow, Q[4].ow];
const qload = { queries: 0, rejected: 0, errors: 0, stop: false };
const queryClient = async (k) => {
  for (let i = k; !qload.stop; i++) {
    const r = await request(ow.ports.control, 'POST', '/api/search', JSON.stringify({ query: heavy[i % heavy.length], limit: 100000 }),
      { 'X-Scope-OrgID': TENANT, 'Content-Type': 'application/json' }).catch((e) => ({ code: 0, text: String(e) }));
    if (r.code === 200) qload.queries++;
    else if (r.code === 429) { qload.rejected++; await sleep(20); }
    else { qload.errors++; if (qload.errors === 1) notes.push(`query under load: ${r.code} ${r.text.slice(0, 200)}`); await sleep(20); }
  }
};
// ACK_RUNS pairs, idle then under queries, each to tenants of its own: a
// run's p99 is a few requests' (the 10th slowest of 1000 at the default
// scale), and a flush or an fsync landing in one moves it by 2-10x, so
// the medians of the runs are compared
const idleRuns = [], busyRuns = [];
let qDuring = 0;
for (let run = 0; run < ACK_RUNS; run++) {
  idleRuns.push(send(latArgs(`bench-ack-idle-${run}`)));
  qload.stop = false;
  const before = qload.queries + qload.rejected + qload.errors;
  const clients = Array.from({ length: QUERY_CLIENTS }, (_, k) => queryClient(k));
  while (qload.queries + qload.rejected + qload.errors < before + QUERY_CLIENTS) await sleep(5); // every client at work
  const q0 = qload.queries;
  const busy = await sendAsync(latArgs(`bench-ack-queries-${run}`));
  qDuring += qload.queries - q0;
  qload.stop = true;
  await Promise.all(clients);
  if (busy.failed || busy.acked_records !== busy.records) notes.push(`loadgen under queries: ${busy.acked_records} of ${busy.records} records acknowledged, ${busy.failed} requests failed: ${busy.error}`);
  busyRuns.push(busy);
}
const medianBy = (runs, k) => [...runs].sort((a, b) => a[k] - b[k])[runs.length >> 1];
const ackIdle = medianBy(idleRuns, 'p99_ms'), ackBusy = medianBy(busyRuns, 'p99_ms');
const ackRatio = ackBusy.p99_ms / ackIdle.p99_ms;
const ackUnderQueries = { idle: ackIdle, busy: ackBusy, ratio: ackRatio, idleRuns, busyRuns, clients: QUERY_CLIENTS, queries: qDuring, rejected429: qload.rejected, errors: qload.errors };
say(`ack latency p99: idle ${ackIdle.p99_ms.toFixed(1)} ms, under ${QUERY_CLIENTS} query clients ${ackBusy.p99_ms.toFixed(1)} ms (${ackRatio.toFixed(2)}x; ${qDuring} queries meanwhile, ${qload.rejected} answered 429)`);
rss.duck.ingest = dl.maxRssKB * 1024;
await ow.stop('SIGTERM');
owErrors.push(...errLines(ow));
// the token searches again, scanned: the same parts without their indexes
ow = await start({ dir: owDir, ports: ow.ports, config: { ...owConfig, 'index.enabled': false } });
const scanned = {};
for (const q of tokenQ) {
  await owRun(q.ow);
  const ms = [];
  for (let i = 0; i < RUNS; i++) ms.push((await timed(() => owRun(q.ow))).ms);
  scanned[q.name] = median(ms);
  say(`query ${q.name}: openwit scanned ${scanned[q.name].toFixed(1)} ms`);
}
await ow.stop('SIGTERM');
owErrors.push(...errLines(ow));
for (const e of owErrors) notes.push(`openwit logged: ${e}`);
if (ch) {
  rss.ch.query = peakRSS(ch.proc.pid);
  ch.proc.kill('SIGTERM');
  await new Promise((r) => (ch.proc.exitCode !== null ? r() : ch.proc.on('exit', r)));
}

// ---- 5. h2load ----
let h2 = '';
if (process.env.BENCH_H2LOAD !== '0') {
  const r = run('sh', [path.join(root, 't/bench/ingest.sh')], { env: { ...process.env, N_LIGHT: String(scale.h2[0]), N_HEAVY: String(scale.h2[1]) }, allowFail: true });
  h2 = r.status === 0 ? r.stdout.toString() : `t/bench/ingest.sh failed (exit ${r.status}):\n${r.stderr}`;
  say('h2load runs done');
}

// ---- the table ----
const f0 = (x) => (Number.isFinite(x) ? x.toFixed(0) : 'n/a');
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
const fr = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b ? `${(a / b).toFixed(2)}x` : '');
const MB = (b) => b / 1048576;
const rows = []; // [what, openwit, clickhouse, duckdb, ow/ch, ow/duck, note]
const row = (what, o, c, d, fmt, note = '') => rows.push([what, fmt(o), fmt(c), fmt(d), fr(o, c), fr(o, d), note]);
const rec = (sig) => gen[sig].records;
const chSecs = ch ? SIGNALS.reduce((a, sig) => a + chIngest[sig].seconds, 0) : NaN;
const duckSecs = SIGNALS.reduce((a, sig) => a + dl[TABLE[sig]].seconds, 0);
row('ingest records/s, all signals, until stored', owStored.rate, total / chSecs, total / duckSecs, f0,
  `openwit: first request to the last batch in a Parquet part (${f1(owStored.lag)} s after the last ack)`);
const retried = (j, sep = '; ') => (j.retries ? `${sep}${j.retries} requests answered 503/UNAVAILABLE and retried` : '');
for (const sig of SIGNALS) {
  row(`ingest ${UNIT[sig]}s/s, acknowledged`, owIngest[sig].records_per_s, chIngest[sig]?.records_per_s, rec(sig) / dl[TABLE[sig]].seconds, f0,
    sig === 'traces' ? `openwit OTLP/HTTP protobuf, ClickHouse JSONEachRow; ${CONNS} conns, same batches; DuckDB: bulk load${retried(owIngest[sig])}` : retried(owIngest[sig], ''));
}
for (const sig of SIGNALS) {
  row(`  ack latency p50 ms, ${TABLE[sig]}`, owIngest[sig].p50_ms, chIngest[sig]?.p50_ms, NaN, f1);
  row(`  ack latency p99 ms, ${TABLE[sig]}`, owIngest[sig].p99_ms, chIngest[sig]?.p99_ms, NaN, f1,
    sig === 'traces' ? 'with a sender that retries 503/429 after Retry-After (its wait included)' : '');
}
for (const sig of SIGNALS) {
  row(`  requests refused, ${TABLE[sig]}`, owIngest[sig].refused_requests, chIngest[sig]?.refused_requests, NaN, f0,
    `of ${owIngest[sig].requests}: what a sender that does not retry loses (target 0); ${owIngest[sig].refused} refusals answered in all (503/429)`);
}
for (const sig of SIGNALS)
  row(`bytes held a buffered ${UNIT[sig]}`, heldPerRecord[sig], NaN, NaN, f0, sig === 'traces' ? 'openwit_buffered_bytes / openwit_buffered_rows, the median of 100 ms samples while the signal was sent (target < 300 a span)' : '');
row('ack latency p99 ms, spans, idle', ackIdle.p99_ms, NaN, NaN, f1,
  `openwit OTLP/HTTP protobuf, ${CONNS} conns, the spans' requests again; median of ${ACK_RUNS} runs (${idleRuns.map((r) => f1(r.p99_ms)).join(', ')}; p50 ${f1(ackIdle.p50_ms)} ms)`);
row(`  while ${QUERY_CLIENTS} clients query`, ackBusy.p99_ms, NaN, NaN, f1,
  `${f2(ackRatio)}x idle (target <= 2x); median of ${ACK_RUNS} runs (${busyRuns.map((r) => f1(r.p99_ms)).join(', ')}; p50 ${f1(ackBusy.p50_ms)} ms); ${qDuring} p99-by-operation and log-search queries meanwhile, ${qload.rejected} answered 429${retried(ackBusy)}`);
row('OTLP/gRPC: records/s until stored', owGrpcStored.rate, NaN, NaN, f0, `${GRPC_CONNS} conns x ${GRPC_STREAMS} streams, tenant ${TENANT_GRPC}`);
for (const sig of SIGNALS) {
  row(`  ${UNIT[sig]}s/s, acknowledged`, owGrpc[sig].records_per_s, NaN, NaN, f0,
    `p50 ${f1(owGrpc[sig].p50_ms)} ms, p99 ${f1(owGrpc[sig].p99_ms)} ms; ${owGrpc[sig].refused_requests} of ${owGrpc[sig].requests} requests refused at first (UNAVAILABLE/RESOURCE_EXHAUSTED)${retried(owGrpc[sig])}`);
}
for (const sig of SIGNALS) {
  const t = TABLE[sig];
  row(`bytes/${UNIT[sig]} on disk`, owStable[sig].bytes / rec(sig), chBytes[sig] ? chBytes[sig].bytes / rec(sig) : NaN, dl[t].bytes / rec(sig), f1,
    `openwit: ${owStable[sig].n} stable part(s); ClickHouse after OPTIMIZE FINAL; DuckDB zstd Parquet as loaded`);
  row(`  sorted like openwit`, owStable[sig].bytes / rec(sig), NaN, dl[t].sortedBytes / rec(sig), f1, `DuckDB ORDER BY ${sortKey[t].join(', ')}`);
  row(`  before merging`, owActive[sig].bytes / rec(sig), NaN, NaN, f1, `openwit: ${owActive[sig].n} active parts (1 s flushes)`);
  row(`  disk / OTLP protobuf bytes`, owStable[sig].bytes / gen[sig].pb_bytes, chBytes[sig] ? chBytes[sig].bytes / gen[sig].pb_bytes : NaN, dl[t].bytes / gen[sig].pb_bytes, (x) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a'),
    `protobuf: ${f1(gen[sig].pb_bytes / rec(sig))} B/${UNIT[sig]}`);
}
const owPeak = Math.max(...Object.values(rss.ow).filter(Number.isFinite));
row('peak RSS MB, ingest', MB(rss.ow.ingest), MB(rss.ch.ingest), MB(rss.duck.ingest), f0, 'VmHWM of each phase; openwit: the OTLP/HTTP runs; DuckDB: the loading process (Node.js too)');
if (corpusRes) row('  corpus, as flushed', MB(rss.ow.corpus), NaN, NaN, f0, 'openwit answering the corpus over its parts as flushed');
row('  OTLP/gRPC runs', MB(rss.ow.grpc), NaN, NaN, f0);
row('  merging', MB(rss.ow.merge), MB(rss.ch.merge), NaN, f0, 'openwit: restarted, its janitor merging every part; ClickHouse: OPTIMIZE FINAL');
row('  queries', MB(rss.ow.query), MB(rss.ch.query), MB(rss.duck.query), f0,
  `RSS when they began: openwit ${f0(MB(rss.start.owQuery))}, ClickHouse ${f0(MB(rss.start.chQuery))}; DuckDB: this script's process`);
if (ui) row('UI first load ms, / on loopback', ui.load_ms, NaN, NaN, f1,
  `chromium, a fresh context each run, median of ${ui.runs}: the load event (${ui.asset_bytes} bytes); Services drawn over the bench's tenant (2 days) at ${f1(ui.services_ms)} ms`);
for (const { q, res } of qres) row(`query ms: ${q.name}`, res.ow.ms, res.ch?.ms, res.duck.ms, f1, `${res.ow.rows.length} rows`);
for (const { q, res } of apiRes) row(`api ms: ${q.name}`, res.api.ms, res.ch?.ms, res.duck.ms, f1, `openwit's SQL for it: ${f1(res.ow.ms)} ms; ${res.ow.rows.length} rows`);
for (const q of tokenQ) row(`  scanned: ${q.name}`, scanned[q.name], NaN, NaN, f1, `openwit without its index: ${fr(scanned[q.name], qres.find((x) => x.q === q).res.ow.ms)} the indexed time`);
for (const sig of ['traces', 'logs']) {
  // the signal's parts of the bench's tenant (their stable parts) and their indexes
  const ps = sql(db, `select part_id, bytes from parts where tenant = '${TENANT}' and signal = '${sig}'`);
  const ib = ps.reduce((a, p) => a + (fs.existsSync(path.join(ow.data, 'index', `${p.part_id}.idx`)) ? fs.statSync(path.join(ow.data, 'index', `${p.part_id}.idx`)).size : 0), 0);
  const pb = ps.reduce((a, p) => a + p.bytes, 0);
  notes.push(`full-text index of ${TABLE[sig]}: ${(ib / rec(sig)).toFixed(1)} bytes a record beside the parts' ${(pb / rec(sig)).toFixed(1)}`);
}
// where a record's bytes on disk go: the stable parts' column chunks
// (compressed, as DuckDB's parquet_metadata() gives them), the largest
// first, beside DuckDB's own Parquet of the same rows sorted the same way
for (const sig of SIGNALS) {
  const t = TABLE[sig];
  const by = async (files) => Object.fromEntries((await duck(`SELECT path_in_schema c, sum(total_compressed_size) b FROM parquet_metadata([${files}]) GROUP BY 1`)).map((x) => [x.c, Number(x.b) / rec(sig)]));
  const mine = await by(owFiles(sig).join(', ')), dk = await by(`'${duckDir}/${t}-sorted.parquet'`);
  const top = Object.entries(mine).sort((a, b) => b[1] - a[1]).filter(([, b]) => b >= 0.1);
  notes.push(`bytes a ${UNIT[sig]} by column (openwit / DuckDB sorted): ${top.map(([c, b]) => `${c} ${b.toFixed(2)}/${(dk[c] ?? NaN).toFixed(2)}`).join(', ')}`);
}

const head = ['', 'openwit', 'ClickHouse', 'DuckDB', 'ow/CH', 'ow/DuckDB', 'note'];
const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
const fmtRow = (r) => r.map((c, i) => (i === 0 || i === 6 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join('  ').trimEnd();
const lines = [];
lines.push(`openwit beside ClickHouse ${chVersion || '(absent)'} and DuckDB ${duckVersion}: BENCH_SCALE=${scaleName}, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(2)} at the end`);
lines.push(`data: seed ${gen.seed}, ${rec('traces')} spans, ${rec('logs')} log records, ${rec('metrics')} metric points (all five kinds) from ${gen.services} services on ${gen.pods} pods; ~${RECORDS} records a request`);
lines.push('openwit fsyncs its WAL before it acknowledges; ClickHouse answers an INSERT without an fsync (18.16 has no setting for it); DuckDB is an embedded bulk load, no network');
lines.push(`ClickHouse: MergeTree tables with openwit's columns and sort order, zstd for every part from the server config (18.16 has no per-column CODEC), a part per INSERT of ~${RECORDS} rows merged in the background`);
lines.push('ratios openwit/peer: higher is better for records/s, lower for everything else');
lines.push('');
lines.push(fmtRow(head));
lines.push(w.map((n) => '-'.repeat(n)).join('  '));
for (const r of rows) lines.push(fmtRow(r));
lines.push('');
const goal = (name, ok, detail) => lines.push(`goal: ${name}: ${ok ? 'met' : 'NOT met'} (${detail})`);
if (ch) {
  const ratio = owStored.rate / (total / chSecs);
  goal('ingest >= 2x ClickHouse', ratio >= 2, `${ratio.toFixed(2)}x until stored; acknowledged: ${SIGNALS.map((s) => `${TABLE[s]} ${fr(owIngest[s].records_per_s, chIngest[s].records_per_s)}`).join(', ')}`);
}
goal('bytes/span <= DuckDB Parquet', owStable.traces.bytes <= dl.spans.bytes, `${f1(owStable.traces.bytes / rec('traces'))} vs ${f1(dl.spans.bytes / rec('traces'))} as loaded, ${f1(dl.spans.sortedBytes / rec('traces'))} sorted`);
goal('ack p99 while queries run at their cap <= 2x idle', ackRatio <= 2, `${f1(ackBusy.p99_ms)} vs ${f1(ackIdle.p99_ms)} ms, ${f2(ackRatio)}x; ${QUERY_CLIENTS} query clients`);
if (ui) goal('UI first load < 200 ms', ui.load_ms < 200, `${f1(ui.load_ms)} ms to the load event, ${f1(ui.services_ms)} ms to the Services table`);
goal('peak RSS < 512 MB', owPeak < 512 * 1048576, `${f0(MB(owPeak))} MB at most; ingest ${f0(MB(rss.ow.ingest))}${corpusRes ? `, corpus ${f0(MB(rss.ow.corpus))}` : ''}, gRPC runs ${f0(MB(rss.ow.grpc))}, merging ${f0(MB(rss.ow.merge))}, queries ${f0(MB(rss.ow.query))}`);
let corpusSum = null;
if (corpusRes) {
  corpusSum = corpusLines(corpusRes, { scale: scaleName, runs: CORPUS_RUNS });
  goal('corpus as flushed: geometric mean <= 1.0 x DuckDB, every query columnar and agreeing',
    corpusSum.geo <= 1 && !corpusSum.notColumnar && !corpusSum.differing && !corpusSum.failed,
    `${f2(corpusSum.geo)}; ${corpusSum.over.length} over 1.0, ${corpusSum.notColumnar} not columnar, ${corpusSum.differing} differing, ${corpusSum.failed} failed; openwit's parts then: ${SIGNALS.map((sig) => `${corpusParts[sig].n} ${TABLE[sig]}`).join(', ')}`);
  lines.push('');
  lines.push(...corpusSum.lines);
}
lines.push('');
for (const n of notes) lines.push(`note: ${n}`);
if (h2) {
  lines.push('');
  lines.push(`extra: h2load, t/bench/ingest.sh (N_LIGHT=${scale.h2[0]} N_HEAVY=${scale.h2[1]})`);
  lines.push(h2.trimEnd());
}
const text = lines.join('\n') + '\n';
process.stdout.write(text);
fs.writeFileSync(path.join(outDir, 'results.txt'), text);
fs.writeFileSync(path.join(outDir, 'results.json'), JSON.stringify({ scale: scaleName, gen, owIngest, owGrpc, heldPerRecord, chIngest, owActive, owStable, chBytes, duckdb: dl,
  rss, owStored, owGrpcStored, ackUnderQueries, ui, corpus: corpusRes && { runs: CORPUS_RUNS, parts: corpusParts, geomean: corpusSum.geo, queries: corpusRes }, queries: qres.map(({ q, res }) => ({ name: q.name, ow: res.ow.ms, ch: res.ch?.ms, duck: res.duck.ms, rows: res.ow.rows.length })),
  apis: apiRes.map(({ q, res }) => ({ name: q.name, api: res.api.ms, ow: res.ow.ms, ch: res.ch?.ms, duck: res.duck.ms, rows: res.ow.rows.length })), notes }, null, 1));
say(`written to ${path.relative(root, path.join(outDir, 'results.txt'))}`);
if (process.env.KEEP) {
  say(`kept ${work}`);
} else {
  // ClickHouse keeps the parts it merged away for 8 minutes: at the
  // default scale some hundred thousand files, which take a while
  fs.rmSync(work, { recursive: true, force: true });
  say('temporary files removed');
}
process.exit(0);

// make bench: the latency of four everyday queries with `openwit sql`, each
// beside DuckDB over the same Parquet files (the catalog's list) in the same
// run: count by service, p99 duration by operation, a trace by id, and a
// substring search in log bodies, newest first.
//
// Data: SPANS spans (~20 services, ~60 operations, traces of 8 spans) and
// LOGS log records (1 in 1000 mentions "timeout"), sent as OTLP/JSON to a
// server that buffers everything and writes it when it drains (SIGTERM):
// one part per signal, storage.parquet.row_group_size (ROW_GROUP) rows a
// row group. Each query runs RUNS times; the table shows the median wall
// time (ours includes starting the process) and what our reader read.
// The same four queries also go through the query API of a server started
// again on the drained data directory (POST /api/search, GET
// /api/traces/{id}, GET /api/logs/search): one warm-up request each, then
// RUNS timed ones (request sent to response received), as the column "API";
// its rows are checked against `openwit sql`'s.
// Run: node t/bench/sql.mjs   (SPANS=1000000 LOGS=1000000 ROW_GROUP=1000000
// RUNS=5; ROWS=N sets both SPANS and LOGS; KEEP=1 keeps the data directory)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { start, bin, httpPost, sql, duck } from '../lib/harness.mjs';

const SPANS = Number(process.env.SPANS || process.env.ROWS || 1000000);
const LOGS = Number(process.env.LOGS || process.env.ROWS || 1000000);
const ROW_GROUP = Number(process.env.ROW_GROUP || 1000000);
const RUNS = Number(process.env.RUNS || 5);
const PER_REQUEST = 5000;
// the start of yesterday, UTC (a server takes times near now only);
// everything within its first hours
const T0 = (BigInt(Date.now()) / 86400000n - 1n) * 86400000000000n;
const t0 = Date.now();
const say = (s) => process.stderr.write(`sql bench: ${s} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);

let seed = 0x5eed5eed;
function rnd() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const ri = (a, b) => a + Math.floor(rnd() * (b - a + 1));
const hex = (bytes) => { let s = ''; for (let i = 0; i < bytes; i++) s += ri(0, 255).toString(16).padStart(2, '0'); return s; };
const services = Array.from({ length: 20 }, (_, i) => `service-${i}`);
const ops = Array.from({ length: 60 }, (_, i) => `${['GET', 'POST', 'SELECT', 'publish'][i % 4]} /op/${i}`);
const words = ['user', 'cart', 'order', 'payment', 'session', 'cache', 'db', 'queue', 'retry', 'ok'];
const sv = (k, v) => ({ key: k, value: { stringValue: v } });

const traces = [];
function spansRequest(n) {
  const bySvc = new Map();
  let trace, parent;
  for (let i = 0; i < n; i++) {
    if (i % 8 === 0) { trace = hex(16); parent = undefined; traces.push(trace); }
    const svc = services[ri(0, services.length - 1)];
    const start = T0 + BigInt(ri(0, 3 * 3600)) * 1000000000n + BigInt(ri(0, 999999999));
    const dur = BigInt(Math.floor(1e6 * Math.exp((rnd() + rnd() + rnd() - 1.5) * 1.5)));
    const id = hex(8);
    const span = { traceId: trace, spanId: id, name: ops[ri(0, ops.length - 1)], kind: ri(1, 3),
      startTimeUnixNano: String(start), endTimeUnixNano: String(start + dur),
      attributes: [sv('http.method', ['GET', 'POST'][i % 2]), { key: 'http.status_code', value: { intValue: String([200, 200, 200, 404, 500][ri(0, 4)]) } }],
      status: { code: ri(0, 20) === 0 ? 2 : 0 } };
    if (parent) span.parentSpanId = parent;
    parent = id;
    if (!bySvc.has(svc)) bySvc.set(svc, []);
    bySvc.get(svc).push(span);
  }
  return JSON.stringify({ resourceSpans: [...bySvc].map(([svc, spans]) => ({ resource: { attributes: [sv('service.name', svc), sv('host.name', `${svc}-pod`)] }, scopeSpans: [{ scope: { name: 'bench' }, spans }] })) });
}
function logsRequest(n, from) {
  const recs = [];
  for (let i = 0; i < n; i++) {
    const k = from + i;
    const text = k % 1000 === 7 ? `upstream timeout after ${ri(1, 30)} s calling ${services[ri(0, 19)]}`
      : `${words[ri(0, 9)]} ${words[ri(0, 9)]} ${ri(1, 99999)} done in ${ri(1, 900)} ms`;
    recs.push({ timeUnixNano: String(T0 + BigInt(k) * 10000000n), severityNumber: [9, 9, 9, 13, 17][ri(0, 4)], body: { stringValue: text },
      attributes: [sv('logger', words[ri(0, 9)])] });
  }
  return JSON.stringify({ resourceLogs: [{ resource: { attributes: [sv('service.name', services[from / PER_REQUEST % 20])] }, scopeLogs: [{ logRecords: recs }] }] });
}

const config = {
  'storage.buffer.flush_interval_ms': 86400000, 'storage.buffer.flush_bytes': 2147483648,
  'memory.max_buffer_bytes': 17179869184, 'storage.parquet.row_group_size': ROW_GROUP,
  'ingestion.http.max_payload_size_mb': 64 };
const s = await start({ tag: 'sqlbench', config });
const send = async (p, body) => {
  const r = await httpPost(s.ports.otlp, p, body, { headers: { 'X-Scope-OrgID': 'bench' } });
  if (r.code !== 200) throw new Error(`${p}: ${r.code} ${r.text}`);
};
const pending = [];
for (let i = 0; i < SPANS; i += PER_REQUEST) {
  pending.push(send('/v1/traces', spansRequest(Math.min(PER_REQUEST, SPANS - i))));
  if (pending.length >= 4) await pending.shift();
}
for (let i = 0; i < LOGS; i += PER_REQUEST) {
  pending.push(send('/v1/logs', logsRequest(Math.min(PER_REQUEST, LOGS - i), i)));
  if (pending.length >= 4) await pending.shift();
}
await Promise.all(pending);
say(`sent ${SPANS} spans and ${LOGS} log records; draining`);
await s.stop();
const db = path.join(s.data, 'openwit.db');
const files = (signal) => sql(db, `select path from parts where signal = '${signal}'`).map((p) => `'${path.join(s.data, p.path)}'`);
const layout = sql(db, 'select signal, count(*) parts, sum(rows) rows, sum(bytes) bytes from parts group by 1');
say(`parts: ${JSON.stringify(layout)}`);
const spans = `read_parquet([${files('traces').join(', ')}])`, logs = `read_parquet([${files('logs').join(', ')}])`;
const tid = traces[Math.floor(traces.length / 3)];

const ours = (q) => {
  const t = process.hrtime.bigint();
  const p = spawnSync(bin, ['sql', '-d', s.data, '-T', 'bench', '--format', 'csv', '--stats', '--max-rows', '0', q], { maxBuffer: 1 << 28 });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (p.status !== 0) throw new Error(`${q}: ${p.stderr}`);
  const rows = p.stdout.toString().trim().split('\n').length - 1;
  return { ms, rows, read: (p.stderr.toString().match(/read .*/) || [''])[0] };
};
const theirs = async (q) => {
  const t = process.hrtime.bigint();
  const rows = await duck(q);
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, rows: rows.length };
};
// The query API of a server on the same (drained) data directory: its
// buffers are empty, so it reads exactly the parts `openwit sql` reads.
const api = await start({ dir: s.dir, tag: 'sqlbench', config });
say(`server started again on the parts for the query API`);
const request = (method, p, body) => new Promise((resolve, reject) => {
  const headers = { 'X-Scope-OrgID': 'bench' };
  if (body !== undefined) Object.assign(headers, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  const req = http.request({ host: '127.0.0.1', port: api.ports.control, path: p, method, agent: false, headers }, (res) => {
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => resolve({ code: res.statusCode, text: Buffer.concat(chunks).toString() }));
    res.on('error', reject);
  });
  req.on('error', reject);
  req.end(body);
});
// 64-bit integers (times in ns) as strings, so that no digit is lost to a double
const bigJSON = (t) => JSON.parse(t.replace(/([:,[]\s*)(-?\d{16,})(?=\s*[,\]}])/g, '$1"$2"'));
const viaApi = async ([method, p, body]) => {
  const t = process.hrtime.bigint();
  const r = await request(method, p, body);
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.code !== 200) throw new Error(`${method} ${p} ${body || ''}: ${r.code} ${r.text}`);
  const j = bigJSON(r.text);
  if (j.status !== 'success') throw new Error(`${method} ${p}: ${r.text.slice(0, 500)}`);
  return { ms, rows: j.result.rows.length, json: j };
};
// `openwit sql`'s rows as JSON, once, to compare with the API's
const cliRows = (q) => {
  const p = spawnSync(bin, ['sql', '-d', s.data, '-T', 'bench', '--format', 'json', '--max-rows', '0', q], { maxBuffer: 1 << 28 });
  if (p.status !== 0) throw new Error(`${q}: ${p.stderr}`);
  return bigJSON(p.stdout.toString());
};
// rows compared on the columns both have, values as text; unordered unless asked
const sameRows = (x, y, ordered) => {
  const cols = Object.keys(x[0] || {}).filter((k) => y.length && k in y[0]);
  const key = (r) => JSON.stringify(cols.map((c) => r[c] === null || r[c] === undefined ? null : String(r[c])));
  const a = x.map(key), b = y.map(key);
  if (!ordered) { a.sort(); b.sort(); }
  const diff = a.findIndex((v, i) => v !== b[i]);
  return a.length !== b.length ? `${a.length} rows, API ${b.length}`
    : diff >= 0 ? `row ${diff} differs: ${a[diff]} vs API ${b[diff]} (columns ${cols.join(', ')})` : '';
};
const post = (q, limit) => ['POST', '/api/search', JSON.stringify({ query: q, limit })];
const median = (a) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];
const queries = [
  ['count by service', 'select service_name, count(*) from spans group by 1', `select service_name, count(*) from ${spans} group by 1`,
    post('select service_name, count(*) from spans group by 1', 1000)],
  ['p99 duration by operation', 'select name, p99(duration_ns) from spans group by 1', `select name, quantile_disc(duration_ns, 0.99) from ${spans} group by 1`,
    post('select name, p99(duration_ns) from spans group by 1', 1000)],
  ['trace by id', `select * from spans where trace_id = '${tid}'`, `select * from ${spans} where hex(trace_id) = upper('${tid}')`,
    ['GET', `/api/traces/${tid}`]],
  ['log search', "select time, body from logs where body like '%timeout%' order by time desc limit 100",
    `select time, body from ${logs} where body like '%timeout%' order by time desc limit 100`,
    ['GET', '/api/logs/search?q=timeout&limit=100'], true],
];
console.log(`${SPANS} spans, ${LOGS} log records, ${ROW_GROUP} rows a row group; median of ${RUNS} runs; DuckDB ${(await duck('select version() v'))[0].v}`);
console.log('query                      | openwit sql | API (warm) | DuckDB    | rows      | what openwit read');
const notes = [];
for (const [name, q, dq, aq, ordered] of queries) {
  const a = [], b = [], c = [];
  let ra, rb, rc;
  const warm = await viaApi(aq);
  for (let i = 0; i < RUNS; i++) {
    ra = ours(q);
    a.push(ra.ms);
    rc = await viaApi(aq);
    c.push(rc.ms);
    rb = await theirs(dq);
    b.push(rb.ms);
  }
  if (ra.rows !== rb.rows) throw new Error(`${name}: ${ra.rows} rows, DuckDB ${rb.rows}`);
  const diff = sameRows(cliRows(q), rc.json.result.rows, ordered);
  if (diff) notes.push(`${name}: openwit sql and the API differ: ${diff}`);
  // the log search matches more records than its limit (as the CLI's LIMIT 100 does)
  if (rc.json.result.has_more && aq[0] === 'POST') notes.push(`${name}: the API's limit cut the result`);
  notes.push(`${name}: API warm-up ${warm.ms.toFixed(1)} ms, runs ${c.map((x) => x.toFixed(1)).join(' ')} ms; server's execution_time_ms ${rc.json.execution_time_ms}, rows_scanned ${rc.json.rows_scanned}, bytes_scanned ${rc.json.bytes_scanned}`);
  console.log(`${name.padEnd(26)} | ${median(a).toFixed(1).padStart(8)} ms | ${median(c).toFixed(1).padStart(7)} ms | ${median(b).toFixed(1).padStart(6)} ms | ${String(ra.rows).padStart(9)} | ${ra.read}`);
}
for (const n of notes) console.log(`  ${n}`);
await api.stop();
const bad = api.log().split('\n').filter((l) => /\[(error|crit)\]/.test(l));
if (bad.length) console.log(`  the query server logged:\n${bad.join('\n')}`);
if (process.env.KEEP) say(`kept ${s.dir}`);
else fs.rmSync(s.dir, { recursive: true, force: true });
process.exit(0);

// harness.mjs - what every integration test uses: a tiny TAP producer,
// free loopback ports, and a real openwit started on them in a fresh data
// directory, killed when the test ends (also when it dies). A server log
// line at [error] or [crit] fails the test unless the test expected it.
import { spawn, execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const bin = process.env.OPENWIT_BIN || path.join(root, 'openwit');
export const faultsBin = process.env.OPENWIT_FAULTS_BIN || path.join(root, 't/openwit-faults');

// ---- TAP ----
let n = 0, failed = 0;
export function ok(cond, name, diag) {
  n++;
  if (!cond) failed++;
  console.log(`${cond ? 'ok' : 'not ok'} ${n} - ${name}`);
  if (!cond && diag !== undefined) note(typeof diag === 'string' ? diag : JSON.stringify(diag));
  return !!cond;
}
export function is(got, want, name) {
  const g = JSON.stringify(got), w = JSON.stringify(want);
  return ok(g === w, name, `got ${g}, want ${w}`);
}
export function like(got, re, name) {
  return ok(re.test(String(got)), name, `got ${JSON.stringify(String(got)).slice(0, 500)}, want ${re}`);
}
export function note(s) {
  for (const l of String(s).split('\n')) console.log(`# ${l}`);
}
const servers = new Set();
const dirs = new Set();
export function done() {
  for (const s of servers) s.checkLog();
  for (const s of servers) s.kill();
  console.log(`1..${n}`);
  // a failed test keeps its directories for a look; a passed one cleans up
  if (!failed) for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  else if (dirs.size) note(`kept for inspection: ${[...dirs].join(' ')}`);
  process.exit(failed ? 1 : 0);
}
process.on('exit', () => { for (const s of servers) try { s.proc.kill('SIGKILL'); } catch {} });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(1));
process.on('uncaughtException', (e) => { ok(false, `test died: ${e.stack || e}`); done(); });
process.on('unhandledRejection', (e) => { ok(false, `test died: ${e && e.stack || e}`); done(); });

// ---- ports and processes ----
// The kernel can hand out a port it handed out a moment ago (closed since):
// never return one twice in a process.
const portsGiven = new Set();
export async function freePort() {
  for (;;) {
    const p = await new Promise((resolve, reject) => {
      const s = net.createServer();
      s.unref();
      s.on('error', reject);
      s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
    });
    if (!portsGiven.has(p)) { portsGiven.add(p); return p; }
  }
}
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export function tmpdir(tag) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `openwit-${tag}-`));
  dirs.add(d);
  return d;
}

// Writes a config file: `extra` is an object of dotted keys to values.
export function writeConfig(dir, ports, extra = {}) {
  const lines = [
    `storage.data_dir: "${dir}/data"`,
    `ingestion.http.otlp_port: ${ports.otlp}`,
    `ingestion.http.port: ${ports.http}`,
    `control.port: ${ports.control}`,
    `log.level: ${extra['log.level'] || 'info'}`,
    // gRPC only when a test asks for it, so parallel servers never share 4317
    `ingestion.grpc.port: ${extra['ingestion.grpc.port'] || 0}`,
  ];
  // Tests send fixed old timestamps (and none: time 0) and share a disk
  // whose free space is not theirs: the janitor keeps every part unless a
  // test sets retention or the disk watermarks itself (t/93retention.t).
  const keep = { 'storage.local_retention.retention_days': 0, 'storage.disk.low_watermark_percent': 0, 'storage.disk.critical_watermark_percent': 0 };
  for (const [k, v] of Object.entries(keep)) if (!(k in extra)) lines.push(`${k}: ${v}`);
  for (const [k, v] of Object.entries(extra)) if (k !== 'log.level' && k !== 'ingestion.grpc.port') lines.push(`${k}: ${v}`);
  const f = path.join(dir, 'openwit.yaml');
  fs.writeFileSync(f, lines.join('\n') + '\n');
  return f;
}

// Starts openwit; resolves when its ready line is printed (opts: dir, ports,
// config, bin, env, allowErrors, tag, readyFile).
export async function start(opts = {}) {
  const dir = opts.dir || tmpdir(opts.tag || 'test');
  const ports = opts.ports || { otlp: await freePort(), http: await freePort(), control: await freePort() };
  const conf = writeConfig(dir, ports, opts.config);
  const s = {
    dir, ports, conf, data: path.join(dir, 'data'), logText: '', allowed: opts.allowErrors || [],
    otlp: `http://127.0.0.1:${ports.otlp}`, legacy: `http://127.0.0.1:${ports.http}`,
    control: `http://127.0.0.1:${ports.control}`,
  };
  s.proc = spawn(opts.bin || bin, ['-c', conf], { env: { ...process.env, ...(opts.env || {}) }, stdio: ['ignore', 'pipe', 'pipe'] });
  servers.add(s);
  s.exited = new Promise((resolve) => s.proc.on('exit', (code, sig) => { s.exitCode = code; s.exitSignal = sig; resolve({ code, sig }); }));
  const onData = (d) => { s.logText += d.toString(); };
  s.proc.stdout.on('data', onData);
  s.proc.stderr.on('data', onData);
  s.log = () => s.logText;
  s.checkLog = () => {
    if (s.checked) return;
    s.checked = true;
    const bad = s.logText.split('\n').filter((l) => /\[(error|crit)\]|AddressSanitizer|LeakSanitizer|runtime error:/.test(l) && !s.allowed.some((re) => re.test(l)));
    ok(bad.length === 0, `no unexpected error lines in the server log (${path.basename(dir)})`, bad.join('\n'));
  };
  s.kill = () => { try { s.proc.kill('SIGKILL'); } catch {} };
  s.stop = async (sig = 'SIGTERM') => { s.proc.kill(sig); return s.exited; };
  s.forget = () => { s.checkLog(); servers.delete(s); };
  // With log.file set the server logs to that file, not to stderr: pass
  // it as opts.readyFile so the ready line is looked for there too.
  const text = () => s.logText + (opts.readyFile && fs.existsSync(opts.readyFile) ? fs.readFileSync(opts.readyFile, 'utf8') : '');
  const t0 = Date.now();
  while (!/openwit ready/.test(text())) {
    if (s.exitCode !== undefined || s.exitSignal) {
      // another process took a free port before openwit bound it: new ports
      if (!opts.ports && /Address already in use/.test(text()) && (opts.attempt || 0) < 3) {
        servers.delete(s);
        return start({ ...opts, attempt: (opts.attempt || 0) + 1 });
      }
      throw new Error(`openwit exited before ready:\n${text()}`);
    }
    if (Date.now() - t0 > 15000) throw new Error(`openwit not ready after 15 s:\n${text()}`);
    await sleep(20);
  }
  return s;
}

// ---- real clients ----
// curl: returns {code, headers, body (Buffer)}; args are extra curl args.
// A server whose parts are merged into stable ones: started with config
// (rotation held off), sent batches (each a [path, body]; each answered
// 200 and stored, `what` counted in the parts' rows, before the next),
// stopped, started again with rotation at once until no active part is
// left. Returns the server and the stable parts' count and rows.
export async function startMerged({ tag, config, batches, total, what }) {
  let s = await start({ tag, config: { ...config, 'storage.file_rotation.file_duration_minutes': 100000 } });
  const db = () => path.join(s.data, 'openwit.db');
  const stored = async (n) => { for (const t0 = Date.now(); Date.now() - t0 < 15000; await sleep(50)) if (sql(db(), 'select coalesce(sum(rows), 0) n from parts')[0].n >= n) return true; return false; };
  let sent = 0;
  for (const [p, body, n, label] of batches) {
    is((await httpPost(s.ports.otlp, p, body)).code, 200, `${label} acknowledged`);
    sent += n;
    ok(await stored(sent), `stored: ${sent} ${what}`);
  }
  await s.stop();
  s = await start({ dir: s.dir, ports: s.ports, config: { ...config, 'storage.file_rotation.file_duration_minutes': 0, 'storage.file_rotation.check_interval_ms': 100 } });
  let merged = false;
  for (const t0 = Date.now(); Date.now() - t0 < 30000 && !merged; await sleep(100))
    merged = sql(db(), "select count(*) n from parts where kind = 'active'")[0].n === 0;
  const st = sql(db(), "select count(*) n, sum(rows) r from parts where kind = 'stable'")[0];
  return { s, db, merged: merged && st.r === total, st };
}

export function curl(url, args = []) {
  const hdr = path.join(os.tmpdir(), `openwit-curl-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const r = spawnSync('curl', ['-sS', '-o', '-', '-D', hdr, '--max-time', '30', ...args, url], { maxBuffer: 1 << 28 });
  let head = '';
  try { head = fs.readFileSync(hdr, 'utf8'); fs.unlinkSync(hdr); } catch {}
  const blocks = head.split(/\r\n\r\n/).filter((b) => b.startsWith('HTTP/'));
  const last = blocks[blocks.length - 1] || '';
  const code = Number((last.match(/^HTTP\/[\d.]+ (\d+)/) || [])[1] || 0);
  const headers = {};
  for (const l of last.split('\r\n').slice(1)) { const i = l.indexOf(':'); if (i > 0) headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim(); }
  return { code, headers, body: r.stdout, text: r.stdout.toString(), stderr: r.stderr.toString(), status: r.status };
}
export function curlJSON(url, args = []) {
  const r = curl(url, args);
  try { r.json = JSON.parse(r.text); } catch { r.json = undefined; }
  return r;
}
// POST with node's http client, for tests that do other things meanwhile:
// resolves {code, headers, text} when the response has ended.
export function httpPost(port, p, body, { agent = false, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: p, method: 'POST', agent,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...headers } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ code: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
// sqlite3 shell, JSON mode
export function sql(db, q) {
  const out = execFileSync('sqlite3', ['-json', db, q]).toString().trim();
  return out ? JSON.parse(out) : [];
}
// The OpenTelemetry JS SDK exporters (t/otel/send.mjs).
export function otelSend(url, signal, encoding, extra = []) {
  const r = spawnSync('node', [path.join(root, 't/otel/send.mjs'), '--url', url, '--signal', signal, '--encoding', encoding, ...extra], { timeout: 60000 });
  let res;
  try { res = JSON.parse(r.stdout.toString().trim().split('\n').pop()); } catch { res = { parseError: r.stdout.toString(), stderr: r.stderr.toString() }; }
  res.exit = r.status;
  return res;
}
// DuckDB (@duckdb/node-api, installed in t/otel): rows of a query as JSON
// values (64-bit integers as strings).
let duckConn;
export async function duck(q) {
  if (!duckConn) {
    const { createRequire } = await import('node:module');
    const req = createRequire(path.join(root, 't/otel/package.json'));
    const { DuckDBInstance } = req('@duckdb/node-api');
    duckConn = await (await DuckDBInstance.create(':memory:')).connect();
    // the documented macro openwit(files): parts with every attribute
    await duckConn.run(fs.readFileSync(path.join(root, 'conf/duckdb/views.sql'), 'utf8'));
  }
  return (await duckConn.runAndReadAll(q)).getRowObjectsJson();
}
// The Parquet parts of a data directory for one signal, as a DuckDB source
// with every attribute (conf/duckdb/views.sql).
export function parts(data, signal) {
  return `openwit('${data}/parquet/*/${signal}/**/*.parquet')`;
}
export function partFiles(data) {
  const out = [];
  const walk = (d) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(path.join(d, e.name)) : out.push(path.join(d, e.name)); };
  if (fs.existsSync(path.join(data, 'parquet'))) walk(path.join(data, 'parquet'));
  return out.filter((f) => f.endsWith('.parquet'));
}
// How many times each marker (regex, global) appears in span names and log
// bodies stored in Parquet parts plus WAL records not yet stored.
export async function storedMarkers(data, re) {
  const count = new Map();
  const add = (text) => { for (const m of String(text).match(re) || []) count.set(m, (count.get(m) || 0) + 1); };
  for (const f of walFiles(data)) for (const r of walRecords(f)) add(r.toString('latin1'));
  const files = partFiles(data);
  if (files.some((f) => f.includes('/traces/')))
    for (const r of await duck(`select name from ${parts(data, 'traces')}`)) add(r.name);
  if (files.some((f) => f.includes('/logs/')))
    for (const r of await duck(`select body from ${parts(data, 'logs')}`)) add(r.body);
  return count;
}
// WAL files under data/wal/{tenant}/
export function walFiles(data) {
  const out = [];
  const w = path.join(data, 'wal');
  if (!fs.existsSync(w)) return out;
  for (const t of fs.readdirSync(w)) for (const f of fs.readdirSync(path.join(w, t))) out.push(path.join(w, t, f));
  return out;
}
// Records of one WAL file, following the format in modules/wal/walfile.c.
export function walRecords(file) {
  const b = fs.readFileSync(file);
  const hlen = b.readUInt32LE(8);
  const recs = [];
  let off = hlen;
  const end = b.length - 40;
  while (off + 8 <= end) {
    const len = b.readUInt32LE(off);
    recs.push(b.subarray(off + 8, off + 8 + len));
    off += 8 + len;
  }
  return recs;
}

// ---- protobuf by hand, for bodies curl sends ----
function varint(n) {
  const out = [];
  let v = BigInt(n);
  do { let byte = Number(v & 0x7fn); v >>= 7n; if (v) byte |= 0x80; out.push(byte); } while (v);
  return Buffer.from(out);
}
export function pbField(num, value) {
  if (Buffer.isBuffer(value)) return Buffer.concat([varint((num << 3) | 2), varint(value.length), value]);
  if (typeof value === 'string') return pbField(num, Buffer.from(value));
  return Buffer.concat([varint(num << 3), varint(value)]);
}
// ExportTraceServiceRequest with one span named `name`.
export function pbTraces(name, service = 'pb-service') {
  const kv = pbField(1, 'service.name');
  const any = pbField(1, service);
  const resource = pbField(1, pbField(1, Buffer.concat([kv, pbField(2, any)])));
  const span = Buffer.concat([
    pbField(1, Buffer.from('5b8efff798038103d269b633813fc60c', 'hex')),
    pbField(2, Buffer.from('eee19b7ec3c1b174', 'hex')),
    pbField(5, name),
  ]);
  const scopeSpans = pbField(2, pbField(2, span));
  return pbField(1, Buffer.concat([resource, scopeSpans]));
}
// ExportLogsServiceRequest with one record whose body is `body`.
export function pbLogs(body) {
  const rec = pbField(5, pbField(1, body));
  return pbField(1, pbField(2, pbField(2, rec)));
}
// Now in nanoseconds since the epoch (a BigInt): records' times must be
// near it (limits.max_past_hours, limits.max_future_hours).
export const nowNs = () => BigInt(Date.now()) * 1000000n;
// The start of the UTC day before today, in ns: a base for times that must
// not pass now however far a test adds to it (up to a day).
export const yesterdayNs = () => (nowNs() / 86400000000000n - 1n) * 86400000000000n;
export function jsonTraces(name, service = 'json-service') {
  const t = nowNs();
  return JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
    scopeSpans: [{ spans: [{ traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', name, kind: 1,
      startTimeUnixNano: String(t), endTimeUnixNano: String(t + 1000000000n) }] }] }] });
}
export function jsonLogs(body) {
  return JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ timeUnixNano: String(nowNs()), body: { stringValue: body } }] }] }] });
}

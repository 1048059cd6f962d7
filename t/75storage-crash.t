#!/usr/bin/env node
// Crashes and disk faults across the Parquet stage (modules/storage): nothing
// acknowledged is lost, nothing is stored twice. A kill -9 during a part's
// fdatasync, between its rename and the catalog commit, and between the
// commit and the removal of the WAL files; a part fsync that fails with EIO;
// a full disk while a part is written; a clean SIGTERM. After each, the
// parts hold every acknowledged record exactly once, no temporary file is
// left, and the catalog lists exactly the part files on disk.
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const crypto = require('node:crypto');
(async () => {
const { start, faultsBin, httpPost, sql, duck, parts, partFiles, walFiles, storedMarkers, ok, is, like, note, done, sleep, nowNs } = await import('./lib/harness.mjs');

if (!fs.existsSync(faultsBin)) {
  ok(false, `${faultsBin} is built (make t/openwit-faults)`);
  done();
}
const T0 = Date.now();
const CONFIG = { 'storage.buffer.flush_interval_ms': 200 };

// Fixed-width markers (no marker is a prefix of another), one per request.
const MARK_RE = /m75-[a-z0-9]{2}-\d{6}-[0-9a-f]{8}/g;
const marker = (tag, i) => `m75-${tag}-${String(i).padStart(6, '0')}-${crypto.randomBytes(4).toString('hex')}`;
// One span per request with its own span id, so count(distinct span_id)
// tells a row stored twice from two rows.
const traceBody = (m, i) => JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'crash' } }] },
  scopeSpans: [{ spans: [{ traceId: crypto.randomBytes(16).toString('hex'), spanId: i.toString(16).padStart(8, '0') + crypto.randomBytes(4).toString('hex'),
    name: m, kind: 1, startTimeUnixNano: String(nowNs()), endTimeUnixNano: String(nowNs() + 1000000000n) }] }] }] });
const logBody = (m) => JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ timeUnixNano: String(nowNs()), body: { stringValue: m } }] }] }] });

const db = (s) => path.join(s.data, 'openwit.db');
function allFiles(dir) {
  const out = [];
  const walk = (d) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(path.join(d, e.name)) : out.push(path.join(d, e.name)); };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}
const tmpFiles = (s) => allFiles(path.join(s.data, 'parquet')).filter((f) => f.endsWith('.tmp'));
const catalog = (s) => sql(db(s), 'select path, rows from parts');
async function until(cond, ms = 10000, step = 10) {
  const t0 = Date.now();
  for (;;) {
    const v = await cond();
    if (v || Date.now() - t0 > ms) return v;
    await sleep(step);
  }
}

// The load: n requests from conc clients on keep-alive connections, traces
// and/or logs in turn, until n are sent or st.stop is set. A request counts
// as acknowledged when its answer is 200.
function load(s, tag, { n, conc = 4, signals = ['traces', 'logs'], base = 0 }) {
  const st = { stop: false, sent: new Map(), acked: new Map(), codes: {}, errors: [] };
  const agent = new http.Agent({ keepAlive: true, maxSockets: conc });
  let next = 0;
  async function client() {
    while (!st.stop && next < n) {
      const i = base + next++;
      const m = marker(tag, i);
      const signal = signals[i % signals.length];
      st.sent.set(m, signal);
      try {
        const r = await httpPost(s.ports.otlp, `/v1/${signal}`, signal === 'traces' ? traceBody(m, i) : logBody(m), { agent });
        st.codes[r.code] = (st.codes[r.code] || 0) + 1;
        if (r.code === 200) st.acked.set(m, signal);
      } catch (e) {
        st.errors.push(String(e));
      }
    }
  }
  const t0 = Date.now();
  st.done = Promise.all(Array.from({ length: conc }, client)).then(() => { agent.destroy(); st.ms = Date.now() - t0; });
  return st;
}
// Stops the load once cond() holds, lets the requests in flight finish
// (so every request sent has its answer), then kill -9.
async function killWhen(s, st, cond, what) {
  const seen = await until(cond, 15000, 5);
  st.stop = true;
  await st.done;
  s.proc.kill('SIGKILL');
  await s.exited;
  ok(seen, `${what}: the server reached the state to kill it in`);
  is(s.exitSignal, 'SIGKILL', `${what}: killed with SIGKILL`);
  s.forget();
  return !!seen;
}
function loadOk(st, label) {
  is(st.errors, [], `${label}: no request failed`);
  is(Object.keys(st.codes), ['200'], `${label}: every answer is 200 (${st.acked.size} acknowledged in ${st.ms} ms)`);
}

// Every batch stored and cleaned: the WAL is empty, every tracker row has
// storage_pip and wal_removed_at.
async function settled(s, ms = 15000) {
  return until(() => {
    if (walFiles(s.data).length) return false;
    const rows = sql(db(s), 'select storage_pip, wal_removed_at from batch_tracker');
    return rows.length > 0 && rows.every((r) => r.storage_pip === 1 && r.wal_removed_at);
  }, ms, 50);
}

// The exactly-once check on a settled data directory.
async function verify(s, label, st) {
  ok(await settled(s), `${label}: settled: the WAL is empty, every batch_tracker row has storage_pip = 1 and wal_removed_at`,
    { wal: walFiles(s.data).length, tracker: sql(db(s), 'select storage_pip, wal_removed_at is not null w, count(*) n from batch_tracker group by 1, 2') });
  const files = partFiles(s.data);
  for (const signal of ['traces', 'logs']) {
    const want = [...st.acked.values()].filter((x) => x === signal).length;
    if (!want) continue;
    const has = files.some((f) => f.includes(`/${signal}/`));
    const q = has ? (await duck(`select count(*)::INT n, count(distinct span_id)::INT d from ${parts(s.data, signal)}`))[0] : { n: 0, d: 0 };
    is(q.n, want, `${label}: DuckDB: ${signal} rows = acknowledged ${signal} records (${want})`);
    if (signal === 'traces') is(q.d, q.n, `${label}: DuckDB: count(distinct span_id) = count(*)`);
  }
  const count = await storedMarkers(s.data, MARK_RE);
  const missing = [...st.acked.keys()].filter((m) => !count.has(m));
  const twice = [...count].filter(([, c]) => c > 1).map(([m]) => m);
  const strangers = [...count.keys()].filter((m) => !st.acked.has(m));
  is(missing, [], `${label}: every acknowledged marker is stored`);
  is(twice, [], `${label}: no marker is stored twice`);
  is(strangers, [], `${label}: nothing else is stored`);
  is(tmpFiles(s), [], `${label}: no *.tmp file is left`);
  const cat = catalog(s);
  const onDisk = files.map((f) => path.relative(s.data, f)).sort();
  is(cat.map((p) => p.path).sort(), onDisk, `${label}: every part file is in the catalog and every catalog row is a part file (${onDisk.length})`);
  is(cat.reduce((a, p) => a + p.rows, 0), st.acked.size, `${label}: the catalog's rows add up to the acknowledged records`);
}

// ---- 1. kill -9 during a part's fdatasync, under load ----
// 160 requests from 4 clients (many small batches: the first flush takes
// them all, or those that came before it); then, while that part's
// fdatasync hangs, 40 more are acknowledged into new buffers, and kill -9.
{
  const t0 = Date.now();
  const s = await start({ tag: 'sc-fsync', bin: faultsBin, config: CONFIG, env: { OPENWIT_IO_FAULTS: 'pq.fsync:SLOW:1', OPENWIT_IO_SLOW_MS: '3000' } });
  const st1 = load(s, 's1', { n: 160, conc: 4 });
  await st1.done;
  const seen = await until(() => tmpFiles(s).length > 0, 10000, 5);
  ok(seen, 'slow part fsync: a part is being written (.tmp under data/parquet)');
  const st2 = load(s, 's1', { n: 40, conc: 4, base: 160 });
  await st2.done;
  s.proc.kill('SIGKILL');
  await s.exited;
  is(s.exitSignal, 'SIGKILL', 'slow part fsync: killed with SIGKILL');
  s.forget();
  loadOk(st1, 'slow part fsync (before the flush)');
  loadOk(st2, 'slow part fsync (during the flush)');
  const st = { acked: new Map([...st1.acked, ...st2.acked]) };
  const tmps = tmpFiles(s);
  is(tmps.length, 1, 'slow part fsync: at the kill, one part is being written (.tmp)');
  ok(tmps.length === 1 && fs.readFileSync(tmps[0]).subarray(-4).toString() === 'PAR1', 'slow part fsync: its bytes are all written (ends with PAR1): the kill came in its fdatasync');
  if (tmps.length === 1) {
    // the unfinished part is whole: it names the batches of the flushed buffer
    const kv = await duck(`select decode(value) v from parquet_kv_metadata('${tmps[0]}') where decode(key) = 'openwit.batch_ids'`);
    const ids = kv.length ? kv[0].v.split(',') : [];
    const rows = Number((await duck(`select count(*) n from read_parquet('${tmps[0]}')`))[0].n);
    ok(ids.length > 1, `slow part fsync: the flushed buffer holds several batches (${ids.length} batches, ${rows} rows)`);
  }
  is(partFiles(s.data), [], 'slow part fsync: no part was renamed into place');
  is(catalog(s), [], 'slow part fsync: the catalog lists no part');
  const walAtKill = walFiles(s.data).length;
  const s2 = await start({ dir: s.dir, ports: s.ports, config: CONFIG });
  for (const f of tmps) {
    ok(!fs.existsSync(f), 'restart: the .tmp file is removed');
    like(s2.log(), new RegExp(`\\[warn\\] storage: removing \\S*${path.basename(f).replace(/\./g, '\\.')}: an unfinished write`), 'restart: a warn line says it removes an unfinished write');
  }
  like(s2.log(), /storage: recovery removed 1 uncommitted part files/, 'restart: recovery counts the removed file');
  const rec = s2.log().match(/wal: recovery: (\d+) complete batches \((\d+) records\) replayed/);
  ok(rec && Number(rec[1]) === walAtKill && Number(rec[1]) > 1, `restart: every WAL file (${walAtKill}) is replayed, several batches`, rec && rec[0]);
  ok(rec && Number(rec[2]) === st.acked.size, 'restart: the replayed records are the acknowledged ones', rec && rec[0]);
  await verify(s2, 'slow part fsync', st);
  is((await s2.stop()).code, 0, 'slow part fsync: SIGTERM exits 0');
  s2.forget();
  note(`scenario 1: ${Date.now() - t0} ms`);
}

// ---- 2. kill -9 between the rename and the commit ----
// On the first flush of traces, make_dirs creates and syncs six directories
// (parquet/default, traces, yyyy, mm, dd, node-1 each synced in its
// parent); the 7th directory fsync is the one after the rename.
{
  const t0 = Date.now();
  const s = await start({ tag: 'sc-rename', bin: faultsBin, config: CONFIG, env: { OPENWIT_IO_FAULTS: 'pq.dirsync:SLOW:7', OPENWIT_IO_SLOW_MS: '3000' } });
  const st = load(s, 's2', { n: 60, conc: 4, signals: ['traces'] });
  await killWhen(s, st, () => partFiles(s.data).length > 0 && catalog(s).length === 0, 'slow directory fsync after the rename');
  loadOk(st, 'rename before commit');
  const orphans = partFiles(s.data);
  is(orphans.length, 1, 'rename before commit: at the kill, one part file is in place');
  is(tmpFiles(s), [], 'rename before commit: no .tmp (it was renamed)');
  is(catalog(s), [], 'rename before commit: the catalog does not list it');
  const orphanRows = orphans.length ? Number((await duck(`select count(*) n from read_parquet('${orphans[0]}')`))[0].n) : 0;
  ok(orphanRows > 0, `rename before commit: the uncommitted part is a whole, readable file (${orphanRows} rows)`);
  const s2 = await start({ dir: s.dir, ports: s.ports, config: CONFIG, bin: faultsBin });
  for (const f of orphans) {
    ok(!fs.existsSync(f), 'restart: the uncommitted part is removed');
    like(s2.log(), new RegExp(`\\[warn\\] storage: removing \\S*${path.basename(f).replace(/\./g, '\\.')}: not in the catalog \\(never committed\\)`), 'restart: a warn line says it was not in the catalog');
  }
  const rec = s2.log().match(/wal: recovery: (\d+) complete batches \((\d+) records\) replayed/);
  ok(rec && Number(rec[2]) === st.acked.size, `restart: the acknowledged records are replayed from the WAL (${st.acked.size})`, rec && rec[0]);
  await verify(s2, 'rename before commit', st);
  is((await s2.stop()).code, 0, 'rename before commit: SIGTERM exits 0');
  s2.forget();
  note(`scenario 2: ${Date.now() - t0} ms`);
}

// ---- 3. kill -9 after the commit, before the WAL files are removed ----
// The WAL writer unlinks only after a failed write: WAL-domain unlinks are
// the janitor's, after the STORED commit. The kill comes during the second,
// so one stored batch has lost its WAL file and the next has not: recovery
// must remove the one and still mark both as cleaned (wal_removed_at).
{
  const t0 = Date.now();
  const s = await start({ tag: 'sc-janitor', bin: faultsBin, config: CONFIG, env: { OPENWIT_IO_FAULTS: 'unlink:SLOW:2', OPENWIT_IO_SLOW_MS: '3000' } });
  const st = load(s, 's3', { n: 80, conc: 4 });
  await killWhen(s, st, () => catalog(s).length > 0 && walFiles(s.data).length > 0, 'slow WAL unlink');
  loadOk(st, 'commit before janitor');
  const stored = new Set(sql(db(s), 'select batch_id from batch_tracker where storage_pip = 1').map((r) => r.batch_id));
  const fileId = (f) => path.basename(f).replace(/^batch_/, '').replace(/(_r\d+)?\.wal$/, '');
  const walStored = walFiles(s.data).filter((f) => stored.has(fileId(f)));
  ok(catalog(s).length > 0, `commit before janitor: at the kill, the catalog lists parts (${catalog(s).length})`);
  ok(walStored.length > 0, `commit before janitor: WAL files of stored batches remain (${walStored.length})`);
  const s2 = await start({ dir: s.dir, ports: s.ports, config: CONFIG });
  const already = [...s2.log().matchAll(/\[info\] wal: recovery: batch (\S+) is already stored; removing (\S+)/g)];
  is(already.map((m) => m[2]).sort(), walStored.sort(), 'restart: recovery says each stored batch is already stored and removes its WAL file');
  ok(walStored.every((f) => !fs.existsSync(f)), 'restart: those WAL files are gone');
  await verify(s2, 'commit before janitor', st);
  is((await s2.stop()).code, 0, 'commit before janitor: SIGTERM exits 0');
  s2.forget();
  note(`scenario 3: ${Date.now() - t0} ms`);
}

// ---- 4. a part's fdatasync fails: the flush is retried ----
{
  const t0 = Date.now();
  const ERR = /\[error\] storage: flush of default\/(traces|logs) \(\d+ rows\) failed: cannot write \S+\.tmp: Input\/output error; retrying in \d+ ms/;
  const s = await start({ tag: 'sc-eio', bin: faultsBin, config: CONFIG, env: { OPENWIT_IO_FAULTS: 'pq.fsync:EIO:1' }, allowErrors: [ERR] });
  const st = load(s, 's4', { n: 60, conc: 4 });
  await st.done;
  loadOk(st, 'part fsync EIO');
  await verify(s, 'part fsync EIO', st);
  const errs = s.log().split('\n').filter((l) => /\[(error|crit)\]/.test(l));
  is(errs.length, 1, 'part fsync EIO: one error line');
  like(errs[0], ERR, 'part fsync EIO: it names the flush, the .tmp file and EIO, and the retry');
  is((await s.stop()).code, 0, 'part fsync EIO: SIGTERM exits 0');
  s.forget();
  note(`scenario 4: ${Date.now() - t0} ms`);
}

// ---- 5. a full disk while a part is written, then space ----
{
  const t0 = Date.now();
  const s = await start({ tag: 'sc-enospc', bin: faultsBin, config: CONFIG, env: { OPENWIT_IO_FAULTS: 'pq.write:ENOSPC:1-3' } });
  const st = load(s, 's5', { n: 40, conc: 4, signals: ['logs'] });
  await st.done;
  loadOk(st, 'ENOSPC');
  await verify(s, 'ENOSPC', st);
  const warns = s.log().split('\n').filter((l) => /\[warn\] storage: flush of default\/logs \(\d+ rows\) failed: cannot write \S+\.tmp: No space left on device; retrying in 1000 ms/.test(l));
  is(warns.length, 3, 'ENOSPC: three warn lines, one per failed attempt, each retrying in 1 s');
  is((await s.stop()).code, 0, 'ENOSPC: SIGTERM exits 0');
  s.forget();
  note(`scenario 5: ${Date.now() - t0} ms`);
}

// ---- 6. SIGTERM flushes everything ----
{
  const t0 = Date.now();
  const s = await start({ tag: 'sc-term', config: { 'storage.buffer.flush_interval_ms': 600000 } });
  const st = load(s, 's6', { n: 100, conc: 4 });
  await st.done;
  loadOk(st, 'SIGTERM');
  ok(walFiles(s.data).length > 0 && partFiles(s.data).length === 0, 'SIGTERM: before the stop the rows are in the WAL and the buffers, no part yet');
  is((await s.stop('SIGTERM')).code, 0, 'SIGTERM: exit 0');
  is(walFiles(s.data), [], 'SIGTERM: the WAL is empty after the exit');
  await verify(s, 'SIGTERM', st);
  s.forget();
  note(`scenario 6: ${Date.now() - t0} ms`);
}

note(`total: ${Date.now() - T0} ms`);
done();
})();

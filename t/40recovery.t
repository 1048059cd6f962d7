#!/usr/bin/env node
// kill -9 mid-load and restart: every acknowledged request is there, exactly
// once; then a torn WAL file is removed and a corrupt one quarantined.
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const crypto = require('node:crypto');
(async () => {
const { start, curl, curlJSON, sql, ok, is, like, note, done, sleep, jsonTraces, jsonLogs, walFiles, walRecords } = await import('./lib/harness.mjs');

const TOTAL = 1500, CONC = 8, KILL_AT = 600;
const TENANTS = ['default', 'tenant-b'];

// Fixed-width markers, so that no marker is a prefix of another.
const MARK_RE = /mark-\d{6}-[0-9a-f]{8}/g;
const marker = (i) => `mark-${String(i).padStart(6, '0')}-${crypto.randomBytes(4).toString('hex')}`;

// POST on a keep-alive agent; resolves at the status line (a 200 there is an
// acknowledgement, whatever happens to the rest of the connection).
const agent = new http.Agent({ keepAlive: true, maxSockets: CONC });
function post(port, p, body, tenant) {
  return new Promise((resolve, reject) => {
    const headers = { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) };
    if (tenant !== 'default') headers['X-Scope-OrgID'] = tenant;
    const req = http.request({ host: '127.0.0.1', port, path: p, method: 'POST', headers, agent }, (res) => {
      res.on('error', () => {});
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', reject);
    req.end(body);
  });
}

// WAL contents: for every marker, how many records hold it.
function walMarkers(data) {
  const count = new Map();
  let records = 0;
  for (const f of walFiles(data))
    for (const r of walRecords(f)) {
      records++;
      for (const m of r.toString('latin1').match(MARK_RE) || []) count.set(m, (count.get(m) || 0) + 1);
    }
  return { count, records };
}
const fileId = (f) => path.basename(f).replace(/^batch_/, '').replace(/(_r\d+)?\.wal$/, '');
const RECOVERY_RE = /wal: recovery: (\d+) complete batches \((\d+) records\) replayed, (\d+) torn files removed, (\d+) corrupt files quarantined/;

const s = await start({ tag: 'recovery' });
const db = path.join(s.data, 'openwit.db');

// ---- the load, killed part way ----
const acked = new Set(), sent = new Map();
let next = 0, killed = false, inflight = 0, inflightAtKill = -1, errorsBeforeKill = [], errorsAfterKill = 0, otherCodes = [];
async function loop() {
  while (!killed && next < TOTAL) {
    const i = next++;
    const m = marker(i);
    const tenant = TENANTS[i % 3 === 0 ? 1 : 0];
    const logs = i % 2 === 1;
    sent.set(m, tenant);
    inflight++;
    try {
      const code = await post(s.ports.otlp, logs ? '/v1/logs' : '/v1/traces', logs ? jsonLogs(m) : jsonTraces(m), tenant);
      if (code === 200) acked.add(m);
      else otherCodes.push(code);
      if (acked.size >= KILL_AT && !killed) {
        killed = true;
        inflightAtKill = inflight - 1;
        s.proc.kill('SIGKILL');
      }
    } catch (e) {
      if (killed) errorsAfterKill++;
      else errorsBeforeKill.push(String(e));
    } finally {
      inflight--;
    }
  }
}
const t0 = Date.now();
await Promise.all(Array.from({ length: CONC }, loop));
agent.destroy();
await s.exited;
note(`load: ${sent.size} sent, ${acked.size} acknowledged, ${errorsAfterKill} failed at the kill, in ${Date.now() - t0} ms`);
ok(killed, `the server was killed after ${KILL_AT} acknowledgements`);
ok(sent.size < TOTAL, 'the kill came before the end of the load');
ok(inflightAtKill > 0, `requests were in flight at the kill (${inflightAtKill})`);
is(errorsBeforeKill, [], 'no request failed before the kill');
is(otherCodes, [], 'every response before the kill was 200');
is(s.exitSignal, 'SIGKILL', 'the server died of SIGKILL');
s.forget();

// ---- restart on the same directory and ports ----
const s2 = await start({ dir: s.dir, ports: s.ports });
const rec = s2.log().match(RECOVERY_RE);
ok(rec, 'the restart logs a recovery line', s2.log());
const files = walFiles(s2.data);
const { count, records } = walMarkers(s2.data);
const missing = [...acked].filter((m) => !count.has(m));
const repeated = [...acked].filter((m) => count.get(m) > 1);
is(missing, [], 'every acknowledged marker is in a WAL record');
is(repeated, [], 'no acknowledged marker is in more than one WAL record');
ok([...count.keys()].every((m) => sent.has(m)), 'every marker in the WAL was sent');
ok([...count.values()].every((n) => n === 1), 'no marker at all appears twice');
note(`WAL: ${files.length} files, ${records} records, ${count.size - acked.size} unacknowledged requests made it too`);
is(records, count.size, 'every WAL record holds one marker');
for (const f of files) {
  const dir = path.basename(path.dirname(f));
  if (!TENANTS.includes(dir)) { ok(false, `unexpected tenant directory ${dir}`); break; }
}
ok(TENANTS.every((t) => files.some((f) => path.basename(path.dirname(f)) === t)), 'both tenants have WAL files');
if (rec) {
  is(Number(rec[1]), files.length, 'recovery: kept batches = WAL files present');
  is(Number(rec[2]), records, 'recovery: kept records = WAL records present (one span or log record each)');
  is(Number(rec[4]), 0, 'recovery: nothing quarantined after a kill -9');
  note(`recovery: ${rec[3]} torn files removed (created but not written when killed)`);
}
like(s2.log(), /\[info\] wal: recovery:/, 'the recovery line is at info level');

// the tracker: a row for every WAL file (recovery inserts missing ones, asynchronously)
let rows = [], ids = files.map(fileId), t1 = Date.now();
for (;;) {
  rows = sql(db, 'select batch_id, client_id, message_count, wal_pip from batch_tracker');
  const have = new Set(rows.map((r) => r.batch_id));
  if (ids.every((id) => have.has(id)) || Date.now() - t1 > 5000) break;
  await sleep(50);
}
const byId = new Map(rows.map((r) => [r.batch_id, r]));
is(ids.filter((id) => !byId.has(id)), [], 'every WAL file has a batch_tracker row');
ok(files.every((f) => byId.get(fileId(f))?.client_id === path.basename(path.dirname(f))), 'each row names the tenant of its file');
const msgSum = rows.reduce((a, r) => a + r.message_count, 0);
ok(msgSum >= acked.size, `sum(message_count) ${msgSum} >= ${acked.size} acknowledged requests`);
is(msgSum, records, 'sum(message_count) = WAL records (a row per file, no row without one)');
ok(rows.every((r) => r.wal_pip === 1), 'every row has wal_pip = 1');

// the restarted server takes data
let r = curl(`${s2.otlp}/v1/traces`, ['-X', 'POST', '-H', 'Content-Type: application/json', '--data-binary', jsonTraces('after-restart')]);
is(r.code, 200, 'the restarted server acknowledges a request');

// ---- damage: a torn file and a corrupt one ----
// SIGKILL again, so the replayed batches' WAL files stay (a clean stop
// would flush them to Parquet and remove them)
s2.kill();
await s2.exited;
s2.forget();
const before = walFiles(s.data).sort();
const bigFirst = (f) => walRecords(f)[0].length;
const corrupt = before.filter((f) => bigFirst(f) >= 32)[0];
const source = before.find((f) => f !== corrupt);
ok(corrupt && source, 'two WAL files to damage');
const tornName = `batch_01900000-0000-7000-8000-${crypto.randomBytes(6).toString('hex')}.wal`;
const torn = path.join(path.dirname(source), tornName);
const img = fs.readFileSync(source);
fs.writeFileSync(torn, img.subarray(0, img.length - 10));
const cimg = fs.readFileSync(corrupt);
const hlen = cimg.readUInt32LE(8);
const rlen = cimg.readUInt32LE(hlen);
const at = hlen + 8 + (rlen >> 1);
ok(at > hlen + 8 && at < cimg.length - 28, 'the flipped byte is inside the first record payload');
cimg[at] ^= 0x5a;
fs.writeFileSync(corrupt, cimg);
const corruptName = path.basename(corrupt), corruptTenant = path.basename(path.dirname(corrupt));

const s3 = await start({ dir: s.dir, ports: s.ports, allowErrors: [/corrupt/] });
ok(true, 'the server starts (ready) with a torn and a corrupt WAL file');
ok(!fs.existsSync(torn), 'the torn file is gone');
const qpath = path.join(s3.data, 'quarantine', 'wal', corruptTenant, corruptName);
ok(fs.existsSync(qpath), `the corrupt file is in data/quarantine/wal/${corruptTenant}/ under its name`);
ok(!fs.existsSync(corrupt), 'the corrupt file is no longer in the WAL directory');
ok(fs.existsSync(qpath) && fs.readFileSync(qpath).equals(cimg), 'the quarantined file is unchanged');
is(walFiles(s3.data).sort(), before.filter((f) => f !== corrupt), 'every other WAL file is still there');
like(s3.log(), new RegExp(`\\[warn\\] wal: recovery: removing \\S*${tornName} \\(no valid trailer\\)`), 'a warn line about removing the torn file');
like(s3.log(), new RegExp(`\\[error\\] wal: recovery: WAL file \\S*${corruptName} is corrupt \\(record 0 checksum mismatch\\)`), 'an error line about the corrupt file');
const rec3 = s3.log().match(RECOVERY_RE);
ok(rec3 && Number(rec3[1]) === before.length - 1 && rec3[3] === '1' && rec3[4] === '1',
  'recovery line: the other batches kept, 1 torn file removed, 1 corrupt file quarantined', rec3 && rec3[0]);

let alerts = [];
t1 = Date.now();
for (;;) {
  const a = curlJSON(`${s3.control}/api/batch-monitor/alerts`);
  alerts = (a.json && a.json.alerts) || [];
  if (alerts.some((x) => x.kind === 'wal_corrupt') || Date.now() - t1 > 5000) break;
  await sleep(50);
}
const al = alerts.find((x) => x.kind === 'wal_corrupt');
ok(al, 'the alerts API lists a wal_corrupt alert', alerts);
ok(al && al.message.includes(corruptName), 'the alert names the file', al);
is(al && al.batch_id, fileId(corrupt), 'the alert carries the batch id');
const m = curl(`${s3.control}/metrics`).text;
like(m, /^openwit_wal_quarantined_files 1$/m, '/metrics: openwit_wal_quarantined_files 1');
like(m, new RegExp(`^openwit_wal_recovered_batches ${before.length - 1}$`, 'm'), '/metrics: openwit_wal_recovered_batches counts the good files');
r = curl(`${s3.otlp}/v1/logs`, ['-X', 'POST', '-H', 'Content-Type: application/json', '--data-binary', jsonLogs('after-quarantine')]);
is(r.code, 200, 'the server takes data after quarantining');
is((await s3.stop('SIGTERM')).code, 0, 'SIGTERM: exit 0');
done();
})();

#!/usr/bin/env node
// Retention and completion (modules/janitor, modules/catalog, the tracker):
// parts older than storage.local_retention leave the disk, the catalog and
// the answers while newer ones stay, per tenant by the overrides; a query in
// flight keeps reading the part dropped under it; a SIGKILL between the
// drop's commit and its unlink leaves an orphan that recovery removes;
// batches complete when their parts are dropped or indexed (index_pip set
// by hand with the indexer off, then by the indexer itself); a stuck batch
// raises one alert row, ever;
// /metrics has the per-stage latency histograms (promtool checks them when
// installed) and /api/batch-monitor/throughput the per-tenant rates.
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
(async () => {
const { start, faultsBin, curl, curlJSON, httpPost, sql, partFiles, walFiles, ok, is, like, note, done, sleep, tmpdir } = await import('./lib/harness.mjs');
const tmp = tmpdir('retention-body');
let nb = 0;
const file = (body) => { const f = path.join(tmp, `b${nb++}`); fs.writeFileSync(f, body); return f; };
const NS_H = 3600n * 1000000000n;
const now = () => BigInt(Date.now()) * 1000000n;
const logs = (marker, t, n = 3) => JSON.stringify({ resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'ret' } }] },
  scopeLogs: [{ logRecords: Array.from({ length: n }, (_, i) => ({ timeUnixNano: String(t + BigInt(i)), body: { stringValue: `${marker} ${i}` } })) }] }] });
const send = (s, tenant, body) => curl(`${s.otlp}/v1/logs`, ['-X', 'POST', '-H', 'Content-Type: application/json', '-H', `X-Scope-OrgID: ${tenant}`, '--data-binary', `@${file(body)}`]);
const search = (s, tenant, query) => {
  const r = curlJSON(`${s.control}/api/search`, ['-H', `X-Scope-OrgID: ${tenant}`, '--data-binary', `@${file(JSON.stringify({ query }))}`]);
  return r.json && r.json.result ? r.json.result.rows : r;
};
const markers = (s, tenant) => {
  const rows = search(s, tenant, "SELECT DISTINCT substr(body, 1, instr(body, ' ') - 1) AS m FROM logs ORDER BY m");
  return Array.isArray(rows) ? rows.map((x) => x.m) : rows;
};
const db = (s) => path.join(s.data, 'openwit.db');
const catalog = (s) => sql(db(s), 'select part_id, tenant, path, max_time from parts order by tenant, max_time');
const until = async (fn, ms = 10000, step = 25) => { const t0 = Date.now(); while (Date.now() - t0 < ms) { if (await fn()) return true; await sleep(step); } return false; };
const batchOf = (s, tenant) => sql(db(s), `select * from batch_tracker where client_id = '${tenant}' order by created_at`);
const metric = (text, re) => Number((text.match(re) || [])[1]);

const dir = tmpdir('retention');
// the indexer off: a part stays unindexed until a step says otherwise
const KEEP = { 'storage.buffer.flush_interval_ms': 100, 'janitor.interval_seconds': 1, 'index.enabled': 'false' };
// ---- 1. stored while nothing expires: old and new data of two tenants ----
let s = await start({ dir, tag: 'retention', config: { ...KEEP, 'storage.local_retention.retention_days': 0 } });
const tOld = now() - 3n * NS_H, tNew = now();
is(send(s, 'acme', logs('old', tOld)).code, 200, 'acme: records 3 hours old are acknowledged');
ok(await until(() => catalog(s).length === 1), 'and flushed into a part');
is(send(s, 'acme', logs('new', tNew)).code, 200, 'acme: records of now');
is(send(s, 'keep', logs('kept', tOld)).code, 200, 'keep: records 3 hours old');
ok(await until(() => catalog(s).length === 3 && walFiles(s.data).length === 0), 'three parts, the WAL empty');
is(markers(s, 'acme'), ['new', 'old'], 'acme: the answers hold old and new records');
const oldPart = catalog(s).find((p) => p.tenant === 'acme' && BigInt(p.max_time) < tNew - NS_H);
ok(oldPart && fs.existsSync(path.join(s.data, oldPart.path)), 'acme: the old part is on disk');
const [oldBatch, newBatch] = batchOf(s, 'acme');
ok(oldBatch && oldBatch.wal_removed_at && newBatch && newBatch.wal_removed_at, 'both acme batches lost their WAL files (wal_removed_at)');
ok(!oldBatch.janitor_pip && !newBatch.janitor_pip, 'neither is completed: their parts are neither indexed nor dropped');
is((await s.stop()).code, 0, 'SIGTERM: exit 0');
s.forget();

// ---- 2. restart with 2 hours of retention: the next pass drops the old part ----
const RET = { ...KEEP, 'query.timeout_ms': 600000, 'storage.local_retention.retention_hours': 2, 'storage.local_retention.overrides': '["keep/*=0", "*/metrics=30d"]' };
s = await start({ dir, tag: 'retention', config: RET });
ok(await until(() => !catalog(s).some((p) => p.part_id === oldPart.part_id)), 'restarted with retention_hours 2: the old acme part leaves the catalog');
ok(await until(() => !fs.existsSync(path.join(s.data, oldPart.path))), '... and the disk');
is(markers(s, 'acme'), ['new'], '... and the answers; the new records stay');
is(markers(s, 'keep'), ['kept'], 'tenant keep (override keep/*=0) keeps its 3-hour-old part');
is(sql(db(s), `select count(*) n from batch_parts where part_id = '${oldPart.part_id}'`)[0].n, 0, 'the dropped part\'s batch mappings went with it');
ok(await until(() => batchOf(s, 'acme')[0].janitor_pip === 1), 'the old batch is COMPLETED: its WAL is gone and its only part was dropped');
let [ob, nbt] = batchOf(s, 'acme');
ok(ob.janitor_completed_at && ob.wal_removed_at && ob.janitor_completed_at >= ob.wal_removed_at, 'with janitor_completed_at, after wal_removed_at');
is(nbt.janitor_pip, 0, 'the new batch stays pending (its part is kept and not indexed)');
is(sql(db(s), "select count(*) n from batch_tracker")[0].n, 3, 'retention deleted no tracker row');
let prom = curl(`${s.control}/metrics`).text;
is(metric(prom, /^openwit_parts_dropped_total\{reason="retention"\} (\d+)$/m), 1, '/metrics: one part dropped by retention');
ok(await until(() => /janitor: dropped 1 parts \(\d+ bytes\): retention/.test(s.log())), 'logged');

// ---- 3. old records sent now leave at the next pass; a query in flight keeps its snapshot ----
const tLate = now() - 5n * NS_H;
// the new part, known by its id: max_time read through the sqlite3 shell's
// JSON is a double here, rounded to 256 ns, too coarse to tell parts apart
const known = new Set(catalog(s).map((p) => p.part_id));
const fresh = () => catalog(s).find((p) => p.tenant === 'acme' && !known.has(p.part_id));
is(send(s, 'acme', logs('late', tLate, 50)).code, 200, 'records 5 hours old sent today are acknowledged');
// the query starts once their part is listed, and reads it (with SQLite,
// forced by a join the columnar engine leaves to it) four hundred
// thousand times: it runs across the janitor's next pass
await until(() => fresh(), 5000, 5);
const latePart = fresh();
ok(latePart, 'their part is committed');
const N = 400000; // seconds even on an idle machine: the pass comes within one
const slowQ = `SELECT count(*) AS n FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT ${N}) SELECT x FROM c) CROSS JOIN logs WHERE logs.body LIKE 'late %'`;
const t0 = Date.now();
const inflight = httpPost(s.ports.control, '/api/search', JSON.stringify({ query: slowQ, engine: 'sqlite' }), { headers: { 'X-Scope-OrgID': 'acme' } });
let droppedAt = 0, ended = 0;
inflight.then(() => { ended = Date.now(); });
// the janitor logs the drop after its commit, as it takes the part from
// the readers' list
const drops = () => (s.log().match(/janitor: dropped 1 parts \(\d+ bytes\): retention/g) || []).length;
await until(() => { if (drops() === 2) { droppedAt = Date.now(); return true; } return false; }, 20000, 20);
const fileDuring = latePart && fs.existsSync(path.join(s.data, latePart.path));
const ans = await inflight;
note(`query: ${Date.now() - t0} ms; dropped after ${droppedAt - t0} ms`);
ok(droppedAt > 0 && (ended === 0 || droppedAt < ended), 'the janitor dropped the part while the query ran', s.log().split('\n').slice(-15).join('\n'));
ok(!catalog(s).some((p) => p.part_id === latePart.part_id), 'it left the catalog', { latePart, catalog: catalog(s), log: s.log().split('\n').slice(-12) });
ok(fileDuring, 'the file stays while the query holds the part');
let rows;
try { rows = JSON.parse(ans.text).result.rows; } catch { rows = ans.text; }
is([ans.code, rows], [200, [{ n: N * 50 }]], 'the query\'s answer is whole: every row of the dropped part, for every outer row');
ok(await until(() => !fs.existsSync(path.join(s.data, latePart.path)), 20000), 'the query done, the file is unlinked', { latePart, catalog: catalog(s), log: s.log().split('\n').slice(-12) });
is(markers(s, 'acme'), ['new'], 'a new query no longer sees them');
prom = curl(`${s.control}/metrics`).text;
is(metric(prom, /^openwit_parts_dropped_total\{reason="retention"\} (\d+)$/m), 2, '/metrics: two parts dropped by retention');

// ---- 4. completion by the index: index_pip set by hand while stopped ----
is((await s.stop()).code, 0, 'SIGTERM: exit 0');
s.forget();
[ob, nbt] = batchOf({ data: path.join(dir, 'data') }, 'acme');
spawnSync('sqlite3', [path.join(dir, 'data', 'openwit.db'), `UPDATE batch_tracker SET index_pip = 1, index_completed_at = strftime('%Y-%m-%d %H:%M:%f', 'now') WHERE batch_id = '${nbt.batch_id}'`]);
s = await start({ dir, tag: 'retention', config: RET });
ok(await until(() => batchOf(s, 'acme')[1].janitor_pip === 1), 'index_pip set (as the indexer does): the new batch is COMPLETED while its part stays');
ok(catalog(s).some((p) => p.tenant === 'acme'), 'its part is still listed');
prom = curl(`${s.control}/metrics`).text;
ok(metric(prom, /^openwit_batch_stage_seconds_count\{stage="indexed"\} (\d+)$/m) >= 1 && metric(prom, /^openwit_batch_stage_seconds_count\{stage="completed"\} (\d+)$/m) >= 1,
  '/metrics: the indexed and completed stages observed', prom.split('\n').filter((l) => /stage_seconds_count/.test(l)).join('\n'));

// ---- 5. stuck batches: one alert row each, ever ----
// keep's batch is pending (its part is kept and not indexed); make it two
// hours old while the server is stopped
is((await s.stop()).code, 0, 'SIGTERM: exit 0');
s.forget();
const kb = batchOf({ data: path.join(dir, 'data') }, 'keep')[0];
spawnSync('sqlite3', [path.join(dir, 'data', 'openwit.db'), `UPDATE batch_tracker SET created_at = strftime('%Y-%m-%d %H:%M:%f', 'now', '-120 minutes') WHERE batch_id = '${kb.batch_id}'`]);
s = await start({ dir, tag: 'retention', config: RET });
ok(await until(() => sql(db(s), "select count(*) n from alerts where kind = 'stuck'")[0].n > 0), 'a stuck alert row is raised');
await sleep(2500); // two more passes
let al = sql(db(s), "select batch_id, message from alerts where kind = 'stuck'");
is(al.map((a) => a.batch_id), [kb.batch_id], 'one row, for the stuck batch, after several passes');
like((al[0] || {}).message, /batch of keep\/logs created .* stuck at stage index/, 'its message names the tenant, signal and stage');
let r = curlJSON(`${s.control}/api/batch-monitor/batches?status=pending&min_age_minutes=60`);
is(r.json.batches.map((b) => b.batch_id), [kb.batch_id], '/api/batch-monitor/batches?status=pending&min_age_minutes=60 lists it');
r = curlJSON(`${s.control}/api/batch-monitor/alerts`);
ok(r.json.stuck_batches.some((b) => b.batch_id === kb.batch_id && b.stuck_alerted_at) && r.json.alerts.some((a) => a.kind === 'stuck' && a.batch_id === kb.batch_id),
  '/api/batch-monitor/alerts: in stuck_batches (with stuck_alerted_at) and its alert row');
prom = curl(`${s.control}/metrics`).text;
is([metric(prom, /^openwit_batches_stuck (\d+)$/m), metric(prom, /^openwit_stuck_alerts_total (\d+)$/m)], [1, 1], '/metrics: one stuck batch, one stuck alert raised');
is((await s.stop()).code, 0, 'SIGTERM: exit 0');
s.forget();
s = await start({ dir, tag: 'retention', config: RET });
await sleep(2500);
is(sql(db(s), "select count(*) n from alerts where kind = 'stuck'")[0].n, 1, 'after a restart: still one stuck alert row');
prom = curl(`${s.control}/metrics`).text;
is([metric(prom, /^openwit_batches_stuck (\d+)$/m), metric(prom, /^openwit_stuck_alerts_total (\d+)$/m)], [1, 0], '/metrics: still counted as stuck, no new alert');

// ---- 6. histograms and throughput ----
for (let i = 0; i < 5; i++) is(send(s, 'acme', logs(`h${i}`, now())).code, 200, `batch ${i} for the histograms`);
ok(await until(() => batchOf(s, 'acme').filter((b) => b.wal_removed_at).length === 8), 'stored and their WAL files removed');
prom = curl(`${s.control}/metrics`).text;
const wal = prom.split('\n').filter((l) => l.startsWith('openwit_batch_stage_seconds_bucket{stage="wal"'));
ok(wal.length >= 10 && /le="\+Inf"\} 5$/.test(wal[wal.length - 1]), 'the wal stage: every bucket, +Inf counting the 5 batches', wal.join('\n'));
ok(metric(prom, /^openwit_batch_stage_seconds_count\{stage="stored"\} (\d+)$/m) === 5, 'the stored stage: the 5 batches');
const cum = wal.map((l) => Number(l.split(' ').pop()));
ok(cum.every((v, i) => i === 0 || v >= cum[i - 1]), 'buckets are cumulative');
like(prom, /^# TYPE openwit_batch_stage_seconds histogram$/m, 'typed histogram');
const promtool = spawnSync('sh', ['-c', 'command -v promtool']).status === 0;
if (promtool) {
  const pt = spawnSync('promtool', ['check', 'metrics'], { input: prom });
  is(pt.status, 0, 'promtool check metrics accepts /metrics', pt.stdout.toString() + pt.stderr.toString());
} else {
  note('promtool not installed: the format is checked by the lines above');
}
r = curlJSON(`${s.control}/api/batch-monitor/throughput?minutes=60`);
const acme = (r.json.clients || []).find((c) => c.client_id === 'acme');
// acme's 8 batches (old, new, late and these 5) of one request each: 3 + 3 + 50 + 5 * 3 records
ok(acme && acme.batches === 8 && acme.total_messages === 8 && acme.total_records === 71 && Math.abs(acme.messages_per_second - 8 / 3600) < 1e-9,
  'throughput: acme\'s batches, messages, records and messages a second over the last hour', r.json);
ok(!(r.json.clients || []).some((c) => c.client_id === 'keep'), 'throughput: keep\'s batch, two hours old, is not in the last hour');
is(curl(`${s.control}/api/batch-monitor/throughput?minutes=0`).code, 400, 'throughput: minutes=0 is 400');
is((await s.stop()).code, 0, 'SIGTERM: exit 0');
s.forget();

// ---- 7. SIGKILL between the drop's commit and its unlink ----
{
  const d2 = tmpdir('retention-kill');
  let k = await start({ dir: d2, tag: 'retention-kill', config: { ...KEEP, 'storage.local_retention.retention_days': 0 } });
  is(send(k, 'acme', logs('old', now() - 3n * NS_H)).code, 200, 'kill: old records');
  ok(await until(() => catalog(k).length === 1 && walFiles(k.data).length === 0), 'kill: stored');
  const part = catalog(k)[0];
  is((await k.stop()).code, 0, 'kill: SIGTERM');
  k.forget();
  k = await start({ dir: d2, tag: 'retention-kill', bin: faultsBin, config: RET, env: { OPENWIT_IO_FAULTS: 'pq.unlink:SLOW:1', OPENWIT_IO_SLOW_MS: '20000' } });
  ok(await until(() => catalog(k).length === 0), 'kill: the drop committed (the part left the catalog)');
  ok(fs.existsSync(path.join(k.data, part.path)), 'kill: its unlink has not happened yet (slow)');
  k.kill();
  await k.exited;
  k.forget();
  k = await start({ dir: d2, tag: 'retention-kill', config: RET });
  like(k.log(), new RegExp(`storage: removing \\S+${path.basename(part.path)}: not in the catalog`), 'restart: recovery removes the dropped part\'s file as an orphan');
  is(partFiles(k.data), [], 'no part file left');
  is(sql(db(k), 'select (select count(*) from parts) p, (select count(*) from batch_parts) m')[0], { p: 0, m: 0 }, 'no half-dropped state: neither the part nor its mappings');
  ok(await until(() => batchOf(k, 'acme')[0].janitor_pip === 1), 'the batch is COMPLETED at restart (the completion lost with the kill)');
  is((await k.stop()).code, 0, 'kill: SIGTERM');
  k.forget();
}

// ---- 8. completion by the indexer (modules/index sets index_pip) ----
{
  const d3 = tmpdir('retention-index');
  const x = await start({ dir: d3, tag: 'retention-index', config: { ...KEEP, 'index.enabled': 'true' } });
  is(send(x, 'acme', logs('fresh', now())).code, 200, 'indexer on: records of now');
  ok(await until(() => { const b = batchOf(x, 'acme')[0]; return b && b.index_pip === 1 && b.janitor_pip === 1; }),
    'the batch is indexed, then COMPLETED at once (its WAL gone), with no retention drop', batchOf(x, 'acme'));
  is(catalog(x).length, 1, 'its part stays');
  is(sql(db(x), "select count(*) n from alerts where kind = 'stuck'")[0].n, 0, 'and no stuck alert');
  is((await x.stop()).code, 0, 'indexer on: SIGTERM');
  x.forget();
}
done();
})();

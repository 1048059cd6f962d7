#!/usr/bin/env node
// The janitor merges active parts into one stable part per (tenant, signal,
// day), swapping them in one transaction: DuckDB sees every row once before,
// during and after, and the catalog moves every batch to the stable part.
const path = require('node:path');
(async () => {
const { start, faultsBin, curl, sql, duck, parts, partFiles, ok, is, done, sleep, yesterdayNs } = await import('./lib/harness.mjs');
const T0 = yesterdayNs();
const s = await start({ tag: 'merge', config: {
  'storage.buffer.flush_interval_ms': 100, 'storage.file_rotation.file_duration_minutes': 0,
  'storage.file_rotation.check_interval_ms': 60000 } });
const db = path.join(s.data, 'openwit.db');
// Readers go by the catalog: the parts it lists, in one snapshot. (A glob
// over the directory can see a stable part and its actives together for the
// moment between the swap's commit and the unlinks.)
const count = async () => {
  const files = sql(db, "select path from parts where signal = 'traces'").map((p) => `'${path.join(s.data, p.path)}'`);
  return Number((await duck(`select count(*) n from read_parquet([${files.join(',')}])`))[0].n);
};

// five rounds, several flushes, several active parts (the janitor's first
// look is a minute away)
let sent = 0;
for (let round = 0; round < 5; round++) {
  for (let i = 0; i < 20; i++) {
    const body = JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: `svc-${i % 3}` } }] },
      scopeSpans: [{ spans: [{ traceId: (round * 100 + i + 1).toString(16).padStart(32, '0'), spanId: (round * 100 + i + 1).toString(16).padStart(16, '0'),
        name: `r${round}-s${i}`, startTimeUnixNano: String(T0 + BigInt(round * 1000 + i)) }] }] }] });
    sent += curl(`${s.otlp}/v1/traces`, ['-X', 'POST', '-H', 'Content-Type: application/json', '-d', body]).code === 200 ? 1 : 0;
  }
  for (let k = 0; k < 100 && sql(db, "select count(*) n from parts where kind = 'active'")[0].n < round + 1; k++) await sleep(20);
}
is(sent, 100, '100 spans acknowledged');
for (let k = 0; k < 200 && sql(db, 'select coalesce(sum(rows), 0) n from parts')[0].n < 100; k++) await sleep(20);
const before = sql(db, "select part_id, path from parts where kind = 'active'");
ok(before.length >= 5, `several active parts (${before.length})`);
is(await count(), 100, 'DuckDB: 100 rows across the active parts');
s.stop('SIGTERM');
await s.exited;
s.forget();

const fast = { 'storage.buffer.flush_interval_ms': 100, 'storage.file_rotation.file_duration_minutes': 0,
  'storage.file_rotation.check_interval_ms': 50 };
const tmps = () => { const out = []; const walk = (d) => { for (const e of require('node:fs').readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(path.join(d, e.name)) : e.name.endsWith('.tmp') && out.push(e.name); }; walk(path.join(s.data, 'parquet')); return out; };

// SIGKILL during a merge: the stable part's fsync is slow; kill it then
{
  const k = await start({ dir: s.dir, ports: s.ports, bin: faultsBin, env: { OPENWIT_IO_FAULTS: 'pq.fsync:SLOW:1' }, config: fast });
  for (let i = 0; i < 200 && tmps().length === 0; i++) await sleep(10);
  ok(tmps().length === 1, 'a merge is writing its stable part');
  k.kill();
  await k.exited;
  k.forget();
  is(sql(db, "select count(*) n from parts where kind = 'stable'")[0].n, 0, 'killed before its commit: no stable part in the catalog');
  is(await count(), 100, 'DuckDB: still 100 rows (the active parts)');
}
// SIGKILL after a merge's commit, before the active files are unlinked
{
  const k = await start({ dir: s.dir, ports: s.ports, bin: faultsBin, env: { OPENWIT_IO_FAULTS: 'pq.unlink:SLOW:1' }, config: fast });
  for (let i = 0; i < 300 && sql(db, "select count(*) n from parts where kind = 'stable'")[0].n === 0; i++) await sleep(10);
  k.kill();
  await k.exited;
  k.forget();
  is(sql(db, "select kind from parts").map((x) => x.kind), ['stable'], 'killed after its commit: the catalog holds the stable part only');
  ok(partFiles(s.data).length > 1, 'while active files are still on disk');
  is(await count(), 100, 'DuckDB over the catalog: 100 rows');
}

// restart with a janitor that looks often: recovery removes the leftovers
const s2 = await start({ dir: s.dir, ports: s.ports, config: {
  'storage.buffer.flush_interval_ms': 100, 'storage.file_rotation.file_duration_minutes': 0,
  'storage.file_rotation.check_interval_ms': 50 } });
let seen = [], after = [];
for (let k = 0; k < 200; k++) {
  seen.push(await count()); // every read during the merge sees every row once
  after = sql(db, 'select kind, part_id, path, rows from parts');
  if (after.length === 1 && after[0].kind === 'stable') break;
  await sleep(20);
}
ok(seen.every((n) => n === 100), `DuckDB read 100 rows at every look (${seen.length} looks)`);
is(tmps(), [], 'no temporary file is left');
is(after.map((p) => [p.kind, p.rows]), [['stable', 100]], 'the catalog holds one stable part of 100 rows');
ok(/_stable\.parquet$/.test(after[0].path), 'its file is named _stable.parquet');
is(partFiles(s2.data).map((f) => path.relative(s2.data, f)), [after[0].path], 'the active files are gone');
is(Number((await duck(`select count(*) n from ${parts(s2.data, 'traces')}`))[0].n), 100, 'DuckDB over the whole directory: 100 rows after the merge');
is(Number((await duck(`select count(distinct span_id) n from ${parts(s2.data, 'traces')}`))[0].n), 100, 'no span twice');
const bp = sql(db, 'select distinct part_id from batch_parts');
is(bp.map((x) => x.part_id), [after[0].part_id], 'batch_parts points every batch at the stable part');
const batches = sql(db, 'select batch_id from batch_tracker order by 1').map((x) => x.batch_id);
const kv = await duck(`select decode(value) v from parquet_kv_metadata('${path.join(s2.data, after[0].path)}') where decode(key) = 'openwit.batch_ids'`);
is(kv[0].v.split(',').sort(), batches, 'the stable part names every batch in its metadata');
const sorted = await duck(`select service_name, name, epoch_ns(start_time) t from read_parquet('${path.join(s2.data, after[0].path)}')`);
const keys = sorted.map((r) => [r.service_name, r.name, BigInt(r.t)]);
ok(keys.every((k, i) => i === 0 || keys[i - 1][0] < k[0] || (keys[i - 1][0] === k[0] && (keys[i - 1][1] < k[1] || (keys[i - 1][1] === k[1] && keys[i - 1][2] <= k[2])))),
  'the stable part is sorted by service_name, name, start_time');

// a merge that commits before the flush of one of its parts has published
// it (the flush is still removing WAL files, slowly): readers must see each
// row once, and the merged-away file must go
{
  const r = await start({ tag: 'merge-race', bin: faultsBin, env: { OPENWIT_IO_FAULTS: 'unlink:SLOW:2' }, config: {
    'storage.buffer.flush_interval_ms': 100, 'storage.file_rotation.file_duration_minutes': 0,
    'storage.file_rotation.check_interval_ms': 100 } });
  const rdb = path.join(r.data, 'openwit.db');
  const send = (i) => curl(`${r.otlp}/v1/traces`, ['-X', 'POST', '-H', 'Content-Type: application/json', '-d', JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{
    traceId: (i + 1).toString(16).padStart(32, '0'), spanId: (i + 1).toString(16).padStart(16, '0'), name: `s${i}`, startTimeUnixNano: String(T0 + BigInt(i)) }] }] }] })]).code;
  is(send(0), 200, 'race: a first span');
  for (let k = 0; k < 100 && sql(rdb, 'select count(*) n from parts')[0].n < 1; k++) await sleep(20);
  await sleep(300);
  is(send(1), 200, 'race: a second span, whose flush is slow to publish');
  for (let k = 0; k < 150 && !(sql(rdb, "select count(*) n from parts where kind = 'stable'")[0].n === 1 && sql(rdb, 'select count(*) n from parts')[0].n === 1); k++) await sleep(20);
  await sleep(800);
  const q = JSON.parse(curl(`${r.control}/api/search`, ['--data-binary', JSON.stringify({ query: 'SELECT name FROM spans ORDER BY name' })]).text);
  is(q.result.rows.map((x) => x.name), ['s0', 's1'], 'race: the query API sees each span once');
  is(partFiles(r.data).length, 1, 'race: only the stable part is left on disk');
}

// storage.file_rotation.merge_memory_mb: a merge stops reading parts past
// it; the rest make the next stable part, and every row is kept once. A
// value repeated in a part's dictionary is held once (column.h refs): 24
// spans of one 100 KB attribute fit a 1 MB budget, 24 distinct ones do not.
for (const same of [false, true]) {
  const what = same ? 'budget, one blob' : 'budget';
  const m = await start({ tag: 'merge-budget', config: { 'storage.buffer.flush_interval_ms': 100,
    'storage.file_rotation.file_duration_minutes': 0, 'storage.file_rotation.check_interval_ms': 60000 } });
  const mdb = path.join(m.data, 'openwit.db');
  for (let round = 0; round < 6; round++) {
    const spans = [0, 1, 2, 3].map((i) => ({ traceId: (round * 10 + i + 1).toString(16).padStart(32, '0'), spanId: (round * 10 + i + 1).toString(16).padStart(16, '0'),
      name: `b${round}-${i}`, startTimeUnixNano: String(T0 + BigInt(round * 10 + i)),
      attributes: [{ key: 'blob', value: { stringValue: (same ? '' : `${round}-${i}`) + 'x'.repeat(100 * 1024) } }] }));
    const f = path.join(m.dir, `body-${round}.json`);
    require('node:fs').writeFileSync(f, JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans }] }] }));
    is(curl(`${m.otlp}/v1/traces`, ['-X', 'POST', '-H', 'Content-Type: application/json', '--data-binary', `@${f}`]).code, 200, `${what}: round ${round} acknowledged`);
    for (let k = 0; k < 100 && sql(mdb, 'select count(*) n from parts')[0].n < round + 1; k++) await sleep(20);
  }
  is(sql(mdb, "select count(*) n from parts where kind = 'active'")[0].n, 6, `${what}: six active parts`);
  await m.stop();
  m.forget();
  const m2 = await start({ dir: m.dir, ports: m.ports, config: { 'storage.file_rotation.file_duration_minutes': 0,
    'storage.file_rotation.check_interval_ms': 50, 'storage.file_rotation.merge_memory_mb': 1 } });
  let kinds = [];
  for (let k = 0; k < 300; k++) {
    kinds = sql(mdb, 'select kind, rows from parts order by part_id');
    // the merged-away files go after the commit: wait for them too, or
    // DuckDB may list a file that is unlinked before it reads it
    if (kinds.every((p) => p.kind === 'stable') && partFiles(m2.data).length === kinds.length) break;
    await sleep(20);
  }
  if (same) is(kinds, [{ kind: 'stable', rows: 24 }], `${what}: merged into one stable part of all 24 rows`);
  else ok(kinds.length >= 2 && kinds.every((p) => p.kind === 'stable'), `${what}: merged into ${kinds.length} stable parts, none with all 24 rows`, kinds);
  is(kinds.reduce((a, p) => a + p.rows, 0), 24, `${what}: 24 rows in the stable parts`);
  is(Number((await duck(`select count(distinct span_id) n from ${parts(m2.data, 'traces')}`))[0].n), 24, `${what}: DuckDB reads each span once`);
  const blobs = await duck(`select count(*) n, count(distinct attributes) d, min(length(attributes)) > 102400 l from ${parts(m2.data, 'traces')}`);
  is([Number(blobs[0].n), Number(blobs[0].d), blobs[0].l], [24, same ? 1 : 24, true], `${what}: DuckDB reads every blob back`);
  await m2.stop();
  m2.forget();
}
done();
})();

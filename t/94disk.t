#!/usr/bin/env node
// Disk watermarks and max_bytes (modules/janitor), on the fault build's
// pretend disk (OPENWIT_IO_DISK: free and total bytes read from a file,
// plus the bytes of the parts unlinked since start): below the low
// watermark the oldest part of the tenant holding the most bytes goes
// first, with an alert row, and no more than brings free disk back above
// it; a tenant over its max_bytes loses its oldest part; below the
// critical watermark ingest answers 503 and /ready says disk_full, until
// there is room again.
const fs = require('node:fs');
const path = require('node:path');
(async () => {
const { start, faultsBin, curl, curlJSON, sql, walFiles, ok, is, like, note, done, sleep, tmpdir } = await import('./lib/harness.mjs');
const tmp = tmpdir('disk-body');
let nb = 0;
const file = (body) => { const f = path.join(tmp, `b${nb++}`); fs.writeFileSync(f, body); return f; };
const now = () => BigInt(Date.now()) * 1000000n;
const logs = (marker, t, n) => JSON.stringify({ resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'disk' } }] },
  scopeLogs: [{ logRecords: Array.from({ length: n }, (_, i) => ({ timeUnixNano: String(t + BigInt(i)), body: { stringValue: `${marker} ${i} ${'x'.repeat(i * 7 % 50)}` } })) }] }] });
const send = (s, tenant, body) => curl(`${s.otlp}/v1/logs`, ['-X', 'POST', '-H', 'Content-Type: application/json', '-H', `X-Scope-OrgID: ${tenant}`, '--data-binary', `@${file(body)}`]);
const db = (s) => path.join(s.data, 'openwit.db');
const catalog = (s) => sql(db(s), 'select part_id, tenant, path, max_time, bytes from parts order by tenant, max_time');
const until = async (fn, ms = 10000, step = 50) => { const t0 = Date.now(); while (Date.now() - t0 < ms) { if (await fn()) return true; await sleep(step); } return false; };
const metric = (text, re) => Number((text.match(re) || [])[1]);

const dir = tmpdir('disk');
const disk = path.join(tmp, 'disk');
const TOTAL = 10000000;
fs.writeFileSync(disk, `${TOTAL} ${TOTAL}\n`);
const env = { OPENWIT_IO_DISK: disk };
const base = { 'storage.buffer.flush_interval_ms': 100, 'storage.local_retention.retention_days': 0 };
let s = await start({ dir, tag: 'disk', bin: faultsBin, env,
  config: { ...base, 'storage.disk.low_watermark_percent': 10, 'storage.disk.critical_watermark_percent': 5,
    'query.timeout_ms': 600000 } }); // the slow query below takes 4 s idle, over 30 under ASan and load

// big: three parts (one flush each, oldest first); small: one
for (let i = 0; i < 3; i++) {
  is(send(s, 'big', logs(`big${i}`, now() - BigInt(3 - i) * 60000000000n, 40)).code, 200, `big: part ${i}`);
  ok(await until(() => catalog(s).length === i + 1), `big: part ${i} committed`);
}
is(send(s, 'small', logs('small', now() - 240000000000n, 3)).code, 200, 'small: one part, older than all of big\'s');
ok(await until(() => catalog(s).length === 4 && walFiles(s.data).length === 0), 'four parts stored');
let parts = catalog(s);
const bigs = parts.filter((p) => p.tenant === 'big'), small = parts.find((p) => p.tenant === 'small');
ok(bigs.reduce((a, p) => a + p.bytes, 0) > small.bytes, 'big holds more bytes than small');
let prom = curl(`${s.control}/metrics`).text;
is([metric(prom, /^openwit_disk_free_bytes (\d+)$/m), metric(prom, /^openwit_disk_size_bytes (\d+)$/m)], [TOTAL, TOTAL], '/metrics: the pretend disk, all free');

// ---- low watermark: short by one byte less than big's oldest part ----
// A slow query of big's (~4 s) holds its parts' files meanwhile: the
// dropped part's bytes count as freed before its file goes, so the
// janitor's passes every second drop nothing more.
const slow = require('node:child_process').spawn('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'POST', '-H', 'X-Scope-OrgID: big',
  '--data-binary', JSON.stringify({ query: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000000) SELECT count(*) FROM c' }),
  `${s.control}/api/search`]);
let slowOut = '';
slow.stdout.on('data', (d) => { slowOut += d; });
const slowDone = new Promise((r) => slow.on('exit', r));
await sleep(300);
const want = TOTAL / 100 * 10;
fs.writeFileSync(disk, `${want - bigs[0].bytes + 1} ${TOTAL}\n`);
ok(await until(() => !catalog(s).some((p) => p.part_id === bigs[0].part_id)), 'below the low watermark: big\'s oldest part is dropped');
await sleep(2500); // more ticks, the query still holding the dropped file
is(catalog(s).length, 3, 'while a query holds the dropped file, no other part goes');
await slowDone;
is(slowOut, '200', 'the query that held it answered');
ok(await until(() => !fs.existsSync(path.join(s.data, bigs[0].path)), 30000), '... and its file unlinked');
await sleep(2500); // more ticks: free disk is back above the watermark
parts = catalog(s);
is(parts.map((p) => p.part_id), [bigs[1].part_id, bigs[2].part_id, small.part_id], 'only that part: big\'s newer ones and small\'s older one stay');
const al = sql(db(s), "select kind, message from alerts where kind = 'disk_low_watermark'");
is(al.length, 1, 'one alert row');
like((al[0] || {}).message, /free disk \d+ of 10000000 bytes is below storage.disk.low_watermark_percent \(10%\): dropping 1 parts \(\d+ bytes\), the oldest of the tenants holding the most: big$/, 'it says why, how much and whose');
prom = curl(`${s.control}/metrics`).text;
is(metric(prom, /^openwit_parts_dropped_total\{reason="low_watermark"\} (\d+)$/m), 1, '/metrics: one part dropped for the low watermark');
is(send(s, 'small', logs('more', now(), 3)).code, 200, 'ingest goes on above the critical watermark');
is((await s.stop()).code, 0, 'SIGTERM: exit 0');
s.forget();

// ---- max_bytes: big over its share loses its oldest part ----
fs.writeFileSync(disk, `${TOTAL} ${TOTAL}\n`);
const bigBytes = bigs[1].bytes + bigs[2].bytes;
s = await start({ dir, tag: 'disk', bin: faultsBin, env,
  config: { ...base, 'storage.local_retention.max_bytes': `["big=${bigBytes - 1}", "*=1G"]` } });
ok(await until(() => !catalog(s).some((p) => p.part_id === bigs[1].part_id)), 'max_bytes big=its bytes less one: its oldest part is dropped');
await sleep(1500);
is(catalog(s).filter((p) => p.tenant === 'big').map((p) => p.part_id), [bigs[2].part_id], 'its newest stays');
ok(catalog(s).some((p) => p.tenant === 'small'), 'small, under *=1G, keeps its parts');
prom = curl(`${s.control}/metrics`).text;
is(metric(prom, /^openwit_parts_dropped_total\{reason="max_bytes"\} (\d+)$/m), 1, '/metrics: one part dropped for max_bytes');
is((await s.stop()).code, 0, 'SIGTERM: exit 0');
s.forget();

// ---- critical watermark: 503 until there is room ----
s = await start({ dir, tag: 'disk', bin: faultsBin, env,
  config: { ...base, 'storage.disk.low_watermark_percent': 10, 'storage.disk.critical_watermark_percent': 5 } });
is(send(s, 'small', logs('ok', now(), 3)).code, 200, 'above the critical watermark: 200');
fs.writeFileSync(disk, `${TOTAL / 100} ${TOTAL}\n`);
ok(await until(() => send(s, 'small', logs('full', now(), 3)).code === 503), 'below it (1% free): ingest answers 503');
let r = curlJSON(`${s.control}/ready`);
is([r.code, r.json && r.json.status], [503, 'disk_full'], '/ready: 503 disk_full');
r = curl(`${s.otlp}/v1/logs`, ['-X', 'POST', '-H', 'Content-Type: application/json', '--data-binary', `@${file(logs('full', now(), 1))}`]);
is(r.code, 503, 'every tenant gets 503');
ok(await until(() => sql(db(s), "select count(*) n from alerts where kind = 'disk_critical_watermark'")[0].n === 1), 'an alert row');
prom = curl(`${s.control}/metrics`).text;
is(metric(prom, /^openwit_disk_critical (\d+)$/m), 1, '/metrics: openwit_disk_critical 1');
// below the low watermark too: every part goes, then nothing is left
ok(await until(() => catalog(s).length === 0), 'below the low watermark with little to free: every part is dropped');
await sleep(1500); // a part flushed meanwhile goes too
const lows = () => sql(db(s), "select message from alerts where kind = 'disk_low_watermark'").map((x) => x.message);
const n0 = lows().length;
await sleep(2500);
is(lows().length, n0, 'no alert row for the passes with nothing left');
ok(lows().every((m) => /dropping [1-9]\d* parts/.test(m)), 'each low-watermark alert dropped parts', lows());
is((s.log().match(/no part is left to drop/g) || []).length, 1, 'that is logged once');
like(prom, /^openwit_rejected_requests_total\{reason="disk_full"\} [1-9]/m, '/metrics: the refusals counted as disk_full');
fs.writeFileSync(disk, `${TOTAL / 2} ${TOTAL}\n`);
ok(await until(() => send(s, 'small', logs('room', now(), 3)).code === 200), 'room again: 200');
is(curl(`${s.control}/ready`).code, 200, '/ready: 200');
await sleep(200); // the server's log line, read
like(s.log(), /janitor: free disk \d+ of 10000000 bytes is back above storage.disk.critical_watermark_percent \(5%\): ingest resumes/, 'logged');
is((await s.stop()).code, 0, 'SIGTERM: exit 0');
s.forget();

// ---- a slow disk does not hold the loop: the janitor's statvfs and the
// unlinks of merged parts run on the disk thread (the first few take 2.5 s
// each here), while ingest is answered at once ----
{
  fs.writeFileSync(disk, `${TOTAL} ${TOTAL}\n`);
  const sl = await start({ tag: 'disk-slow', bin: faultsBin,
    env: { ...env, OPENWIT_IO_FAULTS: 'pq.space:SLOW:2-4,pq.unlink:SLOW:1-4', OPENWIT_IO_SLOW_MS: '2500' },
    config: { ...base, 'storage.disk.low_watermark_percent': 10, 'storage.disk.critical_watermark_percent': 5, 'index.enabled': false,
      'storage.file_rotation.file_duration_minutes': 0, 'storage.file_rotation.check_interval_ms': 100 } });
  const lat = [];
  for (let i = 0; i < 12; i++) {
    const t0 = Date.now();
    const c = send(sl, 'slow', logs(`slow${i}`, now(), 5)).code;
    lat.push(c === 200 ? Date.now() - t0 : c);
    await sleep(250);
  }
  note(`ack ms: ${lat.join(' ')}`);
  ok(lat.every((x) => x < 1500), 'ingest answered under 1.5 s each while statvfs and unlinks take 2.5 s', lat);
  ok(await until(() => sql(db(sl), "select count(*) n from parts where kind = 'stable'")[0].n >= 1, 15000), 'the parts merged meanwhile');
  const gone = () => { const l = new Set(catalog(sl).map((p) => path.basename(p.path))); return fs.readdirSync(sl.data, { recursive: true }).filter((f) => f.endsWith('.parquet') && !l.has(path.basename(f))); };
  ok(await until(() => gone().length === 0, 45000, 200), 'the merged parts\' files are unlinked all the same', gone());
  is((await sl.stop()).code, 0, 'SIGTERM: exit 0');
  sl.forget();
}
done();
})();

#!/usr/bin/env node
// Flushes that start early and run side by side. Past the high-water mark
// (storage.buffer.flush_at_percent of memory.max_buffer_bytes) the largest
// buffer is written at once, not when a buffer is old or big enough: 3 MB
// of log records pass through a 1 MB budget with flush_interval_ms at ten
// minutes. And flushes of different tenants run at once
// (storage.buffer.max_flushes): while a slow disk (the fault build's SLOW
// fdatasync) holds one tenant's flush, another tenant's runs beside it.
const path = require('node:path');
(async () => {
const { start, faultsBin, curl, sql, duck, parts, ok, is, like, done, sleep, tmpdir, nowNs } = await import('./lib/harness.mjs');
const fs = require('node:fs');
const metric = (srv, name) => Number((new RegExp(`^${name} (\\d+)$`, 'm').exec(curl(`${srv.control}/metrics`).text) || [])[1]);
const rec = (i) => ({ timeUnixNano: String(nowNs() + BigInt(i)), body: { stringValue: `line ${i} ` + 'y'.repeat(2000) } });
const f = path.join(tmpdir('flush-body'), 'logs.json');
fs.writeFileSync(f, JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: Array.from({ length: 50 }, (_, i) => rec(i)) }] }] }));
// a sender that waits as Retry-After says, 20 times at most
const send = async (srv, tenant) => {
  for (let t = 0; t < 20; t++) {
    const r = curl(`${srv.otlp}/v1/logs`, ['-X', 'POST', '-H', 'Content-Type: application/json', '-H', `X-Scope-OrgID: ${tenant}`, '--data-binary', `@${f}`]);
    if (r.code !== 503) return r.code;
    await sleep(1000 * Number(r.headers['retry-after'] || 1));
  }
  return 503;
};
// every acknowledged row is buffered until its part commits (the tracker's
// rows may come a moment after the acknowledgement)
const stored = (srv) => metric(srv, 'openwit_buffered_rows') === 0 &&
  sql(path.join(srv.data, 'openwit.db'), 'select count(*) n from batch_tracker where storage_pip = 0')[0].n === 0;

// the high-water mark
const s = await start({ tag: 'flush-mark', config: { 'memory.max_buffer_bytes': 1048576, 'storage.buffer.flush_at_percent': 50,
  'storage.buffer.flush_interval_ms': 600000, 'storage.buffer.flush_bytes': 1073741824 } });
const codes = [];
for (let i = 0; i < 30; i++) codes.push(await send(s, 'default'));
is(codes.filter((c) => c !== 200).length, 0, '30 requests of ~100 KB through a 1 MB budget are all acknowledged');
ok(metric(s, 'openwit_parts_written_total') >= 2, `flushes started at the mark, not after ten minutes (${metric(s, 'openwit_parts_written_total')} parts)`);
for (let i = 0; i < 100 && !stored(s); i++) await sleep(100);
ok(metric(s, 'openwit_buffered_bytes') <= 1048576, 'the buffers stay within memory.max_buffer_bytes');
const inParts = Number((await duck(`select count(*) n from ${parts(s.data, 'logs')}`))[0].n);
const buffered = metric(s, 'openwit_buffered_rows');
is(inParts + buffered, 30 * 50, `every acknowledged record is in Parquet (${inParts}) or still buffered (${buffered})`);
await s.stop();

// two tenants' flushes at once, while the disk is slow
const c = await start({ tag: 'flush-two', bin: faultsBin, env: { OPENWIT_IO_FAULTS: 'pq.fsync:SLOW:1-2', OPENWIT_IO_SLOW_MS: '3000' },
  config: { 'storage.buffer.max_flushes': 2, 'storage.buffer.flush_interval_ms': 200 } });
is([await send(c, 'one'), await send(c, 'two')], [200, 200], 'two tenants each send a request');
let running = 0;
for (let i = 0; i < 50 && running < 2; i++) {
  await sleep(50);
  running = metric(c, 'openwit_flushes_running');
}
is(running, 2, 'both tenants\' flushes run at once, the first held by a slow fdatasync');
for (let i = 0; i < 200 && !stored(c); i++) await sleep(100);
const db = path.join(c.data, 'openwit.db');
is(sql(db, "select tenant, sum(rows) n from parts group by tenant order by tenant"),
  [{ tenant: 'one', n: 50 }, { tenant: 'two', n: 50 }], 'both are stored');
like(curl(`${c.control}/metrics`).text, /^openwit_flushes_running 0$/m, 'and no flush is left running');
await c.stop();

// a flush that fails and waits to try again is not on its way out, nor
// are the buffers of its tenant frozen behind it: past the mark, another
// tenant's buffer is still frozen and flushed (before, a frozen buffer
// waiting behind the failed flush stopped the mark until that flush
// succeeded, and the other tenant's requests met 503)
const d = await start({ tag: 'flush-stuck', bin: faultsBin, env: { OPENWIT_IO_FAULTS: 'pq.fsync:EIO:1-5' },
  allowErrors: [/storage: flush of one\/logs .* failed: .*retrying/, /storage: flush of two\/logs .* failed: .*retrying/],
  config: { 'memory.max_buffer_bytes': 1048576, 'storage.buffer.flush_at_percent': 25, 'storage.buffer.max_flushes': 2,
    'storage.buffer.flush_interval_ms': 600000, 'storage.buffer.flush_bytes': 1073741824 } });
const dbD = path.join(d.data, 'openwit.db');
const codesA = [];
for (let i = 0; i < 3; i++) codesA.push(await send(d, 'one'));
let failed = false;
for (let i = 0; i < 50 && !failed; i++) {
  await sleep(20);
  failed = /flush of one\/logs .* failed/.test(d.log());
}
ok(failed, 'tenant one passes the mark; its flush fails (EIO) and waits to try again');
for (let i = 0; i < 3; i++) codesA.push(await send(d, 'one'));
is(codesA.filter((x) => x !== 200).length, 0, 'tenant one\'s requests are acknowledged meanwhile');
await sleep(300); // ticks: one's next buffer is frozen behind its failed flush
const onePartsBefore = sql(dbD, "select count(*) n from parts where tenant = 'one'")[0].n;
is(await send(d, 'two'), 200, 'tenant two sends a request');
let two = 0, oneParts = -1;
for (let i = 0; i < 100 && two === 0; i++) {
  await sleep(20);
  // one's parts first: a flush of two that starts after one's first
  // commit would not show what is checked
  oneParts = sql(dbD, "select count(*) n from parts where tenant = 'one'")[0].n;
  two = metric(d, 'openwit_flushes_running') === 2 ? 1 : 0;
}
ok(onePartsBefore === 0 && two === 1 && oneParts === 0, `tenant two's buffer is flushed while tenant one's flush still fails (flushes running: ${metric(d, 'openwit_flushes_running')}, one's parts ${oneParts})`);
for (let i = 0; i < 300 && !stored(d); i++) await sleep(100);
is(sql(dbD, "select tenant, sum(rows) n from parts group by tenant order by tenant"),
  [{ tenant: 'one', n: 300 }, { tenant: 'two', n: 50 }], 'both are stored once the disk takes the parts');
done();
})();

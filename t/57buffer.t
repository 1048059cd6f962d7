#!/usr/bin/env node
// Memory is bounded in bytes: rows waiting for Parquet may hold at most
// memory.max_buffer_bytes; past it requests get 503 with Retry-After until
// a flush frees the memory. Nothing acknowledged is lost meanwhile.
const path = require('node:path');
(async () => {
const { start, curl, sql, duck, parts, ok, is, like, done, sleep, tmpdir, nowNs } = await import('./lib/harness.mjs');
const fs = require('node:fs');
const s = await start({ tag: 'buffer', config: { 'memory.max_buffer_bytes': 1048576, 'storage.buffer.flush_interval_ms': 2000 } });
const f = path.join(tmpdir('buffer-body'), 'logs.json');
const rec = (i) => ({ timeUnixNano: String(nowNs() + BigInt(i)), body: { stringValue: `line ${i} ` + 'y'.repeat(2000) } });
fs.writeFileSync(f, JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: Array.from({ length: 50 }, (_, i) => rec(i)) }] }] }));
const post = () => curl(`${s.otlp}/v1/logs`, ['-X', 'POST', '-H', 'Content-Type: application/json', '--data-binary', `@${f}`]);
let acked = 0, full = null;
for (let i = 0; i < 40 && !full; i++) {
  const r = post();
  if (r.code === 200) acked++;
  else full = r;
}
ok(acked > 0, `requests are taken until the buffers are full (${acked} taken)`);
is(full && full.code, 503, 'then a request gets 503');
is(full && full.headers['retry-after'], '1', 'with Retry-After');
like(full && full.text, /memory.max_buffer_bytes/, 'the Status names memory.max_buffer_bytes');
like(curl(`${s.control}/metrics`).text, /openwit_rejected_requests_total\{reason="buffer_full"\} 1/, '/metrics counts it');
let again = 0;
for (let i = 0; i < 100 && again !== 200; i++) { await sleep(100); again = post().code; }
is(again, 200, 'once a flush has written the rows to Parquet, requests are taken again');
acked++;
const db = path.join(s.data, 'openwit.db');
for (let i = 0; i < 100 && sql(db, 'select count(*) n from batch_tracker where storage_pip = 0')[0].n > 0; i++) await sleep(100);
is(Number((await duck(`select count(*) n from ${parts(s.data, 'logs')}`))[0].n), acked * 50, 'every acknowledged record is in Parquet');
done();
})();

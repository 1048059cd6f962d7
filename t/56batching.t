#!/usr/bin/env node
// Natural group commit: an idle WAL writer takes a request at once (its own
// batch); requests that arrive while it is busy wait together and become
// the next batches, cut at max_messages. The fault build's SLOW fsync keeps
// the writer busy for half a second, so the grouping is deterministic.
(async () => {
const { start, faultsBin, sql, ok, is, done, sleep, jsonLogs } = await import('./lib/harness.mjs');
const path = require('node:path');
const s = await start({ tag: 'batching', bin: faultsBin, env: { OPENWIT_IO_FAULTS: 'fsync:SLOW:1' },
  config: { 'ingestion.batch_tracker.batch_config.max_messages': 8, 'ingestion.http.batching.batch_timeout_ms': 5000 } });
const post = (body) => fetch(`${s.otlp}/v1/logs`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body })
  .then(async (r) => { await r.arrayBuffer(); return r.status; });

const first = post(jsonLogs('alone'));
await sleep(100); // the writer is now in the slow fsync of the first batch
const rest = await Promise.all(Array.from({ length: 20 }, (_, i) => post(jsonLogs(`together-${i}`))));
is(await first, 200, 'the first request: 200');
ok(rest.every((c) => c === 200), 'the 20 requests that waited: all 200');
const db = path.join(s.data, 'openwit.db');
let rows = [];
for (let i = 0; i < 100 && rows.length < 4; i++) {
  rows = sql(db, 'select message_count, record_count from batch_tracker order by batch_id');
  if (rows.length < 4) await sleep(20);
}
is(rows.map((r) => r.message_count), [1, 8, 8, 4], 'batches: the first alone, then the waiting requests grouped by max_messages');
is(rows.reduce((a, r) => a + r.record_count, 0), 21, 'every record counted once');
done();
})();

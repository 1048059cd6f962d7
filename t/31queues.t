#!/usr/bin/env node
// The queues between the pipeline's stages, as /api/batch-monitor/status
// ("queues") and /metrics show them: every stage's queue is listed, an
// empty one too, and under load the queue in front of the slow stage fills.
// The fault build's SLOW fsync holds the WAL writer in its first fsync for
// two seconds: requests that arrive meanwhile wait in open batches and, cut
// at max_messages, as sealed batches in the WAL queue (as in t/56batching.t).
// Then the rows wait in the buffer until its age flushes them, and the
// parts in the merge queue until the janitor merges them.
(async () => {
const { start, faultsBin, ok, is, note, done, sleep, jsonLogs } = await import('./lib/harness.mjs');
const fs = require('node:fs');
if (!fs.existsSync(faultsBin)) {
  ok(false, `${faultsBin} is built (make t/openwit-faults)`);
  done();
}
const SLOW_MS = 2000;
const s = await start({ tag: 'queues', bin: faultsBin,
  env: { OPENWIT_IO_FAULTS: 'fsync:SLOW:1', OPENWIT_IO_SLOW_MS: String(SLOW_MS) },
  config: { 'ingestion.batch_tracker.batch_config.max_messages': 8, 'ingestion.http.batching.batch_timeout_ms': 5000,
    'memory.max_buffer_bytes': 64 << 20, 'storage.buffer.flush_interval_ms': 4000,
    'storage.file_rotation.file_duration_minutes': 0, 'storage.file_rotation.check_interval_ms': 200 } });
// asynchronous, so that the requests in flight go on while we look
const get = (p) => fetch(`${s.control}${p}`).then((r) => r.text());
const status = async () => JSON.parse(await get('/api/batch-monitor/status')).queues || {};
const post = (body) => fetch(`${s.otlp}/v1/logs`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body })
  .then(async (r) => { await r.arrayBuffer(); return r.status; });
const metrics = async () => {
  const m = {};
  for (const l of (await get('/metrics')).split('\n')) {
    const x = l.match(/^(openwit_queue_\w+)\{queue="(\w+)"\} (\S+)$/);
    if (x) (m[x[2]] ||= {})[x[1]] = Number(x[3].replace(/^\+Inf$/, 'Infinity'));
  }
  return m;
};
const stages = ['decode', 'batch', 'wal', 'publish', 'buffer', 'flush', 'merge', 'index', 'indexer', 'query'];

// ---- idle: every queue listed, empty ----
let q = await status();
is(Object.keys(q), stages, 'status: queues lists every stage in pipeline order');
ok(stages.every((n) => q[n] && q[n].depth_items === 0 && q[n].depth_bytes === 0), 'status: idle, every queue is empty', JSON.stringify(q));
ok(q.decode.capacity_items > 0 && q.wal.capacity_items >= 4096, 'status: the rings have their capacity in items', JSON.stringify([q.decode, q.wal]));
is(q.buffer.capacity_bytes, 64 << 20, 'status: the buffer queue holds memory.max_buffer_bytes');
is([q.batch.capacity_items, q.batch.capacity_bytes], [null, null], 'status: a queue without a limit of its own has null capacities');
let m = await metrics();
is(Object.keys(m), stages, '/metrics: openwit_queue_* for every stage, in pipeline order');
is(m.wal && m.wal.openwit_queue_depth, 0, '/metrics: openwit_queue_depth{queue="wal"} 0 when idle');
is(m.buffer && m.buffer.openwit_queue_capacity_bytes, 64 << 20, '/metrics: openwit_queue_capacity_bytes{queue="buffer"}');
is(m.batch && m.batch.openwit_queue_capacity, Infinity, '/metrics: no limit of its own is +Inf');

// ---- under load: the writer is in a slow fsync ----
const first = post(jsonLogs('alone'));
await sleep(100); // the writer now holds the first batch
const rest = Promise.all(Array.from({ length: 20 }, (_, i) => post(jsonLogs(`waiting-${i}`))));
const t0 = Date.now();
do {
  q = await status();
  if (q.wal.depth_items === 2 && q.batch.depth_items === 4) break;
  await sleep(20);
} while (Date.now() - t0 < SLOW_MS / 2);
note(JSON.stringify(q));
is([q.wal.depth_items, q.batch.depth_items], [2, 4],
  'while the writer is slow: 2 sealed batches (of 8) wait in the WAL queue, 4 messages in an open batch');
ok(q.wal.depth_bytes > 0 && q.batch.depth_bytes > 0, 'and their bytes are counted', JSON.stringify([q.wal, q.batch]));
is([q.buffer.depth_items, q.flush.depth_items], [0, 0], 'and nothing has reached the buffers yet');
m = await metrics();
is([m.wal.openwit_queue_depth, m.batch.openwit_queue_depth], [2, 4], '/metrics shows the same depths');

is([await first, ...(await rest)], Array(21).fill(200), 'then every request is acknowledged');
q = await status();
note(JSON.stringify(q));
is([q.batch.depth_items, q.wal.depth_items, q.publish.depth_items], [0, 0, 0], 'after the acks: the WAL stage queues are empty');
is(q.buffer.depth_items, 21, 'and the 21 requests\' rows wait in the buffer for their flush');
ok(q.wal.wait_max_ms > SLOW_MS / 2, 'the WAL queue\'s longest wait shows the slow writer', q.wal.wait_max_ms);
ok(q.batch.wait_max_ms > SLOW_MS / 2, 'and so does the batch queue\'s', q.batch.wait_max_ms);
is(q.wal.waits, 4, 'four batches went through the WAL queue');
is(q.publish.waits, 4, 'and back to the loop');
ok(q.decode.waits >= 21, 'every request waited for a decode worker', q.decode.waits);
m = await metrics();
ok(m.wal.openwit_queue_wait_seconds_max > SLOW_MS / 2000, '/metrics: openwit_queue_wait_seconds_max{queue="wal"}', m.wal.openwit_queue_wait_seconds_max);
ok(m.wal.openwit_queue_wait_seconds_total >= m.wal.openwit_queue_wait_seconds_max, '/metrics: the sum of waits is at least the longest');
is(m.wal.openwit_queue_waits_total, 4, '/metrics: openwit_queue_waits_total{queue="wal"}');

// ---- the later stages: a flush takes the buffer, the janitor merges parts ----
const until = async (cond, ms) => {
  const t = Date.now();
  do { q = await status(); if (cond(q)) return true; await sleep(50); } while (Date.now() - t < ms);
  return false;
};
ok(await until((x) => x.buffer.depth_items === 0 && x.merge.depth_items === 1, 15000), 'the buffer\'s age flushes it into one active part', JSON.stringify(q));
is([q.buffer.waits, q.flush.waits, q.flush.depth_items], [1, 1, 0], 'the buffer left at once, through the flush queue');
ok(q.buffer.wait_max_ms >= 3000, 'its rows waited in memory about storage.buffer.flush_interval_ms', q.buffer.wait_max_ms);
ok(q.merge.depth_bytes > 0, 'the active part waits for the janitor with its bytes', q.merge.depth_bytes);
is(await post(jsonLogs('second part')), 200, 'one more request');
ok(await until((x) => x.merge.waits === 2 && x.merge.depth_items === 0, 15000), 'its flush makes a second active part, and the janitor merges both', JSON.stringify(q));
is([q.merge.depth_bytes, q.buffer.depth_items], [0, 0], 'the merge queue and the buffer are empty again (a stable part waits for nothing)');
done();
})();

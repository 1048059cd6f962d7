#!/usr/bin/env node
// Simulated power loss (the fault build's POWER, modules/core/io.c): what
// was not fsynced vanishes, file data and directory entries alike, and the
// process dies. After a restart every acknowledged record is stored once.
const crypto = require('node:crypto');
(async () => {
const { start, faultsBin, httpPost, storedMarkers, walFiles, sql, ok, is, note, done, sleep, jsonLogs, jsonTraces } = await import('./lib/harness.mjs');
const path = require('node:path');
const MARK = /pl-\d{5}-[0-9a-f]{8}/g;
const marker = (i) => `pl-${String(i).padStart(5, '0')}-${crypto.randomBytes(4).toString('hex')}`;
const config = { 'storage.buffer.flush_interval_ms': 200 };

// load from 4 clients until the server dies; returns acknowledged markers
async function load(s, max) {
  const acked = [];
  let next = 0, dead = false;
  const worker = async () => {
    while (!dead && next < max) {
      const i = next++, m = marker(i);
      try {
        const r = await httpPost(s.ports.otlp, i % 2 ? '/v1/logs' : '/v1/traces', i % 2 ? jsonLogs(m) : jsonTraces(m));
        if (r.code === 200) acked.push(m);
      } catch { dead = true; }
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return acked;
}

async function settle(s) {
  const db = path.join(s.data, 'openwit.db');
  for (let i = 0; i < 300; i++) {
    const rows = sql(db, 'select count(*) n, count(wal_removed_at) j from batch_tracker')[0];
    if (walFiles(s.data).length === 0 && rows.n === rows.j) return true;
    await sleep(50);
  }
  return false;
}

for (const [name, fault] of [
  ['during a WAL fsync under load', 'fsync:POWER:60'],
  ['before a WAL directory sync under load', 'dirsync:POWER:60'],
  ['before a part is renamed', 'pq.rename:POWER:1'],
  ['before a part\'s directory is synced', 'pq.dirsync:POWER:6-1000'],
  ['before the janitor removes WAL files', 'unlink:POWER:1'],
]) {
  const s = await start({ tag: 'power', bin: faultsBin, env: { OPENWIT_IO_FAULTS: fault }, config, allowErrors: [/./] });
  const acked = await load(s, /^(fsync|dirsync)/.test(fault) ? 100000 : 400);
  if (!/^(fsync|dirsync)/.test(fault)) for (let i = 0; i < 200 && s.exitCode === undefined; i++) await sleep(20);
  const ex = await Promise.race([s.exited, sleep(10000).then(() => ({}))]);
  is(ex.code, 137, `power loss ${name}: the server died`);
  s.forget();
  const s2 = await start({ dir: s.dir, ports: s.ports, config });
  ok(await settle(s2), `power loss ${name}: after a restart every batch is stored and the WAL is empty`);
  const count = await storedMarkers(s2.data, MARK);
  is(acked.filter((m) => count.get(m) !== 1), [], `power loss ${name}: each of the ${acked.length} acknowledged records is stored exactly once`);
  ok([...count.values()].every((n) => n === 1), `power loss ${name}: no record twice`);
  s2.kill();
}
done();
})();

#!/usr/bin/env node
// Disk faults through t/openwit-faults (OPENWIT_IO_FAULTS, modules/core/io.h):
// a failed fsync rewrites the batch to a new file, a persistent one fails
// the request with 503, a full disk holds batches and answers 503 meanwhile.
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
(async () => {
const { start, faultsBin, httpPost, curl, curlJSON, sql, ok, is, like, note, done, sleep, jsonTraces, jsonLogs, walFiles, walRecords } = await import('./lib/harness.mjs');

if (!fs.existsSync(faultsBin)) {
  ok(false, `${faultsBin} is built (make t/openwit-faults)`);
  done();
}
const marker = (tag) => `mark-${tag}-${crypto.randomBytes(6).toString('hex')}`;
// how many WAL records, in which files, hold a string
function inWal(data, s) {
  const hits = [];
  for (const f of walFiles(data)) for (const r of walRecords(f)) if (r.includes(s)) hits.push(f);
  return hits;
}
const postCurl = (s, p, body) => curl(`${s.otlp}${p}`, ['-X', 'POST', '-H', 'Content-Type: application/json', '--data-binary', body]);
const postAsync = (s, p, body) => httpPost(s.ports.otlp, p, body);
const metric = (text, name) => { const m = text.match(new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm')); return m ? Number(m[1]) : undefined; };
// curl runs synchronously: the server's log lines are read once the test
// yields, so wait for a line rather than look at once
async function waitLog(s, re, ms = 3000) {
  const t0 = Date.now();
  while (!re.test(s.log()) && Date.now() - t0 < ms) await sleep(20);
  return s.log().match(re);
}
async function waitAlert(s, kind) {
  const t0 = Date.now();
  for (;;) {
    const a = curlJSON(`${s.control}/api/batch-monitor/alerts`);
    const al = ((a.json && a.json.alerts) || []).filter((x) => x.kind === kind);
    if (al.length || Date.now() - t0 > 5000) return al;
    await sleep(50);
  }
}

// ---- one failed fsync: the batch is rewritten under a new name ----
{
  const s = await start({ tag: 'fault-eio1', bin: faultsBin, env: { OPENWIT_IO_FAULTS: 'fsync:EIO:1' },
    allowErrors: [/\[error\] wal: batch \S+: \S+: Input\/output error \(attempt 1, file abandoned\)/] });
  like(s.log(), /\[warn\] io: fault injection active: fsync:EIO:1/, 'EIO once: fault injection is active');
  const m = marker('eio1');
  const r = postCurl(s, '/v1/traces', jsonTraces(m));
  is(r.code, 200, 'EIO once: the request still gets 200');
  const hits = inWal(s.data, m);
  is(hits.length, 1, 'EIO once: exactly one WAL record holds the marker');
  const files = walFiles(s.data);
  is(files.length, 1, 'EIO once: one WAL file, none left from the failed attempt');
  like(path.basename(files[0] || ''), /^batch_[0-9a-f-]{36}_r1\.wal$/, 'EIO once: the file is the rewrite (_r1)');
  const err = await waitLog(s, /\[error\] wal: batch (\S+): (\S+): Input\/output error \(attempt 1, file abandoned\)/);
  ok(err, 'EIO once: an error line names the failed attempt', s.log());
  ok(err && !fs.existsSync(err[2]), 'EIO once: the abandoned file was removed');
  ok(err && files[0] === err[2].replace(/\.wal$/, '_r1.wal'), 'EIO once: the rewrite has the batch id of the failed attempt');
  const mt = curl(`${s.control}/metrics`).text;
  is(metric(mt, 'openwit_wal_fsyncs_total'), 1, 'EIO once: /metrics counts one durable WAL file');
  is(metric(mt, 'openwit_wal_failed_batches_total'), 0, 'EIO once: /metrics counts no failed batch');
  is(metric(mt, 'openwit_ingest_requests_total{tenant="default",signal="traces"}'), 1, 'EIO once: /metrics counts the acknowledged request');
  is(metric(mt, 'openwit_rejected_requests_total{reason="wal_failed"}'), 0, 'EIO once: /metrics counts no rejection');
  is(metric(mt, 'openwit_wal_fsync_seconds_count'), 1, 'EIO once: the fsync histogram has one observation');
  let rows = [];
  for (let i = 0; i < 100 && rows.length === 0; i++) { rows = sql(path.join(s.data, 'openwit.db'), 'select batch_id, message_count from batch_tracker'); if (!rows.length) await sleep(50); }
  is(rows.map((x) => [x.batch_id, x.message_count]), [[err && err[1], 1]], 'EIO once: one tracker row for the batch, one message');
  is((await s.stop()).code, 0, 'EIO once: SIGTERM exits 0');
}

// ---- fsync fails every time: 503, an alert, nothing stored ----
{
  const s = await start({ tag: 'fault-eio', bin: faultsBin, env: { OPENWIT_IO_FAULTS: 'fsync:EIO:1-100' },
    allowErrors: [/Input\/output error \(attempt [123], file abandoned\)/] });
  const m = marker('eio');
  const r = postCurl(s, '/v1/traces', jsonTraces(m));
  is(r.code, 503, 'persistent EIO: 503');
  ok(/^\d+$/.test(r.headers['retry-after'] || ''), 'persistent EIO: with Retry-After', r.headers);
  like(r.text, /"code":\s*14/, 'persistent EIO: a google.rpc.Status UNAVAILABLE');
  like(r.text, /write-ahead log/, 'persistent EIO: the message names the write-ahead log');
  is(inWal(s.data, m), [], 'persistent EIO: no WAL file holds the marker');
  is(walFiles(s.data), [], 'persistent EIO: no WAL file is left at all');
  await waitLog(s, /attempt 3, file abandoned/);
  is((s.log().match(/file abandoned/g) || []).length, 3, 'persistent EIO: three attempts, each logged');
  const al = await waitAlert(s, 'wal_failed');
  is(al.length, 1, 'persistent EIO: a wal_failed alert');
  const r2 = postCurl(s, '/v1/logs', jsonLogs(marker('eio2')));
  is(r2.code, 503, 'persistent EIO: a second request also gets 503');
  is(curl(`${s.control}/health`).code, 200, 'persistent EIO: the server keeps running (/health 200)');
  is(curl(`${s.control}/ready`).code, 200, 'persistent EIO: /ready stays 200 (a failed fsync is not a full disk)');
  const mt = curl(`${s.control}/metrics`).text;
  is(metric(mt, 'openwit_wal_failed_batches_total'), 2, 'persistent EIO: /metrics counts two failed batches');
  is(metric(mt, 'openwit_rejected_requests_total{reason="wal_failed"}'), 2, 'persistent EIO: /metrics counts two wal_failed rejections');
  is(metric(mt, 'openwit_wal_fsyncs_total'), 0, 'persistent EIO: /metrics counts no durable file');
  is(sql(path.join(s.data, 'openwit.db'), 'select count(*) n from batch_tracker')[0].n, 0, 'persistent EIO: no tracker row');
  is((await s.stop()).code, 0, 'persistent EIO: SIGTERM exits 0');
}

// ---- disk full: backpressure ----
// Each attempt is one write call, then wait_for_space() sleeps 10 x 50 ms:
// 4 failed writes hold the batch about 2 s.
{
  const NOSPC = 4;
  const s = await start({ tag: 'fault-nospc', bin: faultsBin, env: { OPENWIT_IO_FAULTS: `write:ENOSPC:1-${NOSPC}` } });
  const m1 = marker('full1'), m2 = marker('full2'), m3 = marker('full3');
  const t0 = Date.now();
  const first = postAsync(s, '/v1/traces', jsonTraces(m1));
  let ready;
  for (;;) {
    ready = curl(`${s.control}/ready`);
    if (ready.code !== 200 || Date.now() - t0 > 5000) break;
    await sleep(10);
  }
  is(ready.code, 503, 'disk full: /ready answers 503');
  is(ready.text, '{"status":"disk_full"}', 'disk full: /ready says disk_full');
  const r2 = postCurl(s, '/v1/logs', jsonLogs(m2));
  is(r2.code, 503, 'disk full: a second request gets 503 meanwhile');
  ok(/^\d+$/.test(r2.headers['retry-after'] || ''), 'disk full: with Retry-After', r2.headers);
  like(r2.text, /"code":\s*14/, 'disk full: a google.rpc.Status UNAVAILABLE');
  like(r2.text, /disk full/, 'disk full: the Status message says disk full');
  like(curl(`${s.control}/metrics`).text, /^openwit_wal_disk_full 1$/m, 'disk full: /metrics openwit_wal_disk_full 1');
  const r1 = await first;
  const took = Date.now() - t0;
  note(`the first request waited ${took} ms`);
  is(r1.code, 200, 'disk full: the first request gets 200 once space returns');
  ok(took >= (NOSPC - 1) * 500, `disk full: it was held while writes failed (${took} ms)`);
  const rd = curl(`${s.control}/ready`);
  is([rd.code, rd.text], [200, '{"status":"ready"}'], 'disk full: /ready is 200 again');
  const r3 = postCurl(s, '/v1/traces', jsonTraces(m3));
  is(r3.code, 200, 'disk full: a new request succeeds');
  is(inWal(s.data, m1).length, 1, 'disk full: the held request is in one WAL record');
  is(inWal(s.data, m2), [], 'disk full: the rejected request is not in the WAL');
  is(inWal(s.data, m3).length, 1, 'disk full: the new request is in one WAL record');
  is(walFiles(s.data).length, 2, 'disk full: no file left from the failed attempts');
  await waitLog(s, /disk space is back/);
  is((s.log().match(/\[warn\] wal: disk full/g) || []).length, 1, 'disk full: one warn line when the disk fills');
  like(s.log(), /\[info\] wal: disk space is back/, 'disk full: an info line when space returns');
  const mt = curl(`${s.control}/metrics`).text;
  is(metric(mt, 'openwit_wal_disk_full'), 0, 'disk full: /metrics openwit_wal_disk_full 0 again');
  is(metric(mt, 'openwit_rejected_requests_total{reason="disk_full"}'), 1, 'disk full: /metrics counts one disk_full rejection');
  is(metric(mt, 'openwit_wal_failed_batches_total'), 0, 'disk full: no batch failed');
  is((await s.stop()).code, 0, 'disk full: SIGTERM exits 0');
}
// ---- a directory fsync fails: 503, and the file is gone, so the client's
// retry is the only copy after a restart ----
{
  const s = await start({ tag: 'fault-dirsync', bin: faultsBin, env: { OPENWIT_IO_FAULTS: 'dirsync:EIO:3' },
    allowErrors: [/fsync of directory/] });
  const m = marker('dirsync');
  // the first request syncs data/wal (new tenant directory) and data/wal/default
  is(postCurl(s, '/v1/traces', jsonTraces('warm-up')).code, 200, 'dirsync: the first request is stored');
  const r1 = postCurl(s, '/v1/traces', jsonTraces(m));
  is(r1.code, 503, 'dirsync: a failed directory fsync answers 503');
  is(inWal(s.data, m), [], 'dirsync: and leaves no file behind');
  is(postCurl(s, '/v1/traces', jsonTraces(m)).code, 200, 'dirsync: the retry is stored');
  s.kill();
  await s.exited;
  const s2 = await start({ dir: s.dir, ports: s.ports });
  is(inWal(s2.data, m).length, 1, 'dirsync: after a restart the request is there once');
}

// ---- a new tenant directory whose entry cannot be synced is made again ----
{
  const s = await start({ tag: 'fault-mkdir', bin: faultsBin, env: { OPENWIT_IO_FAULTS: 'dirsync:EIO:1' },
    allowErrors: [/file abandoned/] });
  const m = marker('mkdir');
  is(postCurl(s, '/v1/logs', jsonLogs(m)).code, 200, 'tenant dir sync fails once: the request is still stored');
  const line = (await waitLog(s, /\[error\] wal: batch \S+: (\S+): Input\/output error/)) || [];
  is(line[1], path.join(s.data, 'wal', 'default'), 'tenant dir sync fails once: the error names the directory');
  is(inWal(s.data, m).length, 1, 'tenant dir sync fails once: one WAL record');
}

// ---- SIGTERM while the disk stays full: held batches fail, the server exits ----
{
  const s = await start({ tag: 'fault-nospc-term', bin: faultsBin, env: { OPENWIT_IO_FAULTS: 'write:ENOSPC:1-1000000' },
    allowErrors: [/No space left/] });
  const held = postAsync(s, '/v1/logs', jsonLogs(marker('held')));
  await waitLog(s, /disk full/);
  s.proc.kill('SIGTERM');
  const r = await held;
  is(r.code, 503, 'disk full at shutdown: the held request gets 503 (its client retries elsewhere or later)');
  const ex = await s.exited;
  is(ex.code, 0, 'disk full at shutdown: SIGTERM still exits 0');
}
done();
})();

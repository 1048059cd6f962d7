#!/usr/bin/env node
// The OpenTelemetry JS SDK exporters (t/otel/send.mjs) against the server:
// every signal in protobuf and JSON, gzip on the second port, and a tenant
// the server refuses. What the SDK reports having sent must be exactly what
// the batch tracker and the WAL hold.
const fs = require('node:fs');
const path = require('node:path');
(async () => {
const { start, curl, otelSend, sql, sleep, ok, is, like, note, done, walFiles, walRecords } = await import('./lib/harness.mjs');

const s = await start({ tag: 'otel' });
const db = path.join(s.data, 'openwit.db');
const SIGNALS = ['traces', 'logs', 'metrics'];
const run = `${process.pid}-${Date.now().toString(36)}`;

// Sums of the tracker rows of one tenant and signal, polled until they reach
// what is expected (rows are written a few ms after the ack) or ~2 s pass.
async function tracked(tenant, signal, want) {
  let got;
  const q = `select count(*) batches, coalesce(sum(record_count), 0) records, coalesce(sum(message_count), 0) messages, ` +
    `coalesce(sum(wal_pip), 0) wal from batch_tracker where client_id = '${tenant}' and signal = '${signal}'`;
  for (let i = 0; i < 100; i++) {
    got = sql(db, q)[0];
    if (got.records >= want.records && got.messages >= want.messages) break;
    await sleep(20);
  }
  return got;
}

// The WAL files of a tenant: their header's signal byte, their batch ids,
// and all their record payloads.
function walOf(tenant) {
  const files = walFiles(s.data).filter((f) => path.basename(path.dirname(f)) === tenant);
  return files.map((f) => {
    const b = fs.readFileSync(f);
    return { file: f, signal: b[36], id: path.basename(f).replace(/^batch_|\.wal$/g, ''), recs: walRecords(f) };
  });
}

// What the marker leaves in the payloads (see send.mjs's header).
function metricName(marker) {
  let m = marker.replace(/[^A-Za-z0-9_.\-/]/g, '_');
  if (!/^[A-Za-z]/.test(m)) m = `m${m}`;
  return m.slice(0, 200);
}
function expectedStrings(signal, marker, count) {
  if (signal === 'traces') return Array.from({ length: count }, (_, i) => `${marker}-span-${i}`);
  if (signal === 'logs') return Array.from({ length: count }, (_, i) => `${marker}-log-${i}`);
  const m = metricName(marker);
  return ['counter', 'updown', 'histogram', 'gauge'].map((k) => `${m}.${k}`);
}

async function check(label, url, signal, enc, extra = []) {
  const tenant = `otel-${label}`.replace(/[^A-Za-z0-9._-]/g, '_');
  const marker = `mk-${label}-${run}`;
  const t0 = Date.now();
  const r = otelSend(url, signal, enc, ['--count', '20', '--marker', marker, '--tenant', tenant, ...extra]);
  note(`${label}: ${Date.now() - t0} ms, ${JSON.stringify(r)}`);
  is(r.exit, 0, `${label}: send.mjs exits 0`);
  ok(r.failed === 0 && r.exports > 0 && r.succeeded === r.exports, `${label}: every export succeeded (${r.succeeded}/${r.exports})`, r);
  is(r.errors, [], `${label}: no errors reported`);
  const wantItems = signal === 'metrics' ? 7 : 20; // metrics: 2+2+2 attribute sets + 1 gauge point
  is(r.items, wantItems, `${label}: the SDK exported ${wantItems} items`);

  const t = await tracked(tenant, signal, { records: r.items, messages: r.exports });
  is(t.records, r.items, `${label}: tracker sum(record_count) == items sent`);
  is(t.messages, r.exports, `${label}: tracker sum(message_count) == export calls`);
  ok(t.batches >= 1 && t.wal === t.batches, `${label}: every tracker row has wal_pip = 1`, t);
  is(sql(db, `select count(*) n from batch_tracker where client_id = '${tenant}' and signal != '${signal}'`)[0].n, 0,
    `${label}: no rows of another signal for the tenant`);

  const wal = walOf(tenant);
  is(wal.length, t.batches, `${label}: one WAL file per tracker row`);
  const sigByte = SIGNALS.indexOf(signal);
  ok(wal.length > 0 && wal.every((w) => w.signal === sigByte), `${label}: WAL headers say signal ${signal}`);
  const ids = sql(db, `select batch_id from batch_tracker where client_id = '${tenant}' order by batch_id`).map((x) => x.batch_id);
  is(wal.map((w) => w.id).sort(), ids, `${label}: WAL file names are the tracker batch ids`);
  is(wal.reduce((a, w) => a + w.recs.length, 0), r.exports, `${label}: one WAL record per export call`);
  const all = Buffer.concat(wal.flatMap((w) => w.recs));
  const want = expectedStrings(signal, marker, 20);
  const missing = want.filter((x) => !all.includes(x));
  ok(missing.length === 0, `${label}: WAL records hold all ${want.length} marker strings`, `missing: ${missing.slice(0, 5).join(', ')}`);
  // a JSON export is stored converted to protobuf, never as JSON text
  const recs = wal.flatMap((w) => w.recs);
  ok(recs.every((x) => x[0] === 0x0a) && !all.includes('"resource'),
    `${label}: WAL records are protobuf (field 1, length-delimited), not JSON`);
}

for (const signal of SIGNALS)
  for (const enc of ['proto', 'json'])
    await check(`${signal}-${enc}`, s.otlp, signal, enc);

// gzip, to the second port
for (const signal of SIGNALS)
  await check(`${signal}-gzip`, s.legacy, signal, signal === 'logs' ? 'json' : 'proto', ['--gzip']);

// a tenant the server refuses
const before = sql(db, 'select count(*) n from batch_tracker')[0].n;
const t0 = Date.now();
const bad = otelSend(s.otlp, 'traces', 'proto', ['--count', '3', '--marker', `evil-${run}`, '--tenant', '../evil']);
note(`invalid tenant: ${Date.now() - t0} ms, ${JSON.stringify(bad)}`);
is(bad.exit, 1, 'invalid tenant: send.mjs exits 1');
ok(bad.failed >= 1, 'invalid tenant: the export failed');
const err = (bad.errors || []).join('\n');
like(err, /400/, 'invalid tenant: the error mentions 400');
like(err, /tenant/i, 'invalid tenant: the error mentions the tenant');
await sleep(100);
is(sql(db, 'select count(*) n from batch_tracker')[0].n, before, 'invalid tenant: nothing new in the tracker');
is(sql(db, "select count(*) n from batch_tracker where client_id like '%evil%'")[0].n, 0, 'invalid tenant: no row names it');
const dirs = fs.readdirSync(path.join(s.data, 'wal'));
ok(!fs.existsSync(path.join(s.data, 'evil')) && dirs.every((d) => d.startsWith('otel-')), 'invalid tenant: no directory was made for it', dirs);
ok(!Buffer.concat(walFiles(s.data).flatMap(walRecords)).includes(`evil-${run}`), 'invalid tenant: its spans are in no WAL file');
like(curl(`${s.control}/metrics`).text,
  /openwit_rejected_requests_total\{reason="invalid_tenant"\} [1-9]/, 'invalid tenant: counted in /metrics');
done();
})();

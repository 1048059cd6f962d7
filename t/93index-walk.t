#!/usr/bin/env node
// The index's walk through a part's token dictionary (a LIKE '%needle%'
// whose ends may be inside longer tokens: modules/index ow_index_narrow)
// asks the query's time budget as it goes: 60 such needles over a
// dictionary of some 560k tokens walk it 60 times, seconds of work before
// the first row is read, and a query with a budget of 300 ms must stop
// near it, with the time budget's message.
const path = require('node:path');
const fs = require('node:fs');
(async () => {
const { start, httpPost, sql, ok, is, like, note, done, sleep } = await import('./lib/harness.mjs');

const TIMEOUT = 300;
const s = await start({ tag: 'walk', config: { 'query.timeout_ms': TIMEOUT, 'storage.buffer.flush_interval_ms': 500 } });
// tokens of 10 letters of four (xorshift32: 20 bits a token), mostly
// distinct, each holding many three-letter runs, no token of three letters
let x = 0x9e3779b9;
const tok = () => {
  x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
  let w = '';
  for (let i = 0, v = x; i < 10; i++, v >>>= 2) w += 'abcd'[v & 3];
  return w;
};
const now = BigInt(Date.now()) * 1000000n;
let n = 0;
for (let b = 0; b < 20; b++) {
  const recs = [];
  for (let i = 0; i < 10000; i++, n++)
    recs.push({ timeUnixNano: String(now + BigInt(n) * 1000n), body: { stringValue: `${tok()} ${tok()} ${tok()} ${tok()}` } });
  const r = await httpPost(s.ports.otlp, '/v1/logs', JSON.stringify({ resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'walk' } }] }, scopeLogs: [{ logRecords: recs }] }] }));
  if (r.code !== 200) { ok(0, `batch ${b}: ${r.code}`); break; }
}
const db = path.join(s.data, 'openwit.db');
let indexed = false;
for (const t0 = Date.now(); Date.now() - t0 < 60000 && !indexed; await sleep(100)) {
  const parts = sql(db, 'select part_id, rows from parts');
  const files = fs.existsSync(path.join(s.data, 'index')) ? fs.readdirSync(path.join(s.data, 'index')) : [];
  indexed = parts.reduce((a, p) => a + p.rows, 0) === n && parts.every((p) => files.includes(`${p.part_id}.idx`));
}
ok(indexed, `${n} records stored in parts, each part indexed`);

const needles = [];
for (const x of 'abcd') for (const y of 'abcd') for (const z of 'abcd') needles.push(x + y + z);
const q = `SELECT count(*) AS n FROM logs WHERE ${needles.slice(0, 60).map((w) => `body LIKE '%${w}%'`).join(' AND ')}`;
const t0 = Date.now();
const r = await httpPost(s.ports.control, '/api/search', JSON.stringify({ query: q }));
const ms = Date.now() - t0;
let j = {};
try { j = JSON.parse(r.text); } catch {}
is(r.code, 400, '60 needles walking the dictionary: 400');
like(j.error || r.text, new RegExp(`query exceeded its time budget of ${TIMEOUT} ms`), 'the time budget\'s message');
ok(ms < TIMEOUT + 700, `stopped within 700 ms of the budget (${ms} ms)`);
note(`${ms} ms`);

await s.stop();
s.checkLog();
done();
})();

#!/usr/bin/env node
// Newest (or oldest) first with a LIMIT (columnar.c's by_bound): plain
// rows under ORDER BY time read the row groups in the order of their time
// statistics, the buffers first, and stop at the first row group whose
// best time sorts after the last row kept. Over many parts with disjoint
// and overlapping time ranges, rows tied on time across parts, and rows in
// the buffers: DESC and ASC, OFFSET, LIMIT past the data, WHERE LIKE,
// match() and = selecting few or many rows, a second ORDER BY term, and
// ORDER BY severity_number (three values, ties everywhere); every
// answer must be SQLite's, byte for byte. A newest-100 search for a common
// word must read far fewer bytes than the same search over every row. The
// same again once the parts are merged into one row group sorted by
// service (by_bound reads it by page), with new rows in the buffers, and
// once more with newer records merged into row groups cut by time.
const path = require('node:path');
(async () => {
const { start, httpPost, sql, duck, ok, is, note, done, sleep } = await import('./lib/harness.mjs');

let seed = 0x95;
const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
const ri = (a, b) => a + Math.floor(rnd() * (b - a + 1));
const pick = (xs) => xs[ri(0, xs.length - 1)];
// an hour ago, moved back 45 minutes when that is in the first half hour
// of a UTC day: the records span -10 to +7 minutes of it, and one that
// fell on the day before would be a lone part the janitor never merges
const hourAgo = Date.now() - 3600000;
const now = BigInt(hourAgo % 86400000 < 1800000 ? hourAgo - 2700000 : hourAgo) * 1000000n;
const services = ['api', 'db', 'edge', 'rare'];
const bodies = ['request timeout after 30s', 'Timeout: upstream', 'ok done', 'user logged in', 'retry 3/5', 'cache miss'];
let nrec = 0;
// a batch of n records: times in [from, from + span) seconds after now;
// tie: drawn from 5 times only, so rows tie on time within and across parts
const batch = (n, from, span, tie) => {
  const recs = [];
  for (let i = 0; i < n; i++) {
    const t = now + BigInt(from) * 1000000000n + (tie ? BigInt(ri(0, 4)) * 1000000000n : BigInt(ri(0, span * 1000)) * 1000000n);
    const svc = rnd() < 0.02 ? 'rare' : pick(services.slice(0, 3));
    recs.push({ timeUnixNano: String(t), severityText: pick(['INFO', 'WARN', 'ERROR']), severityNumber: pick([9, 13, 17]),
      body: { stringValue: `${pick(bodies)} #${nrec++}` }, attributes: [{ key: 'svc', value: { stringValue: svc } }] });
  }
  return JSON.stringify({ resourceLogs: services.map((svc) => ({ resource: { attributes: [{ key: 'service.name', value: { stringValue: svc } }] },
    scopeLogs: [{ logRecords: recs.filter((r) => r.attributes[0].value.stringValue === svc) }] })).filter((r) => r.scopeLogs[0].logRecords.length) });
};

const cfg = { 'storage.parquet.row_group_size': 1000, 'storage.parquet.page_rows': 100 };
let s = await start({ tag: 'topn', config: { ...cfg, 'storage.buffer.flush_interval_ms': 100 } });
const db = () => path.join(s.data, 'openwit.db');
const stored = async (n) => { for (const t0 = Date.now(); Date.now() - t0 < 15000; await sleep(50)) if (sql(db(), 'select coalesce(sum(rows), 0) n from parts')[0].n >= n) return true; return false; };
// disjoint ranges (one after another, then one far back), overlapping ones
// (the whole range), and ties on five times shared by two parts
const plan = [[2500, 0, 60], [2500, 60, 60], [2000, 120, 60], [1500, -600, 60], [2500, 0, 180], [1200, 30, 100],
  [1500, 200, 0, true], [1500, 200, 0, true], [2500, 180, 60], [600, 100, 5]];
for (const [n, from, span, tie] of plan) {
  is((await httpPost(s.ports.otlp, '/v1/logs', batch(n, from, span, tie))).code, 200, `${n} records from +${from}s acknowledged`);
  ok(await stored(nrec), `stored: ${nrec} records`);
}
await s.stop();
// more, held in the buffers: newer ones, older ones, and ties with the parts
s = await start({ dir: s.dir, ports: s.ports, config: { ...cfg, 'storage.buffer.flush_interval_ms': 3600000 } });
for (const [n, from, span, tie] of [[150, 230, 20], [100, -300, 100], [100, 200, 0, true]])
  is((await httpPost(s.ports.otlp, '/v1/logs', batch(n, from, span, tie))).code, 200, `${n} records for the buffers`);
const nparts = sql(db(), 'select count(*) n from parts')[0].n;
ok(nparts >= 8, `${nparts} parts and the buffers`);

const search = async (query, engine) => {
  const r = await httpPost(s.ports.control, '/api/search', JSON.stringify({ query, limit: 100000, engine }));
  const m = r.text.match(/"rows":(\[.*\]),"total_count"/s);
  let j;
  try { j = JSON.parse(r.text); } catch {}
  return { rows: m && m[1], n: j && j.result ? j.result.rows.length : -1, engine: j && j.engine, bytes: j && j.bytes_scanned, error: j && j.error };
};

const wheres = ['', "WHERE body LIKE '%timeout%'", "WHERE match(body, 'timeout')", "WHERE service_name = 'rare'",
  "WHERE severity_text = 'WARN' AND body LIKE '%miss%'", "WHERE body LIKE '%nothing-such%'"];
const compare = async (what) => {
  const bad = [];
  let nq = 0;
  const engines = new Set();
  for (const w of wheres)
    for (const dir of ['DESC', 'ASC'])
      for (const [lim, off] of [[1, 0], [10, 0], [100, 0], [100, 37], [250, 900], [20000, 0], [5, 20000]])
        for (const items of ['time, service_name, body', '*', 'body']) {
          for (const then of ['', ', body DESC']) {
            const q = `SELECT ${items} FROM logs ${w} ORDER BY time ${dir}${then} LIMIT ${lim}${off ? ` OFFSET ${off}` : ''}`;
            const x = await search(q), y = await search(q, 'sqlite');
            nq++;
            engines.add(x.engine);
            if (x.rows === null || x.rows !== y.rows || y.engine !== 'sqlite') bad.push(`${q}: ${x.error || ''} ${x.n} rows, SQLite ${y.n}`);
          }
        }
  // another integer column, whose values tie across every part
  for (const w of wheres.slice(0, 3))
    for (const dir of ['DESC', 'ASC'])
      for (const [lim, off] of [[10, 0], [100, 37], [3000, 0]]) {
        const q = `SELECT time, severity_number, body FROM logs ${w} ORDER BY severity_number ${dir} LIMIT ${lim}${off ? ` OFFSET ${off}` : ''}`;
        const x = await search(q), y = await search(q, 'sqlite');
        nq++;
        engines.add(x.engine);
        if (x.rows === null || x.rows !== y.rows || y.engine !== 'sqlite') bad.push(`${q}: ${x.error || ''} ${x.n} rows, SQLite ${y.n}`);
      }
  is(bad.slice(0, 5), [], `${what}: ${nq} searches ordered by time and by severity_number: SQLite's rows, byte for byte`);
  is([...engines], ['columnar'], `${what}: the columnar engine answered them`);

  // the early stop: a common word, newest 100, against the same over every row
  for (const w of ["body LIKE '%timeout%'", "match(body, 'timeout')"])
    for (const dir of ['DESC', 'ASC']) {
      const q = `SELECT time, service_name, body FROM logs WHERE ${w} ORDER BY time ${dir}`;
      const top = await search(`${q} LIMIT 100`), all = await search(q);
      ok(top.n === 100 && all.n > 1000 && top.bytes > 0 && top.bytes * 4 < all.bytes,
        `${what}: ${w} ${dir} LIMIT 100 stops early: ${top.bytes} bytes read, ${all.bytes} for all ${all.n} rows`);
    }
};
await compare('fresh parts');

// merged: the parts merged into one stable part of one row group (sorted
// by service: each of its pages spans a service's stretch of the time
// range, the row group all of it) and new rows in the buffers again
await s.stop();
s = await start({ dir: s.dir, ports: s.ports, config: { 'storage.parquet.row_group_size': 100000, 'storage.parquet.page_rows': 100,
  'storage.buffer.flush_interval_ms': 3600000, 'storage.file_rotation.file_duration_minutes': 0, 'storage.file_rotation.check_interval_ms': 100 } });
let merged = false;
for (const t0 = Date.now(); Date.now() - t0 < 30000 && !merged; await sleep(100))
  merged = sql(db(), "select count(*) n from parts where kind = 'active'")[0].n === 0;
const stable = sql(db(), "select count(*) n, max(rows) r from parts where kind = 'stable'")[0];
ok(merged && stable.n >= 1 && stable.r > 8000, `merged: ${stable.n} stable parts, the largest of ${stable.r} rows`);
for (const [n, from, span, tie] of [[150, 240, 20], [100, -400, 100], [100, 200, 0, true]])
  is((await httpPost(s.ports.otlp, '/v1/logs', batch(n, from, span, tie))).code, 200, `${n} records for the buffers`);
await compare('merged parts');

// log records merged as this server writes them now: cut by time into row
// groups (of 4000 rows here) before each is sorted by service, so the row
// groups of the new stable part hold disjoint stretches of time
const cutCfg = { 'storage.parquet.row_group_size': 4000, 'storage.parquet.page_rows': 100, 'storage.buffer.flush_interval_ms': 100 };
await s.stop();
s = await start({ dir: s.dir, ports: s.ports, config: { ...cutCfg, 'storage.file_rotation.file_duration_minutes': 100000 } });
const before = nrec;
for (const [n, from, span] of [[3000, 300, 60], [3000, 300, 60], [2500, 330, 40]]) {
  is((await httpPost(s.ports.otlp, '/v1/logs', batch(n, from, span))).code, 200, `${n} records from +${from}s acknowledged`);
  ok(await stored(nrec), `stored: ${nrec} records`);
}
await s.stop();
s = await start({ dir: s.dir, ports: s.ports, config: { ...cutCfg, 'storage.file_rotation.file_duration_minutes': 0, 'storage.file_rotation.check_interval_ms': 100 } });
let cut = null;
for (const t0 = Date.now(); Date.now() - t0 < 30000 && !cut; await sleep(100))
  cut = sql(db(), `select path, rows from parts where kind = 'stable' and (select count(*) from parts where kind = 'active') = 0
    order by max_time desc limit 1`)[0];
ok(cut && cut.rows >= nrec - before, `the new records merged into a stable part (${cut && cut.rows} rows)`);
if (cut) {
  const rgs = await duck(`select row_group_id g, epoch_ns(stats_min_value::TIMESTAMP_NS)::VARCHAR lo, epoch_ns(stats_max_value::TIMESTAMP_NS)::VARCHAR hi from parquet_metadata('${path.resolve(s.data, cut.path)}') where path_in_schema = 'time' order by g`);
  const apart = rgs.every((r, i) => i === 0 || BigInt(rgs[i - 1].hi) <= BigInt(r.lo));
  ok(rgs.length >= 3 && apart, `its ${rgs.length} row groups hold disjoint stretches of time, in order`);
}
await compare('row groups cut by time');
await s.stop();
s.checkLog();
done();
})();

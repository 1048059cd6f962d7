// Shredded attributes A/B (storage.parquet.shred_keys): the same spans
// (t/bench/loadgen gen, SPANS of them, 300000 unless given) into two
// servers, one writing attributes whole (0) and one shredding (16);
// bytes on disk a span as flushed and merged, and the attribute queries'
// milliseconds (best of RUNS, 5, the servers' runs alternating) on the
// merged parts, side by side.
// Run from the repository's root: node t/bench/shred.mjs [SPANS]
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { start, root, tmpdir, sql, sleep, httpPost } from '../lib/harness.mjs';

const SPANS = Number(process.argv[2] || 300000), RUNS = Number(process.env.RUNS || 5);
const loadgen = path.join(root, 't/bench/loadgen');
const genDir = tmpdir('shredgen');
const gen = spawnSync(loadgen, ['gen', '-o', genDir, '-n', String(SPANS), '-l', '0', '-m', '0', '-r', '500']);
if (gen.status !== 0) throw new Error(gen.stderr.toString());
const Q = [
  ['attribute filter (compare.mjs)', `SELECT service_name, count(*) AS n FROM spans WHERE attributes ->> '$."http.response.status_code".intValue' = '500' GROUP BY 1 ORDER BY 1`],
  ['attribute filter by key', `SELECT service_name, count(*) AS n FROM spans WHERE attributes ->> 'http.response.status_code' = 500 GROUP BY 1 ORDER BY 1`],
  ['group by a key', `SELECT attributes ->> 'http.route' AS r, count(*) AS n FROM spans GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10`],
  ['two keys', `SELECT attributes ->> 'http.request.method' AS m, count(*) AS n FROM spans WHERE attributes ->> 'http.response.status_code' >= 400 GROUP BY 1 ORDER BY 1`],
  ['attributes whole', `SELECT count(*) AS n FROM spans WHERE attributes LIKE '%"http.response.status_code":500%'`],
];
const out = {}, servers = {};
for (const keys of [0, 16]) {
  const config = { 'storage.parquet.shred_keys': keys, 'storage.buffer.flush_interval_ms': 1000 };
  let s = await start({ tag: `shred${keys}`, config });
  const db = path.join(s.data, 'openwit.db');
  const r = spawnSync(loadgen, ['send', '-k', 'traces', '-a', `127.0.0.1:${s.ports.otlp}`, '-c', '4', genDir]);
  if (r.status !== 0) throw new Error(r.stderr.toString());
  const stored = () => sql(db, 'select coalesce(sum(rows), 0) n, coalesce(sum(bytes), 0) b from parts')[0];
  while (stored().n < SPANS) await sleep(100);
  const flushed = stored().b / SPANS;
  await s.stop();
  s = await start({ dir: s.dir, ports: s.ports, config: { ...config, 'storage.file_rotation.file_duration_minutes': 0, 'storage.file_rotation.check_interval_ms': 100 } });
  while (sql(db, "select count(*) n from (select 1 from parts where kind = 'active' group by tenant, signal, day having count(*) > 1)")[0].n) await sleep(200);
  out[keys] = { flushed: flushed.toFixed(2), merged: (stored().b / SPANS).toFixed(2) };
  servers[keys] = s;
}
// the two servers' runs alternate, so that the machine's other work
// weighs on both alike
for (const [name, q] of Q) {
  const best = { 0: Infinity, 16: Infinity }, rows = {};
  for (let k = 0; k < RUNS; k++) {
    for (const keys of [0, 16]) {
      const t = performance.now();
      const a = await httpPost(servers[keys].ports.control, '/api/search', JSON.stringify({ query: q, limit: 100 }));
      best[keys] = Math.min(best[keys], performance.now() - t);
      const j = JSON.parse(a.text);
      rows[keys] = JSON.stringify(j.result && j.result.rows) + ' ' + j.engine;
    }
  }
  for (const keys of [0, 16]) out[keys][name] = { ms: best[keys].toFixed(1), rows: rows[keys] };
}
for (const keys of [0, 16]) await servers[keys].stop();
for (const k of ['flushed', 'merged']) console.log(`B a span ${k}: whole ${out[0][k]}, shredded ${out[16][k]}`);
for (const [name] of Q) {
  const a = out[0][name], b = out[16][name];
  console.log(`${name}: whole ${a.ms} ms, shredded ${b.ms} ms${a.rows === b.rows ? '' : ` DIFFERENT: ${a.rows} | ${b.rows}`}`);
}
if (process.env.VERBOSE) console.log(JSON.stringify(out, null, 1));
process.exit(0);

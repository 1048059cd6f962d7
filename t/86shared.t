#!/usr/bin/env node
// The buffers hold a value that the rows of a resource, a scope or a metric
// share once, and a record's name, severity text and attributes once a
// request (modules/columns: column.h's refs), and queries read them as the
// rows' own: the same answers from the buffered rows as from the parts
// they are flushed into, on both engines, for filters, groups and values of
// those columns (loadgen's shop: 27 services on 59 pods).
const path = require('node:path');
const { spawnSync } = require('node:child_process');
(async () => {
const { start, root, curlJSON, ok, is, done, tmpdir, sql, sleep } = await import('./lib/harness.mjs');
const loadgen = process.env.OPENWIT_LOADGEN_BIN || path.join(root, 't/bench/loadgen');
const gdir = tmpdir('shared-gen');
const lgEnv = { env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=0' } };
const g = spawnSync(loadgen, ['gen', '-o', gdir, '-n', 3000, '-l', 3000, '-m', 3000, '-r', 200].map(String), lgEnv);
ok(g.status === 0, 'loadgen gen: 3000 spans, log records and points', g.stderr.toString());

const queries = [
  "SELECT service_name, count(*) n FROM spans GROUP BY 1 ORDER BY 1",
  "SELECT resource_attributes->>'k8s.pod.name' pod, count(*) n FROM spans WHERE service_name LIKE 'c%' GROUP BY 1 ORDER BY 1",
  "SELECT count(*) n FROM spans WHERE resource_attributes->>'k8s.namespace.name' = 'shop' AND scope_name IS NOT NULL",
  "SELECT scope_name, scope_version, count(*) n FROM logs GROUP BY 1, 2 ORDER BY 1, 2",
  "SELECT service_name, resource_attributes FROM logs WHERE resource_attributes LIKE '%pod%' ORDER BY time, service_name LIMIT 50",
  "SELECT metric_name, metric_type, metric_unit, count(*) n FROM metrics GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
  "SELECT count(*) n FROM metrics WHERE metric_description LIKE '%CPU%' OR metric_name = 'http.server.request.duration'",
  "SELECT name, count(*) n, min(attributes) a FROM spans WHERE attributes->>'http.route' = '/api/cart' OR name LIKE '%Get%' GROUP BY 1 ORDER BY 1",
  "SELECT severity_text, count(*) n FROM logs WHERE attributes IS NOT NULL GROUP BY 1 ORDER BY 1",
  "SELECT attributes, count(*) n FROM metrics WHERE metric_name = 'process.cpu.utilization' GROUP BY 1 ORDER BY 1",
];
const answers = async (s) => {
  const out = [];
  for (const query of queries)
    for (const engine of ['auto', 'sqlite']) {
      const r = curlJSON(`${s.control}/api/search`, ['--data-binary', JSON.stringify({ query, limit: 5000, engine })]);
      out.push({ query, engine, rows: r.json && r.json.result ? r.json.result.rows : r.text });
    }
  return out;
};

const dir = tmpdir('shared');
const config = { 'storage.buffer.flush_interval_ms': 600000, 'storage.buffer.flush_at_percent': 100 };
let s = await start({ dir, config });
for (const sig of ['traces', 'logs', 'metrics']) {
  const r = spawnSync(loadgen, ['send', '-k', sig, '-a', `127.0.0.1:${s.ports.otlp}`, '-c', 2, gdir].map(String), lgEnv);
  is(JSON.parse(r.stdout.toString()).acked_records, 3000, `${sig}: 3000 records acknowledged`);
}
is(sql(path.join(s.data, 'openwit.db'), 'select count(*) n from parts')[0].n, 0, 'nothing flushed yet: every row is buffered');
const buffered = await answers(s);
ok(buffered.every((a) => Array.isArray(a.rows) && a.rows.length > 0), 'every query answers rows from the buffers', buffered.filter((a) => !Array.isArray(a.rows) || !a.rows.length));
is((await s.stop()).code, 0, 'a clean stop flushes every buffer');
s = await start({ dir, ports: s.ports, config });
ok(sql(path.join(s.data, 'openwit.db'), 'select count(*) n from parts')[0].n > 0, 'after the restart the rows are in parts');
const stored = await answers(s);
for (let i = 0; i < stored.length; i++)
  is(buffered[i].rows, stored[i].rows, `${stored[i].engine}: ${stored[i].query.slice(0, 70)}: buffered and stored agree`);
await sleep(0);
done();
})();

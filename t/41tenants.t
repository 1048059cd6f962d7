#!/usr/bin/env node
// One definition of a tenant name: a generated set of valid names is
// acknowledged, survives kill -9 and is found again after the restart, every
// record once; names the definition refuses (a leading ".", "..", too long,
// characters outside [A-Za-z0-9._-]) get 400 on ingest and on queries, and
// are stored nowhere.
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
(async () => {
const { start, curl, curlJSON, ok, is, note, done, jsonTraces, jsonLogs } = await import('./lib/harness.mjs');

// a seeded generator: the same names every run, and a note says the seed
let seed = Number(process.env.TENANT_SEED || 20261207);
const rand = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
const CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-';
const valid = new Set(['default', '-', '_', '0', 'a', 'a..b', 'x.', 'x..', '-.-', '_hid', 'A'.repeat(64), 'tenant.with.dots', 'UPPER-lower_09']);
while (valid.size < 60) {
  const len = 1 + rand(rand(2) ? 12 : 64);
  let t = CHARS[rand(CHARS.length)];
  if (t === '.') t = 'd'; // a leading '.' is the one thing a valid name cannot have
  for (let i = 1; i < len; i++) t += CHARS[rand(CHARS.length)];
  valid.add(t);
}
const invalid = ['.hid', '.', '..', '...', '.a.b', 'A'.repeat(65), 'a/b', 'a b', 'caf\u00e9', 'a:b', 'a%2fb', '*'];
note(`${valid.size} valid tenant names (seed ${process.env.TENANT_SEED || 20261207}), ${invalid.length} invalid`);

const s = await start({ tag: 'tenants' });
const tag = crypto.randomBytes(4).toString('hex');
const post = (srv, p, body, tenant) => curl(`${srv.otlp}${p}`, ['-X', 'POST', '-H', 'Content-Type: application/json', '-H', `X-Scope-OrgID: ${tenant}`, '--data-binary', body]);
const search = (srv, tenant, query) => curlJSON(`${srv.control}/api/search`, ['-H', `X-Scope-OrgID: ${tenant}`, '--data-binary', JSON.stringify({ query })]);

// ---- refused names: 400 on ingest and on queries, nothing on disk ----
for (const t of invalid) {
  const r = post(s, '/v1/traces', jsonTraces(`bad-${tag}`), t);
  is(r.code, 400, `ingest with tenant ${JSON.stringify(t)}: 400`);
  is(search(s, t, 'SELECT count(*) AS n FROM spans').code, 400, `query with tenant ${JSON.stringify(t)}: 400`);
}
const walDir = path.join(s.data, 'wal');
const dots = fs.existsSync(walDir) ? fs.readdirSync(walDir).filter((d) => d.startsWith('.')) : [];
is(dots, [], 'no WAL directory was made for a refused name');

// ---- every valid name: acknowledged, then kill -9 ----
const names = [...valid];
const mark = (i) => `rec-${tag}-${String(i).padStart(3, '0')}`; // no mark is a prefix of another
const failed = [];
for (const [i, t] of names.entries()) {
  const logs = i % 2 === 1;
  const r = post(s, logs ? '/v1/logs' : '/v1/traces', logs ? jsonLogs(mark(i)) : jsonTraces(mark(i)), t);
  if (r.code !== 200) failed.push(`${t}: ${r.code} ${r.text}`);
}
is(failed, [], `all ${names.length} valid tenant names are acknowledged`);
s.kill();
await s.exited;
s.forget();

// ---- restart: every record found again, once, under its own tenant ----
const s2 = await start({ dir: s.dir, ports: s.ports });
const missing = [];
for (const [i, t] of names.entries()) {
  const logs = i % 2 === 1;
  const q = logs ? `SELECT count(*) AS n FROM logs WHERE body LIKE '%${mark(i)}%'`
    : `SELECT count(*) AS n FROM spans WHERE name = '${mark(i)}'`;
  const r = search(s2, t, q);
  const n = r.json && r.json.result ? r.json.result.rows[0].n : `HTTP ${r.code} ${r.text}`;
  if (n !== 1) missing.push(`${t}: ${n}`);
}
is(missing, [], `after kill -9 and a restart, each of the ${names.length} tenants has its record exactly once`);
// and no tenant sees another's
const r = search(s2, names[2], 'SELECT count(*) AS n FROM spans');
is(r.json && r.json.result.rows[0].n, 1, `tenant ${names[2]} sees its own span only`);
s2.checkLog();
done();
})();

#!/usr/bin/env node
// Queries are their own class of work, and their budgets bind:
//  - with one ingest worker and the query cap full of slow queries, an
//    OTLP/HTTP request is acknowledged while they still run;
//  - past query.max_concurrent (or per tenant) the answer is 429 with
//    Retry-After, and other tenants still get in;
//  - a query stuck inside one SQLite call (LIKE, trim, regexp and match()
//    over long strings) stops at its time budget; the quadratic instr
//    answers at once;
//  - a row of 200 huge printf columns fails alone with the memory budget's
//    message, and the server goes on;
//  - a query whose client goes away is cancelled, long before its budget.
const { spawn } = require('node:child_process');
(async () => {
const { start, curl, curlJSON, ok, is, like, note, done, sleep, jsonTraces } = await import('./lib/harness.mjs');

const TIMEOUT = 4000;
const s = await start({
  tag: 'qlimits',
  config: {
    'workers.threads': 1, 'query.threads': 2, 'query.max_concurrent': 3, 'query.max_concurrent_per_tenant': 2,
    'query.timeout_ms': TIMEOUT, 'query.max_memory_bytes': 64 * 1024 * 1024,
  },
});

// curl in the background: resolves {code, headers, json, ms, at} when it ends
function curlAsync(args) {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const p = spawn('curl', ['-sS', '-D', '-', '--max-time', '60', ...args]);
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.on('exit', (status) => {
      const [head, ...rest] = out.split('\r\n\r\n');
      const body = rest.join('\r\n\r\n');
      const code = Number((head.match(/^HTTP\/[\d.]+ (\d+)/) || [])[1] || 0);
      const headers = {};
      for (const l of head.split('\r\n').slice(1)) { const i = l.indexOf(':'); if (i > 0) headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim(); }
      let json; try { json = JSON.parse(body); } catch {}
      resolve({ code, headers, json, body, status, ms: Date.now() - t0, at: Date.now() });
    });
  });
}
const query = (sql, tenant = 'default', extra = []) => curlAsync([...extra, `${s.control}/api/search`, '-H', `X-Scope-OrgID: ${tenant}`, '--data-binary', JSON.stringify({ query: sql })]);
const metric = (name) => Number((curl(`${s.control}/metrics`).text.match(new RegExp(`^${name} (\\d+)`, 'm')) || [])[1]);
async function until(cond, ms = 10000) {
  const t0 = Date.now();
  while (!(await cond()) && Date.now() - t0 < ms) await sleep(50);
  return cond();
}

// A query that spends its whole budget inside one LIKE call: SQLite's own
// matcher would take minutes over these strings.
const SLOW = `SELECT printf('%.*c', 3000000, 'a') LIKE '%' || printf('%.*c', 5000, 'a') || 'b%' AS m`;

// ---- the quadratic instr: answered at once, with SQLite's answer ----
{
  const r = await query(`SELECT instr(printf('%.*c', 3000000, 'a'), printf('%.*c', 1000000, 'a') || 'b') AS i, instr(printf('%.*c', 3000, 'a') || 'b', 'ab') AS j`);
  is(r.code, 200, 'instr over two long strings: 200');
  is(r.json && r.json.result.rows, [{ i: 0, j: 3000 }], 'instr: SQLite\'s answers (0, and the position)');
  note(`instr: ${r.ms} ms`);
}

// ---- time budgets bind inside one call ----
const TOKENS = Array.from({ length: 3000 }, (_, i) => `t${i}`).join(' ');
for (const [what, sql] of [
  ['LIKE over long strings', SLOW],
  ['GLOB over long strings', `SELECT printf('%.*c', 3000000, 'a') GLOB '*' || printf('%.*c', 5000, 'a') || 'b*' AS m`],
  ['trim with a long set', `SELECT length(trim(printf('%.*c', 3000000, 'a'), printf('%.*c', 3000000, 'b') || 'a')) AS n`],
  // glibc's matcher: ~15 s over 100 KB, four times that over 200 KB
  ['regexp over a long text', `SELECT regexp('(a|aa)*c', printf('%.*c', 200000, 'a')) AS m`],
  // every token of the query at the end of a text of a million tokens
  ['match() over a long text', `SELECT match(replace(printf('%.*c', 1000000, 'a'), 'a', 'a ') || '${TOKENS}', '${TOKENS}') AS m`],
  ['printf repeating a character 2^31 times, 200 times', `SELECT ${Array.from({ length: 200 }, (_, i) => `printf('%.*c', 2147483647, 'a') AS c${i}`).join(', ')}`],
]) {
  const r = await query(sql);
  if (/printf/.test(what)) {
    is(r.code, 200, `${what}: answered (NULL: a value too long)`);
    ok(r.ms < TIMEOUT, `${what}: at once, not ~10 s a column (${r.ms} ms)`);
    continue;
  }
  is(r.code, 400, `${what}: 400`);
  like(r.json && r.json.error, new RegExp(`query exceeded its time budget of ${TIMEOUT} ms`), `${what}: the time budget's message`);
  ok(r.ms < TIMEOUT + 1000, `${what}: stopped within 1 s of the budget (${r.ms} ms)`);
}

// ---- the memory budget binds: 200 huge columns in one row ----
{
  const cols = Array.from({ length: 200 }, (_, i) => `printf('%.*c', 60000000, 'a') AS c${i}`).join(', ');
  const r = await query(`SELECT ${cols}`);
  is(r.code, 400, '200 printf columns of 60 MB: 400');
  like(r.json && r.json.error, /query exceeded its memory budget of 64 MiB/, '200 printf columns: the memory budget\'s message');
  const r2 = await query(`SELECT printf('%.*c', 20000000, char(1)) AS a, printf('%.*c', 20000000, char(1)) AS b`);
  like(r2.json && r2.json.error, /query exceeded its memory budget of 64 MiB/, 'an answer that escapes to more than the budget: the memory budget\'s message');
  is(curl(`${s.control}/health`).code, 200, 'the server is still up');
  const r3 = await query('SELECT 1 AS one');
  is(r3.json && r3.json.result.rows, [{ one: 1 }], 'and answers the next query');
}

// ---- the cap: 429 with Retry-After; ingest acknowledged meanwhile ----
{
  const slow = [query(SLOW, 't1'), query(SLOW, 't1')];
  await until(() => metric('openwit_queries_running') === 2);
  const third = await query('SELECT 1 AS one', 't1');
  is(third.code, 429, 'a third query of tenant t1 (query.max_concurrent_per_tenant 2): 429');
  is(third.headers['retry-after'], '1', '429 carries Retry-After');
  like(third.json && third.json.error, /query\.max_concurrent_per_tenant/, '429 names the per-tenant cap');
  const other = query(SLOW, 't2');
  await until(() => metric('openwit_queries_running') === 3);
  const fourth = await query('SELECT 1 AS one', 't3');
  is(fourth.code, 429, 'a fourth query over all (query.max_concurrent 3): 429');
  like(fourth.json && fourth.json.error, /query\.max_concurrent\b/, '429 names the overall cap');
  // one ingest worker, three queries at the cap: the acknowledgement comes
  // while they still run (on the old shared pool it waited behind them)
  const acks = [];
  for (let i = 0; i < 5; i++) acks.push(await curlAsync([`${s.otlp}/v1/traces`, '-H', 'Content-Type: application/json', '--data-binary', jsonTraces(`during-queries-${i}`)]));
  const ended = await Promise.all([...slow, other]);
  is(acks.map((a) => a.code), [200, 200, 200, 200, 200], 'OTLP/HTTP requests during queries at the cap: 200');
  const firstEnd = Math.min(...ended.map((e) => e.at));
  ok(acks.every((a) => a.at < firstEnd), `every acknowledgement came before any of the queries ended (acks ${acks.map((a) => a.ms).join(', ')} ms; queries ${ended.map((e) => e.ms).join(', ')} ms)`);
  is(ended.map((e) => e.code), [400, 400, 400], 'the slow queries ended at their budget');
  const back = await query(`SELECT count(*) AS n FROM spans WHERE name LIKE 'during-queries-%'`);
  is(back.json && back.json.result.rows[0].n, 5, 'the acknowledged spans are there');
  ok(metric('openwit_queries_refused_total') >= 2, 'refused queries are counted in /metrics');
}

// ---- a client that goes away cancels its query ----
{
  const before = metric('openwit_queries_cancelled_total');
  const r = await query(SLOW, 'default', ['--max-time', '1']);
  ok(r.status === 28, `the client gave up after 1 s (curl exit ${r.status})`);
  const t0 = Date.now();
  ok(await until(() => metric('openwit_queries_running') === 0, TIMEOUT), 'the query is no longer running');
  ok(Date.now() - t0 < TIMEOUT - 1500, `it stopped before its time budget would have ended it (${Date.now() - t0} ms after the client left)`);
  is(metric('openwit_queries_cancelled_total'), before + 1, 'openwit_queries_cancelled_total counts it');
  ok(await until(() => /query: query cancelled: the client closed the connection/.test(s.log()), 5000), 'the log says why it stopped');
}

s.checkLog();
done();
})();

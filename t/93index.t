#!/usr/bin/env node
// The full-text index (modules/index): a generated corpus of log bodies and
// attributes, and hundreds of token searches - match() and LIKE '%...%',
// tokens present and absent, whole, prefixes, suffixes and inside longer
// tokens, in any case - asked of both engines without the index, with it,
// with rows in the buffers beside the parts, after a merge, while an index
// file is deleted or damaged, and after a SIGKILL in the middle of
// indexing: every answer is the oracle's (the tokenizer again, in JS), and
// the index is used (fewer bytes read). The tracker shows index_pip and
// index_completed_at for every batch.
const fs = require('node:fs');
const path = require('node:path');
(async () => {
const { start, faultsBin, httpPost, curl, sql, ok, is, like, note, done, sleep } = await import('./lib/harness.mjs');

// ---- the corpus ----
let seed = 12345;
const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
const ri = (a, b) => a + Math.floor(rnd() * (b - a + 1));
const pick = (a) => a[ri(0, a.length - 1)];
const letters = 'abcdefghijklmnopqrstuvwxyz';
const word = () => { let w = ''; for (let n = ri(2, 7); n > 0; n--) w += letters[ri(0, 25)]; if (rnd() < 0.15) w += ri(0, 99); return w; };
const vocab = [...new Set(Array.from({ length: 400 }, word))];
// a word's frequency falls with its rank: a few in most blocks, most in few
const draw = () => vocab[Math.floor(vocab.length * rnd() ** 3)];
const seps = [' ', ' ', ', ', '=', '_', '-', '/', ': ', '.', '"', '(', ')'];
const casing = (w) => { const r = rnd(); return r < 0.2 ? w.toUpperCase() : r < 0.35 ? w[0].toUpperCase() + w.slice(1) : w; };
const text = () => {
  let s = '';
  for (let n = ri(2, 9); n > 0; n--) s += casing(draw()) + (n > 1 ? pick(seps) : '');
  if (rnd() < 0.05) s += ' café 日本';
  return s;
};
const now = BigInt(Date.now()) * 1000000n;
let nrec = 0;
const corpus = [];
const batch = (n) => {
  const recs = [];
  for (let i = 0; i < n; i++) {
    const r = { body: text(), attr: text() };
    corpus.push(r);
    recs.push({ timeUnixNano: String(now + BigInt(nrec++) * 1000n), body: { stringValue: r.body },
      attributes: [{ key: 'detail', value: { stringValue: r.attr } }] });
  }
  return JSON.stringify({ resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'idx' } }] },
    scopeLogs: [{ logRecords: recs }] }] });
};

// ---- the oracle: the tokenizer of modules/index/index.h ----
const tokens = (s) => {
  const out = [];
  let cur = [];
  for (const b of Buffer.from(s)) {
    const tok = (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b >= 128;
    if (tok) cur.push(b >= 65 && b <= 90 ? b + 32 : b);
    else if (cur.length) { out.push(Buffer.from(cur).toString('latin1')); cur = []; }
  }
  if (cur.length) out.push(Buffer.from(cur).toString('latin1'));
  return out;
};
const fold = (s) => Buffer.from(Buffer.from(s).map((b) => (b >= 65 && b <= 90 ? b + 32 : b))).toString('latin1');
const expect = (q, rows) => {
  let n = 0;
  for (const r of rows) {
    const v = q.col === 'body' ? r.body : JSON.stringify({ detail: r.attr });
    if (q.kind === 'match') { const t = new Set(tokens(v)); n += tokens(q.arg).every((x) => t.has(x)) ? 1 : 0; }
    else n += fold(v).includes(fold(q.arg)) ? 1 : 0;
  }
  return n;
};
const sqlq = (q) => q.kind === 'match'
  ? `SELECT count(*) AS n FROM logs WHERE match(${q.col}, '${q.arg}')`
  : `SELECT count(*) AS n FROM logs WHERE ${q.col} LIKE '%${q.arg}%'`;

// ---- the searches ----
const absent = () => { let w; do w = word() + 'q'; while (vocab.includes(w)); return w; };
const queries = [];
for (let i = 0; i < 120; i++) {
  const w = draw(), w2 = draw();
  const cut = (x) => x.slice(ri(0, Math.max(0, x.length - 2)), ri(1, x.length));
  queries.push({ kind: 'match', col: 'body', arg: casing(w) });
  queries.push({ kind: 'like', col: 'body', arg: i % 3 ? casing(w) : cut(w) || w });
  if (i % 2 === 0) queries.push({ kind: 'match', col: 'body', arg: `${w} ${casing(w2)}` });
  if (i % 3 === 0) queries.push({ kind: 'like', col: 'body', arg: `${w.slice(1)} ${w2.slice(0, -1)}` });
  if (i % 4 === 0) queries.push({ kind: 'match', col: 'body', arg: absent() });
  if (i % 4 === 1) queries.push({ kind: 'like', col: 'body', arg: absent() });
  if (i % 5 === 0) queries.push({ kind: 'match', col: 'attributes', arg: casing(w) });
  if (i % 5 === 1) queries.push({ kind: 'like', col: 'attributes', arg: w.slice(0, -1) });
}
queries.push({ kind: 'match', col: 'body', arg: 'CAFÉ' }, { kind: 'match', col: 'body', arg: '日本' },
  { kind: 'match', col: 'body', arg: '' }, { kind: 'match', col: 'body', arg: '--' });
note(`${queries.length} searches, ${vocab.length} words`);

const search = async (s, query, engine) => {
  const r = await httpPost(s.ports.control, '/api/search', JSON.stringify({ query, engine }));
  const j = JSON.parse(r.text);
  return j.status === 'success' ? { n: Number(j.result.rows[0].n), bytes: j.bytes_scanned, engine: j.engine } : { err: j.error };
};
// every search on both engines against the oracle; the bytes read
const check = async (s, what, rows) => {
  const bad = [];
  let bytes = 0, engines = new Set();
  for (const q of queries) {
    const want = expect(q, rows);
    for (const engine of ['auto', 'sqlite']) {
      const got = await search(s, sqlq(q), engine);
      engines.add(got.engine);
      bytes += got.bytes || 0;
      if (got.n !== want) bad.push(`${sqlq(q)} [${engine}]: ${got.err || got.n}, want ${want}`);
    }
  }
  is(bad.slice(0, 5), [], `${what}: ${queries.length} searches x 2 engines as the oracle answers`);
  is([...engines].sort(), ['columnar', 'sqlite'], `${what}: both engines answered`);
  return bytes;
};

const base = { 'storage.buffer.flush_interval_ms': 100, 'index.block_rows': 64, 'storage.parquet.page_rows': 64,
  'index.check_interval_seconds': 1 };
const db = (s) => path.join(s.data, 'openwit.db');
const idxFiles = (s) => fs.existsSync(path.join(s.data, 'index')) ? fs.readdirSync(path.join(s.data, 'index')).sort() : [];
const partIds = (s) => sql(db(s), 'select part_id from parts').map((r) => `${r.part_id}.idx`).sort();
const waitFor = async (cond, ms = 15000) => { for (const t0 = Date.now(); Date.now() - t0 < ms; await sleep(50)) if (await cond()) return true; return false; };
const stored = (s, n) => waitFor(() => sql(db(s), 'select coalesce(sum(rows), 0) n from parts')[0].n >= n);
const allIndexed = (s) => waitFor(() => {
  const r = sql(db(s), 'select count(*) n, sum(index_pip) i, count(index_completed_at) c from batch_tracker where storage_pip = 1')[0];
  return r.n > 0 && r.i === r.n && r.c === r.n && String(idxFiles(s)) === String(partIds(s));
});

// ---- without the index ----
let s = await start({ tag: 'index', config: { ...base, 'index.enabled': false } });
let each = true;
for (let k = 0; k < 12; k++) {
  is((await httpPost(s.ports.otlp, '/v1/logs', batch(ri(100, 300)))).code, 200, `batch ${k} acknowledged`);
  each = (await stored(s, corpus.length)) && each; // a part each
}
ok(each, `${corpus.length} records stored, in ${sql(db(s), 'select count(*) n from parts')[0].n} parts`);
is(idxFiles(s), [], 'index.enabled false: no index file');
const bytesScan = await check(s, 'no index', corpus);
await s.stop();
s.forget();

// ---- with it ----
s = await start({ dir: s.dir, ports: s.ports, config: base });
ok(await allIndexed(s), 'every part indexed: index_pip = 1 and index_completed_at set for every stored batch, one index file per listed part');
const bytesIdx = await check(s, 'indexed', corpus);
ok(bytesIdx < bytesScan * 0.8, `the index is used: ${bytesIdx} bytes read against ${bytesScan} scanning`);
const sizes = sql(db(s), 'select sum(bytes) b, sum(rows) r from parts')[0];
const ib = idxFiles(s).reduce((a, f) => a + fs.statSync(path.join(s.data, 'index', f)).size, 0);
note(`index ${(ib / sizes.r).toFixed(1)} bytes a record, data ${(sizes.b / sizes.r).toFixed(1)}`);
{
  const bad = [];
  const qs = queries.filter((x) => x.kind === 'like' && x.col === 'body').slice(0, 40);
  for (const q of qs) {
    const r = curl(`${s.control}/api/logs/search?q=${encodeURIComponent(q.arg)}&limit=10000`);
    const n = JSON.parse(r.text).result.rows.length;
    if (n !== expect(q, corpus)) bad.push(`${q.arg}: ${n}, want ${expect(q, corpus)}`);
  }
  is(bad, [], `/api/logs/search: ${qs.length} texts, the records whose body holds each, as the oracle finds them`);
}
const metrics = () => curl(`${s.control}/metrics`).text;
ok(/^openwit_queue_items\{queue="index"/m.test(metrics()) || /queue="index"/.test(metrics()), 'the index queue is in /metrics');

// a deleted and a damaged index: answers unchanged meanwhile, both rebuilt
{
  const files = idxFiles(s);
  const dir = path.join(s.data, 'index');
  fs.unlinkSync(path.join(dir, files[0]));
  const fd = fs.openSync(path.join(dir, files[1]), 'r+');
  fs.writeSync(fd, Buffer.from('garbage!'), 0, 8, 40);
  fs.closeSync(fd);
  const q = queries.slice(0, 40);
  const bad = [];
  for (const x of q) { const got = await search(s, sqlq(x), 'auto'); if (got.n !== expect(x, corpus)) bad.push(sqlq(x)); }
  is(bad, [], 'answers unchanged while an index is deleted and another damaged');
  ok(await waitFor(() => /openwit_index_rebuilt_total (\d+)/.test(metrics()) && Number(metrics().match(/openwit_index_rebuilt_total (\d+)/)[1]) >= 2),
    'both rebuilt (openwit_index_rebuilt_total)');
  is(idxFiles(s), partIds(s), 'an index file for every part again');
  ok(await waitFor(() => /index: .*checksum mismatch; rebuilding/.test(s.log())), 'the damaged one detected by its checksum');
}
await check(s, 'rebuilt', corpus);
await s.stop();
s.forget();

// ---- the postings in memory bounded (index.max_memory_bytes): the least
// recently used dropped, read again for the next query that needs them;
// the same answers and the same bytes read ----
s = await start({ dir: s.dir, ports: s.ports, config: { ...base, 'index.max_memory_bytes': 4096 } });
ok(await allIndexed(s), 'index.max_memory_bytes 4096: every part indexed');
ok(ib > 3 * 4096, `the indexes (${ib} bytes) are more than it holds`);
const bytesBounded = await check(s, 'index.max_memory_bytes 4096', corpus);
is(bytesBounded, bytesIdx, 'index.max_memory_bytes 4096: the index used as with all of it in memory (the same bytes read)');
const metric = (name) => Number((metrics().match(new RegExp(`^${name} (\\d+)`, 'm')) || [])[1]);
ok(metric('openwit_index_bytes') <= 4096, `openwit_index_bytes at most index.max_memory_bytes (${metric('openwit_index_bytes')})`);
ok(metric('openwit_index_evicted_total') > 0 && metric('openwit_index_reread_total') > 0,
  `postings evicted (${metric('openwit_index_evicted_total')}) and read again (${metric('openwit_index_reread_total')})`);
// new parts indexed while searches hold and read postings again: the list
// of postings in memory stays whole (a part published and listed at once)
{
  const before = corpus.length;
  const searches = (async () => {
    let n = 0;
    for (const t0 = Date.now(); Date.now() - t0 < 4000; n += 4)
      await Promise.all(queries.slice(n % 200, n % 200 + 4).map((q) => search(s, sqlq(q), 'auto')));
    return n;
  })();
  for (let k = 0; k < 8; k++) {
    await httpPost(s.ports.otlp, '/v1/logs', batch(ri(50, 100)));
    await stored(s, corpus.length);
  }
  const n = await searches;
  ok(await allIndexed(s), `${corpus.length - before} more records indexed during ${n} searches`);
  await check(s, 'indexed during searches, index.max_memory_bytes 4096', corpus);
  const b = metric('openwit_index_bytes');
  ok(b >= 0 && b <= 4096, `openwit_index_bytes still at most index.max_memory_bytes (${b})`);
}
await s.stop();
s.forget();

// ---- rows in the buffers beside the parts, then a merge ----
s = await start({ dir: s.dir, ports: s.ports, config: { ...base, 'storage.buffer.flush_interval_ms': 600000,
  'storage.file_rotation.file_duration_minutes': 0, 'storage.file_rotation.check_interval_ms': 50 } });
is((await httpPost(s.ports.otlp, '/v1/logs', batch(150))).code, 200, 'more records, held in a buffer');
await check(s, 'parts and a buffer', corpus);
ok(await waitFor(() => sql(db(s), "select count(*) n from parts where kind = 'stable'")[0].n === 1), 'merged while the buffer waits');
ok(await allIndexed(s), 'the stable part indexed, the indexes of the parts it merged gone');
await check(s, 'a merged part and a buffer', corpus);
await s.stop(); // the buffer flushes as the server drains
s.forget();
s = await start({ dir: s.dir, ports: s.ports, config: { ...base, 'storage.file_rotation.file_duration_minutes': 0,
  'storage.file_rotation.check_interval_ms': 50 } });
ok(await waitFor(() => sql(db(s), "select count(*) n from parts where kind = 'stable'")[0].n === 1 &&
  sql(db(s), "select count(*) n from parts where kind = 'active'")[0].n <= 1, 30000), 'the janitor merged the active parts into a stable one');
ok(await allIndexed(s), 'the merged part indexed, the merged ones\' indexes gone, every batch index_pip = 1');
await check(s, 'merged', corpus);

// ---- SIGKILL while indexing ----
for (const f of idxFiles(s)) fs.unlinkSync(path.join(s.data, 'index', f));
sql(db(s), 'update batch_tracker set index_pip = 0, index_completed_at = null');
s.kill();
await s.exited;
s.forget();
s = await start({ dir: s.dir, ports: s.ports, config: base });
await sleep(ri(5, 40));
s.kill();
await s.exited;
s.forget();
s = await start({ dir: s.dir, ports: s.ports, config: base });
ok(await allIndexed(s), 'after a SIGKILL mid-indexing: every part indexed again, every batch index_pip = 1');
is(idxFiles(s).filter((f) => !f.endsWith('.idx')), [], 'no unfinished index file left');
await check(s, 'after SIGKILL', corpus);
await s.stop();
s.forget();

// ---- a failing write, retried ----
// The first two index files fail to open (the fault layer's EIO): that
// part's batches show the failures, then its third try succeeds.
for (const f of idxFiles(s)) fs.unlinkSync(path.join(s.data, 'index', f));
s = await start({ dir: s.dir, ports: s.ports, config: base, bin: faultsBin, env: { OPENWIT_IO_FAULTS: 'pq.open:EIO:1-2' } });
ok(await allIndexed(s), 'indexed after two failed tries');
const failed = sql(db(s), "select error_stage, error_message, retry_count, index_pip from batch_tracker where error_stage is not null");
ok(failed.length > 0 && failed.every((r) => r.error_stage === 'index' && r.retry_count === 2 && r.index_pip === 1 && /cannot write .*\.idx\.tmp/.test(r.error_message)),
  'the failing part\'s batches: error_stage index, its error_message, retry_count 2, then index_pip', JSON.stringify(failed.slice(0, 2)));
like(s.log(), /index: part \w+ \(try 2 of 3\)/, 'the retries logged');
await s.stop();
s.forget();
done();
})().catch((e) => { console.log(`not ok - ${e.stack}`); process.exit(1); });

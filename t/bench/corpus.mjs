// corpus.mjs - make bench's "as flushed" mode (called by compare.mjs): the
// query corpus (t/corpus/queries.mjs) timed as a user meets it, right after
// every record is stored, on the parts as flushed (no forced merge).
//
// openwit: each query through POST /api/search, timed as the HTTP round
// trip, the best of RUNS. DuckDB: in this process with 2 threads (SET
// threads = 2: the cores openwit has), over its own zstd Parquet of the
// same rows sorted like ours (compare.mjs step 1), views named as our
// tables; the best of RUNS too. A query whose first run takes more than
// SLOW_MS is not run again (its first run stands). Each query's answer is
// compared with DuckDB's (t/corpus/check.mjs), and the engine that
// answered it noted.
import { corpus } from '../corpus/queries.mjs';
import { openwit, duckdb, differ } from '../corpus/check.mjs';

const SLOW_MS = 5000;

export async function runCorpus({ port, tenant, parquet, traceId, t0, runs = 3, say = () => {} }) {
  const duck = await duckdb({ threads: 2 });
  await duck.views(Object.fromEntries(Object.entries(parquet).map(([t, f]) => [t, `read_parquet('${f}')`])));
  const res = [];
  for (const q of corpus({ traceId, t0 })) {
    const r = { name: q.name, ow: Infinity, duck: Infinity, engine: null, rows: 0, why: null };
    let ours = null, theirs = null;
    for (let i = 0; i < runs; i++) {
      const a = await openwit(port, tenant, q.ow);
      if (a.code !== 200) { r.why = `openwit: ${a.code} ${a.error}`; break; }
      r.ow = Math.min(r.ow, a.ms);
      r.engine = a.engine;
      ours = a.rows;
      if (a.ms > SLOW_MS) break;
    }
    for (let i = 0; i < runs; i++) {
      try {
        const d = await duck.run(q.duck);
        r.duck = Math.min(r.duck, d.ms);
        theirs = d.rows;
        if (d.ms > SLOW_MS) break;
      } catch (e) { r.why = r.why || `DuckDB: ${e.message || e}`; break; }
    }
    if (ours && theirs) {
      r.rows = ours.length;
      r.why = differ(ours, theirs);
    }
    r.ratio = Number.isFinite(r.ow) && Number.isFinite(r.duck) ? r.ow / r.duck : NaN;
    res.push(r);
    say(`corpus ${q.name}: openwit ${r.ow.toFixed(1)} ms (${r.engine}), DuckDB ${r.duck.toFixed(1)} ms${r.why ? `; DIFFERS: ${r.why.slice(0, 200)}` : ''}`);
  }
  duck.close();
  return res;
}

// The lines of results.txt for the corpus: a table, then the summary.
export function corpusLines(res, { scale, runs }) {
  // a query either side failed has no ratio: listed, not in the mean
  const ok = res.filter((r) => Number.isFinite(r.ow) && Number.isFinite(r.duck));
  const failed = res.filter((r) => !ok.includes(r));
  const geo = Math.exp(ok.reduce((a, r) => a + Math.log(r.ratio), 0) / ok.length);
  const over = ok.filter((r) => r.ratio > 1);
  const notColumnar = res.filter((r) => r.engine !== 'columnar');
  const differing = res.filter((r) => r.why);
  const w = Math.max(...res.map((r) => r.name.length));
  const lines = [];
  lines.push(`corpus, as flushed (BENCH_SCALE=${scale}): ${res.length} queries of t/corpus/queries.mjs right after every record is stored, no forced merge;`);
  lines.push(`openwit: POST /api/search round trip, best of ${runs}; DuckDB: in process, SET threads = 2, its own zstd Parquet sorted like ours, best of ${runs}`);
  lines.push(`(a query over ${SLOW_MS} ms is run once); ratio = openwit / DuckDB, lower is better`);
  lines.push('');
  lines.push(`${'query'.padEnd(w)}  ${'openwit ms'.padStart(10)}  ${'DuckDB ms'.padStart(10)}  ${'ratio'.padStart(7)}  engine    rows  agrees`);
  for (const r of res)
    lines.push(`${r.name.padEnd(w)}  ${(Number.isFinite(r.ow) ? r.ow.toFixed(1) : 'failed').padStart(10)}  ${(Number.isFinite(r.duck) ? r.duck.toFixed(1) : 'failed').padStart(10)}  ${(Number.isFinite(r.ratio) ? r.ratio.toFixed(2) : 'n/a').padStart(7)}  ${String(r.engine).padEnd(8)}  ${String(r.rows).padStart(4)}  ${r.why ? `NO: ${r.why.slice(0, 160)}` : 'yes'}`);
  lines.push('');
  lines.push(`corpus: geometric mean of openwit/DuckDB ${geo.toFixed(2)} over ${ok.length} queries (target <= 1.0: ${geo <= 1 ? 'met' : 'NOT met'})`);
  lines.push(`corpus: ${ok.length - over.length} of ${res.length} at or under 1.0, ${over.length} over${over.length ? ', slowest first:' : ''}`);
  for (const r of [...over].sort((a, b) => b.ratio - a.ratio)) lines.push(`  ${r.ratio.toFixed(2).padStart(6)}  ${r.name}`);
  if (failed.length) {
    lines.push(`corpus: FAILED on one side (no ratio): ${failed.length}`);
    for (const r of failed) lines.push(`  ${r.name}: ${r.why}`);
  }
  lines.push(`corpus: every query columnar: ${notColumnar.length ? `NO, ${res.length - notColumnar.length} of ${res.length}` : 'yes'}${notColumnar.length > 20 ? ' (the engine column says which not)' : notColumnar.length ? ', not:' : ''}`);
  if (notColumnar.length <= 20) for (const r of notColumnar) lines.push(`  ${r.name}`);
  lines.push(`corpus: every query agrees with DuckDB: ${differing.length ? `NO, ${differing.length} differ:` : 'yes'}`);
  for (const r of differing) lines.push(`  ${r.name}`);
  return { lines, geo, over: over.map((r) => r.name), failed: failed.length, notColumnar: notColumnar.length, differing: differing.length };
}

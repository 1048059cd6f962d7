// check.mjs - what t/92corpus.t and make bench's corpus mode share: a query
// sent to openwit's HTTP API, a query run by DuckDB with its types, and
// the comparison of the two answers.
//
// Rows are compared by position (column names differ between the dialects
// for an expression without an alias), each value by its kind:
//   integer  openwit: a JSON number without a fraction or exponent (64 bits
//            read as text, no digit lost); DuckDB: an integer type
//   real     openwit: a number with ".0", a fraction or an exponent;
//            DuckDB: DOUBLE, FLOAT or DECIMAL; equal within 1e-9 relative
//            (a sum of reals depends on the order it is taken in)
//   text     a JSON string; DuckDB: VARCHAR (JSON is VARCHAR too)
//   null
// An integer is never equal to a real nor a text to a number: DuckDB's
// `->>` answers VARCHAR where ours answers the value with its type, and
// its comparisons BOOLEAN where SQLite's answer 0 or 1, so the DuckDB side
// of a pair casts (::BIGINT, ::INT) where a user of DuckDB would. Any
// other DuckDB type (BOOLEAN, TIMESTAMP_NS, BLOB...) is a mistake in the
// pair: our times are integer nanoseconds (epoch_ns()), our ids lowercase
// hex (lower(hex())).
import path from 'node:path';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { root, httpPost } from '../lib/harness.mjs';

// ---- openwit ----
const TAG = '\u0000\u0001i:';
// JSON with every integer as a tagged string: 64-bit values keep their
// digits, and an integer stays apart from a real that prints as one
export function parseTyped(text) {
  let out = '', i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      let j = i + 1;
      while (j < n && /[0-9.eE+-]/.test(text[j])) j++;
      const num = text.slice(i, j);
      out += /^-?\d+$/.test(num) ? JSON.stringify(TAG + num) : num;
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  return JSON.parse(out);
}

// One query through POST /api/search: {code, ms (the HTTP round trip),
// engine, error, rowsText (the rows as the server wrote them), rows (values
// by kind, see canon)}.
export async function openwit(port, tenant, query, engine) {
  const t = process.hrtime.bigint();
  const r = await httpPost(port, '/api/search', JSON.stringify({ query, limit: 100000, ...(engine ? { engine } : {}) }), { headers: { 'X-Scope-OrgID': tenant } });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  let j = null;
  try { j = parseTyped(r.text); } catch {}
  const m = r.text.match(/"rows":(\[.*\]),"total_count"/s);
  const res = { code: r.code, ms, engine: j && j.engine, error: j && j.error, rowsText: m ? m[1] : null, rows: null };
  if (r.code === 200 && j && j.result) res.rows = j.result.rows.map((row) => Object.values(row).map(ourValue));
  return res;
}
const ourValue = (v) => {
  if (v === null) return null;
  if (typeof v === 'string') return v.startsWith(TAG) ? { i: v.slice(TAG.length) } : { s: v };
  if (typeof v === 'number') return { r: v };
  return { other: JSON.stringify(v) };
};

// ---- DuckDB ----
const INTS = new Set(['TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT', 'UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT', 'UHUGEINT']);
const REALS = new Set(['FLOAT', 'DOUBLE', 'DECIMAL']);
// A DuckDB instance of its own (threads: its worker threads), in process.
// SQLite sorts NULLs first going up and last going down, DuckDB last
// either way unless told: the one setting that makes the two dialects
// order alike, set here rather than in every pair.
export async function duckdb({ threads } = {}) {
  const req = createRequire(path.join(root, 't/otel/package.json'));
  const { DuckDBInstance, DuckDBTypeId } = req('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  await conn.run("SET default_null_order = 'nulls_first_on_asc_last_on_desc'");
  if (threads) await conn.run(`SET threads = ${threads}`);
  // the documented macro openwit(files): parts with every attribute
  await conn.run(fs.readFileSync(new URL('../../conf/duckdb/views.sql', import.meta.url), 'utf8'));
  const run = async (q) => {
    const t = process.hrtime.bigint();
    const reader = await conn.runAndReadAll(q);
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    const kinds = reader.columnTypes().map((ty) => DuckDBTypeId[ty.typeId]);
    const rows = reader.getRowsJson().map((row) => row.map((v, k) => {
      if (v === null) return null;
      if (INTS.has(kinds[k])) return { i: String(v) };
      if (REALS.has(kinds[k])) return { r: Number(v) };
      if (kinds[k] === 'VARCHAR') return { s: v };
      return { other: `${kinds[k]} ${JSON.stringify(v)}` };
    }));
    return { ms, rows, kinds };
  };
  // views named as our tables, so that a pair's two texts read alike
  const views = async (src) => {
    for (const [t, s] of Object.entries(src)) await conn.run(`CREATE OR REPLACE VIEW ${t} AS SELECT * FROM ${s}`);
  };
  const close = () => { conn.closeSync(); instance.closeSync(); };
  return { run, views, close };
}

// ---- comparison ----
const sameValue = (a, b) => {
  if (a === null || b === null) return a === b;
  if ('i' in a) return 'i' in b && a.i === b.i;
  if ('r' in a) {
    if (!('r' in b)) return false;
    if (a.r === b.r) return true;
    return Math.abs(a.r - b.r) <= 1e-9 * Math.max(Math.abs(a.r), Math.abs(b.r));
  }
  if ('s' in a) return 's' in b && (a.s === b.s || sameObject(a.s, b.s));
  return false;
};
// Two JSON objects' texts with the same members, in any order: DuckDB's
// macro openwit(files) (conf/duckdb/views.sql) gives a part's shredded
// attribute keys after the others
const sorted = (o) => (o && typeof o === 'object' && !Array.isArray(o)
  ? Object.fromEntries(Object.keys(o).sort().map((k) => [k, sorted(o[k])])) : Array.isArray(o) ? o.map(sorted) : o);
const sameObject = (x, y) => {
  if (!x.startsWith('{') || !y.startsWith('{')) return false;
  try { return JSON.stringify(sorted(JSON.parse(x))) === JSON.stringify(sorted(JSON.parse(y))); } catch { return false; }
};
const show = (v) => (v === null ? 'NULL' : 'i' in v ? v.i : 'r' in v ? `${v.r}r` : 's' in v ? JSON.stringify(v.s) : v.other);
export const showRow = (row) => `(${row.map(show).join(', ')})`;
// null when the rows agree, else what differs first, in words
export function differ(ours, theirs) {
  if (ours.length !== theirs.length) {
    const k = ours.findIndex((r, i) => !theirs[i] || r.length !== theirs[i].length || r.some((v, j) => !sameValue(v, theirs[i][j])));
    return `${ours.length} rows, DuckDB ${theirs.length}${k >= 0 ? `; row ${k + 1}: ${showRow(ours[k])} vs ${theirs[k] ? showRow(theirs[k]) : 'none'}` : ''}`;
  }
  for (let i = 0; i < ours.length; i++) {
    const a = ours[i], b = theirs[i];
    if (a.length !== b.length) return `row ${i + 1}: ${a.length} columns, DuckDB ${b.length}`;
    if (a.some((v, j) => !sameValue(v, b[j]))) return `row ${i + 1}: ${showRow(a)} vs DuckDB ${showRow(b)}`;
  }
  return null;
}

#!/usr/bin/env node
// Our Parquet as other readers see it. The C unit test t/unit/parquet.t
// writes sample files (every type, logical type, encoding and optionality;
// nulls, NaN, infinities, integer extremes; several row groups; zstd and
// uncompressed; bloom filters; dictionary fall-back and many pages) and
// expected.json, the rows they hold. DuckDB (@duckdb/node-api) and hyparquet
// must read back every value with the types we meant, and DuckDB's metadata
// functions must show the codec, encodings, bloom filters and key/value
// metadata the writer chose; a bloom filter DuckDB reads must be ours.
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { pathToFileURL } = require('node:url');
(async () => {
const { ok, is, note, done, tmpdir, root, bin } = await import('./lib/harness.mjs');
const mods = path.join(root, 't/otel/node_modules');
const { DuckDBInstance } = require(path.join(mods, '@duckdb/node-api'));
const hyparquet = await import(pathToFileURL(path.join(mods, 'hyparquet/src/index.js')));
const { compressors } = await import(pathToFileURL(path.join(mods, 'hyparquet-compressors/src/index.js')));

// the unit test of the build under test: build/asan/unit for `make asan`
const unit = [path.join(path.dirname(bin), 'unit/parquet.t'), path.join(root, 't/unit/parquet.t')]
  .find((f) => fs.existsSync(f));
const dir = tmpdir('parquet');
const run = spawnSync(unit, [], { env: { ...process.env, OW_PQ_SAMPLE_DIR: dir }, encoding: 'utf8', maxBuffer: 1 << 26 });
is(run.status, 0, `${path.relative(root, unit)} passes and writes the samples`);
if (run.status !== 0) note(run.stdout.split('\n').filter((l) => /^not ok|^#/.test(l)).join('\n') + run.stderr);
const files = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8'));

const db = await (await DuckDBInstance.create(':memory:')).connect();
const query = async (sql) => (await db.runAndReadAll(sql)).getRowObjects();
const hex = (b) => Buffer.from(b).toString('hex');
const sqlStr = (s) => `'${s.replace(/'/g, "''")}'`;

// a value as expected.json writes it (see json_value in t/unit/parquet.c)
function norm(v, type) {
  if (v === null || v === undefined) return null;
  switch (type) {
    case 'BIGINT': case 'UBIGINT': return BigInt(v).toString();
    case 'TIMESTAMP_NS': return (typeof v === 'object' ? v.nanos : v).toString();
    case 'DOUBLE': return Number.isNaN(v) ? 'NaN' : v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : v;
    case 'BLOB': return hex(v.bytes || v);
    default: return v;
  }
}
const same = (a, b) => (typeof a === 'number' ? Object.is(a, b) : a === b);

// rows[i][c] against the expected data: the columns that differ, with an example
function compare(f, rows) {
  const bad = [];
  if (rows.length !== f.rows) return [`${rows.length} rows, want ${f.rows}`];
  f.columns.forEach((c, ci) => {
    for (let i = 0; i < f.rows; i++) {
      const got = norm(rows[i][ci], c.type), want = f.data[i][ci];
      if (!same(got, want)) {
        bad.push(`${c.name} row ${i}: got ${JSON.stringify(got)} want ${JSON.stringify(want)}`);
        break;
      }
    }
  });
  return bad;
}

for (const f of files) {
  const file = path.join(dir, f.file);
  const src = `read_parquet(${sqlStr(file)})`;

  // ---- DuckDB: types and values ----
  const types = await query(`DESCRIBE SELECT * FROM ${src}`);
  is(types.map((t) => t.column_type), f.columns.map((c) => c.type), `${f.file}: DuckDB column types`);
  const res = await db.runAndReadAll(
    `SELECT * EXCLUDE (file_row_number) FROM read_parquet(${sqlStr(file)}, file_row_number = true) ORDER BY file_row_number`);
  const bad = compare(f, res.getRows());
  ok(bad.length === 0, `${f.file}: DuckDB reads every value of ${f.rows} rows x ${f.columns.length} columns`, bad.slice(0, 10).join('\n'));

  // ---- DuckDB: metadata ----
  const fm = (await query(`SELECT created_by, num_rows, num_row_groups, format_version FROM parquet_file_metadata(${sqlStr(file)})`))[0];
  is([fm.created_by, Number(fm.num_rows), Number(fm.num_row_groups)], ['openwit version 0.1.0', f.rows, f.row_groups],
    `${f.file}: created_by, rows and row groups`);
  const md = await query(`SELECT row_group_id, column_id, compression, encodings, bloom_filter_offset, bloom_filter_length,
    num_values FROM parquet_metadata(${sqlStr(file)}) ORDER BY row_group_id, column_id`);
  const mdBad = [];
  for (const m of md) {
    const c = f.columns[Number(m.column_id)], g = Number(m.row_group_id);
    const encs = m.encodings.split(', ').sort().join(','), want = [...c.encodings[g]].sort().join(',');
    if (m.compression !== f.codec) mdBad.push(`${c.name}/${g}: codec ${m.compression}`);
    if (encs !== want) mdBad.push(`${c.name}/${g}: encodings ${encs}, want ${want}`);
    if ((m.bloom_filter_offset !== null) !== c.bloom || (c.bloom && !(Number(m.bloom_filter_length) > 32)))
      mdBad.push(`${c.name}/${g}: bloom filter ${m.bloom_filter_offset}+${m.bloom_filter_length}`);
  }
  ok(md.length === f.columns.length * f.row_groups && mdBad.length === 0,
    `${f.file}: parquet_metadata shows codec ${f.codec}, the encodings meant, bloom filters where asked`, mdBad.slice(0, 10).join('\n'));
  const kv = await query(`SELECT decode(key) AS k, decode(value) AS v FROM parquet_kv_metadata(${sqlStr(file)})`);
  is(Object.fromEntries(kv.map((r) => [r.k, r.v])), f.kv, `${f.file}: parquet_kv_metadata`);

  // ---- hyparquet ----
  const buf = fs.readFileSync(file);
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const meta = hyparquet.parquetMetadata(ab);
  is([Number(meta.num_rows), meta.row_groups.length, meta.created_by], [f.rows, f.row_groups, 'openwit version 0.1.0'],
    `${f.file}: hyparquet reads the footer`);
  const objs = await hyparquet.parquetReadObjects({
    file: ab, compressors, utf8: false,
    parsers: { timestampFromNanoseconds: (n) => n, jsonFromBytes: (b) => new TextDecoder().decode(b) },
  });
  const hyBad = compare(f, objs.map((o) => f.columns.map((c) => o[c.name])));
  ok(hyBad.length === 0, `${f.file}: hyparquet reads every value`, hyBad.slice(0, 10).join('\n'));

  // ---- bloom filters: DuckDB prunes with them, and they are right ----
  if (f.probe) {
    const col = f.probe.column;
    const count = async (v, from = src) => Number((await query(`SELECT count(*) AS n FROM ${from} WHERE ${col} = from_hex('${v}')`))[0].n);
    is(await count(f.probe.present), 1, `${f.file}: WHERE ${col} = <an id present> finds its row`);
    is(await count(f.probe.absent), 0, `${f.file}: WHERE ${col} = <an id absent> finds none`);
    ok(f.probe.absent_in_filters, `${f.file}: our reader's filters rule the absent id out of every row group`);
    // A copy with that column's bitsets cleared: a reader that uses the
    // filters now finds nothing, which proves DuckDB reads ours.
    const ci = f.columns.findIndex((c) => c.name === col);
    const copy = Buffer.from(buf);
    for (const m of md.filter((x) => Number(x.column_id) === ci)) {
      const off = Number(m.bloom_filter_offset), len = Number(m.bloom_filter_length);
      const bits = 2 ** Math.floor(Math.log2(len)); // the header is shorter than the bitset
      copy.fill(0, off + len - bits, off + len);
    }
    const cleared = path.join(dir, `cleared-${f.file}`);
    fs.writeFileSync(cleared, copy);
    is(await count(f.probe.present, `read_parquet(${sqlStr(cleared)})`), 0,
      `${f.file}: with ${col}'s filters cleared DuckDB skips every row group: it uses our bloom filters`);
    // Equality on every other bloom-filtered column finds every row. Not
    // for binary BLOBs: DuckDB 1.5 hashes a BLOB constant's escaped text
    // ("\xAB...") for bloom filters, so it prunes away row groups holding
    // the value, in its own files as in ours (duckdb/duckdb#23053, fixed
    // upstream by #23829, not released); the probe above is printable,
    // where text and bytes agree. hyparquet checks the binary ones below.
    const eqBad = [];
    for (const [ci2, c] of f.columns.entries()) {
      if (!c.bloom || c.name === col) continue;
      const rowv = f.data.map((r) => r[ci2]).find((v) => v !== null && v !== 'NaN');
      let lit;
      if (c.type === 'VARCHAR') lit = sqlStr(rowv);
      else if (['INTEGER', 'BIGINT', 'SMALLINT', 'TINYINT', 'UTINYINT', 'UINTEGER', 'UBIGINT'].includes(c.type)) lit = `${rowv}::${c.type}`;
      else continue;
      const want = f.data.filter((r) => r[ci2] === rowv).length;
      const got = Number((await query(`SELECT count(*) AS n FROM ${src} WHERE "${c.name}" = ${lit}`))[0].n);
      if (got !== want) eqBad.push(`${c.name} = ${lit}: ${got} rows, want ${want}`);
    }
    ok(eqBad.length === 0, `${f.file}: DuckDB: WHERE col = value on the other bloom-filtered columns finds every row`, eqBad.join('\n'));
    const bin = f.data.find((r) => r[ci] !== f.probe.present)[ci];
    note(`DuckDB on a binary trace_id: ${await count(bin)} row(s), 1 expected once duckdb/duckdb#23829 ships`);

    // hyparquet's own XXH64 and split-block code: every value of every
    // bloom-filtered column is in its row group's filter
    const bloom = await import(pathToFileURL(path.join(mods, 'hyparquet/src/bloom.js')));
    const view = new DataView(ab);
    let checked = 0;
    const bloomBad = [];
    let first = 0;
    meta.row_groups.forEach((rg) => {
      const n = Number(rg.num_rows);
      rg.columns.forEach((cc, c) => {
        const off = cc.meta_data.bloom_filter_offset;
        if (off === undefined) return;
        const filter = bloom.readBloomFilter({ view, offset: Number(off) });
        const el = meta.schema[c + 1];
        for (let i = first; i < first + n; i++) {
          const h = bloom.hashParquetValue(objs[i][el.name], el);
          if (h === undefined) continue;
          checked++;
          if (!bloom.sbbfContains(filter.blocks, h)) bloomBad.push(`${el.name} row ${i}`);
        }
      });
      first += n;
    });
    ok(checked > 1000 && bloomBad.length === 0, `${f.file}: hyparquet finds all ${checked} values in our bloom filters`,
      bloomBad.slice(0, 10).join('\n'));
    const hit = await hyparquet.parquetQuery({ file: ab, compressors, filter: { [col]: { $eq: Buffer.from(bin, 'hex') } }, utf8: false });
    is(hit.length, 1, `${f.file}: hyparquet: ${col} = <a binary id> finds its row through the filters`);
  }
}

// ---- the schema as DuckDB reads it ----
const all = path.join(dir, 'all.parquet');
const schema = Object.fromEntries((await query(`SELECT name, converted_type, logical_type FROM parquet_schema(${sqlStr(all)})`))
  .map((r) => [r.name, [r.converted_type, r.logical_type]]));
is(schema.str_plain_opt[0], 'UTF8', 'STRING: converted type UTF8');
is(schema.json_plain_opt[0], 'JSON', 'JSON: converted type JSON');
is(schema.u8_plain_opt[0], 'UINT_8', 'UINT8: converted type UINT_8');
is(schema.i16_plain_opt[0], 'INT_16', 'INT16: converted type INT_16');
ok(/NanoSeconds/.test(schema.ts_plain_opt[1]) && schema.ts_plain_opt[0] === null,
  'TIMESTAMP: unit NANOS, no converted type', schema.ts_plain_opt);

done();
})();

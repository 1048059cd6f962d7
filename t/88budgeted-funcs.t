#!/usr/bin/env node
// LIKE, GLOB, instr, replace and the two-argument trim, ltrim and rtrim are
// ours in a query's connection (modules/search/funcs.c: they ask the
// query's budget inside the call). They must answer exactly as SQLite's
// own: generated strings and patterns (ASCII, wildcards, sets, escapes,
// multi-byte and broken UTF-8, NUL-free) through `openwit sql`, against the
// sqlite3 shell's built-in functions on the same SQL.
const { execFileSync } = require('node:child_process');
(async () => {
const { bin, tmpdir, ok, is, note, done } = await import('./lib/harness.mjs');

let seed = Number(process.env.FUNCS_SEED || Date.now() % 1000000);
note(`seed ${seed} (FUNCS_SEED=${seed} repeats this run)`);
const rand = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return Math.floor(seed / 65536) % n; };
const ALPHA = ['a', 'b', 'A', 'B', 'x', '%', '_', '*', '?', '[', ']', '^', '-', '\\', ' ', 'é', 'É', 'ß', '€', '\u{1F600}', '.', 'ab', 'ba'];
const str = (max) => { let s = ''; const n = rand(max + 1); for (let i = 0; i < n; i++) s += ALPHA[rand(ALPHA.length)]; return s; };
const lit = (s) => `'${s.replace(/'/g, "''")}'`;

// an empty data directory: `openwit sql` needs one, the queries read no table
const dir = tmpdir('funcs');
const cfg = `${dir}/openwit.yaml`;
require('node:fs').writeFileSync(cfg, `storage.data_dir: "${dir}/data"\ningestion.http.otlp_port: 0\ningestion.http.port: 0\ncontrol.port: 0\n`);
{
  const { spawn } = require('node:child_process');
  const p = spawn(bin, ['-c', cfg], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 700));
  p.kill('SIGTERM');
  await new Promise((r) => p.on('exit', r));
}

// the sqlite3 shell with our connections' longest value (search.c)
const sqlite3 = (q) => JSON.parse(execFileSync('sqlite3', ['-json', '-cmd', '.limit length 67108864', ':memory:', q], { stdio: ['ignore', 'pipe', 'pipe'] })
  .toString().replace(/^\s*length \d+\n/, ''));
const EXPRS = [
  (a, b) => `${a} LIKE ${b}`,
  (a, b) => `${a} GLOB ${b}`,
  (a, b, e) => `${a} LIKE ${b} ESCAPE ${e}`,
  (a, b) => `instr(${a}, ${b})`,
  (a, b) => `instr(CAST(${a} AS BLOB), CAST(${b} AS BLOB))`,
  (a, b, e) => `replace(${a}, ${b}, ${e})`,
  (a, b) => `trim(${a}, ${b})`,
  (a, b) => `ltrim(${a}, ${b})`,
  (a, b) => `rtrim(${a}, ${b})`,
  (a, b) => `like(${b}, ${a})`,
];
const ROUNDS = Number(process.env.FUNCS_ROUNDS || 12), ROWS = 150;
let compared = 0;
const diffs = [];
for (let round = 0; round < ROUNDS; round++) {
  const cols = [];
  for (let i = 0; i < ROWS; i++) {
    const f = EXPRS[rand(EXPRS.length)];
    const a = str(10);
    // patterns built from pieces of the text, so that some match
    const b = rand(3) === 0 ? str(5) : (a.slice(rand(a.length + 1)).slice(0, rand(6)) + (rand(2) ? '%' : '') + (rand(3) ? '' : str(2)));
    const e = ALPHA[rand(ALPHA.length)];
    cols.push(`${f(lit(a), lit(b), lit(e))} AS c${i}`);
  }
  const q = `SELECT ${cols.join(', ')}`;
  let ours, theirs;
  try {
    ours = JSON.parse(execFileSync(bin, ['sql', '-d', `${dir}/data`, '--engine', 'sqlite', '--format', 'json', q], { stdio: ['ignore', 'pipe', 'pipe'] }).toString())[0];
  } catch (e) { ours = { error: String(e.stderr || e) }; }
  try {
    theirs = sqlite3(q)[0];
  } catch (e) { theirs = { error: String(e.stderr || e) }; }
  if (ours.error || theirs.error) {
    // errors (ESCAPE of two characters cannot happen: one ALPHA entry is one
    // character but 'ab' and 'ba') must agree in kind: run column by column
    for (const c of cols) {
      const one = `SELECT ${c}`;
      let o, t;
      try { o = JSON.parse(execFileSync(bin, ['sql', '-d', `${dir}/data`, '--engine', 'sqlite', '--format', 'json', one], { stdio: ['ignore', 'pipe', 'pipe'] }).toString())[0]; } catch (e) { o = 'error'; }
      try { t = sqlite3(one)[0]; } catch (e) { t = 'error'; }
      compared++;
      if (JSON.stringify(o) !== JSON.stringify(t)) diffs.push(`${c}: ours ${JSON.stringify(o)}, sqlite3 ${JSON.stringify(t)}`);
    }
    continue;
  }
  for (let i = 0; i < ROWS; i++) {
    compared++;
    if (JSON.stringify(ours[`c${i}`]) !== JSON.stringify(theirs[`c${i}`]))
      diffs.push(`${cols[i]}: ours ${JSON.stringify(ours[`c${i}`])}, sqlite3 ${JSON.stringify(theirs[`c${i}`])}`);
  }
}
note(`${compared} expressions compared`);
is(diffs.slice(0, 20), [], `LIKE, GLOB, ESCAPE, instr, replace, trim: the same answers as the sqlite3 shell (${compared} expressions)`);

// fixed cases at the edges
const fixed = [
  `SELECT 'abc' LIKE NULL AS a, NULL LIKE 'a' AS b, instr(NULL, 'a') AS c, instr('a', '') AS d, replace('abc', '', 'x') AS e, replace(12, 2, 3) AS f, trim('abc', '') AS g, typeof(replace(5, '', 'x')) AS h`,
  `SELECT 'a' LIKE 'a' ESCAPE '' AS a`,
  `SELECT 'a' LIKE 'a' ESCAPE 'ab' AS a`,
  `SELECT 'a%' LIKE 'a%%' ESCAPE '%' AS a, 'a_' LIKE 'a__' ESCAPE '_' AS b, 'ab' LIKE 'a%' ESCAPE '%' AS c`,
  `SELECT 'x' GLOB '[]]' AS a, ']' GLOB '[]]' AS b, 'b' GLOB '[^a]' AS c, '-' GLOB '[a-]' AS d, 'c' GLOB '[a-c]' AS e, 'x' GLOB '*[x]' AS f, 'ax' GLOB '*[^b]' AS g`,
  `SELECT instr(x'00616200', x'62') AS a, instr('ab', x'62') AS b, instr(1234, 3) AS c, instr('€a€b', 'b') AS d`,
  `SELECT rtrim('abcxyxy', 'xy') AS a, ltrim('yxyabc', 'xy') AS b, trim('€a€', '€') AS c`,
  // printf and format stay SQLite's (run on a second connection)
  `SELECT printf('%5.2f|%-4d|%s|%q|%Q|%c|%.3c|%!.2s|%,d|%x|%o|%e|%g|%%', 3.14159, 42, 'hé', 'it''s', NULL, 'éa', 'z', 'héllo', 1234567, 255, 8, 12345.678, 0.0001) AS a, format('%d', '12abc') AS b, printf('%s') AS c, printf(NULL) AS d, printf('%z|%w|%p', 'q', 'a"b', 255) AS e, printf('%.*c', 5, 'xy') AS f, typeof(printf('%d', 1)) AS g, printf('%*d|%-*d|', -5, 1, 3, 2) AS h`,
  `SELECT printf('%.*c', 99999999, 'a') IS NULL AS a, length(printf('%.*c', 1000, 'a')) AS b, printf('%.4294967297c', 'q') AS c`,
];
for (const q of fixed) {
  let o, t;
  try { o = JSON.parse(execFileSync(bin, ['sql', '-d', `${dir}/data`, '--engine', 'sqlite', '--format', 'json', q], { stdio: ['ignore', 'pipe', 'pipe'] }).toString()); } catch (e) { o = `error: ${String(e.stderr).trim().split('\n').pop()}`; }
  try { t = sqlite3(q); } catch (e) { t = `error: ${String(e.stderr).trim().split('\n').pop()}`; }
  if (typeof o === 'string' || typeof t === 'string') ok(typeof o === 'string' && typeof t === 'string' && /ESCAPE expression must be a single character/.test(o) === /ESCAPE expression must be a single character/.test(t), `${q}: both fail alike (${o} / ${t})`);
  else is(o, t, q);
}
done();
})();

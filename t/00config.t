#!/usr/bin/env node
// The command line: -t, -T, --help, --version, config errors naming
// file:line, conf/openwit.yaml documenting every default, the manual.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
(async () => {
const { bin, root, ok, is, like, done, tmpdir } = await import('./lib/harness.mjs');
const run = (args, env = {}) => {
  const r = spawnSync(bin, args, { env: { ...process.env, ...env } });
  return { code: r.status, out: r.stdout.toString(), err: r.stderr.toString() };
};
const dir = tmpdir('config');
const conf = (name, text) => { const f = path.join(dir, name); fs.writeFileSync(f, text); return f; };

let r = run(['--version']);
is(r.code, 0, '--version exits 0');
like(r.out, /^openwit \d+\.\d+\.\d+\n$/, '--version prints the version');
r = run(['--help']);
is(r.code, 0, '--help exits 0');
like(r.out, /usage: openwit/, '--help prints usage');
r = run(['--bogus']);
is(r.code, 2, 'an unknown argument exits 2');
like(r.err, /unknown argument "--bogus"/, 'and says which');

r = run(['-t', '-c', path.join(root, 'conf/openwit.yaml')]);
is(r.code, 0, 'openwit -t -c conf/openwit.yaml: valid');
like(r.err, /configuration .*conf\/openwit.yaml is valid/, '-t says the file is valid');
const dumpFile = run(['-T', '-c', path.join(root, 'conf/openwit.yaml')]).out;
const dumpDefault = run(['-T']).out;
is(dumpFile, dumpDefault, 'conf/openwit.yaml sets every key to its built-in default');
const keys = dumpDefault.trim().split('\n').map((l) => l.split(':')[0]);
const yaml = fs.readFileSync(path.join(root, 'conf/openwit.yaml'), 'utf8');
const man = fs.readFileSync(path.join(root, 'man/openwit.1'), 'utf8');
const readme = fs.readFileSync(path.join(root, 'README'), 'utf8');
for (const k of keys) {
  const leaf = k.split('.').pop();
  ok(new RegExp(`^\\s*${leaf}:`, 'm').test(yaml), `conf/openwit.yaml documents ${k}`);
  ok(man.includes(k), `the manual documents ${k}`);
}
ok(readme.includes('make run') && readme.includes('make test'), 'README shows make run and make test');

const cases = [
  ['unknown key', 'ingestion:\n  http:\n    prot: 4318\n', /bad\.yaml:3: unknown key "ingestion\.http\.prot"/],
  ['wrong type', 'control:\n  port: eighty\n', /bad\.yaml:2: control\.port: expects an integer, got "eighty"/],
  ['out of range', '\ncontrol:\n  port: 65536\n', /bad\.yaml:3: control\.port: 65536 is out of range \[0, 65535\]/],
  ['past glibc\'s mmap threshold', 'memory:\n  mmap_threshold_bytes: 33554433\n', /bad\.yaml:2: memory\.mmap_threshold_bytes: 33554433 is out of range \[0, 33554432\]/],
  ['bad enum', 'log:\n  level: chatty\n', /bad\.yaml:2: log\.level: expects one of debug, info, warn, error/],
  ['unset variable', 'storage:\n  data_dir: ${OPENWIT_TEST_NOPE}\n', /bad\.yaml:2: storage\.data_dir: environment variable OPENWIT_TEST_NOPE is not set/],
  ['same port twice', 'ingestion:\n  http:\n    otlp_port: 5000\n    port: 5000\n', /bad\.yaml:4: ingestion\.http\.port: same as ingestion\.http\.otlp_port/],
  ['YAML syntax', 'a: [\n', /bad\.yaml:\d+: /],
  ['retention override', 'storage:\n  local_retention:\n    overrides: ["acme/*=30d", "*/logz=12h"]\n', /bad\.yaml:3: storage\.local_retention\.overrides: "\*\/logz=12h": want TENANT\/SIGNAL=DURATION/],
  ['max_bytes unit', 'storage.local_retention.max_bytes: ["acme=10X"]\n', /bad\.yaml:1: storage\.local_retention\.max_bytes: "acme=10X": want TENANT=BYTES/],
  ['watermarks', 'storage:\n  disk:\n    low_watermark_percent: 5\n    critical_watermark_percent: 5\n', /bad\.yaml:4: storage\.disk\.critical_watermark_percent: must be below storage\.disk\.low_watermark_percent \(5\)/],
];
for (const [name, text, re] of cases) {
  r = run(['-t', '-c', conf('bad.yaml', text)]);
  is(r.code, 1, `${name}: -t exits 1`);
  like(r.err, re, `${name}: the error names file:line and the key`);
}
r = run(['-t', '-c', path.join(dir, 'missing.yaml')]);
like(r.err, /missing\.yaml: No such file or directory/, 'a missing file is named');
r = run(['-T', '-c', conf('env.yaml', 'storage:\n  data_dir: "${OPENWIT_TEST_DIR}/d"\ncontrol:\n  port: ${OPENWIT_TEST_PORT:-9999}\n')], { OPENWIT_TEST_DIR: '/srv/ow' });
like(r.out, /storage\.data_dir: "\/srv\/ow\/d"/, '${VAR} is expanded');
like(r.out, /control\.port: 9999/, '${VAR:-default} falls back to the default');

const lint = spawnSync('mandoc', ['-Tlint', path.join(root, 'man/openwit.1')]);
const lintOut = (lint.stdout.toString() + lint.stderr.toString()).split('\n').filter((l) => l && !/STYLE/.test(l));
is(lintOut, [], 'mandoc -Tlint man/openwit.1 is clean');
done();
})();

#!/usr/bin/env node
// corpus.mjs - makes the fuzz targets' seed corpora, t/fuzz/corpus/NAME/,
// from real inputs (run from the repository root after `make openwit`,
// with t/otel's packages installed; `make test` does not run it: the
// corpus is checked in, and a finding is added to it by hand as a
// regression):
//   otlp_protobuf, otlp_json, gzip   the bodies the OpenTelemetry JS SDK's
//       exporters (t/otel/send.mjs) send for traces, logs and metrics, in
//       protobuf, JSON and gzip, caught by a loopback HTTP server here
//   grpc      what its gRPC exporters send, caught by an HTTP/2 server:
//       the flags byte, the grpc-timeout value (t/fuzz/grpc.c) and the
//       length-prefixed message
//   wal       WAL files of a real ./openwit fed those bodies (copied while
//       its buffers hold them), one per signal
//   parquet   the parts it then writes, one per signal
//   config    conf/openwit.yaml and the harness's config, without the keys
//       openwit.c itself registers (the target knows the modules' keys)
//   sql       the openwit SQL of the query corpus, t/corpus/queries.mjs
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import path from 'node:path';
import { corpus as queries } from '../corpus/queries.mjs';
import { httpPost, partFiles, sleep, start, walFiles, root } from '../lib/harness.mjs';

const out = path.join(root, 't/fuzz/corpus');
const put = (target, name, bytes) => {
  fs.mkdirSync(path.join(out, target), { recursive: true });
  fs.writeFileSync(path.join(out, target, name), bytes);
};
// (while this process's servers catch what it sends)
const send = (url, signal, encoding, extra = []) =>
  promisify(execFile)('node', [path.join(root, 't/otel/send.mjs'), '--url', url, '--signal', signal, '--encoding', encoding,
    '--count', '3', '--marker', `fuzz-${signal}`, '--processor', 'simple', ...extra]);
const signals = ['traces', 'logs', 'metrics'];

// OTLP/HTTP: protobuf, JSON, and each gzipped
const bodies = [];
const web = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    bodies.push({ path: req.url, type: req.headers['content-type'], gzip: req.headers['content-encoding'] === 'gzip', body: Buffer.concat(chunks) });
    const json = /json/.test(req.headers['content-type']);
    res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
    res.end(json ? '{}' : '');
  });
});
await new Promise((r) => web.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${web.address().port}`;
for (const signal of signals)
  for (const enc of ['proto', 'json']) {
    await send(url, signal, enc);
    await send(url, signal, enc, ['--gzip']);
  }
web.close();
const plain = {};
for (const b of bodies) {
  const signal = b.path.replace('/v1/', '');
  const enc = /json/.test(b.type) ? 'json' : 'proto';
  if (b.gzip) put('gzip', `${signal}-${enc}.gz`, b.body);
  else {
    put(enc === 'json' ? 'otlp_json' : 'otlp_protobuf', `${signal}-sdk.${enc === 'json' ? 'json' : 'pb'}`, b.body);
    plain[`${signal}-${enc}`] = b.body;
  }
}
for (const f of ['spans.json', 'logs.json']) put('otlp_json', `v1-${f}`, fs.readFileSync(path.join(root, 't/fixtures/v1', f)));

// OTLP/gRPC: the message and its grpc-timeout
const h2 = http2.createServer();
const grpc = [];
h2.on('stream', (stream, headers) => {
  const chunks = [];
  stream.on('data', (c) => chunks.push(c));
  stream.on('end', () => {
    grpc.push({ path: headers[':path'], timeout: headers['grpc-timeout'] || '', gzip: headers['grpc-encoding'] === 'gzip', body: Buffer.concat(chunks) });
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(Buffer.from([0, 0, 0, 0, 0]));
  });
});
await new Promise((r) => h2.listen(0, '127.0.0.1', r));
for (const signal of signals) {
  await send(`http://127.0.0.1:${h2.address().port}`, signal, 'grpc');
  await send(`http://127.0.0.1:${h2.address().port}`, signal, 'grpc', ['--gzip']);
}
h2.close();
for (const g of grpc) {
  const signal = signals.findIndex((s) => g.path.toLowerCase().includes(`.${s === 'traces' ? 'trace' : s}.`));
  const head = Buffer.from([signal | (g.gzip ? 4 : 0), g.timeout.length]);
  put('grpc', `${signals[signal]}${g.gzip ? '-gzip' : ''}`, Buffer.concat([head, Buffer.from(g.timeout), g.body]));
}

// a real server's WAL files and parts, one of each signal
const s = await start({ tag: 'fuzz-corpus', config: { 'storage.buffer.flush_interval_ms': 600000 } });
for (const signal of signals) {
  const r = await httpPost(s.ports.otlp, `/v1/${signal}`, plain[`${signal}-proto`], { headers: { 'Content-Type': 'application/x-protobuf' } });
  if (r.code !== 200) throw new Error(`${signal}: ${r.code} ${r.text}`);
}
for (const f of walFiles(s.data)) {
  const b = fs.readFileSync(f);
  const signal = signals.find((x) => b.includes(Buffer.from(`fuzz-${x}`)) || b.includes(Buffer.from('fuzz_' + x)));
  put('wal', `${signal || path.basename(f)}.wal`, b);
}
await s.stop();
for (const f of partFiles(s.data)) put('parquet', `${f.split('/').slice(-6)[0]}.parquet`, fs.readFileSync(f));
await sleep(0);

// configuration: the keys the modules register
const core = /^(storage\.data_dir|log\.|memory\.|workers\.|connections\.|ingestion\.max_json_elements)/;
const dump = execFileSync(path.join(root, 'openwit'), ['-T'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
const keep = (key) => !core.test(key) && dump.split('\n').some((l) => l.startsWith(`${key}:`));
// conf/openwit.yaml with each core key's line (and a section left empty) dropped
const conf = fs.readFileSync(path.join(root, 'conf/openwit.yaml'), 'utf8').split('\n');
const stack = [];
const lines = conf.filter((l) => {
  const m = /^( *)([A-Za-z0-9_]+):/.exec(l);
  if (!m) return true;
  const depth = m[1].length / 2;
  stack.length = depth;
  stack.push(m[2]);
  const key = stack.join('.');
  return !core.test(key + '.') && !core.test(key);
});
put('config', 'openwit.yaml', lines.join('\n'));
put('config', 'harness.yaml', ['ingestion.http.otlp_port: 4318', 'ingestion.http.port: 9087', 'control.port: 8083',
  'ingestion.grpc.port: 0', 'storage.buffer.flush_interval_ms: 600000', 'ingestion.kafka.topics: [a, b]', ''].filter((l) => !l || keep(l.split(':')[0])).join('\n'));

// SQL
queries({ traceId: '5b8efff798038103d269b633813fc60c' }).forEach((q, i) => put('sql', `q${String(i).padStart(3, '0')}`, q.ow));
console.log('corpus written to t/fuzz/corpus/');

#!/usr/bin/env node
// Decompression and decoding bombs: a request is charged against
// memory.max_inflight_bytes for what decoding it really takes, not for its
// bytes on the wire. A 2 KB gzip body of {} elements (a ~2 MB JSON text
// whose tree would take ~100 MB), or a protobuf body of small spans (a few
// hundred KB of gzip that decode to tens of MB of columns), gets a clear
// error before the memory is taken (a resource its spans share is held
// once, so 64 KB of resource attributes over 4000 spans is no bomb):
// 400 past ingestion.max_json_elements, 413 when decoding takes more than the
// whole budget, 503 with Retry-After when it only does not fit now. Nothing
// is stored, the server's peak RSS stays flat, and the next request is
// acknowledged and queryable.
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
(async () => {
const { start, faultsBin, curl, curlJSON, ok, is, like, done, sleep, tmpdir, pbField, jsonTraces, note } =
  await import('./lib/harness.mjs');
const tmp = tmpdir('bomb-body');
let nfile = 0;
const file = (buf) => {
  const f = path.join(tmp, `body${nfile++}`);
  fs.writeFileSync(f, buf);
  return f;
};
const post = (url, buf, ctype, gzip) => curl(url, ['-X', 'POST', '-H', `Content-Type: ${ctype}`,
  ...(gzip ? ['-H', 'Content-Encoding: gzip'] : []), '--data-binary', `@${file(buf)}`]);
const hwm = (pid) => Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmHWM:\s+(\d+) kB/m)[1]) * 1024;
const mb = (n) => (n / 1048576).toFixed(1);
// {"resourceSpans":[{},{},...]}: n empty ResourceSpans, valid OTLP/JSON
const emptyJSON = (n) => Buffer.from(`{"resourceSpans":[${'{},'.repeat(n - 1)}{}]}`);
const gz = (b) => zlib.gzipSync(b, { level: 9 });

const s = await start({ tag: 'bomb', config: { 'memory.max_inflight_bytes': 8388608 } });
const pid = s.proc.pid;
// the server at work before the bombs: its peak RSS is what a request costs
is(post(`${s.otlp}/v1/traces`, Buffer.from(jsonTraces('before-bomb')), 'application/json').code, 200,
  'a normal request before the bombs: 200');
const before = hwm(pid);

// JSON past ingestion.max_json_elements (default 500000)
const bomb1 = gz(emptyJSON(700000));
ok(bomb1.length < 4096, `the JSON bomb is ${bomb1.length} bytes of gzip (${mb(emptyJSON(700000).length)} MB inflated)`);
const r1 = post(`${s.otlp}/v1/traces`, bomb1, 'application/json', true);
is(r1.code, 400, 'a JSON body of 700000 elements: 400');
like(r1.text, /more than 500000 elements \(ingestion\.max_json_elements\)/, 'the Status names the element cap');

// JSON under the cap whose tree takes more than the whole budget
const r2 = post(`${s.otlp}/v1/traces`, gz(emptyJSON(400000)), 'application/json', true);
is(r2.code, 413, 'a JSON body whose decoding takes more than memory.max_inflight_bytes: 413');
like(r2.text, /more than memory\.max_inflight_bytes/, 'the Status names the budget');

// protobuf: one resource with 64 KB of attributes and 4000 small spans:
// the resource is held once, not once a span (~256 MB of columns if it were)
const kv = (k, v) => pbField(1, Buffer.concat([pbField(1, k), pbField(2, pbField(1, v))]));
const resource = pbField(1, Buffer.concat([kv('service.name', 'bomb'), kv('big', 'b'.repeat(65536))]));
const spanPb = (i, name) => {
  const id = Buffer.alloc(8);
  id.writeUInt32BE(i + 1, 4);
  return pbField(2, Buffer.concat([pbField(1, Buffer.concat([id, id])), pbField(2, id), pbField(5, name)]));
};
const shared = pbField(1, Buffer.concat([resource, pbField(2, Buffer.concat(Array.from({ length: 4000 }, (_, i) => spanPb(i, 'shared'))))]));
const r0 = post(`${s.otlp}/v1/traces`, gz(shared), 'application/x-protobuf', true);
is(r0.code, 200, '4000 spans under one resource of 64 KB of attributes: taken, the resource held once');
const held0 = Number((curl(`${s.control}/metrics`).text.match(/^openwit_buffered_bytes (\d+)/m) || [])[1]);
ok(held0 < 2 * 1048576, `the buffers hold ${mb(held0)} MB, not 4000 copies of the resource`);

// a protobuf bomb: 60000 small spans (~2 MB, far less in gzip) whose
// columns take more than the whole budget
const pb = pbField(1, Buffer.concat([pbField(1, kv('service.name', 'bomb')),
  pbField(2, Buffer.concat(Array.from({ length: 60000 }, (_, i) => spanPb(i, 'x'))))]));
const bomb3 = gz(pb);
note(`protobuf bomb: ${bomb3.length} bytes of gzip, ${pb.length} inflated`);
const r3 = post(`${s.otlp}/v1/traces`, bomb3, 'application/x-protobuf', true);
is(r3.code, 413, 'a protobuf body whose columns take more than memory.max_inflight_bytes: 413');
const st = r3.body.toString('latin1');
ok(/more than memory\.max_inflight_bytes/.test(st), 'its google.rpc.Status names the budget', st.slice(0, 200));

const after = hwm(pid);
note(`peak RSS ${mb(before)} MB before the bombs, ${mb(after)} MB after`);
// (the bombs took ~100 and ~340 MB when decoding was not charged; an
// ASan build holds what it frees a while, and adds its redzones)
ok(after - before < 40 * 1048576, `peak RSS rose by less than 40 MB (${mb(after - before)} MB)`);

// the budget is all back, nothing of the bombs was stored, and the next
// request is acknowledged and read back
like(curl(`${s.control}/metrics`).text, /^openwit_inflight_bytes 0$/m, 'the in-flight budget is all released');
is(post(`${s.otlp}/v1/traces`, Buffer.from(jsonTraces('after-bomb')), 'application/json').code, 200,
  'a normal request right after: 200');
const q = curlJSON(`${s.control}/api/search`, ['--data-binary', JSON.stringify({
  query: "SELECT name, count(*) AS n FROM spans GROUP BY name ORDER BY name" })]);
is(q.json && q.json.result.rows, [{ name: 'after-bomb', n: 1 }, { name: 'before-bomb', n: 1 }, { name: 'shared', n: 4000 }],
  'the query reads back the requests taken and nothing of the bombs');
is((await s.stop()).code, 0, 'SIGTERM exits 0');

// 503 with Retry-After while the budget is only taken for now: a request
// held in flight by a slow fsync keeps part of it
const f = await start({ tag: 'bomb-budget', bin: faultsBin, env: { OPENWIT_IO_FAULTS: 'fsync:SLOW:1-3' },
  config: { 'memory.max_inflight_bytes': 4194304 } });
const held = post.bind(null, `${f.otlp}/v1/logs`);
const { spawn } = require('node:child_process');
const bigLog = file(JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'x'.repeat(700 * 1024) } }] }] }] }));
const a = spawn('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'POST', '-H', 'Content-Type: application/json',
  '--data-binary', `@${bigLog}`, `${f.otlp}/v1/logs`]);
let aCode = '';
a.stdout.on('data', (d) => { aCode += d; });
const aDone = new Promise((r) => a.on('exit', r));
let inflight = 0;
for (let i = 0; i < 50 && inflight < 700 * 1024; i++) {
  await sleep(10);
  inflight = Number((curl(`${f.control}/metrics`).text.match(/^openwit_inflight_bytes (\d+)/m) || [])[1]);
}
ok(inflight >= 700 * 1024, `a request is held in flight (${inflight} bytes)`);
// ~10000 {} values take ~3.5 MB to decode: within the budget, not beside it
const small = gz(emptyJSON(10000));
const r4 = held(small, 'application/json', true);
is(r4.code, 503, `a ${small.length}-byte gzip JSON body that decodes past what is left of the budget: 503`);
is(r4.headers['retry-after'], '1', 'with Retry-After');
like(r4.text, /budget exhausted: decoding the request takes \d+ bytes/, 'the Status says decoding it passes the budget');
await aDone;
is(aCode, '200', 'the request held in flight is acknowledged');
is(held(small, 'application/json', true).code, 200, 'the same body once the budget is back: 200');
like(curl(`${f.control}/metrics`).text, /^openwit_inflight_bytes 0$/m, 'and the budget is all released');
done();
})();

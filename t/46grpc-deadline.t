#!/usr/bin/env node
// OTLP/gRPC deadlines (grpc-timeout): a request whose deadline has passed
// when its message is complete is answered DEADLINE_EXCEEDED and not
// stored; one whose deadline passes while it waits for its WAL batch (the
// fault build's SLOW fsync holds the batch) is answered DEADLINE_EXCEEDED at
// the deadline, its later acknowledgement is dropped, and its records may
// still be stored (at-least-once: the client retries).
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
(async () => {
const { start, faultsBin, freePort, curl, ok, is, like, done, sleep, pbTraces, tmpdir } = await import('./lib/harness.mjs');
const { TRACES, grpcFrame, connect, call } = await import('./lib/h2.mjs');

const SLOW_MS = 2500;
const gport = await freePort();
const s = await start({ tag: 'grpc-deadline', config: { 'ingestion.grpc.port': gport } });
const run = `${process.pid}`;
const count = (name) => {
  const r = curl(`${s.control}/api/search`, ['--data-binary', JSON.stringify({ query: `SELECT count(*) AS n FROM spans WHERE name = '${name}'` })]);
  return JSON.parse(r.text).result.rows[0].n;
};
const metric = (name) => Number((curl(`${s.control}/metrics`).text.match(new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm')) || [])[1]);

// raw HTTP/2 with nghttp: the whole request is in before the deadline check
const tmp = tmpdir('grpc-deadline');
const nghttp = (name, headers) => {
  const f = path.join(tmp, name);
  fs.writeFileSync(f, grpcFrame(pbTraces(name)));
  const r = spawnSync('nghttp', ['-v', '-H', ':method: POST', '-H', 'content-type: application/grpc',
    ...headers.flatMap((h) => ['-H', h]), `--data=${f}`, `http://127.0.0.1:${gport}${TRACES}`], { timeout: 20000 });
  return r.stdout.toString();
};
let out = nghttp(`dl-1n-${run}`, ['grpc-timeout: 1n']);
like(out, /grpc-status: 4\b/, 'grpc-timeout 1n: grpc-status 4 DEADLINE_EXCEEDED');
like(out, /grpc-message: deadline exceeded/, 'grpc-timeout 1n: grpc-message says so');
out = nghttp(`dl-0S-${run}`, ['grpc-timeout: 0S']);
like(out, /grpc-status: 4\b/, 'grpc-timeout 0S: DEADLINE_EXCEEDED');
for (const bad of ['123456789S', '10', 'S', '10s', '1.5S', '-1S'])
  like(nghttp(`dl-bad-${run}`, [`grpc-timeout: ${bad}`]), /grpc-status: 3\b.*\n.*grpc-message: malformed grpc-timeout/, `grpc-timeout "${bad}": INVALID_ARGUMENT, malformed grpc-timeout`);
is(metric('openwit_wal_fsyncs_total'), 0, 'none of them reached the WAL');
out = nghttp(`dl-ok-${run}`, ['grpc-timeout: 99999999H']);
like(out, /grpc-status: 0\b/, 'grpc-timeout 99999999H: OK');
out = nghttp(`dl-10S-${run}`, ['grpc-timeout: 10S']);
like(out, /grpc-status: 0\b/, 'grpc-timeout 10S: OK');
is([count(`dl-1n-${run}`), count(`dl-0S-${run}`), count(`dl-bad-${run}`)], [0, 0, 0], 'nothing of the expired or malformed requests is stored');
is([count(`dl-ok-${run}`), count(`dl-10S-${run}`)], [1, 1], 'the requests within their deadlines are stored');

// the deadline passes while the request waits for its WAL batch
const g2 = await freePort();
const s2 = await start({ tag: 'grpc-deadline-wal', bin: faultsBin, config: { 'ingestion.grpc.port': g2 },
  env: { OPENWIT_IO_FAULTS: 'fsync:SLOW:1', OPENWIT_IO_SLOW_MS: String(SLOW_MS) } });
const metric2 = (name) => Number((curl(`${s2.control}/metrics`).text.match(new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm')) || [])[1]);
const c = await connect(g2);
c.on('error', () => {});
const late = await call(c, TRACES, grpcFrame(pbTraces(`dl-wal-${run}`)), { 'grpc-timeout': '300m' });
is(late.status, 4, 'deadline passed waiting for the WAL: DEADLINE_EXCEEDED');
is(metric2('openwit_wal_fsyncs_total'), 0, 'answered at the deadline, before the WAL batch was durable');
is([late.headers, late.data.length], [1, 0], 'one trailers-only response, no message');
for (let i = 0; i < 200 && metric2('openwit_wal_fsyncs_total') < 1; i++) await sleep(25);
is(metric2('openwit_wal_fsyncs_total'), 1, 'the batch became durable later');
const next = await call(c, TRACES, grpcFrame(pbTraces(`dl-next-${run}`)));
is(next.status, 0, 'the same connection serves the next request: OK');
is([next.headers, next.data.length], [2, 5], 'with headers, the empty response message and trailers');
const count2 = (name) => JSON.parse(curl(`${s2.control}/api/search`, ['--data-binary', JSON.stringify({ query: `SELECT count(*) AS n FROM spans WHERE name = '${name}'` })]).text).result.rows[0].n;
// the deadline passes while the message is still coming: answered at once,
// the rest of it dropped
const st = c.request({ ':method': 'POST', ':path': TRACES, 'content-type': 'application/grpc', 'grpc-timeout': '200m' });
const body = grpcFrame(pbTraces(`dl-slowbody-${run}`));
st.write(body.subarray(0, 10));
const early = await Promise.race([new Promise((resolve) => st.on('response', (h) => resolve(Number(h['grpc-status'])))), sleep(SLOW_MS).then(() => 'no answer')]);
is(early, 4, 'deadline passed while the message was arriving: DEADLINE_EXCEEDED before its end');
st.on('error', () => {});
st.end(body.subarray(10));
await new Promise((resolve) => st.on('close', resolve));
is((await call(c, TRACES, grpcFrame(pbTraces(`dl-after-${run}`)))).status, 0, 'the connection goes on: OK');
is(count2(`dl-slowbody-${run}`), 0, 'nothing of the late message is stored');
is(count2(`dl-wal-${run}`), 1, 'the request answered DEADLINE_EXCEEDED in the WAL is stored all the same (at-least-once)');
is(count2(`dl-next-${run}`), 1, 'and so is the next one');
c.close();
like(curl(`${s2.control}/metrics`).text, /openwit_rejected_requests_total\{reason="deadline_exceeded"\} 2\n/, '/metrics counts the two deadlines');
is(metric2('openwit_ingest_requests_total{tenant="default",signal="traces"}'), 2, '/metrics counts only the two requests acknowledged with OK');
is(metric2('openwit_inflight_bytes'), 0, 'the budget is released');
is(curl(`${s.control}/health`).code, 200, 'the server is still healthy');
is((await s.stop()).code, 0, 'SIGTERM: clean exit');
is((await s2.stop()).code, 0, 'SIGTERM: clean exit (second server)');
done();
})();

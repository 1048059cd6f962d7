#!/usr/bin/env node
// Memory is bounded in bytes: while admitted request bytes are at
// memory.max_inflight_bytes, new requests get 503 with Retry-After, and
// the budget comes back when requests are acknowledged. A slow disk (the
// fault build's SLOW fsync) keeps the first request in flight. The budget
// holds one ~700 KB request while it decodes (its text, strings and
// columns: ~1.5 MB) and not a second beside the first's ~1.8 MB in flight.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
(async () => {
const { start, faultsBin, curl, ok, is, like, done, sleep, tmpdir } = await import('./lib/harness.mjs');
const s = await start({ tag: 'budget', bin: faultsBin, env: { OPENWIT_IO_FAULTS: 'fsync:SLOW:1-3' },
  config: { 'memory.max_inflight_bytes': 2359296, 'ingestion.http.max_payload_size_mb': 1 } });
const tmp = tmpdir('budget-body');
const big = (tag) => {
  const f = path.join(tmp, `${tag}.json`);
  fs.writeFileSync(f, JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: `${tag}-` + 'x'.repeat(700 * 1024) } }] }] }] }));
  return f;
};
const args = (f) => ['-X', 'POST', '-H', 'Content-Type: application/json', '--data-binary', `@${f}`];

// A: admitted, then held by a slow fsync
const a = spawn('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', ...args(big('first')), `${s.otlp}/v1/logs`]);
let aCode = '';
a.stdout.on('data', (d) => { aCode += d; });
const aDone = new Promise((r) => a.on('exit', r));
let inflight = 0;
for (let i = 0; i < 50 && inflight === 0; i++) {
  await sleep(10);
  inflight = Number((curl(`${s.control}/metrics`).text.match(/^openwit_inflight_bytes (\d+)/m) || [])[1]);
}
ok(inflight > 700 * 1024, `the first request's bytes are in flight (${inflight})`);

// B: would pass the budget
const b = curl(`${s.otlp}/v1/logs`, args(big('second')));
is(b.code, 503, 'a request past the in-flight byte budget: 503');
is(b.headers['retry-after'], '1', 'with Retry-After');
like(b.text, /budget/, 'the Status says the budget is exhausted');

await aDone;
is(aCode, '200', 'the request in flight is acknowledged when its batch is durable');
const m = curl(`${s.control}/metrics`).text;
like(m, /^openwit_inflight_bytes 0$/m, 'the budget is released after the acknowledgement');
like(m, /openwit_rejected_requests_total\{reason="memory_budget"\} 1/, '/metrics counts the rejection');
const c = curl(`${s.otlp}/v1/logs`, args(big('third')));
is(c.code, 200, 'a request after the release: 200');

// A client that hangs up while its request waits on the slow disk: the
// request is stored all the same (it was admitted), the budget comes back,
// and the server exits cleanly (under ASan: nothing leaked).
const gone = curl(`${s.otlp}/v1/logs`, ['--max-time', '0.2', ...args(big('gone'))]);
is(gone.code, 0, 'a client that gives up before its acknowledgement gets no answer');
let back = false;
for (let i = 0; i < 100 && !back; i++) {
  await sleep(20);
  back = /^openwit_inflight_bytes 0$/m.test(curl(`${s.control}/metrics`).text);
}
ok(back, 'its bytes are released once its batch is durable');
is(curl(`${s.control}/health`).code, 200, 'the server is healthy');
is((await s.stop()).code, 0, 'SIGTERM exits 0');
done();
})();

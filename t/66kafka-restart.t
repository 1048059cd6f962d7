#!/usr/bin/env node
// Kafka: a process SIGKILLed while records stream in and restarted on the
// same data directory resumes within seconds, with the default session
// settings, and stores every record exactly once. Before the restarted
// consumer can have partitions, the group must get rid of the killed one:
// librdkafka 2.0.2's mock cluster (t/kafka/mock) ignores group.instance.id,
// so this waits for the killed member's session to time out, as a broker
// older than Kafka 2.3 would (see the top of modules/kafka/kafka.c).
const path = require('node:path');
(async () => {
const { start, ok, note, done, sleep } = await import('./lib/harness.mjs');
const { mock, producer, kconf, bodies, search, waitFor, lines, exactlyOnce } = await import('./lib/kafka.mjs');

// The bound is what issue 15 asks: under 10 s. The mock elects a leader
// twice, 2 x session_timeout_ms - 1 s: with the default 5000 ms this takes
// 8.7-8.9 s on the mock (10.8 s with 6000 ms, 89 s with 45000 ms).
const RESUME_MS = 10000;

const bs = await mock(['v6.qtw.logs.rs.0:3']);
const conf = kconf(bs, { 'ingestion.kafka.group_id': 'g-restart' });
let s = await start({ tag: 'kafka-restart', config: conf });
const prod = producer(bs, 'v6.qtw.logs.rs.0');
let sent = 0;
const send = (n) => { prod.write(lines('rs', n, sent)); sent += n; };
// 200 records a second, across the three partitions
const stream = setInterval(() => send(10), 50);
await waitFor(() => bodies(s, 'rs').length >= 300, 20000, 'consuming while records stream in');
s.kill();
await s.exited;
const atKill = sent;
s.forget();
s = await start({ tag: 'kafka-restart', dir: s.dir, ports: s.ports, config: conf });
const t0 = Date.now();
// the stream goes on for a second after the restart, then ends
await sleep(1000);
clearInterval(stream);
is0(await prod.end(), 'kcat delivered every record');
const resumed = await waitFor(() => bodies(s, 'rs').some((b) => Number(b.slice(3)) >= atKill), RESUME_MS - (Date.now() - t0), `consumption resumes within ${RESUME_MS / 1000} s of the restart`);
if (resumed) note(`resumed ${((Date.now() - t0) / 1000).toFixed(1)} s after the restart`);
if (await waitFor(() => bodies(s, 'rs').length >= sent, RESUME_MS - (Date.now() - t0), `all ${sent} records queryable within ${RESUME_MS / 1000} s of the restart`))
  note(`all ${sent} records ${((Date.now() - t0) / 1000).toFixed(1)} s after the restart (${atKill} sent before the SIGKILL)`);
await sleep(1500);
exactlyOnce(bodies(s, 'rs'), 'rs', sent, 'SIGKILL mid-stream and a restart');
const n = search(s, 'rs', 'SELECT count(*) AS n, count(DISTINCT body) AS d FROM logs')[0] || {};
ok(n.n === sent && n.d === sent, `the query API counts ${sent} records, ${sent} distinct`, n);
await s.stop();
s.forget();
done();

function is0(code, what) { ok(code === 0, what, `kcat exit ${code}`); }
})();

#!/usr/bin/env node
// Kafka ingest against librdkafka's mock cluster (t/kafka/mock), messages
// produced with kcat: tenants and signals from topic names, JSON and
// protobuf, dead letters, the tracker's Kafka columns, and exactly once in
// storage across SIGTERM, SIGKILL before and after the offset commit,
// SIGKILL mid-batch, and two openwit processes in one consumer group.
const fs = require('node:fs');
const zlib = require('node:zlib');
const path = require('node:path');
(async () => {
const { start, ok, is, like, sql, sleep, faultsBin, pbTraces, jsonLogs, curl, done } = await import('./lib/harness.mjs');
const { mock, produce, produceFiles, kconf, bodies, search, waitFor, lines, exactlyOnce } = await import('./lib/kafka.mjs');
const allow = [/kafka: .* skipped/];

// ---- topics, tenants, encodings, dead letters, the tracker ----
{
  const bs = await mock(['v6.qtw.logs.acme.0:3', 'v6.qtw.traces.beta.0:2', 'v6.qtw.nosignal.acme.0:1', 'other.topic:1']);
  produce(bs, 'v6.qtw.logs.acme.0', ['this is not OTLP'], { partition: 1 });
  produce(bs, 'v6.qtw.logs.acme.0', lines('plain', 20));
  produce(bs, 'v6.qtw.logs.acme.0', lines('typed', 10), { headers: ['content-type=application/json'] });
  produceFiles(bs, 'v6.qtw.traces.beta.0', 1, [0, 1, 2, 3, 4].map((i) => pbTraces(`kspan-${i}`, 'kafka-svc')));
  produce(bs, 'v6.qtw.logs.acme.0', lines('after', 5), { partition: 1 });
  produce(bs, 'v6.qtw.logs.acme.0', ['{"resourceLogs":[]}'], { partition: 0 }); // no record: nothing to store, not an error
  produceFiles(bs, 'v6.qtw.logs.acme.0', 2, [zlib.gzipSync(lines('gz', 1)[0])], ['content-encoding=gzip']);
  produce(bs, 'v6.qtw.nosignal.acme.0', lines('nosignal', 1));
  produce(bs, 'other.topic', lines('other', 1));
  const s = await start({ tag: 'kafka', config: kconf(bs), allowErrors: allow });
  const db = path.join(s.data, 'openwit.db');
  await waitFor(() => bodies(s, 'acme').length >= 36, 20000, 'the logs of v6.qtw.logs.acme.0 arrive under tenant acme');
  await waitFor(() => search(s, 'beta', 'SELECT name FROM spans').length >= 5, 10000, 'the spans of v6.qtw.traces.beta.0 arrive under tenant beta');
  const acme = bodies(s, 'acme');
  exactlyOnce(acme, 'plain', 20, 'JSON sniffed');
  exactlyOnce(acme, 'typed', 10, 'content-type: application/json');
  exactlyOnce(acme, 'after', 5, 'the messages after a malformed one in its partition');
  exactlyOnce(acme, 'gz', 1, 'content-encoding: gzip');
  is(acme.length, 36, 'nothing else under acme (the nosignal topic is not a signal)');
  is(search(s, 'beta', 'SELECT name FROM spans ORDER BY name').map((r) => r.name).join(','), 'kspan-0,kspan-1,kspan-2,kspan-3,kspan-4', 'protobuf messages (kcat, one file each)');
  is(search(s, 'beta', "SELECT count(*) AS n FROM spans WHERE service_name = 'kafka-svc'")[0]?.n, 5, 'their resource attributes kept');
  const dead = await waitFor(() => { const d = sql(db, 'SELECT topic, partition, offset, error FROM kafka_dead_letters ORDER BY topic'); return d.length === 2 && d; }, 5000, 'two dead letters recorded');
  is(dead && dead[0].topic, 'v6.qtw.logs.acme.0', 'the malformed message: its topic');
  is(dead && `${dead[0].partition}/${dead[0].offset}`, '1/0', 'its partition and offset');
  like(dead && dead[0].error, /malformed protobuf/, 'and why');
  like(dead && dead[1].error, /"nosignal" is not a signal/, 'a topic outside the rule: why');
  const rows = await waitFor(() => { const r = sql(db, "SELECT * FROM batch_tracker WHERE source = 'kafka'"); return r.length && r.every((x) => x.kafka_pip === 1) && r; }, 5000, 'every Kafka batch: kafka_pip = 1 once its offsets are committed');
  ok(rows && rows.every((r) => r.first_offset !== null && r.last_offset >= r.first_offset && /^v6\.qtw\.(logs\.acme|traces\.beta)\.0$/.test(r.topics)), 'and first_offset, last_offset, topics');
  is(rows && rows.reduce((a, r) => a + r.message_count, 0), 41, 'message_count over the Kafka batches: 41');
  const m = curl(`${s.control}/metrics`).text;
  like(m, /^openwit_kafka_messages_total 42$/m, '/metrics: 42 messages (the one without records too)');
  like(m, /^openwit_kafka_dead_letters_total 2$/m, '/metrics: 2 dead letters');
  await waitFor(() => sql(db, "SELECT count(*) AS n FROM batch_tracker WHERE source = 'kafka' AND storage_pip = 0")[0].n === 0, 10000, 'the committed batches are stored');
  const st = await s.stop();
  is(st.code, 0, 'SIGTERM: exit 0');
  s.forget();
  const s2 = await start({ tag: 'kafka', dir: s.dir, ports: s.ports, config: kconf(bs), allowErrors: allow });
  produce(bs, 'v6.qtw.logs.acme.0', lines('second', 5));
  await waitFor(() => bodies(s2, 'acme').length >= 41, 20000, 'after a restart, new messages arrive');
  await sleep(1000);
  const again = bodies(s2, 'acme');
  is(again.length, 41, 'and nothing consumed before the restart comes again');
  exactlyOnce(again, 'second', 5, 'after restart');
  await s2.stop();
  s2.forget();
}

// ---- SIGKILL after the commit, before the flush: the WAL replays them ----
{
  const bs = await mock(['v6.qtw.logs.k1.0:2']);
  const conf = kconf(bs, { 'ingestion.kafka.group_id': 'g-k1', 'storage.buffer.flush_interval_ms': 600000 });
  const s = await start({ tag: 'kafka-kill1', config: conf });
  const db = path.join(s.data, 'openwit.db');
  produce(bs, 'v6.qtw.logs.k1.0', lines('k1', 30));
  await waitFor(() => sql(db, "SELECT coalesce(sum(message_count), 0) AS n FROM batch_tracker WHERE kafka_pip = 1")[0].n === 30, 20000, 'all 30 offsets committed');
  is(sql(db, 'SELECT count(*) AS n FROM batch_tracker WHERE storage_pip = 1')[0].n, 0, 'none stored in Parquet yet');
  s.kill();
  await s.exited;
  s.forget();
  const s2 = await start({ tag: 'kafka-kill1', dir: s.dir, ports: s.ports, config: { ...conf, 'storage.buffer.flush_interval_ms': 500 } });
  like(s2.log(), /kafka: recovery: asking the group/, 'recovery asks the group for its committed offsets');
  await waitFor(() => /kafka: recovery: \d+ WAL files replayed \(30 records/.test(s2.log()), 10000, 'and replays the 30 records this node committed');
  produce(bs, 'v6.qtw.logs.k1.0', lines('k1', 5, 30));
  await waitFor(() => bodies(s2, 'k1').length >= 35, 20000, 'new messages after the restart');
  await sleep(1000);
  exactlyOnce(bodies(s2, 'k1'), 'k1', 35, 'SIGKILL after commit');
  await s2.stop();
  s2.forget();
}

// ---- SIGKILL between the WAL fsync and the commit: Kafka redelivers ----
{
  const bs = await mock(['v6.qtw.logs.k2.0:2']);
  const conf = kconf(bs, { 'ingestion.kafka.group_id': 'g-k2' });
  // the test build holds every commit back (OPENWIT_KAFKA_COMMITS=0)
  const s = await start({ tag: 'kafka-kill2', bin: faultsBin, env: { OPENWIT_KAFKA_COMMITS: '0' }, config: conf });
  const db = path.join(s.data, 'openwit.db');
  produce(bs, 'v6.qtw.logs.k2.0', lines('k2', 30));
  await waitFor(() => bodies(s, 'k2').length === 30, 20000, 'all 30 durable and readable');
  await sleep(700);
  is(sql(db, "SELECT count(*) AS n FROM batch_tracker WHERE source = 'kafka' AND (storage_pip = 1 OR kafka_pip = 1)")[0].n, 0, 'not committed, so not stored in Parquet either');
  // rows that come after them to the same tenant and signal are not held back
  is(curl(`${s.otlp}/v1/logs`, ['-X', 'POST', '-H', 'Content-Type: application/json', '-H', 'X-Scope-OrgID: k2', '-d', jsonLogs('http-k2')]).code, 200, 'an OTLP/HTTP request to the same tenant: acknowledged');
  await waitFor(() => sql(db, "SELECT count(*) AS n FROM batch_tracker WHERE source = 'http' AND storage_pip = 1")[0].n === 1, 10000, 'and stored in Parquet while the Kafka batches wait for their commits');
  s.kill();
  await s.exited;
  s.forget();
  const s2 = await start({ tag: 'kafka-kill2', dir: s.dir, ports: s.ports, config: conf });
  await waitFor(() => /Kafka redelivers all its records/.test(s2.log()), 10000, 'recovery drops what this node never committed');
  await waitFor(() => bodies(s2, 'k2').length >= 30, 20000, 'Kafka delivers them again');
  await sleep(1000);
  exactlyOnce(bodies(s2, 'k2'), 'k2', 30, 'SIGKILL before commit');
  await waitFor(() => sql(path.join(s2.data, 'openwit.db'), "SELECT count(*) AS n FROM batch_tracker WHERE source = 'kafka' AND storage_pip = 0 AND wal_removed_at IS NULL")[0].n === 0, 10000, 'and stored');
  await s2.stop();
  s2.forget();
}

// ---- SIGKILL mid-batch, twice, while messages stream in ----
{
  const bs = await mock(['v6.qtw.logs.k3.0:3']);
  const conf = kconf(bs, { 'ingestion.kafka.group_id': 'g-k3', 'ingestion.kafka.batching.batch_size': 50 });
  produce(bs, 'v6.qtw.logs.k3.0', lines('k3', 3000));
  let s = await start({ tag: 'kafka-kill3', config: conf });
  for (let i = 0; i < 2; i++) {
    await waitFor(() => bodies(s, 'k3').length > 0, 20000, `run ${i + 1}: consuming`);
    s.kill();
    await s.exited;
    s.forget();
    s = await start({ tag: 'kafka-kill3', dir: s.dir, ports: s.ports, config: conf });
  }
  await waitFor(() => bodies(s, 'k3').length >= 3000, 30000, 'all 3000 after two SIGKILLs');
  await sleep(1000);
  exactlyOnce(bodies(s, 'k3'), 'k3', 3000, 'SIGKILL mid-batch');
  await s.stop();
  s.forget();
}

// ---- backpressure: a slow disk and a small budget pause the partitions ----
{
  const bs = await mock(['v6.qtw.logs.bp.0:2']);
  const conf = kconf(bs, { 'ingestion.kafka.group_id': 'g-bp', 'memory.max_inflight_bytes': 1048576 });
  const s = await start({ tag: 'kafka-bp', bin: faultsBin, env: { OPENWIT_IO_FAULTS: 'fsync:SLOW:1-30', OPENWIT_IO_SLOW_MS: '100' }, config: conf });
  produce(bs, 'v6.qtw.logs.bp.0', Array.from({ length: 12 }, (_, i) => jsonLogs(`bp-${i}-` + 'x'.repeat(300 * 1024))));
  await waitFor(() => bodies(s, 'bp').length >= 12, 30000, 'all 12 large messages arrive through a 1 MiB budget');
  like(curl(`${s.control}/metrics`).text, /^openwit_kafka_pauses_total [1-9]/m, 'the partitions were paused (and resumed)');
  const got = bodies(s, 'bp').map((b) => b.split('-').slice(0, 2).join('-'));
  is(new Set(got).size, 12, 'each exactly once');
  is(got.length, 12, 'no more');
  await s.stop();
  s.forget();
}

// ---- ingestion.kafka.max_message_bytes: as sent, and as inflated ----
{
  const bs = await mock(['v6.qtw.logs.big.0:1']);
  const limit = 4096;
  const conf = kconf(bs, { 'ingestion.kafka.group_id': 'g-big', 'ingestion.kafka.max_message_bytes': limit });
  // a JSON request of exactly size bytes (leading blanks)
  const sized = (id, size) => { const j = jsonLogs(id); return Buffer.from(' '.repeat(size - Buffer.byteLength(j)) + j); };
  const gz = ['content-encoding=gzip', 'content-type=application/json'];
  const stored = zlib.gzipSync(sized('big-stored', limit - 8), { level: 0 }); // stored blocks: larger than what it inflates to
  const bomb = zlib.gzipSync(Buffer.concat([Buffer.alloc(1 << 20, ' '), Buffer.from(jsonLogs('big-bomb'))]));
  ok(stored.length > limit && bomb.length < limit, `the gzip messages: ${stored.length} bytes inflating to ${limit - 8}, ${bomb.length} inflating to 1 MiB`);
  produceFiles(bs, 'v6.qtw.logs.big.0', 0, [sized('big-fit', limit), sized('big-plain', limit + 1)]);
  produceFiles(bs, 'v6.qtw.logs.big.0', 0, [stored, bomb, zlib.gzipSync(sized('big-gz', limit))], gz);
  const s = await start({ tag: 'kafka-big', config: conf, allowErrors: allow });
  const db = path.join(s.data, 'openwit.db');
  await waitFor(() => bodies(s, 'big').length >= 2, 20000, 'the messages within the limit arrive');
  const dead = await waitFor(() => { const d = sql(db, 'SELECT offset, error FROM kafka_dead_letters ORDER BY offset'); return d.length === 3 && d; }, 5000, 'three dead letters');
  is(bodies(s, 'big').sort().join(','), 'big-fit,big-gz', 'stored: a plain message of exactly the limit, a gzip one within it both ways');
  like(dead && `${dead[0].offset} ${dead[0].error}`, /^1 message of 4097 bytes is larger than ingestion.kafka.max_message_bytes/, 'a plain message one byte over: refused');
  like(dead && `${dead[1].offset} ${dead[1].error}`, /^2 gzip message of \d+ bytes is larger than ingestion.kafka.max_message_bytes/, 'a gzip message over the limit as sent, within it inflated: refused before gunzip');
  like(dead && `${dead[2].offset} ${dead[2].error}`, /^3 decompressed body is larger than ingestion.kafka.max_message_bytes/, 'a gzip message within the limit that inflates past it: refused');
  const m = curl(`${s.control}/metrics`).text;
  like(m, /^openwit_rejected_requests_total\{reason="too_large"\} 3$/m, '/metrics: 3 rejected as too large');
  await s.stop();
  s.forget();
}

// ---- a broker that refuses the session timeout ----
// A stock broker answers a JoinGroup whose session timeout is below its
// group.min.session.timeout.ms (6000 by default, above openwit's 5000) with
// INVALID_SESSION_TIMEOUT. The mock cannot compare timeouts: it refuses the
// first two JoinGroups, whatever they ask, so openwit has to fall back twice
// (5000 -> 6000 -> 12000 ms) and then consumes every record exactly once.
{
  const bs = await mock(['v6.qtw.logs.refused.0:2'], { errors: ['11:26:2'] }); // JoinGroup: INVALID_SESSION_TIMEOUT
  const conf = kconf(bs, { 'ingestion.kafka.group_id': 'g-refused' });
  produce(bs, 'v6.qtw.logs.refused.0', lines('refused', 50));
  const s = await start({ tag: 'kafka-refused', config: conf });
  produce(bs, 'v6.qtw.logs.refused.0', lines('refused', 50, 50));
  await waitFor(() => bodies(s, 'refused').length >= 100, 30000, 'with the first two JoinGroups refused, the records arrive');
  const warned = s.log().split('\n').filter((l) => /\[warn\].*kafka: the broker refuses a session timeout/.test(l));
  is(warned.length, 2, 'two warnings, one per refusal');
  like(warned[0], /refuses a session timeout of 5000 ms \(ingestion\.kafka\.session_timeout_ms.*joining again with 6000 ms/, 'the first names the key, the default 5000 ms and the next try, 6000 ms');
  like(warned[1], /of 6000 ms .*joining again with 12000 ms/, 'the second: 6000 ms, then twice that');
  const consuming = s.log().split('\n').filter((l) => /kafka: consuming /.test(l));
  is(consuming.map((l) => l.match(/session timeout (\d+) ms/)?.[1]).join(','), '5000,6000,12000', 'a new consumer at each timeout: 5000, 6000, 12000 ms');
  await sleep(1000);
  exactlyOnce(bodies(s, 'refused'), 'refused', 100, 'after two refused JoinGroups');
  await s.stop();
  s.forget();
}

// ---- two processes in one group; one killed and restarted mid-run ----
{
  const bs = await mock(['v6.qtw.logs.duo.0:4']);
  const conf = kconf(bs, { 'ingestion.kafka.group_id': 'g-duo' });
  let a = await start({ tag: 'kafka-a', config: conf });
  const b = await start({ tag: 'kafka-b', config: conf });
  const both = () => [...bodies(a, 'duo'), ...bodies(b, 'duo')];
  let sent = 0;
  const round = () => { produce(bs, 'v6.qtw.logs.duo.0', lines('duo', 100, sent)); sent += 100; };
  for (let i = 0; i < 3; i++) { round(); await sleep(300); }
  // until the group has rebalanced (slow on a loaded machine or under
  // ASan), the first to join may take every partition and every message:
  // keep producing, so the second has something once it holds its share
  const share = () => bodies(a, 'duo').length > 0 && bodies(b, 'duo').length > 0;
  for (let t0 = Date.now(); !share() && Date.now() - t0 < 40000;) { round(); await sleep(1000); }
  await waitFor(share, 5000, 'both processes consume (the partitions are shared)');
  round();
  a.kill();
  await a.exited;
  fs.writeFileSync(path.join(a.dir, 'server-1.log'), a.log());
  a.forget();
  for (let i = 0; i < 3; i++) { round(); await sleep(300); }
  a = await start({ tag: 'kafka-a', dir: a.dir, ports: a.ports, config: conf });
  for (let i = 0; i < 3; i++) { round(); await sleep(300); }
  await waitFor(() => both().length >= sent, 40000, `all ${sent} messages arrive`);
  await sleep(1500);
  exactlyOnce(both(), 'duo', sent, 'two processes, one killed and restarted');
  fs.writeFileSync(path.join(a.dir, 'server.log'), a.log());
  fs.writeFileSync(path.join(b.dir, 'server.log'), b.log());
  await a.stop();
  await b.stop();
  a.forget();
  b.forget();
}

// ---- limits: a tenant over its rate pauses the consumer, drops nothing; a
// topic's tenant past limits.max_tenants goes to the dead letters ----
{
  const bs = await mock(['v6.qtw.logs.slow.0:1', 'v6.qtw.logs.late.0:1']);
  // the first a year old: a broker's backlog is taken whatever its times
  const old = JSON.parse(lines('slow', 1)[0]);
  old.resourceLogs[0].scopeLogs[0].logRecords[0].timeUnixNano = String((BigInt(Date.now()) - 365n * 86400000n) * 1000000n);
  produce(bs, 'v6.qtw.logs.slow.0', [JSON.stringify(old), ...lines('slow', 29, 1)]);
  const s = await start({ tag: 'kafka-limits', allowErrors: allow,
    config: kconf(bs, { 'limits.tenant_records_per_second': 10, 'limits.max_tenants': 1 }) });
  await waitFor(() => bodies(s, 'slow').length >= 30, 20000, 'all 30 records of a tenant limited to 10 a second arrive');
  exactlyOnce(bodies(s, 'slow'), 'slow', 30, 'rate-limited Kafka ingest, a record a year old among them (no window of times for Kafka)');
  const m = curl(`${s.control}/metrics`).text;
  ok(Number((/^openwit_kafka_pauses_total (\d+)$/m.exec(m) || [])[1]) > 0, 'the consumer paused for it');
  produce(bs, 'v6.qtw.logs.late.0', lines('late', 2));
  const db = path.join(s.data, 'openwit.db');
  const dead = await waitFor(() => { const d = sql(db, "SELECT error FROM kafka_dead_letters WHERE topic = 'v6.qtw.logs.late.0'"); return d.length === 2 && d; }, 10000,
    'the messages of a second tenant, past limits.max_tenants (1), go to the dead letters');
  like(dead && dead[0].error, /tenant limit reached \(limits\.max_tenants\)/, 'with the reason');
  is(bodies(s, 'late').length, 0, 'and nothing of that tenant is stored');
  await s.stop();
}
done();
})();

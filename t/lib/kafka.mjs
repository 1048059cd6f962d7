// kafka.mjs - what the Kafka tests share: librdkafka's mock cluster
// (t/kafka/mock) in a process of its own, kcat as the producer, openwit's
// Kafka settings, and the checks that every record is stored exactly once.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ok, is, tmpdir, sleep, root, curl, jsonLogs } from './harness.mjs';

const mockBin = process.env.OPENWIT_KAFKA_MOCK || path.join(root, 't/kafka/mock');
const mocks = [];
process.on('exit', () => { for (const m of mocks) try { m.kill('SIGKILL'); } catch {} });

// A mock cluster with the given topics ("name:partitions"); its bootstrap
// address. errors: "APIKEY:ERROR:COUNT", requests it answers with an error.
export async function mock(topics, { errors = [] } = {}) {
  const p = spawn(mockBin, [...errors.flatMap((e) => ['-e', e]), ...topics], { stdio: ['pipe', 'pipe', 'inherit'] });
  mocks.push(p);
  let out = '';
  p.stdout.on('data', (d) => { out += d; });
  for (let i = 0; i < 200 && !/BOOTSTRAP (\S+)/.test(out); i++) await sleep(25);
  return out.match(/BOOTSTRAP (\S+)/)[1];
}
const kcatArgs = (bs, topic, partition, headers) => ['-b', bs, '-P', '-t', topic, ...(partition !== undefined ? ['-p', String(partition)] : []), ...headers.flatMap((h) => ['-H', h])];
// kcat: one message per line of stdin, or one per file.
export function produce(bs, topic, lines, { partition, headers = [] } = {}) {
  const r = spawnSync('kcat', kcatArgs(bs, topic, partition, headers), { input: lines.join('\n') + '\n' });
  if (r.status !== 0) throw new Error(`kcat: ${r.stderr}`);
}
export function produceFiles(bs, topic, partition, bufs, headers = []) {
  const dir = tmpdir('kafka-files');
  const files = bufs.map((b, i) => { const f = path.join(dir, `m${i}`); fs.writeFileSync(f, b); return f; });
  const r = spawnSync('kcat', [...kcatArgs(bs, topic, partition, headers), ...files]);
  if (r.status !== 0) throw new Error(`kcat: ${r.stderr}`);
}
// A kcat that keeps running: write(lines) sends them as messages now,
// end() resolves when kcat has delivered everything and exited.
export function producer(bs, topic) {
  const p = spawn('kcat', kcatArgs(bs, topic, undefined, []), { stdio: ['pipe', 'ignore', 'inherit'] });
  mocks.push(p);
  const exited = new Promise((resolve) => p.on('exit', (code) => resolve(code)));
  return { write: (lines) => p.stdin.write(lines.join('\n') + '\n'), end: () => { p.stdin.end(); return exited; } };
}
export const kconf = (bs, extra = {}) => ({
  'ingestion.sources.kafka.enabled': 'true', 'ingestion.kafka.brokers': `"${bs}"`,
  'ingestion.kafka.topics': '["v6.qtw.*.*.*"]', 'storage.buffer.flush_interval_ms': 500, ...extra,
});
export const search = (s, tenant, query) => {
  const r = curl(`${s.control}/api/search`, ['-H', `X-Scope-OrgID: ${tenant}`, '--data-binary', JSON.stringify({ query, limit: 10000 })]);
  try { return JSON.parse(r.text).result.rows || []; } catch { return []; }
};
export const bodies = (s, tenant) => search(s, tenant, 'SELECT body FROM logs').map((r) => r.body);
export async function waitFor(fn, ms, what) {
  const t0 = Date.now();
  let v;
  while (!(v = fn()) && Date.now() - t0 < ms) await sleep(100);
  ok(v, what);
  return v;
}
export const lines = (prefix, n, from = 0) => Array.from({ length: n }, (_, i) => jsonLogs(`${prefix}-${from + i}`));
export function exactlyOnce(got, prefix, n, what) {
  const want = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
  const mine = got.filter((b) => b.startsWith(`${prefix}-`));
  const have = new Set(mine);
  is(mine.length, n, `${what}: ${n} records stored`);
  is(have.size, n, `${what}: each exactly once`);
  ok(want.every((w) => have.has(w)), `${what}: none missing`);
}

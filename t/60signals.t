#!/usr/bin/env node
// Signals and the data directory lock: a second openwit on the same data
// directory refuses to start, SIGHUP reopens the log file, SIGTERM under
// load drains (every answer 200 or 503, every 200 durable) and exits 0.
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const crypto = require('node:crypto');
const { spawnSync } = require('node:child_process');
(async () => {
const { start, bin, httpPost, storedMarkers, curl, ok, is, like, note, done, sleep, tmpdir, jsonTraces, jsonLogs, walFiles, walRecords } = await import('./lib/harness.mjs');

async function until(cond, ms = 5000) {
  const t0 = Date.now();
  while (!cond() && Date.now() - t0 < ms) await sleep(20);
  return cond();
}
const postCurl = (s, p, body) => curl(`${s.otlp}${p}`, ['-X', 'POST', '-H', 'Content-Type: application/json', '--data-binary', body]);

// ---- a second openwit on the same data directory ----
const s = await start({ tag: 'signals' });
{
  const t0 = Date.now();
  const r = spawnSync(bin, ['-c', s.conf], { timeout: 10000 });
  const err = r.stderr.toString();
  ok(r.status !== 0 && r.status !== null, `a second openwit on the same data directory exits non-zero (${r.status})`);
  like(err, /in use by another openwit/, 'it says the data directory is in use by another openwit');
  like(err, new RegExp(`${s.data}/openwit\\.lock`), 'it names the lock file');
  ok(Date.now() - t0 < 5000, 'it fails at once');
  is(fs.readFileSync(path.join(s.data, 'openwit.lock'), 'utf8').trim(), String(s.proc.pid), 'the lock file still holds the first server\'s pid');
  is(curl(`${s.control}/health`).code, 200, 'the first server is unaffected');
}

// ---- SIGHUP without log.file: harmless ----
s.proc.kill('SIGHUP');
ok(await until(() => /\[info\] log file reopened/.test(s.log())), 'SIGHUP with the log on stderr: "log file reopened"');
is(postCurl(s, '/v1/traces', jsonTraces('after-hup')).code, 200, 'SIGHUP: the server keeps taking data');

// ---- SIGTERM under load ----
{
  const CONC = 8, MAX = 3000, TERM_AT = 300;
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONC });
  const post = (p, body) => httpPost(s.ports.otlp, p, body, { agent });
  let next = 0, termed = false, exited = false, errors = 0, errorsBeforeTerm = [];
  const codes = {}, acked = [], bad503 = [];
  s.exited.then(() => { exited = true; });
  async function loop() {
    while (!exited && next < MAX) {
      const i = next++;
      const m = `mark-${String(i).padStart(6, '0')}-${crypto.randomBytes(4).toString('hex')}`;
      try {
        const r = await post(i % 2 ? '/v1/logs' : '/v1/traces', i % 2 ? jsonLogs(m) : jsonTraces(m));
        codes[r.code] = (codes[r.code] || 0) + 1;
        if (r.code === 200) acked.push(m);
        if (r.code === 503 && !(r.headers['retry-after'] && /shutting down/.test(r.text))) bad503.push(r);
        if (acked.length >= TERM_AT && !termed) {
          termed = true;
          s.proc.kill('SIGTERM');
        }
      } catch (e) {
        if (!termed) errorsBeforeTerm.push(String(e));
        errors++;
        return; // the server is gone (or going): this client stops
      }
    }
  }
  const t0 = Date.now();
  await Promise.all(Array.from({ length: CONC }, loop));
  agent.destroy();
  const ex = await Promise.race([s.exited, sleep(10000).then(() => ({ code: 'timeout' }))]);
  note(`SIGTERM load: ${next} sent, answers ${JSON.stringify(codes)}, ${errors} connection errors, ${Date.now() - t0} ms`);
  ok(termed, `SIGTERM was sent after ${TERM_AT} acknowledgements`);
  ok(next < MAX, 'SIGTERM came before the end of the load');
  is(ex.code, 0, 'SIGTERM: the server exits with code 0');
  is(errorsBeforeTerm, [], 'no request failed before SIGTERM');
  is(Object.keys(codes).filter((c) => c !== '200' && c !== '503'), [], 'every answer is 200 or 503');
  is(bad503.length, 0, 'every 503 says the server is shutting down and has Retry-After');
  // the drain flushed every buffer: the rows are in Parquet, the WAL is empty
  is(walFiles(s.data), [], 'after the drain the WAL is empty');
  const count = await storedMarkers(s.data, /mark-\d{6}-[0-9a-f]{8}/g);
  is(acked.filter((m) => count.get(m) !== 1), [], `every acknowledged marker (${acked.length}) is in Parquet exactly once`);
  await until(() => /openwit stopped/.test(s.log()), 2000);
  like(s.log(), /\[info\] signal 15: draining in-flight requests/, 'the log says it is draining');
  like(s.log(), /\[info\] drained; stopping/, 'the log says "drained"');
  like(s.log(), /\[info\] openwit stopped/, 'the log says "openwit stopped"');
  ok(!/second signal/.test(s.log()), 'no second signal');
}

// ---- SIGHUP reopens log.file ----
{
  const dir = tmpdir('hup');
  const logf = path.join(dir, 'openwit.log');
  const h = await start({ dir, tag: 'hup', config: { 'log.file': `"${logf}"` }, readyFile: logf });
  ok(true, 'a server with log.file starts (ready line in the file)');
  is(h.log(), '', 'with log.file, nothing is written to stderr or stdout');
  fs.renameSync(logf, `${logf}.1`);
  h.proc.kill('SIGHUP');
  ok(await until(() => fs.existsSync(logf) && /log file reopened/.test(fs.readFileSync(logf, 'utf8'))),
    'after SIGHUP a new file at the log.file path has "log file reopened"');
  is(postCurl(h, '/v1/logs', jsonLogs('after-reopen')).code, 200, 'the server takes data after the reopen');
  is(curl(`${h.control}/health`).code, 200, '/health 200 after the reopen');
  const old = fs.readFileSync(`${logf}.1`, 'utf8');
  like(old, /openwit ready/, 'the renamed file has the lines from before the HUP');
  ok(!/log file reopened/.test(old), 'the renamed file has nothing from after the HUP');
  is((await h.stop('SIGTERM')).code, 0, 'SIGTERM: exit 0');
  const cur = fs.readFileSync(logf, 'utf8');
  like(cur, /log file reopened[^]*drained; stopping[^]*openwit stopped/, 'the shutdown lines go to the new file');
  // (from this server's start line: a start retried on new ports leaves lines before it)
  const all = old + cur;
  const bad = all.slice(all.lastIndexOf('starting: configuration')).split('\n').filter((l) => /\[(error|crit)\]/.test(l));
  is(bad, [], 'no error lines in either log file');
}
done();
})();

#!/usr/bin/env node
// Tokens decide the tenant (modules/auth): tokens made by `openwit token`
// and used as printed, in auth.tokens_file and the inline auth.tokens;
// on OTLP/HTTP (both ports, curl and the OTel JS SDK exporters' headers),
// OTLP/gRPC (the SDK's metadata, a raw HTTP/2 client) and the control API:
// no token and a bad one (401, gRPC 16), another tenant's token and a read
// token used to write (403, gRPC 7, nothing stored), a write token used to
// read, a tenant's admin token on the monitor API (403), a * token narrowed
// by X-Scope-OrgID, SIGHUP adding and revoking tokens (and a bad line kept
// out), /health and /ready open, the failures in /metrics, no token in the
// log; the refusal of a non-loopback bind without auth (before binding) and
// of a bad tokens file, and the warning of a loopback server without auth.
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const crypto = require('node:crypto');
const { spawnSync } = require('node:child_process');
(async () => {
const { start, bin, curl, otelSend, freePort, writeConfig, sql, ok, is, like, note, done, sleep, tmpdir } = await import('./lib/harness.mjs');
const h2 = await import('./lib/h2.mjs');

async function until(cond, ms = 5000) {
  const t0 = Date.now();
  while (!cond() && Date.now() - t0 < ms) await sleep(20);
  return cond();
}
const run = `${process.pid}`;
const nowNs = () => `${BigInt(Date.now()) * 1000000n}`;
const logsJson = (body) => JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ timeUnixNano: nowNs(), body: { stringValue: body } }] }] }] });
// ExportLogsServiceRequest with one record, in protobuf (time: field 1, fixed64)
function logsPb(body) {
  const t = Buffer.alloc(9);
  t[0] = 0x09;
  t.writeBigUInt64LE(BigInt(Date.now()) * 1000000n, 1);
  const len = (b) => { const out = []; let n = b.length; do { let x = n & 0x7f; n >>>= 7; if (n) x |= 0x80; out.push(x); } while (n); return Buffer.from(out); };
  const field = (num, b) => Buffer.concat([Buffer.from([(num << 3) | 2]), len(b), b]);
  const rec = Buffer.concat([t, field(5, field(1, Buffer.from(body)))]);
  return field(1, field(2, field(2, rec)));
}

// ---- openwit token ----
function token(tenant, scopes) {
  const r = spawnSync(bin, ['token', tenant, scopes]);
  const lines = r.stdout.toString().split('\n');
  return { status: r.status, token: lines[0], line: lines[1], out: r.stdout.toString(), err: r.stderr.toString() };
}
const wA = token('acme', 'write');
is(wA.status, 0, 'openwit token acme write: exit 0, no config, no server');
like(wA.token, /^ow_[A-Za-z0-9_-]{43}$/, 'the first line is the token alone: ow_ and 32 random bytes in base64url');
const digest = crypto.createHash('sha256').update(wA.token).digest('hex');
is(wA.line, `sha256:${digest} acme write`, 'the second line is the tokens-file line: the SHA-256 of the token, the tenant, the scopes');
is(wA.out.split('\n').length, 3, 'two lines and nothing else');
ok(token('acme', 'write').token !== wA.token, 'every token is new');
const badTok = token('../x', 'write');
ok(badTok.status === 2 && /invalid tenant/.test(badTok.err) && badTok.out === '', 'openwit token with an invalid tenant: exit 2, says why', badTok);
const badScope = token('acme', 'write,delete');
ok(badScope.status === 2 && /scopes are write, read and admin/.test(badScope.err), 'openwit token with an unknown scope: exit 2, says why', badScope);

const rA = token('acme', 'read');
const wB = token('beta', 'write,read');
const star = token('*', 'write,read,admin');
const adminA = token('acme', 'admin,read');
const inl = token('acme', 'read');
const all = [wA, rA, wB, star, adminA, inl];

// ---- a bad tokens file, a non-loopback bind without auth: refused ----
{
  const dir = tmpdir('auth-refuse');
  const ports = { otlp: await freePort(), http: await freePort(), control: await freePort() };
  const tf = path.join(dir, 'tokens');
  fs.writeFileSync(tf, `# ops\n${wA.line}\n\nsha256:1234 acme write\n`);
  let conf = writeConfig(dir, ports, { 'auth.tokens_file': tf });
  let r = spawnSync(bin, ['-c', conf], { timeout: 10000 });
  ok(r.status === 1, `a bad line in the tokens file: openwit refuses to start (exit ${r.status})`);
  like(r.stderr.toString(), new RegExp(`${tf}:4: the digest must be sha256: and 64 hex digits`), 'the error names the file and line 4');
  fs.writeFileSync(tf, `${wA.line}\n${wA.line.replace(' write', ' read')}\n`);
  r = spawnSync(bin, ['-t', '-c', conf]);
  like(r.stderr.toString(), new RegExp(`${tf}:2: the same digest as an earlier line`), 'openwit -t: one digest twice is an error naming line 2');
  fs.writeFileSync(tf, `${wA.line} # writer\n${rA.line.replace(' read', ' read,everything')}\n`);
  r = spawnSync(bin, ['-t', '-c', conf]);
  like(r.stderr.toString(), new RegExp(`${tf}:2: scopes are write, read and admin`), 'an unknown scope: an error naming line 2');
  conf = writeConfig(dir, ports, { 'auth.tokens': JSON.stringify([wA.line, 'sha256:zz * read']) });
  r = spawnSync(bin, ['-t', '-c', conf]);
  like(r.stderr.toString(), /openwit\.yaml:\d+: auth\.tokens item:2: the digest must be/, 'a bad inline line: an error naming the config file, auth.tokens and the item');
  fs.rmSync(tf);
  conf = writeConfig(dir, ports, { 'auth.tokens_file': tf });
  r = spawnSync(bin, ['-t', '-c', conf]);
  like(r.stderr.toString(), new RegExp(`auth.tokens_file ${tf}: No such file`), 'a tokens file that does not exist: refused');

  for (const [key, port, addr] of [['ingestion.http.bind', ports.otlp, '0.0.0.0'], ['control.bind', ports.control, '0.0.0.0'], ['ingestion.grpc.bind', await freePort(), '::']]) {
    const extra = { [key]: `"${addr}"` };
    if (key === 'ingestion.grpc.bind') extra['ingestion.grpc.port'] = port;
    conf = writeConfig(dir, ports, extra);
    let listening = false;
    const child = require('node:child_process').spawn(bin, ['-c', conf]);
    let err = '';
    child.stderr.on('data', (d) => { err += d; });
    const probe = setInterval(() => { const c = net.connect(port, '127.0.0.1', () => { listening = true; c.destroy(); }); c.on('error', () => {}); }, 5);
    const code = await new Promise((resolve) => child.on('exit', resolve));
    clearInterval(probe);
    await sleep(50);
    is(code, 1, `${key}: ${addr} without auth: exit 1`);
    like(err, new RegExp(`${key}: "${addr.replace(/\./g, '\\.')}" is not a loopback address and auth is off.*Set auth.tokens_file or auth.tokens`), `${key}: the message says why and what to set`);
    ok(!listening && !fs.existsSync(path.join(dir, 'data')), `${key}: it never listened, nor touched the data directory`);
  }
  fs.writeFileSync(tf, `${wA.line}\n`);
  conf = writeConfig(dir, ports, { 'ingestion.http.bind': '"0.0.0.0"', 'auth.tokens_file': tf });
  r = spawnSync(bin, ['-t', '-c', conf]);
  is(r.status, 0, 'with auth on, a bind to 0.0.0.0 is accepted (openwit -t)');
}

// ---- a loopback server without auth: it starts, and warns ----
{
  const s = await start({ tag: 'auth-off' });
  like(s.log(), /\[warn\] auth is off .*any local user can read and write every tenant/, 'without auth on loopback: a warning at start');
  is(curl(`${s.otlp}/v1/logs`, ['-H', 'Content-Type: application/json', '--data-binary', logsJson('off')]).code, 200, 'without auth: a request with no token is taken');
  is(curl(`${s.control}/metrics`).code, 200, 'without auth: /metrics is open');
  s.kill();
  s.forget();
}

// ---- the server with auth ----
const dir = tmpdir('auth');
const tokensFile = path.join(dir, 'tokens');
fs.writeFileSync(tokensFile, `# openwit tokens\n${wA.line}\n${rA.line}\n${wB.line}   # beta's\n${star.line}\n${adminA.line}\n`);
const gport = await freePort();
const s = await start({ dir, tag: 'auth', allowErrors: [/auth: tokens not reloaded/], config: {
  'ingestion.grpc.port': gport, 'auth.tokens_file': tokensFile, 'auth.tokens': JSON.stringify([inl.line]), 'log.level': 'debug' } });
const grpc = `http://127.0.0.1:${gport}`;
const db = path.join(s.data, 'openwit.db');
like(s.log(), /auth: 6 tokens/, 'the server loads the five tokens of the file and the inline one');
ok(!/auth is off/.test(s.log()), 'no warning of auth being off');

// expected failure counts, by listener and reason
const want = {};
const count = (listener, reason) => { want[`${listener}/${reason}`] = (want[`${listener}/${reason}`] || 0) + 1; };
const bearer = (t) => ['-H', `Authorization: Bearer ${t.token}`];
const bodyDir = tmpdir('auth-bodies');
let nbody = 0;
function post(url, p, body, args = [], ctype = 'application/json') {
  const f = path.join(bodyDir, `${nbody++}`);
  fs.writeFileSync(f, body);
  return curl(`${url}${p}`, ['-H', `Content-Type: ${ctype}`, '--data-binary', `@${f}`, ...args]);
}
function search(args, query) {
  const r = curl(`${s.control}/api/search`, [...args, '--data-binary', JSON.stringify({ query })]);
  try { r.json = JSON.parse(r.text); } catch {}
  return r;
}
const rowsOf = (r) => (r.json && r.json.result ? r.json.result.rows : null);

// /health and /ready
is(curl(`${s.control}/health`).code, 200, '/health answers without a token');
is(curl(`${s.control}/ready`).code, 200, '/ready answers without a token');

// no token
for (const [url, port] of [[s.otlp, 'otlp_port'], [s.legacy, 'port']]) {
  let r = post(url, '/v1/logs', logsJson(`none-${run}`));
  is(r.code, 401, `no token, OTLP/HTTP JSON (ingestion.http.${port}): 401`);
  is(r.headers['www-authenticate'], 'Bearer realm="openwit"', 'with WWW-Authenticate: Bearer');
  is(JSON.parse(r.text).code, 16, 'the Status body in JSON: code 16 UNAUTHENTICATED');
  like(JSON.parse(r.text).message, /unauthenticated: send Authorization: Bearer <token>/, 'its message says what to send');
  count('otlp_http', 'missing_token');
  r = post(url, '/v1/logs', logsPb(`none-${run}`), [], 'application/x-protobuf');
  is(r.code, 401, `no token, OTLP/HTTP protobuf (ingestion.http.${port}): 401`);
  is(r.headers['content-type'], 'application/x-protobuf', 'answered in protobuf');
  is(r.body.subarray(0, 2).toString('hex'), '0810', 'the Status body in protobuf: code 16');
  count('otlp_http', 'missing_token');
}
let sdk = otelSend(s.otlp, 'logs', 'proto', ['--count', '2', '--marker', `sdknone-${run}`, '--timeout-ms', '3000']);
ok(sdk.exit === 1 && sdk.succeeded === 0, 'no token, the SDK\'s OTLP/HTTP exporter: every export fails', sdk);
like(sdk.errors.join('\n'), /401|Unauthorized/, 'with 401');
for (let i = 0; i < sdk.exports; i++) count('otlp_http', 'missing_token');
sdk = otelSend(grpc, 'logs', 'grpc', ['--count', '2', '--marker', `grpcnone-${run}`, '--timeout-ms', '3000']);
ok(sdk.exit === 1 && sdk.succeeded === 0, 'no token, the SDK\'s OTLP/gRPC exporter: every export fails', sdk);
like(sdk.errors.join('\n'), /UNAUTHENTICATED|code 16/, 'with UNAUTHENTICATED');
for (let i = 0; i < sdk.exports; i++) count('otlp_grpc', 'missing_token');
const c = await h2.connect(gport);
const framed = h2.grpcFrame(logsPb(`raw-${run}`));
let g = await h2.call(c, h2.LOGS, framed);
ok(g.status === 16 && /unauthenticated: send Authorization/.test(g.message), 'no token, raw gRPC: grpc-status 16 and the message', g);
count('otlp_grpc', 'missing_token');
let r = search([], 'SELECT 1');
ok(r.code === 401 && r.headers['www-authenticate'] === 'Bearer realm="openwit"' && /unauthenticated/.test(r.json.error), 'no token, /api/search: 401, WWW-Authenticate and {"error"}', r.text);
count('control', 'missing_token');
for (const p of ['/metrics', '/api/batch-monitor/status', '/api/batch-monitor/batches', '/api/batch-monitor/alerts', '/api/traces/5b8efff798038103d269b633813fc60c', '/api/logs/search?q=x']) {
  is(curl(`${s.control}${p}`).code, 401, `no token, ${p}: 401`);
  count('control', 'missing_token');
}
is(curl(`${s.control}/nothing-here`).code, 404, 'an unknown path is 404 with or without a token');

// bad tokens
for (const h of ['Authorization: Bearer ow_not-a-token', 'Authorization: Basic YWRtaW46YWRtaW4=', 'Authorization: Bearer', `Authorization: Bearer ${wA.token}x`, `Authorization: ${wA.token}`]) {
  r = post(s.otlp, '/v1/logs', logsJson(`bad-${run}`), ['-H', h]);
  ok(r.code === 401 && JSON.parse(r.text).code === 16, `${h.replace(wA.token, 'TOKEN')}: 401`, r.text);
  count('otlp_http', 'bad_token');
}
r = post(s.otlp, '/v1/logs', logsJson(`bad-${run}`), [...bearer(wA), ...bearer(wA)]);
is(r.code, 401, 'two Authorization headers, even of a good token: 401');
count('otlp_http', 'bad_token');
is(search([...bearer(rA), ...bearer(wB)], 'SELECT 1').code, 401, 'two Authorization headers on /api/search: 401');
count('control', 'bad_token');
g = await h2.call(c, h2.LOGS, framed, { authorization: 'Bearer ow_nope' });
is(g.status, 16, 'a bad token, raw gRPC: grpc-status 16');
count('otlp_grpc', 'bad_token');
is(search(['-H', 'Authorization: Bearer ow_nope'], 'SELECT 1').code, 401, 'a bad token, /api/search: 401');
count('control', 'bad_token');

// tokens that work, and the tenant they decide
r = post(s.otlp, '/v1/logs', logsJson(`a1-${run}`), bearer(wA));
is(r.code, 200, 'acme\'s write token, OTLP/HTTP: 200');
r = post(s.legacy, '/v1/logs', logsPb(`a2-${run}`), [...bearer(wA), '-H', 'X-Scope-OrgID: acme'], 'application/x-protobuf');
is(r.code, 200, 'acme\'s write token with X-Scope-OrgID: acme, on ingestion.http.port: 200');
sdk = otelSend(s.otlp, 'logs', 'proto', ['--count', '3', '--marker', `a3-${run}`, '--header', `Authorization: Bearer ${wA.token}`]);
ok(sdk.exit === 0 && sdk.succeeded === sdk.exports && sdk.exports > 0, 'the SDK\'s OTLP/HTTP exporter with headers {Authorization: Bearer}: every export succeeds', sdk);
sdk = otelSend(grpc, 'logs', 'grpc', ['--count', '3', '--marker', `a4-${run}`, '--header', `Authorization: Bearer ${wA.token}`]);
ok(sdk.exit === 0 && sdk.succeeded === sdk.exports && sdk.exports > 0, 'the SDK\'s OTLP/gRPC exporter with metadata authorization: every export succeeds', sdk);
g = await h2.call(c, h2.LOGS, framed, { authorization: `bearer ${wA.token}` });
is(g.status, 0, 'raw gRPC with "bearer" in lower case: grpc-status 0');
r = search(bearer(rA), `SELECT body FROM logs WHERE body LIKE 'a%-${run}%' OR body = 'raw-${run}' ORDER BY body`);
is(r.code, 200, 'acme\'s read token, /api/search: 200');
is((rowsOf(r) || []).map((x) => x.body), [`a1-${run}`, `a2-${run}`, `a3-${run}-log-0`, `a3-${run}-log-1`, `a3-${run}-log-2`, `a4-${run}-log-0`, `a4-${run}-log-1`, `a4-${run}-log-2`, `raw-${run}`],
  'the token decided the tenant: every record written with acme\'s token is acme\'s');
is(rowsOf(search(['-H', `Authorization: Bearer ${inl.token}`], `SELECT count(*) n FROM logs WHERE body LIKE 'a%-${run}%'`)), [{ n: 8 }], 'the inline auth.tokens token reads acme too');
is(sql(db, `select distinct client_id from batch_tracker where client_id != 'acme'`), [], 'no batch of any other tenant was written');

// another tenant's token: 403, nothing written
r = post(s.otlp, '/v1/logs', logsJson(`steal-${run}`), [...bearer(wB), '-H', 'X-Scope-OrgID: acme']);
ok(r.code === 403 && JSON.parse(r.text).code === 7 && /not for the tenant in X-Scope-OrgID/.test(r.text), 'beta\'s token with X-Scope-OrgID: acme, OTLP/HTTP: 403, code 7 PERMISSION_DENIED', r.text);
count('otlp_http', 'tenant');
r = post(s.otlp, '/v1/logs', logsPb(`steal-${run}`), [...bearer(wB), '-H', 'X-Scope-OrgID: acme'], 'application/x-protobuf');
ok(r.code === 403 && r.body.subarray(0, 2).toString('hex') === '0807', 'the same in protobuf: 403, Status code 7', r.body.toString('hex'));
count('otlp_http', 'tenant');
g = await h2.call(c, h2.LOGS, h2.grpcFrame(logsPb(`steal-${run}`)), { authorization: `Bearer ${wB.token}`, 'x-scope-orgid': 'acme' });
ok(g.status === 7 && /not for the tenant in x-scope-orgid/.test(g.message), 'beta\'s token with x-scope-orgid acme, gRPC: grpc-status 7', g);
count('otlp_grpc', 'tenant');
sdk = otelSend(grpc, 'logs', 'grpc', ['--count', '1', '--marker', `steal-${run}`, '--tenant', 'acme', '--header', `Authorization: Bearer ${wB.token}`]);
ok(sdk.exit === 1 && /PERMISSION_DENIED|code 7/.test(sdk.errors.join('\n')), 'the same with the SDK\'s gRPC exporter: PERMISSION_DENIED', sdk);
for (let i = 0; i < sdk.exports; i++) count('otlp_grpc', 'tenant');
r = search([...bearer(wB), '-H', 'X-Scope-OrgID: acme'], 'SELECT count(*) n FROM logs');
is(r.code, 403, 'beta\'s token with X-Scope-OrgID: acme, /api/search: 403');
count('control', 'tenant');

// a read token used to write, a write token used to read
r = post(s.otlp, '/v1/logs', logsJson(`steal-${run}`), bearer(rA));
ok(r.code === 403 && /no write scope/.test(r.text), 'acme\'s read token used to write: 403, "no write scope"', r.text);
count('otlp_http', 'scope');
g = await h2.call(c, h2.LOGS, h2.grpcFrame(logsPb(`steal-${run}`)), { authorization: `Bearer ${rA.token}` });
is(g.status, 7, 'acme\'s read token used to write, gRPC: grpc-status 7');
count('otlp_grpc', 'scope');
r = search(bearer(wA), 'SELECT count(*) n FROM logs');
ok(r.code === 403 && /no read scope/.test(r.json.error), 'acme\'s write token used to read: 403, "no read scope"', r.text);
count('control', 'scope');
is(curl(`${s.control}/api/logs/search?q=a1`, bearer(wA)).code, 403, 'acme\'s write token on /api/logs/search: 403');
count('control', 'scope');
is(rowsOf(search(bearer(rA), `SELECT count(*) n FROM logs WHERE body LIKE 'steal-${run}%'`)), [{ n: 0 }], 'nothing refused was written to acme');
is(rowsOf(search(bearer(wB), `SELECT count(*) n FROM logs WHERE body LIKE 'steal-${run}%'`)), [{ n: 0 }], 'nor to beta');
is(sql(db, `select count(*) n from batch_tracker where client_id != 'acme'`), [{ n: 0 }], 'no batch of any other tenant');

// the monitor API and /metrics: admin, for all tenants
for (const p of ['/metrics', '/api/batch-monitor/status', '/api/batch-monitor/alerts']) {
  r = curl(`${s.control}${p}`, bearer(adminA));
  ok(r.code === 403 && /needs a token for all tenants/.test(r.text), `acme's admin token on ${p}: 403 (it shows every tenant)`, r.text);
  count('control', 'all_tenants');
  r = curl(`${s.control}${p}`, bearer(rA));
  ok(r.code === 403 && /no admin scope/.test(r.text), `acme's read token on ${p}: 403, no admin scope`, r.text);
  count('control', 'scope');
  is(curl(`${s.control}${p}`, bearer(star)).code, 200, `the * admin token on ${p}: 200`);
}
is(rowsOf(search(bearer(adminA), `SELECT count(*) n FROM logs WHERE body LIKE 'a1-${run}'`)), [{ n: 1 }], 'acme\'s admin,read token reads acme\'s rows');

// the * token: any tenant, narrowed by X-Scope-OrgID
r = post(s.otlp, '/v1/logs', logsJson(`g1-${run}`), [...bearer(star), '-H', 'X-Scope-OrgID: gamma']);
is(r.code, 200, 'the * token with X-Scope-OrgID: gamma writes');
r = post(s.otlp, '/v1/logs', logsJson(`d1-${run}`), bearer(star));
is(r.code, 200, 'the * token without X-Scope-OrgID writes (to "default")');
g = await h2.call(c, h2.LOGS, h2.grpcFrame(logsPb(`g2-${run}`)), { authorization: `Bearer ${star.token}`, 'x-scope-orgid': 'gamma' });
is(g.status, 0, 'the * token with x-scope-orgid gamma, gRPC: grpc-status 0');
is(rowsOf(search([...bearer(star), '-H', 'X-Scope-OrgID: gamma'], 'SELECT body FROM logs ORDER BY body')), [{ body: `g1-${run}` }, { body: `g2-${run}` }], 'the * token narrowed to gamma reads gamma\'s rows alone, from both');
is(rowsOf(search(bearer(star), 'SELECT body FROM logs')), [{ body: `d1-${run}` }], 'the * token without X-Scope-OrgID reads "default"');
is(rowsOf(search([...bearer(star), '-H', 'X-Scope-OrgID: acme'], `SELECT count(*) n FROM logs WHERE body LIKE 'a1-${run}'`)), [{ n: 1 }], 'the * token narrowed to acme reads acme');
r = post(s.otlp, '/v1/logs', logsJson(`x-${run}`), [...bearer(star), '-H', 'X-Scope-OrgID: ../evil']);
is(r.code, 400, 'the * token with an invalid X-Scope-OrgID: 400, as without auth');

// SIGHUP: a new token, beta's revoked; then a bad line keeps the old ones
const wD = token('delta', 'write,read');
is(post(s.otlp, '/v1/logs', logsJson(`d-${run}`), bearer(wD)).code, 401, 'a token not yet in the file: 401');
count('otlp_http', 'bad_token');
fs.writeFileSync(tokensFile, fs.readFileSync(tokensFile, 'utf8').replace(`${wB.line}`, `# revoked: ${wB.line}`) + `${wD.line}\n`);
s.proc.kill('SIGHUP');
ok(await until(() => /auth: tokens reloaded: 6 tokens/.test(s.log())), 'SIGHUP: "auth: tokens reloaded: 6 tokens"');
is(post(s.otlp, '/v1/logs', logsJson(`d-${run}`), bearer(wD)).code, 200, 'after SIGHUP the new token writes');
is(rowsOf(search(bearer(wD), 'SELECT body FROM logs')), [{ body: `d-${run}` }], 'to its tenant, delta');
r = post(s.otlp, '/v1/logs', logsJson(`b-${run}`), bearer(wB));
is(r.code, 401, 'after SIGHUP beta\'s revoked token: 401');
count('otlp_http', 'bad_token');
g = await h2.call(c, h2.LOGS, framed, { authorization: `Bearer ${wB.token}` });
is(g.status, 16, 'and on gRPC: 16');
count('otlp_grpc', 'bad_token');
fs.appendFileSync(tokensFile, 'sha256:00 delta read\n');
s.proc.kill('SIGHUP');
ok(await until(() => /\[error\] auth: tokens not reloaded, the 6 loaded before stay: .*tokens:\d+: the digest/.test(s.log())), 'SIGHUP with a bad line: an error naming file and line, the old tokens stay');
is(post(s.otlp, '/v1/logs', logsJson(`d2-${run}`), bearer(wD)).code, 200, 'the tokens loaded before still work');
is(post(s.otlp, '/v1/logs', logsJson(`b-${run}`), bearer(wB)).code, 401, 'and the revoked one stays revoked');
count('otlp_http', 'bad_token');
c.close();

// the failures in /metrics
const m = curl(`${s.control}/metrics`, bearer(star)).text;
const got = {};
for (const [, l, reason, v] of m.matchAll(/^openwit_auth_failures_total\{listener="([a-z_]+)",reason="([a-z_]+)"\} (\d+)$/gm)) got[`${l}/${reason}`] = Number(v);
const keys = [...new Set([...Object.keys(want), ...Object.keys(got)])].sort();
is(Object.fromEntries(keys.filter((k) => got[k] || want[k]).map((k) => [k, got[k]])), Object.fromEntries(keys.filter((k) => got[k] || want[k]).map((k) => [k, want[k]])),
  'openwit_auth_failures_total counts every refusal by listener and reason');
for (const l of ['otlp_http', 'otlp_grpc', 'control'])
  ok(m.includes(`openwit_auth_failures_total{listener="${l}",reason="missing_token"}`), `/metrics has the ${l} listener's failures`);
const sum = (l, rs) => rs.reduce((a, x) => a + (want[`${l}/${x}`] || 0), 0);
like(m, new RegExp(`openwit_rejected_requests_total\\{reason="unauthenticated"\\} ${sum('otlp_http', ['missing_token', 'bad_token']) + sum('otlp_grpc', ['missing_token', 'bad_token'])}\\n`),
  'openwit_rejected_requests_total counts the ingest requests refused 401 as unauthenticated');
like(m, new RegExp(`openwit_rejected_requests_total\\{reason="permission_denied"\\} ${sum('otlp_http', ['scope', 'tenant']) + sum('otlp_grpc', ['scope', 'tenant'])}\\n`),
  'and those refused 403 as permission_denied');
like(m, /openwit_auth_tokens 6\n/, 'openwit_auth_tokens: 6');
like(m, /openwit_auth_reloads_total\{result="ok"\} 1\n/, 'one reload done');
like(m, /openwit_auth_reloads_total\{result="error"\} 1\n/, 'one refused');

// never a token in the log (at log.level debug)
const text = s.log() + fs.readFileSync(tokensFile, 'utf8');
for (const t of [...all, wD]) ok(!s.log().includes(t.token.slice(3, 15)), `the log holds no part of a token (${t.line.split(' ').slice(1).join(' ')})`);
ok(text.length > 0 && !fs.readFileSync(tokensFile, 'utf8').includes('ow_'), 'the tokens file holds digests alone');
note(`failures: ${JSON.stringify(got)}`);
done();
})();

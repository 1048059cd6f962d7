#!/usr/bin/env node
// TLS on every listener (modules/tls): a CA, server and client certificates
// are made here with the openssl CLI in a temporary directory. curl with
// --cacert sends OTLP/HTTP to both ports and queries the control API; the
// OpenTelemetry JS SDK exporters send over HTTPS and gRPC with the CA, and
// their spans come back from a query; openssl s_client sees TLS 1.2+ and
// ALPN h2 on the gRPC port, and TLS 1.1 refused. Plain HTTP to a TLS port
// is answered 400 at once, a client that never handshakes is cut at the head
// deadline (gRPC: the idle timeout), and both count in /metrics. SIGHUP
// swaps the certificate for new connections while an open one keeps its
// own, and a bad new one keeps the old. A listener turns TLS off for itself
// or has its own certificate; mTLS refuses a client without a certificate
// of its CA; a missing certificate or a key that does not match stops the
// start with a message naming the file.
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const tls = require('node:tls');
const { spawnSync, execFileSync } = require('node:child_process');
(async () => {
const { start, bin, freePort, curl, curlJSON, otelSend, ok, is, like, note, done, sleep, tmpdir, writeConfig } = await import('./lib/harness.mjs');

async function until(cond, ms = 5000) {
  const t0 = Date.now();
  while (!(await cond()) && Date.now() - t0 < ms) await sleep(20);
  return cond();
}

// ---- certificates ----
const dir = tmpdir('tls-certs');
const f = (n) => path.join(dir, n);
const openssl = (args, input) => spawnSync('openssl', args, { cwd: dir, input, timeout: 15000 });
function mkca(name) {
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`]);
}
function mkleaf(name, ca, serial, ext) {
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
  fs.writeFileSync(f(`${name}.ext`), ext);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`,
    '-set_serial', String(serial), '-days', '2', '-out', `${name}.crt`, '-extfile', `${name}.ext`]);
}
const serverExt = 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n';
const clientExt = 'extendedKeyUsage=clientAuth\n';
mkca('ca');
mkca('otherca');
mkleaf('server1', 'ca', 4097, serverExt);
mkleaf('server2', 'ca', 8194, serverExt);
mkleaf('client', 'ca', 12291, clientExt);
mkleaf('stranger', 'otherca', 16388, clientExt);
ok(['ca', 'server1', 'server2', 'client', 'stranger'].every((n) => fs.existsSync(f(`${n}.crt`)) && fs.existsSync(f(`${n}.key`))),
  'openssl made a CA, two server certificates and two client ones');
// the files the server reads, swapped for SIGHUP
fs.copyFileSync(f('server1.crt'), f('live.crt'));
fs.copyFileSync(f('server1.key'), f('live.key'));

const CA = f('ca.crt');
const https = (port, p) => `https://127.0.0.1:${port}${p}`;
const now = () => String(Date.now() * 1e6);
function spanJSON(name) {
  return JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'tls-test' } }] },
    scopeSpans: [{ spans: [{ traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', name, kind: 1,
      startTimeUnixNano: now(), endTimeUnixNano: now() }] }] }] });
}
const postSpan = (port, name, args = []) => curl(https(port, '/v1/traces'),
  ['--cacert', CA, '-H', 'Content-Type: application/json', '--data-binary', spanJSON(name), ...args]);
function query(port, q, args = []) {
  return curlJSON(https(port, '/api/search'), ['--cacert', CA, '--data-binary', JSON.stringify({ query: q }), ...args]);
}
// s_client's handshake: its output, and its certificate's serial and subject
function sclient(port, args = []) {
  const r = openssl(['s_client', '-connect', `127.0.0.1:${port}`, '-CAfile', CA, '-servername', 'localhost', ...args], '');
  const out = r.stdout.toString() + r.stderr.toString();
  const pem = (out.match(/-----BEGIN CERTIFICATE-----[^]*?-----END CERTIFICATE-----/) || [''])[0];
  const x = pem ? openssl(['x509', '-noout', '-serial', '-subject'], pem).stdout.toString() : '';
  return { status: r.status, out, serial: (x.match(/serial=(\w+)/) || [])[1], subject: (x.match(/subject=.*CN\s*=\s*(\S+)/) || [])[1] };
}
// how long until the server closes a connection that sends `bytes` (or
// nothing), and what it answered
function closedAfter(port, bytes, limitMs = 10000) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const chunks = [];
    const s = net.connect(port, '127.0.0.1', () => { if (bytes) s.write(bytes); });
    const timer = setTimeout(() => { s.destroy(); resolve({ ms: Infinity, text: '' }); }, limitMs);
    s.on('data', (d) => chunks.push(d));
    s.on('error', () => {});
    s.on('close', () => { clearTimeout(timer); resolve({ ms: Date.now() - t0, text: Buffer.concat(chunks).toString() }); });
  });
}
function metric(port, re) {
  const m = curl(https(port, '/metrics'), ['--cacert', CA]).text.match(re);
  return m ? Number(m[1]) : -1;
}

// ---- one server, TLS on every listener from the top-level keys ----
const gport = await freePort();
const s = await start({
  tag: 'tls',
  config: {
    'tls.cert_file': `"${f('live.crt')}"`, 'tls.key_file': `"${f('live.key')}"`,
    'ingestion.grpc.port': gport, 'ingestion.grpc.idle_timeout_ms': 1500,
    'ingestion.http.header_timeout_ms': 1000, 'storage.buffer.flush_interval_ms': 200,
  },
  allowErrors: [/TLS reload failed/],
});
const P = s.ports;
like(s.log(), /OTLP\/gRPC listening on \S+ \(TLS, ALPN h2\)/, 'the log says gRPC listens with TLS and ALPN h2');

{
  const a = postSpan(P.otlp, 'curl-otlp');
  is(a.code, 200, 'curl --cacert: OTLP/HTTP over TLS on otlp_port is 200');
  const b = postSpan(P.http, 'curl-legacy');
  is(b.code, 200, 'and on the legacy port');
  is(curl(https(P.control, '/health'), ['--cacert', CA]).code, 200, 'the control API over TLS: /health 200');
  const r = await until(() => (query(P.control, "select count(*) n from spans where name like 'curl-%'").json?.result?.rows?.[0]?.n) === 2);
  ok(r, 'the two spans come back from /api/search over TLS');
  const h = sclient(P.otlp, ['-alpn', 'h2,http/1.1']);
  like(h.out, /ALPN protocol: http\/1\.1/, 'an HTTP listener picks ALPN http/1.1 from h2,http/1.1');
  const plainCurl = curl(`http://127.0.0.1:${P.control}/health`);
  is(plainCurl.code, 400, 'curl http:// to the TLS control port: 400');
  like(plainCurl.text, /speaks TLS/, 'saying the port speaks TLS');
}

// ---- the OpenTelemetry JS SDK exporters with the CA ----
for (const [enc, port] of [['grpc', gport], ['proto', P.otlp], ['json', P.http]]) {
  const marker = `otel-${enc}-${Date.now()}`;
  const r = otelSend(`https://127.0.0.1:${port}`, 'traces', enc, ['--count', '4', '--marker', marker, '--ca', CA]);
  ok(r.exit === 0 && r.succeeded >= 1, `OTel SDK ${enc} exporter over TLS with the CA: export succeeded`, r);
  const back = await until(() => (query(P.control, `select count(*) n from spans where name like '${marker}-span-%'`).json?.result?.rows?.[0]?.n) === 4);
  ok(back, `its 4 spans come back from a query (${enc})`);
}
{
  const r = otelSend(`https://127.0.0.1:${gport}`, 'traces', 'grpc', ['--count', '1', '--timeout-ms', '2000']);
  ok(r.exit !== 0, 'the gRPC exporter without the CA is refused (the certificate is not trusted)', r);
  like((r.errors || []).join(' '), /certificate/i, 'and says it is the certificate');
}

// ---- s_client on the gRPC port: TLS 1.2+, ALPN h2, TLS 1.1 refused ----
{
  const h = sclient(gport, ['-alpn', 'h2']);
  like(h.out, /ALPN protocol: h2/, 's_client -alpn h2 on the gRPC port: ALPN h2');
  like(h.out, /New, TLSv1\.[23], Cipher is /, 'TLS 1.2 or later');
  like(h.out, /Verify return code: 0 \(ok\)/, 'the certificate verifies against the CA');
  const t12 = sclient(gport, ['-tls1_2', '-alpn', 'h2']);
  like(t12.out, /New, TLSv1\.2, Cipher is /, 's_client -tls1_2: TLS 1.2 is taken');
  const t11 = sclient(gport, ['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0']);
  ok(t11.status !== 0 && /protocol version/.test(t11.out), 's_client -tls1_1 is refused (protocol version)', t11.out.slice(0, 400));
  const t11h = sclient(P.otlp, ['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0']);
  ok(t11h.status !== 0 && /protocol version/.test(t11h.out), 'TLS 1.1 is refused on an HTTP listener too');
  const other = sclient(gport, ['-alpn', 'http/1.1']);
  ok(other.status !== 0 && /no application protocol/.test(other.out), 'a client offering ALPN without h2 is refused on the gRPC port', other.out.slice(0, 400));
}

// ---- plain text and silence on TLS ports ----
{
  const failsBefore = metric(P.control, /openwit_tls_handshake_failures_total\{listener="otlp_http"\} (\d+)/);
  const plain = await closedAfter(P.otlp, `POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`);
  ok(plain.ms < 3000, `plain HTTP to the TLS OTLP port: closed at once (${plain.ms} ms)`);
  like(plain.text, /^HTTP\/1\.1 400 /, 'answered 400 in plain text');
  const plainG = await closedAfter(gport, `GET / HTTP/1.1\r\nHost: x\r\n\r\n`);
  ok(plainG.ms < 3000 && /^HTTP\/1\.1 400 /.test(plainG.text), `plain HTTP to the TLS gRPC port: 400 and closed (${plainG.ms} ms)`);
  const h2c = await closedAfter(gport, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
  ok(h2c.ms < 3000, `h2c (prior knowledge) to the TLS gRPC port: closed at once (${h2c.ms} ms)`);
  const silent = await closedAfter(P.otlp, null);
  ok(silent.ms >= 900 && silent.ms < 5000, `a client that opens TCP and never handshakes is cut at the head deadline of 1000 ms (${silent.ms} ms)`);
  const half = await closedAfter(P.http, Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]));
  ok(half.ms >= 900 && half.ms < 5000, `one that stops inside its ClientHello too (${half.ms} ms)`);
  const silentG = await closedAfter(gport, null);
  ok(silentG.ms >= 1400 && silentG.ms < 6000, `on the gRPC port, at its idle timeout of 1500 ms (${silentG.ms} ms)`);
  const failsAfter = metric(P.control, /openwit_tls_handshake_failures_total\{listener="otlp_http"\} (\d+)/);
  is(failsAfter - failsBefore, 3, 'openwit_tls_handshake_failures_total counts the three on the OTLP/HTTP listener');
  ok(metric(P.control, /openwit_tls_handshake_failures_total\{listener="otlp_grpc"\} (\d+)/) >= 4, 'and those on the gRPC listener');
  is(metric(P.control, /openwit_tls_plain_http_total\{listener="otlp_http"\} (\d+)/), 1, 'openwit_tls_plain_http_total counts the plain request');
  ok(metric(P.control, /openwit_deadline_closed_total\{listener="otlp_http",deadline="head"\} (\d+)/) >= 2, 'the silent ones count as head deadline closes');
  is(postSpan(P.otlp, 'after-noise').code, 200, 'the server takes data as before');
}

// ---- SIGHUP: a new certificate for new connections, open ones keep theirs ----
{
  const before = sclient(P.otlp);
  is([before.serial, before.subject], ['1001', 'server1'], 'before SIGHUP: serial 1001, CN=server1');
  const held = await new Promise((resolve, reject) => {
    const c = tls.connect({ host: '127.0.0.1', port: P.control, ca: fs.readFileSync(CA), servername: 'localhost' }, () => resolve(c));
    c.on('error', reject);
  });
  fs.copyFileSync(f('server2.crt'), f('live.crt'));
  fs.copyFileSync(f('server2.key'), f('live.key'));
  s.proc.kill('SIGHUP');
  ok(await until(() => (s.log().match(/TLS certificate reloaded/g) || []).length === 3), 'SIGHUP: the three listeners reload their certificate');
  for (const [what, port] of [['OTLP/HTTP', P.otlp], ['legacy', P.http], ['gRPC', gport], ['control', P.control]]) {
    const after = sclient(port);
    is([after.serial, after.subject], ['2002', 'server2'], `after SIGHUP, s_client on ${what} sees serial 2002, CN=server2`);
  }
  is(postSpan(P.otlp, 'after-reload').code, 200, 'curl --cacert takes the new certificate');
  is(held.getPeerCertificate().serialNumber, '1001', 'a connection opened before SIGHUP keeps the old certificate');
  const answer = await new Promise((resolve) => {
    let text = '';
    held.on('data', (d) => { text += d; if (/\r\n\r\n[^]*\}/.test(text)) resolve(text); });
    held.on('close', () => resolve(text));
    held.write('GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n');
  });
  like(answer, /^HTTP\/1\.1 200 /, 'and is still served');
  held.destroy();

  fs.writeFileSync(f('live.crt'), 'not a certificate\n');
  s.proc.kill('SIGHUP');
  ok(await until(() => (s.log().match(/TLS reload failed/g) || []).length === 3), 'SIGHUP with a bad certificate: the reload fails and is logged');
  like(s.log(), /TLS reload failed, the certificate in use stays: tls\.cert_file \S*live\.crt: not a PEM certificate/, 'naming the key and the file');
  const still = sclient(P.otlp);
  is(still.serial, '2002', 'the certificate in use stays');
  is(metric(P.control, /openwit_tls_reload_failures_total (\d+)/), 3, 'openwit_tls_reload_failures_total counts the failures');
  fs.copyFileSync(f('server2.crt'), f('live.crt'));
}

is((await s.stop()).code, 0, 'SIGTERM after the reloads: exit 0, every TLS context freed (ASan checks)');

// ---- one listener without TLS, one with its own certificate ----
{
  const g2 = await freePort();
  const s2 = await start({
    tag: 'tls-listeners',
    config: {
      'tls.cert_file': `"${f('server1.crt')}"`, 'tls.key_file': `"${f('server1.key')}"`,
      'control.tls.enabled': 'false', 'ingestion.grpc.port': g2,
      'ingestion.grpc.tls.cert_file': `"${f('server2.crt')}"`, 'ingestion.grpc.tls.key_file': `"${f('server2.key')}"`,
    },
  });
  is(curl(`http://127.0.0.1:${s2.ports.control}/health`).code, 200, 'control.tls.enabled: false: the control API is plain HTTP');
  ok(curl(https(s2.ports.control, '/health'), ['--cacert', CA]).status !== 0, 'and does not speak TLS');
  is(postSpan(s2.ports.otlp, 'mixed').code, 200, 'while OTLP/HTTP keeps TLS');
  is(sclient(s2.ports.otlp).subject, 'server1', 'OTLP/HTTP has the top-level certificate');
  is(sclient(g2, ['-alpn', 'h2']).subject, 'server2', 'gRPC has its own (ingestion.grpc.tls.cert_file)');
  await s2.stop();
}

// ---- mTLS ----
{
  const s3 = await start({
    tag: 'tls-mtls',
    config: {
      'tls.cert_file': `"${f('server1.crt')}"`, 'tls.key_file': `"${f('server1.key')}"`,
      'tls.client_ca_file': `"${CA}"`, 'ingestion.http.max_connections': 2,
    },
  });
  const none = postSpan(s3.ports.otlp, 'mtls-none');
  ok(none.code === 0 && none.status !== 0, 'mTLS: a client without a certificate is refused', none.stderr);
  const stranger = postSpan(s3.ports.otlp, 'mtls-stranger', ['--cert', f('stranger.crt'), '--key', f('stranger.key')]);
  ok(stranger.code === 0 && stranger.status !== 0, 'one with a certificate of another CA is refused', stranger.stderr);
  const good = postSpan(s3.ports.otlp, 'mtls-good', ['--cert', f('client.crt'), '--key', f('client.key')]);
  is(good.code, 200, 'one with a certificate of tls.client_ca_file is taken');
  const q = query(s3.ports.control, 'select name from spans', ['--cert', f('client.crt'), '--key', f('client.key')]);
  ok(await until(() => JSON.stringify(query(s3.ports.control, 'select name from spans', ['--cert', f('client.crt'), '--key', f('client.key')]).json?.result?.rows) === '[{"name":"mtls-good"}]'),
    'only its span is stored, and the control API answers it too', q.json);
  // two silent clients that never handshake hold both of the listener's slots
  const held = [];
  for (let i = 0; i < 2; i++) held.push(await new Promise((resolve) => { const c = net.connect(s3.ports.otlp, '127.0.0.1', () => resolve(c)); c.on('error', () => {}); }));
  await sleep(200);
  const third = await closedAfter(s3.ports.http, null);
  ok(third.ms < 3000, `handshakes count against the connection cap: a third connection is closed at once (${third.ms} ms)`);
  like(curl(https(s3.ports.control, '/metrics'), ['--cacert', CA, '--cert', f('client.crt'), '--key', f('client.key')]).text,
    /openwit_connections_refused_total\{listener="otlp_http",reason="max_connections"\} 1\b/, 'and counted as refused by max_connections');
  for (const c of held) c.destroy();
  await s3.stop();
}

// ---- tokens over TLS: the exporters send both the CA and the header ----
{
  const tok = (tenant, scopes) => spawnSync(bin, ['token', tenant, scopes]).stdout.toString().split('\n');
  const [wTok, wLine] = tok('acme', 'write');
  const [rTok, rLine] = tok('acme', 'read');
  const ga = await freePort();
  const sa = await start({
    tag: 'tls-auth',
    config: {
      'tls.cert_file': `"${f('live.crt')}"`, 'tls.key_file': `"${f('live.key')}"`,
      'ingestion.grpc.port': ga, 'storage.buffer.flush_interval_ms': 200,
      'auth.tokens': JSON.stringify([wLine, rLine]),
    },
  });
  const q = (sql, t) => query(sa.ports.control, sql, t ? ['-H', `Authorization: Bearer ${t}`] : []);
  const noTok = postSpan(sa.ports.otlp, 'tls-auth-none');
  is(noTok.code, 401, 'auth over TLS: an OTLP/HTTP request without a token is 401');
  for (const [enc, port] of [['grpc', ga], ['proto', sa.ports.otlp]]) {
    const marker = `tlsauth-${enc}-${Date.now()}`;
    const r = otelSend(`https://127.0.0.1:${port}`, 'traces', enc, ['--count', '3', '--marker', marker, '--ca', CA, '--header', `Authorization: Bearer ${wTok}`]);
    ok(r.exit === 0 && r.succeeded >= 1, `auth over TLS: the ${enc} exporter with the CA and a write token succeeds`, r);
    const back = await until(() => (q(`select count(*) n from spans where name like '${marker}-span-%'`, rTok).json?.result?.rows?.[0]?.n) === 3);
    ok(back, `and its 3 spans come back to acme's read token (${enc})`);
    const bad = otelSend(`https://127.0.0.1:${port}`, 'traces', enc, ['--count', '1', '--ca', CA, '--header', `Authorization: Bearer ${rTok}`, '--timeout-ms', '3000']);
    ok(bad.exit !== 0 || bad.failed >= 1, `a read token cannot write over TLS (${enc})`, bad);
  }
  is(q('select 1').code, 401, 'a query over TLS without a token is 401');
  await sa.stop();
}

// ---- bad files stop the start ----
{
  const d = tmpdir('tls-bad');
  const ports = { otlp: await freePort(), http: await freePort(), control: await freePort() };
  const cases = [
    [{ 'tls.cert_file': `"${f('missing.crt')}"`, 'tls.key_file': `"${f('server1.key')}"` }, /tls\.cert_file \S*missing\.crt: cannot read: No such file/, 'a missing certificate'],
    [{ 'tls.cert_file': `"${f('server1.crt')}"`, 'tls.key_file': `"${f('server2.key')}"` }, /tls\.key_file \S*server2\.key: does not match the certificate/, 'a key that does not match'],
    [{ 'tls.cert_file': `"${f('server1.crt')}"` }, /tls\.cert_file: needs tls\.key_file/, 'a certificate without a key'],
    [{ 'tls.cert_file': `"${f('server1.crt')}"`, 'tls.key_file': `"${f('server1.key')}"`, 'control.tls.client_ca_file': `"${f('nope.pem')}"` }, /control\.tls\.client_ca_file \S*nope\.pem: cannot read/, 'a listener\'s missing client CA'],
  ];
  for (const [cfg, re, what] of cases) {
    const conf = writeConfig(d, ports, cfg);
    const t0 = Date.now();
    const r = spawnSync(bin, ['-c', conf], { timeout: 10000 });
    ok(r.status !== 0 && r.status !== null && Date.now() - t0 < 5000, `${what}: openwit exits non-zero at once (${r.status})`);
    like(r.stderr.toString(), re, `${what}: the message names the key and the file`);
    like(r.stderr.toString(), /^(?![^]*(Sanitizer|runtime error))/, `${what}: nothing leaked on the way out`);
    const t = spawnSync(bin, ['-t', '-c', conf], { timeout: 10000 });
    ok(t.status !== 0, `${what}: openwit -t finds it too`);
  }
}

done();
})();

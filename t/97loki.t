#!/usr/bin/env node
// The Loki API (modules/loki) as Grafana's Loki data source calls it:
// logs sent by the OpenTelemetry JS SDK and as OTLP/JSON; query_range and
// query with the parameters Grafana sends (nanosecond times, step as
// "15000ms", limit, direction), LogQL as people write it (stream
// selectors, line filters, json, logfmt, label filters, line_format,
// count_over_time, rate and bytes_over_time with sum by: Explore's log
// volume), labels, label values, series, index/stats, and tail as a
// websocket (the ws client from npm) that gets a record sent after it
// connected. Answers are checked against Loki's documented JSON and against
// SQL over the same logs (/api/search); bad LogQL and hostile parameters
// get Loki's 400 and message; tenants and auth as for /api/search; the
// provisioned Loki data source answers Grafana's health check.
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
(async () => {
const h = await import('./lib/harness.mjs');
const { start, otelSend, ok, is, like, note, done, bin, root, sleep } = h;
const { createRequire } = await import('node:module');
const req = createRequire(path.join(root, 't/otel/package.json'));
const WebSocket = req('ws');

const s = await start({ tag: 'loki' });
const tenant = 'shop';
const H = { 'X-Scope-OrgID': tenant };
async function get(p, headers = {}) {
  const r = await fetch(s.control + p, { headers: { ...H, ...headers } });
  const text = await r.text();
  let json;
  try { json = JSON.parse(text); } catch {}
  return { status: r.status, type: r.headers.get('content-type') || '', text, json };
}
async function sqlRows(q, t = tenant) {
  const r = await fetch(s.control + '/api/search', { method: 'POST', headers: { 'X-Scope-OrgID': t, 'Content-Type': 'application/json' }, body: JSON.stringify({ query: q, limit: 100000 }) });
  const j = await r.json();
  if (j.status !== 'success') throw new Error(`SQL failed: ${q}: ${j.error}`);
  return j.result.rows;
}

// ---- data ----
const run = `${process.pid}-${Date.now().toString(36)}`;
const marker = `lk-${run}`;
const sdk = otelSend(s.otlp, 'logs', 'proto', ['--count', '8', '--marker', marker, '--tenant', tenant]);
is(sdk.exit, 0, 'the OTel JS SDK exported its log records');

const nowMs = Date.now();
const now = BigInt(nowMs) * 1000000n;
const logs = [];
const levels = ['INFO', 'WARN', 'ERROR', 'DEBUG'];
for (let i = 0; i < 40; i++) {
  const t = now - BigInt(40 - i) * 2000000000n; // every 2 s, over the last 80 s
  const svc = i % 2 ? 'checkout' : 'cart';
  const body = i % 4 === 0 ? JSON.stringify({ msg: `order ${i} paid`, status: i % 8 === 0 ? 500 : 200, user: { id: i } })
    : i % 4 === 1 ? `level=${levels[i % 4].toLowerCase()} msg="cart ${i} updated" took=${i}ms`
    : `plain line ${i} Payment ${i % 3 ? 'ok' : 'FAILED'}`;
  logs.push({ t, svc, body, sev: levels[i % 4], host: `h${i % 3}` });
}
const resourceLogs = logs.map((l, i) => ({
  resource: { attributes: [{ key: 'service.name', value: { stringValue: l.svc } }, { key: 'host.name', value: { stringValue: l.host } }] },
  scopeLogs: [{ logRecords: [{ timeUnixNano: `${l.t}`, severityText: l.sev, severityNumber: [9, 13, 17, 5][i % 4], body: { stringValue: l.body },
    traceId: i === 4 ? '0af7651916cd43dd8448eb211c80319c' : undefined, spanId: i === 4 ? 'b7ad6b7169203331' : undefined }] }],
}));
const post = await fetch(`${s.otlp}/v1/logs`, { method: 'POST', headers: { ...H, 'Content-Type': 'application/json' }, body: JSON.stringify({ resourceLogs }) });
is(post.status, 200, 'the OTLP/JSON log records were taken');

const endNs = now + 1000000000n, startNs = now - 3600n * 1000000000n;
// Grafana's backend: query, direction, limit, start, end (ns), step in ms
function range(query, { limit = 1000, direction = 'backward', step = '15000ms', st = startNs, en = endNs } = {}) {
  const qs = new URLSearchParams({ direction, end: `${en}`, limit: `${limit}`, query, start: `${st}`, step });
  return get(`/loki/api/v1/query_range?${qs}`);
}
const entries = (r) => (r.json.data.result || []).flatMap((st) => st.values.map(([t, line]) => ({ t, line, labels: st.stream })));
const where = `time >= ${startNs} AND time < ${endNs}`;

// ---- log queries ----
const all = await range('{service_name=~"cart|checkout"}');
is(all.status, 200, 'query_range of a log query: 200');
ok(all.json.status === 'success' && all.json.data.resultType === 'streams', 'the answer is Loki\'s: status success, resultType streams');
const sqlAll = await sqlRows(`SELECT time, body FROM logs WHERE service_name IN ('cart', 'checkout') AND ${where} ORDER BY time DESC`);
const got = entries(all).sort((a, b) => (BigInt(b.t) > BigInt(a.t) ? 1 : -1));
is(got.map((e) => e.line), sqlAll.map((r) => r.body), 'every line SQL finds, as the body');
is(got.map((e) => e.t), sqlAll.map((r) => String(r.time)), 'with its time in nanoseconds, as a string');
const st0 = all.json.data.result.find((x) => x.stream.service_name === 'checkout' && x.stream.severity_text === 'WARN');
is(st0 && Object.keys(st0.stream).sort(), ['host_name', 'level', 'service_name', 'severity_text'], 'stream labels: service_name, severity_text, level and host_name (a resource attribute, dots as _)');
is(st0 && st0.stream.level, 'warn', 'level: the severity text in lower case');
const traced = got.find((e) => e.labels.trace_id);
is(traced && [traced.labels.trace_id, traced.labels.span_id, traced.line], ['0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331', logs[4].body], 'trace_id and span_id of a record, for the link to its trace');
for (const st of all.json.data.result) {
  const ts = st.values.map((v) => BigInt(v[0]));
  if (!ts.every((t, i) => i === 0 || ts[i - 1] >= t)) { ok(false, 'backward: each stream newest first'); break; }
}
const lim = await range('{service_name="cart"}', { limit: 5 });
is(entries(lim).length, 5, 'limit=5: 5 entries');
is(entries(lim).map((e) => e.t).sort().reverse(), (await sqlRows(`SELECT time FROM logs WHERE service_name = 'cart' AND ${where} ORDER BY time DESC LIMIT 5`)).map((r) => String(r.time)), 'backward: the 5 newest');
const fwd = await range('{service_name="cart"}', { limit: 5, direction: 'forward' });
is(entries(fwd).map((e) => e.t).sort(), (await sqlRows(`SELECT time FROM logs WHERE service_name = 'cart' AND ${where} ORDER BY time ASC LIMIT 5`)).map((r) => String(r.time)), 'forward: the 5 oldest');

const sdkR = await range(`{service_name="otel-js-test"} |= "${marker}"`);
is(entries(sdkR).map((e) => e.line).sort(), (await sqlRows(`SELECT body FROM logs WHERE instr(body, '${marker}') > 0`)).map((r) => r.body).sort(), 'the SDK\'s records by a line filter');
ok(entries(sdkR).length === 8, 'all 8 of them');

const lineCases = [
  ['{service_name=~".+"} |= "Payment"', "instr(body, 'Payment') > 0"],
  ['{service_name="checkout"} != "Payment"', "service_name = 'checkout' AND instr(body, 'Payment') = 0"],
  ['{service_name=~"c.*"} |~ "Payment (ok|FAILED)" != "ok"', "service_name LIKE 'c%' AND (instr(body, 'Payment ok') > 0 OR instr(body, 'Payment FAILED') > 0) AND instr(body, 'ok') = 0"],
  ['{service_name="cart", host_name="h1"} !~ "^plain"', "service_name = 'cart' AND resource_attributes->>'host.name' = 'h1' AND body NOT LIKE 'plain%'"],
  ['{level="error"}', "lower(severity_text) = 'error'"],
  ['{service_name!="cart", severity_text=~"WARN|INFO"}', "service_name != 'cart' AND severity_text IN ('WARN', 'INFO')"],
  ['{service_name="cart"} |= "payment"', "service_name = 'cart' AND instr(body, 'payment') > 0"],
];
for (const [q, w] of lineCases) {
  const r = await range(q);
  const want = (await sqlRows(`SELECT body FROM logs WHERE ${w} AND ${where}`)).map((x) => x.body).sort();
  is(r.status, 200, `${q}: 200`);
  is(entries(r).map((e) => e.line).sort(), want, `${q}: the lines SQL finds`);
}

const js = await range('{service_name="cart"} | json | status >= 500');
const jsWant = logs.filter((l) => l.svc === 'cart' && l.body.startsWith('{') && JSON.parse(l.body).status >= 500);
is(entries(js).map((e) => e.line).sort(), jsWant.map((l) => l.body).sort(), '| json | status >= 500: the JSON lines with status 500');
const je = entries(js)[0];
ok(je && je.labels.msg === JSON.parse(je.line).msg && je.labels.user_id === String(JSON.parse(je.line).user.id) && je.labels.status === '500', '| json: fields as labels, nested keys joined by _', je);
const jerr = await range('{service_name="checkout"} | json | __error__ != ""');
ok(entries(jerr).length > 0 && entries(jerr).every((e) => e.labels.__error__ === 'JSONParserErr' && !e.line.startsWith('{')), '| json on a line that is not JSON: __error__=JSONParserErr');
const noerr = await range('{service_name="cart"} | json | __error__="" | user_id > 20');
is(entries(noerr).map((e) => e.line).sort(), logs.filter((l) => l.svc === 'cart' && l.body.startsWith('{') && JSON.parse(l.body).user.id > 20).map((l) => l.body).sort(), '| json | __error__="" | user_id > 20');
const lf = await range('{service_name="checkout"} | logfmt | took > 20ms and msg=~"cart.*" | line_format "{{.msg}} took {{.took}} on {{.host_name}}"');
const lfWant = logs.filter((l) => l.svc === 'checkout' && l.body.startsWith('level=') && Number(/took=(\d+)/.exec(l.body)[1]) > 20);
is(entries(lf).map((e) => e.line).sort(), lfWant.map((l) => `${/msg="([^"]*)"/.exec(l.body)[1]} took ${/took=(\S+)/.exec(l.body)[1]} on ${l.host}`).sort(), '| logfmt | took > 20ms (a duration) and msg=~ | line_format');
ok(entries(lf).every((e) => e.labels.level_extracted), '| logfmt: a key that is already a label gets _extracted');
const orf = await range('{service_name="checkout"} | logfmt | took < 10ms or took > 35ms');
is(entries(orf).length, lfWant.length === 0 ? 0 : logs.filter((l) => l.svc === 'checkout' && l.body.startsWith('level=') && (Number(/took=(\d+)/.exec(l.body)[1]) < 10 || Number(/took=(\d+)/.exec(l.body)[1]) > 35)).length, 'label filters with or');

// POST, as Loki takes it (a form)
const pf = await fetch(s.control + '/loki/api/v1/query_range', { method: 'POST', headers: { ...H, 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ query: '{service_name="cart"}', limit: '3', start: `${startNs}`, end: `${endNs}` }) });
const pfj = await pf.json();
is(pfj.data.result.flatMap((x) => x.values).length, 3, 'POST query_range with a form body');

// ---- metric queries: Explore's log volume and friends ----
const vol = await range('sum by (level) (count_over_time({service_name=~"cart|checkout"} | drop __error__ [1m]))', { step: '60000ms' });
is(vol.json.data.resultType, 'matrix', 'log volume: a matrix');
const volSum = {};
for (const x of vol.json.data.result) volSum[x.metric.level] = x.values.reduce((a, [, v]) => a + Number(v), 0);
const volWant = {};
for (const r of await sqlRows(`SELECT lower(severity_text) l, count(*) n FROM logs WHERE service_name IN ('cart', 'checkout') AND time > ${startNs - 60000000000n} AND time <= ${startNs + 60n * 60000000000n + 1000000000n} GROUP BY 1`)) volWant[r.l] = r.n;
const sortKeys = (o) => Object.fromEntries(Object.entries(o).sort());
is(sortKeys(volSum), sortKeys(volWant), 'log volume: sum by (level) of count_over_time, windows of a step, add up to SQL\'s counts');
ok(vol.json.data.result.every((x) => Object.keys(x.metric).join() === 'level'), 'sum by (level): series labelled by level alone');
ok(vol.json.data.result.every((x) => x.values.every(([t, v], i, a) => typeof t === 'number' && typeof v === 'string' && (i === 0 || t - a[i - 1][0] >= 60))), 'points: [seconds, "value"], a step apart');
const cnt = await range('count_over_time({service_name="cart"} |= "Payment" [10m])', { step: '15000ms', st: now - 600000000000n, en: now });
const last = cnt.json.data.result.reduce((a, x) => a + Number(x.values[x.values.length - 1][1]), 0);
is(last, (await sqlRows(`SELECT count(*) n FROM logs WHERE service_name = 'cart' AND instr(body, 'Payment') > 0 AND time > ${now - 600000000000n} AND time <= ${now}`))[0].n, 'count_over_time with a line filter: the last point counts the 10 minutes before it');
const rate = await range('sum(rate({service_name="checkout"}[5m]))', { step: '60s', st: now, en: now });
is(Number(rate.json.data.result[0].values[0][1]), (await sqlRows(`SELECT count(*) n FROM logs WHERE service_name = 'checkout' AND time > ${now - 300000000000n} AND time <= ${now}`))[0].n / 300, 'rate: per second over the range');
const bytes = await range('sum by (service_name) (bytes_over_time({service_name=~"cart|checkout"}[5m]))', { step: '60s', st: now, en: now });
const bWant = {};
for (const r of await sqlRows(`SELECT service_name, sum(length(CAST(body AS BLOB))) b FROM logs WHERE service_name IN ('cart', 'checkout') AND time > ${now - 300000000000n} AND time <= ${now} GROUP BY 1`)) bWant[r.service_name] = String(r.b);
const bGot = {};
for (const x of bytes.json.data.result) bGot[x.metric.service_name] = x.values[0][1];
is(bGot, bWant, 'bytes_over_time by service: the bytes of the lines');
const jm = await range('sum by (status) (count_over_time({service_name="cart"} | json | __error__="" [5m]))', { step: '60s', st: now, en: now });
is(Object.fromEntries(jm.json.data.result.map((x) => [x.metric.status, x.values[0][1]])), { 200: String(logs.filter((l) => l.svc === 'cart' && l.body.startsWith('{') && JSON.parse(l.body).status === 200 && l.t > now - 300000000000n).length), 500: String(logs.filter((l) => l.svc === 'cart' && l.body.startsWith('{') && JSON.parse(l.body).status === 500 && l.t > now - 300000000000n).length) }, 'sum by a label | json extracted');
const inst = await get(`/loki/api/v1/query?${new URLSearchParams({ query: 'sum by (service_name) (count_over_time({service_name=~".+"}[5m]))', time: `${now}` })}`);
ok(inst.json.data.resultType === 'vector' && inst.json.data.result.every((x) => Array.isArray(x.value) && x.value.length === 2), 'query (instant) of a metric: a vector');

// Grafana's health check, exactly: the instant query vector(1)+vector(1) at 4 s
const hc = await get('/loki/api/v1/query?direction=backward&query=vector%281%29%2Bvector%281%29&time=4000000000');
is(hc.json, { status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [4, '2'] }], stats: {} } }, 'Grafana\'s health check: vector(1)+vector(1) is 2');

// ---- labels, values, series, stats ----
const qs = `start=${startNs}&end=${endNs}`;
const labels = await get(`/loki/api/v1/labels?${qs}`);
is(labels.json, { status: 'success', data: ['host_name', 'level', 'service_name', 'severity_text'] }, 'labels');
const sv = await get(`/loki/api/v1/label/service_name/values?${qs}`);
is(sv.json.data, (await sqlRows(`SELECT DISTINCT service_name FROM logs WHERE ${where} ORDER BY 1`)).map((r) => r.service_name), 'label/service_name/values');
const lv = await get(`/loki/api/v1/label/level/values?${qs}&query=${encodeURIComponent('{service_name="cart"}')}`);
is(lv.json.data, (await sqlRows(`SELECT DISTINCT lower(severity_text) l FROM logs WHERE service_name = 'cart' AND ${where} ORDER BY 1`)).map((r) => r.l), 'label/level/values of a selector');
const series = await get(`/loki/api/v1/series?${qs}&match[]=${encodeURIComponent('{service_name="checkout"}')}`);
is(series.json.data.length, (await sqlRows(`SELECT DISTINCT severity_text, resource_attributes->>'host.name' FROM logs WHERE service_name = 'checkout' AND ${where}`)).length, 'series: one label set a stream');
ok(series.json.data.every((x) => x.service_name === 'checkout'), 'series: of the selector');
const stats = await get(`/loki/api/v1/index/stats?${qs}&query=${encodeURIComponent('{service_name="cart"}')}`);
const sw = (await sqlRows(`SELECT count(*) n, sum(length(CAST(body AS BLOB))) b FROM logs WHERE service_name = 'cart' AND ${where}`))[0];
ok(stats.json && stats.json.entries === sw.n && stats.json.bytes === sw.b && stats.json.streams > 0 && 'chunks' in stats.json, 'index/stats: streams, chunks, entries and bytes', stats.text);

// ---- errors: Loki's 400 and message ----
for (const q of ['{service_name="cart"', '{service_name=~".*"}', '{}', 'service_name="cart"', '{service_name="cart"} |~ "("', '{service_name="cart"} | unwrap x', 'sum(count_over_time({service_name="cart"}))', 'count_over_time({service_name="cart"}[5 parsecs])', '{service_name="cart"} | json | status > "x"', 'rate({a="b"}[1m]) +', '{a="b"} | line_format "{{ .a | upper }}"']) {
  const r = await range(q);
  ok(r.status === 400 && /^parse error/.test(r.text) && /text\/plain/.test(r.type), `bad LogQL ${q}: 400, "parse error ..."`, r.text);
}
const ilog = await get(`/loki/api/v1/query?query=${encodeURIComponent('{service_name="cart"}')}`);
is(ilog.status, 400, 'a log query as an instant query: 400, as Loki 3');
for (const [p, what] of [[{ limit: '1000000' }, 'a limit over loki.max_entries_limit'], [{ limit: '-3' }, 'a negative limit'], [{ step: '1ms' }, 'over 11,000 points'], [{ direction: 'sideways' }, 'a bad direction'], [{ start: 'yesterday' }, 'a bad start'], [{ start: `${endNs}`, end: `${startNs}` }, 'end before start'], [{ step: '-5s' }, 'a negative step']]) {
  const q = new URLSearchParams({ query: 'count_over_time({service_name="cart"}[1m])', start: `${startNs}`, end: `${endNs}`, step: '15s', ...p });
  const r = await get(`/loki/api/v1/query_range?${q}`);
  ok(r.status === 400 && r.text.length > 5, `${what}: 400 with a message`, r.text);
}
const wide = await get(`/loki/api/v1/query_range?${new URLSearchParams({ query: 'count_over_time({service_name="cart"}[1d])', start: '0', end: `${endNs}`, step: '365d' })}`);
is(wide.status, 200, 'a range from 1970 with a step of a year: 200');
const deep = await range(`sum(${'('.repeat(200)}count_over_time({a="b"}[1m])${')'.repeat(200)})`);
is(deep.status, 400, '200 nested parentheses: 400, no crash');
const nf = await get('/loki/api/v1/nothing');
is(nf.status, 404, 'an unknown path: 404');

// ---- tail ----
const tailed = await new Promise((resolve) => {
  const ws = new WebSocket(`${s.control.replace('http', 'ws')}/loki/api/v1/tail?query=${encodeURIComponent('{service_name="tailer"} |= "tail-me"')}&limit=10`, { headers: H });
  const got = [];
  const timer = setTimeout(() => { ws.terminate(); resolve({ got, timeout: true }); }, 8000);
  ws.on('open', async () => {
    await sleep(300);
    const t = BigInt(Date.now()) * 1000000n;
    const recs = ['skip this one', `tail-me ${run}`].map((b, i) => ({ timeUnixNano: `${t + BigInt(i)}`, body: { stringValue: b } }));
    await fetch(`${s.otlp}/v1/logs`, { method: 'POST', headers: { ...H, 'Content-Type': 'application/json' }, body: JSON.stringify({ resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'tailer' } }] }, scopeLogs: [{ logRecords: recs }] }] }) });
  });
  ws.on('message', (m) => { got.push(JSON.parse(m.toString())); clearTimeout(timer); ws.close(1000); });
  ws.on('close', (code) => resolve({ got, code }));
  ws.on('error', (e) => { clearTimeout(timer); resolve({ got, error: String(e) }); });
});
is(tailed.got.length, 1, 'tail: a websocket frame arrives for a record sent after connecting', tailed);
is(tailed.got[0] && tailed.got[0].streams.flatMap((x) => x.values.map((v) => v[1])), [`tail-me ${run}`], 'tail: the frame is {"streams": [...]} with the matching line only');
is(tailed.code, 1000, 'tail: a close is answered with a close');
const notws = await get(`/loki/api/v1/tail?query=${encodeURIComponent('{a="b"}')}`);
is(notws.status, 400, 'tail without the websocket upgrade: 400');
const badTail = await new Promise((resolve) => {
  const ws = new WebSocket(`${s.control.replace('http', 'ws')}/loki/api/v1/tail?query=${encodeURIComponent('{a=~".*"}')}`, { headers: H });
  ws.on('unexpected-response', (rq, res) => resolve(res.statusCode));
  ws.on('open', () => { ws.terminate(); resolve('opened'); });
  ws.on('error', () => resolve('error'));
});
is(badTail, 400, 'tail of bad LogQL: 400 before the upgrade');
const ws2 = await new Promise((resolve) => {
  const ws = new WebSocket(`${s.control.replace('http', 'ws')}/loki/api/v1/tail?query=${encodeURIComponent('{service_name="cart"}')}&start=${startNs}&limit=3`, { headers: H });
  ws.on('message', (m) => { ws.terminate(); resolve(JSON.parse(m.toString())); });
  ws.on('error', (e) => resolve({ error: String(e) }));
  setTimeout(() => resolve({ timeout: true }), 5000);
});
is(ws2.streams && ws2.streams.flatMap((x) => x.values).length, 3, 'tail from start: the first frame holds the oldest entries, limit of them');
await sleep(200);
const alive = await get('/loki/api/v1/labels');
is(alive.status, 200, 'the server goes on after a client dropped its tail');

// entries that share a nanosecond: a limit that cuts a poll among them
// loses none (the next poll reads that nanosecond again, without the ones
// sent)
const tailFrames = (url, headers, until, ms) => new Promise((resolve) => {
  const ws = new WebSocket(url, { headers });
  const got = [];
  const timer = setTimeout(() => { ws.terminate(); resolve({ got, timeout: true }); }, ms);
  ws.on('message', (m) => { got.push({ when: Date.now(), frame: JSON.parse(m.toString()) }); if (until(got)) { clearTimeout(timer); ws.terminate(); resolve({ got }); } });
  ws.on('close', (code, reason) => { clearTimeout(timer); resolve({ got, code, reason: reason.toString() }); });
  ws.on('error', (e) => { clearTimeout(timer); resolve({ got, error: String(e) }); });
});
const lines = (got) => got.flatMap((g) => g.frame.streams.flatMap((x) => x.values.map((v) => v[1])));
{
  const t = BigInt(Date.now() - 5000) * 1000000n;
  const recs = Array.from({ length: 10 }, (_, i) => ({ timeUnixNano: `${t}`, body: { stringValue: `same-ns ${i}` } }));
  await fetch(`${s.otlp}/v1/logs`, { method: 'POST', headers: { ...H, 'Content-Type': 'application/json' }, body: JSON.stringify({ resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'samens' } }] }, scopeLogs: [{ logRecords: recs }] }] }) });
  const r = await tailFrames(`${s.control.replace('http', 'ws')}/loki/api/v1/tail?query=${encodeURIComponent('{service_name="samens"}')}&start=${t - 1n}&limit=3`, H, (got) => lines(got).length >= 10, 7000);
  is(lines(r.got).sort(), recs.map((x) => x.body.stringValue), 'tail: 10 entries of one nanosecond under limit 3: every one, once, over several frames');
  ok(r.got.length >= 4 && r.got.every((g) => lines([g]).length <= 3), 'tail: ... at most limit a frame', r.got.map((g) => lines([g]).length));
}
// delay_for: a poll reads entries older than that many seconds only
{
  const url = `${s.control.replace('http', 'ws')}/loki/api/v1/tail?query=${encodeURIComponent('{service_name="delayed"}')}&delay_for=2`;
  const p = tailFrames(url, H, (got) => got.length > 0, 8000);
  await sleep(300);
  const sentAt = Date.now();
  await fetch(`${s.otlp}/v1/logs`, { method: 'POST', headers: { ...H, 'Content-Type': 'application/json' }, body: JSON.stringify({ resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'delayed' } }] }, scopeLogs: [{ logRecords: [{ timeUnixNano: `${BigInt(sentAt) * 1000000n}`, body: { stringValue: 'late-ok' } }] }] }] }) });
  const r = await p;
  is(lines(r.got), ['late-ok'], 'tail delay_for=2: the entry arrives');
  const lag = r.got.length ? r.got[0].when - sentAt : -1;
  ok(lag >= 1900, 'tail delay_for=2: ... not before 2 s after its time', lag);
  for (const d of ['6', 'x']) {
    const bad = h.curl(`${s.control}/loki/api/v1/tail?query=${encodeURIComponent('{service_name="delayed"}')}&delay_for=${d}`, ['-m', '5', '-H', `X-Scope-OrgID: ${tenant}`, '-H', 'Connection: Upgrade', '-H', 'Upgrade: websocket', '-H', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', '-H', 'Sec-WebSocket-Version: 13']);
    is(bad.code, 400, `tail delay_for=${d}: 400`);
  }
}

// a tail whose polls cannot run (429: a query holds query.max_concurrent 1)
// is not retried forever: after 5 in a row it closes with 1011 and why
{
  const sb = await start({ tag: 'loki-busy', config: { 'query.max_concurrent': 1, 'query.timeout_ms': 15000 } });
  const slow = fetch(`${sb.control}/api/search`, { method: 'POST', headers: { ...H, 'Content-Type': 'application/json' }, body: JSON.stringify({ query: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) FROM c' }) }).catch(() => null);
  await sleep(300);
  const r = await tailFrames(`${sb.control.replace('http', 'ws')}/loki/api/v1/tail?query=${encodeURIComponent('{service_name="x"}')}`, H, () => false, 10000);
  ok(r.code === 1011 && /too many|max_concurrent/.test(r.reason), 'tail: polls refused 429 five times in a row: closed with 1011 and the reason', r);
  await sb.stop();
  await slow;
}

// a tenant's tails count against query.max_concurrent_per_tenant (a tenant
// cannot hold every tail slot); a ping arrives every 30 s (not waited for)
{
  const sc = await start({ tag: 'loki-tailcap', config: { 'query.max_concurrent_per_tenant': 1 } });
  const open = (t) => new Promise((resolve) => {
    const ws = new WebSocket(`${sc.control.replace('http', 'ws')}/loki/api/v1/tail?query=${encodeURIComponent('{service_name="x"}')}`, { headers: { 'X-Scope-OrgID': t } });
    ws.on('unexpected-response', (rq, res) => resolve({ code: res.statusCode, retry: res.headers['retry-after'] }));
    ws.on('open', () => resolve({ code: 101, ws }));
    ws.on('error', (e) => resolve({ code: String(e) }));
  });
  const a = await open('ta');
  const b = await open('ta');
  const c = await open('tb');
  is([a.code, b.code, c.code], [101, 429, 101], 'tails: a second of one tenant is 429 under query.max_concurrent_per_tenant 1; another tenant\'s opens');
  is(b.retry, '1', 'tails: ... the 429 with Retry-After (ow_http_reply\'s)');
  for (const x of [a, c]) if (x.ws) x.ws.terminate();
  await sleep(200);
  const d = await open('ta');
  is(d.code, 101, 'tails: once it ends, the tenant tails again');
  if (d.ws) d.ws.terminate();
  await sc.stop();
}

// ---- tenants ----
const other = await range('{service_name=~".+"}', {});
const otherT = await get(`/loki/api/v1/query_range?${new URLSearchParams({ query: '{service_name=~".+"}', start: `${startNs}`, end: `${endNs}` })}`, { 'X-Scope-OrgID': 'other' });
ok(entries(other).length > 0 && otherT.json.data.result.length === 0, 'tenants: another tenant sees no log line');

// ---- the provisioned Loki data source answers Grafana's health check ----
const yaml = fs.readFileSync(path.join(root, 'conf/grafana/datasources.yaml'), 'utf8');
const lokiDs = yaml.split(/\n\s*- name:/).slice(1).map((b) => ({ type: (b.match(/\n\s*type:\s*(\S+)/) || [])[1], url: (b.match(/\n\s*url:\s*(\S+)/) || [])[1], uid: (b.match(/\n\s*uid:\s*(\S+)/) || [])[1] })).find((x) => x.type === 'loki');
ok(lokiDs && lokiDs.uid === 'openwit-loki', 'datasources.yaml provisions openwit-loki');
const dsr = await (await fetch(lokiDs.url.replace('http://127.0.0.1:8083', s.control) + '/loki/api/v1/query?direction=backward&query=vector%281%29%2Bvector%281%29&time=4000000000', { headers: H })).json();
is(dsr.data.result[0].value[1], '2', 'the provisioned Loki URL answers the health check with 2');
ok(/derivedFields:[\s\S]*matcherRegex: trace_id[\s\S]*datasourceUid: openwit-tempo/.test(yaml), 'Loki links a line\'s trace_id to Tempo (derivedFields)');
ok(/tracesToLogsV2:[\s\S]*datasourceUid: openwit-loki/.test(yaml), 'Tempo links spans to their logs in Loki (tracesToLogsV2)');

// ---- pages: a selective pipeline reads past query.max_rows, a page at a time ----
const sp = await start({ tag: 'loki-pages', config: { 'query.max_rows': 50 } });
const many = Array.from({ length: 300 }, (_, i) => ({ timeUnixNano: `${now - BigInt(300 - i) * 1000000n}`, body: { stringValue: JSON.stringify({ n: i, needle: i === 3 ? 'yes' : 'no' }) } }));
const pm = await fetch(`${sp.otlp}/v1/logs`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'pages' } }] }, scopeLogs: [{ logRecords: many }] }] }) });
is(pm.status, 200, 'pages: 300 records taken');
const pr = await fetch(`${sp.control}/loki/api/v1/query_range?${new URLSearchParams({ query: '{service_name="pages"} | json | needle="yes"', start: `${startNs}`, end: `${endNs}`, limit: '10' })}`);
const pj = await pr.json().catch(() => ({}));
is(pj.data && pj.data.result.flatMap((x) => x.values.map((v) => JSON.parse(v[1]).n)), [3], 'pages: the one match among 300 rows, with query.max_rows 50');
const pr2 = await fetch(`${sp.control}/loki/api/v1/query_range?${new URLSearchParams({ query: 'count_over_time({service_name="pages"} | json [1h])', start: `${now}`, end: `${now}`, step: '60s' })}`);
like(await pr2.text(), /result exceeds 50 rows/, 'pages: a metric query over more rows than query.max_rows says so (400)');

// ---- memory: the series a metric query builds in C count against
// query.max_memory_bytes (the SQL alone fits: a few rows a service) ----
{
  const sm = await start({ tag: 'loki-mem', config: { 'query.max_memory_bytes': 1048576 } });
  const svcs = Array.from({ length: 300 }, (_, i) => ({ resource: { attributes: [{ key: 'service.name', value: { stringValue: `mem${i}` } }] }, scopeLogs: [{ logRecords: [{ timeUnixNano: `${now - 60000000000n}`, body: { stringValue: 'hello' } }] }] }));
  const mp = await fetch(`${sm.otlp}/v1/logs`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ resourceLogs: svcs }) });
  is(mp.status, 200, 'memory: a record of each of 300 services taken');
  const sec = BigInt(Math.floor(Date.now() / 1000));
  const mq = (q) => fetch(`${sm.control}/loki/api/v1/query_range?${new URLSearchParams({ query: q, start: `${(sec - 3600n) * 1000000000n}`, end: `${sec * 1000000000n}`, step: '1' })}`);
  const big = await mq('sum by (service_name) (count_over_time({service_name=~"mem.*"}[1m]))');
  const bigText = await big.text();
  ok(big.status === 400 && /^query exceeded its memory budget of 1 MiB/.test(bigText), 'memory: 300 series of 3601 steps under a 1 MiB budget: 400, the budget\'s message (as /api/search)', `${big.status} ${bigText.slice(0, 200)}`);
  const bare = await mq('count_over_time({service_name=~"mem.*"}[1m])');
  is(bare.status, 400, 'memory: ... without the sum too');
  const one = await mq('count_over_time({service_name="mem7"}[1m])');
  const oj = await one.json().catch(() => ({}));
  ok(one.status === 200 && oj.data.result.length === 1 && oj.data.result[0].values.length === 60, 'memory: one service\'s series fits: 200, 60 steps of the minute', oj);
  await sm.stop();
}

// ---- auth ----
const tok = (t, scopes) => { const r = spawnSync(bin, ['token', t, scopes]); const [token, line] = r.stdout.toString().split('\n'); return { token, line }; };
const rd = tok('shop', 'read'), wr = tok('shop', 'write');
const sa = await start({ tag: 'loki-auth', config: { 'auth.tokens': JSON.stringify([rd.line, wr.line]) } });
const p2 = await fetch(`${sa.otlp}/v1/logs`, { method: 'POST', headers: { Authorization: `Bearer ${wr.token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ resourceLogs }) });
is(p2.status, 200, 'auth: logs written with a write token');
const lq = `/loki/api/v1/query_range?${new URLSearchParams({ query: '{service_name="cart"}', start: `${startNs}`, end: `${endNs}` })}`;
is((await fetch(sa.control + lq)).status, 401, 'auth: query_range without a token: 401');
is((await fetch(sa.control + lq, { headers: { Authorization: `Bearer ${wr.token}` } })).status, 403, 'auth: with a write token: 403');
const okr = await (await fetch(sa.control + lq, { headers: { Authorization: `Bearer ${rd.token}` } })).json();
is(okr.data.result.flatMap((x) => x.values).length, 20, 'auth: a read token reads its tenant\'s lines');
const tailAuth = await new Promise((resolve) => {
  const ws = new WebSocket(`${sa.control.replace('http', 'ws')}/loki/api/v1/tail?query=${encodeURIComponent('{service_name="cart"}')}`);
  ws.on('unexpected-response', (rq, res) => resolve(res.statusCode));
  ws.on('open', () => { ws.terminate(); resolve('opened'); });
  ws.on('error', () => resolve('error'));
});
is(tailAuth, 401, 'auth: tail without a token: 401 before the upgrade');

done();
})();

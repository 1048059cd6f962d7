#!/usr/bin/env node
// The Tempo and Jaeger APIs (modules/traceapi) as Grafana's data sources
// and Jaeger's UI call them: spans sent by the OpenTelemetry JS SDK and as
// OTLP/JSON; trace by id in protobuf (decoded by protobufjs against the
// OTLP protos of third_party/) and JSON, v1 and v2; TraceQL search as
// Grafana's search builder writes it, tags and tag values; Jaeger's
// services, operations, search and trace in its JSON model and envelope.
// Counts and content are checked against SQL over the same data
// (/api/search); bad TraceQL, bad ids, huge limits and ranges get the
// APIs' own errors; auth and tenants as for /api/search; the provisioned
// data sources of conf/grafana/datasources.yaml answer Grafana's health
// checks.
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
(async () => {
const h = await import('./lib/harness.mjs');
const { start, otelSend, ok, is, like, note, done, bin, root } = h;
const { createRequire } = await import('node:module');
const req = createRequire(path.join(root, 't/otel/package.json'));
const protobuf = req('protobufjs');

const pbRoot = new protobuf.Root();
pbRoot.resolvePath = (origin, target) => path.join(root, 'third_party', target);
pbRoot.loadSync('opentelemetry/proto/trace/v1/trace.proto');
const TracesData = pbRoot.lookupType('opentelemetry.proto.trace.v1.TracesData');

const s = await start({ tag: 'traceapi' });
const tenant = 'shop';
const H = { 'X-Scope-OrgID': tenant };
async function get(p, headers = {}) {
  const r = await fetch(s.control + p, { headers: { ...H, ...headers } });
  const buf = Buffer.from(await r.arrayBuffer());
  return { status: r.status, type: r.headers.get('content-type') || '', buf, text: buf.toString() };
}
async function getJSON(p, headers = {}) {
  const r = await get(p, headers);
  try { r.json = JSON.parse(r.text); } catch { r.json = undefined; }
  return r;
}
async function sqlRows(q, t = tenant) {
  const r = await fetch(s.control + '/api/search', { method: 'POST', headers: { 'X-Scope-OrgID': t, 'Content-Type': 'application/json' }, body: JSON.stringify({ query: q, limit: 100000 }) });
  const j = await r.json();
  if (j.status !== 'success') throw new Error(`SQL failed: ${q}: ${j.error}`);
  return j.result.rows;
}

// ---- data: the SDK's spans, and a shop of two services as OTLP/JSON ----
const run = `${process.pid}-${Date.now().toString(36)}`;
const marker = `tr-${run}`;
const sdk = otelSend(s.otlp, 'traces', 'proto', ['--count', '6', '--marker', marker, '--tenant', tenant]);
is(sdk.exit, 0, 'the OTel JS SDK exported its spans');

const now = BigInt(Date.now()) * 1000000n;
const hex = (n, len) => n.toString(16).padStart(len, '0');
const traces = []; // what was sent, to compare
const resourceSpans = [];
for (let t = 0; t < 12; t++) {
  const traceId = hex(0xabc000n + BigInt(t), 32);
  const t0 = now - BigInt((12 - t) * 1000) * 1000000n; // one a second, oldest first
  const checkout = { resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }, { key: 'host.name', value: { stringValue: `h${t % 2}` } }] },
    scopeSpans: [{ scope: { name: 'shop-lib', version: '2.1' }, spans: [] }] };
  const db = { resource: { attributes: [{ key: 'service.name', value: { stringValue: 'db' } }] }, scopeSpans: [{ scope: { name: 'pg' }, spans: [] }] };
  const status = t % 3 === 0 ? 500 : 200;
  const rootDur = BigInt(50 + t * 20) * 1000000n; // 50..270 ms
  checkout.scopeSpans[0].spans.push({ traceId, spanId: hex(t * 16 + 1, 16), name: t % 2 ? 'GET /cart' : 'POST /pay', kind: 2,
    startTimeUnixNano: `${t0}`, endTimeUnixNano: `${t0 + rootDur}`,
    attributes: [{ key: 'http.response.status_code', value: { intValue: `${status}` } }, { key: 'http.method', value: { stringValue: t % 2 ? 'GET' : 'POST' } },
      { key: 'big', value: { intValue: '9007199254740993' } }, { key: 'ratio', value: { doubleValue: 0.5 } }, { key: 'ok', value: { boolValue: status === 200 } }],
    events: [{ timeUnixNano: `${t0 + 1000000n}`, name: 'cache.miss', attributes: [{ key: 'key', value: { stringValue: `k${t}` } }] }],
    status: status === 500 ? { code: 2, message: 'payment failed' } : { code: 1 } });
  db.scopeSpans[0].spans.push({ traceId, spanId: hex(t * 16 + 2, 16), parentSpanId: hex(t * 16 + 1, 16), name: 'SELECT orders', kind: 3,
    startTimeUnixNano: `${t0 + 5000000n}`, endTimeUnixNano: `${t0 + 25000000n}`,
    attributes: [{ key: 'db.system', value: { stringValue: 'postgresql' } }],
    links: t > 0 ? [{ traceId: hex(0xabc000n + BigInt(t - 1), 32), spanId: hex((t - 1) * 16 + 1, 16) }] : undefined });
  resourceSpans.push(checkout, db);
  traces.push({ traceId, t0, rootDur, status, name: checkout.scopeSpans[0].spans[0].name });
}
const body = JSON.stringify({ resourceSpans });
const post = await fetch(`${s.otlp}/v1/traces`, { method: 'POST', headers: { ...H, 'Content-Type': 'application/json' }, body });
is(post.status, 200, 'the OTLP/JSON shop spans were taken');

// ---- Tempo ----
const echo = await get('/tempo/api/echo');
ok(echo.status === 200 && echo.text === 'echo', 'Tempo: api/echo answers "echo" (Grafana\'s health check)', echo);

const sdkTrace = (await sqlRows(`SELECT trace_id, count(*) n FROM spans WHERE name LIKE '${marker}-span-%' GROUP BY trace_id ORDER BY n DESC`))[0];
ok(sdkTrace && sdkTrace.n >= 2, 'SQL finds the SDK trace with its parent and child', sdkTrace);
const sqlSpans = await sqlRows(`SELECT span_id, parent_span_id, name, start_time, end_time FROM spans WHERE trace_id = '${sdkTrace.trace_id}' ORDER BY span_id`);

// Grafana's Tempo backend: GET {url}/api/traces/{id}?start=&end= with Accept: application/protobuf
const sec = Math.floor(Date.now() / 1000);
const pb = await get(`/tempo/api/traces/${sdkTrace.trace_id}?start=${sec - 3600}&end=${sec + 60}`, { Accept: 'application/protobuf' });
is(pb.status, 200, 'Tempo: trace by id in protobuf: 200');
like(pb.type, /^application\/protobuf/, 'Tempo: ... with Content-Type application/protobuf');
let td;
try { td = TracesData.toObject(TracesData.decode(pb.buf), { longs: String, bytes: String }); } catch (e) { td = { error: String(e) }; }
const pbSpans = (td.resourceSpans || []).flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((sp) => ({ rs, ss, sp }))));
is(pbSpans.length, sqlSpans.length, 'Tempo: the protobuf TracesData (protobufjs) holds every span SQL finds');
const b64hex = (b) => Buffer.from(b, 'base64').toString('hex');
is(pbSpans.map((x) => b64hex(x.sp.spanId)).sort(), sqlSpans.map((r) => r.span_id), 'Tempo: ... with the same span ids');
is(pbSpans.map((x) => x.sp.name).sort(), sqlSpans.map((r) => r.name).sort(), 'Tempo: ... and names');
ok(pbSpans.every((x) => b64hex(x.sp.traceId) === sdkTrace.trace_id), 'Tempo: ... every span with the trace id');
const child = pbSpans.find((x) => x.sp.parentSpanId && x.sp.parentSpanId.length);
const sqlChild = sqlSpans.find((r) => r.parent_span_id);
ok(child && b64hex(child.sp.parentSpanId) === sqlChild.parent_span_id, 'Tempo: ... the child names its parent');
const svcAttr = pbSpans[0] && pbSpans[0].rs.resource.attributes.find((a) => a.key === 'service.name');
is(svcAttr && svcAttr.value.stringValue, 'otel-js-test', 'Tempo: ... under its resource (service.name)');
is(pbSpans.map((x) => x.sp.startTimeUnixNano).sort(), sqlSpans.map((r) => String(r.start_time)).sort(), 'Tempo: ... start times exact to the nanosecond');

// the shop trace: every attribute type back as sent
const shop = traces[3];
const pj = await getJSON(`/tempo/api/traces/${shop.traceId}`);
is(pj.status, 200, 'Tempo: trace by id without Accept: OTLP/JSON');
like(pj.type, /application\/json/, 'Tempo: ... as application/json');
const jspans = (pj.json.resourceSpans || []).flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((sp) => ({ rs, ss, sp }))));
is(jspans.length, 2, 'Tempo: ... both spans of the shop trace');
const sentRoot = resourceSpans[6].scopeSpans[0].spans[0];
const gotRoot = jspans.find((x) => x.sp.spanId === sentRoot.spanId);
is(gotRoot && gotRoot.sp.attributes, sentRoot.attributes, 'Tempo: ... attributes exactly as sent (int64 past 2^53, double, bool)');
is(gotRoot && gotRoot.sp.events, sentRoot.events.map((e) => ({ ...e, droppedAttributesCount: 0 })).map(({ timeUnixNano, name, droppedAttributesCount, attributes }) => ({ timeUnixNano, name, droppedAttributesCount, attributes })), 'Tempo: ... events with their attributes');
is(gotRoot && gotRoot.sp.status, { message: 'payment failed', code: 2 }, 'Tempo: ... the error status');
is(gotRoot && gotRoot.ss.scope, { name: 'shop-lib', version: '2.1' }, 'Tempo: ... its scope');
const gotDb = jspans.find((x) => x.sp.name === 'SELECT orders');
is(gotDb && gotDb.sp.links && gotDb.sp.links[0].traceId, traces[2].traceId, 'Tempo: ... links');

const v2 = await get(`/tempo/api/v2/traces/${shop.traceId}`, { Accept: 'application/protobuf' });
ok(v2.status === 200 && v2.buf[0] === 0x0a, 'Tempo: api/v2/traces in protobuf: a TraceByIDResponse, the trace its field 1');
let v2td;
try {
  let i = 1, len = 0, shift = 0;
  for (;;) { const b = v2.buf[i++]; len += (b & 0x7f) * 2 ** shift; shift += 7; if (!(b & 0x80)) break; }
  v2td = TracesData.decode(v2.buf.subarray(i, i + len));
  is(i + len, v2.buf.length, 'Tempo: ... field 1 is the whole answer');
} catch (e) { v2td = null; }
is(v2td && v2td.resourceSpans.length, 2, 'Tempo: ... its TracesData decodes, two resources');
const v2j = await getJSON(`/tempo/api/v2/traces/${shop.traceId}`);
ok(v2j.json && v2j.json.trace && v2j.json.trace.resourceSpans.length === 2, 'Tempo: api/v2/traces in JSON: {"trace": TracesData}');

const nf = await get(`/tempo/api/traces/${'f'.repeat(32)}`, { Accept: 'application/protobuf' });
is(nf.status, 404, 'Tempo: an unknown trace id: 404');
const badId = await get('/tempo/api/traces/xyz');
is(badId.status, 400, 'Tempo: a malformed trace id: 400');
const badId2 = await get(`/tempo/api/traces/${'a'.repeat(33)}`);
is(badId2.status, 400, 'Tempo: a trace id of 33 digits: 400');

// search as Grafana sends it: q, limit, spss, start, end (seconds)
async function tempoSearch(q, extra = '') {
  return getJSON(`/tempo/api/search?q=${encodeURIComponent(q)}&limit=20&spss=3&start=${sec - 3600}&end=${sec + 60}${extra}`);
}
async function sqlTraceIds(where) {
  return (await sqlRows(`SELECT trace_id, max(start_time) t FROM spans WHERE ${where} GROUP BY trace_id ORDER BY t DESC`)).map((r) => r.trace_id);
}
const cases = [
  ['{resource.service.name="checkout" && span.http.response.status_code>=500 && status=error}', "service_name = 'checkout' AND attributes->>'http.response.status_code' >= 500 AND status_code = 2"],
  ['{ .service.name = "db" && name = "SELECT orders" }', "service_name = 'db' AND name = 'SELECT orders'"],
  ['{name=~"GET.*|POST /p.y"}', "(name LIKE 'GET%' OR name = 'POST /pay')"],
  ['{duration > 150ms && kind = server}', 'duration_ns > 150000000 AND kind = 2'],
  ['{span.http.method != "GET" && resource.host.name = "h0"}', "attributes->>'http.method' != 'GET' AND resource_attributes->>'host.name' = 'h0'"],
  ['{ (status = error || span.ratio > 0.4) && kind = client }', 'kind = 3 AND 0'],
  ['{span.ok = true}', "attributes->>'ok' = 1"],
  ['{rootServiceName = "checkout" && name = "SELECT orders"}', "name = 'SELECT orders'"],
  ['{span.db.system != nil}', "attributes->>'db.system' IS NOT NULL"],
  ['{span.db.system = nil && resource.service.name = "db"}', '0'],
];
for (const [q, where] of cases) {
  const r = await tempoSearch(q);
  const want = (await sqlTraceIds(`(${where})`)).slice(0, 20);
  is(r.status, 200, `Tempo search ${q}: 200`);
  is((r.json.traces || []).map((t) => t.traceID), want, `Tempo search ${q}: the traces SQL finds, most recent first`);
}
const all = await tempoSearch('{resource.service.name="checkout"}');
const t5 = all.json.traces.find((t) => t.traceID === traces[5].traceId);
ok(t5 && t5.rootServiceName === 'checkout' && t5.rootTraceName === traces[5].name, 'Tempo search: rootServiceName and rootTraceName of the root span', t5);
is(t5 && t5.startTimeUnixNano, `${traces[5].t0}`, 'Tempo search: startTimeUnixNano of the trace');
is(t5 && t5.durationMs, Number(traces[5].rootDur / 1000000n), 'Tempo search: durationMs of the whole trace');
ok(t5 && t5.spanSets[0].matched === 1 && t5.spanSets[0].spans[0].spanID === hex(5 * 16 + 1, 16), 'Tempo search: the matched span in spanSets');
const lim = await getJSON(`/tempo/api/search?q=${encodeURIComponent('{}')}&limit=3&start=${sec - 3600}&end=${sec + 60}`);
is(lim.json.traces.length, 3, 'Tempo search: limit=3 gives 3 traces');
const md = await tempoSearch('{resource.service.name="checkout"}', '&minDuration=200ms');
is(md.json.traces.map((t) => t.traceID).sort(), traces.filter((t) => t.rootDur >= 200000000n).map((t) => t.traceId).sort(), 'Tempo search: minDuration on whole traces');
const mx = await tempoSearch('{}', '&maxDuration=100ms');
ok(mx.json.traces.length > 0 && mx.json.traces.every((t) => t.durationMs <= 100), 'Tempo search: maxDuration');
const old = await getJSON(`/tempo/api/search?q=${encodeURIComponent('{}')}&start=${sec - 7200}&end=${sec - 3600}`);
is(old.json.traces, [], 'Tempo search: a range before the data finds nothing');

// tags and values
const tags = await getJSON(`/tempo/api/v2/search/tags?scope=span&start=${sec - 3600}&end=${sec + 60}`);
const spanScope = tags.json.scopes.find((x) => x.name === 'span');
ok(spanScope && ['http.method', 'db.system', 'http.response.status_code'].every((k) => spanScope.tags.includes(k)), 'Tempo: v2 tags of scope span', tags.json);
ok(!tags.json.scopes.some((x) => x.name === 'resource'), 'Tempo: ... and no other scope');
const alltags = await getJSON('/tempo/api/v2/search/tags');
ok(alltags.json.scopes.find((x) => x.name === 'resource').tags.includes('host.name') && alltags.json.scopes.find((x) => x.name === 'intrinsic').tags.includes('duration'), 'Tempo: v2 tags of every scope');
const v1tags = await getJSON('/tempo/api/search/tags');
ok(v1tags.json.tagNames.includes('http.method') && v1tags.json.tagNames.includes('service.name'), 'Tempo: v1 tagNames');
const vals = await getJSON('/tempo/api/v2/search/tag/resource.service.name/values');
is(vals.json.tagValues, (await sqlRows('SELECT DISTINCT service_name FROM spans ORDER BY 1')).map((r) => ({ type: 'string', value: r.service_name })), 'Tempo: v2 values of resource.service.name');
const sv = await getJSON('/tempo/api/v2/search/tag/status/values');
is(sv.json.tagValues.map((v) => v.value).sort(), ['error', 'ok', 'unset'], 'Tempo: values of the intrinsic status as keywords');
const iv = await getJSON('/tempo/api/v2/search/tag/span.http.response.status_code/values');
is(iv.json.tagValues, [{ type: 'int', value: '200' }, { type: 'int', value: '500' }], 'Tempo: values of an int attribute, typed');
const fv = await getJSON(`/tempo/api/v2/search/tag/name/values?q=${encodeURIComponent('{resource.service.name="db"}')}`);
is(fv.json.tagValues, [{ type: 'string', value: 'SELECT orders' }], 'Tempo: values filtered by the query Grafana is building');
const pv = await getJSON(`/tempo/api/v2/search/tag/name/values?q=${encodeURIComponent('{resource.service.name="db" && span.')}`);
is(pv.json.tagValues.length, (await sqlRows('SELECT DISTINCT name FROM spans')).length, 'Tempo: values while the query is half typed: all of them');
const v1v = await getJSON('/tempo/api/search/tag/http.method/values');
is(v1v.json.tagValues, ['GET', 'POST'], 'Tempo: v1 values of an unscoped tag');

// bad TraceQL: Tempo's 400 and message
for (const q of ['{ .a = }', 'status = error', '{ span.x > -inf }', '{ status = nil }', '{ name = "x" } | count() > 2', '{ name = "x" } && { kind = server }', '{ span.a = "x"', '{ status = purple }', '{ name =~ "(" }', '{ duration > "x" }', '{ kind > server }']) {
  const r = await tempoSearch(q);
  ok(r.status === 400 && /^invalid TraceQL query: parse error at line 1, col \d+: /.test(r.text), `Tempo: bad TraceQL ${q}: 400 and Tempo's message`, r.text);
}
const deep = await tempoSearch(`{${'('.repeat(5000)}name="x"${')'.repeat(5000)}}`);
is(deep.status, 400, 'Tempo: 5000 nested parentheses: 400, no crash');
for (const [p, what] of [['limit=100000000', 'a huge limit'], ['limit=0', 'limit 0'], ['start=abc', 'a start that is no number'], ['minDuration=fast', 'a bad minDuration'], ['end=99999999999999999999', 'an end past int64']]) {
  const r = await get(`/tempo/api/search?q=%7B%7D&${p}`);
  is(r.status, 400, `Tempo: ${what}: 400`);
}
const huge = await getJSON(`/tempo/api/search?q=%7B%7D&start=0&end=9000000000&limit=5`);
is(huge.status, 200, 'Tempo: a range of 285 years: 200');
const nopath = await get('/tempo/api/nothing');
is(nopath.status, 404, 'Tempo: an unknown path: 404');
const post2 = await fetch(s.control + '/tempo/api/search', { method: 'POST', headers: H });
is(post2.status, 405, 'Tempo: POST: 405');

// ---- Jaeger ----
const services = await getJSON('/jaeger/api/services');
is(services.json.data, ['checkout', 'db', 'otel-js-test'], 'Jaeger: api/services lists the services (Grafana\'s health check needs it non-empty)');
ok(services.json.errors === null && services.json.total === 3 && 'limit' in services.json && 'offset' in services.json, 'Jaeger: ... in the {data,total,limit,offset,errors} envelope');
const ops = await getJSON('/jaeger/api/services/checkout/operations');
is(ops.json.data, ['GET /cart', 'POST /pay'], 'Jaeger: api/services/{svc}/operations');
const ops2 = await getJSON('/jaeger/api/operations?service=db&spanKind=client');
is(ops2.json.data, [{ name: 'SELECT orders', spanKind: 'client' }], 'Jaeger: api/operations with spanKind');
const enc = await getJSON(`/jaeger/api/services/${encodeURIComponent('no such/svc')}/operations`);
is(enc.json.data, [], 'Jaeger: operations of an unknown (encoded) service: empty');

const us = BigInt(Date.now()) * 1000n;
async function jaegerSearch(params) {
  return getJSON(`/jaeger/api/traces?${new URLSearchParams({ start: `${us - 3600000000n}`, end: `${us + 60000000n}`, limit: '20', ...params })}`);
}
const jcases = [
  [{ service: 'checkout' }, "service_name = 'checkout'"],
  [{ service: 'checkout', operation: 'GET /cart' }, "service_name = 'checkout' AND name = 'GET /cart'"],
  [{ service: 'checkout', tags: JSON.stringify({ 'http.response.status_code': '500' }) }, "service_name = 'checkout' AND attributes->>'http.response.status_code' = 500"],
  [{ service: 'checkout', tags: JSON.stringify({ error: 'true' }) }, "service_name = 'checkout' AND status_code = 2"],
  [{ service: 'checkout', tags: JSON.stringify({ 'host.name': 'h1', 'http.method': 'GET' }) }, "service_name = 'checkout' AND resource_attributes->>'host.name' = 'h1' AND attributes->>'http.method' = 'GET'"],
  [{ service: 'checkout', minDuration: '0.2s' }, "service_name = 'checkout' AND duration_ns >= 200000000"],
  [{ service: 'checkout', maxDuration: '100ms' }, "service_name = 'checkout' AND duration_ns <= 100000000"],
  [{ service: 'db', limit: '4' }, "service_name = 'db'"],
];
for (const [p, where] of jcases) {
  const r = await jaegerSearch(p);
  const want = (await sqlTraceIds(`(${where})`)).slice(0, Number(p.limit || 20));
  is((r.json.data || []).map((t) => t.traceID), want, `Jaeger search ${JSON.stringify(p)}: the traces SQL finds`);
}
// Grafana 12's backend: url.Parse(URL) then Path = "/api/traces": the root
const g12 = await getJSON('/api/traces?service=checkout&operation=GET+%2Fcart&limit=20');
is((g12.json.data || []).map((t) => t.traceID), (await sqlTraceIds("service_name = 'checkout' AND name = 'GET /cart'")).slice(0, 20), 'Jaeger search at /api/traces, where Grafana 12 sends it');
const own = await getJSON(`/api/traces/${shop.traceId}`);
ok(own.json && own.json.status === 'success' && own.json.result.rows.length === 2, 'openwit\'s own /api/traces/{id} is unchanged');
const lb = await getJSON('/jaeger/api/traces?service=checkout&lookback=1h&limit=50');
is(lb.json.data.length, 12, 'Jaeger search: lookback=1h without start and end');
const lb2 = await getJSON(`/jaeger/api/traces?service=checkout&end=${us - 3600000000n}&lookback=1h`);
is(lb2.json.data, [], 'Jaeger search: an hour that ended an hour ago finds nothing');

const jt = await getJSON(`/jaeger/api/traces/${shop.traceId}`);
const trace = jt.json.data && jt.json.data[0];
ok(trace && trace.traceID === shop.traceId && trace.spans.length === 2, 'Jaeger: api/traces/{id}: one trace, both spans');
const jroot = trace.spans.find((x) => x.spanID === sentRoot.spanId);
const jdb = trace.spans.find((x) => x.operationName === 'SELECT orders');
is(jroot.startTime, Number(shop.t0 / 1000n), 'Jaeger: startTime in microseconds, an integer');
is(jroot.duration, Number(shop.rootDur / 1000n), 'Jaeger: duration in microseconds');
is(jdb.references, [{ refType: 'CHILD_OF', traceID: shop.traceId, spanID: sentRoot.spanId }, { refType: 'FOLLOWS_FROM', traceID: traces[2].traceId, spanID: hex(2 * 16 + 1, 16) }], 'Jaeger: references: CHILD_OF the parent, FOLLOWS_FROM the link');
const tagOf = (sp, k) => sp.tags.find((t) => t.key === k);
is(tagOf(jroot, 'http.response.status_code'), { key: 'http.response.status_code', type: 'int64', value: 500 }, 'Jaeger: an int attribute as an int64 tag');
ok(/"key":"big","type":"int64","value":9007199254740993\b/.test(jt.text), 'Jaeger: ... past 2^53 exactly');
is(tagOf(jroot, 'ratio'), { key: 'ratio', type: 'float64', value: 0.5 }, 'Jaeger: a double as float64');
is(tagOf(jroot, 'ok'), { key: 'ok', type: 'bool', value: false }, 'Jaeger: a bool');
is(tagOf(jroot, 'span.kind'), { key: 'span.kind', type: 'string', value: 'server' }, 'Jaeger: span.kind');
is(tagOf(jroot, 'error'), { key: 'error', type: 'bool', value: true }, 'Jaeger: error=true on the error status');
is(tagOf(jroot, 'otel.status_description').value, 'payment failed', 'Jaeger: otel.status_description');
is(jroot.logs, [{ timestamp: Number((shop.t0 + 1000000n) / 1000n), fields: [{ key: 'event', type: 'string', value: 'cache.miss' }, { key: 'key', type: 'string', value: 'k3' }] }], 'Jaeger: events as logs');
is(trace.processes[jroot.processID], { serviceName: 'checkout', tags: [{ key: 'host.name', type: 'string', value: 'h1' }] }, 'Jaeger: the process of a span: service and resource tags');
ok(jroot.processID !== jdb.processID && trace.processes[jdb.processID].serviceName === 'db', 'Jaeger: one process per service');

const jnf = await getJSON(`/jaeger/api/traces/${'e'.repeat(32)}`);
ok(jnf.status === 404 && jnf.json.data === null && jnf.json.errors[0].code === 404, 'Jaeger: unknown trace: 404 in the envelope', jnf.text);
const jbad = await getJSON('/jaeger/api/traces/nothex');
ok(jbad.status === 400 && jbad.json.errors[0].code === 400, 'Jaeger: malformed trace id: 400 in the envelope');
for (const [p, what] of [[{ operation: 'x' }, 'no service'], [{ service: 'a', tags: '{"a":' }, 'malformed tags'], [{ service: 'a', tags: '[1]' }, 'tags not an object'], [{ service: 'a', minDuration: '5 parsecs' }, 'a bad minDuration'], [{ service: 'a', limit: '-1' }, 'a negative limit'], [{ service: 'a', limit: '999999999999' }, 'a huge limit'], [{ service: 'a', start: 'yesterday' }, 'a bad start']]) {
  const r = await getJSON(`/jaeger/api/traces?${new URLSearchParams(p)}`);
  ok(r.status === 400 && r.json && r.json.errors && r.json.errors[0].msg, `Jaeger: ${what}: 400 with a message`, r.text);
}
const quote = await jaegerSearch({ service: "o'brien", operation: "x' OR '1'='1", tags: JSON.stringify({ "k'": "v'" }) });
ok(quote.status === 200 && quote.json.data.length === 0, 'Jaeger: quotes in service, operation and tags are values, not SQL');

// ---- tenants ----
const other = await getJSON('/jaeger/api/services', { 'X-Scope-OrgID': 'other' });
is(other.json.data, [], 'tenants: another tenant sees no service');
const otherT = await get(`/tempo/api/traces/${shop.traceId}`, { 'X-Scope-OrgID': 'other' });
is(otherT.status, 404, 'tenants: nor the trace');
const badT = await get('/tempo/api/search?q=%7B%7D', { 'X-Scope-OrgID': '../etc' });
is(badT.status, 400, 'tenants: an invalid tenant: 400');

// ---- the provisioned data sources answer Grafana's health checks ----
const yaml = fs.readFileSync(path.join(root, 'conf/grafana/datasources.yaml'), 'utf8');
const sources = yaml.split(/\n\s*- name:/).slice(1).map((b) => ({ type: (b.match(/\n\s*type:\s*(\S+)/) || [])[1], url: (b.match(/\n\s*url:\s*(\S+)/) || [])[1], uid: (b.match(/\n\s*uid:\s*(\S+)/) || [])[1] }));
const at = (u) => u.replace('http://127.0.0.1:8083', s.control);
const tempoDs = sources.find((x) => x.type === 'tempo'), jaegerDs = sources.find((x) => x.type === 'jaeger');
ok(tempoDs && tempoDs.uid === 'openwit-tempo' && jaegerDs && jaegerDs.uid === 'openwit-jaeger', 'datasources.yaml provisions openwit-tempo and openwit-jaeger', sources);
const te = await fetch(at(tempoDs.url) + '/api/echo', { headers: H });
is(await te.text(), 'echo', 'the provisioned Tempo URL answers /api/echo');
const js = await (await fetch(at(jaegerDs.url) + '/api/services', { headers: H })).json();
ok(js.data.length > 0, 'the provisioned Jaeger URL answers /api/services with services');

// ---- windows: searches and Jaeger's names read the request's window, by
// default a lookback (Tempo's search the hour before, Jaeger's services
// and operations 72 h), not all time ----
{
  const W = { 'X-Scope-OrgID': 'window' };
  const hr = 3600n * 1000000000n;
  const nowW = BigInt(Date.now()) * 1000000n;
  const sp = (id, sid, name, t0, dur) => ({ traceId: id, spanId: hex(sid, 16), name, kind: 2, startTimeUnixNano: `${t0}`, endTimeUnixNano: `${t0 + dur}` });
  const oldId = hex(0xd0000001n, 32), longId = hex(0xd0000002n, 32);
  const rsW = [
    { resource: { attributes: [{ key: 'service.name', value: { stringValue: 'ancient' } }] }, scopeSpans: [{ scope: { name: 'w' }, spans: [sp(oldId, 1, 'old-op', nowW - 120n * hr, 1000000n)] }] },
    { resource: { attributes: [{ key: 'service.name', value: { stringValue: 'recent' } }] }, scopeSpans: [{ scope: { name: 'w' }, spans: [
      sp(hex(0xd0000003n, 32), 1, 'three-hours', nowW - 3n * hr, 1000000n),
      // a trace with a span 3 h before the window and one in it
      sp(longId, 1, 'long-root', nowW - 3n * hr - 60000000000n, 1000000n), sp(longId, 2, 'long-leaf', nowW - 60000000000n, 1000000n)] }] }];
  const wp = await fetch(`${s.otlp}/v1/traces`, { method: 'POST', headers: { ...W, 'Content-Type': 'application/json' }, body: JSON.stringify({ resourceSpans: rsW }) });
  is(wp.status, 200, 'windows: spans of 5 days and 3 hours ago taken');
  const wj = async (p) => (await fetch(s.control + p, { headers: W })).json();
  is((await wj('/jaeger/api/services')).data, ['recent'], 'windows: Jaeger services by default: of the last 72 h');
  const us = (ns) => `${ns / 1000n}`;
  is((await wj(`/jaeger/api/services?start=${us(nowW - 200n * hr)}&end=${us(nowW)}`)).data, ['ancient', 'recent'], 'windows: ... with start and end (µs): of those');
  is((await wj('/jaeger/api/services/ancient/operations')).data, [], 'windows: Jaeger operations by default: of the last 72 h');
  is((await wj('/jaeger/api/services/ancient/operations?lookback=7d')).data, ['old-op'], 'windows: ... with lookback=7d');
  is((await wj('/jaeger/api/operations?service=ancient&lookback=7d')).data.map((o) => o.name), ['old-op'], 'windows: api/operations takes the window too');
  const ts = async (q) => ((await wj(`/tempo/api/search?q=${encodeURIComponent(q)}`)).traces || []).map((t) => t.traceID);
  is(await ts('{ name = "three-hours" }'), [], 'windows: a Tempo search without start: the hour before now');
  const tv = async (q) => ((await wj(`/tempo/api/v2/search/tag/resource.service.name/values${q}`)).tagValues || []).map((v) => v.value).sort();
  is(await tv(''), ['recent'], 'windows: Tempo tag values without start: of the hour before now, as a search (not 5 days ago)');
  is(await tv(`?start=${Number(nowW / 1000000000n) - 200 * 3600}&end=${Number(nowW / 1000000000n)}`), ['ancient', 'recent'], 'windows: ... with start and end: of those');
  const sec = Number(nowW / 1000000000n);
  is(((await wj(`/tempo/api/search?q=${encodeURIComponent('{ name = "three-hours" }')}&start=${sec - 4 * 3600}&end=${sec}`)).traces || []).length, 1, 'windows: ... with start and end: the trace 3 h ago');
  const dur = await wj(`/tempo/api/search?q=${encodeURIComponent('{ name = "long-leaf" }')}&start=${sec - 600}&end=${sec}&minDuration=2h`);
  is((dur.traces || []).length, 0, 'windows: minDuration measures a trace over its spans within an hour of the window (the span 3 h before it is not read)');
  const dur2 = await wj(`/tempo/api/search?q=${encodeURIComponent('{ name = "long-leaf" }')}&start=${sec - 4 * 3600}&end=${sec}&minDuration=2h`);
  ok((dur2.traces || []).length === 1 && dur2.traces[0].durationMs >= 3 * 3600 * 1000, 'windows: ... a window that holds both: found, 3 h long', dur2.traces);
  const dur3 = await wj(`/tempo/api/search?q=${encodeURIComponent('{ name = "long-leaf" }')}&start=${sec - 600}&end=${sec}&maxDuration=30m`);
  is((dur3.traces || []).map((t) => t.durationMs), [], 'windows: maxDuration holds over all of a trace\'s spans (the span 3 h before the window, not read by the search, makes it too long)');
}

// ---- memory: the trees, JSON and protobuf a trace is built into count
// against query.max_memory_bytes (its spans' SQL alone fits) ----
{
  const sm = await start({ tag: 'traceapi-mem', config: { 'query.max_memory_bytes': 1048576 } });
  const mkTrace = (id, n) => Array.from({ length: n }, (_, i) => ({ traceId: id, spanId: hex(i + 1, 16), name: `op${i % 7}`, kind: 1,
    startTimeUnixNano: `${now - BigInt(n - i) * 1000000n}`, endTimeUnixNano: `${now - BigInt(n - i) * 1000000n + 500000n}`,
    attributes: [{ key: 'k', value: { intValue: `${i}` } }, { key: 'a', value: { stringValue: 'x' } }] }));
  const bigId = hex(0xfeed0000n, 32), smallId = hex(0xfeed0001n, 32);
  const mp = await fetch(`${sm.otlp}/v1/traces`, { method: 'POST', headers: { ...H, 'Content-Type': 'application/json' },
    body: JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'big' } }] }, scopeSpans: [{ scope: { name: 's' }, spans: [...mkTrace(bigId, 700), ...mkTrace(smallId, 5)] }] }] }) });
  is(mp.status, 200, 'memory: a trace of 700 spans and one of 5 taken');
  const mget = async (p, accept) => { const r = await fetch(sm.control + p, { headers: { ...H, Accept: accept } }); return { status: r.status, text: await r.text() }; };
  for (const [p, accept, code] of [[`/tempo/api/traces/${bigId}`, 'application/protobuf', 400], [`/tempo/api/v2/traces/${bigId}`, 'application/protobuf', 400], [`/tempo/api/traces/${bigId}`, '', 400]]) {
    const r = await mget(p, accept);
    ok(r.status === code && /^query exceeded its memory budget of 1 MiB/.test(r.text), `memory: Tempo ${p.slice(0, 20)} ${accept || 'JSON'} of 700 spans under 1 MiB: ${code}, the budget's message`, `${r.status} ${r.text.slice(0, 200)}`);
  }
  const jr = await mget(`/jaeger/api/traces/${bigId}`, '');
  let jj = {};
  try { jj = JSON.parse(jr.text); } catch {}
  ok(jr.status === 400 && jj.errors && /^query exceeded its memory budget of 1 MiB/.test(jj.errors[0].msg), 'memory: Jaeger\'s model of it: 400, the budget\'s message in Jaeger\'s errors', jr.text.slice(0, 200));
  const small = await mget(`/tempo/api/traces/${smallId}`, 'application/protobuf');
  is(small.status, 200, 'memory: the trace of 5 spans fits: 200');
  const js2 = await mget(`/jaeger/api/traces/${smallId}`, '');
  is(js2.status === 200 && JSON.parse(js2.text).data[0].spans.length, 5, 'memory: ... in Jaeger\'s model too');
  await sm.stop();
}

// ---- auth ----
const tok = (tenant, scopes) => { const r = spawnSync(bin, ['token', tenant, scopes]); const [token, line] = r.stdout.toString().split('\n'); return { token, line }; };
const rd = tok('shop', 'read'), wr = tok('shop', 'write'), rdOther = tok('other', 'read');
const sa = await start({ tag: 'traceapi-auth', config: { 'auth.tokens': JSON.stringify([rd.line, wr.line, rdOther.line]) } });
const p2 = await fetch(`${sa.otlp}/v1/traces`, { method: 'POST', headers: { Authorization: `Bearer ${wr.token}`, 'Content-Type': 'application/json' }, body });
is(p2.status, 200, 'auth: spans written with a write token');
for (const p of ['/tempo/api/search?q=%7B%7D', '/jaeger/api/services', `/tempo/api/traces/${shop.traceId}`]) {
  is((await fetch(sa.control + p)).status, 401, `auth: ${p} without a token: 401`);
  is((await fetch(sa.control + p, { headers: { Authorization: `Bearer ${wr.token}` } })).status, 403, `auth: ${p} with a write token: 403`);
}
const okAuth = await (await fetch(sa.control + '/jaeger/api/services', { headers: { Authorization: `Bearer ${rd.token}` } })).json();
is(okAuth.data, ['checkout', 'db'], 'auth: a read token sees its tenant\'s services');
const iso = await fetch(sa.control + `/tempo/api/traces/${shop.traceId}`, { headers: { Authorization: `Bearer ${rdOther.token}`, 'X-Scope-OrgID': 'shop' } });
ok(iso.status === 403 || iso.status === 404, 'auth: another tenant\'s token cannot read the trace, X-Scope-OrgID or not', iso.status);
const echoAuth = await fetch(sa.control + '/tempo/api/echo');
is(echoAuth.status, 401, 'auth: even api/echo needs a token (Grafana sends the data source\'s)');

done();
})();

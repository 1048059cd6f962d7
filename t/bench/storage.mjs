// make bench: bytes on disk per span, log record and metric data point, and
// their ratio to the OTLP protobuf bytes received, before merging (active
// parts, one per flush) and after (one stable part per tenant, signal and
// day). Two datasets, each under its own tenant:
//   otel-js  what the OpenTelemetry JS SDK sends (t/otel/send.mjs, protobuf)
//   mix      a realistic mix made here: ~20 services on ~50 pods with
//            semantic-convention resources and attributes, span trees of ~10
//            spans, access and application logs (most with trace context),
//            counters, gauges, up-down counters and histograms collected
//            every 10 s; sent as OTLP/JSON in requests of 100-500 records
//            over 4 connections
// Protobuf bytes are the server's openwit_ingest_bytes_total: the decoded
// protobuf payloads acknowledged (JSON is converted to protobuf first).
// Run: node t/bench/storage.mjs   (KEEP=1 keeps the data directory)
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { start, otelSend, httpPost, sql, duck, sleep, curl } from '../lib/harness.mjs';

const T_START = Date.now();
const SIGNALS = ['traces', 'logs', 'metrics'];
const TENANT_A = 'otel-js', TENANT_B = 'mix';
const JS_COUNT = Number(process.env.JS_COUNT || 2000);
const JS_METRIC_ROUNDS = Number(process.env.JS_METRIC_ROUNDS || 30);
const MIX_SPANS = Number(process.env.MIX_SPANS || 50000);
const MIX_LOGS = Number(process.env.MIX_LOGS || 50000);
const MIX_TICKS = Number(process.env.MIX_TICKS || 50); // x ~400 series
const CONNS = 4;
// (b) is sent at an even pace over PACE_S seconds, so that the 1 s flushes
// make active parts of a few thousand records (at the default flush
// interval of 10 s a source of ~100 spans/s makes parts of ~1000)
const PACE_S = Number(process.env.PACE_S ?? 30);

// SHRED_KEYS: storage.parquet.shred_keys (the server's default, 16,
// shreds parts of storage.parquet.shred_min_rows rows or more, 10000; 0
// keeps attributes whole JSON)
const baseConfig = { 'storage.buffer.flush_interval_ms': 1000,
  ...(process.env.SHRED_KEYS !== undefined ? { 'storage.parquet.shred_keys': Number(process.env.SHRED_KEYS) } : {}) };
const elapsed = () => `${((Date.now() - T_START) / 1000).toFixed(1)} s`;
const say = (s) => process.stderr.write(`storage bench: ${s} (${elapsed()})\n`);

// ---------------------------------------------------------------------------
// Deterministic random numbers (mulberry32), so runs compare.
let seed = 0x5eed1234;
function rnd() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const ri = (a, b) => a + Math.floor(rnd() * (b - a + 1)); // integer in [a, b]
const pick = (a) => a[Math.floor(rnd() * a.length)];
const chance = (p) => rnd() < p;
const hex = (bytes) => { let s = ''; for (let i = 0; i < bytes; i++) s += ri(0, 255).toString(16).padStart(2, '0'); return s; };
const alnum = (n) => { const c = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'; let s = ''; for (let i = 0; i < n; i++) s += c[ri(0, 35)]; return s; };
const lower = (n) => { const c = 'bcdfghjklmnpqrstvwxz2456789'; let s = ''; for (let i = 0; i < n; i++) s += c[ri(0, c.length - 1)]; return s; };
// log-normal-ish duration in ms around a median
const lat = (median) => Math.max(0.05, median * Math.exp((rnd() + rnd() + rnd() - 1.5) * 1.4));
const uuid = () => { const h = hex(16); return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`; };

// OTLP/JSON values
const av = (v) => typeof v === 'string' ? { stringValue: v } : typeof v === 'boolean' ? { boolValue: v }
  : Number.isInteger(v) ? { intValue: String(v) } : Array.isArray(v) ? { arrayValue: { values: v.map(av) } } : { doubleValue: v };
const kvs = (o) => Object.entries(o).filter(([, v]) => v !== undefined).map(([key, v]) => ({ key, value: av(v) }));
const ns = (ms) => String(BigInt(Math.round(ms * 1000)) * 1000n); // ms (fractional) -> ns string

// ---------------------------------------------------------------------------
// The services of dataset (b): an online shop.
const LANGS = {
  nodejs: { sdk: '1.30.1', runtime: ['nodejs', '20.18.1'], http: '@opentelemetry/instrumentation-http', httpV: '0.57.2', grpc: '@opentelemetry/instrumentation-grpc', db: { postgresql: '@opentelemetry/instrumentation-pg', redis: '@opentelemetry/instrumentation-ioredis', mongodb: '@opentelemetry/instrumentation-mongodb' }, logger: 'pino' },
  java: { sdk: '1.46.0', runtime: ['OpenJDK Runtime Environment', '21.0.5+11-LTS'], http: 'io.opentelemetry.tomcat-10.0', httpV: '2.12.0-alpha', grpc: 'io.opentelemetry.grpc-1.6', db: { postgresql: 'io.opentelemetry.jdbc', mysql: 'io.opentelemetry.jdbc', redis: 'io.opentelemetry.lettuce-5.1' }, logger: null },
  go: { sdk: '1.34.0', runtime: ['go', 'go1.23.4'], http: 'go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp', httpV: '0.59.0', grpc: 'go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc', db: { postgresql: 'github.com/XSAM/otelsql', redis: 'github.com/redis/go-redis/extra/redisotel' }, logger: 'log/slog' },
  python: { sdk: '1.29.0', runtime: ['cpython', '3.12.8'], http: 'opentelemetry.instrumentation.flask', httpV: '0.50b0', grpc: 'opentelemetry.instrumentation.grpc', db: { postgresql: 'opentelemetry.instrumentation.psycopg2', redis: 'opentelemetry.instrumentation.redis' }, logger: 'app' },
  dotnet: { sdk: '1.10.0', runtime: ['.NET', '8.0.11'], http: 'Microsoft.AspNetCore', httpV: '8.0.11', grpc: 'Grpc.Net.Client', db: { postgresql: 'Npgsql', redis: 'OpenTelemetry.Instrumentation.StackExchangeRedis' }, logger: 'Microsoft.Extensions.Logging' },
};
// name, language, protocol, endpoints, database, downstream services, pods
const SVC = [
  ['frontend-proxy', 'go', 'http', [['GET', '/'], ['GET', '/api/products'], ['GET', '/api/products/{productId}'], ['POST', '/api/cart'], ['GET', '/api/cart'], ['POST', '/api/checkout'], ['GET', '/api/recommendations'], ['GET', '/api/search']], null, ['frontend'], 3],
  ['frontend', 'nodejs', 'http', [['GET', '/'], ['GET', '/api/products'], ['GET', '/api/products/{productId}'], ['POST', '/api/cart'], ['GET', '/api/cart'], ['POST', '/api/checkout'], ['GET', '/api/recommendations'], ['GET', '/api/search']], null, ['product-catalog', 'cart', 'recommendation', 'checkout', 'currency', 'ad', 'search', 'auth'], 3],
  ['auth', 'go', 'grpc', ['auth.AuthService/ValidateToken', 'auth.AuthService/Login'], ['redis'], ['user'], 2],
  ['user', 'java', 'http', [['GET', '/users/{userId}'], ['PUT', '/users/{userId}/preferences']], ['postgresql'], [], 2],
  ['product-catalog', 'go', 'grpc', ['catalog.ProductCatalogService/ListProducts', 'catalog.ProductCatalogService/GetProduct', 'catalog.ProductCatalogService/SearchProducts'], ['postgresql'], ['inventory'], 3],
  ['inventory', 'java', 'http', [['GET', '/inventory/{sku}'], ['POST', '/inventory/reserve']], ['mysql', 'redis'], [], 2],
  ['cart', 'dotnet', 'grpc', ['cart.CartService/GetCart', 'cart.CartService/AddItem', 'cart.CartService/EmptyCart'], ['redis'], [], 3],
  ['recommendation', 'python', 'grpc', ['recommendation.RecommendationService/ListRecommendations'], ['redis'], ['product-catalog'], 2],
  ['search', 'java', 'http', [['GET', '/search'], ['GET', '/search/suggest']], ['redis'], ['product-catalog'], 2],
  ['ad', 'java', 'grpc', ['ad.AdService/GetAds'], null, [], 2],
  ['currency', 'nodejs', 'grpc', ['currency.CurrencyService/Convert', 'currency.CurrencyService/GetSupportedCurrencies'], null, [], 2],
  ['checkout', 'go', 'grpc', ['checkout.CheckoutService/PlaceOrder'], ['postgresql'], ['cart', 'currency', 'payment', 'shipping', 'email', 'fraud-detection', 'quote'], 3],
  ['payment', 'nodejs', 'grpc', ['payment.PaymentService/Charge'], ['postgresql'], [], 3],
  ['shipping', 'python', 'http', [['POST', '/shipping/quote'], ['POST', '/shipping/ship']], null, ['quote'], 2],
  ['quote', 'python', 'http', [['POST', '/getquote']], null, [], 2],
  ['email', 'python', 'http', [['POST', '/send_order_confirmation']], null, ['notification'], 2],
  ['notification', 'nodejs', 'http', [['POST', '/notify']], ['mongodb'], [], 2],
  ['fraud-detection', 'java', 'grpc', ['fraud.FraudService/Score'], ['postgresql'], [], 2],
  ['accounting', 'dotnet', 'http', [['POST', '/ledger/entries']], ['postgresql'], [], 2],
  ['reporting', 'python', 'http', [['GET', '/reports/daily'], ['GET', '/reports/orders']], ['postgresql'], ['accounting'], 2],
].map(([name, lang, proto, endpoints, dbs, calls, npods]) => ({ name, lang, proto, endpoints, dbs: dbs || [], calls, npods }));
const byName = new Map(SVC.map((s) => [s.name, s]));
const TABLES = ['orders', 'order_items', 'products', 'users', 'payments', 'shipments', 'inventory', 'ledger', 'fraud_scores', 'sessions'];
const NODES = Array.from({ length: 6 }, () => `ip-10-0-${ri(0, 3)}-${ri(2, 250)}.ec2.internal`);
const START_MS = Date.now() - 10 * 60 * 1000; // the data covers the last ~10 minutes

for (const s of SVC) {
  const L = LANGS[s.lang];
  s.version = `${ri(1, 3)}.${ri(0, 14)}.${ri(0, 9)}`;
  const rs = lower(10);
  s.pods = Array.from({ length: s.npods }, () => {
    const podName = `${s.name}-${rs}-${lower(5)}`;
    const node = pick(NODES);
    return {
      svc: s, name: podName, cpu: [ri(50, 500), ri(10, 100)], mem: ri(60, 900) * 1048576, active: 0,
      processStartMs: START_MS - ri(3600, 86400 * 3) * 1000,
      resource: { attributes: kvs({
        'service.name': s.name, 'service.namespace': 'shop', 'service.version': s.version, 'service.instance.id': uuid(),
        'deployment.environment': 'production', 'host.name': node, 'host.arch': 'amd64', 'os.type': 'linux',
        'k8s.namespace.name': 'shop', 'k8s.pod.name': podName, 'k8s.deployment.name': s.name, 'k8s.node.name': node,
        'container.id': hex(32), 'process.runtime.name': L.runtime[0], 'process.runtime.version': L.runtime[1], 'process.pid': ri(1, 60),
        'telemetry.sdk.name': 'opentelemetry', 'telemetry.sdk.language': s.lang, 'telemetry.sdk.version': L.sdk,
      }) },
      spans: new Map(), logs: new Map(), // scope -> records, pending for the next request
      nspans: 0, nlogs: 0, batchSpans: ri(100, 500), batchLogs: ri(100, 500),
    };
  });
}

const requests = []; // {signal, at (ms, when the exporter would send it), body}
function cut(pod, signal) {
  const pend = signal === 'traces' ? pod.spans : pod.logs;
  const L = LANGS[pod.svc.lang];
  const scopeList = [...pend.entries()].map(([name, recs]) => {
    const version = [L.http, L.grpc, ...Object.values(L.db)].includes(name) ? L.httpV : undefined;
    return signal === 'traces' ? { scope: { name, version }, spans: recs } : { scope: { name, version }, logRecords: recs };
  });
  let at = 0;
  for (const s of scopeList) for (const r of s.spans || s.logRecords) at = Math.max(at, Number(BigInt(r.endTimeUnixNano || r.observedTimeUnixNano) / 1000000n));
  const body = signal === 'traces' ? { resourceSpans: [{ resource: pod.resource, scopeSpans: scopeList }] }
    : { resourceLogs: [{ resource: pod.resource, scopeLogs: scopeList }] };
  requests.push({ signal, at, body: JSON.stringify(body) });
  pend.clear();
  if (signal === 'traces') { pod.nspans = 0; pod.batchSpans = ri(100, 500); } else { pod.nlogs = 0; pod.batchLogs = ri(100, 500); }
}
function emitSpan(pod, scope, span) {
  if (!pod.spans.has(scope)) pod.spans.set(scope, []);
  pod.spans.get(scope).push(span);
  if (++pod.nspans >= pod.batchSpans) cut(pod, 'traces');
}
function emitLog(pod, scope, rec) {
  if (!pod.logs.has(scope)) pod.logs.set(scope, []);
  pod.logs.get(scope).push(rec);
  if (++pod.nlogs >= pod.batchLogs) cut(pod, 'logs');
}

// ---- traces ----
const SQL = {
  SELECT: (t) => `SELECT id, ${t === 'orders' ? 'user_id, status, total_cents, currency, created_at' : 'name, sku, price_cents, updated_at'} FROM ${t} WHERE id = $1`,
  INSERT: (t) => `INSERT INTO ${t} (id, user_id, status, total_cents, currency, created_at) VALUES ($1, $2, $3, $4, $5, now())`,
  UPDATE: (t) => `UPDATE ${t} SET status = $1, updated_at = now() WHERE id = $2`,
};
const REDIS = ['GET', 'SET', 'HGETALL', 'EXPIRE', 'MGET'];
let spanCount = 0;
const allSpans = []; // [pod, traceId, spanId, startMs, endMs, isRootHttp, span]

function span(pod, scope, traceId, parent, name, kind, startMs, durMs, attrs, error) {
  const s = {
    traceId, spanId: hex(8), parentSpanId: parent || undefined, name, kind, flags: 257,
    startTimeUnixNano: ns(startMs), endTimeUnixNano: ns(startMs + durMs), attributes: kvs(attrs),
    status: error ? { code: 2, message: error } : {},
  };
  if (!parent) s.flags = 1;
  spanCount++;
  return s;
}
function route2path(route) {
  return route.replace('{productId}', alnum(10)).replace('{userId}', String(ri(1000, 99999))).replace('{sku}', `SKU-${ri(10000, 99999)}`);
}

// A SERVER span of svc (and its subtree) inside [t, t + dur].
function serve(svc, traceId, parentId, t, dur, budget, depth, viaHttpFrom) {
  const pod = pick(svc.pods);
  const L = LANGS[svc.lang];
  const fail = chance(0.015);
  let s, scope;
  if (svc.proto === 'http') {
    const [method, route] = pick(svc.endpoints);
    const status = fail ? pick([500, 502, 503]) : chance(0.04) ? pick([400, 401, 404]) : route === '/' ? 200 : method === 'POST' ? pick([200, 201]) : 200;
    scope = L.http;
    s = span(pod, scope, traceId, parentId, `${method} ${route}`, 2, t, dur, {
      'http.request.method': method, 'url.path': route2path(route), 'url.scheme': 'http', 'http.route': route,
      'http.response.status_code': status, 'server.address': svc.name, 'server.port': 8080, 'network.protocol.version': '1.1',
      'client.address': `10.42.${ri(0, 9)}.${ri(2, 250)}`,
      'user_agent.original': depth === 0 ? pick(['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
        'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
        'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
        'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0']) : viaHttpFrom ? `${viaHttpFrom}/${pick(['axios/1.7.9', 'Go-http-client/1.1', 'python-requests/2.32.3'])}` : undefined,
    }, status >= 500 ? `HTTP ${status}` : undefined);
  } else {
    const full = pick(svc.endpoints);
    const [service, method] = full.split('/');
    scope = L.grpc;
    s = span(pod, scope, traceId, parentId, full, 2, t, dur, {
      'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': method, 'rpc.grpc.status_code': fail ? pick([2, 13, 14]) : 0,
      'server.address': svc.name, 'server.port': 50051, 'network.peer.address': `10.42.${ri(0, 9)}.${ri(2, 250)}`,
    }, fail ? pick(['upstream connect error', 'deadline exceeded', 'internal error']) : undefined);
  }
  if (fail) {
    s.events = [{ timeUnixNano: ns(t + dur * 0.9), name: 'exception', attributes: kvs({
      'exception.type': pick(['TimeoutError', 'java.net.SocketTimeoutException', 'ConnectionResetError', 'System.InvalidOperationException']),
      'exception.message': pick(['Request timed out after 3000 ms', 'Connection reset by peer', 'Sequence contains no elements']),
      'exception.stacktrace': `Error: Request timed out\n    at Timeout._onTimeout (/app/node_modules/${pick(['undici', 'pg-pool', 'ioredis'])}/lib/index.js:${ri(10, 900)}:${ri(5, 40)})\n    at listOnTimeout (node:internal/timers:581:17)\n    at process.processTimers (node:internal/timers:519:7)`,
    }) }];
  }
  const rec = [pod, traceId, s.spanId, t, t + dur, depth === 0, s];
  allSpans.push(rec);
  emitSpan(pod, scope, s);
  budget.left--;
  // children: downstream calls, database calls, some internal work, in order
  const kids = [];
  const ncalls = svc.calls.length ? ri(depth === 0 ? 1 : 0, Math.min(3, svc.calls.length)) : 0;
  for (let i = 0; i < ncalls; i++) kids.push(['call', pick(svc.calls)]);
  if (svc.dbs.length) for (let i = ri(0, 2); i > 0; i--) kids.push(['db', pick(svc.dbs)]);
  if (chance(0.3)) kids.push(['internal']);
  let cur = t + Math.min(dur * 0.05, 1);
  const slice = (dur * 0.9) / Math.max(1, kids.length);
  for (const k of kids) {
    if (budget.left <= 0) break;
    const d = slice * (0.3 + rnd() * 0.65);
    if (k[0] === 'db') {
      const sys = k[1];
      const table = pick(TABLES);
      let name, attrs;
      if (sys === 'redis') {
        const op = pick(REDIS);
        name = op;
        attrs = { 'db.system': 'redis', 'db.statement': `${op} ${pick(['cart', 'session', 'product', 'rate'])}:${alnum(8)}`, 'db.operation.name': op, 'server.address': 'redis-master.shop.svc.cluster.local', 'server.port': 6379 };
      } else if (sys === 'mongodb') {
        name = `find ${table}`;
        attrs = { 'db.system': 'mongodb', 'db.name': 'notifications', 'db.operation.name': 'find', 'db.collection.name': table, 'db.statement': `{"find":"${table}","filter":{"userId":"?"},"limit":"?"}`, 'server.address': 'mongo.shop.svc.cluster.local', 'server.port': 27017 };
      } else {
        const op = pick(['SELECT', 'SELECT', 'SELECT', 'INSERT', 'UPDATE']);
        name = `${op} shop.${table}`;
        attrs = { 'db.system': sys, 'db.name': 'shop', 'db.operation.name': op, 'db.collection.name': table, 'db.statement': SQL[op](table), 'db.user': `${svc.name}_rw`, 'server.address': `${sys}-primary.shop.svc.cluster.local`, 'server.port': sys === 'mysql' ? 3306 : 5432 };
      }
      const ds = span(pod, LANGS[svc.lang].db[sys], traceId, s.spanId, name, 3, cur, Math.min(d, lat(2)), attrs);
      allSpans.push([pod, traceId, ds.spanId, cur, cur + d, false, ds]);
      emitSpan(pod, LANGS[svc.lang].db[sys], ds);
      budget.left--;
    } else if (k[0] === 'internal') {
      const is = span(pod, `${svc.name}`, traceId, s.spanId, pick(['validate', 'render', 'serialize response', 'compute totals', 'load config', 'apply discounts']), 1, cur, d * 0.5, { 'code.function': pick(['handle', 'process', 'run', 'apply']) });
      allSpans.push([pod, traceId, is.spanId, cur, cur + d * 0.5, false, is]);
      emitSpan(pod, svc.name, is);
      budget.left--;
    } else {
      const callee = byName.get(k[1]);
      let cs;
      if (callee.proto === 'http') {
        const [method, route] = pick(callee.endpoints);
        cs = span(pod, L.http, traceId, s.spanId, method, 3, cur, d, {
          'http.request.method': method, 'server.address': callee.name, 'server.port': 8080,
          'url.full': `http://${callee.name}:8080${route2path(route)}`, 'http.response.status_code': 200, 'network.protocol.version': '1.1',
        });
        emitSpan(pod, L.http, cs);
      } else {
        const full = pick(callee.endpoints);
        const [service, method] = full.split('/');
        cs = span(pod, L.grpc, traceId, s.spanId, full, 3, cur, d, {
          'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': method, 'rpc.grpc.status_code': 0,
          'server.address': callee.name, 'server.port': 50051,
        });
        emitSpan(pod, L.grpc, cs);
      }
      allSpans.push([pod, traceId, cs.spanId, cur, cur + d, false, cs]);
      budget.left--;
      if (budget.left > 0) serve(callee, traceId, cs.spanId, cur + 0.2 + rnd() * 0.5, Math.max(0.1, d - 1), budget, depth + 1, callee.proto === 'http' ? svc.name : undefined);
    }
    cur += d + slice * 0.05;
  }
}

const proxy = byName.get('frontend-proxy');
let traceStart = START_MS;
const ntracesWanted = Math.ceil(MIX_SPANS / 10);
const traceGap = (8 * 60 * 1000) / ntracesWanted; // spread over 8 minutes
while (spanCount < MIX_SPANS) {
  const budget = { left: ri(6, 14) };
  serve(proxy, hex(16), null, traceStart, lat(80), budget, 0);
  traceStart += traceGap * (0.5 + rnd());
}

// ---- logs ----
const ACCESS_TIME = (ms) => { const d = new Date(ms); const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()];
  return `${String(d.getUTCDate()).padStart(2, '0')}/${mon}/${d.getUTCFullYear()}:${d.toISOString().slice(11, 19)} +0000`; };
const APP_LOGS = [
  [9, 'INFO', (x) => `Order ${x.id} placed for user ${x.user}: ${x.items} items, total ${x.amount} USD`],
  [9, 'INFO', (x) => `Fetched ${x.items} products from catalog in ${x.ms} ms`],
  [9, 'INFO', (x) => `Payment authorized for order ${x.id} (card ending ${x.card})`],
  [9, 'INFO', (x) => `Cart ${x.uuid} updated: ${x.items} items`],
  [9, 'INFO', (x) => `Shipment scheduled for order ${x.id}, carrier ${x.carrier}, tracking ${x.track}`],
  [9, 'INFO', (x) => `Sent order confirmation to ${x.user}@example.com`],
  [9, 'INFO', (x) => `request completed method=${x.method} path=${x.path} status=200 duration=${x.ms}ms`],
  [5, 'DEBUG', (x) => `Cache miss for key product:${x.sku}, loading from database`],
  [5, 'DEBUG', (x) => `Resolved currency conversion USD->${x.cur} rate=${x.rate}`],
  [13, 'WARN', (x) => `Slow query detected (${x.slow} ms): SELECT * FROM orders WHERE user_id = $1`],
  [13, 'WARN', (x) => `Retrying call to ${x.dep} (attempt ${x.attempt}/3): connection reset by peer`],
  [13, 'WARN', (x) => `Circuit breaker for ${x.dep} half-open after ${x.attempt * 10} s`],
  [17, 'ERROR', (x) => `Failed to charge card for order ${x.id}: ${x.err}`],
  [17, 'ERROR', (x) => `Unhandled exception while processing request ${x.uuid}: ${x.err}`],
];
const BACKGROUND = [
  [9, 'INFO', () => `Health check OK`],
  [9, 'INFO', (x) => `GC pause (G1 Evacuation Pause) ${x.ms} ms, heap ${x.items * 10} MB -> ${x.items * 7} MB`],
  [9, 'INFO', (x) => `Refreshed feature flags: ${x.items} flags, version ${x.id}`],
  [13, 'WARN', (x) => `Kafka consumer lag on partition ${x.attempt} is ${x.ms * 10} messages`],
  [5, 'DEBUG', (x) => `Connection pool stats: active=${x.attempt} idle=${x.items} waiting=0`],
];
const vars = () => ({
  id: `ORD-${ri(100000, 999999)}`, user: `user${ri(1000, 99999)}`, items: ri(1, 12), amount: (ri(500, 50000) / 100).toFixed(2), card: ri(1000, 9999),
  uuid: uuid(), carrier: pick(['UPS', 'FedEx', 'DHL', 'USPS']), track: `1Z${alnum(16)}`, ms: ri(1, 400), method: pick(['GET', 'POST']),
  path: pick(['/api/cart', '/api/products', '/api/checkout']), sku: `SKU-${ri(10000, 99999)}`, cur: pick(['EUR', 'GBP', 'JPY', 'CAD']), rate: (0.5 + rnd()).toFixed(4),
  slow: ri(500, 5000), dep: pick(['payment', 'inventory', 'postgresql-primary', 'redis-master']), attempt: ri(1, 3),
  err: pick(['card declined (insufficient funds)', 'upstream timeout after 3000 ms', 'NullPointerException at OrderService.java:142', 'invalid currency code']),
});
function appLog(pod, tMs, traced) {
  const svc = pod.svc;
  const L = LANGS[svc.lang];
  const r = rnd();
  const tpl = !traced ? pick(BACKGROUND) : r < 0.78 ? pick(APP_LOGS.slice(0, 7)) : r < 0.88 ? pick(APP_LOGS.slice(7, 9)) : r < 0.96 ? pick(APP_LOGS.slice(9, 12)) : pick(APP_LOGS.slice(12));
  const x = vars();
  const cls = svc.name.split('-').map((w) => w[0].toUpperCase() + w.slice(1)).join('');
  const scope = L.logger || `com.example.shop.${svc.name.replace('-', '')}.${cls}Service`;
  const attrs = svc.lang === 'java' ? { 'thread.name': `http-nio-8080-exec-${ri(1, 20)}`, 'code.namespace': `com.example.shop.${svc.name.replace('-', '')}.${cls}Service`, 'code.function': pick(['handle', 'placeOrder', 'lookup', 'process']) }
    : svc.lang === 'go' ? { 'code.filepath': `/src/${svc.name}/main.go`, 'code.lineno': ri(40, 400) }
      : svc.lang === 'python' ? { 'code.function': pick(['handle', 'get_quote', 'send']), 'code.lineno': ri(10, 300) }
        : {};
  if (tpl[1] === 'ERROR') { attrs['exception.type'] = pick(['PaymentDeclinedError', 'TimeoutError', 'java.lang.NullPointerException']); attrs['exception.message'] = x.err; }
  return [scope, { timeUnixNano: ns(tMs), observedTimeUnixNano: ns(tMs + rnd() * 2), severityNumber: tpl[0], severityText: tpl[1], body: { stringValue: tpl[2](x) }, attributes: kvs(attrs) }];
}
let logCount = 0;
// access logs for every request the proxy served, app logs inside random spans,
// background logs without trace context; in time order
const logEvents = [];
for (const [pod, traceId, spanId, t0, t1, root, s] of allSpans) {
  if (root) logEvents.push([t1, pod, 'access', traceId, spanId, s]);
}
while (logEvents.length < MIX_LOGS) {
  if (chance(0.2)) { const pod = pick(pick(SVC).pods); logEvents.push([START_MS + rnd() * 8 * 60000, pod, 'bg']); continue; }
  const [pod, traceId, spanId, t0, t1] = pick(allSpans);
  logEvents.push([t0 + (t1 - t0) * rnd(), pod, 'app', traceId, spanId]);
}
logEvents.sort((a, b) => a[0] - b[0]);
for (const [t, pod, kind, traceId, spanId, s] of logEvents) {
  if (kind === 'access') {
    const a = Object.fromEntries(s.attributes.map((kv) => [kv.key, kv.value.stringValue ?? Number(kv.value.intValue)]));
    const bytes = ri(200, 60000);
    const body = `${a['client.address']} - - [${ACCESS_TIME(t)}] "${a['http.request.method']} ${a['url.path']} HTTP/1.1" ${a['http.response.status_code']} ${bytes} "-" "${a['user_agent.original']}" ${((t - Number(BigInt(s.startTimeUnixNano) / 1000000n)) / 1000).toFixed(3)}`;
    emitLog(pod, 'access', { timeUnixNano: ns(t), observedTimeUnixNano: ns(t + rnd()), severityNumber: 9, severityText: 'INFO', body: { stringValue: body },
      attributes: kvs({ 'log.type': 'access', 'http.request.method': a['http.request.method'], 'url.path': a['url.path'], 'http.response.status_code': a['http.response.status_code'], 'http.response.body.size': bytes, 'client.address': a['client.address'] }),
      traceId, spanId, flags: 1 });
  } else {
    const [scope, rec] = appLog(pod, t, kind === 'app');
    if (kind === 'app') { rec.traceId = traceId; rec.spanId = spanId; rec.flags = 1; }
    emitLog(pod, scope, rec);
  }
  logCount++;
}
for (const s of SVC) for (const p of s.pods) { if (p.nspans) cut(p, 'traces'); if (p.nlogs) cut(p, 'logs'); }

// ---- metrics: every pod's instruments collected every 10 s, cumulative;
// a collector batches the ticks of all pods into requests of ~200 points ----
const BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
function histState() { return { count: 0, sum: 0, min: Infinity, max: -Infinity, buckets: new Array(BOUNDS.length + 1).fill(0) }; }
function observe(h, v) { h.count++; h.sum += v; h.min = Math.min(h.min, v); h.max = Math.max(h.max, v); let i = 0; while (i < BOUNDS.length && v > BOUNDS[i]) i++; h.buckets[i]++; }
for (const s of SVC) for (const p of s.pods) {
  p.series = [];
  const eps = s.proto === 'http' ? s.endpoints.slice(0, 3) : s.endpoints.slice(0, 2);
  for (const ep of eps) {
    if (s.proto === 'http') {
      for (const status of [200, 500]) p.series.push({ metric: 'http.server.request.duration', attrs: { 'http.request.method': ep[0], 'http.route': ep[1], 'http.response.status_code': status, 'url.scheme': 'http', 'network.protocol.version': '1.1' }, h: histState(), rate: status === 200 ? 20 : 0.3, med: 0.03 });
    } else {
      const [service, method] = ep.split('/');
      p.series.push({ metric: 'rpc.server.duration', attrs: { 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': method, 'rpc.grpc.status_code': 0 }, h: histState(), rate: 25, med: 8 });
    }
  }
  for (const db of s.dbs) p.series.push({ metric: 'db.client.operation.duration', attrs: { 'db.system': db, 'db.operation.name': db === 'redis' ? 'GET' : 'SELECT', 'db.collection.name': db === 'redis' ? undefined : pick(TABLES), 'server.address': `${db}-primary.shop.svc.cluster.local` }, h: histState(), rate: 30, med: 0.002 });
  p.series.push({ metric: 'process.cpu.time', attrs: { 'cpu.mode': 'user' }, c: 0, per: p.cpu[0] / 1000 });
  p.series.push({ metric: 'process.cpu.time', attrs: { 'cpu.mode': 'system' }, c: 0, per: p.cpu[1] / 1000 });
  p.series.push({ metric: 'process.memory.usage', attrs: {}, g: p.mem });
  p.series.push({ metric: 'process.cpu.utilization', attrs: {}, u: 0.1 });
  p.series.push({ metric: 'http.server.active_requests', attrs: { 'http.request.method': 'GET', 'url.scheme': 'http' }, a: 0 });
  p.series.push({ metric: 'system.network.io', attrs: { 'network.io.direction': 'transmit', 'network.interface.name': 'eth0' }, c: 0, per: ri(20000, 900000) });
  p.series.push({ metric: 'system.network.io', attrs: { 'network.io.direction': 'receive', 'network.interface.name': 'eth0' }, c: 0, per: ri(20000, 900000) });
}
const META = {
  'http.server.request.duration': ['Duration of HTTP server requests.', 's', 'histogram'],
  'rpc.server.duration': ['Measures the duration of inbound RPC.', 'ms', 'histogram'],
  'db.client.operation.duration': ['Duration of database client operations.', 's', 'histogram'],
  'process.cpu.time': ['Total CPU seconds broken down by different CPU modes.', 's', 'counter'],
  'process.memory.usage': ['The amount of physical memory in use.', 'By', 'updown'],
  'process.cpu.utilization': ['Difference in process.cpu.time since the last measurement, divided by the elapsed time and number of CPUs available to the process.', '1', 'gauge'],
  'http.server.active_requests': ['Number of active HTTP server requests.', '{request}', 'updown'],
  'system.network.io': ['Network bytes transferred.', 'By', 'counter'],
};
let pointCount = 0;
for (let tick = 0; tick < MIX_TICKS; tick++) {
  const tMs = START_MS + (tick + 1) * 10000 + ri(0, 50);
  const rms = [];
  let npts = 0;
  const flush = () => { if (rms.length) requests.push({ signal: 'metrics', at: tMs, body: JSON.stringify({ resourceMetrics: rms.splice(0) }) }); npts = 0; };
  for (const s of SVC) for (const p of s.pods) {
    const metrics = new Map();
    for (const se of p.series) {
      const [description, unit, type] = META[se.metric];
      let dp;
      const base = { attributes: kvs(se.attrs), startTimeUnixNano: ns(p.processStartMs), timeUnixNano: ns(tMs) };
      if (se.h) {
        const n = Math.round(se.rate * 10 * (0.5 + rnd()));
        for (let i = 0; i < n; i++) observe(se.h, lat(se.med));
        const h = se.h;
        dp = { ...base, count: String(h.count), sum: h.sum, bucketCounts: h.buckets.map(String), explicitBounds: BOUNDS, min: h.count ? h.min : undefined, max: h.count ? h.max : undefined };
      } else if (se.c !== undefined) {
        se.c += se.per * 10 * (0.7 + rnd() * 0.6);
        dp = { ...base, asDouble: se.metric === 'process.cpu.time' ? Math.round(se.c * 1000) / 1000 : undefined, asInt: se.metric === 'process.cpu.time' ? undefined : String(Math.round(se.c)) };
      } else if (se.g !== undefined) {
        se.g = Math.max(30 * 1048576, se.g + ri(-8, 9) * 1048576 + ri(0, 1048575));
        dp = { ...base, asInt: String(se.g) };
      } else if (se.u !== undefined) {
        se.u = Math.min(1, Math.max(0.01, se.u + (rnd() - 0.5) * 0.05));
        dp = { attributes: base.attributes, timeUnixNano: base.timeUnixNano, asDouble: se.u };
      } else {
        se.a = Math.max(0, se.a + ri(-3, 3));
        dp = { ...base, asInt: String(se.a) };
      }
      if (!metrics.has(se.metric)) {
        const m = { name: se.metric, description, unit };
        if (type === 'histogram') m.histogram = { dataPoints: [], aggregationTemporality: 2 };
        else if (type === 'gauge') m.gauge = { dataPoints: [] };
        else m.sum = { dataPoints: [], aggregationTemporality: 2, isMonotonic: type === 'counter' };
        metrics.set(se.metric, m);
      }
      const m = metrics.get(se.metric);
      (m.histogram || m.gauge || m.sum).dataPoints.push(dp);
      npts++;
      pointCount++;
    }
    rms.push({ resource: p.resource, scopeMetrics: [{ scope: { name: `${s.name}-metrics`, version: s.version }, metrics: [...metrics.values()] }] });
    if (npts >= 200) flush();
  }
  flush();
}
requests.sort((a, b) => a.at - b.at);

// ---------------------------------------------------------------------------
// The server, and what it says.
function promBytes(control) {
  const text = curl(`${control}/metrics`).text;
  const out = {};
  for (const m of text.matchAll(/^openwit_ingest_(bytes|records)_total\{tenant="([^"]+)",signal="([^"]+)"\} (\d+)$/gm)) {
    out[`${m[2]}/${m[3]}`] ??= {};
    out[`${m[2]}/${m[3]}`][m[1]] = Number(m[4]);
  }
  return out;
}
function serverErrors(s) {
  return s.log().split('\n').filter((l) => /\[(error|crit)\]|AddressSanitizer|runtime error:/.test(l));
}

const cfgActive = { ...baseConfig, 'storage.file_rotation.file_duration_minutes': 60, 'storage.file_rotation.check_interval_ms': 600000 };
const s = await start({ tag: 'bench-storage', config: cfgActive });
const db = path.join(s.data, 'openwit.db');
say(`dataset (b) generated: ${spanCount} spans, ${logCount} logs, ${pointCount} points in ${requests.length} requests; server on ${s.otlp}`);

// (a) the OpenTelemetry JS SDK, protobuf: JS_METRIC_ROUNDS collections of
// the same instruments (one process each, ~0.5 s), and among them
// JS_ROUNDS runs of JS_COUNT / JS_ROUNDS spans and log records, each with
// its own marker (so its own ids and names), that land in separate flushes
const JS_ROUNDS = 4;
for (let i = 0, k = 0; i < JS_METRIC_ROUNDS || k < JS_ROUNDS; i++) {
  const sends = [];
  if (i < JS_METRIC_ROUNDS) sends.push(['metrics', String(10 + i), 'bench-storage']);
  if (k < JS_ROUNDS && i >= (k * JS_METRIC_ROUNDS) / JS_ROUNDS) {
    for (const sig of ['traces', 'logs']) sends.push([sig, String(JS_COUNT / JS_ROUNDS), `bench-storage-${k}`]);
    k++;
  }
  for (const [signal, count, marker] of sends) {
    const r = otelSend(s.otlp, signal, 'proto', ['--tenant', TENANT_A, '--count', count, '--marker', marker]);
    if (r.exit !== 0) throw new Error(`otelSend ${signal}: ${JSON.stringify(r)}`);
  }
}
say('dataset (a) sent');

// (b) the mix, OTLP/JSON over CONNS keep-alive connections
const agent = new http.Agent({ keepAlive: true, maxSockets: CONNS });
let next = 0, jsonBytes = { traces: 0, logs: 0, metrics: 0 };
const sendStart = Date.now();
async function worker() {
  while (next < requests.length) {
    const i = next++, r = requests[i];
    const due = sendStart + (PACE_S * 1000 * i) / requests.length - Date.now();
    if (due > 0) await sleep(due);
    for (let attempt = 0; ; attempt++) {
      const res = await httpPost(s.ports.otlp, `/v1/${r.signal}`, r.body, { agent, headers: { 'X-Scope-OrgID': TENANT_B } });
      if (res.code === 200) break;
      if (res.code !== 503 || attempt > 50) throw new Error(`POST /v1/${r.signal}: ${res.code} ${res.text.slice(0, 300)}`);
      await sleep(100);
    }
    jsonBytes[r.signal] += Buffer.byteLength(r.body);
  }
}
await Promise.all(Array.from({ length: CONNS }, worker));
agent.destroy();
say(`dataset (b) sent over ${((Date.now() - sendStart) / 1000).toFixed(1)} s`);

// every acknowledged record stored: the tracker's record counts reach the
// acknowledged ones and no batch waits for storage
const ingest = promBytes(s.control);
const wantRecords = Object.values(ingest).reduce((a, v) => a + v.records, 0);
for (let k = 0; ; k++) {
  const r = sql(db, 'select count(*) n, coalesce(sum(storage_pip = 0), 0) waiting, coalesce(sum(record_count), 0) recs from batch_tracker')[0];
  if (r.waiting === 0 && r.recs === wantRecords) break;
  if (k > 600) throw new Error(`batches not stored after 60 s: ${JSON.stringify(r)}, want ${wantRecords} records`);
  await sleep(100);
}
say('all batches stored in active parts');

const partsQ = "select tenant, signal, kind, count(*) n, sum(rows) rows, sum(bytes) bytes, count(distinct day) days from parts group by 1, 2, 3";
const before = sql(db, partsQ);
const diskBytes = (list) => list.reduce((a, p) => a + fs.statSync(path.join(s.data, p.path)).size, 0);
const activeList = sql(db, "select path from parts where kind = 'active'");
const activeDisk = diskBytes(activeList);
const activeCat = before.reduce((a, r) => a + r.bytes, 0);
if (activeDisk !== activeCat) say(`warning: catalog says ${activeCat} bytes, files hold ${activeDisk}`);

await s.stop('SIGTERM');
const err1 = serverErrors(s);

// restart with a janitor that merges at once
const s2 = await start({ dir: s.dir, ports: s.ports, config: { ...baseConfig, 'storage.file_rotation.file_duration_minutes': 0, 'storage.file_rotation.check_interval_ms': 100 } });
for (let k = 0; ; k++) {
  const r = sql(db, 'select count(*) n from (select 1 from parts group by tenant, signal, day having count(*) > 1)')[0];
  if (r.n === 0) break;
  if (k > 1200) throw new Error('parts not merged after 120 s');
  await sleep(100);
}
say('merged');
const after = sql(db, partsQ);

// ---------------------------------------------------------------------------
// The table.
const rowsOf = (list, t, sig) => list.filter((r) => r.tenant === t && r.signal === sig);
const sum = (list, k) => list.reduce((a, r) => a + r[k], 0);
const lines = [];
const head = ['dataset', 'signal', 'records', 'protobuf B', 'pb B/rec', 'active B/rec', 'active/pb', 'stable B/rec', 'stable/pb', 'parts before', 'after'];
for (const [t, label] of [[TENANT_A, '(a) otel-js'], [TENANT_B, '(b) mix']]) for (const sig of SIGNALS) {
  const b = rowsOf(before, t, sig), a = rowsOf(after, t, sig);
  const pb = ingest[`${t}/${sig}`] || { bytes: 0, records: 0 };
  const recs = sum(b, 'rows');
  if (recs !== pb.records || sum(a, 'rows') !== recs) say(`warning: ${t}/${sig}: ${pb.records} acknowledged, ${recs} rows before, ${sum(a, 'rows')} after`);
  const ab = sum(b, 'bytes'), sb = sum(a, 'bytes');
  const kinds = [...new Set(a.map((r) => r.kind))].join('+');
  lines.push([label, sig, recs, pb.bytes, (pb.bytes / recs).toFixed(1), (ab / recs).toFixed(1), (ab / pb.bytes).toFixed(3),
    (sb / recs).toFixed(1), (sb / pb.bytes).toFixed(3), sum(b, 'n'), `${sum(a, 'n')}${kinds === 'stable' ? '' : ` (${kinds})`}`]);
}
const table = (hd, rows) => {
  const w = hd.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const fmt = (r) => r.map((c, i) => (i < 2 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join('  ');
  console.log(fmt(hd));
  console.log(w.map((n) => '-'.repeat(n)).join('  '));
  for (const r of rows) console.log(fmt(r));
};
console.log(`openwit storage: Parquet bytes on disk per record vs OTLP protobuf bytes received (${new Date().toISOString().slice(0, 10)})`);
table(head, lines);
const jb = (sig) => (jsonBytes[sig] / (ingest[`${TENANT_B}/${sig}`]?.records || 1)).toFixed(1);
console.log(`(b) was sent as OTLP/JSON: ${jb('traces')} B/span, ${jb('logs')} B/log record, ${jb('metrics')} B/point uncompressed JSON`);

// Where the bytes of (b)'s stable spans and logs parts go: column chunks
// (compressed, page headers included), bloom filters, and the rest (footer,
// magic).
for (const sig of ['traces', 'logs']) {
  const files = sql(db, `select path, rows, bytes from parts where tenant = '${TENANT_B}' and signal = '${sig}' and kind = 'stable'`);
  if (!files.length) continue;
  const list = `[${files.map((f) => `'${path.join(s2.data, f.path)}'`).join(', ')}]`;
  const recs = sum(files, 'rows'), bytes = sum(files, 'bytes');
  const cols = await duck(`select path_in_schema col, sum(total_compressed_size)::bigint c, sum(total_uncompressed_size)::bigint u,
      sum(coalesce(bloom_filter_length, 0))::bigint bloom, string_agg(distinct encodings, ' / ') enc
    from parquet_metadata(${list}) group by 1 order by c desc`);
  const chunks = cols.reduce((a, r) => a + Number(r.c), 0), bloom = cols.reduce((a, r) => a + Number(r.bloom), 0);
  console.log(`\n(b) mix ${sig}, stable: ${recs} rows, ${bytes} B = ${(bytes / recs).toFixed(1)} B/record: column chunks ${(chunks / recs).toFixed(1)}, ` +
    `bloom filters ${(bloom / recs).toFixed(1)}, footer and the rest ${((bytes - chunks - bloom) / recs).toFixed(1)}; top 10 columns:`);
  table(['column', 'encodings', 'B/rec', '% file', 'uncompr. B/rec'], cols.slice(0, 10).map((r) => [r.col, r.enc, (Number(r.c) / recs).toFixed(2),
    (100 * Number(r.c) / bytes).toFixed(1), (Number(r.u) / recs).toFixed(2)]));
}

const err2 = serverErrors(s2);
await s2.stop('SIGTERM');
for (const e of [...err1, ...err2]) say(`server log: ${e}`);
if (process.env.KEEP) say(`kept ${s.dir}`);
else fs.rmSync(s.dir, { recursive: true, force: true });
say('done');
process.exit(err1.length + err2.length ? 1 : 0);

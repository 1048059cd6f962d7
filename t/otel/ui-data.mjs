#!/usr/bin/env node
// The web UI test's data (t/96ui.t), sent with the OpenTelemetry JS SDK
// over OTLP/HTTP protobuf, the way an instrumented shop would send it.
//
//   node ui-data.mjs --url http://127.0.0.1:PORT [--traces N] [--big N]
//                    [--logs-only TEXT] [--header 'Name: value']...
//
// Three services (frontend, checkout, payments), each its own resource and
// providers. --traces N traces over the last 30 minutes: frontend "GET
// /cart" (SERVER) -> checkout "place order" -> payments "charge" and
// checkout "reserve stock" (with an event, and a link to the trace
// before); every 5th charge fails (status ERROR, an exception event).
// Each trace has 3 log records with its trace context (INFO, DEBUG and,
// on a failed one, ERROR), bodies "order N ...". --big N: one more trace
// of N spans in service "bulk" (a tree 5 levels deep, fan-out 10), now.
// --logs-only TEXT: just one INFO log record of checkout with body TEXT,
// now (the live tail's). Prints one JSON line: {traces: [ids], big: id,
// spans, logs, failed}; exits 1 if an export failed.
import { parseArgs } from 'node:util';
import { trace, context, ROOT_CONTEXT, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { LoggerProvider, BatchLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';

const { values: o } = parseArgs({ options: {
  url: { type: 'string' }, traces: { type: 'string', default: '0' }, big: { type: 'string', default: '0' },
  'logs-only': { type: 'string' }, header: { type: 'string', multiple: true, default: [] },
} });
const headers = Object.fromEntries(o.header.map((x) => [x.slice(0, x.indexOf(':')).trim(), x.slice(x.indexOf(':') + 1).trim()]));
let failed = 0;
const counting = (exp) => ({
  export: (items, cb) => exp.export(items, (r) => { if (r.code !== 0) failed++; cb(r); }),
  shutdown: () => exp.shutdown(), forceFlush: () => exp.forceFlush?.(),
});
const providers = [];
function service(name) {
  const resource = resourceFromAttributes({ 'service.name': name, 'service.version': '2.4.1', 'deployment.environment': 'test' });
  const tp = new BasicTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(
    counting(new OTLPTraceExporter({ url: `${o.url}/v1/traces`, headers, timeoutMillis: 30000 })),
    { maxQueueSize: 30000, maxExportBatchSize: 2000, scheduledDelayMillis: 3600e3, exportTimeoutMillis: 30000 })] });
  const lp = new LoggerProvider({ resource, processors: [new BatchLogRecordProcessor({
    exporter: counting(new OTLPLogExporter({ url: `${o.url}/v1/logs`, headers, timeoutMillis: 30000 })),
    maxQueueSize: 30000, maxExportBatchSize: 2000, scheduledDelayMillis: 3600e3, exportTimeoutMillis: 30000 })] });
  providers.push(tp, lp);
  return { tracer: tp.getTracer('shop', '1.0.0'), logger: lp.getLogger('shop', '1.0.0') };
}
const front = service('frontend'), checkout = service('checkout'), payments = service('payments');
const out = { traces: [], big: null, spans: 0, logs: 0 };
const under = (span) => trace.setSpan(ROOT_CONTEXT, span);

if (o['logs-only'] !== undefined) {
  checkout.logger.emit({ timestamp: Date.now(), severityNumber: SeverityNumber.INFO, severityText: 'INFO', body: o['logs-only'], attributes: { 'log.kind': 'tail' } });
  out.logs++;
}

const N = Number(o.traces);
const now = Date.now();
let prev = null;
for (let i = 0; i < N; i++) {
  const t = now - 30 * 60e3 + Math.floor(((i + 0.5) / N) * 29 * 60e3);
  const fail = i % 5 === 4;
  const root = front.tracer.startSpan('GET /cart', { kind: SpanKind.SERVER, startTime: t, attributes: { 'http.route': '/cart', 'http.request.method': 'GET', 'http.response.status_code': fail ? 500 : 200, 'user.id': `u${i % 7}` } });
  const place = checkout.tracer.startSpan('place order', { kind: SpanKind.SERVER, startTime: t + 2, attributes: { 'order.id': i } }, under(root));
  const stock = checkout.tracer.startSpan('reserve stock', { kind: SpanKind.INTERNAL, startTime: t + 3, attributes: { 'items': 1 + (i % 4) },
    links: prev ? [{ context: prev, attributes: { 'link.kind': 'previous order' } }] : [] }, under(place));
  stock.addEvent('stock checked', { 'warehouse': 'north' }, t + 5);
  stock.end(t + 8 + (i % 3));
  const charge = payments.tracer.startSpan('charge', { kind: SpanKind.CLIENT, startTime: t + 10, attributes: { 'payment.amount': 10 + i, 'payment.currency': 'EUR' } }, under(place));
  if (fail) {
    charge.addEvent('exception', { 'exception.type': 'CardDeclined', 'exception.message': `card declined for order ${i}` }, t + 30);
    charge.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' });
  }
  charge.end(t + 12 + (i % 10) * 7);
  place.end(t + 14 + (i % 10) * 7);
  root.setStatus(fail ? { code: SpanStatusCode.ERROR, message: 'HTTP 500' } : { code: SpanStatusCode.OK });
  root.end(t + 16 + (i % 10) * 7 + (i % 3));
  out.spans += 4;
  const ctx = root.spanContext();
  out.traces.push(ctx.traceId);
  prev = ctx;
  const log = (svc, span, ms, sev, text, body) => {
    svc.logger.emit({ timestamp: ms, severityNumber: sev, severityText: text, body, attributes: { 'order.id': i }, context: under(span) });
    out.logs++;
  };
  log(front, root, t + 1, SeverityNumber.INFO, 'INFO', `order ${i}: cart requested by u${i % 7}`);
  log(checkout, place, t + 4, SeverityNumber.DEBUG, 'DEBUG', `order ${i}: reserving ${1 + (i % 4)} items`);
  if (fail) log(payments, charge, t + 30, SeverityNumber.ERROR, 'ERROR', `order ${i}: card declined`);
}

const BIG = Number(o.big);
if (BIG) {
  const bulk = service('bulk');
  const t = Date.now() - 60e3;
  let made = 0;
  const root = bulk.tracer.startSpan('bulk import', { kind: SpanKind.SERVER, startTime: t });
  made++;
  // breadth first, 10 children a span, until BIG spans
  const queue = [[root, t, 0]];
  const ends = [];
  while (queue.length && made < BIG) {
    const [parent, start, depth] = queue.shift();
    for (let k = 0; k < 10 && made < BIG; k++) {
      const s0 = start + 1 + k * 2;
      const span = bulk.tracer.startSpan(`step ${depth + 1}.${k}`, { kind: SpanKind.INTERNAL, startTime: s0, attributes: { 'step.depth': depth + 1, 'step.n': made } }, under(parent));
      made++;
      if (made % 997 === 0) span.setStatus({ code: SpanStatusCode.ERROR, message: 'retry needed' });
      if (depth + 1 < 4) queue.push([span, s0, depth + 1]);
      ends.push([span, s0 + 1 + ((made * 7) % 40)]);
    }
  }
  for (const [span, e] of ends.reverse()) span.end(e);
  root.end(t + 45000);
  out.big = root.spanContext().traceId;
  out.spans += made;
}

for (const p of providers) { await p.forceFlush(); await p.shutdown(); }
out.failed = failed;
console.log(JSON.stringify(out));
process.exit(failed ? 1 : 0);

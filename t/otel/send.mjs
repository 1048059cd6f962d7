#!/usr/bin/env node
// OpenTelemetry JS SDK test client for OpenWit's OTLP/HTTP receiver.
//
// Uses the real SDK providers/processors and the real OTLP exporters
// (exporter-*-otlp-proto for --encoding proto, exporter-*-otlp-http for
// --encoding json, exporter-*-otlp-grpc for --encoding grpc, where --url is
// http://HOST:PORT of the OTLP/gRPC listener), so what arrives at the server is byte-for-byte what a
// JS application instrumented with OpenTelemetry would send.
//
// Usage:
//   node send.mjs --url http://127.0.0.1:PORT --signal traces|logs|metrics
//                 --encoding proto|json|grpc [--tenant NAME] [--count N]
//                 [--marker STRING] [--gzip] [--processor batch|simple]
//                 [--temporality cumulative|delta] [--timeout-ms MS]
//                 [--header 'Name: value']... [--ca FILE]
//
// Prints exactly one JSON line on stdout:
//   {"signal","encoding","exports","succeeded","failed","errors","items"}
// and exits 0 if every export call succeeded (and at least one happened when
// --count > 0), 1 otherwise, 2 on bad usage. Diagnostics go to stderr only.
//
// What gets sent (all tagged with the marker so a test can find its data):
//   traces : N spans named `${marker}-span-${i}`; span 1 is a child of span 0
//            (same trace), span 0 carries an event, the last span (when N>1)
//            has status ERROR. Attributes: string, int, double, bool, string
//            array, int array. Trace/span ids are deterministic, derived from
//            sha256 of the marker (see MarkerIdGenerator), so repeated runs
//            with the same marker produce the same ids.
//   logs   : N log records with body `${marker}-log-${i}`, rotating severities
//            (INFO/WARN/ERROR/DEBUG), typed attributes; record 0 carries a
//            trace context (trace id = markerTraceId(marker, 0), i.e. the id
//            of the first trace the traces signal would produce).
//   metrics: instruments `${m}.counter` (int Counter), `${m}.updown`
//            (int UpDownCounter), `${m}.histogram` (double Histogram), `${m}.gauge`
//            (double ObservableGauge), m = marker sanitized to a valid instrument
//            name; N recordings each on the synchronous instruments over 2
//            attribute sets (parity), gauge observed once per collection.
//            Metrics are collected + exported exactly once, by
//            MeterProvider.shutdown() (the periodic interval is 1 h, so it
//            never fires). "items" counts exported data points.
//
// Resource: service.name = "otel-js-test". Exporter timeoutMillis = 10000
// (--timeout-ms): it also bounds the exporter's own retries of 429/502/503/504
// and ECONNREFUSED/ECONNRESET (backoff 1 s, x1.5, up to 5 attempts), so an
// unreachable server makes a run take ~timeout before it reports failure.
// Compression: explicitly 'none' unless --gzip (then 'gzip'), so the
// OTEL_EXPORTER_OTLP_*COMPRESSION env vars cannot change it.
// --tenant NAME adds the header `X-Scope-OrgID: NAME` (gRPC: the metadata
// `x-scope-orgid`). --header 'Name: value' adds a header through the
// exporters' own `headers` setting (gRPC: metadata, the name in lower case),
// e.g. 'Authorization: Bearer TOKEN'.
// --ca FILE: the server speaks TLS (--url https://...) with a certificate
// signed by the CA in FILE (PEM): the HTTP exporters get it as their agent's
// ca, the gRPC ones as their channel's credentials.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { parseArgs } from 'node:util';

import {
  trace,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  ValueType,
  diag,
  DiagLogLevel,
} from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import {
  LoggerProvider,
  BatchLogRecordProcessor,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import {
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { OTLPTraceExporter as TraceProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as TraceJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPLogExporter as LogsProtoExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPLogExporter as LogsJsonExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPMetricExporter as MetricsProtoExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import {
  OTLPMetricExporter as MetricsJsonExporter,
  AggregationTemporalityPreference,
} from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter as TraceGrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPLogExporter as LogsGrpcExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPMetricExporter as MetricsGrpcExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { Metadata, credentials } from '@grpc/grpc-js';

const DEFAULT_EXPORT_TIMEOUT_MS = 10000;
const SERVICE_NAME = 'otel-js-test';

function usage(msg) {
  process.stderr.write(
    (msg ? `send.mjs: ${msg}\n` : '') +
      'usage: node send.mjs --url http://127.0.0.1:PORT --signal traces|logs|metrics ' +
      '--encoding proto|json|grpc [--tenant NAME] [--count N] [--marker STRING] [--gzip] ' +
      '[--processor batch|simple] [--temporality cumulative|delta] [--timeout-ms MS] ' +
      "[--header 'Name: value']... [--ca FILE]\n",
  );
  process.exit(2);
}

function parseCli() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        url: { type: 'string' },
        signal: { type: 'string' },
        encoding: { type: 'string', default: 'proto' },
        tenant: { type: 'string' },
        count: { type: 'string', default: '5' },
        marker: { type: 'string' },
        gzip: { type: 'boolean', default: false },
        processor: { type: 'string', default: 'batch' },
        temporality: { type: 'string', default: 'cumulative' },
        'timeout-ms': { type: 'string', default: String(DEFAULT_EXPORT_TIMEOUT_MS) },
        header: { type: 'string', multiple: true, default: [] },
        ca: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    usage(e.message);
  }
  if (values.help) usage();
  if (!values.url) usage('--url is required');
  if (!['traces', 'logs', 'metrics'].includes(values.signal)) usage('--signal must be traces, logs or metrics');
  if (!['proto', 'json', 'grpc'].includes(values.encoding)) usage('--encoding must be proto, json or grpc');
  if (!['batch', 'simple'].includes(values.processor)) usage('--processor must be batch or simple');
  if (!['cumulative', 'delta'].includes(values.temporality)) usage('--temporality must be cumulative or delta');
  if (!/^\d+$/.test(values.count)) usage('--count must be a non-negative integer');
  if (!/^[1-9]\d*$/.test(values['timeout-ms'])) usage('--timeout-ms must be a positive integer');
  const headers = values.header.map((h) => {
    const i = h.indexOf(':');
    if (i < 1) usage('--header is "Name: value"');
    return [h.slice(0, i).trim(), h.slice(i + 1).trim()];
  });
  const count = Number(values.count);
  const marker = values.marker ?? `otel-js-${process.pid}-${Date.now()}`;
  return {
    url: values.url.replace(/\/+$/, ''),
    signal: values.signal,
    encoding: values.encoding,
    tenant: values.tenant,
    count,
    marker,
    gzip: values.gzip,
    processor: values.processor,
    temporality: values.temporality,
    timeoutMs: Number(values['timeout-ms']),
    headers,
    ca: values.ca === undefined ? undefined : fs.readFileSync(values.ca),
  };
}

// ---------------------------------------------------------------------------
// Diagnostics: the SDK logs through `diag`; route warnings/errors to stderr so
// stdout stays exactly one JSON line.
const stderrLogger = {
  error: (...a) => process.stderr.write(`otel error: ${a.map(String).join(' ')}\n`),
  warn: (...a) => process.stderr.write(`otel warn: ${a.map(String).join(' ')}\n`),
  info: () => {},
  debug: () => {},
  verbose: () => {},
};
diag.setLogger(stderrLogger, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });

// ---------------------------------------------------------------------------
// Export bookkeeping: a wrapper that sits between the SDK processor/reader and
// the real OTLP exporter, recording every export() call and its ExportResult.

function describeError(err) {
  if (err == null) return 'unknown error';
  let msg = err.message || String(err);
  if (!msg && err.name) msg = err.name;
  if (err.code !== undefined) msg += ` [code ${err.code}]`;
  if (typeof err.data === 'string' && err.data.length > 0) {
    msg += `: ${err.data.slice(0, 300)}`;
  }
  return msg;
}

class RecordingExporter {
  constructor(inner, countItems) {
    this.inner = inner;
    this.countItems = countItems;
    this.exports = 0;
    this.succeeded = 0;
    this.failed = 0;
    this.errors = [];
    this.items = 0;
    this.exceptions = []; // thrown by forceFlush/shutdown
    // Metric exporters expose these; PeriodicExportingMetricReader reads them
    // at construction, so forward them when present.
    if (typeof inner.selectAggregationTemporality === 'function') {
      this.selectAggregationTemporality = (t) => inner.selectAggregationTemporality(t);
    }
    if (typeof inner.selectAggregation === 'function') {
      this.selectAggregation = (t) => inner.selectAggregation(t);
    }
  }

  export(items, resultCallback) {
    this.exports += 1;
    const n = this.countItems(items);
    this.items += n;
    let reported = false;
    this.inner.export(items, (result) => {
      if (reported) return;
      reported = true;
      if (result && result.code === 0) {
        this.succeeded += 1;
      } else {
        this.failed += 1;
        this.errors.push(describeError(result && result.error));
      }
      resultCallback(result);
    });
  }

  forceFlush() {
    return typeof this.inner.forceFlush === 'function' ? this.inner.forceFlush() : Promise.resolve();
  }

  shutdown() {
    return this.inner.shutdown();
  }
}

// forceFlush/shutdown reject when an export failed (the SDK re-raises the
// exporter's error); the failure is already recorded by RecordingExporter, so
// keep going (always shut down) and remember the exception for the report.
async function settle(recorder, steps) {
  for (const step of steps) {
    try {
      await step();
    } catch (e) {
      recorder.exceptions.push(describeError(e));
    }
  }
  return recorder;
}

// ---------------------------------------------------------------------------
// Deterministic ids derived from the marker.

function sha256hex(s) {
  return createHash('sha256').update(s).digest('hex');
}
function markerTraceId(marker, k) {
  return sha256hex(`${marker}/trace/${k}`).slice(0, 32);
}
function markerSpanId(marker, k) {
  return sha256hex(`${marker}/span/${k}`).slice(0, 16);
}

class MarkerIdGenerator {
  constructor(marker) {
    this.marker = marker;
    this.t = 0;
    this.s = 0;
  }
  generateTraceId() {
    return markerTraceId(this.marker, this.t++);
  }
  generateSpanId() {
    return markerSpanId(this.marker, this.s++);
  }
}

// ---------------------------------------------------------------------------

function exporterOptions(opts, path) {
  if (opts.encoding === 'grpc') {
    const metadata = new Metadata();
    if (opts.tenant !== undefined) metadata.set('x-scope-orgid', opts.tenant);
    for (const [k, v] of opts.headers) metadata.set(k.toLowerCase(), v);
    return {
      url: opts.url,
      metadata,
      timeoutMillis: opts.timeoutMs,
      compression: opts.gzip ? 'gzip' : 'none',
      ...(opts.ca ? { credentials: credentials.createSsl(opts.ca) } : {}),
    };
  }
  const headers = {};
  if (opts.tenant !== undefined) headers['X-Scope-OrgID'] = opts.tenant;
  for (const [k, v] of opts.headers) headers[k] = v;
  return {
    url: `${opts.url}${path}`,
    headers,
    timeoutMillis: opts.timeoutMs,
    compression: opts.gzip ? 'gzip' : 'none',
    ...(opts.ca ? { httpAgentOptions: { ca: opts.ca } } : {}),
  };
}

function commonAttrs(opts, i) {
  return {
    marker: opts.marker,
    'test.index': i, // int
    'test.ratio': i + 0.5, // double
    'test.even': i % 2 === 0, // bool
    'test.str': `value-${i}`, // string
    'test.tags': ['alpha', 'beta', `gamma-${i}`], // string array
    'test.ints': [i, i + 1, i + 2], // int array
  };
}

async function sendTraces(opts) {
  const Exporter = { proto: TraceProtoExporter, json: TraceJsonExporter, grpc: TraceGrpcExporter }[opts.encoding];
  const recorder = new RecordingExporter(
    new Exporter(exporterOptions(opts, '/v1/traces')),
    (spans) => spans.length,
  );
  const processor =
    opts.processor === 'simple'
      ? new SimpleSpanProcessor(recorder)
      : new BatchSpanProcessor(recorder, {
          scheduledDelayMillis: 60 * 60 * 1000, // only our explicit forceFlush exports
          maxExportBatchSize: 512,
          maxQueueSize: Math.max(2048, opts.count + 16),
          exportTimeoutMillis: opts.timeoutMs,
        });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': SERVICE_NAME, 'service.version': '1.0.0' }),
    idGenerator: new MarkerIdGenerator(opts.marker),
    spanProcessors: [processor],
  });
  const tracer = provider.getTracer('openwit-otel-js-test', '1.0.0');

  const base = Date.now() - 1000; // ms
  let parent = null;
  for (let i = 0; i < opts.count; i++) {
    const isChild = i === 1 && parent !== null;
    const ctx = isChild ? trace.setSpan(ROOT_CONTEXT, parent) : ROOT_CONTEXT;
    const start = base + i * 10;
    const span = tracer.startSpan(
      `${opts.marker}-span-${i}`,
      {
        kind: isChild ? SpanKind.CLIENT : SpanKind.SERVER,
        attributes: commonAttrs(opts, i),
        startTime: start,
      },
      ctx,
    );
    if (i === 0) {
      span.addEvent(`${opts.marker}-event`, { 'event.attr': 'hello', 'event.n': 7 }, start + 1);
    }
    if (opts.count > 1 && i === opts.count - 1) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: `${opts.marker}-error` });
    } else if (i === 0) {
      span.setStatus({ code: SpanStatusCode.OK });
    }
    if (i === 0) {
      parent = span; // ended after its child so it encloses it
      continue;
    }
    span.end(start + 5);
    if (isChild) parent.end(base + 20);
  }
  if (parent !== null && opts.count < 2) parent.end(base + 5);

  return settle(recorder, [() => provider.forceFlush(), () => provider.shutdown()]);
}

const SEVERITIES = [
  [SeverityNumber.INFO, 'INFO'],
  [SeverityNumber.WARN, 'WARN'],
  [SeverityNumber.ERROR, 'ERROR'],
  [SeverityNumber.DEBUG, 'DEBUG'],
];

async function sendLogs(opts) {
  const Exporter = { proto: LogsProtoExporter, json: LogsJsonExporter, grpc: LogsGrpcExporter }[opts.encoding];
  const recorder = new RecordingExporter(
    new Exporter(exporterOptions(opts, '/v1/logs')),
    (records) => records.length,
  );
  const processor =
    opts.processor === 'simple'
      ? new SimpleLogRecordProcessor({ exporter: recorder })
      : new BatchLogRecordProcessor({
          // sdk-logs >= 0.22x takes one options object (older: (exporter, config))
          exporter: recorder,
          scheduledDelayMillis: 60 * 60 * 1000,
          maxExportBatchSize: 512,
          maxQueueSize: Math.max(2048, opts.count + 16),
          exportTimeoutMillis: opts.timeoutMs,
        });
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': SERVICE_NAME, 'service.version': '1.0.0' }),
    processors: [processor],
  });
  const logger = provider.getLogger('openwit-otel-js-test', '1.0.0');

  const base = Date.now() - 1000;
  for (let i = 0; i < opts.count; i++) {
    const [severityNumber, severityText] = SEVERITIES[i % SEVERITIES.length];
    const record = {
      timestamp: base + i * 10,
      observedTimestamp: base + i * 10 + 1,
      severityNumber,
      severityText,
      body: `${opts.marker}-log-${i}`,
      attributes: commonAttrs(opts, i),
    };
    if (i === 0) {
      record.context = trace.setSpanContext(ROOT_CONTEXT, {
        traceId: markerTraceId(opts.marker, 0),
        spanId: markerSpanId(opts.marker, 0),
        traceFlags: TraceFlags.SAMPLED,
        isRemote: false,
      });
    }
    logger.emit(record);
  }

  return settle(recorder, [() => provider.forceFlush(), () => provider.shutdown()]);
}

function metricName(marker) {
  // Instrument names: ^[A-Za-z][A-Za-z0-9_.\-/]{0,254}$
  let m = marker.replace(/[^A-Za-z0-9_.\-/]/g, '_');
  if (!/^[A-Za-z]/.test(m)) m = `m${m}`;
  return m.slice(0, 200);
}

function countDataPoints(resourceMetrics) {
  let n = 0;
  for (const sm of resourceMetrics.scopeMetrics ?? []) {
    for (const md of sm.metrics ?? []) n += (md.dataPoints ?? []).length;
  }
  return n;
}

async function sendMetrics(opts) {
  const Exporter = { proto: MetricsProtoExporter, json: MetricsJsonExporter, grpc: MetricsGrpcExporter }[opts.encoding];
  const recorder = new RecordingExporter(
    new Exporter({
      ...exporterOptions(opts, '/v1/metrics'),
      temporalityPreference:
        opts.temporality === 'delta'
          ? AggregationTemporalityPreference.DELTA
          : AggregationTemporalityPreference.CUMULATIVE,
    }),
    countDataPoints,
  );
  const reader = new PeriodicExportingMetricReader({
    exporter: recorder,
    exportIntervalMillis: 60 * 60 * 1000, // never fires; shutdown() does the one export
    exportTimeoutMillis: opts.timeoutMs,
  });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': SERVICE_NAME, 'service.version': '1.0.0' }),
    readers: [reader],
  });
  const meter = provider.getMeter('openwit-otel-js-test', '1.0.0');
  const m = metricName(opts.marker);

  const counter = meter.createCounter(`${m}.counter`, {
    description: 'test counter',
    unit: '1',
    valueType: ValueType.INT, // -> asInt points
  });
  const updown = meter.createUpDownCounter(`${m}.updown`, {
    description: 'test up-down counter',
    unit: '{item}',
    valueType: ValueType.INT, // -> asInt points (may be negative)
  });
  const histogram = meter.createHistogram(`${m}.histogram`, { description: 'test histogram', unit: 'ms' }); // double
  const gauge = meter.createObservableGauge(`${m}.gauge`, { description: 'test gauge', unit: 'Cel' }); // double

  const attrsFor = (i) => ({ marker: opts.marker, parity: i % 2 === 0 ? 'even' : 'odd' });
  const n = opts.count;
  if (n > 0) {
    gauge.addCallback((result) => {
      result.observe(21.5 + n, { marker: opts.marker, sensor: 'a' });
    });
  }
  for (let i = 0; i < n; i++) {
    counter.add(i + 1, attrsFor(i));
    updown.add(i % 2 === 0 ? 2 : -1, attrsFor(i));
    histogram.record(i * 1.5 + 0.25, attrsFor(i));
  }

  // MeterProvider.shutdown() -> PeriodicExportingMetricReader.onShutdown()
  // performs exactly one collect + export, then shuts the exporter down.
  // (Calling forceFlush() first would export a second, duplicate collection.)
  return settle(recorder, [() => provider.shutdown()]);
}

async function main() {
  const opts = parseCli();
  let recorder;
  const extraErrors = [];
  try {
    if (opts.signal === 'traces') recorder = await sendTraces(opts);
    else if (opts.signal === 'logs') recorder = await sendLogs(opts);
    else recorder = await sendMetrics(opts);
  } catch (e) {
    extraErrors.push(`exception: ${describeError(e)}`);
  }
  const r = recorder ?? { exports: 0, succeeded: 0, failed: 0, errors: [], items: 0, exceptions: [] };
  const errors = [...r.errors, ...extraErrors];
  // A flush/shutdown exception that is not just the echo of a recorded
  // export failure is reported too.
  if (r.failed === 0) errors.push(...r.exceptions.map((m) => `exception: ${m}`));
  if (opts.count > 0 && r.exports === 0 && errors.length === 0) {
    errors.push('no export call was made');
  }
  const out = {
    signal: opts.signal,
    encoding: opts.encoding,
    exports: r.exports,
    succeeded: r.succeeded,
    failed: r.failed,
    errors,
    items: r.items,
  };
  const ok = r.failed === 0 && errors.length === 0;
  process.stdout.write(`${JSON.stringify(out)}\n`, () => process.exit(ok ? 0 : 1));
}

main().catch((e) => {
  process.stderr.write(`send.mjs: fatal: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});

// h2.mjs - a raw OTLP/gRPC client on Node's http2 module, for the tests
// that need what the SDK exporters hide: the exact response frames, the
// grpc-timeout header, a connection kept open or abandoned at will.
import http2 from 'node:http2';
import net from 'node:net';

export const TRACES = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
export const LOGS = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';
export const METRICS = '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export';

// A protobuf message as one gRPC length-prefixed message (not compressed).
export function grpcFrame(msg) {
  const h = Buffer.alloc(5);
  h.writeUInt32BE(msg.length, 1);
  return Buffer.concat([h, msg]);
}

// Resolves with the connected session (errors are the caller's to watch);
// c.sock is its TCP socket, for a test to drop the connection abruptly.
export function connect(port) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const c = http2.connect(`http://127.0.0.1:${port}`, { createConnection: () => sock });
    c.sock = sock;
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  });
}

// One Export call on session c: resolves {status, message, headers (how
// many HEADERS blocks arrived), data (the response message bytes)} when the
// stream closes. grpc-status comes from the trailers, or from the headers
// of a trailers-only response.
export function call(c, path, body, headers = {}) {
  return new Promise((resolve) => {
    const st = c.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...headers });
    const r = { status: undefined, message: undefined, headers: 0, data: Buffer.alloc(0) };
    const take = (h) => {
      r.headers++;
      if (h['grpc-status'] !== undefined) r.status = Number(h['grpc-status']);
      if (h['grpc-message'] !== undefined) r.message = decodeURIComponent(h['grpc-message']);
      if (h['grpc-status-details-bin'] !== undefined) r.details = Buffer.from(h['grpc-status-details-bin'], 'base64');
    };
    st.on('response', take);
    st.on('trailers', take);
    st.on('data', (d) => { r.data = Buffer.concat([r.data, d]); });
    st.on('error', (e) => { r.error = e.code || String(e); });
    st.on('close', () => { r.rstCode = st.rstCode; resolve(r); });
    if (body !== undefined) st.end(body);
  });
}

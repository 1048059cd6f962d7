// remotewrite.mjs - Prometheus remote_write 1.0 bodies for the tests and
// the bench: a prometheus.WriteRequest (timeseries of labels and samples)
// in protobuf (protobufjs), snappy-compressed (snappyjs), as Prometheus'
// queue manager sends it.
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const req = createRequire(path.join(root, 't/otel/package.json'));
const snappy = req('snappyjs');
const protobuf = req('protobufjs');

const WR = protobuf.Root.fromJSON({ nested: {
  WR: { fields: { timeseries: { rule: 'repeated', type: 'TS', id: 1 } } },
  TS: { fields: { labels: { rule: 'repeated', type: 'L', id: 1 }, samples: { rule: 'repeated', type: 'S', id: 2 } } },
  L: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
  S: { fields: { value: { type: 'double', id: 1 }, timestamp: { type: 'int64', id: 2 } } } } }).lookupType('WR');

// timeseries: [{labels: [{name, value}], samples: [{value, timestamp}]}]
export function remoteWriteBody(timeseries) {
  return Buffer.from(snappy.compress(Buffer.from(WR.encode(WR.fromObject({ timeseries })).finish())));
}

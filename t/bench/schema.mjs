// The columns of openwit's tables (modules/columns/columns.c), in order,
// with their kind and whether they may be null, and what each kind is in
// ClickHouse 18.16 and in DuckDB. t/bench/loadgen writes its rows with
// exactly these columns; t/bench/compare.mjs creates the peers' tables
// from here and checks openwit's stored rows against the rows sent.
//   str json u32 i8 i32 i64 u64 f64 bool time id16 id8
const common = 'service_name str?, resource_attributes json?, resource_dropped_attributes_count u32, resource_schema_url str?, resource_entity_refs json?, scope_name str?, scope_version str?, scope_attributes json?, scope_dropped_attributes_count u32, scope_schema_url str?';
const defs = {
  spans: `${common}, trace_id id16?, span_id id8?, parent_span_id id8?, trace_state str?, flags u32, name str, kind i8, start_time time, end_time time, duration_ns i64, attributes json?, dropped_attributes_count u32, events json?, dropped_events_count u32, links json?, dropped_links_count u32, status_code i8, status_message str?, otlp_exact json?`,
  logs: `${common}, time time, observed_time time, severity_number i8, severity_text str?, body str?, attributes json?, dropped_attributes_count u32, flags u32, trace_id id16?, span_id id8?, event_name str?, otlp_exact json?`,
  metrics: `${common}, metric_name str, metric_description str?, metric_unit str?, metric_metadata json?, metric_type str, temporality i8?, is_monotonic bool?, attributes json?, start_time time, time time, value f64?, value_int i64?, count u64?, sum f64?, min f64?, max f64?, bucket_counts json?, explicit_bounds json?, scale i32?, zero_count u64?, zero_threshold f64?, positive json?, negative json?, quantiles json?, exemplars json?, flags u32, otlp_exact json?`,
};
export const tables = Object.fromEntries(Object.entries(defs).map(([t, d]) => [t, d.split(', ').map((c) => {
  const [name, k] = c.split(' ');
  return { name, kind: k.replace('?', ''), nullable: k.endsWith('?') };
})]));
export const signalOf = { spans: 'traces', logs: 'logs', metrics: 'metrics' };
// openwit's sort order (modules/columns/columns.c ow_columns_sort)
export const sortKey = { spans: ['service_name', 'name', 'start_time'], logs: ['service_name', 'time'], metrics: ['metric_name', 'service_name', 'attributes', 'time'] };

// ClickHouse 18.16: no DateTime64 (times are UInt64 nanoseconds), no JSON
// type (JSON text is a String), ids as their lowercase hex text (as the
// OpenTelemetry Collector's ClickHouse exporter stores them).
const chType = { str: 'String', json: 'String', u32: 'UInt32', i8: 'Int8', i32: 'Int32', i64: 'Int64', u64: 'UInt64', f64: 'Float64', bool: 'UInt8', time: 'UInt64', id16: 'String', id8: 'String' };
// service_name is never null in the bench's data, and is a plain String
// so that it can lead the sorting key (18.16 reads JSON null only into
// Nullable columns); a metric's attributes may be null (no attributes).
export function clickhouseDDL(table) {
  const nullable = (c) => c.nullable && c.name !== 'service_name';
  const cols = tables[table].map((c) => `${c.name} ${nullable(c) ? `Nullable(${chType[c.kind]})` : chType[c.kind]}`);
  const time = table === 'spans' ? 'start_time' : 'time';
  const key = sortKey[table].map((k) => (nullable(tables[table].find((c) => c.name === k)) ? `ifNull(${k}, '')` : k));
  return `CREATE TABLE ${table} (${cols.join(', ')}) ENGINE = MergeTree PARTITION BY toDate(intDiv(${time}, 1000000000)) ORDER BY (${key.join(', ')})`;
}

// DuckDB: the rows as read from the JSON lines, and as typed as openwit's
// Parquet columns (ids BLOB, times TIMESTAMP_NS, JSON text JSON).
const duckRead = { str: 'VARCHAR', json: 'VARCHAR', u32: 'UINTEGER', i8: 'TINYINT', i32: 'INTEGER', i64: 'BIGINT', u64: 'UBIGINT', f64: 'DOUBLE', bool: 'BOOLEAN', time: 'BIGINT', id16: 'VARCHAR', id8: 'VARCHAR' };
export function duckReadJSON(table, file) {
  const cols = tables[table].map((c) => `'${c.name}': '${duckRead[c.kind]}'`).join(', ');
  return `read_json('${file}', format = 'newline_delimited', columns = {${cols}}, maximum_object_size = 16777216)`;
}
export function duckTyped(table) {
  return tables[table].map((c) => {
    switch (c.kind) {
      case 'id16': case 'id8': return `from_hex(${c.name}) AS ${c.name}`;
      case 'time': return `make_timestamp_ns(${c.name}) AS ${c.name}`;
      case 'json': return `${c.name}::JSON AS ${c.name}`;
      default: return c.name;
    }
  }).join(', ');
}
// every column as text, the same way from openwit's Parquet and from the
// JSON lines, to compare rows
export function duckCanonical(table, fromParquet) {
  return tables[table].map((c) => {
    const n = c.name;
    if (fromParquet && (c.kind === 'id16' || c.kind === 'id8')) return `lower(hex(${n})) AS ${n}`;
    if (fromParquet && c.kind === 'time') return `epoch_ns(${n}) AS ${n}`;
    return `${n}::VARCHAR AS ${n}`;
  }).join(', ');
}

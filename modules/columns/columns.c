/*
 * columns.c - see columns.h. OTLP protobuf to columns in one pass over the
 * wire bytes, with no allocation per field: values go straight into the
 * column buffers (which grow by doubling), JSON is written in place into
 * the BYTE_ARRAY data of its column, and the resource and scope values
 * that every row under them repeats are built once into scratch buffers
 * and written once, as an entry of their column that each row refers to
 * (column.h's refs): a table from the decoder has refs in those eight
 * text columns, and in a metric's name, description, unit, metadata and
 * type, which its points repeat; plain values in the others.
 *
 * The wire reader is bounds-checked at every step: varints (10 bytes at
 * most), fixed 32/64-bit values (little-endian), length-delimited fields
 * that must fit in their message. Unknown fields of wire types 0, 1, 2 and
 * 5 are skipped; groups (3, 4), wire types 6 and 7, field number 0 and a
 * known field with the wrong wire type are errors. Repeated scalars are
 * read packed or not, as protobuf requires of parsers.
 *
 * Protobuf semantics, as parsing the concatenation of the bytes: a scalar
 * or string field given twice takes its last value; a singular message
 * field given twice is the merge of all its occurrences (scalars last,
 * repeated fields concatenated); in a oneof the last member wins, and
 * occurrences of the same message member after the last switch merge. A
 * "view" is that merged message: one range of bytes, or the occurrences of
 * a field in a parent view, walked lazily (no list is built). Messages are
 * first scanned (every field validated, the last value of each kept in a
 * slot), then their repeated fields are walked again to write them.
 * protobuf-c differs in two corners no encoder produces: it keeps only the
 * last occurrence of a oneof message member, and lets a later occurrence
 * of a merged message reset its unset proto3 scalars to 0.
 *
 * Decisions:
 *  - Strings must be UTF-8 (proto3 requires it; protobuf-c does not check):
 *    a request with an invalid string is refused, because Parquet STRING
 *    columns and JSON text cannot hold it and one bad value would make a
 *    reader fail on the whole part. RFC 3629: no overlong forms, no
 *    surrogates, nothing above U+10FFFF.
 *  - Columns of logical type INT8 (span kind, status code, severity number,
 *    temporality) take the proto's int32 enum values from -128 to 127;
 *    others are refused rather than stored as something else.
 *  - AnyValue nesting deeper than 64 arrays/kvlists is refused (the
 *    recursion has to stop somewhere before the stack does).
 *  - A string field holds its value, "" included, when the message holding
 *    it is present; NULL means that message is absent (no scope: NULL
 *    scope_name; no status: NULL status_message). A JSON column of a
 *    repeated field is NULL when the list is empty, as protobuf cannot
 *    tell an empty list from an absent one. Ids are NULL when empty (a
 *    span's trace_id and span_id never are: without them it is skipped).
 *  - A span whose trace_id or span_id is empty or all zero bytes is
 *    invalid (trace.proto): it is skipped, counted and its reason kept
 *    (ow_rejects_t), before any of its columns is written or anything else
 *    in it is checked; the request goes on (OTLP partial success). An id of
 *    the wrong length anywhere still refuses the whole request: it cannot
 *    be read as an id at all. Other ids (a parent, links, log records,
 *    exemplars) are optional: empty is taken, and all zero is kept as sent.
 *
 * JSON (format 2, "plain": what DuckDB's and SQLite's JSON functions read
 * as the values themselves; convert.c converts the OTLP/JSON of format 1):
 *  - A KeyValue list (attributes, resource and scope attributes, metric
 *    metadata, and the attributes inside events, links and exemplars) is
 *    an object {"key": value, ...}. Duplicate keys (the spec says MUST NOT,
 *    but a sender may) are kept in order: JSON allows them, and dropping
 *    one would lose data. service_name takes the first service.name, as a
 *    JSON path lookup does.
 *  - An AnyValue is plain JSON: a string a JSON string, a bool true or
 *    false, an int a JSON integer (all 64 bits, as digits), a double a
 *    number (the fewest of 15, 16 or 17 significant digits that read back
 *    to the same double, always with a '.' or an exponent so that a reader
 *    sees a real, an int 1 and a double 1.0 stay apart, and -0.0 stays
 *    -0.0; NaN, Infinity, -Infinity as those strings; a NaN's payload bits
 *    are not kept: the DOUBLE columns keep them), bytes a base64 string,
 *    an array a JSON array, a kvlist an object (as a KeyValue list), no
 *    value (or a KeyValue without one) null. The profiles-only
 *    stringValueStrindex is its integer.
 *  - The log body column is text (STRING), not JSON: a string body is the
 *    string itself; any other body its plain JSON.
 *  - Where plain JSON loses OTLP's exact type (bytes, a NaN or infinite
 *    double, stringValueStrindex, a KeyValue's key_strindex, a body that is
 *    not a string), the row's otlp_exact column holds {"column": its
 *    OTLP/JSON, ...} for those columns, as format 1 wrote them:
 *    {"stringValue":"s"}, {"boolValue":true}, {"intValue":"-9"} (int64 as a
 *    string), {"doubleValue":1.5}, {"bytesValue":"base64"},
 *    {"arrayValue":{"values":[...]}}, {"kvlistValue":{"values":[{"key":
 *    "k","value":{...}}]}}, {} for no value, {"stringValueStrindex":n},
 *    and a KeyValue's key_strindex as a "keyStrindex" member of its value
 *    object when it is not 0. otlp_exact is NULL on the other rows (nearly
 *    all). ow_columns_otlp gives every row's OTLP/JSON back from the two.
 *  - events, links, exemplars, quantiles, entity refs: arrays of objects
 *    with every field under its OTLP/JSON name, defaults included (an
 *    exemplar has asDouble or asInt only when one is set); positive and
 *    negative buckets: {"offset":n,"bucketCounts":["1",...]}.
 *  - Strings escape '"', '\' and control characters (\n \t ... or \u00XX).
 *  - 64-bit integers (times, counts, bucket counts) are strings, doubles
 *    numbers; ids are lowercase hex.
 */
#include "columns.h"

#include <xxhash.h>
#include <assert.h>
#include <math.h>
#include <stdarg.h>

/* ---- schemas ---- */

enum {
	C_SERVICE_NAME,
	C_RES_ATTRS,
	C_RES_DROPPED,
	C_RES_SCHEMA_URL,
	C_RES_ENTITY_REFS,
	C_SCOPE_NAME,
	C_SCOPE_VERSION,
	C_SCOPE_ATTRS,
	C_SCOPE_DROPPED,
	C_SCOPE_SCHEMA_URL,
	C_NCOMMON
};

enum {
	SP_TRACE_ID = C_NCOMMON,
	SP_SPAN_ID,
	SP_PARENT_SPAN_ID,
	SP_TRACE_STATE,
	SP_FLAGS,
	SP_NAME,
	SP_KIND,
	SP_START,
	SP_END,
	SP_DURATION,
	SP_ATTRS,
	SP_DROPPED_ATTRS,
	SP_EVENTS,
	SP_DROPPED_EVENTS,
	SP_LINKS,
	SP_DROPPED_LINKS,
	SP_STATUS_CODE,
	SP_STATUS_MESSAGE,
	SP_EXACT,
	SP_NCOLS
};

enum {
	LG_TIME = C_NCOMMON,
	LG_OBSERVED,
	LG_SEVERITY,
	LG_SEVERITY_TEXT,
	LG_BODY,
	LG_ATTRS,
	LG_DROPPED_ATTRS,
	LG_FLAGS,
	LG_TRACE_ID,
	LG_SPAN_ID,
	LG_EVENT_NAME,
	LG_EXACT,
	LG_NCOLS
};

enum {
	MT_NAME = C_NCOMMON,
	MT_DESCRIPTION,
	MT_UNIT,
	MT_METADATA,
	MT_TYPE,
	MT_TEMPORALITY,
	MT_MONOTONIC,
	MT_ATTRS,
	MT_START,
	MT_TIME,
	MT_VALUE,
	MT_VALUE_INT,
	MT_COUNT,
	MT_SUM,
	MT_MIN,
	MT_MAX,
	MT_BUCKET_COUNTS,
	MT_EXPLICIT_BOUNDS,
	MT_SCALE,
	MT_ZERO_COUNT,
	MT_ZERO_THRESHOLD,
	MT_POSITIVE,
	MT_NEGATIVE,
	MT_QUANTILES,
	MT_EXEMPLARS,
	MT_FLAGS,
	MT_EXACT,
	MT_NCOLS
};

_Static_assert(SP_NCOLS == OW_SPANS_NCOLS, "spans schema size");
_Static_assert(LG_NCOLS == OW_LOGS_NCOLS, "logs schema size");
_Static_assert(MT_NCOLS == OW_METRICS_NCOLS, "metrics schema size");

#define COL(name, type, logical, optional, enc)                                                    \
	{                                                                                          \
		name, type, logical, 0, optional, enc, 0                                           \
	}
#define STR(name, optional) COL(name, OW_PQ_BYTE_ARRAY, OW_PQ_L_STRING, optional, OW_PQ_ENC_DICT)
#define JSON(name) COL(name, OW_PQ_BYTE_ARRAY, OW_PQ_L_JSON, 1, OW_PQ_ENC_DICT)
#define U32(name) COL(name, OW_PQ_INT32, OW_PQ_L_UINT32, 0, OW_PQ_ENC_DICT)
#define I8(name, optional) COL(name, OW_PQ_INT32, OW_PQ_L_INT8, optional, OW_PQ_ENC_DICT)
#define TIME(name, enc) COL(name, OW_PQ_INT64, OW_PQ_L_TIMESTAMP_NS, 0, enc)
#define F64(name, enc) COL(name, OW_PQ_DOUBLE, OW_PQ_L_NONE, 1, enc)
#define U64(name) COL(name, OW_PQ_INT64, OW_PQ_L_UINT64, 1, OW_PQ_ENC_PLAIN)
/* Ids are FIXED bytes. A trace_id has a dictionary: a trace's spans and
 * log records share it, but sorted by service and name they lie too far
 * apart for zstd (make bench's spans: 9.4 B a span PLAIN, 6.0 with it).
 * Span ids are distinct: PLAIN, without a dictionary the writer would
 * build and give up. end_time, duration_ns and a log's observed_time are
 * DELTA_BINARY_PACKED too: rows sorted by their start or time put them
 * close together, and DELTA's miniblocks beat zstd on PLAIN (make bench's
 * records: end_time 4.8 -> 4.2 B, duration_ns 3.6 -> 3.4, observed_time
 * 4.2 -> 3.7). */
#define ID(name, len, enc, bloom)                                                                  \
	{                                                                                          \
		name, OW_PQ_FIXED, OW_PQ_L_NONE, len, 1, enc, bloom                                \
	}

#define COMMON_COLS                                                                                \
	STR("service_name", 1), JSON("resource_attributes"),                                       \
	    U32("resource_dropped_attributes_count"), STR("resource_schema_url", 1),               \
	    JSON("resource_entity_refs"), STR("scope_name", 1), STR("scope_version", 1),           \
	    JSON("scope_attributes"), U32("scope_dropped_attributes_count"),                       \
	    STR("scope_schema_url", 1)

const ow_pq_coldef_t ow_spans_schema[OW_SPANS_NCOLS] = {
    COMMON_COLS,
    ID("trace_id", 16, OW_PQ_ENC_DICT, 1),
    ID("span_id", 8, OW_PQ_ENC_PLAIN, 1),
    ID("parent_span_id", 8, OW_PQ_ENC_PLAIN, 0),
    STR("trace_state", 1),
    U32("flags"),
    STR("name", 0),
    I8("kind", 0),
    TIME("start_time", OW_PQ_ENC_DELTA),
    TIME("end_time", OW_PQ_ENC_DELTA),
    COL("duration_ns", OW_PQ_INT64, OW_PQ_L_NONE, 0, OW_PQ_ENC_DELTA),
    JSON("attributes"),
    U32("dropped_attributes_count"),
    JSON("events"),
    U32("dropped_events_count"),
    JSON("links"),
    U32("dropped_links_count"),
    I8("status_code", 0),
    STR("status_message", 1),
    JSON(OW_COLUMNS_EXACT),
};

const ow_pq_coldef_t ow_logs_schema[OW_LOGS_NCOLS] = {
    COMMON_COLS,
    TIME("time", OW_PQ_ENC_DELTA),
    TIME("observed_time", OW_PQ_ENC_DELTA),
    I8("severity_number", 0),
    STR("severity_text", 1),
    STR("body", 1),
    JSON("attributes"),
    U32("dropped_attributes_count"),
    U32("flags"),
    ID("trace_id", 16, OW_PQ_ENC_DICT, 1),
    ID("span_id", 8, OW_PQ_ENC_PLAIN, 1),
    STR("event_name", 1),
    JSON(OW_COLUMNS_EXACT),
};

const ow_pq_coldef_t ow_metrics_schema[OW_METRICS_NCOLS] = {
    COMMON_COLS,
    STR("metric_name", 0),
    STR("metric_description", 1),
    STR("metric_unit", 1),
    JSON("metric_metadata"),
    STR("metric_type", 0),
    I8("temporality", 1),
    COL("is_monotonic", OW_PQ_BOOLEAN, OW_PQ_L_NONE, 1, OW_PQ_ENC_PLAIN),
    JSON("attributes"),
    TIME("start_time", OW_PQ_ENC_PLAIN),
    TIME("time", OW_PQ_ENC_DELTA),
    F64("value", OW_PQ_ENC_PLAIN),
    COL("value_int", OW_PQ_INT64, OW_PQ_L_NONE, 1, OW_PQ_ENC_PLAIN),
    U64("count"),
    F64("sum", OW_PQ_ENC_PLAIN),
    F64("min", OW_PQ_ENC_PLAIN),
    F64("max", OW_PQ_ENC_PLAIN),
    JSON("bucket_counts"),
    JSON("explicit_bounds"),
    COL("scale", OW_PQ_INT32, OW_PQ_L_NONE, 1, OW_PQ_ENC_DICT),
    U64("zero_count"),
    F64("zero_threshold", OW_PQ_ENC_DICT),
    JSON("positive"),
    JSON("negative"),
    JSON("quantiles"),
    JSON("exemplars"),
    U32("flags"),
    JSON(OW_COLUMNS_EXACT),
};

static const struct {
	const ow_pq_coldef_t *defs;
	int ncols, time_col;
} schemas[OW_NSIGNALS] = {
    [OW_TRACES] = {ow_spans_schema, SP_NCOLS, SP_START},
    [OW_LOGS] = {ow_logs_schema, LG_NCOLS, LG_TIME},
    [OW_METRICS] = {ow_metrics_schema, MT_NCOLS, MT_TIME},
};

void ow_columns_table_init(int signal, ow_table_t *t)
{
	ow_table_init(t, schemas[signal].defs, schemas[signal].ncols);
}

int ow_columns_time_col(int signal)
{
	return schemas[signal].time_col;
}

const ow_pq_coldef_t *ow_columns_schema(int signal)
{
	return schemas[signal].defs;
}

int ow_columns_ncols(int signal)
{
	return schemas[signal].ncols;
}

/* ---- the decoder's state ---- */

typedef struct {
	const uint8_t *p; /* NULL: null */
	size_t n;
} str_t;

typedef struct {
	const uint8_t *base; /* the request: byte offsets in messages */
	char *err;
	size_t errlen;
	int64_t recv_ns;
	ow_col_t *c;
	const char *rec; /* "span", "log record", "data point": for messages */
	int64_t nrec;	 /* records so far, skipped ones included */
	ow_rejects_t rej;
	const ow_columns_window_t *win; /* a new request's: NULL on replay */
	uint8_t *wpb;			/* the request's bytes, written under a window */

	/* What every row under the current resource and scope repeats. JSON
	 * buffers are scratch for the whole call; empty means null. */
	str_t service, rschema, sname, sversion, sschema;
	ow_buf_t rattrs, rrefs, sattrs, meta;
	uint32_t rdropped, sdropped;
	/* Those text columns, and a metric's own that its points repeat,
	 * hold each value once: the entry that the rows under the current
	 * resource, scope or metric refer to (NO_ENTRY: not yet written). */
	uint32_t entry[MT_TYPE + 1];
	/* A record's own text that others of the request repeat (a span's
	 * name and attributes, a log record's severity text and attributes,
	 * a data point's attributes) is held once a request too: the
	 * entries written in this call, an open-addressing set (once_t) of
	 * capseen slots, nseen used, in a metered buffer. */
	ow_buf_t seen;
	size_t nseen, capseen;

	/* JSON is written plain (otlp 0) or as OTLP/JSON (1); lossy is set
	 * when a plain value loses what OTLP/JSON keeps. The row's
	 * otlp_exact is built in exact (empty: none yet), from tmp for the
	 * row's own columns and the *_x texts (empty: lossless) for what the
	 * rows under a resource, scope or metric repeat. */
	int otlp, lossy;
	const ow_pq_coldef_t *defs;
	ow_buf_t exact, tmp, rattrs_x, sattrs_x, meta_x;

	/* The request's memory: a row takes more in columns than on the
	 * wire (its definition bytes, refs, offsets), and gzip makes the
	 * wire small, so a few KB can ask for tens of MB of columns. */
	ow_columns_grow_fn grow;
	void *grow_arg;
	size_t grown;	      /* the buffers' growth in this call (the meter) */
	size_t allowed;	      /* growth the caller has agreed to so far */
	ow_buf_meter_t outer; /* the thread's meter before the call */
} dec_t;

static int fail(dec_t *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(dec_t *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->err, d->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static size_t off(const dec_t *d, const uint8_t *p)
{
	return (size_t)(p - d->base);
}

/* ---- the wire reader ---- */

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_SGROUP = 3, WT_EGROUP = 4, WT_I32 = 5 };

typedef struct {
	const uint8_t *at;  /* its tag; a view meets fields in address order */
	const uint8_t *end; /* just past it */
	uint32_t num;
	int wt;
	uint64_t v;	  /* VARINT, I64, I32 */
	const uint8_t *p; /* LEN: the payload */
	size_t n;
} field_t;

static int varint_long(dec_t *d, const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
	const uint8_t *p = *pp;
	uint64_t v = 0;
	for (int shift = 0; shift < 70; shift += 7) {
		if (p == end)
			return fail(d, "malformed protobuf: truncated varint at byte %zu",
				    off(d, *pp));
		uint8_t b = *p++;
		/* the 10th byte's bits above 2^64 are dropped, as protobuf-c does */
		v |= (uint64_t)(b & 0x7f) << shift;
		if (b < 0x80) {
			*out = v;
			*pp = p;
			return 0;
		}
	}
	return fail(d, "malformed protobuf: varint longer than 10 bytes at byte %zu", off(d, *pp));
}

static inline int varint(dec_t *d, const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
	if (*pp < end && **pp < 0x80) {
		*out = *(*pp)++;
		return 0;
	}
	return varint_long(d, pp, end, out);
}

/* Reads the field at *pp: 1, or -1 with a message. */
static inline int next_field(dec_t *d, const uint8_t **pp, const uint8_t *end, field_t *f)
{
	uint64_t tag;
	f->at = *pp;
	if (varint(d, pp, end, &tag) < 0)
		return -1;
	if (tag >> 3 == 0 || tag > UINT32_MAX)
		return fail(d, "malformed protobuf: invalid field number at byte %zu",
			    off(d, f->at));
	f->num = (uint32_t)(tag >> 3);
	f->wt = (int)(tag & 7);
	switch (f->wt) {
	case WT_VARINT:
		if (varint(d, pp, end, &f->v) < 0)
			return -1;
		break;
	case WT_I64:
		if (end - *pp < 8)
			return fail(d, "malformed protobuf: truncated 64-bit field at byte %zu",
				    off(d, f->at));
		f->v = ow_get_u64(*pp);
		*pp += 8;
		break;
	case WT_I32:
		if (end - *pp < 4)
			return fail(d, "malformed protobuf: truncated 32-bit field at byte %zu",
				    off(d, f->at));
		f->v = ow_get_u32(*pp);
		*pp += 4;
		break;
	case WT_LEN:
		if (varint(d, pp, end, &f->v) < 0)
			return -1;
		if (f->v > (uint64_t)(end - *pp))
			return fail(
			    d,
			    "malformed protobuf: field at byte %zu is %llu bytes long, past "
			    "the end of its message",
			    off(d, f->at), (unsigned long long)f->v);
		f->p = *pp;
		f->n = (size_t)f->v;
		*pp += f->n;
		break;
	case WT_SGROUP:
	case WT_EGROUP:
		return fail(d,
			    "malformed protobuf: groups (wire type %d) are not supported, byte %zu",
			    f->wt, off(d, f->at));
	default:
		return fail(d, "malformed protobuf: invalid wire type %d at byte %zu", f->wt,
			    off(d, f->at));
	}
	f->end = *pp;
	return 1;
}

/* ---- views: a message as protobuf merges it ---- */

/* A root view is one range of bytes. Otherwise the view is every
 * occurrence of field in up at or after the tag at p (a oneof member's
 * occurrences before the oneof last switched to it do not count). */
typedef struct view {
	const struct view *up;
	const uint8_t *p, *end;
	uint32_t field;
} view_t;

/* The longest chain of singular messages the protos have:
 * LogRecord.body.array_value (a repeated field starts a root again). */
#define VIEW_CHAIN 3

typedef struct {
	int n;
	uint32_t field[VIEW_CHAIN];
	const uint8_t *from[VIEW_CHAIN];
	const uint8_t *p[VIEW_CHAIN], *end[VIEW_CHAIN];
} iter_t;

static void it_init(iter_t *it, const view_t *v)
{
	int n = 0;
	for (const view_t *u = v; u; u = u->up)
		n++;
	assert(n <= VIEW_CHAIN);
	it->n = n;
	for (int k = n - 1; k > 0; k--, v = v->up) {
		it->field[k] = v->field;
		it->from[k] = v->p;
		it->p[k] = it->end[k] = NULL;
	}
	it->p[0] = v->p;
	it->end[0] = v->end;
}

static int it_level(dec_t *d, iter_t *it, int k, field_t *f)
{
	while (it->p[k] == it->end[k]) {
		if (k == 0)
			return 0;
		field_t pf;
		do {
			int r = it_level(d, it, k - 1, &pf);
			if (r <= 0)
				return r;
		} while (pf.num != it->field[k] || pf.at < it->from[k]);
		it->p[k] = pf.p;
		it->end[k] = pf.p + pf.n;
	}
	return next_field(d, &it->p[k], it->end[k], f);
}

/* The next field of the view: 1, 0 at its end, -1 with a message. */
static inline int it_next(dec_t *d, iter_t *it, field_t *f)
{
	if (it->n == 1) {
		if (it->p[0] == it->end[0])
			return 0;
		return next_field(d, &it->p[0], it->end[0], f);
	}
	return it_level(d, it, it->n - 1, f);
}

/* ---- scanning a message: every field checked, the last value kept ---- */

enum { K_UNKNOWN, K_VARINT, K_I64, K_I32, K_LEN, K_REP_I64, K_REP_VARINT };

#define NSLOTS 17 /* the highest field number we read is 16 (Span.flags) */

typedef struct {
	const char *name;
	uint32_t oneof; /* bit n: field n is a member of the message's oneof */
	int maxf;
	uint8_t kind[NSLOTS];
} msgdesc_t;

typedef struct {
	uint32_t n;	      /* occurrences (of a oneof member: since the last switch) */
	const uint8_t *first; /* the tag of the first of them */
	const uint8_t *end;   /* the end of the last */
	union {
		uint64_t v;   /* the last value */
		uint64_t len; /* LEN: the length of the last payload */
	};
	const uint8_t *p; /* LEN: the last payload */
} slot_t;

/* The wire types each kind of field may come in (repeated scalars packed
 * or not), one bit per wire type. */
static const uint8_t wt_allowed[] = {
    [K_VARINT] = 1 << WT_VARINT,
    [K_I64] = 1 << WT_I64,
    [K_I32] = 1 << WT_I32,
    [K_LEN] = 1 << WT_LEN,
    [K_REP_I64] = 1 << WT_I64 | 1 << WT_LEN,
    [K_REP_VARINT] = 1 << WT_VARINT | 1 << WT_LEN,
};

static inline int wt_ok(int kind, int wt)
{
	return wt_allowed[kind] >> wt & 1;
}

/* Fills s[0..m->maxf] from the fields of v; *ocase is the oneof member set
 * last (0: none). */
static int scan(dec_t *d, const view_t *v, const msgdesc_t *m, slot_t *s, uint32_t *ocase)
{
	iter_t it;
	field_t f;
	int r;
	memset(s, 0, (size_t)(m->maxf + 1) * sizeof(*s));
	*ocase = 0;
	it_init(&it, v);
	while ((r = it_next(d, &it, &f)) > 0) {
		if (f.num > (uint32_t)m->maxf || m->kind[f.num] == K_UNKNOWN)
			continue;
		if (!wt_ok(m->kind[f.num], f.wt))
			return fail(d,
				    "malformed protobuf: %s field %u has wire type %d at byte %zu",
				    m->name, f.num, f.wt, off(d, f.at));
		slot_t *sl = &s[f.num];
		if ((m->oneof >> f.num & 1) && *ocase != f.num) {
			*ocase = f.num;
			sl->n = 0;
		}
		if (sl->n++ == 0)
			sl->first = f.at;
		sl->end = f.end;
		sl->v = f.v;
		sl->p = f.p;
	}
	return r;
}

/* Field num of v, a singular message its slot s found: the one
 * occurrence, or all of them merged. */
static void sub(view_t *out, const view_t *v, const slot_t *s, uint32_t num)
{
	if (s->n == 1) {
		*out = (view_t){NULL, s->p, s->p + s->len, 0};
	} else {
		*out = (view_t){v, s->first, NULL, num};
	}
}

/* Iterates v from the first to the last occurrence of the field of slot s
 * (all of v when it is a merged view). */
static void it_slot(iter_t *it, const view_t *v, const slot_t *s)
{
	it_init(it, v);
	if (it->n == 1) {
		it->p[0] = s->first;
		it->end[0] = s->end;
	}
}

static const msgdesc_t M_REQUEST = {"Export*ServiceRequest", 0, 1, {[1] = K_LEN}};
static const msgdesc_t M_RESOURCE_X = {
    "Resource{Spans,Logs,Metrics}", 0, 3, {[1] = K_LEN, [2] = K_LEN, [3] = K_LEN}};
static const msgdesc_t M_SCOPE_X = {
    "Scope{Spans,Logs,Metrics}", 0, 3, {[1] = K_LEN, [2] = K_LEN, [3] = K_LEN}};
static const msgdesc_t M_RESOURCE = {"Resource", 0, 3, {[1] = K_LEN, [2] = K_VARINT, [3] = K_LEN}};
static const msgdesc_t M_ENTITY_REF = {
    "EntityRef", 0, 4, {[1] = K_LEN, [2] = K_LEN, [3] = K_LEN, [4] = K_LEN}};
static const msgdesc_t M_SCOPE = {
    "InstrumentationScope", 0, 4, {[1] = K_LEN, [2] = K_LEN, [3] = K_LEN, [4] = K_VARINT}};
static const msgdesc_t M_KEY_VALUE = {"KeyValue", 0, 3, {[1] = K_LEN, [2] = K_LEN, [3] = K_VARINT}};
static const msgdesc_t M_ANY_VALUE = {"AnyValue",
				      0x1fe,
				      8,
				      {[1] = K_LEN,
				       [2] = K_VARINT,
				       [3] = K_VARINT,
				       [4] = K_I64,
				       [5] = K_LEN,
				       [6] = K_LEN,
				       [7] = K_LEN,
				       [8] = K_VARINT}};
static const msgdesc_t M_LIST = {"ArrayValue/KeyValueList", 0, 1, {[1] = K_LEN}};
static const msgdesc_t M_SPAN = {"Span",
				 0,
				 16,
				 {[1] = K_LEN,
				  [2] = K_LEN,
				  [3] = K_LEN,
				  [4] = K_LEN,
				  [5] = K_LEN,
				  [6] = K_VARINT,
				  [7] = K_I64,
				  [8] = K_I64,
				  [9] = K_LEN,
				  [10] = K_VARINT,
				  [11] = K_LEN,
				  [12] = K_VARINT,
				  [13] = K_LEN,
				  [14] = K_VARINT,
				  [15] = K_LEN,
				  [16] = K_I32}};
static const msgdesc_t M_EVENT = {
    "Span.Event", 0, 4, {[1] = K_I64, [2] = K_LEN, [3] = K_LEN, [4] = K_VARINT}};
static const msgdesc_t M_LINK = {
    "Span.Link",
    0,
    6,
    {[1] = K_LEN, [2] = K_LEN, [3] = K_LEN, [4] = K_LEN, [5] = K_VARINT, [6] = K_I32}};
static const msgdesc_t M_STATUS = {"Status", 0, 3, {[2] = K_LEN, [3] = K_VARINT}};
static const msgdesc_t M_LOG = {"LogRecord",
				0,
				12,
				{[1] = K_I64,
				 [2] = K_VARINT,
				 [3] = K_LEN,
				 [5] = K_LEN,
				 [6] = K_LEN,
				 [7] = K_VARINT,
				 [8] = K_I32,
				 [9] = K_LEN,
				 [10] = K_LEN,
				 [11] = K_I64,
				 [12] = K_LEN}};
static const msgdesc_t M_METRIC = {"Metric",
				   1u << 5 | 1u << 7 | 1u << 9 | 1u << 10 | 1u << 11,
				   12,
				   {[1] = K_LEN,
				    [2] = K_LEN,
				    [3] = K_LEN,
				    [5] = K_LEN,
				    [7] = K_LEN,
				    [9] = K_LEN,
				    [10] = K_LEN,
				    [11] = K_LEN,
				    [12] = K_LEN}};
static const msgdesc_t M_GAUGE = {"Gauge", 0, 1, {[1] = K_LEN}};
static const msgdesc_t M_SUM = {"Sum", 0, 3, {[1] = K_LEN, [2] = K_VARINT, [3] = K_VARINT}};
static const msgdesc_t M_HISTOGRAM = {"Histogram", 0, 2, {[1] = K_LEN, [2] = K_VARINT}};
static const msgdesc_t M_EXP_HISTOGRAM = {
    "ExponentialHistogram", 0, 2, {[1] = K_LEN, [2] = K_VARINT}};
static const msgdesc_t M_SUMMARY = {"Summary", 0, 1, {[1] = K_LEN}};
static const msgdesc_t M_NUMBER_POINT = {
    "NumberDataPoint",
    1u << 4 | 1u << 6,
    8,
    {[2] = K_I64, [3] = K_I64, [4] = K_I64, [5] = K_LEN, [6] = K_I64, [7] = K_LEN, [8] = K_VARINT}};
static const msgdesc_t M_HISTOGRAM_POINT = {"HistogramDataPoint",
					    0,
					    12,
					    {[2] = K_I64,
					     [3] = K_I64,
					     [4] = K_I64,
					     [5] = K_I64,
					     [6] = K_REP_I64,
					     [7] = K_REP_I64,
					     [8] = K_LEN,
					     [9] = K_LEN,
					     [10] = K_VARINT,
					     [11] = K_I64,
					     [12] = K_I64}};
static const msgdesc_t M_EXP_POINT = {"ExponentialHistogramDataPoint",
				      0,
				      14,
				      {[1] = K_LEN,
				       [2] = K_I64,
				       [3] = K_I64,
				       [4] = K_I64,
				       [5] = K_I64,
				       [6] = K_VARINT,
				       [7] = K_I64,
				       [8] = K_LEN,
				       [9] = K_LEN,
				       [10] = K_VARINT,
				       [11] = K_LEN,
				       [12] = K_I64,
				       [13] = K_I64,
				       [14] = K_I64}};
static const msgdesc_t M_BUCKETS = {"Buckets", 0, 2, {[1] = K_VARINT, [2] = K_REP_VARINT}};
static const msgdesc_t M_SUMMARY_POINT = {
    "SummaryDataPoint",
    0,
    8,
    {[2] = K_I64, [3] = K_I64, [4] = K_I64, [5] = K_I64, [6] = K_LEN, [7] = K_LEN, [8] = K_VARINT}};
static const msgdesc_t M_QUANTILE = {"ValueAtQuantile", 0, 2, {[1] = K_I64, [2] = K_I64}};
static const msgdesc_t M_EXEMPLAR = {
    "Exemplar",
    1u << 3 | 1u << 6,
    7,
    {[2] = K_I64, [3] = K_I64, [4] = K_LEN, [5] = K_LEN, [6] = K_I64, [7] = K_LEN}};

/* ---- values ---- */

static double f64_of(uint64_t bits)
{
	double v;
	memcpy(&v, &bits, sizeof(v));
	return v;
}

static int32_t i32_of(uint64_t v)
{
	return (int32_t)(uint32_t)v; /* int32/uint32/enum: the low 32 bits */
}

static int32_t sint32_of(uint64_t v)
{
	uint32_t u = (uint32_t)v;
	return (int32_t)(u >> 1) ^ -(int32_t)(u & 1);
}

/* An enum for an INT8 column. */
static int enum8(dec_t *d, uint64_t v, const char *what, int32_t *out)
{
	*out = i32_of(v);
	if (*out < INT8_MIN || *out > INT8_MAX)
		return fail(d, "%s %lld: %s %d is out of range (-128..127)", d->rec,
			    (long long)d->nrec, what, *out);
	return 0;
}

/* Length of the UTF-8 sequence at p, whose first byte is >= 0x80; 0 when
 * it is not valid (RFC 3629 table 3). */
static size_t utf8_seq(const uint8_t *p, size_t n)
{
	uint8_t c = p[0];
	if (c >= 0xc2 && c <= 0xdf)
		return n >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		uint8_t lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
		return n >= 3 && p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		uint8_t lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
		return n >= 4 && p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 &&
			       (p[3] & 0xc0) == 0x80
			   ? 4
			   : 0;
	}
	return 0;
}

static int bad_utf8(dec_t *d, const uint8_t *p)
{
	return fail(d, "invalid UTF-8 in a string at byte %zu", off(d, p));
}

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

static int utf8_check(dec_t *d, const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint64_t w;
		if (n - i >= 8 && (memcpy(&w, p + i, 8), !(w & HIGHS))) {
			i += 8;
		} else if (p[i] < 0x80) {
			i++;
		} else {
			size_t k = utf8_seq(p + i, n - i);
			if (k == 0)
				return bad_utf8(d, p + i);
			i += k;
		}
	}
	return 0;
}

/* A string field: its last value, "" when absent; checked. */
static int str_of(dec_t *d, const slot_t *s, str_t *out)
{
	out->p = s->n ? s->p : (const uint8_t *)"";
	out->n = s->n ? s->len : 0;
	return utf8_check(d, out->p, out->n);
}

/* ---- JSON ---- */

/* Appends inline: JSON is written a few bytes at a time. */
static inline void put(ow_buf_t *o, const void *p, size_t n)
{
	if (o->cap - o->len < n)
		ow_buf_reserve(o, n);
	memcpy(o->data + o->len, p, n);
	o->len += n;
}

static inline void put_c(ow_buf_t *o, char c)
{
	if (o->len == o->cap)
		ow_buf_reserve(o, 1);
	o->data[o->len++] = (uint8_t)c;
}

#define PUT(o, lit) put(o, lit, sizeof(lit) - 1)

/* Bytes a JSON string cannot hold as they are, and UTF-8 lead bytes. */
static const uint8_t special[256] = {[0 ... 0x1f] = 1, ['"'] = 1, ['\\'] = 1, [0x80 ... 0xff] = 1};

/* Whether one of 8 bytes is special: the zero-byte and less-than tests of
 * "Bit Twiddling Hacks", exact as yes/no answers. */
static inline int special8(uint64_t w)
{
	uint64_t q = w ^ (ONES * '"'), b = w ^ (ONES * '\\');
	return ((((w - ONES * 0x20) & ~w) | ((q - ONES) & ~q) | ((b - ONES) & ~b) | w) & HIGHS) !=
	       0;
}

/* c ('"', '\\' or a control character) escaped into e: its length. */
size_t ow_columns_escape(uint8_t c, char e[6])
{
	static const char hex[] = "0123456789abcdef";
	static const char *const named = "\"\"\\\\\bb\ff\nn\rr\tt";
	e[0] = '\\';
	for (const char *n = named; *n; n += 2)
		if ((uint8_t)n[0] == c) {
			e[1] = n[1];
			return 2;
		}
	memcpy(e, "\\u00", 4);
	e[4] = hex[c >> 4];
	e[5] = hex[c & 15];
	return 6;
}

static int j_str(dec_t *d, ow_buf_t *o, const uint8_t *p, size_t n)
{
	size_t i = 0, run = 0;
	ow_buf_reserve(o, n + 2);
	o->data[o->len++] = '"';
	while (i < n) {
		uint64_t w;
		if (n - i >= 8 && (memcpy(&w, p + i, 8), !special8(w))) {
			i += 8;
			continue;
		}
		uint8_t c = p[i];
		if (!special[c]) {
			i++;
			continue;
		}
		if (c >= 0x80) {
			size_t k = utf8_seq(p + i, n - i);
			if (k == 0)
				return bad_utf8(d, p + i);
			i += k;
			continue;
		}
		put(o, p + run, i - run);
		char e[6];
		put(o, e, ow_columns_escape(c, e));
		run = ++i;
	}
	put(o, p + run, n - run);
	put_c(o, '"');
	return 0;
}

/* 64-bit integers are strings in OTLP/JSON: a double-based reader would
 * round them. */
static void j_qu64(ow_buf_t *o, uint64_t v)
{
	put_c(o, '"');
	ow_buf_add_u64(o, v);
	put_c(o, '"');
}

static void j_qi64(ow_buf_t *o, int64_t v)
{
	put_c(o, '"');
	ow_buf_add_i64(o, v);
	put_c(o, '"');
}

static void j_f64(ow_buf_t *o, double v)
{
	if (isnan(v)) {
		PUT(o, "\"NaN\"");
		return;
	}
	if (isinf(v)) {
		if (v > 0)
			PUT(o, "\"Infinity\"");
		else
			PUT(o, "\"-Infinity\"");
		return;
	}
	char b[32];
	int n = ow_dtoa(v, b, sizeof(b));
	put(o, b, (size_t)n);
	if (strspn(b, "-0123456789") == (size_t)n)
		PUT(o, ".0");
}

void ow_columns_json_f64(ow_buf_t *o, double v)
{
	j_f64(o, v);
}

static void j_b64(ow_buf_t *o, const uint8_t *p, size_t n)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	ow_buf_reserve(o, (n + 2) / 3 * 4 + 2);
	char *w = (char *)o->data + o->len;
	*w++ = '"';
	size_t i = 0;
	for (; n - i >= 3; i += 3) {
		uint32_t x = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*w++ = a[x >> 18];
		*w++ = a[x >> 12 & 63];
		*w++ = a[x >> 6 & 63];
		*w++ = a[x & 63];
	}
	if (n - i) {
		uint32_t x = (uint32_t)p[i] << 16 | (n - i == 2 ? (uint32_t)p[i + 1] << 8 : 0);
		*w++ = a[x >> 18];
		*w++ = a[x >> 12 & 63];
		*w++ = n - i == 2 ? a[x >> 6 & 63] : '=';
		*w++ = '=';
	}
	*w++ = '"';
	o->len = (size_t)((uint8_t *)w - o->data);
}

static void j_hex(ow_buf_t *o, const slot_t *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = s->n ? s->len : 0;
	ow_buf_reserve(o, 2 * n + 2);
	char *w = (char *)o->data + o->len;
	*w++ = '"';
	for (size_t i = 0; i < n; i++) {
		*w++ = hex[s->p[i] >> 4];
		*w++ = hex[s->p[i] & 15];
	}
	*w++ = '"';
	o->len = (size_t)((uint8_t *)w - o->data);
}

/* A checked string field as a JSON string, "" when absent. */
static int j_strf(dec_t *d, ow_buf_t *o, const slot_t *s)
{
	return s->n ? j_str(d, o, s->p, s->len) : (PUT(o, "\"\""), 0);
}

#define MAX_NEST 64

typedef struct {
	int want;    /* looking for the first service.name */
	str_t value; /* its string value; p NULL when it has none */
} service_t;

static int j_any(dec_t *d, ow_buf_t *o, const view_t *v, int depth, int32_t key_strindex);

/* Scans an AnyValue. Only the slot of its member is read afterwards, so
 * the usual AnyValue, one field in one range of bytes, skips the scan. */
static int any_scan(dec_t *d, const view_t *v, slot_t *s, uint32_t *oc)
{
	const uint8_t *p = v->p;
	field_t f;
	if (!v->up) {
		*oc = 0;
		if (p == v->end)
			return 0;
		if (next_field(d, &p, v->end, &f) < 0)
			return -1;
		if (p == v->end && f.num <= (uint32_t)M_ANY_VALUE.maxf &&
		    wt_ok(M_ANY_VALUE.kind[f.num], f.wt)) {
			*oc = f.num;
			s[f.num] =
			    (slot_t){.n = 1, .first = f.at, .end = f.end, .v = f.v, .p = f.p};
			return 0;
		}
	}
	return scan(d, v, &M_ANY_VALUE, s, oc);
}

/* One KeyValue: as an object member ("key":value) or as an element of an
 * OTLP/JSON kvlistValue ({"key":"k","value":value}). */
static int j_kv(dec_t *d, ow_buf_t *o, const field_t *f, int depth, int member, service_t *svc)
{
	view_t kv = {NULL, f->p, f->p + f->n, 0}, val;
	slot_t s[NSLOTS];
	uint32_t oc;
	if (scan(d, &kv, &M_KEY_VALUE, s, &oc) < 0)
		return -1;
	if (!member)
		PUT(o, "{\"key\":");
	if (j_strf(d, o, &s[1]) < 0)
		return -1;
	if (member)
		put_c(o, ':');
	else
		PUT(o, ",\"value\":");
	if (s[2].n)
		sub(&val, &kv, &s[2], 2);
	if (svc && svc->want && s[1].len == 12 && memcmp(s[1].p, "service.name", 12) == 0) {
		/* the first service.name gives the column, string or not */
		slot_t a[NSLOTS];
		svc->want = 0;
		if (s[2].n && any_scan(d, &val, a, &oc) < 0)
			return -1;
		if (s[2].n && oc == 1)
			svc->value = (str_t){a[1].p, a[1].len};
	}
	if (j_any(d, o, s[2].n ? &val : NULL, depth, i32_of(s[3].v)) < 0)
		return -1;
	if (!member)
		put_c(o, '}');
	return 0;
}

/* The KeyValues of field num of v (slot s) as a JSON object. */
static int j_attrs(dec_t *d, ow_buf_t *o, const view_t *v, const slot_t *s, uint32_t num,
		   service_t *svc)
{
	iter_t it;
	field_t f;
	int r, n = 0;
	it_slot(&it, v, s);
	put_c(o, '{');
	while ((r = it_next(d, &it, &f)) > 0) {
		if (f.num != num)
			continue;
		if (n++)
			put_c(o, ',');
		if (j_kv(d, o, &f, 0, 1, svc) < 0)
			return -1;
	}
	put_c(o, '}');
	return r;
}

/* The elements of an ArrayValue or KeyValueList. */
static int j_list(dec_t *d, ow_buf_t *o, const view_t *v, int depth, int kvlist)
{
	slot_t s[NSLOTS];
	uint32_t oc;
	iter_t it;
	field_t f;
	int r, n = 0;
	if (depth >= MAX_NEST)
		return fail(d, "%s %lld: AnyValue nested deeper than %d levels", d->rec,
			    (long long)d->nrec, MAX_NEST);
	if (scan(d, v, &M_LIST, s, &oc) < 0)
		return -1;
	if (d->otlp)
		PUT(o, "{\"values\":[");
	else
		put_c(o, kvlist ? '{' : '[');
	it_slot(&it, v, &s[1]);
	while ((r = it_next(d, &it, &f)) > 0) {
		if (f.num != 1)
			continue;
		if (n++)
			put_c(o, ',');
		view_t e = {NULL, f.p, f.p + f.n, 0};
		if ((kvlist ? j_kv(d, o, &f, depth + 1, !d->otlp, NULL)
			    : j_any(d, o, &e, depth + 1, 0)) < 0)
			return -1;
	}
	if (d->otlp)
		PUT(o, "]}");
	else
		put_c(o, kvlist ? '}' : ']');
	return r;
}

/* An AnyValue (v NULL: absent), plain or as OTLP/JSON (d->otlp). */
static int j_any(dec_t *d, ow_buf_t *o, const view_t *v, int depth, int32_t key_strindex)
{
	static const char *const member[] = {"{",
					     "{\"stringValue\":",
					     "{\"boolValue\":",
					     "{\"intValue\":",
					     "{\"doubleValue\":",
					     "{\"arrayValue\":",
					     "{\"kvlistValue\":",
					     "{\"bytesValue\":",
					     "{\"stringValueStrindex\":"};
	slot_t s[NSLOTS];
	uint32_t oc = 0;
	view_t list;
	int otlp = d->otlp;
	if (v && any_scan(d, v, s, &oc) < 0)
		return -1;
	if (otlp)
		put(o, member[oc], strlen(member[oc]));
	else if (key_strindex || oc >= 7)
		d->lossy = 1; /* bytes, a string index, a key index */
	switch (oc) {
	case 0:
		if (!otlp)
			PUT(o, "null");
		break;
	case 1:
		if (j_str(d, o, s[1].p, s[1].len) < 0)
			return -1;
		break;
	case 2:
		if (s[2].v)
			PUT(o, "true");
		else
			PUT(o, "false");
		break;
	case 3:
		if (otlp)
			j_qi64(o, (int64_t)s[3].v);
		else
			ow_buf_add_i64(o, (int64_t)s[3].v);
		break;
	case 4: {
		double x = f64_of(s[4].v);
		if (!isfinite(x))
			d->lossy = 1; /* a string "NaN" in plain JSON */
		j_f64(o, x);
		break;
	}
	case 5:
	case 6:
		sub(&list, v, &s[oc], oc);
		if (j_list(d, o, &list, depth, oc == 6) < 0)
			return -1;
		break;
	case 7:
		j_b64(o, s[7].p, s[7].len);
		break;
	default: /* 8 */
		ow_buf_add_i64(o, i32_of(s[8].v));
	}
	if (otlp) {
		if (key_strindex) {
			if (oc)
				put_c(o, ',');
			PUT(o, "\"keyStrindex\":");
			ow_buf_add_i64(o, key_strindex);
		}
		put_c(o, '}');
	}
	return 0;
}

/* Writes one element of a list column from the message at f->p. */
typedef int (*elem_fn)(dec_t *d, ow_buf_t *o, const field_t *f);

/* The messages of repeated field num of v (slot s) as a JSON array. */
static int j_array(dec_t *d, ow_buf_t *o, const view_t *v, const slot_t *s, uint32_t num,
		   elem_fn elem)
{
	iter_t it;
	field_t f;
	int r, n = 0;
	it_slot(&it, v, s);
	put_c(o, '[');
	while ((r = it_next(d, &it, &f)) > 0) {
		if (f.num != num)
			continue;
		if (n++)
			put_c(o, ',');
		if (elem(d, o, &f) < 0)
			return -1;
	}
	put_c(o, ']');
	return r;
}

/* How the numbers of a repeated scalar field are encoded, and written. */
enum { NUM_FIXED_U64, NUM_VARINT_U64, NUM_DOUBLE };

static void j_num(ow_buf_t *o, uint64_t v, int type)
{
	if (type == NUM_DOUBLE)
		j_f64(o, f64_of(v));
	else
		j_qu64(o, v);
}

/* Repeated scalar field num of v, packed or not, as a JSON array. */
static int j_nums(dec_t *d, ow_buf_t *o, const view_t *v, const slot_t *s, uint32_t num, int type)
{
	iter_t it;
	field_t f;
	int r, n = 0;
	it_slot(&it, v, s);
	put_c(o, '[');
	while ((r = it_next(d, &it, &f)) > 0) {
		if (f.num != num)
			continue;
		if (f.wt != WT_LEN) {
			if (n++)
				put_c(o, ',');
			j_num(o, f.v, type);
			continue;
		}
		if (type != NUM_VARINT_U64 && f.n % 8)
			return fail(
			    d, "malformed protobuf: packed 64-bit field of %zu bytes at byte %zu",
			    f.n, off(d, f.at));
		const uint8_t *p = f.p, *end = f.p + f.n;
		while (p < end) {
			uint64_t x;
			if (type == NUM_VARINT_U64) {
				if (varint(d, &p, end, &x) < 0)
					return -1;
			} else {
				x = ow_get_u64(p);
				p += 8;
			}
			if (n++)
				put_c(o, ',');
			j_num(o, x, type);
		}
	}
	put_c(o, ']');
	return r;
}

static int j_entity_ref(dec_t *d, ow_buf_t *o, const field_t *f)
{
	view_t v = {NULL, f->p, f->p + f->n, 0};
	slot_t s[NSLOTS];
	uint32_t oc;
	static const char *const names[] = {
	    NULL, "{\"schemaUrl\":", ",\"type\":", ",\"idKeys\":", ",\"descriptionKeys\":"};
	if (scan(d, &v, &M_ENTITY_REF, s, &oc) < 0)
		return -1;
	for (uint32_t k = 1; k <= 4; k++) {
		put(o, names[k], strlen(names[k]));
		if (k <= 2) {
			if (j_strf(d, o, &s[k]) < 0)
				return -1;
			continue;
		}
		iter_t it;
		field_t e;
		int r, n = 0;
		it_slot(&it, &v, &s[k]);
		put_c(o, '[');
		while ((r = it_next(d, &it, &e)) > 0) {
			if (e.num != k)
				continue;
			if (n++)
				put_c(o, ',');
			if (j_str(d, o, e.p, e.n) < 0)
				return -1;
		}
		if (r < 0)
			return -1;
		put_c(o, ']');
	}
	put_c(o, '}');
	return 0;
}

static int j_event(dec_t *d, ow_buf_t *o, const field_t *f)
{
	view_t v = {NULL, f->p, f->p + f->n, 0};
	slot_t s[NSLOTS];
	uint32_t oc;
	if (scan(d, &v, &M_EVENT, s, &oc) < 0)
		return -1;
	PUT(o, "{\"timeUnixNano\":");
	j_qu64(o, s[1].v);
	PUT(o, ",\"name\":");
	if (j_strf(d, o, &s[2]) < 0)
		return -1;
	PUT(o, ",\"attributes\":");
	if (j_attrs(d, o, &v, &s[3], 3, NULL) < 0)
		return -1;
	PUT(o, ",\"droppedAttributesCount\":");
	ow_buf_add_u64(o, (uint32_t)s[4].v);
	put_c(o, '}');
	return 0;
}

/* An id field: empty, or exactly n bytes. */
static int id_ok(const slot_t *s, size_t n)
{
	return s->n == 0 || s->len == 0 || s->len == n;
}

static int bad_id(dec_t *d, const char *what, const slot_t *s, size_t want)
{
	return fail(d, "%s %lld: %s is %zu bytes, must be %zu (or empty)", d->rec,
		    (long long)d->nrec, what, s->len, want);
}

/* An id that is empty or all zero bytes: "invalid" in the OTLP protos. */
static const char *id_unset(const slot_t *s)
{
	if (!s->n || !s->len)
		return "empty";
	for (size_t i = 0; i < s->len; i++)
		if (s->p[i])
			return NULL;
	return "all zero bytes";
}

/* Skips the current record (invalid by itself), keeping the first reason.
 * Returns 1, what a record function returns for a skipped record. */
static int skip(dec_t *d, const char *what, const char *how)
{
	if (d->rej.n++ == 0)
		snprintf(d->rej.why, sizeof(d->rej.why),
			 "%s %lld: its %s is %s (an empty or all-zero trace_id or span_id is "
			 "invalid)",
			 d->rec, (long long)d->nrec, what, how);
	return 1;
}

/* ---- the window of times (columns.h) ---- */

/* Writes v as the fixed64 that ends at end, in the request's bytes. */
static void rewrite_fixed64(dec_t *d, const uint8_t *end, uint64_t v)
{
	ow_put_u64(d->wpb + (end - 8 - d->base), v);
}

/* Renumbers the record whose tag is at `at` to field 15 (wire type 2),
 * in as many bytes as its tag had: 0x7a, or 0xfa 0x80.. 0x00. */
static void unlist(dec_t *d, const uint8_t *at)
{
	uint8_t *p = d->wpb + (at - d->base);
	size_t n = 1;
	while (p[n - 1] & 0x80)
		n++;
	p[0] = n == 1 ? 0x7a : 0xfa;
	for (size_t i = 1; i < n; i++)
		p[i] = i + 1 < n ? 0x80 : 0x00;
}

/* The window on the time in slot t (a fixed64) of the record at f; shift,
 * when not NULL, is a time that moves with it when it is clamped. 0: the
 * record is kept (maybe clamped); 1: skipped. */
static int in_window(dec_t *d, const field_t *f, slot_t *t, slot_t *shift)
{
	const ow_columns_window_t *w = d->win;
	if (!w || t->v == 0 || (t->v >= w->min_ns && t->v <= w->max_ns))
		return 0;
	if (w->clamp) {
		uint64_t v = t->v < w->min_ns ? w->min_ns : w->max_ns;
		if (shift && shift->v) {
			shift->v += v - t->v;
			rewrite_fixed64(d, shift->end, shift->v);
		}
		t->v = v;
		rewrite_fixed64(d, t->end, v);
		return 0;
	}
	unlist(d, f->at);
	d->rej.times++;
	if (d->rej.n++ == 0) {
		char at[40], lo[40], hi[40];
		ow_time_iso((int64_t)t->v, at, sizeof(at));
		ow_time_iso((int64_t)w->min_ns, lo, sizeof(lo));
		ow_time_iso((int64_t)w->max_ns, hi, sizeof(hi));
		snprintf(d->rej.why, sizeof(d->rej.why),
			 "%s %lld: its time %s is outside the window taken, %s to %s", d->rec,
			 (long long)d->nrec, at, lo, hi);
	}
	return 1;
}

static int j_link(dec_t *d, ow_buf_t *o, const field_t *f)
{
	view_t v = {NULL, f->p, f->p + f->n, 0};
	slot_t s[NSLOTS];
	uint32_t oc;
	if (scan(d, &v, &M_LINK, s, &oc) < 0)
		return -1;
	if (!id_ok(&s[1], 16))
		return bad_id(d, "a link's trace_id", &s[1], 16);
	if (!id_ok(&s[2], 8))
		return bad_id(d, "a link's span_id", &s[2], 8);
	PUT(o, "{\"traceId\":");
	j_hex(o, &s[1]);
	PUT(o, ",\"spanId\":");
	j_hex(o, &s[2]);
	PUT(o, ",\"traceState\":");
	if (j_strf(d, o, &s[3]) < 0)
		return -1;
	PUT(o, ",\"attributes\":");
	if (j_attrs(d, o, &v, &s[4], 4, NULL) < 0)
		return -1;
	PUT(o, ",\"droppedAttributesCount\":");
	ow_buf_add_u64(o, (uint32_t)s[5].v);
	PUT(o, ",\"flags\":");
	ow_buf_add_u64(o, (uint32_t)s[6].v);
	put_c(o, '}');
	return 0;
}

static int j_exemplar(dec_t *d, ow_buf_t *o, const field_t *f)
{
	view_t v = {NULL, f->p, f->p + f->n, 0};
	slot_t s[NSLOTS];
	uint32_t oc;
	if (scan(d, &v, &M_EXEMPLAR, s, &oc) < 0)
		return -1;
	PUT(o, "{\"timeUnixNano\":");
	j_qu64(o, s[2].v);
	if (oc == 3) {
		PUT(o, ",\"asDouble\":");
		j_f64(o, f64_of(s[3].v));
	} else if (oc == 6) {
		PUT(o, ",\"asInt\":");
		j_qi64(o, (int64_t)s[6].v);
	}
	PUT(o, ",\"spanId\":");
	j_hex(o, &s[4]);
	PUT(o, ",\"traceId\":");
	j_hex(o, &s[5]);
	PUT(o, ",\"filteredAttributes\":");
	if (j_attrs(d, o, &v, &s[7], 7, NULL) < 0)
		return -1;
	put_c(o, '}');
	return 0;
}

static int j_quantile(dec_t *d, ow_buf_t *o, const field_t *f)
{
	view_t v = {NULL, f->p, f->p + f->n, 0};
	slot_t s[NSLOTS];
	uint32_t oc;
	if (scan(d, &v, &M_QUANTILE, s, &oc) < 0)
		return -1;
	PUT(o, "{\"quantile\":");
	j_f64(o, f64_of(s[1].v));
	PUT(o, ",\"value\":");
	j_f64(o, f64_of(s[2].v));
	put_c(o, '}');
	return 0;
}

/* ExponentialHistogramDataPoint.Buckets (field num of v, slot s). */
static int j_buckets(dec_t *d, ow_buf_t *o, const view_t *v, const slot_t *s, uint32_t num)
{
	view_t b;
	slot_t bs[NSLOTS];
	uint32_t oc;
	sub(&b, v, s, num);
	if (scan(d, &b, &M_BUCKETS, bs, &oc) < 0)
		return -1;
	PUT(o, "{\"offset\":");
	ow_buf_add_i64(o, sint32_of(bs[1].v));
	PUT(o, ",\"bucketCounts\":");
	if (j_nums(d, o, &b, &bs[2], 2, NUM_VARINT_U64) < 0)
		return -1;
	put_c(o, '}');
	return 0;
}

/* ---- plain JSON, and OTLP/JSON where plain loses something ---- */

enum { J_ATTRS, J_ARRAY, J_ANY };

/* A JSON value to write: the KeyValues or the messages of field num of v
 * (slot s), or the AnyValue v. */
typedef struct {
	int what;
	const view_t *v;
	const slot_t *s;
	uint32_t num;
	elem_fn elem;
	service_t *svc;
} jval_t;

static int j_val(dec_t *d, ow_buf_t *o, const jval_t *j)
{
	switch (j->what) {
	case J_ATTRS:
		return j_attrs(d, o, j->v, j->s, j->num, j->svc);
	case J_ARRAY:
		return j_array(d, o, j->v, j->s, j->num, j->elem);
	default:
		return j_any(d, o, j->v, 0, 0);
	}
}

/* Writes j plain into o and, when that lost something (or lossy: in any
 * case), as OTLP/JSON into x; x is left empty when plain is exact. */
static int j_both(dec_t *d, ow_buf_t *o, ow_buf_t *x, const jval_t *j, int lossy)
{
	x->len = 0;
	d->lossy = lossy;
	if (j_val(d, o, j) < 0)
		return -1;
	if (!d->lossy)
		return 0;
	d->otlp = 1;
	int r = j_val(d, x, j);
	d->otlp = 0;
	return r;
}

/* Adds column col's OTLP/JSON text x (when not empty) to the row's
 * otlp_exact object. */
static void exact_add(dec_t *d, int col, const ow_buf_t *x)
{
	if (!x->len)
		return;
	put_c(&d->exact, d->exact.len ? ',' : '{');
	j_str(d, &d->exact, (const uint8_t *)d->defs[col].name, strlen(d->defs[col].name));
	put_c(&d->exact, ':');
	put(&d->exact, x->data, x->len);
}

/* ---- columns ---- */

/* An empty value adds no bytes: ow_buf_add would memcpy 0 bytes to the
 * NULL data of a column that has none yet, which UBSan rightly reports. */
static void put_bytes(ow_col_t *c, const uint8_t *p, size_t n)
{
	if (n) {
		ow_col_bytes(c, p, n);
	} else {
		ow_col_bytes_open(c);
		ow_col_bytes_close(c);
	}
}

static void put_id(ow_col_t *c, const slot_t *s)
{
	if (s->n && s->len)
		ow_col_fixed(c, s->p, s->len);
	else
		ow_col_null(c);
}

static int put_string(dec_t *d, ow_col_t *c, const slot_t *s)
{
	str_t v;
	if (str_of(d, s, &v) < 0)
		return -1;
	put_bytes(c, v.p, v.n);
	return 0;
}

static void put_once(dec_t *d, int col, size_t start);

/* A string field held once a request (put_once). */
static int put_string_once(dec_t *d, int col, const slot_t *s)
{
	str_t v;
	if (str_of(d, s, &v) < 0)
		return -1;
	size_t start = d->c[col].data.len;
	ow_buf_add(&d->c[col].data, v.p, v.n);
	put_once(d, col, start);
	return 0;
}

/* Column col from j, plain, its OTLP/JSON into the row's otlp_exact when
 * plain loses something (lossy: in any case). */
static int put_plain(dec_t *d, int col, const jval_t *j, int lossy)
{
	ow_col_t *c = &d->c[col];
	if (j_both(d, ow_col_bytes_open(c), &d->tmp, j, lossy) < 0)
		return -1;
	ow_col_bytes_close(c);
	exact_add(d, col, &d->tmp);
	return 0;
}

/* A record's attributes, held once a request (put_once). */
static int put_attrs(dec_t *d, int col, const view_t *v, const slot_t *s, uint32_t num)
{
	ow_col_t *c = &d->c[col];
	if (!s->n) {
		ow_col_null(c);
		return 0;
	}
	jval_t j = {J_ATTRS, v, s, num, NULL, NULL};
	size_t start = c->data.len;
	if (j_both(d, ow_col_bytes_open(c), &d->tmp, &j, 0) < 0)
		return -1;
	put_once(d, col, start);
	exact_add(d, col, &d->tmp);
	return 0;
}

static int put_array(dec_t *d, int col, const view_t *v, const slot_t *s, uint32_t num,
		     elem_fn elem)
{
	if (!s->n) {
		ow_col_null(&d->c[col]);
		return 0;
	}
	jval_t j = {J_ARRAY, v, s, num, elem, NULL};
	return put_plain(d, col, &j, 0);
}

/* The row's otlp_exact, into column col: NULL when every value of the row
 * is exact in plain JSON (nearly always). */
static void put_exact(dec_t *d, int col)
{
	if (!d->exact.len) {
		ow_col_null(&d->c[col]);
		return;
	}
	put_c(&d->exact, '}');
	ow_col_bytes(&d->c[col], d->exact.data, d->exact.len);
}

static int put_nums(dec_t *d, ow_col_t *c, const view_t *v, const slot_t *s, uint32_t num, int type)
{
	if (!s->n) {
		ow_col_null(c);
		return 0;
	}
	if (j_nums(d, ow_col_bytes_open(c), v, s, num, type) < 0)
		return -1;
	ow_col_bytes_close(c);
	return 0;
}

static int put_enum8(dec_t *d, ow_col_t *c, uint64_t v, const char *what)
{
	int32_t e;
	if (enum8(d, v, what, &e) < 0)
		return -1;
	ow_col_i32(c, e);
	return 0;
}

#define NO_ENTRY UINT32_MAX

/* The text columns of the resource and the scope (the others are INT32),
 * and of a metric (its points' tables only). */
static const uint8_t shared_cols[] = {C_SERVICE_NAME,	 C_RES_ATTRS,	    C_RES_SCHEMA_URL,
				      C_RES_ENTITY_REFS, C_SCOPE_NAME,	    C_SCOPE_VERSION,
				      C_SCOPE_ATTRS,	 C_SCOPE_SCHEMA_URL};
static const uint8_t metric_shared_cols[] = {MT_NAME, MT_DESCRIPTION, MT_UNIT, MT_METADATA,
					     MT_TYPE};
/* A signal's columns with refs beyond shared_cols: a metric's, and the
 * records' own that put_once holds once a request. */
static const struct {
	int n;
	uint8_t col[8];
} once_cols[OW_NSIGNALS] = {
    [OW_TRACES] = {2, {SP_NAME, SP_ATTRS}},
    [OW_LOGS] = {2, {LG_SEVERITY_TEXT, LG_ATTRS}},
    [OW_METRICS] = {6, {MT_NAME, MT_DESCRIPTION, MT_UNIT, MT_METADATA, MT_TYPE, MT_ATTRS}},
};

/* A value every row under the resource or scope repeats: its entry is
 * written with the first row, the others refer to it (column.h's refs;
 * a resource's attributes are ~1 KB a row otherwise). p NULL: null. */
static void put_shared(dec_t *d, int col, const uint8_t *p, size_t n)
{
	ow_col_t *c = &d->c[col];
	if (p == NULL) {
		ow_col_null(c);
		return;
	}
	if (d->entry[col] == NO_ENTRY) {
		if (n)
			ow_buf_add(&c->data, p, n);
		uint32_t end = (uint32_t)c->data.len;
		ow_buf_add(&c->offs, &end, sizeof(end));
		d->entry[col] = (uint32_t)(c->offs.len / 4 - 1);
	}
	ow_buf_add(&c->refs, &d->entry[col], sizeof(uint32_t));
	ow_col_defined(c);
}

/* A slot of dec_t's seen: an entry of column col whose bytes hash to h. */
typedef struct {
	uint64_t h;
	uint32_t col, entry; /* NO_ENTRY: a free slot */
} once_t;

static void once_grow(dec_t *d)
{
	size_t cap = d->capseen ? 2 * d->capseen : 64;
	ow_buf_t nb = {0};
	ow_buf_reserve(&nb, cap * sizeof(once_t));
	once_t *n = (once_t *)(void *)nb.data, *o = (once_t *)(void *)d->seen.data;
	for (size_t i = 0; i < cap; i++)
		n[i].entry = NO_ENTRY;
	for (size_t i = 0; i < d->capseen; i++) {
		if (o[i].entry == NO_ENTRY)
			continue;
		size_t k = o[i].h & (cap - 1);
		while (n[k].entry != NO_ENTRY)
			k = (k + 1) & (cap - 1);
		n[k] = o[i];
	}
	ow_buf_free(&d->seen);
	d->seen = nb;
	d->capseen = cap;
}

/* The value just written to column col's data from byte start: kept as a
 * new entry, or taken back for the same entry written before in this
 * call, which the row then refers to. */
static void put_once(dec_t *d, int col, size_t start)
{
	ow_col_t *c = &d->c[col];
	size_t n = c->data.len - start;
	const uint8_t *p = n ? c->data.data + start : (const uint8_t *)"";
	uint64_t h = XXH64(p, n, (uint64_t)col);
	if (2 * (d->nseen + 1) > d->capseen)
		once_grow(d);
	once_t *t = (once_t *)(void *)d->seen.data;
	size_t mask = d->capseen - 1, k = h & mask;
	for (; t[k].entry != NO_ENTRY; k = (k + 1) & mask) {
		size_t len;
		if (t[k].h != h || t[k].col != (uint32_t)col)
			continue;
		const uint8_t *e = ow_col_bytes_at(c, t[k].entry, &len);
		if (len == n && (n == 0 || memcmp(e, p, n) == 0)) {
			c->data.len = start;
			ow_buf_add(&c->refs, &t[k].entry, sizeof(uint32_t));
			ow_col_defined(c);
			return;
		}
	}
	uint32_t end = (uint32_t)c->data.len;
	ow_buf_add(&c->offs, &end, sizeof(end));
	t[k] = (once_t){h, (uint32_t)col, (uint32_t)(c->offs.len / 4 - 1)};
	d->nseen++;
	ow_buf_add(&c->refs, &t[k].entry, sizeof(uint32_t));
	ow_col_defined(c);
}

/* Also where each row is paid for: the buffers' growth up to the
 * previous row is agreed with the caller before this one is written, so a
 * refused request has allocated at most one row past its allowance. */
static int put_common(dec_t *d)
{
	ow_col_t *c = d->c;
	if (d->grow && d->grown > d->allowed) {
		d->allowed = d->grown;
		if (d->grow(d->grow_arg, d->allowed, d->err, d->errlen) != 0)
			return -1;
	}
	put_shared(d, C_SERVICE_NAME, d->service.p, d->service.n);
	put_shared(d, C_RES_ATTRS, d->rattrs.len ? d->rattrs.data : NULL, d->rattrs.len);
	put_shared(d, C_RES_SCHEMA_URL, d->rschema.p, d->rschema.n);
	put_shared(d, C_RES_ENTITY_REFS, d->rrefs.len ? d->rrefs.data : NULL, d->rrefs.len);
	put_shared(d, C_SCOPE_NAME, d->sname.p, d->sname.n);
	put_shared(d, C_SCOPE_VERSION, d->sversion.p, d->sversion.n);
	put_shared(d, C_SCOPE_ATTRS, d->sattrs.len ? d->sattrs.data : NULL, d->sattrs.len);
	put_shared(d, C_SCOPE_SCHEMA_URL, d->sschema.p, d->sschema.n);
	ow_col_i32(&c[C_RES_DROPPED], (int32_t)d->rdropped);
	ow_col_i32(&c[C_SCOPE_DROPPED], (int32_t)d->sdropped);
	d->exact.len = 0;
	exact_add(d, C_RES_ATTRS, &d->rattrs_x);
	exact_add(d, C_SCOPE_ATTRS, &d->sattrs_x);
	return 0;
}

/* ---- spans ---- */

/* 0, 1 when the span is skipped (invalid ids), -1 when the request fails. */
static int span(dec_t *d, const field_t *f)
{
	view_t v = {NULL, f->p, f->p + f->n, 0};
	slot_t s[NSLOTS];
	uint32_t oc;
	ow_col_t *c = d->c;
	if (scan(d, &v, &M_SPAN, s, &oc) < 0)
		return -1;
	if (!id_ok(&s[1], 16))
		return bad_id(d, "trace_id", &s[1], 16);
	if (!id_ok(&s[2], 8))
		return bad_id(d, "span_id", &s[2], 8);
	if (!id_ok(&s[4], 8))
		return bad_id(d, "parent_span_id", &s[4], 8);
	const char *how;
	if ((how = id_unset(&s[1])) != NULL)
		return skip(d, "trace_id", how);
	if ((how = id_unset(&s[2])) != NULL)
		return skip(d, "span_id", how);
	if (in_window(d, f, &s[7], &s[8]))
		return 1;
	if (put_common(d) < 0)
		return -1;
	put_id(&c[SP_TRACE_ID], &s[1]);
	put_id(&c[SP_SPAN_ID], &s[2]);
	put_id(&c[SP_PARENT_SPAN_ID], &s[4]);
	if (put_string(d, &c[SP_TRACE_STATE], &s[3]) < 0)
		return -1;
	ow_col_i32(&c[SP_FLAGS], i32_of(s[16].v));
	if (put_string_once(d, SP_NAME, &s[5]) < 0 ||
	    put_enum8(d, &c[SP_KIND], s[6].v, "span kind") < 0)
		return -1;
	ow_col_i64(&c[SP_START], (int64_t)s[7].v);
	ow_col_i64(&c[SP_END], (int64_t)s[8].v);
	ow_col_i64(&c[SP_DURATION], (int64_t)(s[8].v - s[7].v));
	if (put_attrs(d, SP_ATTRS, &v, &s[9], 9) < 0)
		return -1;
	ow_col_i32(&c[SP_DROPPED_ATTRS], i32_of(s[10].v));
	if (put_array(d, SP_EVENTS, &v, &s[11], 11, j_event) < 0)
		return -1;
	ow_col_i32(&c[SP_DROPPED_EVENTS], i32_of(s[12].v));
	if (put_array(d, SP_LINKS, &v, &s[13], 13, j_link) < 0)
		return -1;
	ow_col_i32(&c[SP_DROPPED_LINKS], i32_of(s[14].v));
	if (!s[15].n) {
		ow_col_i32(&c[SP_STATUS_CODE], 0);
		ow_col_null(&c[SP_STATUS_MESSAGE]);
	} else {
		view_t sv;
		slot_t ss[NSLOTS];
		sub(&sv, &v, &s[15], 15);
		if (scan(d, &sv, &M_STATUS, ss, &oc) < 0 ||
		    put_enum8(d, &c[SP_STATUS_CODE], ss[3].v, "status code") < 0 ||
		    put_string(d, &c[SP_STATUS_MESSAGE], &ss[2]) < 0)
			return -1;
	}
	put_exact(d, SP_EXACT);
	return 0;
}

/* ---- logs ---- */

/* 0, 1 when the record is skipped (its time), -1 when the request fails. */
static int log_record(dec_t *d, const field_t *f)
{
	view_t v = {NULL, f->p, f->p + f->n, 0};
	slot_t s[NSLOTS];
	uint32_t oc;
	ow_col_t *c = d->c;
	if (scan(d, &v, &M_LOG, s, &oc) < 0)
		return -1;
	if (!id_ok(&s[9], 16))
		return bad_id(d, "trace_id", &s[9], 16);
	if (!id_ok(&s[10], 8))
		return bad_id(d, "span_id", &s[10], 8);
	if (in_window(d, f, s[1].v ? &s[1] : &s[11], NULL))
		return 1;
	if (put_common(d) < 0)
		return -1;
	ow_col_i64(&c[LG_TIME], (int64_t)s[1].v);
	ow_col_i64(&c[LG_OBSERVED], s[11].v ? (int64_t)s[11].v : d->recv_ns);
	if (put_enum8(d, &c[LG_SEVERITY], s[2].v, "severity number") < 0 ||
	    put_string_once(d, LG_SEVERITY_TEXT, &s[3]) < 0)
		return -1;
	if (s[5].n) {
		/* a string is the text itself; any other body plain JSON, and
		 * OTLP/JSON in otlp_exact (plain text cannot tell them apart) */
		view_t body;
		slot_t a[NSLOTS];
		sub(&body, &v, &s[5], 5);
		if (any_scan(d, &body, a, &oc) < 0)
			return -1;
		jval_t j = {J_ANY, &body, NULL, 0, NULL, NULL};
		if (oc == 1 ? put_string(d, &c[LG_BODY], &a[1]) : put_plain(d, LG_BODY, &j, 1))
			return -1;
	} else {
		ow_col_null(&c[LG_BODY]);
	}
	if (put_attrs(d, LG_ATTRS, &v, &s[6], 6) < 0)
		return -1;
	ow_col_i32(&c[LG_DROPPED_ATTRS], i32_of(s[7].v));
	ow_col_i32(&c[LG_FLAGS], i32_of(s[8].v));
	put_id(&c[LG_TRACE_ID], &s[9]);
	put_id(&c[LG_SPAN_ID], &s[10]);
	if (put_string(d, &c[LG_EVENT_NAME], &s[12]) < 0)
		return -1;
	put_exact(d, LG_EXACT);
	return 0;
}

/* ---- metrics ---- */

/* Where each column's value is in a data point of one metric type: field
 * numbers, 0 when the type has no such field (the column is null). */
typedef struct {
	const char *type;
	const msgdesc_t *data, *point;
	uint8_t temporality, monotonic; /* fields of the data message */
	uint8_t attrs, count, sum, sum_always, min, max, buckets, bounds, scale, zero_count,
	    zero_threshold, positive, negative, quantiles, exemplars, flags;
	uint8_t number; /* NumberDataPoint: as_double 4 / as_int 6 */
} ptype_t;

static const ptype_t ptypes[] = {
    {.type = "gauge",
     .data = &M_GAUGE,
     .point = &M_NUMBER_POINT,
     .attrs = 7,
     .exemplars = 5,
     .flags = 8,
     .number = 1},
    {.type = "sum",
     .data = &M_SUM,
     .point = &M_NUMBER_POINT,
     .temporality = 2,
     .monotonic = 3,
     .attrs = 7,
     .exemplars = 5,
     .flags = 8,
     .number = 1},
    {.type = "histogram",
     .data = &M_HISTOGRAM,
     .point = &M_HISTOGRAM_POINT,
     .temporality = 2,
     .attrs = 9,
     .count = 4,
     .sum = 5,
     .min = 11,
     .max = 12,
     .buckets = 6,
     .bounds = 7,
     .exemplars = 8,
     .flags = 10},
    {.type = "exponential_histogram",
     .data = &M_EXP_HISTOGRAM,
     .point = &M_EXP_POINT,
     .temporality = 2,
     .attrs = 1,
     .count = 4,
     .sum = 5,
     .min = 12,
     .max = 13,
     .scale = 6,
     .zero_count = 7,
     .zero_threshold = 14,
     .positive = 8,
     .negative = 9,
     .exemplars = 11,
     .flags = 10},
    {.type = "summary",
     .data = &M_SUMMARY,
     .point = &M_SUMMARY_POINT,
     .attrs = 7,
     .count = 4,
     .sum = 5,
     .sum_always = 1,
     .quantiles = 6,
     .flags = 8},
};

/* What every data point of a metric repeats. */
typedef struct {
	const ptype_t *pt;
	str_t name, description, unit;
	const slot_t *ds; /* the data message's slots */
} metric_t;

static void put_f64_field(ow_col_t *c, uint8_t num, const slot_t *s, int always)
{
	if (num && (always || s[num].n))
		ow_col_f64(c, f64_of(s[num].v));
	else
		ow_col_null(c);
}

static void put_u64_field(ow_col_t *c, uint8_t num, const slot_t *s)
{
	if (num)
		ow_col_i64(c, (int64_t)s[num].v);
	else
		ow_col_null(c);
}

/* 0, 1 when the point is skipped (its time), -1 when the request fails. */
static int data_point(dec_t *d, const metric_t *m, const field_t *f)
{
	const ptype_t *pt = m->pt;
	view_t v = {NULL, f->p, f->p + f->n, 0};
	slot_t s[NSLOTS];
	uint32_t oc;
	ow_col_t *c = d->c;
	if (scan(d, &v, pt->point, s, &oc) < 0)
		return -1;
	if (in_window(d, f, &s[3], NULL))
		return 1;
	if (put_common(d) < 0)
		return -1;
	exact_add(d, MT_METADATA, &d->meta_x);
	put_shared(d, MT_NAME, m->name.p, m->name.n);
	put_shared(d, MT_DESCRIPTION, m->description.p, m->description.n);
	put_shared(d, MT_UNIT, m->unit.p, m->unit.n);
	put_shared(d, MT_METADATA, d->meta.len ? d->meta.data : NULL, d->meta.len);
	put_shared(d, MT_TYPE, (const uint8_t *)pt->type, strlen(pt->type));
	if (pt->temporality) {
		if (put_enum8(d, &c[MT_TEMPORALITY], m->ds[pt->temporality].v,
			      "aggregation temporality") < 0)
			return -1;
	} else {
		ow_col_null(&c[MT_TEMPORALITY]);
	}
	if (pt->monotonic)
		ow_col_bool(&c[MT_MONOTONIC], m->ds[pt->monotonic].v != 0);
	else
		ow_col_null(&c[MT_MONOTONIC]);
	if (put_attrs(d, MT_ATTRS, &v, &s[pt->attrs], pt->attrs) < 0)
		return -1;
	ow_col_i64(&c[MT_START], (int64_t)s[2].v);
	ow_col_i64(&c[MT_TIME], s[3].v ? (int64_t)s[3].v : d->recv_ns);
	put_f64_field(&c[MT_VALUE], pt->number && oc == 4 ? 4 : 0, s, 1);
	if (pt->number && oc == 6)
		ow_col_i64(&c[MT_VALUE_INT], (int64_t)s[6].v);
	else
		ow_col_null(&c[MT_VALUE_INT]);
	put_u64_field(&c[MT_COUNT], pt->count, s);
	put_f64_field(&c[MT_SUM], pt->sum, s, pt->sum_always);
	put_f64_field(&c[MT_MIN], pt->min, s, 0);
	put_f64_field(&c[MT_MAX], pt->max, s, 0);
	if (put_nums(d, &c[MT_BUCKET_COUNTS], &v, &s[pt->buckets], pt->buckets, NUM_FIXED_U64) <
		0 ||
	    put_nums(d, &c[MT_EXPLICIT_BOUNDS], &v, &s[pt->bounds], pt->bounds, NUM_DOUBLE) < 0)
		return -1;
	if (pt->scale)
		ow_col_i32(&c[MT_SCALE], sint32_of(s[pt->scale].v));
	else
		ow_col_null(&c[MT_SCALE]);
	put_u64_field(&c[MT_ZERO_COUNT], pt->zero_count, s);
	put_f64_field(&c[MT_ZERO_THRESHOLD], pt->zero_threshold, s, 1);
	for (int neg = 0; neg < 2; neg++) {
		uint8_t num = neg ? pt->negative : pt->positive;
		ow_col_t *col = &c[neg ? MT_NEGATIVE : MT_POSITIVE];
		if (!num || !s[num].n) {
			ow_col_null(col);
			continue;
		}
		if (j_buckets(d, ow_col_bytes_open(col), &v, &s[num], num) < 0)
			return -1;
		ow_col_bytes_close(col);
	}
	if (put_array(d, MT_QUANTILES, &v, &s[pt->quantiles], pt->quantiles, j_quantile) < 0 ||
	    put_array(d, MT_EXEMPLARS, &v, &s[pt->exemplars], pt->exemplars, j_exemplar) < 0)
		return -1;
	ow_col_i32(&c[MT_FLAGS], i32_of(s[pt->flags].v));
	put_exact(d, MT_EXACT);
	return 0;
}

/* A metric: one row per data point. Returns the number of points. */
static int64_t metric(dec_t *d, const field_t *f)
{
	view_t v = {NULL, f->p, f->p + f->n, 0}, dv;
	slot_t s[NSLOTS], ds[NSLOTS];
	uint32_t oc, doc;
	metric_t m;
	if (scan(d, &v, &M_METRIC, s, &oc) < 0 || str_of(d, &s[1], &m.name) < 0 ||
	    str_of(d, &s[2], &m.description) < 0 || str_of(d, &s[3], &m.unit) < 0)
		return -1;
	d->meta.len = d->meta_x.len = 0;
	for (size_t i = 0; i < sizeof(metric_shared_cols); i++)
		d->entry[metric_shared_cols[i]] = NO_ENTRY;
	jval_t meta = {J_ATTRS, &v, &s[12], 12, NULL, NULL};
	if (s[12].n && j_both(d, &d->meta, &d->meta_x, &meta, 0) < 0)
		return -1;
	if (oc == 0)
		return 0;
	m.pt = &ptypes[oc == 5 ? 0 : oc == 7 ? 1 : oc == 9 ? 2 : oc == 10 ? 3 : 4];
	m.ds = ds;
	sub(&dv, &v, &s[oc], oc);
	if (scan(d, &dv, m.pt->data, ds, &doc) < 0)
		return -1;
	iter_t it;
	field_t p;
	int r;
	int64_t n = 0;
	it_slot(&it, &dv, &ds[1]);
	while ((r = it_next(d, &it, &p)) > 0) {
		if (p.num != 1)
			continue;
		int rc = data_point(d, &m, &p);
		if (rc < 0)
			return -1;
		d->nrec++;
		n += rc == 0;
	}
	return r < 0 ? -1 : n;
}

/* ---- the request ---- */

/* Resource{Spans,Logs,Metrics} field 1: what its rows repeat. */
static int resource(dec_t *d, const view_t *v, const slot_t *s)
{
	d->rattrs.len = d->rrefs.len = d->rattrs_x.len = 0;
	d->rdropped = 0;
	d->service.p = NULL;
	for (int i = C_SERVICE_NAME; i < C_SCOPE_NAME; i++)
		d->entry[i] = NO_ENTRY;
	if (str_of(d, &s[3], &d->rschema) < 0)
		return -1;
	if (!s[1].n)
		return 0;
	view_t rv;
	slot_t rs[NSLOTS];
	uint32_t oc;
	service_t svc = {1, {NULL, 0}};
	sub(&rv, v, &s[1], 1);
	if (scan(d, &rv, &M_RESOURCE, rs, &oc) < 0)
		return -1;
	jval_t attrs = {J_ATTRS, &rv, &rs[1], 1, NULL, &svc};
	if (rs[1].n && j_both(d, &d->rattrs, &d->rattrs_x, &attrs, 0) < 0)
		return -1;
	d->service = svc.value;
	d->rdropped = (uint32_t)rs[2].v;
	if (rs[3].n && j_array(d, &d->rrefs, &rv, &rs[3], 3, j_entity_ref) < 0)
		return -1;
	return 0;
}

/* Scope{Spans,Logs,Metrics} field 1: what its rows repeat. */
static int scope(dec_t *d, const view_t *v, const slot_t *s)
{
	d->sattrs.len = d->sattrs_x.len = 0;
	d->sdropped = 0;
	d->sname.p = d->sversion.p = NULL;
	for (int i = C_SCOPE_NAME; i < C_NCOMMON; i++)
		d->entry[i] = NO_ENTRY;
	if (str_of(d, &s[3], &d->sschema) < 0)
		return -1;
	if (!s[1].n)
		return 0;
	view_t sv;
	slot_t ss[NSLOTS];
	uint32_t oc;
	sub(&sv, v, &s[1], 1);
	if (scan(d, &sv, &M_SCOPE, ss, &oc) < 0 || str_of(d, &ss[1], &d->sname) < 0 ||
	    str_of(d, &ss[2], &d->sversion) < 0)
		return -1;
	jval_t attrs = {J_ATTRS, &sv, &ss[3], 3, NULL, NULL};
	if (ss[3].n && j_both(d, &d->sattrs, &d->sattrs_x, &attrs, 0) < 0)
		return -1;
	d->sdropped = (uint32_t)ss[4].v;
	return 0;
}

/* The records of a Scope{Spans,Logs,Metrics} (field 2). */
static int64_t records(dec_t *d, int signal, const view_t *v, const slot_t *s)
{
	iter_t it;
	field_t f;
	int r;
	int64_t n = 0;
	it_slot(&it, v, &s[2]);
	while ((r = it_next(d, &it, &f)) > 0) {
		if (f.num != 2)
			continue;
		int64_t k;
		if (signal == OW_METRICS) {
			k = metric(d, &f);
		} else {
			int rc = signal == OW_TRACES ? span(d, &f) : log_record(d, &f);
			k = rc < 0 ? -1 : rc == 0; /* a skipped record counts 0 */
			d->nrec++;
		}
		if (k < 0)
			return -1;
		n += k;
	}
	return r < 0 ? -1 : n;
}

static int64_t scope_x(dec_t *d, int signal, const field_t *f)
{
	view_t v = {NULL, f->p, f->p + f->n, 0};
	slot_t s[NSLOTS];
	uint32_t oc;
	if (scan(d, &v, &M_SCOPE_X, s, &oc) < 0 || scope(d, &v, s) < 0)
		return -1;
	return records(d, signal, &v, s);
}

static int64_t resource_x(dec_t *d, int signal, const field_t *f)
{
	view_t v = {NULL, f->p, f->p + f->n, 0};
	slot_t s[NSLOTS];
	uint32_t oc;
	iter_t it;
	field_t sf;
	int r;
	int64_t n = 0;
	if (scan(d, &v, &M_RESOURCE_X, s, &oc) < 0 || resource(d, &v, s) < 0)
		return -1;
	it_slot(&it, &v, &s[2]);
	while ((r = it_next(d, &it, &sf)) > 0) {
		if (sf.num != 2)
			continue;
		int64_t k = scope_x(d, signal, &sf);
		if (k < 0)
			return -1;
		n += k;
	}
	return r < 0 ? -1 : n;
}

static int64_t request(dec_t *d, int signal, const uint8_t *pb, size_t len)
{
	view_t v = {NULL, pb, pb + len, 0};
	slot_t s[NSLOTS];
	uint32_t oc;
	iter_t it;
	field_t f;
	int r;
	int64_t n = 0;
	if (scan(d, &v, &M_REQUEST, s, &oc) < 0)
		return -1;
	it_slot(&it, &v, &s[1]);
	while ((r = it_next(d, &it, &f)) > 0) {
		if (f.num != 1)
			continue;
		int64_t k = resource_x(d, signal, &f);
		if (k < 0)
			return -1;
		n += k;
	}
	return r < 0 ? -1 : n;
}

#define MAX_COLS OW_METRICS_NCOLS
_Static_assert(OW_SPANS_NCOLS <= MAX_COLS && OW_LOGS_NCOLS <= MAX_COLS, "widest schema");

/* How far each column of a table went, to take a failed request back. */
typedef struct {
	size_t fixed, data, offs, defs, refs, nrows, nvals;
} mark_t;

int64_t ow_columns_decode(int signal, const uint8_t *pb, size_t len, int64_t recv_ns, ow_table_t *t,
			  ow_rejects_t *rej, char *err, size_t errlen)
{
	return ow_columns_decode_bounded(signal, pb, len, recv_ns, t, rej, err, errlen, NULL, NULL);
}

/* The call's meter: growth counted, and passed on to the thread's own. */
static void metered(void *arg, int64_t delta)
{
	dec_t *d = arg;
	if (delta > 0)
		d->grown += (size_t)delta;
	if (d->outer.fn)
		d->outer.fn(d->outer.arg, delta);
}

int64_t ow_columns_decode_bounded(int signal, const uint8_t *pb, size_t len, int64_t recv_ns,
				  ow_table_t *t, ow_rejects_t *rej, char *err, size_t errlen,
				  ow_columns_grow_fn grow, void *grow_arg)
{
	return ow_columns_decode_new(signal, (uint8_t *)pb, len, recv_ns, t, rej, err, errlen, grow,
				     grow_arg, NULL);
}

int64_t ow_columns_decode_new(int signal, uint8_t *pb, size_t len, int64_t recv_ns, ow_table_t *t,
			      ow_rejects_t *rej, char *err, size_t errlen, ow_columns_grow_fn grow,
			      void *grow_arg, const ow_columns_window_t *win)
{
	mark_t mark[MAX_COLS];
	static const char *const rec[OW_NSIGNALS] = {"span", "log record", "data point"};
	dec_t d = {.base = pb,
		   .err = err,
		   .errlen = errlen,
		   .recv_ns = recv_ns,
		   .c = t->cols,
		   .rec = rec[signal],
		   .grow = grow,
		   .grow_arg = grow_arg,
		   .defs = t->defs,
		   .win = win,
		   .wpb = pb};
	d.outer = ow_buf_meter((ow_buf_meter_t){metered, &d});
	for (int i = 0; i < t->ncols; i++) {
		ow_col_t *c = &t->cols[i];
		mark[i] = (mark_t){c->fixed.len, c->data.len, c->offs.len, c->defs.len,
				   c->refs.len,	 c->nrows,    c->nvals};
	}
	/* the values before the call of the columns with refs were their
	 * own entries */
	for (size_t i = 0; i < sizeof(shared_cols) + (size_t)once_cols[signal].n; i++) {
		int col = i < sizeof(shared_cols) ? shared_cols[i]
						  : once_cols[signal].col[i - sizeof(shared_cols)];
		ow_col_t *c = &t->cols[col];
		for (uint32_t v = (uint32_t)(c->refs.len / 4); v < c->nvals; v++)
			ow_buf_add(&c->refs, &v, sizeof(v));
		mark[col].refs = c->refs.len;
	}
	int64_t n = request(&d, signal, pb, len);
	ow_buf_meter(d.outer);
	for (int i = 0; n >= 0 && i < t->ncols; i++)
		if (t->cols[i].data.len > UINT32_MAX)
			n = fail(&d, "the buffer holds 4 GiB in column %s: flush it first",
				 t->defs[i].name);
	if (n < 0) {
		for (int i = 0; i < t->ncols; i++) {
			ow_col_t *c = &t->cols[i];
			c->fixed.len = mark[i].fixed;
			c->data.len = mark[i].data;
			c->offs.len = mark[i].offs;
			c->defs.len = mark[i].defs;
			c->refs.len = mark[i].refs;
			c->nrows = mark[i].nrows;
			c->nvals = mark[i].nvals;
		}
	} else {
		t->nrows += (size_t)n;
		if (rej)
			*rej = d.rej;
	}
	ow_buf_free(&d.rattrs);
	ow_buf_free(&d.rrefs);
	ow_buf_free(&d.sattrs);
	ow_buf_free(&d.meta);
	ow_buf_free(&d.exact);
	ow_buf_free(&d.tmp);
	ow_buf_free(&d.rattrs_x);
	ow_buf_free(&d.sattrs_x);
	ow_buf_free(&d.meta_x);
	ow_buf_free(&d.seen);
	return n;
}

/* ---- reading rows back: time and order ---- */

static int64_t i64_at(const ow_table_t *t, int col, size_t row)
{
	int64_t v;
	memcpy(&v, t->cols[col].fixed.data + row * sizeof(v), sizeof(v));
	return v;
}

int64_t ow_columns_row_time(int signal, const ow_table_t *t, size_t row)
{
	int64_t v = i64_at(t, schemas[signal].time_col, row);
	if (v == 0 && signal == OW_LOGS)
		v = i64_at(t, LG_OBSERVED, row);
	return v;
}

/* A sort key: a BYTE_ARRAY column (vidx: each row's entry, -1 for null)
 * or a required INT64 column. */
typedef struct {
	const ow_col_t *c;
	int64_t *vidx;
} sortkey_t;

typedef struct {
	sortkey_t k[4];
	int n;
} sort_t;

static int cmp_rows(const void *a, const void *b, void *arg)
{
	const sort_t *st = arg;
	uint32_t ra = *(const uint32_t *)a, rb = *(const uint32_t *)b;
	for (int i = 0; i < st->n; i++) {
		const sortkey_t *k = &st->k[i];
		if (!k->vidx) {
			int64_t x, y;
			memcpy(&x, k->c->fixed.data + (size_t)ra * 8, 8);
			memcpy(&y, k->c->fixed.data + (size_t)rb * 8, 8);
			if (x != y)
				return x < y ? -1 : 1;
			continue;
		}
		int64_t ia = k->vidx[ra], ib = k->vidx[rb];
		if (ia < 0 || ib < 0) {
			if (ia != ib)
				return ia < ib ? -1 : 1;
			continue;
		}
		size_t la, lb;
		const uint8_t *pa = ow_col_bytes_at(k->c, (size_t)ia, &la);
		const uint8_t *pb = ow_col_bytes_at(k->c, (size_t)ib, &lb);
		int r = OW_MIN(la, lb) ? memcmp(pa, pb, OW_MIN(la, lb)) : 0;
		if (r)
			return r;
		if (la != lb)
			return la < lb ? -1 : 1;
	}
	return ra < rb ? -1 : ra > rb; /* equal keys keep their order */
}

void ow_columns_sort(int signal, const ow_table_t *t, size_t group_rows, uint32_t *perm)
{
	/* A metric series is its name, its resource's service and its
	 * attributes: with service_name in the key one service's points of a
	 * metric are contiguous, so page statistics prune the others. */
	static const int keys[OW_NSIGNALS][4] = {
	    [OW_TRACES] = {C_SERVICE_NAME, SP_NAME, SP_START, -1},
	    [OW_LOGS] = {C_SERVICE_NAME, LG_TIME, -1, -1},
	    [OW_METRICS] = {MT_NAME, C_SERVICE_NAME, MT_ATTRS, MT_TIME},
	};
	sort_t st = {.n = 0};
	if (t->nrows == 0)
		return;
	for (int i = 0; i < 4 && keys[signal][i] >= 0; i++) {
		int col = keys[signal][i];
		sortkey_t *k = &st.k[st.n++];
		k->c = &t->cols[col];
		k->vidx = NULL;
		if (t->defs[col].type != OW_PQ_BYTE_ARRAY)
			continue;
		k->vidx = ow_alloc(t->nrows * sizeof(*k->vidx));
		int64_t next = 0;
		for (size_t r = 0; r < t->nrows; r++)
			k->vidx[r] = !t->defs[col].optional || k->c->defs.data[r]
					 ? (int64_t)ow_col_entry(k->c, (size_t)next++)
					 : -1;
	}
	for (size_t r = 0; r < t->nrows; r++)
		perm[r] = (uint32_t)r;
	size_t run = t->nrows;
	if (signal != OW_METRICS && group_rows && group_rows < t->nrows) {
		sort_t by_time = {.k = {st.k[st.n - 1]}, .n = 1}; /* the time: last */
		qsort_r(perm, t->nrows, sizeof(*perm), cmp_rows, &by_time);
		run = group_rows;
	}
	for (size_t r = 0; r < t->nrows; r += run)
		qsort_r(perm + r, OW_MIN(run, t->nrows - r), sizeof(*perm), cmp_rows, &st);
	for (int i = 0; i < st.n; i++)
		free(st.k[i].vidx);
}

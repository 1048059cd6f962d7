/*
 * columns.h - OTLP protobuf requests decoded straight from the wire into
 * column buffers (modules/core/column.h): one table per signal, one row
 * per span, log record or metric data point. Nothing in an OTLP message is
 * dropped and nothing changes type: what has no column of its own (events,
 * links, attributes, any AnyValue) is kept as plain JSON text, values as
 * themselves, with the OTLP/JSON of what plain JSON cannot type exactly in
 * the row's otlp_exact column, losslessly (convert.c gives the OTLP/JSON
 * back); columns.c describes every encoding.
 *
 * The decoder is the validator of protobuf input: a request it refuses
 * (malformed wire data, an id of the wrong length, a string that is not
 * UTF-8, an enum out of the range of its column) gets a message for the
 * client and leaves the table exactly as it was. A record that is invalid
 * by itself (ow_rejects_t) is skipped before any of its columns is
 * written, and the request is taken without it. What is inside a skipped
 * record is not examined further: nothing of it is stored. Replay decodes
 * the same bytes and so skips the same records.
 *
 * Times are the uint64 nanoseconds of the protos stored as the INT64 bits
 * of TIMESTAMP_NS columns: a value of 2^63 or more reads back negative, but
 * bit-exact. Two times are supplied by the decoder when the sender left
 * them 0, so that every row has a partition time: a log record's
 * observed_time (the spec says the observer MUST set it: we are that
 * observer) and a metric data point's time (a required field) become
 * recv_ns. Replay passes the batch's creation time, so it decodes the same.
 */
#ifndef OW_COLUMNS_H
#define OW_COLUMNS_H

#include "../core/core.h"
#include "../core/column.h"
#include "../parquet/parquet.h"

#define OW_SPANS_NCOLS 29
#define OW_LOGS_NCOLS 22
#define OW_METRICS_NCOLS 37

/* The last column of every table: the OTLP/JSON of the row's values that
 * plain JSON does not hold exactly (columns.c). A part without it was
 * written before plain JSON (format 1, convert.c). */
#define OW_COLUMNS_EXACT "otlp_exact"

/* The ten common columns (service_name ... scope_schema_url) come first in
 * each, in the same order. */
extern const ow_pq_coldef_t ow_spans_schema[OW_SPANS_NCOLS];
extern const ow_pq_coldef_t ow_logs_schema[OW_LOGS_NCOLS];
extern const ow_pq_coldef_t ow_metrics_schema[OW_METRICS_NCOLS];

/* An empty table with the schema of signal (OW_TRACES, OW_LOGS, OW_METRICS). */
void ow_columns_table_init(int signal, ow_table_t *t);

/* Records that are invalid by themselves, skipped while the rest of their
 * request is taken (OTLP partial success): a span whose trace_id or
 * span_id is empty or all zero bytes (trace.proto: such an id "is
 * considered invalid"; both are required), and a record whose time is
 * outside the window (below). */
typedef struct {
	uint64_t n;
	uint64_t times; /* of n, those skipped for their time */
	char why[160];	/* the first one's reason */
} ow_rejects_t;

/* The times a new request's records may have (limits.max_past_hours and
 * limits.max_future_hours around its arrival): a span's start_time, a log
 * record's time (its observed_time when time is 0), a data point's time.
 * A time of 0 is not checked (the decoder supplies it, above, or a span
 * keeps it). A record outside is skipped, or with clamp has its time moved
 * to the nearer end (a span's end_time by as much, so its duration holds).
 *
 * Replay never applies a window: what a window decided is written into
 * the request's own bytes (pb, which must be writable), so that the WAL
 * holds what was taken. A clamped time is rewritten in place (a fixed64
 * keeps its size); a skipped record's tag is renumbered in place to field
 * 15, which no message holding records has, so every later decode of the
 * bytes passes over it as an unknown field. */
typedef struct {
	uint64_t min_ns, max_ns;
	int clamp;
} ow_columns_window_t;

/* Appends every valid record of one Export{Trace,Logs,Metrics}ServiceRequest
 * to t. Returns the number of records appended (spans, log records, data
 * points) and, when rej is not NULL, what was skipped; or -1 with a message
 * in err, and then t is exactly as it was. recv_ns is the receive time (see
 * above). */
int64_t ow_columns_decode(int signal, const uint8_t *pb, size_t len, int64_t recv_ns, ow_table_t *t,
			  ow_rejects_t *rej, char *err, size_t errlen);
/* The same, asking grow(arg, bytes, err, errlen) before each record once
 * the call's buffers have grown to bytes, more than agreed: 0 goes on,
 * anything else fails the call as above, with grow's message in err. So
 * the growth is agreed up to the last record, which is not asked about. */
typedef int (*ow_columns_grow_fn)(void *arg, size_t bytes, char *err, size_t errlen);
int64_t ow_columns_decode_bounded(int signal, const uint8_t *pb, size_t len, int64_t recv_ns,
				  ow_table_t *t, ow_rejects_t *rej, char *err, size_t errlen,
				  ow_columns_grow_fn grow, void *grow_arg);
/* The same for a new request, under a window (NULL: none); pb is written
 * as the window decides, also when the call fails. */
int64_t ow_columns_decode_new(int signal, uint8_t *pb, size_t len, int64_t recv_ns, ow_table_t *t,
			      ow_rejects_t *rej, char *err, size_t errlen, ow_columns_grow_fn grow,
			      void *grow_arg, const ow_columns_window_t *win);

/* The column whose values are the records' times: spans start_time, logs
 * time, metrics time. */
int ow_columns_time_col(int signal);
/* The schema of a signal's table, and its number of columns. */
const ow_pq_coldef_t *ow_columns_schema(int signal);
int ow_columns_ncols(int signal);

/* The time a row is partitioned by, in ns: the time column; for a log
 * record whose time is 0, its observed_time. */
int64_t ow_columns_row_time(int signal, const ow_table_t *t, size_t row);

/* The order of rows in a part: spans by service_name, name, start_time;
 * logs by service_name, time; metrics by metric_name, service_name,
 * attributes (the series), time. Nulls first, strings bytewise, times as
 * stored. Spans and logs with group_rows (the part's row group size; 0:
 * none) below their count: by time first, cut into runs of group_rows
 * rows, each in that order - row groups whose time ranges do not
 * overlap, so a newest-first search reads the newest of them only, and
 * one service's rows still together in each (spans: a trace's spans in
 * one or two row groups, whose trace_id dictionaries shrink: 1M bench
 * spans 40.0 -> 37.3 bytes each). Fills perm[0..t->nrows) with row
 * numbers in that order; stable. */
void ow_columns_sort(int signal, const ow_table_t *t, size_t group_rows, uint32_t *perm);

/* ---- convert.c: the two forms of the JSON columns ---- */

/* Whether column col of a signal's table holds JSON that format 1 wrote
 * as OTLP/JSON and format 2 writes plain: 0 when both forms are the same
 * (ids, buckets, quantiles, entity refs and the other columns). */
int ow_columns_v1_differs(int signal, int col);
/* Appends value p[0..n) of such a column, as format 1 wrote it, to out in
 * format 2. Returns 1 when the plain value loses what OTLP/JSON says (its
 * format 1 text then belongs in otlp_exact), 0 when it is exact; -1 when
 * the text is not of format 1's shape, and out then gets it unchanged. */
int ow_columns_v1_plain(int signal, int col, const uint8_t *p, size_t n, ow_buf_t *out);
/* Every entry of c (a BYTE_ARRAY column, or a dictionary: offs gives the
 * entries) converted in place by ow_columns_v1_plain. */
void ow_columns_v1_column(int signal, int col, ow_col_t *c);
/* A table read from a format 1 part (otlp_exact all NULL) rewritten in
 * format 2: its JSON columns plain, otlp_exact set on the rows whose plain
 * values lose something. */
void ow_columns_v1_upgrade(int signal, ow_table_t *t);

/* The OTLP/JSON text (format 1's) of column col's plain value p[0..n),
 * given its row's otlp_exact (NULL when the row has none), appended to
 * out: what an OTLP exporter sends, as the row was received. OW_OK, or
 * OW_ERROR when the text is not plain JSON of the column's shape. */
int ow_columns_otlp(int signal, int col, const uint8_t *p, size_t n, const uint8_t *exact,
		    size_t exact_len, ow_buf_t *out);

/* c ('"', '\\' or a control character) escaped into e: its length. */
size_t ow_columns_escape(uint8_t c, char e[6]);
/* A double as the JSON columns write it (a '.0' on an integral value;
 * NaN and the infinities as strings). */
void ow_columns_json_f64(ow_buf_t *o, double v);

/* One member of a JSON object's text: its key and value as written (the
 * key's quotes included, a string value's too). */
typedef struct {
	const uint8_t *key, *val;
	size_t klen, vlen;
} ow_columns_member_t;
/* The members of the object p[0..n) into m (at most max): their number;
 * -1 when the text is not an object or has more members. */
int ow_columns_members(const uint8_t *p, size_t n, ow_columns_member_t *m, size_t max);

/* ---- shred.c: a part's frequent attribute keys as typed columns ---- */

/* The key-value metadata of a part that has shredded columns: a JSON
 * array of their names. */
#define OW_SHRED_KV "openwit.shredded"
/* The most columns one JSON column gives. */
#define OW_SHRED_MAX 16
/* After the JSON column's name: the column of each row's order of keys
 * where it is not the usual one (shred.c). */
#define OW_SHRED_ORDER "#order"

/* What a part of rows perm[0..n) of t is written as: t's columns, the
 * shredded JSON column holding the rest of each object, then a typed
 * column a shredded key and the order column (the table t borrows t's
 * other columns). */
typedef struct {
	ow_table_t t;
	int n;	  /* shredded columns; 0: write the source table as it is */
	char *kv; /* OW_SHRED_KV's value */
	ow_pq_coldef_t *defs;
	ow_col_t *own; /* the rest, the shredded columns, the order */
	char **names;
} ow_shred_t;

/* Chooses at most max (<= OW_SHRED_MAX) keys of the signal's shredded
 * column (spans' and logs' attributes) from rows perm[0..n) of t and
 * builds s: 0 when none is chosen (s->n 0, nothing to free), else the
 * number of columns. */
int ow_shred_build(int signal, const ow_table_t *t, const uint32_t *perm, size_t n, int max,
		   ow_shred_t *s);
void ow_shred_free(ow_shred_t *s);
/* At most the memory ow_shred_build(signal, t, ..., max) holds besides t:
 * for a merge's budget. */
size_t ow_shred_bytes(int signal, const ow_table_t *t, int max);

/* A part's shredded columns of one of its JSON columns, as read. */
typedef struct {
	int rest;  /* the file's column holding the rest */
	int order; /* the file's order column; -1 when absent */
	int n;
	int fc[OW_SHRED_MAX];
	int type[OW_SHRED_MAX];
	ow_buf_t keys;		   /* "\"key\":" of each, JSON-escaped, back to back */
	size_t kend[OW_SHRED_MAX]; /* where each ends in keys */
} ow_shred_cols_t;

/* The shredded columns of column col (of signal's schema) in file f: 0
 * when it has none (sc then holds nothing), else their number. */
int ow_shred_find(const ow_pq_file_t *f, int signal, int col, ow_shred_cols_t *sc);
void ow_shred_cols_free(ow_shred_cols_t *sc);
/* ow_pq_read_column_pf of the shredded column of row group rg, each
 * object whole again (its keys in the order written, values typed as
 * they were), appended to out; with share (and no sel), a row's object
 * the row before had too is held once (column.h's refs), as a merge
 * reads a dictionary. OW_OK, or OW_ERROR with a message. */
int ow_shred_read(ow_pq_file_t *f, const ow_shred_cols_t *sc, int rg, const uint8_t *sel, int share,
		  ow_col_t *out, int64_t *stored, char *err, size_t errlen);
/* The column of signal's schema that may be shredded; -1 for none. */
int ow_shred_column(int signal);
/* Which of sc's columns (an index) holds the key key[0..n) as a path
 * names it; -1 for none (a key written with escapes is not looked for). */
int ow_shred_key(const ow_shred_cols_t *sc, const char *key, size_t n);
/* As ow_shred_read, for a reader of paths that start at one of the keys
 * want[0..nw) (indexes among sc's columns) only: each row's object is
 * the members of those keys it has, read from their columns, or where it
 * has none of them, its rest (read only for such rows: the whole object
 * of a row that kept it, which may hold them) - what such a path names in
 * it is what it names in the object whole. */
int ow_shred_read_keys(ow_pq_file_t *f, const ow_shred_cols_t *sc, const int *want, int nw, int rg,
		       const uint8_t *sel, ow_col_t *out, int64_t *stored, char *err,
		       size_t errlen);

#endif

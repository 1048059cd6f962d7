/*
 * column.h - column buffers: the in-memory form of a table between OTLP
 * decoding and Parquet. A column holds its values in Parquet's physical
 * form, back to back, with one definition byte per row when it is
 * optional. Appending never allocates per value: buffers grow by doubling.
 *
 *   BOOLEAN      fixed: 1 byte per value (0 or 1)
 *   INT32        fixed: int32_t per value
 *   INT64        fixed: int64_t per value
 *   DOUBLE       fixed: double per value
 *   FIXED        fixed: fixed_len bytes per value
 *   BYTE_ARRAY   data: the bytes; offs: uint32_t end offset per entry;
 *                refs: empty (value i is entry i), or a uint32_t entry a
 *                value, so that values repeated share one entry
 *
 * Only defined values are stored; defs (optional columns) has a byte per
 * row, 1 when the row has a value. Rows are added to every column of a
 * table in step: a table row is complete when each column got one append.
 * Refs are made by OTLP decoding for the text columns whose values rows
 * repeat (a resource's attributes, ~1.3 KB, are held once a request, not
 * once a row; a span's name and attributes once a request each:
 * modules/columns) and by ow_col_append of a column that has them (a
 * merge reads a part's dictionary-encoded chunks so); ow_col_bytes makes
 * none. A reader of values goes through ow_col_entry.
 *
 * The table is core's, not modules/parquet's: a message carries one
 * (batch.h) and every stage after decoding holds them, so keeping it here
 * lets the core depend on no module. Its physical types are Parquet's
 * because a part is where every table ends up.
 */
#ifndef OW_COLUMN_H
#define OW_COLUMN_H

#include "core.h"

/* Parquet physical types, with the values of parquet.thrift's Type. */
enum ow_pq_type {
	OW_PQ_BOOLEAN = 0,
	OW_PQ_INT32 = 1,
	OW_PQ_INT64 = 2,
	OW_PQ_DOUBLE = 5,
	OW_PQ_BYTE_ARRAY = 6,
	OW_PQ_FIXED = 7,
};

/* What a reader should see: the Parquet logical type written. */
enum ow_pq_logical {
	OW_PQ_L_NONE,
	OW_PQ_L_STRING,	      /* BYTE_ARRAY, UTF-8 */
	OW_PQ_L_JSON,	      /* BYTE_ARRAY holding JSON text */
	OW_PQ_L_TIMESTAMP_NS, /* INT64, nanoseconds since the epoch, UTC */
	OW_PQ_L_UINT8,	      /* INT32 */
	OW_PQ_L_UINT32,	      /* INT32 */
	OW_PQ_L_UINT64,	      /* INT64 */
	OW_PQ_L_INT8,	      /* INT32 */
	OW_PQ_L_INT16,	      /* INT32 */
};

/* How a column chunk's values are encoded. */
enum ow_pq_enc {
	OW_PQ_ENC_PLAIN,
	OW_PQ_ENC_DICT,	 /* dictionary, falling back to PLAIN when it does not pay */
	OW_PQ_ENC_DELTA, /* DELTA_BINARY_PACKED (INT32, INT64): sorted times */
};

typedef struct {
	const char *name;
	int type;    /* enum ow_pq_type */
	int logical; /* enum ow_pq_logical */
	int fixed_len;
	int optional;
	int enc;   /* enum ow_pq_enc */
	int bloom; /* write a split-block bloom filter */
} ow_pq_coldef_t;

typedef struct {
	ow_buf_t fixed; /* fixed-width values */
	ow_buf_t data;	/* BYTE_ARRAY bytes */
	ow_buf_t offs;	/* BYTE_ARRAY: uint32_t end offset of each value in data */
	ow_buf_t defs;	/* optional columns: 1 byte per row */
	ow_buf_t refs;	/* BYTE_ARRAY: empty, or uint32_t entry of each value */
	size_t nrows, nvals;
	uint8_t lent; /* OW_COL_LENT_*: buffers another column of its table owns */
} ow_col_t;

enum { OW_COL_LENT_FIXED = 1, OW_COL_LENT_DEFS = 2, OW_COL_LENT_REFS = 4, OW_COL_LENT_OFFS = 8 };

/* A table: columns after a schema, the same number of rows in each. */
typedef struct ow_table {
	const ow_pq_coldef_t *defs;
	int ncols;
	ow_col_t *cols;
	size_t nrows;
} ow_table_t;

/* Bytes a value takes in a column buffer (0: BYTE_ARRAY, variable). */
static inline size_t ow_pq_width(const ow_pq_coldef_t *d)
{
	switch (d->type) {
	case OW_PQ_BOOLEAN:
		return 1;
	case OW_PQ_INT32:
		return 4;
	case OW_PQ_INT64:
	case OW_PQ_DOUBLE:
		return 8;
	case OW_PQ_FIXED:
		return (size_t)d->fixed_len;
	default:
		return 0;
	}
}

void ow_table_init(ow_table_t *t, const ow_pq_coldef_t *defs, int ncols);
void ow_table_free(ow_table_t *t);
/* Memory held by a column's buffers. */
static inline size_t ow_col_bytes_held(const ow_col_t *c)
{
	return c->fixed.cap + c->data.cap + c->offs.cap + c->defs.cap + c->refs.cap;
}
/* A column's buffers freed (it is left empty, ready for use). */
void ow_col_free(ow_col_t *c);
/* A column emptied, its buffers kept for the next values. */
void ow_col_clear(ow_col_t *c);
size_t ow_table_bytes(const ow_table_t *t); /* memory held by its buffers */
/* Each buffer's room past its bytes given back: a table complete and kept
 * (a decoded request waiting for Parquet) holds its bytes only. */
void ow_table_fit(ow_table_t *t);
/* A table complete and kept holds once what several of its columns hold
 * alike: the definition bytes of the columns whose rows all have a value
 * (all 1), and the values, entry numbers (refs) or text ends (offs) that
 * are all zero bytes (a request's dropped counts, its one resource's and
 * scope's entries, texts all empty)
 * are read from one column's buffer, lent to the others (their cap 0, so
 * ow_col_bytes_held counts them once). The bytes read stay the same; the
 * table must change no more (ow_table_free, or ow_col_clear of a column,
 * which gives back what it borrowed). */
void ow_table_share(ow_table_t *t);
/* Appends every row of src (same schema) to dst. */
void ow_table_append(ow_table_t *dst, const ow_table_t *src);
/* Appends every row of the n tables src[] to dst, each of dst's buffers
 * grown once for the bytes they all hold (no copies as it grows; the
 * room of its power of two stays: ow_table_fit gives it back). */
void ow_table_concat(ow_table_t *dst, ow_table_t *const *src, size_t n);
/* Appends every row of column src to dst (same column definition): dst
 * gets refs when either has them. */
void ow_col_append(ow_col_t *dst, const ow_col_t *src);

/* Appending values, inline: the decoders call these for every field. */
static inline void ow_col_defined(ow_col_t *c)
{
	ow_buf_reserve(&c->defs, 1);
	c->defs.data[c->defs.len++] = 1;
	c->nrows++;
	c->nvals++;
}

static inline void ow_col_null(ow_col_t *c)
{
	ow_buf_reserve(&c->defs, 1);
	c->defs.data[c->defs.len++] = 0;
	c->nrows++;
}

static inline void ow_col_fixed(ow_col_t *c, const void *p, size_t n)
{
	ow_buf_add(&c->fixed, p, n);
	ow_col_defined(c);
}

static inline void ow_col_bool(ow_col_t *c, int v)
{
	uint8_t b = v ? 1 : 0;
	ow_col_fixed(c, &b, 1);
}

static inline void ow_col_i32(ow_col_t *c, int32_t v)
{
	ow_col_fixed(c, &v, sizeof(v));
}

static inline void ow_col_i64(ow_col_t *c, int64_t v)
{
	ow_col_fixed(c, &v, sizeof(v));
}

static inline void ow_col_f64(ow_col_t *c, double v)
{
	ow_col_fixed(c, &v, sizeof(v));
}

/* Builds a BYTE_ARRAY value in place: append to the returned buffer, then
 * close. No copy, no allocation per value. */
ow_buf_t *ow_col_bytes_open(ow_col_t *c);

static inline void ow_col_bytes_close(ow_col_t *c)
{
	uint32_t end = (uint32_t)c->data.len;
	ow_buf_add(&c->offs, &end, sizeof(end));
	ow_col_defined(c);
}

static inline void ow_col_bytes(ow_col_t *c, const void *p, size_t n)
{
	ow_buf_add(&c->data, p, n);
	ow_col_bytes_close(c);
}

/* The entry of value v of a BYTE_ARRAY column (ow_col_bytes_at reads
 * entries). */
static inline size_t ow_col_entry(const ow_col_t *c, size_t v)
{
	return c->refs.len ? ((const uint32_t *)(const void *)c->refs.data)[v] : v;
}

/* Reading back entry i (value i of a column without refs): the value
 * index of each row is found by counting defs. */
static inline const uint8_t *ow_col_bytes_at(const ow_col_t *c, size_t i, size_t *len)
{
	const uint32_t *o = (const uint32_t *)c->offs.data;
	uint32_t start = i ? o[i - 1] : 0;
	*len = o[i] - start;
	/* a column of empty texts may have no data buffer: no offset to add */
	return c->data.data ? c->data.data + start : (const uint8_t *)"";
}

#endif

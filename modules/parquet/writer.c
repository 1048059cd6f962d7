/*
 * writer.c - ow_pq_write: a table as one Parquet file, our own writer.
 *
 * The file, in the order it is written (sequentially, through the I/O
 * layer, one column chunk at a time, so memory holds one chunk's pages):
 *
 *   "PAR1"
 *   for each row group (o->row_group_rows rows; 0 = all in one),
 *     for each column (a column chunk):
 *       [dictionary page]   PLAIN entries (DICT columns that kept one)
 *       data pages          DataPageHeader v1, cut at ~1 MiB of values
 *                           or 32768 rows (o->page_rows), whichever comes
 *                           first (a query that selects a few rows decodes
 *                           only their pages: modules/search/columnar.c)
 *       [bloom filter]      BloomFilterHeader + split-block bitset
 *   FileMetaData            Thrift compact protocol
 *   its length              u32 little-endian
 *   "PAR1"
 *
 * Choices, and why:
 * - FileMetaData version 1 and v1 data pages: what every reader reads
 *   (DuckDB, hyparquet, Arrow, parquet-java). A page of an OPTIONAL column
 *   starts with its definition levels (RLE/bit-packed hybrid, bit width 1,
 *   4-byte length prefix); a REQUIRED column has none. Nothing is repeated.
 * - Each page is compressed alone with ZSTD when o->zstd_level > 0 (the
 *   page header gives both sizes), so a reader decompresses page by page.
 * - OW_PQ_ENC_DICT: a dictionary page (PLAIN, as the specification asks of
 *   new files) and RLE_DICTIONARY data pages (bit width byte, then the
 *   hybrid). The dictionary is built per column chunk and abandoned for
 *   PLAIN when it does not pay: more distinct values than half the chunk's
 *   values (span ids and times: an index then costs nearly as much as the
 *   value, and zstd does as well on PLAIN), or more than 1 MiB of entries
 *   (one page, bounded memory for readers). A trace_id keeps one: the
 *   spans of a trace share it, but sorted by service and name they lie
 *   apart, too far for zstd's window (measured on make bench's spans:
 *   9.4 B a span PLAIN, 6.0 with a dictionary). BOOLEAN is always PLAIN (one
 *   bit a value already). ColumnMetaData.encodings and encoding_stats list
 *   what the chunk really holds.
 * - OW_PQ_ENC_DELTA: DELTA_BINARY_PACKED, blocks of 128 in 4 miniblocks,
 *   for INT32 and INT64 (sorted times become a few bits a value).
 * - Statistics per chunk: null_count always; min_value and max_value in
 *   PLAIN encoding, ordered as the logical type orders (signed integers,
 *   unsigned for UINT*, unsigned bytes for BYTE_ARRAY and FIXED), with
 *   column_orders = TYPE_ORDER, which gives them that meaning. For DOUBLE,
 *   NaN is left out of min/max and counted in nan_count, min -0.0 and max
 *   +0.0 stand for zero, and all-NaN chunks have no min/max, as the
 *   specification requires for TYPE_ORDER. Values longer than
 *   OW_PQ_STATS_MAX leave min/max out (truncating a UTF-8 bound is not
 *   worth the risk of an invalid string). The data pages of integer and
 *   text (STRING) columns carry the same statistics of their own rows in
 *   DataPageHeader.statistics: a reader skips the pages a filter rules
 *   out (JSON, ids and reals have none: long, random or rarely filtered
 *   by range). No ColumnIndex yet: our reader walks the page headers of a
 *   chunk anyway.
 * - Bloom filters (coldef.bloom) follow the chunk's pages, sized from the
 *   dictionary's distinct count, or the chunk's value count when there is
 *   no dictionary (span ids, the usual case, are distinct), at about 1% false
 *   positives up to OW_PQ_BLOOM_MAX (128 KiB: ~108,000 distinct values;
 *   more make it less selective); ColumnMetaData records their offset and
 *   length. An all-null chunk gets an empty filter: nothing is in it.
 * - TIMESTAMP_NS columns are TIMESTAMP(NANOS) with isAdjustedToUTC false,
 *   though the values are UTC: DuckDB reads a UTC-adjusted NANOS column as
 *   TIMESTAMP WITH TIME ZONE, in microseconds, and drops the last three
 *   digits of every time; unadjusted it reads TIMESTAMP_NS, exact.
 * - Rows go out in perm order with no copy of the values: each chunk
 *   gathers value indices (and levels), and encoders read through them.
 *   An optional column needs its rows' value indices for that: with perm
 *   they are prefix sums, 4 bytes a row, made once per column and kept
 *   for all row groups.
 */
#include <errno.h>
#include <stdarg.h>
#include <zstd.h>

#include "../core/io.h"
#include "encode.h"
#include "parquet.h"
#include "thrift.h"

#define OW_PQ_PAGE_BYTES (1024 * 1024) /* uncompressed values per page */
#define OW_PQ_PAGE_ROWS 32768	       /* rows per page (o->page_rows: 0) */
#define OW_PQ_DICT_BYTES (1024 * 1024) /* largest dictionary kept */
#define OW_PQ_STATS_MAX 4096	       /* longest min or max written */
#define OW_PQ_CREATED_BY "openwit version " OW_VERSION

/* Parquet enums used here. */
enum { PAGE_DATA = 0, PAGE_DICT = 2 };
enum { REP_REQUIRED = 0, REP_OPTIONAL = 1 };
enum { CODEC_UNCOMPRESSED = 0, CODEC_ZSTD = 6 };

/* Statistics of one chunk, min/max as PLAIN bytes. */
typedef struct {
	const uint8_t *min, *max;
	size_t min_len, max_len;
	uint8_t minb[8], maxb[8]; /* fixed-width bounds live here */
	int64_t nan_count;
} ow_pq_wstats_t;

typedef struct {
	int64_t dict_off, data_off, usize, csize, bloom_off, bloom_len;
	int data_pages, enc;
} ow_pq_wchunk_t;

typedef struct {
	int64_t rows, usize, csize, off;
	size_t meta_off; /* where its ColumnChunk structs start in w->meta */
} ow_pq_wrg_t;

typedef struct {
	int fd;
	const ow_table_t *t;
	const uint32_t *perm;
	size_t nout; /* rows written: t->nrows, or o->rows of perm */
	const ow_pq_opts_t *o;
	char *err;
	size_t errlen;
	ow_buf_t out; /* bytes not written yet */
	uint64_t off; /* file offset of out.data[0] */
	ZSTD_CCtx *zc;
	uint32_t **vidx; /* with perm, optional columns: value index of each row */
	size_t *next;	 /* without perm: value index of the next row of each column */
	uint32_t *vals;	 /* the chunk's values, as value indices, in output order */
	uint32_t *lv;	 /* the chunk's definition levels */
	ow_pq_dict_t dict;
	ow_buf_t page, zpage, hdr;
	ow_buf_t meta; /* ColumnChunk structs of every row group, serialized */
	ow_pq_wrg_t *rg;
	size_t nrg;
} ow_pq_w_t;

static int fail(ow_pq_w_t *w, int e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(ow_pq_w_t *w, int e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(w->err, w->errlen, fmt, ap);
	va_end(ap);
	errno = e;
	return OW_ERROR;
}

static int64_t offset(const ow_pq_w_t *w)
{
	return (int64_t)(w->off + w->out.len);
}

static int flush(ow_pq_w_t *w)
{
	if (ow_io_write_all(OW_IO_PARQUET, w->fd, w->out.data, w->out.len) != OW_OK) {
		int e = errno;
		return fail(w, e, "parquet: write: %s", strerror(e));
	}
	w->off += w->out.len;
	w->out.len = 0;
	return OW_OK;
}

/* ---- checks ---- */

/* The schema is the caller's, the columns its data: both are checked before
 * a byte is written, so a bad table is an error, not a corrupt file. */
static int check(ow_pq_w_t *w)
{
	const ow_table_t *t = w->t;
	if (t->ncols < 1)
		return fail(w, EINVAL, "parquet: a table needs a column");
	if (t->nrows > UINT32_MAX)
		return fail(w, EINVAL, "parquet: %zu rows is too many for one file", t->nrows);
	if (w->nout > t->nrows)
		return fail(w, EINVAL, "parquet: %zu rows asked of a table of %zu", w->nout,
			    t->nrows);
	for (int i = 0; i < t->ncols; i++) {
		const ow_pq_coldef_t *d = &t->defs[i];
		const ow_col_t *c = &t->cols[i];
		const char *name = d->name;
		size_t wd = ow_pq_width(d);
		if (!name)
			return fail(w, EINVAL, "parquet: column %d has no name", i);
		if (d->type != OW_PQ_BOOLEAN && d->type != OW_PQ_INT32 && d->type != OW_PQ_INT64 &&
		    d->type != OW_PQ_DOUBLE && d->type != OW_PQ_BYTE_ARRAY &&
		    d->type != OW_PQ_FIXED)
			return fail(w, EINVAL, "parquet: column %s: unknown type %d", name,
				    d->type);
		if (d->type == OW_PQ_FIXED && d->fixed_len <= 0)
			return fail(w, EINVAL, "parquet: column %s: fixed_len %d", name,
				    d->fixed_len);
		if (!ow_pq_logical_fits(d->logical, d->type))
			return fail(w, EINVAL, "parquet: column %s: logical type %d on type %d",
				    name, d->logical, d->type);
		if (d->enc == OW_PQ_ENC_DELTA && d->type != OW_PQ_INT32 && d->type != OW_PQ_INT64)
			return fail(w, EINVAL, "parquet: column %s: DELTA needs INT32 or INT64",
				    name);
		if (d->bloom && d->type == OW_PQ_BOOLEAN)
			return fail(w, EINVAL, "parquet: column %s: a bloom filter on BOOLEAN",
				    name);
		if (d->enc != OW_PQ_ENC_PLAIN && d->enc != OW_PQ_ENC_DICT &&
		    d->enc != OW_PQ_ENC_DELTA)
			return fail(w, EINVAL, "parquet: column %s: unknown encoding %d", name,
				    d->enc);
		if (c->nrows != t->nrows)
			return fail(w, EINVAL, "parquet: column %s has %zu rows, the table %zu",
				    name, c->nrows, t->nrows);
		if (d->optional) {
			size_t ndef = 0;
			if (c->defs.len != c->nrows)
				return fail(w, EINVAL, "parquet: column %s: %zu definition bytes",
					    name, c->defs.len);
			for (size_t r = 0; r < c->nrows; r++)
				ndef += c->defs.data[r] != 0;
			if (ndef != c->nvals)
				return fail(w, EINVAL,
					    "parquet: column %s: %zu values, %zu defined", name,
					    c->nvals, ndef);
		} else if (c->nvals != c->nrows) {
			return fail(w, EINVAL, "parquet: column %s is required but has %zu nulls",
				    name, c->nrows - c->nvals);
		}
		if (wd && c->fixed.len != c->nvals * wd)
			return fail(w, EINVAL, "parquet: column %s: %zu bytes for %zu values", name,
				    c->fixed.len, c->nvals);
		size_t nent = c->offs.len / 4;
		if (!wd && (c->refs.len ? c->refs.len != c->nvals * 4 : nent != c->nvals))
			return fail(w, EINVAL, "parquet: column %s: %zu entries for %zu values",
				    name, c->refs.len ? c->refs.len / 4 : nent, c->nvals);
		if (!wd && nent && ((const uint32_t *)c->offs.data)[nent - 1] > c->data.len)
			return fail(w, EINVAL, "parquet: column %s: offsets do not match its data",
				    name);
		for (size_t k = 0; !wd && k < c->refs.len / 4; k++)
			if (((const uint32_t *)(const void *)c->refs.data)[k] >= nent)
				return fail(w, EINVAL,
					    "parquet: column %s: value %zu past the entries", name,
					    k);
	}
	if (w->perm)
		for (size_t r = 0; r < w->nout; r++)
			if (w->perm[r] >= t->nrows)
				return fail(w, EINVAL, "parquet: perm[%zu] = %u is past the rows",
					    r, w->perm[r]);
	return OW_OK;
}

/* ---- statistics ---- */

static int less(const ow_pq_coldef_t *d, const uint8_t *a, size_t la, const uint8_t *b, size_t lb)
{
	switch (d->type) {
	case OW_PQ_BOOLEAN:
		return *a < *b;
	case OW_PQ_INT32: {
		int32_t x, y;
		memcpy(&x, a, 4);
		memcpy(&y, b, 4);
		if (d->logical == OW_PQ_L_UINT8 || d->logical == OW_PQ_L_UINT32)
			return (uint32_t)x < (uint32_t)y;
		return x < y;
	}
	case OW_PQ_INT64: {
		int64_t x, y;
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		if (d->logical == OW_PQ_L_UINT64)
			return (uint64_t)x < (uint64_t)y;
		return x < y;
	}
	case OW_PQ_DOUBLE: {
		double x, y;
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		return x < y;
	}
	default: {
		int c = OW_MIN(la, lb) ? memcmp(a, b, OW_MIN(la, lb)) : 0;
		return c < 0 || (c == 0 && la < lb);
	}
	}
}

static void stats(const ow_pq_coldef_t *d, const ow_col_t *c, const uint32_t *vals, size_t n,
		  ow_pq_wstats_t *st)
{
	size_t wd = ow_pq_width(d);
	st->min = st->max = NULL;
	st->min_len = st->max_len = 0;
	st->nan_count = 0;
	for (size_t k = 0; k < n; k++) {
		size_t len;
		const uint8_t *v = ow_pq_value(c, wd, vals[k], &len);
		if (d->type == OW_PQ_DOUBLE) {
			double x;
			memcpy(&x, v, 8);
			if (x != x) {
				st->nan_count++;
				continue;
			}
		}
		if (!st->min) {
			st->min = st->max = v;
			st->min_len = st->max_len = len;
		} else if (less(d, v, len, st->min, st->min_len)) {
			st->min = v;
			st->min_len = len;
		} else if (less(d, st->max, st->max_len, v, len)) {
			st->max = v;
			st->max_len = len;
		}
	}
	if (!st->min)
		return;
	if (d->type == OW_PQ_BOOLEAN) {
		/* PLAIN BOOLEAN is a bit; one value fills the low bit of a byte */
		st->minb[0] = *st->min != 0;
		st->maxb[0] = *st->max != 0;
		st->min = st->minb;
		st->max = st->maxb;
	} else if (d->type == OW_PQ_DOUBLE) {
		double lo, hi;
		memcpy(&lo, st->min, 8);
		memcpy(&hi, st->max, 8);
		if (lo == 0)
			lo = -0.0;
		if (hi == 0)
			hi = 0.0;
		memcpy(st->minb, &lo, 8);
		memcpy(st->maxb, &hi, 8);
		st->min = st->minb;
		st->max = st->maxb;
	}
	if (st->min_len > OW_PQ_STATS_MAX || st->max_len > OW_PQ_STATS_MAX)
		st->min = st->max = NULL;
}

/* ---- pages ---- */

/* Appends a page (header + body, compressed when asked) to the output. */
/* The Statistics struct of a chunk or a page: its null count, and min and
 * max when it has them. */
static void stats_struct(ow_pq_tw_t *tw, int id, const ow_pq_wstats_t *st, int64_t nulls)
{
	ow_pq_tw_struct(tw, id);
	ow_pq_tw_i64(tw, 3, nulls);
	if (st->min) {
		ow_pq_tw_bin(tw, 5, st->max, st->max_len);
		ow_pq_tw_bin(tw, 6, st->min, st->min_len);
	}
}

/* A page (header + body, compressed when asked) to the output; a data page
 * with its statistics when st is not NULL. */
static int emit_page(ow_pq_w_t *w, ow_pq_wchunk_t *ch, int type, size_t nvalues, int enc,
		     const ow_pq_wstats_t *st, int64_t nulls)
{
	const ow_buf_t *body = &w->page;
	if (body->len > INT32_MAX || nvalues > INT32_MAX)
		return fail(w, EFBIG, "parquet: a page of %zu bytes is too large", body->len);
	if (w->zc) {
		size_t bound = ZSTD_compressBound(body->len);
		w->zpage.len = 0;
		ow_buf_reserve(&w->zpage, bound);
		size_t z = ZSTD_compressCCtx(w->zc, w->zpage.data, bound, body->data, body->len,
					     w->o->zstd_level);
		if (ZSTD_isError(z))
			return fail(w, EIO, "parquet: zstd: %s", ZSTD_getErrorName(z));
		w->zpage.len = z;
		body = &w->zpage;
	}
	ow_pq_tw_t tw;
	w->hdr.len = 0;
	ow_pq_tw_init(&tw, &w->hdr);
	ow_pq_tw_begin(&tw);
	ow_pq_tw_i32(&tw, 1, type);
	ow_pq_tw_i32(&tw, 2, (int32_t)w->page.len);
	ow_pq_tw_i32(&tw, 3, (int32_t)body->len);
	if (type == PAGE_DICT) {
		ow_pq_tw_struct(&tw, 7);
		ow_pq_tw_i32(&tw, 1, (int32_t)nvalues);
		ow_pq_tw_i32(&tw, 2, OW_PQ_E_PLAIN);
	} else {
		ow_pq_tw_struct(&tw, 5);
		ow_pq_tw_i32(&tw, 1, (int32_t)nvalues);
		ow_pq_tw_i32(&tw, 2, enc);
		ow_pq_tw_i32(&tw, 3, OW_PQ_E_RLE);
		ow_pq_tw_i32(&tw, 4, OW_PQ_E_RLE);
		if (st) {
			stats_struct(&tw, 5, st, nulls);
			ow_pq_tw_end(&tw);
		}
	}
	ow_pq_tw_end(&tw);
	ow_pq_tw_end(&tw);
	if (type == PAGE_DICT)
		ch->dict_off = offset(w);
	else if (!ch->data_pages++)
		ch->data_off = offset(w);
	ch->usize += (int64_t)(w->hdr.len + w->page.len);
	ch->csize += (int64_t)(w->hdr.len + body->len);
	ow_buf_add(&w->out, w->hdr.data, w->hdr.len);
	ow_buf_add(&w->out, body->data, body->len);
	return OW_OK;
}

/* Fills w->vals with the value indices of rows [r0, r0 + n) in output
 * order and w->lv with their definition levels; returns the value count. */
static size_t gather_values(ow_pq_w_t *w, int col, size_t r0, size_t n)
{
	const ow_col_t *c = &w->t->cols[col];
	const uint32_t *perm = w->perm;
	size_t k = 0;
	if (!w->t->defs[col].optional) {
		for (size_t i = 0; i < n; i++)
			w->vals[i] = perm ? perm[r0 + i] : (uint32_t)(r0 + i);
		return n;
	}
	if (!perm) {
		/* rows go out in order: the value index is a running count */
		size_t vi = w->next[col];
		for (size_t i = 0; i < n; i++) {
			w->lv[i] = c->defs.data[r0 + i] != 0;
			if (w->lv[i])
				w->vals[k++] = (uint32_t)vi++;
		}
		w->next[col] = vi;
		return k;
	}
	if (!w->vidx[col]) {
		/* in perm order a row's value index is the count of defined rows
		 * before it: prefix sums, once per column for all row groups */
		uint32_t *ix = ow_alloc(c->nrows * sizeof(*ix) + 1), vi = 0;
		for (size_t r = 0; r < c->nrows; r++) {
			ix[r] = vi;
			vi += c->defs.data[r] != 0;
		}
		w->vidx[col] = ix;
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t src = perm[r0 + i];
		w->lv[i] = c->defs.data[src] != 0;
		if (w->lv[i])
			w->vals[k++] = w->vidx[col][src];
	}
	return k;
}

/* The entries of the values of rows r0..r0+n in output order into
 * w->vals (BYTE_ARRAY values that share an entry name it): their count.
 * Optional columns: their definition levels into w->lv. */
static size_t gather(ow_pq_w_t *w, int col, size_t r0, size_t n)
{
	size_t k = gather_values(w, col, r0, n);
	const ow_col_t *c = &w->t->cols[col];
	if (c->refs.len)
		for (size_t i = 0; i < k; i++)
			w->vals[i] = (uint32_t)ow_col_entry(c, w->vals[i]);
	return k;
}

static void write_bloom(ow_pq_w_t *w, ow_pq_wchunk_t *ch, const ow_pq_coldef_t *d,
			const ow_col_t *c, const uint32_t *vals, size_t n)
{
	size_t wd = ow_pq_width(d), nb = ow_pq_bloom_bytes(n);
	uint8_t *bits = ow_calloc(nb, 1);
	for (size_t k = 0; k < n; k++) {
		size_t len;
		const uint8_t *v = ow_pq_value(c, wd, vals[k], &len);
		ow_pq_bloom_insert(bits, nb, ow_pq_xxh64(v, len));
	}
	ow_pq_tw_t tw;
	w->hdr.len = 0;
	ow_pq_tw_init(&tw, &w->hdr);
	ow_pq_tw_begin(&tw); /* BloomFilterHeader */
	ow_pq_tw_i32(&tw, 1, (int32_t)nb);
	ow_pq_tw_struct(&tw, 2); /* algorithm: BLOCK */
	ow_pq_tw_struct(&tw, 1);
	ow_pq_tw_end(&tw);
	ow_pq_tw_end(&tw);
	ow_pq_tw_struct(&tw, 3); /* hash: XXHASH */
	ow_pq_tw_struct(&tw, 1);
	ow_pq_tw_end(&tw);
	ow_pq_tw_end(&tw);
	ow_pq_tw_struct(&tw, 4); /* compression: UNCOMPRESSED */
	ow_pq_tw_struct(&tw, 1);
	ow_pq_tw_end(&tw);
	ow_pq_tw_end(&tw);
	ow_pq_tw_end(&tw);
	ch->bloom_off = offset(w);
	ch->bloom_len = (int64_t)(w->hdr.len + nb);
	ow_buf_add(&w->out, w->hdr.data, w->hdr.len);
	ow_buf_add(&w->out, bits, nb);
	free(bits);
}

/* The ColumnChunk struct of a chunk just written, kept for the footer. */
static void chunk_meta(ow_pq_w_t *w, const ow_pq_coldef_t *d, const ow_pq_wchunk_t *ch,
		       const ow_pq_wstats_t *st, size_t n, size_t nv)
{
	int encs[3], ne = 0;
	if (ch->dict_off >= 0)
		encs[ne++] = OW_PQ_E_PLAIN;
	if (ch->dict_off < 0 || ch->enc != OW_PQ_E_PLAIN)
		encs[ne++] = ch->enc;
	if (d->optional)
		encs[ne++] = OW_PQ_E_RLE;
	ow_pq_tw_t tw;
	ow_pq_tw_init(&tw, &w->meta);
	ow_pq_tw_begin(&tw);	 /* ColumnChunk */
	ow_pq_tw_i64(&tw, 2, 0); /* file_offset: no ColumnMetaData outside the footer */
	ow_pq_tw_struct(&tw, 3); /* ColumnMetaData */
	ow_pq_tw_i32(&tw, 1, d->type);
	ow_pq_tw_list(&tw, 2, OW_PQ_T_I32, (size_t)ne);
	for (int i = 0; i < ne; i++)
		ow_pq_tw_elem_i32(&tw, encs[i]);
	ow_pq_tw_list(&tw, 3, OW_PQ_T_BINARY, 1);
	ow_pq_tw_elem_bin(&tw, d->name, strlen(d->name));
	ow_pq_tw_i32(&tw, 4, w->zc ? CODEC_ZSTD : CODEC_UNCOMPRESSED);
	ow_pq_tw_i64(&tw, 5, (int64_t)n);
	ow_pq_tw_i64(&tw, 6, ch->usize);
	ow_pq_tw_i64(&tw, 7, ch->csize);
	ow_pq_tw_i64(&tw, 9, ch->data_off);
	if (ch->dict_off >= 0)
		ow_pq_tw_i64(&tw, 11, ch->dict_off);
	stats_struct(&tw, 12, st, (int64_t)(n - nv));
	if (d->type == OW_PQ_DOUBLE)
		ow_pq_tw_i64(&tw, 9, st->nan_count);
	ow_pq_tw_end(&tw);
	ow_pq_tw_list(&tw, 13, OW_PQ_T_STRUCT, ch->dict_off >= 0 ? 2 : 1); /* encoding_stats */
	if (ch->dict_off >= 0) {
		ow_pq_tw_begin(&tw);
		ow_pq_tw_i32(&tw, 1, PAGE_DICT);
		ow_pq_tw_i32(&tw, 2, OW_PQ_E_PLAIN);
		ow_pq_tw_i32(&tw, 3, 1);
		ow_pq_tw_end(&tw);
	}
	ow_pq_tw_begin(&tw);
	ow_pq_tw_i32(&tw, 1, PAGE_DATA);
	ow_pq_tw_i32(&tw, 2, ch->enc);
	ow_pq_tw_i32(&tw, 3, ch->data_pages);
	ow_pq_tw_end(&tw);
	if (ch->bloom_off >= 0) {
		ow_pq_tw_i64(&tw, 14, ch->bloom_off);
		ow_pq_tw_i32(&tw, 15, (int32_t)ch->bloom_len);
	}
	ow_pq_tw_end(&tw);
	ow_pq_tw_end(&tw);
}

/* Rows [r0, r0 + n) of column col as one column chunk. */
static int write_chunk(ow_pq_w_t *w, ow_pq_wrg_t *rg, int col, size_t r0, size_t n)
{
	const ow_pq_coldef_t *d = &w->t->defs[col];
	const ow_col_t *c = &w->t->cols[col];
	size_t wd = ow_pq_width(d), nv = gather(w, col, r0, n);
	ow_pq_wchunk_t ch = {.dict_off = -1, .data_off = -1, .bloom_off = -1, .bloom_len = -1};
	ow_pq_wstats_t st;
	int dict = d->enc == OW_PQ_ENC_DICT && d->type != OW_PQ_BOOLEAN && nv &&
		   ow_pq_dict_build(&w->dict, d, c, w->vals, nv, nv / 2, OW_PQ_DICT_BYTES) == OW_OK;
	/* the dictionary holds every distinct value once: bounds from it are
	 * the same and cheaper (not for DOUBLE, whose NaNs are counted) */
	if (dict && d->type != OW_PQ_DOUBLE)
		stats(d, c, w->dict.ent, w->dict.nent, &st);
	else
		stats(d, c, w->vals, nv, &st);
	int dict_bw = dict ? OW_MAX(1, ow_pq_bits(w->dict.nent - 1)) : 0;
	size_t page_rows = w->o->page_rows ? OW_MIN(w->o->page_rows, (size_t)OW_PQ_PAGE_ROWS_MAX)
					   : OW_PQ_PAGE_ROWS;
	ch.enc = dict			     ? OW_PQ_E_RLE_DICTIONARY
		 : d->enc == OW_PQ_ENC_DELTA ? OW_PQ_E_DELTA_BINARY_PACKED
					     : OW_PQ_E_PLAIN;
	if (dict) {
		w->page.len = 0;
		ow_pq_plain_encode(&w->page, d, c, w->dict.ent, w->dict.nent);
		if (emit_page(w, &ch, PAGE_DICT, w->dict.nent, OW_PQ_E_PLAIN, NULL, 0) != OW_OK)
			return OW_ERROR;
	}
	for (size_t p0 = 0, v0 = 0; p0 < n;) {
		/* cut the page at ~OW_PQ_PAGE_BYTES of uncompressed values (PLAIN
		 * size for DELTA, an upper bound) */
		size_t p1 = p0, v1 = v0;
		uint64_t bits = 0;
		while (p1 < n && bits < (uint64_t)OW_PQ_PAGE_BYTES * 8 && p1 - p0 < page_rows) {
			if (d->optional) {
				bits++;
				if (!w->lv[p1++])
					continue;
			} else {
				p1++;
			}
			if (dict) {
				bits += (uint64_t)dict_bw;
			} else if (d->type == OW_PQ_BOOLEAN) {
				bits++;
			} else if (wd) {
				bits += wd * 8;
			} else {
				size_t len;
				ow_col_bytes_at(c, w->vals[v1], &len);
				bits += (4 + len) * 8;
			}
			v1++;
		}
		ow_buf_t *pg = &w->page;
		pg->len = 0;
		if (d->optional) {
			ow_buf_reserve(pg, 4);
			pg->len = 4;
			ow_pq_rle_encode(pg, w->lv + p0, p1 - p0, 1);
			ow_put_u32(pg->data, (uint32_t)(pg->len - 4));
		}
		if (dict) {
			uint8_t b = (uint8_t)dict_bw;
			ow_buf_add(pg, &b, 1);
			ow_pq_rle_encode(pg, w->dict.code + v0, v1 - v0, dict_bw);
		} else if (d->enc == OW_PQ_ENC_DELTA) {
			ow_pq_delta_encode(pg, c, d->type == OW_PQ_INT32, w->vals + v0, v1 - v0);
		} else {
			ow_pq_plain_encode(pg, d, c, w->vals + v0, v1 - v0);
		}
		/* page statistics for text and integer columns: what a reader
		 * skips pages by (JSON, ids and reals have none) */
		ow_pq_wstats_t pst;
		int page_stats = (d->type == OW_PQ_INT32 || d->type == OW_PQ_INT64 ||
				  (d->type == OW_PQ_BYTE_ARRAY && d->logical == OW_PQ_L_STRING));
		if (page_stats)
			stats(d, c, w->vals + v0, v1 - v0, &pst);
		if (emit_page(w, &ch, PAGE_DATA, p1 - p0, ch.enc, page_stats ? &pst : NULL,
			      (int64_t)((p1 - p0) - (v1 - v0))) != OW_OK)
			return OW_ERROR;
		p0 = p1;
		v0 = v1;
	}
	if (d->bloom) {
		/* a dictionary holds each distinct value once: hash those */
		if (dict)
			write_bloom(w, &ch, d, c, w->dict.ent, w->dict.nent);
		else
			write_bloom(w, &ch, d, c, w->vals, nv);
	}
	chunk_meta(w, d, &ch, &st, n, nv);
	rg->usize += ch.usize;
	rg->csize += ch.csize;
	return flush(w);
}

/* ---- footer ---- */

static void logical(ow_pq_tw_t *tw, int l)
{
	/* converted type (-1: none), LogicalType union field, IntType */
	int conv = -1, lt = 0, bits = 0, sign = 0;
	switch (l) {
	case OW_PQ_L_STRING:
		conv = 0, lt = 1;
		break;
	case OW_PQ_L_JSON:
		conv = 19, lt = 12;
		break;
	case OW_PQ_L_TIMESTAMP_NS:
		lt = 8; /* TIMESTAMP_MICROS/MILLIS have converted types; NANOS has none */
		break;
	case OW_PQ_L_UINT8:
		conv = 11, lt = 10, bits = 8;
		break;
	case OW_PQ_L_UINT32:
		conv = 13, lt = 10, bits = 32;
		break;
	case OW_PQ_L_UINT64:
		conv = 14, lt = 10, bits = 64;
		break;
	case OW_PQ_L_INT8:
		conv = 15, lt = 10, bits = 8, sign = 1;
		break;
	case OW_PQ_L_INT16:
		conv = 16, lt = 10, bits = 16, sign = 1;
		break;
	}
	if (conv >= 0)
		ow_pq_tw_i32(tw, 6, conv);
	if (!lt)
		return;
	ow_pq_tw_struct(tw, 10);
	ow_pq_tw_struct(tw, lt);
	if (lt == 8) {
		ow_pq_tw_bool(tw, 1, 0); /* isAdjustedToUTC: see the top of the file */
		ow_pq_tw_struct(tw, 2);	 /* unit: NANOS */
		ow_pq_tw_struct(tw, 3);
		ow_pq_tw_end(tw);
		ow_pq_tw_end(tw);
	} else if (lt == 10) {
		ow_pq_tw_byte(tw, 1, (int8_t)bits);
		ow_pq_tw_bool(tw, 2, sign);
	}
	ow_pq_tw_end(tw);
	ow_pq_tw_end(tw);
}

static void footer(ow_pq_w_t *w)
{
	const ow_table_t *t = w->t;
	size_t start = w->out.len;
	ow_pq_tw_t tw;
	ow_pq_tw_init(&tw, &w->out);
	ow_pq_tw_begin(&tw); /* FileMetaData */
	ow_pq_tw_i32(&tw, 1, 1);
	ow_pq_tw_list(&tw, 2, OW_PQ_T_STRUCT, (size_t)t->ncols + 1);
	ow_pq_tw_begin(&tw);
	ow_pq_tw_str(&tw, 4, "schema");
	ow_pq_tw_i32(&tw, 5, t->ncols);
	ow_pq_tw_end(&tw);
	for (int i = 0; i < t->ncols; i++) {
		const ow_pq_coldef_t *d = &t->defs[i];
		ow_pq_tw_begin(&tw);
		ow_pq_tw_i32(&tw, 1, d->type);
		if (d->type == OW_PQ_FIXED)
			ow_pq_tw_i32(&tw, 2, d->fixed_len);
		ow_pq_tw_i32(&tw, 3, d->optional ? REP_OPTIONAL : REP_REQUIRED);
		ow_pq_tw_str(&tw, 4, d->name);
		logical(&tw, d->logical);
		ow_pq_tw_end(&tw);
	}
	ow_pq_tw_i64(&tw, 3, (int64_t)w->nout);
	ow_pq_tw_list(&tw, 4, OW_PQ_T_STRUCT, w->nrg);
	for (size_t g = 0; g < w->nrg; g++) {
		const ow_pq_wrg_t *rg = &w->rg[g];
		size_t end = g + 1 < w->nrg ? w->rg[g + 1].meta_off : w->meta.len;
		ow_pq_tw_begin(&tw); /* RowGroup */
		ow_pq_tw_list(&tw, 1, OW_PQ_T_STRUCT, (size_t)t->ncols);
		ow_buf_add(&w->out, w->meta.data + rg->meta_off, end - rg->meta_off);
		ow_pq_tw_i64(&tw, 2, rg->usize);
		ow_pq_tw_i64(&tw, 3, rg->rows);
		ow_pq_tw_i64(&tw, 5, rg->off);
		ow_pq_tw_i64(&tw, 6, rg->csize);
		ow_pq_tw_end(&tw);
	}
	if (w->o->nkv > 0) {
		ow_pq_tw_list(&tw, 5, OW_PQ_T_STRUCT, (size_t)w->o->nkv);
		for (int i = 0; i < w->o->nkv; i++) {
			ow_pq_tw_begin(&tw);
			ow_pq_tw_str(&tw, 1, w->o->kv[i].key);
			if (w->o->kv[i].value)
				ow_pq_tw_str(&tw, 2, w->o->kv[i].value);
			ow_pq_tw_end(&tw);
		}
	}
	ow_pq_tw_str(&tw, 6, OW_PQ_CREATED_BY);
	/* column_orders: TYPE_ORDER for each column, without which min_value
	 * and max_value have no defined meaning */
	ow_pq_tw_list(&tw, 7, OW_PQ_T_STRUCT, (size_t)t->ncols);
	for (int i = 0; i < t->ncols; i++) {
		ow_pq_tw_begin(&tw);
		ow_pq_tw_struct(&tw, 1);
		ow_pq_tw_end(&tw);
		ow_pq_tw_end(&tw);
	}
	ow_pq_tw_end(&tw);
	uint8_t tail[8];
	ow_put_u32(tail, (uint32_t)(w->out.len - start));
	memcpy(tail + 4, "PAR1", 4);
	ow_buf_add(&w->out, tail, 8);
}

static int write_file(ow_pq_w_t *w)
{
	const ow_table_t *t = w->t;
	if (check(w) != OW_OK)
		return OW_ERROR;
	if (w->o->zstd_level < 0 || w->o->zstd_level > ZSTD_maxCLevel())
		return fail(w, EINVAL, "parquet: zstd level %d", w->o->zstd_level);
	for (int i = 0; i < w->o->nkv; i++)
		if (!w->o->kv[i].key)
			return fail(w, EINVAL, "parquet: key/value %d has no key", i);
	if (w->o->zstd_level > 0)
		w->zc = ZSTD_createCCtx();
	size_t per = w->o->row_group_rows ? w->o->row_group_rows : w->nout;
	w->nrg = w->nout ? (w->nout + per - 1) / per : 0;
	per = OW_MIN(per, w->nout);
	w->rg = ow_calloc(w->nrg + 1, sizeof(*w->rg));
	w->vals = ow_alloc(per * sizeof(*w->vals) + 1);
	w->lv = ow_alloc(per * sizeof(*w->lv) + 1);
	w->vidx = ow_calloc((size_t)t->ncols, sizeof(*w->vidx));
	w->next = ow_calloc((size_t)t->ncols, sizeof(*w->next));
	ow_buf_add(&w->out, "PAR1", 4);
	for (size_t g = 0; g < w->nrg; g++) {
		ow_pq_wrg_t *rg = &w->rg[g];
		size_t r0 = g * per;
		rg->rows = (int64_t)OW_MIN(per, w->nout - r0);
		rg->off = offset(w);
		rg->meta_off = w->meta.len;
		for (int col = 0; col < t->ncols; col++)
			if (write_chunk(w, rg, col, r0, (size_t)rg->rows) != OW_OK)
				return OW_ERROR;
	}
	footer(w);
	return flush(w);
}

int ow_pq_write(int fd, const ow_table_t *t, const uint32_t *perm, const ow_pq_opts_t *o, char *err,
		size_t errlen)
{
	static const ow_pq_opts_t defaults;
	ow_pq_w_t w = {
	    .fd = fd, .t = t, .perm = perm, .o = o ? o : &defaults, .err = err, .errlen = errlen};
	w.nout = perm && w.o->rows ? w.o->rows : t->nrows;
	int rc = write_file(&w), e = errno;
	ZSTD_freeCCtx(w.zc);
	for (int i = 0; w.vidx && i < t->ncols; i++)
		free(w.vidx[i]);
	free(w.vidx);
	free(w.next);
	free(w.vals);
	free(w.lv);
	free(w.rg);
	ow_pq_dict_free(&w.dict);
	ow_buf_free(&w.out);
	ow_buf_free(&w.page);
	ow_buf_free(&w.zpage);
	ow_buf_free(&w.hdr);
	ow_buf_free(&w.meta);
	errno = e;
	return rc;
}

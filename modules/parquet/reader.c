/*
 * reader.c - ow_pq_open and the rest of the reading half of parquet.h: the
 * footer of a file image in memory, statistics, key/value metadata, bloom
 * filters, and column chunks decoded into ow_col_t in the layout the
 * writer consumes (so a file read back writes out the same).
 *
 * What is read is what writer.c produces: a flat schema of REQUIRED and
 * OPTIONAL leaves, v1 data pages (and a leading dictionary page), PLAIN,
 * RLE_DICTIONARY/PLAIN_DICTIONARY and DELTA_BINARY_PACKED values, RLE
 * definition levels, ZSTD or no compression. Anything else (nested or
 * repeated fields, other types, codecs, page kinds or encodings, encrypted
 * or external column data) is an error with a message, as is any file
 * that does not decode: every offset, length and count from the file is
 * checked against the image before it is used, and counts are checked
 * against each other (a page's values against its chunk's, a chunk's
 * against its row group's, the row groups' against the file's) and against
 * the bytes that hold them (OW_PQ_VALUES_PER_BYTE), so a corrupt number
 * cannot make us read outside the image or allocate for rows that are not
 * there. A zstd frame must state its content size, the page's; the page
 * buffer is the one allocation sized by the file (at most OW_PQ_PAGE_MAX)
 * and its failure is an error, not an abort.
 *
 * A chunk is read page by page, each page decompressed alone (as writer.c
 * writes them), which is what makes ow_pq_read_column_ex cheap: a data
 * page without a selected row costs the parsing of its header, and
 * dictionary codes can be handed out as they are decoded instead of being
 * expanded into values. Codes are kept while the pages read are
 * dictionary-encoded; a page of values after them (a writer that gave up
 * its dictionary within a chunk: not ours, but allowed) turns the codes
 * read so far into values, and the chunk is answered with values.
 *
 * An ow_pq_file_t is read-only after ow_pq_open: several threads may read
 * columns of one file at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "encode.h"
#include "parquet.h"
#include "thrift.h"

#define OW_PQ_PAGE_MAX (1024 * 1024 * 1024) /* largest page we decompress */
#define PER_BYTE ((int64_t)OW_PQ_VALUES_PER_BYTE)

enum { PAGE_DATA = 0, PAGE_DICT = 2 };
enum { CODEC_UNCOMPRESSED = 0, CODEC_ZSTD = 6 };

typedef struct {
	int present, external;
	int type, codec, npath;
	const uint8_t *path;
	size_t path_len;
	int64_t num_values, tcs, tus, data_off, dict_off, bloom_off;
	uint32_t encs; /* bit e set: Encoding e appears in the chunk */
	int has_stats;
	ow_pq_stats_t st;
} ow_pq_rchunk_t;

typedef struct {
	int64_t rows;
	size_t ncols;
	ow_pq_rchunk_t *cols;
} ow_pq_rrg_t;

struct ow_pq_file {
	const uint8_t *data;
	size_t len;
	int64_t num_rows;
	int ncols, nrg, nkv;
	ow_pq_coldef_t *cols;
	ow_pq_rrg_t *rgs;
	char **kv; /* key, value, key, value ... */
};

/* A schema element as read. */
typedef struct {
	int type, type_length, rep, num_children, conv, logical;
	int has_type, has_rep, has_children;
	const uint8_t *name;
	size_t name_len;
} ow_pq_elem_t;

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return OW_ERROR;
}

static char *copy(const uint8_t *p, size_t n)
{
	char *s = ow_alloc(n + 1);
	if (n)
		memcpy(s, p, n);
	s[n] = 0;
	return s;
}

/* ---- footer ---- */

/* TIMESTAMP with unit NANOS, whether or not "adjusted to UTC" (see
 * writer.c: we write it unadjusted for DuckDB's sake). */
static int read_timestamp(ow_pq_tr_t *r)
{
	int last = 0, id, t, nanos = 0;
	if (!ow_pq_tr_enter(r))
		return OW_PQ_L_NONE;
	while ((t = ow_pq_tr_field(r, &last, &id))) {
		if (id == 2 && t == OW_PQ_T_STRUCT && ow_pq_tr_enter(r)) {
			int ulast = 0, uid, ut;
			while ((ut = ow_pq_tr_field(r, &ulast, &uid))) {
				nanos = uid == 3;
				ow_pq_tr_skip(r, ut, 0);
			}
			ow_pq_tr_leave(r);
		} else {
			ow_pq_tr_skip(r, t, 0);
		}
	}
	ow_pq_tr_leave(r);
	return nanos ? OW_PQ_L_TIMESTAMP_NS : OW_PQ_L_NONE;
}

static int read_int_type(ow_pq_tr_t *r)
{
	int last = 0, id, t, bits = 0, sign = -1;
	if (!ow_pq_tr_enter(r))
		return OW_PQ_L_NONE;
	while ((t = ow_pq_tr_field(r, &last, &id))) {
		if (id == 1 && t == OW_PQ_T_BYTE)
			bits = ow_pq_tr_byte(r);
		else if (id == 2 && t == OW_PQ_T_TRUE)
			sign = r->bval;
		else
			ow_pq_tr_skip(r, t, 0);
	}
	ow_pq_tr_leave(r);
	if (sign == 0)
		return bits == 8    ? OW_PQ_L_UINT8
		       : bits == 32 ? OW_PQ_L_UINT32
		       : bits == 64 ? OW_PQ_L_UINT64
				    : OW_PQ_L_NONE;
	if (sign == 1)
		return bits == 8 ? OW_PQ_L_INT8 : bits == 16 ? OW_PQ_L_INT16 : OW_PQ_L_NONE;
	return OW_PQ_L_NONE;
}

/* The LogicalType union: the kinds we write, anything else as NONE. */
static int read_logical(ow_pq_tr_t *r)
{
	int last = 0, id, t, l = OW_PQ_L_NONE;
	if (!ow_pq_tr_enter(r))
		return l;
	while ((t = ow_pq_tr_field(r, &last, &id))) {
		if (t == OW_PQ_T_STRUCT && id == 8) {
			l = read_timestamp(r);
			continue;
		}
		if (t == OW_PQ_T_STRUCT && id == 10) {
			l = read_int_type(r);
			continue;
		}
		if (t == OW_PQ_T_STRUCT && id == 1)
			l = OW_PQ_L_STRING;
		else if (t == OW_PQ_T_STRUCT && id == 12)
			l = OW_PQ_L_JSON;
		ow_pq_tr_skip(r, t, 0);
	}
	ow_pq_tr_leave(r);
	return l;
}

/* The logical type a ConvertedType stands for, for files without LogicalType. */
static int from_converted(int conv)
{
	switch (conv) {
	case 0:
		return OW_PQ_L_STRING;
	case 19:
		return OW_PQ_L_JSON;
	case 11:
		return OW_PQ_L_UINT8;
	case 13:
		return OW_PQ_L_UINT32;
	case 14:
		return OW_PQ_L_UINT64;
	case 15:
		return OW_PQ_L_INT8;
	case 16:
		return OW_PQ_L_INT16;
	default:
		return OW_PQ_L_NONE;
	}
}

static void read_elem(ow_pq_tr_t *r, ow_pq_elem_t *e)
{
	int last = 0, id, t, has_logical = 0;
	e->conv = -1;
	if (!ow_pq_tr_enter(r))
		return;
	while ((t = ow_pq_tr_field(r, &last, &id))) {
		if (id == 1 && t == OW_PQ_T_I32) {
			e->type = ow_pq_tr_i32(r);
			e->has_type = 1;
		} else if (id == 2 && t == OW_PQ_T_I32) {
			e->type_length = ow_pq_tr_i32(r);
		} else if (id == 3 && t == OW_PQ_T_I32) {
			e->rep = ow_pq_tr_i32(r);
			e->has_rep = 1;
		} else if (id == 4 && t == OW_PQ_T_BINARY) {
			ow_pq_tr_bin(r, &e->name, &e->name_len);
		} else if (id == 5 && t == OW_PQ_T_I32) {
			e->num_children = ow_pq_tr_i32(r);
			e->has_children = 1;
		} else if (id == 6 && t == OW_PQ_T_I32) {
			e->conv = ow_pq_tr_i32(r);
		} else if (id == 10 && t == OW_PQ_T_STRUCT) {
			e->logical = read_logical(r);
			has_logical = 1;
		} else {
			ow_pq_tr_skip(r, t, 0);
		}
	}
	ow_pq_tr_leave(r);
	if (!has_logical)
		e->logical = from_converted(e->conv);
}

/* A Statistics struct (of a chunk, or of a data page). */
static void read_stats(ow_pq_tr_t *r, ow_pq_stats_t *st)
{
	int last = 0, id, t, has_min = 0, has_max = 0;
	st->null_count = -1;
	if (!ow_pq_tr_enter(r))
		return;
	while ((t = ow_pq_tr_field(r, &last, &id))) {
		if (id == 3 && t == OW_PQ_T_I64) {
			st->null_count = ow_pq_tr_int(r);
		} else if (id == 5 && t == OW_PQ_T_BINARY) {
			ow_pq_tr_bin(r, &st->max, &st->max_len);
			has_max = 1;
		} else if (id == 6 && t == OW_PQ_T_BINARY) {
			ow_pq_tr_bin(r, &st->min, &st->min_len);
			has_min = 1;
		} else {
			/* the deprecated min and max (1, 2) are in signed order
			 * whatever the type: not the bounds we promise */
			ow_pq_tr_skip(r, t, 0);
		}
	}
	ow_pq_tr_leave(r);
	st->has_minmax = has_min && has_max;
}

static void read_column_meta(ow_pq_tr_t *r, ow_pq_rchunk_t *ch)
{
	int last = 0, id, t, et;
	if (!ow_pq_tr_enter(r))
		return;
	ch->present = 1;
	while ((t = ow_pq_tr_field(r, &last, &id))) {
		if (id == 1 && t == OW_PQ_T_I32) {
			ch->type = ow_pq_tr_i32(r);
		} else if (id == 2 && t == OW_PQ_T_LIST) {
			size_t n = ow_pq_tr_list(r, &et);
			for (size_t i = 0; i < n && !r->err; i++) {
				if (et != OW_PQ_T_I32) {
					ow_pq_tr_skip(r, et, 1);
					continue;
				}
				int32_t e = ow_pq_tr_i32(r);
				if (e >= 0 && e < 32)
					ch->encs |= UINT32_C(1) << e;
			}
		} else if (id == 3 && t == OW_PQ_T_LIST) {
			size_t n = ow_pq_tr_list(r, &et);
			ch->npath = (int)OW_MIN(n, 2);
			for (size_t i = 0; i < n && !r->err; i++) {
				if (et == OW_PQ_T_BINARY && i == 0)
					ow_pq_tr_bin(r, &ch->path, &ch->path_len);
				else
					ow_pq_tr_skip(r, et, 1);
			}
		} else if (id == 4 && t == OW_PQ_T_I32) {
			ch->codec = ow_pq_tr_i32(r);
		} else if (id == 5 && t == OW_PQ_T_I64) {
			ch->num_values = ow_pq_tr_int(r);
		} else if (id == 6 && t == OW_PQ_T_I64) {
			ch->tus = ow_pq_tr_int(r);
		} else if (id == 7 && t == OW_PQ_T_I64) {
			ch->tcs = ow_pq_tr_int(r);
		} else if (id == 9 && t == OW_PQ_T_I64) {
			ch->data_off = ow_pq_tr_int(r);
		} else if (id == 11 && t == OW_PQ_T_I64) {
			ch->dict_off = ow_pq_tr_int(r);
		} else if (id == 12 && t == OW_PQ_T_STRUCT) {
			read_stats(r, &ch->st);
			ch->has_stats = 1;
		} else if (id == 14 && t == OW_PQ_T_I64) {
			ch->bloom_off = ow_pq_tr_int(r);
		} else {
			ow_pq_tr_skip(r, t, 0);
		}
	}
	ow_pq_tr_leave(r);
}

static void read_chunk_meta(ow_pq_tr_t *r, ow_pq_rchunk_t *ch)
{
	int last = 0, id, t;
	ch->dict_off = ch->bloom_off = ch->data_off = ch->tcs = ch->tus = ch->num_values = -1;
	if (!ow_pq_tr_enter(r))
		return;
	while ((t = ow_pq_tr_field(r, &last, &id))) {
		if (id == 3 && t == OW_PQ_T_STRUCT)
			read_column_meta(r, ch);
		else if (id == 1 || id == 8 || id == 9)
			ch->external = 1; /* file_path, encryption: data we cannot read */
		if (id != 3 || t != OW_PQ_T_STRUCT)
			ow_pq_tr_skip(r, t, 0);
	}
	ow_pq_tr_leave(r);
}

static void read_row_group(ow_pq_tr_t *r, ow_pq_rrg_t *g)
{
	int last = 0, id, t, et;
	g->rows = -1;
	if (!ow_pq_tr_enter(r))
		return;
	while ((t = ow_pq_tr_field(r, &last, &id))) {
		if (id == 1 && t == OW_PQ_T_LIST && !g->cols) {
			size_t n = ow_pq_tr_list(r, &et);
			if (et != OW_PQ_T_STRUCT) {
				r->err = 1;
				break;
			}
			g->cols = ow_calloc(n + 1, sizeof(*g->cols));
			g->ncols = n;
			for (size_t i = 0; i < n && !r->err; i++)
				read_chunk_meta(r, &g->cols[i]);
		} else if (id == 3 && t == OW_PQ_T_I64) {
			g->rows = ow_pq_tr_int(r);
		} else {
			ow_pq_tr_skip(r, t, 0);
		}
	}
	ow_pq_tr_leave(r);
}

/* FileMetaData into f, schema elements into *elems. */
static void read_footer(ow_pq_tr_t *r, ow_pq_file_t *f, ow_pq_elem_t **elems, size_t *nelems)
{
	int last = 0, id, t, et;
	f->num_rows = -1;
	if (!ow_pq_tr_enter(r))
		return;
	while ((t = ow_pq_tr_field(r, &last, &id))) {
		if (id == 2 && t == OW_PQ_T_LIST && !*elems) {
			size_t n = ow_pq_tr_list(r, &et);
			if (et != OW_PQ_T_STRUCT) {
				r->err = 1;
				break;
			}
			*elems = ow_calloc(n + 1, sizeof(**elems));
			*nelems = n;
			for (size_t i = 0; i < n && !r->err; i++)
				read_elem(r, &(*elems)[i]);
		} else if (id == 3 && t == OW_PQ_T_I64) {
			f->num_rows = ow_pq_tr_int(r);
		} else if (id == 4 && t == OW_PQ_T_LIST && !f->rgs) {
			size_t n = ow_pq_tr_list(r, &et);
			if (et != OW_PQ_T_STRUCT || n > INT32_MAX) {
				r->err = 1;
				break;
			}
			f->rgs = ow_calloc(n + 1, sizeof(*f->rgs));
			f->nrg = (int)n;
			for (size_t i = 0; i < n && !r->err; i++)
				read_row_group(r, &f->rgs[i]);
		} else if (id == 5 && t == OW_PQ_T_LIST && !f->kv) {
			size_t n = ow_pq_tr_list(r, &et);
			if (et != OW_PQ_T_STRUCT || n > INT32_MAX / 2) {
				r->err = 1;
				break;
			}
			f->kv = ow_calloc(2 * n + 1, sizeof(*f->kv));
			f->nkv = (int)n;
			for (size_t i = 0; i < n && ow_pq_tr_enter(r); i++) {
				int kl = 0, kid, kt;
				const uint8_t *p;
				size_t len;
				while ((kt = ow_pq_tr_field(r, &kl, &kid))) {
					if ((kid == 1 || kid == 2) && kt == OW_PQ_T_BINARY &&
					    !f->kv[2 * i + (size_t)kid - 1]) {
						ow_pq_tr_bin(r, &p, &len);
						f->kv[2 * i + (size_t)kid - 1] = copy(p, len);
					} else {
						ow_pq_tr_skip(r, kt, 0);
					}
				}
				ow_pq_tr_leave(r);
			}
		} else {
			ow_pq_tr_skip(r, t, 0);
		}
	}
	ow_pq_tr_leave(r);
}

/* The schema: a root with one child per column, columns flat leaves. */
static int check_schema(ow_pq_file_t *f, const ow_pq_elem_t *e, size_t n, char *err, size_t errlen)
{
	if (n < 2)
		return fail(err, errlen, "parquet: the schema has no column");
	if (!e[0].has_children || e[0].num_children < 0 || (size_t)e[0].num_children != n - 1 ||
	    n - 1 > INT32_MAX)
		return fail(err, errlen, "parquet: nested schemas are not supported");
	f->ncols = (int)(n - 1);
	f->cols = ow_calloc(n, sizeof(*f->cols));
	for (size_t i = 1; i < n; i++) {
		ow_pq_coldef_t *d = &f->cols[i - 1];
		d->name = copy(e[i].name, e[i].name_len);
		if (e[i].has_children || !e[i].has_type)
			return fail(err, errlen,
				    "parquet: column %s: nested schemas are not supported",
				    d->name);
		if (!e[i].has_rep || (e[i].rep != 0 && e[i].rep != 1))
			return fail(err, errlen,
				    "parquet: column %s: only required and optional fields are "
				    "supported",
				    d->name);
		d->type = e[i].type;
		d->optional = e[i].rep == 1;
		if (!ow_pq_width(d) && d->type != OW_PQ_BYTE_ARRAY && d->type != OW_PQ_FIXED)
			return fail(err, errlen,
				    "parquet: column %s: physical type %d not supported", d->name,
				    d->type);
		if (d->type == OW_PQ_FIXED) {
			if (e[i].type_length <= 0)
				return fail(err, errlen, "parquet: column %s: FIXED length %d",
					    d->name, e[i].type_length);
			d->fixed_len = e[i].type_length;
		}
		d->logical =
		    ow_pq_logical_fits(e[i].logical, d->type) ? e[i].logical : OW_PQ_L_NONE;
	}
	return OW_OK;
}

static int check_row_groups(ow_pq_file_t *f, char *err, size_t errlen)
{
	int64_t total = 0;
	for (int g = 0; g < f->nrg; g++) {
		ow_pq_rrg_t *rg = &f->rgs[g];
		if (rg->rows < 0 || rg->rows > INT64_MAX - total)
			return fail(err, errlen, "parquet: row group %d: bad row count", g);
		total += rg->rows;
		if (rg->ncols != (size_t)f->ncols)
			return fail(err, errlen, "parquet: row group %d has %zu columns, not %d", g,
				    rg->ncols, f->ncols);
		for (int c = 0; c < f->ncols; c++) {
			const ow_pq_rchunk_t *ch = &rg->cols[c];
			ow_pq_coldef_t *d = &f->cols[c];
			if (!ch->present || ch->external)
				return fail(
				    err, errlen,
				    "parquet: row group %d, column %s: no readable metadata", g,
				    d->name);
			if (ch->type != d->type || ch->npath != 1 ||
			    ch->path_len != strlen(d->name) ||
			    memcmp(ch->path, d->name, ch->path_len) != 0)
				return fail(
				    err, errlen,
				    "parquet: row group %d, column %s: chunk does not match "
				    "the schema",
				    g, d->name);
			if (ch->tcs < 0 || (uint64_t)ch->tcs > f->len)
				return fail(err, errlen,
					    "parquet: row group %d, column %s: chunk of %lld bytes "
					    "in a file of %zu",
					    g, d->name, (long long)ch->tcs, f->len);
			if (rg->rows / PER_BYTE > ch->tcs)
				return fail(err, errlen,
					    "parquet: row group %d, column %s: %lld rows cannot "
					    "be in %lld bytes",
					    g, d->name, (long long)rg->rows, (long long)ch->tcs);
			/* flat: one value (or null) per row */
			if (ch->num_values != rg->rows)
				return fail(
				    err, errlen,
				    "parquet: row group %d, column %s: %lld values for %lld "
				    "rows",
				    g, d->name, (long long)ch->num_values, (long long)rg->rows);
			if (ch->encs &
			    (1u << OW_PQ_E_PLAIN_DICTIONARY | 1u << OW_PQ_E_RLE_DICTIONARY))
				d->enc = OW_PQ_ENC_DICT;
			else if (ch->encs & 1u << OW_PQ_E_DELTA_BINARY_PACKED &&
				 d->enc != OW_PQ_ENC_DICT)
				d->enc = OW_PQ_ENC_DELTA;
			if (ch->bloom_off >= 0)
				d->bloom = 1;
		}
	}
	if (total != f->num_rows)
		return fail(err, errlen, "parquet: row groups hold %lld rows, the file says %lld",
			    (long long)total, (long long)f->num_rows);
	return OW_OK;
}

int ow_pq_open(const uint8_t *data, size_t len, ow_pq_file_t **out, char *err, size_t errlen)
{
	*out = NULL;
	if (len < 12 || memcmp(data, "PAR1", 4) != 0 || memcmp(data + len - 4, "PAR1", 4) != 0)
		return fail(err, errlen, "parquet: not a Parquet file (no PAR1 at both ends)");
	uint32_t flen = ow_get_u32(data + len - 8);
	if (flen > len - 12)
		return fail(err, errlen, "parquet: footer length %u past the file", flen);
	ow_pq_file_t *f = ow_calloc(1, sizeof(*f));
	f->data = data;
	f->len = len;
	ow_pq_elem_t *elems = NULL;
	size_t nelems = 0;
	ow_pq_tr_t r;
	ow_pq_tr_init(&r, data + len - 8 - flen, flen);
	read_footer(&r, f, &elems, &nelems);
	int rc;
	if (r.err)
		rc = fail(err, errlen, "parquet: corrupt footer (FileMetaData does not decode)");
	else
		rc = check_schema(f, elems, nelems, err, errlen);
	if (rc == OW_OK)
		rc = check_row_groups(f, err, errlen);
	free(elems);
	if (rc != OW_OK) {
		ow_pq_close(f);
		return OW_ERROR;
	}
	*out = f;
	return OW_OK;
}

void ow_pq_close(ow_pq_file_t *f)
{
	if (!f)
		return;
	for (int i = 0; f->cols && i < f->ncols; i++)
		free((char *)f->cols[i].name);
	free(f->cols);
	for (int g = 0; f->rgs && g < f->nrg; g++)
		free(f->rgs[g].cols);
	free(f->rgs);
	for (int i = 0; f->kv && i < 2 * f->nkv; i++)
		free(f->kv[i]);
	free(f->kv);
	free(f);
}

/* ---- the small accessors ---- */

int64_t ow_pq_num_rows(const ow_pq_file_t *f)
{
	return f->num_rows;
}

int ow_pq_num_row_groups(const ow_pq_file_t *f)
{
	return f->nrg;
}

int64_t ow_pq_row_group_rows(const ow_pq_file_t *f, int rg)
{
	return rg >= 0 && rg < f->nrg ? f->rgs[rg].rows : -1;
}

int ow_pq_num_columns(const ow_pq_file_t *f)
{
	return f->ncols;
}

const ow_pq_coldef_t *ow_pq_column(const ow_pq_file_t *f, int col)
{
	return col >= 0 && col < f->ncols ? &f->cols[col] : NULL;
}

int ow_pq_find_column(const ow_pq_file_t *f, const char *name)
{
	for (int i = 0; i < f->ncols; i++)
		if (strcmp(f->cols[i].name, name) == 0)
			return i;
	return -1;
}

const char *ow_pq_kv(const ow_pq_file_t *f, const char *key)
{
	for (int i = 0; i < f->nkv; i++)
		if (f->kv[2 * i] && strcmp(f->kv[2 * i], key) == 0)
			return f->kv[2 * i + 1] ? f->kv[2 * i + 1] : "";
	return NULL;
}

int ow_pq_stats(const ow_pq_file_t *f, int rg, int col, ow_pq_stats_t *st)
{
	if (rg < 0 || rg >= f->nrg || col < 0 || col >= f->ncols || !f->rgs[rg].cols[col].has_stats)
		return OW_ERROR;
	*st = f->rgs[rg].cols[col].st;
	return OW_OK;
}

void ow_pq_forget_stats(ow_pq_file_t *f, int col)
{
	for (int rg = 0; col >= 0 && col < f->ncols && rg < f->nrg; rg++)
		f->rgs[rg].cols[col].has_stats = 0;
}

/* The first byte of a chunk's pages: its dictionary page when it has one. */
static int64_t chunk_start(const ow_pq_rchunk_t *ch)
{
	return ch->dict_off > 0 && ch->dict_off < ch->data_off ? ch->dict_off : ch->data_off;
}

int ow_pq_chunk(const ow_pq_file_t *f, int rg, int col, ow_pq_chunk_t *ci)
{
	if (rg < 0 || rg >= f->nrg || col < 0 || col >= f->ncols)
		return OW_ERROR;
	const ow_pq_rchunk_t *ch = &f->rgs[rg].cols[col];
	ci->codec = ch->codec;
	ci->encodings = ch->encs;
	ci->offset = chunk_start(ch);
	ci->bytes = ch->tcs;
	ci->has_dict = ch->dict_off > 0;
	ci->has_bloom = ch->bloom_off >= 0;
	return OW_OK;
}

/* ---- bloom filters ---- */

int ow_pq_bloom_check(ow_pq_file_t *f, int rg, int col, const void *value, size_t len)
{
	if (rg < 0 || rg >= f->nrg || col < 0 || col >= f->ncols)
		return 1;
	const ow_pq_rchunk_t *ch = &f->rgs[rg].cols[col];
	size_t w = ow_pq_width(&f->cols[col]);
	if (w && len != w)
		return 0; /* no value of this column has that length */
	if (ch->bloom_off < 4 || (uint64_t)ch->bloom_off >= f->len)
		return 1;
	/* a filter we cannot read proves nothing: answer "maybe" */
	ow_pq_tr_t r;
	int last = 0, id, t, nbytes = 0, kinds = 0;
	ow_pq_tr_init(&r, f->data + ch->bloom_off, f->len - (size_t)ch->bloom_off);
	if (!ow_pq_tr_enter(&r))
		return 1;
	while ((t = ow_pq_tr_field(&r, &last, &id))) {
		if (id == 1 && t == OW_PQ_T_I32) {
			nbytes = ow_pq_tr_i32(&r);
			continue;
		}
		if (id >= 2 && id <= 4 && t == OW_PQ_T_STRUCT && ow_pq_tr_enter(&r)) {
			/* algorithm BLOCK, hash XXHASH, compression UNCOMPRESSED:
			 * field 1 of each union */
			int ul = 0, uid, ut;
			while ((ut = ow_pq_tr_field(&r, &ul, &uid))) {
				if (uid == 1 && ut == OW_PQ_T_STRUCT)
					kinds |= 1 << id;
				ow_pq_tr_skip(&r, ut, 0);
			}
			ow_pq_tr_leave(&r);
			continue;
		}
		ow_pq_tr_skip(&r, t, 0);
	}
	if (r.err || kinds != (1 << 2 | 1 << 3 | 1 << 4) || nbytes < 32 || nbytes % 32 ||
	    (size_t)nbytes > (size_t)(r.end - r.p))
		return 1;
	return ow_pq_bloom_find(r.p, (size_t)nbytes, ow_pq_xxh64(value, len));
}

/* ---- column chunks ---- */

/* What the pages read of a chunk have given, with codes asked for: nothing
 * yet, dictionary codes only, or values (then every page gives values). */
enum { GOT_NOTHING, GOT_CODES, GOT_VALUES };

typedef struct scratch scratch_t; /* below */

typedef struct {
	const ow_pq_coldef_t *d;
	char *err;
	size_t errlen;
	int codec;
	ow_buf_t page;		  /* a decompressed page */
	const uint8_t *dict_page; /* the chunk's dictionary page as stored (NULL: none) */
	size_t dict_csize;
	size_t dict_stored; /* its bytes in the file, header included */
	int64_t dict_usize;
	int dict_nv;
	ow_col_t *dict;	 /* its values, once a page needs them */
	int has_dict;	 /* dict holds them */
	int lent;	 /* dict is a chunkdict's entries, lent: only read */
	ow_buf_t *codes; /* codes asked for: where they go */
	int got;	 /* GOT_*; without codes, GOT_VALUES from the start */
	uint32_t *idx;	 /* definition levels, then dictionary indices or wanted values */
	size_t idx_cap;
	size_t ndef;	    /* the values of the pages read (a page skipped has none) */
	scratch_t *scratch; /* the thread's, or NULL */
	const uint8_t *sel; /* the rows wanted (NULL: all) */
	size_t row0;	    /* the row group's row of the page's first */
	int64_t stored;	    /* bytes of the pages read, as stored, headers included */
} ow_pq_rctx_t;

/* What a thread reads pages with, kept while the thread lives: a zstd
 * context (ZSTD_decompress would make, initialise and free one a page,
 * which for the few small pages of a selective query cost more than
 * decoding them), and the decompressed page and index buffers of the last
 * column it read, so the next column's pages land in memory already
 * mapped rather than in blocks the allocator maps, faults in and unmaps
 * every column (memory.mmap_threshold_bytes). */
struct scratch {
	ZSTD_DCtx *d;
	ow_buf_t page;
	uint32_t *idx;
	size_t idx_cap;
};

/* The buffers a thread keeps between columns, at most. */
#define SCRATCH_KEEP ((size_t)4 << 20)

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static int scratch_keyed;

static void scratch_free(void *arg)
{
	scratch_t *s = arg;
	ZSTD_freeDCtx(s->d);
	ow_buf_free(&s->page);
	free(s->idx);
	free(s);
}

static void scratch_init(void)
{
	scratch_keyed = pthread_key_create(&scratch_key, scratch_free) == 0;
}

/* NULL when none could be made (out of memory) */
static scratch_t *scratch(void)
{
	pthread_once(&scratch_once, scratch_init);
	if (!scratch_keyed)
		return NULL;
	scratch_t *s = pthread_getspecific(scratch_key);
	if (s)
		return s;
	if (!(s = calloc(1, sizeof(*s))))
		return NULL;
	if (!(s->d = ZSTD_createDCtx()) || pthread_setspecific(scratch_key, s) != 0) {
		ZSTD_freeDCtx(s->d);
		free(s);
		return NULL;
	}
	return s;
}

/* The uncompressed body of a page of csize bytes at p. */
static int page_body(ow_pq_rctx_t *x, const uint8_t *p, size_t csize, int64_t usize,
		     const uint8_t **body)
{
	if (usize < 0 || usize > OW_PQ_PAGE_MAX)
		return fail(x->err, x->errlen, "parquet: page of %lld bytes", (long long)usize);
	if (x->codec == CODEC_UNCOMPRESSED) {
		if ((size_t)usize != csize)
			return fail(x->err, x->errlen, "parquet: uncompressed page sizes disagree");
		*body = p;
		return OW_OK;
	}
	/* the frame states its size, the page's: a corrupt header must not
	 * make us allocate for nothing */
	unsigned long long fcs = ZSTD_getFrameContentSize(p, csize);
	if (fcs == ZSTD_CONTENTSIZE_ERROR || fcs == ZSTD_CONTENTSIZE_UNKNOWN ||
	    fcs != (unsigned long long)usize)
		return fail(x->err, x->errlen,
			    "parquet: zstd frame does not state its page's size");
	ow_buf_t *into = &x->page;
	into->len = 0;
	if (ow_buf_try_reserve(into, (size_t)usize + 1) != OW_OK)
		return fail(x->err, x->errlen, "parquet: page of %lld bytes: out of memory",
			    (long long)usize);
	if (!x->scratch)
		return fail(x->err, x->errlen, "parquet: no zstd context (out of memory)");
	size_t n = ZSTD_decompressDCtx(x->scratch->d, into->data, (size_t)usize, p, csize);
	if (ZSTD_isError(n) || n != (size_t)usize)
		return fail(x->err, x->errlen, "parquet: zstd: %s",
			    ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short page");
	into->len = n;
	*body = into->data;
	return OW_OK;
}

/* Decodes the dictionary page seen at the start of the chunk: done when
 * the first data page that uses it is read, so a chunk whose data pages
 * are all skipped costs no dictionary. */
static int load_dict(ow_pq_rctx_t *x)
{
	const uint8_t *body;
	if (page_body(x, x->dict_page, x->dict_csize, x->dict_usize, &body) != OW_OK)
		return OW_ERROR;
	if (ow_pq_plain_decode(body, (size_t)x->dict_usize, x->d, (size_t)x->dict_nv, NULL,
			       x->dict) != OW_OK)
		return fail(x->err, x->errlen, "parquet: column %s: dictionary does not decode",
			    x->d->name);
	x->dict->nvals = (size_t)x->dict_nv;
	x->has_dict = 1;
	x->stored += (int64_t)x->dict_stored;
	return OW_OK;
}

static uint32_t *idx_room(ow_pq_rctx_t *x, size_t n)
{
	if (x->idx_cap < n) {
		free(x->idx);
		x->idx_cap = n;
		x->idx = ow_alloc(n * sizeof(*x->idx));
	}
	return x->idx;
}

/* OW_OK if every index idx[0..n) names a dictionary entry. */
static int check_indices(ow_pq_rctx_t *x, const uint32_t *idx, size_t n)
{
	uint32_t hi = 0;
	for (size_t k = 0; k < n; k++)
		hi = idx[k] > hi ? idx[k] : hi;
	if (n && hi >= x->dict->nvals)
		return fail(x->err, x->errlen, "parquet: dictionary index %u past %zu entries", hi,
			    x->dict->nvals);
	return OW_OK;
}

/* Appends the dictionary entries numbered idx[0..n) to out; with defs
 * (the page's definition bytes) and x->sel, the text of a value whose row
 * sel does not want is left empty, as PLAIN's is (a resource's
 * attributes, ~1.3 KB, are not copied into the 32768 rows of a page read
 * for one of them). */
static int gather_dict(ow_pq_rctx_t *x, const uint32_t *idx, size_t n, const uint8_t *defs,
		       ow_col_t *out)
{
	size_t w = ow_pq_width(x->d);
	if (check_indices(x, idx, n) != OW_OK)
		return OW_ERROR;
	if (w) {
		ow_buf_reserve(&out->fixed, n * w);
		uint8_t *o = out->fixed.data + out->fixed.len;
		for (size_t k = 0; k < n; k++)
			memcpy(o + k * w, x->dict->fixed.data + (size_t)idx[k] * w, w);
		out->fixed.len += n * w;
		return OW_OK;
	}
	ow_buf_reserve(&out->offs, n * 4);
	for (size_t k = 0, row = 0; k < n; k++) {
		size_t len = 0;
		const uint8_t *v = NULL;
		int want = 1;
		if (defs && x->sel) {
			while (!defs[row])
				row++;
			want = x->sel[x->row0 + row++];
		}
		if (want)
			v = ow_col_bytes_at(x->dict, idx[k], &len);
		if (out->data.len + len > UINT32_MAX)
			return fail(x->err, x->errlen, "parquet: more than 4 GiB of values");
		if (len)
			ow_buf_add(&out->data, v, len);
		uint32_t e = (uint32_t)out->data.len;
		memcpy(out->offs.data + out->offs.len, &e, 4);
		out->offs.len += 4;
	}
	return OW_OK;
}

/* A page of values after pages of codes (a writer that gave up its
 * dictionary within the chunk): the codes so far become values too, and
 * they are the first values of the chunk in out, so they go in order. */
static int codes_to_values(ow_pq_rctx_t *x, ow_col_t *out)
{
	ow_buf_t *c = x->codes;
	x->got = GOT_VALUES;
	int rc = gather_dict(x, (const uint32_t *)(void *)c->data, c->len / 4, NULL, out);
	c->len = 0;
	return rc;
}

static int is_dict_enc(int enc)
{
	return enc == OW_PQ_E_PLAIN_DICTIONARY || enc == OW_PQ_E_RLE_DICTIONARY;
}

static int data_page(ow_pq_rctx_t *x, const uint8_t *p, size_t len, size_t nv, int enc, int dl_enc,
		     ow_col_t *out)
{
	const uint8_t *end = p + len;
	size_t ndef = nv;
	ow_buf_reserve(&out->defs, nv + 1);
	uint8_t *defs = out->defs.data + out->defs.len;
	if (x->d->optional) {
		if (dl_enc != OW_PQ_E_RLE)
			return fail(x->err, x->errlen, "parquet: definition levels in encoding %d",
				    dl_enc);
		if (len < 4 || ow_get_u32(p) > len - 4)
			return fail(x->err, x->errlen, "parquet: definition levels past the page");
		size_t l = ow_get_u32(p);
		uint32_t *lv = idx_room(x, nv);
		if (ow_pq_rle_decode(p + 4, l, 1, lv, nv) != OW_OK)
			return fail(x->err, x->errlen, "parquet: definition levels do not decode");
		ndef = 0;
		for (size_t i = 0; i < nv; i++) {
			defs[i] = (uint8_t)lv[i];
			ndef += lv[i];
		}
		p += 4 + l;
	} else {
		memset(defs, 1, nv);
	}
	out->defs.len += nv;
	x->ndef += ndef;
	if (!ndef)
		return OW_OK;
	if (x->got == GOT_NOTHING)
		x->got = is_dict_enc(enc) ? GOT_CODES : GOT_VALUES;
	else if (x->got == GOT_CODES && !is_dict_enc(enc) && codes_to_values(x, out) != OW_OK)
		return OW_ERROR;
	switch (enc) {
	case OW_PQ_E_PLAIN: {
		/* text of rows not wanted is left out (a trace lookup reads a
		 * page of attributes for a row or two) */
		uint8_t *want = NULL;
		if (x->sel && x->d->type == OW_PQ_BYTE_ARRAY) {
			want = (uint8_t *)idx_room(x, ndef / 4 + 1);
			for (size_t i = 0, k = 0; i < nv; i++)
				if (defs[i])
					want[k++] = x->sel[x->row0 + i];
		}
		if (ow_pq_plain_decode(p, (size_t)(end - p), x->d, ndef, want, out) != OW_OK)
			return fail(x->err, x->errlen, "parquet: PLAIN values do not decode");
		return OW_OK;
	}
	case OW_PQ_E_PLAIN_DICTIONARY:
	case OW_PQ_E_RLE_DICTIONARY: {
		if (!x->has_dict)
			return fail(x->err, x->errlen, "parquet: dictionary page missing");
		if (p >= end)
			return fail(x->err, x->errlen, "parquet: dictionary indices missing");
		int bw = *p++;
		uint32_t *ix;
		if (x->got == GOT_CODES) {
			/* decoded in place: the buffer's data is malloc'd, its
			 * length a multiple of 4 */
			ow_buf_reserve(x->codes, ndef * 4);
			ix = (uint32_t *)(void *)(x->codes->data + x->codes->len);
		} else {
			ix = idx_room(x, ndef);
		}
		if (ow_pq_rle_decode(p, (size_t)(end - p), bw, ix, ndef) != OW_OK)
			return fail(x->err, x->errlen, "parquet: dictionary indices do not decode");
		if (x->got != GOT_CODES)
			return gather_dict(x, ix, ndef, defs, out);
		if (check_indices(x, ix, ndef) != OW_OK)
			return OW_ERROR;
		x->codes->len += ndef * 4;
		return OW_OK;
	}
	case OW_PQ_E_DELTA_BINARY_PACKED:
		if (x->d->type != OW_PQ_INT32 && x->d->type != OW_PQ_INT64)
			return fail(x->err, x->errlen, "parquet: DELTA_BINARY_PACKED on type %d",
				    x->d->type);
		if (ow_pq_delta_decode(p, (size_t)(end - p), x->d->type == OW_PQ_INT32, ndef,
				       out) != OW_OK)
			return fail(x->err, x->errlen,
				    "parquet: DELTA_BINARY_PACKED does not decode");
		return OW_OK;
	default:
		return fail(x->err, x->errlen, "parquet: encoding %d not supported", enc);
	}
}

typedef struct {
	int type, nv, enc, dl_enc;
	int64_t usize, csize;
	int has_stats; /* a data page's statistics, when its header has them */
	ow_pq_stats_t st;
} ow_pq_page_t;

static int page_header(ow_pq_tr_t *r, ow_pq_page_t *pg)
{
	int last = 0, id, t;
	pg->type = pg->nv = pg->enc = pg->dl_enc = -1;
	pg->usize = pg->csize = -1;
	pg->has_stats = 0;
	if (!ow_pq_tr_enter(r))
		return OW_ERROR;
	while ((t = ow_pq_tr_field(r, &last, &id))) {
		if (id == 1 && t == OW_PQ_T_I32) {
			pg->type = ow_pq_tr_i32(r);
		} else if (id == 2 && t == OW_PQ_T_I32) {
			pg->usize = ow_pq_tr_i32(r);
		} else if (id == 3 && t == OW_PQ_T_I32) {
			pg->csize = ow_pq_tr_i32(r);
		} else if ((id == 5 || id == 7) && t == OW_PQ_T_STRUCT && ow_pq_tr_enter(r)) {
			/* DataPageHeader or DictionaryPageHeader: num_values,
			 * encoding, and for data the definition level encoding */
			int hl = 0, hid, ht;
			while ((ht = ow_pq_tr_field(r, &hl, &hid))) {
				if (hid == 1 && ht == OW_PQ_T_I32)
					pg->nv = ow_pq_tr_i32(r);
				else if (hid == 2 && ht == OW_PQ_T_I32)
					pg->enc = ow_pq_tr_i32(r);
				else if (hid == 3 && ht == OW_PQ_T_I32 && id == 5)
					pg->dl_enc = ow_pq_tr_i32(r);
				else if (hid == 5 && ht == OW_PQ_T_STRUCT && id == 5)
					read_stats(r, &pg->st), pg->has_stats = 1;
				else
					ow_pq_tr_skip(r, ht, 0);
			}
			ow_pq_tr_leave(r);
		} else {
			ow_pq_tr_skip(r, t, 0);
		}
	}
	ow_pq_tr_leave(r);
	return r->err || pg->type < 0 || pg->usize < 0 || pg->csize < 0 ? OW_ERROR : OW_OK;
}

/* The header of the page at *p (a chunk's pages end at end) into pg,
 * and *p moved to its body, which must end by end. */
static int next_page(const uint8_t **p, const uint8_t *end, ow_pq_page_t *pg)
{
	ow_pq_tr_t r;
	if (*p >= end)
		return OW_ERROR;
	ow_pq_tr_init(&r, *p, (size_t)(end - *p));
	if (page_header(&r, pg) != OW_OK || pg->csize > r.end - r.p)
		return OW_ERROR;
	*p = r.p;
	return OW_OK;
}

/* A chunk's pages: [*p, *end) of the file, OW_ERROR when that is not
 * inside it. */
static int chunk_pages(const ow_pq_file_t *f, const ow_pq_rchunk_t *ch, const uint8_t **p,
		       const uint8_t **end)
{
	int64_t start = chunk_start(ch);
	if (start < 4 || (uint64_t)start > f->len || ch->tcs < 0 ||
	    (uint64_t)ch->tcs > f->len - (uint64_t)start)
		return OW_ERROR;
	*p = f->data + start;
	*end = *p + ch->tcs;
	return OW_OK;
}

int ow_pq_page_stats(const ow_pq_file_t *f, int rg, int col, ow_pq_pagestat_t **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (rg < 0 || rg >= f->nrg || col < 0 || col >= f->ncols || !f->rgs[rg].cols[col].has_stats)
		return OW_ERROR;
	const ow_pq_rchunk_t *ch = &f->rgs[rg].cols[col];
	const uint8_t *p, *end;
	if (chunk_pages(f, ch, &p, &end) != OW_OK)
		return OW_ERROR;
	size_t cap = 0;
	int64_t rows = 0;
	while (rows < ch->num_values) {
		ow_pq_page_t pg;
		if (next_page(&p, end, &pg) != OW_OK)
			break;
		p += pg.csize;
		if (pg.type != PAGE_DATA)
			continue;
		if (!pg.has_stats || pg.nv <= 0 || pg.nv > ch->num_values - rows)
			break;
		if (*n == cap)
			*out = ow_realloc(*out, (cap = cap ? 2 * cap : 8) * sizeof(**out));
		(*out)[(*n)++] = (ow_pq_pagestat_t){(size_t)rows, pg.nv, pg.st};
		rows += pg.nv;
	}
	if (rows == ch->num_values && rows == f->rgs[rg].rows)
		return OW_OK;
	free(*out);
	*out = NULL;
	*n = 0;
	return OW_ERROR;
}

/* Whether any of the n bytes at p is not zero. */
static int any_set(const uint8_t *p, size_t n)
{
	size_t i = 0;
	for (; i + 32 <= n; i += 32) {
		uint64_t w[4];
		memcpy(w, p + i, 32);
		if (w[0] | w[1] | w[2] | w[3])
			return 1;
	}
	for (; i < n; i++)
		if (p[i])
			return 1;
	return 0;
}

static int read_chunk(ow_pq_rctx_t *x, const ow_pq_file_t *f, int g, int col, const uint8_t *sel,
		      const ow_pq_pagefilter_t *pf, ow_col_t *out)
{
	const ow_pq_rchunk_t *ch = &f->rgs[g].cols[col];
	x->codec = ch->codec;
	if (ch->codec != CODEC_UNCOMPRESSED && ch->codec != CODEC_ZSTD)
		return fail(x->err, x->errlen, "parquet: column %s: codec %d not supported",
			    x->d->name, ch->codec);
	const uint8_t *p, *end;
	if (chunk_pages(f, ch, &p, &end) != OW_OK)
		return fail(x->err, x->errlen, "parquet: column %s: chunk lies outside the file",
			    x->d->name);
	int64_t left = ch->num_values;
	uint32_t dict_encs =
	    UINT32_C(1) << OW_PQ_E_PLAIN_DICTIONARY | UINT32_C(1) << OW_PQ_E_RLE_DICTIONARY;
	if (x->d->type == OW_PQ_BYTE_ARRAY && !(ch->encs & dict_encs) && ch->tus > 0) {
		/* the values' bytes, at most its pages': room at once, not by
		 * doubling and copying (a footer that overstates it costs
		 * address space, not memory, and no more than 256 MiB of it;
		 * no bound by the compressed size: JSON attributes compress
		 * 70 to 1); for some rows (sel), their share, as only their
		 * values are copied */
		double share = 1;
		if (sel && f->rgs[g].rows > 0)
			share = (double)ow_count_ones(sel, (size_t)f->rgs[g].rows) /
				(double)f->rgs[g].rows;
		ow_buf_reserve(&out->data, (size_t)OW_MIN((int64_t)((double)ch->tus * share) + 1,
							  (int64_t)256 << 20));
	}
	x->dict_page = NULL;
	x->has_dict = x->lent;
	if (!x->lent)
		ow_col_clear(x->dict);
	while (left > 0) {
		ow_pq_page_t pg;
		const uint8_t *body, *head = p;
		if (next_page(&p, end, &pg) != OW_OK)
			return fail(x->err, x->errlen,
				    "parquet: column %s: bad page header at %lld", x->d->name,
				    (long long)(p - f->data));
		if (pg.nv > 0 && pg.nv / PER_BYTE > (p - head) + pg.csize)
			return fail(
			    x->err, x->errlen,
			    "parquet: column %s: a page of %d values cannot be in %lld bytes",
			    x->d->name, pg.nv, (long long)((p - head) + pg.csize));
		if (pg.type == PAGE_DICT) {
			if (x->dict_page || left != ch->num_values || pg.nv < 0 ||
			    (pg.enc != OW_PQ_E_PLAIN && pg.enc != OW_PQ_E_PLAIN_DICTIONARY) ||
			    x->d->type == OW_PQ_BOOLEAN)
				return fail(x->err, x->errlen,
					    "parquet: column %s: unexpected dictionary page",
					    x->d->name);
			x->dict_page = p;
			x->dict_csize = (size_t)pg.csize;
			x->dict_stored = (size_t)(p - head) + (size_t)pg.csize;
			x->dict_usize = pg.usize;
			x->dict_nv = pg.nv;
		} else if (pg.type == PAGE_DATA) {
			if (pg.nv < 0 || pg.nv > left)
				return fail(x->err, x->errlen,
					    "parquet: column %s: page of %d values, %lld left",
					    x->d->name, pg.nv, (long long)left);
			size_t nv = (size_t)pg.nv, row0 = (size_t)(ch->num_values - left);
			int skip = sel && !any_set(sel + row0, nv);
			int may =
			    !skip && pf && pg.has_stats ? pf->may(pf->arg, &pg.st, pg.nv, row0) : 1;
			if (may != 1) {
				/* its statistics decide the filter: no row of it
				 * passes (0), or every row does (2) */
				skip = 1;
				if (!may)
					memset(pf->sel + row0, 0, nv);
			}
			if (skip) {
				/* no row wanted: its rows are NULL, its body unread */
				ow_buf_reserve(&out->defs, nv + 1);
				memset(out->defs.data + out->defs.len, 0, nv);
				out->defs.len += nv;
			} else {
				if (is_dict_enc(pg.enc) && x->dict_page && !x->has_dict &&
				    load_dict(x) != OW_OK)
					return OW_ERROR;
				size_t from = x->d->type == OW_PQ_BYTE_ARRAY ? out->offs.len / 4
									     : out->fixed.len;
				x->sel = sel;
				x->row0 = row0;
				if (page_body(x, p, (size_t)pg.csize, pg.usize, &body) != OW_OK ||
				    data_page(x, body, (size_t)pg.usize, nv, pg.enc, pg.dl_enc,
					      out) != OW_OK)
					return OW_ERROR;
				x->stored += (p - head) + pg.csize;
				if (pf && pf->got && x->got == GOT_VALUES)
					pf->got(pf->arg, out,
						x->d->type == OW_PQ_BYTE_ARRAY
						    ? from
						    : from / ow_pq_width(x->d));
			}
			out->nrows += nv;
			left -= pg.nv;
		} else {
			return fail(x->err, x->errlen,
				    "parquet: column %s: page type %d not supported", x->d->name,
				    pg.type);
		}
		p += pg.csize;
	}
	return OW_OK;
}

static void codes_reset(ow_pq_codes_t *c)
{
	ow_col_clear(&c->dict);
	c->codes.len = 0;
	c->has_codes = 0;
}

int ow_pq_read_column_ex(ow_pq_file_t *f, int rg, int col, const uint8_t *sel, ow_col_t *out,
			 ow_pq_codes_t *codes, char *err, size_t errlen)
{
	return ow_pq_read_column_pf(f, rg, col, sel, NULL, out, codes, NULL, NULL, err, errlen);
}

int ow_pq_read_column_pf(ow_pq_file_t *f, int rg, int col, const uint8_t *sel,
			 const ow_pq_pagefilter_t *pf, ow_col_t *out, ow_pq_codes_t *codes,
			 ow_pq_chunkdict_t *cd, int64_t *stored, char *err, size_t errlen)
{
	if (codes)
		codes_reset(codes);
	if (col < 0 || col >= f->ncols || rg < -1 || rg >= f->nrg)
		return fail(err, errlen, "parquet: no row group %d, column %d", rg, col);
	if (rg < 0 && (sel || codes || pf || cd))
		return fail(err, errlen, "parquet: sel and codes need one row group, not %d", rg);
	ow_col_t dict = {0};
	if (codes)
		cd = NULL;
	int lent = cd && cd->has && cd->rg == rg && cd->col == col;
	ow_pq_rctx_t x = {
	    .d = &f->cols[col],
	    .err = err,
	    .errlen = errlen,
	    .dict = codes  ? &codes->dict
		    : lent ? &cd->entries
			   : &dict,
	    .lent = lent,
	    .codes = codes ? &codes->codes : NULL,
	    .got = codes ? GOT_NOTHING : GOT_VALUES,
	    .scratch = scratch(),
	};
	if (x.scratch) {
		x.page = x.scratch->page;
		x.idx = x.scratch->idx;
		x.idx_cap = x.scratch->idx_cap;
	}
	/* on error, out is left as it was */
	size_t lens[4] = {out->fixed.len, out->data.len, out->offs.len, out->defs.len};
	size_t nrows = out->nrows, nvals = out->nvals;
	int rc = OW_OK;
	for (int g = rg < 0 ? 0 : rg; g < (rg < 0 ? f->nrg : rg + 1) && rc == OW_OK; g++)
		rc = read_chunk(&x, f, g, col, sel, pf, out);
	if (rc == OW_OK) {
		out->nvals += x.ndef;
		if (stored)
			*stored += x.stored;
		if (cd && !lent && x.has_dict) { /* decoded here: kept for the next read */
			ow_col_free(&cd->entries);
			cd->entries = dict;
			dict = (ow_col_t){0};
			cd->rg = rg;
			cd->col = col;
			cd->has = 1;
		}
	} else {
		out->fixed.len = lens[0];
		out->data.len = lens[1];
		out->offs.len = lens[2];
		out->defs.len = lens[3];
		out->nrows = nrows;
		out->nvals = nvals;
	}
	if (codes) {
		if (rc == OW_OK && x.got == GOT_CODES)
			codes->has_codes = 1;
		else
			codes_reset(codes);
	}
	ow_col_free(&dict);
	/* the buffers back to the thread, unless too large to keep */
	if (!x.scratch || x.page.cap > SCRATCH_KEEP || x.idx_cap * sizeof(*x.idx) > SCRATCH_KEEP) {
		ow_buf_free(&x.page);
		free(x.idx);
		x.idx = NULL;
		x.idx_cap = 0;
	}
	if (x.scratch) {
		x.scratch->page = x.page;
		x.scratch->idx = x.idx;
		x.scratch->idx_cap = x.idx_cap;
	}
	return rc;
}

int ow_pq_read_column(ow_pq_file_t *f, int rg, int col, ow_col_t *out, char *err, size_t errlen)
{
	return ow_pq_read_column_ex(f, rg, col, NULL, out, NULL, err, errlen);
}

void ow_pq_codes_free(ow_pq_codes_t *c)
{
	ow_col_free(&c->dict);
	ow_buf_free(&c->codes);
	memset(c, 0, sizeof(*c));
}

/* ---- files ---- */

int ow_pq_read_file(const char *path, ow_buf_t *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return OW_ERROR;
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return OW_ERROR;
	}
	out->len = 0;
	ow_buf_reserve(out, (size_t)st.st_size + 1);
	for (;;) {
		ow_buf_reserve(out, 65536);
		ssize_t n = read(fd, out->data + out->len, out->cap - out->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			errno = e;
			return OW_ERROR;
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
	}
	close(fd);
	return OW_OK;
}

/* parquet: our writer and reader round-trip every type, logical type,
 * encoding and optionality, in any row order and row-group size;
 * statistics and bloom filters are right; a truncated or corrupt file is an
 * error, never a crash (run it under ASan). With OW_PQ_SAMPLE_DIR set it
 * also writes sample files and the rows they hold (expected.json) for
 * t/15parquet-duckdb.t, which reads them with DuckDB and hyparquet. */
#include "../lib/tap.h"
#include "modules/parquet/encode.h"
#include "modules/parquet/parquet.h"
#include "modules/parquet/thrift.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <unistd.h>
#include <zstd.h>

/* ---- deterministic data ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static uint64_t mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdu;
	k ^= k >> 33;
	return k;
}

static const char *str_special[] = {"", "a", "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93",
				    "tab\tquote\"back\\slash\nnl", "\x01\x1f"};
static const char *json_special[] = {"{}", "[]", "null", "{\"k\":\"v\",\"n\":[1,2.5,true]}",
				     "\"str\""};

/* Writes value k of a column's type into out (PLAIN bytes); returns its
 * length. Small k are the type's edge values, so every column gets them. */
static size_t value(const ow_pq_coldef_t *d, uint64_t k, uint8_t *out)
{
	int32_t i32;
	int64_t i64;
	double f;
	switch (d->type) {
	case OW_PQ_BOOLEAN:
		out[0] = k & 1;
		return 1;
	case OW_PQ_INT32:
		switch (d->logical) {
		case OW_PQ_L_UINT8: {
			static const int32_t s[] = {0, 255, 1, 128};
			i32 = k < 4 ? s[k] : (int32_t)(k % 256);
			break;
		}
		case OW_PQ_L_UINT32: {
			static const uint32_t s[] = {0, UINT32_MAX, 0x80000000u, 0x7fffffffu};
			i32 = (int32_t)(k < 4 ? s[k] : (uint32_t)mix(k));
			break;
		}
		case OW_PQ_L_INT8: {
			static const int32_t s[] = {-128, 127, 0, -1};
			i32 = k < 4 ? s[k] : (int8_t)mix(k);
			break;
		}
		case OW_PQ_L_INT16: {
			static const int32_t s[] = {-32768, 32767, 0, -1};
			i32 = k < 4 ? s[k] : (int16_t)mix(k);
			break;
		}
		default: {
			static const int32_t s[] = {INT32_MIN, INT32_MAX, 0, -1};
			i32 = k < 4 ? s[k] : (int32_t)mix(k);
		}
		}
		memcpy(out, &i32, 4);
		return 4;
	case OW_PQ_INT64:
		if (d->logical == OW_PQ_L_TIMESTAMP_NS) {
			static const int64_t s[] = {0, 1700000000123456789, -1, -86400000000001};
			i64 = k < 4 ? s[k]
				    : 1700000000000000000 + (int64_t)(mix(k) % 100000000000000);
		} else if (d->logical == OW_PQ_L_UINT64) {
			static const uint64_t s[] = {0, UINT64_MAX, 1ull << 63, 1};
			i64 = (int64_t)(k < 4 ? s[k] : mix(k));
		} else {
			static const int64_t s[] = {INT64_MIN, INT64_MAX, 0, -1};
			i64 = k < 4 ? s[k] : (int64_t)mix(k);
		}
		memcpy(out, &i64, 8);
		return 8;
	case OW_PQ_DOUBLE: {
		static const double s[] = {NAN, INFINITY, -INFINITY, -0.0,  0.0,
					   1.5, -2.25,	  1e308,     5e-324};
		f = k < 9 ? s[k] : (double)((int64_t)(mix(k) % 2000001) - 1000000) / 8;
		memcpy(out, &f, 8);
		return 8;
	}
	case OW_PQ_FIXED:
		for (int i = 0; i < d->fixed_len; i++)
			out[i] = k == 0	  ? 0
				 : k == 1 ? 0xff
				 : k == 2 ? (i ? 0 : 0x80)
					  : (uint8_t)mix(k * 131 + (uint64_t)i);
		return (size_t)d->fixed_len;
	default:
		if (d->logical == OW_PQ_L_STRING && k < 5) {
			memcpy(out, str_special[k], strlen(str_special[k]));
			return strlen(str_special[k]);
		}
		if (d->logical == OW_PQ_L_STRING)
			return (size_t)sprintf((char *)out, "s-%llu", (unsigned long long)mix(k));
		if (d->logical == OW_PQ_L_JSON && k < 5) {
			memcpy(out, json_special[k], strlen(json_special[k]));
			return strlen(json_special[k]);
		}
		if (d->logical == OW_PQ_L_JSON)
			return (size_t)sprintf((char *)out, "{\"id\":%llu}",
					       (unsigned long long)(mix(k) >> 12));
		if (k == 0)
			return 0;
		if (k == 1) {
			out[0] = 0;
			return 1;
		}
		size_t n = 1 + mix(k) % 24;
		for (size_t i = 0; i < n; i++)
			out[i] = (uint8_t)mix(k * 977 + i);
		return n;
	}
}

static void append(ow_col_t *c, const ow_pq_coldef_t *d, uint64_t k)
{
	uint8_t v[64];
	size_t n = value(d, k, v);
	if (d->type == OW_PQ_BYTE_ARRAY)
		ow_col_bytes(c, v, n);
	else
		ow_col_fixed(c, v, n);
}

/* nrows rows in the first ncols columns: 1 in 5 null in optional columns, else 10% edge values,
 * pool percent from a pool of card values, the rest fresh. */
static void fill(ow_table_t *t, int ncols, size_t nrows, int pool, uint64_t card)
{
	for (int col = 0; col < ncols; col++) {
		const ow_pq_coldef_t *d = &t->defs[col];
		for (size_t r = 0; r < nrows; r++) {
			uint64_t x = rnd() % 100;
			if (d->optional && rnd() % 5 == 0)
				ow_col_null(&t->cols[col]);
			else if (x < 10)
				append(&t->cols[col], d, x % 9);
			else if (x < 10 + (uint64_t)pool)
				append(&t->cols[col], d, 1000 + rnd() % card);
			else
				append(&t->cols[col], d, 1000000 + rnd());
		}
	}
	t->nrows += nrows;
}

/* ---- helpers ---- */

static char err[256];

/* Writes t to a file and reads the file back into img. */
static int write_img(const ow_table_t *t, const uint32_t *perm, const ow_pq_opts_t *o,
		     ow_buf_t *img)
{
	char path[] = "/tmp/openwit-pq-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return OW_ERROR;
	unlink(path);
	int rc = ow_pq_write(fd, t, perm, o, err, sizeof(err));
	if (rc == OW_OK) {
		off_t n = lseek(fd, 0, SEEK_END);
		img->len = 0;
		ow_buf_reserve(img, (size_t)n + 1);
		if (pread(fd, img->data, (size_t)n, 0) != n)
			rc = OW_ERROR;
		img->len = (size_t)n;
	}
	close(fd);
	return rc;
}

/* Value index of each row of c (rows without a value get the next one). */
static uint32_t *value_index(const ow_col_t *c)
{
	uint32_t *ix = malloc(c->nrows * sizeof(*ix) + 1), vi = 0;
	for (size_t r = 0; r < c->nrows; r++) {
		ix[r] = vi;
		vi += c->defs.data[r] != 0;
	}
	return ix;
}

static const uint8_t *row_value(const ow_pq_coldef_t *d, const ow_col_t *c, const uint32_t *ix,
				size_t row, size_t *len)
{
	if (!c->defs.data[row])
		return NULL;
	return ow_pq_value(c, ow_pq_width(d), ix[row], len);
}

/* Whether column got holds rows [r0, r0 + n) of src in output order. */
static int same_rows(const ow_pq_coldef_t *d, const ow_col_t *src, const uint32_t *perm, size_t r0,
		     size_t n, const ow_col_t *got, char *why, size_t whylen)
{
	if (got->nrows != n) {
		snprintf(why, whylen, "%zu rows, want %zu", got->nrows, n);
		return 0;
	}
	uint32_t *a = value_index(src), *b = value_index(got);
	int ok = 1;
	for (size_t i = 0; i < n && ok; i++) {
		size_t row = perm ? perm[r0 + i] : r0 + i, la = 0, lb = 0;
		const uint8_t *va = row_value(d, src, a, row, &la),
			      *vb = row_value(d, got, b, i, &lb);
		if (!va != !vb || la != lb || (va && la && memcmp(va, vb, la) != 0)) {
			snprintf(why, whylen, "row %zu differs", i);
			ok = 0;
		}
	}
	free(a);
	free(b);
	return ok;
}

/* The order statistics must use: -1, 0, 1. */
static int cmp(const ow_pq_coldef_t *d, const uint8_t *a, size_t la, const uint8_t *b, size_t lb)
{
	if (d->type == OW_PQ_INT32 || d->type == OW_PQ_INT64) {
		int64_t x = 0, y = 0;
		memcpy(&x, a, la);
		memcpy(&y, b, lb);
		int uns = d->logical == OW_PQ_L_UINT8 || d->logical == OW_PQ_L_UINT32 ||
			  d->logical == OW_PQ_L_UINT64;
		if (d->type == OW_PQ_INT32) {
			x = uns ? (int64_t)(uint32_t)x : (int32_t)x;
			y = uns ? (int64_t)(uint32_t)y : (int32_t)y;
			return x < y ? -1 : x > y;
		}
		if (uns)
			return (uint64_t)x < (uint64_t)y ? -1 : (uint64_t)x > (uint64_t)y;
		return x < y ? -1 : x > y;
	}
	if (d->type == OW_PQ_DOUBLE) {
		double x, y;
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		return x < y ? -1 : x > y;
	}
	if (d->type == OW_PQ_BOOLEAN)
		return (*a != 0) - (*b != 0);
	int c = memcmp(a, b, OW_MIN(la, lb));
	return c ? (c < 0 ? -1 : 1) : (la < lb ? -1 : la > lb);
}

/* Statistics of rows [r0, r0 + n) computed the slow way, against the file. */
static int stats_right(const ow_pq_coldef_t *d, const ow_col_t *src, const uint32_t *perm,
		       size_t r0, size_t n, const ow_pq_stats_t *st)
{
	uint32_t *ix = value_index(src);
	const uint8_t *mn = NULL, *mx = NULL;
	size_t lmn = 0, lmx = 0;
	int64_t nulls = 0;
	for (size_t i = 0; i < n; i++) {
		size_t row = perm ? perm[r0 + i] : r0 + i, len;
		const uint8_t *v = row_value(d, src, ix, row, &len);
		if (!v) {
			nulls++;
			continue;
		}
		if (d->type == OW_PQ_DOUBLE) {
			double x;
			memcpy(&x, v, 8);
			if (isnan(x))
				continue;
		}
		if (!mn || cmp(d, v, len, mn, lmn) < 0)
			mn = v, lmn = len;
		if (!mx || cmp(d, v, len, mx, lmx) > 0)
			mx = v, lmx = len;
	}
	free(ix);
	if (st->null_count != nulls || st->has_minmax != (mn != NULL))
		return 0;
	if (!mn)
		return 1;
	if (st->min_len != (d->type == OW_PQ_BOOLEAN ? 1 : lmn) ||
	    st->max_len != (d->type == OW_PQ_BOOLEAN ? 1 : lmx))
		return 0;
	if (cmp(d, st->min, st->min_len, mn, lmn) != 0 ||
	    cmp(d, st->max, st->max_len, mx, lmx) != 0)
		return 0;
	if (d->type == OW_PQ_DOUBLE) {
		/* zero bounds: -0.0 for min, +0.0 for max */
		double lo, hi;
		memcpy(&lo, st->min, 8);
		memcpy(&hi, st->max, 8);
		if ((lo == 0 && !signbit(lo)) || (hi == 0 && signbit(hi)))
			return 0;
	}
	return 1;
}

/* Every column in every row group: values, statistics; then all row groups
 * at once. Returns the number of failures, with a diagnostic. */
static int check_file(const ow_buf_t *img, const ow_table_t *t, const uint32_t *perm, size_t per)
{
	ow_pq_file_t *f;
	int bad = 0;
	char why[128];
	if (ow_pq_open(img->data, img->len, &f, err, sizeof(err)) != OW_OK) {
		printf("# open: %s\n", err);
		return 1;
	}
	size_t nrg = t->nrows ? (t->nrows + per - 1) / per : 0;
	if (ow_pq_num_rows(f) != (int64_t)t->nrows || ow_pq_num_row_groups(f) != (int)nrg ||
	    ow_pq_num_columns(f) != t->ncols) {
		printf("# shape: %lld rows, %d groups, %d columns\n", (long long)ow_pq_num_rows(f),
		       ow_pq_num_row_groups(f), ow_pq_num_columns(f));
		bad++;
	}
	for (int c = 0; c < t->ncols && !bad; c++) {
		const ow_pq_coldef_t *d = &t->defs[c], *rd = ow_pq_column(f, c);
		if (strcmp(rd->name, d->name) || rd->type != d->type || rd->logical != d->logical ||
		    rd->optional != d->optional || (nrg && rd->bloom != d->bloom) ||
		    (d->type == OW_PQ_FIXED && rd->fixed_len != d->fixed_len) ||
		    ow_pq_find_column(f, d->name) != c) {
			printf("# column %s: schema does not read back\n", d->name);
			bad++;
		}
		for (size_t g = 0; g < nrg; g++) {
			size_t r0 = g * per, n = OW_MIN(per, t->nrows - r0);
			ow_col_t got = {0};
			ow_pq_stats_t st;
			if (ow_pq_read_column(f, (int)g, c, &got, err, sizeof(err)) != OW_OK) {
				printf("# %s rg %zu: %s\n", d->name, g, err);
				bad++;
			} else if (!same_rows(d, &t->cols[c], perm, r0, n, &got, why,
					      sizeof(why))) {
				printf("# %s rg %zu: %s\n", d->name, g, why);
				bad++;
			}
			if (ow_pq_stats(f, (int)g, c, &st) != OW_OK ||
			    !stats_right(d, &t->cols[c], perm, r0, n, &st)) {
				printf("# %s rg %zu: statistics are wrong\n", d->name, g);
				bad++;
			}
			ow_col_free(&got);
		}
		ow_col_t all = {0};
		if (ow_pq_read_column(f, -1, c, &all, err, sizeof(err)) != OW_OK) {
			printf("# %s all row groups: %s\n", d->name, err);
			bad++;
		} else if (!same_rows(d, &t->cols[c], perm, 0, t->nrows, &all, why, sizeof(why))) {
			printf("# %s all row groups: %s\n", d->name, why);
			bad++;
		}
		ow_col_free(&all);
	}
	ow_pq_close(f);
	return bad;
}

/* ---- the schema of every combination ---- */

typedef struct {
	int type, logical, fixed_len;
	const char *tag;
} ow_pq_kind_t;

static const ow_pq_kind_t kinds[] = {
    {OW_PQ_BOOLEAN, OW_PQ_L_NONE, 0, "bool"},	 {OW_PQ_INT32, OW_PQ_L_NONE, 0, "i32"},
    {OW_PQ_INT32, OW_PQ_L_UINT8, 0, "u8"},	 {OW_PQ_INT32, OW_PQ_L_UINT32, 0, "u32"},
    {OW_PQ_INT32, OW_PQ_L_INT8, 0, "i8"},	 {OW_PQ_INT32, OW_PQ_L_INT16, 0, "i16"},
    {OW_PQ_INT64, OW_PQ_L_NONE, 0, "i64"},	 {OW_PQ_INT64, OW_PQ_L_TIMESTAMP_NS, 0, "ts"},
    {OW_PQ_INT64, OW_PQ_L_UINT64, 0, "u64"},	 {OW_PQ_DOUBLE, OW_PQ_L_NONE, 0, "f64"},
    {OW_PQ_BYTE_ARRAY, OW_PQ_L_NONE, 0, "blob"}, {OW_PQ_BYTE_ARRAY, OW_PQ_L_STRING, 0, "str"},
    {OW_PQ_BYTE_ARRAY, OW_PQ_L_JSON, 0, "json"}, {OW_PQ_FIXED, OW_PQ_L_NONE, 16, "fix16"},
    {OW_PQ_FIXED, OW_PQ_L_NONE, 3, "fix3"},
};
static const char *enc_tag[] = {"plain", "dict", "delta"};

static char names[128][48];

/* Every kind x encoding x optionality; bloom on every third non-BOOLEAN. */
static int every_combination(ow_pq_coldef_t *defs)
{
	int n = 0;
	for (size_t k = 0; k < OW_NELEMS(kinds); k++)
		for (int enc = 0; enc < 3; enc++)
			for (int opt = 0; opt < 2; opt++) {
				if (enc == OW_PQ_ENC_DELTA && kinds[k].type != OW_PQ_INT32 &&
				    kinds[k].type != OW_PQ_INT64)
					continue;
				snprintf(names[n], sizeof(names[n]), "%s_%s_%s", kinds[k].tag,
					 enc_tag[enc], opt ? "opt" : "req");
				defs[n] =
				    (ow_pq_coldef_t){names[n],
						     kinds[k].type,
						     kinds[k].logical,
						     kinds[k].fixed_len,
						     opt,
						     enc,
						     kinds[k].type != OW_PQ_BOOLEAN && n % 3 == 0};
				n++;
			}
	return n;
}

static uint32_t *shuffled(size_t n)
{
	uint32_t *p = malloc(n * sizeof(*p) + 1);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint32_t)i;
	for (size_t i = n; i > 1; i--) {
		size_t j = rnd() % i;
		uint32_t x = p[i - 1];
		p[i - 1] = p[j];
		p[j] = x;
	}
	return p;
}

static void test_round_trips(void)
{
	ow_pq_coldef_t defs[128];
	int ncols = every_combination(defs);
	ow_table_t t;
	ow_table_init(&t, defs, ncols);
	fill(&t, ncols, 1000, 60, 20);
	ow_buf_t img = {0};
	ow_pq_kv_t kv[] = {{"openwit.test", "round trip"}, {"empty", ""}, {"novalue", NULL}};

	ow_pq_opts_t o = {3, 0, kv, 3, 0, 0};
	ok(write_img(&t, NULL, &o, &img) == OW_OK, "%d columns, 1000 rows, zstd: written", ncols);
	is_int(check_file(&img, &t, NULL, 1000), 0, "every column reads back, statistics right");
	ow_pq_file_t *f;
	if (ow_pq_open(img.data, img.len, &f, err, sizeof(err)) == OW_OK) {
		is_str(ow_pq_kv(f, "openwit.test"), "round trip", "key/value metadata reads back");
		is_str(ow_pq_kv(f, "empty"), "", "an empty value reads back");
		is_str(ow_pq_kv(f, "novalue"), "", "a key without a value reads as empty");
		ok(ow_pq_kv(f, "absent") == NULL, "an absent key is NULL");
		int enc_ok = 1;
		for (int c = 0; c < ncols; c++) {
			ow_pq_chunk_t ci;
			ow_pq_chunk(f, 0, c, &ci);
			uint32_t want =
			    defs[c].enc == OW_PQ_ENC_DICT && defs[c].type != OW_PQ_BOOLEAN
				? 1u << OW_PQ_E_PLAIN | 1u << OW_PQ_E_RLE_DICTIONARY
			    : defs[c].enc == OW_PQ_ENC_DELTA ? 1u << OW_PQ_E_DELTA_BINARY_PACKED
							     : 1u << OW_PQ_E_PLAIN;
			if (defs[c].optional)
				want |= 1u << OW_PQ_E_RLE;
			int renc = defs[c].type == OW_PQ_BOOLEAN ? OW_PQ_ENC_PLAIN : defs[c].enc;
			if (ci.encodings != want || ci.codec != 6 ||
			    ci.has_dict !=
				(defs[c].enc == OW_PQ_ENC_DICT && defs[c].type != OW_PQ_BOOLEAN) ||
			    ow_pq_column(f, c)->enc != renc) {
				printf("# %s: encodings %#x codec %d\n", defs[c].name, ci.encodings,
				       ci.codec);
				enc_ok = 0;
			}
		}
		ok(enc_ok, "encodings and codec are the ones asked for (a pooled column keeps its "
			   "dictionary)");

		/* read -> write -> read: the reader's output is the writer's input */
		ow_table_t back;
		ow_pq_coldef_t rdefs[128];
		for (int c = 0; c < ncols; c++)
			rdefs[c] = *ow_pq_column(f, c);
		ow_table_init(&back, rdefs, ncols);
		for (int c = 0; c < ncols; c++)
			ow_pq_read_column(f, -1, c, &back.cols[c], err, sizeof(err));
		back.nrows = (size_t)ow_pq_num_rows(f);
		ow_buf_t img2 = {0};
		ok(write_img(&back, NULL, &o, &img2) == OW_OK, "what was read writes again");
		is_int(check_file(&img2, &t, NULL, 1000), 0, "and reads back the same rows");
		ok(img2.len == img.len && memcmp(img2.data, img.data, img.len) == 0,
		   "byte for byte the same file");
		ow_buf_free(&img2);
		ow_table_free(&back);
		ow_pq_close(f);
	}

	uint32_t *perm = shuffled(t.nrows);
	ow_pq_opts_t o2 = {0, 7, NULL, 0, 0, 0};
	ok(write_img(&t, perm, &o2, &img) == OW_OK, "shuffled, row groups of 7, uncompressed");
	is_int(check_file(&img, &t, perm, 7), 0, "every column of 143 row groups reads back");
	if (ow_pq_open(img.data, img.len, &f, err, sizeof(err)) == OW_OK) {
		ow_pq_chunk_t ci;
		ow_pq_chunk(f, 0, 0, &ci);
		is_int(ci.codec, 0, "codec UNCOMPRESSED");
		is_int(ow_pq_row_group_rows(f, 142), 6, "the last row group has the remainder");
		is_int(ow_pq_row_group_rows(f, 143), -1, "no row group past the end");
		ow_pq_close(f);
	}
	ow_pq_opts_t o3 = {1, 333, NULL, 0, 0, 0};
	ok(write_img(&t, perm, &o3, &img) == OW_OK, "shuffled, row groups of 333, zstd 1");
	is_int(check_file(&img, &t, perm, 333), 0, "every column reads back");
	free(perm);

	ow_table_t empty;
	ow_table_init(&empty, defs, ncols);
	ok(write_img(&empty, NULL, &o, &img) == OW_OK, "an empty table writes");
	is_int(check_file(&img, &empty, NULL, 1), 0, "and reads back with no row group");
	ow_table_free(&empty);

	ow_buf_free(&img);
	ow_table_free(&t);
}

/* Pages of a chunk, walking its page headers. */
static int count_pages(const ow_buf_t *img, const ow_pq_chunk_t *ci, int *dict_pages)
{
	const uint8_t *p = img->data + ci->offset, *end = p + ci->bytes;
	int n = 0;
	*dict_pages = 0;
	while (p < end) {
		ow_pq_tr_t r;
		int last = 0, id, t, type = -1;
		int64_t csize = -1;
		ow_pq_tr_init(&r, p, (size_t)(end - p));
		ow_pq_tr_enter(&r);
		while ((t = ow_pq_tr_field(&r, &last, &id))) {
			if (id == 1)
				type = (int)ow_pq_tr_int(&r);
			else if (id == 3)
				csize = ow_pq_tr_int(&r);
			else
				ow_pq_tr_skip(&r, t, 0);
		}
		if (r.err || csize < 0)
			return -1;
		p = r.p + csize;
		n += type == 0;
		*dict_pages += type == 2;
	}
	return n;
}

static void test_large(void)
{
	/* unique ids and times: dictionaries that do not pay; long strings:
	 * many pages; a low-cardinality column keeps its dictionary */
	static const ow_pq_coldef_t defs[] = {
	    {"id", OW_PQ_INT64, OW_PQ_L_NONE, 0, 0, OW_PQ_ENC_DICT, 0},
	    {"text", OW_PQ_BYTE_ARRAY, OW_PQ_L_STRING, 0, 1, OW_PQ_ENC_DICT, 0},
	    {"level", OW_PQ_BYTE_ARRAY, OW_PQ_L_STRING, 0, 0, OW_PQ_ENC_DICT, 0},
	    {"time", OW_PQ_INT64, OW_PQ_L_TIMESTAMP_NS, 0, 0, OW_PQ_ENC_DELTA, 0},
	    {"trace", OW_PQ_FIXED, OW_PQ_L_NONE, 16, 0, OW_PQ_ENC_PLAIN, 1},
	};
	enum { N = 300000 };
	ow_table_t t;
	ow_table_init(&t, defs, 5);
	int64_t time = 1700000000000000000;
	for (size_t i = 0; i < N; i++) {
		char s[128];
		ow_col_i64(&t.cols[0], (int64_t)mix(i));
		if (i % 10 == 3) {
			ow_col_null(&t.cols[1]);
		} else {
			int n =
			    snprintf(s, sizeof(s), "log line %zu with some text that repeats %llu",
				     i, (unsigned long long)mix(i) % 1000);
			ow_col_bytes(&t.cols[1], s, (size_t)n);
		}
		static const char *lv[] = {"INFO", "WARN", "ERROR", "DEBUG"};
		ow_col_bytes(&t.cols[2], lv[mix(i) % 4], strlen(lv[mix(i) % 4]));
		time += (int64_t)(mix(i) % 1000000);
		ow_col_i64(&t.cols[3], time);
		uint64_t id[2] = {rnd(), rnd()};
		ow_col_fixed(&t.cols[4], id, 16);
	}
	t.nrows = N;
	ow_buf_t img = {0};
	ow_pq_opts_t o = {3, 0, NULL, 0, 0, 0};
	ok(write_img(&t, NULL, &o, &img) == OW_OK, "300000 rows written");
	is_int(check_file(&img, &t, NULL, N), 0, "and read back");
	ow_pq_file_t *f;
	if (ow_pq_open(img.data, img.len, &f, err, sizeof(err)) == OW_OK) {
		ow_pq_chunk_t ci[5];
		int pages[5], dicts[5];
		for (int c = 0; c < 5; c++) {
			ow_pq_chunk(f, 0, c, &ci[c]);
			pages[c] = count_pages(&img, &ci[c], &dicts[c]);
		}
		ok(!ci[0].has_dict && ci[0].encodings == 1u << OW_PQ_E_PLAIN && dicts[0] == 0,
		   "unique INT64 ids: the dictionary is abandoned for PLAIN");
		ok(!ci[1].has_dict && pages[1] >= 10,
		   "long unique strings: PLAIN, in %d pages of about 1 MiB", pages[1]);
		ok(ci[2].has_dict && dicts[2] == 1 && pages[2] >= 1,
		   "four levels: one dictionary page, RLE_DICTIONARY data");
		ok(pages[3] >= 2 && ci[3].bytes < N * 3,
		   "sorted times: DELTA_BINARY_PACKED, %.2f bytes a value",
		   (double)ci[3].bytes / N);
		ok(pages[4] >= 4, "FIXED(16): %d pages", pages[4]);
		printf(
		    "# sizes: id %.2f, text %.2f, level %.3f, time %.2f, trace %.2f bytes/value\n",
		    (double)ci[0].bytes / N, (double)ci[1].bytes / N, (double)ci[2].bytes / N,
		    (double)ci[3].bytes / N, (double)ci[4].bytes / N);
		ow_pq_close(f);
	}
	ow_buf_free(&img);
	ow_table_free(&t);
}

static void test_bloom(void)
{
	/* XXH64 reference values (xxhash_spec.md test vectors and lengths
	 * crossing every tail case) */
	is_int(ow_pq_xxh64("", 0), (int64_t)0xEF46DB3751D8E999u, "XXH64 of nothing");
	is_int(ow_pq_xxh64("a", 1), (int64_t)0xD24EC4F1A98C6E5Bu, "XXH64 of \"a\"");
	is_int(ow_pq_xxh64("abc", 3), (int64_t)0x44BC2CF5AD770999u, "XXH64 of \"abc\"");
	is_int(ow_pq_bloom_bytes(0), 32, "bloom: at least 32 bytes");
	is_int(ow_pq_bloom_bytes(5000), 8192, "bloom: 5000 values in 8 KiB");
	is_int(ow_pq_bloom_bytes(100000000), OW_PQ_BLOOM_MAX, "bloom: at most 128 KiB");

	static const ow_pq_coldef_t defs[] = {
	    {"trace_id", OW_PQ_FIXED, OW_PQ_L_NONE, 16, 0, OW_PQ_ENC_PLAIN, 1},
	    {"name", OW_PQ_BYTE_ARRAY, OW_PQ_L_STRING, 0, 1, OW_PQ_ENC_DICT, 1},
	    {"n", OW_PQ_INT64, OW_PQ_L_NONE, 0, 0, OW_PQ_ENC_DELTA, 1},
	    {"nothing", OW_PQ_INT32, OW_PQ_L_NONE, 0, 1, OW_PQ_ENC_PLAIN, 1},
	};
	enum { N = 5000 };
	ow_table_t t;
	ow_table_init(&t, defs, 4);
	for (size_t i = 0; i < N; i++) {
		uint8_t id[16];
		char s[32];
		for (int k = 0; k < 16; k++)
			id[k] = (uint8_t)mix(i * 16 + (size_t)k + 7);
		ow_col_fixed(&t.cols[0], id, 16);
		int n = snprintf(s, sizeof(s), "name-%zu", i % 300);
		ow_col_bytes(&t.cols[1], s, (size_t)n);
		ow_col_i64(&t.cols[2], (int64_t)(i * 3));
		ow_col_null(&t.cols[3]);
	}
	t.nrows = N;
	ow_buf_t img = {0};
	ow_pq_opts_t o = {3, 2500, NULL, 0, 0, 0};
	ow_pq_file_t *f;
	ok(write_img(&t, NULL, &o, &img) == OW_OK, "bloom-filtered columns written");
	if (ow_pq_open(img.data, img.len, &f, err, sizeof(err)) != OW_OK) {
		ok(0, "open: %s", err);
		return;
	}
	int all = 1, no = 0, tries = 0;
	for (size_t i = 0; i < N; i++) {
		size_t len;
		int rg = (int)(i / 2500);
		const uint8_t *v = ow_pq_value(&t.cols[0], 16, i, &len);
		all &= ow_pq_bloom_check(f, rg, 0, v, len);
		v = ow_col_bytes_at(&t.cols[1], i, &len);
		all &= ow_pq_bloom_check(f, rg, 1, v, len);
		int64_t x = (int64_t)(i * 3);
		all &= ow_pq_bloom_check(f, rg, 2, &x, 8);
	}
	ok(all, "every value written is \"maybe\" in its row group's filter");
	for (size_t i = 0; i < 10000; i++) {
		uint8_t id[16];
		for (int k = 0; k < 16; k++)
			id[k] = (uint8_t)rnd();
		no += !ow_pq_bloom_check(f, (int)(i % 2), 0, id, 16);
		char s[32];
		int n = snprintf(s, sizeof(s), "absent-%zu", i);
		no += !ow_pq_bloom_check(f, (int)(i % 2), 1, s, (size_t)n);
		int64_t x = (int64_t)(i * 3 + 1);
		no += !ow_pq_bloom_check(f, (int)(i % 2), 2, &x, 8);
		tries += 3;
	}
	ok(no > tries * 95 / 100, "absent values: %d of %d certainly absent", no, tries);
	ok(ow_pq_bloom_check(f, 0, 3, "\0\0\0\0", 4) == 0,
	   "an all-null chunk's (empty) filter holds nothing");
	ok(ow_pq_bloom_check(f, 0, 0, "short", 5) == 0, "a FIXED(16) column has no 5-byte value");
	ow_pq_close(f);
	ow_buf_free(&img);
	ow_table_free(&t);
}

/* Statistics at the edges of each order, stated outright. */
static void test_edges(void)
{
	static const ow_pq_coldef_t defs[] = {
	    {"f", OW_PQ_DOUBLE, OW_PQ_L_NONE, 0, 1, OW_PQ_ENC_PLAIN, 0},
	    {"nan", OW_PQ_DOUBLE, OW_PQ_L_NONE, 0, 0, OW_PQ_ENC_DICT, 0},
	    {"i", OW_PQ_INT64, OW_PQ_L_NONE, 0, 0, OW_PQ_ENC_DELTA, 0},
	    {"u", OW_PQ_INT64, OW_PQ_L_UINT64, 0, 0, OW_PQ_ENC_DICT, 0},
	    {"u32", OW_PQ_INT32, OW_PQ_L_UINT32, 0, 0, OW_PQ_ENC_PLAIN, 0},
	    {"s", OW_PQ_BYTE_ARRAY, OW_PQ_L_STRING, 0, 0, OW_PQ_ENC_PLAIN, 0},
	    {"none", OW_PQ_BYTE_ARRAY, OW_PQ_L_STRING, 0, 1, OW_PQ_ENC_DICT, 0},
	};
	ow_table_t t;
	ow_table_init(&t, defs, 7);
	double f[] = {NAN, 0.0, 2.5, -INFINITY};
	int64_t i[] = {0, INT64_MAX, INT64_MIN, -1};
	uint64_t u[] = {1, UINT64_MAX, 0, 1ull << 63};
	uint32_t u32[] = {5, UINT32_MAX, 0x80000000u, 0};
	const char *s[] = {"b", "\xff", "", "a"};
	for (int r = 0; r < 4; r++) {
		ow_col_f64(&t.cols[0], f[r]);
		ow_col_f64(&t.cols[1], NAN);
		ow_col_i64(&t.cols[2], i[r]);
		ow_col_i64(&t.cols[3], (int64_t)u[r]);
		ow_col_i32(&t.cols[4], (int32_t)u32[r]);
		ow_col_bytes(&t.cols[5], s[r], strlen(s[r]));
		ow_col_null(&t.cols[6]);
	}
	t.nrows = 4;
	ow_buf_t img = {0};
	ow_pq_file_t *pf;
	ow_pq_opts_t o = {1, 0, NULL, 0, 0, 0};
	if (write_img(&t, NULL, &o, &img) != OW_OK ||
	    ow_pq_open(img.data, img.len, &pf, err, sizeof(err)) != OW_OK) {
		ok(0, "edge values written and opened: %s", err);
		return;
	}
	ow_pq_stats_t st[7];
	for (int c = 0; c < 7; c++)
		ow_pq_stats(pf, 0, c, &st[c]);
	double lo, hi;
	memcpy(&lo, st[0].min, 8);
	memcpy(&hi, st[0].max, 8);
	ok(st[0].has_minmax && lo == -INFINITY && hi == 2.5, "DOUBLE: NaN left out of min and max");
	ok(!st[1].has_minmax && st[1].null_count == 0, "all-NaN DOUBLE: no min or max");
	int64_t a, b;
	memcpy(&a, st[2].min, 8);
	memcpy(&b, st[2].max, 8);
	ok(a == INT64_MIN && b == INT64_MAX, "INT64: signed min and max");
	memcpy(&a, st[3].min, 8);
	memcpy(&b, st[3].max, 8);
	ok(a == 0 && (uint64_t)b == UINT64_MAX, "UINT64: unsigned min and max");
	uint32_t x, y;
	memcpy(&x, st[4].min, 4);
	memcpy(&y, st[4].max, 4);
	ok(x == 0 && y == UINT32_MAX, "UINT32: unsigned min and max");
	ok(st[5].min_len == 0 && st[5].max_len == 1 && st[5].max[0] == 0xff,
	   "BYTE_ARRAY: the empty string is least, \\xff most");
	ok(!st[6].has_minmax && st[6].null_count == 4, "all null: null_count 4, no min or max");
	ow_col_t c = {0};
	ok(ow_pq_read_column(pf, 0, 0, &c, err, sizeof(err)) == OW_OK && c.nvals == 4 &&
	       isnan(((double *)c.fixed.data)[0]) && ((double *)c.fixed.data)[3] == -INFINITY,
	   "NaN and -Inf read back");
	ow_col_free(&c);
	ow_pq_close(pf);
	ow_buf_free(&img);
	ow_table_free(&t);
}

/* ---- selective reads and dictionary codes ---- */

static int buf_same(const ow_buf_t *a, const ow_buf_t *b)
{
	return a->len == b->len && (!a->len || memcmp(a->data, b->data, a->len) == 0);
}

/* Whether a and b hold the same rows in the same bytes. */
static int col_same(const ow_col_t *a, const ow_col_t *b)
{
	return a->nrows == b->nrows && a->nvals == b->nvals && buf_same(&a->defs, &b->defs) &&
	       buf_same(&a->fixed, &b->fixed) && buf_same(&a->data, &b->data) &&
	       buf_same(&a->offs, &b->offs);
}

/* Whether got starts with the bytes of a. */
static int col_starts(const ow_col_t *got, const ow_col_t *a)
{
	const ow_buf_t *g[] = {&got->defs, &got->fixed, &got->data, &got->offs},
		       *w[] = {&a->defs, &a->fixed, &a->data, &a->offs};
	for (int i = 0; i < 4; i++)
		if (g[i]->len < w[i]->len ||
		    (w[i]->len && memcmp(g[i]->data, w[i]->data, w[i]->len)))
			return 0;
	return 1;
}

/* Whether rows [before, before + full->nrows) of got, read with sel and c
 * into a column that held before rows and vals_before values, agree with
 * full, the chunk as ow_pq_read_column reads it: a selected row (every row
 * without sel) is the same row; any other is NULL or the same row. */
/* Text values sel_right saw left empty (rows not wanted), and those of
 * them in a chunk with a dictionary (in_dict: the chunk has one). */
static size_t texts_left, dict_texts_left;
static int in_dict;

static int sel_right(const ow_pq_coldef_t *d, const ow_col_t *full, const ow_col_t *got,
		     size_t before, size_t vals_before, const uint8_t *sel, const ow_pq_codes_t *c,
		     char *why, size_t whylen)
{
	size_t w = ow_pq_width(d), n = full->nrows, vf = 0, vg = vals_before;
	int codes = c && c->has_codes;
	size_t ncodes = codes ? c->codes.len / 4 : 0;
	if (got->nrows != before + n || got->defs.len != before + n) {
		snprintf(why, whylen, "%zu rows, want %zu", got->nrows, before + n);
		return 0;
	}
	for (size_t r = 0; r < n; r++) {
		int df = full->defs.data[r], dg = got->defs.data[before + r];
		if ((!sel || sel[r]) && dg != df) {
			snprintf(why, whylen, "selected row %zu: defs %d, want %d", r, dg, df);
			return 0;
		}
		if (dg && !df) {
			snprintf(why, whylen, "row %zu has a value, not in the full read", r);
			return 0;
		}
		if (dg) {
			size_t la, lb;
			const uint8_t *a = ow_pq_value(full, w, vf, &la), *b;
			if (codes) {
				uint32_t e;
				if (vg - vals_before >= ncodes) {
					snprintf(why, whylen, "row %zu: no code", r);
					return 0;
				}
				memcpy(&e, c->codes.data + (vg - vals_before) * 4, 4);
				if (e >= c->dict.nvals) {
					snprintf(why, whylen, "row %zu: code %u of %zu", r, e,
						 c->dict.nvals);
					return 0;
				}
				b = ow_pq_value(&c->dict, w, e, &lb);
			} else {
				b = ow_pq_value(got, w, vg, &lb);
			}
			if (la != lb || (la && memcmp(a, b, la) != 0)) {
				/* a text value of a row not wanted: empty */
				if (!(sel && !sel[r] && !w && !codes && !lb)) {
					snprintf(why, whylen, "row %zu differs", r);
					return 0;
				}
				texts_left++;
				dict_texts_left += in_dict;
			}
			vg++;
		}
		vf += df != 0;
	}
	size_t held = w ? got->fixed.len / w : got->offs.len / 4;
	if (got->nvals != vg || held != (codes ? vals_before : vg) ||
	    (codes && ncodes != vg - vals_before)) {
		snprintf(why, whylen, "nvals %zu, %zu values held, %zu codes; want %zu values",
			 got->nvals, held, ncodes, vg);
		return 0;
	}
	return 1;
}

static void test_sel_codes(void)
{
	static const ow_pq_coldef_t defs[] = {
	    {"level", OW_PQ_BYTE_ARRAY, OW_PQ_L_STRING, 0, 0, OW_PQ_ENC_DICT, 0},
	    {"n", OW_PQ_INT64, OW_PQ_L_NONE, 0, 0, OW_PQ_ENC_PLAIN, 0},
	    {"msg", OW_PQ_BYTE_ARRAY, OW_PQ_L_STRING, 0, 1, OW_PQ_ENC_PLAIN, 0},
	    {"id", OW_PQ_FIXED, OW_PQ_L_NONE, 16, 0, OW_PQ_ENC_PLAIN, 0},
	    {"host", OW_PQ_BYTE_ARRAY, OW_PQ_L_STRING, 0, 1, OW_PQ_ENC_DICT, 0},
	    {"code", OW_PQ_INT32, OW_PQ_L_NONE, 0, 1, OW_PQ_ENC_DICT, 0},
	};
	enum { N = 300000, NCOLS = 6, NSEL = 5 };
	ow_table_t t;
	ow_table_init(&t, defs, NCOLS);
	for (size_t i = 0; i < N; i++) {
		char s[128];
		int n = snprintf(s, sizeof(s), "level-%02llu-of-fifty-ish",
				 (unsigned long long)mix(i) % 50);
		ow_col_bytes(&t.cols[0], s, (size_t)n);
		ow_col_i64(&t.cols[1], (int64_t)mix(i + N));
		if (i % 5 == 2) {
			ow_col_null(&t.cols[2]);
		} else {
			n = snprintf(s, sizeof(s), "message %zu, some words %llu", i,
				     (unsigned long long)mix(i) % 100000);
			ow_col_bytes(&t.cols[2], s, (size_t)n);
		}
		uint64_t id[2] = {rnd(), rnd()};
		ow_col_fixed(&t.cols[3], id, 16);
		if (mix(i + 7) % 3 == 0) {
			ow_col_null(&t.cols[4]);
		} else {
			n = snprintf(s, sizeof(s), "host-%llu.example",
				     (unsigned long long)mix(i) % 8);
			ow_col_bytes(&t.cols[4], s, (size_t)n);
		}
		/* NULL in long runs: whole pages of NULL */
		if ((i / 70000) % 2 == 1)
			ow_col_null(&t.cols[5]);
		else
			ow_col_i32(&t.cols[5], (int32_t)(mix(i) % 100));
	}
	t.nrows = N;
	ow_buf_t img = {0};
	ow_pq_opts_t o = {1, 200000, NULL, 0, 0, 0};
	ow_pq_file_t *f;
	if (write_img(&t, NULL, &o, &img) != OW_OK ||
	    ow_pq_open(img.data, img.len, &f, err, sizeof(err)) != OW_OK) {
		ok(0, "300000 rows in 2 row groups written and opened: %s", err);
		return;
	}
	/* what is checked, over every column of both row groups: a bad count each */
	enum {
		PLAIN_SAME,
		ONES_SAME,
		SEL_RIGHT,
		ZEROS,
		CODES,
		CODES_DICT,
		APPENDED,
		SKIPPED,
		NCHK
	};
	int bad[NCHK] = {0}, dict_chunks = 0, multi_page = 0;
	char why[160];
	ow_pq_codes_t codes = {0};
	for (int g = 0; g < 2; g++) {
		size_t rows = (size_t)ow_pq_row_group_rows(f, g);
		/* sels: scattered rows, none, the last 10 rows, all, every 1000th */
		uint8_t *sel[NSEL];
		for (int s = 0; s < NSEL; s++)
			sel[s] = calloc(rows, 1);
		size_t pick[] = {3, rows / 3 + 1, rows / 2, rows - 2, rnd() % rows};
		for (size_t k = 0; k < sizeof(pick) / sizeof(pick[0]); k++)
			sel[0][pick[k]] = (uint8_t)(1 + k);
		memset(sel[2] + rows - 10, 0xff, 10);
		memset(sel[3], 1, rows);
		for (size_t r = 0; r < rows; r += 1000)
			sel[4][r] = 1;
		for (int c = 0; c < NCOLS; c++) {
			const ow_pq_coldef_t *d = &defs[c];
			ow_pq_chunk_t ci;
			int dp;
			ow_pq_chunk(f, g, c, &ci);
			int pages = count_pages(&img, &ci, &dp);
			dict_chunks += ci.has_dict;
			multi_page += pages >= 2;
			in_dict = ci.has_dict;
			ow_col_t full = {0}, got = {0};
			if (ow_pq_read_column(f, g, c, &full, err, sizeof(err)) != OW_OK) {
				printf("# %s rg %d: %s\n", d->name, g, err);
				bad[PLAIN_SAME]++;
				continue;
			}
			if (ow_pq_read_column_ex(f, g, c, NULL, &got, NULL, err, sizeof(err)) !=
				OW_OK ||
			    !col_same(&got, &full)) {
				printf("# %s rg %d: _ex differs\n", d->name, g);
				bad[PLAIN_SAME]++;
			}
			ow_col_free(&got);
			if (ow_pq_read_column_ex(f, g, c, sel[3], &got, NULL, err, sizeof(err)) !=
				OW_OK ||
			    !col_same(&got, &full)) {
				printf("# %s rg %d: a sel of ones differs\n", d->name, g);
				bad[ONES_SAME]++;
			}
			ow_col_free(&got);
			/* every sel (and none), with and without codes, into an
			 * empty column and one holding the chunk already */
			for (int s = -1; s < NSEL; s++)
				for (int wc = 0; wc <= 1; wc++)
					for (int pre = 0; pre <= 1; pre++) {
						const uint8_t *sl = s < 0 ? NULL : sel[s];
						ow_pq_codes_t *cp = wc ? &codes : NULL;
						int chk = wc ? CODES : SEL_RIGHT;
						if (pre)
							ow_pq_read_column(f, g, c, &got, err,
									  sizeof(err));
						size_t before = got.nrows, vb = got.nvals;
						if (ow_pq_read_column_ex(f, g, c, sl, &got, cp, err,
									 sizeof(err)) != OW_OK) {
							printf("# %s rg %d sel %d: %s\n", d->name,
							       g, s, err);
							bad[chk]++;
						} else if (!sel_right(d, &full, &got, before, vb,
								      sl, cp, why, sizeof(why))) {
							printf("# %s rg %d sel %d codes %d: %s\n",
							       d->name, g, s, wc, why);
							bad[chk]++;
						} else if (pre && !col_starts(&got, &full)) {
							printf("# %s rg %d sel %d: rows held "
							       "before changed\n",
							       d->name, g, s);
							bad[APPENDED]++;
						}
						/* codes for a dictionary chunk that gave values */
						if (wc && codes.has_codes !=
							      (ci.has_dict && got.nvals > vb)) {
							printf("# %s rg %d sel %d: has_codes %d\n",
							       d->name, g, s, codes.has_codes);
							bad[CODES_DICT]++;
						}
						if (s == 1 && (got.nvals != vb ||
							       memchr(got.defs.data + before, 1,
								      rows) != NULL)) {
							printf("# %s rg %d: a sel of zeros gave "
							       "values\n",
							       d->name, g);
							bad[ZEROS]++;
						}
						/* the last 10 rows: the first page unread */
						if (s == 2 && pages >= 2 &&
						    got.nvals - vb >= full.nvals) {
							printf("# %s rg %d: %d pages, all read\n",
							       d->name, g, pages);
							bad[SKIPPED]++;
						}
						ow_col_free(&got);
					}
			ow_col_free(&full);
		}
		for (int s = 0; s < NSEL; s++)
			free(sel[s]);
	}
	ok(dict_chunks >= 5 && multi_page >= 5,
	   "the file: %d dictionary chunks, %d chunks of several pages", dict_chunks, multi_page);
	is_int(bad[PLAIN_SAME], 0,
	       "ow_pq_read_column_ex without options is ow_pq_read_column, "
	       "byte for byte");
	is_int(bad[ONES_SAME], 0, "a sel of all rows reads the same bytes");
	is_int(bad[SEL_RIGHT], 0,
	       "with a sel, selected rows are as in the full read, others NULL, "
	       "the same, or (text) empty");
	ok(texts_left > dict_texts_left && dict_texts_left > 0,
	   "text values of rows not selected are left empty (%zu, %zu of them from a dictionary)",
	   texts_left, dict_texts_left);
	is_int(bad[ZEROS], 0, "a sel of zeros: every row NULL, no value, also in REQUIRED columns");
	is_int(bad[SKIPPED], 0, "pages without a selected row are not read (their rows are NULL)");
	is_int(bad[CODES], 0, "with codes (and any sel), code v names the full read's value v");
	is_int(bad[CODES_DICT], 0, "has_codes: 1 for dictionary chunks that gave values, else 0");
	is_int(bad[APPENDED], 0, "rows out held stay; sel indexes the row group's rows");
	ow_col_t c = {0};
	ok(ow_pq_read_column_ex(f, -1, 0, NULL, &c, &codes, err, sizeof(err)) == OW_ERROR &&
	       c.nrows == 0,
	   "codes over every row group: %s", err);
	ok(ow_pq_read_column_ex(f, 0, 0, NULL, &c, &codes, err, sizeof(err)) == OW_OK &&
	       codes.has_codes && codes.dict.nvals == 50 && c.nvals == 200000 &&
	       codes.codes.len == 200000 * 4 && c.data.len == 0 && c.offs.len == 0,
	   "50 levels: 50 entries, 200000 codes, no values");
	ow_col_free(&c);
	ow_pq_codes_free(&codes);
	ow_pq_close(f);
	ow_buf_free(&img);
	ow_table_free(&t);
}

/* Appends a page, zstd-compressed, with the header writer.c writes. */
static void put_page(ow_buf_t *out, int type, size_t nv, int enc, const ow_buf_t *body)
{
	size_t bound = ZSTD_compressBound(body->len);
	ow_buf_t z = {0}, h = {0};
	ow_buf_reserve(&z, bound);
	z.len = ZSTD_compress(z.data, bound, body->data, body->len, 1);
	ow_pq_tw_t tw;
	ow_pq_tw_init(&tw, &h);
	ow_pq_tw_begin(&tw);
	ow_pq_tw_i32(&tw, 1, type);
	ow_pq_tw_i32(&tw, 2, (int32_t)body->len);
	ow_pq_tw_i32(&tw, 3, (int32_t)z.len);
	ow_pq_tw_struct(&tw, type == 2 ? 7 : 5);
	ow_pq_tw_i32(&tw, 1, (int32_t)nv);
	ow_pq_tw_i32(&tw, 2, enc);
	if (type == 0) {
		ow_pq_tw_i32(&tw, 3, OW_PQ_E_RLE);
		ow_pq_tw_i32(&tw, 4, OW_PQ_E_RLE);
	}
	ow_pq_tw_end(&tw);
	ow_pq_tw_end(&tw);
	ow_buf_add(out, h.data, h.len);
	ow_buf_add(out, z.data, z.len);
	ow_buf_free(&z);
	ow_buf_free(&h);
}

/* Data pages of rows [r0, r1) of e (optional BYTE_ARRAY) whose values are
 * dictionary entries code[]: PLAIN values, or codes of 6 bits (bad_row: a
 * code past the 50 entries). */
static void put_rows(ow_buf_t *out, const ow_pq_coldef_t *d, const ow_col_t *e,
		     const uint32_t *code, size_t r0, size_t r1, int plain, size_t bad_row)
{
	ow_buf_t b = {0};
	uint32_t *lv = malloc((r1 - r0) * sizeof(*lv)), *v = malloc((r1 - r0) * sizeof(*v));
	size_t nv = 0, vi = 0;
	for (size_t r = 0; r < r0; r++)
		vi += e->defs.data[r];
	for (size_t r = r0; r < r1; r++) {
		lv[r - r0] = e->defs.data[r];
		if (e->defs.data[r]) {
			v[nv++] = plain ? (uint32_t)vi : (r == bad_row ? 63 : code[vi]);
			vi++;
		}
	}
	ow_buf_reserve(&b, 4);
	b.len = 4;
	ow_pq_rle_encode(&b, lv, r1 - r0, 1);
	ow_put_u32(b.data, (uint32_t)(b.len - 4));
	if (plain) {
		ow_pq_plain_encode(&b, d, e, v, nv);
	} else {
		uint8_t bw = 6;
		ow_buf_add(&b, &bw, 1);
		ow_pq_rle_encode(&b, v, nv, 6);
	}
	put_page(out, 0, r1 - r0, plain ? OW_PQ_E_PLAIN : OW_PQ_E_RLE_DICTIONARY, &b);
	free(lv);
	free(v);
	ow_buf_free(&b);
}

/* A chunk that is not all dictionary-encoded (our writer never makes one;
 * other writers may): its pages are written over the OPTIONAL BYTE_ARRAY
 * chunk of a file, in its space, so the footer still describes it. */
static void test_mixed_chunk(void)
{
	static const ow_pq_coldef_t defs[] = {
	    {"msg", OW_PQ_BYTE_ARRAY, OW_PQ_L_STRING, 0, 1, OW_PQ_ENC_PLAIN, 0},
	};
	enum { N = 100000, K = 50 };
	/* pages: codes [0, A), values [A, B), codes [B, C), codes [C, N) */
	enum { A = 30000, B = 32000, C = 60000 };
	ow_table_t t;
	ow_table_init(&t, defs, 1);
	ow_col_t dict = {0}, e = {0};
	uint32_t *code = malloc(N * sizeof(*code)), *ent = malloc(K * sizeof(*ent));
	char s[128];
	for (size_t i = 0; i < N; i++) {
		/* random: the chunk's space holds the mixed pages */
		int n = snprintf(s, sizeof(s), "%016llx%016llx", (unsigned long long)rnd(),
				 (unsigned long long)rnd());
		ow_col_bytes(&t.cols[0], s, (size_t)n);
	}
	t.nrows = N;
	for (uint32_t k = 0; k < K; k++) {
		int n = snprintf(s, sizeof(s), "entry %u of the dictionary", k);
		ow_col_bytes(&dict, s, (size_t)n);
		ent[k] = k;
	}
	for (size_t r = 0; r < N; r++) {
		if (r % 7 == 3) {
			ow_col_null(&e);
			continue;
		}
		size_t len;
		code[e.nvals] = (uint32_t)(mix(r) % K);
		const uint8_t *v = ow_col_bytes_at(&dict, code[e.nvals], &len);
		ow_col_bytes(&e, v, len);
	}
	ow_buf_t img = {0}, pages = {0}, body = {0};
	ow_pq_opts_t o = {1, 0, NULL, 0, 0, 0};
	ow_pq_file_t *f;
	ow_pq_chunk_t ci;
	ow_pq_codes_t codes = {0};
	ow_col_t got = {0};
	char why[160];
	ow_pq_plain_encode(&body, &defs[0], &dict, ent, K);
	for (int bad = 0; bad <= 1; bad++) {
		pages.len = 0;
		put_page(&pages, 2, K, OW_PQ_E_PLAIN, &body);
		put_rows(&pages, &defs[0], &e, code, 0, A, 0, SIZE_MAX);
		put_rows(&pages, &defs[0], &e, code, A, B, 1, SIZE_MAX);
		put_rows(&pages, &defs[0], &e, code, B, C, 0, bad ? C - 1 : SIZE_MAX);
		put_rows(&pages, &defs[0], &e, code, C, N, 0, SIZE_MAX);
		if (write_img(&t, NULL, &o, &img) != OW_OK ||
		    ow_pq_open(img.data, img.len, &f, err, sizeof(err)) != OW_OK) {
			ok(0, "a file to rewrite: %s", err);
			break;
		}
		ow_pq_chunk(f, 0, 0, &ci);
		ow_pq_close(f);
		if (pages.len > (size_t)ci.bytes) {
			ok(0, "the mixed chunk fits (%zu bytes, %lld room)", pages.len,
			   (long long)ci.bytes);
			break;
		}
		memcpy(img.data + ci.offset, pages.data, pages.len);
		ow_pq_open(img.data, img.len, &f, err, sizeof(err));
		uint8_t *sel = calloc(N, 1);
		if (!bad) {
			ow_col_t full = {0};
			int rc = ow_pq_read_column(f, 0, 0, &full, err, sizeof(err));
			if (!ok(rc == OW_OK &&
				    same_rows(&defs[0], &e, NULL, 0, N, &full, why, sizeof(why)),
				"dictionary, PLAIN, dictionary pages read as values"))
				printf("# %s\n", rc == OW_OK ? why : err);
			ok(ow_pq_read_column_ex(f, 0, 0, NULL, &got, &codes, err, sizeof(err)) ==
				   OW_OK &&
			       !codes.has_codes && col_same(&got, &full),
			   "with codes asked for: the codes before the PLAIN page become "
			   "values (has_codes 0)");
			ow_col_free(&got);
			/* which pages the sel reaches: the answer follows */
			static const struct {
				size_t rows[2];
				int has_codes;
				const char *what;
			} cases[] = {
			    {{10, C + 5}, 1, "codes pages only: codes"},
			    {{A + 1, A + 2}, 0, "the PLAIN page only: values"},
			    {{11, A + 7}, 0, "codes, then PLAIN: values"},
			    {{A + 7, B + 2}, 0, "PLAIN, then codes: values"},
			    {{B, N - 1}, 1, "the last two codes pages: codes"},
			};
			for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
				memset(sel, 0, N);
				sel[cases[k].rows[0]] = sel[cases[k].rows[1]] = 1;
				/* into a column that holds rows already */
				ow_pq_read_column(f, 0, 0, &got, err, sizeof(err));
				size_t vb = got.nvals;
				why[0] = 0;
				rc = ow_pq_read_column_ex(f, 0, 0, sel, &got, &codes, err,
							  sizeof(err));
				if (!ok(rc == OW_OK && codes.has_codes == cases[k].has_codes &&
					    sel_right(&defs[0], &full, &got, N, vb, sel, &codes,
						      why, sizeof(why)) &&
					    col_starts(&got, &full),
					"sel of %s", cases[k].what))
					printf("# %s\n", rc == OW_OK ? why : err);
				ow_col_free(&got);
			}
			ow_col_free(&full);
		} else {
			ow_col_t held = {0};
			ow_col_bytes(&got, "held", 4);
			ow_col_bytes(&held, "held", 4);
			ok(ow_pq_read_column(f, 0, 0, &got, err, sizeof(err)) == OW_ERROR &&
			       strstr(err, "dictionary index 63 past 50") && col_same(&got, &held),
			   "a code past the dictionary: %s; out as it was", err);
			ok(ow_pq_read_column_ex(f, 0, 0, NULL, &got, &codes, err, sizeof(err)) ==
				   OW_ERROR &&
			       strstr(err, "dictionary index 63") && col_same(&got, &held) &&
			       !codes.has_codes && codes.codes.len == 0 && codes.dict.nvals == 0,
			   "also with codes asked for (codes left empty)");
			sel[C - 1] = 1;
			ok(ow_pq_read_column_ex(f, 0, 0, sel, &got, &codes, err, sizeof(err)) ==
				   OW_ERROR &&
			       col_same(&got, &held),
			   "and with a sel of its row: %s", err);
			sel[C - 1] = 0;
			sel[10] = sel[N - 1] = 1;
			ok(ow_pq_read_column_ex(f, 0, 0, sel, &got, &codes, err, sizeof(err)) ==
				   OW_OK &&
			       codes.has_codes && got.nrows == N + 1,
			   "a sel that skips its page reads");
			ow_col_free(&held);
			ow_col_free(&got);
		}
		free(sel);
		ow_pq_close(f);
	}
	ow_pq_codes_free(&codes);
	ow_buf_free(&pages);
	ow_buf_free(&body);
	ow_buf_free(&img);
	ow_col_free(&dict);
	ow_col_free(&e);
	free(code);
	free(ent);
	ow_table_free(&t);
}

/* ---- corruption ---- */

/* A read with codes asked for and every other row selected. */
static int sel_codes(ow_pq_file_t *f, int g, int c)
{
	size_t rows = (size_t)ow_pq_row_group_rows(f, g);
	uint8_t *sel = malloc(rows + 1);
	for (size_t r = 0; r < rows; r++)
		sel[r] = r % 2;
	ow_col_t col = {0};
	ow_pq_codes_t codes = {0};
	int rc = ow_pq_read_column_ex(f, g, c, sel, &col, &codes, err, sizeof(err));
	ow_pq_codes_free(&codes);
	ow_col_free(&col);
	free(sel);
	return rc;
}

/* Everything a reader may do with a file; none of it may crash. */
static int poke(const uint8_t *data, size_t len)
{
	/* an exact-size copy, so ASan sees a read past the end */
	uint8_t *copy = malloc(len + !len);
	memcpy(copy, data, len);
	ow_pq_file_t *f;
	int rc = ow_pq_open(copy, len, &f, err, sizeof(err));
	if (rc == OW_OK) {
		for (int g = -1; g < ow_pq_num_row_groups(f); g++)
			for (int c = 0; c < ow_pq_num_columns(f); c++) {
				ow_col_t col = {0};
				ow_pq_stats_t st;
				ow_pq_chunk_t ci;
				if (ow_pq_read_column(f, g, c, &col, err, sizeof(err)) != OW_OK)
					rc = OW_ERROR;
				if (g >= 0 && sel_codes(f, g, c) != OW_OK)
					rc = OW_ERROR;
				ow_pq_stats(f, g, c, &st);
				ow_pq_chunk(f, g, c, &ci);
				ow_pq_bloom_check(f, g, c, "0123456789abcdef", 16);
				ow_pq_bloom_check(f, g, c, "x", 1);
				ow_col_free(&col);
			}
		ow_pq_close(f);
	}
	free(copy);
	return rc;
}

static void test_corruption(void)
{
	static const ow_pq_coldef_t defs[] = {
	    {"name", OW_PQ_BYTE_ARRAY, OW_PQ_L_STRING, 0, 1, OW_PQ_ENC_DICT, 1},
	    {"time", OW_PQ_INT64, OW_PQ_L_TIMESTAMP_NS, 0, 0, OW_PQ_ENC_DELTA, 0},
	    {"value", OW_PQ_DOUBLE, OW_PQ_L_NONE, 0, 1, OW_PQ_ENC_PLAIN, 0},
	    {"id", OW_PQ_FIXED, OW_PQ_L_NONE, 16, 0, OW_PQ_ENC_PLAIN, 1},
	    {"flag", OW_PQ_BOOLEAN, OW_PQ_L_NONE, 0, 1, OW_PQ_ENC_PLAIN, 0},
	    {"code", OW_PQ_INT32, OW_PQ_L_UINT8, 0, 0, OW_PQ_ENC_DICT, 0},
	};
	for (int zstd = 0; zstd <= 1; zstd++) {
		ow_table_t t;
		ow_table_init(&t, defs, 6);
		fill(&t, 6, 80, 60, 6);
		ow_buf_t img = {0};
		ow_pq_opts_t o = {zstd, 30, NULL, 0, 0, 0};
		write_img(&t, NULL, &o, &img);
		is_int(poke(img.data, img.len), OW_OK, "%s file of %zu bytes reads",
		       zstd ? "a zstd" : "an uncompressed", img.len);
		int errs = 0;
		for (size_t cut = 0; cut < img.len; cut++)
			errs += poke(img.data, cut) != OW_OK;
		is_int(errs, img.len, "every truncation is an error, none a crash");
		int flips = 0, rejected = 0;
		for (size_t i = 0; i < img.len; i++)
			for (int b = 0; b < 3; b++) {
				uint8_t x = b == 0 ? 0x01 : b == 1 ? 0x80 : (uint8_t)(rnd() | 1);
				img.data[i] ^= x;
				rejected += poke(img.data, img.len) != OW_OK;
				img.data[i] ^= x;
				flips++;
			}
		ok(rejected > 0,
		   "%d single-byte corruptions: %d rejected, the rest decode, no crash", flips,
		   rejected);
		size_t flen = ow_get_u32(img.data + img.len - 8), fstart = img.len - 8 - flen;
		rejected = 0;
		for (int i = 0; i < 20000; i++) {
			ow_buf_t c = {0};
			ow_buf_add(&c, img.data, img.len);
			int n = 1 + (int)(rnd() % 4);
			for (int k = 0; k < n; k++) {
				/* half in the footer, half anywhere */
				size_t at = k % 2 ? fstart + rnd() % flen : rnd() % img.len;
				c.data[at] = (uint8_t)rnd();
			}
			rejected += poke(c.data, c.len) != OW_OK;
			ow_buf_free(&c);
		}
		ok(1, "20000 random multi-byte corruptions (%d rejected): no crash", rejected);
		ow_buf_free(&img);
		ow_table_free(&t);
	}

	/* footers made to hurt: deep nesting, a huge list, a long varint */
	ow_buf_t b = {0};
	ow_buf_add(&b, "PAR1", 4);
	for (int i = 0; i < 5000; i++)
		ow_buf_add(&b, "\x1c", 1); /* field 1, struct: nested forever */
	uint8_t tail[8];
	ow_put_u32(tail, 5000);
	memcpy(tail + 4, "PAR1", 4);
	ow_buf_add(&b, tail, 8);
	ow_pq_file_t *f;
	ok(ow_pq_open(b.data, b.len, &f, err, sizeof(err)) == OW_ERROR,
	   "a footer nested 5000 deep: %s", err);
	b.len = 4;
	ow_buf_add(&b, "\x29\xfc\xff\xff\xff\xff\x0f\x00", 8); /* schema: 2^32 structs */
	ow_put_u32(tail, 8);
	ow_buf_add(&b, tail, 8);
	ok(ow_pq_open(b.data, b.len, &f, err, sizeof(err)) == OW_ERROR,
	   "a list claiming 2^32 elements: %s", err);
	b.len = 4;
	ow_buf_add(&b, "\x15\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\x00", 13);
	ow_put_u32(tail, 13);
	ow_buf_add(&b, tail, 8);
	ok(ow_pq_open(b.data, b.len, &f, err, sizeof(err)) == OW_ERROR, "an 11-byte varint: %s",
	   err);
	ow_buf_free(&b);
}

/* ---- bad input to the writer ---- */

/* ---- hostile files: declared counts past the bytes that hold them ---- */

/* A file of one REQUIRED INT64 column "v" and one row group of rows rows:
 * its chunk is page (a page header and body, as given) and pad bytes more,
 * with codec. */
static void craft(ow_buf_t *img, int64_t rows, int codec, const ow_buf_t *page, size_t pad)
{
	img->len = 0;
	ow_buf_add(img, "PAR1", 4);
	ow_buf_add(img, page->data, page->len);
	ow_buf_reserve(img, pad);
	memset(img->data + img->len, 0, pad);
	img->len += pad;
	int64_t tcs = (int64_t)(page->len + pad);
	ow_buf_t foot = {0};
	ow_pq_tw_t w;
	ow_pq_tw_init(&w, &foot);
	ow_pq_tw_begin(&w);
	ow_pq_tw_i32(&w, 1, 1);
	ow_pq_tw_list(&w, 2, OW_PQ_T_STRUCT, 2);
	ow_pq_tw_begin(&w);
	ow_pq_tw_str(&w, 4, "schema");
	ow_pq_tw_i32(&w, 5, 1);
	ow_pq_tw_end(&w);
	ow_pq_tw_begin(&w);
	ow_pq_tw_i32(&w, 1, OW_PQ_INT64);
	ow_pq_tw_i32(&w, 3, 0);
	ow_pq_tw_str(&w, 4, "v");
	ow_pq_tw_end(&w);
	ow_pq_tw_i64(&w, 3, rows);
	ow_pq_tw_list(&w, 4, OW_PQ_T_STRUCT, 1);
	ow_pq_tw_begin(&w);
	ow_pq_tw_list(&w, 1, OW_PQ_T_STRUCT, 1);
	ow_pq_tw_begin(&w);
	ow_pq_tw_i64(&w, 2, 4);
	ow_pq_tw_struct(&w, 3);
	ow_pq_tw_i32(&w, 1, OW_PQ_INT64);
	ow_pq_tw_list(&w, 2, OW_PQ_T_I32, 1);
	ow_pq_tw_elem_i32(&w, OW_PQ_E_PLAIN);
	ow_pq_tw_list(&w, 3, OW_PQ_T_BINARY, 1);
	ow_pq_tw_elem_bin(&w, "v", 1);
	ow_pq_tw_i32(&w, 4, codec);
	ow_pq_tw_i64(&w, 5, rows);
	ow_pq_tw_i64(&w, 6, tcs);
	ow_pq_tw_i64(&w, 7, tcs);
	ow_pq_tw_i64(&w, 9, 4);
	ow_pq_tw_end(&w);
	ow_pq_tw_end(&w);
	ow_pq_tw_i64(&w, 2, tcs);
	ow_pq_tw_i64(&w, 3, rows);
	ow_pq_tw_end(&w);
	ow_pq_tw_end(&w);
	ow_buf_add(img, foot.data, foot.len);
	uint8_t tail[8];
	ow_put_u32(tail, (uint32_t)foot.len);
	memcpy(tail + 4, "PAR1", 4);
	ow_buf_add(img, tail, 8);
	ow_buf_free(&foot);
}

/* A data page header of nv values (PLAIN), usize and csize bytes, then body. */
static void craft_page(ow_buf_t *out, int32_t nv, int32_t usize, const void *body, size_t csize)
{
	ow_pq_tw_t w;
	out->len = 0;
	ow_pq_tw_init(&w, out);
	ow_pq_tw_begin(&w);
	ow_pq_tw_i32(&w, 1, 0);
	ow_pq_tw_i32(&w, 2, usize);
	ow_pq_tw_i32(&w, 3, (int32_t)csize);
	ow_pq_tw_struct(&w, 5);
	ow_pq_tw_i32(&w, 1, nv);
	ow_pq_tw_i32(&w, 2, OW_PQ_E_PLAIN);
	ow_pq_tw_i32(&w, 3, OW_PQ_E_RLE);
	ow_pq_tw_end(&w);
	ow_pq_tw_end(&w);
	ow_buf_add(out, body, csize);
}

/* Opens img and reads its column: the error (NULL: it read). */
static const char *craft_read(const ow_buf_t *img)
{
	ow_pq_file_t *f;
	if (ow_pq_open(img->data, img->len, &f, err, sizeof(err)) != OW_OK)
		return err;
	ow_col_t c = {0};
	int rc = ow_pq_read_column(f, -1, 0, &c, err, sizeof(err));
	ow_col_free(&c);
	ow_pq_close(f);
	return rc == OW_OK ? NULL : err;
}

static void test_hostile(void)
{
	ow_buf_t img = {0}, page = {0};
	int64_t eight[2] = {7, 8};
	craft_page(&page, 2, 16, eight, 16);
	const char *e = craft_read((craft(&img, 2, 0, &page, 0), &img));
	ok(e == NULL, "a crafted file of two rows reads (%s)", e ? e : "ok");

	/* rows a chunk cannot hold: refused at open, before any allocation */
	e = craft_read((craft(&img, (int64_t)1 << 40, 0, &page, 0), &img));
	ok(e && strstr(e, "1099511627776 rows cannot be in"), "2^40 rows in a %zu-byte file: %s",
	   img.len, e ? e : "read");
	/* a page of 2^24 values in 16 bytes, in a chunk padded so that the
	 * row group's count passes: refused at the page */
	craft_page(&page, 1 << 24, 16, eight, 16);
	e = craft_read((craft(&img, 1 << 24, 0, &page, (1 << 24) / OW_PQ_VALUES_PER_BYTE), &img));
	ok(e && strstr(e, "a page of 16777216 values cannot be in"), "%s", e ? e : "read");

	/* zstd: a frame must state its content size, the page's */
	ZSTD_CCtx *z = ZSTD_createCCtx();
	uint8_t frame[256];
	for (int known = 0; known <= 1; known++) {
		ZSTD_CCtx_setParameter(z, ZSTD_c_contentSizeFlag, known);
		size_t n = ZSTD_compress2(z, frame, sizeof(frame), eight, 16);
		craft_page(&page, 2, 16, frame, n);
		e = craft_read((craft(&img, 2, 6, &page, 0), &img));
		if (known)
			ok(e == NULL, "a zstd page stating its size reads (%s)", e ? e : "ok");
		else
			ok(e && strstr(e, "zstd frame does not state its page's size"),
			   "a zstd frame without its content size: %s", e ? e : "read");
	}
	/* a frame that says 16 bytes under a header that says 1 GiB, and the
	 * other way round: nothing allocated for the claim */
	size_t n = ZSTD_compress2(z, frame, sizeof(frame), eight, 16);
	craft_page(&page, 2, 1 << 30, frame, n);
	e = craft_read((craft(&img, 2, 6, &page, 0), &img));
	ok(e && strstr(e, "zstd frame does not state its page's size"), "a header of 1 GiB: %s",
	   e ? e : "read");
	ZSTD_freeCCtx(z);

	/* our writer's densest pages (all nulls, OW_PQ_PAGE_ROWS_MAX rows,
	 * asked for more) still read */
	static const ow_pq_coldef_t defs[] = {
	    {"n", OW_PQ_INT64, OW_PQ_L_NONE, 0, 1, OW_PQ_ENC_PLAIN, 0},
	};
	ow_table_t t;
	ow_table_init(&t, defs, 1);
	size_t rows = 3 * (size_t)OW_PQ_PAGE_ROWS_MAX;
	for (size_t i = 0; i < rows; i++)
		ow_col_null(&t.cols[0]);
	t.nrows = rows;
	for (int level = 0; level <= 3; level += 3) {
		ow_pq_opts_t o = {level, 0, NULL, 0, 0, 10 * (size_t)OW_PQ_PAGE_ROWS_MAX};
		ow_pq_file_t *f = NULL;
		ow_col_t got = {0};
		ok(write_img(&t, NULL, &o, &img) == OW_OK &&
		       ow_pq_open(img.data, img.len, &f, err, sizeof(err)) == OW_OK &&
		       ow_pq_read_column(f, -1, 0, &got, err, sizeof(err)) == OW_OK &&
		       got.nrows == rows && got.nvals == 0,
		   "zstd level %d: %zu null rows in %zu bytes, pages of at most %d rows, read back",
		   level, rows, img.len, OW_PQ_PAGE_ROWS_MAX);
		if (f)
			ow_pq_close(f);
		ow_col_free(&got);
	}
	ow_table_free(&t);
	ow_buf_free(&img);
	ow_buf_free(&page);
}

static void test_write_errors(void)
{
	static const ow_pq_coldef_t defs[] = {
	    {"a", OW_PQ_INT64, OW_PQ_L_NONE, 0, 0, OW_PQ_ENC_PLAIN, 0},
	};
	ow_table_t t;
	ow_table_init(&t, defs, 1);
	for (int i = 0; i < 100000; i++)
		ow_col_i64(&t.cols[0], i);
	t.nrows = 100000;
	int fd = open("/dev/full", O_WRONLY);
	errno = 0;
	int rc = ow_pq_write(fd, &t, NULL, NULL, err, sizeof(err));
	int e = errno;
	close(fd);
	ok(rc == OW_ERROR && e == ENOSPC && strstr(err, "write"),
	   "a full disk: OW_ERROR, errno ENOSPC, \"%s\"", err);
	int devnull = open("/dev/null", O_WRONLY);
	ow_col_null(&t.cols[0]);
	t.nrows++;
	ok(ow_pq_write(devnull, &t, NULL, NULL, err, sizeof(err)) == OW_ERROR && errno == EINVAL,
	   "a null in a required column: %s", err);
	ow_table_free(&t);

	static const ow_pq_coldef_t bad[] = {
	    {"s", OW_PQ_BYTE_ARRAY, OW_PQ_L_STRING, 0, 0, OW_PQ_ENC_DELTA, 0},
	};
	ow_table_init(&t, bad, 1);
	ok(ow_pq_write(devnull, &t, NULL, NULL, err, sizeof(err)) == OW_ERROR,
	   "DELTA on BYTE_ARRAY: %s", err);
	ow_table_free(&t);
	static const ow_pq_coldef_t bad2[] = {
	    {"s", OW_PQ_INT32, OW_PQ_L_STRING, 0, 0, OW_PQ_ENC_PLAIN, 0},
	};
	ow_table_init(&t, bad2, 1);
	ok(ow_pq_write(devnull, &t, NULL, NULL, err, sizeof(err)) == OW_ERROR,
	   "STRING on INT32: %s", err);
	ow_table_free(&t);

	ow_table_init(&t, defs, 1);
	ow_col_i64(&t.cols[0], 1);
	t.nrows = 1;
	uint32_t perm[] = {5};
	ok(ow_pq_write(devnull, &t, perm, NULL, err, sizeof(err)) == OW_ERROR,
	   "a perm past the rows: %s", err);
	ow_table_free(&t);
	close(devnull);
}

/* ---- samples for DuckDB and hyparquet ---- */

static void json_str(ow_buf_t *j, const uint8_t *p, size_t n)
{
	ow_buf_addstr(j, "\"");
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '"' || p[i] == '\\')
			ow_buf_printf(j, "\\%c", p[i]);
		else if (p[i] < 0x20)
			ow_buf_printf(j, "\\u%04x", p[i]);
		else
			ow_buf_add(j, p + i, 1);
	}
	ow_buf_addstr(j, "\"");
}

static void json_hex(ow_buf_t *j, const uint8_t *p, size_t n)
{
	ow_buf_addstr(j, "\"");
	for (size_t i = 0; i < n; i++)
		ow_buf_printf(j, "%02x", p[i]);
	ow_buf_addstr(j, "\"");
}

/* A value as the sample test compares it: 64-bit integers as decimal
 * strings, NaN and infinities as strings, binary as hex. */
static void json_value(ow_buf_t *j, const ow_pq_coldef_t *d, const uint8_t *v, size_t n)
{
	int32_t i32;
	int64_t i64;
	double f;
	if (!v) {
		ow_buf_addstr(j, "null");
		return;
	}
	switch (d->type) {
	case OW_PQ_BOOLEAN:
		ow_buf_addstr(j, *v ? "true" : "false");
		break;
	case OW_PQ_INT32:
		memcpy(&i32, v, 4);
		if (d->logical == OW_PQ_L_UINT8 || d->logical == OW_PQ_L_UINT32)
			ow_buf_printf(j, "%u", (uint32_t)i32);
		else
			ow_buf_printf(j, "%d", i32);
		break;
	case OW_PQ_INT64:
		memcpy(&i64, v, 8);
		if (d->logical == OW_PQ_L_UINT64)
			ow_buf_printf(j, "\"%llu\"", (unsigned long long)i64);
		else
			ow_buf_printf(j, "\"%lld\"", (long long)i64);
		break;
	case OW_PQ_DOUBLE:
		memcpy(&f, v, 8);
		if (isnan(f))
			ow_buf_addstr(j, "\"NaN\"");
		else if (isinf(f))
			ow_buf_addstr(j, f > 0 ? "\"Infinity\"" : "\"-Infinity\"");
		else
			ow_buf_printf(j, "%.17g", f);
		break;
	case OW_PQ_BYTE_ARRAY:
		if (d->logical != OW_PQ_L_NONE) {
			json_str(j, v, n);
			break;
		}
		json_hex(j, v, n);
		break;
	default:
		json_hex(j, v, n);
	}
}

static const char *duck_type(const ow_pq_coldef_t *d)
{
	switch (d->logical) {
	case OW_PQ_L_STRING:
		return "VARCHAR";
	case OW_PQ_L_JSON:
		return "JSON";
	case OW_PQ_L_TIMESTAMP_NS:
		return "TIMESTAMP_NS";
	case OW_PQ_L_UINT8:
		return "UTINYINT";
	case OW_PQ_L_UINT32:
		return "UINTEGER";
	case OW_PQ_L_UINT64:
		return "UBIGINT";
	case OW_PQ_L_INT8:
		return "TINYINT";
	case OW_PQ_L_INT16:
		return "SMALLINT";
	}
	switch (d->type) {
	case OW_PQ_BOOLEAN:
		return "BOOLEAN";
	case OW_PQ_INT32:
		return "INTEGER";
	case OW_PQ_INT64:
		return "BIGINT";
	case OW_PQ_DOUBLE:
		return "DOUBLE";
	default:
		return "BLOB";
	}
}

static const char *enc_name(int e)
{
	switch (e) {
	case OW_PQ_E_PLAIN:
		return "PLAIN";
	case OW_PQ_E_RLE:
		return "RLE";
	case OW_PQ_E_DELTA_BINARY_PACKED:
		return "DELTA_BINARY_PACKED";
	case OW_PQ_E_RLE_DICTIONARY:
		return "RLE_DICTIONARY";
	default:
		return "?";
	}
}

/* Writes dir/name and appends its description to j. */
static void sample(ow_buf_t *j, const char *dir, const char *name, const ow_table_t *t,
		   const uint32_t *perm, const ow_pq_opts_t *o, const char *probe_col)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ok(fd >= 0 && ow_pq_write(fd, t, perm, o, err, sizeof(err)) == OW_OK, "sample %s written",
	   name);
	close(fd);
	ow_buf_t img = {0};
	ow_pq_file_t *f;
	if (ow_pq_read_file(path, &img) != OW_OK ||
	    ow_pq_open(img.data, img.len, &f, err, sizeof(err)) != OW_OK) {
		ok(0, "sample %s opens", name);
		return;
	}
	ow_buf_printf(j, "%s{\"file\":\"%s\",\"rows\":%zu,\"row_groups\":%d,\"codec\":\"%s\",",
		      j->len > 1 ? ",\n" : "", name, t->nrows, ow_pq_num_row_groups(f),
		      o->zstd_level ? "ZSTD" : "UNCOMPRESSED");
	ow_buf_addstr(j, "\"kv\":{");
	for (int i = 0; i < o->nkv; i++) {
		ow_buf_addstr(j, i ? "," : "");
		json_str(j, (const uint8_t *)o->kv[i].key, strlen(o->kv[i].key));
		ow_buf_addstr(j, ":");
		json_str(j, (const uint8_t *)o->kv[i].value, strlen(o->kv[i].value));
	}
	ow_buf_addstr(j, "},\"columns\":[");
	for (int c = 0; c < t->ncols; c++) {
		const ow_pq_coldef_t *d = &t->defs[c];
		ow_buf_printf(j, "%s{\"name\":\"%s\",\"type\":\"%s\",\"optional\":%s,\"bloom\":%s,",
			      c ? "," : "", d->name, duck_type(d), d->optional ? "true" : "false",
			      d->bloom ? "true" : "false");
		/* encodings of each row group, as the writer meant them */
		ow_buf_addstr(j, "\"encodings\":[");
		for (int g = 0; g < ow_pq_num_row_groups(f); g++) {
			ow_pq_chunk_t ci;
			ow_pq_chunk(f, g, c, &ci);
			ow_buf_addstr(j, g ? ",[" : "[");
			int first = 1;
			for (int e = 0; e < 32; e++)
				if (ci.encodings & 1u << e) {
					ow_buf_printf(j, "%s\"%s\"", first ? "" : ",", enc_name(e));
					first = 0;
				}
			ow_buf_addstr(j, "]");
		}
		ow_buf_addstr(j, "]}");
	}
	ow_buf_addstr(j, "],\"data\":[");
	uint32_t **ix = calloc((size_t)t->ncols, sizeof(*ix));
	for (int c = 0; c < t->ncols; c++)
		ix[c] = value_index(&t->cols[c]);
	for (size_t i = 0; i < t->nrows; i++) {
		size_t row = perm ? perm[i] : i;
		ow_buf_addstr(j, i ? ",\n[" : "\n[");
		for (int c = 0; c < t->ncols; c++) {
			size_t len = 0;
			const uint8_t *v = row_value(&t->defs[c], &t->cols[c], ix[c], row, &len);
			ow_buf_addstr(j, c ? "," : "");
			json_value(j, &t->defs[c], v, len);
		}
		ow_buf_addstr(j, "]");
	}
	ow_buf_addstr(j, "]");
	if (probe_col) {
		/* a value present in the middle row group, and one absent */
		int c = ow_pq_find_column(f, probe_col);
		size_t row = perm ? perm[t->nrows / 2] : t->nrows / 2, len;
		const uint8_t *v = row_value(&t->defs[c], &t->cols[c], ix[c], row, &len);
		uint8_t absent[16];
		memset(absent, 0x5a, sizeof(absent));
		ow_buf_printf(j, ",\"probe\":{\"column\":\"%s\",\"present\":", probe_col);
		json_hex(j, v, len);
		ow_buf_addstr(j, ",\"absent\":");
		json_hex(j, absent, 16);
		ow_buf_printf(j, ",\"absent_in_filters\":%d}",
			      !ow_pq_bloom_check(f, 0, c, absent, 16) &&
				  !ow_pq_bloom_check(f, 1, c, absent, 16) &&
				  !ow_pq_bloom_check(f, 2, c, absent, 16));
	}
	ow_buf_addstr(j, "}");
	for (int c = 0; c < t->ncols; c++)
		free(ix[c]);
	free(ix);
	ow_pq_close(f);
	ow_buf_free(&img);
}

static void samples(const char *dir)
{
	ow_buf_t j = {0};
	ow_buf_addstr(&j, "[");

	/* every combination, three row groups, bloom-filtered trace_id and
	 * name, a DELTA timestamp, a column null in a whole row group */
	static ow_pq_coldef_t all[128];
	int n = every_combination(all);
	int trace = n, name = n + 1, time = n + 2, sparse = n + 3;
	all[trace] = (ow_pq_coldef_t){"trace_id", OW_PQ_FIXED, 0, 16, 0, OW_PQ_ENC_PLAIN, 1};
	all[name] =
	    (ow_pq_coldef_t){"name", OW_PQ_BYTE_ARRAY, OW_PQ_L_STRING, 0, 1, OW_PQ_ENC_DICT, 1};
	all[time] =
	    (ow_pq_coldef_t){"time", OW_PQ_INT64, OW_PQ_L_TIMESTAMP_NS, 0, 0, OW_PQ_ENC_DELTA, 0};
	all[sparse] =
	    (ow_pq_coldef_t){"sparse", OW_PQ_INT64, OW_PQ_L_NONE, 0, 1, OW_PQ_ENC_DELTA, 0};
	ow_table_t t;
	ow_table_init(&t, all, n + 4);
	fill(&t, n, 1000, 60, 20);
	for (size_t i = 0; i < 1000; i++) {
		uint8_t id[16];
		char s[32];
		for (int k = 0; k < 16; k++)
			id[k] = (uint8_t)mix(i * 16 + (size_t)k + 99);
		/* the probe (the middle row) is printable: DuckDB 1.5 hashes a
		 * BLOB constant's escaped text for bloom filters, which only
		 * equals its bytes when they are printable (see the .t file) */
		if (i == 500)
			memcpy(id, "openwit-trace-01", 16);
		ow_col_fixed(&t.cols[trace], id, 16);
		if (i % 7 == 0) {
			ow_col_null(&t.cols[name]);
		} else {
			int l = snprintf(s, sizeof(s), "op-%zu", i % 13);
			ow_col_bytes(&t.cols[name], s, (size_t)l);
		}
		ow_col_i64(&t.cols[time], 1700000000000000000 + (int64_t)(i * 1000003));
		if (i < 800 && i % 3)
			ow_col_i64(&t.cols[sparse], (int64_t)(i * i));
		else
			ow_col_null(&t.cols[sparse]);
	}
	ow_pq_kv_t kv[] = {{"openwit.sample", "all"}, {"k2", "v\"2"}};
	ow_pq_opts_t o = {3, 400, kv, 2, 0, 0};
	sample(&j, dir, "all.parquet", &t, NULL, &o, "trace_id");

	/* the same, uncompressed, shuffled, one row group */
	uint32_t *perm = shuffled(t.nrows);
	ow_pq_opts_t o2 = {0, 0, NULL, 0, 0, 0};
	sample(&j, dir, "shuffled.parquet", &t, perm, &o2, NULL);
	free(perm);
	ow_table_free(&t);

	/* many pages and dictionary fall-back */
	static const ow_pq_coldef_t big[] = {
	    {"id", OW_PQ_INT64, OW_PQ_L_NONE, 0, 0, OW_PQ_ENC_DICT, 1},
	    {"msg", OW_PQ_BYTE_ARRAY, OW_PQ_L_STRING, 0, 1, OW_PQ_ENC_DICT, 0},
	    {"level", OW_PQ_BYTE_ARRAY, OW_PQ_L_STRING, 0, 0, OW_PQ_ENC_DICT, 0},
	    {"time", OW_PQ_INT64, OW_PQ_L_TIMESTAMP_NS, 0, 0, OW_PQ_ENC_DELTA, 0},
	};
	ow_table_init(&t, big, 4);
	for (size_t i = 0; i < 60000; i++) {
		char s[128];
		ow_col_i64(&t.cols[0], (int64_t)mix(i + 5));
		if (i % 9 == 0) {
			ow_col_null(&t.cols[1]);
		} else {
			int l = snprintf(s, sizeof(s), "message number %zu, unique: %llu", i,
					 (unsigned long long)mix(i));
			ow_col_bytes(&t.cols[1], s, (size_t)l);
		}
		static const char *lv[] = {"INFO", "WARN", "ERROR"};
		ow_col_bytes(&t.cols[2], lv[i % 3], strlen(lv[i % 3]));
		ow_col_i64(&t.cols[3], 1700000000000000000 + (int64_t)(i * 999));
	}
	t.nrows = 60000;
	ow_pq_opts_t o3 = {3, 0, NULL, 0, 0, 0};
	sample(&j, dir, "big.parquet", &t, NULL, &o3, NULL);
	ow_table_free(&t);

	ow_buf_addstr(&j, "]\n");
	char path[4096];
	snprintf(path, sizeof(path), "%s/expected.json", dir);
	FILE *fp = fopen(path, "w");
	ok(fp && fwrite(j.data, 1, j.len, fp) == j.len && fclose(fp) == 0, "expected.json written");
	ow_buf_free(&j);
}

/* Page statistics and ow_pq_read_column_pf: x >= 5000 over 10 pages of
 * 1000 rows. */
static int at_least_5000(void *arg, const ow_pq_stats_t *st, int64_t rows, size_t row0)
{
	int *calls = arg;
	(void)row0;
	++*calls;
	if (!st->has_minmax || st->max_len != 8 || rows != 1000)
		return 1;
	return (int64_t)ow_get_u64(st->max) >= 5000;
}

/* got: the pages' values come in order, each call the values after the
 * last call's (count: values seen, pages: calls; -1 once out of order). */
typedef struct {
	size_t count;
	int pages;
} seen_t;

static void seen_page(void *arg, const ow_col_t *out, size_t from)
{
	seen_t *s = arg;
	size_t to = out->offs.len ? out->offs.len / 4 : out->fixed.len / 8;
	if (s->pages < 0 || from != s->count || to <= from) {
		s->pages = -1;
		return;
	}
	s->count = to;
	s->pages++;
}

static int seen_may(void *arg, const ow_pq_stats_t *st, int64_t rows, size_t row0)
{
	(void)arg;
	return at_least_5000(&(int){0}, st, rows, row0);
}

/* x >= 5000 where every row of a page from 8000 on passes (2): the first
 * rows of those pages recorded */
typedef struct {
	size_t row0[16];
	int n;
} passed_t;

static int pass_from_8000(void *arg, const ow_pq_stats_t *st, int64_t rows, size_t row0)
{
	passed_t *p = arg;
	if (!at_least_5000(&(int){0}, st, rows, row0))
		return 0;
	if ((int64_t)ow_get_u64(st->min) < 8000 || st->null_count != 0 || p->n == 16)
		return 1;
	p->row0[p->n++] = row0;
	return 2;
}

static void test_page_stats(void)
{
	static const ow_pq_coldef_t defs[] = {
	    {"x", OW_PQ_INT64, OW_PQ_L_NONE, 0, 0, OW_PQ_ENC_DELTA, 0},
	    {"s", OW_PQ_BYTE_ARRAY, OW_PQ_L_STRING, 0, 1, OW_PQ_ENC_DICT, 0},
	};
	enum { N = 10000 };
	ow_table_t t;
	ow_table_init(&t, defs, 2);
	for (size_t i = 0; i < N; i++) {
		char s[16];
		ow_col_i64(&t.cols[0], (int64_t)i);
		if (i % 7 == 0) {
			ow_col_null(&t.cols[1]);
		} else {
			int n = snprintf(s, sizeof(s), "s%zu", i / 100);
			ow_col_bytes(&t.cols[1], s, (size_t)n);
		}
	}
	t.nrows = N;
	ow_buf_t img = {0};
	ow_pq_opts_t o = {3, 0, NULL, 0, 0, 1000};
	ow_pq_file_t *f;
	ok(write_img(&t, NULL, &o, &img) == OW_OK, "pages of 1000 rows written");
	if (ow_pq_open(img.data, img.len, &f, err, sizeof(err)) != OW_OK) {
		ok(0, "open: %s", err);
		return;
	}
	uint8_t *sel = malloc(N);
	memset(sel, 1, N);
	int calls = 0;
	ow_pq_pagefilter_t pf = {at_least_5000, &calls, sel, NULL};
	ow_col_t got = {0};
	int64_t stored = 0;
	ow_pq_chunk_t ci;
	ok(ow_pq_read_column_pf(f, 0, 0, sel, &pf, &got, NULL, NULL, &stored, err, sizeof(err)) ==
	       OW_OK,
	   "read with a page filter");
	size_t kept = 0, right = 0, nulls = 0;
	for (size_t i = 0; i < N; i++) {
		kept += sel[i];
		if (i < 5000)
			nulls += !got.defs.data[i];
		else
			right += got.defs.data[i] &&
				 (int64_t)ow_get_u64(got.fixed.data + 8 * (i - 5000)) == (int64_t)i;
	}
	is_int(calls, 10, "every page had statistics");
	is_int(kept, 5000, "the rows of the 5 pages ruled out left the selection");
	is_int(nulls, 5000, "their rows read as NULL, not decoded");
	is_int(right, 5000, "the rows of the other pages read as written");
	is_int(got.nrows, N, "all the row group's rows");
	int64_t half = stored;
	ow_pq_chunk(f, 0, 0, &ci);
	ok(half > 0 && half < ci.bytes * 2 / 3,
	   "the bytes of the pages read counted, not the chunk's (%lld of %lld)", (long long)half,
	   (long long)ci.bytes);
	/* the pages of s carry their own bounds and null counts */
	ow_col_t full = {0};
	ow_pq_read_column(f, 0, 1, &full, err, sizeof(err));
	calls = 0;
	memset(sel, 1, N);
	ow_col_t again = {0};
	ow_pq_pagefilter_t none = {at_least_5000, &calls, sel, NULL};
	stored = 0;
	ow_pq_read_column_pf(f, 0, 1, sel, &none, &again, NULL, NULL, &stored, err, sizeof(err));
	ok(calls == 10 && again.nvals == full.nvals && again.data.len == full.data.len &&
	       memcmp(again.data.data, full.data.data, full.data.len) == 0,
	   "a text column's pages have statistics; a filter that keeps them all reads every value");
	ow_pq_chunk(f, 0, 1, &ci);
	is_int(stored, ci.bytes, "every page read (the dictionary's too): the chunk's bytes");
	/* got: each page's values as it is decoded, not the pages skipped */
	seen_t seen = {0};
	ow_pq_pagefilter_t hook = {seen_may, &seen, sel, seen_page};
	memset(sel, 1, N);
	ow_col_t hooked = {0};
	ow_pq_read_column_pf(f, 0, 1, sel, &hook, &hooked, NULL, NULL, NULL, err, sizeof(err));
	ok(seen.pages == 10 && seen.count == full.nvals,
	   "got: the 10 pages of text values in order, %zu values (%d calls)", seen.count,
	   seen.pages);
	seen = (seen_t){0};
	memset(sel, 1, N);
	ow_col_free(&hooked);
	hooked = (ow_col_t){0};
	ow_pq_read_column_pf(f, 0, 0, sel, &hook, &hooked, NULL, NULL, NULL, err, sizeof(err));
	ok(seen.pages == 5 && seen.count == 5000,
	   "got: the 5 pages of integers read, not the 5 ruled out (%zu values, %d calls)",
	   seen.count, seen.pages);
	/* 2: the pages whose rows all pass are not read, their rows stay */
	passed_t passed = {0};
	ow_pq_pagefilter_t pass = {pass_from_8000, &passed, sel, NULL};
	memset(sel, 1, N);
	ow_col_free(&hooked);
	hooked = (ow_col_t){0};
	ok(ow_pq_read_column_pf(f, 0, 0, sel, &pass, &hooked, NULL, NULL, NULL, err, sizeof(err)) ==
	       OW_OK,
	   "read with pages that pass whole");
	kept = right = nulls = 0;
	for (size_t i = 0; i < N; i++) {
		kept += sel[i];
		if (i < 5000 || i >= 8000)
			nulls += !hooked.defs.data[i];
		else
			right +=
			    hooked.defs.data[i] &&
			    (int64_t)ow_get_u64(hooked.fixed.data + 8 * (i - 5000)) == (int64_t)i;
	}
	ok(passed.n == 2 && passed.row0[0] == 8000 && passed.row0[1] == 9000,
	   "the two pages from 8000 on pass whole, told by their first rows");
	is_int(kept, 5000, "their rows stay selected, the 5 pages ruled out left");
	is_int(nulls, 7000, "the rows of the pages passed or ruled out read as NULL, not decoded");
	is_int(right, 3000, "the pages between read as written");
	is_int(hooked.nrows, N, "all the row group's rows");
	ow_col_free(&hooked);
	/* each data page's rows and statistics (by_bound cuts row groups so) */
	ow_pq_pagestat_t *ps;
	size_t np, ps_right = 0;
	ok(ow_pq_page_stats(f, 0, 0, &ps, &np) == OW_OK && np == N / 1000,
	   "page statistics of x: a page each 1000 rows");
	for (size_t k = 0; k < np; k++) {
		int64_t lo, hi;
		memcpy(&lo, ps[k].st.min, 8), memcpy(&hi, ps[k].st.max, 8);
		ps_right += ps[k].row0 == k * 1000 && ps[k].rows == 1000 && ps[k].st.has_minmax &&
			    lo == (int64_t)(k * 1000) && hi == (int64_t)(k * 1000 + 999) &&
			    ps[k].st.null_count == 0;
	}
	is_int(ps_right, N / 1000, "each page's first row, rows, min, max and nulls");
	free(ps);
	ok(ow_pq_page_stats(f, 0, 1, &ps, &np) == OW_OK && np == N / 1000 &&
	       ps[0].st.null_count == 143,
	   "a text column's pages, their nulls counted");
	free(ps);
	ok(ow_pq_page_stats(f, 1, 0, &ps, &np) == OW_ERROR && !ps && !np, "no row group 1");
	ow_pq_forget_stats(f, 0);
	ok(ow_pq_page_stats(f, 0, 0, &ps, &np) == OW_ERROR && !ps,
	   "a column whose statistics are forgotten has none by page either");
	/* a chunk's dictionary decoded by the read of one page, lent to the
	 * read of another (ow_pq_chunkdict_t): the same values, its bytes not
	 * read again */
	ow_pq_chunkdict_t cd = {0};
	ow_col_t one = {0}, lent = {0}, alone = {0};
	int64_t first = 0, with = 0, without = 0;
	memset(sel, 0, N);
	memset(sel + 2000, 1, 1000);
	ok(ow_pq_read_column_pf(f, 0, 1, sel, NULL, &one, NULL, &cd, &first, err, sizeof(err)) ==
		   OW_OK &&
	       cd.has && cd.rg == 0 && cd.col == 1 && cd.entries.nvals > 0,
	   "a page's read keeps its chunk's dictionary");
	memset(sel, 0, N);
	memset(sel + 5000, 1, 1000);
	ow_pq_read_column_pf(f, 0, 1, sel, NULL, &alone, NULL, NULL, &without, err, sizeof(err));
	ok(ow_pq_read_column_pf(f, 0, 1, sel, NULL, &lent, NULL, &cd, &with, err, sizeof(err)) ==
		   OW_OK &&
	       lent.nrows == alone.nrows && lent.nvals == alone.nvals &&
	       buf_same(&lent.defs, &alone.defs) && buf_same(&lent.offs, &alone.offs) &&
	       buf_same(&lent.data, &alone.data),
	   "another page read with the dictionary lent: the values read without it");
	ok(with > 0 && without - with > 0 && first - with == without - with,
	   "the dictionary page not read again: %lld bytes, not %lld", (long long)with,
	   (long long)without);
	ow_pq_chunkdict_t other = {.rg = 0, .col = 0, .has = 1}; /* column 0's: not lent */
	ow_col_t not_lent = {0};
	int64_t own = 0;
	ow_pq_read_column_pf(f, 0, 1, sel, NULL, &not_lent, NULL, &other, &own, err, sizeof(err));
	ok(own == without && other.has && other.col == 1 && other.entries.nvals == cd.entries.nvals,
	   "a dictionary of another chunk is not lent; the one decoded takes its place");
	ow_col_free(&other.entries);
	ow_col_free(&one);
	ow_col_free(&lent);
	ow_col_free(&alone);
	ow_col_free(&not_lent);
	ow_col_free(&cd.entries);
	free(sel);
	ow_col_free(&got);
	ow_col_free(&full);
	ow_col_free(&again);
	ow_pq_close(f);
	ow_buf_free(&img);
	ow_table_free(&t);
}

/* ow_count_ones (core.h), which counts definition bytes: every length
 * and start around its word and 255-word steps, against a byte loop */
static void test_count_ones(void)
{
	enum { N = 8 * 255 * 3 + 40 };
	static uint8_t d[N];
	uint64_t x = 88172645463325252u;
	for (size_t i = 0; i < N; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		d[i] = i >= 4000 && i < 6100 ? 1 : (uint8_t)(x & 1);
	}
	int bad = 0;
	for (size_t from = 0; from < 9; from++)
		for (size_t n = 0; from + n <= N; n += n < 64 ? 1 : 61) {
			size_t want = 0;
			for (size_t i = from; i < from + n; i++)
				want += d[i];
			bad += ow_count_ones(d + from, n) != want;
		}
	is_int(bad, 0, "ow_count_ones agrees with a byte loop at every length and start");
	is_int(ow_count_ones(d + 4000, 2100), 2100, "2100 ones in a row");
}

/* A column whose values share entries (refs, as a merge reads them):
 * appended to plain values and plain values to it, it writes the same
 * file as the same rows written plainly, in row order and in perm order;
 * a ref past the entries is refused. */
static void test_refs(void)
{
	static const ow_pq_coldef_t defs[] = {
	    {"res", OW_PQ_BYTE_ARRAY, OW_PQ_L_JSON, 0, 1, OW_PQ_ENC_DICT, 0},
	    {"msg", OW_PQ_BYTE_ARRAY, OW_PQ_L_STRING, 0, 0, OW_PQ_ENC_PLAIN, 0},
	};
	enum { N = 3000, K = 7 };
	ow_table_t plain, shared;
	ow_table_init(&plain, defs, 2);
	ow_table_init(&shared, defs, 2);
	ow_col_t part = {0}; /* rows [1000, 2000) as a merge gets them: entries + refs */
	ow_col_t head = {0}, tail = {0};
	char s[128];
	for (uint32_t k = 0; k < K; k++) {
		int n = snprintf(s, sizeof(s), "{\"service.name\":\"svc-%u\"}", k);
		ow_col_bytes(&part, s, (size_t)n);
	}
	part.nvals = 0;
	part.nrows = 0;
	part.defs.len = 0;
	for (size_t r = 0; r < N; r++) {
		if (r == 1000 || r == 2000) /* plain rows, then the part's, then plain */
			ow_col_append(&shared.cols[0], r == 1000 ? &head : &part);
		int n = snprintf(s, sizeof(s), "message %zu", r * 7919 % N);
		ow_col_bytes(&plain.cols[1], s, (size_t)n);
		ow_col_bytes(&shared.cols[1], s, (size_t)n);
		if (r % 5 == 2) {
			ow_col_null(&plain.cols[0]);
			ow_col_null(r < 1000 ? &head : r < 2000 ? &part : &tail);
			continue;
		}
		uint32_t k = (uint32_t)(mix(r) % K);
		n = snprintf(s, sizeof(s), "{\"service.name\":\"svc-%u\"}", k);
		ow_col_bytes(&plain.cols[0], s, (size_t)n);
		if (r >= 1000 && r < 2000) {
			ow_buf_add(&part.refs, &k, 4);
			ow_col_defined(&part);
		} else {
			ow_col_bytes(r < 1000 ? &head : &tail, s, (size_t)n);
		}
	}
	ow_col_append(&shared.cols[0], &tail);
	plain.nrows = shared.nrows = N;
	ok(shared.cols[0].refs.len == shared.cols[0].nvals * 4 &&
	       shared.cols[0].offs.len / 4 < shared.cols[0].nvals,
	   "appended, the column has a ref a value and fewer entries (%zu) than values (%zu)",
	   shared.cols[0].offs.len / 4, shared.cols[0].nvals);
	uint32_t *perm = malloc(N * sizeof(*perm));
	for (uint32_t i = 0; i < N; i++)
		perm[i] = (uint32_t)(mix(i + 17) % N);
	for (int with_perm = 0; with_perm < 2; with_perm++) {
		ow_pq_opts_t o = {3, 1000, NULL, 0, with_perm ? N : 0, 512};
		ow_buf_t a = {0}, b = {0};
		int ra = write_img(&plain, with_perm ? perm : NULL, &o, &a);
		int rb = write_img(&shared, with_perm ? perm : NULL, &o, &b);
		ok(ra == OW_OK && rb == OW_OK && a.len == b.len &&
		       memcmp(a.data, b.data, a.len) == 0,
		   "%s: the file of shared values is the file of plain ones (%zu bytes)",
		   with_perm ? "in perm order" : "in row order", a.len);
		ow_buf_free(&a);
		ow_buf_free(&b);
	}
	uint32_t bad = (uint32_t)(shared.cols[0].offs.len / 4); /* one past */
	memcpy(shared.cols[0].refs.data + 4 * 1000, &bad, 4);
	ow_pq_opts_t o = {3, 0, NULL, 0, 0, 0};
	ow_buf_t c = {0};
	ok(write_img(&shared, NULL, &o, &c) == OW_ERROR && strstr(err, "past the entries"),
	   "a ref past the entries is refused: %s", err);
	ow_buf_free(&c);
	ow_col_free(&part);
	ow_col_free(&head);
	ow_col_free(&tail);
	free(perm);
	ow_table_free(&plain);
	ow_table_free(&shared);
}

int main(void)
{
	test_count_ones();
	test_refs();
	test_round_trips();
	test_large();
	test_sel_codes();
	test_mixed_chunk();
	test_bloom();
	test_page_stats();
	test_edges();
	test_write_errors();
	test_corruption();
	test_hostile();
	const char *dir = getenv("OW_PQ_SAMPLE_DIR");
	if (dir && *dir)
		samples(dir);
	return done_testing();
}

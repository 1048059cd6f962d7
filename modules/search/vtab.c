/*
 * vtab.c - the virtual tables spans, logs and metrics: eponymous, read
 * only, over the parts of the handle's snapshot (internal.h).
 *
 * xBestIndex takes, from the WHERE clause, the constraints it can prune
 * with: a range (=, <, <=, >, >=) on the time column (spans start_time,
 * logs time, metrics time), and = or IN (all values at once) on a string
 * column (service_name, name, metric_name, ...) or an id column (trace_id,
 * span_id, parent_span_id), when the comparison uses the BINARY collation.
 * Their values reach xFilter, which skips, in this order:
 *   - parts whose catalog min_time/max_time miss the time range (a log
 *     record with time 0 is partitioned by its observed_time: a logs part
 *     may also hold time 0);
 *   - row groups whose column statistics (min/max, null count) rule every
 *     value out, then those whose bloom filter has none of the ids;
 *   - row groups with no matching row, found by decoding the constrained
 *     columns first: the others are decoded only for row groups that have
 *     a match;
 *   - rows that do not match.
 * Pruning only ever drops what cannot match: a value whose comparison
 * SQLite would make with type conversions (a number against a string
 * column, a string against the time) prunes nothing. No constraint is
 * marked omit, so SQLite checks every row it gets again.
 *
 * Only the columns the query uses (colUsed) are decoded, one row group at
 * a time: memory holds the used columns of one row group of one part.
 * Values are converted as search.h says; the JSON columns of a part
 * written before plain JSON (no otlp_exact column: format 1) are
 * converted to plain JSON as they are decoded (modules/columns/convert.c),
 * and their statistics are not used.
 */
#include "internal.h"
#include "../columns/columns.h"

#include <math.h>

/* K_LIKE: a LIKE pattern's literal prefix, compared without ASCII case as
 * SQLite's LIKE does; vals[0] is the prefix in lower case, vals[1] in
 * upper case: a matching string sorts at or after the upper-case form, and
 * its first bytes at or before the lower-case one, which is what the
 * statistics can rule out. SQLite checks the whole pattern again. */
enum { K_NONE, K_TIME, K_STRING, K_ID, K_LIKE };

typedef struct {
	sqlite3_vtab base;
	ow_search_t *s;
	int signal, ncols, time_col;
	const ow_pq_coldef_t *defs;
} tab_t;

/* One pushed-down constraint, or several ANDed on the time column. */
typedef struct {
	int col, kind;
	int64_t lo, hi; /* K_TIME: inclusive */
	size_t nvals;	/* K_STRING, K_ID: a row matches one of these */
	uint8_t **vals;
	size_t *lens;
} filter_t;

typedef struct {
	sqlite3_vtab_cursor base;
	tab_t *t;
	uint64_t used; /* bit c: column c is read */
	filter_t *f;
	int nf, empty;
	size_t part; /* past the parts: the buffered chunks */
	const ow_table_t *chunk;
	int rg;
	size_t row, nrows;
	int eof;
	ow_col_t *cols;
	uint8_t *decoded; /* column decoded for this row group */
	size_t *vpos;	  /* value index of the current row in each decoded column */
	sqlite3_int64 rowid;
} cur_t;

static const char *const table_names[OW_NSIGNALS] = {"spans", "logs", "metrics"};

static int kind_of(const tab_t *t, int col)
{
	const ow_pq_coldef_t *d = &t->defs[col];
	if (col == t->time_col)
		return K_TIME;
	if (d->type == OW_PQ_BYTE_ARRAY && d->logical == OW_PQ_L_STRING)
		return K_STRING;
	if (d->type == OW_PQ_FIXED)
		return K_ID;
	return K_NONE;
}

static const char *sql_type(const ow_pq_coldef_t *d)
{
	switch (d->type) {
	case OW_PQ_BYTE_ARRAY:
	case OW_PQ_FIXED:
		return "TEXT";
	case OW_PQ_DOUBLE:
		return "REAL";
	default:
		return "INTEGER";
	}
}

static int vt_error(tab_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int vt_error(tab_t *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sqlite3_free(t->base.zErrMsg);
	t->base.zErrMsg = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	return SQLITE_ERROR;
}

/* ---- the table ---- */

static int vt_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out,
		      char **errp)
{
	OW_UNUSED(argc);
	OW_UNUSED(argv);
	ow_search_tab_arg_t *a = aux;
	tab_t *t = sqlite3_malloc(sizeof(*t));
	if (!t)
		return SQLITE_NOMEM;
	memset(t, 0, sizeof(*t));
	t->s = a->s;
	t->signal = a->signal;
	t->defs = ow_columns_schema(a->signal);
	t->ncols = ow_columns_ncols(a->signal);
	t->time_col = ow_columns_time_col(a->signal);
	ow_buf_t sql = {0};
	ow_buf_addstr(&sql, "CREATE TABLE x(");
	for (int c = 0; c < t->ncols; c++)
		ow_buf_printf(&sql, "%s%s %s", c ? ", " : "", t->defs[c].name,
			      sql_type(&t->defs[c]));
	ow_buf_add(&sql, ")", 2);
	int rc = sqlite3_declare_vtab(db, (const char *)sql.data);
	ow_buf_free(&sql);
	if (rc != SQLITE_OK) {
		*errp = sqlite3_mprintf("%s", sqlite3_errmsg(db));
		sqlite3_free(t);
		return rc;
	}
	*out = &t->base;
	return SQLITE_OK;
}

static int vt_disconnect(sqlite3_vtab *vt)
{
	sqlite3_free(vt);
	return SQLITE_OK;
}

/* idxStr: colUsed in 16 hex digits, then for each xFilter argument its
 * column in 2 hex digits and its operator: = (one value), i (an IN list),
 * <, l (<=), >, g (>=). */
static int vt_best_index(sqlite3_vtab *vt, sqlite3_index_info *ix)
{
	tab_t *t = (tab_t *)vt;
	char *idx = sqlite3_malloc(17 + 3 * ix->nConstraint);
	if (!idx)
		return SQLITE_NOMEM;
	int n = snprintf(idx, 17, "%016llx", (unsigned long long)ix->colUsed);
	double rows = (double)OW_MAX(t->s->rows[t->signal], 1);
	int argv = 0;
	for (int i = 0; i < ix->nConstraint; i++) {
		const struct sqlite3_index_constraint *c = &ix->aConstraint[i];
		if (!c->usable || c->iColumn < 0)
			continue;
		int kind = kind_of(t, c->iColumn);
		char op;
		switch (c->op) {
		case SQLITE_INDEX_CONSTRAINT_EQ:
			op = '=';
			break;
		case SQLITE_INDEX_CONSTRAINT_LT:
			op = '<';
			break;
		case SQLITE_INDEX_CONSTRAINT_LE:
			op = 'l';
			break;
		case SQLITE_INDEX_CONSTRAINT_GT:
			op = '>';
			break;
		case SQLITE_INDEX_CONSTRAINT_GE:
			op = 'g';
			break;
		case SQLITE_INDEX_CONSTRAINT_LIKE:
			op = 'k';
			break;
		default:
			continue;
		}
		if (op == 'k') {
			if (kind != K_STRING)
				continue;
			ix->aConstraintUsage[i].argvIndex = ++argv;
			n += snprintf(idx + n, 4, "%02x%c", c->iColumn, op);
			rows /= 5;
			continue;
		}
		if (kind == K_NONE || (kind != K_TIME && op != '='))
			continue;
		if (kind != K_TIME && sqlite3_stricmp(sqlite3_vtab_collation(ix, i), "BINARY"))
			continue;
		if (op == '=' && kind != K_TIME && sqlite3_vtab_in(ix, i, 1))
			op = 'i';
		ix->aConstraintUsage[i].argvIndex = ++argv;
		n += snprintf(idx + n, 4, "%02x%c", c->iColumn, op);
		rows /= kind == K_ID ? 1e5 : kind == K_STRING ? 20 : op == '=' ? 100 : 4;
	}
	ix->idxStr = idx;
	ix->needToFreeIdxStr = 1;
	ix->estimatedRows = (sqlite3_int64)OW_MAX(rows, 1);
	ix->estimatedCost = OW_MAX(rows, 1);
	return SQLITE_OK;
}

/* ---- cursors ---- */

static int vt_open(sqlite3_vtab *vt, sqlite3_vtab_cursor **out)
{
	tab_t *t = (tab_t *)vt;
	cur_t *c = ow_calloc(1, sizeof(*c));
	c->t = t;
	c->cols = ow_calloc((size_t)t->ncols, sizeof(ow_col_t));
	c->decoded = ow_calloc((size_t)t->ncols, 1);
	c->vpos = ow_calloc((size_t)t->ncols, sizeof(size_t));
	c->eof = 1;
	*out = &c->base;
	return SQLITE_OK;
}

static void free_filters(cur_t *c)
{
	for (int i = 0; i < c->nf; i++) {
		for (size_t j = 0; j < c->f[i].nvals; j++)
			free(c->f[i].vals[j]);
		free(c->f[i].vals);
		free(c->f[i].lens);
	}
	free(c->f);
	c->f = NULL;
	c->nf = 0;
}

static int vt_close(sqlite3_vtab_cursor *vc)
{
	cur_t *c = (cur_t *)vc;
	free_filters(c);
	for (int i = 0; i < c->t->ncols; i++)
		ow_col_free(&c->cols[i]);
	free(c->cols);
	free(c->decoded);
	free(c->vpos);
	free(c);
	return SQLITE_OK;
}

/* ---- filters from xFilter's arguments ---- */

static filter_t *filter_for(cur_t *c, int col, int kind)
{
	if (kind == K_TIME)
		for (int i = 0; i < c->nf; i++)
			if (c->f[i].kind == K_TIME)
				return &c->f[i];
	filter_t *f = &c->f[c->nf++];
	memset(f, 0, sizeof(*f));
	f->col = col;
	f->kind = kind;
	f->lo = INT64_MIN;
	f->hi = INT64_MAX;
	return f;
}

/* A bound on the time: only an INTEGER value prunes (others compare after
 * conversions this code does not repeat). */
static void time_bound(cur_t *c, filter_t *f, char op, sqlite3_value *v)
{
	if (sqlite3_value_type(v) == SQLITE_NULL) {
		c->empty = 1; /* a comparison with NULL is never true */
		return;
	}
	if (sqlite3_value_type(v) != SQLITE_INTEGER)
		return;
	int64_t x = sqlite3_value_int64(v);
	switch (op) {
	case '=':
		f->lo = OW_MAX(f->lo, x);
		f->hi = OW_MIN(f->hi, x);
		break;
	case '>':
		if (x == INT64_MAX)
			c->empty = 1;
		else
			f->lo = OW_MAX(f->lo, x + 1);
		break;
	case 'g':
		f->lo = OW_MAX(f->lo, x);
		break;
	case '<':
		if (x == INT64_MIN)
			c->empty = 1;
		else
			f->hi = OW_MIN(f->hi, x - 1);
		break;
	case 'l':
		f->hi = OW_MIN(f->hi, x);
		break;
	}
	if (f->lo > f->hi)
		c->empty = 1;
}

int ow_search_unhex(int ch)
{
	return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Adds one value a row may equal. 0 when the value rules nothing out (its
 * comparison converts types: the filter must not prune). */
static int add_value(const tab_t *t, filter_t *f, sqlite3_value *v)
{
	int type = sqlite3_value_type(v);
	if (type == SQLITE_NULL)
		return 1; /* equal to nothing */
	if (type != SQLITE_TEXT)
		return 0;
	const unsigned char *p = sqlite3_value_text(v);
	size_t n = (size_t)sqlite3_value_bytes(v);
	if (!p)
		return 0;
	uint8_t *val;
	size_t len = n;
	if (f->kind == K_ID) {
		/* the column reads as lowercase hex: any other text equals nothing */
		len = (size_t)t->defs[f->col].fixed_len;
		if (n != 2 * len)
			return 1;
		val = ow_alloc(len);
		for (size_t i = 0; i < len; i++) {
			int hi = ow_search_unhex(p[2 * i]), lo = ow_search_unhex(p[2 * i + 1]);
			if (hi < 0 || lo < 0) {
				free(val);
				return 1;
			}
			val[i] = (uint8_t)(hi << 4 | lo);
		}
	} else {
		val = ow_alloc(n ? n : 1);
		memcpy(val, p, n);
	}
	f->vals = ow_realloc(f->vals, (f->nvals + 1) * sizeof(*f->vals));
	f->lens = ow_realloc(f->lens, (f->nvals + 1) * sizeof(*f->lens));
	f->vals[f->nvals] = val;
	f->lens[f->nvals++] = len;
	return 1;
}

/* An = or IN filter; drops it when a value cannot prune. */
static void like_prefix(cur_t *c, int col, sqlite3_value *arg)
{
	const char *pat = (const char *)sqlite3_value_text(arg);
	size_t n = pat ? strcspn(pat, "%_") : 0;
	if (n == 0)
		return; /* no literal prefix: nothing to prune with */
	filter_t *f = &c->f[c->nf++];
	memset(f, 0, sizeof(*f));
	f->col = col;
	f->kind = K_LIKE;
	f->nvals = 2;
	f->vals = ow_calloc(2, sizeof(uint8_t *));
	f->lens = ow_calloc(2, sizeof(size_t));
	f->lens[0] = f->lens[1] =
	    ow_search_like_prefix((const uint8_t *)pat, n, &f->vals[0], &f->vals[1]);
}

size_t ow_search_like_prefix(const uint8_t *pat, size_t n, uint8_t **lower, uint8_t **upper)
{
	size_t k = 0;
	while (k < n && pat[k] != '%' && pat[k] != '_')
		k++;
	n = k;
	*lower = ow_alloc(n + 1);
	*upper = ow_alloc(n + 1);
	for (size_t i = 0; i < n; i++) {
		uint8_t ch = pat[i];
		(*lower)[i] = (uint8_t)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
		(*upper)[i] = (uint8_t)(ch >= 'a' && ch <= 'z' ? ch - 32 : ch);
	}
	return n;
}

static int like_matches(const filter_t *f, const uint8_t *p, size_t n)
{
	if (n < f->lens[0])
		return 0;
	for (size_t i = 0; i < f->lens[0]; i++) {
		uint8_t ch = p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i];
		if (ch != f->vals[0][i])
			return 0;
	}
	return 1;
}

static int equality(cur_t *c, int col, int kind, char op, sqlite3_value *arg)
{
	filter_t *f = filter_for(c, col, kind);
	int prunes = 1, rc = SQLITE_OK;
	if (op == 'i') {
		sqlite3_value *v;
		for (rc = sqlite3_vtab_in_first(arg, &v); rc == SQLITE_OK && v;
		     rc = sqlite3_vtab_in_next(arg, &v))
			prunes &= add_value(c->t, f, v);
		if (rc == SQLITE_DONE)
			rc = SQLITE_OK;
	} else {
		prunes = add_value(c->t, f, arg);
	}
	if (rc != SQLITE_OK || !prunes) {
		for (size_t j = 0; j < f->nvals; j++)
			free(f->vals[j]);
		free(f->vals);
		free(f->lens);
		c->nf--;
		return rc;
	}
	if (f->nvals == 0)
		c->empty = 1;
	return SQLITE_OK;
}

/* ---- pruning ---- */

static int bytes_cmp(const uint8_t *a, size_t la, const uint8_t *b, size_t lb)
{
	int r = memcmp(a, b, OW_MIN(la, lb));
	return r ? r : (la > lb) - (la < lb);
}

static int64_t get_i64(const uint8_t *p)
{
	return (int64_t)ow_get_u64(p);
}

static int part_may_match(const cur_t *c, const ow_search_part_t *p)
{
	for (int i = 0; i < c->nf; i++) {
		const filter_t *f = &c->f[i];
		if (f->kind != K_TIME)
			continue;
		int overlaps = p->max_time >= f->lo && p->min_time <= f->hi;
		int zero = c->t->signal == OW_LOGS && f->lo <= 0 && f->hi >= 0;
		if (!overlaps && !zero)
			return 0;
	}
	return 1;
}

/* Whether [min, max] may hold a string that starts with the prefix, in any
 * ASCII case. The first byte's two cases are tried apart: with both
 * together the bounds would span every string from "Z..." to "z...". */
/* a against b (n >= 1 bytes) with b's first byte read as c0. */
static int cmp_first(const uint8_t *a, size_t la, uint8_t c0, const uint8_t *b, size_t n)
{
	if (la == 0)
		return -1;
	if (a[0] != c0)
		return a[0] < c0 ? -1 : 1;
	return bytes_cmp(a + 1, la - 1, b + 1, n - 1);
}

int ow_search_like_stats(const uint8_t *lower, const uint8_t *upper, size_t n,
			 const ow_pq_stats_t *st)
{
	if (!st->has_minmax || n == 0)
		return 1;
	/* a match starts with the prefix, its first letter in either case
	 * and the rest in any: at or after the upper-case form, its first n
	 * bytes at or before the lower-case one */
	for (int k = 0; k < 2; k++) {
		uint8_t c0 = k ? upper[0] : lower[0];
		if (k == 1 && lower[0] == upper[0])
			break; /* not a letter: one case */
		size_t m = OW_MIN(st->min_len, n);
		if (cmp_first(st->max, st->max_len, c0, upper, n) >= 0 &&
		    (st->min_len == 0 || cmp_first(st->min, m, c0, lower, m) <= 0))
			return 1;
	}
	return 0;
}

static int rg_may_match(const cur_t *c, const ow_search_part_t *p, int rg)
{
	int64_t rows = ow_pq_row_group_rows(p->pq, rg);
	for (int i = 0; i < c->nf; i++) {
		const filter_t *f = &c->f[i];
		int fc = p->colmap[f->col];
		if (fc < 0)
			return 0; /* the column is all NULL in this part */
		ow_pq_stats_t st;
		if (ow_pq_stats(p->pq, rg, fc, &st) == OW_OK) {
			if (f->kind != K_TIME && st.null_count == rows)
				return 0;
			if (st.has_minmax && f->kind == K_TIME && st.min_len == 8 &&
			    st.max_len == 8 && (get_i64(st.max) < f->lo || get_i64(st.min) > f->hi))
				return 0;
			if (f->kind == K_LIKE &&
			    !ow_search_like_stats(f->vals[0], f->vals[1], f->lens[0], &st))
				return 0;
			if (st.has_minmax && f->kind != K_TIME && f->kind != K_LIKE) {
				size_t j = 0;
				while (j < f->nvals &&
				       (bytes_cmp(f->vals[j], f->lens[j], st.min, st.min_len) < 0 ||
					bytes_cmp(f->vals[j], f->lens[j], st.max, st.max_len) > 0))
					j++;
				if (j == f->nvals)
					return 0;
			}
		}
		if (f->kind == K_ID) {
			size_t j = 0;
			while (j < f->nvals &&
			       !ow_pq_bloom_check(p->pq, rg, fc, f->vals[j], f->lens[j]))
				j++;
			if (j == f->nvals)
				return 0;
		}
	}
	return 1;
}

/* ---- reading ---- */

int ow_search_open_part(const struct ow_search *s, ow_search_part_t *p, int signal, char *err,
			size_t errlen)
{
	const ow_pq_coldef_t *defs = ow_columns_schema(signal);
	int ncols = ow_columns_ncols(signal);
	if (!p->map) {
		int rc = ow_search_map_part(s, p, err, errlen);
		if (rc == OW_AGAIN)
			snprintf(err, errlen, "the file is gone");
		if (rc != OW_OK)
			return OW_ERROR;
	}
	if (ow_pq_open(p->map, p->len, &p->pq, err, errlen) != OW_OK)
		return OW_ERROR;
	p->colmap = ow_alloc((size_t)ncols * sizeof(int));
	for (int i = 0; i < ncols; i++) {
		int fc = ow_pq_find_column(p->pq, defs[i].name);
		const ow_pq_coldef_t *d = fc >= 0 ? ow_pq_column(p->pq, fc) : NULL;
		if (d && (d->type != defs[i].type ||
			  (int)ow_pq_width(d) != (int)ow_pq_width(&defs[i]))) {
			ow_pq_close(p->pq);
			p->pq = NULL; /* the next query meets the same error */
			free(p->colmap);
			p->colmap = NULL;
			snprintf(err, errlen, "column %s is not of the type of the %s table",
				 defs[i].name, table_names[signal]);
			return OW_ERROR;
		}
		p->colmap[i] = fc;
	}
	/* format 1's JSON is converted as it is read: its statistics are not
	 * those of the values read */
	for (int i = 0; ow_search_part_v1(p, signal) && i < ncols; i++)
		if (ow_columns_v1_differs(signal, i))
			ow_pq_forget_stats(p->pq, p->colmap[i]);
	return OW_OK;
}

int ow_search_part_v1(const ow_search_part_t *p, int signal)
{
	return p->colmap[ow_columns_ncols(signal) - 1] < 0;
}

void ow_search_v1_column(const ow_search_part_t *p, int signal, int col, ow_col_t *o)
{
	if (ow_search_part_v1(p, signal))
		ow_columns_v1_column(signal, col, o);
}

static int open_part(cur_t *c, ow_search_part_t *p)
{
	char err[512];
	if (ow_search_open_part(c->t->s, p, c->t->signal, err, sizeof(err)) != OW_OK)
		return vt_error(c->t, "part %s: %s", p->path, err);
	return SQLITE_OK;
}

static int decode(cur_t *c, const ow_search_part_t *p, int col)
{
	ow_col_t *o = &c->cols[col];
	ow_col_clear(o);
	c->vpos[col] = 0;
	c->decoded[col] = 1;
	if (c->chunk) {
		/* buffered rows are columns already: a copy, so the cursor's
		 * buffers stay its own */
		const ow_col_t *from = &c->chunk->cols[col];
		ow_buf_add(&o->fixed, from->fixed.data, from->fixed.len);
		ow_buf_add(&o->data, from->data.data, from->data.len);
		ow_buf_add(&o->offs, from->offs.data, from->offs.len);
		ow_buf_add(&o->defs, from->defs.data, from->defs.len);
		o->nrows = from->nrows;
		o->nvals = from->nvals;
		return SQLITE_OK;
	}
	int fc = p->colmap[col];
	if (fc < 0) {
		c->decoded[col] = 0; /* absent: reads as NULL */
		return SQLITE_OK;
	}
	char err[512];
	if (ow_pq_read_column(p->pq, c->rg, fc, o, err, sizeof(err)) != OW_OK)
		return vt_error(c->t, "part %s: %s", p->path, err);
	if (o->nrows != c->nrows)
		return vt_error(c->t, "part %s: column %s has %zu rows, its row group %zu", p->path,
				c->t->defs[col].name, o->nrows, c->nrows);
	ow_search_v1_column(p, c->t->signal, col, o);
	ow_pq_chunk_t ci;
	if (ow_pq_chunk(p->pq, c->rg, fc, &ci) == OW_OK)
		c->t->s->stats.bytes += ci.bytes;
	return SQLITE_OK;
}

static void step(cur_t *c)
{
	for (int i = 0; i < c->t->ncols; i++)
		if (c->decoded[i])
			c->vpos[i] += c->cols[i].defs.data[c->row];
	c->row++;
}

static int row_matches(const cur_t *c)
{
	for (int i = 0; i < c->nf; i++) {
		const filter_t *f = &c->f[i];
		const ow_col_t *o = &c->cols[f->col];
		if (!o->defs.data[c->row])
			return 0;
		size_t v = c->vpos[f->col];
		if (f->kind == K_TIME) {
			int64_t x = get_i64(o->fixed.data + 8 * v);
			if (x < f->lo || x > f->hi)
				return 0;
			continue;
		}
		const uint8_t *p;
		size_t n;
		if (f->kind == K_ID) {
			n = (size_t)c->t->defs[f->col].fixed_len;
			p = o->fixed.data + n * v;
		} else {
			p = ow_col_bytes_at(o, v, &n);
		}
		if (f->kind == K_LIKE) {
			if (!like_matches(f, p, n))
				return 0;
			continue;
		}
		size_t j = 0;
		while (j < f->nvals && (f->lens[j] != n || memcmp(f->vals[j], p, n) != 0))
			j++;
		if (j == f->nvals)
			return 0;
	}
	return 1;
}

/* From the current row on, the first that matches in this row group: 1
 * found, 0 none, -1 error (the time budget). */
static int seek_match(cur_t *c)
{
	for (size_t n = 0; c->row < c->nrows; n++) {
		if (row_matches(c))
			return 1;
		if ((n & 0xffff) == 0xffff && ow_search_expired(c->t->s))
			return -1;
		step(c);
	}
	return 0;
}

static int expired(cur_t *c)
{
	char msg[128];
	ow_search_timeout_message(c->t->s, msg, sizeof(msg));
	return vt_error(c->t, "%s", msg);
}

/* Loads the row group c->rg of part c->part: its constrained columns,
 * then, if a row matches, the other columns used. 1 loaded with a match, 0
 * nothing matches, or an SQLite error code (negative). */
static int load(cur_t *c, ow_search_part_t *p)
{
	tab_t *t = c->t;
	memset(c->decoded, 0, (size_t)t->ncols);
	c->row = 0;
	c->nrows = c->chunk ? c->chunk->nrows : (size_t)ow_pq_row_group_rows(p->pq, c->rg);
	t->s->stats.row_groups++;
	t->s->stats.rows += (int64_t)c->nrows;
	uint64_t pending = c->used;
	for (int i = 0; i < c->nf; i++) {
		int col = c->f[i].col;
		if (!(pending & (uint64_t)1 << col))
			continue;
		pending &= ~((uint64_t)1 << col);
		if (decode(c, p, col) != SQLITE_OK)
			return -SQLITE_ERROR;
	}
	int m = seek_match(c);
	if (m <= 0)
		return m < 0 ? -SQLITE_ERROR : 0;
	for (int col = 0; col < t->ncols; col++) {
		if (!(pending & (uint64_t)1 << col))
			continue;
		if (decode(c, p, col) != SQLITE_OK)
			return -SQLITE_ERROR;
		if (c->decoded[col])
			for (size_t r = 0; r < c->row; r++)
				c->vpos[col] += c->cols[col].defs.data[r];
	}
	return 1;
}

/* Moves to the next matching row, from the current one, across row
 * groups and parts. */
static int advance(cur_t *c)
{
	tab_t *t = c->t;
	if (c->nrows && c->row < c->nrows) {
		int m = seek_match(c);
		if (m < 0)
			return expired(c);
		if (m > 0)
			return SQLITE_OK;
	}
	for (;;) {
		if (ow_search_expired(t->s))
			return expired(c);
		size_t nparts = t->s->nparts[t->signal];
		ow_search_part_t *p = c->part < nparts ? &t->s->parts[t->signal][c->part] : NULL;
		if (!p) {
			/* then the buffered chunks, each like one row group */
			size_t k = c->part - nparts;
			if (k >= t->s->nchunks[t->signal]) {
				c->chunk = NULL;
				c->eof = 1;
				return SQLITE_OK;
			}
			c->chunk = &t->s->chunks[t->signal][k]->table;
			c->part++;
			p = NULL;
		} else {
			if (c->rg < 0) {
				if (!part_may_match(c, p)) {
					c->part++;
					continue;
				}
				if (!p->pq && open_part(c, p) != SQLITE_OK)
					return SQLITE_ERROR;
				t->s->stats.parts++;
			}
			if (++c->rg >= ow_pq_num_row_groups(p->pq)) {
				c->part++;
				c->rg = -1;
				continue;
			}
			if (!rg_may_match(c, p, c->rg))
				continue;
		}
		int m = load(c, p);
		if (m < 0) {
			if (atomic_load(&t->s->budget.stop))
				return expired(c);
			return -m;
		}
		if (m > 0)
			return SQLITE_OK;
	}
}

static int vt_filter(sqlite3_vtab_cursor *vc, int idxnum, const char *idx, int argc,
		     sqlite3_value **argv)
{
	OW_UNUSED(idxnum);
	cur_t *c = (cur_t *)vc;
	tab_t *t = c->t;
	free_filters(c);
	c->empty = 0;
	char mask[17] = "0";
	if (idx && strlen(idx) >= 16)
		memcpy(mask, idx, 16);
	c->used = strtoull(mask, NULL, 16);
	c->f = ow_calloc((size_t)argc + 1, sizeof(filter_t));
	const char *a = idx ? idx + 16 : "";
	for (int i = 0; i < argc && strlen(a) >= 3; i++, a += 3) {
		int col = ow_search_unhex(a[0]) << 4 | ow_search_unhex(a[1]);
		if (col < 0 || col >= t->ncols)
			return vt_error(t, "bad index string");
		int kind = kind_of(t, col);
		c->used |= (uint64_t)1 << col;
		if (a[2] == 'k')
			like_prefix(c, col, argv[i]);
		else if (kind == K_TIME)
			time_bound(c, filter_for(c, col, kind), a[2], argv[i]);
		else if (equality(c, col, kind, a[2], argv[i]) != SQLITE_OK)
			return vt_error(t, "cannot read an IN list");
	}
	c->part = 0;
	c->chunk = NULL;
	c->rg = -1;
	c->row = c->nrows = 0;
	c->rowid = 0;
	c->eof = 0;
	if (c->empty) {
		c->eof = 1;
		return SQLITE_OK;
	}
	return advance(c);
}

static int vt_next(sqlite3_vtab_cursor *vc)
{
	cur_t *c = (cur_t *)vc;
	step(c);
	c->rowid++;
	return advance(c);
}

static int vt_eof(sqlite3_vtab_cursor *vc)
{
	return ((cur_t *)vc)->eof;
}

static int vt_column(sqlite3_vtab_cursor *vc, sqlite3_context *ctx, int col)
{
	cur_t *c = (cur_t *)vc;
	if (col < 0 || col >= c->t->ncols || !c->decoded[col] || !c->cols[col].defs.data[c->row]) {
		sqlite3_result_null(ctx);
		return SQLITE_OK;
	}
	char hex[OW_SEARCH_HEX_MAX];
	ow_search_val_t v;
	ow_search_cell(&c->t->defs[col], &c->cols[col], c->vpos[col], hex, &v);
	switch (v.type) {
	case SQLITE_INTEGER:
		sqlite3_result_int64(ctx, v.i);
		break;
	case SQLITE_FLOAT:
		sqlite3_result_double(ctx, v.d);
		break;
	case SQLITE_TEXT:
		/* a NULL pointer would be SQL NULL: "" is not */
		sqlite3_result_text64(ctx, v.n ? (const char *)v.p : "", v.n, SQLITE_TRANSIENT,
				      SQLITE_UTF8);
		break;
	default:
		sqlite3_result_null(ctx);
	}
	return SQLITE_OK;
}

static int vt_rowid(sqlite3_vtab_cursor *vc, sqlite3_int64 *rowid)
{
	*rowid = ((cur_t *)vc)->rowid;
	return SQLITE_OK;
}

static sqlite3_module module = {
    .iVersion = 0,
    .xCreate = NULL, /* eponymous only */
    .xConnect = vt_connect,
    .xBestIndex = vt_best_index,
    .xDisconnect = vt_disconnect,
    .xDestroy = NULL,
    .xOpen = vt_open,
    .xClose = vt_close,
    .xFilter = vt_filter,
    .xNext = vt_next,
    .xEof = vt_eof,
    .xColumn = vt_column,
    .xRowid = vt_rowid,
};

int ow_search_vtab_register(ow_search_t *s)
{
	for (int g = 0; g < OW_NSIGNALS; g++)
		if (sqlite3_create_module_v2(s->db, table_names[g], &module, &s->tabs[g], NULL) !=
		    SQLITE_OK)
			return OW_ERROR;
	return OW_OK;
}

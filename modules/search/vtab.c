/*
 * vtab.c - the virtual tables spans, logs and metrics: eponymous, read
 * only, over the parts of the handle's snapshot (internal.h).
 *
 * xBestIndex takes, from the WHERE clause, the constraints the scan layer
 * (scan.c) prunes with: =, <, <=, >, >= on an integer column (the time
 * columns, duration_ns, status_code, ...), a string column (service_name,
 * name, metric_name, ...) or an id column (trace_id, span_id,
 * parent_span_id), the text ones under the BINARY collation; IN on them
 * (all values at once, but on the time column, where SQLite loops over
 * its values as it always has); and LIKE on a string column. Their values
 * reach xFilter as the scan layer's predicates, and a constraint whose
 * comparison SQLite makes with type conversions (a number against a string
 * column, text against an integer one) is dropped there: it prunes
 * nothing; so is a LIKE pattern past SQLITE_LIMIT_LIKE_PATTERN_LENGTH,
 * whose error is SQLite's to report. The scan then skips parts by their
 * catalog time range, row groups by their statistics and bloom filters
 * (ow_scan_part_may, ow_scan_rg_may), and reads a row group (then each
 * buffered chunk, like one):
 *   - the constrained columns first, predicate by predicate, each only in
 *     the pages that still hold a selected row and whose statistics allow
 *     its predicates (ow_scan_page_may), narrowing the selection
 *     (ow_scan_select);
 *   - then, when a row is left, the other columns used, only in the pages
 *     that hold a selected row (the writer cuts pages at 32768 rows, 8192
 *     for metric points);
 *   - and gives SQLite the selected rows.
 * Pruning only ever drops what cannot match. No constraint is marked
 * omit, so SQLite checks every row it gets again (the values of the
 * constrained columns are read for every row it gets).
 *
 * Only the columns the query uses (colUsed) are read: memory holds the
 * used columns of one row group of one part (a buffered chunk's columns
 * are read where they are). bytes_scanned counts the pages read, as
 * stored. Values are converted as search.h says; the JSON columns of a
 * part written before plain JSON (no otlp_exact column: format 1) are
 * converted to plain JSON as they are read (modules/columns/convert.c),
 * and their statistics are not used.
 */
#include "internal.h"
#include "../columns/columns.h"

/* The kinds of column a constraint is taken on. */
enum { K_NONE, K_TIME, K_INT, K_STRING, K_ID };

typedef struct {
	sqlite3_vtab base;
	ow_search_t *s;
	int signal, ncols, time_col;
	const ow_pq_coldef_t *defs;
} tab_t;

typedef struct {
	sqlite3_vtab_cursor base;
	tab_t *t;
	uint64_t used; /* bit c: column c is read */
	ow_scan_pred_t *p;
	int np;
	ow_scan_t scan; /* over p */
	size_t part;	/* past the parts: the buffered chunks */
	const ow_table_t *chunk;
	int rg;
	size_t row, nrows;
	int eof;
	uint8_t *sel; /* the row group's rows that match the predicates */
	size_t sel_cap;
	uint64_t loaded;       /* bit c: col[c] is this row group's column c */
	ow_col_t *bufs;	       /* a part's columns as read */
	const ow_col_t **col;  /* bufs, a chunk's columns, or NULL: NULL in every row */
	size_t *vpos;	       /* value index of the current row in each column loaded */
	sqlite3_int64 rowbase; /* the row group's first rowid (vt_rowid) */
	uint8_t *may;	       /* the part's index blocks that may match (ow_scan_index) */
} cur_t;

/* A rowid: the part's (or buffered chunk's) index in the snapshot above
 * the row's position in it. */
#define ROWID_ROW_BITS 36

static const char *const table_names[OW_NSIGNALS] = {"spans", "logs", "metrics"};

static int kind_of(const tab_t *t, int col)
{
	const ow_pq_coldef_t *d = &t->defs[col];
	if (col == t->time_col)
		return K_TIME;
	if (d->type == OW_PQ_INT32 || d->type == OW_PQ_INT64)
		return K_INT;
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
 * <, l (<=), >, g (>=), k (LIKE), m (match()). */
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
		case SQLITE_INDEX_CONSTRAINT_FUNCTION: /* match(col, query): vt_find */
			op = 'm';
			break;
		default:
			continue;
		}
		if (op == 'm' && t->defs[c->iColumn].type != OW_PQ_BYTE_ARRAY)
			continue;
		if (op != 'm' && (kind == K_NONE || (op == 'k' && kind != K_STRING)))
			continue;
		if (op != 'k' && (kind == K_STRING || kind == K_ID) &&
		    sqlite3_stricmp(sqlite3_vtab_collation(ix, i), "BINARY"))
			continue;
		if (op == '=' && kind != K_TIME && sqlite3_vtab_in(ix, i, 1))
			op = 'i';
		ix->aConstraintUsage[i].argvIndex = ++argv;
		n += snprintf(idx + n, 4, "%02x%c", c->iColumn, op);
		if (op == 'k' || op == 'm')
			rows /= 5;
		else if (op != '=' && op != 'i')
			rows /= 4;
		else
			rows /= kind == K_ID ? 1e5 : kind == K_STRING ? 20 : 100;
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
	c->bufs = ow_calloc((size_t)t->ncols, sizeof(ow_col_t));
	c->col = ow_calloc((size_t)t->ncols, sizeof(*c->col));
	c->vpos = ow_calloc((size_t)t->ncols, sizeof(size_t));
	c->eof = 1;
	*out = &c->base;
	return SQLITE_OK;
}

static void free_preds(cur_t *c)
{
	for (int i = 0; i < c->np; i++)
		ow_scan_pred_free(&c->p[i]);
	free(c->p);
	c->p = NULL;
	c->np = 0;
}

static int vt_close(sqlite3_vtab_cursor *vc)
{
	cur_t *c = (cur_t *)vc;
	free_preds(c);
	for (int i = 0; i < c->t->ncols; i++)
		ow_col_free(&c->bufs[i]);
	free(c->bufs);
	free((void *)c->col);
	free(c->vpos);
	free(c->sel);
	free(c->may);
	free(c);
	return SQLITE_OK;
}

/* ---- predicates from xFilter's arguments ---- */

int ow_search_unhex(int ch)
{
	return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* A literal as the scan layer holds it (text copied); as_text: read as
 * text, as like() reads its pattern. */
static void literal(ow_search_val_t *v, sqlite3_value *x, int as_text)
{
	int type = sqlite3_value_type(x);
	memset(v, 0, sizeof(*v));
	v->type = type;
	if (type == SQLITE_NULL)
		return;
	if (as_text || type == SQLITE_TEXT) {
		const unsigned char *s = sqlite3_value_text(x);
		size_t n = (size_t)sqlite3_value_bytes(x);
		uint8_t *p = ow_alloc(n + 1);
		memcpy(p, s ? (const char *)s : "", s ? n : 0);
		v->type = SQLITE_TEXT;
		v->p = p;
		v->n = s ? n : 0;
	} else if (type == SQLITE_INTEGER) {
		v->i = sqlite3_value_int64(x);
	} else if (type == SQLITE_FLOAT) {
		v->d = sqlite3_value_double(x);
	} /* a blob: its type is enough to prune nothing */
}

/* The predicate of xFilter argument arg on column col, operator op of
 * idxStr; dropped when it cannot prune. */
static int add_pred(cur_t *c, int col, char op, sqlite3_value *arg)
{
	static const char ops[] = "=i<l>gkm";
	static const int scan_op[] = {OW_SCAN_EQ, OW_SCAN_IN, OW_SCAN_LT,   OW_SCAN_LE,
				      OW_SCAN_GT, OW_SCAN_GE, OW_SCAN_LIKE, OW_SCAN_MATCH};
	const char *at = strchr(ops, op);
	if (!op || !at)
		return vt_error(c->t, "bad index string");
	ow_scan_pred_t *p = &c->p[c->np];
	*p = (ow_scan_pred_t){.col = col, .base = col, .op = scan_op[at - ops]};
	if (op == 'i') {
		sqlite3_value *v;
		int rc;
		size_t cap = 0;
		for (rc = sqlite3_vtab_in_first(arg, &v); rc == SQLITE_OK && v;
		     rc = sqlite3_vtab_in_next(arg, &v)) {
			if (p->nvals == cap)
				p->vals = ow_realloc(p->vals,
						     (cap = cap ? 2 * cap : 8) * sizeof(*p->vals));
			literal(&p->vals[p->nvals++], v, 0);
		}
		if (rc != SQLITE_OK && rc != SQLITE_DONE) {
			ow_scan_pred_free(p);
			return vt_error(c->t, "cannot read an IN list");
		}
	} else {
		p->vals = ow_alloc(sizeof(*p->vals));
		p->nvals = 1;
		literal(&p->vals[0], arg, op == 'k' || op == 'm');
	}
	ow_scan_pred_ready(p, &c->t->defs[col]);
	if (p->mixed ||
	    (op == 'k' && p->vals[0].n > (size_t)sqlite3_limit(
					     c->t->s->db, SQLITE_LIMIT_LIKE_PATTERN_LENGTH, -1)))
		ow_scan_pred_free(p); /* SQLite converts a value, or reports an error: no pruning */
	else
		c->np++;
	return SQLITE_OK;
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
	/* format 1's JSON is converted as it is read, a shredded column's
	 * objects joined: their statistics are not those of the values read */
	for (int i = 0; i < ncols; i++) {
		ow_shred_cols_t sc;
		int shredded = ow_shred_find(p->pq, signal, i, &sc);
		ow_shred_cols_free(&sc);
		if (shredded || (ow_search_part_v1(p, signal) && ow_columns_v1_differs(signal, i)))
			ow_pq_forget_stats(p->pq, p->colmap[i]);
	}
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

int ow_search_read_col(const ow_search_part_t *p, int signal, int col, int rg, const uint8_t *sel,
		       const ow_pq_pagefilter_t *pf, ow_col_t *o, ow_pq_codes_t *codes,
		       ow_pq_chunkdict_t *cd, int64_t *stored, char *err, size_t errlen)
{
	ow_shred_cols_t sc;
	if (ow_shred_find(p->pq, signal, col, &sc)) {
		if (codes) {
			codes->has_codes = 0;
			codes->codes.len = 0;
		}
		int rc = ow_shred_read(p->pq, &sc, rg, sel, 0, o, stored, err, errlen);
		ow_shred_cols_free(&sc);
		return rc;
	}
	if (ow_pq_read_column_pf(p->pq, rg, p->colmap[col], sel, pf, o, codes, cd, stored, err,
				 errlen) != OW_OK)
		return OW_ERROR;
	ow_search_v1_column(p, signal, col, codes && codes->has_codes ? &codes->dict : o);
	return OW_OK;
}

static int open_part(cur_t *c, ow_search_part_t *p)
{
	char err[512];
	if (ow_search_open_part(c->t->s, p, c->t->signal, err, sizeof(err)) != OW_OK)
		return vt_error(c->t, "part %s: %s", p->path, err);
	return SQLITE_OK;
}

typedef struct {
	const ow_scan_t *scan;
	int col;
} pagearg_t;

/* A page of a constrained column: not read when its statistics rule its
 * predicates out. SQLite checks every row it gets again, so a page whose
 * rows all pass is read too. */
static int page_may(void *arg, const ow_pq_stats_t *st, int64_t rows, size_t row0)
{
	OW_UNUSED(row0);
	const pagearg_t *a = arg;
	return ow_scan_page_may(a->scan, a->col, st, rows) != 0;
}

/* Column col of the row group (or buffered chunk) in the pages that hold
 * a selected row; filter: also not in the pages whose statistics rule its
 * predicates out (their rows leave the selection). */
static int read_col(cur_t *c, ow_search_part_t *p, int col, int filter)
{
	c->loaded |= (uint64_t)1 << col;
	c->col[col] = NULL;
	if (c->chunk) {
		c->col[col] = &c->chunk->cols[col];
		return SQLITE_OK;
	}
	int fc = p->colmap[col];
	if (fc < 0)
		return SQLITE_OK; /* absent: reads as NULL */
	ow_col_t *o = &c->bufs[col];
	ow_col_clear(o);
	pagearg_t a = {&c->scan, col};
	ow_pq_pagefilter_t pf = {page_may, &a, c->sel, NULL};
	char err[512];
	if (ow_search_read_col(p, c->t->signal, col, c->rg, c->sel, filter ? &pf : NULL, o, NULL,
			       NULL, &c->t->s->stats.bytes, err, sizeof(err)) != OW_OK)
		return vt_error(c->t, "part %s: %s", p->path, err);
	if (o->nrows != c->nrows)
		return vt_error(c->t, "part %s: column %s has %zu rows, its row group %zu", p->path,
				c->t->defs[col].name, o->nrows, c->nrows);
	c->col[col] = o;
	return SQLITE_OK;
}

static void step(cur_t *c)
{
	for (int i = 0; i < c->t->ncols; i++)
		if (c->col[i] && (c->loaded >> i & 1))
			c->vpos[i] += c->col[i]->defs.data[c->row];
	c->row++;
}

/* From the current row on, to the first selected one in this row group:
 * 1 found, 0 none. */
static int seek(cur_t *c)
{
	size_t from = c->row;
	const uint8_t *hit = from < c->nrows ? memchr(c->sel + from, 1, c->nrows - from) : NULL;
	if (!hit) {
		c->row = c->nrows;
		return 0;
	}
	c->row = (size_t)(hit - c->sel);
	for (int i = 0; i < c->t->ncols && c->row > from; i++)
		if (c->col[i] && (c->loaded >> i & 1))
			c->vpos[i] += ow_count_ones(c->col[i]->defs.data + from, c->row - from);
	return 1;
}

static int expired(cur_t *c)
{
	char msg[128];
	ow_search_timeout_message(c->t->s, msg, sizeof(msg));
	return vt_error(c->t, "%s", msg);
}

/* Loads the row group c->rg of part p (or the chunk c->chunk): its
 * constrained columns, predicate by predicate, then, if a row is
 * selected, the other columns used; the current row is the first
 * selected. 1 loaded with a match, 0 nothing matches, or an SQLite error
 * code (negative). */
static int load(cur_t *c, ow_search_part_t *p)
{
	tab_t *t = c->t;
	c->loaded = 0;
	c->row = 0;
	c->nrows = c->chunk ? c->chunk->nrows : (size_t)ow_pq_row_group_rows(p->pq, c->rg);
	/* a row's rowid names the row itself, in every scan of the table:
	 * SQLite's OR as a union of two scans drops a rowid it has seen */
	int64_t before = 0;
	for (int g = 0; !c->chunk && g < c->rg; g++)
		before += ow_pq_row_group_rows(p->pq, g);
	c->rowbase =
	    (sqlite3_int64)((uint64_t)(c->chunk ? c->part - 1 : c->part) << ROWID_ROW_BITS) +
	    before;
	t->s->stats.row_groups++;
	t->s->stats.rows += (int64_t)c->nrows;
	if (c->sel_cap < c->nrows + 1) {
		c->sel_cap = c->nrows + 1;
		c->sel = ow_realloc(c->sel, c->sel_cap);
	}
	memset(c->sel, 1, c->nrows);
	size_t selected = c->nrows;
	if (!c->chunk && c->may) /* the index: the blocks that may match */
		selected = ow_scan_index_sel(c->may, p, c->rg, c->sel, c->nrows);
	for (int i = 0; i < c->np && selected; i++) {
		int col = c->p[i].col;
		if (!(c->loaded >> col & 1) && read_col(c, p, col, 1) != SQLITE_OK)
			return -SQLITE_ERROR;
		selected = ow_scan_select(&c->p[i], &t->defs[col], c->col[col], c->sel, c->nrows);
	}
	if (ow_search_expired(t->s)) /* LIKE stops on the budget */
		return -SQLITE_ERROR;
	if (!selected)
		return 0;
	for (int col = 0; col < t->ncols; col++)
		if ((c->used & ~c->loaded) >> col & 1 && read_col(c, p, col, 0) != SQLITE_OK)
			return -SQLITE_ERROR;
	memset(c->vpos, 0, (size_t)t->ncols * sizeof(size_t));
	return seek(c);
}

/* Moves to the next matching row, from the current one, across row
 * groups and parts. */
static int advance(cur_t *c)
{
	tab_t *t = c->t;
	if (c->row < c->nrows && seek(c))
		return SQLITE_OK;
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
		} else {
			if (c->rg < 0) {
				if (!ow_scan_part_may(&c->scan, p)) {
					c->part++;
					continue;
				}
				if (!p->pq && open_part(c, p) != SQLITE_OK)
					return SQLITE_ERROR;
				t->s->stats.parts++;
				free(c->may);
				c->may = ow_scan_index(&c->scan, p);
			}
			if (++c->rg >= ow_pq_num_row_groups(p->pq)) {
				c->part++;
				c->rg = -1;
				continue;
			}
			if (!ow_scan_rg_may(&c->scan, p, c->rg) ||
			    (c->may && !ow_scan_index_rg(c->may, p, c->rg)))
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
	free_preds(c);
	char mask[17] = "0";
	if (idx && strlen(idx) >= 16)
		memcpy(mask, idx, 16);
	c->used = strtoull(mask, NULL, 16);
	c->p = ow_calloc((size_t)argc + 1, sizeof(ow_scan_pred_t));
	const char *a = idx ? idx + 16 : "";
	for (int i = 0; i < argc && strlen(a) >= 3; i++, a += 3) {
		int col = ow_search_unhex(a[0]) << 4 | ow_search_unhex(a[1]);
		if (col < 0 || col >= t->ncols)
			return vt_error(t, "bad index string");
		c->used |= (uint64_t)1 << col;
		if (add_pred(c, col, a[2], argv[i]) != SQLITE_OK)
			return SQLITE_ERROR;
	}
	c->scan = (ow_scan_t){t->signal, t->defs, c->p, c->np};
	c->part = 0;
	c->chunk = NULL;
	c->rg = -1;
	c->row = c->nrows = 0;
	c->loaded = 0;
	c->eof = 0;
	if (ow_scan_none(&c->scan)) {
		c->eof = 1;
		return SQLITE_OK;
	}
	return advance(c);
}

static int vt_next(sqlite3_vtab_cursor *vc)
{
	cur_t *c = (cur_t *)vc;
	step(c);
	return advance(c);
}

static int vt_eof(sqlite3_vtab_cursor *vc)
{
	return ((cur_t *)vc)->eof;
}

static int vt_column(sqlite3_vtab_cursor *vc, sqlite3_context *ctx, int col)
{
	cur_t *c = (cur_t *)vc;
	if (col < 0 || col >= c->t->ncols || !(c->loaded >> col & 1) || !c->col[col] ||
	    !c->col[col]->defs.data[c->row]) {
		sqlite3_result_null(ctx);
		return SQLITE_OK;
	}
	char hex[OW_SEARCH_HEX_MAX];
	ow_search_val_t v;
	ow_search_cell(&c->t->defs[col], c->col[col], c->vpos[col], hex, &v);
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
	const cur_t *c = (const cur_t *)vc;
	*rowid = c->rowbase + (sqlite3_int64)c->row;
	return SQLITE_OK;
}

/* match(col, query) on a column: a constraint xBestIndex takes. */
static int vt_find(sqlite3_vtab *vt, int nargs, const char *name,
		   void (**fn)(sqlite3_context *, int, sqlite3_value **), void **arg)
{
	OW_UNUSED(vt);
	if (nargs != 2 || sqlite3_stricmp(name, "match") != 0)
		return 0;
	*fn = ow_search_fn_match;
	*arg = NULL;
	return SQLITE_INDEX_CONSTRAINT_FUNCTION;
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
    .xFindFunction = vt_find,
};

int ow_search_vtab_register(ow_search_t *s)
{
	for (int g = 0; g < OW_NSIGNALS; g++)
		if (sqlite3_create_module_v2(s->db, table_names[g], &module, &s->tabs[g], NULL) !=
		    SQLITE_OK)
			return OW_ERROR;
	return OW_OK;
}

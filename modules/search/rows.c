/*
 * rows.c - the rows of one committed part whose text column equals a
 * value, handed to a callback column by column as the SQL engine reads
 * them (ow_search_cell): no SQL, no packing. For a reader that goes
 * through many rows of one key, sorted together in a part (modules/prom
 * reads a metric's samples so). And the distinct combinations of a few
 * columns of a part (ow_search_part_distinct: modules/prom's metric
 * names), each row group read whole, a row given when it differs from
 * the row before.
 *
 * Rules:
 *  - A text column whose chunk is dictionary-encoded is read as codes: a
 *    row's text points into the dictionary (equal entries, equal
 *    pointers), no text copied a row; rows are compared by code.
 *  - Row groups that cannot hold the value (the column absent, its
 *    statistics, its bloom filter: ow_scan_rg_may, as a query's WHERE
 *    column = value prunes) are not read; in the others the column is
 *    read first (its dictionary compared once, then codes), and the other
 *    columns only in the pages that hold a matching row.
 *  - It runs under the handle's budgets as a query does (ow_search_begin):
 *    the columns it decodes are charged to its memory, its clock and the
 *    cancel flag are polled row by row; a stop is OW_ERROR with the
 *    budget's message (ow_search_stop_reason says which). What it reads
 *    adds to the handle's stats (ow_search_last_stats), so the pieces
 *    read one after another all count.
 *  - A part of format 1 (JSON converted as read) is declined: the caller
 *    reads it through SQL.
 */
#include "internal.h"

#include "../columns/columns.h"

/* The rows of rg where column o (BYTE_ARRAY, with codes when the chunk
 * was dictionary-encoded) holds eq: sel set, their count. */
static size_t select_eq(const ow_col_t *o, const ow_pq_codes_t *codes, const char *eq, size_t n,
			uint8_t *sel)
{
	size_t eqn = strlen(eq), hits = 0, vp = 0;
	uint8_t *entry_eq = NULL;
	const uint32_t *code = NULL;
	if (codes->has_codes) {
		/* the dictionary compared once */
		entry_eq = ow_calloc(OW_MAX(codes->dict.nvals, 1), 1);
		for (size_t e = 0; e < codes->dict.nvals; e++) {
			size_t len;
			const uint8_t *p = ow_col_bytes_at(&codes->dict, e, &len);
			entry_eq[e] = len == eqn && memcmp(p, eq, eqn) == 0;
		}
		code = (const uint32_t *)codes->codes.data;
	}
	for (size_t r = 0; r < n; r++) {
		sel[r] = 0;
		if (o->defs.len && !o->defs.data[r])
			continue;
		if (code) {
			sel[r] = entry_eq[code[vp]];
		} else {
			size_t len;
			const uint8_t *p = ow_col_bytes_at(o, ow_col_entry(o, vp), &len);
			sel[r] = len == eqn && memcmp(p, eq, eqn) == 0;
		}
		hits += sel[r];
		vp++;
	}
	free(entry_eq);
	return hits;
}

/* A part read a row group at a time: columns cols[0..ncols) of the
 * signal's schema, the text ones with their dictionary codes when the
 * chunk has them (a row's text then points into the dictionary: one entry
 * is one pointer, and no text is copied a row). */
typedef struct {
	ow_search_t *s;
	ow_search_part_t *p;
	const ow_pq_coldef_t *defs;
	int signal;
	int ncols, key; /* key: eq_col's index in the schema, or -1 */
	int *sc;	/* each column's index in the schema, or -1 (NULL) */
	ow_col_t *o;
	ow_pq_codes_t *cd;
	size_t *vpos;
	int64_t *code; /* the row's dictionary entry; -1 NULL, -2 no codes */
	size_t *last;  /* the row's value (an index, when code is -2) */
	/* the row group's, by column: its defs (NULL: every row defined, or
	 * the column absent), its codes (NULL: none), present in the part */
	const uint8_t **defp;
	const uint32_t **codep;
	uint8_t *present;
	int *live, nlive; /* the present columns, in order */
	uint8_t *konst;	  /* set by the caller: a column the row group's
			   * statistics say is one text (or NULL) throughout:
			   * not read, pr->v[k] that */
	ow_search_val_t *v;
	char (*hex)[OW_SEARCH_HEX_MAX];
} part_read_t;

/* Opens part i of signal for a read of cols (and eq_col, when not NULL,
 * as pr->key) under the handle's budgets: OW_OK, OW_ERROR with a message,
 * OW_DECLINED for a part of format 1. pr is to be ended either way. */
static int part_read_begin(part_read_t *pr, ow_search_t *s, int signal, size_t i,
			   const char *eq_col, const char *const *cols, int ncols, char *err,
			   size_t errlen)
{
	size_t nc = (size_t)OW_MAX(ncols, 1);
	*pr = (part_read_t){.s = s,
			    .p = ow_search_whole_part(s, signal, i),
			    .defs = ow_columns_schema(signal),
			    .signal = signal,
			    .ncols = ncols,
			    .key = -1,
			    .sc = ow_alloc(nc * sizeof(int)),
			    .o = ow_calloc(nc, sizeof(ow_col_t)),
			    .cd = ow_calloc(nc, sizeof(ow_pq_codes_t)),
			    .vpos = ow_calloc(nc, sizeof(size_t)),
			    .code = ow_calloc(nc, sizeof(int64_t)),
			    .last = ow_calloc(nc, sizeof(size_t)),
			    .defp = ow_calloc(nc, sizeof(uint8_t *)),
			    .codep = ow_calloc(nc, sizeof(uint32_t *)),
			    .present = ow_calloc(nc, 1),
			    .live = ow_calloc(nc, sizeof(int)),
			    .konst = ow_calloc(nc, 1),
			    .v = ow_calloc(nc, sizeof(ow_search_val_t)),
			    .hex = ow_calloc(nc, OW_SEARCH_HEX_MAX)};
	int nschema = ow_columns_ncols(signal);
	for (int c = 0; eq_col && c < nschema; c++)
		if (strcmp(pr->defs[c].name, eq_col) == 0)
			pr->key = c;
	for (int k = 0; k < ncols; k++) {
		pr->sc[k] = -1;
		for (int c = 0; cols[k] && c < nschema; c++)
			if (strcmp(pr->defs[c].name, cols[k]) == 0)
				pr->sc[k] = c;
	}
	/* a caller reading a part a piece at a time counts every piece */
	ow_search_stats_t stats = s->stats;
	ow_search_begin(s);
	s->stats = stats;
	if (!pr->p->pq && ow_search_open_part(s, pr->p, signal, err, errlen) != OW_OK)
		return OW_ERROR;
	return ow_search_part_v1(pr->p, signal) ? OW_DECLINED : OW_OK;
}

/* Row group rg's columns, in the pages that hold a row sel wants (every
 * page: sel NULL). */
static int part_read_rg(part_read_t *pr, int rg, const uint8_t *sel, char *err, size_t errlen)
{
	size_t n = (size_t)ow_pq_row_group_rows(pr->p->pq, rg);
	pr->nlive = 0;
	for (int k = 0; k < pr->ncols; k++) {
		ow_col_clear(&pr->o[k]);
		pr->cd[k].has_codes = 0;
		pr->vpos[k] = 0;
		pr->defp[k] = NULL;
		pr->codep[k] = NULL;
		int fc = pr->sc[k] < 0 ? -1 : pr->p->colmap[pr->sc[k]];
		pr->present[k] = fc >= 0 && !pr->konst[k];
		if (pr->konst[k])
			continue;
		if (fc < 0) { /* absent: NULL */
			pr->v[k] = (ow_search_val_t){.type = SQLITE_NULL};
			pr->code[k] = -1;
			continue;
		}
		pr->live[pr->nlive++] = k;
		int text = pr->defs[pr->sc[k]].type == OW_PQ_BYTE_ARRAY;
		if (ow_search_read_col(pr->p, pr->signal, pr->sc[k], rg, sel, NULL, &pr->o[k],
				       text ? &pr->cd[k] : NULL, NULL, NULL, err, errlen) != OW_OK)
			return OW_ERROR;
		if (pr->o[k].nrows != n) {
			snprintf(err, errlen, "column %s has %zu rows, its row group %zu",
				 pr->defs[pr->sc[k]].name, pr->o[k].nrows, n);
			return OW_ERROR;
		}
		pr->defp[k] = pr->o[k].defs.len ? pr->o[k].defs.data : NULL;
		if (pr->cd[k].has_codes)
			pr->codep[k] = (const uint32_t *)(const void *)pr->cd[k].codes.data;
	}
	return OW_OK;
}

/* 1 when column k has a value in row r of the row group read. */
static inline int part_defined(const part_read_t *pr, int k, size_t r)
{
	return pr->present[k] && (!pr->defp[k] || pr->defp[k][r]);
}

/* 1 when column k holds in row r what it held in the row read before
 * (in this row group): the same entry, NULL, or value. */
static int part_same(const part_read_t *pr, int k, size_t r)
{
	if (!part_defined(pr, k, r))
		return pr->code[k] == -1;
	if (pr->code[k] == -1)
		return 0;
	size_t cur = pr->vpos[k], prev = pr->last[k];
	if (pr->codep[k])
		return pr->code[k] == pr->codep[k][cur];
	const ow_col_t *o = &pr->o[k];
	const ow_pq_coldef_t *d = &pr->defs[pr->sc[k]];
	if (d->type == OW_PQ_BYTE_ARRAY) {
		size_t an, bn;
		const uint8_t *a = ow_col_bytes_at(o, ow_col_entry(o, prev), &an),
			      *b = ow_col_bytes_at(o, ow_col_entry(o, cur), &bn);
		return an == bn && memcmp(a, b, an) == 0;
	}
	size_t w = ow_pq_width(d);
	return memcmp(o->fixed.data + w * prev, o->fixed.data + w * cur, w) == 0;
}

/* Columns k0.. of row r of the row group read into pr->v and pr->code
 * (pr->vpos: the values of the rows before it). */
static void part_read_row(part_read_t *pr, size_t r, int k0)
{
	for (int j = 0; j < pr->nlive; j++) {
		int k = pr->live[j];
		if (k < k0)
			continue;
		int def = !pr->defp[k] || pr->defp[k][r];
		ow_search_val_t *v = &pr->v[k];
		if (!def) {
			*v = (ow_search_val_t){.type = SQLITE_NULL};
			pr->code[k] = -1;
		} else if (pr->codep[k]) {
			uint32_t e = pr->codep[k][pr->vpos[k]++];
			*v = (ow_search_val_t){.type = SQLITE_TEXT};
			v->p = ow_col_bytes_at(&pr->cd[k].dict, e, &v->n);
			pr->code[k] = e;
		} else {
			pr->last[k] = pr->vpos[k];
			ow_search_cell(&pr->defs[pr->sc[k]], &pr->o[k], pr->vpos[k]++, pr->hex[k],
				       v);
			pr->code[k] = -2;
		}
	}
}

static void part_read_end(part_read_t *pr)
{
	for (int k = 0; k < pr->ncols; k++) {
		ow_col_free(&pr->o[k]);
		ow_pq_codes_free(&pr->cd[k]);
	}
	free(pr->sc);
	free(pr->o);
	free(pr->cd);
	free(pr->vpos);
	free(pr->code);
	free(pr->last);
	free(pr->defp);
	free(pr->codep);
	free(pr->present);
	free(pr->live);
	free(pr->konst);
	free(pr->v);
	free(pr->hex);
}

/* chg[r] set where column k of the row group read may differ from row
 * r - 1's: its code changes, or every row for a column without codes
 * (but one of NULLs alone). */
static void mark_changes(const part_read_t *pr, int k, size_t n, uint8_t *chg)
{
	if (!pr->present[k])
		return;
	const uint32_t *c = pr->codep[k];
	const uint8_t *d = pr->defp[k];
	if (!c) {
		if (pr->o[k].nvals) /* not NULL throughout */
			memset(chg, 1, n);
	} else if (!d) {
		for (size_t r = 1; r < n; r++)
			chg[r] |= c[r] != c[r - 1];
	} else {
		int64_t prev = -1;
		for (size_t r = 0, vp = 0; r < n; r++) {
			int64_t cur = d[r] ? (int64_t)c[vp++] : -1;
			chg[r] |= r > 0 && cur != prev;
			prev = cur;
		}
	}
}

/* The columns' values in rows [from, to) of the row group read passed
 * over. */
static void part_skip(part_read_t *pr, size_t from, size_t to)
{
	if (from == to)
		return;
	for (int j = 0; j < pr->nlive; j++) {
		int k = pr->live[j];
		const uint8_t *d = pr->defp[k];
		size_t m = to - from;
		if (d) {
			m = 0;
			for (size_t r = from; r < to; r++)
				m += d[r] != 0;
		}
		pr->vpos[k] += m;
	}
}

int ow_search_part_rows(ow_search_t *s, int signal, size_t i, const char *eq_col, const char *eq,
			const char *const *cols, int ncols, int nkey, ow_search_row_fn fn,
			void *arg, char *err, size_t errlen)
{
	part_read_t pr;
	int rc = part_read_begin(&pr, s, signal, i, eq_col, cols, ncols, err, errlen);
	const ow_pq_coldef_t *defs = pr.defs;
	int key = pr.key;
	/* row groups pruned as a query's WHERE eq_col = eq prunes them */
	ow_scan_pred_t pred = {.col = key, .base = key, .op = OW_SCAN_EQ};
	ow_scan_t scan = {.signal = signal, .defs = defs, .p = &pred, .np = 1};
	if (key < 0 || defs[key].type != OW_PQ_BYTE_ARRAY) {
		snprintf(err, errlen, "no text column %s", eq_col);
		rc = OW_ERROR;
	} else if (rc == OW_OK) {
		pred.vals = ow_alloc(sizeof(ow_search_val_t));
		pred.vals[0] = (ow_search_val_t){
		    .type = SQLITE_TEXT, .p = (const uint8_t *)ow_strdup(eq), .n = strlen(eq)};
		pred.nvals = 1;
		ow_scan_pred_ready(&pred, &defs[key]);
	}
	ow_col_t kcol = {0};
	ow_pq_codes_t kcodes = {0};
	uint8_t *sel = NULL;
	for (int rg = 0; rc == OW_OK && rg < ow_pq_num_row_groups(pr.p->pq); rg++) {
		if (!ow_scan_rg_may(&scan, pr.p, rg))
			continue;
		size_t n = (size_t)ow_pq_row_group_rows(pr.p->pq, rg);
		sel = ow_realloc(sel, OW_MAX(n, 1));
		ow_col_clear(&kcol);
		if (ow_search_read_col(pr.p, signal, key, rg, NULL, NULL, &kcol, &kcodes, NULL,
				       NULL, err, errlen) != OW_OK) {
			rc = OW_ERROR;
			break;
		}
		if (kcol.nrows != n) {
			snprintf(err, errlen, "column %s has %zu rows, its row group %zu", eq_col,
				 kcol.nrows, n);
			rc = OW_ERROR;
			break;
		}
		size_t hits = select_eq(&kcol, &kcodes, eq, n, sel);
		s->stats.row_groups++;
		s->stats.rows += (int64_t)n;
		if (hits)
			rc = part_read_rg(&pr, rg, sel, err, errlen);
		int group = 1;
		size_t from = 0; /* the rows before it are passed over */
		for (size_t r = 0; hits && rc == OW_OK && r < n; r++) {
			if (!sel[r])
				continue;
			part_skip(&pr, from, r);
			from = r + 1;
			/* the key the row before's: its entries, by code */
			int same = !group;
			for (int k = 0; k < nkey && same; k++)
				same = part_same(&pr, k, r);
			for (int k = 0; k < nkey && same; k++)
				pr.vpos[k] += part_defined(&pr, k, r);
			part_read_row(&pr, r, same ? nkey : 0);
			if (ow_search_poll() != 0)
				rc = OW_ERROR;
			else
				rc = fn(arg, pr.v,
					(group ? OW_SEARCH_ROW_FIRST : 0) |
					    (same ? OW_SEARCH_ROW_SAME_KEY : 0));
			group = 0;
		}
	}
	if (rc == OW_ERROR && ow_search_expired(s))
		ow_search_timeout_message(s, err, errlen);
	ow_scan_pred_free(&pred);
	ow_pq_codes_free(&kcodes);
	ow_col_free(&kcol);
	free(sel);
	part_read_end(&pr);
	return rc;
}

/* Marks the text columns that row group rg of pr's part holds one value
 * (or NULL) in throughout, by its statistics, with that value. */
static void part_constants(part_read_t *pr, int rg, size_t n)
{
	for (int k = 0; k < pr->ncols; k++) {
		int fc = pr->sc[k] < 0 ? -1 : pr->p->colmap[pr->sc[k]];
		ow_pq_stats_t st;
		pr->konst[k] = 0;
		if (fc < 0 || pr->defs[pr->sc[k]].type != OW_PQ_BYTE_ARRAY ||
		    ow_pq_stats(pr->p->pq, rg, fc, &st) != OW_OK)
			continue;
		if (st.null_count == (int64_t)n) {
			pr->v[k] = (ow_search_val_t){.type = SQLITE_NULL};
			pr->code[k] = -1;
			pr->konst[k] = 1;
		} else if (st.null_count == 0 && st.has_minmax && st.min_len == st.max_len &&
			   memcmp(st.min, st.max, st.min_len) == 0) {
			pr->v[k] =
			    (ow_search_val_t){.type = SQLITE_TEXT, .p = st.min, .n = st.min_len};
			pr->code[k] = 0;
			pr->konst[k] = 1;
		}
	}
}

int ow_search_part_distinct(ow_search_t *s, int signal, size_t i, const char *const *cols,
			    int ncols, ow_search_row_fn fn, void *arg, char *err, size_t errlen)
{
	part_read_t pr;
	int rc = part_read_begin(&pr, s, signal, i, NULL, cols, ncols, err, errlen);
	size_t nc = (size_t)OW_MAX(ncols, 1);
	/* the row before's values and entries (pointers into this row
	 * group's buffers: compared within it) */
	ow_search_val_t *pv = ow_calloc(nc, sizeof(ow_search_val_t));
	int64_t *pcode = ow_calloc(nc, sizeof(int64_t));
	uint8_t *chg = NULL;
	for (int rg = 0; rc == OW_OK && rg < ow_pq_num_row_groups(pr.p->pq); rg++) {
		size_t n = (size_t)ow_pq_row_group_rows(pr.p->pq, rg);
		part_constants(&pr, rg, n);
		rc = part_read_rg(&pr, rg, NULL, err, errlen);
		s->stats.row_groups++;
		s->stats.rows += (int64_t)n;
		/* the rows that may differ from the row before: where a
		 * column's code changes (every row of a column without codes),
		 * column by column; the others are passed over */
		chg = ow_realloc(chg, OW_MAX(n, 1));
		memset(chg, 0, n);
		if (n)
			chg[0] = 1;
		for (int k = 0; rc == OW_OK && k < ncols; k++)
			mark_changes(&pr, k, n, chg);
		if (rc == OW_OK && ow_search_poll() != 0)
			rc = OW_ERROR;
		size_t from = 0;
		for (size_t r = 0; rc == OW_OK && r < n; r++) {
			if (!chg[r])
				continue;
			part_skip(&pr, from, r);
			from = r + 1;
			part_read_row(&pr, r, 0);
			int same = r > 0;
			for (int k = 0; k < ncols && same; k++) {
				const ow_search_val_t *a = &pr.v[k], *b = &pv[k];
				if (pr.code[k] != -2 && pcode[k] != -2)
					same = pr.code[k] == pcode[k];
				else
					same = a->type == b->type && a->i == b->i &&
					       (a->type != SQLITE_FLOAT || a->d == b->d) &&
					       a->n == b->n &&
					       (a->n == 0 || memcmp(a->p, b->p, a->n) == 0);
			}
			memcpy(pv, pr.v, nc * sizeof(ow_search_val_t));
			memcpy(pcode, pr.code, nc * sizeof(int64_t));
			if (ow_search_poll() != 0)
				rc = OW_ERROR;
			else if (!same)
				rc = fn(arg, pr.v, r == 0 ? OW_SEARCH_ROW_FIRST : 0);
		}
	}
	if (rc == OW_ERROR && ow_search_expired(s))
		ow_search_timeout_message(s, err, errlen);
	free(pv);
	free(pcode);
	free(chg);
	part_read_end(&pr);
	return rc;
}

/*
 * scan.c - the scan layer under both engines (vtab.c, SQLite's virtual
 * tables, and columnar.c): one predicate type and one pruning path.
 *
 * A predicate (ow_scan_pred_t, internal.h) is a column, an operator and
 * literal values; a query's predicates are ANDed (ow_scan_t). They skip,
 * before anything is decoded:
 *   - parts whose catalog time range misses the range the predicates on
 *     the time column allow (integer literals; a logs part may also hold
 *     records of time 0, partitioned by their observed_time);
 *   - row groups where a predicate's column is absent from the part (NULL
 *     in every row), or whose column statistics rule it out (null count;
 *     min and max of integer and text columns; the literal prefix of a
 *     LIKE pattern, in either ASCII case), or whose bloom filter has none
 *     of the ids of an = or IN on an id column;
 *   - data pages, by the same statistics, a page's own (the writer gives
 *     text and integer columns' pages min, max and null count), through
 *     the reader's page filter (ow_pq_read_column_pf): ow_scan_page_may.
 *     It also says when every row of a page passes (ow_scan_stats_all),
 *     for an engine that needs no value of the column then.
 * Then ow_scan_select narrows a segment's selection by a predicate over a
 * decoded column, and the engine reads its other columns only in the
 * pages that still hold a selected row.
 *
 * Values compare as SQLite compares them without conversions
 * (ow_search_val_cmp: NULL, then numbers, text, blobs; an integer and a
 * real exactly, as sqlite3IntFloatCompare). Where SQLite would convert a
 * literal first (a column's affinity: a number against a text column,
 * text against an integer one), the predicate is mixed and prunes nothing:
 * pruning only ever drops what cannot match. A comparison with a NULL
 * literal holds for no row (x = NULL is NULL), and so does x NOT IN a list
 * holding NULL. A predicate may be on a value an engine derives from a
 * column (col past the schema's columns, base the column it reads): the
 * engine promises the value is NULL where the column is, so a column NULL
 * in every row prunes it; statistics say nothing else about it.
 */
#include "internal.h"
#include "../columns/columns.h"
#include "../index/index.h"

/* ---- values and predicates ---- */

/* An integer against a real, exactly (sqlite3IntFloatCompare's way on
 * machines without a long double wider than 64 bits). */
static int int_real_cmp(int64_t i, double r)
{
	if (r < -9223372036854775808.0)
		return 1;
	if (r >= 9223372036854775808.0)
		return -1;
	int64_t y = (int64_t)r;
	if (i != y)
		return i < y ? -1 : 1;
	double s = (double)i;
	return (s > r) - (s < r);
}

int ow_search_val_cmp(const ow_search_val_t *a, const ow_search_val_t *b)
{
	static const int rank[] = {[SQLITE_INTEGER] = 1,
				   [SQLITE_FLOAT] = 1,
				   [SQLITE_TEXT] = 2,
				   [SQLITE_BLOB] = 3,
				   [SQLITE_NULL] = 0};
	if (rank[a->type] != rank[b->type])
		return rank[a->type] - rank[b->type];
	switch (rank[a->type]) {
	case 0:
		return 0;
	case 1:
		if (a->type == SQLITE_INTEGER && b->type == SQLITE_INTEGER)
			return (a->i > b->i) - (a->i < b->i);
		if (a->type == SQLITE_INTEGER)
			return int_real_cmp(a->i, b->d);
		if (b->type == SQLITE_INTEGER)
			return -int_real_cmp(b->i, a->d);
		return (a->d > b->d) - (a->d < b->d);
	default: {
		int r = OW_MIN(a->n, b->n) ? memcmp(a->p, b->p, OW_MIN(a->n, b->n)) : 0;
		return r ? r : (a->n > b->n) - (a->n < b->n);
	}
	}
}

static int derived(const ow_scan_pred_t *p)
{
	return p->col != p->base;
}

static int is_text_col(const ow_pq_coldef_t *d)
{
	return d->type == OW_PQ_BYTE_ARRAY || d->type == OW_PQ_FIXED;
}

/* A LIKE pattern's literal prefix (before its first '%', '_' or NUL, at
 * most n bytes) in lower and upper case (owned); its length. */
static size_t like_prefix(const uint8_t *pat, size_t n, uint8_t **lower, uint8_t **upper)
{
	size_t k = 0;
	while (k < n && pat[k] != '%' && pat[k] != '_' && pat[k] != 0)
		k++; /* like() reads a pattern up to its first NUL */
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

void ow_scan_pred_ready(ow_scan_pred_t *p, const ow_pq_coldef_t *d)
{
	int like = p->op == OW_SCAN_LIKE || p->op == OW_SCAN_NOT_LIKE || p->op == OW_SCAN_MATCH;
	p->mixed = 0;
	if (like) {
		/* like() reads its pattern as text: anything else is converted */
		p->mixed = p->nvals < 1 ||
			   (p->vals[0].type != SQLITE_TEXT && p->vals[0].type != SQLITE_NULL);
	} else if (!derived(p) && p->op != OW_SCAN_NULL && p->op != OW_SCAN_NOT_NULL) {
		for (size_t j = 0; j < p->nvals; j++) {
			int t = p->vals[j].type;
			if (t == SQLITE_NULL)
				continue;
			if (t == SQLITE_BLOB || (t == SQLITE_TEXT) != is_text_col(d))
				p->mixed = 1;
		}
	}
	if (!derived(p) && !p->mixed && d->type == OW_PQ_FIXED &&
	    (p->op == OW_SCAN_EQ || p->op == OW_SCAN_NE || p->op == OW_SCAN_IN ||
	     p->op == OW_SCAN_NOT_IN)) {
		/* the column reads as lowercase hex: other text equals no id */
		size_t len = (size_t)d->fixed_len;
		p->ids = ow_alloc(p->nvals * len + 1);
		p->nids = 0;
		for (size_t j = 0; j < p->nvals; j++) {
			const uint8_t *h = p->vals[j].p;
			uint8_t *id = p->ids + p->nids * len;
			size_t i = 0;
			if (p->vals[j].type != SQLITE_TEXT || p->vals[j].n != 2 * len)
				continue;
			for (; i < len && ow_search_unhex(h[2 * i]) >= 0 &&
			       ow_search_unhex(h[2 * i + 1]) >= 0;
			     i++)
				id[i] = (uint8_t)(ow_search_unhex(h[2 * i]) << 4 |
						  ow_search_unhex(h[2 * i + 1]));
			p->nids += i == len;
		}
	}
	if (p->op == OW_SCAN_MATCH && !p->mixed && p->vals[0].type == SQLITE_TEXT) {
		p->ntok = ow_index_tokens(p->vals[0].p, p->vals[0].n, &p->toks, &p->tokends);
		/* its longest token, when ASCII, as the needle: a value without
		 * it in any case cannot have it as a token */
		const uint32_t *e = (const uint32_t *)p->tokends.data;
		size_t best = 0, at = 0;
		for (size_t k = 0; k < p->ntok; k++) {
			uint32_t from = k ? e[k - 1] : 0;
			if (e[k] - from > best)
				best = e[k] - from, at = from;
		}
		for (size_t i = 0; i < best; i++)
			if (p->toks.data[at + i] >= 0x80)
				best = 0;
		if (best) {
			p->needle = ow_alloc(best + 1);
			memcpy(p->needle, p->toks.data + at, best);
			p->needle[best] = '\0';
			p->nneedle = best;
		}
		return;
	}
	if (like && !p->mixed && p->vals[0].type == SQLITE_TEXT) {
		const ow_search_val_t *v = &p->vals[0];
		p->npre = like_prefix(v->p, v->n, &p->pre_lo, &p->pre_up);
		p->needle = ow_alloc(v->n + 1);
		if (ow_search_like_needle(v->p, v->n, p->needle, v->n + 1)) {
			p->nneedle = strlen(p->needle);
		} else {
			free(p->needle);
			p->needle = NULL;
		}
	}
}

void ow_scan_pred_free(ow_scan_pred_t *p)
{
	for (size_t j = 0; j < p->nvals; j++)
		free((void *)p->vals[j].p);
	free(p->vals);
	free(p->ids);
	free(p->needle);
	free(p->pre_lo);
	free(p->pre_up);
	ow_buf_free(&p->toks);
	ow_buf_free(&p->tokends);
	memset(p, 0, sizeof(*p));
}

int ow_scan_holds(const ow_scan_pred_t *p, const ow_search_val_t *x)
{
	if (p->op == OW_SCAN_NULL)
		return x->type == SQLITE_NULL;
	if (x->type == SQLITE_NULL)
		return 0;
	switch (p->op) {
	case OW_SCAN_NOT_NULL:
		return 1;
	case OW_SCAN_MATCH:
	case OW_SCAN_LIKE:
	case OW_SCAN_NOT_LIKE: {
		if (p->nvals < 1 || p->vals[0].type == SQLITE_NULL)
			return 0;
		/* a number matches as its text (->> gives integers) */
		char num[24];
		const uint8_t *t = x->p;
		size_t n = x->n;
		if (x->type == SQLITE_INTEGER) {
			n = (size_t)snprintf(num, sizeof(num), "%lld", (long long)x->i);
			t = (const uint8_t *)num;
		}
		if (p->op == OW_SCAN_MATCH) /* stopped (-1): no row, the query stops */
			return ow_index_match(t, n, p->toks.data, (const uint32_t *)p->tokends.data,
					      p->ntok, ow_search_poll) == 1;
		int m = p->needle ? ow_search_like_find(p->needle, p->nneedle, t, n)
				  : ow_search_like(p->vals[0].p, p->vals[0].n, t, n);
		return m == (p->op == OW_SCAN_LIKE);
	}
	case OW_SCAN_IN:
	case OW_SCAN_NOT_IN: {
		int null = 0;
		for (size_t j = 0; j < p->nvals; j++) {
			if (p->vals[j].type == SQLITE_NULL)
				null = 1;
			else if (ow_search_val_cmp(x, &p->vals[j]) == 0)
				return p->op == OW_SCAN_IN;
		}
		return p->op == OW_SCAN_NOT_IN && !null;
	}
	}
	if (p->nvals < 1 || p->vals[0].type == SQLITE_NULL)
		return 0;
	int r = ow_search_val_cmp(x, &p->vals[0]);
	switch (p->op) {
	case OW_SCAN_EQ:
		return r == 0;
	case OW_SCAN_NE:
		return r != 0;
	case OW_SCAN_LT:
		return r < 0;
	case OW_SCAN_LE:
		return r <= 0;
	case OW_SCAN_GT:
		return r > 0;
	default:
		return r >= 0;
	}
}

static int null_holds(const ow_scan_pred_t *p)
{
	return p->op == OW_SCAN_NULL;
}

/* 1 when no value, NULL or not, satisfies p. */
static int never(const ow_scan_pred_t *p)
{
	size_t nulls = 0;
	for (size_t j = 0; j < p->nvals; j++)
		nulls += p->vals[j].type == SQLITE_NULL;
	switch (p->op) {
	case OW_SCAN_NULL:
	case OW_SCAN_NOT_NULL:
		return 0;
	case OW_SCAN_IN:
		if (nulls == p->nvals)
			return 1;
		break;
	case OW_SCAN_NOT_IN:
		return nulls > 0;
	default:
		if (p->nvals < 1 || p->vals[0].type == SQLITE_NULL)
			return 1;
	}
	/* = or IN on an id column with no literal that is an id */
	return p->ids && p->nids == 0 && (p->op == OW_SCAN_EQ || p->op == OW_SCAN_IN);
}

/* ---- statistics ---- */

int ow_scan_stats_bounds(const ow_pq_coldef_t *d, const ow_pq_stats_t *st, ow_search_val_t *lo,
			 ow_search_val_t *hi)
{
	*lo = *hi = (ow_search_val_t){0};
	if (!st->has_minmax)
		return 0;
	switch (d->type) {
	case OW_PQ_INT64:
		if (st->min_len != 8 || st->max_len != 8)
			return 0;
		lo->i = (int64_t)ow_get_u64(st->min);
		hi->i = (int64_t)ow_get_u64(st->max);
		/* unsigned bounds keep their order as signed values only
		 * below 2^63 */
		if (d->logical == OW_PQ_L_UINT64 && (lo->i < 0 || hi->i < 0))
			return 0;
		break;
	case OW_PQ_INT32: {
		if (st->min_len != 4 || st->max_len != 4)
			return 0;
		uint32_t a = ow_get_u32(st->min), b = ow_get_u32(st->max);
		int u = d->logical == OW_PQ_L_UINT32;
		lo->i = u ? (int64_t)a : (int64_t)(int32_t)a;
		hi->i = u ? (int64_t)b : (int64_t)(int32_t)b;
		break;
	}
	case OW_PQ_BYTE_ARRAY:
		lo->type = hi->type = SQLITE_TEXT;
		lo->p = st->min, lo->n = st->min_len;
		hi->p = st->max, hi->n = st->max_len;
		return 1;
	default:
		return 0;
	}
	lo->type = hi->type = SQLITE_INTEGER;
	return 1;
}

/* a against b (n >= 1 bytes) with b's first byte read as c0. */
static int cmp_first(const uint8_t *a, size_t la, uint8_t c0, const uint8_t *b, size_t n)
{
	if (la == 0)
		return -1;
	if (a[0] != c0)
		return a[0] < c0 ? -1 : 1;
	ow_search_val_t x = {.type = SQLITE_TEXT, .p = a + 1, .n = la - 1};
	ow_search_val_t y = {.type = SQLITE_TEXT, .p = b + 1, .n = n - 1};
	return ow_search_val_cmp(&x, &y);
}

/* 0 when no text in [min, max] of a chunk's statistics can start with the
 * prefix (n bytes, lower and upper case) in any ASCII case. */
static int like_stats(const uint8_t *lower, const uint8_t *upper, size_t n, const ow_pq_stats_t *st)
{
	if (!st->has_minmax || n == 0)
		return 1;
	/* a match starts with the prefix, its first letter in either case
	 * and the rest in any: at or after the upper-case form, its first n
	 * bytes at or before the lower-case one. The first byte's two cases
	 * are tried apart: with both together the bounds would span every
	 * string from "Z..." to "z...". */
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

int ow_scan_stats_may(const ow_scan_pred_t *p, const ow_pq_coldef_t *d, const ow_pq_stats_t *st,
		      int64_t rows)
{
	if (st->null_count == rows) /* no value: the column NULL, so is p's value */
		return null_holds(p);
	if (derived(p) || p->mixed)
		return 1;
	if (p->op == OW_SCAN_NULL)
		return st->null_count != 0;
	if (p->op == OW_SCAN_MATCH) /* statistics know no token */
		return !never(p);
	if (p->op == OW_SCAN_LIKE && p->npre && d->type == OW_PQ_BYTE_ARRAY &&
	    !like_stats(p->pre_lo, p->pre_up, p->npre, st))
		return 0;
	ow_search_val_t lo, hi;
	if (!ow_scan_stats_bounds(d, st, &lo, &hi))
		return 1;
	if (ow_search_val_cmp(&lo, &hi) == 0) /* one value: p holds for it or for no row */
		return ow_scan_holds(p, &lo);
	int any = p->op == OW_SCAN_IN ? 0 : 1;
	for (size_t j = 0; j < p->nvals; j++) {
		const ow_search_val_t *v = &p->vals[j];
		if (v->type == SQLITE_NULL)
			continue;
		int below = ow_search_val_cmp(v, &lo), above = ow_search_val_cmp(v, &hi);
		switch (p->op) {
		case OW_SCAN_EQ:
		case OW_SCAN_IN:
			if (below >= 0 && above <= 0)
				return 1;
			any = 0;
			break;
		case OW_SCAN_LT:
			return below > 0;
		case OW_SCAN_LE:
			return below >= 0;
		case OW_SCAN_GT:
			return above < 0;
		case OW_SCAN_GE:
			return above <= 0;
		}
	}
	return any && !never(p);
}

int ow_scan_stats_all(const ow_scan_pred_t *p, const ow_pq_coldef_t *d, const ow_pq_stats_t *st,
		      int64_t rows)
{
	if (p->op == OW_SCAN_NULL)
		return st->null_count == rows;
	ow_search_val_t lo, hi;
	if (derived(p) || p->mixed || p->op == OW_SCAN_MATCH || st->null_count != 0 ||
	    !ow_scan_stats_bounds(d, st, &lo, &hi))
		return 0;
	/* the writer gives exact bounds or none: with no NULL every value lies
	 * in [min, max], and a comparison holds for all of them when it holds
	 * for both bounds, any other predicate when min = max and it holds for
	 * that value */
	if ((p->op >= OW_SCAN_LT && p->op <= OW_SCAN_GE) || p->op == OW_SCAN_NOT_NULL)
		return ow_scan_holds(p, &lo) && ow_scan_holds(p, &hi);
	return ow_search_val_cmp(&lo, &hi) == 0 && ow_scan_holds(p, &lo);
}

/* ---- parts, row groups and pages ---- */

/* The integers column col may hold as far as its predicates with integer
 * literals say, narrowed into [*lo, *hi]; 0 when none. */
static int int_range(const ow_scan_t *sc, int col, int64_t *lo, int64_t *hi)
{
	*lo = INT64_MIN, *hi = INT64_MAX;
	for (int i = 0; i < sc->np; i++) {
		const ow_scan_pred_t *p = &sc->p[i];
		if (p->col != col || derived(p) || p->mixed || p->op > OW_SCAN_IN ||
		    p->op == OW_SCAN_NE)
			continue;
		int64_t a = INT64_MAX, b = INT64_MIN;
		int ints = 1;
		for (size_t j = 0; j < p->nvals; j++) {
			const ow_search_val_t *v = &p->vals[j];
			if (v->type == SQLITE_INTEGER)
				a = OW_MIN(a, v->i), b = OW_MAX(b, v->i);
			else if (v->type != SQLITE_NULL)
				ints = 0; /* a real: SQLite's comparison, not these bounds */
		}
		if (!ints)
			continue;
		if (a > b)
			return 0; /* only NULL literals */
		switch (p->op) {
		case OW_SCAN_LT:
			if (a == INT64_MIN)
				return 0;
			*hi = OW_MIN(*hi, a - 1);
			break;
		case OW_SCAN_LE:
			*hi = OW_MIN(*hi, a);
			break;
		case OW_SCAN_GT:
			if (a == INT64_MAX)
				return 0;
			*lo = OW_MAX(*lo, a + 1);
			break;
		case OW_SCAN_GE:
			*lo = OW_MAX(*lo, a);
			break;
		default: /* = and IN */
			*lo = OW_MAX(*lo, a);
			*hi = OW_MIN(*hi, b);
		}
	}
	return *lo <= *hi;
}

int ow_scan_none(const ow_scan_t *sc)
{
	int64_t lo, hi;
	for (int i = 0; i < sc->np; i++)
		if (never(&sc->p[i]) ||
		    (!derived(&sc->p[i]) && !int_range(sc, sc->p[i].col, &lo, &hi)))
			return 1;
	return 0;
}

int ow_scan_part_may(const ow_scan_t *sc, const ow_search_part_t *p)
{
	int64_t lo, hi;
	if (!int_range(sc, ow_columns_time_col(sc->signal), &lo, &hi))
		return 0;
	int zero = sc->signal == OW_LOGS && lo <= 0 && hi >= 0;
	return (p->max_time >= lo && p->min_time <= hi) || zero;
}

int ow_scan_rg_may(const ow_scan_t *sc, ow_search_part_t *p, int rg)
{
	int64_t rows = ow_pq_row_group_rows(p->pq, rg);
	for (int i = 0; i < sc->np; i++) {
		const ow_scan_pred_t *f = &sc->p[i];
		int fc = p->colmap[f->base];
		if (fc < 0) {
			if (!null_holds(f))
				return 0; /* absent from the part: NULL in every row */
			continue;
		}
		ow_pq_stats_t st;
		if (ow_pq_stats(p->pq, rg, fc, &st) == OW_OK &&
		    !ow_scan_stats_may(f, &sc->defs[f->base], &st, rows))
			return 0;
		if (f->ids && (f->op == OW_SCAN_EQ || f->op == OW_SCAN_IN)) {
			size_t len = (size_t)sc->defs[f->base].fixed_len, j = 0;
			while (j < f->nids &&
			       !ow_pq_bloom_check(p->pq, rg, fc, f->ids + j * len, len))
				j++;
			if (j == f->nids)
				return 0;
		}
	}
	return 1;
}

int ow_scan_page_may(const ow_scan_t *sc, int col, const ow_pq_stats_t *st, int64_t rows)
{
	int all = 1, any = 0;
	for (int i = 0; i < sc->np; i++) {
		const ow_scan_pred_t *p = &sc->p[i];
		if (p->base != col)
			continue;
		if (!ow_scan_stats_may(p, &sc->defs[col], st, rows))
			return 0;
		any = 1;
		all = all && ow_scan_stats_all(p, &sc->defs[col], st, rows);
	}
	return any && all ? 2 : 1;
}

/* ---- the full-text index ---- */

/* Narrows may by the runs of token bytes of needle t (n bytes) of a
 * LIKE '%needle%': a value that matches holds the needle, so each run
 * inside it is a whole token of the value, but a run that touches an end
 * of the needle may be part of a longer token: its prefix where it ends
 * the needle, its suffix where it starts it, anything inside where both
 * ('%time%' matches "timeout"). 0 when the index does not cover col. */
static int narrow_text(const ow_index_t *ix, int col, const uint8_t *t, size_t n, uint8_t *may)
{
	int covered = 1;
	ow_buf_t run = {0};
	/* the runs looked up in the sorted dictionary (whole tokens and
	 * prefixes) first: a suffix or a substring walks all of it, unless
	 * the blocks left already hold it whole (ow_index_narrow) */
	for (int pass = 0; pass < 2 && covered; pass++) {
		size_t at = 0, i, j;
		while (covered && ow_index_next(t, n, &at, &i, &j)) {
			int open_left = i == 0, open_right = j == n;
			int kind = open_left && open_right ? OW_INDEX_INSIDE
				   : open_left		   ? OW_INDEX_SUFFIX
				   : open_right		   ? OW_INDEX_PREFIX
							   : OW_INDEX_WHOLE;
			if (pass != (kind == OW_INDEX_SUFFIX || kind == OW_INDEX_INSIDE))
				continue;
			run.len = 0;
			for (size_t k = i; k < j; k++) {
				uint8_t c = ow_index_fold(t[k]);
				ow_buf_add(&run, &c, 1);
			}
			covered =
			    ow_index_narrow(ix, col, run.data, run.len, kind, may, ow_search_poll);
		}
	}
	ow_buf_free(&run);
	return covered;
}

uint8_t *ow_scan_index(const ow_scan_t *sc, const ow_search_part_t *p)
{
	const ow_index_t *ix = ow_index_of(p->ref);
	int text = 0; /* a predicate the index may answer: most queries have none */
	for (int i = 0; i < sc->np && !text; i++)
		text = sc->p[i].op == OW_SCAN_MATCH ||
		       (sc->p[i].op == OW_SCAN_LIKE && sc->p[i].needle);
	if (!ix || !text || ow_index_hold(ix) != OW_OK)
		return NULL;
	size_t nb = ow_index_nblocks(ix);
	uint8_t *may = ow_alloc(nb + 1);
	memset(may, 1, nb);
	int used = 0;
	for (int i = 0; i < sc->np; i++) {
		const ow_scan_pred_t *f = &sc->p[i];
		if (derived(f) || f->mixed || f->nvals < 1 || f->vals[0].type != SQLITE_TEXT)
			continue;
		const uint32_t *ends = (const uint32_t *)f->tokends.data;
		for (size_t k = 0; f->op == OW_SCAN_MATCH && k < f->ntok; k++) {
			uint32_t from = k ? ends[k - 1] : 0;
			used |= ow_index_narrow(ix, f->col, f->toks.data + from, ends[k] - from,
						OW_INDEX_WHOLE, may, NULL);
		}
		if (f->op == OW_SCAN_LIKE && f->needle)
			used |=
			    narrow_text(ix, f->col, (const uint8_t *)f->needle, f->nneedle, may);
	}
	ow_index_release(ix);
	/* a token in every block (a common word) rules nothing out: the part
	 * is read as without an index, with nothing to look up per block */
	if (!used || memchr(may, 0, nb) == NULL) {
		free(may);
		return NULL;
	}
	return may;
}

int ow_scan_index_rg(const uint8_t *may, const ow_search_part_t *p, int rg)
{
	const ow_index_t *ix = ow_index_of(p->ref);
	size_t b = ow_index_rg_block(ix, rg), e = ow_index_rg_block(ix, rg + 1);
	for (; b < e; b++)
		if (may[b])
			return 1;
	return 0;
}

size_t ow_scan_index_sel(const uint8_t *may, const ow_search_part_t *p, int rg, uint8_t *sel,
			 size_t nrows)
{
	const ow_index_t *ix = ow_index_of(p->ref);
	size_t first = ow_index_rg_block(ix, rg), br = ow_index_block_rows(ix), n = 0;
	for (size_t row = 0; row < nrows; row += br) {
		size_t m = OW_MIN(br, nrows - row);
		if (!may[first + row / br])
			memset(sel + row, 0, m);
		else
			n += ow_count_ones(sel + row, m);
	}
	return n;
}

/* ---- rows ---- */

int ow_scan_int_range(const ow_scan_pred_t *p, const ow_pq_coldef_t *d, int64_t *lo, int64_t *hi)
{
	if (p->mixed || derived(p) || p->op > OW_SCAN_GE || p->op == OW_SCAN_NE || p->nvals < 1 ||
	    p->vals[0].type != SQLITE_INTEGER ||
	    (d->type != OW_PQ_INT64 && (d->type != OW_PQ_INT32 || d->logical == OW_PQ_L_UINT32)))
		return 0;
	int64_t x = p->vals[0].i;
	if ((p->op == OW_SCAN_LT && x == INT64_MIN) || (p->op == OW_SCAN_GT && x == INT64_MAX)) {
		*lo = 1, *hi = 0; /* none */
		return 1;
	}
	if (p->op == OW_SCAN_EQ || p->op == OW_SCAN_GE || p->op == OW_SCAN_GT)
		*lo = OW_MAX(*lo, p->op == OW_SCAN_GT ? x + 1 : x);
	if (p->op == OW_SCAN_EQ || p->op == OW_SCAN_LE || p->op == OW_SCAN_LT)
		*hi = OW_MIN(*hi, p->op == OW_SCAN_LT ? x - 1 : x);
	return 1;
}

size_t ow_scan_select(const ow_scan_pred_t *p, const ow_pq_coldef_t *d, const ow_col_t *o,
		      uint8_t *sel, size_t nrows)
{
	size_t n = 0;
	if (never(p) || (!o && !null_holds(p))) {
		memset(sel, 0, nrows);
		return 0;
	}
	if (!o)
		return ow_count_ones(sel, nrows);
	const uint8_t *defs = o->defs.data;
	int64_t lo = INT64_MIN, hi = INT64_MAX;
	if (p->ids) {
		/* ids on their bytes: no hex */
		size_t len = (size_t)d->fixed_len;
		int in = p->op == OW_SCAN_EQ || p->op == OW_SCAN_IN;
		for (size_t row = 0, vp = 0; row < nrows; vp += defs[row++]) {
			if (!sel[row])
				continue;
			int match = 0;
			for (size_t j = 0; defs[row] && j < p->nids && !match; j++)
				match =
				    memcmp(o->fixed.data + vp * len, p->ids + j * len, len) == 0;
			sel[row] = (uint8_t)(defs[row] && match == in);
			n += sel[row];
		}
		return n;
	}
	if (ow_scan_int_range(p, d, &lo, &hi)) {
		int wide = d->type == OW_PQ_INT64;
		const uint8_t *v = o->fixed.data;
		for (size_t row = 0, vp = 0; row < nrows; vp += defs[row++]) {
			if (!sel[row])
				continue;
			int64_t y = !defs[row] ? 0
				    : wide     ? (int64_t)ow_get_u64(v + 8 * vp)
					       : (int32_t)ow_get_u32(v + 4 * vp);
			sel[row] = (uint8_t)(defs[row] && y >= lo && y <= hi);
			n += sel[row];
		}
		return n;
	}
	char hex[OW_SEARCH_HEX_MAX];
	ow_search_val_t x;
	int if_null = null_holds(p);
	for (size_t row = 0, vp = 0; row < nrows; vp += defs[row++]) {
		if (!sel[row])
			continue;
		if (defs[row]) {
			ow_search_cell(d, o, vp, hex, &x);
			sel[row] = (uint8_t)ow_scan_holds(p, &x);
		} else {
			sel[row] = (uint8_t)if_null;
		}
		n += sel[row];
	}
	return n;
}

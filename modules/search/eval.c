/*
 * eval.c - the expressions of the columnar executor, with SQLite 3.40's
 * values (the version Debian ships; t/86columnar.t compares the two
 * engines on generated queries):
 *
 *   arithmetic   + - * / % and unary - (SQLite's 0 - x): integers while
 *                both operands are, a real once an integer result would
 *                overflow (INT64_MIN / -1 too), NULL for a division or a
 *                remainder by zero; % of reals on their integer parts
 *   comparisons  = == != <> < <= > >= IS [NOT], BETWEEN, IN (list), after
 *                SQLite's affinity rules: a column's declared type (and a
 *                CAST's) makes the other side numeric (INTEGER, REAL) or
 *                text (TEXT); then NULL < numbers < text (BINARY) < blobs,
 *                integers and reals compared exactly
 *   logic        AND, OR, NOT in three values; a value's truth is its
 *                number's (0 false)
 *   text         ||, LIKE and GLOB (expr.c's matcher), lower, upper (ASCII,
 *                as SQLite without ICU), length, substr, instr, replace,
 *                trim, ltrim, rtrim; numbers read as text as SQLite writes
 *                them (reals "%!.15g" through sqlite3_snprintf)
 *   others       CASE (both forms), CAST, coalesce, ifnull, nullif, iif,
 *                abs, round, scalar min and max, the time helpers of
 *                funcs.c, strftime, datetime, date, time, unixepoch and
 *                julianday of a number with the 'unixepoch' modifier
 *
 * Text read as a number is read here only where that is plain: an
 * integer of at most 15 digits with an optional sign, or text with no
 * number in front (0, and not numeric); anything else (' 12', '1.5e3',
 * '12abc') gives OW_DECLINED, and SQLite answers the query. Functions
 * done here only in part (round to digits, the date functions with other
 * modifiers or formats) are SQLite's own, called through a connection of
 * the evaluation's (E_SQLFN, and the date functions' other forms): the
 * same code gives the same value.
 */
#include "eval.h"
#include "../index/index.h"

#include <math.h>
#include <strings.h>

/* search.c's SQLITE_LIMIT_LIKE_PATTERN_LENGTH: a longer pattern is
 * SQLite's error */
#define LIKE_MAX 10000

/* ---- nodes ---- */

ow_node_t *ow_node_new(int op, int n)
{
	ow_node_t *x = ow_calloc(1, sizeof(*x));
	x->op = op;
	x->v.type = SQLITE_NULL;
	if (n)
		x->kid = ow_calloc((size_t)n, sizeof(ow_node_t *));
	x->n = n;
	return x;
}

void ow_node_add(ow_node_t *n, ow_node_t *kid)
{
	/* room doubled at each power of two: long IN lists */
	if ((n->n & (n->n - 1)) == 0)
		n->kid = ow_realloc(n->kid, (size_t)(n->n ? 2 * n->n : 1) * sizeof(ow_node_t *));
	n->kid[n->n++] = kid;
}

static void set_free(ow_eval_set_t *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].type == SQLITE_TEXT || s->v[i].type == SQLITE_BLOB)
			free((void *)s->v[i].p);
	free(s->v);
	free(s);
}

void ow_node_free(ow_node_t *n)
{
	if (!n)
		return;
	for (int i = 0; i < n->n; i++)
		ow_node_free(n->kid[i]);
	free(n->kid);
	if (n->v.type == SQLITE_TEXT || n->v.type == SQLITE_BLOB)
		free((void *)n->v.p);
	free(n->name);
	set_free(n->set);
	free(n);
}

int ow_node_same(const ow_node_t *a, const ow_node_t *b)
{
	if (a->op != b->op || a->aff != b->aff || a->fn != b->fn || a->neg != b->neg ||
	    a->n != b->n || a->q != b->q || a->sub || b->sub)
		return 0;
	if ((a->name || b->name) && (!a->name || !b->name || strcasecmp(a->name, b->name)))
		return 0;
	if ((a->op == E_REF || a->op == E_AGG) && a->id != b->id)
		return 0;
	if (a->op == E_LIT && (a->v.type != b->v.type || ow_eval_compare(&a->v, &b->v) != 0))
		return 0;
	for (int i = 0; i < a->n; i++)
		if (!ow_node_same(a->kid[i], b->kid[i]))
			return 0;
	return 1;
}

/* ---- the arena ---- */

#define BLOCK 65536

void *ow_arena_alloc(ow_arena_t *a, size_t n)
{
	n = (n + 7) & ~(size_t)7;
	if (!a->nblk || a->used + n > a->cap) {
		size_t cap = n > BLOCK ? n : BLOCK;
		a->blk = ow_realloc(a->blk, (a->nblk + 1) * sizeof(uint8_t *));
		a->blk[a->nblk++] = ow_alloc(cap);
		a->used = 0;
		a->cap = cap;
	}
	void *p = a->blk[a->nblk - 1] + a->used;
	a->used += n;
	return p;
}

void ow_arena_reset(ow_arena_t *a)
{
	if (a->nblk == 0)
		return;
	/* the last block is kept: the largest a value needed */
	for (size_t i = 0; i + 1 < a->nblk; i++)
		free(a->blk[i]);
	a->blk[0] = a->blk[a->nblk - 1];
	a->nblk = 1;
	a->used = 0;
}

void ow_arena_free(ow_arena_t *a)
{
	for (size_t i = 0; i < a->nblk; i++)
		free(a->blk[i]);
	free(a->blk);
	memset(a, 0, sizeof(*a));
}

void ow_eval_free(ow_eval_t *e)
{
	for (int i = 0; i < e->nst; i++)
		sqlite3_finalize(e->st[i]);
	free(e->st);
	sqlite3_finalize(e->real_st);
	e->real_st = NULL;
	if (e->db)
		sqlite3_close(e->db);
	ow_arena_free(&e->ar);
	e->st = NULL, e->nst = 0, e->db = NULL;
}

/* ---- values ---- */

static void set_null(ow_search_val_t *v)
{
	memset(v, 0, sizeof(*v));
	v->type = SQLITE_NULL;
}

static void set_int(ow_search_val_t *v, int64_t i)
{
	memset(v, 0, sizeof(*v));
	v->type = SQLITE_INTEGER;
	v->i = i;
}

static void set_real(ow_search_val_t *v, double d)
{
	memset(v, 0, sizeof(*v));
	v->type = SQLITE_FLOAT;
	v->d = d;
}

static void set_text(ow_search_val_t *v, const uint8_t *p, size_t n)
{
	memset(v, 0, sizeof(*v));
	v->type = SQLITE_TEXT;
	v->p = p;
	v->n = n;
}

/* Text read as a number where the reading is plain: 1 with *i for an
 * integer of at most 15 digits and an optional sign; 0 for text with no
 * number in front (SQLite reads 0, and does not take it as numeric); -1
 * for anything else. */
static int text_number(const uint8_t *p, size_t n, int64_t *i)
{
	*i = 0;
	if (n == 0 || p[0] == 0 || !strchr(" \t\n\v\f\r+-.0123456789", p[0]))
		return 0;
	size_t k = p[0] == '+' || p[0] == '-', d = 0;
	int64_t x = 0;
	for (; k < n && p[k] >= '0' && p[k] <= '9'; k++, d++)
		if (d < 15) /* past 15 it is declined: no overflow on the way */
			x = x * 10 + (p[k] - '0');
	if (k != n || d == 0 || d > 15)
		return -1;
	*i = p[0] == '-' ? -x : x;
	return 1;
}

/* SQLite's sqlite3VdbeIntValue of a real. */
static int64_t real_to_int(double r)
{
	if (r <= (double)INT64_MIN)
		return INT64_MIN;
	if (r >= (double)INT64_MAX)
		return INT64_MAX;
	return (int64_t)r;
}

/* The number a value is in arithmetic (SQLite's numericType): an integer
 * or a real; NULL stays NULL. */
static int numeric(const ow_search_val_t *x, ow_search_val_t *out)
{
	if (x->type != SQLITE_TEXT && x->type != SQLITE_BLOB) {
		*out = *x;
		return OW_OK;
	}
	int64_t i;
	if (x->type == SQLITE_BLOB || text_number(x->p, x->n, &i) < 0)
		return OW_DECLINED;
	set_int(out, i);
	return OW_OK;
}

/* sqlite3_value_double. */
static int real_of(const ow_search_val_t *x, double *d)
{
	ow_search_val_t n;
	if (numeric(x, &n) != OW_OK)
		return OW_DECLINED;
	*d = n.type == SQLITE_INTEGER ? (double)n.i : n.type == SQLITE_FLOAT ? n.d : 0.0;
	return OW_OK;
}

/* sqlite3_value_int64. */
static int int_of(const ow_search_val_t *x, int64_t *i)
{
	ow_search_val_t n;
	if (numeric(x, &n) != OW_OK)
		return OW_DECLINED;
	*i = n.type == SQLITE_INTEGER ? n.i : n.type == SQLITE_FLOAT ? real_to_int(n.d) : 0;
	return OW_OK;
}

int ow_eval_text(ow_eval_t *e, const ow_search_val_t *x, ow_search_val_t *out)
{
	char *b;
	switch (x->type) {
	case SQLITE_INTEGER:
		b = ow_arena_alloc(&e->ar, 24);
		set_text(out, (const uint8_t *)b, (size_t)snprintf(b, 24, "%lld", (long long)x->i));
		return OW_OK;
	case SQLITE_FLOAT:
		b = ow_arena_alloc(&e->ar, 40);
		sqlite3_snprintf(40, b, "%!.15g", x->d);
		set_text(out, (const uint8_t *)b, strlen(b));
		return OW_OK;
	case SQLITE_BLOB:
		set_text(out, x->p, x->n);
		return OW_OK;
	default:
		*out = *x;
		return OW_OK;
	}
}

/* The text as a C string (to its first NUL, as SQLite's functions read
 * it). */
static const char *c_string(ow_eval_t *e, const ow_search_val_t *t)
{
	char *s = ow_arena_alloc(&e->ar, t->n + 1);
	if (t->n)
		memcpy(s, t->p, t->n);
	s[t->n] = '\0';
	return s;
}

int ow_eval_compare(const ow_search_val_t *a, const ow_search_val_t *b)
{
	return ow_search_val_cmp(a, b);
}

int ow_eval_cmp_aff(int a, int b)
{
	if (a > AFF_NONE && b > AFF_NONE)
		return a >= AFF_NUMERIC || b >= AFF_NUMERIC ? AFF_NUMERIC : AFF_BLOB;
	return a > AFF_NONE ? a : b;
}

int ow_eval_apply_aff(ow_eval_t *e, int aff, ow_search_val_t *x)
{
	if (aff >= AFF_NUMERIC && x->type == SQLITE_TEXT) {
		int64_t i;
		int k = text_number(x->p, x->n, &i);
		if (k < 0)
			return OW_DECLINED;
		if (k == 1)
			set_int(x, i);
	} else if (aff == AFF_TEXT && (x->type == SQLITE_INTEGER || x->type == SQLITE_FLOAT)) {
		ow_search_val_t t;
		ow_eval_text(e, x, &t);
		*x = t;
	}
	return OW_OK;
}

int ow_eval_type_aff(const char *name)
{
	static const struct {
		const char *name;
		int aff;
	} types[] = {{"INTEGER", AFF_INTEGER}, {"INT", AFF_INTEGER},	{"BIGINT", AFF_INTEGER},
		     {"REAL", AFF_REAL},       {"DOUBLE", AFF_REAL},	{"FLOAT", AFF_REAL},
		     {"TEXT", AFF_TEXT},       {"NUMERIC", AFF_NUMERIC}};
	for (size_t i = 0; i < OW_NELEMS(types); i++)
		if (strcasecmp(name, types[i].name) == 0)
			return types[i].aff;
	return -1;
}

/* ---- evaluation ---- */

int ow_eval_value_truth(const ow_search_val_t *v, int *t)
{
	if (v->type == SQLITE_NULL) {
		*t = -1;
		return OW_OK;
	}
	double d;
	if (v->type == SQLITE_INTEGER) {
		*t = v->i != 0;
		return OW_OK;
	}
	if (real_of(v, &d) != OW_OK)
		return OW_DECLINED;
	*t = d != 0.0;
	return OW_OK;
}

int ow_eval_truth(ow_eval_t *e, const ow_node_t *n, int *truth)
{
	ow_search_val_t v;
	int rc = ow_eval(e, n, &v);
	return rc != OW_OK ? rc : ow_eval_value_truth(&v, truth);
}

/* x op y after the comparison's affinity: 1, 0, or -1 for NULL. */
static int compare(ow_eval_t *e, int op, int aff, ow_search_val_t x, ow_search_val_t y, int *out)
{
	if (x.type == SQLITE_NULL || y.type == SQLITE_NULL) {
		*out = op == E_IS ? x.type == y.type : -1;
		return OW_OK;
	}
	int c;
	if (x.type == SQLITE_INTEGER && y.type == SQLITE_INTEGER && aff != AFF_TEXT) {
		c = (x.i > y.i) - (x.i < y.i); /* no conversion: the plain case */
	} else {
		if (ow_eval_apply_aff(e, aff, &x) != OW_OK ||
		    ow_eval_apply_aff(e, aff, &y) != OW_OK)
			return OW_DECLINED;
		c = ow_eval_compare(&x, &y);
	}
	switch (op) {
	case E_EQ:
	case E_IS:
		*out = c == 0;
		break;
	case E_NE:
		*out = c != 0;
		break;
	case E_LT:
		*out = c < 0;
		break;
	case E_LE:
		*out = c <= 0;
		break;
	case E_GT:
		*out = c > 0;
		break;
	default:
		*out = c >= 0;
	}
	return OW_OK;
}

static void set_truth(ow_search_val_t *v, int t)
{
	if (t < 0)
		set_null(v);
	else
		set_int(v, t);
}

static int arith(int op, const ow_search_val_t *x, const ow_search_val_t *y, ow_search_val_t *out)
{
	ow_search_val_t a, b;
	if (x->type == SQLITE_NULL || y->type == SQLITE_NULL) {
		set_null(out);
		return OW_OK;
	}
	if (numeric(x, &a) != OW_OK || numeric(y, &b) != OW_OK)
		return OW_DECLINED;
	if (a.type == SQLITE_INTEGER && b.type == SQLITE_INTEGER) {
		int64_t r;
		if (ow_eval_int_plain(op, a.i, b.i, &r)) {
			set_int(out, r);
			return OW_OK;
		}
		if ((op == E_DIV || op == E_REM) && b.i == 0) {
			set_null(out);
			return OW_OK;
		}
		if (op == E_REM) { /* x % -1 */
			set_int(out, 0);
			return OW_OK;
		}
		if (op == E_DIV && a.i != INT64_MIN) { /* x / -1 */
			set_int(out, -a.i);
			return OW_OK;
		}
		/* an overflow, or INT64_MIN / -1: a real, as SQLite */
	}
	double ra = a.type == SQLITE_INTEGER ? (double)a.i : a.d;
	double rb = b.type == SQLITE_INTEGER ? (double)b.i : b.d, r;
	switch (op) {
	case E_ADD:
		r = ra + rb;
		break;
	case E_SUB:
		r = ra - rb;
		break;
	case E_MUL:
		r = ra * rb;
		break;
	case E_DIV:
		if (rb == 0.0) {
			set_null(out);
			return OW_OK;
		}
		r = ra / rb;
		break;
	default: {
		int64_t ia = a.type == SQLITE_INTEGER ? a.i : real_to_int(a.d);
		int64_t ib = b.type == SQLITE_INTEGER ? b.i : real_to_int(b.d);
		if (ib == 0) {
			set_null(out);
			return OW_OK;
		}
		if (ib == -1)
			ib = 1;
		r = (double)(ia % ib);
	}
	}
	if (isnan(r))
		set_null(out);
	else
		set_real(out, r);
	return OW_OK;
}

static int kids(ow_eval_t *e, const ow_node_t *n, ow_search_val_t *v)
{
	for (int i = 0; i < n->n; i++) {
		int rc = ow_eval(e, n->kid[i], &v[i]);
		if (rc != OW_OK)
			return rc;
	}
	return OW_OK;
}

/* The number of characters of text as SQLite's length() counts them: to
 * the first NUL, continuation bytes after a lead byte not counted. */
static int64_t char_count(const uint8_t *z, size_t n)
{
	int64_t len = 0;
	for (size_t i = 0; i < n && z[i];) {
		uint8_t c = z[i++];
		len++;
		if (c >= 0xc0)
			while (i < n && (z[i] & 0xc0) == 0x80)
				i++;
	}
	return len;
}

/* SQLITE_SKIP_UTF8 within n bytes: the index after the character at i. */
static size_t skip_char(const uint8_t *z, size_t n, size_t i)
{
	if (z[i++] >= 0xc0)
		while (i < n && (z[i] & 0xc0) == 0x80)
			i++;
	return i;
}

static int fn_substr(ow_eval_t *e, const ow_search_val_t *a, int argc, ow_search_val_t *out)
{
	int64_t p1, p2;
	int neg = 0;
	if (a[1].type == SQLITE_NULL || (argc == 3 && a[2].type == SQLITE_NULL) ||
	    a[0].type == SQLITE_NULL) {
		set_null(out);
		return OW_OK;
	}
	ow_search_val_t t;
	if (int_of(&a[1], &p1) != OW_OK || (argc == 3 && int_of(&a[2], &p2) != OW_OK))
		return OW_DECLINED;
	ow_eval_text(e, &a[0], &t);
	/* the text to its NUL, as sqlite3_value_text gives it */
	const uint8_t *z = t.p, *nul = t.n ? memchr(t.p, 0, t.n) : NULL;
	size_t n = nul ? (size_t)(nul - z) : t.n;
	p1 = (int)p1; /* sqlite3_value_int */
	int64_t len = 0;
	if (p1 < 0)
		for (size_t i = 0; i < n; len++)
			i = skip_char(z, n, i);
	if (argc == 3) {
		p2 = (int)p2;
		if (p2 < 0) {
			p2 = -p2;
			neg = 1;
		}
	} else {
		p2 = INT64_MAX;
	}
	if (p1 < 0) {
		p1 += len;
		if (p1 < 0) {
			p2 += p1;
			if (p2 < 0)
				p2 = 0;
			p1 = 0;
		}
	} else if (p1 > 0) {
		p1--;
	} else if (p2 > 0) {
		p2--;
	}
	if (neg) {
		p1 -= p2;
		if (p1 < 0) {
			p2 += p1;
			p1 = 0;
		}
	}
	size_t i = 0;
	for (; i < n && p1; p1--)
		i = skip_char(z, n, i);
	size_t j = i;
	for (; j < n && p2; p2--)
		j = skip_char(z, n, j);
	set_text(out, z + i, j - i);
	return OW_OK;
}

/* instr as funcs.c's: the character where needle first starts. */
static int fn_instr(const ow_search_val_t *h, const ow_search_val_t *nd, ow_search_val_t *out)
{
	int64_t at = nd->n > 0 ? ow_search_instr(h->p, h->n, nd->p, nd->n, 1) : 1;
	if (at < 0)
		return OW_ERROR;
	set_int(out, at);
	return OW_OK;
}

static int fn_replace(ow_eval_t *e, const ow_search_val_t *s, const ow_search_val_t *pat,
		      const ow_search_val_t *rep, ow_search_val_t *out)
{
	size_t cap = s->n, count = 0;
	for (size_t i = 0; i + pat->n <= s->n;) {
		const uint8_t *f = memmem(s->p + i, s->n - i, pat->p, pat->n);
		if (!f)
			break;
		count++;
		i = (size_t)(f - s->p) + pat->n;
	}
	cap += count * rep->n;
	if (ow_search_room(cap + 1) != OW_OK) /* the arena is not metered */
		return OW_ERROR;
	uint8_t *o = ow_arena_alloc(&e->ar, cap + 1), *w = o;
	for (size_t i = 0; i < s->n;) {
		const uint8_t *f =
		    pat->n <= s->n - i ? memmem(s->p + i, s->n - i, pat->p, pat->n) : NULL;
		size_t stop = f ? (size_t)(f - s->p) : s->n;
		memcpy(w, s->p + i, stop - i);
		w += stop - i;
		if (!f)
			break;
		memcpy(w, rep->p, rep->n);
		w += rep->n;
		i = stop + pat->n;
	}
	set_text(out, o, (size_t)(w - o));
	return OW_OK;
}

/* trim, ltrim, rtrim (sides: 1 left, 2 right, 3 both) of the characters
 * of set (to its NUL), each tried in turn at an end, as funcs.c's fn_trim. */
static void fn_trim(const ow_search_val_t *in, const uint8_t *set, size_t nset, int sides,
		    ow_search_val_t *out)
{
	const uint8_t *z = in->p;
	size_t n = in->n;
	const uint8_t *setend = memchr(set, 0, nset);
	nset = setend ? (size_t)(setend - set) : nset;
	for (int side = 1; side <= 2; side++) {
		if (!(sides & side))
			continue;
		while (n > 0) {
			size_t i = 0, len = 0;
			for (; i < nset; i += len) {
				len = skip_char(set, nset, i) - i;
				if (len <= n &&
				    memcmp(side == 1 ? z : z + n - len, set + i, len) == 0)
					break;
			}
			if (i >= nset)
				break;
			if (side == 1)
				z += len;
			n -= len;
		}
	}
	set_text(out, z, n);
}

/* ---- dates ---- */

typedef struct {
	int64_t jd; /* julian day in ms */
	int y, m, d, hh, mm;
	double s;
} date_t;

/* SQLite's computeYMD and computeHMS. */
static void civil(date_t *x)
{
	int Z = (int)((x->jd + 43200000) / 86400000);
	int A = (int)((Z - 1867216.25) / 36524.25);
	A = Z + 1 + A - (A / 4);
	int B = A + 1524;
	int C = (int)((B - 122.1) / 365.25);
	int D = (36525 * (C & 32767)) / 100;
	int E = (int)((B - D) / 30.6001);
	int X1 = (int)(30.6001 * E);
	x->d = B - D - X1;
	x->m = E < 14 ? E - 1 : E - 13;
	x->y = x->m > 2 ? C - 4716 : C - 4715;
	int s = (int)((x->jd + 43200000) % 86400000);
	x->s = s / 1000.0;
	s = (int)x->s;
	x->s -= s;
	x->hh = s / 3600;
	s -= x->hh * 3600;
	x->mm = s / 60;
	x->s += s - x->mm * 60;
}

/* v as "%0*d" writes it (room for 16 bytes): its length. */
static size_t digits(char *w, int v, int width)
{
	if (v < 0 || v >= (width == 2 ? 100 : 10000)) {
		sqlite3_snprintf(16, w, "%0*d", width, v);
		return strlen(w);
	}
	for (int i = width - 1; i >= 0; i--, v /= 10)
		w[i] = (char)('0' + v % 10);
	return (size_t)width;
}

/* The format of a date function: strftime's, or the fixed one of the
 * others. */
static const char *date_format(int fn, const ow_search_val_t *fmt)
{
	switch (fn) {
	case F_DATETIME:
		return "%Y-%m-%d %H:%M:%S";
	case F_DATE:
		return "%Y-%m-%d";
	case F_TIME:
		return "%H:%M:%S";
	default: /* unixepoch and julianday: none */
		return fmt ? (const char *)fmt->p : "";
	}
}

/* A date function of a number and 'unixepoch', done here: 1 when done
 * (*out set), 0 when the form is not one done here. */
static int date_native(ow_eval_t *e, const ow_node_t *n, ow_search_val_t *a, ow_search_val_t *out)
{
	int k = n->fn == F_STRFTIME; /* the date's argument */
	if (n->n != k + 2 || (a[k].type != SQLITE_INTEGER && a[k].type != SQLITE_FLOAT) ||
	    a[k + 1].type != SQLITE_TEXT || (k && a[0].type != SQLITE_TEXT))
		return 0;
	if (a[k + 1].n != 9 || strncasecmp((const char *)a[k + 1].p, "unixepoch", 9) != 0)
		return 0;
	/* the format to its NUL, as SQLite reads it */
	const char *f = k ? (const char *)a[0].p : date_format(n->fn, NULL);
	size_t nf = k ? a[0].n : strlen(f);
	const char *nul = nf ? memchr(f, 0, nf) : NULL;
	nf = nul ? (size_t)(nul - f) : nf;
	for (size_t i = 0; i < nf; i++)
		if (f[i] == '%' && (++i == nf || !strchr("dfHmMsSwY%", f[i])))
			return 0;
	double sec = a[k].type == SQLITE_INTEGER ? (double)a[k].i : a[k].d;
	double r = sec * 1000.0 + 210866760000000.0;
	if (!(r >= 0.0 && r < 464269060800000.0) || (int64_t)(r + 0.5) > 464269060799999) {
		set_null(out);
		return 1;
	}
	date_t x = {.jd = (int64_t)(r + 0.5)};
	if (n->fn == F_UNIXEPOCH) {
		set_int(out, x.jd / 1000 - 21086676 * (int64_t)10000);
		return 1;
	}
	if (n->fn == F_JULIANDAY) {
		set_real(out, (double)x.jd / 86400000.0);
		return 1;
	}
	civil(&x);
	size_t cap = nf * 12 + 1, len = 0;
	char *o = ow_arena_alloc(&e->ar, cap);
	for (size_t i = 0; i < nf; i++) {
		char *w = o + len;
		size_t room = cap - len;
		if (f[i] != '%') {
			o[len++] = f[i];
			continue;
		}
		switch (f[++i]) {
		case 'd':
			len += digits(w, x.d, 2);
			break;
		case 'f': {
			double s = x.s > 59.999 ? 59.999 : x.s;
			sqlite3_snprintf((int)room, w, "%06.3f", s);
			len += strlen(w);
			break;
		}
		case 'H':
			len += digits(w, x.hh, 2);
			break;
		case 'm':
			len += digits(w, x.m, 2);
			break;
		case 'M':
			len += digits(w, x.mm, 2);
			break;
		case 's':
			sqlite3_snprintf((int)room, w, "%lld",
					 (long long)(x.jd / 1000 - 21086676 * (int64_t)10000));
			len += strlen(w);
			break;
		case 'S':
			len += digits(w, (int)x.s, 2);
			break;
		case 'w':
			o[len++] = (char)(((x.jd + 129600000) / 86400000) % 7 + '0');
			break;
		case 'Y':
			len += digits(w, x.y, 4);
			break;
		default:
			o[len++] = '%';
		}
	}
	set_text(out, (const uint8_t *)o, len);
	return 1;
}

/* ---- SQLite's own functions ---- */

static const struct {
	const char *name;
	int min, max;
} sqlite_fns[] = {
    {"round", 2, 2},
    {"strftime", 2, 8},
    {"datetime", 1, 8},
    {"date", 1, 8},
    {"time", 1, 8},
    {"julianday", 1, 8},
    {"unixepoch", 1, 8},
    {"hex", 1, 1},
    {"quote", 1, 1},
    {"typeof", 1, 1},
    {"char", 1, 8},
    {"unicode", 1, 1},
    {"sign", 1, 1},
    {"ceil", 1, 1},
    {"ceiling", 1, 1},
    {"floor", 1, 1},
    {"trunc", 1, 1},
    {"sqrt", 1, 1},
    {"ln", 1, 1},
    {"log10", 1, 1},
    {"log2", 1, 1},
    {"exp", 1, 1},
    {"pow", 2, 2},
    {"power", 2, 2},
    {"mod", 2, 2},
    {"pi", 0, 0},
    {"json_type", 1, 2},
    {"json_valid", 1, 1},
    {"json_array_length", 1, 2},
};

int ow_eval_sqlite_function(const char *name, int nargs)
{
	for (size_t i = 0; i < OW_NELEMS(sqlite_fns); i++)
		if (strcasecmp(name, sqlite_fns[i].name) == 0)
			return nargs >= sqlite_fns[i].min && nargs <= sqlite_fns[i].max;
	return 0;
}

/* SQLite's function name with the arguments, through the evaluation's
 * connection (statement id): OW_DECLINED for its errors (SQLite reports
 * them when it runs the query). */
static int sqlite_call(ow_eval_t *e, const char *name, int id, int argc, const ow_search_val_t *a,
		       ow_search_val_t *out)
{
	if (!e->db && (e->db = ow_search_bare_db()) == NULL)
		return OW_DECLINED;
	if (id >= e->nst) {
		e->st = ow_realloc(e->st, (size_t)(id + 1) * sizeof(sqlite3_stmt *));
		memset(e->st + e->nst, 0, (size_t)(id + 1 - e->nst) * sizeof(sqlite3_stmt *));
		e->nst = id + 1;
	}
	sqlite3_stmt *st = e->st[id];
	if (!st) {
		char sql[160];
		int len = snprintf(sql, sizeof(sql), "SELECT %s(", name);
		for (int i = 0; i < argc; i++)
			len += snprintf(sql + len, sizeof(sql) - (size_t)len, "%s?%d", i ? "," : "",
					i + 1);
		snprintf(sql + len, sizeof(sql) - (size_t)len, ")");
		if (sqlite3_prepare_v2(e->db, sql, -1, &e->st[id], NULL) != SQLITE_OK)
			return OW_DECLINED;
		st = e->st[id];
	}
	for (int i = 0; i < argc; i++) {
		switch (a[i].type) {
		case SQLITE_INTEGER:
			sqlite3_bind_int64(st, i + 1, a[i].i);
			break;
		case SQLITE_FLOAT:
			sqlite3_bind_double(st, i + 1, a[i].d);
			break;
		case SQLITE_TEXT:
			sqlite3_bind_text64(st, i + 1, (const char *)a[i].p, a[i].n, SQLITE_STATIC,
					    SQLITE_UTF8);
			break;
		default:
			sqlite3_bind_null(st, i + 1);
		}
	}
	int rc = OW_DECLINED;
	if (sqlite3_step(st) == SQLITE_ROW) {
		rc = OW_OK;
		switch (sqlite3_column_type(st, 0)) {
		case SQLITE_INTEGER:
			set_int(out, sqlite3_column_int64(st, 0));
			break;
		case SQLITE_FLOAT:
			set_real(out, sqlite3_column_double(st, 0));
			break;
		case SQLITE_TEXT: {
			size_t n = (size_t)sqlite3_column_bytes(st, 0);
			uint8_t *p = ow_arena_alloc(&e->ar, n + 1);
			if (n)
				memcpy(p, sqlite3_column_text(st, 0), n);
			set_text(out, p, n);
			break;
		}
		case SQLITE_NULL:
			set_null(out);
			break;
		default:
			rc = OW_DECLINED; /* a blob: not a value the output takes here */
		}
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

int ow_eval_real(ow_eval_t *e, const uint8_t *p, size_t n, double *d)
{
	if (!e->db && (e->db = ow_search_bare_db()) == NULL)
		return OW_DECLINED;
	if (!e->real_st && sqlite3_prepare_v2(e->db, "SELECT CAST(?1 AS REAL)", -1, &e->real_st,
					      NULL) != SQLITE_OK)
		return OW_DECLINED;
	sqlite3_bind_text64(e->real_st, 1, (const char *)p, n, SQLITE_STATIC, SQLITE_UTF8);
	int rc = sqlite3_step(e->real_st) == SQLITE_ROW ? OW_OK : OW_DECLINED;
	if (rc == OW_OK)
		*d = sqlite3_column_double(e->real_st, 0);
	sqlite3_reset(e->real_st);
	sqlite3_clear_bindings(e->real_st);
	return rc;
}

/* ---- functions ---- */

static const struct {
	const char *name;
	int fn, min, max;
} fns[] = {
    {"abs", F_ABS, 1, 1},
    {"round", F_ROUND, 1, 2},
    {"lower", F_LOWER, 1, 1},
    {"upper", F_UPPER, 1, 1},
    {"length", F_LENGTH, 1, 1},
    {"substr", F_SUBSTR, 2, 3},
    {"substring", F_SUBSTR, 2, 3},
    {"instr", F_INSTR, 2, 2},
    {"replace", F_REPLACE, 3, 3},
    {"trim", F_TRIM, 1, 2},
    {"ltrim", F_LTRIM, 1, 2},
    {"rtrim", F_RTRIM, 1, 2},
    {"min", F_MIN, 2, 127},
    {"max", F_MAX, 2, 127},
    {"coalesce", F_COALESCE, 2, 127},
    {"ifnull", F_COALESCE, 2, 2},
    {"nullif", F_NULLIF, 2, 2},
    {"iif", F_IIF, 3, 3},
    {"time_bucket_ns", F_TIME_BUCKET, 2, 2},
    {"ns", F_NS, 1, 1},
    {"interval_ns", F_INTERVAL, 1, 1},
    {"ns_to_iso", F_NS_TO_ISO, 1, 1},
    {"strftime", F_STRFTIME, 2, 8},
    {"datetime", F_DATETIME, 1, 8},
    {"date", F_DATE, 1, 8},
    {"time", F_TIME, 1, 8},
    {"unixepoch", F_UNIXEPOCH, 1, 8},
    {"julianday", F_JULIANDAY, 1, 8},
    {"match", F_TOKMATCH, 2, 2},
};

int ow_eval_function(const char *name, int nargs)
{
	for (size_t i = 0; i < OW_NELEMS(fns); i++)
		if (strcasecmp(name, fns[i].name) == 0 && nargs >= fns[i].min &&
		    nargs <= fns[i].max)
			return fns[i].fn;
	return -1;
}

static const char *fn_name(int fn)
{
	for (size_t i = 0; i < OW_NELEMS(fns); i++)
		if (fns[i].fn == fn)
			return fns[i].name;
	return "";
}

/* The functions whose arguments are evaluated as they are needed. */
static int lazy(ow_eval_t *e, const ow_node_t *n, ow_search_val_t *out)
{
	int t, rc;
	switch (n->fn) {
	case F_COALESCE:
		for (int i = 0; i < n->n; i++) {
			if ((rc = ow_eval(e, n->kid[i], out)) != OW_OK)
				return rc;
			if (out->type != SQLITE_NULL)
				return OW_OK;
		}
		return OW_OK;
	default: /* F_IIF */
		if ((rc = ow_eval_truth(e, n->kid[0], &t)) != OW_OK)
			return rc;
		return ow_eval(e, n->kid[t == 1 ? 1 : 2], out);
	}
}

static int function(ow_eval_t *e, const ow_node_t *n, ow_search_val_t *out)
{
	if (n->fn == F_COALESCE || n->fn == F_IIF)
		return lazy(e, n, out);
	ow_search_val_t a[8], t, u;
	ow_search_val_t *args = n->n <= 8 ? a : ow_arena_alloc(&e->ar, (size_t)n->n * sizeof(*a));
	int rc = kids(e, n, args);
	if (rc != OW_OK)
		return rc;
	set_null(out);
	switch (n->fn) {
	case F_MIN:
	case F_MAX: {
		int best = 0;
		for (int i = 0; i < n->n; i++)
			if (args[i].type == SQLITE_NULL)
				return OW_OK;
		for (int i = 1; i < n->n; i++) {
			int c = ow_eval_compare(&args[best], &args[i]);
			if (n->fn == F_MIN ? c >= 0 : c < 0)
				best = i;
		}
		*out = args[best];
		return OW_OK;
	}
	case F_NULLIF:
		if (ow_eval_compare(&args[0], &args[1]) != 0)
			*out = args[0];
		return OW_OK;
	case F_ROUND:
		if (n->n == 2) {
			int64_t digits;
			if (args[1].type == SQLITE_NULL)
				return OW_OK;
			if (int_of(&args[1], &digits) != OW_OK)
				return OW_DECLINED;
			if ((int)digits > 0) /* printf's digits: SQLite's own */
				return sqlite_call(e, "round", n->id, 2, args, out);
		}
		__attribute__((fallthrough));
	case F_ABS: {
		double d;
		if (args[0].type == SQLITE_NULL)
			return OW_OK;
		if (n->fn == F_ABS && args[0].type == SQLITE_INTEGER) {
			if (args[0].i == INT64_MIN)
				return OW_DECLINED; /* SQLite's integer overflow */
			set_int(out, args[0].i < 0 ? -args[0].i : args[0].i);
			return OW_OK;
		}
		if (real_of(&args[0], &d) != OW_OK)
			return OW_DECLINED;
		if (n->fn == F_ABS)
			d = d < 0 ? -d : d;
		else if (d >= -4503599627370496.0 && d <= 4503599627370496.0)
			d = (double)(int64_t)(d + (d < 0 ? -0.5 : 0.5));
		set_real(out, d);
		return OW_OK;
	}
	case F_LOWER:
	case F_UPPER: {
		if (args[0].type == SQLITE_NULL)
			return OW_OK;
		ow_eval_text(e, &args[0], &t);
		uint8_t *o = ow_arena_alloc(&e->ar, t.n + 1);
		for (size_t i = 0; i < t.n; i++) {
			uint8_t c = t.p[i];
			o[i] = n->fn == F_LOWER ? (c >= 'A' && c <= 'Z' ? c + 32 : c)
						: (c >= 'a' && c <= 'z' ? c - 32 : c);
		}
		set_text(out, o, t.n);
		return OW_OK;
	}
	case F_TOKMATCH: {
		if (args[0].type == SQLITE_NULL || args[1].type == SQLITE_NULL)
			return OW_OK;
		ow_search_val_t q;
		ow_eval_text(e, &args[0], &t);
		ow_eval_text(e, &args[1], &q);
		ow_buf_t toks = {0}, ends = {0};
		size_t nt = ow_index_tokens(q.p, q.n, &toks, &ends);
		int m = ow_index_match(t.p, t.n, toks.data, (const uint32_t *)ends.data, nt,
				       ow_search_poll);
		set_int(out, m);
		ow_buf_free(&toks);
		ow_buf_free(&ends);
		return m < 0 ? OW_ERROR : OW_OK;
	}
	case F_LENGTH:
		if (args[0].type == SQLITE_NULL)
			return OW_OK;
		ow_eval_text(e, &args[0], &t);
		set_int(out, args[0].type == SQLITE_TEXT ? char_count(t.p, t.n) : (int64_t)t.n);
		return OW_OK;
	case F_SUBSTR:
		return fn_substr(e, args, n->n, out);
	case F_INSTR:
		if (args[0].type == SQLITE_NULL || args[1].type == SQLITE_NULL)
			return OW_OK;
		ow_eval_text(e, &args[0], &t);
		ow_eval_text(e, &args[1], &u);
		return fn_instr(&t, &u, out);
	case F_REPLACE: {
		ow_search_val_t r;
		if (args[0].type == SQLITE_NULL || args[1].type == SQLITE_NULL)
			return OW_OK;
		ow_eval_text(e, &args[1], &u);
		if (u.n == 0 || u.p[0] == 0) {
			*out = args[0]; /* as it came, of its type */
			return OW_OK;
		}
		if (args[2].type == SQLITE_NULL)
			return OW_OK;
		ow_eval_text(e, &args[0], &t);
		ow_eval_text(e, &args[2], &r);
		return fn_replace(e, &t, &u, &r, out);
	}
	case F_TRIM:
	case F_LTRIM:
	case F_RTRIM:
		if (args[0].type == SQLITE_NULL || (n->n == 2 && args[1].type == SQLITE_NULL))
			return OW_OK;
		ow_eval_text(e, &args[0], &t);
		if (n->n == 2)
			ow_eval_text(e, &args[1], &u);
		else
			set_text(&u, (const uint8_t *)" ", 1);
		fn_trim(&t, u.p, u.n, n->fn == F_TRIM ? 3 : n->fn == F_LTRIM ? 1 : 2, out);
		return OW_OK;
	case F_TIME_BUCKET: {
		int64_t ns, w, r;
		if (args[0].type == SQLITE_NULL || args[1].type == SQLITE_NULL)
			return OW_OK;
		if (int_of(&args[0], &ns) != OW_OK || int_of(&args[1], &w) != OW_OK || w <= 0)
			return OW_DECLINED;
		int64_t rem = ns % w;
		if (rem < 0)
			rem += w;
		if (__builtin_sub_overflow(ns, rem, &r))
			return OW_DECLINED;
		set_int(out, r);
		return OW_OK;
	}
	case F_NS:
	case F_INTERVAL: {
		int64_t v;
		if (args[0].type == SQLITE_NULL)
			return OW_OK;
		ow_eval_text(e, &args[0], &t);
		const char *s = c_string(e, &t);
		if (!(n->fn == F_NS ? ow_search_parse_time(s, &v)
				    : ow_search_parse_interval(s, &v)))
			return OW_DECLINED; /* the function's error */
		set_int(out, v);
		return OW_OK;
	}
	case F_NS_TO_ISO: {
		int64_t v;
		if (args[0].type == SQLITE_NULL)
			return OW_OK;
		if (int_of(&args[0], &v) != OW_OK)
			return OW_DECLINED;
		char *b = ow_arena_alloc(&e->ar, 64);
		ow_search_iso(v, b, 64);
		set_text(out, (const uint8_t *)b, strlen(b));
		return OW_OK;
	}
	default: /* the date functions */
		for (int i = 0; i < n->n; i++)
			if (args[i].type == SQLITE_NULL)
				return OW_OK;
		if (date_native(e, n, args, out))
			return OW_OK;
		return sqlite_call(e, fn_name(n->fn), n->id, n->n, args, out);
	}
}

static int eval_case(ow_eval_t *e, const ow_node_t *n, ow_search_val_t *out)
{
	int k = n->fn ? 1 : 0, rc, t;
	ow_search_val_t base, w;
	if (n->fn && (rc = ow_eval(e, n->kid[0], &base)) != OW_OK)
		return rc;
	int whens = (n->n - k - (n->neg ? 1 : 0)) / 2;
	for (int i = 0; i < whens; i++, k += 2) {
		if (n->fn) {
			if ((rc = ow_eval(e, n->kid[k], &w)) != OW_OK)
				return rc;
			rc = compare(e, E_EQ, ow_eval_cmp_aff(n->kid[0]->aff, n->kid[k]->aff), base,
				     w, &t);
		} else {
			rc = ow_eval_truth(e, n->kid[k], &t);
		}
		if (rc != OW_OK)
			return rc;
		if (t == 1)
			return ow_eval(e, n->kid[k + 1], out);
	}
	if (n->neg)
		return ow_eval(e, n->kid[n->n - 1], out);
	set_null(out);
	return OW_OK;
}

static int eval_cast(ow_eval_t *e, const ow_node_t *n, ow_search_val_t *out)
{
	ow_search_val_t x;
	int rc = ow_eval(e, n->kid[0], &x);
	if (rc != OW_OK || x.type == SQLITE_NULL) {
		*out = x;
		return rc;
	}
	switch (n->fn) {
	case AFF_INTEGER: {
		int64_t i;
		if (int_of(&x, &i) != OW_OK)
			return OW_DECLINED;
		set_int(out, i);
		return OW_OK;
	}
	case AFF_REAL: {
		double d;
		if (real_of(&x, &d) != OW_OK)
			return OW_DECLINED;
		set_real(out, d);
		return OW_OK;
	}
	case AFF_NUMERIC:
		if (x.type == SQLITE_FLOAT)
			return OW_DECLINED;
		return numeric(&x, out);
	default:
		return ow_eval_text(e, &x, out);
	}
}

static int eval_in(ow_eval_t *e, const ow_node_t *n, ow_search_val_t *out)
{
	ow_search_val_t x, y;
	int rc = ow_eval(e, n->kid[0], &x), t, null = 0;
	if (rc != OW_OK)
		return rc;
	set_null(out);
	if (x.type == SQLITE_NULL)
		return OW_OK;
	for (int i = 1; i < n->n; i++) {
		if ((rc = ow_eval(e, n->kid[i], &y)) != OW_OK)
			return rc;
		if (y.type == SQLITE_NULL) {
			null = 1;
			continue;
		}
		if ((rc = compare(e, E_EQ, n->kid[0]->aff, x, y, &t)) != OW_OK)
			return rc;
		if (t == 1) {
			set_int(out, !n->neg);
			return OW_OK;
		}
	}
	if (!null)
		set_int(out, n->neg);
	return OW_OK;
}

static int eval_inset(ow_eval_t *e, const ow_node_t *n, ow_search_val_t *out)
{
	const ow_eval_set_t *s = n->set;
	ow_search_val_t x;
	int rc = ow_eval(e, n->kid[0], &x);
	if (rc != OW_OK)
		return rc;
	set_null(out);
	if (s->n == 0 && !s->has_null) {
		set_int(out, n->neg);
		return OW_OK;
	}
	if (x.type == SQLITE_NULL)
		return OW_OK;
	if (ow_eval_apply_aff(e, s->aff, &x) != OW_OK)
		return OW_DECLINED;
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = ow_eval_compare(&s->v[mid], &x);
		if (c == 0) {
			set_int(out, !n->neg);
			return OW_OK;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!s->has_null)
		set_int(out, n->neg);
	return OW_OK;
}

static int eval_like(ow_eval_t *e, const ow_node_t *n, ow_search_val_t *out)
{
	ow_search_val_t a[2], x, p;
	int rc = kids(e, n, a);
	if (rc != OW_OK)
		return rc;
	set_null(out);
	if (a[1].type != SQLITE_NULL) { /* LIKE's and GLOB's */
		ow_eval_text(e, &a[1], &p);
		if (p.n > LIKE_MAX)
			return OW_DECLINED; /* SQLite's "pattern too complex" */
	}
	if (a[0].type == SQLITE_NULL || a[1].type == SQLITE_NULL)
		return OW_OK;
	ow_eval_text(e, &a[0], &x);
	ow_eval_text(e, &a[1], &p);
	const ow_search_glob_t *g = n->op == E_LIKE ? &ow_search_like_rules : &ow_search_glob_rules;
	int m = ow_search_match(p.p, p.n, x.p, x.n, g, g->set);
	if (m < 0)
		return OW_ERROR;
	set_int(out, m ^ n->neg);
	return OW_OK;
}

int ow_eval(ow_eval_t *e, const ow_node_t *n, ow_search_val_t *out)
{
	ow_search_val_t a[3];
	int rc, t, u;
	switch (n->op) {
	case E_LIT:
		*out = n->v;
		return OW_OK;
	case E_REF:
		return e->leaf(e->arg, n, out);
	case E_NOW:
		if (!e->has_now)
			return OW_DECLINED;
		set_int(out, e->now);
		return OW_OK;
	case E_NEG:
		if ((rc = ow_eval(e, n->kid[0], &a[1])) != OW_OK)
			return rc;
		set_int(&a[0], 0);
		return arith(E_SUB, &a[0], &a[1], out);
	case E_ADD:
	case E_SUB:
	case E_MUL:
	case E_DIV:
	case E_REM:
		if ((rc = kids(e, n, a)) != OW_OK)
			return rc;
		return arith(n->op, &a[0], &a[1], out);
	case E_CONCAT: {
		if ((rc = kids(e, n, a)) != OW_OK)
			return rc;
		if (a[0].type == SQLITE_NULL || a[1].type == SQLITE_NULL) {
			set_null(out);
			return OW_OK;
		}
		ow_search_val_t x, y;
		ow_eval_text(e, &a[0], &x);
		ow_eval_text(e, &a[1], &y);
		if (ow_search_room(x.n + y.n + 1) != OW_OK)
			return OW_ERROR;
		uint8_t *o = ow_arena_alloc(&e->ar, x.n + y.n + 1);
		if (x.n)
			memcpy(o, x.p, x.n);
		if (y.n)
			memcpy(o + x.n, y.p, y.n);
		set_text(out, o, x.n + y.n);
		return OW_OK;
	}
	case E_EQ:
	case E_NE:
	case E_LT:
	case E_LE:
	case E_GT:
	case E_GE:
	case E_IS:
		if ((rc = kids(e, n, a)) != OW_OK)
			return rc;
		if ((rc = compare(e, n->op, ow_eval_cmp_aff(n->kid[0]->aff, n->kid[1]->aff), a[0],
				  a[1], &t)) != OW_OK)
			return rc;
		set_truth(out, n->op == E_IS && n->neg ? !t : t);
		return OW_OK;
	case E_AND:
	case E_OR: {
		if ((rc = ow_eval_truth(e, n->kid[0], &t)) != OW_OK)
			return rc;
		if (t == (n->op == E_OR)) {
			set_int(out, t);
			return OW_OK;
		}
		if ((rc = ow_eval_truth(e, n->kid[1], &u)) != OW_OK)
			return rc;
		if (u == (n->op == E_OR))
			set_int(out, u);
		else
			set_truth(out, t < 0 || u < 0 ? -1 : u);
		return OW_OK;
	}
	case E_NOT:
		if ((rc = ow_eval_truth(e, n->kid[0], &t)) != OW_OK)
			return rc;
		set_truth(out, t < 0 ? -1 : !t);
		return OW_OK;
	case E_ISNULL:
		if ((rc = ow_eval(e, n->kid[0], &a[0])) != OW_OK)
			return rc;
		set_int(out, (a[0].type == SQLITE_NULL) ^ n->neg);
		return OW_OK;
	case E_BETWEEN:
		if ((rc = kids(e, n, a)) != OW_OK)
			return rc;
		if ((rc = compare(e, E_GE, ow_eval_cmp_aff(n->kid[0]->aff, n->kid[1]->aff), a[0],
				  a[1], &t)) != OW_OK ||
		    (rc = compare(e, E_LE, ow_eval_cmp_aff(n->kid[0]->aff, n->kid[2]->aff), a[0],
				  a[2], &u)) != OW_OK)
			return rc;
		t = t == 0 || u == 0 ? 0 : t < 0 || u < 0 ? -1 : 1;
		set_truth(out, t < 0 ? -1 : n->neg ? !t : t);
		return OW_OK;
	case E_IN:
		return eval_in(e, n, out);
	case E_INSET:
		return eval_inset(e, n, out);
	case E_LIKE:
	case E_GLOB:
		return eval_like(e, n, out);
	case E_CASE:
		return eval_case(e, n, out);
	case E_CAST:
		return eval_cast(e, n, out);
	case E_FN:
		return function(e, n, out);
	case E_SQLFN: {
		ow_search_val_t *args = ow_arena_alloc(&e->ar, (size_t)(n->n + 1) * sizeof(*args));
		if ((rc = kids(e, n, args)) != OW_OK)
			return rc;
		return sqlite_call(e, n->name, n->id, n->n, args, out);
	}
	default:
		return OW_DECLINED;
	}
}

int ow_eval_constant(const ow_eval_t *e, const ow_node_t *n)
{
	if (n->op == E_REF || n->op == E_AGG || n->op == E_INSET || n->op == E_SCALAR ||
	    (n->op == E_NOW && !e->has_now))
		return 0;
	for (int i = 0; i < n->n; i++)
		if (!ow_eval_constant(e, n->kid[i]))
			return 0;
	return 1;
}

int ow_eval_fold(ow_eval_t *e, ow_node_t **np)
{
	ow_node_t *n = *np;
	if (n->op == E_LIT)
		return OW_OK;
	if (!ow_eval_constant(e, n)) {
		for (int i = 0; i < n->n; i++) {
			int rc = ow_eval_fold(e, &n->kid[i]);
			if (rc != OW_OK)
				return rc;
		}
		return OW_OK;
	}
	ow_search_val_t v;
	int rc = ow_eval(e, n, &v);
	if (rc != OW_OK)
		return rc;
	ow_node_t *lit = ow_node_new(E_LIT, 0);
	lit->aff = n->aff;
	lit->v = v;
	if (v.type == SQLITE_TEXT || v.type == SQLITE_BLOB) {
		uint8_t *p = ow_alloc(v.n + 1);
		if (v.n)
			memcpy(p, v.p, v.n);
		lit->v.p = p;
	}
	ow_node_free(n);
	*np = lit;
	return OW_OK;
}

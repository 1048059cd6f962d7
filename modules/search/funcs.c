/*
 * funcs.c - the SQL functions added to SQLite's, for times in integer
 * nanoseconds since the epoch (UTC) and exact quantiles:
 *
 *   now_ns()                 the time the query started (the same in every
 *                            row, as SQLite's 'now')
 *   ns(text)                 'YYYY-MM-DD[ HH:MM[:SS[.fffffffff]]]', UTC, a
 *                            'T' for the space and a final 'Z' allowed
 *   ns_to_iso(ns)            'YYYY-MM-DDTHH:MM:SS.fffffffffZ'
 *   interval_ns(text)        '5 minutes', '90s', '-1 day': an integer and a
 *                            unit: ns, us, ms, s, sec, second(s), m, min,
 *                            minute(s), h, hour(s), d, day(s), w, week(s)
 *   time_bucket_ns(ns, w)    ns rounded down to a multiple of w (w > 0)
 *   p50(x) p90(x) p99(x)     aggregates: the quantile of the numbers x
 *   quantile(x, q)           (NULL and text that is not a number ignored)
 *
 * A NULL argument gives NULL; a text that does not parse, a value out of
 * range or a bad width is an error that names the function.
 *
 * Quantiles are exact: every value is kept, and the result is one of
 * them (found by selection rather than a whole sort), the nearest rank: the value at position
 * ceil(q * n) of n in ascending order (the first for q = 0), which is DuckDB's quantile_disc.
 * Integers stay integers; once a real appears the values are reals. The
 * values are held in SQLite's heap, so the query's memory budget bounds
 * them.
 *
 * And some of SQLite's own, done again with the same results, because
 * theirs can spend minutes inside one call, where no progress handler
 * reaches (instr over two long strings is quadratic): LIKE and GLOB
 * (expr.c's matcher), instr, replace (memmem: linear) and the two-argument
 * trim, ltrim and rtrim. Each asks the query's budget as it goes, so a
 * query stops within its time budget even inside one of them. printf
 * (and format) stays SQLite's, run on a second connection, less the one
 * call that spins (printf_spins).
 *
 *   regexp(re, text)         1 when text has a match of re (RE2's syntax as
 *                            the Loki and Tempo APIs take it, read by
 *                            ow_search_regcomp), so `text REGEXP re` works;
 *                            NULL when either is NULL; a long text is
 *                            searched a stretch at a time, the budget
 *                            asked between (re_find)
 *   match(text, query)       the index's tokens (ow_index_match), the
 *                            budget asked as it goes
 *
 * And ->>, -> and json_extract(json, path), ours (expr.c says how they
 * read paths and values: 'http.route' is one key, plain values, the
 * OTLP/JSON steps of format 1): a function of ours overrides SQLite's
 * built-in one of the same name and number of arguments, operators
 * included. A real is SQLite's reading of its text (CAST on the second
 * connection); a path expr.c does not take ([#-N]), a BLOB or a path that
 * is not text or an integer goes to SQLite's own function there, errors
 * and all. json_extract with more paths stays SQLite's.
 */
#include "internal.h"
#include "../index/index.h"

#include <limits.h>
#include <math.h>
#include <regex.h>
#include <strings.h>

/* ---- calendar ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (**p < '0' || **p > '9')
			return 0;
		v = v * 10 + (**p - '0');
	}
	*out = v;
	return 1;
}

int ow_search_parse_time(const char *s, int64_t *out)
{
	int y, mo, d, h = 0, mi = 0, sec = 0;
	int64_t frac = 0;
	const char *p = s;
	if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
	    !digits(&p, 2, &d))
		return 0;
	if (*p == ' ' || *p == 'T') {
		p++;
		if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi))
			return 0;
		if (*p == ':') {
			p++;
			if (!digits(&p, 2, &sec))
				return 0;
			if (*p == '.') {
				int n = 0;
				for (p++; *p >= '0' && *p <= '9' && n < 9; p++, n++)
					frac = frac * 10 + (*p - '0');
				if (n == 0)
					return 0;
				for (; n < 9; n++)
					frac *= 10;
			}
		}
	}
	if (*p == 'Z')
		p++;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (*p || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || sec > 59)
		return 0;
	int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	if (t < 0 && frac > 0) {
		t++; /* so that the least time, 1677-09-21 00:12:43.145224192, fits */
		frac -= 1000000000;
	}
	return !__builtin_mul_overflow(t, (int64_t)1000000000, &t) &&
	       !__builtin_add_overflow(t, frac, out);
}

/* ---- scalar functions ---- */

static void fn_now_ns(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	OW_UNUSED(argc);
	OW_UNUSED(argv);
	ow_search_t *s = sqlite3_user_data(ctx);
	sqlite3_result_int64(ctx, s->now_ns);
}

static void fn_ns(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	OW_UNUSED(argc);
	if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
		return;
	const char *s = (const char *)sqlite3_value_text(argv[0]);
	int64_t t;
	if (!s || !ow_search_parse_time(s, &t)) {
		char *m = sqlite3_mprintf(
		    "ns: cannot read '%q' as a UTC time 'YYYY-MM-DD HH:MM:SS.fffffffff'", s);
		sqlite3_result_error(ctx, m, -1);
		sqlite3_free(m);
		return;
	}
	sqlite3_result_int64(ctx, t);
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

void ow_search_iso(int64_t ns, char *buf, size_t len)
{
	int64_t sec = floor_div(ns, 1000000000), days = floor_div(sec, 86400), y;
	int64_t frac = ns - sec * 1000000000, rem = sec - days * 86400;
	int m, d;
	civil_from_days(days, &y, &m, &d);
	snprintf(buf, len, "%04lld-%02d-%02dT%02d:%02d:%02d.%09lldZ", (long long)y, m, d,
		 (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), (long long)frac);
}

static void fn_ns_to_iso(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	OW_UNUSED(argc);
	if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
		return;
	char buf[64];
	ow_search_iso(sqlite3_value_int64(argv[0]), buf, sizeof(buf));
	sqlite3_result_text(ctx, buf, -1, SQLITE_TRANSIENT);
}

static const struct {
	const char *name;
	int64_t ns;
} units[] = {
    {"ns", 1},
    {"nanosecond", 1},
    {"nanoseconds", 1},
    {"us", 1000},
    {"microsecond", 1000},
    {"microseconds", 1000},
    {"ms", 1000000},
    {"millisecond", 1000000},
    {"milliseconds", 1000000},
    {"s", 1000000000},
    {"sec", 1000000000},
    {"second", 1000000000},
    {"seconds", 1000000000},
    {"m", 60000000000},
    {"min", 60000000000},
    {"minute", 60000000000},
    {"minutes", 60000000000},
    {"h", 3600000000000},
    {"hour", 3600000000000},
    {"hours", 3600000000000},
    {"d", 86400000000000},
    {"day", 86400000000000},
    {"days", 86400000000000},
    {"w", 604800000000000},
    {"week", 604800000000000},
    {"weeks", 604800000000000},
};

int ow_search_parse_interval(const char *s, int64_t *out)
{
	const char *p = s;
	while (*p == ' ')
		p++;
	int neg = *p == '-';
	if (*p == '-' || *p == '+')
		p++;
	if (*p < '0' || *p > '9')
		return 0;
	int64_t n = 0;
	for (; *p >= '0' && *p <= '9'; p++)
		if (__builtin_mul_overflow(n, 10, &n) || __builtin_add_overflow(n, *p - '0', &n))
			return 0;
	while (*p == ' ')
		p++;
	size_t len = strcspn(p, " ");
	const char *end = p + len;
	while (*end == ' ')
		end++;
	if (*end || len == 0)
		return 0;
	for (size_t i = 0; i < OW_NELEMS(units); i++) {
		if (strlen(units[i].name) != len || strncasecmp(p, units[i].name, len) != 0)
			continue;
		if (__builtin_mul_overflow(n, units[i].ns, out))
			return 0;
		if (neg)
			*out = -*out;
		return 1;
	}
	return 0;
}

static void fn_interval_ns(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	OW_UNUSED(argc);
	if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
		return;
	const char *s = (const char *)sqlite3_value_text(argv[0]);
	int64_t v;
	if (!s || !ow_search_parse_interval(s, &v)) {
		char *m = sqlite3_mprintf("interval_ns: cannot read '%q' as an integer and a unit "
					  "(ns, us, ms, s, m, h, d, w, or their names)",
					  s);
		sqlite3_result_error(ctx, m, -1);
		sqlite3_free(m);
		return;
	}
	sqlite3_result_int64(ctx, v);
}

static void fn_time_bucket_ns(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	OW_UNUSED(argc);
	if (sqlite3_value_type(argv[0]) == SQLITE_NULL ||
	    sqlite3_value_type(argv[1]) == SQLITE_NULL)
		return;
	int64_t ns = sqlite3_value_int64(argv[0]), w = sqlite3_value_int64(argv[1]), r;
	if (w <= 0) {
		sqlite3_result_error(ctx, "time_bucket_ns: the width must be a positive integer",
				     -1);
		return;
	}
	int64_t rem = ns % w;
	if (rem < 0)
		rem += w;
	if (__builtin_sub_overflow(ns, rem, &r)) {
		sqlite3_result_error(ctx, "time_bucket_ns: out of range", -1);
		return;
	}
	sqlite3_result_int64(ctx, r);
}

/* ---- quantiles ---- */

typedef ow_search_num_t num_t;

typedef struct {
	num_t *v;
	size_t n, cap;
	int real; /* the values are doubles */
	int has_q;
	double q;
} qstate_t;

static const double q50 = 0.5, q90 = 0.9, q99 = 0.99;

static void q_add(sqlite3_context *ctx, sqlite3_value *x, double q)
{
	qstate_t *st = sqlite3_aggregate_context(ctx, sizeof(*st));
	if (!st) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	if (st->has_q && st->q != q) {
		sqlite3_result_error(ctx, "quantile: q must be the same in every row", -1);
		return;
	}
	st->q = q;
	st->has_q = 1;
	int t = sqlite3_value_numeric_type(x);
	if (t != SQLITE_INTEGER && t != SQLITE_FLOAT)
		return;
	if (st->n == st->cap) {
		size_t cap = st->cap ? 2 * st->cap : 64;
		num_t *v = sqlite3_realloc64(st->v, cap * sizeof(num_t));
		if (!v) {
			sqlite3_result_error_nomem(ctx);
			return;
		}
		st->v = v;
		st->cap = cap;
	}
	if (t == SQLITE_FLOAT && !st->real) {
		for (size_t i = 0; i < st->n; i++)
			st->v[i].d = (double)st->v[i].i;
		st->real = 1;
	}
	if (st->real)
		st->v[st->n++].d = sqlite3_value_double(x);
	else
		st->v[st->n++].i = sqlite3_value_int64(x);
}

static void q_step_fixed(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	OW_UNUSED(argc);
	q_add(ctx, argv[0], *(const double *)sqlite3_user_data(ctx));
}

static void q_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	OW_UNUSED(argc);
	int t = sqlite3_value_numeric_type(argv[1]);
	double q = sqlite3_value_double(argv[1]);
	if ((t != SQLITE_INTEGER && t != SQLITE_FLOAT) || !(q >= 0 && q <= 1)) {
		sqlite3_result_error(ctx, "quantile: q must be a number from 0 to 1", -1);
		return;
	}
	q_add(ctx, argv[0], q);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = ((const num_t *)a)->i, y = ((const num_t *)b)->i;
	return (x > y) - (x < y);
}

static int cmp_f64(const void *a, const void *b)
{
	double x = ((const num_t *)a)->d, y = ((const num_t *)b)->d;
	return (x > y) - (x < y);
}

static inline int lt(num_t a, num_t b, int real)
{
	return real ? a.d < b.d : a.i < b.i;
}

static inline void swap_num(num_t *a, num_t *b)
{
	num_t t = *a;
	*a = *b;
	*b = t;
}

/* Moves the k-th smallest of v[left..right] to v[k] (Floyd and Rivest's
 * SELECT, CACM 1975: past 600 values it first selects within a sample
 * around where k's value should fall, so the partition that follows
 * leaves little on k's side; about n comparisons where Hoare's selection
 * takes two to three n, which a p99 over millions of durations feels).
 * Past a depth bound what is left is sorted, so no input makes it
 * quadratic. */
static void select_k(num_t *v, ptrdiff_t left, ptrdiff_t right, ptrdiff_t k, int real, int depth)
{
	while (right > left) {
		if (depth++ == 64) {
			qsort(v + left, (size_t)(right - left + 1), sizeof(num_t),
			      real ? cmp_f64 : cmp_i64);
			return;
		}
		if (right - left > 600) {
			double n = (double)(right - left + 1), i = (double)(k - left + 1);
			double z = log(n), s = 0.5 * exp(2 * z / 3);
			double sd = 0.5 * sqrt(z * s * (n - s) / n) * (i < n / 2 ? -1 : i > n / 2);
			ptrdiff_t lo = (ptrdiff_t)floor((double)k - i * s / n + sd);
			ptrdiff_t hi = (ptrdiff_t)floor((double)k + (n - i) * s / n + sd);
			select_k(v, OW_MAX(left, lo), OW_MIN(right, hi), k, real, depth);
		}
		num_t t = v[k];
		ptrdiff_t i = left, j = right;
		swap_num(&v[left], &v[k]);
		if (lt(t, v[right], real))
			swap_num(&v[right], &v[left]);
		while (i < j) {
			swap_num(&v[i++], &v[j--]);
			while (lt(v[i], t, real))
				i++;
			while (lt(t, v[j], real))
				j--;
		}
		if (!lt(v[left], t, real) && !lt(t, v[left], real)) {
			swap_num(&v[left], &v[j]);
		} else {
			j++;
			swap_num(&v[j], &v[right]);
		}
		if (j <= k)
			left = j + 1;
		if (k <= j)
			right = j - 1;
	}
}

num_t ow_search_quantile(num_t *v, size_t n, int real, double q)
{
	double rank = ceil(q * (double)n);
	size_t k = rank < 1 ? 0 : OW_MIN((size_t)rank - 1, n - 1);
	select_k(v, 0, (ptrdiff_t)n - 1, (ptrdiff_t)k, real, 0);
	return v[k];
}

static void q_final(sqlite3_context *ctx)
{
	qstate_t *st = sqlite3_aggregate_context(ctx, 0);
	if (!st)
		return;
	if (st->n) {
		num_t x = ow_search_quantile(st->v, st->n, st->real, st->q);
		if (st->real)
			sqlite3_result_double(ctx, x.d);
		else
			sqlite3_result_int64(ctx, x.i);
	}
	sqlite3_free(st->v);
	st->v = NULL;
}

/* ---- SQLite's string functions that can take long, budgeted ---- */

/* The call stopped for the query's budget: the statement fails, and
 * search.c says which budget. */
static void stopped(sqlite3_context *ctx)
{
	sqlite3_result_error_code(ctx, SQLITE_INTERRUPT);
}

/* Characters as SQLite's SQLITE_SKIP_UTF8 steps over them, to the NUL. */
static const uint8_t *skip_char(const uint8_t *z)
{
	if (*z++ >= 0xc0)
		while ((*z & 0xc0) == 0x80)
			z++;
	return z;
}

/* like(pattern, text[, escape]) and glob(pattern, text), as SQLite's
 * likeFunc: its limit on the pattern, its errors, its NULLs. */
static void fn_like(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const ow_search_glob_t *g = sqlite3_user_data(ctx);
	ow_search_glob_t own;
	int npat = sqlite3_value_bytes(argv[0]);
	if (npat >
	    sqlite3_limit(sqlite3_context_db_handle(ctx), SQLITE_LIMIT_LIKE_PATTERN_LENGTH, -1)) {
		sqlite3_result_error(ctx, "LIKE or GLOB pattern too complex", -1);
		return;
	}
	uint32_t esc = g->set;
	if (argc == 3) {
		const uint8_t *e = sqlite3_value_text(argv[2]);
		if (e == NULL)
			return;
		if (*e == 0 || *skip_char(e) != 0) {
			sqlite3_result_error(ctx, "ESCAPE expression must be a single character",
					     -1);
			return;
		}
		esc = ow_search_utf8(&e, e + strlen((const char *)e));
		if (esc == g->all || esc == g->one) {
			own = *g;
			own.all = esc == g->all ? 0 : own.all;
			own.one = esc == g->one ? 0 : own.one;
			g = &own;
		}
	}
	const uint8_t *p = sqlite3_value_text(argv[0]);
	const uint8_t *t = sqlite3_value_text(argv[1]);
	if (p == NULL || t == NULL)
		return;
	int m = ow_search_match(p, (size_t)sqlite3_value_bytes(argv[0]), t,
				(size_t)sqlite3_value_bytes(argv[1]), g, esc);
	if (m < 0)
		stopped(ctx);
	else
		sqlite3_result_int(ctx, m);
}

/* instr(haystack, needle): the 1-based character (byte, for two blobs)
 * where needle first is, as SQLite's instrFunc; found with memmem. In
 * text a match counts only where a character starts. */
/* A match() query's tokens, kept with its argument while it stays the
 * same (sqlite3_set_auxdata). */
typedef struct {
	ow_buf_t toks, ends;
	size_t n;
} match_query_t;

static void match_query_free(void *p)
{
	match_query_t *m = p;
	ow_buf_free(&m->toks);
	ow_buf_free(&m->ends);
	free(m);
}

void ow_search_fn_match(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	OW_UNUSED(argc);
	if (sqlite3_value_type(argv[0]) == SQLITE_NULL ||
	    sqlite3_value_type(argv[1]) == SQLITE_NULL)
		return;
	match_query_t *m = sqlite3_get_auxdata(ctx, 1);
	if (!m) {
		m = ow_calloc(1, sizeof(*m));
		const uint8_t *q = sqlite3_value_text(argv[1]);
		m->n = ow_index_tokens(q, (size_t)sqlite3_value_bytes(argv[1]), &m->toks, &m->ends);
		sqlite3_set_auxdata(ctx, 1, m, match_query_free);
		m = sqlite3_get_auxdata(ctx, 1);
		if (!m) {
			sqlite3_result_error_nomem(ctx);
			return;
		}
	}
	const uint8_t *t = sqlite3_value_text(argv[0]);
	size_t n = (size_t)sqlite3_value_bytes(argv[0]);
	int r = ow_index_match(t, n, m->toks.data, (const uint32_t *)m->ends.data, m->n,
			       ow_search_poll);
	if (r < 0)
		stopped(ctx);
	else
		sqlite3_result_int(ctx, r);
}

static void fn_instr(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	OW_UNUSED(argc);
	int th = sqlite3_value_type(argv[0]), tn = sqlite3_value_type(argv[1]);
	if (th == SQLITE_NULL || tn == SQLITE_NULL)
		return;
	sqlite3_value *d1 = NULL, *d2 = NULL;
	int hn = sqlite3_value_bytes(argv[0]), nn = sqlite3_value_bytes(argv[1]);
	int64_t at = 1;
	if (nn > 0) {
		const uint8_t *h, *n;
		int text = 1;
		if (th == SQLITE_BLOB && tn == SQLITE_BLOB) {
			h = sqlite3_value_blob(argv[0]);
			n = sqlite3_value_blob(argv[1]);
			text = 0;
		} else if (th != SQLITE_BLOB && tn != SQLITE_BLOB) {
			h = sqlite3_value_text(argv[0]);
			n = sqlite3_value_text(argv[1]);
		} else {
			d1 = sqlite3_value_dup(argv[0]);
			d2 = sqlite3_value_dup(argv[1]);
			h = d1 ? sqlite3_value_text(d1) : NULL;
			n = d2 ? sqlite3_value_text(d2) : NULL;
			hn = h ? sqlite3_value_bytes(d1) : 0;
			nn = n ? sqlite3_value_bytes(d2) : 0;
			if (h == NULL)
				goto out;
		}
		if (n == NULL || (hn && h == NULL))
			goto out;
		at = ow_search_instr(h, (size_t)hn, n, (size_t)nn, text);
		if (at < 0) {
			stopped(ctx);
			goto out;
		}
	}
	sqlite3_result_int64(ctx, at);
out:
	sqlite3_value_free(d1);
	sqlite3_value_free(d2);
}

/* replace(text, pattern, with), as SQLite's replaceFunc: bytes, left to
 * right, an empty pattern gives the text back as it came. */
static void fn_replace(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	OW_UNUSED(argc);
	const uint8_t *str = sqlite3_value_text(argv[0]);
	if (str == NULL)
		return;
	size_t ns = (size_t)sqlite3_value_bytes(argv[0]);
	const uint8_t *pat = sqlite3_value_text(argv[1]);
	if (pat == NULL)
		return;
	if (pat[0] == 0) {
		sqlite3_result_value(ctx, argv[0]);
		return;
	}
	size_t np = (size_t)sqlite3_value_bytes(argv[1]);
	const uint8_t *rep = sqlite3_value_text(argv[2]);
	if (rep == NULL)
		return;
	int nr = sqlite3_value_bytes(argv[2]);
	/* SQLite's string builder: its blocks are the query's, and it stops
	 * at the connection's length limit */
	sqlite3_str *out = sqlite3_str_new(sqlite3_context_db_handle(ctx));
	size_t i = 0;
	while (i < ns) {
		const uint8_t *f = np <= ns - i ? memmem(str + i, ns - i, pat, np) : NULL;
		size_t stop = f ? (size_t)(f - str) : ns;
		sqlite3_str_append(out, (const char *)str + i, (int)(stop - i));
		if (f == NULL)
			break;
		sqlite3_str_append(out, (const char *)rep, nr);
		i = stop + np;
		if (sqlite3_str_errcode(out) != SQLITE_OK)
			break;
		if (ow_search_poll()) {
			sqlite3_free(sqlite3_str_finish(out));
			stopped(ctx);
			return;
		}
	}
	int rc = sqlite3_str_errcode(out), len = sqlite3_str_length(out);
	char *z = sqlite3_str_finish(out);
	if (rc == SQLITE_TOOBIG)
		sqlite3_result_error_toobig(ctx);
	else if (rc != SQLITE_OK)
		sqlite3_result_error_nomem(ctx);
	else if (z == NULL)
		sqlite3_result_text(ctx, "", 0, SQLITE_STATIC);
	else
		sqlite3_result_text(ctx, z, len, sqlite3_free);
	if (rc != SQLITE_OK)
		sqlite3_free(z);
}

/* trim(text, chars), ltrim, rtrim (user data: 1 left, 2 right, 3 both),
 * as SQLite's trimFunc: chars are the set's characters to its NUL, tried
 * in order at each end. */
static void fn_trim(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	OW_UNUSED(argc);
	if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
		return;
	const uint8_t *in = sqlite3_value_text(argv[0]);
	if (in == NULL)
		return;
	int64_t nin = sqlite3_value_bytes(argv[0]);
	const uint8_t *set = sqlite3_value_text(argv[1]);
	if (set == NULL)
		return;
	int64_t nchar = 0;
	for (const uint8_t *z = set; *z; z = skip_char(z))
		nchar++;
	if (nchar > 0) {
		const uint8_t **ch = sqlite3_malloc64((uint64_t)nchar * sizeof(*ch));
		int64_t *len = sqlite3_malloc64((uint64_t)nchar * sizeof(*len));
		if (ch == NULL || len == NULL) {
			sqlite3_free(ch);
			sqlite3_free(len);
			sqlite3_result_error_nomem(ctx);
			return;
		}
		int64_t k = 0;
		for (const uint8_t *z = set; *z; k++) {
			ch[k] = z;
			z = skip_char(z);
			len[k] = z - ch[k];
		}
		int flags = (int)(intptr_t)sqlite3_user_data(ctx), stop = 0;
		for (int side = 1; side <= 2 && !stop; side++) {
			if (!(flags & side))
				continue;
			while (nin > 0 && !stop) {
				int64_t i;
				for (i = 0; i < nchar; i++) {
					if (len[i] <= nin &&
					    memcmp(side == 1 ? in : in + nin - len[i], ch[i],
						   (size_t)len[i]) == 0)
						break;
					if ((stop = ow_search_poll()) != 0)
						break;
				}
				if (i >= nchar || stop)
					break;
				if (side == 1)
					in += len[i];
				nin -= len[i];
			}
		}
		sqlite3_free(ch);
		sqlite3_free(len);
		if (stop) {
			stopped(ctx);
			return;
		}
	}
	sqlite3_result_text64(ctx, (const char *)in, (uint64_t)nin, SQLITE_TRANSIENT, SQLITE_UTF8);
}

/* 1 when a %c of printf's format repeats its character more times than
 * the connection's longest value: SQLite 3.40 spins ~5 ns a repetition
 * in one call (seconds, out of any budget's reach) to give NULL, the
 * answer for a result too long, which this gives at once. The format's
 * grammar is SQLite's: flags, a width and a precision, either a number
 * or '*' (the next argument, negative turned positive), 'l' or 'll', the
 * conversion. */
static int printf_spins(const uint8_t *f, int argc, sqlite3_value **argv, int64_t limit)
{
	int arg = 1;
	for (; *f; f++) {
		if (*f != '%')
			continue;
		f++;
		while (*f && strchr("-+ #!0,", *f))
			f++;
		int64_t prec = -1;
		for (int part = 0; part < 2; part++) {
			if (part == 1) {
				if (*f != '.')
					break;
				f++;
			}
			int64_t v = 0;
			if (*f == '*') { /* an int, as SQLite takes it */
				v = (int)(arg < argc ? sqlite3_value_int64(argv[arg]) : 0);
				v = v < 0 ? (v >= -2147483647 ? -v : -1) : v;
				arg++;
				f++;
			} else { /* digits wrap as SQLite's unsigned */
				unsigned px = 0;
				for (; *f >= '0' && *f <= '9'; f++)
					px = px * 10 + (unsigned)(*f - '0');
				v = px & 0x7fffffff;
			}
			if (part == 1)
				prec = v;
		}
		while (*f == 'l')
			f++;
		if (*f == 0)
			break;
		if (*f == 'c' && prec > limit)
			return 1;
		if (*f != '%' && *f != 'n')
			arg++;
	}
	return 0;
}

/* printf(format, ...) and format(): SQLite's own, run on a connection of
 * the handle's that has none of our functions (so SQLite's printf is its
 * printf), with the arguments as they came; its blocks are the query's,
 * as every SQLite block this thread allocates. A call is checked for
 * printf_spins first, and the budget asked before it. */
static void fn_printf(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	ow_search_t *s = sqlite3_user_data(ctx);
	if (argc < 1 || argc > OW_SEARCH_FUNC_ARGS)
		return;
	if (ow_search_poll()) {
		stopped(ctx);
		return;
	}
	const uint8_t *f = sqlite3_value_text(argv[0]);
	if (f &&
	    printf_spins(f, argc, argv,
			 sqlite3_limit(sqlite3_context_db_handle(ctx), SQLITE_LIMIT_LENGTH, -1)))
		return;
	if (s->aux == NULL && (s->aux = ow_search_bare_db()) == NULL) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	sqlite3_stmt **st = &s->printf_st[argc];
	if (*st == NULL) {
		char sql[16 + 4 * OW_SEARCH_FUNC_ARGS] = "SELECT printf(?1";
		for (int i = 2; i <= argc; i++)
			snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql), ",?%d", i);
		strcat(sql, ")");
		if (sqlite3_prepare_v2(s->aux, sql, -1, st, NULL) != SQLITE_OK) {
			sqlite3_result_error(ctx, sqlite3_errmsg(s->aux), -1);
			return;
		}
	}
	for (int i = 0; i < argc; i++)
		sqlite3_bind_value(*st, i + 1, argv[i]);
	int rc = sqlite3_step(*st);
	if (rc == SQLITE_ROW)
		sqlite3_result_value(ctx, sqlite3_column_value(*st, 0));
	else if ((rc & 0xff) == SQLITE_NOMEM)
		sqlite3_result_error_nomem(ctx);
	else
		sqlite3_result_error(ctx, sqlite3_errmsg(s->aux), -1);
	sqlite3_reset(*st);
}

/* ---- ->>, -> and json_extract ---- */

enum { J_ARROW2, J_ARROW, J_EXTRACT, J_REAL };

/* Statement k of json_st on the handle's second connection: SQLite's own
 * function (J_ARROW2..J_EXTRACT) or its reading of a real. */
static sqlite3_stmt *json_stmt(sqlite3_context *ctx, ow_search_t *s, int k)
{
	static const char *const sql[] = {"SELECT ?1 ->> ?2", "SELECT ?1 -> ?2",
					  "SELECT json_extract(?1, ?2)", "SELECT CAST(?1 AS REAL)"};
	if (s->aux == NULL && (s->aux = ow_search_bare_db()) == NULL) {
		sqlite3_result_error_nomem(ctx);
		return NULL;
	}
	if (s->json_st[k] == NULL &&
	    sqlite3_prepare_v2(s->aux, sql[k], -1, &s->json_st[k], NULL) != SQLITE_OK) {
		sqlite3_result_error(ctx, sqlite3_errmsg(s->aux), -1);
		return NULL;
	}
	return s->json_st[k];
}

/* Runs statement k with the arguments; its value is the result. */
static void json_sqlite(sqlite3_context *ctx, ow_search_t *s, int k, int argc, sqlite3_value **argv)
{
	sqlite3_stmt *st = json_stmt(ctx, s, k);
	if (!st)
		return;
	for (int i = 0; i < argc; i++)
		sqlite3_bind_value(st, i + 1, argv[i]);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		sqlite3_result_value(ctx, sqlite3_column_value(st, 0));
	else if ((rc & 0xff) == SQLITE_NOMEM)
		sqlite3_result_error_nomem(ctx);
	else
		sqlite3_result_error(ctx, sqlite3_errmsg(s->aux), -1);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* The subtype SQLite's JSON functions give JSON text ('J'). */
#define JSON_SUBTYPE 74

/* Whether text v that json_extract gives is an object or an array (JSON
 * text, as SQLite marks it) rather than a string's text. */
static int is_container(const ow_search_path_t *path, const uint8_t *json, size_t n,
			const ow_search_val_t *v)
{
	if (!v->n || (v->p[0] != '{' && v->p[0] != '['))
		return 0;
	ow_buf_t scratch = {0};
	ow_search_val_t t;
	ow_search_json_text(path, json, n, &scratch, &t);
	int r = t.type == SQLITE_TEXT && t.n && t.p[0] != '"';
	ow_buf_free(&scratch);
	return r;
}

static void json_op(sqlite3_context *ctx, int argc, sqlite3_value **argv, int op)
{
	ow_search_t *s = sqlite3_user_data(ctx);
	int t0 = sqlite3_value_type(argv[0]), t1 = sqlite3_value_type(argv[1]);
	if (t0 == SQLITE_NULL || t1 == SQLITE_NULL)
		return;
	ow_search_path_t path;
	int ok = 0;
	if (t1 == SQLITE_TEXT) {
		ok = ow_search_json_path((const char *)sqlite3_value_text(argv[1]), &path);
	} else if (t1 == SQLITE_INTEGER && op != J_EXTRACT) {
		memset(&path, 0, sizeof(path));
		ok = ow_search_json_index(sqlite3_value_int64(argv[1]), &path);
	}
	if (!ok || t0 == SQLITE_BLOB) {
		json_sqlite(ctx, s, op, argc, argv);
		return;
	}
	const uint8_t *json = sqlite3_value_text(argv[0]);
	size_t n = (size_t)sqlite3_value_bytes(argv[0]);
	if (!json) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	ow_buf_t scratch = {0};
	ow_search_val_t v;
	int rc = op == J_ARROW ? ow_search_json_text(&path, json, n, &scratch, &v)
			       : ow_search_json_get(&path, json, n, &scratch, &v);
	switch (v.type) {
	case SQLITE_TEXT:
		sqlite3_result_text64(ctx, v.n ? (const char *)v.p : "", v.n, SQLITE_TRANSIENT,
				      SQLITE_UTF8);
		if (op == J_ARROW || (op == J_EXTRACT && is_container(&path, json, n, &v)))
			sqlite3_result_subtype(ctx, JSON_SUBTYPE);
		break;
	case SQLITE_INTEGER:
		sqlite3_result_int64(ctx, v.i);
		break;
	case SQLITE_FLOAT:
		if (rc == OW_DECLINED) {
			sqlite3_stmt *st = json_stmt(ctx, s, J_REAL);
			if (st) {
				sqlite3_bind_text64(st, 1, (const char *)v.p, v.n, SQLITE_STATIC,
						    SQLITE_UTF8);
				if (sqlite3_step(st) == SQLITE_ROW)
					sqlite3_result_double(ctx, sqlite3_column_double(st, 0));
				else
					sqlite3_result_error(ctx, sqlite3_errmsg(s->aux), -1);
				sqlite3_reset(st);
				sqlite3_clear_bindings(st);
			}
		}
		break;
	default:
		break;
	}
	ow_buf_free(&scratch);
}

static void fn_arrow2(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	json_op(ctx, argc, argv, J_ARROW2);
}

static void fn_arrow(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	json_op(ctx, argc, argv, J_ARROW);
}

static void fn_extract(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	json_op(ctx, argc, argv, J_EXTRACT);
}

/* ---- regular expressions ---- */

int ow_search_regcomp(regex_t *re, const char *pattern, int how, char *err, size_t errlen)
{
	int anchored = how & OW_SEARCH_RE_ANCHORED;
	/* RE2's shorthands that POSIX ERE lacks, spelled as classes; (?i) at
	 * the start as REG_ICASE; anchored: the whole text must match (Loki's
	 * label matchers) */
	int flags = REG_EXTENDED | (how & OW_SEARCH_RE_SUBMATCH ? 0 : REG_NOSUB);
	if (strncmp(pattern, "(?i)", 4) == 0) {
		flags |= REG_ICASE;
		pattern += 4;
	}
	/* glibc's regcomp copies a repeated group for each repetition, and
	 * a repetition of one over and over (a++++, ((a+)+)+...) takes it
	 * gigabytes: as RE2 does, a repetition of a repetition is refused
	 * (a lazy ? after one is dropped: it matches the same texts), counts
	 * are at most 1000, and the product of the repetitions (a group's +
	 * counts 2) at most 100000; back-references, which RE2 has not, are
	 * refused too */
	const char *why = strlen(pattern) > 4096 ? "pattern too large" : NULL;
	double product = 1;
	int rep = 0; /* the last thing written is a repetition */
	ow_buf_t b = {0};
	if (anchored)
		ow_buf_addstr(&b, "^(");
	int in_class = 0;
	for (const char *c = pattern; *c && !why; c++) {
		int m = -1; /* a repetition: its largest count */
		const char *end = c;
		if (!in_class && (*c == '*' || *c == '+' || *c == '?'))
			m = *c == '+' && c > pattern && c[-1] == ')' ? 1 : 0;
		else if (!in_class && *c == '{' && (c[1] >= '0' && c[1] <= '9')) {
			char *e;
			long lo = strtol(c + 1, &e, 10), hi = lo;
			if (*e == ',')
				hi = e[1] == '}' ? lo : strtol(e + 1, &e, 10);
			if (*e == ',' && e[1] == '}')
				e++;
			if (*e == '}') {
				m = (int)OW_MIN(OW_MAX(lo, hi), 100000);
				end = e;
				if (lo > 1000 || hi > 1000)
					why = "bad repetition operator";
			}
		}
		if (m >= 0) {
			if (rep && *c == '?')
				continue; /* lazy */
			if (rep)
				why = "bad repetition operator";
			product *= m + 1;
			if (product > 100000)
				why = "pattern too large";
			ow_buf_add(&b, c, (size_t)(end - c) + 1);
			c = end;
			rep = 1;
			continue;
		}
		rep = 0;
		if (*c == '\\' && c[1] >= '1' && c[1] <= '9')
			why = "invalid escape sequence";
		static const char *const cls[][2] = {
		    {"d", "0-9"}, {"w", "A-Za-z0-9_"}, {"s", " \t\n\r\f\v"}};
		if (*c == '\\' && c[1]) {
			const char *in = NULL;
			int neg = 0;
			for (size_t i = 0; i < OW_NELEMS(cls); i++)
				if (c[1] == cls[i][0][0] || c[1] == cls[i][0][0] - 32) {
					in = cls[i][1];
					neg = c[1] == cls[i][0][0] - 32;
				}
			if (in && !(in_class && neg)) {
				ow_buf_printf(&b, in_class ? "%s" : neg ? "[^%s]" : "[%s]", in);
				c++;
				continue;
			}
			ow_buf_add(&b, c, 2);
			c++;
			continue;
		}
		if (*c == '[' && !in_class)
			in_class = 1;
		else if (*c == ']' && in_class && c[-1] != '[' && !(c[-1] == '^' && c[-2] == '['))
			in_class = 0;
		ow_buf_add(&b, c, 1);
	}
	if (why) {
		ow_buf_free(&b);
		snprintf(err, errlen, "error parsing regexp: %s: `%.200s`", why, pattern);
		return OW_ERROR;
	}
	if (anchored)
		ow_buf_addstr(&b, ")$");
	ow_buf_add(&b, "", 1);
	int rc = regcomp(re, (const char *)b.data, flags);
	ow_buf_free(&b);
	if (rc != 0) {
		char msg[128];
		regerror(rc, re, msg, sizeof(msg));
		snprintf(err, errlen, "error parsing regexp: %s: `%.200s`", msg, pattern);
		return OW_ERROR;
	}
	return OW_OK;
}

static void regex_free(void *p)
{
	regfree(p);
	free(p);
}

/* regexec(re, t) (t to its first NUL), asking the query's budget as it
 * goes: glibc's matcher can take time in the square of a text's length
 * ((a|aa)*c over 100 KB of a: 15 s in one call), where no progress
 * handler reaches. A long text is searched a stretch of start positions
 * at a time (re_search: regexec's matcher, with its context around the
 * stretch, so the same answer), the budget asked between; a stretch
 * doubles while one takes under a millisecond (a text that is merely
 * long is searched in a few calls) and halves past 4. 1, 0, or -1 when
 * the budget stopped the query. */
static int re_find(regex_t *re, const char *t)
{
	size_t n = strlen(t), stretch = 64;
	if (n <= 4096 || n >= INT_MAX)
		return regexec(re, t, 0, NULL, 0) == 0;
	for (size_t at = 0; at <= n;) {
		if (ow_search_poll_now())
			return -1;
		int64_t t0 = ow_mono_ns();
		size_t last = OW_MIN(at + stretch - 1, n); /* the stretch: starts at..last */
		regoff_t r =
		    re_search(re, t, (regoff_t)n, (regoff_t)at, (regoff_t)(last - at), NULL);
		if (r != -1)
			return r >= 0; /* -2, an error: regexec's answer is no match */
		at = last + 1;
		int64_t took = ow_mono_ns() - t0;
		if (took < 1000000)
			stretch *= 2;
		else if (took > 4000000 && stretch > 1)
			stretch /= 2;
	}
	return 0;
}

static void fn_regexp(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	OW_UNUSED(argc);
	const char *p = (const char *)sqlite3_value_text(argv[0]);
	const char *t = (const char *)sqlite3_value_text(argv[1]);
	if (p == NULL || t == NULL)
		return;
	regex_t *re = sqlite3_get_auxdata(ctx, 0);
	if (re == NULL) {
		char err[256];
		re = ow_alloc(sizeof(*re));
		if (ow_search_regcomp(re, p, 0, err, sizeof(err)) != OW_OK) {
			free(re);
			sqlite3_result_error(ctx, err, -1);
			return;
		}
		sqlite3_set_auxdata(ctx, 0, re, regex_free);
		re = sqlite3_get_auxdata(ctx, 0);
		if (re == NULL) {
			sqlite3_result_error_nomem(ctx);
			return;
		}
	}
	int m = re_find(re, t);
	if (m < 0)
		stopped(ctx);
	else
		sqlite3_result_int(ctx, m);
}

int ow_search_funcs_register(ow_search_t *s)
{
	const int pure = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
	static const struct {
		const char *name;
		int nargs;
		void (*fn)(sqlite3_context *, int, sqlite3_value **);
	} scalars[] = {
	    {"ns", 1, fn_ns},
	    {"ns_to_iso", 1, fn_ns_to_iso},
	    {"interval_ns", 1, fn_interval_ns},
	    {"time_bucket_ns", 2, fn_time_bucket_ns},
	    {"regexp", 2, fn_regexp},
	};
	static const struct {
		const char *name;
		const double *q;
	} fixed[] = {{"p50", &q50}, {"p90", &q90}, {"p99", &q99}};
	sqlite3 *db = s->db;
	/* not deterministic, but the same within a query */
	if (sqlite3_create_function(db, "now_ns", 0, SQLITE_UTF8 | SQLITE_INNOCUOUS, s, fn_now_ns,
				    NULL, NULL) != SQLITE_OK)
		return OW_ERROR;
	for (size_t i = 0; i < OW_NELEMS(scalars); i++)
		if (sqlite3_create_function(db, scalars[i].name, scalars[i].nargs, pure, NULL,
					    scalars[i].fn, NULL, NULL) != SQLITE_OK)
			return OW_ERROR;
	for (size_t i = 0; i < OW_NELEMS(fixed); i++)
		if (sqlite3_create_function(db, fixed[i].name, 1, pure, (void *)fixed[i].q, NULL,
					    q_step_fixed, q_final) != SQLITE_OK)
			return OW_ERROR;
	if (sqlite3_create_function(db, "quantile", 2, pure, NULL, NULL, q_step, q_final) !=
		SQLITE_OK ||
	    sqlite3_create_function(db, "match", 2, pure, NULL, ow_search_fn_match, NULL, NULL) !=
		SQLITE_OK)
		return OW_ERROR;
	static const struct {
		const char *name;
		int nargs;
		const void *arg;
		void (*fn)(sqlite3_context *, int, sqlite3_value **);
	} budgeted[] = {
	    {"like", 2, &ow_search_like_rules, fn_like},
	    {"like", 3, &ow_search_like_rules, fn_like},
	    {"glob", 2, &ow_search_glob_rules, fn_like},
	    {"instr", 2, NULL, fn_instr},
	    {"replace", 3, NULL, fn_replace},
	    {"ltrim", 2, (void *)1, fn_trim},
	    {"rtrim", 2, (void *)2, fn_trim},
	    {"trim", 2, (void *)3, fn_trim},
	};
	for (size_t i = 0; i < OW_NELEMS(budgeted); i++)
		if (sqlite3_create_function(db, budgeted[i].name, budgeted[i].nargs, pure,
					    (void *)budgeted[i].arg, budgeted[i].fn, NULL,
					    NULL) != SQLITE_OK)
			return OW_ERROR;
	if (sqlite3_create_function(db, "printf", -1, pure, s, fn_printf, NULL, NULL) !=
		SQLITE_OK ||
	    sqlite3_create_function(db, "format", -1, pure, s, fn_printf, NULL, NULL) != SQLITE_OK)
		return OW_ERROR;
	if (sqlite3_create_function(db, "->>", 2, pure, s, fn_arrow2, NULL, NULL) != SQLITE_OK ||
	    sqlite3_create_function(db, "->", 2, pure, s, fn_arrow, NULL, NULL) != SQLITE_OK ||
	    sqlite3_create_function(db, "json_extract", 2, pure, s, fn_extract, NULL, NULL) !=
		SQLITE_OK)
		return OW_ERROR;
	return OW_OK;
}

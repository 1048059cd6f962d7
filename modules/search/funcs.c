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
 * values are held in SQLite's heap, so the heap limit bounds them.
 */
#include "internal.h"

#include <math.h>
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

static int parse_time(const char *s, int64_t *out)
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
	if (!s || !parse_time(s, &t)) {
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

static void fn_ns_to_iso(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	OW_UNUSED(argc);
	if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
		return;
	int64_t ns = sqlite3_value_int64(argv[0]);
	int64_t sec = floor_div(ns, 1000000000), days = floor_div(sec, 86400), y;
	int64_t frac = ns - sec * 1000000000, rem = sec - days * 86400;
	int m, d;
	civil_from_days(days, &y, &m, &d);
	char buf[64];
	snprintf(buf, sizeof(buf), "%04lld-%02d-%02dT%02d:%02d:%02d.%09lldZ", (long long)y, m, d,
		 (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), (long long)frac);
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

static int parse_interval(const char *s, int64_t *out)
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
	if (!s || !parse_interval(s, &v)) {
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
	    SQLITE_OK)
		return OW_ERROR;
	return OW_OK;
}

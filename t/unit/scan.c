/* scan: the scan layer under both engines (modules/search/scan.c): values
 * compared as SQLite compares them, predicates on statistics with NULLs,
 * mins and maxes, LIKE prefixes in either ASCII case, literals of another
 * type that must not prune, ids and bloom filters, catalog time ranges,
 * and a Parquet file read with the scan's page filter and selection (only
 * the pages that may match read, the rows selected those a brute force
 * finds). */
#include "../lib/tap.h"
#include "modules/columns/columns.h"
#include "modules/search/internal.h"

#include <unistd.h>

static char err[512];

static ow_search_val_t ival(int64_t i)
{
	return (ow_search_val_t){.type = SQLITE_INTEGER, .i = i};
}

static ow_search_val_t rval(double d)
{
	return (ow_search_val_t){.type = SQLITE_FLOAT, .d = d};
}

static ow_search_val_t tval(const char *s)
{
	size_t n = strlen(s);
	uint8_t *p = ow_alloc(n + 1);
	memcpy(p, s, n + 1);
	return (ow_search_val_t){.type = SQLITE_TEXT, .p = p, .n = n};
}

static ow_search_val_t nval(void)
{
	return (ow_search_val_t){.type = SQLITE_NULL};
}

/* A predicate on column col of defs (its literals owned by it). */
static ow_scan_pred_t pred(const ow_pq_coldef_t *defs, int col, int op, int n, ...)
{
	ow_scan_pred_t p = {.col = col, .base = col, .op = op};
	p.vals = ow_calloc((size_t)n + 1, sizeof(*p.vals));
	va_list ap;
	va_start(ap, n);
	for (int i = 0; i < n; i++)
		p.vals[p.nvals++] = va_arg(ap, ow_search_val_t);
	va_end(ap);
	ow_scan_pred_ready(&p, &defs[col]);
	return p;
}

static const ow_pq_coldef_t defs[] = {
    {"t", OW_PQ_INT64, OW_PQ_L_TIMESTAMP_NS, 0, 0, OW_PQ_ENC_DELTA, 0},
    {"id", OW_PQ_FIXED, OW_PQ_L_NONE, 16, 1, OW_PQ_ENC_PLAIN, 1},
    {"s", OW_PQ_BYTE_ARRAY, OW_PQ_L_STRING, 0, 1, OW_PQ_ENC_DICT, 0},
    {"k", OW_PQ_INT32, OW_PQ_L_INT8, 0, 0, OW_PQ_ENC_DICT, 0},
    {"u", OW_PQ_INT32, OW_PQ_L_UINT32, 0, 0, OW_PQ_ENC_DICT, 0},
    {"j", OW_PQ_BYTE_ARRAY, OW_PQ_L_JSON, 0, 1, OW_PQ_ENC_DICT, 0},
};
enum { T, ID, S, K, U, J, NCOLS };

/* Statistics with integer bounds (8 or 4 bytes). */
static ow_pq_stats_t istats(int64_t lo, int64_t hi, int64_t nulls, int width, uint8_t *buf)
{
	ow_put_u64(buf, (uint64_t)lo);
	ow_put_u64(buf + 8, (uint64_t)hi);
	return (ow_pq_stats_t){1, buf, buf + 8, (size_t)width, (size_t)width, nulls};
}

static ow_pq_stats_t sstats(const char *lo, const char *hi, int64_t nulls)
{
	return (ow_pq_stats_t){1,	   (const uint8_t *)lo, (const uint8_t *)hi,
			       strlen(lo), strlen(hi),		nulls};
}

/* ow_scan_stats_may of one predicate, freed after */
static int may(ow_scan_pred_t p, const ow_pq_stats_t *st, int64_t rows)
{
	int r = ow_scan_stats_may(&p, &defs[p.base], st, rows);
	ow_scan_pred_free(&p);
	return r;
}

static int all(ow_scan_pred_t p, const ow_pq_stats_t *st, int64_t rows)
{
	int r = ow_scan_stats_all(&p, &defs[p.base], st, rows);
	ow_scan_pred_free(&p);
	return r;
}

static int holds(ow_scan_pred_t p, ow_search_val_t x)
{
	int r = ow_scan_holds(&p, &x);
	ow_scan_pred_free(&p);
	if (x.type == SQLITE_TEXT)
		free((void *)x.p);
	return r;
}

static void test_values(void)
{
	ow_search_val_t a = ival(9007199254740993), b = rval(9007199254740992.0);
	ok(ow_search_val_cmp(&a, &b) > 0 && ow_search_val_cmp(&b, &a) < 0,
	   "2^53 + 1 is above the real 2^53: integers and reals compare exactly");
	a = ival(INT64_MAX), b = rval(9223372036854775808.0);
	ok(ow_search_val_cmp(&a, &b) < 0, "INT64_MAX is below the real 2^63");
	a = ival(3), b = rval(3.0);
	ok(ow_search_val_cmp(&a, &b) == 0, "3 = 3.0");
	ow_search_val_t n = nval(), i = ival(-5), t = tval(""), bl = {.type = SQLITE_BLOB};
	ok(ow_search_val_cmp(&n, &i) < 0 && ow_search_val_cmp(&i, &t) < 0 &&
	       ow_search_val_cmp(&t, &bl) < 0,
	   "NULL before numbers, numbers before text, text before blobs");
	free((void *)t.p);
	ow_search_val_t x = tval("ab"), y = tval("abc");
	ok(ow_search_val_cmp(&x, &y) < 0, "a prefix sorts first");
	free((void *)x.p), free((void *)y.p);

	/* NULL literals hold for no row; IN lists with one beside others do */
	ok(!holds(pred(defs, T, OW_SCAN_EQ, 1, nval()), ival(1)), "x = NULL holds for no x");
	ok(!holds(pred(defs, T, OW_SCAN_NE, 1, nval()), ival(1)), "x != NULL neither");
	ok(holds(pred(defs, T, OW_SCAN_IN, 2, nval(), ival(1)), ival(1)), "1 IN (NULL, 1)");
	ok(!holds(pred(defs, T, OW_SCAN_IN, 2, nval(), ival(1)), ival(2)), "not 2 IN (NULL, 1)");
	ok(!holds(pred(defs, T, OW_SCAN_NOT_IN, 2, nval(), ival(1)), ival(2)),
	   "2 NOT IN (NULL, 1) is NULL: no row");
	ok(holds(pred(defs, T, OW_SCAN_NOT_IN, 1, ival(1)), ival(2)), "2 NOT IN (1)");
	ok(!holds(pred(defs, T, OW_SCAN_LT, 1, ival(1)), nval()), "NULL < 1 holds for no row");
	ok(holds(pred(defs, S, OW_SCAN_NULL, 0), nval()) &&
	       !holds(pred(defs, S, OW_SCAN_NULL, 0), ival(0)),
	   "IS NULL");
	ok(holds(pred(defs, S, OW_SCAN_LIKE, 1, tval("%OUT of%")), tval("timeout of 5s")),
	   "LIKE %%OUT of%% in any ASCII case (the needle)");
	ok(holds(pred(defs, S, OW_SCAN_LIKE, 1, tval("Che_k%")), tval("checkout")), "LIKE Che_k%%");
	ok(!holds(pred(defs, S, OW_SCAN_NOT_LIKE, 1, tval("che%")), tval("CHECKOUT")),
	   "NOT LIKE che%% of CHECKOUT");
	ok(holds(pred(defs, J, OW_SCAN_LIKE, 1, tval("2%")), ival(200)),
	   "an integer value matches LIKE as its text");
}

static void test_ready(void)
{
	ow_scan_pred_t p = pred(defs, T, OW_SCAN_EQ, 1, tval("5"));
	ok(p.mixed, "text against an integer column: mixed (SQLite converts it)");
	ow_scan_pred_free(&p);
	p = pred(defs, S, OW_SCAN_IN, 2, tval("a"), ival(5));
	ok(p.mixed, "a number in an IN list of a text column: mixed");
	ow_scan_pred_free(&p);
	p = pred(defs, T, OW_SCAN_GT, 1, rval(1.5));
	ok(!p.mixed, "a real against an integer column: numbers both");
	ow_scan_pred_free(&p);
	p = pred(defs, S, OW_SCAN_EQ, 1, (ow_search_val_t){.type = SQLITE_BLOB});
	ok(p.mixed, "a blob: mixed");
	ow_scan_pred_free(&p);
	p = pred(defs, ID, OW_SCAN_IN, 4, tval("000102030405060708090a0b0c0d0e0f"),
		 tval("000102030405060708090A0B0C0D0E0F"), tval("0001"), nval());
	ok(!p.mixed && p.nids == 1 && p.ids[0] == 0 && p.ids[15] == 15,
	   "ids: lowercase hex of the column's length only (%zu)", p.nids);
	ow_scan_pred_free(&p);
	p = pred(defs, S, OW_SCAN_LIKE, 1, tval("Chk_x%"));
	ok(p.npre == 3 && !memcmp(p.pre_lo, "chk", 3) && !memcmp(p.pre_up, "CHK", 3) && !p.needle,
	   "LIKE 'Chk_x%%': the prefix chk / CHK, no needle");
	ow_scan_pred_free(&p);
	p = pred(defs, S, OW_SCAN_LIKE, 1, tval("%Time Out%"));
	ok(p.npre == 0 && p.needle && !strcmp(p.needle, "time out"),
	   "LIKE '%%Time Out%%': the needle, lowercase");
	ow_scan_pred_free(&p);
	p = pred(defs, S, OW_SCAN_LIKE, 1, ival(12));
	ok(p.mixed, "a LIKE pattern that is not text: left to SQLite");
	ow_scan_pred_free(&p);
}

static void test_stats(void)
{
	uint8_t b[16];
	ow_pq_stats_t st = istats(100, 200, 0, 8, b);
	ok(may(pred(defs, T, OW_SCAN_EQ, 1, ival(100)), &st, 10) &&
	       may(pred(defs, T, OW_SCAN_EQ, 1, ival(200)), &st, 10) &&
	       !may(pred(defs, T, OW_SCAN_EQ, 1, ival(99)), &st, 10) &&
	       !may(pred(defs, T, OW_SCAN_EQ, 1, ival(201)), &st, 10),
	   "= against [min, max], both ends in");
	ok(!may(pred(defs, T, OW_SCAN_LT, 1, ival(100)), &st, 10) &&
	       may(pred(defs, T, OW_SCAN_LE, 1, ival(100)), &st, 10) &&
	       !may(pred(defs, T, OW_SCAN_GT, 1, ival(200)), &st, 10) &&
	       may(pred(defs, T, OW_SCAN_GE, 1, ival(200)), &st, 10),
	   "<, <=, >, >= at the bounds");
	ok(!may(pred(defs, T, OW_SCAN_IN, 3, ival(1), ival(300), nval()), &st, 10) &&
	       may(pred(defs, T, OW_SCAN_IN, 2, ival(1), ival(150)), &st, 10),
	   "IN: one literal in the range is enough");
	ok(may(pred(defs, T, OW_SCAN_GT, 1, rval(199.5)), &st, 10) &&
	       !may(pred(defs, T, OW_SCAN_GT, 1, rval(200.0)), &st, 10),
	   "a real literal against integer bounds");
	ok(may(pred(defs, T, OW_SCAN_EQ, 1, tval("50")), &st, 10) &&
	       may(pred(defs, T, OW_SCAN_GT, 1, tval("999")), &st, 10),
	   "text against integers prunes nothing (SQLite converts it)");
	ok(!may(pred(defs, T, OW_SCAN_LT, 1, nval()), &st, 10),
	   "a comparison with NULL: no row can match");
	ok(may(pred(defs, T, OW_SCAN_NE, 1, ival(150)), &st, 10), "!= within a range: may");
	ok(all(pred(defs, T, OW_SCAN_GE, 1, ival(100)), &st, 10) &&
	       !all(pred(defs, T, OW_SCAN_GE, 1, ival(101)), &st, 10) &&
	       all(pred(defs, T, OW_SCAN_NOT_NULL, 0), &st, 10),
	   "every row passes >= min, not >= min + 1; none NULL: every row IS NOT NULL");
	st = istats(100, 200, 3, 8, b);
	ok(!all(pred(defs, T, OW_SCAN_GE, 1, ival(100)), &st, 10),
	   "with NULLs, not every row passes >= min");
	st = istats(7, 7, 0, 8, b);
	ok(!may(pred(defs, T, OW_SCAN_NE, 1, ival(7)), &st, 10) &&
	       !may(pred(defs, T, OW_SCAN_NOT_IN, 2, ival(7), ival(8)), &st, 10) &&
	       may(pred(defs, T, OW_SCAN_NE, 1, ival(8)), &st, 10),
	   "one value in the chunk: != it, NOT IN a list of it rule the chunk out");
	ok(all(pred(defs, T, OW_SCAN_EQ, 1, ival(7)), &st, 10), "= the one value: every row");

	/* NULLs */
	st = sstats("a", "b", 10);
	ok(!may(pred(defs, S, OW_SCAN_EQ, 1, tval("a")), &st, 10) &&
	       !may(pred(defs, S, OW_SCAN_NOT_NULL, 0), &st, 10) &&
	       may(pred(defs, S, OW_SCAN_NULL, 0), &st, 10) &&
	       all(pred(defs, S, OW_SCAN_NULL, 0), &st, 10),
	   "every row NULL: only IS NULL may hold, and holds for all");
	ow_pq_stats_t none = {0, NULL, NULL, 0, 0, 0};
	ok(!may(pred(defs, S, OW_SCAN_NULL, 0), &none, 10) &&
	       may(pred(defs, S, OW_SCAN_NOT_NULL, 0), &none, 10),
	   "no NULL: IS NULL is ruled out");
	none.null_count = -1;
	ok(may(pred(defs, S, OW_SCAN_NULL, 0), &none, 10) &&
	       may(pred(defs, S, OW_SCAN_EQ, 1, tval("a")), &none, 10),
	   "statistics without a null count or bounds prune nothing");

	/* text */
	st = sstats("checkout", "payment", 0);
	ok(may(pred(defs, S, OW_SCAN_EQ, 1, tval("frontend")), &st, 10) &&
	       !may(pred(defs, S, OW_SCAN_EQ, 1, tval("ad")), &st, 10) &&
	       !may(pred(defs, S, OW_SCAN_EQ, 1, tval("paymentx")), &st, 10) &&
	       may(pred(defs, S, OW_SCAN_EQ, 1, tval("payment")), &st, 10),
	   "text = against [min, max] in BINARY order");
	ok(may(pred(defs, S, OW_SCAN_EQ, 1, ival(5)), &st, 10),
	   "a number against a text column prunes nothing");
	ok(may(pred(defs, S, OW_SCAN_LIKE, 1, tval("CHECK%")), &st, 10) &&
	       may(pred(defs, S, OW_SCAN_LIKE, 1, tval("Pay%")), &st, 10) &&
	       may(pred(defs, S, OW_SCAN_LIKE, 1, tval("f%")), &st, 10) &&
	       !may(pred(defs, S, OW_SCAN_LIKE, 1, tval("zz%")), &st, 10) &&
	       !may(pred(defs, S, OW_SCAN_LIKE, 1, tval("q%")), &st, 10) &&
	       !may(pred(defs, S, OW_SCAN_LIKE, 1, tval("a_c%")), &st, 10) &&
	       may(pred(defs, S, OW_SCAN_LIKE, 1, tval("%zz%")), &st, 10),
	   "LIKE prefixes in any ASCII case against [checkout, payment]");
	/* min "Zebra", max "apple": "B..." sorts before it, "b..." after */
	st = sstats("Zebra", "apple", 0);
	ok(!may(pred(defs, S, OW_SCAN_LIKE, 1, tval("b%")), &st, 10) &&
	       may(pred(defs, S, OW_SCAN_LIKE, 1, tval("AP%")), &st, 10) &&
	       may(pred(defs, S, OW_SCAN_LIKE, 1, tval("zE%")), &st, 10) &&
	       may(pred(defs, S, OW_SCAN_LIKE, 1, tval("_%")), &st, 10),
	   "LIKE: the first letter's two cases tried apart");
	st = sstats("abc", "abc", 0);
	ok(!may(pred(defs, S, OW_SCAN_NOT_LIKE, 1, tval("A%")), &st, 10) &&
	       may(pred(defs, S, OW_SCAN_NOT_LIKE, 1, tval("b%")), &st, 10),
	   "one value: NOT LIKE it rules the chunk out");
	/* INT32 columns: signed, UINT32 unsigned as they read */
	st = istats(-3, 5, 0, 4, b);
	ok(may(pred(defs, K, OW_SCAN_EQ, 1, ival(-1)), &st, 10) &&
	       !may(pred(defs, K, OW_SCAN_LT, 1, ival(-3)), &st, 10),
	   "INT32 bounds, signed");
	ow_put_u32(b, 7);
	ow_put_u32(b + 8, 0xfffffffe);
	st = (ow_pq_stats_t){1, b, b + 8, 4, 4, 0};
	ok(may(pred(defs, U, OW_SCAN_EQ, 1, ival(4294967294)), &st, 10) &&
	       !may(pred(defs, U, OW_SCAN_EQ, 1, ival(-2)), &st, 10),
	   "UINT32 bounds, unsigned");
	/* a derived value (an engine's expression over j): only NULLs prune */
	ow_scan_pred_t d = {.col = NCOLS + 1, .base = J, .op = OW_SCAN_EQ};
	d.vals = ow_calloc(1, sizeof(*d.vals));
	d.vals[d.nvals++] = tval("zzz");
	ow_scan_pred_ready(&d, &defs[J]);
	st = sstats("a", "b", 0);
	ok(ow_scan_stats_may(&d, &defs[J], &st, 10),
	   "a derived value: its column's bounds say nothing");
	st.null_count = 10;
	ok(!ow_scan_stats_may(&d, &defs[J], &st, 10),
	   "... its column NULL in every row: it is too");
	ow_scan_pred_free(&d);
}

static void test_ranges(void)
{
	const ow_pq_coldef_t *sd = ow_columns_schema(OW_LOGS);
	int tc = ow_columns_time_col(OW_LOGS);
	ow_scan_pred_t p[3];
	ow_search_part_t part = {.min_time = 1000, .max_time = 2000};
	p[0] = pred(sd, tc, OW_SCAN_GE, 1, ival(1500));
	p[1] = pred(sd, tc, OW_SCAN_LT, 1, ival(3000));
	ow_scan_t sc = {OW_LOGS, sd, p, 2};
	ok(ow_scan_part_may(&sc, &part) && !ow_scan_none(&sc), "[1500, 3000) meets [1000, 2000]");
	ow_scan_pred_free(&p[0]);
	p[0] = pred(sd, tc, OW_SCAN_GT, 1, ival(2000));
	ok(!ow_scan_part_may(&sc, &part), "> 2000 misses it");
	ow_scan_pred_free(&p[0]);
	p[0] = pred(sd, tc, OW_SCAN_LE, 1, ival(0));
	ok(ow_scan_part_may(&sc, &part), "<= 0: a logs part may hold records of time 0");
	sc.signal = OW_TRACES;
	sc.defs = ow_columns_schema(OW_TRACES);
	ow_scan_pred_free(&p[0]);
	ow_scan_pred_free(&p[1]);
	tc = ow_columns_time_col(OW_TRACES);
	p[0] = pred(sc.defs, tc, OW_SCAN_LE, 1, ival(0));
	sc.np = 1;
	ok(!ow_scan_part_may(&sc, &part), "... a spans part holds none");
	ow_scan_pred_free(&p[0]);
	p[0] = pred(sc.defs, tc, OW_SCAN_IN, 2, ival(10), ival(1200));
	ok(ow_scan_part_may(&sc, &part), "IN (10, 1200): one in the part");
	ow_scan_pred_free(&p[0]);
	p[0] = pred(sc.defs, tc, OW_SCAN_GT, 1, rval(5000.5));
	ok(ow_scan_part_may(&sc, &part), "a real bound does not narrow the catalog range");
	ow_scan_pred_free(&p[0]);
	p[0] = pred(sc.defs, tc, OW_SCAN_GT, 1, ival(50));
	p[1] = pred(sc.defs, tc, OW_SCAN_LT, 1, ival(40));
	sc.np = 2;
	ok(ow_scan_none(&sc) && !ow_scan_part_may(&sc, &part), "> 50 AND < 40: nothing matches");
	ow_scan_pred_free(&p[0]);
	ow_scan_pred_free(&p[1]);
	p[0] = pred(sc.defs, tc, OW_SCAN_GT, 1, ival(INT64_MAX));
	sc.np = 1;
	ok(ow_scan_none(&sc), "> INT64_MAX: nothing");
	ow_scan_pred_free(&p[0]);
	int tid = 0;
	while (strcmp(sc.defs[tid].name, "trace_id"))
		tid++;
	p[0] = pred(sc.defs, tid, OW_SCAN_EQ, 1, tval("XYZ"));
	ok(ow_scan_none(&sc), "= a trace id that is not lowercase hex: nothing");
	ow_scan_pred_free(&p[0]);
	p[0] = pred(sc.defs, tid, OW_SCAN_NE, 1, tval("XYZ"));
	ok(!ow_scan_none(&sc), "!= it: any id");
	ow_scan_pred_free(&p[0]);
	p[0] = pred(sc.defs, tc, OW_SCAN_EQ, 1, tval("1200"));
	part.min_time = 5000, part.max_time = 6000;
	ok(!ow_scan_none(&sc) && ow_scan_part_may(&sc, &part),
	   "= a time as text prunes no part (SQLite converts it)");
	ow_scan_pred_free(&p[0]);
}

/* ---- a file ---- */

enum { N = 20000, PAGE = 1000 };

static void id_of(size_t i, uint8_t id[16])
{
	for (int k = 0; k < 16; k++)
		id[k] = (uint8_t)((i * 2654435761u) >> (k % 4 * 8)) ^ (uint8_t)k;
}

static int write_file(const ow_table_t *t, ow_buf_t *img)
{
	char path[] = "/tmp/openwit-scan-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return OW_ERROR;
	unlink(path);
	ow_pq_opts_t o = {3, N / 2, NULL, 0, 0, PAGE};
	int rc = ow_pq_write(fd, t, NULL, &o, err, sizeof(err));
	off_t n = lseek(fd, 0, SEEK_END);
	ow_buf_reserve(img, (size_t)n + 1);
	if (rc == OW_OK && pread(fd, img->data, (size_t)n, 0) != n)
		rc = OW_ERROR;
	img->len = (size_t)n;
	close(fd);
	return rc;
}

typedef struct {
	const ow_scan_t *sc;
	int col, calls;
} pagearg_t;

static int page_may(void *arg, const ow_pq_stats_t *st, int64_t rows, size_t row0)
{
	(void)row0;
	pagearg_t *a = arg;
	a->calls++;
	return ow_scan_page_may(a->sc, a->col, st, rows) != 0;
}

/* The rows of row group rg that match p, read as a scan reads them (the
 * page filter, then the selection), against every row's value by
 * ow_scan_holds; the bytes of the pages read into *stored. */
static int check_select(ow_pq_file_t *f, int rg, ow_scan_pred_t *p, size_t *kept, int64_t *stored)
{
	ow_scan_t sc = {OW_TRACES, defs, p, 1};
	size_t rows = (size_t)ow_pq_row_group_rows(f, rg);
	uint8_t *sel = malloc(rows);
	memset(sel, 1, rows);
	ow_col_t o = {0}, full = {0};
	pagearg_t a = {&sc, p->col, 0};
	ow_pq_pagefilter_t pf = {page_may, &a, sel, NULL};
	*stored = 0;
	int bad = ow_pq_read_column_pf(f, rg, p->col, sel, &pf, &o, NULL, NULL, stored, err,
				       sizeof(err)) != OW_OK;
	*kept = ow_scan_select(p, &defs[p->col], &o, sel, rows);
	ow_pq_read_column(f, rg, p->col, &full, err, sizeof(err));
	char hex[OW_SEARCH_HEX_MAX];
	for (size_t r = 0, v = 0; r < rows && !bad; v += full.defs.data[r++]) {
		ow_search_val_t x = {.type = SQLITE_NULL};
		if (full.defs.data[r])
			ow_search_cell(&defs[p->col], &full, v, hex, &x);
		bad = ow_scan_holds(p, &x) != sel[r];
	}
	ow_col_free(&o);
	ow_col_free(&full);
	free(sel);
	return !bad;
}

static void test_file(void)
{
	ow_table_t t;
	ow_table_init(&t, defs, NCOLS);
	for (size_t i = 0; i < N; i++) {
		uint8_t id[16];
		char s[32];
		id_of(i, id);
		ow_col_i64(&t.cols[T], (int64_t)(1000 + i));
		ow_col_fixed(&t.cols[ID], id, 16);
		if (i % 5000 >= 4000) {
			ow_col_null(&t.cols[S]); /* pages of NULL in each quarter */
		} else {
			/* svc0, SVC1, svc2, SVC3: a service a quarter */
			int n =
			    snprintf(s, sizeof(s), "%s%zu", i / 5000 % 2 ? "SVC" : "svc", i / 5000);
			ow_col_bytes(&t.cols[S], s, (size_t)n);
		}
		ow_col_i32(&t.cols[K], (int32_t)(i % 7) - 3);
		ow_col_i32(&t.cols[U], (int32_t)i);
		ow_col_null(&t.cols[J]);
	}
	t.nrows = N;
	ow_buf_t img = {0};
	ow_pq_file_t *f = NULL;
	ok(write_file(&t, &img) == OW_OK &&
	       ow_pq_open(img.data, img.len, &f, err, sizeof(err)) == OW_OK,
	   "a file of 2 row groups of %d rows, pages of %d", N / 2, PAGE);
	if (!f)
		return;
	int colmap[NCOLS] = {T, ID, S, K, U, -1};
	ow_search_part_t part = {.pq = f, .colmap = colmap, .min_time = 1000, .max_time = 1000 + N};

	/* row groups: statistics, blooms, an absent column */
	ow_scan_pred_t p[2];
	ow_scan_t sc = {OW_TRACES, defs, p, 1};
	p[0] = pred(defs, T, OW_SCAN_GE, 1, ival(1000 + N / 2));
	ok(!ow_scan_rg_may(&sc, &part, 0) && ow_scan_rg_may(&sc, &part, 1),
	   "t >= the second row group's first: the first skipped by its statistics");
	ow_scan_pred_free(&p[0]);
	char hex[33];
	uint8_t id[16];
	id_of(1234, id);
	for (int k = 0; k < 16; k++)
		snprintf(hex + 2 * k, 3, "%02x", id[k]);
	p[0] = pred(defs, ID, OW_SCAN_EQ, 1, tval(hex));
	ok(p[0].nids == 1 && ow_scan_rg_may(&sc, &part, 0) && !ow_scan_rg_may(&sc, &part, 1),
	   "id = row 1234's: the bloom filter of the second row group has it not");
	ow_scan_pred_free(&p[0]);
	p[0] = pred(defs, J, OW_SCAN_EQ, 1, tval("x"));
	ok(!ow_scan_rg_may(&sc, &part, 0), "a column absent from the part: = prunes");
	ow_scan_pred_free(&p[0]);
	p[0] = pred(defs, J, OW_SCAN_NULL, 0);
	ok(ow_scan_rg_may(&sc, &part, 0), "... IS NULL does not");
	ow_scan_pred_free(&p[0]);
	p[0] = pred(defs, S, OW_SCAN_EQ, 1, tval("SVC1"));
	ok(!ow_scan_rg_may(&sc, &part, 1) && ow_scan_rg_may(&sc, &part, 0),
	   "s = 'SVC1': only the first row group");
	ow_scan_pred_free(&p[0]);
	p[0] = pred(defs, S, OW_SCAN_EQ, 1, ival(1));
	ok(ow_scan_rg_may(&sc, &part, 1), "s = 1 (SQLite converts it): no row group skipped");
	ow_scan_pred_free(&p[0]);

	/* pages and rows */
	ow_pq_chunk_t ci;
	size_t kept;
	int64_t stored;
	int good;
	ow_pq_chunk(f, 0, S, &ci);
	p[0] = pred(defs, S, OW_SCAN_EQ, 1, tval("SVC1"));
	good = check_select(f, 0, &p[0], &kept, &stored);
	ok(good && kept == 4000 && stored < ci.bytes / 2,
	   "s = 'SVC1': its 4000 rows, %lld of %lld bytes read", (long long)stored,
	   (long long)ci.bytes);
	ow_scan_pred_free(&p[0]);
	p[0] = pred(defs, S, OW_SCAN_LIKE, 1, tval("SVC0%"));
	good = check_select(f, 0, &p[0], &kept, &stored);
	ok(good && kept == 4000 && stored < ci.bytes / 2,
	   "s LIKE 'SVC0%%': the 4000 rows of svc0, %lld of %lld bytes", (long long)stored,
	   (long long)ci.bytes);
	ow_scan_pred_free(&p[0]);
	p[0] = pred(defs, S, OW_SCAN_NULL, 0);
	good = check_select(f, 0, &p[0], &kept, &stored);
	ok(good && kept == 2000 && stored < ci.bytes / 2,
	   "s IS NULL: the 2000 NULL rows, from the pages that have NULLs");
	ow_scan_pred_free(&p[0]);
	ow_pq_chunk(f, 1, T, &ci);
	p[0] = pred(defs, T, OW_SCAN_LT, 1, ival(1000 + N / 2 + 1500));
	good = check_select(f, 1, &p[0], &kept, &stored);
	ok(good && kept == 1500 && stored < ci.bytes / 3,
	   "t < ...: the first 1500 rows of the row group, from 2 of its 10 pages");
	ow_scan_pred_free(&p[0]);
	p[0] = pred(defs, T, OW_SCAN_GT, 1, rval(1000 + N / 2 + 1500.5));
	good = check_select(f, 1, &p[0], &kept, &stored);
	ok(good && kept == N / 2 - 1501, "t > a real: %zu rows", kept);
	ow_scan_pred_free(&p[0]);
	p[0] = pred(defs, K, OW_SCAN_IN, 2, ival(-3), ival(3));
	good = check_select(f, 0, &p[0], &kept, &stored);
	ok(good && kept > 2800 && kept < 2900, "k IN (-3, 3): %zu rows", kept);
	ow_scan_pred_free(&p[0]);
	p[0] = pred(defs, U, OW_SCAN_GE, 1, ival(9990));
	good = check_select(f, 0, &p[0], &kept, &stored);
	ok(good && kept == 10, "u >= 9990: 10 rows");
	ow_scan_pred_free(&p[0]);
	p[0] = pred(defs, ID, OW_SCAN_IN, 2, tval(hex), tval("nothex"));
	good = check_select(f, 0, &p[0], &kept, &stored);
	ok(good && kept == 1, "id IN (row 1234's, text): 1 row");
	ow_scan_pred_free(&p[0]);
	p[0] = pred(defs, ID, OW_SCAN_NE, 1, tval(hex));
	good = check_select(f, 0, &p[0], &kept, &stored);
	ok(good && kept == N / 2 - 1, "id != it: the others");
	ow_scan_pred_free(&p[0]);
	ok(ow_scan_select(&(ow_scan_pred_t){.col = J, .base = J, .op = OW_SCAN_NOT_NULL}, &defs[J],
			  NULL, (uint8_t[4]){1, 1, 1, 1}, 4) == 0,
	   "a column read as NULL: IS NOT NULL selects nothing");

	/* every row of a page passing: ow_scan_page_may's 2 */
	ow_pq_stats_t st;
	p[0] = pred(defs, T, OW_SCAN_GE, 1, ival(1000));
	p[1] = pred(defs, T, OW_SCAN_LT, 1, ival(1000 + N));
	sc.np = 2;
	ow_pq_stats(f, 0, T, &st);
	is_int(ow_scan_page_may(&sc, T, &st, N / 2), 2, "a range over the whole row group: 2");
	ow_scan_pred_free(&p[1]);
	p[1] = pred(defs, T, OW_SCAN_LT, 1, ival(1001));
	is_int(ow_scan_page_may(&sc, T, &st, N / 2), 1, "a range over part of it: 1");
	is_int(ow_scan_page_may(&sc, S, &st, N / 2), 1, "no predicate on the column: 1");
	ow_scan_pred_free(&p[0]);
	ow_scan_pred_free(&p[1]);
	ow_pq_close(f);
	ow_buf_free(&img);
	ow_table_free(&t);
}

int main(void)
{
	test_values();
	test_ready();
	test_stats();
	test_ranges();
	test_file();
	return done_testing();
}

/* The query answer's numbers (modules/search/output.c): integers of every
 * size and sign in JSON and CSV as printf's %lld writes them, reals as
 * ow_dtoa with ".0" on whole ones, infinities as JSON can hold them. */
#include "../lib/tap.h"
#include "modules/search/search.h"
#include "modules/search/internal.h"

#include <inttypes.h>
#include <math.h>

static void answer(int format, const ow_search_val_t *v, ow_buf_t *out)
{
	const char *names[] = {"x"};
	ow_search_out_t o;
	out->len = 0;
	ow_search_out_begin(&o, format, 1, names, out);
	ow_search_out_row(&o, v);
	ow_search_out_end(&o);
	ow_buf_add(out, "", 1);
}

/* Whether the answer in format is want; the first one that is not kept. */
static int check(int format, const ow_search_val_t *v, const char *want, char *first, size_t n)
{
	ow_buf_t out = {0};
	answer(format, v, &out);
	int same = strcmp((char *)out.data, want) == 0;
	if (!same && !first[0])
		snprintf(first, n, "%s, want %s", (char *)out.data, want);
	ow_buf_free(&out);
	return same;
}

int main(void)
{
	static const int64_t ints[] = {0,
				       1,
				       -1,
				       9,
				       10,
				       -10,
				       123456789,
				       INT32_MIN,
				       INT64_MAX,
				       INT64_MIN,
				       INT64_MIN + 1,
				       1735689600000000000};
	ow_buf_t out = {0};
	int bad = 0;
	char first[200] = "";
	for (int k = 0; k < 2000; k++) {
		int64_t i = k < (int)(sizeof(ints) / sizeof(ints[0]))
				? ints[k]
				: (int64_t)(tap_rand() >> (tap_rand() % 64)) * (k % 2 ? -1 : 1);
		ow_search_val_t v = {.type = SQLITE_INTEGER, .i = i};
		char want[64];
		snprintf(want, sizeof(want), "{\"x\":%" PRId64 "}\n", i);
		bad += !check(OW_SEARCH_NDJSON, &v, want, first, sizeof(first));
		snprintf(want, sizeof(want), "x\n%" PRId64 "\n", i);
		bad += !check(OW_SEARCH_CSV, &v, want, first, sizeof(first));
	}
	ok(!bad,
	   "2000 integers (both ends, signs, widths) in JSON and CSV as %%lld writes them "
	   "(%d differ: %s)",
	   bad, first);
	ow_search_val_t r = {.type = SQLITE_FLOAT, .d = 2.5};
	answer(OW_SEARCH_NDJSON, &r, &out);
	is_str((char *)out.data, "{\"x\":2.5}\n", "a real");
	r.d = 3;
	answer(OW_SEARCH_NDJSON, &r, &out);
	is_str((char *)out.data, "{\"x\":3.0}\n", "a whole real keeps its point");
	r.d = -INFINITY;
	answer(OW_SEARCH_NDJSON, &r, &out);
	is_str((char *)out.data, "{\"x\":-9e999}\n", "an infinity as JSON can hold it");
	ow_buf_free(&out);
	return done_testing();
}

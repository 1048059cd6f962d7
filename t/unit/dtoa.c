/* ow_dtoa: the fewest of 15, 16 or 17 digits that read back, written as
 * printf's %g writes them, against printf itself over doubles of every
 * kind (random bits, short decimals, integers, ties, tiny and huge). */
#include "../lib/tap.h"
#include "modules/core/core.h"

#include <math.h>

/* what ow_dtoa answers, by printf and strtod alone */
static int reference(double v, char *buf, size_t len)
{
	for (int prec = 15; prec <= 16; prec++) {
		int n = snprintf(buf, len, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return n;
	}
	return snprintf(buf, len, "%.17g", v);
}

static int same(double v, char *first, size_t n)
{
	char a[64], b[64];
	int na = ow_dtoa(v, a, sizeof(a)), nb = reference(v, b, sizeof(b));
	if (na == nb && strcmp(a, b) == 0)
		return 1;
	if (!first[0])
		snprintf(first, n, "%a: %s, printf %s", v, a, b);
	return 0;
}

int main(void)
{
	char first[200] = "";
	int bad = 0, n = 0;
	for (int i = 0; i < 100000; i++) {
		uint64_t bits = tap_rand();
		double v;
		memcpy(&v, &bits, 8);
		if (!isfinite(v))
			continue;
		bad += !same(v, first, sizeof(first)), n++;
	}
	ok(!bad, "%d doubles of random bits as printf writes them (%d differ: %s)", n, bad, first);
	bad = 0;
	for (int i = 0; i < 100000; i++) {
		/* a few digits at a scale: 0.1, 123.45, 2.5e-07, 1e+22 */
		double m = (double)(tap_rand() % 100000), s = pow(10, (int)(tap_rand() % 60) - 30);
		double v = (i & 1 ? -1 : 1) * m * s;
		bad += !same(v, first, sizeof(first));
		bad += !same(v / 3, first, sizeof(first));
		bad += !same(nextafter(v, INFINITY), first, sizeof(first));
	}
	ok(!bad, "short decimals, their thirds and neighbours (%d differ: %s)", bad, first);
	bad = 0;
	/* the edges of %g's forms, carries to a new digit, zeros, extremes */
	static const double edge[] = {0.0,
				      -0.0,
				      1.0,
				      9.5,
				      99.99999999999999,
				      1e-4,
				      9.999999999999999e-5,
				      1e-5,
				      1e15,
				      1e16,
				      1e17,
				      123456789012345678.0,
				      0.1,
				      0.2,
				      0.3,
				      5e-324,
				      2.2250738585072014e-308,
				      1.7976931348623157e308,
				      1e100,
				      1e-100,
				      9007199254740993.0,
				      4.35,
				      0.15,
				      2.675};
	for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++) {
		bad += !same(edge[i], first, sizeof(first));
		bad += !same(nextafter(edge[i], 0), first, sizeof(first));
		bad += !same(nextafter(edge[i], INFINITY), first, sizeof(first));
	}
	ok(!bad, "edges: zeros, exponent switches, carries, subnormals, extremes (%d differ: %s)",
	   bad, first);
	for (int i = 0; i < 200000; i++) {
		/* integers up to 2^53, and 17-digit ones */
		double v = (double)(tap_rand() >> (tap_rand() % 64));
		bad += !same(v, first, sizeof(first));
	}
	ok(!bad, "integers of every size (%d differ: %s)", bad, first);
	char small[8], whole[64];
	int len = ow_dtoa(0.1 / 3, small, sizeof(small));
	ok(len == reference(0.1 / 3, whole, sizeof(whole)) && strncmp(small, whole, 7) == 0 &&
	       !small[7],
	   "a short buffer: cut and terminated, the whole length returned (%d, %s)", len, small);
	return done_testing();
}

/* ow_search_quantile: the value of rank ceil(q * n) in ascending order
 * (modules/search/funcs.c), against a sort, over integers and reals in
 * orders a selection can stumble on: random, many equal, sorted, reversed,
 * all the same, organ pipe; small and past the sampling bound (600). */
#include "../lib/tap.h"
#include "modules/search/search.h"
#include "modules/search/internal.h"

#include <math.h>

static int cmp_i(const void *a, const void *b)
{
	int64_t x = ((const ow_search_num_t *)a)->i, y = ((const ow_search_num_t *)b)->i;
	return (x > y) - (x < y);
}

static int cmp_d(const void *a, const void *b)
{
	double x = ((const ow_search_num_t *)a)->d, y = ((const ow_search_num_t *)b)->d;
	return (x > y) - (x < y);
}

int main(void)
{
	static const size_t sizes[] = {1, 2, 3, 7, 100, 601, 1000, 5000, 65536, 200003};
	static const double qs[] = {0, 0.01, 0.5, 0.9, 0.99, 0.999, 1};
	int bad = 0, runs = 0;
	char first[200] = "";
	for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
		size_t n = sizes[si];
		ow_search_num_t *v = malloc(n * sizeof(*v)), *w = malloc(n * sizeof(*v));
		for (int shape = 0; shape < 6; shape++) {
			for (int real = 0; real < 2; real++) {
				for (size_t i = 0; i < n; i++) {
					int64_t x = shape == 0	 ? (int64_t)(tap_rand() >> 1)
						    : shape == 1 ? (int64_t)(tap_rand() % 7)
						    : shape == 2 ? (int64_t)i
						    : shape == 3 ? (int64_t)(n - i)
						    : shape == 4 ? 42
								 : (int64_t)(i < n / 2 ? i : n - i);
					if (real)
						v[i].d = (double)x / 3;
					else
						v[i].i = x - (shape == 0 ? INT64_MAX / 2 : 0);
				}
				memcpy(w, v, n * sizeof(*v));
				qsort(w, n, sizeof(*w), real ? cmp_d : cmp_i);
				for (size_t qi = 0; qi < sizeof(qs) / sizeof(qs[0]); qi++) {
					ow_search_num_t *u = malloc(n * sizeof(*u));
					memcpy(u, v, n * sizeof(*v));
					ow_search_num_t got =
					    ow_search_quantile(u, n, real, qs[qi]);
					double rank = ceil(qs[qi] * (double)n);
					size_t k = rank < 1 ? 0 : (size_t)rank - 1;
					k = k < n ? k : n - 1;
					int same = real ? got.d == w[k].d : got.i == w[k].i;
					if (!same && !first[0])
						snprintf(first, sizeof(first),
							 "n %zu shape %d real %d q %g", n, shape,
							 real, qs[qi]);
					bad += !same;
					runs++;
					free(u);
				}
			}
		}
		free(v);
		free(w);
	}
	ok(!bad, "%d quantiles equal the sorted values' (%d differ: %s)", runs, bad, first);
	return done_testing();
}

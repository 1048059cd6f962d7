/* promcache: the PromQL series cache (modules/prom/cache.c) - pieces
 * found by (part, key) and by nothing else, least recently used out first
 * past its size, a piece larger than the whole never kept, an evicted
 * piece still readable until its reader releases it, a part's pieces gone
 * with the part, a lowered limit evicting down to it, the /metrics
 * counters; and threads getting, putting and releasing while others drop
 * parts and clear (run it under ASan: `make asan`). */
#include "../lib/stats.h"
#include "../lib/tap.h"
#include "modules/prom/prom.h"

#include <pthread.h>
#include <stdatomic.h>

/* A piece of n series of k points each, its values from base. */
static ow_prom_piece_t piece(int n, int k, double base)
{
	ow_prom_piece_t p = {0};
	p.series = calloc((size_t)n, sizeof(ow_pq_series_t));
	p.delta = calloc((size_t)n, 1);
	p.n = (size_t)n;
	p.bytes = 256;
	for (int i = 0; i < n; i++) {
		char v[32];
		snprintf(v, sizeof(v), "%d", i);
		ow_pq_label_set(&p.series[i].labels, "i", v);
		for (int j = 0; j < k; j++)
			ow_pq_series_add(&p.series[i], 1000 * j, base + i * 100 + j);
		p.bytes += (size_t)k * sizeof(ow_pq_point_t) + 64;
	}
	return p;
}

/* A value of the cache's /metrics text. */
static long long stat(const char *name)
{
	return stats_value(ow_prom_cache_stats, name);
}

/* ---- the stress: readers check every piece they hold ---- */

#define NPARTS 8
static ow_partref_t stress_parts[NPARTS];
static atomic_int stop_flag, bad, reads;

static void *reader(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	while (!atomic_load(&stop_flag)) {
		int pi = (int)(rand_r(&seed) % NPARTS), ki = (int)(rand_r(&seed) % 6);
		char key[16];
		snprintf(key, sizeof(key), "m:%d", ki);
		const ow_prom_piece_t *g = ow_prom_cache_get(&stress_parts[pi], key);
		if (!g) {
			ow_prom_piece_t p = piece(2, 8, pi * 10 + ki);
			g = ow_prom_cache_put(&stress_parts[pi], key, &p);
		}
		/* whoever decoded it, its values are (part, key)'s */
		if (g->n != 2 || g->series[1].pts[7].v != pi * 10 + ki + 107)
			atomic_fetch_add(&bad, 1);
		atomic_fetch_add(&reads, 1);
		ow_prom_cache_release(g);
	}
	return NULL;
}

static void *dropper(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	for (int i = 0; !atomic_load(&stop_flag); i++) {
		if (i % 50 == 49)
			ow_prom_cache_clear();
		else if (i % 20 == 19)
			ow_prom_cache_limit(rand_r(&seed) % 2 ? 4000 : 1 << 20);
		else
			ow_prom_cache_gone(&stress_parts[rand_r(&seed) % NPARTS]);
		sched_yield();
	}
	return NULL;
}

static void stress(void)
{
	ow_prom_cache_clear();
	ow_prom_cache_limit(1 << 20);
	pthread_t t[6];
	for (int i = 0; i < 6; i++)
		pthread_create(&t[i], NULL, i < 4 ? reader : dropper, (void *)(uintptr_t)(i + 1));
	struct timespec ms = {0, 300 * 1000000};
	nanosleep(&ms, NULL);
	atomic_store(&stop_flag, 1);
	for (int i = 0; i < 6; i++)
		pthread_join(t[i], NULL);
	ok(atomic_load(&reads) > 100, "threads: pieces read while parts went (%d reads)",
	   atomic_load(&reads));
	is_int(atomic_load(&bad), 0, "every piece read held its own (part, key)'s values");
	ow_prom_cache_clear();
	is_int(stat("openwit_prom_cache_entries"), 0, "cleared: no entry");
	is_int(stat("openwit_prom_cache_bytes"), 0, "cleared: no byte");
}

int main(void)
{
	/* two parts: their addresses are their identity */
	ow_partref_t *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	ow_prom_piece_t p1 = piece(3, 10, 0);
	size_t one = p1.bytes;
	ow_prom_cache_limit((int64_t)(2 * one + one / 2)); /* two pieces fit, not three */

	ok(ow_prom_cache_get(a, "m:x") == NULL, "an empty cache finds nothing");
	is_int(stat("openwit_prom_cache_misses_total"), 1, "a miss counted");
	const ow_prom_piece_t *g = ow_prom_cache_put(a, "m:x", &p1);
	ok(g && g->n == 3 && g->series[2].pts[9].v == 209, "put: the piece held, its values");
	ok(p1.series == NULL, "put took the piece (the caller's emptied)");
	ow_prom_cache_release(g);
	g = ow_prom_cache_get(a, "m:x");
	ok(g && g->series[1].pts[0].v == 100, "get (a, m:x): the piece put");
	ow_prom_cache_release(g);
	is_int(stat("openwit_prom_cache_hits_total"), 1, "a hit counted");
	ok(ow_prom_cache_get(b, "m:x") == NULL, "the same key of another part: nothing");
	ok(ow_prom_cache_get(a, "m:y") == NULL, "another key of the part: nothing");

	/* a second put of a key another thread put first: the first kept */
	ow_prom_piece_t dup = piece(3, 10, 5000);
	g = ow_prom_cache_put(a, "m:x", &dup);
	ok(g->series[0].pts[0].v == 0,
	   "a key put twice: the first piece answers, the second freed");
	ow_prom_cache_release(g);
	is_int(stat("openwit_prom_cache_entries"), 1, "one entry");
	is_int(stat("openwit_prom_cache_bytes"), (long long)one, "its bytes counted");

	/* LRU: a, then b's, then a touched, then a third: b's goes */
	ow_prom_piece_t p2 = piece(3, 10, 1000);
	ow_prom_cache_release(ow_prom_cache_put(b, "m:x", &p2));
	ow_prom_cache_release(ow_prom_cache_get(a, "m:x")); /* a is the newest now */
	ow_prom_piece_t p3 = piece(3, 10, 2000);
	ow_prom_cache_release(ow_prom_cache_put(a, "m:z", &p3));
	is_int(stat("openwit_prom_cache_evictions_total"), 1, "past the size: one evicted");
	ok(stat("openwit_prom_cache_bytes") <= (long long)(2 * one + one / 2),
	   "the bytes held within prom.cache_bytes");
	const ow_prom_piece_t *ga = ow_prom_cache_get(a, "m:x"), *gb = ow_prom_cache_get(b, "m:x"),
			      *gz = ow_prom_cache_get(a, "m:z");
	ok(ga && gz && !gb, "the least recently used (b's) went, the touched one stayed");
	ok(gz->series[0].pts[0].v == 2000, "the newest's values");

	/* an evicted piece a reader holds stays readable until released */
	ow_prom_piece_t p4 = piece(3, 10, 3000);
	ow_prom_cache_release(ow_prom_cache_put(b, "m:w", &p4)); /* evicts a's m:x */
	ok(ow_prom_cache_get(a, "m:x") == NULL, "a's m:x evicted");
	ok(ga->series[2].pts[9].v == 209, "its reader still reads it (freed at its release)");
	ow_prom_cache_release(ga);
	ow_prom_cache_release(gz);

	/* a piece larger than the cache: used, never kept */
	ow_prom_piece_t big = piece(40, 10, 0);
	long long before = stat("openwit_prom_cache_entries");
	g = ow_prom_cache_put(a, "m:big", &big);
	ok(g && g->n == 40, "a piece over prom.cache_bytes is handed back");
	is_int(stat("openwit_prom_cache_entries"), before, "and not kept (nothing evicted for it)");
	ow_prom_cache_release(g);
	ok(ow_prom_cache_get(a, "m:big") == NULL, "not found later");

	/* no part (the command line): never kept */
	ow_prom_piece_t free1 = piece(1, 1, 0);
	g = ow_prom_cache_put(NULL, "m:x", &free1);
	ok(g && g->n == 1, "no part: handed back");
	ow_prom_cache_release(g);

	/* a part's pieces go with it, the other part's stay */
	ok((g = ow_prom_cache_get(a, "m:z")) != NULL, "a's m:z is there");
	ow_prom_cache_release(g);
	ow_prom_cache_gone(a);
	ok(ow_prom_cache_get(a, "m:z") == NULL, "part a gone: its pieces too");
	ok((g = ow_prom_cache_get(b, "m:w")) != NULL, "part b's stay");
	ow_prom_cache_release(g);
	is_int(stat("openwit_prom_cache_entries"), 1, "one entry left");

	/* a lowered limit evicts down to it */
	ow_prom_piece_t p6 = piece(3, 10, 0);
	ow_prom_cache_release(ow_prom_cache_put(a, "m:v", &p6));
	is_int(stat("openwit_prom_cache_entries"), 2, "two entries");
	ow_prom_cache_limit((int64_t)(one + one / 2));
	is_int(stat("openwit_prom_cache_entries"), 1, "the limit lowered to one piece: one left");
	ok((g = ow_prom_cache_get(a, "m:v")) != NULL, "the newest stayed");
	ow_prom_cache_release(g);
	ok(stat("openwit_prom_cache_bytes") <= (long long)(one + one / 2), "within the new limit");

	/* a limit of 0 keeps nothing */
	ow_prom_cache_clear();
	ow_prom_cache_limit(0);
	ow_prom_piece_t p5 = piece(1, 1, 0);
	ow_prom_cache_release(ow_prom_cache_put(a, "m:x", &p5));
	ok(ow_prom_cache_get(a, "m:x") == NULL, "prom.cache_bytes 0: nothing kept");
	is_int(stat("openwit_prom_cache_bytes"), 0, "nothing held");
	free(a);
	free(b);
	stress();
	return done_testing();
}

/* promrcache: the query_range result cache (modules/prom/rcache.c) - the
 * points at a request's aligned times and no others; a change of the
 * tenant's rows cutting its entries at the change's time plus the least
 * offset (a negative one earlier); another tenant's change cutting
 * nothing, a change of any tenant (storage's NULL) cutting all; a change
 * between a query's sequence and its store cutting what it stores (the
 * ring), a store older than the ring kept not at all and an entry the
 * ring passed since it was read dropped (both counted); an expression
 * of no selector never cut; the merge of cached and new series in label
 * order; the bound (least recently used out, a larger entry never kept);
 * the /metrics counters. */
#include "../lib/stats.h"
#include "../lib/tap.h"
#include "modules/prom/prom.h"

#define STEP 10000
#define RING_CHANGES 4096 /* rcache.c's RING */

/* n series (label i) with a point at every step in [first, last]. */
static ow_prom_result_t result(int n, int64_t first, int64_t last)
{
	ow_prom_result_t r = {calloc((size_t)n, sizeof(ow_pq_series_t)), (size_t)n};
	for (int i = 0; i < n; i++) {
		char v[32];
		snprintf(v, sizeof(v), "%d", i);
		ow_pq_label_set(&r.series[i].labels, "i", v);
		for (int64_t t = first; t <= last; t += STEP)
			ow_pq_series_add(&r.series[i], t, (double)(i * 1000000 + t / STEP));
	}
	return r;
}

/* A value of the cache's /metrics text. */
static long long stat(const char *name)
{
	return stats_value(ow_prom_rcache_stats, name);
}

/* The last time key's entry answers of [start, end] (start - STEP: none),
 * and the points it gives. */
static int64_t upto(const char *key, int64_t start, int64_t end, size_t *points)
{
	ow_prom_result_t r;
	int64_t u;
	ow_prom_rcache_get(key, start, end, STEP, &r, &u);
	*points = 0;
	for (size_t i = 0; i < r.n; i++)
		*points += r.series[i].n;
	ow_prom_result_free(&r);
	return u;
}

int main(void)
{
	size_t pts;
	ow_prom_rcache_limit(1 << 20);
	ok(ow_prom_rcache_keeps(), "a limit keeps");

	/* 1. the points at the request's times */
	ow_prom_result_t r = result(3, 0, 100 * STEP);
	ow_prom_rcache_put("k1", "a", 1, 0, ow_prom_rcache_seq(), 0, 100 * STEP, &r);
	is_int(upto("k1", 0, 100 * STEP, &pts), 100 * STEP, "the whole span");
	is_int(pts, 3 * 101, "every point");
	is_int(upto("k1", 20 * STEP, 50 * STEP, &pts), 50 * STEP, "a span inside: up to its end");
	is_int(pts, 3 * 31, "its points alone");
	is_int(upto("k1", 20 * STEP, 150 * STEP, &pts), 100 * STEP,
	       "a span past the entry: up to the entry's end");
	is_int(upto("k1", -10 * STEP, 50 * STEP, &pts), -11 * STEP,
	       "a span starting before the entry: none");
	is_int(upto("k2", 0, 50 * STEP, &pts), -STEP, "another key: none");

	/* 2. changes of the tenant's rows */
	ow_prom_rcache_changed("b", 10 * STEP * 1000000LL);
	is_int(upto("k1", 0, 100 * STEP, &pts), 100 * STEP, "another tenant's change cuts nothing");
	ow_prom_rcache_changed("a", (60 * STEP + 1) * 1000000LL);
	is_int(upto("k1", 0, 100 * STEP, &pts), 60 * STEP,
	       "a change at 60 steps and 1 ms: steps up to 60 stay");
	ow_prom_rcache_changed("a", 40 * STEP * 1000000LL);
	is_int(upto("k1", 0, 100 * STEP, &pts), 39 * STEP,
	       "a change at step 40: steps up to 39 stay");
	ow_prom_rcache_changed("a", 90 * STEP * 1000000LL);
	is_int(upto("k1", 0, 100 * STEP, &pts), 39 * STEP, "a later change moves nothing back");
	is_int(stat("openwit_prom_result_cache_trims_total"), 2, "two trims counted");

	/* 3. offsets: a value at t reads samples up to t - min_offset */
	r = result(1, 0, 100 * STEP);
	ow_prom_rcache_put("neg", "a", 1, -5 * STEP, ow_prom_rcache_seq(), 0, 100 * STEP, &r);
	r = result(1, 0, 100 * STEP);
	ow_prom_rcache_put("pos", "a", 1, 5 * STEP, ow_prom_rcache_seq(), 0, 100 * STEP, &r);
	r = result(1, 0, 100 * STEP);
	ow_prom_rcache_put("time", "a", 0, 0, ow_prom_rcache_seq(), 0, 100 * STEP, &r);
	ow_prom_rcache_changed("a", 50 * STEP * 1000000LL);
	is_int(upto("neg", 0, 100 * STEP, &pts), 44 * STEP, "offset -5 steps: cut 5 steps earlier");
	is_int(upto("pos", 0, 100 * STEP, &pts), 54 * STEP, "offset 5 steps: cut 5 steps later");
	is_int(upto("time", 0, 100 * STEP, &pts), 100 * STEP, "no selector: never cut");
	ow_prom_rcache_changed("a", 2 * STEP * 1000000LL);
	is_int(upto("neg", 0, 100 * STEP, &pts), -STEP,
	       "cut before its first step: the entry goes");
	ow_prom_rcache_changed(NULL, INT64_MIN);
	is_int(upto("pos", 0, 100 * STEP, &pts), -STEP, "a change of any tenant at any time: gone");
	is_int(upto("time", 0, 100 * STEP, &pts), 100 * STEP,
	       "but for an expression of no selector");

	/* 4. a change between a query's sequence and its store */
	uint64_t seq = ow_prom_rcache_seq();
	ow_prom_rcache_changed("c", 30 * STEP * 1000000LL);
	r = result(2, 0, 100 * STEP);
	ow_prom_rcache_put("late", "c", 1, 0, seq, 0, 100 * STEP, &r);
	is_int(upto("late", 0, 100 * STEP, &pts), 29 * STEP,
	       "a change after the query's sequence cuts what it stores");
	seq = ow_prom_rcache_seq();
	for (int i = 0; i < 5000; i++)
		ow_prom_rcache_changed("d", 99 * STEP * 1000000LL);
	r = result(2, 0, 100 * STEP);
	ow_prom_rcache_put("old", "c", 1, 0, seq, 0, 100 * STEP, &r);
	is_int(upto("old", 0, 100 * STEP, &pts), -STEP,
	       "a store older than the ring of changes: not kept");
	is_int(stat("openwit_prom_result_cache_overflows_total"), 1, "the overflow counted");
	r = result(2, 0, 100 * STEP);
	ow_prom_rcache_put("idle", "c", 1, 0, ow_prom_rcache_seq(), 0, 100 * STEP, &r);
	r = result(1, 0, 100 * STEP);
	ow_prom_rcache_put("idle0", "c", 0, 0, ow_prom_rcache_seq(), 0, 100 * STEP, &r);
	for (int i = 0; i < RING_CHANGES; i++)
		ow_prom_rcache_changed("d", 99 * STEP * 1000000LL);
	is_int(upto("idle", 0, 100 * STEP, &pts), 100 * STEP,
	       "an entry read after as many changes as the ring holds: all of it");
	ow_prom_rcache_changed("d", 99 * STEP * 1000000LL);
	for (int i = 0; i < RING_CHANGES; i++)
		ow_prom_rcache_changed("d", 99 * STEP * 1000000LL);
	is_int(upto("idle", 0, 100 * STEP, &pts), -STEP,
	       "an entry the ring passed since it was last read: dropped");
	is_int(stat("openwit_prom_result_cache_overflows_total"), 2, "counted");
	is_int(upto("idle0", 0, 100 * STEP, &pts), 100 * STEP,
	       "but one of no selector, which no change cuts");

	/* 5. the merge: label order, the head's points before the tail's */
	ow_prom_result_t head = result(2, 0, 4 * STEP), tail = result(3, 5 * STEP, 9 * STEP), m;
	ow_pq_labels_free(&tail.series[0].labels); /* tail: i=9, 1, 2 -> sorted 1, 2, 9 */
	memset(&tail.series[0].labels, 0, sizeof(ow_pq_labels_t));
	ow_pq_label_set(&tail.series[0].labels, "i", "9");
	ow_pq_series_t s0 = tail.series[0];
	memmove(tail.series, tail.series + 1, 2 * sizeof(ow_pq_series_t));
	tail.series[2] = s0;
	ow_prom_result_merge(&head, &tail, &m);
	is_int(m.n, 4, "merged: 4 series (0, 1, 2, 9)");
	is_str(ow_pq_label_get(&m.series[1].labels, "i"), "1", "in label order");
	is_int(m.series[1].n, 10, "series 1: the head's 5 points and the tail's 5");
	ok(m.series[1].pts[4].t == 4 * STEP && m.series[1].pts[5].t == 5 * STEP, "in time order");
	is_int(m.series[0].n, 5, "series 0: the head's alone");
	is_str(ow_pq_label_get(&m.series[3].labels, "i"), "9", "series 9 last");
	ow_prom_result_free(&m);

	/* 6. the bound */
	ow_prom_rcache_clear();
	is_int(stat("openwit_prom_result_cache_entries"), 0, "cleared");
	r = result(1, 0, 300 * STEP);
	ow_prom_rcache_limit(3000);
	ow_prom_rcache_put("big", "a", 1, 0, ow_prom_rcache_seq(), 0, 300 * STEP, &r);
	is_int(stat("openwit_prom_result_cache_entries"), 0,
	       "an entry larger than the whole: not kept");
	for (int i = 0; i < 10; i++) {
		char key[16];
		snprintf(key, sizeof(key), "s%d", i);
		r = result(1, 0, 10 * STEP);
		ow_prom_rcache_put(key, "a", 1, 0, ow_prom_rcache_seq(), 0, 10 * STEP, &r);
		if (i == 0) /* s0 used since: s1 goes first */
			continue;
		upto("s0", 0, 10 * STEP, &pts);
	}
	ok(stat("openwit_prom_result_cache_bytes") <= 3000, "within the bound (%lld bytes)",
	   stat("openwit_prom_result_cache_bytes"));
	ok(stat("openwit_prom_result_cache_evictions_total") > 0, "evictions counted");
	is_int(upto("s0", 0, 10 * STEP, &pts), 10 * STEP, "the one used most recently stays");
	is_int(upto("s1", 0, 10 * STEP, &pts), -STEP, "the least recently used went");
	is_int(upto("s9", 0, 10 * STEP, &pts), 10 * STEP, "the newest stays");
	ow_prom_rcache_count(OW_PROM_RC_HIT);
	ow_prom_rcache_count(OW_PROM_RC_PARTIAL);
	ow_prom_rcache_count(OW_PROM_RC_PARTIAL);
	is_int(stat("openwit_prom_result_cache_partial_total"), 2, "partial counted");
	ow_prom_rcache_limit(0);
	ok(!ow_prom_rcache_keeps(), "limit 0 keeps nothing");
	is_int(stat("openwit_prom_result_cache_entries"), 0, "and evicts all");
	return done_testing();
}

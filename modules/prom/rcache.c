/*
 * rcache.c - query_range results kept between requests, as
 * VictoriaMetrics' rollup result cache: an entry per (tenant, query text,
 * step, start modulo step) holds the answer's series at the step-aligned
 * times [first, last]. A request takes the points at its own aligned
 * times from the entry and evaluates only the times past them (prom.c),
 * then stores the merged answer in place of the entry.
 *
 * Rules (the answer is never stale: byte for byte the evaluation's):
 *  - A value at t depends on the samples at or before t - min_offset
 *    (ow_pq_depends). Every change to a tenant's metrics rows - a batch
 *    published into the buffer or replayed from the WAL, a Kafka
 *    message's rows taken out, a part dropped by retention (storage's
 *    change hook) - with its least sample time m lowers the tenant's
 *    entries' bound to m + min_offset: points at or past it are never
 *    answered again. A merge changes no row and nothing here.
 *  - The loop only records a change, in O(1) and without a lock: its
 *    number (seq) and (tenant, m) in a ring of the last RING, each slot a
 *    seqlock. An entry keeps the number of the last change it applied and
 *    applies the ring's later ones when it is read (get) or stored (put,
 *    from the query's sequence, read on the loop before its snapshot, so
 *    every change its snapshot missed comes after). An entry the ring has
 *    passed (more than RING changes since) is dropped at its next read,
 *    one whose query saw more than RING is not stored (_overflows_total).
 *  - Results that depend on the span's start are never stored: a delta
 *    series summed from the span's start (prom.c checks the store).
 *  - At most prom.result_cache_bytes (0: nothing is kept); past it the
 *    least recently used entries go. One mutex, for the table, the list
 *    and an entry's bound, held by query threads for O(1) work: an
 *    entry's points never change once stored and it is reference
 *    counted, so a reader copies them, and a store builds them, outside
 *    it. The loop takes it only to change the limit and reads the
 *    counters without it.
 *  - /metrics: openwit_prom_result_cache_bytes, _entries, _hits_total,
 *    _partial_total, _misses_total, _evictions_total, _trims_total,
 *    _overflows_total.
 */
#include "prom.h"
#include "../core/lru.h"

#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>

#define NBUCKETS 1024
#define RING 4096

typedef struct rentry {
	char *key, *tenant;
	uint64_t thash;
	int dep;
	int64_t min_offset, first, last;
	ow_prom_result_t r; /* never changed once stored */
	size_t bytes;
	atomic_int refs; /* the table's and each reader's */
	/* under mu */
	int linked;
	int64_t below;	  /* points at t >= below are not answered */
	uint64_t applied; /* the changes up to this one are in below */
	ow_lru_node_t lru;
	struct rentry *hnext; /* the key table's chain; the freed list */
} rentry_t;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static rentry_t *buckets[NBUCKETS];
static ow_lru_t lru;
#define OLDEST OW_LRU_ENTRY(lru.oldest, rentry_t, lru) /* when lru.oldest */
static _Atomic int64_t limit, used;
/* written under mu (counts: by any thread), read by /metrics without it */
static _Atomic uint64_t nentries, counts[4], evictions, trims, overflows;
/* the changes: seq the last one's number, ring the last RING of them
 * (written by the loop alone; thash 0: any tenant's) */
static _Atomic uint64_t seq;
static struct {
	_Atomic uint64_t seq, thash;
	_Atomic int64_t m;
} ring[RING];

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ULL;
	return h;
}

/* A tenant's hash in the ring: never 0, which is any tenant's. */
static uint64_t thash(const char *tenant)
{
	return hash(tenant) | 1;
}

void ow_prom_result_free(ow_prom_result_t *r)
{
	for (size_t i = 0; i < r->n; i++) {
		ow_pq_labels_free(&r->series[i].labels);
		free(r->series[i].pts);
	}
	free(r->series);
	memset(r, 0, sizeof(*r));
}

void ow_prom_result_merge(ow_prom_result_t *head, ow_prom_result_t *tail, ow_prom_result_t *out)
{
	out->series = ow_calloc(OW_MAX(head->n + tail->n, 1), sizeof(ow_pq_series_t));
	out->n = 0;
	size_t i = 0, k = 0;
	while (i < head->n || k < tail->n) {
		int c = i == head->n ? 1
			: k == tail->n
			    ? -1
			    : ow_pq_labels_cmp(&head->series[i].labels, &tail->series[k].labels);
		if (c < 0) {
			out->series[out->n++] = head->series[i++];
		} else if (c > 0) {
			out->series[out->n++] = tail->series[k++];
		} else { /* the head's points, all before the tail's */
			ow_pq_series_t *h = &head->series[i++], *t = &tail->series[k++];
			h->pts = ow_realloc(h->pts, (h->n + t->n) * sizeof(ow_pq_point_t));
			memcpy(h->pts + h->n, t->pts, t->n * sizeof(ow_pq_point_t));
			h->n += t->n;
			h->cap = h->n;
			ow_pq_labels_free(&t->labels);
			free(t->pts);
			out->series[out->n++] = *h;
		}
	}
	free(head->series);
	free(tail->series);
	memset(head, 0, sizeof(*head));
	memset(tail, 0, sizeof(*tail));
}

static void entry_free(rentry_t *e)
{
	ow_prom_result_free(&e->r);
	free(e->key);
	free(e->tenant);
	free(e);
}

static void entry_unref(rentry_t *e)
{
	if (atomic_fetch_sub(&e->refs, 1) == 1)
		entry_free(e);
}

/* Under mu: e leaves the table and the list, onto *dead (the table's
 * reference). */
static void unlink_entry(rentry_t *e, rentry_t **dead)
{
	rentry_t **pp = &buckets[hash(e->key) & (NBUCKETS - 1)];
	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	ow_lru_remove(&lru, &e->lru);
	e->linked = 0;
	used -= (int64_t)e->bytes;
	nentries--;
	e->hnext = *dead;
	*dead = e;
}

static void free_dead(rentry_t *dead)
{
	while (dead) {
		rentry_t *n = dead->hnext;
		entry_unref(dead);
		dead = n;
	}
}

static int64_t add_sat(int64_t a, int64_t b)
{
	int64_t r;
	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

/* Without a lock: the bound of e (an entry of no selector has none)
 * after the changes (from, to], lowered from *below. 0 when the ring no
 * longer holds them all. */
static int apply(const rentry_t *e, uint64_t from, uint64_t to, int64_t *below)
{
	if (!e->dep)
		return 1;
	if (to - from > RING)
		return 0;
	for (uint64_t s = from + 1; s <= to; s++) {
		uint64_t s1 = atomic_load_explicit(&ring[s % RING].seq, memory_order_acquire);
		uint64_t th = atomic_load_explicit(&ring[s % RING].thash, memory_order_relaxed);
		int64_t m = atomic_load_explicit(&ring[s % RING].m, memory_order_relaxed);
		atomic_thread_fence(memory_order_acquire);
		if (s1 != s || atomic_load_explicit(&ring[s % RING].seq, memory_order_relaxed) != s)
			return 0; /* written over since */
		if (th == 0 || th == e->thash)
			*below = OW_MIN(*below, add_sat(m, e->min_offset));
	}
	return 1;
}

/* Under mu: below (applied up to to) into e's bound. 1 when e holds no
 * point now. */
static int lower(rentry_t *e, int64_t below, uint64_t to)
{
	if (below < e->below) {
		e->below = below;
		trims++;
	}
	if (to > e->applied)
		e->applied = to;
	return e->below <= e->first;
}

static rentry_t *find(const char *key)
{
	for (rentry_t *e = buckets[hash(key) & (NBUCKETS - 1)]; e; e = e->hnext)
		if (strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

uint64_t ow_prom_rcache_seq(void)
{
	return atomic_load_explicit(&seq, memory_order_acquire);
}

void ow_prom_rcache_changed(const char *tenant, int64_t min_ns)
{
	int64_t m = min_ns >= 0 ? min_ns / 1000000 : -((-(min_ns + 1)) / 1000000) - 1;
	uint64_t s = atomic_load_explicit(&seq, memory_order_relaxed) + 1;
	/* the slot's seqlock: 0 while it is written */
	atomic_store_explicit(&ring[s % RING].seq, 0, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&ring[s % RING].thash, tenant ? thash(tenant) : 0,
			      memory_order_relaxed);
	atomic_store_explicit(&ring[s % RING].m, m, memory_order_relaxed);
	atomic_store_explicit(&ring[s % RING].seq, s, memory_order_release);
	atomic_store_explicit(&seq, s, memory_order_release);
}

static void labels_copy(ow_pq_labels_t *to, const ow_pq_labels_t *from)
{
	to->n = from->n;
	to->hash = from->hash;
	to->l = ow_alloc((size_t)OW_MAX(from->n, 1) * sizeof(ow_pq_label_t));
	for (int i = 0; i < from->n; i++) {
		to->l[i].name = ow_strdup(from->l[i].name);
		to->l[i].value = ow_strdup(from->l[i].value);
	}
}

void ow_prom_rcache_get(const char *key, int64_t start, int64_t end, int64_t step,
			ow_prom_result_t *r, int64_t *upto)
{
	memset(r, 0, sizeof(*r));
	*upto = start - step;
	if (atomic_load(&limit) == 0)
		return;
	pthread_mutex_lock(&mu);
	rentry_t *e = find(key);
	uint64_t from = 0;
	int64_t below = 0;
	if (e) {
		atomic_fetch_add(&e->refs, 1);
		from = e->applied;
		below = e->below;
	}
	pthread_mutex_unlock(&mu);
	if (e == NULL)
		return;
	uint64_t to = atomic_load_explicit(&seq, memory_order_acquire);
	int fresh = apply(e, from, to, &below);
	rentry_t *dead = NULL;
	pthread_mutex_lock(&mu);
	if (e->linked && (!fresh || lower(e, below, to))) {
		if (!fresh)
			overflows++;
		unlink_entry(e, &dead);
	} else if (e->linked) {
		ow_lru_touch(&lru, &e->lru);
	}
	below = e->below; /* with what other readers applied */
	int gone = !e->linked;
	pthread_mutex_unlock(&mu);
	free_dead(dead);
	int64_t last = OW_MIN(OW_MIN(e->last, end), below - 1);
	if (gone || start < e->first || (start - e->first) % step || last < start) {
		entry_unref(e);
		return;
	}
	last = start + (last - start) / step * step;
	r->series = ow_calloc(OW_MAX(e->r.n, 1), sizeof(ow_pq_series_t));
	for (size_t i = 0; i < e->r.n; i++) {
		const ow_pq_series_t *s = &e->r.series[i];
		size_t lo = 0, hi = s->n;
		while (lo < hi) { /* the first point at or after start */
			size_t mid = (lo + hi) / 2;
			if (s->pts[mid].t < start)
				lo = mid + 1;
			else
				hi = mid;
		}
		size_t k = lo;
		while (k < s->n && s->pts[k].t <= last)
			k++;
		if (k == lo)
			continue;
		ow_pq_series_t *o = &r->series[r->n++];
		labels_copy(&o->labels, &s->labels);
		o->n = o->cap = k - lo;
		o->pts = ow_alloc(o->n * sizeof(ow_pq_point_t));
		memcpy(o->pts, s->pts + lo, o->n * sizeof(ow_pq_point_t));
	}
	*upto = last;
	entry_unref(e);
}

void ow_prom_rcache_put(const char *key, const char *tenant, int dep, int64_t min_offset,
			uint64_t since, int64_t first, int64_t last, ow_prom_result_t *r)
{
	rentry_t *e = ow_calloc(1, sizeof(*e));
	e->key = ow_strdup(key);
	e->tenant = ow_strdup(tenant);
	e->thash = thash(tenant);
	e->dep = dep;
	e->min_offset = min_offset;
	e->first = first;
	e->last = last;
	e->below = INT64_MAX;
	e->applied = since;
	atomic_init(&e->refs, 1);
	e->r = *r;
	memset(r, 0, sizeof(*r));
	e->bytes = malloc_usable_size(e) + malloc_usable_size(e->key) +
		   malloc_usable_size(e->tenant) + malloc_usable_size(e->r.series);
	for (size_t i = 0; i < e->r.n; i++)
		e->bytes += ow_prom_series_bytes(&e->r.series[i]);
	uint64_t to = atomic_load_explicit(&seq, memory_order_acquire);
	int64_t below = INT64_MAX;
	int fresh = apply(e, since, to, &below);
	rentry_t *dead = NULL;
	pthread_mutex_lock(&mu);
	if (!fresh)
		overflows++;
	int keep = fresh && (int64_t)e->bytes <= limit && !lower(e, below, to);
	if (keep) {
		rentry_t *old = find(key);
		if (old)
			unlink_entry(old, &dead);
		size_t b = hash(key) & (NBUCKETS - 1);
		e->hnext = buckets[b];
		buckets[b] = e;
		e->linked = 1;
		ow_lru_push(&lru, &e->lru);
		used += (int64_t)e->bytes;
		nentries++;
		while (used > limit && OLDEST != e) {
			unlink_entry(OLDEST, &dead);
			evictions++;
		}
	}
	pthread_mutex_unlock(&mu);
	if (!keep)
		entry_unref(e);
	free_dead(dead);
}

void ow_prom_rcache_limit(int64_t bytes)
{
	rentry_t *dead = NULL;
	pthread_mutex_lock(&mu);
	limit = bytes;
	while (used > limit && lru.oldest) {
		unlink_entry(OLDEST, &dead);
		evictions++;
	}
	pthread_mutex_unlock(&mu);
	free_dead(dead);
}

int ow_prom_rcache_keeps(void)
{
	return atomic_load(&limit) > 0;
}

void ow_prom_rcache_clear(void)
{
	rentry_t *dead = NULL;
	pthread_mutex_lock(&mu);
	while (lru.oldest)
		unlink_entry(OLDEST, &dead);
	pthread_mutex_unlock(&mu);
	free_dead(dead);
}

void ow_prom_rcache_count(int use)
{
	counts[use]++;
}

void ow_prom_rcache_stats(ow_buf_t *b)
{
	ow_buf_printf(
	    b,
	    "# HELP openwit_prom_result_cache_bytes Bytes held by the query_range result cache.\n"
	    "# TYPE openwit_prom_result_cache_bytes gauge\nopenwit_prom_result_cache_bytes %lld\n"
	    "# HELP openwit_prom_result_cache_entries Results held by the query_range result "
	    "cache.\n# TYPE openwit_prom_result_cache_entries gauge\n"
	    "openwit_prom_result_cache_entries %llu\n"
	    "# HELP openwit_prom_result_cache_hits_total query_range requests answered from the "
	    "cache alone.\n# TYPE openwit_prom_result_cache_hits_total counter\n"
	    "openwit_prom_result_cache_hits_total %llu\n"
	    "# HELP openwit_prom_result_cache_partial_total query_range requests that took cached "
	    "points and evaluated the times past them.\n"
	    "# TYPE openwit_prom_result_cache_partial_total counter\n"
	    "openwit_prom_result_cache_partial_total %llu\n"
	    "# HELP openwit_prom_result_cache_misses_total query_range requests the cache had no "
	    "point for.\n# TYPE openwit_prom_result_cache_misses_total counter\n"
	    "openwit_prom_result_cache_misses_total %llu\n"
	    "# HELP openwit_prom_result_cache_evictions_total Results evicted past "
	    "prom.result_cache_bytes.\n# TYPE openwit_prom_result_cache_evictions_total counter\n"
	    "openwit_prom_result_cache_evictions_total %llu\n"
	    "# HELP openwit_prom_result_cache_trims_total Cached results cut short by rows that "
	    "came or went at their times.\n# TYPE openwit_prom_result_cache_trims_total counter\n"
	    "openwit_prom_result_cache_trims_total %llu\n"
	    "# HELP openwit_prom_result_cache_overflows_total Results not stored, or dropped, "
	    "because more than 4096 changes of metrics rows came during their query or since "
	    "their last use.\n# TYPE openwit_prom_result_cache_overflows_total counter\n"
	    "openwit_prom_result_cache_overflows_total %llu\n",
	    (long long)atomic_load(&used), (unsigned long long)atomic_load(&nentries),
	    (unsigned long long)atomic_load(&counts[OW_PROM_RC_HIT]),
	    (unsigned long long)atomic_load(&counts[OW_PROM_RC_PARTIAL]),
	    (unsigned long long)atomic_load(&counts[OW_PROM_RC_MISS]),
	    (unsigned long long)atomic_load(&evictions), (unsigned long long)atomic_load(&trims),
	    (unsigned long long)atomic_load(&overflows));
}

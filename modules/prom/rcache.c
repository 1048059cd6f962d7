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
 *    published into the buffer, a Kafka message's rows taken out, a part
 *    dropped by retention (storage's change hook) - with its least sample
 *    time m lowers the tenant's entries' bound to m + min_offset: points
 *    at or past it are never answered again. A query reads its sequence
 *    on the loop before its snapshot, so every change its snapshot missed
 *    comes after; the changes after it are applied again when it stores
 *    (a ring of the last RING of them; an entry older than the ring is
 *    not stored). A merge changes no row and nothing here.
 *  - Results that depend on the span's start are never stored: a delta
 *    series summed from the span's first point (prom.c checks the store).
 *  - At most prom.result_cache_bytes (0: nothing is kept); past it the
 *    least recently used entries go. One mutex; points are copied out
 *    under it, freed after it.
 *  - /metrics: openwit_prom_result_cache_bytes, _entries, _hits_total,
 *    _partial_total, _misses_total, _evictions_total, _trims_total.
 */
#include "prom.h"
#include "../core/lru.h"

#include <malloc.h>
#include <pthread.h>

#define NBUCKETS 1024
#define RING 4096

typedef struct rentry {
	char *key, *tenant;
	uint64_t thash;
	int dep;
	int64_t min_offset, first, last;
	int64_t below; /* points at t >= below are not answered */
	ow_prom_result_t r;
	size_t bytes;
	ow_lru_node_t lru;
	struct rentry *hnext; /* the key table's chain; the freed list */
} rentry_t;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static rentry_t *buckets[NBUCKETS];
static ow_lru_t lru;
#define OLDEST OW_LRU_ENTRY(lru.oldest, rentry_t, lru) /* when lru.oldest */
static int64_t limit, used;
static uint64_t nentries, counts[4], evictions, trims;
/* the changes: seq the last one's number, ring the last RING of them */
static uint64_t seq;
static struct {
	uint64_t seq, thash;
	int64_t m;
	int all; /* any tenant's */
} ring[RING];

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ULL;
	return h;
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

/* Under mu: e leaves the table and the list, onto *dead. */
static void unlink_entry(rentry_t *e, rentry_t **dead)
{
	rentry_t **pp = &buckets[hash(e->key) & (NBUCKETS - 1)];
	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	ow_lru_remove(&lru, &e->lru);
	used -= (int64_t)e->bytes;
	nentries--;
	e->hnext = *dead;
	*dead = e;
}

static void free_dead(rentry_t *dead)
{
	while (dead) {
		rentry_t *n = dead->hnext;
		entry_free(dead);
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

/* Under mu: a change at m (ms) of e's tenant. 1 when e holds no point now. */
static int trim(rentry_t *e, int64_t m)
{
	if (!e->dep)
		return 0;
	int64_t b = add_sat(m, e->min_offset);
	if (b < e->below) {
		e->below = b;
		trims++;
	}
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
	pthread_mutex_lock(&mu);
	uint64_t s = seq;
	pthread_mutex_unlock(&mu);
	return s;
}

void ow_prom_rcache_changed(const char *tenant, int64_t min_ns)
{
	int64_t m = min_ns >= 0 ? min_ns / 1000000 : -((-(min_ns + 1)) / 1000000) - 1;
	uint64_t th = tenant ? hash(tenant) : 0;
	rentry_t *dead = NULL;
	pthread_mutex_lock(&mu);
	seq++;
	ring[seq % RING].seq = seq;
	ring[seq % RING].thash = th;
	ring[seq % RING].m = m;
	ring[seq % RING].all = tenant == NULL;
	for (ow_lru_node_t *l = lru.newest, *n; l; l = n) {
		n = l->next;
		rentry_t *e = OW_LRU_ENTRY(l, rentry_t, lru);
		if ((!tenant || (e->thash == th && strcmp(e->tenant, tenant) == 0)) && trim(e, m))
			unlink_entry(e, &dead);
	}
	pthread_mutex_unlock(&mu);
	free_dead(dead);
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
	pthread_mutex_lock(&mu);
	rentry_t *e = limit ? find(key) : NULL;
	int64_t last = e ? OW_MIN(OW_MIN(e->last, end), e->below - 1) : 0;
	if (e == NULL || start < e->first || (start - e->first) % step || last < start) {
		pthread_mutex_unlock(&mu);
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
	ow_lru_touch(&lru, &e->lru);
	pthread_mutex_unlock(&mu);
}

void ow_prom_rcache_put(const char *key, const char *tenant, int dep, int64_t min_offset,
			uint64_t since, int64_t first, int64_t last, ow_prom_result_t *r)
{
	rentry_t *e = ow_calloc(1, sizeof(*e));
	e->key = ow_strdup(key);
	e->tenant = ow_strdup(tenant);
	e->thash = hash(tenant);
	e->dep = dep;
	e->min_offset = min_offset;
	e->first = first;
	e->last = last;
	e->below = INT64_MAX;
	e->r = *r;
	memset(r, 0, sizeof(*r));
	e->bytes = malloc_usable_size(e) + malloc_usable_size(e->key) +
		   malloc_usable_size(e->tenant) + malloc_usable_size(e->r.series);
	for (size_t i = 0; i < e->r.n; i++)
		e->bytes += ow_prom_series_bytes(&e->r.series[i]);
	rentry_t *dead = NULL;
	pthread_mutex_lock(&mu);
	int keep = (int64_t)e->bytes <= limit && seq - since < RING;
	for (uint64_t s = since + 1; keep && s <= seq; s++)
		if ((ring[s % RING].all || ring[s % RING].thash == e->thash) &&
		    trim(e, ring[s % RING].m))
			keep = 0;
	if (keep) {
		rentry_t *old = find(key);
		if (old)
			unlink_entry(old, &dead);
		size_t b = hash(key) & (NBUCKETS - 1);
		e->hnext = buckets[b];
		buckets[b] = e;
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
		entry_free(e);
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
	pthread_mutex_lock(&mu);
	int k = limit > 0;
	pthread_mutex_unlock(&mu);
	return k;
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
	pthread_mutex_lock(&mu);
	counts[use]++;
	pthread_mutex_unlock(&mu);
}

void ow_prom_rcache_stats(ow_buf_t *b)
{
	pthread_mutex_lock(&mu);
	int64_t u = used;
	uint64_t n = nentries, c[4], ev = evictions, tr = trims;
	memcpy(c, counts, sizeof(c));
	pthread_mutex_unlock(&mu);
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
	    "openwit_prom_result_cache_trims_total %llu\n",
	    (long long)u, (unsigned long long)n, (unsigned long long)c[OW_PROM_RC_HIT],
	    (unsigned long long)c[OW_PROM_RC_PARTIAL], (unsigned long long)c[OW_PROM_RC_MISS],
	    (unsigned long long)ev, (unsigned long long)tr);
}

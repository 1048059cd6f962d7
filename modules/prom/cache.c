/*
 * cache.c - what series.c decoded of committed parts, kept between
 * queries: pieces keyed by (part, a text), each series of a stored metric
 * in the part with its labels and its points (by time, one a
 * millisecond, delta values as stored), or the part's list of metrics. A
 * part never changes, so a piece is good for as long as the part lives.
 *
 * Rules:
 *  - The cache holds at most prom.cache_bytes (0: nothing is kept); past
 *    it, or when the limit is lowered, the least recently used pieces go. A piece larger than the
 * whole is used by the query that decoded it and freed.
 *  - A piece goes with its part: storage calls ow_prom_cache_gone when the
 *    part's last reference goes (merged away or dropped, and no query
 *    holds it), so an address is never found again for another part.
 *  - A reader holds a reference on the piece it copies from; an evicted
 *    piece is freed when its last reader releases it. One mutex; nothing
 *    is decoded, copied or freed under it (unlinked under it, freed
 *    after). A part's pieces are listed by part: its gone hook, on the
 *    loop thread, touches those alone.
 *  - Freeing a piece credits no query's memory meter (ow_buf_meter): the
 *    query that decoded it may be long over.
 *  - /metrics: openwit_prom_cache_bytes, _entries, _limit_bytes,
 *    _hits_total, _misses_total, _evictions_total.
 */
#include "prom.h"
#include "../core/lru.h"

#include <pthread.h>

typedef struct entry {
	ow_prom_piece_t piece; /* first: what readers get */
	const void *part;
	char *key;
	int refs, cached;
	ow_lru_node_t lru;
	struct entry *hnext;	     /* the (part, key) table's chain; the dead list */
	struct entry *pprev, *pnext; /* the part's entries */
} entry_t;

/* A part's entries, found by the part alone (its gone hook touches them
 * and nothing else). */
typedef struct pnode {
	const void *part;
	entry_t *first;
	struct pnode *hnext;
} pnode_t;

#define NBUCKETS 4096

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static entry_t *buckets[NBUCKETS];
static pnode_t *pbuckets[NBUCKETS];
static ow_lru_t lru;
#define OLDEST OW_LRU_ENTRY(lru.oldest, entry_t, lru) /* when lru.oldest */
static int64_t limit, used;
static uint64_t nentries, hits, misses, evictions;

void ow_prom_piece_free(ow_prom_piece_t *p)
{
	for (size_t i = 0; i < p->n; i++) {
		ow_pq_labels_free(&p->series[i].labels);
		free(p->series[i].pts);
	}
	free(p->series);
	free(p->delta);
	ow_buf_free(&p->rows);
	memset(p, 0, sizeof(*p));
}

static size_t part_bucket(const void *part)
{
	return (size_t)(((uint64_t)(uintptr_t)part * 0x9e3779b97f4a7c15ULL) >> 20) & (NBUCKETS - 1);
}

static size_t bucket_of(const void *part, const char *key)
{
	uint64_t h = (uint64_t)(uintptr_t)part * 0x9e3779b97f4a7c15ULL;
	for (const char *c = key; *c; c++)
		h = (h ^ (uint8_t)*c) * 1099511628211ULL;
	return (size_t)(h >> 20) & (NBUCKETS - 1);
}

static pnode_t **pnode_at(const void *part)
{
	pnode_t **pp = &pbuckets[part_bucket(part)];
	while (*pp && (*pp)->part != part)
		pp = &(*pp)->hnext;
	return pp;
}

/* Frees entries of a dead list (unlocked). Their buffers were metered to
 * the query that decoded them; no other query's meter is credited. */
static void free_dead(entry_t *dead)
{
	ow_buf_meter_t was = ow_buf_meter((ow_buf_meter_t){NULL, NULL});
	while (dead) {
		entry_t *e = dead;
		dead = e->hnext;
		ow_prom_piece_free(&e->piece);
		free(e->key);
		free(e);
	}
	ow_buf_meter(was);
}

/* Takes e out of the table, its part's list and the LRU list (locked);
 * onto *dead when no reader holds it, else freed by its last reader. */
static void unlink_entry(entry_t *e, entry_t **dead)
{
	entry_t **pp = &buckets[bucket_of(e->part, e->key)];
	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	if (e->pprev) {
		e->pprev->pnext = e->pnext;
	} else {
		pnode_t **np = pnode_at(e->part), *n = *np;
		n->first = e->pnext;
		if (!n->first) {
			*np = n->hnext;
			free(n);
		}
	}
	if (e->pnext)
		e->pnext->pprev = e->pprev;
	ow_lru_remove(&lru, &e->lru);
	e->cached = 0;
	used -= (int64_t)e->piece.bytes;
	nentries--;
	if (e->refs == 0) {
		e->hnext = *dead;
		*dead = e;
	}
}

/* The least recently used out until the cache is within its limit, or
 * only keep is left (locked). */
static void evict(const entry_t *keep, entry_t **dead)
{
	while (used > limit && lru.oldest && OLDEST != keep) {
		evictions++;
		unlink_entry(OLDEST, dead);
	}
}

void ow_prom_cache_limit(int64_t bytes)
{
	entry_t *dead = NULL;
	pthread_mutex_lock(&mu);
	limit = bytes;
	evict(NULL, &dead);
	pthread_mutex_unlock(&mu);
	free_dead(dead);
}

int ow_prom_cache_keeps(void)
{
	pthread_mutex_lock(&mu);
	int keeps = limit > 0;
	pthread_mutex_unlock(&mu);
	return keeps;
}

const ow_prom_piece_t *ow_prom_cache_get(const void *part, const char *key)
{
	pthread_mutex_lock(&mu);
	entry_t *e = buckets[bucket_of(part, key)];
	while (e && !(e->part == part && strcmp(e->key, key) == 0))
		e = e->hnext;
	if (e) {
		e->refs++;
		hits++;
		ow_lru_touch(&lru, &e->lru);
	} else {
		misses++;
	}
	pthread_mutex_unlock(&mu);
	return e ? &e->piece : NULL;
}

const ow_prom_piece_t *ow_prom_cache_put(const void *part, const char *key, ow_prom_piece_t *piece)
{
	entry_t *e = ow_calloc(1, sizeof(*e)), *dead = NULL;
	e->piece = *piece;
	memset(piece, 0, sizeof(*piece));
	e->part = part;
	e->key = ow_strdup(key);
	e->refs = 1;
	if (part == NULL) /* the command line: nothing to key it by */
		return &e->piece;
	pthread_mutex_lock(&mu);
	size_t b = bucket_of(part, key);
	entry_t *x = buckets[b];
	while (x && !(x->part == part && strcmp(x->key, key) == 0))
		x = x->hnext;
	if (x) { /* another query decoded it first */
		x->refs++;
		ow_lru_touch(&lru, &x->lru);
		pthread_mutex_unlock(&mu);
		free_dead(e);
		return &x->piece;
	}
	if ((int64_t)e->piece.bytes <= limit) {
		e->cached = 1;
		e->hnext = buckets[b];
		buckets[b] = e;
		pnode_t **np = pnode_at(part);
		if (!*np) {
			*np = ow_calloc(1, sizeof(pnode_t));
			(*np)->part = part;
		}
		e->pnext = (*np)->first;
		if (e->pnext)
			e->pnext->pprev = e;
		(*np)->first = e;
		ow_lru_push(&lru, &e->lru);
		used += (int64_t)e->piece.bytes;
		nentries++;
		evict(e, &dead);
	}
	pthread_mutex_unlock(&mu);
	free_dead(dead);
	return &e->piece;
}

void ow_prom_cache_release(const ow_prom_piece_t *piece)
{
	entry_t *e = (entry_t *)piece; /* the piece is its entry's first member */
	pthread_mutex_lock(&mu);
	int last = --e->refs == 0 && !e->cached;
	pthread_mutex_unlock(&mu);
	if (last) {
		e->hnext = NULL;
		free_dead(e);
	}
}

void ow_prom_cache_gone(ow_partref_t *p)
{
	entry_t *dead = NULL;
	pthread_mutex_lock(&mu);
	pnode_t *n = *pnode_at(p);
	while (n) { /* the last entry's unlink frees the node */
		int last = n->first->pnext == NULL;
		unlink_entry(n->first, &dead);
		if (last)
			break;
	}
	pthread_mutex_unlock(&mu);
	free_dead(dead);
}

void ow_prom_cache_clear(void)
{
	entry_t *dead = NULL;
	pthread_mutex_lock(&mu);
	while (lru.oldest)
		unlink_entry(OLDEST, &dead);
	pthread_mutex_unlock(&mu);
	free_dead(dead);
}

void ow_prom_cache_stats(ow_buf_t *b)
{
	pthread_mutex_lock(&mu);
	int64_t u = used, l = limit;
	uint64_t n = nentries, h = hits, m = misses, ev = evictions;
	pthread_mutex_unlock(&mu);
	ow_buf_printf(b,
		      "# HELP openwit_prom_cache_bytes Bytes of decoded series the PromQL "
		      "cache holds (prom.cache_bytes).\n# TYPE openwit_prom_cache_bytes gauge\n"
		      "openwit_prom_cache_bytes %lld\n"
		      "# HELP openwit_prom_cache_limit_bytes prom.cache_bytes.\n"
		      "# TYPE openwit_prom_cache_limit_bytes gauge\n"
		      "openwit_prom_cache_limit_bytes %lld\n"
		      "# HELP openwit_prom_cache_entries Pieces (part, key) in the PromQL "
		      "cache.\n# TYPE openwit_prom_cache_entries gauge\n"
		      "openwit_prom_cache_entries %llu\n"
		      "# HELP openwit_prom_cache_hits_total Pieces read from the PromQL cache.\n"
		      "# TYPE openwit_prom_cache_hits_total counter\n"
		      "openwit_prom_cache_hits_total %llu\n"
		      "# HELP openwit_prom_cache_misses_total Pieces decoded from a part.\n"
		      "# TYPE openwit_prom_cache_misses_total counter\n"
		      "openwit_prom_cache_misses_total %llu\n"
		      "# HELP openwit_prom_cache_evictions_total Pieces evicted, least recently "
		      "used first.\n# TYPE openwit_prom_cache_evictions_total counter\n"
		      "openwit_prom_cache_evictions_total %llu\n",
		      (long long)u, (long long)l, (unsigned long long)n, (unsigned long long)h,
		      (unsigned long long)m, (unsigned long long)ev);
}

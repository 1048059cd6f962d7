/*
 * ring.h - a bounded ring queue of pointers between threads (many
 * producers, many consumers). Bounded in slots; what bounds memory is the
 * byte budget in front of it. A full ring is an answer (OW_AGAIN), so the
 * loop thread never blocks on it. A ring given a queue (queue.h) counts
 * into it every item and its bytes, and each item's wait from its push to
 * its pop.
 */
#ifndef OW_RING_H
#define OW_RING_H

#include "queue.h"

#include <pthread.h>
#include <stddef.h>

typedef struct {
	void *p;
	int64_t pushed; /* ow_mono_ns, when counted */
	size_t bytes;
} ow_ring_slot_t;

typedef struct {
	ow_ring_slot_t *slots;
	size_t cap; /* a power of two */
	size_t head, tail;
	int closed;
	ow_queue_t *queue; /* NULL: not counted */
	pthread_mutex_t mu;
	pthread_cond_t nonempty;
} ow_ring_t;

/* queue may be NULL; the ring's capacity is r->cap once it returns */
int ow_ring_init(ow_ring_t *r, size_t min_cap, ow_queue_t *queue);
void ow_ring_destroy(ow_ring_t *r);
int ow_ring_push(ow_ring_t *r, void *p); /* OW_OK, or OW_AGAIN when full or closed */
void *ow_ring_pop(ow_ring_t *r);	 /* waits; NULL once closed and empty */
void *ow_ring_trypop(ow_ring_t *r);	 /* NULL when empty */
/* ow_ring_push, with the item's bytes for the ring's queue */
int ow_ring_push_bytes(ow_ring_t *r, void *p, size_t bytes);
size_t ow_ring_count(ow_ring_t *r);
void ow_ring_close(ow_ring_t *r);

#endif

/*
 * ring.h - a bounded ring queue of pointers between threads (many
 * producers, many consumers). Bounded in slots; what bounds memory is the
 * byte budget in front of it. A full ring is an answer (OW_AGAIN), so the
 * loop thread never blocks on it.
 */
#ifndef OW_RING_H
#define OW_RING_H

#include <pthread.h>
#include <stddef.h>

typedef struct {
	void **slots;
	size_t cap; /* a power of two */
	size_t head, tail;
	int closed;
	pthread_mutex_t mu;
	pthread_cond_t nonempty;
} ow_ring_t;

int ow_ring_init(ow_ring_t *r, size_t min_cap);
void ow_ring_destroy(ow_ring_t *r);
int ow_ring_push(ow_ring_t *r, void *p); /* OW_OK, or OW_AGAIN when full or closed */
void *ow_ring_pop(ow_ring_t *r);	 /* waits; NULL once closed and empty */
void *ow_ring_trypop(ow_ring_t *r);	 /* NULL when empty */
size_t ow_ring_count(ow_ring_t *r);
void ow_ring_close(ow_ring_t *r);

#endif

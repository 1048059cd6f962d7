/*
 * ring.c - see ring.h. A mutex and one condition variable: the consumers
 * here do milliseconds of work per item (decode, fsync, SQLite), so a
 * lock-free ring would buy nothing measurable.
 */
#include "ring.h"
#include "core.h"

int ow_ring_init(ow_ring_t *r, size_t min_cap, ow_queue_t *queue)
{
	size_t cap = 2;
	while (cap < min_cap)
		cap <<= 1;
	r->slots = ow_calloc(cap, sizeof(*r->slots));
	r->cap = cap;
	r->head = r->tail = 0;
	r->closed = 0;
	r->queue = queue;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->nonempty, NULL);
	return OW_OK;
}

void ow_ring_destroy(ow_ring_t *r)
{
	free(r->slots);
	r->slots = NULL;
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->nonempty);
}

int ow_ring_push_bytes(ow_ring_t *r, void *p, size_t bytes)
{
	int64_t now = r->queue ? ow_mono_ns() : 0;
	pthread_mutex_lock(&r->mu);
	if (r->closed || r->tail - r->head == r->cap) {
		pthread_mutex_unlock(&r->mu);
		return OW_AGAIN;
	}
	r->slots[r->tail++ & (r->cap - 1)] = (ow_ring_slot_t){p, now, bytes};
	/* counted before a consumer can take it, so a depth never goes below 0 */
	if (r->queue)
		ow_queue_put(r->queue, 1, bytes);
	pthread_cond_signal(&r->nonempty);
	pthread_mutex_unlock(&r->mu);
	return OW_OK;
}

int ow_ring_push(ow_ring_t *r, void *p)
{
	return ow_ring_push_bytes(r, p, 0);
}

static void *take(ow_ring_t *r)
{
	ow_ring_slot_t *s = &r->slots[r->head++ & (r->cap - 1)];
	if (r->queue)
		ow_queue_take(r->queue, 1, s->bytes, s->pushed);
	return s->p;
}

void *ow_ring_pop(ow_ring_t *r)
{
	pthread_mutex_lock(&r->mu);
	while (r->head == r->tail && !r->closed)
		pthread_cond_wait(&r->nonempty, &r->mu);
	void *p = r->head == r->tail ? NULL : take(r);
	pthread_mutex_unlock(&r->mu);
	return p;
}

void *ow_ring_trypop(ow_ring_t *r)
{
	pthread_mutex_lock(&r->mu);
	void *p = r->head == r->tail ? NULL : take(r);
	pthread_mutex_unlock(&r->mu);
	return p;
}

size_t ow_ring_count(ow_ring_t *r)
{
	pthread_mutex_lock(&r->mu);
	size_t n = r->tail - r->head;
	pthread_mutex_unlock(&r->mu);
	return n;
}

void ow_ring_close(ow_ring_t *r)
{
	pthread_mutex_lock(&r->mu);
	r->closed = 1;
	pthread_cond_broadcast(&r->nonempty);
	pthread_mutex_unlock(&r->mu);
}

/*
 * ring.c - see ring.h. A mutex and one condition variable: the consumers
 * here do milliseconds of work per item (decode, fsync, SQLite), so a
 * lock-free ring would buy nothing measurable.
 */
#include "ring.h"
#include "core.h"

int ow_ring_init(ow_ring_t *r, size_t min_cap)
{
	size_t cap = 2;
	while (cap < min_cap)
		cap <<= 1;
	r->slots = ow_calloc(cap, sizeof(void *));
	r->cap = cap;
	r->head = r->tail = 0;
	r->closed = 0;
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

int ow_ring_push(ow_ring_t *r, void *p)
{
	pthread_mutex_lock(&r->mu);
	if (r->closed || r->tail - r->head == r->cap) {
		pthread_mutex_unlock(&r->mu);
		return OW_AGAIN;
	}
	r->slots[r->tail++ & (r->cap - 1)] = p;
	pthread_cond_signal(&r->nonempty);
	pthread_mutex_unlock(&r->mu);
	return OW_OK;
}

static void *take(ow_ring_t *r)
{
	return r->slots[r->head++ & (r->cap - 1)];
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

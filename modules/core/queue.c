/*
 * queue.c - see queue.h.
 */
#include "queue.h"
#include "core.h"

static ow_queue_t *queues;

void ow_queue_register(ow_queue_t *q, const char *name, int stage, uint64_t cap_items,
		       uint64_t cap_bytes)
{
	q->name = name;
	q->stage = stage;
	q->cap_items = cap_items;
	q->cap_bytes = cap_bytes;
	atomic_init(&q->items, 0);
	atomic_init(&q->bytes, 0);
	atomic_init(&q->waits, 0);
	atomic_init(&q->wait_ns, 0);
	atomic_init(&q->wait_max_ns, 0);
	ow_queue_t **pp = &queues;
	while (*pp && (*pp)->stage <= stage)
		pp = &(*pp)->next;
	q->next = *pp;
	*pp = q;
}

void ow_queue_unregister(ow_queue_t *q)
{
	for (ow_queue_t **pp = &queues; *pp; pp = &(*pp)->next)
		if (*pp == q) {
			*pp = q->next;
			return;
		}
}

const ow_queue_t *ow_queue_first(void)
{
	return queues;
}

void ow_queue_put(ow_queue_t *q, uint64_t items, uint64_t bytes)
{
	atomic_fetch_add_explicit(&q->items, items, memory_order_relaxed);
	atomic_fetch_add_explicit(&q->bytes, bytes, memory_order_relaxed);
}

/* never below 0: a count that went wrong must not wrap to 2^64 and make
 * the queue look full */
static void sub_floor(_Atomic uint64_t *v, uint64_t n)
{
	uint64_t old = atomic_load_explicit(v, memory_order_relaxed);
	while (!atomic_compare_exchange_weak_explicit(v, &old, old - OW_MIN(n, old),
						      memory_order_relaxed, memory_order_relaxed))
		;
}

void ow_queue_take(ow_queue_t *q, uint64_t items, uint64_t bytes, int64_t since)
{
	sub_floor(&q->items, items);
	sub_floor(&q->bytes, bytes);
	if (since == 0)
		return;
	uint64_t w = (uint64_t)OW_MAX(ow_mono_ns() - since, 0);
	atomic_fetch_add_explicit(&q->waits, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&q->wait_ns, w, memory_order_relaxed);
	uint64_t max = atomic_load_explicit(&q->wait_max_ns, memory_order_relaxed);
	while (w > max && !atomic_compare_exchange_weak_explicit(
			      &q->wait_max_ns, &max, w, memory_order_relaxed, memory_order_relaxed))
		;
}

int ow_queue_full(const ow_queue_t *q)
{
	return (q->cap_items && atomic_load(&q->items) >= q->cap_items) ||
	       (q->cap_bytes && atomic_load(&q->bytes) >= q->cap_bytes);
}

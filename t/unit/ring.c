/* ring: bounded, FIFO, full is an answer, many threads lose nothing; one
 * producer and one consumer see the producer's order; a counted ring's
 * queue ends empty with one wait per item. */
#include "../lib/tap.h"
#include "modules/core/core.h"
#include "modules/core/ring.h"

#include <pthread.h>
#include <sched.h>

#define PER_THREAD 100000
#define NPROD 3
#define NCONS 3

static ow_ring_t r;

/* item i of producer t is t * PER_THREAD + i, i from 1: its producer and
 * its place in that producer's order can be read back from it */
static void *producer(void *arg)
{
	uintptr_t base = (uintptr_t)arg * PER_THREAD;
	for (uintptr_t i = 1; i <= PER_THREAD; i++)
		while (ow_ring_push_bytes(&r, (void *)(base + i), 10) != OW_OK)
			sched_yield();
	return NULL;
}

static uint64_t consumed_sum;
static long consumed, out_of_order;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

/* A consumer's items of one producer must come in that producer's order:
 * the ring is FIFO, and one consumer pops one at a time. */
static void *consumer(void *arg)
{
	(void)arg;
	void *p;
	uint64_t sum = 0;
	long n = 0, bad = 0;
	uintptr_t last[NPROD] = {0};
	while ((p = ow_ring_pop(&r)) != NULL) {
		uintptr_t v = (uintptr_t)p, t = (v - 1) / PER_THREAD;
		if (t >= NPROD || v <= last[t])
			bad++;
		else
			last[t] = v;
		sum += v;
		n++;
	}
	pthread_mutex_lock(&mu);
	consumed_sum += sum;
	consumed += n;
	out_of_order += bad;
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void run(int nprod, int ncons)
{
	pthread_t p[NPROD], c[NCONS];
	consumed_sum = 0;
	consumed = out_of_order = 0;
	for (uintptr_t i = 0; i < (uintptr_t)nprod; i++)
		pthread_create(&p[i], NULL, producer, (void *)i);
	for (int i = 0; i < ncons; i++)
		pthread_create(&c[i], NULL, consumer, NULL);
	for (int i = 0; i < nprod; i++)
		pthread_join(p[i], NULL);
	ow_ring_close(&r);
	for (int i = 0; i < ncons; i++)
		pthread_join(c[i], NULL);
}

static uint64_t want_sum(int nprod)
{
	uint64_t want = 0;
	for (uint64_t t = 0; t < (uint64_t)nprod; t++)
		want += t * PER_THREAD * PER_THREAD + (uint64_t)PER_THREAD * (PER_THREAD + 1) / 2;
	return want;
}

int main(void)
{
	ow_ring_init(&r, 5, NULL);
	is_int(r.cap, 8, "capacity rounds up to a power of two");
	for (uintptr_t i = 1; i <= 8; i++)
		ow_ring_push(&r, (void *)i);
	is_int(ow_ring_push(&r, (void *)9), OW_AGAIN, "a full ring answers OW_AGAIN");
	is_int(ow_ring_count(&r), 8, "count is 8");
	int fifo = 1;
	for (uintptr_t i = 1; i <= 8; i++)
		fifo &= ow_ring_trypop(&r) == (void *)i;
	ok(fifo, "items come out in order");
	ok(ow_ring_trypop(&r) == NULL, "an empty ring gives NULL to trypop");
	ow_ring_destroy(&r);

	/* two threads: a small ring is full and empty many times over */
	ow_queue_t q;
	ow_ring_init(&r, 4, &q);
	ow_queue_register(&q, "ring-test", OW_Q_WAL, r.cap, 0);
	run(1, 1);
	is_int(consumed, PER_THREAD, "1 producer, 1 consumer: every item consumed once");
	ok(consumed_sum == want_sum(1), "and the items are the ones produced");
	is_int(out_of_order, 0, "and in the order they were produced");
	is_int(atomic_load(&q.items), 0, "the ring's queue ends with no item");
	is_int(atomic_load(&q.bytes), 0, "and no byte");
	is_int(atomic_load(&q.waits), PER_THREAD, "one wait measured for each item");
	ok(atomic_load(&q.wait_max_ns) <= atomic_load(&q.wait_ns),
	   "the longest wait is no more than the sum of waits");
	ow_queue_unregister(&q);
	ow_ring_destroy(&r);

	ow_ring_init(&r, 64, &q);
	ow_queue_register(&q, "ring-test", OW_Q_WAL, r.cap, 0);
	run(NPROD, NCONS);
	is_int(consumed, NPROD * PER_THREAD,
	       "3 producers and 3 consumers: every item consumed once");
	ok(consumed_sum == want_sum(NPROD), "and the items are the ones produced");
	is_int(out_of_order, 0, "each consumer sees each producer's items in its order");
	is_int(atomic_load(&q.items), 0, "the ring's queue ends with no item");
	is_int(atomic_load(&q.waits), NPROD * PER_THREAD, "one wait measured for each item");
	is_int(ow_ring_push(&r, (void *)1), OW_AGAIN, "a closed ring takes nothing");
	is_int(atomic_load(&q.items), 0, "and counts nothing");
	ow_queue_unregister(&q);
	ow_ring_destroy(&r);
	return done_testing();
}

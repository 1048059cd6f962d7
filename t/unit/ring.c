/* ring: bounded, FIFO, full is an answer, many threads lose nothing. */
#include "../lib/tap.h"
#include "modules/core/core.h"
#include "modules/core/ring.h"

#include <pthread.h>

#define PER_THREAD 100000

static ow_ring_t r;

static void *producer(void *arg)
{
	uintptr_t base = (uintptr_t)arg;
	for (uintptr_t i = 1; i <= PER_THREAD; i++)
		while (ow_ring_push(&r, (void *)(base + i)) != OW_OK)
			sched_yield();
	return NULL;
}

static uint64_t consumed_sum;
static long consumed;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void *consumer(void *arg)
{
	(void)arg;
	void *p;
	uint64_t sum = 0;
	long n = 0;
	while ((p = ow_ring_pop(&r)) != NULL) {
		sum += (uintptr_t)p;
		n++;
	}
	pthread_mutex_lock(&mu);
	consumed_sum += sum;
	consumed += n;
	pthread_mutex_unlock(&mu);
	return NULL;
}

int main(void)
{
	ow_ring_init(&r, 5);
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

	ow_ring_init(&r, 64);
	pthread_t p[3], c[3];
	for (uintptr_t i = 0; i < 3; i++)
		pthread_create(&p[i], NULL, producer, (void *)(i * 1000000));
	for (int i = 0; i < 3; i++)
		pthread_create(&c[i], NULL, consumer, NULL);
	for (int i = 0; i < 3; i++)
		pthread_join(p[i], NULL);
	ow_ring_close(&r);
	for (int i = 0; i < 3; i++)
		pthread_join(c[i], NULL);
	uint64_t want = 0;
	for (uint64_t t = 0; t < 3; t++)
		want += t * 1000000 * PER_THREAD + (uint64_t)PER_THREAD * (PER_THREAD + 1) / 2;
	is_int(consumed, 3 * PER_THREAD, "3 producers and 3 consumers: every item consumed once");
	ok(consumed_sum == want, "and the items are the ones produced");
	is_int(ow_ring_push(&r, (void *)1), OW_AGAIN, "a closed ring takes nothing");
	ow_ring_destroy(&r);
	return done_testing();
}

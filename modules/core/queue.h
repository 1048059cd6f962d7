/*
 * queue.h - the counted queues between the pipeline's stages.
 *
 * Every handoff from one stage to the next goes through a named queue
 * that counts what waits in it (items and bytes) and how long items waited
 * before the next stage took them, and knows its capacity, so that
 * /metrics and the batch monitor show in front of which stage work piles
 * up. Where the two stages run on different threads the items travel in a
 * ring (ring.h) that counts into its queue; where both ends are on the
 * loop thread the items stay where they are (an open batch, a buffer) and
 * the queue only counts them, so no queue adds a hop or latency.
 *
 * A queue is filled on one thread and drained on another: the counters
 * are atomics. A capacity of 0 is "no limit of its own" (what bounds the
 * queue then is said where it is registered). Queues are registered and
 * listed on the loop thread, or before it runs.
 */
#ifndef OW_QUEUE_H
#define OW_QUEUE_H

#include <stdatomic.h>
#include <stdint.h>

/* Where a queue sits in the pipeline: the order it is listed in. */
enum ow_stage {
	OW_Q_DECODE,  /* source -> ingest workers (decode; flushes and merges too) */
	OW_Q_BATCH,   /* decoded messages in open batches (group commit) */
	OW_Q_WAL,     /* sealed batches -> the WAL writer thread */
	OW_Q_PUBLISH, /* durable batches -> the loop (storage, then the ack) */
	OW_Q_BUFFER,  /* published rows in memory until their part commits */
	OW_Q_FLUSH,   /* buffers due -> the flush job */
	OW_Q_MERGE,   /* committed active parts -> the janitor's merge */
	OW_Q_INDEX,   /* committed parts -> the index builder (modules/index) */
	OW_Q_QUERY,   /* queries -> the query threads */
};

typedef struct ow_queue ow_queue_t;

struct ow_queue {
	const char *name;
	int stage;
	uint64_t cap_items, cap_bytes;
	_Atomic uint64_t items, bytes;
	/* the takes that measured a wait, their sum and the longest, since
	 * start: rates of the sums give the mean wait of an interval */
	_Atomic uint64_t waits, wait_ns, wait_max_ns;
	ow_queue_t *next;
};

void ow_queue_register(ow_queue_t *q, const char *name, int stage, uint64_t cap_items,
		       uint64_t cap_bytes);
void ow_queue_unregister(ow_queue_t *q);
/* The registered queues, in pipeline order. */
const ow_queue_t *ow_queue_first(void);

void ow_queue_put(ow_queue_t *q, uint64_t items, uint64_t bytes);
/* items leave the queue; since (ow_mono_ns) is when they entered it, for
 * their wait, or 0 when they leave for no next stage (discarded) */
void ow_queue_take(ow_queue_t *q, uint64_t items, uint64_t bytes, int64_t since);
/* Either capacity reached: the stage in front of it pushes back. */
int ow_queue_full(const ow_queue_t *q);

#endif

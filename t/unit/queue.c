/* queue: the counted handoff between stages (modules/core/queue.h). Depth
 * in items and bytes, full at either capacity, never below zero, waits
 * measured only for items a stage took, listed in pipeline order. */
#include "../lib/tap.h"
#include "modules/core/core.h"
#include "modules/core/queue.h"

#include <time.h>

int main(void)
{
	ow_queue_t wal, batch, merge;
	ow_queue_register(&wal, "wal", OW_Q_WAL, 2, 0);
	ow_queue_register(&merge, "merge", OW_Q_MERGE, 0, 100);
	ow_queue_register(&batch, "batch", OW_Q_BATCH, 0, 0);
	const ow_queue_t *q = ow_queue_first();
	is_str(q ? q->name : NULL, "batch", "listed in pipeline order, not in registration order");
	is_str(q && q->next ? q->next->name : NULL, "wal", "... batch, wal");
	is_str(q && q->next && q->next->next ? q->next->next->name : NULL, "merge",
	       "... batch, wal, merge");

	ok(!ow_queue_full(&wal), "an empty queue is not full");
	ow_queue_put(&wal, 1, 1000);
	ok(!ow_queue_full(&wal), "1 of 2 items: not full (no byte limit)");
	ow_queue_put(&wal, 1, 10);
	ok(ow_queue_full(&wal), "2 of 2 items: full");
	int64_t since = ow_mono_ns();
	struct timespec ts = {0, 20 * 1000000};
	nanosleep(&ts, NULL);
	ow_queue_take(&wal, 1, 1000, since);
	ok(!ow_queue_full(&wal), "one taken: not full");
	is_int(atomic_load(&wal.items), 1, "depth: 1 item");
	is_int(atomic_load(&wal.bytes), 10, "depth: 10 bytes");
	is_int(atomic_load(&wal.waits), 1, "one wait measured");
	ok(atomic_load(&wal.wait_ns) >= 20 * 1000000, "it lasted the 20 ms slept");
	is_int(atomic_load(&wal.wait_max_ns), atomic_load(&wal.wait_ns), "and is the longest");
	ow_queue_take(&wal, 1, 10, ow_mono_ns());
	is_int(atomic_load(&wal.waits), 2, "a second wait measured");
	ok(atomic_load(&wal.wait_max_ns) >= 20 * 1000000, "the longest wait stays the longest");
	ow_queue_take(&wal, 5, 5, 0);
	is_int(atomic_load(&wal.items), 0, "taking more than is there leaves 0 items, not a wrap");
	is_int(atomic_load(&wal.bytes), 0, "and 0 bytes");
	is_int(atomic_load(&wal.waits), 2, "a discard (since 0) measures no wait");

	ow_queue_put(&merge, 1000, 99);
	ok(!ow_queue_full(&merge), "99 of 100 bytes, no item limit: not full");
	ow_queue_put(&merge, 1, 1);
	ok(ow_queue_full(&merge), "100 of 100 bytes: full");

	ow_queue_unregister(&wal);
	q = ow_queue_first();
	is_str(q && q->next ? q->next->name : NULL, "merge",
	       "an unregistered queue is no longer listed");
	ow_queue_unregister(&batch);
	ow_queue_unregister(&merge);
	ok(ow_queue_first() == NULL, "none left");
	return done_testing();
}

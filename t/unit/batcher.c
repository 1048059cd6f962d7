/* batcher: natural group commit (modules/wal/batcher.c) with no writer
 * thread and no clock: a message sealed at once while the writer is idle,
 * company while it is busy, sealed by max_messages (and a source's lower
 * limit), by max_size_bytes, by its source's timeout, a message larger
 * than max_size_bytes alone, one batch per (tenant, signal, source), and
 * a writer that cannot take a batch answering its messages OW_AGAIN. */
#include "../lib/tap.h"
#include "modules/wal/batcher.h"

#define NMSG 64

static ow_msg_t msgs[NMSG];
static int acked[NMSG], nacks[NMSG], nmsg;
static ow_batch_t *handed[NMSG];
static int nhanded, refuse;

static void ack(ow_msg_t *m, int rc)
{
	acked[m - msgs] = rc == OW_OK ? 1 : rc;
	nacks[m - msgs]++;
}

static int take(ow_batch_t *b, void *arg)
{
	OW_UNUSED(arg);
	if (refuse)
		return OW_ERROR;
	handed[nhanded++] = b;
	return OW_OK;
}

static ow_msg_t *msg(size_t len)
{
	ow_msg_t *m = &msgs[nmsg++];
	memset(m, 0, sizeof(*m));
	m->len = len;
	m->records = 1;
	m->ack = ack;
	return m;
}

/* A batcher whose writer is busy with one batch (inflight 1), so messages
 * wait for company. */
static ow_batcher_t busy(int64_t max_messages, int64_t max_size_bytes)
{
	ow_batcher_t bt = {.max_messages = max_messages,
			   .max_size_bytes = max_size_bytes,
			   .timeouts_ms = {100, 50, 500},
			   .hand = take,
			   .inflight = 1};
	return bt;
}

/* Answers every handed batch as the writer would and forgets them; the
 * batcher still counts them in flight, so the writer stays busy. */
static void written(void)
{
	for (int i = 0; i < nhanded; i++)
		ow_batch_finish(handed[i], OW_OK);
	nhanded = 0;
}

static int nopen(const ow_batcher_t *bt)
{
	int n = 0;
	for (const ow_batch_t *b = bt->open; b; b = b->next)
		n++;
	return n;
}

static void idle_seals_at_once(void)
{
	ow_batcher_t bt = busy(10, 1 << 20);
	bt.inflight = 0;
	ow_msg_t *m = msg(100);
	ow_batcher_add(&bt, m, "acme", OW_TRACES, OW_SRC_HTTP);
	is_int(nhanded, 1, "idle writer: the message is sealed at once");
	is_int(nopen(&bt), 0, "idle writer: nothing left open");
	is_int(bt.inflight, 1, "idle writer: the batch is in flight");
	ok(nhanded == 1 && handed[0]->nmsgs == 1 && handed[0]->msgs == m && handed[0]->sealed,
	   "idle writer: a sealed batch of that one message");
	is_int(acked[m - msgs], 0, "not acknowledged before it is written");
	written();
	is_int(acked[m - msgs], 1, "acknowledged OW_OK once written");
}

static void busy_groups(void)
{
	ow_batcher_t bt = busy(10, 1 << 20);
	for (int i = 0; i < 3; i++)
		ow_batcher_add(&bt, msg(100), "acme", OW_TRACES, OW_SRC_HTTP);
	is_int(nhanded, 0, "busy writer: three messages wait");
	ok(nopen(&bt) == 1 && bt.open->nmsgs == 3 && bt.open->bytes == 300,
	   "busy writer: they wait in one batch of 3 messages, 300 bytes");
	ow_batcher_written(&bt);
	ok(nhanded == 1 && handed[0]->nmsgs == 3, "writer idle: the group goes as one batch");
	is_int(nopen(&bt), 0, "writer idle: nothing left open");
	is_int(bt.inflight, 1, "writer idle: the group is in flight");
	/* the writer now busy with the group: the next message waits */
	ow_batcher_add(&bt, msg(100), "acme", OW_TRACES, OW_SRC_HTTP);
	ok(nhanded == 1 && nopen(&bt) == 1, "busy with the group: the next message waits");
	ow_batcher_written(&bt);
	ok(nhanded == 2 && handed[1]->nmsgs == 1, "and goes when the group is written");
	is_int(bt.inflight, 1, "that one batch in flight");
	written();
}

static void max_messages(void)
{
	ow_batcher_t bt = busy(3, 1 << 20);
	for (int i = 0; i < 2; i++)
		ow_batcher_add(&bt, msg(10), "acme", OW_LOGS, OW_SRC_GRPC);
	is_int(nhanded, 0, "max_messages 3: 2 messages wait");
	ow_batcher_add(&bt, msg(10), "acme", OW_LOGS, OW_SRC_GRPC);
	ok(nhanded == 1 && handed[0]->nmsgs == 3, "max_messages 3: the third seals the batch");
	is_int(nopen(&bt), 0, "max_messages 3: nothing left open");
	ow_batcher_add(&bt, msg(10), "acme", OW_LOGS, OW_SRC_GRPC);
	ok(nhanded == 1 && nopen(&bt) == 1 && bt.open->nmsgs == 1,
	   "max_messages 3: the fourth opens the next batch");
	ow_batcher_seal_all(&bt);
	written();

	/* a source's own limit (Kafka's batch_size) binds below max_messages,
	 * never above it */
	bt.limits[OW_SRC_KAFKA] = 2;
	for (int i = 0; i < 2; i++)
		ow_batcher_add(&bt, msg(10), "acme", OW_LOGS, OW_SRC_KAFKA);
	ok(nhanded == 1 && handed[0]->nmsgs == 2,
	   "source limit 2 under max_messages 3: sealed at 2");
	written();
	bt.limits[OW_SRC_KAFKA] = 100;
	for (int i = 0; i < 3; i++)
		ow_batcher_add(&bt, msg(10), "acme", OW_LOGS, OW_SRC_KAFKA);
	ok(nhanded == 1 && handed[0]->nmsgs == 3,
	   "source limit 100 over max_messages 3: sealed at 3");
	written();
}

static void max_size_bytes(void)
{
	ow_batcher_t bt = busy(100, 1000);
	ow_batcher_add(&bt, msg(400), "acme", OW_METRICS, OW_SRC_HTTP);
	ow_batcher_add(&bt, msg(400), "acme", OW_METRICS, OW_SRC_HTTP);
	ok(nhanded == 0 && bt.open && bt.open->bytes == 800, "800 of 1000 bytes: open");
	ow_batcher_add(&bt, msg(400), "acme", OW_METRICS, OW_SRC_HTTP);
	ok(nhanded == 1 && handed[0]->nmsgs == 2 && handed[0]->bytes == 800,
	   "a message that would pass 1000 bytes seals the 800 before it");
	ok(nopen(&bt) == 1 && bt.open->nmsgs == 1 && bt.open->bytes == 400,
	   "and starts the next batch");
	ow_batcher_add(&bt, msg(600), "acme", OW_METRICS, OW_SRC_HTTP);
	ok(nhanded == 2 && handed[1]->bytes == 1000, "exactly 1000 bytes: sealed at once");
	is_int(nopen(&bt), 0, "exactly 1000 bytes: nothing left open");
	written();
}

static void oversized_alone(void)
{
	ow_batcher_t bt = busy(100, 1000);
	ow_batch_t *before;
	ow_batcher_add(&bt, msg(300), "acme", OW_TRACES, OW_SRC_GRPC);
	before = bt.open;
	ow_msg_t *big = msg(5000);
	ow_batcher_add(&bt, big, "acme", OW_TRACES, OW_SRC_GRPC);
	ok(nhanded == 2 && handed[0] == before && handed[0]->nmsgs == 1,
	   "a 5000-byte message seals the open batch first, unchanged");
	ok(nhanded == 2 && handed[1]->nmsgs == 1 && handed[1]->msgs == big,
	   "then goes alone in a batch of its own");
	is_int(nopen(&bt), 0, "nothing left open");
	written();
	ow_batcher_add(&bt, msg(5000), "acme", OW_TRACES, OW_SRC_GRPC);
	ok(nhanded == 1 && handed[0]->nmsgs == 1 && nopen(&bt) == 0,
	   "with no open batch, it goes alone at once");
	written();
}

static void timeouts(void)
{
	ow_batcher_t bt = busy(100, 1 << 20);
	is_int(ow_batcher_due(&bt), INT64_MAX, "nothing open: no timeout due");
	ow_batcher_add(&bt, msg(10), "acme", OW_TRACES, OW_SRC_HTTP); /* 100 ms */
	ow_batcher_add(&bt, msg(10), "acme", OW_TRACES, OW_SRC_GRPC); /* 50 ms */
	ow_batch_t *h = NULL, *g = NULL;
	for (ow_batch_t *b = bt.open; b; b = b->next)
		*(b->source == OW_SRC_HTTP ? &h : &g) = b;
	ok(h && g, "one open batch per source");
	if (!h || !g)
		return;
	/* both opened at the same moment, on a clock the test chooses */
	const int64_t t0 = 1000000000;
	h->opened_mono = g->opened_mono = t0;
	is_int(ow_batcher_due(&bt), t0 + 50000000, "due: the earlier timeout (gRPC, 50 ms)");
	ow_batcher_expire(&bt, t0 + 50000000 - 1);
	is_int(nhanded, 0, "1 ns before 50 ms: nothing sealed");
	ow_batcher_expire(&bt, t0 + 50000000);
	ok(nhanded == 1 && handed[0] == g, "at 50 ms: the gRPC batch is sealed");
	ok(nopen(&bt) == 1 && bt.open == h, "the HTTP batch still waits");
	is_int(ow_batcher_due(&bt), t0 + 100000000, "due: the HTTP timeout (100 ms)");
	ow_batcher_expire(&bt, t0 + 100000000);
	ok(nhanded == 2 && handed[1] == h, "at 100 ms: the HTTP batch is sealed");
	is_int(ow_batcher_due(&bt), INT64_MAX, "nothing open: no timeout due");
	written();
}

static void per_key(void)
{
	ow_batcher_t bt = busy(100, 1 << 20);
	static const struct {
		const char *tenant;
		int signal, source;
	} keys[] = {
	    {"acme", OW_TRACES, OW_SRC_HTTP},  {"acme", OW_LOGS, OW_SRC_HTTP},
	    {"other", OW_TRACES, OW_SRC_HTTP}, {"acme", OW_TRACES, OW_SRC_GRPC},
	    {"acme", OW_TRACES, OW_SRC_HTTP},  {"other", OW_TRACES, OW_SRC_HTTP},
	};
	for (size_t i = 0; i < OW_NELEMS(keys); i++)
		ow_batcher_add(&bt, msg(10), keys[i].tenant, keys[i].signal, keys[i].source);
	is_int(nopen(&bt), 4, "4 distinct (tenant, signal, source): 4 open batches");
	ow_batcher_seal_all(&bt);
	is_int(nhanded, 4, "seal_all: 4 batches handed");
	is_int(nopen(&bt), 0, "seal_all: nothing left open");
	for (size_t k = 0; k < 4; k++) {
		int found = 0;
		for (int i = 0; i < nhanded; i++) {
			const ow_batch_t *b = handed[i];
			if (strcmp(b->tenant, keys[k].tenant) != 0 || b->signal != keys[k].signal ||
			    b->source != keys[k].source)
				continue;
			found++;
			/* every message in it came with that key */
			uint32_t want = k == 0 || k == 2 ? 2 : 1;
			is_int(b->nmsgs, want, "%s/%d/%d: %u messages", keys[k].tenant,
			       keys[k].signal, keys[k].source, want);
		}
		is_int(found, 1, "%s/%d/%d: exactly one batch", keys[k].tenant, keys[k].signal,
		       keys[k].source);
	}
	written();
}

static void writer_refuses(void)
{
	ow_batcher_t bt = busy(100, 1 << 20);
	ow_msg_t *a = msg(10), *b = msg(10);
	ow_batcher_add(&bt, a, "acme", OW_TRACES, OW_SRC_HTTP);
	ow_batcher_add(&bt, b, "acme", OW_TRACES, OW_SRC_HTTP);
	refuse = 1;
	ow_batcher_written(&bt);
	refuse = 0;
	is_int(acked[a - msgs], OW_AGAIN, "writer cannot take the batch: first message OW_AGAIN");
	is_int(acked[b - msgs], OW_AGAIN, "and the second");
	is_int(bt.inflight, 0, "nothing counted in flight");
	is_int(nopen(&bt), 0, "nothing left open");
}

int main(void)
{
	idle_seals_at_once();
	busy_groups();
	max_messages();
	max_size_bytes();
	oversized_alone();
	timeouts();
	per_key();
	writer_refuses();
	int all = 1;
	for (int i = 0; i < nmsg; i++)
		if (nacks[i] != 1) {
			printf("# message %d acknowledged %d times\n", i, nacks[i]);
			all = 0;
		}
	ok(all, "every message acknowledged exactly once (%d)", nmsg);
	return done_testing();
}

/*
 * batcher.c - natural group commit (wal.h): a message waits for company
 * only while the writer is busy, so an idle server writes each request at
 * once and a loaded one writes fewer, larger files.
 */
#include "batcher.h"

static void seal(ow_batcher_t *bt, ow_batch_t *b)
{
	b->sealed = 1;
	if (bt->hand(b, bt->arg) != OW_OK) {
		ow_batch_finish(b, OW_AGAIN);
		return;
	}
	bt->inflight++;
}

static void unlink_open(ow_batcher_t *bt, ow_batch_t *b)
{
	for (ow_batch_t **pp = &bt->open; *pp; pp = &(*pp)->next)
		if (*pp == b) {
			*pp = b->next;
			return;
		}
}

void ow_batcher_seal_all(ow_batcher_t *bt)
{
	while (bt->open) {
		ow_batch_t *b = bt->open;
		bt->open = b->next;
		seal(bt, b);
	}
}

void ow_batcher_written(ow_batcher_t *bt)
{
	bt->inflight--;
	if (bt->inflight == 0)
		ow_batcher_seal_all(bt);
}

void ow_batcher_add(ow_batcher_t *bt, ow_msg_t *m, const char *tenant, int signal, int source)
{
	ow_batch_t *b;
	for (b = bt->open; b; b = b->next)
		if (b->signal == signal && b->source == source && strcmp(b->tenant, tenant) == 0)
			break;
	/* A message that would push a batch past max_size_bytes starts the
	 * next one; a single message larger than the limit goes alone. */
	if (b && b->bytes + m->len > (uint64_t)bt->max_size_bytes) {
		unlink_open(bt, b);
		seal(bt, b);
		b = NULL;
	}
	if (b == NULL) {
		b = ow_batch_new(tenant, signal, source);
		b->next = bt->open;
		bt->open = b;
	}
	ow_batch_add(b, m);
	int64_t most =
	    bt->limits[source] ? OW_MIN(bt->limits[source], bt->max_messages) : bt->max_messages;
	if (b->nmsgs >= (uint64_t)most || b->bytes >= (uint64_t)bt->max_size_bytes) {
		unlink_open(bt, b);
		seal(bt, b);
	}
	if (bt->inflight == 0)
		ow_batcher_seal_all(bt);
}

int64_t ow_batcher_due(const ow_batcher_t *bt)
{
	int64_t due = INT64_MAX;
	for (const ow_batch_t *b = bt->open; b; b = b->next)
		due = OW_MIN(due, b->opened_mono + bt->timeouts_ms[b->source] * 1000000);
	return due;
}

void ow_batcher_expire(ow_batcher_t *bt, int64_t now)
{
	ow_batch_t *b = bt->open;
	while (b) {
		ow_batch_t *next = b->next;
		if (now - b->opened_mono >= bt->timeouts_ms[b->source] * 1000000) {
			unlink_open(bt, b);
			seal(bt, b);
		}
		b = next;
	}
}

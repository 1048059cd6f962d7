/*
 * batcher.h - which open batch a message joins and when a batch is sealed
 * (natural group commit, described in wal.h). Loop thread. It owns no
 * clock, timer or thread: wal.c arms the timer from ow_batcher_due() and
 * hands sealed batches to its writer through hand(), so a unit test can
 * drive every decision with a struct it builds.
 */
#ifndef OW_BATCHER_H
#define OW_BATCHER_H

#include "../core/batch.h"

typedef struct ow_batcher {
	ow_batch_t *open;  /* at most one per (tenant, signal, source) */
	uint64_t inflight; /* batches handed on, not yet written */
	int64_t max_messages, max_size_bytes;
	int64_t timeouts_ms[OW_NSOURCES];
	int64_t limits[OW_NSOURCES]; /* messages per batch; 0: max_messages */
	/* Takes a sealed batch to be written: OW_OK, or anything else when it
	 * cannot (the batch's messages are then answered OW_AGAIN). */
	int (*hand)(ow_batch_t *b, void *arg);
	void *arg;
} ow_batcher_t;

/* Adds a message with records to its (tenant, signal, source)'s open
 * batch, sealing what the limits or an idle writer say must go. */
void ow_batcher_add(ow_batcher_t *bt, ow_msg_t *m, const char *tenant, int signal, int source);
/* A batch handed on is written: with none left in flight, the writer is
 * idle and the open batches go at once. */
void ow_batcher_written(ow_batcher_t *bt);
/* Seals every open batch. */
void ow_batcher_seal_all(ow_batcher_t *bt);
/* When the first open batch's timeout falls (ow_mono_ns() time), or
 * INT64_MAX with none open. */
int64_t ow_batcher_due(const ow_batcher_t *bt);
/* Seals the open batches whose timeout has passed at now. */
void ow_batcher_expire(ow_batcher_t *bt, int64_t now);

#endif

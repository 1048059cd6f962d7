/*
 * wal.h - batch formation and the write-ahead log.
 *
 * Sources hand decoded messages to ow_wal_add() on the loop thread. The
 * batcher groups them per (tenant, signal, source) by natural group
 * commit: while the writer thread is idle a message is sealed into a batch
 * at once; while it is busy, messages wait for company until the writer is
 * free, the batch is full (max_messages / max_size_bytes) or the source's
 * batch timeout passes. The writer writes each batch as one file, fsyncs
 * it and its directory, hands it to the stage after the WAL (storage,
 * ow_wal_set_sink), and only then are its messages acknowledged. A
 * message without records (an empty request, or one whose every record was
 * rejected as invalid) has nothing to make durable: it is acknowledged at
 * once and joins no batch.
 */
#ifndef OW_WAL_H
#define OW_WAL_H

#include "../core/batch.h"
#include "../core/module.h"
#include "walfile.h"

extern ow_module_t ow_wal_module;

void ow_wal_add(ow_msg_t *m, const char *tenant, int signal, int source);
void ow_wal_set_timeout(int source, int64_t ms);
/* At most this many messages per batch of the source (and never more than
 * batch_config.max_messages). */
void ow_wal_set_limit(int source, int64_t messages);
int ow_wal_disk_full(void); /* nonzero while writes fail with ENOSPC */
const char *ow_wal_dir(void);
uint64_t ow_wal_inflight_batches(void);

/*
 * The WAL module is the one owner of WAL files: it alone names, reads and
 * removes them. Others hold an ow_walref_t and ask.
 */

/* Which file holds a durable batch (a rewrite after a failed fsync has a
 * name of its own). Its holder copies it and hands it back; only wal.c
 * reads its fields. */
typedef struct {
	char tenant[OW_TENANT_MAX + 1];
	char id[OW_BATCH_ID_LEN + 1];
	int attempt;
} ow_walref_t;

/* The file a batch was written to, once it is durable. */
void ow_wal_ref(const ow_batch_t *b, ow_walref_t *ref);

/* After its rows are stored (any thread): removes the batch's file. Each
 * directory is synced once, after the last removal in it: next is the
 * file the caller releases next (NULL: none). OW_OK when it was removed. */
int ow_wal_release(const ow_walref_t *ref, const ow_walref_t *next);

/* A complete file that recovery replays: what its header says, its size,
 * which file it is; the rest is wal.c's, for ow_wal_records(). */
typedef struct {
	ow_walinfo_t info;
	ow_walref_t ref;
	uint64_t file_bytes;
	const uint8_t *image;
	int (*keep)(void *arg, const ow_walpos_t *pos);
	void *keep_arg;
} ow_walbatch_t;

/* One record: its Kafka position (zeroed for other sources) and payload. */
typedef void (*ow_walrec_fn)(void *arg, const ow_walpos_t *pos, const uint8_t *payload, size_t len);

/* Hands each record of the batch that is to be replayed to each, in order.
 * OW_ERROR when a record's position is malformed (it is passed over). */
int ow_wal_records(const ow_walbatch_t *wb, ow_walrec_fn each, void *arg);

/* The stage after the WAL (storage) registers itself in its init, before
 * recovery: publish takes every durable batch before its requests are
 * answered; replay takes every complete file recovery finds and returns
 * OW_OK when rows were replayed (records set), OW_DECLINED when the batch
 * is already stored, OW_AGAIN when no record is kept (the file is removed
 * either way), OW_ERROR when its records do not decode (quarantined). */
void ow_wal_set_sink(void (*publish)(ow_batch_t *b),
		     int (*replay)(const ow_walbatch_t *wb, uint64_t *records));

/* A source whose records recovery may not replay on its own registers in
 * its init: recovery hands it each complete file of its batches instead,
 * and it replays them later with ow_wal_replay (Kafka asks its group for
 * the committed offsets first). Loop thread. */
void ow_wal_set_adopter(int source, void (*adopt)(const ow_walref_t *ref));

/* For an adopter (loop thread): hands every record of the file to each.
 * OW_ERROR when the file cannot be read or is not complete and valid. */
int ow_wal_scan(const ow_walref_t *ref, ow_walrec_fn each, void *arg);

/* For an adopter (loop thread): replays the records keep accepts into the
 * stage after the WAL, or removes the file when nothing is left to store,
 * or quarantines it when it does not decode. OW_OK when rows were replayed
 * (records grows). */
int ow_wal_replay(const ow_walref_t *ref, int (*keep)(void *arg, const ow_walpos_t *pos),
		  void *keep_arg, uint64_t *records);

#endif

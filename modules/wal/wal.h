/*
 * wal.h - batch formation and the write-ahead log.
 *
 * Sources hand decoded messages to ow_wal_add() on the loop thread. The
 * batcher groups them per (tenant, signal, source) by natural group
 * commit: while the writer thread is idle a message is sealed into a batch
 * at once; while it is busy, messages wait for company until the writer is
 * free, the batch is full (max_messages / max_size_bytes) or the source's
 * batch timeout passes. The writer writes each batch as one file, fsyncs
 * it and its directory, and only then are its messages acknowledged. A
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
/* The file a batch was written to (a rewrite after a failed fsync has a
 * suffix). */
void ow_wal_batch_path(const ow_batch_t *b, char *out, size_t len);

/* Recovery of one complete file (loop thread): replays the records keep
 * accepts (all when NULL) into storage, or removes the file when nothing
 * is left to store, or quarantines it when it does not decode. OW_OK when
 * rows were replayed (nrecords grows), else OW_DECLINED / OW_ERROR. */
int ow_wal_replay(ow_walinfo_t *info, const char *path, const uint8_t *img, size_t len,
		  int (*keep)(void *arg, const ow_walpos_t *pos), void *keep_arg,
		  uint64_t *nrecords);

#endif

/*
 * storage.h - the in-memory buffers and the immutable Parquet parts.
 *
 * A batch whose WAL file is durable is handed here (storage registers as
 * the WAL's sink in its init) before its requests are acknowledged: its
 * rows join the buffer of its (tenant, signal). A buffer is flushed on
 * size or age into sorted parts, one per UTC day, committed in ONE
 * synchronous SQLite transaction with the batch -> part mapping and STORED
 * for every batch it holds; then the batches' WAL files are released to
 * the WAL module, which deletes them (wal_removed_at). The janitor drops
 * expired parts (ow_storage_drop_parts).
 */
#ifndef OW_STORAGE_H
#define OW_STORAGE_H

#include "../core/batch.h"

#include <stdatomic.h>

#include "../catalog/catalog.h"
#include "../core/module.h"
#include "../core/column.h"

extern ow_module_t ow_storage_module;

/* Rows published by one request, never changed once published: readers on
 * other threads may hold references. */
typedef struct {
	atomic_int refs;
	ow_table_t table;
	char batch_id[OW_BATCH_ID_LEN + 1]; /* the batch and message it came from */
	uint32_t seq;
} ow_chunk_t;

/* Loop thread: what the WAL's sink does with a durable batch (its
 * messages' tables become the buffer's chunks), for tests that have no
 * WAL writer to call it. */
void ow_storage_publish(ow_batch_t *b);

/* A Kafka batch is published held: its buffer does not flush until the
 * Kafka module has committed the offsets of all its messages and released
 * them (n messages at a time). Loop thread. */
void ow_storage_release(const char *batch_id, uint32_t n);
/* Takes the rows of message seq of a held batch out of the buffer: its
 * offset could not be committed, and Kafka delivers it to another node.
 * The WAL file still has it; recovery would not replay it (kafka.c). */
void ow_storage_discard(const char *batch_id, uint32_t seq);

/* Any thread: writes rows perm[0..n) of t (of signal's schema) as a part of
 * kind "active" or "stable" for the UTC day (days since the epoch): a
 * temporary name, fdatasync, rename, directory fsync. OW_OK, or OW_ERROR
 * with p->err and nothing left behind. */
int ow_storage_write_part(const char *tenant, int signal, const ow_table_t *t, const uint32_t *perm,
			  size_t n, int64_t day, const char *kind, const char *batch_ids,
			  ow_part_t *p);
/* Days since the epoch of a time in ns, rounding down. */
int64_t ow_storage_day(int64_t ns);
/* storage.parquet.row_group_size: the rows of a part's row group. */
size_t ow_storage_row_group_rows(void);
/* The most keys a part of rows rows shreds: storage.parquet.shred_keys,
 * none below storage.parquet.shred_min_rows. */
int ow_storage_shred_keys(size_t rows);

/* A committed part as readers see it: the loop's catalog holds one
 * reference, each snapshot one more. A part a merge replaced is unlinked
 * when its last reference goes. */
typedef struct ow_partref {
	atomic_int refs;
	int removed;
	char id[33];
	char rel[1024];
	char tenant[OW_TENANT_MAX + 1];
	int signal;
	int64_t min_time, max_time;
	uint64_t rows, bytes;
	int64_t merge_mono; /* an active part: when it joined the merge queue (its
			     * commit, or the start) */
	/* what readers keep of the part between queries (its mapping and
	 * parsed footer): set once by the first reader, freed with the part */
	_Atomic(void *) cache;
	void (*cache_free)(void *cache);
	/* its full-text index as modules/index loaded it (NULL: none yet);
	 * index_free, set by the part hook, runs when the last reference
	 * goes (also for a part whose index never loaded) */
	_Atomic(void *) index;
	void (*index_free)(struct ow_partref *p);
	struct ow_partref *next;
} ow_partref_t;

/* Loop thread: fn is called with each part the readers' catalog holds
 * now, and from now on with each part it takes in (a flush's, a merge's):
 * the index module's way to every committed part. One hook. */
void ow_storage_part_hook(void (*fn)(ow_partref_t *p));
/* Loop thread, at init: fn is called (on any thread) with each part as
 * its last reference goes, before it is freed: what a reader keeps by a
 * part's address goes with it (modules/prom's series cache). One hook. */
void ow_storage_part_gone_hook(void (*fn)(ow_partref_t *p));
/* Loop thread, at init: fn is called on the loop with the tenant and the
 * least row time (ns) of every change to signal's rows that readers see:
 * a batch's rows published into the buffer or replayed from the WAL, a
 * held message's rows discarded (ow_storage_discard), a part dropped (its
 * min_time: at the drop, or for a part dropped before its flush published
 * it, when its flush ends and its rows leave the buffer); never for a
 * flush or a merge, which move rows and change none (modules/prom's
 * result cache). One hook. */
void ow_storage_change_hook(int signal, void (*fn)(const char *tenant, int64_t min_ns));
/* Any thread: a reference more on p, and its release (the part freed, and
 * its file unlinked if a merge replaced it, with the last). */
void ow_storage_part_ref(ow_partref_t *p);
void ow_storage_part_unref(ow_partref_t *p);
/* Loop thread: every part the readers' catalog holds, a reference each
 * (the caller unrefs them and frees the array); *n of them. */
ow_partref_t **ow_storage_parts(size_t *n);

/* What one query reads: the committed parts and the buffered chunks of a
 * (tenant, signal) at one moment. Publishing a part and releasing the
 * buffer rows it holds happen in one step on the loop, so a snapshot never
 * sees a row twice or misses one. */
typedef struct ow_snapshot_s {
	ow_chunk_t **chunks;
	size_t nchunks;
	ow_partref_t **parts;
	size_t nparts;
} ow_snapshot_t;

/* Loop thread. */
ow_snapshot_t *ow_storage_snapshot(const char *tenant, int signal);
/* Any thread. */
void ow_storage_snapshot_free(ow_snapshot_t *s);
/* Loop thread, after a merge's commit: the stable part replaces the
 * listed active parts. */
void ow_storage_swap_parts(const char *tenant, int signal, char ids[][33], int n,
			   const ow_part_t *stable);

/* Loop thread: calls fn for the tenant of every buffer and committed part
 * (a tenant as often as it has them): the tenants with data, once
 * recovery has replayed the WAL. */
void ow_storage_tenants(void (*fn)(void *arg, const char *tenant), void *arg);

/* Loop thread, after a retention drop's commit (ow_catalog_drop): the
 * parts leave the readers' list, their files go with the last query that
 * holds them. */
void ow_storage_drop_parts(char ids[][33], int n);
/* Bytes of parts removed from the list (dropped or merged away) whose
 * files still wait for their last reader: disk that is as good as free.
 * Any thread. */
uint64_t ow_storage_unlink_pending(void);

/* Free disk below storage.disk.critical_watermark_percent (the janitor
 * measures it): sources answer 503 as they do on ENOSPC. Any thread. */
void ow_storage_set_disk_critical(int on);
int ow_storage_disk_critical(void);

/* Nonzero while the buffers hold memory.max_buffer_bytes or more: sources
 * answer 503 until a flush frees memory. */
int ow_storage_full(void);
uint64_t ow_storage_buffered_bytes(void);

#endif

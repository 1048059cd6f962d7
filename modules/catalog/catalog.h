/*
 * catalog.h - the part catalog: the tables parts and batch_parts of
 * data/openwit.db, and every statement that names them (catalog.c, where
 * their invariants are written). Flushes commit parts here (the STORED
 * transaction), the janitor swaps merged parts and drops expired ones,
 * recovery asks which part files are orphans, and readers list the parts:
 * the server once at start, `openwit sql` on a read-only handle without a
 * server. The tracker's completion asks whether a batch is in any part
 * through OW_CATALOG_UNMAPPED_SQL.
 */
#ifndef OW_CATALOG_H
#define OW_CATALOG_H

#include "../core/core.h"
#include "../core/module.h"

extern ow_module_t ow_catalog_module;

/* The tables, created by the tracker's schema migration to version 2. */
extern const char ow_catalog_schema[];
/* SQL true for a batch_tracker row whose rows no listed part holds: never
 * stored in a part, or every part of it dropped by retention. */
#define OW_CATALOG_UNMAPPED_SQL                                                                    \
	"NOT EXISTS (SELECT 1 FROM batch_parts p WHERE p.batch_id = batch_tracker.batch_id)"

/* A part file: written and synced by storage (nospace and err say why a
 * write failed), then listed by the catalog. */
typedef struct {
	char id[33];
	char rel[1024]; /* path below the data directory */
	char day[11];	/* YYYY-MM-DD, UTC */
	int64_t min_time, max_time;
	uint64_t rows, bytes;
	int nospace;   /* the failure was ENOSPC */
	char err[512]; /* why it failed */
} ow_part_t;

/* A batch whose rows the parts of a STORED transaction hold: its tracker
 * row is written whole, as the tracker may not have inserted it yet. */
typedef struct {
	const char *id, *tenant;
	int signal, source;
	uint64_t nmsgs, records, file_bytes;
	int64_t created_ns, wal_done_ns;
} ow_catalog_batch_t;

/* Binds ?1..?9 of an insert of b's batch_tracker row: batch_id,
 * client_id, signal, source, batch_size, message_count, record_count,
 * created_at, wal_completed_at. The tracker's insert and the STORED
 * transaction's write the same row. */
struct sqlite3_stmt;
void ow_catalog_bind_batch(struct sqlite3_stmt *st, const ow_catalog_batch_t *b);

typedef struct ow_catalog ow_catalog_t;

/* The one writer connection on the database file at path, whose schema
 * the tracker has created (synchronous=FULL). OW_OK, or OW_ERROR with err. */
int ow_catalog_open(const char *path, ow_catalog_t **out, char *err, size_t errlen);
/* A read-only handle on DATA_DIR/openwit.db that adds no file to the data
 * directory, beside a running server or without one (openwit sql). */
int ow_catalog_open_readonly(const char *data_dir, ow_catalog_t **out, char *err, size_t errlen);
void ow_catalog_close(ow_catalog_t *c);
/* The server's writer, open from the catalog module's init to its stop. */
ow_catalog_t *ow_catalog_server(void);

/* Every function below may be called from any thread: calls on one handle
 * run one at a time. On OW_ERROR, err says why. */

/* The STORED transaction: the parts of (tenant, signal) as active parts,
 * every batch mapped to every part, and STORED for every batch, in one
 * synchronous commit. */
int ow_catalog_commit_stored(ow_catalog_t *c, const char *tenant, int signal,
			     const ow_part_t *parts, int nparts, const ow_catalog_batch_t *batches,
			     size_t nbatches, char *err, size_t errlen);
/* Nonzero when batch_id was committed STORED. */
int ow_catalog_is_stored(ow_catalog_t *c, const char *batch_id);

/* The batches whose rows part_id holds, each with every part that holds
 * its rows (ids separated by commas): fn returns OW_OK to go on. */
typedef int (*ow_catalog_batch_fn)(void *arg, const char *batch_id, const char *part_ids);
int ow_catalog_batches_of(ow_catalog_t *c, const char *part_id, ow_catalog_batch_fn fn, void *arg,
			  char *err, size_t errlen);

/* The merge swap, in one synchronous commit: the stable part in, the
 * batches of the n active parts ids mapped to it, the active parts out. */
int ow_catalog_swap(ow_catalog_t *c, const char *tenant, int signal, const ow_part_t *stable,
		    char ids[][33], int n, char *err, size_t errlen);
/* The retention drop, in one synchronous commit: the parts ids out,
 * with their batch mappings. Ids no longer listed are skipped. The
 * batches that lost a mapping are appended to batches, comma-separated
 * (for the tracker's completion), and *dropped says how many parts went. */
int ow_catalog_drop(ow_catalog_t *c, char ids[][33], int n, ow_buf_t *batches, int *dropped,
		    char *err, size_t errlen);
/* The oldest (tenant, signal, day) due for a merge: two or more active
 * parts whose bytes reach min_bytes or whose oldest was committed
 * older_minutes ago. Its first max active parts, oldest first, go to ids
 * and paths (below the data directory). OW_OK, OW_DECLINED when no group
 * is due, OW_ERROR. */
int ow_catalog_merge_group(ow_catalog_t *c, int64_t min_bytes, int64_t older_minutes, int max,
			   char tenant[OW_TENANT_MAX + 1], int *signal, char ids[][33],
			   char paths[][1024], int *n, char *err, size_t errlen);

/* The listed parts, in one read transaction (what fn does with a part,
 * such as mapping its file, happens before a later commit is seen): the
 * parts of tenant ordered by signal, min_time and path, or every part in
 * no promised order when tenant is NULL. signal is -1 for a name this openwit
 * does not know. fn returns OW_OK to go on; anything else stops the
 * listing and is returned. OW_ERROR with SQLite's message in err when
 * SQLite fails. */
typedef int (*ow_catalog_part_fn)(void *arg, const char *tenant, int signal, const ow_part_t *p);
int ow_catalog_list(ow_catalog_t *c, const char *tenant, ow_catalog_part_fn fn, void *arg,
		    char *err, size_t errlen);

/* Orphans below data_dir/parquet: unfinished writes (*.tmp) and part files
 * the catalog does not list, in the order of a depth-first walk.
 * Returns how many; *out (free with ow_catalog_orphans_free) has their
 * paths (data_dir/...). */
typedef struct {
	char *path;
	int unfinished; /* a *.tmp file */
} ow_catalog_orphan_t;
size_t ow_catalog_orphans(ow_catalog_t *c, const char *data_dir, ow_catalog_orphan_t **out);
void ow_catalog_orphans_free(ow_catalog_orphan_t *o, size_t n);

#endif

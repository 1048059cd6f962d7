/*
 * catalog.c - see catalog.h. The part catalog in data/openwit.db, whose
 * schema the tracker's migrations create (version 2, ow_catalog_schema):
 *
 *   parts          one row per committed Parquet file: part_id, tenant,
 *                  signal, day (UTC, YYYY-MM-DD), kind (active | stable),
 *                  path (relative to the data directory), min_time and
 *                  max_time (ns), rows, bytes, created_at
 *   batch_parts    which parts hold the rows of which batch
 *
 * Invariants (every function below keeps them; nothing else writes these
 * tables):
 *
 *  1. A part is listed only once its file and directory are durable: the
 *     writer syncs them before it asks for the commit. Readers go by the
 *     catalog, so a listed part can always be read.
 *  2. STORED is one transaction: a flush's parts, the mapping of every
 *     batch of the flush to every one of its parts, and storage_pip for
 *     every batch commit together with synchronous=FULL, or nothing does.
 *     A batch is never half stored, and its WAL file may go only after
 *     this commit.
 *  3. A merge's swap is one transaction too: the stable part in, the
 *     batches of the active parts mapped to it, the active parts and their
 *     mappings out. Readers see the active parts or the stable one, never
 *     both and never neither; a batch is mapped to the parts that hold its
 *     rows. Only active parts are merged.
 *  4. Retention drops whole parts in one transaction too: the parts and
 *     their mappings out together (a batch stays mapped only to the parts
 *     that still hold its rows; the tracker's rows stay). Their files are
 *     unlinked after the commit.
 *  5. A part file the catalog does not list is an orphan: a flush or merge
 *     that never committed (its batches are not STORED, or are STORED in
 *     the parts it would have replaced, so their rows are not lost), or an
 *     active part a committed swap replaced, or a dropped part whose
 *     unlink did not happen. Recovery may delete orphans.
 *  6. One writer connection, with synchronous=FULL, and calls on a handle
 *     run one at a time (a mutex), so a transaction never interleaves with
 *     another: flushes and merges call from worker threads; the loop calls
 *     only during start and recovery, so the mutex never holds it up
 *     while it serves. The tracker's connection writes batch_tracker
 *     beside it, hence the busy timeout.
 *  7. A reader outside the server (openwit sql) opens the file read-only
 *     and never adds a file to the data directory (below).
 *
 * Times (created_at) are UTC text "YYYY-MM-DD HH:MM:SS.mmm", which
 * SQLite's date functions compare and compute with directly.
 */
#include "catalog.h"
#include "../core/log.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

const char ow_catalog_schema[] =
    "CREATE TABLE parts ("
    " part_id TEXT PRIMARY KEY,"
    " tenant TEXT NOT NULL,"
    " signal TEXT NOT NULL,"
    " day TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " path TEXT NOT NULL,"
    " min_time INTEGER NOT NULL,"
    " max_time INTEGER NOT NULL,"
    " rows INTEGER NOT NULL,"
    " bytes INTEGER NOT NULL,"
    " created_at TEXT NOT NULL);"
    "CREATE INDEX parts_tenant_signal_day ON parts(tenant, signal, day);"
    "CREATE TABLE batch_parts ("
    " batch_id TEXT NOT NULL,"
    " part_id TEXT NOT NULL,"
    " PRIMARY KEY (batch_id, part_id)) WITHOUT ROWID;"
    "CREATE INDEX batch_parts_part ON batch_parts(part_id);";

struct ow_catalog {
	sqlite3 *db;
	pthread_mutex_t mu;
};

static ow_catalog_t *server;

ow_catalog_t *ow_catalog_server(void)
{
	return server;
}

/* err: "what: SQLite's message", or the message alone when what is NULL.
 * Called where a statement failed: finalizing or preparing another one
 * clears the message. */
static int fail(ow_catalog_t *c, const char *what, char *err, size_t errlen)
{
	if (what)
		snprintf(err, errlen, "%s: %s", what, sqlite3_errmsg(c->db));
	else
		snprintf(err, errlen, "%s", sqlite3_errmsg(c->db));
	return OW_ERROR;
}

static int exec(ow_catalog_t *c, const char *sql)
{
	return sqlite3_exec(c->db, sql, NULL, NULL, NULL) == SQLITE_OK ? OW_OK : OW_ERROR;
}

/* Ends a write transaction: COMMIT when ok, else ROLLBACK (err already
 * says why the statement that failed did). */
static int finish(ow_catalog_t *c, int ok, const char *what, char *err, size_t errlen)
{
	if (ok && exec(c, "COMMIT") == OW_OK)
		return OW_OK;
	if (ok)
		fail(c, what, err, errlen);
	exec(c, "ROLLBACK");
	return OW_ERROR;
}

static ow_catalog_t *catalog_new(sqlite3 *db)
{
	ow_catalog_t *c = ow_calloc(1, sizeof(*c));
	c->db = db;
	pthread_mutex_init(&c->mu, NULL);
	return c;
}

int ow_catalog_open(const char *path, ow_catalog_t **out, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	*out = NULL;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return OW_ERROR;
	}
	/* the tracker's thread writes batch_tracker on its own connection */
	sqlite3_busy_timeout(db, 10000);
	*out = catalog_new(db);
	if (exec(*out, "PRAGMA synchronous = FULL") != OW_OK) {
		fail(*out, path, err, errlen);
		ow_catalog_close(*out);
		*out = NULL;
		return OW_ERROR;
	}
	return OW_OK;
}

/* "file:" URI of a path: %, ? and # escaped, an absolute path after an
 * empty authority. */
static void file_uri(const char *path, char *out, size_t len)
{
	size_t n = (size_t)snprintf(out, len, "file:%s", path[0] == '/' ? "//" : "");
	for (const char *c = path; *c && n + 4 < len; c++)
		n += (size_t)(strchr("%?#", *c) ? snprintf(out + n, len - n, "%%%02X", *c)
						: snprintf(out + n, len - n, "%c", *c));
	snprintf(out + n, len - n, "?immutable=1");
}

/* Read-only. When DATA/openwit.db-wal does not exist no server has the
 * file open (a server's connection keeps that file), and it is opened as
 * immutable, since a read-only open of a WAL database would otherwise
 * create the -wal and -shm files: a reader never adds a file to the data
 * directory. (A server that starts meanwhile writes to a new -wal file;
 * the database file itself changes only at a checkpoint, long after our
 * read.) */
int ow_catalog_open_readonly(const char *data_dir, ow_catalog_t **out, char *err, size_t errlen)
{
	char path[4200], wal[4300], uri[13000];
	snprintf(path, sizeof(path), "%s/openwit.db", data_dir);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	*out = NULL;
	struct stat st;
	if (stat(path, &st) != 0) {
		snprintf(err, errlen, "%s: %s (not an OpenWit data directory?)", path,
			 strerror(errno));
		return OW_ERROR;
	}
	sqlite3 *db = NULL;
	int rc;
	if (access(wal, F_OK) == 0) {
		rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	} else {
		file_uri(path, uri, sizeof(uri));
		rc = sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
	}
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s read-only: %s", path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return OW_ERROR;
	}
	sqlite3_busy_timeout(db, 5000);
	*out = catalog_new(db);
	return OW_OK;
}

void ow_catalog_close(ow_catalog_t *c)
{
	if (c == NULL)
		return;
	sqlite3_close(c->db);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

static int signal_of(const char *name)
{
	for (int g = 0; g < OW_NSIGNALS; g++)
		if (name && strcmp(name, ow_signal_name(g)) == 0)
			return g;
	return -1;
}

/* One row of parts; kind is 'active' (a flush) or 'stable' (a merge). */
static int insert_part(ow_catalog_t *c, const char *tenant, int signal, const char *kind,
		       const ow_part_t *p, const char *now)
{
	sqlite3_stmt *st = NULL;
	sqlite3_prepare_v2(c->db,
			   "INSERT INTO parts(part_id, tenant, signal, day, kind, path, min_time, "
			   "max_time, rows, bytes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
			   "?, ?)",
			   -1, &st, NULL);
	sqlite3_bind_text(st, 1, p->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, tenant, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, ow_signal_name(signal), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, p->day, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, p->rel, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, p->min_time);
	sqlite3_bind_int64(st, 8, p->max_time);
	sqlite3_bind_int64(st, 9, (sqlite3_int64)p->rows);
	sqlite3_bind_int64(st, 10, (sqlite3_int64)p->bytes);
	sqlite3_bind_text(st, 11, now, -1, SQLITE_STATIC);
	int ok = st && sqlite3_step(st) == SQLITE_DONE;
	sqlite3_finalize(st);
	return ok;
}

void ow_catalog_bind_batch(sqlite3_stmt *st, const ow_catalog_batch_t *b)
{
	char created[32], walt[32];
	ow_time_iso(b->created_ns, created, sizeof(created));
	ow_time_iso(b->wal_done_ns, walt, sizeof(walt));
	sqlite3_bind_text(st, 1, b->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, b->tenant, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, ow_signal_name(b->signal), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, ow_source_name(b->source), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)b->file_bytes);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)b->nmsgs);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)b->records);
	/* the times are this function's: copied */
	sqlite3_bind_text(st, 8, created, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 9, walt, -1, SQLITE_TRANSIENT);
}

int ow_catalog_commit_stored(ow_catalog_t *c, const char *tenant, int signal,
			     const ow_part_t *parts, int nparts, const ow_catalog_batch_t *batches,
			     size_t nbatches, char *err, size_t errlen)
{
	char now[32];
	ow_time_iso(ow_now_ns(), now, sizeof(now));
	pthread_mutex_lock(&c->mu);
	if (exec(c, "BEGIN IMMEDIATE") != OW_OK) {
		fail(c, "catalog commit", err, errlen);
		pthread_mutex_unlock(&c->mu);
		return OW_ERROR;
	}
	sqlite3_stmt *bp = NULL, *bt = NULL;
	sqlite3_prepare_v2(c->db,
			   "INSERT OR IGNORE INTO batch_parts(batch_id, part_id) VALUES (?, ?)", -1,
			   &bp, NULL);
	/* the tracker's insert of the row is asynchronous: it may come later
	 * (INSERT OR IGNORE) or not have come yet (the whole row here) */
	sqlite3_prepare_v2(
	    c->db,
	    "INSERT INTO batch_tracker(batch_id, client_id, signal, source, wal_pip, "
	    "ingestion_pip, storage_pip, batch_size, message_count, record_count, created_at, "
	    "wal_completed_at, ingestion_completed_at, storage_completed_at) VALUES (?1, ?2, ?3, "
	    "?4, 1, 1, 1, ?5, ?6, ?7, ?8, ?9, ?9, ?10) ON CONFLICT(batch_id) DO UPDATE SET "
	    "ingestion_pip = 1, storage_pip = 1, ingestion_completed_at = "
	    "coalesce(ingestion_completed_at, ?9), storage_completed_at = ?10",
	    -1, &bt, NULL);
	int ok = bp && bt;
	if (!ok)
		fail(c, "catalog commit", err, errlen);
	for (int i = 0; ok && i < nparts; i++) {
		ok = insert_part(c, tenant, signal, "active", &parts[i], now);
		for (size_t k = 0; ok && k < nbatches; k++) {
			sqlite3_reset(bp);
			sqlite3_bind_text(bp, 1, batches[k].id, -1, SQLITE_STATIC);
			sqlite3_bind_text(bp, 2, parts[i].id, -1, SQLITE_STATIC);
			ok = sqlite3_step(bp) == SQLITE_DONE;
		}
	}
	for (size_t k = 0; ok && k < nbatches; k++) {
		sqlite3_reset(bt);
		ow_catalog_bind_batch(bt, &batches[k]);
		sqlite3_bind_text(bt, 10, now, -1, SQLITE_STATIC);
		ok = sqlite3_step(bt) == SQLITE_DONE;
	}
	if (!ok && bp && bt)
		fail(c, "catalog commit", err, errlen);
	sqlite3_finalize(bp);
	sqlite3_finalize(bt);
	int rc = finish(c, ok, "catalog commit", err, errlen);
	pthread_mutex_unlock(&c->mu);
	return rc;
}

int ow_catalog_is_stored(ow_catalog_t *c, const char *batch_id)
{
	sqlite3_stmt *st;
	int stored = 0;
	pthread_mutex_lock(&c->mu);
	sqlite3_prepare_v2(c->db, "SELECT storage_pip FROM batch_tracker WHERE batch_id = ?", -1,
			   &st, NULL);
	sqlite3_bind_text(st, 1, batch_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		stored = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&c->mu);
	return stored;
}

int ow_catalog_batches_of(ow_catalog_t *c, const char *part_id, ow_catalog_batch_fn fn, void *arg,
			  char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int rc = OW_OK;
	pthread_mutex_lock(&c->mu);
	if (sqlite3_prepare_v2(c->db,
			       "SELECT b.batch_id, group_concat(a.part_id) FROM batch_parts b "
			       "JOIN batch_parts a ON a.batch_id = b.batch_id WHERE b.part_id = ? "
			       "GROUP BY b.batch_id",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = fail(c, "catalog batches", err, errlen);
		pthread_mutex_unlock(&c->mu);
		return rc;
	}
	sqlite3_bind_text(st, 1, part_id, -1, SQLITE_STATIC);
	int step;
	while (rc == OW_OK && (step = sqlite3_step(st)) == SQLITE_ROW)
		rc = fn(arg, (const char *)sqlite3_column_text(st, 0),
			(const char *)sqlite3_column_text(st, 1));
	if (rc == OW_OK && step != SQLITE_DONE)
		rc = fail(c, "catalog batches", err, errlen);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&c->mu);
	return rc;
}

int ow_catalog_swap(ow_catalog_t *c, const char *tenant, int signal, const ow_part_t *stable,
		    char ids[][33], int n, char *err, size_t errlen)
{
	char now[32];
	ow_time_iso(ow_now_ns(), now, sizeof(now));
	pthread_mutex_lock(&c->mu);
	if (exec(c, "BEGIN IMMEDIATE") != OW_OK) {
		fail(c, "catalog swap", err, errlen);
		pthread_mutex_unlock(&c->mu);
		return OW_ERROR;
	}
	/* prepared first: a prepare clears the message of a failed insert */
	sqlite3_stmt *mv = NULL;
	sqlite3_prepare_v2(
	    c->db,
	    "INSERT OR IGNORE INTO batch_parts(batch_id, part_id) SELECT batch_id, ? "
	    "FROM batch_parts WHERE part_id = ?",
	    -1, &mv, NULL);
	int ok = mv && insert_part(c, tenant, signal, "stable", stable, now);
	for (int i = 0; ok && i < n; i++) {
		sqlite3_reset(mv);
		sqlite3_bind_text(mv, 1, stable->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(mv, 2, ids[i], -1, SQLITE_STATIC);
		ok = sqlite3_step(mv) == SQLITE_DONE;
	}
	sqlite3_finalize(mv);
	for (int i = 0; ok && i < n; i++) {
		static const char *const q[] = {"DELETE FROM batch_parts WHERE part_id = ?",
						"DELETE FROM parts WHERE part_id = ?"};
		for (int k = 0; ok && k < 2; k++) {
			sqlite3_stmt *st;
			sqlite3_prepare_v2(c->db, q[k], -1, &st, NULL);
			sqlite3_bind_text(st, 1, ids[i], -1, SQLITE_STATIC);
			ok = sqlite3_step(st) == SQLITE_DONE;
			sqlite3_finalize(st);
		}
	}
	if (!ok)
		fail(c, "catalog swap", err, errlen);
	int rc = finish(c, ok, "catalog swap", err, errlen);
	pthread_mutex_unlock(&c->mu);
	return rc;
}

int ow_catalog_drop(ow_catalog_t *c, char ids[][33], int n, ow_buf_t *batches, int *dropped,
		    char *err, size_t errlen)
{
	*dropped = 0;
	pthread_mutex_lock(&c->mu);
	if (exec(c, "BEGIN IMMEDIATE") != OW_OK) {
		fail(c, "catalog drop", err, errlen);
		pthread_mutex_unlock(&c->mu);
		return OW_ERROR;
	}
	sqlite3_stmt *q[2] = {NULL, NULL};
	static const char *const sql[2] = {
	    "DELETE FROM batch_parts WHERE part_id = ? RETURNING batch_id",
	    "DELETE FROM parts WHERE part_id = ?",
	};
	int ok = 1;
	for (int k = 0; ok && k < 2; k++)
		ok = sqlite3_prepare_v2(c->db, sql[k], -1, &q[k], NULL) == SQLITE_OK;
	size_t start = batches->len;
	for (int i = 0; ok && i < n; i++) {
		int rc;
		sqlite3_reset(q[0]);
		sqlite3_bind_text(q[0], 1, ids[i], -1, SQLITE_STATIC);
		while ((rc = sqlite3_step(q[0])) == SQLITE_ROW)
			ow_buf_printf(batches, "%s%s", batches->len ? "," : "",
				      (const char *)sqlite3_column_text(q[0], 0));
		ok = rc == SQLITE_DONE;
		sqlite3_reset(q[1]);
		sqlite3_bind_text(q[1], 1, ids[i], -1, SQLITE_STATIC);
		ok = ok && sqlite3_step(q[1]) == SQLITE_DONE;
		if (ok)
			*dropped += sqlite3_changes(c->db);
	}
	if (!ok)
		fail(c, "catalog drop", err, errlen);
	for (int k = 0; k < 2; k++)
		sqlite3_finalize(q[k]);
	int rc = finish(c, ok, "catalog drop", err, errlen);
	if (rc != OW_OK) {
		batches->len = start;
		*dropped = 0;
	}
	pthread_mutex_unlock(&c->mu);
	return rc;
}

static int merge_group(ow_catalog_t *c, int64_t min_bytes, int64_t older_minutes, int max,
		       char tenant[OW_TENANT_MAX + 1], int *signal, char ids[][33],
		       char paths[][1024], int *n, char *err, size_t errlen)
{
	char sql[1024];
	snprintf(sql, sizeof(sql),
		 "SELECT tenant, signal, day FROM parts WHERE kind = 'active' "
		 "GROUP BY tenant, signal, day HAVING count(*) >= 2 AND (sum(bytes) >= %lld OR "
		 "min(created_at) <= strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now', '-%lld minutes')) "
		 "ORDER BY min(created_at) LIMIT 1",
		 (long long)min_bytes, (long long)older_minutes);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
		return fail(c, "catalog", err, errlen);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return OW_DECLINED;
	}
	snprintf(tenant, OW_TENANT_MAX + 1, "%s", (const char *)sqlite3_column_text(st, 0));
	char day[16];
	*signal = signal_of((const char *)sqlite3_column_text(st, 1));
	snprintf(day, sizeof(day), "%s", (const char *)sqlite3_column_text(st, 2));
	sqlite3_finalize(st);
	sqlite3_prepare_v2(
	    c->db,
	    "SELECT part_id, path FROM parts WHERE kind = 'active' AND tenant = ? AND "
	    "signal = ? AND day = ? ORDER BY created_at LIMIT ?",
	    -1, &st, NULL);
	sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ow_signal_name(*signal), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, day, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, max);
	*n = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(ids[*n], 33, "%s", (const char *)sqlite3_column_text(st, 0));
		snprintf(paths[*n], 1024, "%s", (const char *)sqlite3_column_text(st, 1));
		(*n)++;
	}
	sqlite3_finalize(st);
	if (*signal < 0) {
		snprintf(err, errlen, "a part of unknown signal in the catalog");
		return OW_ERROR;
	}
	return OW_OK;
}

int ow_catalog_merge_group(ow_catalog_t *c, int64_t min_bytes, int64_t older_minutes, int max,
			   char tenant[OW_TENANT_MAX + 1], int *signal, char ids[][33],
			   char paths[][1024], int *n, char *err, size_t errlen)
{
	pthread_mutex_lock(&c->mu);
	int rc = merge_group(c, min_bytes, older_minutes, max, tenant, signal, ids, paths, n, err,
			     errlen);
	pthread_mutex_unlock(&c->mu);
	return rc;
}

static int list(ow_catalog_t *c, const char *tenant, ow_catalog_part_fn fn, void *arg, char *err,
		size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = OW_OK;
	if (exec(c, "BEGIN") != OW_OK ||
	    sqlite3_prepare_v2(c->db,
			       tenant
				   ? "SELECT part_id, tenant, signal, day, path, min_time, "
				     "max_time, rows, bytes FROM parts WHERE tenant = ? ORDER BY "
				     "signal, min_time, path"
				   : "SELECT part_id, tenant, signal, day, path, min_time, "
				     "max_time, rows, bytes FROM parts",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = fail(c, NULL, err, errlen);
		goto out;
	}
	if (tenant)
		sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
	int step;
	ow_part_t p;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&p, 0, sizeof(p));
		snprintf(p.id, sizeof(p.id), "%s", (const char *)sqlite3_column_text(st, 0));
		snprintf(p.day, sizeof(p.day), "%s", (const char *)sqlite3_column_text(st, 3));
		snprintf(p.rel, sizeof(p.rel), "%s", (const char *)sqlite3_column_text(st, 4));
		p.min_time = sqlite3_column_int64(st, 5);
		p.max_time = sqlite3_column_int64(st, 6);
		p.rows = (uint64_t)sqlite3_column_int64(st, 7);
		p.bytes = (uint64_t)sqlite3_column_int64(st, 8);
		rc = fn(arg, (const char *)sqlite3_column_text(st, 1),
			signal_of((const char *)sqlite3_column_text(st, 2)), &p);
		if (rc != OW_OK)
			goto out;
	}
	if (step != SQLITE_DONE)
		rc = fail(c, NULL, err, errlen);
out:
	sqlite3_finalize(st);
	exec(c, "COMMIT");
	return rc;
}

int ow_catalog_list(ow_catalog_t *c, const char *tenant, ow_catalog_part_fn fn, void *arg,
		    char *err, size_t errlen)
{
	pthread_mutex_lock(&c->mu);
	int rc = list(c, tenant, fn, arg, err, errlen);
	pthread_mutex_unlock(&c->mu);
	return rc;
}

/* ---- orphans ---- */

typedef struct {
	ow_catalog_t *c;
	size_t data_len; /* strlen(data_dir): paths below it are listed relative */
	sqlite3_stmt *listed;
	ow_catalog_orphan_t *o;
	size_t n, cap;
} orphans_t;

static int is_listed(orphans_t *w, const char *path)
{
	sqlite3_reset(w->listed);
	sqlite3_bind_text(w->listed, 1, path + w->data_len + 1, -1, SQLITE_STATIC);
	return sqlite3_step(w->listed) == SQLITE_ROW;
}

static void walk(orphans_t *w, const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' &&
		    (de->d_name[1] == '\0' || strcmp(de->d_name, "..") == 0))
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		struct stat st;
		if (lstat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			walk(w, path);
			continue;
		}
		size_t n = strlen(de->d_name);
		int tmp = n > 4 && strcmp(de->d_name + n - 4, ".tmp") == 0;
		int part = n > 8 && strcmp(de->d_name + n - 8, ".parquet") == 0;
		if (tmp || (part && !is_listed(w, path))) {
			if (w->n == w->cap) {
				w->cap = w->cap ? w->cap * 2 : 16;
				w->o = ow_realloc(w->o, w->cap * sizeof(*w->o));
			}
			w->o[w->n++] = (ow_catalog_orphan_t){ow_strdup(path), tmp};
		}
	}
	closedir(d);
}

size_t ow_catalog_orphans(ow_catalog_t *c, const char *data_dir, ow_catalog_orphan_t **out)
{
	orphans_t w = {c, strlen(data_dir), NULL, NULL, 0, 0};
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/parquet", data_dir);
	pthread_mutex_lock(&c->mu);
	sqlite3_prepare_v2(c->db, "SELECT 1 FROM parts WHERE path = ?", -1, &w.listed, NULL);
	walk(&w, dir);
	sqlite3_finalize(w.listed);
	pthread_mutex_unlock(&c->mu);
	*out = w.o;
	return w.n;
}

void ow_catalog_orphans_free(ow_catalog_orphan_t *o, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(o[i].path);
	free(o);
}

/* ---- the server's writer ---- */

static int catalog_init(struct event_base *base)
{
	OW_UNUSED(base);
	char path[4200], err[4400];
	/* created and migrated by the tracker, whose init runs first */
	snprintf(path, sizeof(path), "%s/openwit.db", ow_data_dir);
	if (ow_catalog_open(path, &server, err, sizeof(err)) != OW_OK) {
		ow_log(OW_LOG_CRIT, "catalog: %s", err);
		return OW_ERROR;
	}
	return OW_OK;
}

static void catalog_stop(void)
{
	ow_catalog_close(server);
	server = NULL;
}

ow_module_t ow_catalog_module = {
    .name = "catalog",
    .init = catalog_init,
    .stop = catalog_stop,
};

/*
 * tracker.c - see tracker.h. The schema is created and upgraded through
 * PRAGMA user_version: migrations[i] takes the file from version i to i+1,
 * each in its own transaction, so a crash mid-upgrade leaves a version that
 * is whole. Times are UTC text "YYYY-MM-DD HH:MM:SS.mmm", which SQLite's
 * date functions compare and compute with directly.
 *
 * Schema (version 1):
 *   batch_tracker  one row per batch: batch_id (UUIDv7 text), client_id
 *                  (the tenant), signal, source, the six *_pip flags,
 *                  batch_size (bytes in the WAL file), message_count
 *                  (requests or Kafka messages), record_count (spans, log
 *                  records or data points), first_offset, last_offset,
 *                  topics, created_at and one *_completed_at per stage,
 *                  error_stage, error_message, retry_count
 *   alerts         id, created_at, kind, batch_id, message
 *   kafka_dead_letters  id, created_at, topic, partition, offset, bytes,
 *                  error: Kafka messages skipped as malformed
 *
 * Version 2 adds the part catalog, parts and batch_parts (modules/catalog).
 * Version 4 adds wal_removed_at (the batch's WAL file is gone: what
 * janitor_pip meant before) and stuck_alerted_at (the stuck alert was
 * raised), and janitor_pip takes the original design's meaning:
 *
 *   COMPLETED (janitor_pip = 1, janitor_completed_at) when the batch is
 *   STORED, its WAL file is gone, and every part holding its rows is
 *   indexed (index_pip, set by the indexer) or was dropped by retention
 *   (no batch_parts row left: modules/catalog drops a part's mappings
 *   with it). A batch whose rows are in no part at all is complete once
 *   its WAL is gone.
 *
 * Completion is checked where one of its conditions changes: for a batch
 * when its WAL file goes (OP_CLEANED), for the batches that lost a part
 * to retention (ow_tracker_complete with their ids), for the indexed ones
 * on every janitor pass, and for every batch once at start (a crash may
 * have come between a drop's commit and its completion). Each check
 * reads the others' committed writes in its own transaction, so none is
 * lost whatever the order. The latencies from created_at to each stage
 * are observed here, when the stage's row is written, into histograms on
 * /metrics.
 */
#include "tracker.h"
#include "../catalog/catalog.h"
#include "../core/log.h"
#include "../core/stats.h"

#include <errno.h>
#include <pthread.h>
#include <unistd.h>

static int64_t retention_days, stuck_minutes;

static ow_directive_t directives[] = {{"ingestion.batch_tracker.retention_days", OW_CONF_INT,
				       &retention_days, 1, 36500, "7", NULL, 0},
				      {"ingestion.batch_tracker.stuck_after_minutes", OW_CONF_INT,
				       &stuck_minutes, 1, 525600, "60", NULL, 0},
				      OW_CONF_END};

static const char *const migrations[] = {
    "CREATE TABLE batch_tracker ("
    " batch_id TEXT PRIMARY KEY,"
    " client_id TEXT NOT NULL,"
    " signal TEXT NOT NULL,"
    " source TEXT NOT NULL,"
    " kafka_pip INTEGER NOT NULL DEFAULT 0,"
    " wal_pip INTEGER NOT NULL DEFAULT 0,"
    " ingestion_pip INTEGER NOT NULL DEFAULT 0,"
    " storage_pip INTEGER NOT NULL DEFAULT 0,"
    " index_pip INTEGER NOT NULL DEFAULT 0,"
    " janitor_pip INTEGER NOT NULL DEFAULT 0,"
    " batch_size INTEGER NOT NULL,"
    " message_count INTEGER NOT NULL,"
    " record_count INTEGER NOT NULL DEFAULT 0,"
    " first_offset INTEGER,"
    " last_offset INTEGER,"
    " topics TEXT,"
    " created_at TEXT NOT NULL,"
    " kafka_completed_at TEXT,"
    " wal_completed_at TEXT,"
    " ingestion_completed_at TEXT,"
    " storage_completed_at TEXT,"
    " index_completed_at TEXT,"
    " janitor_completed_at TEXT,"
    " error_stage TEXT,"
    " error_message TEXT,"
    " retry_count INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX batch_tracker_created_at ON batch_tracker(created_at);"
    "CREATE TABLE alerts ("
    " id INTEGER PRIMARY KEY,"
    " created_at TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " batch_id TEXT,"
    " message TEXT NOT NULL);",
    /* 2: the part catalog (modules/catalog) */
    ow_catalog_schema,
    /* 3: Kafka messages that could not be ingested (modules/kafka) */
    "CREATE TABLE kafka_dead_letters ("
    " id INTEGER PRIMARY KEY,"
    " created_at TEXT NOT NULL,"
    " topic TEXT NOT NULL,"
    " partition INTEGER NOT NULL,"
    " offset INTEGER NOT NULL,"
    " bytes INTEGER NOT NULL,"
    " error TEXT NOT NULL);",
    /* 4: janitor_pip means COMPLETED (above); "WAL removed" moves to its
     * own column. A batch completed under the old meaning whose parts
     * are not indexed is open again; its stuck alert counts as raised,
     * so the upgrade does not raise one for each of them at once. */
    "ALTER TABLE batch_tracker ADD COLUMN wal_removed_at TEXT;"
    "ALTER TABLE batch_tracker ADD COLUMN stuck_alerted_at TEXT;"
    "UPDATE batch_tracker SET wal_removed_at = janitor_completed_at WHERE janitor_pip = 1;"
    "UPDATE batch_tracker SET janitor_pip = 0, janitor_completed_at = NULL, stuck_alerted_at = "
    "wal_removed_at WHERE janitor_pip = 1 AND index_pip = 0 AND NOT " OW_CATALOG_UNMAPPED_SQL ";"
    "CREATE INDEX batch_tracker_open ON batch_tracker(index_pip, created_at) WHERE "
    "janitor_pip = 0;",
};

enum {
	OP_WRITTEN,
	OP_RECOVERED,
	OP_ALERT,
	OP_PRUNE,
	OP_CLEANED,
	OP_COMMITTED,
	OP_DEAD,
	OP_INDEXED,
	OP_FAILED,
	OP_COMPLETE,
	OP_STUCK
};

/* Latency from created_at to each stage, in seconds: batches live from
 * milliseconds (the WAL) to days (completed when retention drops them). */
enum { ST_WAL, ST_STORED, ST_INDEXED, ST_COMPLETED, ST_N };
static const char *const stage_names[ST_N] = {"wal", "stored", "indexed", "completed"};
static const double stage_bounds[] = {0.001, 0.005, 0.025, 0.1,	  0.5,	 2.5,	 10,	 60,
				      300,   1800,  3600,  21600, 86400, 259200, 604800, 1e300};
#define STAGE_BUCKETS ((int)OW_NELEMS(stage_bounds))
static struct {
	pthread_mutex_t mu; /* the tracker thread observes, the loop prints */
	uint64_t buckets[ST_N][STAGE_BUCKETS], count[ST_N];
	double sum[ST_N];
	uint64_t completed, stuck_alerts, stuck; /* stuck: at the last pass */
} lat = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void observe(int stage, double seconds)
{
	if (seconds < 0)
		seconds = 0;
	int i = 0;
	while (i < STAGE_BUCKETS - 1 && seconds > stage_bounds[i])
		i++;
	pthread_mutex_lock(&lat.mu);
	lat.buckets[stage][i]++;
	lat.count[stage]++;
	lat.sum[stage] += seconds;
	pthread_mutex_unlock(&lat.mu);
}

typedef struct op {
	struct op *next;
	int type;
	char batch_id[OW_BATCH_ID_LEN + 1];
	char tenant[OW_TENANT_MAX + 1];
	int signal, source;
	uint64_t nmsgs, records, bytes;
	int64_t created_ns, wal_ns;
	int64_t first_offset, last_offset; /* Kafka; -1 when none */
	int32_t partition;
	char *kind, *message; /* OP_DEAD: the topic and the error */
} op_t;

static char db_path[4200];
static sqlite3 *db;
static pthread_t thread;
static int thread_started;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static op_t *head, **tailp = &head;
static int closing;
static struct event *prune_ev;
static pthread_key_t reader_key;

int64_t ow_tracker_stuck_minutes(void)
{
	return stuck_minutes;
}

static void enqueue(op_t *o)
{
	o->next = NULL;
	pthread_mutex_lock(&mu);
	*tailp = o;
	tailp = &o->next;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
}

static void batch_op(op_t *o, const char *id, const char *tenant, int signal, int source)
{
	snprintf(o->batch_id, sizeof(o->batch_id), "%s", id);
	snprintf(o->tenant, sizeof(o->tenant), "%s", tenant);
	o->signal = signal;
	o->source = source;
}

static void batch_row(int type, const ow_batch_t *b)
{
	op_t *o = ow_calloc(1, sizeof(*o));
	o->type = type;
	batch_op(o, b->id, b->tenant, b->signal, b->source);
	o->nmsgs = b->nmsgs;
	o->records = b->records;
	o->bytes = b->file_bytes;
	o->created_ns = b->created_ns;
	o->wal_ns = b->wal_done_ns;
	o->first_offset = b->last_offset >= 0 ? b->first_offset : -1;
	o->last_offset = b->last_offset;
	if (b->topics[0])
		o->kind = ow_strdup(b->topics);
	enqueue(o);
}

void ow_tracker_batch_written(const ow_batch_t *b)
{
	batch_row(OP_WRITTEN, b);
}

void ow_tracker_batch_recovered(const ow_batch_t *b)
{
	batch_row(OP_RECOVERED, b);
}

void ow_tracker_kafka_committed(const char *batch_id)
{
	op_t *o = ow_calloc(1, sizeof(*o));
	o->type = OP_COMMITTED;
	snprintf(o->batch_id, sizeof(o->batch_id), "%s", batch_id);
	o->created_ns = ow_now_ns();
	enqueue(o);
}

void ow_tracker_dead_letter(const char *topic, int32_t partition, int64_t offset, size_t bytes,
			    const char *error)
{
	op_t *o = ow_calloc(1, sizeof(*o));
	o->type = OP_DEAD;
	o->kind = ow_strdup(topic);
	o->message = ow_strdup(error);
	o->partition = partition;
	o->first_offset = offset;
	o->bytes = bytes;
	o->created_ns = ow_now_ns();
	enqueue(o);
}

void ow_tracker_batch_cleaned(const char *batch_id)
{
	op_t *o = ow_calloc(1, sizeof(*o));
	o->type = OP_CLEANED;
	if (batch_id)
		snprintf(o->batch_id, sizeof(o->batch_id), "%s", batch_id);
	o->created_ns = ow_now_ns();
	enqueue(o);
}

void ow_tracker_batch_indexed(const char *batch_id)
{
	op_t *o = ow_calloc(1, sizeof(*o));
	o->type = OP_INDEXED;
	snprintf(o->batch_id, sizeof(o->batch_id), "%s", batch_id);
	o->created_ns = ow_now_ns();
	enqueue(o);
}

void ow_tracker_complete(const char *batch_ids)
{
	op_t *o = ow_calloc(1, sizeof(*o));
	o->type = OP_COMPLETE;
	o->message = batch_ids ? ow_strdup(batch_ids) : NULL;
	o->created_ns = ow_now_ns();
	enqueue(o);
}

void ow_tracker_batch_failed(const char *batch_id, const char *stage, const char *message,
			     int retry_count)
{
	op_t *o = ow_calloc(1, sizeof(*o));
	o->type = OP_FAILED;
	snprintf(o->batch_id, sizeof(o->batch_id), "%s", batch_id);
	o->kind = ow_strdup(stage);
	o->message = ow_strdup(message);
	o->partition = retry_count;
	o->created_ns = ow_now_ns();
	enqueue(o);
}

void ow_tracker_stuck_pass(void)
{
	op_t *o = ow_calloc(1, sizeof(*o));
	o->type = OP_STUCK;
	o->created_ns = ow_now_ns();
	enqueue(o);
}

void ow_tracker_alert(const char *kind, const char *batch_id, const char *message)
{
	op_t *o = ow_calloc(1, sizeof(*o));
	o->type = OP_ALERT;
	if (batch_id)
		snprintf(o->batch_id, sizeof(o->batch_id), "%s", batch_id);
	o->kind = ow_strdup(kind);
	o->message = ow_strdup(message);
	o->created_ns = ow_now_ns();
	enqueue(o);
}

static int exec(const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		ow_log(OW_LOG_ERROR, "tracker: %s: %s", db_path, msg ? msg : "?");
		sqlite3_free(msg);
		return OW_ERROR;
	}
	return OW_OK;
}

/* COMPLETED (see the top of this file) for batch_id, or for every open
 * batch indexed (indexed) or not (at start), observing their latencies. */
static void complete(const char *batch_id, int indexed, const char *now)
{
	char sql[1024];
	snprintf(sql, sizeof(sql),
		 "UPDATE batch_tracker SET janitor_pip = 1, janitor_completed_at = ?1 WHERE %s "
		 "AND janitor_pip = 0 AND storage_pip = 1 AND wal_removed_at IS NOT NULL AND "
		 "(index_pip = 1 OR " OW_CATALOG_UNMAPPED_SQL
		 ") RETURNING (julianday(?1) - julianday(created_at)) * "
		 "86400, CASE WHEN index_pip = 1 THEN (julianday(index_completed_at) - "
		 "julianday(created_at)) * 86400 END",
		 batch_id  ? "batch_id = ?2"
		 : indexed ? "index_pip = 1"
			   : "1");
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		ow_log(OW_LOG_ERROR, "tracker: completion: %s", sqlite3_errmsg(db));
		return;
	}
	sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	if (batch_id)
		sqlite3_bind_text(st, 2, batch_id, -1, SQLITE_STATIC);
	int rc;
	uint64_t n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		observe(ST_COMPLETED, sqlite3_column_double(st, 0));
		if (sqlite3_column_type(st, 1) != SQLITE_NULL)
			observe(ST_INDEXED, sqlite3_column_double(st, 1));
		n++;
	}
	if (rc != SQLITE_DONE)
		ow_log(OW_LOG_ERROR, "tracker: completion: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	pthread_mutex_lock(&lat.mu);
	lat.completed += n;
	pthread_mutex_unlock(&lat.mu);
}

/* The batches pending longer than stuck_after_minutes: an alert row for
 * each the first time (stuck_alerted_at), and their number for /metrics. */
static void stuck_pass(const char *now)
{
	char sql[2048];
	snprintf(sql, sizeof(sql),
		 "INSERT INTO alerts(created_at, kind, batch_id, message) SELECT ?1, 'stuck', "
		 "batch_id, 'batch of ' || client_id || '/' || signal || ' created ' || "
		 "created_at || ' stuck at stage ' || " OW_TRACKER_STAGE_SQL
		 " || coalesce('; ' || error_stage || ': ' || error_message, '; ' || "
		 "error_message, '') FROM batch_tracker WHERE " OW_TRACKER_STUCK_SQL
		 " AND stuck_alerted_at IS NULL ORDER BY created_at",
		 (long long)stuck_minutes);
	sqlite3_stmt *st;
	int64_t raised = 0;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_DONE)
			raised = sqlite3_changes(db);
	}
	sqlite3_finalize(st);
	snprintf(sql, sizeof(sql),
		 "UPDATE batch_tracker SET stuck_alerted_at = ?1 WHERE " OW_TRACKER_STUCK_SQL
		 " AND stuck_alerted_at IS NULL",
		 (long long)stuck_minutes);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
		sqlite3_step(st);
	}
	sqlite3_finalize(st);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM batch_tracker WHERE " OW_TRACKER_STUCK_SQL,
		 (long long)stuck_minutes);
	int64_t stuck = 0;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		stuck = sqlite3_column_int64(st, 0);
	else
		ow_log(OW_LOG_ERROR, "tracker: stuck batches: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	if (raised > 0)
		ow_log(OW_LOG_WARN, "tracker: %lld batches pending for more than %lld minutes",
		       (long long)raised, (long long)stuck_minutes);
	pthread_mutex_lock(&lat.mu);
	lat.stuck_alerts += (uint64_t)raised;
	lat.stuck = (uint64_t)stuck;
	pthread_mutex_unlock(&lat.mu);
}

static void apply(op_t *o, sqlite3_stmt *ins)
{
	char created[32];
	switch (o->type) {
	case OP_WRITTEN:
	case OP_RECOVERED:
		sqlite3_reset(ins);
		ow_catalog_bind_batch(ins, &(ow_catalog_batch_t){.id = o->batch_id,
								 .tenant = o->tenant,
								 .signal = o->signal,
								 .source = o->source,
								 .nmsgs = o->nmsgs,
								 .records = o->records,
								 .file_bytes = o->bytes,
								 .created_ns = o->created_ns,
								 .wal_done_ns = o->wal_ns});
		if (o->last_offset >= 0) {
			sqlite3_bind_int64(ins, 10, o->first_offset);
			sqlite3_bind_int64(ins, 11, o->last_offset);
		} else {
			sqlite3_bind_null(ins, 10);
			sqlite3_bind_null(ins, 11);
		}
		if (o->kind)
			sqlite3_bind_text(ins, 12, o->kind, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(ins, 12);
		if (sqlite3_step(ins) != SQLITE_DONE)
			ow_log(OW_LOG_ERROR, "tracker: insert %s: %s", o->batch_id,
			       sqlite3_errmsg(db));
		else if (o->type == OP_WRITTEN)
			observe(ST_WAL, (double)(o->wal_ns - o->created_ns) / 1e9);
		break;
	case OP_ALERT: {
		sqlite3_stmt *st;
		ow_time_iso(o->created_ns, created, sizeof(created));
		sqlite3_prepare_v2(db,
				   "INSERT INTO alerts(created_at, kind, batch_id, message) "
				   "VALUES (?, ?, ?, ?)",
				   -1, &st, NULL);
		sqlite3_bind_text(st, 1, created, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, o->kind, -1, SQLITE_STATIC);
		if (o->batch_id[0])
			sqlite3_bind_text(st, 3, o->batch_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, o->message, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			ow_log(OW_LOG_ERROR, "tracker: alert: %s", sqlite3_errmsg(db));
		sqlite3_finalize(st);
		break;
	}
	case OP_CLEANED: {
		sqlite3_stmt *st;
		ow_time_iso(o->created_ns, created, sizeof(created));
		/* no batch id: every stored batch, at the end of recovery */
		sqlite3_prepare_v2(
		    db,
		    o->batch_id[0] ? "UPDATE batch_tracker SET wal_removed_at = ?1 WHERE batch_id "
				     "= ?2 AND wal_removed_at IS NULL RETURNING (julianday("
				     "storage_completed_at) - julianday(created_at)) * 86400"
				   : "UPDATE batch_tracker SET wal_removed_at = ?1 WHERE "
				     "storage_pip = 1 AND wal_removed_at IS NULL",
		    -1, &st, NULL);
		sqlite3_bind_text(st, 1, created, -1, SQLITE_STATIC);
		if (o->batch_id[0])
			sqlite3_bind_text(st, 2, o->batch_id, -1, SQLITE_STATIC);
		int rc;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			if (sqlite3_column_type(st, 0) != SQLITE_NULL)
				observe(ST_STORED, sqlite3_column_double(st, 0));
		if (rc != SQLITE_DONE)
			ow_log(OW_LOG_ERROR, "tracker: janitor %s: %s", o->batch_id,
			       sqlite3_errmsg(db));
		sqlite3_finalize(st);
		complete(o->batch_id[0] ? o->batch_id : NULL, 0, created);
		break;
	}
	case OP_COMPLETE:
		ow_time_iso(o->created_ns, created, sizeof(created));
		if (o->message == NULL) {
			complete(NULL, 1, created);
			break;
		}
		for (char *save = NULL, *id = strtok_r(o->message, ",", &save); id;
		     id = strtok_r(NULL, ",", &save))
			complete(id, 0, created);
		break;
	case OP_STUCK:
		ow_time_iso(o->created_ns, created, sizeof(created));
		stuck_pass(created);
		break;
	case OP_COMMITTED:
	case OP_DEAD: {
		sqlite3_stmt *st;
		ow_time_iso(o->created_ns, created, sizeof(created));
		sqlite3_prepare_v2(db,
				   o->type == OP_COMMITTED
				       ? "UPDATE batch_tracker SET kafka_pip = 1, "
					 "kafka_completed_at = ?1 WHERE batch_id = ?2"
				       : "INSERT INTO kafka_dead_letters(created_at, topic, "
					 "partition, offset, bytes, error) VALUES (?1, ?2, ?3, ?4, "
					 "?5, ?6)",
				   -1, &st, NULL);
		sqlite3_bind_text(st, 1, created, -1, SQLITE_STATIC);
		if (o->type == OP_COMMITTED) {
			sqlite3_bind_text(st, 2, o->batch_id, -1, SQLITE_STATIC);
		} else {
			sqlite3_bind_text(st, 2, o->kind, -1, SQLITE_STATIC);
			sqlite3_bind_int(st, 3, o->partition);
			sqlite3_bind_int64(st, 4, o->first_offset);
			sqlite3_bind_int64(st, 5, (sqlite3_int64)o->bytes);
			sqlite3_bind_text(st, 6, o->message, -1, SQLITE_STATIC);
		}
		if (sqlite3_step(st) != SQLITE_DONE)
			ow_log(OW_LOG_ERROR, "tracker: kafka: %s", sqlite3_errmsg(db));
		sqlite3_finalize(st);
		break;
	}
	case OP_INDEXED:
	case OP_FAILED: {
		sqlite3_stmt *st;
		ow_time_iso(o->created_ns, created, sizeof(created));
		sqlite3_prepare_v2(db,
				   o->type == OP_INDEXED
				       ? "UPDATE batch_tracker SET index_pip = 1, "
					 "index_completed_at = ?1 WHERE batch_id = ?2 AND "
					 "index_pip = 0"
				       : "UPDATE batch_tracker SET error_stage = ?1, error_message "
					 "= ?3, retry_count = ?4 WHERE batch_id = ?2",
				   -1, &st, NULL);
		if (o->type == OP_INDEXED) {
			sqlite3_bind_text(st, 1, created, -1, SQLITE_STATIC);
		} else {
			sqlite3_bind_text(st, 1, o->kind, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, o->message, -1, SQLITE_STATIC);
			sqlite3_bind_int(st, 4, o->partition);
		}
		sqlite3_bind_text(st, 2, o->batch_id, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			ow_log(OW_LOG_ERROR, "tracker: index %s: %s", o->batch_id,
			       sqlite3_errmsg(db));
		sqlite3_finalize(st);
		if (o->type == OP_INDEXED) /* its WAL may be gone already */
			complete(o->batch_id, 0, created);
		break;
	}
	case OP_PRUNE: {
		char sql[512];
		int before = sqlite3_total_changes(db);
		snprintf(sql, sizeof(sql),
			 "DELETE FROM batch_tracker WHERE janitor_pip = 1 AND created_at < "
			 "strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now', '-%lld days');"
			 "DELETE FROM alerts WHERE created_at < "
			 "strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now', '-%lld days');"
			 "DELETE FROM kafka_dead_letters WHERE created_at < "
			 "strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now', '-%lld days');",
			 (long long)retention_days, (long long)retention_days,
			 (long long)retention_days);
		exec(sql);
		int pruned = sqlite3_total_changes(db) - before;
		if (pruned > 0)
			ow_log(
			    OW_LOG_INFO,
			    "tracker: pruned %d completed batches and alerts older than %lld days",
			    pruned, (long long)retention_days);
		break;
	}
	}
}

static void free_op(op_t *o)
{
	free(o->kind);
	free(o->message);
	free(o);
}

/* Takes everything queued and writes it in one transaction: under load
 * the number of transactions per second stays small whatever the batch
 * rate. */
static void *tracker_main(void *arg)
{
	OW_UNUSED(arg);
	sqlite3_stmt *ins;
	/* Recovery inserts rows the tracker may already have: OR IGNORE keeps
	 * the existing row with its later stages. */
	sqlite3_prepare_v2(
	    db,
	    "INSERT OR IGNORE INTO batch_tracker(batch_id, client_id, signal, source, "
	    "wal_pip, batch_size, message_count, record_count, created_at, "
	    "wal_completed_at, first_offset, last_offset, topics) "
	    "VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?)",
	    -1, &ins, NULL);
	for (;;) {
		pthread_mutex_lock(&mu);
		while (head == NULL && !closing)
			pthread_cond_wait(&cv, &mu);
		op_t *list = head;
		head = NULL;
		tailp = &head;
		int done = closing && list == NULL;
		pthread_mutex_unlock(&mu);
		if (done)
			break;
		exec("BEGIN");
		for (op_t *o = list; o; o = o->next)
			apply(o, ins);
		exec("COMMIT");
		while (list) {
			op_t *next = list->next;
			free_op(list);
			list = next;
		}
	}
	sqlite3_finalize(ins);
	return NULL;
}

static int migrate(void)
{
	sqlite3_stmt *st;
	sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
	int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	int latest = (int)OW_NELEMS(migrations);
	if (version > latest) {
		ow_log(OW_LOG_CRIT,
		       "tracker: %s has schema version %d, newer than this openwit "
		       "(%d)",
		       db_path, version, latest);
		return OW_ERROR;
	}
	for (; version < latest; version++) {
		char sql[64];
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version + 1);
		if (exec("BEGIN") || exec(migrations[version]) || exec(sql) || exec("COMMIT"))
			return OW_ERROR;
		ow_log(OW_LOG_INFO, "tracker: %s upgraded to schema version %d", db_path,
		       version + 1);
	}
	return OW_OK;
}

static void close_reader(void *p)
{
	sqlite3_close(p);
}

sqlite3 *ow_tracker_reader(void)
{
	sqlite3 *r = pthread_getspecific(reader_key);
	if (r)
		return r;
	if (sqlite3_open_v2(db_path, &r, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		ow_log(OW_LOG_ERROR, "tracker: open %s read-only: %s", db_path, sqlite3_errmsg(r));
		sqlite3_close(r);
		return NULL;
	}
	sqlite3_busy_timeout(r, 5000);
	pthread_setspecific(reader_key, r);
	return r;
}

static void on_prune(evutil_socket_t fd, short what, void *arg)
{
	OW_UNUSED(fd);
	OW_UNUSED(what);
	OW_UNUSED(arg);
	op_t *o = ow_calloc(1, sizeof(*o));
	o->type = OP_PRUNE;
	enqueue(o);
}

static int tracker_init(struct event_base *base)
{
	snprintf(db_path, sizeof(db_path), "%s/openwit.db", ow_data_dir);
	if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		ow_log(OW_LOG_CRIT, "tracker: cannot open %s: %s", db_path, sqlite3_errmsg(db));
		return OW_ERROR;
	}
	sqlite3_busy_timeout(db, 5000);
	if (exec("PRAGMA journal_mode = WAL") || exec("PRAGMA synchronous = NORMAL") || migrate())
		return OW_ERROR;
	pthread_key_create(&reader_key, close_reader);
	if (pthread_create(&thread, NULL, tracker_main, NULL) != 0)
		return OW_ERROR;
	thread_started = 1;
	on_prune(-1, 0, NULL);
	prune_ev = event_new(base, -1, EV_PERSIST, on_prune, NULL);
	struct timeval hour = {3600, 0};
	event_add(prune_ev, &hour);
	return OW_OK;
}

static void tracker_stats(ow_buf_t *b)
{
	pthread_mutex_lock(&lat.mu);
	ow_metric_head(b, "openwit_batch_stage_seconds", "histogram",
		       "Time from a batch's creation to each stage: wal (durable), stored (in a "
		       "committed part; observed when its WAL file goes), indexed and completed "
		       "(observed when the batch completes).");
	for (int i = 0; i < ST_N; i++) {
		char label[32];
		snprintf(label, sizeof(label), "stage=\"%s\"", stage_names[i]);
		ow_metric_series(b, "openwit_batch_stage_seconds", label, lat.buckets[i],
				 stage_bounds, STAGE_BUCKETS, lat.count[i], lat.sum[i]);
	}
	ow_metric_one(b, "openwit_batches_completed_total", "counter",
		      "Batches marked COMPLETED (janitor_pip) since start.", lat.completed);
	ow_metric_one(b, "openwit_batches_stuck", "gauge",
		      "Batches pending for more than ingestion.batch_tracker.stuck_after_minutes, "
		      "at the janitor's last pass.",
		      lat.stuck);
	ow_metric_one(b, "openwit_stuck_alerts_total", "counter",
		      "Alert rows raised for stuck batches (once per batch) since start.",
		      lat.stuck_alerts);
	pthread_mutex_unlock(&lat.mu);
}

static void tracker_stop(void)
{
	if (prune_ev) {
		event_free(prune_ev);
		prune_ev = NULL;
	}
	if (thread_started) {
		pthread_mutex_lock(&mu);
		closing = 1;
		pthread_cond_signal(&cv);
		pthread_mutex_unlock(&mu);
		pthread_join(thread, NULL);
		thread_started = 0;
	}
	if (db) {
		sqlite3_close(db);
		db = NULL;
	}
}

ow_module_t ow_tracker_module = {
    .name = "tracker",
    .directives = directives,
    .init = tracker_init,
    .stop = tracker_stop,
    .stats = tracker_stats,
};

/*
 * tracker.h - the batch tracker: data/openwit.db (SQLite, WAL journal
 * mode) with the batch_tracker table of the original design, plus signal,
 * source and record_count, and an alerts table. Progress rows are queued
 * from the loop and written by the tracker thread in grouped transactions;
 * readers (the batch-monitor API, the sqlite3 shell) see committed rows.
 * The tracker may lag the WAL after a crash; recovery re-creates the rows
 * of the batches it finds.
 */
#ifndef OW_TRACKER_H
#define OW_TRACKER_H

#include "../core/batch.h"
#include "../core/module.h"

#include <sqlite3.h>

extern ow_module_t ow_tracker_module;

void ow_tracker_batch_written(const ow_batch_t *b);
/* A batch that recovery found in the WAL (its row may have been lost with
 * the process): the same row, with what its file says. */
void ow_tracker_batch_recovered(const ow_batch_t *b);
/* The batch's WAL file is gone (wal_removed_at), and the batch COMPLETED
 * if its parts are indexed or dropped (tracker.c). NULL: every stored
 * batch (after recovery, which removed the WAL files of all of them), and
 * every batch checked for completion. */
void ow_tracker_batch_cleaned(const char *batch_id);
/* Checks for completion the batches batch_ids (comma-separated: those
 * that lost parts to retention), or, when NULL, every open batch whose
 * parts are indexed (index_pip). */
void ow_tracker_complete(const char *batch_ids);
/* Raises an alert row for each batch newly pending for more than
 * ingestion.batch_tracker.stuck_after_minutes, and counts them. */
void ow_tracker_stuck_pass(void);
/* Kafka: the offsets of all the batch's messages are committed. */
void ow_tracker_kafka_committed(const char *batch_id);
/* Kafka: a message that could not be ingested, skipped. */
void ow_tracker_dead_letter(const char *topic, int32_t partition, int64_t offset, size_t bytes,
			    const char *error);
/* Every part holding the batch's rows has its full-text index
 * (modules/index): index_pip and index_completed_at, once. */
void ow_tracker_batch_indexed(const char *batch_id);
/* A stage failed on the batch's rows for the retry_count-th time:
 * error_stage, error_message and retry_count. */
void ow_tracker_batch_failed(const char *batch_id, const char *stage, const char *message,
			     int retry_count);
void ow_tracker_alert(const char *kind, const char *batch_id, const char *message);

/* The stage a batch_tracker row is at, as SQL: failed, wal, ingestion,
 * storage, index, janitor or completed. */
#define OW_TRACKER_STAGE_SQL                                                                       \
	"CASE WHEN error_stage IS NOT NULL THEN 'failed' WHEN wal_pip = 0 THEN 'wal' "             \
	"WHEN ingestion_pip = 0 THEN 'ingestion' WHEN storage_pip = 0 THEN 'storage' "             \
	"WHEN index_pip = 0 THEN 'index' WHEN janitor_pip = 0 THEN 'janitor' "                     \
	"ELSE 'completed' END"
/* A stuck batch, as SQL, with a %lld for the minutes: pending (not
 * completed, not failed) and created that long ago. */
#define OW_TRACKER_STUCK_SQL                                                                       \
	"janitor_pip = 0 AND error_stage IS NULL AND created_at <= "                               \
	"strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now', '-%lld minutes')"

/* A read-only connection for the calling thread (closed when it exits). */
sqlite3 *ow_tracker_reader(void);
int64_t ow_tracker_stuck_minutes(void);

#endif

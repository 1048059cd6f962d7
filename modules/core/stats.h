/*
 * stats.h - the server's counters, read by /metrics. Updated and read on
 * the loop thread only, so plain integers suffice. Per-tenant rows are
 * capped (OW_STATS_TENANTS); later tenants are counted under "_other" so a
 * flood of tenant ids cannot grow memory.
 */
#ifndef OW_STATS_H
#define OW_STATS_H

#include "core.h"

#define OW_STATS_TENANTS 256
#define OW_HIST_BUCKETS 17

enum ow_reject {
	OW_REJ_BAD_REQUEST,
	OW_REJ_INVALID_TENANT,
	OW_REJ_TOO_LARGE,
	OW_REJ_MEDIA_TYPE,
	OW_REJ_METHOD,
	OW_REJ_NOT_FOUND,
	OW_REJ_BUDGET,
	OW_REJ_QUEUE_FULL,
	OW_REJ_DISK_FULL,
	OW_REJ_DRAINING,
	OW_REJ_WAL_FAILED,
	OW_REJ_BUFFER_FULL,
	OW_REJ_DEADLINE,
	OW_NREJECT
};

typedef struct {
	uint64_t buckets[OW_HIST_BUCKETS]; /* cumulative counts are made when printed */
	uint64_t count;
	double sum; /* seconds */
} ow_hist_t;

extern const double ow_hist_bounds[OW_HIST_BUCKETS]; /* seconds; last is +Inf */

typedef struct {
	char tenant[OW_TENANT_MAX + 1];
	uint64_t requests[OW_NSIGNALS], records[OW_NSIGNALS], rejected[OW_NSIGNALS],
	    bytes[OW_NSIGNALS];
} ow_tenant_stats_t;

typedef struct {
	ow_tenant_stats_t tenants[OW_STATS_TENANTS];
	int ntenants;
	uint64_t rejected[OW_NREJECT];
	uint64_t batches[OW_NSIGNALS];
	uint64_t batch_messages[OW_NSIGNALS];
	uint64_t wal_fsyncs, wal_fsync_errors, wal_bytes;
	uint64_t wal_recovered, wal_removed_torn, wal_quarantined;
	uint64_t parts_written, rows_stored, parts_merged;
	uint64_t kafka_messages, kafka_dead_letters, kafka_commits, kafka_commit_errors;
	uint64_t kafka_pauses;
	uint64_t grpc_connections, grpc_read_pauses, grpc_idle_closed, grpc_write_timeouts;
	ow_hist_t ack_latency, fsync_latency;
} ow_stats_t;

extern ow_stats_t ow_stats;
extern const char *const ow_reject_names[OW_NREJECT];

void ow_hist_observe(ow_hist_t *h, double seconds);
/* An acknowledged request: its records taken and rejected (partial
 * success), its payload bytes. */
void ow_stats_accepted(const char *tenant, int signal, uint64_t records, uint64_t rejected,
		       uint64_t bytes);

#endif

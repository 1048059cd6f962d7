/*
 * ingest.c - see ingest.h. Per-tenant rows are capped (TENANTS); later
 * tenants are counted under "_other" so a flood of tenant ids cannot grow
 * memory.
 */
#include "ingest.h"
#include "../core/stats.h"

#define TENANTS 256

typedef struct {
	char tenant[OW_TENANT_MAX + 1];
	uint64_t requests[OW_NSIGNALS], records[OW_NSIGNALS], rejected[OW_NSIGNALS],
	    bytes[OW_NSIGNALS];
} tenant_stats_t;

static struct {
	tenant_stats_t tenants[TENANTS];
	int ntenants;
	uint64_t rejected[OW_NREJECT];
	ow_hist_t ack_latency;
} stats;

static const char *const reject_names[OW_NREJECT] = {
    "bad_request",	"invalid_tenant", "too_large",	   "unsupported_media_type",
    "method",		"not_found",	  "memory_budget", "queue_full",
    "disk_full",	"draining",	  "wal_failed",	   "buffer_full",
    "deadline_exceeded"};

static tenant_stats_t *tenant_row(const char *tenant)
{
	for (int i = 0; i < stats.ntenants; i++)
		if (strcmp(stats.tenants[i].tenant, tenant) == 0)
			return &stats.tenants[i];
	if (stats.ntenants == TENANTS - 1) {
		tenant_stats_t *other = &stats.tenants[TENANTS - 1];
		snprintf(other->tenant, sizeof(other->tenant), "_other");
		return other;
	}
	tenant_stats_t *t = &stats.tenants[stats.ntenants++];
	snprintf(t->tenant, sizeof(t->tenant), "%s", tenant);
	return t;
}

void ow_ingest_accepted(const char *tenant, int signal, uint64_t records, uint64_t rejected,
			uint64_t bytes)
{
	tenant_stats_t *t = tenant_row(tenant);
	t->requests[signal]++;
	t->records[signal] += records;
	t->rejected[signal] += rejected;
	t->bytes[signal] += bytes;
}

void ow_ingest_rejected(int reason)
{
	stats.rejected[reason]++;
}

void ow_ingest_answered(int64_t t0)
{
	ow_hist_observe(&stats.ack_latency, (double)(ow_mono_ns() - t0) / 1e9);
}

static void ingest_stats(ow_buf_t *b)
{
	static const char *per[4][2] = {
	    {"openwit_ingest_requests_total", "Acknowledged requests by tenant and signal."},
	    {"openwit_ingest_records_total",
	     "Acknowledged spans, log records and data points by tenant and signal."},
	    {"openwit_ingest_rejected_records_total",
	     "Records skipped as invalid in acknowledged requests (partial success)."},
	    {"openwit_ingest_bytes_total", "Acknowledged payload bytes by tenant and signal."}};
	for (int k = 0; k < 4; k++) {
		ow_metric_head(b, per[k][0], "counter", per[k][1]);
		for (int i = 0; i < stats.ntenants; i++) {
			const tenant_stats_t *t = &stats.tenants[i];
			const uint64_t *v = k == 0   ? t->requests
					    : k == 1 ? t->records
					    : k == 2 ? t->rejected
						     : t->bytes;
			for (int s = 0; s < OW_NSIGNALS; s++)
				ow_buf_printf(b, "%s{tenant=\"%s\",signal=\"%s\"} %llu\n",
					      per[k][0], t->tenant, ow_signal_name(s),
					      (unsigned long long)v[s]);
		}
	}
	ow_metric_head(b, "openwit_rejected_requests_total", "counter",
		       "Requests answered with an error, by reason.");
	for (int i = 0; i < OW_NREJECT; i++)
		ow_buf_printf(b, "openwit_rejected_requests_total{reason=\"%s\"} %llu\n",
			      reject_names[i], (unsigned long long)stats.rejected[i]);
	ow_metric_hist(b, "openwit_ack_latency_seconds",
		       "From a request's arrival to its acknowledgement.", &stats.ack_latency);
}

ow_module_t ow_ingest_module = {
    .name = "ingest",
    .stats = ingest_stats,
};

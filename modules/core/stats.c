/*
 * stats.c - see stats.h.
 */
#include "stats.h"

ow_stats_t ow_stats;

const double ow_hist_bounds[OW_HIST_BUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
						0.01,	0.025,	 0.05,	 0.1,	0.25,	0.5,
						1,	2.5,	 5,	 10,	1e300};

const char *const ow_reject_names[OW_NREJECT] = {
    "bad_request",	"invalid_tenant", "too_large",	   "unsupported_media_type",
    "method",		"not_found",	  "memory_budget", "queue_full",
    "disk_full",	"draining",	  "wal_failed",	   "buffer_full",
    "deadline_exceeded"};

void ow_hist_observe(ow_hist_t *h, double seconds)
{
	int i = 0;
	while (i < OW_HIST_BUCKETS - 1 && seconds > ow_hist_bounds[i])
		i++;
	h->buckets[i]++;
	h->count++;
	h->sum += seconds;
}

static ow_tenant_stats_t *tenant_row(const char *tenant)
{
	for (int i = 0; i < ow_stats.ntenants; i++)
		if (strcmp(ow_stats.tenants[i].tenant, tenant) == 0)
			return &ow_stats.tenants[i];
	if (ow_stats.ntenants == OW_STATS_TENANTS - 1) {
		ow_tenant_stats_t *other = &ow_stats.tenants[OW_STATS_TENANTS - 1];
		snprintf(other->tenant, sizeof(other->tenant), "_other");
		return other;
	}
	ow_tenant_stats_t *t = &ow_stats.tenants[ow_stats.ntenants++];
	snprintf(t->tenant, sizeof(t->tenant), "%s", tenant);
	return t;
}

void ow_stats_accepted(const char *tenant, int signal, uint64_t records, uint64_t rejected,
		       uint64_t bytes)
{
	ow_tenant_stats_t *t = tenant_row(tenant);
	t->requests[signal]++;
	t->records[signal] += records;
	t->rejected[signal] += rejected;
	t->bytes[signal] += bytes;
}

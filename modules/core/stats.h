/*
 * stats.h - what a module needs to report its counters on /metrics: a
 * latency histogram and the writers of Prometheus text lines. Each module
 * keeps its own counters and writes them in its stats hook (module.h);
 * /metrics is those hooks' output in module table order. Counters are
 * updated and read on the loop thread only, so plain integers suffice.
 */
#ifndef OW_STATS_H
#define OW_STATS_H

#include "core.h"

#define OW_HIST_BUCKETS 17

typedef struct {
	uint64_t buckets[OW_HIST_BUCKETS]; /* cumulative counts are made when printed */
	uint64_t count;
	double sum; /* seconds */
} ow_hist_t;

extern const double ow_hist_bounds[OW_HIST_BUCKETS]; /* seconds; last is +Inf */

void ow_hist_observe(ow_hist_t *h, double seconds);

/* "# HELP" and "# TYPE" lines of a metric (type: counter, gauge, ...). */
void ow_metric_head(ow_buf_t *b, const char *name, const char *type, const char *help);
/* A metric of one unlabelled sample. */
void ow_metric_one(ow_buf_t *b, const char *name, const char *type, const char *help, uint64_t v);
void ow_metric_hist(ow_buf_t *b, const char *name, const char *help, const ow_hist_t *h);
/* One series of a histogram (after its ow_metric_head): labels such as
 * stage="wal" (or NULL), n buckets counted apart (not cumulative) with
 * their upper bounds, the last +Inf. */
void ow_metric_series(ow_buf_t *b, const char *name, const char *labels, const uint64_t *buckets,
		      const double *bounds, int n, uint64_t count, double sum);
/* The metrics of the core that every module shares (no module of its
 * own): the in-flight byte budget and the connection caps. */
void ow_core_stats(ow_buf_t *b);

#endif

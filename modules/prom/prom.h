/*
 * prom.h - the Prometheus API on the control port, under /prometheus
 * (prom.c): PromQL queries (promql.c) over the metrics table read as
 * Prometheus series (series.c), and remote_write ingest (remote.c).
 */
#ifndef OW_PROM_H
#define OW_PROM_H

#include "../core/core.h"
#include "../core/module.h"
#include "promql.h"

extern ow_module_t ow_prom_module;

/* ---- series.c: the metrics table as Prometheus series ---- */

struct ow_search;
typedef struct {
	struct ow_search *s;
	int samples;	/* 0: label sets alone (the series and label APIs) */
	ow_buf_t names; /* the metrics' names, types and units, read once a request */
	int have_names;
} ow_prom_store_t;

/* ow_pq_fetch_fn over a search handle (arg: an ow_prom_store_t). */
int ow_prom_fetch(void *arg, const ow_pq_matcher_t *m, int nm, int64_t mint, int64_t maxt,
		  ow_pq_series_t **out, size_t *n, char *err, size_t errlen);

/* The metadata API's "data": {name: [{"type","help","unit"}]} of the
 * metrics with points in [mint, maxt] (ms); metric "" for all. */
int ow_prom_metadata(struct ow_search *s, int64_t mint, int64_t maxt, const char *metric,
		     int64_t limit, ow_buf_t *out, char *err, size_t errlen);

/* The Prometheus name of an OpenTelemetry metric (the compatibility
 * rules: dots and other characters to underscores, the unit's suffix,
 * _total for a monotonic sum, _ratio for a gauge of unit "1"). */
void ow_prom_metric_name(const char *name, const char *unit, const char *type, int monotonic,
			 ow_buf_t *out);
/* A label name from an attribute key: characters outside [A-Za-z0-9_]
 * to underscores, "key_" before a leading digit. */
void ow_prom_label_name(const char *key, size_t n, ow_buf_t *out);

/* ---- remote.c: remote_write 1.0 ---- */

/* A snappy-compressed prometheus.WriteRequest body into the protobuf of
 * an ExportMetricsServiceRequest (out): a gauge per series, its labels as
 * the point attributes (__name__ the metric's name), a staleness marker
 * as a point flagged no_recorded_value. At most max bytes once
 * uncompressed and once converted. OW_OK; OW_ERROR (bad input) or
 * OW_NOSPACE (too large) with a message. */
int ow_prom_remote_convert(const uint8_t *body, size_t len, size_t max, ow_buf_t *out, char *err,
			   size_t errlen);

#endif

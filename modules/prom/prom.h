/*
 * prom.h - the Prometheus API on the control port, under /prometheus
 * (prom.c): PromQL queries (promql.c) over the metrics table read as
 * Prometheus series (series.c, its decoded parts kept by cache.c; range
 * queries' answers kept by rcache.c), and remote_write ingest (remote.c).
 */
#ifndef OW_PROM_H
#define OW_PROM_H

#include "../core/core.h"
#include "../core/module.h"
#include "../storage/storage.h"
#include "promql.h"

extern ow_module_t ow_prom_module;

/* ---- series.c: the metrics table as Prometheus series ---- */

struct ow_search;
typedef struct {
	struct ow_search *s;
	int samples;		     /* 0: label sets alone (the series and label APIs) */
	struct ow_prom_names *names; /* the stored metrics, distinct, read once a request */
	/* the request's budgets (ow_search_limits): what its fetches hold,
	 * counted against max_memory; the deadline and cancel polled */
	int64_t max_memory, fetched, deadline_ns;
	const atomic_int *cancel;
	int delta; /* a delta series was read (its values summed from the span's start) */
} ow_prom_store_t;

/* An ow_prom_store_t over s for a request (samples: 0 for label sets). */
void ow_prom_store_init(ow_prom_store_t *st, struct ow_search *s, int samples);
void ow_prom_store_free(ow_prom_store_t *st);

/* ow_pq_fetch_fn over a search handle (arg: an ow_prom_store_t). The
 * committed parts are read a piece (part, metric) at a time, from the
 * cache (cache.c) or decoded and put there; the buffered rows each time. */
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
/* The bytes series s holds, as the allocator gave them. */
size_t ow_prom_series_bytes(const ow_pq_series_t *s);
/* A label name from an attribute key: characters outside [A-Za-z0-9_]
 * to underscores, "key_" before a leading digit. */
void ow_prom_label_name(const char *key, size_t n, ow_buf_t *out);

/* ---- cache.c: the decoded series of committed parts ---- */

/* What series.c keeps of a part, under a key of its own: the series of
 * one stored metric ("m:NAME"): labels (__name__ among
 * them), points by time, one a millisecond, delta values as stored
 * (delta[i]: series i is of delta temporality); bytes it holds. */
typedef struct {
	ow_pq_series_t *series;
	uint8_t *delta;
	size_t n, bytes;
	ow_buf_t rows; /* or a query's packed rows (the part's metrics) */
} ow_prom_piece_t;

void ow_prom_piece_free(ow_prom_piece_t *p);
/* Any thread. The piece of (part, key), held until
 * ow_prom_cache_release; NULL when the cache has none. part is the
 * part's ow_partref_t. */
const ow_prom_piece_t *ow_prom_cache_get(const void *part, const char *key);
/* Takes piece (emptied) into the cache under (part, key) and returns
 * it held; or, when another thread put one first, frees it and returns
 * that one. part NULL (or a piece over the cache's size): held by the
 * caller alone, freed at its release. */
const ow_prom_piece_t *ow_prom_cache_put(const void *part, const char *key, ow_prom_piece_t *piece);
void ow_prom_cache_release(const ow_prom_piece_t *piece);
/* The pieces of part p go (storage's part gone hook). */
void ow_prom_cache_gone(ow_partref_t *p);
/* The cache's size in bytes (prom.cache_bytes); the least recently used
 * pieces past it go. */
void ow_prom_cache_limit(int64_t bytes);
/* 0 when the cache keeps nothing (prom.cache_bytes 0). */
int ow_prom_cache_keeps(void);
void ow_prom_cache_clear(void);
/* Its gauges and counters for /metrics. */
void ow_prom_cache_stats(ow_buf_t *b);

/* ---- rcache.c: query_range results ---- */

/* A result as the cache keeps it: series in label order, their points at
 * the step-aligned times [first, last]. */
typedef struct {
	ow_pq_series_t *series;
	size_t n;
} ow_prom_result_t;

void ow_prom_result_free(ow_prom_result_t *r);
/* head's series and tail's (of later times) as one result, in label
 * order; takes both. */
void ow_prom_result_merge(ow_prom_result_t *head, ow_prom_result_t *tail, ow_prom_result_t *out);
/* Loop thread: the ingest sequence now (read before a query's snapshot). */
uint64_t ow_prom_rcache_seq(void);
/* Loop thread (the one writer), storage's change hook for the metrics
 * signal: rows of tenant (NULL: of any) at or after min_ns came or went.
 * O(1), no lock: recorded, applied to an entry when it is read. */
void ow_prom_rcache_changed(const char *tenant, int64_t min_ns);
/* Any thread: the valid points of key's entry at the times start + k *
 * step in [start, end], into *r; *upto the last of those times it holds
 * (start - step: none, r empty). */
void ow_prom_rcache_get(const char *key, int64_t start, int64_t end, int64_t step,
			ow_prom_result_t *r, int64_t *upto);
/* Takes r (emptied) as key's entry: tenant's points at [first, last],
 * read from a snapshot taken after sequence seq; a value at t depends on
 * the samples at or before t - min_offset (dep 0: on none). */
void ow_prom_rcache_put(const char *key, const char *tenant, int dep, int64_t min_offset,
			uint64_t seq, int64_t first, int64_t last, ow_prom_result_t *r);
/* prom.result_cache_bytes; 0 keeps nothing. */
void ow_prom_rcache_limit(int64_t bytes);
int ow_prom_rcache_keeps(void);
void ow_prom_rcache_clear(void);
/* A request's use of the cache: OW_PROM_RC_HIT (no step evaluated),
 * _PARTIAL (the steps past upto), _MISS (all), _OFF. */
enum { OW_PROM_RC_OFF, OW_PROM_RC_MISS, OW_PROM_RC_PARTIAL, OW_PROM_RC_HIT };
void ow_prom_rcache_count(int use);
void ow_prom_rcache_stats(ow_buf_t *b);

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

/*
 * promql.h - PromQL: a parser with Prometheus' error form and an
 * evaluator of instant and range queries, over series that a fetch
 * callback supplies (prom.c reads them from the metrics table; a unit
 * test from memory). Nothing here knows about storage or HTTP.
 *
 * Times are milliseconds since the epoch, as in Prometheus. A query is
 * parsed once, then its selectors are fetched once each, for the whole
 * span the evaluation needs (start - offset - range - lookback up to end -
 * offset), then it is evaluated at every step, as Prometheus 2.x does:
 * range selection [t - range, t] inclusive, instant selection the newest
 * sample in [t - lookback, t] unless that is a staleness marker.
 */
#ifndef OW_PROMQL_H
#define OW_PROMQL_H

#include "../core/core.h"

#include <stdatomic.h>

/* Prometheus' staleness marker, a NaN of its own bits. */
#define OW_PQ_STALE_BITS UINT64_C(0x7ff0000000000002)
int ow_pq_is_stale(double v);
double ow_pq_stale(void);

typedef struct {
	char *name, *value;
} ow_pq_label_t;

/* A label set, sorted by name; __name__ among them when there is one. */
typedef struct {
	ow_pq_label_t *l;
	int n;
	uint64_t hash; /* ow_pq_labels_hash's, once asked; 0 before */
} ow_pq_labels_t;

typedef struct {
	int64_t t;
	double v;
} ow_pq_point_t;

typedef struct {
	ow_pq_labels_t labels;
	ow_pq_point_t *pts; /* by time */
	size_t n, cap;
} ow_pq_series_t;

enum { OW_PQ_EQ, OW_PQ_NEQ, OW_PQ_RE, OW_PQ_NRE };
typedef struct {
	int op;
	char *name, *value;
	void *re; /* regex_t for =~ and !~ */
} ow_pq_matcher_t;

/* 1 when value matches m (a missing label is ""). */
int ow_pq_match(const ow_pq_matcher_t *m, const char *value);
/* 1 when every matcher holds for the label set. */
int ow_pq_match_all(const ow_pq_matcher_t *m, int nm, const ow_pq_labels_t *ls);
const char *ow_pq_label_get(const ow_pq_labels_t *ls, const char *name);
/* Sets name to value (copies), or removes it when value is "". */
void ow_pq_label_set(ow_pq_labels_t *ls, const char *name, const char *value);
void ow_pq_labels_free(ow_pq_labels_t *ls);
/* Label sets in order (by name, then value, pair by pair), and hashed. */
int ow_pq_labels_cmp(const ow_pq_labels_t *a, const ow_pq_labels_t *b);
uint64_t ow_pq_labels_hash(const ow_pq_labels_t *ls);
void ow_pq_series_add(ow_pq_series_t *s, int64_t t, double v);

/* What the evaluator asks of storage: every series matching the
 * matchers, with its samples in [mint, maxt] (ms), appended to *out
 * (*n of them; the evaluator frees them). OW_OK, or with a message
 * OW_ERROR (Prometheus' "execution" error), OW_PQ_TIMEOUT or
 * OW_PQ_CANCELED. */
enum { OW_PQ_TIMEOUT = -20, OW_PQ_CANCELED = -21 };
typedef int (*ow_pq_fetch_fn)(void *arg, const ow_pq_matcher_t *m, int nm, int64_t mint,
			      int64_t maxt, ow_pq_series_t **out, size_t *n, char *err,
			      size_t errlen);

typedef struct ow_pq_expr ow_pq_expr_t;

/* Parses q: the expression, or NULL with "1:COL: parse error: ..." in err
 * (the line and column of the error, 1-based, as Prometheus gives them). */
ow_pq_expr_t *ow_pq_parse(const char *q, char *err, size_t errlen);
void ow_pq_free(ow_pq_expr_t *e);
/* The parsed selector's matchers (for /series and the label APIs, which
 * take series selectors): NULL when e is not a plain vector selector. */
const ow_pq_matcher_t *ow_pq_selector(const ow_pq_expr_t *e, int *nm);

typedef struct {
	int64_t start, end, step; /* ms; step 0: an instant query at start */
	int64_t lookback;	  /* ms; 0: 5 minutes */
	ow_pq_fetch_fn fetch;
	void *fetch_arg;
	int64_t max_bytes;	  /* the evaluation's memory; 0: none */
	int64_t deadline_ns;	  /* CLOCK_MONOTONIC; 0: none */
	int64_t max_points;	  /* 0: none */
	const atomic_int *cancel; /* raised: stop ("canceled"); NULL: never */
	/* a range query's result handed over instead of written to out: its
	 * series in label order (the caller frees them); NULL: written */
	ow_pq_series_t **matrix;
	size_t *nmatrix;
} ow_pq_eval_opts_t;

/* Evaluates e and appends the "data" object of Prometheus' answer
 * ({"resultType":...,"result":...}) to out. OW_OK, or OW_ERROR with a
 * message and the errorType ("bad_data", "execution", "timeout",
 * "canceled") in
 * *etype. */
int ow_pq_eval(ow_pq_expr_t *e, const ow_pq_eval_opts_t *o, ow_buf_t *out, const char **etype,
	       char *err, size_t errlen);

/* One series of a matrix answer, {"metric":...,"values":[...]}, with a
 * comma before it unless first. */
void ow_pq_series_json(ow_buf_t *b, const ow_pq_labels_t *ls, const ow_pq_point_t *pts, size_t n,
		       int first);

/* What a value at time t of e depends on: the samples at or before t -
 * *min_offset (the least of its selectors' offsets, with the offsets of
 * the subqueries around them). 0 when e selects no series (its values
 * depend on t alone), else 1. */
int ow_pq_depends(const ow_pq_expr_t *e, int64_t *min_offset);

/* A float as Prometheus writes sample values: the fewest digits that read
 * back the same, never an exponent; NaN, +Inf, -Inf. */
void ow_pq_format_value(ow_buf_t *b, double v);
/* A time in ms as Prometheus' JSON number of seconds. */
void ow_pq_format_time(ow_buf_t *b, int64_t ms);
/* A JSON string. */
void ow_pq_json_string(ow_buf_t *b, const char *s);

/* Durations: "5m", "1h30m", "500ms"; OW_OK with *ms. */
int ow_pq_parse_duration(const char *s, size_t n, int64_t *ms);

#endif

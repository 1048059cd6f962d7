/*
 * traceapi.h - the Tempo and Jaeger query APIs over the spans table, on the
 * control port:
 *
 *   /tempo/api/...    tempo.c: echo, trace by id (OTLP protobuf or JSON,
 *                     v1 and v2), TraceQL search, search tags and values
 *   /jaeger/api/...   jaeger.c: services, operations, trace search and
 *                     trace by id in Jaeger's JSON model
 *
 * Both find traces the same way (traceapi.c): a trace by id is
 * /api/traces/{id}'s lookup (modules/control), a search is an SQL
 * condition on spans that the API's parser builds on the loop; the query
 * itself runs on the query pool (ow_query_run), with the query class's
 * caps, snapshot and budgets. What they answer is theirs.
 */
#ifndef OW_TRACEAPI_H
#define OW_TRACEAPI_H

#include "../core/module.h"
#include "../search/search.h"

#include <cjson/cJSON.h>

extern ow_module_t ow_traceapi_module;

/* ---- shared by tempo.c and jaeger.c (traceapi.c) ---- */

/* The columns of a span that both APIs read, in this order. */
#define TR_SPAN_COLS                                                                               \
	"trace_id, span_id, parent_span_id, trace_state, flags, name, kind, start_time, "          \
	"end_time, "                                                                               \
	"status_code, status_message, attributes, dropped_attributes_count, events, "              \
	"dropped_events_count, links, dropped_links_count, service_name, resource_attributes, "    \
	"resource_dropped_attributes_count, resource_schema_url, scope_name, scope_version, "      \
	"scope_attributes, scope_dropped_attributes_count, scope_schema_url, otlp_exact"
enum {
	TR_TRACE,
	TR_SPAN,
	TR_PARENT,
	TR_STATE,
	TR_FLAGS,
	TR_NAME,
	TR_KIND,
	TR_START,
	TR_END,
	TR_STATUS,
	TR_STATUS_MSG,
	TR_ATTRS,
	TR_DROPPED_ATTRS,
	TR_EVENTS,
	TR_DROPPED_EVENTS,
	TR_LINKS,
	TR_DROPPED_LINKS,
	TR_SERVICE,
	TR_RES_ATTRS,
	TR_RES_DROPPED,
	TR_RES_SCHEMA,
	TR_SCOPE_NAME,
	TR_SCOPE_VERSION,
	TR_SCOPE_ATTRS,
	TR_SCOPE_DROPPED,
	TR_SCOPE_SCHEMA,
	TR_EXACT,
	TR_NCOLS
};

/* A search: spans matching cond (SQL over the spans table) that start in
 * [start, end] ns; at most limit traces, the most recent first; with
 * min_dur/max_dur (>= 0), only traces whose duration is in range: the
 * duration over the trace's spans that start within max_dur of the window
 * (every span of a trace that short), or without max_dur within
 * TR_TRACE_SLACK of it; a first pass (a span far from the window can make
 * a trace longer: tr_duration_in over all of them). The default windows
 * are the APIs'. */
#define TR_TRACE_SLACK (3600 * (int64_t)1000000000)
typedef struct {
	ow_buf_t cond;
	int64_t start, end, limit, min_dur, max_dur;
} tr_search_t;

/* Whether a trace lasting dur ns is in q's [min_dur, max_dur]: what the
 * APIs ask of each trace found with all its spans read (the search's
 * windowed duration misses spans far from the window). */
int tr_duration_in(const tr_search_t *q, int64_t dur);
/* The rows [*from, *to) of trace id in rows ordered by trace id (column
 * col), found by binary search: 1, or 0 when it has none. */
int tr_trace_rows(const ow_search_rows_t *rows, int col, const char *id, size_t *from, size_t *to);
/* The trace ids a search finds (column 0 of ids), the most recent first. */
int tr_search_ids(ow_search_t *s, const tr_search_t *q, ow_search_rows_t *ids, char *err,
		  size_t errlen);
/* Every span (TR_SPAN_COLS) of the traces in ids (column 0), by trace id
 * then start time; id alone when ids is NULL. */
int tr_spans(ow_search_t *s, const ow_search_rows_t *ids, const char *id, ow_search_rows_t *spans,
	     char *err, size_t errlen);
/* Cell c of span row r. */
static inline const char *tr_cell(const ow_search_rows_t *rows, size_t r, int c)
{
	return rows->cell[r * (size_t)rows->ncols + (size_t)c];
}
/* The OTLP/JSON (format 1, columns.h) of column col (TR_*) of span row r,
 * parsed: a KeyValue list column as OTLP/JSON's array of {key, value}, an
 * events or links column as its array with such attributes; NULL when
 * empty. */
cJSON *tr_otlp(const ow_search_rows_t *rows, size_t r, int col);
/* What an answer's work holds under the query's memory budget
 * (ow_search_hold), as /api/search's answer is: the rows it has read and
 * the cJSON it builds of them (tr_json_bytes of each part as added). */
typedef struct {
	ow_search_t *s;
	int64_t held; /* charged to s */
} tr_hold_t;
void tr_hold_begin(tr_hold_t *h, ow_search_t *s);
/* Charges n bytes more: OW_OK, or OW_ERROR with the budget's message in
 * err once the query holds more than query.max_memory_bytes. */
int tr_hold(tr_hold_t *h, int64_t n, char *err, size_t errlen);
/* The bytes of cJSON j and all below it: a node and its strings each,
 * as allocated. */
int64_t tr_json_bytes(const cJSON *j);
/* Credits what h charged, once the caller has freed it. */
void tr_hold_end(tr_hold_t *h);
/* j printed onto out and freed; with h, the text and its copy in out
 * charged first: OW_OK, or OW_ERROR with the budget's message in err and
 * nothing added to out. */
int tr_print(cJSON *j, ow_buf_t *out, tr_hold_t *h, char *err, size_t errlen);
/* An integer or a duration ("1.5s", "100ms"; a bare number in unit ns)
 * into ns: OW_OK or OW_ERROR. */
int tr_duration(const char *v, int64_t unit, int64_t *ns);

/* tempo.c: TraceQL q into an SQL condition on spans (appended to out):
 * OW_OK, or OW_ERROR with Tempo's message. */
int tr_traceql(const char *q, ow_buf_t *out, char *err, size_t errlen);

/* tempo.c and jaeger.c: their routes (path after the prefix). */
struct evhttp_request;
void ow_tempo_route(struct evhttp_request *req, const char *path, const char *tenant, void *arg);
void ow_jaeger_route(struct evhttp_request *req, const char *path, const char *tenant, void *arg);

#endif

/*
 * traceapi.c - the module of the Tempo and Jaeger APIs (traceapi.h): it
 * registers their routes, and finds traces and spans for both.
 *
 * A search is two steps of SQL on the tenant's snapshot: the trace ids
 * (grouped, the most recent first, at most the limit), then the spans of
 * those traces. Trace durations need the whole trace, so a search with
 * one asks for it with a subquery. Every step is bound by query.max_rows
 * and the query's time and memory budgets, as /api/search is; what the
 * APIs build of the rows (cJSON trees, their text, protobuf) is held under
 * the same memory budget (tr_hold): a tree as its nodes and strings
 * (tr_json_bytes), charged a span at a time as it grows. cJSON's
 * allocator is left alone (its hooks are process-wide).
 */
#include "traceapi.h"
#include "../auth/auth.h"
#include "../columns/columns.h"
#include "../control/control.h"

#include <errno.h>

int64_t tr_json_bytes(const cJSON *j)
{
	int64_t n = (int64_t)sizeof(cJSON) + (j->string ? (int64_t)strlen(j->string) + 1 : 0) +
		    (j->valuestring ? (int64_t)strlen(j->valuestring) + 1 : 0);
	for (const cJSON *c = j->child; c; c = c->next)
		n += tr_json_bytes(c);
	return n;
}

void tr_hold_begin(tr_hold_t *h, ow_search_t *s)
{
	*h = (tr_hold_t){.s = s};
}

int tr_hold(tr_hold_t *h, int64_t n, char *err, size_t errlen)
{
	h->held += n;
	return ow_search_hold(h->s, n, err, errlen);
}

void tr_hold_end(tr_hold_t *h)
{
	(void)ow_search_hold(h->s, -h->held, NULL, 0);
	h->held = 0;
}

int tr_print(cJSON *j, ow_buf_t *out, tr_hold_t *h, char *err, size_t errlen)
{
	char *s = cJSON_PrintUnformatted(j);
	size_t n = s ? strlen(s) : 0;
	/* the text and its copy, before the tree goes: the peak holds all */
	int rc = !s ? OW_ERROR : h ? tr_hold(h, 2 * (int64_t)n, err, errlen) : OW_OK;
	if (!s)
		snprintf(err, errlen, "cannot print the answer");
	cJSON_Delete(j);
	if (rc == OW_OK)
		ow_buf_add(out, s, n);
	cJSON_free(s);
	return rc;
}

int tr_duration(const char *v, int64_t unit, int64_t *ns)
{
	char *end;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	if (*v && *end == '\0' && errno == 0) {
		if (x < 0 || x > INT64_MAX / unit)
			return OW_ERROR;
		*ns = x * unit;
		return OW_OK;
	}
	return ow_parse_duration(v, ns) == OW_OK && *ns >= 0 ? OW_OK : OW_ERROR;
}

int tr_duration_in(const tr_search_t *q, int64_t dur)
{
	return (q->min_dur < 0 || dur >= q->min_dur) && (q->max_dur < 0 || dur <= q->max_dur);
}

int tr_trace_rows(const ow_search_rows_t *rows, int col, const char *id, size_t *from, size_t *to)
{
	size_t lo = 0, hi = rows->nrows;
	while (lo < hi) { /* the first row not before id */
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(tr_cell(rows, mid, col), id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*from = lo;
	while (lo < rows->nrows && strcmp(tr_cell(rows, lo, col), id) == 0)
		lo++;
	*to = lo;
	return *to > *from;
}

int tr_search_ids(ow_search_t *s, const tr_search_t *q, ow_search_rows_t *ids, char *err,
		  size_t errlen)
{
	ow_buf_t b = {0};
	ow_buf_t where = {0};
	ow_buf_printf(&where, "start_time >= %lld AND start_time <= %lld AND (%.*s)",
		      (long long)q->start, (long long)q->end, (int)q->cond.len,
		      (const char *)q->cond.data);
	if (q->min_dur < 0 && q->max_dur < 0) {
		ow_buf_printf(&b,
			      "SELECT trace_id, max(start_time) AS t FROM spans WHERE %.*s "
			      "GROUP BY trace_id ORDER BY t DESC",
			      (int)where.len, (const char *)where.data);
	} else {
		/* a trace's duration over its spans that start within slack
		 * of the window: maxDuration, which holds every span of a trace
		 * short enough (exact), else TR_TRACE_SLACK */
		int64_t slack = q->max_dur >= 0 ? q->max_dur : TR_TRACE_SLACK;
		int64_t from = q->start > INT64_MIN + slack ? q->start - slack : INT64_MIN;
		int64_t to = q->end < INT64_MAX - slack ? q->end + slack : INT64_MAX;
		ow_buf_printf(
		    &b,
		    "SELECT trace_id, max(start_time) AS t FROM spans WHERE start_time >= %lld AND "
		    "start_time <= %lld AND trace_id IN "
		    "(SELECT trace_id FROM spans WHERE %.*s) GROUP BY trace_id HAVING "
		    "max(end_time) - min(start_time) BETWEEN %lld AND %lld ORDER BY t DESC",
		    (long long)from, (long long)to, (int)where.len, (const char *)where.data,
		    (long long)(q->min_dur < 0 ? 0 : q->min_dur),
		    (long long)(q->max_dur < 0 ? INT64_MAX : q->max_dur));
	}
	ow_buf_add(&b, "", 1);
	int rc = ow_search_rows(s, (const char *)b.data, q->limit, ids, err, errlen);
	ow_buf_free(&b);
	ow_buf_free(&where);
	return rc;
}

int tr_spans(ow_search_t *s, const ow_search_rows_t *ids, const char *id, ow_search_rows_t *spans,
	     char *err, size_t errlen)
{
	ow_buf_t b = {0};
	ow_buf_addstr(&b, "SELECT " TR_SPAN_COLS " FROM spans WHERE trace_id ");
	if (ids == NULL) {
		ow_buf_addstr(&b, "= lower(");
		ow_search_sql_str(&b, id);
		ow_buf_addstr(&b, ")");
	} else {
		ow_buf_addstr(&b, "IN (");
		for (size_t i = 0; i < ids->nrows; i++) {
			if (i)
				ow_buf_addstr(&b, ", ");
			ow_search_sql_str(&b, tr_cell(ids, i, 0));
		}
		ow_buf_addstr(&b, ")");
	}
	ow_buf_addstr(&b, " ORDER BY trace_id, start_time");
	ow_buf_add(&b, "", 1);
	int rc = ow_search_rows(s, (const char *)b.data, -1, spans, err, errlen);
	ow_buf_free(&b);
	return rc;
}

/* A KeyValue list as format 1 keeps it ({"k": AnyValue, ...}) to
 * OTLP/JSON's [{"key": "k", "value": AnyValue}, ...]. */
static cJSON *kv_array(cJSON *obj)
{
	cJSON *arr = cJSON_CreateArray();
	while (obj && obj->child) {
		cJSON *v = cJSON_DetachItemViaPointer(obj, obj->child);
		cJSON *kv = cJSON_CreateObject();
		cJSON_AddStringToObject(kv, "key", v->string);
		cJSON_AddItemToObject(kv, "value", v);
		cJSON_AddItemToArray(arr, kv);
	}
	cJSON_Delete(obj);
	return arr;
}

cJSON *tr_otlp(const ow_search_rows_t *rows, size_t r, int col)
{
	const char *v = tr_cell(rows, r, col);
	if (*v == '\0')
		return NULL;
	const ow_pq_coldef_t *schema = ow_columns_schema(OW_TRACES);
	int scol = -1;
	for (int i = 0; i < ow_columns_ncols(OW_TRACES); i++)
		if (strcmp(schema[i].name, rows->names[col]) == 0)
			scol = i;
	const char *exact = tr_cell(rows, r, TR_EXACT);
	ow_buf_t b = {0};
	if (scol < 0 ||
	    ow_columns_otlp(OW_TRACES, scol, (const uint8_t *)v, strlen(v),
			    *exact ? (const uint8_t *)exact : NULL, strlen(exact), &b) != OW_OK) {
		ow_buf_free(&b);
		return NULL;
	}
	cJSON *j = cJSON_ParseWithLength((const char *)b.data, b.len);
	ow_buf_free(&b);
	if (cJSON_IsObject(j))
		return kv_array(j);
	cJSON *e;
	cJSON_ArrayForEach(e, j)
	{
		cJSON *a = cJSON_GetObjectItemCaseSensitive(e, "attributes");
		if (cJSON_IsObject(a))
			cJSON_AddItemToObject(e, "attributes",
					      kv_array(cJSON_DetachItemViaPointer(e, a)));
	}
	return j;
}

static int traceapi_init(struct event_base *base)
{
	OW_UNUSED(base);
	if (ow_control_route("/tempo", OW_ROUTE_PREFIX, OW_AUTH_READ, ow_tempo_route, NULL) !=
		OW_OK ||
	    ow_control_route("/jaeger", OW_ROUTE_PREFIX, OW_AUTH_READ, ow_jaeger_route, NULL) !=
		OW_OK ||
	    /* Grafana 12's Jaeger data source sends its search to /api/traces
	     * on the server, whatever its URL's path (its client sets the
	     * path): answered there as /jaeger/api/traces */
	    ow_control_route("/api/traces", 0, OW_AUTH_READ, ow_jaeger_route, "") != OW_OK)
		return OW_ERROR;
	return OW_OK;
}

ow_module_t ow_traceapi_module = {
    .name = "traceapi",
    .init = traceapi_init,
};

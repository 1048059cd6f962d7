/*
 * jaeger.c - Jaeger's query API under /jaeger (what Jaeger's UI and
 * Grafana's Jaeger data source send, its URL http://HOST:8083/jaeger):
 *
 *   GET api/services                      service names
 *   GET api/services/{service}/operations span names of a service
 *   GET api/operations?service=&spanKind= [{name, spanKind}]
 *                                         (these three: of the spans
 *                                         that start in start..end, in
 *                                         µs, by default lookback, 72h,
 *                                         before now)
 *   GET api/traces?service=&operation=&tags=&minDuration=&maxDuration=
 *                  &limit=&start=&end=&lookback=
 *                                         traces with a span that has
 *                                         all of these, the most recent
 *                                         first: tags a JSON object of
 *                                         attribute values (also tag=k:v,
 *                                         repeated), durations Go's
 *                                         ("1.2s"), start and end in µs
 *                                         (default: lookback, 1h, before
 *                                         now), limit traces (20)
 *   GET api/traces/{id}                   one trace
 *
 * Every answer is Jaeger's envelope {"data", "total", "limit", "offset",
 * "errors"}, an error with data null and errors [{"code", "msg"}] (400
 * for a bad request, 404 for a trace not found). Traces are Jaeger's JSON
 * model: spans with operationName, references (CHILD_OF the parent,
 * FOLLOWS_FROM each link), startTime and duration in µs, tags (the span's
 * attributes, and span.kind, otel.status_code, otel.status_description,
 * error, otel.scope.name and .version as Jaeger's OTLP receiver adds
 * them), logs (the events) and a processID; processes are the services
 * with their resource attributes as tags.
 *
 * Grafana's health check for Jaeger fails on an empty list of services:
 * a server with no span yet fails it (README says so). Grafana 12 sends
 * its Jaeger search to /api/traces on the server whatever the data
 * source's path: that path answers it too (traceapi.c).
 */
#include "traceapi.h"
#include "../control/control.h"
#include "../http/http.h"

#include <errno.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

enum { J_SERVICES, J_OPERATIONS, J_OPS_KIND, J_SEARCH, J_TRACE };

/* The default windows: a search's the hour before now (Jaeger UI's
 * default lookback); services' and operations' the 72 hours before now
 * (Jaeger's Elasticsearch store's es.max-span-age, the window it lists
 * them from). */
#define SEARCH_LOOKBACK (3600 * (int64_t)1000000000)
#define NAMES_LOOKBACK (72 * 3600 * (int64_t)1000000000)

typedef struct {
	int what;
	char id[33];
	char *service;
	int kind; /* api/operations: the spanKind asked for, -1 any */
	tr_search_t q;
} jaeger_req_t;

static const char *const kind_names[] = {"",	   "internal", "server",
					 "client", "producer", "consumer"};

static void fail(ow_query_answer_t *a, int code, const char *msg);

/* data in Jaeger's envelope; with h, its text charged (a budget's
 * failure is the answer then) */
static void envelope(ow_query_answer_t *a, cJSON *data, int total, tr_hold_t *h)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "data", data ? data : cJSON_CreateNull());
	cJSON_AddNumberToObject(o, "total", total);
	cJSON_AddNumberToObject(o, "limit", 0);
	cJSON_AddNumberToObject(o, "offset", 0);
	cJSON_AddNullToObject(o, "errors");
	char err[512];
	if (tr_print(o, &a->body, h, err, sizeof(err)) != OW_OK)
		fail(a, h ? 400 : 500, err);
}

static void fail(ow_query_answer_t *a, int code, const char *msg)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNullToObject(o, "data");
	cJSON_AddNumberToObject(o, "total", 0);
	cJSON_AddNumberToObject(o, "limit", 0);
	cJSON_AddNumberToObject(o, "offset", 0);
	cJSON *errs = cJSON_AddArrayToObject(o, "errors");
	cJSON *e = cJSON_CreateObject();
	cJSON_AddNumberToObject(e, "code", code);
	cJSON_AddStringToObject(e, "msg", msg);
	cJSON_AddItemToArray(errs, e);
	char *s = cJSON_PrintUnformatted(o);
	a->code = code;
	a->ctype = "application/json";
	a->body.len = 0;
	ow_buf_addstr(&a->body, s);
	cJSON_free(s);
	cJSON_Delete(o);
}

/* ---- the JSON model ---- */

static cJSON *tag(const char *key, const char *type, cJSON *value)
{
	cJSON *t = cJSON_CreateObject();
	cJSON_AddStringToObject(t, "key", key);
	cJSON_AddStringToObject(t, "type", type);
	cJSON_AddItemToObject(t, "value", value);
	return t;
}

/* An OTLP/JSON KeyValue as a Jaeger tag. */
static cJSON *kv_tag(const cJSON *kv)
{
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(kv, "key");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(kv, "value");
	const char *key = cJSON_IsString(k) ? k->valuestring : "";
	const cJSON *x;
	if ((x = cJSON_GetObjectItemCaseSensitive(v, "stringValue")) && cJSON_IsString(x))
		return tag(key, "string", cJSON_CreateString(x->valuestring));
	if ((x = cJSON_GetObjectItemCaseSensitive(v, "boolValue")))
		return tag(key, "bool", cJSON_CreateBool(cJSON_IsTrue(x)));
	if ((x = cJSON_GetObjectItemCaseSensitive(v, "intValue")) && cJSON_IsString(x))
		return tag(key, "int64", cJSON_CreateRaw(x->valuestring));
	if ((x = cJSON_GetObjectItemCaseSensitive(v, "doubleValue")) && cJSON_IsNumber(x))
		return tag(key, "float64", cJSON_CreateNumber(x->valuedouble));
	if ((x = cJSON_GetObjectItemCaseSensitive(v, "bytesValue")) && cJSON_IsString(x))
		return tag(key, "binary", cJSON_CreateString(x->valuestring));
	/* arrays, kvlists, NaN and infinities: their JSON as a string */
	char *s = cJSON_PrintUnformatted(v);
	cJSON *t = tag(key, "string", cJSON_CreateString(s ? s : ""));
	cJSON_free(s);
	return t;
}

/* The KeyValues of an OTLP/JSON array as tags appended to into, but
 * skip (a key). */
static void add_tags(cJSON *into, cJSON *kvs, const char *skip)
{
	const cJSON *kv;
	cJSON_ArrayForEach(kv, kvs)
	{
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(kv, "key");
		if (skip && cJSON_IsString(k) && strcmp(k->valuestring, skip) == 0)
			continue;
		cJSON_AddItemToArray(into, kv_tag(kv));
	}
	cJSON_Delete(kvs);
}

/* An integer exactly (a double would print 1.7e+15 for a time in µs). */
static cJSON *integer(int64_t v)
{
	char s[32];
	snprintf(s, sizeof(s), "%lld", (long long)v);
	return cJSON_CreateRaw(s);
}

static cJSON *us(const char *ns)
{
	return integer(strtoll(ns, NULL, 10) / 1000);
}

static cJSON *ref(const char *type, const char *trace, const char *span)
{
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "refType", type);
	cJSON_AddStringToObject(r, "traceID", trace);
	cJSON_AddStringToObject(r, "spanID", span);
	return r;
}

static cJSON *span(const ow_search_rows_t *rows, size_t r, const char *pid)
{
	cJSON *sp = cJSON_CreateObject();
	cJSON_AddStringToObject(sp, "traceID", tr_cell(rows, r, TR_TRACE));
	cJSON_AddStringToObject(sp, "spanID", tr_cell(rows, r, TR_SPAN));
	cJSON_AddStringToObject(sp, "operationName", tr_cell(rows, r, TR_NAME));
	cJSON *refs = cJSON_AddArrayToObject(sp, "references");
	if (*tr_cell(rows, r, TR_PARENT))
		cJSON_AddItemToArray(
		    refs, ref("CHILD_OF", tr_cell(rows, r, TR_TRACE), tr_cell(rows, r, TR_PARENT)));
	cJSON *links = tr_otlp(rows, r, TR_LINKS), *l;
	cJSON_ArrayForEach(l, links)
	{
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(l, "traceId");
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(l, "spanId");
		if (cJSON_IsString(t) && cJSON_IsString(s))
			cJSON_AddItemToArray(refs,
					     ref("FOLLOWS_FROM", t->valuestring, s->valuestring));
	}
	cJSON_Delete(links);
	cJSON_AddNumberToObject(sp, "flags", strtod(tr_cell(rows, r, TR_FLAGS), NULL));
	int64_t st = strtoll(tr_cell(rows, r, TR_START), NULL, 10);
	int64_t en = strtoll(tr_cell(rows, r, TR_END), NULL, 10);
	cJSON_AddItemToObject(sp, "startTime", integer(st / 1000));
	cJSON_AddItemToObject(sp, "duration", integer((en - st) / 1000));
	cJSON *tags = cJSON_AddArrayToObject(sp, "tags");
	add_tags(tags, tr_otlp(rows, r, TR_ATTRS), NULL);
	const char *scope = tr_cell(rows, r, TR_SCOPE_NAME);
	if (*scope)
		cJSON_AddItemToArray(tags,
				     tag("otel.scope.name", "string", cJSON_CreateString(scope)));
	const char *ver = tr_cell(rows, r, TR_SCOPE_VERSION);
	if (*ver)
		cJSON_AddItemToArray(tags,
				     tag("otel.scope.version", "string", cJSON_CreateString(ver)));
	long kind = strtol(tr_cell(rows, r, TR_KIND), NULL, 10);
	if (kind > 0 && kind < (long)OW_NELEMS(kind_names))
		cJSON_AddItemToArray(
		    tags, tag("span.kind", "string", cJSON_CreateString(kind_names[kind])));
	long status = strtol(tr_cell(rows, r, TR_STATUS), NULL, 10);
	if (status == 1 || status == 2)
		cJSON_AddItemToArray(tags, tag("otel.status_code", "string",
					       cJSON_CreateString(status == 2 ? "ERROR" : "OK")));
	if (status == 2)
		cJSON_AddItemToArray(tags, tag("error", "bool", cJSON_CreateTrue()));
	const char *msg = tr_cell(rows, r, TR_STATUS_MSG);
	if (*msg)
		cJSON_AddItemToArray(
		    tags, tag("otel.status_description", "string", cJSON_CreateString(msg)));
	const char *ts = tr_cell(rows, r, TR_STATE);
	if (*ts)
		cJSON_AddItemToArray(tags, tag("w3c.tracestate", "string", cJSON_CreateString(ts)));
	cJSON *logs = cJSON_AddArrayToObject(sp, "logs");
	cJSON *events = tr_otlp(rows, r, TR_EVENTS), *e;
	cJSON_ArrayForEach(e, events)
	{
		cJSON *lg = cJSON_CreateObject();
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(e, "timeUnixNano");
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(e, "name");
		cJSON_AddItemToObject(lg, "timestamp",
				      us(cJSON_IsString(t) ? t->valuestring : "0"));
		cJSON *fields = cJSON_AddArrayToObject(lg, "fields");
		cJSON_AddItemToArray(
		    fields, tag("event", "string",
				cJSON_CreateString(cJSON_IsString(n) ? n->valuestring : "")));
		cJSON *a = cJSON_GetObjectItemCaseSensitive(e, "attributes");
		if (a)
			add_tags(fields, cJSON_DetachItemViaPointer(e, a), NULL);
		cJSON_AddItemToArray(logs, lg);
	}
	cJSON_Delete(events);
	cJSON_AddStringToObject(sp, "processID", pid);
	cJSON_AddNullToObject(sp, "warnings");
	return sp;
}

/* Rows [from, to) of one trace as a Jaeger trace; NULL, with the
 * budget's message in err, once it would pass the query's memory. */
static cJSON *trace(const ow_search_rows_t *rows, size_t from, size_t to, tr_hold_t *h, char *err,
		    size_t errlen)
{
	cJSON *t = cJSON_CreateObject();
	cJSON_AddStringToObject(t, "traceID", tr_cell(rows, from, TR_TRACE));
	cJSON *spans = cJSON_AddArrayToObject(t, "spans");
	cJSON *procs = cJSON_CreateObject();
	size_t *first = ow_calloc(to - from + 1, sizeof(size_t)); /* each process' first row */
	size_t nproc = 0;
	for (size_t i = from; i < to; i++) {
		size_t p = 0;
		while (p < nproc && !(strcmp(tr_cell(rows, first[p], TR_SERVICE),
					     tr_cell(rows, i, TR_SERVICE)) == 0 &&
				      strcmp(tr_cell(rows, first[p], TR_RES_ATTRS),
					     tr_cell(rows, i, TR_RES_ATTRS)) == 0))
			p++;
		char pid[32];
		snprintf(pid, sizeof(pid), "p%zu", p + 1);
		int64_t grew = 0;
		if (p == nproc) {
			first[nproc++] = i;
			cJSON *pr = cJSON_CreateObject();
			cJSON_AddStringToObject(pr, "serviceName", tr_cell(rows, i, TR_SERVICE));
			add_tags(cJSON_AddArrayToObject(pr, "tags"), tr_otlp(rows, i, TR_RES_ATTRS),
				 "service.name");
			cJSON_AddItemToObject(procs, pid, pr);
			grew = tr_json_bytes(pr);
		}
		cJSON *sp = span(rows, i, pid);
		cJSON_AddItemToArray(spans, sp);
		if (tr_hold(h, grew + tr_json_bytes(sp), err, errlen) != OW_OK) {
			free(first);
			cJSON_Delete(procs);
			cJSON_Delete(t);
			return NULL;
		}
	}
	free(first);
	cJSON_AddItemToObject(t, "processes", procs);
	cJSON_AddNullToObject(t, "warnings");
	return t;
}

/* ---- the work ---- */

static void work_names(ow_search_t *s, jaeger_req_t *r, ow_query_answer_t *a)
{
	ow_buf_t b = {0};
	if (r->what == J_SERVICES) {
		ow_buf_printf(&b,
			      "SELECT service_name FROM spans WHERE start_time >= %lld AND "
			      "start_time <= %lld AND service_name IS NOT NULL "
			      "GROUP BY service_name ORDER BY service_name",
			      (long long)r->q.start, (long long)r->q.end);
	} else {
		ow_buf_printf(&b,
			      "SELECT name, kind FROM spans WHERE start_time >= %lld AND "
			      "start_time <= %lld AND service_name = ",
			      (long long)r->q.start, (long long)r->q.end);
		ow_search_sql_str(&b, r->service);
		if (r->kind >= 0)
			ow_buf_printf(&b, " AND kind = %d", r->kind);
		ow_buf_addstr(&b, " GROUP BY name, kind ORDER BY name, kind");
	}
	ow_buf_add(&b, "", 1);
	char err[512];
	ow_search_rows_t rows;
	int rc = ow_search_rows(s, (const char *)b.data, -1, &rows, err, sizeof(err));
	ow_buf_free(&b);
	if (rc != OW_OK) {
		fail(a, 500, err);
		return;
	}
	cJSON *data = cJSON_CreateArray();
	int n = 0;
	for (size_t i = 0; i < rows.nrows; i++) {
		const char *name = tr_cell(&rows, i, 0);
		if (r->what == J_OPS_KIND) {
			long k = strtol(tr_cell(&rows, i, 1), NULL, 10);
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "name", name);
			cJSON_AddStringToObject(
			    o, "spanKind",
			    k >= 0 && k < (long)OW_NELEMS(kind_names) ? kind_names[k] : "");
			cJSON_AddItemToArray(data, o);
		} else if (r->what == J_SERVICES || i == 0 ||
			   strcmp(name, tr_cell(&rows, i - 1, 0)) != 0) {
			cJSON_AddItemToArray(data, cJSON_CreateString(name));
		} else {
			continue;
		}
		n++;
	}
	ow_search_rows_free(&rows);
	envelope(a, data, n, NULL);
}

static void work_traces(ow_search_t *s, jaeger_req_t *r, ow_query_answer_t *a)
{
	char err[512];
	ow_search_rows_t ids = {0}, rows;
	if (r->what == J_SEARCH && tr_search_ids(s, &r->q, &ids, err, sizeof(err)) != OW_OK) {
		fail(a, 400, err);
		return;
	}
	if (r->what == J_SEARCH && ids.nrows == 0) {
		envelope(a, cJSON_CreateArray(), 0, NULL);
		ow_search_rows_free(&ids);
		return;
	}
	if (tr_spans(s, r->what == J_SEARCH ? &ids : NULL, r->id, &rows, err, sizeof(err)) !=
	    OW_OK) {
		ow_search_rows_free(&ids);
		fail(a, 400, err);
		return;
	}
	if (r->what == J_TRACE && rows.nrows == 0) {
		ow_search_rows_free(&rows);
		fail(a, 404, "trace not found");
		return;
	}
	/* the rows and the model are held: past the memory budget the
	 * answer is its error, as a query's */
	tr_hold_t h;
	tr_hold_begin(&h, s);
	int rc =
	    tr_hold(&h, ow_search_rows_bytes(&ids) + ow_search_rows_bytes(&rows), err, sizeof(err));
	cJSON *data = cJSON_CreateArray();
	int n = 0;
	size_t nids = rc != OW_OK ? 0 : r->what == J_SEARCH ? ids.nrows : 1;
	for (size_t i = 0; i < nids; i++) {
		const char *id = r->what == J_SEARCH ? tr_cell(&ids, i, 0) : tr_cell(&rows, 0, 0);
		size_t from, to;
		if (!tr_trace_rows(&rows, TR_TRACE, id, &from, &to))
			continue;
		cJSON *t = trace(&rows, from, to, &h, err, sizeof(err));
		if (t == NULL) {
			rc = OW_ERROR;
			break;
		}
		cJSON_AddItemToArray(data, t);
		n++;
	}
	ow_search_rows_free(&ids);
	ow_search_rows_free(&rows);
	if (rc != OW_OK) {
		cJSON_Delete(data);
		tr_hold_end(&h);
		fail(a, 400, err);
		return;
	}
	envelope(a, data, n, &h);
	tr_hold_end(&h);
}

static void jaeger_work(ow_search_t *s, void *arg, ow_query_answer_t *a)
{
	jaeger_req_t *r = arg;
	if (r->what == J_SEARCH || r->what == J_TRACE)
		work_traces(s, r, a);
	else
		work_names(s, r, a);
}

static void jaeger_free(void *arg)
{
	jaeger_req_t *r = arg;
	free(r->service);
	ow_buf_free(&r->q.cond);
	free(r);
}

static const ow_query_api_t jaeger_api = {
    .work = jaeger_work, .fail = fail, .release = jaeger_free};

/* ---- the route ---- */

/* One tag condition: the attribute of the span, else of its resource, is
 * v (as text, or as the number or boolean v spells); error=true is the
 * error status, as Jaeger's OTLP receiver tags it. */
static void tag_cond(ow_buf_t *b, const char *k, const char *v)
{
	if (strcmp(k, "error") == 0 && (strcmp(v, "true") == 0 || strcmp(v, "false") == 0)) {
		ow_buf_printf(b, " AND status_code %s 2", v[0] == 't' ? "=" : "!=");
		return;
	}
	if (strcmp(k, "span.kind") == 0) {
		for (size_t i = 1; i < OW_NELEMS(kind_names); i++)
			if (strcmp(v, kind_names[i]) == 0) {
				ow_buf_printf(b, " AND kind = %zu", i);
				return;
			}
	}
	ow_buf_t key = {0}, val = {0};
	ow_search_sql_str(&key, k);
	ow_buf_add(&key, "", 1);
	ow_search_sql_str(&val, v);
	ow_buf_add(&val, "", 1);
	const char *kk = (const char *)key.data, *vv = (const char *)val.data;
	char *end;
	errno = 0;
	double d = strtod(v, &end);
	int num = *v && *end == '\0' && errno == 0 && strspn(v, "0123456789.-+eE") == strlen(v);
	const char *lit = strcmp(v, "true") == 0 ? "1" : strcmp(v, "false") == 0 ? "0" : NULL;
	ow_buf_addstr(b, " AND (");
	for (int i = 0; i < 2; i++) {
		const char *col = i ? "resource_attributes" : "attributes";
		if (i)
			ow_buf_addstr(b, " OR ");
		if (i && strcmp(k, "service.name") == 0)
			ow_buf_printf(b, "service_name = %s", vv);
		else if (num)
			ow_buf_printf(b, "%s->>%s IN (%s, %s)", col, kk, vv, v);
		else if (lit)
			ow_buf_printf(b, "%s->>%s IN (%s, %s)", col, kk, vv, lit);
		else
			ow_buf_printf(b, "%s->>%s = %s", col, kk, vv);
	}
	ow_buf_addstr(b, ")");
	OW_UNUSED(d);
	ow_buf_free(&key);
	ow_buf_free(&val);
}

static int us_arg(struct evkeyvalq *args, const char *name, int64_t *ns)
{
	const char *v = evhttp_find_header(args, name);
	if (v == NULL || *v == '\0')
		return 0;
	char *end;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	if (*end || errno || x < 0 || x > INT64_MAX / 1000)
		return -1;
	*ns = x * 1000;
	return 1;
}

/* A search's arguments into r: NULL, or the message of a 400. */
/* The window a request reads, [start, end]: start and end in µs, by
 * default end now and start lookback (a duration; default lookback)
 * before it. */
static const char *window_args(struct evkeyvalq *args, jaeger_req_t *r, int64_t lookback)
{
	r->q.end = ow_now_ns();
	const char *lb = evhttp_find_header(args, "lookback");
	if (lb && *lb && strcmp(lb, "custom") != 0 &&
	    (ow_parse_duration(lb, &lookback) != OW_OK || lookback < 0))
		return "malformed 'lookback' parameter: a duration such as 1h or 2d";
	int has_end = us_arg(args, "end", &r->q.end);
	int has_start = us_arg(args, "start", &r->q.start);
	if (has_end < 0 || has_start < 0)
		return "malformed 'start' or 'end' parameter: microseconds since the epoch";
	if (!has_start)
		r->q.start = r->q.end - lookback;
	return NULL;
}

static const char *search_args(struct evkeyvalq *args, jaeger_req_t *r)
{
	const char *svc = evhttp_find_header(args, "service");
	if (svc == NULL || *svc == '\0')
		return "parameter 'service' is required";
	ow_buf_t *c = &r->q.cond;
	ow_buf_addstr(c, "service_name = ");
	ow_search_sql_str(c, svc);
	const char *op = evhttp_find_header(args, "operation");
	if (op && *op) {
		ow_buf_addstr(c, " AND name = ");
		ow_search_sql_str(c, op);
	}
	const char *tags = evhttp_find_header(args, "tags");
	if (tags && *tags) {
		cJSON *j = cJSON_Parse(tags);
		if (!cJSON_IsObject(j)) {
			cJSON_Delete(j);
			return "malformed 'tags' parameter: a JSON object of strings";
		}
		const cJSON *kv;
		cJSON_ArrayForEach(kv, j)
		{
			if (!cJSON_IsString(kv)) {
				cJSON_Delete(j);
				return "malformed 'tags' parameter: a JSON object of strings";
			}
			tag_cond(c, kv->string, kv->valuestring);
		}
		cJSON_Delete(j);
	}
	for (struct evkeyval *h = args->tqh_first; h; h = h->next.tqe_next) {
		if (strcmp(h->key, "tag") != 0)
			continue;
		const char *colon = strchr(h->value, ':');
		if (colon == NULL)
			return "malformed 'tag' parameter: key:value";
		char *k = ow_strdup(h->value);
		k[colon - h->value] = '\0';
		tag_cond(c, k, colon + 1);
		free(k);
	}
	int64_t d;
	const char *mn = evhttp_find_header(args, "minDuration");
	const char *mx = evhttp_find_header(args, "maxDuration");
	if (mn && *mn) {
		if (ow_parse_duration(mn, &d) != OW_OK || d < 0)
			return "cannot parse minDuration: a duration such as 1.2s or 100ms";
		ow_buf_printf(c, " AND duration_ns >= %lld", (long long)d);
	}
	if (mx && *mx) {
		if (ow_parse_duration(mx, &d) != OW_OK || d < 0)
			return "cannot parse maxDuration: a duration such as 1.2s or 100ms";
		ow_buf_printf(c, " AND duration_ns <= %lld", (long long)d);
	}
	const char *li = evhttp_find_header(args, "limit");
	r->q.limit = 20;
	if (li && *li) {
		char *end;
		errno = 0;
		long long x = strtoll(li, &end, 10);
		if (*end || errno || x < 0 || x > ow_control_query_max_rows())
			return "malformed 'limit' parameter: 0 to query.max_rows";
		if (x > 0)
			r->q.limit = x;
	}
	r->q.min_dur = r->q.max_dur = -1;
	return window_args(args, r, SEARCH_LOOKBACK);
}

void ow_jaeger_route(struct evhttp_request *req, const char *path, const char *tenant, void *arg)
{
	/* arg: "" for the search Grafana 12 sends to /api/traces (traceapi.c) */
	int cmd = evhttp_request_get_command(req);
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET");
		ow_query_reply(req, &jaeger_api, 405, "method not allowed: use GET");
		return;
	}
	if (arg == NULL)
		path += strlen("/jaeger");
	jaeger_req_t *r = ow_calloc(1, sizeof(*r));
	r->kind = -1;
	const char *why = NULL;
	int code = 400;
	struct evkeyvalq args;
	const char *qs = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	int parsed = evhttp_parse_query_str(qs ? qs : "", &args) == 0;
	size_t n = strlen(path);
	if (!parsed) {
		why = "malformed query string";
	} else if (strcmp(path, "/api/services") == 0) {
		r->what = J_SERVICES;
		why = window_args(&args, r, NAMES_LOOKBACK);
	} else if (strncmp(path, "/api/services/", 14) == 0 && n > 25 &&
		   strcmp(path + n - 11, "/operations") == 0) {
		r->what = J_OPERATIONS;
		char *svc = ow_strdup(path + 14);
		svc[n - 25] = '\0';
		r->service = evhttp_uridecode(svc, 0, NULL);
		free(svc);
		why = window_args(&args, r, NAMES_LOOKBACK);
	} else if (strcmp(path, "/api/operations") == 0) {
		r->what = J_OPS_KIND;
		const char *svc = evhttp_find_header(&args, "service");
		const char *k = evhttp_find_header(&args, "spanKind");
		if (svc == NULL || *svc == '\0')
			why = "parameter 'service' is required";
		else
			r->service = ow_strdup(svc);
		for (size_t i = 1; k && *k && i < OW_NELEMS(kind_names); i++)
			if (strcmp(k, kind_names[i]) == 0)
				r->kind = (int)i;
		if (why == NULL && k && *k && r->kind < 0)
			why =
			    "unsupported 'spanKind' parameter: internal, server, client, producer "
			    "or consumer";
		if (why == NULL)
			why = window_args(&args, r, NAMES_LOOKBACK);
	} else if (strcmp(path, "/api/traces") == 0) {
		r->what = J_SEARCH;
		why = search_args(&args, r);
	} else if (strncmp(path, "/api/traces/", 12) == 0 && strchr(path + 12, '/') == NULL) {
		r->what = J_TRACE;
		if (!ow_query_trace_id(path + 12))
			why = "malformed trace id: 32 hex digits";
		else
			snprintf(r->id, sizeof(r->id), "%s", path + 12);
	} else {
		code = 404;
		why = "404 page not found";
	}
	if (parsed)
		evhttp_clear_headers(&args);
	ow_query_run_checked(req, tenant, &jaeger_api, r, code, why);
}

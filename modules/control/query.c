/*
 * query.c - the query API on control.port:
 *
 *   POST /api/search          {"query": SQL, "limit": N, "offset": N,
 *                              "format": "json" | "ndjson" | "csv",
 *                              "engine": "auto" | "sqlite"}
 *   GET  /api/traces/{id}     every span of a trace, in start order
 *   GET  /api/logs/search?q=TEXT&start=NS&end=NS&limit=N
 *                             log records whose body contains TEXT,
 *                             newest first
 *
 * The tenant is X-Scope-OrgID (default "default"); with auth on, the
 * token's (control.c, modules/auth). A query reads one
 * snapshot of the tenant's committed parts and buffered rows, taken on the
 * loop when the request arrives (ow_storage_snapshot): a request
 * acknowledged before is in it (read-your-writes), and a flush or merge
 * meanwhile changes nothing it sees.
 *
 * Queries are a class of work of their own: they run on the query pool
 * (query.threads threads at nice query.nice, with a queue of their own),
 * never on the ingest workers that decode, flush and merge, so a query
 * never waits in front of an acknowledgement nor fills the ingest queue.
 * At most query.max_concurrent queries are admitted (queued or running),
 * query.max_concurrent_per_tenant of one tenant; past either the answer
 * is 429 with Retry-After. A query's time (from its admission) and memory
 * budgets bind inside SQLite too (modules/search/budget.c); while it runs
 * the loop looks at its client's socket every 100 ms, and a client that
 * has gone away cancels it.
 *
 * The JSON answer: {"request_id", "status": "success" | "failed",
 * "result": {"rows": [...], "total_count": rows returned, "has_more": the
 * limit cut the result}, "error", "execution_time_ms", "rows_scanned",
 * "bytes_scanned", "engine": "columnar" | "sqlite", the one that answered
 * (modules/search/columnar.c; "engine": "sqlite" in the request forces
 * SQLite)}; a failed query is HTTP 400 with the database's message.
 * "ndjson" and "csv" answer the rows alone.
 *
 * Other modules' APIs run their queries through the same path
 * (ow_query_run, control.h): the same caps, snapshot, budgets and
 * cancellation; their work and their error form are theirs.
 */
#include "control.h"
#include "../core/log.h"
#include "../http/http.h"
#include "../search/search.h"
#include "../storage/storage.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdatomic.h>
#include <sys/socket.h>

#define MAX_BODY (1 << 20)
#define WATCH_MS 100

typedef struct {
	ow_job_t job;
	struct evhttp_request *req;
	char tenant[OW_TENANT_MAX + 1];
	char id[OW_BATCH_ID_LEN + 1];
	char *sql;
	int format, code, engine;
	const char *used; /* the engine that answered */
	int64_t limit, offset;
	ow_snapshot_t *snaps[OW_NSIGNALS];
	ow_buf_t out;
	char err[1024];
	int64_t t0, rows, has_more;
	ow_search_stats_t stats;
	atomic_int cancel;	   /* the client went away */
	struct event *watch;	   /* looks at the client's socket */
	int admitted;		   /* counted in the caps */
	const ow_query_api_t *api; /* another module's query (ow_query_run) */
	void *arg;
	ow_query_answer_t ans;
} query_t;

static uint64_t pending;
static ow_pool_t *pool;
static struct event_base *loop;
/* the admitted queries by tenant: at most max_concurrent entries */
static struct {
	char tenant[OW_TENANT_MAX + 1];
	int64_t n;
} * admitted;
static int64_t nadmitted;
static uint64_t refused_busy, cancelled;

uint64_t ow_query_pending(void)
{
	return pending;
}

int ow_query_start(struct event_base *base)
{
	loop = base;
	admitted =
	    ow_calloc((size_t)ow_control_query_limit(OW_QUERY_MAX_CONCURRENT), sizeof(*admitted));
	/* room for every admitted query and the monitor API's requests */
	pool = ow_pool_start("query", (int)ow_control_query_limit(OW_QUERY_THREADS),
			     (size_t)ow_control_query_limit(OW_QUERY_MAX_CONCURRENT) + 256,
			     (int)ow_control_query_limit(OW_QUERY_NICE));
	return pool ? OW_OK : OW_ERROR;
}

void ow_query_stop(void)
{
	ow_pool_stop(pool);
	pool = NULL;
	free(admitted);
	admitted = NULL;
}

int ow_query_submit(ow_job_t *j)
{
	return ow_pool_submit(pool, j);
}

void ow_query_stats(ow_buf_t *b)
{
	ow_buf_printf(b,
		      "# HELP openwit_queries_running Queries admitted and not yet answered "
		      "(queued or running).\n# TYPE openwit_queries_running gauge\n"
		      "openwit_queries_running %lld\n"
		      "# HELP openwit_queries_refused_total Queries answered 429: past "
		      "query.max_concurrent or query.max_concurrent_per_tenant.\n"
		      "# TYPE openwit_queries_refused_total counter\n"
		      "openwit_queries_refused_total %llu\n"
		      "# HELP openwit_queries_cancelled_total Queries stopped because their "
		      "client closed the connection.\n"
		      "# TYPE openwit_queries_cancelled_total counter\n"
		      "openwit_queries_cancelled_total %llu\n",
		      (long long)nadmitted, (unsigned long long)refused_busy,
		      (unsigned long long)cancelled);
}

/* The tenant's entry among the admitted (a free one when add). */
static int64_t *tenant_count(const char *tenant, int add)
{
	int64_t cap = ow_control_query_limit(OW_QUERY_MAX_CONCURRENT), free_slot = -1;
	for (int64_t i = 0; i < cap; i++) {
		if (admitted[i].n > 0 && strcmp(admitted[i].tenant, tenant) == 0)
			return &admitted[i].n;
		if (admitted[i].n == 0 && free_slot < 0)
			free_slot = i;
	}
	if (!add || free_slot < 0)
		return NULL;
	snprintf(admitted[free_slot].tenant, sizeof(admitted[free_slot].tenant), "%s", tenant);
	return &admitted[free_slot].n;
}

/* OW_OK and counted, or OW_AGAIN past a cap (why says which). */
static int admit(query_t *q, const char **why)
{
	int64_t *n = tenant_count(q->tenant, 0);
	if (nadmitted >= ow_control_query_limit(OW_QUERY_MAX_CONCURRENT)) {
		*why = "too many queries running: query.max_concurrent; retry";
	} else if (n && *n >= ow_control_query_limit(OW_QUERY_MAX_CONCURRENT_PER_TENANT)) {
		*why = "too many queries running for this tenant: "
		       "query.max_concurrent_per_tenant; retry";
	} else {
		if (n == NULL)
			n = tenant_count(q->tenant, 1);
		(*n)++;
		nadmitted++;
		q->admitted = 1;
		return OW_OK;
	}
	refused_busy++;
	return OW_AGAIN;
}

static void release(query_t *q)
{
	if (!q->admitted)
		return;
	int64_t *n = tenant_count(q->tenant, 0);
	if (n)
		(*n)--;
	nadmitted--;
	q->admitted = 0;
}

/* On the loop, every WATCH_MS while the query runs: a client whose
 * connection is gone, or whose socket reads end of file or an error, has
 * gone away (a byte waiting is a pipelined request: still there). */
static void on_watch(evutil_socket_t fd, short what, void *arg)
{
	OW_UNUSED(fd);
	OW_UNUSED(what);
	query_t *q = arg;
	struct evhttp_connection *c = evhttp_request_get_connection(q->req);
	int gone = c == NULL;
	if (c) {
		evutil_socket_t s = bufferevent_getfd(evhttp_connection_get_bufferevent(c));
		char byte;
		ssize_t n = s < 0 ? 0 : recv(s, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
		gone =
		    n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
	}
	if (gone && !atomic_exchange(&q->cancel, 1)) {
		cancelled++;
		event_del(q->watch);
	}
}

static void reply_json(struct evhttp_request *req, int code, cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);
	ow_http_reply(req, code, "application/json", s, strlen(s), 0);
	cJSON_free(s);
}

static void reply_failed(struct evhttp_request *req, int code, const char *id, const char *msg)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "request_id", id);
	cJSON_AddStringToObject(j, "status", "failed");
	cJSON_AddNullToObject(j, "result");
	cJSON_AddStringToObject(j, "error", msg);
	reply_json(req, code, j);
	cJSON_Delete(j);
}

/* Strips trailing blanks and semicolons, so the statement can be wrapped. */
static void trim_sql(char *sql)
{
	size_t n = strlen(sql);
	while (n > 0 && strchr(" \t\r\n;", sql[n - 1]))
		sql[--n] = '\0';
}

static void query_work(ow_job_t *j)
{
	query_t *q = (query_t *)j;
	int json = q->format == OW_SEARCH_JSON;
	/* max_rows as well as the LIMIT around the SQL: a comment left open
	 * in the query can swallow the wrapper's LIMIT */
	ow_search_opts_t o = {.data_dir = ow_data_dir,
			      .tenant = q->tenant,
			      .timeout_ms = ow_control_query_timeout_ms(),
			      .max_rows = q->limit + json,
			      .max_memory = ow_control_query_memory(),
			      .started = q->t0,
			      .cancel = &q->cancel,
			      .snapshots = q->snaps};
	ow_search_t *s = NULL;
	if (ow_search_open(&o, &s, q->err, sizeof(q->err)) != OW_OK) {
		q->code = 500;
		return;
	}
	if (q->api) {
		q->api->work(s, q->arg, &q->ans);
		ow_search_close(s);
		return;
	}
	/* ndjson and csv answer the rows alone: the limit is the result's. The
	 * JSON envelope asks one row more, which tells whether the limit cut
	 * the result, and reads it as NDJSON: one row a line (JSON strings
	 * escape their newlines), so the lines count the rows. */
	ow_buf_t rows = {0};
	int rc = ow_search_select(s, q->sql, q->limit + json, q->offset, q->engine,
				  json ? OW_SEARCH_NDJSON : q->format, &rows, &q->used, q->err,
				  sizeof(q->err));
	ow_search_last_stats(s, &q->stats);
	ow_search_close(s);
	if (rc != OW_OK) {
		q->code = 400;
		ow_buf_free(&rows);
		return;
	}
	if (!json) {
		q->out = rows;
		return;
	}
	size_t keep = rows.len, line = 0;
	for (size_t i = 0; i < rows.len; i++) {
		if (rows.data[i] != '\n')
			continue;
		if (q->rows == q->limit) {
			keep = line; /* the extra row: dropped */
			q->has_more = 1;
			break;
		}
		q->rows++;
		line = i + 1;
	}
	rows.len = keep;
	/* NDJSON lines joined into the envelope's array, without re-parsing
	 * (a JSON parser would round 64-bit integers) */
	char rid[OW_BATCH_ID_LEN + 1];
	uint8_t raw[16];
	ow_uuid7(raw, rid);
	ow_buf_printf(&q->out,
		      "{\"request_id\":\"%s\",\"status\":\"success\",\"result\":{\"rows\":[", rid);
	for (size_t i = 0, b = 0; i < rows.len; i++) {
		if (rows.data[i] != '\n')
			continue;
		if (b)
			ow_buf_add(&q->out, ",", 1);
		ow_buf_add(&q->out, rows.data + b, i - b);
		b = i + 1;
	}
	ow_buf_printf(&q->out,
		      "],\"total_count\":%lld,\"has_more\":%s},\"error\":null,\"engine\":\"%s\","
		      "\"execution_time_ms\":%.3f,\"rows_scanned\":%lld,\"bytes_scanned\":%lld}",
		      (long long)q->rows, q->has_more ? "true" : "false", q->used,
		      (double)(ow_mono_ns() - q->t0) / 1e6, (long long)q->stats.rows,
		      (long long)q->stats.bytes);
	ow_buf_free(&rows);
}

static void query_done(ow_job_t *j)
{
	query_t *q = (query_t *)j;
	pending--;
	release(q);
	if (q->watch)
		event_free(q->watch);
	if (q->api) {
		ow_query_answer_t *a = &q->ans;
		if (q->code != 200) {
			if (q->code == 500)
				ow_log(OW_LOG_ERROR, "query: %s", q->err);
			a->body.len = 0;
			q->api->fail(a, q->code, q->err);
			a->code = q->code;
		}
		if (q->req)
			ow_http_reply(q->req, a->code, a->ctype ? a->ctype : "application/json",
				      a->body.data, a->body.len, 0);
		else
			q->api->answered(q->arg, a);
		ow_buf_free(&a->body);
		q->api->release(q->arg);
	} else if (q->code != 200) {
		if (q->code == 500)
			ow_log(OW_LOG_ERROR, "query: %s", q->err);
		char rid[OW_BATCH_ID_LEN + 1];
		uint8_t raw[16];
		ow_uuid7(raw, rid);
		if (atomic_load(&q->cancel))
			ow_log(OW_LOG_INFO, "query: %s", q->err);
		reply_failed(q->req, q->code, rid, q->err);
	} else {
		static const char *const ctypes[] = {"text/plain; charset=utf-8", "text/csv",
						     "application/json", "application/x-ndjson"};
		ow_http_reply(q->req, 200, ctypes[q->format], q->out.data, q->out.len, 0);
	}
	for (int g = 0; g < OW_NSIGNALS; g++)
		ow_storage_snapshot_free(q->snaps[g]);
	ow_buf_free(&q->out);
	free(q->sql);
	free(q);
}

/* Takes the snapshots and hands the query to a worker. */
static void submit(query_t *q)
{
	q->t0 = ow_mono_ns();
	q->code = 200;
	q->job.work = query_work;
	q->job.done = query_done;
	pending++;
	const char *why = NULL;
	if (admit(q, &why) != OW_OK) {
		q->code = 429;
		snprintf(q->err, sizeof(q->err), "%s", why);
		query_done(&q->job);
		return;
	}
	for (int g = 0; g < OW_NSIGNALS; g++)
		q->snaps[g] = ow_storage_snapshot(q->tenant, g);
	if (ow_query_submit(&q->job) != OW_OK) {
		q->code = 503;
		snprintf(q->err, sizeof(q->err), "busy: the query queue is full; retry");
		query_done(&q->job);
		return;
	}
	if (q->req == NULL)
		return;
	q->watch = event_new(loop, -1, EV_PERSIST, on_watch, q);
	struct timeval tv = {0, WATCH_MS * 1000};
	event_add(q->watch, &tv);
}

void ow_query_run(struct evhttp_request *req, const char *tenant, const ow_query_api_t *api,
		  void *arg)
{
	query_t *q = ow_calloc(1, sizeof(*q));
	q->req = req;
	q->api = api;
	q->arg = arg;
	q->ans.code = 200;
	q->limit = api->rows_unbounded ? 0 : ow_control_query_max_rows();
	snprintf(q->tenant, sizeof(q->tenant), "%s", tenant);
	if (!ow_tenant_valid(tenant, strlen(tenant))) {
		q->code = 400;
		snprintf(q->err, sizeof(q->err), "invalid tenant in X-Scope-OrgID");
		pending++;
		query_done(&q->job);
		return;
	}
	submit(q);
}

void ow_query_reply(struct evhttp_request *req, const ow_query_api_t *api, int code,
		    const char *msg)
{
	ow_query_answer_t a = {.code = code};
	api->fail(&a, code, msg);
	ow_http_reply(req, code, a.ctype ? a.ctype : "application/json", a.body.data, a.body.len,
		      0);
	ow_buf_free(&a.body);
}

void ow_query_text(ow_query_answer_t *a, int code, const char *msg)
{
	a->code = code;
	a->ctype = "text/plain; charset=utf-8";
	a->body.len = 0;
	ow_buf_addstr(&a->body, msg);
	ow_buf_addstr(&a->body, "\n");
}

void ow_query_run_checked(struct evhttp_request *req, const char *tenant, const ow_query_api_t *api,
			  void *arg, int code, const char *why)
{
	if (why == NULL) {
		ow_query_run(req, tenant, api, arg);
		return;
	}
	ow_query_reply(req, api, code, why);
	api->release(arg);
}

static query_t *new_query(struct evhttp_request *req, const char *t)
{
	if (!ow_tenant_valid(t, strlen(t))) {
		reply_failed(req, 400, "", "invalid tenant in X-Scope-OrgID");
		return NULL;
	}
	query_t *q = ow_calloc(1, sizeof(*q));
	q->req = req;
	snprintf(q->tenant, sizeof(q->tenant), "%s", t);
	q->format = OW_SEARCH_JSON;
	q->limit = 1000;
	return q;
}

/* A member that is a number, as an integer; -1 when it is beyond int64
 * (1e300: converting it would be undefined), which every caller refuses. */
static int64_t json_int(const cJSON *o, const char *key, int64_t dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!cJSON_IsNumber(v))
		return dflt;
	if (!(v->valuedouble > -9.2e18 && v->valuedouble < 9.2e18))
		return -1;
	return (int64_t)v->valuedouble;
}

void ow_query_search(struct evhttp_request *req, const char *tenant)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	if (len > MAX_BODY) {
		reply_failed(req, 413, "", "request body over 1 MiB");
		return;
	}
	query_t *q = new_query(req, tenant);
	if (q == NULL)
		return;
	char *body = ow_alloc(len + 1);
	evbuffer_remove(in, body, len);
	body[len] = '\0';
	cJSON *j = cJSON_ParseWithLength(body, len);
	free(body);
	const cJSON *sql = cJSON_GetObjectItemCaseSensitive(j, "query");
	const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(j, "format");
	const cJSON *eng = cJSON_GetObjectItemCaseSensitive(j, "engine");
	const char *why = NULL;
	if (!cJSON_IsObject(j) || !cJSON_IsString(sql))
		why = "the body must be a JSON object with \"query\": an SQL string";
	else if (fmt && (!cJSON_IsString(fmt) || ow_search_format(fmt->valuestring) < 0 ||
			 ow_search_format(fmt->valuestring) == OW_SEARCH_TABLE))
		why = "\"format\" must be \"json\", \"ndjson\" or \"csv\"";
	else if (eng && (!cJSON_IsString(eng) || ow_search_engine(eng->valuestring) < 0))
		why = "\"engine\" must be \"auto\" or \"sqlite\"";
	if (why == NULL) {
		q->limit = json_int(j, "limit", 1000);
		q->offset = json_int(j, "offset", 0);
		if (q->limit < 1 || q->limit > ow_control_query_max_rows() || q->offset < 0)
			why = "\"limit\" must be 1..query.max_rows and \"offset\" >= 0";
	}
	if (why) {
		reply_failed(req, 400, "", why);
		cJSON_Delete(j);
		free(q);
		return;
	}
	q->sql = ow_strdup(sql->valuestring);
	trim_sql(q->sql);
	if (fmt)
		q->format = ow_search_format(fmt->valuestring);
	if (eng)
		q->engine = ow_search_engine(eng->valuestring);
	cJSON_Delete(j);
	submit(q);
}

int ow_query_trace_id(const char *s)
{
	size_t n = strlen(s);
	if (n != 32)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdefABCDEF", s[i]))
			return 0;
	return 1;
}

void ow_query_trace(struct evhttp_request *req, const char *id, const char *tenant)
{
	if (!ow_query_trace_id(id)) {
		reply_failed(req, 400, "", "a trace id is 32 hex digits");
		return;
	}
	query_t *q = new_query(req, tenant);
	if (q == NULL)
		return;
	q->limit = ow_control_query_max_rows();
	ow_buf_t b = {0};
	ow_buf_printf(&b, "SELECT * FROM spans WHERE trace_id = lower('%s') ORDER BY start_time",
		      id);
	ow_buf_add(&b, "", 1);
	q->sql = (char *)b.data;
	submit(q);
}

static int parse_i64(const char *s, int64_t *v)
{
	char *end;
	errno = 0;
	long long x = strtoll(s, &end, 10);
	if (*s == '\0' || *end || errno)
		return OW_ERROR;
	*v = x;
	return OW_OK;
}

/* text as the inside of an SQL string literal for LIKE ... ESCAPE '\\':
 * quotes doubled, the wildcards and the escape escaped */
static void like_literal(ow_buf_t *b, const char *text)
{
	for (const char *c = text; *c; c++) {
		if (*c == '\'')
			ow_buf_addstr(b, "''");
		else if (*c == '%' || *c == '_' || *c == '\\')
			ow_buf_printf(b, "\\%c", *c);
		else
			ow_buf_add(b, c, 1);
	}
}

void ow_query_logs(struct evhttp_request *req, const char *tenant)
{
	struct evkeyvalq args;
	const char *qs = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	if (evhttp_parse_query_str(qs ? qs : "", &args) != 0) {
		reply_failed(req, 400, "", "malformed query string");
		return;
	}
	const char *text = evhttp_find_header(&args, "q");
	const char *st = evhttp_find_header(&args, "start");
	const char *en = evhttp_find_header(&args, "end");
	const char *li = evhttp_find_header(&args, "limit");
	int64_t start = INT64_MIN, end = INT64_MAX, limit = 100;
	const char *why = NULL;
	if (text == NULL || *text == '\0')
		why = "q (the text to find) is required";
	else if ((st && parse_i64(st, &start)) || (en && parse_i64(en, &end)))
		why = "start and end are times in nanoseconds since the epoch";
	else if (li && (parse_i64(li, &limit) || limit < 1 || limit > ow_control_query_max_rows()))
		why = "limit must be 1..query.max_rows";
	query_t *q = why ? NULL : new_query(req, tenant);
	if (why)
		reply_failed(req, 400, "", why);
	if (q == NULL) {
		evhttp_clear_headers(&args);
		return;
	}
	q->limit = limit;
	ow_buf_t b = {0};
	/* the body column: a string body's text, any other body's plain JSON.
	 * Text without a wildcard or the escape needs no ESCAPE: then the
	 * scan layer takes the LIKE, and the parts' full-text indexes skip the
	 * blocks without its words (modules/index) */
	int plain = strpbrk(text, "%_\\") == NULL;
	ow_buf_addstr(&b, "SELECT * FROM logs WHERE body LIKE '%");
	like_literal(&b, text);
	ow_buf_addstr(&b, plain ? "%'" : "%' ESCAPE '\\'");
	ow_buf_printf(&b,
		      " AND time BETWEEN %lld AND %lld ORDER BY time DESC, "
		      "observed_time DESC",
		      (long long)start, (long long)end);
	ow_buf_add(&b, "", 1);
	q->sql = (char *)b.data;
	evhttp_clear_headers(&args);
	submit(q);
}

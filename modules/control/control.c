/*
 * control.c - the monitoring API on control.port (8083):
 *
 *   GET /health                              the process is up
 *   GET /ready                               accepting data (503 while
 *                                            starting, draining, disk full)
 *   GET /metrics                             Prometheus text format
 *   GET /api/batch-monitor/status            pipeline totals and every
 *                                            stage's queue as JSON
 *   GET /api/batch-monitor/batches/{id}      one batch_tracker row
 *   GET /api/batch-monitor/batches?status=pending|completed|failed
 *        &min_age_minutes=N&limit=N          batches, oldest first
 *   GET /api/batch-monitor/alerts            stuck batches and raised alerts
 *   GET /api/batch-monitor/throughput?minutes=N  per tenant over the last N
 *                                            minutes (60): batches,
 *                                            messages and records a second
 *
 * With auth on (modules/auth), every route but /health and /ready needs
 * Authorization: Bearer and a scope: the query API (query.c) read, and it
 * answers for the token's tenant; /metrics and the batch-monitor API
 * admin, with a token for all tenants (*), since they show every tenant's
 * names, counters and batches (a tenant's admin token gets 403). A
 * refusal is 401 (with WWW-Authenticate) or 403 and {"error": message},
 * the message from the ingest front's table of reasons. Unknown paths are
 * 404 whatever the token.
 *
 * SQLite reads run on the query pool (query.c), on a thread's read-only
 * connection; the loop only routes and sends. Connections, deadlines and
 * the header and body sizes are enforced while reading (http/server.c):
 * the API's bodies are small, a larger one is refused before it is read.
 * TLS: control.tls.* (modules/tls).
 *
 * Other modules add their APIs here with ow_control_route (control.h):
 * the registry is filled in the init phase and read-only afterwards.
 */
#include "control.h"
#include "../core/batch.h"
#include "../core/log.h"
#include "../core/queue.h"
#include "../http/http.h"
#include "../ingest/ingest.h"
#include "../tracker/tracker.h"
#include "../storage/storage.h"
#include "../wal/wal.h"

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

static char *bind_addr;
static int64_t port, query_timeout_ms, query_max_rows, query_memory;
static ow_http_limits_t limits;
static ow_tls_conf_t tls;
static int64_t query_limits[4]; /* enum ow_query_limit */

static ow_directive_t directives[] = {
    {"control.bind", OW_CONF_STR, &bind_addr, 0, 255, "127.0.0.1", NULL, 0},
    {"control.port", OW_CONF_INT, &port, 0, 65535, "8083", NULL, 0},
    OW_TLS_DIRECTIVES("control", tls),
    OW_HTTP_LIMIT_DIRECTIVES("control", limits, "512", "256"),
    {"control.max_body_bytes", OW_CONF_INT, &limits.max_body_bytes, 1024, 1048576, "1048576", NULL,
     0},
    {"query.timeout_ms", OW_CONF_INT, &query_timeout_ms, 10, 3600000, "30000", NULL, 0},
    {"query.max_rows", OW_CONF_INT, &query_max_rows, 1, 100000000, "100000", NULL, 0},
    {"query.max_memory_bytes", OW_CONF_INT, &query_memory, 1 << 20, (int64_t)1 << 40, "268435456",
     NULL, 0},
    {"query.threads", OW_CONF_INT, &query_limits[OW_QUERY_THREADS], 0, 256, "0", NULL, 0},
    {"query.nice", OW_CONF_INT, &query_limits[OW_QUERY_NICE], 0, 19, "10", NULL, 0},
    {"query.max_concurrent", OW_CONF_INT, &query_limits[OW_QUERY_MAX_CONCURRENT], 1, 10000, "16",
     NULL, 0},
    {"query.max_concurrent_per_tenant", OW_CONF_INT,
     &query_limits[OW_QUERY_MAX_CONCURRENT_PER_TENANT], 1, 10000, "8", NULL, 0},
    OW_CONF_END};

enum { Q_STATUS, Q_BATCH, Q_BATCHES, Q_ALERTS, Q_THROUGHPUT };
enum { ST_ANY, ST_PENDING, ST_COMPLETED, ST_FAILED };

typedef struct {
	ow_job_t job;
	struct evhttp_request *req;
	int kind;
	char id[OW_BATCH_ID_LEN + 1];
	int status;
	int64_t min_age, limit;
	cJSON *out;
	int code;
	char error[256];
} ctl_req_t;

static ow_http_server_t *server;
static int ready, draining;
/* for the auth refusals' messages (ow_ingest_answer) */
static ow_ingest_src_t auth_src = {.tenant_from = "X-Scope-OrgID"};
static int auth_listener;
static uint64_t pending; /* API requests on workers */

void ow_control_set_ready(int r)
{
	ready = r;
}

static const char *status_sql[] = {
    "1",
    "janitor_pip = 0 AND error_stage IS NULL",
    "janitor_pip = 1",
    "error_stage IS NOT NULL",
};

static void send_json(struct evhttp_request *req, int code, cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);
	ow_http_reply(req, code, "application/json", s, strlen(s), 0);
	cJSON_free(s);
}

static void send_error(struct evhttp_request *req, int code, const char *msg)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "error", msg);
	send_json(req, code, j);
	cJSON_Delete(j);
}

/* A result row as a JSON object: *_pip columns as booleans. */
static cJSON *row_json(sqlite3_stmt *st)
{
	cJSON *o = cJSON_CreateObject();
	for (int i = 0; i < sqlite3_column_count(st); i++) {
		const char *name = sqlite3_column_name(st, i);
		size_t n = strlen(name);
		switch (sqlite3_column_type(st, i)) {
		case SQLITE_NULL:
			cJSON_AddNullToObject(o, name);
			break;
		case SQLITE_INTEGER:
			if (n > 4 && strcmp(name + n - 4, "_pip") == 0)
				cJSON_AddBoolToObject(o, name, sqlite3_column_int(st, i));
			else
				cJSON_AddNumberToObject(o, name,
							(double)sqlite3_column_int64(st, i));
			break;
		case SQLITE_FLOAT:
			cJSON_AddNumberToObject(o, name, sqlite3_column_double(st, i));
			break;
		default:
			cJSON_AddStringToObject(o, name, (const char *)sqlite3_column_text(st, i));
		}
	}
	return o;
}

static int query_rows(ctl_req_t *r, sqlite3 *db, const char *sql, cJSON *arr)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(r->error, sizeof(r->error), "tracker: %s", sqlite3_errmsg(db));
		return OW_ERROR;
	}
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		cJSON_AddItemToArray(arr, row_json(st));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		snprintf(r->error, sizeof(r->error), "tracker: %s", sqlite3_errmsg(db));
		return OW_ERROR;
	}
	return OW_OK;
}

static int64_t scalar(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = 0;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

#define AGE_SQL "strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now', '-%lld minutes')"
#define STAGE_SQL OW_TRACKER_STAGE_SQL

static void q_status(ctl_req_t *r, sqlite3 *db)
{
	cJSON *o = r->out = cJSON_CreateObject();
	cJSON *b = cJSON_AddObjectToObject(o, "batches");
	static const char *names[] = {"total", "pending", "completed", "failed"};
	char sql[512];
	for (int i = 0; i < 4; i++) {
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM batch_tracker WHERE %s",
			 status_sql[i]);
		cJSON_AddNumberToObject(b, names[i], (double)scalar(db, sql));
	}
	cJSON *st = cJSON_AddObjectToObject(o, "stages");
	static const char *stages[] = {"kafka", "wal", "ingestion", "storage", "index", "janitor"};
	for (int i = 0; i < 6; i++) {
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM batch_tracker WHERE %s_pip = 1",
			 stages[i]);
		cJSON_AddNumberToObject(st, stages[i], (double)scalar(db, sql));
	}
	cJSON *sig = cJSON_AddObjectToObject(o, "signals");
	for (int s = 0; s < OW_NSIGNALS; s++) {
		snprintf(sql, sizeof(sql),
			 "SELECT count(*), coalesce(sum(message_count), 0), "
			 "coalesce(sum(record_count), 0), coalesce(sum(batch_size), 0) "
			 "FROM batch_tracker WHERE signal = '%s'",
			 ow_signal_name(s));
		cJSON *a = cJSON_CreateArray();
		if (query_rows(r, db, sql, a) != OW_OK) {
			cJSON_Delete(a);
			return;
		}
		cJSON *row = cJSON_GetArrayItem(a, 0), *x = cJSON_CreateObject();
		static const char *k[] = {"batches", "messages", "records", "bytes"};
		int i = 0;
		for (cJSON *c = row->child; c; c = c->next, i++)
			cJSON_AddNumberToObject(x, k[i], c->valuedouble);
		cJSON_AddItemToObject(sig, ow_signal_name(s), x);
		cJSON_Delete(a);
	}
	cJSON *old = cJSON_CreateArray();
	query_rows(r, db,
		   "SELECT min(created_at) AS t FROM batch_tracker WHERE janitor_pip = 0 AND "
		   "error_stage IS NULL",
		   old);
	cJSON *t = cJSON_GetObjectItem(cJSON_GetArrayItem(old, 0), "t");
	cJSON_AddItemToObject(o, "oldest_pending_created_at",
			      cJSON_IsString(t) ? cJSON_CreateString(t->valuestring)
						: cJSON_CreateNull());
	cJSON_Delete(old);
	cJSON_AddNumberToObject(o, "alerts", (double)scalar(db, "SELECT count(*) FROM alerts"));
}

static void q_batch(ctl_req_t *r, sqlite3 *db)
{
	sqlite3_stmt *st;
	sqlite3_prepare_v2(db,
			   "SELECT *, " STAGE_SQL " AS stage FROM batch_tracker WHERE batch_id = ?",
			   -1, &st, NULL);
	sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		r->out = row_json(st);
	} else {
		r->code = 404;
		snprintf(r->error, sizeof(r->error), "no batch %s", r->id);
	}
	sqlite3_finalize(st);
}

static void q_batches(ctl_req_t *r, sqlite3 *db)
{
	char sql[1024];
	snprintf(sql, sizeof(sql),
		 "SELECT *, " STAGE_SQL
		 " AS stage FROM batch_tracker WHERE %s AND created_at <= " AGE_SQL
		 " ORDER BY created_at LIMIT %lld",
		 status_sql[r->status], (long long)r->min_age, (long long)r->limit);
	r->out = cJSON_CreateObject();
	cJSON *a = cJSON_AddArrayToObject(r->out, "batches");
	query_rows(r, db, sql, a);
	cJSON_AddNumberToObject(r->out, "count", cJSON_GetArraySize(a));
}

static void q_alerts(ctl_req_t *r, sqlite3 *db)
{
	char sql[1024];
	long long stuck = (long long)ow_tracker_stuck_minutes();
	r->out = cJSON_CreateObject();
	cJSON_AddNumberToObject(r->out, "stuck_after_minutes", (double)stuck);
	cJSON *a = cJSON_AddArrayToObject(r->out, "stuck_batches");
	snprintf(sql, sizeof(sql),
		 "SELECT batch_id, client_id, signal, source, created_at, " STAGE_SQL " AS stage, "
		 "error_stage, error_message, retry_count, stuck_alerted_at FROM batch_tracker "
		 "WHERE " OW_TRACKER_STUCK_SQL " ORDER BY created_at LIMIT 1000",
		 stuck);
	if (query_rows(r, db, sql, a) != OW_OK)
		return;
	a = cJSON_AddArrayToObject(r->out, "failed_batches");
	if (query_rows(
		r, db,
		"SELECT batch_id, client_id, signal, source, created_at, error_stage, "
		"error_message, retry_count FROM batch_tracker WHERE error_stage IS NOT NULL "
		"ORDER BY created_at DESC LIMIT 1000",
		a) != OW_OK)
		return;
	a = cJSON_AddArrayToObject(r->out, "alerts");
	query_rows(r, db,
		   "SELECT id, created_at, kind, batch_id, message FROM alerts ORDER BY id DESC "
		   "LIMIT 1000",
		   a);
}

/* The original design's "client throughput": per tenant over the last
 * min_age_minutes (default 60), busiest first. */
static void q_throughput(ctl_req_t *r, sqlite3 *db)
{
	char sql[1024];
	long long minutes = r->min_age ? (long long)r->min_age : 60;
	snprintf(sql, sizeof(sql),
		 "SELECT client_id, count(*) AS batches, sum(message_count) AS total_messages, "
		 "sum(record_count) AS total_records, sum(batch_size) AS total_bytes, "
		 "sum(message_count) / %lld.0 AS messages_per_second, sum(record_count) / "
		 "%lld.0 AS records_per_second FROM batch_tracker WHERE created_at > " AGE_SQL
		 " GROUP BY client_id ORDER BY messages_per_second DESC, client_id LIMIT %lld",
		 minutes * 60, minutes * 60, minutes, (long long)r->limit);
	r->out = cJSON_CreateObject();
	cJSON_AddNumberToObject(r->out, "minutes", (double)minutes);
	cJSON *a = cJSON_AddArrayToObject(r->out, "clients");
	query_rows(r, db, sql, a);
}

static void ctl_work(ow_job_t *j)
{
	ctl_req_t *r = (ctl_req_t *)j;
	sqlite3 *db = ow_tracker_reader();
	if (db == NULL) {
		r->code = 503;
		snprintf(r->error, sizeof(r->error), "tracker database unavailable");
		return;
	}
	switch (r->kind) {
	case Q_STATUS:
		q_status(r, db);
		break;
	case Q_BATCH:
		q_batch(r, db);
		break;
	case Q_BATCHES:
		q_batches(r, db);
		break;
	case Q_THROUGHPUT:
		q_throughput(r, db);
		break;
	default:
		q_alerts(r, db);
	}
	if (r->error[0] && r->code == 200)
		r->code = 500;
}

/* Every stage's queue, an empty one too: where work piles up is the
 * bottleneck. A capacity of null is no limit of its own. */
static void queues_json(cJSON *out)
{
	cJSON *all = cJSON_AddObjectToObject(out, "queues");
	for (const ow_queue_t *q = ow_queue_first(); q; q = q->next) {
		cJSON *o = cJSON_AddObjectToObject(all, q->name);
		uint64_t waits = atomic_load(&q->waits), ns = atomic_load(&q->wait_ns);
		cJSON_AddNumberToObject(o, "depth_items", (double)atomic_load(&q->items));
		cJSON_AddNumberToObject(o, "depth_bytes", (double)atomic_load(&q->bytes));
		if (q->cap_items)
			cJSON_AddNumberToObject(o, "capacity_items", (double)q->cap_items);
		else
			cJSON_AddNullToObject(o, "capacity_items");
		if (q->cap_bytes)
			cJSON_AddNumberToObject(o, "capacity_bytes", (double)q->cap_bytes);
		else
			cJSON_AddNullToObject(o, "capacity_bytes");
		cJSON_AddNumberToObject(o, "waits", (double)waits);
		cJSON_AddNumberToObject(o, "wait_avg_ms",
					waits ? (double)ns / 1e6 / (double)waits : 0);
		cJSON_AddNumberToObject(o, "wait_max_ms",
					(double)atomic_load(&q->wait_max_ns) / 1e6);
	}
}

static void ctl_done(ow_job_t *j)
{
	ctl_req_t *r = (ctl_req_t *)j;
	if (r->code != 200) {
		if (r->code == 500)
			ow_log(OW_LOG_ERROR, "control: %s", r->error);
		send_error(r->req, r->code, r->error);
	} else {
		if (r->kind == Q_STATUS) {
			cJSON *p = cJSON_AddObjectToObject(r->out, "pipeline");
			cJSON_AddNumberToObject(p, "inflight_bytes", (double)ow_budget_used());
			cJSON_AddNumberToObject(p, "inflight_bytes_max", (double)ow_budget_max());
			cJSON_AddNumberToObject(p, "wal_batches_in_flight",
						(double)ow_wal_inflight_batches());
			cJSON_AddNumberToObject(p, "decode_queue", (double)ow_work_queued());
			cJSON_AddNumberToObject(p, "queries_running", (double)ow_query_pending());
			cJSON_AddNumberToObject(p, "buffered_bytes",
						(double)ow_storage_buffered_bytes());
			cJSON_AddBoolToObject(p, "disk_full",
					      ow_wal_disk_full() || ow_storage_disk_critical());
			cJSON_AddBoolToObject(p, "draining", draining);
			queues_json(r->out);
		}
		send_json(r->req, 200, r->out);
	}
	cJSON_Delete(r->out);
	free(r);
	pending--;
}

/* Each module writes its own counters (its stats hook), in table order. */
static void send_metrics(struct evhttp_request *req)
{
	ow_buf_t b = {0};
	ow_modules_stats(&b);
	ow_http_reply(req, 200, "text/plain; version=0.0.4", b.data, b.len, 0);
	ow_buf_free(&b);
}

int64_t ow_control_query_timeout_ms(void)
{
	return query_timeout_ms;
}

int64_t ow_control_query_memory(void)
{
	return query_memory;
}

int64_t ow_control_query_limit(enum ow_query_limit which)
{
	return query_limits[which];
}

int64_t ow_control_query_max_rows(void)
{
	return query_max_rows;
}

#define MAX_ROUTES 32
typedef struct {
	const char *path;
	size_t len;
	int flags, scope;
	ow_route_fn fn;
	void *arg;
} route_t;
static route_t routes[MAX_ROUTES];
static int nroutes;

int ow_control_route(const char *path, int flags, int scope, ow_route_fn fn, void *arg)
{
	if (nroutes == MAX_ROUTES || path[0] != '/')
		return OW_ERROR;
	routes[nroutes++] = (route_t){path, strlen(path), flags, scope, fn, arg};
	return OW_OK;
}

/* The registered route that serves path: the longest match, or NULL. */
static const route_t *route_find(const char *path)
{
	const route_t *best = NULL;
	for (int i = 0; i < nroutes; i++) {
		const route_t *r = &routes[i];
		int hit = (r->flags & OW_ROUTE_PREFIX)
			      ? strncmp(path, r->path, r->len) == 0 &&
				    (path[r->len] == '\0' || path[r->len] == '/' ||
				     r->path[r->len - 1] == '/')
			      : strcmp(path, r->path) == 0;
		if (hit && (best == NULL || r->len > best->len))
			best = r;
	}
	return best;
}

/* What a path needs of a token (OW_AUTH_*): 0 for the open ones and the
 * unknown (404). */
static int route_scope(const char *path)
{
	const route_t *r = route_find(path);
	if (r)
		return r->scope;
	if (strcmp(path, "/api/search") == 0 || strncmp(path, "/api/traces/", 12) == 0 ||
	    strcmp(path, "/api/logs/search") == 0)
		return OW_AUTH_READ;
	if (strcmp(path, "/metrics") == 0 || strncmp(path, "/api/batch-monitor/", 19) == 0)
		return OW_AUTH_ADMIN | OW_AUTH_ALL;
	return 0;
}

/* The request's query string into q (evhttp_clear_headers it), or 400. */
static int query_args(struct evhttp_request *req, const struct evhttp_uri *uri, struct evkeyvalq *q)
{
	const char *query = evhttp_uri_get_query(uri);
	if (evhttp_parse_query_str(query ? query : "", q) != 0) {
		send_error(req, 400, "malformed query string");
		return OW_ERROR;
	}
	return OW_OK;
}

/* The integer argument name in lo..hi, def when absent; nonzero when it
 * is not such a number. */
static int number_arg(struct evkeyvalq *q, const char *name, int64_t def, int64_t lo, int64_t hi,
		      int64_t *out)
{
	const char *v = evhttp_find_header(q, name);
	char *end = NULL;
	errno = 0;
	*out = v ? strtoll(v, &end, 10) : def;
	return v && (*v == '\0' || *end || errno || *out < lo || *out > hi);
}

static void on_request(struct evhttp_request *req, void *arg)
{
	OW_UNUSED(arg);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = evhttp_uri_get_path(uri);
	if (path == NULL)
		path = "/";
	int cmd = evhttp_request_get_command(req);
	char tenant[OW_TENANT_MAX + 1];
	int scope = route_scope(path);
	if (scope) {
		struct evkeyvalq *in = evhttp_request_get_input_headers(req);
		ow_auth_cred_t cred = {0};
		ow_http_auth_cred(req, &cred);
		int why = ow_ingest_auth_reason(
		    ow_auth_decide(auth_listener, &cred, scope,
				   evhttp_find_header(in, "X-Scope-OrgID"), tenant),
		    scope);
		if (why != OW_IN_OK) {
			ow_ingest_answer_t a;
			ow_ingest_answer(&auth_src, why, NULL, &a);
			send_error(req, a.http, a.message);
			return;
		}
	}
	const route_t *route = route_find(path);
	if (route) {
		route->fn(req, path, scope ? tenant : "", route->arg);
		return;
	}
	if (strcmp(path, "/api/search") == 0) {
		if (cmd == EVHTTP_REQ_POST) {
			ow_query_search(req, tenant);
			return;
		}
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
		send_error(req, 405, "method not allowed: use POST");
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET");
		send_error(req, 405, "method not allowed: use GET");
		return;
	}
	if (strcmp(path, "/health") == 0) {
		ow_http_reply(req, 200, "application/json", "{\"status\":\"ok\"}", 15, 0);
		return;
	}
	if (strcmp(path, "/ready") == 0) {
		const char *why = !ready					     ? "starting"
				  : draining					     ? "draining"
				  : ow_wal_disk_full() || ow_storage_disk_critical() ? "disk_full"
										     : NULL;
		char s[64];
		snprintf(s, sizeof(s), "{\"status\":\"%s\"}", why ? why : "ready");
		ow_http_reply(req, why ? 503 : 200, "application/json", s, strlen(s), 0);
		return;
	}
	if (strcmp(path, "/metrics") == 0) {
		send_metrics(req);
		return;
	}
	if (strncmp(path, "/api/traces/", 12) == 0) {
		ow_query_trace(req, path + 12, tenant);
		return;
	}
	if (strcmp(path, "/api/logs/search") == 0) {
		ow_query_logs(req, tenant);
		return;
	}
	ctl_req_t *r = ow_calloc(1, sizeof(*r));
	r->req = req;
	r->code = 200;
	r->limit = 1000;
	const char *pfx = "/api/batch-monitor/batches/";
	if (strcmp(path, "/api/batch-monitor/status") == 0) {
		r->kind = Q_STATUS;
	} else if (strcmp(path, "/api/batch-monitor/alerts") == 0) {
		r->kind = Q_ALERTS;
	} else if (strcmp(path, "/api/batch-monitor/throughput") == 0) {
		r->kind = Q_THROUGHPUT;
		struct evkeyvalq q;
		if (query_args(req, uri, &q) != OW_OK) {
			free(r);
			return;
		}
		int bad = number_arg(&q, "minutes", 60, 1, 525600, &r->min_age);
		evhttp_clear_headers(&q);
		if (bad) {
			free(r);
			send_error(req, 400, "minutes must be a number 1..525600");
			return;
		}
	} else if (strncmp(path, pfx, strlen(pfx)) == 0 && strlen(path + strlen(pfx)) > 0 &&
		   strlen(path + strlen(pfx)) <= OW_BATCH_ID_LEN) {
		r->kind = Q_BATCH;
		snprintf(r->id, sizeof(r->id), "%s", path + strlen(pfx));
	} else if (strcmp(path, "/api/batch-monitor/batches") == 0) {
		r->kind = Q_BATCHES;
		struct evkeyvalq q;
		if (query_args(req, uri, &q) != OW_OK) {
			free(r);
			return;
		}
		const char *s = evhttp_find_header(&q, "status");
		static const char *sts[] = {"", "pending", "completed", "failed"};
		r->status = -1;
		for (int i = 0; i < 4; i++)
			if (strcmp(s ? s : "", sts[i]) == 0)
				r->status = i;
		int bad_age = number_arg(&q, "min_age_minutes", 0, 0, INT64_MAX, &r->min_age);
		int bad_lim = number_arg(&q, "limit", 1000, 1, 100000, &r->limit);
		evhttp_clear_headers(&q);
		if (r->status < 0 || bad_age || bad_lim) {
			free(r);
			send_error(req, 400,
				   "status must be pending, completed or failed; "
				   "min_age_minutes a number >= 0; limit 1..100000");
			return;
		}
	} else {
		free(r);
		send_error(req, 404, "not found");
		return;
	}
	r->job.work = ctl_work;
	r->job.done = ctl_done;
	if (ow_query_submit(&r->job) != OW_OK) {
		free(r);
		send_error(req, 503, "busy; retry");
		return;
	}
	pending++;
}

static int control_start(struct event_base *base)
{
	if (ow_query_start(base) != OW_OK)
		return OW_ERROR;
	auth_listener = ow_auth_listener("control");
	ow_tls_t *t;
	if (ow_tls_listener(&t, "control", "control", &tls, "http/1.1") != OW_OK)
		return OW_ERROR;
	server = ow_http_server_new(base, "control", &limits, t, on_request, NULL);
	return ow_http_server_listen(server, "query and monitoring API", bind_addr, port);
}

static int control_check(char *err, size_t errlen)
{
	if (ow_auth_check_bind("control.bind", bind_addr, port, err, errlen) != OW_OK)
		return OW_ERROR;
	return ow_tls_check("control", &tls, err, errlen);
}

static void control_drain(void)
{
	draining = 1;
}

static int control_busy(void)
{
	return pending > 0 || ow_query_pending() > 0;
}

static void control_stop(void)
{
	ow_http_server_free(server);
	server = NULL;
	ow_query_stop();
}

ow_module_t ow_control_module = {
    .name = "control",
    .directives = directives,
    .check = control_check,
    .start = control_start,
    .drain = control_drain,
    .busy = control_busy,
    .stop = control_stop,
    .stats = ow_query_stats,
};

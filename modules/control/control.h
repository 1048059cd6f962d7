/*
 * control.h - /health, /ready, /metrics and the batch-monitor API.
 */
#ifndef OW_CONTROL_H
#define OW_CONTROL_H

#include "../core/core.h"
#include "../core/module.h"

extern ow_module_t ow_control_module;

/* openwit.c calls this once every module has started. */
void ow_control_set_ready(int ready);

/* Routes other modules serve on the control port (the Prometheus, Loki,
 * Tempo and Jaeger APIs, the UI). A module registers them in its init
 * hook, before control starts. path is matched whole, or with
 * OW_ROUTE_PREFIX as a prefix ending at a '/' boundary ("/loki" matches
 * "/loki" and "/loki/api/v1/labels", not "/lokix"). scope is what a
 * token needs (OW_AUTH_*, 0 for an open route); control checks it, and
 * the tenant, before fn runs, exactly as for /api/search. fn gets the
 * whole path and the tenant (empty for an open route) and answers every
 * method itself. Connections, deadlines and the body size are the
 * control listener's (control.*). Longest registered path wins. */
struct evhttp_request;
enum { OW_ROUTE_PREFIX = 1 };
typedef void (*ow_route_fn)(struct evhttp_request *req, const char *path, const char *tenant,
			    void *arg);
int ow_control_route(const char *path, int flags, int scope, ow_route_fn fn, void *arg);

/* query.c: the query API (see there); the limits are control's settings.
 * tenant: the request's, as control decided it (modules/auth). */
void ow_query_search(struct evhttp_request *req, const char *tenant);
void ow_query_trace(struct evhttp_request *req, const char *id, const char *tenant);
void ow_query_logs(struct evhttp_request *req, const char *tenant);
uint64_t ow_query_pending(void);

/* A query of another module's API (Prometheus, Loki, Tempo, Jaeger) run as
 * /api/search's are: admitted under the same caps, over a snapshot of the
 * tenant's parts and buffers taken when it arrives, on the query pool,
 * under query.timeout_ms and query.max_memory_bytes (s is opened with
 * them; query.max_rows is the API's to apply), cancelled when its client
 * goes away. work runs on a query thread and fills the answer (code 200
 * and application/json unless it says otherwise); fail fills it in the
 * API's own error form when the query cannot run (an invalid tenant 400,
 * past a cap 429, the queue full 503, the snapshot unreadable 500);
 * release frees arg, on the loop, once the answer is sent. With req NULL
 * (a query of no request: Loki's tail polls), answered gets the answer
 * on the loop instead, before release. */
struct ow_search;
typedef struct {
	int code;
	const char *ctype;
	ow_buf_t body;
} ow_query_answer_t;
typedef struct {
	/* 1: s is opened with no bound on a result's rows, for an API whose
	 * reads are its own inputs (PromQL's samples) and that bounds what it
	 * answers itself; the time and memory budgets still hold. 0: each
	 * result at most query.max_rows rows. */
	int rows_unbounded;
	void (*work)(struct ow_search *s, void *arg, ow_query_answer_t *a);
	void (*fail)(ow_query_answer_t *a, int code, const char *msg);
	void (*release)(void *arg);
	void (*answered)(void *arg, ow_query_answer_t *a);
} ow_query_api_t;
void ow_query_run(struct evhttp_request *req, const char *tenant, const ow_query_api_t *api,
		  void *arg);
/* ow_query_run when why is NULL; else answers code and why in the API's
 * error form (a bad request, found before any query) and releases arg. */
void ow_query_run_checked(struct evhttp_request *req, const char *tenant, const ow_query_api_t *api,
			  void *arg, int code, const char *why);
/* An error as text, Loki's and Tempo's form (an api's fail). */
void ow_query_text(ow_query_answer_t *a, int code, const char *msg);
/* Answers req at once with code and msg in the API's error form. */
void ow_query_reply(struct evhttp_request *req, const ow_query_api_t *api, int code,
		    const char *msg);
/* 1 when s is a trace id: 32 hex digits, either case. */
int ow_query_trace_id(const char *s);
/* The query pool (core/worker.h), started and stopped with control. */
struct event_base;
int ow_query_start(struct event_base *base);
void ow_query_stop(void);
/* Hands a job to the query pool: OW_AGAIN when its queue is full. */
struct ow_job;
int ow_query_submit(struct ow_job *j);
/* The query API's lines of /metrics. */
void ow_query_stats(ow_buf_t *b);
int64_t ow_control_query_timeout_ms(void);
int64_t ow_control_query_max_rows(void);
int64_t ow_control_query_memory(void);
enum ow_query_limit {
	OW_QUERY_THREADS,
	OW_QUERY_NICE,
	OW_QUERY_MAX_CONCURRENT,
	OW_QUERY_MAX_CONCURRENT_PER_TENANT
};
int64_t ow_control_query_limit(enum ow_query_limit which);

#endif

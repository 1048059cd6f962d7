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
/* A query of another module's API (the Prometheus API): run(o, arg) on
 * the query pool, admitted, counted and watched as /api/search is (the
 * caps, the snapshots taken now, the client's going away), with o set
 * for ow_search_open (the tenant, the snapshots, the budgets); then, on
 * the loop, answer(req, code, err, arg): code 200 once run has run
 * (what it found is the caller's to tell), or 429 or 503 with err when
 * the query was not admitted or the pool's queue is full. The caller
 * frees arg in answer. */
struct ow_search_opts_s;
typedef void (*ow_query_run_fn)(const struct ow_search_opts_s *o, void *arg);
typedef void (*ow_query_answer_fn)(struct evhttp_request *req, int code, const char *err,
				   void *arg);
void ow_query_run(struct evhttp_request *req, const char *tenant, ow_query_run_fn run,
		  ow_query_answer_fn answer, void *arg);
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

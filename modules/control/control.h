/*
 * control.h - /health, /ready, /metrics and the batch-monitor API.
 */
#ifndef OW_CONTROL_H
#define OW_CONTROL_H

#include "../core/module.h"

extern ow_module_t ow_control_module;

/* openwit.c calls this once every module has started. */
void ow_control_set_ready(int ready);

/* query.c: the query API (see there); the limits are control's settings. */
struct evhttp_request;
void ow_query_search(struct evhttp_request *req);
void ow_query_trace(struct evhttp_request *req, const char *id);
void ow_query_logs(struct evhttp_request *req);
uint64_t ow_query_pending(void);
int64_t ow_control_query_timeout_ms(void);
int64_t ow_control_query_max_rows(void);
int64_t ow_control_query_memory(void);

#endif

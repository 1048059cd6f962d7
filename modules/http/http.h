/*
 * http.h - OTLP/HTTP ingest: POST /v1/traces, /v1/logs, /v1/metrics on
 * ingestion.http.otlp_port (4318) and ingestion.http.port (9087).
 */
#ifndef OW_HTTP_H
#define OW_HTTP_H

#include "../core/module.h"

extern ow_module_t ow_http_module;

/* Shared by the HTTP listeners: sends body with a content type, and a
 * Retry-After header when retry_after > 0. */
struct evhttp_request;
void ow_http_reply(struct evhttp_request *req, int code, const char *ctype, const void *body,
		   size_t len, int retry_after);
/* Binds one listener and logs it; OW_ERROR with the reason logged. */
struct evhttp;
int ow_http_listen(struct evhttp *h, const char *what, const char *bind, int64_t port);

#endif

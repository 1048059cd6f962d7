/*
 * http.h - OTLP/HTTP ingest: POST /v1/traces, /v1/logs, /v1/metrics on
 * ingestion.http.otlp_port (4318) and ingestion.http.port (9087).
 */
#ifndef OW_HTTP_H
#define OW_HTTP_H

#include "../auth/auth.h"
#include "../core/module.h"
#include "../tls/tls.h"

extern ow_module_t ow_http_module;

/* Shared by the HTTP listeners: sends body with a content type, a
 * Retry-After header of retry_after seconds (at least 1) with every 503 and
 * 429, so that no refusal a client may retry leaves it guessing when, and
 * WWW-Authenticate: Bearer with a 401. To HEAD: the same head, with the
 * body's Content-Length, and no body. */
struct evhttp_request;
void ow_http_reply(struct evhttp_request *req, int code, const char *ctype, const void *body,
		   size_t len, int retry_after);
/* The request's Authorization headers into c (modules/auth: two are bad). */
void ow_http_auth_cred(struct evhttp_request *req, ow_auth_cred_t *c);

/* An HTTP listener with the limits of DESIGN 3.8 (server.c): connection
 * caps, head and receive deadlines from a request's first byte, header
 * and body sizes refused while reading. */
typedef struct {
	int64_t max_connections, max_connections_per_peer;
	int64_t header_timeout_ms, request_timeout_ms, idle_timeout_ms;
	int64_t max_header_bytes, max_body_bytes;
} ow_http_limits_t;

/* The directives of a listener's limits but its body size, under
 * PREFIX (a string literal: "control", "ingestion.http"), into the
 * ow_http_limits_t LIM, with its connection caps' defaults. */
#define OW_HTTP_LIMIT_DIRECTIVES(PREFIX, LIM, CONNS, PER_PEER)                                     \
	{PREFIX ".max_connections",                                                                \
	 OW_CONF_INT,                                                                              \
	 &(LIM).max_connections,                                                                   \
	 1,                                                                                        \
	 1000000,                                                                                  \
	 CONNS,                                                                                    \
	 NULL,                                                                                     \
	 0},                                                                                       \
	    {PREFIX ".max_connections_per_peer",                                                   \
	     OW_CONF_INT,                                                                          \
	     &(LIM).max_connections_per_peer,                                                      \
	     1,                                                                                    \
	     1000000,                                                                              \
	     PER_PEER,                                                                             \
	     NULL,                                                                                 \
	     0},                                                                                   \
	    {PREFIX ".header_timeout_ms",                                                          \
	     OW_CONF_INT,                                                                          \
	     &(LIM).header_timeout_ms,                                                             \
	     100,                                                                                  \
	     3600000,                                                                              \
	     "10000",                                                                              \
	     NULL,                                                                                 \
	     0},                                                                                   \
	    {PREFIX ".request_timeout_ms",                                                         \
	     OW_CONF_INT,                                                                          \
	     &(LIM).request_timeout_ms,                                                            \
	     100,                                                                                  \
	     3600000,                                                                              \
	     "30000",                                                                              \
	     NULL,                                                                                 \
	     0},                                                                                   \
	    {PREFIX ".idle_timeout_ms",                                                            \
	     OW_CONF_INT,                                                                          \
	     &(LIM).idle_timeout_ms,                                                               \
	     100,                                                                                  \
	     86400000,                                                                             \
	     "60000",                                                                              \
	     NULL,                                                                                 \
	     0},                                                                                   \
	{                                                                                          \
		PREFIX ".max_header_bytes", OW_CONF_INT, &(LIM).max_header_bytes, 1024, 16777216,  \
		    "65536", NULL, 0                                                               \
	}

/* cors.allowed_origins: the origins (one a line, "*" for any) whose
 * browsers may call every HTTP listener (server.c); NULL or empty: none. */
extern char *ow_http_cors_origins;

typedef struct ow_http_server ow_http_server_t;
struct event_base;
/* name labels the listener in logs and /metrics; tls (NULL: plain) is
 * the server's to free; cb gets each complete request, as evhttp's
 * generic callback would. */
ow_http_server_t *ow_http_server_new(struct event_base *base, const char *name,
				     const ow_http_limits_t *lim, ow_tls_t *tls,
				     void (*cb)(struct evhttp_request *, void *), void *arg);
/* Binds one more port (0: none) and logs it; OW_ERROR with the reason
 * logged. */
int ow_http_server_listen(ow_http_server_t *srv, const char *what, const char *bind, int64_t port);
/* Closes the listeners and every connection. */
void ow_http_server_free(ow_http_server_t *srv);

#endif

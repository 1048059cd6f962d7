/*
 * server.c - what every HTTP listener (OTLP/HTTP in http.c, the control
 * API in control.c) enforces around evhttp, so that no client can pin the
 * server (DESIGN 3.8):
 *
 *   connections  ow_conn_admit (core/conn.h): past a cap the socket gets
 *                a canned 503 and is closed before a byte is read
 *   head         a request's head (request line and headers) must arrive
 *                within header_timeout_ms of its first byte, and be at
 *                most max_header_bytes (evhttp answers 413 above it: 2.1
 *                knows no 431)
 *   receive      the whole request within request_timeout_ms of its first
 *                byte; a body over max_body_bytes is refused by evhttp as
 *                it is read (at once from Content-Length, Expect:
 *                100-continue included), 413
 *   idle         a kept-alive connection waits idle_timeout_ms for its next
 *                request, an answer makes write progress within it
 *   TLS          with a listener's TLS (modules/tls) each connection's
 *                bufferevent is an OpenSSL one, so the bytes counted
 *                below are the decrypted ones; the handshake is part of
 *                the first request's head, whose clock starts at
 *                admission: a client that never handshakes is cut at
 *                header_timeout_ms
 *
 * CORS (cors.allowed_origins, off when empty): a request whose Origin is
 * listed ("*" lists every one) gets Access-Control-Allow-Origin with that
 * origin (and Vary: Origin); its preflight (OPTIONS with
 * Access-Control-Request-Method) is answered here, 204 with the methods
 * and headers the APIs take. Another origin gets no CORS header, and its
 * preflight goes to the handler like any OPTIONS request (405), so a
 * browser refuses it.
 *
 * Deadlines count from the request's first byte, not from the last byte
 * read (a client trickling a header line every second would otherwise
 * hold its connection forever), and end when the request is complete: the
 * time a query or an answer takes never counts. A request past a deadline
 * has its connection closed.
 *
 * libevent 2.1 has no hook at accept or at request start (2.2's newreqcb),
 * so: the bufferevent of each connection is ours (evhttp_set_bevcb), and
 * an event activated there runs once evhttp has set the connection up in
 * the same pass of the loop, before any byte can be read; it finds the
 * connection as the bufferevent's callback argument, admits it and sets a
 * close callback. A callback on the bufferevent's input buffer sees every
 * byte read: the first byte of a request starts its clock, the blank line
 * that ends its head is found there. The request callback (evhttp_set_gencb)
 * stops the clock; the request's completion callback (the answer is
 * written) waits for the next request.
 */
#include "http.h"
#include "../core/conn.h"
#include "../core/log.h"
#include "../tls/tls.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#define CONN_BUCKETS 1024

enum { C_NEW, C_IDLE, C_HEAD, C_BODY, C_BUSY };

typedef struct hconn hconn_t;

struct ow_http_server {
	struct evhttp *http;
	struct event_base *base;
	ow_http_limits_t lim;
	ow_conn_limit_t conns;
	ow_tls_t *tls; /* NULL: plain */
	void (*cb)(struct evhttp_request *, void *);
	void *arg;
	struct event *fresh_ev; /* admits the connections on the fresh list */
	hconn_t *fresh;
	hconn_t *by_evcon[CONN_BUCKETS]; /* admitted, found from a request */
};

struct hconn {
	ow_http_server_t *srv;
	struct bufferevent *bev;
	struct evhttp_connection *evcon;
	struct evbuffer_cb_entry *input_cb;
	ow_conn_peer_t *peer;
	struct event *timer;
	int state;
	int at_bol; /* the head scanner is at the start of a line */
	int64_t t0; /* CLOCK_MONOTONIC ns of the request's first byte */
	hconn_t *next;
};

static hconn_t **slot(ow_http_server_t *srv, const struct evhttp_connection *evcon)
{
	uintptr_t h = (uintptr_t)evcon;
	return &srv->by_evcon[(h >> 4 ^ h >> 14) % CONN_BUCKETS];
}

static hconn_t *find(ow_http_server_t *srv, const struct evhttp_connection *evcon)
{
	hconn_t *c = *slot(srv, evcon);
	while (c && c->evcon != evcon)
		c = c->next;
	return c;
}

static void arm(hconn_t *c, int64_t ms)
{
	int64_t left = c->t0 + ms * 1000000 - ow_mono_ns();
	if (left < 0)
		left = 0;
	struct timeval tv = {(time_t)(left / 1000000000), (suseconds_t)(left % 1000000000 / 1000)};
	evtimer_add(c->timer, &tv);
}

/* Looks for the blank line that ends a head in the bytes from `from` on. */
static int head_ends(hconn_t *c, struct evbuffer *buf, size_t from)
{
	struct evbuffer_ptr p;
	if (evbuffer_ptr_set(buf, &p, from, EVBUFFER_PTR_SET) != 0)
		return 0;
	ev_ssize_t len = (ev_ssize_t)(evbuffer_get_length(buf) - from);
	/* a socket read fills a chain or two; more are looked at all the
	 * same, or a head would wait for the wrong deadline */
	struct evbuffer_iovec stack[8], *v = stack;
	int n = evbuffer_peek(buf, len, &p, NULL, 0);
	if (n > 8)
		v = ow_alloc((size_t)n * sizeof(*v));
	n = evbuffer_peek(buf, len, &p, v, n);
	int found = 0;
	for (int i = 0; i < n && !found; i++) {
		const char *s = v[i].iov_base;
		for (size_t k = 0; k < v[i].iov_len; k++) {
			if (s[k] == '\n') {
				if (c->at_bol) {
					found = 1;
					break;
				}
				c->at_bol = 1;
			} else if (s[k] != '\r') {
				c->at_bol = 0;
			}
		}
	}
	if (v != stack)
		free(v);
	return found;
}

/* Bytes of the request in buf from `from` on: the head clock starts at the
 * first, the receive clock takes over once the head is complete. */
static void head_begins(hconn_t *c)
{
	c->state = C_HEAD;
	c->t0 = ow_mono_ns();
	c->at_bol = 0;
	arm(c, c->srv->lim.header_timeout_ms);
}

static void take_bytes(hconn_t *c, struct evbuffer *buf, size_t from)
{
	if (c->state == C_NEW || c->state == C_IDLE)
		head_begins(c);
	if (c->state == C_HEAD && head_ends(c, buf, from)) {
		c->state = C_BODY;
		arm(c, c->srv->lim.request_timeout_ms);
	}
}

static void on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	hconn_t *c = arg;
	/* while a request is answered, what arrives is the next one (HTTP
	 * pipelining): its clock starts when evhttp turns to it */
	if (info->n_added == 0 || c->state == C_BUSY)
		return;
	take_bytes(c, buf, evbuffer_get_length(buf) - info->n_added);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	OW_UNUSED(fd);
	OW_UNUSED(what);
	hconn_t *c = arg;
	int which = c->state == C_HEAD ? OW_DL_HEAD : OW_DL_RECEIVE;
	c->srv->conns.deadline[which]++;
	ow_log(OW_LOG_DEBUG, "%s: %s deadline passed: connection closed", c->srv->conns.name,
	       ow_conn_deadline_names[which]);
	evhttp_connection_free(c->evcon); /* on_close frees c */
}

static void on_close(struct evhttp_connection *evcon, void *arg)
{
	hconn_t *c = arg;
	ow_http_server_t *srv = c->srv;
	for (hconn_t **p = slot(srv, evcon); *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->input_cb);
	if (srv->tls)
		ow_tls_closed(srv->tls, c->bev);
	ow_conn_release(&srv->conns, c->peer);
	event_free(c->timer);
	free(c);
}

static const char refusal[] = "HTTP/1.1 503 Service Unavailable\r\n"
			      "Content-Type: text/plain\r\nContent-Length: 34\r\n"
			      "Retry-After: 1\r\nConnection: close\r\n\r\n"
			      "too many connections; retry later\n";

/* Runs after evhttp has set up the connections accepted in this pass. */
static void on_fresh(evutil_socket_t fd, short what, void *arg)
{
	OW_UNUSED(fd);
	OW_UNUSED(what);
	ow_http_server_t *srv = arg;
	hconn_t *c;
	while ((c = srv->fresh) != NULL) {
		srv->fresh = c->next;
		c->next = NULL;
		void *cbarg = NULL;
		bufferevent_getcb(c->bev, NULL, NULL, NULL, &cbarg);
		struct evhttp_connection *evcon = cbarg;
		/* evhttp freed it already (its setup failed): free clears the
		 * callbacks, our reference kept the memory */
		if (evcon == NULL) {
			bufferevent_decref(c->bev);
			event_free(c->timer);
			free(c);
			continue;
		}
		bufferevent_decref(c->bev);
		evutil_socket_t s = bufferevent_getfd(c->bev);
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		if (getpeername(s, (struct sockaddr *)&ss, &sl) != 0)
			ss.ss_family = AF_UNSPEC;
		c->peer = ow_conn_admit(&srv->conns, (struct sockaddr *)&ss);
		if (c->peer == NULL) {
			/* a fresh socket's send buffer is empty: this never blocks
			 * (a TLS client could not read it: it is only closed) */
			if (srv->tls == NULL) {
				ssize_t n = send(s, refusal, sizeof(refusal) - 1,
						 MSG_NOSIGNAL | MSG_DONTWAIT);
				OW_UNUSED(n);
			}
			evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->input_cb);
			event_free(c->timer);
			free(c);
			evhttp_connection_free(evcon);
			continue;
		}
		c->evcon = evcon;
		/* an answer leaves as several writes (libevent writes at most
		 * 16 KiB a pass; TLS, a record each): on a kept-alive
		 * connection Nagle would hold each next one for the client's
		 * delayed ACK (40 ms; a fresh connection's first answer is
		 * ACKed at once) - a Loki answer of 17 KiB or more took 40 ms
		 * longer on a client's second request than on its first */
		int one = 1;
		setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		/* a TLS handshake is part of the first request's head */
		if (c->state == C_NEW && srv->tls)
			head_begins(c);
		else if (c->state == C_NEW)
			c->state = C_IDLE;
		hconn_t **b = slot(srv, evcon);
		c->next = *b;
		*b = c;
		evhttp_connection_set_closecb(evcon, on_close, c);
	}
}

static struct bufferevent *on_new_bev(struct event_base *base, void *arg)
{
	ow_http_server_t *srv = arg;
	hconn_t *c = ow_calloc(1, sizeof(*c));
	c->srv = srv;
	c->bev = srv->tls ? ow_tls_bufferevent(srv->tls, base, -1)
			  : bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		free(c);
		return NULL;
	}
	bufferevent_incref(c->bev);
	c->timer = evtimer_new(base, on_deadline, c);
	c->input_cb = evbuffer_add_cb(bufferevent_get_input(c->bev), on_input, c);
	c->next = srv->fresh;
	srv->fresh = c;
	event_active(srv->fresh_ev, EV_TIMEOUT, 0);
	return c->bev;
}

static void set_idle_timeouts(struct bufferevent *bev, const ow_http_limits_t *lim, int reading)
{
	struct timeval tv = {(time_t)(lim->idle_timeout_ms / 1000),
			     (suseconds_t)(lim->idle_timeout_ms % 1000 * 1000)};
	bufferevent_set_timeouts(bev, reading ? &tv : NULL, &tv);
}

/* The answer is written: the connection waits for its next request, which
 * may be here already (pipelined). */
static void on_complete(struct evhttp_request *req, void *arg)
{
	OW_UNUSED(req);
	hconn_t *c = arg;
	c->state = C_IDLE;
	set_idle_timeouts(c->bev, &c->srv->lim, 1);
	struct evbuffer *in = bufferevent_get_input(c->bev);
	if (evbuffer_get_length(in) > 0)
		take_bytes(c, in, 0);
}

char *ow_http_cors_origins;

/* Whether origin is in cors.allowed_origins (one a line). */
static int cors_allowed(const char *origin)
{
	size_t n = strlen(origin);
	for (const char *l = ow_http_cors_origins; l && *l;) {
		const char *e = strchr(l, '\n');
		size_t len = e ? (size_t)(e - l) : strlen(l);
		if ((len == 1 && *l == '*') || (len == n && !memcmp(l, origin, n)))
			return 1;
		l += len + (e != NULL);
	}
	return 0;
}

/* CORS headers for an allowed origin; 1 when req was a preflight, answered. */
static int cors(struct evhttp_request *req)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	const char *origin = evhttp_find_header(in, "Origin");
	if (!origin || !ow_http_cors_origins || !*ow_http_cors_origins || !cors_allowed(origin))
		return 0;
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	evhttp_add_header(out, "Access-Control-Allow-Origin", origin);
	evhttp_add_header(out, "Vary", "Origin");
	if (evhttp_request_get_command(req) != EVHTTP_REQ_OPTIONS ||
	    !evhttp_find_header(in, "Access-Control-Request-Method")) {
		evhttp_add_header(out, "Access-Control-Expose-Headers", "Retry-After");
		return 0;
	}
	evhttp_add_header(out, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
	evhttp_add_header(out, "Access-Control-Allow-Headers",
			  "Authorization, Content-Type, Content-Encoding, X-Scope-OrgID");
	evhttp_add_header(out, "Access-Control-Max-Age", "600");
	evhttp_send_reply(req, 204, "No Content", NULL);
	return 1;
}

static void on_request(struct evhttp_request *req, void *arg)
{
	ow_http_server_t *srv = arg;
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	hconn_t *c = evcon ? find(srv, evcon) : NULL;
	if (c) {
		c->state = C_BUSY;
		event_del(c->timer);
		/* evhttp keeps reading a GET's connection while it is answered
		 * (to see the client go): a query longer than the idle timeout
		 * must not be cut by it */
		set_idle_timeouts(c->bev, &srv->lim, 0);
		evhttp_request_set_on_complete_cb(req, on_complete, c);
	}
	if (!cors(req))
		srv->cb(req, srv->arg);
}

ow_http_server_t *ow_http_server_new(struct event_base *base, const char *name,
				     const ow_http_limits_t *lim, ow_tls_t *tls,
				     void (*cb)(struct evhttp_request *, void *), void *arg)
{
	ow_http_server_t *srv = ow_calloc(1, sizeof(*srv));
	srv->base = base;
	srv->tls = tls;
	srv->lim = *lim;
	srv->cb = cb;
	srv->arg = arg;
	srv->http = evhttp_new(base);
	srv->fresh_ev = event_new(base, -1, 0, on_fresh, srv);
	ow_conn_limit_init(&srv->conns, name, lim->max_connections, lim->max_connections_per_peer);
	evhttp_set_bevcb(srv->http, on_new_bev, srv);
	evhttp_set_max_headers_size(srv->http, (ev_ssize_t)lim->max_header_bytes);
	evhttp_set_max_body_size(srv->http, (ev_ssize_t)lim->max_body_bytes);
	struct timeval tv = {(time_t)(lim->idle_timeout_ms / 1000),
			     (suseconds_t)(lim->idle_timeout_ms % 1000 * 1000)};
	evhttp_set_timeout_tv(srv->http, &tv);
	/* every method reaches the handlers, which answer 405 themselves: a
	 * request evhttp answered on its own would never stop its clock */
	evhttp_set_allowed_methods(srv->http, 0xffff);
	evhttp_set_gencb(srv->http, on_request, srv);
	return srv;
}

int ow_http_server_listen(ow_http_server_t *srv, const char *what, const char *bind, int64_t port)
{
	if (port == 0)
		return OW_OK;
	if (evhttp_bind_socket_with_handle(srv->http, bind, (uint16_t)port) == NULL) {
		ow_log(OW_LOG_CRIT, "%s: cannot listen on %s:%lld: %s", what, bind, (long long)port,
		       strerror(errno));
		return OW_ERROR;
	}
	ow_log(OW_LOG_INFO, "%s listening on %s:%lld%s", what, bind, (long long)port,
	       srv->tls ? " (TLS)" : "");
	return OW_OK;
}

void ow_http_server_free(ow_http_server_t *srv)
{
	if (srv == NULL)
		return;
	on_fresh(-1, 0, srv);
	evhttp_free(srv->http); /* closes every connection: on_close */
	event_free(srv->fresh_ev);
	ow_conn_limit_done(&srv->conns);
	ow_tls_free(srv->tls);
	free(srv);
}

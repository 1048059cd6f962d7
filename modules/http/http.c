/*
 * http.c - OTLP/HTTP ingest on evhttp.
 *
 * On the loop: routing, method, content type and encoding (its framing),
 * then the token (Authorization: Bearer, modules/auth through the ingest
 * front: it decides the tenant), then the ingest front's admission
 * (modules/ingest: tenant, draining, disk and buffers, size, byte budget);
 * a rejected request costs no copy.
 * An admitted body is copied out and decoded by the front on a worker, so
 * bad input is never written anywhere and a large body never stalls the
 * loop. A decoded request joins a batch (wal.h); it is answered when its
 * batch is durable. Errors carry a google.rpc.Status in the request's
 * encoding (JSON when the content type was not understood), status and
 * message from the front's table:
 *   400 malformed body or invalid tenant,     413 body too large, before or
 *       JSON with too many elements               after decoding
 *   401 no token or an unknown one            415 content type or encoding
 *   403 no write scope, another tenant, a     429 the tenant's rate
 *       new tenant past limits.max_tenants        (Retry-After)
 *   404 unknown path
 *   405 not POST                              503 budget (also while
 *                                                 decoding), queue, disk full,
 *                                                 draining (Retry-After)
 *
 * Connections, deadlines and the header and body sizes are enforced while
 * reading, by the listener code shared with the control API (server.c);
 * so is TLS (ingestion.http.tls.*, modules/tls), on both ports.
 */
#include "http.h"
#include "../core/log.h"
#include "../ingest/ingest.h"
#include "../otlp/otlp.h"
#include "../wal/wal.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <strings.h>

static char *bind_addr;
static int64_t port_legacy, port_otlp, max_payload_mb, batch_timeout_ms;
static ow_http_limits_t lim;
static ow_tls_conf_t tls;

static ow_directive_t directives[] = {
    {"ingestion.http.bind", OW_CONF_STR, &bind_addr, 0, 255, "127.0.0.1", NULL, 0},
    {"ingestion.http.otlp_port", OW_CONF_INT, &port_otlp, 0, 65535, "4318", NULL, 0},
    {"ingestion.http.port", OW_CONF_INT, &port_legacy, 0, 65535, "9087", NULL, 0},
    {"ingestion.http.max_payload_size_mb", OW_CONF_INT, &max_payload_mb, 1, 1024, "16", NULL, 0},
    OW_HTTP_LIMIT_DIRECTIVES("ingestion.http", lim, "4096", "1024"),
    OW_TLS_DIRECTIVES("ingestion.http", tls),
    {"ingestion.http.batching.batch_timeout_ms", OW_CONF_INT, &batch_timeout_ms, 0, 60000, "100",
     NULL, 0},
    {"cors.allowed_origins", OW_CONF_LIST, &ow_http_cors_origins, 0, 1024, "", NULL, 0},
    OW_CONF_END};

typedef struct {
	ow_ingest_req_t in; /* first: the front and the WAL's ack get it back */
	/* Valid until answered: when the client goes away first, libevent
	 * detaches the request from its connection and evhttp_send_reply()
	 * then just frees it. */
	struct evhttp_request *req;
} http_req_t;

static void decoded(ow_ingest_req_t *in);
static void on_ack(ow_msg_t *m, int rc);

static ow_ingest_src_t ingest_src = {
    .source = OW_SRC_HTTP,
    .tenant_from = "X-Scope-OrgID",
    .accepts = "application/x-protobuf or application/json",
    .unit = "body",
    .limit = "ingestion.http.max_payload_size_mb",
    .decoded = decoded,
    .ack = on_ack,
};

static ow_http_server_t *server;
static uint64_t pending; /* admitted requests not yet answered */

static const char *const ctype_names[] = {"application/x-protobuf", "application/json"};

void ow_http_reply(struct evhttp_request *req, int code, const char *ctype, const void *body,
		   size_t len, int retry_after)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Content-Type", ctype);
	if (code == 401)
		evhttp_add_header(h, "WWW-Authenticate", "Bearer realm=\"openwit\"");
	if (code == 503 || code == 429 || retry_after > 0) {
		char s[16];
		snprintf(s, sizeof(s), "%d", OW_MAX(retry_after, 1));
		evhttp_add_header(h, "Retry-After", s);
	}
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		/* the length GET would send, and no body (evhttp sends one) */
		char n[24];
		snprintf(n, sizeof(n), "%zu", len);
		evhttp_add_header(h, "Content-Length", n);
		evhttp_send_reply(req, code, NULL, NULL);
		return;
	}
	struct evbuffer *b = evbuffer_new();
	evbuffer_add(b, body, len);
	evhttp_send_reply(req, code, NULL, b);
	evbuffer_free(b);
}

void ow_http_auth_cred(struct evhttp_request *req, ow_auth_cred_t *c)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	for (struct evkeyval *h = in->tqh_first; h; h = h->next.tqe_next)
		if (strcasecmp(h->key, "Authorization") == 0)
			ow_auth_cred(c, h->value, strlen(h->value));
}

static void answer(struct evhttp_request *req, int encoding, const ow_ingest_answer_t *a)
{
	ow_buf_t b = {0};
	ow_otlp_status(encoding, a->rpc, a->message, &b);
	ow_http_reply(req, a->http, ctype_names[encoding], b.data, b.len, a->retry_after);
	ow_buf_free(&b);
}

/* A refusal before the front has seen the request. */
static void reject(struct evhttp_request *req, int encoding, int reason)
{
	ow_ingest_answer_t a;
	ow_ingest_refuse(&ingest_src, reason, NULL, &a);
	answer(req, encoding, &a);
}

/* A refusal of a request the front has seen (a decode's message, a rate's
 * wait). */
static void reject_req(struct evhttp_request *req, const ow_ingest_req_t *in, int encoding,
		       int reason)
{
	ow_ingest_answer_t a;
	ow_ingest_refuse_req(in, reason, &a);
	answer(req, encoding, &a);
}

static void finish(http_req_t *r)
{
	pending--;
	ow_ingest_free(&r->in);
	free(r);
}

/* The batch is durable (rc OW_OK) or could not be made so. */
static void on_ack(ow_msg_t *m, int rc)
{
	http_req_t *r = (http_req_t *)m;
	if (rc == OW_OK) {
		ow_buf_t b = {0};
		ow_otlp_success(r->in.signal, r->in.encoding, &r->in.dec.rejects, &b);
		ow_http_reply(r->req, 200, ctype_names[r->in.encoding], b.data, b.len, 0);
		ow_buf_free(&b);
		ow_ingest_acked(&r->in);
	} else {
		reject(r->req, r->in.encoding, OW_IN_WAL_FAILED);
	}
	finish(r);
}

static void decoded(ow_ingest_req_t *in)
{
	http_req_t *r = (http_req_t *)in;
	if (in->reason != OW_IN_OK) {
		reject_req(r->req, in, in->encoding, in->reason);
		finish(r);
		return;
	}
	ow_ingest_store(in);
}

static int parse_ctype(const char *ct)
{
	if (ct == NULL)
		return -1;
	size_t n = strcspn(ct, "; \t");
	for (int i = 0; i < 2; i++)
		if (n == strlen(ctype_names[i]) && strncasecmp(ct, ctype_names[i], n) == 0)
			return i;
	return -1;
}

/* The request's framing: path, method, content type and encoding. */
static int framing(struct evhttp_request *req, int *signal, int encoding, int *gzip)
{
	static const char *const paths[OW_NSIGNALS] = {"/v1/traces", "/v1/logs", "/v1/metrics"};
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	for (int i = 0; i < OW_NSIGNALS; i++)
		if (path && strcmp(path, paths[i]) == 0)
			*signal = i;
	if (*signal < 0)
		return OW_IN_PATH;
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
		return OW_IN_METHOD;
	}
	if (encoding < 0)
		return OW_IN_CONTENT_TYPE;
	const char *ce =
	    evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Encoding");
	if (ce && strcasecmp(ce, "gzip") == 0)
		*gzip = 1;
	else if (ce && *ce && strcasecmp(ce, "identity") != 0)
		return OW_IN_ENCODING;
	return OW_IN_OK;
}

static void on_request(struct evhttp_request *req, void *arg)
{
	OW_UNUSED(arg);
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	int encoding = parse_ctype(evhttp_find_header(in, "Content-Type"));
	int enc = encoding < 0 ? OW_ENC_JSON : encoding;
	int signal = -1, gzip = 0;
	int why = framing(req, &signal, encoding, &gzip);
	if (why != OW_IN_OK) {
		reject(req, enc, why);
		return;
	}
	struct evbuffer *body = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(body);
	http_req_t *r = ow_calloc(1, sizeof(*r));
	ow_ingest_init(&r->in, &ingest_src);
	const char *tenant = evhttp_find_header(in, "X-Scope-OrgID");
	if (tenant)
		ow_ingest_set_tenant(&r->in, tenant, strlen(tenant));
	ow_auth_cred_t cred = {0};
	ow_http_auth_cred(req, &cred);
	why = ow_ingest_authorize(&r->in, &cred);
	if (why == OW_IN_OK)
		why = ow_ingest_admit(&r->in, len);
	if (why != OW_IN_OK) {
		reject_req(req, &r->in, enc, why);
		free(r);
		return;
	}
	r->in.t0 = ow_mono_ns();
	r->req = req;
	r->in.signal = signal;
	r->in.encoding = encoding;
	r->in.gzip = gzip;
	r->in.blen = len;
	r->in.body = ow_alloc(len);
	evbuffer_remove(body, r->in.body, len);
	why = ow_ingest_decode(&r->in);
	if (why != OW_IN_OK) {
		ow_ingest_free(&r->in);
		free(r);
		reject(req, enc, why);
		return;
	}
	pending++;
}

static int http_start(struct event_base *base)
{
	ow_wal_set_timeout(OW_SRC_HTTP, batch_timeout_ms);
	lim.max_body_bytes = max_payload_mb << 20;
	ingest_src.max = (size_t)max_payload_mb << 20;
	ingest_src.listener = ow_auth_listener("otlp_http");
	ow_tls_t *t;
	if (ow_tls_listener(&t, "otlp_http", "ingestion.http", &tls, "http/1.1") != OW_OK)
		return OW_ERROR;
	server = ow_http_server_new(base, "otlp_http", &lim, t, on_request, NULL);
	if (ow_http_server_listen(server, "OTLP/HTTP", bind_addr, port_otlp) != OW_OK ||
	    ow_http_server_listen(server, "OTLP/HTTP", bind_addr, port_legacy) != OW_OK)
		return OW_ERROR;
	return OW_OK;
}

static int http_check(char *err, size_t errlen)
{
	if (port_otlp != 0 && port_otlp == port_legacy) {
		ow_conf_error(err, errlen, ow_conf_find("ingestion.http.port"),
			      "same as ingestion.http.otlp_port");
		return OW_ERROR;
	}
	if (ow_auth_check_bind("ingestion.http.bind", bind_addr, port_otlp | port_legacy, err,
			       errlen) != OW_OK)
		return OW_ERROR;
	return ow_tls_check("ingestion.http", &tls, err, errlen);
}

static int http_busy(void)
{
	return pending > 0;
}

static void http_stop(void)
{
	ow_http_server_free(server);
	server = NULL;
}

ow_module_t ow_http_module = {
    .name = "http",
    .directives = directives,
    .check = http_check,
    .start = http_start,
    .busy = http_busy,
    .stop = http_stop,
};

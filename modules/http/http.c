/*
 * http.c - OTLP/HTTP ingest on evhttp.
 *
 * On the loop: routing, method, content type and encoding, tenant, the
 * byte budget; a rejected request costs no copy. An admitted body is
 * copied out and decoded (gunzip, protobuf unpack or JSON conversion) on a
 * worker, so bad input is never written anywhere and a large body never
 * stalls the loop. A decoded request joins a batch (wal.h); it is answered
 * when its batch is durable. Errors carry a google.rpc.Status in the
 * request's encoding (JSON when the content type was not understood):
 *   400 malformed body or invalid tenant,     413 body too large, before or
 *       JSON with too many elements               after decoding
 *   404 unknown path                          415 content type or encoding
 *   405 not POST                              503 budget (also while
 *                                                 decoding), queue, disk full,
 *                                                 draining (Retry-After)
 *
 * Connections, deadlines and the header and body sizes are enforced while
 * reading, by the listener code shared with the control API (server.c).
 */
#include "http.h"
#include "../core/batch.h"
#include "../core/log.h"
#include "../ingest/ingest.h"
#include "../otlp/otlp.h"
#include "../parquet/column.h"
#include "../storage/storage.h"
#include "../wal/wal.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <strings.h>

static char *bind_addr;
static int64_t port_legacy, port_otlp, max_payload_mb, batch_timeout_ms;
static ow_http_limits_t lim;

static ow_directive_t directives[] = {
    {"ingestion.http.bind", OW_CONF_STR, &bind_addr, 0, 255, "127.0.0.1", NULL, 0},
    {"ingestion.http.otlp_port", OW_CONF_INT, &port_otlp, 0, 65535, "4318", NULL, 0},
    {"ingestion.http.port", OW_CONF_INT, &port_legacy, 0, 65535, "9087", NULL, 0},
    {"ingestion.http.max_payload_size_mb", OW_CONF_INT, &max_payload_mb, 1, 1024, "16", NULL, 0},
    OW_HTTP_LIMIT_DIRECTIVES("ingestion.http", lim, "4096", "1024"),
    {"ingestion.http.batching.batch_timeout_ms", OW_CONF_INT, &batch_timeout_ms, 0, 60000, "100",
     NULL, 0},
    OW_CONF_END};

typedef struct {
	ow_msg_t msg;
	ow_job_t job;
	/* Valid until answered: when the client goes away first, libevent
	 * detaches the request from its connection and evhttp_send_reply()
	 * then just frees it. */
	struct evhttp_request *req;
	int signal, encoding, gzip;
	char tenant[OW_TENANT_MAX + 1];
	uint8_t *body;
	size_t blen;
	int rc;
	int code; /* HTTP status of a decode failure */
	ow_otlp_req_t dec;
	int64_t t0;
} http_req_t;

static ow_http_server_t *server;
static int draining;
static uint64_t pending; /* admitted requests not yet answered */

static const char *const ctype_names[] = {"application/x-protobuf", "application/json"};

void ow_http_reply(struct evhttp_request *req, int code, const char *ctype, const void *body,
		   size_t len, int retry_after)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Content-Type", ctype);
	if (retry_after > 0) {
		char s[16];
		snprintf(s, sizeof(s), "%d", retry_after);
		evhttp_add_header(h, "Retry-After", s);
	}
	struct evbuffer *b = evbuffer_new();
	evbuffer_add(b, body, len);
	evhttp_send_reply(req, code, NULL, b);
	evbuffer_free(b);
}

static void reject(struct evhttp_request *req, int encoding, int code, int rpc, int reason,
		   const char *msg)
{
	ow_buf_t b = {0};
	ow_ingest_rejected(reason);
	ow_otlp_status(encoding, rpc, msg, &b);
	ow_http_reply(req, code, ctype_names[encoding], b.data, b.len, code == 503 ? 1 : 0);
	ow_buf_free(&b);
}

static void finish(http_req_t *r)
{
	pending--;
	free(r->body);
	ow_otlp_req_free(&r->dec);
	free(r);
}

/* The batch is durable (rc OW_OK) or could not be made so. */
static void on_ack(ow_msg_t *m, int rc)
{
	http_req_t *r = (http_req_t *)m;
	if (rc == OW_OK) {
		ow_buf_t b = {0};
		ow_otlp_success(r->signal, r->encoding, &r->dec.rejects, &b);
		ow_http_reply(r->req, 200, ctype_names[r->encoding], b.data, b.len, 0);
		ow_buf_free(&b);
		ow_ingest_answered(r->t0);
		ow_ingest_accepted(r->tenant, r->signal, r->msg.records, r->dec.rejects.n,
				   r->msg.len);
	} else {
		reject(r->req, r->encoding, 503, OW_RPC_UNAVAILABLE, OW_REJ_WAL_FAILED,
		       "the write-ahead log could not store the request; retry");
	}
	r->dec.payload = NULL; /* freed with the batch */
	r->dec.table = NULL;
	finish(r);
}

static void decode_work(ow_job_t *j)
{
	http_req_t *r = (http_req_t *)((char *)j - offsetof(http_req_t, job));
	uint8_t *body = r->body;
	size_t len = r->blen;
	r->body = NULL;
	int rc = ow_otlp_decode_body(r->signal, r->encoding, r->gzip, body, len,
				     (size_t)max_payload_mb << 20,
				     "ingestion.http.max_payload_size_mb", &r->dec);
	r->rc = rc == OW_OK ? OW_OK : OW_ERROR;
	r->code = rc == OW_NOSPACE ? 413 : rc == OW_AGAIN ? 503 : 400;
}

static void decode_done(ow_job_t *j)
{
	http_req_t *r = (http_req_t *)((char *)j - offsetof(http_req_t, job));
	if (r->rc != OW_OK) {
		ow_budget_release(r->msg.charged);
		reject(r->req, r->encoding, r->code,
		       r->code == 413	? OW_RPC_RESOURCE_EXHAUSTED
		       : r->code == 503 ? OW_RPC_UNAVAILABLE
					: OW_RPC_INVALID_ARGUMENT,
		       r->code == 413	? OW_REJ_TOO_LARGE
		       : r->code == 503 ? OW_REJ_BUDGET
					: OW_REJ_BAD_REQUEST,
		       r->dec.error);
		finish(r);
		return;
	}
	ow_otlp_to_msg(&r->dec, &r->msg);
	r->msg.ack = on_ack;
	ow_wal_add(&r->msg, r->tenant, r->signal, OW_SRC_HTTP);
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

static void on_request(struct evhttp_request *req, void *arg)
{
	OW_UNUSED(arg);
	static const char *const paths[OW_NSIGNALS] = {"/v1/traces", "/v1/logs", "/v1/metrics"};
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	int signal = -1;
	for (int i = 0; i < OW_NSIGNALS; i++)
		if (path && strcmp(path, paths[i]) == 0)
			signal = i;
	int encoding = parse_ctype(evhttp_find_header(in, "Content-Type"));
	int enc = encoding < 0 ? OW_ENC_JSON : encoding;
	if (signal < 0) {
		reject(req, enc, 404, OW_RPC_NOT_FOUND, OW_REJ_NOT_FOUND,
		       "not found: OTLP/HTTP paths are /v1/traces, /v1/logs and /v1/metrics");
		return;
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
		reject(req, enc, 405, OW_RPC_UNIMPLEMENTED, OW_REJ_METHOD,
		       "method not allowed: use POST");
		return;
	}
	if (encoding < 0) {
		reject(req, enc, 415, OW_RPC_INVALID_ARGUMENT, OW_REJ_MEDIA_TYPE,
		       "unsupported content type: use application/x-protobuf or application/json");
		return;
	}
	const char *ce = evhttp_find_header(in, "Content-Encoding");
	int gzip = 0;
	if (ce && strcasecmp(ce, "gzip") == 0)
		gzip = 1;
	else if (ce && *ce && strcasecmp(ce, "identity") != 0) {
		reject(req, enc, 415, OW_RPC_INVALID_ARGUMENT, OW_REJ_MEDIA_TYPE,
		       "unsupported content encoding: use gzip or none");
		return;
	}
	const char *tenant = evhttp_find_header(in, "X-Scope-OrgID");
	if (tenant == NULL)
		tenant = "default";
	if (!ow_tenant_valid(tenant, strlen(tenant))) {
		reject(req, enc, 400, OW_RPC_INVALID_ARGUMENT, OW_REJ_INVALID_TENANT,
		       "invalid tenant in X-Scope-OrgID: use 1 to 64 of [A-Za-z0-9._-], not . "
		       "or ..");
		return;
	}
	if (draining) {
		reject(req, enc, 503, OW_RPC_UNAVAILABLE, OW_REJ_DRAINING,
		       "server is shutting down; retry");
		return;
	}
	if (ow_wal_disk_full()) {
		reject(req, enc, 503, OW_RPC_UNAVAILABLE, OW_REJ_DISK_FULL,
		       "disk full: the write-ahead log cannot take data; retry");
		return;
	}
	if (ow_storage_full()) {
		reject(req, enc, 503, OW_RPC_UNAVAILABLE, OW_REJ_BUFFER_FULL,
		       "buffers full (memory.max_buffer_bytes) until a flush to Parquet; retry");
		return;
	}
	struct evbuffer *body = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(body);
	if (len > (size_t)max_payload_mb << 20) {
		reject(req, enc, 413, OW_RPC_RESOURCE_EXHAUSTED, OW_REJ_TOO_LARGE,
		       "body is larger than ingestion.http.max_payload_size_mb");
		return;
	}
	if (ow_budget_take(len) != OW_OK) {
		reject(req, enc, 503, OW_RPC_UNAVAILABLE, OW_REJ_BUDGET,
		       "in-flight memory budget exhausted; retry");
		return;
	}
	http_req_t *r = ow_calloc(1, sizeof(*r));
	r->t0 = ow_mono_ns();
	r->req = req;
	r->signal = signal;
	r->encoding = encoding;
	r->gzip = gzip;
	snprintf(r->tenant, sizeof(r->tenant), "%s", tenant);
	r->msg.charged = len;
	r->blen = len;
	r->body = ow_alloc(len);
	evbuffer_remove(body, r->body, len);
	r->job.work = decode_work;
	r->job.done = decode_done;
	if (ow_work_submit(&r->job) != OW_OK) {
		ow_budget_release(len);
		free(r->body);
		free(r);
		reject(req, enc, 503, OW_RPC_UNAVAILABLE, OW_REJ_QUEUE_FULL,
		       "decode queue full; retry");
		return;
	}
	pending++;
}

static int http_start(struct event_base *base)
{
	ow_wal_set_timeout(OW_SRC_HTTP, batch_timeout_ms);
	lim.max_body_bytes = max_payload_mb << 20;
	server = ow_http_server_new(base, "otlp_http", &lim, on_request, NULL);
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
	return OW_OK;
}

static void http_drain(void)
{
	draining = 1;
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
    .drain = http_drain,
    .busy = http_busy,
    .stop = http_stop,
};

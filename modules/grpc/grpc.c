/*
 * grpc.c - OTLP/gRPC ingest on nghttp2: h2c with prior knowledge, or h2
 * over TLS with ALPN "h2" (ingestion.grpc.tls.*, modules/tls).
 *
 * One bufferevent and one nghttp2 server session per connection. A
 * stream's headers are checked when they end (path, method, content type,
 * grpc-encoding, grpc-timeout; then the token, metadata authorization:
 * Bearer, which decides the tenant; then the ingest front's admission in
 * modules/ingest: tenant, draining, disk and buffers full); a rejected
 * stream is answered at once and its data dropped. Admitted data passes the
 * front's size and budget checks as it arrives; at the end of the stream
 * the one length-prefixed gRPC message is framed-checked on the loop and
 * then decoded by the front on a worker, like OTLP/HTTP (http.c). A decoded
 * request joins a batch (wal.h) and is answered when the batch is durable:
 * HEADERS :status 200, a DATA frame with the empty Export*ServiceResponse,
 * trailers grpc-status 0. Errors are trailers-only, grpc-message
 * percent-encoded, code and message from the front's table:
 *   3 INVALID_ARGUMENT    malformed message, grpc-timeout or tenant
 *   4 DEADLINE_EXCEEDED   the grpc-timeout passed first (below)
 *   7 PERMISSION_DENIED   the token has no write scope, or is another
 *                         tenant's
 *   8 RESOURCE_EXHAUSTED  message larger than ingestion.grpc.max_message_size
 *   12 UNIMPLEMENTED      unknown path or method
 *   14 UNAVAILABLE        budget, queue, disk or buffers full, draining, WAL
 *   16 UNAUTHENTICATED    no token, or an unknown one
 *
 * Deadlines. grpc-timeout (1 to 8 digits and a unit H M S m u n) counts
 * from the arrival of the stream's headers. A request whose deadline has
 * passed when its message is complete (its last byte, or its decoding) is
 * answered DEADLINE_EXCEEDED and not stored; so is one whose deadline
 * passes while its message is still arriving (answered at the deadline,
 * the rest dropped). A request in a WAL batch cannot be taken out of it:
 * when its deadline passes while it waits for the batch, it is answered
 * DEADLINE_EXCEEDED at the deadline (the client has given up anyway) and
 * the batch's later ack for the stream is dropped, but its records are
 * stored when the batch is durable. Such a request is at-least-once: its
 * client retries, and the records may then be stored twice. A request
 * answered OK is durable, as every acknowledged request is.
 *
 * Silent streams. A stream that receives no frame (HEADERS, DATA) for
 * ingestion.grpc.idle_timeout_ms, or has not received its whole request
 * within ingestion.grpc.request_timeout_ms of its headers, is reset
 * (RST_STREAM CANCEL, gRPC's CANCELLED to the client): the bytes it holds go
 * back to the in-flight budget, and its slot among the connection's
 * concurrent streams is free. One timer per stream, re-armed only when it
 * fires (a frame just notes its time).
 *
 * Connections. Accepted sockets pass the caps shared with the HTTP
 * listeners (core/conn.h: ingestion.grpc.max_connections, .._per_peer,
 * connections.reserved_fds) or are closed at once. One with no open
 * stream for ingestion.grpc.idle_timeout_ms is sent GOAWAY (NO_ERROR) and
 * closed once that is written; streams that fall silent are reset (above),
 * so a silent client's connection gets there too. Over TLS, one whose
 * handshake is not done by then is closed without a GOAWAY. Answers wait
 * in the connection's output buffer until the client reads them; past
 * OUT_LIMIT bytes there the connection's input is not read (no new frames,
 * so no new answers: PING and SETTINGS acknowledgements included) until
 * the output has drained. A client that stops reading thus costs at most
 * that, plus the answers of the streams already admitted (at most
 * max_concurrent_streams), and the kernel's socket buffers. A connection
 * whose output makes no progress for idle_timeout_ms is closed (libevent's
 * write timeout).
 *
 * A stream object lives until both its HTTP/2 stream is closed and its work
 * (decode, WAL) has finished; a connection that closes first detaches its
 * pending streams (their back-pointer is nulled), which are then acked into
 * the void.
 */
#include "grpc.h"
#include "../core/conn.h"
#include "../core/log.h"
#include "../core/stats.h"
#include "../ingest/ingest.h"
#include "../otlp/otlp.h"
#include "../tls/tls.h"
#include "../wal/wal.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <strings.h>
#include <sys/socket.h>

static char *bind_addr;
static int64_t port, max_message_size, max_streams, batch_timeout_ms, idle_timeout_ms;
static int64_t max_conns, max_conns_peer, request_timeout_ms;
static ow_tls_conf_t tls_conf;
static ow_tls_t *tls; /* NULL: h2c */

/* Past this many bytes of answers waiting for the client to read them, the
 * connection's input is not read until they have drained. */
#define OUT_LIMIT (1 << 20)

static ow_directive_t directives[] = {
    {"ingestion.grpc.bind", OW_CONF_STR, &bind_addr, 0, 255, "127.0.0.1", NULL, 0},
    {"ingestion.grpc.port", OW_CONF_INT, &port, 0, 65535, "4317", NULL, 0},
    {"ingestion.grpc.max_message_size", OW_CONF_INT, &max_message_size, 1024, 1073741824,
     "16777216", NULL, 0},
    {"ingestion.grpc.max_concurrent_streams", OW_CONF_INT, &max_streams, 1, 65536, "100", NULL, 0},
    {"ingestion.grpc.batching.batch_timeout_ms", OW_CONF_INT, &batch_timeout_ms, 0, 60000, "100",
     NULL, 0},
    {"ingestion.grpc.idle_timeout_ms", OW_CONF_INT, &idle_timeout_ms, 10, 86400000, "300000", NULL,
     0},
    {"ingestion.grpc.request_timeout_ms", OW_CONF_INT, &request_timeout_ms, 100, 3600000, "30000",
     NULL, 0},
    {"ingestion.grpc.max_connections", OW_CONF_INT, &max_conns, 1, 1000000, "4096", NULL, 0},
    {"ingestion.grpc.max_connections_per_peer", OW_CONF_INT, &max_conns_peer, 1, 1000000, "1024",
     NULL, 0},
    OW_TLS_DIRECTIVES("ingestion.grpc", tls_conf),
    OW_CONF_END};

typedef struct ow_grpc_conn ow_grpc_conn_t;
typedef struct ow_grpc_stream ow_grpc_stream_t;

struct ow_grpc_conn {
	struct bufferevent *bev;
	nghttp2_session *ng;
	struct event *idle_ev;	   /* pending while no stream is open */
	int nopen;		   /* HTTP/2 streams open */
	int paused;		   /* input not read until the output drains */
	ow_grpc_stream_t *streams; /* every stream object that points here */
	ow_conn_peer_t *peer;	   /* its slot under the connection caps */
	ow_grpc_conn_t *prev, *next;
};

struct ow_grpc_stream {
	ow_ingest_req_t in;   /* first: the front and the WAL's ack get it back */
	ow_grpc_conn_t *conn; /* NULL once the connection is gone */
	ow_grpc_stream_t *prev, *next;
	int32_t id;
	int open;      /* the HTTP/2 stream has not been closed */
	int in_flight; /* decoding or waiting for its batch */
	int answered;  /* a response was submitted: drop further data */
	int request;   /* the stream carries a request (not trailers only) */
	int post, ctype, bad_encoding;
	int tenant_bad; /* an x-scope-orgid it cannot hold: refused */
	int bad_timeout;
	ow_auth_cred_t cred; /* its authorization, hashed */
	int64_t deadline;    /* CLOCK_MONOTONIC ns from grpc-timeout; 0: none */
	struct event *deadline_ev;
	int64_t begun, last_frame; /* CLOCK_MONOTONIC ns: headers, latest frame */
	struct event *silence_ev;  /* idle_timeout_ms / request_timeout_ms */
	int ended;		   /* the client's half is closed */
	size_t bcap;		   /* of in.body as it is received */
	ow_buf_t resp;		   /* the framed response message, sent from resp_off */
	size_t resp_off;
};

static struct event_base *base;
static struct evconnlistener *listener;
static ow_grpc_conn_t *conns;
static ow_conn_limit_t conn_limit;
static uint64_t pending; /* streams handed to a worker, not yet acked */
/* its lines of /metrics (grpc_stats) */
static struct {
	uint64_t connections, read_pauses, idle_closed, write_timeouts;
} stats;

static const char *const paths[OW_NSIGNALS] = {
    "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
    "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"};

static void conn_close(ow_grpc_conn_t *c);
static void decoded(ow_ingest_req_t *in);
static void on_ack(ow_msg_t *m, int rc);

static ow_ingest_src_t ingest_src = {
    .source = OW_SRC_GRPC,
    .tenant_from = "x-scope-orgid",
    .accepts = "application/grpc or application/grpc+proto",
    .unit = "message",
    .limit = "ingestion.grpc.max_message_size",
    .framing = 5, /* the length prefix */
    .decoded = decoded,
    .ack = on_ack,
};

/* Frees s once nothing refers to it any more. */
static void stream_release(ow_grpc_stream_t *s)
{
	if (s->open || s->in_flight)
		return;
	if (s->conn) {
		if (s->prev)
			s->prev->next = s->next;
		else
			s->conn->streams = s->next;
		if (s->next)
			s->next->prev = s->prev;
	}
	if (s->deadline_ev)
		event_free(s->deadline_ev);
	if (s->silence_ev)
		event_free(s->silence_ev);
	ow_ingest_free(&s->in);
	ow_buf_free(&s->resp);
	free(s);
}

/* An answered stream's data is not needed any more (unless a worker has
 * it): its bytes go back to the budget at once. */
static void drop_body(ow_grpc_stream_t *s)
{
	if (s->in_flight)
		return;
	ow_ingest_free(&s->in);
	s->in.blen = s->bcap = 0;
}

/* Writes what nghttp2 has queued; closes the connection when it is done.
 * Past OUT_LIMIT bytes unread by the client, stops reading its input. */
static void conn_flush(ow_grpc_conn_t *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	for (;;) {
		const uint8_t *data;
		ssize_t n = nghttp2_session_mem_send(c->ng, &data);
		if (n < 0) {
			conn_close(c);
			return;
		}
		if (n == 0)
			break;
		evbuffer_add(out, data, (size_t)n);
	}
	size_t left = evbuffer_get_length(out);
	if (!nghttp2_session_want_read(c->ng) && !nghttp2_session_want_write(c->ng) && left == 0)
		conn_close(c);
	else if (left > OUT_LIMIT && !c->paused) {
		c->paused = 1;
		stats.read_pauses++;
		bufferevent_disable(c->bev, EV_READ);
	}
}

/* grpc-message: bytes outside printable ASCII and '%' as %XX */
static void percent_encode(const char *in, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)in; *p && o + 4 < outlen; p++) {
		if (*p < 0x20 || *p > 0x7e || *p == '%') {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		} else
			out[o++] = (char)*p;
	}
	out[o] = '\0';
}

/* base64 (RFC 4648, unpadded, as gRPC sends -bin values) of n bytes */
static void base64(const uint8_t *p, size_t n, ow_buf_t *out)
{
	static const char b[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
			     (i + 2 < n ? p[i + 2] : 0);
		char q[4] = {b[v >> 18 & 63], b[v >> 12 & 63], b[v >> 6 & 63], b[v & 63]};
		ow_buf_add(out, q, i + 2 < n ? 4 : i + 1 < n ? 3 : 2);
	}
	ow_buf_add(out, "", 1);
}

#define NV(n, v)                                                                                   \
	{                                                                                          \
		(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE     \
	}

/* A trailers-only response with an error status (once per stream);
 * detail: a decode's message (ow_ingest_refuse). Every refusal a client
 * may retry (UNAVAILABLE, and a tenant over its rate: RESOURCE_EXHAUSTED)
 * carries a RetryInfo in grpc-status-details-bin with the delay an HTTP
 * client gets in Retry-After, as OTLP's throttling asks: exporters retry
 * RESOURCE_EXHAUSTED only with one, and wait its retry_delay. */
static void answer_error(ow_grpc_stream_t *s, int reason, const char *detail)
{
	if (s->answered)
		return;
	s->answered = 1;
	ow_ingest_answer_t a;
	ow_ingest_refuse(&ingest_src, reason, detail, &a);
	if (reason == OW_IN_RATE)
		a.retry_after = s->in.retry_after;
	drop_body(s);
	if (s->conn == NULL || !s->open)
		return;
	char status[8], enc[512];
	snprintf(status, sizeof(status), "%d", a.rpc);
	percent_encode(a.message, enc, sizeof(enc));
	ow_buf_t st = {0}, b64 = {0};
	if (a.retry_after > 0) {
		ow_otlp_status_retry(a.rpc, a.message, a.retry_after, &st);
		base64(st.data, st.len, &b64);
	}
	nghttp2_nv h[] = {NV(":status", "200"), NV("content-type", "application/grpc"),
			  NV("grpc-status", status), NV("grpc-message", enc),
			  NV("grpc-status-details-bin", b64.len ? (char *)b64.data : "")};
	nghttp2_submit_response(s->conn->ng, s->id, h, OW_NELEMS(h) - !b64.len, NULL);
	ow_buf_free(&st);
	ow_buf_free(&b64);
}

static ssize_t success_read(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t len,
			    uint32_t *flags, nghttp2_data_source *src, void *arg)
{
	OW_UNUSED(arg);
	ow_grpc_stream_t *s = src->ptr;
	size_t left = s->resp.len - s->resp_off;
	size_t n = left < len ? left : len;
	memcpy(buf, s->resp.data + s->resp_off, n);
	s->resp_off += n;
	if (left == n) {
		*flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
		nghttp2_nv t[] = {NV("grpc-status", "0")};
		if (nghttp2_submit_trailer(ng, id, t, OW_NELEMS(t)) != 0)
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	}
	return (ssize_t)n;
}

/* Returns 0 when the stream had an answer already (or no client). */
static int answer_ok(ow_grpc_stream_t *s)
{
	if (s->conn == NULL || !s->open || s->answered)
		return 0;
	s->answered = 1;
	/* one length-prefixed message, not compressed: flag 0, length */
	uint8_t prefix[5] = {0};
	ow_buf_add(&s->resp, prefix, 5);
	ow_otlp_success(s->in.signal, OW_ENC_PROTOBUF, &s->in.dec.rejects, &s->resp);
	size_t n = s->resp.len - 5;
	s->resp.data[1] = (uint8_t)(n >> 24);
	s->resp.data[2] = (uint8_t)(n >> 16);
	s->resp.data[3] = (uint8_t)(n >> 8);
	s->resp.data[4] = (uint8_t)n;
	nghttp2_nv h[] = {NV(":status", "200"), NV("content-type", "application/grpc")};
	nghttp2_data_provider dp = {.source.ptr = s, .read_callback = success_read};
	nghttp2_submit_response(s->conn->ng, s->id, h, OW_NELEMS(h), &dp);
	return 1;
}

static struct timeval timeval_ns(int64_t ns)
{
	return (struct timeval){(time_t)(ns / 1000000000), (suseconds_t)(ns % 1000000000 / 1000)};
}

int64_t ow_grpc_timeout(const char *v, size_t len)
{
	static const char units[] = "HMSmun";
	static const int64_t unit_ns[] = {3600000000000, 60000000000, 1000000000, 1000000, 1000, 1};
	if (len < 2 || len > 9)
		return -1;
	int64_t x = 0;
	for (size_t i = 0; i + 1 < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		x = x * 10 + (v[i] - '0');
	}
	const char *u = memchr(units, v[len - 1], sizeof(units) - 1);
	if (u == NULL)
		return -1;
	/* past ten years, 99999999H would overflow: no deadline */
	int64_t max = 10 * 365 * 86400000000000LL;
	return x > max / unit_ns[u - units] ? 0 : OW_MAX(x * unit_ns[u - units], 1);
}

static int deadline_passed(const ow_grpc_stream_t *s)
{
	return s->deadline && ow_mono_ns() >= s->deadline;
}

static void deadline_exceeded(ow_grpc_stream_t *s)
{
	answer_error(s, OW_IN_DEADLINE, NULL);
}

/* The deadline passed first: the client has given up, answer now. A
 * request still waiting for its WAL batch stays in it (its later ack finds
 * the stream answered) and may be stored all the same. */
static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	OW_UNUSED(fd);
	OW_UNUSED(what);
	ow_grpc_stream_t *s = arg;
	ow_grpc_conn_t *c = s->conn;
	if (c == NULL || !s->open)
		return;
	deadline_exceeded(s);
	conn_flush(c);
}

/* The batch is durable (rc OW_OK) or could not be made so. */
static void on_ack(ow_msg_t *m, int rc)
{
	ow_grpc_stream_t *s = (ow_grpc_stream_t *)m;
	ow_grpc_conn_t *c = s->conn;
	pending--;
	if (rc == OW_OK) {
		if (answer_ok(s))
			ow_ingest_acked(&s->in);
	} else {
		answer_error(s, OW_IN_WAL_FAILED, NULL);
	}
	s->in_flight = 0;
	stream_release(s);
	if (c)
		conn_flush(c);
}

static void decoded(ow_ingest_req_t *in)
{
	ow_grpc_stream_t *s = (ow_grpc_stream_t *)in;
	ow_grpc_conn_t *c = s->conn;
	/* answered meanwhile (the deadline), or past it now: not stored */
	if (in->reason != OW_IN_OK || s->answered || deadline_passed(s)) {
		pending--;
		s->in_flight = 0;
		if (in->reason != OW_IN_OK)
			answer_error(s, in->reason, in->dec.error);
		else
			deadline_exceeded(s);
		stream_release(s);
		if (c)
			conn_flush(c);
		return;
	}
	ow_ingest_store(in);
}

/* The headers are complete: everything that can be refused before data. */
static void check_headers(ow_grpc_stream_t *s)
{
	int why = s->in.signal < 0  ? OW_IN_RPC_PATH
		  : !s->post	    ? OW_IN_RPC_METHOD
		  : !s->ctype	    ? OW_IN_CONTENT_TYPE
		  : s->bad_encoding ? OW_IN_RPC_ENCODING
		  : s->bad_timeout  ? OW_IN_TIMEOUT
				    : ow_ingest_authorize(&s->in, &s->cred);
	if (why == OW_IN_OK)
		why = ow_ingest_admit(&s->in, 0);
	if (why != OW_IN_OK) {
		answer_error(s, why, s->in.dec.error); /* a rate's message */
	} else if (s->deadline) {
		struct timeval tv = timeval_ns(OW_MAX(s->deadline - ow_mono_ns(), 0));
		s->deadline_ev = evtimer_new(base, on_deadline, s);
		evtimer_add(s->deadline_ev, &tv);
	}
}

int ow_grpc_unframe(uint8_t *body, size_t *len, size_t max, int *gzip)
{
	if (*len < 5)
		return OW_IN_FRAMING;
	uint32_t n =
	    (uint32_t)body[1] << 24 | (uint32_t)body[2] << 16 | (uint32_t)body[3] << 8 | body[4];
	if (n > max)
		return OW_IN_TOO_LARGE;
	if (n != *len - 5 || body[0] > 1)
		return OW_IN_FRAMING;
	int compressed = body[0]; /* the flag, before the payload moves over it */
	if (!compressed)
		*gzip = 0;
	memmove(body, body + 5, n);
	*len = n;
	return compressed && !*gzip ? OW_IN_COMPRESSED : OW_IN_OK;
}

/* The client's half of the stream has ended: check the framing, decode. */
static void end_request(ow_grpc_stream_t *s)
{
	s->ended = 1;
	if (s->answered)
		return;
	if (deadline_passed(s)) {
		deadline_exceeded(s);
		return;
	}
	int why = ow_grpc_unframe(s->in.body, &s->in.blen, ingest_src.max, &s->in.gzip);
	if (why == OW_IN_OK) {
		s->in.t0 = ow_mono_ns();
		why = ow_ingest_decode(&s->in);
	}
	if (why != OW_IN_OK) {
		answer_error(s, why, NULL);
		return;
	}
	s->in_flight = 1;
	pending++;
}

/* The stream's next check: its idle time or its receive deadline. */
static void silence_arm(ow_grpc_stream_t *s, int64_t now)
{
	int64_t at = OW_MIN(s->last_frame + idle_timeout_ms * 1000000,
			    s->begun + request_timeout_ms * 1000000);
	struct timeval tv = timeval_ns(OW_MAX(at - now, 0));
	evtimer_add(s->silence_ev, &tv);
}

/* A stream still receiving its request that is silent for idle_timeout_ms
 * or past request_timeout_ms: reset, its bytes freed. */
static void on_silence(evutil_socket_t fd, short what, void *arg)
{
	OW_UNUSED(fd);
	OW_UNUSED(what);
	ow_grpc_stream_t *s = arg;
	ow_grpc_conn_t *c = s->conn;
	if (c == NULL || !s->open || s->ended || s->in_flight)
		return;
	int64_t now = ow_mono_ns();
	int which;
	if (now >= s->begun + request_timeout_ms * 1000000)
		which = OW_DL_RECEIVE;
	else if (now >= s->last_frame + idle_timeout_ms * 1000000)
		which = OW_DL_IDLE;
	else {
		silence_arm(s, now);
		return;
	}
	conn_limit.deadline[which]++;
	/* a reset alone: a trailers-only answer followed by RST_STREAM is not
	 * seen by every client (Node's drops it), CANCEL is (gRPC's CANCELLED,
	 * which OTLP exporters retry) */
	if (!s->answered) {
		ow_ingest_answer_t a;
		s->answered = 1;
		ow_ingest_refuse(&ingest_src, OW_IN_DEADLINE, NULL, &a);
	}
	drop_body(s);
	nghttp2_submit_rst_stream(c->ng, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_CANCEL);
	conn_flush(c);
}

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *f, void *arg)
{
	ow_grpc_conn_t *c = arg;
	if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	ow_grpc_stream_t *s = ow_calloc(1, sizeof(*s));
	s->conn = c;
	s->id = f->hd.stream_id;
	s->open = 1;
	s->request = 1;
	ow_ingest_init(&s->in, &ingest_src);
	s->in.encoding = OW_ENC_PROTOBUF;
	s->next = c->streams;
	if (c->streams)
		c->streams->prev = s;
	c->streams = s;
	nghttp2_session_set_stream_user_data(ng, s->id, s);
	if (c->nopen++ == 0)
		evtimer_del(c->idle_ev);
	s->begun = s->last_frame = ow_mono_ns();
	s->silence_ev = evtimer_new(base, on_silence, s);
	silence_arm(s, s->begun);
	return 0;
}

static int hdr_is(const uint8_t *name, size_t len, const char *want)
{
	return len == strlen(want) && memcmp(name, want, len) == 0;
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *f, const uint8_t *name,
		     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
		     void *arg)
{
	OW_UNUSED(flags);
	OW_UNUSED(arg);
	if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	ow_grpc_stream_t *s = nghttp2_session_get_stream_user_data(ng, f->hd.stream_id);
	if (s == NULL)
		return 0;
	const char *v = (const char *)value;
	if (hdr_is(name, namelen, ":path")) {
		for (int i = 0; i < OW_NSIGNALS; i++)
			if (valuelen == strlen(paths[i]) && memcmp(v, paths[i], valuelen) == 0)
				s->in.signal = i;
	} else if (hdr_is(name, namelen, ":method")) {
		s->post = valuelen == 4 && memcmp(v, "POST", 4) == 0;
	} else if (hdr_is(name, namelen, "content-type")) {
		size_t n = strcspn(v, "; \t");
		if (n > valuelen)
			n = valuelen;
		s->ctype = (n == 16 && strncasecmp(v, "application/grpc", n) == 0) ||
			   (n == 22 && strncasecmp(v, "application/grpc+proto", n) == 0);
	} else if (hdr_is(name, namelen, "grpc-encoding")) {
		if (valuelen == 4 && strncasecmp(v, "gzip", 4) == 0)
			s->in.gzip = 1;
		else if (!(valuelen == 8 && strncasecmp(v, "identity", 8) == 0))
			s->bad_encoding = 1;
	} else if (hdr_is(name, namelen, "grpc-timeout")) {
		int64_t ns = ow_grpc_timeout(v, valuelen);
		if (ns < 0)
			s->bad_timeout = 1;
		else if (ns > 0)
			s->deadline = ow_mono_ns() + ns;
	} else if (hdr_is(name, namelen, "authorization")) {
		ow_auth_cred(&s->cred, v, valuelen);
	} else if (hdr_is(name, namelen, "x-scope-orgid")) {
		if (!s->tenant_bad) {
			ow_ingest_set_tenant(&s->in, v, valuelen);
			s->tenant_bad = s->in.tenant[0] == '\0';
		}
	}
	return 0;
}

static int on_data_chunk(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data,
			 size_t len, void *arg)
{
	OW_UNUSED(flags);
	OW_UNUSED(arg);
	ow_grpc_stream_t *s = nghttp2_session_get_stream_user_data(ng, id);
	if (s == NULL)
		return 0;
	s->last_frame = ow_mono_ns();
	if (s->answered || s->in_flight)
		return 0;
	int why = ow_ingest_admit(&s->in, len);
	if (why != OW_IN_OK) {
		answer_error(s, why, s->in.dec.error);
		return 0;
	}
	if (s->in.blen + len > s->bcap) {
		size_t cap = s->bcap ? s->bcap : 4096;
		while (cap < s->in.blen + len)
			cap *= 2;
		s->in.body = ow_realloc(s->in.body, cap);
		s->bcap = cap;
	}
	memcpy(s->in.body + s->in.blen, data, len);
	s->in.blen += len;
	return 0;
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *f, void *arg)
{
	OW_UNUSED(arg);
	if (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA)
		return 0;
	ow_grpc_stream_t *s = nghttp2_session_get_stream_user_data(ng, f->hd.stream_id);
	if (s == NULL)
		return 0;
	s->last_frame = ow_mono_ns();
	if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST)
		check_headers(s);
	if ((f->hd.flags & NGHTTP2_FLAG_END_STREAM) && !s->in_flight)
		end_request(s);
	return 0;
}

static void idle_arm(ow_grpc_conn_t *c)
{
	struct timeval tv = timeval_ns(idle_timeout_ms * 1000000);
	evtimer_add(c->idle_ev, &tv);
}

static int on_stream_close(nghttp2_session *ng, int32_t id, uint32_t err, void *arg)
{
	OW_UNUSED(err);
	ow_grpc_conn_t *c = arg;
	ow_grpc_stream_t *s = nghttp2_session_get_stream_user_data(ng, id);
	if (s == NULL)
		return 0;
	nghttp2_session_set_stream_user_data(ng, id, NULL);
	s->open = 0;
	stream_release(s);
	if (--c->nopen == 0)
		idle_arm(c);
	return 0;
}

/* No stream for idle_timeout_ms: GOAWAY (NO_ERROR), and the connection
 * closes once it is sent. */
static void on_idle(evutil_socket_t fd, short what, void *arg)
{
	OW_UNUSED(fd);
	OW_UNUSED(what);
	ow_grpc_conn_t *c = arg;
	if (!nghttp2_session_want_read(c->ng))
		return; /* closing already */
	stats.idle_closed++;
	if (tls && !ow_tls_established(c->bev)) {
		conn_close(c); /* no GOAWAY before a handshake */
		return;
	}
	nghttp2_session_terminate_session(c->ng, NGHTTP2_NO_ERROR);
	conn_flush(c);
}

static void conn_close(ow_grpc_conn_t *c)
{
	if (c->ng == NULL)
		return; /* already closing */
	nghttp2_session *ng = c->ng;
	c->ng = NULL;
	/* detach every stream: those in flight are acked into the void */
	ow_grpc_stream_t *s = c->streams;
	while (s) {
		ow_grpc_stream_t *next = s->next;
		if (s->open)
			nghttp2_session_set_stream_user_data(ng, s->id, NULL);
		s->conn = NULL;
		s->prev = s->next = NULL;
		s->open = 0;
		stream_release(s);
		s = next;
	}
	c->streams = NULL;
	nghttp2_session_del(ng);
	event_free(c->idle_ev);
	if (tls)
		ow_tls_closed(tls, c->bev);
	bufferevent_free(c->bev);
	ow_conn_release(&conn_limit, c->peer);
	stats.connections--;
	if (c->prev)
		c->prev->next = c->next;
	else
		conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	ow_grpc_conn_t *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	if (evbuffer_get_length(in) == 0)
		return;
	size_t len = evbuffer_get_length(in);
	unsigned char *data = evbuffer_pullup(in, -1);
	ssize_t n = nghttp2_session_mem_recv(c->ng, data, len);
	if (n < 0) {
		ow_log(OW_LOG_DEBUG, "OTLP/gRPC: connection error: %s", nghttp2_strerror((int)n));
		conn_close(c);
		return;
	}
	evbuffer_drain(in, (size_t)n);
	conn_flush(c);
}

/* The output has drained: close a finished connection, or read again. */
static void on_write(struct bufferevent *bev, void *arg)
{
	ow_grpc_conn_t *c = arg;
	if (evbuffer_get_length(bufferevent_get_output(bev)) != 0)
		return;
	if (!nghttp2_session_want_read(c->ng) && !nghttp2_session_want_write(c->ng)) {
		conn_close(c);
	} else if (c->paused) {
		c->paused = 0;
		bufferevent_enable(bev, EV_READ);
		on_read(bev, c); /* what arrived before the pause */
	}
}

/* A write timeout is idle_timeout_ms without write progress: a client
 * that does not read its answers. */
static void on_event(struct bufferevent *bev, short what, void *arg)
{
	OW_UNUSED(bev);
	if (what & BEV_EVENT_TIMEOUT)
		stats.write_timeouts++;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		conn_close(arg);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
		      void *arg)
{
	OW_UNUSED(salen);
	OW_UNUSED(arg);
	OW_UNUSED(l);
	ow_conn_peer_t *peer = ow_conn_admit(&conn_limit, sa);
	if (peer == NULL) {
		evutil_closesocket(fd);
		return;
	}
	ow_grpc_conn_t *c = ow_calloc(1, sizeof(*c));
	c->peer = peer;
	c->bev = tls ? ow_tls_bufferevent(tls, base, fd)
		     : bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		evutil_closesocket(fd);
		ow_conn_release(&conn_limit, peer);
		free(c);
		return;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	nghttp2_session_callbacks *cb;
	nghttp2_session_callbacks_new(&cb);
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
	int rc = nghttp2_session_server_new(&c->ng, cb, c);
	nghttp2_session_callbacks_del(cb);
	if (rc != 0) {
		bufferevent_free(c->bev);
		ow_conn_release(&conn_limit, peer);
		free(c);
		return;
	}
	nghttp2_settings_entry iv[] = {
	    {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, (uint32_t)max_streams},
	    {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20},
	};
	nghttp2_submit_settings(c->ng, NGHTTP2_FLAG_NONE, iv, OW_NELEMS(iv));
	c->next = conns;
	if (conns)
		conns->prev = c;
	conns = c;
	stats.connections++;
	c->idle_ev = evtimer_new(base, on_idle, c);
	idle_arm(c);
	struct timeval wt = timeval_ns(idle_timeout_ms * 1000000);
	bufferevent_set_timeouts(c->bev, NULL, &wt);
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	conn_flush(c);
}

static int grpc_start(struct event_base *b)
{
	base = b;
	ow_wal_set_timeout(OW_SRC_GRPC, batch_timeout_ms);
	ingest_src.max = (size_t)max_message_size;
	ingest_src.listener = ow_auth_listener("otlp_grpc");
	if (port == 0)
		return OW_OK;
	ow_conn_limit_init(&conn_limit, "otlp_grpc", max_conns, max_conns_peer);
	if (ow_tls_listener(&tls, "otlp_grpc", "ingestion.grpc", &tls_conf, "h2") != OW_OK)
		return OW_ERROR;
	struct evutil_addrinfo hints = {0}, *ai = NULL;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	char ps[8];
	snprintf(ps, sizeof(ps), "%d", (int)port);
	int rc = evutil_getaddrinfo(bind_addr, ps, &hints, &ai);
	if (rc != 0 || ai == NULL) {
		ow_log(OW_LOG_CRIT, "OTLP/gRPC: cannot resolve %s: %s", bind_addr,
		       evutil_gai_strerror(rc));
		return OW_ERROR;
	}
	listener = evconnlistener_new_bind(base, on_accept, NULL,
					   LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
					       LEV_OPT_CLOSE_ON_EXEC,
					   -1, ai->ai_addr, (int)ai->ai_addrlen);
	evutil_freeaddrinfo(ai);
	if (listener == NULL) {
		ow_log(OW_LOG_CRIT, "OTLP/gRPC: cannot listen on %s:%lld: %s", bind_addr,
		       (long long)port, strerror(errno));
		return OW_ERROR;
	}
	ow_log(OW_LOG_INFO, "OTLP/gRPC listening on %s:%lld (%s)", bind_addr, (long long)port,
	       tls ? "TLS, ALPN h2" : "h2c");
	return OW_OK;
}

static void grpc_drain(void)
{
	/* tell clients to open no new streams here; those in flight finish */
	ow_grpc_conn_t *next;
	for (ow_grpc_conn_t *c = conns; c; c = next) {
		next = c->next; /* conn_flush may close c */
		nghttp2_submit_shutdown_notice(c->ng);
		conn_flush(c);
	}
}

static int grpc_busy(void)
{
	return pending > 0;
}

static void grpc_stop(void)
{
	if (listener)
		evconnlistener_free(listener);
	listener = NULL;
	while (conns)
		conn_close(conns);
	ow_tls_free(tls);
	tls = NULL;
	if (port != 0)
		ow_conn_limit_done(&conn_limit);
}

static void grpc_stats(ow_buf_t *b)
{
	ow_metric_one(b, "openwit_grpc_connections", "gauge", "Open OTLP/gRPC connections.",
		      stats.connections);
	ow_metric_one(b, "openwit_grpc_read_pauses_total", "counter",
		      "Times a gRPC connection's reading stopped until its answers drained.",
		      stats.read_pauses);
	ow_metric_one(b, "openwit_grpc_idle_closed_total", "counter",
		      "gRPC connections closed after ingestion.grpc.idle_timeout_ms without "
		      "streams.",
		      stats.idle_closed);
	ow_metric_one(b, "openwit_grpc_write_timeouts_total", "counter",
		      "gRPC connections closed after ingestion.grpc.idle_timeout_ms without write "
		      "progress.",
		      stats.write_timeouts);
}

static int grpc_check(char *err, size_t errlen)
{
	if (ow_auth_check_bind("ingestion.grpc.bind", bind_addr, port, err, errlen) != OW_OK)
		return OW_ERROR;
	return ow_tls_check("ingestion.grpc", &tls_conf, err, errlen);
}

ow_module_t ow_grpc_module = {
    .name = "grpc",
    .directives = directives,
    .check = grpc_check,
    .start = grpc_start,
    .drain = grpc_drain,
    .busy = grpc_busy,
    .stop = grpc_stop,
    .stats = grpc_stats,
};

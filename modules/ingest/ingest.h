/*
 * ingest.h - the ingest front: what the three sources (OTLP/HTTP in
 * modules/http, OTLP/gRPC in modules/grpc, Kafka in modules/kafka) share
 * between their framing and their answers. A source keeps what is its own:
 * reading its protocol, and answering in its format.
 *
 * A request, on the loop thread:
 *   ow_ingest_init      its source, tenant "default"
 *   ow_ingest_authorize its token (modules/auth) decides its tenant:
 *                       OW_IN_OK, or the reason it is refused (401, 403)
 *   ow_ingest_admit     for each piece of the body it takes: OW_IN_OK, or
 *                       the reason it is refused
 *   ow_ingest_decode    the whole body to a worker: gunzip, decode and
 *                       validate into columns (modules/otlp); the source's
 *                       decoded() gets it back on the loop, r->reason set
 *   ow_ingest_store     the decoded request into a WAL batch; the source's
 *                       ack() answers once the batch is durable
 *   ow_ingest_acked     counts it as acknowledged
 *   ow_ingest_free      what it still holds
 * A refusal goes through ow_ingest_refuse: one table gives each reason its
 * HTTP status, gRPC code, message and counter (openwit_rejected_requests_total).
 * The control API takes its token refusals' answers from the same table
 * (ow_ingest_answer), uncounted there: they are no ingest.
 *
 * The front's limits (limits.*, ingest.c):
 *   tenants     at most limits.max_tenants tenants (those with data on disk
 *               at start count): a request for another is refused (403,
 *               gRPC RESOURCE_EXHAUSTED: no retry helps; a Kafka message
 *               goes to the dead letters) and creates nothing
 *   rates       per tenant, records/s and bytes/s, token buckets of one
 *               second's worth that a request may overdraw: a request
 *               while a bucket is overdrawn gets 429 with Retry-After (gRPC
 *               RESOURCE_EXHAUSTED with a RetryInfo; Kafka pauses and tries
 *               again); off by default
 *   times       the window of record times, applied while decoding
 *               (columns.h) what comes over HTTP and gRPC; never to replay,
 *               nor to Kafka, whose records the broker has acknowledged
 */
#ifndef OW_INGEST_H
#define OW_INGEST_H

#include "../auth/auth.h"
#include "../core/batch.h"
#include "../core/module.h"
#include "../otlp/otlp.h"

/* Why a request is refused (or OW_IN_OK). */
enum ow_ingest_reason {
	OW_IN_OK,
	/* the source's framing */
	OW_IN_PATH,	    /* HTTP: not an OTLP path */
	OW_IN_METHOD,	    /* HTTP: not POST */
	OW_IN_RPC_PATH,	    /* gRPC: not an OTLP method */
	OW_IN_RPC_METHOD,   /* gRPC: not POST */
	OW_IN_CONTENT_TYPE, /* not one of src->accepts */
	OW_IN_ENCODING,	    /* HTTP: Content-Encoding not gzip or identity */
	OW_IN_RPC_ENCODING, /* gRPC: grpc-encoding not gzip or identity */
	OW_IN_TIMEOUT,	    /* gRPC: malformed grpc-timeout */
	OW_IN_FRAMING,	    /* gRPC: not one length-prefixed message */
	OW_IN_COMPRESSED,   /* gRPC: a compressed message without gzip */
	/* ow_ingest_authorize (and the control API's routes) */
	OW_IN_NO_TOKEN,
	OW_IN_BAD_TOKEN,
	OW_IN_NO_WRITE, /* a token without the scope the route needs */
	OW_IN_NO_READ,
	OW_IN_NO_ADMIN,
	OW_IN_OTHER_TENANT, /* a tenant's token, another tenant asked for */
	OW_IN_ALL_TENANTS,  /* a tenant's token on a route of every tenant */
	/* ow_ingest_admit */
	OW_IN_TENANT,
	OW_IN_TENANTS, /* a new tenant past limits.max_tenants */
	OW_IN_RATE,    /* the tenant's rate bucket is overdrawn */
	OW_IN_DRAINING,
	OW_IN_DISK_FULL,
	OW_IN_BUFFER_FULL,
	OW_IN_TOO_LARGE, /* over src->max as it came */
	OW_IN_BUDGET,	 /* the in-flight byte budget is spent for now */
	OW_IN_QUEUE_FULL,
	/* decoding, with the decoder's message */
	OW_IN_MALFORMED,
	OW_IN_DECODED_TOO_LARGE, /* once inflated or decoded */
	OW_IN_DECODE_BUDGET,	 /* what decoding takes does not fit now */
	/* later */
	OW_IN_DEADLINE, /* gRPC: grpc-timeout passed */
	OW_IN_WAL_FAILED,
	OW_IN_NREASONS
};

typedef struct ow_ingest_req ow_ingest_req_t;

/* A source: what the front needs to know of it. */
typedef struct {
	int source;			     /* OW_SRC_*: whose batches it joins */
	const char *tenant_from;	     /* where it reads the tenant, for messages */
	int listener;			     /* ow_auth_listener(), set when it starts */
	const char *accepts;		     /* the content types it takes, for messages */
	const char *unit;		     /* what its size limit counts: "body", "message" */
	const char *limit;		     /* the setting of that limit */
	size_t max;			     /* its value in bytes, set when the source starts */
	size_t framing;			     /* bytes a body carries beyond max (gRPC's prefix) */
	void (*decoded)(ow_ingest_req_t *r); /* on the loop, r->reason set */
	/* A source whose bodies are not OTLP (Prometheus remote_write): on
	 * the worker, before the OTLP decode, the body (len bytes) into the
	 * protobuf of an Export*ServiceRequest in out, of at most max bytes.
	 * OW_OK; OW_ERROR bad input, OW_NOSPACE too large, with a message.
	 * What it grows beyond the body is taken from the in-flight budget
	 * before the decode (503 when spent). NULL: the body is OTLP. */
	int (*convert)(const uint8_t *body, size_t len, size_t max, ow_buf_t *out, char *err,
		       size_t errlen);
	void (*ack)(ow_msg_t *m, int rc); /* as ow_msg_t's */
} ow_ingest_src_t;

/* The first member of each source's own request object (a message is the
 * first member of this, so the WAL's ack gets both back). */
struct ow_ingest_req {
	ow_msg_t msg;
	ow_job_t job;
	ow_ingest_src_t *src;
	char tenant[OW_TENANT_MAX + 1];
	int tenant_given; /* the client named one (ow_ingest_set_tenant) */
	int signal, encoding, gzip;
	int admitted; /* passed admission's checks, until its decode ends */
	/* the body: malloc'd (the decode takes it), or when NULL blen bytes
	 * at view, which stay their owner's (Kafka: librdkafka's message)
	 * and are copied on the worker */
	uint8_t *body;
	const void *view;
	size_t blen;
	int reason;	 /* how its decode went */
	int retry_after; /* OW_IN_RATE: seconds until its buckets refill */
	ow_otlp_req_t dec;
	int64_t t0; /* CLOCK_MONOTONIC ns a client has waited from; 0: none */
};

/* An answer to a refused request, in the source's own format. */
typedef struct {
	int http;	 /* HTTP status */
	int rpc;	 /* gRPC code; also the google.rpc.Status of an HTTP error */
	int retry_after; /* seconds for an HTTP Retry-After; 0: none */
	char message[256];
} ow_ingest_answer_t;

extern ow_module_t ow_ingest_module;

void ow_ingest_init(ow_ingest_req_t *r, ow_ingest_src_t *src);
/* The tenant as the client sent it (not NUL-terminated); one too long to
 * hold is kept empty, which admission refuses as invalid. */
void ow_ingest_set_tenant(ow_ingest_req_t *r, const char *v, size_t len);
/* With the request's credential, decides its tenant from the token and
 * the tenant the client named (modules/auth): OW_IN_OK, or the reason it
 * is refused, counted by auth under the source's listener. */
int ow_ingest_authorize(ow_ingest_req_t *r, const ow_auth_cred_t *cred);
/* The reason of an auth result on a route needing scope (OW_AUTH_*). */
int ow_ingest_auth_reason(int result, int scope);
/* May r take len more bytes of body? Until it passes once, checks the
 * tenant and whether the server takes data (draining, disk full, buffers
 * full); then every call checks the size so far against src->max and takes
 * len from the in-flight budget (r->msg.charged). OW_IN_OK or the reason;
 * a refusal takes nothing. */
int ow_ingest_admit(ow_ingest_req_t *r, size_t len);
/* Hands the admitted body (r->body, or r->view) to a worker. OW_IN_OK, or
 * OW_IN_QUEUE_FULL with the budget given back. When the decode ends, the
 * admission has too: a request refused then is admitted anew if retried. */
int ow_ingest_decode(ow_ingest_req_t *r);
/* A decoded request into its WAL batch (r->dec moves into r->msg). */
void ow_ingest_store(ow_ingest_req_t *r);
/* Counts an acknowledged request (and, with t0, its latency). */
void ow_ingest_acked(const ow_ingest_req_t *r);
/* Frees what r holds (its body, the decode's result) and gives its budget
 * back; not r itself. */
void ow_ingest_free(ow_ingest_req_t *r);
/* Counts a refusal and makes its answer; detail is the message of the
 * reasons that carry one (a decode's, r->dec.error; or the source's). */
void ow_ingest_refuse(const ow_ingest_src_t *src, int reason, const char *detail,
		      ow_ingest_answer_t *a);
/* The answer alone, counted nowhere. */
void ow_ingest_answer(const ow_ingest_src_t *src, int reason, const char *detail,
		      ow_ingest_answer_t *a);
/* The same for a request the front has seen: the decode's message, the
 * wait of a rate refusal. */
void ow_ingest_refuse_req(const ow_ingest_req_t *r, int reason, ow_ingest_answer_t *a);

#endif

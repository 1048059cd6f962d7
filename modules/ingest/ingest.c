/*
 * ingest.c - see ingest.h. Its counters: acknowledged requests per tenant
 * and signal, capped at TENANTS rows (later tenants are counted under
 * "_other", so a flood of tenant ids cannot grow memory), refusals by
 * reason, and the acknowledgement latency. Loop thread, but the decode
 * job's work.
 *
 * The tenants: a map of those taken (at most limits.max_tenants), each
 * with its rate buckets. A tenant joins it when a request of it passes
 * admission (a request refused there leaves no trace; one that fails to
 * decode later has cost its tenant a slot, as a valid one would). A bucket
 * holds tokens for one second at its rate, refilled as time passes; a
 * request is admitted while both of its tenant's buckets hold some, and
 * takes its bytes and one record then, the rest of its records once
 * decoded, which may overdraw them: so a request of any size passes, and
 * its tenant then waits.
 */
#include "ingest.h"
#include "../core/log.h"
#include "../core/map.h"
#include "../core/stats.h"
#include "../storage/storage.h"
#include "../wal/wal.h"

#include <stddef.h>

#define TENANTS 256

/* limits.* */
static int64_t max_past_hours, max_future_hours, max_tenants, rate_records, rate_bytes;
static int clamp_timestamps;
static char *rate_overrides;

static ow_directive_t directives[] = {
    {"limits.max_past_hours", OW_CONF_INT, &max_past_hours, 0, 1000000, "720", NULL, 0},
    {"limits.max_future_hours", OW_CONF_INT, &max_future_hours, 0, 1000000, "24", NULL, 0},
    {"limits.clamp_timestamps", OW_CONF_BOOL, &clamp_timestamps, 0, 1, "false", NULL, 0},
    {"limits.max_tenants", OW_CONF_INT, &max_tenants, 1, 1000000, "1000", NULL, 0},
    {"limits.tenant_records_per_second", OW_CONF_INT, &rate_records, 0, (int64_t)1 << 40, "0", NULL,
     0},
    {"limits.tenant_bytes_per_second", OW_CONF_INT, &rate_bytes, 0, (int64_t)1 << 50, "0", NULL, 0},
    {"limits.tenant_overrides", OW_CONF_LIST, &rate_overrides, 0, 200, "", NULL, 0},
    OW_CONF_END};

/* A tenant taken, and its rate buckets (tokens below 0: overdrawn). */
typedef struct {
	int64_t rate[2]; /* records/s, bytes/s; 0: no limit */
	double tokens[2];
	int64_t mono; /* when they were last refilled */
} tenant_t;

enum { RECORDS, BYTES };

static ow_map_t tenants;
static ow_map_t overrides; /* limits.tenant_overrides: tenant -> int64_t[2] */
typedef struct {
	char tenant[OW_TENANT_MAX + 1];
	uint64_t requests[OW_NSIGNALS], records[OW_NSIGNALS], rejected[OW_NSIGNALS],
	    bytes[OW_NSIGNALS];
} tenant_stats_t;

/* the reason label of openwit_rejected_requests_total */
enum {
	REJ_BAD_REQUEST,
	REJ_INVALID_TENANT,
	REJ_TOO_LARGE,
	REJ_MEDIA_TYPE,
	REJ_METHOD,
	REJ_NOT_FOUND,
	REJ_BUDGET,
	REJ_QUEUE_FULL,
	REJ_DISK_FULL,
	REJ_DRAINING,
	REJ_WAL_FAILED,
	REJ_BUFFER_FULL,
	REJ_DEADLINE,
	REJ_UNAUTHENTICATED,
	REJ_PERMISSION_DENIED,
	REJ_TENANTS,
	REJ_RATE,
	NREJECT
};

static struct {
	tenant_stats_t tenants[TENANTS];
	int ntenants;
	uint64_t rejected[NREJECT];
	ow_hist_t ack_latency;
} stats;

static const char *const reject_names[NREJECT] = {"bad_request",
						  "invalid_tenant",
						  "too_large",
						  "unsupported_media_type",
						  "method",
						  "not_found",
						  "memory_budget",
						  "queue_full",
						  "disk_full",
						  "draining",
						  "wal_failed",
						  "buffer_full",
						  "deadline_exceeded",
						  "unauthenticated",
						  "permission_denied",
						  "tenant_limit",
						  "rate_limited"};

static tenant_stats_t *tenant_row(const char *tenant)
{
	for (int i = 0; i < stats.ntenants; i++)
		if (strcmp(stats.tenants[i].tenant, tenant) == 0)
			return &stats.tenants[i];
	if (stats.ntenants == TENANTS - 1) {
		tenant_stats_t *other = &stats.tenants[TENANTS - 1];
		snprintf(other->tenant, sizeof(other->tenant), "_other");
		return other;
	}
	tenant_stats_t *t = &stats.tenants[stats.ntenants++];
	snprintf(t->tenant, sizeof(t->tenant), "%s", tenant);
	return t;
}

/* What a refusal's message says beyond its text: */
enum { TEXT, TENANT_FROM, SIZE_LIMIT, ACCEPTS, DETAIL };

#define RPC_METHODS                                                                                \
	"unimplemented: the OTLP/gRPC methods are POST "                                           \
	"/opentelemetry.proto.collector.{trace,logs,metrics}.v1.{Trace,Logs,Metrics}Service/"      \
	"Export"

/* Each reason's answer. A reason that one protocol alone can meet has the
 * other's nearest code all the same. */
static const struct {
	int http, rpc, counter, args;
	const char *text;
} reasons[OW_IN_NREASONS] = {
    [OW_IN_PATH] = {404, OW_RPC_NOT_FOUND, REJ_NOT_FOUND, TEXT,
		    "not found: OTLP/HTTP paths are /v1/traces, /v1/logs and /v1/metrics"},
    [OW_IN_METHOD] = {405, OW_RPC_UNIMPLEMENTED, REJ_METHOD, TEXT, "method not allowed: use POST"},
    [OW_IN_RPC_PATH] = {404, OW_RPC_UNIMPLEMENTED, REJ_NOT_FOUND, TEXT, RPC_METHODS},
    [OW_IN_RPC_METHOD] = {405, OW_RPC_UNIMPLEMENTED, REJ_METHOD, TEXT, RPC_METHODS},
    [OW_IN_CONTENT_TYPE] = {415, OW_RPC_INVALID_ARGUMENT, REJ_MEDIA_TYPE, ACCEPTS,
			    "unsupported content type: use %s"},
    [OW_IN_ENCODING] = {415, OW_RPC_INVALID_ARGUMENT, REJ_MEDIA_TYPE, TEXT,
			"unsupported content encoding: use gzip or none"},
    [OW_IN_RPC_ENCODING] = {415, OW_RPC_UNIMPLEMENTED, REJ_MEDIA_TYPE, TEXT,
			    "unsupported grpc-encoding: use gzip or identity"},
    [OW_IN_TIMEOUT] = {400, OW_RPC_INVALID_ARGUMENT, REJ_BAD_REQUEST, TEXT,
		       "malformed grpc-timeout: use 1 to 8 digits and a unit (H, M, S, m, u or "
		       "n)"},
    [OW_IN_FRAMING] = {400, OW_RPC_INVALID_ARGUMENT, REJ_BAD_REQUEST, TEXT,
		       "malformed gRPC message: want one length-prefixed message"},
    [OW_IN_COMPRESSED] = {400, OW_RPC_INVALID_ARGUMENT, REJ_BAD_REQUEST, TEXT,
			  "compressed message without grpc-encoding gzip"},
    [OW_IN_NO_TOKEN] = {401, OW_RPC_UNAUTHENTICATED, REJ_UNAUTHENTICATED, TEXT,
			"unauthenticated: send Authorization: Bearer <token>"},
    [OW_IN_BAD_TOKEN] = {401, OW_RPC_UNAUTHENTICATED, REJ_UNAUTHENTICATED, TEXT,
			 "unauthenticated: not a known token (Authorization: Bearer <token>)"},
    [OW_IN_NO_WRITE] = {403, OW_RPC_PERMISSION_DENIED, REJ_PERMISSION_DENIED, TEXT,
			"permission denied: the token has no write scope"},
    [OW_IN_NO_READ] = {403, OW_RPC_PERMISSION_DENIED, REJ_PERMISSION_DENIED, TEXT,
		       "permission denied: the token has no read scope"},
    [OW_IN_NO_ADMIN] = {403, OW_RPC_PERMISSION_DENIED, REJ_PERMISSION_DENIED, TEXT,
			"permission denied: the token has no admin scope"},
    [OW_IN_OTHER_TENANT] = {403, OW_RPC_PERMISSION_DENIED, REJ_PERMISSION_DENIED, TENANT_FROM,
			    "permission denied: the token is not for the tenant in %s"},
    [OW_IN_ALL_TENANTS] = {403, OW_RPC_PERMISSION_DENIED, REJ_PERMISSION_DENIED, TEXT,
			   "permission denied: this shows every tenant's data and needs a token "
			   "for all tenants (*)"},
    [OW_IN_TENANT] = {400, OW_RPC_INVALID_ARGUMENT, REJ_INVALID_TENANT, TENANT_FROM,
		      "invalid tenant in %s: use 1 to 64 of [A-Za-z0-9._-], not . or .."},
    [OW_IN_TENANTS] = {403, OW_RPC_RESOURCE_EXHAUSTED, REJ_TENANTS, TEXT,
		       "tenant limit reached (limits.max_tenants): no new tenant is taken"},
    [OW_IN_RATE] = {429, OW_RPC_RESOURCE_EXHAUSTED, REJ_RATE, DETAIL, "%s"},
    [OW_IN_DRAINING] = {503, OW_RPC_UNAVAILABLE, REJ_DRAINING, TEXT,
			"server is shutting down; retry"},
    [OW_IN_DISK_FULL] = {503, OW_RPC_UNAVAILABLE, REJ_DISK_FULL, TEXT,
			 "disk full: the write-ahead log cannot take data; retry"},
    [OW_IN_BUFFER_FULL] = {503, OW_RPC_UNAVAILABLE, REJ_BUFFER_FULL, TEXT,
			   "buffers full (memory.max_buffer_bytes) until a flush to Parquet; "
			   "retry"},
    [OW_IN_TOO_LARGE] = {413, OW_RPC_RESOURCE_EXHAUSTED, REJ_TOO_LARGE, SIZE_LIMIT,
			 "%s is larger than %s"},
    [OW_IN_BUDGET] = {503, OW_RPC_UNAVAILABLE, REJ_BUDGET, TEXT,
		      "in-flight memory budget exhausted; retry"},
    [OW_IN_QUEUE_FULL] = {503, OW_RPC_UNAVAILABLE, REJ_QUEUE_FULL, TEXT,
			  "decode queue full; retry"},
    [OW_IN_MALFORMED] = {400, OW_RPC_INVALID_ARGUMENT, REJ_BAD_REQUEST, DETAIL, "%s"},
    [OW_IN_DECODED_TOO_LARGE] = {413, OW_RPC_RESOURCE_EXHAUSTED, REJ_TOO_LARGE, DETAIL, "%s"},
    [OW_IN_DECODE_BUDGET] = {503, OW_RPC_UNAVAILABLE, REJ_BUDGET, DETAIL, "%s"},
    [OW_IN_DEADLINE] = {504, OW_RPC_DEADLINE_EXCEEDED, REJ_DEADLINE, TEXT,
			"deadline exceeded (grpc-timeout)"},
    [OW_IN_WAL_FAILED] = {503, OW_RPC_UNAVAILABLE, REJ_WAL_FAILED, TEXT,
			  "the write-ahead log could not store the request; retry"},
};

static int draining;

void ow_ingest_refuse(const ow_ingest_src_t *src, int reason, const char *detail,
		      ow_ingest_answer_t *a)
{
	stats.rejected[reasons[reason].counter]++;
	ow_ingest_answer(src, reason, detail, a);
}

void ow_ingest_answer(const ow_ingest_src_t *src, int reason, const char *detail,
		      ow_ingest_answer_t *a)
{
	size_t n = sizeof(a->message);
	a->http = reasons[reason].http;
	a->rpc = reasons[reason].rpc;
	a->retry_after = a->http == 503;
	switch (reasons[reason].args) {
	case TENANT_FROM:
		snprintf(a->message, n, reasons[reason].text, src->tenant_from);
		break;
	case SIZE_LIMIT:
		snprintf(a->message, n, reasons[reason].text, src->unit, src->limit);
		break;
	case ACCEPTS:
		snprintf(a->message, n, reasons[reason].text, src->accepts);
		break;
	case DETAIL:
		snprintf(a->message, n, "%s", detail ? detail : "");
		break;
	default:
		snprintf(a->message, n, "%s", reasons[reason].text);
	}
}

void ow_ingest_refuse_req(const ow_ingest_req_t *r, int reason, ow_ingest_answer_t *a)
{
	ow_ingest_refuse(r->src, reason, r->dec.error, a);
	if (reason == OW_IN_RATE)
		a->retry_after = r->retry_after;
}

/* ---- tenants and their rates ---- */

static tenant_t *tenant_add(const char *name)
{
	tenant_t *t = ow_calloc(1, sizeof(*t));
	const int64_t *o = ow_map_get(&overrides, name);
	t->rate[RECORDS] = o ? o[RECORDS] : rate_records;
	t->rate[BYTES] = o ? o[BYTES] : rate_bytes;
	t->tokens[RECORDS] = (double)t->rate[RECORDS];
	t->tokens[BYTES] = (double)t->rate[BYTES];
	t->mono = ow_mono_ns();
	ow_map_put(&tenants, name, t);
	return t;
}

/* Seconds until t's buckets are both above 0 again (0: they are now),
 * refilling them first. */
static int tenant_wait(tenant_t *t)
{
	int64_t now = ow_mono_ns();
	double dt = (double)(now - t->mono) / 1e9, wait = 0;
	t->mono = now;
	for (int k = 0; k < 2; k++) {
		if (!t->rate[k])
			continue;
		double rate = (double)t->rate[k];
		t->tokens[k] = OW_MIN(rate, t->tokens[k] + dt * rate);
		if (t->tokens[k] <= 0)
			wait = OW_MAX(wait, (1 - t->tokens[k]) / rate);
	}
	return wait > 0 ? (int)wait + 1 : 0;
}

void ow_ingest_init(ow_ingest_req_t *r, ow_ingest_src_t *src)
{
	r->src = src;
	r->signal = -1;
	snprintf(r->tenant, sizeof(r->tenant), "default");
}

void ow_ingest_set_tenant(ow_ingest_req_t *r, const char *v, size_t len)
{
	if (len > OW_TENANT_MAX)
		len = 0;
	memcpy(r->tenant, v, len);
	r->tenant[len] = '\0';
	r->tenant_given = 1;
}

int ow_ingest_auth_reason(int result, int scope)
{
	switch (result) {
	case OW_AUTH_OK:
		return OW_IN_OK;
	case OW_AUTH_MISSING:
		return OW_IN_NO_TOKEN;
	case OW_AUTH_BAD:
		return OW_IN_BAD_TOKEN;
	case OW_AUTH_SCOPE:
		return scope & OW_AUTH_ADMIN  ? OW_IN_NO_ADMIN
		       : scope & OW_AUTH_READ ? OW_IN_NO_READ
					      : OW_IN_NO_WRITE;
	case OW_AUTH_TENANT:
		return OW_IN_OTHER_TENANT;
	default:
		return OW_IN_ALL_TENANTS;
	}
}

int ow_ingest_authorize(ow_ingest_req_t *r, const ow_auth_cred_t *cred)
{
	char tenant[OW_TENANT_MAX + 1];
	int rc = ow_auth_decide(r->src->listener, cred, OW_AUTH_WRITE,
				r->tenant_given ? r->tenant : NULL, tenant);
	if (rc == OW_AUTH_OK)
		memcpy(r->tenant, tenant, sizeof(tenant));
	return ow_ingest_auth_reason(rc, OW_AUTH_WRITE);
}

int ow_ingest_admit(ow_ingest_req_t *r, size_t len)
{
	tenant_t *t = ow_map_get(&tenants, r->tenant);
	if (!r->admitted) {
		if (!ow_tenant_valid(r->tenant, strlen(r->tenant)))
			return OW_IN_TENANT;
		if (!t && tenants.count >= (size_t)max_tenants)
			return OW_IN_TENANTS;
		if (t && (r->retry_after = tenant_wait(t)) > 0) {
			snprintf(
			    r->dec.error, sizeof(r->dec.error),
			    "tenant %s is over its ingest rate (limits.tenant_records_per_second "
			    "%lld, limits.tenant_bytes_per_second %lld); retry in %d s",
			    r->tenant, (long long)t->rate[RECORDS], (long long)t->rate[BYTES],
			    r->retry_after);
			return OW_IN_RATE;
		}
		if (draining)
			return OW_IN_DRAINING;
		if (ow_wal_disk_full() || ow_storage_disk_critical())
			return OW_IN_DISK_FULL;
		if (ow_storage_full())
			return OW_IN_BUFFER_FULL;
	}
	if (r->msg.charged + len > r->src->max + r->src->framing)
		return OW_IN_TOO_LARGE;
	if (ow_budget_take(len) != OW_OK)
		return OW_IN_BUDGET;
	r->msg.charged += len;
	if (!r->admitted) {
		/* taken: its tenant too, and a record on account (it has one at
		 * least), so that requests admitted together draw on the bucket */
		if (!t)
			t = tenant_add(r->tenant);
		t->tokens[RECORDS] -= 1;
	}
	t->tokens[BYTES] -= (double)len;
	r->admitted = 1;
	return OW_IN_OK;
}

/* Gives back the admission: its budget, and its checks to pass again. */
static void unadmit(ow_ingest_req_t *r)
{
	ow_budget_release(r->msg.charged);
	r->msg.charged = 0;
	r->admitted = 0;
}

static void decode_work(ow_job_t *j)
{
	ow_ingest_req_t *r = (ow_ingest_req_t *)((char *)j - offsetof(ow_ingest_req_t, job));
	uint8_t *body = r->body;
	r->body = NULL;
	if (body == NULL) {
		body = ow_alloc(OW_MAX(r->blen, 1));
		if (r->blen)
			memcpy(body, r->view, r->blen);
	}
	/* the window around now (0 hours: that side is open); not for Kafka,
	 * whose broker acknowledged the records to their producers already: a
	 * consumer catching up on an old backlog replays them */
	int64_t now = ow_now_ns();
	const int64_t hour = 3600 * (int64_t)1000000000;
	ow_columns_window_t win = {
	    .min_ns = max_past_hours ? (uint64_t)OW_MAX(now - max_past_hours * hour, 1) : 0,
	    .max_ns = max_future_hours ? (uint64_t)(now + max_future_hours * hour) : UINT64_MAX,
	    .clamp = clamp_timestamps};
	size_t len = r->blen;
	if (r->src->convert) {
		ow_buf_t out = {0};
		int crc = r->src->convert(body, len, r->src->max, &out, r->dec.error,
					  sizeof(r->dec.error));
		free(body);
		if (crc == OW_OK && out.len > len && ow_budget_take(out.len - len) != OW_OK) {
			snprintf(r->dec.error, sizeof(r->dec.error),
				 "in-flight memory budget exhausted: the request takes %zu bytes "
				 "converted; retry",
				 out.len);
			crc = OW_AGAIN;
		} else if (crc == OW_OK && out.len > len) {
			r->msg.charged += out.len - len; /* given back as the admission's */
		}
		if (crc != OW_OK) {
			ow_buf_free(&out);
			r->reason = crc == OW_NOSPACE ? OW_IN_DECODED_TOO_LARGE
				    : crc == OW_AGAIN ? OW_IN_DECODE_BUDGET
						      : OW_IN_MALFORMED;
			return;
		}
		body = out.data ? out.data : ow_alloc(1);
		len = out.len;
	}
	int rc = ow_otlp_decode_body(r->signal, r->encoding, r->gzip, body, len, r->src->max,
				     r->src->limit, r->src->source == OW_SRC_KAFKA ? NULL : &win,
				     &r->dec);
	r->reason = rc == OW_OK	       ? OW_IN_OK
		    : rc == OW_NOSPACE ? OW_IN_DECODED_TOO_LARGE
		    : rc == OW_AGAIN   ? OW_IN_DECODE_BUDGET
				       : OW_IN_MALFORMED;
}

static void decode_done(ow_job_t *j)
{
	ow_ingest_req_t *r = (ow_ingest_req_t *)((char *)j - offsetof(ow_ingest_req_t, job));
	tenant_t *t = ow_map_get(&tenants, r->tenant);
	if (r->reason == OW_IN_OK && t && r->dec.records > 1)
		t->tokens[RECORDS] -= (double)(r->dec.records - 1); /* the rest of its records */
	if (r->reason != OW_IN_OK)
		unadmit(r);
	r->admitted = 0;
	r->src->decoded(r);
}

int ow_ingest_decode(ow_ingest_req_t *r)
{
	r->job.work = decode_work;
	r->job.done = decode_done;
	if (ow_work_submit(&r->job) != OW_OK) {
		unadmit(r);
		return OW_IN_QUEUE_FULL;
	}
	return OW_IN_OK;
}

void ow_ingest_store(ow_ingest_req_t *r)
{
	ow_otlp_to_msg(&r->dec, &r->msg);
	r->msg.ack = r->src->ack;
	ow_wal_add(&r->msg, r->tenant, r->signal, r->src->source);
}

void ow_ingest_free(ow_ingest_req_t *r)
{
	free(r->body);
	r->body = NULL;
	ow_otlp_req_free(&r->dec);
	unadmit(r);
}

void ow_ingest_acked(const ow_ingest_req_t *r)
{
	tenant_stats_t *t = tenant_row(r->tenant);
	t->requests[r->signal]++;
	t->records[r->signal] += r->msg.records;
	t->rejected[r->signal] += r->dec.rejects.n;
	t->bytes[r->signal] += r->msg.len;
	if (r->t0)
		ow_hist_observe(&stats.ack_latency, (double)(ow_mono_ns() - r->t0) / 1e9);
}

static void ingest_stats(ow_buf_t *b)
{
	static const char *per[4][2] = {
	    {"openwit_ingest_requests_total", "Acknowledged requests by tenant and signal."},
	    {"openwit_ingest_records_total",
	     "Acknowledged spans, log records and data points by tenant and signal."},
	    {"openwit_ingest_rejected_records_total",
	     "Records skipped as invalid in acknowledged requests (partial success)."},
	    {"openwit_ingest_bytes_total", "Acknowledged payload bytes by tenant and signal."}};
	for (int k = 0; k < 4; k++) {
		ow_metric_head(b, per[k][0], "counter", per[k][1]);
		for (int i = 0; i < stats.ntenants; i++) {
			const tenant_stats_t *t = &stats.tenants[i];
			const uint64_t *v = k == 0   ? t->requests
					    : k == 1 ? t->records
					    : k == 2 ? t->rejected
						     : t->bytes;
			for (int s = 0; s < OW_NSIGNALS; s++)
				ow_buf_printf(b, "%s{tenant=\"%s\",signal=\"%s\"} %llu\n",
					      per[k][0], t->tenant, ow_signal_name(s),
					      (unsigned long long)v[s]);
		}
	}
	ow_metric_head(b, "openwit_rejected_requests_total", "counter",
		       "Requests answered with an error, by reason.");
	for (int i = 0; i < NREJECT; i++)
		ow_buf_printf(b, "openwit_rejected_requests_total{reason=\"%s\"} %llu\n",
			      reject_names[i], (unsigned long long)stats.rejected[i]);
	ow_metric_head(b, "openwit_tenants", "gauge",
		       "Tenants taken (with data, or acknowledged since the start).");
	ow_buf_printf(b, "openwit_tenants %zu\n", tenants.count);
	ow_metric_head(b, "openwit_tenants_max", "gauge", "limits.max_tenants.");
	ow_buf_printf(b, "openwit_tenants_max %lld\n", (long long)max_tenants);
	ow_metric_hist(b, "openwit_ack_latency_seconds",
		       "From a request's arrival to its acknowledgement.", &stats.ack_latency);
}

/* The tenants with data on disk count against limits.max_tenants. */
static void on_disk(void *arg, const char *tenant)
{
	OW_UNUSED(arg);
	if (!ow_map_get(&tenants, tenant))
		tenant_add(tenant);
}

static int ingest_start(struct event_base *base)
{
	OW_UNUSED(base);
	ow_storage_tenants(on_disk, NULL);
	if (tenants.count > (size_t)max_tenants)
		ow_log(OW_LOG_WARN,
		       "%zu tenants have data, more than limits.max_tenants (%lld): they are all "
		       "taken, no new one",
		       tenants.count, (long long)max_tenants);
	return OW_OK;
}

/* Reads limits.tenant_overrides into overrides. */
static int ingest_check(char *err, size_t errlen)
{
	for (const char *l = rate_overrides; l && *l;) {
		const char *e = strchr(l, '\n');
		size_t n = e ? (size_t)(e - l) : strlen(l);
		char line[256], name[OW_TENANT_MAX + 2];
		long long r, b;
		char extra;
		snprintf(line, sizeof(line), "%.*s", (int)OW_MIN(n, sizeof(line) - 1), l);
		if (sscanf(line, "%65s %lld %lld %c", name, &r, &b, &extra) != 3 ||
		    !ow_tenant_valid(name, strlen(name)) || r < 0 || b < 0) {
			ow_conf_error(
			    err, errlen, ow_conf_find("limits.tenant_overrides"),
			    "\"%s\": want \"TENANT RECORDS_PER_SECOND BYTES_PER_SECOND\" (0: "
			    "no limit)",
			    line);
			return OW_ERROR;
		}
		int64_t *o = ow_map_get(&overrides, name);
		if (!o) {
			o = ow_alloc(2 * sizeof(*o));
			ow_map_put(&overrides, name, o);
		}
		o[RECORDS] = r;
		o[BYTES] = b;
		l = e ? e + 1 : l + n;
	}
	return OW_OK;
}

/* the values of tenants and overrides */
static void tenant_free(void *arg, const char *key, void *v)
{
	OW_UNUSED(arg);
	OW_UNUSED(key);
	free(v);
}

static void ingest_stop(void)
{
	ow_map_each(&tenants, tenant_free, NULL);
	ow_map_free(&tenants);
	ow_map_each(&overrides, tenant_free, NULL);
	ow_map_free(&overrides);
}

/* Every source stops taking requests at once (they drain in the same
 * turn of the loop); what was admitted goes on. */
static void ingest_drain(void)
{
	draining = 1;
}

ow_module_t ow_ingest_module = {
    .name = "ingest",
    .directives = directives,
    .check = ingest_check,
    .start = ingest_start,
    .stop = ingest_stop,
    .drain = ingest_drain,
    .stats = ingest_stats,
};

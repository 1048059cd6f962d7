/* The ingest front (modules/ingest): what admission answers and in which
 * order, what it charges to the in-flight budget and gives back, the
 * answer each reason gets over HTTP and gRPC (status, code and message, as
 * clients have always seen them), and that moving a decoded request into
 * its WAL message leaves the request nothing the message holds. */
#include "../lib/tap.h"
#include "modules/ingest/ingest.h"
#include "modules/storage/storage.h"

static ow_ingest_src_t http = {.source = OW_SRC_HTTP,
			       .tenant_from = "X-Scope-OrgID",
			       .accepts = "application/x-protobuf or application/json",
			       .unit = "body",
			       .limit = "ingestion.http.max_payload_size_mb",
			       .max = 1000};
static ow_ingest_src_t grpc = {.source = OW_SRC_GRPC,
			       .tenant_from = "x-scope-orgid",
			       .accepts = "application/grpc or application/grpc+proto",
			       .unit = "message",
			       .limit = "ingestion.grpc.max_message_size",
			       .max = 1000,
			       .framing = 5};

static void answer_is(ow_ingest_src_t *src, int reason, const char *detail, int http_status,
		      int rpc, const char *message)
{
	ow_ingest_answer_t a;
	ow_ingest_refuse(src, reason, detail, &a);
	is_int(a.http, http_status, "%s reason %d: HTTP %d", src->unit, reason, http_status);
	is_int(a.rpc, rpc, "%s reason %d: gRPC code %d", src->unit, reason, rpc);
	is_str(a.message, message, "%s reason %d: its message", src->unit, reason);
}

static void no_ack(ow_msg_t *m, int rc)
{
	OW_UNUSED(m);
	OW_UNUSED(rc);
}

int main(void)
{
	char err[512];
	ow_conf_register(ow_storage_module.directives);
	ow_conf_register(ow_ingest_module.directives);
	is_int(ow_conf_load(NULL, err, sizeof(err)), OW_OK,
	       "storage's and the front's defaults (the buffers' limit, limits.*)");
	ow_budget_init(1 << 20);

	/* admission of one whole body (HTTP, Kafka) */
	ow_ingest_req_t r = {0};
	ow_ingest_init(&r, &http);
	is_str(r.tenant, "default", "the tenant is \"default\" unless named");
	ow_ingest_set_tenant(&r, "..", 2);
	is_int(ow_ingest_admit(&r, 10), OW_IN_TENANT, "tenant \"..\": refused");
	char longname[80];
	memset(longname, 'a', sizeof(longname));
	ow_ingest_set_tenant(&r, longname, OW_TENANT_MAX + 1);
	is_int(ow_ingest_admit(&r, 10), OW_IN_TENANT, "a tenant too long to hold: refused");
	ow_ingest_set_tenant(&r, longname, OW_TENANT_MAX);
	is_int(ow_ingest_admit(&r, 10), OW_IN_OK, "a tenant of OW_TENANT_MAX: admitted");
	ow_ingest_free(&r);
	ow_ingest_set_tenant(&r, "acme", 4);
	is_int(ow_ingest_admit(&r, 1001), OW_IN_TOO_LARGE, "over src->max: too large");
	is_int(r.msg.charged + ow_budget_used(), 0, "a refusal takes nothing");
	is_int(ow_ingest_admit(&r, 1000), OW_IN_OK, "src->max itself: admitted");
	is_int(r.msg.charged, 1000, "charged to the request");
	is_int(ow_budget_used(), 1000, "and to the budget");
	ow_ingest_free(&r);
	is_int(ow_budget_used(), 0, "freeing it gives the budget back");
	ow_budget_init(100);
	is_int(ow_ingest_admit(&r, 200), OW_IN_BUDGET, "past the budget: refused for now");
	is_int(ow_budget_used(), 0, "taking nothing");
	ow_budget_init(1 << 20);

	/* a body taken piece by piece (gRPC): the framing counts too */
	ow_ingest_req_t s = {0};
	ow_ingest_init(&s, &grpc);
	is_int(ow_ingest_admit(&s, 0), OW_IN_OK, "gRPC headers admitted");
	is_int(ow_ingest_admit(&s, 600), OW_IN_OK, "600 bytes");
	is_int(ow_ingest_admit(&s, 405), OW_IN_OK, "up to max and the 5-byte prefix");
	is_int(ow_ingest_admit(&s, 1), OW_IN_TOO_LARGE, "one byte more: too large");
	is_int(s.msg.charged, 1005, "charged for what it took");
	ow_ingest_set_tenant(&s, "..", 2);
	is_int(ow_ingest_admit(&s, 1), OW_IN_TOO_LARGE,
	       "once admitted, later pieces are checked for size and budget alone");
	ow_ingest_free(&s);
	is_int(ow_budget_used(), 0, "all given back");

	/* the answers, as the tests of every source expect them */
	answer_is(&http, OW_IN_TENANT, NULL, 400, OW_RPC_INVALID_ARGUMENT,
		  "invalid tenant in X-Scope-OrgID: use 1 to 64 of [A-Za-z0-9._-], not . or ..");
	answer_is(&grpc, OW_IN_TENANT, NULL, 400, OW_RPC_INVALID_ARGUMENT,
		  "invalid tenant in x-scope-orgid: use 1 to 64 of [A-Za-z0-9._-], not . or ..");
	answer_is(&http, OW_IN_TOO_LARGE, NULL, 413, OW_RPC_RESOURCE_EXHAUSTED,
		  "body is larger than ingestion.http.max_payload_size_mb");
	answer_is(&grpc, OW_IN_TOO_LARGE, NULL, 413, OW_RPC_RESOURCE_EXHAUSTED,
		  "message is larger than ingestion.grpc.max_message_size");
	answer_is(&http, OW_IN_CONTENT_TYPE, NULL, 415, OW_RPC_INVALID_ARGUMENT,
		  "unsupported content type: use application/x-protobuf or application/json");
	answer_is(&grpc, OW_IN_CONTENT_TYPE, NULL, 415, OW_RPC_INVALID_ARGUMENT,
		  "unsupported content type: use application/grpc or application/grpc+proto");
	answer_is(&http, OW_IN_PATH, NULL, 404, OW_RPC_NOT_FOUND,
		  "not found: OTLP/HTTP paths are /v1/traces, /v1/logs and /v1/metrics");
	answer_is(&grpc, OW_IN_RPC_ENCODING, NULL, 415, OW_RPC_UNIMPLEMENTED,
		  "unsupported grpc-encoding: use gzip or identity");
	answer_is(&http, OW_IN_BUDGET, NULL, 503, OW_RPC_UNAVAILABLE,
		  "in-flight memory budget exhausted; retry");
	answer_is(&http, OW_IN_MALFORMED, "bad protobuf", 400, OW_RPC_INVALID_ARGUMENT,
		  "bad protobuf");
	answer_is(&grpc, OW_IN_DECODED_TOO_LARGE, "too big once inflated", 413,
		  OW_RPC_RESOURCE_EXHAUSTED, "too big once inflated");
	answer_is(&grpc, OW_IN_DECODE_BUDGET, "later", 503, OW_RPC_UNAVAILABLE, "later");
	answer_is(&http, OW_IN_TENANTS, NULL, 403, OW_RPC_RESOURCE_EXHAUSTED,
		  "tenant limit reached (limits.max_tenants): no new tenant is taken");
	answer_is(&grpc, OW_IN_RATE, "tenant t is over its ingest rate", 429,
		  OW_RPC_RESOURCE_EXHAUSTED, "tenant t is over its ingest rate");
	answer_is(&grpc, OW_IN_DEADLINE, NULL, 504, OW_RPC_DEADLINE_EXCEEDED,
		  "deadline exceeded (grpc-timeout)");
	int incomplete = 0;
	for (int i = OW_IN_OK + 1; i < OW_IN_NREASONS; i++) {
		ow_ingest_answer_t a;
		ow_ingest_refuse(&http, i, "detail", &a);
		if (a.http < 400 || a.rpc <= 0 || a.message[0] == '\0')
			incomplete++;
	}
	is_int(incomplete, 0, "every reason has an HTTP error status, a gRPC code and a message");

	/* the move */
	ow_otlp_req_t d = {0};
	is_int(
	    ow_otlp_decode_body(OW_TRACES, OW_ENC_PROTOBUF, 0, ow_alloc(1), 0, 1000, "x", NULL, &d),
	    OW_OK, "an empty request decodes");
	ow_msg_t m = {0};
	ow_otlp_to_msg(&d, &m);
	ok(d.payload == NULL && d.table == NULL && d.len == 0,
	   "after the move the request holds nothing");
	ok(m.payload != NULL && m.table != NULL, "the message holds it all");
	ow_otlp_req_free(&d); /* nothing to free: no double free under ASan */
	m.ack = no_ack;
	ow_msg_finish(&m, OW_OK);
	is_int(ow_budget_used(), 0, "the message's budget given back with it");
	return done_testing();
}

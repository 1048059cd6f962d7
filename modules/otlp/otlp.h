/*
 * otlp.h - OTLP payloads: decoding (validating) requests in protobuf or
 * JSON, counting their records, and encoding responses and errors.
 *
 * Every accepted request ends as protobuf: a protobuf body is kept as it
 * came (the column decoder proves it valid), a JSON body is converted,
 * following the OTLP/JSON rules: field names in lowerCamelCase (the proto
 * names are accepted too), trace and span ids as hex, other bytes as
 * base64, 64-bit integers as strings or numbers, enums as integers (names
 * accepted), unknown fields ignored. So the WAL, replay and everything
 * downstream see one format.
 */
#ifndef OW_OTLP_H
#define OW_OTLP_H

#include "../columns/columns.h"
#include "../core/core.h"

/* OW_ENC_AUTO (ow_otlp_decode_body only): JSON when the body, once
 * inflated, starts with "{" (an Export request in protobuf never does:
 * that would be field 15 with wire type 3), else protobuf. */
enum ow_encoding { OW_ENC_AUTO = -1, OW_ENC_PROTOBUF = 0, OW_ENC_JSON = 1 };

/* gRPC status codes used in google.rpc.Status bodies. */
enum {
	OW_RPC_INVALID_ARGUMENT = 3,
	OW_RPC_DEADLINE_EXCEEDED = 4,
	OW_RPC_RESOURCE_EXHAUSTED = 8,
	OW_RPC_UNIMPLEMENTED = 12,
	OW_RPC_INTERNAL = 13,
	OW_RPC_UNAVAILABLE = 14,
	OW_RPC_NOT_FOUND = 5,
	OW_RPC_PERMISSION_DENIED = 7,
	OW_RPC_UNAUTHENTICATED = 16
};

typedef struct {
	uint8_t *payload; /* protobuf; malloc'd */
	size_t len;
	uint64_t records;	/* taken */
	ow_rejects_t rejects;	/* skipped as invalid: a partial success */
	struct ow_table *table; /* the records as columns (modules/columns) */
	char error[256];	/* set when decoding failed */
	/* The in-flight budget: the body's bytes, charged by its source, and
	 * what the decode took beyond them as it allocated. */
	size_t base, extra;
	int budget_rc; /* OW_AGAIN or OW_NOSPACE when the budget refused */
} ow_otlp_req_t;

/* ingestion.max_json_elements: an OTLP/JSON body with more values (objects,
 * arrays, strings and member names, numbers, literals) is refused before
 * its tree is built. */
extern int64_t ow_otlp_max_json_elements;

void ow_otlp_req_free(ow_otlp_req_t *r); /* and the budget its decode took */

/* What every source runs on its worker, for a body of len bytes that it
 * has charged to the in-flight budget: inflates a gzip body into at most
 * max bytes (limit names the setting in the message), then decodes it
 * (taking ownership of body) into r: the protobuf payload for the WAL and
 * the records as columns. What the decode allocates beyond len (inflated
 * bytes, a JSON tree, columns) is taken from the budget before it grows.
 * Records whose times are outside win (when not NULL) are skipped or clamped
 * (columns.h); a request with none taken and some skipped so is bad input.
 * OW_OK; else a message for the client in r->error and: OW_ERROR bad input
 * (400), OW_NOSPACE too large once inflated or decoded (413), OW_AGAIN the
 * budget is spent for now (503, retry). */
int ow_otlp_decode_body(int signal, int encoding, int gzip, uint8_t *body, size_t len, size_t max,
			const char *limit, const ow_columns_window_t *win, ow_otlp_req_t *r);

/* An Export*ServiceRequest in OTLP/JSON to its protobuf, appended to out:
 * OW_OK, or OW_ERROR with a message. Its bytes are also the signal's
 * TracesData, LogsData or MetricsData (the same field 1), which is how the
 * Tempo API answers a trace in protobuf (modules/traceapi). */
int ow_otlp_json_to_pb(int signal, const char *json, size_t len, ow_buf_t *out, char *err,
		       size_t errlen);

/* Moves a decoded request into the message the WAL takes (r keeps only
 * its rejects; freeing it frees nothing the message holds), and charges
 * the in-flight budget for what is kept now (the payload and its columns)
 * instead of the body and the decode. Loop thread. */
struct ow_msg;
void ow_otlp_to_msg(ow_otlp_req_t *r, struct ow_msg *m);

/* The Export*ServiceResponse for an accepted request: empty, or with
 * partial_success {rejected_<records>, error_message} when records were
 * skipped as invalid (rej->n > 0). */
void ow_otlp_success(int signal, int encoding, const ow_rejects_t *rej, ow_buf_t *out);
/* A google.rpc.Status with code and message. */
void ow_otlp_status(int encoding, int code, const char *message, ow_buf_t *out);
/* The same in protobuf, with a google.rpc.RetryInfo of retry_after seconds
 * (1 to 2^31) among its details: what makes an OTLP exporter retry a
 * RESOURCE_EXHAUSTED (gRPC's grpc-status-details-bin). */
void ow_otlp_status_retry(int code, const char *message, int retry_after, ow_buf_t *out);

#endif

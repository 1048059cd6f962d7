/*
 * otlp.c - see otlp.h. The JSON converter is driven by the protobuf-c
 * descriptors of the generated types, so it covers every OTLP message and
 * field without a hand-written mapping that could drift from the protos.
 */
#include "otlp.h"

#include "google/rpc/status.pb-c.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

#include "../columns/columns.h"
#include "../core/batch.h"
#include "../parquet/thrift.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <zlib.h>

static const ProtobufCMessageDescriptor *request_desc[OW_NSIGNALS] = {
    &opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor,
    &opentelemetry__proto__collector__logs__v1__export_logs_service_request__descriptor,
    &opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__descriptor,
};

/* ---- OTLP/JSON to protobuf-c messages ---- */

typedef struct {
	char *err;
	size_t errlen;
	int depth;
} jctx_t;

static int jfail(jctx_t *c, const ProtobufCFieldDescriptor *f, const char *what)
{
	if (c->err[0] == '\0')
		snprintf(c->err, c->errlen, "invalid JSON for field \"%s\": %s", f->name, what);
	return OW_ERROR;
}

/* "trace_id" matches "trace_id" and "traceId". */
static int name_matches(const char *field, const char *key)
{
	if (strcmp(field, key) == 0)
		return 1;
	while (*field && *key) {
		if (*field == '_' && field[1] >= 'a' && field[1] <= 'z') {
			if (*key != field[1] - 'a' + 'A')
				return 0;
			field += 2;
			key++;
			continue;
		}
		if (*field++ != *key++)
			return 0;
	}
	return *field == '\0' && *key == '\0';
}

static const ProtobufCFieldDescriptor *find_field(const ProtobufCMessageDescriptor *d,
						  const char *key)
{
	for (unsigned i = 0; i < d->n_fields; i++)
		if (name_matches(d->fields[i].name, key))
			return &d->fields[i];
	return NULL;
}

static int is_hex_id(const ProtobufCFieldDescriptor *f)
{
	return !strcmp(f->name, "trace_id") || !strcmp(f->name, "span_id") ||
	       !strcmp(f->name, "parent_span_id");
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static int b64val(int ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+' || ch == '-')
		return 62;
	if (ch == '/' || ch == '_')
		return 63;
	return -1;
}

static int parse_bytes(jctx_t *c, const ProtobufCFieldDescriptor *f, const cJSON *v,
		       ProtobufCBinaryData *out)
{
	if (!cJSON_IsString(v))
		return jfail(c, f, "expected a string");
	const char *s = v->valuestring;
	size_t n = strlen(s);
	out->data = NULL;
	out->len = 0;
	if (n == 0)
		return OW_OK;
	if (is_hex_id(f)) {
		if (n % 2)
			return jfail(c, f, "odd number of hex digits");
		out->data = ow_alloc(n / 2);
		for (size_t i = 0; i < n / 2; i++) {
			int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
			if (hi < 0 || lo < 0)
				return jfail(c, f, "not a hex string");
			out->data[i] = (uint8_t)(hi << 4 | lo);
		}
		out->len = n / 2;
		return OW_OK;
	}
	out->data = ow_alloc(n / 4 * 3 + 3);
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '=')
			break;
		int x = b64val((unsigned char)s[i]);
		if (x < 0)
			return jfail(c, f, "not a base64 string");
		acc = acc << 6 | (uint32_t)x;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out->data[o++] = (uint8_t)(acc >> bits);
		}
	}
	out->len = o;
	return OW_OK;
}

/* 64-bit integers may come as JSON strings (the protobuf JSON mapping) or
 * numbers. cJSON reads numbers as doubles, exact up to 2^53: a number past
 * that may already have been rounded, so it is refused rather than stored
 * as a different value. */
static int parse_int(jctx_t *c, const ProtobufCFieldDescriptor *f, const cJSON *v, int is_signed,
		     int64_t lo, uint64_t hi, uint64_t *out)
{
	if (cJSON_IsString(v)) {
		const char *s = v->valuestring;
		char *end;
		errno = 0;
		if (is_signed) {
			long long x = strtoll(s, &end, 10);
			if (*s == '\0' || *end || errno || x < lo || (x > 0 && (uint64_t)x > hi))
				return jfail(c, f, "integer string out of range or malformed");
			*out = (uint64_t)x;
		} else {
			if (*s == '-')
				return jfail(c, f, "negative value for an unsigned field");
			unsigned long long x = strtoull(s, &end, 10);
			if (*s == '\0' || *end || errno || x > hi)
				return jfail(c, f, "integer string out of range or malformed");
			*out = x;
		}
		return OW_OK;
	}
	if (!cJSON_IsNumber(v))
		return jfail(c, f, "expected an integer");
	double d = v->valuedouble;
	if (d != floor(d) || isnan(d))
		return jfail(c, f, "expected an integer, got a fraction");
	if (fabs(d) >= 9007199254740992.0)
		return jfail(c, f, "integers of 2^53 or more must be sent as JSON strings");
	if (is_signed) {
		if (d < (double)lo || d >= 9223372036854775808.0 || (d > 0 && d > (double)hi))
			return jfail(c, f, "integer out of range");
		*out = (uint64_t)(int64_t)d;
	} else {
		if (d < 0 || d >= 18446744073709551616.0 || d > (double)hi)
			return jfail(c, f, "integer out of range");
		*out = (uint64_t)d;
	}
	return OW_OK;
}

static int parse_double(jctx_t *c, const ProtobufCFieldDescriptor *f, const cJSON *v, double *out)
{
	if (cJSON_IsNumber(v)) {
		*out = v->valuedouble;
		return OW_OK;
	}
	if (!cJSON_IsString(v))
		return jfail(c, f, "expected a number");
	const char *s = v->valuestring;
	if (!strcmp(s, "NaN"))
		*out = NAN;
	else if (!strcmp(s, "Infinity"))
		*out = INFINITY;
	else if (!strcmp(s, "-Infinity"))
		*out = -INFINITY;
	else {
		char *end;
		*out = strtod(s, &end);
		if (*s == '\0' || *end)
			return jfail(c, f, "expected a number");
	}
	return OW_OK;
}

static int json_to_msg(jctx_t *c, const ProtobufCMessageDescriptor *d, const cJSON *obj,
		       ProtobufCMessage **out);

static size_t elem_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return 8;
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_FLOAT:
		return sizeof(float);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	default:
		return 4;
	}
}

/* Parses one JSON value into the element at p. */
static int parse_value(jctx_t *c, const ProtobufCFieldDescriptor *f, const cJSON *v, void *p)
{
	uint64_t u;
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		if (parse_int(c, f, v, 1, INT32_MIN, INT32_MAX, &u))
			return OW_ERROR;
		*(int32_t *)p = (int32_t)(int64_t)u;
		return OW_OK;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		if (parse_int(c, f, v, 0, 0, UINT32_MAX, &u))
			return OW_ERROR;
		*(uint32_t *)p = (uint32_t)u;
		return OW_OK;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		if (parse_int(c, f, v, 1, INT64_MIN, INT64_MAX, &u))
			return OW_ERROR;
		*(int64_t *)p = (int64_t)u;
		return OW_OK;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		if (parse_int(c, f, v, 0, 0, UINT64_MAX, &u))
			return OW_ERROR;
		*(uint64_t *)p = u;
		return OW_OK;
	case PROTOBUF_C_TYPE_DOUBLE:
		return parse_double(c, f, v, p);
	case PROTOBUF_C_TYPE_FLOAT: {
		double x;
		if (parse_double(c, f, v, &x))
			return OW_ERROR;
		*(float *)p = (float)x;
		return OW_OK;
	}
	case PROTOBUF_C_TYPE_BOOL:
		if (!cJSON_IsBool(v))
			return jfail(c, f, "expected true or false");
		*(protobuf_c_boolean *)p = cJSON_IsTrue(v);
		return OW_OK;
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumDescriptor *ed = f->descriptor;
		if (cJSON_IsString(v)) {
			const ProtobufCEnumValue *ev =
			    protobuf_c_enum_descriptor_get_value_by_name(ed, v->valuestring);
			if (ev == NULL)
				return jfail(c, f, "unknown enum name");
			*(int32_t *)p = ev->value;
			return OW_OK;
		}
		if (parse_int(c, f, v, 1, INT32_MIN, INT32_MAX, &u))
			return OW_ERROR;
		*(int32_t *)p = (int32_t)(int64_t)u;
		return OW_OK;
	}
	case PROTOBUF_C_TYPE_STRING:
		if (!cJSON_IsString(v))
			return jfail(c, f, "expected a string");
		*(char **)p = ow_strdup(v->valuestring);
		return OW_OK;
	case PROTOBUF_C_TYPE_BYTES:
		return parse_bytes(c, f, v, p);
	case PROTOBUF_C_TYPE_MESSAGE:
		return json_to_msg(c, f->descriptor, v, p);
	}
	return jfail(c, f, "unsupported type");
}

static int parse_field(jctx_t *c, const ProtobufCFieldDescriptor *f, const cJSON *v,
		       ProtobufCMessage *m)
{
	char *base = (char *)m;
	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		if (!cJSON_IsArray(v))
			return jfail(c, f, "expected an array");
		size_t n = (size_t)cJSON_GetArraySize(v), es = elem_size(f), i = 0;
		char *arr = ow_calloc(n ? n : 1, es);
		/* set the array and count first, so a failure midway frees what
		 * was parsed */
		*(size_t *)(base + f->quantifier_offset) = n;
		*(void **)(base + f->offset) = arr;
		const cJSON *e;
		cJSON_ArrayForEach(e, v)
		{
			if (parse_value(c, f, e, arr + es * i++))
				return OW_ERROR;
		}
		return OW_OK;
	}
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
		uint32_t *which = (uint32_t *)(base + f->quantifier_offset);
		if (*which != 0 && *which != f->id)
			return jfail(c, f, "more than one member of a oneof is set");
		/* mark the member first: free_unpacked() then frees it even if
		 * its value fails halfway */
		*which = f->id;
	} else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset) {
		*(protobuf_c_boolean *)(base + f->quantifier_offset) = 1;
	}
	void *p = base + f->offset;
	if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_BYTES ||
	    f->type == PROTOBUF_C_TYPE_MESSAGE) {
		/* a repeated key: drop the earlier value */
		if (f->type == PROTOBUF_C_TYPE_STRING && *(char **)p &&
		    *(char **)p != (char *)f->default_value) {
			free(*(char **)p);
			*(char **)p = NULL;
		} else if (f->type == PROTOBUF_C_TYPE_MESSAGE && *(ProtobufCMessage **)p) {
			protobuf_c_message_free_unpacked(*(ProtobufCMessage **)p, NULL);
			*(ProtobufCMessage **)p = NULL;
		} else if (f->type == PROTOBUF_C_TYPE_BYTES) {
			free(((ProtobufCBinaryData *)p)->data);
			memset(p, 0, sizeof(ProtobufCBinaryData));
		}
	}
	return parse_value(c, f, v, p);
}

static int json_to_msg(jctx_t *c, const ProtobufCMessageDescriptor *d, const cJSON *obj,
		       ProtobufCMessage **out)
{
	if (!cJSON_IsObject(obj)) {
		if (c->err[0] == '\0')
			snprintf(c->err, c->errlen, "invalid JSON: expected an object for %s",
				 d->short_name);
		return OW_ERROR;
	}
	if (++c->depth > 64) {
		snprintf(c->err, c->errlen, "invalid JSON: nested too deeply");
		return OW_ERROR;
	}
	ProtobufCMessage *m = ow_calloc(1, d->sizeof_message);
	d->message_init(m);
	*out = m;
	const cJSON *v;
	cJSON_ArrayForEach(v, obj)
	{
		if (cJSON_IsNull(v))
			continue;
		const ProtobufCFieldDescriptor *f = find_field(d, v->string);
		if (f == NULL)
			continue; /* OTLP/JSON: unknown fields are ignored */
		if (parse_field(c, f, v, m))
			return OW_ERROR;
	}
	c->depth--;
	return OW_OK;
}

/* ---- requests ---- */

int64_t ow_otlp_max_json_elements;

/* Takes from the in-flight budget what the decode is about to hold in all
 * (need, its body included) beyond what it holds already: OW_NOSPACE when
 * need is more than the whole budget (a retry cannot help), OW_AGAIN when
 * the budget is only spent for now. */
static int reserve(ow_otlp_req_t *r, size_t need)
{
	if (need <= r->base + r->extra)
		return OW_OK;
	int rc = need > ow_budget_max() ? OW_NOSPACE : ow_budget_take(need - r->base - r->extra);
	if (rc == OW_OK) {
		r->extra = need - r->base;
		return OW_OK;
	}
	r->budget_rc = rc;
	if (rc == OW_NOSPACE)
		snprintf(r->error, sizeof(r->error),
			 "decoding the request takes %zu bytes of memory, more than "
			 "memory.max_inflight_bytes",
			 need);
	else
		snprintf(r->error, sizeof(r->error),
			 "in-flight memory budget exhausted: decoding the request takes %zu bytes "
			 "of memory; retry",
			 need);
	return rc;
}

/* ow_columns_decode_bounded's grow: the payload and the columns so far.
 * err is r->error, where reserve writes its message. */
static int grow_columns(void *arg, size_t bytes, char *err, size_t errlen)
{
	OW_UNUSED(err);
	OW_UNUSED(errlen);
	ow_otlp_req_t *r = arg;
	return reserve(r, r->len + bytes) != OW_OK;
}

/* Counts the values of a JSON text (objects, arrays, strings with member
 * names among them, numbers, literals) and its objects, building nothing,
 * so that what its tree costs is known before the tree is built. Malformed
 * text is counted loosely: the parser refuses it afterwards. */
static void json_count(const uint8_t *p, size_t n, size_t *values, size_t *objects)
{
	size_t v = 0, o = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t ch = p[i];
		if (ch == '"') {
			v++;
			for (i++; i < n && p[i] != '"'; i++)
				if (p[i] == '\\')
					i++;
		} else if (ch == '{' || ch == '[') {
			v++;
			o += ch == '{';
		} else if (ch == '-' || (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z')) {
			v++;
			while (i + 1 < n && (isalnum(p[i + 1]) || p[i + 1] == '.' ||
					     p[i + 1] == '+' || p[i + 1] == '-'))
				i++;
		}
	}
	*values = v;
	*objects = o;
}

/* The largest message a JSON object of a request can become (the cost of
 * an object in the protobuf-c tree), from the descriptors so that it
 * follows the protos. AnyValue nests in itself: 8 levels reach every
 * message type. */
static size_t largest_message(const ProtobufCMessageDescriptor *d, int depth)
{
	size_t m = d->sizeof_message;
	for (unsigned i = 0; depth < 8 && i < d->n_fields; i++)
		if (d->fields[i].type == PROTOBUF_C_TYPE_MESSAGE)
			m = OW_MAX(m, largest_message(d->fields[i].descriptor, depth + 1));
	return m;
}

static size_t largest[OW_NSIGNALS];
static pthread_once_t largest_once = PTHREAD_ONCE_INIT;

static void largest_init(void)
{
	for (int i = 0; i < OW_NSIGNALS; i++)
		largest[i] = largest_message(request_desc[i], 0);
}

/* What converting a JSON text of len bytes takes at its peak: two copies
 * of its strings at every step (the text and the cJSON tree's, the cJSON
 * and the protobuf-c tree's, the protobuf-c tree's and the packed payload,
 * which is no larger than the text), a cJSON node and a repeated field's
 * slot a value, a message an object. Measured on a body of {} elements:
 * ~150 bytes a value, which this bounds. */
static size_t json_cost(int signal, size_t len, size_t values, size_t objects)
{
	pthread_once(&largest_once, largest_init);
	return 2 * len + values * (sizeof(cJSON) + 64) + objects * (largest[signal] + 16);
}

/* OTLP/JSON text to the protobuf of the signal's request: OW_OK with a
 * malloc'd payload, or OW_ERROR with a message. */
static int json_pack(int signal, const char *text, size_t len, uint8_t **out, size_t *outlen,
		     char *err, size_t errlen)
{
	ProtobufCMessage *m = NULL;
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (j == NULL) {
		size_t at = end ? (size_t)(end - text) : 0;
		snprintf(err, errlen, "malformed JSON at byte %zu", at);
		return OW_ERROR;
	}
	jctx_t c = {err, errlen, 0};
	int rc = json_to_msg(&c, request_desc[signal], j, &m);
	cJSON_Delete(j);
	if (rc != OW_OK) {
		if (m)
			protobuf_c_message_free_unpacked(m, NULL);
		return OW_ERROR;
	}
	*outlen = protobuf_c_message_get_packed_size(m);
	*out = ow_alloc(*outlen ? *outlen : 1);
	protobuf_c_message_pack(m, *out);
	protobuf_c_message_free_unpacked(m, NULL);
	return OW_OK;
}

int ow_otlp_json_to_pb(int signal, const char *json, size_t len, ow_buf_t *out, char *err,
		       size_t errlen)
{
	uint8_t *pb;
	size_t n;
	if (json_pack(signal, json, len, &pb, &n, err, errlen) != OW_OK)
		return OW_ERROR;
	ow_buf_add(out, pb, n);
	free(pb);
	return OW_OK;
}

static int json_decode(int signal, uint8_t *body, size_t len, ow_otlp_req_t *r)
{
	size_t values, objects;
	json_count(body, len, &values, &objects);
	if (values > (uint64_t)ow_otlp_max_json_elements) {
		snprintf(r->error, sizeof(r->error),
			 "JSON body has more than %lld elements (ingestion.max_json_elements)",
			 (long long)ow_otlp_max_json_elements);
		free(body);
		return OW_ERROR;
	}
	int rc = reserve(r, json_cost(signal, len, values, objects));
	if (rc != OW_OK) {
		free(body);
		return rc;
	}
	rc = json_pack(signal, (const char *)body, len, &r->payload, &r->len, r->error,
		       sizeof(r->error));
	free(body);
	return rc;
}

/* Decodes body (which it takes ownership of) of the given signal and
 * encoding into r: the protobuf payload for the WAL and the records as
 * columns. */
static int decode(int signal, int encoding, uint8_t *body, size_t len,
		  const ow_columns_window_t *win, ow_otlp_req_t *r)
{
	if (encoding == OW_ENC_PROTOBUF) {
		r->payload = body;
		r->len = len;
	} else {
		int rc = json_decode(signal, body, len, r);
		if (rc != OW_OK)
			return rc;
	}
	/* One pass over the protobuf both validates the request and turns it
	 * into the columns it is stored as. */
	r->table = ow_alloc(sizeof(ow_table_t));
	ow_columns_table_init(signal, r->table);
	int64_t n =
	    ow_columns_decode_new(signal, r->payload, r->len, ow_now_ns(), r->table, &r->rejects,
				  r->error, sizeof(r->error), grow_columns, r, win);
	if (n < 0)
		return r->budget_rc ? r->budget_rc : OW_ERROR;
	/* none taken, some for their time: the request is refused whole */
	if (n == 0 && r->rejects.times) {
		snprintf(r->error, sizeof(r->error), "no record taken: %s", r->rejects.why);
		return OW_ERROR;
	}
	/* held until its part commits: its bytes only, not the doubling's
	 * room, and what its columns hold alike once */
	ow_table_fit(r->table);
	ow_table_share(r->table);
	r->records = (uint64_t)n;
	return OW_OK;
}

void ow_otlp_req_free(ow_otlp_req_t *r)
{
	free(r->payload);
	r->payload = NULL;
	if (r->table) {
		ow_table_free(r->table);
		free(r->table);
		r->table = NULL;
	}
	ow_budget_release(r->extra);
	r->extra = 0;
}

/* Inflates a gzip body, taking from the budget as its output grows: OW_OK,
 * OW_ERROR (not gzip or corrupt), OW_NOSPACE (larger than max, or than the
 * whole budget) or OW_AGAIN (the budget is spent for now). */
static int gunzip(ow_otlp_req_t *r, const uint8_t *in, size_t len, size_t max, const char *limit,
		  uint8_t **out, size_t *outlen)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return OW_ERROR;
	size_t cap = OW_MIN(OW_MAX(len * 4, (size_t)4096), max + 1);
	int rc = reserve(r, len + cap);
	uint8_t *buf = rc == OW_OK ? ow_alloc(cap) : NULL;
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	int zrc = Z_BUF_ERROR;
	while (rc == OW_OK) {
		if (z.total_out == cap) {
			if (cap > max) {
				rc = OW_NOSPACE;
				break;
			}
			cap = OW_MIN(cap * 2, max + 1);
			if ((rc = reserve(r, len + cap)) != OW_OK)
				break;
			buf = ow_realloc(buf, cap);
		}
		z.next_out = buf + z.total_out;
		z.avail_out = (uInt)(cap - z.total_out);
		zrc = inflate(&z, Z_NO_FLUSH);
		if (zrc != Z_OK)
			break;
	}
	size_t n = z.total_out;
	inflateEnd(&z);
	if (rc == OW_OK && (zrc != Z_STREAM_END || z.avail_in != 0))
		rc = OW_ERROR;
	if (rc == OW_OK && n > max)
		rc = OW_NOSPACE;
	if (rc != OW_OK) {
		free(buf);
		if (rc == OW_NOSPACE && !r->budget_rc)
			snprintf(r->error, sizeof(r->error), "decompressed body is larger than %s",
				 limit);
		else if (rc == OW_ERROR)
			snprintf(r->error, sizeof(r->error), "body is not valid gzip");
		return rc;
	}
	*out = buf;
	*outlen = n;
	return OW_OK;
}

int ow_otlp_decode_body(int signal, int encoding, int gzip, uint8_t *body, size_t len, size_t max,
			const char *limit, const ow_columns_window_t *win, ow_otlp_req_t *r)
{
	r->error[0] = '\0';
	r->payload = NULL;
	r->len = 0;
	r->table = NULL;
	r->base = len;
	r->extra = 0;
	r->budget_rc = OW_OK;
	int rc = OW_OK;
	if (gzip) {
		uint8_t *out;
		size_t outlen;
		rc = gunzip(r, body, len, max, limit, &out, &outlen);
		free(body);
		body = out;
		len = outlen;
	}
	if (rc == OW_OK) {
		if (encoding == OW_ENC_AUTO) {
			size_t i = 0;
			while (i < len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\t' ||
					   body[i] == '\r'))
				i++;
			encoding = i < len && body[i] == '{' ? OW_ENC_JSON : OW_ENC_PROTOBUF;
		}
		rc = decode(signal, encoding, body, len, win, r);
	}
	if (rc != OW_OK)
		ow_otlp_req_free(r);
	return rc;
}

void ow_otlp_to_msg(ow_otlp_req_t *r, ow_msg_t *m)
{
	ow_budget_release(m->charged + r->extra);
	r->extra = 0;
	m->charged = r->len + ow_table_bytes(r->table);
	ow_budget_charge(m->charged);
	m->table = r->table;
	m->payload = r->payload;
	m->len = r->len;
	m->records = r->records;
	r->table = NULL;
	r->payload = NULL;
	r->len = 0;
	r->records = 0;
}

/* ---- responses ---- */

/* Appends j as compact JSON and frees it. */
static void json_out(cJSON *j, ow_buf_t *out)
{
	char *text = cJSON_PrintUnformatted(j);
	ow_buf_addstr(out, text);
	cJSON_free(text);
	cJSON_Delete(j);
}

void ow_otlp_success(int signal, int encoding, const ow_rejects_t *rej, ow_buf_t *out)
{
	static const char *const what[OW_NSIGNALS] = {"spans", "log records", "data points"};
	static const char *const field[OW_NSIGNALS] = {"rejectedSpans", "rejectedLogRecords",
						       "rejectedDataPoints"};
	/* Without partial_success (which the spec says must then be unset): zero
	 * bytes in protobuf, an empty object in JSON. */
	if (rej->n == 0) {
		if (encoding == OW_ENC_JSON)
			ow_buf_addstr(out, "{}");
		return;
	}
	char msg[256];
	snprintf(msg, sizeof(msg), "%llu %s rejected; the first: %s", (unsigned long long)rej->n,
		 what[signal], rej->why);
	if (encoding == OW_ENC_JSON) {
		/* proto3 JSON: an int64 is a decimal string */
		char n[24];
		snprintf(n, sizeof(n), "%llu", (unsigned long long)rej->n);
		cJSON *j = cJSON_CreateObject(), *ps = cJSON_AddObjectToObject(j, "partialSuccess");
		cJSON_AddStringToObject(ps, field[signal], n);
		cJSON_AddStringToObject(ps, "errorMessage", msg);
		json_out(j, out);
		return;
	}
	/* The three Export*PartialSuccess messages are alike on the wire: field
	 * 1 the rejected count (int64, a varint), field 2 error_message; the
	 * response holds one as its field 1. Tags and lengths are varints, which
	 * are the LEB128 of Parquet's encodings. */
	ow_buf_t ps = {0};
	ow_pq_put_uvarint(&ps, 1 << 3 | 0);
	ow_pq_put_uvarint(&ps, rej->n);
	ow_pq_put_uvarint(&ps, 2 << 3 | 2);
	ow_pq_put_uvarint(&ps, strlen(msg));
	ow_buf_addstr(&ps, msg);
	ow_pq_put_uvarint(out, 1 << 3 | 2);
	ow_pq_put_uvarint(out, ps.len);
	ow_buf_add(out, ps.data, ps.len);
	ow_buf_free(&ps);
}

void ow_otlp_status_retry(int code, const char *message, int retry_after, ow_buf_t *out)
{
	static const char type[] = "type.googleapis.com/google.rpc.RetryInfo";
	/* RetryInfo {retry_delay: Duration {seconds}}, in an Any */
	ow_buf_t dur = {0}, d = {0}, any = {0};
	ow_pq_put_uvarint(&dur, 1 << 3 | 0);
	ow_pq_put_uvarint(&dur, (uint64_t)retry_after);
	ow_pq_put_uvarint(&d, 1 << 3 | 2);
	ow_pq_put_uvarint(&d, dur.len);
	ow_buf_add(&d, dur.data, dur.len);
	ow_pq_put_uvarint(&any, 1 << 3 | 2);
	ow_pq_put_uvarint(&any, sizeof(type) - 1);
	ow_buf_add(&any, type, sizeof(type) - 1);
	ow_pq_put_uvarint(&any, 2 << 3 | 2);
	ow_pq_put_uvarint(&any, d.len);
	ow_buf_add(&any, d.data, d.len);
	ProtobufCBinaryData detail = {any.len, any.data};
	Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
	st.code = code;
	st.message = (char *)message;
	st.n_details = 1;
	st.details = &detail;
	size_t n = google__rpc__status__get_packed_size(&st);
	ow_buf_reserve(out, n);
	out->len += google__rpc__status__pack(&st, out->data + out->len);
	ow_buf_free(&dur);
	ow_buf_free(&d);
	ow_buf_free(&any);
}

void ow_otlp_status(int encoding, int code, const char *message, ow_buf_t *out)
{
	if (encoding == OW_ENC_JSON) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddNumberToObject(j, "code", code);
		cJSON_AddStringToObject(j, "message", message);
		json_out(j, out);
		return;
	}
	Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
	st.code = code;
	st.message = (char *)message;
	size_t n = google__rpc__status__get_packed_size(&st);
	ow_buf_reserve(out, n);
	out->len += google__rpc__status__pack(&st, out->data + out->len);
}

/* columns: OTLP protobuf requests decode into column tables exactly. Every
 * column of the three signals, every AnyValue kind at its extremes, the
 * corners of the wire format, refusals that leave the table as it was, and
 * agreement with protobuf-c on which requests are valid and
 * how many records they hold. `columns.t --bench` measures decoding
 * instead of testing it. */
#include "../lib/tap.h"
#include "modules/columns/columns.h"

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <time.h>

typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;
typedef Opentelemetry__Proto__Common__V1__ArrayValue ArrayValue;
typedef Opentelemetry__Proto__Common__V1__KeyValueList KeyValueList;
typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope Scope;
typedef Opentelemetry__Proto__Common__V1__EntityRef EntityRef;
typedef Opentelemetry__Proto__Resource__V1__Resource Resource;
typedef Opentelemetry__Proto__Trace__V1__Span Span;
typedef Opentelemetry__Proto__Trace__V1__Span__Event Event;
typedef Opentelemetry__Proto__Trace__V1__Span__Link Link;
typedef Opentelemetry__Proto__Trace__V1__Status Status;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans ScopeSpans;
typedef Opentelemetry__Proto__Trace__V1__ResourceSpans ResourceSpans;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest TraceReq;
typedef Opentelemetry__Proto__Logs__V1__LogRecord LogRecord;
typedef Opentelemetry__Proto__Logs__V1__ScopeLogs ScopeLogs;
typedef Opentelemetry__Proto__Logs__V1__ResourceLogs ResourceLogs;
typedef Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest LogsReq;
typedef Opentelemetry__Proto__Metrics__V1__Metric Metric;
typedef Opentelemetry__Proto__Metrics__V1__Gauge Gauge;
typedef Opentelemetry__Proto__Metrics__V1__Sum Sum;
typedef Opentelemetry__Proto__Metrics__V1__Histogram Histogram;
typedef Opentelemetry__Proto__Metrics__V1__ExponentialHistogram ExpHistogram;
typedef Opentelemetry__Proto__Metrics__V1__Summary Summary;
typedef Opentelemetry__Proto__Metrics__V1__NumberDataPoint NumberPoint;
typedef Opentelemetry__Proto__Metrics__V1__HistogramDataPoint HistPoint;
typedef Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint ExpPoint;
typedef Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint__Buckets Buckets;
typedef Opentelemetry__Proto__Metrics__V1__SummaryDataPoint SummaryPoint;
typedef Opentelemetry__Proto__Metrics__V1__SummaryDataPoint__ValueAtQuantile Quantile;
typedef Opentelemetry__Proto__Metrics__V1__Exemplar Exemplar;
typedef Opentelemetry__Proto__Metrics__V1__ScopeMetrics ScopeMetrics;
typedef Opentelemetry__Proto__Metrics__V1__ResourceMetrics ResourceMetrics;
typedef Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest MetricsReq;

#define RECV INT64_C(1700000000123456789)

/* ---- building requests with protobuf-c: everything malloc'd, so that
 * protobuf_c_message_free_unpacked frees a whole tree ---- */

static void *dup_mem(const void *p, size_t n)
{
	void *q = malloc(n ? n : 1);
	memcpy(q, p, n);
	return q;
}

#define NEW(type, init) ((type *)dup_mem(&(type)init, sizeof(type)))
#define S(s) strdup(s)

static ProtobufCBinaryData B(const void *p, size_t n)
{
	return (ProtobufCBinaryData){n, n ? dup_mem(p, n) : NULL};
}

static void *vlist(size_t n, va_list ap)
{
	void **a = calloc(n ? n : 1, sizeof(void *));
	for (size_t i = 0; i < n; i++)
		a[i] = va_arg(ap, void *);
	return a;
}

static void *L(size_t n, ...)
{
	va_list ap;
	va_start(ap, n);
	void *a = vlist(n, ap);
	va_end(ap);
	return a;
}

/* msg->field = the n pointers that follow */
#define SET(msg, field, n, ...) ((msg)->n_##field = (n), (msg)->field = L(n, __VA_ARGS__))

static AnyValue *av_none(void)
{
	return NEW(AnyValue, OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT);
}

static AnyValue *av_str(const char *s)
{
	AnyValue *a = av_none();
	a->value_case = 1;
	a->string_value = S(s);
	return a;
}

static AnyValue *av_bool(int b)
{
	AnyValue *a = av_none();
	a->value_case = 2;
	a->bool_value = b;
	return a;
}

static AnyValue *av_int(int64_t v)
{
	AnyValue *a = av_none();
	a->value_case = 3;
	a->int_value = v;
	return a;
}

static AnyValue *av_dbl(double v)
{
	AnyValue *a = av_none();
	a->value_case = 4;
	a->double_value = v;
	return a;
}

static AnyValue *av_arr(size_t n, ...)
{
	AnyValue *a = av_none();
	ArrayValue *l = NEW(ArrayValue, OPENTELEMETRY__PROTO__COMMON__V1__ARRAY_VALUE__INIT);
	va_list ap;
	va_start(ap, n);
	l->n_values = n;
	l->values = vlist(n, ap);
	va_end(ap);
	a->value_case = 5;
	a->array_value = l;
	return a;
}

static AnyValue *av_kvl(size_t n, ...)
{
	AnyValue *a = av_none();
	KeyValueList *l = NEW(KeyValueList, OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE_LIST__INIT);
	va_list ap;
	va_start(ap, n);
	l->n_values = n;
	l->values = vlist(n, ap);
	va_end(ap);
	a->value_case = 6;
	a->kvlist_value = l;
	return a;
}

static AnyValue *av_bytes(const void *p, size_t n)
{
	AnyValue *a = av_none();
	a->value_case = 7;
	a->bytes_value = B(p, n);
	return a;
}

static KeyValue *kv(const char *key, AnyValue *v)
{
	KeyValue *k = NEW(KeyValue, OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT);
	k->key = S(key);
	k->value = v;
	return k;
}

static Resource *resource(void)
{
	return NEW(Resource, OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT);
}

static Scope *scope(const char *name, const char *version)
{
	Scope *s = NEW(Scope, OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT);
	s->name = S(name);
	s->version = S(version);
	return s;
}

/* A span has a trace_id and a span_id (without, it is skipped as invalid):
 * these unless a test sets others with set_bytes(). */
static const uint8_t DEF_TID[16] = {0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7,
				    0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf};
static const uint8_t DEF_SID[8] = {0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7};

static Span *span(const char *name)
{
	Span *s = NEW(Span, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__INIT);
	s->name = S(name);
	s->trace_id = B(DEF_TID, 16);
	s->span_id = B(DEF_SID, 8);
	return s;
}

static void set_bytes(ProtobufCBinaryData *f, ProtobufCBinaryData v)
{
	free(f->data);
	*f = v;
}

static ScopeSpans *scope_spans(Scope *sc, size_t n, ...)
{
	ScopeSpans *ss = NEW(ScopeSpans, OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT);
	va_list ap;
	va_start(ap, n);
	ss->scope = sc;
	ss->n_spans = n;
	ss->spans = vlist(n, ap);
	va_end(ap);
	return ss;
}

static ResourceSpans *resource_spans(Resource *r, size_t n, ...)
{
	ResourceSpans *rs =
	    NEW(ResourceSpans, OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT);
	va_list ap;
	va_start(ap, n);
	rs->resource = r;
	rs->n_scope_spans = n;
	rs->scope_spans = vlist(n, ap);
	va_end(ap);
	return rs;
}

static TraceReq *trace_req(size_t n, ...)
{
	TraceReq *r =
	    NEW(TraceReq,
		OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT);
	va_list ap;
	va_start(ap, n);
	r->n_resource_spans = n;
	r->resource_spans = vlist(n, ap);
	va_end(ap);
	return r;
}

static LogRecord *log_record(void)
{
	return NEW(LogRecord, OPENTELEMETRY__PROTO__LOGS__V1__LOG_RECORD__INIT);
}

static LogsReq *logs_req(Resource *r, Scope *sc, size_t n, ...)
{
	ScopeLogs *sl = NEW(ScopeLogs, OPENTELEMETRY__PROTO__LOGS__V1__SCOPE_LOGS__INIT);
	ResourceLogs *rl = NEW(ResourceLogs, OPENTELEMETRY__PROTO__LOGS__V1__RESOURCE_LOGS__INIT);
	LogsReq *req = NEW(
	    LogsReq, OPENTELEMETRY__PROTO__COLLECTOR__LOGS__V1__EXPORT_LOGS_SERVICE_REQUEST__INIT);
	va_list ap;
	va_start(ap, n);
	sl->scope = sc;
	sl->n_log_records = n;
	sl->log_records = vlist(n, ap);
	va_end(ap);
	rl->resource = r;
	SET(rl, scope_logs, 1, sl);
	SET(req, resource_logs, 1, rl);
	return req;
}

static Metric *metric(const char *name, int type, void *data)
{
	Metric *m = NEW(Metric, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__INIT);
	m->name = S(name);
	m->data_case = type;
	m->gauge = data; /* the union's members are all pointers */
	return m;
}

static MetricsReq *metrics_req(Resource *r, Scope *sc, size_t n, ...)
{
	ScopeMetrics *sm =
	    NEW(ScopeMetrics, OPENTELEMETRY__PROTO__METRICS__V1__SCOPE_METRICS__INIT);
	ResourceMetrics *rm =
	    NEW(ResourceMetrics, OPENTELEMETRY__PROTO__METRICS__V1__RESOURCE_METRICS__INIT);
	MetricsReq *req =
	    NEW(MetricsReq,
		OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_SERVICE_REQUEST__INIT);
	va_list ap;
	va_start(ap, n);
	sm->scope = sc;
	sm->n_metrics = n;
	sm->metrics = vlist(n, ap);
	va_end(ap);
	rm->resource = r;
	SET(rm, scope_metrics, 1, sm);
	SET(req, resource_metrics, 1, rm);
	return req;
}

static uint8_t *pack(const void *msg, size_t *len)
{
	*len = protobuf_c_message_get_packed_size(msg);
	uint8_t *b = malloc(*len ? *len : 1);
	protobuf_c_message_pack(msg, b);
	return b;
}

/* Packs and frees a request. */
static uint8_t *pack_free(void *msg, size_t *len)
{
	uint8_t *b = pack(msg, len);
	protobuf_c_message_free_unpacked(msg, NULL);
	return b;
}

/* ---- the reference: protobuf-c unpack, and the id checks OTLP asks for ---- */

static int id_ok(const ProtobufCBinaryData *id, size_t want)
{
	return id->len == 0 || id->len == want;
}

/* trace.proto: an empty or all-zero trace_id or span_id is invalid */
static int id_unset(const ProtobufCBinaryData *id)
{
	for (size_t i = 0; i < id->len; i++)
		if (id->data[i])
			return 0;
	return 1;
}

static int64_t count_spans(const TraceReq *r)
{
	int64_t n = 0;
	for (size_t i = 0; i < r->n_resource_spans; i++)
		for (size_t j = 0; j < r->resource_spans[i]->n_scope_spans; j++) {
			const ScopeSpans *ss = r->resource_spans[i]->scope_spans[j];
			for (size_t k = 0; k < ss->n_spans; k++) {
				const Span *s = ss->spans[k];
				if (!id_ok(&s->trace_id, 16) || !id_ok(&s->span_id, 8) ||
				    !id_ok(&s->parent_span_id, 8))
					return -1;
				/* skipped: what is inside is not looked at */
				if (id_unset(&s->trace_id) || id_unset(&s->span_id))
					continue;
				for (size_t l = 0; l < s->n_links; l++)
					if (!id_ok(&s->links[l]->trace_id, 16) ||
					    !id_ok(&s->links[l]->span_id, 8))
						return -1;
				n++;
			}
		}
	return n;
}

static int64_t count_logs(const LogsReq *r)
{
	int64_t n = 0;
	for (size_t i = 0; i < r->n_resource_logs; i++)
		for (size_t j = 0; j < r->resource_logs[i]->n_scope_logs; j++) {
			const ScopeLogs *sl = r->resource_logs[i]->scope_logs[j];
			for (size_t k = 0; k < sl->n_log_records; k++, n++)
				if (!id_ok(&sl->log_records[k]->trace_id, 16) ||
				    !id_ok(&sl->log_records[k]->span_id, 8))
					return -1;
		}
	return n;
}

static int64_t count_points(const MetricsReq *r)
{
	int64_t n = 0;
	for (size_t i = 0; i < r->n_resource_metrics; i++)
		for (size_t j = 0; j < r->resource_metrics[i]->n_scope_metrics; j++) {
			const ScopeMetrics *sm = r->resource_metrics[i]->scope_metrics[j];
			for (size_t k = 0; k < sm->n_metrics; k++) {
				const Metric *m = sm->metrics[k];
				switch (m->data_case) {
				case 5:
					n += (int64_t)m->gauge->n_data_points;
					break;
				case 7:
					n += (int64_t)m->sum->n_data_points;
					break;
				case 9:
					n += (int64_t)m->histogram->n_data_points;
					break;
				case 10:
					n += (int64_t)m->exponential_histogram->n_data_points;
					break;
				case 11:
					n += (int64_t)m->summary->n_data_points;
					break;
				default:
					break;
				}
			}
		}
	return n;
}

static const ProtobufCMessageDescriptor *const request_desc[OW_NSIGNALS] = {
    &opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor,
    &opentelemetry__proto__collector__logs__v1__export_logs_service_request__descriptor,
    &opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__descriptor,
};

/* Records in a request as protobuf-c sees it; -1 when it is not valid. */
static int64_t pbc_count(int signal, const uint8_t *pb, size_t n)
{
	ProtobufCMessage *m = protobuf_c_message_unpack(request_desc[signal], NULL, n, pb);
	if (!m)
		return -1;
	int64_t r = signal == OW_TRACES ? count_spans((const TraceReq *)m)
		    : signal == OW_LOGS ? count_logs((const LogsReq *)m)
					: count_points((const MetricsReq *)m);
	protobuf_c_message_free_unpacked(m, NULL);
	return r;
}

/* ---- reading tables back ---- */

static char err[256];
static ow_rejects_t rejects;

static int64_t decode(int signal, const uint8_t *p, size_t n, ow_table_t *t)
{
	err[0] = '\0';
	rejects = (ow_rejects_t){0};
	return ow_columns_decode(signal, p, n, RECV, t, &rejects, err, sizeof(err));
}

static int colx(const ow_table_t *t, const char *name)
{
	for (int i = 0; i < t->ncols; i++)
		if (strcmp(t->defs[i].name, name) == 0)
			return i;
	printf("Bail out! no column %s\n", name);
	exit(1);
}

static size_t width(const ow_pq_coldef_t *d)
{
	switch (d->type) {
	case OW_PQ_BOOLEAN:
		return 1;
	case OW_PQ_INT32:
		return 4;
	case OW_PQ_FIXED:
		return (size_t)d->fixed_len;
	default:
		return 8;
	}
}

/* The value of a row (NULL when null): bytes, or the fixed-width value. */
static const uint8_t *val(const ow_table_t *t, const char *name, size_t row, size_t *len)
{
	int c = colx(t, name);
	const ow_col_t *col = &t->cols[c];
	size_t i = row;
	if (row >= t->nrows) {
		printf("# %s: row %zu of %zu\n", name, row, t->nrows);
		return NULL;
	}
	if (t->defs[c].optional) {
		if (!col->defs.data[row])
			return NULL;
		i = 0;
		for (size_t r = 0; r < row; r++)
			i += col->defs.data[r];
	}
	if (t->defs[c].type == OW_PQ_BYTE_ARRAY) {
		const uint8_t *p = ow_col_bytes_at(col, ow_col_entry(col, i), len);
		return p ? p : (const uint8_t *)""; /* "" in a column that has no bytes yet */
	}
	*len = width(&t->defs[c]);
	return col->fixed.data + i * *len;
}

static int is_null(const ow_table_t *t, const char *name, size_t row)
{
	size_t n;
	if (val(t, name, row, &n) == NULL)
		return 1;
	printf("#   %s[%zu] is not null\n", name, row);
	return 0;
}

static int is_bytes(const ow_table_t *t, const char *name, size_t row, const void *want, size_t wn)
{
	size_t n = 0;
	const uint8_t *p = val(t, name, row, &n);
	if (p && n == wn && memcmp(p, want, n) == 0)
		return 1;
	if (!p)
		printf("#   %s[%zu] is null\n", name, row);
	else
		printf("#   %s[%zu] got %zu bytes: %.*s\n#   want %zu bytes: %.*s\n", name, row, n,
		       (int)OW_MIN(n, 600), (const char *)p, wn, (int)OW_MIN(wn, 600),
		       (const char *)want);
	return 0;
}

static int signal_of(const ow_table_t *t)
{
	return t->defs == ow_spans_schema  ? OW_TRACES
	       : t->defs == ow_logs_schema ? OW_LOGS
					   : OW_METRICS;
}

/* Whether the row's otlp_exact x[0..n) (NULL: none) has a member name. */
static int exact_has(const uint8_t *x, size_t n, const char *name)
{
	cJSON *j = x ? cJSON_ParseWithLength((const char *)x, n) : NULL;
	int has = cJSON_GetObjectItemCaseSensitive(j, name) != NULL;
	cJSON_Delete(j);
	return has;
}

/* A string or JSON value; want NULL means null. In a column whose plain
 * JSON is not OTLP/JSON (modules/columns/convert.c), want is the OTLP/JSON:
 * the row's plain value and otlp_exact give it back, and want converted
 * gives the plain value, losing something exactly when otlp_exact holds
 * the column. */
static int is_s(const ow_table_t *t, const char *name, size_t row, const char *want)
{
	int sig = signal_of(t), c = colx(t, name);
	if (!want)
		return is_null(t, name, row);
	if (!ow_columns_v1_differs(sig, c))
		return is_bytes(t, name, row, want, strlen(want));
	size_t n, xn = 0;
	const uint8_t *p = val(t, name, row, &n), *x = val(t, OW_COLUMNS_EXACT, row, &xn);
	if (!p)
		return is_bytes(t, name, row, want, strlen(want));
	ow_buf_t back = {0}, plain = {0};
	int rc = ow_columns_otlp(sig, c, p, n, x, xn, &back);
	int lossy = ow_columns_v1_plain(sig, c, (const uint8_t *)want, strlen(want), &plain);
	int pass = rc == OW_OK && back.len == strlen(want) &&
		   memcmp(back.data, want, back.len) == 0 && plain.len == n &&
		   memcmp(plain.data, p, n) == 0 && lossy == exact_has(x, xn, name);
	if (!pass)
		printf("#   %s[%zu]: plain %.*s\n#   otlp_exact %.*s\n#   back (%d) %.*s\n#   want "
		       "%.600s\n#   want as plain (%d) %.*s\n",
		       name, row, (int)OW_MIN(n, 600), (const char *)p, (int)OW_MIN(xn, 600),
		       x ? (const char *)x : "", rc, (int)OW_MIN(back.len, 600),
		       back.len ? (const char *)back.data : "", want, lossy,
		       (int)OW_MIN(plain.len, 600), plain.len ? (const char *)plain.data : "");
	ow_buf_free(&back);
	ow_buf_free(&plain);
	return pass;
}

/* A value as stored: plain JSON, or text. */
static int is_plain(const ow_table_t *t, const char *name, size_t row, const char *want)
{
	return is_bytes(t, name, row, want, strlen(want));
}

static int is_i64(const ow_table_t *t, const char *name, size_t row, int64_t want)
{
	size_t n;
	const uint8_t *p = val(t, name, row, &n);
	int64_t v = 0;
	if (p)
		memcpy(&v, p, 8);
	if (p && v == want)
		return 1;
	printf("#   %s[%zu] got %s%lld, want %lld\n", name, row, p ? "" : "null ", (long long)v,
	       (long long)want);
	return 0;
}

static int is_i32(const ow_table_t *t, const char *name, size_t row, int32_t want)
{
	size_t n;
	const uint8_t *p = val(t, name, row, &n);
	int32_t v = 0;
	if (p)
		memcpy(&v, p, 4);
	if (p && v == want)
		return 1;
	printf("#   %s[%zu] got %s%d, want %d\n", name, row, p ? "" : "null ", v, want);
	return 0;
}

/* bit for bit: NaN and -0.0 included */
static int is_f64(const ow_table_t *t, const char *name, size_t row, double want)
{
	size_t n;
	const uint8_t *p = val(t, name, row, &n);
	double v = 0;
	if (p)
		memcpy(&v, p, 8);
	if (p && memcmp(&v, &want, 8) == 0)
		return 1;
	printf("#   %s[%zu] got %s%.17g, want %.17g\n", name, row, p ? "" : "null ", v, want);
	return 0;
}

static int is_bool(const ow_table_t *t, const char *name, size_t row, int want)
{
	size_t n;
	const uint8_t *p = val(t, name, row, &n);
	if (p && *p == want)
		return 1;
	printf("#   %s[%zu] got %s%d\n", name, row, p ? "" : "null ", p ? *p : 0);
	return 0;
}

#define CHECK(e) ok(e, "%s", #e)

/* Every column has the table's rows, its buffers agree with its values,
 * and every JSON value parses. */
static int table_ok(const ow_table_t *t)
{
	for (int c = 0; c < t->ncols; c++) {
		const ow_col_t *col = &t->cols[c];
		const ow_pq_coldef_t *d = &t->defs[c];
		size_t nvals = col->nrows;
		if (col->nrows != t->nrows) {
			printf("#   %s has %zu rows of %zu\n", d->name, col->nrows, t->nrows);
			return 0;
		}
		if (d->optional) {
			nvals = 0;
			for (size_t r = 0; r < col->defs.len; r++)
				nvals += col->defs.data[r];
			if (col->defs.len != col->nrows)
				return printf("#   %s: defs\n", d->name), 0;
		}
		if (nvals != col->nvals)
			return printf("#   %s: %zu values, counted %zu\n", d->name, col->nvals,
				      nvals),
			       0;
		if (d->type != OW_PQ_BYTE_ARRAY) {
			if (col->fixed.len != nvals * width(d))
				return printf("#   %s: fixed bytes\n", d->name), 0;
			continue;
		}
		/* entries: one a value, or as many as the refs name (each
		 * named, in the order of their first use) */
		const uint32_t *o = (const uint32_t *)col->offs.data;
		size_t nent = col->offs.len / 4;
		if (col->refs.len) {
			const uint32_t *rf = (const uint32_t *)col->refs.data;
			uint32_t next = 0;
			if (col->refs.len != nvals * 4)
				return printf("#   %s: refs\n", d->name), 0;
			for (size_t i = 0; i < nvals; i++) {
				if (rf[i] > next || rf[i] >= nent)
					return printf("#   %s: ref %zu\n", d->name, i), 0;
				next += rf[i] == next;
			}
			if (next != nent)
				return printf("#   %s: %zu entries, %u used\n", d->name, nent,
					      next),
				       0;
		} else if (nent != nvals) {
			return printf("#   %s: offsets\n", d->name), 0;
		}
		if (nent && o[nent - 1] != col->data.len)
			return printf("#   %s: offsets\n", d->name), 0;
		for (size_t i = 0; d->logical == OW_PQ_L_JSON && i < nent; i++) {
			size_t n;
			const uint8_t *p = ow_col_bytes_at(col, i, &n);
			cJSON *j = cJSON_ParseWithLength((const char *)p, n);
			if (!j)
				return printf("#   %s: invalid JSON %.*s\n", d->name,
					      (int)OW_MIN(n, 300), (const char *)p),
				       0;
			cJSON_Delete(j);
		}
	}
	return 1;
}

/* Everything a table holds, to compare it before and after. */
static void snapshot(const ow_table_t *t, ow_buf_t *out)
{
	out->len = 0;
	ow_buf_add(out, &t->nrows, sizeof(t->nrows));
	for (int c = 0; c < t->ncols; c++) {
		const ow_col_t *col = &t->cols[c];
		const ow_buf_t *bufs[] = {&col->fixed, &col->data, &col->offs, &col->defs};
		for (int i = 0; i < 4; i++) {
			ow_buf_add(out, &bufs[i]->len, sizeof(size_t));
			if (bufs[i]->len)
				ow_buf_add(out, bufs[i]->data, bufs[i]->len);
		}
		ow_buf_add(out, &col->nrows, sizeof(col->nrows));
		ow_buf_add(out, &col->nvals, sizeof(col->nvals));
	}
}

static int same(const ow_buf_t *a, const ow_buf_t *b)
{
	return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

/* A refused request: -1, a message naming the problem, the table as it was. */
static int refused(int signal, const uint8_t *p, size_t n, ow_table_t *t, const char *why)
{
	ow_buf_t before = {0}, after = {0};
	snapshot(t, &before);
	int64_t r = decode(signal, p, n, t);
	snapshot(t, &after);
	int good = r == -1 && strstr(err, why) && same(&before, &after);
	if (!good)
		printf("#   got %lld \"%s\", want -1 \"%s\"%s\n", (long long)r, err, why,
		       same(&before, &after) ? "" : "; the table changed");
	ow_buf_free(&before);
	ow_buf_free(&after);
	return good;
}

/* ---- spans ---- */

static const uint8_t TID[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t SID[8] = {0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18};
static const uint8_t PID[8] = {0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28};
static const uint8_t LTID[16] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
				 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf};
static const uint8_t LSID[8] = {0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7};

static TraceReq *spans_request(void)
{
	Resource *r1 = resource();
	SET(r1, attributes, 2, kv("service.name", av_str("checkout")),
	    kv("host.name", av_str("h1")));
	r1->dropped_attributes_count = 3;
	EntityRef *er = NEW(EntityRef, OPENTELEMETRY__PROTO__COMMON__V1__ENTITY_REF__INIT);
	er->schema_url = S("s");
	er->type = S("service");
	SET(er, id_keys, 1, S("service.name"));
	SET(er, description_keys, 2, S("host.name"), S("h\"2"));
	SET(r1, entity_refs, 1, er);
	Scope *sc = scope("lib", "1.0");
	SET(sc, attributes, 1, kv("k", av_int(1)));
	sc->dropped_attributes_count = 2;

	Span *a = span("GET /");
	set_bytes(&a->trace_id, B(TID, 16));
	set_bytes(&a->span_id, B(SID, 8));
	a->parent_span_id = B(PID, 8);
	a->trace_state = S("a=b");
	a->flags = 0x301;
	a->kind = 2;
	a->start_time_unix_nano = 1700000000000000000;
	a->end_time_unix_nano = 1700000001000000000;
	SET(a, attributes, 2, kv("http.method", av_str("GET")),
	    kv("http.status_code", av_int(200)));
	a->dropped_attributes_count = 4;
	Event *e1 = NEW(Event, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__EVENT__INIT);
	e1->time_unix_nano = 1700000000500000000;
	e1->name = S("ev1");
	SET(e1, attributes, 1, kv("a", av_bool(1)));
	e1->dropped_attributes_count = 1;
	SET(a, events, 2, e1, NEW(Event, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__EVENT__INIT));
	a->dropped_events_count = 5;
	Link *l1 = NEW(Link, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__LINK__INIT);
	l1->trace_id = B(LTID, 16);
	l1->span_id = B(LSID, 8);
	l1->trace_state = S("x=y");
	SET(l1, attributes, 1, kv("l", av_dbl(1.5)));
	l1->dropped_attributes_count = 7;
	l1->flags = 256;
	SET(a, links, 2, l1, NEW(Link, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__LINK__INIT));
	a->dropped_links_count = 6;
	a->status = NEW(Status, OPENTELEMETRY__PROTO__TRACE__V1__STATUS__INIT);
	a->status->code = 2;
	a->status->message = S("boom");

	Span *c = span("c");
	c->kind = 5;
	c->end_time_unix_nano = UINT64_MAX;
	Span *e = span("e");
	e->start_time_unix_nano = UINT64_MAX;
	e->status = NEW(Status, OPENTELEMETRY__PROTO__TRACE__V1__STATUS__INIT);

	Resource *r3 = resource();
	SET(r3, attributes, 2, kv("service.name", av_int(7)), kv("service.name", av_str("second")));
	ResourceSpans *rs1 = resource_spans(r1, 2, scope_spans(sc, 4, a, span(""), c, e),
					    scope_spans(NULL, 1, span("no scope")));
	rs1->schema_url = S("https://r");
	rs1->scope_spans[0]->schema_url = S("https://s");
	return trace_req(
	    3, rs1, resource_spans(NULL, 1, scope_spans(scope("", ""), 1, span("no resource"))),
	    resource_spans(r3, 1, scope_spans(NULL, 1, span("int service"))));
}

static void test_spans(void)
{
	ow_table_t t;
	size_t n;
	uint8_t *pb = pack_free(spans_request(), &n);
	ow_columns_table_init(OW_TRACES, &t);
	is_int(t.ncols, OW_SPANS_NCOLS, "spans: %d columns", OW_SPANS_NCOLS);
	is_int(decode(OW_TRACES, pb, n, &t), 7, "spans: 7 records");
	ok(table_ok(&t), "spans: the table is consistent, its JSON valid");
	is_int(pbc_count(OW_TRACES, pb, n), 7, "protobuf-c counts the same");

	const char *rattrs = "{\"service.name\":{\"stringValue\":\"checkout\"},\"host.name\":{"
			     "\"stringValue\":\"h1\"}}";
	const char *refs =
	    "[{\"schemaUrl\":\"s\",\"type\":\"service\",\"idKeys\":[\"service.name\"],"
	    "\"descriptionKeys\":[\"host.name\",\"h\\\"2\"]}]";
	for (size_t r = 0; r < 5; r++) {
		ok(is_s(&t, "service_name", r, "checkout") &&
		       is_s(&t, "resource_attributes", r, rattrs) &&
		       is_i32(&t, "resource_dropped_attributes_count", r, 3) &&
		       is_s(&t, "resource_schema_url", r, "https://r") &&
		       is_s(&t, "resource_entity_refs", r, refs),
		   "span %zu: resource columns", r);
	}
	for (size_t r = 0; r < 4; r++)
		ok(is_s(&t, "scope_name", r, "lib") && is_s(&t, "scope_version", r, "1.0") &&
		       is_s(&t, "scope_attributes", r, "{\"k\":{\"intValue\":\"1\"}}") &&
		       is_i32(&t, "scope_dropped_attributes_count", r, 2) &&
		       is_s(&t, "scope_schema_url", r, "https://s"),
		   "span %zu: scope columns", r);

	CHECK(is_bytes(&t, "trace_id", 0, TID, 16));
	CHECK(is_bytes(&t, "span_id", 0, SID, 8));
	CHECK(is_bytes(&t, "parent_span_id", 0, PID, 8));
	CHECK(is_s(&t, "trace_state", 0, "a=b"));
	CHECK(is_i32(&t, "flags", 0, 0x301));
	CHECK(is_s(&t, "name", 0, "GET /"));
	CHECK(is_i32(&t, "kind", 0, 2));
	CHECK(is_i64(&t, "start_time", 0, 1700000000000000000));
	CHECK(is_i64(&t, "end_time", 0, 1700000001000000000));
	CHECK(is_i64(&t, "duration_ns", 0, 1000000000));
	CHECK(is_s(&t, "attributes", 0,
		   "{\"http.method\":{\"stringValue\":\"GET\"},\"http.status_code\":{\"intValue\":"
		   "\"200\"}}"));
	CHECK(is_i32(&t, "dropped_attributes_count", 0, 4));
	CHECK(is_s(&t, "events", 0,
		   "[{\"timeUnixNano\":\"1700000000500000000\",\"name\":\"ev1\",\"attributes\":{"
		   "\"a\":{\"boolValue\":true}},\"droppedAttributesCount\":1},{\"timeUnixNano\":"
		   "\"0\",\"name\":\"\",\"attributes\":{},\"droppedAttributesCount\":0}]"));
	CHECK(is_i32(&t, "dropped_events_count", 0, 5));
	CHECK(is_s(&t, "links", 0,
		   "[{\"traceId\":\"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf\",\"spanId\":"
		   "\"b0b1b2b3b4b5b6b7\",\"traceState\":\"x=y\",\"attributes\":{\"l\":{"
		   "\"doubleValue\":1.5}},\"droppedAttributesCount\":7,\"flags\":256},{\"traceId\":"
		   "\"\",\"spanId\":\"\",\"traceState\":\"\",\"attributes\":{},"
		   "\"droppedAttributesCount\":0,\"flags\":0}]"));
	CHECK(is_i32(&t, "dropped_links_count", 0, 6));
	CHECK(is_i32(&t, "status_code", 0, 2));
	CHECK(is_s(&t, "status_message", 0, "boom"));

	ok(is_bytes(&t, "trace_id", 1, DEF_TID, 16) && is_bytes(&t, "span_id", 1, DEF_SID, 8) &&
	       is_null(&t, "parent_span_id", 1) && is_s(&t, "trace_state", 1, "") &&
	       is_i32(&t, "flags", 1, 0) && is_s(&t, "name", 1, "") && is_i32(&t, "kind", 1, 0) &&
	       is_i64(&t, "start_time", 1, 0) && is_i64(&t, "end_time", 1, 0) &&
	       is_i64(&t, "duration_ns", 1, 0) && is_null(&t, "attributes", 1) &&
	       is_i32(&t, "dropped_attributes_count", 1, 0) && is_null(&t, "events", 1) &&
	       is_null(&t, "links", 1) && is_i32(&t, "status_code", 1, 0) &&
	       is_null(&t, "status_message", 1),
	   "a span of ids only: null parent, lists and status message; 0 and \"\" for the rest");
	ok(is_i64(&t, "start_time", 2, 0) && is_i64(&t, "end_time", 2, -1) &&
	       is_i64(&t, "duration_ns", 2, -1) && is_i32(&t, "kind", 2, 5),
	   "end time 2^64-1 reads back as -1 (its bits); duration end - start wraps");
	ok(is_i64(&t, "start_time", 3, -1) && is_i64(&t, "end_time", 3, 0) &&
	       is_i64(&t, "duration_ns", 3, 1),
	   "start time 2^64-1, end 0");
	ok(is_i32(&t, "status_code", 3, 0) && is_s(&t, "status_message", 3, ""),
	   "a status without fields: code 0, message \"\" (present)");
	ok(is_null(&t, "scope_name", 4) && is_null(&t, "scope_version", 4) &&
	       is_null(&t, "scope_attributes", 4) &&
	       is_i32(&t, "scope_dropped_attributes_count", 4, 0) &&
	       is_s(&t, "scope_schema_url", 4, "") && is_s(&t, "name", 4, "no scope"),
	   "no scope: null scope columns, 0 dropped");
	ok(is_null(&t, "service_name", 5) && is_null(&t, "resource_attributes", 5) &&
	       is_i32(&t, "resource_dropped_attributes_count", 5, 0) &&
	       is_s(&t, "resource_schema_url", 5, "") && is_null(&t, "resource_entity_refs", 5) &&
	       is_s(&t, "scope_name", 5, "") && is_s(&t, "scope_version", 5, ""),
	   "no resource: null resource columns; a scope without a name: \"\"");
	ok(is_null(&t, "service_name", 6) &&
	       is_s(&t, "resource_attributes", 6,
		    "{\"service.name\":{\"intValue\":\"7\"},\"service.name\":{\"stringValue\":"
		    "\"second\"}}"),
	   "the first service.name decides (an int: null); duplicate keys are kept in order");
	is_int(ow_columns_time_col(OW_TRACES), colx(&t, "start_time"), "spans: time column");
	is_int(ow_columns_row_time(OW_TRACES, &t, 0), 1700000000000000000, "span time: start");
	is_int(ow_columns_row_time(OW_TRACES, &t, 1), 0, "span time 0 stays 0");

	/* a second request appends */
	is_int(decode(OW_TRACES, pb, n, &t), 7, "a second request appends");
	ok(t.nrows == 14 && table_ok(&t) && is_s(&t, "name", 7, "GET /") &&
	       is_s(&t, "service_name", 13, NULL),
	   "14 rows");
	free(pb);
	ow_table_free(&t);
}

/* ---- logs and AnyValue ---- */

/* key, value and the JSON member expected for it, in OTLP/JSON and plain */
typedef struct {
	const char *key;
	AnyValue *v;
	const char *json, *plain;
} attr_case_t;

/* A request of one log record whose attributes hold every kind of
 * AnyValue at its extremes, the last a string of big_n bytes (a pattern
 * that needs escaping and holds a 3-byte character); want gets the JSON
 * expected for them. */
static uint8_t *any_values_request(size_t big_n, ow_buf_t *want, ow_buf_t *want_plain, size_t *len)
{
	uint8_t all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	char *big = malloc(big_n + 1);
	ow_buf_t big_json = {0}, big_plain = {0};
	for (size_t i = 0; i + 6 <= big_n; i += 6)
		memcpy(big + i, "x\"\n\xe2\x9c\x93", 6);
	big_n -= big_n % 6;
	big[big_n] = '\0';
	ow_buf_addstr(&big_json, "\"big\":{\"stringValue\":\"");
	for (size_t i = 0; i < big_n; i += 6)
		ow_buf_addstr(&big_json, "x\\\"\\n\xe2\x9c\x93");
	ow_buf_addstr(&big_json, "\"}");
	ow_buf_add(&big_json, "", 1);
	ow_buf_addstr(&big_plain, "\"big\":\"");
	for (size_t i = 0; i < big_n; i += 6)
		ow_buf_addstr(&big_plain, "x\\\"\\n\xe2\x9c\x93");
	ow_buf_add(&big_plain, "\"", 2);

	AnyValue *strindex = av_none();
	strindex->value_case = 8;
	strindex->string_value_strindex = 7;
	KeyValue *kstr = kv("", av_int(5));
	kstr->key_strindex = 3;
	KeyValue *novalue = kv("novalue", NULL);

	attr_case_t cases[] = {
	    {"s", av_str(""), "\"s\":{\"stringValue\":\"\"}", "\"s\":\"\""},
	    {"u", av_str("h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9d\x84\x9e \xf4\x8f\xbf\xbf"),
	     "\"u\":{\"stringValue\":\"h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9d\x84\x9e "
	     "\xf4\x8f\xbf\xbf\"}",
	     "\"u\":\"h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9d\x84\x9e \xf4\x8f\xbf\xbf\""},
	    {"ctl\n\"", av_str("\x01\x02\b\f\n\r\t\x1f\"\\/\x7f"),
	     "\"ctl\\n\\\"\":{\"stringValue\":\"\\u0001\\u0002\\b\\f\\n\\r\\t\\u001f\\\"\\\\/"
	     "\x7f\"}",
	     "\"ctl\\n\\\"\":\"\\u0001\\u0002\\b\\f\\n\\r\\t\\u001f\\\"\\\\/\x7f\""},
	    {"t", av_bool(1), "\"t\":{\"boolValue\":true}", "\"t\":true"},
	    {"f", av_bool(0), "\"f\":{\"boolValue\":false}", "\"f\":false"},
	    {"imin", av_int(INT64_MIN), "\"imin\":{\"intValue\":\"-9223372036854775808\"}",
	     "\"imin\":-9223372036854775808"},
	    {"imax", av_int(INT64_MAX), "\"imax\":{\"intValue\":\"9223372036854775807\"}",
	     "\"imax\":9223372036854775807"},
	    {"zero", av_int(0), "\"zero\":{\"intValue\":\"0\"}", "\"zero\":0"},
	    {"nan", av_dbl(NAN), "\"nan\":{\"doubleValue\":\"NaN\"}", "\"nan\":\"NaN\""},
	    {"inf", av_dbl(INFINITY), "\"inf\":{\"doubleValue\":\"Infinity\"}",
	     "\"inf\":\"Infinity\""},
	    {"ninf", av_dbl(-INFINITY), "\"ninf\":{\"doubleValue\":\"-Infinity\"}",
	     "\"ninf\":\"-Infinity\""},
	    {"nzero", av_dbl(-0.0), "\"nzero\":{\"doubleValue\":-0.0}", "\"nzero\":-0.0"},
	    {"one", av_dbl(1.0), "\"one\":{\"doubleValue\":1.0}", "\"one\":1.0"},
	    {"big", av_dbl(1e300), "\"big\":{\"doubleValue\":1e+300}", "\"big\":1e+300"},
	    {"tiny", av_dbl(5e-324), "\"tiny\":{\"doubleValue\":4.94065645841247e-324}",
	     "\"tiny\":4.94065645841247e-324"},
	    {"tenth", av_dbl(0.1), "\"tenth\":{\"doubleValue\":0.1}", "\"tenth\":0.1"},
	    {"third", av_dbl(1.0 / 3), "\"third\":{\"doubleValue\":0.3333333333333333}",
	     "\"third\":0.3333333333333333"},
	    {"max", av_dbl(1.7976931348623157e308),
	     "\"max\":{\"doubleValue\":1.7976931348623157e+308}",
	     "\"max\":1.7976931348623157e+308"},
	    {"e20", av_dbl(-1e20), "\"e20\":{\"doubleValue\":-1e+20}", "\"e20\":-1e+20"},
	    {"int", av_dbl(123456789012.0), "\"int\":{\"doubleValue\":123456789012.0}",
	     "\"int\":123456789012.0"},
	    {"bytes", av_bytes(all, 256),
	     "\"bytes\":{\"bytesValue\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJy"
	     "gpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2Rl"
	     "ZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6Ch"
	     "oqOkpaanqKmqq6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd"
	     "3t/g4eLj5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/w==\"}",
	     "\"bytes\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJy"
	     "gpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2Rl"
	     "ZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6Ch"
	     "oqOkpaanqKmqq6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd"
	     "3t/g4eLj5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/w==\""},
	    {"b1", av_bytes(all, 1), "\"b1\":{\"bytesValue\":\"AA==\"}", "\"b1\":\"AA==\""},
	    {"b2", av_bytes(all, 2), "\"b2\":{\"bytesValue\":\"AAE=\"}", "\"b2\":\"AAE=\""},
	    {"b0", av_bytes(all, 0), "\"b0\":{\"bytesValue\":\"\"}", "\"b0\":\"\""},
	    {"arr",
	     av_arr(4, av_int(1), av_str("x"), av_arr(2, av_bool(1), av_arr(0)),
		    av_kvl(2, kv("kv", av_none()), kv("n", av_kvl(0)))),
	     "\"arr\":{\"arrayValue\":{\"values\":[{\"intValue\":\"1\"},{\"stringValue\":\"x\"},{"
	     "\"arrayValue\":{\"values\":[{\"boolValue\":true},{\"arrayValue\":{\"values\":[]}}]}},"
	     "{\"kvlistValue\":{\"values\":[{\"key\":\"kv\",\"value\":{}},{\"key\":\"n\","
	     "\"value\":{\"kvlistValue\":{\"values\":[]}}}]}}]}}",
	     "\"arr\":[1,\"x\",[true,[]],{\"kv\":null,\"n\":{}}]"},
	    {"empty", av_none(), "\"empty\":{}", "\"empty\":null"},
	    {"dup", av_str("a"), "\"dup\":{\"stringValue\":\"a\"}", "\"dup\":\"a\""},
	    {"dup", av_str("b"), "\"dup\":{\"stringValue\":\"b\"}", "\"dup\":\"b\""},
	    {"si", strindex, "\"si\":{\"stringValueStrindex\":7}", "\"si\":7"},
	    {NULL, NULL, "\"\":{\"intValue\":\"5\",\"keyStrindex\":3}", "\"\":5"},
	    {NULL, NULL, "\"novalue\":{}", "\"novalue\":null"},
	    {"big", av_str(big), (const char *)big_json.data, (const char *)big_plain.data},
	};
	size_t nc = OW_NELEMS(cases);
	LogRecord *lr = log_record();
	lr->n_attributes = nc;
	lr->attributes = calloc(nc, sizeof(KeyValue *));
	want->len = want_plain->len = 0;
	ow_buf_addstr(want, "{");
	ow_buf_addstr(want_plain, "{");
	for (size_t i = 0; i < nc; i++) {
		lr->attributes[i] =
		    cases[i].key ? kv(cases[i].key, cases[i].v) : (i == nc - 2 ? novalue : kstr);
		ow_buf_addstr(want, i ? "," : "");
		ow_buf_addstr(want, cases[i].json);
		ow_buf_addstr(want_plain, i ? "," : "");
		ow_buf_addstr(want_plain, cases[i].plain);
	}
	ow_buf_add(want, "}", 2);
	ow_buf_add(want_plain, "}", 2);
	ow_buf_free(&big_json);
	ow_buf_free(&big_plain);
	free(big);
	return pack_free(logs_req(NULL, NULL, 1, lr), len);
}

static void test_any_values(void)
{
	ow_buf_t want = {0}, want_plain = {0};
	size_t n;
	uint8_t *pb = any_values_request(1 << 20, &want, &want_plain, &n);
	ow_table_t t;
	ow_columns_table_init(OW_LOGS, &t);
	is_int(decode(OW_LOGS, pb, n, &t), 1, "every AnyValue kind: one record");
	ok(table_ok(&t), "valid JSON (1 MB string included)");
	ok(is_plain(&t, "attributes", 0, (const char *)want_plain.data),
	   "attributes stored plain: every AnyValue kind, extremes, nesting, duplicates, strindex, "
	   "escapes");
	ok(is_s(&t, "attributes", 0, (const char *)want.data),
	   "attributes: plain and otlp_exact give the OTLP/JSON back exactly, and it converts to "
	   "the plain value");
	size_t xn;
	const uint8_t *x = val(&t, OW_COLUMNS_EXACT, 0, &xn);
	cJSON *j = x ? cJSON_ParseWithLength((const char *)x, xn) : NULL;
	ok(j && cJSON_GetArraySize(j) == 1 && cJSON_GetObjectItemCaseSensitive(j, "attributes"),
	   "otlp_exact holds the attributes (bytes, NaN, strindex lose their type in plain) and "
	   "nothing else");
	cJSON_Delete(j);
	free(pb);
	ow_table_free(&t);
	ow_buf_free(&want);
	ow_buf_free(&want_plain);
}

static LogsReq *logs_request(void)
{
	Resource *r = resource();
	SET(r, attributes, 1, kv("service.name", av_str("api")));
	LogRecord *a = log_record();
	a->time_unix_nano = 1;
	a->observed_time_unix_nano = 2;
	a->severity_number = 17;
	a->severity_text = S("ERROR");
	a->body = av_str("hello");
	SET(a, attributes, 1, kv("k", av_str("v")));
	a->dropped_attributes_count = 3;
	a->flags = 0xffffffff;
	a->trace_id = B(TID, 16);
	a->span_id = B(SID, 8);
	a->event_name = S("ev");
	LogRecord *c = log_record();
	c->time_unix_nano = UINT64_MAX;
	c->body = av_none();
	LogRecord *d = log_record();
	d->observed_time_unix_nano = 5;
	d->body = av_kvl(1, kv("a", av_arr(2, av_int(1), av_int(2))));
	LogRecord *e = log_record();
	e->body = av_bytes("\x01\x02", 2);
	return logs_req(r, scope("s", "v"), 5, a, log_record(), c, d, e);
}

static void test_logs(void)
{
	size_t n;
	uint8_t *pb = pack_free(logs_request(), &n);
	ow_table_t t;
	ow_columns_table_init(OW_LOGS, &t);
	is_int(t.ncols, OW_LOGS_NCOLS, "logs: %d columns", OW_LOGS_NCOLS);
	is_int(decode(OW_LOGS, pb, n, &t), 5, "logs: 5 records");
	ok(table_ok(&t), "logs: the table is consistent");
	ok(is_s(&t, "service_name", 0, "api") && is_s(&t, "scope_name", 4, "s") &&
	       is_s(&t, "scope_version", 4, "v"),
	   "logs: common columns");
	CHECK(is_i64(&t, "time", 0, 1));
	CHECK(is_i64(&t, "observed_time", 0, 2));
	CHECK(is_i32(&t, "severity_number", 0, 17));
	CHECK(is_s(&t, "severity_text", 0, "ERROR"));
	CHECK(is_s(&t, "body", 0, "{\"stringValue\":\"hello\"}"));
	CHECK(is_s(&t, "attributes", 0, "{\"k\":{\"stringValue\":\"v\"}}"));
	CHECK(is_i32(&t, "dropped_attributes_count", 0, 3));
	CHECK(is_i32(&t, "flags", 0, -1));
	CHECK(is_bytes(&t, "trace_id", 0, TID, 16));
	CHECK(is_bytes(&t, "span_id", 0, SID, 8));
	CHECK(is_s(&t, "event_name", 0, "ev"));
	ok(is_i64(&t, "time", 1, 0) && is_i64(&t, "observed_time", 1, RECV) &&
	       is_i32(&t, "severity_number", 1, 0) && is_s(&t, "severity_text", 1, "") &&
	       is_null(&t, "body", 1) && is_null(&t, "attributes", 1) &&
	       is_null(&t, "trace_id", 1) && is_null(&t, "span_id", 1) &&
	       is_s(&t, "event_name", 1, "") && is_i32(&t, "flags", 1, 0),
	   "an empty log record: time 0, observed time = receive time, null body and ids");
	ok(is_s(&t, "body", 2, "{}") && is_i64(&t, "time", 2, -1),
	   "a body with no value: {}; time 2^64-1 is -1");
	CHECK(is_s(&t, "body", 3,
		   "{\"kvlistValue\":{\"values\":[{\"key\":\"a\",\"value\":{\"arrayValue\":{"
		   "\"values\":[{\"intValue\":\"1\"},{\"intValue\":\"2\"}]}}}]}}"));
	CHECK(is_s(&t, "body", 4, "{\"bytesValue\":\"AQI=\"}"));
	is_int(ow_columns_time_col(OW_LOGS), colx(&t, "time"), "logs: time column");
	is_int(ow_columns_row_time(OW_LOGS, &t, 0), 1, "log time: time");
	is_int(ow_columns_row_time(OW_LOGS, &t, 1), RECV, "log time 0, observed 0: receive time");
	is_int(ow_columns_row_time(OW_LOGS, &t, 3), 5, "log time 0: observed time");
	is_int(ow_columns_row_time(OW_LOGS, &t, 2), -1, "log time 2^64-1: bits kept");
	free(pb);
	ow_table_free(&t);
}

/* ---- metrics ---- */

static Exemplar *exemplar(uint64_t time, int vcase, double d, int64_t i, int ids)
{
	Exemplar *x = NEW(Exemplar, OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__INIT);
	x->time_unix_nano = time;
	x->value_case = vcase;
	if (vcase == 3)
		x->as_double = d;
	if (vcase == 6)
		x->as_int = i;
	if (ids) {
		x->span_id = B(SID, 8);
		x->trace_id = B(TID, 16);
		SET(x, filtered_attributes, 1, kv("f", av_bool(1)));
	}
	return x;
}

static NumberPoint *number_point(int vcase, double d, int64_t i)
{
	NumberPoint *p =
	    NEW(NumberPoint, OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__INIT);
	p->value_case = vcase;
	if (vcase == 4)
		p->as_double = d;
	if (vcase == 6)
		p->as_int = i;
	return p;
}

static Buckets *buckets(int32_t offset, size_t n, const uint64_t *counts)
{
	Buckets *b =
	    NEW(Buckets,
		OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__BUCKETS__INIT);
	b->offset = offset;
	b->n_bucket_counts = n;
	b->bucket_counts = dup_mem(counts, n * 8);
	return b;
}

static Quantile *quantile(double q, double v)
{
	Quantile *x =
	    NEW(Quantile,
		OPENTELEMETRY__PROTO__METRICS__V1__SUMMARY_DATA_POINT__VALUE_AT_QUANTILE__INIT);
	x->quantile = q;
	x->value = v;
	return x;
}

static MetricsReq *metrics_request(void)
{
	NumberPoint *g0 = number_point(4, 1.5, 0);
	SET(g0, attributes, 1, kv("a", av_str("1")));
	g0->start_time_unix_nano = 10;
	g0->time_unix_nano = 20;
	SET(g0, exemplars, 1, exemplar(21, 3, 0.5, 0, 1));
	g0->flags = 1;
	Gauge *g = NEW(Gauge, OPENTELEMETRY__PROTO__METRICS__V1__GAUGE__INIT);
	SET(g, data_points, 3, g0, number_point(6, 0, INT64_MIN), number_point(0, 0, 0));
	Metric *mg = metric("g", 5, g);
	mg->description = S("gd");
	mg->unit = S("1");
	SET(mg, metadata, 1, kv("m", av_str("v")));

	NumberPoint *s0 = number_point(6, 0, 42);
	SET(s0, exemplars, 2, exemplar(0, 6, 0, -1, 0), exemplar(5, 0, 0, 0, 0));
	Sum *s = NEW(Sum, OPENTELEMETRY__PROTO__METRICS__V1__SUM__INIT);
	s->aggregation_temporality = 2;
	s->is_monotonic = 1;
	SET(s, data_points, 1, s0);

	HistPoint *h0 =
	    NEW(HistPoint, OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__INIT);
	h0->count = 10;
	h0->_sum_case = 5;
	h0->sum = 5.5;
	uint64_t hb[] = {1, UINT64_MAX};
	double bounds[] = {-INFINITY, 0.5, 1e300};
	h0->n_bucket_counts = 2;
	h0->bucket_counts = dup_mem(hb, sizeof(hb));
	h0->n_explicit_bounds = 3;
	h0->explicit_bounds = dup_mem(bounds, sizeof(bounds));
	h0->_min_case = 11;
	h0->min = -1;
	h0->_max_case = 12;
	h0->max = 2;
	SET(h0, exemplars, 1, exemplar(1, 3, NAN, 0, 0));
	Histogram *h = NEW(Histogram, OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM__INIT);
	h->aggregation_temporality = 1;
	SET(h, data_points, 2, h0,
	    NEW(HistPoint, OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__INIT));

	ExpPoint *e0 = NEW(
	    ExpPoint, OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__INIT);
	e0->count = 7;
	e0->_sum_case = 5;
	e0->sum = 3.25;
	e0->scale = -3;
	e0->zero_count = 2;
	e0->zero_threshold = 1e-9;
	uint64_t pb[] = {1, 2, UINT64_MAX};
	e0->positive = buckets(-2, 3, pb);
	e0->negative = buckets(0, 0, pb);
	e0->_min_case = 12;
	e0->min = 0.25;
	e0->_max_case = 13;
	e0->max = 4;
	e0->flags = 1;
	ExpHistogram *e =
	    NEW(ExpHistogram, OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM__INIT);
	e->aggregation_temporality = 2;
	SET(e, data_points, 2, e0,
	    NEW(ExpPoint,
		OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__INIT));

	SummaryPoint *q0 =
	    NEW(SummaryPoint, OPENTELEMETRY__PROTO__METRICS__V1__SUMMARY_DATA_POINT__INIT);
	q0->start_time_unix_nano = 1;
	q0->time_unix_nano = 2;
	q0->count = 3;
	q0->sum = 6;
	SET(q0, quantile_values, 2, quantile(0.5, 2), quantile(1, 3));
	Summary *q = NEW(Summary, OPENTELEMETRY__PROTO__METRICS__V1__SUMMARY__INIT);
	SET(q, data_points, 2, q0,
	    NEW(SummaryPoint, OPENTELEMETRY__PROTO__METRICS__V1__SUMMARY_DATA_POINT__INIT));

	return metrics_req(NULL, scope("m", ""), 6, mg, metric("s", 7, s), metric("h", 9, h),
			   metric("e", 10, e), metric("q", 11, q), metric("nodata", 0, NULL));
}

/* The columns a metric type does not have are null. */
static int nulls(const ow_table_t *t, size_t row, const char *const *names)
{
	int good = 1;
	for (; *names; names++)
		good &= is_null(t, *names, row);
	return good;
}

static void test_metrics(void)
{
	static const char *const hist_cols[] = {"count",    "sum",	     "min",
						"max",	    "bucket_counts", "explicit_bounds",
						"scale",    "zero_count",    "zero_threshold",
						"positive", "negative",	     "quantiles",
						NULL};
	static const char *const number_cols[] = {"value", "value_int", NULL};
	size_t n;
	uint8_t *pb = pack_free(metrics_request(), &n);
	ow_table_t t;
	ow_columns_table_init(OW_METRICS, &t);
	is_int(t.ncols, OW_METRICS_NCOLS, "metrics: %d columns", OW_METRICS_NCOLS);
	is_int(decode(OW_METRICS, pb, n, &t), 10, "metrics: 10 data points");
	is_int(pbc_count(OW_METRICS, pb, n), 10, "protobuf-c counts the same");
	ok(table_ok(&t), "metrics: the table is consistent");

	ok(is_null(&t, "service_name", 0) && is_s(&t, "scope_name", 0, "m") &&
	       is_s(&t, "scope_version", 0, ""),
	   "metrics: common columns");
	for (size_t r = 0; r < 3; r++)
		ok(is_s(&t, "metric_name", r, "g") && is_s(&t, "metric_description", r, "gd") &&
		       is_s(&t, "metric_unit", r, "1") &&
		       is_s(&t, "metric_metadata", r, "{\"m\":{\"stringValue\":\"v\"}}") &&
		       is_s(&t, "metric_type", r, "gauge") && is_null(&t, "temporality", r) &&
		       is_null(&t, "is_monotonic", r) && nulls(&t, r, hist_cols),
		   "gauge point %zu: metric columns; no histogram columns", r);
	ok(is_s(&t, "attributes", 0, "{\"a\":{\"stringValue\":\"1\"}}") &&
	       is_i64(&t, "start_time", 0, 10) && is_i64(&t, "time", 0, 20) &&
	       is_f64(&t, "value", 0, 1.5) && is_null(&t, "value_int", 0) &&
	       is_i32(&t, "flags", 0, 1) &&
	       is_s(
		   &t, "exemplars", 0,
		   "[{\"timeUnixNano\":\"21\",\"asDouble\":0.5,\"spanId\":\"1112131415161718\","
		   "\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"filteredAttributes\":{\"f\":"
		   "{\"boolValue\":true}}}]"),
	   "gauge point: every field");
	ok(is_null(&t, "value", 1) && is_i64(&t, "value_int", 1, INT64_MIN) &&
	       is_i64(&t, "time", 1, RECV) && is_i64(&t, "start_time", 1, 0) &&
	       is_null(&t, "attributes", 1) && is_null(&t, "exemplars", 1),
	   "as_int INT64_MIN; time 0 becomes the receive time, start time 0 stays");
	ok(nulls(&t, 2, number_cols), "a point without a value: value and value_int null");
	ok(is_s(&t, "metric_type", 3, "sum") && is_i32(&t, "temporality", 3, 2) &&
	       is_bool(&t, "is_monotonic", 3, 1) && is_i64(&t, "value_int", 3, 42) &&
	       is_s(&t, "metric_description", 3, "") && is_null(&t, "metric_metadata", 3) &&
	       is_s(&t, "exemplars", 3,
		    "[{\"timeUnixNano\":\"0\",\"asInt\":\"-1\",\"spanId\":\"\",\"traceId\":\"\","
		    "\"filteredAttributes\":{}},{\"timeUnixNano\":\"5\",\"spanId\":\"\","
		    "\"traceId\":\"\",\"filteredAttributes\":{}}]") &&
	       nulls(&t, 3, hist_cols),
	   "sum: temporality, monotonic, as_int, exemplars with an int and with no value");
	ok(is_s(&t, "metric_type", 4, "histogram") && is_i32(&t, "temporality", 4, 1) &&
	       is_null(&t, "is_monotonic", 4) && is_i64(&t, "count", 4, 10) &&
	       is_f64(&t, "sum", 4, 5.5) && is_f64(&t, "min", 4, -1) && is_f64(&t, "max", 4, 2) &&
	       is_s(&t, "bucket_counts", 4, "[\"1\",\"18446744073709551615\"]") &&
	       is_s(&t, "explicit_bounds", 4, "[\"-Infinity\",0.5,1e+300]") &&
	       is_s(&t, "exemplars", 4,
		    "[{\"timeUnixNano\":\"1\",\"asDouble\":\"NaN\",\"spanId\":\"\",\"traceId\":"
		    "\"\",\"filteredAttributes\":{}}]") &&
	       nulls(&t, 4, number_cols) && is_null(&t, "scale", 4) && is_null(&t, "positive", 4) &&
	       is_null(&t, "quantiles", 4),
	   "histogram: every field");
	ok(is_i64(&t, "count", 5, 0) && is_null(&t, "sum", 5) && is_null(&t, "min", 5) &&
	       is_null(&t, "max", 5) && is_null(&t, "bucket_counts", 5) &&
	       is_null(&t, "explicit_bounds", 5) && is_null(&t, "exemplars", 5),
	   "an empty histogram point: count 0, absent sum/min/max null, no buckets null");
	ok(is_s(&t, "metric_type", 6, "exponential_histogram") && is_i32(&t, "temporality", 6, 2) &&
	       is_i64(&t, "count", 6, 7) && is_f64(&t, "sum", 6, 3.25) &&
	       is_i32(&t, "scale", 6, -3) && is_i64(&t, "zero_count", 6, 2) &&
	       is_f64(&t, "zero_threshold", 6, 1e-9) &&
	       is_s(&t, "positive", 6,
		    "{\"offset\":-2,\"bucketCounts\":[\"1\",\"2\",\"18446744073709551615\"]}") &&
	       is_s(&t, "negative", 6, "{\"offset\":0,\"bucketCounts\":[]}") &&
	       is_f64(&t, "min", 6, 0.25) && is_f64(&t, "max", 6, 4) && is_i32(&t, "flags", 6, 1) &&
	       is_null(&t, "bucket_counts", 6) && is_null(&t, "quantiles", 6) &&
	       is_null(&t, "exemplars", 6),
	   "exponential histogram: every field; present empty buckets are not null");
	ok(is_i64(&t, "count", 7, 0) && is_null(&t, "sum", 7) && is_i32(&t, "scale", 7, 0) &&
	       is_i64(&t, "zero_count", 7, 0) && is_f64(&t, "zero_threshold", 7, 0) &&
	       is_null(&t, "positive", 7) && is_null(&t, "negative", 7) && is_null(&t, "min", 7),
	   "an empty exponential histogram point: absent buckets and sum null");
	ok(is_s(&t, "metric_type", 8, "summary") && is_null(&t, "temporality", 8) &&
	       is_i64(&t, "count", 8, 3) && is_f64(&t, "sum", 8, 6) &&
	       is_i64(&t, "start_time", 8, 1) && is_i64(&t, "time", 8, 2) &&
	       is_s(&t, "quantiles", 8,
		    "[{\"quantile\":0.5,\"value\":2.0},{\"quantile\":1.0,\"value\":3.0}]") &&
	       is_null(&t, "min", 8) && is_null(&t, "bucket_counts", 8) &&
	       is_null(&t, "exemplars", 8) && nulls(&t, 8, number_cols),
	   "summary: every field");
	ok(is_f64(&t, "sum", 9, 0) && is_null(&t, "quantiles", 9),
	   "an empty summary point: sum 0 (a summary always has one), no quantiles");
	is_int(ow_columns_time_col(OW_METRICS), colx(&t, "time"), "metrics: time column");
	is_int(ow_columns_row_time(OW_METRICS, &t, 1), RECV, "metric time 0: receive time");
	free(pb);
	ow_table_free(&t);
}

/* ---- refusals ---- */

/* Replaces the first occurrence of marker in a packed request by bytes of
 * the same length: what protobuf-c cannot build (invalid UTF-8, NUL). */
static int patch(uint8_t *pb, size_t n, const char *marker, const char *bytes)
{
	size_t m = strlen(marker);
	uint8_t *at = memmem(pb, n, marker, m);
	if (at)
		memcpy(at, bytes, m);
	return at != NULL;
}

static uint8_t *one_span(Span *s, size_t *n)
{
	return pack_free(trace_req(1, resource_spans(NULL, 1, scope_spans(NULL, 1, s))), n);
}

static void test_bad_ids(ow_table_t *t)
{
	static const struct {
		int which, len;
		const char *why;
	} cases[] = {
	    {0, 15, "span 1: trace_id is 15 bytes, must be 16 (or empty)"},
	    {0, 17, "trace_id is 17 bytes"},
	    {1, 7, "span_id is 7 bytes, must be 8"},
	    {2, 9, "parent_span_id is 9 bytes"},
	    {3, 1, "a link's trace_id is 1 bytes"},
	    {4, 16, "a link's span_id is 16 bytes"},
	};
	uint8_t id[17] = {0};
	for (size_t i = 0; i < OW_NELEMS(cases); i++) {
		Span *good = span("good"), *bad = span("bad");
		ProtobufCBinaryData b = B(id, (size_t)cases[i].len);
		if (cases[i].which == 0)
			set_bytes(&bad->trace_id, b);
		else if (cases[i].which == 1)
			set_bytes(&bad->span_id, b);
		else if (cases[i].which == 2)
			bad->parent_span_id = b;
		else {
			Link *l = NEW(Link, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__LINK__INIT);
			if (cases[i].which == 3)
				l->trace_id = b;
			else
				l->span_id = b;
			SET(bad, links, 1, l);
		}
		size_t n;
		uint8_t *pb = pack_free(
		    trace_req(1, resource_spans(NULL, 1, scope_spans(NULL, 2, good, bad))), &n);
		ok(refused(OW_TRACES, pb, n, t, cases[i].why),
		   "a %d-byte id is refused after a good span, the table is as it was: %s",
		   cases[i].len, cases[i].why);
		is_int(pbc_count(OW_TRACES, pb, n), -1, "protobuf-c validation refuses it too");
		free(pb);
	}
	ow_table_t lt;
	ow_columns_table_init(OW_LOGS, &lt);
	for (int which = 0; which < 2; which++) {
		LogRecord *lr = log_record();
		if (which)
			lr->span_id = B(id, 16);
		else
			lr->trace_id = B(id, 8);
		size_t n;
		uint8_t *pb = pack_free(logs_req(NULL, NULL, 2, log_record(), lr), &n);
		ok(refused(OW_LOGS, pb, n, &lt,
			   which ? "log record 1: span_id is 16 bytes" : "trace_id is 8 bytes"),
		   "log record: a wrong %s length is refused", which ? "span_id" : "trace_id");
		free(pb);
	}
	ow_table_free(&lt);
}

/* An empty or all-zero trace_id or span_id makes a span invalid: it is
 * skipped (counted, the first reason kept), the rest of the request taken. */
static void test_invalid_ids(void)
{
	static const uint8_t zero[16] = {0};
	ow_table_t tt, *t = &tt;
	size_t n;
	ow_columns_table_init(OW_TRACES, t);
	uint8_t *pb = one_span(span("before"), &n);
	decode(OW_TRACES, pb, n, t);
	free(pb);
	size_t rows = t->nrows;
	Span *e = span("empty trace_id"), *z = span("zero span_id");
	set_bytes(&e->trace_id, B(NULL, 0));
	set_bytes(&z->span_id, B(zero, 8));
	Span *p = span("zero parent");
	p->parent_span_id = B(zero, 8);
	pb = pack_free(
	    trace_req(2, resource_spans(NULL, 1, scope_spans(NULL, 3, span("a"), e, span("b"))),
		      resource_spans(NULL, 1, scope_spans(NULL, 3, z, span("c"), p))),
	    &n);
	ok(decode(OW_TRACES, pb, n, t) == 4 && t->nrows == rows + 4 && table_ok(t),
	   "3 good spans + 2 with invalid ids + 1 with an all-zero parent: 4 rows");
	ok(is_s(t, "name", rows, "a") && is_s(t, "name", rows + 1, "b") &&
	       is_s(t, "name", rows + 2, "c") && is_s(t, "name", rows + 3, "zero parent") &&
	       is_bytes(t, "parent_span_id", rows + 3, zero, 8),
	   "the skipped spans wrote nothing; an all-zero parent_span_id is kept");
	is_int((int64_t)rejects.n, 2, "2 spans rejected");
	ok(strcmp(rejects.why, "span 1: its trace_id is empty (an empty or all-zero trace_id or "
			       "span_id is invalid)") == 0,
	   "the first reason is kept: %s", rejects.why);
	is_int(pbc_count(OW_TRACES, pb, n), 4, "the reference skips the same");
	free(pb);

	Span *z2 = span("zero trace_id");
	set_bytes(&z2->trace_id, B(zero, 16));
	Span *u = span("no span_id");
	set_bytes(&u->span_id, B(NULL, 0));
	u->kind = 1000; /* out of range, and not looked at */
	pb = pack_free(trace_req(1, resource_spans(NULL, 1, scope_spans(NULL, 2, z2, u))), &n);
	ok(decode(OW_TRACES, pb, n, t) == 0 && t->nrows == rows + 4 && rejects.n == 2 &&
	       strstr(rejects.why, "span 0: its trace_id is all zero bytes"),
	   "every span rejected: 0 rows, 2 rejected, nothing of a skipped span examined");
	free(pb);

	Span *w = span("wrong length too");
	set_bytes(&w->trace_id, B(NULL, 0));
	set_bytes(&w->span_id, B(zero, 7));
	pb = one_span(w, &n);
	ok(refused(OW_TRACES, pb, n, t, "span 0: span_id is 7 bytes"),
	   "an id of the wrong length still refuses the request, even in a skipped span");
	free(pb);

	ow_table_t lt;
	ow_columns_table_init(OW_LOGS, &lt);
	pb = pack_free(logs_req(NULL, NULL, 1, log_record()), &n);
	ok(decode(OW_LOGS, pb, n, &lt) == 1 && rejects.n == 0,
	   "a log record without ids is taken (they are optional)");
	free(pb);
	ow_table_free(&lt);
	ow_table_free(t);
}

/* ow_columns_decode_bounded asks for its buffers' growth before each
 * record, and a refusal fails the call and leaves the table as it was. */
typedef struct {
	int calls;
	size_t last, limit;
} grow_t;

static int grow_to(void *arg, size_t bytes, char *e, size_t elen)
{
	grow_t *g = arg;
	g->calls++;
	g->last = bytes;
	if (bytes <= g->limit)
		return 0;
	snprintf(e, elen, "no more than %zu bytes", g->limit);
	return -1;
}

static void test_bounded(void)
{
	ow_table_t a, b;
	size_t n;
	ow_columns_table_init(OW_TRACES, &a);
	ow_columns_table_init(OW_TRACES, &b);
	uint8_t *pb = pack_free(spans_request(), &n);
	int64_t want = decode(OW_TRACES, pb, n, &a);
	grow_t g = {0, 0, SIZE_MAX};
	int64_t got = ow_columns_decode_bounded(OW_TRACES, pb, n, RECV, &b, NULL, err, sizeof(err),
						grow_to, &g);
	ok(want > 1 && got == want && g.calls > 0 && g.last > 0 &&
	       g.last <= ow_table_bytes(&b) + 4096,
	   "bounded: the same %lld rows, growth asked %d times, last %zu bytes (table %zu)",
	   (long long)got, g.calls, g.last, ow_table_bytes(&b));
	ow_buf_t before = {0}, after = {0};
	snapshot(&b, &before);
	g = (grow_t){0, 0, 0};
	err[0] = '\0';
	got = ow_columns_decode_bounded(OW_TRACES, pb, n, RECV, &b, NULL, err, sizeof(err), grow_to,
					&g);
	snapshot(&b, &after);
	ok(got == -1 && g.calls == 1 && strcmp(err, "no more than 0 bytes") == 0 &&
	       same(&before, &after),
	   "a refused growth fails the call with its message, the table as it was (%s)", err);
	ow_buf_free(&before);
	ow_buf_free(&after);
	free(pb);
	ow_table_free(&a);
	ow_table_free(&b);
}

static void test_bad_utf8(ow_table_t *t)
{
	static const char *const bad[] = {
	    "\xc0\x80",		/* overlong NUL */
	    "\xc1\xbf",		/* overlong */
	    "\xe0\x80\x80",	/* overlong 3-byte */
	    "\xf0\x80\x80\x80", /* overlong 4-byte */
	    "\xed\xa0\x80",	/* surrogate */
	    "\xf4\x90\x80\x80", /* above U+10FFFF */
	    "\xe2\x82",		/* cut short */
	    "\x80",		/* lone continuation */
	    "\xff",		/* never in UTF-8 */
	    "\xf8\x88\x80\x80", /* 5-byte form */
	};
	/* where: span name (a STRING column), an attribute key, a string deep
	 * in an array, a resource attribute */
	for (size_t i = 0; i < OW_NELEMS(bad); i++) {
		int refusals = 0, accepted_by_protobuf_c = 0;
		/* the bad bytes, padded to the length of the marker */
		const char *marker = "<<<<>>>>";
		char repl[9] = "aaaaaaaa";
		memcpy(repl, bad[i], strlen(bad[i]));
		for (int where = 0; where < 4; where++) {
			Span *s = span(where == 0 ? marker : "n");
			Resource *r = resource();
			SET(r, attributes, 1, kv("r", av_str(where == 3 ? marker : "v")));
			SET(s, attributes, 1,
			    kv(where == 1 ? marker : "k",
			       av_arr(1, av_kvl(1, kv("x", av_str(where == 2 ? marker : "y"))))));
			size_t n;
			uint8_t *pb = pack_free(
			    trace_req(1, resource_spans(r, 1, scope_spans(NULL, 1, s))), &n);
			patch(pb, n, marker, repl);
			refusals +=
			    refused(OW_TRACES, pb, n, t, "invalid UTF-8 in a string at byte");
			accepted_by_protobuf_c += pbc_count(OW_TRACES, pb, n) == 1;
			free(pb);
		}
		ok(refusals == 4,
		   "invalid UTF-8 #%zu refused in a name, a key, a nested value, a "
		   "resource attribute",
		   i);
		ok(accepted_by_protobuf_c == 4, "(protobuf-c does not check UTF-8)");
	}

	/* valid edges of UTF-8, and NUL, are taken */
	Span *s = span("@@");
	SET(s, attributes, 1,
	    kv("k",
	       av_str("\xc2\x80 \xe0\xa0\x80 \xef\xbf\xbf \xf0\x90\x80\x80 \xf4\x8f\xbf\xbf @@")));
	size_t n;
	uint8_t *pb = one_span(s, &n);
	patch(pb, n, "@@", "a\0");
	patch(pb, n, "@@", "\0b");
	ow_table_t ok_t;
	ow_columns_table_init(OW_TRACES, &ok_t);
	is_int(decode(OW_TRACES, pb, n, &ok_t), 1,
	       "U+0080, U+0800, U+FFFF, U+10000, U+10FFFF, NUL");
	ok(is_bytes(&ok_t, "name", 0, "a\0", 2), "NUL in a STRING column");
	ok(is_s(&ok_t, "attributes", 0,
		"{\"k\":{\"stringValue\":\"\xc2\x80 \xe0\xa0\x80 \xef\xbf\xbf \xf0\x90\x80\x80 "
		"\xf4\x8f\xbf\xbf \\u0000b\"}}") &&
	       table_ok(&ok_t),
	   "NUL in JSON is \\u0000");
	ow_table_free(&ok_t);
	free(pb);

	/* the other string fields are checked too */
	static const char *const places[] = {"scope name",    "event name",	"log body",
					     "severity text", "metric name",	"link trace state",
					     "entity id key", "status message", "exemplar key"};
	for (size_t i = 0; i < OW_NELEMS(places); i++) {
		int signal = OW_TRACES;
		Span *sp = span("n");
		void *req;
		if (i == 0) {
			req = trace_req(
			    1, resource_spans(NULL, 1, scope_spans(scope("@@", ""), 1, sp)));
		} else if (i == 1 || i == 5 || i == 7) {
			Event *e = NEW(Event, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__EVENT__INIT);
			Link *l = NEW(Link, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__LINK__INIT);
			e->name = S(i == 1 ? "@@" : "");
			l->trace_state = S(i == 5 ? "@@" : "");
			sp->status = NEW(Status, OPENTELEMETRY__PROTO__TRACE__V1__STATUS__INIT);
			sp->status->message = S(i == 7 ? "@@" : "");
			SET(sp, events, 1, e);
			SET(sp, links, 1, l);
			req = trace_req(1, resource_spans(NULL, 1, scope_spans(NULL, 1, sp)));
		} else if (i == 6) {
			Resource *r = resource();
			EntityRef *er =
			    NEW(EntityRef, OPENTELEMETRY__PROTO__COMMON__V1__ENTITY_REF__INIT);
			SET(er, id_keys, 1, S("@@"));
			SET(r, entity_refs, 1, er);
			req = trace_req(1, resource_spans(r, 1, scope_spans(NULL, 1, sp)));
		} else {
			protobuf_c_message_free_unpacked(&sp->base, NULL);
			if (i == 2 || i == 3) {
				LogRecord *lr = log_record();
				lr->body = av_str(i == 2 ? "@@" : "");
				lr->severity_text = S(i == 3 ? "@@" : "");
				req = logs_req(NULL, NULL, 1, lr);
				signal = OW_LOGS;
			} else {
				NumberPoint *p = number_point(0, 0, 0);
				SET(p, exemplars, 1, exemplar(0, 0, 0, 0, 1));
				Gauge *g =
				    NEW(Gauge, OPENTELEMETRY__PROTO__METRICS__V1__GAUGE__INIT);
				SET(g, data_points, 1, p);
				req = metrics_req(NULL, NULL, 1, metric(i == 4 ? "@@" : "m", 5, g));
				signal = OW_METRICS;
			}
		}
		pb = pack_free(req, &n);
		if (i == 8)
			patch(pb, n,
			      "\x01"
			      "f",
			      "\x01\xff"); /* the exemplar's attribute key */
		else
			patch(pb, n, "@@", "\xc3(");
		ow_table_t pt;
		ow_columns_table_init(signal, &pt);
		ok(refused(signal, pb, n, &pt, "invalid UTF-8"), "invalid UTF-8 refused in a %s",
		   places[i]);
		ow_table_free(&pt);
		free(pb);
	}
}

static void test_enums(ow_table_t *t)
{
	static const struct {
		int32_t kind;
		int good;
	} kinds[] = {{127, 1}, {128, 0}, {-128, 1}, {-129, 0}, {INT32_MAX, 0}};
	for (size_t i = 0; i < OW_NELEMS(kinds); i++) {
		Span *s = span("k");
		s->kind = kinds[i].kind;
		size_t n;
		uint8_t *pb = one_span(s, &n);
		char why[64];
		snprintf(why, sizeof(why), "span 0: span kind %d is out of range", kinds[i].kind);
		if (kinds[i].good) {
			ow_table_t kt;
			ow_columns_table_init(OW_TRACES, &kt);
			ok(decode(OW_TRACES, pb, n, &kt) == 1 &&
			       is_i32(&kt, "kind", 0, kinds[i].kind),
			   "span kind %d fits the INT8 column", kinds[i].kind);
			ow_table_free(&kt);
		} else {
			ok(refused(OW_TRACES, pb, n, t, why), "span kind %d is refused",
			   kinds[i].kind);
		}
		free(pb);
	}
	Span *s = span("s");
	s->status = NEW(Status, OPENTELEMETRY__PROTO__TRACE__V1__STATUS__INIT);
	s->status->code = -200;
	size_t n;
	uint8_t *pb = one_span(s, &n);
	ok(refused(OW_TRACES, pb, n, t, "status code -200 is out of range"), "status code -200");
	free(pb);

	LogRecord *lr = log_record();
	lr->severity_number = 300;
	pb = pack_free(logs_req(NULL, NULL, 1, lr), &n);
	ow_table_t lt;
	ow_columns_table_init(OW_LOGS, &lt);
	ok(refused(OW_LOGS, pb, n, &lt, "severity number 300"), "severity number 300");
	ow_table_free(&lt);
	free(pb);

	Sum *sum = NEW(Sum, OPENTELEMETRY__PROTO__METRICS__V1__SUM__INIT);
	sum->aggregation_temporality = 200;
	SET(sum, data_points, 1, number_point(4, 1, 0));
	pb = pack_free(metrics_req(NULL, NULL, 1, metric("m", 7, sum)), &n);
	ow_table_t mt;
	ow_columns_table_init(OW_METRICS, &mt);
	ok(refused(OW_METRICS, pb, n, &mt, "aggregation temporality 200"), "temporality 200");
	ow_table_free(&mt);
	free(pb);
}

static AnyValue *nest(int depth, int kvlist)
{
	if (depth == 0)
		return av_int(1);
	return kvlist ? av_kvl(1, kv("k", nest(depth - 1, kvlist))) : av_arr(1, nest(depth - 1, 0));
}

static void test_nesting(ow_table_t *t)
{
	for (int kvlist = 0; kvlist < 2; kvlist++) {
		Span *s = span("deep");
		SET(s, attributes, 1, kv("d", nest(64, kvlist)));
		size_t n;
		uint8_t *pb = one_span(s, &n);
		ow_table_t dt;
		ow_columns_table_init(OW_TRACES, &dt);
		ok(decode(OW_TRACES, pb, n, &dt) == 1 && table_ok(&dt), "%s nested 64 deep: taken",
		   kvlist ? "kvlists" : "arrays");
		ow_table_free(&dt);
		free(pb);
		s = span("deeper");
		SET(s, attributes, 1, kv("d", nest(65, kvlist)));
		pb = one_span(s, &n);
		ok(refused(OW_TRACES, pb, n, t, "span 0: AnyValue nested deeper than 64 levels"),
		   "%s nested 65 deep: refused", kvlist ? "kvlists" : "arrays");
		free(pb);
	}
}

/* ---- the wire format, written by hand ---- */

static void w_varint(ow_buf_t *b, uint64_t v)
{
	for (; v >= 0x80; v >>= 7) {
		uint8_t c = (uint8_t)(v | 0x80);
		ow_buf_add(b, &c, 1);
	}
	uint8_t c = (uint8_t)v;
	ow_buf_add(b, &c, 1);
}

static void w_tag(ow_buf_t *b, uint32_t num, int wt)
{
	w_varint(b, (uint64_t)num << 3 | (uint64_t)wt);
}

static void w_vint(ow_buf_t *b, uint32_t num, uint64_t v)
{
	w_tag(b, num, 0);
	w_varint(b, v);
}

static void w_i64(ow_buf_t *b, uint32_t num, uint64_t v)
{
	uint8_t x[8];
	ow_put_u64(x, v);
	w_tag(b, num, 1);
	ow_buf_add(b, x, 8);
}

static void w_i32(ow_buf_t *b, uint32_t num, uint32_t v)
{
	uint8_t x[4];
	ow_put_u32(x, v);
	w_tag(b, num, 5);
	ow_buf_add(b, x, 4);
}

static void w_bytes(ow_buf_t *b, uint32_t num, const void *p, size_t n)
{
	w_tag(b, num, 2);
	w_varint(b, n);
	ow_buf_add(b, p, n);
}

static void w_str(ow_buf_t *b, uint32_t num, const char *s)
{
	w_bytes(b, num, s, strlen(s));
}

/* Appends message m as field num of b, and empties m. */
static void w_msg(ow_buf_t *b, uint32_t num, ow_buf_t *m)
{
	w_bytes(b, num, m->data, m->len);
	m->len = 0;
}

/* An AnyValue holding an array of one int. */
static void w_int_array(ow_buf_t *av, int64_t v)
{
	ow_buf_t iv = {0}, arr = {0};
	w_vint(&iv, 3, (uint64_t)v);
	w_msg(&arr, 1, &iv);
	w_msg(av, 5, &arr);
	ow_buf_free(&iv);
	ow_buf_free(&arr);
}

/* A request of one resource, one scope and the record (a Span, LogRecord
 * or Metric) in rec. */
/* the ids a span must have */
static void w_ids(ow_buf_t *span)
{
	w_bytes(span, 1, DEF_TID, 16);
	w_bytes(span, 2, DEF_SID, 8);
}

static void wrap(ow_buf_t *rec, ow_buf_t *out)
{
	ow_buf_t sx = {0}, rx = {0};
	w_msg(&sx, 2, rec);
	w_msg(&rx, 2, &sx);
	out->len = 0;
	w_msg(out, 1, &rx);
	ow_buf_free(&sx);
	ow_buf_free(&rx);
}

static void test_wire(void)
{
	ow_buf_t rec = {0}, m = {0}, m2 = {0}, req = {0};
	ow_table_t t;

	/* fields in any order, scalars given twice, unknown fields of every
	 * kept wire type, attributes around other fields */
	w_vint(&rec, 100, 5);
	w_str(&m2, 1, "a");
	w_str(&m, 1, "k1");
	w_msg(&m, 2, &m2);
	w_msg(&rec, 9, &m);
	w_str(&rec, 5, "first");
	w_i64(&rec, 101, 1);
	w_str(&rec, 102, "zz");
	w_i32(&rec, 103, 1);
	w_vint(&m2, 3, 2);
	w_str(&m, 1, "k2");
	w_msg(&m, 2, &m2);
	w_msg(&rec, 9, &m);
	w_str(&rec, 5, "second");
	w_i64(&rec, 7, 100);
	w_i64(&rec, 8, 50);
	w_vint(&rec, 6, 1);
	w_vint(&rec, 6, 3);
	w_ids(&rec);
	wrap(&rec, &req);
	ow_columns_table_init(OW_TRACES, &t);
	is_int(decode(OW_TRACES, req.data, req.len, &t), 1, "a hand-made span");
	ok(is_s(&t, "name", 0, "second") && is_i32(&t, "kind", 0, 3) &&
	       is_i64(&t, "duration_ns", 0, -50) &&
	       is_s(&t, "attributes", 0,
		    "{\"k1\":{\"stringValue\":\"a\"},\"k2\":{\"intValue\":\"2\"}}"),
	   "any field order; the last scalar wins; repeated fields gather; unknown fields skipped");
	is_int(pbc_count(OW_TRACES, req.data, req.len), 1, "protobuf-c agrees");
	ow_table_free(&t);

	/* a resource given twice is one merged resource */
	ow_buf_t rx = {0}, sx = {0}, kvb = {0}, av = {0};
	w_str(&av, 1, "a");
	w_str(&kvb, 1, "service.name");
	w_msg(&kvb, 2, &av);
	w_msg(&m, 1, &kvb);
	w_vint(&m, 2, 5);
	w_msg(&rx, 1, &m);
	w_ids(&rec);
	w_str(&rec, 5, "s");
	w_msg(&sx, 2, &rec);
	w_msg(&rx, 2, &sx);
	w_str(&av, 1, "y");
	w_str(&kvb, 1, "x");
	w_msg(&kvb, 2, &av);
	w_msg(&m, 1, &kvb);
	w_msg(&rx, 1, &m);
	req.len = 0;
	w_msg(&req, 1, &rx);
	ow_columns_table_init(OW_TRACES, &t);
	is_int(decode(OW_TRACES, req.data, req.len, &t), 1, "a resource given twice");
	ok(is_s(&t, "service_name", 0, "a") &&
	       is_s(&t, "resource_attributes", 0,
		    "{\"service.name\":{\"stringValue\":\"a\"},\"x\":{\"stringValue\":\"y\"}}") &&
	       is_i32(&t, "resource_dropped_attributes_count", 0, 5),
	   "merges: attributes concatenated, a scalar the second leaves out kept");
	ow_table_free(&t);

	/* status given twice */
	w_vint(&m, 3, 2);
	w_str(&m, 2, "x");
	w_msg(&rec, 15, &m);
	w_str(&m, 2, "y");
	w_msg(&rec, 15, &m);
	w_ids(&rec);
	wrap(&rec, &req);
	ow_columns_table_init(OW_TRACES, &t);
	ok(decode(OW_TRACES, req.data, req.len, &t) == 1 && is_i32(&t, "status_code", 0, 2) &&
	       is_s(&t, "status_message", 0, "y"),
	   "a status given twice: merged");
	ow_table_free(&t);

	/* AnyValue: oneof members given in turn; a KeyValue's value twice */
	struct {
		const char *key;
		int what;
		const char *json;
	} av_cases[] = {
	    {"si", 0, "{\"intValue\":\"7\"}"},
	    {"arr2", 1,
	     "{\"arrayValue\":{\"values\":[{\"intValue\":\"1\"},{\"intValue\":\"2\"}]}}"},
	    {"arr3", 2, "{\"arrayValue\":{\"values\":[{\"intValue\":\"3\"}]}}"},
	    {"kv2", 3, "{\"boolValue\":true}"},
	};
	ow_buf_t want = {0};
	ow_buf_addstr(&want, "{");
	for (size_t i = 0; i < OW_NELEMS(av_cases); i++) {
		switch (av_cases[i].what) {
		case 0:
			w_str(&av, 1, "s");
			w_vint(&av, 3, 7);
			break;
		case 1:
			w_int_array(&av, 1);
			w_int_array(&av, 2);
			break;
		case 2:
			w_int_array(&av, 1);
			w_str(&av, 1, "s");
			w_int_array(&av, 3);
			break;
		default:
			w_str(&av, 1, "a");
			w_msg(&kvb, 2, &av);
			w_vint(&av, 2, 1);
		}
		w_str(&kvb, 1, "ignored");
		w_str(&kvb, 1, av_cases[i].key);
		w_msg(&kvb, 2, &av);
		w_msg(&rec, 6, &kvb);
		ow_buf_printf(&want, "%s\"%s\":%s", i ? "," : "", av_cases[i].key,
			      av_cases[i].json);
	}
	ow_buf_add(&want, "}", 2);
	/* a body given twice, each with its array given twice: a chain of three
	 * merged messages (LogRecord.body.array_value) */
	w_int_array(&av, 1);
	w_int_array(&av, 2);
	w_msg(&rec, 5, &av);
	w_int_array(&av, 3);
	w_msg(&rec, 5, &av);
	wrap(&rec, &req);
	ow_columns_table_init(OW_LOGS, &t);
	is_int(decode(OW_LOGS, req.data, req.len, &t), 1, "a hand-made log record");
	ok(is_s(&t, "attributes", 0, (const char *)want.data),
	   "AnyValue: the last oneof member wins; the same message member merges, but not across "
	   "a switch; the last key wins; a value given twice merges");
	ok(is_s(&t, "body", 0,
		"{\"arrayValue\":{\"values\":[{\"intValue\":\"1\"},{\"intValue\":\"2\"},{"
		"\"intValue\":\"3\"}]}}"),
	   "a body given twice, arrays in each: all merged");
	ow_table_free(&t);
	w_int_array(&av, 1);
	w_msg(&rec, 5, &av);
	w_str(&av, 1, "s");
	w_int_array(&av, 2);
	w_msg(&rec, 5, &av);
	wrap(&rec, &req);
	ow_columns_table_init(OW_LOGS, &t);
	ok(decode(OW_LOGS, req.data, req.len, &t) == 1 &&
	       is_s(&t, "body", 0, "{\"arrayValue\":{\"values\":[{\"intValue\":\"2\"}]}}"),
	   "merged bodies: a switch of the oneof in the second clears the first's array");
	ow_table_free(&t);

	/* repeated scalars packed and not, in pieces */
	ow_buf_t pt = {0}, packed = {0};
	w_i64(&pt, 6, 1);
	w_i64(&pt, 6, 2);
	uint8_t x[8];
	ow_put_u64(x, 3);
	w_bytes(&pt, 6, x, 8);
	double dv = 0.5;
	memcpy(x, &dv, 8);
	w_bytes(&pt, 7, x, 8);
	dv = 1.5;
	memcpy(x, &dv, 8);
	w_bytes(&pt, 7, x, 8);
	w_msg(&m, 1, &pt);
	w_msg(&rec, 9, &m);
	w_str(&rec, 1, "h");
	wrap(&rec, &req);
	ow_columns_table_init(OW_METRICS, &t);
	ok(decode(OW_METRICS, req.data, req.len, &t) == 1 &&
	       is_s(&t, "bucket_counts", 0, "[\"1\",\"2\",\"3\"]") &&
	       is_s(&t, "explicit_bounds", 0, "[0.5,1.5]"),
	   "histogram: fixed64 counts unpacked then packed, bounds packed in two pieces");
	is_int(pbc_count(OW_METRICS, req.data, req.len), 1, "protobuf-c agrees");
	ow_table_free(&t);
	w_vint(&m2, 1, 3); /* zigzag: -2 */
	w_vint(&m2, 2, 5);
	w_varint(&packed, 6);
	w_varint(&packed, UINT64_MAX);
	w_bytes(&m2, 2, packed.data, packed.len);
	w_msg(&pt, 8, &m2);
	w_vint(&pt, 6, 1); /* scale: zigzag -1 */
	w_msg(&m, 1, &pt);
	w_msg(&rec, 10, &m);
	w_str(&rec, 1, "e");
	wrap(&rec, &req);
	ow_columns_table_init(OW_METRICS, &t);
	ok(decode(OW_METRICS, req.data, req.len, &t) == 1 && is_i32(&t, "scale", 0, -1) &&
	       is_s(&t, "positive", 0,
		    "{\"offset\":-2,\"bucketCounts\":[\"5\",\"6\",\"18446744073709551615\"]}"),
	   "buckets: varint counts unpacked then packed; sint32 zigzag");
	ow_table_free(&t);

	/* the data oneof of a metric */
	ow_buf_t dp = {0};
	w_i64(&dp, 3, 9);
	w_msg(&pt, 1, &dp);
	w_msg(&rec, 5, &pt);
	w_i64(&dp, 3, 10);
	w_msg(&pt, 1, &dp);
	w_vint(&pt, 2, 1);
	w_msg(&rec, 7, &pt);
	w_str(&rec, 1, "switch");
	wrap(&rec, &req);
	ow_columns_table_init(OW_METRICS, &t);
	ok(decode(OW_METRICS, req.data, req.len, &t) == 1 && is_s(&t, "metric_type", 0, "sum") &&
	       is_i64(&t, "time", 0, 10) && is_i32(&t, "temporality", 0, 1),
	   "gauge then sum: the sum wins");
	is_int(pbc_count(OW_METRICS, req.data, req.len), 1, "protobuf-c agrees");
	ow_table_free(&t);
	w_i64(&dp, 3, 9);
	w_msg(&pt, 1, &dp);
	w_msg(&rec, 5, &pt);
	w_i64(&dp, 3, 10);
	w_msg(&pt, 1, &dp);
	w_msg(&rec, 5, &pt);
	wrap(&rec, &req);
	ow_columns_table_init(OW_METRICS, &t);
	ok(decode(OW_METRICS, req.data, req.len, &t) == 2 && is_i64(&t, "time", 1, 10),
	   "a gauge given twice merges: two points (protobuf-c keeps the last gauge only)");
	ow_table_free(&t);

	ow_buf_free(&rec);
	ow_buf_free(&m);
	ow_buf_free(&m2);
	ow_buf_free(&req);
	ow_buf_free(&rx);
	ow_buf_free(&sx);
	ow_buf_free(&kvb);
	ow_buf_free(&av);
	ow_buf_free(&want);
	ow_buf_free(&pt);
	ow_buf_free(&packed);
	ow_buf_free(&dp);
}

static void test_malformed(ow_table_t *t)
{
	static const struct {
		int signal;
		const char *bytes;
		size_t len;
		const char *why;
	} cases[] = {
#define W(s) s, sizeof(s) - 1
	    {OW_TRACES, W("\x0a\x80"), "truncated varint at byte 1"},
	    {OW_TRACES, W("\x0a\x05\x00"), "field at byte 0 is 5 bytes long, past the end"},
	    {OW_TRACES, W("\x0e\x00"), "invalid wire type 6 at byte 0"},
	    {OW_TRACES, W("\x0f\x00"), "invalid wire type 7"},
	    {OW_TRACES, W("\x0b\x0c"), "groups (wire type 3) are not supported"},
	    {OW_TRACES, W("\x0c"), "groups (wire type 4)"},
	    {OW_TRACES, W("\x2b\x2c"), "groups (wire type 3)"},
	    {OW_TRACES, W("\x02\x00"), "invalid field number at byte 0"},
	    {OW_TRACES, W("\x80\x80\x80\x80\x10\x00"), "invalid field number"},
	    {OW_TRACES, W("\x78\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"),
	     "varint longer than 10 bytes at byte 1"},
	    {OW_TRACES, W("\x08\x01"), "Export*ServiceRequest field 1 has wire type 0"},
	    {OW_TRACES, W("\x0a\x02\x08\x01"),
	     "Resource{Spans,Logs,Metrics} field 1 has wire type 0"},
	    /* request { resource_spans { scope_spans { span { name: varint } } } } */
	    {OW_TRACES, W("\x0a\x06\x12\x04\x12\x02\x28\x01"),
	     "Span field 5 has wire type 0 at byte 6"},
	    {OW_TRACES, W("\x0a\x08\x12\x06\x12\x04\x39\x01\x02\x03"),
	     "truncated 64-bit field at byte 6"},
	    {OW_TRACES, W("\x0a\x07\x12\x05\x12\x03\x85\x01\x01"), "truncated 32-bit field"},
	    {OW_TRACES, W("\x0a\x08\x12\x06\x12\x04\x2a\x05\x61\x62"),
	     "past the end of its message"},
	    /* a histogram point with 5 bytes of packed fixed64 counts */
	    {OW_METRICS, W("\x0a\x0f\x12\x0d\x12\x0b\x4a\x09\x0a\x07\x32\x05\x01\x02\x03\x04\x05"),
	     "packed 64-bit field of 5 bytes"},
	    /* exponential histogram buckets with a packed varint cut short */
	    {OW_METRICS, W("\x0a\x0e\x12\x0c\x12\x0a\x52\x08\x0a\x06\x42\x04\x12\x02\x01\x80"),
	     "truncated varint at byte 15"},
	    {OW_LOGS, W("\x0a\x06\x12\x04\x12\x02\x09\x00"), "truncated 64-bit field"},
#undef W
	};
	for (size_t i = 0; i < OW_NELEMS(cases); i++) {
		ow_table_t st;
		ow_table_t *tt = t;
		if (cases[i].signal != OW_TRACES) {
			ow_columns_table_init(cases[i].signal, &st);
			tt = &st;
		}
		ok(refused(cases[i].signal, (const uint8_t *)cases[i].bytes, cases[i].len, tt,
			   cases[i].why),
		   "malformed: %s", cases[i].why);
		if (tt == &st)
			ow_table_free(&st);
	}
	ow_table_t et;
	ow_columns_table_init(OW_TRACES, &et);
	ok(decode(OW_TRACES, (const uint8_t *)"", 0, &et) == 0 && et.nrows == 0,
	   "an empty request: no records");
	ok(decode(OW_TRACES, (const uint8_t *)"\x32\x01\x00\x0a\x00", 5, &et) == 0 && table_ok(&et),
	   "an unknown field and an empty resource: no records");
	ow_table_free(&et);
}

static void test_refusals(void)
{
	size_t n;
	uint8_t *pb = pack_free(spans_request(), &n);
	ow_table_t t;
	ow_columns_table_init(OW_TRACES, &t);
	decode(OW_TRACES, pb, n, &t);
	free(pb);
	test_bad_ids(&t);
	test_bad_utf8(&t);
	test_enums(&t);
	test_nesting(&t);
	test_malformed(&t);
	ok(t.nrows == 7 && table_ok(&t), "after every refusal the table holds its 7 rows");
	ow_table_free(&t);
}

/* ---- agreement with protobuf-c ---- */

/* Every truncation of a valid request is refused, or taken with the count
 * protobuf-c gives; a refused one leaves the table as it was. */
static void test_truncations(int signal, const uint8_t *pb, size_t n)
{
	ow_table_t t;
	ow_columns_table_init(signal, &t);
	size_t differ = 0, changed = 0, taken = 0;
	for (size_t cut = 0; cut <= n; cut++) {
		size_t rows = t.nrows;
		int64_t r = decode(signal, pb, cut, &t);
		differ += r != pbc_count(signal, pb, cut);
		changed += r < 0 ? t.nrows != rows || t.cols[0].nrows != rows
				 : t.nrows != rows + (size_t)r;
		taken += r >= 0;
	}
	ok(differ == 0 && changed == 0 && table_ok(&t),
	   "%s: every truncation of a %zu-byte request agrees with protobuf-c (%zu taken)",
	   ow_signal_name(signal), n, taken);
	ow_table_free(&t);
}

static uint64_t rng = 88172645463325252ull;

static uint64_t rnd(uint64_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng % n;
}

static char *rnd_str(void)
{
	static const char *const parts[] = {
	    "a",  "b",	"Z",  " ",   ".", "\xc3\xa9", "\xe2\x9c\x93", "\xf0\x9f\x98\x80",
	    "\n", "\"", "\\", "\x01"};
	char buf[64] = "";
	for (uint64_t i = rnd(8); i > 0; i--)
		strcat(buf, parts[rnd(OW_NELEMS(parts))]);
	return S(buf);
}

static AnyValue *rnd_any(int depth)
{
	uint8_t bytes[16];
	switch (rnd(depth < 3 ? 9 : 7)) {
	case 0:
		return av_none();
	case 1: {
		char *s = rnd_str();
		AnyValue *a = av_str(s);
		free(s);
		return a;
	}
	case 2:
		return av_bool((int)rnd(2));
	case 3:
		return av_int((int64_t)rnd(UINT64_MAX));
	case 4: {
		uint64_t bits = rnd(UINT64_MAX);
		double d;
		memcpy(&d, &bits, 8);
		return av_dbl(rnd(2) ? d : (double)rnd(1000) / 8);
	}
	case 5:
		for (size_t i = 0; i < sizeof(bytes); i++)
			bytes[i] = (uint8_t)rnd(256);
		return av_bytes(bytes, rnd(sizeof(bytes)));
	case 6:
	case 7: {
		AnyValue *a = av_arr(0);
		size_t n = rnd(4);
		free(a->array_value->values);
		a->array_value->n_values = n;
		a->array_value->values = calloc(n + 1, sizeof(AnyValue *));
		for (size_t i = 0; i < n; i++)
			a->array_value->values[i] = rnd_any(depth + 1);
		return a;
	}
	default: {
		AnyValue *a = av_kvl(0);
		size_t n = rnd(4);
		free(a->kvlist_value->values);
		a->kvlist_value->n_values = n;
		a->kvlist_value->values = calloc(n + 1, sizeof(KeyValue *));
		for (size_t i = 0; i < n; i++) {
			char *k = rnd_str();
			a->kvlist_value->values[i] = kv(k, rnd_any(depth + 1));
			free(k);
		}
		return a;
	}
	}
}

/* n random attributes into *list */
static void rnd_attrs(size_t *n, KeyValue ***list)
{
	*n = rnd(5);
	*list = calloc(*n + 1, sizeof(KeyValue *));
	for (size_t i = 0; i < *n; i++) {
		char *k = rnd_str();
		(*list)[i] = kv(rnd(4) ? k : "service.name", rnd_any(0));
		free(k);
	}
}

/* An id: mostly of the right length or empty, now and then wrong. */
static ProtobufCBinaryData rnd_id(size_t len)
{
	uint8_t id[17];
	for (size_t i = 0; i < sizeof(id); i++)
		id[i] = (uint8_t)rnd(256);
	size_t r = rnd(100);
	return B(id, r < 60 ? len : r < 99 ? 0 : rnd(17));
}

static Resource *rnd_resource(void)
{
	if (rnd(5) == 0)
		return NULL;
	Resource *r = resource();
	rnd_attrs(&r->n_attributes, &r->attributes);
	r->dropped_attributes_count = (uint32_t)rnd(3);
	return r;
}

static Scope *rnd_scope(void)
{
	if (rnd(4) == 0)
		return NULL;
	char *a = rnd_str(), *b = rnd_str();
	Scope *s = scope(a, b);
	free(a);
	free(b);
	rnd_attrs(&s->n_attributes, &s->attributes);
	return s;
}

static Span *rnd_span(void)
{
	char *name = rnd_str();
	Span *s = span(name);
	free(name);
	set_bytes(&s->trace_id, rnd_id(16));
	set_bytes(&s->span_id, rnd_id(8));
	s->parent_span_id = rnd_id(8);
	s->kind = (int)rnd(6);
	s->start_time_unix_nano = rnd(UINT64_MAX);
	s->end_time_unix_nano = rnd(UINT64_MAX);
	rnd_attrs(&s->n_attributes, &s->attributes);
	s->n_events = rnd(3);
	s->events = calloc(s->n_events + 1, sizeof(Event *));
	for (size_t i = 0; i < s->n_events; i++) {
		Event *e = NEW(Event, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__EVENT__INIT);
		e->time_unix_nano = rnd(UINT64_MAX);
		rnd_attrs(&e->n_attributes, &e->attributes);
		s->events[i] = e;
	}
	s->n_links = rnd(3);
	s->links = calloc(s->n_links + 1, sizeof(Link *));
	for (size_t i = 0; i < s->n_links; i++) {
		Link *l = NEW(Link, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__LINK__INIT);
		l->trace_id = rnd_id(16);
		l->span_id = rnd_id(8);
		rnd_attrs(&l->n_attributes, &l->attributes);
		s->links[i] = l;
	}
	if (rnd(2)) {
		s->status = NEW(Status, OPENTELEMETRY__PROTO__TRACE__V1__STATUS__INIT);
		s->status->code = (int)rnd(3);
	}
	return s;
}

static LogRecord *rnd_log(void)
{
	LogRecord *l = log_record();
	l->time_unix_nano = rnd(3) ? rnd(UINT64_MAX) : 0;
	l->observed_time_unix_nano = rnd(2) ? rnd(UINT64_MAX) : 0;
	l->severity_number = (int)rnd(25);
	l->body = rnd(4) ? rnd_any(0) : NULL;
	rnd_attrs(&l->n_attributes, &l->attributes);
	l->trace_id = rnd_id(16);
	l->span_id = rnd_id(8);
	return l;
}

static void rnd_exemplars(size_t *n, Exemplar ***list)
{
	*n = rnd(3);
	*list = calloc(*n + 1, sizeof(Exemplar *));
	for (size_t i = 0; i < *n; i++)
		(*list)[i] = exemplar(rnd(UINT64_MAX),
				      (int)(rnd(3) == 0 ? 0
					    : rnd(2)	? 3
							: 6),
				      (double)rnd(100), (int64_t)rnd(UINT64_MAX), (int)rnd(2));
}

static Metric *rnd_metric(void)
{
	static const int types[] = {0, 5, 7, 9, 10, 11};
	int type = types[rnd(OW_NELEMS(types))];
	size_t n = type ? rnd(4) : 0;
	void **points = calloc(n + 1, sizeof(void *));
	void *data = NULL;
	for (size_t i = 0; i < n; i++) {
		if (type == 5 || type == 7) {
			NumberPoint *p = number_point((int)(rnd(3) == 0 ? 0
							    : rnd(2)	? 4
									: 6),
						      (double)rnd(100), (int64_t)rnd(UINT64_MAX));
			rnd_attrs(&p->n_attributes, &p->attributes);
			rnd_exemplars(&p->n_exemplars, &p->exemplars);
			points[i] = p;
		} else if (type == 9) {
			HistPoint *p =
			    NEW(HistPoint,
				OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__INIT);
			p->n_bucket_counts = rnd(4);
			p->bucket_counts = calloc(p->n_bucket_counts + 1, 8);
			p->n_explicit_bounds = rnd(3);
			p->explicit_bounds = calloc(p->n_explicit_bounds + 1, 8);
			p->_sum_case = rnd(2) ? 5 : 0;
			p->sum = 1.25;
			rnd_attrs(&p->n_attributes, &p->attributes);
			rnd_exemplars(&p->n_exemplars, &p->exemplars);
			points[i] = p;
		} else if (type == 10) {
			ExpPoint *p = NEW(
			    ExpPoint,
			    OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__INIT);
			uint64_t c[] = {rnd(UINT64_MAX), rnd(10)};
			p->scale = (int32_t)rnd(40) - 20;
			p->positive = rnd(2) ? buckets((int32_t)rnd(100) - 50, rnd(3), c) : NULL;
			p->negative = rnd(2) ? buckets(0, rnd(3), c) : NULL;
			rnd_attrs(&p->n_attributes, &p->attributes);
			points[i] = p;
		} else {
			SummaryPoint *p =
			    NEW(SummaryPoint,
				OPENTELEMETRY__PROTO__METRICS__V1__SUMMARY_DATA_POINT__INIT);
			p->n_quantile_values = rnd(3);
			p->quantile_values = calloc(p->n_quantile_values + 1, sizeof(Quantile *));
			for (size_t k = 0; k < p->n_quantile_values; k++)
				p->quantile_values[k] = quantile((double)k / 2, (double)rnd(9));
			points[i] = p;
		}
	}
	switch (type) {
	case 5: {
		Gauge *g = NEW(Gauge, OPENTELEMETRY__PROTO__METRICS__V1__GAUGE__INIT);
		g->n_data_points = n;
		g->data_points = (NumberPoint **)points;
		data = g;
		break;
	}
	case 7: {
		Sum *s = NEW(Sum, OPENTELEMETRY__PROTO__METRICS__V1__SUM__INIT);
		s->n_data_points = n;
		s->data_points = (NumberPoint **)points;
		s->aggregation_temporality = (int)rnd(3);
		s->is_monotonic = (int)rnd(2);
		data = s;
		break;
	}
	case 9: {
		Histogram *h = NEW(Histogram, OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM__INIT);
		h->n_data_points = n;
		h->data_points = (HistPoint **)points;
		data = h;
		break;
	}
	case 10: {
		ExpHistogram *e = NEW(
		    ExpHistogram, OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM__INIT);
		e->n_data_points = n;
		e->data_points = (ExpPoint **)points;
		data = e;
		break;
	}
	case 11: {
		Summary *q = NEW(Summary, OPENTELEMETRY__PROTO__METRICS__V1__SUMMARY__INIT);
		q->n_data_points = n;
		q->data_points = (SummaryPoint **)points;
		data = q;
		break;
	}
	default:
		free(points);
	}
	char *name = rnd_str();
	Metric *m = metric(name, type, data);
	free(name);
	rnd_attrs(&m->n_metadata, &m->metadata);
	return m;
}

/* A random request of signal, packed. */
static uint8_t *rnd_request(int signal, size_t *len)
{
	size_t nr = rnd(4);
	void **rs = calloc(nr + 1, sizeof(void *));
	for (size_t i = 0; i < nr; i++) {
		size_t ns = rnd(4);
		void **ss = calloc(ns + 1, sizeof(void *));
		for (size_t j = 0; j < ns; j++) {
			size_t nrec = rnd(5);
			void **recs = calloc(nrec + 1, sizeof(void *));
			for (size_t k = 0; k < nrec; k++)
				recs[k] = signal == OW_TRACES ? (void *)rnd_span()
					  : signal == OW_LOGS ? (void *)rnd_log()
							      : (void *)rnd_metric();
			if (signal == OW_TRACES) {
				ScopeSpans *x = NEW(
				    ScopeSpans, OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT);
				x->scope = rnd_scope();
				x->n_spans = nrec;
				x->spans = (Span **)recs;
				ss[j] = x;
			} else if (signal == OW_LOGS) {
				ScopeLogs *x = NEW(
				    ScopeLogs, OPENTELEMETRY__PROTO__LOGS__V1__SCOPE_LOGS__INIT);
				x->scope = rnd_scope();
				x->n_log_records = nrec;
				x->log_records = (LogRecord **)recs;
				ss[j] = x;
			} else {
				ScopeMetrics *x =
				    NEW(ScopeMetrics,
					OPENTELEMETRY__PROTO__METRICS__V1__SCOPE_METRICS__INIT);
				x->scope = rnd_scope();
				x->n_metrics = nrec;
				x->metrics = (Metric **)recs;
				ss[j] = x;
			}
		}
		if (signal == OW_TRACES) {
			ResourceSpans *x = NEW(
			    ResourceSpans, OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT);
			x->resource = rnd_resource();
			x->n_scope_spans = ns;
			x->scope_spans = (ScopeSpans **)ss;
			rs[i] = x;
		} else if (signal == OW_LOGS) {
			ResourceLogs *x =
			    NEW(ResourceLogs, OPENTELEMETRY__PROTO__LOGS__V1__RESOURCE_LOGS__INIT);
			x->resource = rnd_resource();
			x->n_scope_logs = ns;
			x->scope_logs = (ScopeLogs **)ss;
			rs[i] = x;
		} else {
			ResourceMetrics *x =
			    NEW(ResourceMetrics,
				OPENTELEMETRY__PROTO__METRICS__V1__RESOURCE_METRICS__INIT);
			x->resource = rnd_resource();
			x->n_scope_metrics = ns;
			x->scope_metrics = (ScopeMetrics **)ss;
			rs[i] = x;
		}
	}
	if (signal == OW_TRACES) {
		TraceReq *r = trace_req(0);
		free(r->resource_spans);
		r->n_resource_spans = nr;
		r->resource_spans = (ResourceSpans **)rs;
		return pack_free(r, len);
	}
	if (signal == OW_LOGS) {
		LogsReq *r = NEW(
		    LogsReq,
		    OPENTELEMETRY__PROTO__COLLECTOR__LOGS__V1__EXPORT_LOGS_SERVICE_REQUEST__INIT);
		r->n_resource_logs = nr;
		r->resource_logs = (ResourceLogs **)rs;
		return pack_free(r, len);
	}
	MetricsReq *r =
	    NEW(MetricsReq,
		OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_SERVICE_REQUEST__INIT);
	r->n_resource_metrics = nr;
	r->resource_metrics = (ResourceMetrics **)rs;
	return pack_free(r, len);
}

/* Every row's OTLP/JSON from its plain values and otlp_exact is JSON, and
 * converts back to the same plain values, losing something exactly where
 * otlp_exact holds the column: 0 when a row is not so. */
static int roundtrip_ok(const ow_table_t *t)
{
	int sig = signal_of(t), pass = 1;
	ow_buf_t back = {0}, plain = {0};
	for (size_t row = 0; row < t->nrows && pass; row++) {
		for (int c = 0; c < t->ncols && pass; c++) {
			size_t n, xn = 0;
			const uint8_t *p = val(t, t->defs[c].name, row, &n);
			const uint8_t *x = val(t, OW_COLUMNS_EXACT, row, &xn);
			if (!p || !ow_columns_v1_differs(sig, c))
				continue;
			back.len = plain.len = 0;
			int rc = ow_columns_otlp(sig, c, p, n, x, xn, &back);
			cJSON *j = cJSON_ParseWithLength((const char *)back.data, back.len);
			int lossy = ow_columns_v1_plain(sig, c, back.data, back.len, &plain);
			pass = rc == OW_OK && j && plain.len == n &&
			       memcmp(plain.data, p, n) == 0 &&
			       lossy == exact_has(x, xn, t->defs[c].name);
			cJSON_Delete(j);
			/* text of another shape (a damaged part): reported, or
			 * converted, never a read out of bounds (make asan) */
			for (int k = 0; k < 4 && back.len; k++) {
				ow_buf_t bad = {0}, o = {0};
				ow_buf_add(&bad, back.data,
					   back.len - (k == 3 ? rnd(back.len) : 0));
				for (size_t m = rnd(3) + 1; k < 3 && m > 0; m--)
					bad.data[rnd(bad.len)] =
					    (uint8_t) "{}[]\\\":,x0\""[rnd(10)];
				if (bad.len) {
					ow_columns_v1_plain(sig, c, bad.data, bad.len, &o);
					o.len = 0;
					ow_columns_otlp(sig, c, bad.data, bad.len, bad.data,
							bad.len, &o);
				}
				ow_buf_free(&bad);
				ow_buf_free(&o);
			}
			if (!pass)
				printf("#   %s[%zu] %.*s: OTLP/JSON %.*s\n", t->defs[c].name, row,
				       (int)OW_MIN(n, 300), (const char *)p,
				       (int)OW_MIN(back.len, 300),
				       back.len ? (const char *)back.data : "");
		}
	}
	ow_buf_free(&back);
	ow_buf_free(&plain);
	return pass;
}

/* Random requests: the same verdict and count as protobuf-c, a consistent
 * table whose JSON goes to OTLP/JSON and back; then random bytes changed
 * in them: never a crash, and a refusal leaves the (empty) table empty. */
static void test_random(int signal)
{
	int differ = 0, bad_table = 0, refusals = 0, mut_bad = 0, mut_taken = 0;
	int64_t records = 0;
	for (int i = 0; i < 300; i++) {
		size_t n;
		uint8_t *pb = rnd_request(signal, &n);
		ow_table_t t;
		ow_columns_table_init(signal, &t);
		int64_t r = decode(signal, pb, n, &t);
		int64_t want = pbc_count(signal, pb, n);
		if (r != want) {
			differ++;
			printf("#   %d: got %lld (%s), protobuf-c %lld\n", i, (long long)r, err,
			       (long long)want);
		}
		bad_table += !table_ok(&t) || (r >= 0 && t.nrows != (size_t)r) || !roundtrip_ok(&t);
		refusals += r < 0;
		records += r > 0 ? r : 0;
		ow_table_free(&t);
		for (int k = 0; k < 20 && n; k++) {
			uint8_t *mut = dup_mem(pb, n);
			for (uint64_t j = rnd(3) + 1; j > 0; j--)
				mut[rnd(n)] = (uint8_t)rnd(256);
			ow_columns_table_init(signal, &t);
			r = decode(signal, mut, n, &t);
			if (r < 0) {
				for (int c = 0; c < t.ncols; c++)
					mut_bad += t.cols[c].nrows || t.cols[c].data.len ||
						   t.cols[c].fixed.len || t.cols[c].defs.len;
			} else {
				mut_bad += !table_ok(&t) || t.nrows != (size_t)r;
				mut_taken++;
			}
			ow_table_free(&t);
			free(mut);
		}
		free(pb);
	}
	ok(differ == 0 && bad_table == 0,
	   "%s: 300 random requests (%lld records, %d refused for their ids) agree with "
	   "protobuf-c",
	   ow_signal_name(signal), (long long)records, refusals);
	ok(mut_bad == 0, "%s: 6000 mutated requests (%d taken): consistent tables, refusals clean",
	   ow_signal_name(signal), mut_taken);
}

/* ---- order and time ---- */

static void test_sort(void)
{
	Resource *ra = resource(), *rb = resource();
	SET(ra, attributes, 1, kv("service.name", av_str("a")));
	SET(rb, attributes, 1, kv("service.name", av_str("b")));
	Span *s[8];
	static const char *const names[] = {"y", "x", "x", "z", "x", "x", "b", "a"};
	static const uint64_t starts[] = {1, 5, 3, 0, 3, 3, 9, 9};
	for (int i = 0; i < 8; i++) {
		s[i] = span(names[i]);
		s[i]->start_time_unix_nano = starts[i];
	}
	/* rows: 0-2 service b, 3-5 service a, 6-7 no service */
	size_t n;
	uint8_t *pb =
	    pack_free(trace_req(3, resource_spans(rb, 1, scope_spans(NULL, 3, s[0], s[1], s[2])),
				resource_spans(ra, 1, scope_spans(NULL, 3, s[3], s[4], s[5])),
				resource_spans(NULL, 1, scope_spans(NULL, 2, s[6], s[7]))),
		      &n);
	ow_table_t t;
	ow_columns_table_init(OW_TRACES, &t);
	decode(OW_TRACES, pb, n, &t);
	uint32_t perm[8];
	ow_columns_sort(OW_TRACES, &t, 0, perm);
	static const uint32_t want[] = {7, 6, 4, 5, 3, 2, 1, 0};
	ok(memcmp(perm, want, sizeof(want)) == 0,
	   "spans sort by service (null first), name, start time; ties keep their order");
	ow_columns_sort(OW_TRACES, &t, 4, perm);
	static const uint32_t cut[] = {4, 3, 2, 0, 7, 6, 5, 1};
	ok(memcmp(perm, cut, sizeof(cut)) == 0,
	   "spans with row groups of 4: by start time into runs of 4, each by service, name, "
	   "start time");
	ow_table_free(&t);
	free(pb);

	LogRecord *l[4];
	static const uint64_t times[] = {7, 3, 0, 3};
	for (int i = 0; i < 4; i++) {
		l[i] = log_record();
		l[i]->time_unix_nano = times[i];
		l[i]->observed_time_unix_nano = 100;
	}
	pb = pack_free(logs_req(NULL, NULL, 4, l[0], l[1], l[2], l[3]), &n);
	ow_columns_table_init(OW_LOGS, &t);
	decode(OW_LOGS, pb, n, &t);
	uint32_t lperm[4];
	ow_columns_sort(OW_LOGS, &t, 0, lperm);
	ok(lperm[0] == 2 && lperm[1] == 1 && lperm[2] == 3 && lperm[3] == 0,
	   "logs sort by service, time as stored (0 first)");
	ow_table_free(&t);
	free(pb);

	/* rows 0-2 service b, 3-5 service a */
	static const uint64_t ltimes[] = {5, 1, 3, 4, 0, 2};
	ow_columns_table_init(OW_LOGS, &t);
	for (int k = 0; k < 2; k++) {
		Resource *rs = resource();
		SET(rs, attributes, 1, kv("service.name", av_str(k ? "a" : "b")));
		for (int i = 0; i < 3; i++) {
			l[i] = log_record();
			l[i]->time_unix_nano = ltimes[3 * k + i];
		}
		pb = pack_free(logs_req(rs, NULL, 3, l[0], l[1], l[2]), &n);
		decode(OW_LOGS, pb, n, &t);
		free(pb);
	}
	uint32_t gperm[6];
	static const uint32_t whole[] = {4, 5, 3, 1, 2, 0}, runs[] = {4, 5, 1, 3, 2, 0};
	ow_columns_sort(OW_LOGS, &t, 0, gperm);
	ok(memcmp(gperm, whole, sizeof(whole)) == 0, "logs of two services: by service, time");
	ow_columns_sort(OW_LOGS, &t, 3, gperm);
	ok(memcmp(gperm, runs, sizeof(runs)) == 0,
	   "with row groups of 3: by time into runs of 3, each by service and time");
	ow_columns_sort(OW_LOGS, &t, 6, gperm);
	ok(memcmp(gperm, whole, sizeof(whole)) == 0, "one run when a row group holds every row");
	ow_table_free(&t);

	NumberPoint *p[5];
	static const char *const series[] = {"b", "a", "b", "a", NULL};
	static const uint64_t ptimes[] = {2, 5, 1, 4, 9};
	for (int i = 0; i < 5; i++) {
		p[i] = number_point(4, 1, 0);
		p[i]->time_unix_nano = ptimes[i];
		if (series[i])
			SET(p[i], attributes, 1, kv("k", av_str(series[i])));
	}
	Gauge *g1 = NEW(Gauge, OPENTELEMETRY__PROTO__METRICS__V1__GAUGE__INIT);
	Gauge *g2 = NEW(Gauge, OPENTELEMETRY__PROTO__METRICS__V1__GAUGE__INIT);
	SET(g1, data_points, 4, p[0], p[1], p[2], p[3]);
	SET(g2, data_points, 1, p[4]);
	pb = pack_free(metrics_req(NULL, NULL, 2, metric("m2", 5, g1), metric("m1", 5, g2)), &n);
	ow_columns_table_init(OW_METRICS, &t);
	decode(OW_METRICS, pb, n, &t);
	uint32_t mperm[5];
	ow_columns_sort(OW_METRICS, &t, 0, mperm);
	static const uint32_t mwant[] = {4, 3, 1, 2, 0};
	ok(memcmp(mperm, mwant, sizeof(mwant)) == 0, "metrics sort by name, series, time");
	ow_table_free(&t);
	free(pb);

	ow_columns_table_init(OW_METRICS, &t);
	ow_columns_sort(OW_METRICS, &t, 0, mperm);
	ok(1, "an empty table sorts");
	ow_table_free(&t);
}

/* ---- the benchmark: not a test ---- */

static uint8_t *bench_request(size_t *len)
{
	static const char *const routes[] = {
	    "/api/users",      "/api/orders", "/api/cart", "/api/search", "/healthz",
	    "/api/items/{id}", "/login",      "/logout",   "/api/pay",	  "/static"};
	Resource *r = resource();
	SET(r, attributes, 8, kv("service.name", av_str("checkout")),
	    kv("service.version", av_str("1.4.2")), kv("host.name", av_str("ip-10-0-3-17")),
	    kv("os.type", av_str("linux")), kv("process.pid", av_int(4242)),
	    kv("telemetry.sdk.name", av_str("opentelemetry")),
	    kv("telemetry.sdk.language", av_str("go")),
	    kv("telemetry.sdk.version", av_str("1.28.0")));
	ScopeSpans *ss = scope_spans(scope("go.opentelemetry.io/contrib/net/http", "0.53.0"), 0);
	free(ss->spans);
	ss->n_spans = 1000;
	ss->spans = calloc(1000, sizeof(Span *));
	for (int i = 0; i < 1000; i++) {
		char route[64];
		snprintf(route, sizeof(route), "GET %s", routes[i % 10]);
		Span *s = span(route);
		uint8_t id[16];
		for (int k = 0; k < 16; k++)
			id[k] = (uint8_t)rnd(256);
		set_bytes(&s->trace_id, B(id, 16));
		set_bytes(&s->span_id, B(id + 8, 8));
		if (i % 4)
			s->parent_span_id = B(id, 8);
		s->kind = i % 3 ? 2 : 3;
		s->start_time_unix_nano = 1700000000000000000ull + (uint64_t)i * 1000000;
		s->end_time_unix_nano = s->start_time_unix_nano + rnd(50000000);
		s->flags = 0x101;
		SET(s, attributes, 8, kv("http.request.method", av_str("GET")),
		    kv("url.path", av_str(routes[i % 10])),
		    kv("http.response.status_code", av_int(i % 17 ? 200 : 500)),
		    kv("server.address", av_str("checkout.internal")),
		    kv("server.port", av_int(8080)),
		    kv("user_agent.original", av_str("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) "
						     "Gecko/20100101 Firefox/128.0")),
		    kv("network.protocol.version", av_str("1.1")),
		    kv("http.route", av_str(routes[i % 10])));
		if (i % 10 == 0) {
			Event *e = NEW(Event, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__EVENT__INIT);
			e->time_unix_nano = s->start_time_unix_nano + 1000;
			e->name = S("exception");
			SET(e, attributes, 3, kv("exception.type", av_str("io.EOF")),
			    kv("exception.message", av_str("unexpected end of stream")),
			    kv("exception.stacktrace",
			       av_str("goroutine 1 [running]:\nmain.main()\n\t/app/main.go:42")));
			SET(s, events, 1, e);
		}
		s->status = NEW(Status, OPENTELEMETRY__PROTO__TRACE__V1__STATUS__INIT);
		s->status->code = i % 17 ? 0 : 2;
		ss->spans[i] = s;
	}
	return pack_free(trace_req(1, resource_spans(r, 1, ss)), len);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int bench(void)
{
	size_t n;
	uint8_t *pb = bench_request(&n);
	ow_table_t t;
	ow_columns_table_init(OW_TRACES, &t);
	/* BENCH_ITERS=20 BENCH_ROUNDS=1 for valgrind --tool=callgrind */
	int iters = getenv("BENCH_ITERS") ? atoi(getenv("BENCH_ITERS")) : 300;
	int rounds = getenv("BENCH_ROUNDS") ? atoi(getenv("BENCH_ROUNDS")) : 5;
	double best_ours = 1e9, best_pbc = 1e9, best_cold = 1e9;
	for (int round = 0; round < rounds; round++) {
		double t0 = now_s();
		for (int i = 0; i < iters; i++) {
			for (int c = 0; c < t.ncols; c++) /* steady state: buffers reused */
				t.cols[c].fixed.len = t.cols[c].data.len = t.cols[c].offs.len =
				    t.cols[c].defs.len = t.cols[c].nrows = t.cols[c].nvals = 0;
			t.nrows = 0;
			if (decode(OW_TRACES, pb, n, &t) != 1000)
				return printf("decode failed: %s\n", err), 1;
		}
		best_ours = OW_MIN(best_ours, (now_s() - t0) / iters);
		t0 = now_s();
		for (int i = 0; i < iters; i++) {
			ProtobufCMessage *m = protobuf_c_message_unpack(
			    &opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor,
			    NULL, n, pb);
			protobuf_c_message_free_unpacked(m, NULL);
		}
		best_pbc = OW_MIN(best_pbc, (now_s() - t0) / iters);
		ow_table_t fresh;
		ow_columns_table_init(OW_TRACES, &fresh);
		t0 = now_s();
		decode(OW_TRACES, pb, n, &fresh);
		best_cold = OW_MIN(best_cold, now_s() - t0);
		ow_table_free(&fresh);
	}
	printf("request: 1000 spans, %zu bytes (%.0f bytes/span); column bytes after decode: %zu\n",
	       n, (double)n / 1000, ow_table_bytes(&t));
	printf("ow_columns_decode (buffers reused): %8.1f us  %7.1f MB/s  %6.2f M spans/s\n",
	       best_ours * 1e6, (double)n / best_ours / 1e6, 1000 / best_ours / 1e6);
	printf("ow_columns_decode (fresh table):    %8.1f us  %7.1f MB/s  %6.2f M spans/s\n",
	       best_cold * 1e6, (double)n / best_cold / 1e6, 1000 / best_cold / 1e6);
	printf("protobuf-c unpack + free:           %8.1f us  %7.1f MB/s  %6.2f M spans/s\n",
	       best_pbc * 1e6, (double)n / best_pbc / 1e6, 1000 / best_pbc / 1e6);
	ow_table_free(&t);
	free(pb);
	return 0;
}

static int same_buf(const ow_buf_t *a, const ow_buf_t *b)
{
	return a->len == b->len && (!a->len || memcmp(a->data, b->data, a->len) == 0);
}

/* The same rows, byte for byte in every buffer of every column. */
static int same_table(const ow_table_t *a, const ow_table_t *b)
{
	int same = a->nrows == b->nrows && a->ncols == b->ncols;
	for (int c = 0; same && c < a->ncols; c++) {
		const ow_col_t *x = &a->cols[c], *y = &b->cols[c];
		same = same_buf(&x->fixed, &y->fixed) && same_buf(&x->data, &y->data) &&
		       same_buf(&x->offs, &y->offs) && same_buf(&x->defs, &y->defs) &&
		       same_buf(&x->refs, &y->refs) && x->nvals == y->nvals;
	}
	return same;
}

/* The standard request of a signal, packed. */
static uint8_t *signal_request(int signal, size_t *n)
{
	return pack_free(signal == OW_TRACES ? (void *)spans_request()
			 : signal == OW_LOGS ? (void *)logs_request()
					     : (void *)metrics_request(),
			 n);
}

/* ow_table_share: the same bytes read, fewer held; what a table holds
 * alike is found in each signal's request (every row's dropped counts,
 * the one resource's entry, the definitions of required columns). */
static void test_share(void)
{
	for (int signal = 0; signal < OW_NSIGNALS; signal++) {
		size_t n;
		uint8_t *pb = signal_request(signal, &n);
		ow_table_t t, before, after;
		ow_columns_table_init(signal, &t);
		ow_columns_table_init(signal, &before);
		ow_columns_table_init(signal, &after);
		decode(signal, pb, n, &t);
		ow_table_fit(&t);
		ow_table_append(&before, &t);
		size_t held = ow_table_bytes(&t);
		ow_table_share(&t);
		int lent = 0;
		for (int c = 0; c < t.ncols; c++)
			lent += t.cols[c].lent != 0;
		ok(lent > 0 && ow_table_bytes(&t) < held,
		   "signal %d: %d columns borrow, %zu bytes held, %zu before", signal, lent,
		   ow_table_bytes(&t), held);
		ow_table_share(&t); /* a second time changes nothing */
		ow_table_append(&after, &t);
		ok(same_table(&after, &before),
		   "signal %d: a shared table reads the same bytes in every column", signal);
		/* concatenated at once (a flush's table), as appended one by one */
		ow_table_t cat, two;
		ow_columns_table_init(signal, &cat);
		ow_columns_table_init(signal, &two);
		ow_table_concat(&cat, (ow_table_t *[]){&t, &before}, 2);
		ow_table_append(&two, &before);
		ow_table_append(&two, &before);
		ok(cat.nrows == 2 * before.nrows && same_table(&cat, &two),
		   "signal %d: ow_table_concat appends as ow_table_append does", signal);
		ow_table_free(&cat);
		ow_table_free(&two);
		/* a column cleared gives back what it borrowed, and takes rows again */
		int c = 0;
		while (c < t.ncols && !(t.cols[c].lent & OW_COL_LENT_DEFS))
			c++;
		if (c < t.ncols) {
			ow_col_clear(&t.cols[c]);
			ow_col_append(&t.cols[c], &before.cols[c]);
			ok(!t.cols[c].lent && same_buf(&t.cols[c].defs, &before.cols[c].defs),
			   "signal %d: a cleared column owns its buffers again", signal);
		}
		ow_table_free(&t);
		ow_table_free(&before);
		ow_table_free(&after);
		free(pb);
	}
}

/* Shredding a table whose attributes share entries among rows (refs, as a
 * merge reads them): the rest shares its entries the same way, one a
 * distinct object, not one a row; every row joins back to its object. */
static void test_shred_refs(void)
{
	ow_table_t t;
	ow_columns_table_init(OW_TRACES, &t);
	int ac = -1;
	for (int c = 0; c < t.ncols; c++)
		if (strcmp(t.defs[c].name, "attributes") == 0)
			ac = c;
	ok(ac >= 0, "spans have an attributes column");
	if (ac < 0)
		return;
	static const char *const obj[] = {"{\"k\":1,\"s\":\"a\",\"x\":[1]}",
					  "{\"k\":2,\"s\":\"b\",\"x\":[2]}",
					  "{\"s\":\"c\",\"k\":3,\"x\":[3]}"};
	enum { ROWS = 3000 };
	ow_col_t *a = &t.cols[ac];
	for (uint32_t r = 0; r < ROWS; r++) {
		uint32_t e = r % 3;
		if (r < 3)
			ow_col_bytes(a, obj[e], strlen(obj[e]));
		else
			ow_col_defined(a);
		ow_buf_add(&a->refs, &e, sizeof(e));
	}
	t.nrows = ROWS;
	ow_shred_t sh;
	int nk = ow_shred_build(OW_TRACES, &t, NULL, ROWS, 16, &sh);
	is_int(nk, 2, "shredded: k and s");
	if (nk == 2) {
		const ow_col_t *rest = &sh.t.cols[ac], *order = &sh.t.cols[t.ncols + 2];
		is_int(rest->offs.len / 4, 3, "the rest holds each distinct object once");
		is_int(rest->refs.len / 4, ROWS, "and a ref a row");
		is_int(order->offs.len / 4, 1, "the order column too: one entry");
		size_t n;
		const uint8_t *p = ow_col_bytes_at(rest, ow_col_entry(rest, ROWS - 1), &n);
		ok(n == 9 && memcmp(p, "{\"x\":[3]}", 9) == 0, "the last row's rest: %.*s", (int)n,
		   (const char *)p);
		size_t held = 0;
		for (int j = 0; j <= nk + 1; j++)
			held += ow_col_bytes_held(&sh.own[j]);
		size_t bound = ow_shred_bytes(OW_TRACES, &t, 16);
		ok(held <= bound && bound < 100 * held,
		   "ow_shred_bytes bounds what it holds: %zu <= %zu", held, bound);
	}
	ow_shred_free(&sh);
	ow_table_free(&t);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--bench") == 0)
		return bench();
	test_spans();
	test_invalid_ids();
	test_bounded();
	test_any_values();
	test_logs();
	test_metrics();
	test_refusals();
	test_wire();
	for (int signal = 0; signal < OW_NSIGNALS; signal++) {
		size_t n;
		uint8_t *pb = signal_request(signal, &n);
		test_truncations(signal, pb, n);
		free(pb);
	}
	ow_buf_t want = {0}, want_plain = {0};
	size_t n;
	uint8_t *pb = any_values_request(60, &want, &want_plain, &n);
	test_truncations(OW_LOGS, pb, n);
	free(pb);
	ow_buf_free(&want);
	ow_buf_free(&want_plain);
	for (int signal = 0; signal < OW_NSIGNALS; signal++)
		test_random(signal);
	test_sort();
	test_share();
	test_shred_refs();
	return done_testing();
}

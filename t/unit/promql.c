/* promql: the parser's error positions, values as Prometheus writes them,
 * durations, the evaluator over series in memory (rate's extrapolation,
 * lookback and staleness, histogram_quantile, topk, vector matching,
 * subqueries), the OTel->Prometheus names, and remote_write's conversion
 * (snappy, protobuf) with its refusals. */
#include "../lib/tap.h"
#include "modules/prom/prom.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <snappy-c.h>

static char err[1024];

/* ---- an in-memory store ---- */

typedef struct {
	const char *labels[8]; /* name, value, ... NULL */
	int64_t t0, step;      /* ms */
	double v[16];
	int n;
} mem_t;

static mem_t *mem;
static int nmem;

static int fetch(void *arg, const ow_pq_matcher_t *m, int nm, int64_t mint, int64_t maxt,
		 ow_pq_series_t **out, size_t *n, char *e, size_t elen)
{
	(void)arg, (void)e, (void)elen;
	*out = calloc((size_t)nmem + 1, sizeof(ow_pq_series_t));
	*n = 0;
	for (int i = 0; i < nmem; i++) {
		ow_pq_series_t s = {0};
		for (int k = 0; mem[i].labels[k]; k += 2)
			ow_pq_label_set(&s.labels, mem[i].labels[k], mem[i].labels[k + 1]);
		if (!ow_pq_match_all(m, nm, &s.labels)) {
			ow_pq_labels_free(&s.labels);
			continue;
		}
		for (int k = 0; k < mem[i].n; k++) {
			int64_t t = mem[i].t0 + k * mem[i].step;
			if (t >= mint && t <= maxt)
				ow_pq_series_add(&s, t, mem[i].v[k]);
		}
		(*out)[(*n)++] = s;
	}
	return OW_OK;
}

/* The answer's "data" of q at t (instant), or the error. */
static char *eval(const char *q, int64_t start, int64_t end, int64_t step)
{
	static char buf[8192];
	ow_pq_expr_t *e = ow_pq_parse(q, err, sizeof(err));
	if (e == NULL) {
		snprintf(buf, sizeof(buf), "parse: %s", err);
		return buf;
	}
	ow_pq_eval_opts_t o = {.start = start, .end = end, .step = step, .fetch = fetch};
	ow_buf_t out = {0};
	const char *etype = NULL;
	if (ow_pq_eval(e, &o, &out, &etype, err, sizeof(err)) != OW_OK)
		snprintf(buf, sizeof(buf), "%s: %s", etype, err);
	else
		snprintf(buf, sizeof(buf), "%.*s", (int)out.len, (char *)out.data);
	ow_buf_free(&out);
	ow_pq_free(e);
	return buf;
}

/* The range query q's answer holds, at each step, what the instant query
 * q answers at that time: the range functions made over whole ranges
 * (sliding windows, groups made once) against the step-by-step path. */
static void agrees(const char *q, int64_t start, int64_t end, int64_t step)
{
	ow_pq_expr_t *e = ow_pq_parse(q, err, sizeof(err));
	ow_pq_series_t *m = NULL;
	size_t nm = 0, npts = 0, bad = 0;
	ow_pq_eval_opts_t o = {
	    .start = start, .end = end, .step = step, .fetch = fetch, .matrix = &m, .nmatrix = &nm};
	ow_buf_t out = {0};
	const char *etype = NULL;
	if (e == NULL || ow_pq_eval(e, &o, &out, &etype, err, sizeof(err)) != OW_OK) {
		ok(0, "%s: %s", q, err);
		ow_pq_free(e);
		return;
	}
	for (int64_t t = start; t <= end; t += step) {
		cJSON *j = cJSON_Parse(eval(q, t, t, 0)), *r = cJSON_GetObjectItem(j, "result"), *x;
		size_t at = 0; /* the range answer's points at t */
		for (size_t i = 0; i < nm; i++)
			for (size_t k = 0; k < m[i].n; k++)
				at += m[i].pts[k].t == t;
		bad += r == NULL || (size_t)cJSON_GetArraySize(r) != at;
		cJSON_ArrayForEach(x, r)
		{
			cJSON *metric = cJSON_GetObjectItem(x, "metric");
			const char *want =
			    cJSON_GetArrayItem(cJSON_GetObjectItem(x, "value"), 1)->valuestring;
			int found = 0;
			for (size_t i = 0; i < nm && !found; i++) {
				int same = m[i].labels.n == cJSON_GetArraySize(metric);
				for (int l = 0; l < m[i].labels.n && same; l++) {
					cJSON *v =
					    cJSON_GetObjectItem(metric, m[i].labels.l[l].name);
					same = v &&
					       strcmp(v->valuestring, m[i].labels.l[l].value) == 0;
				}
				for (size_t k = 0; k < m[i].n && same; k++) {
					if (m[i].pts[k].t != t)
						continue;
					ow_buf_t b = {0};
					ow_pq_format_value(&b, m[i].pts[k].v);
					found = b.len == strlen(want) &&
						memcmp(b.data, want, b.len) == 0;
					ow_buf_free(&b);
					break;
				}
			}
			bad += !found;
			npts++;
		}
		cJSON_Delete(j);
	}
	ok(bad == 0 && npts > 0, "%s over [%lld, %lld] by %lld: the instant answers (%zu points)",
	   q, (long long)start, (long long)end, (long long)step, npts);
	for (size_t i = 0; i < nm; i++) {
		ow_pq_labels_free(&m[i].labels);
		free(m[i].pts);
	}
	free(m);
	ow_buf_free(&out);
	ow_pq_free(e);
}

static void parse_error(const char *q, const char *want)
{
	ow_pq_expr_t *e = ow_pq_parse(q, err, sizeof(err));
	ok(e == NULL && strncmp(err, want, strlen(want)) == 0, "%s: %s", q, e ? "parsed" : err);
	ow_pq_free(e);
}

static void value(double v, const char *want)
{
	ow_buf_t b = {0};
	ow_pq_format_value(&b, v);
	ow_buf_add(&b, "", 1);
	is_str((char *)b.data, want, "value %.17g as %s", v, want);
	ow_buf_free(&b);
}

static void name(const char *n, const char *unit, const char *type, int mono, const char *want)
{
	ow_buf_t b = {0};
	ow_prom_metric_name(n, unit, type, mono, &b);
	ow_buf_add(&b, "", 1);
	is_str((char *)b.data, want, "%s %s (%s%s) is %s", n, unit, type, mono ? ", monotonic" : "",
	       want);
	ow_buf_free(&b);
}

/* protobuf for the remote_write tests */
static void pb_varint(ow_buf_t *b, uint64_t v)
{
	do {
		uint8_t c = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		ow_buf_add(b, &c, 1);
		v >>= 7;
	} while (v);
}

static void pb_bytes(ow_buf_t *b, int f, const void *p, size_t n)
{
	pb_varint(b, (uint64_t)f << 3 | 2);
	pb_varint(b, n);
	ow_buf_add(b, p, n);
}

static void pb_label(ow_buf_t *ts, const char *n, const char *v)
{
	ow_buf_t l = {0};
	pb_bytes(&l, 1, n, strlen(n));
	pb_bytes(&l, 2, v, strlen(v));
	pb_bytes(ts, 1, l.data, l.len);
	ow_buf_free(&l);
}

static void pb_sample(ow_buf_t *ts, double v, int64_t t)
{
	ow_buf_t s = {0};
	pb_varint(&s, 1 << 3 | 1);
	ow_buf_add(&s, &v, 8);
	pb_varint(&s, 2 << 3 | 0);
	pb_varint(&s, (uint64_t)t);
	pb_bytes(ts, 2, s.data, s.len);
	ow_buf_free(&s);
}

static int convert(const ow_buf_t *wr, ow_buf_t *out)
{
	size_t n = snappy_max_compressed_length(wr->len);
	char *c = malloc(n);
	snappy_compress((const char *)wr->data, wr->len, c, &n);
	int rc = ow_prom_remote_convert((uint8_t *)c, n, 1 << 20, out, err, sizeof(err));
	free(c);
	return rc;
}

int main(void)
{
	/* ---- parse errors: line and column ---- */
	parse_error("sum(rate(x[5m])", "1:16: parse error: unexpected end of input");
	parse_error("rate(x)", "1:6: parse error: expected type range vector in call to function "
			       "\"rate\", got instant vector");
	parse_error("x{a=\"b\"", "1:8: parse error: unexpected end of input in label matching");
	parse_error("foo(1)", "1:1: parse error: unknown function with name \"foo\"");
	parse_error("1 +\n  )", "2:3: parse error: unexpected \")\"");
	parse_error("{}", "1:1: parse error: vector selector must contain at least one non-empty "
			  "matcher");
	parse_error("x @ 5", "1:3: parse error: the @ modifier is not supported");
	parse_error("1 > 2",
		    "1:3: parse error: comparisons between scalars must use BOOL modifier");
	parse_error("sum(x) by (a) by (b)", "1:15: parse error: unexpected identifier \"by\"");
	parse_error("x[5m] + 1", "1:1: parse error: binary expression must contain only scalar and "
				 "instant vector types");
	char deep[600];
	memset(deep, '(', 300);
	deep[300] = '1';
	memset(deep + 301, ')', 298);
	deep[599] = '\0';
	parse_error(deep, "1:129: parse error: expression nested more than 128 deep");
	parse_error("", "1:1: parse error: no expression found in input");

	/* ---- values and durations ---- */
	value(2, "2");
	value(0.1, "0.1");
	value(1e21, "1000000000000000000000");
	value(1.5e-7, "0.00000015");
	value(-3.25, "-3.25");
	value(NAN, "NaN");
	value(INFINITY, "+Inf");
	value(-INFINITY, "-Inf");
	int64_t ms = 0;
	ok(ow_pq_parse_duration("1h30m", 5, &ms) == OW_OK && ms == 5400000, "1h30m");
	ok(ow_pq_parse_duration("500ms", 5, &ms) == OW_OK && ms == 500, "500ms");
	ok(ow_pq_parse_duration("1m0s", 4, &ms) == OW_OK && ms == 60000, "1m0s (Grafana's)");
	ok(ow_pq_parse_duration("5m1h", 4, &ms) != OW_OK, "5m1h: units from the largest down");
	ok(ow_pq_parse_duration("5", 1, &ms) != OW_OK, "5: no unit");

	/* ---- the evaluator ---- */
	/* a counter 0, 10, ..., 90 every 10 s from t=10s, reset at the 7th */
	mem_t data[] = {
	    {{"__name__", "c_total", "job", "a", NULL},
	     10000,
	     10000,
	     {0, 10, 20, 30, 40, 50, 5, 15, 25, 35},
	     10},
	    {{"__name__", "c_total", "job", "b", NULL},
	     10000,
	     10000,
	     {1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
	     10},
	    {{"__name__", "h_bucket", "le", "1", NULL}, 10000, 10000, {2, 2}, 2},
	    {{"__name__", "h_bucket", "le", "2", NULL}, 10000, 10000, {6, 6}, 2},
	    {{"__name__", "h_bucket", "le", "+Inf", NULL}, 10000, 10000, {8, 8}, 2},
	    {{"__name__", "g", "job", "a", NULL}, 10000, 10000, {1, 2, 0, 4}, 4},
	};
	mem = data;
	nmem = 6;
	data[5].v[2] = ow_pq_stale();
	is_str(eval("1+1", 4000, 4000, 0), "{\"resultType\":\"scalar\",\"result\":[4,\"2\"]}",
	       "1+1 at 4 s: the scalar 2 (Grafana's health check)");
	/* rate over [40s, 100s]: samples at 40..100 (4 before the reset at 70) */
	is_str(eval("rate(c_total{job=\"a\"}[60s])", 100000, 100000, 0),
	       "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"job\":\"a\"},\"value\":[100,"
	       "\"0.9166666666666666\"]}]}",
	       "rate: the counter reset corrected, extrapolated as Prometheus (55 / 60 s)");
	is_str(eval("increase(c_total{job=\"a\"}[30s])", 40000, 40000, 0),
	       "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"job\":\"a\"},\"value\":[40,"
	       "\"30\"]}]}",
	       "increase over [10s, 40s]: 30, the start extrapolated to zero");
	is_str(eval("g", 30000, 30000, 0), "{\"resultType\":\"vector\",\"result\":[]}",
	       "a staleness marker hides the series");
	is_str(
	    eval("g", 40000, 40000, 0),
	    "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"__name__\":\"g\",\"job\":\"a\"},"
	    "\"value\":[40,\"4\"]}]}",
	    "until the next sample");
	is_str(
	    eval("g", 40000 + 300000, 40000 + 300000, 0),
	    "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"__name__\":\"g\",\"job\":\"a\"},"
	    "\"value\":[340,\"4\"]}]}",
	    "the lookback reaches 5 minutes back");
	is_str(eval("g", 40001 + 300000, 40001 + 300000, 0),
	       "{\"resultType\":\"vector\",\"result\":[]}", "and no further");
	is_str(eval("histogram_quantile(0.5, h_bucket)", 20000, 20000, 0),
	       "{\"resultType\":\"vector\",\"result\":[{\"metric\":{},\"value\":[20,\"1.5\"]}]}",
	       "histogram_quantile interpolates in the bucket (rank 4 of 8 in (1, 2])");
	is_str(
	    eval("topk(1, c_total)", 60000, 60000, 0),
	    "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"__name__\":\"c_total\",\"job\":"
	    "\"a\"},\"value\":[60,\"50\"]}]}",
	    "topk keeps the sample's labels");
	is_str(eval("sum by (job) (c_total) / on(job) group_left g", 40000, 40000, 0),
	       "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"job\":\"a\"},\"value\":[40,"
	       "\"7.5\"]}]}",
	       "vector matching on(job) group_left");
	is_str(
	    eval("c_total + on() c_total", 40000, 40000, 0),
	    "execution: found duplicate series for the match group on the right hand-side of the "
	    "operation; many-to-many matching not allowed: matching labels must be unique on one "
	    "side",
	    "many-to-many: an execution error");
	is_str(eval("max_over_time(c_total{job=\"a\"}[30s:10s])", 90000, 90000, 0),
	       "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"job\":\"a\"},\"value\":[90,"
	       "\"50\"]}]}",
	       "a subquery: the values at 60, 70, 80 and 90 s");
	is_str(eval("sum(c_total)", 10000, 30000, 10000),
	       "{\"resultType\":\"matrix\",\"result\":[{\"metric\":{},\"values\":[[10,\"1\"],[20,"
	       "\"11\"],[30,\"21\"]]}]}",
	       "a range query: one series, a point a step");
	is_str(
	    eval("label_replace(g, \"x\", \"$1-y\", \"job\", \"(.*)\")", 10000, 10000, 0),
	    "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"__name__\":\"g\",\"job\":\"a\","
	    "\"x\":\"a-y\"},\"value\":[10,\"1\"]}]}",
	    "label_replace with $1");

	/* ---- names ---- */
	name("c", "", "sum", 1, "c_total");
	name("http.server.duration", "ms", "histogram", 0, "http_server_duration_milliseconds");
	name("system.memory.usage", "By", "sum", 0, "system_memory_usage_bytes");
	name("requests", "{request}", "sum", 1, "requests_total");
	name("cpu.utilization", "1", "gauge", 0, "cpu_utilization_ratio");
	name("throughput", "By/s", "gauge", 0, "throughput_bytes_per_second");
	name("latency_seconds", "s", "gauge", 0, "latency_seconds");
	name("jobs_total", "", "sum", 1, "jobs_total");
	name("2xx", "", "gauge", 0, "_2xx");
	ow_buf_t ln = {0};
	ow_prom_label_name("http.route", 10, &ln);
	ow_prom_label_name("9a", 2, &ln);
	ow_buf_add(&ln, "", 1);
	is_str((char *)ln.data, "http_routekey_9a", "label names: http.route, 9a");
	ow_buf_free(&ln);

	/* ---- remote_write ---- */
	ow_buf_t wr = {0}, ts = {0}, out = {0};
	pb_label(&ts, "__name__", "up");
	pb_label(&ts, "job", "node");
	pb_sample(&ts, 1, 1700000000000);
	pb_sample(&ts, ow_pq_stale(), 1700000015000);
	pb_bytes(&wr, 1, ts.data, ts.len);
	ok(convert(&wr, &out) == OW_OK && out.len > 0, "remote_write: a series converts (%s)", err);
	ow_buf_free(&out);
	ow_buf_t bad = {0};
	pb_bytes(&bad, 1, "\x0a\x05", 2); /* a label whose length runs past its series */
	ok(convert(&bad, &out) == OW_ERROR && strstr(err, "malformed"), "malformed protobuf: %s",
	   err);
	ow_buf_free(&bad);
	ow_buf_free(&out);
	ow_buf_t noname = {0}, ts2 = {0};
	pb_label(&ts2, "job", "node");
	pb_sample(&ts2, 1, 1700000000000);
	pb_bytes(&noname, 1, ts2.data, ts2.len);
	ok(convert(&noname, &out) == OW_ERROR && strstr(err, "__name__"), "no __name__: %s", err);
	ow_buf_free(&out);
	ok(ow_prom_remote_convert((const uint8_t *)"not snappy", 10, 1 << 20, &out, err,
				  sizeof(err)) == OW_ERROR,
	   "not snappy: %s", err);
	uint8_t big[8] = {0xff, 0xff, 0xff, 0x7f}; /* claims 256 MiB uncompressed */
	ok(ow_prom_remote_convert(big, 4, 1 << 20, &out, err, sizeof(err)) == OW_NOSPACE,
	   "claims more than the limit uncompressed: %s", err);
	ow_buf_free(&wr);
	ow_buf_free(&ts);
	ow_buf_free(&ts2);
	ow_buf_free(&noname);
	ow_buf_free(&out);
	/* ---- range queries: the whole-range functions against the steps ---- */
	mem_t edge[] = {
	    data[0], /* a counter reset at 70 s */
	    data[1],
	    /* sparser than the query's steps, with NaN and +Inf */
	    {{"__name__", "c_total", "job", "c", NULL},
	     15000,
	     30000,
	     {3, 7, NAN, 12, 1, INFINITY, 20},
	     7},
	    {{"__name__", "u", "job", "a", NULL}, 50000, 10000, {5}, 1}, /* one point */
	    {{"__name__", "u", "job", "b", NULL}, 10000, 10000, {1, 2, 0, 4, 5, 6}, 6},
	    {{"__name__", "u", "job", "c", NULL},
	     10000,
	     10000,
	     {1, INFINITY, 3, NAN, -INFINITY, 2, 7, 7},
	     8},
	    data[2],
	    data[3],
	    data[4],
	};
	edge[4].v[2] = ow_pq_stale(); /* a staleness marker inside windows */
	mem = edge;
	nmem = 9;
	static const char *const ranged[] = {
	    "rate(c_total[30s])",
	    "rate(c_total[30s] offset 20s)",
	    "irate(c_total[45s])",
	    "increase(c_total[1m])",
	    "delta(u[30s])",
	    "idelta(u[30s])",
	    "sum_over_time(u[40s])",
	    "avg_over_time(u[40s])",
	    "min_over_time(u[40s])",
	    "max_over_time(u[40s])",
	    "count_over_time(u[40s])",
	    "last_over_time(u[15s])",
	    "present_over_time(u[10s])",
	    "stddev_over_time(u[1m])",
	    "stdvar_over_time(u[1m])",
	    "quantile_over_time(0.5, u[1m])",
	    "changes(u[1m])",
	    "resets(c_total[1m])",
	    "deriv(u[30s])",
	    "predict_linear(u[30s], 60)",
	    "sum by (job) (rate(c_total[30s]))",
	    "sum(rate(c_total[30s]))",
	    "avg without (job) (max_over_time(u[30s]))",
	    "count(count_over_time(u[20s]))",
	    "min by (job) ((rate(c_total[40s])))",
	    "topk(1, sum by (job) (rate(c_total[30s])))",
	    "bottomk(2, rate(c_total[30s]))",
	    "histogram_quantile(0.5, sum by (le) (rate(h_bucket[20s])))",
	    "rate(c_total[30s]) * 2 > 0.1",
	    "max_over_time(rate(c_total[20s])[40s:10s])",
	};
	for (size_t i = 0; i < sizeof(ranged) / sizeof(ranged[0]); i++) {
		agrees(ranged[i], 0, 200000, 7000); /* steps shorter than the scrapes */
		agrees(ranged[i], 20000, 170000, 25000);
	}

	return done_testing();
}

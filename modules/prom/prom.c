/*
 * prom.c - the Prometheus HTTP API on the control port (control.port),
 * registered with ow_control_route: control checks the token and the
 * tenant (X-Scope-OrgID) exactly as for /api/search.
 *
 *   /prometheus/api/v1/query         GET or POST form: query, time
 *   /prometheus/api/v1/query_range   query, start, end, step
 *   /prometheus/api/v1/series        match[] (or match), start, end
 *   /prometheus/api/v1/labels        match[], start, end
 *   /prometheus/api/v1/label/NAME/values
 *   /prometheus/api/v1/metadata      metric, limit
 *   /prometheus/api/v1/status/buildinfo
 *   /prometheus/api/v1/query_exemplars   (none are stored: empty)
 *   /prometheus/api/v1/write         remote_write 1.0 (the write scope)
 *
 * Answers are Prometheus' envelope, {"status":"success","data":...} or
 * {"status":"error","errorType":...,"error":...} with its statuses: 400
 * bad_data (a parse error says "1:COL: parse error: ..."), 422 execution,
 * 503 timeout, 429 unavailable (Retry-After) when the query caps are full.
 * Times are Unix seconds (fractions allowed) or RFC 3339; steps seconds or
 * durations; a range query has at most 11,000 steps, as in Prometheus.
 * Parameters come from the URL and from a form body
 * (application/x-www-form-urlencoded); a query whose '+' signs, read as
 * spaces, leave it unparsable is read again with '+' kept (curl -d
 * 'query=1+1', which Grafana never sends).
 *
 * A query_range goes through the result cache (rcache.c,
 * prom.result_cache_bytes): the cached points at its aligned times, the
 * steps past them evaluated as a range query of their own, the merged
 * answer kept; its key and the ingest sequence are taken on the loop
 * before the snapshot. With stats (stats=all) a query's data carries
 * Prometheus' "stats" and openwit's: rows and bytes read, and what the
 * result cache did.
 *
 * Every read runs on the query pool (ow_query_run): the query caps, its
 * time (query.timeout_ms, from admission) and memory (query.max_memory_bytes:
 * the SQL reads and, separately, the evaluation's samples and answer)
 * and the client's going away, as /api/search. The evaluation has at most
 * query.max_rows series x steps points in its answer.
 *
 * remote_write goes through the ingest front (modules/ingest) as an
 * OTLP/HTTP request does, the body converted on the worker (remote.c):
 * the in-flight budget, the tenant's limits, the WAL; answered 204 once
 * durable, 400 on bad data (Prometheus drops the batch), 413 too large,
 * 429 (the tenant's rate) or 503 (budget, disk, draining) with
 * Retry-After when a retry helps.
 */
#include "prom.h"
#include "../control/control.h"
#include "../core/log.h"
#include "../http/http.h"
#include "../ingest/ingest.h"
#include "../search/search.h"

#include <ctype.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <math.h>
#include <strings.h>
#include <time.h>

#define PREFIX "/prometheus"
#define MAX_STEPS 11000
/* remote_write: a request's size uncompressed, and converted to OTLP */
#define RW_MAX ((size_t)64 << 20)

/* ---- parameters ---- */

typedef struct {
	char **k, **v;
	int n;
} params_t;

static void params_free(params_t *p)
{
	for (int i = 0; i < p->n; i++) {
		free(p->k[i]);
		free(p->v[i]);
	}
	free(p->k);
	free(p->v);
	memset(p, 0, sizeof(*p));
}

/* a=b&c=d, percent-decoded ('+' a space when plus) */
static void params_parse(params_t *p, const char *s, size_t len, int plus)
{
	size_t i = 0;
	while (i < len) {
		size_t e = i;
		while (e < len && s[e] != '&')
			e++;
		size_t eq = i;
		while (eq < e && s[eq] != '=')
			eq++;
		if (e > i) {
			char *k = ow_alloc(eq - i + 1), *v = ow_alloc(e - OW_MIN(eq + 1, e) + 1);
			memcpy(k, s + i, eq - i);
			k[eq - i] = '\0';
			size_t vn = eq < e ? e - eq - 1 : 0;
			memcpy(v, s + eq + 1 - (eq == e), vn);
			v[vn] = '\0';
			char *dk = evhttp_uridecode(k, plus, NULL),
			     *dv = evhttp_uridecode(v, plus, NULL);
			free(k);
			free(v);
			p->k = ow_realloc(p->k, (size_t)(p->n + 1) * sizeof(char *));
			p->v = ow_realloc(p->v, (size_t)(p->n + 1) * sizeof(char *));
			p->k[p->n] = ow_strdup(dk ? dk : "");
			p->v[p->n++] = ow_strdup(dv ? dv : "");
			free(dk);
			free(dv);
		}
		i = e + 1;
	}
}

static const char *param(const params_t *p, const char *name)
{
	for (int i = 0; i < p->n; i++)
		if (strcmp(p->k[i], name) == 0)
			return p->v[i];
	return NULL;
}

/* Times are taken within about 73 million years of 1970: one past is
 * that bound (Prometheus' own "all time", its minTime and maxTime, which
 * clients send formatted, among them), so that no sum or difference of
 * times, ranges and offsets leaves int64. */
#define TIME_LIMIT_MS ((int64_t)1 << 61)

static int64_t clamp_time(double ms)
{
	return ms >= (double)TIME_LIMIT_MS    ? TIME_LIMIT_MS
	       : ms <= -(double)TIME_LIMIT_MS ? -TIME_LIMIT_MS
					      : (int64_t)llround(ms);
}

/* Unix seconds with a fraction, or RFC 3339. */
static int parse_time(const char *s, int64_t *ms)
{
	char *end;
	double v = strtod(s, &end);
	if (*s && *end == '\0' && isfinite(v)) {
		*ms = clamp_time(v * 1000);
		return OW_OK;
	}
	if (strcmp(s, "-292273086-05-16T16:47:06Z") == 0 ||
	    strcmp(s, "292277025-08-18T07:12:54.999999999Z") == 0) {
		*ms = *s == '-' ? -TIME_LIMIT_MS : TIME_LIMIT_MS;
		return OW_OK;
	}
	struct tm tm = {0};
	int n = 0;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
		return OW_ERROR;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	int64_t frac = 0;
	const char *c = s + n;
	if (*c == '.') {
		int64_t scale = 100;
		for (c++; isdigit((unsigned char)*c); c++) {
			frac += (*c - '0') * scale;
			scale /= 10;
		}
	}
	int64_t off = 0;
	if (*c == 'Z' || *c == 'z') {
		c++;
	} else if (*c == '+' || *c == '-') {
		int hh, mm;
		if (sscanf(c + 1, "%2d:%2d", &hh, &mm) != 2)
			return OW_ERROR;
		off = (hh * 60 + mm) * 60 * (*c == '+' ? 1 : -1);
		c += 6;
	} else {
		return OW_ERROR;
	}
	if (*c)
		return OW_ERROR;
	*ms = clamp_time(((double)timegm(&tm) - (double)off) * 1000 + (double)frac);
	return OW_OK;
}

/* Seconds with a fraction or a duration: OW_OK; OW_NOSPACE past int64
 * nanoseconds, as Prometheus reads a step; OW_ERROR. */
static int parse_step(const char *s, int64_t *ms)
{
	char *end;
	double v = strtod(s, &end);
	if (*s && *end == '\0') {
		if (!(fabs(v) * 1e9 < 9.223372036854775807e18))
			return OW_NOSPACE;
		*ms = (int64_t)llround(v * 1000);
		return OW_OK;
	}
	return ow_pq_parse_duration(s, strlen(s), ms);
}

/* ---- answers ---- */

static void reply(struct evhttp_request *req, int code, const ow_buf_t *b)
{
	ow_http_reply(req, code, "application/json", b->data, b->len, 0);
}

/* Prometheus' error form into b. */
static void error_body(ow_buf_t *b, const char *etype, const char *msg)
{
	ow_buf_addstr(b, "{\"status\":\"error\",\"errorType\":");
	ow_pq_json_string(b, etype);
	ow_buf_addstr(b, ",\"error\":");
	ow_pq_json_string(b, msg);
	ow_buf_addstr(b, "}");
}

static void reply_error(struct evhttp_request *req, int code, const char *etype, const char *msg)
{
	ow_buf_t b = {0};
	error_body(&b, etype, msg);
	reply(req, code, &b);
	ow_buf_free(&b);
}

static int etype_code(const char *etype)
{
	return strcmp(etype, "bad_data") == 0	 ? 400
	       : strcmp(etype, "execution") == 0 ? 422
	       : strcmp(etype, "timeout") == 0	 ? 503
	       : strcmp(etype, "canceled") == 0	 ? 499
						 : 500;
}

/* ---- reads on the query pool ---- */

enum { Q_QUERY, Q_RANGE, Q_SERIES, Q_LABELS, Q_VALUES, Q_METADATA };

typedef struct {
	int kind;
	ow_pq_expr_t *expr;    /* Q_QUERY, Q_RANGE */
	ow_pq_expr_t **matchs; /* the match[] selectors */
	int nmatch;
	int64_t start, end, step, limit;
	char *name; /* Q_VALUES: the label; Q_METADATA: the metric */
	const char *etype;
	char err[1024];
	/* Q_RANGE with the result cache: its key; the ingest sequence read
	 * before the snapshot (rcache.c) */
	char *key;
	char tenant[OW_TENANT_MAX + 1];
	uint64_t seq;
	int stats, use; /* stats: the answer's "stats" asked; use: OW_PROM_RC_* */
	int64_t t0;	/* ow_mono_ns at the request */
} pq_t;

static void pq_free(pq_t *q)
{
	ow_pq_free(q->expr);
	for (int i = 0; i < q->nmatch; i++)
		ow_pq_free(q->matchs[i]);
	free(q->matchs);
	free(q->name);
	free(q->key);
	free(q);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_labels(const void *a, const void *b)
{
	return ow_pq_labels_cmp(&((const ow_pq_series_t *)a)->labels,
				&((const ow_pq_series_t *)b)->labels);
}

/* The series (labels alone) of every match[] selector, or of all. */
static int matched_series(pq_t *q, ow_prom_store_t *st, ow_pq_series_t **all, size_t *nall)
{
	*all = NULL;
	*nall = 0;
	ow_pq_matcher_t any = {.op = OW_PQ_NEQ, .name = (char *)"__name__", .value = (char *)""};
	int n = q->nmatch ? q->nmatch : 1;
	for (int i = 0; i < n; i++) {
		int nm = 1;
		const ow_pq_matcher_t *m = q->nmatch ? ow_pq_selector(q->matchs[i], &nm) : &any;
		ow_pq_series_t *s;
		size_t ns;
		int rc =
		    ow_prom_fetch(st, m, nm, q->start, q->end, &s, &ns, q->err, sizeof(q->err));
		if (rc != OW_OK)
			return rc;
		*all = ow_realloc(*all, (*nall + ns + 1) * sizeof(ow_pq_series_t));
		memcpy(*all + *nall, s, ns * sizeof(ow_pq_series_t));
		*nall += ns;
		free(s);
	}
	qsort(*all, *nall, sizeof(ow_pq_series_t), cmp_labels);
	size_t m = 0;
	for (size_t i = 0; i < *nall; i++) {
		if (m && ow_pq_labels_cmp(&(*all)[m - 1].labels, &(*all)[i].labels) == 0) {
			ow_pq_labels_free(&(*all)[i].labels);
			free((*all)[i].pts);
			continue;
		}
		(*all)[m++] = (*all)[i];
	}
	*nall = m;
	return OW_OK;
}

/* The distinct strings among names, sorted, as a JSON array. */
static void string_set(ow_buf_t *b, char **names, size_t n, int64_t limit)
{
	if (n > 1)
		qsort(names, n, sizeof(char *), cmp_str);
	ow_buf_add(b, "[", 1);
	int64_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (i && strcmp(names[i], names[i - 1]) == 0)
			continue;
		if (limit > 0 && k == limit)
			break;
		if (k++)
			ow_buf_add(b, ",", 1);
		ow_pq_json_string(b, names[i]);
	}
	ow_buf_add(b, "]", 1);
}

/* A query_range through the result cache (rcache.c): the cached points
 * at the request's times, the times past them evaluated as a range query
 * of their own, the two merged into the answer and stored. A request that
 * fails stores nothing; one that read a delta series (summed from its
 * span's start, so not the same over a shorter span) stores nothing, and
 * is evaluated whole when it took cached points. The answer's points,
 * cached and evaluated, hit or not, are held to the evaluator's limit
 * (more than max_points fails, as ow_pq_eval says it). */
static int range_cached(pq_t *q, ow_prom_store_t *st, ow_pq_eval_opts_t *eo, ow_buf_t *data)
{
	ow_prom_result_t head, tail = {0}, all;
	int64_t upto;
	ow_prom_rcache_get(q->key, q->start, q->end, q->step, &head, &upto);
	int64_t held = 0, points = 0;
	for (size_t i = 0; i < head.n; i++) {
		held += (int64_t)ow_prom_series_bytes(&head.series[i]);
		points += (int64_t)head.series[i].n;
	}
	if (held && ow_search_hold(st->s, held, q->err, sizeof(q->err)) != OW_OK) {
		ow_prom_result_free(&head);
		q->etype = "execution";
		return OW_ERROR;
	}
	int64_t last = q->start + (q->end - q->start) / q->step * q->step; /* the last step */
	q->use = upto >= last	    ? OW_PROM_RC_HIT
		 : upto >= q->start ? OW_PROM_RC_PARTIAL
				    : OW_PROM_RC_MISS;
	if (q->use != OW_PROM_RC_HIT) {
		eo->start = upto + q->step;
		eo->matrix = &tail.series;
		eo->nmatrix = &tail.n;
		int64_t fetched = st->fetched;
		int rc = ow_pq_eval(q->expr, eo, data, &q->etype, q->err, sizeof(q->err));
		if (rc == OW_OK && st->delta && q->use == OW_PROM_RC_PARTIAL) {
			/* the whole span again, on the budget as it was before */
			ow_prom_result_free(&tail);
			ow_prom_result_free(&head);
			ow_search_hold(st->s, -(held + st->fetched - fetched), NULL, 0);
			st->fetched = fetched;
			q->use = OW_PROM_RC_MISS;
			eo->start = q->start;
			eo->matrix = NULL;
			return ow_pq_eval(q->expr, eo, data, &q->etype, q->err, sizeof(q->err));
		}
		if (rc != OW_OK) {
			ow_prom_result_free(&head);
			return rc;
		}
	}
	for (size_t i = 0; i < tail.n; i++)
		points += (int64_t)tail.series[i].n;
	if (eo->max_points && points > eo->max_points) { /* as the evaluator says it */
		ow_prom_result_free(&head);
		ow_prom_result_free(&tail);
		snprintf(q->err, sizeof(q->err),
			 "query processing would load too many samples into memory: more than "
			 "%lld points",
			 (long long)eo->max_points);
		q->etype = "execution";
		return OW_ERROR;
	}
	ow_prom_result_merge(&head, &tail, &all);
	ow_buf_addstr(data, "{\"resultType\":\"matrix\",\"result\":[");
	for (size_t i = 0; i < all.n; i++)
		ow_pq_series_json(data, &all.series[i].labels, all.series[i].pts, all.series[i].n,
				  i == 0);
	ow_buf_addstr(data, "]}");
	if (q->use == OW_PROM_RC_HIT || st->delta) {
		ow_prom_result_free(&all);
	} else {
		int64_t min_offset;
		int dep = ow_pq_depends(q->expr, &min_offset);
		ow_prom_rcache_put(q->key, q->tenant, dep, min_offset, q->seq, q->start, q->end,
				   &all);
	}
	return OW_OK;
}

/* Prometheus' "stats" (stats=all) in the data object that ends data:
 * its timings, and what openwit read and whether the result cache
 * answered ("resultCache": "hit", "partial", "miss" or "off"). */
static void add_stats(pq_t *q, ow_search_t *s, ow_buf_t *data)
{
	static const char *const uses[] = {"off", "miss", "partial", "hit"};
	ow_search_stats_t ss;
	ow_search_last_stats(s, &ss);
	double secs = (double)(ow_mono_ns() - q->t0) / 1e9;
	data->len--; /* the object's '}' */
	ow_buf_printf(data,
		      ",\"stats\":{\"timings\":{\"evalTotalTime\":%.6f,\"execTotalTime\":%.6f},"
		      "\"openwit\":{\"rowsScanned\":%lld,\"bytesScanned\":%lld,"
		      "\"resultCache\":\"%s\"}}}",
		      secs, secs, (long long)ss.rows, (long long)ss.bytes, uses[q->use]);
}

/* On a query thread, over s (ow_query_run: the tenant's snapshot, the
 * budgets): the answer, or the error in Prometheus' form. */
static void pq_work(ow_search_t *s, void *arg, ow_query_answer_t *a)
{
	pq_t *q = arg;
	ow_buf_t data = {0};
	q->etype = NULL;
	ow_prom_store_t st;
	ow_prom_store_init(&st, s, q->kind == Q_QUERY || q->kind == Q_RANGE);
	int rc = OW_OK;
	if (q->kind == Q_QUERY || q->kind == Q_RANGE) {
		ow_pq_eval_opts_t eo = {.start = q->start,
					.end = q->end,
					.step = q->kind == Q_RANGE ? q->step : 0,
					.fetch = ow_prom_fetch,
					.fetch_arg = &st,
					.max_bytes = st.max_memory,
					.deadline_ns = st.deadline_ns,
					.max_points = ow_control_query_max_rows() * MAX_STEPS,
					.cancel = st.cancel};
		if (q->key)
			rc = range_cached(q, &st, &eo, &data);
		else
			rc = ow_pq_eval(q->expr, &eo, &data, &q->etype, q->err, sizeof(q->err));
		if (q->kind == Q_RANGE)
			ow_prom_rcache_count(q->use);
		if (rc == OW_OK && q->stats)
			add_stats(q, s, &data);
	} else if (q->kind == Q_METADATA) {
		rc = ow_prom_metadata(s, q->start, q->end, q->name ? q->name : "", q->limit, &data,
				      q->err, sizeof(q->err));
	} else {
		ow_pq_series_t *all;
		size_t n;
		rc = matched_series(q, &st, &all, &n);
		if (rc == OW_OK && q->kind == Q_SERIES) {
			ow_buf_add(&data, "[", 1);
			for (size_t i = 0; i < n; i++) {
				ow_buf_addstr(&data, i ? ",{" : "{");
				for (int k = 0; k < all[i].labels.n; k++) {
					if (k)
						ow_buf_add(&data, ",", 1);
					ow_pq_json_string(&data, all[i].labels.l[k].name);
					ow_buf_add(&data, ":", 1);
					ow_pq_json_string(&data, all[i].labels.l[k].value);
				}
				ow_buf_add(&data, "}", 1);
			}
			ow_buf_add(&data, "]", 1);
		} else if (rc == OW_OK) {
			size_t cap = 0, nn = 0;
			char **names = NULL;
			for (size_t i = 0; i < n; i++)
				for (int k = 0; k < all[i].labels.n; k++) {
					const ow_pq_label_t *l = &all[i].labels.l[k];
					if (q->kind == Q_VALUES && strcmp(l->name, q->name) != 0)
						continue;
					if (nn == cap) {
						cap = cap ? cap * 2 : 64;
						names = ow_realloc(names, cap * sizeof(char *));
					}
					names[nn++] = q->kind == Q_VALUES ? l->value : l->name;
				}
			string_set(&data, names, nn, q->limit);
			free(names);
		}
		for (size_t i = 0; i < n; i++) { /* also the selectors' before one failed */
			ow_pq_labels_free(&all[i].labels);
			free(all[i].pts);
		}
		free(all);
		q->etype = rc == OW_OK		  ? NULL
			   : rc == OW_PQ_TIMEOUT  ? "timeout"
			   : rc == OW_PQ_CANCELED ? "canceled"
						  : "execution";
	}
	ow_prom_store_free(&st);
	if (rc == OW_OK && !q->etype) {
		ow_buf_addstr(&a->body, "{\"status\":\"success\",\"data\":");
		ow_buf_add(&a->body, data.data, data.len);
		ow_buf_addstr(&a->body, "}");
	} else {
		a->code = etype_code(q->etype ? q->etype : "execution");
		error_body(&a->body, q->etype ? q->etype : "execution", q->err);
	}
	ow_buf_free(&data);
}

/* A query that could not run: past a cap (429), the queue full (503), the
 * snapshot unreadable (500), a bad tenant (400). */
static void pq_fail(ow_query_answer_t *a, int code, const char *msg)
{
	error_body(&a->body,
		   code == 400	 ? "bad_data"
		   : code == 500 ? "internal"
				 : "unavailable",
		   msg);
}

static void pq_release(void *arg)
{
	pq_free(arg);
}

/* rows_unbounded: a range query reads every sample in its span (bounded
 * by the memory budget and its points), far more than query.max_rows */
static const ow_query_api_t pq_api = {
    .rows_unbounded = 1, .work = pq_work, .fail = pq_fail, .release = pq_release};

/* ---- the routes ---- */

static const char *build_info =
    "{\"status\":\"success\",\"data\":{\"version\":\"2.42.0\",\"revision\":\"openwit-" OW_VERSION
    "\",\"branch\":\"openwit\",\"buildUser\":\"openwit\",\"buildDate\":\"\","
    "\"goVersion\":\"none\"}}";

/* The parameters of a form body and of the URL: the body's first, as Go's
 * FormValue, which Prometheus reads, prefers them. */
static void read_params(struct evhttp_request *req, params_t *p, int plus)
{
	if (evhttp_request_get_command(req) == EVHTTP_REQ_POST) {
		struct evbuffer *in = evhttp_request_get_input_buffer(req);
		size_t len = evbuffer_get_length(in);
		const char *body = (const char *)evbuffer_pullup(in, -1);
		if (body && len)
			params_parse(p, body, len, plus);
	}
	const char *qs = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	if (qs)
		params_parse(p, qs, strlen(qs), plus);
}

/* The parsed query parameter, or NULL with the error answered; *text
 * (when text is not NULL, the caller's to free) the text it parsed: '+'
 * read as a space, or kept when only that parses. */
static ow_pq_expr_t *parse_query(struct evhttp_request *req, const params_t *p, char **text)
{
	const char *query = param(p, "query");
	char err[1024];
	ow_pq_expr_t *e = ow_pq_parse(query ? query : "", err, sizeof(err));
	if (e && text)
		*text = ow_strdup(query ? query : "");
	if (e == NULL && query && strchr(query, ' ')) {
		params_t raw = {0};
		read_params(req, &raw, 0);
		const char *q2 = param(&raw, "query");
		char err2[1024];
		if (q2 && strcmp(q2, query) != 0)
			e = ow_pq_parse(q2, err2, sizeof(err2));
		if (e && text)
			*text = ow_strdup(q2);
		params_free(&raw);
	}
	if (e == NULL) {
		char msg[1200];
		snprintf(msg, sizeof(msg), "invalid parameter \"query\": %s", err);
		reply_error(req, 400, "bad_data", msg);
	}
	return e;
}

static int bad_param(struct evhttp_request *req, const char *name, const char *why)
{
	char msg[512];
	snprintf(msg, sizeof(msg), "invalid parameter \"%s\": %s", name, why);
	reply_error(req, 400, "bad_data", msg);
	return OW_ERROR;
}

/* start and end of the series APIs: the whole store when absent. */
static int span_params(struct evhttp_request *req, const params_t *p, pq_t *q)
{
	const char *s = param(p, "start"), *e = param(p, "end");
	q->start = 0;
	q->end = ow_now_ns() / 1000000 + 86400000;
	char why[300];
	if (s && *s && parse_time(s, &q->start) != OW_OK) {
		snprintf(why, sizeof(why), "cannot parse \"%.200s\" to a valid timestamp", s);
		return bad_param(req, "start", why);
	}
	if (e && *e && parse_time(e, &q->end) != OW_OK) {
		snprintf(why, sizeof(why), "cannot parse \"%.200s\" to a valid timestamp", e);
		return bad_param(req, "end", why);
	}
	if (q->end < q->start)
		return bad_param(req, "end", "end timestamp must not be before start time");
	const char *l = param(p, "limit");
	q->limit = l ? atoll(l) : 0;
	return OW_OK;
}

static int match_params(struct evhttp_request *req, const params_t *p, pq_t *q, int required)
{
	for (int i = 0; i < p->n; i++) {
		if (strcmp(p->k[i], "match[]") != 0 && strcmp(p->k[i], "match") != 0)
			continue;
		char err[1024];
		ow_pq_expr_t *e = ow_pq_parse(p->v[i], err, sizeof(err));
		int nm;
		if (e && ow_pq_selector(e, &nm) == NULL) {
			ow_pq_free(e);
			e = NULL;
			snprintf(err, sizeof(err),
				 "a series selector is a metric name and/or {matchers}");
		}
		if (e == NULL)
			return bad_param(req, "match[]", err);
		q->matchs = ow_realloc(q->matchs, (size_t)(q->nmatch + 1) * sizeof(*q->matchs));
		q->matchs[q->nmatch++] = e;
	}
	if (required && q->nmatch == 0) {
		reply_error(req, 400, "bad_data", "no match[] parameter provided");
		return OW_ERROR;
	}
	return OW_OK;
}

/* Loop thread, before the query's snapshot: its key in the result cache
 * (tenant, step, start modulo step, the query's text as sent) and the
 * ingest sequence now. */
static void range_key(pq_t *q, const char *tenant, const char *text)
{
	ow_buf_t k = {0};
	int64_t phase = ((q->start % q->step) + q->step) % q->step;
	ow_buf_printf(&k, "%s\n%lld\n%lld\n%s", tenant, (long long)q->step, (long long)phase,
		      text ? text : "");
	ow_buf_add(&k, "", 1);
	q->key = (char *)k.data;
	snprintf(q->tenant, sizeof(q->tenant), "%s", tenant);
	q->seq = ow_prom_rcache_seq();
}

static void on_api(struct evhttp_request *req, const char *path, const char *tenant, void *arg)
{
	OW_UNUSED(arg);
	const char *sub = path + strlen(PREFIX);
	int cmd = evhttp_request_get_command(req);
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_POST && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, POST");
		reply_error(req, 405, "bad_data", "method not allowed: use GET or POST");
		return;
	}
	if (strcmp(sub, "/api/v1/status/buildinfo") == 0) {
		ow_http_reply(req, 200, "application/json", build_info, strlen(build_info), 0);
		return;
	}
	if (strcmp(sub, "/api/v1/query_exemplars") == 0) {
		const char *b = "{\"status\":\"success\",\"data\":[]}";
		ow_http_reply(req, 200, "application/json", b, strlen(b), 0);
		return;
	}
	if (!ow_tenant_valid(tenant, strlen(tenant))) {
		reply_error(req, 400, "bad_data", "invalid tenant in X-Scope-OrgID");
		return;
	}
	pq_t *q = ow_calloc(1, sizeof(*q));
	params_t p = {0};
	read_params(req, &p, 1);
	int ok = OW_ERROR, rc = OW_OK;
	const char *lv = "/api/v1/label/";
	size_t lvn = strlen(lv);
	char why[300], *text = NULL;
	if (strcmp(sub, "/api/v1/query") == 0) {
		q->kind = Q_QUERY;
		const char *t = param(&p, "time");
		q->start = q->end = ow_now_ns() / 1000000;
		if (t && *t && parse_time(t, &q->start) != OW_OK) {
			snprintf(why, sizeof(why), "cannot parse \"%.200s\" to a valid timestamp",
				 t);
			bad_param(req, "time", why);
		} else if ((q->expr = parse_query(req, &p, NULL)) != NULL) {
			q->end = q->start;
			ok = OW_OK;
		}
	} else if (strcmp(sub, "/api/v1/query_range") == 0) {
		q->kind = Q_RANGE;
		const char *s = param(&p, "start"), *e = param(&p, "end"), *st = param(&p, "step");
		if (!s || parse_time(s, &q->start) != OW_OK) {
			snprintf(why, sizeof(why), "cannot parse \"%.200s\" to a valid timestamp",
				 s ? s : "");
			bad_param(req, "start", why);
		} else if (!e || parse_time(e, &q->end) != OW_OK) {
			snprintf(why, sizeof(why), "cannot parse \"%.200s\" to a valid timestamp",
				 e ? e : "");
			bad_param(req, "end", why);
		} else if (q->end < q->start) {
			bad_param(req, "end", "end timestamp must not be before start time");
		} else if (!st || (rc = parse_step(st, &q->step)) != OW_OK) {
			snprintf(why, sizeof(why), "cannot parse \"%.200s\" to a valid duration%s",
				 st ? st : "", rc == OW_NOSPACE ? ". It overflows int64" : "");
			bad_param(req, "step", why);
		} else if (q->step <= 0) {
			bad_param(req, "step",
				  "zero or negative query resolution step widths are not accepted. "
				  "Try a positive integer");
		} else if ((q->end - q->start) / q->step > MAX_STEPS) {
			reply_error(
			    req, 400, "bad_data",
			    "exceeded maximum resolution of 11,000 points per timeseries. Try "
			    "decreasing the query resolution (?step=XX)");
		} else if ((q->expr = parse_query(req, &p, &text)) != NULL) {
			ok = OW_OK;
			if (ow_prom_rcache_keeps())
				range_key(q, tenant, text);
			free(text);
		}
	} else if (strcmp(sub, "/api/v1/series") == 0) {
		q->kind = Q_SERIES;
		if (span_params(req, &p, q) == OW_OK && match_params(req, &p, q, 1) == OW_OK)
			ok = OW_OK;
	} else if (strcmp(sub, "/api/v1/labels") == 0) {
		q->kind = Q_LABELS;
		if (span_params(req, &p, q) == OW_OK && match_params(req, &p, q, 0) == OW_OK)
			ok = OW_OK;
	} else if (strncmp(sub, lv, lvn) == 0 && strlen(sub) > lvn + 7 &&
		   strcmp(sub + strlen(sub) - 7, "/values") == 0) {
		q->kind = Q_VALUES;
		size_t n = strlen(sub) - lvn - 7;
		char *raw = ow_alloc(n + 1);
		memcpy(raw, sub + lvn, n);
		raw[n] = '\0';
		char *name = evhttp_uridecode(raw, 0, NULL);
		free(raw);
		q->name = ow_strdup(name ? name : "");
		free(name);
		if (span_params(req, &p, q) == OW_OK && match_params(req, &p, q, 0) == OW_OK)
			ok = OW_OK;
	} else if (strcmp(sub, "/api/v1/metadata") == 0) {
		q->kind = Q_METADATA;
		const char *m = param(&p, "metric");
		q->name = m ? ow_strdup(m) : NULL;
		if (span_params(req, &p, q) == OW_OK)
			ok = OW_OK;
	} else {
		reply_error(req, 404, "not_found", "unknown API endpoint");
	}
	const char *stats = param(&p, "stats");
	q->stats = stats && *stats;
	q->t0 = ow_mono_ns();
	params_free(&p);
	if (ok != OW_OK) {
		pq_free(q);
		return;
	}
	ow_query_run(req, tenant, &pq_api, q);
}

/* ---- remote_write ---- */

typedef struct {
	ow_ingest_req_t in; /* first: the front and the WAL's ack get it back */
	struct evhttp_request *req;
} rw_t;

static uint64_t rw_pending, rw_requests;
static void rw_decoded(ow_ingest_req_t *in);
static void rw_ack(ow_msg_t *m, int rc);

static ow_ingest_src_t rw_src = {
    .source = OW_SRC_HTTP,
    .tenant_from = "X-Scope-OrgID",
    .accepts = "application/x-protobuf (snappy)",
    .unit = "body",
    .limit = "the remote_write limit (64 MiB uncompressed)",
    .max = RW_MAX,
    .decoded = rw_decoded,
    .ack = rw_ack,
    .convert = ow_prom_remote_convert,
};

static void rw_answer(struct evhttp_request *req, const ow_ingest_answer_t *a)
{
	ow_http_reply(req, a->http, "text/plain; charset=utf-8", a->message, strlen(a->message),
		      a->retry_after);
}

static void rw_finish(rw_t *r)
{
	rw_pending--;
	ow_ingest_free(&r->in);
	free(r);
}

static void rw_ack(ow_msg_t *m, int rc)
{
	rw_t *r = (rw_t *)m;
	if (rc == OW_OK) {
		evhttp_send_reply(r->req, 204, "No Content", NULL);
		ow_ingest_acked(&r->in);
	} else {
		ow_ingest_answer_t a;
		ow_ingest_refuse(&rw_src, OW_IN_WAL_FAILED, NULL, &a);
		rw_answer(r->req, &a);
	}
	rw_finish(r);
}

static void rw_decoded(ow_ingest_req_t *in)
{
	rw_t *r = (rw_t *)in;
	if (in->reason != OW_IN_OK) {
		ow_ingest_answer_t a;
		ow_ingest_refuse_req(in, in->reason, &a);
		rw_answer(r->req, &a);
		rw_finish(r);
		return;
	}
	ow_ingest_store(in);
}

static void on_write(struct evhttp_request *req, const char *path, const char *tenant, void *arg)
{
	OW_UNUSED(path);
	OW_UNUSED(arg);
	ow_ingest_answer_t a;
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
		ow_ingest_refuse(&rw_src, OW_IN_METHOD, NULL, &a);
		rw_answer(req, &a);
		return;
	}
	const char *ce =
	    evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Encoding");
	if (ce && *ce && strcasecmp(ce, "snappy") != 0) {
		ow_ingest_refuse(&rw_src, OW_IN_ENCODING, "use snappy", &a);
		rw_answer(req, &a);
		return;
	}
	struct evbuffer *body = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(body);
	rw_t *r = ow_calloc(1, sizeof(*r));
	ow_ingest_init(&r->in, &rw_src);
	ow_ingest_set_tenant(&r->in, tenant, strlen(tenant));
	int why = ow_ingest_admit(&r->in, len);
	if (why != OW_IN_OK) {
		ow_ingest_refuse_req(&r->in, why, &a);
		rw_answer(req, &a);
		free(r);
		return;
	}
	r->in.t0 = ow_mono_ns();
	r->req = req;
	r->in.signal = OW_METRICS;
	r->in.encoding = OW_ENC_PROTOBUF;
	r->in.blen = len;
	r->in.body = ow_alloc(OW_MAX(len, 1));
	evbuffer_remove(body, r->in.body, len);
	why = ow_ingest_decode(&r->in);
	if (why != OW_IN_OK) {
		ow_ingest_free(&r->in);
		free(r);
		ow_ingest_refuse(&rw_src, why, NULL, &a);
		rw_answer(req, &a);
		return;
	}
	rw_requests++;
	rw_pending++;
}

static int64_t cache_bytes, result_cache_bytes; /* prom.cache_bytes, prom.result_cache_bytes */

static ow_directive_t directives[] = {
    {"prom.cache_bytes", OW_CONF_INT, &cache_bytes, 0, (int64_t)1 << 40, "268435456", NULL, 0},
    {"prom.result_cache_bytes", OW_CONF_INT, &result_cache_bytes, 0, (int64_t)1 << 40, "67108864",
     NULL, 0},
    OW_CONF_END};

static int prom_init(struct event_base *base)
{
	OW_UNUSED(base);
	ow_prom_cache_limit(cache_bytes);
	ow_prom_rcache_limit(result_cache_bytes);
	ow_storage_part_gone_hook(ow_prom_cache_gone);
	ow_storage_change_hook(OW_METRICS, ow_prom_rcache_changed);
	if (ow_control_route(PREFIX, OW_ROUTE_PREFIX, OW_AUTH_READ, on_api, NULL) != OW_OK ||
	    ow_control_route(PREFIX "/api/v1/write", 0, OW_AUTH_WRITE, on_write, NULL) != OW_OK) {
		ow_log(OW_LOG_ERROR, "prometheus: cannot register the routes");
		return OW_ERROR;
	}
	return OW_OK;
}

static int prom_start(struct event_base *base)
{
	OW_UNUSED(base);
	rw_src.listener = ow_auth_listener("control");
	return OW_OK;
}

static int prom_busy(void)
{
	return rw_pending > 0;
}

static void prom_stats(ow_buf_t *b)
{
	ow_buf_printf(b,
		      "# HELP openwit_prometheus_remote_write_requests_total remote_write requests "
		      "admitted.\n# TYPE openwit_prometheus_remote_write_requests_total counter\n"
		      "openwit_prometheus_remote_write_requests_total %llu\n",
		      (unsigned long long)rw_requests);
	ow_prom_cache_stats(b);
	ow_prom_rcache_stats(b);
}

static void prom_stop(void)
{
	ow_storage_part_gone_hook(NULL);
	ow_storage_change_hook(OW_METRICS, NULL);
	ow_prom_cache_clear();
	ow_prom_rcache_clear();
}

ow_module_t ow_prom_module = {
    .name = "prom",
    .directives = directives,
    .init = prom_init,
    .start = prom_start,
    .busy = prom_busy,
    .stats = prom_stats,
    .stop = prom_stop,
};

/*
 * loki.c - Loki's HTTP API at /loki/api/v1 over the logs table (what
 * Grafana's Loki data source sends, its URL http://HOST:8083: Grafana
 * appends /loki/api/v1/...):
 *
 *   GET|POST query_range?query=&start=&end=&step=&limit=&direction=
 *   GET|POST query?query=&time=&limit=&direction=
 *   GET labels?start=&end=, label/{name}/values?start=&end=&query=
 *   GET series?match[]=&start=&end=, index/stats?query=&start=&end=
 *   GET tail?query=&start=&limit=&delay_for=    a websocket (below)
 *
 * Times are Unix nanoseconds (with a '.': seconds and a fraction), as
 * Grafana sends them; query_range defaults to
 * the hour before now, the label calls to the six hours before. step is a
 * duration ("15000ms") or seconds, by default (end - start) / 250 and at
 * least 1s; more than 11,000 points is refused, as Loki does. limit is
 * 100 by default, at most loki.max_entries_limit; direction backward (the
 * newest first) or forward.
 *
 * Streams. A log record's labels are service_name (unknown_service
 * without one), severity_text and level (severity_text in lower case, or
 * the level of severity_number: trace, debug, info, warn, error, fatal),
 * and the resource attributes listed in loki.stream_labels, dots as
 * underscores. A log query's entries also carry trace_id and span_id,
 * which Loki keeps as structured metadata and answers as labels of the
 * entry's stream, as here (so a derived field can link a line to its
 * trace); metric queries leave them out. The line is the record's body
 * (a body that is not a string: its JSON).
 *
 * How a query runs (on the query pool, ow_query_run): the stream matchers
 * that name a column and the first line filters become SQL on the logs
 * table (time range, service_name, severity_text and resource attribute
 * equalities, LIKE for |=), which the columnar engine and the full-text
 * index answer; the rest (every matcher and filter again, exactly,
 * parsers, label filters, line_format) runs here on the rows, read in
 * pages until the limit is reached. A metric query whose pipeline is only
 * line filters and drop is counted by SQL in buckets of gcd(step, range);
 * any other reads its rows (at most query.max_rows of them). Errors are
 * Loki's: text, 400 for a bad query or parameter.
 */
#include "loki.h"
#include "../auth/auth.h"
#include "../control/control.h"
#include "../http/http.h"
#include "../search/search.h"

#include <ctype.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <math.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <strings.h>

static char *stream_labels;
static int64_t max_entries;

static ow_directive_t directives[] = {
    {"loki.stream_labels", OW_CONF_LIST, &stream_labels, 0, 4096,
     "service.namespace\nservice.instance.id\ndeployment.environment\nhost.name\n"
     "k8s.namespace.name\nk8s.pod.name\nk8s.container.name",
     NULL, 0},
    {"loki.max_entries_limit", OW_CONF_INT, &max_entries, 1, 1000000, "5000", NULL, 0},
    OW_CONF_END};

/* loki.stream_labels split: attribute keys and their label names */
static char **attr_keys, **attr_labels;
static int nattrs;

enum { Q_RANGE, Q_INSTANT, Q_LABELS, Q_VALUES, Q_SERIES, Q_STATS };

typedef struct {
	int what;
	lq_expr_t *expr;
	lq_selector_t **sels; /* series: the match[] selectors */
	lq_expr_t **sel_exprs;
	int nsels;
	int64_t start, end, step, limit;
	int forward;
	char *name; /* label values */
	/* tail: the entries at time start already sent (their hashes,
	 * entry_hash, sorted), skipped when a poll reads that nanosecond
	 * again; a poll's own at the time of its last entry, in next. Both
	 * are charged to each poll's memory budget. */
	int tail;
	uint64_t *sent, *next;
	int nsent, nnext, capnext;
	int64_t delay; /* tail: delay_for, in ns */
} loki_req_t;

/* ---- answers ---- */

static void json_str(ow_buf_t *b, const char *s, size_t n)
{
	ow_buf_add(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			ow_buf_printf(b, "\\%c", c);
		else if (c < 0x20)
			ow_buf_printf(b, "\\u%04x", c);
		else
			ow_buf_add(b, &s[i], 1);
	}
	ow_buf_add(b, "\"", 1);
}

static void labels_json(ow_buf_t *b, const lq_labels_t *l)
{
	ow_buf_addstr(b, "{");
	for (int i = 0; i < l->n; i++) {
		if (i)
			ow_buf_addstr(b, ",");
		json_str(b, l->name[i], strlen(l->name[i]));
		ow_buf_addstr(b, ":");
		json_str(b, l->value[i], strlen(l->value[i]));
	}
	ow_buf_addstr(b, "}");
}

/* A time in ns as Prometheus' seconds: 1700000000 or 1700000000.25. */
static void secs(ow_buf_t *b, int64_t ns)
{
	int64_t s = ns / 1000000000, f = ns % 1000000000;
	if (f < 0) {
		s--;
		f += 1000000000;
	}
	if (f == 0) {
		ow_buf_printf(b, "%lld", (long long)s);
		return;
	}
	char frac[16];
	snprintf(frac, sizeof(frac), "%09lld", (long long)f);
	for (int i = 8; i > 0 && frac[i] == '0'; i--)
		frac[i] = '\0';
	ow_buf_printf(b, "%lld.%s", (long long)s, frac);
}

/* A sample value as Prometheus prints it ("2", "0.5", "NaN", "+Inf"). */
static void value(ow_buf_t *b, double v)
{
	if (isnan(v))
		ow_buf_addstr(b, "\"NaN\"");
	else if (isinf(v))
		ow_buf_addstr(b, v > 0 ? "\"+Inf\"" : "\"-Inf\"");
	else if (v == floor(v) && fabs(v) < 1e15)
		ow_buf_printf(b, "\"%lld\"", (long long)v);
	else {
		char t[40];
		ow_dtoa(v, t, sizeof(t));
		ow_buf_printf(b, "\"%s\"", t);
	}
}

/* ---- the rows of the logs table ---- */

/* The columns a row's labels come from, then (log queries) the line. */
static void label_cols(ow_buf_t *b)
{
	ow_buf_addstr(b, "service_name, severity_text, severity_number");
	for (int i = 0; i < nattrs; i++) {
		ow_buf_addstr(b, ", resource_attributes->>");
		ow_search_sql_str(b, attr_keys[i]);
	}
}
#define NBASE 3

/* GROUP BY the label columns, which label_cols selects first. */
static void group_by_labels(ow_buf_t *b)
{
	ow_buf_addstr(b, " GROUP BY ");
	for (int i = 0; i < NBASE + nattrs; i++)
		ow_buf_printf(b, "%s%d", i ? ", " : "", i + 1);
}

static const char *level_of(const char *text, int number, char *buf, size_t len)
{
	if (*text) {
		size_t i;
		for (i = 0; text[i] && i + 1 < len; i++)
			buf[i] = (char)tolower((unsigned char)text[i]);
		buf[i] = '\0';
		return buf;
	}
	static const char *const levels[] = {"trace", "debug", "info", "warn", "error", "fatal"};
	return number >= 1 && number <= 24 ? levels[(number - 1) / 4] : NULL;
}

/* The stream labels of a row whose label columns start at cell c. */
static void row_labels(char **c, lq_labels_t *l)
{
	lq_labels_set(l, "service_name", *c[0] ? c[0] : "unknown_service",
		      *c[0] ? strlen(c[0]) : 15);
	if (*c[1])
		lq_labels_set(l, "severity_text", c[1], strlen(c[1]));
	char buf[64];
	const char *lv = level_of(c[1], atoi(c[2]), buf, sizeof(buf));
	if (lv)
		lq_labels_set(l, "level", lv, strlen(lv));
	for (int i = 0; i < nattrs; i++)
		if (*c[NBASE + i])
			lq_labels_set(l, attr_labels[i], c[NBASE + i], strlen(c[NBASE + i]));
}

/* The SQL conditions of a selector that the table can check: a superset
 * of what the selector keeps (the rest is checked on the rows). 1 when
 * they keep no row the selector drops (its matchers each a label = a
 * value, its stages each a line |= a text), which is only ever a hint:
 * how many rows to ask for first (log_streams). */
static int pushdown(const lq_selector_t *s, ow_buf_t *w, int exact_lines)
{
	int exact = 1;
	for (int i = 0; i < s->nm; i++) {
		const lq_matcher_t *m = &s->m[i];
		exact &= m->op == LQ_EQ && *m->value;
		if (m->op != LQ_EQ)
			continue;
		const char *col = NULL;
		if (strcmp(m->name, "service_name") == 0 &&
		    strcmp(m->value, "unknown_service") != 0)
			col = "service_name";
		else if (strcmp(m->name, "severity_text") == 0 && *m->value)
			col = "severity_text";
		if (col) {
			ow_buf_printf(w, " AND %s = ", col);
			ow_search_sql_str(w, m->value);
			continue;
		}
		int pushed = 0;
		for (int k = 0; k < nattrs && *m->value; k++)
			if (strcmp(m->name, attr_labels[k]) == 0) {
				ow_buf_addstr(w, " AND resource_attributes->>");
				ow_search_sql_str(w, attr_keys[k]);
				ow_buf_addstr(w, " = ");
				ow_search_sql_str(w, m->value);
				pushed = 1;
			}
		exact &= pushed;
	}
	int n = lq_first_stages(s);
	exact &= n == s->nst;
	for (int i = 0; i < n; i++) {
		const lq_matcher_t *m = &s->st[i].m;
		if (exact_lines) { /* the metric path counts in SQL: exactly */
			if (m->op == LQ_EQ || m->op == LQ_NE) {
				ow_buf_addstr(w, " AND instr(body, ");
				ow_search_sql_str(w, m->value);
				ow_buf_addstr(w, m->op == LQ_EQ ? ") > 0" : ") = 0");
			} else {
				ow_buf_addstr(w,
					      m->op == LQ_RE ? " AND regexp(" : " AND NOT regexp(");
				ow_search_sql_str(w, m->value);
				ow_buf_addstr(w, ", body)");
			}
		} else if (m->op == LQ_EQ && *m->value) {
			/* LIKE ignores ASCII case: a superset, which the index
			 * and the row groups' statistics answer; instr, the
			 * exact test, on the rows it leaves (and again in C,
			 * lq_pipeline: a line is its text up to a NUL) */
			if (!strpbrk(m->value, "%_\\")) {
				ow_buf_addstr(w, " AND body LIKE ");
				ow_buf_t pat = {0};
				ow_buf_printf(&pat, "%%%s%%", m->value);
				ow_buf_add(&pat, "", 1);
				ow_search_sql_str(w, (const char *)pat.data);
				ow_buf_free(&pat);
			}
			ow_buf_addstr(w, " AND instr(body, ");
			ow_search_sql_str(w, m->value);
			ow_buf_addstr(w, ") > 0");
		} else
			exact = 0;
	}
	return exact;
}

/* ---- log queries ---- */

typedef struct {
	char *key; /* the labels as {a="1"} */
	lq_labels_t labels;
	ow_buf_t values; /* ["ns","line"],... */
	int n;
} stream_t;

/* An entry's identity within its nanosecond: its stream and line. */
static uint64_t entry_hash(const ow_buf_t *key, const ow_buf_t *line)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (size_t i = 0; i < key->len; i++)
		h = (h ^ key->data[i]) * 1099511628211ull;
	for (size_t i = 0; i < line->len; i++)
		h = (h ^ line->data[i]) * 1099511628211ull;
	return h;
}

/* Whether hash eh is one of r->sent (sorted) not yet met by this poll
 * (skipped): it is met then; each sent entry is skipped once. */
static int sent_skip(const loki_req_t *r, uint8_t *skipped, uint64_t eh)
{
	int lo = 0, hi = r->nsent;
	while (lo < hi) { /* the first not below eh */
		int mid = lo + (hi - lo) / 2;
		if (r->sent[mid] < eh)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < r->nsent && r->sent[lo] == eh; lo++)
		if (!skipped[lo])
			return skipped[lo] = 1;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* The entries of a log query as Loki's array of streams into out; *found
 * entries, the last of them at *last; what its queries read added to *read
 * (NULL: not asked). For a tail (r->tail) the entries at
 * r->start in r->sent are left out (each hash once), and the hashes of
 * those at *last are put in r->next. */
static int log_streams(ow_search_t *s, loki_req_t *r, const lq_selector_t *sel, ow_buf_t *out,
		       int64_t *found_out, int64_t *last, ow_search_stats_t *read, char *err,
		       size_t errlen)
{
	ow_buf_t where = {0};
	ow_buf_printf(&where, "time >= %lld AND time < %lld", (long long)r->start,
		      (long long)r->end);
	int exact = pushdown(sel, &where, 0);
	stream_t *streams = NULL;
	int nstreams = 0, rc = OW_OK;
	int64_t found = 0, offset = 0;
	/* the sent hashes and which of them this poll has met */
	int64_t held = (int64_t)r->nsent * 9 + (int64_t)r->capnext * 8;
	rc = ow_search_hold(s, held, err, errlen);
	uint8_t *skipped = r->nsent && rc == OW_OK ? ow_calloc((size_t)r->nsent, 1) : NULL;
	r->nnext = 0;
	/* the first page: the entries asked for (and those a tail skips) when
	 * the SQL keeps only entries, else at least 1000 rows; a newest-first
	 * page stops reading at its last row (columnar.c's by_bound), so asking
	 * for more than the answer needs reads more row groups */
	int64_t batch = exact ? r->limit + r->nsent : OW_MAX(r->limit, 1000);
	batch = OW_MAX(OW_MIN(batch, ow_control_query_max_rows() - 1), 1);
	ow_buf_t line = {0}, key = {0};
	while (rc == OW_OK && found < r->limit) {
		ow_buf_t sql = {0};
		ow_buf_addstr(&sql, "SELECT ");
		label_cols(&sql);
		ow_buf_printf(
		    &sql,
		    ", trace_id, span_id, time, body FROM logs WHERE %.*s ORDER BY time %s "
		    "LIMIT %lld OFFSET %lld",
		    (int)where.len, (const char *)where.data, r->forward ? "ASC" : "DESC",
		    (long long)batch, (long long)offset);
		ow_buf_add(&sql, "", 1);
		ow_search_rows_t rows;
		rc = ow_search_rows(s, (const char *)sql.data, -1, &rows, err, errlen);
		ow_buf_free(&sql);
		if (rc != OW_OK)
			break;
		if (read) {
			ow_search_stats_t st;
			ow_search_last_stats(s, &st);
			read->rows += st.rows;
			read->bytes += st.bytes;
		}
		for (size_t i = 0; i < rows.nrows && found < r->limit; i++) {
			char **c = rows.cell + i * (size_t)rows.ncols;
			lq_labels_t l = {0};
			row_labels(c, &l);
			if (!lq_match(sel->m, sel->nm, &l)) {
				lq_labels_free(&l);
				continue;
			}
			int k = NBASE + nattrs;
			if (*c[k])
				lq_labels_set(&l, "trace_id", c[k], strlen(c[k]));
			if (*c[k + 1])
				lq_labels_set(&l, "span_id", c[k + 1], strlen(c[k + 1]));
			line.len = 0;
			ow_buf_addstr(&line, c[k + 3]);
			if (!lq_pipeline(sel, 0, &line, &l)) {
				lq_labels_free(&l);
				continue;
			}
			key.len = 0;
			lq_labels_key(&l, &key);
			ow_buf_add(&key, "", 1);
			int64_t t = strtoll(c[k + 2], NULL, 10);
			uint64_t eh = r->tail ? entry_hash(&key, &line) : 0;
			if (t == r->start && sent_skip(r, skipped, eh)) { /* sent before */
				lq_labels_free(&l);
				continue;
			}
			if (r->tail) {
				if (found && t != *last)
					r->nnext = 0;
				if (r->nnext == r->capnext) {
					int cap = r->capnext ? r->capnext * 2 : 64;
					held += (int64_t)(cap - r->capnext) * 8;
					if ((rc = ow_search_hold(s, (int64_t)(cap - r->capnext) * 8,
								 err, errlen)) != OW_OK) {
						lq_labels_free(&l);
						break;
					}
					r->next =
					    ow_realloc(r->next, (size_t)cap * sizeof(uint64_t));
					r->capnext = cap;
				}
				r->next[r->nnext++] = eh;
			}
			int si;
			for (si = 0; si < nstreams; si++)
				if (strcmp(streams[si].key, (const char *)key.data) == 0)
					break;
			if (si == nstreams) {
				streams =
				    ow_realloc(streams, (size_t)(nstreams + 1) * sizeof(*streams));
				streams[si] = (stream_t){.key = ow_strdup((const char *)key.data)};
				lq_labels_copy(&streams[si].labels, &l);
				nstreams++;
			}
			stream_t *st = &streams[si];
			size_t cap = st->values.cap;
			ow_buf_printf(&st->values, "%s[\"%s\",", st->n++ ? "," : "", c[k + 2]);
			*last = t;
			json_str(&st->values, (const char *)line.data, line.len);
			ow_buf_addstr(&st->values, "]");
			lq_labels_free(&l);
			found++;
			/* the entries are held until the answer is written */
			int64_t grew = (int64_t)(st->values.cap - cap);
			held += grew;
			if ((rc = ow_search_hold(s, grew, err, errlen)) != OW_OK)
				break;
		}
		size_t got = rows.nrows;
		ow_search_rows_free(&rows);
		if (rc != OW_OK || (int64_t)got < batch)
			break;
		offset += batch;
		/* a page stays under query.max_rows, the bound of one result */
		batch = OW_MAX(OW_MIN(batch * 2, ow_control_query_max_rows() - 1), 1);
	}
	if (rc == OW_OK) {
		ow_buf_addstr(out, "[");
		for (int i = 0; i < nstreams; i++) {
			ow_buf_addstr(out, i ? ",{\"stream\":" : "{\"stream\":");
			labels_json(out, &streams[i].labels);
			ow_buf_addstr(out, ",\"values\":[");
			ow_buf_add(out, streams[i].values.data, streams[i].values.len);
			ow_buf_addstr(out, "]}");
		}
		ow_buf_addstr(out, "]");
		*found_out = found;
	}
	for (int i = 0; i < nstreams; i++) {
		free(streams[i].key);
		lq_labels_free(&streams[i].labels);
		ow_buf_free(&streams[i].values);
	}
	free(streams);
	free(skipped);
	(void)ow_search_hold(s, -held, NULL, 0);
	ow_buf_free(&where);
	ow_buf_free(&line);
	ow_buf_free(&key);
	return rc;
}

static int run_logs(ow_search_t *s, loki_req_t *r, ow_buf_t *out, char *err, size_t errlen)
{
	int64_t found = 0, last = 0;
	ow_search_stats_t read = {0};
	ow_buf_addstr(out, "{\"status\":\"success\",\"data\":{\"resultType\":\"streams\","
			   "\"result\":");
	if (log_streams(s, r, &r->expr->sel, out, &found, &last, &read, err, errlen) != OW_OK)
		return OW_ERROR;
	/* Loki's summary: lines, the rows of the row groups read; bytes, the
	 * bytes of their pages read, as stored */
	ow_buf_printf(out,
		      ",\"stats\":{\"summary\":{\"totalEntriesReturned\":%lld,"
		      "\"totalLinesProcessed\":%lld,\"totalBytesProcessed\":%lld}}}}",
		      (long long)found, (long long)read.rows, (long long)read.bytes);
	return OW_OK;
}

/* ---- metric queries ---- */

typedef struct {
	lq_labels_t labels;
	char *key;
	double *v; /* a value per step */
	uint8_t *has;
} series_t;

/* A set of series, held under the query's memory budget (its values, a
 * double and a flag a step each, and its key). */
typedef struct {
	series_t *s;
	int n;
	int scalar; /* a number, not a vector */
	double num;
	ow_search_t *q;
	int64_t held; /* charged to q (ow_search_hold) */
} sset_t;

static void sset_free(sset_t *ss)
{
	for (int i = 0; i < ss->n; i++) {
		lq_labels_free(&ss->s[i].labels);
		free(ss->s[i].key);
		free(ss->s[i].v);
		free(ss->s[i].has);
	}
	free(ss->s);
	if (ss->q)
		(void)ow_search_hold(ss->q, -ss->held, NULL, 0);
	memset(ss, 0, sizeof(*ss));
}

/* Charges n bytes to ss's query: OW_ERROR, with the budget's message in
 * err, past query.max_memory_bytes. */
static int sset_hold(sset_t *ss, int64_t n, char *err, size_t errlen)
{
	ss->held += n;
	return ow_search_hold(ss->q, n, err, errlen);
}

/* The series of labels l (taken), added when new; NULL, with the
 * budget's message in err, when it would pass the query's memory. */
static series_t *series_of(sset_t *ss, lq_labels_t *l, int64_t npts, char *err, size_t errlen)
{
	ow_buf_t key = {0};
	lq_labels_key(l, &key);
	ow_buf_add(&key, "", 1);
	for (int i = 0; i < ss->n; i++)
		if (strcmp(ss->s[i].key, (const char *)key.data) == 0) {
			ow_buf_free(&key);
			lq_labels_free(l);
			return &ss->s[i];
		}
	if (sset_hold(ss, (int64_t)(sizeof(series_t) + key.cap) + npts * 9, err, errlen) != OW_OK) {
		ow_buf_free(&key);
		lq_labels_free(l);
		return NULL;
	}
	ss->s = ow_realloc(ss->s, (size_t)(ss->n + 1) * sizeof(*ss->s));
	series_t *x = &ss->s[ss->n++];
	x->labels = *l;
	memset(l, 0, sizeof(*l));
	x->key = (char *)key.data;
	x->v = ow_calloc((size_t)npts, sizeof(double));
	x->has = ow_calloc((size_t)npts, 1);
	return x;
}

static int64_t gcd64(int64_t a, int64_t b)
{
	while (b) {
		int64_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

/* Adds count or bytes at time t (or a bucket's right edge) to the steps
 * whose window (T - range, T] holds it. */
static void add_point(series_t *x, const loki_req_t *r, int64_t npts, int64_t range, int64_t t,
		      double v)
{
	int64_t d = t - r->start;
	int64_t kmin = d <= 0 ? 0 : (d + r->step - 1) / r->step;
	int64_t kmax = d + range <= 0 ? -1 : (d + range - 1) / r->step;
	for (int64_t k = kmin; k <= kmax && k < npts; k++) {
		x->v[k] += v;
		x->has[k] = 1;
	}
}

static int eval_range(ow_search_t *s, loki_req_t *r, const lq_expr_t *e, int64_t npts, sset_t *out,
		      char *err, size_t errlen)
{
	const lq_selector_t *sel = &e->sel;
	int sqlonly = 1;
	for (int i = 0; i < sel->nst; i++)
		sqlonly &= sel->st[i].kind == ST_LINE || sel->st[i].kind == ST_DROP;
	int64_t origin = r->start - e->range, end = r->start + (npts - 1) * r->step;
	int64_t g = gcd64(r->step, e->range);
	if ((end - origin) / g > 1000000)
		sqlonly = 0;
	/* line filters before a drop stay exact in SQL only if all of them
	 * come first (drop touches labels only) */
	int lines = 0;
	for (int i = 0; i < sel->nst; i++)
		lines += sel->st[i].kind == ST_LINE;
	if (lines > lq_first_stages(sel))
		sqlonly = 0;
	ow_buf_t sql = {0};
	ow_buf_addstr(&sql, "SELECT ");
	label_cols(&sql);
	if (sqlonly)
		ow_buf_printf(&sql,
			      ", (time - %lld + %lld - 1) / %lld AS b, count(*) AS n, "
			      "sum(length(CAST(body AS BLOB))) AS bytes",
			      (long long)origin, (long long)g, (long long)g);
	else
		ow_buf_addstr(&sql, ", time, body");
	ow_buf_printf(&sql, " FROM logs WHERE time > %lld AND time <= %lld", (long long)origin,
		      (long long)end);
	pushdown(sel, &sql, sqlonly);
	if (sqlonly) {
		group_by_labels(&sql);
		ow_buf_printf(&sql, ", %d", NBASE + nattrs + 1);
	}
	ow_buf_add(&sql, "", 1);
	ow_search_rows_t rows;
	int rc = ow_search_rows(s, (const char *)sql.data, -1, &rows, err, errlen);
	ow_buf_free(&sql);
	if (rc != OW_OK)
		return rc;
	int64_t held = ow_search_rows_bytes(&rows); /* while the series grow */
	if (ow_search_hold(s, held, err, errlen) != OW_OK) {
		(void)ow_search_hold(s, -held, NULL, 0);
		ow_search_rows_free(&rows);
		return OW_ERROR;
	}
	ow_buf_t line = {0};
	int k = NBASE + nattrs;
	for (size_t i = 0; i < rows.nrows; i++) {
		char **c = rows.cell + i * (size_t)rows.ncols;
		lq_labels_t l = {0};
		row_labels(c, &l);
		if (!lq_match(sel->m, sel->nm, &l)) {
			lq_labels_free(&l);
			continue;
		}
		int64_t t;
		double n = 1, bytes;
		if (sqlonly) {
			t = origin + strtoll(c[k], NULL, 10) * g;
			n = strtod(c[k + 1], NULL);
			bytes = strtod(c[k + 2], NULL);
			line.len = 0;
		} else {
			t = strtoll(c[k], NULL, 10);
			line.len = 0;
			ow_buf_addstr(&line, c[k + 1]);
		}
		/* the SQL counted with the line filters: the rest */
		if (!lq_pipeline(sel, sqlonly ? lq_first_stages(sel) : 0, &line, &l)) {
			lq_labels_free(&l);
			continue;
		}
		if (!sqlonly)
			bytes = (double)line.len;
		if (out->n >= 10000 && (int64_t)out->n * npts > 20000000) {
			lq_labels_free(&l);
			snprintf(err, errlen,
				 "maximum number of series (%d) reached for a single query",
				 out->n);
			rc = OW_ERROR;
			break;
		}
		series_t *x = series_of(out, &l, npts, err, errlen);
		if (x == NULL) {
			rc = OW_ERROR;
			break;
		}
		add_point(x, r, npts, e->range, t, e->fn == R_COUNT || e->fn == R_RATE ? n : bytes);
	}
	ow_buf_free(&line);
	ow_search_rows_free(&rows);
	(void)ow_search_hold(s, -held, NULL, 0);
	if (e->fn == R_RATE || e->fn == R_BYTES_RATE)
		for (int i = 0; i < out->n; i++)
			for (int64_t p = 0; p < npts; p++)
				out->s[i].v[p] /= (double)e->range / 1e9;
	return rc;
}

static int eval(ow_search_t *s, loki_req_t *r, const lq_expr_t *e, int64_t npts, sset_t *out,
		char *err, size_t errlen);

static int eval_agg(ow_search_t *s, loki_req_t *r, const lq_expr_t *e, int64_t npts, sset_t *out,
		    char *err, size_t errlen)
{
	sset_t in = {.q = s};
	if (eval(s, r, e->a, npts, &in, err, errlen) != OW_OK) {
		sset_free(&in);
		return OW_ERROR;
	}
	if (in.scalar) {
		sset_free(&in);
		snprintf(err, errlen, "parse error : aggregations take a vector, not a number");
		return OW_ERROR;
	}
	double *cnt = NULL;
	for (int i = 0; i < in.n; i++) {
		lq_labels_t l = {0};
		const lq_labels_t *src = &in.s[i].labels;
		for (int k = 0; k < src->n; k++) {
			int listed = 0;
			for (int b = 0; b < e->nby; b++)
				listed |= strcmp(e->by[b], src->name[k]) == 0;
			if (listed != e->without)
				lq_labels_set(&l, src->name[k], src->value[k],
					      strlen(src->value[k]));
		}
		int before = out->n;
		series_t *x = series_of(out, &l, npts, err, errlen);
		if (x == NULL || (out->n != before &&
				  sset_hold(&in, npts * 8, err, errlen) != OW_OK)) { /* cnt */
			free(cnt);
			sset_free(&in);
			return OW_ERROR;
		}
		int idx = (int)(x - out->s);
		if (out->n != before)
			cnt = ow_realloc(cnt, (size_t)out->n * (size_t)npts * sizeof(double)),
			memset(cnt + (size_t)idx * (size_t)npts, 0, (size_t)npts * sizeof(double));
		for (int64_t p = 0; p < npts; p++) {
			if (!in.s[i].has[p])
				continue;
			double v = in.s[i].v[p];
			double *c = &cnt[(size_t)idx * (size_t)npts + (size_t)p];
			if (!x->has[p])
				x->v[p] = e->fn == A_COUNT ? 0 : v;
			else if (e->fn == A_SUM || e->fn == A_AVG)
				x->v[p] += v;
			else if (e->fn == A_MIN)
				x->v[p] = OW_MIN(x->v[p], v);
			else if (e->fn == A_MAX)
				x->v[p] = OW_MAX(x->v[p], v);
			x->has[p] = 1;
			(*c)++;
		}
	}
	for (int i = 0; i < out->n; i++)
		for (int64_t p = 0; p < npts; p++) {
			double c = cnt[(size_t)i * (size_t)npts + (size_t)p];
			if (e->fn == A_COUNT)
				out->s[i].v[p] = c;
			else if (e->fn == A_AVG && c > 0)
				out->s[i].v[p] /= c;
		}
	free(cnt);
	sset_free(&in);
	return OW_OK;
}

static double arith(int op, double a, double b)
{
	switch (op) {
	case '+':
		return a + b;
	case '-':
		return a - b;
	case '*':
		return a * b;
	default:
		return a / b;
	}
}

static int eval(ow_search_t *s, loki_req_t *r, const lq_expr_t *e, int64_t npts, sset_t *out,
		char *err, size_t errlen)
{
	switch (e->kind) {
	case E_RANGE:
		return eval_range(s, r, e, npts, out, err, errlen);
	case E_AGG:
		return eval_agg(s, r, e, npts, out, err, errlen);
	case E_NUM: {
		/* vector(n), and a number, which answers as a vector too */
		lq_labels_t l = {0};
		series_t *x = series_of(out, &l, npts, err, errlen);
		if (x == NULL)
			return OW_ERROR;
		for (int64_t p = 0; p < npts; p++) {
			x->v[p] = e->num;
			x->has[p] = 1;
		}
		out->scalar = 1;
		out->num = e->num;
		return OW_OK;
	}
	case E_BIN: {
		sset_t a = {.q = s}, b = {.q = s};
		int rc = eval(s, r, e->a, npts, &a, err, errlen);
		if (rc == OW_OK)
			rc = eval(s, r, e->b, npts, &b, err, errlen);
		if (rc == OW_OK) {
			sset_t *vec = a.scalar && !b.scalar ? &b : &a;
			sset_t *other = vec == &a ? &b : &a;
			for (int i = 0; i < vec->n; i++) {
				series_t *y = NULL;
				if (other->scalar)
					y = &other->s[0];
				else
					for (int k = 0; k < other->n && !y; k++)
						if (strcmp(other->s[k].key, vec->s[i].key) == 0)
							y = &other->s[k];
				if (y == NULL)
					continue;
				lq_labels_t l = {0};
				lq_labels_copy(&l, &vec->s[i].labels);
				series_t *x = series_of(out, &l, npts, err, errlen);
				if (x == NULL) {
					rc = OW_ERROR;
					break;
				}
				for (int64_t p = 0; p < npts; p++) {
					if (!vec->s[i].has[p] || !y->has[p])
						continue;
					double va = vec == &a ? vec->s[i].v[p] : y->v[p];
					double vb = vec == &a ? y->v[p] : vec->s[i].v[p];
					x->v[p] = arith(e->fn, va, vb);
					x->has[p] = 1;
				}
			}
			out->scalar = a.scalar && b.scalar;
		}
		sset_free(&a);
		sset_free(&b);
		return rc;
	}
	}
	snprintf(err, errlen, "parse error : a log query where a metric query is expected");
	return OW_ERROR;
}

static int run_metric(ow_search_t *s, loki_req_t *r, ow_buf_t *out, char *err, size_t errlen)
{
	int64_t npts = r->what == Q_INSTANT ? 1 : (r->end - r->start) / r->step + 1;
	if (r->what == Q_INSTANT) {
		/* one point: any step does; a long one keeps gcd(step, range)
		 * the range, the buckets SQL counts in */
		r->start = r->end;
		r->step = 365 * 86400 * (int64_t)1000000000;
	}
	sset_t ss = {.q = s};
	if (eval(s, r, r->expr, npts, &ss, err, errlen) != OW_OK) {
		sset_free(&ss);
		return OW_ERROR;
	}
	ow_buf_printf(out, "{\"status\":\"success\",\"data\":{\"resultType\":\"%s\",\"result\":[",
		      r->what == Q_INSTANT ? "vector" : "matrix");
	int first = 1, rc = OW_OK;
	size_t cap = out->cap; /* the answer is held too: each series' growth */
	for (int i = 0; i <= ss.n; i++) {
		rc = sset_hold(&ss, (int64_t)(out->cap - cap), err, errlen);
		cap = out->cap;
		if (rc != OW_OK || i == ss.n)
			break;
		series_t *x = &ss.s[i];
		int any = 0;
		for (int64_t p = 0; p < npts; p++)
			any |= x->has[p];
		if (!any)
			continue;
		ow_buf_addstr(out, first ? "{\"metric\":" : ",{\"metric\":");
		first = 0;
		labels_json(out, &x->labels);
		if (r->what == Q_INSTANT) {
			ow_buf_addstr(out, ",\"value\":[");
			secs(out, r->end);
			ow_buf_addstr(out, ",");
			value(out, x->v[0]);
			ow_buf_addstr(out, "]}");
			continue;
		}
		ow_buf_addstr(out, ",\"values\":[");
		for (int64_t p = 0, n = 0; p < npts; p++) {
			if (!x->has[p])
				continue;
			ow_buf_addstr(out, n++ ? ",[" : "[");
			secs(out, r->start + p * r->step);
			ow_buf_addstr(out, ",");
			value(out, x->v[p]);
			ow_buf_addstr(out, "]");
		}
		ow_buf_addstr(out, "]}");
	}
	ow_buf_addstr(out, "],\"stats\":{}}}");
	sset_free(&ss);
	return rc;
}

/* ---- labels, values, series, stats: over the streams ---- */

typedef struct {
	lq_labels_t labels;
	int64_t entries, bytes;
} group_t;

/* The streams (distinct label sets) in [start, end] that sel's matchers
 * keep (every stream when sel is NULL). */
static int streams_of(ow_search_t *s, loki_req_t *r, const lq_selector_t *sel, group_t **out,
		      int *nout, char *err, size_t errlen)
{
	ow_buf_t sql = {0};
	ow_buf_addstr(&sql, "SELECT ");
	label_cols(&sql);
	ow_buf_printf(
	    &sql,
	    ", count(*), sum(length(CAST(body AS BLOB))) FROM logs WHERE time >= %lld AND "
	    "time <= %lld",
	    (long long)r->start, (long long)r->end);
	if (sel)
		pushdown(sel, &sql, 1);
	group_by_labels(&sql);
	ow_buf_add(&sql, "", 1);
	ow_search_rows_t rows;
	int rc = ow_search_rows(s, (const char *)sql.data, -1, &rows, err, errlen);
	ow_buf_free(&sql);
	if (rc != OW_OK)
		return rc;
	for (size_t i = 0; i < rows.nrows; i++) {
		char **c = rows.cell + i * (size_t)rows.ncols;
		lq_labels_t l = {0};
		row_labels(c, &l);
		if (sel && !lq_match(sel->m, sel->nm, &l)) {
			lq_labels_free(&l);
			continue;
		}
		/* two rows can be one stream (level from text or number) */
		ow_buf_t key = {0}, k2 = {0};
		lq_labels_key(&l, &key);
		ow_buf_add(&key, "", 1);
		int g;
		for (g = 0; g < *nout; g++) {
			k2.len = 0;
			lq_labels_key(&(*out)[g].labels, &k2);
			ow_buf_add(&k2, "", 1);
			if (strcmp((const char *)k2.data, (const char *)key.data) == 0)
				break;
		}
		ow_buf_free(&key);
		ow_buf_free(&k2);
		if (g == *nout) {
			*out = ow_realloc(*out, (size_t)(*nout + 1) * sizeof(group_t));
			(*out)[g] = (group_t){.labels = l};
			(*nout)++;
		} else {
			lq_labels_free(&l);
		}
		(*out)[g].entries += strtoll(c[NBASE + nattrs], NULL, 10);
		(*out)[g].bytes += strtoll(c[NBASE + nattrs + 1], NULL, 10);
	}
	ow_search_rows_free(&rows);
	return OW_OK;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The distinct strings of list, sorted, as a JSON array. */
static void string_array(ow_buf_t *out, char **list, int n)
{
	qsort(list, (size_t)n, sizeof(char *), cmp_str);
	ow_buf_addstr(out, "[");
	for (int i = 0, w = 0; i < n; i++) {
		if (i && strcmp(list[i], list[i - 1]) == 0)
			continue;
		if (w++)
			ow_buf_addstr(out, ",");
		json_str(out, list[i], strlen(list[i]));
	}
	ow_buf_addstr(out, "]");
}

static int run_streams(ow_search_t *s, loki_req_t *r, ow_buf_t *out, char *err, size_t errlen)
{
	group_t *g = NULL;
	int ng = 0, rc = OW_OK;
	if (r->nsels == 0)
		rc = streams_of(s, r, NULL, &g, &ng, err, errlen);
	for (int i = 0; i < r->nsels && rc == OW_OK; i++)
		rc = streams_of(s, r, r->sels[i], &g, &ng, err, errlen);
	if (rc == OW_OK) {
		char **list = NULL;
		int n = 0;
		int64_t entries = 0, bytes = 0;
		for (int i = 0; i < ng; i++) {
			entries += g[i].entries;
			bytes += g[i].bytes;
			for (int k = 0; k < g[i].labels.n; k++) {
				const char *v = r->what == Q_LABELS ? g[i].labels.name[k]
						: r->what == Q_VALUES &&
							strcmp(g[i].labels.name[k], r->name) == 0
						    ? g[i].labels.value[k]
						    : NULL;
				if (v == NULL)
					continue;
				list = ow_realloc(list, (size_t)(n + 1) * sizeof(char *));
				list[n++] = (char *)v;
			}
		}
		if (r->what == Q_STATS) {
			ow_search_stats_t st;
			ow_search_last_stats(s, &st);
			ow_buf_printf(
			    out, "{\"streams\":%d,\"chunks\":%lld,\"entries\":%lld,\"bytes\":%lld}",
			    ng, (long long)st.row_groups, (long long)entries, (long long)bytes);
		} else if (r->what == Q_SERIES) {
			ow_buf_addstr(out, "{\"status\":\"success\",\"data\":[");
			for (int i = 0; i < ng; i++) {
				if (i)
					ow_buf_addstr(out, ",");
				labels_json(out, &g[i].labels);
			}
			ow_buf_addstr(out, "]}");
		} else {
			ow_buf_addstr(out, "{\"status\":\"success\",\"data\":");
			string_array(out, list, n);
			ow_buf_addstr(out, "}");
		}
		free(list);
	}
	for (int i = 0; i < ng; i++)
		lq_labels_free(&g[i].labels);
	free(g);
	return rc;
}

static void loki_work(ow_search_t *s, void *arg, ow_query_answer_t *a)
{
	loki_req_t *r = arg;
	char err[1024];
	int rc;
	if (r->what == Q_RANGE || r->what == Q_INSTANT)
		rc = r->expr->kind == E_LOGS ? run_logs(s, r, &a->body, err, sizeof(err))
					     : run_metric(s, r, &a->body, err, sizeof(err));
	else
		rc = run_streams(s, r, &a->body, err, sizeof(err));
	if (rc != OW_OK)
		ow_query_text(a, 400, err);
}

static void loki_free(void *arg)
{
	loki_req_t *r = arg;
	lq_free(r->expr);
	for (int i = 0; i < r->nsels; i++)
		lq_free(r->sel_exprs[i]);
	free(r->sel_exprs);
	free(r->sels);
	free(r->name);
	free(r->sent);
	free(r->next);
	free(r);
}

static const ow_query_api_t loki_api = {
    .work = loki_work, .fail = ow_query_text, .release = loki_free};

/* ---- parameters ---- */

/* A time as Loki reads one: OW_OK, OW_DECLINED when absent. */
static int time_arg(struct evkeyvalq *q, const char *name, int64_t *ns)
{
	const char *v = evhttp_find_header(q, name);
	if (v == NULL || *v == '\0')
		return OW_DECLINED;
	char *end;
	errno = 0;
	if (strchr(v, '.')) {
		double d = strtod(v, &end);
		if (*end || errno || !(d >= 0 && d < 9.2e9))
			return OW_ERROR;
		*ns = (int64_t)(d * 1e9);
		return OW_OK;
	}
	long long x = strtoll(v, &end, 10);
	if (*end || errno || x < 0)
		return OW_ERROR;
	*ns = x;
	return OW_OK;
}

/* The request's parameters: the query string, and a POST's form body. */
static int params(struct evhttp_request *req, struct evkeyvalq *q)
{
	const char *qs = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	ow_buf_t all = {0};
	ow_buf_addstr(&all, qs ? qs : "");
	if (evhttp_request_get_command(req) == EVHTTP_REQ_POST) {
		struct evbuffer *in = evhttp_request_get_input_buffer(req);
		size_t n = evbuffer_get_length(in);
		if (all.len && n)
			ow_buf_add(&all, "&", 1);
		ow_buf_reserve(&all, n + 1);
		evbuffer_remove(in, all.data + all.len, n);
		all.len += n;
	}
	ow_buf_add(&all, "", 1);
	int rc = evhttp_parse_query_str((const char *)all.data, q);
	ow_buf_free(&all);
	return rc == 0 ? OW_OK : OW_ERROR;
}

/* The arguments of a query or a label call into r: NULL, or why not. */
static const char *parse_args(struct evkeyvalq *q, loki_req_t *r, char *err, size_t errlen)
{
	int64_t now = ow_now_ns();
	int rc;
	if (r->what == Q_INSTANT) {
		if ((rc = time_arg(q, "time", &r->end)) == OW_ERROR)
			return "invalid parameter \"time\": a time in nanoseconds";
		if (rc == OW_DECLINED)
			r->end = now;
		r->start = r->end;
	} else {
		int64_t def = r->what == Q_RANGE ? 3600 : 6 * 3600;
		if ((rc = time_arg(q, "end", &r->end)) == OW_ERROR)
			return "invalid parameter \"end\": a time in nanoseconds";
		if (rc == OW_DECLINED)
			r->end = now;
		const char *since = evhttp_find_header(q, "since");
		int64_t back = def * 1000000000;
		if (since && *since && (ow_parse_duration(since, &back) != OW_OK || back < 0))
			return "invalid parameter \"since\": a duration";
		if ((rc = time_arg(q, "start", &r->start)) == OW_ERROR)
			return "invalid parameter \"start\": a time in nanoseconds";
		if (rc == OW_DECLINED)
			r->start = r->end - back;
		if (r->end < r->start)
			return "end timestamp must not be before or equal to start time";
	}
	const char *li = evhttp_find_header(q, "limit");
	r->limit = 100;
	if (li && *li) {
		char *end;
		errno = 0;
		long long x = strtoll(li, &end, 10);
		if (*end || errno || x <= 0)
			return "invalid parameter \"limit\": a positive number";
		if (x > max_entries) {
			snprintf(err, errlen,
				 "max entries limit per query exceeded, limit > max_entries_limit "
				 "(%lld > %lld)",
				 x, (long long)max_entries);
			return err;
		}
		r->limit = x;
	}
	const char *dir = evhttp_find_header(q, "direction");
	if (dir && *dir) {
		if (strcasecmp(dir, "forward") == 0)
			r->forward = 1;
		else if (strcasecmp(dir, "backward") != 0)
			return "invalid parameter \"direction\": forward or backward";
	}
	if (r->what == Q_RANGE) {
		const char *st = evhttp_find_header(q, "step");
		int64_t span = r->end - r->start;
		r->step = OW_MAX((span / 250) / 1000000000, 1) * 1000000000;
		if (st && *st) {
			char *end;
			errno = 0;
			double d = strtod(st, &end);
			if (*end == '\0' && errno == 0 && d > 0 && d < 9.2e9)
				r->step = (int64_t)(d * 1e9);
			else if (ow_parse_duration(st, &r->step) != OW_OK || r->step <= 0)
				return "invalid parameter \"step\": a duration such as 15000ms, or "
				       "seconds";
		}
		if (r->step <= 0)
			return "zero or negative query resolution step widths are not accepted. "
			       "Try "
			       "a positive integer";
		if (span / r->step > 11000)
			return "exceeded maximum resolution of 11,000 points per timeseries. Try "
			       "decreasing the query resolution (?step=XX)";
	}
	return NULL;
}

/* A selector given alone (series' match[], the label calls' query). */
static const char *add_selector(loki_req_t *r, const char *text, char *err, size_t errlen)
{
	lq_expr_t *e;
	if (lq_parse(text, &e, err, errlen) != OW_OK)
		return err;
	if (e->kind != E_LOGS) {
		lq_free(e);
		return "parse error : only a stream selector is allowed here";
	}
	r->sel_exprs = ow_realloc(r->sel_exprs, (size_t)(r->nsels + 1) * sizeof(lq_expr_t *));
	r->sels = ow_realloc(r->sels, (size_t)(r->nsels + 1) * sizeof(lq_selector_t *));
	r->sel_exprs[r->nsels] = e;
	r->sels[r->nsels++] = &e->sel;
	return NULL;
}

/* ---- tail: a websocket ----
 *
 * Loki's tail: the client upgrades GET tail?query=&start=&limit= to a
 * websocket (RFC 6455), and gets a text frame
 * {"streams": [...], "dropped_entries": null} whenever entries newer than
 * what it has seen arrive. libevent 2.1's evhttp has no websocket: after
 * the 101 the connection's bufferevent (plain or TLS) is taken over,
 * evhttp's callbacks replaced by these; the connection stays evhttp's
 * (and counted in control's caps) until the tail ends, when it is freed.
 * Every second a poll runs on the query pool as a query of its own
 * (ow_query_run without a request: the same caps, snapshot and budgets),
 * for the entries from the last one sent's nanosecond on, oldest first,
 * at most limit: those of that nanosecond already sent (by stream and
 * line) are left out, so a limit that cuts a poll among entries of one
 * time loses none. With delay_for (seconds, at most 5, as Loki) a poll
 * reads only entries older than that, for late writers to catch up. A
 * poll that cannot run (past the caps: 429, the queue full: 503, the
 * snapshot unreadable: 500) is tried again the next second; after
 * TAIL_MAX_TRIES in a row the tail ends with a close frame (1011) that
 * says why, as a query past its budget does at once.
 * A client that sends close, closes or stops reading (1 MiB unsent) ends
 * its tail; so does one silent for TAIL_SILENT_S (every TAIL_PING_S the
 * server pings; a pong, or any frame, is an answer), and every tail ends
 * after TAIL_MAX_S (an hour, as Loki's tail does: the client reconnects).
 * At most query.max_concurrent tails run at once, and
 * query.max_concurrent_per_tenant of one tenant's. SIGTERM ends every
 * tail (with what was written sent, within 5 s).
 */
#define TAIL_POLL_MS 1000
#define TAIL_PING_S 30
#define TAIL_SILENT_S 90
#define TAIL_MAX_S 3600
#define TAIL_MAX_UNSENT (1 << 20)
#define TAIL_MAX_FRAME 65536
#define TAIL_MAX_TRIES 5

typedef struct tail {
	struct evhttp_connection *evcon;
	struct bufferevent *bev;
	struct event *timer;
	char tenant[OW_TENANT_MAX + 1];
	loki_req_t *r;	     /* the query; r->start: the next entry's time */
	int busy;	     /* a poll is on the query pool */
	int closed;	     /* ended while a poll was out: the poll frees it */
	int ending;	     /* its connection is to be freed */
	int64_t found, last; /* the poll's answer */
	int64_t started;     /* ow_mono_ns */
	int polls;
	int failed; /* polls in a row that could not run */
	ow_buf_t frame;
	struct tail *next;
} tail_t;

static struct event_base *tail_base;
static tail_t *tails;
static int ntails; /* running */
static int nlive;  /* not yet freed: the module is busy until none is */

static void ws_frame(tail_t *t, int opcode, const void *p, size_t n)
{
	uint8_t h[10];
	size_t hl = 2;
	h[0] = (uint8_t)(0x80 | opcode);
	if (n < 126) {
		h[1] = (uint8_t)n;
	} else if (n < 65536) {
		h[1] = 126;
		h[2] = (uint8_t)(n >> 8);
		h[3] = (uint8_t)n;
		hl = 4;
	} else {
		h[1] = 127;
		for (int i = 0; i < 8; i++)
			h[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
		hl = 10;
	}
	struct evbuffer *out = bufferevent_get_output(t->bev);
	evbuffer_add(out, h, hl);
	evbuffer_add(out, p, n);
}

static void tail_free(tail_t *t)
{
	nlive--;
	loki_free(t->r);
	ow_buf_free(&t->frame);
	free(t);
}

static void tail_end(evutil_socket_t fd, short what, void *arg)
{
	OW_UNUSED(fd);
	OW_UNUSED(what);
	tail_t *t = arg;
	evhttp_connection_free(t->evcon); /* and its bufferevent */
	if (t->busy)
		t->closed = 1;
	else
		tail_free(t);
}

/* Frees the connection outside the bufferevent's callbacks (which must
 * not free it under their own feet). */
static void tail_end_soon(tail_t *t)
{
	if (t->ending++)
		return;
	struct timeval now = {0, 0};
	event_base_once(tail_base, -1, EV_TIMEOUT, tail_end, t, &now);
}

static void tail_flushed(struct bufferevent *bev, void *arg)
{
	OW_UNUSED(bev);
	tail_end_soon(arg);
}

static void tail_gone(struct bufferevent *bev, short what, void *arg)
{
	OW_UNUSED(bev);
	OW_UNUSED(what);
	tail_end_soon(arg);
}

/* Ends a tail once what it has written is sent (a close frame among it),
 * or its client is gone. */
static void tail_close(tail_t *t)
{
	if (t->timer == NULL)
		return; /* ending already */
	event_free(t->timer);
	t->timer = NULL;
	for (tail_t **p = &tails; *p; p = &(*p)->next)
		if (*p == t) {
			*p = t->next;
			ntails--;
			break;
		}
	bufferevent_disable(t->bev, EV_READ);
	bufferevent_setcb(t->bev, NULL, tail_flushed, tail_gone, t);
	struct timeval tv = {5, 0}; /* a client that reads nothing more */
	bufferevent_set_timeouts(t->bev, NULL, &tv);
	if (evbuffer_get_length(bufferevent_get_output(t->bev)) == 0)
		tail_end_soon(t);
}

/* SIGTERM: every tail ends; the server waits for them (busy). */
static void tail_close_all(void)
{
	while (tails)
		tail_close(tails);
}

static int tail_busy(void)
{
	return nlive > 0;
}

/* The client's frames: close is answered and ends the tail, ping gets a
 * pong, the rest is read and ignored. */
static void tail_read(struct bufferevent *bev, void *arg)
{
	tail_t *t = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	for (;;) {
		size_t len = evbuffer_get_length(in);
		uint8_t h[14];
		if (len < 2)
			return;
		evbuffer_copyout(in, h, OW_MIN(len, sizeof(h)));
		size_t hl = 2, n = h[1] & 0x7f;
		if (n == 126) {
			hl = 4;
			n = len >= 4 ? (size_t)h[2] << 8 | h[3] : 0;
		} else if (n == 127) {
			tail_close(t); /* no client of ours sends 64 KiB frames */
			return;
		}
		hl += (h[1] & 0x80) ? 4 : 0;
		if (n > TAIL_MAX_FRAME) {
			tail_close(t);
			return;
		}
		if (len < hl + n)
			return;
		uint8_t payload[TAIL_MAX_FRAME];
		evbuffer_drain(in, hl);
		evbuffer_remove(in, payload, n);
		if (h[1] & 0x80)
			for (size_t i = 0; i < n; i++)
				payload[i] ^= h[hl - 4 + i % 4];
		int op = h[0] & 0x0f;
		if (op == 8) {
			ws_frame(t, 8, payload, OW_MIN(n, (size_t)2));
			tail_close(t);
			return;
		}
		if (op == 9)
			ws_frame(t, 10, payload, n);
	}
}

static void tail_event(struct bufferevent *bev, short what, void *arg)
{
	OW_UNUSED(bev);
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		tail_close(arg);
}

static void tail_work(ow_search_t *s, void *arg, ow_query_answer_t *a)
{
	tail_t *t = arg;
	char err[1024];
	t->found = 0;
	t->frame.len = 0;
	ow_buf_addstr(&t->frame, "{\"streams\":");
	if (log_streams(s, t->r, &t->r->expr->sel, &t->frame, &t->found, &t->last, NULL, err,
			sizeof(err)) != OW_OK)
		ow_query_text(a, 400, err);
	ow_buf_addstr(&t->frame, ",\"dropped_entries\":null}");
}

static void tail_answered(void *arg, ow_query_answer_t *a)
{
	tail_t *t = arg;
	if (t->closed || t->timer == NULL) /* ended: nothing after its close frame */
		return;
	loki_req_t *r = t->r;
	t->failed = a->code == 200 ? 0 : t->failed + 1;
	if (a->code == 200 && t->found > 0) {
		ws_frame(t, 1, t->frame.data, t->frame.len);
		if (t->last != r->start) /* else the earlier ones stay sent */
			r->nsent = 0;
		r->sent = ow_realloc(r->sent, (size_t)(r->nsent + r->nnext) * sizeof(uint64_t));
		memcpy(r->sent + r->nsent, r->next, (size_t)r->nnext * sizeof(uint64_t));
		r->nsent += r->nnext;
		qsort(r->sent, (size_t)r->nsent, sizeof(uint64_t), cmp_u64);
		r->start = t->last;
	} else if (a->code == 400 || (a->code != 200 && t->failed >= TAIL_MAX_TRIES)) {
		/* the query cannot run (its budget), or has not for a while
		 * (busy): Loki's close with the reason */
		ow_buf_t b = {0};
		ow_buf_add(&b, "\x03\xf3", 2); /* 1011: internal error */
		ow_buf_add(&b, a->body.data, OW_MIN(a->body.len, (size_t)120));
		ws_frame(t, 8, b.data, b.len);
		ow_buf_free(&b);
		tail_close(t);
	}
	if (t->timer && evbuffer_get_length(bufferevent_get_output(t->bev)) > TAIL_MAX_UNSENT)
		tail_close(t);
}

static void tail_done(void *arg)
{
	tail_t *t = arg;
	t->busy = 0;
	if (t->closed)
		tail_free(t);
}

static const ow_query_api_t tail_api = {
    .work = tail_work, .fail = ow_query_text, .release = tail_done, .answered = tail_answered};

static void tail_poll(evutil_socket_t fd, short what, void *arg)
{
	OW_UNUSED(fd);
	OW_UNUSED(what);
	tail_t *t = arg;
	if (ow_mono_ns() - t->started > (int64_t)TAIL_MAX_S * 1000000000) {
		ws_frame(t, 8, "\x03\xe8tail duration exceeded", 24); /* 1000 */
		tail_close(t);
		return;
	}
	if (++t->polls % (TAIL_PING_S * 1000 / TAIL_POLL_MS) == 0)
		ws_frame(t, 9, "", 0);
	if (t->busy)
		return;
	t->busy = 1;
	t->r->end = t->r->delay ? ow_now_ns() - t->r->delay : INT64_MAX;
	ow_query_run(NULL, t->tenant, &tail_api, t);
}

static void tail_start(struct evhttp_request *req, const char *tenant)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	const char *up = evhttp_find_header(h, "Upgrade");
	const char *key = evhttp_find_header(h, "Sec-WebSocket-Key");
	const char *ver = evhttp_find_header(h, "Sec-WebSocket-Version");
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET || up == NULL ||
	    strcasecmp(up, "websocket") != 0 || key == NULL || ver == NULL ||
	    strcmp(ver, "13") != 0) {
		ow_query_reply(req, &loki_api, 400,
			       "tail is a websocket: GET with Upgrade: websocket, "
			       "Sec-WebSocket-Key and Sec-WebSocket-Version: 13");
		return;
	}
	if (!ow_tenant_valid(tenant, strlen(tenant))) {
		ow_query_reply(req, &loki_api, 400, "invalid tenant in X-Scope-OrgID");
		return;
	}
	int mine = 0;
	for (const tail_t *o = tails; o; o = o->next)
		mine += strcmp(o->tenant, tenant) == 0;
	if (ntails >= ow_control_query_limit(OW_QUERY_MAX_CONCURRENT) ||
	    mine >= ow_control_query_limit(OW_QUERY_MAX_CONCURRENT_PER_TENANT)) {
		const char *m = mine >= ow_control_query_limit(OW_QUERY_MAX_CONCURRENT_PER_TENANT)
				    ? "too many tails of this tenant: "
				      "query.max_concurrent_per_tenant; retry\n"
				    : "too many tails running: query.max_concurrent; retry\n";
		ow_http_reply(req, 429, "text/plain; charset=utf-8", m, strlen(m), 0);
		return;
	}
	loki_req_t *r = ow_calloc(1, sizeof(*r));
	r->what = Q_RANGE;
	char err[1024];
	struct evkeyvalq q;
	const char *why = params(req, &q) == OW_OK ? NULL : "malformed query string";
	if (why == NULL) {
		const char *text = evhttp_find_header(&q, "query");
		const char *delay = evhttp_find_header(&q, "delay_for");
		int64_t start;
		int rc = time_arg(&q, "start", &start);
		if (text == NULL || *text == '\0')
			why = "query must not be empty";
		else if (lq_parse(text, &r->expr, err, sizeof(err)) != OW_OK)
			why = err;
		else if (r->expr->kind != E_LOGS)
			why = "tail takes a log query, not a metric query";
		else if (rc == OW_ERROR)
			why = "invalid parameter \"start\": a time in nanoseconds";
		char *dend = NULL;
		long dsecs = delay && *delay ? strtol(delay, &dend, 10) : 0;
		if (why == NULL && dend && (*dend || dsecs < 0))
			why = "invalid parameter \"delay_for\": whole seconds";
		else if (why == NULL && dsecs > 5)
			why = "delay_for can't be greater than 5";
		r->start = rc == OW_OK ? start : ow_now_ns() - 3600 * (int64_t)1000000000;
		r->end = INT64_MAX;
		r->forward = 1;
		r->tail = 1;
		r->delay = dsecs * (int64_t)1000000000;
		if (why == NULL)
			why = parse_args(&q, &(loki_req_t){.what = Q_LABELS}, err, sizeof(err));
		const char *li = evhttp_find_header(&q, "limit");
		r->limit = li && *li ? strtoll(li, NULL, 10) : 100;
		if (why == NULL && (r->limit <= 0 || r->limit > max_entries))
			why = "invalid parameter \"limit\": 1 to loki.max_entries_limit";
		evhttp_clear_headers(&q);
	}
	if (why) {
		ow_query_reply(req, &loki_api, 400, why);
		loki_free(r);
		return;
	}
	/* the 101: Sec-WebSocket-Accept is base64(SHA-1(key GUID)) */
	uint8_t digest[20];
	char accept[32];
	ow_buf_t k = {0};
	ow_buf_printf(&k, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
	SHA1(k.data, k.len, digest);
	ow_buf_free(&k);
	EVP_EncodeBlock((unsigned char *)accept, digest, 20);
	tail_t *t = ow_calloc(1, sizeof(*t));
	t->r = r;
	snprintf(t->tenant, sizeof(t->tenant), "%s", tenant);
	t->evcon = evhttp_request_get_connection(req);
	t->bev = evhttp_connection_get_bufferevent(t->evcon);
	bufferevent_setcb(t->bev, tail_read, NULL, tail_event, t);
	struct timeval silent = {TAIL_SILENT_S, 0}; /* reads: the pongs at least */
	bufferevent_set_timeouts(t->bev, &silent, NULL);
	t->started = ow_mono_ns();
	bufferevent_enable(t->bev, EV_READ | EV_WRITE);
	evbuffer_add_printf(bufferevent_get_output(t->bev),
			    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
			    "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
			    accept);
	t->timer = event_new(tail_base, -1, EV_PERSIST, tail_poll, t);
	struct timeval tv = {TAIL_POLL_MS / 1000, TAIL_POLL_MS % 1000 * 1000};
	event_add(t->timer, &tv);
	t->next = tails;
	tails = t;
	ntails++;
	nlive++;
	tail_poll(-1, 0, t);
	/* anything the client sent after its head is a frame */
	if (evbuffer_get_length(bufferevent_get_input(t->bev)) > 0)
		tail_read(t->bev, t);
}

static void loki_route(struct evhttp_request *req, const char *path, const char *tenant, void *arg)
{
	OW_UNUSED(arg);
	int cmd = evhttp_request_get_command(req);
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD && cmd != EVHTTP_REQ_POST) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, POST");
		ow_query_reply(req, &loki_api, 405, "method not allowed: use GET or POST");
		return;
	}
	const char *p = path + strlen("/loki/api/v1");
	if (strncmp(path, "/loki/api/v1/", 13) != 0) {
		ow_query_reply(req, &loki_api, 404, "404 page not found");
		return;
	}
	if (strcmp(p, "/tail") == 0) {
		tail_start(req, tenant);
		return;
	}
	loki_req_t *r = ow_calloc(1, sizeof(*r));
	char err[1024];
	const char *why = NULL;
	int code = 400;
	size_t n = strlen(p);
	if (strcmp(p, "/query_range") == 0)
		r->what = Q_RANGE;
	else if (strcmp(p, "/query") == 0)
		r->what = Q_INSTANT;
	else if (strcmp(p, "/labels") == 0 || strcmp(p, "/label") == 0)
		r->what = Q_LABELS;
	else if (strncmp(p, "/label/", 7) == 0 && n > 14 && strcmp(p + n - 7, "/values") == 0) {
		r->what = Q_VALUES;
		char *raw = ow_strdup(p + 7);
		raw[n - 14] = '\0';
		r->name = evhttp_uridecode(raw, 0, NULL);
		free(raw);
	} else if (strcmp(p, "/series") == 0)
		r->what = Q_SERIES;
	else if (strcmp(p, "/index/stats") == 0)
		r->what = Q_STATS;
	else {
		code = 404;
		why = "404 page not found";
	}
	struct evkeyvalq q;
	int parsed = why == NULL && params(req, &q) == OW_OK;
	if (why == NULL && !parsed)
		why = "malformed query string";
	if (why == NULL)
		why = parse_args(&q, r, err, sizeof(err));
	if (why == NULL && (r->what == Q_RANGE || r->what == Q_INSTANT)) {
		const char *text = evhttp_find_header(&q, "query");
		if (text == NULL || *text == '\0')
			why = "query must not be empty";
		else if (lq_parse(text, &r->expr, err, sizeof(err)) != OW_OK)
			why = err;
		else if (r->what == Q_INSTANT && r->expr->kind == E_LOGS)
			why =
			    "log queries are not supported as an instant query type, please change "
			    "your query to a range query type";
	} else if (why == NULL && r->what == Q_SERIES) {
		for (struct evkeyval *h = q.tqh_first; h && !why; h = h->next.tqe_next)
			if (strcmp(h->key, "match[]") == 0 || strcmp(h->key, "match") == 0)
				why = add_selector(r, h->value, err, sizeof(err));
		if (why == NULL && r->nsels == 0)
			why = "at least one match[] argument (a stream selector) is required";
	} else if (why == NULL) {
		const char *text = evhttp_find_header(&q, "query");
		if (text && *text)
			why = add_selector(r, text, err, sizeof(err));
		else if (r->what == Q_STATS)
			why = "query must not be empty";
	}
	if (parsed)
		evhttp_clear_headers(&q);
	ow_query_run_checked(req, tenant, &loki_api, r, code, why);
}

/* ---- the module ---- */

static int loki_init(struct event_base *base)
{
	tail_base = base;
	const char *list = stream_labels ? stream_labels : "";
	for (const char *c = list; *c;) {
		const char *e = strchr(c, '\n');
		size_t n = e ? (size_t)(e - c) : strlen(c);
		if (n) {
			attr_keys = ow_realloc(attr_keys, (size_t)(nattrs + 1) * sizeof(char *));
			attr_labels =
			    ow_realloc(attr_labels, (size_t)(nattrs + 1) * sizeof(char *));
			attr_keys[nattrs] = ow_alloc(n + 1);
			memcpy(attr_keys[nattrs], c, n);
			attr_keys[nattrs][n] = '\0';
			attr_labels[nattrs] = ow_strdup(attr_keys[nattrs]);
			for (char *x = attr_labels[nattrs]; *x; x++)
				if (!isalnum((unsigned char)*x) && *x != '_')
					*x = '_';
			nattrs++;
		}
		c += n + (e != NULL);
	}
	return ow_control_route("/loki", OW_ROUTE_PREFIX, OW_AUTH_READ, loki_route, NULL);
}

static void loki_stop(void)
{
	tail_close_all();
	for (int i = 0; i < nattrs; i++) {
		free(attr_keys[i]);
		free(attr_labels[i]);
	}
	free(attr_keys);
	free(attr_labels);
	attr_keys = attr_labels = NULL;
	nattrs = 0;
}

ow_module_t ow_loki_module = {
    .name = "loki",
    .directives = directives,
    .init = loki_init,
    .drain = tail_close_all,
    .busy = tail_busy,
    .stop = loki_stop,
};

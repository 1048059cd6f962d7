/*
 * tempo.c - Tempo's HTTP API under /tempo (what Grafana's Tempo data
 * source sends, its URL http://HOST:8083/tempo):
 *
 *   GET api/echo                          "echo" (the health check)
 *   GET api/traces/{id}                   the trace as OTLP TracesData:
 *                                         protobuf when Accept has
 *                                         application/protobuf (Grafana
 *                                         sends it), else OTLP/JSON;
 *                                         404 when no span has the id
 *   GET api/v2/traces/{id}                the same in a TraceByIDResponse
 *                                         ({"trace": TracesData}, or field
 *                                         1 of the protobuf)
 *   GET api/search?q=&limit=&spss=&start=&end=&minDuration=&maxDuration=
 *                                         traces with a span that matches
 *                                         the TraceQL q (below), the most
 *                                         recent first: start and end in
 *                                         Unix seconds (default: the hour
 *                                         before end, end none), limit
 *                                         traces (20), spss matched spans
 *                                         shown a trace (3), the durations
 *                                         of whole traces (measured over
 *                                         the spans near the window:
 *                                         tr_search_t)
 *   GET api/search/tags, api/v2/search/tags?scope=
 *   GET api/search/tag/{tag}/values, api/v2/search/tag/{tag}/values?q=
 *                                         the values of the spans q
 *                                         matches (all, while q does not
 *                                         parse: Grafana sends it as typed)
 *
 * TraceQL, the subset Grafana's search builder writes: one spanset
 * { a && b || (c) }, or {} for every span; a comparison is a field, an
 * operator (= != > >= < <= =~ !~) and a value: a "string" or `string`, a
 * number, a duration (100ms, 1.5s), true or false, a status (error, ok,
 * unset) or a kind (unspecified, internal, server, client, producer,
 * consumer), or nil (= nil: the attribute is absent, != nil: present).
 * Fields: resource.X, span.X, .X (a span's attribute, else its
 * resource's), name, status, statusMessage, duration, kind (also as
 * span:name ...), rootName, rootServiceName, traceDuration (also
 * trace:rootName ...). Regular expressions match the whole value (RE2's
 * syntax as ow_search_regcomp reads it). Anything else, a pipeline or a
 * second spanset among them, is a 400 in Tempo's form: "invalid TraceQL
 * query: parse error at line 1, col N: ...", as text. Other errors are
 * text too, as Tempo answers them.
 */
#include "traceapi.h"
#include "../control/control.h"
#include "../core/log.h"
#include "../http/http.h"
#include "../otlp/otlp.h"

#include <ctype.h>
#include <errno.h>
#include <event2/http.h>
#include <math.h>
#include <event2/keyvalq_struct.h>

enum { T_TRACE, T_SEARCH, T_TAGS, T_TAG_VALUES };

/* A search without start: the hour before its end (or now), where Tempo
 * searches its ingesters' recent traces. */
#define SEARCH_LOOKBACK (3600 * (int64_t)1000000000)
enum { SC_ALL, SC_RESOURCE, SC_SPAN, SC_INTRINSIC };

typedef struct {
	int what, v2, proto, scope;
	char id[33];
	tr_search_t q;
	int64_t spss;
	ow_buf_t expr; /* tag values: the field's SQL */
	int field;     /* tag values: its kind (F_*) */
} tempo_req_t;

/* ---- TraceQL ---- */

enum { F_ATTR, F_STR, F_STATUS, F_KIND, F_DUR };

/* The intrinsic fields, by name (the tags of scope intrinsic): their SQL
 * (the @ ones the caller wraps in a subquery on the trace) and kind. */
static const struct {
	const char *name, *sql;
	int kind;
} intrinsics[] = {{"duration", "duration_ns", F_DUR},
		  {"kind", "kind", F_KIND},
		  {"name", "name", F_STR},
		  {"rootName", "@root:name", F_STR},
		  {"rootServiceName", "@root:service_name", F_ATTR},
		  {"status", "status_code", F_STATUS},
		  {"statusMessage", "status_message", F_STR},
		  {"traceDuration", "@trace", F_DUR}};

typedef struct {
	const char *src, *p;
	ow_buf_t *out;
	char *err;
	size_t errlen;
	int failed;
} tql_t;

static int tql_fail(tql_t *t, const char *at, const char *fmt, const char *what)
{
	if (!t->failed)
		snprintf(t->err, t->errlen,
			 "invalid TraceQL query: parse error at line 1, col %d: %s%s",
			 (int)(at - t->src) + 1, fmt, what ? what : "");
	t->failed = 1;
	return OW_ERROR;
}

static void tql_ws(tql_t *t)
{
	while (isspace((unsigned char)*t->p))
		t->p++;
}

static int is_path_char(int c)
{
	return isalnum(c) || c == '_' || c == '.' || c == '-' || c == ':' || c == '/';
}

static const char *const statuses[] = {"unset", "ok", "error"};
static const char *const kinds[] = {"unspecified", "internal", "server",
				    "client",	   "producer", "consumer"};

static int word_in(const char *w, size_t n, const char *const *list, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (strlen(list[i]) == n && strncmp(w, list[i], n) == 0)
			return (int)i;
	return -1;
}

/* A field at *p: its SQL into out and its kind; the end in *end. Shared
 * with the tag values (a tag is a field). OW_ERROR: not a field. */
static int tql_field(const char *p, const char **end, ow_buf_t *out, int *kind)
{
	const char *s = p;
	while (is_path_char((unsigned char)*p))
		p++;
	*end = p;
	size_t n = (size_t)(p - s);
	if (n == 0)
		return OW_ERROR;
	char w[256];
	if (n >= sizeof(w))
		return OW_ERROR;
	memcpy(w, s, n);
	w[n] = '\0';
	const char *name = w;
	if (strncmp(name, "span:", 5) == 0 || strncmp(name, "trace:", 6) == 0) {
		static const char *const alias[][2] = {{"span:name", "name"},
						       {"span:status", "status"},
						       {"span:statusMessage", "statusMessage"},
						       {"span:duration", "duration"},
						       {"span:kind", "kind"},
						       {"trace:rootService", "rootServiceName"},
						       {"trace:rootName", "rootName"},
						       {"trace:duration", "traceDuration"}};
		const char *to = NULL;
		for (size_t i = 0; i < OW_NELEMS(alias); i++)
			if (strcmp(name, alias[i][0]) == 0)
				to = alias[i][1];
		if (to == NULL)
			return OW_ERROR;
		name = to;
	}
	const char *key = NULL, *col = NULL;
	*kind = F_ATTR;
	if (strncmp(name, "resource.", 9) == 0) {
		key = name + 9;
		col = "resource_attributes";
	} else if (strncmp(name, "span.", 5) == 0) {
		key = name + 5;
		col = "attributes";
	} else if (name[0] == '.') {
		key = name + 1;
	} else {
		for (size_t i = 0; i < OW_NELEMS(intrinsics); i++)
			if (strcmp(name, intrinsics[i].name) == 0) {
				ow_buf_addstr(out, intrinsics[i].sql);
				*kind = intrinsics[i].kind;
				return OW_OK;
			}
		return OW_ERROR;
	}
	if (*key == '\0')
		return OW_ERROR;
	if (strcmp(key, "service.name") == 0 && (col == NULL || col[0] == 'r')) {
		ow_buf_addstr(out, col ? "service_name"
				       : "coalesce(attributes->>'service.name', "
					 "service_name)");
		return OW_OK;
	}
	ow_buf_t k = {0};
	ow_search_sql_str(&k, key);
	ow_buf_add(&k, "", 1);
	if (col)
		ow_buf_printf(out, "%s->>%s", col, (const char *)k.data);
	else
		ow_buf_printf(out, "coalesce(attributes->>%s, resource_attributes->>%s)",
			      (const char *)k.data, (const char *)k.data);
	ow_buf_free(&k);
	return OW_OK;
}

/* A string literal at t->p ("..." with Go's escapes, or `...`) into v. */
static int tql_string(tql_t *t, ow_buf_t *v)
{
	const char *start = t->p;
	char q = *t->p++;
	while (*t->p && *t->p != q) {
		if (q == '"' && *t->p == '\\') {
			t->p++;
			char c = *t->p == 'n' ? '\n' : *t->p == 't' ? '\t' : *t->p;
			if (c == '\0')
				break;
			ow_buf_add(v, &c, 1);
			t->p++;
			continue;
		}
		ow_buf_add(v, t->p++, 1);
	}
	if (*t->p != q)
		return tql_fail(t, start, "unterminated string", NULL);
	t->p++;
	ow_buf_add(v, "", 1);
	return OW_OK;
}

static const char *const ops[] = {"=~", "!~", "!=", ">=", "<=", "=", ">", "<"};

static int tql_comparison(tql_t *t)
{
	tql_ws(t);
	const char *at = t->p;
	ow_buf_t lhs = {0}, v = {0};
	int kind;
	const char *end;
	if (tql_field(t->p, &end, &lhs, &kind) != OW_OK) {
		ow_buf_free(&lhs);
		if (*t->p == '\0' || *t->p == '}')
			return tql_fail(t, at, "syntax error: unexpected end of spanset", NULL);
		return tql_fail(t, at, "syntax error: unexpected ",
				*t->p == '|' ? "pipeline" : "token");
	}
	t->p = end;
	ow_buf_add(&lhs, "", 1);
	tql_ws(t);
	const char *op = NULL;
	for (size_t i = 0; i < OW_NELEMS(ops) && !op; i++)
		if (strncmp(t->p, ops[i], strlen(ops[i])) == 0)
			op = ops[i];
	if (op == NULL) {
		ow_buf_free(&lhs);
		return tql_fail(t, t->p, "syntax error: expected an operator", NULL);
	}
	t->p += strlen(op);
	tql_ws(t);
	const char *vat = t->p;
	int regex = op[1] == '~';
	int nil = 0; /* = nil (1) or != nil (2): the attribute is absent or there */
	ow_buf_t rhs = {0};
	int rc = OW_OK;
	if (*t->p == '"' || *t->p == '`') {
		rc = tql_string(t, &v);
		if (rc == OW_OK && (kind == F_ATTR || kind == F_STR)) {
			if (regex) {
				char err[256];
				regex_t re;
				if (ow_search_regcomp(&re, (const char *)v.data, 1, err,
						      sizeof(err)) != OW_OK)
					rc = tql_fail(t, vat, err, NULL);
				else
					regfree(&re);
				/* the whole value: (?i) stays first */
				const char *pat = (const char *)v.data;
				int ci = strncmp(pat, "(?i)", 4) == 0;
				ow_buf_t a = {0};
				ow_buf_printf(&a, "%s^(%s)$", ci ? "(?i)" : "", pat + 4 * ci);
				ow_buf_add(&a, "", 1);
				ow_search_sql_str(&rhs, (const char *)a.data);
				ow_buf_free(&a);
			} else {
				ow_search_sql_str(&rhs, (const char *)v.data);
			}
		} else if (rc == OW_OK) {
			rc = tql_fail(t, vat, "a string cannot compare with this field", NULL);
		}
	} else if (isalpha((unsigned char)*t->p)) {
		const char *w = t->p;
		while (isalnum((unsigned char)*t->p) || *t->p == '_')
			t->p++;
		size_t n = (size_t)(t->p - w);
		int st = word_in(w, n, statuses, OW_NELEMS(statuses));
		int k = word_in(w, n, kinds, OW_NELEMS(kinds));
		if (n == 3 && strncmp(w, "nil", 3) == 0 && (kind == F_ATTR || kind == F_STR) &&
		    (strcmp(op, "=") == 0 || strcmp(op, "!=") == 0))
			nil = op[0] == '!' ? 2 : 1;
		else if (kind == F_STATUS && st >= 0)
			ow_buf_printf(&rhs, "%d", st);
		else if (kind == F_KIND && k >= 0)
			ow_buf_printf(&rhs, "%d", k);
		else if (kind == F_ATTR && (n == 4 || n == 5) &&
			 (strncmp(w, "true", n) == 0 || strncmp(w, "false", n) == 0))
			ow_buf_addstr(&rhs, w[0] == 't' ? "1" : "0");
		else
			rc = tql_fail(t, w, "syntax error: unexpected IDENTIFIER", NULL);
	} else if (isdigit((unsigned char)*t->p) || *t->p == '-' || *t->p == '.') {
		const char *w = t->p++;
		while (isalnum((unsigned char)*t->p) || *t->p == '.' || *t->p == '\xc2' ||
		       *t->p == '\xb5')
			t->p++;
		char num[64];
		size_t n = (size_t)(t->p - w);
		int64_t ns;
		char *e;
		if (n >= sizeof(num))
			n = sizeof(num) - 1;
		memcpy(num, w, n);
		num[n] = '\0';
		errno = 0;
		double d = strtod(num, &e);
		if (*e == '\0' && errno == 0 && isfinite(d) && kind == F_ATTR)
			ow_buf_addstr(&rhs, num);
		else if (ow_parse_duration(num, &ns) == OW_OK && (kind == F_DUR || kind == F_ATTR))
			ow_buf_printf(&rhs, "%lld", (long long)ns);
		else
			rc = tql_fail(t, w, "syntax error: unexpected ", num);
	} else {
		rc = tql_fail(t, vat, "syntax error: expected a value", NULL);
	}
	if (rc == OW_OK && regex && !(kind == F_ATTR || kind == F_STR))
		rc = tql_fail(t, at, "regular expressions compare strings only", NULL);
	if (rc == OW_OK && (kind == F_STATUS || kind == F_KIND) && strcmp(op, "=") != 0 &&
	    strcmp(op, "!=") != 0)
		rc = tql_fail(t, at, "status and kind compare with = and != only", NULL);
	if (rc == OW_OK) {
		ow_buf_add(&rhs, "", 1);
		const char *l = (const char *)lhs.data, *r = (const char *)rhs.data;
		const char *sqlop = strcmp(op, "=") == 0 ? "=" : op;
		ow_buf_t c = {0};
		const char *col = l[0] == '@' ? (strcmp(l, "@trace") == 0 ? "x" : l + 6) : l;
		if (nil)
			ow_buf_printf(&c, "%s IS %s", col, nil == 2 ? "NOT NULL" : "NULL");
		else if (regex)
			ow_buf_printf(&c, "%sregexp(%s, %s)", op[0] == '!' ? "NOT " : "", r, col);
		else
			ow_buf_printf(&c, "%s %s %s", col, sqlop, r);
		ow_buf_add(&c, "", 1);
		if (strcmp(l, "@trace") == 0)
			ow_buf_printf(t->out,
				      "trace_id IN (SELECT trace_id FROM spans GROUP BY trace_id "
				      "HAVING max(end_time) - min(start_time) %s %s)",
				      sqlop, r);
		else if (l[0] == '@')
			ow_buf_printf(
			    t->out,
			    "trace_id IN (SELECT trace_id FROM spans WHERE parent_span_id "
			    "IS NULL AND %s)",
			    (const char *)c.data);
		else
			ow_buf_addstr(t->out, (const char *)c.data);
		ow_buf_free(&c);
	}
	ow_buf_free(&lhs);
	ow_buf_free(&rhs);
	ow_buf_free(&v);
	return rc;
}

static int tql_expr(tql_t *t, int depth, int level);

static int tql_primary(tql_t *t, int depth)
{
	tql_ws(t);
	if (*t->p == '(') {
		if (depth > 64)
			return tql_fail(t, t->p, "expression nested too deep", NULL);
		t->p++;
		ow_buf_addstr(t->out, "(");
		if (tql_expr(t, depth + 1, 0) != OW_OK)
			return OW_ERROR;
		tql_ws(t);
		if (*t->p != ')')
			return tql_fail(t, t->p, "syntax error: expected )", NULL);
		t->p++;
		ow_buf_addstr(t->out, ")");
		return OW_OK;
	}
	if (strncmp(t->p, "true", 4) == 0 && !is_path_char((unsigned char)t->p[4])) {
		t->p += 4;
		ow_buf_addstr(t->out, "1");
		return OW_OK;
	}
	return tql_comparison(t);
}

/* level 0: a || b ...; level 1: a && b ...; level 2: a primary. */
static int tql_expr(tql_t *t, int depth, int level)
{
	static const char *const joins[] = {"||", "&&"}, *const sql[] = {" OR ", " AND "};
	if (level == 2)
		return tql_primary(t, depth);
	if (tql_expr(t, depth, level + 1) != OW_OK)
		return OW_ERROR;
	for (;;) {
		tql_ws(t);
		if (strncmp(t->p, joins[level], 2) != 0)
			return OW_OK;
		t->p += 2;
		ow_buf_addstr(t->out, sql[level]);
		if (tql_expr(t, depth, level + 1) != OW_OK)
			return OW_ERROR;
	}
}

int tr_traceql(const char *q, ow_buf_t *out, char *err, size_t errlen)
{
	tql_t t = {q, q, out, err, errlen, 0};
	tql_ws(&t);
	if (*t.p != '{')
		return tql_fail(&t, t.p, "syntax error: unexpected ",
				*t.p ? "token, expecting {" : "end of query, expecting {");
	t.p++;
	tql_ws(&t);
	if (*t.p == '}') {
		ow_buf_addstr(out, "1");
	} else {
		ow_buf_addstr(out, "(");
		if (tql_expr(&t, 0, 0) != OW_OK)
			return OW_ERROR;
		ow_buf_addstr(out, ")");
		tql_ws(&t);
		if (*t.p != '}')
			return tql_fail(&t, t.p, "syntax error: unexpected token, expecting }",
					NULL);
	}
	t.p++;
	tql_ws(&t);
	if (*t.p)
		return tql_fail(&t, t.p, "not supported here: ",
				*t.p == '|' ? "a pipeline" : "more than one spanset");
	return OW_OK;
}

/* ---- answers ---- */

static void json(ow_query_answer_t *a, cJSON *j)
{
	char err[64];
	if (tr_print(j, &a->body, NULL, err, sizeof(err)) != OW_OK)
		ow_query_text(a, 500, err);
}

/* Adds the TR_* columns' strings and counts that OTLP/JSON names. */
static void add_str(cJSON *o, const char *name, const char *v)
{
	if (*v)
		cJSON_AddStringToObject(o, name, v);
}

static void add_count(cJSON *o, const char *name, const char *v)
{
	if (*v && strcmp(v, "0") != 0)
		cJSON_AddNumberToObject(o, name, strtod(v, NULL));
}

static void add_json(cJSON *o, const char *name, cJSON *v)
{
	if (v)
		cJSON_AddItemToObject(o, name, v);
}

static cJSON *otlp_span(const ow_search_rows_t *rows, size_t r)
{
	cJSON *sp = cJSON_CreateObject();
	add_str(sp, "traceId", tr_cell(rows, r, TR_TRACE));
	add_str(sp, "spanId", tr_cell(rows, r, TR_SPAN));
	add_str(sp, "traceState", tr_cell(rows, r, TR_STATE));
	add_str(sp, "parentSpanId", tr_cell(rows, r, TR_PARENT));
	add_count(sp, "flags", tr_cell(rows, r, TR_FLAGS));
	cJSON_AddStringToObject(sp, "name", tr_cell(rows, r, TR_NAME));
	add_count(sp, "kind", tr_cell(rows, r, TR_KIND));
	cJSON_AddStringToObject(sp, "startTimeUnixNano", tr_cell(rows, r, TR_START));
	cJSON_AddStringToObject(sp, "endTimeUnixNano", tr_cell(rows, r, TR_END));
	add_json(sp, "attributes", tr_otlp(rows, r, TR_ATTRS));
	add_count(sp, "droppedAttributesCount", tr_cell(rows, r, TR_DROPPED_ATTRS));
	add_json(sp, "events", tr_otlp(rows, r, TR_EVENTS));
	add_count(sp, "droppedEventsCount", tr_cell(rows, r, TR_DROPPED_EVENTS));
	add_json(sp, "links", tr_otlp(rows, r, TR_LINKS));
	add_count(sp, "droppedLinksCount", tr_cell(rows, r, TR_DROPPED_LINKS));
	cJSON *st = cJSON_AddObjectToObject(sp, "status");
	add_str(st, "message", tr_cell(rows, r, TR_STATUS_MSG));
	add_count(st, "code", tr_cell(rows, r, TR_STATUS));
	return sp;
}

/* 1 when rows a and b have the same columns from..to. */
static int same(const ow_search_rows_t *rows, size_t a, size_t b, int from, int to)
{
	for (int c = from; c <= to; c++)
		if (strcmp(tr_cell(rows, a, c), tr_cell(rows, b, c)) != 0)
			return 0;
	return 1;
}

/* Rows [from, to) of one trace as OTLP/JSON TracesData: spans under
 * their resource and scope, in start order within each; NULL, with the
 * budget's message in err, once it would pass the query's memory. */
static cJSON *otlp_trace(const ow_search_rows_t *rows, size_t from, size_t to, tr_hold_t *h,
			 char *err, size_t errlen)
{
	int over = 0;
	cJSON *td = cJSON_CreateObject();
	cJSON *rss = cJSON_AddArrayToObject(td, "resourceSpans");
	uint8_t *done = ow_calloc(to - from + 1, 1);
	for (size_t i = from; i < to; i++) {
		if (done[i - from])
			continue;
		cJSON *rs = cJSON_CreateObject();
		cJSON *res = cJSON_AddObjectToObject(rs, "resource");
		add_json(res, "attributes", tr_otlp(rows, i, TR_RES_ATTRS));
		add_count(res, "droppedAttributesCount", tr_cell(rows, i, TR_RES_DROPPED));
		cJSON *sss = cJSON_AddArrayToObject(rs, "scopeSpans");
		over = tr_hold(h, tr_json_bytes(res) + 2 * (int64_t)sizeof(cJSON), err, errlen) !=
		       OW_OK;
		for (size_t j = i; j < to; j++) {
			if (done[j - from] || !same(rows, i, j, TR_SERVICE, TR_RES_SCHEMA))
				continue;
			cJSON *ss = cJSON_CreateObject();
			cJSON *sc = cJSON_AddObjectToObject(ss, "scope");
			add_str(sc, "name", tr_cell(rows, j, TR_SCOPE_NAME));
			add_str(sc, "version", tr_cell(rows, j, TR_SCOPE_VERSION));
			add_json(sc, "attributes", tr_otlp(rows, j, TR_SCOPE_ATTRS));
			add_count(sc, "droppedAttributesCount", tr_cell(rows, j, TR_SCOPE_DROPPED));
			cJSON *spans = cJSON_AddArrayToObject(ss, "spans");
			if (over || tr_hold(h, tr_json_bytes(ss), err, errlen) != OW_OK) {
				over = 1;
				cJSON_Delete(ss);
				break;
			}
			for (size_t k = j; k < to; k++) {
				if (done[k - from] ||
				    !same(rows, i, k, TR_SERVICE, TR_RES_SCHEMA) ||
				    !same(rows, j, k, TR_SCOPE_NAME, TR_SCOPE_SCHEMA))
					continue;
				cJSON *sp = otlp_span(rows, k);
				cJSON_AddItemToArray(spans, sp);
				done[k - from] = 1;
				if (tr_hold(h, tr_json_bytes(sp), err, errlen) != OW_OK) {
					over = 1;
					break;
				}
			}
			add_str(ss, "schemaUrl", tr_cell(rows, j, TR_SCOPE_SCHEMA));
			cJSON_AddItemToArray(sss, ss);
			if (over)
				break;
		}
		add_str(rs, "schemaUrl", tr_cell(rows, i, TR_RES_SCHEMA));
		cJSON_AddItemToArray(rss, rs);
		if (over)
			break;
	}
	free(done);
	if (over) {
		cJSON_Delete(td);
		return NULL;
	}
	return td;
}

static void work_trace(ow_search_t *s, tempo_req_t *r, ow_query_answer_t *a)
{
	char err[512];
	ow_search_rows_t rows;
	if (tr_spans(s, NULL, r->id, &rows, err, sizeof(err)) != OW_OK) {
		ow_query_text(a, 400, err);
		return;
	}
	if (rows.nrows == 0) {
		ow_query_text(a, 404, "trace not found");
		ow_search_rows_free(&rows);
		return;
	}
	/* the rows, the tree, its JSON and the protobuf are held in turn:
	 * past the memory budget the answer is its error, as a query's */
	tr_hold_t h;
	tr_hold_begin(&h, s);
	cJSON *td = NULL;
	if (tr_hold(&h, ow_search_rows_bytes(&rows), err, sizeof(err)) == OW_OK)
		td = otlp_trace(&rows, 0, rows.nrows, &h, err, sizeof(err));
	ow_search_rows_free(&rows);
	if (td == NULL) {
		tr_hold_end(&h);
		ow_query_text(a, 400, err); /* as the spans' query's error */
		return;
	}
	if (!r->proto) {
		if (r->v2) {
			cJSON *w = cJSON_CreateObject();
			cJSON_AddItemToObject(w, "trace", td);
			td = w;
		}
		if (tr_print(td, &a->body, &h, err, sizeof(err)) != OW_OK)
			ow_query_text(a, 400, err);
		tr_hold_end(&h);
		return;
	}
	char *j = cJSON_PrintUnformatted(td);
	cJSON_Delete(td);
	ow_buf_t pb = {0};
	int rc = tr_hold(&h, (int64_t)strlen(j), err, sizeof(err));
	if (rc == OW_OK)
		rc = ow_otlp_json_to_pb(OW_TRACES, j, strlen(j), &pb, err, sizeof(err));
	cJSON_free(j);
	if (rc == OW_OK) /* pb, and its copy in the answer */
		rc = tr_hold(&h, (int64_t)pb.cap * 2, err, sizeof(err));
	tr_hold_end(&h);
	if (rc != OW_OK) {
		ow_buf_free(&pb);
		ow_query_text(a, 400, err);
		return;
	}
	a->ctype = "application/protobuf";
	if (r->v2) { /* TraceByIDResponse: the trace is its field 1 */
		uint8_t hdr[11];
		size_t n = 0;
		hdr[n++] = 0x0a;
		for (uint64_t v = pb.len;; v >>= 7) {
			hdr[n++] = (uint8_t)(v & 0x7f) | (v > 0x7f ? 0x80 : 0);
			if (v <= 0x7f)
				break;
		}
		ow_buf_add(&a->body, hdr, n);
	}
	ow_buf_add(&a->body, pb.data, pb.len);
	ow_buf_free(&pb);
}

/* The matched spans of a trace, at most spss of them, into a spanset. */
static void work_search(ow_search_t *s, tempo_req_t *r, ow_query_answer_t *a)
{
	char err[512];
	ow_search_rows_t ids, rows = {0};
	if (tr_search_ids(s, &r->q, &ids, err, sizeof(err)) != OW_OK) {
		ow_query_text(a, 400, err);
		return;
	}
	cJSON *out = cJSON_CreateObject();
	cJSON *traces = cJSON_AddArrayToObject(out, "traces");
	if (ids.nrows > 0) {
		ow_buf_t b = {0};
		ow_buf_printf(
		    &b,
		    "SELECT trace_id, span_id, parent_span_id, service_name, name, "
		    "start_time, end_time, (start_time >= %lld AND start_time <= %lld AND "
		    "(%.*s)) AS m FROM spans WHERE trace_id IN (",
		    (long long)r->q.start, (long long)r->q.end, (int)r->q.cond.len,
		    (const char *)r->q.cond.data);
		for (size_t i = 0; i < ids.nrows; i++) {
			if (i)
				ow_buf_addstr(&b, ", ");
			ow_search_sql_str(&b, tr_cell(&ids, i, 0));
		}
		ow_buf_addstr(&b, ") ORDER BY trace_id, start_time");
		ow_buf_add(&b, "", 1);
		int rc = ow_search_rows(s, (const char *)b.data, -1, &rows, err, sizeof(err));
		ow_buf_free(&b);
		if (rc != OW_OK) {
			ow_search_rows_free(&ids);
			cJSON_Delete(out);
			ow_query_text(a, 400, err);
			return;
		}
	}
	/* rows by trace id: for each id found, in the order found */
	for (size_t i = 0; i < ids.nrows; i++) {
		const char *id = tr_cell(&ids, i, 0);
		size_t from, to;
		if (!tr_trace_rows(&rows, 0, id, &from, &to))
			continue;
		int64_t t0 = INT64_MAX, t1 = INT64_MIN;
		for (size_t k = from; k < to; k++) {
			t0 = OW_MIN(t0, strtoll(tr_cell(&rows, k, 5), NULL, 10));
			t1 = OW_MAX(t1, strtoll(tr_cell(&rows, k, 6), NULL, 10));
		}
		if (!tr_duration_in(&r->q, t1 - t0))
			continue;
		size_t root = from;
		int has_root = 0;
		cJSON *set = cJSON_CreateObject();
		cJSON *spans = cJSON_AddArrayToObject(set, "spans");
		int64_t matched = 0;
		for (size_t k = from; k < to; k++) {
			int64_t st = strtoll(tr_cell(&rows, k, 5), NULL, 10);
			int64_t en = strtoll(tr_cell(&rows, k, 6), NULL, 10);
			if (!has_root && *tr_cell(&rows, k, 2) == '\0') {
				root = k;
				has_root = 1;
			}
			if (strcmp(tr_cell(&rows, k, 7), "1") != 0)
				continue;
			if (matched++ >= r->spss)
				continue;
			cJSON *sp = cJSON_CreateObject();
			cJSON_AddStringToObject(sp, "spanID", tr_cell(&rows, k, 1));
			cJSON_AddStringToObject(sp, "name", tr_cell(&rows, k, 4));
			cJSON_AddStringToObject(sp, "startTimeUnixNano", tr_cell(&rows, k, 5));
			char d[32];
			snprintf(d, sizeof(d), "%lld", (long long)(en - st));
			cJSON_AddStringToObject(sp, "durationNanos", d);
			cJSON *attrs = cJSON_AddArrayToObject(sp, "attributes");
			cJSON *kv = cJSON_CreateObject();
			cJSON_AddStringToObject(kv, "key", "service.name");
			cJSON_AddItemToObject(kv, "value", cJSON_CreateObject());
			cJSON_AddStringToObject(cJSON_GetObjectItem(kv, "value"), "stringValue",
						tr_cell(&rows, k, 3));
			cJSON_AddItemToArray(attrs, kv);
			cJSON_AddItemToArray(spans, sp);
		}
		cJSON_AddNumberToObject(set, "matched", (double)matched);
		cJSON *t = cJSON_CreateObject();
		cJSON_AddStringToObject(t, "traceID", id);
		cJSON_AddStringToObject(t, "rootServiceName",
					has_root ? tr_cell(&rows, root, 3)
						 : "<root span not yet received>");
		if (has_root)
			cJSON_AddStringToObject(t, "rootTraceName", tr_cell(&rows, root, 4));
		char ts[32];
		snprintf(ts, sizeof(ts), "%lld", (long long)t0);
		cJSON_AddStringToObject(t, "startTimeUnixNano", ts);
		cJSON_AddNumberToObject(t, "durationMs", (double)((t1 - t0) / 1000000));
		cJSON_AddItemToObject(t, "spanSet", cJSON_Duplicate(set, 1));
		cJSON *sets = cJSON_AddArrayToObject(t, "spanSets");
		cJSON_AddItemToArray(sets, set);
		cJSON_AddItemToArray(traces, t);
	}
	cJSON *m = cJSON_AddObjectToObject(out, "metrics");
	ow_search_stats_t st;
	ow_search_last_stats(s, &st);
	cJSON_AddNumberToObject(m, "inspectedTraces", (double)ids.nrows);
	char nb[32];
	snprintf(nb, sizeof(nb), "%lld", (long long)st.bytes);
	cJSON_AddStringToObject(m, "inspectedBytes", nb);
	cJSON_AddNumberToObject(m, "completedJobs", 1);
	cJSON_AddNumberToObject(m, "totalJobs", 1);
	ow_search_rows_free(&ids);
	ow_search_rows_free(&rows);
	json(a, out);
}

/* Distinct attribute keys of a column in the time range, sorted. */
static int keys_of(ow_search_t *s, tempo_req_t *r, const char *col, cJSON *into, char *err,
		   size_t errlen)
{
	ow_buf_t b = {0};
	ow_buf_printf(&b,
		      "SELECT DISTINCT j.key FROM spans, json_each(spans.%s) AS j WHERE "
		      "start_time >= %lld AND start_time <= %lld ORDER BY 1 LIMIT 5000",
		      col, (long long)r->q.start, (long long)r->q.end);
	ow_buf_add(&b, "", 1);
	ow_search_rows_t rows;
	int rc = ow_search_rows(s, (const char *)b.data, -1, &rows, err, errlen);
	ow_buf_free(&b);
	if (rc != OW_OK)
		return rc;
	for (size_t i = 0; i < rows.nrows; i++)
		cJSON_AddItemToArray(into, cJSON_CreateString(tr_cell(&rows, i, 0)));
	ow_search_rows_free(&rows);
	return OW_OK;
}

static void work_tags(ow_search_t *s, tempo_req_t *r, ow_query_answer_t *a)
{
	char err[512];
	cJSON *out = cJSON_CreateObject();
	int rc = OW_OK;
	if (!r->v2) {
		cJSON *names = cJSON_AddArrayToObject(out, "tagNames");
		rc = keys_of(s, r, "attributes", names, err, sizeof(err));
		if (rc == OW_OK)
			rc = keys_of(s, r, "resource_attributes", names, err, sizeof(err));
	} else {
		cJSON *scopes = cJSON_AddArrayToObject(out, "scopes");
		static const char *const names[] = {"resource", "span"};
		static const char *const cols[] = {"resource_attributes", "attributes"};
		for (int i = 0; i < 2 && rc == OW_OK; i++) {
			if (r->scope != SC_ALL && r->scope != SC_RESOURCE + i)
				continue;
			cJSON *sc = cJSON_CreateObject();
			cJSON_AddStringToObject(sc, "name", names[i]);
			rc = keys_of(s, r, cols[i], cJSON_AddArrayToObject(sc, "tags"), err,
				     sizeof(err));
			cJSON_AddItemToArray(scopes, sc);
		}
		if (r->scope == SC_ALL || r->scope == SC_INTRINSIC) {
			cJSON *sc = cJSON_CreateObject();
			cJSON_AddStringToObject(sc, "name", "intrinsic");
			cJSON *tags = cJSON_AddArrayToObject(sc, "tags");
			for (size_t i = 0; i < OW_NELEMS(intrinsics); i++)
				cJSON_AddItemToArray(tags, cJSON_CreateString(intrinsics[i].name));
			cJSON_AddItemToArray(scopes, sc);
		}
	}
	if (rc != OW_OK) {
		cJSON_Delete(out);
		ow_query_text(a, 400, err);
		return;
	}
	json(a, out);
}

static void work_tag_values(ow_search_t *s, tempo_req_t *r, ow_query_answer_t *a)
{
	char err[512];
	ow_buf_t b = {0};
	const char *e = (const char *)r->expr.data;
	ow_buf_printf(&b,
		      "SELECT DISTINCT typeof(%s) AS t, %s AS v FROM spans WHERE %s IS NOT NULL "
		      "AND start_time >= %lld AND start_time <= %lld AND (%.*s) ORDER BY 2 "
		      "LIMIT 5000",
		      e, e, e, (long long)r->q.start, (long long)r->q.end, (int)r->q.cond.len,
		      (const char *)r->q.cond.data);
	ow_buf_add(&b, "", 1);
	ow_search_rows_t rows;
	int rc = ow_search_rows(s, (const char *)b.data, -1, &rows, err, sizeof(err));
	ow_buf_free(&b);
	if (rc != OW_OK) {
		ow_query_text(a, 400, err);
		return;
	}
	cJSON *out = cJSON_CreateObject();
	cJSON *vals = cJSON_AddArrayToObject(out, "tagValues");
	for (size_t i = 0; i < rows.nrows; i++) {
		const char *t = tr_cell(&rows, i, 0), *v = tr_cell(&rows, i, 1);
		const char *type = strcmp(t, "integer") == 0 ? "int"
				   : strcmp(t, "real") == 0  ? "float"
							     : "string";
		if (r->field == F_STATUS || r->field == F_KIND) {
			long k = strtol(v, NULL, 10);
			type = "keyword";
			if (r->field == F_STATUS && k >= 0 && k < (long)OW_NELEMS(statuses))
				v = statuses[k];
			else if (r->field == F_KIND && k >= 0 && k < (long)OW_NELEMS(kinds))
				v = kinds[k];
		} else if (r->field == F_DUR) {
			type = "duration";
		}
		if (!r->v2) {
			cJSON_AddItemToArray(vals, cJSON_CreateString(v));
			continue;
		}
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "type", type);
		cJSON_AddStringToObject(o, "value", v);
		cJSON_AddItemToArray(vals, o);
	}
	ow_search_rows_free(&rows);
	json(a, out);
}

static void tempo_work(ow_search_t *s, void *arg, ow_query_answer_t *a)
{
	tempo_req_t *r = arg;
	switch (r->what) {
	case T_TRACE:
		work_trace(s, r, a);
		break;
	case T_SEARCH:
		work_search(s, r, a);
		break;
	case T_TAGS:
		work_tags(s, r, a);
		break;
	default:
		work_tag_values(s, r, a);
	}
}

static void tempo_free(void *arg)
{
	tempo_req_t *r = arg;
	ow_buf_free(&r->q.cond);
	ow_buf_free(&r->expr);
	free(r);
}

static const ow_query_api_t tempo_api = {
    .work = tempo_work, .fail = ow_query_text, .release = tempo_free};

/* ---- the route ---- */

/* An argument in Unix seconds into ns (default when absent). */
static int int_arg(struct evkeyvalq *args, const char *name, int64_t def, int64_t lo, int64_t hi,
		   int64_t *out)
{
	const char *v = evhttp_find_header(args, name);
	if (v == NULL || *v == '\0') {
		*out = def;
		return OW_OK;
	}
	char *end;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	if (*end || errno || x < lo || x > hi)
		return OW_ERROR;
	*out = x;
	return OW_OK;
}

static int secs_arg(struct evkeyvalq *args, const char *name, int64_t def, int64_t *ns)
{
	int64_t x;
	if (int_arg(args, name, -1, 0, INT64_MAX / 1000000000, &x) != OW_OK)
		return OW_ERROR;
	*ns = x < 0 ? def : x * 1000000000;
	return OW_OK;
}

/* The request's arguments into r for a search, tags or tag values:
 * NULL, or the message of a 400. */
static const char *parse_args(struct evkeyvalq *args, tempo_req_t *r, char *err, size_t errlen)
{
	int64_t max = ow_control_query_max_rows();
	r->q.min_dur = r->q.max_dur = -1;
	if (secs_arg(args, "start", -1, &r->q.start) != OW_OK ||
	    secs_arg(args, "end", INT64_MAX, &r->q.end) != OW_OK)
		return "invalid start or end: Unix seconds";
	if (r->q.start < 0) /* by default the hour before end or now */
		r->q.start = r->q.end != INT64_MAX ? r->q.end - SEARCH_LOOKBACK
						   : ow_now_ns() - SEARCH_LOOKBACK;
	if (r->q.end <= INT64_MAX - 999999999)
		r->q.end += 999999999; /* the whole last second */
	if (int_arg(args, "limit", 20, 1, max, &r->q.limit) != OW_OK) {
		snprintf(err, errlen, "invalid limit: 1 to query.max_rows (%lld)", (long long)max);
		return err;
	}
	if (int_arg(args, "spss", 3, 1, max, &r->spss) != OW_OK)
		return "invalid spss: a positive number of spans per spanset";
	const char *mn = evhttp_find_header(args, "minDuration");
	const char *mx = evhttp_find_header(args, "maxDuration");
	if ((mn && *mn && tr_duration(mn, 1, &r->q.min_dur) != OW_OK) ||
	    (mx && *mx && tr_duration(mx, 1, &r->q.max_dur) != OW_OK))
		return "invalid minDuration or maxDuration: a duration such as 100ms";
	const char *q = evhttp_find_header(args, "q");
	if (q && *q && tr_traceql(q, &r->q.cond, err, errlen) != OW_OK) {
		/* a tag's values: Grafana sends the query as it is being
		 * typed; one that does not parse yet filters nothing */
		if (r->what != T_TAG_VALUES)
			return err;
		r->q.cond.len = 0;
		q = NULL;
	}
	if (q == NULL || *q == '\0')
		ow_buf_addstr(&r->q.cond, "1");
	const char *sc = evhttp_find_header(args, "scope");
	if (sc && *sc) {
		static const char *const scopes[] = {"all", "resource", "span", "intrinsic"};
		r->scope = -1;
		for (int i = 0; i < 4; i++)
			if (strcmp(sc, scopes[i]) == 0)
				r->scope = i;
		if (r->scope < 0)
			return "invalid scope: all, resource, span or intrinsic";
	}
	return NULL;
}

void ow_tempo_route(struct evhttp_request *req, const char *path, const char *tenant, void *arg)
{
	OW_UNUSED(arg);
	int cmd = evhttp_request_get_command(req);
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET");
		ow_query_reply(req, &tempo_api, 405, "method not allowed: use GET");
		return;
	}
	path += strlen("/tempo");
	if (strcmp(path, "/api/echo") == 0) {
		ow_http_reply(req, 200, "text/plain; charset=utf-8", "echo", 4, 0);
		return;
	}
	tempo_req_t *r = ow_calloc(1, sizeof(*r));
	char err[512];
	const char *why = NULL;
	int code = 400;
	const char *rest = NULL;
	if (strncmp(path, "/api/v2/", 8) == 0) {
		r->v2 = 1;
		rest = path + 8;
	} else if (strncmp(path, "/api/", 5) == 0) {
		rest = path + 5;
	}
	size_t n;
	if (rest && strncmp(rest, "traces/", 7) == 0 && strchr(rest + 7, '/') == NULL) {
		r->what = T_TRACE;
		if (!ow_query_trace_id(rest + 7))
			why = "invalid trace id: 32 hex digits";
		else
			snprintf(r->id, sizeof(r->id), "%s", rest + 7);
		const char *acc =
		    evhttp_find_header(evhttp_request_get_input_headers(req), "Accept");
		r->proto = acc && strstr(acc, "application/protobuf") != NULL;
	} else if (rest && !r->v2 && strcmp(rest, "search") == 0) {
		r->what = T_SEARCH;
	} else if (rest && strcmp(rest, "search/tags") == 0) {
		r->what = T_TAGS;
	} else if (rest && strncmp(rest, "search/tag/", 11) == 0 && (n = strlen(rest)) > 18 &&
		   strcmp(rest + n - 7, "/values") == 0) {
		r->what = T_TAG_VALUES;
		char tag[256];
		char *dec = evhttp_uridecode(rest + 11, 0, NULL);
		size_t tl = strlen(dec) - 7;
		snprintf(tag, sizeof(tag), "%s%.*s", r->v2 ? "" : ".", (int)OW_MIN(tl, 250), dec);
		free(dec);
		const char *end;
		int isintr = 0;
		for (size_t i = 0; i < OW_NELEMS(intrinsics); i++)
			isintr |= strcmp(tag, intrinsics[i].name) == 0;
		if (tql_field(tag, &end, &r->expr, &r->field) != OW_OK || *end ||
		    ((const char *)r->expr.data)[0] == '@' ||
		    (tag[0] != '.' && !isintr && strchr(tag, '.') == NULL))
			why = "invalid tag: resource.X, span.X, .X or an intrinsic such as name";
		ow_buf_add(&r->expr, "", 1);
	} else {
		code = 404;
		why = "404 page not found";
	}
	struct evkeyvalq args;
	const char *qs = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	int parsed = evhttp_parse_query_str(qs ? qs : "", &args) == 0;
	if (why == NULL && !parsed)
		why = "malformed query string";
	/* a tag's values: of the spans q matches (Grafana sends the query
	 * being built) */
	if (why == NULL && r->what != T_TRACE)
		why = parse_args(&args, r, err, sizeof(err));
	if (parsed)
		evhttp_clear_headers(&args);
	ow_query_run_checked(req, tenant, &tempo_api, r, code, why);
}

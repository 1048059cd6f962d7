/*
 * logql.c - the LogQL subset of the Loki API (loki.h): its parser, with
 * Loki's error messages, and the pipeline run on each log line.
 *
 *   log query      {selector} pipeline
 *   selector       name op "value", ...   op: = != =~ !~ (at least one
 *                  matcher that an empty value cannot satisfy, as Loki
 *                  requires)
 *   pipeline       line filters |= != |~ !~ "text"; | json; | logfmt;
 *                  | line_format "{{.label}} {{__line__}}"; | drop a, b;
 *                  label filters | name op value, with and, "," and or,
 *                  op = != =~ !~ against a string, > >= < <= = != against
 *                  a number or a duration (10s)
 *   metric query   count_over_time, rate, bytes_over_time, bytes_rate of
 *                  a log query [range]; sum, count, avg, min, max of those,
 *                  by (labels) or without (labels), before or after the
 *                  parentheses; numbers, vector(n), + - * / between them
 *
 * Regular expressions are RE2's as ow_search_regcomp reads them; a
 * label matcher's matches the whole value, a line filter's any part.
 * json flattens the line's object into labels (nested keys joined by _,
 * arrays left out), logfmt takes its key=value pairs; a name that is
 * already a label gets the suffix _extracted, as in Loki; a line that
 * does not parse gets the label __error__ (JSONParserErr,
 * LogfmtParserErr).
 */
#include "loki.h"
#include "../search/search.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>

/* ---- labels ---- */

void lq_labels_set(lq_labels_t *l, const char *name, const char *value, size_t vlen)
{
	for (int i = 0; i < l->n; i++)
		if (strcmp(l->name[i], name) == 0) {
			free(l->value[i]);
			l->value[i] = ow_alloc(vlen + 1);
			memcpy(l->value[i], value, vlen);
			l->value[i][vlen] = '\0';
			return;
		}
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->name = ow_realloc(l->name, (size_t)l->cap * sizeof(char *));
		l->value = ow_realloc(l->value, (size_t)l->cap * sizeof(char *));
	}
	l->name[l->n] = ow_strdup(name);
	l->value[l->n] = ow_alloc(vlen + 1);
	memcpy(l->value[l->n], value, vlen);
	l->value[l->n][vlen] = '\0';
	l->n++;
}

const char *lq_labels_get(const lq_labels_t *l, const char *name)
{
	for (int i = 0; i < l->n; i++)
		if (strcmp(l->name[i], name) == 0)
			return l->value[i];
	return NULL;
}

void lq_labels_del(lq_labels_t *l, const char *name)
{
	for (int i = 0; i < l->n; i++)
		if (strcmp(l->name[i], name) == 0) {
			free(l->name[i]);
			free(l->value[i]);
			memmove(l->name + i, l->name + i + 1,
				(size_t)(l->n - i - 1) * sizeof(char *));
			memmove(l->value + i, l->value + i + 1,
				(size_t)(l->n - i - 1) * sizeof(char *));
			l->n--;
			return;
		}
}

void lq_labels_free(lq_labels_t *l)
{
	for (int i = 0; i < l->n; i++) {
		free(l->name[i]);
		free(l->value[i]);
	}
	free(l->name);
	free(l->value);
	memset(l, 0, sizeof(*l));
}

void lq_labels_copy(lq_labels_t *to, const lq_labels_t *from)
{
	for (int i = 0; i < from->n; i++)
		lq_labels_set(to, from->name[i], from->value[i], strlen(from->value[i]));
}

void lq_labels_key(lq_labels_t *l, ow_buf_t *out)
{
	/* a sort of the pairs, so that equal sets have one key */
	for (int i = 1; i < l->n; i++)
		for (int j = i; j > 0 && strcmp(l->name[j - 1], l->name[j]) > 0; j--) {
			char *t = l->name[j];
			l->name[j] = l->name[j - 1];
			l->name[j - 1] = t;
			t = l->value[j];
			l->value[j] = l->value[j - 1];
			l->value[j - 1] = t;
		}
	ow_buf_addstr(out, "{");
	for (int i = 0; i < l->n; i++) {
		ow_buf_printf(out, "%s%s=\"", i ? ", " : "", l->name[i]);
		for (const char *c = l->value[i]; *c; c++) {
			if (*c == '"' || *c == '\\')
				ow_buf_add(out, "\\", 1);
			ow_buf_add(out, c, 1);
		}
		ow_buf_addstr(out, "\"");
	}
	ow_buf_addstr(out, "}");
}

/* ---- the parser ---- */

typedef struct {
	const char *src, *p;
	char *err;
	size_t errlen;
	int failed;
} ps_t;

static int fail(ps_t *s, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(ps_t *s, const char *at, const char *fmt, ...)
{
	if (s->failed)
		return OW_ERROR;
	s->failed = 1;
	int n =
	    snprintf(s->err, s->errlen, "parse error at line 1, col %d: ", (int)(at - s->src) + 1);
	va_list ap;
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < s->errlen)
		vsnprintf(s->err + n, s->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return OW_ERROR;
}

static void ws(ps_t *s)
{
	while (isspace((unsigned char)*s->p))
		s->p++;
}

static int peek(ps_t *s, const char *tok)
{
	ws(s);
	return strncmp(s->p, tok, strlen(tok)) == 0;
}

static int take(ps_t *s, const char *tok)
{
	if (!peek(s, tok))
		return 0;
	s->p += strlen(tok);
	return 1;
}

static int is_ident_start(int c)
{
	return isalpha(c) || c == '_';
}

/* An identifier (a label name, a keyword), malloc'd; NULL when none. */
static char *ident(ps_t *s)
{
	ws(s);
	const char *b = s->p;
	if (!is_ident_start((unsigned char)*s->p))
		return NULL;
	while (isalnum((unsigned char)*s->p) || *s->p == '_')
		s->p++;
	char *w = ow_alloc((size_t)(s->p - b) + 1);
	memcpy(w, b, (size_t)(s->p - b));
	w[s->p - b] = '\0';
	return w;
}

static int word_is(ps_t *s, const char *w)
{
	ws(s);
	size_t n = strlen(w);
	return strncmp(s->p, w, n) == 0 && !isalnum((unsigned char)s->p[n]) && s->p[n] != '_';
}

/* A string literal: "..." with Go's escapes, or `...`; malloc'd. */
static char *string(ps_t *s)
{
	ws(s);
	const char *at = s->p;
	char q = *s->p;
	if (q != '"' && q != '`') {
		fail(s, at, "syntax error: unexpected %s, expecting STRING",
		     *s->p ? "token" : "end of input");
		return NULL;
	}
	s->p++;
	ow_buf_t b = {0};
	while (*s->p && *s->p != q) {
		if (q == '"' && *s->p == '\\' && s->p[1]) {
			s->p++;
			char c = *s->p == 'n'	? '\n'
				 : *s->p == 't' ? '\t'
				 : *s->p == 'r' ? '\r'
						: *s->p;
			ow_buf_add(&b, &c, 1);
			s->p++;
			continue;
		}
		ow_buf_add(&b, s->p++, 1);
	}
	if (*s->p != q) {
		ow_buf_free(&b);
		fail(s, at, "syntax error: unterminated string");
		return NULL;
	}
	s->p++;
	ow_buf_add(&b, "", 1);
	return (char *)b.data;
}

static int op(ps_t *s, int numeric_ok)
{
	static const struct {
		const char *t;
		int op, numeric;
	} ops[] = {{"=~", LQ_RE, 0}, {"!~", LQ_NRE, 0}, {"!=", LQ_NE, 0},
		   {"==", LQ_EQ, 0}, {">=", LQ_GE, 1},	{"<=", LQ_LE, 1},
		   {"=", LQ_EQ, 0},  {">", LQ_GT, 1},	{"<", LQ_LT, 1}};
	ws(s);
	for (size_t i = 0; i < OW_NELEMS(ops); i++)
		if ((numeric_ok || !ops[i].numeric) &&
		    strncmp(s->p, ops[i].t, strlen(ops[i].t)) == 0) {
			s->p += strlen(ops[i].t);
			return ops[i].op;
		}
	return -1;
}

static int compile(ps_t *s, const char *at, lq_matcher_t *m, int anchored)
{
	if (m->op != LQ_RE && m->op != LQ_NRE)
		return OW_OK;
	char err[256];
	if (ow_search_regcomp(&m->re, m->value, anchored, err, sizeof(err)) != OW_OK) {
		m->op = LQ_EQ; /* nothing to free */
		return fail(s, at, "%s", err);
	}
	return OW_OK;
}

static void matcher_free(lq_matcher_t *m)
{
	if (m->op == LQ_RE || m->op == LQ_NRE)
		regfree(&m->re);
	free(m->name);
	free(m->value);
}

static int selector(ps_t *s, lq_selector_t *sel)
{
	ws(s);
	const char *at = s->p;
	if (!take(s, "{"))
		return fail(s, at, "syntax error: unexpected %s, expecting {",
			    *s->p ? "token" : "end of input");
	int nonempty = 0;
	while (!take(s, "}")) {
		if (sel->nm && !take(s, ","))
			return fail(s, s->p, "syntax error: unexpected token, expecting , or }");
		const char *mat = s->p;
		char *name = ident(s);
		if (name == NULL)
			return fail(s, s->p, "syntax error: unexpected %s, expecting IDENTIFIER",
				    *s->p ? "token" : "end of input");
		int o = op(s, 0);
		if (o < 0) {
			free(name);
			return fail(s, s->p,
				    "syntax error: unexpected token, expecting = or != or "
				    "=~ or !~");
		}
		char *v = string(s);
		if (v == NULL) {
			free(name);
			return OW_ERROR;
		}
		sel->m = ow_realloc(sel->m, (size_t)(sel->nm + 1) * sizeof(*sel->m));
		lq_matcher_t *m = &sel->m[sel->nm++];
		*m = (lq_matcher_t){.name = name, .value = v, .op = o};
		if (compile(s, mat, m, 1) != OW_OK)
			return OW_ERROR;
		if ((o == LQ_EQ && *v) || (o == LQ_RE && regexec(&m->re, "", 0, NULL, 0) != 0))
			nonempty = 1;
	}
	if (!nonempty)
		return fail(
		    s, at,
		    "queries require at least one regexp or equality matcher that does not "
		    "have an empty-compatible value. For instance, app=~\".*\" does not meet "
		    "this requirement, but app=~\".+\" will");
	return OW_OK;
}

static void filter_free(lq_filter_t *f)
{
	if (f == NULL)
		return;
	filter_free(f->l);
	filter_free(f->r);
	matcher_free(&f->m);
	free(f);
}

static lq_filter_t *filter_expr(ps_t *s, int depth, int level);

static lq_filter_t *filter_cmp(ps_t *s, int depth)
{
	ws(s);
	if (take(s, "(")) {
		if (depth > 32) {
			fail(s, s->p, "expression nested too deep");
			return NULL;
		}
		lq_filter_t *f = filter_expr(s, depth + 1, 0);
		if (f && !take(s, ")")) {
			filter_free(f);
			fail(s, s->p, "syntax error: unexpected token, expecting )");
			return NULL;
		}
		return f;
	}
	const char *at = s->p;
	char *name = ident(s);
	if (name == NULL) {
		fail(s, at, "syntax error: unexpected %s, expecting IDENTIFIER",
		     *s->p ? "token" : "end of input");
		return NULL;
	}
	lq_filter_t *f = ow_calloc(1, sizeof(*f));
	f->m.name = name;
	f->m.op = op(s, 1);
	if (f->m.op < 0) {
		f->m.op = LQ_EQ;
		filter_free(f);
		fail(s, s->p, "syntax error: unexpected token, expecting a comparison");
		return NULL;
	}
	ws(s);
	if (*s->p == '"' || *s->p == '`') {
		if (f->m.op >= LQ_GT) {
			filter_free(f);
			fail(s, s->p, "syntax error: unexpected STRING, expecting NUMBER");
			return NULL;
		}
		const char *vat = s->p;
		f->m.value = string(s);
		if (f->m.value == NULL || compile(s, vat, &f->m, 1) != OW_OK) {
			filter_free(f);
			return NULL;
		}
		return f;
	}
	const char *v = s->p;
	while (isalnum((unsigned char)*s->p) || *s->p == '.' || *s->p == '-' || *s->p == '+')
		s->p++;
	char num[64];
	size_t n = OW_MIN((size_t)(s->p - v), sizeof(num) - 1);
	memcpy(num, v, n);
	num[n] = '\0';
	char *end;
	errno = 0;
	double d = strtod(num, &end);
	int64_t ns;
	if (n && *end == '\0' && errno == 0)
		f->num = d;
	else if (n && ow_parse_duration(num, &ns) == OW_OK)
		f->num = (double)ns / 1e9;
	else {
		f->m.op = f->m.op == LQ_RE || f->m.op == LQ_NRE ? LQ_EQ : f->m.op;
		filter_free(f);
		fail(s, v, "syntax error: unexpected %s, expecting STRING or NUMBER",
		     n ? "IDENTIFIER" : "token");
		return NULL;
	}
	if (f->m.op == LQ_RE || f->m.op == LQ_NRE) {
		f->m.op = LQ_EQ;
		filter_free(f);
		fail(s, v, "syntax error: unexpected NUMBER, expecting STRING");
		return NULL;
	}
	f->numeric = 1;
	return f;
}

/* level 0: a or b ...; level 1: a and b, a, b ...; level 2: a comparison
 * or a parenthesis. */
static lq_filter_t *filter_expr(ps_t *s, int depth, int level)
{
	if (level == 2)
		return filter_cmp(s, depth);
	lq_filter_t *f = filter_expr(s, depth, level + 1);
	for (;;) {
		int comma = level == 1 && peek(s, ",");
		if (f == NULL || !(comma || word_is(s, level ? "and" : "or")))
			return f;
		s->p += comma ? 1 : level ? 3 : 2;
		lq_filter_t *r = filter_expr(s, depth, level + 1);
		if (r == NULL) {
			filter_free(f);
			return NULL;
		}
		lq_filter_t *j = ow_calloc(1, sizeof(*j));
		j->kind = level ? 1 : 2;
		j->l = f;
		j->r = r;
		f = j;
	}
}

/* line_format's template: text, {{.name}} and {{__line__}}. */
static int check_template(ps_t *s, const char *at, const char *t)
{
	for (const char *c = strstr(t, "{{"); c; c = strstr(c, "{{")) {
		const char *e = strstr(c, "}}");
		if (e == NULL)
			return fail(s, at, "template: unclosed action");
		const char *x = c + 2;
		while (*x == ' ')
			x++;
		int ok = *x == '.' || strncmp(x, "__line__", 8) == 0;
		x += *x == '.' ? 1 : 8;
		while (ok && (isalnum((unsigned char)*x) || *x == '_'))
			x++;
		while (*x == ' ')
			x++;
		if (!ok || x != e)
			return fail(s, at,
				    "template: only {{.label}} and {{__line__}} are supported");
		c = e + 2;
	}
	return OW_OK;
}

static int pipeline(ps_t *s, lq_selector_t *sel)
{
	for (;;) {
		ws(s);
		const char *at = s->p;
		lq_stage_t st = {0};
		static const struct {
			const char *t;
			int op;
		} lf[] = {{"|=", LQ_EQ}, {"!=", LQ_NE}, {"|~", LQ_RE}, {"!~", LQ_NRE}};
		int line = -1;
		for (size_t i = 0; i < OW_NELEMS(lf) && line < 0; i++)
			if (strncmp(s->p, lf[i].t, 2) == 0)
				line = lf[i].op;
		if (line >= 0) {
			s->p += 2;
			st.kind = ST_LINE;
			st.m.op = line;
			ws(s);
			const char *vat = s->p;
			if ((st.m.value = string(s)) == NULL ||
			    compile(s, vat, &st.m, 0) != OW_OK) {
				free(st.m.value);
				return OW_ERROR;
			}
		} else if (*s->p == '|') {
			s->p++;
			if (word_is(s, "json")) {
				s->p += 4;
				st.kind = ST_JSON;
			} else if (word_is(s, "logfmt")) {
				s->p += 6;
				st.kind = ST_LOGFMT;
			} else if (word_is(s, "line_format")) {
				s->p += 11;
				st.kind = ST_FORMAT;
				const char *tat = s->p;
				if ((st.tmpl = string(s)) == NULL ||
				    check_template(s, tat, st.tmpl) != OW_OK) {
					free(st.tmpl);
					return OW_ERROR;
				}
			} else if (word_is(s, "drop")) {
				s->p += 4;
				st.kind = ST_DROP;
				do {
					char *n = ident(s);
					if (n == NULL) {
						for (int i = 0; i < st.nnames; i++)
							free(st.names[i]);
						free(st.names);
						return fail(s, s->p,
							    "syntax error: unexpected token, "
							    "expecting IDENTIFIER");
					}
					st.names = ow_realloc(st.names, (size_t)(st.nnames + 1) *
									    sizeof(char *));
					st.names[st.nnames++] = n;
				} while (take(s, ","));
			} else {
				static const char *const unsupported[] = {
				    "unwrap", "regexp",	    "pattern", "label_format",
				    "unpack", "decolorize", "keep",    "distinct"};
				for (size_t i = 0; i < OW_NELEMS(unsupported); i++)
					if (word_is(s, unsupported[i]))
						return fail(s, s->p, "not supported here: | %s",
							    unsupported[i]);
				st.kind = ST_LABEL;
				if ((st.f = filter_expr(s, 0, 0)) == NULL)
					return OW_ERROR;
			}
		} else {
			OW_UNUSED(at);
			return OW_OK;
		}
		sel->st = ow_realloc(sel->st, (size_t)(sel->nst + 1) * sizeof(*sel->st));
		sel->st[sel->nst++] = st;
	}
}

static void selector_free(lq_selector_t *sel)
{
	for (int i = 0; i < sel->nm; i++)
		matcher_free(&sel->m[i]);
	free(sel->m);
	for (int i = 0; i < sel->nst; i++) {
		lq_stage_t *st = &sel->st[i];
		matcher_free(&st->m);
		filter_free(st->f);
		free(st->tmpl);
		for (int k = 0; k < st->nnames; k++)
			free(st->names[k]);
		free(st->names);
	}
	free(sel->st);
}

void lq_free(lq_expr_t *e)
{
	if (e == NULL)
		return;
	selector_free(&e->sel);
	for (int i = 0; i < e->nby; i++)
		free(e->by[i]);
	free(e->by);
	lq_free(e->a);
	lq_free(e->b);
	free(e);
}

static int grouping(ps_t *s, lq_expr_t *e)
{
	if (!word_is(s, "by") && !word_is(s, "without"))
		return OW_OK;
	e->without = word_is(s, "without");
	s->p += e->without ? 7 : 2;
	if (!take(s, "("))
		return fail(s, s->p, "syntax error: unexpected token, expecting (");
	while (!take(s, ")")) {
		if (e->nby && !take(s, ","))
			return fail(s, s->p, "syntax error: unexpected token, expecting , or )");
		char *n = ident(s);
		if (n == NULL)
			return fail(s, s->p,
				    "syntax error: unexpected token, expecting IDENTIFIER");
		e->by = ow_realloc(e->by, (size_t)(e->nby + 1) * sizeof(char *));
		e->by[e->nby++] = n;
	}
	return OW_OK;
}

static lq_expr_t *expr_add(ps_t *s, int depth);

static lq_expr_t *primary(ps_t *s, int depth)
{
	ws(s);
	const char *at = s->p;
	if (depth > 32) {
		fail(s, at, "expression nested too deep");
		return NULL;
	}
	lq_expr_t *e = ow_calloc(1, sizeof(*e));
	static const char *const ranges[] = {"count_over_time", "rate", "bytes_over_time",
					     "bytes_rate"};
	static const char *const aggs[] = {"sum", "count", "avg", "min", "max"};
	if (*s->p == '{') {
		e->kind = E_LOGS;
		if (selector(s, &e->sel) != OW_OK || pipeline(s, &e->sel) != OW_OK)
			goto bad;
		return e;
	}
	if (isdigit((unsigned char)*s->p) || (*s->p == '.' && isdigit((unsigned char)s->p[1]))) {
		char *end;
		e->kind = E_NUM;
		e->num = strtod(s->p, &end);
		s->p = end;
		return e;
	}
	if (take(s, "(")) {
		lq_free(e);
		e = expr_add(s, depth + 1);
		if (e && !take(s, ")")) {
			fail(s, s->p, "syntax error: unexpected token, expecting )");
			goto bad;
		}
		return e;
	}
	if (word_is(s, "vector")) {
		s->p += 6;
		char *end;
		if (!take(s, "("))
			goto expect_paren;
		ws(s);
		e->kind = E_NUM;
		e->num = strtod(s->p, &end);
		if (end == s->p) {
			fail(s, s->p, "syntax error: unexpected token, expecting NUMBER");
			goto bad;
		}
		s->p = end;
		if (!take(s, ")")) {
			fail(s, s->p, "syntax error: unexpected token, expecting )");
			goto bad;
		}
		return e;
	}
	for (size_t i = 0; i < OW_NELEMS(ranges); i++) {
		if (!word_is(s, ranges[i]))
			continue;
		s->p += strlen(ranges[i]);
		e->kind = E_RANGE;
		e->fn = (int)i;
		if (!take(s, "("))
			goto expect_paren;
		if (selector(s, &e->sel) != OW_OK || pipeline(s, &e->sel) != OW_OK)
			goto bad;
		if (!take(s, "[")) {
			fail(s, s->p, "syntax error: unexpected %s, expecting [",
			     *s->p ? "token" : "end of input");
			goto bad;
		}
		ws(s);
		const char *d = s->p;
		while (*s->p && *s->p != ']')
			s->p++;
		char dur[64];
		size_t n = OW_MIN((size_t)(s->p - d), sizeof(dur) - 1);
		memcpy(dur, d, n);
		dur[n] = '\0';
		while (n && dur[n - 1] == ' ')
			dur[--n] = '\0';
		if (*s->p != ']' || ow_parse_duration(dur, &e->range) != OW_OK || e->range <= 0) {
			fail(s, d, "syntax error: invalid range duration");
			goto bad;
		}
		s->p++;
		if (!take(s, ")")) {
			fail(s, s->p, "syntax error: unexpected token, expecting )");
			goto bad;
		}
		return e;
	}
	for (size_t i = 0; i < OW_NELEMS(aggs); i++) {
		if (!word_is(s, aggs[i]))
			continue;
		s->p += strlen(aggs[i]);
		e->kind = E_AGG;
		e->fn = (int)i;
		if (grouping(s, e) != OW_OK)
			goto bad;
		if (!take(s, "("))
			goto expect_paren;
		if ((e->a = expr_add(s, depth + 1)) == NULL)
			goto bad;
		if (!take(s, ")")) {
			fail(s, s->p, "syntax error: unexpected token, expecting )");
			goto bad;
		}
		if (e->nby == 0 && grouping(s, e) != OW_OK)
			goto bad;
		if (e->a->kind == E_LOGS) {
			fail(s, at,
			     "syntax error: a log query cannot be aggregated; use a range "
			     "aggregation such as count_over_time");
			goto bad;
		}
		return e;
	}
	fail(s, at, "syntax error: unexpected %s", *s->p ? "IDENTIFIER" : "end of input");
	goto bad;
expect_paren:
	fail(s, s->p, "syntax error: unexpected token, expecting (");
bad:
	lq_free(e);
	return NULL;
}

static lq_expr_t *binary(ps_t *s, int depth, const char *ops, lq_expr_t *(*next)(ps_t *, int))
{
	lq_expr_t *e = next(s, depth);
	while (e) {
		ws(s);
		if (*s->p == '\0' || !strchr(ops, *s->p))
			break;
		const char *at = s->p;
		int o = *s->p++;
		lq_expr_t *r = next(s, depth);
		if (r == NULL) {
			lq_free(e);
			return NULL;
		}
		if (e->kind == E_LOGS || r->kind == E_LOGS) {
			lq_free(e);
			lq_free(r);
			fail(s, at, "syntax error: unexpected %c: log queries take no arithmetic",
			     o);
			return NULL;
		}
		lq_expr_t *b = ow_calloc(1, sizeof(*b));
		b->kind = E_BIN;
		b->fn = o;
		b->a = e;
		b->b = r;
		e = b;
	}
	return e;
}

static lq_expr_t *expr_mul(ps_t *s, int depth)
{
	return binary(s, depth, "*/", primary);
}

static lq_expr_t *expr_add(ps_t *s, int depth)
{
	return binary(s, depth, "+-", expr_mul);
}

int lq_parse(const char *q, lq_expr_t **out, char *err, size_t errlen)
{
	ps_t s = {q, q, err, errlen, 0};
	lq_expr_t *e = expr_add(&s, 0);
	if (e) {
		ws(&s);
		if (*s.p) {
			fail(&s, s.p, "syntax error: unexpected %s", *s.p == '|' ? "|" : "token");
			lq_free(e);
			e = NULL;
		}
	}
	if (e == NULL && !s.failed)
		fail(&s, s.p, "syntax error");
	*out = e;
	return e ? OW_OK : OW_ERROR;
}

/* ---- evaluation ---- */

static int matches(const lq_matcher_t *m, const char *v)
{
	switch (m->op) {
	case LQ_EQ:
		return strcmp(v, m->value) == 0;
	case LQ_NE:
		return strcmp(v, m->value) != 0;
	case LQ_RE:
		return regexec(&m->re, v, 0, NULL, 0) == 0;
	default:
		return regexec(&m->re, v, 0, NULL, 0) != 0;
	}
}

int lq_match(const lq_matcher_t *m, int nm, const lq_labels_t *l)
{
	for (int i = 0; i < nm; i++) {
		const char *v = lq_labels_get(l, m[i].name);
		if (!matches(&m[i], v ? v : ""))
			return 0;
	}
	return 1;
}

static int filter_holds(const lq_filter_t *f, const lq_labels_t *l)
{
	if (f->kind == 1)
		return filter_holds(f->l, l) && filter_holds(f->r, l);
	if (f->kind == 2)
		return filter_holds(f->l, l) || filter_holds(f->r, l);
	const char *v = lq_labels_get(l, f->m.name);
	if (!f->numeric)
		return matches(&f->m, v ? v : "");
	if (v == NULL || *v == '\0')
		return 0;
	char *end;
	double x = strtod(v, &end);
	int64_t ns;
	if (*end) {
		if (ow_parse_duration(v, &ns) != OW_OK)
			return 0;
		x = (double)ns / 1e9;
	}
	switch (f->m.op) {
	case LQ_EQ:
		return x == f->num;
	case LQ_NE:
		return x != f->num;
	case LQ_GT:
		return x > f->num;
	case LQ_GE:
		return x >= f->num;
	case LQ_LT:
		return x < f->num;
	default:
		return x <= f->num;
	}
}

/* A parsed key as a label name: [A-Za-z0-9_], not starting with a digit;
 * _extracted after a name the entry has already. */
static void add_parsed(lq_labels_t *l, const lq_labels_t *before, const char *key, size_t klen,
		       const char *v, size_t vlen)
{
	char name[256];
	size_t n = 0;
	if (klen && isdigit((unsigned char)key[0]))
		name[n++] = '_';
	for (size_t i = 0; i < klen && n < sizeof(name) - 12; i++)
		name[n++] = isalnum((unsigned char)key[i]) ? key[i] : '_';
	name[n] = '\0';
	if (n == 0)
		return;
	if (lq_labels_get(before, name))
		strcat(name, "_extracted");
	lq_labels_set(l, name, v, vlen);
}

static void flatten(lq_labels_t *l, const lq_labels_t *before, const cJSON *o, ow_buf_t *prefix)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, o)
	{
		size_t mark = prefix->len;
		if (mark)
			ow_buf_add(prefix, "_", 1);
		ow_buf_addstr(prefix, c->string ? c->string : "");
		if (cJSON_IsObject(c)) {
			flatten(l, before, c, prefix);
		} else if (!cJSON_IsArray(c) && !cJSON_IsNull(c)) {
			char num[40];
			const char *v = num;
			if (cJSON_IsString(c))
				v = c->valuestring;
			else if (cJSON_IsBool(c))
				v = cJSON_IsTrue(c) ? "true" : "false";
			else if (c->valuedouble == floor(c->valuedouble) &&
				 fabs(c->valuedouble) < 1e15)
				snprintf(num, sizeof(num), "%lld", (long long)c->valuedouble);
			else
				ow_dtoa(c->valuedouble, num, sizeof(num));
			add_parsed(l, before, (const char *)prefix->data, prefix->len, v,
				   strlen(v));
		}
		prefix->len = mark;
	}
}

static int parse_json(const char *line, size_t len, lq_labels_t *l)
{
	cJSON *j = cJSON_ParseWithLength(line, len);
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return OW_ERROR;
	}
	lq_labels_t before = {0};
	lq_labels_copy(&before, l);
	ow_buf_t prefix = {0};
	flatten(l, &before, j, &prefix);
	ow_buf_free(&prefix);
	lq_labels_free(&before);
	cJSON_Delete(j);
	return OW_OK;
}

static int parse_logfmt(const char *p, size_t len, lq_labels_t *l)
{
	const char *e = p + len;
	lq_labels_t before = {0};
	lq_labels_copy(&before, l);
	ow_buf_t v = {0};
	int rc = OW_OK;
	while (p < e) {
		while (p < e && *p == ' ')
			p++;
		const char *k = p;
		while (p < e && *p != '=' && *p != ' ')
			p++;
		size_t klen = (size_t)(p - k);
		v.len = 0;
		if (p < e && *p == '=') {
			p++;
			if (p < e && *p == '"') {
				p++;
				while (p < e && *p != '"') {
					if (*p == '\\' && p + 1 < e)
						p++;
					ow_buf_add(&v, p++, 1);
				}
				if (p >= e) {
					rc = OW_ERROR;
					break;
				}
				p++;
			} else {
				const char *b = p;
				while (p < e && *p != ' ')
					p++;
				ow_buf_add(&v, b, (size_t)(p - b));
			}
		}
		if (klen)
			add_parsed(l, &before, k, klen, v.len ? (const char *)v.data : "", v.len);
	}
	ow_buf_free(&v);
	lq_labels_free(&before);
	return rc;
}

static void format_line(const char *tmpl, ow_buf_t *line, const lq_labels_t *l)
{
	ow_buf_t out = {0};
	for (const char *c = tmpl; *c;) {
		if (c[0] == '{' && c[1] == '{') {
			const char *e = strstr(c, "}}");
			const char *x = c + 2;
			while (*x == ' ')
				x++;
			if (*x == '.') {
				const char *n = ++x;
				while (isalnum((unsigned char)*x) || *x == '_')
					x++;
				char name[256];
				size_t len = OW_MIN((size_t)(x - n), sizeof(name) - 1);
				memcpy(name, n, len);
				name[len] = '\0';
				const char *v = lq_labels_get(l, name);
				if (v)
					ow_buf_addstr(&out, v);
			} else {
				ow_buf_add(&out, line->data, line->len);
			}
			c = e + 2;
			continue;
		}
		ow_buf_add(&out, c++, 1);
	}
	ow_buf_free(line);
	*line = out;
}

int lq_first_stages(const lq_selector_t *s)
{
	int n = 0;
	while (n < s->nst && s->st[n].kind == ST_LINE)
		n++;
	return n;
}

int lq_pipeline(const lq_selector_t *s, int from, ow_buf_t *line, lq_labels_t *l)
{
	for (int i = from; i < s->nst; i++) {
		const lq_stage_t *st = &s->st[i];
		switch (st->kind) {
		case ST_LINE: {
			ow_buf_add(line, "", 1); /* NUL-terminated for the matchers */
			line->len--;
			const char *t = (const char *)line->data;
			int has = st->m.op == LQ_EQ || st->m.op == LQ_NE
				      ? strstr(t, st->m.value) != NULL
				      : regexec(&st->m.re, t, 0, NULL, 0) == 0;
			if (has != (st->m.op == LQ_EQ || st->m.op == LQ_RE))
				return 0;
			break;
		}
		case ST_JSON:
			if (parse_json((const char *)line->data, line->len, l) != OW_OK)
				lq_labels_set(l, "__error__", "JSONParserErr", 13);
			break;
		case ST_LOGFMT:
			if (parse_logfmt((const char *)line->data, line->len, l) != OW_OK)
				lq_labels_set(l, "__error__", "LogfmtParserErr", 15);
			break;
		case ST_LABEL:
			if (!filter_holds(st->f, l))
				return 0;
			break;
		case ST_FORMAT:
			format_line(st->tmpl, line, l);
			break;
		case ST_DROP:
			for (int k = 0; k < st->nnames; k++)
				lq_labels_del(l, st->names[k]);
			break;
		}
	}
	return 1;
}

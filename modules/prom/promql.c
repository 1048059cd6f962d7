/*
 * promql.c - see promql.h. The lexer and a recursive descent parser with
 * Prometheus' precedence (or < and unless < comparisons < + - < * / %
 * atan2 < unary < ^, ^ right associative), its modifiers (bool, on,
 * ignoring, group_left, group_right, by, without, offset) and its type
 * checks; then the evaluator, one step at a time, but for a range
 * query's range functions of range selectors (not under a subquery):
 * those are made for every step before the first, in one pass a series
 * with the window's two ends moving forward, and an aggregation over one
 * groups each series once (pre_t).
 *
 * Rules:
 *  - Every error of the query text names its line and column; the parser
 *    refuses nesting deeper than MAX_DEPTH and text longer than MAX_QUERY
 *    (a stack must not depend on what a client sends).
 *  - A step's values live in an arena freed after the step: label sets of
 *    selected series are the fetched series' own, derived ones (a dropped
 *    __name__, a group's labels, label_replace's) are made in the arena.
 *    The answer's series copy theirs once, when they first appear. A
 *    range function's table (pre_t) lives for the evaluation and is
 *    counted with the fetched samples; past half of max_bytes (PRE_MAX
 *    without one) it is not made and the function goes step by step.
 *  - The evaluation's memory (fetched samples, the arena, the answer) is
 *    counted against max_bytes and its clock against deadline_ns: past
 *    either it stops with Prometheus' "execution" or "timeout" error.
 *  - A subquery evaluates its expression at every step-aligned time of its
 *    range, at each step of the query (nothing is shared between steps).
 *  - Not supported (a parse error says so): the @ modifier; native
 *    histograms are not read.
 */
#include "promql.h"
#include "../search/search.h"

#include <ctype.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <time.h>

#define MAX_DEPTH 128
#define MAX_QUERY (64 * 1024)
#define LOOKBACK_MS (5 * 60 * 1000)
/* the most a range function's table takes without a memory budget */
#define PRE_MAX ((int64_t)256 << 20)

int ow_pq_is_stale(double v)
{
	uint64_t b;
	memcpy(&b, &v, 8);
	return b == OW_PQ_STALE_BITS;
}

double ow_pq_stale(void)
{
	uint64_t b = OW_PQ_STALE_BITS;
	double v;
	memcpy(&v, &b, 8);
	return v;
}

/* ---- labels ---- */

const char *ow_pq_label_get(const ow_pq_labels_t *ls, const char *name)
{
	for (int i = 0; i < ls->n; i++)
		if (strcmp(ls->l[i].name, name) == 0)
			return ls->l[i].value;
	return "";
}

void ow_pq_label_set(ow_pq_labels_t *ls, const char *name, const char *value)
{
	ls->hash = 0;
	int i = 0;
	while (i < ls->n && strcmp(ls->l[i].name, name) < 0)
		i++;
	int have = i < ls->n && strcmp(ls->l[i].name, name) == 0;
	if (have) {
		free(ls->l[i].value);
		if (*value) {
			ls->l[i].value = ow_strdup(value);
			return;
		}
		free(ls->l[i].name);
		memmove(&ls->l[i], &ls->l[i + 1], (size_t)(ls->n - i - 1) * sizeof(ls->l[0]));
		ls->n--;
		return;
	}
	if (!*value)
		return;
	ls->l = ow_realloc(ls->l, (size_t)(ls->n + 1) * sizeof(ls->l[0]));
	memmove(&ls->l[i + 1], &ls->l[i], (size_t)(ls->n - i) * sizeof(ls->l[0]));
	ls->l[i].name = ow_strdup(name);
	ls->l[i].value = ow_strdup(value);
	ls->n++;
}

void ow_pq_labels_free(ow_pq_labels_t *ls)
{
	for (int i = 0; i < ls->n; i++) {
		free(ls->l[i].name);
		free(ls->l[i].value);
	}
	free(ls->l);
	ls->l = NULL;
	ls->n = 0;
	ls->hash = 0;
}

void ow_pq_series_add(ow_pq_series_t *s, int64_t t, double v)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->pts = ow_realloc(s->pts, s->cap * sizeof(s->pts[0]));
	}
	s->pts[s->n++] = (ow_pq_point_t){t, v};
}

int ow_pq_match(const ow_pq_matcher_t *m, const char *value)
{
	switch (m->op) {
	case OW_PQ_EQ:
		return strcmp(value, m->value) == 0;
	case OW_PQ_NEQ:
		return strcmp(value, m->value) != 0;
	case OW_PQ_RE:
		return regexec(m->re, value, 0, NULL, 0) == 0;
	default:
		return regexec(m->re, value, 0, NULL, 0) != 0;
	}
}

int ow_pq_match_all(const ow_pq_matcher_t *m, int nm, const ow_pq_labels_t *ls)
{
	for (int i = 0; i < nm; i++)
		if (!ow_pq_match(&m[i], ow_pq_label_get(ls, m[i].name)))
			return 0;
	return 1;
}

int ow_pq_labels_cmp(const ow_pq_labels_t *a, const ow_pq_labels_t *b)
{
	if (a == b)
		return 0;
	for (int i = 0; i < a->n && i < b->n; i++) {
		int c = strcmp(a->l[i].name, b->l[i].name);
		if (c == 0)
			c = strcmp(a->l[i].value, b->l[i].value);
		if (c)
			return c;
	}
	return a->n - b->n;
}

uint64_t ow_pq_labels_hash(const ow_pq_labels_t *ls)
{
	if (ls->hash)
		return ls->hash;
	uint64_t h = 1469598103934665603ULL;
	for (int i = 0; i < ls->n; i++) {
		for (const char *p = ls->l[i].name; *p; p++)
			h = (h ^ (uint8_t)*p) * 1099511628211ULL;
		h = (h ^ 0xff) * 1099511628211ULL;
		for (const char *p = ls->l[i].value; *p; p++)
			h = (h ^ (uint8_t)*p) * 1099511628211ULL;
		h = (h ^ 0xfe) * 1099511628211ULL;
	}
	h |= 1;
	if (ls->n) /* the empty set may be a shared constant */
		((ow_pq_labels_t *)ls)->hash = h;
	return h;
}

/* ---- output formats ---- */

void ow_pq_json_string(ow_buf_t *b, const char *s)
{
	ow_buf_add(b, "\"", 1);
	for (const uint8_t *p = (const uint8_t *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			ow_buf_add(b, "\\", 1);
			ow_buf_add(b, p, 1);
		} else if (*p < 0x20) {
			ow_buf_printf(b, "\\u%04x", *p);
		} else {
			ow_buf_add(b, p, 1);
		}
	}
	ow_buf_add(b, "\"", 1);
}

void ow_pq_format_value(ow_buf_t *b, double v)
{
	if (isnan(v)) {
		ow_buf_addstr(b, "NaN");
		return;
	}
	if (isinf(v)) {
		ow_buf_addstr(b, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	if (v == 0) {
		ow_buf_addstr(b, signbit(v) ? "-0" : "0");
		return;
	}
	/* the shortest digits that read back the same, laid out without an
	 * exponent (Go's strconv.FormatFloat(v, 'f', -1, 64)) */
	char e[40];
	/* from 15 digits: a double's 15 are always its own, and a shorter
	 * form that reads back is those 15 with trailing zeros */
	for (int p = 14; p < 17; p++) {
		snprintf(e, sizeof(e), "%.*e", p, v);
		if (strtod(e, NULL) == v)
			break;
	}
	char digits[24];
	int nd = 0, neg = e[0] == '-';
	const char *c = e + neg;
	for (; *c && *c != 'e'; c++)
		if (isdigit((unsigned char)*c))
			digits[nd++] = *c;
	int exp = atoi(c + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	if (neg)
		ow_buf_add(b, "-", 1);
	if (exp < 0) {
		ow_buf_addstr(b, "0.");
		for (int i = 0; i < -exp - 1; i++)
			ow_buf_add(b, "0", 1);
		ow_buf_add(b, digits, (size_t)nd);
		return;
	}
	for (int i = 0; i <= exp || i < nd; i++) {
		if (i == exp + 1)
			ow_buf_add(b, ".", 1);
		ow_buf_add(b, i < nd ? &digits[i] : "0", 1);
	}
}

void ow_pq_format_time(ow_buf_t *b, int64_t ms)
{
	int64_t s = ms / 1000, f = ms % 1000;
	if (f < 0) {
		f += 1000;
		s--;
	}
	if (f == 0) {
		ow_buf_add_i64(b, s);
		return;
	}
	char t[8];
	snprintf(t, sizeof(t), "%03d", (int)f);
	size_t n = 3;
	while (t[n - 1] == '0')
		n--;
	if (s == -1 && ms < 0) {
		/* -0.5 s: the integer part alone would lose the sign */
		ow_buf_printf(b, "%.3f", (double)ms / 1000);
		return;
	}
	ow_buf_add_i64(b, s);
	ow_buf_add(b, ".", 1);
	ow_buf_add(b, t, n);
}

int ow_pq_parse_duration(const char *s, size_t n, int64_t *ms)
{
	int64_t ns;
	if (ow_parse_duration_n(s, n, 1, &ns) != OW_OK)
		return OW_ERROR;
	*ms = ns / 1000000;
	return OW_OK;
}

/* ---- the lexer ---- */

enum {
	T_EOF,
	T_NUM,
	T_STR,
	T_ID,
	T_DUR,
	T_LPAREN,
	T_RPAREN,
	T_LBRACE,
	T_RBRACE,
	T_LBRACK,
	T_RBRACK,
	T_COMMA,
	T_COLON,
	T_AT,
	T_ASSIGN,
	T_EQLC,
	T_NEQ,
	T_RE,
	T_NRE,
	T_LT,
	T_GT,
	T_LE,
	T_GE,
	T_ADD,
	T_SUB,
	T_MUL,
	T_DIV,
	T_MOD,
	T_POW,
	/* binary keywords, as T_ID in the text */
	T_AND,
	T_OR,
	T_UNLESS,
	T_ATAN2
};

static const char *const tok_names[] = {
    "end of input", "number", "string", "identifier", "duration", "\"(\"", "\")\"",
    "\"{\"",	    "\"}\"",  "\"[\"",	"\"]\"",      "\",\"",	  "\":\"", "\"@\"",
    "\"=\"",	    "\"==\"", "\"!=\"", "\"=~\"",     "\"!~\"",	  "\"<\"", "\">\"",
    "\"<=\"",	    "\">=\"", "\"+\"",	"\"-\"",      "\"*\"",	  "\"/\"", "\"%\"",
    "\"^\"",	    "and",    "or",	"unless",     "atan2"};

typedef struct {
	int type;
	size_t pos, len; /* in the text */
	double num;
	int64_t dur;
	char *str; /* T_STR: unquoted, T_ID: the name (malloc'd) */
} tok_t;

typedef struct {
	const char *q;
	size_t n, pos;
	tok_t tok; /* the current one */
	char *err;
	size_t errlen;
	int failed, depth;
	int brackets; /* inside [...], where ':' is the subquery's colon */
} parser_t;

static void perr_at(parser_t *p, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void perr_at(parser_t *p, size_t pos, const char *fmt, ...)
{
	if (p->failed)
		return;
	p->failed = 1;
	int line = 1, col = 1;
	for (size_t i = 0; i < pos && i < p->n; i++) {
		if (p->q[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%d:%d: parse error: %s", line, col, msg);
}

static int is_id_start(int c)
{
	return isalpha(c) || c == '_' || c == ':';
}

static int is_id_char(int c)
{
	return isalnum(c) || c == '_' || c == ':';
}

/* A quoted string at p->pos into t (escapes as Go's strconv). */
static void lex_string(parser_t *p, tok_t *t)
{
	char quote = p->q[p->pos];
	size_t i = p->pos + 1;
	ow_buf_t b = {0};
	for (;;) {
		if (i >= p->n) {
			perr_at(p, p->pos, "unterminated quoted string %c", quote);
			ow_buf_free(&b);
			return;
		}
		char c = p->q[i];
		if (c == quote) {
			i++;
			break;
		}
		if (c == '\n' && quote != '`') {
			perr_at(p, p->pos, "unterminated quoted string %c", quote);
			ow_buf_free(&b);
			return;
		}
		if (c == '\\' && quote != '`') {
			if (i + 1 >= p->n) {
				perr_at(p, i, "unterminated quoted string %c", quote);
				ow_buf_free(&b);
				return;
			}
			char e = p->q[i + 1];
			const char *from = "abfnrtv\\'\"";
			const char *to = "\a\b\f\n\r\t\v\\'\"";
			const char *k = strchr(from, e);
			if (k && e) {
				ow_buf_add(&b, &to[k - from], 1);
				i += 2;
				continue;
			}
			if (e == 'x' || e == 'u' || e == 'U') {
				int nd = e == 'x' ? 2 : e == 'u' ? 4 : 8;
				uint32_t v = 0;
				if (i + 2 + (size_t)nd > p->n) {
					perr_at(p, i, "invalid escape sequence");
					ow_buf_free(&b);
					return;
				}
				for (int d = 0; d < nd; d++) {
					char h = p->q[i + 2 + (size_t)d];
					if (!isxdigit((unsigned char)h)) {
						perr_at(p, i, "invalid escape sequence");
						ow_buf_free(&b);
						return;
					}
					v = v * 16 + (uint32_t)(isdigit((unsigned char)h)
								    ? h - '0'
								    : (tolower(h) - 'a' + 10));
				}
				if (e == 'x') {
					uint8_t byte = (uint8_t)v;
					ow_buf_add(&b, &byte, 1);
				} else {
					ow_buf_add_utf8(&b, v);
				}
				i += 2 + (size_t)nd;
				continue;
			}
			perr_at(p, i, "unknown escape sequence %c", e);
			ow_buf_free(&b);
			return;
		}
		if (c == '\0') {
			perr_at(p, i, "NUL in a string");
			ow_buf_free(&b);
			return;
		}
		ow_buf_add(&b, &c, 1);
		i++;
	}
	ow_buf_add(&b, "", 1);
	t->type = T_STR;
	t->str = (char *)b.data;
	p->pos = i;
}

static void next(parser_t *p)
{
	free(p->tok.str);
	memset(&p->tok, 0, sizeof(p->tok));
	tok_t *t = &p->tok;
	for (;;) {
		while (p->pos < p->n && isspace((unsigned char)p->q[p->pos]))
			p->pos++;
		if (p->pos < p->n && p->q[p->pos] == '#') { /* a comment to the line's end */
			while (p->pos < p->n && p->q[p->pos] != '\n')
				p->pos++;
			continue;
		}
		break;
	}
	t->pos = p->pos;
	if (p->failed || p->pos >= p->n) {
		t->type = T_EOF;
		return;
	}
	const char *s = p->q + p->pos;
	int c = (unsigned char)s[0];
	static const struct {
		const char *text;
		int type;
	} ops[] = {{"==", T_EQLC},  {"!=", T_NEQ},   {"=~", T_RE},    {"!~", T_NRE},
		   {"<=", T_LE},    {">=", T_GE},    {"(", T_LPAREN}, {")", T_RPAREN},
		   {"{", T_LBRACE}, {"}", T_RBRACE}, {"[", T_LBRACK}, {"]", T_RBRACK},
		   {",", T_COMMA},  {":", T_COLON},  {"@", T_AT},     {"=", T_ASSIGN},
		   {"<", T_LT},	    {">", T_GT},     {"+", T_ADD},    {"-", T_SUB},
		   {"*", T_MUL},    {"/", T_DIV},    {"%", T_MOD},    {"^", T_POW}};
	if (c == '"' || c == '\'' || c == '`') {
		lex_string(p, t);
		t->len = p->pos - t->pos;
		return;
	}
	if (isdigit(c) || (c == '.' && p->pos + 1 < p->n && isdigit((unsigned char)s[1]))) {
		/* a duration: digits and units, nothing else */
		size_t e = 0;
		while (p->pos + e < p->n && isalnum((unsigned char)s[e]))
			e++;
		int64_t ms;
		if (isdigit(c) && ow_pq_parse_duration(s, e, &ms) == OW_OK) {
			t->type = T_DUR;
			t->dur = ms;
			t->len = e;
			p->pos += e;
			return;
		}
		char buf[128];
		size_t m = 0;
		while (p->pos + m < p->n && m < sizeof(buf) - 1 &&
		       (isalnum((unsigned char)s[m]) || s[m] == '.' ||
			((s[m] == '+' || s[m] == '-') && m > 0 &&
			 (s[m - 1] == 'e' || s[m - 1] == 'E') &&
			 !(s[0] == '0' && (s[1] | 32) == 'x'))))
			m++;
		memcpy(buf, s, m);
		buf[m] = '\0';
		char *end;
		double v = (buf[0] == '0' && (buf[1] | 32) == 'x') ? (double)strtoull(buf, &end, 16)
								   : strtod(buf, &end);
		if (*end || m == 0 || (buf[0] != '0' && (buf[1] | 32) == 'x')) {
			perr_at(p, p->pos, "bad number or duration syntax: \"%s\"", buf);
			t->type = T_EOF;
			return;
		}
		t->type = T_NUM;
		t->num = v;
		t->len = m;
		p->pos += m;
		return;
	}
	if (is_id_start(c) && !(c == ':' && p->brackets > 0)) {
		size_t e = 0;
		while (p->pos + e < p->n && is_id_char((unsigned char)s[e]))
			e++;
		t->type = T_ID;
		t->str = ow_alloc(e + 1);
		memcpy(t->str, s, e);
		t->str[e] = '\0';
		t->len = e;
		p->pos += e;
		static const char *const kw[] = {"and", "or", "unless", "atan2"};
		for (int k = 0; k < 4; k++)
			if (strcmp(t->str, kw[k]) == 0)
				t->type = T_AND + k;
		if (strcasecmp(t->str, "inf") == 0 || strcasecmp(t->str, "nan") == 0) {
			t->type = T_NUM;
			t->num = (t->str[0] | 32) == 'i' ? INFINITY : NAN;
		}
		return;
	}
	for (size_t k = 0; k < OW_NELEMS(ops); k++) {
		size_t l = strlen(ops[k].text);
		if (p->pos + l <= p->n && strncmp(s, ops[k].text, l) == 0) {
			t->type = ops[k].type;
			t->len = l;
			p->pos += l;
			p->brackets += t->type == T_LBRACK ? 1 : t->type == T_RBRACK ? -1 : 0;
			return;
		}
	}
	perr_at(p, p->pos, "unexpected character: '%c'", c);
	t->type = T_EOF;
}

/* ---- the tree ---- */

enum { VT_SCALAR, VT_VECTOR, VT_MATRIX, VT_STRING };
static const char *const vt_names[] = {"scalar", "instant vector", "range vector", "string"};

enum { N_NUM, N_STR, N_SEL, N_CALL, N_AGG, N_BIN, N_NEG, N_PAREN, N_SUB };

typedef struct func func_t;

struct ow_pq_expr {
	int kind, type;
	size_t pos;
	double num;
	char *str;
	/* N_SEL */
	ow_pq_matcher_t *m;
	int nm;
	int64_t range, offset; /* range 0: an instant selector; N_SUB's too */
	int64_t substep;       /* N_SUB: its step (0: a minute) */
	ow_pq_series_t *series;
	size_t nseries;
	uint8_t *stale; /* per series: it has a staleness marker */
	/* N_CALL, N_AGG */
	const func_t *fn;
	int op; /* N_AGG: the aggregation; N_BIN: the token */
	ow_pq_expr_t *args[16];
	int nargs;
	/* N_AGG (by/without) and N_BIN (on/ignoring, group_x(include)) */
	char **grp;
	int ngrp, without, has_grp;
	char **incl;
	int nincl;
	int card; /* N_BIN: 0 one to one, 1 group_left, 2 group_right */
	void *re; /* label_replace: its regex_t, compiled once */
	int ret_bool;
};

static void free_strs(char **s, int n)
{
	for (int i = 0; i < n; i++)
		free(s[i]);
	free(s);
}

void ow_pq_free(ow_pq_expr_t *e)
{
	if (e == NULL)
		return;
	free(e->str);
	for (int i = 0; i < e->nm; i++) {
		free(e->m[i].name);
		free(e->m[i].value);
		if (e->m[i].re) {
			regfree(e->m[i].re);
			free(e->m[i].re);
		}
	}
	free(e->m);
	for (size_t i = 0; i < e->nseries; i++) {
		ow_pq_labels_free(&e->series[i].labels);
		free(e->series[i].pts);
	}
	free(e->series);
	free(e->stale);
	if (e->re) {
		regfree(e->re);
		free(e->re);
	}
	for (int i = 0; i < e->nargs; i++)
		ow_pq_free(e->args[i]);
	free_strs(e->grp, e->ngrp);
	free_strs(e->incl, e->nincl);
	free(e);
}

const ow_pq_matcher_t *ow_pq_selector(const ow_pq_expr_t *e, int *nm)
{
	while (e && e->kind == N_PAREN)
		e = e->args[0];
	if (e == NULL || e->kind != N_SEL || e->range)
		return NULL;
	*nm = e->nm;
	return e->m;
}

static ow_pq_expr_t *node(int kind, size_t pos)
{
	ow_pq_expr_t *e = ow_calloc(1, sizeof(*e));
	e->kind = kind;
	e->pos = pos;
	return e;
}

/* ---- functions ---- */

enum {
	F_RATE,
	F_IRATE,
	F_INCREASE,
	F_DELTA,
	F_IDELTA,
	F_AVG_OT,
	F_MIN_OT,
	F_MAX_OT,
	F_SUM_OT,
	F_COUNT_OT,
	F_LAST_OT,
	F_PRESENT_OT,
	F_STDDEV_OT,
	F_STDVAR_OT,
	F_QUANTILE_OT,
	F_CHANGES,
	F_RESETS,
	F_DERIV,
	F_PREDICT_LINEAR,
	F_ABSENT_OT,
	F_ABS,
	F_CEIL,
	F_FLOOR,
	F_EXP,
	F_LN,
	F_LOG2,
	F_LOG10,
	F_SQRT,
	F_SGN,
	F_ROUND,
	F_CLAMP,
	F_CLAMP_MIN,
	F_CLAMP_MAX,
	F_TIMESTAMP,
	F_LABEL_REPLACE,
	F_LABEL_JOIN,
	F_HISTOGRAM_QUANTILE,
	F_SORT,
	F_SORT_DESC,
	F_ABSENT,
	F_SCALAR,
	F_VECTOR,
	F_TIME,
	F_MINUTE,
	F_HOUR,
	F_DAY_OF_MONTH,
	F_DAY_OF_WEEK,
	F_DAY_OF_YEAR,
	F_DAYS_IN_MONTH,
	F_MONTH,
	F_YEAR
};

struct func {
	const char *name;
	int id;
	int ret;
	const char *args; /* per argument: s scalar, v vector, m matrix, t string */
	int optional;	  /* how many trailing ones may be left out */
};

static const func_t funcs[] = {
    {"rate", F_RATE, VT_VECTOR, "m", 0},
    {"irate", F_IRATE, VT_VECTOR, "m", 0},
    {"increase", F_INCREASE, VT_VECTOR, "m", 0},
    {"delta", F_DELTA, VT_VECTOR, "m", 0},
    {"idelta", F_IDELTA, VT_VECTOR, "m", 0},
    {"avg_over_time", F_AVG_OT, VT_VECTOR, "m", 0},
    {"min_over_time", F_MIN_OT, VT_VECTOR, "m", 0},
    {"max_over_time", F_MAX_OT, VT_VECTOR, "m", 0},
    {"sum_over_time", F_SUM_OT, VT_VECTOR, "m", 0},
    {"count_over_time", F_COUNT_OT, VT_VECTOR, "m", 0},
    {"last_over_time", F_LAST_OT, VT_VECTOR, "m", 0},
    {"present_over_time", F_PRESENT_OT, VT_VECTOR, "m", 0},
    {"stddev_over_time", F_STDDEV_OT, VT_VECTOR, "m", 0},
    {"stdvar_over_time", F_STDVAR_OT, VT_VECTOR, "m", 0},
    {"quantile_over_time", F_QUANTILE_OT, VT_VECTOR, "sm", 0},
    {"changes", F_CHANGES, VT_VECTOR, "m", 0},
    {"resets", F_RESETS, VT_VECTOR, "m", 0},
    {"deriv", F_DERIV, VT_VECTOR, "m", 0},
    {"predict_linear", F_PREDICT_LINEAR, VT_VECTOR, "ms", 0},
    {"absent_over_time", F_ABSENT_OT, VT_VECTOR, "m", 0},
    {"abs", F_ABS, VT_VECTOR, "v", 0},
    {"ceil", F_CEIL, VT_VECTOR, "v", 0},
    {"floor", F_FLOOR, VT_VECTOR, "v", 0},
    {"exp", F_EXP, VT_VECTOR, "v", 0},
    {"ln", F_LN, VT_VECTOR, "v", 0},
    {"log2", F_LOG2, VT_VECTOR, "v", 0},
    {"log10", F_LOG10, VT_VECTOR, "v", 0},
    {"sqrt", F_SQRT, VT_VECTOR, "v", 0},
    {"sgn", F_SGN, VT_VECTOR, "v", 0},
    {"round", F_ROUND, VT_VECTOR, "vs", 1},
    {"clamp", F_CLAMP, VT_VECTOR, "vss", 0},
    {"clamp_min", F_CLAMP_MIN, VT_VECTOR, "vs", 0},
    {"clamp_max", F_CLAMP_MAX, VT_VECTOR, "vs", 0},
    {"timestamp", F_TIMESTAMP, VT_VECTOR, "v", 0},
    {"label_replace", F_LABEL_REPLACE, VT_VECTOR, "vtttt", 0},
    {"label_join", F_LABEL_JOIN, VT_VECTOR, "vtttttttttttttt", 12},
    {"histogram_quantile", F_HISTOGRAM_QUANTILE, VT_VECTOR, "sv", 0},
    {"sort", F_SORT, VT_VECTOR, "v", 0},
    {"sort_desc", F_SORT_DESC, VT_VECTOR, "v", 0},
    {"absent", F_ABSENT, VT_VECTOR, "v", 0},
    {"scalar", F_SCALAR, VT_SCALAR, "v", 0},
    {"vector", F_VECTOR, VT_VECTOR, "s", 0},
    {"time", F_TIME, VT_SCALAR, "", 0},
    {"minute", F_MINUTE, VT_VECTOR, "v", 1},
    {"hour", F_HOUR, VT_VECTOR, "v", 1},
    {"day_of_month", F_DAY_OF_MONTH, VT_VECTOR, "v", 1},
    {"day_of_week", F_DAY_OF_WEEK, VT_VECTOR, "v", 1},
    {"day_of_year", F_DAY_OF_YEAR, VT_VECTOR, "v", 1},
    {"days_in_month", F_DAYS_IN_MONTH, VT_VECTOR, "v", 1},
    {"month", F_MONTH, VT_VECTOR, "v", 1},
    {"year", F_YEAR, VT_VECTOR, "v", 1},
};

enum {
	A_SUM,
	A_AVG,
	A_MIN,
	A_MAX,
	A_COUNT,
	A_GROUP,
	A_STDDEV,
	A_STDVAR,
	A_TOPK,
	A_BOTTOMK,
	A_QUANTILE,
	A_COUNT_VALUES
};
static const char *const aggs[] = {"sum",   "avg",     "min",	   "max",
				   "count", "group",   "stddev",   "stdvar",
				   "topk",  "bottomk", "quantile", "count_values"};

static const func_t *find_func(const char *name)
{
	for (size_t i = 0; i < OW_NELEMS(funcs); i++)
		if (strcmp(funcs[i].name, name) == 0)
			return &funcs[i];
	return NULL;
}

static int find_agg(const char *name)
{
	for (int i = 0; i < (int)OW_NELEMS(aggs); i++)
		if (strcmp(aggs[i], name) == 0)
			return i;
	return -1;
}

/* ---- the parser ---- */

static ow_pq_expr_t *parse_expr(parser_t *p, int prec);

static const char *tok_desc(parser_t *p, char *buf, size_t len)
{
	const tok_t *t = &p->tok;
	if (t->type == T_EOF)
		return "end of input";
	snprintf(buf, len, "%s \"%.*s\"", tok_names[t->type], (int)OW_MIN(t->len, 60),
		 p->q + t->pos);
	if (t->type == T_ID || t->type >= T_AND)
		snprintf(buf, len, "identifier \"%.*s\"", (int)OW_MIN(t->len, 60), p->q + t->pos);
	else if (t->type != T_NUM && t->type != T_STR && t->type != T_DUR)
		snprintf(buf, len, "%s", tok_names[t->type]);
	return buf;
}

static void unexpected(parser_t *p, const char *ctx)
{
	char b[128];
	if (ctx)
		perr_at(p, p->tok.pos, "unexpected %s in %s", tok_desc(p, b, sizeof(b)), ctx);
	else
		perr_at(p, p->tok.pos, "unexpected %s", tok_desc(p, b, sizeof(b)));
}

static int expect(parser_t *p, int type, const char *ctx)
{
	if (p->tok.type != type) {
		char b[128];
		perr_at(p, p->tok.pos, "unexpected %s in %s, expected %s",
			tok_desc(p, b, sizeof(b)), ctx, tok_names[type]);
		return OW_ERROR;
	}
	next(p);
	return OW_OK;
}

static int is_label_name(const char *s)
{
	if (!(isalpha((unsigned char)*s) || *s == '_'))
		return 0;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_'))
			return 0;
	return 1;
}

/* "(a, b, ...)" of label names into *out. */
static int parse_label_list(parser_t *p, char ***out, int *n, const char *ctx)
{
	if (expect(p, T_LPAREN, ctx) != OW_OK)
		return OW_ERROR;
	while (p->tok.type != T_RPAREN) {
		if ((p->tok.type != T_ID && p->tok.type < T_AND) || !is_label_name(p->tok.str)) {
			if (p->tok.type >= T_AND) { /* and, or, ... are label names here */
				char kw[8];
				snprintf(kw, sizeof(kw), "%s", tok_names[p->tok.type]);
				*out = ow_realloc(*out, (size_t)(*n + 1) * sizeof(char *));
				(*out)[(*n)++] = ow_strdup(kw);
				next(p);
				goto sep;
			}
			char b[128];
			perr_at(p, p->tok.pos, "unexpected %s in grouping opts, expected label",
				tok_desc(p, b, sizeof(b)));
			return OW_ERROR;
		}
		*out = ow_realloc(*out, (size_t)(*n + 1) * sizeof(char *));
		(*out)[(*n)++] = ow_strdup(p->tok.str);
		next(p);
	sep:
		if (p->tok.type == T_COMMA)
			next(p);
		else if (p->tok.type != T_RPAREN) {
			char b[128];
			perr_at(p, p->tok.pos,
				"unexpected %s in grouping opts, expected \")\" or \",\"",
				tok_desc(p, b, sizeof(b)));
			return OW_ERROR;
		}
	}
	next(p);
	return OW_OK;
}

/* re anchored at both ends, as Prometheus anchors its regular
 * expressions, compiled as the other query languages' are (RE2's
 * shorthands and (?i); the patterns that would take regcomp unbounded
 * memory refused): malloc'd, or NULL. */
static regex_t *anchored(const char *re, int how)
{
	regex_t *r = ow_alloc(sizeof(regex_t));
	char err[256];
	if (ow_search_regcomp(r, re, OW_SEARCH_RE_ANCHORED | how, err, sizeof(err)) != OW_OK) {
		free(r);
		return NULL;
	}
	return r;
}

static int add_matcher(parser_t *p, ow_pq_expr_t *e, const char *name, int op, const char *value,
		       size_t pos)
{
	e->m = ow_realloc(e->m, (size_t)(e->nm + 1) * sizeof(e->m[0]));
	ow_pq_matcher_t *m = &e->m[e->nm++];
	memset(m, 0, sizeof(*m));
	m->op = op;
	m->name = ow_strdup(name);
	m->value = ow_strdup(value);
	if ((op == OW_PQ_RE || op == OW_PQ_NRE) && (m->re = anchored(value, 0)) == NULL) {
		perr_at(p, pos, "invalid regular expression \"%s\"", value);
		return OW_ERROR;
	}
	return OW_OK;
}

/* The matchers of "{...}" into e. */
static int parse_matchers(parser_t *p, ow_pq_expr_t *e)
{
	next(p); /* { */
	while (p->tok.type != T_RBRACE) {
		if (p->tok.type != T_ID && p->tok.type < T_AND) {
			unexpected(p, "label matching");
			return OW_ERROR;
		}
		char name[256];
		snprintf(name, sizeof(name), "%.*s", (int)OW_MIN(p->tok.len, 255),
			 p->q + p->tok.pos);
		if (!is_label_name(name)) {
			perr_at(p, p->tok.pos, "invalid label name \"%s\"", name);
			return OW_ERROR;
		}
		next(p);
		int op = p->tok.type == T_ASSIGN ? OW_PQ_EQ
			 : p->tok.type == T_NEQ	 ? OW_PQ_NEQ
			 : p->tok.type == T_RE	 ? OW_PQ_RE
			 : p->tok.type == T_NRE	 ? OW_PQ_NRE
						 : -1;
		if (op < 0) {
			char b[128];
			perr_at(p, p->tok.pos,
				"unexpected %s in label matching, expected label matching operator",
				tok_desc(p, b, sizeof(b)));
			return OW_ERROR;
		}
		next(p);
		if (p->tok.type != T_STR) {
			char b[128];
			perr_at(p, p->tok.pos, "unexpected %s in label matching, expected string",
				tok_desc(p, b, sizeof(b)));
			return OW_ERROR;
		}
		if (add_matcher(p, e, name, op, p->tok.str, p->tok.pos) != OW_OK)
			return OW_ERROR;
		next(p);
		if (p->tok.type == T_COMMA)
			next(p);
		else if (p->tok.type != T_RBRACE) {
			char b[128];
			perr_at(p, p->tok.pos,
				"unexpected %s in label matching, expected \",\" or \"}\"",
				tok_desc(p, b, sizeof(b)));
			return OW_ERROR;
		}
	}
	next(p);
	return OW_OK;
}

static ow_pq_expr_t *fail(ow_pq_expr_t *e)
{
	ow_pq_free(e);
	return NULL;
}

/* A selector: a metric name and/or {matchers}. */
static ow_pq_expr_t *parse_selector(parser_t *p, const char *name, size_t pos)
{
	ow_pq_expr_t *e = node(N_SEL, pos);
	e->type = VT_VECTOR;
	if (name && add_matcher(p, e, "__name__", OW_PQ_EQ, name, pos) != OW_OK)
		return fail(e);
	if (p->tok.type == T_LBRACE && parse_matchers(p, e) != OW_OK)
		return fail(e);
	int has_name = 0, nonempty = 0;
	for (int i = 0; i < e->nm; i++) {
		has_name += strcmp(e->m[i].name, "__name__") == 0;
		nonempty |= !ow_pq_match(&e->m[i], "");
	}
	if (name && has_name > 1) {
		perr_at(p, pos, "metric name must not be set twice: \"%s\"", name);
		return fail(e);
	}
	if (!nonempty) {
		perr_at(p, pos, "vector selector must contain at least one non-empty matcher");
		return fail(e);
	}
	return e;
}

static int check_arg(parser_t *p, ow_pq_expr_t *a, int want, const char *fname)
{
	if (a->type == want)
		return OW_OK;
	perr_at(p, a->pos, "expected type %s in call to function \"%s\", got %s", vt_names[want],
		fname, vt_names[a->type]);
	return OW_ERROR;
}

static ow_pq_expr_t *parse_call(parser_t *p, const func_t *f, size_t pos)
{
	ow_pq_expr_t *e = node(N_CALL, pos);
	e->fn = f;
	e->type = f->ret;
	next(p); /* ( */
	int want = (int)strlen(f->args);
	while (p->tok.type != T_RPAREN) {
		if (e->nargs == want) {
			perr_at(p, pos, "expected at most %d argument(s) in call to \"%s\", got %d",
				want, f->name, e->nargs + 1);
			return fail(e);
		}
		ow_pq_expr_t *a = parse_expr(p, 0);
		if (a == NULL)
			return fail(e);
		e->args[e->nargs++] = a;
		static const int types[128] = {
		    ['s'] = VT_SCALAR, ['v'] = VT_VECTOR, ['m'] = VT_MATRIX, ['t'] = VT_STRING};
		if (check_arg(p, a, types[(int)f->args[e->nargs - 1]], f->name) != OW_OK)
			return fail(e);
		if (p->tok.type == T_COMMA)
			next(p);
		else if (p->tok.type != T_RPAREN) {
			char b[128];
			perr_at(p, p->tok.pos,
				"unexpected %s in call to function \"%s\", expected \",\" or \")\"",
				tok_desc(p, b, sizeof(b)), f->name);
			return fail(e);
		}
	}
	next(p);
	int min = (int)strlen(f->args) - f->optional;
	if (e->nargs < min) {
		perr_at(p, pos, "expected %d argument(s) in call to \"%s\", got %d", min, f->name,
			e->nargs);
		return fail(e);
	}
	if (f->id == F_LABEL_REPLACE || f->id == F_LABEL_JOIN) {
		if (!is_label_name(e->args[1]->str)) {
			perr_at(p, e->args[1]->pos, "invalid destination label name in %s(): %s",
				f->name, e->args[1]->str);
			return fail(e);
		}
	}
	if (f->id == F_LABEL_REPLACE &&
	    (e->re = anchored(e->args[4]->str, OW_SEARCH_RE_SUBMATCH)) == NULL) {
		perr_at(p, e->args[4]->pos, "invalid regular expression in label_replace(): %s",
			e->args[4]->str);
		return fail(e);
	}
	return e;
}

static ow_pq_expr_t *parse_agg(parser_t *p, int op, size_t pos)
{
	ow_pq_expr_t *e = node(N_AGG, pos);
	e->op = op;
	e->type = VT_VECTOR;
	int before = 0;
	if (p->tok.type == T_ID &&
	    (strcmp(p->tok.str, "by") == 0 || strcmp(p->tok.str, "without") == 0)) {
		e->without = strcmp(p->tok.str, "without") == 0;
		e->has_grp = before = 1;
		next(p);
		if (parse_label_list(p, &e->grp, &e->ngrp, "grouping opts") != OW_OK)
			return fail(e);
	}
	if (p->tok.type != T_LPAREN) {
		unexpected(p, "aggregation");
		return fail(e);
	}
	next(p);
	int param = op == A_TOPK || op == A_BOTTOMK || op == A_QUANTILE || op == A_COUNT_VALUES;
	if (p->tok.type == T_RPAREN) {
		perr_at(p, p->tok.pos, "no arguments for aggregate expression provided");
		return fail(e);
	}
	while (p->tok.type != T_RPAREN) {
		if (e->nargs == 2) {
			perr_at(p, pos,
				"wrong number of arguments for aggregate expression "
				"provided, expected %d, got 3",
				param ? 2 : 1);
			return fail(e);
		}
		ow_pq_expr_t *a = parse_expr(p, 0);
		if (a == NULL)
			return fail(e);
		e->args[e->nargs++] = a;
		if (p->tok.type == T_COMMA)
			next(p);
		else if (p->tok.type != T_RPAREN) {
			unexpected(p, "aggregation");
			return fail(e);
		}
	}
	next(p);
	if (e->nargs != 1 + param) {
		perr_at(p, pos,
			"wrong number of arguments for aggregate expression provided, expected "
			"%d, got %d",
			1 + param, e->nargs);
		return fail(e);
	}
	ow_pq_expr_t *v = e->args[param];
	if (v->type != VT_VECTOR) {
		perr_at(p, v->pos, "expected type instant vector in aggregation expression, got %s",
			vt_names[v->type]);
		return fail(e);
	}
	if (param) {
		int want = op == A_COUNT_VALUES ? VT_STRING : VT_SCALAR;
		if (e->args[0]->type != want) {
			perr_at(p, e->args[0]->pos,
				"expected type %s in aggregation parameter, got %s", vt_names[want],
				vt_names[e->args[0]->type]);
			return fail(e);
		}
	}
	if (!before && p->tok.type == T_ID &&
	    (strcmp(p->tok.str, "by") == 0 || strcmp(p->tok.str, "without") == 0)) {
		e->without = strcmp(p->tok.str, "without") == 0;
		e->has_grp = 1;
		next(p);
		if (parse_label_list(p, &e->grp, &e->ngrp, "grouping opts") != OW_OK)
			return fail(e);
	}
	return e;
}

/* A range "[d]" and "offset d" after a primary. */
static ow_pq_expr_t *parse_postfix(parser_t *p, ow_pq_expr_t *e)
{
	for (;;) {
		if (p->tok.type == T_LBRACK) {
			size_t at = p->tok.pos;
			next(p);
			int64_t d;
			if (p->tok.type == T_DUR)
				d = p->tok.dur;
			else if (p->tok.type == T_NUM && p->tok.num > 0 && p->tok.num < 1e12)
				d = (int64_t)(p->tok.num * 1000);
			else {
				char b[128];
				perr_at(p, p->tok.pos,
					"unexpected %s in subquery or range selector, expected "
					"duration",
					tok_desc(p, b, sizeof(b)));
				return fail(e);
			}
			next(p);
			if (d <= 0) {
				perr_at(p, at, "range must be positive");
				return fail(e);
			}
			if (p->tok.type == T_COLON) { /* a subquery: [range:step] */
				next(p);
				int64_t step = 0;
				if (p->tok.type == T_DUR) {
					step = p->tok.dur;
					next(p);
				}
				if (expect(p, T_RBRACK, "subquery selector") != OW_OK)
					return fail(e);
				if (e->type != VT_VECTOR) {
					perr_at(
					    p, e->pos,
					    "subquery is only allowed on instant vector, got %s",
					    vt_names[e->type]);
					return fail(e);
				}
				if (step <= 0 && step != 0) {
					perr_at(p, at, "step must be positive");
					return fail(e);
				}
				ow_pq_expr_t *sq = node(N_SUB, e->pos);
				sq->args[0] = e;
				sq->nargs = 1;
				sq->range = d;
				sq->substep = step;
				sq->type = VT_MATRIX;
				e = sq;
				continue;
			}
			if (expect(p, T_RBRACK, "range selector") != OW_OK)
				return fail(e);
			if (e->kind != N_SEL || e->range || e->offset) {
				perr_at(
				    p, at,
				    e->kind == N_SEL && e->offset && !e->range
					? "offset modifier must be preceded by an instant vector "
					  "selector or range vector selector or a subquery"
					: "ranges only allowed for vector selectors");
				return fail(e);
			}
			e->range = d;
			e->type = VT_MATRIX;
			continue;
		}
		if (p->tok.type == T_ID && strcmp(p->tok.str, "offset") == 0) {
			size_t at = p->tok.pos;
			next(p);
			int neg = 0;
			if (p->tok.type == T_SUB) {
				neg = 1;
				next(p);
			}
			if (p->tok.type != T_DUR) {
				unexpected(p, "offset");
				return fail(e);
			}
			if (e->kind != N_SEL && e->kind != N_SUB) {
				perr_at(p, at,
					"offset modifier must be preceded by an instant vector "
					"selector or range vector selector or a subquery");
				return fail(e);
			}
			if (e->offset) {
				perr_at(p, at, "offset may not be set multiple times");
				return fail(e);
			}
			e->offset = neg ? -p->tok.dur : p->tok.dur;
			next(p);
			continue;
		}
		if (p->tok.type == T_AT) {
			perr_at(p, p->tok.pos, "the @ modifier is not supported");
			return fail(e);
		}
		return e;
	}
}

static ow_pq_expr_t *parse_primary(parser_t *p)
{
	tok_t *t = &p->tok;
	size_t pos = t->pos;
	ow_pq_expr_t *e = NULL;
	switch (t->type) {
	case T_NUM:
		e = node(N_NUM, pos);
		e->type = VT_SCALAR;
		e->num = t->num;
		next(p);
		break;
	case T_DUR: /* a bare duration is a number of seconds, as "5m" is 300 */
		e = node(N_NUM, pos);
		e->type = VT_SCALAR;
		e->num = (double)t->dur / 1000;
		next(p);
		break;
	case T_STR:
		e = node(N_STR, pos);
		e->type = VT_STRING;
		e->str = t->str;
		t->str = NULL;
		next(p);
		break;
	case T_LPAREN: {
		next(p);
		ow_pq_expr_t *in = parse_expr(p, 0);
		if (in == NULL)
			return NULL;
		if (p->tok.type != T_RPAREN) {
			unexpected(p, "paren expression");
			ow_pq_free(in);
			return NULL;
		}
		next(p);
		e = node(N_PAREN, pos);
		e->args[0] = in;
		e->nargs = 1;
		e->type = in->type;
		break;
	}
	case T_LBRACE:
		e = parse_selector(p, NULL, pos);
		break;
	case T_ID: {
		char *name = ow_strdup(t->str);
		next(p);
		int agg = find_agg(name);
		const func_t *f = find_func(name);
		if (agg >= 0 && (p->tok.type == T_LPAREN ||
				 (p->tok.type == T_ID && (strcmp(p->tok.str, "by") == 0 ||
							  strcmp(p->tok.str, "without") == 0)))) {
			e = parse_agg(p, agg, pos);
		} else if (p->tok.type == T_LPAREN) {
			if (f == NULL) {
				perr_at(p, pos, "unknown function with name \"%s\"", name);
				free(name);
				return NULL;
			}
			e = parse_call(p, f, pos);
		} else {
			static const char *const kw[] = {"by",	     "without",	   "on",
							 "ignoring", "group_left", "group_right",
							 "offset",   "bool"};
			for (size_t k = 0; k < OW_NELEMS(kw); k++)
				if (strcmp(name, kw[k]) == 0) {
					perr_at(p, pos, "unexpected %s", name);
					free(name);
					return NULL;
				}
			e = parse_selector(p, name, pos);
		}
		free(name);
		break;
	}
	default:
		unexpected(p, NULL);
		return NULL;
	}
	if (e == NULL)
		return NULL;
	return parse_postfix(p, e);
}

static int bin_prec(int type)
{
	switch (type) {
	case T_OR:
		return 1;
	case T_AND:
	case T_UNLESS:
		return 2;
	case T_EQLC:
	case T_NEQ:
	case T_LT:
	case T_GT:
	case T_LE:
	case T_GE:
		return 3;
	case T_ADD:
	case T_SUB:
		return 4;
	case T_MUL:
	case T_DIV:
	case T_MOD:
	case T_ATAN2:
		return 5;
	case T_POW:
		return 7;
	default:
		return 0;
	}
}

static int is_cmp(int op)
{
	return op == T_EQLC || op == T_NEQ || op == T_LT || op == T_GT || op == T_LE || op == T_GE;
}

static int is_set(int op)
{
	return op == T_AND || op == T_OR || op == T_UNLESS;
}

static ow_pq_expr_t *parse_unary(parser_t *p)
{
	if (p->tok.type == T_SUB || p->tok.type == T_ADD) {
		int neg = p->tok.type == T_SUB;
		size_t pos = p->tok.pos;
		next(p);
		/* unary binds looser than ^: -2^2 is -4 */
		ow_pq_expr_t *in = parse_expr(p, 6);
		if (in == NULL)
			return NULL;
		if (in->type != VT_SCALAR && in->type != VT_VECTOR) {
			perr_at(p, pos,
				"unary expression only allowed on expressions of type scalar "
				"or instant vector, got %s",
				vt_names[in->type]);
			ow_pq_free(in);
			return NULL;
		}
		if (!neg)
			return in;
		if (in->kind == N_NUM) {
			in->num = -in->num;
			return in;
		}
		ow_pq_expr_t *e = node(N_NEG, pos);
		e->args[0] = in;
		e->nargs = 1;
		e->type = in->type;
		return e;
	}
	return parse_primary(p);
}

/* The modifiers after a binary operator into e. */
static int parse_bin_mods(parser_t *p, ow_pq_expr_t *e)
{
	if (p->tok.type == T_ID && strcmp(p->tok.str, "bool") == 0) {
		if (!is_cmp(e->op)) {
			perr_at(p, p->tok.pos,
				"bool modifier can only be used on comparison operators");
			return OW_ERROR;
		}
		e->ret_bool = 1;
		next(p);
	}
	if (p->tok.type == T_ID &&
	    (strcmp(p->tok.str, "on") == 0 || strcmp(p->tok.str, "ignoring") == 0)) {
		e->without = strcmp(p->tok.str, "ignoring") == 0;
		e->has_grp = 1;
		next(p);
		if (parse_label_list(p, &e->grp, &e->ngrp, "grouping opts") != OW_OK)
			return OW_ERROR;
		if (p->tok.type == T_ID && (strcmp(p->tok.str, "group_left") == 0 ||
					    strcmp(p->tok.str, "group_right") == 0)) {
			e->card = strcmp(p->tok.str, "group_left") == 0 ? 1 : 2;
			size_t at = p->tok.pos;
			next(p);
			if (p->tok.type == T_LPAREN &&
			    parse_label_list(p, &e->incl, &e->nincl, "grouping opts") != OW_OK)
				return OW_ERROR;
			if (is_set(e->op)) {
				perr_at(p, at, "no grouping allowed for \"%s\" operation",
					tok_names[e->op]);
				return OW_ERROR;
			}
		}
	}
	return OW_OK;
}

static ow_pq_expr_t *parse_expr(parser_t *p, int min_prec)
{
	if (++p->depth > MAX_DEPTH) {
		perr_at(p, p->tok.pos, "expression nested more than %d deep", MAX_DEPTH);
		p->depth--;
		return NULL;
	}
	ow_pq_expr_t *lhs = parse_unary(p);
	while (lhs) {
		int op = p->tok.type, prec = bin_prec(op);
		if (prec == 0 || prec < min_prec)
			break;
		size_t pos = p->tok.pos;
		next(p);
		ow_pq_expr_t *e = node(N_BIN, pos);
		e->op = op;
		e->args[0] = lhs;
		e->nargs = 1;
		if (parse_bin_mods(p, e) != OW_OK)
			return fail(e);
		/* right associative ^: its right side at its own level */
		ow_pq_expr_t *rhs = parse_expr(p, op == T_POW ? prec : prec + 1);
		if (rhs == NULL)
			return fail(e);
		e->args[e->nargs++] = rhs;
		int lt = lhs->type, rt = rhs->type;
		if ((lt != VT_SCALAR && lt != VT_VECTOR) || (rt != VT_SCALAR && rt != VT_VECTOR)) {
			perr_at(
			    p, (lt != VT_SCALAR && lt != VT_VECTOR) ? lhs->pos : rhs->pos,
			    "binary expression must contain only scalar and instant vector types");
			return fail(e);
		}
		if (is_cmp(op) && lt == VT_SCALAR && rt == VT_SCALAR && !e->ret_bool) {
			perr_at(p, pos, "comparisons between scalars must use BOOL modifier");
			return fail(e);
		}
		if (is_set(op) && (lt == VT_SCALAR || rt == VT_SCALAR)) {
			perr_at(p, pos,
				"set operator \"%s\" not allowed in binary scalar expression",
				tok_names[op]);
			return fail(e);
		}
		if (e->has_grp && (lt == VT_SCALAR || rt == VT_SCALAR)) {
			perr_at(p, pos, "vector matching only allowed between instant vectors");
			return fail(e);
		}
		e->type = lt == VT_SCALAR && rt == VT_SCALAR ? VT_SCALAR : VT_VECTOR;
		lhs = e;
	}
	p->depth--;
	return lhs;
}

ow_pq_expr_t *ow_pq_parse(const char *q, char *err, size_t errlen)
{
	parser_t p = {.q = q, .n = strlen(q), .err = err, .errlen = errlen};
	if (p.n > MAX_QUERY) {
		snprintf(err, errlen, "1:1: parse error: the query is %zu bytes, more than %d", p.n,
			 MAX_QUERY);
		return NULL;
	}
	next(&p);
	if (p.tok.type == T_EOF && !p.failed) {
		perr_at(&p, 0, "no expression found in input");
		return NULL;
	}
	ow_pq_expr_t *e = parse_expr(&p, 0);
	if (e && p.tok.type != T_EOF) {
		unexpected(&p, NULL);
		e = fail(e);
	}
	if (p.failed)
		e = fail(e);
	free(p.tok.str);
	return e;
}

/* ---- evaluation ---- */

typedef struct {
	const ow_pq_labels_t *ls;
	double v;
	int64_t t; /* the sample's own time (timestamp()) */
} smp_t;

typedef struct {
	const ow_pq_labels_t *ls;
	ow_pq_point_t *p;
	size_t n;
} rng_t;

typedef struct {
	int type;
	double s;
	const char *str;
	smp_t *v;
	size_t n;
	rng_t *m;
	size_t nm;
} val_t;

typedef struct chunk {
	struct chunk *next;
	size_t used, cap;
	uint8_t data[];
} chunk_t;

typedef struct {
	ow_pq_labels_t labels;
	ow_pq_point_t *pts;
	size_t n, cap;
	int64_t last_t; /* the step it last got a value */
} outs_t;

typedef struct {
	const ow_pq_eval_opts_t *o;
	chunk_t *arena;
	int64_t arena_bytes, fixed_bytes; /* fetched and answered */
	char *err;
	size_t errlen;
	const char *etype;
	int failed;
	/* the answer of a range query */
	outs_t *outs;
	size_t nouts, capouts;
	size_t *slots; /* hash -> index + 1 */
	size_t nslots;
	uint64_t ticks;
	chunk_t *spare; /* the step arena's chunks, kept for the next step */
	chunk_t *keep;	/* what lives for the whole evaluation (the memo's) */
	/* Label sets that live for the whole evaluation (the fetched series',
	 * the memo's): derived sets of those are made once (memo_t). */
	const ow_pq_labels_t **stable;
	size_t nstable, capstable;
	struct memo *memo;
	size_t nmemo, capmemo;
	/* the memo's label sets by content: equal sets are one pointer, so
	 * grouping compares pointers */
	const ow_pq_labels_t **interned;
	size_t ninterned, capinterned;
	/* a range query's range functions over whole ranges (pre_t) */
	struct pre *pre;
	size_t npre;
} ev_t;

/* A range function of a range selector at every step of a range query,
 * made before the first step in one pass over each series (its window's
 * two ends only move forward), with each series' result labels made once;
 * and, for an aggregation over it, each series' group, also made once. */
typedef struct pre {
	const ow_pq_expr_t *e; /* the call */
	size_t nseries, nsteps;
	const ow_pq_labels_t **ls;  /* per series */
	double *v;		    /* [step * nseries + series] */
	uint8_t *has;		    /* the same: the step has a value */
	const ow_pq_expr_t *agg;    /* the aggregation whose groups are below */
	size_t *gid;		    /* per series, its group */
	const ow_pq_labels_t **gls; /* per group, its labels */
	size_t ng;
} pre_t;

/* labels_filter(in, list, n, keep) of a stable label set. */
typedef struct memo {
	const ow_pq_labels_t *in, *out;
	char **list;
	int n, keep;
} memo_t;

static void everr(ev_t *ev, const char *etype, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void everr(ev_t *ev, const char *etype, const char *fmt, ...)
{
	if (ev->failed)
		return;
	ev->failed = 1;
	ev->etype = etype;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ev->err, ev->errlen, fmt, ap);
	va_end(ap);
}

static int over_budget(ev_t *ev)
{
	if (ev->failed)
		return 1;
	if (ev->o->max_bytes && ev->arena_bytes + ev->fixed_bytes > ev->o->max_bytes) {
		everr(ev, "execution",
		      "query processing would load too much data into memory: more than "
		      "query.max_memory_bytes (%lld)",
		      (long long)ev->o->max_bytes);
		return 1;
	}
	if ((++ev->ticks & 255) == 0) {
		if (ev->o->deadline_ns && ow_mono_ns() > ev->o->deadline_ns) {
			everr(ev, "timeout", "query timed out in expression evaluation");
			return 1;
		}
		if (ev->o->cancel && atomic_load(ev->o->cancel)) {
			everr(ev, "canceled", "query canceled: the client went away");
			return 1;
		}
	}
	return 0;
}

static void *chunk_alloc(chunk_t **list, chunk_t **spare, int64_t *bytes, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if (n == 0)
		n = 16;
	chunk_t *c = *list;
	if (c == NULL || c->used + n > c->cap) {
		if (spare && *spare && (*spare)->cap >= n) {
			c = *spare;
			*spare = c->next;
		} else {
			size_t cap = OW_MAX(n, (size_t)64 * 1024);
			c = ow_alloc(sizeof(chunk_t) + cap);
			c->cap = cap;
			*bytes += (int64_t)cap;
		}
		c->used = 0;
		c->next = *list;
		*list = c;
	}
	void *p = c->data + c->used;
	c->used += n;
	return p;
}

static void *aalloc(ev_t *ev, size_t n)
{
	return chunk_alloc(&ev->arena, &ev->spare, &ev->arena_bytes, n);
}

static void chunks_free(chunk_t **list)
{
	while (*list) {
		chunk_t *n = (*list)->next;
		free(*list);
		*list = n;
	}
}

/* The end of a step: its arena's chunks kept for the next. */
static void arena_reset(ev_t *ev)
{
	while (ev->arena) {
		chunk_t *n = ev->arena->next;
		ev->arena->next = ev->spare;
		ev->spare = ev->arena;
		ev->arena = n;
	}
}

static void arena_free(ev_t *ev)
{
	chunks_free(&ev->arena);
	chunks_free(&ev->spare);
	chunks_free(&ev->keep);
	free(ev->stable);
	free(ev->memo);
	free(ev->interned);
	ev->stable = NULL;
	ev->memo = NULL;
	ev->interned = NULL;
	ev->ninterned = ev->capinterned = 0;
	ev->nstable = ev->capstable = ev->nmemo = ev->capmemo = 0;
	ev->arena_bytes = 0;
}

static size_t ptr_hash(const void *p)
{
	uint64_t x = (uint64_t)(uintptr_t)p;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (size_t)x;
}

static int is_stable(const ev_t *ev, const ow_pq_labels_t *ls)
{
	if (!ev->capstable)
		return 0;
	for (size_t h = ptr_hash(ls) & (ev->capstable - 1);; h = (h + 1) & (ev->capstable - 1)) {
		if (ev->stable[h] == ls)
			return 1;
		if (ev->stable[h] == NULL)
			return 0;
	}
}

static void add_stable(ev_t *ev, const ow_pq_labels_t *ls)
{
	if ((ev->nstable + 1) * 2 > ev->capstable) {
		size_t cap = ev->capstable ? ev->capstable * 2 : 1024;
		const ow_pq_labels_t **old = ev->stable;
		size_t ocap = ev->capstable;
		ev->stable = ow_calloc(cap, sizeof(*ev->stable));
		ev->capstable = cap;
		ev->fixed_bytes += (int64_t)((cap - ocap) * sizeof(*ev->stable));
		for (size_t i = 0; i < ocap; i++)
			if (old[i]) {
				size_t h = ptr_hash(old[i]) & (cap - 1);
				while (ev->stable[h])
					h = (h + 1) & (cap - 1);
				ev->stable[h] = old[i];
			}
		free(old);
	}
	size_t h = ptr_hash(ls) & (ev->capstable - 1);
	while (ev->stable[h]) {
		if (ev->stable[h] == ls)
			return;
		h = (h + 1) & (ev->capstable - 1);
	}
	ev->stable[h] = ls;
	ev->nstable++;
}

/* The interned set equal to ls: ls itself when it is the first. */
static const ow_pq_labels_t *intern(ev_t *ev, const ow_pq_labels_t *ls)
{
	if ((ev->ninterned + 1) * 2 > ev->capinterned) {
		size_t cap = ev->capinterned ? ev->capinterned * 2 : 1024, ocap = ev->capinterned;
		const ow_pq_labels_t **old = ev->interned;
		ev->interned = ow_calloc(cap, sizeof(*ev->interned));
		ev->capinterned = cap;
		ev->fixed_bytes += (int64_t)((cap - ocap) * sizeof(*ev->interned));
		for (size_t i = 0; i < ocap; i++)
			if (old[i]) {
				size_t h = (size_t)ow_pq_labels_hash(old[i]) & (cap - 1);
				while (ev->interned[h])
					h = (h + 1) & (cap - 1);
				ev->interned[h] = old[i];
			}
		free(old);
	}
	size_t h = (size_t)ow_pq_labels_hash(ls) & (ev->capinterned - 1);
	while (ev->interned[h]) {
		if (ow_pq_labels_cmp(ev->interned[h], ls) == 0)
			return ev->interned[h];
		h = (h + 1) & (ev->capinterned - 1);
	}
	ev->interned[h] = ls;
	ev->ninterned++;
	return ls;
}

static size_t memo_hash(const ow_pq_labels_t *in, char **list, int n, int keep)
{
	return ptr_hash(in) ^ (ptr_hash(list) * 31) ^ (size_t)(n * 2 + keep);
}

static memo_t *memo_slot(ev_t *ev, const ow_pq_labels_t *in, char **list, int n, int keep)
{
	if ((ev->nmemo + 1) * 2 > ev->capmemo) {
		size_t cap = ev->capmemo ? ev->capmemo * 2 : 1024, ocap = ev->capmemo;
		memo_t *old = ev->memo;
		ev->memo = ow_calloc(cap, sizeof(memo_t));
		ev->capmemo = cap;
		ev->fixed_bytes += (int64_t)((cap - ocap) * sizeof(memo_t));
		for (size_t i = 0; i < ocap; i++)
			if (old[i].in) {
				size_t h =
				    memo_hash(old[i].in, old[i].list, old[i].n, old[i].keep) &
				    (cap - 1);
				while (ev->memo[h].in)
					h = (h + 1) & (cap - 1);
				ev->memo[h] = old[i];
			}
		free(old);
	}
	size_t h = memo_hash(in, list, n, keep) & (ev->capmemo - 1);
	while (ev->memo[h].in && !(ev->memo[h].in == in && ev->memo[h].list == list &&
				   ev->memo[h].n == n && ev->memo[h].keep == keep))
		h = (h + 1) & (ev->capmemo - 1);
	return &ev->memo[h];
}

static char *astrdup(ev_t *ev, const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = aalloc(ev, n);
	memcpy(d, s, n);
	return d;
}

static int in_list(char **l, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (strcmp(l[i], s) == 0)
			return 1;
	return 0;
}

/* ls with only the labels in list (keep) or without them and __name__
 * (!keep): in the step's arena, or, when ls lives for the whole
 * evaluation, made once and kept (the same series at every step). */
static const ow_pq_labels_t *labels_filter(ev_t *ev, const ow_pq_labels_t *ls, char **list, int n,
					   int keep)
{
	memo_t *m = NULL;
	if (is_stable(ev, ls)) {
		m = memo_slot(ev, ls, list, n, keep);
		if (m->in)
			return m->out;
	}
	ow_pq_labels_t *r;
	if (m) {
		r = chunk_alloc(&ev->keep, NULL, &ev->fixed_bytes, sizeof(*r));
		r->l = chunk_alloc(&ev->keep, NULL, &ev->fixed_bytes,
				   sizeof(ow_pq_label_t) * (size_t)OW_MAX(ls->n, 1));
	} else {
		r = aalloc(ev, sizeof(*r));
		r->l = aalloc(ev, sizeof(ow_pq_label_t) * (size_t)OW_MAX(ls->n, 1));
	}
	r->n = 0;
	r->hash = 0;
	for (int i = 0; i < ls->n; i++) {
		int listed = in_list(list, n, ls->l[i].name);
		if (keep ? listed : (!listed && strcmp(ls->l[i].name, "__name__") != 0))
			r->l[r->n++] = ls->l[i];
	}
	if (m) {
		const ow_pq_labels_t *u = intern(ev, r);
		*m = (memo_t){ls, u, list, n, keep};
		ev->nmemo++;
		add_stable(ev, u);
		return u;
	}
	return r;
}

static const ow_pq_labels_t *drop_name(ev_t *ev, const ow_pq_labels_t *ls)
{
	if (!is_stable(ev, ls) && ow_pq_label_get(ls, "__name__")[0] == '\0')
		return ls;
	return labels_filter(ev, ls, NULL, 0, 0);
}

/* ls with name set to value ("" removes), in the arena. */
static const ow_pq_labels_t *labels_with(ev_t *ev, const ow_pq_labels_t *ls, const char *name,
					 const char *value)
{
	ow_pq_labels_t *r = aalloc(ev, sizeof(*r));
	r->l = aalloc(ev, sizeof(ow_pq_label_t) * (size_t)(ls->n + 1));
	r->n = 0;
	r->hash = 0;
	int done = 0;
	for (int i = 0; i < ls->n; i++) {
		int c = strcmp(ls->l[i].name, name);
		if (c > 0 && !done) {
			if (*value)
				r->l[r->n++] = (ow_pq_label_t){(char *)name, (char *)value};
			done = 1;
		}
		if (c == 0) {
			if (*value)
				r->l[r->n++] = (ow_pq_label_t){(char *)name, (char *)value};
			done = 1;
			continue;
		}
		r->l[r->n++] = ls->l[i];
	}
	if (!done && *value)
		r->l[r->n++] = (ow_pq_label_t){(char *)name, (char *)value};
	return r;
}

static val_t eval(ev_t *ev, ow_pq_expr_t *e, int64_t t);

static val_t vec(ev_t *ev, size_t cap)
{
	val_t v = {.type = VT_VECTOR};
	v.v = aalloc(ev, sizeof(smp_t) * OW_MAX(cap, 1));
	return v;
}

/* The index of the last point at or before t, or -1. */
static ptrdiff_t last_at(const ow_pq_series_t *s, int64_t t)
{
	ptrdiff_t lo = 0, hi = (ptrdiff_t)s->n - 1, r = -1;
	while (lo <= hi) {
		ptrdiff_t mid = (lo + hi) / 2;
		if (s->pts[mid].t <= t) {
			r = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	return r;
}

static val_t eval_selector(ev_t *ev, ow_pq_expr_t *e, int64_t t)
{
	int64_t ref = t - e->offset;
	if (e->range) {
		val_t v = {.type = VT_MATRIX};
		v.m = aalloc(ev, sizeof(rng_t) * OW_MAX(e->nseries, 1));
		for (size_t i = 0; i < e->nseries; i++) {
			ow_pq_series_t *s = &e->series[i];
			ptrdiff_t hi = last_at(s, ref), lo = last_at(s, ref - e->range - 1) + 1;
			if (hi < lo)
				continue;
			rng_t *r = &v.m[v.nm];
			if (!e->stale[i]) { /* the series' own points, not copied */
				r->p = &s->pts[lo];
				r->n = (size_t)(hi - lo + 1);
			} else {
				r->p = aalloc(ev, sizeof(ow_pq_point_t) * (size_t)(hi - lo + 1));
				r->n = 0;
				for (ptrdiff_t k = lo; k <= hi; k++)
					if (!ow_pq_is_stale(s->pts[k].v))
						r->p[r->n++] = s->pts[k];
			}
			if (r->n) {
				r->ls = &s->labels;
				v.nm++;
			}
		}
		return v;
	}
	int64_t lookback = ev->o->lookback > 0 ? ev->o->lookback : LOOKBACK_MS;
	val_t v = vec(ev, e->nseries);
	for (size_t i = 0; i < e->nseries; i++) {
		ow_pq_series_t *s = &e->series[i];
		ptrdiff_t k = last_at(s, ref);
		if (k < 0 || s->pts[k].t < ref - lookback || ow_pq_is_stale(s->pts[k].v))
			continue;
		v.v[v.n++] = (smp_t){&s->labels, s->pts[k].v, s->pts[k].t};
	}
	return v;
}

/* Prometheus' extrapolatedRate (2.x). */
static int extrapolated(const rng_t *r, int64_t rstart, int64_t rend, int counter, int is_rate,
			double *out)
{
	if (r->n < 2)
		return 0;
	const ow_pq_point_t *f = &r->p[0], *l = &r->p[r->n - 1];
	double result = l->v - f->v;
	if (counter) {
		double prev = f->v;
		for (size_t i = 1; i < r->n; i++) {
			if (r->p[i].v < prev)
				result += prev;
			prev = r->p[i].v;
		}
	}
	double to_start = (double)(f->t - rstart) / 1000, to_end = (double)(rend - l->t) / 1000;
	double sampled = (double)(l->t - f->t) / 1000;
	double avg = sampled / (double)(r->n - 1);
	if (counter && result > 0 && f->v >= 0) {
		double to_zero = sampled * (f->v / result);
		if (to_zero < to_start)
			to_start = to_zero;
	}
	double threshold = avg * 1.1, interval = sampled;
	interval += to_start < threshold ? to_start : avg / 2;
	interval += to_end < threshold ? to_end : avg / 2;
	result = result * (interval / sampled);
	if (is_rate)
		result = result / ((double)(rend - rstart) / 1000);
	*out = result;
	return 1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y ? 1 : 0;
}

/* Prometheus' quantile of sorted values (linear interpolation). */
static double quantile(double q, double *v, size_t n)
{
	if (n == 0 || isnan(q))
		return NAN;
	if (q < 0)
		return -INFINITY;
	if (q > 1)
		return INFINITY;
	qsort(v, n, sizeof(double), cmp_double);
	double rank = q * (double)(n - 1);
	size_t lo = (size_t)OW_MAX(0, floor(rank)), hi = (size_t)OW_MIN((double)n - 1, lo + 1);
	double w = rank - floor(rank);
	return v[lo] * (1 - w) + v[hi] * w;
}

static int range_fn(ev_t *ev, ow_pq_expr_t *e, const rng_t *r, int64_t t, double param, double *out)
{
	ow_pq_expr_t *sel = e->args[e->fn->id == F_QUANTILE_OT ? 1 : 0];
	while (sel->kind == N_PAREN)
		sel = sel->args[0];
	int64_t rend = t - sel->offset, rstart = rend - sel->range;
	size_t n = r->n;
	switch (e->fn->id) {
	case F_RATE:
		return extrapolated(r, rstart, rend, 1, 1, out);
	case F_INCREASE:
		return extrapolated(r, rstart, rend, 1, 0, out);
	case F_DELTA:
		return extrapolated(r, rstart, rend, 0, 0, out);
	case F_IRATE:
	case F_IDELTA: {
		if (n < 2)
			return 0;
		const ow_pq_point_t *a = &r->p[n - 2], *b = &r->p[n - 1];
		double d = b->v - a->v;
		if (e->fn->id == F_IDELTA) {
			*out = d;
			return 1;
		}
		if (b->v < a->v)
			d = b->v;
		if (b->t == a->t)
			return 0;
		*out = d / ((double)(b->t - a->t) / 1000);
		return 1;
	}
	case F_AVG_OT: {
		double s = 0;
		for (size_t i = 0; i < n; i++)
			s += r->p[i].v;
		*out = s / (double)n;
		return 1;
	}
	case F_SUM_OT: {
		double s = 0;
		for (size_t i = 0; i < n; i++)
			s += r->p[i].v;
		*out = s;
		return 1;
	}
	case F_MIN_OT:
	case F_MAX_OT: {
		double m = r->p[0].v;
		for (size_t i = 1; i < n; i++) {
			double x = r->p[i].v;
			if (e->fn->id == F_MIN_OT ? (x < m || isnan(m)) : (x > m || isnan(m)))
				m = x;
		}
		*out = m;
		return 1;
	}
	case F_COUNT_OT:
		*out = (double)n;
		return 1;
	case F_LAST_OT:
		*out = r->p[n - 1].v;
		return 1;
	case F_PRESENT_OT:
	case F_ABSENT_OT:
		*out = 1;
		return 1;
	case F_STDDEV_OT:
	case F_STDVAR_OT: {
		double mean = 0, m2 = 0;
		for (size_t i = 0; i < n; i++) {
			double d = r->p[i].v - mean;
			mean += d / (double)(i + 1);
			m2 += d * (r->p[i].v - mean);
		}
		double var = m2 / (double)n;
		*out = e->fn->id == F_STDDEV_OT ? sqrt(var) : var;
		return 1;
	}
	case F_QUANTILE_OT: {
		double *v = aalloc(ev, sizeof(double) * n);
		for (size_t i = 0; i < n; i++)
			v[i] = r->p[i].v;
		*out = quantile(param, v, n);
		return 1;
	}
	case F_CHANGES:
	case F_RESETS: {
		double c = 0;
		for (size_t i = 1; i < n; i++) {
			double a = r->p[i - 1].v, b = r->p[i].v;
			if (e->fn->id == F_CHANGES ? (a != b && !(isnan(a) && isnan(b))) : b < a)
				c++;
		}
		*out = c;
		return 1;
	}
	case F_DERIV:
	case F_PREDICT_LINEAR: {
		if (n < 2)
			return 0;
		/* least squares, times relative to the first sample (or t) */
		int64_t base = e->fn->id == F_DERIV ? r->p[0].t : t;
		double sx = 0, sy = 0, sxy = 0, sx2 = 0, cy = 0, cxy = 0;
		OW_UNUSED(cy);
		OW_UNUSED(cxy);
		for (size_t i = 0; i < n; i++) {
			double x = (double)(r->p[i].t - base) / 1000, y = r->p[i].v;
			sx += x;
			sy += y;
			sxy += x * y;
			sx2 += x * x;
		}
		double nn = (double)n, covxy = sxy - sx * sy / nn, varx = sx2 - sx * sx / nn;
		double slope = covxy / varx, icpt = sy / nn - slope * sx / nn;
		*out = e->fn->id == F_DERIV ? slope : slope * param + icpt;
		return 1;
	}
	}
	return 0;
}

/* ---- range functions over whole ranges (a range query's) ---- */

/* e's range selector when e is a range function of one that pre_make
 * does (its parameter, if any, a number), else NULL. */
static ow_pq_expr_t *pre_sel(const ow_pq_expr_t *e)
{
	if (e->kind != N_CALL || e->fn->id == F_ABSENT_OT ||
	    !(e->fn->args[0] == 'm' || e->fn->id == F_QUANTILE_OT))
		return NULL;
	int id = e->fn->id;
	if ((id == F_QUANTILE_OT && e->args[0]->kind != N_NUM) ||
	    (id == F_PREDICT_LINEAR && e->args[1]->kind != N_NUM))
		return NULL;
	ow_pq_expr_t *sel = e->args[id == F_QUANTILE_OT ? 1 : 0];
	while (sel->kind == N_PAREN)
		sel = sel->args[0];
	return sel->kind == N_SEL && sel->range ? sel : NULL;
}

/* e at every step, series by series: the window (ref - range, ref] of a
 * step is [lo, hi) of the series' points, both only moving forward. A
 * series with staleness markers is windowed without them (the same
 * points as eval_selector's copy of each window). Left to the steps when
 * the table would take more than half the memory budget. */
static void pre_make(ev_t *ev, ow_pq_expr_t *e, const ow_pq_expr_t *sel)
{
	const ow_pq_eval_opts_t *o = ev->o;
	size_t ns = sel->nseries, nt = (size_t)((o->end - o->start) / o->step + 1);
	int64_t bytes = (int64_t)(ns * nt * (sizeof(double) + 1) + ns * sizeof(void *));
	if (ev->arena_bytes + ev->fixed_bytes + bytes > (o->max_bytes ? o->max_bytes / 2 : PRE_MAX))
		return;
	int id = e->fn->id;
	double param = id == F_QUANTILE_OT	? e->args[0]->num
		       : id == F_PREDICT_LINEAR ? e->args[1]->num
						: 0;
	ev->pre = ow_realloc(ev->pre, (ev->npre + 1) * sizeof(pre_t));
	pre_t *p = &ev->pre[ev->npre++];
	*p = (pre_t){.e = e, .nseries = ns, .nsteps = nt};
	p->ls = ow_alloc(sizeof(*p->ls) * OW_MAX(ns, 1));
	p->v = ow_alloc(sizeof(double) * OW_MAX(ns * nt, 1));
	p->has = ow_calloc(OW_MAX(ns * nt, 1), 1);
	ev->fixed_bytes += bytes;
	ow_pq_point_t *own = NULL;
	for (size_t i = 0; i < ns && !ev->failed; i++) {
		const ow_pq_series_t *s = &sel->series[i];
		p->ls[i] = id == F_LAST_OT ? &s->labels : drop_name(ev, &s->labels);
		ow_pq_point_t *pts = s->pts;
		size_t n = s->n;
		if (sel->stale[i]) {
			own = ow_realloc(own, sizeof(*own) * OW_MAX(s->n, 1));
			n = 0;
			for (size_t k = 0; k < s->n; k++)
				if (!ow_pq_is_stale(s->pts[k].v))
					own[n++] = s->pts[k];
			pts = own;
		}
		size_t lo = 0, hi = 0;
		for (size_t j = 0; j < nt && !over_budget(ev); j++) {
			int64_t t = o->start + (int64_t)j * o->step, ref = t - sel->offset;
			while (hi < n && pts[hi].t <= ref)
				hi++;
			while (lo < hi && pts[lo].t < ref - sel->range)
				lo++;
			if (lo == hi)
				continue;
			rng_t r = {&s->labels, &pts[lo], hi - lo};
			p->has[j * ns + i] =
			    (uint8_t)range_fn(ev, e, &r, t, param, &p->v[j * ns + i]);
		}
		arena_reset(ev); /* quantile_over_time's copies */
	}
	free(own);
}

/* Makes the tables of the range functions of e (not under a subquery:
 * those are asked at the subquery's times, not the steps). */
static void pre_all(ev_t *ev, ow_pq_expr_t *e)
{
	if (e->kind == N_SUB)
		return;
	const ow_pq_expr_t *sel = pre_sel(e);
	if (sel) {
		pre_make(ev, e, sel);
		return;
	}
	for (int i = 0; i < e->nargs && !ev->failed; i++)
		pre_all(ev, e->args[i]);
}

/* e's table and the index of the step t, or NULL. */
static pre_t *pre_find(ev_t *ev, const ow_pq_expr_t *e, int64_t t, size_t *step)
{
	for (size_t i = 0; i < ev->npre; i++) {
		if (ev->pre[i].e != e)
			continue;
		int64_t d = t - ev->o->start;
		if (d < 0 || d % ev->o->step || (size_t)(d / ev->o->step) >= ev->pre[i].nsteps)
			return NULL;
		*step = (size_t)(d / ev->o->step);
		return &ev->pre[i];
	}
	return NULL;
}

/* The step's vector of a table, in series order; si (if not NULL) gets
 * each sample's series. */
static val_t pre_vector(ev_t *ev, const pre_t *p, size_t step, int64_t t, size_t *si)
{
	val_t v = vec(ev, p->nseries);
	const double *x = &p->v[step * p->nseries];
	const uint8_t *has = &p->has[step * p->nseries];
	for (size_t i = 0; i < p->nseries; i++) {
		if (!has[i])
			continue;
		if (si)
			si[v.n] = i;
		v.v[v.n++] = (smp_t){p->ls[i], x[i], t};
	}
	return v;
}

static void pre_free(ev_t *ev)
{
	for (size_t i = 0; i < ev->npre; i++) {
		free(ev->pre[i].ls);
		free(ev->pre[i].v);
		free(ev->pre[i].has);
		free(ev->pre[i].gid);
		free(ev->pre[i].gls);
	}
	free(ev->pre);
	ev->pre = NULL;
	ev->npre = 0;
}

static double math_fn(int id, double x, double a, double b)
{
	switch (id) {
	case F_ABS:
		return fabs(x);
	case F_CEIL:
		return ceil(x);
	case F_FLOOR:
		return floor(x);
	case F_EXP:
		return exp(x);
	case F_LN:
		return log(x);
	case F_LOG2:
		return log2(x);
	case F_LOG10:
		return log10(x);
	case F_SQRT:
		return sqrt(x);
	case F_SGN:
		return x > 0 ? 1 : x < 0 ? -1 : x;
	case F_ROUND: {
		double to = a == 0 ? 1 : a, inv = 1 / to;
		return floor(x * inv + 0.5) / inv;
	}
	case F_CLAMP:
		return a > b ? NAN : fmax(a, fmin(b, x));
	case F_CLAMP_MIN:
		return fmax(a, x);
	case F_CLAMP_MAX:
		return fmin(a, x);
	}
	time_t s = (time_t)floor(x);
	struct tm tm;
	gmtime_r(&s, &tm);
	switch (id) {
	case F_MINUTE:
		return tm.tm_min;
	case F_HOUR:
		return tm.tm_hour;
	case F_DAY_OF_MONTH:
		return tm.tm_mday;
	case F_DAY_OF_WEEK:
		return tm.tm_wday;
	case F_DAY_OF_YEAR:
		return tm.tm_yday + 1;
	case F_MONTH:
		return tm.tm_mon + 1;
	case F_YEAR:
		return tm.tm_year + 1900;
	case F_DAYS_IN_MONTH: {
		static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
		int y = tm.tm_year + 1900;
		int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
		return d[tm.tm_mon] + (tm.tm_mon == 1 && leap);
	}
	}
	return NAN;
}

typedef struct {
	double le, count;
} bucket_t;

static int cmp_bucket(const void *a, const void *b)
{
	double x = ((const bucket_t *)a)->le, y = ((const bucket_t *)b)->le;
	return x < y ? -1 : x > y ? 1 : 0;
}

/* Prometheus' bucketQuantile (2.x). */
static double bucket_quantile(double q, bucket_t *b, size_t n)
{
	if (isnan(q))
		return NAN;
	if (q < 0)
		return -INFINITY;
	if (q > 1)
		return INFINITY;
	qsort(b, n, sizeof(*b), cmp_bucket);
	if (n == 0 || !isinf(b[n - 1].le) || b[n - 1].le < 0)
		return NAN;
	/* coalesce equal bounds, then make the counts monotonic */
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (m && b[m - 1].le == b[i].le)
			b[m - 1].count += b[i].count;
		else
			b[m++] = b[i];
	}
	n = m;
	for (size_t i = 1; i < n; i++)
		if (b[i].count < b[i - 1].count)
			b[i].count = b[i - 1].count;
	if (n < 2)
		return NAN;
	double obs = b[n - 1].count;
	if (obs == 0)
		return NAN;
	double rank = q * obs;
	size_t i = 0;
	while (i < n - 1 && b[i].count < rank)
		i++;
	if (i == n - 1)
		return b[n - 2].le;
	if (i == 0 && b[0].le <= 0)
		return b[0].le;
	double start = 0, end = b[i].le, count = b[i].count;
	if (i > 0) {
		start = b[i - 1].le;
		count -= b[i - 1].count;
		rank -= b[i - 1].count;
	}
	return start + (end - start) * (rank / count);
}

/* A hash table of label sets in the arena: the index of ls, added when
 * new (*added set). */
typedef struct {
	const ow_pq_labels_t **keys;
	size_t *idx, cap, n;
} lmap_t;

static void lmap_init(ev_t *ev, lmap_t *m, size_t want)
{
	m->cap = 16;
	while (m->cap < want * 2)
		m->cap *= 2;
	m->keys = aalloc(ev, sizeof(*m->keys) * m->cap);
	m->idx = aalloc(ev, sizeof(size_t) * m->cap);
	memset(m->keys, 0, sizeof(*m->keys) * m->cap);
	m->n = 0;
}

static size_t lmap_get(lmap_t *m, const ow_pq_labels_t *ls, int *added)
{
	size_t h = (size_t)ow_pq_labels_hash(ls) & (m->cap - 1);
	while (m->keys[h]) {
		if (ow_pq_labels_cmp(m->keys[h], ls) == 0) {
			*added = 0;
			return m->idx[h];
		}
		h = (h + 1) & (m->cap - 1);
	}
	m->keys[h] = ls;
	m->idx[h] = m->n;
	*added = 1;
	return m->n++;
}

/* absent(): 1 with the labels of the selector's equality matchers. */
static val_t eval_call_absent(ev_t *ev, ow_pq_expr_t *arg, int64_t t)
{
	while (arg->kind == N_PAREN)
		arg = arg->args[0];
	ow_pq_labels_t *ls = aalloc(ev, sizeof(*ls));
	ls->n = 0;
	ls->hash = 0;
	ls->l = aalloc(ev, sizeof(ow_pq_label_t) * (size_t)OW_MAX(arg->nm, 1));
	if (arg->kind == N_SEL) {
		for (int i = 0; i < arg->nm; i++) {
			const ow_pq_matcher_t *m = &arg->m[i];
			if (m->op != OW_PQ_EQ || strcmp(m->name, "__name__") == 0)
				continue;
			int dup = 0;
			for (int k = 0; k < arg->nm; k++)
				dup |= k != i && strcmp(arg->m[k].name, m->name) == 0;
			if (dup)
				continue;
			const ow_pq_labels_t *w = labels_with(ev, ls, m->name, m->value);
			ls->l = w->l;
			ls->n = w->n;
		}
	}
	val_t v = vec(ev, 1);
	v.v[v.n++] = (smp_t){ls, 1, t};
	return v;
}

static val_t eval_call(ev_t *ev, ow_pq_expr_t *e, int64_t t)
{
	int id = e->fn->id;
	val_t none = {.type = VT_VECTOR};
	if (id == F_TIME) {
		val_t s = {.type = VT_SCALAR, .s = (double)t / 1000};
		return s;
	}
	if (id == F_VECTOR) {
		val_t a = eval(ev, e->args[0], t), v = vec(ev, 1);
		static const ow_pq_labels_t empty = {0};
		v.v[v.n++] = (smp_t){&empty, a.s, t};
		return v;
	}
	if (id == F_SCALAR) {
		val_t a = eval(ev, e->args[0], t);
		val_t s = {.type = VT_SCALAR, .s = a.n == 1 ? a.v[0].v : NAN};
		return s;
	}
	if (e->fn->args[0] == 'm' || id == F_QUANTILE_OT) {
		double param = 0;
		if (id == F_QUANTILE_OT)
			param = eval(ev, e->args[0], t).s;
		if (id == F_PREDICT_LINEAR)
			param = eval(ev, e->args[1], t).s;
		size_t step;
		const pre_t *p = pre_find(ev, e, t, &step);
		if (p)
			return pre_vector(ev, p, step, t, NULL);
		val_t m = eval(ev, e->args[id == F_QUANTILE_OT ? 1 : 0], t);
		if (ev->failed)
			return none;
		if (id == F_ABSENT_OT) {
			if (m.nm)
				return none;
			return eval_call_absent(ev, e->args[0], t);
		}
		val_t v = vec(ev, m.nm);
		for (size_t i = 0; i < m.nm; i++) {
			double x;
			if (range_fn(ev, e, &m.m[i], t, param, &x))
				v.v[v.n++] = (smp_t){
				    id == F_LAST_OT ? m.m[i].ls : drop_name(ev, m.m[i].ls), x, t};
		}
		return v;
	}
	if (id == F_ABSENT) {
		val_t a = eval(ev, e->args[0], t);
		if (a.n)
			return none;
		return eval_call_absent(ev, e->args[0], t);
	}
	/* the time functions default to vector(time()) */
	if (e->nargs == 0) {
		val_t v = vec(ev, 1);
		static const ow_pq_labels_t empty = {0};
		v.v[v.n++] = (smp_t){&empty, math_fn(id, (double)t / 1000, 0, 0), t};
		return v;
	}
	val_t a = eval(ev, e->args[0], t);
	if (ev->failed)
		return none;
	if (id == F_HISTOGRAM_QUANTILE) {
		double q = eval(ev, e->args[0], t).s;
		a = eval(ev, e->args[1], t);
		lmap_t g;
		lmap_init(ev, &g, a.n);
		bucket_t **bk = aalloc(ev, sizeof(bucket_t *) * OW_MAX(a.n, 1));
		size_t *nb = aalloc(ev, sizeof(size_t) * OW_MAX(a.n, 1));
		const ow_pq_labels_t **gl = aalloc(ev, sizeof(*gl) * OW_MAX(a.n, 1));
		char *le_name = "le";
		for (size_t i = 0; i < a.n; i++) {
			const char *le = ow_pq_label_get(a.v[i].ls, "le");
			char *end;
			double b = strtod(le, &end);
			if (*le == '\0' || *end) {
				if (strcmp(le, "+Inf") != 0 && strcmp(le, "Inf") != 0)
					continue;
				b = INFINITY;
			}
			const ow_pq_labels_t *key = labels_filter(ev, a.v[i].ls, &le_name, 1, 0);
			int added;
			size_t k = lmap_get(&g, key, &added);
			if (added) {
				bk[k] = aalloc(ev, sizeof(bucket_t) * a.n);
				nb[k] = 0;
				gl[k] = key;
			}
			bk[k][nb[k]++] = (bucket_t){b, a.v[i].v};
		}
		val_t v = vec(ev, g.n);
		for (size_t k = 0; k < g.n; k++)
			v.v[v.n++] = (smp_t){gl[k], bucket_quantile(q, bk[k], nb[k]), t};
		return v;
	}
	if (id == F_LABEL_REPLACE || id == F_LABEL_JOIN) {
		val_t v = vec(ev, a.n);
		const char *dst = e->args[1]->str;
		for (size_t i = 0; i < a.n; i++) {
			ow_buf_t b = {0};
			if (id == F_LABEL_REPLACE) {
				const char *src = ow_pq_label_get(a.v[i].ls, e->args[3]->str);
				regmatch_t mt[10];
				if (regexec(e->re, src, 10, mt, 0) != 0) {
					v.v[v.n++] = a.v[i];
					continue;
				}
				/* $1 ... $9 and ${1}; mt[1] is our own wrapping group */
				for (const char *c = e->args[2]->str; *c; c++) {
					int g = -1;
					const char *c0 = c;
					if (c[0] == '$' && isdigit((unsigned char)c[1])) {
						g = c[1] - '0';
						c += 1;
					} else if (c[0] == '$' && c[1] == '{' &&
						   isdigit((unsigned char)c[2]) && c[3] == '}') {
						g = c[2] - '0';
						c += 3;
					}
					if (g < 0) {
						ow_buf_add(&b, c0, 1);
						continue;
					}
					int k = g == 0 ? 0 : g + 1;
					if (k < 10 && mt[k].rm_so >= 0)
						ow_buf_add(&b, src + mt[k].rm_so,
							   (size_t)(mt[k].rm_eo - mt[k].rm_so));
				}
			} else {
				for (int k = 3; k < e->nargs; k++) {
					if (k > 3)
						ow_buf_addstr(&b, e->args[2]->str);
					ow_buf_addstr(&b,
						      ow_pq_label_get(a.v[i].ls, e->args[k]->str));
				}
			}
			ow_buf_add(&b, "", 1);
			v.v[v.n] = a.v[i];
			v.v[v.n++].ls =
			    labels_with(ev, a.v[i].ls, dst, astrdup(ev, (char *)b.data));
			ow_buf_free(&b);
		}
		return v;
	}
	if (id == F_SORT || id == F_SORT_DESC) {
		/* insertion into order: vectors are small at a step */
		for (size_t i = 1; i < a.n; i++) {
			smp_t x = a.v[i];
			size_t j = i;
			while (j > 0 &&
			       (id == F_SORT ? (a.v[j - 1].v > x.v || isnan(a.v[j - 1].v))
					     : (a.v[j - 1].v < x.v || isnan(a.v[j - 1].v)))) {
				a.v[j] = a.v[j - 1];
				j--;
			}
			a.v[j] = x;
		}
		return a;
	}
	double p1 = e->nargs > 1 ? eval(ev, e->args[1], t).s : 0;
	double p2 = e->nargs > 2 ? eval(ev, e->args[2], t).s : 0;
	val_t v = vec(ev, a.n);
	for (size_t i = 0; i < a.n; i++) {
		double x = id == F_TIMESTAMP ? (double)a.v[i].t / 1000 : a.v[i].v;
		if (id != F_TIMESTAMP)
			x = math_fn(id, x, p1, p2);
		v.v[v.n++] = (smp_t){drop_name(ev, a.v[i].ls), x, t};
	}
	return v;
}

/* The group of a sample's labels ls in aggregation e. */
static const ow_pq_labels_t *group_key(ev_t *ev, const ow_pq_expr_t *e, const ow_pq_labels_t *ls)
{
	return e->without   ? labels_filter(ev, ls, e->grp, e->ngrp, 0)
	       : e->has_grp ? labels_filter(ev, ls, e->grp, e->ngrp, 1)
			    : labels_filter(ev, ls, NULL, 0, 1);
}

/* Each series' group of aggregation e over the table p, made once: the
 * table's labels live for the whole evaluation, so do their groups. */
static void pre_groups(ev_t *ev, pre_t *p, const ow_pq_expr_t *e)
{
	size_t ns = OW_MAX(p->nseries, 1);
	p->agg = e;
	p->gid = ow_alloc(sizeof(size_t) * ns);
	p->gls = ow_alloc(sizeof(*p->gls) * ns);
	ev->fixed_bytes += (int64_t)((sizeof(size_t) + sizeof(void *)) * ns);
	lmap_t g;
	lmap_init(ev, &g, p->nseries);
	for (size_t i = 0; i < p->nseries; i++) {
		const ow_pq_labels_t *key = group_key(ev, e, p->ls[i]);
		int added;
		p->gid[i] = lmap_get(&g, key, &added);
		if (added)
			p->gls[p->gid[i]] = key;
	}
	p->ng = g.n;
}

static val_t eval_agg(ev_t *ev, ow_pq_expr_t *e, int64_t t)
{
	int op = e->op,
	    param = op == A_TOPK || op == A_BOTTOMK || op == A_QUANTILE || op == A_COUNT_VALUES;
	double k = param && op != A_COUNT_VALUES ? eval(ev, e->args[0], t).s : 0;
	/* over a range function's table: its samples' series, their groups */
	const ow_pq_expr_t *arg = e->args[param];
	while (arg->kind == N_PAREN)
		arg = arg->args[0];
	size_t step, *si = NULL;
	pre_t *p = op == A_COUNT_VALUES ? NULL : pre_find(ev, arg, t, &step);
	val_t a;
	if (p && !over_budget(ev)) {
		si = aalloc(ev, sizeof(size_t) * OW_MAX(p->nseries, 1));
		a = pre_vector(ev, p, step, t, si);
		if (p->agg != e)
			pre_groups(ev, p, e);
	} else {
		a = eval(ev, e->args[param], t);
	}
	val_t none = {.type = VT_VECTOR};
	if (ev->failed)
		return none;
	if (op == A_COUNT_VALUES) {
		/* each distinct value a group of its own, the value as a label */
		const char *lab = e->args[0]->str;
		if (!is_label_name(lab)) {
			everr(ev, "bad_data", "invalid label name \"%s\"", lab);
			return none;
		}
		for (size_t i = 0; i < a.n; i++) {
			ow_buf_t b = {0};
			ow_pq_format_value(&b, a.v[i].v);
			ow_buf_add(&b, "", 1);
			a.v[i].ls = labels_with(ev, group_key(ev, e, a.v[i].ls), lab,
						astrdup(ev, (char *)b.data));
			a.v[i].v = 1;
			ow_buf_free(&b);
		}
		op = A_SUM;
	}
	size_t *gi = aalloc(ev, sizeof(size_t) * OW_MAX(a.n, 1)), ng = 0;
	const ow_pq_labels_t **gl = aalloc(ev, sizeof(*gl) * OW_MAX(a.n, 1));
	if (p) { /* the step's groups numbered as they first appear */
		size_t *at = aalloc(ev, sizeof(size_t) * OW_MAX(p->ng, 1));
		memset(at, 0xff, sizeof(size_t) * OW_MAX(p->ng, 1));
		for (size_t i = 0; i < a.n; i++) {
			size_t g = p->gid[si[i]];
			if (at[g] == SIZE_MAX) {
				at[g] = ng;
				gl[ng++] = p->gls[g];
			}
			gi[i] = at[g];
		}
	} else {
		lmap_t g;
		lmap_init(ev, &g, a.n);
		for (size_t i = 0; i < a.n; i++) {
			const ow_pq_labels_t *key =
			    e->op == A_COUNT_VALUES ? a.v[i].ls : group_key(ev, e, a.v[i].ls);
			int added;
			gi[i] = lmap_get(&g, key, &added);
			if (added)
				gl[gi[i]] = key;
		}
		ng = g.n;
	}
	if (op == A_TOPK || op == A_BOTTOMK) {
		val_t v = vec(ev, a.n);
		if (!(k >= 1))
			return v;
		size_t kk = k > (double)a.n ? a.n : (size_t)k;
		/* per group, the k best by a selection over its members */
		uint8_t *taken = aalloc(ev, OW_MAX(a.n, 1));
		memset(taken, 0, OW_MAX(a.n, 1));
		for (size_t grp = 0; grp < ng; grp++) {
			for (size_t r = 0; r < kk; r++) {
				ptrdiff_t best = -1;
				for (size_t i = 0; i < a.n; i++) {
					if (gi[i] != grp || taken[i])
						continue;
					double x = a.v[i].v, y = best >= 0 ? a.v[best].v : 0;
					if (best < 0 ||
					    (op == A_TOPK ? (x > y || (isnan(y) && !isnan(x)))
							  : (x < y || (isnan(y) && !isnan(x)))))
						best = (ptrdiff_t)i;
				}
				if (best < 0)
					break;
				taken[best] = 1;
				v.v[v.n++] = a.v[best];
			}
		}
		return v;
	}
	double *acc = aalloc(ev, sizeof(double) * OW_MAX(ng, 1) * 3);
	double *cnt = acc + ng, *m2 = acc + 2 * ng;
	memset(acc, 0, sizeof(double) * OW_MAX(ng, 1) * 3);
	double **vals = NULL;
	size_t *nv = NULL;
	if (op == A_QUANTILE) {
		vals = aalloc(ev, sizeof(double *) * OW_MAX(ng, 1));
		nv = aalloc(ev, sizeof(size_t) * OW_MAX(ng, 1));
		for (size_t i = 0; i < ng; i++) {
			vals[i] = aalloc(ev, sizeof(double) * a.n);
			nv[i] = 0;
		}
	}
	for (size_t i = 0; i < a.n; i++) {
		size_t j = gi[i];
		double x = a.v[i].v;
		cnt[j]++;
		switch (op) {
		case A_SUM:
			acc[j] += x;
			break;
		case A_AVG:
		case A_STDDEV:
		case A_STDVAR: {
			/* running mean (and its squares), as Prometheus */
			double d = x - acc[j];
			acc[j] += d / cnt[j];
			m2[j] += d * (x - acc[j]);
			break;
		}
		case A_MIN:
			if (cnt[j] == 1 || x < acc[j] || isnan(acc[j]))
				acc[j] = x;
			break;
		case A_MAX:
			if (cnt[j] == 1 || x > acc[j] || isnan(acc[j]))
				acc[j] = x;
			break;
		case A_QUANTILE:
			vals[j][nv[j]++] = x;
			break;
		}
	}
	val_t v = vec(ev, ng);
	for (size_t j = 0; j < ng; j++) {
		double x = acc[j];
		if (op == A_COUNT)
			x = cnt[j];
		else if (op == A_GROUP)
			x = 1;
		else if (op == A_STDVAR)
			x = m2[j] / cnt[j];
		else if (op == A_STDDEV)
			x = sqrt(m2[j] / cnt[j]);
		else if (op == A_QUANTILE)
			x = quantile(k, vals[j], nv[j]);
		v.v[v.n++] = (smp_t){gl[j], x, t};
	}
	return v;
}

static int binop(int op, double a, double b, double *out)
{
	switch (op) {
	case T_ADD:
		*out = a + b;
		return 1;
	case T_SUB:
		*out = a - b;
		return 1;
	case T_MUL:
		*out = a * b;
		return 1;
	case T_DIV:
		*out = a / b;
		return 1;
	case T_MOD:
		*out = fmod(a, b);
		return 1;
	case T_POW:
		*out = pow(a, b);
		return 1;
	case T_ATAN2:
		*out = atan2(a, b);
		return 1;
	case T_EQLC:
		*out = a;
		return a == b;
	case T_NEQ:
		*out = a;
		return a != b;
	case T_GT:
		*out = a;
		return a > b;
	case T_LT:
		*out = a;
		return a < b;
	case T_GE:
		*out = a;
		return a >= b;
	case T_LE:
		*out = a;
		return a <= b;
	}
	return 0;
}

/* The matching signature of ls: the on() labels, or all but the
 * ignoring() ones and __name__. */
static const ow_pq_labels_t *signature(ev_t *ev, ow_pq_expr_t *e, const ow_pq_labels_t *ls)
{
	if (e->has_grp && !e->without)
		return labels_filter(ev, ls, e->grp, e->ngrp, 1);
	return labels_filter(ev, ls, e->grp, e->ngrp, 0);
}

static val_t eval_bin(ev_t *ev, ow_pq_expr_t *e, int64_t t)
{
	val_t l = eval(ev, e->args[0], t), r = eval(ev, e->args[1], t);
	val_t none = {.type = VT_VECTOR};
	if (ev->failed)
		return none;
	int op = e->op, cmp = is_cmp(op);
	if (l.type == VT_SCALAR && r.type == VT_SCALAR) {
		double x;
		int keep = binop(op, l.s, r.s, &x);
		val_t s = {.type = VT_SCALAR, .s = cmp ? (keep ? 1 : 0) : x};
		return s;
	}
	if (l.type == VT_SCALAR || r.type == VT_SCALAR) {
		int swap = l.type == VT_SCALAR;
		val_t vv = swap ? r : l;
		double sc = swap ? l.s : r.s;
		val_t v = vec(ev, vv.n);
		for (size_t i = 0; i < vv.n; i++) {
			double a = swap ? sc : vv.v[i].v, b = swap ? vv.v[i].v : sc, x;
			int keep = binop(op, a, b, &x);
			if (cmp && swap)
				x = vv.v[i].v;
			if (cmp && e->ret_bool) {
				x = keep ? 1 : 0;
				keep = 1;
			}
			if (!keep)
				continue;
			const ow_pq_labels_t *ls =
			    cmp && !e->ret_bool ? vv.v[i].ls : drop_name(ev, vv.v[i].ls);
			v.v[v.n++] = (smp_t){ls, x, t};
		}
		return v;
	}
	/* vector and vector */
	if (is_set(op)) {
		val_t v = vec(ev, l.n + r.n);
		lmap_t m;
		lmap_init(ev, &m, l.n + r.n);
		if (op == T_OR) {
			for (size_t i = 0; i < l.n; i++) {
				int added;
				lmap_get(&m, signature(ev, e, l.v[i].ls), &added);
				v.v[v.n++] = l.v[i];
			}
			size_t nl = m.n;
			for (size_t i = 0; i < r.n; i++) {
				int added;
				size_t k = lmap_get(&m, signature(ev, e, r.v[i].ls), &added);
				if (k >= nl)
					v.v[v.n++] = r.v[i];
			}
			return v;
		}
		for (size_t i = 0; i < r.n; i++) {
			int added;
			lmap_get(&m, signature(ev, e, r.v[i].ls), &added);
		}
		size_t nr = m.n;
		for (size_t i = 0; i < l.n; i++) {
			int added;
			size_t k = lmap_get(&m, signature(ev, e, l.v[i].ls), &added);
			if ((k < nr) == (op == T_AND))
				v.v[v.n++] = l.v[i];
		}
		return v;
	}
	/* the "one" side is r (group_left) or l (group_right); one to one:
	 * r, whose signatures must be unique */
	int right_many = e->card == 2;
	val_t one = right_many ? l : r, many = right_many ? r : l;
	lmap_t m;
	lmap_init(ev, &m, one.n);
	size_t *at = aalloc(ev, sizeof(size_t) * OW_MAX(one.n, 1));
	for (size_t i = 0; i < one.n; i++) {
		int added;
		size_t k = lmap_get(&m, signature(ev, e, one.v[i].ls), &added);
		if (!added) {
			everr(ev, "execution",
			      "found duplicate series for the match group on the %s hand-side of "
			      "the operation; many-to-many matching not allowed: matching labels "
			      "must be unique on one side",
			      right_many ? "left" : "right");
			return none;
		}
		at[k] = i;
	}
	size_t none_idx = m.n;
	uint8_t *used = aalloc(ev, OW_MAX(one.n, 1));
	memset(used, 0, OW_MAX(one.n, 1));
	val_t v = vec(ev, many.n);
	lmap_t seen;
	lmap_init(ev, &seen, many.n);
	for (size_t i = 0; i < many.n; i++) {
		int added;
		const ow_pq_labels_t *sig = signature(ev, e, many.v[i].ls);
		size_t k = lmap_get(&m, sig, &added);
		if (k >= none_idx)
			continue;
		if (e->card == 0) {
			lmap_get(&seen, sig, &added);
			if (!added) {
				everr(ev, "execution",
				      "multiple matches for labels: many-to-one matching must be "
				      "explicit (group_left/group_right)");
				return none;
			}
		}
		smp_t *o = &one.v[at[k]];
		double a = right_many ? o->v : many.v[i].v, b = right_many ? many.v[i].v : o->v, x;
		int keep = binop(op, a, b, &x);
		if (cmp && e->ret_bool) {
			x = keep ? 1 : 0;
			keep = 1;
		}
		if (!keep)
			continue;
		/* the result's labels: the many side's (one to one: the left's) */
		const ow_pq_labels_t *ls = many.v[i].ls;
		if (!cmp || e->ret_bool)
			ls = drop_name(ev, ls);
		if (e->card == 0) {
			if (e->has_grp && !e->without)
				ls = labels_filter(ev, ls, e->grp, e->ngrp, 1);
			else if (e->has_grp)
				ls = labels_filter(ev, ls, e->grp, e->ngrp, 0);
		} else {
			for (int j = 0; j < e->nincl; j++)
				ls = labels_with(ev, ls, e->incl[j],
						 ow_pq_label_get(o->ls, e->incl[j]));
		}
		v.v[v.n++] = (smp_t){ls, x, t};
	}
	return v;
}

/* A subquery at t: its expression at every step-aligned time in
 * [t - offset - range, t - offset], as a range vector (Prometheus 2.x). */
static val_t eval_subquery(ev_t *ev, ow_pq_expr_t *e, int64_t t)
{
	int64_t ref = t - e->offset, step = e->substep ? e->substep : 60000;
	int64_t lo = ref - e->range,
		first = (lo >= 0 ? lo / step : -((-lo + step - 1) / step)) * step;
	if (first < lo)
		first += step;
	size_t cap = (size_t)((ref - first) / step + 1);
	val_t m = {.type = VT_MATRIX};
	size_t capm = 16;
	m.m = aalloc(ev, sizeof(rng_t) * capm);
	lmap_t map;
	lmap_init(ev, &map, 64);
	for (int64_t ts = first; ts <= ref && !ev->failed; ts += step) {
		val_t v = eval(ev, e->args[0], ts);
		for (size_t i = 0; i < v.n; i++) {
			if ((map.n + 1) * 2 > map.cap) { /* grow: the sets so far again */
				lmap_t bigger;
				lmap_init(ev, &bigger, map.cap);
				for (size_t k = 0; k < m.nm; k++) {
					int added;
					lmap_get(&bigger, m.m[k].ls, &added);
				}
				map = bigger;
			}
			int added;
			size_t k = lmap_get(&map, v.v[i].ls, &added);
			if (added) {
				if (m.nm == capm) {
					rng_t *n = aalloc(ev, sizeof(rng_t) * capm * 2);
					memcpy(n, m.m, sizeof(rng_t) * capm);
					m.m = n;
					capm *= 2;
				}
				m.m[k] =
				    (rng_t){v.v[i].ls, aalloc(ev, sizeof(ow_pq_point_t) * cap), 0};
				m.nm++;
			}
			m.m[k].p[m.m[k].n++] = (ow_pq_point_t){ts, v.v[i].v};
		}
	}
	return m;
}

static val_t eval(ev_t *ev, ow_pq_expr_t *e, int64_t t)
{
	val_t none = {.type = VT_VECTOR};
	if (over_budget(ev))
		return none;
	switch (e->kind) {
	case N_NUM: {
		val_t s = {.type = VT_SCALAR, .s = e->num};
		return s;
	}
	case N_STR: {
		val_t s = {.type = VT_STRING, .str = e->str};
		return s;
	}
	case N_PAREN:
		return eval(ev, e->args[0], t);
	case N_SEL:
		return eval_selector(ev, e, t);
	case N_SUB:
		return eval_subquery(ev, e, t);
	case N_CALL:
		return eval_call(ev, e, t);
	case N_AGG:
		return eval_agg(ev, e, t);
	case N_BIN:
		return eval_bin(ev, e, t);
	case N_NEG: {
		val_t a = eval(ev, e->args[0], t);
		if (a.type == VT_SCALAR) {
			a.s = -a.s;
			return a;
		}
		val_t v = vec(ev, a.n);
		for (size_t i = 0; i < a.n; i++)
			v.v[v.n++] = (smp_t){drop_name(ev, a.v[i].ls), -a.v[i].v, t};
		return v;
	}
	}
	return none;
}

/* Fetches every selector's series for the span the evaluation needs. */
/* Fetches every selector's series for the span the evaluation needs:
 * shift is the offsets of the subqueries around it, extra their ranges. */
static int fetch_all(ev_t *ev, ow_pq_expr_t *e, int64_t shift, int64_t extra)
{
	if (e->kind == N_SUB) {
		shift += e->offset;
		extra += e->range;
	}
	for (int i = 0; i < e->nargs; i++)
		if (fetch_all(ev, e->args[i], shift, extra) != OW_OK)
			return OW_ERROR;
	if (e->kind != N_SEL)
		return OW_OK;
	const ow_pq_eval_opts_t *o = ev->o;
	int64_t lookback = o->lookback > 0 ? o->lookback : LOOKBACK_MS;
	int64_t mint = o->start - shift - extra - e->offset - (e->range ? e->range : lookback);
	int64_t maxt = (o->step ? o->end : o->start) - shift - e->offset;
	char err[512] = "";
	int rc = o->fetch(o->fetch_arg, e->m, e->nm, mint, maxt, &e->series, &e->nseries, err,
			  sizeof(err));
	if (rc != OW_OK) {
		everr(ev,
		      rc == OW_PQ_TIMEOUT    ? "timeout"
		      : rc == OW_PQ_CANCELED ? "canceled"
					     : "execution",
		      "%s", err);
		return OW_ERROR;
	}
	for (size_t i = 0; i < e->nseries; i++)
		ev->fixed_bytes += (int64_t)(e->series[i].cap * sizeof(ow_pq_point_t) + 128);
	/* in label order, as Prometheus' storage gives them */
	for (size_t i = 1; i < e->nseries; i++) {
		ow_pq_series_t x = e->series[i];
		size_t j = i;
		while (j > 0 && ow_pq_labels_cmp(&e->series[j - 1].labels, &x.labels) > 0) {
			e->series[j] = e->series[j - 1];
			j--;
		}
		e->series[j] = x;
	}
	e->stale = ow_calloc(OW_MAX(e->nseries, 1), 1);
	for (size_t i = 0; i < e->nseries; i++) {
		add_stable(ev, &e->series[i].labels); /* in place now: derived once */
		for (size_t k = 0; k < e->series[i].n && !e->stale[i]; k++)
			e->stale[i] = ow_pq_is_stale(e->series[i].pts[k].v);
	}
	return over_budget(ev) ? OW_ERROR : OW_OK;
}

static void labels_json(ow_buf_t *b, const ow_pq_labels_t *ls)
{
	ow_buf_add(b, "{", 1);
	for (int i = 0; i < ls->n; i++) {
		if (i)
			ow_buf_add(b, ",", 1);
		ow_pq_json_string(b, ls->l[i].name);
		ow_buf_add(b, ":", 1);
		ow_pq_json_string(b, ls->l[i].value);
	}
	ow_buf_add(b, "}", 1);
}

static void point_json(ow_buf_t *b, int64_t t, double v)
{
	ow_buf_add(b, "[", 1);
	ow_pq_format_time(b, t);
	ow_buf_add(b, ",\"", 2);
	ow_pq_format_value(b, v);
	ow_buf_add(b, "\"]", 2);
}

void ow_pq_series_json(ow_buf_t *b, const ow_pq_labels_t *ls, const ow_pq_point_t *pts, size_t n,
		       int first)
{
	ow_buf_addstr(b, first ? "{\"metric\":" : ",{\"metric\":");
	labels_json(b, ls);
	ow_buf_addstr(b, ",\"values\":[");
	for (size_t k = 0; k < n; k++) {
		if (k)
			ow_buf_add(b, ",", 1);
		point_json(b, pts[k].t, pts[k].v);
	}
	ow_buf_addstr(b, "]}");
}

static void depends(const ow_pq_expr_t *e, int64_t shift, int64_t *min_offset)
{
	if (e->kind == N_SUB)
		shift += e->offset;
	for (int i = 0; i < e->nargs; i++)
		depends(e->args[i], shift, min_offset);
	if (e->kind == N_SEL)
		*min_offset = OW_MIN(*min_offset, shift + e->offset);
}

int ow_pq_depends(const ow_pq_expr_t *e, int64_t *min_offset)
{
	*min_offset = INT64_MAX;
	depends(e, 0, min_offset);
	if (*min_offset != INT64_MAX)
		return 1;
	*min_offset = 0;
	return 0;
}

/* Adds a step's sample to the answer's series. */
static void out_add(ev_t *ev, const ow_pq_labels_t *ls, int64_t t, double v)
{
	if (ev->nslots < (ev->nouts + 1) * 2) {
		size_t n = ev->nslots ? ev->nslots * 2 : 64;
		while (n < (ev->nouts + 1) * 2)
			n *= 2;
		free(ev->slots);
		ev->slots = ow_calloc(n, sizeof(size_t));
		ev->nslots = n;
		for (size_t i = 0; i < ev->nouts; i++) {
			size_t h = (size_t)ow_pq_labels_hash(&ev->outs[i].labels) & (n - 1);
			while (ev->slots[h])
				h = (h + 1) & (n - 1);
			ev->slots[h] = i + 1;
		}
	}
	size_t h = (size_t)ow_pq_labels_hash(ls) & (ev->nslots - 1);
	while (ev->slots[h] && ow_pq_labels_cmp(&ev->outs[ev->slots[h] - 1].labels, ls) != 0)
		h = (h + 1) & (ev->nslots - 1);
	outs_t *s;
	if (ev->slots[h]) {
		s = &ev->outs[ev->slots[h] - 1];
		if (s->n && s->last_t == t) {
			everr(ev, "execution",
			      "vector cannot contain metrics with the same labelset");
			return;
		}
	} else {
		if (ev->nouts == ev->capouts) {
			ev->capouts = ev->capouts ? ev->capouts * 2 : 16;
			ev->outs = ow_realloc(ev->outs, ev->capouts * sizeof(outs_t));
		}
		s = &ev->outs[ev->nouts];
		memset(s, 0, sizeof(*s));
		for (int i = 0; i < ls->n; i++)
			ow_pq_label_set(&s->labels, ls->l[i].name, ls->l[i].value);
		ev->slots[h] = ++ev->nouts;
		ev->fixed_bytes += 256;
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->pts = ow_realloc(s->pts, s->cap * sizeof(ow_pq_point_t));
		ev->fixed_bytes += (int64_t)(s->cap / 2 * sizeof(ow_pq_point_t));
	}
	s->pts[s->n++] = (ow_pq_point_t){t, v};
	s->last_t = t;
}

static int cmp_outs(const void *a, const void *b)
{
	return ow_pq_labels_cmp(&((const outs_t *)a)->labels, &((const outs_t *)b)->labels);
}

/* A vector with two samples of one label set is an error (Prometheus:
 * e.g. rate() over series that differ only in __name__). */
static int check_unique(ev_t *ev, const val_t *v)
{
	if (v->n < 2)
		return OW_OK;
	lmap_t m;
	lmap_init(ev, &m, v->n);
	for (size_t i = 0; i < v->n; i++) {
		int added;
		lmap_get(&m, v->v[i].ls, &added);
		if (!added) {
			everr(ev, "execution",
			      "vector cannot contain metrics with the same labelset");
			return OW_ERROR;
		}
	}
	return OW_OK;
}

int ow_pq_eval(ow_pq_expr_t *e, const ow_pq_eval_opts_t *o, ow_buf_t *out, const char **etype,
	       char *err, size_t errlen)
{
	ev_t ev = {.o = o, .err = err, .errlen = errlen};
	if (o->step && e->type != VT_SCALAR && e->type != VT_VECTOR) {
		snprintf(err, errlen,
			 "invalid expression type \"%s\" for range query, must be Scalar or "
			 "instant Vector",
			 vt_names[e->type]);
		*etype = "bad_data";
		return OW_ERROR;
	}
	if (fetch_all(&ev, e, 0, 0) != OW_OK) {
		*etype = ev.etype;
		return OW_ERROR;
	}
	size_t mark = out->len;
	if (o->step)
		pre_all(&ev, e);
	if (o->step == 0) {
		val_t v = eval(&ev, e, o->start);
		if (!ev.failed && v.type == VT_VECTOR)
			check_unique(&ev, &v);
		if (!ev.failed) {
			static const char *const rt[] = {"scalar", "vector", "matrix", "string"};
			ow_buf_printf(out, "{\"resultType\":\"%s\",\"result\":", rt[v.type]);
			if (v.type == VT_SCALAR) {
				point_json(out, o->start, v.s);
			} else if (v.type == VT_STRING) {
				ow_buf_add(out, "[", 1);
				ow_pq_format_time(out, o->start);
				ow_buf_add(out, ",", 1);
				ow_pq_json_string(out, v.str);
				ow_buf_add(out, "]", 1);
			} else if (v.type == VT_VECTOR) {
				ow_buf_add(out, "[", 1);
				for (size_t i = 0; i < v.n; i++) {
					ow_buf_addstr(out, i ? ",{\"metric\":" : "{\"metric\":");
					labels_json(out, v.v[i].ls);
					ow_buf_addstr(out, ",\"value\":");
					point_json(out, o->start, v.v[i].v);
					ow_buf_add(out, "}", 1);
				}
				ow_buf_add(out, "]", 1);
			} else {
				ow_buf_add(out, "[", 1);
				for (size_t i = 0; i < v.nm; i++) {
					ow_buf_addstr(out, i ? ",{\"metric\":" : "{\"metric\":");
					labels_json(out, v.m[i].ls);
					ow_buf_addstr(out, ",\"values\":[");
					for (size_t k = 0; k < v.m[i].n; k++) {
						if (k)
							ow_buf_add(out, ",", 1);
						point_json(out, v.m[i].p[k].t, v.m[i].p[k].v);
					}
					ow_buf_addstr(out, "]}");
				}
				ow_buf_add(out, "]", 1);
			}
			ow_buf_add(out, "}", 1);
		}
		arena_free(&ev);
	} else {
		int64_t points = 0;
		for (int64_t t = o->start; t <= o->end && !ev.failed; t += o->step) {
			val_t v = eval(&ev, e, t);
			if (!ev.failed && v.type == VT_SCALAR) {
				static const ow_pq_labels_t empty = {0};
				out_add(&ev, &empty, t, v.s);
				points++;
			} else if (!ev.failed) {
				for (size_t i = 0; i < v.n && !ev.failed; i++)
					out_add(&ev, v.v[i].ls, t, v.v[i].v);
				points += (int64_t)v.n;
			}
			arena_reset(&ev);
			if (o->max_points && points > o->max_points)
				everr(&ev, "execution",
				      "query processing would load too many samples into memory: "
				      "more "
				      "than %lld points",
				      (long long)o->max_points);
			over_budget(&ev);
		}
		if (!ev.failed) {
			if (ev.nouts > 1)
				qsort(ev.outs, ev.nouts, sizeof(outs_t), cmp_outs);
			if (o->matrix) {
				*o->matrix = ow_calloc(OW_MAX(ev.nouts, 1), sizeof(ow_pq_series_t));
				for (size_t i = 0; i < ev.nouts; i++) {
					(*o->matrix)[i] =
					    (ow_pq_series_t){ev.outs[i].labels, ev.outs[i].pts,
							     ev.outs[i].n, ev.outs[i].cap};
					ev.outs[i] = (outs_t){0};
				}
				*o->nmatrix = ev.nouts;
			} else {
				ow_buf_addstr(out, "{\"resultType\":\"matrix\",\"result\":[");
				for (size_t i = 0; i < ev.nouts; i++)
					ow_pq_series_json(out, &ev.outs[i].labels, ev.outs[i].pts,
							  ev.outs[i].n, i == 0);
				ow_buf_addstr(out, "]}");
			}
		}
	}
	for (size_t i = 0; i < ev.nouts; i++) {
		ow_pq_labels_free(&ev.outs[i].labels);
		free(ev.outs[i].pts);
	}
	free(ev.outs);
	free(ev.slots);
	pre_free(&ev);
	arena_free(&ev);
	if (ev.failed) {
		out->len = mark;
		*etype = ev.etype;
		return OW_ERROR;
	}
	return OW_OK;
}

/*
 * convert.c - the two forms of the JSON columns, and the way between them.
 *
 * Format 1 (parts written before plain JSON; a part without the
 * otlp_exact column) kept every AnyValue as OTLP/JSON:
 * {"http.route":{"stringValue":"/api"},"code":{"intValue":"200"}}, a log
 * body as {"stringValue":"text"}. Format 2 (columns.c, every row written
 * since) keeps them plain: {"http.route":"/api","code":200}, a string
 * body as the text itself, and the OTLP/JSON of a row's values where
 * plain loses something in the row's otlp_exact, {"column": OTLP/JSON}.
 *
 * The columns that differ: the KeyValue lists (resource_attributes,
 * scope_attributes, attributes, metric_metadata), the body, and the
 * attributes inside events and links (attributes) and exemplars
 * (filteredAttributes). Everything else is the same text in both.
 *
 *   format 1 -> 2     ow_columns_v1_plain: how old parts are read (both
 *                     query engines convert a column of a format 1 part as
 *                     they read it) and rewritten (a merge writes format 2
 *                     only, ow_columns_v1_upgrade)
 *   format 2 -> 1     ow_columns_otlp: a row's OTLP/JSON again, from its
 *                     plain values and otlp_exact, for exports
 *
 * Both read text this module wrote, so neither is a general JSON parser:
 * they walk tokens, and a text of another shape is reported (-1,
 * OW_ERROR) rather than guessed at. Numbers are copied as written: an
 * integer has no '.' or exponent and a double always has one (columns.c
 * writes them so), which is how plain JSON keeps int 1 and double 1.0
 * apart.
 */
#include "columns.h"

#include <string.h>

enum { SH_SAME, SH_KV, SH_BODY, SH_LIST };

/* The shape of a column's JSON, and the member of a list's objects that
 * holds KeyValues. */
static int shape(int signal, int col, const char **member)
{
	const char *name = ow_columns_schema(signal)[col].name;
	static const char *const kv[] = {"resource_attributes", "scope_attributes", "attributes",
					 "metric_metadata"};
	for (size_t i = 0; i < OW_NELEMS(kv); i++)
		if (strcmp(name, kv[i]) == 0)
			return SH_KV;
	if (strcmp(name, "body") == 0)
		return SH_BODY;
	if (strcmp(name, "events") == 0 || strcmp(name, "links") == 0) {
		*member = "\"attributes\"";
		return SH_LIST;
	}
	if (strcmp(name, "exemplars") == 0) {
		*member = "\"filteredAttributes\"";
		return SH_LIST;
	}
	return SH_SAME;
}

int ow_columns_v1_differs(int signal, int col)
{
	const char *m;
	return shape(signal, col, &m) != SH_SAME;
}

/* ---- tokens ---- */

typedef struct {
	const uint8_t *p, *e;
	int bad;   /* not of the expected shape */
	int lossy; /* format 1 -> 2: a value plain JSON does not hold exactly */
} rd_t;

static void ws(rd_t *r)
{
	while (r->p < r->e && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

/* 1 when the next character (after white space) is c, taken. */
static int eat(rd_t *r, char c)
{
	ws(r);
	if (r->p < r->e && *r->p == (uint8_t)c) {
		r->p++;
		return 1;
	}
	return 0;
}

static int peek(rd_t *r)
{
	ws(r);
	return r->p < r->e ? *r->p : -1;
}

/* Past a string token (at its quote): its bytes, quotes included. */
static int string(rd_t *r, const uint8_t **s, size_t *n)
{
	if (peek(r) != '"')
		return r->bad = 1, 0;
	const uint8_t *q = r->p + 1;
	while (q < r->e && *q != '"')
		q += *q == '\\' ? 2 : 1;
	if (q >= r->e)
		return r->bad = 1, 0;
	*s = r->p;
	*n = (size_t)(q + 1 - r->p);
	r->p = q + 1;
	return 1;
}

/* Past any value: its bytes. */
static int value(rd_t *r, const uint8_t **s, size_t *n)
{
	int c = peek(r);
	if (c == '"')
		return string(r, s, n);
	const uint8_t *from = r->p;
	if (c == '{' || c == '[') {
		int depth = 0;
		do {
			if (*r->p == '"') {
				const uint8_t *x;
				size_t k;
				if (!string(r, &x, &k))
					return 0;
				continue;
			}
			if (*r->p == '{' || *r->p == '[')
				depth++;
			else if (*r->p == '}' || *r->p == ']')
				depth--;
			r->p++;
		} while (depth > 0 && r->p < r->e);
		if (depth)
			return r->bad = 1, 0;
	} else {
		while (r->p < r->e && !strchr(",:]} \t\r\n{[\"", *r->p))
			r->p++;
		if (r->p == from)
			return r->bad = 1, 0;
	}
	*s = from;
	*n = (size_t)(r->p - from);
	return 1;
}

static int token_is(const uint8_t *s, size_t n, const char *lit)
{
	return n == strlen(lit) && memcmp(s, lit, n) == 0;
}

int ow_columns_members(const uint8_t *p, size_t n, ow_columns_member_t *m, size_t max)
{
	rd_t r = {p, p + n, 0, 0};
	if (!eat(&r, '{'))
		return -1;
	size_t k = 0;
	if (eat(&r, '}'))
		return r.p == r.e ? 0 : -1;
	do {
		ow_columns_member_t x;
		if (!string(&r, &x.key, &x.klen) || !eat(&r, ':') || !value(&r, &x.val, &x.vlen))
			return -1;
		if (k == max)
			return -1;
		m[k++] = x;
	} while (eat(&r, ','));
	return eat(&r, '}') && r.p == r.e ? (int)k : -1;
}

/* ---- format 1 -> 2 ---- */

#define MAX_DEPTH 200

typedef void value_fn(rd_t *r, ow_buf_t *o, int depth);

/* An object {"key": value, ...}, each value converted by fn. */
static void object(rd_t *r, ow_buf_t *o, int depth, value_fn *fn)
{
	const uint8_t *k;
	size_t kn;
	if (!eat(r, '{'))
		return (void)(r->bad = 1);
	ow_buf_add(o, "{", 1);
	for (int n = 0; !r->bad && !eat(r, '}'); n++) {
		if ((n && !eat(r, ',')) || !string(r, &k, &kn) || !eat(r, ':'))
			return (void)(r->bad = 1);
		if (n)
			ow_buf_add(o, ",", 1);
		ow_buf_add(o, k, kn);
		ow_buf_add(o, ":", 1);
		fn(r, o, depth + 1);
	}
	ow_buf_add(o, "}", 1);
}

static value_fn v1_any, wrap_any;

/* {"key": AnyValue, ...} -> {"key": plain, ...} */
static void v1_kv(rd_t *r, ow_buf_t *o, int depth)
{
	object(r, o, depth, v1_any);
}

/* {"values":[...]} of an arrayValue (kv 0) or a kvlistValue (kv 1). */
static void v1_list(rd_t *r, ow_buf_t *o, int depth, int kv)
{
	const uint8_t *s;
	size_t n;
	if (!eat(r, '{') || !string(r, &s, &n) || !token_is(s, n, "\"values\"") || !eat(r, ':') ||
	    !eat(r, '['))
		return (void)(r->bad = 1);
	ow_buf_add(o, kv ? "{" : "[", 1);
	for (int i = 0; !r->bad && !eat(r, ']'); i++) {
		if (i && !eat(r, ','))
			return (void)(r->bad = 1);
		if (i)
			ow_buf_add(o, ",", 1);
		if (!kv) {
			v1_any(r, o, depth + 1);
			continue;
		}
		/* {"key":"k","value":{...}} */
		const uint8_t *k = NULL, *x;
		size_t kn = 0, xn;
		if (!eat(r, '{'))
			return (void)(r->bad = 1);
		for (int m = 0; !r->bad && !eat(r, '}'); m++) {
			if ((m && !eat(r, ',')) || !string(r, &x, &xn) || !eat(r, ':'))
				return (void)(r->bad = 1);
			if (token_is(x, xn, "\"key\"")) {
				if (!string(r, &k, &kn))
					return;
			} else if (token_is(x, xn, "\"value\"") && k) {
				ow_buf_add(o, k, kn);
				ow_buf_add(o, ":", 1);
				v1_any(r, o, depth + 1);
			} else {
				return (void)(r->bad = 1);
			}
		}
	}
	if (!eat(r, '}'))
		r->bad = 1;
	ow_buf_add(o, kv ? "}" : "]", 1);
}

/* An AnyValue: {} null, {"stringValue":"s"} "s", {"intValue":"9"} 9, ... */
static void v1_any(rd_t *r, ow_buf_t *o, int depth)
{
	const uint8_t *k, *s;
	size_t kn, n;
	int kinds = 0;
	if (depth > MAX_DEPTH || !eat(r, '{'))
		return (void)(r->bad = 1);
	for (int m = 0; !r->bad && !eat(r, '}'); m++) {
		if ((m && !eat(r, ',')) || !string(r, &k, &kn) || !eat(r, ':'))
			return (void)(r->bad = 1);
		if (token_is(k, kn, "\"keyStrindex\"")) {
			r->lossy = 1;
			value(r, &s, &n);
			continue;
		}
		if (kinds++)
			return (void)(r->bad = 1);
		int kv = token_is(k, kn, "\"kvlistValue\"");
		if (kv || token_is(k, kn, "\"arrayValue\"")) {
			v1_list(r, o, depth, kv);
			continue;
		}
		if (!value(r, &s, &n))
			return;
		if (token_is(k, kn, "\"intValue\"") && n > 2 && s[0] == '"') {
			ow_buf_add(o, s + 1, n - 2);
		} else if (token_is(k, kn, "\"stringValue\"") || token_is(k, kn, "\"boolValue\"") ||
			   token_is(k, kn, "\"intValue\"") ||
			   (token_is(k, kn, "\"doubleValue\"") && s[0] != '"')) {
			ow_buf_add(o, s, n);
		} else if (token_is(k, kn, "\"doubleValue\"") ||
			   token_is(k, kn, "\"bytesValue\"") ||
			   token_is(k, kn, "\"stringValueStrindex\"")) {
			ow_buf_add(o, s, n); /* "NaN", base64, an index: not their type */
			r->lossy = 1;
		} else {
			return (void)(r->bad = 1);
		}
	}
	if (!kinds)
		ow_buf_addstr(o, "null");
}

/* [{..., "attributes": {...}, ...}, ...]: member's KeyValues converted,
 * the rest copied (v1 1: to format 2; 0: back to OTLP/JSON). */
static void wrap_kv(rd_t *r, ow_buf_t *o, int depth);

static void list(rd_t *r, ow_buf_t *o, const char *member, int v1)
{
	const uint8_t *k, *s;
	size_t kn, n;
	if (!eat(r, '['))
		return (void)(r->bad = 1);
	ow_buf_add(o, "[", 1);
	for (int i = 0; !r->bad && !eat(r, ']'); i++) {
		if ((i && !eat(r, ',')) || !eat(r, '{'))
			return (void)(r->bad = 1);
		ow_buf_addstr(o, i ? ",{" : "{");
		for (int m = 0; !r->bad && !eat(r, '}'); m++) {
			if ((m && !eat(r, ',')) || !string(r, &k, &kn) || !eat(r, ':'))
				return (void)(r->bad = 1);
			if (m)
				ow_buf_add(o, ",", 1);
			ow_buf_add(o, k, kn);
			ow_buf_add(o, ":", 1);
			if (token_is(k, kn, member))
				(v1 ? v1_kv : wrap_kv)(r, o, 0);
			else if (value(r, &s, &n))
				ow_buf_add(o, s, n);
		}
		ow_buf_add(o, "}", 1);
	}
	ow_buf_add(o, "]", 1);
}

static int v1_plain(int sh, const char *member, const uint8_t *p, size_t n, ow_buf_t *out)
{
	rd_t r = {p, p + n, 0, 0};
	size_t at = out->len;
	if (sh == SH_KV) {
		v1_kv(&r, out, 0);
	} else if (sh == SH_LIST) {
		list(&r, out, member, 1);
	} else if (peek(&r) == '{' && n > 16 && memcmp(p, "{\"stringValue\":\"", 16) == 0) {
		/* a string body: its text */
		const uint8_t *s;
		size_t sn;
		r.p += 15;
		if (string(&r, &s, &sn) && eat(&r, '}'))
			ow_json_unescape(out, s + 1, sn - 2, 0);
	} else {
		v1_any(&r, out, 0);
		r.lossy = 1; /* a body of another kind: plain text cannot say which */
	}
	if (r.bad || peek(&r) != -1) {
		out->len = at;
		ow_buf_add(out, p, n);
		return -1;
	}
	return r.lossy;
}

int ow_columns_v1_plain(int signal, int col, const uint8_t *p, size_t n, ow_buf_t *out)
{
	const char *member = NULL;
	int sh = shape(signal, col, &member);
	if (sh == SH_SAME) {
		ow_buf_add(out, p, n);
		return 0;
	}
	return v1_plain(sh, member, p, n, out);
}

/* Converts the entries of c; lossy[i] (when not NULL) says whether entry
 * i lost something, and old (when not NULL) gets the entries as they
 * were. */
static void convert_col(int signal, int col, ow_col_t *c, uint8_t *lossy, ow_col_t *old)
{
	const char *member = NULL;
	int sh = shape(signal, col, &member);
	size_t n = c->offs.len / 4;
	if (sh == SH_SAME)
		return;
	ow_buf_t data = {0}, offs = {0};
	ow_buf_reserve(&data, c->data.len);
	ow_buf_reserve(&offs, c->offs.len);
	for (size_t i = 0; i < n; i++) {
		size_t len;
		const uint8_t *p = ow_col_bytes_at(c, i, &len);
		int r = v1_plain(sh, member, p, len, &data);
		if (lossy)
			lossy[i] = r > 0;
		uint32_t end = (uint32_t)data.len;
		ow_buf_add(&offs, &end, 4);
	}
	if (old) {
		old->data = c->data;
		old->offs = c->offs;
	} else {
		ow_buf_free(&c->data);
		ow_buf_free(&c->offs);
	}
	c->data = data;
	c->offs = offs;
}

void ow_columns_v1_column(int signal, int col, ow_col_t *c)
{
	convert_col(signal, col, c, NULL, NULL);
}

void ow_columns_v1_upgrade(int signal, ow_table_t *t)
{
	int xc = ow_columns_ncols(signal) - 1;
	uint8_t *lossy[OW_METRICS_NCOLS] = {0};
	ow_col_t old[OW_METRICS_NCOLS] = {0};
	size_t vp[OW_METRICS_NCOLS] = {0};
	for (int c = 0; c < xc; c++) {
		if (!ow_columns_v1_differs(signal, c))
			continue;
		lossy[c] = ow_calloc(t->cols[c].offs.len / 4 + 1, 1);
		convert_col(signal, c, &t->cols[c], lossy[c], &old[c]);
	}
	ow_col_t *x = &t->cols[xc];
	ow_col_free(x); /* all NULL: a format 1 part has no such column */
	ow_buf_t obj = {0};
	for (size_t row = 0; row < t->nrows; row++) {
		obj.len = 0;
		for (int c = 0; c < xc; c++) {
			const ow_col_t *o = &t->cols[c];
			if (!lossy[c] || !o->defs.data[row])
				continue;
			size_t e = ow_col_entry(o, vp[c]++), len;
			if (!lossy[c][e])
				continue;
			const uint8_t *p = ow_col_bytes_at(&old[c], e, &len);
			ow_buf_printf(&obj, "%s\"%s\":", obj.len ? "," : "{", t->defs[c].name);
			ow_buf_add(&obj, p, len);
		}
		if (obj.len) {
			ow_buf_add(&obj, "}", 1);
			ow_col_bytes(x, obj.data, obj.len);
		} else {
			ow_col_null(x);
		}
	}
	ow_buf_free(&obj);
	for (int c = 0; c < xc; c++) {
		free(lossy[c]);
		ow_col_free(&old[c]);
	}
}

/* ---- format 2 -> 1 ---- */

/* {"k": plain, ...} -> {"k": AnyValue, ...} */
static void wrap_kv(rd_t *r, ow_buf_t *o, int depth)
{
	object(r, o, depth, wrap_any);
}

static void wrap_any(rd_t *r, ow_buf_t *o, int depth)
{
	const uint8_t *s, *k;
	size_t n, kn;
	int c = peek(r);
	if (depth > MAX_DEPTH)
		return (void)(r->bad = 1);
	if (c == '[' || c == '{') {
		r->p++;
		ow_buf_addstr(o, c == '[' ? "{\"arrayValue\":{\"values\":["
					  : "{\"kvlistValue\":{\"values\":[");
		for (int i = 0; !r->bad && !eat(r, c == '[' ? ']' : '}'); i++) {
			if (i && !eat(r, ','))
				return (void)(r->bad = 1);
			if (i)
				ow_buf_add(o, ",", 1);
			if (c == '{') {
				if (!string(r, &k, &kn) || !eat(r, ':'))
					return (void)(r->bad = 1);
				ow_buf_addstr(o, "{\"key\":");
				ow_buf_add(o, k, kn);
				ow_buf_addstr(o, ",\"value\":");
			}
			wrap_any(r, o, depth + 1);
			if (c == '{')
				ow_buf_add(o, "}", 1);
		}
		ow_buf_addstr(o, "]}}");
		return;
	}
	if (!value(r, &s, &n))
		return;
	if (c == '"') {
		ow_buf_addstr(o, "{\"stringValue\":");
	} else if (token_is(s, n, "true") || token_is(s, n, "false")) {
		ow_buf_addstr(o, "{\"boolValue\":");
	} else if (token_is(s, n, "null")) {
		ow_buf_addstr(o, "{}");
		return;
	} else if (ow_json_is_real(s, n)) {
		ow_buf_addstr(o, "{\"doubleValue\":");
	} else {
		ow_buf_addstr(o, "{\"intValue\":\"");
		ow_buf_add(o, s, n);
		ow_buf_addstr(o, "\"}");
		return;
	}
	ow_buf_add(o, s, n);
	ow_buf_add(o, "}", 1);
}

/* Member name of object exact[0..n): its value's text, or NULL. */
static const uint8_t *member_of(const uint8_t *exact, size_t n, const char *name, size_t *len)
{
	rd_t r = {exact, exact + n, 0, 0};
	const uint8_t *k, *v;
	size_t kn, vn, nl = strlen(name);
	if (!eat(&r, '{'))
		return NULL;
	for (int m = 0; !r.bad && !eat(&r, '}'); m++) {
		if ((m && !eat(&r, ',')) || !string(&r, &k, &kn) || !eat(&r, ':') ||
		    !value(&r, &v, &vn))
			return NULL;
		if (kn == nl + 2 && memcmp(k + 1, name, nl) == 0) {
			*len = vn;
			return v;
		}
	}
	return NULL;
}

int ow_columns_otlp(int signal, int col, const uint8_t *p, size_t n, const uint8_t *exact,
		    size_t exact_len, ow_buf_t *out)
{
	const char *member = NULL;
	int sh = shape(signal, col, &member);
	size_t at = out->len, xn = 0;
	const uint8_t *x =
	    exact ? member_of(exact, exact_len, ow_columns_schema(signal)[col].name, &xn) : NULL;
	if (x) {
		ow_buf_add(out, x, xn);
		return OW_OK;
	}
	rd_t r = {p, p + n, 0, 0};
	switch (sh) {
	case SH_SAME:
		ow_buf_add(out, p, n);
		return OW_OK;
	case SH_KV:
		wrap_kv(&r, out, 0);
		break;
	case SH_LIST:
		list(&r, out, member, 0);
		break;
	default: { /* a body without otlp_exact is a string: its text */
		size_t run = 0;
		ow_buf_addstr(out, "{\"stringValue\":\"");
		for (size_t i = 0; i < n; i++) {
			if (p[i] >= 0x20 && p[i] != '"' && p[i] != '\\')
				continue;
			char e[6];
			ow_buf_add(out, p + run, i - run);
			ow_buf_add(out, e, ow_columns_escape(p[i], e));
			run = i + 1;
		}
		ow_buf_add(out, p + run, n - run);
		ow_buf_addstr(out, "\"}");
		return OW_OK;
	}
	}
	if (r.bad || peek(&r) != -1) {
		out->len = at;
		return OW_ERROR;
	}
	return OW_OK;
}

/*
 * expr.c - two of SQLite's operators, done again in C for the columnar
 * executor, with SQLite 3.40's results (the version Debian ships; t/86
 * columnar.t compares the two on generated queries):
 *
 *   text LIKE pattern   '%' any run of characters, '_' one character,
 *                       an ESCAPE character; ASCII letters match either
 *                       case (SQLite's default); characters are UTF-8
 *                       code points read as sqlite3Utf8Read reads them (a
 *                       bad sequence is U+FFFD); the text ends at its
 *                       first NUL, as SQLite's like() reads it. GLOB
 *                       too ('*', '?', [...] sets, case counts). The
 *                       same code is SQLite's like() and glob() in our
 *                       connections (funcs.c), where it asks the query's
 *                       budget as it goes.
 *
 *   json ->> path, json -> path, json_extract(json, path)
 *                       ours in every connection (funcs.c) and the
 *                       columnar executor's: one walk, one conversion.
 *                       A path that does not start with '$' is ONE key,
 *                       dots and all ('http.route'), as DuckDB reads it
 *                       (SQLite reads 'a.b' as '$.a.b', two steps); '$'
 *                       paths are SQLite's: .key, ."b.c", [N]; an integer
 *                       operand N is [N]. A member is the first of
 *                       duplicate keys, compared with the label as it is
 *                       written in the JSON, escapes and all (as SQLite
 *                       does). ->> and json_extract give a string's text
 *                       (unescaped as SQLite 3.40 does), an integer an
 *                       integer, a real the real SQLite reads (its own
 *                       conversion: OW_DECLINED here, funcs.c asks
 *                       SQLite), true 1, false 0, null or a missing
 *                       member NULL, an object or array its JSON text
 *                       (without white space, as SQLite renders it); ->
 *                       gives the JSON text of what the path names.
 *                       Text that is not JSON (a log line) is a string:
 *                       '$' gives it, a member NULL, never an error.
 *                       The steps .stringValue, .intValue, .doubleValue
 *                       and .boolValue of OTLP/JSON AnyValues (how format
 *                       1 parts stored values, modules/columns/convert.c)
 *                       still answer on plain values, so queries written
 *                       for them keep their answers: on a scalar of their
 *                       kind (an object is looked into as usual) they give
 *                       the string, the integer as text (format 1 held
 *                       "200"), the real (or the strings NaN, Infinity,
 *                       -Infinity) and the bool; on another kind NULL.
 */
#include "internal.h"
#include "../columns/columns.h"

#include <strings.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* ---- LIKE ---- */

/* The code point at *s (before end), as SQLite's sqlite3Utf8Read. */
static uint32_t utf8_read(const uint8_t **s, const uint8_t *end)
{
	static const uint8_t trans1[] = {
	    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
	    0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19,
	    0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
	    0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x00, 0x01, 0x02, 0x03,
	    0x04, 0x05, 0x06, 0x07, 0x00, 0x01, 0x02, 0x03, 0x00, 0x01, 0x00, 0x00,
	};
	uint32_t c = *(*s)++;
	if (c >= 0xc0) {
		c = trans1[c - 0xc0];
		while (*s < end && (**s & 0xc0) == 0x80)
			c = (c << 6) + (0x3f & *(*s)++);
		if (c < 0x80 || (c & 0xFFFFF800) == 0xD800 || (c & 0xFFFFFFFE) == 0xFFFE)
			c = 0xFFFD;
	}
	return c;
}

static uint32_t fold(uint32_t c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

uint32_t ow_search_utf8(const uint8_t **s, const uint8_t *end)
{
	return utf8_read(s, end);
}

/* The next code point of [*s, end), 0 at the end: SQLite's strings end
 * at their NUL, and ours are cut there before. */
static uint32_t next(const uint8_t **s, const uint8_t *end)
{
	return *s < end ? utf8_read(s, end) : 0;
}

enum { M_MATCH, M_NOMATCH, M_NOWILDCARD, M_STOP };

/* SQLite's patternCompare, step for step, and so its results: a '%'
 * tries the rest of the pattern at each place its next character is
 * found, and a failure past a '%' fails the whole match (no other place
 * can do better: NOWILDCARD), which keeps it polynomial. esc is LIKE's
 * ESCAPE character, or GLOB's '['; the budget is asked as it goes
 * (M_STOP), so a long text and pattern cannot hold a query in one call. */
static int match(const uint8_t *p, const uint8_t *pe, const uint8_t *s, const uint8_t *se,
		 const ow_search_glob_t *g, uint32_t esc)
{
	uint32_t c, c2;
	const uint8_t *escaped = NULL;
	while ((c = next(&p, pe)) != 0) {
		if (c == g->all) {
			while ((c = next(&p, pe)) == g->all || (c == g->one && g->one != 0))
				if (c == g->one && next(&s, se) == 0)
					return M_NOWILDCARD;
			if (c == 0)
				return M_MATCH;
			if (c == esc) {
				if (g->set == 0) {
					if ((c = next(&p, pe)) == 0)
						return M_NOWILDCARD;
				} else {
					/* '[' right after the '*': the rest is tried at
					 * every character */
					const uint8_t *back = p - 1;
					for (; s < se; next(&s, se)) {
						if (ow_search_poll())
							return M_STOP;
						int m = match(back, pe, s, se, g, esc);
						if (m != M_NOMATCH)
							return m;
					}
					return M_NOWILDCARD;
				}
			}
			while (s < se) {
				if (ow_search_poll())
					return M_STOP;
				c2 = next(&s, se);
				if (c2 != c &&
				    !(g->nocase && c < 0x80 && c2 < 0x80 && fold(c) == fold(c2)))
					continue;
				int m = match(p, pe, s, se, g, esc);
				if (m != M_NOMATCH)
					return m;
			}
			return M_NOWILDCARD;
		}
		if (c == esc) {
			if (g->set == 0) {
				if ((c = next(&p, pe)) == 0)
					return M_NOMATCH;
				escaped = p;
			} else {
				uint32_t prior = 0;
				int seen = 0, invert = 0;
				if ((c = next(&s, se)) == 0)
					return M_NOMATCH;
				c2 = next(&p, pe);
				if (c2 == '^') {
					invert = 1;
					c2 = next(&p, pe);
				}
				if (c2 == ']') {
					if (c == ']')
						seen = 1;
					c2 = next(&p, pe);
				}
				while (c2 && c2 != ']') {
					if (c2 == '-' && p < pe && *p != ']' && prior > 0) {
						c2 = next(&p, pe);
						if (c >= prior && c <= c2)
							seen = 1;
						prior = 0;
					} else {
						if (c == c2)
							seen = 1;
						prior = c2;
					}
					c2 = next(&p, pe);
				}
				if (c2 == 0 || (seen ^ invert) == 0)
					return M_NOMATCH;
				continue;
			}
		}
		c2 = next(&s, se);
		if (c == c2)
			continue;
		if (g->nocase && c < 0x80 && c2 < 0x80 && fold(c) == fold(c2))
			continue;
		if (c == g->one && p != escaped && c2 != 0)
			continue;
		return M_NOMATCH;
	}
	return s == se ? M_MATCH : M_NOMATCH;
}

static const uint8_t *cut(const uint8_t *s, size_t n)
{
	const uint8_t *nul = n ? memchr(s, 0, n) : NULL;
	return nul ? nul : s + n;
}

const ow_search_glob_t ow_search_like_rules = {'%', '_', 0, 1};
const ow_search_glob_t ow_search_glob_rules = {'*', '?', '[', 0};

int ow_search_match(const uint8_t *p, size_t pn, const uint8_t *s, size_t sn,
		    const ow_search_glob_t *g, uint32_t esc)
{
	int m = match(p, cut(p, pn), s, cut(s, sn), g, esc);
	return m == M_MATCH ? 1 : m == M_STOP ? -1 : 0;
}

int ow_search_like(const uint8_t *p, size_t pn, const uint8_t *s, size_t sn)
{
	return ow_search_match(p, pn, s, sn, &ow_search_like_rules, 0) == 1;
}

/* '%needle%' with an ASCII needle and no '_': a substring search, where
 * byte and code point matching agree (an ASCII byte is always a character
 * of its own in sqlite3Utf8Read). needle is lowercase; 0 when the
 * pattern is of another shape. */
int ow_search_like_needle(const uint8_t *p, size_t pn, char *needle, size_t cap)
{
	if (pn < 2 || p[0] != '%' || p[pn - 1] != '%' || pn - 2 >= cap)
		return 0;
	for (size_t i = 1; i + 1 < pn; i++) {
		if (p[i] == '%' || p[i] == '_' || p[i] >= 0x80 || p[i] == 0)
			return 0;
		needle[i - 1] = (char)fold(p[i]);
	}
	needle[pn - 2] = '\0';
	return 1;
}

/* 1 when the needle is at s: its middle bytes, in any ASCII case when
 * folding (the needle lowercase then), as they are otherwise. */
static int needle_at(const uint8_t *nd, size_t m, const uint8_t *s, int folding)
{
	for (size_t k = 1; k + 1 < m; k++)
		if ((folding ? fold(s[k]) : s[k]) != nd[k])
			return 0;
	return 1;
}

/* Where the needle (m > 0 bytes) first is in s, SIZE_MAX when nowhere:
 * candidates where its first and its last byte match, 16 at a time (a
 * letter's two cases differ by 0x20 alone). No setup per call, unlike
 * memmem's: it runs once a row. */
static size_t find(const uint8_t *nd, size_t m, const uint8_t *s, size_t n, int folding)
{
	if (n < m)
		return SIZE_MAX;
	uint8_t c0 = nd[0], c1 = nd[m - 1];
	uint8_t m0 = folding && c0 >= 'a' && c0 <= 'z' ? 0x20 : 0;
	uint8_t m1 = folding && c1 >= 'a' && c1 <= 'z' ? 0x20 : 0;
	size_t i = 0;
#ifdef __SSE2__
	const __m128i f0 = _mm_set1_epi8((char)c0), f1 = _mm_set1_epi8((char)c1);
	const __m128i o0 = _mm_set1_epi8((char)m0), o1 = _mm_set1_epi8((char)m1);
	for (; i + 15 + m <= n; i += 16) {
		__m128i a = _mm_or_si128(_mm_loadu_si128((const __m128i *)(s + i)), o0);
		__m128i b = _mm_or_si128(_mm_loadu_si128((const __m128i *)(s + i + m - 1)), o1);
		unsigned bits = (unsigned)_mm_movemask_epi8(
		    _mm_and_si128(_mm_cmpeq_epi8(a, f0), _mm_cmpeq_epi8(b, f1)));
		for (; bits; bits &= bits - 1) {
			size_t j = i + (size_t)__builtin_ctz(bits);
			if (needle_at(nd, m, s + j, folding))
				return j;
		}
	}
#endif
	for (; i + m <= n; i++)
		if ((s[i] | m0) == c0 && (s[i + m - 1] | m1) == c1 &&
		    needle_at(nd, m, s + i, folding))
			return i;
	return SIZE_MAX;
}

int ow_search_like_find(const char *needle, size_t m, const uint8_t *s, size_t n)
{
	if (m == 0)
		return 1;
	/* a match counts only before the text's first NUL, where SQLite's
	 * like() stops */
	size_t j = find((const uint8_t *)needle, m, s, n, 1);
	return j != SIZE_MAX && !memchr(s, 0, j + m);
}

/* ---- JSON ---- */

void ow_search_holding(const uint8_t *data, const uint32_t *ends, size_t from, size_t to,
		       const uint8_t *needle, size_t m, int folding, uint8_t *may)
{
	size_t pos = from ? ends[from - 1] : 0, len = to > from ? ends[to - 1] : pos;
	for (size_t v = from; pos < len;) {
		size_t j = SIZE_MAX;
		if (m > 1 || folding) {
			j = find(needle, m, data + pos, len - pos, folding);
		} else {
			const uint8_t *b = memchr(data + pos, needle[0], len - pos);
			if (b)
				j = (size_t)(b - (data + pos));
		}
		if (j == SIZE_MAX)
			break;
		while (ends[v] <= pos + j)
			v++;
		may[v] = 1;
		pos = ends[v]; /* that value is in: on to the next */
	}
}

int ow_search_json_path(const char *path, ow_search_path_t *out)
{
	memset(out, 0, sizeof(*out));
	if (path[0] != '$') {
		/* one key, dots and all, as DuckDB reads it */
		out->key[0] = path;
		out->klen[0] = strlen(path);
		out->nkeys = 1;
		return 1;
	}
	for (const char *z = path + 1; *z;) {
		if (out->nkeys == OW_SEARCH_PATH_MAX)
			return 0;
		if (*z == '[') {
			int64_t i = 0;
			if (*++z < '0' || *z > '9')
				return 0; /* [#-N]: SQLite's own */
			for (; *z >= '0' && *z <= '9'; z++)
				if (__builtin_mul_overflow(i, 10, &i) ||
				    __builtin_add_overflow(i, *z - '0', &i))
					return 0;
			if (*z++ != ']')
				return 0;
			ow_search_json_index(i, out);
			continue;
		}
		if (*z != '.')
			return 0;
		z++;
		const char *key = z;
		size_t n;
		if (*z == '"') {
			key = ++z;
			while (*z && *z != '"')
				z++;
			if (!*z)
				return 0;
			n = (size_t)(z - key);
			z++;
		} else {
			while (*z && *z != '.' && *z != '[')
				z++;
			n = (size_t)(z - key);
			if (!n)
				return 0;
		}
		out->key[out->nkeys] = key;
		out->klen[out->nkeys++] = n;
	}
	return 1;
}

int ow_search_json_index(int64_t i, ow_search_path_t *out)
{
	if (i < 0 || out->nkeys == OW_SEARCH_PATH_MAX)
		return 0;
	out->key[out->nkeys] = NULL;
	out->klen[out->nkeys] = 0;
	out->index[out->nkeys++] = i;
	return 1;
}

/* JSON's white space (SQLite's jsonIsSpace). */
static int is_ws(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static const uint8_t *ws(const uint8_t *p, const uint8_t *e)
{
	while (p < e && is_ws(*p))
		p++;
	return p;
}

/* Past the string whose opening quote is at p (JSON already checked). */
static const uint8_t *skip_string(const uint8_t *p, const uint8_t *e)
{
	for (const uint8_t *from = ++p; p < e;) {
		const uint8_t *q = memchr(p, '"', (size_t)(e - p));
		if (!q)
			return e;
		const uint8_t *b = q;
		while (b > from && b[-1] == '\\')
			b--;
		if (((q - b) & 1) == 0)
			return q + 1; /* not escaped */
		p = q + 1;
	}
	return e;
}

/* Past the value at p (JSON already checked). */
static const uint8_t *skip_value(const uint8_t *p, const uint8_t *e)
{
	if (*p == '"')
		return skip_string(p, e);
	if (*p == '{' || *p == '[') {
		int depth = 0;
		for (; p < e; p++) {
			if (*p == '"') {
				p = skip_string(p, e) - 1;
			} else if (*p == '{' || *p == '[') {
				depth++;
			} else if ((*p == '}' || *p == ']') && --depth == 0) {
				return p + 1;
			}
		}
		return e;
	}
	while (p < e && *p != ',' && *p != '}' && *p != ']' && !is_ws(*p))
		p++;
	return p;
}

/* ---- JSON as SQLite 3.40's parser takes it ---- */

#define JSON_MAX_DEPTH 2000

static int is_hex(uint8_t c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

static int is_alnum(uint8_t c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

/* Past the scalar at p, NULL when it is not one SQLite's parser takes
 * (jsonParseValue: strings without control characters and with known
 * escapes, numbers without leading zeros, a digit before '.' and 'e' and
 * one after, true, false and null not followed by a letter or digit). */
static const uint8_t *scalar_end(const uint8_t *p, const uint8_t *e)
{
	if (*p == '"') {
		for (p++; p < e; p++) {
			if (*p < 0x20)
				return NULL;
			if (*p == '"')
				return p + 1;
			if (*p != '\\')
				continue;
			if (++p == e)
				return NULL;
			if (*p == 'u') {
				if (e - p < 5 || !is_hex(p[1]) || !is_hex(p[2]) || !is_hex(p[3]) ||
				    !is_hex(p[4]))
					return NULL;
				p += 4;
			} else if (!memchr("\"\\/bfnrt", *p, 8)) {
				return NULL;
			}
		}
		return NULL;
	}
	static const char *const words[] = {"true", "false", "null"};
	for (int i = 0; i < 3; i++) {
		size_t n = strlen(words[i]);
		if ((size_t)(e - p) >= n && memcmp(p, words[i], n) == 0)
			return (size_t)(e - p) > n && is_alnum(p[n]) ? NULL : p + n;
	}
	const uint8_t *s = p;
	if (*p == '-')
		p++;
	if (p == e || *p < '0' || *p > '9' ||
	    (*p == '0' && p + 1 < e && p[1] >= '0' && p[1] <= '9'))
		return NULL;
	int dot = 0, exp = 0;
	for (p++; p < e; p++) {
		if (*p >= '0' && *p <= '9')
			continue;
		if (*p == '.') {
			if (dot || p[-1] < '0')
				return NULL;
			dot = 1;
		} else if (*p == 'e' || *p == 'E') {
			if (exp || p[-1] < '0')
				return NULL;
			dot = exp = 1;
			if (p + 1 < e && (p[1] == '+' || p[1] == '-'))
				p++;
			if (p + 1 >= e || p[1] < '0' || p[1] > '9')
				return NULL;
		} else {
			break;
		}
	}
	return p[-1] < '0' ? NULL : (p > s ? p : NULL);
}

/* 1 when json[0..n) is one JSON value (and white space) as SQLite reads
 * it; a NUL ends the text, as SQLite reads it to its NUL. */
static int json_valid(const uint8_t *p, size_t n)
{
	enum { VALUE, FIRST_VALUE, KEY, FIRST_KEY, AFTER };
	const uint8_t *nul = n ? memchr(p, 0, n) : NULL, *e = nul ? nul : p + n;
	uint8_t stack[JSON_MAX_DEPTH];
	int depth = 0, want = VALUE;
	for (;;) {
		p = ws(p, e);
		if (want == AFTER) {
			if (depth == 0)
				return p == e;
			if (p == e)
				return 0;
			uint8_t top = stack[depth - 1];
			if (*p == (top == '{' ? '}' : ']')) {
				p++;
				depth--;
			} else if (*p++ == ',') {
				want = top == '{' ? KEY : VALUE;
			} else {
				return 0;
			}
			continue;
		}
		if (p == e)
			return 0;
		if ((want == FIRST_VALUE && *p == ']') || (want == FIRST_KEY && *p == '}')) {
			p++;
			depth--;
			want = AFTER;
		} else if (want == KEY || want == FIRST_KEY) {
			if (*p != '"' || !(p = scalar_end(p, e)))
				return 0;
			p = ws(p, e);
			if (p == e || *p++ != ':')
				return 0;
			want = VALUE;
		} else if (*p == '{' || *p == '[') {
			if (depth == JSON_MAX_DEPTH)
				return 0;
			stack[depth++] = *p;
			want = *p++ == '{' ? FIRST_KEY : FIRST_VALUE;
		} else {
			if (!(p = scalar_end(p, e)))
				return 0;
			want = AFTER;
		}
	}
}

/* ---- ->> and -> ---- */

/* What a path names in a text. */
typedef struct {
	const uint8_t *p; /* its JSON text (raw: the text itself) */
	size_t n;
	int found;
	int raw;      /* the text is not JSON: a string, which this is */
	int int_text; /* .intValue of an integer: its digits as text */
} node_t;

static int step_is(const ow_search_path_t *path, int k, const char *name)
{
	return path->key[k] && path->klen[k] == strlen(name) &&
	       memcmp(path->key[k], name, path->klen[k]) == 0;
}

/* The four steps of an OTLP/JSON AnyValue that format 1 parts had, on a
 * scalar of their kind (an object is looked into as usual). */
static int wrapped(const ow_search_path_t *path, int k)
{
	return step_is(path, k, "stringValue") || step_is(path, k, "intValue") ||
	       step_is(path, k, "doubleValue") || step_is(path, k, "boolValue");
}

static void walk(const ow_search_path_t *path, const uint8_t *json, size_t n, node_t *out)
{
	const uint8_t *p = json, *e = json + n;
	memset(out, 0, sizeof(*out));
	/* labels compare as written: no "key" in the text, no member, and
	 * text that is not JSON has none either. The key itself is the
	 * candidate (its quotes would be: any pair of quotes matches a
	 * needle that starts and ends with one), then the quotes around it. */
	if (path->nkeys && path->key[0] && path->klen[0] && !wrapped(path, 0)) {
		const uint8_t *key = (const uint8_t *)path->key[0];
		size_t m = path->klen[0], at = 1;
		for (;;) {
			size_t j = at + m < n ? find(key, m, json + at, n - at - 1, 0) : SIZE_MAX;
			if (j == SIZE_MAX)
				return;
			j += at;
			if (json[j - 1] == '"' && json[j + m] == '"')
				break;
			at = j + 1;
		}
	}
	if (!path->trusted && !json_valid(json, n)) {
		/* a string: the whole of it, or its .stringValue */
		if (path->nkeys == 0 || (path->nkeys == 1 && step_is(path, 0, "stringValue")))
			*out = (node_t){json, n, 1, 1, 0};
		return;
	}
	const uint8_t *nul = n && !path->trusted ? memchr(json, 0, n) : NULL;
	if (nul)
		e = nul;
	/* (the text is JSON: p < e is checked where a damaged one, trusted
	 * wrongly, could end) */
	p = ws(p, e);
	for (int k = 0; k < path->nkeys; k++) {
		if (p >= e)
			return;
		if (*p == '[' && !path->key[k]) {
			p = ws(p + 1, e);
			if (p >= e || *p == ']')
				return;
			for (int64_t i = 0; i < path->index[k]; i++) {
				p = ws(skip_value(p, e), e);
				if (p >= e || *p != ',')
					return;
				p = ws(p + 1, e);
			}
			continue;
		}
		if (*p == '{' && path->key[k]) {
			p = ws(p + 1, e);
			const uint8_t *val = NULL;
			while (p < e && *p == '"') {
				const uint8_t *kend = skip_string(p, e), *colon = ws(kend, e);
				int match = kend - p >= 2 &&
					    (size_t)(kend - p - 2) == path->klen[k] &&
					    memcmp(p + 1, path->key[k], path->klen[k]) == 0;
				if (colon >= e)
					return;
				p = ws(colon + 1, e);
				if (match) {
					val = p;
					break;
				}
				if (p >= e)
					return;
				p = ws(skip_value(p, e), e);
				if (p < e && *p == ',')
					p = ws(p + 1, e);
			}
			if (!val)
				return;
			p = val;
			continue;
		}
		if (!wrapped(path, k))
			return;
		const uint8_t *end = skip_value(p, e);
		size_t len = (size_t)(end - p);
		int real =
		    *p != '"' && *p != 't' && *p != 'f' && *p != 'n' && ow_json_is_real(p, len);
		if (step_is(path, k, "stringValue") ? *p != '"'
		    : step_is(path, k, "boolValue") ? *p != 't' && *p != 'f'
		    : step_is(path, k, "intValue")
			? !(*p == '-' || (*p >= '0' && *p <= '9')) || real
			/* doubleValue: a real, or the strings format 1 wrote */
			: !real && !(len == 5 && memcmp(p, "\"NaN\"", 5) == 0) &&
			      !(len == 10 && memcmp(p, "\"Infinity\"", 10) == 0) &&
			      !(len == 11 && memcmp(p, "\"-Infinity\"", 11) == 0))
			return;
		out->int_text = step_is(path, k, "intValue");
	}
	if (p >= e)
		return;
	*out = (node_t){p, (size_t)(skip_value(p, e) - p), 1, 0, out->int_text};
}

/* The value's JSON text without white space, as SQLite renders a node. */
static void minify(const uint8_t *p, size_t n, ow_buf_t *scratch, ow_search_val_t *v)
{
	const uint8_t *e = p + n, *q;
	v->type = SQLITE_TEXT;
	for (q = p; q < e && !is_ws(*q); q = *q == '"' ? skip_string(q, e) : q + 1)
		;
	if (q == e) {
		v->p = p;
		v->n = n;
		return;
	}
	scratch->len = 0;
	ow_buf_reserve(scratch, n);
	for (q = p; q < e;) {
		if (*q == '"') {
			const uint8_t *s = skip_string(q, e);
			ow_buf_add(scratch, q, (size_t)(s - q));
			q = s;
		} else {
			if (!is_ws(*q))
				ow_buf_add(scratch, q, 1);
			q++;
		}
	}
	v->p = scratch->data;
	v->n = scratch->len;
}

/* The text of string token p[0..n) (quotes included), as SQLite 3.40's
 * jsonReturn unescapes it: \uXXXX as UTF-8 (a surrogate pair as one code
 * point, a lone surrogate as it is), and \u0000 ends the text. */
static void unescape(const uint8_t *p, size_t n, ow_buf_t *scratch, ow_search_val_t *v)
{
	const uint8_t *s = p + 1, *se = p + n - 1;
	v->type = SQLITE_TEXT;
	if (n < 2) /* a damaged text (a string that does not end) */
		s = se = p;
	if (!memchr(s, '\\', (size_t)(se - s))) {
		v->p = s;
		v->n = (size_t)(se - s);
		return;
	}
	/* room first: the same value read twice for one row (an item and a
	 * group key) must not move the first one's bytes */
	scratch->len = 0;
	ow_buf_reserve(scratch, (size_t)(se - s) + 1);
	ow_json_unescape(scratch, s, (size_t)(se - s), 1);
	v->p = scratch->data;
	v->n = scratch->len;
}

/* An integer token as SQLite's jsonReturn reads it: OW_DECLINED past
 * int64 (SQLite reads it as a real then). */
static int integer(const uint8_t *p, size_t n, ow_search_val_t *v)
{
	int neg = p[0] == '-';
	uint64_t x = 0;
	for (size_t i = neg; i < n; i++) {
		if (x > (uint64_t)INT64_MAX / 10 ||
		    (x = x * 10 + (uint64_t)(p[i] - '0')) > (uint64_t)INT64_MAX + neg)
			return OW_DECLINED;
	}
	v->type = SQLITE_INTEGER;
	v->i = neg ? (int64_t)(0 - x) : (int64_t)x;
	return OW_OK;
}

/* The node the path names into nd, v NULL: 0 when there is none. */
static int found(const ow_search_path_t *path, const uint8_t *json, size_t n, node_t *nd,
		 ow_search_val_t *v)
{
	memset(v, 0, sizeof(*v));
	v->type = SQLITE_NULL;
	walk(path, json, n, nd);
	return nd->found;
}

int ow_search_json_get(const ow_search_path_t *path, const uint8_t *json, size_t n,
		       ow_buf_t *scratch, ow_search_val_t *v)
{
	node_t nd;
	if (!found(path, json, n, &nd, v))
		return OW_OK;
	if (nd.raw || nd.int_text) {
		v->type = SQLITE_TEXT;
		v->p = nd.p;
		v->n = nd.n;
		return OW_OK;
	}
	switch (*nd.p) {
	case '{':
	case '[':
		minify(nd.p, nd.n, scratch, v);
		return OW_OK;
	case '"':
		unescape(nd.p, nd.n, scratch, v);
		return OW_OK;
	case 't':
	case 'f':
		v->type = SQLITE_INTEGER;
		v->i = *nd.p == 't';
		return OW_OK;
	case 'n':
		return OW_OK;
	}
	if (!ow_json_is_real(nd.p, nd.n) && integer(nd.p, nd.n, v) == OW_OK)
		return OW_OK;
	/* a real: SQLite's own conversion (sqlite3AtoF) is the answer */
	v->type = SQLITE_FLOAT;
	v->p = nd.p;
	v->n = nd.n;
	return OW_DECLINED;
}

int ow_search_json_text(const ow_search_path_t *path, const uint8_t *json, size_t n,
			ow_buf_t *scratch, ow_search_val_t *v)
{
	node_t nd;
	if (!found(path, json, n, &nd, v))
		return OW_OK;
	if (!nd.raw && !nd.int_text) {
		minify(nd.p, nd.n, scratch, v);
		return OW_OK;
	}
	/* a JSON string of the text */
	scratch->len = 0;
	ow_buf_reserve(scratch, nd.n + 2);
	ow_buf_add(scratch, "\"", 1);
	size_t run = 0;
	for (size_t i = 0; nd.raw && i < nd.n; i++) {
		if (nd.p[i] >= 0x20 && nd.p[i] != '"' && nd.p[i] != '\\')
			continue;
		char e[6];
		ow_buf_add(scratch, nd.p + run, i - run);
		ow_buf_add(scratch, e, ow_columns_escape(nd.p[i], e));
		run = i + 1;
	}
	ow_buf_add(scratch, nd.p + run, nd.n - run);
	ow_buf_add(scratch, "\"", 1);
	v->type = SQLITE_TEXT;
	v->p = scratch->data;
	v->n = scratch->len;
	return OW_OK;
}

/* ---- instr ---- */

int64_t ow_search_instr(const uint8_t *h, size_t hn, const uint8_t *n, size_t nn, int text)
{
	size_t from = 0, pos;
	for (;;) {
		const uint8_t *f = nn <= hn - from ? memmem(h + from, hn - from, n, nn) : NULL;
		if (f == NULL)
			return 0;
		pos = (size_t)(f - h);
		if (!text || pos == 0 || (h[pos] & 0xc0) != 0x80)
			break;
		from = pos + 1;
		if (ow_search_poll())
			return -1;
	}
	if (!text)
		return (int64_t)pos + 1;
	int64_t at = 1;
	for (size_t i = 1; i <= pos; i++)
		at += (h[i] & 0xc0) != 0x80;
	return at;
}

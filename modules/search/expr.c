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
 *   json ->> '$.a."b.c"'
 *                       the member a, then its member "b.c" ("first
 *                       match": SQLite returns the first of duplicate
 *                       keys); keys are compared with the label as it is
 *                       written in the JSON, escapes and all. A string
 *                       gives its text (unescaped), an integer an integer,
 *                       true 1, false 0, null or a missing member NULL, an
 *                       object or array its JSON text. A real number, a
 *                       \u escape, an integer of 19 digits or more or text
 *                       that is not JSON is not answered here (OW_DECLINED:
 *                       SQLite answers, or reports the error).
 */
#include "internal.h"

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
	if (path[0] != '$')
		return 0;
	for (const char *z = path + 1; *z;) {
		if (*z != '.' || out->nkeys == OW_SEARCH_PATH_MAX)
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
			if (!n || *z == '[')
				return 0;
		}
		out->key[out->nkeys] = key;
		out->klen[out->nkeys++] = n;
	}
	return 1;
}

static const uint8_t *ws(const uint8_t *p, const uint8_t *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* Past the string whose opening quote is at p; NULL if it does not end. */
static const uint8_t *skip_string(const uint8_t *p, const uint8_t *e)
{
	for (const uint8_t *from = ++p; p < e;) {
		const uint8_t *q = memchr(p, '"', (size_t)(e - p));
		if (!q)
			return NULL;
		const uint8_t *b = q;
		while (b > from && b[-1] == '\\')
			b--;
		if (((q - b) & 1) == 0)
			return q + 1; /* not escaped */
		p = q + 1;
	}
	return NULL;
}

/* Past the value at p (after white space); NULL when it is not JSON as far
 * as this skipping can tell (the parse that counts is SQLite's). */
static const uint8_t *skip_value(const uint8_t *p, const uint8_t *e)
{
	p = ws(p, e);
	if (p >= e)
		return NULL;
	if (*p == '"')
		return skip_string(p, e);
	if (*p == '{' || *p == '[') {
		int depth = 0;
		for (; p < e; p++) {
			if (*p == '"') {
				if (!(p = skip_string(p, e)))
					return NULL;
				p--;
			} else if (*p == '{' || *p == '[') {
				depth++;
			} else if ((*p == '}' || *p == ']') && --depth == 0) {
				return p + 1;
			}
		}
		return NULL;
	}
	const uint8_t *s = p;
	while (p < e && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\t' &&
	       *p != '\n' && *p != '\r')
		p++;
	return p > s ? p : NULL;
}

static int scalar(const uint8_t *p, size_t n, ow_search_val_t *v)
{
	if (n == 4 && memcmp(p, "true", 4) == 0)
		v->type = SQLITE_INTEGER, v->i = 1;
	else if (n == 5 && memcmp(p, "false", 5) == 0)
		v->type = SQLITE_INTEGER, v->i = 0;
	else if (n == 4 && memcmp(p, "null", 4) == 0)
		v->type = SQLITE_NULL;
	else {
		size_t i = p[0] == '-', digits = n - i;
		if (digits == 0 || digits > 18 || (digits > 1 && p[i] == '0'))
			return OW_DECLINED;
		int64_t x = 0;
		for (; i < n; i++) {
			if (p[i] < '0' || p[i] > '9')
				return OW_DECLINED; /* a real, or not JSON */
			x = x * 10 + (p[i] - '0');
		}
		v->type = SQLITE_INTEGER;
		v->i = p[0] == '-' ? -x : x;
	}
	return OW_OK;
}

int ow_search_json_get(const ow_search_path_t *path, const uint8_t *json, size_t n,
		       ow_buf_t *scratch, ow_search_val_t *v)
{
	const uint8_t *p = json, *e = json + n;
	memset(v, 0, sizeof(*v));
	v->type = SQLITE_NULL;
	/* labels compare as written: no "key" in the text, no member (the
	 * text is JSON: search.c's tables only hold what columns.c wrote) */
	if (path->nkeys && path->klen[0]) {
		/* the key itself is the candidate (its quotes would be: any
		 * pair of quotes matches a needle that starts and ends with
		 * one), then the quotes around it */
		const uint8_t *key = (const uint8_t *)path->key[0];
		size_t m = path->klen[0], at = 1;
		for (;;) {
			size_t j = at + m < n ? find(key, m, json + at, n - at - 1, 0) : SIZE_MAX;
			if (j == SIZE_MAX)
				return OW_OK;
			j += at;
			if (json[j - 1] == '"' && json[j + m] == '"')
				break;
			at = j + 1;
		}
	}
	for (int k = 0; k < path->nkeys; k++) {
		p = ws(p, e);
		if (p >= e)
			return OW_DECLINED;
		if (*p != '{')
			return *p == '[' || *p == '"' || skip_value(p, e) ? OW_OK : OW_DECLINED;
		p = ws(p + 1, e);
		const uint8_t *val = NULL;
		while (p < e && *p != '}') {
			const uint8_t *kend = *p == '"' ? skip_string(p, e) : NULL;
			if (!kend)
				return OW_DECLINED;
			int match = (size_t)(kend - p - 2) == path->klen[k] &&
				    memcmp(p + 1, path->key[k], path->klen[k]) == 0;
			p = ws(kend, e);
			if (p >= e || *p != ':')
				return OW_DECLINED;
			p = ws(p + 1, e);
			if (match) {
				val = p;
				break;
			}
			if (!(p = skip_value(p, e)))
				return OW_DECLINED;
			p = ws(p, e);
			if (p < e && *p == ',')
				p = ws(p + 1, e);
			else if (p < e && *p != '}')
				return OW_DECLINED;
		}
		if (!val)
			return p < e ? OW_OK : OW_DECLINED; /* a missing member: NULL */
		p = val;
	}
	p = ws(p, e);
	const uint8_t *end = skip_value(p, e);
	if (!end)
		return OW_DECLINED;
	if (*p == '{' || *p == '[') {
		v->type = SQLITE_TEXT;
		v->p = p;
		v->n = (size_t)(end - p);
		return OW_OK;
	}
	if (*p != '"')
		return scalar(p, (size_t)(end - p), v);
	const uint8_t *s = p + 1, *se = end - 1;
	if (!memchr(s, '\\', (size_t)(se - s))) {
		v->type = SQLITE_TEXT;
		v->p = s;
		v->n = (size_t)(se - s);
		return OW_OK;
	}
	/* room first: the same value read twice for one row (an item and a
	 * group key) must not move the first one's bytes */
	scratch->len = 0;
	ow_buf_reserve(scratch, (size_t)(se - s) + 1);
	uint8_t *o = scratch->data;
	for (; s < se; s++) {
		if (*s != '\\') {
			*o++ = *s;
			continue;
		}
		static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
		const char *f = ++s < se ? memchr(from, *s, sizeof(from) - 1) : NULL;
		if (!f)
			return OW_DECLINED; /* \u, or not JSON */
		*o++ = (uint8_t)to[f - from];
	}
	scratch->len = (size_t)(o - scratch->data);
	v->type = SQLITE_TEXT;
	v->p = scratch->data;
	v->n = scratch->len;
	return OW_OK;
}

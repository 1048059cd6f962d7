/*
 * output.c - a query's result as text, in one of four formats:
 *
 *   table   aligned columns under a header, numbers to the right, NULL
 *           as NULL, control characters escaped (\n, \t, \xNN), then the
 *           row count
 *   csv     RFC 4180 with LF line ends: a header line, fields quoted when
 *           they hold a comma, a quote, CR or LF; NULL as an empty field
 *   json    an array of objects, one per row, keys in column order
 *   ndjson  one object per line
 *   packed  binary rows for callers in C (search.h), values as they are
 *
 * Values: integers in full (in JSON as numbers: a reader that parses
 * numbers as doubles rounds those of 2^53 or more, times in nanoseconds
 * among them: cast them to text in the query when that matters); reals
 * with the fewest digits that read back the same, with ".0" when they
 * would look like integers (infinities: Inf in text, 9e999 in JSON, as
 * SQLite's json() does); blobs in lowercase hex. JSON strings are valid
 * UTF-8: bytes that are not become U+FFFD.
 */
#include "internal.h"

#include <math.h>

static void add_real(ow_buf_t *b, double v, int json)
{
	if (isinf(v)) {
		ow_buf_addstr(b, json ? (v > 0 ? "9e999" : "-9e999") : (v > 0 ? "Inf" : "-Inf"));
		return;
	}
	char tmp[40];
	int n = ow_dtoa(v, tmp, sizeof(tmp));
	ow_buf_add(b, tmp, (size_t)n);
	if (strspn(tmp, "-0123456789") == (size_t)n)
		ow_buf_addstr(b, ".0");
}

static void add_hex(ow_buf_t *b, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	ow_buf_reserve(b, 2 * n);
	for (size_t i = 0; i < n; i++) {
		b->data[b->len++] = (uint8_t)digits[p[i] >> 4];
		b->data[b->len++] = (uint8_t)digits[p[i] & 15];
	}
}

/* The length of the valid UTF-8 sequence at p (RFC 3629), 0 if none. */
static size_t utf8_len(const uint8_t *p, size_t n)
{
	uint8_t c = p[0];
	size_t len = c < 0x80		      ? 1
		     : c >= 0xc2 && c <= 0xdf ? 2
		     : c >= 0xe0 && c <= 0xef ? 3
		     : c >= 0xf0 && c <= 0xf4 ? 4
					      : 0;
	if (len == 0 || len > n)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f) ||
	    (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))
		return 0; /* overlong, surrogate, above U+10FFFF */
	return len;
}

static void add_json_string(ow_buf_t *b, const uint8_t *p, size_t n)
{
	ow_buf_add(b, "\"", 1);
	for (size_t i = 0; i < n;) {
		uint8_t c = p[i];
		if (c == '"' || c == '\\') {
			ow_buf_add(b, "\\", 1);
			ow_buf_add(b, &c, 1);
			i++;
		} else if (c < 0x20) {
			static const char esc[] = "btn\0fr";
			if (c >= 8 && c <= 13 && c != 11)
				ow_buf_printf(b, "\\%c", esc[c - 8]);
			else
				ow_buf_printf(b, "\\u%04x", c);
			i++;
		} else {
			size_t len = utf8_len(p + i, n - i);
			if (len)
				ow_buf_add(b, p + i, len);
			else
				ow_buf_addstr(b, "\\ufffd");
			i += len ? len : 1;
		}
	}
	ow_buf_add(b, "\"", 1);
}

static void add_json_value(ow_buf_t *b, const ow_search_val_t *v)
{
	switch (v->type) {
	case SQLITE_INTEGER:
		ow_buf_add_i64(b, v->i);
		break;
	case SQLITE_FLOAT:
		add_real(b, v->d, 1);
		break;
	case SQLITE_TEXT:
		add_json_string(b, v->p, v->n);
		break;
	case SQLITE_BLOB:
		ow_buf_add(b, "\"", 1);
		add_hex(b, v->p, v->n);
		ow_buf_add(b, "\"", 1);
		break;
	default:
		ow_buf_addstr(b, "null");
	}
}

static void add_json_row(ow_search_out_t *o, const ow_search_val_t *v)
{
	ow_buf_t *b = o->out;
	ow_buf_add(b, "{", 1);
	for (int i = 0; i < o->ncols; i++) {
		const char *name = o->names[i];
		if (i)
			ow_buf_add(b, ",", 1);
		add_json_string(b, (const uint8_t *)name, strlen(name));
		ow_buf_add(b, ":", 1);
		add_json_value(b, &v[i]);
	}
	ow_buf_add(b, "}", 1);
}

static void add_csv_field(ow_buf_t *b, const uint8_t *p, size_t n)
{
	int quote = 0;
	for (size_t i = 0; i < n && !quote; i++)
		quote = p[i] == ',' || p[i] == '"' || p[i] == '\r' || p[i] == '\n';
	if (!quote) {
		ow_buf_add(b, p, n);
		return;
	}
	ow_buf_add(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '"')
			ow_buf_add(b, "\"", 1);
		ow_buf_add(b, p + i, 1);
	}
	ow_buf_add(b, "\"", 1);
}

/* A value as text for csv and table: NULL gives nothing. */
static void add_text(ow_buf_t *b, const ow_search_val_t *v)
{
	switch (v->type) {
	case SQLITE_INTEGER:
		ow_buf_add_i64(b, v->i);
		break;
	case SQLITE_FLOAT:
		add_real(b, v->d, 0);
		break;
	case SQLITE_TEXT:
		ow_buf_add(b, v->p, v->n);
		break;
	case SQLITE_BLOB:
		add_hex(b, v->p, v->n);
		break;
	}
}

/* ---- table ---- */

static size_t chars(const uint8_t *p, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += (p[i] & 0xc0) != 0x80;
	return c;
}

/* Appends a cell, control characters escaped, NUL-terminated; returns its
 * width in characters. */
static size_t add_cell(ow_buf_t *b, const uint8_t *p, size_t n)
{
	ow_buf_reserve(b, n + 1);
	size_t start = b->len;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (c == '\n')
			ow_buf_addstr(b, "\\n");
		else if (c == '\t')
			ow_buf_addstr(b, "\\t");
		else if (c < 0x20 || c == 0x7f)
			ow_buf_printf(b, "\\x%02x", c);
		else
			ow_buf_add(b, &c, 1);
	}
	size_t w = chars(b->data + start, b->len - start);
	ow_buf_add(b, "", 1);
	return w;
}

static void pad(ow_buf_t *b, size_t n, char c)
{
	for (size_t i = 0; i < n; i++)
		ow_buf_add(b, &c, 1);
}

static void table_line(ow_search_out_t *o, const char **cells, int right_align)
{
	for (int i = 0; i < o->ncols; i++) {
		size_t w = chars((const uint8_t *)cells[i], strlen(cells[i]));
		ow_buf_addstr(o->out, i ? " | " : " ");
		if (right_align && o->number[i])
			pad(o->out, o->width[i] - w, ' ');
		ow_buf_addstr(o->out, cells[i]);
		if (!(right_align && o->number[i]) && i + 1 < o->ncols)
			pad(o->out, o->width[i] - w, ' ');
	}
	ow_buf_addstr(o->out, "\n");
}

static void table_end(ow_search_out_t *o)
{
	const char **cells = ow_calloc((size_t)o->ncols, sizeof(char *));
	const char *p = (const char *)o->cells.data;
	for (int i = 0; i < o->ncols; i++, p += strlen(p) + 1)
		cells[i] = p;
	table_line(o, cells, 0);
	for (int i = 0; i < o->ncols; i++) {
		if (i)
			ow_buf_addstr(o->out, "+");
		pad(o->out, o->width[i] + 2, '-');
	}
	ow_buf_addstr(o->out, "\n");
	for (int64_t r = 0; r < o->nrows; r++) {
		for (int i = 0; i < o->ncols; i++, p += strlen(p) + 1)
			cells[i] = p;
		table_line(o, cells, 1);
	}
	ow_buf_printf(o->out, "(%lld row%s)\n", (long long)o->nrows, o->nrows == 1 ? "" : "s");
	free(cells);
}

/* ---- the interface ---- */

void ow_search_out_begin(ow_search_out_t *o, int format, int ncols, const char *const *names,
			 ow_buf_t *out)
{
	memset(o, 0, sizeof(*o));
	o->format = format;
	o->out = out;
	o->ncols = ncols;
	o->names = ow_calloc((size_t)ncols + 1, sizeof(char *));
	for (int i = 0; i < ncols; i++)
		o->names[i] = ow_strdup(names[i]);
	switch (format) {
	case OW_SEARCH_PACKED:
		o->prev_off = ow_calloc((size_t)o->ncols + 1, sizeof(size_t));
		o->prev_len = ow_calloc((size_t)o->ncols + 1, sizeof(size_t));
		o->prev_type = ow_calloc((size_t)o->ncols + 1, 1);
		break;
	case OW_SEARCH_TABLE:
		o->width = ow_calloc((size_t)o->ncols + 1, sizeof(size_t));
		o->number = ow_calloc((size_t)o->ncols + 1, 1);
		for (int i = 0; i < o->ncols; i++) {
			const char *name = o->names[i];
			o->width[i] = add_cell(&o->cells, (const uint8_t *)name, strlen(name));
			o->number[i] = 1;
		}
		break;
	case OW_SEARCH_CSV:
		for (int i = 0; i < o->ncols; i++) {
			const char *name = o->names[i];
			if (i)
				ow_buf_add(out, ",", 1);
			add_csv_field(out, (const uint8_t *)name, strlen(name));
		}
		ow_buf_add(out, "\n", 1);
		break;
	case OW_SEARCH_JSON:
		ow_buf_add(out, "[", 1);
		break;
	}
}

void ow_search_out_row(ow_search_out_t *o, const ow_search_val_t *v)
{
	/* a row of large values may not grow the answer past the query's
	 * memory budget in one step: JSON writes a byte as at most six
	 * (\u00XX), a blob as two hex digits, the table keeps a copy */
	size_t need = 0;
	for (int i = 0; i < o->ncols; i++)
		need += 6 * v[i].n + 32;
	if (ow_search_room(need) != OW_OK)
		return;
	ow_buf_t tmp = {0};
	switch (o->format) {
	case OW_SEARCH_TABLE:
		for (int i = 0; i < o->ncols; i++) {
			int type = v[i].type;
			size_t w;
			if (type == SQLITE_NULL) {
				w = add_cell(&o->cells, (const uint8_t *)"NULL", 4);
			} else {
				tmp.len = 0;
				add_text(&tmp, &v[i]);
				w = add_cell(&o->cells, tmp.data, tmp.len);
			}
			o->width[i] = OW_MAX(o->width[i], w);
			o->number[i] &=
			    type == SQLITE_INTEGER || type == SQLITE_FLOAT || type == SQLITE_NULL;
		}
		break;
	case OW_SEARCH_CSV:
		for (int i = 0; i < o->ncols; i++) {
			if (i)
				ow_buf_add(o->out, ",", 1);
			tmp.len = 0;
			add_text(&tmp, &v[i]);
			add_csv_field(o->out, tmp.data, tmp.len);
		}
		ow_buf_add(o->out, "\n", 1);
		break;
	case OW_SEARCH_JSON:
		ow_buf_addstr(o->out, o->nrows ? ",\n" : "\n");
		add_json_row(o, v);
		break;
	case OW_SEARCH_NDJSON:
		add_json_row(o, v);
		ow_buf_add(o->out, "\n", 1);
		break;
	case OW_SEARCH_PACKED:
		for (int i = 0; i < o->ncols; i++) {
			uint8_t t = (uint8_t)v[i].type;
			if (t == SQLITE_TEXT || t == SQLITE_BLOB) {
				/* the same text as the row before's: one byte */
				if (o->nrows && o->prev_type[i] == t && o->prev_len[i] == v[i].n &&
				    memcmp(o->out->data + o->prev_off[i], v[i].p, v[i].n) == 0) {
					ow_buf_add(o->out, &(uint8_t){OW_SEARCH_PACKED_SAME}, 1);
					continue;
				}
				o->prev_off[i] = o->out->len + 5;
				o->prev_len[i] = v[i].n;
			}
			ow_search_pack(o->out, &v[i], 1);
			o->prev_type[i] = t;
		}
		break;
	}
	ow_buf_free(&tmp);
	o->nrows++;
}

void ow_search_out_end(ow_search_out_t *o)
{
	if (o->format == OW_SEARCH_JSON)
		ow_buf_addstr(o->out, o->nrows ? "\n]\n" : "]\n");
	else if (o->format == OW_SEARCH_TABLE)
		table_end(o);
	ow_buf_free(&o->cells);
	for (int i = 0; i < o->ncols; i++)
		free(o->names[i]);
	free(o->names);
	free(o->width);
	free(o->number);
	free(o->prev_off);
	free(o->prev_len);
	free(o->prev_type);
}

void ow_search_pack(ow_buf_t *out, const ow_search_val_t *v, int ncols)
{
	for (int i = 0; i < ncols; i++) {
		uint8_t t = (uint8_t)v[i].type;
		ow_buf_add(out, &t, 1);
		if (t == SQLITE_INTEGER) {
			ow_buf_add(out, &v[i].i, 8);
		} else if (t == SQLITE_FLOAT) {
			ow_buf_add(out, &v[i].d, 8);
		} else if (t == SQLITE_TEXT || t == SQLITE_BLOB) {
			uint32_t n = (uint32_t)v[i].n;
			ow_buf_add(out, &n, 4);
			ow_buf_add(out, v[i].p, v[i].n);
		}
	}
}

int ow_search_packed_next(const ow_buf_t *b, size_t *pos, int ncols, ow_search_val_t *v)
{
	size_t at = *pos;
	if (at >= b->len)
		return 0;
	for (int i = 0; i < ncols; i++) {
		int type = b->data[at++];
		if (type == OW_SEARCH_PACKED_SAME)
			continue; /* v[i] holds it from the row before */
		memset(&v[i], 0, sizeof(v[i]));
		v[i].type = type;
		if (type == SQLITE_INTEGER) {
			memcpy(&v[i].i, b->data + at, 8);
			at += 8;
		} else if (type == SQLITE_FLOAT) {
			memcpy(&v[i].d, b->data + at, 8);
			at += 8;
		} else if (type == SQLITE_TEXT || type == SQLITE_BLOB) {
			uint32_t n;
			memcpy(&n, b->data + at, 4);
			v[i].p = b->data + at + 4;
			v[i].n = n;
			at += 4 + (size_t)n;
		}
	}
	*pos = at;
	return 1;
}

int ow_search_csv_row(char **p, char *end, char **fields, int max)
{
	char *r = *p;
	int n = 0;
	if (r >= end)
		return 0;
	for (;;) {
		char *w = r, *start = r;
		if (r < end && *r == '"') {
			for (r++; r < end; r++) {
				if (*r == '"' && (r + 1 >= end || r[1] != '"'))
					break;
				*w++ = *r;
				r += *r == '"';
			}
			r++; /* the closing quote */
		} else {
			while (r < end && *r != ',' && *r != '\n')
				r++;
			w = r;
		}
		char sep = r < end ? *r : '\n';
		if (w < end)
			*w = '\0';
		if (n < max)
			fields[n++] = start;
		r++;
		if (sep != ',')
			break;
	}
	*p = r;
	return n;
}

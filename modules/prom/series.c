/*
 * series.c - the metrics table (modules/columns) read as Prometheus
 * series, by the OpenTelemetry to Prometheus compatibility rules:
 *
 *   name      the metric's name with characters outside [A-Za-z0-9_:]
 *             as '_', then its unit's suffix ("ms" _milliseconds, "By"
 *             _bytes, "1/s" _per_second; {annotations} dropped) unless
 *             the name ends with it, then _total for a monotonic sum,
 *             _ratio for a gauge of unit "1"
 *   labels    each data point attribute (the key made a label name; a
 *             value that is not a string as its JSON); job from the
 *             resource's service.namespace/service.name, instance from
 *             service.instance.id; an empty value is no label
 *   gauge, sum            one series, the point's value
 *   histogram             NAME_bucket{le=...} (cumulative, le="+Inf" the
 *                         count), NAME_sum, NAME_count
 *   summary               NAME{quantile=...}, NAME_sum, NAME_count
 *   exponential histogram NAME_sum, NAME_count
 *   target_info           per resource with attributes beyond service.name,
 *                         service.namespace and service.instance.id: job,
 *                         instance and those as labels, 1 whenever the
 *                         resource has points
 *
 * A point flagged no_recorded_value is a staleness marker. A delta sum or
 * histogram becomes cumulative: each series' values are summed in time
 * order from the first point read. Two rows with the same labels (the
 * resources differing in attributes that are not labels) are one series;
 * of two points at one millisecond the later read is kept.
 *
 * Reading: the metrics (name, type, unit) of every part, and of the
 * buffered rows, decide the stored names a selector's __name__ matchers
 * can reach (a part's read once, without SQL: ow_search_part_distinct,
 * then cached; the buffered rows' through SQL). Then each committed part in the span is read a
 * piece at a time - one stored metric in one part, every series and every point of it - from the
 * cache (cache.c), or decoded and put there: its rows read straight from the part's columns
 * (ow_search_part_rows: row groups and pages without the metric skipped, no SQL), through SQL only
 * for a part the search engine must convert (format 1). Parts are a snapshot's, so a piece is the
 * part's whatever the query's span; the matchers and the span pick series and points out of it. A
 * piece the cache would not keep (prom.cache_bytes 0), and label sets alone on a miss (the series
 * and label APIs), are not decoded whole: the part is read through SQL for the span (label columns
 * alone, grouped) straight into the answer. The buffered rows, which change, are read through SQL
 * (the span's times and the names) at each fetch, after the parts. A row's labels are made once per
 * distinct (metric, resource, attributes): rows of one series come together in a part, and the
 * reader tells a row of the series before by its key columns' dictionary codes
 * (OW_SEARCH_ROW_SAME_KEY).
 *
 * What a request fetches is charged against its query.max_memory_bytes
 * (ow_prom_store_t, and the search handle's ow_search_hold: its SQL counts
 * it too) as it grows, every 4096 rows decoded, its deadline and cancel
 * flag polled as often; a failure is
 * typed by code (OW_PQ_TIMEOUT, OW_PQ_CANCELED), not by its message.
 */
#include "prom.h"
#include "../search/search.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <malloc.h>
#include <math.h>
#include <sqlite3.h>

/* ---- names ---- */

static const struct {
	const char *unit, *name;
} units[] = {
    {"d", "days"},	    {"h", "hours"},	    {"min", "minutes"},	   {"s", "seconds"},
    {"ms", "milliseconds"}, {"us", "microseconds"}, {"ns", "nanoseconds"}, {"By", "bytes"},
    {"KiBy", "kibibytes"},  {"MiBy", "mebibytes"},  {"GiBy", "gibibytes"}, {"TiBy", "tibibytes"},
    {"KBy", "kilobytes"},   {"MBy", "megabytes"},   {"GBy", "gigabytes"},  {"TBy", "terabytes"},
    {"m", "meters"},	    {"V", "volts"},	    {"A", "amperes"},	   {"J", "joules"},
    {"W", "watts"},	    {"g", "grams"},	    {"Cel", "celsius"},	   {"Hz", "hertz"},
    {"%", "percent"},
};

static const struct {
	const char *unit, *name;
} per_units[] = {{"s", "second"}, {"m", "minute"}, {"h", "hour"}, {"d", "day"},
		 {"w", "week"},	  {"mo", "month"}, {"y", "year"}};

static void add_sanitized(ow_buf_t *b, const char *s, size_t n, int colon)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!(isalnum((unsigned char)c) || c == '_' || (colon && c == ':')))
			c = '_';
		ow_buf_add(b, &c, 1);
	}
}

/* The suffix of one unit word (without annotations), or NULL. */
static void unit_word(const char *u, size_t n, int per, ow_buf_t *out)
{
	if (per) {
		for (size_t i = 0; i < OW_NELEMS(per_units); i++)
			if (strlen(per_units[i].unit) == n &&
			    strncmp(per_units[i].unit, u, n) == 0) {
				ow_buf_addstr(out, per_units[i].name);
				return;
			}
	} else {
		for (size_t i = 0; i < OW_NELEMS(units); i++)
			if (strlen(units[i].unit) == n && strncmp(units[i].unit, u, n) == 0) {
				ow_buf_addstr(out, units[i].name);
				return;
			}
	}
	add_sanitized(out, u, n, 0);
}

/* The unit's suffix: "ms" milliseconds, "1/s" per_second, "{req}" none. */
static void unit_suffix(const char *unit, ow_buf_t *out)
{
	/* annotations in braces are dropped */
	char u[256];
	size_t n = 0;
	int depth = 0;
	for (const char *c = unit; *c && n < sizeof(u) - 1; c++) {
		if (*c == '{')
			depth++;
		else if (*c == '}' && depth)
			depth--;
		else if (!depth)
			u[n++] = *c;
	}
	u[n] = '\0';
	char *slash = strchr(u, '/');
	size_t main_n = slash ? (size_t)(slash - u) : n;
	if (main_n && !(main_n == 1 && u[0] == '1'))
		unit_word(u, main_n, 0, out);
	if (slash && slash[1]) {
		if (out->len)
			ow_buf_addstr(out, "_");
		ow_buf_addstr(out, "per_");
		unit_word(slash + 1, strlen(slash + 1), 1, out);
	}
}

static int ends_with(const ow_buf_t *b, const char *suffix)
{
	size_t n = strlen(suffix);
	return b->len >= n + 1 && memcmp(b->data + b->len - n, suffix, n) == 0 &&
	       b->data[b->len - n - 1] == '_';
}

void ow_prom_metric_name(const char *name, const char *unit, const char *type, int monotonic,
			 ow_buf_t *out)
{
	size_t mark = out->len;
	add_sanitized(out, name, strlen(name), 1);
	if (out->len > mark && isdigit(out->data[mark])) {
		ow_buf_add(out, "", 1);
		memmove(out->data + mark + 1, out->data + mark, out->len - mark - 1);
		out->data[mark] = '_';
	}
	ow_buf_t sfx = {0};
	if (unit && *unit)
		unit_suffix(unit, &sfx);
	ow_buf_t whole = {0};
	ow_buf_add(&whole, out->data + mark, out->len - mark);
	if (sfx.len) {
		ow_buf_add(&sfx, "", 1);
		if (!ends_with(&whole, (char *)sfx.data)) {
			ow_buf_addstr(out, "_");
			ow_buf_addstr(out, (char *)sfx.data);
		}
	}
	int is_sum = strcmp(type, "sum") == 0;
	if (is_sum && monotonic) {
		ow_buf_t now = {0};
		ow_buf_add(&now, out->data + mark, out->len - mark);
		if (!ends_with(&now, "total"))
			ow_buf_addstr(out, "_total");
		ow_buf_free(&now);
	} else if (strcmp(type, "gauge") == 0 && unit && strcmp(unit, "1") == 0) {
		ow_buf_t now = {0};
		ow_buf_add(&now, out->data + mark, out->len - mark);
		if (!ends_with(&now, "ratio"))
			ow_buf_addstr(out, "_ratio");
		ow_buf_free(&now);
	}
	ow_buf_free(&sfx);
	ow_buf_free(&whole);
}

void ow_prom_label_name(const char *key, size_t n, ow_buf_t *out)
{
	if (n && isdigit((unsigned char)key[0]))
		ow_buf_addstr(out, "key_");
	add_sanitized(out, key, n, 0);
}

/* ---- the metrics in a span ---- */

enum { K_GAUGE, K_SUM, K_HIST, K_EXP, K_SUMMARY, K_OTHER };

static int kind_of(const char *type)
{
	static const char *const t[] = {"gauge", "sum", "histogram", "exponential_histogram",
					"summary"};
	for (int i = 0; i < 5; i++)
		if (strcmp(type, t[i]) == 0)
			return i;
	return K_OTHER;
}

/* The series names a metric of this kind becomes (base its name). */
static int variants(int kind, const char *base, char out[3][512])
{
	static const char *const suffixes[K_OTHER + 1][4] = {
	    [K_GAUGE] = {"", NULL},
	    [K_SUM] = {"", NULL},
	    [K_HIST] = {"_bucket", "_sum", "_count", NULL},
	    [K_EXP] = {"_sum", "_count", NULL},
	    [K_SUMMARY] = {"", "_sum", "_count", NULL},
	    [K_OTHER] = {NULL}};
	int n = 0;
	for (; suffixes[kind][n]; n++)
		snprintf(out[n], 512, "%s%s", base, suffixes[kind][n]);
	return n;
}

static char *val_str(const ow_search_val_t *v)
{
	if (v->type != SQLITE_TEXT)
		return ow_strdup("");
	char *s = ow_alloc(v->n + 1);
	memcpy(s, v->p, v->n);
	s[v->n] = '\0';
	return s;
}

/* ms to the ns of the time column, past int64 at its bound */
static int64_t ns_of(int64_t ms)
{
	return ms <= INT64_MIN / 1000000   ? INT64_MIN
	       : ms >= INT64_MAX / 1000000 ? INT64_MAX
					   : ms * 1000000;
}

static void time_where(ow_buf_t *b, int64_t mint, int64_t maxt)
{
	/* maxt's whole millisecond */
	int64_t lo = ns_of(mint), hi = ns_of(maxt);
	if (hi != INT64_MAX && hi != INT64_MIN)
		hi += 999999;
	ow_buf_printf(b, "time >= %lld AND time <= %lld", (long long)lo, (long long)hi);
}

/* ow_search_select into a packed buffer. */
static int run(ow_search_t *s, const ow_buf_t *sql, ow_buf_t *rows, char *err, size_t errlen)
{
	const char *used;
	return ow_search_select(s, (const char *)sql->data, -1, 0, OW_SEARCH_AUTO, OW_SEARCH_PACKED,
				rows, &used, err, errlen);
}

/* ---- reading series ---- */

/* One distinct (metric, resource, attributes, bounds) of the rows: the
 * series its points go to (-1: its labels do not match). */
typedef struct {
	uint64_t hash;
	char *key;
	size_t keylen;
	int kind, delta;
	ptrdiff_t *to; /* per variant: gauge/sum 1; histogram buckets..., sum, count */
	int nto;
	double *les; /* histogram: the bounds */
	int nles;
	double *qs; /* summary: the quantiles */
	int nqs;
} rowkey_t;

typedef struct {
	const ow_pq_matcher_t *m;
	int nm;
	ow_pq_series_t *series;
	size_t n, cap;
	uint8_t *delta; /* per series */
	size_t *slots;	/* label map: index + 1 */
	size_t nslots;
	rowkey_t *keys;
	size_t nkeys, capkeys;
	size_t *kslots;
	size_t nkslots;
	int64_t points; /* added since read_rows last charged them */
} reader_t;

static size_t series_index(reader_t *r, ow_pq_labels_t *ls, int delta)
{
	if (r->nslots < (r->n + 1) * 2) {
		size_t n = r->nslots ? r->nslots * 2 : 64;
		free(r->slots);
		r->slots = ow_calloc(n, sizeof(size_t));
		r->nslots = n;
		for (size_t i = 0; i < r->n; i++) {
			size_t h = (size_t)ow_pq_labels_hash(&r->series[i].labels) & (n - 1);
			while (r->slots[h])
				h = (h + 1) & (n - 1);
			r->slots[h] = i + 1;
		}
	}
	size_t h = (size_t)ow_pq_labels_hash(ls) & (r->nslots - 1);
	while (r->slots[h]) {
		if (ow_pq_labels_cmp(&r->series[r->slots[h] - 1].labels, ls) == 0) {
			ow_pq_labels_free(ls);
			return r->slots[h] - 1;
		}
		h = (h + 1) & (r->nslots - 1);
	}
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->series = ow_realloc(r->series, r->cap * sizeof(r->series[0]));
		r->delta = ow_realloc(r->delta, r->cap);
	}
	memset(&r->series[r->n], 0, sizeof(r->series[0]));
	r->series[r->n].labels = *ls;
	r->delta[r->n] = (uint8_t)delta;
	r->slots[h] = r->n + 1;
	return r->n++;
}

/* The numbers of a JSON array of numbers or of strings of numbers. */
static int json_numbers(const ow_search_val_t *v, double **out)
{
	if (v->type != SQLITE_TEXT)
		return 0;
	int n = 0, cap = 0;
	const char *p = (const char *)v->p, *end = p + v->n;
	char tmp[64];
	while (p < end) {
		if (*p == '-' || *p == '+' || isdigit((unsigned char)*p) || *p == 'I' ||
		    *p == 'N') {
			size_t k = 0;
			while (p < end && k < sizeof(tmp) - 1 && !strchr(",]\" ", *p))
				tmp[k++] = *p++;
			tmp[k] = '\0';
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				*out = ow_realloc(*out, (size_t)cap * sizeof(double));
			}
			(*out)[n++] = strcmp(tmp, "Infinity") == 0    ? INFINITY
				      : strcmp(tmp, "-Infinity") == 0 ? -INFINITY
								      : strtod(tmp, NULL);
			continue;
		}
		p++;
	}
	return n;
}

/* A JSON value as a label value: a string itself, else its JSON. */
static char *label_value(const cJSON *v)
{
	if (cJSON_IsString(v))
		return ow_strdup(v->valuestring);
	char *s = cJSON_PrintUnformatted(v);
	char *r = ow_strdup(s ? s : "");
	cJSON_free(s);
	return r;
}

/* The members of a JSON object as labels (their keys made label names),
 * but the three of a service's identity when skip_service. */
static void object_labels(const cJSON *j, int skip_service, ow_pq_labels_t *ls)
{
	for (const cJSON *a = j ? j->child : NULL; a; a = a->next) {
		if (skip_service && (strcmp(a->string, "service.name") == 0 ||
				     strcmp(a->string, "service.namespace") == 0 ||
				     strcmp(a->string, "service.instance.id") == 0))
			continue;
		ow_buf_t name = {0};
		ow_prom_label_name(a->string, strlen(a->string), &name);
		ow_buf_add(&name, "", 1);
		char *v = label_value(a);
		ow_pq_label_set(ls, (char *)name.data, v);
		free(v);
		ow_buf_free(&name);
	}
}

/* The labels of a row, without __name__ (and le, quantile): job and
 * instance of the resource (and, for target_info, its other attributes),
 * then the point's attributes. */
static void row_labels(const ow_search_val_t *res, const ow_search_val_t *attrs, ow_pq_labels_t *ls,
		       int resource_labels)
{
	if (res->type == SQLITE_TEXT) {
		cJSON *j = cJSON_ParseWithLength((const char *)res->p, res->n);
		if (resource_labels)
			object_labels(j, 1, ls);
		const cJSON *sn = cJSON_GetObjectItemCaseSensitive(j, "service.name");
		const cJSON *ns = cJSON_GetObjectItemCaseSensitive(j, "service.namespace");
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "service.instance.id");
		if (sn) {
			char *v = label_value(sn);
			if (ns) {
				char *nv = label_value(ns);
				ow_buf_t b = {0};
				ow_buf_printf(&b, "%s/%s", nv, v);
				ow_buf_add(&b, "", 1);
				ow_pq_label_set(ls, "job", (char *)b.data);
				ow_buf_free(&b);
				free(nv);
			} else {
				ow_pq_label_set(ls, "job", v);
			}
			free(v);
		}
		if (id) {
			char *v = label_value(id);
			ow_pq_label_set(ls, "instance", v);
			free(v);
		}
		cJSON_Delete(j);
	}
	if (attrs && attrs->type == SQLITE_TEXT) {
		cJSON *j = cJSON_ParseWithLength((const char *)attrs->p, attrs->n);
		object_labels(j, 0, ls);
		cJSON_Delete(j);
	}
}

static ow_pq_labels_t labels_copy(const ow_pq_labels_t *ls)
{
	ow_pq_labels_t c = {0};
	for (int i = 0; i < ls->n; i++)
		ow_pq_label_set(&c, ls->l[i].name, ls->l[i].value);
	return c;
}

/* The series of one variant of a row: its index, or -1 when the matchers
 * refuse it. */
static ptrdiff_t variant(reader_t *r, const ow_pq_labels_t *base, const char *name,
			 const char *extra, const char *extra_value, int delta)
{
	ow_pq_labels_t ls = labels_copy(base);
	ow_pq_label_set(&ls, "__name__", name);
	if (extra)
		ow_pq_label_set(&ls, extra, extra_value);
	if (!ow_pq_match_all(r->m, r->nm, &ls)) {
		ow_pq_labels_free(&ls);
		return -1;
	}
	return (ptrdiff_t)series_index(r, &ls, delta);
}

/* Columns of the points query. */
enum {
	C_NAME,
	C_TYPE,
	C_UNIT,
	C_MONO,
	C_RES,
	C_ATTRS,
	C_BOUNDS,
	C_QUANT,
	C_TEMP,
	C_TIME,
	C_VALUE,
	C_VALUE_INT,
	C_COUNT,
	C_SUM,
	C_BUCKETS,
	C_FLAGS,
	C_NCOLS
};

static rowkey_t *row_key(reader_t *r, const ow_search_val_t *v)
{
	/* the key: the columns that make a row's series, back to back */
	static const int cols[] = {C_NAME, C_TYPE, C_UNIT, C_MONO, C_RES, C_ATTRS, C_BOUNDS};
	uint64_t h = 1469598103934665603ULL;
	size_t keylen = 0;
	for (size_t i = 0; i < OW_NELEMS(cols); i++) {
		const ow_search_val_t *x = &v[cols[i]];
		if (x->type == SQLITE_TEXT)
			for (size_t k = 0; k < x->n; k++)
				h = (h ^ x->p[k]) * 1099511628211ULL;
		else
			h = (h ^ (uint64_t)x->i) * 1099511628211ULL;
		h = (h ^ 0x1f) * 1099511628211ULL;
		keylen += (x->type == SQLITE_TEXT ? x->n : 8) + 1;
	}
	if (r->nkslots < (r->nkeys + 1) * 2) {
		size_t n = r->nkslots ? r->nkslots * 2 : 64;
		free(r->kslots);
		r->kslots = ow_calloc(n, sizeof(size_t));
		r->nkslots = n;
		for (size_t i = 0; i < r->nkeys; i++) {
			size_t s = (size_t)r->keys[i].hash & (n - 1);
			while (r->kslots[s])
				s = (s + 1) & (n - 1);
			r->kslots[s] = i + 1;
		}
	}
	char *key = ow_alloc(keylen);
	size_t at = 0;
	for (size_t i = 0; i < OW_NELEMS(cols); i++) {
		const ow_search_val_t *x = &v[cols[i]];
		if (x->type == SQLITE_TEXT) {
			memcpy(key + at, x->p, x->n);
			at += x->n;
		} else {
			memcpy(key + at, &x->i, 8);
			at += 8;
		}
		key[at++] = (char)(x->type == SQLITE_TEXT ? 1 : 2);
	}
	size_t s = (size_t)h & (r->nkslots - 1);
	while (r->kslots[s]) {
		rowkey_t *k = &r->keys[r->kslots[s] - 1];
		if (k->hash == h && k->keylen == keylen && memcmp(k->key, key, keylen) == 0) {
			free(key);
			return k;
		}
		s = (s + 1) & (r->nkslots - 1);
	}
	if (r->nkeys == r->capkeys) {
		r->capkeys = r->capkeys ? r->capkeys * 2 : 16;
		r->keys = ow_realloc(r->keys, r->capkeys * sizeof(rowkey_t));
	}
	rowkey_t *k = &r->keys[r->nkeys];
	memset(k, 0, sizeof(*k));
	k->hash = h;
	k->key = key;
	k->keylen = keylen;
	r->kslots[s] = ++r->nkeys;
	/* its series */
	char *name = val_str(&v[C_NAME]), *type = val_str(&v[C_TYPE]), *unit = val_str(&v[C_UNIT]);
	k->kind = kind_of(type);
	k->delta = v[C_TEMP].type == SQLITE_INTEGER && v[C_TEMP].i == 1;
	ow_buf_t base = {0};
	ow_prom_metric_name(name, unit, type, v[C_MONO].type == SQLITE_INTEGER && v[C_MONO].i,
			    &base);
	ow_buf_add(&base, "", 1);
	char names[3][512];
	int nv = variants(k->kind, (char *)base.data, names);
	ow_pq_labels_t ls = {0};
	row_labels(&v[C_RES], &v[C_ATTRS], &ls, 0);
	if (k->kind == K_HIST)
		k->nles = json_numbers(&v[C_BOUNDS], &k->les);
	if (k->kind == K_SUMMARY && v[C_QUANT].type == SQLITE_TEXT) {
		cJSON *j = cJSON_ParseWithLength((const char *)v[C_QUANT].p, v[C_QUANT].n);
		for (const cJSON *q = j ? j->child : NULL; q; q = q->next) {
			const cJSON *x = cJSON_GetObjectItemCaseSensitive(q, "quantile");
			k->qs = ow_realloc(k->qs, (size_t)(k->nqs + 1) * sizeof(double));
			k->qs[k->nqs++] = cJSON_IsNumber(x) ? x->valuedouble : 0;
		}
		cJSON_Delete(j);
	}
	int nto = k->kind == K_HIST ? k->nles + 3 : k->kind == K_SUMMARY ? k->nqs + 2 : nv;
	k->to = ow_calloc((size_t)OW_MAX(nto, 1), sizeof(ptrdiff_t));
	k->nto = nto;
	if (k->kind == K_HIST) {
		for (int i = 0; i <= k->nles; i++) {
			ow_buf_t le = {0};
			ow_pq_format_value(&le, i < k->nles ? k->les[i] : INFINITY);
			ow_buf_add(&le, "", 1);
			k->to[i] = variant(r, &ls, names[0], "le", (char *)le.data, k->delta);
			ow_buf_free(&le);
		}
		k->to[k->nles + 1] = variant(r, &ls, names[1], NULL, NULL, k->delta);
		k->to[k->nles + 2] = variant(r, &ls, names[2], NULL, NULL, k->delta);
	} else if (k->kind == K_SUMMARY) {
		for (int i = 0; i < k->nqs; i++) {
			ow_buf_t q = {0};
			ow_pq_format_value(&q, k->qs[i]);
			ow_buf_add(&q, "", 1);
			k->to[i] = variant(r, &ls, names[0], "quantile", (char *)q.data, 0);
			ow_buf_free(&q);
		}
		k->to[k->nqs] = variant(r, &ls, names[1], NULL, NULL, 0);
		k->to[k->nqs + 1] = variant(r, &ls, names[2], NULL, NULL, 0);
	} else {
		for (int i = 0; i < nv; i++)
			k->to[i] = variant(r, &ls, names[i], NULL, NULL, k->delta);
		if (nv == 0) {
			k->to[0] = -1;
			k->nto = 1;
		}
	}
	ow_pq_labels_free(&ls);
	ow_buf_free(&base);
	free(name);
	free(type);
	free(unit);
	return k;
}

static void add_point(reader_t *r, ptrdiff_t to, int64_t t, double v)
{
	if (to >= 0) {
		ow_pq_series_add(&r->series[to], t, v);
		r->points++;
	}
}

static double num(const ow_search_val_t *v)
{
	return v->type == SQLITE_FLOAT ? v->d : v->type == SQLITE_INTEGER ? (double)v->i : NAN;
}

static void row_points(reader_t *r, rowkey_t *k, const ow_search_val_t *v)
{
	int64_t t = v[C_TIME].i;
	t = t >= 0 ? t / 1000000 : -((-t + 999999) / 1000000);
	int stale = v[C_FLAGS].type == SQLITE_INTEGER && (v[C_FLAGS].i & 1);
	double st = ow_pq_stale();
	switch (k->kind) {
	case K_GAUGE:
	case K_SUM: {
		double x = v[C_VALUE].type == SQLITE_FLOAT	   ? v[C_VALUE].d
			   : v[C_VALUE_INT].type == SQLITE_INTEGER ? (double)v[C_VALUE_INT].i
								   : NAN;
		add_point(r, k->to[0], t, stale ? st : x);
		break;
	}
	case K_HIST: {
		double *b = NULL;
		int nb = json_numbers(&v[C_BUCKETS], &b);
		double cum = 0, count = (double)(uint64_t)v[C_COUNT].i;
		for (int i = 0; i <= k->nles; i++) {
			cum += i < nb ? b[i] : 0;
			add_point(r, k->to[i], t, stale ? st : (i == k->nles ? count : cum));
		}
		free(b);
		add_point(r, k->to[k->nles + 1], t, stale ? st : num(&v[C_SUM]));
		add_point(r, k->to[k->nles + 2], t, stale ? st : count);
		break;
	}
	case K_SUMMARY: {
		double count = (double)(uint64_t)v[C_COUNT].i;
		cJSON *j = v[C_QUANT].type == SQLITE_TEXT
			       ? cJSON_ParseWithLength((const char *)v[C_QUANT].p, v[C_QUANT].n)
			       : NULL;
		int i = 0;
		for (const cJSON *q = j ? j->child : NULL; q && i < k->nqs; q = q->next, i++) {
			const cJSON *x = cJSON_GetObjectItemCaseSensitive(q, "value");
			add_point(r, k->to[i], t,
				  stale		      ? st
				  : cJSON_IsNumber(x) ? x->valuedouble
						      : NAN);
		}
		cJSON_Delete(j);
		add_point(r, k->to[k->nqs], t, stale ? st : num(&v[C_SUM]));
		add_point(r, k->to[k->nqs + 1], t, stale ? st : count);
		break;
	}
	case K_EXP:
		add_point(r, k->to[0], t, stale ? st : num(&v[C_SUM]));
		add_point(r, k->to[1], t, stale ? st : (double)(uint64_t)v[C_COUNT].i);
		break;
	}
}

static int cmp_point(const void *a, const void *b)
{
	int64_t x = ((const ow_pq_point_t *)a)->t, y = ((const ow_pq_point_t *)b)->t;
	return x < y ? -1 : x > y;
}

/* In time order, one point a millisecond. */
static void order_points(ow_pq_series_t *s)
{
	int sorted = 1;
	for (size_t i = 1; i < s->n && sorted; i++)
		sorted = s->pts[i - 1].t <= s->pts[i].t;
	if (!sorted) /* stable enough: equal times keep the later read below */
		qsort(s->pts, s->n, sizeof(s->pts[0]), cmp_point);
	size_t m = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (m && s->pts[m - 1].t == s->pts[i].t)
			m--;
		s->pts[m++] = s->pts[i];
	}
	s->n = m;
}

/* A delta series' values summed in time order from its first point. */
static void accumulate(ow_pq_series_t *s)
{
	double acc = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (ow_pq_is_stale(s->pts[i].v) || isnan(s->pts[i].v))
			continue;
		acc += s->pts[i].v;
		s->pts[i].v = acc;
	}
}

/* One stored metric name matched by a selector, and the kinds (1 <<
 * K_*) it is stored as: every kind, whichever the selector matched (its
 * piece, cached under the name alone, must hold every column any of its
 * series reads). */
typedef struct {
	char *name;
	unsigned kinds;
} mname_t;

/* A stored metric (name, type, unit) once, however many parts hold it;
 * id: its name's among the distinct names. */
typedef struct {
	char *name, *type, *unit;
	int kind;
	size_t id;
} stored_t;

struct ow_prom_names {
	stored_t *m;
	size_t n;
	unsigned *kinds; /* by name id: every kind the name is stored as */
	size_t nids;
};

static uint64_t hash_str(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ULL;
	return (h ^ 0x1f) * 1099511628211ULL;
}

/* The slot (of nslots, a power of two) that holds, or is free for, the
 * entry eq() finds: slots hold index + 1. */
static size_t *slot_of(size_t *slots, size_t nslots, uint64_t h,
		       int (*eq)(const struct ow_prom_names *, size_t, const char *const *),
		       const struct ow_prom_names *t, const char *const *key)
{
	size_t s = (size_t)h & (nslots - 1);
	while (slots[s] && !eq(t, slots[s] - 1, key))
		s = (s + 1) & (nslots - 1);
	return &slots[s];
}

static int same_metric(const struct ow_prom_names *t, size_t i, const char *const *key)
{
	return strcmp(t->m[i].name, key[0]) == 0 && strcmp(t->m[i].type, key[1]) == 0 &&
	       strcmp(t->m[i].unit, key[2]) == 0;
}

static int same_name(const struct ow_prom_names *t, size_t i, const char *const *key)
{
	return strcmp(t->m[i].name, key[0]) == 0;
}

static void names_free(struct ow_prom_names *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++) {
		free(t->m[i].name);
		free(t->m[i].type);
		free(t->m[i].unit);
	}
	free(t->m);
	free(t->kinds);
	free(t);
}

/* The packed rows (name, type, unit) as distinct metrics and names. */
static struct ow_prom_names *names_of(const ow_buf_t *rows)
{
	size_t pos = 0, nrows = 0, nslots = 16;
	ow_search_val_t v[3];
	while (ow_search_packed_next(rows, &pos, 3, v))
		nrows++;
	while (nslots < 2 * nrows)
		nslots *= 2;
	struct ow_prom_names *t = ow_calloc(1, sizeof(*t));
	t->m = ow_alloc(OW_MAX(nrows, 1) * sizeof(stored_t));
	t->kinds = ow_calloc(OW_MAX(nrows, 1), sizeof(unsigned));
	size_t *bym = ow_calloc(nslots, sizeof(size_t)),
	       *byname = ow_calloc(nslots, sizeof(size_t));
	pos = 0;
	while (ow_search_packed_next(rows, &pos, 3, v)) {
		char *name = val_str(&v[0]), *type = val_str(&v[1]), *unit = val_str(&v[2]);
		const char *key[3] = {name, type, unit};
		uint64_t hn = hash_str(1469598103934665603ULL, name);
		size_t *sm =
		    slot_of(bym, nslots, hash_str(hash_str(hn, type), unit), same_metric, t, key);
		if (*sm) { /* another part's */
			free(name);
			free(type);
			free(unit);
			continue;
		}
		size_t *sn = slot_of(byname, nslots, hn, same_name, t, key);
		size_t id = *sn ? t->m[*sn - 1].id : t->nids++;
		t->m[t->n] = (stored_t){name, type, unit, kind_of(type), id};
		*sm = ++t->n;
		if (!*sn)
			*sn = t->n;
		t->kinds[id] |= 1u << t->m[t->n - 1].kind;
	}
	free(bym);
	free(byname);
	return t;
}

static int sql_failed(ow_prom_store_t *st, char *err, size_t errlen);

/* A row of ow_search_part_distinct packed onto the buffer arg. */
static int pack_row(void *arg, const ow_search_val_t *v, int group)
{
	(void)group;
	ow_search_pack(arg, v, 3);
	return OW_OK;
}

/* The metrics (name, type, unit) of every part and of the buffered rows,
 * distinct, into st->names; a part's from the cache (its rows in the
 * order read, a metric maybe more than once: names_of keeps one). */
static int load_names(ow_prom_store_t *st, char *err, size_t errlen)
{
	static const char sql[] = "SELECT DISTINCT metric_name, metric_type, metric_unit "
				  "FROM metrics";
	/* packed rows back to back (a packed result's first row repeats
	 * nothing: results concatenate) */
	ow_buf_t all = {0};
	size_t np = ow_search_nparts(st->s, OW_METRICS);
	int rc = OW_OK;
	for (size_t i = 0; i < np && rc == OW_OK; i++) {
		const void *part = ow_search_partref(st->s, OW_METRICS, i);
		const ow_prom_piece_t *p = part ? ow_prom_cache_get(part, "n:") : NULL;
		if (!p) {
			/* the part's columns read by dictionary codes; through
			 * SQL where the search engine must convert them */
			static const char *const cols[] = {"metric_name", "metric_type",
							   "metric_unit"};
			ow_prom_piece_t fresh = {0};
			rc = ow_search_part_distinct(st->s, OW_METRICS, i, cols, 3, pack_row,
						     &fresh.rows, err, errlen);
			if (rc == OW_DECLINED) {
				fresh.rows.len = 0;
				ow_search_scope(st->s, OW_METRICS, (ptrdiff_t)i);
				rc = ow_search_select(st->s, sql, -1, 0, OW_SEARCH_AUTO,
						      OW_SEARCH_PACKED, &fresh.rows,
						      &(const char *){NULL}, err, errlen);
				ow_search_scope(st->s, OW_METRICS, OW_SEARCH_EVERYTHING);
			}
			if (rc != OW_OK) {
				ow_buf_free(&fresh.rows);
				ow_buf_free(&all);
				return sql_failed(st, err, errlen);
			}
			fresh.bytes = 256 + fresh.rows.cap;
			p = ow_prom_cache_put(part, "n:", &fresh);
		}
		ow_buf_add(&all, p->rows.data, p->rows.len);
		ow_prom_cache_release(p);
	}
	ow_search_scope(st->s, OW_METRICS, OW_SEARCH_BUFFERED);
	rc = ow_search_select(st->s, sql, -1, 0, OW_SEARCH_AUTO, OW_SEARCH_PACKED, &all,
			      &(const char *){NULL}, err, errlen);
	ow_search_scope(st->s, OW_METRICS, OW_SEARCH_EVERYTHING);
	if (rc == OW_OK)
		st->names = names_of(&all);
	ow_buf_free(&all);
	return rc == OW_OK ? OW_OK : sql_failed(st, err, errlen);
}

/* The metric names (stored) whose series names can match m, and their
 * kinds; every name when no __name__ matcher narrows them; *target when
 * target_info may match. The list is of every time (DISTINCT on the
 * dictionary columns is cheap; a time filter is not) and a sum's name is
 * tried with and without _total: the points read and the matchers on
 * each series' own labels decide. */
static int metric_names(ow_prom_store_t *st, const ow_pq_matcher_t *m, int nm, mname_t **out,
			size_t *nout, int *target, char *err, size_t errlen)
{
	int all = 1;
	*target = 1;
	*out = NULL;
	*nout = 0;
	for (int i = 0; i < nm; i++)
		if (strcmp(m[i].name, "__name__") == 0) {
			all = 0;
			*target &= ow_pq_match(&m[i], "target_info");
		}
	if (!st->names) {
		int rc = load_names(st, err, errlen);
		if (rc != OW_OK)
			return rc;
	}
	const struct ow_prom_names *t = st->names;
	uint8_t *taken = ow_calloc(OW_MAX(t->nids, 1), 1);
	*out = ow_alloc(OW_MAX(t->nids, 1) * sizeof(mname_t));
	for (size_t j = 0; j < t->n; j++) {
		const stored_t *x = &t->m[j];
		int hit = all && !taken[x->id];
		for (int mono = 0; mono < 1 + (x->kind == K_SUM) && !hit && !taken[x->id]; mono++) {
			ow_buf_t base = {0};
			ow_prom_metric_name(x->name, x->unit, x->type, mono, &base);
			ow_buf_add(&base, "", 1);
			char names[3][512];
			int nv = variants(x->kind, (char *)base.data, names);
			for (int k = 0; k < nv && !hit; k++) {
				hit = 1;
				for (int i = 0; i < nm; i++)
					if (strcmp(m[i].name, "__name__") == 0 &&
					    !ow_pq_match(&m[i], names[k]))
						hit = 0;
			}
			ow_buf_free(&base);
		}
		if (hit) {
			taken[x->id] = 1;
			(*out)[(*nout)++] = (mname_t){ow_strdup(x->name), t->kinds[x->id]};
		}
	}
	free(taken);
	return OW_OK;
}

/* The points query of names[0..n) of their kinds (or, samples 0, their
 * label sets), within [mint, maxt] when span (else every time), into
 * sql. */
static void points_sql(ow_buf_t *sql, int samples, const mname_t *names, size_t n, int span,
		       int64_t mint, int64_t maxt)
{
	unsigned kinds = 0;
	for (size_t i = 0; i < n; i++)
		kinds |= names[i].kinds;
	/* the columns the kinds read; NULL for the others (named apart: the
	 * columnar engine takes no two columns of one name) */
	int hist = kinds & (1u << K_HIST), summ = kinds & (1u << K_SUMMARY),
	    counts = kinds & (1u << K_HIST | 1u << K_SUMMARY | 1u << K_EXP);
	ow_buf_printf(sql,
		      "SELECT metric_name, metric_type, metric_unit, is_monotonic, "
		      "resource_attributes, attributes, %s, %s",
		      hist ? "explicit_bounds" : "NULL AS b",
		      !summ	? "NULL AS q"
		      : samples ? "quantiles"
				: "max(quantiles)");
	if (samples)
		ow_buf_printf(sql, ", temporality, time, value, value_int, %s, %s, %s, flags",
			      counts ? "count" : "NULL AS c", counts ? "sum" : "NULL AS s",
			      hist ? "bucket_counts" : "NULL AS bc");
	ow_buf_addstr(sql, " FROM metrics WHERE metric_name IN (");
	for (size_t i = 0; i < n; i++) {
		if (i)
			ow_buf_add(sql, ",", 1);
		ow_search_sql_str(sql, names[i].name);
	}
	ow_buf_addstr(sql, ")");
	if (span) {
		ow_buf_addstr(sql, " AND ");
		time_where(sql, mint, maxt);
	}
	if (!samples)
		ow_buf_addstr(sql, " GROUP BY 1, 2, 3, 4, 5, 6, 7");
	ow_buf_add(sql, "", 1);
}

/* Past the request's memory budget, as Prometheus says it: OW_ERROR. */
static int over_memory(const ow_prom_store_t *st, char *err, size_t errlen)
{
	snprintf(err, errlen,
		 "query processing would load too much data into memory: more than "
		 "query.max_memory_bytes (%lld)",
		 (long long)st->max_memory);
	return OW_ERROR;
}

/* The request's memory: n more bytes (or fewer, n < 0) held by its
 * fetches, the search handle's too (ow_search_hold: its SQL counts them),
 * in Prometheus' words when past the budget. */
static int charge(ow_prom_store_t *st, int64_t n, char *err, size_t errlen)
{
	st->fetched += n;
	if (ow_search_hold(st->s, n, err, errlen) != OW_OK)
		return over_memory(st, err, errlen);
	return OW_OK;
}

/* The request's clock and its client: OW_OK to go on. */
static int poll_stop(const ow_prom_store_t *st, char *err, size_t errlen)
{
	if (st->deadline_ns && ow_mono_ns() > st->deadline_ns) {
		snprintf(err, errlen, "query timed out in query execution");
		return OW_PQ_TIMEOUT;
	}
	if (st->cancel && atomic_load(st->cancel)) {
		snprintf(err, errlen, "query canceled: the client went away");
		return OW_PQ_CANCELED;
	}
	return OW_OK;
}

/* A failed query's code: why the search stopped it (past the memory
 * budget: in Prometheus' words). */
static int sql_failed(ow_prom_store_t *st, char *err, size_t errlen)
{
	int why = ow_search_stop_reason(st->s);
	if (why == OW_SEARCH_OVER_MEMORY)
		over_memory(st, err, errlen);
	return why == OW_SEARCH_TIMEOUT	   ? OW_PQ_TIMEOUT
	       : why == OW_SEARCH_CANCELED ? OW_PQ_CANCELED
					   : OW_ERROR;
}

/* The points (and memory) rows added to r since it last did: charged. */
static int charge_points(ow_prom_store_t *st, reader_t *r, char *err, size_t errlen)
{
	int64_t n = r->points;
	r->points = 0;
	return charge(st, n * (int64_t)sizeof(ow_pq_point_t), err, errlen);
}

/* Rows one at a time into r's series (matched by r's matchers). */
typedef struct {
	ow_prom_store_t *st;
	reader_t *r;
	int samples;
	rowkey_t *last;
	ow_search_val_t prev[C_QUANT];
	int64_t nrows;
	char *err;
	size_t errlen;
} rows_t;

static int one_row(void *arg, const ow_search_val_t *v, int flags)
{
	rows_t *x = arg;
	/* the row's key columns as the row before's (told by the reader, or
	 * compared: a repeated text is mostly the same pointer; the row
	 * before's text is still there but at a row group's start): the same
	 * key */
	int same = x->last != NULL && (flags & OW_SEARCH_ROW_FIRST) == 0,
	    told = same && (flags & OW_SEARCH_ROW_SAME_KEY);
	for (int c = 0; c < C_QUANT && same && !told; c++)
		same = v[c].type == x->prev[c].type && v[c].n == x->prev[c].n &&
		       v[c].i == x->prev[c].i &&
		       (v[c].p == x->prev[c].p || memcmp(v[c].p, x->prev[c].p, v[c].n) == 0);
	rowkey_t *k = same ? x->last : row_key(x->r, v);
	x->last = k;
	if (!told)
		memcpy(x->prev, v, sizeof(x->prev));
	if (x->samples)
		row_points(x->r, k, v);
	if ((++x->nrows & 4095) != 0)
		return OW_OK;
	/* the points so far held against the budget as they grow */
	int rc = charge_points(x->st, x->r, x->err, x->errlen);
	return rc == OW_OK ? poll_stop(x->st, x->err, x->errlen) : rc;
}

/* The rows of a points query into r's series. */
static int read_rows(ow_prom_store_t *st, reader_t *r, const ow_buf_t *rows, int samples, char *err,
		     size_t errlen)
{
	size_t pos = 0;
	int ncols = samples ? C_NCOLS : C_QUANT + 1, rc = OW_OK;
	ow_search_val_t v[C_NCOLS];
	memset(v, 0, sizeof(v));
	rows_t x = {.st = st, .r = r, .samples = samples, .err = err, .errlen = errlen};
	while (rc == OW_OK && ow_search_packed_next(rows, &pos, ncols, v))
		rc = one_row(&x, v, 0);
	return rc == OW_OK ? charge_points(st, r, err, errlen) : rc;
}

/* The points query of names[0..n) (points_sql) over scope (a part's
 * index, or OW_SEARCH_BUFFERED) into r's series. */
static int read_sql(ow_prom_store_t *st, reader_t *r, ptrdiff_t scope, const mname_t *names,
		    size_t n, int samples, int span, int64_t mint, int64_t maxt, char *err,
		    size_t errlen)
{
	ow_buf_t sql = {0}, rows = {0};
	points_sql(&sql, samples, names, n, span, mint, maxt);
	ow_search_scope(st->s, OW_METRICS, scope);
	int rc = run(st->s, &sql, &rows, err, errlen);
	ow_search_scope(st->s, OW_METRICS, OW_SEARCH_EVERYTHING);
	ow_buf_free(&sql);
	rc = rc == OW_OK ? read_rows(st, r, &rows, samples, err, errlen)
			 : sql_failed(st, err, errlen);
	ow_buf_free(&rows);
	return rc;
}

static void reader_free(reader_t *r, int series)
{
	for (size_t i = 0; i < r->nkeys; i++) {
		free(r->keys[i].key);
		free(r->keys[i].to);
		free(r->keys[i].les);
		free(r->keys[i].qs);
	}
	free(r->keys);
	free(r->kslots);
	free(r->slots);
	if (series) {
		for (size_t i = 0; i < r->n; i++) {
			ow_pq_labels_free(&r->series[i].labels);
			free(r->series[i].pts);
		}
		free(r->series);
		free(r->delta);
	}
}

/* The columns of a points query (C_*), as the table names them; NULL
 * for those the metric's kinds do not read. */
static void point_columns(unsigned kinds, const char *cols[C_NCOLS])
{
	static const char *const all[C_NCOLS] = {[C_NAME] = "metric_name",
						 [C_TYPE] = "metric_type",
						 [C_UNIT] = "metric_unit",
						 [C_MONO] = "is_monotonic",
						 [C_RES] = "resource_attributes",
						 [C_ATTRS] = "attributes",
						 [C_BOUNDS] = "explicit_bounds",
						 [C_QUANT] = "quantiles",
						 [C_TEMP] = "temporality",
						 [C_TIME] = "time",
						 [C_VALUE] = "value",
						 [C_VALUE_INT] = "value_int",
						 [C_COUNT] = "count",
						 [C_SUM] = "sum",
						 [C_BUCKETS] = "bucket_counts",
						 [C_FLAGS] = "flags"};
	int hist = kinds & (1u << K_HIST), summ = kinds & (1u << K_SUMMARY),
	    counts = kinds & (1u << K_HIST | 1u << K_SUMMARY | 1u << K_EXP);
	for (int c = 0; c < C_NCOLS; c++)
		cols[c] = all[c];
	if (!hist)
		cols[C_BOUNDS] = cols[C_BUCKETS] = NULL;
	if (!summ)
		cols[C_QUANT] = NULL;
	if (!counts)
		cols[C_COUNT] = cols[C_SUM] = NULL;
}

/* The bytes series s holds, as the allocator gave them (each label's
 * text its own allocation). */
size_t ow_prom_series_bytes(const ow_pq_series_t *s)
{
	size_t n = sizeof(*s) + malloc_usable_size(s->pts) + malloc_usable_size(s->labels.l);
	for (int l = 0; l < s->labels.n; l++)
		n += malloc_usable_size(s->labels.l[l].name) +
		     malloc_usable_size(s->labels.l[l].value);
	return n;
}

/* Decodes the piece of metric name in part i (every series, every time):
 * its rows read from the part's columns (ow_search_part_rows), or through
 * SQL where the search engine must convert them. OW_OK, or a code with a
 * message. */
static int decode_piece(ow_prom_store_t *st, size_t i, const mname_t *name, ow_prom_piece_t *out,
			char *err, size_t errlen)
{
	reader_t r = {0};
	rows_t x = {.st = st, .r = &r, .samples = 1, .err = err, .errlen = errlen};
	const char *cols[C_NCOLS];
	point_columns(name->kinds, cols);
	int rc = ow_search_part_rows(st->s, OW_METRICS, i, "metric_name", name->name, cols, C_NCOLS,
				     C_QUANT, one_row, &x, err, errlen);
	if (rc == OW_DECLINED)
		rc = read_sql(st, &r, (ptrdiff_t)i, name, 1, 1, 0, 0, 0, err, errlen);
	else if (rc == OW_OK) {
		rc = charge_points(st, &r, err, errlen);
	} else if (rc == OW_ERROR) {
		rc = sql_failed(st, err, errlen);
	}
	if (rc != OW_OK) {
		reader_free(&r, 1);
		return rc;
	}
	reader_free(&r, 0);
	size_t bytes = 256 + r.n;
	for (size_t k = 0; k < r.n; k++) {
		ow_pq_series_t *s = &r.series[k];
		order_points(s);
		s->pts = ow_realloc(s->pts, OW_MAX(s->n, 1) * sizeof(ow_pq_point_t));
		s->cap = s->n;
		bytes += ow_prom_series_bytes(s);
	}
	*out = (ow_prom_piece_t){r.series, r.delta, r.n, bytes, {0}};
	return OW_OK;
}

/* The points of t >= lo in s. */
static size_t first_at(const ow_pq_series_t *s, int64_t lo)
{
	size_t a = 0, b = s->n;
	while (a < b) {
		size_t m = a + (b - a) / 2;
		if (s->pts[m].t < lo)
			a = m + 1;
		else
			b = m;
	}
	return a;
}

/* The series of a piece that r's matchers take, with their points in
 * [mint, maxt] (or their labels alone), into r. */
static int merge_piece(ow_prom_store_t *st, reader_t *r, const ow_prom_piece_t *p, int64_t mint,
		       int64_t maxt, char *err, size_t errlen)
{
	int64_t npts = 0;
	for (size_t k = 0; k < p->n; k++) {
		const ow_pq_series_t *s = &p->series[k];
		if (!ow_pq_match_all(r->m, r->nm, &s->labels))
			continue;
		size_t a = first_at(s, mint), b = maxt == INT64_MAX ? s->n : first_at(s, maxt + 1);
		if (a >= b)
			continue;
		ow_pq_labels_t ls = labels_copy(&s->labels);
		size_t at = series_index(r, &ls, p->delta[k]);
		ow_pq_series_t *to = &r->series[at];
		if (!st->samples)
			continue;
		if (to->n + (b - a) > to->cap) {
			to->cap = OW_MAX(to->n + (b - a), to->cap * 2);
			to->pts = ow_realloc(to->pts, to->cap * sizeof(ow_pq_point_t));
		}
		memcpy(to->pts + to->n, s->pts + a, (b - a) * sizeof(ow_pq_point_t));
		to->n += b - a;
		npts += (int64_t)(b - a);
	}
	return charge(st, npts * (int64_t)sizeof(ow_pq_point_t), err, errlen);
}

/* target_info (the compatibility rules' resource series): one a resource
 * with attributes beyond service.name, service.namespace and
 * service.instance.id, labelled job, instance and those, 1 at every time
 * the resource has a point. */
static int target_info(ow_prom_store_t *st, reader_t *r, int64_t mint, int64_t maxt, char *err,
		       size_t errlen)
{
	ow_buf_t sql = {0}, rows = {0};
	ow_buf_addstr(&sql, st->samples
				? "SELECT resource_attributes, time FROM metrics WHERE "
				: "SELECT DISTINCT resource_attributes FROM metrics WHERE ");
	time_where(&sql, mint, maxt);
	ow_buf_addstr(&sql, " AND resource_attributes IS NOT NULL");
	if (st->samples)
		ow_buf_addstr(&sql, " GROUP BY 1, 2");
	ow_buf_add(&sql, "", 1);
	int rc = run(st->s, &sql, &rows, err, errlen);
	ow_buf_free(&sql);
	if (rc != OW_OK)
		rc = sql_failed(st, err, errlen);
	size_t pos = 0;
	ow_search_val_t v[2] = {0}, prev = {0};
	ptrdiff_t to = -1;
	while (rc == OW_OK && ow_search_packed_next(&rows, &pos, st->samples ? 2 : 1, v)) {
		if (v[0].p != prev.p || v[0].n != prev.n) {
			ow_pq_labels_t ls = {0};
			row_labels(&v[0], NULL, &ls, 1);
			int other = 0;
			for (int i = 0; i < ls.n; i++)
				other |= strcmp(ls.l[i].name, "job") != 0 &&
					 strcmp(ls.l[i].name, "instance") != 0;
			to = other ? variant(r, &ls, "target_info", NULL, NULL, 0) : -1;
			ow_pq_labels_free(&ls);
			prev = v[0];
		}
		if (st->samples && v[1].type == SQLITE_INTEGER) {
			int64_t t = v[1].i;
			add_point(r, to, t >= 0 ? t / 1000000 : -((-t + 999999) / 1000000), 1);
		}
	}
	ow_buf_free(&rows);
	return rc == OW_OK ? charge_points(st, r, err, errlen) : rc;
}

/* ns to the ms that holds it */
static int64_t ms_of(int64_t ns)
{
	return ns >= 0 ? ns / 1000000 : -((-ns + 999999) / 1000000);
}

typedef struct {
	int64_t min, max;
	size_t i;
} span_t;

static int cmp_span(const void *a, const void *b)
{
	const span_t *x = a, *y = b;
	return x->min != y->min ? (x->min < y->min ? -1 : 1) : (x->i > y->i) - (x->i < y->i);
}

/* The committed parts, a piece (part, metric) at a time, by their first
 * time: a series' points come mostly in order. */
static int read_parts(ow_prom_store_t *st, reader_t *r, const mname_t *names, size_t nnames,
		      int64_t mint, int64_t maxt, char *err, size_t errlen)
{
	size_t np = ow_search_nparts(st->s, OW_METRICS), nin = 0;
	span_t *in = ow_alloc((np + 1) * sizeof(span_t));
	for (size_t i = 0; i < np; i++) {
		int64_t lo, hi;
		ow_search_part_span(st->s, OW_METRICS, i, &lo, &hi);
		if (ms_of(hi) >= mint && ms_of(lo) <= maxt)
			in[nin++] = (span_t){lo, hi, i};
	}
	qsort(in, nin, sizeof(span_t), cmp_span);
	int rc = OW_OK;
	/* the part's names read through SQL, together */
	mname_t *sql = ow_alloc(OW_MAX(nnames, 1) * sizeof(mname_t));
	for (size_t j = 0; j < nin && rc == OW_OK; j++) {
		size_t i = in[j].i, nsql = 0;
		const void *part = ow_search_partref(st->s, OW_METRICS, i);
		for (size_t k = 0; k < nnames && rc == OW_OK; k++) {
			ow_buf_t key = {0};
			ow_buf_printf(&key, "m:%s", names[k].name);
			ow_buf_add(&key, "", 1);
			const ow_prom_piece_t *p =
			    part ? ow_prom_cache_get(part, (char *)key.data) : NULL;
			if (!p && (!st->samples || !ow_prom_cache_keeps())) {
				/* a piece that would not be kept, or label sets
				 * alone: the span's rows (or the label sets) read
				 * through SQL straight into r, not decoded whole */
				ow_buf_free(&key);
				sql[nsql++] = names[k];
				continue;
			}
			/* a piece decoded here is the request's memory until it
			 * is the cache's (or freed) */
			int64_t held = st->fetched;
			if (!p) {
				ow_prom_piece_t fresh;
				rc = decode_piece(st, i, &names[k], &fresh, err, errlen);
				if (rc == OW_OK)
					p = ow_prom_cache_put(part, (char *)key.data, &fresh);
			}
			held = st->fetched - held;
			ow_buf_free(&key);
			if (rc != OW_OK)
				break;
			rc = merge_piece(st, r, p, mint, maxt, err, errlen);
			ow_prom_cache_release(p);
			charge(st, -held, err, errlen);
			if (rc == OW_OK)
				rc = poll_stop(st, err, errlen);
		}
		if (rc == OW_OK && nsql)
			rc = read_sql(st, r, (ptrdiff_t)i, sql, nsql, st->samples, 1, mint, maxt,
				      err, errlen);
	}
	free(sql);
	free(in);
	return rc;
}

int ow_prom_fetch(void *arg, const ow_pq_matcher_t *m, int nm, int64_t mint, int64_t maxt,
		  ow_pq_series_t **out, size_t *n, char *err, size_t errlen)
{
	ow_prom_store_t *st = arg;
	*out = NULL;
	*n = 0;
	mname_t *names;
	size_t nnames;
	int target;
	int rc = metric_names(st, m, nm, &names, &nnames, &target, err, errlen);
	if (rc != OW_OK)
		rc = sql_failed(st, err, errlen);
	reader_t r = {.m = m, .nm = nm};
	if (rc == OW_OK)
		rc = read_parts(st, &r, names, nnames, mint, maxt, err, errlen);
	if (rc == OW_OK && nnames) /* the buffered rows, after the parts (the
				    * later of two points at one millisecond is kept) */
		rc = read_sql(st, &r, OW_SEARCH_BUFFERED, names, nnames, st->samples, 1, mint, maxt,
			      err, errlen);
	for (size_t i = 0; i < nnames; i++)
		free(names[i].name);
	free(names);
	if (rc == OW_OK && target)
		rc = target_info(st, &r, mint, maxt, err, errlen);
	/* the label sets (their points are charged as read) */
	int64_t labels = 0;
	for (size_t i = 0; i < r.n && rc == OW_OK; i++)
		labels += (int64_t)(ow_prom_series_bytes(&r.series[i]) -
				    malloc_usable_size(r.series[i].pts));
	if (rc == OW_OK)
		rc = charge(st, labels, err, errlen);
	if (rc != OW_OK) {
		reader_free(&r, 1);
		return rc;
	}
	reader_free(&r, 0);
	/* the series with points (or all, for labels alone) */
	size_t keep = 0;
	for (size_t i = 0; i < r.n; i++) {
		order_points(&r.series[i]);
		if (r.delta[i]) {
			accumulate(&r.series[i]);
			st->delta = 1;
		}
		if (st->samples && r.series[i].n == 0) {
			ow_pq_labels_free(&r.series[i].labels);
			free(r.series[i].pts);
			continue;
		}
		r.series[keep++] = r.series[i];
	}
	free(r.delta);
	*out = r.series;
	*n = keep;
	return OW_OK;
}

void ow_prom_store_init(ow_prom_store_t *st, ow_search_t *s, int samples)
{
	memset(st, 0, sizeof(*st));
	st->s = s;
	st->samples = samples;
	ow_search_limits(s, &st->max_memory, &st->deadline_ns, &st->cancel);
}

void ow_prom_store_free(ow_prom_store_t *st)
{
	names_free(st->names);
	st->names = NULL;
}

int ow_prom_metadata(ow_search_t *s, int64_t mint, int64_t maxt, const char *metric, int64_t limit,
		     ow_buf_t *out, char *err, size_t errlen)
{
	ow_buf_t sql = {0}, rows = {0};
	ow_buf_addstr(&sql, "SELECT metric_name, metric_type, metric_unit, is_monotonic, "
			    "max(metric_description) FROM metrics WHERE ");
	time_where(&sql, mint, maxt);
	ow_buf_addstr(&sql, " GROUP BY 1, 2, 3, 4 ORDER BY 1");
	ow_buf_add(&sql, "", 1);
	int rc = run(s, &sql, &rows, err, errlen);
	ow_buf_free(&sql);
	if (rc != OW_OK)
		return OW_ERROR;
	size_t pos = 0;
	ow_search_val_t v[5];
	int64_t n = 0;
	ow_buf_add(out, "{", 1);
	while (ow_search_packed_next(&rows, &pos, 5, v) && (limit <= 0 || n < limit)) {
		char *name = val_str(&v[0]), *type = val_str(&v[1]), *unit = val_str(&v[2]),
		     *help = val_str(&v[4]);
		int mono = v[3].type == SQLITE_INTEGER && v[3].i, kind = kind_of(type);
		ow_buf_t base = {0};
		ow_prom_metric_name(name, unit, type, mono, &base);
		ow_buf_add(&base, "", 1);
		static const char *const ptype[] = {"gauge",	 "counter", "histogram",
						    "histogram", "summary", "unknown"};
		const char *pt = kind == K_SUM && !mono ? "gauge" : ptype[kind];
		if (!*metric || strcmp(metric, (char *)base.data) == 0) {
			if (n++)
				ow_buf_add(out, ",", 1);
			ow_pq_json_string(out, (char *)base.data);
			ow_buf_addstr(out, ":[{\"type\":");
			ow_pq_json_string(out, pt);
			ow_buf_addstr(out, ",\"help\":");
			ow_pq_json_string(out, help);
			ow_buf_addstr(out, ",\"unit\":");
			ow_pq_json_string(out, unit);
			ow_buf_addstr(out, "}]");
		}
		ow_buf_free(&base);
		free(name);
		free(type);
		free(unit);
		free(help);
	}
	ow_buf_add(out, "}", 1);
	ow_buf_free(&rows);
	return OW_OK;
}

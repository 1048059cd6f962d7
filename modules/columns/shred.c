/*
 * shred.c - the frequent keys of a part's attributes as typed columns of
 * their own (shredding, as ClickHouse's JSON type and VictoriaLogs do).
 *
 * Chosen when a part is written, flush or merge alike, from its rows: a
 * key of spans' or logs' attributes present in at least a tenth of the
 * rows that have attributes, whose values are all of one type - integers
 * (INT64), doubles (DOUBLE), booleans (BOOLEAN) or strings (STRING
 * holding the string's JSON text as the object has it, quotes and
 * escapes: DuckDB reading parts where one key is an integer column and
 * another a string column gets text of both, which reads back as JSON of
 * its type, conf/duckdb/views.sql) - at most storage.parquet.shred_keys
 * (up to OW_SHRED_MAX) of them, the most frequent. A key with a null, an
 * object or an array among its values, or values of two types, stays in
 * the JSON, and so does a key with an uppercase letter or a byte below
 * 0x20 (DuckDB matches columns of parts by name ignoring case, and its
 * column regex skips a newline) or one whose text is not escaped as
 * columns.c escapes. Each becomes the optional column "attributes.<key>:t"
 * (the key as it reads, unescaped: no column of ours has a dot; t the
 * type's letter, i, f, b or s, so that parts' columns of one key and two
 * types stay two columns in DuckDB's union_by_name), after the
 * schema's; the part's key-value metadata OW_SHRED_KV lists them. The
 * attributes column keeps the rest of each object.
 *
 * An object is put together again (join) from its rest and its shredded
 * values: the shredded keys the row has, in the order of the columns
 * (their mean position in the objects), then the members of the rest as
 * written; or, for a row whose keys come in another order, as the row's
 * value of the column "attributes#order" says (a letter a member: 'A' +
 * the shredded column, '.' the rest's next member; NULL where the first
 * rule holds - a few distinct texts a part, which its dictionary keeps
 * once). A row whose object join does not give back byte for byte (a
 * number written otherwise), with a shredded key twice (a reader merging
 * the columns into the rest would keep one) or a shredded -0.0 (a reader
 * may print it 0.0) is not shredded: its rest is its whole object
 * and its shredded columns are NULL. So every object reads back as it was written, whatever the
 * columns say, and a reader of a shredded key looks in the rest when its
 * column is NULL.
 */
#include "columns.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/map.h"

enum { T_NONE, T_I64, T_F64, T_BOOL, T_STR, T_OTHER, T_N };
/* The letter of a shredded column's type after its key: DuckDB's
 * union_by_name would otherwise read a key of integers in one part and
 * doubles in another as doubles (2^53 + 1 rounded), booleans and integers
 * as integers (true as 1). */
static const char suffix[T_N] = {[T_I64] = 'i', [T_F64] = 'f', [T_BOOL] = 'b', [T_STR] = 's'};

/* The most members of an object that is looked at: one with more is not
 * shredded. */
#define MEMBERS_MAX 256
/* A key is shredded when in at least 1/SHARE of the objects: a column of
 * a key most rows lack costs little more than its runs of NULLs. */
#define SHARE 10
/* Keys longer than this stay in the JSON: they name a column. */
#define KEY_MAX 200

/* The type of a value as written. */
static int type_of(const uint8_t *v, size_t n)
{
	if (!n)
		return T_OTHER;
	if (v[0] == '"')
		return T_STR;
	if ((n == 4 && memcmp(v, "true", 4) == 0) || (n == 5 && memcmp(v, "false", 5) == 0))
		return T_BOOL;
	if (v[0] == '-' || (v[0] >= '0' && v[0] <= '9')) {
		for (size_t i = 0; i < n; i++)
			if (v[i] == '.' || v[i] == 'e' || v[i] == 'E')
				return T_F64;
		return T_I64;
	}
	return T_OTHER;
}

/* A text JSON-escaped as columns.c escapes it, quotes around it. */
static void escape(ow_buf_t *o, const uint8_t *p, size_t n)
{
	ow_buf_add(o, "\"", 1);
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] >= 0x20 && p[i] != '"' && p[i] != '\\')
			continue;
		ow_buf_add(o, p + run, i - run);
		char e[6];
		ow_buf_add(o, e, ow_columns_escape(p[i], e));
		run = i + 1;
	}
	ow_buf_add(o, p + run, n - run);
	ow_buf_add(o, "\"", 1);
}

/* A key as written (quotes included) unescaped into name, the column's
 * name after "attributes.": 0 where it cannot be one - a byte below 0x20
 * (DuckDB's column regex skips a newline), an uppercase letter (DuckDB
 * matches names across parts ignoring case: "Host" of one part and
 * "host" of another would be one column), or a text that escapes
 * otherwise than as written (the key is joined back from the name). */
static int key_name(const uint8_t *k, size_t n, ow_buf_t *name)
{
	if (n < 2)
		return 0;
	ow_json_unescape(name, k + 1, n - 2, 0);
	for (size_t i = 0; i < name->len; i++)
		if (name->data[i] < 0x20 || (name->data[i] >= 'A' && name->data[i] <= 'Z'))
			return 0;
	ow_buf_t again = {0};
	escape(&again, name->data, name->len);
	int same = again.len == n && memcmp(again.data, k, n) == 0;
	ow_buf_free(&again);
	return same;
}

/* One shredded value of a row: defined or not. */
typedef struct {
	int def;
	int64_t i;
	double d;
	const uint8_t *s;
	size_t n;
} val_t;

/* Shredded value j's member: "key":value. */
static void member(ow_buf_t *o, const ow_shred_cols_t *sc, int j, const val_t *v)
{
	size_t k0 = j ? sc->kend[j - 1] : 0;
	ow_buf_add(o, sc->keys.data + k0, sc->kend[j] - k0);
	switch (sc->type[j]) {
	case T_I64:
		ow_buf_add_i64(o, v->i);
		break;
	case T_F64:
		ow_columns_json_f64(o, v->d);
		break;
	case T_BOOL:
		if (v->i)
			ow_buf_add(o, "true", 4);
		else
			ow_buf_add(o, "false", 5);
		break;
	default:
		ow_buf_add(o, v->s, v->n);
	}
}

/* The object again from its rest and shredded values v. Without an order
 * (on 0): the defined values' members in column order, then the rest's.
 * With one: its bytes say, member by member, 'A' + j shredded value j,
 * '.' the rest's next member (what does not name one is passed over). */
static void join(ow_buf_t *o, const ow_shred_cols_t *sc, const val_t *v, const uint8_t *rest,
		 size_t rn, const uint8_t *ord, size_t on)
{
	int any = 0;
	ow_buf_add(o, "{", 1);
	if (!on) {
		for (int j = 0; j < sc->n; j++) {
			if (!v[j].def)
				continue;
			if (any++)
				ow_buf_add(o, ",", 1);
			member(o, sc, j, &v[j]);
		}
		if (rn > 2) {
			if (any)
				ow_buf_add(o, ",", 1);
			ow_buf_add(o, rest + 1, rn - 2);
		}
	} else {
		ow_columns_member_t m[MEMBERS_MAX];
		int nm = ow_columns_members(rest, rn, m, MEMBERS_MAX), r = 0;
		for (size_t i = 0; i < on; i++) {
			int j = ord[i] - 'A';
			if (ord[i] == '.' && r < nm) {
				if (any++)
					ow_buf_add(o, ",", 1);
				ow_buf_add(o, m[r].key, (size_t)(m[r].val + m[r].vlen - m[r].key));
				r++;
			} else if (j >= 0 && j < sc->n && v[j].def) {
				if (any++)
					ow_buf_add(o, ",", 1);
				member(o, sc, j, &v[j]);
			}
		}
	}
	ow_buf_add(o, "}", 1);
}

/* (columns.h) spans' and logs' attributes */
int ow_shred_column(int signal)
{
	if (signal != OW_TRACES && signal != OW_LOGS)
		return -1;
	const ow_pq_coldef_t *d = ow_columns_schema(signal);
	for (int c = 0; c < ow_columns_ncols(signal); c++)
		if (strcmp(d[c].name, "attributes") == 0)
			return c;
	return -1;
}

/* ---- choosing and writing ---- */

typedef struct {
	char *key; /* as written, quotes included (the map's key) */
	uint64_t count[T_N];
	double pos; /* the sum of its positions */
	int type;   /* when chosen */
} kstat_t;

/* The row's value of BYTE_ARRAY column c (row r; v: its value index). */
static const uint8_t *text_of(const ow_col_t *c, size_t v, size_t *n)
{
	return ow_col_bytes_at(c, ow_col_entry(c, v), n);
}

/* The value index of each row of c (SIZE_MAX: NULL). */
static size_t *value_index(const ow_col_t *c, size_t nrows)
{
	size_t *vi = ow_alloc(OW_MAX(nrows, 1) * sizeof(size_t));
	for (size_t r = 0, v = 0; r < nrows; r++)
		vi[r] = c->defs.len && !c->defs.data[r] ? SIZE_MAX : v++;
	return vi;
}

static int by_count(const void *a, const void *b)
{
	const kstat_t *x = *(kstat_t *const *)a, *y = *(kstat_t *const *)b;
	uint64_t cx = x->count[x->type], cy = y->count[y->type];
	return cx < cy ? 1 : cx > cy ? -1 : strcmp(x->key, y->key);
}

static int by_pos(const void *a, const void *b)
{
	const kstat_t *x = *(kstat_t *const *)a, *y = *(kstat_t *const *)b;
	double px = x->pos / (double)x->count[x->type], py = y->pos / (double)y->count[y->type];
	return px < py ? -1 : px > py ? 1 : strcmp(x->key, y->key);
}

/* A value of type t as its column holds it (a string: its JSON text): 0
 * when it does not read. */
static int read_val(int t, const uint8_t *p, size_t n, val_t *v)
{
	char num[64];
	char *end;
	v->def = 1;
	switch (t) {
	case T_I64:
	case T_F64:
		if (n >= sizeof(num))
			return 0;
		memcpy(num, p, n);
		num[n] = '\0';
		errno = 0;
		if (t == T_I64)
			v->i = strtoll(num, &end, 10);
		else
			v->d = strtod(num, &end);
		/* -0.0 kept whole: a reader of the column may print 0.0 */
		return *end == '\0' && errno == 0 && !(t == T_F64 && v->d == 0 && signbit(v->d));
	case T_BOOL:
		v->i = p[0] == 't';
		return 1;
	default:
		v->s = p;
		v->n = n;
		return 1;
	}
}

static void add_val(ow_col_t *c, int t, const val_t *v)
{
	switch (t) {
	case T_I64:
		ow_col_i64(c, v->i);
		break;
	case T_F64:
		ow_col_f64(c, v->d);
		break;
	case T_BOOL:
		ow_col_bool(c, (int)v->i);
		break;
	default:
		ow_col_bytes(c, v->s, v->n);
	}
}

/* Text x[0..n) as the next value of c. Where the source column shares
 * an entry among rows (refs: a merge's table holds a repeated object
 * once), its rows share c's too: memo[e] is c's entry for the source's
 * entry e, plus one; NULL without refs. */
static void add_text(ow_col_t *c, uint32_t *memo, size_t e, const void *x, size_t n)
{
	if (!memo) {
		ow_col_bytes(c, x, n);
		return;
	}
	uint32_t ref = memo[e] - 1;
	if (memo[e]) {
		ow_col_defined(c);
	} else {
		ref = (uint32_t)(c->offs.len / sizeof(uint32_t));
		ow_col_bytes(c, x, n);
		memo[e] = ref + 1;
	}
	ow_buf_add(&c->refs, &ref, sizeof(ref));
}

int ow_shred_build(int signal, const ow_table_t *t, const uint32_t *perm, size_t n, int max,
		   ow_shred_t *s)
{
	memset(s, 0, sizeof(*s));
	int ac = ow_shred_column(signal);
	if (ac < 0 || !n || max <= 0)
		return 0;
	const ow_col_t *src = &t->cols[ac];
	size_t *vi = value_index(src, t->nrows);
	ow_columns_member_t *m = ow_alloc(MEMBERS_MAX * sizeof(*m));
	ow_map_t map = {0};
	kstat_t **ks = NULL;
	size_t nks = 0, nobj = 0;
	ow_buf_t kbuf = {0};
	for (size_t i = 0; i < n; i++) {
		uint32_t r = perm ? perm[i] : (uint32_t)i;
		if (vi[r] == SIZE_MAX)
			continue;
		size_t len;
		const uint8_t *p = text_of(src, vi[r], &len);
		int nm = ow_columns_members(p, len, m, MEMBERS_MAX);
		if (nm < 0)
			continue;
		nobj++;
		for (int k = 0; k < nm; k++) {
			kbuf.len = 0;
			ow_buf_add(&kbuf, m[k].key, m[k].klen);
			ow_buf_add(&kbuf, "", 1);
			kstat_t *st = ow_map_get(&map, (const char *)kbuf.data);
			if (!st) {
				st = ow_calloc(1, sizeof(*st));
				st->key = ow_strdup((const char *)kbuf.data);
				ow_map_put(&map, st->key, st);
				ks = ow_realloc(ks, (nks + 1) * sizeof(*ks));
				ks[nks++] = st;
			}
			st->count[type_of(m[k].val, m[k].vlen)]++;
			st->pos += k;
		}
	}
	/* the keys of one type, in a tenth of the objects at least */
	size_t nc = 0;
	ow_buf_t name = {0};
	for (size_t k = 0; k < nks; k++) {
		kstat_t *st = ks[k];
		int types = 0;
		for (int x = T_I64; x < T_N; x++)
			if (st->count[x])
				types++, st->type = x;
		name.len = 0;
		size_t kl = strlen(st->key);
		int ok = types == 1 && st->type != T_OTHER && kl <= KEY_MAX &&
			 st->count[st->type] * SHARE >= nobj &&
			 key_name((const uint8_t *)st->key, kl, &name);
		if (ok) { /* to the front, the others kept behind to be freed */
			ks[k] = ks[nc];
			ks[nc++] = st;
		}
	}
	ow_buf_free(&name);
	ow_map_free(&map);
	int nk = 0;
	if (nc) {
		qsort(ks, nc, sizeof(*ks), by_count);
		nk = (int)OW_MIN(nc, (size_t)OW_MIN(max, OW_SHRED_MAX));
		qsort(ks, (size_t)nk, sizeof(*ks), by_pos);
	}

	int rc = 0;
	if (nk) {
		/* the schema's columns, the shredded ones, the order */
		int ncols = t->ncols, nw = ncols + nk + 1;
		s->n = nk;
		s->defs = ow_calloc((size_t)nw, sizeof(*s->defs));
		memcpy(s->defs, t->defs, (size_t)ncols * sizeof(*s->defs));
		s->names = ow_calloc((size_t)nk + 1, sizeof(char *));
		s->own = ow_calloc((size_t)nk + 2, sizeof(ow_col_t));
		ow_buf_t kv = {0}, tmp = {0};
		ow_shred_cols_t sc = {.n = nk};
		ow_map_t slot = {0};
		ow_buf_add(&kv, "[", 1);
		for (int j = 0; j < nk; j++) {
			const char *k = ks[j]->key;
			tmp.len = 0;
			key_name((const uint8_t *)k, strlen(k), &tmp);
			ow_buf_t nm = {0};
			ow_buf_printf(&nm, "%s.", t->defs[ac].name);
			ow_buf_add(&nm, tmp.data, tmp.len);
			ow_buf_printf(&nm, ":%c", suffix[ks[j]->type]);
			s->names[j] = (char *)nm.data;
			ow_pq_coldef_t *d = &s->defs[ncols + j];
			sc.type[j] = ks[j]->type;
			*d = (ow_pq_coldef_t){
			    s->names[j], OW_PQ_BYTE_ARRAY, OW_PQ_L_STRING, 0, 1, OW_PQ_ENC_DICT, 0};
			if (sc.type[j] == T_I64)
				d->type = OW_PQ_INT64, d->logical = OW_PQ_L_NONE;
			else if (sc.type[j] == T_F64)
				d->type = OW_PQ_DOUBLE, d->logical = OW_PQ_L_NONE;
			else if (sc.type[j] == T_BOOL)
				d->type = OW_PQ_BOOLEAN, d->logical = OW_PQ_L_NONE,
				d->enc = OW_PQ_ENC_PLAIN;
			if (j)
				ow_buf_add(&kv, ",", 1);
			escape(&kv, (const uint8_t *)s->names[j], strlen(s->names[j]));
			ow_buf_add(&sc.keys, k, strlen(k));
			ow_buf_add(&sc.keys, ":", 1);
			sc.kend[j] = sc.keys.len;
			ow_map_put(&slot, k, (void *)(uintptr_t)(j + 1));
		}
		ow_buf_add(&kv, "]", 1);
		ow_buf_add(&kv, "", 1);
		s->kv = (char *)kv.data;
		ow_buf_t on = {0};
		ow_buf_printf(&on, "%s%s", t->defs[ac].name, OW_SHRED_ORDER);
		s->names[nk] = (char *)on.data;
		s->defs[nw - 1] = (ow_pq_coldef_t){
		    s->names[nk], OW_PQ_BYTE_ARRAY, OW_PQ_L_STRING, 0, 1, OW_PQ_ENC_DICT, 0};

		/* every row of t, so that perm still names them; only perm's
		 * are looked at */
		uint8_t *want = ow_calloc(OW_MAX(t->nrows, 1), 1);
		for (size_t i = 0; i < n; i++)
			want[perm ? perm[i] : i] = 1;
		ow_col_t *rest = &s->own[0], *cols = &s->own[1], *order = &s->own[nk + 1];
		ow_buf_t rb = {0}, out = {0}, ord = {0}; /* the rest; the object again */
		size_t nent = src->offs.len / sizeof(uint32_t);
		uint32_t *rmemo = src->refs.len ? ow_calloc(OW_MAX(nent, 1), 4) : NULL;
		uint32_t *omemo = src->refs.len ? ow_calloc(OW_MAX(nent, 1), 4) : NULL;
		val_t v[OW_SHRED_MAX];
		for (size_t r = 0; r < t->nrows; r++) {
			if (!want[r] || vi[r] == SIZE_MAX) {
				ow_col_null(rest);
				for (int j = 0; j <= nk; j++)
					ow_col_null(&cols[j]);
				continue;
			}
			size_t len, e = ow_col_entry(src, vi[r]);
			const uint8_t *p = ow_col_bytes_at(src, e, &len);
			int nm = ow_columns_members(p, len, m, MEMBERS_MAX);
			memset(v, 0, sizeof(v));
			rb.len = 0;
			out.len = 0;
			ord.len = 0;
			ow_buf_add(&rb, "{", 1);
			int ok = nm >= 0;
			for (int k = 0; ok && k < nm; k++) {
				tmp.len = 0;
				ow_buf_add(&tmp, m[k].key, m[k].klen);
				ow_buf_add(&tmp, "", 1);
				int j =
				    (int)(uintptr_t)ow_map_get(&slot, (const char *)tmp.data) - 1;
				if (j >= 0 && v[j].def) { /* twice: DuckDB would keep one */
					ok = 0;
					break;
				}
				if (j >= 0 && type_of(m[k].val, m[k].vlen) == sc.type[j]) {
					ok = read_val(sc.type[j], m[k].val, m[k].vlen, &v[j]);
					uint8_t c = (uint8_t)('A' + j);
					ow_buf_add(&ord, &c, 1);
					continue;
				}
				if (rb.len > 1)
					ow_buf_add(&rb, ",", 1);
				ow_buf_add(&rb, m[k].key,
					   (size_t)(m[k].val + m[k].vlen - m[k].key));
				ow_buf_add(&ord, ".", 1);
			}
			ow_buf_add(&rb, "}", 1);
			/* no order where the rule without one gives the object */
			if (ok)
				join(&out, &sc, v, rb.data, rb.len, NULL, 0);
			int same = ok && out.len == len && memcmp(out.data, p, len) == 0;
			if (ok && !same) {
				out.len = 0;
				join(&out, &sc, v, rb.data, rb.len, ord.data, ord.len);
			}
			/* the object must come back as written */
			ok = ok && out.len == len && memcmp(out.data, p, len) == 0;
			if (!ok) {
				add_text(rest, rmemo, e, p, len);
				for (int j = 0; j <= nk; j++)
					ow_col_null(&cols[j]);
				continue;
			}
			add_text(rest, rmemo, e, rb.data, rb.len);
			for (int j = 0; j < nk; j++) {
				if (v[j].def)
					add_val(&cols[j], sc.type[j], &v[j]);
				else
					ow_col_null(&cols[j]);
			}
			if (same)
				ow_col_null(order);
			else
				add_text(order, omemo, e, ord.data, ord.len);
		}
		free(rmemo);
		free(omemo);
		free(want);
		ow_buf_free(&rb);
		ow_buf_free(&out);
		ow_buf_free(&ord);
		ow_buf_free(&tmp);
		ow_shred_cols_free(&sc);
		ow_map_free(&slot);
		s->t.defs = s->defs;
		s->t.ncols = nw;
		s->t.nrows = t->nrows;
		s->t.cols = ow_alloc((size_t)nw * sizeof(ow_col_t));
		memcpy(s->t.cols, t->cols, (size_t)ncols * sizeof(ow_col_t));
		s->t.cols[ac] = *rest;
		memcpy(s->t.cols + ncols, cols, (size_t)(nk + 1) * sizeof(ow_col_t));
		rc = nk;
	}
	for (size_t k = 0; k < nks; k++) {
		free(ks[k]->key);
		free(ks[k]);
	}
	free(ks);
	free(m);
	free(vi);
	ow_buf_free(&kbuf);
	return rc;
}

size_t ow_shred_bytes(int signal, const ow_table_t *t, int max)
{
	int ac = ow_shred_column(signal);
	if (ac < 0 || max <= 0)
		return 0;
	/* the rest and the order: no more entries than the source (shared
	 * as it shares them), a ref and a def a row each; a value (8 B at
	 * most) and a def a row a key; the strings, a copy a row (at most
	 * the row's object, and an offset) */
	const ow_col_t *c = &t->cols[ac];
	size_t k = (size_t)OW_MIN(max, OW_SHRED_MAX), b = 2 * (c->data.len + c->offs.len);
	for (size_t v = 0; v < c->nvals; v++) {
		size_t n;
		ow_col_bytes_at(c, ow_col_entry(c, v), &n);
		b += n + 4;
	}
	return 2 * (b + t->nrows * (10 + 9 * k)); /* buffers grow by doubling */
}

void ow_shred_free(ow_shred_t *s)
{
	for (int j = 0; s->own && j <= s->n + 1; j++)
		ow_col_free(&s->own[j]);
	for (int j = 0; s->names && j <= s->n; j++)
		free(s->names[j]);
	free(s->names);
	free(s->own);
	free(s->defs);
	free(s->kv);
	free(s->t.cols);
	memset(s, 0, sizeof(*s));
}

/* ---- reading ---- */

int ow_shred_find(const ow_pq_file_t *f, int signal, int col, ow_shred_cols_t *sc)
{
	memset(sc, 0, sizeof(*sc));
	if (col != ow_shred_column(signal) || !ow_pq_kv(f, OW_SHRED_KV))
		return 0;
	const char *base = ow_columns_schema(signal)[col].name;
	size_t bl = strlen(base);
	sc->rest = ow_pq_find_column(f, base);
	char oname[64];
	snprintf(oname, sizeof(oname), "%s%s", base, OW_SHRED_ORDER);
	sc->order = ow_pq_find_column(f, oname);
	for (int fc = 0; sc->rest >= 0 && fc < ow_pq_num_columns(f) && sc->n < OW_SHRED_MAX; fc++) {
		const ow_pq_coldef_t *d = ow_pq_column(f, fc);
		if (strncmp(d->name, base, bl) != 0 || d->name[bl] != '.')
			continue;
		int t = d->type == OW_PQ_INT64	      ? T_I64
			: d->type == OW_PQ_DOUBLE     ? T_F64
			: d->type == OW_PQ_BOOLEAN    ? T_BOOL
			: d->type == OW_PQ_BYTE_ARRAY ? T_STR
						      : T_NONE;
		if (t == T_NONE)
			continue;
		sc->fc[sc->n] = fc;
		sc->type[sc->n] = t;
		/* the key: the name less its type's letter (a name without one,
		 * of a part written before, is the key whole) */
		const char *k = d->name + bl + 1;
		size_t kl = strlen(k);
		if (kl >= 2 && k[kl - 2] == ':' && k[kl - 1] == suffix[t])
			kl -= 2;
		escape(&sc->keys, (const uint8_t *)k, kl);
		ow_buf_add(&sc->keys, ":", 1);
		sc->kend[sc->n++] = sc->keys.len;
	}
	if (!sc->n)
		ow_shred_cols_free(sc);
	return sc->n;
}

void ow_shred_cols_free(ow_shred_cols_t *sc)
{
	ow_buf_free(&sc->keys);
	memset(sc, 0, sizeof(*sc));
}

/* Row r's value v of shredded column c of type t (rows in order; *pos:
 * the index of its next value). */
static void val_at(int t, const ow_col_t *c, size_t r, size_t *pos, val_t *v)
{
	v->def = !c->defs.len || c->defs.data[r];
	if (!v->def)
		return;
	size_t at = (*pos)++;
	if (t == T_STR)
		v->s = text_of(c, at, &v->n);
	else if (t == T_F64)
		memcpy(&v->d, c->fixed.data + 8 * at, 8);
	else if (t == T_BOOL)
		v->i = c->fixed.data[at] != 0;
	else
		memcpy(&v->i, c->fixed.data + 8 * at, 8);
}

int ow_shred_key(const ow_shred_cols_t *sc, const char *key, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((uint8_t)key[i] < 0x20 || key[i] == '"' || key[i] == '\\')
			return -1; /* written escaped: compared as SQLite compares it */
	for (int j = 0; j < sc->n; j++) {
		/* sc->keys holds "key": (its type's letter stripped), the key
		 * unescaped as it has no byte that escaping changes */
		size_t from = j ? sc->kend[j - 1] : 0;
		const char *k = (const char *)sc->keys.data + from + 1;
		if (sc->kend[j] - from - 3 == n && memcmp(k, key, n) == 0)
			return j;
	}
	return -1;
}

int ow_shred_read_keys(ow_pq_file_t *f, const ow_shred_cols_t *sc, const int *want, int nw, int rg,
		       const uint8_t *sel, ow_col_t *out, int64_t *stored, char *err, size_t errlen)
{
	ow_col_t rest = {0}, c[OW_SHRED_MAX];
	memset(c, 0, sizeof(c));
	int rc = OW_OK;
	size_t nrows = (size_t)ow_pq_row_group_rows(f, rg);
	for (int w = 0; rc == OW_OK && w < nw; w++) {
		rc = ow_pq_read_column_pf(f, rg, sc->fc[want[w]], sel, NULL, &c[w], NULL, NULL,
					  stored, err, errlen);
		if (rc == OW_OK && c[w].nrows != nrows) {
			snprintf(err, errlen, "a shredded column has %zu rows, not %zu", c[w].nrows,
				 nrows);
			rc = OW_ERROR;
		}
	}
	/* the rest only for the rows (selected) that have none of the keys */
	uint8_t *rsel = rc == OW_OK ? ow_alloc(nrows ? nrows : 1) : NULL;
	for (size_t r = 0; rsel && r < nrows; r++) {
		rsel[r] = !sel || sel[r];
		for (int w = 0; w < nw && rsel[r]; w++)
			rsel[r] = c[w].defs.len && !c[w].defs.data[r];
	}
	if (rc == OW_OK) {
		rc = ow_pq_read_column_pf(f, rg, sc->rest, rsel, NULL, &rest, NULL, NULL, stored,
					  err, errlen);
		if (rc == OW_OK && rest.nrows != nrows) {
			snprintf(err, errlen, "the rest has %zu rows, not %zu", rest.nrows, nrows);
			rc = OW_ERROR;
		}
	}
	if (rc == OW_OK) {
		size_t pos[OW_SHRED_MAX] = {0}, rv = 0;
		val_t v[OW_SHRED_MAX];
		for (size_t r = 0; r < nrows; r++) {
			int any = 0;
			for (int w = 0; w < nw; w++) {
				val_at(sc->type[want[w]], &c[w], r, &pos[w], &v[w]);
				any |= v[w].def;
			}
			int rdef = !rest.defs.len || rest.defs.data[r];
			size_t rn = 0;
			const uint8_t *rp = rdef ? text_of(&rest, rv++, &rn) : NULL;
			if (sel && !sel[r]) { /* not wanted: empty, as the reader gives it */
				ow_col_bytes(out, "", 0);
			} else if (any) {
				ow_buf_t *o = ow_col_bytes_open(out);
				ow_buf_add(o, "{", 1);
				for (int w = 0, k = 0; w < nw; w++) {
					if (!v[w].def)
						continue;
					if (k++)
						ow_buf_add(o, ",", 1);
					member(o, sc, want[w], &v[w]);
				}
				ow_buf_add(o, "}", 1);
				ow_col_bytes_close(out);
			} else if (rdef) {
				ow_col_bytes(out, rp, rn);
			} else {
				ow_col_null(out);
			}
		}
	}
	free(rsel);
	ow_col_free(&rest);
	for (int w = 0; w < nw; w++)
		ow_col_free(&c[w]);
	return rc;
}

int ow_shred_read(ow_pq_file_t *f, const ow_shred_cols_t *sc, int rg, const uint8_t *sel, int share,
		  ow_col_t *out, int64_t *stored, char *err, size_t errlen)
{
	ow_col_t rest = {0}, order = {0}, sh = {0}, c[OW_SHRED_MAX];
	ow_buf_t obj = {0};
	size_t nent = 0;
	share = share && !sel;
	memset(c, 0, sizeof(c));
	int rc = ow_pq_read_column_pf(f, rg, sc->rest, sel, NULL, &rest, NULL, NULL, stored, err,
				      errlen);
	if (rc == OW_OK && sc->order >= 0) {
		rc = ow_pq_read_column_pf(f, rg, sc->order, sel, NULL, &order, NULL, NULL, stored,
					  err, errlen);
		if (rc == OW_OK && order.nrows != rest.nrows) {
			snprintf(err, errlen, "the order column has %zu rows, not %zu", order.nrows,
				 rest.nrows);
			rc = OW_ERROR;
		}
	}
	for (int j = 0; rc == OW_OK && j < sc->n; j++) {
		rc = ow_pq_read_column_pf(f, rg, sc->fc[j], sel, NULL, &c[j], NULL, NULL, stored,
					  err, errlen);
		if (rc == OW_OK && c[j].nrows != rest.nrows) {
			snprintf(err, errlen, "a shredded column has %zu rows, not %zu", c[j].nrows,
				 rest.nrows);
			rc = OW_ERROR;
		}
	}
	if (rc == OW_OK) {
		size_t pos[OW_SHRED_MAX] = {0}, rv = 0, ov = 0;
		val_t v[OW_SHRED_MAX];
		for (size_t r = 0; r < rest.nrows; r++) {
			int rdef = !rest.defs.len || rest.defs.data[r];
			for (int j = 0; j < sc->n; j++)
				val_at(sc->type[j], &c[j], r, &pos[j], &v[j]);
			size_t on = 0;
			const uint8_t *op = NULL;
			if (sc->order >= 0 && (!order.defs.len || order.defs.data[r]))
				op = text_of(&order, ov++, &on);
			if (!rdef) {
				ow_col_null(share ? &sh : out);
				continue;
			}
			size_t rn;
			const uint8_t *rp = text_of(&rest, rv++, &rn);
			if (sel && !sel[r]) { /* not wanted: empty, as the reader gives it */
				ow_col_bytes(out, "", 0);
				continue;
			}
			if (!share) {
				join(ow_col_bytes_open(out), sc, v, rp, rn, op, on);
				ow_col_bytes_close(out);
				continue;
			}
			/* a value the row before had too refers to its entry */
			obj.len = 0;
			join(&obj, sc, v, rp, rn, op, on);
			size_t pn = 0;
			const uint8_t *prev = sh.nvals ? ow_col_bytes_at(&sh, nent - 1, &pn) : NULL;
			uint32_t e = (uint32_t)nent;
			if (prev && pn == obj.len && memcmp(prev, obj.data, pn) == 0) {
				e--;
				ow_col_defined(&sh);
			} else {
				ow_col_bytes(&sh, obj.data, obj.len);
				nent++;
			}
			ow_buf_add(&sh.refs, &e, sizeof(e));
		}
	}
	if (rc == OW_OK && share)
		ow_col_append(out, &sh);
	ow_col_free(&sh);
	ow_buf_free(&obj);
	ow_col_free(&rest);
	ow_col_free(&order);
	for (int j = 0; j < sc->n; j++)
		ow_col_free(&c[j]);
	return rc;
}

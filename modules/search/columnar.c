/*
 * columnar.c - the columnar executor: the queries users run all day,
 * answered from the column chunks without SQLite's row-by-row virtual
 * table, with the same result SQLite gives (search.c falls back to SQLite
 * for anything else).
 *
 * The subset is recognised by a parser of its own, on the SQL text; a
 * query it does not take whole is SQLite's, unchanged:
 *
 *   SELECT item, ... FROM spans | logs | metrics
 *     [WHERE cond AND cond ...]
 *     [GROUP BY term, ...]
 *     [ORDER BY term [ASC | DESC], ...]
 *     [LIMIT n [OFFSET m] | LIMIT m, n] [;]
 *
 *   item  *  |  term [[AS] alias]  |  agg(term) [[AS] alias]
 *         |  count(*) [[AS] alias]
 *   term  column  |  time_bucket_ns(column, width)  |  column ->> 'path'
 *         (an integer column and a positive width; a text or JSON column
 *         and a key or a '$' path, 'http.route', '$.a."b.c"[0]', which
 *         expr.c reads)
 *   agg   count, sum, avg, min, max, p50, p90, p99 (sum, avg and the
 *         quantiles of numeric terms only)
 *   cond  term op literal (=, ==, !=, <>, <, <=, >, >=)
 *         term [NOT] IN (literal, ...)  |  term BETWEEN lit AND lit
 *         term IS [NOT] NULL  |  term [NOT] LIKE 'pattern' (text, id
 *         and ->> terms; no ESCAPE)
 *   GROUP BY: a term, or the position of a plain item;
 *   ORDER BY: an item's position or alias, a term, or an aggregate item
 *         written again
 *
 * Keywords, function and column names in any case; identifiers bare or in
 * double quotes. A literal must be of its term's kind: a string for text
 * and id columns, an integer for integer columns, a number for real ones
 * (no conversions to mirror), any of them for ->> (whose values are of
 * any kind: SQLite compares them without conversions too). No comments, no other expressions, no
 * NULL literals, no alias that is also a column's name, every plain column
 * item in the GROUP BY when there is one, none beside aggregates when
 * there is not, no IN on the time column (SQLite loops over its values,
 * which orders the rows by them).
 *
 * Execution, over the handle's snapshot (parts, then buffered chunks, as
 * the virtual tables read them): the filters are the scan layer's
 * predicates (scan.c, shared with the virtual tables), which skip parts
 * by their catalog time range, then row groups by their statistics (LIKE:
 * its literal prefix) and bloom filters (ids); a filter no value passes
 * reads nothing. Each segment left (a row group, or a buffered chunk) is
 * prepared: filter by filter, the filtered column is read and evaluated
 * into a selection, and each later column - filtered or only used - is
 * read only in the pages that still hold a selected row
 * (ow_pq_read_column_pf; the writer cuts pages at 32768 rows), and a
 * filtered column not in the pages whose statistics rule its filters out
 * (ow_scan_page_may), nor, when nothing else needs its values, in the
 * pages whose statistics pass every row (a sorted metric_name or
 * service_name, a time range over whole pages): their rows stay selected
 * without a value read. Dictionary-encoded columns are read as codes: a
 * filter is evaluated once per dictionary entry, a single group term is
 * grouped by entry, values are read from the dictionary. Integer
 * comparisons run on the raw values. Segments are prepared on helper
 * threads (one a core beside the query's, at most SLOTS - 1, SLOTS
 * segments in flight) and consumed by the query's thread in order, so
 * every aggregate takes its values in SQLite's order. Grouped, the group
 * of each selected row is found first (by entry, or by hashing the group
 * terms' values), then each aggregate over the rows, a column at a time.
 *
 * Values are read as the virtual tables give them to SQLite
 * (ow_search_cell), and aggregated as SQLite 3.40 does: sum keeps an
 * integer while every value is one and a double beside it (avg is that
 * double over the count); an integer overflow is SQLite's to report
 * (OW_DECLINED). Without ORDER BY, groups come in the order of their
 * keys, as SQLite's sorter gives them, and plain rows in scan order;
 * ORDER BY sorts stably after that. Where expr.c cannot give SQLite's
 * value (a real number under ->>: SQLite's reading of it) or time_bucket_ns would
 * overflow, the run stops with OW_DECLINED and SQLite answers the query.
 * Plain rows under ORDER BY with a LIMIT are kept only while they can be
 * in the result (top-k: once as many as the limit and offset are held, a
 * row that sorts after the last of them is dropped unread). A part written
 * before plain JSON has its JSON columns converted as they are read
 * (ow_search_v1_column), dictionaries entry by entry.
 */
#include "internal.h"
#include "../columns/columns.h"

#include <errno.h>
#include <pthread.h>
#include <strings.h>
#include <unistd.h>

#define MAX_ITEMS 200

enum { A_NONE, A_COUNT, A_SUM, A_AVG, A_MIN, A_MAX, A_QUANTILE, A_COUNT_DISTINCT };
/* the scan layer's operators (internal.h) */
enum {
	F_EQ = OW_SCAN_EQ,
	F_NE = OW_SCAN_NE,
	F_LT = OW_SCAN_LT,
	F_LE = OW_SCAN_LE,
	F_GT = OW_SCAN_GT,
	F_GE = OW_SCAN_GE,
	F_IN = OW_SCAN_IN,
	F_NOT_IN = OW_SCAN_NOT_IN,
	F_NULL = OW_SCAN_NULL,
	F_NOT_NULL = OW_SCAN_NOT_NULL,
	F_LIKE = OW_SCAN_LIKE,
	F_NOT_LIKE = OW_SCAN_NOT_LIKE
};
enum { C_INT, C_REAL, C_TEXT, C_ANY };
enum { X_BUCKET = 1, X_JSON };

/* An expression over a column: time_bucket_ns(col, width) or col ->>
 * 'path'. Items, filters and groups name one by an id past the columns'
 * (ncols + its index), a column by its index. */
typedef struct {
	int kind, col;
	int64_t width;
	char *path;
	ow_search_path_t pp; /* its keys point into path */
} expr_t;

typedef struct {
	int col; /* -1: count(*) */
	int agg;
	double q;
	char *name;
} item_t;

/* A filter is the scan layer's predicate: col is a column, or an
 * expression's id (past the columns) over column base. */
typedef ow_scan_pred_t filt_t;

typedef struct {
	int item, desc;
} order_t;

struct ow_columnar {
	int signal, ncols, aggregate;
	const ow_pq_coldef_t *defs;
	expr_t x[MAX_ITEMS];
	int nx;
	item_t items[MAX_ITEMS];
	int nitems, nout; /* past nout: what ORDER BY needs but the output has not */
	filt_t *f;
	int nf;
	int group[MAX_ITEMS];
	int ngroup;
	order_t order[MAX_ITEMS];
	int norder;
	int64_t limit, offset; /* limit -1: none */
};

/* ---- tokens ---- */

enum { T_END, T_ID, T_STR, T_INT, T_REAL, T_OP };

typedef struct {
	int type, quoted;
	const char *s; /* the span in the SQL */
	size_t n;
	char *text; /* T_ID, T_STR: dequoted */
	int64_t i;
	double d;
} tok_t;

typedef struct {
	tok_t *t;
	size_t n, at;
	struct ow_columnar *q;
} parser_t;

static char *dup_n(const char *s, size_t n)
{
	char *d = ow_alloc(n + 1);
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

static char *dequote(const char *s, size_t n, char quote)
{
	char *out = ow_alloc(n + 1), *o = out;
	for (size_t i = 1; i + 1 < n; i++) {
		*o++ = s[i];
		if (s[i] == quote)
			i++;
	}
	*o = '\0';
	return out;
}

/* Splits the SQL into tokens: 0 when something is outside the subset's
 * lexicon (comments, blobs, parameters, other quotes, operators). */
static int tokenize(const char *sql, parser_t *p)
{
	size_t cap = 0;
	const char *c = sql;
	for (;;) {
		while (*c == ' ' || *c == '\t' || *c == '\n' || *c == '\r')
			c++;
		if (p->n == cap) {
			cap = cap ? 2 * cap : 64;
			p->t = ow_realloc(p->t, cap * sizeof(tok_t));
		}
		tok_t *t = &p->t[p->n];
		memset(t, 0, sizeof(*t));
		t->s = c;
		if (*c == '\0') {
			p->n++;
			return 1;
		}
		if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || *c == '_') {
			while ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || *c == '_' ||
			       (*c >= '0' && *c <= '9'))
				c++;
			t->type = T_ID;
			t->text = dup_n(t->s, (size_t)(c - t->s));
		} else if (*c == '"' || *c == '\'') {
			char quote = *c;
			for (c++; *c && !(*c == quote && c[1] != quote); c += *c == quote ? 2 : 1)
				;
			if (!*c)
				return 0;
			c++;
			t->type = quote == '"' ? T_ID : T_STR;
			t->quoted = 1;
			t->text = dequote(t->s, (size_t)(c - t->s), quote);
		} else if ((*c >= '0' && *c <= '9') || (*c == '.' && c[1] >= '0' && c[1] <= '9')) {
			char *end;
			int real = 0;
			const char *d = c;
			while ((*d >= '0' && *d <= '9') || *d == '.' || *d == 'e' || *d == 'E' ||
			       ((*d == '+' || *d == '-') && (d[-1] == 'e' || d[-1] == 'E')))
				real |= !(*d >= '0' && *d <= '9'), d++;
			if ((*d >= 'A' && *d <= 'Z') || (*d >= 'a' && *d <= 'z') || *d == '_')
				return 0; /* 0x..., 1abc */
			if (real) {
				t->d = strtod(c, &end);
				t->type = T_REAL;
			} else {
				errno = 0;
				t->i = strtoll(c, &end, 10);
				if (errno)
					return 0; /* SQLite reads it as a real */
				t->type = T_INT;
			}
			if (end != d)
				return 0;
			c = d;
		} else {
			static const char *const ops[] = {"->>", "<=", ">=", "!=", "<>",
							  "==",	 "(",  ")",  ",",  "*",
							  "=",	 "<",  ">",  ";",  "-"};
			size_t k = 0;
			while (k < OW_NELEMS(ops) && strncmp(c, ops[k], strlen(ops[k])))
				k++;
			if (k == OW_NELEMS(ops) || (c[0] == '-' && c[1] == '-'))
				return 0;
			t->type = T_OP;
			c += strlen(ops[k]);
		}
		t->n = (size_t)(c - t->s);
		p->n++;
	}
}

static tok_t *peek(parser_t *p)
{
	return &p->t[p->at];
}

static int is_kw(const tok_t *t, const char *kw)
{
	return t->type == T_ID && !t->quoted && strcasecmp(t->text, kw) == 0;
}

static int kw(parser_t *p, const char *k)
{
	if (!is_kw(peek(p), k))
		return 0;
	p->at++;
	return 1;
}

static int op(parser_t *p, const char *o)
{
	tok_t *t = peek(p);
	if (t->type != T_OP || t->n != strlen(o) || strncmp(t->s, o, t->n))
		return 0;
	p->at++;
	return 1;
}

/* ---- the parser ---- */

static int column(const struct ow_columnar *q, const char *name)
{
	for (int c = 0; c < q->ncols; c++)
		if (strcasecmp(q->defs[c].name, name) == 0)
			return c;
	return -1;
}

static int klass(const ow_pq_coldef_t *d)
{
	return d->type == OW_PQ_BYTE_ARRAY || d->type == OW_PQ_FIXED ? C_TEXT
	       : d->type == OW_PQ_DOUBLE			     ? C_REAL
								     : C_INT;
}

/* A column reference: -1 when it is not one of the table's. */
static int ref(parser_t *p)
{
	tok_t *t = peek(p);
	if (t->type != T_ID)
		return -1;
	int c = column(p->q, t->text);
	if (c >= 0)
		p->at++;
	return c;
}

/* The column a column or expression id reads. */
static int base(const struct ow_columnar *q, int id)
{
	return id < q->ncols ? id : q->x[id - q->ncols].col;
}

/* The kind of values of a column or expression (->> gives any). */
static int klass_of(const struct ow_columnar *q, int id)
{
	if (id < q->ncols)
		return klass(&q->defs[id]);
	return q->x[id - q->ncols].kind == X_BUCKET ? C_INT : C_ANY;
}

/* A column, time_bucket_ns(column, width) with an integer column and a
 * positive width, or column ->> 'path' with a text or JSON column and a
 * key or a path expr.c takes: its id, -1 when there is none here. */
static int operand(parser_t *p)
{
	struct ow_columnar *q = p->q;
	tok_t *t = peek(p);
	expr_t x = {0};
	if (is_kw(t, "time_bucket_ns") && t[1].type == T_OP && t[1].s[0] == '(') {
		p->at += 2;
		x.kind = X_BUCKET;
		x.col = ref(p);
		if (x.col < 0 || klass(&q->defs[x.col]) != C_INT || !op(p, ",") ||
		    peek(p)->type != T_INT || peek(p)->i <= 0)
			return -1;
		x.width = peek(p)->i;
		p->at++;
		if (!op(p, ")"))
			return -1;
	} else {
		int c = ref(p);
		if (c < 0 || !op(p, "->>"))
			return c;
		t = peek(p);
		if (q->defs[c].type != OW_PQ_BYTE_ARRAY || t->type != T_STR)
			return -1;
		p->at++;
		x.kind = X_JSON;
		x.col = c;
		x.path = ow_strdup(t->text);
		if (!ow_search_json_path(x.path, &x.pp)) {
			free(x.path);
			return -1;
		}
		x.pp.trusted = q->defs[c].logical == OW_PQ_L_JSON;
	}
	for (int k = 0; k < q->nx; k++)
		if (q->x[k].kind == x.kind && q->x[k].col == x.col && q->x[k].width == x.width &&
		    (!x.path || strcmp(q->x[k].path, x.path) == 0)) {
			free(x.path);
			return q->ncols + k;
		}
	if (q->nx == MAX_ITEMS) {
		free(x.path);
		return -1;
	}
	q->x[q->nx] = x;
	return q->ncols + q->nx++;
}

/* The SQL text from token from to the last one taken. */
static char *span(parser_t *p, size_t from)
{
	const tok_t *last = &p->t[p->at - 1];
	return dup_n(p->t[from].s, (size_t)(last->s + last->n - p->t[from].s));
}

/* A literal for column or expression id into v (text borrowed from the
 * token). */
static int literal(parser_t *p, int id, ow_search_val_t *v)
{
	int neg = op(p, "-");
	tok_t *t = peek(p);
	int k = klass_of(p->q, id);
	memset(v, 0, sizeof(*v));
	if (t->type == T_STR && !neg && (k == C_TEXT || k == C_ANY)) {
		v->type = SQLITE_TEXT;
		v->p = (const uint8_t *)t->text;
		v->n = strlen(t->text);
	} else if (t->type == T_INT && (k == C_INT || k == C_ANY)) {
		v->type = SQLITE_INTEGER;
		v->i = neg ? -t->i : t->i;
	} else if (t->type == T_INT && k == C_REAL && t->i <= (1LL << 53)) {
		v->type = SQLITE_FLOAT;
		v->d = (double)(neg ? -t->i : t->i);
	} else if (t->type == T_REAL && (k == C_REAL || k == C_ANY)) {
		v->type = SQLITE_FLOAT;
		v->d = neg ? -t->d : t->d;
	} else {
		return 0;
	}
	p->at++;
	return 1;
}

static filt_t *add_filter(struct ow_columnar *q, int col, int fop)
{
	q->f = ow_realloc(q->f, (size_t)(q->nf + 1) * sizeof(filt_t));
	filt_t *f = &q->f[q->nf++];
	*f = (filt_t){.col = col, .base = base(q, col), .op = fop};
	return f;
}

static int add_literal(parser_t *p, filt_t *f)
{
	f->vals = ow_realloc(f->vals, (f->nvals + 1) * sizeof(ow_search_val_t));
	if (!literal(p, f->col, &f->vals[f->nvals]))
		return 0;
	f->nvals++;
	return 1;
}

static int condition(parser_t *p)
{
	int col = operand(p);
	if (col < 0)
		return 0;
	static const struct {
		const char *op;
		int f;
	} cmp[] = {{"=", F_EQ}, {"==", F_EQ}, {"!=", F_NE}, {"<>", F_NE},
		   {"<", F_LT}, {"<=", F_LE}, {">", F_GT},  {">=", F_GE}};
	for (size_t i = 0; i < OW_NELEMS(cmp); i++)
		if (op(p, cmp[i].op))
			return add_literal(p, add_filter(p->q, col, cmp[i].f));
	if (kw(p, "IS")) {
		int neg = kw(p, "NOT");
		if (!kw(p, "NULL"))
			return 0;
		add_filter(p->q, col, neg ? F_NOT_NULL : F_NULL);
		return 1;
	}
	if (kw(p, "BETWEEN")) {
		if (!add_literal(p, add_filter(p->q, col, F_GE)) || !kw(p, "AND"))
			return 0;
		return add_literal(p, add_filter(p->q, col, F_LE));
	}
	int neg = kw(p, "NOT");
	if (kw(p, "LIKE")) {
		/* SQLite refuses patterns past its limit (search.c sets 10000) */
		int k = klass_of(p->q, col);
		tok_t *t = peek(p);
		if ((k != C_TEXT && k != C_ANY) || t->type != T_STR || strlen(t->text) > 10000)
			return 0;
		if (!add_literal(p, add_filter(p->q, col, neg ? F_NOT_LIKE : F_LIKE)))
			return 0;
		return !is_kw(peek(p), "ESCAPE");
	}
	if (!kw(p, "IN") || !op(p, "("))
		return 0;
	filt_t *f = add_filter(p->q, col, neg ? F_NOT_IN : F_IN);
	do {
		if (!add_literal(p, f))
			return 0;
	} while (op(p, ","));
	return op(p, ")");
}

static int agg_of(const tok_t *t, double *q)
{
	static const struct {
		const char *name;
		int agg;
		double q;
	} aggs[] = {{"count", A_COUNT, 0},    {"sum", A_SUM, 0},	{"avg", A_AVG, 0},
		    {"min", A_MIN, 0},	      {"max", A_MAX, 0},	{"p50", A_QUANTILE, 0.5},
		    {"p90", A_QUANTILE, 0.9}, {"p99", A_QUANTILE, 0.99}};
	if (t->type != T_ID || t->quoted || t[1].type != T_OP || t[1].s[0] != '(')
		return A_NONE;
	for (size_t i = 0; i < OW_NELEMS(aggs); i++)
		if (strcasecmp(t->text, aggs[i].name) == 0) {
			*q = aggs[i].q;
			return aggs[i].agg;
		}
	return -1;
}

/* An aggregate call: 0 when it is not one the executor has. */
static int aggregate(parser_t *p, item_t *it)
{
	const char *from = peek(p)->s;
	it->agg = agg_of(peek(p), &it->q);
	if (it->agg <= A_NONE)
		return 0;
	p->at += 2;
	if (it->agg == A_COUNT && kw(p, "DISTINCT"))
		it->agg = A_COUNT_DISTINCT;
	if (it->agg == A_COUNT && op(p, "*"))
		it->col = -1;
	else if ((it->col = operand(p)) < 0)
		return 0;
	if (it->col >= 0 && (it->agg == A_SUM || it->agg == A_AVG || it->agg == A_QUANTILE) &&
	    klass_of(p->q, it->col) >= C_TEXT)
		return 0; /* SQLite would convert text to numbers */
	tok_t *close = peek(p);
	if (!op(p, ")"))
		return 0;
	if (!it->name)
		it->name = dup_n(from, (size_t)(close->s + 1 - from));
	return 1;
}

static int item(parser_t *p)
{
	struct ow_columnar *q = p->q;
	if (q->nitems == MAX_ITEMS)
		return 0;
	item_t *it = &q->items[q->nitems++];
	tok_t *t = peek(p);
	if (agg_of(t, &it->q) > A_NONE) {
		if (!aggregate(p, it))
			return 0;
		q->aggregate = 1;
	} else {
		size_t from = p->at;
		if ((it->col = operand(p)) < 0)
			return 0;
		it->name = it->col < q->ncols ? ow_strdup(t->text) : span(p, from);
	}
	int as = kw(p, "AS");
	t = peek(p);
	if (t->type == T_ID && (as || !is_kw(t, "FROM"))) {
		if (column(q, t->text) >= 0)
			return 0; /* resolved differently in WHERE and GROUP BY */
		free(it->name);
		it->name = ow_strdup(t->text);
		p->at++;
	} else if (as) {
		return 0;
	}
	return 1;
}

static int in_group(const struct ow_columnar *q, int col)
{
	for (int g = 0; g < q->ngroup; g++)
		if (q->group[g] == col)
			return 1;
	return 0;
}

/* The item an ORDER BY term names. */
static int order_item(parser_t *p)
{
	struct ow_columnar *q = p->q;
	tok_t *t = peek(p);
	if (t->type == T_INT) {
		p->at++;
		return t->i >= 1 && t->i <= q->nout ? (int)t->i - 1 : -1;
	}
	item_t want = {0};
	if (agg_of(t, &want.q) > A_NONE) {
		if (!aggregate(p, &want) || !q->aggregate) {
			free(want.name);
			return -1;
		}
	} else if (t->type == T_ID) {
		int arrow = t[1].type == T_OP && t[1].n == 3 && strncmp(t[1].s, "->>", 3) == 0;
		for (int i = 0; i < q->nout && !arrow; i++)
			if (strcasecmp(q->items[i].name, t->text) == 0) {
				p->at++;
				return i; /* an alias first, as SQLite resolves it */
			}
		size_t from = p->at;
		want.col = operand(p);
		if (want.col < 0 || (q->aggregate && !in_group(q, want.col)))
			return -1;
		want.name = span(p, from);
	} else {
		return -1;
	}
	for (int i = 0; i < q->nitems; i++)
		if (q->items[i].agg == want.agg && q->items[i].col == want.col &&
		    q->items[i].q == want.q) {
			free(want.name);
			return i;
		}
	if (q->nitems == MAX_ITEMS) {
		free(want.name);
		return -1;
	}
	q->items[q->nitems] = want; /* sorted by, not shown */
	return q->nitems++;
}

static int count_value(parser_t *p, int64_t *v)
{
	tok_t *t = peek(p);
	if (t->type != T_INT)
		return 0;
	*v = t->i;
	p->at++;
	return 1;
}

static int parse(parser_t *p)
{
	struct ow_columnar *q = p->q;
	if (!kw(p, "SELECT"))
		return 0;
	kw(p, "ALL");
	/* the table first: the items name its columns */
	size_t from = p->at;
	while (from < p->n && !is_kw(&p->t[from], "FROM"))
		from++;
	if (from + 1 >= p->n || p->t[from + 1].type != T_ID)
		return 0;
	static const char *const tables[OW_NSIGNALS] = {"spans", "logs", "metrics"};
	q->signal = -1;
	for (int g = 0; g < OW_NSIGNALS; g++)
		if (strcasecmp(p->t[from + 1].text, tables[g]) == 0)
			q->signal = g;
	if (q->signal < 0)
		return 0;
	q->defs = ow_columns_schema(q->signal);
	q->ncols = ow_columns_ncols(q->signal);
	if (op(p, "*")) {
		for (int c = 0; c < q->ncols; c++)
			q->items[q->nitems++] = (item_t){c, A_NONE, 0, ow_strdup(q->defs[c].name)};
	} else {
		do {
			if (!item(p))
				return 0;
		} while (op(p, ","));
	}
	if (p->at != from)
		return 0;
	p->at += 2;
	if (kw(p, "WHERE")) {
		do {
			if (!condition(p))
				return 0;
		} while (kw(p, "AND"));
	}
	if (kw(p, "GROUP")) {
		if (!kw(p, "BY"))
			return 0;
		do {
			tok_t *t = peek(p);
			int col = -1;
			if (t->type == T_INT && t->i >= 1 && t->i <= q->nitems &&
			    q->items[t->i - 1].agg == A_NONE)
				col = q->items[t->i - 1].col, p->at++;
			else
				col = operand(p);
			if (col < 0 || q->ngroup == MAX_ITEMS)
				return 0;
			q->group[q->ngroup++] = col;
		} while (op(p, ","));
		q->aggregate = 1;
	}
	for (int i = 0; i < q->nitems; i++)
		for (int j = 0; j < i; j++)
			if (strcasecmp(q->items[i].name, q->items[j].name) == 0)
				return 0; /* SQLite renames the second in SELECT * */
	for (int i = 0; q->aggregate && i < q->nitems; i++)
		if (q->items[i].agg == A_NONE && !in_group(q, q->items[i].col))
			return 0;
	q->nout = q->nitems;
	if (kw(p, "ORDER")) {
		if (!kw(p, "BY"))
			return 0;
		do {
			int it = order_item(p);
			if (it < 0 || q->norder == MAX_ITEMS)
				return 0;
			int desc = kw(p, "DESC");
			if (!desc)
				kw(p, "ASC");
			q->order[q->norder++] = (order_t){it, desc};
		} while (op(p, ","));
	}
	/* SQLite answers an IN on the time column one value at a time, the
	 * values in ascending order: the rows come in an order (and sums of
	 * reals add up in an order) a scan does not give */
	for (int i = 0; i < q->nf; i++)
		if (q->f[i].op == F_IN && q->f[i].col == ow_columns_time_col(q->signal))
			return 0;
	q->limit = -1;
	if (kw(p, "LIMIT")) {
		if (!count_value(p, &q->limit))
			return 0;
		if (op(p, ",")) {
			q->offset = q->limit;
			if (!count_value(p, &q->limit))
				return 0;
		} else if (kw(p, "OFFSET") && !count_value(p, &q->offset)) {
			return 0;
		}
	}
	while (op(p, ";"))
		;
	return peek(p)->type == T_END;
}

void ow_columnar_free(ow_columnar_t *q)
{
	if (!q)
		return;
	for (int i = 0; i < q->nitems; i++)
		free(q->items[i].name);
	for (int k = 0; k < q->nx; k++)
		free(q->x[k].path);
	for (int i = 0; i < q->nf; i++)
		ow_scan_pred_free(&q->f[i]);
	free(q->f);
	free(q);
}

ow_columnar_t *ow_columnar_parse(const ow_search_t *s, const char *sql)
{
	OW_UNUSED(s);
	parser_t p = {0};
	p.q = ow_calloc(1, sizeof(*p.q));
	int ok = tokenize(sql, &p) && parse(&p);
	/* the literals' text outlives the tokens */
	for (int i = 0; i < p.q->nf; i++)
		for (size_t j = 0; j < p.q->f[i].nvals; j++)
			if (p.q->f[i].vals[j].type == SQLITE_TEXT)
				p.q->f[i].vals[j].p = (const uint8_t *)dup_n(
				    (const char *)p.q->f[i].vals[j].p, p.q->f[i].vals[j].n);
			else
				p.q->f[i].vals[j].p = NULL;
	for (int i = 0; ok && i < p.q->nf; i++)
		ow_scan_pred_ready(&p.q->f[i], &p.q->defs[p.q->f[i].base]);
	for (size_t i = 0; i < p.n; i++)
		free(p.t[i].text);
	free(p.t);
	if (!ok) {
		ow_columnar_free(p.q);
		return NULL;
	}
	return p.q;
}

/* ---- values ---- */

/* SQLite's order: NULL, numbers, text (BINARY), blobs. */
static int val_cmp(const ow_search_val_t *a, const ow_search_val_t *b)
{
	return ow_search_val_cmp(a, b);
}

/* An owned copy: text duplicated. */
static void val_own(ow_search_val_t *dst, const ow_search_val_t *src)
{
	*dst = *src;
	if (src->type == SQLITE_TEXT || src->type == SQLITE_BLOB) {
		uint8_t *p = ow_alloc(src->n + 1);
		if (src->n) /* an empty value's pointer may be NULL */
			memcpy(p, src->p, src->n);
		dst->p = p;
	}
}

static void val_free(ow_search_val_t *v)
{
	if (v->type == SQLITE_TEXT || v->type == SQLITE_BLOB)
		free((void *)v->p);
}

static int filter_holds(const filt_t *f, const ow_search_val_t *x)
{
	return ow_scan_holds(f, x);
}

/* ---- aggregates ---- */

static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

static void key_add(ow_buf_t *b, const ow_search_val_t *v)
{
	uint8_t tag = (uint8_t)v->type;
	ow_buf_add(b, &tag, 1);
	if (v->type == SQLITE_INTEGER) {
		ow_buf_add(b, &v->i, 8);
	} else if (v->type == SQLITE_FLOAT) {
		double d = v->d == 0 ? 0 : v->d; /* -0.0 groups with 0.0 */
		ow_buf_add(b, &d, 8);
	} else if (v->type == SQLITE_TEXT) {
		uint32_t n = (uint32_t)v->n;
		ow_buf_add(b, &n, 4);
		ow_buf_add(b, v->p, v->n);
	}
}

typedef struct {
	int64_t cnt, isum;
	double rsum;
	int approx, overflow;
	ow_search_val_t m; /* min, max */
	ow_search_num_t *qv;
	size_t qn, qcap;
	int qreal;
	/* count(DISTINCT): the values seen (u32 length, key_add bytes) and a
	 * hash set of them (offset + 1) */
	ow_buf_t dk;
	uint32_t *ds;
	size_t dcap;
} acc_t;

/* count(DISTINCT): 1 when x (its key bytes at the end of a->dk) is new. */
static int distinct_add(acc_t *a, size_t mark)
{
	if (2 * ((size_t)a->cnt + 1) > a->dcap) {
		size_t cap = a->dcap ? 2 * a->dcap : 16;
		uint32_t *ds = ow_calloc(cap, sizeof(uint32_t));
		for (size_t k = 0; k < a->dcap; k++) {
			if (!a->ds[k])
				continue;
			const uint8_t *e = a->dk.data + a->ds[k] - 1;
			size_t i = hash_bytes(e + 4, ow_get_u32(e)) & (cap - 1);
			while (ds[i])
				i = (i + 1) & (cap - 1);
			ds[i] = a->ds[k];
		}
		free(a->ds);
		a->ds = ds;
		a->dcap = cap;
	}
	const uint8_t *x = a->dk.data + mark;
	uint32_t len = ow_get_u32(x);
	for (size_t i = hash_bytes(x + 4, len) & (a->dcap - 1);; i = (i + 1) & (a->dcap - 1)) {
		if (!a->ds[i]) {
			a->ds[i] = (uint32_t)mark + 1;
			return 1;
		}
		const uint8_t *e = a->dk.data + a->ds[i] - 1;
		if (ow_get_u32(e) == len && memcmp(e + 4, x + 4, len) == 0)
			return 0;
	}
}

/* Returns the bytes it took. */
/* Room for one more value of a quantile: the bytes it took. */
static inline size_t q_room(acc_t *a)
{
	if (a->qn < a->qcap)
		return 0;
	size_t took = (a->qcap ? a->qcap : 16) * sizeof(ow_search_num_t);
	a->qcap = a->qcap ? 2 * a->qcap : 16;
	a->qv = ow_realloc(a->qv, a->qcap * sizeof(ow_search_num_t));
	return took;
}

static size_t acc_add(const item_t *it, acc_t *a, const ow_search_val_t *x)
{
	size_t took = 0;
	if (it->agg == A_COUNT && it->col < 0) {
		a->cnt++;
		return 0;
	}
	if (x->type == SQLITE_NULL)
		return 0;
	a->cnt++;
	switch (it->agg) {
	case A_SUM:
	case A_AVG:
		if (x->type == SQLITE_INTEGER) {
			a->rsum += (double)x->i;
			if (!(a->approx | a->overflow) &&
			    __builtin_add_overflow(a->isum, x->i, &a->isum))
				a->approx = a->overflow = 1;
		} else {
			a->rsum += x->d;
			a->approx = 1;
		}
		break;
	case A_MIN:
	case A_MAX:
		if (a->cnt == 1 ||
		    (it->agg == A_MIN ? val_cmp(x, &a->m) < 0 : val_cmp(x, &a->m) > 0)) {
			val_free(&a->m);
			val_own(&a->m, x);
			took = x->n;
		}
		break;
	case A_COUNT_DISTINCT: {
		/* counted once a value: SQLite's equality is the key's (one
		 * kind of value a term, but for ->>; -0.0 as 0.0) */
		a->cnt--;
		size_t mark = a->dk.len;
		if (mark > UINT32_MAX / 2) {
			a->overflow = 1;
			break;
		}
		uint8_t len[4] = {0};
		ow_buf_add(&a->dk, len, 4);
		key_add(&a->dk, x);
		ow_put_u32(a->dk.data + mark, (uint32_t)(a->dk.len - mark - 4));
		if (distinct_add(a, mark)) {
			a->cnt++;
			took = a->dk.len - mark + 2 * sizeof(uint32_t);
		} else {
			a->dk.len = mark;
		}
		break;
	}
	case A_QUANTILE:
		took = q_room(a);
		a->qreal = x->type == SQLITE_FLOAT;
		if (a->qreal)
			a->qv[a->qn++].d = x->d;
		else
			a->qv[a->qn++].i = x->i;
		break;
	}
	return took;
}

/* The aggregate's value; OW_DECLINED on an integer overflow (SQLite's
 * error to give). */
static int acc_result(const item_t *it, acc_t *a, ow_search_val_t *out)
{
	memset(out, 0, sizeof(*out));
	out->type = SQLITE_NULL;
	switch (it->agg) {
	case A_COUNT_DISTINCT:
		if (a->overflow)
			return OW_DECLINED; /* past what the set holds: SQLite's */
		__attribute__((fallthrough));
	case A_COUNT:
		out->type = SQLITE_INTEGER;
		out->i = a->cnt;
		break;
	case A_SUM:
		if (a->overflow)
			return OW_DECLINED;
		if (a->cnt && a->approx)
			out->type = SQLITE_FLOAT, out->d = a->rsum;
		else if (a->cnt)
			out->type = SQLITE_INTEGER, out->i = a->isum;
		break;
	case A_AVG:
		if (a->cnt)
			out->type = SQLITE_FLOAT, out->d = a->rsum / (double)a->cnt;
		break;
	case A_MIN:
	case A_MAX:
		if (a->cnt)
			*out = a->m; /* borrowed */
		break;
	case A_QUANTILE:
		if (a->qn) {
			ow_search_num_t x = ow_search_quantile(a->qv, a->qn, a->qreal, it->q);
			if (a->qreal)
				out->type = SQLITE_FLOAT, out->d = x.d;
			else
				out->type = SQLITE_INTEGER, out->i = x.i;
		}
		break;
	}
	return OW_OK;
}

/* ---- the run ---- */

typedef struct {
	ow_search_val_t *keys; /* the group columns' values, owned */
	acc_t *acc;
} group_t;

/* A segment - a row group of a part, or a buffered chunk - made ready
 * for consume() by prepare(), on any thread: its filters evaluated into
 * sel, the columns the query uses read. */
typedef struct {
	ow_search_part_t *p; /* or */
	const ow_table_t *chunk;
	int rg;
	size_t nrows, selected;
	uint8_t *sel;
	const ow_col_t **col;
	ow_col_t *bufs;
	/* a part's column read as dictionary codes: code[c] gives each
	 * defined value's entry in codes[c].dict (NULL: col[c] has values) */
	ow_pq_codes_t *codes;
	const uint32_t **code;
	uint8_t *memo; /* a filter per dictionary entry: 0 not yet, 1 no, 2 yes */
	size_t memo_cap;
	uint8_t *may; /* a JSON filter per value: 0 when it cannot hold */
	size_t may_cap;
	const void *may_for; /* the filter may is marked for */
	size_t may_done;     /* how many values of its column it marks */
	ow_buf_t *xbuf;	     /* the filters' expression text, when not in a column */
	/* rows that pass every filter on the column being filtered by its
	 * pages' statistics, unread (page_may's 2): (first row, rows) pairs,
	 * and their sel bytes while its filters run on the other rows */
	size_t *pass, npass, pass_cap;
	ow_buf_t held;
	int64_t bytes;
	int rc;
	char err[512];
} slot_t;

typedef struct {
	ow_search_t *s;
	ow_columnar_t *q;
	uint64_t used;	/* bit c: column c is read */
	slot_t *sl;	/* the segment consume() reads */
	uint32_t *gmap; /* the group of a dictionary entry: index + 1, 0 not yet */
	size_t gmap_cap;
	uint32_t *list, *gi; /* grouped: the selected rows of the segment, their groups */
	size_t gi_cap;
	/* the groups and their hash table (index + 1, 0 empty) */
	group_t *groups;
	size_t ngroups, cap;
	uint32_t *slots;
	size_t nslots;
	ow_buf_t key;
	/* plain rows: owned values, nitems each */
	ow_search_val_t *rows;
	size_t nrows_out, rows_cap;
	ow_buf_t *xbuf; /* consume()'s expression text, when not in a column */
	/* output without sorting: straight out */
	ow_search_out_t *o;
	int64_t skip, take; /* take -1: no end */
	int64_t keep;	    /* ORDER BY with a LIMIT: rows that can be in it; -1 all */
	int64_t worst;	    /* once that many are kept: the last of them; -1 none */
	int stop;
	/* what the groups and rows hold, bounded as SQLite's heap is */
	int64_t mem, mem_max;
	char *err;
	size_t errlen;
} run_t;

static void rehash(run_t *r);

static int same_keys(const ow_columnar_t *q, const group_t *gr, const ow_search_val_t *keys)
{
	for (int g = 0; g < q->ngroup; g++)
		if (gr->keys[g].type != keys[g].type || val_cmp(&gr->keys[g], &keys[g]) != 0)
			return 0;
	return 1;
}

static group_t *find_group(run_t *r, const ow_search_val_t *keys)
{
	ow_columnar_t *q = r->q;
	r->key.len = 0;
	for (int g = 0; g < q->ngroup; g++)
		key_add(&r->key, &keys[g]);
	uint64_t h = hash_bytes(r->key.data, r->key.len);
	size_t mask = r->nslots - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		uint32_t slot = r->slots[i];
		if (slot == 0)
			break;
		if (same_keys(q, &r->groups[slot - 1], keys))
			return &r->groups[slot - 1];
	}
	if (r->ngroups == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 64;
		r->groups = ow_realloc(r->groups, r->cap * sizeof(group_t));
	}
	group_t *gr = &r->groups[r->ngroups++];
	gr->keys = ow_calloc((size_t)q->ngroup + 1, sizeof(ow_search_val_t));
	for (int g = 0; g < q->ngroup; g++)
		val_own(&gr->keys[g], &keys[g]);
	gr->acc = ow_calloc((size_t)q->nitems, sizeof(acc_t));
	r->mem += (int64_t)(sizeof(group_t) + 2 * sizeof(uint32_t) + r->key.len +
			    (size_t)q->ngroup * sizeof(ow_search_val_t) +
			    (size_t)q->nitems * sizeof(acc_t));
	if (2 * r->ngroups > r->nslots) {
		rehash(r);
	} else {
		size_t i = h & mask;
		while (r->slots[i])
			i = (i + 1) & mask;
		r->slots[i] = (uint32_t)r->ngroups;
	}
	return gr;
}

static void rehash(run_t *r)
{
	free(r->slots);
	r->nslots = r->nslots ? 2 * r->nslots : 1024;
	r->slots = ow_calloc(r->nslots, sizeof(uint32_t));
	for (size_t k = 0; k < r->ngroups; k++) {
		r->key.len = 0;
		for (int g = 0; g < r->q->ngroup; g++)
			key_add(&r->key, &r->groups[k].keys[g]);
		size_t i = hash_bytes(r->key.data, r->key.len) & (r->nslots - 1);
		while (r->slots[i])
			i = (i + 1) & (r->nslots - 1);
		r->slots[i] = (uint32_t)(k + 1);
	}
}

/* Value v of expression id from its column's value (in place):
 * OW_DECLINED when SQLite must answer. */
static int derive(const ow_columnar_t *q, ow_buf_t *xbuf, int id, ow_search_val_t *v)
{
	const expr_t *x = &q->x[id - q->ncols];
	if (v->type == SQLITE_NULL)
		return OW_OK;
	if (x->kind == X_BUCKET) {
		int64_t rem = v->i % x->width;
		if (rem < 0)
			rem += x->width;
		/* out of range: time_bucket_ns's error */
		return __builtin_sub_overflow(v->i, rem, &v->i) ? OW_DECLINED : OW_OK;
	}
	ow_search_val_t json = *v;
	return ow_search_json_get(&x->pp, json.p, json.n, &xbuf[id - q->ncols], v);
}

/* Value v (an index among its defined values) of column c: from the
 * dictionary when the column was read as codes. */
static void value(const ow_columnar_t *q, const slot_t *sl, int c, size_t v, char *hex,
		  ow_search_val_t *out)
{
	if (sl->code[c])
		ow_search_cell(&q->defs[c], &sl->codes[c].dict, sl->code[c][v], hex, out);
	else
		ow_search_cell(&q->defs[c], sl->col[c], v, hex, out);
}

#define NO_VALUE SIZE_MAX

/* The value index of column c at a row, NO_VALUE for NULL (rows come in
 * ascending order): found by counting the definitions since the last row
 * asked for, so columns are stepped only to the rows selected. */
static inline size_t position(const slot_t *sl, int c, size_t row, size_t *vpos, size_t *at)
{
	const ow_col_t *o = sl->col[c];
	if (!o || !o->defs.data[row])
		return NO_VALUE;
	if (o->nvals == o->nrows) {
		vpos[c] = row;
	} else {
		vpos[c] += ow_count_ones(o->defs.data + at[c], row - at[c]);
	}
	at[c] = row;
	return vpos[c];
}

/* Value of column or expression id at a row. */
static int cell(run_t *r, int id, size_t row, size_t *vpos, size_t *at, char *hex,
		ow_search_val_t *v)
{
	int c = base(r->q, id);
	size_t vp = position(r->sl, c, row, vpos, at);
	if (vp == NO_VALUE) {
		memset(v, 0, sizeof(*v));
		v->type = SQLITE_NULL;
		return OW_OK;
	}
	value(r->q, r->sl, c, vp, hex, v);
	return id < r->q->ncols ? OW_OK : derive(r->q, r->xbuf, id, v);
}

/* The end of the next rows to look at from *row, at most eight: runs of
 * eight rows already out of the selection (as whole pages skipped leave
 * them) are stepped over first, *row moved past them and *vp past the
 * values they hold (defs: a byte a row, 1 when defined; NULL: none
 * counted). */
static inline size_t next_rows(const uint8_t *sel, const uint8_t *defs, size_t *row, size_t nrows,
			       size_t *vp)
{
	for (uint64_t w; *row + 8 <= nrows; *row += 8) {
		memcpy(&w, sel + *row, 8);
		if (w)
			break;
		if (defs)
			*vp += ow_count_ones(defs + *row, 8);
	}
	return OW_MIN(*row + 8, nrows);
}

/* Room for n zero bytes (entries of width w) in a reused array. */
static void *zeroed(void *p, size_t *cap, size_t n, size_t w)
{
	if (*cap < n) {
		free(p);
		*cap = n;
		p = ow_alloc(n * w + 1);
	}
	memset(p, 0, n * w);
	return p;
}

static int emit(run_t *r, const ow_search_val_t *vals)
{
	if (r->skip > 0) {
		r->skip--;
		return OW_OK;
	}
	if (r->take == 0) {
		r->stop = 1;
		return OW_OK;
	}
	if (ow_search_row_bound(r->s, r->o->nrows, r->err, r->errlen) != OW_OK)
		return OW_ERROR;
	ow_search_out_row(r->o, vals);
	if (r->take > 0 && --r->take == 0)
		r->stop = 1;
	return OW_OK;
}

static void top_k(run_t *r);

/* Two rows (nitems values each) by the ORDER BY terms. */
static int order_cmp(const ow_columnar_t *q, const ow_search_val_t *a, const ow_search_val_t *b)
{
	for (int k = 0; k < q->norder; k++) {
		const order_t *o = &q->order[k];
		int r = val_cmp(&a[o->item], &b[o->item]);
		if (r)
			return o->desc ? -r : r;
	}
	return 0;
}

static int over_memory(run_t *r)
{
	ow_search_stop(&r->s->budget, OW_SEARCH_STOP_MEMORY);
	ow_search_timeout_message(r->s, r->err, r->errlen);
	return OW_ERROR;
}

/* A pass's state along the rows: position()'s, and room for nhex values
 * of id columns as hex. */
static void *steps(const ow_columnar_t *q, int nhex, size_t **vpos, size_t **at)
{
	*vpos = ow_calloc((size_t)q->ncols, sizeof(size_t));
	*at = ow_calloc((size_t)q->ncols, sizeof(size_t));
	return ow_alloc((size_t)nhex * OW_SEARCH_HEX_MAX);
}

/* What is checked along the rows: the memory the groups and rows hold,
 * and now and then the time budget. */
static inline int bounds(run_t *r, size_t row)
{
	if (r->mem_max && r->mem + atomic_load(&r->s->budget.used) > r->mem_max)
		return over_memory(r);
	if ((row & 0xffff) == 0xffff && ow_search_expired(r->s))
		return OW_ERROR;
	return OW_OK;
}

/* A quantile of an INT64 column read as values (item i, over the n
 * selected rows of r->list, their groups in r->gi): the values appended
 * as they are, what acc_add does without a value made a row. */
static int quantile_ints(run_t *r, int i, int c, size_t n, size_t *vpos, size_t *at)
{
	const slot_t *sl = r->sl;
	const ow_col_t *o = sl->col[c];
	const uint8_t *fixed = o->fixed.data;
	int direct = o->nvals == o->nrows;
	vpos[c] = at[c] = 0;
	for (size_t k = 0; k < n; k++) {
		size_t vp = direct ? r->list[k] : position(sl, c, r->list[k], vpos, at);
		if (vp == NO_VALUE)
			continue;
		acc_t *a = &r->groups[r->gi[k] - 1].acc[i];
		size_t took = q_room(a);
		if (took) {
			r->mem += (int64_t)took;
			if (bounds(r, 0) != OW_OK)
				return OW_ERROR;
		}
		a->qv[a->qn++].i = (int64_t)ow_get_u64(fixed + 8 * vp);
		a->cnt++;
		a->qreal = 0;
		if ((k & 0xffff) == 0xffff && ow_search_expired(r->s))
			return OW_ERROR;
	}
	return OW_OK;
}

/* Grouped: the group of every selected row first, then each aggregate
 * over the rows, a column at a time (each aggregate still takes its
 * values in the rows' order, which sums of reals depend on). */
static int consume_groups(run_t *r)
{
	ow_columnar_t *q = r->q;
	const slot_t *sl = r->sl;
	size_t *vpos, *at;
	char(*hex)[OW_SEARCH_HEX_MAX] = steps(q, q->ngroup + 1, &vpos, &at);
	ow_search_val_t v, keys[MAX_ITEMS];
	int rc = OW_OK;
	uint32_t last = 0; /* index + 1: parts are sorted, the last row's group often */
	/* one group term of a column read as codes: its groups by entry */
	int gc = q->ngroup == 1 ? base(q, q->group[0]) : -1;
	const uint32_t *gcode = gc >= 0 ? sl->code[gc] : NULL;
	if (gcode)
		r->gmap = zeroed(r->gmap, &r->gmap_cap, sl->codes[gc].dict.nvals, sizeof(uint32_t));
	/* the selected rows once, for every pass (a filter often leaves few) */
	if (r->gi_cap < sl->selected) {
		r->gi_cap = sl->selected;
		r->gi = ow_realloc(r->gi, r->gi_cap * sizeof(uint32_t));
		r->list = ow_realloc(r->list, r->gi_cap * sizeof(uint32_t));
	}
	size_t n = 0;
	for (size_t row = 0; row < sl->nrows && n < sl->selected;) {
		for (size_t end = next_rows(sl->sel, NULL, &row, sl->nrows, NULL); row < end; row++)
			if (sl->sel[row])
				r->list[n++] = (uint32_t)row;
	}
	for (size_t k = 0; k < n && rc == OW_OK; k++) {
		size_t row = r->list[k];
		size_t gv = gcode ? position(sl, gc, row, vpos, at) : NO_VALUE;
		uint32_t *known = gv != NO_VALUE ? &r->gmap[gcode[gv]] : NULL;
		if (!known || !*known) {
			for (int g = 0; g < q->ngroup && rc == OW_OK; g++)
				rc = cell(r, q->group[g], row, vpos, at, hex[g], &keys[g]);
			if (rc != OW_OK)
				break;
			if (!last || !same_keys(q, &r->groups[last - 1], keys))
				last = (uint32_t)(find_group(r, keys) - r->groups) + 1;
			if (known)
				*known = last;
		}
		r->gi[k] = known ? *known : last;
		rc = bounds(r, k);
	}
	for (int i = 0; i < q->nitems && rc == OW_OK; i++) {
		const item_t *it = &q->items[i];
		if (it->agg == A_NONE)
			continue;
		if (it->agg == A_COUNT && it->col < 0) {
			for (size_t k = 0; k < n; k++)
				r->groups[r->gi[k] - 1].acc[i].cnt++;
			continue;
		}
		/* the term's column stepped along the selected rows */
		int c = it->col >= 0 ? base(q, it->col) : -1;
		const uint32_t *code = c >= 0 ? sl->code[c] : NULL;
		if (it->agg == A_QUANTILE && it->col == c && !code && sl->col[c] &&
		    q->defs[c].type == OW_PQ_INT64) {
			rc = quantile_ints(r, i, c, n, vpos, at);
			continue;
		}
		const ow_col_t *src = code ? &sl->codes[c].dict : c >= 0 ? sl->col[c] : NULL;
		/* a value a row (no NULL): the row is its index */
		int direct = c >= 0 && !code && src && src->nvals == src->nrows;
		if (c >= 0)
			vpos[c] = at[c] = 0;
		memset(&v, 0, sizeof(v));
		for (size_t k = 0; k < n && rc == OW_OK; k++) {
			size_t vp = direct   ? r->list[k]
				    : c >= 0 ? position(sl, c, r->list[k], vpos, at)
					     : NO_VALUE;
			v.type = SQLITE_NULL;
			if (vp != NO_VALUE)
				ow_search_cell(&q->defs[c], src, code ? code[vp] : vp,
					       hex[q->ngroup], &v);
			if (it->col >= q->ncols && derive(q, r->xbuf, it->col, &v) != OW_OK)
				rc = OW_DECLINED;
			r->mem += (int64_t)acc_add(it, &r->groups[r->gi[k] - 1].acc[i], &v);
			if (rc == OW_OK)
				rc = bounds(r, k);
		}
	}
	free(vpos), free(at), free(hex);
	return rc;
}

/* The selected rows of the segment loaded. */
static int consume(run_t *r)
{
	ow_columnar_t *q = r->q;
	if (q->aggregate)
		return consume_groups(r);
	const slot_t *sl = r->sl;
	size_t *vpos, *at;
	char(*hex)[OW_SEARCH_HEX_MAX] = steps(q, q->nitems + 1, &vpos, &at);
	ow_search_val_t vals[MAX_ITEMS];
	int rc = OW_OK;
	for (size_t row = 0; row < sl->nrows && rc == OW_OK && !r->stop; row++) {
		if (sl->sel[row]) {
			for (int i = 0; i < q->nitems && rc == OW_OK; i++)
				if (q->items[i].col >= 0)
					rc = cell(r, q->items[i].col, row, vpos, at, hex[i],
						  &vals[i]);
			if (rc != OW_OK)
				break;
			if (q->norder == 0) {
				rc = emit(r, vals);
			} else if (r->worst < 0 ||
				   order_cmp(q, vals,
					     &r->rows[(size_t)r->worst * (size_t)q->nitems]) < 0) {
				/* not after the last of the rows kept (a tie came later:
				 * after it) */
				if (r->nrows_out == r->rows_cap) {
					r->rows_cap = r->rows_cap ? 2 * r->rows_cap : 256;
					r->rows =
					    ow_realloc(r->rows, r->rows_cap * (size_t)q->nitems *
								    sizeof(ow_search_val_t));
				}
				for (int i = 0; i < q->nitems; i++) {
					val_own(
					    &r->rows[r->nrows_out * (size_t)q->nitems + (size_t)i],
					    &vals[i]);
					r->mem += (int64_t)(sizeof(ow_search_val_t) + vals[i].n);
				}
				r->nrows_out++;
				if (r->keep >= 0 && r->nrows_out >= 2 * (size_t)r->keep + 1024)
					top_k(r);
			}
		}
		if (rc == OW_OK)
			rc = bounds(r, row);
	}
	free(vpos), free(at), free(hex);
	return rc;
}

/* Filters that rule out, in one pass over a column's values (not
 * codes), the values that do not hold a text:
 * - col LIKE '%needle%' (or NOT LIKE) on a text column: a value without
 *   the needle in any case does not match;
 * - col ->> 'path' = 'text' (or IN texts): a value that holds no literal,
 *   and no escape, has no member equal to one, and need not be parsed.
 *   Texts only: a number matches no text, and an object's or an array's
 *   text may be written otherwise. */
static int may_filter(const ow_columnar_t *q, const filt_t *f)
{
	if (f->col < q->ncols)
		return q->defs[f->col].type == OW_PQ_BYTE_ARRAY && f->nneedle &&
		       (f->op == F_LIKE || f->op == F_NOT_LIKE);
	if (q->x[f->col - q->ncols].kind != X_JSON || (f->op != F_EQ && f->op != F_IN))
		return 0;
	for (size_t k = 0; k < f->nvals; k++)
		if (f->vals[k].type != SQLITE_TEXT || !f->vals[k].n || f->vals[k].p[0] == '{' ||
		    f->vals[k].p[0] == '[')
			return 0;
	return 1;
}

/* Marks values from..to-1 of o that may pass f (a may_filter). */
static void mark_may(const filt_t *f, const ow_col_t *o, size_t from, size_t to, uint8_t *may)
{
	const uint8_t *data = o->data.data;
	const uint32_t *ends = (const uint32_t *)o->offs.data;
	memset(may + from, 0, to - from);
	if (f->needle) {
		ow_search_holding(data, ends, from, to, (const uint8_t *)f->needle, f->nneedle, 1,
				  may);
		return;
	}
	for (size_t k = 0; k < f->nvals; k++)
		ow_search_holding(data, ends, from, to, f->vals[k].p, f->vals[k].n, 0, may);
	ow_search_holding(data, ends, from, to, (const uint8_t *)"\\", 1, 0, may);
}

typedef struct {
	const ow_columnar_t *q;
	int col, pass; /* pass: a page may pass whole (pass_pages) */
	slot_t *sl;
	const filt_t *by; /* a may_filter got_page marks pages for, or NULL */
} pagearg_t;

/* A page's values in: marks those that may pass the filter. */
static void got_page(void *arg, const ow_col_t *out, size_t from)
{
	const pagearg_t *a = arg;
	size_t to = out->offs.len / 4;
	slot_t *sl = a->sl;
	if (sl->may_cap < to) {
		sl->may_cap = to * 2;
		sl->may = ow_realloc(sl->may, sl->may_cap);
	}
	mark_may(a->by, out, from, to, sl->may);
	sl->may_done = from == sl->may_done ? to : SIZE_MAX;
}

/* A page of column col may hold a match of every filter on the column, as
 * far as its statistics tell (1), or not (0); or every row of it passes
 * them all (2, when a->pass: its rows noted in the slot, the page unread). */
static int page_may(void *arg, const ow_pq_stats_t *st, int64_t rows, size_t row0)
{
	const pagearg_t *a = arg;
	ow_scan_t sc = {a->q->signal, a->q->defs, a->q->f, a->q->nf};
	int may = ow_scan_page_may(&sc, a->col, st, rows);
	if (may != 2 || !a->pass)
		return may != 0;
	slot_t *sl = a->sl;
	if (sl->npass + 2 > sl->pass_cap) {
		sl->pass_cap = sl->pass_cap ? 2 * sl->pass_cap : 32;
		sl->pass = ow_realloc(sl->pass, sl->pass_cap * sizeof(size_t));
	}
	sl->pass[sl->npass++] = row0;
	sl->pass[sl->npass++] = (size_t)rows;
	return 2;
}

/* Whether the filters on column c may pass whole pages by their
 * statistics, unread: nothing else needs c's values (no item, group or
 * expression), and c's filters come one after another (so the rows set
 * aside while they run are back before another column's filter). */
static int pass_pages(const ow_columnar_t *q, uint64_t used, int c)
{
	if (used >> c & 1 || q->nf > 64)
		return 0;
	for (int i = 0, last = -1; i < q->nf; i++) {
		if (base(q, q->f[i].col) != c)
			continue;
		if (q->f[i].col != c || (last >= 0 && last != i - 1))
			return 0;
		last = i;
	}
	return 1;
}

/* The rows of the pages passed whole out of the selection while the
 * column's filters run on the others (their sel bytes held) ... */
static void hold_passed(slot_t *sl)
{
	sl->held.len = 0;
	for (size_t k = 0; k < sl->npass; k += 2) {
		ow_buf_add(&sl->held, sl->sel + sl->pass[k], sl->pass[k + 1]);
		memset(sl->sel + sl->pass[k], 0, sl->pass[k + 1]);
	}
}

/* ... and back in it: how many of them are selected. */
static size_t release_passed(slot_t *sl)
{
	size_t n = 0;
	for (size_t k = 0, at = 0; k < sl->npass; at += sl->pass[k + 1], k += 2) {
		memcpy(sl->sel + sl->pass[k], sl->held.data + at, sl->pass[k + 1]);
		n += ow_count_ones(sl->held.data + at, sl->pass[k + 1]);
	}
	sl->npass = 0;
	return n;
}

/* Column c of the segment, in the pages with a selected row; read for a
 * filter (by): also not the pages whose statistics rule its filters out
 * (their rows leave the selection), nor, when pass, those whose
 * statistics say every row passes them (noted in sl->pass). */
static int load_col(const ow_columnar_t *q, slot_t *sl, int c, const filt_t *by, int pass)
{
	sl->code[c] = NULL;
	sl->may_for = NULL;
	sl->may_done = 0;
	sl->npass = 0;
	if (sl->chunk) {
		sl->col[c] = &sl->chunk->cols[c];
		return OW_OK;
	}
	int fc = sl->p->colmap[c];
	sl->col[c] = NULL;
	if (fc < 0)
		return OW_OK; /* absent from the part: NULL */
	ow_col_t *o = &sl->bufs[c];
	ow_col_clear(o);
	char err[400];
	/* only the pages with a row still selected; codes rather than values */
	pagearg_t arg = {q, c, pass, sl, by && may_filter(q, by) ? by : NULL};
	ow_pq_pagefilter_t pf = {page_may, &arg, sl->sel, arg.by ? got_page : NULL};
	sl->may_for = arg.by;
	if (ow_pq_read_column_pf(sl->p->pq, sl->rg, fc, sl->sel, by ? &pf : NULL, o, &sl->codes[c],
				 &sl->bytes, err, sizeof(err)) != OW_OK) {
		snprintf(sl->err, sizeof(sl->err), "part %s: %s", sl->p->path, err);
		return OW_ERROR;
	}
	if (o->nrows != sl->nrows) {
		snprintf(sl->err, sizeof(sl->err),
			 "part %s: column %s has %zu rows, its row group %zu", sl->p->path,
			 q->defs[c].name, o->nrows, sl->nrows);
		return OW_ERROR;
	}
	sl->col[c] = o;
	if (sl->codes[c].has_codes)
		sl->code[c] = (const uint32_t *)sl->codes[c].codes.data;
	ow_search_v1_column(sl->p, q->signal, c, sl->code[c] ? &sl->codes[c].dict : o);
	return OW_OK;
}

/* =, <, <=, >, >= of an integer column (its values, not codes) with an
 * integer literal, as the range [*lo, *hi] of its raw values (narrowed:
 * the caller starts it whole); 0 when f is not such a filter. */
static int range_of(const ow_columnar_t *q, const slot_t *sl, const filt_t *f, const ow_col_t *o,
		    int64_t *lo, int64_t *hi)
{
	if (f->col >= q->ncols || !o || sl->code[f->col])
		return 0;
	return ow_scan_int_range(f, &q->defs[f->col], lo, hi);
}

/* Filter i and the range filters after it on its column (their bits set
 * in *done) as one range over the raw values: 1 when it applied. */
static int range_filter(const ow_columnar_t *q, slot_t *sl, int i, const ow_col_t *o,
			uint64_t *done, size_t *selected)
{
	int64_t lo = INT64_MIN, hi = INT64_MAX;
	const filt_t *f = &q->f[i];
	if (!range_of(q, sl, f, o, &lo, &hi))
		return 0;
	for (int j = i + 1; j < q->nf && j < 64; j++)
		if (q->f[j].col == f->col && range_of(q, sl, &q->f[j], o, &lo, &hi))
			*done |= (uint64_t)1 << j;
	size_t n = 0;
	const uint8_t *v = o->fixed.data, *defs = o->defs.data;
	uint8_t *sel = sl->sel;
	int wide = q->defs[f->col].type == OW_PQ_INT64;
	for (size_t row = 0, vp = 0; row < sl->nrows;) {
		for (size_t end = next_rows(sel, defs, &row, sl->nrows, &vp); row < end; row++) {
			uint8_t dv = defs[row];
			int64_t y = !dv	   ? 0
				    : wide ? (int64_t)ow_get_u64(v + 8 * vp)
					   : (int32_t)ow_get_u32(v + 4 * vp);
			sel[row] &= (uint8_t)(dv & (y >= lo) & (y <= hi));
			n += sel[row];
			vp += dv;
		}
	}
	*selected = n;
	return 1;
}

/* Which values of a column of values (not codes) may pass a may_filter
 * (NULL: not one): marked page by page as the reader decodes them
 * (got_page) when the filter is the one that read the column, else now. */
static const uint8_t *values_may(const ow_columnar_t *q, slot_t *sl, const filt_t *f,
				 const ow_col_t *o)
{
	if (!o || sl->code[base(q, f->col)] || !may_filter(q, f))
		return NULL;
	if (sl->may_for == f && sl->may_done == o->nvals)
		return sl->may;
	sl->may = zeroed(sl->may, &sl->may_cap, o->nvals, 1);
	mark_may(f, o, 0, o->nvals, sl->may);
	return sl->may;
}

/* A filter on a column read as dictionary codes whose dictionary is
 * small beside the segment: each entry once, then the rows in a pass
 * without a call: 1 when it applied. */
static int code_filter(const ow_columnar_t *q, slot_t *sl, const filt_t *f, int c,
		       const ow_col_t *o, size_t *selected)
{
	const uint32_t *code = sl->code[c];
	const ow_col_t *dict = &sl->codes[c].dict;
	size_t nd = dict->nvals;
	if (!code || !o || f->col != c || (nd > 256 && nd > sl->nrows / 4))
		return 0;
	sl->memo = zeroed(sl->memo, &sl->memo_cap, nd, 1);
	char hex[OW_SEARCH_HEX_MAX];
	ow_search_val_t v;
	for (size_t e = 0; e < nd; e++) {
		ow_search_cell(&q->defs[c], dict, e, hex, &v);
		sl->memo[e] = (uint8_t)filter_holds(f, &v);
	}
	v = (ow_search_val_t){.type = SQLITE_NULL};
	const uint8_t null_holds = (uint8_t)filter_holds(f, &v), *defs = o->defs.data,
		      *memo = sl->memo;
	uint8_t *sel = sl->sel;
	size_t n = 0;
	for (size_t row = 0, vp = 0; row < sl->nrows;) {
		for (size_t end = next_rows(sel, defs, &row, sl->nrows, &vp); row < end; row++) {
			uint8_t d = defs[row];
			sel[row] &= d ? memo[code[vp]] : null_holds;
			n += sel[row];
			vp += d;
		}
	}
	*selected = n;
	return 1;
}

/* Filter i on the rows still selected (its column read): the number
 * selected after it in *selected; filters it applied with it (on its
 * column, after it) set in *done. */
static int run_filter(const ow_columnar_t *q, slot_t *sl, int i, uint64_t *done, size_t *selected)
{
	const filt_t *f = &q->f[i];
	int c = base(q, f->col);
	const ow_col_t *o = sl->col[c];
	if (f->ids) { /* on the ids' bytes: no hex */
		*selected = ow_scan_select(f, &q->defs[c], o, sl->sel, sl->nrows);
		return OW_OK;
	}
	if (range_filter(q, sl, i, o, done, selected) || code_filter(q, sl, f, c, o, selected))
		return OW_OK;
	/* on codes: the filter once per dictionary entry, when a row needs it */
	char hex[OW_SEARCH_HEX_MAX];
	ow_search_val_t v = {.type = SQLITE_NULL};
	const uint32_t *code = sl->code[c];
	if (code)
		sl->memo = zeroed(sl->memo, &sl->memo_cap, sl->codes[c].dict.nvals, 1);
	const uint8_t *may = values_may(q, sl, f, o);
	size_t n = 0;
	for (size_t row = 0, vp = 0; row < sl->nrows; row++) {
		int defined = o && o->defs.data[row];
		if (sl->sel[row]) {
			uint8_t m = defined && code ? sl->memo[code[vp]] : 0;
			if (may && defined && !may[vp])
				m = f->op == F_NOT_LIKE ? 2 : 1; /* no such text in it */
			if (!m) {
				v.type = SQLITE_NULL;
				if (defined)
					value(q, sl, c, vp, hex, &v);
				if (f->col >= q->ncols && derive(q, sl->xbuf, f->col, &v) != OW_OK)
					return OW_DECLINED;
				m = (uint8_t)(1 + filter_holds(f, &v));
				if (defined && code)
					sl->memo[code[vp]] = m;
			}
			sl->sel[row] = (uint8_t)(m - 1);
			n += sl->sel[row];
		}
		vp += (size_t)defined;
	}
	*selected = n;
	return OW_OK;
}

/* Filter by filter, each column read for the rows still selected; then
 * the other columns used, when a row is left. The rows of pages that pass
 * a column's filters whole are set aside while the filters run on the
 * others, and come back after the last of them (or once no other row is
 * left: the filters after it would read their unread values). Touches
 * nothing but the slot (and reads the query and the part): threads
 * prepare slots side by side. */
static int prepare(const ow_columnar_t *q, uint64_t used, slot_t *sl)
{
	sl->nrows = sl->chunk ? sl->chunk->nrows : (size_t)ow_pq_row_group_rows(sl->p->pq, sl->rg);
	sl->bytes = 0;
	sl->npass = 0;
	sl->sel = ow_realloc(sl->sel, sl->nrows + 1);
	memset(sl->sel, 1, sl->nrows);
	uint64_t loaded = 0;
	size_t selected = sl->nrows;
	uint64_t done = 0; /* filters applied with one before them */
	for (int i = 0; i < q->nf && selected; i++) {
		int c = base(q, q->f[i].col);
		if (i < 64 && (done >> i & 1))
			continue;
		if (!(loaded & (uint64_t)1 << c)) {
			if (load_col(q, sl, c, &q->f[i], pass_pages(q, used, c)) != OW_OK)
				return OW_ERROR;
			loaded |= (uint64_t)1 << c;
			hold_passed(sl);
		}
		int rc = run_filter(q, sl, i, &done, &selected);
		if (rc != OW_OK)
			return rc;
		if (!sl->npass)
			continue;
		int last = 1;
		for (int j = i + 1; j < q->nf; j++)
			if (q->f[j].col == c && !(done >> j & 1))
				last = 0;
		if (last || !selected) {
			for (int j = i + 1; j < q->nf; j++)
				if (q->f[j].col == c)
					done |= (uint64_t)1 << j;
			selected += release_passed(sl);
		}
	}
	sl->selected = selected;
	for (int c = 0; c < q->ncols && selected; c++) {
		if (!(used & (uint64_t)1 << c))
			continue;
		if (!(loaded & (uint64_t)1 << c) && load_col(q, sl, c, NULL, 0) != OW_OK)
			return OW_ERROR;
		loaded |= (uint64_t)1 << c;
	}
	for (int c = 0; c < q->ncols; c++)
		if (!(loaded & (uint64_t)1 << c))
			sl->col[c] = NULL, sl->code[c] = NULL;
	return OW_OK;
}

/* ---- the scan: segments prepared side by side, consumed in order ---- */

/* Slots: segments prepared and not yet consumed, at most (memory holds
 * the used columns of that many row groups). */
#define SLOTS 3

typedef struct {
	ow_search_part_t *p;
	const ow_table_t *chunk;
	int rg;
} seg_t;

typedef struct {
	run_t *r;
	seg_t *segs;
	size_t nsegs;
	slot_t slots[SLOTS];
	uint8_t *ready; /* per segment: prepared */
	size_t claimed, consumed;
	int stop;
	pthread_mutex_t mu;
	pthread_cond_t cv;
} scan_t;

/* The column buffers of a finished scan's slots, kept for the next scan
 * of the signal: else each query decodes into fresh memory, which the
 * kernel faults in and zeroes page by page (a third of a short query's
 * time, half of a trace lookup's, whose SELECT * holds ~60 MB of pages
 * over 500k spans). One set a signal, and only a set of at most KEEP_MAX
 * bytes, so what an idle server keeps stays bounded (3 x 64 MiB). */
#define KEEP_MAX ((size_t)64 << 20)
typedef struct {
	ow_col_t *bufs;
	ow_pq_codes_t *codes;
	uint8_t *sel, *memo, *may;
	size_t memo_cap, may_cap;
} kept_t;
static pthread_mutex_t kept_mu = PTHREAD_MUTEX_INITIALIZER;
static kept_t kept[OW_NSIGNALS][SLOTS];
static int kept_has[OW_NSIGNALS];

/* Slots, with the buffers kept from the last scan of the signal when
 * there are. */
static void slots_init(const ow_columnar_t *q, slot_t *slots)
{
	pthread_mutex_lock(&kept_mu);
	int has = kept_has[q->signal];
	kept_t k[SLOTS];
	memcpy(k, kept[q->signal], sizeof(k));
	kept_has[q->signal] = 0;
	pthread_mutex_unlock(&kept_mu);
	for (int i = 0; i < SLOTS; i++) {
		slot_t *sl = &slots[i];
		memset(sl, 0, sizeof(*sl));
		sl->col = ow_calloc((size_t)q->ncols, sizeof(ow_col_t *));
		sl->code = ow_calloc((size_t)q->ncols, sizeof(uint32_t *));
		sl->xbuf = ow_calloc((size_t)q->nx + 1, sizeof(ow_buf_t));
		if (has) {
			sl->bufs = k[i].bufs, sl->codes = k[i].codes, sl->sel = k[i].sel;
			sl->memo = k[i].memo, sl->memo_cap = k[i].memo_cap;
			sl->may = k[i].may, sl->may_cap = k[i].may_cap;
		} else {
			sl->bufs = ow_calloc((size_t)q->ncols, sizeof(ow_col_t));
			sl->codes = ow_calloc((size_t)q->ncols, sizeof(ow_pq_codes_t));
		}
	}
}

static void slot_free(const ow_columnar_t *q, slot_t *sl)
{
	for (int c = 0; c < q->ncols; c++) {
		ow_col_free(&sl->bufs[c]);
		ow_pq_codes_free(&sl->codes[c]);
	}
	free(sl->bufs);
	free(sl->codes);
	free(sl->memo);
	free(sl->may);
	free(sl->sel);
}

/* The slots' buffers kept for the next scan, or freed. */
static void slots_free(const ow_columnar_t *q, slot_t *slots)
{
	size_t bytes = 0;
	for (int i = 0; i < SLOTS; i++) {
		slot_t *sl = &slots[i];
		for (int k = 0; k < q->nx; k++)
			ow_buf_free(&sl->xbuf[k]);
		free(sl->xbuf);
		free(sl->pass);
		ow_buf_free(&sl->held);
		free((void *)sl->code);
		free((void *)sl->col);
		bytes += sl->memo_cap + sl->may_cap + sl->nrows;
		for (int c = 0; c < q->ncols; c++)
			bytes += ow_col_bytes_held(&sl->bufs[c]) +
				 ow_col_bytes_held(&sl->codes[c].dict) + sl->codes[c].codes.cap;
	}
	int keep = 0;
	if (bytes <= KEEP_MAX) {
		pthread_mutex_lock(&kept_mu);
		if (!kept_has[q->signal]) {
			for (int i = 0; i < SLOTS; i++)
				kept[q->signal][i] =
				    (kept_t){slots[i].bufs,   slots[i].codes, slots[i].sel,
					     slots[i].memo,   slots[i].may,   slots[i].memo_cap,
					     slots[i].may_cap};
			kept_has[q->signal] = keep = 1;
		}
		pthread_mutex_unlock(&kept_mu);
	}
	for (int i = 0; i < SLOTS && !keep; i++)
		slot_free(q, &slots[i]);
}

/* The next segment to prepare, SIZE_MAX when none may be (mu held). */
static size_t claim(scan_t *sc)
{
	if (sc->stop || sc->claimed == sc->nsegs || sc->claimed >= sc->consumed + SLOTS)
		return SIZE_MAX;
	return sc->claimed++;
}

/* Prepares segment i (mu held, released meanwhile). */
static void prepare_seg(scan_t *sc, size_t i)
{
	pthread_mutex_unlock(&sc->mu);
	slot_t *sl = &sc->slots[i % SLOTS];
	sl->p = sc->segs[i].p;
	sl->chunk = sc->segs[i].chunk;
	sl->rg = sc->segs[i].rg;
	sl->err[0] = '\0';
	sl->rc = prepare(sc->r->q, sc->r->used, sl);
	pthread_mutex_lock(&sc->mu);
	sc->ready[i] = 1;
	pthread_cond_broadcast(&sc->cv);
}

static void *helper(void *arg)
{
	scan_t *sc = arg;
	ow_search_budget_enter(&sc->r->s->budget); /* its buffers are the query's */
	pthread_mutex_lock(&sc->mu);
	while (!sc->stop && sc->claimed < sc->nsegs) {
		size_t i = claim(sc);
		if (i == SIZE_MAX)
			pthread_cond_wait(&sc->cv, &sc->mu);
		else
			prepare_seg(sc, i);
	}
	pthread_mutex_unlock(&sc->mu);
	return NULL;
}

/* The segments the query reads: parts whose catalog time range may hold
 * a match, their row groups whose statistics and bloom filters may, then
 * the buffered chunks. */
static int plan(run_t *r, seg_t **out, size_t *n)
{
	ow_search_t *s = r->s;
	int g = r->q->signal;
	ow_scan_t sc = {g, r->q->defs, r->q->f, r->q->nf};
	size_t cap = s->nchunks[g] + 16;
	seg_t *segs = ow_alloc(cap * sizeof(seg_t));
	*n = 0;
	*out = segs;
	if (ow_scan_none(&sc))
		return OW_OK; /* a filter no value passes: nothing to read */
	for (size_t i = 0; i < s->nparts[g]; i++) {
		ow_search_part_t *p = &s->parts[g][i];
		if (!ow_scan_part_may(&sc, p))
			continue;
		char err[512];
		if (!p->pq && ow_search_open_part(s, p, g, err, sizeof(err)) != OW_OK) {
			snprintf(r->err, r->errlen, "part %s: %s", p->path, err);
			free(segs);
			return OW_ERROR;
		}
		s->stats.parts++;
		for (int rg = 0; rg < ow_pq_num_row_groups(p->pq); rg++) {
			if (!ow_scan_rg_may(&sc, p, rg))
				continue;
			if (*n == cap)
				segs = ow_realloc(segs, (cap *= 2) * sizeof(seg_t));
			segs[(*n)++] = (seg_t){p, NULL, rg};
		}
	}
	for (size_t k = 0; k < s->nchunks[g]; k++) {
		if (*n == cap)
			segs = ow_realloc(segs, (cap *= 2) * sizeof(seg_t));
		segs[(*n)++] = (seg_t){NULL, &s->chunks[g][k]->table, 0};
	}
	*out = segs;
	return OW_OK;
}

/* Every segment through consume(), in order (the order SQLite reads them
 * in, which sums of reals and rows without ORDER BY depend on), prepared
 * by this thread and helper threads side by side: one a core beside this
 * one, at most SLOTS - 1. They are threads of the query's own rather than
 * jobs for the worker pool, whose workers run the queries themselves. */
static int scan(run_t *r)
{
	ow_search_t *s = r->s;
	scan_t sc = {.r = r};
	if (plan(r, &sc.segs, &sc.nsegs) != OW_OK)
		return OW_ERROR;
	sc.ready = ow_calloc(sc.nsegs + 1, 1);
	slots_init(r->q, sc.slots);
	pthread_mutex_init(&sc.mu, NULL);
	pthread_cond_init(&sc.cv, NULL);
	pthread_t th[SLOTS - 1];
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	int nth = 0;
	while (nth < SLOTS - 1 && nth + 1 < cores && (size_t)nth + 1 < sc.nsegs &&
	       pthread_create(&th[nth], NULL, helper, &sc) == 0)
		nth++;
	int rc = OW_OK;
	for (size_t i = 0; i < sc.nsegs && rc == OW_OK && !r->stop; i++) {
		if (ow_search_expired(s)) {
			rc = OW_ERROR;
			break;
		}
		pthread_mutex_lock(&sc.mu);
		while (!sc.ready[i]) {
			size_t k = claim(&sc);
			if (k == SIZE_MAX)
				pthread_cond_wait(&sc.cv, &sc.mu);
			else
				prepare_seg(&sc, k);
		}
		pthread_mutex_unlock(&sc.mu);
		slot_t *sl = &sc.slots[i % SLOTS];
		s->stats.row_groups++;
		s->stats.rows += (int64_t)sl->nrows;
		s->stats.bytes += sl->bytes;
		if (sl->rc == OW_ERROR)
			snprintf(r->err, r->errlen, "%s", sl->err);
		rc = sl->rc;
		if (rc == OW_OK && sl->selected) {
			r->sl = sl;
			rc = consume(r);
		}
		pthread_mutex_lock(&sc.mu);
		sc.consumed = i + 1;
		pthread_cond_broadcast(&sc.cv);
		pthread_mutex_unlock(&sc.mu);
	}
	pthread_mutex_lock(&sc.mu);
	sc.stop = 1;
	pthread_cond_broadcast(&sc.cv);
	pthread_mutex_unlock(&sc.mu);
	for (int k = 0; k < nth; k++)
		pthread_join(th[k], NULL);
	pthread_mutex_destroy(&sc.mu);
	pthread_cond_destroy(&sc.cv);
	slots_free(r->q, sc.slots);
	free(sc.ready);
	free(sc.segs);
	r->sl = NULL;
	return rc;
}

/* Sorting: by the ORDER BY terms, ties in the order the rows came. */
typedef struct {
	const ow_columnar_t *q;
	const ow_search_val_t *vals; /* nitems per row */
	int by_keys;		     /* groups: by their keys, as SQLite groups */
	const group_t *groups;
} sort_ctx_t;

static int row_cmp(const void *a, const void *b, void *arg)
{
	const sort_ctx_t *c = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	if (c->by_keys) {
		for (int g = 0; g < c->q->ngroup; g++) {
			int r = val_cmp(&c->groups[x].keys[g], &c->groups[y].keys[g]);
			if (r)
				return r;
		}
		return 0;
	}
	size_t n = (size_t)c->q->nitems;
	int r = order_cmp(c->q, &c->vals[x * n], &c->vals[y * n]);
	return r ? r : (x > y) - (x < y);
}

/* ORDER BY with a LIMIT: the rows that can still be in the result, sorted
 * (ties in the order they came, which the rows after them keep). */
static void top_k(run_t *r)
{
	size_t n = (size_t)r->q->nitems, keep = (size_t)r->keep;
	size_t *idx = ow_alloc(r->nrows_out * sizeof(size_t));
	for (size_t i = 0; i < r->nrows_out; i++)
		idx[i] = i;
	sort_ctx_t c = {r->q, r->rows, 0, NULL};
	qsort_r(idx, r->nrows_out, sizeof(size_t), row_cmp, &c);
	ow_search_val_t *rows = ow_alloc((r->rows_cap + 1) * n * sizeof(ow_search_val_t));
	for (size_t k = 0; k < r->nrows_out; k++) {
		ow_search_val_t *from = &r->rows[idx[k] * n];
		if (k < keep) {
			memcpy(&rows[k * n], from, n * sizeof(ow_search_val_t));
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			r->mem -= (int64_t)(sizeof(ow_search_val_t) + from[i].n);
			val_free(&from[i]);
		}
	}
	free(r->rows);
	free(idx);
	r->rows = rows;
	r->nrows_out = OW_MIN(keep, r->nrows_out);
	if (r->nrows_out == keep && keep > 0)
		r->worst = (int64_t)keep - 1;
}

/* The groups' result rows, in SQLite's order, into r->rows. */
static int finish_groups(run_t *r)
{
	ow_columnar_t *q = r->q;
	size_t n = (size_t)q->nitems;
	if (q->ngroup == 0 && r->ngroups == 0)
		find_group(r, NULL); /* an aggregate of no rows is one row */
	size_t *idx = ow_alloc((r->ngroups + 1) * sizeof(size_t));
	for (size_t i = 0; i < r->ngroups; i++)
		idx[i] = i;
	sort_ctx_t c = {q, NULL, 1, r->groups};
	qsort_r(idx, r->ngroups, sizeof(size_t), row_cmp, &c);
	r->rows = ow_calloc(r->ngroups * n + 1, sizeof(ow_search_val_t));
	int rc = OW_OK;
	for (size_t k = 0; k < r->ngroups && rc == OW_OK; k++) {
		group_t *gr = &r->groups[idx[k]];
		for (size_t i = 0; i < n && rc == OW_OK; i++) {
			const item_t *it = &q->items[i];
			ow_search_val_t v;
			if (it->agg == A_NONE) {
				int g = 0;
				while (q->group[g] != it->col)
					g++;
				v = gr->keys[g];
			} else {
				rc = acc_result(it, &gr->acc[i], &v);
			}
			val_own(&r->rows[k * n + i], &v);
		}
		r->nrows_out = k + 1;
	}
	free(idx);
	return rc;
}

static void free_run(run_t *r)
{
	ow_columnar_t *q = r->q;
	for (size_t k = 0; k < r->ngroups; k++) {
		for (int g = 0; g < q->ngroup; g++)
			val_free(&r->groups[k].keys[g]);
		for (int i = 0; i < q->nitems; i++) {
			val_free(&r->groups[k].acc[i].m);
			free(r->groups[k].acc[i].qv);
			free(r->groups[k].acc[i].ds);
			ow_buf_free(&r->groups[k].acc[i].dk);
		}
		free(r->groups[k].keys);
		free(r->groups[k].acc);
	}
	free(r->groups);
	free(r->slots);
	ow_buf_free(&r->key);
	for (size_t k = 0; k < r->nrows_out * (size_t)q->nitems; k++)
		val_free(&r->rows[k]);
	free(r->rows);
	free(r->gmap);
	free(r->gi);
	free(r->list);
	for (int k = 0; k < q->nx; k++)
		ow_buf_free(&r->xbuf[k]);
	free(r->xbuf);
}

int ow_columnar_run(ow_search_t *s, ow_columnar_t *q, int64_t limit, int64_t offset, int format,
		    ow_buf_t *out, char *err, size_t errlen)
{
	if (q->ncols > 64)
		return OW_DECLINED;
	size_t mark = out->len;
	run_t r = {.s = s, .q = q, .err = err, .errlen = errlen};
	r.mem_max = s->max_memory;
	r.xbuf = ow_calloc((size_t)q->nx + 1, sizeof(ow_buf_t));
	for (int i = 0; i < q->nitems; i++)
		if (q->items[i].col >= 0)
			r.used |= (uint64_t)1 << base(q, q->items[i].col);
	for (int g = 0; g < q->ngroup; g++)
		r.used |= (uint64_t)1 << base(q, q->group[g]);
	if (q->aggregate || q->ngroup)
		r.nslots = 0, rehash(&r);
	/* the query's LIMIT and OFFSET, then the caller's */
	r.skip = q->offset + offset;
	r.take = limit;
	if (q->limit >= 0)
		r.take = limit < 0 ? OW_MAX(q->limit - offset, 0)
				   : OW_MIN(limit, OW_MAX(q->limit - offset, 0));
	r.keep = r.take >= 0 && !q->aggregate ? r.skip + r.take : -1;
	r.worst = -1;
	const char *names[MAX_ITEMS];
	for (int i = 0; i < q->nout; i++)
		names[i] = q->items[i].name;
	ow_search_out_t o;
	ow_search_out_begin(&o, format, q->nout, names, out);
	r.o = &o;
	r.stop = r.take == 0 && !q->aggregate;
	int rc = scan(&r);
	if (rc == OW_OK && q->aggregate)
		rc = finish_groups(&r);
	if (rc == OW_OK && (q->aggregate || q->norder)) {
		size_t n = (size_t)q->nitems;
		size_t *idx = ow_alloc((r.nrows_out + 1) * sizeof(size_t));
		for (size_t i = 0; i < r.nrows_out; i++)
			idx[i] = i;
		sort_ctx_t c = {q, r.rows, 0, NULL};
		if (q->norder)
			qsort_r(idx, r.nrows_out, sizeof(size_t), row_cmp, &c);
		for (size_t k = 0; k < r.nrows_out && rc == OW_OK && !r.stop; k++)
			rc = emit(&r, &r.rows[idx[k] * n]);
		free(idx);
	}
	ow_search_out_end(&o);
	if (rc == OW_ERROR && atomic_load(&s->budget.stop))
		ow_search_timeout_message(s, err, errlen);
	free_run(&r);
	if (rc != OW_OK)
		out->len = mark;
	return rc;
}

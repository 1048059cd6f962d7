/*
 * columnar.c - the columnar executor: the queries users run all day,
 * answered from the column chunks without SQLite's row-by-row virtual
 * table, with the same result SQLite gives (search.c falls back to SQLite
 * for anything else).
 *
 * The subset is recognised by a parser of its own, on the SQL text; a
 * query it does not take whole is SQLite's, unchanged:
 *
 *   SELECT [DISTINCT | ALL] item, ... FROM spans | logs | metrics
 *     [WHERE expr] [GROUP BY expr, ...] [HAVING expr]
 *     [ORDER BY expr [ASC | DESC], ...]
 *     [LIMIT n [OFFSET m] | LIMIT m, n] [;]
 *
 *   item  *  |  expr [[AS] alias]
 *   expr  literals (integers, reals, strings, NULL, TRUE, FALSE), columns,
 *         + - * / % || unary -, = == != <> < <= > >= IS [NOT],
 *         [NOT] BETWEEN, [NOT] IN (expr, ...), [NOT] IN (SELECT expr
 *         FROM table ...) and (SELECT expr FROM table ...) (queries of
 *         this subset themselves, uncorrelated), [NOT] LIKE,
 *         [NOT] GLOB, ISNULL, NOTNULL, NOT NULL, AND, OR, NOT, CASE (both
 *         forms), CAST (AS INTEGER, INT, BIGINT, REAL, DOUBLE, FLOAT,
 *         TEXT, NUMERIC), column ->> 'path', column -> 'path' (its JSON
 *         text) and json_extract(column,
 *         'path') (a text or JSON column and a key or a '$' path,
 *         'http.route', '$.a."b.c"[0]', which expr.c reads), now_ns(),
 *         the functions of eval.c, and the
 *         aggregates count(*), count([DISTINCT] x), sum, avg, min, max,
 *         p50, p90, p99 of one argument, each with an optional FILTER
 *         (WHERE cond) (in items, HAVING and ORDER BY)
 *   GROUP BY: an expression, an item's position, or an alias (a name
 *         that is no column); ORDER BY: an item's position or alias, or
 *         an expression (of the groups and aggregates, when grouped)
 *
 * Keywords, function and column names in any case; identifiers bare or in
 * double quotes. Expressions are eval.c's, with SQLite's values and
 * conversions; their constant parts are folded when parsed (now_ns()'s
 * when the query runs). Not taken: comments, parameters, blobs, other
 * operators (bit operators, COLLATE, ESCAPE), subqueries elsewhere,
 * joins, window functions, an alias that is also a column's name, a
 * column of an aggregate query outside its GROUP BY and aggregates,
 * DISTINCT with aggregates, and plain rows (DISTINCT too) that SQLite
 * may give in another order than a scan's (anyorder): where an IN on the
 * time column holds more than one value (SQLite loops over them, a scan
 * each, which orders the rows by them) or an OR SQLite may answer as a
 * union of scans (or_union). An aggregate query takes those, and its run
 * stops (OW_DECLINED) where the order could show in a value (acc_result:
 * reals summed, integer sums past 2^53, real min, max and quantiles, a
 * real group key 0).
 *
 * The plan: WHERE's conditions at its top-level ANDs are filters where
 * they are a term (a column, time_bucket_ns(column, width) or ->>) against
 * constants - op, IN, BETWEEN, IS [NOT] NULL, LIKE (lower(x) and
 * upper(x) LIKE p as x LIKE p: LIKE folds the letters they change) - and
 * comparing needs no conversion of the term's values (its literals are
 * converted once, as SQLite's affinity converts them); the others are
 * residual conditions, evaluated row by row after the filters. Plain
 * rows: each item is a term (an expression other than those is a tree
 * over the row). Aggregate queries: the group terms, the accumulators
 * (each aggregate's argument a term), and the result columns and HAVING
 * evaluated over each group's keys and accumulators.
 *
 * Execution, over the handle's snapshot (parts, then buffered chunks, as
 * the virtual tables read them): x IN (SELECT ...) runs its subquery
 * first, into a sorted set (an IN filter of its values when x is a term
 * whose values it compares as they are), and a scalar subquery into its
 * first row's value. The filters are the scan layer's predicates (scan.c,
 * shared with the virtual tables), which skip parts by their catalog time
 * range, then row groups by their statistics (LIKE: its literal prefix)
 * and bloom filters (ids); a filter no value passes reads nothing. With
 * no WHERE and no GROUP BY, count(*) and min and max of integer columns
 * take a row group's share from its footer (row count, chunk statistics)
 * and a buffered chunk's count from its row count: nothing is read for
 * them (from_footer). Each
 * segment left (a row group, or a buffered chunk) is prepared: filter by
 * filter, the filtered column is read and evaluated into a selection, and
 * each later column - filtered or only used - is read only in the pages
 * that still hold a selected row (ow_pq_read_column_pf; the writer cuts
 * pages at 32768 rows), and a filtered column not in the pages whose
 * statistics rule its filters out (ow_scan_page_may), nor, when nothing
 * else needs its values, in the pages whose statistics pass every row (a
 * sorted metric_name or service_name, a time range over whole pages):
 * their rows stay selected without a value read. Then the residual
 * conditions, on the rows still selected. Dictionary-encoded columns are read as codes: a
 * filter is evaluated once per dictionary entry, a single group term is
 * grouped by entry, values are read from the dictionary, and an
 * expression of that column alone (a residual condition, an aggregate's
 * argument) is evaluated once per entry. Integer
 * comparisons run on the raw values. Segments are prepared on helper
 * threads (one a core beside the query's, at most SLOTS - 1, SLOTS
 * segments in flight) and consumed by the query's thread in order, so
 * every aggregate takes its values in SQLite's order. Grouped, the group
 * of each selected row is found first (by entry, or by hashing the group
 * terms' values), then each aggregate over the rows, a column at a time.
 * A group holds its keys in 16 bytes each (text in an arena) and, for
 * each aggregate, only what its kind needs (a count 8 bytes, min and max
 * 16, sum and avg 40, a pointer to the sets of count(DISTINCT) and the
 * quantiles), in one array; the hash table keeps the hashes. All of it is
 * charged to the query's memory budget as allocated. An expression of
 * integer columns (arithmetic, comparisons, AND, OR, NOT, CASE, iif, abs,
 * scalar min and max; IS NULL of any column) as a group term, an
 * aggregate's argument or a residual condition is evaluated 1024 rows at
 * a time, a node at a time (vec_eval), leaving to
 * eval.c the rows where SQLite's rules go beyond integers (an overflow, a
 * division by 0 or -1, text). count(DISTINCT) of a column read as codes
 * takes an entry once a group while no other group takes it; with no
 * GROUP BY and every row selected, once a segment, with no row listed.
 * One group term of at most 4 columns read as codes (4096 combinations
 * of their entries and NULL at most) is evaluated once a combination:
 * a row's group is its combination's.
 *
 * Values are read as the virtual tables give them to SQLite
 * (ow_search_cell), and aggregated as SQLite 3.40 does: sum keeps an
 * integer while every value is one and a double beside it (avg is that
 * double over the count); an integer overflow is SQLite's to report
 * (OW_DECLINED). Without ORDER BY, groups come in the order of their
 * keys, as SQLite's sorter gives them, plain rows in scan order, and
 * DISTINCT rows as first seen; ORDER BY sorts stably after that (but
 * for groups under a single DESC term, whose ties SQLite's sorter gives
 * the other way round). Where
 * expr.c or eval.c cannot give SQLite's value (text read as a number
 * that is not plain; a real under ->> is read by SQLite, ow_eval_real), where
 * SQLite would report an error (time_bucket_ns's, abs's overflow), or
 * where integers and reals that SQLite holds equal meet in a group term,
 * a DISTINCT column or count(DISTINCT), the run stops with OW_DECLINED
 * and SQLite answers the query.
 * Plain rows under ORDER BY with a LIMIT are kept only while they can be
 * in the result (top-k: once as many as the limit and offset are held, a
 * row that sorts after the last of them is dropped unread). When the
 * first ORDER BY term is an integer column, the segments are read in the
 * order of its statistics, buffered chunks first (by_bound), and the scan
 * stops at the first row group whose best value sorts after the last row
 * kept; ties keep their place in scan order (r->seq), as if read in it.
 * A row group whose pages of that column hold disjoint stretches of it
 * is read as its pages, each a segment bounded by its page's statistics
 * (a part sorted by service over a long time range), but for the pages
 * whose rows the filters' page statistics rule out (rows_may: the other
 * services' pages of a search by service), the dictionary of an id
 * column (trace_id) decoded once for them all (dicts_t); log records and
 * spans are written in row groups cut by time (ow_columns_sort), so that the newest
 * row groups of a merged part hold the newest records: a common word's
 * newest 100 reads a row group or two, not the newest part's every body.
 * A part written before plain JSON has its JSON columns converted as they
 * are read (ow_search_v1_column), dictionaries entry by entry. Where a
 * query reads attributes only through ->>, -> and json_extract at paths
 * that start at keys the part shreds (modules/columns/shred.c; at most
 * OW_SHRED_MAX keys), the column is read as ow_shred_read_keys gives it:
 * each row the members of those keys from their typed columns, or its
 * rest where it has none of them; elsewhere the objects are joined whole.
 */
#include "internal.h"
#include "eval.h"
#include "../columns/columns.h"

#include <errno.h>
#include <pthread.h>
#include <strings.h>
#include <unistd.h>

#define MAX_ITEMS 200
#define MAX_SUBS 16

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
	F_NOT_LIKE = OW_SCAN_NOT_LIKE,
	F_MATCH = OW_SCAN_MATCH
};
enum { C_INT, C_REAL, C_TEXT, C_ANY };
enum { X_BUCKET = 1, X_JSON, X_TREE, X_JSON_TEXT };

/* A term: time_bucket_ns(col, width), col ->> 'path' (col -> 'path': its
 * JSON text), or any other
 * expression over the row (a tree whose E_REF leaves are columns and
 * terms of the first two kinds). Items, filters and groups name one by an
 * id past the columns' (ncols + its index), a column by its index. */
typedef struct {
	int kind, col; /* X_TREE: the one column it reads, -1 for more or none */
	int64_t width;
	char *path;
	ow_search_path_t pp; /* its keys point into path */
	ow_node_t *tree;
	uint64_t cols; /* X_TREE: the columns it reads */
} expr_t;

typedef struct {
	int col; /* -1: count(*) */
	int agg;
	double q;
	int filter; /* agg(x) FILTER (WHERE cond): cond's term; -1 none */
} item_t;

/* A filter is the scan layer's predicate: col is a column, or an
 * expression's id (past the columns) over column base. */
typedef ow_scan_pred_t filt_t;

/* What a filter has here beside it (q->fx[i] for q->f[i]): its literals
 * as written, evaluated when the query runs and converted by aff first;
 * a long IN list's values sorted, an id IN list's ids in a hash set
 * (index + 1, 0 empty). */
typedef struct {
	int aff;
	ow_node_t **lit;
	size_t nlit;
	int sorted;
	uint32_t *idset;
	size_t idmask;
} fext_t;

typedef struct {
	int item, desc;
} order_t;

struct ow_columnar {
	int signal, ncols, aggregate, distinct;
	const ow_pq_coldef_t *defs;
	expr_t x[MAX_ITEMS];
	int nx;
	/* plain rows: the terms of a row (past nout: what ORDER BY needs but
	 * the output has not); aggregates: the accumulators */
	item_t items[MAX_ITEMS];
	int nitems, nout;
	char *names[MAX_ITEMS]; /* the output's columns */
	/* aggregates: the result's columns (past nout: ORDER BY's) over the
	 * group's keys (E_REF id g) and accumulators (MAX_ITEMS + i) */
	ow_node_t *outs[MAX_ITEMS];
	int nouts;
	ow_node_t *having;
	int nrow; /* the values a result row holds while it is sorted */
	filt_t *f;
	fext_t *fx;
	int nf;
	/* the other conditions of WHERE, over the row, after the filters */
	ow_node_t **resid;
	uint64_t *rcols;
	int nresid;
	int group[MAX_ITEMS];
	ow_node_t *gtree[MAX_ITEMS]; /* each group term as written */
	int ngroup;
	order_t order[MAX_ITEMS];
	int norder;
	int64_t limit, offset;		    /* limit -1: none */
	struct ow_columnar *subs[MAX_SUBS]; /* x IN (SELECT ...) */
	int nsubs;
	int nst; /* statement ids given to function calls (eval.h) */
	/* the rows may reach SQLite in another order than a scan's (an OR
	 * it may answer as a union of scans, an IN on the time column it
	 * loops over): an aggregate query whose values cannot tell */
	int anyorder;
	/* the keys (njkey of them, a path's first) through which alone the
	 * query reads column jcol (ow_shred_column's; njkey 0: it reads it
	 * otherwise too, or not at all): in a part where each is shredded, the
	 * column is read as ow_shred_read_keys gives it */
	int jcol, njkey;
	const char *jkey[OW_SHRED_MAX];
	size_t jklen[OW_SHRED_MAX];
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
	int aggs;   /* an aggregate may be written here */
	int in_agg; /* inside one's arguments */
	int alias;  /* a name that is no column may be an item's alias */
	int depth;  /* of nested expressions: bounded */
	ow_eval_t fold;
	/* the items as written */
	ow_node_t *itree[MAX_ITEMS];
	int aliased[MAX_ITEMS];
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
				if (isinf(t->d))
					return 0; /* SQLite's reading of it, not strtod's */
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
			static const char *const ops[] = {"->>", "->", "||", "<=", ">=", "!=", "<>",
							  "==",	 "(",  ")",  ",",  "*",	 "=",  "<",
							  ">",	 ";",  "-",  "+",  "/",	 "%",  "."};
			size_t k = 0;
			while (k < OW_NELEMS(ops) && strncmp(c, ops[k], strlen(ops[k])))
				k++;
			/* no comments, no qualified names */
			if (k == OW_NELEMS(ops) || (c[0] == '-' && c[1] == '-') ||
			    (c[0] == '/' && c[1] == '*') || c[0] == '.')
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

/* The column a column or expression id reads (X_TREE: -1 unless one). */
static int base(const struct ow_columnar *q, int id)
{
	return id < q->ncols ? id : q->x[id - q->ncols].col;
}

/* The kind of values of a column or expression (->> and trees give any). */
static int klass_of(const struct ow_columnar *q, int id)
{
	if (id < q->ncols)
		return klass(&q->defs[id]);
	return q->x[id - q->ncols].kind == X_BUCKET ? C_INT : C_ANY;
}

/* SQLite's affinity of a column or expression: the declared type's of a
 * column (vtab.c declares INTEGER, REAL and TEXT), none for a function's. */
static int aff_of(const struct ow_columnar *q, int id)
{
	if (id >= q->ncols)
		return q->x[id - q->ncols].kind == X_TREE ? q->x[id - q->ncols].tree->aff
							  : AFF_NONE;
	int k = klass(&q->defs[id]);
	return k == C_INT ? AFF_INTEGER : k == C_REAL ? AFF_REAL : AFF_TEXT;
}

/* The columns a column or expression reads. */
static uint64_t term_cols(const struct ow_columnar *q, int id)
{
	if (id < 0)
		return 0;
	if (id >= q->ncols && q->x[id - q->ncols].kind == X_TREE)
		return q->x[id - q->ncols].cols;
	return (uint64_t)1 << base(q, id);
}

static uint64_t tree_cols(const struct ow_columnar *q, const ow_node_t *n)
{
	if (!n)
		return 0;
	if (n->op == E_REF)
		return term_cols(q, n->id);
	uint64_t m = 0;
	for (int i = 0; i < n->n; i++)
		m |= tree_cols(q, n->kid[i]);
	return m;
}

/* A term's id (the same term written twice is one), -1 without room. */
static int add_term(struct ow_columnar *q, expr_t *x)
{
	for (int k = 0; k < q->nx; k++) {
		const expr_t *y = &q->x[k];
		if (y->kind == x->kind && y->col == x->col && y->width == x->width &&
		    (!x->path || strcmp(y->path, x->path) == 0) &&
		    (!x->tree || ow_node_same(y->tree, x->tree))) {
			free(x->path);
			ow_node_free(x->tree);
			return q->ncols + k;
		}
	}
	if (q->nx == MAX_ITEMS) {
		free(x->path);
		ow_node_free(x->tree);
		return -1;
	}
	q->x[q->nx] = *x;
	return q->ncols + q->nx++;
}

static ow_node_t *ref_node(const struct ow_columnar *q, int id)
{
	ow_node_t *n = ow_node_new(E_REF, 0);
	n->id = id;
	n->aff = aff_of(q, id);
	return n;
}

/* The term an expression is (the tree taken): -1 without room. */
static int term_of(struct ow_columnar *q, ow_node_t *t)
{
	if (t->op == E_REF) {
		int id = t->id;
		ow_node_free(t);
		return id;
	}
	expr_t x = {.kind = X_TREE, .tree = t, .cols = tree_cols(q, t)};
	x.col = x.cols && !(x.cols & (x.cols - 1)) ? __builtin_ctzll(x.cols) : -1;
	return add_term(q, &x);
}

/* column ->> 'path' (or json_extract) with a JSON column and a path of
 * member steps. */
static ow_node_t *json_term(struct ow_columnar *q, int c, const char *path, int kind)
{
	if (c < 0 || c >= q->ncols || q->defs[c].type != OW_PQ_BYTE_ARRAY)
		return NULL;
	expr_t x = {.kind = kind, .col = c, .path = ow_strdup(path)};
	if (!ow_search_json_path(x.path, &x.pp)) {
		free(x.path);
		return NULL;
	}
	x.pp.trusted = q->defs[c].logical == OW_PQ_L_JSON;
	int id = add_term(q, &x);
	return id < 0 ? NULL : ref_node(q, id);
}

/* The SQL text from token from to the last one taken. */
static char *span(parser_t *p, size_t from)
{
	const tok_t *last = &p->t[p->at - 1];
	return dup_n(p->t[from].s, (size_t)(last->s + last->n - p->t[from].s));
}

static ow_node_t *node2(int op, ow_node_t *a, ow_node_t *b)
{
	if (!a || !b) {
		ow_node_free(a);
		ow_node_free(b);
		return NULL;
	}
	ow_node_t *n = ow_node_new(op, 2);
	n->kid[0] = a;
	n->kid[1] = b;
	return n;
}

static ow_node_t *node1(int op, ow_node_t *a)
{
	if (!a)
		return NULL;
	ow_node_t *n = ow_node_new(op, 1);
	n->kid[0] = a;
	return n;
}

static ow_node_t *fail(ow_node_t *n)
{
	ow_node_free(n);
	return NULL;
}

static int has_op(const ow_node_t *n, int op)
{
	if (n->op == op)
		return 1;
	for (int i = 0; i < n->n; i++)
		if (n->kid[i] && has_op(n->kid[i], op))
			return 1;
	return 0;
}

static ow_node_t *copy(const ow_node_t *n)
{
	ow_node_t *c = ow_alloc(sizeof(*c));
	memcpy(c, n, sizeof(*c));
	c->kid = n->n ? ow_calloc((size_t)n->n, sizeof(ow_node_t *)) : NULL;
	if (n->v.type == SQLITE_TEXT || n->v.type == SQLITE_BLOB)
		c->v.p = (const uint8_t *)dup_n((const char *)n->v.p, n->v.n);
	c->name = n->name ? ow_strdup(n->name) : NULL;
	c->set = NULL;
	for (int i = 0; i < n->n; i++)
		c->kid[i] = copy(n->kid[i]);
	return c;
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

/* The item an alias names, -1 for none. */
static int alias_item(const parser_t *p, const char *name)
{
	for (int i = 0; i < p->q->nout; i++)
		if (p->aliased[i] && strcasecmp(p->q->names[i], name) == 0)
			return i;
	return -1;
}

static ow_node_t *expr(parser_t *p);
static ow_node_t *scalar_subquery(parser_t *p);

/* Expressions separated by commas up to ')', added to n (freed when
 * they are not). */
static ow_node_t *expr_list(parser_t *p, ow_node_t *n)
{
	if (op(p, ")"))
		return n;
	do {
		ow_node_t *k = expr(p);
		if (!k)
			return fail(n);
		ow_node_add(n, k);
	} while (op(p, ","));
	return op(p, ")") ? n : fail(n);
}

/* 1 when a literal argument asks for the time of the statement ('now'),
 * which a function's own connection would read otherwise. */
static int asks_now(const ow_node_t *n)
{
	for (int i = 0; i < n->n; i++)
		if (n->kid[i]->op == E_LIT && n->kid[i]->v.type == SQLITE_TEXT &&
		    n->kid[i]->v.n == 3 && strncasecmp((const char *)n->kid[i]->v.p, "now", 3) == 0)
			return 1;
	return 0;
}

/* name(arguments): an aggregate, a function done here, one of SQLite's
 * called, or a term (time_bucket_ns of an integer column and a positive
 * width, json_extract of a JSON column and a path). */
static ow_node_t *call(parser_t *p)
{
	struct ow_columnar *q = p->q;
	tok_t *t = peek(p);
	const char *name = t->text;
	double qv = 0;
	int agg = agg_of(t, &qv), star = 0, distinct = 0, outer = p->in_agg;
	p->at += 2;
	ow_node_t *n = ow_node_new(E_FN, 0);
	if (agg > A_NONE) {
		distinct = kw(p, "DISTINCT");
		star = agg == A_COUNT && !distinct && op(p, "*");
		p->in_agg = 1;
	}
	if (star && !op(p, ")"))
		return fail(n);
	if (!star && !(n = expr_list(p, n))) {
		p->in_agg = outer;
		return NULL;
	}
	p->in_agg = outer;
	if (is_kw(peek(p), "OVER") ||
	    (is_kw(peek(p), "FILTER") && !(agg > A_NONE && (star || n->n == 1))))
		return fail(n);
	if (agg > A_NONE && (star || n->n == 1)) {
		if (!p->aggs || outer || (distinct && agg != A_COUNT))
			return fail(n);
		n->op = E_AGG;
		n->fn = distinct ? A_COUNT_DISTINCT : agg;
		n->q = qv;
		if (kw(p, "FILTER")) {
			/* the rows it takes: the last kid (id 1) */
			int aggs = p->aggs;
			ow_node_t *w = NULL;
			p->aggs = 0;
			if (op(p, "(") && kw(p, "WHERE"))
				w = expr(p);
			p->aggs = aggs;
			if (!w || !op(p, ")")) {
				ow_node_free(w);
				return fail(n);
			}
			ow_node_add(n, w);
			n->id = 1;
		}
		return n;
	}
	if (distinct)
		return fail(n);
	if (strcasecmp(name, "now_ns") == 0 && n->n == 0) {
		n->op = E_NOW;
		return n;
	}
	if (strcasecmp(name, "json_extract") == 0 && n->n == 2) {
		ow_node_t *j = NULL;
		/* ours in SQLite's connections too (funcs.c): ->>'s value */
		if (ow_eval_fold(&p->fold, &n->kid[1]) == OW_OK && n->kid[0]->op == E_REF &&
		    n->kid[1]->op == E_LIT && n->kid[1]->v.type == SQLITE_TEXT)
			j = json_term(q, n->kid[0]->id, (const char *)n->kid[1]->v.p, X_JSON);
		ow_node_free(n);
		return j;
	}
	if ((n->fn = ow_eval_function(name, n->n)) == F_TIME_BUCKET) {
		ow_node_t *x = n->kid[0], *w = NULL;
		if (ow_eval_fold(&p->fold, &n->kid[1]) != OW_OK)
			return fail(n);
		w = n->kid[1];
		if (w->op == E_LIT && w->v.type == SQLITE_INTEGER && w->v.i <= 0)
			return fail(n); /* the function's error */
		if (x->op == E_REF && x->id < q->ncols && klass(&q->defs[x->id]) == C_INT &&
		    w->op == E_LIT && w->v.type == SQLITE_INTEGER && w->v.i > 0) {
			expr_t b = {.kind = X_BUCKET, .col = x->id, .width = w->v.i};
			ow_node_free(n);
			int id = add_term(q, &b);
			return id < 0 ? NULL : ref_node(q, id);
		}
	}
	if (n->fn < 0) {
		if (!ow_eval_sqlite_function(name, n->n))
			return fail(n);
		n->op = E_SQLFN;
		n->name = ow_strdup(name);
	}
	if (asks_now(n))
		return fail(n);
	n->id = q->nst++;
	return n;
}

static ow_node_t *case_expr(parser_t *p)
{
	ow_node_t *n = ow_node_new(E_CASE, 0);
	if (!is_kw(peek(p), "WHEN")) {
		ow_node_t *b = expr(p);
		if (!b)
			return fail(n);
		ow_node_add(n, b);
		n->fn = 1;
	}
	int whens = 0;
	while (kw(p, "WHEN")) {
		ow_node_t *w = expr(p), *t = w && kw(p, "THEN") ? expr(p) : NULL;
		if (!t) {
			ow_node_free(w);
			return fail(n);
		}
		ow_node_add(n, w);
		ow_node_add(n, t);
		whens++;
	}
	if (!whens)
		return fail(n);
	if (kw(p, "ELSE")) {
		ow_node_t *e = expr(p);
		if (!e)
			return fail(n);
		ow_node_add(n, e);
		n->neg = 1;
	}
	return kw(p, "END") ? n : fail(n);
}

static ow_node_t *cast_expr(parser_t *p)
{
	if (!op(p, "("))
		return NULL;
	ow_node_t *x = expr(p);
	tok_t *t = peek(p);
	if (!x || !kw(p, "AS") || (t = peek(p))->type != T_ID || t->quoted)
		return fail(x);
	int aff = ow_eval_type_aff(t->text);
	p->at++;
	if (aff < 0 || !op(p, ")"))
		return fail(x);
	ow_node_t *n = node1(E_CAST, x);
	n->fn = n->aff = aff;
	return n;
}

static ow_node_t *literal(const tok_t *t)
{
	ow_node_t *n = ow_node_new(E_LIT, 0);
	switch (t->type) {
	case T_INT:
		n->v.type = SQLITE_INTEGER;
		n->v.i = t->i;
		break;
	case T_REAL:
		n->v.type = SQLITE_FLOAT;
		n->v.d = t->d;
		break;
	default:
		n->v.type = SQLITE_TEXT;
		n->v.n = strlen(t->text);
		n->v.p = (const uint8_t *)ow_strdup(t->text);
	}
	return n;
}

static ow_node_t *primary(parser_t *p)
{
	struct ow_columnar *q = p->q;
	tok_t *t = peek(p);
	if (t->type == T_INT || t->type == T_REAL || t->type == T_STR) {
		p->at++;
		return literal(t);
	}
	if (t->type == T_OP) {
		if (!op(p, "("))
			return NULL;
		if (is_kw(peek(p), "SELECT"))
			return scalar_subquery(p);
		ow_node_t *n = expr(p);
		return n && op(p, ")") ? n : fail(n);
	}
	if (t->type != T_ID)
		return NULL;
	if (kw(p, "CASE"))
		return case_expr(p);
	if (!t->quoted && t[1].type == T_OP && t[1].n == 1 && t[1].s[0] == '(')
		return kw(p, "CAST") ? cast_expr(p) : call(p);
	int c = column(q, t->text);
	if (c >= 0) {
		p->at++;
		return ref_node(q, c);
	}
	if (!t->quoted) {
		if (kw(p, "NULL"))
			return ow_node_new(E_LIT, 0);
		if (is_kw(t, "TRUE") || is_kw(t, "FALSE")) {
			ow_node_t *n = ow_node_new(E_LIT, 0);
			n->v.type = SQLITE_INTEGER;
			n->v.i = is_kw(t, "TRUE");
			p->at++;
			return n;
		}
	}
	/* a name that is no column: an item's alias, as SQLite resolves it */
	int i = p->alias ? alias_item(p, t->text) : -1;
	if (i < 0 || has_op(p->itree[i], E_INSET) || has_op(p->itree[i], E_SCALAR) ||
	    (!p->aggs && has_op(p->itree[i], E_AGG)))
		return NULL;
	p->at++;
	return copy(p->itree[i]);
}

static ow_node_t *unary(parser_t *p)
{
	ow_node_t *n;
	if (++p->depth > 100) {
		n = NULL;
	} else if (op(p, "-")) {
		n = unary(p);
		/* a literal negated is a literal (SQLite's -0.0 too) */
		if (n && n->op == E_LIT && n->v.type == SQLITE_INTEGER)
			n->v.i = -n->v.i;
		else if (n && n->op == E_LIT && n->v.type == SQLITE_FLOAT)
			n->v.d = -n->v.d;
		else
			n = node1(E_NEG, n);
	} else {
		n = peek(p)->type == T_OP && peek(p)->s[0] == '+' ? NULL : primary(p);
	}
	p->depth--;
	return n;
}

static ow_node_t *cat_expr(parser_t *p)
{
	ow_node_t *l = unary(p);
	while (l) {
		if (op(p, "||")) {
			l = node2(E_CONCAT, l, unary(p));
		} else if (op(p, "->>") || op(p, "->")) {
			int text = p->t[p->at - 1].n == 2; /* ->: JSON text */
			tok_t *t = peek(p);
			ow_node_t *j = NULL;
			if (l->op == E_REF && t->type == T_STR) {
				p->at++;
				j = json_term(p->q, l->id, t->text, text ? X_JSON_TEXT : X_JSON);
			}
			ow_node_free(l);
			l = j;
		} else {
			break;
		}
	}
	return l;
}

/* A level of left-associative binary operators. */
static ow_node_t *binary(parser_t *p, ow_node_t *(*next)(parser_t *), const char *const *ops,
			 const int *e, size_t n)
{
	ow_node_t *l = next(p);
	for (size_t i = 0; l && i < n;) {
		if (op(p, ops[i])) {
			l = node2(e[i], l, next(p));
			i = 0;
		} else {
			i++;
		}
	}
	return l;
}

static ow_node_t *mul_expr(parser_t *p)
{
	static const char *const ops[] = {"*", "/", "%"};
	static const int e[] = {E_MUL, E_DIV, E_REM};
	return binary(p, cat_expr, ops, e, 3);
}

static ow_node_t *add_expr(parser_t *p)
{
	static const char *const ops[] = {"+", "-"};
	static const int e[] = {E_ADD, E_SUB};
	return binary(p, mul_expr, ops, e, 2);
}

static ow_node_t *rel_expr(parser_t *p)
{
	static const char *const ops[] = {"<=", ">=", "<", ">"};
	static const int e[] = {E_LE, E_GE, E_LT, E_GT};
	return binary(p, add_expr, ops, e, 4);
}

static int parse(parser_t *p);

/* x [NOT] IN (SELECT ...): the subquery parsed on its own, its table's
 * names its own. */
/* A subquery of one column, from after its '(' to its ')', parsed on
 * its own (its table's names its own): NULL when it is not of the subset;
 * *aff the affinity of its column. */
static struct ow_columnar *sub_parse(parser_t *p, int *aff)
{
	struct ow_columnar *q = p->q;
	size_t close = p->at;
	for (int depth = 1; p->t[close].type != T_END; close++) {
		const tok_t *t = &p->t[close];
		if (t->type == T_OP && t->n == 1 && t->s[0] == '(')
			depth++;
		else if (t->type == T_OP && t->n == 1 && t->s[0] == ')' && --depth == 0)
			break;
	}
	if (p->t[close].type == T_END || q->nsubs == MAX_SUBS)
		return NULL;
	p->t[close].type = T_END;
	parser_t sub = {.t = p->t, .n = p->n, .at = p->at, .depth = p->depth};
	sub.q = ow_calloc(1, sizeof(*sub.q));
	int ok = parse(&sub) && sub.q->nout == 1;
	p->t[close].type = T_OP;
	ow_eval_free(&sub.fold);
	for (int i = 0; i < MAX_ITEMS; i++)
		ow_node_free(sub.itree[i]);
	q->subs[q->nsubs++] = sub.q;
	p->at = close + 1;
	if (!ok)
		return NULL;
	*aff = sub.q->aggregate ? sub.q->outs[0]->aff : aff_of(sub.q, sub.q->items[0].col);
	return sub.q;
}

/* x [NOT] IN (SELECT ...). */
static ow_node_t *subquery(parser_t *p, ow_node_t *x, int neg)
{
	int aff;
	struct ow_columnar *sq = sub_parse(p, &aff);
	if (!sq)
		return fail(x);
	ow_node_t *n = node1(E_INSET, x);
	n->neg = neg;
	n->sub = sq;
	n->id = ow_eval_cmp_aff(x->aff, aff);
	return n;
}

/* (SELECT ...) as a value: its first row's, NULL without one. */
static ow_node_t *scalar_subquery(parser_t *p)
{
	int aff;
	struct ow_columnar *sq = sub_parse(p, &aff);
	if (!sq)
		return NULL;
	ow_node_t *n = ow_node_new(E_SCALAR, 0);
	n->sub = sq;
	n->aff = aff;
	return n;
}

static ow_node_t *in_expr(parser_t *p, ow_node_t *x, int neg)
{
	if (!op(p, "("))
		return fail(x);
	if (is_kw(peek(p), "SELECT"))
		return subquery(p, x, neg);
	ow_node_t *n = ow_node_new(E_IN, 0);
	n->neg = neg;
	ow_node_add(n, x);
	if (!(n = expr_list(p, n)))
		return NULL;
	return n->n > 1 ? n : fail(n);
}

static ow_node_t *eq_expr(parser_t *p)
{
	static const char *const cmp[] = {"=", "==", "!=", "<>"};
	static const int e[] = {E_EQ, E_EQ, E_NE, E_NE};
	ow_node_t *l = rel_expr(p);
	while (l) {
		size_t i = 0;
		while (i < OW_NELEMS(cmp) && !op(p, cmp[i]))
			i++;
		if (i < OW_NELEMS(cmp)) {
			l = node2(e[i], l, rel_expr(p));
			continue;
		}
		if (kw(p, "IS")) {
			int neg = kw(p, "NOT");
			if (is_kw(peek(p), "DISTINCT"))
				return fail(l);
			if ((l = node2(E_IS, l, rel_expr(p))))
				l->neg = neg;
			continue;
		}
		if (kw(p, "ISNULL") || kw(p, "NOTNULL")) {
			l = node1(E_ISNULL, l);
			l->neg = is_kw(&p->t[p->at - 1], "NOTNULL");
			continue;
		}
		size_t at = p->at;
		int neg = kw(p, "NOT");
		if (neg && kw(p, "NULL")) {
			l = node1(E_ISNULL, l);
			l->neg = 1;
		} else if (kw(p, "BETWEEN")) {
			ow_node_t *lo = rel_expr(p), *hi = lo && kw(p, "AND") ? rel_expr(p) : NULL;
			if (!hi) {
				ow_node_free(lo);
				return fail(l);
			}
			ow_node_t *b = ow_node_new(E_BETWEEN, 3);
			b->kid[0] = l, b->kid[1] = lo, b->kid[2] = hi;
			b->neg = neg;
			l = b;
		} else if (kw(p, "IN")) {
			l = in_expr(p, l, neg);
		} else if (kw(p, "LIKE") || kw(p, "GLOB")) {
			int glob = is_kw(&p->t[p->at - 1], "GLOB");
			if ((l = node2(glob ? E_GLOB : E_LIKE, l, rel_expr(p))))
				l->neg = neg;
			if (is_kw(peek(p), "ESCAPE"))
				return fail(l);
		} else {
			p->at = at;
			break;
		}
	}
	return l;
}

static ow_node_t *not_expr(parser_t *p)
{
	if (!kw(p, "NOT"))
		return eq_expr(p);
	if (++p->depth > 100)
		return NULL;
	ow_node_t *n = node1(E_NOT, not_expr(p));
	p->depth--;
	return n;
}

static ow_node_t *and_expr(parser_t *p)
{
	static const char *const ops[] = {"AND"};
	ow_node_t *l = not_expr(p);
	while (l && kw(p, ops[0]))
		l = node2(E_AND, l, not_expr(p));
	return l;
}

static ow_node_t *expr(parser_t *p)
{
	ow_node_t *l = and_expr(p);
	while (l && kw(p, "OR"))
		l = node2(E_OR, l, and_expr(p));
	if (l && ow_eval_fold(&p->fold, &l) != OW_OK)
		return fail(l); /* SQLite's error (or a value only it gives) */
	return l;
}

/* ---- the planner ---- */

/* A filter of the scan layer's (q->f[i]) and what it has beside it
 * here (q->fx[i]). */
static int add_filter(struct ow_columnar *q, int col, int fop, int aff)
{
	q->f = ow_realloc(q->f, (size_t)(q->nf + 1) * sizeof(filt_t));
	q->fx = ow_realloc(q->fx, (size_t)(q->nf + 1) * sizeof(fext_t));
	q->f[q->nf] = (filt_t){.col = col, .base = base(q, col), .op = fop};
	q->fx[q->nf] = (fext_t){.aff = aff};
	return q->nf++;
}

static void add_lit(fext_t *e, ow_node_t **lit)
{
	if ((e->nlit & (e->nlit - 1)) == 0)
		e->lit = ow_realloc(e->lit, (e->nlit ? 2 * e->nlit : 1) * sizeof(ow_node_t *));
	e->lit[e->nlit++] = *lit;
	*lit = NULL;
}

/* Whether a comparison of a term with a literal of affinity lit needs
 * no conversion of the term's values (then the filters below take it). */
static int plain_compare(int term, int lit)
{
	int aff = ow_eval_cmp_aff(term, lit);
	return term >= AFF_NUMERIC || (term == AFF_TEXT && aff <= AFF_TEXT) ||
	       (term == AFF_NONE && aff == AFF_NONE);
}

/* match(x, query) with x a text column and the query a constant. */
static int text_match(const struct ow_columnar *q, const ow_node_t *n, ow_eval_t *run)
{
	const ow_node_t *x = n->kid[0];
	return n->op == E_FN && n->fn == F_TOKMATCH && n->n == 2 && x->op == E_REF &&
	       x->id < q->ncols && q->defs[x->id].type == OW_PQ_BYTE_ARRAY &&
	       ow_eval_constant(run, n->kid[1]);
}

/* A condition of WHERE as the filters take it (n freed): 1; 0 when it
 * is not one (a residual condition then); -1 when the query is SQLite's. */
static int filter_of(struct ow_columnar *q, ow_node_t *n)
{
	static const int cmp[][2] = {{E_EQ, F_EQ}, {E_NE, F_NE}, {E_LT, F_LT},
				     {E_LE, F_LE}, {E_GT, F_GT}, {E_GE, F_GE}};
	static const int flip[] = {[F_EQ] = F_EQ, [F_NE] = F_NE, [F_LT] = F_GT,
				   [F_LE] = F_GE, [F_GT] = F_LT, [F_GE] = F_LE};
	ow_eval_t run = {.has_now = 1};
	if (n->n == 0)
		return 0;
	/* lower(x) LIKE p is x LIKE p: LIKE folds ASCII letters, all that
	 * lower() and upper() change, and reads numbers as the same text */
	ow_node_t *x = n->kid[0];
	if (n->op == E_LIKE && x->op == E_FN && (x->fn == F_LOWER || x->fn == F_UPPER)) {
		n->kid[0] = x->kid[0];
		x->kid[0] = NULL;
		ow_node_free(x);
	}
	if (n->op == E_FN && n->fn == F_TOKMATCH) {
		/* match(column, constant) on a text column */
		if (!text_match(q, n, &run))
			return 0;
		int f = add_filter(q, n->kid[0]->id, F_MATCH, AFF_NONE);
		add_lit(&q->fx[f], &n->kid[1]);
		ow_node_free(n);
		return 1;
	}
	int fop = -1;
	for (size_t i = 0; i < OW_NELEMS(cmp); i++)
		if (n->op == cmp[i][0])
			fop = cmp[i][1];
	if (fop >= 0 && n->kid[0]->op != E_REF && n->kid[1]->op == E_REF) {
		/* c < x is x > c (the residual condition too, if it stays one) */
		static const int eflip[] = {[E_EQ] = E_EQ, [E_NE] = E_NE, [E_LT] = E_GT,
					    [E_LE] = E_GE, [E_GT] = E_LT, [E_GE] = E_LE};
		ow_node_t *t = n->kid[0];
		n->kid[0] = n->kid[1], n->kid[1] = t;
		n->op = eflip[n->op];
		fop = flip[fop];
	}
	x = n->kid[0];
	if (x->op != E_REF)
		return 0;
	for (int i = 1; i < n->n; i++)
		if (!ow_eval_constant(&run, n->kid[i]))
			return 0;
	int id = x->id, k = klass_of(q, id), tc = ow_columns_time_col(q->signal), f;
	switch (n->op) {
	case E_IS:
		if (n->kid[1]->op != E_LIT || n->kid[1]->v.type != SQLITE_NULL)
			return 0;
		__attribute__((fallthrough));
	case E_ISNULL:
		add_filter(q, id, n->neg ? F_NOT_NULL : F_NULL, AFF_NONE);
		break;
	case E_BETWEEN:
		if (n->neg || !plain_compare(x->aff, n->kid[1]->aff) ||
		    !plain_compare(x->aff, n->kid[2]->aff))
			return 0;
		f = add_filter(q, id, F_GE, ow_eval_cmp_aff(x->aff, n->kid[1]->aff));
		add_lit(&q->fx[f], &n->kid[1]);
		f = add_filter(q, id, F_LE, ow_eval_cmp_aff(x->aff, n->kid[2]->aff));
		add_lit(&q->fx[f], &n->kid[2]);
		break;
	case E_IN:
		/* SQLite answers an IN on the time column one value at a time,
		 * the values in ascending order: the rows come in an order (and
		 * sums of reals add up in an order) a scan does not give */
		if (id == tc && !n->neg && n->n > 2)
			q->anyorder = 1;
		f = add_filter(q, id, n->neg ? F_NOT_IN : F_IN, x->aff);
		for (int i = 1; i < n->n; i++)
			add_lit(&q->fx[f], &n->kid[i]);
		break;
	case E_LIKE:
		if (k == C_REAL)
			return 0;
		f = add_filter(q, id, n->neg ? F_NOT_LIKE : F_LIKE, AFF_NONE);
		add_lit(&q->fx[f], &n->kid[1]);
		break;
	default:
		if (fop < 0 || !plain_compare(x->aff, n->kid[1]->aff))
			return 0;
		f = add_filter(q, id, fop, ow_eval_cmp_aff(x->aff, n->kid[1]->aff));
		add_lit(&q->fx[f], &n->kid[1]);
	}
	ow_node_free(n);
	return 1;
}

/* time IN (SELECT ...). */
static int time_set(const struct ow_columnar *q, const ow_node_t *n)
{
	return n->op == E_INSET && !n->neg && n->kid[0]->op == E_REF &&
	       n->kid[0]->id == ow_columns_time_col(q->signal);
}

static int time_in(const struct ow_columnar *q, const ow_node_t *n)
{
	if (((n->op == E_IN && n->n > 2) || n->op == E_INSET) && !n->neg &&
	    n->kid[0]->op == E_REF && n->kid[0]->id == ow_columns_time_col(q->signal))
		return 1;
	for (int i = 0; i < n->n; i++)
		if (n->kid[i] && time_in(q, n->kid[i]))
			return 1;
	return 0;
}

/* A condition vtab.c's xBestIndex takes (a range of the time column or
 * of an integer column, = or IN on a string or id column, LIKE on a
 * string column, against constants), somewhere in the ANDs of n. */
static int indexed(const struct ow_columnar *q, const ow_node_t *n)
{
	if (n->op == E_AND)
		return indexed(q, n->kid[0]) || indexed(q, n->kid[1]);
	if (n->op == E_FN && n->fn == F_TOKMATCH) {
		ow_eval_t run = {.has_now = 1};
		return text_match(q, n, &run);
	}
	if (n->op == E_INSET) {
		const ow_node_t *x = n->kid[0];
		if (n->neg || x->op != E_REF || x->id >= q->ncols)
			return 0;
		const ow_pq_coldef_t *d = &q->defs[x->id];
		return x->id == ow_columns_time_col(q->signal) || d->type == OW_PQ_FIXED ||
		       d->type == OW_PQ_INT32 || d->type == OW_PQ_INT64 ||
		       (d->type == OW_PQ_BYTE_ARRAY && d->logical == OW_PQ_L_STRING);
	}
	if (n->n < 2 || n->kid[0]->op != E_REF || n->kid[0]->id >= q->ncols)
		return n->n == 2 && n->op >= E_EQ && n->op <= E_GE && n->kid[1]->op == E_REF &&
		       n->kid[1]->id < q->ncols && n->kid[0]->op != E_REF &&
		       indexed(q, &(ow_node_t){.op = n->op,
					       .n = 2,
					       .kid = (ow_node_t *[]){n->kid[1], n->kid[0]}});
	/* constants to SQLite's planner: what reads no row of the table (a
	 * subquery's value too) */
	for (int i = 1; i < n->n; i++)
		if (has_op(n->kid[i], E_REF) || has_op(n->kid[i], E_AGG))
			return 0;
	const ow_pq_coldef_t *d = &q->defs[n->kid[0]->id];
	int time = n->kid[0]->id == ow_columns_time_col(q->signal) || d->type == OW_PQ_INT32 ||
		   d->type == OW_PQ_INT64; /* ranges as the time's */
	int text = d->type == OW_PQ_BYTE_ARRAY && d->logical == OW_PQ_L_STRING;
	switch (n->op) {
	case E_EQ:
	case E_IN:
		return !n->neg && (time || text || d->type == OW_PQ_FIXED);
	case E_LT:
	case E_LE:
	case E_GT:
	case E_GE:
	case E_BETWEEN:
		return time && !n->neg;
	case E_LIKE:
		return text && !n->neg;
	default:
		return 0;
	}
}

/* An OR that SQLite may answer as a union of scans, a scan a branch:
 * each branch holds a condition vtab.c takes (but = on one column in
 * every branch, which SQLite makes an IN). Its rows come in another
 * order then (each branch's scan, the rows of the ones before left out
 * by their rowids): anyorder. */
static int or_union(const struct ow_columnar *q, const ow_node_t *n, int *col)
{
	if (n->op == E_OR)
		return or_union(q, n->kid[0], col) & or_union(q, n->kid[1], col);
	if (!(n->op == E_EQ && n->kid[0]->op == E_REF && n->kid[1]->op != E_REF &&
	      (*col == -1 || *col == n->kid[0]->id)))
		*col = -2;
	else
		*col = n->kid[0]->id;
	return indexed(q, n);
}

/* WHERE's conditions (its top-level ANDs apart): filters, or residual
 * conditions (n taken). */
static int where_of(struct ow_columnar *q, ow_node_t *n)
{
	if (n->op == E_AND) {
		int ok = where_of(q, n->kid[0]) && where_of(q, n->kid[1]);
		n->kid[0] = n->kid[1] = NULL;
		ow_node_free(n);
		return ok;
	}
	int r = filter_of(q, n);
	if (r < 0) {
		ow_node_free(n);
		return 0;
	}
	int col = -1;
	if (r == 0) {
		/* as above, SQLite may plan it so inside an OR; time IN (SELECT
		 * ...) here is known when its set is (compile) */
		if ((time_in(q, n) && !time_set(q, n)) ||
		    (n->op == E_OR && or_union(q, n, &col) && col == -2))
			q->anyorder = 1;
		q->resid = ow_realloc(q->resid, (size_t)(q->nresid + 1) * sizeof(ow_node_t *));
		q->rcols = ow_realloc(q->rcols, (size_t)(q->nresid + 1) * sizeof(uint64_t));
		q->rcols[q->nresid] = tree_cols(q, n);
		q->resid[q->nresid++] = n;
	}
	return 1;
}

/* An expression of an aggregate query over the groups: each part that is
 * a group term read from the group's keys, each aggregate made an
 * accumulator; 0 for a column outside both (SQLite takes it from some
 * row of the group: not done here). */
static int bind_groups(struct ow_columnar *q, ow_node_t **np)
{
	ow_node_t *n = *np;
	for (int g = 0; g < q->ngroup; g++) {
		if (!ow_node_same(n, q->gtree[g]))
			continue;
		ow_node_t *r = ow_node_new(E_REF, 0);
		r->id = g;
		r->aff = n->aff;
		ow_node_free(n);
		*np = r;
		return 1;
	}
	if (n->op == E_AGG) {
		item_t it = {.col = -1, .agg = n->fn, .q = n->q, .filter = -1};
		if (n->id) {
			it.filter = term_of(q, n->kid[n->n - 1]);
			n->kid[--n->n] = NULL;
			if (it.filter < 0)
				return 0;
		}
		if (n->n) {
			it.col = term_of(q, n->kid[0]);
			n->kid[0] = NULL;
			if (it.col < 0)
				return 0;
		}
		if (it.col >= 0 && it.col < q->ncols &&
		    (it.agg == A_SUM || it.agg == A_AVG || it.agg == A_QUANTILE) &&
		    klass(&q->defs[it.col]) == C_TEXT)
			return 0; /* SQLite would convert text to numbers */
		int i = 0;
		while (i < q->nitems && (q->items[i].agg != it.agg || q->items[i].col != it.col ||
					 q->items[i].q != it.q || q->items[i].filter != it.filter))
			i++;
		if (i == MAX_ITEMS)
			return 0;
		if (i == q->nitems)
			q->items[q->nitems++] = it;
		ow_node_t *r = ow_node_new(E_REF, 0);
		r->id = MAX_ITEMS + i;
		ow_node_free(n);
		*np = r;
		return 1;
	}
	if (n->op == E_REF)
		return 0;
	for (int i = 0; i < n->n; i++)
		if (!bind_groups(q, &n->kid[i]))
			return 0;
	return 1;
}

/* An ORDER BY or GROUP BY term that is an integer or a name alone. */
static int alone(const tok_t *t)
{
	static const char *const ends[] = {"ASC", "DESC", "LIMIT", "HAVING", "ORDER"};
	const tok_t *n = t + 1;
	if (n->type == T_END || (n->type == T_OP && (n->s[0] == ',' || n->s[0] == ';')))
		return 1;
	for (size_t i = 0; i < OW_NELEMS(ends); i++)
		if (is_kw(n, ends[i]))
			return 1;
	return 0;
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

static int item(parser_t *p)
{
	struct ow_columnar *q = p->q;
	if (q->nout == MAX_ITEMS)
		return 0;
	size_t from = p->at;
	ow_node_t *t = expr(p);
	if (!t)
		return 0;
	int i = q->nout++;
	p->itree[i] = t;
	q->names[i] = span(p, from);
	if (t->op == E_REF && t->id < q->ncols && p->at == from + 1 &&
	    strcmp(p->t[from].text, q->defs[t->id].name) != 0)
		return 0; /* SQLite names it as written or as declared: when they differ, SQLite */
	if (t->op == E_REF && t->id < q->ncols && p->at == from + 1) {
		free(q->names[i]);
		q->names[i] = ow_strdup(q->defs[t->id].name);
	}
	int as = kw(p, "AS");
	tok_t *a = peek(p);
	if (a->type == T_ID && (as || !is_kw(a, "FROM"))) {
		if (column(q, a->text) >= 0)
			return 0; /* resolved differently in WHERE and GROUP BY */
		free(q->names[i]);
		q->names[i] = ow_strdup(a->text);
		p->aliased[i] = 1;
		p->at++;
	} else if (as) {
		return 0;
	}
	return 1;
}

typedef struct {
	int item; /* or -1 */
	ow_node_t *tree;
	int desc;
} ob_t;

/* What the clauses say, made the query's plan: filters and residual
 * conditions, and for an aggregate query its groups, accumulators and
 * result columns over them; for plain rows the terms of a row. */
static int plan_query(parser_t *p, ow_node_t *where, ow_node_t **gb, int ngb, ob_t *ob, int nob)
{
	struct ow_columnar *q = p->q;
	if (where && !where_of(q, where))
		return 0;
	int agg = ngb > 0 || q->having != NULL;
	for (int i = 0; i < q->nout; i++)
		agg |= has_op(p->itree[i], E_AGG);
	for (int k = 0; k < nob; k++)
		agg |= ob[k].tree && has_op(ob[k].tree, E_AGG);
	q->aggregate = agg;
	if (agg && (q->distinct || (q->having && ngb == 0 && !has_op(q->having, E_AGG))))
		return 0;
	if (agg) {
		for (int g = 0; g < ngb; g++) {
			if (has_op(gb[g], E_AGG))
				return 0;
			q->gtree[g] = gb[g];
			gb[g] = NULL;
			if ((q->group[g] = term_of(q, copy(q->gtree[g]))) < 0)
				return 0;
			q->ngroup++;
		}
		for (int i = 0; i < q->nout; i++) {
			q->outs[i] = p->itree[i];
			p->itree[i] = NULL;
			q->nouts++;
			if (!bind_groups(q, &q->outs[i]))
				return 0;
		}
		if (q->having && !bind_groups(q, &q->having))
			return 0;
	} else {
		for (int i = 0; i < q->nout; i++) {
			q->items[i] =
			    (item_t){.col = term_of(q, p->itree[i]), .agg = A_NONE, .filter = -1};
			p->itree[i] = NULL;
			if (q->items[i].col < 0)
				return 0;
			q->nitems++;
		}
	}
	for (int k = 0; k < nob; k++) {
		int it = ob[k].item;
		if (it < 0 && agg) {
			if (!bind_groups(q, &ob[k].tree))
				return 0;
			for (int i = 0; i < q->nouts && it < 0; i++)
				if (ow_node_same(q->outs[i], ob[k].tree))
					it = i;
			if (it < 0 && q->nouts == MAX_ITEMS)
				return 0;
			if (it < 0) {
				it = q->nouts;
				q->outs[q->nouts++] = ob[k].tree; /* sorted by, not shown */
				ob[k].tree = NULL;
			}
		} else if (it < 0) {
			int col = term_of(q, ob[k].tree);
			ob[k].tree = NULL;
			if (col < 0)
				return 0;
			for (int i = 0; i < q->nitems && it < 0; i++)
				if (q->items[i].col == col)
					it = i;
			if (it < 0 && (q->nitems == MAX_ITEMS || q->distinct))
				return 0;
			if (it < 0) {
				it = q->nitems;
				q->items[q->nitems++] =
				    (item_t){.col = col, .agg = A_NONE, .filter = -1};
			}
		}
		q->order[q->norder++] = (order_t){it, ob[k].desc};
	}
	if (q->anyorder && !agg)
		return 0; /* plain rows in SQLite's order, not a scan's */
	q->nrow = agg ? q->nouts : q->nitems;
	for (int i = 0; i < q->nout; i++)
		for (int j = 0; j < i; j++)
			if (strcasecmp(q->names[i], q->names[j]) == 0)
				return 0; /* SQLite renames the second in SELECT * */
	return 1;
}

static int parse(parser_t *p)
{
	struct ow_columnar *q = p->q;
	if (!kw(p, "SELECT"))
		return 0;
	if (kw(p, "DISTINCT"))
		q->distinct = 1;
	else
		kw(p, "ALL");
	/* the table first: the items name its columns */
	size_t from = p->at;
	for (int depth = 0; p->t[from].type != T_END; from++) {
		const tok_t *t = &p->t[from];
		if (t->type == T_OP && t->n == 1 && t->s[0] == '(')
			depth++;
		else if (t->type == T_OP && t->n == 1 && t->s[0] == ')')
			depth--;
		else if (depth == 0 && is_kw(t, "FROM"))
			break;
	}
	if (p->t[from].type == T_END || p->t[from + 1].type != T_ID)
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
	q->limit = -1;
	p->aggs = 1;
	if (op(p, "*")) {
		for (int c = 0; c < q->ncols; c++) {
			p->itree[q->nout] = ref_node(q, c);
			q->names[q->nout++] = ow_strdup(q->defs[c].name);
		}
	} else {
		do {
			if (!item(p))
				return 0;
		} while (op(p, ","));
	}
	if (p->at != from)
		return 0;
	p->at += 2;
	p->alias = 1;
	ow_node_t *where = NULL, *gb[MAX_ITEMS];
	ob_t ob[MAX_ITEMS];
	int ngb = 0, nob = 0, ok = 0;
	if (kw(p, "WHERE")) {
		p->aggs = 0;
		if (!(where = expr(p)))
			return 0;
	}
	if (kw(p, "GROUP")) {
		p->aggs = 0;
		if (!kw(p, "BY"))
			goto out;
		do {
			tok_t *t = peek(p);
			int i = -1;
			if (t->type == T_INT && alone(t)) {
				if (t->i < 1 || t->i > q->nout)
					goto out;
				i = (int)t->i - 1;
			} else if (t->type == T_ID && alone(t) && column(q, t->text) < 0) {
				i = alias_item(p, t->text);
			}
			if (ngb == MAX_ITEMS)
				goto out;
			if (i >= 0) {
				if (has_op(p->itree[i], E_AGG) || has_op(p->itree[i], E_INSET) ||
				    has_op(p->itree[i], E_SCALAR))
					goto out;
				gb[ngb++] = copy(p->itree[i]);
				p->at++;
			} else if (!(gb[ngb++] = expr(p))) {
				ngb--;
				goto out;
			} else if (gb[ngb - 1]->op == E_LIT &&
				   gb[ngb - 1]->v.type == SQLITE_INTEGER) {
				goto out; /* -1, 1 + 1: SQLite reads it its way */
			}
		} while (op(p, ","));
	}
	p->aggs = 1;
	if (kw(p, "HAVING") && !(q->having = expr(p)))
		goto out;
	if (kw(p, "ORDER")) {
		if (!kw(p, "BY"))
			goto out;
		do {
			tok_t *t = peek(p);
			ob_t o = {.item = -1};
			if (nob == MAX_ITEMS)
				goto out;
			if (t->type == T_INT && alone(t)) {
				if (t->i < 1 || t->i > q->nout)
					goto out;
				o.item = (int)t->i - 1;
				p->at++;
			} else if (t->type == T_ID && alone(t) && alias_item(p, t->text) >= 0) {
				o.item = alias_item(p, t->text); /* an alias first, as SQLite */
				p->at++;
			} else if (!(o.tree = expr(p))) {
				goto out;
			} else if (o.tree->op == E_LIT && o.tree->v.type == SQLITE_INTEGER) {
				ow_node_free(o.tree); /* -1, 1 + 1: SQLite reads it its way */
				goto out;
			}
			o.desc = kw(p, "DESC");
			if (!o.desc)
				kw(p, "ASC");
			ob[nob++] = o;
		} while (op(p, ","));
	}
	if (kw(p, "LIMIT")) {
		if (!count_value(p, &q->limit))
			goto out;
		if (op(p, ",")) {
			q->offset = q->limit;
			if (!count_value(p, &q->limit))
				goto out;
		} else if (kw(p, "OFFSET") && !count_value(p, &q->offset)) {
			goto out;
		}
	}
	while (op(p, ";"))
		;
	if (peek(p)->type != T_END)
		goto out;
	ok = plan_query(p, where, gb, ngb, ob, nob);
	where = NULL;
out:
	ow_node_free(where);
	for (int g = 0; g < ngb; g++)
		ow_node_free(gb[g]);
	for (int k = 0; k < nob; k++)
		ow_node_free(ob[k].tree);
	return ok;
}

void ow_columnar_free(ow_columnar_t *q)
{
	if (!q)
		return;
	for (int i = 0; i < q->nout; i++)
		free(q->names[i]);
	for (int i = 0; i < q->nouts; i++)
		ow_node_free(q->outs[i]);
	for (int g = 0; g < q->ngroup; g++)
		ow_node_free(q->gtree[g]);
	ow_node_free(q->having);
	for (int k = 0; k < q->nx; k++) {
		free(q->x[k].path);
		ow_node_free(q->x[k].tree);
	}
	for (int i = 0; i < q->nresid; i++)
		ow_node_free(q->resid[i]);
	free(q->resid);
	free(q->rcols);
	for (int i = 0; i < q->nf; i++) {
		for (size_t j = 0; j < q->fx[i].nlit; j++)
			ow_node_free(q->fx[i].lit[j]);
		free(q->fx[i].lit);
		free(q->fx[i].idset);
		ow_scan_pred_free(&q->f[i]);
	}
	free(q->fx);
	free(q->f);
	for (int i = 0; i < q->nsubs; i++)
		ow_columnar_free(q->subs[i]);
	free(q);
}

ow_columnar_t *ow_columnar_parse(const ow_search_t *s, const char *sql)
{
	OW_UNUSED(s);
	parser_t p = {0};
	p.q = ow_calloc(1, sizeof(*p.q));
	int ok = tokenize(sql, &p) && parse(&p);
	for (size_t i = 0; i < p.n; i++)
		free(p.t[i].text);
	free(p.t);
	for (int i = 0; i < MAX_ITEMS; i++)
		ow_node_free(p.itree[i]);
	ow_eval_free(&p.fold);
	if (!ok) {
		ow_columnar_free(p.q);
		return NULL;
	}
	return p.q;
}

/* ---- values ---- */

/* SQLite's order: NULL, numbers (integers and reals exactly), text
 * (BINARY), blobs. */
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

static int filter_holds(const ow_columnar_t *q, const filt_t *f, const ow_search_val_t *x)
{
	const fext_t *e = &q->fx[f - q->f];
	if (e->sorted && x->type != SQLITE_NULL) {
		/* a long IN list, sorted: searched */
		size_t lo = 0, hi = f->nvals;
		int found = 0;
		while (lo < hi && !found) {
			size_t mid = (lo + hi) / 2;
			int c = val_cmp(&f->vals[mid], x);
			found = c == 0;
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		return found == (f->op == F_IN);
	}
	return ow_scan_holds(f, x);
}

/* ---- aggregates ---- */

/* Eight bytes at a time, each word multiplied in and its high bits
 * folded down (a group's or a distinct value's key is hashed a row). */
static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL ^ n, w;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	for (; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h ^ h >> 32;
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

/* An aggregate that holds sets of values (count(DISTINCT), the
 * quantiles), and SELECT DISTINCT's rows seen. */
typedef struct {
	int64_t cnt;
	int overflow;
	int types; /* count(DISTINCT): bit t, a value of type t seen */
	ow_search_num_t *qv;
	size_t qn, qcap;
	int qreal;
	/* count(DISTINCT): the values seen (u32 length, key_add bytes) and a
	 * hash set of them (the hash's high half, then offset + 1) */
	ow_buf_t dk;
	uint64_t *ds;
	size_t dcap;
} acc_t;

/* sum and avg. */
typedef struct {
	int64_t cnt, isum;
	double rsum;
	double mag; /* of the integers' magnitudes */
	int32_t approx, overflow;
} acc_sum_t;

/* A value held in 16 bytes (a group's key, a min or max): text points to
 * bytes held elsewhere; aux is the holder's (min, max: bit t, a value of
 * type t seen; 0, none yet). */
typedef struct {
	union {
		int64_t i;
		double d;
		const uint8_t *p;
	} u;
	uint32_t n;
	uint8_t type, aux;
} cval_t;

static void cval_get(const cval_t *c, ow_search_val_t *v)
{
	memset(v, 0, sizeof(*v));
	v->type = c->type;
	if (c->type == SQLITE_INTEGER)
		v->i = c->u.i;
	else if (c->type == SQLITE_FLOAT)
		v->d = c->u.d;
	else if (c->type == SQLITE_TEXT || c->type == SQLITE_BLOB)
		v->p = c->u.p, v->n = c->n;
}

/* v into c, its text at p (v's own, or a copy). */
static void cval_set(cval_t *c, const ow_search_val_t *v, const uint8_t *p)
{
	c->type = (uint8_t)v->type;
	c->n = 0;
	if (v->type == SQLITE_INTEGER)
		c->u.i = v->i;
	else if (v->type == SQLITE_FLOAT)
		c->u.d = v->d;
	else if (v->type == SQLITE_TEXT || v->type == SQLITE_BLOB)
		c->u.p = p, c->n = (uint32_t)v->n;
	else
		c->u.i = 0;
}

/* What a group holds for an aggregate, as little as its kind needs: a
 * count, an acc_sum_t, a cval_t (min, max), or a pointer to an acc_t
 * made at its first value; each a multiple of 8 bytes. */
enum { K_NONE, K_COUNT, K_SUM, K_MINMAX, K_SET };

static int acc_kind(const item_t *it)
{
	switch (it->agg) {
	case A_COUNT:
		return K_COUNT;
	case A_SUM:
	case A_AVG:
		return K_SUM;
	case A_MIN:
	case A_MAX:
		return K_MINMAX;
	case A_NONE:
		return K_NONE;
	default:
		return K_SET;
	}
}

static size_t acc_size(int kind)
{
	static const size_t size[] = {0, sizeof(int64_t), sizeof(acc_sum_t), sizeof(cval_t),
				      sizeof(acc_t *)};
	return size[kind];
}

/* count(DISTINCT): 1 when x (its key bytes at the end of a->dk) is new. */
static int distinct_add(acc_t *a, size_t mark)
{
	if (2 * ((size_t)a->cnt + 1) > a->dcap) {
		size_t cap = a->dcap ? 2 * a->dcap : 16;
		uint64_t *ds = ow_calloc(cap, sizeof(uint64_t));
		for (size_t k = 0; k < a->dcap; k++) {
			if (!a->ds[k])
				continue;
			size_t i = (a->ds[k] >> 32) & (cap - 1);
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
	uint64_t tag = hash_bytes(x + 4, len) >> 32;
	for (size_t i = tag & (a->dcap - 1);; i = (i + 1) & (a->dcap - 1)) {
		if (!a->ds[i]) {
			a->ds[i] = tag << 32 | (uint32_t)(mark + 1);
			return 1;
		}
		if (a->ds[i] >> 32 != tag)
			continue;
		const uint8_t *e = a->dk.data + (uint32_t)a->ds[i] - 1;
		if (ow_get_u32(e) == len && memcmp(e + 4, x + 4, len) == 0)
			return 0;
	}
}

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

/* The acc_t of a K_SET aggregate (slot a), made at its first value
 * (*took: the bytes that took). */
static acc_t *set_acc(uint8_t *a, size_t *took)
{
	acc_t **pp = (acc_t **)a;
	if (!*pp) {
		*pp = ow_calloc(1, sizeof(acc_t));
		*took += sizeof(acc_t);
	}
	return *pp;
}

/* x into aggregate it's state a: the bytes that took. */
static size_t acc_add(const item_t *it, uint8_t *a, const ow_search_val_t *x)
{
	size_t took = 0;
	if (it->agg == A_COUNT) {
		*(int64_t *)a += it->col < 0 || x->type != SQLITE_NULL;
		return 0;
	}
	if (x->type == SQLITE_NULL)
		return 0;
	switch (it->agg) {
	case A_SUM:
	case A_AVG: {
		acc_sum_t *s = (acc_sum_t *)a;
		s->cnt++;
		if (x->type == SQLITE_INTEGER) {
			s->rsum += (double)x->i;
			s->mag += fabs((double)x->i);
			if (!(s->approx | s->overflow) &&
			    __builtin_add_overflow(s->isum, x->i, &s->isum))
				s->approx = s->overflow = 1;
		} else {
			s->rsum += x->d;
			s->approx = 1;
		}
		break;
	}
	case A_MIN:
	case A_MAX: {
		cval_t *m = (cval_t *)a;
		ow_search_val_t cur;
		if (x->type == SQLITE_INTEGER && m->type == SQLITE_INTEGER && m->aux) {
			/* integers compared as they are */
			if (it->agg == A_MIN ? x->i < m->u.i : x->i > m->u.i)
				m->u.i = x->i;
			m->aux |= 1 << SQLITE_INTEGER;
			break;
		}
		int first = m->aux == 0;
		if (!first)
			cval_get(m, &cur);
		m->aux |= (uint8_t)(1 << x->type);
		if (first || (it->agg == A_MIN ? val_cmp(x, &cur) < 0 : val_cmp(x, &cur) > 0)) {
			uint8_t *p = NULL;
			if (m->type == SQLITE_TEXT || m->type == SQLITE_BLOB)
				free((void *)m->u.p);
			if (x->type == SQLITE_TEXT || x->type == SQLITE_BLOB) {
				p = ow_alloc(x->n + 1);
				if (x->n) /* an empty value's pointer may be NULL */
					memcpy(p, x->p, x->n);
			}
			cval_set(m, x, p);
			took = x->n;
		}
		break;
	}
	case A_COUNT_DISTINCT: {
		/* counted once a value: SQLite's equality is the key's (one
		 * kind of value a term, but for ->>; -0.0 as 0.0) */
		acc_t *d = set_acc(a, &took);
		d->types |= 1 << x->type;
		size_t mark = d->dk.len;
		if (mark > UINT32_MAX / 2) {
			d->overflow = 1;
			break;
		}
		uint8_t len[4] = {0};
		ow_buf_add(&d->dk, len, 4);
		key_add(&d->dk, x);
		ow_put_u32(d->dk.data + mark, (uint32_t)(d->dk.len - mark - 4));
		if (distinct_add(d, mark)) {
			d->cnt++;
			took += d->dk.len - mark + 2 * sizeof(uint64_t);
		} else {
			d->dk.len = mark;
		}
		break;
	}
	case A_QUANTILE: {
		acc_t *d = set_acc(a, &took);
		d->cnt++;
		took += q_room(d);
		if (x->type == SQLITE_FLOAT && !d->qreal) {
			/* once a real appears the values are reals (funcs.c) */
			for (size_t k = 0; k < d->qn; k++)
				d->qv[k].d = (double)d->qv[k].i;
			d->qreal = 1;
		}
		if (d->qreal)
			d->qv[d->qn++].d = x->type == SQLITE_FLOAT ? x->d : (double)x->i;
		else
			d->qv[d->qn++].i = x->i;
		break;
	}
	}
	return took;
}

/* The aggregate's value (text borrowed from a); OW_DECLINED on an
 * integer overflow (SQLite's error to give), and for rows in any order
 * (anyorder) where the order could tell: reals summed (in SQLite's
 * order), integers summed past 2^53 (exact in any order below, and no
 * overflow), a real min, max or quantile (1 and 1.0, or 0.0 and -0.0,
 * tie: the first seen stays). */
static int acc_result(const item_t *it, const uint8_t *a, int anyorder, ow_search_val_t *out)
{
	memset(out, 0, sizeof(*out));
	out->type = SQLITE_NULL;
	switch (acc_kind(it)) {
	case K_COUNT:
		out->type = SQLITE_INTEGER;
		out->i = *(const int64_t *)a;
		break;
	case K_SUM: {
		const acc_sum_t *s = (const acc_sum_t *)a;
		if (anyorder && (s->approx || s->mag >= 0x1p53))
			return OW_DECLINED;
		if (it->agg == A_SUM && s->overflow)
			return OW_DECLINED;
		if (it->agg == A_AVG && s->cnt)
			out->type = SQLITE_FLOAT, out->d = s->rsum / (double)s->cnt;
		else if (s->cnt && s->approx)
			out->type = SQLITE_FLOAT, out->d = s->rsum;
		else if (s->cnt)
			out->type = SQLITE_INTEGER, out->i = s->isum;
		break;
	}
	case K_MINMAX: {
		const cval_t *m = (const cval_t *)a;
		if (anyorder && m->aux >> SQLITE_FLOAT & 1)
			return OW_DECLINED;
		if (m->aux)
			cval_get(m, out);
		break;
	}
	case K_SET: {
		const acc_t *d = *(acc_t *const *)a;
		if (it->agg == A_COUNT_DISTINCT) {
			/* past what the set holds, or integers beside reals (1
			 * and 1.0 are one value to SQLite, two keys here):
			 * SQLite's */
			if (d && (d->overflow ||
				  (d->types >> SQLITE_INTEGER & d->types >> SQLITE_FLOAT & 1)))
				return OW_DECLINED;
			out->type = SQLITE_INTEGER;
			out->i = d ? d->cnt : 0;
		} else if (d && d->qn) {
			if (anyorder && d->qreal)
				return OW_DECLINED;
			ow_search_num_t x = ow_search_quantile(d->qv, d->qn, d->qreal, it->q);
			if (d->qreal)
				out->type = SQLITE_FLOAT, out->d = x.d;
			else
				out->type = SQLITE_INTEGER, out->i = x.i;
		}
		break;
	}
	}
	return OW_OK;
}

/* What aggregate it's state a holds beside it: freed. */
static void acc_free(const item_t *it, uint8_t *a)
{
	int kind = acc_kind(it);
	if (kind == K_MINMAX) {
		cval_t *m = (cval_t *)a;
		if (m->type == SQLITE_TEXT || m->type == SQLITE_BLOB)
			free((void *)m->u.p);
	} else if (kind == K_SET && *(acc_t **)a) {
		acc_t *d = *(acc_t **)a;
		free(d->qv);
		free(d->ds);
		ow_buf_free(&d->dk);
		free(d);
	}
}

/* ---- the run ---- */

/* The dictionaries of the id columns (FIXED, read as values) of the row
 * groups read as runs of pages (by_bound), each decoded once a scan and
 * lent to the other runs of its row group (ow_pq_chunkdict_t): a
 * trace_id chunk's dictionary is most of its bytes, and each run read it
 * again (~250 KB a run at 1M log records). Entries are added under mu
 * and only read once added; at most DICTS_MAX bytes of them, the first. */
#define DICTS_MAX ((size_t)32 << 20)
typedef struct {
	const ow_search_part_t *p;
	ow_pq_chunkdict_t cd;
} dict_t;
typedef struct {
	pthread_mutex_t mu;
	dict_t **d;
	size_t n, cap, bytes;
} dicts_t;

/* A segment - a row group of a part, or a buffered chunk - made ready
 * for consume() by prepare(), on any thread: its filters evaluated into
 * sel, the columns the query uses read. */
typedef struct {
	ow_search_part_t *p; /* or */
	const ow_table_t *chunk;
	int rg;
	const uint8_t *imay; /* the part's index blocks that may match, or NULL */
	size_t nrows, selected;
	size_t r0, r1; /* only its rows [r0, r1) (a run of pages); r1 0: all */
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
	ow_eval_t ev;	/* the residual conditions' */
	dicts_t *dicts; /* the scan's */
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
	uint32_t *stamp; /* count(DISTINCT): the group that took an entry last */
	size_t stamp_cap;
	uint32_t *list, *gi; /* grouped: the selected rows of the segment, their groups */
	size_t gi_cap;
	/* the groups: their keys (ngroup each, text in kar), their
	 * aggregates' states (accw bytes each, item i's at acco[i]), and
	 * their hash table (the hash's high half, then index + 1; 0 empty) */
	cval_t *keys;
	uint8_t *accs;
	size_t accw, acco[MAX_ITEMS];
	ow_arena_t kar;
	size_t ngroups, cap;
	uint64_t *slots;
	size_t nslots;
	/* plain rows: owned values, nitems each */
	ow_search_val_t *rows;
	size_t nrows_out, rows_cap;
	/* plain rows under ORDER BY: each row's place in scan order (its
	 * segment's there, then its row), which ties are broken by when the
	 * segments are read in another order (by_bound) */
	uint64_t *seq, at;
	ow_buf_t *xbuf; /* consume()'s expression text, when not in a column */
	ow_eval_t ev;	/* consume()'s and the results' expressions */
	/* SELECT DISTINCT: the rows seen; the types of values each column
	 * and each group term has had (bit SQLITE_*) */
	acc_t seen;
	int types[MAX_ITEMS];
	/* output without sorting: straight out, or into collect (a
	 * subquery's values) */
	ow_search_out_t *o;
	ow_search_val_t *collect;
	size_t ncollect;
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

/* Aggregate i's state in group g. */
static inline uint8_t *acc_at(const run_t *r, size_t g, int i)
{
	return r->accs + g * r->accw + r->acco[i];
}

static int same_keys(const run_t *r, size_t g, const ow_search_val_t *keys)
{
	const cval_t *k = &r->keys[g * (size_t)r->q->ngroup];
	for (int j = 0; j < r->q->ngroup; j++) {
		const ow_search_val_t *v = &keys[j];
		if (k[j].type != v->type)
			return 0;
		if (v->type == SQLITE_INTEGER) {
			if (k[j].u.i != v->i)
				return 0;
		} else if (v->type == SQLITE_TEXT || v->type == SQLITE_BLOB) {
			if (k[j].n != v->n || (v->n && memcmp(k[j].u.p, v->p, v->n)))
				return 0;
		} else if (v->type == SQLITE_FLOAT) {
			ow_search_val_t w;
			cval_get(&k[j], &w);
			if (val_cmp(&w, v) != 0)
				return 0;
		}
	}
	return 1;
}

/* The hash of a group's keys: equal keys (same_keys) hash alike. */
static uint64_t hash_keys(const ow_columnar_t *q, const ow_search_val_t *keys)
{
	uint64_t h = 0x2545f4914f6cdd1dULL;
	for (int g = 0; g < q->ngroup; g++) {
		const ow_search_val_t *v = &keys[g];
		uint64_t w = 0;
		if (v->type == SQLITE_INTEGER) {
			w = (uint64_t)v->i;
		} else if (v->type == SQLITE_FLOAT) {
			double d = v->d == 0 ? 0 : v->d; /* -0.0 groups with 0.0 */
			memcpy(&w, &d, 8);
		} else if (v->type == SQLITE_TEXT) {
			w = hash_bytes(v->p, v->n);
		}
		h = (h ^ w ^ (uint64_t)v->type << 56) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	return h ^ h >> 32;
}

/* The group of keys (its index), made when new; OW_DECLINED (*g
 * unchanged) for a text key past what a cval_t holds. Its place in the
 * table is the hash's high half, which the table keeps. */
static int find_group(run_t *r, const ow_search_val_t *keys, size_t *g)
{
	ow_columnar_t *q = r->q;
	size_t ng = (size_t)q->ngroup;
	uint64_t h = hash_keys(q, keys);
	size_t mask = r->nslots - 1;
	for (size_t i = (h >> 32) & mask;; i = (i + 1) & mask) {
		uint64_t slot = r->slots[i];
		if (slot == 0)
			break;
		if ((slot ^ h) >> 32 == 0 && same_keys(r, (uint32_t)slot - 1, keys)) {
			*g = (uint32_t)slot - 1;
			return OW_OK;
		}
	}
	for (size_t j = 0; j < ng; j++)
		if (keys[j].n > UINT32_MAX)
			return OW_DECLINED;
	if (r->ngroups == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 64;
		r->keys = ow_realloc(r->keys, cap * ng * sizeof(cval_t) + 1);
		r->accs = ow_realloc(r->accs, cap * r->accw + 1);
		memset(r->accs + r->cap * r->accw, 0, (cap - r->cap) * r->accw);
		r->mem += (int64_t)((cap - r->cap) * (ng * sizeof(cval_t) + r->accw));
		r->cap = cap;
	}
	cval_t *k = &r->keys[r->ngroups * ng];
	for (size_t j = 0; j < ng; j++) {
		uint8_t *p = NULL;
		if (keys[j].type == SQLITE_TEXT || keys[j].type == SQLITE_BLOB) {
			p = ow_arena_alloc(&r->kar, OW_MAX(keys[j].n, 1));
			if (keys[j].n)
				memcpy(p, keys[j].p, keys[j].n);
			r->mem += (int64_t)((OW_MAX(keys[j].n, 1) + 7) & ~(size_t)7);
		}
		cval_set(&k[j], &keys[j], p);
		r->types[j] |= 1 << keys[j].type;
	}
	*g = r->ngroups++;
	size_t i = (h >> 32) & mask;
	while (r->slots[i])
		i = (i + 1) & mask;
	r->slots[i] = (h & ~0xffffffffULL) | r->ngroups;
	if (4 * r->ngroups > 3 * r->nslots) /* at most three quarters full */
		rehash(r);
	return OW_OK;
}

static void rehash(run_t *r)
{
	size_t old = r->nslots, n = old ? 2 * old : 1024;
	uint64_t *slots = ow_calloc(n, sizeof(uint64_t));
	for (size_t k = 0; k < old; k++) {
		if (!r->slots[k])
			continue;
		size_t i = (r->slots[k] >> 32) & (n - 1);
		while (slots[i])
			i = (i + 1) & (n - 1);
		slots[i] = r->slots[k];
	}
	free(r->slots);
	r->slots = slots;
	r->nslots = n;
	r->mem += (int64_t)((n - old) * sizeof(uint64_t));
}

/* Value v of expression id from its column's value (in place): a real
 * under ->> as SQLite reads it, through e's connection; OW_DECLINED when
 * SQLite must answer. */
static int derive(const ow_columnar_t *q, ow_buf_t *xbuf, ow_eval_t *e, int id, ow_search_val_t *v)
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
	if (x->kind == X_JSON_TEXT)
		return ow_search_json_text(&x->pp, json.p, json.n, &xbuf[id - q->ncols], v);
	int rc = ow_search_json_get(&x->pp, json.p, json.n, &xbuf[id - q->ncols], v);
	if (rc == OW_DECLINED && v->type == SQLITE_FLOAT && e &&
	    (rc = ow_eval_real(e, v->p, v->n, &v->d)) == OW_OK)
		v->p = NULL, v->n = 0;
	return rc;
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
/* The first row from row on (n at most) that sel selects: a row group's
 * selection can be long stretches of zeros (the pages of other services,
 * of rows the index ruled out), passed over 8 bytes at a time. */
static inline size_t next_selected(const uint8_t *sel, size_t row, size_t n)
{
	while (row < n && (row & 7))
		if (sel[row++])
			return row - 1;
	for (uint64_t w; row + 8 <= n; row += 8) {
		memcpy(&w, sel + row, 8);
		if (w)
			break;
	}
	while (row < n && !sel[row])
		row++;
	return row;
}

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

/* Value of a column, or of a time bucket or ->> of one, at a row. */
static int term_at(const ow_columnar_t *q, const slot_t *sl, ow_buf_t *xbuf, ow_eval_t *e, int id,
		   size_t row, size_t *vpos, size_t *at, char *hex, ow_search_val_t *v)
{
	int c = base(q, id);
	size_t vp = position(sl, c, row, vpos, at);
	if (vp == NO_VALUE) {
		memset(v, 0, sizeof(*v));
		v->type = SQLITE_NULL;
		return OW_OK;
	}
	value(q, sl, c, vp, hex, v);
	return id < q->ncols ? OW_OK : derive(q, xbuf, e, id, v);
}

/* A row as ow_eval reads it: the terms of its leaves at the row. */
typedef struct {
	const ow_columnar_t *q;
	const slot_t *sl;
	ow_buf_t *xbuf;
	ow_eval_t *e;
	size_t row, *vpos, *at;
} rowctx_t;

static int row_leaf(void *arg, const ow_node_t *n, ow_search_val_t *v)
{
	rowctx_t *c = arg;
	int id = n->id;
	char *hex = c->q->defs[base(c->q, id)].type == OW_PQ_FIXED
			? ow_arena_alloc(&c->e->ar, OW_SEARCH_HEX_MAX)
			: NULL;
	return term_at(c->q, c->sl, c->xbuf, c->e, id, c->row, c->vpos, c->at, hex, v);
}

/* Value of column or expression id at a row: a tree evaluated over it. */
static int eval_at(const ow_columnar_t *q, const slot_t *sl, ow_buf_t *xbuf, ow_eval_t *e, int id,
		   size_t row, size_t *vpos, size_t *at, char *hex, ow_search_val_t *v)
{
	if (id < q->ncols || q->x[id - q->ncols].kind != X_TREE)
		return term_at(q, sl, xbuf, e, id, row, vpos, at, hex, v);
	const ow_node_t *t = q->x[id - q->ncols].tree;
	if (t->op >= E_ADD && t->op <= E_REM && t->kid[0]->op == E_REF &&
	    klass_of(q, t->kid[0]->id) == C_INT && t->kid[1]->op == E_LIT &&
	    t->kid[1]->v.type == SQLITE_INTEGER) {
		/* an integer term and an integer, the plain case of eval.c's
		 * arithmetic here (histogram buckets: duration_ns / 1000000) */
		int64_t b = t->kid[1]->v.i, r;
		int rc = term_at(q, sl, xbuf, e, t->kid[0]->id, row, vpos, at, NULL, v);
		if (rc != OW_OK || v->type == SQLITE_NULL)
			return rc;
		int64_t a = v->i;
		if (ow_eval_int_plain(t->op, a, b, &r)) {
			v->i = r;
			return OW_OK;
		}
	}
	rowctx_t c = {q, sl, xbuf, e, row, vpos, at};
	e->leaf = row_leaf;
	e->arg = &c;
	int rc = ow_eval(e, q->x[id - q->ncols].tree, v);
	e->arg = NULL;
	return rc;
}

static int cell(run_t *r, int id, size_t row, size_t *vpos, size_t *at, char *hex,
		ow_search_val_t *v)
{
	return eval_at(r->q, r->sl, r->xbuf, &r->ev, id, row, vpos, at, hex, v);
}

/* SELECT DISTINCT: 1 when the row's shown values are new (*rc
 * OW_DECLINED for integers beside reals in a column: 1 and 1.0 are one
 * value to SQLite, two keys here). */
static int distinct_row(run_t *r, const ow_search_val_t *vals, int *rc)
{
	acc_t *a = &r->seen;
	size_t mark = a->dk.len;
	uint8_t len[4] = {0};
	ow_buf_add(&a->dk, len, 4);
	for (int i = 0; i < r->q->nout; i++) {
		key_add(&a->dk, &vals[i]);
		r->types[i] |= 1 << vals[i].type;
		if (r->types[i] >> SQLITE_INTEGER & r->types[i] >> SQLITE_FLOAT & 1)
			*rc = OW_DECLINED;
	}
	ow_put_u32(a->dk.data + mark, (uint32_t)(a->dk.len - mark - 4));
	if (a->dk.len > UINT32_MAX / 2)
		*rc = OW_DECLINED;
	if (*rc == OW_OK && distinct_add(a, mark)) {
		a->cnt++;
		r->mem += (int64_t)(a->dk.len - mark + 2 * sizeof(uint64_t));
		return 1;
	}
	a->dk.len = mark;
	return 0;
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
	if (r->o) {
		if (ow_search_row_bound(r->s, r->o->nrows, r->err, r->errlen) != OW_OK)
			return OW_ERROR;
		ow_search_out_row(r->o, vals);
	} else {
		if ((r->ncollect & (r->ncollect + 1)) == 0)
			r->collect =
			    ow_realloc(r->collect, (2 * r->ncollect + 1) * sizeof(ow_search_val_t));
		val_own(&r->collect[r->ncollect++], &vals[0]);
		r->mem += (int64_t)(sizeof(ow_search_val_t) + vals[0].n);
	}
	if (r->take > 0 && --r->take == 0)
		r->stop = 1;
	return OW_OK;
}

static void top_k(run_t *r);

/* Two rows (nrow values each) by the ORDER BY terms. */
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
		size_t took = 0;
		acc_t *a = set_acc(acc_at(r, r->gi[k] - 1, i), &took);
		took += q_room(a);
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

/* min or max of an integer column (item i over the n selected rows of
 * r->list, their groups in r->gi): what acc_add does, without a value
 * made a row. */
static void minmax_ints(run_t *r, int i, int c, size_t n, size_t *vpos, size_t *at)
{
	const ow_columnar_t *q = r->q;
	const slot_t *sl = r->sl;
	const uint32_t *code = sl->code[c];
	const ow_col_t *src = code ? &sl->codes[c].dict : sl->col[c];
	int direct = !code && src->nvals == src->nrows, max = q->items[i].agg == A_MAX;
	vpos[c] = at[c] = 0;
	for (size_t k = 0; k < n; k++) {
		size_t vp = direct ? r->list[k] : position(sl, c, r->list[k], vpos, at);
		if (vp == NO_VALUE)
			continue;
		ow_search_val_t x;
		ow_search_cell(&q->defs[c], src, code ? code[vp] : vp, NULL, &x);
		cval_t *m = (cval_t *)acc_at(r, r->gi[k] - 1, i);
		if (!m->aux || (max ? x.i > m->u.i : x.i < m->u.i)) {
			m->type = SQLITE_INTEGER;
			m->u.i = x.i;
			m->n = 0;
		}
		m->aux |= 1 << SQLITE_INTEGER;
	}
}

/* sum, avg and the quantiles of text: SQLite reads it as a number. */
static int numeric_ok(const item_t *it, const ow_search_val_t *v)
{
	return !(it->agg == A_SUM || it->agg == A_AVG || it->agg == A_QUANTILE) ||
	       v->type == SQLITE_NULL || v->type == SQLITE_INTEGER || v->type == SQLITE_FLOAT;
}

/* Row k's value v into aggregate i of its group, after what reading it
 * gave (rc): OW_DECLINED for a value SQLite would read as a number. */
static int take(run_t *r, int i, size_t k, int rc, const ow_search_val_t *v)
{
	const item_t *it = &r->q->items[i];
	if (rc == OW_OK && !numeric_ok(it, v))
		rc = OW_DECLINED;
	if (rc != OW_OK)
		return rc;
	r->mem += (int64_t)acc_add(it, acc_at(r, r->gi[k] - 1, i), v);
	return bounds(r, k);
}

/* ---- expressions a batch at a time ----
 *
 * A tree over integer columns (INT64, INT32, BOOLEAN; values or codes;
 * any column under ISNULL) and literals,
 * under - + * / % (unary and binary), comparisons, AND, OR, NOT, ISNULL,
 * CASE WHEN, iif, abs and scalar min and max, evaluated over the rows
 * of a list VBATCH at a time, a node at a time (a column read once a
 * batch, however often the tree names it): each row's value an integer,
 * NULL, a literal of the tree (a CASE's text answer), or VK_SLOW, left
 * to ow_eval on that row (an overflow, a divisor 0 or -1, a literal that
 * is no integer under an operator). What is not VK_SLOW is the value
 * ow_eval gives, as SQLite's. */
enum { VK_INT, VK_NULL, VK_LIT, VK_SLOW };
#define VBATCH 1024
#define VDEPTH 24 /* deepest tree taken */

typedef struct {
	int64_t *i; /* VK_LIT: the literal node's index in lits */
	uint8_t *k;
} vec_t;

typedef struct {
	const ow_columnar_t *q;
	const slot_t *sl;
	const ow_node_t *tree;
	const uint32_t *list; /* the batch's rows, ascending along the list */
	size_t n;
	/* each column's place along the list (position()'s), and its values
	 * in the batch once read (bit c of have) */
	size_t vpos[64], at[64];
	vec_t colv[64];
	uint64_t have;
	const ow_node_t *lits[64];
	int nlits;
	vec_t pool[2 * VDEPTH]; /* a node's operands at its depth */
} vctx_t;

/* 1 when the tree can be evaluated a batch at a time over sl. */
static int vec_ok(const ow_columnar_t *q, const ow_node_t *t, int depth)
{
	if (depth >= VDEPTH)
		return 0;
	switch (t->op) {
	case E_LIT:
		return 1;
	case E_REF:
		return t->id < q->ncols && klass(&q->defs[t->id]) == C_INT &&
		       (q->defs[t->id].type == OW_PQ_INT64 || q->defs[t->id].type == OW_PQ_INT32 ||
			q->defs[t->id].type == OW_PQ_BOOLEAN);
	case E_FN:
		if (!(t->fn == F_ABS && t->n == 1) && !(t->fn == F_IIF && t->n == 3) &&
		    !((t->fn == F_MIN || t->fn == F_MAX) && t->n >= 2))
			return 0;
		break;
	case E_CASE:
		if (t->fn)
			return 0;
		break;
	case E_NEG:
	case E_ADD:
	case E_SUB:
	case E_MUL:
	case E_DIV:
	case E_REM:
	case E_EQ:
	case E_NE:
	case E_LT:
	case E_LE:
	case E_GT:
	case E_GE:
	case E_AND:
	case E_OR:
	case E_NOT:
		break;
	case E_ISNULL: /* of any column: its NULLs known without its values */
		if (t->kid[0]->op == E_REF && t->kid[0]->id < q->ncols)
			return 1;
		break;
	case E_IS: /* x IS [NOT] NULL as ISNULL, and no other IS */
		return t->kid[0]->op == E_REF && t->kid[0]->id < q->ncols &&
		       t->kid[1]->op == E_LIT && t->kid[1]->v.type == SQLITE_NULL;
	default:
		return 0;
	}
	for (int i = 0; i < t->n; i++)
		if (!vec_ok(q, t->kid[i], depth + 1))
			return 0;
	return 1;
}

static vec_t vec_new(void)
{
	vec_t v = {ow_alloc(VBATCH * sizeof(int64_t)), ow_alloc(VBATCH)};
	return v;
}

static void vec_free(vec_t *v)
{
	free(v->i);
	free(v->k);
}

/* The truth of a row's value: 1, 0, -1 NULL, -2 not known here. */
static inline int vec_truth(const vec_t *v, size_t r)
{
	return v->k[r] == VK_INT ? v->i[r] != 0 : v->k[r] == VK_NULL ? -1 : -2;
}

static void vec_eval(vctx_t *c, const ow_node_t *t, vec_t *out, int depth);

static void vec_col(vctx_t *c, int col, vec_t *out)
{
	vec_t *v = &c->colv[col];
	if (!(c->have >> col & 1)) {
		const ow_col_t *o = c->sl->col[col];
		if (!v->k)
			*v = vec_new();
		c->have |= (uint64_t)1 << col;
		if (!o) {
			memset(v->k, VK_NULL, c->n);
		} else {
			const uint8_t *defs = o->defs.data;
			const uint32_t *code = c->sl->code[col];
			const ow_col_t *src = code ? &c->sl->codes[col].dict : o;
			const ow_pq_coldef_t *d = &c->q->defs[col];
			int direct = o->nvals == o->nrows;
			for (size_t r = 0; r < c->n; r++) {
				size_t row = c->list[r];
				if (!defs[row]) {
					v->k[r] = VK_NULL;
					continue;
				}
				if (!direct) {
					c->vpos[col] +=
					    ow_count_ones(defs + c->at[col], row - c->at[col]);
					c->at[col] = row;
				}
				size_t vp = direct ? row : c->vpos[col];
				ow_search_val_t x;
				char hex[OW_SEARCH_HEX_MAX];
				ow_search_cell(d, src, code ? code[vp] : vp, hex, &x);
				/* a value of another type (under ISNULL): VK_SLOW */
				v->k[r] = x.type == SQLITE_INTEGER ? VK_INT
					  : x.type == SQLITE_NULL  ? VK_NULL
								   : VK_SLOW;
				v->i[r] = x.i;
			}
		}
	}
	memcpy(out->k, v->k, c->n);
	memcpy(out->i, v->i, c->n * sizeof(int64_t));
}

static void vec_lit(vctx_t *c, const ow_node_t *t, vec_t *out)
{
	if (t->v.type == SQLITE_INTEGER || t->v.type == SQLITE_NULL) {
		memset(out->k, t->v.type == SQLITE_NULL ? VK_NULL : VK_INT, c->n);
		for (size_t r = 0; r < c->n; r++)
			out->i[r] = t->v.i;
		return;
	}
	int l = 0;
	while (l < c->nlits && c->lits[l] != t)
		l++;
	if (l == c->nlits && c->nlits < (int)OW_NELEMS(c->lits))
		c->lits[c->nlits++] = t;
	memset(out->k, l < c->nlits ? VK_LIT : VK_SLOW, c->n);
	for (size_t r = 0; r < c->n; r++)
		out->i[r] = l;
}

/* Both operands integers: ok computes the row's value (u op w) into
 * out->i[r], 0 when ow_eval must say (an overflow, a divisor 0 or -1:
 * NULL or a real, its rules); else NULL beside NULL, VK_SLOW beside
 * anything else. */
#define VEC_BINARY(ok)                                                                             \
	for (size_t r = 0; r < n; r++) {                                                           \
		int x = a.k[r], y = b.k[r];                                                        \
		if ((x | y) == VK_INT) {                                                           \
			int64_t u = a.i[r], w = b.i[r];                                            \
			out->k[r] = (ok) ? VK_INT : VK_SLOW;                                       \
		} else {                                                                           \
			out->k[r] = x == VK_SLOW || y == VK_SLOW || x == VK_LIT || y == VK_LIT     \
					? VK_SLOW                                                  \
					: VK_NULL;                                                 \
		}                                                                                  \
	}

static void vec_eval(vctx_t *c, const ow_node_t *t, vec_t *out, int depth)
{
	size_t n = c->n;
	if (t->op == E_LIT) {
		vec_lit(c, t, out);
		return;
	}
	if (t->op == E_REF) {
		vec_col(c, t->id, out);
		return;
	}
	vec_t *pa = &c->pool[2 * depth], *pb = pa + 1;
	if (!pa->k)
		*pa = vec_new(), *pb = vec_new();
	vec_t a = *pa, b = *pb;
	vec_eval(c, t->kid[0], &a, depth + 1);
	switch (t->op) {
	case E_NEG:
	case E_NOT:
	case E_ISNULL:
	case E_IS: /* IS NULL, vec_ok says */
		for (size_t r = 0; r < n; r++) {
			int k = a.k[r];
			out->k[r] = k;
			if (t->op == E_ISNULL || t->op == E_IS) {
				/* a column's VK_SLOW is a value of another type */
				out->k[r] =
				    k == VK_SLOW && t->kid[0]->op != E_REF ? VK_SLOW : VK_INT;
				out->i[r] = (k == VK_NULL) != t->neg;
			} else if (k == VK_LIT) {
				out->k[r] = VK_SLOW;
			} else if (k == VK_INT && t->op == E_NOT) {
				out->i[r] = a.i[r] == 0;
			} else if (k == VK_INT) {
				out->k[r] = a.i[r] == INT64_MIN ? VK_SLOW : VK_INT;
				out->i[r] = a.i[r] == INT64_MIN ? 0 : -a.i[r];
			}
		}
		break;
	case E_AND:
	case E_OR:
		vec_eval(c, t->kid[1], &b, depth + 1);
		for (size_t r = 0; r < n; r++) {
			int x = vec_truth(&a, r), y = vec_truth(&b, r);
			int dominant = t->op == E_AND ? 0 : 1;
			out->k[r] = VK_INT;
			if (x == -2 || y == -2)
				out->k[r] = VK_SLOW;
			else if (x == dominant || y == dominant)
				out->i[r] = dominant;
			else if (x == -1 || y == -1)
				out->k[r] = VK_NULL;
			else
				out->i[r] = !dominant;
		}
		break;
	case E_CASE:
	case E_FN:
		if (t->op == E_FN && t->fn == F_ABS) {
			for (size_t r = 0; r < n; r++) {
				out->k[r] = a.k[r] == VK_LIT ? VK_SLOW : a.k[r];
				if (a.k[r] == VK_INT && a.i[r] == INT64_MIN)
					out->k[r] = VK_SLOW;
				out->i[r] = a.i[r] < 0 ? -a.i[r] : a.i[r];
			}
			break;
		}
		if (t->op == E_FN && (t->fn == F_MIN || t->fn == F_MAX)) {
			/* NULL when an argument is */
			memcpy(out->k, a.k, n);
			memcpy(out->i, a.i, n * sizeof(int64_t));
			for (int j = 1; j < t->n; j++) {
				vec_eval(c, t->kid[j], &b, depth + 1);
				for (size_t r = 0; r < n; r++) {
					int x = out->k[r], y = b.k[r];
					if (x == VK_SLOW || y == VK_SLOW || x == VK_LIT ||
					    y == VK_LIT)
						out->k[r] = VK_SLOW;
					else if (x == VK_NULL || y == VK_NULL)
						out->k[r] = VK_NULL;
					else if (t->fn == F_MIN ? b.i[r] < out->i[r]
								: b.i[r] > out->i[r])
						out->i[r] = b.i[r];
				}
			}
			break;
		}
		/* CASE WHEN c THEN x ... [ELSE y], iif(c, x, y): each row's
		 * value from its first true condition's answer */
		{
			int whens = t->op == E_FN ? 1 : (t->n - (t->neg ? 1 : 0)) / 2;
			int has_else = t->op == E_FN || t->neg;
			uint8_t *done = ow_calloc(n + 1, 1);
			memset(out->k, VK_NULL, n);
			for (int w = 0; w <= whens; w++) {
				const ow_node_t *x;
				if (w < whens) {
					if (w > 0)
						vec_eval(c, t->kid[2 * w], &a, depth + 1);
					x = t->kid[2 * w + 1];
				} else if (has_else) {
					x = t->kid[t->n - 1];
				} else {
					break;
				}
				vec_eval(c, x, &b, depth + 1);
				for (size_t r = 0; r < n; r++) {
					if (done[r])
						continue;
					int truth = w < whens ? vec_truth(&a, r) : 1;
					if (truth == -2) {
						out->k[r] = VK_SLOW, done[r] = 1;
					} else if (truth == 1) {
						out->k[r] = b.k[r], out->i[r] = b.i[r], done[r] = 1;
					}
				}
			}
			free(done);
		}
		break;
	default: /* arithmetic and comparisons */
		vec_eval(c, t->kid[1], &b, depth + 1);
		switch (t->op) {
		case E_ADD:
		case E_SUB:
		case E_MUL:
		case E_DIV:
		case E_REM:
			VEC_BINARY(ow_eval_int_plain(t->op, u, w, &out->i[r]));
			break;
		case E_EQ:
			VEC_BINARY((out->i[r] = u == w, 1));
			break;
		case E_NE:
			VEC_BINARY((out->i[r] = u != w, 1));
			break;
		case E_LT:
			VEC_BINARY((out->i[r] = u < w, 1));
			break;
		case E_LE:
			VEC_BINARY((out->i[r] = u <= w, 1));
			break;
		case E_GT:
			VEC_BINARY((out->i[r] = u > w, 1));
			break;
		default: /* E_GE */
			VEC_BINARY((out->i[r] = u >= w, 1));
			break;
		}
		break;
	}
}

/* Row r's value of a batch (not VK_SLOW). */
static inline void vec_value(const vctx_t *c, const vec_t *v, size_t r, ow_search_val_t *out)
{
	if (v->k[r] == VK_LIT) {
		*out = c->lits[v->i[r]]->v;
		return;
	}
	memset(out, 0, sizeof(*out));
	out->type = v->k[r] == VK_INT ? SQLITE_INTEGER : SQLITE_NULL;
	out->i = v->i[r];
}

/* Expression id a batch at a time over sl's rows, when it can be
 * (vec_ok): 1, with c ready for vec_run (vec_end after). */
static void vec_start(const ow_columnar_t *q, const slot_t *sl, const ow_node_t *tree, vctx_t *c)
{
	memset(c, 0, sizeof(*c));
	c->q = q;
	c->sl = sl;
	c->tree = tree;
}

static int vec_begin(const ow_columnar_t *q, const slot_t *sl, int id, vctx_t *c)
{
	if (id < q->ncols || q->x[id - q->ncols].kind != X_TREE ||
	    !vec_ok(q, q->x[id - q->ncols].tree, 0))
		return 0;
	vec_start(q, sl, q->x[id - q->ncols].tree, c);
	return 1;
}

/* The values of the next n rows of the list (at most VBATCH, after
 * those of the batch before) into out. */
static void vec_run(vctx_t *c, const uint32_t *list, size_t n, vec_t *out)
{
	c->list = list;
	c->n = n;
	c->have = 0;
	vec_eval(c, c->tree, out, 0);
}

static void vec_end(vctx_t *c)
{
	for (int k = 0; k < 64; k++)
		vec_free(&c->colv[k]);
	for (int k = 0; k < 2 * VDEPTH; k++)
		vec_free(&c->pool[k]);
}

/* Reads the leaves of a tree of one column from that column's value. */
typedef struct {
	const ow_columnar_t *q;
	ow_buf_t *xbuf;
	ow_eval_t *e;
	ow_search_val_t raw;
} entryctx_t;

static int entry_leaf(void *arg, const ow_node_t *n, ow_search_val_t *v)
{
	const entryctx_t *c = arg;
	*v = c->raw;
	return n->id < c->q->ncols ? OW_OK : derive(c->q, c->xbuf, c->e, n->id, v);
}

/* A tree of one column read as codes, once a dictionary entry (and once
 * for NULL, last): the values (text in the arena of e). */
static int entries(const ow_columnar_t *q, const slot_t *sl, ow_buf_t *xbuf, ow_eval_t *e,
		   const ow_node_t *tree, int c, ow_search_val_t **out)
{
	const ow_col_t *dict = &sl->codes[c].dict;
	size_t nd = dict->nvals;
	ow_search_val_t *m = ow_arena_alloc(&e->ar, (nd + 1) * sizeof(ow_search_val_t));
	entryctx_t ec = {q, xbuf, e, {.type = SQLITE_NULL}};
	e->leaf = entry_leaf;
	e->arg = &ec;
	for (size_t k = 0; k <= nd; k++) {
		char *hex = ow_arena_alloc(&e->ar, OW_SEARCH_HEX_MAX);
		if (k < nd)
			ow_search_cell(&q->defs[c], dict, k, hex, &ec.raw);
		else
			ec.raw = (ow_search_val_t){.type = SQLITE_NULL};
		int rc = ow_eval(e, tree, &m[k]);
		if (rc != OW_OK) {
			e->arg = NULL;
			return rc;
		}
		if (m[k].type == SQLITE_TEXT && m[k].n) { /* JSON text may be in xbuf */
			uint8_t *p = ow_arena_alloc(&e->ar, m[k].n);
			memcpy(p, m[k].p, m[k].n);
			m[k].p = p;
		}
	}
	e->arg = NULL;
	*out = m;
	return OW_OK;
}

/* An aggregate of a tree over the n selected rows of r->list: of a
 * column read as codes, the tree once an entry; else over each row. */
static int agg_tree(run_t *r, int i, size_t n, size_t *vpos, size_t *at)
{
	const ow_columnar_t *q = r->q;
	const slot_t *sl = r->sl;
	const item_t *it = &q->items[i];
	const expr_t *x = &q->x[it->col - q->ncols];
	const uint32_t *code = x->col >= 0 ? sl->code[x->col] : NULL;
	if (code && sl->codes[x->col].dict.nvals >= n)
		code = NULL; /* more entries than rows */
	ow_search_val_t v, *memo = NULL;
	int rc = OW_OK;
	ow_arena_reset(&r->ev.ar);
	if (code) {
		if ((rc = entries(q, sl, r->xbuf, &r->ev, x->tree, x->col, &memo)) != OW_OK)
			return rc;
		vpos[x->col] = at[x->col] = 0;
	} else {
		memset(vpos, 0, (size_t)q->ncols * sizeof(size_t));
		memset(at, 0, (size_t)q->ncols * sizeof(size_t));
	}
	size_t null = code ? sl->codes[x->col].dict.nvals : 0;
	vctx_t *vc = ow_alloc(sizeof(vctx_t));
	vec_t vv = {NULL, NULL};
	int batch = !code && vec_begin(q, sl, it->col, vc);
	if (batch)
		vv = vec_new();
	for (size_t k = 0; k < n && rc == OW_OK; k++) {
		if (batch && k % VBATCH == 0)
			vec_run(vc, r->list + k, OW_MIN(VBATCH, n - k), &vv);
		if (code) {
			size_t vp = position(sl, x->col, r->list[k], vpos, at);
			v = memo[vp == NO_VALUE ? null : code[vp]];
		} else if (batch && vv.k[k % VBATCH] != VK_SLOW) {
			vec_value(vc, &vv, k % VBATCH, &v);
		} else {
			ow_arena_reset(&r->ev.ar);
			rc = cell(r, it->col, r->list[k], vpos, at, NULL, &v);
		}
		rc = take(r, i, k, rc, &v);
	}
	if (batch)
		vec_end(vc), vec_free(&vv);
	free(vc);
	return rc;
}

/* An aggregate with FILTER (WHERE cond) over the n selected rows of
 * r->list: the rows where cond is true, a row at a time. */
static int agg_filtered(run_t *r, int i, size_t n, size_t *vpos, size_t *at)
{
	const ow_columnar_t *q = r->q;
	const item_t *it = &q->items[i];
	char hex[2][OW_SEARCH_HEX_MAX];
	ow_search_val_t v, w;
	int rc = OW_OK, t;
	memset(vpos, 0, (size_t)q->ncols * sizeof(size_t));
	memset(at, 0, (size_t)q->ncols * sizeof(size_t));
	for (size_t k = 0; k < n && rc == OW_OK; k++) {
		ow_arena_reset(&r->ev.ar);
		rc = cell(r, it->filter, r->list[k], vpos, at, hex[0], &w);
		if (rc == OW_OK && ow_eval_value_truth(&w, &t) != OW_OK)
			rc = OW_DECLINED;
		if (rc != OW_OK || t != 1)
			continue;
		v = (ow_search_val_t){.type = SQLITE_NULL};
		if (it->col >= 0)
			rc = cell(r, it->col, r->list[k], vpos, at, hex[1], &v);
		rc = take(r, i, k, rc, &v);
	}
	return rc;
}

/* Grouped: the group of every selected row first, then each aggregate
 * over the rows, a column at a time (each aggregate still takes its
 * values in the rows' order, which sums of reals depend on). */
/* No GROUP BY, every row of the segment selected, and only count(*) and
 * count(DISTINCT) of columns read as codes: the counts, and each entry
 * a value takes taken once (its value made and looked up that once),
 * without a row listed; 0 when the query is not all those. */
static int count_codes(run_t *r, int *rc)
{
	const ow_columnar_t *q = r->q;
	const slot_t *sl = r->sl;
	if (q->ngroup || sl->selected != sl->nrows)
		return 0;
	for (int i = 0; i < q->nitems; i++) {
		const item_t *it = &q->items[i];
		if (it->filter >= 0 || !((it->agg == A_COUNT && it->col < 0) ||
					 (it->agg == A_COUNT_DISTINCT && it->col >= 0 &&
					  it->col < q->ncols && sl->code[it->col])))
			return 0;
	}
	size_t g;
	if (!r->ngroups)
		find_group(r, NULL, &g);
	for (int i = 0; i < q->nitems && *rc == OW_OK; i++) {
		const item_t *it = &q->items[i];
		if (it->agg == A_COUNT) {
			*(int64_t *)acc_at(r, 0, i) += (int64_t)sl->nrows;
			continue;
		}
		int c = it->col;
		const ow_col_t *dict = &sl->codes[c].dict;
		const uint32_t *code = sl->code[c];
		size_t nd = dict->nvals, nv = sl->codes[c].codes.len / sizeof(uint32_t);
		uint32_t *seen = r->stamp = zeroed(r->stamp, &r->stamp_cap, nd, sizeof(uint32_t));
		for (size_t k = 0; k < nv; k++)
			seen[code[k]] = 1;
		char hex[OW_SEARCH_HEX_MAX];
		for (size_t e = 0; e < nd && *rc == OW_OK; e++) {
			ow_search_val_t v;
			if (!seen[e])
				continue;
			ow_search_cell(&q->defs[c], dict, e, hex, &v);
			r->mem += (int64_t)acc_add(it, acc_at(r, 0, i), &v);
			*rc = bounds(r, 0);
		}
	}
	return 1;
}

static int consume_groups(run_t *r)
{
	ow_columnar_t *q = r->q;
	const slot_t *sl = r->sl;
	int crc = OW_OK;
	if (count_codes(r, &crc))
		return crc;
	size_t *vpos, *at;
	char(*hex)[OW_SEARCH_HEX_MAX] = steps(q, q->ngroup + 1, &vpos, &at);
	ow_search_val_t v, keys[MAX_ITEMS];
	int rc = OW_OK;
	uint32_t last = 0; /* index + 1: parts are sorted, the last row's group often */
	/* one group term of columns read as codes (at most 4, and 4096
	 * combinations of their entries and NULL): its groups by combination,
	 * the term evaluated once a combination */
	int mc[4], nmc = 0;
	size_t stride[4], ncombo = 1;
	uint64_t tc = q->ngroup == 1 ? term_cols(q, q->group[0]) : 0;
	for (int c = 0; tc && c < q->ncols; c++) {
		if (!(tc >> c & 1))
			continue;
		if (nmc == 4 || !sl->code[c] || !sl->col[c] ||
		    (ncombo *= sl->codes[c].dict.nvals + 1) > 4096) {
			nmc = 0;
			break;
		}
		stride[nmc] = ncombo / (sl->codes[c].dict.nvals + 1);
		mc[nmc++] = c;
	}
	if (nmc)
		r->gmap = zeroed(r->gmap, &r->gmap_cap, ncombo, sizeof(uint32_t));
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
	/* group terms that are trees of integer columns: a batch at a time */
	vctx_t *vc = ow_alloc(((size_t)q->ngroup + 1) * sizeof(vctx_t));
	vec_t *vv = ow_calloc((size_t)q->ngroup + 1, sizeof(vec_t));
	int nbatch = 0;
	for (int g = 0; g < q->ngroup && !nmc; g++)
		if (vec_begin(q, sl, q->group[g], &vc[g]))
			vv[g] = vec_new(), nbatch++;
	if (q->ngroup == 0 && n) { /* one group */
		size_t g;
		if (!r->ngroups)
			find_group(r, NULL, &g);
		for (size_t k = 0; k < n; k++)
			r->gi[k] = 1;
	}
	for (size_t k = 0; k < n && rc == OW_OK && q->ngroup; k++) {
		size_t row = r->list[k];
		uint32_t *known = NULL;
		if (nmc) {
			size_t combo = 0;
			for (int j = 0; j < nmc; j++) {
				size_t vp = position(sl, mc[j], row, vpos, at);
				combo += (vp == NO_VALUE ? sl->codes[mc[j]].dict.nvals
							 : sl->code[mc[j]][vp]) *
					 stride[j];
			}
			known = &r->gmap[combo];
			if (*known) {
				r->gi[k] = *known;
				continue;
			}
		}
		ow_arena_reset(&r->ev.ar);
		for (int g = 0; nbatch && k % VBATCH == 0 && g < q->ngroup; g++)
			if (vv[g].k)
				vec_run(&vc[g], r->list + k, OW_MIN(VBATCH, n - k), &vv[g]);
		if (!known || !*known) {
			for (int g = 0; g < q->ngroup && rc == OW_OK; g++)
				if (vv[g].k && vv[g].k[k % VBATCH] != VK_SLOW)
					vec_value(&vc[g], &vv[g], k % VBATCH, &keys[g]);
				else
					rc = cell(r, q->group[g], row, vpos, at, hex[g], &keys[g]);
			if (rc != OW_OK)
				break;
			if (!last || !same_keys(r, last - 1, keys)) {
				size_t g;
				if ((rc = find_group(r, keys, &g)) != OW_OK)
					break;
				last = (uint32_t)g + 1;
			}
			if (known)
				*known = last;
		}
		r->gi[k] = known ? *known : last;
		rc = bounds(r, k);
	}
	for (int g = 0; g < q->ngroup; g++)
		if (vv[g].k)
			vec_end(&vc[g]), vec_free(&vv[g]);
	free(vc), free(vv);
	for (int i = 0; i < q->nitems && rc == OW_OK; i++) {
		const item_t *it = &q->items[i];
		if (it->agg == A_NONE)
			continue;
		if (it->filter >= 0) {
			rc = agg_filtered(r, i, n, vpos, at);
			continue;
		}
		if (it->agg == A_COUNT && it->col < 0 && q->ngroup == 0) {
			*(int64_t *)acc_at(r, 0, i) += (int64_t)n;
			continue;
		}
		if (it->agg == A_COUNT && it->col < 0) {
			for (size_t k = 0; k < n; k++)
				(*(int64_t *)acc_at(r, r->gi[k] - 1, i))++;
			continue;
		}
		if (it->col >= q->ncols && q->x[it->col - q->ncols].kind == X_TREE) {
			rc = agg_tree(r, i, n, vpos, at);
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
		if ((it->agg == A_MIN || it->agg == A_MAX) && it->col == c && c >= 0 &&
		    sl->col[c] && klass(&q->defs[c]) == C_INT) {
			minmax_ints(r, i, c, n, vpos, at);
			continue;
		}
		const ow_col_t *src = code ? &sl->codes[c].dict : c >= 0 ? sl->col[c] : NULL;
		/* a value a row (no NULL): the row is its index */
		int direct = c >= 0 && !code && src && src->nvals == src->nrows;
		/* count(DISTINCT) of a column read as codes: an entry taken by a
		 * group once while no other group takes it (stamp: the group
		 * that took it last), its value made and looked up that once */
		uint32_t *stamp = NULL;
		if (code && it->agg == A_COUNT_DISTINCT && it->col == c)
			stamp = r->stamp =
			    zeroed(r->stamp, &r->stamp_cap, src->nvals, sizeof(uint32_t));
		if (c >= 0)
			vpos[c] = at[c] = 0;
		memset(&v, 0, sizeof(v));
		for (size_t k = 0; k < n && rc == OW_OK; k++) {
			size_t vp = direct   ? r->list[k]
				    : c >= 0 ? position(sl, c, r->list[k], vpos, at)
					     : NO_VALUE;
			if (stamp && vp != NO_VALUE) {
				if (stamp[code[vp]] == r->gi[k])
					continue;
				stamp[code[vp]] = r->gi[k];
			}
			v.type = SQLITE_NULL;
			if (vp != NO_VALUE)
				ow_search_cell(&q->defs[c], src, code ? code[vp] : vp,
					       hex[q->ngroup], &v);
			rc = take(r, i, k,
				  it->col >= q->ncols &&
					  derive(q, r->xbuf, &r->ev, it->col, &v) != OW_OK
				      ? OW_DECLINED
				      : OW_OK,
				  &v);
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
	/* DISTINCT of columns read as codes: the rows' codes seen in this
	 * segment first, so a row seen is not read */
	uint64_t *seen = NULL, mask = 0;
	int coded = q->distinct && q->nitems <= 3;
	for (int i = 0; i < q->nitems && coded; i++)
		coded = q->items[i].col < q->ncols && sl->code[q->items[i].col] &&
			sl->codes[q->items[i].col].dict.nvals < 0xffff;
	if (coded) {
		size_t cap = 64;
		while (cap < 2 * sl->selected)
			cap *= 2;
		seen = ow_calloc(cap, sizeof(uint64_t));
		mask = cap - 1;
	}
	/* ORDER BY with a LIMIT, once as many rows are kept as can be in it:
	 * a row's ORDER BY items read first, the others only when it sorts
	 * before the last kept (columns, whose reading cannot fail) */
	uint8_t ord[MAX_ITEMS] = {0};
	int ahead = q->norder > 0 && !q->distinct;
	for (int k = 0; k < q->norder; k++)
		ord[q->order[k].item] = 1;
	for (int i = 0; i < q->nitems; i++)
		if (!ord[i] && q->items[i].col >= q->ncols)
			ahead = 0;
	size_t end = sl->r1 ? sl->r1 : sl->nrows;
	for (size_t row = sl->r0; row < end && rc == OW_OK && !r->stop; row++) {
		if (!sl->sel[row] && (row = next_selected(sl->sel, row, end)) == end)
			break; /* no row selected left (positions count from any row) */
		if (sl->sel[row] && seen) {
			uint64_t key = 1; /* never 0, the empty slot */
			for (int i = 0; i < q->nitems; i++) {
				int c = q->items[i].col;
				size_t vp = position(sl, c, row, vpos, at);
				key = key << 16 | (vp == NO_VALUE ? 0xffff : sl->code[c][vp]);
			}
			size_t h = (size_t)(key * 0x9e3779b97f4a7c15ULL >> 20) & mask;
			while (seen[h] && seen[h] != key)
				h = (h + 1) & mask;
			if (seen[h]) {
				rc = bounds(r, row);
				continue;
			}
			seen[h] = key;
		}
		if (sl->sel[row]) {
			ow_arena_reset(&r->ev.ar);
			int early = ahead && r->worst >= 0, cmp = 0;
			uint8_t got[MAX_ITEMS];
			memset(got, 0, (size_t)q->nitems);
			/* early: the ORDER BY items one by one, until one decides */
			const ow_search_val_t *last =
			    early ? &r->rows[(size_t)r->worst * (size_t)q->nrow] : NULL;
			for (int k = 0; early && k < q->norder && rc == OW_OK && !cmp; k++) {
				int i = q->order[k].item;
				if (q->items[i].col >= 0 && !got[i])
					rc = cell(r, q->items[i].col, row, vpos, at, hex[i],
						  &vals[i]);
				got[i] = 1;
				cmp = val_cmp(&vals[i], &last[i]);
				cmp = q->order[k].desc ? -cmp : cmp;
			}
			if (rc != OW_OK)
				break;
			uint64_t seq = r->at << 32 | row;
			if (early && cmp == 0) /* a tie: after when it came later */
				cmp = seq > r->seq[r->worst] ? 1 : -1;
			if (early && cmp >= 0) {
				rc = bounds(r, row);
				continue;
			}
			for (int i = 0; i < q->nitems && rc == OW_OK; i++)
				if (q->items[i].col >= 0 && !got[i])
					rc = cell(r, q->items[i].col, row, vpos, at, hex[i],
						  &vals[i]);
			if (rc != OW_OK)
				break;
			if (q->distinct && !distinct_row(r, vals, &rc)) {
				if (rc != OW_OK)
					break;
			} else if (q->norder == 0) {
				rc = emit(r, vals);
			} else if (r->worst < 0 ||
				   (cmp = order_cmp(q, vals,
						    &r->rows[(size_t)r->worst * (size_t)q->nrow])) <
				       0 ||
				   (cmp == 0 && seq < r->seq[r->worst])) {
				/* not after the last of the rows kept (a tie that came
				 * later: after it) */
				if (r->nrows_out == r->rows_cap) {
					r->rows_cap = r->rows_cap ? 2 * r->rows_cap : 256;
					r->rows =
					    ow_realloc(r->rows, r->rows_cap * (size_t)q->nitems *
								    sizeof(ow_search_val_t));
					r->seq = ow_realloc(r->seq, r->rows_cap * sizeof(uint64_t));
				}
				r->seq[r->nrows_out] = seq;
				for (int i = 0; i < q->nitems; i++) {
					val_own(
					    &r->rows[r->nrows_out * (size_t)q->nitems + (size_t)i],
					    &vals[i]);
					r->mem += (int64_t)(sizeof(ow_search_val_t) + vals[i].n);
				}
				r->nrows_out++;
				if (r->keep >= 0 && r->nrows_out > 1024 &&
				    (r->nrows_out - 1024) / 2 >= (size_t)r->keep)
					top_k(r);
			}
		}
		if (rc == OW_OK)
			rc = bounds(r, row);
	}
	free(seen);
	free(vpos), free(at), free(hex);
	return rc;
}

/* Filters that rule out, in one pass over a column's values (not
 * codes), the values that do not hold a text:
 * - col LIKE '%needle%' (or NOT LIKE) on a text column: a value without
 *   the needle in any case does not match; match(col, query) neither
 *   without the query's longest token;
 * - col ->> 'path' = 'text' (or IN texts): a value that holds no literal,
 *   and no escape, has no member equal to one, and need not be parsed.
 *   Texts only: a number matches no text, and an object's or an array's
 *   text may be written otherwise. */
static int may_filter(const ow_columnar_t *q, const filt_t *f)
{
	if (f->col < q->ncols)
		return q->defs[f->col].type == OW_PQ_BYTE_ARRAY && f->nneedle &&
		       (f->op == F_LIKE || f->op == F_NOT_LIKE || f->op == F_MATCH);
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

/* The dictionary of column fc of row group rg of part p in d, or NULL. */
static ow_pq_chunkdict_t *dict_find(dicts_t *d, const ow_search_part_t *p, int rg, int fc)
{
	ow_pq_chunkdict_t *cd = NULL;
	pthread_mutex_lock(&d->mu);
	for (size_t k = 0; k < d->n && !cd; k++)
		if (d->d[k]->p == p && d->d[k]->cd.rg == rg && d->d[k]->cd.col == fc)
			cd = &d->d[k]->cd;
	pthread_mutex_unlock(&d->mu);
	return cd;
}

/* *cd (a dictionary a read of p decoded) into d, or freed: another read
 * added its chunk's first, or d holds DICTS_MAX bytes. */
static void dict_keep(dicts_t *d, const ow_search_part_t *p, ow_pq_chunkdict_t *cd)
{
	size_t bytes = ow_col_bytes_held(&cd->entries);
	int kept = 0;
	pthread_mutex_lock(&d->mu);
	int has = 0;
	for (size_t k = 0; k < d->n && !has; k++)
		has = d->d[k]->p == p && d->d[k]->cd.rg == cd->rg && d->d[k]->cd.col == cd->col;
	if (!has && d->bytes + bytes <= DICTS_MAX) {
		if (d->n == d->cap)
			d->d = ow_realloc(d->d,
					  (d->cap = d->cap ? 2 * d->cap : 16) * sizeof(dict_t *));
		dict_t *x = ow_alloc(sizeof(dict_t));
		*x = (dict_t){p, *cd};
		d->d[d->n++] = x;
		d->bytes += bytes;
		kept = 1;
	}
	pthread_mutex_unlock(&d->mu);
	if (!kept)
		ow_col_free(&cd->entries);
}

static void dicts_free(dicts_t *d)
{
	for (size_t k = 0; k < d->n; k++) {
		ow_col_free(&d->d[k]->cd.entries);
		free(d->d[k]);
	}
	free(d->d);
	pthread_mutex_destroy(&d->mu);
}

/* The shredded column of the segment as ow_shred_read_keys gives it, for
 * q's keys, when the part shreds each of them: OW_OK or OW_ERROR (err);
 * OW_DECLINED (nothing read) when it does not. */
static int read_keys(const ow_columnar_t *q, slot_t *sl, ow_col_t *o, ow_pq_codes_t *codes,
		     char *err, size_t errlen)
{
	ow_shred_cols_t sc;
	int want[OW_SHRED_MAX],
	    rc = ow_shred_find(sl->p->pq, q->signal, q->jcol, &sc) > 0 ? OW_OK : OW_DECLINED;
	for (int k = 0; rc == OW_OK && k < q->njkey; k++)
		if ((want[k] = ow_shred_key(&sc, q->jkey[k], q->jklen[k])) < 0)
			rc = OW_DECLINED;
	if (rc == OW_OK) {
		if (codes) {
			codes->has_codes = 0;
			codes->codes.len = 0;
		}
		rc = ow_shred_read_keys(sl->p->pq, &sc, want, q->njkey, sl->rg, sl->sel, o,
					&sl->bytes, err, errlen);
	}
	ow_shred_cols_free(&sc);
	return rc;
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
	/* only the pages with a row still selected; codes rather than values,
	 * but ids as their bytes (a trace_id chunk has a dictionary: the spans
	 * of a trace share it; id filters compare bytes) */
	pagearg_t arg = {q, c, pass, sl, by && may_filter(q, by) ? by : NULL};
	ow_pq_pagefilter_t pf = {page_may, &arg, sl->sel, arg.by ? got_page : NULL};
	ow_pq_codes_t *codes = q->defs[c].type == OW_PQ_FIXED ? NULL : &sl->codes[c];
	sl->may_for = arg.by;
	/* a run of pages: the dictionary its row group's other runs decoded */
	ow_pq_chunkdict_t mine = {0}, *cd = NULL;
	int rc =
	    c == q->jcol && q->njkey ? read_keys(q, sl, o, codes, err, sizeof(err)) : OW_DECLINED;
	if (rc == OW_OK && arg.by && o->nvals)
		got_page(&arg, o, 0); /* the values that may pass, as a page read marks them */
	if (rc == OW_DECLINED) {
		if (!codes && sl->r1 && sl->dicts)
			cd = dict_find(sl->dicts, sl->p, sl->rg, fc);
		rc = ow_search_read_col(sl->p, q->signal, c, sl->rg, sl->sel, by ? &pf : NULL, o,
					codes,
					cd				? cd
					: !codes && sl->r1 && sl->dicts ? &mine
									: NULL,
					&sl->bytes, err, sizeof(err));
		if (mine.has)
			dict_keep(sl->dicts, sl->p, &mine);
	}
	if (rc != OW_OK) {
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
	if (codes && codes->has_codes)
		sl->code[c] = (const uint32_t *)codes->codes.data;
	return OW_OK;
}

/* 1 when id (len bytes) is among the filter's ids (its hash set). */
static int id_in(const fext_t *e, const filt_t *f, size_t len, const uint8_t *id)
{
	for (size_t i = hash_bytes(id, len) & e->idmask;; i = (i + 1) & e->idmask) {
		uint32_t k = e->idset[i];
		if (!k)
			return 0;
		if (memcmp(f->ids + (k - 1) * len, id, len) == 0)
			return 1;
	}
}

/* IN, NOT IN of many ids, on the ids' bytes through their hash set. */
static size_t id_set_filter(const ow_columnar_t *q, slot_t *sl, const filt_t *f, const ow_col_t *o)
{
	const fext_t *e = &q->fx[f - q->f];
	size_t len = (size_t)q->defs[f->col].fixed_len, selected = 0;
	int in = f->op == F_IN;
	for (size_t row = 0, vp = 0; row < sl->nrows; row++) {
		int defined = o && o->defs.data[row];
		if (sl->sel[row]) {
			int match = defined && id_in(e, f, len, o->fixed.data + vp * len);
			sl->sel[row] = (uint8_t)(defined && match == in);
			selected += sl->sel[row];
		}
		vp += (size_t)defined;
	}
	return selected;
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
 * (got_page) when the filter is the one that read the column, else now;
 * a buffered chunk's column whose values refer to shared entries (a
 * resource's, column.h's refs) has its entries marked, once each. */
static const uint8_t *values_may(const ow_columnar_t *q, slot_t *sl, const filt_t *f,
				 const ow_col_t *o)
{
	if (!o || sl->code[base(q, f->col)] || !may_filter(q, f))
		return NULL;
	if (sl->may_for == f && sl->may_done == o->nvals)
		return sl->may;
	sl->may = zeroed(sl->may, &sl->may_cap, o->nvals, 1);
	if (!o->refs.len) {
		mark_may(f, o, 0, o->nvals, sl->may);
		return sl->may;
	}
	size_t nent = o->offs.len / 4;
	uint8_t *em = ow_alloc(OW_MAX(nent, 1));
	mark_may(f, o, 0, nent, em);
	const uint32_t *ref = (const uint32_t *)(const void *)o->refs.data;
	for (size_t v = 0; v < o->nvals; v++)
		sl->may[v] = em[ref[v]];
	free(em);
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
		sl->memo[e] = (uint8_t)filter_holds(q, f, &v);
	}
	v = (ow_search_val_t){.type = SQLITE_NULL};
	const uint8_t null_holds = (uint8_t)filter_holds(q, f, &v), *defs = o->defs.data,
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
	if (f->ids && q->fx[i].idset) {
		*selected = id_set_filter(q, sl, f, o);
		return OW_OK;
	}
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
		if (!sl->sel[row]) { /* unselected: only their values counted */
			size_t to = next_selected(sl->sel, row, sl->nrows);
			vp += o ? ow_count_ones(o->defs.data + row, to - row) : 0;
			if ((row = to) == sl->nrows)
				break;
		}
		int defined = o && o->defs.data[row];
		if (sl->sel[row]) {
			uint8_t m = defined && code ? sl->memo[code[vp]] : 0;
			if (may && defined && !may[vp])
				m = f->op == F_NOT_LIKE ? 2 : 1; /* no such text in it */
			if (!m) {
				v.type = SQLITE_NULL;
				if (defined)
					value(q, sl, c, vp, hex, &v);
				if (f->col >= q->ncols &&
				    derive(q, sl->xbuf, &sl->ev, f->col, &v) != OW_OK)
					return OW_DECLINED;
				m = (uint8_t)(1 + filter_holds(q, f, &v));
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

/* n, a comparison of an integer column's raw values (not codes) with a
 * number (a real exactly, as eval.c compares), at each selected row into
 * t: 1 when it applied. */
static int int_compare(const ow_columnar_t *q, const slot_t *sl, const ow_node_t *n, uint8_t *t)
{
	if (n->op < E_EQ || n->op > E_GE || n->kid[0]->op != E_REF || n->kid[1]->op != E_LIT ||
	    (n->kid[1]->v.type != SQLITE_INTEGER && n->kid[1]->v.type != SQLITE_FLOAT))
		return 0;
	int c = n->kid[0]->id;
	const ow_pq_coldef_t *d = c < q->ncols ? &q->defs[c] : NULL;
	const ow_col_t *o = d ? sl->col[c] : NULL;
	if (!o || sl->code[c] ||
	    (d->type != OW_PQ_INT64 && (d->type != OW_PQ_INT32 || d->logical == OW_PQ_L_UINT32)))
		return 0;
	const ow_search_val_t *lit = &n->kid[1]->v;
	int real = lit->type == SQLITE_FLOAT, wide = d->type == OW_PQ_INT64, op = n->op;
	int64_t x = lit->i;
	long double xd = real ? (long double)lit->d : 0;
	const uint8_t *v = o->fixed.data, *defs = o->defs.data, *sel = sl->sel;
	for (size_t row = 0, vp = 0; row < sl->nrows; row++) {
		uint8_t dv = defs[row];
		if (sel[row]) {
			int64_t y = !dv	   ? 0
				    : wide ? (int64_t)ow_get_u64(v + 8 * vp)
					   : (int32_t)ow_get_u32(v + 4 * vp);
			int cmp = real ? ((long double)y > xd) - ((long double)y < xd)
				       : (y > x) - (y < x);
			int r = op == E_EQ   ? cmp == 0
				: op == E_NE ? cmp != 0
				: op == E_LT ? cmp < 0
				: op == E_LE ? cmp <= 0
				: op == E_GT ? cmp > 0
					     : cmp >= 0;
			t[row] = dv ? (uint8_t)r : 2;
		}
		vp += dv;
	}
	return 1;
}

/* The truth of condition n at each selected row, into t (a byte a row: 0
 * false, 1 true, 2 NULL): AND, OR and NOT a column's worth at a time
 * over the truths of their sides; a comparison of an integer column with
 * an integer on the raw values; a condition of one column read as codes
 * once a dictionary entry; any other at each row. Both sides of AND and
 * OR are evaluated at every row (only an OW_DECLINED can tell, and that
 * hands the query to SQLite). */
static int truths(const ow_columnar_t *q, slot_t *sl, const ow_node_t *n, size_t selected,
		  uint8_t *t)
{
	static const uint8_t and3[3][3] = {{0, 0, 0}, {0, 1, 2}, {0, 2, 2}};
	static const uint8_t or3[3][3] = {{0, 1, 2}, {1, 1, 1}, {2, 1, 2}};
	const uint8_t *sel = sl->sel;
	int rc = OW_OK;
	/* of one column read as codes: evaluated once an entry, whole */
	uint64_t cols = tree_cols(q, n);
	int c = cols && !(cols & (cols - 1)) ? __builtin_ctzll(cols) : -1;
	const uint32_t *code = c >= 0 ? sl->code[c] : NULL;
	if (code && sl->codes[c].dict.nvals >= selected)
		code = NULL; /* more entries than rows */
	if (!code && (n->op == E_AND || n->op == E_OR)) {
		uint8_t *u = ow_alloc(sl->nrows + 1);
		if ((rc = truths(q, sl, n->kid[0], selected, t)) == OW_OK &&
		    (rc = truths(q, sl, n->kid[1], selected, u)) == OW_OK)
			for (size_t row = next_selected(sel, 0, sl->nrows); row < sl->nrows;
			     row = next_selected(sel, row + 1, sl->nrows))
				t[row] =
				    n->op == E_AND ? and3[t[row]][u[row]] : or3[t[row]][u[row]];
		free(u);
		return rc;
	}
	if (!code && n->op == E_NOT) {
		static const uint8_t not3[3] = {1, 0, 2};
		if ((rc = truths(q, sl, n->kid[0], selected, t)) == OW_OK)
			for (size_t row = next_selected(sel, 0, sl->nrows); row < sl->nrows;
			     row = next_selected(sel, row + 1, sl->nrows))
				t[row] = not3[t[row] > 2 ? 2 : t[row]];
		return rc;
	}
	if (!code && int_compare(q, sl, n, t))
		return OW_OK;
	ow_eval_t *e = &sl->ev;
	size_t *vpos = ow_calloc((size_t)q->ncols, sizeof(size_t));
	size_t *at = ow_calloc((size_t)q->ncols, sizeof(size_t));
	ow_search_val_t *memo = NULL, v;
	uint8_t *mt = NULL;
	int tr;
	size_t null = code ? sl->codes[c].dict.nvals : 0;
	ow_arena_reset(&e->ar);
	if (code && (rc = entries(q, sl, sl->xbuf, e, n, c, &memo)) == OW_OK) {
		mt = ow_arena_alloc(&e->ar, null + 1);
		for (size_t k = 0; k <= null && rc == OW_OK; k++) {
			rc = ow_eval_value_truth(&memo[k], &tr) == OW_OK ? OW_OK : OW_DECLINED;
			mt[k] = (uint8_t)(tr < 0 ? 2 : tr);
		}
	}
	rowctx_t rx = {q, sl, sl->xbuf, e, 0, vpos, at};
	/* of integer columns: a batch of the selected rows at a time, eval.c
	 * for the rows vec_eval leaves to it */
	vctx_t *vc = NULL;
	vec_t vv = {NULL, NULL};
	uint32_t *batch = NULL;
	size_t nb = 0, bi = 0;
	if (!code && vec_ok(q, n, 0)) {
		vc = ow_alloc(sizeof(*vc));
		vec_start(q, sl, n, vc);
		vv = vec_new();
		batch = ow_alloc(VBATCH * sizeof(uint32_t));
	}
	for (size_t row = next_selected(sel, 0, sl->nrows); row < sl->nrows && rc == OW_OK;
	     row = next_selected(sel, row + 1, sl->nrows)) {
		if (code) {
			size_t vp = position(sl, c, row, vpos, at);
			t[row] = mt[vp == NO_VALUE ? null : code[vp]];
			continue;
		}
		if (vc) {
			if (bi == nb) { /* the next selected rows, from this one */
				nb = bi = 0;
				for (size_t x = row; x < sl->nrows && nb < VBATCH; x++)
					if (sel[x])
						batch[nb++] = (uint32_t)x;
				vec_run(vc, batch, nb, &vv);
			}
			int vt = vec_truth(&vv, bi++);
			if (vt != -2) {
				t[row] = (uint8_t)(vt < 0 ? 2 : vt);
				continue;
			}
		}
		ow_arena_reset(&e->ar);
		e->leaf = row_leaf;
		e->arg = &rx;
		rx.row = row;
		tr = -1;
		if ((rc = ow_eval(e, n, &v)) == OW_OK && ow_eval_value_truth(&v, &tr) != OW_OK)
			rc = OW_DECLINED;
		t[row] = (uint8_t)(tr < 0 ? 2 : tr);
		if (ow_search_poll()) /* the clock once in 1024 calls */
			rc = OW_ERROR;
	}
	if (vc)
		vec_end(vc), vec_free(&vv);
	free(vc), free(batch);
	e->arg = NULL;
	free(vpos);
	free(at);
	return rc;
}

/* Residual condition k of WHERE on the rows still selected (its columns
 * read). Only the selected rows' truths are set and read: of a page
 * segment's row group, the pages of the others are not touched. */
static int residual(const ow_columnar_t *q, slot_t *sl, int k, size_t *selected)
{
	uint8_t *t = ow_alloc(sl->nrows + 1);
	int rc = truths(q, sl, q->resid[k], *selected, t);
	size_t n = 0;
	for (size_t row = next_selected(sl->sel, 0, sl->nrows); row < sl->nrows && rc == OW_OK;
	     row = next_selected(sl->sel, row + 1, sl->nrows)) {
		sl->sel[row] = t[row] == 1;
		n += sl->sel[row];
	}
	free(t);
	*selected = n;
	return rc;
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
	if (sl->r1) { /* a run of pages: the other rows' pages are not read */
		memset(sl->sel, 0, sl->r0);
		memset(sl->sel + sl->r1, 0, sl->nrows - sl->r1);
		selected = sl->r1 - sl->r0;
	}
	if (!sl->chunk && sl->imay) /* the index: the blocks that may match */
		selected = ow_scan_index_sel(sl->imay, sl->p, sl->rg, sl->sel, sl->nrows);
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
	for (int k = 0; k < q->nresid && selected; k++) {
		for (int c = 0; c < q->ncols; c++) {
			if (!(q->rcols[k] >> c & 1) || (loaded >> c & 1))
				continue;
			if (load_col(q, sl, c, NULL, 0) != OW_OK)
				return OW_ERROR;
			loaded |= (uint64_t)1 << c;
		}
		int rc = residual(q, sl, k, &selected);
		if (rc != OW_OK)
			return rc;
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
	uint8_t *may; /* the part's index blocks that may match (ow_scan_index) */
	int owns;     /* the first segment of its part: frees may */
	size_t at;    /* its place in scan order */
	/* by_bound: the best value of the first ORDER BY column its rows may
	 * hold (none: unknown, read first) */
	int bounded;
	ow_search_val_t bound;
	size_t r0, r1; /* by_bound: its rows [r0, r1) of the row group; r1 0: all */
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
static void slots_init(const ow_columnar_t *q, int64_t now, slot_t *slots)
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
		sl->ev.has_now = 1;
		sl->ev.now = now;
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
		ow_eval_free(&sl->ev);
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
	sl->imay = sc->segs[i].may;
	sl->r0 = sc->segs[i].r0;
	sl->r1 = sc->segs[i].r1;
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

/* 1 for an aggregate of every row into one (no WHERE, no GROUP BY) whose
 * every item is count(*), or min or max of an integer column: what a
 * segment adds to them may be in its footer (from_footer). */
static int footer_only(const ow_columnar_t *q)
{
	if (!q->aggregate || q->ngroup || q->nf || q->nresid)
		return 0;
	for (int i = 0; i < q->nitems; i++) {
		const item_t *it = &q->items[i];
		if (it->filter >= 0)
			return 0;
		if (it->agg == A_COUNT && it->col < 0)
			continue;
		if ((it->agg != A_MIN && it->agg != A_MAX) || it->col < 0 || it->col >= q->ncols ||
		    (q->defs[it->col].type != OW_PQ_INT64 && q->defs[it->col].type != OW_PQ_INT32))
			return 0;
	}
	return 1;
}

/* Segment sg added to footer_only's aggregates without a page read: a
 * row group's row count and its chunks' statistics (min, max; a column
 * all NULL, or absent from the part, adds nothing), a buffered chunk's
 * row count. 0 when an item needs the values: min or max of a chunk, or
 * of a row group without usable statistics. */
static int from_footer(run_t *r, const seg_t *sg)
{
	const ow_columnar_t *q = r->q;
	int64_t rows =
	    sg->chunk ? (int64_t)sg->chunk->nrows : ow_pq_row_group_rows(sg->p->pq, sg->rg);
	ow_search_val_t v[MAX_ITEMS], lo, hi;
	for (int i = 0; i < q->nitems; i++) {
		const item_t *it = &q->items[i];
		v[i] = (ow_search_val_t){.type = SQLITE_NULL};
		if (it->col < 0)
			continue;
		if (sg->chunk)
			return 0;
		int fc = sg->p->colmap[it->col];
		ow_pq_stats_t st;
		if (fc < 0)
			continue;
		if (ow_pq_stats(sg->p->pq, sg->rg, fc, &st) != OW_OK)
			return 0;
		if (st.null_count == rows)
			continue;
		if (!ow_scan_stats_bounds(&q->defs[it->col], &st, &lo, &hi))
			return 0;
		v[i] = it->agg == A_MIN ? lo : hi;
	}
	size_t g = 0;
	if (!r->ngroups)
		find_group(r, NULL, &g);
	for (int i = 0; i < q->nitems; i++) {
		if (q->items[i].col < 0)
			*(int64_t *)acc_at(r, 0, i) += rows;
		else
			acc_add(&q->items[i], acc_at(r, 0, i), &v[i]);
	}
	r->s->stats.row_groups++;
	r->s->stats.rows += rows;
	return 1;
}

static void segs_free(seg_t *segs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (segs[i].owns)
			free(segs[i].may);
	free(segs);
}

/* The segments the query reads: parts whose catalog time range may hold
 * a match, their row groups whose statistics and bloom filters may, then
 * the buffered chunks; but for those whose footer gives what they add
 * (from_footer: added here). */
static int plan(run_t *r, seg_t **out, size_t *n)
{
	ow_search_t *s = r->s;
	int g = r->q->signal;
	int footer = footer_only(r->q);
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
			segs_free(segs, *n);
			*out = NULL;
			*n = 0;
			return OW_ERROR;
		}
		s->stats.parts++;
		uint8_t *may = ow_scan_index(&sc, p);
		int owns = 1;
		for (int rg = 0; rg < ow_pq_num_row_groups(p->pq); rg++) {
			if (!ow_scan_rg_may(&sc, p, rg) || (may && !ow_scan_index_rg(may, p, rg)) ||
			    (footer && from_footer(r, &(seg_t){.p = p, .rg = rg})))
				continue;
			if (*n == cap)
				segs = ow_realloc(segs, (cap *= 2) * sizeof(seg_t));
			segs[*n] = (seg_t){p, NULL, rg, may, owns, *n, 0, {0}, 0, 0};
			(*n)++;
			owns = 0;
		}
		if (owns)
			free(may); /* no segment of the part left */
	}
	for (size_t k = 0; k < s->nchunks[g]; k++) {
		if (footer && from_footer(r, &(seg_t){.chunk = &s->chunks[g][k]->table}))
			continue;
		if (*n == cap)
			segs = ow_realloc(segs, (cap *= 2) * sizeof(seg_t));
		segs[*n] = (seg_t){NULL, &s->chunks[g][k]->table, 0, NULL, 0, *n, 0, {0}, 0, 0};
		(*n)++;
	}
	*out = segs;
	return OW_OK;
}

/* Plain rows under ORDER BY x with a LIMIT, x an integer column: the
 * segments sorted by the best value of x each may hold (a row group's
 * statistics: its max under DESC, its min under ASC, NULL where it holds
 * one, NULL sorting first; a buffered chunk has none and comes first), so
 * the scan may stop at the first whose best sorts after the last row
 * kept (stop_before). A row group of more than one page of x whose pages
 * all have statistics, two of them apart (pages_apart), is cut into its
 * pages first, each a segment of its rows (r0, r1) bounded by its page's
 * statistics: a part sorted by service over a long stretch of time (one
 * row group, or a merged part written before log records were cut by
 * time into row groups, ow_columns_sort) has row groups that each span
 * much of its time range, but pages that span a service's stretch of it,
 * so the newest pages are read and the others' columns are not. Ties keep their scan
 * order (seg_t.at, then r0; r->seq holds a row's place in its row
 * group, as when the row group is read whole). 1 when sorted. */
static int seg_cmp(const void *a, const void *b, void *arg)
{
	const seg_t *x = a, *y = b;
	int desc = *(const int *)arg, c = x->bounded - y->bounded;
	if (!c && x->bounded)
		c = desc ? val_cmp(&y->bound, &x->bound) : val_cmp(&x->bound, &y->bound);
	if (!c)
		c = (x->at > y->at) - (x->at < y->at);
	return c ? c : (x->r0 > y->r0) - (x->r0 < y->r0);
}

/* sg's bound from the statistics st of its rows (column c, of type def):
 * sg->bounded 0 when they give none. */
static void seg_bound(const ow_pq_coldef_t *def, int desc, const ow_pq_stats_t *st, int64_t rows,
		      seg_t *sg)
{
	ow_search_val_t lo, hi;
	sg->bounded = 0;
	if (st->null_count < 0)
		return;
	if (st->null_count == rows || (!desc && st->null_count > 0)) {
		sg->bounded = 1;
		sg->bound = (ow_search_val_t){.type = SQLITE_NULL};
	} else if (ow_scan_stats_bounds(def, st, &lo, &hi)) {
		sg->bounded = 1;
		sg->bound = desc ? hi : lo;
	}
}

/* 1 when two of the np pages pg hold disjoint ranges of values (one's
 * max below the other's min), or one has no range: reading them one by
 * one may stop before some. Else every page spans much of the row group's
 * range (log records cut by time first, each row group by service: each
 * page holds a few services' runs over the row group's stretch of time),
 * and a cut would stop before none, where each page costs a pass over
 * the row group's rows (prepare's loops go over all of them). */
static int pages_apart(const ow_pq_coldef_t *def, const ow_pq_pagestat_t *pg, size_t np)
{
	ow_search_val_t lo, hi, least_max = {0}, most_min = {0};
	for (size_t k = 0; k < np; k++) {
		if (!pg[k].st.has_minmax || !ow_scan_stats_bounds(def, &pg[k].st, &lo, &hi))
			return 1;
		if (!k || val_cmp(&hi, &least_max) < 0)
			least_max = hi;
		if (!k || val_cmp(&lo, &most_min) > 0)
			most_min = lo;
	}
	return np > 1 && val_cmp(&least_max, &most_min) < 0;
}

/* Whether rows [r0, r1) of row group rg of part p may hold a row that
 * the filters on each column keep, by the statistics of the column's
 * pages over them (a column without page statistics: may). */
static int rows_may(const ow_columnar_t *q, ow_search_part_t *p, int rg, size_t r0, size_t r1)
{
	ow_scan_t sc = {q->signal, q->defs, q->f, q->nf};
	uint64_t seen = 0;
	for (int i = 0; i < q->nf; i++) {
		int b = base(q, q->f[i].col), fb = p->colmap[b];
		ow_pq_pagestat_t *pg;
		size_t np;
		if (b >= 64 || (seen >> b & 1) || fb < 0)
			continue;
		seen |= (uint64_t)1 << b;
		if (ow_pq_page_stats(p->pq, rg, fb, &pg, &np) != OW_OK)
			continue;
		int may = 0;
		for (size_t k = 0; k < np && !may; k++)
			may = pg[k].row0 < r1 && pg[k].row0 + (size_t)pg[k].rows > r0 &&
			      ow_scan_page_may(&sc, b, &pg[k].st, pg[k].rows);
		free(pg);
		if (!may)
			return 0;
	}
	return 1;
}

/* Row group segment *sg cut into its pages of column fc (appended to
 * *segs, the first in *sg's place), but for the pages whose rows no
 * filter's page statistics let through (rows_may: a search by service
 * over a row group sorted by service reads the service's pages, not
 * each other page with a pass over the row group): 0 when it has one
 * page, they have no statistics, no two of them are apart (pages_apart),
 * or none is left (then the row group is read whole, and prepare reads
 * nothing of it). */
static int seg_pages(const run_t *r, int c, int fc, int desc, seg_t **segs, size_t *n, size_t *cap,
		     size_t i)
{
	ow_pq_pagestat_t *pg;
	size_t np, nkept = 0;
	seg_t sg = (*segs)[i];
	if (ow_pq_page_stats(sg.p->pq, sg.rg, fc, &pg, &np) != OW_OK)
		return 0;
	if (!pages_apart(&r->q->defs[c], pg, np))
		np = 1; /* read whole */
	for (size_t k = 0; k < np && np > 1; k++) {
		size_t r0 = pg[k].row0, r1 = pg[k].row0 + (size_t)pg[k].rows;
		if (!rows_may(r->q, sg.p, sg.rg, r0, r1))
			continue;
		seg_t *x = &(*segs)[i];
		if (nkept++) {
			if (*n == *cap)
				*segs = ow_realloc(*segs, (*cap *= 2) * sizeof(seg_t));
			x = &(*segs)[(*n)++];
			*x = sg;
			x->owns = 0;
		}
		x->r0 = r0;
		x->r1 = r1;
		seg_bound(&r->q->defs[c], desc, &pg[k].st, pg[k].rows, x);
	}
	free(pg);
	return np > 1 && nkept;
}

static int by_bound(const run_t *r, seg_t **segs, size_t *n)
{
	const ow_columnar_t *q = r->q;
	if (q->aggregate || q->distinct || !q->norder || r->keep <= 0)
		return 0;
	int c = q->items[q->order[0].item].col, desc = q->order[0].desc;
	if (c < 0 || c >= q->ncols ||
	    (q->defs[c].type != OW_PQ_INT64 && q->defs[c].type != OW_PQ_INT32))
		return 0;
	size_t cap = OW_MAX(*n, 1), nrg = *n;
	for (size_t i = 0; i < nrg; i++) {
		seg_t *sg = &(*segs)[i];
		ow_pq_stats_t st;
		int fc = sg->p ? sg->p->colmap[c] : -1;
		sg->bounded = 0;
		if (!sg->p)
			continue;
		if (fc < 0) { /* absent: NULL in every row */
			sg->bounded = 1;
			sg->bound = (ow_search_val_t){.type = SQLITE_NULL};
			continue;
		}
		if (seg_pages(r, c, fc, desc, segs, n, &cap, i))
			continue;
		if (ow_pq_stats(sg->p->pq, sg->rg, fc, &st) == OW_OK)
			seg_bound(&q->defs[c], desc, &st, ow_pq_row_group_rows(sg->p->pq, sg->rg),
				  sg);
	}
	qsort_r(*segs, *n, sizeof(seg_t), seg_cmp, &desc);
	return 1;
}

/* 1 when no row of segment sg can be in the result, nor any of a later
 * one (by_bound's order): its best sorts after the last row kept (a tie
 * may come before it: read). */
static int stop_before(run_t *r, const seg_t *sg)
{
	const ow_columnar_t *q = r->q;
	if (!sg->bounded)
		return 0;
	if (r->nrows_out > (size_t)r->keep || (r->worst < 0 && r->nrows_out == (size_t)r->keep))
		top_k(r);
	if (r->worst < 0)
		return 0;
	const ow_search_val_t *last =
	    &r->rows[(size_t)r->worst * (size_t)q->nrow + (size_t)q->order[0].item];
	if (last->type != SQLITE_INTEGER && last->type != SQLITE_NULL)
		return 0; /* not the column's value as stored: no bound holds */
	int c = val_cmp(&sg->bound, last);
	return q->order[0].desc ? c < 0 : c > 0;
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
	int sorted = by_bound(r, &sc.segs, &sc.nsegs);
	sc.ready = ow_calloc(sc.nsegs + 1, 1);
	slots_init(r->q, s->now_ns, sc.slots);
	dicts_t dicts = {0};
	pthread_mutex_init(&dicts.mu, NULL);
	for (int i = 0; i < SLOTS; i++)
		sc.slots[i].dicts = &dicts;
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
		if (sorted && stop_before(r, &sc.segs[i]))
			break;
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
		s->stats.rows += (int64_t)(sl->r1 ? sl->r1 - sl->r0 : sl->nrows);
		s->stats.bytes += sl->bytes;
		if (sl->rc == OW_ERROR)
			snprintf(r->err, r->errlen, "%s", sl->err);
		rc = sl->rc;
		if (rc == OW_OK && sl->selected) {
			r->sl = sl;
			r->at = sc.segs[i].at;
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
	dicts_free(&dicts);
	free(sc.ready);
	segs_free(sc.segs, sc.nsegs);
	r->sl = NULL;
	return rc;
}

/* Sorting: by the ORDER BY terms, ties in the order the rows came. */
typedef struct {
	const ow_columnar_t *q;
	const ow_search_val_t *vals; /* nrow per row */
	int by_keys;		     /* groups: by their keys, as SQLite groups */
	const run_t *r;
	int reversed;	     /* ties the other way round */
	const uint64_t *seq; /* plain rows: ties by their place in scan order */
} sort_ctx_t;

static int row_cmp(const void *a, const void *b, void *arg)
{
	const sort_ctx_t *c = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	if (c->by_keys) {
		for (int g = 0; g < c->q->ngroup; g++) {
			size_t ng = (size_t)c->q->ngroup;
			ow_search_val_t u, w;
			cval_get(&c->r->keys[x * ng + (size_t)g], &u);
			cval_get(&c->r->keys[y * ng + (size_t)g], &w);
			int r = val_cmp(&u, &w);
			if (r)
				return r;
		}
		return 0;
	}
	size_t n = (size_t)c->q->nrow;
	int r = order_cmp(c->q, &c->vals[x * n], &c->vals[y * n]);
	if (!r && c->seq)
		x = (size_t)c->seq[x], y = (size_t)c->seq[y];
	return r ? r : c->reversed ? (x < y) - (x > y) : (x > y) - (x < y);
}

/* The k first of the m rows of idx by row_cmp, into idx[0..k) in no
 * order (a heap whose root is the last of them); k. */
static size_t first_rows(size_t *idx, size_t m, size_t k, sort_ctx_t *c)
{
	if (k == 0)
		return 0;
	for (size_t i = 0; i < m; i++) {
		size_t at, x = idx[i];
		if (i < k) { /* up from the new leaf */
			for (at = i; at > 0 && row_cmp(&idx[(at - 1) / 2], &x, c) < 0;
			     at = (at - 1) / 2)
				idx[at] = idx[(at - 1) / 2];
		} else if (row_cmp(&x, &idx[0], c) < 0) { /* down from the root */
			for (at = 0;;) {
				size_t ch = 2 * at + 1;
				if (ch >= k)
					break;
				if (ch + 1 < k && row_cmp(&idx[ch + 1], &idx[ch], c) > 0)
					ch++;
				if (row_cmp(&idx[ch], &x, c) <= 0)
					break;
				idx[at] = idx[ch];
				at = ch;
			}
		} else {
			continue;
		}
		idx[at] = x;
	}
	return k;
}

/* ORDER BY with a LIMIT: the rows that can still be in the result, sorted
 * (ties in the order they came, which the rows after them keep). */
static void top_k(run_t *r)
{
	size_t n = (size_t)r->q->nrow, keep = (size_t)r->keep;
	size_t *idx = ow_alloc(r->nrows_out * sizeof(size_t));
	for (size_t i = 0; i < r->nrows_out; i++)
		idx[i] = i;
	sort_ctx_t c = {r->q, r->rows, 0, NULL, 0, r->seq};
	qsort_r(idx, r->nrows_out, sizeof(size_t), row_cmp, &c);
	ow_search_val_t *rows = ow_alloc((r->rows_cap + 1) * n * sizeof(ow_search_val_t));
	uint64_t *seq = r->seq ? ow_alloc((r->rows_cap + 1) * sizeof(uint64_t)) : NULL;
	for (size_t k = 0; k < r->nrows_out; k++) {
		ow_search_val_t *from = &r->rows[idx[k] * n];
		if (k < keep) {
			memcpy(&rows[k * n], from, n * sizeof(ow_search_val_t));
			if (seq)
				seq[k] = r->seq[idx[k]];
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			r->mem -= (int64_t)(sizeof(ow_search_val_t) + from[i].n);
			val_free(&from[i]);
		}
	}
	free(r->rows);
	free(r->seq);
	free(idx);
	r->rows = rows;
	r->seq = seq;
	r->nrows_out = OW_MIN(keep, r->nrows_out);
	if (r->nrows_out == keep && keep > 0)
		r->worst = (int64_t)keep - 1;
}

/* The groups' result rows, in SQLite's order, into r->rows: the
 * result's columns evaluated over each group's keys and accumulators,
 * the groups HAVING leaves. */
typedef struct {
	const ow_search_val_t *keys, *res;
} post_t;

static int post_leaf(void *arg, const ow_node_t *n, ow_search_val_t *v)
{
	const post_t *p = arg;
	*v = n->id < MAX_ITEMS ? p->keys[n->id] : p->res[n->id - MAX_ITEMS];
	return OW_OK;
}

static int finish_groups(run_t *r)
{
	ow_columnar_t *q = r->q;
	size_t n = (size_t)q->nrow;
	for (int g = 0; g < q->ngroup; g++)
		if (r->types[g] >> SQLITE_INTEGER & r->types[g] >> SQLITE_FLOAT & 1)
			return OW_DECLINED; /* 1 and 1.0 are one group to SQLite */
	/* rows in any order: a real key 0 may be the group's 0.0 or -0.0 */
	for (size_t k = 0; q->anyorder && k < r->ngroups; k++)
		for (int g = 0; g < q->ngroup; g++)
			if (r->keys[k * (size_t)q->ngroup + (size_t)g].type == SQLITE_FLOAT &&
			    r->keys[k * (size_t)q->ngroup + (size_t)g].u.d == 0)
				return OW_DECLINED;
	if (q->ngroup == 0 && r->ngroups == 0) {
		size_t g;
		find_group(r, NULL, &g); /* an aggregate of no rows is one row */
	}
	size_t *idx = ow_alloc((r->ngroups + 1) * sizeof(size_t));
	for (size_t i = 0; i < r->ngroups; i++)
		idx[i] = i;
	/* in the order of their keys, unless ORDER BY sorts by every group
	 * term (no two groups tie under it then) */
	int total = q->norder > 0;
	for (int g = 0; g < q->ngroup && total; g++) {
		total = 0;
		for (int k = 0; k < q->norder && !total; k++) {
			const ow_node_t *o = q->outs[q->order[k].item];
			total = o->op == E_REF && o->id == g;
		}
	}
	sort_ctx_t c = {q, NULL, 1, r, 0, NULL};
	if (!total)
		qsort_r(idx, r->ngroups, sizeof(size_t), row_cmp, &c);
	/* ORDER BY with a LIMIT: only the rows that can be in it kept, as
	 * plain rows are (top_k), but where ties come the other way round */
	if (q->norder && r->take >= 0 && !(q->norder == 1 && q->order[0].desc))
		r->keep = r->skip + r->take;
	ow_search_val_t res[MAX_ITEMS], keys[MAX_ITEMS], vals[MAX_ITEMS];
	post_t post = {keys, res};
	r->ev.leaf = post_leaf;
	r->ev.arg = &post;
	int rc = OW_OK;
	for (size_t k = 0; k < r->ngroups && rc == OW_OK; k++) {
		ow_arena_reset(&r->ev.ar);
		for (int g = 0; g < q->ngroup; g++)
			cval_get(&r->keys[idx[k] * (size_t)q->ngroup + (size_t)g], &keys[g]);
		for (int i = 0; i < q->nitems && rc == OW_OK; i++)
			rc = acc_result(&q->items[i], acc_at(r, idx[k], i), q->anyorder, &res[i]);
		int t = 1;
		if (rc == OW_OK && q->having &&
		    (rc = ow_eval_truth(&r->ev, q->having, &t)) != OW_OK)
			break;
		if (t != 1)
			continue;
		for (size_t i = 0; i < n && rc == OW_OK; i++)
			rc = ow_eval(&r->ev, q->outs[i], &vals[i]);
		/* a row after the last of those kept (a tie came later) */
		if (rc != OW_OK ||
		    (r->worst >= 0 && order_cmp(q, vals, &r->rows[(size_t)r->worst * n]) >= 0))
			continue;
		if (r->nrows_out == r->rows_cap) {
			r->rows_cap = r->rows_cap ? 2 * r->rows_cap : 256;
			r->rows = ow_realloc(r->rows, r->rows_cap * n * sizeof(ow_search_val_t));
		}
		for (size_t i = 0; i < n; i++) {
			val_own(&r->rows[r->nrows_out * n + i], &vals[i]);
			r->mem += (int64_t)(sizeof(ow_search_val_t) + vals[i].n);
		}
		r->nrows_out++;
		if (r->keep >= 0 && r->nrows_out >= 2 * (size_t)r->keep + 1024)
			top_k(r);
		rc = bounds(r, k);
	}
	free(idx);
	return rc;
}

static void free_run(run_t *r)
{
	ow_columnar_t *q = r->q;
	for (size_t k = 0; k < r->ngroups; k++)
		for (int i = 0; i < q->nitems; i++)
			acc_free(&q->items[i], acc_at(r, k, i));
	free(r->keys);
	free(r->accs);
	ow_arena_free(&r->kar);
	free(r->slots);
	for (size_t k = 0; k < r->nrows_out * (size_t)q->nrow; k++)
		val_free(&r->rows[k]);
	free(r->rows);
	free(r->seq);
	free(r->gmap);
	free(r->stamp);
	free(r->gi);
	free(r->list);
	for (int k = 0; k < q->nx; k++)
		ow_buf_free(&r->xbuf[k]);
	free(r->xbuf);
	free(r->seen.ds);
	ow_buf_free(&r->seen.dk);
	ow_eval_free(&r->ev);
}

/* ---- the run ---- */

static int execute(ow_search_t *s, ow_columnar_t *q, int64_t limit, int64_t offset, int format,
		   ow_buf_t *out, run_t *r);

static int cmp_vals(const void *a, const void *b)
{
	return ow_eval_compare(a, b);
}

/* The values of x IN (SELECT ...): the subquery run (on this columnar
 * engine: OW_DECLINED when it cannot), with the comparison's affinity
 * applied, sorted. */
static int build_set(ow_search_t *s, ow_node_t *n, char *err, size_t errlen)
{
	run_t sub = {.err = err, .errlen = errlen};
	int rc = execute(s, n->sub, -1, 0, OW_SEARCH_JSON, NULL, &sub);
	ow_eval_set_t *set = ow_calloc(1, sizeof(*set));
	ow_eval_t e = {0};
	set->aff = n->id;
	set->v = ow_calloc(sub.ncollect + 1, sizeof(ow_search_val_t));
	for (size_t i = 0; i < sub.ncollect; i++) {
		ow_search_val_t v = sub.collect[i];
		if (rc == OW_OK && v.type != SQLITE_NULL &&
		    (rc = ow_eval_apply_aff(&e, set->aff, &v)) == OW_OK)
			val_own(&set->v[set->n++], &v);
		set->has_null |= v.type == SQLITE_NULL;
		val_free(&sub.collect[i]);
		ow_arena_reset(&e.ar);
	}
	free(sub.collect);
	ow_eval_free(&e);
	qsort(set->v, set->n, sizeof(ow_search_val_t), cmp_vals);
	n->set = set;
	/* the set is held while the query runs: within its memory budget, or
	 * SQLite's (which can spill its own to disk) */
	if (rc == OW_OK && s->max_memory &&
	    (int64_t)(sub.mem + set->n * sizeof(ow_search_val_t)) + atomic_load(&s->budget.used) >
		s->max_memory)
		rc = OW_DECLINED;
	return rc;
}

/* A scalar subquery run (its first row: LIMIT 1, as SQLite adds), the
 * node made its value. */
static int scalar_value(ow_search_t *s, ow_node_t *n, char *err, size_t errlen)
{
	run_t sub = {.err = err, .errlen = errlen};
	int rc = execute(s, n->sub, 1, 0, OW_SEARCH_JSON, NULL, &sub);
	n->op = E_LIT;
	n->sub = NULL;
	if (rc == OW_OK && sub.ncollect)
		val_own(&n->v, &sub.collect[0]);
	for (size_t i = 0; i < sub.ncollect; i++)
		val_free(&sub.collect[i]);
	free(sub.collect);
	return rc;
}

static int sets_of(ow_search_t *s, ow_node_t *n, char *err, size_t errlen)
{
	if (!n)
		return OW_OK;
	for (int i = 0; i < n->n; i++) {
		int rc = sets_of(s, n->kid[i], err, errlen);
		if (rc != OW_OK)
			return rc;
	}
	if (n->op == E_SCALAR)
		return scalar_value(s, n, err, errlen);
	return n->op == E_INSET && !n->set ? build_set(s, n, err, errlen) : OW_OK;
}

/* Filter i's literals read: the scan layer's (its ids, its LIKE
 * pattern's prefix and needle), long IN lists sorted and an id list's
 * hash set (of lists without NULL, whose NOT IN is never true). */
static void finish_filter(const ow_columnar_t *q, int i)
{
	filt_t *f = &q->f[i];
	fext_t *e = &q->fx[i];
	int null = 0;
	ow_scan_pred_ready(f, &q->defs[f->base]);
	for (size_t j = 0; j < f->nvals; j++)
		null |= f->vals[j].type == SQLITE_NULL;
	if ((f->op == F_IN || f->op == F_NOT_IN) && f->nvals > 8 && !null) {
		qsort(f->vals, f->nvals, sizeof(ow_search_val_t), cmp_vals);
		e->sorted = 1;
	}
	if (f->ids && f->nids > 8 && !null && (f->op == F_IN || f->op == F_NOT_IN)) {
		size_t len = (size_t)q->defs[f->col].fixed_len, cap = 16;
		while (cap < 2 * f->nids)
			cap *= 2;
		e->idset = ow_calloc(cap, sizeof(uint32_t));
		e->idmask = cap - 1;
		for (size_t j = 0; j < f->nids; j++) {
			size_t k = hash_bytes(f->ids + j * len, len) & e->idmask;
			while (e->idset[k])
				k = (k + 1) & e->idmask;
			e->idset[k] = (uint32_t)j + 1;
		}
	}
}

/* Residual condition k, when it is term IN (SELECT ...) of a set that
 * compares with the term's values as they are: a filter (an IN list of
 * the set's values, which prunes, and an id column's on its bytes). */
static int semi_join(ow_columnar_t *q, int k)
{
	ow_node_t *n = q->resid[k], *x = n->op == E_INSET ? n->kid[0] : NULL;
	if (!x || n->neg || x->op != E_REF)
		return 0;
	int aff = n->set->aff, term = x->aff;
	if (!(term >= AFF_NUMERIC || (term == AFF_TEXT && aff <= AFF_TEXT) ||
	      (term == AFF_NONE && aff == AFF_NONE)))
		return 0;
	int i = add_filter(q, x->id, F_IN, aff);
	filt_t *f = &q->f[i];
	/* IN of no row, or of NULLs only: x IN (NULL), which no row passes */
	f->vals = ow_calloc(n->set->n + 1, sizeof(ow_search_val_t));
	for (size_t j = 0; j < n->set->n; j++)
		val_own(&f->vals[f->nvals++], &n->set->v[j]);
	if (f->nvals == 0)
		f->vals[f->nvals++].type = SQLITE_NULL;
	finish_filter(q, i);
	ow_node_free(n);
	memmove(&q->resid[k], &q->resid[k + 1], (size_t)(q->nresid - k - 1) * sizeof(ow_node_t *));
	memmove(&q->rcols[k], &q->rcols[k + 1], (size_t)(q->nresid - k - 1) * sizeof(uint64_t));
	q->nresid--;
	return 1;
}

/* What the query's expressions need before its scan: the sets of its
 * subqueries, now_ns() and the constants folded, the filters' literals
 * (converted as their comparisons convert them). */
static int compile(run_t *r)
{
	ow_columnar_t *q = r->q;
	ow_eval_t *e = &r->ev;
	int rc = OW_OK;
	ow_node_t **trees[] = {q->outs, q->resid, &q->having};
	int ntrees[] = {q->nouts, q->nresid, 1};
	for (size_t t = 0; t < OW_NELEMS(trees); t++)
		for (int i = 0; i < ntrees[t] && rc == OW_OK; i++)
			if ((rc = sets_of(r->s, trees[t][i], r->err, r->errlen)) == OW_OK &&
			    trees[t][i])
				rc = ow_eval_fold(e, &trees[t][i]);
	for (int k = 0; k < q->nx && rc == OW_OK; k++)
		if (q->x[k].kind == X_TREE &&
		    (rc = sets_of(r->s, q->x[k].tree, r->err, r->errlen)) == OW_OK)
			rc = ow_eval_fold(e, &q->x[k].tree);
	for (int i = 0; i < q->nf && rc == OW_OK; i++) {
		filt_t *f = &q->f[i];
		const fext_t *x = &q->fx[i];
		if (f->vals)
			continue; /* compiled */
		/* NULL literals stay: the scan layer knows what no row passes */
		f->vals = ow_calloc(x->nlit + 1, sizeof(ow_search_val_t));
		for (size_t j = 0; j < x->nlit && rc == OW_OK; j++) {
			ow_search_val_t v;
			if ((rc = ow_eval(e, x->lit[j], &v)) != OW_OK)
				break;
			if (v.type != SQLITE_NULL && f->op >= F_LIKE)
				rc = ow_eval_text(e, &v, &v);
			else if (v.type != SQLITE_NULL)
				rc = ow_eval_apply_aff(e, x->aff, &v);
			if (f->op >= F_LIKE && v.n > 10000)
				rc = OW_DECLINED; /* SQLite's limit (search.c): its error */
			if (rc == OW_OK)
				val_own(&f->vals[f->nvals++], &v);
		}
		if (rc == OW_OK)
			finish_filter(q, i);
	}
	/* time IN (SELECT ...): SQLite loops over the set's values, a scan
	 * each; of one value, the rows come in a scan's order */
	for (int k = 0; k < q->nresid && rc == OW_OK; k++) {
		const ow_eval_set_t *set = q->resid[k]->set;
		size_t distinct = 0;
		for (size_t j = 0; time_set(q, q->resid[k]) && j < set->n && distinct < 2; j++)
			distinct += j == 0 || cmp_vals(&set->v[j - 1], &set->v[j]) != 0;
		if (distinct > 1 && !q->aggregate)
			rc = OW_DECLINED;
		q->anyorder |= distinct > 1;
	}
	for (int k = 0; k < q->nresid && rc == OW_OK;)
		k += !semi_join(q, k);
	ow_arena_reset(&e->ar);
	return rc;
}

/* a + b for a, b >= 0, at most INT64_MAX */
static int64_t sat_add(int64_t a, int64_t b)
{
	return a > INT64_MAX - b ? INT64_MAX : a + b;
}

static void json_tree(ow_columnar_t *q, const ow_node_t *n, int *whole);

/* Notes the key of term id in q->jkey when it is ->>, -> or json_extract
 * of q->jcol at a path starting at a key; *whole when it reads q->jcol
 * otherwise. */
static void json_use(ow_columnar_t *q, int id, int *whole)
{
	if (id < 0 || base(q, id) != q->jcol) {
		if (id >= q->ncols && q->x[id - q->ncols].kind == X_TREE)
			json_tree(q, q->x[id - q->ncols].tree, whole);
		return;
	}
	const expr_t *x = id < q->ncols ? NULL : &q->x[id - q->ncols];
	if (x && x->kind == X_TREE) {
		json_tree(q, x->tree, whole);
		return;
	}
	if (!x || (x->kind != X_JSON && x->kind != X_JSON_TEXT) || x->pp.nkeys < 1 ||
	    !x->pp.key[0]) {
		*whole = 1;
		return;
	}
	for (int k = 0; k < q->njkey; k++)
		if (q->jklen[k] == x->pp.klen[0] &&
		    memcmp(q->jkey[k], x->pp.key[0], q->jklen[k]) == 0)
			return;
	if (q->njkey == OW_SHRED_MAX) {
		*whole = 1;
		return;
	}
	q->jkey[q->njkey] = x->pp.key[0];
	q->jklen[q->njkey++] = x->pp.klen[0];
}

static void json_tree(ow_columnar_t *q, const ow_node_t *n, int *whole)
{
	if (!n)
		return;
	if (n->op == E_REF)
		json_use(q, n->id, whole);
	for (int i = 0; i < n->n; i++)
		json_tree(q, n->kid[i], whole);
}

/* q->jkey: the keys through which alone the query reads the shredded
 * column, if it reads it so (none when it reads it whole too). */
static void json_keys(ow_columnar_t *q)
{
	int whole = 0;
	q->jcol = ow_shred_column(q->signal);
	q->njkey = 0;
	if (q->jcol < 0)
		return;
	for (int i = 0; i < q->nitems; i++) {
		json_use(q, q->items[i].col, &whole);
		json_use(q, q->items[i].filter, &whole);
	}
	for (int g = 0; g < q->ngroup; g++)
		json_use(q, q->group[g], &whole);
	for (int k = 0; k < q->nresid; k++)
		json_tree(q, q->resid[k], &whole);
	for (int i = 0; i < q->nf; i++)
		json_use(q, q->f[i].col, &whole);
	if (whole)
		q->njkey = 0;
}

/* The query into out in format, or (out NULL) its first column's values
 * into r->collect. */
static int execute(ow_search_t *s, ow_columnar_t *q, int64_t limit, int64_t offset, int format,
		   ow_buf_t *out, run_t *r)
{
	if (q->ncols > 64)
		return OW_DECLINED;
	r->s = s;
	r->q = q;
	r->mem_max = s->max_memory;
	r->xbuf = ow_calloc((size_t)q->nx + 1, sizeof(ow_buf_t));
	r->ev.has_now = 1;
	r->ev.now = s->now_ns;
	int rc = compile(r);
	json_keys(q);
	for (int i = 0; i < q->nitems; i++)
		r->used |= term_cols(q, q->items[i].col) | term_cols(q, q->items[i].filter);
	for (int g = 0; g < q->ngroup; g++)
		r->used |= term_cols(q, q->group[g]);
	for (int k = 0; k < q->nresid; k++)
		r->used |= q->rcols[k];
	for (int i = 0; i < q->nitems; i++) {
		r->acco[i] = r->accw;
		r->accw += acc_size(acc_kind(&q->items[i]));
	}
	if (q->aggregate || q->ngroup)
		r->nslots = 0, rehash(r);
	/* the query's LIMIT and OFFSET, then the caller's; their sums saturate
	 * (LIMIT 9223372036854775807 OFFSET 9223372036854775807 is SQL) */
	r->skip = sat_add(q->offset, offset);
	r->take = limit;
	if (q->limit >= 0)
		r->take = limit < 0 ? OW_MAX(q->limit - offset, 0)
				    : OW_MIN(limit, OW_MAX(q->limit - offset, 0));
	r->keep = r->take >= 0 && !q->aggregate ? sat_add(r->skip, r->take) : -1;
	r->worst = -1;
	ow_search_out_t o;
	if (out) {
		ow_search_out_begin(&o, format, q->nout, (const char *const *)q->names, out);
		r->o = &o;
	}
	r->stop = r->take == 0 && !q->aggregate;
	if (rc == OW_OK)
		rc = scan(r);
	if (rc == OW_OK && q->aggregate)
		rc = finish_groups(r);
	if (rc == OW_OK && (q->aggregate || q->norder)) {
		size_t n = (size_t)q->nrow;
		size_t *idx = ow_alloc((r->nrows_out + 1) * sizeof(size_t));
		for (size_t i = 0; i < r->nrows_out; i++)
			idx[i] = i;
		/* ties as SQLite's sorter leaves them: in the order they came,
		 * but for the groups of an aggregate query under one ORDER BY
		 * term DESC, which come the other way round (as measured on
		 * SQLite 3.40: t/86columnar.t checks both) */
		sort_ctx_t c = {
		    q,	   r->rows, 0, NULL, q->aggregate && q->norder == 1 && q->order[0].desc,
		    r->seq};
		size_t m = r->nrows_out;
		/* of many rows, only those the OFFSET and LIMIT show: the first
		 * (row_cmp's order is total, ties by position) */
		int64_t shown = r->take >= 0 ? sat_add(r->skip, r->take) : -1;
		if (q->norder && shown >= 0 && (uint64_t)shown < m / 4)
			m = first_rows(idx, m, (size_t)shown, &c);
		if (q->norder)
			qsort_r(idx, m, sizeof(size_t), row_cmp, &c);
		for (size_t k = 0; k < m && rc == OW_OK && !r->stop; k++)
			rc = emit(r, &r->rows[idx[k] * n]);
		free(idx);
	}
	if (out)
		ow_search_out_end(&o);
	free_run(r);
	return rc;
}

int ow_columnar_run(ow_search_t *s, ow_columnar_t *q, int64_t limit, int64_t offset, int format,
		    ow_buf_t *out, char *err, size_t errlen)
{
	size_t mark = out->len;
	run_t r = {.err = err, .errlen = errlen};
	int rc = execute(s, q, limit, offset, format, out, &r);
	if (rc == OW_ERROR && atomic_load(&s->budget.stop))
		ow_search_timeout_message(s, err, errlen);
	if (rc != OW_OK)
		out->len = mark;
	return rc;
}

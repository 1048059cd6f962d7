/*
 * search.c - see search.h. The handle: the catalog snapshot, the SQLite
 * connection with its bounds and authorizer, and running a query.
 *
 * The snapshot. The catalog is read in one read transaction, and every
 * part it lists for the tenant is mapped (and its descriptor closed) before
 * the transaction ends: a merge that commits later and unlinks the parts it
 * replaced cannot take them from us, and a part listed but already gone
 * means a merge committed between our read and our open: the snapshot is
 * taken again. The catalog is opened read-only, and adds no file to the
 * data directory (ow_catalog_open_readonly).
 *
 * Bounds, all per connection but the heap: sqlite3_limit() caps the SQL
 * length (100 kB), expression depth (100), compound SELECTs, function
 * arguments, columns, LIKE patterns, string and blob lengths, and allows no
 * attached database; a progress handler, and the table scans themselves,
 * stop a query past its time budget; SQLite's heap is limited process-wide
 * (sqlite3_hard_heap_limit64), which also bounds the values the quantile
 * functions collect; the caller's max_rows bounds the result.
 */
#include "internal.h"
#include "../catalog/catalog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define OW_SEARCH_SQL_MAX 100000
#define OW_SEARCH_DEPTH_MAX 100
#define OW_SEARCH_VALUE_MAX (64 << 20)
#define OW_SEARCH_SNAPSHOT_TRIES 20

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return OW_ERROR;
}

/* ---- the snapshot ---- */

/* A part's mapping and parsed footer, kept with the server's part between
 * queries, so a query does not parse again the footers the last one did
 * (read-only from then on: queries on several workers share it). */
typedef struct {
	const uint8_t *map;
	size_t len;
	ow_pq_file_t *pq;
	int *colmap;
} part_cache_t;

static void cache_free(void *arg)
{
	part_cache_t *c = arg;
	ow_pq_close(c->pq);
	munmap((void *)c->map, c->len);
	free(c->colmap);
	free(c);
}

static void release_part(ow_search_part_t *p)
{
	if (p->borrowed)
		return;
	if (p->ref && p->pq && p->colmap) {
		/* opened by this query: offer it to the next */
		part_cache_t *c = ow_alloc(sizeof(*c));
		*c = (part_cache_t){p->map, p->len, p->pq, p->colmap};
		void *none = NULL;
		p->ref->cache_free = cache_free;
		if (atomic_compare_exchange_strong(&p->ref->cache, &none, c))
			return;
		free(c); /* another query was first */
	}
	if (p->pq)
		ow_pq_close(p->pq);
	if (p->map)
		munmap((void *)p->map, p->len);
	free(p->colmap);
}

static void free_parts(ow_search_t *s)
{
	for (int g = 0; g < OW_NSIGNALS; g++) {
		for (size_t i = 0; i < s->nparts[g]; i++) {
			release_part(&s->parts[g][i]);
			free(s->parts[g][i].path);
		}
		free(s->parts[g]);
		s->parts[g] = NULL;
		s->nparts[g] = 0;
		s->rows[g] = 0;
	}
}

/* Maps one part. OW_OK; OW_AGAIN when the file is gone; OW_ERROR. */
int ow_search_map_part(const ow_search_t *s, ow_search_part_t *p, char *err, size_t errlen)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s", s->data_dir, p->path);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT
			   ? OW_AGAIN
			   : fail(err, errlen, "cannot open %s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0 || st.st_size < 12) {
		close(fd);
		return fail(err, errlen, "part %s is not a Parquet file", path);
	}
	void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	int e = errno;
	close(fd);
	if (m == MAP_FAILED)
		return fail(err, errlen, "cannot map %s: %s", path, strerror(e));
	p->map = m;
	p->len = (size_t)st.st_size;
	return OW_OK;
}

typedef struct {
	ow_search_t *s;
	size_t cap[OW_NSIGNALS];
	char *err;
	size_t errlen;
} read_ctx_t;

/* Maps one listed part into the snapshot. */
static int add_part(void *arg, const char *tenant, int g, const ow_part_t *part)
{
	OW_UNUSED(tenant);
	read_ctx_t *r = arg;
	ow_search_t *s = r->s;
	if (g < 0)
		return OW_OK;
	if (s->nparts[g] == r->cap[g]) {
		r->cap[g] = r->cap[g] ? 2 * r->cap[g] : 16;
		s->parts[g] = ow_realloc(s->parts[g], r->cap[g] * sizeof(ow_search_part_t));
	}
	ow_search_part_t *p = &s->parts[g][s->nparts[g]++];
	memset(p, 0, sizeof(*p));
	p->path = ow_strdup(part->rel);
	p->min_time = part->min_time;
	p->max_time = part->max_time;
	p->rows = (int64_t)part->rows;
	s->rows[g] += p->rows;
	return ow_search_map_part(s, p, r->err, r->errlen);
}

/* One attempt: OW_OK, OW_AGAIN (a listed part is gone: try again) or
 * OW_ERROR. */
static int read_catalog(ow_search_t *s, ow_catalog_t *cat, char *err, size_t errlen)
{
	read_ctx_t r = {s, {0}, err, errlen};
	char msg[512];
	msg[0] = '\0';
	int rc = ow_catalog_list(cat, s->tenant, add_part, &r, msg, sizeof(msg));
	if (rc == OW_ERROR && msg[0])
		rc = fail(err, errlen, "cannot read the part catalog in %s/openwit.db: %s",
			  s->data_dir, msg);
	return rc;
}

static int snapshot(ow_search_t *s, char *err, size_t errlen)
{
	ow_catalog_t *cat;
	if (ow_catalog_open_readonly(s->data_dir, &cat, err, errlen) != OW_OK)
		return OW_ERROR;
	int rc = OW_AGAIN;
	for (int i = 0; i < OW_SEARCH_SNAPSHOT_TRIES && rc == OW_AGAIN; i++) {
		free_parts(s);
		if ((rc = read_catalog(s, cat, err, errlen)) == OW_AGAIN)
			usleep(10000);
	}
	ow_catalog_close(cat);
	if (rc == OW_AGAIN)
		return fail(err, errlen, "the part catalog of %s kept changing while it was read",
			    s->data_dir);
	return rc;
}

/* The server's snapshots: their parts cannot go while they are held (a
 * merge unlinks a part when its last reference goes), so they are mapped
 * when first read, and their chunks are read in place. */
static void from_snapshots(ow_search_t *s, struct ow_snapshot_s *const *snaps)
{
	for (int g = 0; g < OW_NSIGNALS; g++) {
		const ow_snapshot_t *sn = snaps[g];
		if (sn == NULL)
			continue;
		s->parts[g] = ow_calloc(sn->nparts + 1, sizeof(ow_search_part_t));
		for (size_t i = 0; i < sn->nparts; i++) {
			ow_search_part_t *p = &s->parts[g][s->nparts[g]++];
			p->path = ow_strdup(sn->parts[i]->rel);
			p->min_time = sn->parts[i]->min_time;
			p->max_time = sn->parts[i]->max_time;
			p->rows = (int64_t)sn->parts[i]->rows;
			s->rows[g] += p->rows;
			p->ref = sn->parts[i];
			/* not mapped here but when a query first reads it
			 * (ow_search_open_part): one whose time range rules it
			 * out costs no mmap and munmap a query */
			part_cache_t *c = atomic_load(&p->ref->cache);
			if (c)
				*p = (ow_search_part_t){p->path,     c->map,  c->len, p->min_time,
							p->max_time, p->rows, c->pq,  c->colmap,
							p->ref,	     1};
		}
		s->chunks[g] = sn->chunks;
		s->nchunks[g] = sn->nchunks;
		for (size_t i = 0; i < sn->nchunks; i++)
			s->rows[g] += (int64_t)sn->chunks[i]->table.nrows;
	}
}

/* ---- bounds and the authorizer ---- */

int ow_search_expired(ow_search_t *s)
{
	return ow_search_stopped(&s->budget) != 0;
}

void ow_search_timeout_message(const ow_search_t *s, char *buf, size_t len)
{
	ow_search_budget_message(&s->budget, buf, len);
}

static int progress(void *arg)
{
	return ow_search_expired(arg);
}

/* Every few VDBE steps: a row of many long calls (printf, JSON over a
 * large text) is a few steps each, and the check is a coarse clock read. */
#define PROGRESS_STEPS 32

/* Pure functions: SQLite's core, date and time, math and JSON functions,
 * aggregates and window functions, and ours (funcs.c). Not here, so
 * denied: random, randomblob, zeroblob, load_extension, changes and the
 * other connection state, sqlite_* but sqlite_version, and any function an
 * extension may have added (readfile, writefile, fts3_tokenizer, ...). */
static const char *const allowed_functions[] = {
    "abs", "char", "coalesce", "concat", "concat_ws", "format", "glob", "hex", "ifnull", "iif",
    "instr", "length", "like", "likelihood", "likely", "lower", "ltrim", "max", "min", "nullif",
    "octet_length", "printf", "quote", "replace", "round", "rtrim", "sign", "soundex",
    "sqlite_version", "substr", "substring", "trim", "typeof", "unhex", "unicode", "unlikely",
    "upper",
    /* aggregates and window functions */
    "avg", "count", "group_concat", "string_agg", "sum", "total", "row_number", "rank",
    "dense_rank", "percent_rank", "cume_dist", "ntile", "lag", "lead", "first_value", "last_value",
    "nth_value",
    /* date and time */
    "date", "time", "datetime", "julianday", "unixepoch", "strftime", "timediff", "current_date",
    "current_time", "current_timestamp",
    /* math */
    "acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "ceil", "ceiling", "cos", "cosh",
    "degrees", "exp", "floor", "ln", "log", "log10", "log2", "mod", "pi", "pow", "power", "radians",
    "sin", "sinh", "sqrt", "tan", "tanh", "trunc",
    /* JSON */
    "json", "json_array", "json_array_length", "json_error_position", "json_extract",
    "json_group_array", "json_group_object", "json_insert", "json_object", "json_patch",
    "json_quote", "json_remove", "json_replace", "json_set", "json_type", "json_valid", "->", "->>",
    /* ours */
    "now_ns", "ns", "ns_to_iso", "interval_ns", "time_bucket_ns", "p50", "p90", "p99", "quantile",
    "match", "regexp"};

static const char *const allowed_tables[] = {"spans", "logs", "metrics", "json_each", "json_tree"};

static int in_list(const char *name, const char *const *list, size_t n)
{
	for (size_t i = 0; name && i < n; i++)
		if (strcasecmp(name, list[i]) == 0)
			return 1;
	return 0;
}

static int authorize(void *arg, int action, const char *a3, const char *a4, const char *db,
		     const char *inner)
{
	OW_UNUSED(inner);
	ow_search_t *s = arg;
	switch (action) {
	case SQLITE_SELECT:
		s->saw_select = 1;
		return SQLITE_OK;
	case SQLITE_RECURSIVE: /* bounded by the time budget */
		return SQLITE_OK;
	case SQLITE_READ:
		/* no database: a CTE or a subquery */
		return !db || (strcmp(db, "main") == 0 &&
			       in_list(a3, allowed_tables, OW_NELEMS(allowed_tables)))
			   ? SQLITE_OK
			   : SQLITE_DENY;
	case SQLITE_FUNCTION:
		return in_list(a4, allowed_functions, OW_NELEMS(allowed_functions)) ? SQLITE_OK
										    : SQLITE_DENY;
	default:
		return SQLITE_DENY;
	}
}

static const struct {
	int id, value;
} limits[] = {
    {SQLITE_LIMIT_LENGTH, OW_SEARCH_VALUE_MAX},
    {SQLITE_LIMIT_SQL_LENGTH, OW_SEARCH_SQL_MAX},
    {SQLITE_LIMIT_COLUMN, 200},
    {SQLITE_LIMIT_EXPR_DEPTH, OW_SEARCH_DEPTH_MAX},
    {SQLITE_LIMIT_COMPOUND_SELECT, 50},
    {SQLITE_LIMIT_VDBE_OP, 250000},
    {SQLITE_LIMIT_FUNCTION_ARG, OW_SEARCH_FUNC_ARGS},
    {SQLITE_LIMIT_ATTACHED, 0},
    {SQLITE_LIMIT_LIKE_PATTERN_LENGTH, 10000},
    {SQLITE_LIMIT_VARIABLE_NUMBER, 100},
    {SQLITE_LIMIT_TRIGGER_DEPTH, 1},
    {SQLITE_LIMIT_WORKER_THREADS, 0},
};

static const int dbconfig_off[] = {SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION,
				   SQLITE_DBCONFIG_ENABLE_TRIGGER,
				   SQLITE_DBCONFIG_ENABLE_VIEW,
				   SQLITE_DBCONFIG_TRUSTED_SCHEMA,
				   SQLITE_DBCONFIG_DQS_DML,
				   SQLITE_DBCONFIG_DQS_DDL};

sqlite3 *ow_search_bare_db(void)
{
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(":memory:", &db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return NULL;
	}
	for (size_t i = 0; i < OW_NELEMS(limits); i++)
		sqlite3_limit(db, limits[i].id, limits[i].value);
	for (size_t i = 0; i < OW_NELEMS(dbconfig_off); i++)
		sqlite3_db_config(db, dbconfig_off[i], 0, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	return db;
}

static int open_db(ow_search_t *s, char *err, size_t errlen)
{
	if ((s->db = ow_search_bare_db()) == NULL)
		return fail(err, errlen, "cannot open SQLite");
	/* Eponymous tables are connected at their first use, and their
	 * declaration is a CREATE TABLE: connect them before the authorizer. */
	if (ow_search_vtab_register(s) != OW_OK || ow_search_funcs_register(s) != OW_OK ||
	    sqlite3_exec(s->db,
			 "SELECT 1 FROM spans, logs, metrics, json_each('[]'), json_tree('[]') "
			 "WHERE 0",
			 NULL, NULL, NULL) != SQLITE_OK)
		return fail(err, errlen, "cannot set up SQLite: %s", sqlite3_errmsg(s->db));
	if (s->max_memory > 0) {
		char pragma[128];
		snprintf(pragma, sizeof(pragma),
			 "PRAGMA temp_store = FILE; PRAGMA cache_size = -%lld",
			 (long long)(s->max_memory / 4 / 1024));
		if (sqlite3_exec(s->db, pragma, NULL, NULL, NULL) != SQLITE_OK)
			return fail(err, errlen, "cannot set up SQLite: %s", sqlite3_errmsg(s->db));
	}
	sqlite3_set_authorizer(s->db, authorize, s);
	sqlite3_progress_handler(s->db, PROGRESS_STEPS, progress, s);
	return OW_OK;
}

int ow_search_open(const ow_search_opts_t *o, ow_search_t **out, char *err, size_t errlen)
{
	if (!ow_tenant_valid(o->tenant, strlen(o->tenant)))
		return fail(err, errlen, "invalid tenant \"%s\"", o->tenant);
	ow_search_t *s = ow_calloc(1, sizeof(*s));
	s->data_dir = ow_strdup(o->data_dir);
	snprintf(s->tenant, sizeof(s->tenant), "%s", o->tenant);
	s->budget.timeout_ms = o->timeout_ms;
	s->max_rows = o->max_rows;
	s->max_memory = o->max_memory;
	s->started = o->started;
	s->cancel = o->cancel;
	for (int g = 0; g < OW_NSIGNALS; g++)
		s->tabs[g] = (ow_search_tab_arg_t){s, g};
	if (o->snapshots)
		from_snapshots(s, o->snapshots);
	else if (snapshot(s, err, errlen) != OW_OK) {
		ow_search_close(s);
		return OW_ERROR;
	}
	*out = s;
	return OW_OK;
}

void ow_search_close(ow_search_t *s)
{
	if (!s)
		return;
	for (int g = 0; g < OW_NSIGNALS; g++)
		ow_search_scope(s, g, OW_SEARCH_EVERYTHING);
	sqlite3_close(s->db);
	for (size_t i = 0; i < OW_NELEMS(s->printf_st); i++)
		sqlite3_finalize(s->printf_st[i]);
	for (size_t i = 0; i < OW_NELEMS(s->json_st); i++)
		sqlite3_finalize(s->json_st[i]);
	sqlite3_close(s->aux);
	ow_search_budget_enter(NULL); /* the thread's budget goes with s */
	free_parts(s);
	free(s->data_dir);
	free(s);
}

/* ---- a snapshot piece by piece ---- */

size_t ow_search_nparts(const ow_search_t *s, int signal)
{
	return s->scoped[signal] ? s->all_nparts[signal] : s->nparts[signal];
}

ow_search_part_t *ow_search_whole_part(const ow_search_t *s, int signal, size_t i)
{
	return &(s->scoped[signal] ? s->all_parts[signal] : s->parts[signal])[i];
}

struct ow_partref *ow_search_partref(const ow_search_t *s, int signal, size_t i)
{
	return ow_search_whole_part(s, signal, i)->ref;
}

void ow_search_part_span(const ow_search_t *s, int signal, size_t i, int64_t *min_ns,
			 int64_t *max_ns)
{
	*min_ns = ow_search_whole_part(s, signal, i)->min_time;
	*max_ns = ow_search_whole_part(s, signal, i)->max_time;
}

void ow_search_scope(ow_search_t *s, int signal, ptrdiff_t part)
{
	int g = signal;
	if (!s->scoped[g]) {
		if (part == OW_SEARCH_EVERYTHING)
			return;
		s->all_parts[g] = s->parts[g];
		s->all_nparts[g] = s->nparts[g];
		s->all_nchunks[g] = s->nchunks[g];
		s->scoped[g] = 1;
	}
	if (part == OW_SEARCH_EVERYTHING) {
		s->parts[g] = s->all_parts[g];
		s->nparts[g] = s->all_nparts[g];
		s->nchunks[g] = s->all_nchunks[g];
		s->scoped[g] = 0;
	} else if (part == OW_SEARCH_BUFFERED) {
		s->parts[g] = s->all_parts[g];
		s->nparts[g] = 0;
		s->nchunks[g] = s->all_nchunks[g];
	} else {
		s->parts[g] = s->all_parts[g] + part;
		s->nparts[g] = 1;
		s->nchunks[g] = 0;
	}
}

int ow_search_stop_reason(ow_search_t *s)
{
	/* budget.c's reasons are search.h's */
	return ow_search_stopped(&s->budget);
}

/* ---- queries ---- */

static int sqlite_fail(ow_search_t *s, int rc, char *err, size_t errlen)
{
	if ((rc & 0xff) == SQLITE_NOMEM && s->max_memory > 0)
		ow_search_stop(&s->budget, OW_SEARCH_STOP_MEMORY);
	if (ow_search_expired(s)) {
		ow_search_timeout_message(s, err, errlen);
		return OW_ERROR;
	}
	return fail(err, errlen, "%s", sqlite3_errmsg(s->db));
}

int ow_search_row_bound(const ow_search_t *s, int64_t nrows, char *err, size_t errlen)
{
	if (s->max_rows > 0 && nrows >= s->max_rows)
		return fail(err, errlen, "result exceeds %lld rows", (long long)s->max_rows);
	return OW_OK;
}

static void stmt_value(sqlite3_stmt *st, int i, ow_search_val_t *v)
{
	memset(v, 0, sizeof(*v));
	v->type = sqlite3_column_type(st, i);
	switch (v->type) {
	case SQLITE_INTEGER:
		v->i = sqlite3_column_int64(st, i);
		break;
	case SQLITE_FLOAT:
		v->d = sqlite3_column_double(st, i);
		break;
	case SQLITE_TEXT:
		v->p = sqlite3_column_text(st, i);
		v->n = (size_t)sqlite3_column_bytes(st, i);
		break;
	case SQLITE_BLOB:
		v->p = sqlite3_column_blob(st, i);
		v->n = (size_t)sqlite3_column_bytes(st, i);
		break;
	}
}

/* Only whitespace and comments may follow the statement. */
static int single(ow_search_t *s, const char *tail, char *err, size_t errlen)
{
	sqlite3_stmt *next = NULL;
	int rc = sqlite3_prepare_v2(s->db, tail, -1, &next, NULL);
	sqlite3_finalize(next);
	if (rc != SQLITE_OK || next)
		return fail(err, errlen, "one statement at a time");
	return OW_OK;
}

int ow_search_query(ow_search_t *s, const char *sql, int format, ow_buf_t *out, char *err,
		    size_t errlen)
{
	ow_search_begin(s);
	sqlite3_stmt *st = NULL;
	const char *tail = NULL;
	size_t len = strlen(sql);
	if (len > OW_SEARCH_SQL_MAX)
		return fail(err, errlen, "the SQL is %zu bytes long, more than %d", len,
			    OW_SEARCH_SQL_MAX);
	/* the connection is made for the first query SQLite answers: a query
	 * the columnar engine answers does without */
	if (!s->db && open_db(s, err, errlen) != OW_OK)
		return OW_ERROR;
	s->saw_select = 0;
	int rc = sqlite3_prepare_v2(s->db, sql, (int)len, &st, &tail);
	if (rc != SQLITE_OK)
		return sqlite_fail(s, rc, err, errlen);
	if (!st)
		return fail(err, errlen, "no SQL statement");
	/* what the authorizer cannot see: VACUUM, REINDEX of nothing */
	if (!s->saw_select || !sqlite3_stmt_readonly(st)) {
		sqlite3_finalize(st);
		return fail(err, errlen, "not authorized: only a SELECT may run");
	}
	if (single(s, tail, err, errlen) != OW_OK) {
		sqlite3_finalize(st);
		return OW_ERROR;
	}
	size_t mark = out->len;
	int ncols = sqlite3_column_count(st);
	const char **names = ow_calloc((size_t)ncols + 1, sizeof(char *));
	ow_search_val_t *vals = ow_calloc((size_t)ncols + 1, sizeof(ow_search_val_t));
	for (int i = 0; i < ncols; i++)
		names[i] = sqlite3_column_name(st, i);
	ow_search_out_t o;
	ow_search_out_begin(&o, format, ncols, names, out);
	int ret = OW_OK;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((ret = ow_search_row_bound(s, o.nrows, err, errlen)) != OW_OK)
			break;
		for (int i = 0; i < ncols; i++)
			stmt_value(st, i, &vals[i]);
		ow_search_out_row(&o, vals);
		if (atomic_load(&s->budget.stop)) { /* the answer passed the memory budget */
			rc = SQLITE_ABORT;
			break;
		}
	}
	free(names);
	free(vals);
	if (ret == OW_OK && rc != SQLITE_DONE)
		ret = sqlite_fail(s, rc, err, errlen);
	ow_search_out_end(&o);
	sqlite3_finalize(st);
	if (ret != OW_OK)
		out->len = mark;
	return ret;
}

void ow_search_limits(const ow_search_t *s, int64_t *max_memory, int64_t *deadline_ns,
		      const atomic_int **cancel)
{
	int64_t t0 = s->started ? s->started : ow_mono_ns();
	*max_memory = s->max_memory;
	*deadline_ns = s->budget.timeout_ms > 0 ? t0 + s->budget.timeout_ms * 1000000 : 0;
	*cancel = s->cancel;
}

int ow_search_hold(ow_search_t *s, int64_t n, char *err, size_t errlen)
{
	s->held += n;
	/* a query under way (a callback of ow_search_part_rows) counts it
	 * with what it decodes; the next query starts from s->held */
	atomic_fetch_add(&s->budget.used, n);
	if (n <= 0 || s->max_memory == 0 || s->held <= s->max_memory)
		return OW_OK;
	ow_search_budget_t b = {.limit = s->max_memory, .stop = OW_SEARCH_STOP_MEMORY};
	ow_search_budget_message(&b, err, errlen);
	return OW_ERROR;
}

int64_t ow_search_rows_bytes(const ow_search_rows_t *r)
{
	return (int64_t)(r->text.cap +
			 ((r->nrows + 1) * (size_t)r->ncols + (size_t)r->ncols) * sizeof(char *));
}

void ow_search_begin(ow_search_t *s)
{
	memset(&s->stats, 0, sizeof(s->stats));
	s->now_ns = ow_now_ns();
	ow_search_budget_t *b = &s->budget;
	int64_t t0 = s->started ? s->started : ow_mono_ns();
	b->deadline = b->timeout_ms > 0 ? t0 + b->timeout_ms * 1000000 : 0;
	b->limit = s->max_memory;
	b->cancel = s->cancel;
	atomic_store(&b->used, s->held); /* what the caller holds counts too */
	atomic_store(&b->stop, 0);
	ow_search_budget_enter(b);
}

int ow_search_select(ow_search_t *s, const char *sql, int64_t limit, int64_t offset, int engine,
		     int format, ow_buf_t *out, const char **used, char *err, size_t errlen)
{
	size_t mark = out->len;
	ow_columnar_t *q = engine == OW_SEARCH_AUTO ? ow_columnar_parse(s, sql) : NULL;
	if (q) {
		ow_search_begin(s);
		int rc = ow_columnar_run(s, q, limit, offset, format, out, err, errlen);
		ow_columnar_free(q);
		if (rc != OW_DECLINED) {
			*used = "columnar";
			return rc;
		}
		out->len = mark; /* what it met is SQLite's to answer */
	}
	*used = "sqlite";
	if (limit < 0 && offset == 0)
		return ow_search_query(s, sql, format, out, err, errlen);
	ow_buf_t wrapped = {0};
	ow_buf_printf(&wrapped, "SELECT * FROM (%s\n) LIMIT %lld OFFSET %lld", sql,
		      (long long)limit, (long long)offset);
	ow_buf_add(&wrapped, "", 1);
	int rc = ow_search_query(s, (const char *)wrapped.data, format, out, err, errlen);
	ow_buf_free(&wrapped);
	return rc;
}

int ow_search_rows(ow_search_t *s, const char *sql, int64_t limit, ow_search_rows_t *r, char *err,
		   size_t errlen)
{
	const char *used;
	memset(r, 0, sizeof(*r));
	if (ow_search_select(s, sql, limit, 0, OW_SEARCH_AUTO, OW_SEARCH_CSV, &r->text, &used, err,
			     errlen) != OW_OK) {
		ow_buf_free(&r->text); /* a failed query's partial answer */
		return OW_ERROR;
	}
	char *p = (char *)r->text.data, *end = p + r->text.len;
	size_t lines = 0;
	for (char *c = p; c < end; c++)
		lines += *c == '\n';
	/* the header: as many fields as the row has commas outside quotes */
	int ncols = 1, quoted = 0;
	for (char *c = p; c < end && (quoted || *c != '\n'); c++) {
		quoted ^= *c == '"';
		ncols += !quoted && *c == ',';
	}
	r->ncols = ncols;
	r->names = ow_calloc((size_t)ncols, sizeof(char *));
	if (ow_search_csv_row(&p, end, r->names, ncols) == 0) {
		r->ncols = 0;
		return OW_OK;
	}
	r->cell = ow_calloc((lines + 1) * (size_t)ncols, sizeof(char *));
	static char empty[] = "";
	for (int n; (n = ow_search_csv_row(&p, end, r->cell + r->nrows * (size_t)ncols, ncols)) > 0;
	     r->nrows++)
		for (int i = n; i < ncols; i++)
			r->cell[r->nrows * (size_t)ncols + (size_t)i] = empty;
	return OW_OK;
}

void ow_search_rows_free(ow_search_rows_t *r)
{
	free(r->cell);
	free(r->names);
	ow_buf_free(&r->text);
	memset(r, 0, sizeof(*r));
}

void ow_search_sql_str(ow_buf_t *b, const char *s)
{
	ow_buf_add(b, "'", 1);
	for (; *s; s++) {
		if (*s == '\'')
			ow_buf_add(b, "'", 1);
		ow_buf_add(b, s, 1);
	}
	ow_buf_add(b, "'", 1);
}

int ow_search_engine(const char *name)
{
	return strcmp(name, "auto") == 0     ? OW_SEARCH_AUTO
	       : strcmp(name, "sqlite") == 0 ? OW_SEARCH_SQLITE
					     : -1;
}

void ow_search_last_stats(const ow_search_t *s, ow_search_stats_t *st)
{
	*st = s->stats;
}

int ow_search_format(const char *name)
{
	static const char *const names[] = {[OW_SEARCH_TABLE] = "table",
					    [OW_SEARCH_CSV] = "csv",
					    [OW_SEARCH_JSON] = "json",
					    [OW_SEARCH_NDJSON] = "ndjson"};
	for (size_t i = 0; i < OW_NELEMS(names); i++)
		if (strcmp(name, names[i]) == 0)
			return (int)i;
	return -1;
}

/*
 * search.h - SQL over the committed Parquet parts of one tenant, with
 * SQLite as the query engine. A search handle is an in-memory SQLite
 * connection that has three read-only virtual tables, spans, logs and
 * metrics (the schemas of modules/columns), over the parts the catalog
 * (DATA/openwit.db, table parts) listed for the tenant when the handle was
 * opened: one snapshot, whatever the server merges or flushes afterwards.
 * On the command line it sees committed parts only, not the rows a running
 * server still holds in its buffers; in the server, opened on storage
 * snapshots, it sees those too. Nothing in the data directory is written
 * or locked.
 *
 * A query is one SELECT. An authorizer lets through reads of the three
 * tables (and json_each, json_tree) and an allow list of pure functions,
 * and denies everything else: ATTACH, PRAGMA, writes, transactions, the
 * schema tables, load_extension, randomblob, zeroblob. Its time and
 * memory (budget.c: both bind inside one SQLite function call too), the
 * length and depth of its SQL and the rows of its result are bounded; a
 * query past a bound fails alone, with a message that says which.
 *
 * Column types: strings and JSON are TEXT; trace and span ids TEXT, in
 * lowercase hex; times (integer nanoseconds since the epoch, UTC) and all
 * integers INTEGER; a UINT64 column (count, zero_count) or time of 2^63 or
 * more reads as the negative INTEGER of the same 64 bits, as it is
 * stored; DOUBLE is REAL, and NaN, which SQLite has no value for, is NULL;
 * booleans are 0 or 1. funcs.c describes the functions added to SQLite's
 * (time helpers on nanoseconds, exact quantiles).
 *
 * ow_search_select answers the queries of a common shape (columnar.c) with
 * a columnar executor over the same snapshot instead, with the same result;
 * the bounds above hold there too: its groups, sorted rows and quantile
 * values count against the same memory budget as SQLite's heap.
 *
 * For a caller that reads many rows of one key (modules/prom), a snapshot
 * can also be read part by part (ow_search_scope), and a part's rows of
 * one text value handed over column by column without SQL
 * (ow_search_part_rows, rows.c), under the same budgets.
 */
#ifndef OW_SEARCH_H
#define OW_SEARCH_H

#include "../core/core.h"

#include <regex.h>
#include <stdatomic.h>

enum ow_search_format {
	OW_SEARCH_TABLE,
	OW_SEARCH_CSV,
	OW_SEARCH_JSON,
	OW_SEARCH_NDJSON,
	OW_SEARCH_PACKED /* for callers in C: see ow_search_packed_next */
};

/* One value of a packed result: type is SQLITE_INTEGER (i), SQLITE_FLOAT
 * (d), SQLITE_TEXT or SQLITE_BLOB (p, n: not NUL-terminated), or
 * SQLITE_NULL. */
typedef struct {
	int type;
	int64_t i;
	double d;
	const uint8_t *p;
	size_t n;
} ow_search_val_t;

/* OW_SEARCH_PACKED has no header and no names: each row is its ncols
 * values back to back, each a type byte then 8 bytes (an integer or a
 * real, in host order) or a 4-byte length and the bytes (text, blob), or
 * nothing (NULL); a text or blob the same as the row before's in its
 * column is the one byte OW_SEARCH_PACKED_SAME. Reads the ncols values of
 * the row at *pos in b into v, advancing *pos: 1, or 0 at the end. v
 * keeps the row before's values between calls: a value repeated is left
 * as it was (the same p: a caller may compare pointers). */
#define OW_SEARCH_PACKED_SAME 0xff
int ow_search_packed_next(const ow_buf_t *b, size_t *pos, int ncols, ow_search_val_t *v);
/* Appends v[0..ncols) to out as one packed row (no value written as
 * OW_SEARCH_PACKED_SAME): rows a caller packs itself read back alike. */
void ow_search_pack(ow_buf_t *out, const ow_search_val_t *v, int ncols);

typedef struct ow_search_opts_s {
	const char *data_dir;
	const char *tenant;
	int64_t timeout_ms; /* a query's time budget; 0: none */
	int64_t max_rows;   /* rows a result may have; 0: no bound */
	/* A query's memory, bound per query: SQLite's heap (its blocks are
	 * charged to the query that allocates them), the columns it decodes,
	 * its groups and sorted rows, and its answer. 0: no bound. Its sorts
	 * and temporary tables spill to files past a quarter of it. */
	int64_t max_memory;
	/* When the query's time started (CLOCK_MONOTONIC ns, e.g. when the
	 * server admitted it); 0: when it runs. */
	int64_t started;
	/* Raised by the caller, from any thread, to stop the query (its
	 * client went away); NULL: never. */
	const atomic_int *cancel;
	/* In the server: per signal, the parts and buffered rows a query reads
	 * (modules/storage snapshots, which the caller frees after closing the
	 * handle). NULL: the catalog's committed parts, read from disk. */
	struct ow_snapshot_s *const *snapshots;
} ow_search_opts_t;

/* What the last query read from the parts, after pruning. */
typedef struct {
	int64_t parts, row_groups; /* not skipped */
	int64_t rows;		   /* rows of the row groups read */
	int64_t bytes;		   /* bytes of the data pages read, as stored */
} ow_search_stats_t;

typedef struct ow_search ow_search_t;

/* Opens a handle on the tenant's committed parts in o->data_dir. OW_OK, or
 * OW_ERROR with a message (no catalog, invalid tenant, unreadable part). */
int ow_search_open(const ow_search_opts_t *o, ow_search_t **out, char *err, size_t errlen);
/* The budgets s was opened with, for a caller's own work under them (the
 * PromQL evaluator): its memory in bytes (0: none), its deadline
 * (CLOCK_MONOTONIC ns from o->started, or from now when that is 0; 0:
 * none) and its cancel flag (NULL: none). */
void ow_search_limits(const ow_search_t *s, int64_t *max_memory, int64_t *deadline_ns,
		      const atomic_int **cancel);
/* A caller's own work under s's memory budget (the APIs over SQL: Loki's
 * series, the traces Tempo and Jaeger build): n bytes it holds from now
 * on (negative: what it frees), counted with every later query's own
 * (and with the one under way, when a callback of ow_search_part_rows
 * holds it).
 * OW_OK, or OW_ERROR with the budget's message ("query exceeded its memory
 * budget of N MiB", as a query's) in err once what it holds passes
 * max_memory; the caller then stops and answers that error. */
int ow_search_hold(ow_search_t *s, int64_t n, char *err, size_t errlen);
void ow_search_close(ow_search_t *s);

/* For a caller that reads a snapshot piece by piece (modules/prom's
 * series cache): the committed parts of a signal's table in s, part i's
 * identity in the server (its ow_partref_t, the same for every handle
 * while the part lives; NULL on the command line) and its catalog time
 * range (ns). */
size_t ow_search_nparts(const ow_search_t *s, int signal);
struct ow_partref *ow_search_partref(const ow_search_t *s, int signal, size_t i);
void ow_search_part_span(const ow_search_t *s, int signal, size_t i, int64_t *min_ns,
			 int64_t *max_ns);
/* Narrows what the signal's table reads until the next call: part i
 * alone (0 <= i < ow_search_nparts), the buffered rows alone
 * (OW_SEARCH_BUFFERED), or everything again (OW_SEARCH_EVERYTHING). */
enum { OW_SEARCH_EVERYTHING = -1, OW_SEARCH_BUFFERED = -2 };
void ow_search_scope(ow_search_t *s, int signal, ptrdiff_t part);
/* The rows of committed part i of signal whose text column eq_col is eq,
 * without SQL (rows.c): fn is called with each row's values of columns
 * cols[0..ncols) (a NULL name: NULL), as a query reads them, until it
 * returns other than OW_OK, which is returned. A text points into the row
 * group's buffers: equal pointers are equal values within a row group.
 * flags: OW_SEARCH_ROW_FIRST at each row group's first row;
 * OW_SEARCH_ROW_SAME_KEY when cols[0..nkey) hold the same values as in the
 * row before (told by their dictionary codes; not at a row group's first
 * row, nor for a column without codes), which v then holds still. Under
 * the handle's budgets as a query (OW_ERROR with its message when one
 * stops it). OW_OK; OW_ERROR with a message; OW_DECLINED for a part the
 * SQL engine must read (one of format 1). */
enum { OW_SEARCH_ROW_FIRST = 1, OW_SEARCH_ROW_SAME_KEY = 2 };
typedef int (*ow_search_row_fn)(void *arg, const ow_search_val_t *v, int flags);
int ow_search_part_rows(ow_search_t *s, int signal, size_t i, const char *eq_col, const char *eq,
			const char *const *cols, int ncols, int nkey, ow_search_row_fn fn,
			void *arg, char *err, size_t errlen);
/* The combinations of columns cols[0..ncols) in committed part i of
 * signal, without SQL (rows.c): fn is called with a row's values each
 * time they differ from the row before's (each row group's first row:
 * flags OW_SEARCH_ROW_FIRST), so every combination comes at least once, a repeat of one
 * not next to it again (the caller keeps them distinct). Texts compared
 * by their dictionary codes. Budgets and answers as ow_search_part_rows. */
int ow_search_part_distinct(ow_search_t *s, int signal, size_t i, const char *const *cols,
			    int ncols, ow_search_row_fn fn, void *arg, char *err, size_t errlen);
/* Why the last query of s stopped: 0 (it did not, or for its own
 * error), or OW_SEARCH_TIMEOUT, OW_SEARCH_OVER_MEMORY, OW_SEARCH_CANCELED:
 * for callers that answer each differently. */
enum { OW_SEARCH_TIMEOUT = 1, OW_SEARCH_OVER_MEMORY, OW_SEARCH_CANCELED };
int ow_search_stop_reason(ow_search_t *s);

/* Runs one SQL statement and appends its result to out in the given
 * format. OW_OK, or OW_ERROR with the message (SQLite's, or the bound that
 * was passed) in err and out as it was. */
int ow_search_query(ow_search_t *s, const char *sql, int format, ow_buf_t *out, char *err,
		    size_t errlen);
void ow_search_last_stats(const ow_search_t *s, ow_search_stats_t *st);

/* Which engine runs a query: the columnar executor when the query is of
 * the shape it knows (columnar.c), else SQLite; or SQLite always. */
enum ow_search_engine { OW_SEARCH_AUTO, OW_SEARCH_SQLITE };
/* enum ow_search_engine of "auto" or "sqlite"; -1 otherwise. */
int ow_search_engine(const char *name);

/* Runs SELECT * FROM (sql) LIMIT limit OFFSET offset (limit < 0: no limit)
 * as ow_search_query does, on the columnar executor when engine allows and
 * the query is of its shape, else on SQLite; *used names the engine that
 * answered: "columnar" or "sqlite". Both give the same rows, in the same
 * order where the query's ORDER BY decides it. */
int ow_search_select(ow_search_t *s, const char *sql, int64_t limit, int64_t offset, int engine,
		     int format, ow_buf_t *out, const char **used, char *err, size_t errlen);

/* Installs the SQLite allocator that charges each query's blocks to its
 * memory budget: once, before SQLite is first used (budget.c). */
int ow_search_setup(void);

/* A query's rows as text, for the APIs over SQL (Loki, Tempo, Jaeger):
 * ow_search_select's answer in csv read back (so integers come in full,
 * where JSON readers round those past 2^53): row r's column c is
 * cell[r * ncols + c], NUL-terminated, "" for NULL; names are the
 * columns'. At most limit rows (< 0: the handle's max_rows bound). */
typedef struct {
	char **cell;
	char **names;
	int ncols;
	size_t nrows;
	ow_buf_t text;
} ow_search_rows_t;
int ow_search_rows(ow_search_t *s, const char *sql, int64_t limit, ow_search_rows_t *r, char *err,
		   size_t errlen);
void ow_search_rows_free(ow_search_rows_t *r);
/* The bytes r holds, for ow_search_hold. */
int64_t ow_search_rows_bytes(const ow_search_rows_t *r);
/* Appends s as an SQL string literal ('it''s'). */
void ow_search_sql_str(ow_buf_t *b, const char *s);

/* Compiles an RE2-style pattern (what Prometheus, Loki and Tempo take:
 * POSIX ERE with \d \w \s and their negations, and a leading (?i)) into
 * re. how: OW_SEARCH_RE_ANCHORED, it must match the whole text (wrapped
 * as ^(...)$, so a submatch n is re's n + 1); OW_SEARCH_RE_SUBMATCH,
 * regexec reports submatches (else REG_NOSUB). OW_OK, or OW_ERROR with RE2's kind of
 * message; patterns that would take regcomp unbounded memory (a
 * repetition of a repetition, counts over 1000, back-references, as RE2
 * refuses them too) are refused. The SQL function regexp(re, text) reads
 * patterns so. */
enum { OW_SEARCH_RE_ANCHORED = 1, OW_SEARCH_RE_SUBMATCH = 2 };
int ow_search_regcomp(regex_t *re, const char *pattern, int how, char *err, size_t errlen);

/* enum ow_search_format of "table", "csv", "json" or "ndjson"; -1 otherwise. */
int ow_search_format(const char *name);

#endif

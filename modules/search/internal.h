/*
 * internal.h - what the files of modules/search share, and nothing outside
 * includes: the handle (search.c), the virtual tables (vtab.c), the
 * columnar executor (columnar.c), a part's rows by one column's value
 * without SQL (rows.c), the scan layer under them (scan.c), the
 * SQL functions (funcs.c, expr.c), the budgets (budget.c) and the output
 * formats (output.c).
 */
#ifndef OW_SEARCH_INTERNAL_H
#define OW_SEARCH_INTERNAL_H

#include "../parquet/parquet.h"
#include "../storage/storage.h"
#include "search.h"

#include <math.h>
#include <sqlite3.h>
#include <stdatomic.h>

/* budget.c: a query's budgets, shared by every thread working for it. */
enum {
	OW_SEARCH_STOP_TIME = OW_SEARCH_TIMEOUT, /* search.h's reasons */
	OW_SEARCH_STOP_MEMORY = OW_SEARCH_OVER_MEMORY,
	OW_SEARCH_STOP_CANCEL = OW_SEARCH_CANCELED
};
typedef struct {
	int64_t timeout_ms, deadline; /* deadline: CLOCK_MONOTONIC ns; 0: none */
	int64_t limit;		      /* bytes; 0: none */
	_Atomic int64_t used;	      /* SQLite's blocks and metered buffers */
	atomic_int stop;	      /* 0, or the first OW_SEARCH_STOP_* */
	const atomic_int *cancel;     /* the caller's; NULL: none */
} ow_search_budget_t;

/* Makes b this thread's budget (NULL: none): its SQLite blocks and
 * buffers are charged to it from now on. */
void ow_search_budget_enter(ow_search_budget_t *b);
/* Why b has stopped (OW_SEARCH_STOP_*), checking its clock and cancel
 * flag; 0 while it runs. */
int ow_search_stopped(ow_search_budget_t *b);
void ow_search_stop(ow_search_budget_t *b, int why);
/* For loops inside one call: this thread's budget's reason to stop,
 * looking at the clock once in 1024 calls; 0 to go on. */
int ow_search_poll(void);
/* The same, looking at the clock now: between steps that may each take
 * milliseconds. */
int ow_search_poll_now(void);
/* Charges n bytes (negative: credits); OW_ERROR, charging nothing and
 * stopping the query, when that would pass the limit. */
int ow_search_charge(ow_search_budget_t *b, int64_t n);
/* OW_ERROR, stopping the query, when n more bytes would pass this
 * thread's budget: before one step could ask for more than it. */
int ow_search_room(size_t n);
/* "query exceeded its time budget of N ms", ... */
void ow_search_budget_message(const ow_search_budget_t *b, char *buf, size_t len);

/* A committed part of the snapshot: mapped when the handle opens, which
 * keeps the file readable after a merge unlinks it; its footer is parsed
 * the first time a query reaches it. */
typedef struct {
	char *path; /* relative to the data directory, for messages */
	const uint8_t *map;
	size_t len;
	int64_t min_time, max_time, rows; /* from the catalog */
	ow_pq_file_t *pq;
	int *colmap;	   /* schema column -> the file's column, -1 when absent */
	ow_partref_t *ref; /* in the server: the part's cache lives there */
	int borrowed;	   /* map, pq and colmap belong to ref's cache */
} ow_search_part_t;

/* The most arguments an SQL function call may have (SQLITE_LIMIT_FUNCTION_ARG). */
#define OW_SEARCH_FUNC_ARGS 32

/* The module argument of one virtual table. */
typedef struct {
	struct ow_search *s;
	int signal;
} ow_search_tab_arg_t;

struct ow_search {
	sqlite3 *db;
	char *data_dir;
	char tenant[OW_TENANT_MAX + 1];
	int64_t max_rows, max_memory, started;
	int64_t held; /* the caller's own bytes (ow_search_hold) */
	const atomic_int *cancel;
	ow_search_part_t *parts[OW_NSIGNALS];
	size_t nparts[OW_NSIGNALS];
	/* buffered rows (server only), read after the parts */
	ow_chunk_t **chunks[OW_NSIGNALS];
	size_t nchunks[OW_NSIGNALS];
	int64_t rows[OW_NSIGNALS];
	ow_search_tab_arg_t tabs[OW_NSIGNALS];
	/* ow_search_scope: the whole snapshot while a scope narrows parts,
	 * nparts and nchunks */
	int scoped[OW_NSIGNALS];
	ow_search_part_t *all_parts[OW_NSIGNALS];
	size_t all_nparts[OW_NSIGNALS], all_nchunks[OW_NSIGNALS];
	/* printf's own connection (funcs.c), and its statement for each
	 * number of arguments */
	sqlite3 *aux;
	sqlite3_stmt *printf_st[OW_SEARCH_FUNC_ARGS + 1];
	/* and for ->>, -> and json_extract: SQLite's reading of a real, and
	 * SQLite's own functions for the paths expr.c leaves to them */
	sqlite3_stmt *json_st[4];
	/* the query running */
	ow_search_budget_t budget;
	int saw_select; /* the authorizer saw the statement's SELECT */
	int64_t now_ns; /* its start: what now_ns() returns */
	ow_search_stats_t stats;
};

/* 1 once the running query is past one of its budgets or cancelled (and
 * remembers it). */
int ow_search_expired(struct ow_search *s);
/* Why it stopped: "query exceeded its time budget of N ms", ... */
void ow_search_timeout_message(const struct ow_search *s, char *buf, size_t len);

/* The value of a lowercase hex digit; -1 for any other character. */
int ow_search_unhex(int ch);

/* Maps a part's file: OW_OK; OW_AGAIN when the file is gone; OW_ERROR
 * with a message. */
int ow_search_map_part(const struct ow_search *s, ow_search_part_t *p, char *err, size_t errlen);
/* Maps the part if it is not yet, parses its footer and maps the columns
 * of the signal's schema to the file's by name. OW_OK, or OW_ERROR with a
 * message. */
int ow_search_open_part(const struct ow_search *s, ow_search_part_t *p, int signal, char *err,
			size_t errlen);

/* Part i of signal's parts in s, whatever a scope narrows (search.c). */
ow_search_part_t *ow_search_whole_part(const struct ow_search *s, int signal, size_t i);

/* 1 when opened part p was written before plain JSON (format 1: it has no
 * otlp_exact column). */
int ow_search_part_v1(const ow_search_part_t *p, int signal);
/* Column col of part p as read (o: its values, or a dictionary's
 * entries), converted to plain JSON in place when p is of format 1 and
 * the column's JSON differs there (modules/columns/convert.c). */
void ow_search_v1_column(const ow_search_part_t *p, int signal, int col, ow_col_t *o);

/* Column col of part p, row group rg, as both engines read it: what
 * ow_pq_read_column_pf gives (sel, pf, codes, stored as it says), a
 * column of format 1 converted (ow_search_v1_column), and a column the
 * part shredded (modules/columns/shred.c) whole again: its objects
 * joined from the rest and the typed columns (no page filter, no codes,
 * no lent dictionary). OW_OK, or OW_ERROR with a message. */
int ow_search_read_col(const ow_search_part_t *p, int signal, int col, int rg, const uint8_t *sel,
		       const ow_pq_pagefilter_t *pf, ow_col_t *o, ow_pq_codes_t *codes,
		       ow_pq_chunkdict_t *cd, int64_t *stored, char *err, size_t errlen);

/* Resets the running query's statistics, clock and time budget. */
void ow_search_begin(struct ow_search *s);
/* OW_ERROR with the message once a result has max_rows rows. */
int ow_search_row_bound(const struct ow_search *s, int64_t nrows, char *err, size_t errlen);

/* columnar.c: the query parsed, when it is of the columnar subset (NULL
 * otherwise); run it, which gives OW_OK, OW_ERROR with a message, or
 * OW_DECLINED when SQLite must answer after all (out as it was). */
typedef struct ow_columnar ow_columnar_t;
ow_columnar_t *ow_columnar_parse(const struct ow_search *s, const char *sql);
int ow_columnar_run(struct ow_search *s, ow_columnar_t *q, int64_t limit, int64_t offset,
		    int format, ow_buf_t *out, char *err, size_t errlen);
void ow_columnar_free(ow_columnar_t *q);

/* The quantile of n values (sorted in place, ints or doubles): the nearest
 * rank, as DuckDB's quantile_disc; funcs.c says more. */
typedef union {
	int64_t i;
	double d;
} ow_search_num_t;
ow_search_num_t ow_search_quantile(ow_search_num_t *v, size_t n, int real, double q);

/* funcs.c's readings of times, which eval.c shares: ns(text) and
 * interval_ns(text) into *out (0 when the text does not read), ns_to_iso
 * into buf. */
int ow_search_parse_time(const char *s, int64_t *out);
int ow_search_parse_interval(const char *s, int64_t *out);
void ow_search_iso(int64_t ns, char *buf, size_t len);

/* An in-memory connection with the handle's limits and nothing of ours
 * in it (NULL when SQLite cannot open one). */
sqlite3 *ow_search_bare_db(void);

int ow_search_vtab_register(struct ow_search *s);
/* match(text, query) for SQLite (funcs.c): 1 when every token of the
 * query is a token of the text (modules/index's tokenizer); NULL when
 * either is NULL. The virtual tables take it as a constraint. */
void ow_search_fn_match(sqlite3_context *ctx, int argc, sqlite3_value **argv);
int ow_search_funcs_register(struct ow_search *s);

/* A value as SQLite has it: a result's cell, or a column's value read
 * the way the virtual tables give it to SQLite. */

/* Room for the hex text of the widest id column. */
#define OW_SEARCH_HEX_MAX 128

/* Value v (an index among the column's defined values; a text column's
 * refs, if it has them, name its entry) of a column of type d, as search.h
 * says: ids as lowercase hex written into hex, NaN as
 * NULL, UINT32 unsigned. */
static inline void ow_search_cell(const ow_pq_coldef_t *d, const ow_col_t *o, size_t v,
				  char hex[OW_SEARCH_HEX_MAX], ow_search_val_t *out)
{
	static const char digits[] = "0123456789abcdef";
	memset(out, 0, sizeof(*out));
	if (d->type == OW_PQ_BYTE_ARRAY) {
		out->type = SQLITE_TEXT;
		out->p = ow_col_bytes_at(o, ow_col_entry(o, v), &out->n);
		return;
	}
	const uint8_t *p = o->fixed.data + ow_pq_width(d) * v;
	switch (d->type) {
	case OW_PQ_BOOLEAN:
		out->type = SQLITE_INTEGER;
		out->i = *p != 0;
		break;
	case OW_PQ_INT32: {
		int32_t x = (int32_t)ow_get_u32(p);
		out->type = SQLITE_INTEGER;
		out->i = d->logical == OW_PQ_L_UINT32 ? (int64_t)(uint32_t)x : x;
		break;
	}
	case OW_PQ_INT64:
		out->type = SQLITE_INTEGER;
		out->i = (int64_t)ow_get_u64(p);
		break;
	case OW_PQ_DOUBLE:
		memcpy(&out->d, p, 8);
		out->type = isnan(out->d) ? SQLITE_NULL : SQLITE_FLOAT;
		break;
	case OW_PQ_FIXED: {
		size_t n = OW_MIN((size_t)d->fixed_len, OW_SEARCH_HEX_MAX / 2);
		for (size_t i = 0; i < n; i++) {
			hex[2 * i] = digits[p[i] >> 4];
			hex[2 * i + 1] = digits[p[i] & 15];
		}
		out->type = SQLITE_TEXT;
		out->p = (const uint8_t *)hex;
		out->n = 2 * n;
		break;
	}
	default:
		out->type = SQLITE_NULL;
	}
}

/* expr.c: SQLite's LIKE and ->> again, for the columnar executor. */
/* 1 when text s matches LIKE pattern p. */
int ow_search_like(const uint8_t *p, size_t pn, const uint8_t *s, size_t sn);
/* The wildcards of LIKE or GLOB: any run, one character, GLOB's set
 * opener ('[' or 0), and whether ASCII letters match either case. */
typedef struct {
	uint32_t all, one, set;
	int nocase;
} ow_search_glob_t;
extern const ow_search_glob_t ow_search_like_rules, ow_search_glob_rules;
/* The code point at *s (before end), as SQLite's sqlite3Utf8Read. */
uint32_t ow_search_utf8(const uint8_t **s, const uint8_t *end);
/* 1 when s matches pattern p under g, with esc as LIKE's ESCAPE (0:
 * none) or GLOB's '['; 0 when not; -1 when the thread's query budget
 * stopped it. */
int ow_search_match(const uint8_t *p, size_t pn, const uint8_t *s, size_t sn,
		    const ow_search_glob_t *g, uint32_t esc);
/* A pattern '%needle%' (ASCII, no '_'): its needle, lowercase, into needle
 * (cap bytes); 0 for other patterns. */
int ow_search_like_needle(const uint8_t *p, size_t pn, char *needle, size_t cap);
/* 1 when s holds needle (m bytes, lowercase) in any ASCII case. */
int ow_search_like_find(const char *needle, size_t m, const uint8_t *s, size_t n);

/* instr(h, n) for a needle of nn > 0 bytes: the character (text) or byte
 * (a blob) of h where n first starts, from 1; 0 when it does not; -1
 * when the thread's query budget stopped it (a needle found again and
 * again inside characters). funcs.c's instr and the columnar engine's. */
int64_t ow_search_instr(const uint8_t *h, size_t hn, const uint8_t *n, size_t nn, int text);

/* Sets may[v] to 1 for each value v in from..to-1 of a BYTE_ARRAY
 * column (its bytes data, the end offset of each value ends) that holds
 * the needle (m > 0 bytes; folding: lowercase, found in any ASCII case),
 * and leaves the other bytes as they are: one pass over the values, not
 * a search a value. */
void ow_search_holding(const uint8_t *data, const uint32_t *ends, size_t from, size_t to,
		       const uint8_t *needle, size_t m, int folding, uint8_t *may);

/* scan.c: the scan layer under both engines - one predicate type and one
 * pruning path (its header says what prunes what). */
enum {
	OW_SCAN_EQ,
	OW_SCAN_NE,
	OW_SCAN_LT,
	OW_SCAN_LE,
	OW_SCAN_GT,
	OW_SCAN_GE,
	OW_SCAN_IN,
	OW_SCAN_NOT_IN,
	OW_SCAN_NULL,
	OW_SCAN_NOT_NULL,
	OW_SCAN_LIKE,
	OW_SCAN_NOT_LIKE,
	OW_SCAN_MATCH /* match(col, query): every token of the query is one of col's */
};

/* A predicate: column op literals. col is a column of the signal's schema
 * (base = col), or, past its columns, a value an engine derives from
 * column base that is NULL where base is (prunes by base's NULLs alone). */
typedef struct {
	int col, base, op;
	ow_search_val_t *vals; /* the literals (LIKE: the pattern); text owned, p NULL else */
	size_t nvals;
	/* set by ow_scan_pred_ready: */
	int mixed; /* a literal SQLite converts to compare (the column's affinity):
		    * the predicate prunes nothing */
	/* =, !=, IN, NOT IN on an id column: the literals that are ids
	 * (lowercase hex of its length; the others equal no id), bytes back
	 * to back */
	uint8_t *ids;
	size_t nids;
	/* LIKE '%needle%' with an ASCII needle: the needle, lowercase; MATCH:
	 * its longest token, when ASCII */
	char *needle;
	size_t nneedle;
	/* LIKE: the literal prefix in lower and upper case, for statistics */
	uint8_t *pre_lo, *pre_up;
	size_t npre;
	/* MATCH: the query's tokens (modules/index), lower-cased back to back,
	 * and the end of each */
	ow_buf_t toks, tokends;
	size_t ntok;
} ow_scan_pred_t;

/* A query's predicates on one signal's table, ANDed. */
typedef struct {
	int signal;
	const ow_pq_coldef_t *defs; /* the signal's schema */
	const ow_scan_pred_t *p;
	int np;
} ow_scan_t;

/* SQLite's order of two values, without conversions: NULL, numbers (an
 * integer and a real compared exactly), text (BINARY), blobs. */
int ow_search_val_cmp(const ow_search_val_t *a, const ow_search_val_t *b);
/* Sets what p derives from col, base, op and vals; d is base's column. */
void ow_scan_pred_ready(ow_scan_pred_t *p, const ow_pq_coldef_t *d);
/* Frees what p holds (its literals too) and zeroes it. */
void ow_scan_pred_free(ow_scan_pred_t *p);
/* 1 when p holds for value x (of p's column, or the value it derives). */
int ow_scan_holds(const ow_scan_pred_t *p, const ow_search_val_t *x);
/* Statistics (a row group's or a page's, of rows rows) of p's column d:
 * 0 when no row can satisfy p (ow_scan_stats_may), 1 when every row does
 * (ow_scan_stats_all); 1, resp. 0, when they cannot tell. */
int ow_scan_stats_may(const ow_scan_pred_t *p, const ow_pq_coldef_t *d, const ow_pq_stats_t *st,
		      int64_t rows);
int ow_scan_stats_all(const ow_scan_pred_t *p, const ow_pq_coldef_t *d, const ow_pq_stats_t *st,
		      int64_t rows);
/* A chunk's or a page's min and max as the column's values read as
 * ow_search_cell gives them (integers and text; 0 for other columns, or
 * without bounds). */
int ow_scan_stats_bounds(const ow_pq_coldef_t *d, const ow_pq_stats_t *st, ow_search_val_t *lo,
			 ow_search_val_t *hi);
/* 1 when no row can match (a predicate no value satisfies: a comparison
 * with NULL, an empty range, an id that is not hex). */
int ow_scan_none(const ow_scan_t *sc);
/* 0 when the part's catalog time range rules a match out. */
int ow_scan_part_may(const ow_scan_t *sc, const ow_search_part_t *p);
/* 0 when the row group of the (open) part cannot hold a match: a column
 * absent, statistics, bloom filters. */
int ow_scan_rg_may(const ow_scan_t *sc, ow_search_part_t *p, int rg);
/* A data page of column col by its statistics: 0 no row of it can match
 * the predicates on col, 2 every row matches them all, 1 otherwise (a
 * page filter's answer, ow_pq_pagefilter_t, where 2 is usable). */
int ow_scan_page_may(const ow_scan_t *sc, int col, const ow_pq_stats_t *st, int64_t rows);
/* The blocks of part p's full-text index (modules/index) that may hold a
 * match of the predicates it answers (match() and LIKE '%word%' on the
 * columns it covers): a byte a block, for ow_scan_index_rg and
 * ow_scan_index_sel; NULL when it rules nothing out (no index yet, none of
 * those predicates). Free it. */
uint8_t *ow_scan_index(const ow_scan_t *sc, const ow_search_part_t *p);
/* 0 when no block of row group rg may hold a match. */
int ow_scan_index_rg(const uint8_t *may, const ow_search_part_t *p, int rg);
/* Clears sel (rg's nrows rows) in the blocks ruled out: the rows left. */
size_t ow_scan_index_sel(const uint8_t *may, const ow_search_part_t *p, int rg, uint8_t *sel,
			 size_t nrows);

/* =, <, <=, >, >= of an integer column (of type d; its values read as
 * raw integers, UINT32 aside) with an integer literal: [*lo, *hi]
 * narrowed to the values p allows (the caller starts it whole; an empty
 * range when none); 0 for other predicates. */
int ow_scan_int_range(const ow_scan_pred_t *p, const ow_pq_coldef_t *d, int64_t *lo, int64_t *hi);
/* Clears sel[row] (of nrows) for each row of column o (of type d; NULL:
 * every row NULL) whose value does not satisfy p, a predicate on the
 * column itself; the rows left selected, counted. o's values of rows sel
 * does not select are not looked at. */
size_t ow_scan_select(const ow_scan_pred_t *p, const ow_pq_coldef_t *d, const ow_col_t *o,
		      uint8_t *sel, size_t nrows);

#define OW_SEARCH_PATH_MAX 8
/* A JSON path: steps of a member (key, klen: its label as written, which
 * points into the path text) or an array element (key NULL, index). */
typedef struct {
	const char *key[OW_SEARCH_PATH_MAX];
	size_t klen[OW_SEARCH_PATH_MAX];
	int64_t index[OW_SEARCH_PATH_MAX];
	int nkeys;   /* the number of steps */
	int trusted; /* the texts it is used on are JSON (a JSON column's
		      * values, which modules/columns wrote): not checked */
} ow_search_path_t;
/* The path of an operand of ->> and -> (and of json_extract): '$' then
 * .key, ."key" and [N] steps, or a text not starting with '$', which is
 * one key. 0 for what expr.c leaves to SQLite ([#-N], bad syntax). */
int ow_search_json_path(const char *path, ow_search_path_t *out);
/* Adds the step [i] to out (an integer operand of ->>: out zeroed first);
 * 0 when i < 0 or the path is full. */
int ow_search_json_index(int64_t i, ow_search_path_t *out);
/* json ->> path into v (text may point into json or scratch): OW_OK; or
 * OW_DECLINED for a real number, with v->type SQLITE_FLOAT and its JSON
 * text in v->p, v->n (its value is SQLite's conversion of that text:
 * funcs.c asks SQLite, the columnar executor hands the query to SQLite). */
int ow_search_json_get(const ow_search_path_t *path, const uint8_t *json, size_t n,
		       ow_buf_t *scratch, ow_search_val_t *v);
/* json -> path: the JSON text of what the path names, or NULL. OW_OK. */
int ow_search_json_text(const ow_search_path_t *path, const uint8_t *json, size_t n,
			ow_buf_t *scratch, ow_search_val_t *v);

/* The formats of search.h, row by row into a buffer (the table format
 * keeps the cells until the end, to align them). */
typedef struct {
	int format, ncols;
	char **names;
	ow_buf_t *out;
	int64_t nrows;
	ow_buf_t cells;	 /* table: each cell's text, NUL-terminated */
	size_t *width;	 /* table: widest cell of each column, in characters */
	uint8_t *number; /* table: the column holds only numbers (or NULL) */
	/* packed: where each column's last text is in out, its length, type */
	size_t *prev_off, *prev_len;
	uint8_t *prev_type;
} ow_search_out_t;

void ow_search_out_begin(ow_search_out_t *o, int format, int ncols, const char *const *names,
			 ow_buf_t *out);
void ow_search_out_row(ow_search_out_t *o, const ow_search_val_t *v);
void ow_search_out_end(ow_search_out_t *o);
/* Splits the csv row at *p (up to end, which is not read) into at most
 * max fields in place, each unquoted and NUL-terminated, and moves *p past
 * it: the number of fields, 0 at the end. */
int ow_search_csv_row(char **p, char *end, char **fields, int max);

#endif

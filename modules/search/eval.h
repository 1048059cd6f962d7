/*
 * eval.h - expressions over values as SQLite 3.40 has them (eval.c), for
 * the columnar executor: a tree the parser of columnar.c builds, folded
 * where it is constant, evaluated a row at a time.
 */
#ifndef OW_SEARCH_EVAL_H
#define OW_SEARCH_EVAL_H

#include "internal.h"

/* A node's operation. */
enum {
	E_LIT, /* v */
	E_REF, /* a value the caller reads (ow_eval_t.leaf): id */
	E_NOW, /* now_ns() */
	E_AGG, /* an aggregate call (columnar.c binds it before a run) */
	E_NEG, /* - x, as SQLite's 0 - x */
	E_ADD, /* + - * / % || */
	E_SUB,
	E_MUL,
	E_DIV,
	E_REM,
	E_CONCAT,
	E_EQ, /* = <> < <= > >= IS (neg: IS NOT) */
	E_NE,
	E_LT,
	E_LE,
	E_GT,
	E_GE,
	E_IS,
	E_AND,
	E_OR,
	E_NOT,
	E_ISNULL,  /* neg: NOTNULL */
	E_BETWEEN, /* x, lo, hi (neg: NOT BETWEEN) */
	E_IN,	   /* x, values... (neg: NOT IN) */
	E_INSET,   /* x IN a set of values (set; neg: NOT IN) */
	E_SCALAR,  /* (SELECT ...): columnar.c makes it its value first */
	E_LIKE,	   /* x, pattern (neg: NOT LIKE) */
	E_GLOB,
	E_CASE,	 /* [base,] when, then, ..., [else] (fn: has a base, neg: has an else) */
	E_CAST,	 /* fn: the affinity */
	E_FN,	 /* fn: F_*, kids its arguments */
	E_SQLFN, /* SQLite's own function name, called (id: its statement) */
};

/* Affinities, in SQLite's order (NONE below all, numeric from NUMERIC). */
enum { AFF_NONE, AFF_BLOB, AFF_TEXT, AFF_NUMERIC, AFF_INTEGER, AFF_REAL };

/* Functions done here. */
enum {
	F_ABS,
	F_ROUND,
	F_LOWER,
	F_UPPER,
	F_LENGTH,
	F_SUBSTR,
	F_INSTR,
	F_REPLACE,
	F_TRIM,
	F_LTRIM,
	F_RTRIM,
	F_MIN,
	F_MAX,
	F_COALESCE,
	F_NULLIF,
	F_IIF,
	F_TIME_BUCKET,
	F_NS,
	F_INTERVAL,
	F_NS_TO_ISO,
	F_STRFTIME, /* strftime(format, x, 'unixepoch') and the forms below */
	F_DATETIME,
	F_DATE,
	F_TIME,
	F_UNIXEPOCH,
	F_JULIANDAY,
	F_TOKMATCH, /* match(text, query): modules/index's tokens */
};

/* A set of values for x IN (SELECT ...): sorted in SQLite's order. */
typedef struct {
	ow_search_val_t *v; /* owned */
	size_t n;
	int has_null;
	int aff; /* the comparison's affinity */
} ow_eval_set_t;

typedef struct ow_node ow_node_t;
struct ow_node {
	int op, aff; /* aff: the expression's own affinity (columns, CAST) */
	int fn, neg, id;
	double q;	   /* E_AGG: the quantile */
	ow_search_val_t v; /* E_LIT: text owned */
	char *name;	   /* E_SQLFN, E_AGG: the function */
	ow_eval_set_t *set;
	void *sub; /* E_INSET: the subquery (columnar.c's) */
	int n;
	ow_node_t **kid;
};

ow_node_t *ow_node_new(int op, int n);
void ow_node_add(ow_node_t *n, ow_node_t *kid);
void ow_node_free(ow_node_t *n);
/* 1 when a and b are the same expression. */
int ow_node_same(const ow_node_t *a, const ow_node_t *b);

/* Bytes for values made while evaluating: blocks that do not move, freed
 * all at once. */
typedef struct {
	uint8_t **blk;
	size_t nblk, used, cap;
} ow_arena_t;

void *ow_arena_alloc(ow_arena_t *a, size_t n);
void ow_arena_reset(ow_arena_t *a);
void ow_arena_free(ow_arena_t *a);

/* An evaluation: leaf reads an E_REF's value (OW_OK, OW_DECLINED,
 * OW_ERROR); values made are in ar until it is reset. */
typedef struct {
	int (*leaf)(void *arg, const ow_node_t *n, ow_search_val_t *v);
	void *arg;
	ow_arena_t ar;
	int has_now;
	int64_t now;
	/* SQLite's own functions: a connection of this evaluation's and a
	 * statement each */
	sqlite3 *db;
	sqlite3_stmt **st;
	int nst;
	sqlite3_stmt *real_st; /* ow_eval_real's */
} ow_eval_t;

/* The value of n: OW_OK; OW_DECLINED where SQLite must answer (its
 * error, or a conversion done here only where it is plain); OW_ERROR when
 * the query's budget stopped it. */
int ow_eval(ow_eval_t *e, const ow_node_t *n, ow_search_val_t *out);
/* x's truth in a WHERE or a CASE: 1, 0, or -1 for NULL; OW_DECLINED
 * (as a negative below -1) where it is not plain. */
int ow_eval_truth(ow_eval_t *e, const ow_node_t *n, int *truth);
/* The real SQLite reads in the number text p (n bytes), as ->> gives
 * it (CAST(text AS REAL) on the evaluation's connection): OW_OK, or
 * OW_DECLINED. */
int ow_eval_real(ow_eval_t *e, const uint8_t *p, size_t n, double *d);
/* A value's truth: as ow_eval_truth. */
int ow_eval_value_truth(const ow_search_val_t *v, int *truth);
void ow_eval_free(ow_eval_t *e);

/* Replaces the constant parts of *n by their values (E_NOW when
 * e->has_now): OW_OK, or what ow_eval gave for a part. */
int ow_eval_fold(ow_eval_t *e, ow_node_t **n);
/* 1 when n reads no row (folding leaves it a literal). */
int ow_eval_constant(const ow_eval_t *e, const ow_node_t *n);

/* SQLite's comparison affinity of two expressions. */
int ow_eval_cmp_aff(int a, int b);
/* x with affinity aff applied, as before a comparison (text into ar):
 * OW_OK or OW_DECLINED. */
int ow_eval_apply_aff(ow_eval_t *e, int aff, ow_search_val_t *x);
/* SQLite's order of values (sqlite3MemCompare, BINARY). */
int ow_eval_compare(const ow_search_val_t *a, const ow_search_val_t *b);
/* The value's text as SQLite gives it (numbers written as it writes
 * them), in ar. */
int ow_eval_text(ow_eval_t *e, const ow_search_val_t *x, ow_search_val_t *out);
/* The affinity of a CAST's type name, -1 for names not taken. */
int ow_eval_type_aff(const char *name);
/* A function by name and number of arguments: its F_*, or -1. */
int ow_eval_function(const char *name, int nargs);
/* 1 when SQLite's function of that name, called with these constant
 * arguments, gives the same value in any connection at any time. */
int ow_eval_sqlite_function(const char *name, int nargs);

/* Integer arithmetic op (E_ADD .. E_REM) of a and b into *r when it is
 * plain: no overflow, a divisor neither 0 nor -1. 0 otherwise: SQLite's
 * answer is then a real or NULL, which ow_eval gives. One rule for the row
 * evaluator and the columnar engine's fast paths. */
static inline int ow_eval_int_plain(int op, int64_t a, int64_t b, int64_t *r)
{
	switch (op) {
	case E_ADD:
		return !__builtin_add_overflow(a, b, r);
	case E_SUB:
		return !__builtin_sub_overflow(a, b, r);
	case E_MUL:
		return !__builtin_mul_overflow(a, b, r);
	case E_DIV:
		return b != 0 && b != -1 && ((*r = a / b), 1);
	case E_REM:
		return b != 0 && b != -1 && ((*r = a % b), 1);
	default:
		return 0;
	}
}

#endif

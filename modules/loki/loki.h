/*
 * loki.h - Loki's HTTP API over the logs table (loki.c), with a LogQL
 * subset (logql.c).
 */
#ifndef OW_LOKI_H
#define OW_LOKI_H

#include "../core/module.h"

#include <regex.h>

extern ow_module_t ow_loki_module;

/* ---- logql.c ---- */

/* A label set: names and values, owned, in order of addition (a name
 * set again replaces its value). */
typedef struct {
	char **name, **value;
	int n, cap;
} lq_labels_t;
void lq_labels_set(lq_labels_t *l, const char *name, const char *value, size_t vlen);
const char *lq_labels_get(const lq_labels_t *l, const char *name); /* NULL: absent */
void lq_labels_del(lq_labels_t *l, const char *name);
void lq_labels_free(lq_labels_t *l);
void lq_labels_copy(lq_labels_t *to, const lq_labels_t *from);
/* The labels sorted by name, as Loki prints them: {a="1", b="2"}. */
void lq_labels_key(lq_labels_t *l, ow_buf_t *out);

enum { LQ_EQ, LQ_NE, LQ_RE, LQ_NRE, LQ_GT, LQ_GE, LQ_LT, LQ_LE };

typedef struct {
	char *name, *value;
	int op;
	regex_t re; /* RE, NRE */
} lq_matcher_t;

/* A label filter: comparisons joined by and (a, b) or or. */
typedef struct lq_filter lq_filter_t;
struct lq_filter {
	int kind; /* 0 comparison, 1 and, 2 or */
	lq_matcher_t m;
	int numeric; /* compares the label as a number or duration */
	double num;
	lq_filter_t *l, *r;
};

enum { ST_LINE, ST_JSON, ST_LOGFMT, ST_LABEL, ST_FORMAT, ST_DROP };

typedef struct {
	int kind;
	lq_matcher_t m; /* ST_LINE: value and op (EQ contains, NE, RE, NRE) */
	lq_filter_t *f; /* ST_LABEL */
	char *tmpl;	/* ST_FORMAT */
	char **names;	/* ST_DROP */
	int nnames;
} lq_stage_t;

typedef struct {
	lq_matcher_t *m;
	int nm;
	lq_stage_t *st;
	int nst;
} lq_selector_t;

enum { E_LOGS, E_RANGE, E_AGG, E_NUM, E_BIN };
enum { R_COUNT, R_RATE, R_BYTES, R_BYTES_RATE };
enum { A_SUM, A_COUNT, A_AVG, A_MIN, A_MAX };

typedef struct lq_expr lq_expr_t;
struct lq_expr {
	int kind;
	lq_selector_t sel; /* E_LOGS, E_RANGE */
	int fn;		   /* E_RANGE: R_*; E_AGG: A_*; E_BIN: + - * / */
	int64_t range;	   /* E_RANGE, ns */
	char **by;	   /* E_AGG */
	int nby, without;
	double num; /* E_NUM (vector(n) too) */
	lq_expr_t *a, *b;
};

/* Parses LogQL: OW_OK, or OW_ERROR with Loki's message ("parse error at
 * line 1, col N: ..."). */
int lq_parse(const char *q, lq_expr_t **out, char *err, size_t errlen);
void lq_free(lq_expr_t *e);
/* 1 when the labels satisfy every matcher. */
int lq_match(const lq_matcher_t *m, int nm, const lq_labels_t *l);
/* Runs the pipeline from stage from on one entry: 0 when a filter drops
 * it; the line may be rewritten (line_format) and labels added (json,
 * logfmt). */
int lq_pipeline(const lq_selector_t *s, int from, ow_buf_t *line, lq_labels_t *l);
/* The stages up to the first parser, line_format or label filter: the
 * line filters that see the stored line. */
int lq_first_stages(const lq_selector_t *s);

#endif

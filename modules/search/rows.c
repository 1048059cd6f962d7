/*
 * rows.c - the rows of one committed part whose text column equals a
 * value, handed to a callback column by column as the SQL engine reads
 * them (ow_search_cell): no SQL, no packing. For a reader that goes
 * through many rows of one key, sorted together in a part (modules/prom
 * reads a metric's samples so).
 *
 * Rules:
 *  - Row groups that cannot hold the value (the column absent, its
 *    statistics, its bloom filter: ow_scan_rg_may, as a query's WHERE
 *    column = value prunes) are not read; in the others the column is
 *    read first (its dictionary compared once, then codes), and the other
 *    columns only in the pages that hold a matching row.
 *  - It runs under the handle's budgets as a query does (ow_search_begin):
 *    the columns it decodes are charged to its memory, its clock and the
 *    cancel flag are polled row by row; a stop is OW_ERROR with the
 *    budget's message (ow_search_stop_reason says which). What it reads
 *    adds to the handle's stats (ow_search_last_stats), so the pieces
 *    read one after another all count.
 *  - A part of format 1 (JSON converted as read) is declined: the caller
 *    reads it through SQL.
 */
#include "internal.h"

#include "../columns/columns.h"

/* The rows of rg where column o (BYTE_ARRAY, with codes when the chunk
 * was dictionary-encoded) holds eq: sel set, their count. */
static size_t select_eq(const ow_col_t *o, const ow_pq_codes_t *codes, const char *eq, size_t n,
			uint8_t *sel)
{
	size_t eqn = strlen(eq), hits = 0, vp = 0;
	uint8_t *entry_eq = NULL;
	const uint32_t *code = NULL;
	if (codes->has_codes) {
		/* the dictionary compared once */
		entry_eq = ow_calloc(OW_MAX(codes->dict.nvals, 1), 1);
		for (size_t e = 0; e < codes->dict.nvals; e++) {
			size_t len;
			const uint8_t *p = ow_col_bytes_at(&codes->dict, e, &len);
			entry_eq[e] = len == eqn && memcmp(p, eq, eqn) == 0;
		}
		code = (const uint32_t *)codes->codes.data;
	}
	for (size_t r = 0; r < n; r++) {
		sel[r] = 0;
		if (o->defs.len && !o->defs.data[r])
			continue;
		if (code) {
			sel[r] = entry_eq[code[vp]];
		} else {
			size_t len;
			const uint8_t *p = ow_col_bytes_at(o, ow_col_entry(o, vp), &len);
			sel[r] = len == eqn && memcmp(p, eq, eqn) == 0;
		}
		hits += sel[r];
		vp++;
	}
	free(entry_eq);
	return hits;
}

int ow_search_part_rows(ow_search_t *s, int signal, size_t i, const char *eq_col, const char *eq,
			const char *const *cols, int ncols, ow_search_row_fn fn, void *arg,
			char *err, size_t errlen)
{
	ow_search_part_t *p = ow_search_whole_part(s, signal, i);
	const ow_pq_coldef_t *defs = ow_columns_schema(signal);
	int nschema = ow_columns_ncols(signal), key = -1;
	int *sc = ow_alloc((size_t)OW_MAX(ncols, 1) * sizeof(int));
	for (int c = 0; c < nschema; c++)
		if (strcmp(defs[c].name, eq_col) == 0)
			key = c;
	for (int k = 0; k < ncols; k++) {
		sc[k] = -1;
		for (int c = 0; cols[k] && c < nschema; c++)
			if (strcmp(defs[c].name, cols[k]) == 0)
				sc[k] = c;
	}
	/* a caller reading a part a piece at a time counts every piece */
	ow_search_stats_t stats = s->stats;
	ow_search_begin(s);
	s->stats = stats;
	int rc = OW_OK;
	/* row groups pruned as a query's WHERE eq_col = eq prunes them */
	ow_scan_pred_t pred = {.col = key, .base = key, .op = OW_SCAN_EQ};
	ow_scan_t scan = {.signal = signal, .defs = defs, .p = &pred, .np = 1};
	if (key < 0 || defs[key].type != OW_PQ_BYTE_ARRAY) {
		snprintf(err, errlen, "no text column %s", eq_col);
		rc = OW_ERROR;
	} else if (!p->pq && ow_search_open_part(s, p, signal, err, errlen) != OW_OK) {
		rc = OW_ERROR;
	} else if (ow_search_part_v1(p, signal)) {
		rc = OW_DECLINED;
	} else {
		pred.vals = ow_alloc(sizeof(ow_search_val_t));
		pred.vals[0] = (ow_search_val_t){
		    .type = SQLITE_TEXT, .p = (const uint8_t *)ow_strdup(eq), .n = strlen(eq)};
		pred.nvals = 1;
		ow_scan_pred_ready(&pred, &defs[key]);
	}
	ow_col_t kcol = {0};
	ow_col_t *o = ow_calloc((size_t)OW_MAX(ncols, 1), sizeof(ow_col_t));
	size_t *vpos = ow_calloc((size_t)OW_MAX(ncols, 1), sizeof(size_t));
	ow_search_val_t *v = ow_calloc((size_t)OW_MAX(ncols, 1), sizeof(ow_search_val_t));
	uint8_t *sel = NULL;
	char(*hex)[OW_SEARCH_HEX_MAX] = ow_calloc((size_t)OW_MAX(ncols, 1), OW_SEARCH_HEX_MAX);
	for (int rg = 0; rc == OW_OK && rg < ow_pq_num_row_groups(p->pq); rg++) {
		if (!ow_scan_rg_may(&scan, p, rg))
			continue;
		size_t n = (size_t)ow_pq_row_group_rows(p->pq, rg);
		sel = ow_realloc(sel, OW_MAX(n, 1));
		ow_pq_codes_t codes = {0};
		ow_col_clear(&kcol);
		if (ow_search_read_col(p, signal, key, rg, NULL, NULL, &kcol, &codes, NULL, NULL,
				       err, errlen) != OW_OK) {
			ow_pq_codes_free(&codes);
			rc = OW_ERROR;
			break;
		}
		if (kcol.nrows != n) {
			snprintf(err, errlen, "column %s has %zu rows, its row group %zu", eq_col,
				 kcol.nrows, n);
			ow_pq_codes_free(&codes);
			rc = OW_ERROR;
			break;
		}
		size_t hits = select_eq(&kcol, &codes, eq, n, sel);
		ow_pq_codes_free(&codes);
		s->stats.row_groups++;
		s->stats.rows += (int64_t)n;
		for (int k = 0; hits && k < ncols && rc == OW_OK; k++) {
			ow_col_clear(&o[k]);
			vpos[k] = 0;
			int fc = sc[k] < 0 ? -1 : p->colmap[sc[k]];
			if (fc < 0)
				continue; /* absent: NULL */
			if (ow_search_read_col(p, signal, sc[k], rg, sel, NULL, &o[k], NULL, NULL,
					       NULL, err, errlen) != OW_OK)
				rc = OW_ERROR;
			else if (o[k].nrows != n) {
				snprintf(err, errlen, "column %s has %zu rows, its row group %zu",
					 defs[sc[k]].name, o[k].nrows, n);
				rc = OW_ERROR;
			}
		}
		int group = 1;
		for (size_t r = 0; hits && rc == OW_OK && r < n; r++) {
			for (int k = 0; k < ncols; k++) {
				int fc = sc[k] < 0 ? -1 : p->colmap[sc[k]];
				int def = fc >= 0 && (!o[k].defs.len || o[k].defs.data[r]);
				if (!sel[r]) {
					vpos[k] += def;
					continue;
				}
				if (def)
					ow_search_cell(&defs[sc[k]], &o[k], vpos[k]++, hex[k],
						       &v[k]);
				else
					v[k] = (ow_search_val_t){.type = SQLITE_NULL};
			}
			if (!sel[r])
				continue;
			if (ow_search_poll() != 0)
				rc = OW_ERROR;
			else
				rc = fn(arg, v, group);
			group = 0;
		}
	}
	if (rc == OW_ERROR && ow_search_expired(s))
		ow_search_timeout_message(s, err, errlen);
	ow_scan_pred_free(&pred);
	for (int k = 0; k < ncols; k++)
		ow_col_free(&o[k]);
	ow_col_free(&kcol);
	free(o);
	free(vpos);
	free(v);
	free(sel);
	free(sc);
	free(hex);
	return rc;
}

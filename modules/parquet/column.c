/*
 * column.c - see column.h.
 */
#include "column.h"

void ow_table_init(ow_table_t *t, const ow_pq_coldef_t *defs, int ncols)
{
	t->defs = defs;
	t->ncols = ncols;
	t->cols = ow_calloc((size_t)ncols, sizeof(ow_col_t));
	t->nrows = 0;
}

void ow_table_free(ow_table_t *t)
{
	for (int i = 0; i < t->ncols && t->cols; i++) {
		ow_buf_free(&t->cols[i].fixed);
		ow_buf_free(&t->cols[i].data);
		ow_buf_free(&t->cols[i].offs);
		ow_buf_free(&t->cols[i].defs);
	}
	free(t->cols);
	t->cols = NULL;
	t->nrows = 0;
}

size_t ow_table_bytes(const ow_table_t *t)
{
	size_t n = 0;
	for (int i = 0; i < t->ncols; i++)
		n += t->cols[i].fixed.cap + t->cols[i].data.cap + t->cols[i].offs.cap +
		     t->cols[i].defs.cap;
	return n;
}

ow_buf_t *ow_col_bytes_open(ow_col_t *c)
{
	return &c->data;
}

void ow_table_append(ow_table_t *dst, const ow_table_t *src)
{
	for (int i = 0; i < dst->ncols; i++) {
		ow_col_t *d = &dst->cols[i];
		const ow_col_t *s = &src->cols[i];
		ow_buf_add(&d->fixed, s->fixed.data, s->fixed.len);
		ow_buf_add(&d->defs, s->defs.data, s->defs.len);
		uint32_t base = (uint32_t)d->data.len;
		ow_buf_add(&d->data, s->data.data, s->data.len);
		const uint32_t *o = (const uint32_t *)s->offs.data;
		ow_buf_reserve(&d->offs, s->offs.len);
		for (size_t k = 0; k < s->offs.len / 4; k++) {
			uint32_t e = o[k] + base;
			memcpy(d->offs.data + d->offs.len, &e, 4);
			d->offs.len += 4;
		}
		d->nrows += s->nrows;
		d->nvals += s->nvals;
	}
	dst->nrows += src->nrows;
}

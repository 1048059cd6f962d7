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

void ow_col_free(ow_col_t *c)
{
	ow_buf_free(&c->fixed);
	ow_buf_free(&c->data);
	ow_buf_free(&c->offs);
	ow_buf_free(&c->defs);
	ow_buf_free(&c->refs);
	c->nrows = c->nvals = 0;
}

void ow_col_clear(ow_col_t *c)
{
	c->fixed.len = c->data.len = c->offs.len = c->defs.len = c->refs.len = 0;
	c->nrows = c->nvals = 0;
}

void ow_table_free(ow_table_t *t)
{
	for (int i = 0; i < t->ncols && t->cols; i++)
		ow_col_free(&t->cols[i]);
	free(t->cols);
	t->cols = NULL;
	t->nrows = 0;
}

void ow_table_fit(ow_table_t *t)
{
	for (int i = 0; i < t->ncols; i++) {
		ow_col_t *c = &t->cols[i];
		ow_buf_fit(&c->fixed);
		ow_buf_fit(&c->data);
		ow_buf_fit(&c->offs);
		ow_buf_fit(&c->defs);
		ow_buf_fit(&c->refs);
	}
}

size_t ow_table_bytes(const ow_table_t *t)
{
	size_t n = 0;
	for (int i = 0; i < t->ncols; i++)
		n += ow_col_bytes_held(&t->cols[i]);
	return n;
}

ow_buf_t *ow_col_bytes_open(ow_col_t *c)
{
	return &c->data;
}

/* n uint32_t: from[k] + add, or first + k when from is NULL */
static void add_u32s(ow_buf_t *b, const uint32_t *from, size_t n, uint32_t add)
{
	ow_buf_reserve(b, n * 4);
	uint32_t *o = (uint32_t *)(void *)(b->data + b->len);
	for (size_t k = 0; k < n; k++)
		o[k] = (from ? from[k] : (uint32_t)k) + add;
	b->len += n * 4;
}

void ow_col_append(ow_col_t *d, const ow_col_t *s)
{
	ow_buf_add(&d->fixed, s->fixed.data, s->fixed.len);
	ow_buf_add(&d->defs, s->defs.data, s->defs.len);
	uint32_t nent = (uint32_t)(d->offs.len / 4);
	if (s->refs.len || d->refs.len) {
		if (!d->refs.len)
			add_u32s(&d->refs, NULL, d->nvals, 0); /* its values were its entries */
		add_u32s(&d->refs,
			 s->refs.len ? (const uint32_t *)(const void *)s->refs.data : NULL,
			 s->nvals, nent);
	}
	uint32_t base = (uint32_t)d->data.len;
	ow_buf_add(&d->data, s->data.data, s->data.len);
	add_u32s(&d->offs, (const uint32_t *)(const void *)s->offs.data, s->offs.len / 4, base);
	d->nrows += s->nrows;
	d->nvals += s->nvals;
}

void ow_table_append(ow_table_t *dst, const ow_table_t *src)
{
	for (int i = 0; i < dst->ncols; i++)
		ow_col_append(&dst->cols[i], &src->cols[i]);
	dst->nrows += src->nrows;
}

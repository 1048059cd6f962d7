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

/* Forgets the buffers c borrowed from another column (ow_table_share). */
static void give_back(ow_col_t *c)
{
	ow_buf_t *b[] = {&c->fixed, &c->defs, &c->refs, &c->offs};
	for (int i = 0; i < 4; i++)
		if (c->lent & (1 << i))
			*b[i] = (ow_buf_t){0};
	c->lent = 0;
}

void ow_col_free(ow_col_t *c)
{
	give_back(c);
	ow_buf_free(&c->fixed);
	ow_buf_free(&c->data);
	ow_buf_free(&c->offs);
	ow_buf_free(&c->defs);
	ow_buf_free(&c->refs);
	c->nrows = c->nvals = 0;
}

void ow_col_clear(ow_col_t *c)
{
	give_back(c);
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

static int all_bytes(const ow_buf_t *b, uint8_t v)
{
	return b->len && b->data[0] == v && memcmp(b->data, b->data + 1, b->len - 1) == 0;
}

/* b borrows lender's first b->len bytes (the same values). */
static void lend(ow_buf_t *b, const ow_buf_t *lender)
{
	size_t len = b->len;
	ow_buf_free(b);
	b->data = lender->data;
	b->len = len;
}

void ow_table_share(ow_table_t *t)
{
	/* the lenders: the first all-1 defs; the longest all-zero buffer */
	const ow_buf_t *ones = NULL, *zeros = NULL;
	for (int i = 0; i < t->ncols; i++) {
		ow_col_t *c = &t->cols[i];
		if (c->lent)
			return; /* shared already */
		if (!ones && c->defs.len == c->nrows && all_bytes(&c->defs, 1))
			ones = &c->defs;
		const ow_buf_t *z[] = {&c->fixed, &c->refs, &c->offs};
		for (int k = 0; k < 3; k++)
			if ((!zeros || z[k]->len > zeros->len) && all_bytes(z[k], 0))
				zeros = z[k];
	}
	for (int i = 0; i < t->ncols; i++) {
		ow_col_t *c = &t->cols[i];
		if (ones && &c->defs != ones && c->defs.len && c->defs.len <= ones->len &&
		    all_bytes(&c->defs, 1)) {
			lend(&c->defs, ones);
			c->lent |= OW_COL_LENT_DEFS;
		}
		if (zeros && &c->fixed != zeros && all_bytes(&c->fixed, 0)) {
			lend(&c->fixed, zeros);
			c->lent |= OW_COL_LENT_FIXED;
		}
		if (zeros && &c->refs != zeros && all_bytes(&c->refs, 0)) {
			lend(&c->refs, zeros);
			c->lent |= OW_COL_LENT_REFS;
		}
		if (zeros && &c->offs != zeros && all_bytes(&c->offs, 0)) {
			lend(&c->offs, zeros);
			c->lent |= OW_COL_LENT_OFFS;
		}
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

void ow_table_concat(ow_table_t *dst, ow_table_t *const *src, size_t n)
{
	for (int i = 0; i < dst->ncols; i++) {
		ow_col_t *d = &dst->cols[i];
		size_t fixed = 0, data = 0, offs = 0, defs = 0, nvals = d->nvals;
		int refs = d->refs.len > 0;
		for (size_t k = 0; k < n; k++) {
			const ow_col_t *s = &src[k]->cols[i];
			fixed += s->fixed.len;
			data += s->data.len;
			offs += s->offs.len;
			defs += s->defs.len;
			nvals += s->nvals;
			refs |= s->refs.len > 0;
		}
		ow_buf_reserve(&d->fixed, fixed);
		ow_buf_reserve(&d->data, data);
		ow_buf_reserve(&d->offs, offs);
		ow_buf_reserve(&d->defs, defs);
		/* ow_col_append gives every value a ref once one has one */
		if (refs)
			ow_buf_reserve(&d->refs, nvals * 4 - d->refs.len);
	}
	for (size_t k = 0; k < n; k++)
		ow_table_append(dst, src[k]);
}

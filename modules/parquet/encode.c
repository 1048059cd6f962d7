/*
 * encode.c - PLAIN, the RLE/bit-packed hybrid, DELTA_BINARY_PACKED and the
 * dictionary builder (see encode.h), written from the Parquet encodings
 * specification (Encodings.md).
 *
 * Bit packing is LSB first: value k of width w occupies bits k*w .. k*w+w-1
 * of the little-endian byte stream. One pair of primitives (put_bits,
 * get_bits) serves the hybrid, BOOLEAN PLAIN and DELTA miniblocks.
 */
#include "encode.h"
#include "thrift.h"

/* ---- bit packing ---- */

typedef struct {
	uint8_t *out;
	uint64_t acc;
	int nb; /* bits in acc, < 8 between calls */
} ow_pq_bitw_t;

static inline void put_bits(ow_pq_bitw_t *w, uint64_t x, int bw)
{
	if (bw > 32) {
		put_bits(w, x & 0xffffffffu, 32);
		x >>= 32;
		bw -= 32;
	}
	w->acc |= x << w->nb;
	w->nb += bw;
	while (w->nb >= 8) {
		*w->out++ = (uint8_t)w->acc;
		w->acc >>= 8;
		w->nb -= 8;
	}
}

static inline void flush_bits(ow_pq_bitw_t *w)
{
	if (w->nb)
		*w->out++ = (uint8_t)w->acc;
	w->acc = 0;
	w->nb = 0;
}

typedef struct {
	const uint8_t *p, *end;
	uint64_t acc;
	int nb;
} ow_pq_bitr_t;

/* Callers check that the bytes are there; past the end reads zeros rather
 * than memory that is not ours. */
static inline uint64_t get_bits(ow_pq_bitr_t *r, int bw)
{
	if (bw > 32) {
		uint64_t lo = get_bits(r, 32);
		return lo | get_bits(r, bw - 32) << 32;
	}
	while (r->nb < bw) {
		r->acc |= (uint64_t)(r->p < r->end ? *r->p++ : 0) << r->nb;
		r->nb += 8;
	}
	uint64_t v = r->acc & ((UINT64_C(1) << bw) - 1);
	r->acc >>= bw;
	r->nb -= bw;
	return v;
}

/* ---- RLE/bit-packed hybrid ---- */

/* Length of the run of equal values at i, counting at most limit. */
static size_t run_len(const uint32_t *v, size_t i, size_t n, size_t limit)
{
	size_t j = i + 1;
	while (j < n && j - i < limit && v[j] == v[i])
		j++;
	return j - i;
}

void ow_pq_rle_encode(ow_buf_t *b, const uint32_t *v, size_t n, int bw)
{
	size_t vbytes = (size_t)(bw + 7) / 8, i = 0;
	while (i < n) {
		/* the specification caps a run at 2^31 - 1 values */
		size_t r = run_len(v, i, n, INT32_MAX);
		if (r >= 8) {
			ow_pq_put_uvarint(b, (uint64_t)r << 1);
			uint8_t val[4];
			ow_put_u32(val, v[i]);
			ow_buf_add(b, val, vbytes);
			i += r;
			continue;
		}
		/* bit-pack groups of 8 up to where a run worth RLE starts; the
		 * last group is padded with zeros, which readers ignore since
		 * they know the count */
		size_t j = i;
		do
			j += 8;
		while (j < n && j - i < (size_t)INT32_MAX - 8 && run_len(v, j, n, 8) < 8);
		size_t groups = (j - i) / 8, real = OW_MIN(j, n) - i;
		ow_pq_put_uvarint(b, (uint64_t)groups << 1 | 1);
		ow_buf_reserve(b, groups * (size_t)bw);
		ow_pq_bitw_t w = {b->data + b->len, 0, 0};
		for (size_t k = 0; k < groups * 8; k++)
			put_bits(&w, k < real ? v[i + k] : 0, bw);
		b->len += groups * (size_t)bw;
		i = j;
	}
}

int ow_pq_rle_decode(const uint8_t *p, size_t len, int bw, uint32_t *out, size_t n)
{
	if (bw < 0 || bw > 32)
		return OW_ERROR;
	size_t vbytes = (size_t)(bw + 7) / 8, i = 0;
	uint32_t maxv = bw == 32 ? UINT32_MAX : (UINT32_C(1) << bw) - 1;
	ow_pq_tr_t r;
	ow_pq_tr_init(&r, p, len);
	while (i < n) {
		uint64_t h = ow_pq_tr_uvarint(&r);
		size_t left = (size_t)(r.end - r.p);
		if (r.err)
			return OW_ERROR;
		if (h & 1) {
			uint64_t groups = h >> 1;
			if (!groups || groups > SIZE_MAX / 8 || (bw && groups > left / (size_t)bw))
				return OW_ERROR;
			size_t take = (size_t)OW_MIN(groups * 8, (uint64_t)(n - i));
			ow_pq_bitr_t br = {r.p, r.end, 0, 0};
			for (size_t k = 0; k < take; k++)
				out[i + k] = (uint32_t)get_bits(&br, bw);
			r.p += groups * (size_t)bw;
			i += take;
		} else {
			uint64_t count = h >> 1;
			if (!count || left < vbytes)
				return OW_ERROR;
			uint32_t val = 0;
			for (size_t k = 0; k < vbytes; k++)
				val |= (uint32_t)r.p[k] << (8 * k);
			r.p += vbytes;
			if (val > maxv)
				return OW_ERROR;
			size_t take = (size_t)OW_MIN(count, (uint64_t)(n - i));
			for (size_t k = 0; k < take; k++)
				out[i + k] = val;
			i += take;
		}
	}
	return OW_OK;
}

/* ---- PLAIN ---- */

void ow_pq_plain_encode(ow_buf_t *b, const ow_pq_coldef_t *d, const ow_col_t *c,
			const uint32_t *vals, size_t n)
{
	size_t w = ow_pq_width(d);
	if (d->type == OW_PQ_BOOLEAN) {
		ow_buf_reserve(b, (n + 7) / 8);
		ow_pq_bitw_t bw = {b->data + b->len, 0, 0};
		for (size_t k = 0; k < n; k++)
			put_bits(&bw, c->fixed.data[vals[k]] != 0, 1);
		flush_bits(&bw);
		b->len += (n + 7) / 8;
	} else if (w) {
		ow_buf_reserve(b, n * w);
		uint8_t *o = b->data + b->len;
		if (w == 8)
			for (size_t k = 0; k < n; k++)
				memcpy(o + k * 8, c->fixed.data + (size_t)vals[k] * 8, 8);
		else if (w == 4)
			for (size_t k = 0; k < n; k++)
				memcpy(o + k * 4, c->fixed.data + (size_t)vals[k] * 4, 4);
		else
			for (size_t k = 0; k < n; k++)
				memcpy(o + k * w, c->fixed.data + (size_t)vals[k] * w, w);
		b->len += n * w;
	} else {
		size_t total = 0, len;
		for (size_t k = 0; k < n; k++) {
			ow_col_bytes_at(c, vals[k], &len);
			total += 4 + len;
		}
		ow_buf_reserve(b, total);
		uint8_t *o = b->data + b->len;
		for (size_t k = 0; k < n; k++) {
			const uint8_t *v = ow_col_bytes_at(c, vals[k], &len);
			ow_put_u32(o, (uint32_t)len);
			if (len) /* v may be NULL when every value is empty */
				memcpy(o + 4, v, len);
			o += 4 + len;
		}
		b->len += total;
	}
}

int ow_pq_plain_decode(const uint8_t *p, size_t len, const ow_pq_coldef_t *d, size_t n,
		       const uint8_t *want, ow_col_t *out)
{
	size_t w = ow_pq_width(d);
	if (d->type == OW_PQ_BOOLEAN) {
		if ((n + 7) / 8 > len)
			return OW_ERROR;
		ow_buf_reserve(&out->fixed, n);
		ow_pq_bitr_t r = {p, p + len, 0, 0};
		for (size_t k = 0; k < n; k++)
			out->fixed.data[out->fixed.len + k] = (uint8_t)get_bits(&r, 1);
		out->fixed.len += n;
	} else if (w) {
		if (n > len / w)
			return OW_ERROR;
		if (n)
			ow_buf_add(&out->fixed, p, n * w);
	} else {
		const uint8_t *s = p, *end = p + len;
		/* each value takes at least its 4-byte length */
		if (n > len / 4)
			return OW_ERROR;
		ow_buf_reserve(&out->offs, n * 4);
		for (size_t k = 0; k < n; k++) {
			if (end - s < 4)
				return OW_ERROR;
			uint32_t l = ow_get_u32(s);
			s += 4;
			if (l > (size_t)(end - s) || out->data.len + l > UINT32_MAX)
				return OW_ERROR;
			if (l && (!want || want[k]))
				ow_buf_add(&out->data, s, l);
			s += l;
			uint32_t e = (uint32_t)out->data.len;
			memcpy(out->offs.data + out->offs.len, &e, 4);
			out->offs.len += 4;
		}
	}
	return OW_OK;
}

/* ---- DELTA_BINARY_PACKED ---- */

static inline uint64_t delta_value(const ow_col_t *c, int is32, uint32_t vi)
{
	if (is32) {
		int32_t v;
		memcpy(&v, c->fixed.data + (size_t)vi * 4, 4);
		return (uint64_t)(int64_t)v;
	}
	uint64_t v;
	memcpy(&v, c->fixed.data + (size_t)vi * 8, 8);
	return v;
}

/* INT32 deltas wrap modulo 2^32 and are sign-extended, so every delta is an
 * int32 and delta - min fits in 32 bits. */
static inline int64_t delta_of(uint64_t cur, uint64_t prev, int is32)
{
	uint64_t d = cur - prev;
	return is32 ? (int64_t)(int32_t)(uint32_t)d : (int64_t)d;
}

void ow_pq_delta_encode(ow_buf_t *b, const ow_col_t *c, int is32, const uint32_t *vals, size_t n)
{
	enum { MB = OW_PQ_DELTA_BLOCK / OW_PQ_DELTA_MINIBLOCKS };
	ow_pq_put_uvarint(b, OW_PQ_DELTA_BLOCK);
	ow_pq_put_uvarint(b, OW_PQ_DELTA_MINIBLOCKS);
	ow_pq_put_uvarint(b, n);
	uint64_t prev = n ? delta_value(c, is32, vals[0]) : 0;
	ow_pq_put_zigzag(b, (int64_t)prev);
	uint64_t u[OW_PQ_DELTA_BLOCK];
	for (size_t i = 1; i < n; i += OW_PQ_DELTA_BLOCK) {
		size_t cnt = OW_MIN((size_t)OW_PQ_DELTA_BLOCK, n - i);
		int64_t d[OW_PQ_DELTA_BLOCK], min = INT64_MAX;
		for (size_t k = 0; k < cnt; k++) {
			uint64_t cur = delta_value(c, is32, vals[i + k]);
			d[k] = delta_of(cur, prev, is32);
			prev = cur;
			if (d[k] < min)
				min = d[k];
		}
		uint8_t widths[OW_PQ_DELTA_MINIBLOCKS] = {0};
		for (size_t k = 0; k < cnt; k++) {
			u[k] = (uint64_t)d[k] - (uint64_t)min;
			int bw = ow_pq_bits(u[k]);
			if (bw > widths[k / MB])
				widths[k / MB] = (uint8_t)bw;
		}
		ow_pq_put_zigzag(b, min);
		ow_buf_add(b, widths, sizeof(widths));
		size_t used = (cnt + MB - 1) / MB, bytes = 0;
		for (size_t m = 0; m < used; m++)
			bytes += (size_t)widths[m] * MB / 8;
		ow_buf_reserve(b, bytes);
		ow_pq_bitw_t w = {b->data + b->len, 0, 0};
		for (size_t k = 0; k < used * MB; k++)
			put_bits(&w, k < cnt ? u[k] : 0, widths[k / MB]);
		b->len += bytes;
	}
}

int ow_pq_delta_decode(const uint8_t *p, size_t len, int is32, size_t n, ow_col_t *out)
{
	ow_pq_tr_t r;
	ow_pq_tr_init(&r, p, len);
	uint64_t block = ow_pq_tr_uvarint(&r), nmini = ow_pq_tr_uvarint(&r);
	uint64_t total = ow_pq_tr_uvarint(&r), v = (uint64_t)ow_pq_tr_int(&r);
	/* sizes within reason, and a miniblock a multiple of 32 values */
	if (r.err || total != n || !block || block % 128 || block > 65536 || !nmini ||
	    block % nmini || (block / nmini) % 32)
		return OW_ERROR;
	size_t w = is32 ? 4 : 8, mb = (size_t)(block / nmini), i = 0;
	ow_buf_reserve(&out->fixed, n * w);
	uint8_t *o = out->fixed.data + out->fixed.len;
	if (n) {
		memcpy(o, &v, w);
		i = 1;
	}
	while (i < n) {
		uint64_t min = (uint64_t)ow_pq_tr_int(&r);
		if (r.err || (uint64_t)(r.end - r.p) < nmini)
			return OW_ERROR;
		const uint8_t *widths = r.p;
		r.p += nmini;
		for (size_t m = 0; m < nmini && i < n; m++) {
			int bw = widths[m];
			if (bw > (is32 ? 32 : 64) || (size_t)(r.end - r.p) < mb * (size_t)bw / 8)
				return OW_ERROR;
			ow_pq_bitr_t br = {r.p, r.end, 0, 0};
			size_t take = OW_MIN(mb, n - i);
			if (!is32 && bw <= 56) {
				/* a 64-bit load a value: the common case, unrolled from
				 * the byte-by-byte reader */
				uint64_t mask = (UINT64_C(1) << bw) - 1;
				for (size_t k = 0; k < take; k++, i++) {
					size_t bit = k * (size_t)bw;
					const uint8_t *q = r.p + (bit >> 3);
					uint64_t word = 0;
					if (r.end - q >= 8)
						word = ow_get_u64(q);
					else
						for (int j = 0; j < r.end - q; j++)
							word |= (uint64_t)q[j] << (8 * j);
					v += min + ((word >> (bit & 7)) & mask);
					memcpy(o + i * 8, &v, 8);
				}
			} else {
				for (size_t k = 0; k < take; k++, i++) {
					v += min + get_bits(&br, bw);
					if (is32)
						v = (uint64_t)(int64_t)(int32_t)(uint32_t)v;
					memcpy(o + i * w, &v, w);
				}
			}
			r.p += mb * (size_t)bw / 8;
		}
	}
	out->fixed.len += n * w;
	return OW_OK;
}

/* ---- dictionary ---- */

static int same(const ow_col_t *c, size_t w, uint32_t a, uint32_t b)
{
	size_t la, lb;
	const uint8_t *pa = ow_pq_value(c, w, a, &la), *pb = ow_pq_value(c, w, b, &lb);
	return la == lb && (la == 0 || memcmp(pa, pb, la) == 0);
}

/* The table's hash: XXH64, or for 4 and 8-byte values (integers, doubles)
 * a multiply-xorshift finalizer that costs a fraction of it. */
static inline uint64_t dict_hash(const uint8_t *v, size_t len)
{
	if (len != 4 && len != 8)
		return ow_pq_xxh64(v, len);
	uint64_t x = len == 8 ? ow_get_u64(v) : ow_get_u32(v);
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	x *= UINT64_C(0xc4ceb9fe1a85ec53);
	return x ^ (x >> 33);
}

static void dict_place(ow_pq_dict_t *dict, uint64_t h, uint32_t e)
{
	size_t mask = dict->cap - 1, i = (size_t)h & mask;
	while (dict->slot[i])
		i = (i + 1) & mask;
	dict->slot[i] = (h >> 32) << 32 | ((uint64_t)e + 1);
}

static void dict_grow(ow_pq_dict_t *dict, const ow_col_t *c, size_t w)
{
	dict->cap = dict->cap ? dict->cap * 2 : 1024;
	free(dict->slot);
	dict->slot = ow_calloc(dict->cap, sizeof(*dict->slot));
	for (size_t e = 0; e < dict->nent; e++) {
		size_t len;
		const uint8_t *v = ow_pq_value(c, w, dict->ent[e], &len);
		dict_place(dict, dict_hash(v, len), (uint32_t)e);
	}
}

int ow_pq_dict_build(ow_pq_dict_t *dict, const ow_pq_coldef_t *d, const ow_col_t *c,
		     const uint32_t *vals, size_t n, size_t max_ent, size_t max_bytes)
{
	size_t w = ow_pq_width(d);
	dict->nent = 0;
	dict->bytes = 0;
	if (dict->code_cap < n) {
		free(dict->code);
		dict->code_cap = n;
		dict->code = ow_alloc(n * sizeof(*dict->code) + 1);
	}
	/* start small: most chunks that fail do so after a few thousand values,
	 * and clearing a table sized for a million would cost more than that */
	if (dict->cap)
		memset(dict->slot, 0, dict->cap * sizeof(*dict->slot));
	else
		dict_grow(dict, c, w);
	for (size_t k = 0; k < n; k++) {
		/* sorted rows repeat the previous value: no hashing for a run */
		if (k && same(c, w, vals[k - 1], vals[k])) {
			dict->code[k] = dict->code[k - 1];
			continue;
		}
		size_t len;
		const uint8_t *v = ow_pq_value(c, w, vals[k], &len);
		uint64_t h = dict_hash(v, len), tag = (h >> 32) << 32;
		size_t mask = dict->cap - 1, i = (size_t)h & mask;
		for (;;) {
			uint64_t s = dict->slot[i];
			if (!s)
				break;
			if ((s & 0xffffffff00000000u) == tag &&
			    same(c, w, dict->ent[(uint32_t)s - 1], vals[k]))
				break;
			i = (i + 1) & mask;
		}
		if (dict->slot[i]) {
			dict->code[k] = (uint32_t)dict->slot[i] - 1;
			continue;
		}
		dict->bytes += w ? w : 4 + len;
		if (dict->nent + 1 > max_ent || dict->bytes > max_bytes)
			return OW_DECLINED;
		if (dict->nent == dict->ent_cap) {
			dict->ent_cap = dict->ent_cap ? dict->ent_cap * 2 : 1024;
			dict->ent = ow_realloc(dict->ent, dict->ent_cap * sizeof(*dict->ent));
		}
		uint32_t e = (uint32_t)dict->nent++;
		dict->ent[e] = vals[k];
		dict->code[k] = e;
		/* keep the table at most half full so probes stay short */
		if (dict->nent * 2 > dict->cap)
			dict_grow(dict, c, w);
		else
			dict->slot[i] = tag | ((uint64_t)e + 1);
	}
	return OW_OK;
}

void ow_pq_dict_free(ow_pq_dict_t *dict)
{
	free(dict->slot);
	free(dict->ent);
	free(dict->code);
	memset(dict, 0, sizeof(*dict));
}

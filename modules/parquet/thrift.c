/*
 * thrift.c - the Thrift compact protocol (see thrift.h), written from the
 * Thrift compact protocol specification: field headers as a 4-bit id delta
 * and a 4-bit type (or a type byte and a zigzag i16 id when the delta does
 * not fit), integers as zigzag ULEB128, binaries as length + bytes, lists as
 * a size/type byte (size 15 meaning "a varint size follows").
 */
#include "thrift.h"

void ow_pq_put_uvarint(ow_buf_t *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;
	while (v >= 0x80) {
		tmp[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	tmp[n++] = (uint8_t)v;
	ow_buf_add(b, tmp, n);
}

void ow_pq_put_zigzag(ow_buf_t *b, int64_t v)
{
	ow_pq_put_uvarint(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void ow_pq_tw_init(ow_pq_tw_t *w, ow_buf_t *b)
{
	w->b = b;
	w->depth = 0;
}

void ow_pq_tw_begin(ow_pq_tw_t *w)
{
	/* the writer is ours: exceeding the depth is a programming error */
	if (w->depth >= OW_PQ_THRIFT_DEPTH)
		abort();
	w->last[w->depth++] = 0;
}

void ow_pq_tw_end(ow_pq_tw_t *w)
{
	uint8_t stop = OW_PQ_T_STOP;
	ow_buf_add(w->b, &stop, 1);
	w->depth--;
}

static void field(ow_pq_tw_t *w, int id, int type)
{
	int16_t *last = &w->last[w->depth - 1];
	int delta = id - *last;
	if (delta > 0 && delta <= 15) {
		uint8_t h = (uint8_t)(delta << 4 | type);
		ow_buf_add(w->b, &h, 1);
	} else {
		uint8_t h = (uint8_t)type;
		ow_buf_add(w->b, &h, 1);
		ow_pq_put_zigzag(w->b, id);
	}
	*last = (int16_t)id;
}

void ow_pq_tw_struct(ow_pq_tw_t *w, int id)
{
	field(w, id, OW_PQ_T_STRUCT);
	ow_pq_tw_begin(w);
}

void ow_pq_tw_i32(ow_pq_tw_t *w, int id, int32_t v)
{
	field(w, id, OW_PQ_T_I32);
	ow_pq_put_zigzag(w->b, v);
}

void ow_pq_tw_i64(ow_pq_tw_t *w, int id, int64_t v)
{
	field(w, id, OW_PQ_T_I64);
	ow_pq_put_zigzag(w->b, v);
}

void ow_pq_tw_byte(ow_pq_tw_t *w, int id, int8_t v)
{
	field(w, id, OW_PQ_T_BYTE);
	ow_buf_add(w->b, &v, 1);
}

void ow_pq_tw_bool(ow_pq_tw_t *w, int id, int v)
{
	field(w, id, v ? OW_PQ_T_TRUE : OW_PQ_T_FALSE);
}

void ow_pq_tw_bin(ow_pq_tw_t *w, int id, const void *p, size_t n)
{
	field(w, id, OW_PQ_T_BINARY);
	ow_pq_tw_elem_bin(w, p, n);
}

void ow_pq_tw_str(ow_pq_tw_t *w, int id, const char *s)
{
	ow_pq_tw_bin(w, id, s, strlen(s));
}

void ow_pq_tw_list(ow_pq_tw_t *w, int id, int elemtype, size_t n)
{
	field(w, id, OW_PQ_T_LIST);
	if (n < 15) {
		uint8_t h = (uint8_t)(n << 4 | (size_t)elemtype);
		ow_buf_add(w->b, &h, 1);
	} else {
		uint8_t h = (uint8_t)(0xf0 | elemtype);
		ow_buf_add(w->b, &h, 1);
		ow_pq_put_uvarint(w->b, n);
	}
}

void ow_pq_tw_elem_i32(ow_pq_tw_t *w, int32_t v)
{
	ow_pq_put_zigzag(w->b, v);
}

void ow_pq_tw_elem_bin(ow_pq_tw_t *w, const void *p, size_t n)
{
	ow_pq_put_uvarint(w->b, n);
	ow_buf_add(w->b, p, n);
}

/* ---- decoder ---- */

void ow_pq_tr_init(ow_pq_tr_t *r, const uint8_t *p, size_t n)
{
	r->p = p;
	r->end = p + n;
	r->depth = 0;
	r->err = 0;
	r->bval = 0;
}

static int fail(ow_pq_tr_t *r)
{
	r->err = 1;
	r->p = r->end;
	return 0;
}

uint64_t ow_pq_tr_uvarint(ow_pq_tr_t *r)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (r->p >= r->end)
			return fail(r);
		uint8_t c = *r->p++;
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return v;
	}
	return fail(r);
}

int64_t ow_pq_tr_int(ow_pq_tr_t *r)
{
	uint64_t u = ow_pq_tr_uvarint(r);
	return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

int32_t ow_pq_tr_i32(ow_pq_tr_t *r)
{
	int64_t v = ow_pq_tr_int(r);
	if (v < INT32_MIN || v > INT32_MAX)
		return fail(r);
	return (int32_t)v;
}

int8_t ow_pq_tr_byte(ow_pq_tr_t *r)
{
	if (r->p >= r->end)
		return fail(r);
	return (int8_t)*r->p++;
}

void ow_pq_tr_bin(ow_pq_tr_t *r, const uint8_t **p, size_t *n)
{
	uint64_t len = ow_pq_tr_uvarint(r);
	if (len > (uint64_t)(r->end - r->p)) {
		fail(r);
		len = 0;
	}
	*p = r->p;
	*n = (size_t)len;
	r->p += len;
}

int ow_pq_tr_enter(ow_pq_tr_t *r)
{
	if (r->err)
		return 0;
	if (r->depth >= OW_PQ_THRIFT_DEPTH)
		return fail(r);
	r->depth++;
	return 1;
}

void ow_pq_tr_leave(ow_pq_tr_t *r)
{
	if (r->depth > 0)
		r->depth--;
}

int ow_pq_tr_field(ow_pq_tr_t *r, int *last, int *id)
{
	if (r->err || r->p >= r->end)
		return fail(r);
	uint8_t h = *r->p++;
	int type = h & 0x0f;
	if (type == OW_PQ_T_STOP)
		return 0;
	if (type > OW_PQ_T_STRUCT)
		return fail(r);
	int delta = h >> 4;
	if (delta)
		*id = *last + delta;
	else
		*id = (int)ow_pq_tr_int(r);
	if (r->err || *id < INT16_MIN || *id > INT16_MAX)
		return fail(r);
	*last = *id;
	if (type == OW_PQ_T_TRUE || type == OW_PQ_T_FALSE) {
		r->bval = type == OW_PQ_T_TRUE;
		return OW_PQ_T_TRUE;
	}
	return type;
}

size_t ow_pq_tr_list(ow_pq_tr_t *r, int *elemtype)
{
	if (r->p >= r->end)
		return fail(r);
	uint8_t h = *r->p++;
	uint64_t n = h >> 4;
	*elemtype = h & 0x0f;
	if (n == 15)
		n = ow_pq_tr_uvarint(r);
	/* every element takes at least one byte: a larger count is a lie that
	 * would make a caller allocate for nothing */
	if (r->err || *elemtype == OW_PQ_T_STOP || *elemtype > OW_PQ_T_STRUCT ||
	    n > (uint64_t)(r->end - r->p))
		return fail(r);
	return (size_t)n;
}

void ow_pq_tr_skip(ow_pq_tr_t *r, int type, int in_list)
{
	const uint8_t *p;
	size_t n;
	int et, kt, vt, last = 0, id, t;
	if (r->err)
		return;
	switch (type) {
	case OW_PQ_T_TRUE:
	case OW_PQ_T_FALSE:
		/* a boolean field has its value in the type; an element is a byte */
		if (in_list)
			ow_pq_tr_byte(r);
		break;
	case OW_PQ_T_BYTE:
		ow_pq_tr_byte(r);
		break;
	case OW_PQ_T_I16:
	case OW_PQ_T_I32:
	case OW_PQ_T_I64:
		ow_pq_tr_uvarint(r);
		break;
	case OW_PQ_T_DOUBLE:
		if (r->end - r->p < 8)
			fail(r);
		else
			r->p += 8;
		break;
	case OW_PQ_T_BINARY:
		ow_pq_tr_bin(r, &p, &n);
		break;
	case OW_PQ_T_LIST:
	case OW_PQ_T_SET:
		if (!ow_pq_tr_enter(r))
			break;
		n = ow_pq_tr_list(r, &et);
		for (size_t i = 0; i < n && !r->err; i++)
			ow_pq_tr_skip(r, et, 1);
		ow_pq_tr_leave(r);
		break;
	case OW_PQ_T_MAP:
		if (!ow_pq_tr_enter(r))
			break;
		n = (size_t)ow_pq_tr_uvarint(r);
		if (n) {
			uint8_t kv = (uint8_t)ow_pq_tr_byte(r);
			kt = kv >> 4;
			vt = kv & 0x0f;
			if (n > (size_t)(r->end - r->p) / 2 || kt == OW_PQ_T_STOP ||
			    kt > OW_PQ_T_STRUCT || vt == OW_PQ_T_STOP || vt > OW_PQ_T_STRUCT)
				fail(r);
			for (size_t i = 0; i < n && !r->err; i++) {
				ow_pq_tr_skip(r, kt, 1);
				ow_pq_tr_skip(r, vt, 1);
			}
		}
		ow_pq_tr_leave(r);
		break;
	case OW_PQ_T_STRUCT:
		if (!ow_pq_tr_enter(r))
			break;
		while ((t = ow_pq_tr_field(r, &last, &id)))
			ow_pq_tr_skip(r, t, 0);
		ow_pq_tr_leave(r);
		break;
	default:
		fail(r);
	}
}

/*
 * thrift.h - the Thrift compact protocol, in which Parquet writes its
 * footer, page headers and bloom filter headers. Private to modules/parquet.
 *
 * The encoder appends to an ow_buf_t and keeps the last field id of each
 * open struct (field headers are deltas from it). The decoder reads from a
 * byte range it never leaves: every read is bounds-checked, lengths and
 * list sizes are checked against the bytes left, nesting is limited to
 * OW_PQ_THRIFT_DEPTH, and the first error sticks (later reads return zeros)
 * so a parser checks r->err once at the end instead of after every read.
 */
#ifndef OW_PQ_THRIFT_H
#define OW_PQ_THRIFT_H

#include "../core/core.h"

/* Compact protocol type codes. A boolean field carries its value in the
 * type (TRUE or FALSE); a boolean list element is one byte. */
enum ow_pq_ttype {
	OW_PQ_T_STOP = 0,
	OW_PQ_T_TRUE = 1,
	OW_PQ_T_FALSE = 2,
	OW_PQ_T_BYTE = 3,
	OW_PQ_T_I16 = 4,
	OW_PQ_T_I32 = 5,
	OW_PQ_T_I64 = 6,
	OW_PQ_T_DOUBLE = 7,
	OW_PQ_T_BINARY = 8,
	OW_PQ_T_LIST = 9,
	OW_PQ_T_SET = 10,
	OW_PQ_T_MAP = 11,
	OW_PQ_T_STRUCT = 12,
};

/* Parquet metadata nests a handful of levels; anything deeper is corrupt. */
#define OW_PQ_THRIFT_DEPTH 32

/* ---- encoder ---- */

typedef struct {
	ow_buf_t *b;
	int depth;
	int16_t last[OW_PQ_THRIFT_DEPTH];
} ow_pq_tw_t;

void ow_pq_tw_init(ow_pq_tw_t *w, ow_buf_t *b);
/* Opens a struct with no field header: the top-level one, or a list element. */
void ow_pq_tw_begin(ow_pq_tw_t *w);
/* Writes the stop byte of the innermost struct and closes it. */
void ow_pq_tw_end(ow_pq_tw_t *w);
void ow_pq_tw_struct(ow_pq_tw_t *w, int id); /* a struct field; close with _end */
void ow_pq_tw_i32(ow_pq_tw_t *w, int id, int32_t v);
void ow_pq_tw_i64(ow_pq_tw_t *w, int id, int64_t v);
void ow_pq_tw_byte(ow_pq_tw_t *w, int id, int8_t v);
void ow_pq_tw_bool(ow_pq_tw_t *w, int id, int v);
void ow_pq_tw_bin(ow_pq_tw_t *w, int id, const void *p, size_t n);
void ow_pq_tw_str(ow_pq_tw_t *w, int id, const char *s);
/* A list field header; the n elements follow with the _elem calls (or
 * _begin/_end for structs). */
void ow_pq_tw_list(ow_pq_tw_t *w, int id, int elemtype, size_t n);
void ow_pq_tw_elem_i32(ow_pq_tw_t *w, int32_t v);
void ow_pq_tw_elem_bin(ow_pq_tw_t *w, const void *p, size_t n);
/* Unsigned LEB128 and zigzag varints, also used by the Parquet encodings. */
void ow_pq_put_uvarint(ow_buf_t *b, uint64_t v);
void ow_pq_put_zigzag(ow_buf_t *b, int64_t v);

/* ---- decoder ---- */

typedef struct {
	const uint8_t *p, *end;
	int depth;
	int err;  /* sticky */
	int bval; /* the value of the last boolean field read */
} ow_pq_tr_t;

void ow_pq_tr_init(ow_pq_tr_t *r, const uint8_t *p, size_t n);
/* Enters a struct (depth check); 0 on error. Pair with ow_pq_tr_leave. */
int ow_pq_tr_enter(ow_pq_tr_t *r);
void ow_pq_tr_leave(ow_pq_tr_t *r);
/* Next field of the struct being read: its type (a boolean field is
 * reported as OW_PQ_T_TRUE with the value in r->bval), or 0 at the end of
 * the struct or on error. *last is the previous field id, 0 at the start. */
int ow_pq_tr_field(ow_pq_tr_t *r, int *last, int *id);
int64_t ow_pq_tr_int(ow_pq_tr_t *r); /* i16, i32 or i64 (zigzag varint) */
int32_t ow_pq_tr_i32(ow_pq_tr_t *r); /* same, range-checked to 32 bits */
int8_t ow_pq_tr_byte(ow_pq_tr_t *r);
/* A binary or string; *p points into the input. */
void ow_pq_tr_bin(ow_pq_tr_t *r, const uint8_t **p, size_t *n);
/* A list or set header: the element count (at most the bytes left). */
size_t ow_pq_tr_list(ow_pq_tr_t *r, int *elemtype);
/* Skips a value of the type given (field type or list element type). */
void ow_pq_tr_skip(ow_pq_tr_t *r, int type, int in_list);
uint64_t ow_pq_tr_uvarint(ow_pq_tr_t *r);

#endif

/*
 * encode.h - Parquet's value encodings, the dictionary builder and the
 * split-block bloom filter, shared by writer.c and reader.c. Private to
 * modules/parquet.
 *
 * Encoders read a column's values through an index list (vals[k] is the
 * value index in the column of the k-th value to write), so the writer can
 * emit rows in any order without copying values. Decoders take a byte range
 * they never read past and append values to an ow_col_t in the layout of
 * column.h; they return OW_OK or OW_ERROR (input that does not decode).
 */
#ifndef OW_PQ_ENCODE_H
#define OW_PQ_ENCODE_H

#include "../core/column.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
/* columns hold values in host order and Parquet is little-endian: PLAIN
 * encoding is a copy only on a little-endian host */
#error "modules/parquet assumes a little-endian host"
#endif

/* Parquet's Encoding enum. */
enum {
	OW_PQ_E_PLAIN = 0,
	OW_PQ_E_PLAIN_DICTIONARY = 2,
	OW_PQ_E_RLE = 3,
	OW_PQ_E_DELTA_BINARY_PACKED = 5,
	OW_PQ_E_RLE_DICTIONARY = 8,
};

/* DELTA_BINARY_PACKED block layout: 128 values in 4 miniblocks of 32. */
#define OW_PQ_DELTA_BLOCK 128
#define OW_PQ_DELTA_MINIBLOCKS 4

/* Whether a logical type may annotate a physical type. */
static inline int ow_pq_logical_fits(int logical, int type)
{
	switch (logical) {
	case OW_PQ_L_NONE:
		return 1;
	case OW_PQ_L_STRING:
	case OW_PQ_L_JSON:
		return type == OW_PQ_BYTE_ARRAY;
	case OW_PQ_L_TIMESTAMP_NS:
	case OW_PQ_L_UINT64:
		return type == OW_PQ_INT64;
	case OW_PQ_L_UINT8:
	case OW_PQ_L_UINT32:
	case OW_PQ_L_INT8:
	case OW_PQ_L_INT16:
		return type == OW_PQ_INT32;
	default:
		return 0;
	}
}

/* Value vi of a column: its bytes, which are its PLAIN encoding without the
 * length prefix of a BYTE_ARRAY (what statistics and bloom filters use). */
static inline const uint8_t *ow_pq_value(const ow_col_t *c, size_t width, size_t vi, size_t *len)
{
	if (width) {
		*len = width;
		return c->fixed.data + vi * width;
	}
	return ow_col_bytes_at(c, vi, len);
}

/* Bits needed to hold v (0 for 0). */
static inline int ow_pq_bits(uint64_t v)
{
	return v ? 64 - __builtin_clzll(v) : 0;
}

/* RLE/bit-packed hybrid of n values of bw (0..32) bits, without the length
 * prefix. Runs of 8 or more equal values become RLE runs. */
void ow_pq_rle_encode(ow_buf_t *b, const uint32_t *v, size_t n, int bw);
int ow_pq_rle_decode(const uint8_t *p, size_t len, int bw, uint32_t *out, size_t n);

void ow_pq_plain_encode(ow_buf_t *b, const ow_pq_coldef_t *d, const ow_col_t *c,
			const uint32_t *vals, size_t n);
/* Appends n PLAIN values from p to out. want (NULL: every value): a byte
 * a value; a BYTE_ARRAY value whose byte is 0 is appended empty, its bytes
 * checked and skipped, not copied. */
int ow_pq_plain_decode(const uint8_t *p, size_t len, const ow_pq_coldef_t *d, size_t n,
		       const uint8_t *want, ow_col_t *out);

/* DELTA_BINARY_PACKED of INT32 (arithmetic modulo 2^32, so bit widths stay
 * within 32 as readers require) or INT64 values. */
void ow_pq_delta_encode(ow_buf_t *b, const ow_col_t *c, int is32, const uint32_t *vals, size_t n);
int ow_pq_delta_decode(const uint8_t *p, size_t len, int is32, size_t n, ow_col_t *out);

/* A dictionary over a column chunk's values: an open-addressing hash table
 * of entry numbers, the entries as value indices into the column (no value
 * is copied) and the entry of every value. Buffers are kept for the next
 * chunk. */
typedef struct {
	uint64_t *slot; /* high 32 bits of the hash << 32 | entry + 1; 0 = empty */
	size_t cap;	/* slots, a power of two */
	uint32_t *ent;	/* entry -> value index in the column */
	uint32_t *code; /* k-th value -> entry */
	size_t nent, ent_cap, code_cap;
	size_t bytes; /* PLAIN size of the entries */
} ow_pq_dict_t;

/* Builds the dictionary of the n values vals[] of c. OW_OK, or OW_DECLINED
 * as soon as it would exceed max_ent entries or max_bytes of PLAIN data. */
int ow_pq_dict_build(ow_pq_dict_t *dict, const ow_pq_coldef_t *d, const ow_col_t *c,
		     const uint32_t *vals, size_t n, size_t max_ent, size_t max_bytes);
void ow_pq_dict_free(ow_pq_dict_t *dict);

/* XXH64 with seed 0, the hash of Parquet bloom filters. */
uint64_t ow_pq_xxh64(const void *p, size_t n);
/* Bitset bytes for ndistinct values at about 1% false positives: a power
 * of two from 32 bytes to OW_PQ_BLOOM_MAX. */
#define OW_PQ_BLOOM_MAX (128 * 1024)
size_t ow_pq_bloom_bytes(size_t ndistinct);
void ow_pq_bloom_insert(uint8_t *bits, size_t nbytes, uint64_t h);
int ow_pq_bloom_find(const uint8_t *bits, size_t nbytes, uint64_t h);

#endif

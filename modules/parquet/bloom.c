/*
 * bloom.c - XXH64 and Parquet's split-block bloom filter (see encode.h),
 * written from the xxHash specification (xxhash_spec.md) and Parquet's
 * BloomFilter.md.
 *
 * The filter is an array of 32-byte blocks of eight little-endian 32-bit
 * words. A value's XXH64 (seed 0, over its PLAIN bytes without a length
 * prefix) picks a block with its upper 32 bits, and its lower 32 bits,
 * multiplied by eight odd salts, pick one bit in each word. DuckDB, Arrow
 * and parquet-java read the same layout, so a reader can skip a row group
 * when any of the eight bits is clear.
 */
#include "encode.h"

#define P1 UINT64_C(0x9E3779B185EBCA87)
#define P2 UINT64_C(0xC2B2AE3D27D4EB4F)
#define P3 UINT64_C(0x165667B19E3779F9)
#define P4 UINT64_C(0x85EBCA77C2B2AE63)
#define P5 UINT64_C(0x27D4EB2F165667C5)

static inline uint64_t rotl(uint64_t x, int r)
{
	return x << r | x >> (64 - r);
}

static inline uint64_t round1(uint64_t acc, uint64_t lane)
{
	return rotl(acc + lane * P2, 31) * P1;
}

static inline uint64_t merge(uint64_t acc, uint64_t v)
{
	return (acc ^ round1(0, v)) * P1 + P4;
}

uint64_t ow_pq_xxh64(const void *data, size_t n)
{
	const uint8_t *p = data, *end = p + n;
	uint64_t acc;
	if (n >= 32) {
		uint64_t v1 = P1 + P2, v2 = P2, v3 = 0, v4 = -P1;
		for (; end - p >= 32; p += 32) {
			v1 = round1(v1, ow_get_u64(p));
			v2 = round1(v2, ow_get_u64(p + 8));
			v3 = round1(v3, ow_get_u64(p + 16));
			v4 = round1(v4, ow_get_u64(p + 24));
		}
		acc = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18);
		acc = merge(acc, v1);
		acc = merge(acc, v2);
		acc = merge(acc, v3);
		acc = merge(acc, v4);
	} else {
		acc = P5;
	}
	acc += n;
	for (; end - p >= 8; p += 8)
		acc = rotl(acc ^ round1(0, ow_get_u64(p)), 27) * P1 + P4;
	if (end - p >= 4) {
		acc = rotl(acc ^ (uint64_t)ow_get_u32(p) * P1, 23) * P2 + P3;
		p += 4;
	}
	for (; p < end; p++)
		acc = rotl(acc ^ *p * P5, 11) * P1;
	acc ^= acc >> 33;
	acc *= P2;
	acc ^= acc >> 29;
	acc *= P3;
	acc ^= acc >> 32;
	return acc;
}

static const uint32_t salt[8] = {0x47b6137bu, 0x44974d91u, 0x8824ad5bu, 0xa2b7289du,
				 0x705495c7u, 0x2df1424bu, 0x9efc4947u, 0x5c6bfb31u};

size_t ow_pq_bloom_bytes(size_t ndistinct)
{
	/* BloomFilter.md: bits = -8 n / ln(1 - p^(1/8)); for p = 1% that is
	 * 9.68 bits a value. The power of two above keeps p between 1% and
	 * 0.05%. */
	double want = (double)ndistinct * 9.68 / 8;
	size_t bytes = 32;
	while (bytes < OW_PQ_BLOOM_MAX && (double)bytes < want)
		bytes *= 2;
	return bytes;
}

/* Byte offset of the block for h. */
static inline size_t block(size_t nbytes, uint64_t h)
{
	return (size_t)(((h >> 32) * (nbytes / 32)) >> 32) * 32;
}

void ow_pq_bloom_insert(uint8_t *bits, size_t nbytes, uint64_t h)
{
	uint8_t *b = bits + block(nbytes, h);
	for (int i = 0; i < 8; i++) {
		uint32_t mask = UINT32_C(1) << (((uint32_t)h * salt[i]) >> 27);
		ow_put_u32(b + 4 * i, ow_get_u32(b + 4 * i) | mask);
	}
}

int ow_pq_bloom_find(const uint8_t *bits, size_t nbytes, uint64_t h)
{
	const uint8_t *b = bits + block(nbytes, h);
	for (int i = 0; i < 8; i++) {
		uint32_t mask = UINT32_C(1) << (((uint32_t)h * salt[i]) >> 27);
		if (!(ow_get_u32(b + 4 * i) & mask))
			return 0;
	}
	return 1;
}

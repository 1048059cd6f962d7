/*
 * bloom.c - Parquet's split-block bloom filter (see encode.h), written
 * from Parquet's BloomFilter.md. The hash is XXH64 from libxxhash.
 *
 * The filter is an array of 32-byte blocks of eight little-endian 32-bit
 * words. A value's XXH64 (seed 0, over its PLAIN bytes without a length
 * prefix) picks a block with its upper 32 bits, and its lower 32 bits,
 * multiplied by eight odd salts, pick one bit in each word. DuckDB, Arrow
 * and parquet-java read the same layout, so a reader can skip a row group
 * when any of the eight bits is clear.
 */
#include "encode.h"

#include <xxhash.h>

uint64_t ow_pq_xxh64(const void *data, size_t n)
{
	return XXH64(data, n, 0);
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

/*
 * crc32c.h - CRC-32C (Castagnoli), the checksum of WAL records. Uses the
 * SSE4.2 instruction when the CPU has it, a slicing table otherwise; both
 * give the same values (the unit test checks the RFC 3720 vectors).
 */
#ifndef OW_CRC32C_H
#define OW_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t ow_crc32c(uint32_t crc, const void *data, size_t len);
/* The table-driven form, whatever the CPU; exposed so tests can compare. */
uint32_t ow_crc32c_portable(uint32_t crc, const void *data, size_t len);

#endif

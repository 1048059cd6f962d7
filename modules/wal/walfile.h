/*
 * walfile.h - the WAL file format (described byte by byte in walfile.c)
 * and the check that recovery runs on each file.
 */
#ifndef OW_WALFILE_H
#define OW_WALFILE_H

#include "../core/batch.h"

#define OW_WAL_HEADER_FIXED 44
#define OW_WAL_TRAILER 40

/* What a scan of one file found. */
enum ow_wal_state {
	OW_WAL_VALID,	/* trailer and every checksum good */
	OW_WAL_TORN,	/* no valid trailer: never acknowledged */
	OW_WAL_CORRUPT, /* valid trailer but a bad header or record */
};

typedef struct {
	int state;
	char why[160];
	uint8_t uuid[16];
	char id[OW_BATCH_ID_LEN + 1];
	char tenant[OW_TENANT_MAX + 1];
	int signal, source;
	int layout; /* 1: records carry a Kafka position */
	int64_t created_ns;
	uint32_t nrecords;
	uint64_t payload_bytes;
} ow_walinfo_t;

/* Serializes a batch into one buffer: header, a record per message, trailer. */
void ow_walfile_build(const ow_batch_t *b, ow_buf_t *out);

/* Checks a whole file image. When each is not NULL it is called for every
 * record of a VALID file, in order. */
int ow_walfile_check(const uint8_t *p, size_t len, ow_walinfo_t *info,
		     void (*each)(void *arg, const uint8_t *rec, size_t len), void *arg);

/* Where a Kafka message came from. */
typedef struct {
	char topic[256];
	int32_t partition;
	int64_t offset;
} ow_walpos_t;

/* Splits one record of a checked file into its Kafka position (zeroed for
 * other sources) and its payload; OW_ERROR when the position is malformed. */
int ow_walfile_record(const ow_walinfo_t *info, const uint8_t *rec, size_t len, ow_walpos_t *pos,
		      const uint8_t **payload, size_t *plen);

/* Reads a file and checks it; OW_ERROR only when the file cannot be read. */
int ow_walfile_read(const char *path, ow_walinfo_t *info, ow_buf_t *image);

#endif

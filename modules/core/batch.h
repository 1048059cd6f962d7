/*
 * batch.h - the unit of durability. A message (ow_msg_t) is one request
 * (HTTP, gRPC) or one Kafka message, already decoded and validated; its
 * payload is the OTLP Export*ServiceRequest in protobuf. A batch is the
 * messages of one (tenant, signal, source) that are written as one WAL
 * file. The source that made a message owns its ack(): it is called once,
 * on the loop thread, after the batch is durable (OW_OK) or has failed.
 */
#ifndef OW_BATCH_H
#define OW_BATCH_H

#include "core.h"
#include "worker.h"

typedef struct ow_msg ow_msg_t;
struct ow_table;

struct ow_msg {
	ow_msg_t *next;
	uint8_t *payload; /* malloc'd; freed by the batch */
	size_t len;
	struct ow_table *table; /* its records as columns; storage takes it */
	uint64_t records;	/* spans, log records or data points */
	size_t charged;		/* bytes taken from the in-flight budget */
	void (*ack)(ow_msg_t *m, int rc);
	const char *batch_id; /* during ack(): the batch it was written in
			       * (NULL: no record, so no batch) */
	uint32_t batch_seq;   /* and its place in it */
	/* Kafka messages: where they came from; the WAL records it */
	const char *topic; /* NULL for other sources */
	int32_t partition;
	int64_t offset;
};

typedef struct ow_batch ow_batch_t;

struct ow_batch {
	ow_job_t job; /* the WAL writer posts it back to the loop */
	uint8_t uuid[16];
	char id[OW_BATCH_ID_LEN + 1];
	char tenant[OW_TENANT_MAX + 1];
	int signal, source;
	int64_t created_ns;  /* wall clock, for the tracker */
	int64_t opened_mono; /* when its first message arrived */
	int64_t wal_done_ns;
	ow_msg_t *msgs, **tail;
	uint32_t nmsgs;
	uint64_t records;
	uint64_t bytes;			   /* payload bytes */
	int64_t first_offset, last_offset; /* Kafka: over its messages */
	char topics[256];		   /* Kafka: distinct, comma-separated */
	int sealed;
	/* filled by the WAL writer */
	int wal_rc;
	int wal_attempt; /* which file name holds it, see ow_wal_ref() */
	int64_t write_ns, fsync_ns;
	uint64_t file_bytes;
	int64_t queued_mono; /* posted back to the loop (its publish queue) */
	ow_batch_t *next;
};

ow_batch_t *ow_batch_new(const char *tenant, int signal, int source);
void ow_batch_add(ow_batch_t *b, ow_msg_t *m);
/* Calls every message's ack with rc, then frees the batch. */
void ow_batch_finish(ow_batch_t *b, int rc);
/* Frees what a message holds (payload, columns, budget) and acks it. */
void ow_msg_finish(ow_msg_t *m, int rc);

/* The in-flight byte budget (any thread): request bodies, what decoding
 * them allocates, and their decoded payloads, from arrival to
 * acknowledgement. */
void ow_budget_init(uint64_t max);
int ow_budget_take(size_t n); /* OW_AGAIN when it would pass the limit */
/* Charges bytes already admitted (a body that grew when decoded). */
void ow_budget_charge(size_t n);
void ow_budget_release(size_t n);
uint64_t ow_budget_used(void);
uint64_t ow_budget_max(void);

#endif

/*
 * ingest.h - the ingest front: what the three sources (OTLP/HTTP,
 * OTLP/gRPC, Kafka) share between their framing and their answers. Here:
 * the counters of acknowledged and refused requests, by tenant and reason,
 * and the acknowledgement latency.
 */
#ifndef OW_INGEST_H
#define OW_INGEST_H

#include "../core/module.h"

/* Why a request was refused: the reason label of
 * openwit_rejected_requests_total. */
enum ow_reject {
	OW_REJ_BAD_REQUEST,
	OW_REJ_INVALID_TENANT,
	OW_REJ_TOO_LARGE,
	OW_REJ_MEDIA_TYPE,
	OW_REJ_METHOD,
	OW_REJ_NOT_FOUND,
	OW_REJ_BUDGET,
	OW_REJ_QUEUE_FULL,
	OW_REJ_DISK_FULL,
	OW_REJ_DRAINING,
	OW_REJ_WAL_FAILED,
	OW_REJ_BUFFER_FULL,
	OW_REJ_DEADLINE,
	OW_NREJECT
};

extern ow_module_t ow_ingest_module;

void ow_ingest_rejected(int reason);
/* An acknowledged request: its records taken and rejected (partial
 * success), its payload bytes. */
void ow_ingest_accepted(const char *tenant, int signal, uint64_t records, uint64_t rejected,
			uint64_t bytes);
/* A client's request answered: t0 is when it arrived (CLOCK_MONOTONIC). */
void ow_ingest_answered(int64_t t0);

#endif

/*
 * kafka.h - OTLP from Kafka topics (librdkafka high-level consumer).
 *
 * A message is decoded on a worker like an OTLP/HTTP request, joins a
 * batch of its (tenant, signal) and is written to the WAL with its topic,
 * partition and offset. A partition's offsets are committed up to its
 * contiguous durable prefix, and a Kafka batch is stored in Parquet only
 * after all its offsets are committed (storage holds it until then).
 */
#ifndef OW_KAFKA_H
#define OW_KAFKA_H

#include "../core/module.h"
#include "../wal/walfile.h"

extern ow_module_t ow_kafka_module;

/* WAL recovery found a complete, unstored Kafka batch. Which of its records
 * to replay depends on the group's committed offsets, so the Kafka module
 * takes the file and replays it once it has asked the group coordinator
 * (before it consumes anything). Loop thread. */
void ow_kafka_adopt(const ow_walinfo_t *info, const char *path);

#endif

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

extern ow_module_t ow_kafka_module;

#endif

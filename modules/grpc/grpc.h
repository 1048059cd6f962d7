/*
 * grpc.h - OTLP/gRPC ingest: the three Export methods of the OTLP
 * collector services over cleartext HTTP/2 (h2c, prior knowledge) on
 * ingestion.grpc.bind:ingestion.grpc.port (4317; 0 disables).
 */
#ifndef OW_GRPC_H
#define OW_GRPC_H

#include "../core/module.h"

extern ow_module_t ow_grpc_module;

#endif

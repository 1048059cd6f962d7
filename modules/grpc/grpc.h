/*
 * grpc.h - OTLP/gRPC ingest: the three Export methods of the OTLP
 * collector services over cleartext HTTP/2 (h2c, prior knowledge) on
 * ingestion.grpc.bind:ingestion.grpc.port (4317; 0 disables).
 */
#ifndef OW_GRPC_H
#define OW_GRPC_H

#include "../core/module.h"

extern ow_module_t ow_grpc_module;

/* grpc-timeout: 1 to 8 digits and a unit, H M S m u n. The timeout in ns
 * (0 for one too long to matter), or -1 when malformed. */
int64_t ow_grpc_timeout(const char *v, size_t len);

/* A request's body (len bytes) must be one length-prefixed message, of at
 * most max bytes: OW_IN_OK with the message moved to the front of body and
 * *len its length (*gzip cleared when its flag says uncompressed), or the
 * ingest front's reason (ingest.h): OW_IN_FRAMING, OW_IN_TOO_LARGE, or
 * OW_IN_COMPRESSED (a compressed message without grpc-encoding gzip). */
int ow_grpc_unframe(uint8_t *body, size_t *len, size_t max, int *gzip);

#endif

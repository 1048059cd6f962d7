/* grpc: an OTLP/gRPC request as modules/grpc takes it apart. The input is
 * one byte of flags (bits 0-1: the method's signal, 3 for none; bit 2:
 * grpc-encoding gzip), one byte n and n bytes of grpc-timeout header
 * value, then the stream's body: the length-prefixed message, which
 * ow_grpc_unframe checks and unwraps and the ingest front decodes (below,
 * as ow_otlp_decode_body). */
#include "modules/grpc/grpc.h"
#include "modules/ingest/ingest.h"
#include "t/fuzz/fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	ow_budget_init(OW_FUZZ_BUDGET);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2 || (size_t)data[1] + 2 > size)
		return 0;
	int signal = data[0] & 3, gzip = data[0] >> 2 & 1;
	int64_t timeout = ow_grpc_timeout((const char *)data + 2, data[1]);
	OW_FUZZ_CHECK(timeout >= -1);
	size_t skip = 2 + (size_t)data[1], len = size - skip;
	uint8_t *body = ow_fuzz_copy(data + skip, len);
	int why = ow_grpc_unframe(body, &len, OW_FUZZ_MAX_BODY, &gzip);
	OW_FUZZ_CHECK(why == OW_IN_OK || why == OW_IN_FRAMING || why == OW_IN_TOO_LARGE ||
		      why == OW_IN_COMPRESSED);
	if (why == OW_IN_OK && signal < OW_NSIGNALS) {
		OW_FUZZ_CHECK(len + 5 + skip == size);
		ow_otlp_req_t r;
		ow_fuzz_decode(signal, OW_ENC_PROTOBUF, gzip, body, len, &ow_fuzz_window, &r);
		ow_otlp_req_free(&r);
		OW_FUZZ_CHECK(ow_budget_used() == 0);
	} else {
		free(body);
	}
	return 0;
}

/* gzip: a body sent with Content-Encoding: gzip (or the Kafka source's
 * gzip), inflated within the body limit and the budget, then decoded as
 * JSON or protobuf by its first byte (OW_ENC_AUTO), as each signal. */
#include "t/fuzz/fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	ow_budget_init(OW_FUZZ_BUDGET);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ow_fuzz_otlp(OW_ENC_AUTO, 1, data, size);
	return 0;
}

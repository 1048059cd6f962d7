/* otlp_protobuf: an OTLP/HTTP protobuf body (Export{Trace,Logs,Metrics}
 * ServiceRequest), decoded as each signal: modules/otlp and the column
 * decoder of modules/columns. */
#include "t/fuzz/fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	ow_budget_init(OW_FUZZ_BUDGET);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ow_fuzz_otlp(OW_ENC_PROTOBUF, 0, data, size);
	return 0;
}

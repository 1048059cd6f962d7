/* otlp_json: an OTLP/JSON body, decoded as each signal: cJSON's tree under
 * ingestion.max_json_elements, modules/otlp's conversion to protobuf, and
 * the column decoder on the result. */
#include "t/fuzz/fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	ow_budget_init(OW_FUZZ_BUDGET);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ow_fuzz_otlp(OW_ENC_JSON, 0, data, size);
	return 0;
}

/* traceql: TraceQL as the Tempo API reads a search's q (tr_traceql of
 * modules/traceapi/tempo.c): SQL or Tempo's error, nothing else. */
#include "modules/traceapi/traceapi.h"
#include "t/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *q = ow_alloc(size + 1);
	memcpy(q, data, size);
	q[size] = '\0';
	char err[1024] = "";
	ow_buf_t sql = {0};
	int rc = tr_traceql(q, &sql, err, sizeof(err));
	OW_FUZZ_CHECK(rc == OW_OK || strncmp(err, "invalid TraceQL query: ", 23) == 0);
	ow_buf_free(&sql);
	free(q);
	return 0;
}

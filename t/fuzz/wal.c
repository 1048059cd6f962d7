/* wal: a WAL file as recovery reads it (modules/wal/walfile.c): the check
 * of header, records and trailer, each record of a valid file split into
 * its Kafka position and payload, and the payload decoded to columns as
 * replay does (modules/columns). */
#include "modules/wal/walfile.h"
#include "t/fuzz/fuzz.h"

static void record(void *arg, const uint8_t *rec, size_t len)
{
	const ow_walinfo_t *info = arg;
	ow_walpos_t pos;
	const uint8_t *payload;
	size_t plen;
	if (ow_walfile_record(info, rec, len, &pos, &payload, &plen) != OW_OK)
		return;
	OW_FUZZ_CHECK(payload >= rec && payload + plen <= rec + len);
	ow_table_t t;
	ow_columns_table_init(info->signal, &t);
	char err[256];
	ow_columns_decode(info->signal, payload, plen, info->created_ns, &t, NULL, err,
			  sizeof(err));
	ow_table_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ow_walinfo_t info;
	memset(&info, 0, sizeof(info));
	int state = ow_walfile_check(data, size, &info, NULL, NULL);
	OW_FUZZ_CHECK(state == info.state);
	if (state != OW_WAL_VALID)
		return 0;
	OW_FUZZ_CHECK(info.signal >= 0 && info.signal < OW_NSIGNALS);
	OW_FUZZ_CHECK(memchr(info.tenant, '\0', sizeof(info.tenant)) != NULL);
	ow_walfile_check(data, size, &info, record, &info);
	return 0;
}

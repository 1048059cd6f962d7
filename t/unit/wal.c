/* walfile: a batch round-trips; torn files are told from corrupt ones. */
#include "../lib/tap.h"
#include "modules/core/batch.h"
#include "modules/core/crc32c.h"
#include "modules/wal/walfile.h"

static ow_msg_t *msg(const char *s)
{
	ow_msg_t *m = calloc(1, sizeof(*m));
	m->len = strlen(s);
	m->payload = (uint8_t *)strdup(s);
	m->records = 1;
	return m;
}

static int nrec;
static char seen[256];

static void each(void *arg, const uint8_t *rec, size_t len)
{
	(void)arg;
	nrec++;
	strncat(seen, (const char *)rec, len);
	strcat(seen, "|");
}

int main(void)
{
	ow_batch_t *b = ow_batch_new("team-a", OW_LOGS, OW_SRC_HTTP);
	ow_msg_t *m1 = msg("first"), *m2 = msg(""), *m3 = msg("third record");
	ow_batch_add(b, m1);
	ow_batch_add(b, m2);
	ow_batch_add(b, m3);
	ow_buf_t img = {0};
	ow_walfile_build(b, &img);
	is_int(img.len, 48 + 6 + 3 * 8 + 5 + 0 + 12 + 40,
	       "file size is header + records + trailer");

	ow_walinfo_t info;
	is_int(ow_walfile_check(img.data, img.len, &info, each, NULL), OW_WAL_VALID, "valid file");
	is_int(nrec, 3, "three records, the empty one included");
	is_str(seen, "first||third record|", "records come back in order");
	is_str(info.tenant, "team-a", "tenant from the header");
	is_str(info.id, b->id, "batch id from the header");
	is_int(info.signal, OW_LOGS, "signal from the header");
	is_int(info.created_ns, b->created_ns, "creation time from the header");
	is_int(info.payload_bytes, 17, "payload bytes");

	int torn = 1;
	for (size_t cut = 0; cut < img.len; cut++)
		torn &= ow_walfile_check(img.data, cut, &info, NULL, NULL) == OW_WAL_TORN;
	ok(torn, "every truncation of the file is torn (never acknowledged), never corrupt");

	int corrupt = 1;
	for (size_t i = 0; i < img.len - OW_WAL_TRAILER; i++) {
		img.data[i] ^= 0x40;
		int st = ow_walfile_check(img.data, img.len, &info, NULL, NULL);
		corrupt &= st == OW_WAL_CORRUPT;
		img.data[i] ^= 0x40;
	}
	ok(corrupt, "a flipped bit anywhere before the trailer is corruption");
	img.data[img.len - 3] ^= 1;
	is_int(ow_walfile_check(img.data, img.len, &info, NULL, NULL), OW_WAL_TORN,
	       "a damaged trailer reads as torn");
	img.data[img.len - 3] ^= 1;
	img.data[60] ^= 1;
	ow_walfile_check(img.data, img.len, &info, NULL, NULL);
	ok(strstr(info.why, "record 0 checksum") != NULL, "the reason names the record: %s",
	   info.why);
	ow_buf_free(&img);

	/* ow_batch_finish acks each message; here the acks are no-ops. */
	free(m1->payload);
	free(m2->payload);
	free(m3->payload);
	free(m1);
	free(m2);
	free(m3);
	free(b);
	return done_testing();
}

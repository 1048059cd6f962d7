/*
 * walfile.c - the WAL file format. One file per batch:
 * data/wal/{tenant}/batch_{uuid}.wal. All integers are little-endian.
 *
 *   header (44 + T + 4 bytes)
 *     0   8  magic "OWWAL01\n"
 *     8   4  header length, 48 + T
 *    12  16  batch id, UUIDv7, raw bytes
 *    28   8  created at, nanoseconds since the Unix epoch (int64)
 *    36   1  signal: 0 traces, 1 logs, 2 metrics
 *    37   1  source: 0 http, 1 grpc, 2 kafka
 *    38   1  record layout: 0 = the payload alone; 1 = a Kafka position,
 *               then the payload (source 2 only; see below)
 *    39   1  T, the tenant id length (1..64)
 *    40   4  reserved, zero
 *    44   T  tenant id
 *  44+T   4  crc32c of header bytes [0, 44+T)
 *
 *   records, one per message, back to back
 *     0   4  payload length N
 *     4   4  crc32c over the 4 length bytes followed by the payload
 *     8   N  layout 0: the payload, the OTLP Export*ServiceRequest in
 *               protobuf (as received, or converted from JSON)
 *               layout 1: 1 byte topic length T (1..255), T bytes topic,
 *               4 bytes partition (int32), 8 bytes offset (int64), the
 *               payload; N counts all of it
 *
 *   trailer (40 bytes)
 *     0   8  magic "OWWALEND"
 *     8  16  batch id, as in the header
 *    24   4  number of records
 *    28   8  sum of payload lengths
 *    36   4  crc32c of trailer bytes [0, 36)
 *
 * The trailer checks itself only, so damage to any byte before it is
 * corruption, never mistaken for a torn write.
 *
 * The file is written in one write and fdatasync'd, then its directory is
 * fsync'd; only then is any of its requests acknowledged. So a file without
 * a valid trailer was never acknowledged (a crash mid-write) and recovery
 * deletes it, while a file with a valid trailer and a bad checksum is damage
 * to acknowledged data: recovery quarantines it and raises an alert.
 */
#include "walfile.h"
#include "../core/crc32c.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static const char magic[8] = {'O', 'W', 'W', 'A', 'L', '0', '1', '\n'};
static const char end_magic[8] = {'O', 'W', 'W', 'A', 'L', 'E', 'N', 'D'};

void ow_walfile_build(const ow_batch_t *b, ow_buf_t *out)
{
	size_t tlen = strlen(b->tenant);
	size_t hlen = OW_WAL_HEADER_FIXED + tlen + 4;
	uint8_t h[OW_WAL_HEADER_FIXED + OW_TENANT_MAX + 4] = {0};
	memcpy(h, magic, 8);
	ow_put_u32(h + 8, (uint32_t)hlen);
	memcpy(h + 12, b->uuid, 16);
	ow_put_u64(h + 28, (uint64_t)b->created_ns);
	h[36] = (uint8_t)b->signal;
	h[37] = (uint8_t)b->source;
	h[38] = b->source == OW_SRC_KAFKA;
	h[39] = (uint8_t)tlen;
	memcpy(h + 44, b->tenant, tlen);
	uint32_t hcrc = ow_crc32c(0, h, hlen - 4);
	ow_put_u32(h + hlen - 4, hcrc);

	ow_buf_reserve(out, hlen + b->bytes + 8 * b->nmsgs + OW_WAL_TRAILER);
	ow_buf_add(out, h, hlen);
	uint32_t n = 0;
	uint64_t total = 0;
	for (const ow_msg_t *m = b->msgs; m; m = m->next, n++) {
		uint8_t rh[8], pos[1 + 255 + 12];
		size_t plen = 0;
		if (h[38]) {
			size_t tl = OW_MIN(strlen(m->topic), 255);
			pos[0] = (uint8_t)tl;
			memcpy(pos + 1, m->topic, tl);
			ow_put_u32(pos + 1 + tl, (uint32_t)m->partition);
			ow_put_u64(pos + 5 + tl, (uint64_t)m->offset);
			plen = 13 + tl;
		}
		ow_put_u32(rh, (uint32_t)(plen + m->len));
		uint32_t crc =
		    ow_crc32c(ow_crc32c(ow_crc32c(0, rh, 4), pos, plen), m->payload, m->len);
		ow_put_u32(rh + 4, crc);
		ow_buf_add(out, rh, 8);
		ow_buf_add(out, pos, plen);
		ow_buf_add(out, m->payload, m->len);
		total += plen + m->len;
	}
	uint8_t t[OW_WAL_TRAILER] = {0};
	memcpy(t, end_magic, 8);
	memcpy(t + 8, b->uuid, 16);
	ow_put_u32(t + 24, n);
	ow_put_u64(t + 28, total);
	ow_put_u32(t + 36, ow_crc32c(0, t, 36));
	ow_buf_add(out, t, OW_WAL_TRAILER);
}

static int bad(ow_walinfo_t *info, int state, const char *why)
{
	info->state = state;
	snprintf(info->why, sizeof(info->why), "%s", why);
	return state;
}

int ow_walfile_check(const uint8_t *p, size_t len, ow_walinfo_t *info,
		     void (*each)(void *arg, const uint8_t *rec, size_t len), void *arg)
{
	memset(info, 0, sizeof(*info));
	if (len < OW_WAL_TRAILER)
		return bad(info, OW_WAL_TORN, "no valid trailer");
	const uint8_t *t = p + len - OW_WAL_TRAILER;
	if (memcmp(t, end_magic, 8) != 0 || ow_get_u32(t + 36) != ow_crc32c(0, t, 36))
		return bad(info, OW_WAL_TORN, "no valid trailer");

	/* From here on the file was complete when written: damage is corruption. */
	uint32_t hlen = len >= OW_WAL_HEADER_FIXED + OW_WAL_TRAILER ? ow_get_u32(p + 8) : 0;
	if (memcmp(p, magic, 8) != 0 || hlen < OW_WAL_HEADER_FIXED + 5 ||
	    hlen > OW_WAL_HEADER_FIXED + OW_TENANT_MAX + 4 || hlen + OW_WAL_TRAILER > len)
		return bad(info, OW_WAL_CORRUPT, "bad magic or header length");
	if (ow_crc32c(0, p, hlen - 4) != ow_get_u32(p + hlen - 4) || memcmp(p + 12, t + 8, 16))
		return bad(info, OW_WAL_CORRUPT, "header checksum mismatch");
	size_t tlen = p[39];
	if (tlen + OW_WAL_HEADER_FIXED + 4 != hlen ||
	    !ow_tenant_valid((const char *)p + 44, tlen) || p[36] >= OW_NSIGNALS ||
	    p[37] >= OW_NSOURCES || p[38] != (p[37] == OW_SRC_KAFKA))
		return bad(info, OW_WAL_CORRUPT, "header fields out of range");
	memcpy(info->uuid, p + 12, 16);
	ow_uuid_text(info->uuid, info->id);
	memcpy(info->tenant, p + 44, tlen);
	info->tenant[tlen] = '\0';
	info->created_ns = (int64_t)ow_get_u64(p + 28);
	info->signal = p[36];
	info->source = p[37];
	info->layout = p[38];

	uint32_t want = ow_get_u32(t + 24);
	uint64_t want_bytes = ow_get_u64(t + 28);
	size_t off = hlen, end = len - OW_WAL_TRAILER;
	uint32_t n = 0;
	uint64_t total = 0;
	while (off < end) {
		if (end - off < 8)
			return bad(info, OW_WAL_CORRUPT, "truncated record header");
		uint32_t rlen = ow_get_u32(p + off);
		if (rlen > end - off - 8)
			return bad(info, OW_WAL_CORRUPT, "record length past the trailer");
		uint32_t crc = ow_crc32c(ow_crc32c(0, p + off, 4), p + off + 8, rlen);
		if (crc != ow_get_u32(p + off + 4)) {
			snprintf(info->why, sizeof(info->why), "record %u checksum mismatch", n);
			info->state = OW_WAL_CORRUPT;
			return OW_WAL_CORRUPT;
		}
		off += 8 + (size_t)rlen;
		total += rlen;
		n++;
	}
	if (n != want || total != want_bytes)
		return bad(info, OW_WAL_CORRUPT, "record count or size differs from the trailer");
	info->nrecords = n;
	info->payload_bytes = total;
	if (each)
		for (off = hlen; off < end; off += 8 + (size_t)ow_get_u32(p + off))
			each(arg, p + off + 8, ow_get_u32(p + off));
	info->state = OW_WAL_VALID;
	return OW_WAL_VALID;
}

int ow_walfile_read(const char *path, ow_walinfo_t *info, ow_buf_t *image)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return OW_ERROR;
	struct stat st;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return OW_ERROR;
	}
	image->len = 0;
	ow_buf_reserve(image, (size_t)st.st_size);
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, image->data + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	image->len = got;
	ow_walfile_check(image->data, got, info, NULL, NULL);
	return OW_OK;
}

int ow_walfile_record(const ow_walinfo_t *info, const uint8_t *rec, size_t len, ow_walpos_t *pos,
		      const uint8_t **payload, size_t *plen)
{
	memset(pos, 0, sizeof(*pos));
	if (info->layout == 0) {
		*payload = rec;
		*plen = len;
		return OW_OK;
	}
	size_t tl = len ? rec[0] : 0;
	if (tl == 0 || len < 13 + tl)
		return OW_ERROR;
	memcpy(pos->topic, rec + 1, tl);
	pos->topic[tl] = '\0';
	pos->partition = (int32_t)ow_get_u32(rec + 1 + tl);
	pos->offset = (int64_t)ow_get_u64(rec + 5 + tl);
	*payload = rec + 13 + tl;
	*plen = len - 13 - tl;
	return OW_OK;
}

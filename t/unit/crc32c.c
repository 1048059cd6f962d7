/* crc32c: the RFC 3720 test vectors, in both the CPU and table forms. */
#include "../lib/tap.h"
#include "modules/core/crc32c.h"

#include <stdint.h>

int main(void)
{
	uint8_t buf[48];
	memset(buf, 0, 32);
	is_int(ow_crc32c(0, buf, 32), 0x8a9136aa, "32 bytes of zeros");
	is_int(ow_crc32c_portable(0, buf, 32), 0x8a9136aa, "32 bytes of zeros, table form");
	memset(buf, 0xff, 32);
	is_int(ow_crc32c(0, buf, 32), 0x62a8ab43, "32 bytes of 0xff");
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)i;
	is_int(ow_crc32c(0, buf, 32), 0x46dd794e, "32 incrementing bytes");
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)(31 - i);
	is_int(ow_crc32c(0, buf, 32), 0x113fdb5c, "32 decrementing bytes");
	is_int(ow_crc32c(0, "123456789", 9), 0xe3069283, "the check value of \"123456789\"");
	is_int(ow_crc32c(ow_crc32c(0, "1234", 4), "56789", 5), 0xe3069283,
	       "continuing over two pieces gives the same value");
	int same = 1;
	for (size_t n = 0; n < 48; n++)
		for (size_t off = 0; off + n <= 48; off += 7)
			same &= ow_crc32c(0, buf + off, n) == ow_crc32c_portable(0, buf + off, n);
	ok(same, "CPU and table forms agree on every length and alignment");
	return done_testing();
}

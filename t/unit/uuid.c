/* uuid7: well-formed, and strictly increasing in creation order. */
#include "../lib/tap.h"
#include "modules/core/core.h"

int main(void)
{
	uint8_t raw[16];
	char prev[OW_BATCH_ID_LEN + 1] = "", text[OW_BATCH_ID_LEN + 1];
	int increasing = 1, formed = 1;
	for (int i = 0; i < 20000; i++) {
		ow_uuid7(raw, text);
		increasing &= strcmp(prev, text) < 0;
		formed &= strlen(text) == 36 && text[14] == '7' && strchr("89ab", text[19]) &&
			  text[8] == '-' && text[13] == '-' && text[18] == '-' && text[23] == '-';
		memcpy(prev, text, sizeof(prev));
	}
	ok(formed, "20000 ids are version 7, variant 10, in 8-4-4-4-12 form");
	ok(increasing, "and each sorts after the one before");
	int64_t ms = 0;
	for (int i = 0; i < 6; i++)
		ms = ms << 8 | raw[i];
	int64_t now = ow_now_ns() / 1000000;
	ok(ms <= now + 50 && ms > now - 5000, "the time field is the current millisecond");
	return done_testing();
}

/*
 * stats.h - one value of a module's /metrics text, for unit tests: the
 * number after "\nNAME " in what stats() writes, or -1 when absent.
 */
#ifndef OW_T_STATS_H
#define OW_T_STATS_H

#include "modules/core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline long long stats_value(void (*stats)(ow_buf_t *), const char *name)
{
	ow_buf_t b = {0};
	stats(&b);
	ow_buf_add(&b, "", 1);
	char want[128];
	snprintf(want, sizeof(want), "\n%s ", name);
	const char *at = strstr((char *)b.data, want);
	long long v = at ? atoll(at + strlen(want)) : -1;
	ow_buf_free(&b);
	return v;
}

#endif

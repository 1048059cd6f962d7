/*
 * module.c - the module table as the other modules see it (module.h):
 * openwit.c owns it, /metrics walks it. The core knows no module by name.
 */
#include "module.h"

static ow_module_t *const *modules;
static size_t nmodules;

void ow_modules_set(ow_module_t *const *table, size_t n)
{
	modules = table;
	nmodules = n;
}

void ow_modules_stats(ow_buf_t *out)
{
	for (size_t i = 0; i < nmodules; i++)
		if (modules[i]->stats)
			modules[i]->stats(out);
}

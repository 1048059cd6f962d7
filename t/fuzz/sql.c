/* sql: a query as the columnar engine's parser reads it
 * (ow_columnar_parse of modules/search/columnar.c, before any data: the
 * query API and `openwit sql` hand it every SQL text first, and SQLite
 * answers what it declines). */
#include "modules/search/internal.h"
#include "t/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *sql = ow_alloc(size + 1);
	memcpy(sql, data, size);
	sql[size] = '\0';
	ow_columnar_free(ow_columnar_parse(NULL, sql));
	free(sql);
	return 0;
}

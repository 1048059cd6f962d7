/* logql: LogQL as the Loki API reads a query (lq_parse of
 * modules/loki/logql.c, before any data), and a log query's pipeline run
 * on lines of every kind it parses (JSON, logfmt, neither). */
#include "modules/loki/loki.h"
#include "t/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *q = ow_alloc(size + 1);
	memcpy(q, data, size);
	q[size] = '\0';
	char err[1024];
	lq_expr_t *e = NULL;
	int rc = lq_parse(q, &e, err, sizeof(err));
	OW_FUZZ_CHECK((rc == OW_OK) == (e != NULL));
	OW_FUZZ_CHECK(rc == OW_OK || strncmp(err, "parse error", 11) == 0);
	static const char *const lines[] = {
	    "{\"a\":{\"b\":1.5,\"c\":[1]},\"d\":\"x y\",\"e\":true,\"f\":null}",
	    "level=info msg=\"a b\" took=15ms x= =y \"", "plain text \x01 line", ""};
	for (size_t i = 0; e && e->kind == E_LOGS && i < OW_NELEMS(lines); i++) {
		lq_labels_t l = {0};
		lq_labels_set(&l, "service_name", "svc", 3);
		ow_buf_t line = {0};
		ow_buf_addstr(&line, lines[i]);
		if (lq_match(e->sel.m, e->sel.nm, &l))
			lq_pipeline(&e->sel, 0, &line, &l);
		ow_buf_t key = {0};
		lq_labels_key(&l, &key);
		ow_buf_free(&key);
		ow_buf_free(&line);
		lq_labels_free(&l);
	}
	lq_free(e);
	free(q);
	return 0;
}

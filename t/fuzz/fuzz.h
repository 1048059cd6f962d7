/*
 * fuzz.h - what the fuzz targets under t/fuzz/ share. Each target is one C
 * file that defines LLVMFuzzerTestOneInput over a real module function: it
 * is linked with libFuzzer by `make fuzz` (clang), and with replay.c by
 * `make test` (the default compiler, ASan and UBSan), which runs every file
 * of its corpus t/fuzz/corpus/<target>/ through it. A target returns 0 on
 * any input; a broken invariant it checks aborts (OW_FUZZ_CHECK), so both
 * drivers report it as a finding.
 */
#ifndef OW_FUZZ_H
#define OW_FUZZ_H

#include "modules/core/batch.h"
#include "modules/otlp/otlp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define OW_FUZZ_CHECK(cond)                                                                        \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: broken: %s\n", __FILE__, __LINE__, #cond);         \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* The in-flight budget every OTLP decode takes from, as a server's. */
#define OW_FUZZ_BUDGET (1 << 30)
/* The largest body once inflated: ingestion.http.max_body_size's default. */
#define OW_FUZZ_MAX_BODY (10 << 20)

/* A fixed window of record times (2017 to 2033), so that the refusal of a
 * record outside it - its bytes rewritten for the WAL - is fuzzed too, the
 * same on every run. */
static const ow_columns_window_t ow_fuzz_window = {1500000000000000000ull, 2000000000000000000ull,
						   0};

/* Decodes body (size bytes, taken) as every source does (win: the window
 * of times, NULL as replay). */
static inline int ow_fuzz_decode(int signal, int encoding, int gzip, uint8_t *body, size_t size,
				 const ow_columns_window_t *win, ow_otlp_req_t *r)
{
	memset(r, 0, sizeof(*r));
	int rc = ow_otlp_decode_body(signal, encoding, gzip, body, size, OW_FUZZ_MAX_BODY,
				     "max_body_size", win, r);
	if (rc == OW_OK)
		OW_FUZZ_CHECK(r->table != NULL && r->records == r->table->nrows);
	else
		OW_FUZZ_CHECK(r->error[0] != '\0' && r->table == NULL && r->payload == NULL);
	return rc;
}

static inline uint8_t *ow_fuzz_copy(const uint8_t *data, size_t size)
{
	uint8_t *p = ow_alloc(size);
	if (size)
		memcpy(p, data, size);
	return p;
}

/* Decodes one OTLP body as each signal, from a malloc'd copy as a source
 * hands it over (ow_otlp_decode_body), and checks what every accepted
 * request must hold: its records in its columns, and a payload - what the
 * WAL keeps and replay decodes again - that decodes as protobuf to the
 * same records with no window (a record the window refused is skipped
 * there, so no more rejects); a refused one has a message; and the budget
 * gets back all the decodes took. */
static inline void ow_fuzz_otlp(int encoding, int gzip, const uint8_t *data, size_t size)
{
	for (int signal = 0; signal < OW_NSIGNALS; signal++) {
		ow_otlp_req_t r, again;
		if (ow_fuzz_decode(signal, encoding, gzip, ow_fuzz_copy(data, size), size,
				   &ow_fuzz_window, &r) == OW_OK) {
			OW_FUZZ_CHECK(ow_fuzz_decode(signal, OW_ENC_PROTOBUF, 0,
						     ow_fuzz_copy(r.payload, r.len), r.len, NULL,
						     &again) == OW_OK);
			OW_FUZZ_CHECK(again.records == r.records && again.rejects.n <= r.rejects.n);
			ow_otlp_req_free(&again);
		}
		ow_otlp_req_free(&r);
		OW_FUZZ_CHECK(ow_budget_used() == 0);
	}
}

#endif

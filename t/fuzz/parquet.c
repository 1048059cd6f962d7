/* parquet: a file as `openwit sql` and the server's queries read a part
 * (modules/parquet/reader.c): the footer, then every column of every row
 * group - values, statistics, chunk, bloom filter, dictionary codes, a
 * row selection - and every row group at once. */
#include "modules/parquet/parquet.h"
#include "t/fuzz/fuzz.h"

static void read_rg(ow_pq_file_t *f, int rg, int col, int64_t rows)
{
	char err[256];
	ow_col_t out = {0};
	if (ow_pq_read_column(f, rg, col, &out, err, sizeof(err)) == OW_OK)
		OW_FUZZ_CHECK(out.nrows == (size_t)rows);
	ow_col_free(&out);
	if (rg < 0)
		return;
	ow_pq_stats_t st;
	ow_pq_stats(f, rg, col, &st);
	ow_pq_chunk_t ci;
	ow_pq_chunk(f, rg, col, &ci);
	ow_pq_bloom_check(f, rg, col, "checkout", 8);
	/* every other row wanted, codes asked for; the selection is the
	 * caller's, sized by the rows the file declares: not past 16M */
	if (rows < 0 || rows > 1 << 24)
		return;
	uint8_t *sel = ow_calloc((size_t)rows + 1, 1);
	for (int64_t i = 0; i < rows; i += 2)
		sel[i] = 1;
	ow_pq_codes_t codes = {0};
	ow_col_t part = {0};
	if (ow_pq_read_column_ex(f, rg, col, sel, &part, &codes, err, sizeof(err)) == OW_OK)
		OW_FUZZ_CHECK(part.nrows == (size_t)rows);
	ow_col_free(&part);
	ow_pq_codes_free(&codes);
	free(sel);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ow_pq_file_t *f;
	char err[256];
	if (ow_pq_open(data, size, &f, err, sizeof(err)) != OW_OK)
		return 0;
	int ncols = ow_pq_num_columns(f), nrg = ow_pq_num_row_groups(f);
	for (int c = 0; c < ncols; c++) {
		OW_FUZZ_CHECK(ow_pq_find_column(f, ow_pq_column(f, c)->name) >= 0);
		for (int rg = 0; rg < nrg; rg++)
			read_rg(f, rg, c, ow_pq_row_group_rows(f, rg));
		read_rg(f, -1, c, ow_pq_num_rows(f));
	}
	ow_pq_kv(f, "openwit.format");
	ow_pq_close(f);
	return 0;
}

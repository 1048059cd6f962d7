/*
 * parquet.h - our own Parquet writer and reader (no Parquet library for C
 * exists in Debian). The writer makes files DuckDB, hyparquet and other
 * readers read; the reader decodes everything the writer produces and
 * answers a truncated or corrupt file with an error, never a crash.
 *
 * Format choices are documented in writer.c; the file layout is the
 * standard one: "PAR1", column chunks (dictionary page, data pages,
 * bloom filter), FileMetaData in Thrift compact protocol, its length, "PAR1".
 */
#ifndef OW_PARQUET_H
#define OW_PARQUET_H

#include "../core/column.h"

typedef struct {
	const char *key, *value;
} ow_pq_kv_t;

typedef struct {
	int zstd_level;	       /* 1..22; 0 = no compression */
	size_t row_group_rows; /* rows per row group; 0 = all in one */
	const ow_pq_kv_t *kv;  /* key/value metadata */
	int nkv;
	size_t rows;	  /* with perm: write perm[0..rows), a subset; 0 = t->nrows */
	size_t page_rows; /* rows per data page at most; 0 = 32768; at most
			   * OW_PQ_PAGE_ROWS_MAX */
} ow_pq_opts_t;

/* What the reader believes of a page: at most OW_PQ_VALUES_PER_BYTE values
 * for each byte it takes in the file (its header and stored body), and a
 * column chunk as many rows for its bytes, so that what a file makes us
 * allocate (a byte or two a row for selections and definition levels, up
 * to 8 for values, 4 for dictionary codes) is bounded by its size: some 60
 * KB of memory a byte at worst, 16 MB for a crafted file of 300 bytes. The
 * writer cuts pages at OW_PQ_PAGE_ROWS_MAX rows, so its densest page (all
 * nulls: a run of definition levels, some 20 bytes with its header,
 * uncompressed) holds about 1600 values a byte. */
#define OW_PQ_PAGE_ROWS_MAX 32768
#define OW_PQ_VALUES_PER_BYTE 4096

/* Writes the rows of t, in the order of perm when it is not NULL (perm[i]
 * is the source row of output row i), as one Parquet file through the
 * I/O layer (modules/core/io.h) to fd. Does not fsync. OW_OK, or OW_ERROR
 * with errno set (write failure) and a message in err. */
int ow_pq_write(int fd, const ow_table_t *t, const uint32_t *perm, const ow_pq_opts_t *o, char *err,
		size_t errlen);

/* ---- reading ---- */

typedef struct ow_pq_file ow_pq_file_t;

/* Statistics of one column chunk, as written (min/max in plain encoding). */
typedef struct {
	int has_minmax;
	const uint8_t *min, *max;
	size_t min_len, max_len;
	int64_t null_count;
} ow_pq_stats_t;

/* Parses the footer of a whole file held in memory (the caller keeps data
 * alive while the file is open). OW_OK or OW_ERROR with a message. */
int ow_pq_open(const uint8_t *data, size_t len, ow_pq_file_t **out, char *err, size_t errlen);
void ow_pq_close(ow_pq_file_t *f);

int64_t ow_pq_num_rows(const ow_pq_file_t *f);
int ow_pq_num_row_groups(const ow_pq_file_t *f);
int64_t ow_pq_row_group_rows(const ow_pq_file_t *f, int rg);
int ow_pq_num_columns(const ow_pq_file_t *f);
/* The schema as read back: name, types, optional. enc is what the chunks
 * hold: DICT if any has a dictionary, else DELTA if any is delta-encoded,
 * else PLAIN; bloom if any has a filter (a file without row groups says
 * PLAIN and no filter). */
const ow_pq_coldef_t *ow_pq_column(const ow_pq_file_t *f, int col);
int ow_pq_find_column(const ow_pq_file_t *f, const char *name); /* -1 when absent */
const char *ow_pq_kv(const ow_pq_file_t *f, const char *key);	/* NULL when absent */
/* OW_OK, or OW_ERROR when rg or col is out of range or the chunk has no
 * statistics. null_count is -1 when the file does not give it. */
int ow_pq_stats(const ow_pq_file_t *f, int rg, int col, ow_pq_stats_t *st);
/* From now on column col's chunks have no statistics: for a reader that
 * changes the column's values as it reads them. Before the file is
 * shared between threads. */
void ow_pq_forget_stats(ow_pq_file_t *f, int col);

/* The statistics of one data page of a chunk: its rows [row0, row0 +
 * rows) of the row group (min and max point into the file). */
typedef struct {
	size_t row0;
	int64_t rows;
	ow_pq_stats_t st;
} ow_pq_pagestat_t;

/* The data pages of a chunk, in row order, with their statistics (the
 * writer gives integer and text columns' pages theirs), into *out
 * (allocated, the caller frees it) and *n. OW_OK, or OW_ERROR with
 * nothing in *out when rg or col is out of range, the chunk has no
 * statistics (ow_pq_forget_stats too), a data page has none, a header
 * does not read, or the pages' rows are not the row group's. */
int ow_pq_page_stats(const ow_pq_file_t *f, int rg, int col, ow_pq_pagestat_t **out, size_t *n);

/* Where and how one column chunk is stored: what tests check the writer's
 * choices, and the bytes a read of every page reports, with. */
typedef struct {
	int codec;	    /* Parquet CompressionCodec: 0 none, 6 ZSTD */
	uint32_t encodings; /* bit e set: Parquet Encoding e is used (0 PLAIN,
			     * 3 RLE, 5 DELTA_BINARY_PACKED, 8 RLE_DICTIONARY) */
	int64_t offset;	    /* its first page (the dictionary page, if any) */
	int64_t bytes;	    /* its pages, compressed, headers included */
	int has_dict, has_bloom;
} ow_pq_chunk_t;

/* OW_OK, or OW_ERROR when rg or col is out of range. */
int ow_pq_chunk(const ow_pq_file_t *f, int rg, int col, ow_pq_chunk_t *ci);

/* Decodes one column of one row group (rg = -1: every row group) and
 * appends its rows to out, in the layout ow_pq_write consumes (a defs byte
 * for every row, also of REQUIRED columns, as column.c appends). OW_OK, or
 * OW_ERROR with a message and out as it was. Several threads may read one
 * open file at once. */
int ow_pq_read_column(ow_pq_file_t *f, int rg, int col, ow_col_t *out, char *err, size_t errlen);

/* The dictionary of a chunk read by ow_pq_read_column_ex with codes asked for. */
typedef struct {
	ow_col_t dict;	/* its entries, as values (dict.nvals of them; defs not filled) */
	ow_buf_t codes; /* uint32_t per value the call added to out: the entry it has */
	int has_codes;	/* 0: out holds the values, as ow_pq_read_column gives them (a
			 * page read is not dictionary-encoded, or none gave a value) */
} ow_pq_codes_t;

/* ow_pq_read_column of one row group (rg >= 0; rg = -1 only with neither
 * option), with two options:
 * - sel (ow_pq_row_group_rows(f, rg) bytes, one a row of rg, or NULL): a
 *   data page none of whose rows has a non-zero sel byte is not
 *   decompressed or decoded; its rows are appended as NULL (defs 0, no
 *   value), also in REQUIRED columns. The pages that are read give all
 *   their rows, wanted or not, but a text value (BYTE_ARRAY, PLAIN or
 *   from the dictionary) of a row sel does not want is empty. A dictionary page is decoded only
 * when a dictionary-encoded data page is read. sel indexes the row group's rows (row 0 = the first
 * row of rg), whatever out held before.
 * - codes (or NULL): when every data page read that has values is
 *   dictionary-encoded, out gets defs, nrows and nvals but no values, and
 *   codes gets the dictionary and one code per value this call added to
 *   out, in row order, each checked to name an entry (has_codes 1).
 *   Otherwise out gets the values and codes is empty (has_codes 0); that
 *   is also the answer when no page read has a value (every page skipped,
 *   or every row read NULL). codes is reset (its buffers reused) by each
 *   call, and left empty on error; free it with ow_pq_codes_free.
 * OW_OK, or OW_ERROR with a message and out as it was. */
int ow_pq_read_column_ex(ow_pq_file_t *f, int rg, int col, const uint8_t *sel, ow_col_t *out,
			 ow_pq_codes_t *codes, char *err, size_t errlen);
void ow_pq_codes_free(ow_pq_codes_t *c);

/* A page filter, for a data page whose header has statistics. may()
 * answers 0 when they rule the filter out: the page is read as if sel did
 * not want it, and the sel bytes of its rows (sel: the row group's rows)
 * are cleared; 2 when every row of the page passes and its values are not
 * wanted: the page is not read either (its rows NULL) and sel is left as
 * it is (row0: the page's first row in the row group, so the caller knows
 * which rows passed); 1 otherwise: read as sel says. The writer gives text
 * and integer columns' pages statistics. got (or NULL) is called when a
 * page has added values to out, values from..out's count (while they are
 * still in the cache), not when it added codes. */
typedef struct {
	int (*may)(void *arg, const ow_pq_stats_t *st, int64_t rows, size_t row0);
	void *arg;
	uint8_t *sel;
	void (*got)(void *arg, const ow_col_t *out, size_t from);
} ow_pq_pagefilter_t;

/* A chunk's dictionary decoded by one read and lent to the next reads of
 * the same chunk (columnar.c: the page segments of a row group, each a
 * read of its pages), for reads of values (codes NULL; a read with codes
 * neither takes nor leaves one). With has, a read of chunk (rg, col)
 * takes entries as the chunk's dictionary: its dictionary page is neither
 * decoded nor counted in *stored, and entries is only read (several
 * threads may lend it at once). Without has, a read that decodes its
 * chunk's dictionary leaves it in entries (has set, rg and col its
 * chunk's). Free entries with ow_col_free. */
typedef struct {
	ow_col_t entries;
	int rg, col, has;
} ow_pq_chunkdict_t;

/* ow_pq_read_column_ex with a page filter (pf may be NULL; sel may be
 * pf->sel), adding to *stored (when not NULL) the bytes of the pages it
 * decoded as the file stores them, headers included (a dictionary page
 * with the first page that needs it; a chunk read whole: ow_pq_chunk's
 * bytes), and a dictionary to lend or keep (cd, or NULL). */
int ow_pq_read_column_pf(ow_pq_file_t *f, int rg, int col, const uint8_t *sel,
			 const ow_pq_pagefilter_t *pf, ow_col_t *out, ow_pq_codes_t *codes,
			 ow_pq_chunkdict_t *cd, int64_t *stored, char *err, size_t errlen);

/* Bloom filter: 1 if the value may be in the chunk (or it has no filter,
 * or one that does not read), 0 if it is certainly not. value is in plain
 * encoding (FIXED: the bytes; a length that does not fit the type: 0). */
int ow_pq_bloom_check(ow_pq_file_t *f, int rg, int col, const void *value, size_t len);

/* Reads a whole file into out, replacing its contents (helper for callers
 * that hold paths). OW_OK, or OW_ERROR with errno set. */
int ow_pq_read_file(const char *path, ow_buf_t *out);

#endif

/*
 * janitor.c - merges fresh ("active") parts into large "stable" ones.
 *
 * Flushes make many small parts; reading them all costs footers, seeks
 * and poor compression. Every few seconds the janitor looks for a
 * (tenant, signal, day) with two or more active parts whose bytes reach
 * storage.file_rotation.file_size_mb or whose oldest part is
 * storage.file_rotation.file_duration_minutes old, and merges them, on a
 * worker, one group at a time:
 *
 *   read the parts (our reader) while their decoded rows stay under
 *   storage.file_rotation.merge_memory_mb (the rest wait for the next
 *   merge), append the rows, sort them again, write one stable part (storage.parquet.row_group_size
 * rows a row group) under a temporary name, fdatasync, rename, directory fsync; then ONE
 *   transaction swaps the stable part for the active ones in the catalog
 *   (ow_catalog_swap); only then are the active files unlinked.
 *
 * A part written before plain JSON (format 1, modules/columns/convert.c)
 * is rewritten in format 2 as it is read: a merged part never mixes them.
 *
 * Readers go by the catalog, so they see the active parts or the stable
 * one, never both and never neither. A crash before the commit leaves a
 * stable file the catalog does not list; after it, active files the
 * catalog does not list: either way recovery (storage.c) removes the
 * orphans and no row is lost or doubled.
 *
 * Removing a batch's WAL file once it is stored (janitor_pip) is the other
 * half of the janitor's work; the flush does it right after its commit,
 * in storage.c, so that the WAL shrinks with every flush.
 */
#include "janitor.h"
#include "../catalog/catalog.h"
#include "../columns/columns.h"
#include "../core/io.h"
#include "../core/log.h"
#include "../core/stats.h"
#include "../core/worker.h"
#include "../parquet/parquet.h"
#include "../storage/storage.h"

#include <unistd.h>

static int64_t file_size_mb, file_duration_minutes, check_ms, merge_memory_mb;

static ow_directive_t directives[] = {
    {"storage.file_rotation.file_size_mb", OW_CONF_INT, &file_size_mb, 1, 1 << 20, "200", NULL, 0},
    {"storage.file_rotation.file_duration_minutes", OW_CONF_INT, &file_duration_minutes, 0, 525600,
     "60", NULL, 0},
    {"storage.file_rotation.check_interval_ms", OW_CONF_INT, &check_ms, 10, 3600000, "5000", NULL,
     0},
    {"storage.file_rotation.merge_memory_mb", OW_CONF_INT, &merge_memory_mb, 1, 1 << 20, "192",
     NULL, 0},
    OW_CONF_END};

#define MERGE_MAX_PARTS 256

typedef struct {
	ow_job_t job;
	int merged; /* parts merged; 0 when there was nothing to do */
	uint64_t rows;
	char tenant[OW_TENANT_MAX + 1];
	int signal;
	char ids[MERGE_MAX_PARTS][33];
	ow_part_t stable;
	char err[600];
} merge_t;

static struct event *tick_ev;
static uint64_t parts_merged; /* for /metrics */
static int running, draining;

/* A BYTE_ARRAY column of a part, row group by row group: a chunk read
 * as dictionary codes keeps each entry once, its values refer to it
 * (column.h), so a merge's budget holds rows, not copies of the same
 * resource attributes. */
static int read_shared(ow_pq_file_t *f, int fc, ow_col_t *out, char *err, size_t errlen)
{
	ow_pq_codes_t codes = {0};
	ow_col_t rg = {0};
	int rc = OW_OK;
	for (int g = 0; rc == OW_OK && g < ow_pq_num_row_groups(f); g++) {
		ow_col_clear(&rg);
		rc = ow_pq_read_column_ex(f, g, fc, NULL, &rg, &codes, err, errlen);
		if (rc != OW_OK)
			break;
		if (codes.has_codes) {
			/* rg holds the rows' definitions; values: the codes */
			ow_col_t shared = {.data = codes.dict.data,
					   .offs = codes.dict.offs,
					   .defs = rg.defs,
					   .refs = codes.codes,
					   .nrows = rg.nrows,
					   .nvals = rg.nvals};
			ow_col_append(out, &shared);
		} else {
			ow_col_append(out, &rg);
		}
	}
	ow_col_free(&rg);
	ow_pq_codes_free(&codes);
	return rc;
}

/* Appends every row of one part to t, and its batch ids to ids. */
static int read_part(const char *rel, int signal, ow_table_t *t, ow_buf_t *ids, char *err,
		     size_t errlen)
{
	char path[4096 + 1100];
	snprintf(path, sizeof(path), "%s/%s", ow_data_dir, rel);
	ow_buf_t img = {0};
	if (ow_pq_read_file(path, &img) != OW_OK) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return OW_ERROR;
	}
	ow_pq_file_t *f = NULL;
	int rc = ow_pq_open(img.data, img.len, &f, err, errlen);
	ow_table_t part;
	ow_columns_table_init(signal, &part);
	/* a part of format 1 (before plain JSON) has no otlp_exact column */
	int xc = part.ncols - 1, v1 = rc == OW_OK && ow_pq_num_columns(f) == xc &&
				      ow_pq_find_column(f, part.defs[xc].name) < 0;
	if (rc == OW_OK && ow_pq_num_columns(f) != part.ncols && !v1) {
		snprintf(err, errlen, "%s has %d columns, not %d", path, ow_pq_num_columns(f),
			 part.ncols);
		rc = OW_ERROR;
	}
	for (int c = 0; rc == OW_OK && c < part.ncols - v1; c++) {
		int fc = ow_pq_find_column(f, part.defs[c].name);
		if (fc < 0)
			rc = OW_ERROR;
		else if (part.defs[c].type == OW_PQ_BYTE_ARRAY)
			rc = read_shared(f, fc, &part.cols[c], err, errlen);
		else
			rc = ow_pq_read_column(f, -1, fc, &part.cols[c], err, errlen);
	}
	if (rc == OW_OK) {
		part.nrows = part.cols[0].nrows;
		if (v1) {
			for (size_t r = 0; r < part.nrows; r++)
				ow_col_null(&part.cols[xc]);
			ow_columns_v1_upgrade(signal, &part);
		}
		ow_table_append(t, &part);
		const char *b = ow_pq_kv(f, "openwit.batch_ids");
		if (b && *b)
			ow_buf_printf(ids, "%s%s", ids->len ? "," : "", b);
	}
	ow_table_free(&part);
	if (f)
		ow_pq_close(f);
	ow_buf_free(&img);
	return rc;
}

static void merge_work(ow_job_t *j)
{
	merge_t *m = (merge_t *)j;
	static char paths[MERGE_MAX_PARTS][1024];
	char *tenant = m->tenant;
	char(*ids)[33] = m->ids;
	int n, signal;
	int rc = ow_catalog_merge_group(ow_catalog_server(), file_size_mb << 20,
					file_duration_minutes, MERGE_MAX_PARTS, tenant, &signal,
					ids, paths, &n, m->err, sizeof(m->err));
	m->signal = signal;
	if (rc != OW_OK)
		return;
	ow_table_t t;
	ow_columns_table_init(signal, &t);
	ow_buf_t bids = {0};
	/* a merge holds its rows decoded: past merge_memory_mb it takes the
	 * parts read so far, and the rest go in the next merge - unless that
	 * would leave one part alone, which no merge would ever pick */
	for (int i = 0; i < n && rc == OW_OK; i++) {
		rc = read_part(paths[i], signal, &t, &bids, m->err, sizeof(m->err));
		if (rc == OW_OK && i + 2 < n && ow_table_bytes(&t) >= (size_t)merge_memory_mb << 20)
			n = i + 1;
	}
	ow_buf_add(&bids, "", 1);
	ow_part_t p;
	if (rc == OW_OK && t.nrows == 0)
		rc = OW_DECLINED; /* parts without rows: nothing to merge */
	if (rc == OW_OK) {
		uint32_t *perm = ow_alloc(t.nrows * sizeof(uint32_t));
		ow_columns_sort(signal, &t, perm);
		int64_t day = ow_storage_day(ow_columns_row_time(signal, &t, perm[0]));
		rc = ow_storage_write_part(tenant, signal, &t, perm, t.nrows, day, "stable",
					   (const char *)bids.data, &p);
		if (rc != OW_OK)
			snprintf(m->err, sizeof(m->err), "%s", p.err);
		free(perm);
		if (rc == OW_OK && ow_catalog_swap(ow_catalog_server(), tenant, signal, &p, ids, n,
						   m->err, sizeof(m->err)) != OW_OK) {
			char path[4096 + 1100];
			snprintf(path, sizeof(path), "%s/%s", ow_data_dir, p.rel);
			unlink(path);
			rc = OW_ERROR;
		}
	}
	if (rc == OW_OK) {
		/* committed: the loop swaps the parts for readers and unlinks the
		 * active files once no query holds them */
		m->stable = p;
		m->merged = n;
		m->rows = t.nrows;
	}
	ow_table_free(&t);
	ow_buf_free(&bids);
}

static void merge_done(ow_job_t *j)
{
	merge_t *m = (merge_t *)j;
	running = 0;
	if (m->err[0])
		ow_log(OW_LOG_ERROR, "janitor: merge failed: %s", m->err);
	else if (m->merged) {
		ow_storage_swap_parts(m->tenant, m->signal, m->ids, m->merged, &m->stable);
		parts_merged += (uint64_t)m->merged;
		ow_log(OW_LOG_DEBUG, "janitor: merged %d parts (%llu rows) into a stable part",
		       m->merged, (unsigned long long)m->rows);
	}
	free(m);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	OW_UNUSED(fd);
	OW_UNUSED(what);
	OW_UNUSED(arg);
	if (running || draining)
		return;
	merge_t *m = ow_calloc(1, sizeof(*m));
	m->job.work = merge_work;
	m->job.done = merge_done;
	if (ow_work_submit(&m->job) != OW_OK) {
		free(m);
		return;
	}
	running = 1;
}

static int janitor_init(struct event_base *base)
{
	tick_ev = event_new(base, -1, EV_PERSIST, on_tick, NULL);
	struct timeval tv = {(time_t)(check_ms / 1000), (suseconds_t)(check_ms % 1000 * 1000)};
	event_add(tick_ev, &tv);
	return OW_OK;
}

static void janitor_drain(void)
{
	draining = 1;
}

static int janitor_busy(void)
{
	return running;
}

static void janitor_stop(void)
{
	if (tick_ev)
		event_free(tick_ev);
	tick_ev = NULL;
}

static void janitor_stats(ow_buf_t *b)
{
	ow_metric_one(b, "openwit_parts_merged_total", "counter",
		      "Active parts merged into stable parts.", parts_merged);
}

ow_module_t ow_janitor_module = {
    .name = "janitor",
    .directives = directives,
    .init = janitor_init,
    .drain = janitor_drain,
    .busy = janitor_busy,
    .stop = janitor_stop,
    .stats = janitor_stats,
};

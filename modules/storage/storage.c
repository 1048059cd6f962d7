/*
 * storage.c - buffers, flushes into immutable Parquet parts, the readers'
 * list of committed parts, and the release of WAL files whose rows are
 * stored (the WAL module reads and removes them; storage knows a file by
 * its ow_walref_t).
 *
 * Loop thread: buffers per (tenant, signal) take the tables of published
 * batches. A buffer is frozen when it passes storage.buffer.flush_bytes or
 * storage.buffer.flush_interval_ms (or when the server drains), and the
 * largest one when all buffers together pass the high-water mark
 * (storage.buffer.flush_at_percent of memory.max_buffer_bytes), so that
 * memory is freed before the budget is reached and requests get 503. A
 * frozen buffer is queued for a flush; up to storage.buffer.max_flushes
 * flushes run at once on the ingest workers, one a (tenant, signal) at a
 * time, so one tenant's or signal's flush never waits behind another's
 * (nor behind a query: those have workers of their own).
 *
 * A flush (worker): sort the rows (ow_columns_sort), split them by UTC day
 * of their time, and for each day write a part:
 *   data/parquet/{tenant}/{signal}/{yyyy}/{mm}/{dd}/{node}/
 *       {tenant}_{yyyymmddThhmmss}_{part id}_active.parquet
 * under a temporary name, fdatasync, rename, fsync the directory (and any
 * directory it had to create, up the chain). Then ONE SQLite transaction
 * with synchronous=FULL (ow_catalog_commit_stored) commits the parts, the
 * batch -> part mapping and STORED (storage_pip) for every batch of the
 * buffer: a batch is never half stored. Only after that commit are the batches' WAL files removed
 * (wal_removed_at). A flush that fails removes what it wrote and is retried
 * with a growing delay; the rows stay in memory (and in the WAL) meanwhile.
 *
 * Recovery: a part file that the catalog does not list was written by a
 * flush that never committed: it is removed, and its batches, whose WAL
 * files are still there, are replayed from the WAL into the buffers.
 */
#include "storage.h"
#include "../catalog/catalog.h"
#include "../columns/columns.h"
#include "../core/io.h"
#include "../core/log.h"
#include "../core/map.h"
#include "../core/queue.h"
#include "../core/stats.h"
#include "../parquet/parquet.h"
#include "../tracker/tracker.h"
#include "../wal/wal.h"

#include <stdatomic.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int64_t flush_bytes, flush_interval_ms, flush_at_percent, max_flushes, max_buffer_bytes,
    zstd_level, zstd_stable, row_group_rows, page_rows, shred_keys, shred_min_rows;
static char *node_id;

static ow_directive_t directives[] = {
    {"storage.node_id", OW_CONF_STR, &node_id, 0, 64, "node-1", NULL, 0},
    {"storage.buffer.flush_bytes", OW_CONF_INT, &flush_bytes, 4096, (int64_t)1 << 31, "33554432",
     NULL, 0},
    {"storage.buffer.flush_interval_ms", OW_CONF_INT, &flush_interval_ms, 10, 86400000, "10000",
     NULL, 0},
    {"storage.buffer.flush_at_percent", OW_CONF_INT, &flush_at_percent, 1, 100, "50", NULL, 0},
    {"storage.buffer.max_flushes", OW_CONF_INT, &max_flushes, 0, 64, "0", NULL, 0},
    {"memory.max_buffer_bytes", OW_CONF_INT, &max_buffer_bytes, 1 << 20, (int64_t)1 << 40,
     "201326592", NULL, 0},
    {"storage.parquet.compression_level", OW_CONF_INT, &zstd_level, 0, 22, "3", NULL, 0},
    {"storage.parquet.stable_compression_level", OW_CONF_INT, &zstd_stable, 0, 22, "9", NULL, 0},
    {"storage.parquet.row_group_size", OW_CONF_INT, &row_group_rows, 1000, 100000000, "131072",
     NULL, 0},
    {"storage.parquet.page_rows", OW_CONF_INT, &page_rows, 0, OW_PQ_PAGE_ROWS_MAX, "0", NULL, 0},
    {"storage.parquet.shred_keys", OW_CONF_INT, &shred_keys, 0, OW_SHRED_MAX, "16", NULL, 0},
    {"storage.parquet.shred_min_rows", OW_CONF_INT, &shred_min_rows, 0, 1000000000, "10000", NULL,
     0},
    OW_CONF_END};

/* A batch whose rows a buffer holds. */
typedef struct {
	char id[OW_BATCH_ID_LEN + 1];
	ow_walref_t wal; /* released once the batch is stored */
	char tenant[OW_TENANT_MAX + 1];
	int signal, source;
	uint32_t nmsgs;
	uint64_t records, file_bytes;
	int64_t created_ns, wal_done_ns;
	uint32_t holds; /* Kafka messages whose offsets are not committed yet */
} sbatch_t;

typedef struct buffer {
	char tenant[OW_TENANT_MAX + 1];
	int signal;
	/* one immutable chunk per published request: a query's snapshot holds
	 * references to them while the loop goes on adding chunks */
	ow_chunk_t **chunks;
	size_t nchunks, capchunks, rows;
	ow_table_t table; /* the flush's concatenation, on the worker */
	sbatch_t *batches;
	size_t nbatches, cap;
	int64_t opened_mono, frozen_mono;
	size_t bytes;
	size_t holds; /* batches with holds: the buffer may not flush */
	struct buffer *next;
} buffer_t;

typedef struct flush {
	ow_job_t job; /* first: the job is the flush */
	buffer_t *buf;
	int rc, nospace, attempt;
	char err[512];
	ow_part_t *parts;
	int nparts;
	int64_t wal_removed;
	struct event *retry; /* its next attempt after a failure (it keeps its place) */
	struct flush *next;
} flush_t;

static buffer_t *buffers;     /* open for new rows */
static ow_map_t buffer_index; /* "{signal}/{tenant}" -> the open buffer */
/* due for a flush but holding Kafka batches whose offsets are not yet
 * committed: closed to new rows, frozen when the last hold goes */
static buffer_t *sealed;
static buffer_t *frozen, **frozen_tail = &frozen; /* waiting for a flush */
static flush_t *flushing;			  /* on workers, or waiting to try again */
static int nflushing;
static struct event_base *loop_base;
static struct event *tick_ev;
static int draining;
/* buffer: the published rows (a chunk an item) held in memory until their
 * part commits, open, frozen or flushing; memory.max_buffer_bytes is its
 * capacity. flush: frozen buffers waiting for the flush job. merge: the
 * committed active parts the janitor has yet to merge (a lone part of a
 * day stays there until another joins it). */
static ow_queue_t buffer_q, flush_q, merge_q;
static ow_partref_t *catalog; /* committed parts, as readers see them */
/* Parts a merge replaced or retention dropped before their flush published
 * them (the janitor can pick a part from SQLite while the flush is still
 * removing WAL files); dropped: its rows leave, not into a merged part. */
static struct {
	char id[33];
	int dropped;
} * replaced;
static size_t nreplaced;

/* its lines of /metrics (storage_stats); rows_buffered: the rows the
 * buffer queue's bytes hold (loop thread) */
static struct {
	uint64_t parts_written, rows_stored, rows_buffered;
} stats;
static char parquet_dir[4096];
static atomic_int disk_critical; /* below the critical watermark (janitor.c) */

uint64_t ow_storage_buffered_bytes(void)
{
	return atomic_load(&buffer_q.bytes);
}

int ow_storage_full(void)
{
	return ow_queue_full(&buffer_q);
}

static void index_key(char key[OW_TENANT_MAX + 8], const char *tenant, int signal)
{
	snprintf(key, OW_TENANT_MAX + 8, "%d/%s", signal, tenant);
}

static buffer_t *buffer_for(const char *tenant, int signal)
{
	char key[OW_TENANT_MAX + 8];
	index_key(key, tenant, signal);
	buffer_t *b = ow_map_get(&buffer_index, key);
	if (b)
		return b;
	b = ow_calloc(1, sizeof(*b));
	snprintf(b->tenant, sizeof(b->tenant), "%s", tenant);
	b->signal = signal;
	b->opened_mono = ow_mono_ns();
	b->next = buffers;
	buffers = b;
	ow_map_put(&buffer_index, key, b);
	return b;
}

static void chunk_unref(ow_chunk_t *c)
{
	if (atomic_fetch_sub(&c->refs, 1) == 1) {
		ow_table_free(&c->table);
		free(c);
	}
}

static void buffer_free(buffer_t *b)
{
	if (b->table.cols)
		ow_table_free(&b->table);
	for (size_t i = 0; i < b->nchunks; i++)
		chunk_unref(b->chunks[i]);
	free(b->chunks);
	free(b->batches);
	free(b);
}

static void (*change_hook)(const char *tenant, int64_t min_ns);
static int change_signal;

void ow_storage_change_hook(int signal, void (*fn)(const char *tenant, int64_t min_ns))
{
	change_signal = signal;
	change_hook = fn;
}

/* The change hook's call for t's rows of (tenant, signal). */
static void changed(const char *tenant, int signal, const ow_table_t *t)
{
	if (change_hook == NULL || signal != change_signal || t->nrows == 0)
		return;
	int64_t m = INT64_MAX;
	for (size_t i = 0; i < t->nrows; i++)
		m = OW_MIN(m, ow_columns_row_time(signal, t, i));
	change_hook(tenant, m);
}

static sbatch_t *add_batch(buffer_t *buf, const char *id, const ow_walref_t *wal)
{
	if (buf->nbatches == buf->cap) {
		buf->cap = buf->cap ? buf->cap * 2 : 16;
		buf->batches = ow_realloc(buf->batches, buf->cap * sizeof(sbatch_t));
	}
	sbatch_t *s = &buf->batches[buf->nbatches++];
	memset(s, 0, sizeof(*s));
	snprintf(s->id, sizeof(s->id), "%s", id);
	s->wal = *wal;
	return s;
}

/* Takes the table (its buffers, not the struct) as a new chunk. */
static void add_chunk(buffer_t *buf, ow_table_t *t, const char *batch_id, uint32_t seq)
{
	if (t->nrows == 0) {
		ow_table_free(t);
		return;
	}
	if (buf->nchunks == buf->capchunks) {
		buf->capchunks = buf->capchunks ? buf->capchunks * 2 : 64;
		buf->chunks = ow_realloc(buf->chunks, buf->capchunks * sizeof(*buf->chunks));
	}
	ow_chunk_t *c = ow_alloc(sizeof(*c));
	atomic_init(&c->refs, 1);
	c->table = *t;
	snprintf(c->batch_id, sizeof(c->batch_id), "%s", batch_id);
	c->seq = seq;
	memset(t, 0, sizeof(*t));
	buf->chunks[buf->nchunks++] = c;
	buf->rows += c->table.nrows;
	size_t bytes = ow_table_bytes(&c->table);
	buf->bytes += bytes;
	stats.rows_buffered += c->table.nrows;
	ow_queue_put(&buffer_q, 1, bytes);
}

/* The WAL's sink (ow_wal_set_sink), loop thread: the batch is durable; its
 * messages' tables move into the buffer (each message's table is taken,
 * the message keeps none). */
static void publish(ow_batch_t *b)
{
	buffer_t *buf = buffer_for(b->tenant, b->signal);
	ow_walref_t wal;
	ow_wal_ref(b, &wal);
	sbatch_t *s = add_batch(buf, b->id, &wal);
	snprintf(s->tenant, sizeof(s->tenant), "%s", b->tenant);
	s->signal = b->signal;
	s->source = b->source;
	s->nmsgs = b->nmsgs;
	s->records = b->records;
	s->file_bytes = b->file_bytes;
	s->created_ns = b->created_ns;
	s->wal_done_ns = b->wal_done_ns;
	if (b->source == OW_SRC_KAFKA && b->nmsgs) {
		s->holds = b->nmsgs;
		buf->holds++;
	}
	uint32_t seq = 0;
	for (ow_msg_t *m = b->msgs; m; m = m->next, seq++) {
		if (m->table == NULL)
			continue;
		changed(b->tenant, b->signal, m->table);
		add_chunk(buf, m->table, b->id, seq);
		free(m->table);
		m->table = NULL;
	}
}

/* publish as the unit tests reach it: they have no WAL to hand batches
 * over (t/unit/snapshot.c). */
void ow_storage_publish(ow_batch_t *b)
{
	publish(b);
}

static void start_flush(void);

/* Due for a flush: to the back of the flush queue. */
static void freeze(buffer_t *buf)
{
	buf->next = NULL;
	buf->frozen_mono = ow_mono_ns();
	*frozen_tail = buf;
	frozen_tail = &buf->next;
	ow_queue_put(&flush_q, 1, buf->bytes);
}

void ow_storage_release(const char *batch_id, uint32_t n)
{
	buffer_t *lists[] = {buffers, sealed};
	for (int l = 0; l < 2; l++)
		for (buffer_t *buf = lists[l]; buf; buf = buf->next)
			for (size_t i = buf->nbatches; i-- > 0;) {
				sbatch_t *s = &buf->batches[i];
				if (s->holds == 0 || strcmp(s->id, batch_id) != 0)
					continue;
				s->holds -= OW_MIN(n, s->holds);
				if (s->holds == 0)
					buf->holds--;
				if (l == 1 && buf->holds == 0) {
					/* its last hold: off to the flush */
					for (buffer_t **pp = &sealed; *pp; pp = &(*pp)->next)
						if (*pp == buf) {
							*pp = buf->next;
							break;
						}
					freeze(buf);
					start_flush();
				}
				return;
			}
}

void ow_storage_discard(const char *batch_id, uint32_t seq)
{
	buffer_t *lists[] = {buffers, sealed};
	for (int l = 0; l < 2; l++)
		for (buffer_t *buf = lists[l]; buf; buf = buf->next)
			for (size_t i = buf->nchunks; i-- > 0;) {
				ow_chunk_t *c = buf->chunks[i];
				if (c->seq != seq || strcmp(c->batch_id, batch_id) != 0)
					continue;
				size_t bytes = ow_table_bytes(&c->table);
				buf->rows -= c->table.nrows;
				buf->bytes -= OW_MIN(bytes, buf->bytes);
				ow_queue_take(&buffer_q, 1, bytes, 0);
				stats.rows_buffered -= c->table.nrows;
				changed(buf->tenant, buf->signal, &c->table);
				for (size_t k = 0; k < buf->nbatches; k++)
					if (strcmp(buf->batches[k].id, batch_id) == 0)
						buf->batches[k].records -=
						    OW_MIN(c->table.nrows, buf->batches[k].records);
				memmove(&buf->chunks[i], &buf->chunks[i + 1],
					(buf->nchunks - i - 1) * sizeof(*buf->chunks));
				buf->nchunks--;
				chunk_unref(c);
				return;
			}
}

/* ---- the readers' catalog and snapshots ---- */

static void (*part_hook)(ow_partref_t *p);
static void (*gone_hook)(ow_partref_t *p);

static _Atomic uint64_t unlink_pending; /* ow_storage_unlink_pending */

uint64_t ow_storage_unlink_pending(void)
{
	return atomic_load(&unlink_pending);
}

static void part_unref(ow_partref_t *p)
{
	if (atomic_fetch_sub(&p->refs, 1) != 1)
		return;
	void *cache = atomic_load(&p->cache);
	if (cache)
		p->cache_free(cache);
	if (p->index_free)
		p->index_free(p);
	if (gone_hook)
		gone_hook(p);
	if (p->removed) {
		char path[4096 + 1100];
		snprintf(path, sizeof(path), "%s/%s", ow_data_dir, p->rel);
		ow_io_unlink_later(OW_IO_PARQUET, path, &unlink_pending, p->bytes);
	}
	free(p);
}

/* A part the janitor has yet to merge: its name says so (write_part). */
static int waits_for_merge(const char *rel)
{
	static const char active[] = "_active.parquet";
	size_t n = strlen(rel), k = sizeof(active) - 1;
	return n > k && strcmp(rel + n - k, active) == 0;
}

static void catalog_add(const char *tenant, int signal, const ow_part_t *p)
{
	for (size_t i = 0; i < nreplaced; i++)
		if (strcmp(replaced[i].id, p->id) == 0) {
			/* already merged away or dropped: never shown, and its file
			 * goes; a dropped part's rows leave the buffer now */
			char path[4096 + 1100];
			snprintf(path, sizeof(path), "%s/%s", ow_data_dir, p->rel);
			ow_io_unlink(OW_IO_PARQUET, path);
			if (replaced[i].dropped && change_hook && signal == change_signal)
				change_hook(tenant, p->min_time);
			replaced[i] = replaced[--nreplaced];
			return;
		}
	ow_partref_t *r = ow_calloc(1, sizeof(*r));
	atomic_init(&r->refs, 1);
	snprintf(r->id, sizeof(r->id), "%s", p->id);
	snprintf(r->rel, sizeof(r->rel), "%s", p->rel);
	snprintf(r->tenant, sizeof(r->tenant), "%s", tenant);
	r->signal = signal;
	r->min_time = p->min_time;
	r->max_time = p->max_time;
	r->rows = p->rows;
	r->bytes = p->bytes;
	if (waits_for_merge(r->rel)) {
		r->merge_mono = ow_mono_ns();
		ow_queue_put(&merge_q, 1, r->bytes);
	}
	r->next = catalog;
	catalog = r;
	if (part_hook)
		part_hook(r);
}

void ow_storage_part_hook(void (*fn)(ow_partref_t *p))
{
	part_hook = fn;
	for (ow_partref_t *p = catalog; p && fn; p = p->next)
		fn(p);
}

void ow_storage_part_gone_hook(void (*fn)(ow_partref_t *p))
{
	gone_hook = fn;
}

void ow_storage_part_ref(ow_partref_t *p)
{
	atomic_fetch_add(&p->refs, 1);
}

void ow_storage_part_unref(ow_partref_t *p)
{
	part_unref(p);
}

ow_partref_t **ow_storage_parts(size_t *n)
{
	size_t k = 0;
	for (ow_partref_t *p = catalog; p; p = p->next)
		k++;
	ow_partref_t **out = ow_alloc((k + 1) * sizeof(*out));
	*n = 0;
	for (ow_partref_t *p = catalog; p; p = p->next) {
		atomic_fetch_add(&p->refs, 1);
		out[(*n)++] = p;
	}
	return out;
}

static void snap_chunks(ow_snapshot_t *s, const buffer_t *b, size_t *cap)
{
	for (size_t i = 0; i < b->nchunks; i++) {
		if (s->nchunks == *cap) {
			*cap = *cap ? *cap * 2 : 64;
			s->chunks = ow_realloc(s->chunks, *cap * sizeof(*s->chunks));
		}
		atomic_fetch_add(&b->chunks[i]->refs, 1);
		s->chunks[s->nchunks++] = b->chunks[i];
	}
}

ow_snapshot_t *ow_storage_snapshot(const char *tenant, int signal)
{
	ow_snapshot_t *s = ow_calloc(1, sizeof(*s));
	size_t cap = 0;
	const buffer_t *lists[] = {buffers, sealed, frozen};
	for (size_t l = 0; l < OW_NELEMS(lists); l++)
		for (const buffer_t *b = lists[l]; b; b = b->next)
			if (b->signal == signal && strcmp(b->tenant, tenant) == 0)
				snap_chunks(s, b, &cap);
	for (const flush_t *f = flushing; f; f = f->next)
		if (f->buf->signal == signal && strcmp(f->buf->tenant, tenant) == 0)
			snap_chunks(s, f->buf, &cap);
	size_t pcap = 0;
	for (ow_partref_t *p = catalog; p; p = p->next) {
		if (p->signal != signal || strcmp(p->tenant, tenant) != 0)
			continue;
		if (s->nparts == pcap) {
			pcap = pcap ? pcap * 2 : 64;
			s->parts = ow_realloc(s->parts, pcap * sizeof(*s->parts));
		}
		atomic_fetch_add(&p->refs, 1);
		s->parts[s->nparts++] = p;
	}
	return s;
}

void ow_storage_tenants(void (*fn)(void *arg, const char *tenant), void *arg)
{
	const buffer_t *lists[] = {buffers, sealed, frozen};
	for (size_t l = 0; l < OW_NELEMS(lists); l++)
		for (const buffer_t *b = lists[l]; b; b = b->next)
			fn(arg, b->tenant);
	for (const flush_t *f = flushing; f; f = f->next)
		fn(arg, f->buf->tenant);
	for (const ow_partref_t *p = catalog; p; p = p->next)
		fn(arg, p->tenant);
}

void ow_storage_snapshot_free(ow_snapshot_t *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nchunks; i++)
		chunk_unref(s->chunks[i]);
	for (size_t i = 0; i < s->nparts; i++)
		part_unref(s->parts[i]);
	free(s->chunks);
	free(s->parts);
	free(s);
}

/* The committed parts ids leave the readers' list; each file goes with
 * its last reference (a query holding the part keeps it until it ends). */
static void remove_parts(char ids[][33], int n, int dropped)
{
	for (int i = 0; i < n; i++) {
		ow_partref_t **pp = &catalog;
		while (*pp && strcmp((*pp)->id, ids[i]) != 0)
			pp = &(*pp)->next;
		if (*pp == NULL) {
			/* its flush has not published it yet: remember */
			replaced = ow_realloc(replaced, (nreplaced + 1) * sizeof(*replaced));
			memcpy(replaced[nreplaced].id, ids[i], 33);
			replaced[nreplaced++].dropped = dropped;
			continue;
		}
		ow_partref_t *p = *pp;
		*pp = p->next;
		if (p->merge_mono)
			ow_queue_take(&merge_q, 1, p->bytes, p->merge_mono);
		p->removed = 1;
		atomic_fetch_add(&unlink_pending, p->bytes);
		part_unref(p);
	}
}

void ow_storage_swap_parts(const char *tenant, int signal, char ids[][33], int n,
			   const ow_part_t *stable)
{
	catalog_add(tenant, signal, stable);
	remove_parts(ids, n, 0);
}

void ow_storage_drop_parts(char ids[][33], int n)
{
	for (int i = 0; i < n && change_hook; i++) {
		ow_partref_t *p = catalog;
		while (p && strcmp(p->id, ids[i]) != 0)
			p = p->next;
		/* one not published yet: its rows leave at its flush's end
		 * (catalog_add), until then the buffer shows them */
		if (p && p->signal == change_signal)
			change_hook(p->tenant, p->min_time);
	}
	remove_parts(ids, n, 1);
}

void ow_storage_set_disk_critical(int on)
{
	atomic_store(&disk_critical, on);
}

int ow_storage_disk_critical(void)
{
	return atomic_load(&disk_critical);
}

/* The committed parts, read once at start (after orphans are removed). */
static int load_part(void *arg, const char *tenant, int signal, const ow_part_t *p)
{
	OW_UNUSED(arg);
	catalog_add(tenant, signal < 0 ? 0 : signal, p);
	return OW_OK;
}

/* ---- the flush, on a worker ---- */

int64_t ow_storage_day(int64_t ns)
{
	int64_t d = ns / 86400000000000LL;
	return ns < 0 && ns % 86400000000000LL ? d - 1 : d;
}

static void day_text(int64_t day, char *out, size_t len, int parts_fmt)
{
	time_t t = (time_t)(day * 86400);
	struct tm tm;
	gmtime_r(&t, &tm);
	if (parts_fmt)
		snprintf(out, len, "%04d/%02d/%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	else
		snprintf(out, len, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/* mkdir -p that fsyncs the parent of every directory it creates, so the
 * new part's path is durable once the part's own directory is synced. */
static int make_dirs(const char *path)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s", path);
	size_t base = strlen(ow_data_dir);
	for (char *p = tmp + base + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) == 0) {
			char *slash = strrchr(tmp, '/');
			*slash = '\0';
			int rc = ow_io_fsync_dir(OW_IO_PARQUET, tmp);
			*slash = '/';
			if (rc != OW_OK)
				return OW_ERROR;
		} else if (errno != EEXIST) {
			return OW_ERROR;
		}
		*p = '/';
	}
	if (mkdir(tmp, 0755) == 0) {
		char *slash = strrchr(tmp, '/');
		*slash = '\0';
		if (ow_io_fsync_dir(OW_IO_PARQUET, tmp) != OW_OK)
			return OW_ERROR;
	} else if (errno != EEXIST) {
		return OW_ERROR;
	}
	return OW_OK;
}

static int fail(ow_part_t *p, const char *what, const char *path)
{
	p->nospace = errno == ENOSPC;
	snprintf(p->err, sizeof(p->err), "%s %s: %s", what, path, strerror(errno));
	return OW_ERROR;
}

size_t ow_storage_row_group_rows(void)
{
	return (size_t)row_group_rows;
}

int ow_storage_shred_keys(size_t rows)
{
	return (int64_t)rows >= shred_min_rows ? (int)shred_keys : 0;
}

int ow_storage_write_part(const char *tenant, int signal, const ow_table_t *t, const uint32_t *perm,
			  size_t n, int64_t day, const char *kind, const char *batch_ids,
			  ow_part_t *p)
{
	uint8_t raw[16];
	char uuid[OW_BATCH_ID_LEN + 1], dir[4096], path[4096 + 256], tmp[4096 + 256], dtxt[16];
	ow_uuid7(raw, uuid);
	for (int i = 0; i < 16; i++)
		snprintf(p->id + 2 * i, 3, "%02x", raw[i]);
	day_text(day, dtxt, sizeof(dtxt), 1);
	day_text(day, p->day, sizeof(p->day), 0);
	int64_t now = ow_now_ns();
	time_t sec = (time_t)(now / 1000000000);
	struct tm tm;
	gmtime_r(&sec, &tm);
	snprintf(dir, sizeof(dir), "%s/%s/%s/%s/%s", parquet_dir, tenant, ow_signal_name(signal),
		 dtxt, node_id);
	snprintf(path, sizeof(path), "%s/%s_%04d%02d%02dT%02d%02d%02d_%s_%s.parquet", dir, tenant,
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 p->id, kind);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	snprintf(p->rel, sizeof(p->rel), "%s", path + strlen(ow_data_dir) + 1);
	p->nospace = 0;
	p->err[0] = '\0';

	p->min_time = INT64_MAX;
	p->max_time = INT64_MIN;
	for (size_t i = 0; i < n; i++) {
		int64_t tm_ns = ow_columns_row_time(signal, t, perm[i]);
		p->min_time = OW_MIN(p->min_time, tm_ns);
		p->max_time = OW_MAX(p->max_time, tm_ns);
	}
	p->rows = n;

	/* the frequent attribute keys as typed columns (modules/columns/shred.c),
	 * in a part of enough rows to pay for their columns' metadata */
	ow_shred_t sh = {0};
	int keys = ow_storage_shred_keys(n);
	if (keys && ow_shred_build(signal, t, perm, n, keys, &sh))
		t = &sh.t;
	ow_pq_kv_t kv[] = {
	    {"openwit.schema_version", "1"},
	    {"openwit.tenant", tenant},
	    {"openwit.signal", ow_signal_name(signal)},
	    {"openwit.batch_ids", batch_ids},
	    {OW_SHRED_KV, sh.kv},
	};
	/* active parts are written while requests wait for room; stable ones
	 * by the janitor in the background, where a slower level pays */
	int level = (int)(strcmp(kind, "stable") == 0 ? zstd_stable : zstd_level);
	/* 0: by signal. A metric query filters points by metric and service
	 * in runs ordered by time: short pages spare it most of what it
	 * would decode. So does a log search by service, whose rows are a run
	 * in each row group (ow_columns_sort), and a newest-first one, which
	 * reads the pages that may beat the rows it keeps (1% more bytes a
	 * record). Spans keep long pages, where zstd finds a trace's ids again
	 * (8192-row pages cost 11% more bytes a span) */
	size_t rows_a_page = page_rows ? (size_t)page_rows : signal == OW_TRACES ? 32768 : 8192;
	ow_pq_opts_t o = {level,      (size_t)row_group_rows, kv, (int)OW_NELEMS(kv) - !sh.n, n,
			  rows_a_page};

	const char *what = dir;
	int fd = -1;
	if (make_dirs(dir) == OW_OK) {
		what = tmp;
		fd = ow_io_open(OW_IO_PARQUET, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	}
	if (fd < 0) {
		int e = errno;
		ow_shred_free(&sh);
		errno = e;
		return fail(p, "cannot create", what);
	}
	char perr[256] = "";
	int rc = ow_pq_write(fd, t, perm, &o, perr, sizeof(perr));
	ow_shred_free(&sh);
	if (rc == OW_OK)
		rc = ow_io_fdatasync(OW_IO_PARQUET, fd);
	struct stat st;
	if (rc == OW_OK && fstat(fd, &st) == 0)
		p->bytes = (uint64_t)st.st_size;
	int e = errno;
	close(fd);
	errno = e;
	if (rc != OW_OK) {
		fail(p, "cannot write", tmp);
		if (errno == EINVAL) /* the writer refused the table: say why */
			snprintf(p->err, sizeof(p->err), "cannot write %s: %s", tmp, perr);
		unlink(tmp);
		return OW_ERROR;
	}
	if (ow_io_rename(OW_IO_PARQUET, tmp, path) != OW_OK) {
		fail(p, "cannot rename", tmp);
		unlink(tmp);
		return OW_ERROR;
	}
	if (ow_io_fsync_dir(OW_IO_PARQUET, dir) != OW_OK) {
		fail(p, "cannot sync", dir);
		unlink(path);
		return OW_ERROR;
	}
	return OW_OK;
}

/* The STORED transaction (catalog.h) for the buffer's batches. */
static int commit(flush_t *f)
{
	buffer_t *buf = f->buf;
	ow_catalog_batch_t *b = ow_calloc(OW_MAX(buf->nbatches, 1), sizeof(*b));
	for (size_t k = 0; k < buf->nbatches; k++) {
		sbatch_t *s = &buf->batches[k];
		b[k] = (ow_catalog_batch_t){s->id,	   s->tenant,	  s->signal,
					    s->source,	   s->nmsgs,	  s->records,
					    s->file_bytes, s->created_ns, s->wal_done_ns};
	}
	int rc = ow_catalog_commit_stored(ow_catalog_server(), buf->tenant, buf->signal, f->parts,
					  f->nparts, b, buf->nbatches, f->err, sizeof(f->err));
	free(b);
	if (rc != OW_OK)
		f->rc = OW_ERROR;
	return rc;
}

/* After STORED is committed: the WAL files of the buffer's batches go. */
static void remove_wal(flush_t *f)
{
	buffer_t *buf = f->buf;
	for (size_t k = 0; k < buf->nbatches; k++) {
		const ow_walref_t *next = k + 1 < buf->nbatches ? &buf->batches[k + 1].wal : NULL;
		if (ow_wal_release(&buf->batches[k].wal, next) == OW_OK)
			f->wal_removed++;
	}
}

static void flush_work(ow_job_t *j)
{
	flush_t *f = (flush_t *)j;
	buffer_t *buf = f->buf;
	/* the chunks are immutable: read them here, off the loop, into one
	 * table the writer sorts, grown once and holding what its columns
	 * hold alike once (the chunks stay, for the queries, until the parts
	 * commit: this copy is what a flush adds) */
	if (buf->table.cols == NULL) {
		ow_columns_table_init(buf->signal, &buf->table);
		ow_table_t **src = ow_alloc(OW_MAX(buf->nchunks, 1) * sizeof(*src));
		for (size_t i = 0; i < buf->nchunks; i++)
			src[i] = &buf->chunks[i]->table;
		ow_table_concat(&buf->table, src, buf->nchunks);
		free(src);
		ow_table_fit(&buf->table);
		ow_table_share(&buf->table);
	}
	size_t n = buf->table.nrows;
	f->rc = OW_OK;
	f->nospace = 0;
	f->nparts = 0;
	uint32_t *perm = ow_alloc(OW_MAX(n, 1) * sizeof(uint32_t));
	ow_columns_sort(buf->signal, &buf->table, (size_t)row_group_rows, perm);

	/* stable split by day: days are few, so count them and gather */
	int64_t *days = ow_alloc(OW_MAX(n, 1) * sizeof(int64_t));
	int64_t uniq[64];
	int nuniq = 0;
	for (size_t i = 0; i < n; i++) {
		days[i] = ow_storage_day(ow_columns_row_time(buf->signal, &buf->table, perm[i]));
		int k;
		for (k = 0; k < nuniq && uniq[k] != days[i]; k++)
			;
		if (k == nuniq && nuniq < (int)OW_NELEMS(uniq))
			uniq[nuniq++] = days[i];
		else if (k == nuniq)
			days[i] = uniq[nuniq - 1]; /* more than 64 days in one flush: the last */
	}
	f->parts = ow_calloc((size_t)OW_MAX(nuniq, 1), sizeof(ow_part_t));
	ow_buf_t ids = {0};
	for (size_t i = 0; i < buf->nbatches; i++)
		ow_buf_printf(&ids, "%s%s", i ? "," : "", buf->batches[i].id);
	ow_buf_add(&ids, "", 1);
	uint32_t *sub = ow_alloc(OW_MAX(n, 1) * sizeof(uint32_t));
	for (int d = 0; d < nuniq && f->rc == OW_OK; d++) {
		size_t m = 0;
		for (size_t i = 0; i < n; i++)
			if (days[i] == uniq[d])
				sub[m++] = perm[i];
		ow_part_t *p = &f->parts[f->nparts];
		if (ow_storage_write_part(buf->tenant, buf->signal, &buf->table, sub, m, uniq[d],
					  "active", (const char *)ids.data, p) == OW_OK) {
			f->nparts++;
		} else {
			f->rc = OW_ERROR;
			f->nospace = p->nospace;
			snprintf(f->err, sizeof(f->err), "%s", p->err);
		}
	}
	ow_buf_free(&ids);
	free(sub);
	free(days);
	free(perm);
	if (f->rc == OW_OK && commit(f) == OW_OK) {
		remove_wal(f);
		return;
	}
	/* nothing was committed: remove the parts this attempt wrote */
	for (int i = 0; i < f->nparts; i++) {
		char path[4096 + 1100];
		snprintf(path, sizeof(path), "%s/%s", ow_data_dir, f->parts[i].rel);
		unlink(path);
	}
	f->nparts = 0;
	free(f->parts); /* the retry makes its own */
	f->parts = NULL;
}

static void on_retry(evutil_socket_t fd, short what, void *arg);

static void flush_free(flush_t *f)
{
	if (f->retry)
		event_free(f->retry);
	buffer_free(f->buf);
	free(f->parts);
	free(f);
}

static void flush_done(ow_job_t *j)
{
	flush_t *f = (flush_t *)j;
	buffer_t *buf = f->buf;
	if (f->rc != OW_OK) {
		f->attempt++;
		int delay = f->nospace ? 1000 : OW_MIN(100 << OW_MIN(f->attempt, 8), 30000);
		ow_log(f->nospace ? OW_LOG_WARN : OW_LOG_ERROR,
		       "storage: flush of %s/%s (%zu rows) failed: %s; retrying in %d ms",
		       buf->tenant, ow_signal_name(buf->signal), buf->rows, f->err, delay);
		if (f->attempt == 3)
			ow_tracker_alert("storage_failed", NULL, f->err);
		/* it keeps its place among the flushes, with its attempt count */
		if (!f->retry)
			f->retry = evtimer_new(loop_base, on_retry, f);
		struct timeval tv = {delay / 1000, (delay % 1000) * 1000};
		evtimer_add(f->retry, &tv);
		return;
	}
	for (flush_t **pp = &flushing; *pp; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	nflushing--;
	uint64_t rows = 0;
	for (int i = 0; i < f->nparts; i++)
		rows += f->parts[i].rows;
	ow_log(OW_LOG_DEBUG, "storage: %s/%s: %d parts, %llu rows, %zu batches", buf->tenant,
	       ow_signal_name(buf->signal), f->nparts, (unsigned long long)rows, buf->nbatches);
	stats.parts_written += (uint64_t)f->nparts;
	stats.rows_stored += rows;
	/* one step for readers: the parts in, the buffer's rows out */
	for (int i = 0; i < f->nparts; i++)
		catalog_add(buf->tenant, buf->signal, &f->parts[i]);
	for (size_t k = 0; k < buf->nbatches; k++)
		ow_tracker_batch_cleaned(buf->batches[k].id);
	/* the oldest row's wait: the buffer leaves all at once */
	ow_queue_take(&buffer_q, buf->nchunks, buf->bytes, buf->opened_mono);
	stats.rows_buffered -= buf->rows;
	flush_free(f);
	start_flush();
}

/* storage.buffer.max_flushes; 0: the ingest workers less one (at least
 * one), which leaves a worker to decode requests while flushes run. */
static int flush_limit(void)
{
	return max_flushes ? (int)max_flushes : OW_MAX(ow_workers_count() - 1, 1);
}

/* The flush of b's (tenant, signal) on a worker or waiting to try again;
 * NULL when there is none. */
static const flush_t *flush_of(const buffer_t *b)
{
	for (const flush_t *f = flushing; f; f = f->next)
		if (f->buf->signal == b->signal && strcmp(f->buf->tenant, b->tenant) == 0)
			return f;
	return NULL;
}

static int is_flushing(const buffer_t *b)
{
	return flush_of(b) != NULL;
}

/* Frozen buffers to the workers, oldest first, while there is room: one
 * flush a (tenant, signal) at a time, so its parts commit in order. */
static void start_flush(void)
{
	buffer_t **pp = &frozen;
	while (*pp && nflushing < flush_limit()) {
		buffer_t *b = *pp;
		if (is_flushing(b)) {
			pp = &b->next;
			continue;
		}
		flush_t *f = ow_calloc(1, sizeof(*f));
		f->buf = b;
		f->job.work = flush_work;
		f->job.done = flush_done;
		if (ow_work_submit(&f->job) != OW_OK) {
			/* the queue is full of requests: try again on the next tick */
			free(f);
			return;
		}
		*pp = b->next;
		if (frozen_tail == &b->next)
			frozen_tail = pp;
		b->next = NULL;
		f->next = flushing;
		flushing = f;
		nflushing++;
		ow_queue_take(&flush_q, 1, b->bytes, b->frozen_mono);
	}
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	OW_UNUSED(fd);
	OW_UNUSED(what);
	flush_t *f = arg;
	if (ow_work_submit(&f->job) != OW_OK) {
		struct timeval tv = {0, 100000};
		evtimer_add(f->retry, &tv);
	}
}

/* Takes b, which *pp points to, out of the open buffers. */
static void unlink_buffer(buffer_t **pp, buffer_t *b)
{
	char key[OW_TENANT_MAX + 8];
	index_key(key, b->tenant, b->signal);
	ow_map_del(&buffer_index, key);
	*pp = b->next;
	b->next = NULL;
}

/* Past the high-water mark, with no frozen buffer about to start its
 * flush and most of the memory still in open buffers (not already on its
 * way out): the largest open buffer is frozen. A tick at a time, so the
 * flushes keep pace with the rows coming in, and none of a buffer hardly
 * begun. A flush that failed and waits to try again is not on its way
 * out, nor is a frozen buffer behind it (its tenant's and signal's next):
 * a disk that refuses one tenant's part must not stop the others' flushes
 * until their requests get 503. */
static void high_water(void)
{
	uint64_t held = ow_storage_buffered_bytes(), open = 0, stuck = 0;
	for (const flush_t *f = flushing; f; f = f->next)
		stuck += f->attempt ? f->buf->bytes : 0;
	int starting = 0;
	for (const buffer_t *b = frozen; b; b = b->next) {
		const flush_t *f = flush_of(b);
		if (f && f->attempt)
			stuck += b->bytes;
		else
			starting = 1;
	}
	if (flush_at_percent >= 100 || starting ||
	    held < (uint64_t)max_buffer_bytes / 100 * (uint64_t)flush_at_percent)
		return;
	buffer_t **big = NULL;
	for (buffer_t **pp = &buffers; *pp; pp = &(*pp)->next) {
		open += (*pp)->bytes;
		if ((*pp)->nbatches > 0 && !(*pp)->holds && (!big || (*pp)->bytes > (*big)->bytes))
			big = pp;
	}
	if (big && 2 * open >= held - stuck) {
		buffer_t *b = *big;
		unlink_buffer(big, b);
		freeze(b);
	}
}

/* Flushes a buffer on size, on age, or when the server drains; an empty
 * buffer that aged is dropped. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	OW_UNUSED(fd);
	OW_UNUSED(what);
	OW_UNUSED(arg);
	int64_t now = ow_mono_ns();
	buffer_t **pp = &buffers;
	while (*pp) {
		buffer_t *b = *pp;
		int aged = now - b->opened_mono >= flush_interval_ms * 1000000;
		if (b->nbatches > 0 && (aged || draining || b->bytes >= (size_t)flush_bytes)) {
			unlink_buffer(pp, b);
			if (b->holds) {
				/* Kafka offsets not committed yet: not stored either;
				 * new rows go to a new buffer meanwhile */
				b->next = sealed;
				sealed = b;
			} else {
				freeze(b);
			}
		} else if (b->nbatches == 0 && aged) {
			unlink_buffer(pp, b);
			ow_queue_take(&buffer_q, b->nchunks, b->bytes, 0);
			buffer_free(b);
		} else {
			pp = &b->next;
		}
	}
	high_water();
	start_flush();
}

/* ---- recovery ---- */

typedef struct {
	const ow_walinfo_t *info;
	ow_table_t *t;
	int bad;
	uint32_t kept;
	uint64_t records;
	char err[256];
} replay_ctx_t;

static void replay_record(void *arg, const ow_walpos_t *pos, const uint8_t *payload, size_t len)
{
	OW_UNUSED(pos);
	replay_ctx_t *c = arg;
	int64_t n = ow_columns_decode(c->info->signal, payload, len, c->info->created_ns, c->t,
				      NULL, c->err, sizeof(c->err));
	if (n < 0)
		c->bad++;
	else
		c->records += (uint64_t)n;
	c->kept++;
}

static int is_stored(const char *id)
{
	return ow_catalog_is_stored(ow_catalog_server(), id);
}

/* The WAL's sink at recovery (ow_wal_set_sink): a complete file's kept
 * records go back into the buffer, unless the batch is already stored. */
static int replay(const ow_walbatch_t *wb, uint64_t *records)
{
	const ow_walinfo_t *info = &wb->info;
	if (is_stored(info->id))
		return OW_DECLINED;
	ow_table_t t;
	ow_columns_table_init(info->signal, &t);
	replay_ctx_t c = {info, &t, 0, 0, 0, ""};
	if (ow_wal_records(wb, replay_record, &c) != OW_OK)
		c.bad++;
	if (c.bad || c.kept == 0) {
		ow_table_free(&t);
		return c.bad ? OW_ERROR : OW_AGAIN;
	}
	buffer_t *buf = buffer_for(info->tenant, info->signal);
	*records = c.records;
	/* Kafka replays at run time, after queries may have cached the span */
	changed(info->tenant, info->signal, &t);
	add_chunk(buf, &t, info->id, 0);
	sbatch_t *s = add_batch(buf, info->id, &wb->ref);
	snprintf(s->tenant, sizeof(s->tenant), "%s", info->tenant);
	s->signal = info->signal;
	s->source = info->source;
	s->nmsgs = c.kept;
	s->records = c.records;
	s->file_bytes = wb->file_bytes;
	s->created_ns = info->created_ns;
	s->wal_done_ns = info->created_ns;
	return OW_OK;
}

/* Part files the catalog does not list never committed: remove them (their
 * batches are still in the WAL and are replayed). Temporary files too. */
static int remove_orphans(void)
{
	ow_catalog_orphan_t *o;
	size_t n = ow_catalog_orphans(ow_catalog_server(), ow_data_dir, &o);
	for (size_t i = 0; i < n; i++) {
		ow_log(OW_LOG_WARN, "storage: removing %s: %s", o[i].path,
		       o[i].unfinished ? "an unfinished write"
				       : "not in the catalog (never committed)");
		unlink(o[i].path);
		/* sync the directory once its orphans are gone: after the last
		 * of a run of orphans in one directory */
		size_t d = (size_t)(strrchr(o[i].path, '/') - o[i].path);
		if (i + 1 == n || strncmp(o[i + 1].path, o[i].path, d + 1) != 0 ||
		    strchr(o[i + 1].path + d + 1, '/')) {
			o[i].path[d] = '\0';
			ow_io_fsync_dir(OW_IO_PARQUET, o[i].path);
		}
	}
	ow_catalog_orphans_free(o, n);
	return (int)n;
}

static int storage_init(struct event_base *base)
{
	/* before recovery, which replays into the buffers and lists parts */
	ow_queue_register(&buffer_q, "buffer", OW_Q_BUFFER, 0, (uint64_t)max_buffer_bytes);
	ow_queue_register(&flush_q, "flush", OW_Q_FLUSH, 0, 0);
	ow_queue_register(&merge_q, "merge", OW_Q_MERGE, 0, 0);
	snprintf(parquet_dir, sizeof(parquet_dir), "%s/parquet", ow_data_dir);
	if (ow_mkdir_p(parquet_dir, 0755) != OW_OK) {
		ow_log(OW_LOG_CRIT, "storage: cannot create %s: %s", parquet_dir, strerror(errno));
		return OW_ERROR;
	}
	ow_wal_set_sink(publish, replay);
	int removed = remove_orphans();
	if (removed)
		ow_log(OW_LOG_INFO, "storage: recovery removed %d uncommitted part files", removed);
	char err[512];
	if (ow_catalog_list(ow_catalog_server(), NULL, load_part, NULL, err, sizeof(err)) !=
	    OW_OK) {
		ow_log(OW_LOG_CRIT, "storage: cannot read the part catalog: %s", err);
		return OW_ERROR;
	}
	loop_base = base;
	tick_ev = event_new(base, -1, EV_PERSIST, on_tick, NULL);
	struct timeval tv = {0, 50000};
	event_add(tick_ev, &tv);
	return OW_OK;
}

static void storage_drain(void)
{
	draining = 1;
}

static int storage_busy(void)
{
	if (flushing || frozen)
		return 1;
	/* a buffer held for Kafka commits that never came stays in the WAL */
	for (buffer_t *b = buffers; b; b = b->next)
		if (b->nbatches > 0 && b->holds == 0)
			return 1;
	return 0;
}

static void storage_stop(void)
{
	ow_queue_unregister(&buffer_q);
	ow_queue_unregister(&flush_q);
	ow_queue_unregister(&merge_q);
	ow_map_free(&buffer_index);
	while (buffers) {
		buffer_t *b = buffers;
		buffers = b->next;
		buffer_free(b);
	}
	while (sealed) {
		buffer_t *b = sealed;
		sealed = b->next;
		buffer_free(b);
	}
	while (frozen) {
		buffer_t *b = frozen;
		frozen = b->next;
		buffer_free(b);
	}
	while (flushing) {
		flush_t *f = flushing;
		flushing = f->next;
		flush_free(f);
	}
	nflushing = 0;
	free(replaced);
	replaced = NULL;
	nreplaced = 0;
	part_hook = NULL;
	while (catalog) {
		ow_partref_t *p = catalog;
		catalog = p->next;
		part_unref(p);
	}
	if (tick_ev)
		event_free(tick_ev);
	tick_ev = NULL;
}

static void storage_stats(ow_buf_t *b)
{
	ow_metric_one(b, "openwit_buffered_bytes", "gauge",
		      "Memory held by rows waiting to be written to Parquet.",
		      ow_storage_buffered_bytes());
	ow_metric_one(b, "openwit_buffered_rows", "gauge",
		      "Rows waiting to be written to Parquet (openwit_buffered_bytes / "
		      "openwit_buffered_rows: the bytes a buffered record holds).",
		      stats.rows_buffered);
	ow_metric_one(b, "openwit_flushes_running", "gauge",
		      "Flushes on ingest workers or waiting to try again "
		      "(storage.buffer.max_flushes).",
		      (uint64_t)nflushing);
	ow_metric_one(b, "openwit_parts_written_total", "counter",
		      "Parquet parts committed by flushes.", stats.parts_written);
	ow_metric_one(b, "openwit_rows_stored_total", "counter", "Rows committed in Parquet parts.",
		      stats.rows_stored);
}

ow_module_t ow_storage_module = {
    .name = "storage",
    .directives = directives,
    .init = storage_init,
    .drain = storage_drain,
    .busy = storage_busy,
    .stop = storage_stop,
    .stats = storage_stats,
};

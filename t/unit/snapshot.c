/* snapshot: the reference counts of modules/storage's snapshots. A
 * snapshot holds the buffered chunks and the committed parts of one
 * (tenant, signal); a chunk taken out of the buffer and a part a merge
 * replaced or retention dropped stay whole while a snapshot holds them, and go (the part's
 * reader cache freed, its file removed on the disk thread) with the last reference. Run
 * under make asan, the leak check also finds a chunk never freed. */
#include "../lib/tap.h"
#include "modules/storage/storage.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];

/* ---- chunks ---- */

static const ow_pq_coldef_t one_col[] = {{.name = "v", .type = OW_PQ_INT64}};

static void acked(ow_msg_t *m, int rc)
{
	OW_UNUSED(rc);
	free(m);
}

/* A message whose table holds rows v0, v0+1, ... */
static ow_msg_t *msg_rows(int64_t v0, size_t rows)
{
	ow_msg_t *m = ow_calloc(1, sizeof(*m));
	m->table = ow_calloc(1, sizeof(*m->table));
	ow_table_init(m->table, one_col, 1);
	for (size_t i = 0; i < rows; i++)
		ow_col_i64(&m->table->cols[0], v0 + (int64_t)i);
	m->table->nrows = rows;
	m->records = rows;
	m->len = 8 * rows;
	m->ack = acked;
	return m;
}

/* Publishes a durable batch of messages of 3 and 5 rows, as the WAL's
 * sink would; gives its id. */
static void publish(const char *tenant, int signal, char *id)
{
	ow_batch_t *b = ow_batch_new(tenant, signal, OW_SRC_KAFKA);
	ow_batch_add(b, msg_rows(100, 3));
	ow_batch_add(b, msg_rows(200, 5));
	snprintf(id, OW_BATCH_ID_LEN + 1, "%s", b->id);
	ow_storage_publish(b);
	ow_batch_finish(b, OW_OK);
}

static int64_t first_value(const ow_chunk_t *c)
{
	int64_t v;
	memcpy(&v, c->table.cols[0].fixed.data, sizeof(v));
	return v;
}

static void chunks(void)
{
	char id[OW_BATCH_ID_LEN + 1];
	publish("acme", OW_LOGS, id);

	ow_snapshot_t *s1 = ow_storage_snapshot("acme", OW_LOGS);
	is_int(s1->nchunks, 2, "a snapshot holds the buffer's 2 chunks");
	is_int(s1->nparts, 0, "and no part");
	if (s1->nchunks != 2) {
		ow_storage_snapshot_free(s1);
		return;
	}
	ow_chunk_t *a = s1->chunks[0], *b = s1->chunks[1];
	if (a->seq != 0) {
		ow_chunk_t *t = a;
		a = b, b = t;
	}
	ok(a->seq == 0 && b->seq == 1 && strcmp(a->batch_id, id) == 0,
	   "the chunks of messages 0 and 1 of the batch");
	is_int(atomic_load(&a->refs), 2, "chunk 0: the buffer's reference and the snapshot's");
	is_int(atomic_load(&b->refs), 2, "chunk 1: the buffer's reference and the snapshot's");

	ow_snapshot_t *other = ow_storage_snapshot("other", OW_LOGS);
	ow_snapshot_t *spans = ow_storage_snapshot("acme", OW_TRACES);
	ok(other->nchunks == 0 && spans->nchunks == 0,
	   "another tenant's or signal's snapshot holds none of them");
	is_int(atomic_load(&a->refs), 2, "and takes no reference");
	ow_storage_snapshot_free(other);
	ow_storage_snapshot_free(spans);

	ow_snapshot_t *s2 = ow_storage_snapshot("acme", OW_LOGS);
	is_int(atomic_load(&a->refs), 3, "a second snapshot: a third reference");
	ow_storage_snapshot_free(s2);
	is_int(atomic_load(&a->refs), 2, "freed: back to 2");

	/* the buffer lets chunk 0 go (Kafka could not commit its offset) */
	ow_storage_discard(id, 0);
	is_int(atomic_load(&a->refs), 1,
	       "chunk 0 out of the buffer: the snapshot's reference alone");
	ok(a->table.nrows == 3 && first_value(a) == 100,
	   "its rows still readable through the snapshot");
	ow_snapshot_t *s3 = ow_storage_snapshot("acme", OW_LOGS);
	ok(s3->nchunks == 1 && s3->chunks[0] == b, "a new snapshot sees chunk 1 alone");
	is_int(atomic_load(&b->refs), 3, "chunk 1: buffer and two snapshots");

	/* the last reference to chunk 0 goes with s1 (make asan: no leak, no
	 * use after free) */
	ow_storage_snapshot_free(s1);
	is_int(atomic_load(&b->refs), 2, "s1 freed: chunk 1 held by the buffer and s3");
	ok(b->table.nrows == 5 && first_value(b) == 200, "chunk 1 untouched");

	/* the buffer goes (the server stopping): s3 keeps chunk 1 */
	ow_storage_module.stop();
	is_int(atomic_load(&b->refs), 1, "buffer freed: s3's reference alone");
	ok(b->table.nrows == 5 && first_value(b) == 200, "its rows still readable through s3");
	ow_storage_snapshot_free(s3);
}

/* ---- parts ---- */

static int cache_freed;

static void cache_free(void *cache)
{
	cache_freed++;
	free(cache);
}

static void part(ow_part_t *p, const char *id)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->id, sizeof(p->id), "%s", id);
	snprintf(p->rel, sizeof(p->rel), "parquet/acme/traces/%s.parquet", id);
	p->min_time = 1;
	p->max_time = 2;
	p->rows = 3;
	p->bytes = 4;
	char path[1400];
	snprintf(path, sizeof(path), "%s/%s", dir, p->rel);
	FILE *f = fopen(path, "w");
	fclose(f);
}

static int exists(const ow_part_t *p)
{
	char path[1400];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", dir, p->rel);
	return stat(path, &st) == 0;
}

/* 1 once p's file is gone: the last reference hands its unlink to the
 * disk thread (core/io.h), which takes a moment */
static int gone(const ow_part_t *p)
{
	for (int i = 0; i < 200 && exists(p); i++)
		usleep(10000);
	return !exists(p);
}

static void parts(void)
{
	char sub[400];
	snprintf(sub, sizeof(sub), "%s/parquet/acme/traces", dir);
	ow_mkdir_p(sub, 0755);
	ow_part_t a, b, c, d;
	part(&a, "a");
	part(&b, "b");
	part(&c, "c");
	part(&d, "d");

	/* a flush publishes part a */
	ow_storage_swap_parts("acme", OW_TRACES, NULL, 0, &a);
	ow_snapshot_t *s1 = ow_storage_snapshot("acme", OW_TRACES);
	ok(s1->nparts == 1 && strcmp(s1->parts[0]->id, "a") == 0, "a snapshot holds part a");
	if (s1->nparts != 1) {
		ow_storage_snapshot_free(s1);
		return;
	}
	ow_partref_t *pa = s1->parts[0];
	is_int(atomic_load(&pa->refs), 2, "part a: the catalog's reference and the snapshot's");
	/* what a reader keeps of the part between queries */
	void *cache = ow_alloc(64);
	atomic_store(&pa->cache, cache);
	pa->cache_free = cache_free;

	/* a merge replaces a with b while s1 reads a */
	char ids[1][33] = {"a"};
	ow_storage_swap_parts("acme", OW_TRACES, ids, 1, &b);
	is_int(atomic_load(&pa->refs), 1, "merged away: the snapshot's reference alone");
	ok(exists(&a), "part a's file stays while a snapshot reads it");
	is_int(cache_freed, 0, "and its reader cache");
	ow_snapshot_t *s2 = ow_storage_snapshot("acme", OW_TRACES);
	ok(s2->nparts == 1 && strcmp(s2->parts[0]->id, "b") == 0,
	   "a new snapshot sees the merged part b alone");

	ow_storage_snapshot_free(s1);
	is_int(cache_freed, 1, "the last reference gone: part a's cache freed once");
	ok(gone(&a), "and its file removed");
	ok(exists(&b), "part b's file stays");

	/* a merge that commits before the flush of its input publishes it */
	char ids_c[1][33] = {"c"};
	ow_storage_swap_parts("acme", OW_TRACES, ids_c, 1, &d);
	ow_storage_swap_parts("acme", OW_TRACES, NULL, 0, &c);
	ow_snapshot_t *s3 = ow_storage_snapshot("acme", OW_TRACES);
	int seen_c = 0, seen_d = 0;
	for (size_t i = 0; i < s3->nparts; i++) {
		seen_c += strcmp(s3->parts[i]->id, "c") == 0;
		seen_d += strcmp(s3->parts[i]->id, "d") == 0;
	}
	ok(s3->nparts == 2 && seen_d == 1 && seen_c == 0,
	   "a part merged before its flush published it is never shown (b and d are)");
	ok(!exists(&c), "and its file removed");

	/* retention drops d while s3 reads it, and e before its flush
	 * published it */
	ow_part_t e;
	part(&e, "e");
	char ids_d[2][33] = {"d", "e"};
	ow_partref_t *pd = NULL;
	for (size_t i = 0; i < s3->nparts; i++)
		if (strcmp(s3->parts[i]->id, "d") == 0)
			pd = s3->parts[i];
	ow_storage_drop_parts(ids_d, 2);
	ow_storage_swap_parts("acme", OW_TRACES, NULL, 0, &e);
	ok(pd && atomic_load(&pd->refs) == 1, "dropped: part d held by the snapshot alone");
	ok(exists(&d), "a dropped part's file stays while a snapshot reads it");
	ok(!exists(&e), "a part dropped before its flush published it: its file removed");
	ow_snapshot_t *s4 = ow_storage_snapshot("acme", OW_TRACES);
	ok(s4->nparts == 1 && strcmp(s4->parts[0]->id, "b") == 0,
	   "a new snapshot no longer sees the dropped parts (b alone)");
	ow_storage_snapshot_free(s4);
	ow_storage_snapshot_free(s3); /* the query reading d ends */
	ok(gone(&d), "the snapshot gone: the dropped part's file removed");
	for (int i = 0; i < 200 && ow_storage_unlink_pending(); i++)
		usleep(10000); /* taken off right after the unlink */
	is_int((int)ow_storage_unlink_pending(), 0, "no unlink pending once they are gone");
	s3 = ow_storage_snapshot("acme", OW_TRACES);

	/* the server stops: the catalog's references go, the snapshots' stay */
	ow_partref_t *pb = s2->parts[0];
	is_int(atomic_load(&pb->refs), 3, "part b: catalog, s2 and s3");
	ow_storage_module.stop();
	is_int(atomic_load(&pb->refs), 2, "stopped: s2 and s3");
	ow_storage_snapshot_free(s2);
	ow_storage_snapshot_free(s3);
	ok(exists(&b), "parts not merged away or dropped keep their files");
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ow-snapshot-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	ow_data_dir = dir;
	chunks();
	parts();
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return done_testing();
}

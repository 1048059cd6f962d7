/* catalog: the part catalog of modules/catalog against a temporary
 * database: the STORED transaction and its all-or-nothing, which group is
 * due for a merge, the merge swap (readers see the active parts or the
 * stable one), orphan detection, two threads committing through the one
 * writer, and the read-only handle of openwit sql, which adds no file to
 * the data directory. */
#include "../lib/tap.h"
#include "modules/catalog/catalog.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256], dbpath[300];

/* The database as the tracker leaves it: WAL journal, the catalog's
 * tables, and the batch_tracker columns the STORED transaction writes
 * (the tracker's own schema is modules/tracker's). */
static void create_db(void)
{
	sqlite3 *db;
	sqlite3_open(dbpath, &db);
	char *msg = NULL;
	sqlite3_exec(db,
		     "PRAGMA journal_mode = WAL;"
		     "CREATE TABLE batch_tracker (batch_id TEXT PRIMARY KEY, client_id TEXT, "
		     "signal TEXT, source TEXT, wal_pip INTEGER, ingestion_pip INTEGER, "
		     "storage_pip INTEGER, batch_size INTEGER, message_count INTEGER, "
		     "record_count INTEGER, created_at TEXT, wal_completed_at TEXT, "
		     "ingestion_completed_at TEXT, storage_completed_at TEXT);",
		     NULL, NULL, &msg);
	ok(msg == NULL, "fixture: batch_tracker %s", msg ? msg : "");
	sqlite3_free(msg);
	msg = NULL;
	sqlite3_exec(db, ow_catalog_schema, NULL, NULL, &msg);
	ok(msg == NULL, "fixture: the catalog's schema %s", msg ? msg : "");
	sqlite3_free(msg);
	sqlite3_close(db);
}

static void make_part(ow_part_t *p, const char *id, const char *kind, int64_t t)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->id, sizeof(p->id), "%s", id);
	snprintf(p->day, sizeof(p->day), "2026-12-07");
	snprintf(p->rel, sizeof(p->rel),
		 "parquet/acme/traces/2026/12/07/node-1/acme_20261207T120000_%s_%s.parquet", id,
		 kind);
	p->min_time = t;
	p->max_time = t + 10;
	p->rows = 3;
	p->bytes = 1000;
}

static void touch(const char *rel)
{
	char path[1400], cmd[1500];
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\" && : > '%s'", path, path);
	ok(system(cmd) == 0, "created %s", rel);
}

static ow_catalog_batch_t batch(const char *id)
{
	return (ow_catalog_batch_t){id, "acme", OW_TRACES, 0, 1, 3, 100, 1, 2};
}

typedef struct {
	char ids[16][33];
	char rels[16][1024];
	int signal[16];
	int n;
} listing_t;

static int collect(void *arg, const char *tenant, int signal, const ow_part_t *p)
{
	listing_t *l = arg;
	if (l->n == 16 || strcmp(tenant, "acme") != 0)
		return OW_ERROR;
	snprintf(l->ids[l->n], 33, "%s", p->id);
	snprintf(l->rels[l->n], 1024, "%s", p->rel);
	l->signal[l->n++] = signal;
	return OW_OK;
}

static listing_t list(ow_catalog_t *c)
{
	listing_t l = {0};
	char err[512] = "";
	ok(ow_catalog_list(c, "acme", collect, &l, err, sizeof(err)) == OW_OK, "listed %s", err);
	return l;
}

typedef struct {
	ow_catalog_t *c;
	int base, ok;
} writer_t;

static void *commit_many(void *arg)
{
	writer_t *w = arg;
	for (int i = 0; i < 10; i++) {
		char id[33], bid[40], err[512];
		snprintf(id, sizeof(id), "%032d", w->base + i);
		snprintf(bid, sizeof(bid), "thread-%d", w->base + i);
		ow_part_t p;
		make_part(&p, id, "active", 5000 + w->base + i);
		ow_catalog_batch_t b = batch(bid);
		w->ok += ow_catalog_commit_stored(w->c, "other", OW_LOGS, &p, 1, &b, 1, err,
						  sizeof(err)) == OW_OK;
	}
	return NULL;
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/openwit-catalog-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp %s", dir);
		return done_testing();
	}
	snprintf(dbpath, sizeof(dbpath), "%s/openwit.db", dir);
	create_db();

	ow_catalog_t *c;
	char err[512] = "";
	ok(ow_catalog_open(dbpath, &c, err, sizeof(err)) == OW_OK, "writer opened %s", err);

	/* two flushes: a, b for batches 1 and 2, then c for batch 3 */
	ow_part_t parts[3], stable;
	make_part(&parts[0], "aaaa", "active", 300);
	make_part(&parts[1], "bbbb", "active", 100);
	make_part(&parts[2], "cccc", "active", 200);
	ow_catalog_batch_t b12[] = {batch("batch-1"), batch("batch-2")}, b3 = batch("batch-3");
	ok(ow_catalog_commit_stored(c, "acme", OW_TRACES, parts, 2, b12, 2, err, sizeof(err)) ==
	       OW_OK,
	   "STORED: two parts, two batches %s", err);
	ok(ow_catalog_commit_stored(c, "acme", OW_TRACES, &parts[2], 1, &b3, 1, err, sizeof(err)) ==
	       OW_OK,
	   "STORED: one part, one batch %s", err);
	ok(ow_catalog_is_stored(c, "batch-1") && ow_catalog_is_stored(c, "batch-3"),
	   "the batches are STORED");
	ok(!ow_catalog_is_stored(c, "batch-9"), "another batch is not");
	listing_t l = list(c);
	is_int(l.n, 3, "three parts listed");
	is_str(l.ids[0], "bbbb", "ordered by min_time: first");
	is_str(l.ids[2], "aaaa", "ordered by min_time: last");
	ok(l.signal[0] == OW_TRACES, "with their signal");

	/* all or nothing: a part already listed fails the whole transaction */
	ow_part_t again[2];
	make_part(&again[0], "dddd", "active", 400);
	again[1] = parts[0];
	ow_catalog_batch_t b4 = batch("batch-4");
	ok(ow_catalog_commit_stored(c, "acme", OW_TRACES, again, 2, &b4, 1, err, sizeof(err)) ==
	       OW_ERROR,
	   "STORED of a part already listed fails");
	ok(strstr(err, "catalog commit") != NULL, "and says why: %s", err);
	ok(!ow_catalog_is_stored(c, "batch-4"), "its batch is not STORED");
	is_int(list(c).n, 3, "and its other part is not listed");

	/* which group is due for a merge */
	char tenant[OW_TENANT_MAX + 1], ids[8][33], paths[8][1024];
	int signal, n;
	ok(ow_catalog_merge_group(c, (int64_t)1 << 40, 1000000, 8, tenant, &signal, ids, paths, &n,
				  err, sizeof(err)) == OW_DECLINED,
	   "small and young active parts: no merge due");
	ok(ow_catalog_merge_group(c, 3000, 1000000, 8, tenant, &signal, ids, paths, &n, err,
				  sizeof(err)) == OW_OK,
	   "three active parts of 3000 bytes: a merge due");
	is_str(tenant, "acme", "its tenant");
	is_int(signal, OW_TRACES, "its signal");
	is_int(n, 3, "its three parts");
	ok(ow_catalog_merge_group(c, 3000, 1000000, 2, tenant, &signal, ids, paths, &n, err,
				  sizeof(err)) == OW_OK &&
	       n == 2,
	   "at most max of them");

	/* the swap: all or nothing, then the stable part alone */
	make_part(&stable, "aaaa", "stable", 100);
	char three[3][33] = {"aaaa", "bbbb", "cccc"};
	ok(ow_catalog_swap(c, "acme", OW_TRACES, &stable, three, 3, err, sizeof(err)) == OW_ERROR,
	   "a swap whose stable part is already listed fails");
	l = list(c);
	is_int(l.n, 3, "and the active parts are all still listed");
	make_part(&stable, "eeee", "stable", 100);
	err[0] = '\0';
	ok(ow_catalog_swap(c, "acme", OW_TRACES, &stable, three, 3, err, sizeof(err)) == OW_OK,
	   "the swap commits %s", err);
	l = list(c);
	is_int(l.n, 1, "one part listed");
	is_str(l.ids[0], "eeee", "the stable part");
	ok(ow_catalog_merge_group(c, 0, 0, 8, tenant, &signal, ids, paths, &n, err, sizeof(err)) ==
	       OW_DECLINED,
	   "a stable part is never merged");

	/* orphans: the replaced active files, an unfinished write and an
	 * unlisted part; not the stable part or a file that is neither */
	for (int i = 0; i < 3; i++)
		touch(parts[i].rel);
	touch(stable.rel);
	char unfinished[1100];
	snprintf(unfinished, sizeof(unfinished), "%s.tmp", stable.rel);
	touch(unfinished);
	touch("parquet/acme/traces/2026/12/08/node-1/README");
	ow_catalog_orphan_t *o;
	size_t no = ow_catalog_orphans(c, dir, &o);
	is_int(no, 4, "four orphans");
	int found = 0, tmps = 0;
	for (size_t i = 0; i < no; i++) {
		for (int k = 0; k < 3; k++)
			if (strstr(o[i].path, parts[k].rel) && !o[i].unfinished &&
			    strncmp(o[i].path, dir, strlen(dir)) == 0)
				found++;
		if (o[i].unfinished && strstr(o[i].path, ".tmp"))
			tmps++;
	}
	is_int(found, 3, "the replaced active parts, by path below the data directory");
	is_int(tmps, 1, "the unfinished write");
	ow_catalog_orphans_free(o, no);

	/* the retention drop: the part and its mappings out in one commit,
	 * an id no longer listed skipped, the batches that lost a part told */
	ow_part_t f;
	make_part(&f, "ffff", "active", 500);
	ow_catalog_batch_t b56[] = {batch("batch-5"), batch("batch-6")};
	ok(ow_catalog_commit_stored(c, "acme", OW_TRACES, &f, 1, b56, 2, err, sizeof(err)) == OW_OK,
	   "STORED: a part for the drop %s", err);
	is_int(list(c).n, 2, "two parts listed");
	char drop[2][33] = {"ffff", "zzzz"};
	ow_buf_t lost = {0};
	int dropped = -1;
	ok(ow_catalog_drop(c, drop, 2, &lost, &dropped, err, sizeof(err)) == OW_OK,
	   "the drop commits %s", err);
	is_int(dropped, 1, "one part dropped, the unknown id skipped");
	ow_buf_add(&lost, "", 1);
	ok(strcmp((const char *)lost.data, "batch-5,batch-6") == 0 ||
	       strcmp((const char *)lost.data, "batch-6,batch-5") == 0,
	   "the batches that lost it: %s", (const char *)lost.data);
	ow_buf_free(&lost);
	l = list(c);
	ok(l.n == 1 && strcmp(l.ids[0], "eeee") == 0, "the stable part alone is listed again");
	ok(ow_catalog_is_stored(c, "batch-5"), "the batch stays STORED (its tracker row is kept)");

	/* one writer, two threads */
	writer_t w[2] = {{c, 1000, 0}, {c, 2000, 0}};
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, commit_many, &w[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	is_int(w[0].ok + w[1].ok, 20, "two threads committed through one writer, 20 of 20");

	/* read-only beside the writer, then alone: nothing added */
	ow_catalog_t *r;
	err[0] = '\0';
	ok(ow_catalog_open_readonly(dir, &r, err, sizeof(err)) == OW_OK, "read-only beside it %s",
	   err);
	is_int(list(r).n, 1, "sees the committed part");
	ow_catalog_close(r);
	ow_catalog_close(c);
	char wal[400], shm[400];
	snprintf(wal, sizeof(wal), "%s-wal", dbpath);
	snprintf(shm, sizeof(shm), "%s-shm", dbpath);
	ok(access(wal, F_OK) != 0, "the writer closed: no -wal file");
	err[0] = '\0';
	ok(ow_catalog_open_readonly(dir, &r, err, sizeof(err)) == OW_OK, "read-only alone %s", err);
	is_int(list(r).n, 1, "sees the committed part");
	ow_catalog_close(r);
	ok(access(wal, F_OK) != 0 && access(shm, F_OK) != 0, "and added no -wal or -shm file");
	ok(ow_catalog_open_readonly("/nonexistent", &r, err, sizeof(err)) == OW_ERROR &&
	       strstr(err, "not an OpenWit data directory"),
	   "no database: %s", err);

	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ok(system(cmd) == 0, "removed %s", dir);
	return done_testing();
}

/*
 * wal.c - the batcher's timer and hand-off (batcher.c decides what joins
 * and seals a batch) and the WAL writer thread. The file format is in
 * walfile.c.
 *
 * Durability rules (DESIGN section 5):
 *  - a batch's file is written in one write, fdatasync'd, and the
 *    directories that gained files are fsync'd once per group of batches;
 *    the acknowledgement follows that;
 *  - a failed fsync is never retried on the same file: Linux may have
 *    dropped the dirty pages and a second fsync can report success. The
 *    file is unlinked and the batch rewritten under a new name from memory;
 *  - ENOSPC is backpressure, not failure: the writer keeps the batch, marks
 *    the disk full (sources answer 503 meanwhile) and retries until space
 *    returns or the server stops.
 *  - recovery reads the WAL directory, not the tracker (walfile.c explains
 *    which files are removed and which are quarantined).
 *
 * This module is the one owner of WAL files: the stage after it and the
 * sources know a file only by its ow_walref_t. They register callbacks in
 * their init (ow_wal_set_sink, ow_wal_set_adopter) rather than being
 * called by name, so the WAL depends on no module above it; recovery runs
 * in the recover phase, after every module's init, so everything it hands
 * files to is registered whatever the order of the module table.
 */
#include "wal.h"
#include "../core/io.h"
#include "../core/log.h"
#include "../core/ring.h"
#include "../core/stats.h"
#include "../tracker/tracker.h"
#include "batcher.h"
#include "walfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#define GROUP_MAX 64
#define EIO_RETRIES 3

static int hand(ow_batch_t *b, void *arg);

/* loop-thread state */
static ow_batcher_t batcher = {.timeouts_ms = {100, 100, 100}, .hand = hand};
static char *wal_dir_conf;
static char wal_dir[4096];

static ow_directive_t directives[] = {
    {"ingestion.batch_tracker.batch_config.max_messages", OW_CONF_INT, &batcher.max_messages, 1,
     1000000, "10000", NULL, 0},
    {"ingestion.batch_tracker.batch_config.max_size_bytes", OW_CONF_INT, &batcher.max_size_bytes,
     1024, (int64_t)1 << 32, "10485760", NULL, 0},
    {"ingestion.batch_tracker.wal_directory", OW_CONF_STR, &wal_dir_conf, 0, 4000, "", NULL, 0},
    OW_CONF_END};

static struct event *timer_ev;
static int timer_armed;

/* The three queues of the WAL stage. batch: the messages in open batches,
 * waiting for company while the writer is busy; no limit of its own (the
 * in-flight budget bounds it). wal: sealed batches on their way to the
 * writer thread, as many as its ring holds (a full ring fails the batch:
 * 503). publish: durable batches on their way back to the loop. */
static ow_queue_t batch_q, wal_q, publish_q;

/* writer thread */
static ow_ring_t wal_ring;
static pthread_t writer;
static int writer_started;
static atomic_int disk_full;
static atomic_int stopping;

/* registered in init (wal.h) */
static void (*sink_publish)(ow_batch_t *b);
static int (*sink_replay)(const ow_walbatch_t *wb, uint64_t *records);
static void (*adopters[OW_NSOURCES])(const ow_walref_t *ref);

void ow_wal_set_sink(void (*publish)(ow_batch_t *b),
		     int (*replay)(const ow_walbatch_t *wb, uint64_t *records))
{
	sink_publish = publish;
	sink_replay = replay;
}

void ow_wal_set_adopter(int source, void (*adopt)(const ow_walref_t *ref))
{
	adopters[source] = adopt;
}

/* its lines of /metrics (wal_stats) */
static struct {
	uint64_t batches[OW_NSIGNALS], batch_messages[OW_NSIGNALS];
	uint64_t wal_fsyncs, wal_fsync_errors, wal_bytes;
	uint64_t wal_recovered, wal_removed_torn, wal_quarantined;
	ow_hist_t fsync_latency;
} stats;

const char *ow_wal_dir(void)
{
	return wal_dir;
}

int ow_wal_disk_full(void)
{
	return atomic_load(&disk_full);
}

uint64_t ow_wal_inflight_batches(void)
{
	return batcher.inflight;
}

void ow_wal_set_timeout(int source, int64_t ms)
{
	batcher.timeouts_ms[source] = ms;
}

void ow_wal_set_limit(int source, int64_t messages)
{
	batcher.limits[source] = messages;
}

void ow_wal_ref(const ow_batch_t *b, ow_walref_t *ref)
{
	snprintf(ref->tenant, sizeof(ref->tenant), "%s", b->tenant);
	snprintf(ref->id, sizeof(ref->id), "%s", b->id);
	ref->attempt = b->wal_attempt;
}

/* The one place a file is named: {wal_dir}/{tenant}/batch_{id}.wal, with
 * _r{attempt} before .wal for a rewrite after a failed fsync. */
static void ref_name(const ow_walref_t *ref, char *out, size_t len)
{
	if (ref->attempt == 0)
		snprintf(out, len, "batch_%s.wal", ref->id);
	else
		snprintf(out, len, "batch_%s_r%d.wal", ref->id, ref->attempt);
}

static void ref_path(const ow_walref_t *ref, char *out, size_t len)
{
	char name[OW_BATCH_ID_LEN + 32];
	ref_name(ref, name, sizeof(name));
	snprintf(out, len, "%s/%s/%s", wal_dir, ref->tenant, name);
}

static void batch_path(const ow_batch_t *b, char *out, size_t len)
{
	ow_walref_t ref;
	ow_wal_ref(b, &ref);
	ref_path(&ref, out, len);
}

/* The inverse of ref_name for a file found in a tenant's directory: 0 when
 * the writer would not have named a file so. */
static int parse_name(const char *tenant, const char *name, ow_walref_t *ref)
{
	if (strncmp(name, "batch_", 6) != 0 || strlen(name) < 6 + OW_BATCH_ID_LEN)
		return 0;
	snprintf(ref->tenant, sizeof(ref->tenant), "%s", tenant);
	snprintf(ref->id, sizeof(ref->id), "%.*s", OW_BATCH_ID_LEN, name + 6);
	const char *rest = name + 6 + OW_BATCH_ID_LEN;
	ref->attempt = strncmp(rest, "_r", 2) == 0 ? atoi(rest + 2) : 0;
	char again[OW_BATCH_ID_LEN + 32];
	ref_name(ref, again, sizeof(again));
	return strcmp(again, name) == 0;
}

int ow_wal_release(const ow_walref_t *ref, const ow_walref_t *next)
{
	char path[4096 + 200];
	ref_path(ref, path, sizeof(path));
	int rc = ow_io_unlink(OW_IO_WAL, path);
	if (next == NULL || strcmp(next->tenant, ref->tenant) != 0) {
		*strrchr(path, '/') = '\0';
		ow_io_fsync_dir(OW_IO_WAL, path);
	}
	return rc;
}

/* Writes and fdatasyncs one batch; on failure unlinks what it wrote.
 * Returns OW_OK, OW_NOSPACE or OW_ERROR (errno set). */
static int write_file(const char *path, const ow_buf_t *img, int64_t *fsync_ns)
{
	int fd = ow_io_open(OW_IO_WAL, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return errno == ENOSPC ? OW_NOSPACE : OW_ERROR;
	int rc = ow_io_write_all(OW_IO_WAL, fd, img->data, img->len);
	if (rc == OW_OK) {
		int64_t t0 = ow_mono_ns();
		rc = ow_io_fdatasync(OW_IO_WAL, fd);
		*fsync_ns = ow_mono_ns() - t0;
	}
	int e = errno;
	close(fd);
	if (rc != OW_OK) {
		ow_io_unlink(OW_IO_WAL, path);
		errno = e;
		return e == ENOSPC ? OW_NOSPACE : OW_ERROR;
	}
	return OW_OK;
}

/* The tenant's directory, made durable in its parent when it is new. A
 * directory whose entry could not be synced is removed again, so the next
 * attempt makes and syncs it anew. */
static int tenant_dir(const char *tenant, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", wal_dir, tenant);
	if (mkdir(out, 0755) != 0)
		return errno == EEXIST ? OW_OK : OW_ERROR;
	if (ow_io_fsync_dir(OW_IO_WAL, wal_dir) == OW_OK)
		return OW_OK;
	int e = errno;
	rmdir(out);
	errno = e;
	return OW_ERROR;
}

static void wait_for_space(void)
{
	if (!atomic_exchange(&disk_full, 1))
		ow_log(OW_LOG_WARN,
		       "wal: disk full in %s; holding batches and answering 503 until "
		       "space returns",
		       wal_dir);
	for (int i = 0; i < 10 && !atomic_load(&stopping); i++)
		usleep(50000);
}

/* Writes one batch until its file is durable or cannot be; the directory
 * sync is the caller's. While the server drains, a full disk fails the
 * batch instead of holding it. */
static void write_batch(ow_batch_t *b, char dirs[][4096 + 80], int *ndirs)
{
	ow_buf_t img = {0};
	ow_walfile_build(b, &img);
	b->file_bytes = img.len;
	char dir[4096 + 80], path[4096 + 200];
	int eio = 0;
	int64_t t0 = ow_mono_ns();
	for (;;) {
		int rc = tenant_dir(b->tenant, dir, sizeof(dir));
		snprintf(path, sizeof(path), "%s", dir);
		if (rc == OW_OK) {
			batch_path(b, path, sizeof(path));
			rc = write_file(path, &img, &b->fsync_ns);
			if (rc == OW_OK)
				break;
		} else if (errno == ENOSPC) {
			rc = OW_NOSPACE;
		}
		b->wal_attempt++;
		if (rc == OW_NOSPACE && !atomic_load(&stopping)) {
			wait_for_space();
			continue;
		}
		ow_log(OW_LOG_ERROR, "wal: batch %s: %s: %s (attempt %d, file abandoned)", b->id,
		       path, strerror(errno), b->wal_attempt);
		if (++eio >= EIO_RETRIES) {
			b->wal_rc = OW_ERROR;
			ow_buf_free(&img);
			return;
		}
	}
	if (atomic_exchange(&disk_full, 0))
		ow_log(OW_LOG_INFO, "wal: disk space is back; accepting writes");
	b->write_ns = ow_mono_ns() - t0;
	b->wal_rc = OW_OK;
	ow_buf_free(&img);
	for (int i = 0; i < *ndirs; i++)
		if (strcmp(dirs[i], dir) == 0)
			return;
	memcpy(dirs[(*ndirs)++], dir, sizeof(dir));
}

/* A directory that cannot be synced leaves its new entries in doubt. Its
 * batches fail (their clients retry) and their files are removed, so a
 * recovery can never bring back a batch that was answered with an error. */
static void fail_dir(ow_batch_t **group, int n, const char *dir)
{
	ow_log(OW_LOG_ERROR, "wal: fsync of directory %s: %s; its new batches fail", dir,
	       strerror(errno));
	for (int i = 0; i < n; i++) {
		char d[4096 + 80], path[4096 + 200];
		snprintf(d, sizeof(d), "%s/%s", wal_dir, group[i]->tenant);
		if (group[i]->wal_rc != OW_OK || strcmp(d, dir) != 0)
			continue;
		group[i]->wal_rc = OW_ERROR;
		batch_path(group[i], path, sizeof(path));
		ow_io_unlink(OW_IO_WAL, path);
	}
	ow_io_fsync_dir(OW_IO_WAL, dir);
}

static void *writer_main(void *arg)
{
	OW_UNUSED(arg);
	static char dirs[GROUP_MAX][4096 + 80];
	ow_batch_t *group[GROUP_MAX];
	ow_batch_t *b;
	while ((b = ow_ring_pop(&wal_ring)) != NULL) {
		int n = 0, ndirs = 0;
		group[n++] = b;
		while (n < GROUP_MAX && (b = ow_ring_trypop(&wal_ring)) != NULL)
			group[n++] = b;
		for (int i = 0; i < n; i++)
			write_batch(group[i], dirs, &ndirs);
		for (int d = 0; d < ndirs; d++)
			if (ow_io_fsync_dir(OW_IO_WAL, dirs[d]) != OW_OK)
				fail_dir(group, n, dirs[d]);
		for (int i = 0; i < n; i++) {
			group[i]->wal_done_ns = ow_now_ns();
			group[i]->queued_mono = ow_mono_ns();
			ow_queue_put(&publish_q, 1, group[i]->bytes);
			ow_loop_post(&group[i]->job);
		}
	}
	return NULL;
}

static void on_written(ow_job_t *j)
{
	ow_batch_t *b = (ow_batch_t *)j;
	ow_queue_take(&publish_q, 1, b->bytes, b->queued_mono);
	if (b->wal_rc == OW_OK) {
		stats.wal_fsyncs++;
		stats.wal_bytes += b->file_bytes;
		stats.batches[b->signal]++;
		stats.batch_messages[b->signal] += b->nmsgs;
		ow_hist_observe(&stats.fsync_latency, (double)b->fsync_ns / 1e9);
		ow_tracker_batch_written(b);
		/* contract 1: the rows are in the buffer queries read before the
		 * requests are answered */
		sink_publish(b);
		ow_batch_finish(b, OW_OK);
	} else {
		stats.wal_fsync_errors++;
		ow_tracker_alert("wal_failed", b->id,
				 "batch could not be made durable; its requests "
				 "were answered with an error");
		ow_batch_finish(b, OW_ERROR);
	}
	ow_batcher_written(&batcher);
}

/* The batcher's hand-off to the writer thread. */
static int hand(ow_batch_t *b, void *arg)
{
	OW_UNUSED(arg);
	b->job.done = on_written;
	/* the oldest message's wait: a batch leaves all at once */
	ow_queue_take(&batch_q, b->nmsgs, b->bytes, b->opened_mono);
	return ow_ring_push_bytes(&wal_ring, b, b->bytes);
}

static void arm_timer(void)
{
	if (batcher.open == NULL || timer_armed)
		return;
	int64_t now = ow_mono_ns(), due = ow_batcher_due(&batcher);
	int64_t wait = OW_MAX(due - now, 0);
	struct timeval tv = {(time_t)(wait / 1000000000), (suseconds_t)(wait % 1000000000 / 1000)};
	evtimer_add(timer_ev, &tv);
	timer_armed = 1;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	OW_UNUSED(fd);
	OW_UNUSED(what);
	OW_UNUSED(arg);
	timer_armed = 0;
	ow_batcher_expire(&batcher, ow_mono_ns());
	arm_timer();
}

void ow_wal_add(ow_msg_t *m, const char *tenant, int signal, int source)
{
	/* No record to make durable (an empty request, or every record
	 * rejected as invalid): acknowledged at once, no WAL file, no batch. */
	if (m->records == 0) {
		m->batch_id = NULL;
		ow_msg_finish(m, OW_OK);
		return;
	}
	/* counted before the batcher may seal (and so take) it */
	ow_queue_put(&batch_q, 1, m->len);
	ow_batcher_add(&batcher, m, tenant, signal, source);
	arm_timer();
}

/* ---- recovery ---- */

static int quarantine(const char *tenant, const char *name, const char *path)
{
	char qdir[4096 + 80], qpath[4096 + 400];
	snprintf(qdir, sizeof(qdir), "%s/quarantine/wal/%s", ow_data_dir, tenant);
	if (ow_mkdir_p(qdir, 0755) != OW_OK)
		return OW_ERROR;
	snprintf(qpath, sizeof(qpath), "%s/%s", qdir, name);
	if (rename(path, qpath) != 0)
		return OW_ERROR;
	ow_io_fsync_dir(OW_IO_WAL, qdir);
	return OW_OK;
}

typedef struct {
	const ow_walbatch_t *wb;
	ow_walrec_fn each;
	void *arg;
	int bad;
} walk_t;

static void walk_record(void *arg, const uint8_t *rec, size_t len)
{
	walk_t *w = arg;
	ow_walpos_t pos;
	const uint8_t *payload;
	size_t plen;
	if (ow_walfile_record(&w->wb->info, rec, len, &pos, &payload, &plen) != OW_OK) {
		w->bad++;
		return;
	}
	if (w->wb->keep && !w->wb->keep(w->wb->keep_arg, &pos))
		return;
	w->each(w->arg, &pos, payload, plen);
}

int ow_wal_records(const ow_walbatch_t *wb, ow_walrec_fn each, void *arg)
{
	walk_t w = {wb, each, arg, 0};
	ow_walinfo_t again;
	ow_walfile_check(wb->image, wb->file_bytes, &again, walk_record, &w);
	return w.bad ? OW_ERROR : OW_OK;
}

/* Hands a complete file to the stage after the WAL, then removes it when
 * nothing in it is left to store, or quarantines it when it does not
 * decode. OW_OK when rows were replayed (nrecords grows). */
static int replay(ow_walbatch_t *wb, uint64_t *nrecords)
{
	ow_walinfo_t *info = &wb->info;
	char path[4096 + 200];
	ref_path(&wb->ref, path, sizeof(path));
	uint64_t records = 0;
	int rc = info->state == OW_WAL_VALID ? sink_replay(wb, &records) : OW_ERROR;
	if (rc == OW_DECLINED || rc == OW_AGAIN) {
		/* stored before the crash (only the janitor's step was left), or
		 * nothing in it is ours to store */
		if (rc == OW_DECLINED)
			ow_log(OW_LOG_INFO,
			       "wal: recovery: batch %s is already stored; removing %s", info->id,
			       path);
		else
			ow_log(OW_LOG_INFO,
			       "wal: recovery: batch %s: Kafka redelivers all its records "
			       "(not committed by this node); removing %s",
			       info->id, path);
		unlink(path);
		ow_tracker_batch_cleaned(info->id);
		return OW_DECLINED;
	}
	if (rc == OW_ERROR && info->state == OW_WAL_VALID) {
		info->state = OW_WAL_CORRUPT;
		snprintf(info->why, sizeof(info->why), "its records are not valid OTLP");
	}
	if (info->state == OW_WAL_CORRUPT) {
		int q = quarantine(wb->ref.tenant, strrchr(path, '/') + 1, path);
		char msg[512];
		snprintf(msg, sizeof(msg), "WAL file %s is corrupt (%s); %s", path, info->why,
			 q == OW_OK ? "moved to quarantine/wal/" : "could not be moved");
		ow_log(OW_LOG_ERROR, "wal: recovery: %s", msg);
		ow_tracker_alert("wal_corrupt", info->id[0] ? info->id : NULL, msg);
		stats.wal_quarantined++;
		return OW_ERROR;
	}
	*nrecords += records;
	stats.wal_recovered++;
	/* the tracker row as the file describes the batch */
	ow_batch_t b = {.signal = info->signal,
			.source = info->source,
			.created_ns = info->created_ns,
			.wal_done_ns = info->created_ns,
			.nmsgs = info->nrecords,
			.records = records,
			.last_offset = -1,
			.file_bytes = wb->file_bytes};
	memcpy(b.uuid, info->uuid, sizeof(b.uuid));
	memcpy(b.id, info->id, sizeof(b.id));
	memcpy(b.tenant, info->tenant, sizeof(b.tenant));
	ow_tracker_batch_recovered(&b);
	return OW_OK;
}

/* Reads and checks a file into image, for wb; OW_ERROR when it cannot be
 * read. */
static int load_path(const char *path, ow_walbatch_t *wb, ow_buf_t *image)
{
	if (ow_walfile_read(path, &wb->info, image) != OW_OK)
		return OW_ERROR;
	wb->image = image->data;
	wb->file_bytes = image->len;
	return OW_OK;
}

static int load(ow_walbatch_t *wb, ow_buf_t *image)
{
	char path[4096 + 200];
	ref_path(&wb->ref, path, sizeof(path));
	return load_path(path, wb, image);
}

int ow_wal_scan(const ow_walref_t *ref, ow_walrec_fn each, void *arg)
{
	ow_walbatch_t wb = {.ref = *ref};
	ow_buf_t img = {0};
	int rc = load(&wb, &img);
	if (rc == OW_OK)
		rc = wb.info.state == OW_WAL_VALID ? ow_wal_records(&wb, each, arg) : OW_ERROR;
	ow_buf_free(&img);
	return rc;
}

int ow_wal_replay(const ow_walref_t *ref, int (*keep)(void *arg, const ow_walpos_t *pos),
		  void *keep_arg, uint64_t *records)
{
	ow_walbatch_t wb = {.ref = *ref, .keep = keep, .keep_arg = keep_arg};
	ow_buf_t img = {0};
	int rc = load(&wb, &img);
	if (rc == OW_OK)
		rc = wb.info.state == OW_WAL_VALID ? replay(&wb, records) : OW_ERROR;
	ow_buf_free(&img);
	return rc;
}

typedef struct {
	uint8_t uuid[16];
} seen_t;

static int recover_dir(const char *tenant, seen_t **seen, size_t *nseen, uint64_t *nrecords)
{
	char dir[4096 + 80];
	snprintf(dir, sizeof(dir), "%s/%s", wal_dir, tenant);
	DIR *d = opendir(dir);
	if (d == NULL)
		return OW_ERROR;
	struct dirent *de;
	ow_buf_t img = {0};
	int changed = 0;
	while ((de = readdir(d)) != NULL) {
		size_t nl = strlen(de->d_name);
		if (strncmp(de->d_name, "batch_", 6) != 0 || nl < 10 ||
		    strcmp(de->d_name + nl - 4, ".wal") != 0)
			continue;
		char path[4096 + 400];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		ow_walbatch_t wb = {0};
		ow_walinfo_t *info = &wb.info;
		if (load_path(path, &wb, &img) != OW_OK) {
			ow_log(OW_LOG_ERROR, "wal: recovery: cannot read %s: %s", path,
			       strerror(errno));
			continue;
		}
		if (info->state == OW_WAL_TORN) {
			ow_log(OW_LOG_WARN,
			       "wal: recovery: removing %s (%s): it was never "
			       "acknowledged",
			       path, info->why);
			unlink(path);
			stats.wal_removed_torn++;
			changed = 1;
			continue;
		}
		if (info->state == OW_WAL_VALID) {
			int dup = 0;
			for (size_t i = 0; i < *nseen; i++)
				if (memcmp((*seen)[i].uuid, info->uuid, 16) == 0)
					dup = 1;
			if (dup) {
				/* A rewrite after a failed fsync whose first file
				 * survived: both are whole copies of one batch. */
				ow_log(OW_LOG_WARN, "wal: recovery: %s repeats batch %s; removed",
				       path, info->id);
				unlink(path);
				changed = 1;
				continue;
			}
		}
		if (!parse_name(tenant, de->d_name, &wb.ref)) {
			/* complete, but the writer never names a file so: the WAL
			 * could not find it again to release it */
			ow_log(OW_LOG_WARN, "wal: recovery: ignoring %s: not a WAL file name",
			       path);
			continue;
		}
		if (info->state == OW_WAL_VALID && adopters[info->source]) {
			/* which of its records to keep is the source's call (Kafka:
			 * the offsets its consumer group has committed) */
			adopters[info->source](&wb.ref);
		} else if (replay(&wb, nrecords) != OW_OK) {
			changed = 1;
			continue;
		}
		*seen = ow_realloc(*seen, (*nseen + 1) * sizeof(seen_t));
		memcpy((*seen)[(*nseen)++].uuid, info->uuid, 16);
	}
	closedir(d);
	ow_buf_free(&img);
	if (changed)
		ow_io_fsync_dir(OW_IO_WAL, dir);
	return OW_OK;
}

static int wal_recover(void)
{
	DIR *d = opendir(wal_dir);
	if (d == NULL) {
		ow_log(OW_LOG_CRIT, "wal: cannot read %s: %s", wal_dir, strerror(errno));
		return OW_ERROR;
	}
	seen_t *seen = NULL;
	size_t nseen = 0;
	uint64_t nrecords = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		/* the one definition: a directory it refuses was never written
		 * by this version (a ".name" is one an older one took) */
		if (!ow_tenant_valid(de->d_name, strlen(de->d_name))) {
			ow_log(OW_LOG_WARN, "wal: recovery: ignoring %s/%s: not a tenant directory",
			       wal_dir, de->d_name);
			continue;
		}
		recover_dir(de->d_name, &seen, &nseen, &nrecords);
	}
	closedir(d);
	free(seen);
	/* A crash between a flush's WAL removal and the tracker's wal_removed_at
	 * leaves a stored batch without WAL file: none is left now. */
	ow_tracker_batch_cleaned(NULL);
	ow_log(
	    OW_LOG_INFO,
	    "wal: recovery: %zu complete batches (%llu records) replayed, %llu torn files removed, "
	    "%llu corrupt files quarantined",
	    nseen, (unsigned long long)nrecords, (unsigned long long)stats.wal_removed_torn,
	    (unsigned long long)stats.wal_quarantined);
	return OW_OK;
}

static int wal_init(struct event_base *base)
{
	OW_UNUSED(base);
	if (*wal_dir_conf)
		snprintf(wal_dir, sizeof(wal_dir), "%s", wal_dir_conf);
	else
		snprintf(wal_dir, sizeof(wal_dir), "%s/wal", ow_data_dir);
	if (ow_mkdir_p(wal_dir, 0755) != OW_OK) {
		ow_log(OW_LOG_CRIT, "wal: cannot create %s: %s", wal_dir, strerror(errno));
		return OW_ERROR;
	}
	return OW_OK;
}

static int wal_start(struct event_base *base)
{
	timer_ev = evtimer_new(base, on_timer, NULL);
	ow_ring_init(&wal_ring, 4096, &wal_q);
	ow_queue_register(&batch_q, "batch", OW_Q_BATCH, 0, 0);
	ow_queue_register(&wal_q, "wal", OW_Q_WAL, wal_ring.cap, 0);
	ow_queue_register(&publish_q, "publish", OW_Q_PUBLISH, 0, 0);
	if (pthread_create(&writer, NULL, writer_main, NULL) != 0)
		return OW_ERROR;
	writer_started = 1;
	return OW_OK;
}

static int wal_busy(void)
{
	return batcher.open != NULL || batcher.inflight > 0;
}

static void wal_drain(void)
{
	atomic_store(&stopping, 1); /* a full disk no longer holds batches */
	ow_batcher_seal_all(&batcher);
}

static void wal_stop(void)
{
	if (!writer_started)
		return;
	atomic_store(&stopping, 1);
	ow_ring_close(&wal_ring);
	pthread_join(writer, NULL);
	ow_queue_unregister(&batch_q);
	ow_queue_unregister(&wal_q);
	ow_queue_unregister(&publish_q);
	ow_ring_destroy(&wal_ring);
	if (timer_ev)
		event_free(timer_ev);
	writer_started = 0;
}

static void wal_stats(ow_buf_t *b)
{
	ow_metric_head(b, "openwit_batches_total", "counter", "Batches made durable in the WAL.");
	for (int s = 0; s < OW_NSIGNALS; s++)
		ow_buf_printf(b, "openwit_batches_total{signal=\"%s\"} %llu\n", ow_signal_name(s),
			      (unsigned long long)stats.batches[s]);
	ow_metric_head(b, "openwit_batch_messages_total", "counter",
		       "Messages (requests) in durable batches.");
	for (int s = 0; s < OW_NSIGNALS; s++)
		ow_buf_printf(b, "openwit_batch_messages_total{signal=\"%s\"} %llu\n",
			      ow_signal_name(s), (unsigned long long)stats.batch_messages[s]);
	ow_metric_one(b, "openwit_wal_fsyncs_total", "counter",
		      "WAL files written and fdatasync'd.", stats.wal_fsyncs);
	ow_metric_one(b, "openwit_wal_failed_batches_total", "counter",
		      "Batches the WAL could not make durable.", stats.wal_fsync_errors);
	ow_metric_one(b, "openwit_wal_bytes_total", "counter", "Bytes written to WAL files.",
		      stats.wal_bytes);
	ow_metric_one(b, "openwit_wal_disk_full", "gauge", "1 while WAL writes fail with ENOSPC.",
		      (uint64_t)ow_wal_disk_full());
	ow_metric_one(b, "openwit_wal_recovered_batches", "gauge",
		      "Complete WAL files found at start.", stats.wal_recovered);
	ow_metric_one(b, "openwit_wal_quarantined_files", "gauge",
		      "Corrupt WAL files moved to quarantine at start.", stats.wal_quarantined);
	ow_metric_hist(b, "openwit_wal_fsync_seconds", "fdatasync of one WAL file.",
		       &stats.fsync_latency);
}

ow_module_t ow_wal_module = {
    .name = "wal",
    .directives = directives,
    .init = wal_init,
    .recover = wal_recover,
    .start = wal_start,
    .drain = wal_drain,
    .busy = wal_busy,
    .stop = wal_stop,
    .stats = wal_stats,
};

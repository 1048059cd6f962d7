/*
 * io.c - see io.h.
 */
#include "io.h"
#include "core.h"
#include "log.h"
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/statvfs.h>
#include <unistd.h>

enum { IO_OPEN, IO_WRITE, IO_FSYNC, IO_DIRSYNC, IO_RENAME, IO_UNLINK, IO_SPACE, IO_NOPS };

#include <pthread.h>
#include <stdatomic.h>

#ifdef OW_FAULT_INJECTION
#include <libgen.h>
#include <sys/stat.h>

/*
 * Power loss: "OP:POWER:N" cuts the power at the Nth call of OP, before it
 * runs. What the kernel had not made durable is undone, as a real power
 * cut would: data written since a file's last fdatasync is truncated away,
 * and directory entries made since their directory's last fsync (new files,
 * renames) vanish, a rename going back to its old name. Then the process
 * dies as if killed. Only files written through this layer are tracked;
 * SQLite syncs its own files (synchronous=FULL for the commits that count).
 */
typedef struct {
	char path[4096], from[4096]; /* from: a rename not yet made durable */
	off_t synced;		     /* size at the last fdatasync; -1: never */
	int dirty, durable;	     /* durable: the directory entry is */
} tracked_t;

static pthread_mutex_t track_mu = PTHREAD_MUTEX_INITIALIZER;
static tracked_t *tracked;
static int ntracked, power_armed;
static int fd_entry[65536]; /* entry + 1 of an open fd; 0 none */

static tracked_t *find_path(const char *path)
{
	for (int i = 0; i < ntracked; i++)
		if (strcmp(tracked[i].path, path) == 0)
			return &tracked[i];
	return NULL;
}

static void track_open(int fd, const char *path)
{
	if (!power_armed || fd < 0 || fd >= 65536)
		return;
	pthread_mutex_lock(&track_mu);
	tracked_t *t = find_path(path);
	if (t == NULL) {
		tracked = ow_realloc(tracked, (size_t)(ntracked + 1) * sizeof(*tracked));
		t = &tracked[ntracked++];
		memset(t, 0, sizeof(*t));
		snprintf(t->path, sizeof(t->path), "%s", path);
		t->synced = -1;
	}
	fd_entry[fd] = (int)(t - tracked) + 1;
	pthread_mutex_unlock(&track_mu);
}

static void track_fd(int fd, int synced)
{
	if (!power_armed || fd < 0 || fd >= 65536)
		return;
	pthread_mutex_lock(&track_mu);
	if (fd_entry[fd]) {
		tracked_t *t = &tracked[fd_entry[fd] - 1];
		struct stat st;
		if (synced && fstat(fd, &st) == 0) {
			t->synced = st.st_size;
			t->dirty = 0;
		} else if (!synced) {
			t->dirty = 1;
		}
	}
	pthread_mutex_unlock(&track_mu);
}

static void track_dir(const char *dir)
{
	if (!power_armed)
		return;
	pthread_mutex_lock(&track_mu);
	for (int i = 0; i < ntracked; i++) {
		char copy[4096];
		snprintf(copy, sizeof(copy), "%s", tracked[i].path);
		if (strcmp(dirname(copy), dir) == 0) {
			tracked[i].durable = 1;
			tracked[i].from[0] = '\0';
		}
	}
	pthread_mutex_unlock(&track_mu);
}

static void track_rename(const char *from, const char *to)
{
	if (!power_armed)
		return;
	pthread_mutex_lock(&track_mu);
	tracked_t *t = find_path(from);
	if (t) {
		if (t->durable)
			snprintf(t->from, sizeof(t->from), "%s", from);
		snprintf(t->path, sizeof(t->path), "%s", to);
		t->durable = 0;
	}
	pthread_mutex_unlock(&track_mu);
}

static void track_unlink(const char *path)
{
	if (!power_armed)
		return;
	pthread_mutex_lock(&track_mu);
	tracked_t *t = find_path(path);
	if (t)
		t->path[0] = '\0';
	pthread_mutex_unlock(&track_mu);
}

static void power_loss(void)
{
	pthread_mutex_lock(&track_mu);
	for (int i = 0; i < ntracked; i++) {
		tracked_t *t = &tracked[i];
		if (t->path[0] == '\0')
			continue;
		if (t->dirty && truncate(t->path, t->synced < 0 ? 0 : t->synced) != 0)
			continue;
		if (!t->durable) {
			if (t->from[0])
				rename(t->path, t->from);
			else
				unlink(t->path);
		}
	}
	ow_log(OW_LOG_WARN, "io: simulated power loss");
	_exit(137);
}

typedef struct {
	int domain, op, err;
	long first, last;
} fault_t;

static fault_t faults[16];
static int nfaults;
static useconds_t slow_us = 500000; /* OPENWIT_IO_SLOW_MS */
static atomic_long calls[OW_IO_NDOMAINS][IO_NOPS];

void ow_io_faults_init(void)
{
	static const char *ops[IO_NOPS] = {"open",   "write",  "fsync", "dirsync",
					   "rename", "unlink", "space"};
	const char *spec = getenv("OPENWIT_IO_FAULTS");
	const char *slow = getenv("OPENWIT_IO_SLOW_MS");
	if (slow && atoi(slow) > 0)
		slow_us = (useconds_t)atoi(slow) * 1000;
	if (spec == NULL)
		return;
	char *copy = ow_strdup(spec), *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok && nfaults < 16;
	     tok = strtok_r(NULL, ",", &save)) {
		char op[16], err[16];
		long a, b;
		int n = sscanf(tok, "%15[a-z.]:%15[A-Z]:%ld-%ld", op, err, &a, &b);
		if (n < 3)
			continue;
		if (n == 3)
			b = a;
		fault_t *f = &faults[nfaults];
		const char *name = op;
		f->domain = OW_IO_WAL;
		if (strncmp(op, "pq.", 3) == 0) {
			f->domain = OW_IO_PARQUET;
			name += 3;
		}
		f->op = -1;
		for (int i = 0; i < IO_NOPS; i++)
			if (strcmp(name, ops[i]) == 0)
				f->op = i;
		f->err = !strcmp(err, "ENOSPC")	 ? ENOSPC
			 : !strcmp(err, "SLOW")	 ? 0
			 : !strcmp(err, "POWER") ? -1
						 : EIO;
		if (f->err == -1)
			power_armed = 1;
		f->first = a;
		f->last = b;
		if (f->op >= 0)
			nfaults++;
	}
	free(copy);
	ow_log(OW_LOG_WARN, "io: fault injection active: %s", spec);
}

static int inject(int domain, int op)
{
	if (nfaults == 0)
		return 0;
	long n = atomic_fetch_add(&calls[domain][op], 1) + 1;
	for (int i = 0; i < nfaults; i++)
		if (faults[i].domain == domain && faults[i].op == op && n >= faults[i].first &&
		    n <= faults[i].last) {
			if (faults[i].err == 0) {
				usleep(slow_us); /* SLOW: a disk that takes its time */
				return 0;
			}
			if (faults[i].err == -1)
				power_loss();
			errno = faults[i].err;
			return 1;
		}
	return 0;
}
#else
#define track_open(fd, path) ((void)0)
#define track_fd(fd, synced) ((void)0)
#define track_dir(dir) ((void)0)
#define track_rename(from, to) ((void)0)
#define track_unlink(path) ((void)0)

void ow_io_faults_init(void)
{
}

static int inject(int domain, int op)
{
	OW_UNUSED(domain);
	OW_UNUSED(op);
	return 0;
}
#endif

int ow_io_open(int domain, const char *path, int flags, mode_t mode)
{
	if (inject(domain, IO_OPEN))
		return -1;
	int fd = open(path, flags, mode);
	track_open(fd, path);
	return fd;
}

int ow_io_write_all(int domain, int fd, const void *p, size_t n)
{
	const char *s = p;
	if (inject(domain, IO_WRITE))
		return OW_ERROR;
	track_fd(fd, 0);
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return OW_ERROR;
		s += w;
		n -= (size_t)w;
	}
	return OW_OK;
}

int ow_io_fdatasync(int domain, int fd)
{
	if (inject(domain, IO_FSYNC))
		return OW_ERROR;
	if (fdatasync(fd) != 0)
		return OW_ERROR;
	track_fd(fd, 1);
	return OW_OK;
}

int ow_io_fsync_dir(int domain, const char *path)
{
	if (inject(domain, IO_DIRSYNC))
		return OW_ERROR;
	if (ow_fsync_dir(path) != OW_OK)
		return OW_ERROR;
	track_dir(path);
	return OW_OK;
}

int ow_io_rename(int domain, const char *from, const char *to)
{
	if (inject(domain, IO_RENAME))
		return OW_ERROR;
	if (rename(from, to) != 0)
		return OW_ERROR;
	track_rename(from, to);
	return OW_OK;
}

#ifdef OW_FAULT_INJECTION
static atomic_ullong disk_freed; /* bytes of parts unlinked: the pretend disk's */
#endif

int ow_io_unlink(int domain, const char *path)
{
	if (inject(domain, IO_UNLINK))
		return OW_ERROR;
	track_unlink(path);
#ifdef OW_FAULT_INJECTION
	struct stat st;
	off_t size = domain == OW_IO_PARQUET && stat(path, &st) == 0 ? st.st_size : 0;
	if (unlink(path) != 0)
		return OW_ERROR;
	atomic_fetch_add(&disk_freed, (unsigned long long)size);
	return OW_OK;
#else
	return unlink(path) == 0 ? OW_OK : OW_ERROR;
#endif
}

/* The fault build takes the disk's numbers from the file named by
 * OPENWIT_IO_DISK when it holds two ("FREE TOTAL", bytes), read at every
 * call so that a test can fill and empty a pretend disk; the parts
 * unlinked since start free their bytes on it, as on a real disk. */
static int fake_disk(uint64_t *avail, uint64_t *total)
{
#ifdef OW_FAULT_INJECTION
	const char *path = getenv("OPENWIT_IO_DISK");
	FILE *f = path ? fopen(path, "r") : NULL;
	if (f == NULL)
		return 0;
	unsigned long long a, t;
	int n = fscanf(f, "%llu %llu", &a, &t);
	fclose(f);
	if (n != 2 || t == 0)
		return 0;
	*avail = OW_MIN(a + atomic_load(&disk_freed), t);
	*total = t;
	return 1;
#else
	OW_UNUSED(avail);
	OW_UNUSED(total);
	return 0;
#endif
}

int ow_io_disk_space(const char *path, uint64_t *avail, uint64_t *total)
{
	if (inject(OW_IO_PARQUET, IO_SPACE))
		return OW_ERROR;
	if (fake_disk(avail, total))
		return OW_OK;
	struct statvfs v;
	if (statvfs(path, &v) != 0)
		return OW_ERROR;
	*avail = (uint64_t)v.f_bavail * v.f_frsize;
	*total = (uint64_t)v.f_blocks * v.f_frsize;
	return OW_OK;
}

/* ---- the disk thread ----
 *
 * A thread of its own, started with the first job, runs them in order
 * (ow_io_submit_first's before those waiting);
 * what it has left when ow_io_stop runs is done then. After that (or when
 * the thread cannot start) a job runs at once, on the caller's thread.
 * A job finished after the loop ended (ow_workers_stop) and before
 * ow_io_stop waits for ow_io_stop to run its done(), on its thread: the
 * modules' stops run meanwhile. */
static pthread_mutex_t disk_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t disk_cv = PTHREAD_COND_INITIALIZER;
static ow_job_t *disk_head, **disk_tail = &disk_head;
static ow_job_t *disk_left; /* done() due, the loop gone (disk_mu) */
static pthread_t disk_thread;
static int disk_started, disk_stopped;

/* work, then done: on the loop while it runs, else here */
static void disk_run(ow_job_t *j, int loop)
{
	void (*done)(ow_job_t *) = j->done;
	j->work(j);
	if (done && loop && ow_loop_post(j) != OW_OK) {
		pthread_mutex_lock(&disk_mu);
		j->next = disk_left;
		disk_left = j;
		pthread_mutex_unlock(&disk_mu);
	} else if (done && !loop) {
		done(j);
	}
}

static void *disk_main(void *arg)
{
	OW_UNUSED(arg);
	pthread_mutex_lock(&disk_mu);
	for (;;) {
		while (!disk_head && !disk_stopped)
			pthread_cond_wait(&disk_cv, &disk_mu);
		ow_job_t *j = disk_head;
		if (!j)
			break;
		if (!(disk_head = j->next))
			disk_tail = &disk_head;
		int loop = !disk_stopped;
		pthread_mutex_unlock(&disk_mu);
		disk_run(j, loop);
		pthread_mutex_lock(&disk_mu);
	}
	pthread_mutex_unlock(&disk_mu);
	return NULL;
}

static void disk_put(ow_job_t *j, int first)
{
	j->next = NULL;
	pthread_mutex_lock(&disk_mu);
	if (!disk_started && !disk_stopped)
		disk_started = pthread_create(&disk_thread, NULL, disk_main, NULL) == 0;
	if (!disk_started || disk_stopped) {
		pthread_mutex_unlock(&disk_mu);
		disk_run(j, 0);
		return;
	}
	if (first && disk_head) {
		j->next = disk_head;
		disk_head = j;
	} else {
		*disk_tail = j;
		disk_tail = &j->next;
	}
	pthread_cond_signal(&disk_cv);
	pthread_mutex_unlock(&disk_mu);
}

void ow_io_submit(ow_job_t *j)
{
	disk_put(j, 0);
}

void ow_io_submit_first(ow_job_t *j)
{
	disk_put(j, 1);
}

void ow_io_stop(void)
{
	pthread_mutex_lock(&disk_mu);
	disk_stopped = 1;
	int started = disk_started;
	pthread_cond_signal(&disk_cv);
	pthread_mutex_unlock(&disk_mu);
	if (started)
		pthread_join(disk_thread, NULL);
	for (ow_job_t *j = disk_left, *next; j; j = next) {
		next = j->next;
		j->done(j);
	}
	disk_left = NULL;
}

typedef struct {
	ow_job_t job;
	int domain;
	_Atomic uint64_t *pending;
	uint64_t bytes;
	char path[];
} unlink_t;

static void unlink_work(ow_job_t *j)
{
	unlink_t *u = (unlink_t *)j;
	(void)ow_io_unlink(u->domain, u->path);
	if (u->pending)
		atomic_fetch_sub(u->pending, u->bytes);
	free(u);
}

void ow_io_unlink_later(int domain, const char *path, _Atomic uint64_t *pending, uint64_t bytes)
{
	size_t n = strlen(path) + 1;
	unlink_t *u = ow_alloc(sizeof(*u) + n);
	*u = (unlink_t){
	    .job.work = unlink_work, .domain = domain, .pending = pending, .bytes = bytes};
	memcpy(u->path, path, n);
	ow_io_submit(&u->job);
}

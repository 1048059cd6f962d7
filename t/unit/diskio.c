/* diskio: the disk thread (modules/core/io.h) after the loop has ended. A
 * job it finishes between ow_workers_stop and ow_io_stop is not handed to
 * the loop (whose eventfd is closed, its number maybe another file's): its
 * done() runs once, at ow_io_stop. */
#include "../lib/tap.h"
#include "modules/core/core.h"
#include "modules/core/io.h"
#include "modules/core/worker.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static _Atomic int worked, done;

static void job_work(ow_job_t *j)
{
	OW_UNUSED(j);
	atomic_store(&worked, 1);
}

static void job_done(ow_job_t *j)
{
	OW_UNUSED(j);
	atomic_fetch_add(&done, 1);
}

int main(void)
{
	struct event_base *base = event_base_new();
	ok(ow_workers_start(base, 1, 16) == OW_OK, "the ingest pool and its eventfd");
	ow_workers_stop();
	/* the eventfd's number is free again: a file takes it */
	char path[] = "/tmp/owdiskioXXXXXX";
	int fd = mkstemp(path);
	ok(fd >= 0, "a file opened after the loop ended");
	ow_job_t early = {.done = job_done};
	is_int(ow_loop_post(&early), OW_ERROR, "ow_loop_post after ow_workers_stop: not taken");

	ow_job_t j = {.work = job_work, .done = job_done};
	ow_io_submit(&j);
	for (int i = 0; i < 2000 && !atomic_load(&worked); i++) {
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	ok(atomic_load(&worked), "the disk thread ran the job's work");
	struct timespec ts = {0, 20 * 1000000};
	nanosleep(&ts, NULL);
	is_int(atomic_load(&done), 0, "its done() waits: the loop is gone");
	struct stat st;
	ok(fstat(fd, &st) == 0 && st.st_size == 0,
	   "nothing written into the file that took the eventfd's number");
	ow_io_stop();
	is_int(atomic_load(&done), 1, "ow_io_stop ran its done() once");
	close(fd);
	unlink(path);
	event_base_free(base);
	return done_testing();
}

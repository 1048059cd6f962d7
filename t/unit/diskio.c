/* diskio: the disk thread (modules/core/io.h). Jobs run in order, but
 * ow_io_submit_first's ahead of those waiting. After the loop has ended,
 * a job it finishes between ow_workers_stop and ow_io_stop is not handed
 * to the loop (whose eventfd is closed, its number maybe another file's):
 * its done() runs once, at ow_io_stop. */
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

static _Atomic int worked, done, gate, order[3], norder;

static void sleep_ms(int ms)
{
	struct timespec ts = {0, ms * 1000000L};
	nanosleep(&ts, NULL);
}

typedef struct {
	ow_job_t job;
	int id;
} step_t;

static void step_work(ow_job_t *j)
{
	while (((step_t *)j)->id == 0 && !atomic_load(&gate))
		sleep_ms(1);
	order[atomic_fetch_add(&norder, 1)] = ((step_t *)j)->id;
}

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
	/* the first job holds the thread while two more wait */
	step_t steps[3] = {
	    {{.work = step_work}, 0}, {{.work = step_work}, 1}, {{.work = step_work}, 2}};
	ow_io_submit(&steps[0].job);
	sleep_ms(20);
	ow_io_submit(&steps[1].job);
	ow_io_submit_first(&steps[2].job);
	atomic_store(&gate, 1);
	for (int i = 0; i < 2000 && atomic_load(&norder) < 3; i++)
		sleep_ms(1);
	ok(atomic_load(&norder) == 3 && order[0] == 0 && order[1] == 2 && order[2] == 1,
	   "ow_io_submit_first's job ran ahead of the one waiting before it (%d %d %d)", order[0],
	   order[1], order[2]);

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
	for (int i = 0; i < 2000 && !atomic_load(&worked); i++)
		sleep_ms(1);
	ok(atomic_load(&worked), "the disk thread ran the job's work");
	sleep_ms(20);
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

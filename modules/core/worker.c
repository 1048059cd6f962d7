/*
 * worker.c - see worker.h. Finished jobs go on a mutex-protected list in
 * completion order; the eventfd is written only when the list goes from
 * empty to non-empty, so a burst of completions costs one wake-up.
 */
#include "worker.h"
#include "core.h"
#include "log.h"
#include "ring.h"

#include <errno.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

static ow_ring_t work_ring;
static pthread_t *threads;
static int nthreads;
static int efd = -1;
static struct event *wake_ev;
static pthread_mutex_t done_mu = PTHREAD_MUTEX_INITIALIZER;
static ow_job_t *done_head, *done_tail;

void ow_loop_post(ow_job_t *j)
{
	int was_empty;
	j->next = NULL;
	pthread_mutex_lock(&done_mu);
	was_empty = done_head == NULL;
	if (done_tail)
		done_tail->next = j;
	else
		done_head = j;
	done_tail = j;
	pthread_mutex_unlock(&done_mu);
	if (was_empty) {
		uint64_t one = 1;
		ssize_t n = write(efd, &one, sizeof(one));
		OW_UNUSED(n);
	}
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	OW_UNUSED(what);
	OW_UNUSED(arg);
	uint64_t v;
	ssize_t n = read(fd, &v, sizeof(v));
	OW_UNUSED(n);
	pthread_mutex_lock(&done_mu);
	ow_job_t *j = done_head;
	done_head = done_tail = NULL;
	pthread_mutex_unlock(&done_mu);
	while (j) {
		ow_job_t *next = j->next;
		j->done(j);
		j = next;
	}
}

static void *worker_main(void *arg)
{
	OW_UNUSED(arg);
	ow_job_t *j;
	while ((j = ow_ring_pop(&work_ring)) != NULL) {
		if (j->work)
			j->work(j);
		ow_loop_post(j);
	}
	return NULL;
}

int ow_workers_start(struct event_base *base, int n, size_t queue_slots)
{
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (efd < 0) {
		ow_log(OW_LOG_CRIT, "eventfd: %s", strerror(errno));
		return OW_ERROR;
	}
	wake_ev = event_new(base, efd, EV_READ | EV_PERSIST, on_wake, NULL);
	event_add(wake_ev, NULL);
	ow_ring_init(&work_ring, queue_slots);
	if (n <= 0) {
		long cores = sysconf(_SC_NPROCESSORS_ONLN);
		n = cores > 0 ? (int)cores : 1;
	}
	threads = ow_calloc((size_t)n, sizeof(pthread_t));
	for (nthreads = 0; nthreads < n; nthreads++)
		if (pthread_create(&threads[nthreads], NULL, worker_main, NULL) != 0) {
			ow_log(OW_LOG_CRIT, "cannot start worker thread");
			return OW_ERROR;
		}
	return OW_OK;
}

int ow_workers_count(void)
{
	return nthreads;
}

int ow_work_submit(ow_job_t *j)
{
	return ow_ring_push(&work_ring, j);
}

size_t ow_work_queued(void)
{
	return ow_ring_count(&work_ring);
}

void ow_workers_stop(void)
{
	if (threads == NULL)
		return;
	ow_ring_close(&work_ring);
	for (int i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	free(threads);
	threads = NULL;
	/* Jobs finished after the loop stopped still need their done(). */
	on_wake(efd, 0, NULL);
	event_free(wake_ev);
	close(efd);
	ow_ring_destroy(&work_ring);
}

/*
 * worker.c - see worker.h. Finished jobs of every pool go on one
 * mutex-protected list in
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
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

struct ow_pool {
	const char *name;
	ow_ring_t ring;
	ow_queue_t queue;
	pthread_t *threads;
	int nthreads, nice;
};

static ow_pool_t ingest;
static int efd = -1;
static struct event *wake_ev;
static pthread_mutex_t done_mu = PTHREAD_MUTEX_INITIALIZER;
static ow_job_t *done_head, *done_tail;
static int loop_gone; /* ow_workers_stop ran (done_mu) */

int ow_loop_post(ow_job_t *j)
{
	int was_empty;
	j->next = NULL;
	pthread_mutex_lock(&done_mu);
	if (loop_gone) { /* efd is closed (its number may be another file's) */
		pthread_mutex_unlock(&done_mu);
		return OW_ERROR;
	}
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
	return OW_OK;
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
	ow_pool_t *p = arg;
	/* nice is per thread on Linux, and threads a worker starts inherit it */
	if (p->nice && setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), p->nice) != 0)
		ow_log(OW_LOG_WARN, "%s workers: cannot lower their priority: %s", p->name,
		       strerror(errno));
	ow_job_t *j;
	while ((j = ow_ring_pop(&p->ring)) != NULL) {
		if (j->work)
			j->work(j);
		ow_loop_post(j);
	}
	return NULL;
}

/* A pool's queue has no byte limit of its own: the ingest jobs' requests
 * are in the in-flight budget, and the queries' under their cap. */
static int pool_start(ow_pool_t *p, const char *name, const char *qname, int stage, int n,
		      size_t slots, int nice)
{
	p->name = name;
	p->nice = nice;
	ow_ring_init(&p->ring, slots, &p->queue);
	ow_queue_register(&p->queue, qname, stage, p->ring.cap, 0);
	if (n <= 0) {
		long cores = sysconf(_SC_NPROCESSORS_ONLN);
		n = cores > 0 ? (int)cores : 1;
	}
	p->threads = ow_calloc((size_t)n, sizeof(pthread_t));
	for (p->nthreads = 0; p->nthreads < n; p->nthreads++)
		if (pthread_create(&p->threads[p->nthreads], NULL, worker_main, p) != 0) {
			ow_log(OW_LOG_CRIT, "cannot start %s worker thread", name);
			return OW_ERROR;
		}
	return OW_OK;
}

static void pool_stop(ow_pool_t *p)
{
	if (p->threads == NULL)
		return;
	ow_ring_close(&p->ring);
	for (int i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	free(p->threads);
	p->threads = NULL;
	ow_queue_unregister(&p->queue);
	ow_ring_destroy(&p->ring);
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
	return pool_start(&ingest, "ingest", "decode", OW_Q_DECODE, n, queue_slots, 0);
}

int ow_workers_count(void)
{
	return ingest.nthreads;
}

int ow_work_submit(ow_job_t *j)
{
	return ow_ring_push(&ingest.ring, j);
}

size_t ow_work_queued(void)
{
	return ow_ring_count(&ingest.ring);
}

ow_pool_t *ow_pool_start(const char *name, int nthreads, size_t slots, int nice)
{
	ow_pool_t *p = ow_calloc(1, sizeof(*p));
	if (pool_start(p, name, name, OW_Q_QUERY, nthreads, slots, nice) != OW_OK) {
		ow_pool_stop(p);
		return NULL;
	}
	return p;
}

int ow_pool_submit(ow_pool_t *p, ow_job_t *j)
{
	return ow_ring_push(&p->ring, j);
}

size_t ow_pool_queued(ow_pool_t *p)
{
	return ow_ring_count(&p->ring);
}

int ow_pool_threads(const ow_pool_t *p)
{
	return p->nthreads;
}

void ow_pool_stop(ow_pool_t *p)
{
	if (p == NULL)
		return;
	pool_stop(p);
	free(p);
}

void ow_workers_stop(void)
{
	if (ingest.threads == NULL)
		return;
	pool_stop(&ingest);
	pthread_mutex_lock(&done_mu);
	loop_gone = 1;
	pthread_mutex_unlock(&done_mu);
	/* Jobs finished after the loop stopped still need their done(). */
	on_wake(efd, 0, NULL);
	event_free(wake_ev);
	close(efd);
}

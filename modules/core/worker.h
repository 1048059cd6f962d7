/*
 * worker.h - the shared worker pool and the way back to the loop.
 *
 * A job is a struct embedded in whatever it works on. ow_work_submit()
 * hands it to the ingest pool (one thread per core by default); a pool runs
 * job->work() on a worker, then queues the job for the loop, which runs
 * job->done() there. Threads that are not pool workers (the WAL writer,
 * the tracker) hand results back with ow_loop_post(). One eventfd wakes
 * the loop for any number of finished jobs.
 */
#ifndef OW_WORKER_H
#define OW_WORKER_H

#include <event2/event.h>

typedef struct ow_job ow_job_t;

struct ow_job {
	void (*work)(ow_job_t *j); /* on a worker thread; may be NULL */
	void (*done)(ow_job_t *j); /* on the loop thread */
	ow_job_t *next;
};

/* The ingest pool: decoding, flushing, merging. */
int ow_workers_start(struct event_base *base, int nthreads, size_t queue_slots);
int ow_work_submit(ow_job_t *j); /* OW_AGAIN when the queue is full */
/* any thread: run j->done on the loop; OW_ERROR (the job not taken) once
 * ow_workers_stop has run */
int ow_loop_post(ow_job_t *j);
size_t ow_work_queued(void);
void ow_workers_stop(void);
int ow_workers_count(void);

/* Another class of work with threads and a queue of its own (the queries:
 * modules/control), so that its jobs never wait in front of the ingest
 * pool's, nor fill its queue. Its threads run at nice (0-19): on a busy
 * machine the ingest workers, and so the acknowledgements, come first.
 * nthreads 0: one per core. Its jobs' done() run on the loop, as the
 * ingest pool's. Its queue is listed under its name, after the ingest
 * pipeline's (queue.h). Started after ow_workers_start; stopped before
 * ow_workers_stop. */
typedef struct ow_pool ow_pool_t;
ow_pool_t *ow_pool_start(const char *name, int nthreads, size_t slots, int nice);
int ow_pool_submit(ow_pool_t *p, ow_job_t *j); /* OW_AGAIN when its queue is full */
size_t ow_pool_queued(ow_pool_t *p);
int ow_pool_threads(const ow_pool_t *p);
void ow_pool_stop(ow_pool_t *p);

#endif

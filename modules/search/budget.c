/*
 * budget.c - a query's budgets, binding wherever its work runs.
 *
 * A query has one budget (internal.h): a deadline, a memory limit in
 * bytes and a cancel flag its caller may raise (the client went away).
 * Every thread working for the query (the one running it, the columnar
 * engine's helpers) enters the budget, which makes it the thread's:
 *
 *   - SQLite's heap. The process's SQLite allocator (set up once, before
 *     SQLite's first use, by ow_search_setup) charges each block a thread
 *     allocates to the thread's budget and refuses one that would pass its
 *     limit: SQLite answers SQLITE_NOMEM and the query fails alone, where
 *     a limit for the whole process (sqlite3_hard_heap_limit64) would also
 *     fail the tracker's and the catalog's writes. A block's header holds
 *     its size and whether it was charged, so a free credits only what was.
 *   - Buffers. The thread's ow_buf growth (decoded columns, the answer) is
 *     metered into the same count (core.h's ow_buf_meter). A buffer cannot
 *     refuse to grow, so past the limit the query is marked and stops at
 *     its next check; the answer's writer checks before it writes a large
 *     value (output.c), so no single growth asks for more than the budget.
 *   - Time, and the cancel flag. SQLite's progress handler, the scans and
 *     the columnar loops ask ow_search_stopped between steps; the functions
 *     that can spend long inside one call (LIKE, GLOB, instr, replace,
 *     trim, match(): funcs.c, eval.c, scan.c), and the index's walk through
 *     a part's token dictionary (scan.c), ask ow_search_poll as they go,
 *     and regexp() ow_search_poll_now between its stretches of a long
 *     text, so a query stops within its budget even inside one call.
 *
 * Once stopped, a budget stays stopped with its first reason.
 */
#include "internal.h"

#include <sqlite3.h>
#include <time.h>

static __thread ow_search_budget_t *current;
static __thread unsigned polls;

/* CLOCK_MONOTONIC to a few milliseconds, for a fraction of the cost: the
 * checks run every few SQLite steps */
static int64_t coarse_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void meter(void *arg, int64_t delta)
{
	ow_search_budget_t *b = arg;
	int64_t used = atomic_fetch_add(&b->used, delta) + delta;
	if (delta > 0 && b->limit && used > b->limit)
		ow_search_stop(b, OW_SEARCH_STOP_MEMORY);
}

void ow_search_budget_enter(ow_search_budget_t *b)
{
	current = b;
	polls = 0;
	ow_buf_meter((ow_buf_meter_t){b ? meter : NULL, b});
}

void ow_search_stop(ow_search_budget_t *b, int why)
{
	int none = 0;
	atomic_compare_exchange_strong(&b->stop, &none, why);
}

int ow_search_stopped(ow_search_budget_t *b)
{
	int why = atomic_load(&b->stop);
	if (why)
		return why;
	if (b->cancel && atomic_load(b->cancel))
		ow_search_stop(b, OW_SEARCH_STOP_CANCEL);
	else if (b->deadline && coarse_ns() > b->deadline)
		ow_search_stop(b, OW_SEARCH_STOP_TIME);
	return atomic_load(&b->stop);
}

int ow_search_poll(void)
{
	if (current == NULL || (++polls & 1023) != 0)
		return current ? atomic_load(&current->stop) : 0;
	return ow_search_stopped(current);
}

int ow_search_poll_now(void)
{
	return current ? ow_search_stopped(current) : 0;
}

int ow_search_charge(ow_search_budget_t *b, int64_t n)
{
	if (b->limit && n > 0 && atomic_load(&b->used) + n > b->limit) {
		ow_search_stop(b, OW_SEARCH_STOP_MEMORY);
		return OW_ERROR;
	}
	atomic_fetch_add(&b->used, n);
	return OW_OK;
}

int ow_search_room(size_t n)
{
	ow_search_budget_t *b = current;
	if (b == NULL || b->limit == 0 || atomic_load(&b->used) + (int64_t)n <= b->limit)
		return OW_OK;
	ow_search_stop(b, OW_SEARCH_STOP_MEMORY);
	return OW_ERROR;
}

void ow_search_budget_message(const ow_search_budget_t *b, char *buf, size_t len)
{
	switch (atomic_load(&b->stop)) {
	case OW_SEARCH_STOP_TIME:
		snprintf(buf, len, "query exceeded its time budget of %lld ms",
			 (long long)b->timeout_ms);
		break;
	case OW_SEARCH_STOP_MEMORY:
		snprintf(buf, len, "query exceeded its memory budget of %lld MiB",
			 (long long)(b->limit >> 20));
		break;
	case OW_SEARCH_STOP_CANCEL:
		snprintf(buf, len, "query cancelled: the client closed the connection");
		break;
	default:
		snprintf(buf, len, "query stopped");
	}
}

/* ---- SQLite's allocator ---- */

/* A block: 16 bytes of header (its size, and 1 when it was charged to the
 * budget of the thread that allocated it), then what SQLite asked for,
 * 8-byte aligned as SQLite requires. */
#define HDR 16

static void *q_malloc(int n)
{
	int charged = 0;
	if (current) {
		if (ow_search_charge(current, n + HDR) != OW_OK)
			return NULL;
		charged = 1;
	}
	int64_t *h = malloc((size_t)n + HDR);
	if (h == NULL) {
		if (charged)
			atomic_fetch_sub(&current->used, n + HDR);
		return NULL;
	}
	h[0] = n;
	h[1] = charged;
	return (uint8_t *)h + HDR;
}

static void q_free(void *p)
{
	if (p == NULL)
		return;
	int64_t *h = (int64_t *)((uint8_t *)p - HDR);
	/* a charged block freed on a thread without a budget belonged to a
	 * query that has ended: nothing to credit */
	if (h[1] && current)
		atomic_fetch_sub(&current->used, h[0] + HDR);
	free(h);
}

static int q_size(void *p)
{
	return p ? (int)((int64_t *)((uint8_t *)p - HDR))[0] : 0;
}

/* In place where the C library can (a large block is remapped, not
 * copied: a quantile's values double many times); the difference charged
 * to the block's budget first. */
static void *q_realloc(void *p, int n)
{
	if (p == NULL)
		return q_malloc(n);
	int64_t *h = (int64_t *)((uint8_t *)p - HDR);
	int64_t delta = n - h[0];
	int charged = h[1] && current;
	if (charged && delta > 0 && ow_search_charge(current, delta) != OW_OK)
		return NULL;
	int64_t *q = realloc(h, (size_t)n + HDR);
	if (q == NULL) {
		if (charged && delta > 0)
			atomic_fetch_sub(&current->used, delta);
		return NULL;
	}
	if (charged && delta < 0)
		atomic_fetch_add(&current->used, delta);
	q[0] = n;
	return (uint8_t *)q + HDR;
}

static int q_roundup(int n)
{
	return (n + 7) & ~7;
}

static int q_init(void *arg)
{
	OW_UNUSED(arg);
	return SQLITE_OK;
}

static void q_shutdown(void *arg)
{
	OW_UNUSED(arg);
}

int ow_search_setup(void)
{
	static const sqlite3_mem_methods m = {q_malloc,	 q_free, q_realloc,  q_size,
					      q_roundup, q_init, q_shutdown, NULL};
	return sqlite3_config(SQLITE_CONFIG_MALLOC, &m) == SQLITE_OK ? OW_OK : OW_ERROR;
}

/*
 * batch.c - batch objects and the in-flight byte budget.
 */
#include "batch.h"
#include "column.h"

#include <stdatomic.h>

ow_batch_t *ow_batch_new(const char *tenant, int signal, int source)
{
	ow_batch_t *b = ow_calloc(1, sizeof(*b));
	ow_uuid7(b->uuid, b->id);
	snprintf(b->tenant, sizeof(b->tenant), "%s", tenant);
	b->signal = signal;
	b->source = source;
	b->created_ns = ow_now_ns();
	b->opened_mono = ow_mono_ns();
	b->tail = &b->msgs;
	b->first_offset = INT64_MAX;
	b->last_offset = -1;
	return b;
}

static void add_topic(ow_batch_t *b, const char *topic)
{
	size_t n = strlen(topic), have = strlen(b->topics);
	for (const char *p = b->topics; *p;) {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == n && memcmp(p, topic, n) == 0)
			return;
		p += l + (e != NULL);
	}
	if (have + n + 2 <= sizeof(b->topics))
		snprintf(b->topics + have, sizeof(b->topics) - have, "%s%s", have ? "," : "",
			 topic);
}

void ow_batch_add(ow_batch_t *b, ow_msg_t *m)
{
	m->next = NULL;
	*b->tail = m;
	b->tail = &m->next;
	b->nmsgs++;
	b->records += m->records;
	b->bytes += m->len;
	if (m->topic) {
		b->first_offset = OW_MIN(b->first_offset, m->offset);
		b->last_offset = OW_MAX(b->last_offset, m->offset);
		add_topic(b, m->topic);
	}
}

void ow_msg_finish(ow_msg_t *m, int rc)
{
	free(m->payload);
	m->payload = NULL;
	if (m->table) {
		ow_table_free(m->table);
		free(m->table);
		m->table = NULL;
	}
	ow_budget_release(m->charged);
	m->charged = 0;
	m->ack(m, rc);
}

void ow_batch_finish(ow_batch_t *b, int rc)
{
	ow_msg_t *m = b->msgs;
	uint32_t seq = 0;
	while (m) {
		ow_msg_t *next = m->next;
		m->batch_id = b->id;
		m->batch_seq = seq++;
		ow_msg_finish(m, rc);
		m = next;
	}
	free(b);
}

/* Atomic: the loop admits bodies, and a worker decoding one charges what
 * the decode really allocates (its inflated bytes, a JSON tree, columns)
 * as it goes, so a small body that expands is paid for before it grows. */
static _Atomic uint64_t budget_used;
static uint64_t budget_max;

void ow_budget_init(uint64_t max)
{
	budget_max = max;
	atomic_store(&budget_used, 0);
}

int ow_budget_take(size_t n)
{
	uint64_t used = atomic_load(&budget_used);
	do {
		if (used + n > budget_max)
			return OW_AGAIN;
	} while (!atomic_compare_exchange_weak(&budget_used, &used, used + n));
	return OW_OK;
}

void ow_budget_charge(size_t n)
{
	atomic_fetch_add(&budget_used, n);
}

void ow_budget_release(size_t n)
{
	uint64_t used = atomic_load(&budget_used);
	while (!atomic_compare_exchange_weak(&budget_used, &used, used - OW_MIN(n, used)))
		;
}

uint64_t ow_budget_used(void)
{
	return atomic_load(&budget_used);
}

uint64_t ow_budget_max(void)
{
	return budget_max;
}

/*
 * stats.c - see stats.h.
 */
#include "stats.h"
#include "batch.h"
#include "conn.h"
#include "queue.h"

#include <stddef.h>

const double ow_hist_bounds[OW_HIST_BUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
						0.01,	0.025,	 0.05,	 0.1,	0.25,	0.5,
						1,	2.5,	 5,	 10,	1e300};

void ow_hist_observe(ow_hist_t *h, double seconds)
{
	int i = 0;
	while (i < OW_HIST_BUCKETS - 1 && seconds > ow_hist_bounds[i])
		i++;
	h->buckets[i]++;
	h->count++;
	h->sum += seconds;
}

void ow_metric_head(ow_buf_t *b, const char *name, const char *type, const char *help)
{
	ow_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void ow_metric_one(ow_buf_t *b, const char *name, const char *type, const char *help, uint64_t v)
{
	ow_metric_head(b, name, type, help);
	ow_buf_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

void ow_metric_series(ow_buf_t *b, const char *name, const char *labels, const uint64_t *buckets,
		      const double *bounds, int n, uint64_t count, double sum)
{
	const char *sep = labels && *labels ? "," : "";
	labels = labels ? labels : "";
	uint64_t cum = 0;
	for (int i = 0; i < n; i++) {
		cum += buckets[i];
		if (i == n - 1)
			ow_buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
				      (unsigned long long)cum);
		else
			ow_buf_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep,
				      bounds[i], (unsigned long long)cum);
	}
	if (*labels)
		ow_buf_printf(b, "%s_sum{%s} %.9f\n%s_count{%s} %llu\n", name, labels, sum, name,
			      labels, (unsigned long long)count);
	else
		ow_buf_printf(b, "%s_sum %.9f\n%s_count %llu\n", name, sum, name,
			      (unsigned long long)count);
}

void ow_metric_hist(ow_buf_t *b, const char *name, const char *help, const ow_hist_t *h)
{
	ow_metric_head(b, name, "histogram", help);
	ow_metric_series(b, name, NULL, h->buckets, ow_hist_bounds, OW_HIST_BUCKETS, h->count,
			 h->sum);
}

/* A counter of every listener, by one more label: the n counters at
 * offset in each listener's ow_conn_limit_t, named by names. */
static void metric_by_listener(ow_buf_t *b, const char *name, const char *help, const char *label,
			       const char *const *names, int n, size_t offset)
{
	ow_metric_head(b, name, "counter", help);
	for (const ow_conn_limit_t *l = ow_conn_limits(); l; l = l->next) {
		const uint64_t *v = (const uint64_t *)((const char *)l + offset);
		for (int i = 0; i < n; i++)
			ow_buf_printf(b, "%s{listener=\"%s\",%s=\"%s\"} %llu\n", name, l->name,
				      label, names[i], (unsigned long long)v[i]);
	}
}

/* The queues between the stages (queue.h), one series each; a capacity
 * that is no limit of its own is +Inf. */
static void metric_queues(ow_buf_t *b)
{
	static const struct {
		const char *name, *type, *help;
	} m[] = {
	    {"openwit_queue_depth", "gauge", "Items waiting in the queue in front of a stage."},
	    {"openwit_queue_depth_bytes", "gauge", "Bytes of the items waiting in the queue."},
	    {"openwit_queue_capacity", "gauge", "Items the queue holds at most."},
	    {"openwit_queue_capacity_bytes", "gauge", "Bytes the queue holds at most."},
	    {"openwit_queue_waits_total", "counter", "Takes from the queue that measured a wait."},
	    {"openwit_queue_wait_seconds_total", "counter", "Time waited in the queue, summed."},
	    {"openwit_queue_wait_seconds_max", "gauge",
	     "The longest wait in the queue since start."},
	};
	for (size_t k = 0; k < OW_NELEMS(m); k++) {
		ow_metric_head(b, m[k].name, m[k].type, m[k].help);
		for (const ow_queue_t *q = ow_queue_first(); q; q = q->next) {
			uint64_t v = k == 0   ? atomic_load(&q->items)
				     : k == 1 ? atomic_load(&q->bytes)
				     : k == 2 ? q->cap_items
				     : k == 3 ? q->cap_bytes
				     : k == 4 ? atomic_load(&q->waits)
				     : k == 5 ? atomic_load(&q->wait_ns)
					      : atomic_load(&q->wait_max_ns);
			ow_buf_printf(b, "%s{queue=\"%s\"} ", m[k].name, q->name);
			if ((k == 2 || k == 3) && v == 0)
				ow_buf_printf(b, "+Inf\n");
			else if (k >= 5)
				ow_buf_printf(b, "%.9f\n", (double)v / 1e9);
			else
				ow_buf_printf(b, "%llu\n", (unsigned long long)v);
		}
	}
}

void ow_core_stats(ow_buf_t *b)
{
	ow_metric_one(b, "openwit_inflight_bytes", "gauge",
		      "Request bytes admitted and not yet acknowledged.", ow_budget_used());
	ow_metric_one(b, "openwit_inflight_bytes_max", "gauge", "memory.max_inflight_bytes.",
		      ow_budget_max());
	ow_metric_head(b, "openwit_connections", "gauge", "Open connections by listener.");
	for (const ow_conn_limit_t *l = ow_conn_limits(); l; l = l->next)
		ow_buf_printf(b, "openwit_connections{listener=\"%s\"} %llu\n", l->name,
			      (unsigned long long)l->open);
	ow_metric_one(b, "openwit_connections_max", "gauge",
		      "Connections allowed across all listeners: RLIMIT_NOFILE less "
		      "connections.reserved_fds.",
		      ow_conn_max());
	metric_by_listener(b, "openwit_connections_refused_total",
			   "Connections closed at once by a cap, by listener and cap.", "reason",
			   ow_conn_refuse_names, OW_CONN_NREFUSE,
			   offsetof(ow_conn_limit_t, refused));
	metric_by_listener(b, "openwit_deadline_closed_total",
			   "Requests cut off by a deadline (HTTP: the connection is closed; gRPC: "
			   "the stream is reset), by listener and deadline.",
			   "deadline", ow_conn_deadline_names, OW_DL_N,
			   offsetof(ow_conn_limit_t, deadline));
	metric_queues(b);
}

/*
 * kafka.c - OTLP from Kafka topics, stored exactly once.
 *
 * The consumer. librdkafka's high-level consumer in a group, auto commit
 * and auto offset store off. Its queue (messages, rebalances, commit
 * results) wakes the loop through a pipe (rd_kafka_queue_io_event_enable)
 * and is drained there with rd_kafka_consumer_poll(rk, 0); nothing polls
 * in a thread of ours. Blocking calls (rd_kafka_committed) run on a worker.
 *
 * A message. Tenant and signal come from its topic name by
 * ingestion.kafka.topic_rule; its encoding from its content-type header or
 * ingestion.kafka.format. It is admitted by the ingest front
 * (modules/ingest: the in-flight byte budget, buffers, disk), decoded
 * by it on a worker, and added to a batch (wal.h) with its topic,
 * partition and offset, which the WAL file records. A message that does
 * not decode, or whose topic does not fit the rule, is a dead letter: a
 * row in kafka_dead_letters, a log line, a counter; it is passed over and
 * never stalls its partition. So is one larger than
 * ingestion.kafka.max_message_bytes as it came, gzip or not, before any
 * budget is charged for it; a gzip body is inflated into at most that many
 * bytes, and one that would need more is a dead letter too. Under
 * backpressure (budget, buffers, disk) every assigned partition is paused
 * and resumed when there is room.
 *
 * Commits. Each partition keeps its messages in offset order until their
 * offsets are committed. The commit for a partition is the offset after
 * its contiguous prefix of durable (or dead) messages; it goes out after
 * the batches are acknowledged, asynchronously. A Kafka batch is published
 * to the buffer queries read at once, but storage holds it (it is not
 * flushed to Parquet) until every one of its offsets is committed: so a
 * record in a Parquet part always has its offset committed, and only
 * WAL files hold records whose offsets may not be.
 *
 * Whose commit. Every commit carries metadata "owner=<node>[;<node>=<end>]..."
 * where node is this data directory's id (data/kafka/node_id) and
 * <node>=<end> says where an earlier owner's commits ended: when a node is
 * assigned a partition last committed by another node, it records that
 * node's committed offset as its end. So a node can always tell which of
 * its offsets it committed itself: below the committed offset if it is the
 * owner, below its end if another node took over, none if it never
 * committed.
 *
 * Recovery. WAL files of Kafka batches not yet stored are adopted from the
 * WAL's recovery (the module registers for them in its init, so they are
 * never replayed whole). Before subscribing, the module fetches the group's
 * committed offsets (and metadata) for their partitions and replays only
 * the records this node committed; the others are dropped, because Kafka
 * delivers them again, to this node or to whichever node owns the
 * partition now. Recovery itself never commits.
 *
 * Rebalances (eager). On assignment the committed offsets are fetched (on
 * a worker) and consumption starts there. On revocation, admission stops,
 * messages not yet in the WAL are dropped (Kafka delivers them again), and
 * the unassignment waits until the rest are durable and committed. If that
 * commit fails (a coordinator may refuse commits while the group
 * rebalances), their rows are taken out of the buffer (they were held, so
 * never flushed) and the next owner consumes them from the last committed
 * offset; the WAL still has them, and recovery would not replay them.
 *
 * Restarts. A process that was killed is still a member of the group until
 * its session times out, and its partitions wait for it. So the member is
 * static (KIP-345, ingestion.kafka.static_membership): group.instance.id is
 * "openwit-<node>", the data directory's id, never storage.node_id, which
 * is the same on every process that keeps its default. A broker (Kafka
 * 2.3 or later) hands a restarted static member its partitions at once,
 * without a rebalance. The price: a static member does not leave the group
 * when it stops, so the partitions of a process stopped for good wait out
 * its session. Brokers that ignore group.instance.id (older ones, and
 * librdkafka 2.0.2's mock cluster that the tests use) wait for the session
 * timeout. SIGKILL and restart on the mock, 200 records/s
 * (t/66kafka-restart.t): consumption resumed 88.9 s after the restart with
 * 45000 ms, 10.6-10.8 s with 6000, 8.7-8.9 s with 5000 (6 runs) and 6.8 s
 * with 4000 (the mock elects a leader with the dead member still in, then
 * again once it is gone: 2 x timeout - 1 s); heartbeats every 500 ms
 * instead of 2000 changed nothing. After SIGTERM, 5.0 s with dynamic
 * membership (the stopped member leaves), 10.8 s with static membership
 * (at 6000), on the mock. So the default is 5000 ms, a round value that
 * resumes in under 10 s there with a margin, heartbeats every third of it
 * (36 a minute per member, 4 at the old 45000).
 *
 * A refused session timeout. 5000 is below what a stock broker accepts by
 * default (group.min.session.timeout.ms, 6000): its JoinGroup answers
 * INVALID_SESSION_TIMEOUT, which librdkafka hands the application as a
 * consumer error and then asks again each second with the same timeout,
 * never consuming. So on that error the consumer, which then holds no
 * partition and no offset, is replaced by one asking for 6000 ms, then
 * twice the last, up to 30000 (session_refused()), with a warning naming
 * the key; also when the key was set. Nothing is in flight, so exactly
 * once holds as at any start. It costs one JoinGroup round trip (2 ms on
 * the mock); the timeout is then 6000, which matters only if the broker
 * also ignores static membership (a restart refused once on the mock
 * resumed 10.4 s after it subscribed, as with 6000 ms). Set the key to the
 * broker's minimum to skip the round trip and the warning. One the broker
 * refuses at 30000 or above (over its group.max.session.timeout.ms) is an
 * error in the log, once, and the consumer keeps asking.
 */
#include "kafka.h"
#include "../core/batch.h"
#include "../core/log.h"
#include "../core/stats.h"
#include "../ingest/ingest.h"
#include "../otlp/otlp.h"
#include "../storage/storage.h"
#include "../tracker/tracker.h"
#include "../wal/wal.h"

#include <errno.h>
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <strings.h>
#include <unistd.h>

static int enabled, format, auto_commit, commit_mode, offset_reset, static_membership;
static char *brokers, *topics, *group_id, *topic_rule;
static int64_t batch_size, batch_timeout_ms, session_timeout_ms, max_message_bytes;
/* in use: session_timeout_ms, or what replaced it after a broker refused it */
static int64_t session_ms;

static const char *const formats[] = {"auto", "protobuf", "json", NULL};
static const char *const modes[] = {"after_wal", NULL};
static const char *const resets[] = {"earliest", "latest", NULL};

static ow_directive_t directives[] = {
    {"ingestion.sources.kafka.enabled", OW_CONF_BOOL, &enabled, 0, 0, "false", NULL, 0},
    {"ingestion.kafka.brokers", OW_CONF_STR, &brokers, 0, 4096, "localhost:9092", NULL, 0},
    {"ingestion.kafka.topics", OW_CONF_LIST, &topics, 0, 249, "v6.qtw.traces.*.*", NULL, 0},
    {"ingestion.kafka.group_id", OW_CONF_STR, &group_id, 1, 255, "openwit", NULL, 0},
    {"ingestion.kafka.topic_rule", OW_CONF_STR, &topic_rule, 1, 255, "v6.qtw.{signal}.{tenant}.{n}",
     NULL, 0},
    {"ingestion.kafka.format", OW_CONF_ENUM, &format, 0, 0, "auto", formats, 0},
    {"ingestion.kafka.auto_offset_reset", OW_CONF_ENUM, &offset_reset, 0, 0, "earliest", resets, 0},
    {"ingestion.kafka.session_timeout_ms", OW_CONF_INT, &session_timeout_ms, 1000, 3600000, "5000",
     NULL, 0},
    {"ingestion.kafka.static_membership", OW_CONF_BOOL, &static_membership, 0, 0, "true", NULL, 0},
    {"ingestion.kafka.max_message_bytes", OW_CONF_INT, &max_message_bytes, 1024, 1073741824,
     "16777216", NULL, 0},
    {"ingestion.kafka.commit_strategy.mode", OW_CONF_ENUM, &commit_mode, 0, 0, "after_wal", modes,
     0},
    {"ingestion.kafka.commit_strategy.enable_auto_commit", OW_CONF_BOOL, &auto_commit, 0, 0,
     "false", NULL, 0},
    {"ingestion.kafka.batching.batch_size", OW_CONF_INT, &batch_size, 1, 1000000, "100", NULL, 0},
    {"ingestion.kafka.batching.batch_timeout_ms", OW_CONF_INT, &batch_timeout_ms, 0, 60000, "100",
     NULL, 0},
    OW_CONF_END};

enum { K_HELD, K_DECODING, K_WAL, K_DURABLE, K_DEAD };

typedef struct kpart kpart_t;
typedef struct kmsg kmsg_t;

struct kmsg {
	ow_ingest_req_t in; /* first: the front and the WAL's ack get it back */
	kpart_t *p;
	rd_kafka_message_t *rkm;
	int64_t offset;
	int state;
	char batch_id[OW_BATCH_ID_LEN + 1];
	uint32_t batch_seq;
	kmsg_t *next;  /* in its partition, by offset */
	kmsg_t *hnext; /* in the queue of held messages */
};

#define MAX_OWNERS 16

struct kpart {
	char *topic;
	int32_t partition;
	int assigned, revoking;
	char tenant[OW_TENANT_MAX + 1];
	int signal;		     /* -1: the topic does not fit the rule */
	kmsg_t *head, **tail;	     /* not yet committed */
	int inflight;		     /* K_HELD, K_DECODING or K_WAL */
	int64_t durable_next;	     /* after the contiguous durable prefix */
	int64_t next_offset;	     /* after the last message taken */
	int64_t commit_sent;	     /* the last offset asked for */
	int64_t committed;	     /* the last offset the coordinator took */
	int commit_failed;	     /* the last commit failed: retry */
	char owners[MAX_OWNERS][24]; /* earlier owners and where they ended */
	int64_t owner_end[MAX_OWNERS];
	int nowners;
	kpart_t *next;
};

static struct event_base *loop;
static rd_kafka_t *rk;
static rd_kafka_queue_t *rkq;
static int pipefd[2] = {-1, -1};
static struct event *queue_ev, *tick_ev, *retry_ev, *commit_ev;
static kpart_t *parts;
static kmsg_t *held, **held_tail = &held;
static int paused, subscribed, draining, closing, refused, fetching;
static int64_t drain_deadline;
static char node_id[24];
static void decoded(ow_ingest_req_t *in);
static void on_ack(ow_msg_t *m, int rc);

static ow_ingest_src_t ingest_src = {
    .source = OW_SRC_KAFKA,
    .tenant_from = "the topic",
    .accepts = "application/x-protobuf or application/json",
    .unit = "message",
    .limit = "ingestion.kafka.max_message_bytes",
    .decoded = decoded,
    .ack = on_ack,
};

/* its lines of /metrics (kafka_stats) */
static struct {
	uint64_t messages, dead_letters, commits, commit_errors, pauses;
} stats;

/* WAL files adopted at recovery */
typedef struct adopted {
	ow_walref_t ref;
	struct adopted *next;
} adopted_t;
static adopted_t *adopted;

/* ---- topics and the rule ---- */

/* Matches topic against the rule; sets signal and tenant or says why not. */
static int route(const char *topic, int *signal, char *tenant, char *why, size_t whylen)
{
	const char *r = topic_rule, *t = topic;
	*signal = -1;
	snprintf(tenant, OW_TENANT_MAX + 1, "default");
	while (*r) {
		if (*r != '{') {
			if (*t != *r)
				goto nomatch;
			r++, t++;
			continue;
		}
		const char *close = strchr(r, '}');
		size_t nl = (size_t)(close - r - 1);
		char stop = close[1]; /* the literal after the placeholder, or NUL */
		const char *e = stop ? strchr(t, stop) : t + strlen(t);
		if (e == NULL || e == t)
			goto nomatch;
		size_t vl = (size_t)(e - t);
		if (nl == 6 && !strncmp(r + 1, "signal", 6)) {
			static const char *const names[] = {"traces", "logs", "metrics"};
			for (int i = 0; i < OW_NSIGNALS; i++)
				if (strlen(names[i]) == vl && !strncmp(t, names[i], vl))
					*signal = i;
			if (*signal < 0) {
				snprintf(why, whylen,
					 "topic %s: \"%.*s\" is not a signal (traces, logs, "
					 "metrics)",
					 topic, (int)vl, t);
				return OW_ERROR;
			}
		} else if (nl == 6 && !strncmp(r + 1, "tenant", 6)) {
			if (!ow_tenant_valid(t, vl)) {
				snprintf(why, whylen, "topic %s: \"%.*s\" is not a valid tenant id",
					 topic, (int)vl, t);
				return OW_ERROR;
			}
			snprintf(tenant, OW_TENANT_MAX + 1, "%.*s", (int)vl, t);
		}
		t = e;
		r = close + 1;
	}
	if (*t == '\0')
		return OW_OK;
nomatch:
	snprintf(why, whylen, "topic %s does not match ingestion.kafka.topic_rule \"%s\"", topic,
		 topic_rule);
	return OW_ERROR;
}

/* A topic of the list as librdkafka subscribes to it: "^..." is a regex
 * already; a name with "*" becomes one ("*" matches within a dot-separated
 * segment); other names are literal. */
static void subscription_name(const char *name, size_t n, ow_buf_t *out)
{
	out->len = 0;
	if (name[0] != '^' && memchr(name, '*', n)) {
		ow_buf_add(out, "^", 1);
		for (size_t i = 0; i < n; i++) {
			if (name[i] == '*')
				ow_buf_addstr(out, "[^.]*");
			else if (strchr(".+?()[]{}|\\$", name[i]))
				ow_buf_printf(out, "\\%c", name[i]);
			else
				ow_buf_add(out, &name[i], 1);
		}
		ow_buf_add(out, "$", 1);
	} else {
		ow_buf_add(out, name, n);
	}
	ow_buf_add(out, "", 1);
}

/* ---- partitions ---- */

static kpart_t *part_find(const char *topic, int32_t partition)
{
	for (kpart_t *p = parts; p; p = p->next)
		if (p->partition == partition && strcmp(p->topic, topic) == 0)
			return p;
	return NULL;
}

static kpart_t *part_get(const char *topic, int32_t partition)
{
	kpart_t *p = part_find(topic, partition);
	if (p)
		return p;
	p = ow_calloc(1, sizeof(*p));
	p->topic = ow_strdup(topic);
	p->partition = partition;
	p->tail = &p->head;
	p->durable_next = p->commit_sent = p->committed = p->next_offset = -1;
	char why[512];
	if (route(topic, &p->signal, p->tenant, why, sizeof(why)) != OW_OK)
		p->signal = -1;
	p->next = parts;
	parts = p;
	return p;
}

static void kmsg_free(kmsg_t *k)
{
	if (k->rkm)
		rd_kafka_message_destroy(k->rkm);
	ow_ingest_free(&k->in);
	free(k);
}

/* Commit metadata: "owner=<node>" and the earlier owners' ends. */
static void metadata_build(const kpart_t *p, ow_buf_t *out)
{
	out->len = 0;
	ow_buf_printf(out, "owner=%s", node_id);
	for (int i = 0; i < p->nowners; i++)
		ow_buf_printf(out, ";%s=%lld", p->owners[i], (long long)p->owner_end[i]);
	ow_buf_add(out, "", 1);
}

/* Reads a committed offset's metadata: who committed it and where the
 * earlier owners ended. Sets *mine to where this node's commits end:
 * the offset itself when it is the owner, its recorded end, or -1. */
static void metadata_parse(kpart_t *p, const rd_kafka_topic_partition_t *tp, int64_t *mine)
{
	char owner[24] = "";
	const char *s = tp->metadata, *end = s ? s + tp->metadata_size : NULL;
	*mine = -1;
	if (p)
		p->nowners = 0;
	while (s && s < end) {
		const char *e = memchr(s, ';', (size_t)(end - s));
		if (e == NULL)
			e = end;
		const char *eq = memchr(s, '=', (size_t)(e - s));
		if (eq && eq - s < 24 && e - eq - 1 < 24) {
			char k[24], v[24];
			snprintf(k, sizeof(k), "%.*s", (int)(eq - s), s);
			snprintf(v, sizeof(v), "%.*s", (int)(e - eq - 1), eq + 1);
			if (strcmp(k, "owner") == 0) {
				snprintf(owner, sizeof(owner), "%s", v);
			} else if (strcmp(k, node_id) == 0) {
				*mine = strtoll(v, NULL, 10);
			} else if (p && p->nowners < MAX_OWNERS) {
				snprintf(p->owners[p->nowners], 24, "%s", k);
				p->owner_end[p->nowners++] = strtoll(v, NULL, 10);
			}
		}
		s = e + 1;
	}
	if (tp->offset < 0)
		return;
	if (strcmp(owner, node_id) == 0) {
		*mine = tp->offset;
	} else if (owner[0] && p) {
		/* the last owner's commits end where this node starts */
		int i;
		for (i = 0; i < p->nowners; i++)
			if (strcmp(p->owners[i], owner) == 0)
				break;
		if (i == p->nowners && p->nowners == MAX_OWNERS)
			i = 0; /* forget the first recorded owner */
		else if (i == p->nowners)
			p->nowners++;
		snprintf(p->owners[i], 24, "%s", owner);
		p->owner_end[i] = tp->offset;
	}
}

/* ---- commits ---- */

static void commit_soon(void)
{
	if (!event_pending(commit_ev, EV_TIMEOUT, NULL))
		event_active(commit_ev, 0, 0);
}

#ifdef OW_FAULT_INJECTION
/* Tests: OPENWIT_KAFKA_COMMITS=N lets N commits out, then holds every
 * later one back (a crash between the WAL fsync and the commit). */
static int commits_held(void)
{
	static int64_t left = -2;
	if (left == -2) {
		const char *e = getenv("OPENWIT_KAFKA_COMMITS");
		left = e ? strtoll(e, NULL, 10) : -1;
	}
	if (left == 0)
		return 1;
	if (left > 0)
		left--;
	return 0;
}
#else
#define commits_held() 0
#endif

static void commit_now(void)
{
	int want = 0;
	for (kpart_t *p = parts; p; p = p->next)
		want |= (p->assigned || p->revoking) && p->durable_next > p->commit_sent;
	if (!want || commits_held())
		return;
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
	ow_buf_t meta = {0};
	for (kpart_t *p = parts; p; p = p->next) {
		if ((!p->assigned && !p->revoking) || p->durable_next < 0 ||
		    p->durable_next <= p->commit_sent)
			continue;
		rd_kafka_topic_partition_t *tp =
		    rd_kafka_topic_partition_list_add(l, p->topic, p->partition);
		tp->offset = p->durable_next;
		metadata_build(p, &meta);
		tp->metadata = ow_strdup((char *)meta.data);
		tp->metadata_size = meta.len - 1;
		p->commit_sent = p->durable_next;
		p->commit_failed = 0; /* wait for this one's answer */
	}
	ow_buf_free(&meta);
	if (l->cnt) {
		rd_kafka_resp_err_t err = rd_kafka_commit(rk, l, 1);
		if (err) {
			ow_log(OW_LOG_WARN, "kafka: commit: %s", rd_kafka_err2str(err));
			for (kpart_t *p = parts; p; p = p->next)
				p->commit_sent = p->committed;
			struct timeval tv = {1, 0};
			event_add(commit_ev, &tv);
		}
	}
	rd_kafka_topic_partition_list_destroy(l);
}

static void on_commit_ev(evutil_socket_t fd, short what, void *arg)
{
	OW_UNUSED(fd);
	OW_UNUSED(what);
	OW_UNUSED(arg);
	if (rk && !closing)
		commit_now();
}

static void check_revoke(void);

/* The partition's committed prefix: its batches may be stored now. */
static void release_committed(kpart_t *p)
{
	while (p->head && p->head->offset < p->committed &&
	       (p->head->state == K_DURABLE || p->head->state == K_DEAD)) {
		kmsg_t *k = p->head;
		p->head = k->next;
		if (p->head == NULL)
			p->tail = &p->head;
		if (k->state == K_DURABLE && k->batch_id[0]) {
			/* one release per run of messages of one batch */
			uint32_t n = 1;
			while (p->head && p->head->offset < p->committed &&
			       p->head->state == K_DURABLE &&
			       strcmp(p->head->batch_id, k->batch_id) == 0) {
				kmsg_t *x = p->head;
				p->head = x->next;
				if (p->head == NULL)
					p->tail = &p->head;
				kmsg_free(x);
				n++;
			}
			ow_storage_release(k->batch_id, n);
			ow_tracker_kafka_committed(k->batch_id);
		}
		kmsg_free(k);
	}
}

static void on_commit(rd_kafka_t *h, rd_kafka_resp_err_t err,
		      rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
	OW_UNUSED(h);
	OW_UNUSED(opaque);
	int failed = 0;
	for (int i = 0; offsets && i < offsets->cnt; i++) {
		rd_kafka_topic_partition_t *tp = &offsets->elems[i];
		kpart_t *p = part_find(tp->topic, tp->partition);
		if (p == NULL)
			continue;
		rd_kafka_resp_err_t e = err ? err : tp->err;
		if (e) {
			failed = 1;
			p->commit_failed = 1;
			p->commit_sent = p->committed;
			ow_log(OW_LOG_WARN, "kafka: commit of %s[%d] at %lld failed: %s", tp->topic,
			       tp->partition, (long long)tp->offset, rd_kafka_err2str(e));
			continue;
		}
		p->commit_failed = 0;
		if (tp->offset > p->committed)
			p->committed = tp->offset;
		release_committed(p);
	}
	if (err == RD_KAFKA_RESP_ERR__NO_OFFSET)
		return; /* nothing was asked */
	if (failed || err) {
		stats.commit_errors++;
		if (!closing) {
			struct timeval tv = {1, 0};
			event_add(commit_ev, &tv);
		}
	} else {
		stats.commits++;
	}
	check_revoke();
}

/* ---- messages ---- */

static void advance(kpart_t *p)
{
	for (kmsg_t *k = p->head; k; k = k->next) {
		if (k->state != K_DURABLE && k->state != K_DEAD)
			break;
		if (k->offset + 1 > p->durable_next)
			p->durable_next = k->offset + 1;
	}
	commit_soon();
}

/* why: the message's own (the front's table counts the reason) */
static void dead_letter(kmsg_t *k, int reason, const char *why)
{
	kpart_t *p = k->p;
	ow_ingest_answer_t a;
	ow_ingest_refuse(&ingest_src, reason, why, &a);
	ow_log(OW_LOG_WARN, "kafka: %s[%d] offset %lld skipped: %s", p->topic, p->partition,
	       (long long)k->offset, why);
	ow_tracker_dead_letter(p->topic, p->partition, k->offset, k->rkm ? k->rkm->len : 0, why);
	stats.dead_letters++;
	if (k->rkm) {
		rd_kafka_message_destroy(k->rkm);
		k->rkm = NULL;
	}
	k->state = K_DEAD;
	p->inflight--;
	advance(p);
}

static void admit_held(void);

/* Pausing drops what librdkafka had fetched ahead, so a resumed partition
 * is sought to the message after the last one taken. */
static void set_paused(int on)
{
	if (paused == on || rk == NULL)
		return;
	rd_kafka_topic_partition_list_t *l = NULL;
	if (rd_kafka_assignment(rk, &l) == RD_KAFKA_RESP_ERR_NO_ERROR && l) {
		if (on) {
			rd_kafka_pause_partitions(rk, l);
		} else {
			rd_kafka_resume_partitions(rk, l);
			rd_kafka_topic_partition_list_t *seek =
			    rd_kafka_topic_partition_list_new(8);
			for (int i = 0; i < l->cnt; i++) {
				kpart_t *p = part_find(l->elems[i].topic, l->elems[i].partition);
				if (p && p->next_offset >= 0)
					rd_kafka_topic_partition_list_add(seek, p->topic,
									  p->partition)
					    ->offset = p->next_offset;
			}
			if (seek->cnt) {
				rd_kafka_error_t *e = rd_kafka_seek_partitions(rk, seek, 0);
				if (e) {
					ow_log(OW_LOG_WARN, "kafka: seek after resume: %s",
					       rd_kafka_error_string(e));
					rd_kafka_error_destroy(e);
				}
			}
			rd_kafka_topic_partition_list_destroy(seek);
		}
		rd_kafka_topic_partition_list_destroy(l);
	}
	paused = on;
	if (on)
		stats.pauses++;
	ow_log(OW_LOG_DEBUG, "kafka: partitions %s", on ? "paused (backpressure)" : "resumed");
}

/* Takes k again, first, from the message still held, after a while. */
static void hold_again(kmsg_t *k, long usec)
{
	k->state = K_HELD;
	k->hnext = held;
	held = k;
	if (held_tail == &held)
		held_tail = &k->hnext;
	struct timeval tv = {0, usec};
	event_add(retry_ev, &tv);
}

static void on_ack(ow_msg_t *m, int rc)
{
	kmsg_t *k = (kmsg_t *)m;
	kpart_t *p = k->p;
	if (rc != OW_OK) {
		hold_again(k, 200000); /* not durable */
		return;
	}
	snprintf(k->batch_id, sizeof(k->batch_id), "%s", m->batch_id ? m->batch_id : "");
	k->batch_seq = m->batch_seq;
	stats.messages++;
	ow_ingest_acked(&k->in);
	rd_kafka_message_destroy(k->rkm);
	k->rkm = NULL;
	k->state = K_DURABLE;
	p->inflight--;
	advance(p);
	check_revoke();
}

static void decoded(ow_ingest_req_t *in)
{
	kmsg_t *k = (kmsg_t *)in;
	kpart_t *p = k->p;
	if (in->reason == OW_IN_DECODE_BUDGET) {
		/* what it decodes to does not fit the budget now */
		hold_again(k, 20000);
		return;
	}
	if (in->reason != OW_IN_OK) {
		dead_letter(k, in->reason, in->dec.error);
		check_revoke();
		return;
	}
	if (in->dec.rejects.n)
		ow_log(OW_LOG_WARN, "kafka: %s[%d] offset %lld: %llu records skipped: %s", p->topic,
		       p->partition, (long long)k->offset, (unsigned long long)in->dec.rejects.n,
		       in->dec.rejects.why);
	in->msg.topic = p->topic;
	in->msg.partition = p->partition;
	in->msg.offset = k->offset;
	k->state = K_WAL;
	ow_ingest_store(in);
}

/* The encoding from the content-type header, else the setting. */
static void encoding_of(kmsg_t *k)
{
	rd_kafka_headers_t *hdrs = NULL;
	const void *v;
	size_t vl;
	k->in.encoding = -2;
	if (rd_kafka_message_headers(k->rkm, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
		if (rd_kafka_header_get_last(hdrs, "content-type", &v, &vl) == 0 && v) {
			if (vl >= 16 && !strncasecmp(v, "application/json", 16))
				k->in.encoding = OW_ENC_JSON;
			else if (vl >= 22 && !strncasecmp(v, "application/x-protobuf", 22))
				k->in.encoding = OW_ENC_PROTOBUF;
		}
		if (rd_kafka_header_get_last(hdrs, "content-encoding", &v, &vl) == 0 && v &&
		    vl == 4 && !strncasecmp(v, "gzip", 4))
			k->in.gzip = 1;
	}
	if (k->in.encoding == -2)
		k->in.encoding = format == 1   ? OW_ENC_PROTOBUF
				 : format == 2 ? OW_ENC_JSON
					       : OW_ENC_AUTO;
}

static void admit_held(void)
{
	while (held) {
		kmsg_t *k = held;
		kpart_t *p = k->p;
		if (p->signal < 0) {
			char why[512];
			held = k->hnext;
			route(p->topic, &p->signal, p->tenant, why, sizeof(why));
			p->signal = -1;
			dead_letter(k, OW_IN_MALFORMED, why);
			continue;
		}
		size_t len = k->rkm->len;
		int why = ow_ingest_admit(&k->in, len);
		if (why == OW_IN_TOO_LARGE) {
			/* before any memory is charged for it or any byte inflated: a
			 * gzip body is held to the limit as sent as well as inflated,
			 * and one larger than the in-flight budget would stall here */
			char text[160];
			held = k->hnext;
			snprintf(text, sizeof(text),
				 "%smessage of %zu bytes is larger than "
				 "ingestion.kafka.max_message_bytes (%lld)",
				 k->in.gzip ? "gzip " : "", len, (long long)max_message_bytes);
			dead_letter(k, OW_IN_TOO_LARGE, text);
			continue;
		}
		if (why == OW_IN_TENANTS) {
			/* a topic's tenant past limits.max_tenants: no wait helps */
			held = k->hnext;
			dead_letter(k, why,
				    "tenant limit reached (limits.max_tenants): no new tenant is "
				    "taken");
			continue;
		}
		if (why != OW_IN_OK) {
			ow_log(OW_LOG_DEBUG,
			       "kafka: no room: budget %llu/%llu storage full %d disk %d",
			       (unsigned long long)ow_budget_used(),
			       (unsigned long long)ow_budget_max(), ow_storage_full(),
			       ow_wal_disk_full());
			break;
		}
		k->in.view = k->rkm->payload;
		k->in.blen = len;
		if (ow_ingest_decode(&k->in) != OW_IN_OK) {
			ow_log(OW_LOG_DEBUG, "kafka: worker queue full");
			break;
		}
		held = k->hnext;
		k->state = K_DECODING;
	}
	if (held == NULL)
		held_tail = &held;
	if (held && !draining) {
		set_paused(1);
		struct timeval tv = {0, 20000};
		event_add(retry_ev, &tv);
	} else if (held == NULL && paused) {
		set_paused(0);
	}
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	OW_UNUSED(fd);
	OW_UNUSED(what);
	OW_UNUSED(arg);
	admit_held();
}

static void take(rd_kafka_message_t *rkm)
{
	if (rkm->err == RD_KAFKA_RESP_ERR_INVALID_SESSION_TIMEOUT) {
		/* JoinGroup's answer, passed on by librdkafka, which asks again
		 * each second with the same timeout: see session_refused() */
		refused = 1;
		rd_kafka_message_destroy(rkm);
		return;
	}
	if (rkm->err) {
		if (rkm->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
			ow_log(OW_LOG_WARN, "kafka: %s", rd_kafka_message_errstr(rkm));
		rd_kafka_message_destroy(rkm);
		return;
	}
	kpart_t *p = part_find(rd_kafka_topic_name(rkm->rkt), rkm->partition);
	if (p == NULL || !p->assigned || p->revoking || draining ||
	    (p->next_offset >= 0 && rkm->offset < p->next_offset)) {
		/* not ours any more, or already taken: Kafka delivers it again */
		rd_kafka_message_destroy(rkm);
		return;
	}
	kmsg_t *k = ow_calloc(1, sizeof(*k));
	p->next_offset = rkm->offset + 1;
	k->p = p;
	ow_ingest_init(&k->in, &ingest_src);
	snprintf(k->in.tenant, sizeof(k->in.tenant), "%s", p->tenant);
	k->in.signal = p->signal;
	k->rkm = rkm;
	k->offset = rkm->offset;
	k->state = K_HELD;
	encoding_of(k);
	*p->tail = k;
	p->tail = &k->next;
	p->inflight++;
	*held_tail = k;
	held_tail = &k->hnext;
}

/* ---- rebalances ---- */

typedef struct {
	ow_job_t job;
	rd_kafka_topic_partition_list_t *list;
	rd_kafka_resp_err_t err;
	void (*then)(rd_kafka_topic_partition_list_t *l);
} fetch_t;

static void fetch_work(ow_job_t *j)
{
	fetch_t *f = (fetch_t *)j;
	f->err = rd_kafka_committed(rk, f->list, 10000);
}

static void fetch_submit(evutil_socket_t fd, short what, void *arg)
{
	OW_UNUSED(fd);
	OW_UNUSED(what);
	fetch_t *f = arg;
	if (ow_work_submit(&f->job) != OW_OK) {
		struct timeval tv = {0, 10000};
		event_base_once(loop, -1, EV_TIMEOUT, fetch_submit, f, &tv);
	}
}

static void fetch_done(ow_job_t *j)
{
	fetch_t *f = (fetch_t *)j;
	if (closing) {
		fetching--;
		rd_kafka_topic_partition_list_destroy(f->list);
		free(f);
		return;
	}
	if (f->err) {
		ow_log(OW_LOG_WARN,
		       "kafka: cannot read the group's committed offsets (%s); trying again",
		       rd_kafka_err2str(f->err));
		struct timeval tv = {1, 0};
		event_base_once(loop, -1, EV_TIMEOUT, fetch_submit, f, &tv);
		return;
	}
	fetching--;
	f->then(f->list);
	rd_kafka_topic_partition_list_destroy(f->list);
	free(f);
}

static void fetch_start(rd_kafka_topic_partition_list_t *l,
			void (*then)(rd_kafka_topic_partition_list_t *l))
{
	fetch_t *f = ow_calloc(1, sizeof(*f));
	f->list = l;
	f->then = then;
	f->job.work = fetch_work;
	f->job.done = fetch_done;
	fetching++;
	fetch_submit(-1, 0, f);
}

static void assign_with(rd_kafka_topic_partition_list_t *l)
{
	for (int i = 0; i < l->cnt; i++) {
		rd_kafka_topic_partition_t *tp = &l->elems[i];
		kpart_t *p = part_get(tp->topic, tp->partition);
		int64_t mine;
		metadata_parse(p, tp, &mine);
		p->assigned = 1;
		p->revoking = 0;
		p->committed = p->commit_sent = tp->offset >= 0 ? tp->offset : -1;
		/* past what this node already holds durably */
		if (p->durable_next > tp->offset && tp->offset >= 0)
			tp->offset = p->durable_next;
		else
			p->durable_next = tp->offset >= 0 ? tp->offset : -1;
		p->next_offset = p->durable_next;
		ow_log(OW_LOG_INFO, "kafka: assigned %s[%d] from offset %lld", tp->topic,
		       tp->partition, (long long)tp->offset);
		if (tp->offset < 0)
			tp->offset = RD_KAFKA_OFFSET_INVALID; /* auto.offset.reset */
		free(tp->metadata);
		tp->metadata = NULL;
		tp->metadata_size = 0;
	}
	rd_kafka_resp_err_t err = rd_kafka_assign(rk, l);
	if (err)
		ow_log(OW_LOG_ERROR, "kafka: assign: %s", rd_kafka_err2str(err));
	paused = 0;
	admit_held();
}

static void part_drop(kpart_t *p)
{
	for (kpart_t **pp = &parts; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	free(p->topic);
	free(p);
}

/* The unassignment waits for the revoked partitions' messages to be
 * durable and their offsets committed (or the commit to fail). */
static void check_revoke(void)
{
	int any = 0;
	for (kpart_t *p = parts; p; p = p->next) {
		if (!p->revoking)
			continue;
		any = 1;
		if (p->inflight > 0 || (p->durable_next > p->committed && !p->commit_failed))
			return;
	}
	if (!any)
		return;
	kpart_t *p = parts;
	while (p) {
		kpart_t *next = p->next;
		if (p->revoking) {
			if (p->head)
				ow_log(
				    OW_LOG_WARN,
				    "kafka: %s[%d] was revoked before offsets from %lld could be "
				    "committed; those records are dropped here, the next owner "
				    "consumes them",
				    p->topic, p->partition, (long long)p->head->offset);
			while (p->head) {
				kmsg_t *k = p->head;
				p->head = k->next;
				if (k->state == K_DURABLE && k->batch_id[0]) {
					ow_storage_discard(k->batch_id, k->batch_seq);
					ow_storage_release(k->batch_id, 1);
				}
				kmsg_free(k);
			}
			part_drop(p);
		}
		p = next;
	}
	rd_kafka_assign(rk, NULL);
	ow_log(OW_LOG_INFO, "kafka: partitions revoked");
}

static void revoke_all(void)
{
	/* messages not in the WAL yet are dropped: Kafka delivers them again */
	kmsg_t **pp = &held;
	while (*pp) {
		kmsg_t *k = *pp;
		*pp = k->hnext;
		kpart_t *p = k->p;
		kmsg_t **q = &p->head;
		while (*q != k)
			q = &(*q)->next;
		*q = k->next;
		if (p->tail == &k->next)
			p->tail = q;
		p->inflight--;
		kmsg_free(k);
	}
	held_tail = &held;
	for (kpart_t *p = parts; p; p = p->next)
		if (p->assigned) {
			p->assigned = 0;
			p->revoking = 1;
		}
	commit_now();
	check_revoke();
}

static void on_rebalance(rd_kafka_t *h, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *l,
			 void *opaque)
{
	OW_UNUSED(opaque);
	if (closing) {
		rd_kafka_assign(h, NULL);
		return;
	}
	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		fetch_start(rd_kafka_topic_partition_list_copy(l), assign_with);
	} else {
		revoke_all();
	}
}

/* ---- the queue ---- */

static int session_refused(void);

static void drain_queue(void)
{
	int n = 0;
	rd_kafka_message_t *rkm;
	while (n < 2000 && (rkm = rd_kafka_consumer_poll(rk, 0)) != NULL) {
		take(rkm);
		n++;
	}
	if (refused && session_refused())
		return; /* a new consumer, which subscribe() drained */
	admit_held();
	if (n == 2000)
		event_active(queue_ev, EV_READ, 0);
}

static void on_queue(evutil_socket_t fd, short what, void *arg)
{
	OW_UNUSED(what);
	OW_UNUSED(arg);
	char buf[256];
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	if (rk && subscribed)
		drain_queue();
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	on_queue(pipefd[0], what, arg);
	OW_UNUSED(fd);
}

static void on_log(const rd_kafka_t *h, int level, const char *fac, const char *buf)
{
	OW_UNUSED(h);
	ow_log(level <= 3   ? OW_LOG_ERROR
	       : level <= 4 ? OW_LOG_WARN
			    : OW_LOG_DEBUG,
	       "kafka: librdkafka %s: %s", fac, buf);
}

static void subscribe(void)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(4);
	ow_buf_t name = {0};
	for (const char *s = topics; *s;) {
		size_t n = strcspn(s, "\n");
		subscription_name(s, n, &name);
		rd_kafka_topic_partition_list_add(l, (char *)name.data, RD_KAFKA_PARTITION_UA);
		s += n + (s[n] == '\n');
	}
	ow_buf_free(&name);
	rd_kafka_resp_err_t err = rd_kafka_subscribe(rk, l);
	rd_kafka_topic_partition_list_destroy(l);
	if (err) {
		ow_log(OW_LOG_ERROR, "kafka: subscribe: %s", rd_kafka_err2str(err));
		return;
	}
	subscribed = 1;
	ow_log(OW_LOG_INFO,
	       "kafka: consuming %s from %s as group %s (node %s, session timeout %lld ms)", topics,
	       brokers, group_id, node_id, (long long)session_ms);
	drain_queue();
}

/* ---- recovery ---- */

typedef struct {
	rd_kafka_topic_partition_list_t *l;
} keep_ctx_t;

static int keep_record(void *arg, const ow_walpos_t *pos)
{
	keep_ctx_t *c = arg;
	rd_kafka_topic_partition_t *tp =
	    rd_kafka_topic_partition_list_find(c->l, pos->topic, pos->partition);
	if (tp == NULL)
		return 0;
	int64_t mine;
	metadata_parse(NULL, tp, &mine);
	return pos->offset < mine;
}

static void collect(void *arg, const ow_walpos_t *pos, const uint8_t *payload, size_t len)
{
	OW_UNUSED(payload);
	OW_UNUSED(len);
	rd_kafka_topic_partition_list_t *l = arg;
	if (!rd_kafka_topic_partition_list_find(l, pos->topic, pos->partition))
		rd_kafka_topic_partition_list_add(l, pos->topic, pos->partition);
}

static void recovered(rd_kafka_topic_partition_list_t *l)
{
	keep_ctx_t c = {l};
	uint64_t records = 0;
	int files = 0;
	while (adopted) {
		adopted_t *a = adopted;
		adopted = a->next;
		if (ow_wal_replay(&a->ref, keep_record, &c, &records) == OW_OK)
			files++;
		free(a);
	}
	ow_log(OW_LOG_INFO,
	       "kafka: recovery: %d WAL files replayed (%llu records this node had committed)",
	       files, (unsigned long long)records);
	subscribe();
}

/* The WAL's recovery found a complete, unstored Kafka batch (registered
 * with ow_wal_set_adopter in init). Which of its records to replay depends
 * on the group's committed offsets, so the file is kept and replayed once
 * the group coordinator has answered, before anything is consumed. */
static void adopt(const ow_walref_t *ref)
{
	adopted_t *a = ow_calloc(1, sizeof(*a));
	a->ref = *ref;
	a->next = adopted;
	adopted = a;
}

static void recover(void)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
	for (adopted_t *a = adopted; a; a = a->next)
		ow_wal_scan(&a->ref, collect, l);
	ow_log(OW_LOG_INFO,
	       "kafka: recovery: asking the group for the committed offsets of %d partitions",
	       l->cnt);
	fetch_start(l, recovered);
}

/* ---- the module ---- */

static int node_load(void)
{
	char dir[4200], path[4300], tmp[4300];
	snprintf(dir, sizeof(dir), "%s/kafka", ow_data_dir);
	snprintf(path, sizeof(path), "%s/node_id", dir);
	FILE *f = fopen(path, "r");
	if (f) {
		int ok = fscanf(f, "%16s", node_id) == 1 && strlen(node_id) == 16;
		fclose(f);
		if (ok)
			return OW_OK;
	}
	uint8_t raw[16];
	char text[OW_BATCH_ID_LEN + 1];
	ow_uuid7(raw, text);
	for (int i = 0; i < 8; i++)
		snprintf(node_id + 2 * i, 3, "%02x", raw[8 + i] ^ raw[i]);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (ow_mkdir_p(dir, 0755) != OW_OK)
		return OW_ERROR;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, node_id, 16) != 16 || write(fd, "\n", 1) != 1 || fsync(fd) != 0 ||
	    close(fd) != 0 || rename(tmp, path) != 0) {
		ow_log(OW_LOG_ERROR, "kafka: cannot write %s: %s", path, strerror(errno));
		return OW_ERROR;
	}
	int d = open(dir, O_RDONLY | O_DIRECTORY);
	if (d >= 0) {
		fsync(d);
		close(d);
	}
	return OW_OK;
}

static int kafka_check(char *err, size_t errlen)
{
	if (auto_commit) {
		snprintf(err, errlen,
			 "ingestion.kafka.commit_strategy.enable_auto_commit: must be false: "
			 "openwit commits offsets itself, after the WAL fsync");
		return OW_ERROR;
	}
	if (!strstr(topic_rule, "{signal}")) {
		snprintf(err, errlen, "ingestion.kafka.topic_rule: \"%s\" has no {signal}",
			 topic_rule);
		return OW_ERROR;
	}
	for (const char *s = topic_rule; (s = strchr(s, '{')) != NULL; s++) {
		const char *c = strchr(s, '}');
		if (c == NULL || c[1] == '{') {
			snprintf(err, errlen,
				 "ingestion.kafka.topic_rule: \"%s\": a placeholder must be "
				 "closed and followed by a literal",
				 topic_rule);
			return OW_ERROR;
		}
	}
	if (enabled && topics[0] == '\0') {
		snprintf(err, errlen, "ingestion.kafka.topics: empty");
		return OW_ERROR;
	}
	return OW_OK;
}

#define SET(k, v)                                                                                  \
	do {                                                                                       \
		if (rd_kafka_conf_set(conf, k, v, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {   \
			ow_log(OW_LOG_ERROR, "kafka: %s: %s", k, errstr);                          \
			rd_kafka_conf_destroy(conf);                                               \
			return OW_ERROR;                                                           \
		}                                                                                  \
	} while (0)

/* The consumer, at session timeout session_ms; its queue wakes the loop
 * through the pipe. */
static int consumer_new(void)
{
	char errstr[512], num[32];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	SET("bootstrap.servers", brokers);
	SET("group.id", group_id);
	SET("enable.auto.commit", "false");
	SET("enable.auto.offset.store", "false");
	SET("auto.offset.reset", resets[offset_reset]);
	if (static_membership) {
		/* the data directory's id, not storage.node_id: that one is the
		 * same on every process that keeps its default */
		char instance[64];
		snprintf(instance, sizeof(instance), "openwit-%s", node_id);
		SET("group.instance.id", instance);
	}
	snprintf(num, sizeof(num), "%lld", (long long)session_ms);
	SET("session.timeout.ms", num);
	snprintf(num, sizeof(num), "%lld", (long long)OW_MAX(session_ms / 3, 100));
	SET("heartbeat.interval.ms", num);
	SET("queued.max.messages.kbytes", "16384");
	SET("topic.metadata.refresh.interval.ms", "5000");
	SET("client.id", "openwit");
	rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
	rd_kafka_conf_set_offset_commit_cb(conf, on_commit);
	rd_kafka_conf_set_log_cb(conf, on_log);
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	if (rk == NULL) {
		ow_log(OW_LOG_ERROR, "kafka: %s", errstr);
		return OW_ERROR;
	}
	rd_kafka_poll_set_consumer(rk);
	rkq = rd_kafka_queue_get_consumer(rk);
	rd_kafka_queue_io_event_enable(rkq, pipefd[1], "1", 1);
	return OW_OK;
}

static void consumer_free(void)
{
	closing = 1;
	subscribed = 0;
	rd_kafka_unsubscribe(rk);
	rd_kafka_consumer_close(rk);
	rd_kafka_queue_destroy(rkq);
	rd_kafka_destroy(rk);
	rk = NULL;
	rkq = NULL;
}

/* A broker refuses a session timeout outside its
 * group.min.session.timeout.ms and group.max.session.timeout.ms (6000 and
 * 1800000 by default): the consumer would ask again each second and never
 * consume. Below 30000 ms, a new consumer asks with 6000 ms, then twice
 * the last; it can only be replaced while it holds nothing (no partition,
 * no offsets on the way), which is the case when its first JoinGroup is
 * refused: otherwise it waits for the next refusal. Says whether the
 * consumer was replaced. */
/* a stock broker's group.min.session.timeout.ms; the fallback stops at
 * FALLBACK_MAX_MS, far below its group.max.session.timeout.ms */
enum { BROKER_MIN_SESSION_MS = 6000, FALLBACK_MAX_MS = 30000 };

static int session_refused(void)
{
	static int64_t told;
	refused = 0;
	if (draining)
		return 0;
	if (session_ms >= FALLBACK_MAX_MS) {
		if (told != session_ms)
			ow_log(OW_LOG_ERROR,
			       "kafka: the broker refuses a session timeout of %lld ms "
			       "(ingestion.kafka.session_timeout_ms): set one within its "
			       "group.min.session.timeout.ms and group.max.session.timeout.ms",
			       (long long)session_ms);
		told = session_ms;
		return 0;
	}
	for (kpart_t *p = parts; p; p = p->next)
		if (p->assigned || p->revoking)
			return 0;
	if (fetching > 0)
		return 0;
	int64_t next =
	    OW_MIN(session_ms < BROKER_MIN_SESSION_MS ? BROKER_MIN_SESSION_MS : 2 * session_ms,
		   FALLBACK_MAX_MS);
	ow_log(OW_LOG_WARN,
	       "kafka: the broker refuses a session timeout of %lld ms "
	       "(ingestion.kafka.session_timeout_ms, below its group.min.session.timeout.ms?); "
	       "joining again with %lld ms",
	       (long long)session_ms, (long long)next);
	consumer_free();
	closing = 0;
	session_ms = next;
	if (consumer_new() != OW_OK)
		return 1;
	subscribe();
	return 1;
}

static int kafka_start(struct event_base *base)
{
	loop = base;
	ingest_src.max = (size_t)max_message_bytes;
	if (!enabled) {
		if (adopted)
			ow_log(OW_LOG_WARN,
			       "kafka: WAL files of Kafka batches are kept, not replayed, until "
			       "ingestion.sources.kafka.enabled is true again");
		return OW_OK;
	}
	if (node_load() != OW_OK)
		return OW_ERROR;
	if (pipe2(pipefd, O_NONBLOCK | O_CLOEXEC) != 0) {
		ow_log(OW_LOG_ERROR, "kafka: pipe: %s", strerror(errno));
		return OW_ERROR;
	}
	session_ms = session_timeout_ms;
	if (consumer_new() != OW_OK)
		return OW_ERROR;
	queue_ev = event_new(base, pipefd[0], EV_READ | EV_PERSIST, on_queue, NULL);
	event_add(queue_ev, NULL);
	tick_ev = event_new(base, -1, EV_PERSIST, on_tick, NULL);
	struct timeval tv = {0, 100000};
	event_add(tick_ev, &tv);
	retry_ev = evtimer_new(base, on_retry, NULL);
	commit_ev = evtimer_new(base, on_commit_ev, NULL);
	ow_wal_set_timeout(OW_SRC_KAFKA, batch_timeout_ms);
	ow_wal_set_limit(OW_SRC_KAFKA, batch_size);
	if (adopted)
		recover();
	else
		subscribe();
	return OW_OK;
}

static void kafka_drain(void)
{
	draining = 1;
	drain_deadline = ow_mono_ns() + 10 * 1000000000LL;
	if (rk)
		commit_now();
}

static int kafka_busy(void)
{
	if (rk == NULL || ow_mono_ns() > drain_deadline)
		return 0;
	for (kpart_t *p = parts; p; p = p->next) {
		/* held messages are dropped at stop: Kafka delivers them again */
		for (kmsg_t *k = p->head; k; k = k->next)
			if (k->state == K_DECODING || k->state == K_WAL)
				return 1;
		if (p->durable_next > p->committed && !p->commit_failed) {
			if (p->durable_next > p->commit_sent)
				commit_now();
			return 1;
		}
	}
	return 0;
}

static void kafka_stop(void)
{
	if (rk)
		consumer_free();
	while (parts) {
		kpart_t *p = parts;
		parts = p->next;
		while (p->head) {
			kmsg_t *k = p->head;
			p->head = k->next;
			if (k->state == K_DECODING || k->state == K_WAL)
				continue; /* owned by a worker or a batch: the server is exiting */
			kmsg_free(k);
		}
		free(p->topic);
		free(p);
	}
	held = NULL;
	held_tail = &held;
	while (adopted) {
		adopted_t *a = adopted;
		adopted = a->next;
		free(a);
	}
	if (queue_ev)
		event_free(queue_ev);
	if (tick_ev)
		event_free(tick_ev);
	if (retry_ev)
		event_free(retry_ev);
	if (commit_ev)
		event_free(commit_ev);
	queue_ev = tick_ev = retry_ev = commit_ev = NULL;
	for (int i = 0; i < 2; i++)
		if (pipefd[i] >= 0)
			close(pipefd[i]);
	pipefd[0] = pipefd[1] = -1;
}

static void kafka_stats(ow_buf_t *b)
{
	ow_metric_one(b, "openwit_kafka_messages_total", "counter",
		      "Kafka messages consumed and made durable.", stats.messages);
	ow_metric_one(b, "openwit_kafka_dead_letters_total", "counter",
		      "Kafka messages skipped as malformed (table kafka_dead_letters).",
		      stats.dead_letters);
	ow_metric_one(b, "openwit_kafka_commits_total", "counter",
		      "Kafka offset commits acknowledged by the group coordinator.", stats.commits);
	ow_metric_one(b, "openwit_kafka_commit_errors_total", "counter",
		      "Kafka offset commits that failed (retried).", stats.commit_errors);
	ow_metric_one(b, "openwit_kafka_pauses_total", "counter",
		      "Times the Kafka partitions were paused for backpressure.", stats.pauses);
}

static int kafka_init(struct event_base *base)
{
	OW_UNUSED(base);
	/* even when disabled: its batches' files are then kept, not replayed
	 * whole (Kafka would deliver some of their records again) */
	ow_wal_set_adopter(OW_SRC_KAFKA, adopt);
	return OW_OK;
}

ow_module_t ow_kafka_module = {
    .name = "kafka",
    .directives = directives,
    .check = kafka_check,
    .init = kafka_init,
    .start = kafka_start,
    .drain = kafka_drain,
    .busy = kafka_busy,
    .stop = kafka_stop,
    .stats = kafka_stats,
};

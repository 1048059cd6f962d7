/*
 * conn.c - connection caps shared by every listener (conn.h).
 *
 * A peer is a client address without its port (IPv4-mapped IPv6 counts as
 * the IPv4 address); its count lives in a small hash table per listener
 * and its entry goes when its last connection does, so the table holds
 * only peers with open connections: at most max entries.
 */
#include "conn.h"
#include "log.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

const char *const ow_conn_refuse_names[OW_CONN_NREFUSE] = {
    "max_connections", "max_connections_per_peer", "reserved_fds"};
const char *const ow_conn_deadline_names[OW_DL_N] = {"head", "receive", "idle"};

struct ow_conn_peer {
	uint8_t addr[16];
	uint8_t len;
	uint32_t n;
	ow_conn_peer_t *next;
};

static ow_conn_limit_t *limits;
static uint64_t total_open;
/* Until ow_conn_init: no process-wide cap (unit tests). */
static uint64_t total_max = UINT64_MAX;

void ow_conn_init(int64_t reserved_fds)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		ow_log(OW_LOG_WARN, "getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
		return;
	}
	/* The hard limit is the administrator's; the soft one is only a
	 * default that select()-era programs need. We use epoll. */
	if (rl.rlim_cur < rl.rlim_max) {
		struct rlimit want = {rl.rlim_max, rl.rlim_max};
		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			rl.rlim_cur = rl.rlim_max;
		else
			ow_log(OW_LOG_WARN, "cannot raise RLIMIT_NOFILE to %llu: %s",
			       (unsigned long long)rl.rlim_max, strerror(errno));
	}
	uint64_t nofile = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX / 2 : (uint64_t)rl.rlim_cur;
	if (nofile < 2 * (uint64_t)reserved_fds) {
		/* a small hard limit (1024 in some containers): share it rather
		 * than leave a handful of connections */
		total_max = nofile / 2;
		ow_log(OW_LOG_WARN,
		       "RLIMIT_NOFILE %llu is under twice connections.reserved_fds (%lld): "
		       "half of it, %llu, for connections",
		       (unsigned long long)nofile, (long long)reserved_fds,
		       (unsigned long long)total_max);
	} else {
		total_max = nofile - (uint64_t)reserved_fds;
	}
	ow_log(OW_LOG_INFO, "file descriptors: %llu, of them %llu for connections",
	       (unsigned long long)nofile, (unsigned long long)total_max);
}

void ow_conn_limit_init(ow_conn_limit_t *l, const char *name, int64_t max, int64_t per_peer)
{
	memset(l, 0, sizeof(*l));
	l->name = name;
	l->max = max;
	l->per_peer = per_peer;
	l->next = limits;
	limits = l;
}

void ow_conn_limit_done(ow_conn_limit_t *l)
{
	for (ow_conn_limit_t **p = &limits; *p; p = &(*p)->next)
		if (*p == l) {
			*p = l->next;
			break;
		}
}

const ow_conn_limit_t *ow_conn_limits(void)
{
	return limits;
}

uint64_t ow_conn_open(void)
{
	return total_open;
}

uint64_t ow_conn_max(void)
{
	return total_max;
}

/* The address without the port; 0 bytes for a family without one. */
static size_t peer_key(const struct sockaddr *sa, uint8_t key[16])
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (sa && sa->sa_family == AF_INET) {
		memcpy(key, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 4;
	}
	if (sa && sa->sa_family == AF_INET6) {
		const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		if (memcmp(a, mapped, 12) == 0) {
			memcpy(key, a + 12, 4);
			return 4;
		}
		memcpy(key, a, 16);
		return 16;
	}
	return 0;
}

static ow_conn_peer_t **bucket(ow_conn_limit_t *l, const uint8_t *key, size_t len)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (size_t i = 0; i < len; i++)
		h = (h ^ key[i]) * 16777619u;
	return &l->peers[h % OW_CONN_PEER_BUCKETS];
}

ow_conn_peer_t *ow_conn_admit(ow_conn_limit_t *l, const struct sockaddr *sa)
{
	uint8_t key[16];
	size_t len = peer_key(sa, key);
	int why = -1;
	ow_conn_peer_t **b = bucket(l, key, len), *p = *b;
	while (p && (p->len != len || memcmp(p->addr, key, len) != 0))
		p = p->next;
	if (l->open >= (uint64_t)l->max)
		why = OW_CONN_FULL;
	else if (total_open >= total_max)
		why = OW_CONN_FDS;
	else if (p && p->n >= (uint64_t)l->per_peer)
		why = OW_CONN_PEER_FULL;
	if (why >= 0) {
		/* the first of a burst is worth a line; the counter has the rest */
		if (l->refused[why]++ == 0)
			ow_log(OW_LOG_WARN, "%s: connection refused: %s reached", l->name,
			       why == OW_CONN_FDS ? "file descriptors for connections "
						    "(connections.reserved_fds)"
						  : ow_conn_refuse_names[why]);
		return NULL;
	}
	if (p == NULL) {
		p = ow_calloc(1, sizeof(*p));
		memcpy(p->addr, key, len);
		p->len = (uint8_t)len;
		p->next = *b;
		*b = p;
	}
	p->n++;
	l->open++;
	total_open++;
	return p;
}

void ow_conn_release(ow_conn_limit_t *l, ow_conn_peer_t *p)
{
	if (p == NULL)
		return;
	l->open--;
	total_open--;
	if (--p->n > 0)
		return;
	for (ow_conn_peer_t **q = bucket(l, p->addr, p->len); *q; q = &(*q)->next)
		if (*q == p) {
			*q = p->next;
			break;
		}
	free(p);
}

/*
 * conn.h - connection caps shared by every listener (OTLP/HTTP, OTLP/gRPC,
 * the control API): at most max connections open on a listener, at most
 * per_peer from one client address, and across all listeners at most
 * RLIMIT_NOFILE minus connections.reserved_fds, so a flood of connections
 * can never take the descriptors the WAL, Parquet parts and SQLite need.
 * A listener asks before it serves an accepted socket and tells when the
 * connection is gone; refusals and deadline closes are counted for
 * /metrics. Loop thread only.
 */
#ifndef OW_CONN_H
#define OW_CONN_H

#include "core.h"

struct sockaddr;

/* Why a connection was refused. */
enum { OW_CONN_FULL, OW_CONN_PEER_FULL, OW_CONN_FDS, OW_CONN_NREFUSE };
/* Which deadline closed a connection (or reset a gRPC stream). */
enum { OW_DL_HEAD, OW_DL_RECEIVE, OW_DL_IDLE, OW_DL_N };

extern const char *const ow_conn_refuse_names[OW_CONN_NREFUSE];
extern const char *const ow_conn_deadline_names[OW_DL_N];

typedef struct ow_conn_peer ow_conn_peer_t;

#define OW_CONN_PEER_BUCKETS 256

typedef struct ow_conn_limit {
	const char *name; /* the listener, as /metrics labels it */
	int64_t max, per_peer;
	uint64_t open;
	uint64_t refused[OW_CONN_NREFUSE];
	uint64_t deadline[OW_DL_N];
	ow_conn_peer_t *peers[OW_CONN_PEER_BUCKETS];
	struct ow_conn_limit *next;
} ow_conn_limit_t;

/* Raises the soft RLIMIT_NOFILE to the hard one and keeps reserved
 * descriptors out of reach of connections. Call once at start. */
void ow_conn_init(int64_t reserved_fds);
/* Sets l up and lists it for /metrics (ow_conn_limits). */
void ow_conn_limit_init(ow_conn_limit_t *l, const char *name, int64_t max, int64_t per_peer);
/* Takes a slot for a connection from sa; NULL (and counted) when a cap
 * is reached: the caller closes the socket. */
ow_conn_peer_t *ow_conn_admit(ow_conn_limit_t *l, const struct sockaddr *sa);
void ow_conn_release(ow_conn_limit_t *l, ow_conn_peer_t *p);
/* Takes l off the list (at stop, after its connections are released). */
void ow_conn_limit_done(ow_conn_limit_t *l);
const ow_conn_limit_t *ow_conn_limits(void);
/* Connections open on all listeners, and the most allowed. */
uint64_t ow_conn_open(void);
uint64_t ow_conn_max(void);

#endif

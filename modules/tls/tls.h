/*
 * tls.h - TLS for the listeners (OTLP/HTTP, OTLP/gRPC, the control API),
 * OpenSSL under libevent's bufferevent_openssl.
 *
 * tls.cert_file and tls.key_file (and tls.client_ca_file: client
 * certificates required and verified) turn TLS on for every listener. A
 * listener's own <prefix>.tls.cert_file, .key_file and .client_ca_file
 * take the place of the top-level ones, and <prefix>.tls.enabled: false
 * keeps it plain whatever they say. TLS 1.2 at least. ALPN: the listener's
 * one protocol ("h2" or "http/1.1"); a client offering ALPN without it is
 * refused.
 *
 * A listener keeps its current SSL_CTX; each accepted connection takes a
 * reference to it (SSL_new), so ow_tls_reload() (SIGHUP) swaps in a
 * context of the files as they are now for new connections while open ones
 * keep theirs. A reload that fails keeps the old context and logs why.
 * Loop thread only.
 */
#ifndef OW_TLS_H
#define OW_TLS_H

#include "../core/module.h"

#include <event2/util.h>

extern ow_module_t ow_tls_module;

/* A listener's TLS settings, its <prefix>.tls.* keys. An empty file name
 * means the top-level tls.* one. */
typedef struct {
	int enabled;
	char *cert_file, *key_file, *client_ca_file;
} ow_tls_conf_t;

/* The four directives of a listener's TLS under PREFIX (a string literal:
 * "control", "ingestion.http") into the ow_tls_conf_t CONF. */
#define OW_TLS_DIRECTIVES(PREFIX, CONF)                                                            \
	{PREFIX ".tls.enabled", OW_CONF_BOOL, &(CONF).enabled, 0, 0, "true", NULL, 0},             \
	    {PREFIX ".tls.cert_file", OW_CONF_STR, &(CONF).cert_file, 0, 4000, "", NULL, 0},       \
	    {PREFIX ".tls.key_file", OW_CONF_STR, &(CONF).key_file, 0, 4000, "", NULL, 0},         \
	{                                                                                          \
		PREFIX ".tls.client_ca_file", OW_CONF_STR, &(CONF).client_ca_file, 0, 4000, "",    \
		    NULL, 0                                                                        \
	}

typedef struct ow_tls ow_tls_t;
struct bufferevent;
struct event_base;

/* For a module's check(): a certificate without its key (or the reverse),
 * or a client CA without a certificate, is an error naming the key. */
int ow_tls_check(const char *prefix, const ow_tls_conf_t *c, char *err, size_t errlen);
/* The TLS of listener `name` (as /metrics labels it): OW_OK and *out NULL
 * when it is plain; OW_ERROR, logged with the file and OpenSSL's reason,
 * when its files do not load or the key does not match the certificate.
 * alpn is its protocol, "h2" or "http/1.1". */
int ow_tls_listener(ow_tls_t **out, const char *name, const char *prefix, const ow_tls_conf_t *c,
		    const char *alpn);
/* A bufferevent that accepts a TLS connection on fd (-1: set later, as
 * evhttp does), closing it when freed; NULL when out of memory. */
struct bufferevent *ow_tls_bufferevent(ow_tls_t *t, struct event_base *base, evutil_socket_t fd);
/* Nonzero once the handshake of bev (from ow_tls_bufferevent) is done. */
int ow_tls_established(struct bufferevent *bev);
/* Call before a connection's bufferevent is freed: one closed before its
 * handshake completed is counted a handshake failure, and one whose client
 * spoke plain HTTP is answered a plain 400 first. */
void ow_tls_closed(ow_tls_t *t, struct bufferevent *bev);
void ow_tls_free(ow_tls_t *t);
/* Loads every listener's files again (SIGHUP). */
void ow_tls_reload(void);

#endif

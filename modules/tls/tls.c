/*
 * tls.c - see tls.h.
 *
 * A listener's certificate and key are a pair: its own when it sets
 * <prefix>.tls.cert_file, else the top-level tls.* pair; its client CA is
 * its own when set, else the top-level one. Every file is opened first, so
 * that a missing or unreadable one is reported as such with its name and
 * the key that named it, before OpenSSL's own reason for one it cannot
 * parse.
 *
 * A handshake failure is a connection closed before its handshake
 * completed, whatever ended it: a protocol or certificate error, a client
 * that spoke plain text, the head deadline (the handshake counts against
 * it), or the client's going away. OpenSSL recognises a plain HTTP request
 * by its first bytes (SSL_R_HTTP_REQUEST): that client gets a plain 400, so
 * that curl http:// to a TLS port says why rather than "empty reply".
 */
#include "tls.h"
#include "../core/log.h"
#include "../core/stats.h"

#include <errno.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>

struct ow_tls {
	const char *name, *prefix;
	const ow_tls_conf_t *conf;
	const char *alpn;
	SSL_CTX *ctx;
	uint64_t failures, plain_http;
	ow_tls_t *next;
};

static char *cert_file, *key_file, *client_ca_file;
static ow_tls_t *listeners;
static uint64_t reloads, reload_failures;

static ow_directive_t directives[] = {
    {"tls.cert_file", OW_CONF_STR, &cert_file, 0, 4000, "", NULL, 0},
    {"tls.key_file", OW_CONF_STR, &key_file, 0, 4000, "", NULL, 0},
    {"tls.client_ca_file", OW_CONF_STR, &client_ca_file, 0, 4000, "", NULL, 0},
    OW_CONF_END};

/* A listener's files, and the keys that name them (for messages). */
typedef struct {
	const char *cert, *key, *ca;
	char cert_key[96], key_key[96], ca_key[96];
} files_t;

static void resolve(const char *prefix, const ow_tls_conf_t *c, files_t *f)
{
	int own = *c->cert_file != '\0';
	f->cert = own ? c->cert_file : cert_file;
	f->key = own ? c->key_file : key_file;
	snprintf(f->cert_key, sizeof(f->cert_key), "%s%stls.cert_file", own ? prefix : "",
		 own ? "." : "");
	snprintf(f->key_key, sizeof(f->key_key), "%s%stls.key_file", own ? prefix : "",
		 own ? "." : "");
	own = *c->client_ca_file != '\0';
	f->ca = own ? c->client_ca_file : client_ca_file;
	snprintf(f->ca_key, sizeof(f->ca_key), "%s%stls.client_ca_file", own ? prefix : "",
		 own ? "." : "");
}

/* A certificate and its key come together. */
static int check_pair(const char *cert, const char *key, const char *cert_key, const char *key_key,
		      char *err, size_t errlen)
{
	if ((*cert == '\0') == (*key == '\0'))
		return OW_OK;
	ow_directive_t *d = ow_conf_find(*cert ? cert_key : key_key);
	ow_conf_error(err, errlen, d, "needs %s as well", *cert ? key_key : cert_key);
	return OW_ERROR;
}

static int tls_check(char *err, size_t errlen)
{
	if (check_pair(cert_file, key_file, "tls.cert_file", "tls.key_file", err, errlen) != OW_OK)
		return OW_ERROR;
	if (*client_ca_file && !*cert_file) {
		ow_conf_error(err, errlen, ow_conf_find("tls.client_ca_file"),
			      "needs tls.cert_file and tls.key_file");
		return OW_ERROR;
	}
	return OW_OK;
}

/* "key path: what", with OpenSSL's first reason when it has one. */
static void file_error(char *err, size_t errlen, const char *key, const char *path,
		       const char *what)
{
	char reason[256] = "";
	unsigned long e = ERR_get_error();
	if (e)
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	snprintf(err, errlen, "%s %s: %s%s%s", key, path, what, *reason ? ": " : "", reason);
}

static int readable(const char *key, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errlen, "%s %s: cannot read: %s", key, path, strerror(errno));
		return 0;
	}
	fclose(f);
	return 1;
}

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		       const unsigned char *in, unsigned int inlen, void *arg)
{
	OW_UNUSED(ssl);
	const ow_tls_t *t = arg;
	size_t want = strlen(t->alpn);
	for (unsigned int i = 0; i < inlen && i + 1u + in[i] <= inlen; i += 1u + in[i])
		if (in[i] == want && memcmp(in + i + 1, t->alpn, want) == 0) {
			*out = in + i + 1;
			*outlen = in[i];
			return SSL_TLSEXT_ERR_OK;
		}
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/* A context of t's files as they are now; NULL with the reason in err. */
static SSL_CTX *load(ow_tls_t *t, char *err, size_t errlen)
{
	files_t f;
	resolve(t->prefix, t->conf, &f);
	ERR_clear_error();
	if (!readable(f.cert_key, f.cert, err, errlen) ||
	    !readable(f.key_key, f.key, err, errlen) ||
	    (*f.ca && !readable(f.ca_key, f.ca, err, errlen)))
		return NULL;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		file_error(err, errlen, f.cert_key, f.cert, "cannot make a TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
				     SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)t->name,
				       (unsigned int)strlen(t->name));
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, t);
	if (SSL_CTX_use_certificate_chain_file(ctx, f.cert) != 1) {
		file_error(err, errlen, f.cert_key, f.cert, "not a PEM certificate");
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, f.key, SSL_FILETYPE_PEM) != 1) {
		int mismatch = ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
		file_error(err, errlen, f.key_key, f.key,
			   mismatch ? "does not match the certificate" : "not a PEM private key");
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		file_error(err, errlen, f.key_key, f.key, "does not match the certificate");
		goto fail;
	}
	if (*f.ca) {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(f.ca);
		if (names == NULL || SSL_CTX_load_verify_locations(ctx, f.ca, NULL) != 1) {
			sk_X509_NAME_pop_free(names, X509_NAME_free);
			file_error(err, errlen, f.ca_key, f.ca, "not a PEM CA certificate");
			goto fail;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

int ow_tls_check(const char *prefix, const ow_tls_conf_t *c, char *err, size_t errlen)
{
	char ck[96], kk[96];
	snprintf(ck, sizeof(ck), "%s.tls.cert_file", prefix);
	snprintf(kk, sizeof(kk), "%s.tls.key_file", prefix);
	if (check_pair(c->cert_file, c->key_file, ck, kk, err, errlen) != OW_OK)
		return OW_ERROR;
	files_t f;
	resolve(prefix, c, &f);
	if (c->enabled && *f.ca && !*f.cert) {
		ow_conf_error(err, errlen, ow_conf_find(f.ca_key), "needs a certificate and key");
		return OW_ERROR;
	}
	if (!c->enabled || !*f.cert)
		return OW_OK;
	/* the files as they are now, so that -t finds what start would */
	ow_tls_t t = {.name = prefix, .prefix = prefix, .conf = c, .alpn = ""};
	SSL_CTX *ctx = load(&t, err, errlen);
	SSL_CTX_free(ctx);
	return ctx ? OW_OK : OW_ERROR;
}

int ow_tls_listener(ow_tls_t **out, const char *name, const char *prefix, const ow_tls_conf_t *c,
		    const char *alpn)
{
	*out = NULL;
	files_t f;
	resolve(prefix, c, &f);
	if (!c->enabled || *f.cert == '\0')
		return OW_OK;
	ow_tls_t *t = ow_calloc(1, sizeof(*t));
	t->name = name;
	t->prefix = prefix;
	t->conf = c;
	t->alpn = alpn;
	char err[1024];
	t->ctx = load(t, err, sizeof(err));
	if (t->ctx == NULL) {
		ow_log(OW_LOG_CRIT, "%s: TLS: %s", name, err);
		free(t);
		return OW_ERROR;
	}
	t->next = listeners;
	listeners = t;
	*out = t;
	ow_log(OW_LOG_INFO, "%s: TLS with %s%s%s", name, f.cert,
	       *f.ca ? ", client certificates from " : "", f.ca);
	return OW_OK;
}

struct bufferevent *ow_tls_bufferevent(ow_tls_t *t, struct event_base *base, evutil_socket_t fd)
{
	SSL *ssl = SSL_new(t->ctx);
	if (ssl == NULL)
		return NULL;
	struct bufferevent *bev = bufferevent_openssl_socket_new(
	    base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	/* a client that closes without close_notify is only closing */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

int ow_tls_established(struct bufferevent *bev)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	return ssl && SSL_is_init_finished(ssl);
}

static const char plain_refusal[] = "HTTP/1.1 400 Bad Request\r\n"
				    "Content-Type: text/plain\r\nContent-Length: 35\r\n"
				    "Connection: close\r\n\r\n"
				    "this port speaks TLS: use https://\n";

void ow_tls_closed(ow_tls_t *t, struct bufferevent *bev)
{
	if (ow_tls_established(bev))
		return;
	t->failures++;
	int plain = 0;
	unsigned long e;
	char reason[256] = "closed";
	while ((e = bufferevent_get_openssl_error(bev)) != 0) {
		if (ERR_GET_REASON(e) == SSL_R_HTTP_REQUEST)
			plain = 1;
		ERR_error_string_n(e, reason, sizeof(reason));
	}
	ow_log(OW_LOG_DEBUG, "%s: TLS handshake failed: %s", t->name, reason);
	evutil_socket_t fd = bufferevent_getfd(bev);
	if (!plain || fd < 0)
		return;
	t->plain_http++;
	/* what the client sent is read first: a socket closed with unread
	 * bytes is reset, and the client may never see the answer */
	char sink[4096];
	for (int i = 0; i < 16 && recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
		;
	/* a fresh socket's send buffer has room: this never blocks */
	ssize_t n = send(fd, plain_refusal, sizeof(plain_refusal) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	OW_UNUSED(n);
	shutdown(fd, SHUT_WR);
}

void ow_tls_free(ow_tls_t *t)
{
	if (t == NULL)
		return;
	for (ow_tls_t **p = &listeners; *p; p = &(*p)->next)
		if (*p == t) {
			*p = t->next;
			break;
		}
	SSL_CTX_free(t->ctx);
	free(t);
}

void ow_tls_reload(void)
{
	for (ow_tls_t *t = listeners; t; t = t->next) {
		char err[1024];
		SSL_CTX *ctx = load(t, err, sizeof(err));
		if (ctx == NULL) {
			reload_failures++;
			ow_log(OW_LOG_ERROR,
			       "%s: TLS reload failed, the certificate in use stays: %s", t->name,
			       err);
			continue;
		}
		/* open connections hold their own references to the old one */
		SSL_CTX_free(t->ctx);
		t->ctx = ctx;
		reloads++;
		ow_log(OW_LOG_INFO, "%s: TLS certificate reloaded", t->name);
	}
}

static void tls_stats(ow_buf_t *b)
{
	ow_metric_head(b, "openwit_tls_handshake_failures_total", "counter",
		       "TLS connections closed before their handshake completed (an error, a "
		       "plain-text client, the head deadline), by listener.");
	for (const ow_tls_t *t = listeners; t; t = t->next)
		ow_buf_printf(b, "openwit_tls_handshake_failures_total{listener=\"%s\"} %llu\n",
			      t->name, (unsigned long long)t->failures);
	ow_metric_head(b, "openwit_tls_plain_http_total", "counter",
		       "Plain HTTP requests sent to a TLS listener (answered 400), by listener.");
	for (const ow_tls_t *t = listeners; t; t = t->next)
		ow_buf_printf(b, "openwit_tls_plain_http_total{listener=\"%s\"} %llu\n", t->name,
			      (unsigned long long)t->plain_http);
	ow_metric_one(b, "openwit_tls_reloads_total", "counter",
		      "Listener certificates reloaded on SIGHUP.", reloads);
	ow_metric_one(b, "openwit_tls_reload_failures_total", "counter",
		      "Listener certificates that failed to reload on SIGHUP (the old one stays).",
		      reload_failures);
}

ow_module_t ow_tls_module = {
    .name = "tls",
    .directives = directives,
    .check = tls_check,
    .stats = tls_stats,
    .reload = ow_tls_reload,
};

/*
 * auth.c - see auth.h. The table of tokens is the inline auth.tokens
 * lines and then the file's, read whole at check() (so `openwit -t`
 * checks them and a bad line stops the start) and again on SIGHUP
 * (reload: a bad line is logged and the old table stays). Tokens are
 * "ow_" and 32 random bytes in base64url; a file holds SHA-256 digests
 * only, and a request's token is hashed as it arrives and compared with
 * every digest with CRYPTO_memcmp, all of them whichever matches, so the
 * time tells nothing of a digest's bytes. No token, nor any part of one,
 * is ever logged or answered. Counters: failures by listener and reason,
 * the tokens loaded, reloads by outcome.
 */
#include "auth.h"
#include "../core/log.h"
#include "../core/stats.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <strings.h>
#include <sys/socket.h>

#define DIGEST 32
#define LISTENERS 8

typedef struct {
	unsigned char digest[DIGEST];
	char tenant[OW_TENANT_MAX + 1]; /* "" for all tenants */
	int scopes;
	int line;
} token_t;

struct ow_auth_table {
	token_t *tok;
	size_t n, cap;
};

static char *tokens_file, *tokens_inline;

static ow_directive_t directives[] = {
    {"auth.tokens_file", OW_CONF_STR, &tokens_file, 0, 4000, "", NULL, 0},
    {"auth.tokens", OW_CONF_LIST, &tokens_inline, 0, 1 << 20, "", NULL, 0},
    OW_CONF_END};

static ow_auth_table_t *table;

/* the reason label of openwit_auth_failures_total, by result */
static const char *const fail_names[OW_AUTH_NRESULTS] = {[OW_AUTH_MISSING] = "missing_token",
							 [OW_AUTH_BAD] = "bad_token",
							 [OW_AUTH_SCOPE] = "scope",
							 [OW_AUTH_TENANT] = "tenant",
							 [OW_AUTH_ALL_TENANTS] = "all_tenants"};

static struct {
	struct {
		const char *name;
		uint64_t failures[OW_AUTH_NRESULTS];
	} listeners[LISTENERS];
	int nlisteners;
	uint64_t reloads, reload_errors;
} stats;

static const char *const scope_names[] = {"write", "read", "admin"};

static void sha256(const void *p, size_t n, unsigned char out[DIGEST])
{
	unsigned int len = DIGEST;
	EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);
}

int ow_auth_enabled(void)
{
	return (tokens_file && *tokens_file) || (tokens_inline && *tokens_inline);
}

void ow_auth_cred(ow_auth_cred_t *c, const char *v, size_t len)
{
	int again = c->given;
	c->given = 1;
	c->bearer = 0;
	while (len && (*v == ' ' || *v == '\t'))
		v++, len--;
	while (len && (v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	if (again || len < 8 || strncasecmp(v, "Bearer", 6) != 0 || (v[6] != ' ' && v[6] != '\t'))
		return;
	v += 6, len -= 6;
	while (len && (*v == ' ' || *v == '\t'))
		v++, len--;
	for (size_t i = 0; i < len; i++)
		if (v[i] == ' ' || v[i] == '\t')
			return;
	sha256(v, len, c->digest);
	c->bearer = 1;
}

/* A line's tenant and scopes, from s (NUL-terminated words): OW_OK, or
 * OW_ERROR with the message. */
static int parse_grant(const char *tenant, const char *scopes, token_t *t, char *msg, size_t msglen)
{
	if (strcmp(tenant, "*") == 0) {
		t->tenant[0] = '\0';
	} else if (ow_tenant_valid(tenant, strlen(tenant))) {
		snprintf(t->tenant, sizeof(t->tenant), "%s", tenant);
	} else {
		snprintf(msg, msglen,
			 "invalid tenant: use * or 1 to 64 of [A-Za-z0-9._-], not . or ..");
		return OW_ERROR;
	}
	t->scopes = 0;
	for (const char *s = scopes;;) {
		size_t n = strcspn(s, ",");
		int k = -1;
		for (int i = 0; i < 3; i++)
			if (n == strlen(scope_names[i]) && strncmp(s, scope_names[i], n) == 0)
				k = i;
		if (k < 0) {
			snprintf(msg, msglen, "scopes are write, read and admin, comma-separated");
			return OW_ERROR;
		}
		t->scopes |= 1 << k;
		if (s[n] == '\0')
			break;
		s += n + 1;
	}
	return OW_OK;
}

static int hexval(int c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* One line: OW_OK with t set, OW_DECLINED for a blank or comment line,
 * OW_ERROR with the message. */
static int parse_line(char *line, token_t *t, char *msg, size_t msglen)
{
	char *hash = line + strcspn(line, "#");
	*hash = '\0';
	char *w[4], *save = NULL;
	int n = 0;
	for (char *p = strtok_r(line, " \t\r", &save); p; p = strtok_r(NULL, " \t\r", &save))
		if (n < 4)
			w[n++] = p;
		else
			n++;
	if (n == 0)
		return OW_DECLINED;
	if (n != 3) {
		snprintf(msg, msglen, "want \"sha256:<hex digest> <tenant or *> <scopes>\"");
		return OW_ERROR;
	}
	if (strncmp(w[0], "sha256:", 7) != 0 || strlen(w[0] + 7) != 2 * DIGEST) {
		snprintf(msg, msglen, "the digest must be sha256: and 64 hex digits");
		return OW_ERROR;
	}
	for (int i = 0; i < DIGEST; i++) {
		int hi = hexval(w[0][7 + 2 * i]), lo = hexval(w[0][8 + 2 * i]);
		if (hi < 0 || lo < 0) {
			snprintf(msg, msglen, "the digest must be sha256: and 64 hex digits");
			return OW_ERROR;
		}
		t->digest[i] = (unsigned char)(hi << 4 | lo);
	}
	return parse_grant(w[1], w[2], t, msg, msglen);
}

void ow_auth_table_free(ow_auth_table_t *t)
{
	if (t == NULL)
		return;
	free(t->tok);
	free(t);
}

size_t ow_auth_table_size(const ow_auth_table_t *t)
{
	return t ? t->n : 0;
}

int ow_auth_table_load(ow_auth_table_t **tp, const char *text, const char *where, char *err,
		       size_t errlen)
{
	if (*tp == NULL)
		*tp = ow_calloc(1, sizeof(**tp));
	ow_auth_table_t *t = *tp;
	char *copy = ow_strdup(text), *save = NULL, msg[256];
	int lineno = 0, rc = OW_OK;
	/* strtok_r would skip empty lines, which count */
	for (char *line = copy; line && rc == OW_OK; line = save) {
		save = strchr(line, '\n');
		if (save)
			*save++ = '\0';
		lineno++;
		token_t tok = {.line = lineno};
		int r = parse_line(line, &tok, msg, sizeof(msg));
		if (r == OW_DECLINED)
			continue;
		for (size_t i = 0; r == OW_OK && i < t->n; i++)
			if (CRYPTO_memcmp(t->tok[i].digest, tok.digest, DIGEST) == 0) {
				snprintf(msg, sizeof(msg), "the same digest as an earlier line");
				r = OW_ERROR;
			}
		if (r != OW_OK) {
			snprintf(err, errlen, "%s:%d: %s", where, lineno, msg);
			rc = OW_ERROR;
			break;
		}
		if (t->n == t->cap) {
			t->cap = t->cap ? 2 * t->cap : 16;
			t->tok = ow_realloc(t->tok, t->cap * sizeof(*t->tok));
		}
		t->tok[t->n++] = tok;
	}
	free(copy);
	return rc;
}

/* The tenant the client asked for ("default" when none), where no token
 * binds it to one: one too long to hold is left empty. */
static void asked_tenant(const char *asked, char *tenant)
{
	snprintf(tenant, OW_TENANT_MAX + 1, "%s",
		 asked == NULL			 ? "default"
		 : strlen(asked) > OW_TENANT_MAX ? ""
						 : asked);
}

int ow_auth_table_decide(const ow_auth_table_t *t, const ow_auth_cred_t *c, int scope,
			 const char *asked, char *tenant)
{
	if (!c->given)
		return OW_AUTH_MISSING;
	if (!c->bearer)
		return OW_AUTH_BAD;
	/* every digest is compared, whichever matches */
	const token_t *found = NULL;
	for (size_t i = 0; t && i < t->n; i++)
		if (CRYPTO_memcmp(t->tok[i].digest, c->digest, DIGEST) == 0)
			found = &t->tok[i];
	if (found == NULL)
		return OW_AUTH_BAD;
	if ((found->scopes & scope) != (scope & ~OW_AUTH_ALL))
		return OW_AUTH_SCOPE;
	if (found->tenant[0] == '\0') {
		asked_tenant(asked, tenant);
		return OW_AUTH_OK;
	}
	if (scope & OW_AUTH_ALL)
		return OW_AUTH_ALL_TENANTS;
	if (asked && strcmp(asked, found->tenant) != 0)
		return OW_AUTH_TENANT;
	snprintf(tenant, OW_TENANT_MAX + 1, "%s", found->tenant);
	return OW_AUTH_OK;
}

int ow_auth_listener(const char *name)
{
	for (int i = 0; i < stats.nlisteners; i++)
		if (strcmp(stats.listeners[i].name, name) == 0)
			return i;
	if (stats.nlisteners == LISTENERS)
		return LISTENERS - 1;
	stats.listeners[stats.nlisteners].name = name;
	return stats.nlisteners++;
}

int ow_auth_decide(int listener, const ow_auth_cred_t *c, int scope, const char *asked,
		   char *tenant)
{
	if (!ow_auth_enabled()) {
		asked_tenant(asked, tenant);
		return OW_AUTH_OK;
	}
	int r = ow_auth_table_decide(table, c, scope, asked, tenant);
	if (r != OW_AUTH_OK && listener >= 0 && listener < LISTENERS)
		stats.listeners[listener].failures[r]++;
	return r;
}

/* The file's whole text, or NULL with errno. */
static char *read_text(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	char *text = ow_read_all(f, SIZE_MAX);
	fclose(f);
	if (text == NULL)
		errno = EIO;
	return text;
}

/* A new table from the inline lines and the file; NULL with err. */
static ow_auth_table_t *load_all(char *err, size_t errlen)
{
	ow_auth_table_t *t = NULL;
	char where[4200];
	const ow_directive_t *d = ow_conf_find("auth.tokens");
	snprintf(where, sizeof(where), "%s:%d: auth.tokens item", ow_conf_path(), d->line);
	int rc = ow_auth_table_load(&t, tokens_inline, where, err, errlen);
	if (rc == OW_OK && *tokens_file) {
		char *text = read_text(tokens_file);
		if (text == NULL) {
			snprintf(err, errlen, "auth.tokens_file %s: %s", tokens_file,
				 strerror(errno));
			rc = OW_ERROR;
		} else {
			rc = ow_auth_table_load(&t, text, tokens_file, err, errlen);
			free(text);
		}
	}
	if (rc != OW_OK) {
		ow_auth_table_free(t);
		return NULL;
	}
	return t;
}

static int auth_check(char *err, size_t errlen)
{
	ow_auth_table_free(table);
	table = NULL;
	if (!ow_auth_enabled())
		return OW_OK;
	table = load_all(err, errlen);
	return table ? OW_OK : OW_ERROR;
}

static int auth_init(struct event_base *base)
{
	OW_UNUSED(base);
	if (!ow_auth_enabled())
		ow_log(OW_LOG_WARN,
		       "auth is off (no auth.tokens_file or auth.tokens): every "
		       "listener is on loopback, but any local user can read and write "
		       "every tenant");
	else
		ow_log(OW_LOG_INFO, "auth: %zu tokens", ow_auth_table_size(table));
	return OW_OK;
}

static void auth_reload(void)
{
	if (!ow_auth_enabled())
		return;
	char err[1024];
	ow_auth_table_t *t = load_all(err, sizeof(err));
	if (t == NULL) {
		stats.reload_errors++;
		ow_log(OW_LOG_ERROR, "auth: tokens not reloaded, the %zu loaded before stay: %s",
		       ow_auth_table_size(table), err);
		return;
	}
	ow_auth_table_free(table);
	table = t;
	stats.reloads++;
	ow_log(OW_LOG_INFO, "auth: tokens reloaded: %zu tokens", ow_auth_table_size(table));
}

static void auth_stop(void)
{
	ow_auth_table_free(table);
	table = NULL;
}

static void auth_stats(ow_buf_t *b)
{
	ow_metric_head(b, "openwit_auth_failures_total", "counter",
		       "Requests refused for their token (401: missing_token, bad_token; 403: "
		       "scope, tenant, all_tenants), by listener.");
	for (int i = 0; i < stats.nlisteners; i++)
		for (int r = OW_AUTH_MISSING; r < OW_AUTH_NRESULTS; r++)
			ow_buf_printf(b,
				      "openwit_auth_failures_total{listener=\"%s\",reason=\"%s\"} "
				      "%llu\n",
				      stats.listeners[i].name, fail_names[r],
				      (unsigned long long)stats.listeners[i].failures[r]);
	ow_metric_one(b, "openwit_auth_tokens", "gauge", "Tokens loaded (0 with auth off).",
		      ow_auth_table_size(table));
	ow_metric_head(b, "openwit_auth_reloads_total", "counter",
		       "Token reloads on SIGHUP, by result (error: the old tokens stayed).");
	ow_buf_printf(b, "openwit_auth_reloads_total{result=\"ok\"} %llu\n",
		      (unsigned long long)stats.reloads);
	ow_buf_printf(b, "openwit_auth_reloads_total{result=\"error\"} %llu\n",
		      (unsigned long long)stats.reload_errors);
}

static int loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		return IN6_IS_ADDR_LOOPBACK(a) ||
		       (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return 0;
}

int ow_auth_check_bind(const char *key, const char *bind, int64_t port, char *err, size_t errlen)
{
	if (port == 0 || ow_auth_enabled())
		return OW_OK;
	struct addrinfo hints = {0}, *ai = NULL;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	int lo = getaddrinfo(bind && *bind ? bind : NULL, "1", &hints, &ai) == 0 && ai != NULL;
	for (struct addrinfo *a = ai; a && lo; a = a->ai_next)
		lo = loopback(a->ai_addr);
	if (ai)
		freeaddrinfo(ai);
	if (lo)
		return OW_OK;
	ow_conf_error(err, errlen, ow_conf_find(key),
		      "\"%s\" is not a loopback address and auth is off: anyone who reaches it "
		      "could read and write every tenant. Set auth.tokens_file or auth.tokens "
		      "(`openwit token TENANT SCOPES` makes a token), or bind 127.0.0.1",
		      bind);
	return OW_ERROR;
}

int ow_auth_token_new(const char *tenant, const char *scopes, ow_buf_t *out, char *err,
		      size_t errlen)
{
	token_t t;
	if (parse_grant(tenant, scopes, &t, err, errlen) != OW_OK)
		return OW_ERROR;
	unsigned char raw[32], b64[48], digest[DIGEST];
	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		snprintf(err, errlen, "no random bytes from OpenSSL");
		return OW_ERROR;
	}
	int n = EVP_EncodeBlock(b64, raw, sizeof(raw));
	while (n > 0 && b64[n - 1] == '=')
		n--;
	char token[64];
	int len = snprintf(token, sizeof(token), "ow_%.*s", n, (const char *)b64);
	for (int i = 3; i < len; i++)
		token[i] = token[i] == '+' ? '-' : token[i] == '/' ? '_' : token[i];
	sha256(token, (size_t)len, digest);
	ow_buf_printf(out, "%s\nsha256:", token);
	for (int i = 0; i < DIGEST; i++)
		ow_buf_printf(out, "%02x", digest[i]);
	ow_buf_printf(out, " %s %s\n", tenant, scopes);
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(token, sizeof(token));
	return OW_OK;
}

ow_module_t ow_auth_module = {
    .name = "auth",
    .directives = directives,
    .check = auth_check,
    .init = auth_init,
    .reload = auth_reload,
    .stop = auth_stop,
    .stats = auth_stats,
};

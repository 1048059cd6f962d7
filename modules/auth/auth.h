/*
 * auth.h - who may do what: bearer tokens, each for one tenant or for all
 * of them (*), with scopes write (ingest), read (queries) and admin (the
 * monitoring API, /metrics). auth.tokens_file and the inline auth.tokens
 * list turn it on; a line of either is
 *
 *   sha256:<hex SHA-256 of the token> <tenant or *> <write,read,admin>
 *
 * and # starts a comment. Only digests are kept; a request's token is
 * hashed as it arrives and compared with every digest in constant time.
 * With auth on the token decides the tenant: X-Scope-OrgID (gRPC:
 * x-scope-orgid) may only narrow a token for all tenants to one; on a
 * tenant's token another tenant is refused. With auth off every request
 * passes and the tenant is what the client asked for ("default").
 *
 * The listeners ask (modules/ingest for the OTLP sources, control for its
 * API); they answer in their own protocol's form. All on the loop thread.
 */
#ifndef OW_AUTH_H
#define OW_AUTH_H

#include "../core/module.h"

/* Scopes, and what a route may ask beyond them. */
enum {
	OW_AUTH_WRITE = 1,
	OW_AUTH_READ = 2,
	OW_AUTH_ADMIN = 4,
	OW_AUTH_ALL = 8 /* the route lists every tenant: a token for all (*) */
};

/* What a check ends in. */
enum ow_auth_result {
	OW_AUTH_OK,
	OW_AUTH_MISSING,     /* no Authorization */
	OW_AUTH_BAD,	     /* not Bearer, or an unknown token */
	OW_AUTH_SCOPE,	     /* the token lacks the scope */
	OW_AUTH_TENANT,	     /* the token is another tenant's */
	OW_AUTH_ALL_TENANTS, /* the route needs a token for all tenants */
	OW_AUTH_NRESULTS
};

/* A request's credential: its Authorization header, hashed at once so the
 * token itself is kept nowhere. */
typedef struct {
	int given;  /* an Authorization header came */
	int bearer; /* one, of the form Bearer <token> */
	unsigned char digest[32];
} ow_auth_cred_t;

extern ow_module_t ow_auth_module;

/* Takes an Authorization header's value; a second header makes it bad. */
void ow_auth_cred(ow_auth_cred_t *c, const char *value, size_t len);
/* Is auth on (auth.tokens_file or auth.tokens set)? Known once the
 * configuration is read, before any module's check. */
int ow_auth_enabled(void);
/* A listener's index for the failure counters, by its name ("otlp_http",
 * "otlp_grpc", "control"). */
int ow_auth_listener(const char *name);
/* Decides a request's tenant: asked is the tenant the client named
 * (NUL-terminated; NULL when it named none), scope the OW_AUTH_* bits the
 * route needs. On OW_AUTH_OK, tenant (OW_TENANT_MAX + 1 bytes) holds the
 * tenant, not validated (a name too long is left empty); otherwise the
 * failure is counted under the listener. */
int ow_auth_decide(int listener, const ow_auth_cred_t *c, int scope, const char *asked,
		   char *tenant);
/* For a listener's check(): with auth off, a bind that is not loopback
 * (port 0: none) is an error naming the key in err. */
int ow_auth_check_bind(const char *key, const char *bind, int64_t port, char *err, size_t errlen);
/* openwit token TENANT SCOPES: a new random token on its first line, then
 * the line for a tokens file; OW_ERROR with a message in err. */
int ow_auth_token_new(const char *tenant, const char *scopes, ow_buf_t *out, char *err,
		      size_t errlen);

/* The parser and the table, for the unit tests. */
typedef struct ow_auth_table ow_auth_table_t;
/* Reads the lines of text into t (NULL: a new table); where and the line
 * numbers name a bad line in err. */
int ow_auth_table_load(ow_auth_table_t **t, const char *text, const char *where, char *err,
		       size_t errlen);
void ow_auth_table_free(ow_auth_table_t *t);
size_t ow_auth_table_size(const ow_auth_table_t *t);
/* ow_auth_decide over table t, counting nothing. */
int ow_auth_table_decide(const ow_auth_table_t *t, const ow_auth_cred_t *c, int scope,
			 const char *asked, char *tenant);

#endif

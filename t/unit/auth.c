/* auth: Authorization headers read, token lines parsed (errors naming
 * their line), what a token allows, and openwit token's lines read back. */
#include "../lib/tap.h"
#include "modules/auth/auth.h"

#include <stdlib.h>

static char err[512];

static ow_auth_cred_t cred(const char *v)
{
	ow_auth_cred_t c = {0};
	ow_auth_cred(&c, v, strlen(v));
	return c;
}

/* A fresh table of text; NULL with err on an error. */
static ow_auth_table_t *table(const char *text)
{
	ow_auth_table_t *t = NULL;
	err[0] = '\0';
	if (ow_auth_table_load(&t, text, "tokens", err, sizeof(err)) != OW_OK) {
		ow_auth_table_free(t);
		return NULL;
	}
	return t;
}

static void expect_error(const char *text, const char *want)
{
	ow_auth_table_t *t = table(text);
	ok(t == NULL && strstr(err, want) != NULL, "refused: %s", err);
	ow_auth_table_free(t);
}

/* openwit token's two lines: the token, and its tokens-file line */
static void make(const char *tenant, const char *scopes, char *token, char *line)
{
	ow_buf_t b = {0};
	ow_auth_token_new(tenant, scopes, &b, err, sizeof(err));
	ow_buf_add(&b, "", 1);
	char *nl = strchr((char *)b.data, '\n');
	*nl = '\0';
	strcpy(token, (char *)b.data);
	strcpy(line, nl + 1);
	line[strcspn(line, "\n")] = '\0';
	ow_buf_free(&b);
}

static int decide(const ow_auth_table_t *t, const char *token, int scope, const char *asked,
		  char *tenant)
{
	char h[128];
	snprintf(h, sizeof(h), "Bearer %s", token);
	ow_auth_cred_t c = cred(h);
	return ow_auth_table_decide(t, &c, scope, asked, tenant);
}

int main(void)
{
	/* the header */
	ow_auth_cred_t a = cred("Bearer abc"), b = cred("  bearer \t abc  ");
	ok(a.given && a.bearer, "Bearer abc: a bearer token");
	ok(b.bearer && memcmp(a.digest, b.digest, 32) == 0,
	   "the scheme in any case, blanks around: the same token");
	ok(cred("Basic YWRtaW4=").given && !cred("Basic YWRtaW4=").bearer,
	   "Basic: given, not bearer");
	ok(!cred("Bearer").bearer && !cred("Bearer ").bearer, "Bearer without a token: not bearer");
	ok(!cred("Bearer a b").bearer, "a token with a blank inside: not bearer");
	ok(!cred("Bearerabc").bearer, "no blank after the scheme: not bearer");
	ow_auth_cred_t two = cred("Bearer abc");
	ow_auth_cred(&two, "Bearer abc", 10);
	ok(two.given && !two.bearer, "a second Authorization: not bearer");
	ow_auth_cred_t none = {0};

	/* tokens and lines */
	char wa[64], wa_line[256], ra[64], ra_line[256], st[64], st_line[256], ad[64], ad_line[256];
	make("acme", "write", wa, wa_line);
	make("acme", "read", ra, ra_line);
	make("*", "read,write,admin", st, st_line);
	make("acme", "admin", ad, ad_line);
	ok(strncmp(wa, "ow_", 3) == 0 && strlen(wa) == 46 &&
	       strspn(wa + 3, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			      "0123456789-_") == 43,
	   "a token: ow_ and 43 base64url characters");
	ok(strncmp(wa_line, "sha256:", 7) == 0 && strlen(wa_line) == 7 + 64 + 11,
	   "its line: sha256:, 64 hex digits, tenant, scopes (%s)", wa_line);
	ow_buf_t bad = {0};
	is_int(ow_auth_token_new("no/pe", "write", &bad, err, sizeof(err)), OW_ERROR,
	       "openwit token refuses an invalid tenant");
	is_int(ow_auth_token_new("acme", "write,,read", &bad, err, sizeof(err)), OW_ERROR,
	       "and an empty scope");
	is_int(bad.len, 0, "printing nothing");

	char text[2048], upper[256];
	snprintf(upper, sizeof(upper), "%s", ra_line);
	for (int i = 7; i < 71; i++)
		upper[i] = (char)(upper[i] >= 'a' && upper[i] <= 'f' ? upper[i] - 32 : upper[i]);
	snprintf(text, sizeof(text),
		 "# tokens\n\n%s # the writer\n  %s\t\r\n%s\n%s\n   # the end, no newline", wa_line,
		 upper, st_line, ad_line);
	ow_auth_table_t *t = table(text);
	ok(t != NULL, "comments, blank lines, tabs, CR, upper-case hex: loaded %s", err);
	is_int(ow_auth_table_size(t), 4, "four tokens");

	char tenant[OW_TENANT_MAX + 1];
	is_int(ow_auth_table_decide(t, &none, OW_AUTH_WRITE, NULL, tenant), OW_AUTH_MISSING,
	       "no header: missing");
	ow_auth_cred_t basic = cred("Basic x");
	is_int(ow_auth_table_decide(t, &basic, OW_AUTH_WRITE, NULL, tenant), OW_AUTH_BAD,
	       "not Bearer: bad");
	is_int(decide(t, "ow_unknown", OW_AUTH_WRITE, NULL, tenant), OW_AUTH_BAD,
	       "an unknown token: bad");
	char near[64];
	snprintf(near, sizeof(near), "%.45s", wa);
	is_int(decide(t, near, OW_AUTH_WRITE, NULL, tenant), OW_AUTH_BAD,
	       "a token one character short: bad");
	tenant[0] = '\0';
	is_int(decide(t, wa, OW_AUTH_WRITE, NULL, tenant), OW_AUTH_OK, "acme's write token writes");
	is_str(tenant, "acme", "to acme, with no tenant asked");
	is_int(decide(t, wa, OW_AUTH_WRITE, "acme", tenant), OW_AUTH_OK, "acme asked: allowed");
	is_int(decide(t, wa, OW_AUTH_WRITE, "beta", tenant), OW_AUTH_TENANT,
	       "beta asked with acme's token: tenant");
	is_int(decide(t, wa, OW_AUTH_WRITE, "", tenant), OW_AUTH_TENANT,
	       "a tenant too long to hold (empty) with acme's token: tenant");
	is_int(decide(t, wa, OW_AUTH_READ, NULL, tenant), OW_AUTH_SCOPE,
	       "acme's write token reads: scope");
	is_int(decide(t, ra, OW_AUTH_READ, NULL, tenant), OW_AUTH_OK,
	       "the read token given in upper-case hex reads");
	is_int(decide(t, ra, OW_AUTH_WRITE, NULL, tenant), OW_AUTH_SCOPE, "and may not write");
	is_int(decide(t, ad, OW_AUTH_ADMIN | OW_AUTH_ALL, NULL, tenant), OW_AUTH_ALL_TENANTS,
	       "acme's admin token on a route of every tenant: all_tenants");
	is_int(decide(t, ad, OW_AUTH_ADMIN, NULL, tenant), OW_AUTH_OK,
	       "and on an admin route of its tenant: allowed");
	is_int(decide(t, st, OW_AUTH_ADMIN | OW_AUTH_ALL, NULL, tenant), OW_AUTH_OK,
	       "the * admin token on a route of every tenant: allowed");
	is_int(decide(t, st, OW_AUTH_WRITE, NULL, tenant), OW_AUTH_OK, "the * token writes");
	is_str(tenant, "default", "to default with no tenant asked");
	is_int(decide(t, st, OW_AUTH_READ, "gamma", tenant), OW_AUTH_OK, "the * token narrowed");
	is_str(tenant, "gamma", "to the tenant asked");
	char longname[100];
	memset(longname, 'x', 99);
	longname[99] = '\0';
	decide(t, st, OW_AUTH_READ, longname, tenant);
	is_str(tenant, "", "a tenant too long to hold: left empty (admission refuses it)");
	ow_auth_table_free(t);

	/* errors name their line */
	expect_error("# a\n\nsha256:abc acme write\n",
		     "tokens:3: the digest must be sha256: and 64");
	snprintf(text, sizeof(text), "%s\n%.70sg acme write\n", wa_line, wa_line);
	expect_error(text, "tokens:2: the digest must be sha256: and 64 hex digits");
	snprintf(text, sizeof(text), "%s extra\n", wa_line);
	expect_error(text, "tokens:1: want \"sha256:<hex digest> <tenant or *> <scopes>\"");
	snprintf(text, sizeof(text), "%.71s acme\n", wa_line);
	expect_error(text, "tokens:1: want");
	snprintf(text, sizeof(text), "%.71s ../x write\n", wa_line);
	expect_error(text, "tokens:1: invalid tenant");
	snprintf(text, sizeof(text), "%.71s acme write,\n", wa_line);
	expect_error(text, "tokens:1: scopes are write, read and admin");
	snprintf(text, sizeof(text), "%.71s acme Write\n", wa_line);
	expect_error(text, "tokens:1: scopes are");
	snprintf(text, sizeof(text), "%s\n\n%.71s beta read\n", wa_line, wa_line);
	expect_error(text, "tokens:3: the same digest as an earlier line");
	snprintf(text, sizeof(text), "md5:%.64s acme write\n", wa_line + 7);
	expect_error(text, "tokens:1: the digest must be sha256:");

	/* a second load adds to the table */
	t = table(wa_line);
	ok(ow_auth_table_load(&t, ra_line, "more", err, sizeof(err)) == OW_OK &&
	       ow_auth_table_size(t) == 2,
	   "a second text adds its tokens");
	ok(ow_auth_table_load(&t, wa_line, "more", err, sizeof(err)) == OW_ERROR &&
	       strstr(err, "more:1: the same digest") != NULL,
	   "a digest of the first text again in the second: %s", err);
	ow_auth_table_free(t);
	return done_testing();
}

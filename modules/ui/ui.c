/*
 * ui.c - the web UI on the control port (issue 22): one page and its
 * scripts and styles, from modules/ui/www/, compressed at build time and
 * compiled into the binary (ui.h, build/gen/ui_assets.c), so the UI works
 * offline and asks no other host for anything.
 *
 *   GET /          the page (modules/ui/www/index.html)
 *   GET /ui/NAME   its assets
 *
 * Both routes are open (scope 0): the assets hold no data. What the page
 * shows comes from the APIs it calls (/api/search, /api/traces/{id},
 * the batch monitor, /metrics), which keep their auth, tenant and
 * budgets; the UI adds no endpoint. Views are hash routes (/#/traces/...),
 * so UI paths never reach the server and never collide with an API.
 *
 * Every answer has its ETag (If-None-Match answers 304) and Cache-Control:
 * no-cache (the browser keeps the bytes and asks whether they changed, so
 * a new binary's UI is seen at the next load). Content-Encoding: gzip when
 * the request accepts it (every browser), else the bytes inflated with
 * zlib per request; HEAD has GET's headers and no body. A
 * Content-Security-Policy keeps the page to this origin: no script,
 * style, image or connection elsewhere.
 */
#include "ui.h"
#include "../control/control.h"
#include "../core/log.h"
#include "../http/http.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

static const char csp[] =
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'";

const ow_ui_asset_t *ow_ui_asset(const char *path)
{
	for (size_t i = 0; i < ow_ui_nassets; i++)
		if (strcmp(ow_ui_assets[i].path, path) == 0)
			return &ow_ui_assets[i];
	return NULL;
}

/* 1 when the value of Accept-Encoding takes gzip: a gzip, x-gzip or *
 * coding whose q is not zero. */
static int accepts_gzip(const char *v)
{
	while (v && *v) {
		v += strspn(v, " \t,");
		size_t n = strcspn(v, ";, \t");
		int name = (n == 4 && strncasecmp(v, "gzip", 4) == 0) ||
			   (n == 6 && strncasecmp(v, "x-gzip", 6) == 0) || (n == 1 && *v == '*');
		const char *end = v + strcspn(v, ",");
		const char *q = memchr(v, ';', (size_t)(end - v));
		int zero = 0;
		if (q) {
			q += strspn(q, "; \t");
			if (strncasecmp(q, "q=", 2) == 0) {
				char *e;
				zero = strtod(q + 2, &e) <= 0.0;
			}
		}
		if (name && !zero)
			return 1;
		v = end;
	}
	return 0;
}

/* 1 when If-None-Match names etag (or is *). */
static int etag_matches(const char *v, const char *etag)
{
	if (v == NULL)
		return 0;
	if (strcmp(v, "*") == 0)
		return 1;
	size_t n = strlen(etag);
	for (const char *p = strstr(v, etag); p; p = strstr(p + 1, etag))
		if ((p == v || p[-1] == ' ' || p[-1] == ',' || p[-1] == '/') &&
		    (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
			return 1;
	return 0;
}

/* The asset inflated into b: OW_OK, or OW_ERROR (a build that wrote a bad
 * member: never, but not assumed). */
static int inflate_into(const ow_ui_asset_t *a, struct evbuffer *b)
{
	struct evbuffer_iovec v;
	if (evbuffer_reserve_space(b, (ev_ssize_t)a->raw_len + 1, &v, 1) < 1)
		return OW_ERROR;
	z_stream z = {0};
	if (inflateInit2(&z, 15 + 16) != Z_OK)
		return OW_ERROR;
	z.next_in = (unsigned char *)a->gz;
	z.avail_in = (uInt)a->gz_len;
	z.next_out = v.iov_base;
	z.avail_out = (uInt)v.iov_len;
	int rc = inflate(&z, Z_FINISH);
	v.iov_len = z.total_out;
	inflateEnd(&z);
	if (rc != Z_STREAM_END || v.iov_len != a->raw_len)
		return OW_ERROR;
	return evbuffer_commit_space(b, &v, 1) == 0 ? OW_OK : OW_ERROR;
}

static void reply_error(struct evhttp_request *req, int code, const char *json)
{
	ow_http_reply(req, code, "application/json", json, strlen(json), 0);
}

static void serve(struct evhttp_request *req, const char *path, const char *tenant, void *arg)
{
	OW_UNUSED(tenant);
	OW_UNUSED(arg);
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	int cmd = evhttp_request_get_command(req);
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(out, "Allow", "GET, HEAD");
		reply_error(req, 405, "{\"error\":\"method not allowed: use GET\"}");
		return;
	}
	const ow_ui_asset_t *a = ow_ui_asset(path);
	if (a == NULL) {
		reply_error(req, 404, "{\"error\":\"not found\"}");
		return;
	}
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	evhttp_add_header(out, "ETag", a->etag);
	evhttp_add_header(out, "Cache-Control", "no-cache");
	evhttp_add_header(out, "Vary", "Accept-Encoding");
	evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
	if (strcmp(a->path, "/") == 0)
		evhttp_add_header(out, "Content-Security-Policy", csp);
	if (etag_matches(evhttp_find_header(in, "If-None-Match"), a->etag)) {
		evhttp_send_reply(req, 304, "Not Modified", NULL);
		return;
	}
	evhttp_add_header(out, "Content-Type", a->ctype);
	int gz = accepts_gzip(evhttp_find_header(in, "Accept-Encoding"));
	if (gz)
		evhttp_add_header(out, "Content-Encoding", "gzip");
	struct evbuffer *b = evbuffer_new();
	int ok = b != NULL;
	if (ok && cmd == EVHTTP_REQ_HEAD) {
		/* the length GET would send, and no body (evhttp would send one) */
		char len[24];
		snprintf(len, sizeof(len), "%zu", gz ? a->gz_len : a->raw_len);
		evhttp_add_header(out, "Content-Length", len);
	} else if (ok && gz) {
		ok = evbuffer_add_reference(b, a->gz, a->gz_len, NULL, NULL) == 0;
	} else if (ok) {
		ok = inflate_into(a, b) == OW_OK;
	}
	if (!ok) {
		ow_log(OW_LOG_ERROR, "ui: cannot answer %s", a->path);
		evhttp_remove_header(out, "Content-Encoding");
		evhttp_send_error(req, 500, NULL);
	} else {
		evhttp_send_reply(req, 200, "OK", b);
	}
	if (b)
		evbuffer_free(b);
}

static int ui_init(struct event_base *base)
{
	OW_UNUSED(base);
	if (ow_control_route("/", 0, 0, serve, NULL) != OW_OK ||
	    ow_control_route("/ui/", OW_ROUTE_PREFIX, 0, serve, NULL) != OW_OK) {
		ow_log(OW_LOG_CRIT, "ui: cannot register its routes on the control port");
		return OW_ERROR;
	}
	return OW_OK;
}

ow_module_t ow_ui_module = {.name = "ui", .init = ui_init};

/*
 * loadgen.c - the load generator of `make bench` (t/bench/compare.mjs).
 *
 *   t/bench/loadgen gen -o DIR [-S SEED] [-n SPANS] [-l LOGS] [-m POINTS] [-r RECORDS] [-t T0]
 *   t/bench/loadgen send -k traces|logs|metrics -a HOST:PORT [-M http|grpc|clickhouse]
 *                        [-c CONNS] [-s STREAMS] [-T TENANT] [-p PATH] DIR
 *
 * gen makes realistic synthetic OTLP from a fixed seed (the same bytes on
 * every run and machine, given the same T0): an online shop of a few dozen services on ~70
 * Kubernetes pods, with semantic-convention resources and attributes
 * (http, rpc, db, messaging, k8s); traces of ~10 spans with parent/child
 * structure, client and server spans for every call, database and
 * internal spans, ~1.5% failed spans with an exception event; log records
 * (access logs of the requests the proxy served, application logs inside
 * spans with their trace context, background logs without one) with
 * variable text and severities; metrics of every kind (gauge, sum
 * monotonic or not, histogram, exponential histogram, summary) collected
 * every 10 s, cumulative, some with exemplars. Span and log requests are
 * cut per pod, as an SDK's batch processor does (RECORDS a request on
 * average); metric requests gather the pods of one collection, as a
 * collector does, up to RECORDS points. The data starts at T0 (ns since
 * the epoch), printed as t0_ns: by default the latest UTC midnight from
 * which all of it (spans and logs over an hour, points every 10 s for as
 * long as POINTS takes) is past by now, since a server takes times near
 * now only (limits.max_past_hours, 30 days by default).
 *
 * gen writes, in DIR:
 *   traces.req logs.req metrics.req   the Export*ServiceRequests, protobuf,
 *       each after a 24-byte little-endian header: u32 protobuf length,
 *       u32 records, u64 offset and u32 length of its rows in the .jsonl
 *       file, u32 0
 *   spans.jsonl logs.jsonl metrics.jsonl   the SAME records as rows, one
 *       JSON object a line, with the columns of openwit's tables
 *       (modules/columns/columns.c) and their values as openwit stores
 *       them: ids as lowercase hex, times as integer nanoseconds, a log
 *       body as its text, attributes as plain JSON ({"http.route":
 *       "/api/cart","http.response.status_code":200}), events and buckets
 *       as JSON text, otlp_exact null; the rows of
 *       request i are the i-th slice, so a peer can be fed the same batches
 * and prints a JSON summary on standard output.
 *
 * send sends the requests of one signal in file order over CONNS
 * connections (each takes the next request when it is free) and prints
 * one JSON line: acknowledged records/s and the acknowledgement latency
 * (first byte sent to answer read, retries included) p50/p99, and the
 * refusals: answers (refused) and requests refused at least once
 * (refused_requests: what a sender that does not retry loses). Modes:
 *   http        OTLP/HTTP protobuf, HTTP/1.1 keep-alive, one request at a
 *               time per connection; 503/429 are retried after Retry-After
 *               (or 50 ms)
 *   grpc        OTLP/gRPC (h2c, prior knowledge) with nghttp2, up to
 *               STREAMS requests in flight per connection; UNAVAILABLE and
 *               RESOURCE_EXHAUSTED are retried after the delay of their
 *               RetryInfo (grpc-status-details-bin; at most 1 s, as
 *               Retry-After) or 50 ms
 *   clickhouse  the same batches as JSONEachRow rows over HTTP/1.1 to PATH
 *               (e.g. "/?query=INSERT+INTO+spans+FORMAT+JSONEachRow")
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("loadgen: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die("out of memory");
	return p;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- deterministic random numbers: xoshiro256** seeded by splitmix64 ---- */

static uint64_t rs[4];

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void rnd_seed(uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		rs[i] = splitmix(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rnd64(void)
{
	uint64_t r = rotl(rs[1] * 5, 7) * 9, t = rs[1] << 17;
	rs[2] ^= rs[0];
	rs[3] ^= rs[1];
	rs[1] ^= rs[2];
	rs[0] ^= rs[3];
	rs[2] ^= t;
	rs[3] = rotl(rs[3], 45);
	return r;
}

/* [0, 1) */
static double rnd(void)
{
	return (double)(rnd64() >> 11) * 0x1.0p-53;
}

/* an integer in [a, b] */
static int64_t ri(int64_t a, int64_t b)
{
	return a + (int64_t)(rnd64() % (uint64_t)(b - a + 1));
}

static int chance(double p)
{
	return rnd() < p;
}

#define PICK(a) ((a)[rnd64() % NELEMS(a)])

/* log-normal-ish, around a median */
static double lat(double median)
{
	double v = median * exp((rnd() + rnd() + rnd() - 1.5) * 1.4);
	return v < 0.05 ? 0.05 : v;
}

static void rnd_bytes(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rnd64();
}

static void rnd_id(uint8_t *p, size_t n)
{
	do
		rnd_bytes(p, n);
	while (p[0] == 0); /* never all zero */
}

static void hexstr(char *out, const uint8_t *p, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[p[i] >> 4];
		out[2 * i + 1] = hx[p[i] & 15];
	}
	out[2 * n] = '\0';
}

/* ---- growable buffers ---- */

typedef struct {
	uint8_t *p;
	size_t len, cap;
} buf_t;

static void reserve(buf_t *b, size_t n)
{
	if (b->cap - b->len >= n)
		return;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap - b->len < n)
		cap *= 2;
	b->p = xrealloc(b->p, cap);
	b->cap = cap;
}

static void put(buf_t *b, const void *p, size_t n)
{
	reserve(b, n);
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void putc_(buf_t *b, char c)
{
	reserve(b, 1);
	b->p[b->len++] = (uint8_t)c;
}

static void puts_(buf_t *b, const char *s)
{
	put(b, s, strlen(s));
}

static void putf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void putf(buf_t *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	reserve(b, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Strings of one record (attribute values made with sfmt) live in a
 * scratch arena emptied for the next record. */
static char arena[1 << 20];
static size_t arena_len;

static const char *sfmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static const char *sfmt(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t room = sizeof(arena) - arena_len;
	int n = vsnprintf(arena + arena_len, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room)
		die("scratch arena full");
	const char *s = arena + arena_len;
	arena_len += (size_t)n + 1;
	return s;
}

/* ---- protobuf, written by hand ---- */

static void pb_varint(buf_t *b, uint64_t v)
{
	reserve(b, 10);
	while (v >= 0x80) {
		b->p[b->len++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	b->p[b->len++] = (uint8_t)v;
}

static void pb_tag(buf_t *b, uint32_t field, int wt)
{
	pb_varint(b, (uint64_t)field << 3 | (uint32_t)wt);
}

static void pb_u64(buf_t *b, uint32_t field, uint64_t v)
{
	pb_tag(b, field, 0);
	pb_varint(b, v);
}

static void pb_fixed64(buf_t *b, uint32_t field, uint64_t v)
{
	pb_tag(b, field, 1);
	reserve(b, 8);
	for (int i = 0; i < 8; i++)
		b->p[b->len++] = (uint8_t)(v >> (8 * i));
}

static void pb_double(buf_t *b, uint32_t field, double d)
{
	uint64_t v;
	memcpy(&v, &d, 8);
	pb_fixed64(b, field, v);
}

static void pb_fixed32(buf_t *b, uint32_t field, uint32_t v)
{
	pb_tag(b, field, 5);
	reserve(b, 4);
	for (int i = 0; i < 4; i++)
		b->p[b->len++] = (uint8_t)(v >> (8 * i));
}

static void pb_bytes(buf_t *b, uint32_t field, const void *p, size_t n)
{
	pb_tag(b, field, 2);
	pb_varint(b, n);
	put(b, p, n);
}

static void pb_str(buf_t *b, uint32_t field, const char *s)
{
	pb_bytes(b, field, s, strlen(s));
}

/* A submessage: pb_begin writes the tag and one byte for the length;
 * pb_end moves the body when its length needs more. */
static size_t pb_begin(buf_t *b, uint32_t field)
{
	pb_tag(b, field, 2);
	reserve(b, 1);
	b->len++;
	return b->len;
}

static void pb_end(buf_t *b, size_t start)
{
	size_t n = b->len - start, k = 1;
	for (size_t v = n; v >= 0x80; v >>= 7)
		k++;
	if (k > 1) {
		reserve(b, k - 1);
		memmove(b->p + start + k - 1, b->p + start, n);
		b->len += k - 1;
	}
	uint8_t *w = b->p + start - 1;
	size_t v = n;
	while (v >= 0x80) {
		*w++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*w = (uint8_t)v;
}

/* ---- JSON, as openwit writes it (modules/columns/columns.c) ---- */

static void j_str(buf_t *b, const char *s)
{
	static const char hx[] = "0123456789abcdef";
	putc_(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char c = *p;
		if (c == '"' || c == '\\') {
			putc_(b, '\\');
			putc_(b, (char)c);
		} else if (c < 0x20) {
			char e[7] = "\\u00";
			const char *m = c == '\n'   ? "\\n"
					: c == '\t' ? "\\t"
					: c == '\r' ? "\\r"
					: c == '\b' ? "\\b"
					: c == '\f' ? "\\f"
						    : NULL;
			if (m) {
				puts_(b, m);
			} else {
				e[4] = hx[c >> 4];
				e[5] = hx[c & 15];
				put(b, e, 6);
			}
		} else {
			putc_(b, (char)c);
		}
	}
	putc_(b, '"');
}

/* the fewest of 15, 16 or 17 digits that read back, with a '.' or an
 * exponent */
static void j_f64(buf_t *b, double v)
{
	char s[40];
	int n = 0;
	for (int prec = 15; prec <= 17; prec++) {
		n = snprintf(s, sizeof(s), "%.*g", prec, v);
		if (strtod(s, NULL) == v)
			break;
	}
	put(b, s, (size_t)n);
	if (strspn(s, "-0123456789") == (size_t)n)
		puts_(b, ".0");
}

static void j_hex(buf_t *b, const uint8_t *p, size_t n)
{
	char h[65];
	hexstr(h, p, n);
	putc_(b, '"');
	put(b, h, 2 * n);
	putc_(b, '"');
}

/* ---- attributes: one list, written as protobuf KeyValues and as JSON ---- */

enum { A_STR, A_INT, A_DBL, A_BOOL };

typedef struct {
	const char *k;
	int t;
	const char *s;
	int64_t i;
	double d;
} attr_t;

typedef struct {
	attr_t a[40];
	int n;
} attrs_t;

static void as_str(attrs_t *a, const char *k, const char *v)
{
	if (v)
		a->a[a->n++] = (attr_t){k, A_STR, v, 0, 0};
}

static void as_int(attrs_t *a, const char *k, int64_t v)
{
	a->a[a->n++] = (attr_t){k, A_INT, NULL, v, 0};
}

static void as_dbl(attrs_t *a, const char *k, double v)
{
	a->a[a->n++] = (attr_t){k, A_DBL, NULL, 0, v};
}

static void as_bool(attrs_t *a, const char *k, int v)
{
	a->a[a->n++] = (attr_t){k, A_BOOL, NULL, v, 0};
}

/* repeated KeyValue field */
static void pb_attrs(buf_t *b, uint32_t field, const attrs_t *a)
{
	for (int i = 0; i < a->n; i++) {
		const attr_t *x = &a->a[i];
		size_t kv = pb_begin(b, field);
		pb_str(b, 1, x->k);
		size_t av = pb_begin(b, 2);
		switch (x->t) {
		case A_STR:
			pb_str(b, 1, x->s);
			break;
		case A_BOOL:
			pb_u64(b, 2, (uint64_t)x->i);
			break;
		case A_INT:
			pb_u64(b, 3, (uint64_t)x->i);
			break;
		default:
			pb_double(b, 4, x->d);
		}
		pb_end(b, av);
		pb_end(b, kv);
	}
}

/* an AnyValue as plain JSON, as openwit stores it (columns.c, format 2):
 * the string, true or false, the integer, the double with a '.' or an
 * exponent */
static void j_value(buf_t *b, const attr_t *x)
{
	switch (x->t) {
	case A_STR:
		j_str(b, x->s);
		break;
	case A_BOOL:
		puts_(b, x->i ? "true" : "false");
		break;
	case A_INT:
		putf(b, "%" PRId64, x->i);
		break;
	default:
		j_f64(b, x->d);
	}
}

/* {"key":value,...} */
static void j_attrs(buf_t *b, const attrs_t *a)
{
	putc_(b, '{');
	for (int i = 0; i < a->n; i++) {
		if (i)
			putc_(b, ',');
		j_str(b, a->a[i].k);
		putc_(b, ':');
		j_value(b, &a->a[i]);
	}
	putc_(b, '}');
}

/* ---- rows: one JSON object a record; JSON text columns as strings ---- */

static buf_t jtmp; /* a JSON text value, before it becomes a string */

/* a row starts with '{' */
static void r_key(buf_t *r, const char *k)
{
	if (r->p[r->len - 1] != '{')
		putc_(r, ',');
	putc_(r, '"');
	puts_(r, k);
	puts_(r, "\":");
}

static void r_str(buf_t *r, const char *k, const char *v)
{
	r_key(r, k);
	if (v)
		j_str(r, v);
	else
		puts_(r, "null");
}

static void r_int(buf_t *r, const char *k, int64_t v)
{
	r_key(r, k);
	putf(r, "%" PRId64, v);
}

static void r_dbl(buf_t *r, const char *k, double v)
{
	r_key(r, k);
	j_f64(r, v);
}

static void r_null(buf_t *r, const char *k)
{
	r_key(r, k);
	puts_(r, "null");
}

static void r_raw(buf_t *r, const char *k, const char *v)
{
	r_key(r, k);
	puts_(r, v);
}

/* the JSON text in jtmp (empty: null) as a string value */
static void r_jtmp(buf_t *r, const char *k)
{
	putc_(&jtmp, '\0');
	r_str(r, k, jtmp.len > 1 ? (const char *)jtmp.p : NULL);
	jtmp.len = 0;
}

static void r_hex(buf_t *r, const char *k, const uint8_t *p, size_t n)
{
	r_key(r, k);
	if (p)
		j_hex(r, p, n);
	else
		puts_(r, "null");
}

/* ---- the shop: languages, services, pods ---- */

enum { L_NODE, L_JAVA, L_GO, L_PY, L_NET };

typedef struct {
	const char *name, *sdk, *rt_name, *rt_ver;
	const char *http, *http_ver, *grpc, *grpc_ver, *pg, *mysql, *redis, *mongo, *db_ver, *kafka;
	const char *logger; /* NULL: a logger named after the service's class */
} lang_t;

static const lang_t langs[] = {
    [L_NODE] = {"nodejs", "1.30.1", "nodejs", "20.18.1", "@opentelemetry/instrumentation-http",
		"0.57.2", "@opentelemetry/instrumentation-grpc", "0.57.2",
		"@opentelemetry/instrumentation-pg", NULL, "@opentelemetry/instrumentation-ioredis",
		"@opentelemetry/instrumentation-mongodb", "0.51.0",
		"@opentelemetry/instrumentation-kafkajs", "pino"},
    [L_JAVA] = {"java", "1.46.0", "OpenJDK Runtime Environment", "21.0.5+11-LTS",
		"io.opentelemetry.tomcat-10.0", "2.12.0-alpha", "io.opentelemetry.grpc-1.6",
		"2.12.0-alpha", "io.opentelemetry.jdbc", "io.opentelemetry.jdbc",
		"io.opentelemetry.lettuce-5.1", NULL, "2.12.0-alpha",
		"io.opentelemetry.kafka-clients-2.6", NULL},
    [L_GO] = {"go", "1.34.0", "go", "go1.23.4",
	      "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp", "0.59.0",
	      "go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc",
	      "0.59.0", "github.com/XSAM/otelsql", NULL,
	      "github.com/redis/go-redis/extra/redisotel", NULL, "0.36.0",
	      "github.com/IBM/sarama/otelsarama", "log/slog"},
    [L_PY] = {"python", "1.29.0", "cpython", "3.12.8", "opentelemetry.instrumentation.flask",
	      "0.50b0", "opentelemetry.instrumentation.grpc", "0.50b0",
	      "opentelemetry.instrumentation.psycopg2", NULL, "opentelemetry.instrumentation.redis",
	      NULL, "0.50b0", "opentelemetry.instrumentation.confluent_kafka", NULL},
    [L_NET] = {"dotnet", "1.10.0", ".NET", "8.0.11", "Microsoft.AspNetCore", "8.0.11",
	       "Grpc.Net.Client", "2.67.0", "Npgsql", NULL,
	       "OpenTelemetry.Instrumentation.StackExchangeRedis", NULL, "1.0.0-beta.12",
	       "Confluent.Kafka.Extensions.Diagnostics", "Microsoft.Extensions.Logging"},
};

enum { P_HTTP, P_GRPC, P_KAFKA };
enum { DB_PG = 1, DB_MYSQL, DB_REDIS, DB_MONGO };

typedef struct {
	const char *name;
	int lang, proto;
	const char *eps[8]; /* "GET /route", "pkg.Service/Method", or the topic consumed */
	int dbs[3];
	const char *calls[8];
	int npods;
	int publishes; /* to the "orders" topic */
} svcdef_t;

static const svcdef_t svcdefs[] = {
    {"frontend-proxy",
     L_GO,
     P_HTTP,
     {"GET /", "GET /api/products", "GET /api/products/{productId}", "POST /api/cart",
      "GET /api/cart", "POST /api/checkout", "GET /api/recommendations", "GET /api/search"},
     {0},
     {"frontend", "image-resizer"},
     3,
     0},
    {"frontend",
     L_NODE,
     P_HTTP,
     {"GET /", "GET /api/products", "GET /api/products/{productId}", "POST /api/cart",
      "GET /api/cart", "POST /api/checkout", "GET /api/recommendations", "GET /api/search"},
     {0},
     {"product-catalog", "cart", "recommendation", "checkout", "currency", "ad", "search", "auth"},
     3,
     0},
    {"image-resizer", L_GO, P_HTTP, {"GET /images/{productId}"}, {DB_REDIS}, {0}, 2, 0},
    {"auth",
     L_GO,
     P_GRPC,
     {"auth.AuthService/ValidateToken", "auth.AuthService/Login"},
     {DB_REDIS},
     {"user"},
     2,
     0},
    {"user",
     L_JAVA,
     P_HTTP,
     {"GET /users/{userId}", "PUT /users/{userId}/preferences"},
     {DB_PG},
     {0},
     2,
     0},
    {"product-catalog",
     L_GO,
     P_GRPC,
     {"catalog.ProductCatalogService/ListProducts", "catalog.ProductCatalogService/GetProduct",
      "catalog.ProductCatalogService/SearchProducts"},
     {DB_PG},
     {"inventory", "pricing"},
     3,
     0},
    {"inventory",
     L_JAVA,
     P_HTTP,
     {"GET /inventory/{sku}", "POST /inventory/reserve"},
     {DB_MYSQL, DB_REDIS},
     {0},
     2,
     0},
    {"pricing",
     L_NET,
     P_GRPC,
     {"pricing.PricingService/GetPrice", "pricing.PricingService/ApplyPromotions"},
     {DB_REDIS},
     {0},
     2,
     0},
    {"cart",
     L_NET,
     P_GRPC,
     {"cart.CartService/GetCart", "cart.CartService/AddItem", "cart.CartService/EmptyCart"},
     {DB_REDIS},
     {0},
     3,
     0},
    {"recommendation",
     L_PY,
     P_GRPC,
     {"recommendation.RecommendationService/ListRecommendations"},
     {DB_REDIS},
     {"product-catalog", "ml-ranker"},
     2,
     0},
    {"ml-ranker", L_PY, P_HTTP, {"POST /v1/rank"}, {0}, {0}, 2, 0},
    {"search",
     L_JAVA,
     P_HTTP,
     {"GET /search", "GET /search/suggest"},
     {DB_REDIS},
     {"product-catalog"},
     2,
     0},
    {"ad", L_JAVA, P_GRPC, {"ad.AdService/GetAds"}, {0}, {0}, 2, 0},
    {"currency",
     L_NODE,
     P_GRPC,
     {"currency.CurrencyService/Convert", "currency.CurrencyService/GetSupportedCurrencies"},
     {0},
     {0},
     2,
     0},
    {"checkout",
     L_GO,
     P_GRPC,
     {"checkout.CheckoutService/PlaceOrder"},
     {DB_PG},
     {"cart", "currency", "payment", "shipping", "email", "fraud-detection", "tax", "loyalty"},
     3,
     1},
    {"payment",
     L_NODE,
     P_GRPC,
     {"payment.PaymentService/Charge", "payment.PaymentService/Refund"},
     {DB_PG},
     {0},
     3,
     0},
    {"shipping",
     L_PY,
     P_HTTP,
     {"POST /shipping/quote", "POST /shipping/ship"},
     {0},
     {"quote"},
     2,
     0},
    {"quote", L_PY, P_HTTP, {"POST /getquote"}, {0}, {0}, 2, 0},
    {"email", L_PY, P_HTTP, {"POST /send_order_confirmation"}, {0}, {"notification"}, 2, 0},
    {"notification", L_NODE, P_HTTP, {"POST /notify"}, {DB_MONGO}, {0}, 2, 0},
    {"fraud-detection", L_JAVA, P_GRPC, {"fraud.FraudService/Score"}, {DB_PG}, {0}, 2, 0},
    {"tax", L_GO, P_GRPC, {"tax.TaxService/Calculate"}, {0}, {0}, 2, 0},
    {"loyalty",
     L_JAVA,
     P_HTTP,
     {"GET /loyalty/{userId}/points", "POST /loyalty/{userId}/redeem"},
     {DB_PG},
     {0},
     2,
     0},
    {"accounting", L_NET, P_KAFKA, {"orders"}, {DB_PG}, {0}, 2, 0},
    {"order-analytics", L_JAVA, P_KAFKA, {"orders"}, {DB_MYSQL}, {0}, 2, 0},
    {"reporting",
     L_PY,
     P_HTTP,
     {"GET /reports/daily", "GET /reports/orders"},
     {DB_PG},
     {"accounting-api"},
     1,
     0},
    {"accounting-api",
     L_NET,
     P_HTTP,
     {"GET /ledger/entries", "POST /ledger/entries"},
     {DB_PG},
     {0},
     2,
     0},
};
#define NSVC ((int)NELEMS(svcdefs))

static const char *const tables[] = {"orders",	     "order_items", "products",	  "users",
				     "payments",     "shipments",   "inventory",  "ledger",
				     "fraud_scores", "sessions",    "promotions", "addresses"};

/* instrumentation scopes, shared by every pod */
typedef struct {
	const char *name, *version;
	buf_t pb; /* InstrumentationScope as field 1 of Scope{Spans,Logs,Metrics} */
	buf_t js; /* its columns, for rows */
} scope_t;

static scope_t scopes[256];
static int nscopes;

static int scope_of(const char *name, const char *version)
{
	if (!version)
		version = "";
	for (int i = 0; i < nscopes; i++)
		if (strcmp(scopes[i].name, name) == 0 && strcmp(scopes[i].version, version) == 0)
			return i;
	if (nscopes == (int)NELEMS(scopes))
		die("too many scopes");
	scope_t *s = &scopes[nscopes];
	s->name = strdup(name);
	s->version = strdup(version);
	size_t m = pb_begin(&s->pb, 1);
	pb_str(&s->pb, 1, s->name);
	if (*s->version)
		pb_str(&s->pb, 2, s->version);
	pb_end(&s->pb, m);
	puts_(&s->js, "\"scope_name\":");
	j_str(&s->js, s->name);
	puts_(&s->js, ",\"scope_version\":");
	j_str(&s->js, s->version);
	puts_(&s->js, ",\"scope_attributes\":null,\"scope_dropped_attributes_count\":0,"
		      "\"scope_schema_url\":\"\"");
	return nscopes++;
}

typedef struct {
	int scope;
	size_t off, len; /* in the pending protobuf */
} rec_t;

/* the records a pod's exporter holds for its next request */
typedef struct {
	buf_t pb, js;
	rec_t *r;
	int n, cap, target;
} pend_t;

struct svc;

typedef struct {
	struct svc *svc;
	char name[64], node[64], ip[20];
	buf_t res_pb;	  /* Resource as field 1 of Resource{Spans,Logs,Metrics} */
	buf_t res_js;	  /* its columns, for rows */
	int64_t start_ns; /* process start */
	pend_t spans, logs;
	/* metrics state */
	struct series *series;
	int nseries;
	double mem, util;
	int64_t active;
} pod_t;

typedef struct svc {
	const svcdef_t *d;
	const lang_t *l;
	char version[16];
	pod_t *pods;
	int npods;
	int neps;
	int ncalls;
	struct svc *calls[8];
	int ndbs;
	const char *cls; /* Java-ish class name for loggers */
} svc_t;

static svc_t svcs[NSVC];
static const char *nodes[8];
static int64_t T0; /* the start of the data, ns */

static svc_t *svc_by_name(const char *name)
{
	for (int i = 0; i < NSVC; i++)
		if (strcmp(svcs[i].d->name, name) == 0)
			return &svcs[i];
	die("no service %s", name);
}

static void lower(char *out, int n)
{
	static const char c[] = "bcdfghjklmnpqrstvwxz2456789";
	for (int i = 0; i < n; i++)
		out[i] = c[rnd64() % (sizeof(c) - 1)];
	out[n] = '\0';
}

static const char *uuid(void)
{
	uint8_t b[16];
	char h[33];
	rnd_bytes(b, 16);
	hexstr(h, b, 16);
	return sfmt("%.8s-%.4s-4%.3s-a%.3s-%.12s", h, h + 8, h + 13, h + 17, h + 20);
}

static void build_shop(void)
{
	for (int i = 0; i < (int)NELEMS(nodes); i++)
		nodes[i] =
		    strdup(sfmt("ip-10-0-%d-%d.ec2.internal", (int)ri(0, 3), (int)ri(2, 250)));
	for (int i = 0; i < NSVC; i++) {
		svc_t *s = &svcs[i];
		s->d = &svcdefs[i];
		s->l = &langs[s->d->lang];
		snprintf(s->version, sizeof(s->version), "%d.%d.%d", (int)ri(1, 3), (int)ri(0, 14),
			 (int)ri(0, 9));
		while (s->neps < 8 && s->d->eps[s->neps])
			s->neps++;
		while (s->ndbs < 3 && s->d->dbs[s->ndbs])
			s->ndbs++;
		char cls[64] = "", *w = cls;
		for (const char *p = s->d->name; *p; p++)
			if (*p != '-')
				*w++ = (char)(p == s->d->name || p[-1] == '-' ? *p - 32 : *p);
		*w = '\0';
		s->cls = strdup(cls);
	}
	for (int i = 0; i < NSVC; i++) {
		svc_t *s = &svcs[i];
		while (s->ncalls < 8 && s->d->calls[s->ncalls]) {
			s->calls[s->ncalls] = svc_by_name(s->d->calls[s->ncalls]);
			s->ncalls++;
		}
		char rs10[11];
		lower(rs10, 10);
		s->npods = s->d->npods;
		s->pods = calloc((size_t)s->npods, sizeof(pod_t));
		for (int k = 0; k < s->npods; k++) {
			pod_t *p = &s->pods[k];
			char r5[6];
			uint8_t cid[32];
			char chex[65];
			lower(r5, 5);
			p->svc = s;
			snprintf(p->name, sizeof(p->name), "%s-%s-%s", s->d->name, rs10, r5);
			snprintf(p->node, sizeof(p->node), "%s", PICK(nodes));
			snprintf(p->ip, sizeof(p->ip), "10.42.%d.%d", (int)ri(0, 9),
				 (int)ri(2, 250));
			p->start_ns = T0 - ri(3600, 86400 * 3) * 1000000000ll;
			p->mem = (double)ri(60, 900) * 1048576;
			p->util = 0.1;
			rnd_bytes(cid, 32);
			hexstr(chex, cid, 32);
			arena_len = 0;
			attrs_t a = {.n = 0};
			as_str(&a, "service.name", s->d->name);
			as_str(&a, "service.namespace", "shop");
			as_str(&a, "service.version", s->version);
			as_str(&a, "service.instance.id", uuid());
			as_str(&a, "deployment.environment.name", "production");
			as_str(&a, "cloud.provider", "aws");
			as_str(&a, "cloud.region", "eu-west-1");
			as_str(&a, "host.name", p->node);
			as_str(&a, "host.arch", "amd64");
			as_str(&a, "os.type", "linux");
			as_str(&a, "k8s.cluster.name", "shop-prod-eu1");
			as_str(&a, "k8s.namespace.name", "shop");
			as_str(&a, "k8s.pod.name", p->name);
			as_str(&a, "k8s.pod.uid", uuid());
			as_str(&a, "k8s.deployment.name", s->d->name);
			as_str(&a, "k8s.node.name", p->node);
			as_str(&a, "container.id", chex);
			as_str(&a, "container.image.name",
			       sfmt("registry.example.com/shop/%s", s->d->name));
			as_str(&a, "container.image.tag", s->version);
			as_str(&a, "process.runtime.name", s->l->rt_name);
			as_str(&a, "process.runtime.version", s->l->rt_ver);
			as_int(&a, "process.pid", ri(1, 60));
			as_str(&a, "telemetry.sdk.name", "opentelemetry");
			as_str(&a, "telemetry.sdk.language", s->l->name);
			as_str(&a, "telemetry.sdk.version", s->l->sdk);
			size_t m = pb_begin(&p->res_pb, 1);
			pb_attrs(&p->res_pb, 1, &a);
			pb_end(&p->res_pb, m);
			puts_(&p->res_js, "\"service_name\":");
			j_str(&p->res_js, s->d->name);
			j_attrs(&jtmp, &a);
			putc_(&jtmp, '\0');
			puts_(&p->res_js, ",\"resource_attributes\":");
			j_str(&p->res_js, (const char *)jtmp.p);
			jtmp.len = 0;
			puts_(&p->res_js,
			      ",\"resource_dropped_attributes_count\":0,"
			      "\"resource_schema_url\":\"\",\"resource_entity_refs\":null");
		}
	}
}

/* ---- output: the request files and the rows ---- */

enum { S_TRACES, S_LOGS, S_METRICS, NSIGNALS };
static const char *const sig_names[NSIGNALS] = {"traces", "logs", "metrics"};
static const char *const row_files[NSIGNALS] = {"spans.jsonl", "logs.jsonl", "metrics.jsonl"};

typedef struct {
	FILE *req, *rows;
	uint64_t rows_off;
	int64_t requests, records, pb_bytes;
} out_t;

static out_t outs[NSIGNALS];
static buf_t reqbuf;

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Writes the request in reqbuf, whose rows are rows. */
static void write_request(int sig, int nrec, const buf_t *rows)
{
	out_t *o = &outs[sig];
	uint8_t h[24];
	put_le(h, reqbuf.len, 4);
	put_le(h + 4, (uint64_t)nrec, 4);
	put_le(h + 8, o->rows_off, 8);
	put_le(h + 16, rows->len, 4);
	put_le(h + 20, 0, 4);
	if (fwrite(h, 1, 24, o->req) != 24 ||
	    fwrite(reqbuf.p, 1, reqbuf.len, o->req) != reqbuf.len ||
	    fwrite(rows->p, 1, rows->len, o->rows) != rows->len)
		die("write: %s", strerror(errno));
	o->rows_off += rows->len;
	o->requests++;
	o->records += nrec;
	o->pb_bytes += (int64_t)reqbuf.len;
	reqbuf.len = 0;
}

/* The request of one pod's pending spans or log records, grouped by scope. */
static void cut(pod_t *p, int sig)
{
	pend_t *q = sig == S_TRACES ? &p->spans : &p->logs;
	if (q->n == 0)
		return;
	reqbuf.len = 0;
	size_t rx = pb_begin(&reqbuf, 1);
	put(&reqbuf, p->res_pb.p, p->res_pb.len);
	for (int i = 0; i < q->n; i++) {
		int sc = q->r[i].scope;
		if (sc < 0)
			continue; /* written with an earlier record of its scope */
		size_t sx = pb_begin(&reqbuf, 2);
		put(&reqbuf, scopes[sc].pb.p, scopes[sc].pb.len);
		for (int k = i; k < q->n; k++) {
			if (q->r[k].scope != sc)
				continue;
			pb_bytes(&reqbuf, 2, q->pb.p + q->r[k].off, q->r[k].len);
			q->r[k].scope = -1;
		}
		pb_end(&reqbuf, sx);
	}
	pb_end(&reqbuf, rx);
	write_request(sig, q->n, &q->js);
	q->n = 0;
	q->pb.len = q->js.len = 0;
}

static int batch_target; /* -r: records a request, on average */

static int next_target(void)
{
	return (int)ri(batch_target / 2 > 0 ? batch_target / 2 : 1,
		       batch_target * 3 / 2 > 0 ? batch_target * 3 / 2 : 1);
}

/* Adds the record whose protobuf is at q->pb from off, and whose row is
 * done, to its pod's pending request; sends it when it is full. */
static void pend_add(pod_t *p, int sig, int scope, size_t off)
{
	pend_t *q = sig == S_TRACES ? &p->spans : &p->logs;
	if (q->n == q->cap) {
		q->cap = q->cap ? 2 * q->cap : 256;
		q->r = xrealloc(q->r, (size_t)q->cap * sizeof(*q->r));
	}
	q->r[q->n++] = (rec_t){scope, off, q->pb.len - off};
	if (q->target == 0)
		q->target = next_target();
	if (q->n >= q->target) {
		cut(p, sig);
		q->target = next_target();
	}
}

/* the start of a row: common columns */
static void row_begin(buf_t *r, const pod_t *p, int scope)
{
	putc_(r, '{');
	put(r, p->res_js.p, p->res_js.len);
	putc_(r, ',');
	put(r, scopes[scope].js.p, scopes[scope].js.len);
}

/* otlp_exact: NULL, no value of ours loses its OTLP type as plain JSON */
static void row_end(buf_t *r)
{
	puts_(r, ",\"otlp_exact\":null}\n");
}

/* ---- traces ---- */

typedef struct {
	uint8_t trace[16], id[8], parent[8];
	int has_parent;
	const char *name;
	int kind; /* 1 internal, 2 server, 3 client, 4 producer, 5 consumer */
	int64_t start, end;
	attrs_t at;
	const char *error; /* status message of a failed span */
	int has_event;
	int64_t ev_time;
	attrs_t ev;
	uint32_t flags;
} span_t;

static struct {
	int64_t spans_left, logs_left, points_left;
	double log_rate, log_credit;
	int64_t spans_made, spans_target;
	char sample_trace[33];
	int64_t first_ns, last_ns; /* span start times */
} g;

static int64_t ns_at(double ms)
{
	return T0 + (int64_t)llround(ms * 1e6);
}

static void emit_span(pod_t *p, int scope, const span_t *s)
{
	if (g.spans_left <= 0)
		return;
	g.spans_left--;
	if (g.first_ns == 0 || s->start < g.first_ns)
		g.first_ns = s->start;
	if (s->start > g.last_ns)
		g.last_ns = s->start;
	pend_t *q = &p->spans;
	buf_t *b = &q->pb;
	size_t off = b->len;
	pb_bytes(b, 1, s->trace, 16);
	pb_bytes(b, 2, s->id, 8);
	if (s->has_parent)
		pb_bytes(b, 4, s->parent, 8);
	pb_str(b, 5, s->name);
	pb_u64(b, 6, (uint64_t)s->kind);
	pb_fixed64(b, 7, (uint64_t)s->start);
	pb_fixed64(b, 8, (uint64_t)s->end);
	pb_attrs(b, 9, &s->at);
	if (s->has_event) {
		size_t e = pb_begin(b, 11);
		pb_fixed64(b, 1, (uint64_t)s->ev_time);
		pb_str(b, 2, "exception");
		pb_attrs(b, 3, &s->ev);
		pb_end(b, e);
	}
	size_t st = pb_begin(b, 15);
	if (s->error) {
		pb_str(b, 2, s->error);
		pb_u64(b, 3, 2);
	}
	pb_end(b, st);
	pb_fixed32(b, 16, s->flags);

	buf_t *r = &q->js;
	row_begin(r, p, scope);
	r_hex(r, "trace_id", s->trace, 16);
	r_hex(r, "span_id", s->id, 8);
	r_hex(r, "parent_span_id", s->has_parent ? s->parent : NULL, 8);
	r_str(r, "trace_state", "");
	r_int(r, "flags", s->flags);
	r_str(r, "name", s->name);
	r_int(r, "kind", s->kind);
	r_int(r, "start_time", s->start);
	r_int(r, "end_time", s->end);
	r_int(r, "duration_ns", s->end - s->start);
	if (s->at.n)
		j_attrs(&jtmp, &s->at);
	r_jtmp(r, "attributes");
	r_int(r, "dropped_attributes_count", 0);
	if (s->has_event) {
		putf(&jtmp,
		     "[{\"timeUnixNano\":\"%" PRId64 "\",\"name\":\"exception\",\"attributes\":",
		     s->ev_time);
		j_attrs(&jtmp, &s->ev);
		puts_(&jtmp, ",\"droppedAttributesCount\":0}]");
	}
	r_jtmp(r, "events");
	r_int(r, "dropped_events_count", 0);
	r_null(r, "links");
	r_int(r, "dropped_links_count", 0);
	r_int(r, "status_code", s->error ? 2 : 0);
	r_str(r, "status_message", s->error ? s->error : "");
	row_end(r);
	pend_add(p, S_TRACES, scope, off);
}

static void log_for_span(pod_t *p, const span_t *s, int root_http);

/* Every span made (sent or not, once the spans are all sent) brings its
 * share of log records. */
static void span_done(pod_t *p, int scope, const span_t *s, int root_http)
{
	emit_span(p, scope, s);
	g.spans_made++;
	if (g.spans_made == g.spans_target / 2 + 1)
		hexstr(g.sample_trace, s->trace, 16);
	g.log_credit += g.log_rate;
	while (g.log_credit >= 1 && g.logs_left > 0) {
		g.log_credit -= 1;
		log_for_span(p, s, root_http);
		root_http = 0;
	}
}

static void new_span(span_t *s, const uint8_t *trace, const uint8_t *parent, const char *name,
		     int kind, double t, double dur)
{
	memcpy(s->trace, trace, 16);
	rnd_id(s->id, 8);
	s->has_parent = parent != NULL;
	if (parent)
		memcpy(s->parent, parent, 8);
	s->name = name;
	s->kind = kind;
	s->start = ns_at(t);
	s->end = ns_at(t + dur);
	s->at.n = 0;
	s->error = NULL;
	s->has_event = 0;
	s->flags = parent && kind == 2 ? 0x301 : 0x101; /* sampled; remote parent */
}

static const char *route_path(const char *route)
{
	const char *b = strchr(route, '{');
	if (!b)
		return route;
	const char *e = strchr(b, '}');
	const char *v;
	if (strncmp(b, "{productId}", 11) == 0) {
		static const char c[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
		char id[11];
		for (int i = 0; i < 10; i++)
			id[i] = c[rnd64() % 36];
		id[10] = '\0';
		v = sfmt("%s", id);
	} else if (strncmp(b, "{userId}", 8) == 0) {
		v = sfmt("%d", (int)ri(1000, 99999));
	} else {
		v = sfmt("SKU-%d", (int)ri(10000, 99999));
	}
	return sfmt("%.*s%s%s", (int)(b - route), route, v, e + 1);
}

static void exception(span_t *s, double t)
{
	static const char *const types[] = {"TimeoutError",
					    "java.net.SocketTimeoutException",
					    "ConnectionResetError",
					    "System.InvalidOperationException",
					    "io.grpc.StatusRuntimeException",
					    "psycopg2.OperationalError"};
	static const char *const msgs[] = {"Request timed out after 3000 ms",
					   "Connection reset by peer",
					   "Sequence contains no elements",
					   "UNAVAILABLE: upstream connect error",
					   "could not connect to server: Connection refused",
					   "deadline exceeded after 2.5s"};
	static const char *const mods[] = {"undici", "pg-pool", "ioredis", "@grpc/grpc-js"};
	s->has_event = 1;
	s->ev_time = ns_at(t);
	s->ev.n = 0;
	int k = (int)ri(0, NELEMS(types) - 1);
	as_str(&s->ev, "exception.type", types[k]);
	as_str(&s->ev, "exception.message", msgs[k]);
	as_str(&s->ev, "exception.stacktrace",
	       sfmt("%s: %s\n    at Timeout._onTimeout (/app/node_modules/%s/lib/index.js:%d:%d)\n"
		    "    at listOnTimeout (node:internal/timers:581:17)\n"
		    "    at process.processTimers (node:internal/timers:519:7)",
		    types[k], msgs[k], PICK(mods), (int)ri(10, 900), (int)ri(5, 40)));
	as_bool(&s->ev, "exception.escaped", 0);
}

static const char *const agents[] = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"};

static void serve(svc_t *svc, const uint8_t *trace, const uint8_t *parent, double t, double dur,
		  int *budget, int depth, const char *via);

static void db_span(svc_t *svc, pod_t *pod, const span_t *parent, double t, double d)
{
	static const char *const redis_ops[] = {"GET", "SET", "HGETALL", "EXPIRE", "MGET", "DEL"};
	static const char *const sql_ops[] = {"SELECT", "SELECT", "SELECT", "INSERT", "UPDATE"};
	int db = svc->d->dbs[rnd64() % (uint64_t)svc->ndbs];
	const char *table = PICK(tables);
	const lang_t *l = svc->l;
	span_t s;
	const char *scope_name;
	if (db == DB_REDIS) {
		const char *op = PICK(redis_ops);
		new_span(&s, parent->trace, parent->id, op, 3, t, d < 2 ? d : lat(0.4));
		as_str(&s.at, "db.system", "redis");
		static const char *const keys[] = {"cart", "session", "product", "rate", "token"};
		char k8[9];
		lower(k8, 8);
		as_str(&s.at, "db.query.text", sfmt("%s %s:%s", op, PICK(keys), k8));
		as_str(&s.at, "db.operation.name", op);
		as_str(&s.at, "db.namespace", "0");
		as_str(&s.at, "server.address", "redis-master.shop.svc.cluster.local");
		as_int(&s.at, "server.port", 6379);
		scope_name = l->redis;
	} else if (db == DB_MONGO) {
		new_span(&s, parent->trace, parent->id, sfmt("find %s", table), 3, t, lat(1.5));
		as_str(&s.at, "db.system", "mongodb");
		as_str(&s.at, "db.namespace", "notifications");
		as_str(&s.at, "db.operation.name", "find");
		as_str(&s.at, "db.collection.name", table);
		as_str(
		    &s.at, "db.query.text",
		    sfmt("{\"find\":\"%s\",\"filter\":{\"userId\":\"?\"},\"limit\":\"?\"}", table));
		as_str(&s.at, "server.address", "mongo.shop.svc.cluster.local");
		as_int(&s.at, "server.port", 27017);
		scope_name = l->mongo;
	} else {
		const char *op = PICK(sql_ops);
		const char *sys = db == DB_PG ? "postgresql" : "mysql";
		new_span(&s, parent->trace, parent->id, sfmt("%s shop.%s", op, table), 3, t,
			 lat(op[0] == 'S' ? 2 : 4));
		as_str(&s.at, "db.system", sys);
		as_str(&s.at, "db.namespace", "shop");
		as_str(&s.at, "db.operation.name", op);
		as_str(&s.at, "db.collection.name", table);
		const char *q;
		if (op[0] == 'S')
			q = sfmt(
			    "SELECT id, user_id, status, total_cents, currency, created_at FROM %s "
			    "WHERE id = $1",
			    table);
		else if (op[0] == 'I')
			q = sfmt("INSERT INTO %s (id, user_id, status, total_cents, currency, "
				 "created_at) VALUES ($1, $2, $3, $4, $5, now())",
				 table);
		else
			q = sfmt("UPDATE %s SET status = $1, updated_at = now() WHERE id = $2",
				 table);
		as_str(&s.at, "db.query.text", q);
		as_str(&s.at, "db.user", sfmt("%s_rw", svc->d->name));
		as_str(&s.at, "server.address", sfmt("%s-primary.shop.svc.cluster.local", sys));
		as_int(&s.at, "server.port", db == DB_PG ? 5432 : 3306);
		scope_name = db == DB_PG ? l->pg : l->mysql ? l->mysql : l->pg;
	}
	if (chance(0.004)) {
		s.error = "connection pool exhausted";
		exception(&s, (double)(s.end - T0) / 1e6);
	}
	span_done(pod, scope_of(scope_name, l->db_ver), &s, 0);
}

static void call_span(svc_t *svc, pod_t *pod, const span_t *parent, svc_t *callee, double t,
		      double d, int *budget, int depth)
{
	const lang_t *l = svc->l;
	span_t s;
	const char *ep = callee->d->eps[rnd64() % (uint64_t)callee->neps];
	int scope;
	if (callee->d->proto == P_HTTP) {
		const char *sp = strchr(ep, ' ');
		const char *method = sfmt("%.*s", (int)(sp - ep), ep);
		new_span(&s, parent->trace, parent->id, method, 3, t, d);
		as_str(&s.at, "http.request.method", method);
		as_str(&s.at, "server.address", callee->d->name);
		as_int(&s.at, "server.port", 8080);
		as_str(&s.at, "url.full",
		       sfmt("http://%s:8080%s", callee->d->name, route_path(sp + 1)));
		as_int(&s.at, "http.response.status_code", 200);
		as_str(&s.at, "network.protocol.version", "1.1");
		scope = scope_of(l->http, l->http_ver);
	} else {
		const char *slash = strchr(ep, '/');
		new_span(&s, parent->trace, parent->id, ep, 3, t, d);
		as_str(&s.at, "rpc.system", "grpc");
		as_str(&s.at, "rpc.service", sfmt("%.*s", (int)(slash - ep), ep));
		as_str(&s.at, "rpc.method", slash + 1);
		as_int(&s.at, "rpc.grpc.status_code", 0);
		as_str(&s.at, "server.address", callee->d->name);
		as_int(&s.at, "server.port", 50051);
		scope = scope_of(l->grpc, l->grpc_ver);
	}
	span_done(pod, scope, &s, 0);
	if (*budget > 0)
		serve(callee, s.trace, s.id, t + 0.2 + rnd() * 0.5, d > 1.1 ? d - 1 : 0.1, budget,
		      depth + 1, callee->d->proto == P_HTTP ? svc->d->name : NULL);
}

/* checkout publishes the order; every consumer group processes it */
static void publish(svc_t *svc, pod_t *pod, const span_t *parent, double t, int *budget)
{
	const lang_t *l = svc->l;
	span_t s;
	new_span(&s, parent->trace, parent->id, "publish orders", 4, t, lat(1));
	as_str(&s.at, "messaging.system", "kafka");
	as_str(&s.at, "messaging.operation.type", "publish");
	as_str(&s.at, "messaging.destination.name", "orders");
	as_int(&s.at, "messaging.destination.partition.id", ri(0, 11));
	as_str(&s.at, "messaging.kafka.message.key", sfmt("ORD-%d", (int)ri(100000, 999999)));
	as_str(&s.at, "server.address", "kafka-0.kafka.shop.svc.cluster.local");
	span_done(pod, scope_of(l->kafka, l->db_ver), &s, 0);
	for (int i = 0; i < NSVC; i++) {
		svc_t *c = &svcs[i];
		if (c->d->proto != P_KAFKA || *budget <= 0)
			continue;
		serve(c, s.trace, s.id, t + 5 + lat(30), lat(12), budget, 1, NULL);
	}
}

/* A SERVER (or CONSUMER) span of svc and its subtree inside [t, t + dur]. */
static void serve(svc_t *svc, const uint8_t *trace, const uint8_t *parent, double t, double dur,
		  int *budget, int depth, const char *via)
{
	pod_t *pod = &svc->pods[rnd64() % (uint64_t)svc->npods];
	const lang_t *l = svc->l;
	int fail = chance(0.015);
	span_t s;
	int scope, root_http = 0;
	const char *ep = svc->d->eps[rnd64() % (uint64_t)svc->neps];
	if (svc->d->proto == P_HTTP) {
		const char *sp = strchr(ep, ' ');
		const char *method = sfmt("%.*s", (int)(sp - ep), ep), *route = sp + 1;
		int status = fail		? (int)PICK(((int[]){500, 502, 503}))
			     : chance(0.04)	? (int)PICK(((int[]){400, 401, 404}))
			     : method[0] == 'P' ? (chance(0.3) ? 201 : 200)
						: 200;
		new_span(&s, trace, parent, ep, 2, t, dur);
		as_str(&s.at, "http.request.method", method);
		as_str(&s.at, "url.path", route_path(route));
		as_str(&s.at, "url.scheme", "http");
		as_str(&s.at, "http.route", route);
		as_int(&s.at, "http.response.status_code", status);
		as_str(&s.at, "server.address", svc->d->name);
		as_int(&s.at, "server.port", 8080);
		as_str(&s.at, "network.protocol.version", "1.1");
		as_str(&s.at, "client.address",
		       sfmt("10.42.%d.%d", (int)ri(0, 9), (int)ri(2, 250)));
		if (depth == 0)
			as_str(&s.at, "user_agent.original", PICK(agents));
		else if (via)
			as_str(&s.at, "user_agent.original",
			       sfmt("%s/%s", via,
				    PICK(((const char *[]){"axios/1.7.9", "Go-http-client/1.1",
							   "python-requests/2.32.3"}))));
		if (status >= 500)
			s.error = sfmt("HTTP %d", status);
		scope = scope_of(l->http, l->http_ver);
		root_http = depth == 0;
	} else if (svc->d->proto == P_GRPC) {
		const char *slash = strchr(ep, '/');
		int code = fail ? (int)PICK(((int[]){2, 4, 13, 14})) : 0;
		new_span(&s, trace, parent, ep, 2, t, dur);
		as_str(&s.at, "rpc.system", "grpc");
		as_str(&s.at, "rpc.service", sfmt("%.*s", (int)(slash - ep), ep));
		as_str(&s.at, "rpc.method", slash + 1);
		as_int(&s.at, "rpc.grpc.status_code", code);
		as_str(&s.at, "server.address", svc->d->name);
		as_int(&s.at, "server.port", 50051);
		as_str(&s.at, "network.peer.address",
		       sfmt("10.42.%d.%d", (int)ri(0, 9), (int)ri(2, 250)));
		if (fail)
			s.error = code == 4 ? "deadline exceeded"
				  : code == 14
				      ? "upstream connect error or disconnect/reset before headers"
				      : "internal error";
		scope = scope_of(l->grpc, l->grpc_ver);
	} else {
		new_span(&s, trace, parent, "process orders", 5, t, dur);
		as_str(&s.at, "messaging.system", "kafka");
		as_str(&s.at, "messaging.operation.type", "process");
		as_str(&s.at, "messaging.destination.name", ep);
		as_str(&s.at, "messaging.consumer.group.name", svc->d->name);
		as_int(&s.at, "messaging.destination.partition.id", ri(0, 11));
		as_int(&s.at, "messaging.kafka.message.offset", ri(1000000, 9000000));
		as_int(&s.at, "messaging.batch.message_count", 1);
		if (fail)
			s.error = "failed to process message";
		scope = scope_of(l->kafka, l->db_ver);
	}
	if (fail)
		exception(&s, t + dur * 0.9);
	if (!s.error && chance(0.01))
		as_bool(&s.at, "cache.hit", chance(0.5));
	if (svc->d->lang == L_PY && svc->d->proto == P_HTTP && depth > 0)
		as_dbl(&s.at, "app.score_threshold", round(rnd() * 1e4) / 1e4);
	span_done(pod, scope, &s, root_http);
	(*budget)--;

	/* children: downstream calls, database calls, some internal work */
	enum { K_CALL, K_DB, K_INTERNAL, K_PUBLISH };
	int kinds[12], nk = 0;
	svc_t *callees[12];
	int ncalls =
	    svc->ncalls ? (int)ri(depth == 0 ? 1 : 0, svc->ncalls < 3 ? svc->ncalls : 3) : 0;
	for (int i = 0; i < ncalls; i++) {
		callees[nk] = svc->calls[rnd64() % (uint64_t)svc->ncalls];
		kinds[nk++] = K_CALL;
	}
	if (svc->ndbs)
		for (int i = (int)ri(0, 2); i > 0; i--)
			kinds[nk++] = K_DB;
	if (chance(0.3))
		kinds[nk++] = K_INTERNAL;
	if (svc->d->publishes)
		kinds[nk++] = K_PUBLISH;
	double cur = t + (dur * 0.05 < 1 ? dur * 0.05 : 1);
	double slice = dur * 0.9 / (nk ? nk : 1);
	for (int i = 0; i<nk && * budget> 0; i++) {
		double d = slice * (0.3 + rnd() * 0.65);
		switch (kinds[i]) {
		case K_DB:
			db_span(svc, pod, &s, cur, d);
			(*budget)--;
			break;
		case K_INTERNAL: {
			static const char *const names[] = {
			    "validate",	      "render",	     "serialize response",
			    "compute totals", "load config", "apply discounts"};
			static const char *const fns[] = {"handle", "process", "run", "apply"};
			span_t is;
			new_span(&is, s.trace, s.id, PICK(names), 1, cur, d * 0.5);
			as_str(&is.at, "code.function", PICK(fns));
			as_str(&is.at, "code.namespace",
			       sfmt("com.example.shop.%s.%sService", svc->cls, svc->cls));
			span_done(pod, scope_of(svc->d->name, svc->version), &is, 0);
			(*budget)--;
			break;
		}
		case K_PUBLISH:
			publish(svc, pod, &s, cur, budget);
			(*budget)--;
			break;
		default:
			call_span(svc, pod, &s, callees[i], cur, d, budget, depth);
			(*budget)--;
		}
		cur += d + slice * 0.05;
	}
}

/* ---- logs ---- */

typedef struct {
	int64_t time, observed;
	int sev;
	const char *sevtext, *body;
	attrs_t at;
	const uint8_t *trace, *span; /* NULL: no trace context */
} log_t;

static void emit_log(pod_t *p, int scope, const log_t *lg)
{
	g.logs_left--;
	pend_t *q = &p->logs;
	buf_t *b = &q->pb;
	size_t off = b->len;
	pb_fixed64(b, 1, (uint64_t)lg->time);
	pb_u64(b, 2, (uint64_t)lg->sev);
	pb_str(b, 3, lg->sevtext);
	size_t m = pb_begin(b, 5);
	pb_str(b, 1, lg->body);
	pb_end(b, m);
	pb_attrs(b, 6, &lg->at);
	if (lg->trace) {
		pb_fixed32(b, 8, 1);
		pb_bytes(b, 9, lg->trace, 16);
		pb_bytes(b, 10, lg->span, 8);
	}
	pb_fixed64(b, 11, (uint64_t)lg->observed);

	buf_t *r = &q->js;
	row_begin(r, p, scope);
	r_int(r, "time", lg->time);
	r_int(r, "observed_time", lg->observed);
	r_int(r, "severity_number", lg->sev);
	r_str(r, "severity_text", lg->sevtext);
	r_str(r, "body", lg->body);
	if (lg->at.n)
		j_attrs(&jtmp, &lg->at);
	r_jtmp(r, "attributes");
	r_int(r, "dropped_attributes_count", 0);
	r_int(r, "flags", lg->trace ? 1 : 0);
	r_hex(r, "trace_id", lg->trace, 16);
	r_hex(r, "span_id", lg->span, 8);
	r_str(r, "event_name", "");
	row_end(r);
	pend_add(p, S_LOGS, scope, off);
}

static const char *access_time(int64_t ns)
{
	static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t sec = (time_t)(ns / 1000000000);
	struct tm tm;
	gmtime_r(&sec, &tm);
	return sfmt("%02d/%s/%04d:%02d:%02d:%02d +0000", tm.tm_mday, mon[tm.tm_mon],
		    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static const char *attr_s(const attrs_t *a, const char *k)
{
	for (int i = 0; i < a->n; i++)
		if (strcmp(a->a[i].k, k) == 0)
			return a->a[i].t == A_STR ? a->a[i].s : sfmt("%" PRId64, a->a[i].i);
	return "-";
}

static const char *errs[] = {"card declined (insufficient funds)",
			     "upstream timeout after 3000 ms",
			     "NullPointerException at OrderService.java:142",
			     "invalid currency code",
			     "connection refused (ECONNREFUSED 10.42.3.17:5432)",
			     "context deadline exceeded"};
static const char *deps[] = {"payment",	     "inventory", "postgresql-primary",
			     "redis-master", "kafka-0",	  "pricing"};

/* an application log line: severity, text */
static void app_text(log_t *lg, int traced)
{
	int r = (int)ri(0, 99);
	const char *id = sfmt("ORD-%d", (int)ri(100000, 999999));
	int items = (int)ri(1, 12), ms = (int)ri(1, 400);
	if (!traced) {
		switch (ri(0, 5)) {
		case 0:
			lg->sev = 9, lg->body = "Health check OK";
			break;
		case 1:
			lg->sev = 9,
			lg->body = sfmt("GC pause (G1 Evacuation Pause) %d ms, heap %d MB -> %d MB",
					ms / 10 + 1, items * 100, items * 70);
			break;
		case 2:
			lg->sev = 9,
			lg->body = sfmt("Refreshed feature flags: %d flags, version %d", items * 3,
					(int)ri(1000, 9999));
			break;
		case 3:
			lg->sev = 13,
			lg->body = sfmt("Kafka consumer lag on partition %d is %d messages",
					(int)ri(0, 11), ms * 10);
			break;
		case 4:
			lg->sev = 5,
			lg->body = sfmt("Connection pool stats: active=%d idle=%d waiting=0",
					(int)ri(1, 20), items);
			break;
		default:
			lg->sev = 9,
			lg->body = sfmt("Metrics exported: %d series in %d ms", items * 37, ms);
		}
	} else if (r < 78) {
		switch (ri(0, 6)) {
		case 0:
			lg->body =
			    sfmt("Order %s placed for user user%d: %d items, total %d.%02d USD", id,
				 (int)ri(1000, 99999), items, (int)ri(5, 500), (int)ri(0, 99));
			break;
		case 1:
			lg->body = sfmt("Fetched %d products from catalog in %d ms", items * 4, ms);
			break;
		case 2:
			lg->body = sfmt("Payment authorized for order %s (card ending %d)", id,
					(int)ri(1000, 9999));
			break;
		case 3:
			lg->body = sfmt("Cart %s updated: %d items", uuid(), items);
			break;
		case 4: {
			char tr[17];
			lower(tr, 16);
			lg->body =
			    sfmt("Shipment scheduled for order %s, carrier %s, tracking 1Z%s", id,
				 PICK(((const char *[]){"UPS", "FedEx", "DHL", "USPS"})), tr);
			break;
		}
		case 5:
			lg->body = sfmt("Sent order confirmation to user%d@example.com",
					(int)ri(1000, 99999));
			break;
		default:
			lg->body = sfmt(
			    "request completed method=%s path=%s status=200 duration=%dms",
			    chance(0.5) ? "GET" : "POST",
			    PICK(((const char *[]){"/api/cart", "/api/products", "/api/checkout"})),
			    ms);
		}
		lg->sev = 9;
	} else if (r < 88) {
		lg->sev = 5;
		lg->body =
		    chance(0.5)
			? sfmt("Cache miss for key product:SKU-%d, loading from database",
			       (int)ri(10000, 99999))
			: sfmt("Resolved currency conversion USD->%s rate=%.4f",
			       PICK(((const char *[]){"EUR", "GBP", "JPY", "CAD"})), 0.5 + rnd());
	} else if (r < 96) {
		lg->sev = 13;
		switch (ri(0, 2)) {
		case 0:
			lg->body = sfmt(
			    "Slow query detected (%d ms): SELECT * FROM orders WHERE user_id = $1",
			    (int)ri(500, 5000));
			break;
		case 1:
			lg->body =
			    sfmt("Retrying call to %s (attempt %d/3): connection reset by peer",
				 PICK(deps), (int)ri(1, 3));
			break;
		default:
			lg->body = sfmt("Circuit breaker for %s half-open after %d s", PICK(deps),
					(int)ri(1, 6) * 10);
		}
	} else {
		lg->sev = 17;
		const char *e = PICK(errs);
		lg->body = chance(0.5) ? sfmt("Failed to charge card for order %s: %s", id, e)
				       : sfmt("Unhandled exception while processing request %s: %s",
					      uuid(), e);
		as_str(&lg->at, "exception.type",
		       PICK(((const char *[]){"PaymentDeclinedError", "TimeoutError",
					      "java.lang.NullPointerException"})));
		as_str(&lg->at, "exception.message", e);
	}
	lg->sevtext = lg->sev == 5    ? "DEBUG"
		      : lg->sev == 9  ? "INFO"
		      : lg->sev == 13 ? "WARN"
				      : "ERROR";
}

static void app_log(pod_t *p, int64_t t, const span_t *s)
{
	svc_t *svc = p->svc;
	log_t lg = {.time = t, .observed = t + ri(50000, 2000000)};
	lg.at.n = 0;
	if (svc->d->lang == L_JAVA) {
		as_str(&lg.at, "thread.name", sfmt("http-nio-8080-exec-%d", (int)ri(1, 20)));
		as_str(&lg.at, "code.namespace",
		       sfmt("com.example.shop.%s.%sService", svc->cls, svc->cls));
		as_str(&lg.at, "code.function",
		       PICK(((const char *[]){"handle", "placeOrder", "lookup", "process"})));
	} else if (svc->d->lang == L_GO) {
		as_str(&lg.at, "code.filepath", sfmt("/src/%s/main.go", svc->d->name));
		as_int(&lg.at, "code.lineno", ri(40, 400));
	} else if (svc->d->lang == L_PY) {
		as_str(&lg.at, "code.function",
		       PICK(((const char *[]){"handle", "get_quote", "send"})));
		as_int(&lg.at, "code.lineno", ri(10, 300));
	}
	app_text(&lg, s != NULL);
	if (s) {
		lg.trace = s->trace;
		lg.span = s->id;
	}
	const char *logger = svc->l->logger
				 ? svc->l->logger
				 : sfmt("com.example.shop.%s.%sService", svc->cls, svc->cls);
	emit_log(p, scope_of(logger, NULL), &lg);
}

static void log_for_span(pod_t *p, const span_t *s, int root_http)
{
	if (root_http) {
		int bytes = (int)ri(200, 60000);
		const char *status = attr_s(&s->at, "http.response.status_code");
		log_t lg = {.time = s->end, .observed = s->end + ri(50000, 900000)};
		lg.sev = status[0] == '5' ? 17 : status[0] == '4' ? 13 : 9;
		lg.sevtext = lg.sev == 17 ? "ERROR" : lg.sev == 13 ? "WARN" : "INFO";
		lg.body = sfmt("%s - - [%s] \"%s %s HTTP/1.1\" %s %d \"-\" \"%s\" %.3f",
			       attr_s(&s->at, "client.address"), access_time(s->end),
			       attr_s(&s->at, "http.request.method"), attr_s(&s->at, "url.path"),
			       status, bytes, attr_s(&s->at, "user_agent.original"),
			       (double)(s->end - s->start) / 1e9);
		lg.at.n = 0;
		as_str(&lg.at, "log.type", "access");
		as_str(&lg.at, "http.request.method", attr_s(&s->at, "http.request.method"));
		as_str(&lg.at, "url.path", attr_s(&s->at, "url.path"));
		as_int(&lg.at, "http.response.status_code", atoi(status));
		as_int(&lg.at, "http.response.body.size", bytes);
		as_str(&lg.at, "client.address", attr_s(&s->at, "client.address"));
		lg.trace = s->trace;
		lg.span = s->id;
		emit_log(p, scope_of("envoy.access_log", "1.32.2"), &lg);
	} else if (chance(0.2)) {
		svc_t *svc = &svcs[rnd64() % NSVC];
		app_log(&svc->pods[rnd64() % (uint64_t)svc->npods], s->start, NULL);
	} else {
		app_log(p, s->start + (int64_t)(rnd() * (double)(s->end - s->start)), s);
	}
}

/* ---- metrics ---- */

enum { MT_GAUGE, MT_SUM, MT_HIST, MT_EXP, MT_SUMMARY };
static const char *const mtype_names[] = {"gauge", "sum", "histogram", "exponential_histogram",
					  "summary"};
static const uint32_t mtype_field[] = {5, 7, 9, 10, 11};

typedef struct {
	const char *name, *desc, *unit;
	int type, monotonic, is_int;
} mdef_t;

enum {
	M_HTTP_DUR,
	M_RPC_DUR,
	M_DB_DUR,
	M_HTTP_ACTIVE,
	M_CPU_TIME,
	M_CPU_UTIL,
	M_MEM,
	M_NET,
	M_GO_GC,
	M_JVM_MEM,
	M_NET_GC,
	M_CONSUMED,
	M_NODE_DELAY,
};

static const mdef_t mdefs[] = {
    [M_HTTP_DUR] = {"http.server.request.duration", "Duration of HTTP server requests.", "s",
		    MT_HIST, 0, 0},
    [M_RPC_DUR] = {"rpc.server.duration", "Measures the duration of inbound RPC.", "ms", MT_EXP, 0,
		   0},
    [M_DB_DUR] = {"db.client.operation.duration", "Duration of database client operations.", "s",
		  MT_HIST, 0, 0},
    [M_HTTP_ACTIVE] = {"http.server.active_requests", "Number of active HTTP server requests.",
		       "{request}", MT_SUM, 0, 1},
    [M_CPU_TIME] = {"process.cpu.time", "Total CPU seconds broken down by different CPU modes.",
		    "s", MT_SUM, 1, 0},
    [M_CPU_UTIL] = {"process.cpu.utilization",
		    "Difference in process.cpu.time since the last measurement, divided by the "
		    "elapsed time and number of CPUs available to the process.",
		    "1", MT_GAUGE, 0, 0},
    [M_MEM] = {"process.memory.usage", "The amount of physical memory in use.", "By", MT_SUM, 0, 1},
    [M_NET] = {"system.network.io", "Network bytes transferred.", "By", MT_SUM, 1, 1},
    [M_GO_GC] = {"go_gc_duration_seconds",
		 "A summary of the wall-time pause (stop-the-world) duration in garbage "
		 "collection cycles.",
		 "s", MT_SUMMARY, 0, 0},
    [M_JVM_MEM] = {"jvm.memory.used", "Measure of memory used.", "By", MT_SUM, 0, 1},
    [M_NET_GC] = {"dotnet.gc.collections",
		  "The number of garbage collections that have occurred since the process has "
		  "started.",
		  "{collection}", MT_SUM, 1, 1},
    [M_CONSUMED] = {"messaging.client.consumed.messages",
		    "Number of messages that were delivered to the application.", "{message}",
		    MT_SUM, 1, 1},
    [M_NODE_DELAY] = {"nodejs.eventloop.delay.p99", "Event loop 99 percentile delay.", "s",
		      MT_GAUGE, 0, 0},
};

static const double bounds[] = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
				0.5,   0.75, 1,	    2.5,  5,	 7.5, 10};
#define NB ((int)NELEMS(bounds))
#define EXP_SCALE 3
#define EXP_N 240 /* bucket indexes -120..119 at scale 3: 2^-15 .. 2^15 */

typedef struct series {
	int m;
	attrs_t at;
	double rate, med; /* histograms: observations a second, median */
	int64_t count;
	double sum, min, max;
	int64_t b[NB + 1];
	int64_t *eb;   /* exponential buckets */
	double c, per; /* counters: value, increase a second */
	int64_t iv;
} series_t;

static series_t *add_series(pod_t *p, int m)
{
	if (p->nseries % 16 == 0)
		p->series = xrealloc(p->series, (size_t)(p->nseries + 16) * sizeof(series_t));
	series_t *s = &p->series[p->nseries++];
	memset(s, 0, sizeof(*s));
	s->m = m;
	s->min = INFINITY;
	s->max = -INFINITY;
	if (mdefs[m].type == MT_EXP)
		s->eb = calloc(EXP_N, sizeof(int64_t));
	return s;
}

/* strings of series attributes live as long as the program */
#define KEEP(s) strdup(s)

static void build_series(void)
{
	for (int i = 0; i < NSVC; i++) {
		svc_t *svc = &svcs[i];
		for (int k = 0; k < svc->npods; k++) {
			pod_t *p = &svc->pods[k];
			arena_len = 0;
			if (svc->d->proto == P_HTTP) {
				for (int e = 0; e < svc->neps && e < 3; e++) {
					const char *ep = svc->d->eps[e], *sp = strchr(ep, ' ');
					for (int st = 0; st < 2; st++) {
						series_t *s = add_series(p, M_HTTP_DUR);
						as_str(&s->at, "http.request.method",
						       KEEP(sfmt("%.*s", (int)(sp - ep), ep)));
						as_str(&s->at, "http.route", sp + 1);
						as_int(&s->at, "http.response.status_code",
						       st ? 500 : 200);
						as_str(&s->at, "url.scheme", "http");
						as_str(&s->at, "network.protocol.version", "1.1");
						s->rate = st ? 0.3 : 4;
						s->med = 0.03;
					}
				}
			} else if (svc->d->proto == P_GRPC) {
				for (int e = 0; e < svc->neps && e < 2; e++) {
					const char *ep = svc->d->eps[e], *sl = strchr(ep, '/');
					series_t *s = add_series(p, M_RPC_DUR);
					as_str(&s->at, "rpc.system", "grpc");
					as_str(&s->at, "rpc.service",
					       KEEP(sfmt("%.*s", (int)(sl - ep), ep)));
					as_str(&s->at, "rpc.method", sl + 1);
					as_int(&s->at, "rpc.grpc.status_code", 0);
					s->rate = 5;
					s->med = 8;
				}
			}
			for (int d = 0; d < svc->ndbs; d++) {
				int db = svc->d->dbs[d];
				series_t *s = add_series(p, M_DB_DUR);
				const char *sys = db == DB_PG	   ? "postgresql"
						  : db == DB_MYSQL ? "mysql"
						  : db == DB_REDIS ? "redis"
								   : "mongodb";
				as_str(&s->at, "db.system", sys);
				as_str(&s->at, "db.operation.name",
				       db == DB_REDIS ? "GET" : "SELECT");
				if (db != DB_REDIS)
					as_str(&s->at, "db.collection.name", PICK(tables));
				as_str(&s->at, "server.address",
				       KEEP(sfmt("%s-primary.shop.svc.cluster.local", sys)));
				s->rate = 6;
				s->med = 0.002;
			}
			if (svc->d->proto == P_HTTP) {
				series_t *s = add_series(p, M_HTTP_ACTIVE);
				as_str(&s->at, "http.request.method", "GET");
				as_str(&s->at, "url.scheme", "http");
			}
			for (int mode = 0; mode < 2; mode++) {
				series_t *s = add_series(p, M_CPU_TIME);
				as_str(&s->at, "cpu.mode", mode ? "system" : "user");
				s->per = (double)ri(10, 500) / 1000;
			}
			add_series(p, M_CPU_UTIL);
			add_series(p, M_MEM);
			for (int dir = 0; dir < 2; dir++) {
				series_t *s = add_series(p, M_NET);
				as_str(&s->at, "network.io.direction",
				       dir ? "receive" : "transmit");
				as_str(&s->at, "network.interface.name", "eth0");
				s->per = (double)ri(20000, 900000);
			}
			if (svc->d->lang == L_GO)
				add_series(p, M_GO_GC);
			if (svc->d->lang == L_JAVA) {
				static const char *const pools[] = {"G1 Eden Space", "G1 Old Gen",
								    "G1 Survivor Space",
								    "Metaspace"};
				for (int k2 = 0; k2 < 4; k2++) {
					series_t *s = add_series(p, M_JVM_MEM);
					as_str(&s->at, "jvm.memory.pool.name", pools[k2]);
					as_str(&s->at, "jvm.memory.type",
					       k2 < 3 ? "heap" : "non_heap");
					s->iv = ri(20, 400) * 1048576;
				}
			}
			if (svc->d->lang == L_NET)
				for (int gen = 0; gen < 3; gen++) {
					series_t *s = add_series(p, M_NET_GC);
					as_str(&s->at, "dotnet.gc.heap.generation",
					       gen == 0	  ? "gen0"
					       : gen == 1 ? "gen1"
							  : "gen2");
					s->per = gen == 0 ? 2 : gen == 1 ? 0.3 : 0.02;
				}
			if (svc->d->proto == P_KAFKA) {
				series_t *s = add_series(p, M_CONSUMED);
				as_str(&s->at, "messaging.system", "kafka");
				as_str(&s->at, "messaging.destination.name", "orders");
				as_str(&s->at, "messaging.consumer.group.name", svc->d->name);
				s->per = 3;
			}
			if (svc->d->lang == L_NODE)
				add_series(p, M_NODE_DELAY);
		}
	}
}

static void observe(series_t *s, double v)
{
	s->count++;
	s->sum += v;
	if (v < s->min)
		s->min = v;
	if (v > s->max)
		s->max = v;
	if (s->eb) {
		int idx = (int)ceil(log2(v) * (1 << EXP_SCALE)) - 1 + EXP_N / 2;
		s->eb[idx < 0 ? 0 : idx >= EXP_N ? EXP_N - 1 : idx]++;
		return;
	}
	int i = 0;
	while (i < NB && v > bounds[i])
		i++;
	s->b[i]++;
}

static buf_t mrows; /* the rows of the metrics request being made */
static int mpoints; /* its points */

/* The row columns of a distribution point: count and sum, and min and max
 * when it has them; no single value. */
static void r_dist(buf_t *r, const series_t *s, int has_minmax)
{
	r_null(r, "value");
	r_null(r, "value_int");
	r_int(r, "count", s->count);
	r_dbl(r, "sum", s->sum);
	if (has_minmax && s->count) {
		r_dbl(r, "min", s->min);
		r_dbl(r, "max", s->max);
	} else {
		r_null(r, "min");
		r_null(r, "max");
	}
}

static void point_common(buf_t *b, buf_t *r, const series_t *s, uint32_t attrs_field, int64_t start,
			 int64_t t)
{
	pb_attrs(b, attrs_field, &s->at);
	if (start)
		pb_fixed64(b, 2, (uint64_t)start);
	pb_fixed64(b, 3, (uint64_t)t);
	if (s->at.n)
		j_attrs(&jtmp, &s->at);
	r_jtmp(r, "attributes");
	r_int(r, "start_time", start);
	r_int(r, "time", t);
}

/* one data point of s at t, into the open data message of its metric */
static void point(pod_t *p, series_t *s, int64_t t)
{
	const mdef_t *m = &mdefs[s->m];
	buf_t *b = &reqbuf, *r = &mrows;
	double v = 0;
	int64_t iv = 0;
	switch (s->m) {
	case M_HTTP_DUR:
	case M_RPC_DUR:
	case M_DB_DUR: {
		int n = (int)(s->rate * 10 * (0.5 + rnd()));
		for (int i = 0; i < n; i++)
			observe(s, lat(s->med));
		break;
	}
	case M_HTTP_ACTIVE:
		p->active += ri(-3, 3);
		if (p->active < 0)
			p->active = 0;
		iv = p->active;
		break;
	case M_CPU_TIME:
	case M_NET:
	case M_NET_GC:
	case M_CONSUMED:
		s->c += s->per * 10 * (0.7 + rnd() * 0.6);
		v = s->m == M_CPU_TIME ? round(s->c * 1000) / 1000 : 0;
		iv = (int64_t)llround(s->c);
		break;
	case M_CPU_UTIL:
		p->util += (rnd() - 0.5) * 0.05;
		p->util = p->util < 0.01 ? 0.01 : p->util > 1 ? 1 : p->util;
		v = p->util;
		break;
	case M_MEM:
		p->mem += (double)ri(-8, 9) * 1048576 + (double)ri(0, 1048575);
		if (p->mem < 30 * 1048576)
			p->mem = 30 * 1048576;
		iv = (int64_t)p->mem;
		break;
	case M_JVM_MEM:
		s->iv += ri(-4, 4) * 1048576;
		if (s->iv < 8 * 1048576)
			s->iv = 8 * 1048576;
		iv = s->iv;
		break;
	case M_GO_GC:
		s->count += ri(1, 6);
		s->sum += (double)ri(1, 6) * 0.00021 * (0.5 + rnd());
		break;
	case M_NODE_DELAY:
		v = 0.01 + rnd() * 0.03;
		break;
	}
	int64_t start = m->type == MT_GAUGE ? 0 : p->start_ns;
	size_t dp = pb_begin(b, 1);
	putc_(r, '{');
	put(r, p->res_js.p, p->res_js.len);
	putc_(r, ',');
	int scope = scope_of(p->svc->d->name, p->svc->version);
	put(r, scopes[scope].js.p, scopes[scope].js.len);
	r_str(r, "metric_name", m->name);
	r_str(r, "metric_description", m->desc);
	r_str(r, "metric_unit", m->unit);
	r_null(r, "metric_metadata");
	r_str(r, "metric_type", mtype_names[m->type]);
	if (m->type == MT_GAUGE || m->type == MT_SUMMARY)
		r_null(r, "temporality");
	else
		r_int(r, "temporality", 2);
	if (m->type == MT_SUM)
		r_raw(r, "is_monotonic", m->monotonic ? "true" : "false");
	else
		r_null(r, "is_monotonic");
	int exemplar = 0;
	uint8_t ex_trace[16], ex_span[8];
	int64_t ex_time = 0;
	double ex_val = 0;
	switch (m->type) {
	case MT_GAUGE:
	case MT_SUM:
		point_common(b, r, s, 7, start, t);
		if (m->is_int)
			pb_fixed64(b, 6, (uint64_t)iv);
		else
			pb_double(b, 4, v);
		if (m->is_int) {
			r_null(r, "value");
			r_int(r, "value_int", iv);
		} else {
			r_dbl(r, "value", v);
			r_null(r, "value_int");
		}
		r_null(r, "count");
		r_null(r, "sum");
		r_null(r, "min");
		r_null(r, "max");
		r_null(r, "bucket_counts");
		r_null(r, "explicit_bounds");
		r_null(r, "scale");
		r_null(r, "zero_count");
		r_null(r, "zero_threshold");
		r_null(r, "positive");
		r_null(r, "negative");
		r_null(r, "quantiles");
		r_null(r, "exemplars");
		break;
	case MT_HIST:
		point_common(b, r, s, 9, start, t);
		pb_fixed64(b, 4, (uint64_t)s->count);
		pb_double(b, 5, s->sum);
		{
			size_t x = pb_begin(b, 6);
			for (int i = 0; i <= NB; i++)
				for (int k = 0; k < 8; k++)
					putc_(b, (char)((uint64_t)s->b[i] >> (8 * k)));
			pb_end(b, x);
			x = pb_begin(b, 7);
			for (int i = 0; i < NB; i++) {
				uint64_t u;
				memcpy(&u, &bounds[i], 8);
				for (int k = 0; k < 8; k++)
					putc_(b, (char)(u >> (8 * k)));
			}
			pb_end(b, x);
		}
		if (s->m == M_HTTP_DUR && s->count && chance(0.3)) {
			exemplar = 1;
			rnd_id(ex_trace, 16);
			rnd_id(ex_span, 8);
			ex_time = t - ri(0, 9999) * 1000000;
			ex_val = lat(s->med);
			size_t x = pb_begin(b, 8);
			pb_fixed64(b, 2, (uint64_t)ex_time);
			pb_double(b, 3, ex_val);
			pb_bytes(b, 4, ex_span, 8);
			pb_bytes(b, 5, ex_trace, 16);
			pb_end(b, x);
		}
		if (s->count) {
			pb_double(b, 11, s->min);
			pb_double(b, 12, s->max);
		}
		r_dist(r, s, 1);
		putc_(&jtmp, '[');
		for (int i = 0; i <= NB; i++)
			putf(&jtmp, "%s\"%" PRId64 "\"", i ? "," : "", s->b[i]);
		putc_(&jtmp, ']');
		r_jtmp(r, "bucket_counts");
		putc_(&jtmp, '[');
		for (int i = 0; i < NB; i++) {
			if (i)
				putc_(&jtmp, ',');
			j_f64(&jtmp, bounds[i]);
		}
		putc_(&jtmp, ']');
		r_jtmp(r, "explicit_bounds");
		r_null(r, "scale");
		r_null(r, "zero_count");
		r_null(r, "zero_threshold");
		r_null(r, "positive");
		r_null(r, "negative");
		r_null(r, "quantiles");
		if (exemplar) {
			putf(&jtmp, "[{\"timeUnixNano\":\"%" PRId64 "\",\"asDouble\":", ex_time);
			j_f64(&jtmp, ex_val);
			puts_(&jtmp, ",\"spanId\":");
			j_hex(&jtmp, ex_span, 8);
			puts_(&jtmp, ",\"traceId\":");
			j_hex(&jtmp, ex_trace, 16);
			puts_(&jtmp, ",\"filteredAttributes\":{}}]");
		}
		r_jtmp(r, "exemplars");
		break;
	case MT_EXP: {
		point_common(b, r, s, 1, start, t);
		pb_fixed64(b, 4, (uint64_t)s->count);
		pb_double(b, 5, s->sum);
		pb_u64(b, 6, (uint64_t)(EXP_SCALE << 1)); /* sint32, zigzag */
		int lo = 0, hi = EXP_N - 1;
		while (lo < EXP_N && s->eb[lo] == 0)
			lo++;
		while (hi >= lo && s->eb[hi] == 0)
			hi--;
		int offset = lo - EXP_N / 2;
		if (lo <= hi) {
			size_t x = pb_begin(b, 8);
			pb_u64(b, 1,
			       ((uint32_t)offset << 1) ^ (uint32_t)(offset >> 31)); /* zigzag */
			size_t y = pb_begin(b, 2);
			for (int i = lo; i <= hi; i++)
				pb_varint(b, (uint64_t)s->eb[i]);
			pb_end(b, y);
			pb_end(b, x);
		}
		if (s->count) {
			pb_double(b, 12, s->min);
			pb_double(b, 13, s->max);
		}
		r_dist(r, s, 1);
		r_null(r, "bucket_counts");
		r_null(r, "explicit_bounds");
		r_int(r, "scale", EXP_SCALE);
		r_int(r, "zero_count", 0);
		r_dbl(r, "zero_threshold", 0);
		if (lo <= hi) {
			putf(&jtmp, "{\"offset\":%d,\"bucketCounts\":[", offset);
			for (int i = lo; i <= hi; i++)
				putf(&jtmp, "%s\"%" PRId64 "\"", i > lo ? "," : "", s->eb[i]);
			puts_(&jtmp, "]}");
		}
		r_jtmp(r, "positive");
		r_null(r, "negative");
		r_null(r, "quantiles");
		r_null(r, "exemplars");
		break;
	}
	default: { /* summary */
		static const double qs[] = {0, 0.25, 0.5, 0.75, 1};
		double qv[5], base = 0.00004 + rnd() * 0.00004;
		for (int i = 0; i < 5; i++)
			qv[i] = base * (1 + i * i * (0.5 + rnd()));
		point_common(b, r, s, 7, start, t);
		pb_fixed64(b, 4, (uint64_t)s->count);
		pb_double(b, 5, s->sum);
		for (int i = 0; i < 5; i++) {
			size_t x = pb_begin(b, 6);
			if (qs[i] != 0)
				pb_double(b, 1, qs[i]);
			pb_double(b, 2, qv[i]);
			pb_end(b, x);
		}
		r_dist(r, s, 0);
		r_null(r, "bucket_counts");
		r_null(r, "explicit_bounds");
		r_null(r, "scale");
		r_null(r, "zero_count");
		r_null(r, "zero_threshold");
		r_null(r, "positive");
		r_null(r, "negative");
		putc_(&jtmp, '[');
		for (int i = 0; i < 5; i++) {
			puts_(&jtmp, i ? ",{\"quantile\":" : "{\"quantile\":");
			j_f64(&jtmp, qs[i]);
			puts_(&jtmp, ",\"value\":");
			j_f64(&jtmp, qv[i]);
			putc_(&jtmp, '}');
		}
		putc_(&jtmp, ']');
		r_jtmp(r, "quantiles");
		r_null(r, "exemplars");
	}
	}
	r_int(r, "flags", 0);
	row_end(r);
	pb_end(b, dp);
}

static void metrics_cut(void)
{
	if (mpoints)
		write_request(S_METRICS, mpoints, &mrows);
	mpoints = 0;
	mrows.len = 0;
}

/* one collection of every pod's instruments, at t */
static void metrics_tick(int64_t t)
{
	for (int i = 0; i < NSVC && g.points_left > 0; i++) {
		svc_t *svc = &svcs[i];
		for (int k = 0; k < svc->npods && g.points_left > 0; k++) {
			pod_t *p = &svc->pods[k];
			size_t rx = pb_begin(&reqbuf, 1);
			put(&reqbuf, p->res_pb.p, p->res_pb.len);
			size_t sx = pb_begin(&reqbuf, 2);
			int scope = scope_of(svc->d->name, svc->version);
			put(&reqbuf, scopes[scope].pb.p, scopes[scope].pb.len);
			for (int j = 0; j < p->nseries && g.points_left > 0;) {
				const mdef_t *m = &mdefs[p->series[j].m];
				size_t mx = pb_begin(&reqbuf, 2);
				pb_str(&reqbuf, 1, m->name);
				pb_str(&reqbuf, 2, m->desc);
				pb_str(&reqbuf, 3, m->unit);
				size_t dx = pb_begin(&reqbuf, mtype_field[m->type]);
				int mi = p->series[j].m;
				for (; j < p->nseries && p->series[j].m == mi && g.points_left > 0;
				     j++) {
					point(p, &p->series[j], t);
					g.points_left--;
					mpoints++;
				}
				if (m->type != MT_GAUGE && m->type != MT_SUMMARY)
					pb_u64(&reqbuf, 2, 2); /* cumulative */
				if (m->type == MT_SUM && m->monotonic)
					pb_u64(&reqbuf, 3, 1);
				pb_end(&reqbuf, dx);
				pb_end(&reqbuf, mx);
			}
			pb_end(&reqbuf, sx);
			pb_end(&reqbuf, rx);
			if (mpoints >= batch_target)
				metrics_cut();
		}
	}
	metrics_cut();
}

/* ---- gen ---- */

static int cmd_gen(int argc, char **argv)
{
	const char *dir = NULL;
	uint64_t seed = 42;
	int64_t nspans = 100000, nlogs = 100000, npoints = 100000;
	batch_target = 500;
	int c;
	int64_t t0 = -1;
	while ((c = getopt(argc, argv, "o:S:n:l:m:r:t:")) != -1) {
		switch (c) {
		case 'o':
			dir = optarg;
			break;
		case 'S':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'n':
			nspans = strtoll(optarg, NULL, 10);
			break;
		case 'l':
			nlogs = strtoll(optarg, NULL, 10);
			break;
		case 'm':
			npoints = strtoll(optarg, NULL, 10);
			break;
		case 'r':
			batch_target = atoi(optarg);
			break;
		case 't':
			t0 = strtoll(optarg, NULL, 10);
			break;
		default:
			die("usage: loadgen gen -o DIR [-S SEED] [-n SPANS] [-l LOGS] [-m POINTS] "
			    "[-r RECORDS] [-t T0]");
		}
	}
	if (!dir || batch_target < 1)
		die("gen: -o DIR is required (and -r at least 1)");
	double t_start = now_s();
	mkdir(dir, 0755);
	for (int s = 0; s < NSIGNALS; s++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s.req", dir, sig_names[s]);
		if (!(outs[s].req = fopen(path, "w")))
			die("%s: %s", path, strerror(errno));
		snprintf(path, sizeof(path), "%s/%s", dir, row_files[s]);
		if (!(outs[s].rows = fopen(path, "w")))
			die("%s: %s", path, strerror(errno));
		setvbuf(outs[s].req, NULL, _IOFBF, 1 << 20);
		setvbuf(outs[s].rows, NULL, _IOFBF, 1 << 20);
	}
	rnd_seed(seed);
	build_shop();
	build_series();
	/* T0 was 0 for the shop: its processes' start times move with it */
	if (t0 < 0) {
		int64_t series = 0;
		for (int i = 0; i < NSVC; i++)
			for (int k = 0; k < svcs[i].npods; k++)
				series += svcs[i].pods[k].nseries;
		int64_t secs = (npoints / (series > 0 ? series : 1) + 2) * 10;
		if (secs < 2 * 3600)
			secs = 2 * 3600;
		int64_t now = (int64_t)time(NULL);
		t0 = (now - secs) / 86400 * 86400;
		if (t0 < now - 29 * 86400)
			die("gen: %lld points take %lld s at 10 s a point of each of %lld series: "
			    "more than 29 days (give -t)",
			    (long long)npoints, (long long)secs, (long long)series);
		t0 *= 1000000000ll;
	}
	T0 = t0;
	for (int i = 0; i < NSVC; i++)
		for (int k = 0; k < svcs[i].npods; k++)
			svcs[i].pods[k].start_ns += T0;

	g.spans_target = g.spans_left = nspans;
	g.logs_left = nlogs;
	g.points_left = npoints;
	g.log_rate = nspans ? (double)nlogs / (double)nspans : 1;
	/* traces of ~10 spans, spread over an hour */
	int64_t ntraces = (nspans > nlogs ? nspans : nlogs) / 10 + 1;
	double gap = 3600e3 / (double)ntraces, t = 0;
	svc_t *proxy = svc_by_name("frontend-proxy"), *reporting = svc_by_name("reporting");
	while (g.spans_left > 0 || g.logs_left > 0) {
		uint8_t trace[16];
		arena_len = 0;
		rnd_id(trace, 16);
		int budget = (int)ri(6, 14);
		serve(chance(0.97) ? proxy : reporting, trace, NULL, t, lat(80), &budget, 0, NULL);
		t += gap * (0.5 + rnd());
	}
	for (int i = 0; i < NSVC; i++)
		for (int k = 0; k < svcs[i].npods; k++) {
			cut(&svcs[i].pods[k], S_TRACES);
			cut(&svcs[i].pods[k], S_LOGS);
		}
	for (int64_t tick = 1; g.points_left > 0; tick++) {
		arena_len = 0;
		metrics_tick(T0 + tick * 10000000000ll + ri(0, 50) * 1000000);
	}

	printf("{\"seed\":%" PRIu64 ",\"t0_ns\":%" PRId64 ",\"span_first_ns\":%" PRId64
	       ",\"span_last_ns\":%" PRId64
	       ",\"sample_trace_id\":\"%s\",\"records_per_request\":%d",
	       seed, T0, g.first_ns, g.last_ns, g.sample_trace, batch_target);
	for (int s = 0; s < NSIGNALS; s++) {
		if (fclose(outs[s].req) || fclose(outs[s].rows))
			die("write: %s", strerror(errno));
		printf(",\"%s\":{\"requests\":%" PRId64 ",\"records\":%" PRId64
		       ",\"pb_bytes\":%" PRId64 ",\"rows_bytes\":%" PRIu64 "}",
		       sig_names[s], outs[s].requests, outs[s].records, outs[s].pb_bytes,
		       outs[s].rows_off);
	}
	printf(",\"services\":%d,\"pods\":%d,\"scopes\":%d,\"seconds\":%.3f}\n", NSVC, ({
		       int n = 0;
		       for (int i = 0; i < NSVC; i++)
			       n += svcs[i].npods;
		       n;
	       }),
	       nscopes, now_s() - t_start);
	return 0;
}

/* ---- send ---- */

enum { M_HTTP, M_GRPC, M_CLICKHOUSE };

typedef struct {
	const uint8_t *pb;
	uint32_t pblen, nrec, rlen;
	uint64_t roff;
} req_t;

static req_t *reqs;
static int nreqs;
static const uint8_t *rows_map;
static atomic_int next_req;
static struct {
	int mode, streams;
	const char *host, *port, *path, *tenant;
	char authority[300];
} o;

#define MAX_ATTEMPTS 1000

typedef struct {
	pthread_t th;
	double *lat; /* ms, one per acknowledged request */
	int nlat, cap;
	int64_t records, retries, failed, bytes;
	/* refusals (503, 429, UNAVAILABLE, RESOURCE_EXHAUSTED, a refused
	 * stream): answers, and requests refused at least once (what a sender
	 * that does not retry would have lost) */
	int64_t refused, refused_requests;
	char err[256];
} worker_t;

static void record(worker_t *w, double t0, const req_t *r)
{
	if (w->nlat == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 1024;
		w->lat = xrealloc(w->lat, (size_t)w->cap * sizeof(double));
	}
	w->lat[w->nlat++] = (now_s() - t0) * 1e3;
	w->records += r->nrec;
}

static int take(void)
{
	int i = atomic_fetch_add(&next_req, 1);
	return i < nreqs ? i : -1;
}

static int dial(char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
	int rc = getaddrinfo(o.host, o.port, &hints, &ai);
	if (rc) {
		snprintf(err, errlen, "%s:%s: %s", o.host, o.port, gai_strerror(rc));
		return -1;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		snprintf(err, errlen, "connect %s:%s: %s", o.host, o.port, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static int write_all(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t k = writev(fd, iov, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		while (n > 0 && (size_t)k >= iov->iov_len) {
			k -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + k;
			iov->iov_len -= (size_t)k;
		}
	}
	return 0;
}

/* -- HTTP/1.1 -- */

/* Reads one response from fd (in keeps what follows it): 0, or -1 when
 * the connection failed. */
static int http_response(int fd, buf_t *in, int *status, int *retry_ms, int *closing)
{
	size_t hend = 0;
	for (;;) {
		if (in->len >= 4) {
			uint8_t *e = memmem(in->p, in->len, "\r\n\r\n", 4);
			if (e) {
				hend = (size_t)(e - in->p) + 4;
				break;
			}
		}
		reserve(in, 65536);
		ssize_t n = read(fd, in->p + in->len, in->cap - in->len);
		if (n <= 0)
			return -1;
		in->len += (size_t)n;
	}
	char *h = strndup((const char *)in->p, hend);
	*status = 0;
	*retry_ms = 50;
	*closing = 0;
	sscanf(h, "HTTP/1.%*d %d", status);
	long clen = -1;
	int chunked = 0;
	for (char *line = strstr(h, "\r\n"); line && line[2]; line = strstr(line + 2, "\r\n")) {
		char *l = line + 2;
		if (strncasecmp(l, "content-length:", 15) == 0)
			clen = strtol(l + 15, NULL, 10);
		else if (strncasecmp(l, "transfer-encoding:", 18) == 0 &&
			 strcasestr(l, "chunked") && strcasestr(l, "chunked") < strstr(l, "\r\n"))
			chunked = 1;
		else if (strncasecmp(l, "connection:", 11) == 0 &&
			 strncasecmp(l + 11, " close", 6) == 0)
			*closing = 1;
		else if (strncasecmp(l, "retry-after:", 12) == 0)
			*retry_ms = (int)(strtod(l + 12, NULL) * 1000);
	}
	free(h);
	if (*retry_ms > 1000)
		*retry_ms = 1000;
	size_t pos = hend;
	if (chunked) {
		for (;;) {
			uint8_t *e;
			while (!(e = in->len > pos ? memmem(in->p + pos, in->len - pos, "\r\n", 2)
						   : NULL)) {
				reserve(in, 65536);
				ssize_t n = read(fd, in->p + in->len, in->cap - in->len);
				if (n <= 0)
					return -1;
				in->len += (size_t)n;
			}
			size_t sz = strtoul((const char *)in->p + pos, NULL, 16);
			size_t need = (size_t)(e - in->p) + 2 + sz + 2;
			while (in->len < need) {
				reserve(in, need - in->len + 65536);
				ssize_t n = read(fd, in->p + in->len, in->cap - in->len);
				if (n <= 0)
					return -1;
				in->len += (size_t)n;
			}
			pos = need;
			if (sz == 0)
				break;
		}
	} else if (clen > 0) {
		while (in->len < hend + (size_t)clen) {
			reserve(in, 65536);
			ssize_t n = read(fd, in->p + in->len, in->cap - in->len);
			if (n <= 0)
				return -1;
			in->len += (size_t)n;
		}
		pos = hend + (size_t)clen;
	}
	memmove(in->p, in->p + pos, in->len - pos);
	in->len -= pos;
	return 0;
}

static void *http_worker(void *arg)
{
	worker_t *w = arg;
	buf_t in = {0};
	int fd = -1;
	char head[1024];
	for (int i; (i = take()) >= 0;) {
		const req_t *r = &reqs[i];
		const uint8_t *body = o.mode == M_CLICKHOUSE ? rows_map + r->roff : r->pb;
		size_t blen = o.mode == M_CLICKHOUSE ? r->rlen : r->pblen;
		int hlen = snprintf(head, sizeof(head),
				    "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\n"
				    "X-Scope-OrgID: %s\r\nContent-Length: %zu\r\n\r\n",
				    o.path, o.authority,
				    o.mode == M_CLICKHOUSE ? "application/x-ndjson"
							   : "application/x-protobuf",
				    o.tenant, blen);
		double t0 = now_s();
		int attempt = 0, refused = 0;
		for (;; attempt++) {
			if (attempt >= MAX_ATTEMPTS) {
				w->failed++;
				break;
			}
			if (attempt)
				w->retries++;
			if (fd < 0 && (fd = dial(w->err, sizeof(w->err))) < 0) {
				usleep(50000);
				continue;
			}
			struct iovec iov[2] = {{head, (size_t)hlen}, {(void *)body, blen}};
			int status, retry_ms, closing;
			if (write_all(fd, iov, 2) < 0 ||
			    http_response(fd, &in, &status, &retry_ms, &closing) < 0) {
				snprintf(w->err, sizeof(w->err), "connection lost: %s",
					 strerror(errno));
				close(fd);
				fd = -1;
				in.len = 0;
				continue;
			}
			if (closing) {
				close(fd);
				fd = -1;
				in.len = 0;
			}
			w->bytes += (int64_t)blen;
			if (status == 200) {
				record(w, t0, r);
				break;
			}
			if (status == 503 || status == 429) {
				w->refused++;
				w->refused_requests += !refused;
				refused = 1;
				usleep((useconds_t)retry_ms * 1000);
				continue;
			}
			snprintf(w->err, sizeof(w->err), "HTTP %d for request %d", status, i);
			w->failed++;
			break;
		}
	}
	if (fd >= 0)
		close(fd);
	free(in.p);
	return NULL;
}

/* -- gRPC over nghttp2 -- */

typedef struct {
	int idx, attempt, refused;
	double t0;
	uint8_t hdr[5];
	size_t off;
	int http_status, grpc_status;
	int retry_ms; /* a RetryInfo's delay (-1: none came) */
} gstream_t;

typedef struct {
	worker_t *w;
	int inflight;
	gstream_t **retry; /* to send again */
	int nretry, capretry;
	double retry_at;
} gconn_t;

static ssize_t g_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
		      nghttp2_data_source *src, void *ud)
{
	(void)s, (void)id, (void)ud;
	gstream_t *st = src->ptr;
	const req_t *r = &reqs[st->idx];
	size_t total = 5 + r->pblen, n = 0;
	while (n < len && st->off < total) {
		if (st->off < 5) {
			buf[n++] = st->hdr[st->off++];
			continue;
		}
		size_t k = total - st->off < len - n ? total - st->off : len - n;
		memcpy(buf + n, r->pb + (st->off - 5), k);
		n += k;
		st->off += k;
	}
	if (st->off == total)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

/* One protobuf field of p[0..n) at *off: its number and wire type, and
 * a varint's value or a length-delimited field's bytes (*vp, *vlen); 0 at
 * the end, -1 on what this reader does not take. */
static int pb_field(const uint8_t *p, size_t n, size_t *off, int *num, uint64_t *v,
		    const uint8_t **vp, size_t *vlen)
{
	if (*off >= n)
		return 0;
	uint64_t key = 0, x = 0;
	for (int sh = 0;; sh += 7) {
		if (*off >= n || sh > 63)
			return -1;
		key |= (uint64_t)(p[*off] & 0x7f) << sh;
		if (!(p[(*off)++] & 0x80))
			break;
	}
	*num = (int)(key >> 3);
	if ((key & 7) != 0 && (key & 7) != 2)
		return -1;
	for (int sh = 0;; sh += 7) {
		if (*off >= n || sh > 63)
			return -1;
		x |= (uint64_t)(p[*off] & 0x7f) << sh;
		if (!(p[(*off)++] & 0x80))
			break;
	}
	*v = x;
	if ((key & 7) == 2) {
		if (x > n - *off)
			return -1;
		*vp = p + *off;
		*vlen = (size_t)x;
		*off += (size_t)x;
	}
	return 1;
}

/* The retry_delay in ms of the RetryInfo in a grpc-status-details-bin
 * value (base64 of a google.rpc.Status, padded or not), as OTLP's
 * throttling sends it; -1 when it holds none. */
static int retry_info_ms(const uint8_t *b64, size_t len)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t *st = malloc(len + 1);
	size_t n = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < len && b64[i] != '='; i++) {
		const char *k = memchr(al, b64[i], 64);
		if (!k) {
			free(st);
			return -1;
		}
		acc = acc << 6 | (uint32_t)(k - al);
		if ((bits += 6) >= 8)
			st[n++] = (uint8_t)(acc >> (bits -= 8));
	}
	/* Status.details (3): Any {type_url 1, value 2}; RetryInfo.retry_delay
	 * (1): Duration {seconds 1, nanos 2} */
	static const char type[] = "type.googleapis.com/google.rpc.RetryInfo";
	int ms = -1, num;
	uint64_t v;
	const uint8_t *any, *f, *ri = NULL, *d;
	size_t anylen, flen, rilen = 0, dlen;
	for (size_t at = 0; ms < 0 && pb_field(st, n, &at, &num, &v, &any, &anylen) > 0;) {
		if (num != 3)
			continue;
		int is_ri = 0;
		ri = NULL;
		for (size_t a = 0; pb_field(any, anylen, &a, &num, &v, &f, &flen) > 0;) {
			if (num == 1)
				is_ri = flen == sizeof(type) - 1 && memcmp(f, type, flen) == 0;
			else if (num == 2)
				ri = f, rilen = flen;
		}
		for (size_t r = 0;
		     is_ri && ri && pb_field(ri, rilen, &r, &num, &v, &d, &dlen) > 0;) {
			if (num != 1)
				continue;
			uint64_t sec = 0, nanos = 0;
			for (size_t k = 0; pb_field(d, dlen, &k, &num, &v, &f, &flen) > 0;) {
				if (num == 1)
					sec = v;
				else if (num == 2)
					nanos = v;
			}
			ms = sec > 3600 ? 3600000 : (int)(sec * 1000 + nanos / 1000000);
		}
	}
	free(st);
	return ms;
}

static int g_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
		    const uint8_t *value, size_t vlen, uint8_t flags, void *ud)
{
	(void)flags, (void)ud;
	if (f->hd.type != NGHTTP2_HEADERS)
		return 0;
	gstream_t *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
	if (!st)
		return 0;
	char v[16];
	snprintf(v, sizeof(v), "%.*s", (int)(vlen < 15 ? vlen : 15), value);
	if (nlen == 7 && memcmp(name, ":status", 7) == 0)
		st->http_status = atoi(v);
	else if (nlen == 11 && memcmp(name, "grpc-status", 11) == 0)
		st->grpc_status = atoi(v);
	else if (nlen == 23 && memcmp(name, "grpc-status-details-bin", 23) == 0)
		st->retry_ms = retry_info_ms(value, vlen);
	return 0;
}

static int g_close(nghttp2_session *s, int32_t id, uint32_t code, void *ud)
{
	gconn_t *c = ud;
	gstream_t *st = nghttp2_session_get_stream_user_data(s, id);
	if (!st)
		return 0;
	c->inflight--;
	worker_t *w = c->w;
	const req_t *r = &reqs[st->idx];
	if (code == 0 && st->http_status == 200 && st->grpc_status == 0) {
		w->bytes += r->pblen;
		record(w, st->t0, r);
		free(st);
		return 0;
	}
	int retry = code == NGHTTP2_REFUSED_STREAM || st->grpc_status == 14 || st->grpc_status == 8;
	if (retry) {
		w->refused++;
		w->refused_requests += !st->refused;
		st->refused = 1;
	}
	if (retry && st->attempt + 1 < MAX_ATTEMPTS) {
		w->retries++;
		st->attempt++;
		st->off = 0;
		st->http_status = 0;
		st->grpc_status = -1;
		if (c->nretry == c->capretry) {
			c->capretry = c->capretry ? 2 * c->capretry : 64;
			c->retry = xrealloc(c->retry, (size_t)c->capretry * sizeof(*c->retry));
		}
		c->retry[c->nretry++] = st;
		/* after the RetryInfo's delay, as Retry-After over HTTP (at most
		 * 1 s), or 50 ms without one */
		int ms = st->retry_ms < 0 ? 50 : st->retry_ms > 1000 ? 1000 : st->retry_ms;
		st->retry_ms = -1;
		c->retry_at = now_s() + ms / 1000.0;
		return 0;
	}
	snprintf(w->err, sizeof(w->err), "request %d: HTTP %d, grpc-status %d, stream error %u",
		 st->idx, st->http_status, st->grpc_status, code);
	w->failed++;
	free(st);
	return 0;
}

static const char *grpc_path(const char *signal)
{
	return strcmp(signal, "traces") == 0
		   ? "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
	       : strcmp(signal, "logs") == 0
		   ? "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
		   : "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
}

static int g_submit(nghttp2_session *s, gconn_t *c, gstream_t *st)
{
#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), NGHTTP2_NV_FLAG_NONE}
	nghttp2_nv nv[] = {NV(":method", "POST"),
			   NV(":scheme", "http"),
			   NV(":path", o.path),
			   NV(":authority", o.authority),
			   NV("content-type", "application/grpc"),
			   NV("te", "trailers"),
			   NV("x-scope-orgid", o.tenant)};
#undef NV
	const req_t *r = &reqs[st->idx];
	st->hdr[0] = 0;
	st->hdr[1] = (uint8_t)(r->pblen >> 24);
	st->hdr[2] = (uint8_t)(r->pblen >> 16);
	st->hdr[3] = (uint8_t)(r->pblen >> 8);
	st->hdr[4] = (uint8_t)r->pblen;
	nghttp2_data_provider dp = {.source.ptr = st, .read_callback = g_read};
	int32_t id = nghttp2_submit_request(s, NULL, nv, NELEMS(nv), &dp, st);
	if (id < 0) {
		snprintf(c->w->err, sizeof(c->w->err), "nghttp2_submit_request: %s",
			 nghttp2_strerror(id));
		return -1;
	}
	c->inflight++;
	return 0;
}

static void *grpc_worker(void *arg)
{
	worker_t *w = arg;
	gconn_t c = {.w = w};
	int fd = dial(w->err, sizeof(w->err));
	if (fd < 0)
		return NULL;
	nghttp2_session_callbacks *cb;
	nghttp2_session_callbacks_new(&cb);
	nghttp2_session_callbacks_set_on_header_callback(cb, g_header);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, g_close);
	nghttp2_session *s;
	nghttp2_session_client_new(&s, cb, &c);
	nghttp2_session_callbacks_del(cb);
	nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100},
				       {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 24}};
	nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, iv, NELEMS(iv));
	int more = 1;
	uint8_t rbuf[65536];
	for (;;) {
		while (c.inflight < o.streams) {
			gstream_t *st = NULL;
			if (c.nretry && now_s() >= c.retry_at) {
				st = c.retry[--c.nretry];
			} else if (more) {
				int i = take();
				if (i < 0) {
					more = 0;
					continue;
				}
				st = calloc(1, sizeof(*st));
				st->idx = i;
				st->grpc_status = -1;
				st->retry_ms = -1;
				st->t0 = now_s();
			}
			if (!st)
				break;
			if (g_submit(s, &c, st) < 0)
				goto out;
		}
		for (;;) {
			const uint8_t *data;
			ssize_t n = nghttp2_session_mem_send(s, &data);
			if (n < 0) {
				snprintf(w->err, sizeof(w->err), "nghttp2: %s",
					 nghttp2_strerror((int)n));
				goto out;
			}
			if (n == 0)
				break;
			struct iovec v = {(void *)data, (size_t)n};
			if (write_all(fd, &v, 1) < 0) {
				snprintf(w->err, sizeof(w->err), "write: %s", strerror(errno));
				goto out;
			}
		}
		if (!more && c.inflight == 0 && c.nretry == 0)
			break;
		struct pollfd pfd = {fd, POLLIN, 0};
		int pr = poll(&pfd, 1, c.nretry ? 10 : 1000);
		if (pr < 0 && errno != EINTR)
			break;
		if (pr > 0) {
			ssize_t n = read(fd, rbuf, sizeof(rbuf));
			if (n <= 0) {
				snprintf(w->err, sizeof(w->err), "connection lost: %s",
					 n ? strerror(errno) : "closed");
				goto out;
			}
			ssize_t k = nghttp2_session_mem_recv(s, rbuf, (size_t)n);
			if (k < 0) {
				snprintf(w->err, sizeof(w->err), "nghttp2: %s",
					 nghttp2_strerror((int)k));
				goto out;
			}
		}
	}
out:
	w->failed += c.inflight + c.nretry;
	nghttp2_session_del(s);
	close(fd);
	for (int i = 0; i < c.nretry; i++)
		free(c.retry[i]);
	free(c.retry);
	return NULL;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static const void *map_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		die("%s: %s", path, strerror(errno));
	*len = (size_t)st.st_size;
	void *p = *len ? mmap(NULL, *len, PROT_READ, MAP_PRIVATE, fd, 0) : (void *)"";
	if (p == MAP_FAILED)
		die("mmap %s: %s", path, strerror(errno));
	close(fd);
	return p;
}

static uint64_t get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static int cmd_send(int argc, char **argv)
{
	const char *signal = NULL, *addr = NULL, *mode = "http";
	int conns = 1, c;
	o.streams = 10;
	o.tenant = "default";
	o.path = NULL;
	while ((c = getopt(argc, argv, "k:a:M:c:s:T:p:")) != -1) {
		switch (c) {
		case 'k':
			signal = optarg;
			break;
		case 'a':
			addr = optarg;
			break;
		case 'M':
			mode = optarg;
			break;
		case 'c':
			conns = atoi(optarg);
			break;
		case 's':
			o.streams = atoi(optarg);
			break;
		case 'T':
			o.tenant = optarg;
			break;
		case 'p':
			o.path = optarg;
			break;
		default:
			die("usage: loadgen send -k traces|logs|metrics -a HOST:PORT "
			    "[-M http|grpc|clickhouse] [-c CONNS] [-s STREAMS] [-T TENANT] [-p "
			    "PATH] "
			    "DIR");
		}
	}
	if (!signal || !addr || optind != argc - 1 || conns < 1 || o.streams < 1)
		die("send: -k, -a and DIR are required");
	int sig = -1;
	for (int i = 0; i < NSIGNALS; i++)
		if (strcmp(signal, sig_names[i]) == 0)
			sig = i;
	if (sig < 0)
		die("send: -k traces, logs or metrics");
	o.mode = strcmp(mode, "grpc") == 0	   ? M_GRPC
		 : strcmp(mode, "clickhouse") == 0 ? M_CLICKHOUSE
						   : M_HTTP;
	char *colon = strrchr(addr, ':');
	if (!colon)
		die("send: -a HOST:PORT");
	o.host = strndup(addr, (size_t)(colon - addr));
	o.port = colon + 1;
	snprintf(o.authority, sizeof(o.authority), "%s", addr);
	if (!o.path)
		o.path = o.mode == M_GRPC  ? grpc_path(signal)
			 : sig == S_TRACES ? "/v1/traces"
			 : sig == S_LOGS   ? "/v1/logs"
					   : "/v1/metrics";

	char path[4096];
	size_t len, rlen = 0;
	snprintf(path, sizeof(path), "%s/%s.req", argv[optind], signal);
	const uint8_t *m = map_file(path, &len);
	if (o.mode == M_CLICKHOUSE) {
		snprintf(path, sizeof(path), "%s/%s", argv[optind], row_files[sig]);
		rows_map = map_file(path, &rlen);
	}
	int cap = 0;
	int64_t records = 0, pb_bytes = 0;
	for (size_t off = 0; off < len;) {
		if (len - off < 24)
			die("%s: truncated", path);
		if (nreqs == cap) {
			cap = cap ? 2 * cap : 1024;
			reqs = xrealloc(reqs, (size_t)cap * sizeof(*reqs));
		}
		req_t *r = &reqs[nreqs++];
		r->pblen = (uint32_t)get_le(m + off, 4);
		r->nrec = (uint32_t)get_le(m + off + 4, 4);
		r->roff = get_le(m + off + 8, 8);
		r->rlen = (uint32_t)get_le(m + off + 16, 4);
		r->pb = m + off + 24;
		if (len - off - 24 < r->pblen ||
		    (o.mode == M_CLICKHOUSE && r->roff + r->rlen > rlen))
			die("%s: truncated", path);
		off += 24 + r->pblen;
		records += r->nrec;
		pb_bytes += r->pblen;
	}
	struct sigaction sa = {.sa_handler = SIG_IGN};
	sigaction(SIGPIPE, &sa, NULL);
	worker_t *w = calloc((size_t)conns, sizeof(*w));
	double t0 = now_s();
	for (int i = 0; i < conns; i++)
		pthread_create(&w[i].th, NULL, o.mode == M_GRPC ? grpc_worker : http_worker, &w[i]);
	int64_t acked = 0, retries = 0, failed = 0, bytes = 0, nlat = 0, refused = 0,
		refused_reqs = 0;
	const char *err = NULL;
	for (int i = 0; i < conns; i++) {
		pthread_join(w[i].th, NULL);
		acked += w[i].records;
		retries += w[i].retries;
		refused += w[i].refused;
		refused_reqs += w[i].refused_requests;
		failed += w[i].failed;
		bytes += w[i].bytes;
		nlat += w[i].nlat;
		if (w[i].err[0] && !err)
			err = w[i].err;
	}
	double secs = now_s() - t0;
	double *lat = malloc((size_t)(nlat ? nlat : 1) * sizeof(double));
	int64_t k = 0;
	for (int i = 0; i < conns; i++)
		for (int j = 0; j < w[i].nlat; j++)
			lat[k++] = w[i].lat[j];
	qsort(lat, (size_t)nlat, sizeof(double), cmp_dbl);
#define PCT(q) (nlat ? lat[(int64_t)((double)(nlat - 1) * (q) + 0.5)] : 0)
	printf("{\"mode\":\"%s\",\"signal\":\"%s\",\"conns\":%d,\"streams\":%d,\"requests\":%d,"
	       "\"acked_requests\":%" PRId64 ",\"records\":%" PRId64 ",\"acked_records\":%" PRId64
	       ",\"pb_bytes\":%" PRId64 ",\"body_bytes\":%" PRId64 ",\"seconds\":%.3f,"
	       "\"records_per_s\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,"
	       "\"retries\":%" PRId64 ",\"refused\":%" PRId64 ",\"refused_requests\":%" PRId64
	       ",\"failed\":%" PRId64 ",\"error\":",
	       mode, signal, conns, o.mode == M_GRPC ? o.streams : 1, nreqs, nlat, records, acked,
	       pb_bytes, bytes, secs, (double)acked / secs, PCT(0.50), PCT(0.99), PCT(1.0), retries,
	       refused, refused_reqs, failed);
	buf_t e = {0};
	if (err)
		j_str(&e, err);
	else
		puts_(&e, "null");
	printf("%.*s}\n", (int)e.len, (const char *)e.p);
	return failed ? 2 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "gen") == 0)
		return cmd_gen(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "send") == 0)
		return cmd_send(argc - 1, argv + 1);
	die("usage: loadgen gen ... | loadgen send ... (see the comment at the top of "
	    "t/bench/loadgen.c)");
}

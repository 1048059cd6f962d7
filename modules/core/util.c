/*
 * util.c - small helpers shared by every module: allocation, time, ids,
 * tenant validation, directories, growable buffers.
 */
#include "core.h"
#include "log.h"
#include "module.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *signal_names[OW_NSIGNALS] = {"traces", "logs", "metrics"};
static const char *source_names[OW_NSOURCES] = {"http", "grpc", "kafka"};

const char *ow_signal_name(int signal)
{
	return signal >= 0 && signal < OW_NSIGNALS ? signal_names[signal] : "unknown";
}

const char *ow_source_name(int source)
{
	return source >= 0 && source < OW_NSOURCES ? source_names[source] : "unknown";
}

int ow_tenant_valid(const char *s, size_t len)
{
	if (len == 0 || len > OW_TENANT_MAX)
		return 0;
	/* a leading '.' would hide the directory: WAL recovery and the
	 * storage walks pass over dot entries */
	if (s[0] == '.')
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

static void oom(size_t n)
{
	ow_log(OW_LOG_CRIT, "out of memory allocating %zu bytes", n);
	abort();
}

void *ow_alloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		oom(n);
	return p;
}

void *ow_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (p == NULL)
		oom(n * size);
	return p;
}

void *ow_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (q == NULL)
		oom(n);
	return q;
}

char *ow_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(ow_alloc(n), s, n);
}

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t ow_now_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

int64_t ow_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

void ow_time_iso(int64_t ns, char *buf, size_t len)
{
	time_t sec = (time_t)(ns / 1000000000);
	struct tm tm;
	gmtime_r(&sec, &tm);
	snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d.%03d", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ns % 1000000000 / 1000000));
}

/* "%.{prec}g" of the value whose prec significant digits are d (d[0]
 * not '0' unless all are) and whose decimal exponent is x, negative when
 * neg: as printf writes it (the shorter of the fixed and the exponent
 * form by the exponent, trailing zeros and a bare point dropped). */
static int format_g(char *buf, size_t len, int neg, const char *d, int prec, int x)
{
	char t[48];
	int n = 0, nd = prec;
	while (nd > 1 && d[nd - 1] == '0')
		nd--;
	if (neg)
		t[n++] = '-';
	if (x < -4 || x >= prec) {
		t[n++] = d[0];
		if (nd > 1)
			t[n++] = '.';
		memcpy(t + n, d + 1, (size_t)nd - 1);
		n += nd - 1;
		n += snprintf(t + n, sizeof(t) - (size_t)n, "e%c%02d", x < 0 ? '-' : '+',
			      x < 0 ? -x : x);
	} else if (x >= 0) {
		for (int i = 0; i <= x; i++)
			t[n++] = i < nd ? d[i] : '0';
		if (nd > x + 1)
			t[n++] = '.';
		for (int i = x + 1; i < nd; i++)
			t[n++] = d[i];
	} else {
		t[n++] = '0';
		t[n++] = '.';
		for (int i = 0; i < -x - 1; i++)
			t[n++] = '0';
		memcpy(t + n, d, (size_t)nd);
		n += nd;
	}
	if (len) {
		size_t k = OW_MIN((size_t)n, len - 1);
		memcpy(buf, t, k);
		buf[k] = '\0';
	}
	return n;
}

int ow_dtoa(double v, char *buf, size_t len)
{
	/* the shortest of 15, 16 and 17 digits that reads back as v (17
	 * always does, so it is not read back). One printf of the 17 digits
	 * (correctly rounded: glibc); 16 and 15 are rounded from them, which
	 * is the rounding of v itself unless the digits cut are 5 or 50 (v
	 * may lie on either side of that tie): then printf rounds v. */
	char e[40], d[18];
	if (!isfinite(v) || snprintf(e, sizeof(e), "%.16e", fabs(v)) < 22 || e[1] != '.' ||
	    e[18] != 'e') {
		for (int prec = 15; prec <= 16; prec++) {
			int n = snprintf(buf, len, "%.*g", prec, v);
			if (strtod(buf, NULL) == v)
				return n;
		}
		return snprintf(buf, len, "%.17g", v);
	}
	int x = atoi(e + 19), neg = signbit(v) != 0;
	char t[48];
	for (int prec = 15; prec <= 16; prec++) {
		d[0] = e[0];
		memcpy(d + 1, e + 2, 16);
		int y = x, n;
		if (d[prec] == '5' && (prec == 16 || d[16] == '0')) {
			n = snprintf(t, sizeof(t), "%.*g", prec, v);
		} else {
			if (d[prec] >= '5') { /* up, carrying */
				int i = prec - 1;
				while (i >= 0 && d[i] == '9')
					d[i--] = '0';
				if (i >= 0) {
					d[i]++;
				} else {
					d[0] = '1';
					y++;
				}
			}
			n = format_g(t, sizeof(t), neg, d, prec, y);
		}
		if (strtod(t, NULL) == v) {
			if (len) {
				size_t k = OW_MIN((size_t)n, len - 1);
				memcpy(buf, t, k + 1);
				buf[k] = '\0';
			}
			return n;
		}
	}
	d[0] = e[0];
	memcpy(d + 1, e + 2, 16);
	return format_g(buf, len, neg, d, 17, x);
}

void ow_uuid_text(const uint8_t raw[16], char text[OW_BATCH_ID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	char *p = text;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = hex[raw[i] >> 4];
		*p++ = hex[raw[i] & 15];
	}
	*p = '\0';
}

/* RFC 9562 UUIDv7: 48-bit Unix milliseconds, version 7, then a 12-bit
 * counter (rand_a, "method 1" of the RFC) and 62 random bits. Within a
 * millisecond the counter increments from a random start below 2048, so
 * ids sort in creation order, which keeps the tracker's primary key and
 * the WAL directory listing in batch order. */
void ow_uuid7(uint8_t raw[16], char text[OW_BATCH_ID_LEN + 1])
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	static uint64_t last_ms;
	static uint32_t counter;
	uint8_t rnd[10];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		uint64_t x = (uint64_t)ow_mono_ns() ^ ((uint64_t)getpid() << 32);
		for (int i = 0; i < 10;
		     i++, x = x * 6364136223846793005ULL + 1442695040888963407ULL)
			rnd[i] = (uint8_t)(x >> 56);
	}
	uint64_t ms = (uint64_t)(ow_now_ns() / 1000000);
	pthread_mutex_lock(&mu);
	if (ms > last_ms) {
		last_ms = ms;
		counter = ((uint32_t)rnd[0] << 8 | rnd[1]) & 0x7ff;
	} else if (++counter > 0xfff) {
		last_ms++; /* the counter ran out: borrow the next millisecond */
		counter = 0;
	}
	ms = last_ms;
	uint32_t c = counter;
	pthread_mutex_unlock(&mu);
	for (int i = 0; i < 6; i++)
		raw[i] = (uint8_t)(ms >> (40 - 8 * i));
	raw[6] = (uint8_t)(0x70 | (c >> 8));
	raw[7] = (uint8_t)c;
	memcpy(raw + 8, rnd + 2, 8);
	raw[8] = (uint8_t)(0x80 | (raw[8] & 0x3f));
	ow_uuid_text(raw, text);
}

int ow_mkdir_p(const char *path, int mode)
{
	char tmp[4096];
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return OW_ERROR;
	}
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, (mode_t)mode) != 0 && errno != EEXIST)
			return OW_ERROR;
		*p = '/';
	}
	if (mkdir(tmp, (mode_t)mode) != 0 && errno != EEXIST)
		return OW_ERROR;
	return OW_OK;
}

int ow_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return OW_ERROR;
	int rc = fsync(fd);
	int e = errno;
	close(fd);
	errno = e;
	return rc == 0 ? OW_OK : OW_ERROR;
}

#define OW_BUF_HUGE ((size_t)2 << 20) /* a transparent huge page */

static __thread ow_buf_meter_t meter;

ow_buf_meter_t ow_buf_meter(ow_buf_meter_t m)
{
	ow_buf_meter_t before = meter;
	meter = m;
	return before;
}

/* must: abort when memory runs out (ow_realloc), else OW_ERROR */
static int buf_grow(ow_buf_t *b, size_t extra, int must)
{
	if (b->len + extra <= b->cap)
		return OW_OK;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + extra)
		cap *= 2;
	uint8_t *data = must ? ow_realloc(b->data, cap) : realloc(b->data, cap);
	if (!data)
		return OW_ERROR;
	if (meter.fn)
		meter.fn(meter.arg, (int64_t)(cap - b->cap));
	b->data = data;
	b->cap = cap;
	if (cap < OW_BUF_HUGE)
		return OW_OK;
	/* a buffer of megabytes (a column chunk being decoded, a batch) is
	 * filled once and soon freed: in 2 MiB pages it faults 512 times
	 * less, where the kernel has transparent huge pages on madvise
	 * (Debian's default). Its room past what it holds is untouched:
	 * asked there, before the bytes come */
	uintptr_t from =
	    ((uintptr_t)b->data + b->len + OW_BUF_HUGE - 1) & ~(uintptr_t)(OW_BUF_HUGE - 1);
	uintptr_t to = ((uintptr_t)b->data + cap) & ~(uintptr_t)(OW_BUF_HUGE - 1);
	if (to > from)
		(void)madvise((void *)from, to - from, MADV_HUGEPAGE);
	return OW_OK;
}

void ow_buf_grow(ow_buf_t *b, size_t extra)
{
	(void)buf_grow(b, extra, 1);
}

int ow_buf_try_reserve(ow_buf_t *b, size_t extra)
{
	return buf_grow(b, extra, 0);
}

void ow_buf_add_u64(ow_buf_t *b, uint64_t v)
{
	char t[20], *e = t + sizeof(t), *p = e;
	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	ow_buf_add(b, p, (size_t)(e - p));
}

void ow_buf_add_i64(ow_buf_t *b, int64_t v)
{
	if (v < 0) {
		ow_buf_add(b, "-", 1);
		ow_buf_add_u64(b, -(uint64_t)v);
	} else {
		ow_buf_add_u64(b, (uint64_t)v);
	}
}

void ow_buf_add_utf8(ow_buf_t *b, uint32_t cp)
{
	uint8_t u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (uint8_t)cp, n = 1;
	} else if (cp < 0x800) {
		u[0] = (uint8_t)(0xc0 | cp >> 6), u[1] = (uint8_t)(0x80 | (cp & 63)), n = 2;
	} else if (cp < 0x10000) {
		u[0] = (uint8_t)(0xe0 | cp >> 12), u[1] = (uint8_t)(0x80 | (cp >> 6 & 63));
		u[2] = (uint8_t)(0x80 | (cp & 63)), n = 3;
	} else {
		u[0] = (uint8_t)(0xf0 | cp >> 18), u[1] = (uint8_t)(0x80 | (cp >> 12 & 63));
		u[2] = (uint8_t)(0x80 | (cp >> 6 & 63)), u[3] = (uint8_t)(0x80 | (cp & 63));
		n = 4;
	}
	ow_buf_add(b, u, n);
}

static uint32_t hex4(const uint8_t *p)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++)
		v = v << 4 | (uint32_t)(p[i] <= '9' ? p[i] - '0' : (p[i] | 0x20) - 'a' + 10);
	return v;
}

void ow_json_unescape(ow_buf_t *b, const uint8_t *s, size_t n, int nul_ends)
{
	static const char from[] = "bfnrt", to[] = "\b\f\n\r\t";
	const uint8_t *se = s + n;
	for (; s < se; s++) {
		if (*s != '\\') {
			ow_buf_add(b, s, 1);
			continue;
		}
		if (++s == se)
			break;
		uint8_t c = *s;
		if (c == 'u') {
			if (se - s < 5)
				break;
			uint32_t u = hex4(s + 1);
			s += 4;
			if (u == 0 && nul_ends)
				break;
			if ((u & 0xfc00) == 0xd800 && se - s > 6 && s[1] == '\\' && s[2] == 'u' &&
			    (hex4(s + 3) & 0xfc00) == 0xdc00) {
				u = ((u & 0x3ff) << 10) + (hex4(s + 3) & 0x3ff) + 0x10000;
				s += 6;
			}
			ow_buf_add_utf8(b, u);
			continue;
		}
		const char *f = memchr(from, c, sizeof(from) - 1);
		ow_buf_add(b, f ? &to[f - from] : (const char *)&c, 1);
	}
}

int ow_json_is_real(const uint8_t *s, size_t n)
{
	return memchr(s, '.', n) || memchr(s, 'e', n) || memchr(s, 'E', n);
}

void ow_buf_addstr(ow_buf_t *b, const char *s)
{
	ow_buf_add(b, s, strlen(s));
}

void ow_buf_printf(ow_buf_t *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	ow_buf_reserve(b, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void ow_buf_fit(ow_buf_t *b)
{
	if (b->len == b->cap)
		return;
	if (b->len == 0) {
		ow_buf_free(b);
		return;
	}
	uint8_t *data = realloc(b->data, b->len);
	if (!data)
		return; /* it keeps its room */
	if (meter.fn)
		meter.fn(meter.arg, (int64_t)b->len - (int64_t)b->cap);
	b->data = data;
	b->cap = b->len;
}

void ow_buf_free(ow_buf_t *b)
{
	if (meter.fn && b->cap)
		meter.fn(meter.arg, -(int64_t)b->cap);
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

char *ow_read_all(FILE *f, size_t max)
{
	ow_buf_t b = {0};
	size_t n;
	do {
		ow_buf_reserve(&b, 65536);
		n = fread(b.data + b.len, 1, b.cap - b.len - 1, f);
		b.len += n;
	} while (n > 0 && b.len < max);
	if (ferror(f)) {
		ow_buf_free(&b);
		return NULL;
	}
	b.data[b.len] = 0;
	return (char *)b.data;
}

int ow_parse_duration(const char *s, int64_t *ns)
{
	return ow_parse_duration_n(s, strlen(s), 0, ns);
}

int ow_parse_duration_n(const char *s, size_t len, int strict, int64_t *ns)
{
	/* largest first: strict takes each once, in this order */
	static const struct {
		const char *unit;
		int64_t ns;
		int strict;
	} units[] = {{"y", 365 * 86400 * (int64_t)1000000000, 1},
		     {"w", 7 * 86400 * (int64_t)1000000000, 1},
		     {"d", 86400 * (int64_t)1000000000, 1},
		     {"h", 3600 * (int64_t)1000000000, 1},
		     {"m", 60 * (int64_t)1000000000, 1},
		     {"s", 1000000000, 1},
		     {"ms", 1000000, 1},
		     {"us", 1000, 0},
		     {"\xc2\xb5s", 1000, 0},
		     {"ns", 1, 0}};
	const char *end = s + len;
	int neg = s < end && *s == '-';
	if (!strict && s < end && (*s == '-' || *s == '+'))
		s++;
	if (s == end)
		return OW_ERROR;
	double total = 0;
	int last = -1;
	while (s < end) {
		const char *num = s;
		int dots = 0;
		while (s < end && ((*s >= '0' && *s <= '9') || (!strict && *s == '.')))
			dots += *s++ == '.';
		if (s == num || dots > 1 || (s - num == 1 && *num == '.'))
			return OW_ERROR;
		double v = strtod(num, NULL);
		size_t best = 0;
		int u = -1;
		for (size_t i = 0; i < OW_NELEMS(units); i++) {
			size_t n = strlen(units[i].unit);
			if (n > best && n <= (size_t)(end - s) &&
			    strncmp(s, units[i].unit, n) == 0) {
				best = n;
				u = (int)i;
			}
		}
		if (u < 0 || (strict && (!units[u].strict || u <= last)))
			return OW_ERROR;
		last = u;
		s += best;
		total += v * (double)units[u].ns;
		if (total >= 9.223372036854775807e18)
			return OW_ERROR;
	}
	*ns = (int64_t)(total + 0.5) * (neg ? -1 : 1);
	return OW_OK;
}

char *ow_data_dir; /* storage.data_dir, set by the configuration */

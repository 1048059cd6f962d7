/*
 * core.h - what every module includes: return codes, small helpers, the
 * module interface and the process-wide state ("the cycle", after nginx).
 *
 * Threads: one libevent loop thread owns sockets, timers and all the state
 * below that is not marked otherwise; worker threads only run jobs handed
 * to them (see worker.h) and give results back through the loop.
 */
#ifndef OW_CORE_H
#define OW_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OW_VERSION "0.1.0"

#define OW_OK 0
#define OW_ERROR (-1)
#define OW_AGAIN (-2)
#define OW_DECLINED (-3)
#define OW_NOSPACE (-4)

#define OW_NELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define OW_MIN(a, b) ((a) < (b) ? (a) : (b))
#define OW_MAX(a, b) ((a) > (b) ? (a) : (b))
#define OW_UNUSED(x) ((void)(x))

/* The three OTLP signals; the index is used in tables and file headers. */
enum ow_signal { OW_TRACES = 0, OW_LOGS = 1, OW_METRICS = 2, OW_NSIGNALS = 3 };
/* Where a batch came from. */
enum ow_source { OW_SRC_HTTP = 0, OW_SRC_GRPC = 1, OW_SRC_KAFKA = 2, OW_NSOURCES = 3 };

const char *ow_signal_name(int signal);
const char *ow_source_name(int source);

#define OW_TENANT_MAX 64
#define OW_BATCH_ID_LEN 36 /* UUIDv7 text form */

/* Tenant ids become directory names: [A-Za-z0-9._-]{1,64}, not starting with
 * ".". The one definition: ingest, the WAL, recovery, storage and queries all
 * ask this, so whatever is acknowledged is recovered. */
int ow_tenant_valid(const char *s, size_t len);

/* Memory helpers that abort on exhaustion: a failed small allocation is not
 * a condition this server can answer sensibly, and checking every call site
 * hides the real error paths. Large, input-sized buffers use the byte budget
 * (ow_budget_*) before they are allocated. */
void *ow_alloc(size_t n);
void *ow_calloc(size_t n, size_t size);
void *ow_realloc(void *p, size_t n);
char *ow_strdup(const char *s);

/* Time. */
int64_t ow_now_ns(void);  /* CLOCK_REALTIME, nanoseconds since the epoch */
int64_t ow_mono_ns(void); /* CLOCK_MONOTONIC */
void ow_time_iso(int64_t ns, char *buf, size_t len); /* "YYYY-MM-DD HH:MM:SS.mmm" UTC */

/* A time-ordered UUIDv7: 16 raw bytes and its 36-character text form. */
void ow_uuid7(uint8_t raw[16], char text[OW_BATCH_ID_LEN + 1]);
void ow_uuid_text(const uint8_t raw[16], char text[OW_BATCH_ID_LEN + 1]);

/* Filesystem helpers. */
int ow_mkdir_p(const char *path, int mode);
int ow_fsync_dir(const char *path);

/* A growable byte buffer. */
typedef struct {
	uint8_t *data;
	size_t len;
	size_t cap;
} ow_buf_t;

/* Grows b to hold extra more bytes (the slow path of ow_buf_reserve). */
void ow_buf_grow(ow_buf_t *b, size_t extra);
/* The same for a size a file or a client chose: OW_ERROR, b unchanged, when
 * memory runs out. */
int ow_buf_try_reserve(ow_buf_t *b, size_t extra);
/* Inline: the decoders call these for every field. */
static inline void ow_buf_reserve(ow_buf_t *b, size_t extra)
{
	if (b->len + extra > b->cap)
		ow_buf_grow(b, extra);
}

static inline void ow_buf_add(ow_buf_t *b, const void *p, size_t n)
{
	if (n == 0)
		return; /* p may be NULL: memcpy(NULL, NULL, 0) is undefined */
	ow_buf_reserve(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void ow_buf_addstr(ow_buf_t *b, const char *s);
/* An integer in decimal, without printf (a call per value costs a tenth
 * of a short query answer). */
void ow_buf_add_u64(ow_buf_t *b, uint64_t v);
void ow_buf_add_i64(ow_buf_t *b, int64_t v);
/* Code point cp in UTF-8 (a surrogate as its three bytes, as JSON readers
 * write a lone one). */
void ow_buf_add_utf8(ow_buf_t *b, uint32_t cp);
/* The bytes s[0..n) between a JSON string's quotes, unescaped onto b:
 * \uXXXX as UTF-8 (a surrogate pair as one code point, a lone surrogate
 * as it is); \u0000 a NUL byte, or the end of the text when nul_ends (as
 * SQLite 3.40's jsonReturn reads it). A damaged escape at the end stops. */
void ow_json_unescape(ow_buf_t *b, const uint8_t *s, size_t n, int nul_ends);
/* 1 when JSON number token s[0..n) is a real (it has a '.' or an exponent). */
int ow_json_is_real(const uint8_t *s, size_t n);
void ow_buf_printf(ow_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ow_buf_free(ow_buf_t *b);
/* Gives back the room past b's bytes (a buffer filled once and then
 * kept, as a decoded request's columns are while they wait for Parquet). */
void ow_buf_fit(ow_buf_t *b);
/* What f holds, read to its end or until past max bytes, NUL-terminated
 * (malloc'd); NULL on a read error. */
char *ow_read_all(FILE *f, size_t max);

/* A thread's buffers may be metered: while a meter is set, every
 * ow_buf_grow and ow_buf_free on the thread reports the change in
 * capacity (signed bytes) to it. A query's memory budget counts its
 * column buffers and its answer so (modules/search), and the OTLP decoder
 * what a request's columns really take (modules/columns). Sets this
 * thread's meter ({NULL}: none) and returns the one before, which a
 * meter set for a while may pass its deltas on to. */
typedef struct {
	void (*fn)(void *arg, int64_t delta);
	void *arg;
} ow_buf_meter_t;
ow_buf_meter_t ow_buf_meter(ow_buf_meter_t m);

/* A duration as Go's time.ParseDuration and Prometheus write them, into
 * nanoseconds: numbers with a fraction allowed, each with a unit (ns, us,
 * µs, ms, s, m, h, d, w, y), one after the other ("1h30m", "1.5s",
 * "15000ms"), a sign first. OW_OK, or OW_ERROR for anything else or past
 * int64. */
int ow_parse_duration(const char *s, int64_t *ns);
/* The same of len bytes at s; strict: Prometheus' own form
 * (model.ParseDuration) alone - whole numbers, the units y w d h m s ms
 * each at most once from the largest down, no sign ("1h30m", "500ms"). */
int ow_parse_duration_n(const char *s, size_t len, int strict, int64_t *ns);

/* A finite double as the fewest of 15, 16 or 17 significant digits that read
 * back as the same value ("%g" style); the length written. */
int ow_dtoa(double v, char *buf, size_t len);

/* Little-endian integer access for on-disk formats. */
static inline void ow_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}
static inline uint32_t ow_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void ow_put_u64(uint8_t *p, uint64_t v)
{
	ow_put_u32(p, (uint32_t)v);
	ow_put_u32(p + 4, (uint32_t)(v >> 32));
}
static inline uint64_t ow_get_u64(const uint8_t *p)
{
	return (uint64_t)ow_get_u32(p) | (uint64_t)ow_get_u32(p + 4) << 32;
}

/* How many of the n bytes at d, each 0 or 1 (definition bytes, a
 * selection), are 1: eight at a time. */
static inline size_t ow_count_ones(const uint8_t *d, size_t n)
{
	size_t ones = 0, i = 0;
	if (n == 8) { /* a word: its bytes summed by one multiply */
		uint64_t w;
		memcpy(&w, d, 8);
		return (size_t)((w * UINT64_C(0x0101010101010101)) >> 56);
	}
	while (i + 8 <= n) {
		/* bytes of 0 or 1 added as words: no lane carries in 255 */
		size_t end = n - i >= 8 * 255 ? i + 8 * 255 : n - (n - i) % 8;
		uint64_t acc = 0, w;
		for (; i < end; i += 8) {
			memcpy(&w, d + i, 8);
			acc += w;
		}
		acc = (acc & UINT64_C(0x00ff00ff00ff00ff)) +
		      ((acc >> 8) & UINT64_C(0x00ff00ff00ff00ff));
		ones += (size_t)((acc * UINT64_C(0x0001000100010001)) >> 48);
	}
	for (; i < n; i++)
		ones += d[i];
	return ones;
}

#endif

/*
 * remote.c - Prometheus remote_write 1.0 into OTLP: the body is snappy
 * (Debian's libsnappy) around a prometheus.WriteRequest, read here with
 * a bounds-checked wire reader of our own (the few fields it has:
 * timeseries 1 {labels 1 {name 1, value 2}, samples 2 {value 1 double,
 * timestamp 2 int64 ms}}; metadata, exemplars and native histograms are
 * skipped as unknown fields). It becomes one ExportMetricsServiceRequest
 * that the ingest front decodes, budgets and makes durable as any OTLP
 * request: one resource and scope, a gauge metric per series named by
 * its __name__, one data point per sample with the other labels as
 * string attributes. A staleness marker (Prometheus' NaN) becomes a point
 * flagged no_recorded_value, which series.c reads back as the marker.
 *
 * Refused (400): not snappy, larger than max uncompressed or converted
 * (OW_NOSPACE, 413), malformed protobuf, a series without __name__.
 */
#include "prom.h"

#include <math.h>
#include <snappy-c.h>

typedef struct {
	const uint8_t *p, *end;
} rd_t;

static int varint(rd_t *r, uint64_t *v)
{
	*v = 0;
	for (int s = 0; s < 64; s += 7) {
		if (r->p >= r->end)
			return OW_ERROR;
		uint8_t b = *r->p++;
		*v |= (uint64_t)(b & 0x7f) << s;
		if (!(b & 0x80))
			return OW_OK;
	}
	return OW_ERROR;
}

/* The next field: its number, wire type and (type 2) bytes. */
static int field(rd_t *r, uint32_t *num, int *wt, rd_t *sub, uint64_t *v)
{
	uint64_t tag;
	if (varint(r, &tag) != OW_OK || (tag >> 3) == 0 || (tag >> 3) > UINT32_MAX)
		return OW_ERROR;
	*num = (uint32_t)(tag >> 3);
	*wt = (int)(tag & 7);
	switch (*wt) {
	case 0:
		return varint(r, v);
	case 1:
		if (r->end - r->p < 8)
			return OW_ERROR;
		memcpy(v, r->p, 8);
		r->p += 8;
		return OW_OK;
	case 5:
		if (r->end - r->p < 4)
			return OW_ERROR;
		r->p += 4;
		return OW_OK;
	case 2: {
		uint64_t n;
		if (varint(r, &n) != OW_OK || n > (uint64_t)(r->end - r->p))
			return OW_ERROR;
		sub->p = r->p;
		sub->end = r->p + n;
		r->p += n;
		return OW_OK;
	}
	}
	return OW_ERROR;
}

static void put_varint(ow_buf_t *b, uint64_t v)
{
	uint8_t t[10];
	int n = 0;
	do {
		t[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	ow_buf_add(b, t, (size_t)n);
}

static void put_bytes(ow_buf_t *b, uint32_t num, const void *p, size_t n)
{
	put_varint(b, (uint64_t)num << 3 | 2);
	put_varint(b, n);
	ow_buf_add(b, p, n);
}

static void put_fixed64(ow_buf_t *b, uint32_t num, uint64_t v)
{
	put_varint(b, (uint64_t)num << 3 | 1);
	uint8_t t[8];
	ow_put_u64(t, v);
	ow_buf_add(b, t, 8);
}

/* One TimeSeries as a Metric (appended to metrics as ScopeMetrics field 2). */
/* One TimeSeries as a Metric onto metrics; OW_NOSPACE once what it has
 * converted passes max bytes (a long label repeated on every sample must
 * not grow past it before the check). */
static int series(rd_t ts, ow_buf_t *metrics, ow_buf_t *tmp, size_t max, char *err, size_t errlen)
{
	rd_t r = ts, sub;
	uint32_t num;
	int wt;
	uint64_t v;
	const uint8_t *name = NULL;
	size_t name_len = 0;
	ow_buf_t attrs = {0}, points = {0};
	/* the labels first: every point repeats them */
	while (r.p < r.end) {
		if (field(&r, &num, &wt, &sub, &v) != OW_OK)
			goto bad;
		if (num != 1 || wt != 2)
			continue;
		rd_t l = sub, s;
		const uint8_t *ln = NULL, *lv = NULL;
		size_t lnn = 0, lvn = 0;
		while (l.p < l.end) {
			if (field(&l, &num, &wt, &s, &v) != OW_OK)
				goto bad;
			if (wt == 2 && num == 1) {
				ln = s.p;
				lnn = (size_t)(s.end - s.p);
			} else if (wt == 2 && num == 2) {
				lv = s.p;
				lvn = (size_t)(s.end - s.p);
			}
		}
		if (lnn == 8 && memcmp(ln, "__name__", 8) == 0) {
			name = lv;
			name_len = lvn;
			continue;
		}
		if (lnn == 0 || lvn == 0)
			continue;
		/* KeyValue {key 1, value 2: AnyValue {string_value 1}} */
		ow_buf_t kv = {0}, any = {0};
		put_bytes(&any, 1, lv, lvn);
		put_bytes(&kv, 1, ln, lnn);
		put_bytes(&kv, 2, any.data, any.len);
		put_bytes(&attrs, 7, kv.data, kv.len);
		ow_buf_free(&kv);
		ow_buf_free(&any);
	}
	if (name_len == 0) {
		snprintf(err, errlen, "a series without a __name__ label");
		ow_buf_free(&attrs);
		return OW_ERROR;
	}
	r = ts;
	while (r.p < r.end) {
		if (field(&r, &num, &wt, &sub, &v) != OW_OK)
			goto bad;
		if (num != 2 || wt != 2)
			continue;
		rd_t s = sub, x;
		double value = 0;
		int64_t t = 0;
		while (s.p < s.end) {
			if (field(&s, &num, &wt, &x, &v) != OW_OK)
				goto bad;
			if (num == 1 && wt == 1)
				memcpy(&value, &v, 8);
			else if (num == 2 && wt == 0)
				t = (int64_t)v;
		}
		if (t <= 0 || t > INT64_MAX / 1000000) {
			snprintf(err, errlen, "a sample's timestamp is not a time in milliseconds");
			goto fail;
		}
		/* NumberDataPoint: attributes 7, time 3, as_double 4, flags 8 */
		tmp->len = 0;
		ow_buf_add(tmp, attrs.data, attrs.len);
		put_fixed64(tmp, 3, (uint64_t)t * 1000000);
		uint64_t bits;
		memcpy(&bits, &value, 8);
		put_fixed64(tmp, 4, bits);
		if (ow_pq_is_stale(value)) {
			put_varint(tmp, 8 << 3 | 0);
			put_varint(tmp, 1);
		}
		put_bytes(&points, 1, tmp->data, tmp->len);
		if (metrics->len + points.len > max) {
			snprintf(err, errlen, "the request converted is more than %zu bytes", max);
			ow_buf_free(&attrs);
			ow_buf_free(&points);
			return OW_NOSPACE;
		}
	}
	/* Metric {name 1, gauge 5 {data_points 1}} */
	tmp->len = 0;
	put_bytes(tmp, 1, name, name_len);
	put_bytes(tmp, 5, points.data, points.len);
	put_bytes(metrics, 2, tmp->data, tmp->len);
	ow_buf_free(&attrs);
	ow_buf_free(&points);
	return OW_OK;
bad:
	snprintf(err, errlen, "malformed protobuf: not a prometheus.WriteRequest");
fail:
	ow_buf_free(&attrs);
	ow_buf_free(&points);
	return OW_ERROR;
}

int ow_prom_remote_convert(const uint8_t *body, size_t len, size_t max, ow_buf_t *out, char *err,
			   size_t errlen)
{
	size_t n;
	if (snappy_uncompressed_length((const char *)body, len, &n) != SNAPPY_OK) {
		snprintf(err, errlen, "the body is not snappy-compressed (block format)");
		return OW_ERROR;
	}
	if (n > max) {
		snprintf(err, errlen, "the body is %zu bytes uncompressed, more than %zu", n, max);
		return OW_NOSPACE;
	}
	uint8_t *raw = ow_alloc(OW_MAX(n, 1));
	if (snappy_uncompress((const char *)body, len, (char *)raw, &n) != SNAPPY_OK) {
		free(raw);
		snprintf(err, errlen, "the body is not valid snappy");
		return OW_ERROR;
	}
	rd_t r = {raw, raw + n}, sub;
	uint32_t num;
	int wt;
	uint64_t v;
	ow_buf_t metrics = {0}, tmp = {0};
	int rc = OW_OK;
	while (rc == OW_OK && r.p < r.end) {
		if (field(&r, &num, &wt, &sub, &v) != OW_OK) {
			snprintf(err, errlen, "malformed protobuf: not a prometheus.WriteRequest");
			rc = OW_ERROR;
		} else if (num == 1 && wt == 2) {
			rc = series(sub, &metrics, &tmp, max, err, errlen);
		}
		if (rc == OW_OK && metrics.len > max) {
			snprintf(err, errlen, "the request converted is more than %zu bytes", max);
			rc = OW_NOSPACE;
		}
	}
	free(raw);
	if (rc == OW_OK) {
		/* ExportMetricsServiceRequest {resource_metrics 1 {scope_metrics 2}} */
		tmp.len = 0;
		put_bytes(&tmp, 2, metrics.data, metrics.len);
		put_bytes(out, 1, tmp.data, tmp.len);
	}
	ow_buf_free(&metrics);
	ow_buf_free(&tmp);
	return rc;
}

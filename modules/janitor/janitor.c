/*
 * janitor.c - merges fresh ("active") parts into large "stable" ones.
 *
 * Flushes make many small parts; reading them all costs footers, seeks
 * and poor compression. Every few seconds the janitor looks for a
 * (tenant, signal, day) with two or more active parts whose bytes reach
 * storage.file_rotation.file_size_mb or whose oldest part is
 * storage.file_rotation.file_duration_minutes old, and merges them, on a
 * worker, one group at a time:
 *
 *   read the parts (our reader) while their decoded rows, and at most
 *   their shredded columns (ow_shred_bytes), stay under
 *   storage.file_rotation.merge_memory_mb (the rest wait for the next
 *   merge), append the rows, sort them again, write one stable part (storage.parquet.row_group_size
 * rows a row group) under a temporary name, fdatasync, rename, directory fsync; then ONE
 *   transaction swaps the stable part for the active ones in the catalog
 *   (ow_catalog_swap); only then are the active files unlinked.
 *
 * A part written before plain JSON (format 1, modules/columns/convert.c)
 * is rewritten in format 2 as it is read: a merged part never mixes them.
 *
 * Readers go by the catalog, so they see the active parts or the stable
 * one, never both and never neither. A crash before the commit leaves a
 * stable file the catalog does not list; after it, active files the
 * catalog does not list: either way recovery (storage.c) removes the
 * orphans and no row is lost or doubled.
 *
 * Retention, every janitor.interval_seconds (and at once when free disk
 * falls below the low watermark), a pass on the same worker, never beside
 * a merge:
 *
 *   - a part whose newest row (max_time in the catalog) is older than its
 *     retention goes: storage.local_retention.retention_days, or
 *     retention_hours when set, or the most specific of the overrides
 *     (TENANT/SIGNAL, TENANT/ *, * /SIGNAL); 0 keeps forever;
 *   - a tenant over its storage.local_retention.max_bytes loses its
 *     oldest parts (by max_time) until it is under;
 *   - below storage.disk.low_watermark_percent of free disk, the oldest
 *     parts of the tenant holding the most bytes (the one furthest over
 *     its even share) go first, one at a time, until the parts dropped
 *     would bring free disk back above the watermark; an alert row says
 *     so.
 *
 *   The parts chosen leave in ONE catalog transaction (ow_catalog_drop);
 *   then the loop takes them from the readers' list, and each file is
 *   unlinked with its last reference (on the disk thread, core/io.h: a
 *   slow disk never holds the loop), so a query in flight reads its
 *   snapshot whole. A crash after the commit leaves files the catalog does
 *   not list: recovery removes them as orphans. Rows still buffered are
 *   not dropped: they are flushed into a part as usual, and the next pass
 *   drops that part. Retention never deletes batch_tracker rows: the
 *   batches that lost parts are checked for completion (tracker.c).
 *
 * The same pass asks the tracker to complete the batches the indexer has
 * indexed and to raise the alerts of stuck batches. Below
 * storage.disk.critical_watermark_percent, measured on every tick (statvfs
 * on the disk thread; while one is out on a slow disk the last measure
 * stands), sources answer 503 as on ENOSPC (ow_storage_set_disk_critical).
 * While free disk is below the low watermark passes come every tick until
 * one drops nothing; a merge that is due goes between two of them.
 *
 * Removing a batch's WAL file once it is stored (wal_removed_at) is done by
 * the flush right after its commit, in storage.c, so that the WAL shrinks
 * with every flush.
 */
#include "janitor.h"
#include "../catalog/catalog.h"
#include "../columns/columns.h"
#include "../core/io.h"
#include "../core/log.h"
#include "../core/stats.h"
#include "../core/worker.h"
#include "../parquet/parquet.h"
#include "../storage/storage.h"
#include "../tracker/tracker.h"

#include <unistd.h>

static int64_t file_size_mb, file_duration_minutes, check_ms, merge_memory_mb;
static int64_t interval_s, retention_days, retention_hours, low_pct, critical_pct;
static char *overrides, *max_bytes;

static ow_directive_t directives[] = {
    {"storage.file_rotation.file_size_mb", OW_CONF_INT, &file_size_mb, 1, 1 << 20, "200", NULL, 0},
    {"storage.file_rotation.file_duration_minutes", OW_CONF_INT, &file_duration_minutes, 0, 525600,
     "60", NULL, 0},
    {"storage.file_rotation.check_interval_ms", OW_CONF_INT, &check_ms, 10, 3600000, "5000", NULL,
     0},
    {"storage.file_rotation.merge_memory_mb", OW_CONF_INT, &merge_memory_mb, 1, 1 << 20, "192",
     NULL, 0},
    {"janitor.interval_seconds", OW_CONF_INT, &interval_s, 1, 86400, "60", NULL, 0},
    {"storage.local_retention.retention_days", OW_CONF_INT, &retention_days, 0, 36500, "7", NULL,
     0},
    {"storage.local_retention.retention_hours", OW_CONF_INT, &retention_hours, 0, 876000, "0", NULL,
     0},
    {"storage.local_retention.overrides", OW_CONF_LIST, &overrides, 0, 200, "", NULL, 0},
    {"storage.local_retention.max_bytes", OW_CONF_LIST, &max_bytes, 0, 200, "", NULL, 0},
    {"storage.disk.low_watermark_percent", OW_CONF_INT, &low_pct, 0, 99, "0", NULL, 0},
    {"storage.disk.critical_watermark_percent", OW_CONF_INT, &critical_pct, 0, 99, "2", NULL, 0},
    OW_CONF_END};

/* ---- the rules, read from the configuration by janitor_check ---- */

#define MAX_RULES 64
#define ANY (-2) /* a rule's tenant "*" or signal "*" */

typedef struct {
	char tenant[OW_TENANT_MAX + 1]; /* "" for "*" */
	int signal;			/* ANY, or a signal */
	int64_t value;			/* ns of retention (0: forever), or bytes */
} rule_t;

static rule_t ret_rules[MAX_RULES], byte_rules[MAX_RULES];
static int nret, nbytes;

/* "12", "12K", "3M", "2G", "1T" (powers of 1024) for bytes; "30d",
 * "12h" or "0" (forever) for durations, in ns. -1 when malformed. */
static int64_t parse_amount(const char *s, int duration)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (end == s || v < 0 || errno)
		return -1;
	static const char units[] = "KMGT";
	int64_t mul = 0;
	if (*end == '\0')
		mul = duration && v ? 0 : 1;
	else if (duration && (*end == 'h' || *end == 'd'))
		mul = (*end == 'h' ? 3600LL : 86400LL) * 1000000000LL;
	else if (!duration && strchr(units, *end))
		mul = 1LL << (10 * (strchr(units, *end) - units + 1));
	if (mul == 0 || (*end && end[1]) || v > INT64_MAX / mul)
		return -1;
	return (int64_t)v * mul;
}

/* Items "TENANT/SIGNAL=VALUE" (with_signal) or "TENANT=VALUE", TENANT and
 * SIGNAL a name or "*". */
static int parse_rules(const char *key, const char *list, int with_signal, rule_t *rules, int *n,
		       char *err, size_t errlen)
{
	*n = 0;
	char *copy = ow_strdup(list ? list : ""), *save = NULL, item[512];
	int rc = OW_OK;
	for (char *it = strtok_r(copy, "\n", &save); it && rc == OW_OK;
	     it = strtok_r(NULL, "\n", &save)) {
		snprintf(item, sizeof(item), "%s", it); /* it is cut up below */
		char *eq = strchr(it, '='), *slash = strchr(it, '/');
		rule_t r = {.signal = ANY};
		if (eq && slash > eq)
			slash = NULL;
		if (eq)
			*eq = '\0';
		if (slash)
			*slash = '\0';
		int name_ok = strcmp(it, "*") == 0 || ow_tenant_valid(it, strlen(it));
		if (name_ok && strcmp(it, "*") != 0)
			snprintf(r.tenant, sizeof(r.tenant), "%s", it);
		int sig_ok = with_signal ? slash != NULL : slash == NULL;
		if (slash && with_signal && strcmp(slash + 1, "*") != 0) {
			r.signal = -1;
			for (int g = 0; g < OW_NSIGNALS; g++)
				if (strcmp(slash + 1, ow_signal_name(g)) == 0)
					r.signal = g;
			sig_ok = r.signal >= 0;
		}
		r.value = eq ? parse_amount(eq + 1, with_signal) : -1;
		if (!name_ok || !sig_ok || r.value < 0 || *n == MAX_RULES) {
			ow_conf_error(
			    err, errlen, ow_conf_find(key), "\"%s\": want %s (at most %d)", item,
			    with_signal ? "TENANT/SIGNAL=DURATION as acme/logs=30d, */metrics=12h, "
					  "acme/*=0"
					: "TENANT=BYTES as acme=10G, *=500M",
			    MAX_RULES);
			rc = OW_ERROR;
		} else {
			rules[(*n)++] = r;
		}
	}
	free(copy);
	return rc;
}

/* The most specific rule for (tenant, signal): tenant and signal, tenant,
 * signal, neither; NULL when none matches. */
static const rule_t *rule_for(const rule_t *rules, int n, const char *tenant, int signal)
{
	const rule_t *best = NULL;
	int best_score = -1;
	for (int i = 0; i < n; i++) {
		const rule_t *r = &rules[i];
		if ((r->tenant[0] && strcmp(r->tenant, tenant) != 0) ||
		    (r->signal != ANY && r->signal != signal))
			continue;
		int score = (r->tenant[0] ? 2 : 0) + (r->signal != ANY);
		if (score >= best_score) { /* a later item wins a tie */
			best = r;
			best_score = score;
		}
	}
	return best;
}

/* The retention of (tenant, signal) in ns; 0 keeps forever. */
static int64_t retention_ns(const char *tenant, int signal)
{
	const rule_t *r = rule_for(ret_rules, nret, tenant, signal);
	if (r)
		return r->value;
	return retention_hours ? retention_hours * 3600 * 1000000000LL
			       : retention_days * 86400 * 1000000000LL;
}

static int janitor_check(char *err, size_t errlen)
{
	if (parse_rules("storage.local_retention.overrides", overrides, 1, ret_rules, &nret, err,
			errlen) != OW_OK ||
	    parse_rules("storage.local_retention.max_bytes", max_bytes, 0, byte_rules, &nbytes, err,
			errlen) != OW_OK)
		return OW_ERROR;
	if (critical_pct && low_pct && critical_pct >= low_pct) {
		ow_conf_error(err, errlen, ow_conf_find("storage.disk.critical_watermark_percent"),
			      "must be below storage.disk.low_watermark_percent (%lld)",
			      (long long)low_pct);
		return OW_ERROR;
	}
	return OW_OK;
}

#define MERGE_MAX_PARTS 256

typedef struct {
	ow_job_t job;
	int merged; /* parts merged; 0 when there was nothing to do */
	uint64_t rows;
	char tenant[OW_TENANT_MAX + 1];
	int signal;
	char ids[MERGE_MAX_PARTS][33];
	ow_part_t stable;
	char err[600];
} merge_t;

static struct event *tick_ev;
static uint64_t parts_merged; /* for /metrics */
static int running, draining;

/* A BYTE_ARRAY column of a part, row group by row group: a chunk read
 * as dictionary codes keeps each entry once, its values refer to it
 * (column.h), so a merge's budget holds rows, not copies of the same
 * resource attributes. */
static int read_shared(ow_pq_file_t *f, int fc, ow_col_t *out, char *err, size_t errlen)
{
	ow_pq_codes_t codes = {0};
	ow_col_t rg = {0};
	int rc = OW_OK;
	for (int g = 0; rc == OW_OK && g < ow_pq_num_row_groups(f); g++) {
		ow_col_clear(&rg);
		rc = ow_pq_read_column_ex(f, g, fc, NULL, &rg, &codes, err, errlen);
		if (rc != OW_OK)
			break;
		if (codes.has_codes) {
			/* rg holds the rows' definitions; values: the codes */
			ow_col_t shared = {.data = codes.dict.data,
					   .offs = codes.dict.offs,
					   .defs = rg.defs,
					   .refs = codes.codes,
					   .nrows = rg.nrows,
					   .nvals = rg.nvals};
			ow_col_append(out, &shared);
		} else {
			ow_col_append(out, &rg);
		}
	}
	ow_col_free(&rg);
	ow_pq_codes_free(&codes);
	return rc;
}

/* Appends every row of one part to t, and its batch ids to ids. */
static int read_part(const char *rel, int signal, ow_table_t *t, ow_buf_t *ids, char *err,
		     size_t errlen)
{
	char path[4096 + 1100];
	snprintf(path, sizeof(path), "%s/%s", ow_data_dir, rel);
	ow_buf_t img = {0};
	if (ow_pq_read_file(path, &img) != OW_OK) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return OW_ERROR;
	}
	ow_pq_file_t *f = NULL;
	int rc = ow_pq_open(img.data, img.len, &f, err, errlen);
	ow_table_t part;
	ow_columns_table_init(signal, &part);
	/* a part of format 1 (before plain JSON) has no otlp_exact column */
	int xc = part.ncols - 1, v1 = rc == OW_OK && ow_pq_num_columns(f) == xc &&
				      ow_pq_find_column(f, part.defs[xc].name) < 0;
	/* past the schema's columns: the shredded ones and their order column
	 * (modules/columns/shred.c), read back into their JSON column, and
	 * chosen again for the merge */
	ow_shred_cols_t sc = {0};
	int extra = 0;
	for (int c = 0; rc == OW_OK && c < part.ncols; c++) {
		if (ow_shred_find(f, signal, c, &sc))
			extra += sc.n + (sc.order >= 0);
		ow_shred_cols_free(&sc);
	}
	if (rc == OW_OK && ow_pq_num_columns(f) != part.ncols + extra && !v1) {
		snprintf(err, errlen, "%s has %d columns, not %d", path, ow_pq_num_columns(f),
			 part.ncols + extra);
		rc = OW_ERROR;
	}
	for (int c = 0; rc == OW_OK && c < part.ncols - v1; c++) {
		int fc = ow_pq_find_column(f, part.defs[c].name);
		if (fc < 0)
			rc = OW_ERROR;
		else if (ow_shred_find(f, signal, c, &sc)) {
			for (int g = 0; rc == OW_OK && g < ow_pq_num_row_groups(f); g++)
				rc = ow_shred_read(f, &sc, g, NULL, 1, &part.cols[c], NULL, err,
						   errlen);
			ow_shred_cols_free(&sc);
		} else if (part.defs[c].type == OW_PQ_BYTE_ARRAY)
			rc = read_shared(f, fc, &part.cols[c], err, errlen);
		else
			rc = ow_pq_read_column(f, -1, fc, &part.cols[c], err, errlen);
	}
	if (rc == OW_OK) {
		part.nrows = part.cols[0].nrows;
		if (v1) {
			for (size_t r = 0; r < part.nrows; r++)
				ow_col_null(&part.cols[xc]);
			ow_columns_v1_upgrade(signal, &part);
		}
		ow_table_append(t, &part);
		const char *b = ow_pq_kv(f, "openwit.batch_ids");
		if (b && *b)
			ow_buf_printf(ids, "%s%s", ids->len ? "," : "", b);
	}
	ow_table_free(&part);
	if (f)
		ow_pq_close(f);
	ow_buf_free(&img);
	return rc;
}

static void merge_work(ow_job_t *j)
{
	merge_t *m = (merge_t *)j;
	static char paths[MERGE_MAX_PARTS][1024];
	char *tenant = m->tenant;
	char(*ids)[33] = m->ids;
	int n, signal;
	int rc = ow_catalog_merge_group(ow_catalog_server(), file_size_mb << 20,
					file_duration_minutes, MERGE_MAX_PARTS, tenant, &signal,
					ids, paths, &n, m->err, sizeof(m->err));
	m->signal = signal;
	if (rc != OW_OK)
		return;
	ow_table_t t;
	ow_columns_table_init(signal, &t);
	ow_buf_t bids = {0};
	/* a merge holds its rows decoded, and their shredded columns while
	 * the part is written: past merge_memory_mb it takes the
	 * parts read so far, and the rest go in the next merge - unless that
	 * would leave one part alone, which no merge would ever pick */
	for (int i = 0; i < n && rc == OW_OK; i++) {
		rc = read_part(paths[i], signal, &t, &bids, m->err, sizeof(m->err));
		if (rc == OW_OK && i + 2 < n &&
		    ow_table_bytes(&t) +
			    ow_shred_bytes(signal, &t, ow_storage_shred_keys(t.nrows)) >=
			(size_t)merge_memory_mb << 20)
			n = i + 1;
	}
	ow_buf_add(&bids, "", 1);
	ow_part_t p;
	if (rc == OW_OK && t.nrows == 0)
		rc = OW_DECLINED; /* parts without rows: nothing to merge */
	if (rc == OW_OK) {
		uint32_t *perm = ow_alloc(t.nrows * sizeof(uint32_t));
		ow_columns_sort(signal, &t, ow_storage_row_group_rows(), perm);
		int64_t day = ow_storage_day(ow_columns_row_time(signal, &t, perm[0]));
		rc = ow_storage_write_part(tenant, signal, &t, perm, t.nrows, day, "stable",
					   (const char *)bids.data, &p);
		if (rc != OW_OK)
			snprintf(m->err, sizeof(m->err), "%s", p.err);
		free(perm);
		if (rc == OW_OK && ow_catalog_swap(ow_catalog_server(), tenant, signal, &p, ids, n,
						   m->err, sizeof(m->err)) != OW_OK) {
			char path[4096 + 1100];
			snprintf(path, sizeof(path), "%s/%s", ow_data_dir, p.rel);
			unlink(path);
			rc = OW_ERROR;
		}
	}
	if (rc == OW_OK) {
		/* committed: the loop swaps the parts for readers and unlinks the
		 * active files once no query holds them */
		m->stable = p;
		m->merged = n;
		m->rows = t.nrows;
	}
	ow_table_free(&t);
	ow_buf_free(&bids);
}

static void merge_done(ow_job_t *j)
{
	merge_t *m = (merge_t *)j;
	running = 0;
	if (m->err[0])
		ow_log(OW_LOG_ERROR, "janitor: merge failed: %s", m->err);
	else if (m->merged) {
		ow_storage_swap_parts(m->tenant, m->signal, m->ids, m->merged, &m->stable);
		parts_merged += (uint64_t)m->merged;
		ow_log(OW_LOG_DEBUG, "janitor: merged %d parts (%llu rows) into a stable part",
		       m->merged, (unsigned long long)m->rows);
	}
	free(m);
}

/* ---- retention ---- */

enum { R_AGE, R_BYTES, R_DISK, R_N };
static const char *const reason_names[R_N] = {"retention", "max_bytes", "low_watermark"};
static uint64_t dropped_parts[R_N], dropped_bytes[R_N]; /* for /metrics */
static int64_t last_pass_mono, last_merge_mono;
static int disk_low, disk_critical;
/* below the low watermark with no part left to drop: passes go back to
 * janitor.interval_seconds, and the warning is logged once */
static int low_exhausted;
static uint64_t disk_avail, disk_total;

typedef struct {
	char id[33];
	char tenant[OW_TENANT_MAX + 1];
	int signal;
	int64_t max_time;
	uint64_t bytes;
	int drop; /* 1 + the reason, 0 to keep */
} cand_t;

typedef struct {
	ow_job_t job;
	cand_t *parts;
	size_t nparts, cap;
	char (*ids)[33];
	int n, dropped;
	int low; /* below the low watermark */
	uint64_t parts_by[R_N], bytes_by[R_N];
	ow_buf_t batches;
	char alert[1024];
	char err[600];
} pass_t;

static int collect(void *arg, const char *tenant, int signal, const ow_part_t *p)
{
	pass_t *ps = arg;
	if (ps->nparts == ps->cap) {
		ps->cap = ps->cap ? ps->cap * 2 : 256;
		ps->parts = ow_realloc(ps->parts, ps->cap * sizeof(cand_t));
	}
	cand_t *c = &ps->parts[ps->nparts++];
	memset(c, 0, sizeof(*c));
	snprintf(c->id, sizeof(c->id), "%s", p->id);
	snprintf(c->tenant, sizeof(c->tenant), "%s", tenant);
	c->signal = signal;
	c->max_time = p->max_time;
	c->bytes = p->bytes;
	return OW_OK;
}

/* By tenant, then oldest first. */
static int cand_cmp(const void *a, const void *b)
{
	const cand_t *x = a, *y = b;
	int c = strcmp(x->tenant, y->tenant);
	if (c)
		return c;
	return x->max_time < y->max_time ? -1 : x->max_time > y->max_time;
}

static void mark(pass_t *ps, cand_t *c, int reason)
{
	c->drop = reason + 1;
	ps->parts_by[reason]++;
	ps->bytes_by[reason] += c->bytes;
}

/* The end of the run of tenant parts[i] in the sorted parts. */
static size_t tenant_end(const pass_t *ps, size_t i)
{
	size_t j = i;
	while (j < ps->nparts && strcmp(ps->parts[j].tenant, ps->parts[i].tenant) == 0)
		j++;
	return j;
}

static uint64_t kept_bytes(const pass_t *ps, size_t i, size_t j)
{
	uint64_t sum = 0;
	for (size_t k = i; k < j; k++)
		if (!ps->parts[k].drop)
			sum += ps->parts[k].bytes;
	return sum;
}

/* Below the low watermark: the oldest part of the tenant holding the most
 * bytes, one at a time, until what they free would bring free disk back
 * to the watermark. */
static void choose_for_disk(pass_t *ps, uint64_t avail, uint64_t total)
{
	uint64_t want = total / 100 * (uint64_t)low_pct, freed = 0;
	ow_buf_t who = {0};
	while (avail + freed < want) {
		size_t best_i = 0, best_j = 0;
		uint64_t best = 0;
		for (size_t i = 0, j; i < ps->nparts; i = j) {
			j = tenant_end(ps, i);
			uint64_t b = kept_bytes(ps, i, j);
			if (b > best) {
				best = b;
				best_i = i;
				best_j = j;
			}
		}
		if (best == 0)
			break; /* nothing left to drop */
		for (size_t k = best_i; k < best_j; k++)
			if (!ps->parts[k].drop) {
				mark(ps, &ps->parts[k], R_DISK);
				freed += ps->parts[k].bytes;
				if (strstr((const char *)(who.data ? who.data : (uint8_t *)""),
					   ps->parts[k].tenant) == NULL)
					ow_buf_printf(&who, "%s%s", who.len ? " " : "",
						      ps->parts[k].tenant);
				break;
			}
	}
	ow_buf_add(&who, "", 1);
	ps->low = 1;
	if (ps->parts_by[R_DISK])
		snprintf(ps->alert, sizeof(ps->alert),
			 "free disk %llu of %llu bytes is below storage.disk.low_watermark_percent "
			 "(%lld%%): dropping %llu parts (%llu bytes), the oldest of the tenants "
			 "holding the most: %s",
			 (unsigned long long)avail, (unsigned long long)total, (long long)low_pct,
			 (unsigned long long)ps->parts_by[R_DISK], (unsigned long long)freed,
			 (const char *)who.data);
	ow_buf_free(&who);
}

static void pass_work(ow_job_t *job)
{
	pass_t *ps = (pass_t *)job;
	ow_catalog_t *cat = ow_catalog_server();
	if (ow_catalog_list(cat, NULL, collect, ps, ps->err, sizeof(ps->err)) != OW_OK)
		return;
	if (ps->nparts)
		qsort(ps->parts, ps->nparts, sizeof(cand_t), cand_cmp);
	int64_t now = ow_now_ns();
	for (size_t i = 0; i < ps->nparts; i++) {
		cand_t *c = &ps->parts[i];
		int64_t keep = retention_ns(c->tenant, c->signal);
		if (keep > 0 && c->max_time < now - keep)
			mark(ps, c, R_AGE);
	}
	for (size_t i = 0, j; i < ps->nparts; i = j) {
		j = tenant_end(ps, i);
		const rule_t *r = rule_for(byte_rules, nbytes, ps->parts[i].tenant, ANY);
		uint64_t sum = kept_bytes(ps, i, j);
		for (size_t k = i; r && k < j && sum > (uint64_t)r->value; k++)
			if (!ps->parts[k].drop) {
				sum -= ps->parts[k].bytes;
				mark(ps, &ps->parts[k], R_BYTES);
			}
	}
	uint64_t avail, total;
	/* parts dropped before whose files a reader still holds (the
	 * indexer's queue, a query) count as freed: else each pass would drop
	 * the next part, and the next, until those files went */
	if (low_pct && ow_io_disk_space(ow_data_dir, &avail, &total) == OW_OK &&
	    (avail += ow_storage_unlink_pending()) < total / 100 * (uint64_t)low_pct)
		choose_for_disk(ps, avail, total);
	ps->ids = ow_alloc((ps->nparts ? ps->nparts : 1) * sizeof(*ps->ids));
	for (size_t i = 0; i < ps->nparts; i++)
		if (ps->parts[i].drop)
			memcpy(ps->ids[ps->n++], ps->parts[i].id, 33);
	if (ps->n && ow_catalog_drop(cat, ps->ids, ps->n, &ps->batches, &ps->dropped, ps->err,
				     sizeof(ps->err)) != OW_OK)
		ps->n = 0;
	ow_buf_add(&ps->batches, "", 1);
}

static void pass_done(ow_job_t *j)
{
	pass_t *ps = (pass_t *)j;
	running = 0;
	if (ps->err[0]) {
		ow_log(OW_LOG_ERROR, "janitor: retention: %s", ps->err);
	} else if (ps->n) {
		/* committed: out of the readers' list, the files with the last
		 * query that holds them */
		ow_storage_drop_parts(ps->ids, ps->n);
		if (ps->batches.len > 1)
			ow_tracker_complete((const char *)ps->batches.data);
		for (int r = 0; r < R_N; r++) {
			dropped_parts[r] += ps->parts_by[r];
			dropped_bytes[r] += ps->bytes_by[r];
			if (ps->parts_by[r])
				ow_log(OW_LOG_INFO, "janitor: dropped %llu parts (%llu bytes): %s",
				       (unsigned long long)ps->parts_by[r],
				       (unsigned long long)ps->bytes_by[r], reason_names[r]);
		}
	}
	if (ps->alert[0] && !ps->err[0]) {
		ow_log(OW_LOG_WARN, "janitor: %s", ps->alert);
		ow_tracker_alert("disk_low_watermark", NULL, ps->alert);
	} else if (ps->low && !ps->err[0] && !low_exhausted) {
		ow_log(OW_LOG_WARN,
		       "janitor: free disk is below storage.disk.low_watermark_percent (%lld%%) "
		       "and no part is left to drop",
		       (long long)low_pct);
	}
	low_exhausted = ps->low && !ps->parts_by[R_DISK] && !ps->err[0];
	/* the batches the indexer finished, and the stuck ones */
	ow_tracker_complete(NULL);
	ow_tracker_stuck_pass();
	free(ps->parts);
	free(ps->ids);
	ow_buf_free(&ps->batches);
	free(ps);
}

/* One job of the janitor's on a worker (job: the first member of a
 * zeroed pass_t or merge_t); nonzero when it was taken. */
static int submit(ow_job_t *job, void (*work)(ow_job_t *), void (*done)(ow_job_t *))
{
	job->work = work;
	job->done = done;
	if (ow_work_submit(job) != OW_OK) {
		free(job);
		return 0;
	}
	running = 1;
	return 1;
}

/* Free disk against the watermarks, on every tick: below the critical one
 * sources answer 503; below the low one a retention pass is due. statvfs
 * can wait on a slow disk: it runs on the disk thread (disk_t, core/io.h),
 * and the loop applies what it measured (measured: OW_OK, or the error). */
static void apply_disk(int measured, uint64_t avail, uint64_t total)
{
	if ((low_pct == 0 && critical_pct == 0) || measured != OW_OK) {
		disk_low = 0;
		if (disk_critical)
			ow_storage_set_disk_critical(0);
		disk_critical = 0;
		return;
	}
	disk_avail = avail;
	disk_total = total;
	/* a pass is due while low, counting what dropped parts will free */
	disk_low = low_pct && avail + ow_storage_unlink_pending() < total / 100 * (uint64_t)low_pct;
	if (!disk_low)
		low_exhausted = 0;
	int crit = critical_pct && avail < total / 100 * (uint64_t)critical_pct;
	if (crit != disk_critical) {
		char msg[256];
		snprintf(
		    msg, sizeof(msg),
		    "free disk %llu of %llu bytes is %s storage.disk.critical_watermark_percent "
		    "(%lld%%): ingest %s",
		    (unsigned long long)avail, (unsigned long long)total,
		    crit ? "below" : "back above", (long long)critical_pct,
		    crit ? "answers 503" : "resumes");
		ow_log(crit ? OW_LOG_WARN : OW_LOG_INFO, "janitor: %s", msg);
		if (crit)
			ow_tracker_alert("disk_critical_watermark", NULL, msg);
		disk_critical = crit;
		ow_storage_set_disk_critical(crit);
	}
}

/* A pass or a merge when one is due and none runs. While the disk is low
 * passes come every tick until one drops nothing; a merge that is due
 * goes between two of them, not behind them all. */
static void next_job(void)
{
	if (running || draining)
		return;
	int64_t now = ow_mono_ns();
	int merge_due = now - last_merge_mono >= check_ms * 1000000;
	int last_pass = last_pass_mono >= last_merge_mono; /* the last job a pass */
	if (last_pass_mono == 0 || (disk_low && !low_exhausted && !(merge_due && last_pass)) ||
	    now - last_pass_mono >= interval_s * 1000000000LL) {
		if (submit(ow_calloc(1, sizeof(pass_t)), pass_work, pass_done))
			last_pass_mono = now;
	} else if (merge_due) {
		if (submit(ow_calloc(1, sizeof(merge_t)), merge_work, merge_done))
			last_merge_mono = now;
	}
}

typedef struct {
	ow_job_t job;
	int rc;
	uint64_t avail, total;
} disk_t;
static int measuring; /* a disk_t is out */

static void disk_work(ow_job_t *j)
{
	disk_t *d = (disk_t *)j;
	d->rc = ow_io_disk_space(ow_data_dir, &d->avail, &d->total);
}

static void disk_done(ow_job_t *j)
{
	disk_t *d = (disk_t *)j;
	measuring = 0;
	apply_disk(d->rc, d->avail, d->total);
	free(d);
	next_job();
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	OW_UNUSED(fd);
	OW_UNUSED(what);
	OW_UNUSED(arg);
	if (draining)
		return;
	if (measuring) { /* a slow disk: the last measure stands */
		next_job();
		return;
	}
	if (low_pct == 0 && critical_pct == 0) {
		apply_disk(OW_ERROR, 0, 0);
		next_job();
		return;
	}
	disk_t *d = ow_calloc(1, sizeof(*d));
	d->job.work = disk_work;
	d->job.done = disk_done;
	measuring = 1;
	ow_io_submit_first(&d->job); /* not behind the unlinks it measures */
}

static int janitor_init(struct event_base *base)
{
	uint64_t avail = 0, total = 0; /* before the sources start */
	int measured = ow_io_disk_space(ow_data_dir, &avail, &total);
	apply_disk(measured, avail, total);
	last_merge_mono = ow_mono_ns(); /* the first merge one check_interval_ms after start */
	tick_ev = event_new(base, -1, EV_PERSIST, on_tick, NULL);
	/* the ticks that merge also measure the disk and start the retention
	 * passes: at least once a second, so a pass is never late by more */
	int64_t ms = OW_MIN(check_ms, 1000);
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000 * 1000)};
	event_add(tick_ev, &tv);
	return OW_OK;
}

static void janitor_drain(void)
{
	draining = 1;
}

static int janitor_busy(void)
{
	return running || measuring;
}

static void janitor_stop(void)
{
	if (tick_ev)
		event_free(tick_ev);
	tick_ev = NULL;
}

static void janitor_stats(ow_buf_t *b)
{
	ow_metric_one(b, "openwit_parts_merged_total", "counter",
		      "Active parts merged into stable parts.", parts_merged);
	static const char *const m[2][2] = {
	    {"openwit_parts_dropped_total", "Parts dropped by the janitor, by reason."},
	    {"openwit_parts_dropped_bytes_total", "Bytes of the parts dropped, by reason."}};
	for (int k = 0; k < 2; k++) {
		ow_metric_head(b, m[k][0], "counter", m[k][1]);
		for (int r = 0; r < R_N; r++)
			ow_buf_printf(
			    b, "%s{reason=\"%s\"} %llu\n", m[k][0], reason_names[r],
			    (unsigned long long)(k ? dropped_bytes[r] : dropped_parts[r]));
	}
	ow_metric_one(b, "openwit_disk_free_bytes", "gauge",
		      "Free disk under the data directory, at the janitor's last tick.",
		      disk_avail);
	ow_metric_one(b, "openwit_disk_size_bytes", "gauge",
		      "Size of the filesystem of the data directory.", disk_total);
	ow_metric_one(b, "openwit_disk_critical", "gauge",
		      "1 while free disk is below storage.disk.critical_watermark_percent.",
		      (uint64_t)disk_critical);
}

ow_module_t ow_janitor_module = {
    .name = "janitor",
    .directives = directives,
    .check = janitor_check,
    .init = janitor_init,
    .drain = janitor_drain,
    .busy = janitor_busy,
    .stop = janitor_stop,
    .stats = janitor_stats,
};

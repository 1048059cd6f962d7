/*
 * index.c - see index.h. The full-text index of each committed part, a
 * sidecar file this module owns:
 *
 *   data/index/{part id}.idx
 *
 * What it covers: the tokens (index.h) of the text columns searched for
 * words - spans' name, status_message, events (names and messages) and
 * attributes (values, and keys with them); logs' body and attributes -
 * as SQL reads them (a part of format 1, whose JSON is converted as it is
 * read, has those of its JSON columns left out: they are scanned).
 *
 * Its structure is postings: for each column, its sorted tokens, each
 * with the blocks (runs of index.block_rows rows of a row group, 8192 by
 * default: a page of log records, a quarter of one of spans) of the values that hold
 * it. Measured against per-block token blooms (VictoriaLogs' way) on the
 * bench's logs (README, "The index"): postings are exact (no false
 * positive keeps a block), answer a LIKE '%word%' whose word is part of a
 * token (a prefix, suffix or substring: the sorted dictionary is walked),
 * which a bloom cannot, and cost little more for the few distinct tokens
 * of machine-written logs.
 *
 * Why a sidecar file named by the part id, and not a key-value in the
 * Parquet footer or a catalog column: a part is immutable and written
 * before ingest acknowledges, and the index is built after its commit,
 * off that path; the file is the whole truth (its checksum says whether it
 * is usable), so there is no row in openwit.db that could disagree with
 * it, and no schema migration.
 *
 * The file: "OWIDX001", block_rows, row groups, columns, blocks (u32
 * each), each row group's rows (u32), then per column its schema index,
 * token count and the offset of its token directory (u32 offsets, one per
 * token and the end, into the entries); the entries (varint length, bytes,
 * varint block count, the blocks as varint deltas); CRC-32C of all that
 * and "OWIX". Little-endian.
 *
 * The stage: the storage's part hook hands each committed part (at start,
 * every listed one) to the "index" queue; one part at a time goes to the
 * "indexer" pool's thread (nice 10: a class of work of its own, never in
 * front of ingest or queries), which loads its file when the file is
 * whole, and builds it from the part otherwise (written under a temporary
 * name, synced and renamed). A part whose file fails is retried 3 times
 * (1, 2, 4 s apart), each failure recorded on its batches' tracker rows
 * (error_stage "index", error_message, retry_count), then left to be
 * scanned. Once a part has its index, each of its batches whose every
 * part (catalog.h: batch_parts; a merged part replaces those it merged)
 * has one gets index_pip and index_completed_at.
 *
 * Every index.check_interval_seconds the files of the loaded indexes are
 * looked at (stat, on the pool's thread): one deleted, or whose size or mtime changed, is read
 * again and rebuilt when its checksum fails. Queries use the index loaded
 * in memory meanwhile: it was checked when loaded, and the part it
 * describes never changes. The postings in memory are bounded by
 * index.max_memory_bytes: past it the least recently used that no query
 * holds are dropped (a part's blocks stay), and read again from the file,
 * checksum checked, by the next query that holds them (ow_index_hold); one
 * that cannot be read whole leaves the part scanned meanwhile. A part's index goes with the part (a
 * merge, a drop: its last reference), and at start the files of parts the catalog no longer lists
 * are removed.
 *
 * Invariant: the index only ever rules out blocks where no value has the
 * token; a part without one is read whole. It never changes an answer.
 */
#include "index.h"
#include "../catalog/catalog.h"
#include "../columns/columns.h"
#include "../core/crc32c.h"
#include "../core/io.h"
#include "../core/log.h"
#include "../core/queue.h"
#include "../core/stats.h"
#include "../core/worker.h"
#include "../parquet/parquet.h"
#include "../tracker/tracker.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_TRIES 3

static int enabled;
static int64_t check_interval, block_rows, max_memory;

/* index.block_rows: 8192 divides the writer's pages (32768 rows for spans;
 * 8192 for log records and metric points), unless a page is cut early at
 * ~1 MiB of values. */
static ow_directive_t directives[] = {
    {"index.enabled", OW_CONF_BOOL, &enabled, 0, 1, "true", NULL, 0},
    {"index.block_rows", OW_CONF_INT, &block_rows, 16, 1 << 24, "8192", NULL, 0},
    {"index.check_interval_seconds", OW_CONF_INT, &check_interval, 1, 86400, "60", NULL, 0},
    {"index.max_memory_bytes", OW_CONF_INT, &max_memory, 4096, (int64_t)1 << 40, "268435456", NULL,
     0},
    OW_CONF_END};

/* ---- the tokenizer ---- */

size_t ow_index_tokens(const uint8_t *s, size_t n, ow_buf_t *out, ow_buf_t *ends)
{
	size_t k = 0, at = 0, i, j;
	out->len = ends->len = 0;
	for (; ow_index_next(s, n, &at, &i, &j); k++) {
		ow_buf_reserve(out, j - i);
		for (size_t m = i; m < j; m++)
			out->data[out->len++] = ow_index_fold(s[m]);
		uint32_t e = (uint32_t)out->len;
		ow_buf_add(ends, &e, 4);
	}
	return k;
}

/* 1 when text has the token t (m bytes, lower-cased) as a whole token;
 * -1 when stopped says so first. */
static int has_token(const uint8_t *s, size_t n, const uint8_t *t, size_t m, int (*stopped)(void))
{
	size_t at = 0, i, j;
	for (size_t seen = 1; ow_index_next(s, n, &at, &i, &j); seen++) {
		size_t k = 0;
		while (j - i == m && k < m && ow_index_fold(s[i + k]) == t[k])
			k++;
		if (j - i == m && k == m)
			return 1;
		if (stopped && (seen & 63) == 0 && stopped())
			return -1;
	}
	return 0;
}

int ow_index_match(const uint8_t *text, size_t n, const uint8_t *toks, const uint32_t *ends,
		   size_t ntok, int (*stopped)(void))
{
	for (size_t k = 0; k < ntok; k++) {
		uint32_t from = k ? ends[k - 1] : 0;
		int m = has_token(text, n, toks + from, ends[k] - from, stopped);
		if (m != 1)
			return m;
	}
	return 1;
}

/* ---- what is indexed ---- */

static const char *const indexed_cols[OW_NSIGNALS][5] = {
    [OW_TRACES] = {"name", "status_message", "events", "attributes", NULL},
    [OW_LOGS] = {"body", "attributes", NULL},
};

/* ---- the loaded index ---- */

typedef struct {
	uint32_t col, ntok;
	const uint8_t *dir; /* ntok + 1 u32 offsets into ent */
	const uint8_t *ent;
} icol_t;

/* A part's index: its blocks, kept while the part lives, and its
 * postings (the file's bytes), in memory while they fit in
 * index.max_memory_bytes with the others: past it the least recently used
 * of those no query holds are dropped (evicted), and read again from the
 * file when a query next holds them (ow_index_hold). lru_mu guards data,
 * cols, len, pins and the list. */
struct ow_index {
	uint8_t *data; /* the file; NULL: evicted */
	size_t len;
	uint32_t block_rows, nrg, ncols, nblocks;
	uint32_t *rg_block; /* each row group's first block */
	icol_t *cols;
	off_t size; /* what stat said when it was loaded */
	int64_t mtime_ns;
	char *path;			/* its file */
	uint64_t rows;			/* its part's */
	int pins;			/* queries holding its postings */
	struct ow_index *newer, *older; /* the in-memory ones, by last use */
};
static pthread_mutex_t lru_mu = PTHREAD_MUTEX_INITIALIZER;
static ow_index_t *newest, *oldest;
static uint64_t resident; /* bytes of postings in memory (lru_mu) */

static const char magic[8] = {'O', 'W', 'I', 'D', 'X', '0', '0', '1'};

static void index_free(ow_index_t *ix)
{
	if (!ix)
		return;
	free(ix->data);
	free(ix->rg_block);
	free(ix->cols);
	free(ix->path);
	free(ix);
}

static int varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; *p < end && shift < 64; shift += 7) {
		uint8_t b = *(*p)++;
		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return 1;
	}
	return 0;
}

static void put_varint(ow_buf_t *b, uint64_t v)
{
	uint8_t t[10];
	size_t n = 0;
	do {
		t[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			t[n] |= 0x80;
		n++;
	} while (v);
	ow_buf_add(b, t, n);
}

/* data (len bytes, taken) as an index of a part of rows rows; NULL with
 * err when it is not whole. Every offset is checked here: lookups trust
 * them. */
static ow_index_t *index_parse(uint8_t *data, size_t len, uint64_t rows, char *err, size_t errlen)
{
	ow_index_t *ix = ow_calloc(1, sizeof(*ix));
	ix->data = data;
	ix->len = len;
	if (len < 24 + 8 || memcmp(data, magic, 8) != 0 || memcmp(data + len - 4, "OWIX", 4)) {
		snprintf(err, errlen, "not an index file");
		goto bad;
	}
	if (ow_crc32c(0, data, len - 8) != ow_get_u32(data + len - 8)) {
		snprintf(err, errlen, "checksum mismatch");
		goto bad;
	}
	size_t body = len - 8;
	ix->block_rows = ow_get_u32(data + 8);
	ix->nrg = ow_get_u32(data + 12);
	ix->ncols = ow_get_u32(data + 16);
	ix->nblocks = ow_get_u32(data + 20);
	size_t at = 24;
	if (ix->block_rows == 0 || ix->nrg > body / 4 || ix->ncols > 64 ||
	    at + 4 * (size_t)ix->nrg + 12 * (size_t)ix->ncols > body) {
		snprintf(err, errlen, "bad header");
		goto bad;
	}
	ix->rg_block = ow_alloc(((size_t)ix->nrg + 1) * 4);
	uint64_t total = 0, blocks = 0;
	for (uint32_t g = 0; g < ix->nrg; g++, at += 4) {
		uint32_t r = ow_get_u32(data + at);
		ix->rg_block[g] = (uint32_t)blocks;
		total += r;
		blocks += (r + ix->block_rows - 1) / ix->block_rows;
	}
	ix->rg_block[ix->nrg] = (uint32_t)blocks;
	if (total != rows || blocks != ix->nblocks) {
		snprintf(err, errlen, "holds %llu rows, its part %llu", (unsigned long long)total,
			 (unsigned long long)rows);
		goto bad;
	}
	ix->cols = ow_calloc(ix->ncols + 1, sizeof(icol_t));
	for (uint32_t c = 0; c < ix->ncols; c++, at += 12) {
		icol_t *ic = &ix->cols[c];
		ic->col = ow_get_u32(data + at);
		ic->ntok = ow_get_u32(data + at + 4);
		uint32_t dir = ow_get_u32(data + at + 8);
		if (dir > body || ((size_t)ic->ntok + 1) * 4 > body - dir) {
			snprintf(err, errlen, "bad column directory");
			goto bad;
		}
		ic->dir = data + dir;
		ic->ent = ic->dir + ((size_t)ic->ntok + 1) * 4;
		size_t room = (size_t)(data + body - ic->ent);
		for (uint32_t t = 0; t <= ic->ntok; t++) {
			uint32_t o = ow_get_u32(ic->dir + 4 * t);
			if (o > room || (t && o < ow_get_u32(ic->dir + 4 * (t - 1)))) {
				snprintf(err, errlen, "bad token offset");
				goto bad;
			}
		}
		/* each entry: its length and bytes, then blocks below nblocks */
		for (uint32_t t = 0; t < ic->ntok; t++) {
			const uint8_t *p = ic->ent + ow_get_u32(ic->dir + 4 * t);
			const uint8_t *e = ic->ent + ow_get_u32(ic->dir + 4 * (t + 1));
			uint64_t n, np, b = 0, d;
			if (!varint(&p, e, &n) || n > (uint64_t)(e - p)) {
				snprintf(err, errlen, "bad token");
				goto bad;
			}
			p += n;
			if (!varint(&p, e, &np)) {
				snprintf(err, errlen, "bad postings");
				goto bad;
			}
			for (uint64_t k = 0; k < np; k++) {
				if (!varint(&p, e, &d) || (b += d) >= ix->nblocks) {
					snprintf(err, errlen, "bad postings");
					goto bad;
				}
			}
		}
	}
	return ix;
bad:
	index_free(ix);
	return NULL;
}

const ow_index_t *ow_index_of(const ow_partref_t *p)
{
	return p ? atomic_load(&((ow_partref_t *)p)->index) : NULL;
}

size_t ow_index_nblocks(const ow_index_t *ix)
{
	return ix->nblocks;
}

size_t ow_index_block_rows(const ow_index_t *ix)
{
	return ix->block_rows;
}

size_t ow_index_rg_block(const ow_index_t *ix, int rg)
{
	return rg >= 0 && (uint32_t)rg <= ix->nrg ? ix->rg_block[rg] : ix->nblocks;
}

/* Token t of ic: its bytes and length; p past them (the postings). */
static const uint8_t *token_at(const icol_t *ic, uint32_t t, size_t *n, const uint8_t **post)
{
	const uint8_t *p = ic->ent + ow_get_u32(ic->dir + 4 * t);
	uint64_t len;
	varint(&p, p + 10, &len);
	*n = (size_t)len;
	*post = p + len;
	return p;
}

static void add_postings(const uint8_t *p, uint8_t *hit)
{
	uint64_t np, b = 0, d;
	varint(&p, p + 10, &np);
	for (uint64_t k = 0; k < np; k++) {
		varint(&p, p + 10, &d);
		hit[b += d] = 1;
	}
}

static int tok_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	int r = memcmp(a, b, OW_MIN(an, bn));
	return r ? r : (an > bn) - (an < bn);
}

/* The first token of ic not before tok (n bytes). */
static uint32_t lower_bound(const icol_t *ic, const uint8_t *tok, size_t n)
{
	uint32_t lo = 0, hi = ic->ntok;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		size_t m;
		const uint8_t *post, *t = token_at(ic, mid, &m, &post);
		if (tok_cmp(t, m, tok, n) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int ow_index_narrow(const ow_index_t *ix, int col, const uint8_t *tok, size_t n, int kind,
		    uint8_t *may, int (*stopped)(void))
{
	const icol_t *ic = NULL;
	for (uint32_t c = 0; c < ix->ncols; c++)
		if (ix->cols[c].col == (uint32_t)col)
			ic = &ix->cols[c];
	if (!ic)
		return 0;
	uint8_t *hit = ow_calloc(ix->nblocks + 1, 1);
	size_t m;
	const uint8_t *post, *t;
	/* the token itself first (a part of a longer one is also the whole
	 * of itself): when it is in every block that may still match, the
	 * walk through the dictionary below could not rule one out */
	uint32_t k = lower_bound(ic, tok, n);
	for (; k < ic->ntok; k++) {
		t = token_at(ic, k, &m, &post);
		if (m < n || memcmp(t, tok, n) != 0 || (kind != OW_INDEX_PREFIX && m != n))
			break;
		add_postings(post, hit);
	}
	int left = 0;
	for (uint32_t b = 0; b < ix->nblocks; b++)
		left += may[b] && !hit[b];
	for (k = 0; left && (kind == OW_INDEX_SUFFIX || kind == OW_INDEX_INSIDE) && k < ic->ntok;
	     k++) {
		if (stopped && (k & 63) == 0 && stopped()) {
			free(hit); /* the walk left halfway: may as it was */
			return 0;
		}
		t = token_at(ic, k, &m, &post);
		if (m <= n)
			continue;
		if (kind == OW_INDEX_SUFFIX ? memcmp(t + m - n, tok, n) == 0
					    : memmem(t, m, tok, n) != NULL)
			add_postings(post, hit);
	}
	for (uint32_t b = 0; b < ix->nblocks; b++)
		may[b] &= hit[b];
	free(hit);
	return 1;
}

/* ---- building ---- */

/* A token being collected: its bytes in the arena, its blocks a chain of
 * links (block, next), the last one added. */
typedef struct {
	uint32_t off, len, head, tail, last, n;
} btok_t;

typedef struct {
	ow_buf_t arena;
	btok_t *toks;
	size_t ntoks, cap;
	uint32_t *slots; /* open addressing: token index + 1, 0 empty */
	size_t nslots;
	uint32_t *links; /* pairs: block, next link + 1 */
	size_t nlinks, caplinks;
} bcol_t;

static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

static void bcol_grow(bcol_t *b)
{
	size_t ns = b->nslots ? b->nslots * 2 : 1024;
	uint32_t *s = ow_calloc(ns, 4);
	for (size_t i = 0; i < b->ntoks; i++) {
		btok_t *t = &b->toks[i];
		size_t h = hash_bytes(b->arena.data + t->off, t->len) & (ns - 1);
		while (s[h])
			h = (h + 1) & (ns - 1);
		s[h] = (uint32_t)i + 1;
	}
	free(b->slots);
	b->slots = s;
	b->nslots = ns;
}

static void bcol_add(bcol_t *b, const uint8_t *tok, size_t n, uint32_t block)
{
	if (2 * (b->ntoks + 1) > b->nslots)
		bcol_grow(b);
	size_t h = hash_bytes(tok, n) & (b->nslots - 1);
	btok_t *t = NULL;
	for (; b->slots[h]; h = (h + 1) & (b->nslots - 1)) {
		btok_t *x = &b->toks[b->slots[h] - 1];
		if (x->len == n && memcmp(b->arena.data + x->off, tok, n) == 0) {
			t = x;
			break;
		}
	}
	if (!t) {
		if (b->ntoks == b->cap) {
			b->cap = b->cap ? 2 * b->cap : 1024;
			b->toks = ow_realloc(b->toks, b->cap * sizeof(*b->toks));
		}
		t = &b->toks[b->ntoks++];
		*t = (btok_t){(uint32_t)b->arena.len, (uint32_t)n, 0, 0, UINT32_MAX, 0};
		ow_buf_add(&b->arena, tok, n);
		b->slots[h] = (uint32_t)b->ntoks;
	} else if (t->last == block) {
		return;
	}
	if (b->nlinks == b->caplinks) {
		b->caplinks = b->caplinks ? 2 * b->caplinks : 4096;
		b->links = ow_realloc(b->links, b->caplinks * 2 * sizeof(uint32_t));
	}
	uint32_t l = (uint32_t)b->nlinks++;
	b->links[2 * l] = block;
	b->links[2 * l + 1] = 0;
	if (t->n)
		b->links[2 * (t->tail - 1) + 1] = l + 1;
	else
		t->head = l + 1;
	t->tail = l + 1;
	t->last = block;
	t->n++;
}

static void bcol_free(bcol_t *b)
{
	ow_buf_free(&b->arena);
	free(b->toks);
	free(b->slots);
	free(b->links);
}

static const uint8_t *sort_arena;

static int btok_cmp(const void *x, const void *y)
{
	const btok_t *a = x, *b = y;
	return tok_cmp(sort_arena + a->off, a->len, sort_arena + b->off, b->len);
}

/* The index file's bytes for the part open in pq (of signal's schema). */
static int index_build(ow_pq_file_t *pq, int signal, ow_buf_t *out, char *err, size_t errlen)
{
	const ow_pq_coldef_t *defs = ow_columns_schema(signal);
	int ncols = ow_columns_ncols(signal), nrg = ow_pq_num_row_groups(pq);
	int v1 = ow_pq_find_column(pq, OW_COLUMNS_EXACT) < 0;
	int cols[8], nc = 0;
	for (int k = 0; indexed_cols[signal][k]; k++)
		for (int c = 0; c < ncols; c++)
			if (strcmp(defs[c].name, indexed_cols[signal][k]) == 0 &&
			    ow_pq_find_column(pq, defs[c].name) >= 0 &&
			    !(v1 && ow_columns_v1_differs(signal, c)))
				cols[nc++] = c;
	uint32_t nblocks = 0;
	uint32_t *first = ow_alloc(((size_t)nrg + 1) * 4);
	for (int g = 0; g < nrg; g++) {
		first[g] = nblocks;
		nblocks += (uint32_t)((ow_pq_row_group_rows(pq, g) + (uint32_t)block_rows - 1) /
				      (uint32_t)block_rows);
	}
	out->len = 0;
	ow_buf_reserve(out, 24);
	memcpy(out->data, magic, 8);
	ow_put_u32(out->data + 8, (uint32_t)block_rows);
	ow_put_u32(out->data + 12, (uint32_t)nrg);
	ow_put_u32(out->data + 16, (uint32_t)nc);
	ow_put_u32(out->data + 20, nblocks);
	out->len = 24;
	for (int g = 0; g < nrg; g++) {
		uint8_t r[4];
		ow_put_u32(r, (uint32_t)ow_pq_row_group_rows(pq, g));
		ow_buf_add(out, r, 4);
	}
	size_t dirs = out->len;
	ow_buf_reserve(out, 12 * (size_t)nc);
	memset(out->data + out->len, 0, 12 * (size_t)nc);
	out->len += 12 * (size_t)nc;
	int rc = OW_OK;
	ow_col_t o = {0};
	ow_buf_t toks = {0}, ends = {0}, ent = {0};
	for (int k = 0; k < nc && rc == OW_OK; k++) {
		int c = cols[k], fc = ow_pq_find_column(pq, defs[c].name);
		bcol_t b = {0};
		/* a shredded column is indexed whole, as queries read it */
		ow_shred_cols_t sc;
		int shredded = ow_shred_find(pq, signal, c, &sc);
		for (int g = 0; g < nrg && rc == OW_OK; g++) {
			ow_col_clear(&o);
			if ((shredded ? ow_shred_read(pq, &sc, g, NULL, 0, &o, NULL, err, errlen)
				      : ow_pq_read_column(pq, g, fc, &o, err, errlen)) != OW_OK) {
				rc = OW_ERROR;
				break;
			}
			const uint8_t *dv = o.defs.data;
			for (size_t row = 0, v = 0; row < o.nrows; row++) {
				if (dv && !dv[row])
					continue;
				size_t n;
				const uint8_t *s = ow_col_bytes_at(&o, v++, &n);
				size_t nt = ow_index_tokens(s, n, &toks, &ends);
				const uint32_t *e = (const uint32_t *)ends.data;
				for (size_t t = 0; t < nt; t++) {
					uint32_t from = t ? e[t - 1] : 0;
					bcol_add(&b, toks.data + from, e[t] - from,
						 first[g] + (uint32_t)(row / (size_t)block_rows));
				}
			}
		}
		ow_shred_cols_free(&sc);
		if (rc == OW_OK) {
			sort_arena = b.arena.data;
			if (b.ntoks)
				qsort(b.toks, b.ntoks, sizeof(btok_t), btok_cmp);
			/* the directory, then the entries */
			ow_put_u32(out->data + dirs + 12 * (size_t)k, (uint32_t)c);
			ow_put_u32(out->data + dirs + 12 * (size_t)k + 4, (uint32_t)b.ntoks);
			ow_put_u32(out->data + dirs + 12 * (size_t)k + 8, (uint32_t)out->len);
			ent.len = 0;
			size_t dir = out->len;
			ow_buf_reserve(out, (b.ntoks + 1) * 4);
			out->len += (b.ntoks + 1) * 4;
			for (size_t t = 0; t < b.ntoks; t++) {
				btok_t *x = &b.toks[t];
				ow_put_u32(out->data + dir + 4 * t, (uint32_t)ent.len);
				put_varint(&ent, x->len);
				ow_buf_add(&ent, b.arena.data + x->off, x->len);
				put_varint(&ent, x->n);
				uint32_t prev = 0;
				for (uint32_t l = x->head; l; l = b.links[2 * (l - 1) + 1]) {
					put_varint(&ent, b.links[2 * (l - 1)] - prev);
					prev = b.links[2 * (l - 1)];
				}
			}
			ow_put_u32(out->data + dir + 4 * b.ntoks, (uint32_t)ent.len);
			ow_buf_add(out, ent.data, ent.len);
		}
		bcol_free(&b);
	}
	ow_col_free(&o);
	ow_buf_free(&toks);
	ow_buf_free(&ends);
	ow_buf_free(&ent);
	free(first);
	if (rc != OW_OK)
		return rc;
	if (out->len > UINT32_MAX) {
		snprintf(err, errlen, "index of %zu bytes: past 4 GiB", out->len);
		return OW_ERROR;
	}
	uint8_t tail[8];
	ow_put_u32(tail, ow_crc32c(0, out->data, out->len));
	memcpy(tail + 4, "OWIX", 4);
	ow_buf_add(out, tail, 8);
	return OW_OK;
}

/* ---- the stage ---- */

typedef struct item {
	ow_job_t job;
	ow_partref_t *p; /* a reference of ours */
	int tries, check;
	int64_t since; /* entered the queue (ow_mono_ns) */
	int rc;
	atomic_int worked; /* its work ran: its done() is due on the loop */
	char err[512];
	struct item *next;
} item_t;

static char index_dir[4200];
static ow_queue_t index_q;
static ow_pool_t *pool;
static item_t *waiting, **waiting_tail = &waiting;
static item_t *running;
static struct event *retry_ev, *check_ev;
static int stopping;

/* The ids of the parts whose index is loaded (the pool's thread writes
 * and reads it: a batch is indexed once all its parts are in it). */
static pthread_mutex_t ids_mu = PTHREAD_MUTEX_INITIALIZER;
static char (*ids)[33];
static size_t nids, capids;

/* its lines of /metrics: the pool's thread counts, the loop reads */
static struct {
	_Atomic uint64_t built, loaded, rebuilt, failed, bytes, rows, evicted, reread;
} stats;

/* ---- the postings in memory: at most index.max_memory_bytes ---- */

/* ix's postings in memory, the most recently used (lru_mu). */
static void lru_in(ow_index_t *ix)
{
	ix->older = newest;
	ix->newer = NULL;
	if (newest)
		newest->newer = ix;
	newest = ix;
	if (!oldest)
		oldest = ix;
	resident += ix->len;
	atomic_store(&stats.bytes, resident);
}

static void lru_out(ow_index_t *ix)
{
	if (ix->newer)
		ix->newer->older = ix->older;
	else
		newest = ix->older;
	if (ix->older)
		ix->older->newer = ix->newer;
	else
		oldest = ix->newer;
	ix->newer = ix->older = NULL;
	resident -= ix->len;
	atomic_store(&stats.bytes, resident);
}

/* Drops the postings least recently used, of those no query holds,
 * until the rest fit (lru_mu). */
static void lru_evict(void)
{
	for (ow_index_t *ix = oldest; ix && resident > (uint64_t)max_memory;) {
		ow_index_t *newer = ix->newer;
		if (ix->pins == 0) {
			lru_out(ix);
			free(ix->data);
			free(ix->cols);
			ix->data = NULL;
			ix->cols = NULL;
			atomic_fetch_add(&stats.evicted, 1);
		}
		ix = newer;
	}
}

static ow_index_t *index_load(uint64_t rows, const char *path, int *missing, char *err,
			      size_t errlen);

int ow_index_hold(const ow_index_t *cix)
{
	ow_index_t *ix = (ow_index_t *)cix;
	pthread_mutex_lock(&lru_mu);
	if (ix->data) {
		ix->pins++;
		lru_out(ix);
		lru_in(ix);
		pthread_mutex_unlock(&lru_mu);
		return OW_OK;
	}
	pthread_mutex_unlock(&lru_mu);
	/* evicted: read again, off the lock (a file the check finds damaged
	 * is rebuilt meanwhile; until then the part is scanned) */
	int missing;
	char err[256];
	ow_index_t *fresh = index_load(ix->rows, ix->path, &missing, err, sizeof(err));
	if (fresh && (fresh->nblocks != ix->nblocks || fresh->nrg != ix->nrg ||
		      fresh->block_rows != ix->block_rows)) {
		index_free(fresh);
		fresh = NULL;
	}
	if (!fresh)
		return OW_ERROR;
	pthread_mutex_lock(&lru_mu);
	if (!ix->data) { /* else another query read it first */
		ix->data = fresh->data;
		ix->len = fresh->len;
		ix->cols = fresh->cols;
		ix->ncols = fresh->ncols;
		fresh->data = NULL;
		fresh->cols = NULL;
		lru_in(ix);
		atomic_fetch_add(&stats.reread, 1);
	}
	ix->pins++;
	lru_evict();
	pthread_mutex_unlock(&lru_mu);
	index_free(fresh);
	return OW_OK;
}

void ow_index_release(const ow_index_t *cix)
{
	ow_index_t *ix = (ow_index_t *)cix;
	pthread_mutex_lock(&lru_mu);
	ix->pins--;
	lru_evict();
	pthread_mutex_unlock(&lru_mu);
}

static int id_indexed(const char *id)
{
	for (size_t i = 0; i < nids; i++)
		if (strcmp(ids[i], id) == 0)
			return 1;
	return 0;
}

static void id_add(const char *id)
{
	pthread_mutex_lock(&ids_mu);
	if (!id_indexed(id)) {
		if (nids == capids) {
			capids = capids ? 2 * capids : 64;
			ids = ow_realloc(ids, capids * sizeof(*ids));
		}
		snprintf(ids[nids++], 33, "%s", id);
	}
	pthread_mutex_unlock(&ids_mu);
}

static void id_remove(const char *id)
{
	pthread_mutex_lock(&ids_mu);
	for (size_t i = 0; i < nids; i++)
		if (strcmp(ids[i], id) == 0) {
			memcpy(ids[i], ids[--nids], 33);
			break;
		}
	pthread_mutex_unlock(&ids_mu);
}

static void file_of(const char *id, char *out, size_t len)
{
	snprintf(out, len, "%s/%s.idx", index_dir, id);
}

/* The part's last reference went: its index with it, and its file when
 * the part itself is gone (a merge replaced it). */
static void part_gone(ow_partref_t *p)
{
	ow_index_t *ix = atomic_load(&p->index);
	if (ix) {
		pthread_mutex_lock(&lru_mu);
		if (ix->data)
			lru_out(ix);
		pthread_mutex_unlock(&lru_mu);
		atomic_fetch_sub(&stats.rows, p->rows);
	}
	index_free(ix);
	if (p->removed) {
		char path[4400];
		file_of(p->id, path, sizeof(path));
		ow_io_unlink_later(OW_IO_PARQUET, path, NULL, 0);
		id_remove(p->id);
	}
}

static int mark_batch(void *arg, const char *batch_id, const char *part_ids)
{
	OW_UNUSED(arg);
	pthread_mutex_lock(&ids_mu);
	int all = 1;
	for (const char *s = part_ids; all && *s;) {
		const char *e = strchr(s, ',');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		char id[33];
		snprintf(id, sizeof(id), "%.*s", (int)OW_MIN(n, 32), s);
		all = id_indexed(id);
		s += n + (e != NULL);
	}
	pthread_mutex_unlock(&ids_mu);
	if (all)
		ow_tracker_batch_indexed(batch_id);
	return OW_OK;
}

static int fail_batch(void *arg, const char *batch_id, const char *part_ids)
{
	OW_UNUSED(part_ids);
	const item_t *it = arg;
	ow_tracker_batch_failed(batch_id, "index", it->err, it->tries + 1);
	return OW_OK;
}

/* The file at path, whole, as the index of a part of rows rows (NULL and
 * err when it is not). */
static ow_index_t *index_load(uint64_t rows, const char *path, int *missing, char *err,
			      size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	*missing = fd < 0 && errno == ENOENT;
	if (fd < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return NULL;
	}
	struct stat st;
	ow_index_t *ix = NULL;
	if (fstat(fd, &st) == 0 && st.st_size > 0) {
		uint8_t *data = ow_alloc((size_t)st.st_size);
		size_t got = 0;
		ssize_t r;
		while (got < (size_t)st.st_size &&
		       (r = read(fd, data + got, (size_t)st.st_size - got)) > 0)
			got += (size_t)r;
		if (got == (size_t)st.st_size) {
			ix = index_parse(data, got, rows, err, errlen);
		} else {
			snprintf(err, errlen, "short read");
			free(data);
		}
		if (ix) {
			ix->size = st.st_size;
			ix->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
		}
	} else {
		snprintf(err, errlen, "empty");
	}
	close(fd);
	return ix;
}

/* Builds p's index from its part file and writes it to path. */
static int index_write(const ow_partref_t *p, const char *path, char *err, size_t errlen)
{
	char part[4400], tmp[4500];
	snprintf(part, sizeof(part), "%s/%s", ow_data_dir, p->rel);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = open(part, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", p->rel, strerror(errno));
		return OW_ERROR;
	}
	struct stat st;
	void *map = MAP_FAILED;
	if (fstat(fd, &st) == 0 && st.st_size > 0)
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		snprintf(err, errlen, "cannot map %s: %s", p->rel, strerror(errno));
		return OW_ERROR;
	}
	ow_pq_file_t *pq = NULL;
	ow_buf_t out = {0};
	int rc = ow_pq_open(map, (size_t)st.st_size, &pq, err, errlen);
	if (rc == OW_OK)
		rc = index_build(pq, p->signal, &out, err, errlen);
	ow_pq_close(pq);
	munmap(map, (size_t)st.st_size);
	if (rc == OW_OK) {
		fd = ow_io_open(OW_IO_PARQUET, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		rc = fd >= 0 && ow_io_write_all(OW_IO_PARQUET, fd, out.data, out.len) == OW_OK &&
			     ow_io_fdatasync(OW_IO_PARQUET, fd) == OW_OK
			 ? OW_OK
			 : OW_ERROR;
		if (rc != OW_OK)
			snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		if (rc == OW_OK && ow_io_rename(OW_IO_PARQUET, tmp, path) != OW_OK) {
			snprintf(err, errlen, "cannot rename %s: %s", tmp, strerror(errno));
			rc = OW_ERROR;
		}
		if (rc != OW_OK)
			unlink(tmp);
		else
			ow_io_fsync_dir(OW_IO_PARQUET, index_dir);
	}
	ow_buf_free(&out);
	return rc;
}

/* On the pool's thread: the part's index loaded from its file, or built
 * (again) and loaded; then its batches. */
static void index_work(ow_job_t *j)
{
	item_t *it = (item_t *)j;
	ow_partref_t *p = it->p;
	char path[4400], why[256] = "";
	file_of(p->id, path, sizeof(path));
	it->rc = OW_OK;
	it->err[0] = '\0';
	atomic_store(&it->worked, 0);
	int missing;
	ow_index_t *ix = index_load(p->rows, path, &missing, why, sizeof(why));
	if (!ix) {
		/* not built yet is no news; anything else is */
		if (!missing || atomic_load(&p->index))
			ow_log(OW_LOG_WARN, "index: %s of part %s: %s; rebuilding", path, p->id,
			       why);
		if (index_write(p, path, it->err, sizeof(it->err)) != OW_OK ||
		    !(ix = index_load(p->rows, path, &missing, it->err, sizeof(it->err)))) {
			it->rc = OW_ERROR;
			char err[512];
			ow_catalog_batches_of(ow_catalog_server(), p->id, fail_batch, it, err,
					      sizeof(err));
			atomic_store(&it->worked, 1);
			return;
		}
		atomic_fetch_add(atomic_load(&p->index) ? &stats.rebuilt : &stats.built, 1);
	} else {
		atomic_fetch_add(&stats.loaded, 1);
	}
	ix->path = ow_strdup(path);
	ix->rows = p->rows;
	void *none = NULL;
	/* published and put in the list at once (lru_mu): a query holding
	 * it (ow_index_hold) must find it in the list if it has postings */
	pthread_mutex_lock(&lru_mu);
	int fresh = atomic_compare_exchange_strong(&p->index, &none, (void *)ix);
	if (fresh) {
		lru_in(ix);
		lru_evict();
	}
	pthread_mutex_unlock(&lru_mu);
	if (!fresh) {
		/* a rebuild: the index in use describes the same rows; the new
		 * file's stat is what the next check compares with (its
		 * postings, if evicted, are read from the new file) */
		ow_index_t *old = none;
		old->size = ix->size;
		old->mtime_ns = ix->mtime_ns;
		index_free(ix);
	} else {
		atomic_fetch_add(&stats.rows, p->rows);
	}
	id_add(p->id);
	char err[512];
	if (ow_catalog_batches_of(ow_catalog_server(), p->id, mark_batch, NULL, err, sizeof(err)) !=
	    OW_OK)
		ow_log(OW_LOG_ERROR, "index: batches of part %s: %s", p->id, err);
	atomic_store(&it->worked, 1);
}

static void start_next(void);

static void enqueue(ow_partref_t *p, int check)
{
	item_t *it = ow_calloc(1, sizeof(*it));
	ow_storage_part_ref(p);
	it->p = p;
	it->check = check;
	it->since = ow_mono_ns();
	it->job.work = index_work;
	*waiting_tail = it;
	waiting_tail = &it->next;
	ow_queue_put(&index_q, 1, p->bytes);
	start_next();
}

static void item_free(item_t *it)
{
	ow_storage_part_unref(it->p);
	free(it);
}

static void index_done(ow_job_t *j)
{
	item_t *it = (item_t *)j;
	if (running == it)
		running = NULL;
	if (it->rc != OW_OK && !stopping && !it->p->removed && ++it->tries < MAX_TRIES) {
		int delay = 1000 << (it->tries - 1);
		ow_log(OW_LOG_WARN, "index: part %s (try %d of %d): %s; retrying in %d ms",
		       it->p->id, it->tries, MAX_TRIES, it->err, delay);
		running = it; /* at the head, with its count */
		struct timeval tv = {delay / 1000, (delay % 1000) * 1000};
		evtimer_add(retry_ev, &tv);
		return;
	}
	if (it->rc != OW_OK && !stopping && !it->p->removed) {
		atomic_fetch_add(&stats.failed, 1);
		ow_log(OW_LOG_ERROR, "index: part %s: %s; giving up after %d tries: it is scanned",
		       it->p->id, it->err, MAX_TRIES);
		ow_tracker_alert("index_failed", NULL, it->err);
	}
	item_free(it);
	start_next();
}

static void submit(item_t *it)
{
	it->job.done = index_done;
	running = it;
	if (ow_pool_submit(pool, &it->job) != OW_OK) {
		struct timeval tv = {0, 100000}; /* cannot be: an item and a check at most */
		evtimer_add(retry_ev, &tv);
	}
}

static void start_next(void)
{
	if (running || !waiting || !pool || stopping)
		return;
	item_t *it = waiting;
	waiting = it->next;
	if (!waiting)
		waiting_tail = &waiting;
	ow_queue_take(&index_q, 1, it->p->bytes, it->since);
	if (it->p->removed) { /* merged away while it waited */
		item_free(it);
		start_next();
		return;
	}
	submit(it);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	OW_UNUSED(fd);
	OW_UNUSED(what);
	OW_UNUSED(arg);
	if (running)
		submit(running);
}

/* The storage's part hook: every committed part, to the queue. */
static void on_part(ow_partref_t *p)
{
	p->index_free = part_gone;
	enqueue(p, 0);
}

/* The periodic check of the loaded indexes' files: the parts listed when
 * it began (references of ours), and which of them changed. The stat()s
 * run on the pool's thread, the one that writes an index's size and
 * mtime, so the loop never waits on the disk; one check at a time. */
typedef struct {
	ow_job_t job;
	ow_partref_t **parts;
	size_t n;
	uint8_t *changed;
	atomic_int worked;
} check_t;
static check_t *checking;

static void check_free(check_t *c)
{
	for (size_t i = 0; i < c->n; i++)
		ow_storage_part_unref(c->parts[i]);
	free(c->parts);
	free(c->changed);
	free(c);
}

static void check_work(ow_job_t *j)
{
	check_t *c = (check_t *)j;
	for (size_t i = 0; i < c->n && !stopping; i++) {
		const ow_index_t *ix = ow_index_of(c->parts[i]);
		char path[4400];
		struct stat st;
		file_of(c->parts[i]->id, path, sizeof(path));
		c->changed[i] =
		    ix &&
		    (stat(path, &st) != 0 || st.st_size != ix->size ||
		     (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec != ix->mtime_ns);
	}
	atomic_store(&c->worked, 1);
}

/* Loaded indexes whose file was deleted or changed go back to the queue,
 * to be read again (and rebuilt if it is not whole). */
static void check_done(ow_job_t *j)
{
	check_t *c = (check_t *)j;
	checking = NULL;
	for (size_t i = 0; i < c->n && !stopping; i++)
		if (c->changed[i] && !c->parts[i]->removed)
			enqueue(c->parts[i], 1);
	check_free(c);
}

static void on_check(evutil_socket_t fd, short what, void *arg)
{
	OW_UNUSED(fd);
	OW_UNUSED(what);
	OW_UNUSED(arg);
	if (checking || stopping || !pool)
		return;
	check_t *c = ow_calloc(1, sizeof(*c));
	c->parts = ow_storage_parts(&c->n);
	c->changed = ow_calloc(c->n ? c->n : 1, 1);
	c->job.work = check_work;
	c->job.done = check_done;
	checking = c;
	if (ow_pool_submit(pool, &c->job) != OW_OK) { /* full: the next interval */
		checking = NULL;
		check_free(c);
	}
}

/* Index files of parts the catalog no longer lists (a merge or drop whose
 * unlink a crash cut short), and unfinished writes. */
static void remove_orphans(void)
{
	DIR *d = opendir(index_dir);
	if (!d)
		return;
	size_t n;
	ow_partref_t **parts = ow_storage_parts(&n);
	struct dirent *e;
	int removed = 0;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (e->d_name[0] == '.')
			continue;
		int keep = 0;
		for (size_t i = 0; i < n && !keep; i++)
			keep = len == strlen(parts[i]->id) + 4 &&
			       strncmp(e->d_name, parts[i]->id, len - 4) == 0 &&
			       strcmp(e->d_name + len - 4, ".idx") == 0;
		if (!keep) {
			char path[4700];
			snprintf(path, sizeof(path), "%s/%s", index_dir, e->d_name);
			unlink(path);
			removed++;
		}
	}
	closedir(d);
	for (size_t i = 0; i < n; i++)
		ow_storage_part_unref(parts[i]);
	free(parts);
	if (removed) {
		ow_fsync_dir(index_dir);
		ow_log(OW_LOG_INFO, "index: removed %d files of parts no longer listed", removed);
	}
}

static int index_init(struct event_base *base)
{
	snprintf(index_dir, sizeof(index_dir), "%s/index", ow_data_dir);
	ow_queue_register(&index_q, "index", OW_Q_INDEX, 0, 0);
	retry_ev = evtimer_new(base, on_retry, NULL);
	check_ev = event_new(base, -1, EV_PERSIST, on_check, NULL);
	if (!enabled)
		return OW_OK;
	if (ow_mkdir_p(index_dir, 0755) != OW_OK) {
		ow_log(OW_LOG_CRIT, "index: cannot create %s: %s", index_dir, strerror(errno));
		return OW_ERROR;
	}
	return OW_OK;
}

static int index_start(struct event_base *base)
{
	OW_UNUSED(base);
	if (!enabled)
		return OW_OK;
	remove_orphans();
	pool = ow_pool_start("indexer", 1, 4, 10);
	if (!pool)
		return OW_ERROR;
	ow_storage_part_hook(on_part);
	struct timeval tv = {(time_t)check_interval, 0};
	event_add(check_ev, &tv);
	return OW_OK;
}

static void index_drain(void)
{
	stopping = 1; /* an index is never needed to stop: it is rebuilt */
}

static void index_stop(void)
{
	stopping = 1;
	ow_pool_stop(pool); /* joins the thread: a build under way ends */
	pool = NULL;
	/* a job that ran had its done() run, or posted after the loop ended
	 * (its item is left to the exit then) */
	if (running && !atomic_load(&running->worked))
		item_free(running);
	running = NULL;
	if (checking && !atomic_load(&checking->worked))
		check_free(checking);
	checking = NULL;
	while (waiting) {
		item_t *it = waiting;
		waiting = it->next;
		ow_queue_take(&index_q, 1, it->p->bytes, 0);
		item_free(it);
	}
	waiting_tail = &waiting;
	ow_queue_unregister(&index_q);
	if (retry_ev)
		event_free(retry_ev);
	if (check_ev)
		event_free(check_ev);
	retry_ev = check_ev = NULL;
	free(ids);
	ids = NULL;
	nids = capids = 0;
}

static void index_stats(ow_buf_t *b)
{
	ow_metric_one(b, "openwit_index_built_total", "counter",
		      "Full-text indexes built from their parts.", stats.built);
	ow_metric_one(b, "openwit_index_rebuilt_total", "counter",
		      "Full-text indexes rebuilt after their file was found deleted or damaged.",
		      stats.rebuilt);
	ow_metric_one(b, "openwit_index_loaded_total", "counter",
		      "Full-text indexes read back from their files.", stats.loaded);
	ow_metric_one(b, "openwit_index_failed_total", "counter",
		      "Parts left without an index after every try (they are scanned).",
		      stats.failed);
	ow_metric_one(b, "openwit_index_bytes", "gauge",
		      "Bytes of the full-text indexes' postings in memory (index.max_memory_bytes "
		      "bounds them, but for those queries hold).",
		      stats.bytes);
	ow_metric_one(b, "openwit_index_evicted_total", "counter",
		      "Postings dropped from memory, least recently used first, past "
		      "index.max_memory_bytes.",
		      stats.evicted);
	ow_metric_one(b, "openwit_index_reread_total", "counter",
		      "Evicted postings read again from their file for a query.", stats.reread);
	ow_metric_one(b, "openwit_index_rows", "gauge",
		      "Rows of the parts whose full-text index loaded since start.", stats.rows);
}

ow_module_t ow_index_module = {
    .name = "index",
    .directives = directives,
    .init = index_init,
    .start = index_start,
    .drain = index_drain,
    .stop = index_stop,
    .stats = index_stats,
};

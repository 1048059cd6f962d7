/*
 * index.h - the full-text index of each committed part (index.c): its
 * tokenizer, which match() and the scan layer share, and the lookups
 * that tell the scan which blocks of a part's rows may hold a token.
 *
 * The tokenizer: a token is a maximal run of bytes that are ASCII letters
 * or digits, or any byte >= 0x80 (so a UTF-8 character is never split);
 * every other byte separates tokens. ASCII letters are lower-cased, other
 * bytes kept as they are: the folding LIKE does (ASCII only, without ICU).
 * "Timeout after 3000ms (user_id=42)" has the tokens timeout, after,
 * 3000ms, user, id, 42.
 */
#ifndef OW_INDEX_H
#define OW_INDEX_H

#include "../core/module.h"
#include "../storage/storage.h"

extern ow_module_t ow_index_module;

/* 1 for a byte tokens are made of. */
static inline int ow_index_tokchar(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c >= 0x80;
}

static inline uint8_t ow_index_fold(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

/* The next token of s[0..n) from *at: [*from, *to), and *at past it; 0
 * when none is left. */
static inline int ow_index_next(const uint8_t *s, size_t n, size_t *at, size_t *from, size_t *to)
{
	size_t i = *at;
	while (i < n && !ow_index_tokchar(s[i]))
		i++;
	size_t j = i;
	while (j < n && ow_index_tokchar(s[j]))
		j++;
	*from = i, *to = *at = j;
	return i < n;
}

/* The tokens of s[0..n), each lower-cased, back to back into out (reset
 * first), with the end offset of each in ends (reset first); how many. */
size_t ow_index_tokens(const uint8_t *s, size_t n, ow_buf_t *out, ow_buf_t *ends);

/* match(text, query): 1 when every token of the query (ntok tokens,
 * lower-cased, back to back in toks with their end offsets in ends, as
 * ow_index_tokens gives them) is a token of text; a query without a
 * token matches any text. stopped (or NULL) is asked every 64 tokens of
 * the text it goes through (a query's budget: ow_search_poll): -1 once it
 * answers nonzero, so one large text cannot hold a query. */
int ow_index_match(const uint8_t *text, size_t n, const uint8_t *toks, const uint32_t *ends,
		   size_t ntok, int (*stopped)(void));

/* How a run of token bytes of a LIKE '%needle%' (or a match() token)
 * sits in the tokens of a value that matches: the whole token, its
 * prefix, its suffix, or anywhere inside it. */
enum { OW_INDEX_WHOLE, OW_INDEX_PREFIX, OW_INDEX_SUFFIX, OW_INDEX_INSIDE };

/* A part's index, loaded (NULL: none yet, or none readable: scan). It
 * stays valid while the part is referenced (a snapshot's reference). */
typedef struct ow_index ow_index_t;
const ow_index_t *ow_index_of(const ow_partref_t *p);
/* Its blocks: runs of block_rows rows of a row group (the last of each
 * row group shorter); rg's first block. */
size_t ow_index_nblocks(const ow_index_t *ix);
size_t ow_index_block_rows(const ow_index_t *ix);
size_t ow_index_rg_block(const ow_index_t *ix, int rg);
/* Its postings, which ow_index_narrow reads, held in memory until
 * ow_index_release: OW_OK, read again from its file when they were
 * evicted (index.max_memory_bytes bounds the postings in memory, the
 * least recently used of those no query holds going first); OW_ERROR
 * when that file cannot be read whole (the part is scanned). */
int ow_index_hold(const ow_index_t *ix);
void ow_index_release(const ow_index_t *ix);
/* Clears may[b] for each block b where no value of schema column col has
 * a token that holds tok (n bytes, lower-cased) as kind says. 0, leaving
 * may alone, when the index does not cover col, or when stopped (or
 * NULL; asked every 64 tokens of a walk through the dictionary, for a
 * suffix or a substring) answers nonzero. Between ow_index_hold and
 * ow_index_release. */
int ow_index_narrow(const ow_index_t *ix, int col, const uint8_t *tok, size_t n, int kind,
		    uint8_t *may, int (*stopped)(void));

#endif

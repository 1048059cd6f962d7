/*
 * lru.h - an intrusive list in order of use, newest first, for the caches
 * that evict the least recently used (modules/prom's series and result
 * caches). A node lives in the entry it orders (OW_LRU_ENTRY finds the
 * entry); the list allocates nothing and locks nothing: its cache's lock
 * guards it.
 */
#ifndef OW_LRU_H
#define OW_LRU_H

#include <stddef.h>

typedef struct ow_lru_node {
	struct ow_lru_node *prev, *next;
} ow_lru_node_t;

typedef struct {
	ow_lru_node_t *newest, *oldest;
} ow_lru_t;

#define OW_LRU_ENTRY(node, type, member) ((type *)((char *)(node)-offsetof(type, member)))

/* n (in no list) to the front. */
void ow_lru_push(ow_lru_t *l, ow_lru_node_t *n);
/* n (in l) out of it. */
void ow_lru_remove(ow_lru_t *l, ow_lru_node_t *n);
/* n (in l), just used, to the front. */
void ow_lru_touch(ow_lru_t *l, ow_lru_node_t *n);

#endif

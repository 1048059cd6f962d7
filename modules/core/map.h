/*
 * map.h - a map from short strings (tenant names, with what else a caller
 * puts in its keys) to pointers: chained hashing, doubled as it fills, so
 * a lookup costs the same with ten tenants or ten thousand. The map copies
 * its keys; the values stay the caller's. One thread at a time.
 */
#ifndef OW_MAP_H
#define OW_MAP_H

#include <stddef.h>

typedef struct ow_map_entry ow_map_entry_t;

typedef struct {
	ow_map_entry_t **slots;
	size_t nslots, count;
} ow_map_t; /* zeroed: empty */

/* The value of key, or NULL. */
void *ow_map_get(const ow_map_t *m, const char *key);
/* Sets key to v (not NULL), replacing any value it had. */
void ow_map_put(ow_map_t *m, const char *key, void *v);
/* Removes key, if there. */
void ow_map_del(ow_map_t *m, const char *key);
/* Calls fn for every entry, in no order; fn must not change the map. */
void ow_map_each(const ow_map_t *m, void (*fn)(void *arg, const char *key, void *v), void *arg);
/* Empties the map (not the values). */
void ow_map_free(ow_map_t *m);

#endif

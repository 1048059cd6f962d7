/*
 * map.c - see map.h. FNV-1a over the key; the slots double when the
 * entries outnumber them, so chains stay short.
 */
#include "map.h"
#include "core.h"

struct ow_map_entry {
	struct ow_map_entry *next;
	void *value;
	char key[];
};

static size_t hash(const char *s)
{
	uint64_t h = 14695981039346656037ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return (size_t)(h ^ (h >> 32));
}

static ow_map_entry_t **find(const ow_map_t *m, const char *key)
{
	ow_map_entry_t **pp = &m->slots[hash(key) & (m->nslots - 1)];
	while (*pp && strcmp((*pp)->key, key) != 0)
		pp = &(*pp)->next;
	return pp;
}

void *ow_map_get(const ow_map_t *m, const char *key)
{
	if (!m->count)
		return NULL;
	ow_map_entry_t *e = *find(m, key);
	return e ? e->value : NULL;
}

static void grow(ow_map_t *m)
{
	size_t n = m->nslots ? m->nslots * 2 : 16;
	ow_map_entry_t **slots = ow_calloc(n, sizeof(*slots));
	for (size_t i = 0; i < m->nslots; i++)
		for (ow_map_entry_t *e = m->slots[i], *next; e; e = next) {
			next = e->next;
			size_t k = hash(e->key) & (n - 1);
			e->next = slots[k];
			slots[k] = e;
		}
	free(m->slots);
	m->slots = slots;
	m->nslots = n;
}

void ow_map_put(ow_map_t *m, const char *key, void *v)
{
	if (m->count >= m->nslots)
		grow(m);
	ow_map_entry_t **pp = find(m, key);
	if (*pp) {
		(*pp)->value = v;
		return;
	}
	size_t len = strlen(key);
	ow_map_entry_t *e = ow_alloc(sizeof(*e) + len + 1);
	memcpy(e->key, key, len + 1);
	e->value = v;
	e->next = NULL;
	*pp = e;
	m->count++;
}

void ow_map_del(ow_map_t *m, const char *key)
{
	if (!m->count)
		return;
	ow_map_entry_t **pp = find(m, key);
	ow_map_entry_t *e = *pp;
	if (!e)
		return;
	*pp = e->next;
	free(e);
	m->count--;
}

void ow_map_each(const ow_map_t *m, void (*fn)(void *arg, const char *key, void *v), void *arg)
{
	for (size_t i = 0; i < m->nslots; i++)
		for (ow_map_entry_t *e = m->slots[i]; e; e = e->next)
			fn(arg, e->key, e->value);
}

void ow_map_free(ow_map_t *m)
{
	for (size_t i = 0; i < m->nslots; i++)
		for (ow_map_entry_t *e = m->slots[i], *next; e; e = next) {
			next = e->next;
			free(e);
		}
	free(m->slots);
	m->slots = NULL;
	m->nslots = m->count = 0;
}

/*
 * lru.c - see lru.h.
 */
#include "lru.h"

void ow_lru_push(ow_lru_t *l, ow_lru_node_t *n)
{
	n->prev = NULL;
	n->next = l->newest;
	if (l->newest)
		l->newest->prev = n;
	l->newest = n;
	if (l->oldest == NULL)
		l->oldest = n;
}

void ow_lru_remove(ow_lru_t *l, ow_lru_node_t *n)
{
	if (n->prev)
		n->prev->next = n->next;
	else
		l->newest = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		l->oldest = n->prev;
	n->prev = n->next = NULL;
}

void ow_lru_touch(ow_lru_t *l, ow_lru_node_t *n)
{
	if (l->newest == n)
		return;
	ow_lru_remove(l, n);
	ow_lru_push(l, n);
}

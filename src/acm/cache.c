// SPDX-License-Identifier: Apache-2.0
/*
 * The decision cache: direct-mapped, keyed by (subject label, object label, op, port),
 * tagged with the policy generation so a policy switch invalidates it in O(1).
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint64_t key_of(uint32_t sl, uint32_t ol, enum acm_op op)
{
	return (uint64_t)sl << 32 | (uint64_t)ol << 8 | (uint64_t)op;
}

static uint32_t slot_of(const struct acm_cache *c, uint64_t key, uint32_t port)
{
	uint64_t h = (key ^ ((uint64_t)port << 17)) * 0x9e3779b97f4a7c15ULL;

	return (uint32_t)(h >> 32) & c->mask;
}

int acm_cache_init(struct acm_cache *c, unsigned int slots)
{
	uint32_t n = 1;

	if (slots == 0)
		slots = 4096;
	if (slots > (1u << 20))
		slots = 1u << 20;
	while (n < slots)
		n <<= 1;
	c->slots = calloc(n, sizeof(*c->slots));
	if (!c->slots)
		return -ENOMEM;
	c->mask = n - 1;
	return 0;
}

void acm_cache_destroy(struct acm_cache *c)
{
	free(c->slots);
	c->slots = NULL;
}

bool acm_cache_get(const struct acm_cache *c, uint32_t gen, uint32_t sl, uint32_t ol,
		   enum acm_op op, uint32_t port, struct acm_decision *d)
{
	uint64_t key = key_of(sl, ol, op);
	const struct acm_cache_entry *e = &c->slots[slot_of(c, key, port)];

	if (e->gen != gen || e->key != key || e->port != port)
		return false;
	d->allow = e->allow;
	d->audit = e->audit;
	d->reason = (enum acm_reason)e->reason;
	d->rule = e->rule;
	d->subject_label = sl;
	d->object_label = ol;
	d->cached = true;
	return true;
}

void acm_cache_put(struct acm_cache *c, uint32_t gen, uint32_t sl, uint32_t ol, enum acm_op op,
		   uint32_t port, const struct acm_decision *d)
{
	uint64_t key = key_of(sl, ol, op);
	struct acm_cache_entry *e = &c->slots[slot_of(c, key, port)];

	e->key = key;
	e->port = port;
	e->gen = gen;
	e->rule = d->rule;
	e->allow = d->allow;
	e->audit = d->audit;
	e->reason = (uint8_t)d->reason;
}

unsigned int acm_cache_purge_label(struct acm_cache *c, uint32_t label)
{
	unsigned int n = 0;

	for (uint32_t i = 0; i <= c->mask; i++) {
		struct acm_cache_entry *e = &c->slots[i];
		uint32_t sl = (uint32_t)(e->key >> 32), ol = (uint32_t)(e->key >> 8) & 0xffffff;

		if (e->gen && (sl == label || ol == label)) {
			memset(e, 0, sizeof(*e));
			n++;
		}
	}
	return n;
}

void acm_cache_clear(struct acm_cache *c)
{
	memset(c->slots, 0, ((size_t)c->mask + 1) * sizeof(*c->slots));
}

// SPDX-License-Identifier: Apache-2.0
/* Port-I/O and MMIO dispatch: each emulated device registers ranges with one ops table. */
#include "bus.h"

#include <errno.h>
#include <string.h>

void bus_init(struct bus *b)
{
	memset(b, 0, sizeof(*b));
	pthread_rwlock_init(&b->lock, NULL);
}

void bus_destroy(struct bus *b)
{
	pthread_rwlock_destroy(&b->lock);
}

int bus_register(struct bus *b, uint64_t base, uint64_t len, const struct bus_ops *ops,
		 void *opaque, const char *name)
{
	unsigned int i;
	int ret = 0;

	if (len == 0 || base + len < base || !ops)
		return -EINVAL;
	pthread_rwlock_wrlock(&b->lock);
	if (b->n == BUS_MAX_REGIONS) {
		ret = -ENOSPC;
		goto out;
	}
	for (i = 0; i < b->n && b->r[i].base < base; i++)
		;
	if ((i > 0 && b->r[i - 1].base + b->r[i - 1].len > base) ||
	    (i < b->n && base + len > b->r[i].base)) {
		ret = -EEXIST;
		goto out;
	}
	memmove(&b->r[i + 1], &b->r[i], (b->n - i) * sizeof(b->r[0]));
	b->r[i] = (struct bus_region){ base, len, ops, opaque, name };
	b->n++;
out:
	pthread_rwlock_unlock(&b->lock);
	return ret;
}

int bus_unregister(struct bus *b, uint64_t base)
{
	unsigned int i;
	int ret = -ENOENT;

	pthread_rwlock_wrlock(&b->lock);
	for (i = 0; i < b->n; i++) {
		if (b->r[i].base == base) {
			memmove(&b->r[i], &b->r[i + 1], (b->n - i - 1) * sizeof(b->r[0]));
			b->n--;
			ret = 0;
			break;
		}
	}
	pthread_rwlock_unlock(&b->lock);
	return ret;
}

/* Caller holds the lock. Binary search: the table is sorted and disjoint. */
static const struct bus_region *find(const struct bus *b, uint64_t addr, unsigned int size)
{
	unsigned int lo = 0, hi = b->n;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;
		const struct bus_region *r = &b->r[mid];

		if (addr < r->base) {
			hi = mid;
		} else if (addr - r->base >= r->len) {
			lo = mid + 1;
		} else {
			/* An access straddling the end of a device is not the device's. */
			if (addr - r->base + size > r->len)
				return NULL;
			return r;
		}
	}
	return NULL;
}

bool bus_read(struct bus *b, uint64_t addr, void *data, unsigned int size)
{
	const struct bus_region *r;
	uint64_t v;

	if (size != 1 && size != 2 && size != 4 && size != 8) {
		memset(data, 0xff, size > 8 ? 8 : size);
		return false;
	}
	pthread_rwlock_rdlock(&b->lock);
	r = find(b, addr, size);
	if (!r || !r->ops->read) {
		__atomic_add_fetch(&b->unhandled, 1, __ATOMIC_RELAXED);
		pthread_rwlock_unlock(&b->lock);
		memset(data, 0xff, size);
		return false;
	}
	v = r->ops->read(r->opaque, addr - r->base, size);
	pthread_rwlock_unlock(&b->lock);
	memcpy(data, &v, size); /* x86 is little-endian */
	return true;
}

bool bus_write(struct bus *b, uint64_t addr, const void *data, unsigned int size)
{
	const struct bus_region *r;
	uint64_t v = 0;

	if (size != 1 && size != 2 && size != 4 && size != 8)
		return false;
	memcpy(&v, data, size);
	pthread_rwlock_rdlock(&b->lock);
	r = find(b, addr, size);
	if (!r || !r->ops->write) {
		__atomic_add_fetch(&b->unhandled, 1, __ATOMIC_RELAXED);
		pthread_rwlock_unlock(&b->lock);
		return false;
	}
	r->ops->write(r->opaque, addr - r->base, v, size);
	pthread_rwlock_unlock(&b->lock);
	return true;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Port-I/O and MMIO dispatch: each emulated device registers ranges with one ops table. */
#ifndef BULWARK_VMM_BUS_H
#define BULWARK_VMM_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* A device's access handlers; offset is relative to the registered base. */
struct bus_ops {
	uint64_t (*read)(void *opaque, uint64_t offset, unsigned int size);
	void (*write)(void *opaque, uint64_t offset, uint64_t value, unsigned int size);
};

struct bus_region {
	uint64_t base;
	uint64_t len;
	const struct bus_ops *ops;
	void *opaque;
	const char *name;
};

#define BUS_MAX_REGIONS 64

struct bus {
	pthread_rwlock_t lock;
	unsigned int n;
	struct bus_region r[BUS_MAX_REGIONS]; /* sorted by base, never overlapping */
	uint64_t unhandled; /* accesses that hit no device */
};

void bus_init(struct bus *b);
void bus_destroy(struct bus *b);

/*
 * Registers [base, base+len). Returns 0, -EINVAL (len 0 or wraps), -EEXIST
 * (overlaps a registered range) or -ENOSPC; on error the bus is unchanged.
 */
int bus_register(struct bus *b, uint64_t base, uint64_t len, const struct bus_ops *ops,
		 void *opaque, const char *name) __attribute__((warn_unused_result));

/* Removes the range starting at base. Returns 0 or -ENOENT. */
int bus_unregister(struct bus *b, uint64_t base);

/*
 * Dispatches an access of size 1, 2, 4 or 8 bytes. Returns true when a device
 * handled it; otherwise reads fill data with all-ones (an empty bus) and
 * writes are dropped, as on real hardware.
 */
bool bus_read(struct bus *b, uint64_t addr, void *data, unsigned int size);
bool bus_write(struct bus *b, uint64_t addr, const void *data, unsigned int size);

#endif

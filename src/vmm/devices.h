/* SPDX-License-Identifier: Apache-2.0 */
/* The guest's PCI devices, created from the configuration for each boot of a VM. */
#ifndef BULWARK_VMM_DEVICES_H
#define BULWARK_VMM_DEVICES_H

#include "config.h"
#include "evloop.h"
#include "pci.h"
#include "virtio.h"
#include "vm.h"

#define DEVICES_MAX 16

struct devices {
	unsigned int n;
	struct virtio_dev *dev[DEVICES_MAX];
	void (*destroy[DEVICES_MAX])(struct virtio_dev *d); /* back-end teardown, may be NULL */
};

/*
 * Creates every device the configuration asks for in PCI slots 1, 2, ... of vm.
 * Returns 0 or -errno with one line in err; on error the devices created so far are
 * still in *devs and devices_destroy releases them.
 */
int devices_create(struct devices *devs, const struct vmm_config *cfg, struct vm *vm,
		   struct pci_bus *pci, struct evloop *loop, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/*
 * Fills *s with the I/O totals of every device in devs (each back-end's io_stats), zero
 * where no device counts. Call on the I/O thread, which is the only writer of the
 * counters, so no lock is taken and the totals are consistent with each other.
 */
void devices_io_stats(const struct devices *devs, struct virtio_io_stats *s);

/* Releases every device (vCPUs stopped). Leaves *devs empty. */
void devices_destroy(struct devices *devs);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* PCI bus 0 behind configuration mechanism #1 (ports 0xcf8/0xcfc), and its host bridge. */
#ifndef BULWARK_VMM_PCI_H
#define BULWARK_VMM_PCI_H

#include <pthread.h>
#include <stdint.h>

#include "vm.h"

#define PCI_SLOTS 32
#define PCI_CFG_SIZE 256

struct pci_dev;

/*
 * Optional per-device hooks, called with the PCI bus lock held; without them config
 * space is plain memory masked by wmask.
 */
struct pci_dev_ops {
	/* Called after a guest write to config space has been applied. */
	void (*cfg_written)(struct pci_dev *d, unsigned int off, unsigned int size);
	/* Called before a guest read, to refresh cfg[off, off+size) (e.g. a data window). */
	void (*cfg_refresh)(struct pci_dev *d, unsigned int off, unsigned int size);
	/* A memory BAR was mapped at addr (or unmapped: addr 0). */
	void (*bar_mapped)(struct pci_dev *d, unsigned int bar, uint64_t addr);
};

#define PCI_BARS 6

/* A 32-bit memory BAR, mapped on the MMIO bus while the guest enables memory decoding. */
struct pci_bar {
	uint32_t size; /* a power of two >= 4096, or 0: no BAR */
	const struct bus_ops *ops;
	void *opaque;
	uint64_t mapped; /* where it is registered on the MMIO bus, 0 if not */
};

struct pci_dev {
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE]; /* bits the guest may change */
	const struct pci_dev_ops *ops;
	void *opaque;
	struct pci_bar bar[PCI_BARS];
	struct bus *mmio; /* set by pci_add */
};

struct pci_bus {
	pthread_mutex_t lock;
	struct vm *vm;
	uint32_t addr; /* the 0xcf8 latch */
	struct pci_dev *slot[PCI_SLOTS];
	struct pci_dev host_bridge;
};

/* Fills a type-0 header: ids, class code (24 bits), revision; command register writable. */
void pci_dev_init(struct pci_dev *d, uint16_t vendor, uint16_t device, uint32_t class_code,
		  uint8_t revision);

/*
 * Declares memory BAR `bar` of `size` bytes (a power of two >= 4 KiB) at the initial
 * address addr (as firmware would assign it; 0 leaves it to the guest), served by ops.
 * Call before pci_add. Returns 0 or -EINVAL.
 */
int pci_dev_set_bar(struct pci_dev *d, unsigned int bar, uint32_t size, uint32_t addr,
		    const struct bus_ops *ops, void *opaque) __attribute__((warn_unused_result));

/*
 * Registers the config ports on vm's port bus and puts the host bridge in
 * slot 0. Returns 0 or -errno.
 */
int pci_init(struct pci_bus *b, struct vm *vm) __attribute__((warn_unused_result));

/* Plugs d into slot (function 0). Returns 0, -EINVAL or -EBUSY. */
int pci_add(struct pci_bus *b, unsigned int slot, struct pci_dev *d)
	__attribute__((warn_unused_result));

/* Config space accessors used by the port handlers and tests (bus 0, function 0 only). */
uint32_t pci_cfg_read(struct pci_bus *b, unsigned int slot, unsigned int off, unsigned int size);
void pci_cfg_write(struct pci_bus *b, unsigned int slot, unsigned int off, uint32_t v,
		   unsigned int size);

#endif

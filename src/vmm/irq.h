/* SPDX-License-Identifier: Apache-2.0 */
/* KVM GSI routing: the default PIC/IOAPIC routes plus one MSI route per device vector. */
#ifndef BULWARK_VMM_IRQ_H
#define BULWARK_VMM_IRQ_H

#include <stdint.h>

#include "vm.h"

/*
 * Installs the default routes (GSI 0-15 to the PIC and IOAPIC, 16-23 to the IOAPIC),
 * as KVM's own default table does, so that MSI routes can be added next to them.
 * Returns 0 or -errno.
 */
int irq_init(struct vm *vm) __attribute__((warn_unused_result));

/* Frees the routing table. */
void irq_destroy(struct vm *vm);

/* Allocates a GSI with an (inactive) MSI route. Returns 0 and *gsi, or -errno. */
int irq_msi_alloc(struct vm *vm, uint32_t *gsi) __attribute__((warn_unused_result));

/*
 * Points an allocated MSI GSI at address/data and tells KVM. Returns 0 or -errno
 * (-EINVAL for a GSI that irq_msi_alloc did not hand out).
 */
int irq_msi_route(struct vm *vm, uint32_t gsi, uint64_t addr, uint32_t data)
	__attribute__((warn_unused_result));

/* Binds eventfd `fd` to `gsi` (KVM_IRQFD): a write to fd injects the interrupt in-kernel. */
int irq_irqfd(struct vm *vm, int fd, uint32_t gsi, bool assign)
	__attribute__((warn_unused_result));

#endif

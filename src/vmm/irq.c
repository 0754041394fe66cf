// SPDX-License-Identifier: Apache-2.0
/* KVM GSI routing: the default PIC/IOAPIC routes plus one MSI route per device vector. */
#include "irq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#define IRQ_FIRST_MSI_GSI 24 /* after the IOAPIC's 24 pins */
#define IRQ_MAX_ROUTES 1024

/* Caller holds irq_lock. */
static int commit(struct vm *vm)
{
	struct kvm_irq_routing *r;
	size_t sz = sizeof(*r) + vm->irq_nroutes * sizeof(r->entries[0]);
	int ret = 0;

	r = calloc(1, sz);
	if (!r)
		return -ENOMEM;
	r->nr = vm->irq_nroutes;
	memcpy(r->entries, vm->irq_routes, vm->irq_nroutes * sizeof(r->entries[0]));
	if (ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, r) < 0)
		ret = -errno;
	free(r);
	return ret;
}

static void add_chip(struct vm *vm, uint32_t gsi, uint32_t chip, uint32_t pin)
{
	struct kvm_irq_routing_entry *e = &vm->irq_routes[vm->irq_nroutes++];

	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_IRQCHIP;
	e->u.irqchip.irqchip = chip;
	e->u.irqchip.pin = pin;
}

int irq_init(struct vm *vm)
{
	vm->irq_routes = calloc(IRQ_MAX_ROUTES, sizeof(*vm->irq_routes));
	if (!vm->irq_routes)
		return -ENOMEM;
	vm->irq_nroutes = 0;
	vm->irq_next_gsi = IRQ_FIRST_MSI_GSI;
	for (uint32_t gsi = 0; gsi < 16; gsi++)
		add_chip(vm, gsi, gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE, gsi % 8);
	for (uint32_t gsi = 0; gsi < 24; gsi++)
		add_chip(vm, gsi, KVM_IRQCHIP_IOAPIC, gsi);
	return 0; /* identical to KVM's default table: nothing to commit yet */
}

void irq_destroy(struct vm *vm)
{
	free(vm->irq_routes);
	vm->irq_routes = NULL;
	vm->irq_nroutes = 0;
}

int irq_msi_alloc(struct vm *vm, uint32_t *gsi)
{
	struct kvm_irq_routing_entry *e;
	int ret = 0;

	pthread_mutex_lock(&vm->irq_lock);
	if (!vm->irq_routes || vm->irq_nroutes == IRQ_MAX_ROUTES) {
		ret = -ENOSPC;
		goto out;
	}
	e = &vm->irq_routes[vm->irq_nroutes];
	memset(e, 0, sizeof(*e));
	e->gsi = vm->irq_next_gsi;
	e->type = KVM_IRQ_ROUTING_MSI;
	vm->irq_nroutes++;
	ret = commit(vm);
	if (ret < 0) {
		vm->irq_nroutes--;
		goto out;
	}
	*gsi = vm->irq_next_gsi++;
out:
	pthread_mutex_unlock(&vm->irq_lock);
	return ret;
}

int irq_msi_route(struct vm *vm, uint32_t gsi, uint64_t addr, uint32_t data)
{
	int ret = -EINVAL;

	pthread_mutex_lock(&vm->irq_lock);
	for (unsigned int i = 0; i < vm->irq_nroutes; i++) {
		struct kvm_irq_routing_entry *e = &vm->irq_routes[i];

		if (e->gsi != gsi || e->type != KVM_IRQ_ROUTING_MSI)
			continue;
		if (e->u.msi.address_lo == (uint32_t)addr &&
		    e->u.msi.address_hi == (uint32_t)(addr >> 32) && e->u.msi.data == data) {
			ret = 0; /* unchanged: spare KVM a routing update */
			break;
		}
		e->u.msi.address_lo = (uint32_t)addr;
		e->u.msi.address_hi = (uint32_t)(addr >> 32);
		e->u.msi.data = data;
		ret = commit(vm);
		break;
	}
	pthread_mutex_unlock(&vm->irq_lock);
	return ret;
}

int irq_irqfd(struct vm *vm, int fd, uint32_t gsi, bool assign)
{
	struct kvm_irqfd f = { .fd = (uint32_t)fd, .gsi = gsi,
			       .flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN };

	return ioctl(vm->vm_fd, KVM_IRQFD, &f) < 0 ? -errno : 0;
}

// SPDX-License-Identifier: Apache-2.0
/*
 * Platform ports: ACPI sleep/reset registers, the i8042 reset line and the boot-timer port;
 * the ACPI power button (an interrupt of the DSDT's Generic Event Device).
 */
#include "platform.h"

#include <stdio.h>
#include <string.h>

#include "layout.h"
#include "util.h"

#define SLP_EN (1U << 5) /* ACPI 6.x, 4.8.3.7 Sleep Control Register */
#define SLP_TYP(v) (((v) >> 2) & 0x7)
#define I8042_CMD_RESET 0xfe

static uint64_t zero_read(void *opaque, uint64_t off, unsigned int size)
{
	(void)opaque, (void)off, (void)size;
	return 0;
}

static void acpi_write(void *opaque, uint64_t off, uint64_t v, unsigned int size)
{
	struct platform *p = opaque;

	(void)size;
	switch (PORT_ACPI_SLEEP_CTL + off) {
	case PORT_ACPI_SLEEP_CTL:
		/* Only S5 (soft off) is offered in the DSDT; other sleep states are ignored. */
		if ((v & SLP_EN) && SLP_TYP(v) == ACPI_S5_SLP_TYP)
			vm_request_stop(p->vm, VM_STOP_POWEROFF);
		break;
	case PORT_ACPI_RESET:
		if (v == ACPI_RESET_VALUE)
			vm_request_stop(p->vm, VM_STOP_RESET);
		break;
	default:
		break;
	}
}

static void i8042_write(void *opaque, uint64_t off, uint64_t v, unsigned int size)
{
	struct platform *p = opaque;

	(void)off, (void)size;
	if (v == I8042_CMD_RESET)
		vm_request_stop(p->vm, VM_STOP_RESET);
}

static void boot_timer_write(void *opaque, uint64_t off, uint64_t v, unsigned int size)
{
	struct platform *p = opaque;

	(void)off, (void)size;
	if ((v & 0xff) != BOOT_TIMER_MAGIC)
		return;
	if (__atomic_exchange_n(&p->boot_timer_done, 1, __ATOMIC_SEQ_CST))
		return;
	uint64_t us = (util_now_ns() - p->vm->t0_ns) / 1000;

	fprintf(stderr, "bulwark-vmm: timing: guest-init-us=%llu\n", (unsigned long long)us);
	if (p->on_guest_init)
		p->on_guest_init(p->opaque, us);
}

int platform_power_button(struct platform *p)
{
	int ret;

	/*
	 * The DSDT declares GSI_GED edge-triggered, so a rising edge is the event:
	 * KVM's IOAPIC latches it and delivers it once. Lowering the line at once
	 * re-arms it for the next press and leaves nothing for the guest to clear.
	 */
	ret = vm_irq_line(p->vm, GSI_GED, 1);
	if (ret == 0)
		ret = vm_irq_line(p->vm, GSI_GED, 0);
	return ret;
}

static const struct bus_ops acpi_ops = { .read = zero_read, .write = acpi_write };
static const struct bus_ops i8042_ops = { .read = zero_read, .write = i8042_write };
static const struct bus_ops boot_timer_ops = { .read = zero_read, .write = boot_timer_write };

int platform_init(struct platform *p, struct vm *vm)
{
	int ret;

	p->vm = vm;
	p->boot_timer_done = 0;
	ret = bus_register(&vm->pio, PORT_ACPI_SLEEP_CTL, PORT_ACPI_RESET - PORT_ACPI_SLEEP_CTL + 1,
			   &acpi_ops, p, "acpi");
	if (ret == 0)
		ret = bus_register(&vm->pio, PORT_I8042, 1, &i8042_ops, p, "i8042-reset");
	if (ret == 0)
		ret = bus_register(&vm->pio, PORT_BOOT_TIMER, 1, &boot_timer_ops, p, "boot-timer");
	return ret;
}

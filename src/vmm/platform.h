/* SPDX-License-Identifier: Apache-2.0 */
/* Platform ports: ACPI sleep/reset registers, the i8042 reset line and the boot-timer port. */
#ifndef BULWARK_VMM_PLATFORM_H
#define BULWARK_VMM_PLATFORM_H

#include "vm.h"

struct platform {
	struct vm *vm;
	int boot_timer_done;
	/* Told (on a vCPU thread) when the guest's init starts; may be NULL. */
	void (*on_guest_init)(void *opaque, uint64_t us);
	void *opaque;
};

/* Registers the platform ports on vm's port bus. Returns 0 or -errno. */
int platform_init(struct platform *p, struct vm *vm) __attribute__((warn_unused_result));

/*
 * Presses the ACPI power button, asking the guest to shut down cleanly: pulses the
 * Generic Event Device's interrupt (GSI_GED), whose _EVT notifies \_SB.PWRB. Returns 0,
 * or -errno from KVM_IRQ_LINE. A press is not queued: one that comes before the guest
 * has bound its GED and button drivers, or while they are masked, is lost, as is one
 * the guest chooses to ignore; callers wait for the power-off and fall back to a hard
 * stop after a timeout. Safe from any thread.
 */
int platform_power_button(struct platform *p);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* Platform ports: ACPI sleep/reset registers, the i8042 reset line and the boot-timer port. */
#ifndef BULWARK_VMM_PLATFORM_H
#define BULWARK_VMM_PLATFORM_H

#include "vm.h"

struct platform {
	struct vm *vm;
	int boot_timer_done;
};

/* Registers the platform ports on vm's port bus. Returns 0 or -errno. */
int platform_init(struct platform *p, struct vm *vm) __attribute__((warn_unused_result));

#endif

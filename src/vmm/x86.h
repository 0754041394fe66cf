/* SPDX-License-Identifier: Apache-2.0 */
/* x86-64 specifics: boot page tables and GDT, vCPU registers, MSRs, LAPIC, register dumps. */
#ifndef BULWARK_VMM_X86_H
#define BULWARK_VMM_X86_H

#include <stdio.h>

#include "vm.h"

/* Writes the GDT and the identity page tables (0..4 GiB) used by the 64-bit entry. */
int arch_write_boot_tables(struct vm *vm) __attribute__((warn_unused_result));

/*
 * Per-vCPU setup common to every vCPU: filtered CPUID, MSRs, FPU, LAPIC LINT
 * pins. Returns 0 or -errno with one line in err.
 */
int arch_vcpu_init(struct vcpu *v, char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * Puts the boot vCPU in 64-bit mode at `entry` with RSI = boot_params, as the
 * 64-bit boot protocol requires. Application processors wait for INIT/SIPI.
 */
int arch_vcpu_boot_regs(struct vcpu *v, uint64_t entry, uint64_t boot_params, char *err,
			size_t errlen) __attribute__((warn_unused_result));

/* Prints the vCPU's registers, one line per group, each line prefixed. */
void arch_dump_regs(struct vcpu *v, FILE *f, const char *prefix);

#endif

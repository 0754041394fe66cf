/* SPDX-License-Identifier: Apache-2.0 */
/* vCPU threads: one per vCPU, each running KVM_RUN and dispatching exits to the buses. */
#ifndef BULWARK_VMM_VCPU_H
#define BULWARK_VMM_VCPU_H

#include "vm.h"

/*
 * Creates every vCPU (fd, kvm_run mapping, CPUID, MSRs, LAPIC). Returns 0 or
 * -errno with one line in err; what was created is released by vm_close.
 */
int vcpu_create_all(struct vm *vm, char *err, size_t errlen) __attribute__((warn_unused_result));

/* Starts one thread per vCPU. Returns 0 or -errno; on error the started ones keep running. */
int vcpu_start_all(struct vm *vm) __attribute__((warn_unused_result));

/* Kicks every vCPU out of KVM_RUN and joins its thread. The stop reason must be set. */
void vcpu_stop_all(struct vm *vm);

/*
 * Parks every vCPU outside KVM_RUN and returns once all are parked (or the VM is
 * stopping). Idempotent. Returns 0, or -ESHUTDOWN if the VM is stopping.
 */
int vcpu_pause_all(struct vm *vm);

/* Lets parked vCPUs run again. Idempotent. */
void vcpu_resume_all(struct vm *vm);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* CPUID for the guest: KVM's supported set, filtered and made consistent across vCPUs. */
#ifndef BULWARK_VMM_CPUID_H
#define BULWARK_VMM_CPUID_H

#include <linux/kvm.h>
#include <stdint.h>

/*
 * Rewrites, in place, the entries of a KVM_GET_SUPPORTED_CPUID result for
 * vCPU `index` of `ncpus`: APIC ids and topology (one socket, ncpus cores, one
 * thread each), the hypervisor bit, and removal of features the VMM does not
 * emulate (PMU leaves, MONITOR/MWAIT, ...). Every vCPU gets the same features;
 * only the ids differ. Returns 0, or -EINVAL for index >= ncpus or ncpus == 0.
 */
int cpuid_filter(struct kvm_cpuid2 *c, unsigned int index, unsigned int ncpus)
	__attribute__((warn_unused_result));

#endif

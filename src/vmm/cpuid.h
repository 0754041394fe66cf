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
 * only the ids differ, so filtering a copy of one KVM result per vCPU is
 * enough, and refiltering a filtered set is safe. No entries are added or
 * removed: a leaf 0xB/0x1F that KVM gave without its core-level subleaf is
 * zeroed (the guest then uses leaves 1 and 4). Returns 0, or -EINVAL for a
 * NULL c, ncpus == 0 or index >= ncpus, in which case c is not modified.
 */
int cpuid_filter(struct kvm_cpuid2 *c, unsigned int index, unsigned int ncpus)
	__attribute__((warn_unused_result));

#endif

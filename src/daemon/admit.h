/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Admission control: what running domains are guaranteed (memory, CPU share, vCPUs) never
 * exceeds the host minus the management plane's reserve, and no single domain gets a
 * whole host resource. Pure arithmetic; the daemon keeps one struct admit.
 */
#ifndef BULWARK_DAEMON_ADMIT_H
#define BULWARK_DAEMON_ADMIT_H

#include <stddef.h>
#include <stdint.h>

struct admit {
	uint32_t host_cpus;
	uint64_t host_memory;      /* bytes */
	uint32_t reserve_cpus;     /* CPUs no domain's vCPUs may claim */
	uint32_t reserve_cpu_pct;  /* share of host CPU time kept for the management plane */
	uint64_t reserve_memory;
	/* what running domains hold */
	uint64_t used_memory;
	uint32_t used_cpu_pct;
	uint32_t domains;
};

struct admit_req {
	uint32_t vcpus;
	uint64_t memory;
	uint32_t cpu_pct;          /* the label's guaranteed share (policy "cpu N%") */
};

/*
 * May a domain of this size start now? Returns 0, or -EPERM with a one-line message in
 * why naming the rule ("admission: memory ..."). Changes nothing.
 */
int admit_check(const struct admit *a, const struct admit_req *r, char *why, size_t len);

/* Adds a started (or re-attached) domain's guarantees. */
void admit_add(struct admit *a, const struct admit_req *r);

/* Releases a stopped domain's guarantees (saturating at zero). */
void admit_release(struct admit *a, const struct admit_req *r);

#endif

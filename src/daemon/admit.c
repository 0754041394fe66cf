// SPDX-License-Identifier: Apache-2.0
/* Admission control arithmetic (rules in docs/daemon.md#admission-control). */
#include "admit.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#define MiB_ ((uint64_t)1 << 20)

int admit_check(const struct admit *a, const struct admit_req *r, char *why, size_t len)
{
	uint64_t mem_cap = a->host_memory > a->reserve_memory ? a->host_memory - a->reserve_memory
							       : 0;
	uint32_t cpu_cap = a->host_cpus > a->reserve_cpus ? a->host_cpus - a->reserve_cpus : 0;
	uint32_t pct_cap = a->reserve_cpu_pct < 100 ? 100 - a->reserve_cpu_pct : 0;

	if (r->vcpus == 0 || r->memory == 0) {
		snprintf(why, len, "admission: a domain needs at least one vCPU and some memory");
		return -EPERM;
	}
	if (r->memory >= a->host_memory) {
		snprintf(why, len, "admission: single-domain cap: %" PRIu64 " MiB is all of the "
			 "host's %" PRIu64 " MiB", r->memory / MiB_, a->host_memory / MiB_);
		return -EPERM;
	}
	if (r->vcpus > cpu_cap) {
		snprintf(why, len, "admission: single-domain cap: %u vCPUs, but only %u of the "
			 "host's %u CPUs are outside the management reserve", r->vcpus, cpu_cap,
			 a->host_cpus);
		return -EPERM;
	}
	if (r->cpu_pct >= 100) {
		snprintf(why, len, "admission: single-domain cap: a CPU share of %u%% is the whole "
			 "host", r->cpu_pct);
		return -EPERM;
	}
	if (a->used_memory + r->memory > mem_cap) {
		snprintf(why, len, "admission: memory: %" PRIu64 " MiB running + %" PRIu64
			 " MiB asked > %" PRIu64 " MiB (host %" PRIu64 " MiB - reserve %" PRIu64
			 " MiB)", a->used_memory / MiB_, r->memory / MiB_, mem_cap / MiB_,
			 a->host_memory / MiB_, a->reserve_memory / MiB_);
		return -EPERM;
	}
	if (a->used_cpu_pct + r->cpu_pct > pct_cap) {
		snprintf(why, len, "admission: cpu share: %u%% guaranteed + %u%% asked > %u%% "
			 "(100%% - reserve %u%%)", a->used_cpu_pct, r->cpu_pct, pct_cap,
			 a->reserve_cpu_pct);
		return -EPERM;
	}
	return 0;
}

void admit_add(struct admit *a, const struct admit_req *r)
{
	a->used_memory += r->memory;
	a->used_cpu_pct += r->cpu_pct;
	a->domains++;
}

void admit_release(struct admit *a, const struct admit_req *r)
{
	a->used_memory = a->used_memory > r->memory ? a->used_memory - r->memory : 0;
	a->used_cpu_pct = a->used_cpu_pct > r->cpu_pct ? a->used_cpu_pct - r->cpu_pct : 0;
	a->domains = a->domains ? a->domains - 1 : 0;
}

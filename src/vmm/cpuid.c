// SPDX-License-Identifier: Apache-2.0
/*
 * Guest CPUID: KVM's supported set with per-vCPU topology ids filled in and the
 * features this VMM does not virtualise (PMU, MONITOR/MWAIT, nested, ...) hidden.
 */
#include "cpuid.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define BIT(n) (1u << (n))

/* Leaf 1 (Intel SDM vol. 2A, CPUID; AMD APM vol. 3, appendix E). */
#define L1_ECX_DTES64 BIT(2)
#define L1_ECX_MONITOR BIT(3)
#define L1_ECX_DS_CPL BIT(4)
#define L1_ECX_VMX BIT(5)
#define L1_ECX_SMX BIT(6)
#define L1_ECX_EST BIT(7)
#define L1_ECX_TM2 BIT(8)
#define L1_ECX_PDCM BIT(15)
#define L1_ECX_HYPERVISOR BIT(31)
#define L1_EDX_DS BIT(21)
#define L1_EDX_ACPI BIT(22)
#define L1_EDX_HTT BIT(28)
#define L1_EDX_TM BIT(29)
#define L1_EDX_PBE BIT(31)

/*
 * Hidden because nothing behind them is emulated or saved: debug store and
 * PEBS (DS, DTES64, DS-CPL, PDCM -> PERF_CAPABILITIES MSR), thermal and
 * power-management MSRs (ACPI, TM, TM2, EST, PBE), MONITOR/MWAIT (an idle
 * guest must HLT so the host gets the core back), and VMX/SMX: no nested
 * virtualization, whose state a snapshot would have to carry.
 */
#define L1_ECX_HIDE (L1_ECX_DTES64 | L1_ECX_MONITOR | L1_ECX_DS_CPL | L1_ECX_VMX | \
		     L1_ECX_SMX | L1_ECX_EST | L1_ECX_TM2 | L1_ECX_PDCM)
#define L1_EDX_HIDE (L1_EDX_DS | L1_EDX_ACPI | L1_EDX_TM | L1_EDX_PBE)

/*
 * Leaf 7 subleaf 0: Intel PT (its MSRs and leaf 0x14 are not context
 * switched by us), WAITPKG (UMWAIT/TPAUSE, the user-mode MWAIT), hybrid
 * (no P/E cores in a VM) and architectural LBRs (a PMU feature, leaf 0x1c).
 */
#define L7_EBX_INTEL_PT BIT(25)
#define L7_ECX_WAITPKG BIT(5)
#define L7_EDX_HYBRID BIT(15)
#define L7_EDX_ARCH_LBR BIT(19)

/*
 * 0x80000001 ECX (AMD): SVM (nested), core/NB/LLC performance counter
 * extensions (no PMU) and MONITORX/MWAITX. CmpLegacy is recomputed.
 */
#define X1_ECX_CMP_LEGACY BIT(1)
#define X1_ECX_SVM BIT(2)
#define X1_ECX_PERFCTR_CORE BIT(23)
#define X1_ECX_PERFCTR_NB BIT(24)
#define X1_ECX_PERFCTR_LLC BIT(28)
#define X1_ECX_MWAITX BIT(29)
#define X1_ECX_HIDE (X1_ECX_SVM | X1_ECX_PERFCTR_CORE | X1_ECX_PERFCTR_NB | \
		     X1_ECX_PERFCTR_LLC | X1_ECX_MWAITX)

/* Leaf 0xB / 0x1F level types (ECX[15:8]). */
#define TOPO_LEVEL_SMT 1
#define TOPO_LEVEL_CORE 2

struct cpuid_topo {
	unsigned int index; /* this vCPU: APIC id, x2APIC id, core id */
	unsigned int ncpus;
	unsigned int core_shift; /* bits of the APIC id that number cores */
	bool amd; /* AuthenticAMD or HygonGenuine: AMD's topology leaves apply */
	bool leaf_b; /* 0xB has the two subleaves it needs (SMT and core) */
	bool leaf_1f; /* likewise 0x1F */
};

static void cpuid_zero(struct kvm_cpuid_entry2 *e)
{
	e->eax = 0;
	e->ebx = 0;
	e->ecx = 0;
	e->edx = 0;
}

static unsigned int cpuid_min(unsigned int a, unsigned int b)
{
	return a < b ? a : b;
}

static bool cpuid_vendor_is(const struct kvm_cpuid2 *c, const char *v)
{
	for (uint32_t i = 0; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &c->entries[i];
		char s[12];

		if (e->function != 0)
			continue;
		/* The vendor string is EBX, EDX, ECX in that order. */
		memcpy(s, &e->ebx, 4);
		memcpy(s + 4, &e->edx, 4);
		memcpy(s + 8, &e->ecx, 4);
		return memcmp(s, v, 12) == 0;
	}
	return false;
}

static bool cpuid_has(const struct kvm_cpuid2 *c, uint32_t function, uint32_t index)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == function && c->entries[i].index == index)
			return true;
	return false;
}

static void cpuid_leaf1(struct kvm_cpuid_entry2 *e, const struct cpuid_topo *t)
{
	/*
	 * EBX[31:24] initial APIC id, EBX[23:16] addressable logical ids in the
	 * package (a power of two, matching the core field width of leaf 0xB);
	 * HTT says that field is valid. Keep brand index and CLFLUSH size.
	 */
	unsigned int ids = cpuid_min(1u << t->core_shift, 0xff);

	e->ebx = (e->ebx & 0xffff) | (ids << 16) | ((t->index & 0xff) << 24);
	e->ecx = (e->ecx & ~L1_ECX_HIDE) | L1_ECX_HYPERVISOR;
	e->edx &= ~L1_EDX_HIDE;
	if (t->ncpus > 1)
		e->edx |= L1_EDX_HTT;
	else
		e->edx &= ~L1_EDX_HTT;
}

/* Leaf 4 (Intel) and 0x8000001D (AMD): deterministic cache parameters. */
static void cpuid_cache(struct kvm_cpuid_entry2 *e, const struct cpuid_topo *t, bool intel_cores)
{
	unsigned int type = e->eax & 0x1f;
	unsigned int level = (e->eax >> 5) & 0x7;
	unsigned int sharing;

	if (type == 0)
		return; /* the null descriptor ends the list */
	/* One thread per core: L1 and L2 are private, L3 is shared package-wide. */
	sharing = level >= 3 ? cpuid_min((1u << t->core_shift) - 1, 0xfff) : 0;
	e->eax = (e->eax & ~(0xfffu << 14)) | (sharing << 14);
	if (intel_cores) {
		/* EAX[31:26]: addressable core ids in the package, minus one. */
		unsigned int cores = cpuid_min((1u << t->core_shift) - 1, 0x3f);

		e->eax = (e->eax & 0x03ffffff) | (cores << 26);
	}
}

/* Leaf 0xB and 0x1F: x2APIC topology, one thread per core, ncpus cores. */
static void cpuid_x2apic_topo(struct kvm_cpuid_entry2 *e, const struct cpuid_topo *t)
{
	switch (e->index) {
	case 0:
		e->eax = 0; /* no SMT bits in the x2APIC id */
		e->ebx = 1;
		e->ecx = (TOPO_LEVEL_SMT << 8) | 0;
		break;
	case 1:
		e->eax = t->core_shift;
		e->ebx = t->ncpus & 0xffff;
		e->ecx = (TOPO_LEVEL_CORE << 8) | 1;
		break;
	default:
		/* Level type 0 (invalid) ends the enumeration; ECX[7:0] echoes the subleaf. */
		e->eax = 0;
		e->ebx = 0;
		e->ecx = e->index & 0xff;
		break;
	}
	e->edx = t->index;
}

static void cpuid_entry(struct kvm_cpuid_entry2 *e, const struct cpuid_topo *t)
{
	switch (e->function) {
	case 0x1:
		cpuid_leaf1(e, t);
		break;
	case 0x4:
		cpuid_cache(e, t, true);
		break;
	case 0x5: /* MONITOR/MWAIT parameters: hidden with the feature */
	case 0xa: /* architectural PMU: none virtualised */
	case 0x12: /* SGX: no EPC is set up */
	case 0x14: /* Intel PT */
	case 0x1c: /* architectural LBR */
	case 0x23: /* architectural PMU extensions */
		cpuid_zero(e);
		break;
	case 0x7:
		if (e->index == 0) {
			e->ebx &= ~L7_EBX_INTEL_PT;
			e->ecx &= ~L7_ECX_WAITPKG;
			e->edx &= ~(L7_EDX_HYBRID | L7_EDX_ARCH_LBR);
		}
		break;
	case 0xb:
	case 0x1f:
		/*
		 * Entries cannot be added in place, so a leaf KVM gave without a
		 * core-level subleaf is hidden whole (EBX = 0 at subleaf 0 means
		 * "not supported") and the guest reads topology from leaves 1 and 4.
		 */
		if (e->function == 0xb ? t->leaf_b : t->leaf_1f)
			cpuid_x2apic_topo(e, t);
		else
			cpuid_zero(e);
		break;
	case 0x80000001:
		e->ecx &= ~X1_ECX_HIDE;
		if (t->amd && t->ncpus > 1)
			e->ecx |= X1_ECX_CMP_LEGACY;
		else
			e->ecx &= ~X1_ECX_CMP_LEGACY;
		break;
	case 0x80000008:
		/*
		 * AMD: ECX[15:12] ApicIdCoreIdSize, ECX[7:0] NC = cores - 1. The
		 * register is reserved on Intel, so it is left as KVM gave it.
		 */
		if (t->amd)
			e->ecx = (e->ecx & ~0xf0ffu) | ((t->core_shift & 0xf) << 12) |
				 (cpuid_min(t->ncpus - 1, 0xff));
		break;
	case 0x8000000a: /* SVM features: hidden with SVM */
	case 0x80000022: /* AMD PerfMonV2 */
		cpuid_zero(e);
		break;
	case 0x8000001d:
		if (t->amd)
			cpuid_cache(e, t, false);
		break;
	case 0x8000001e:
		if (!t->amd)
			break; /* reserved on Intel */
		/*
		 * AMD extended APIC id: EAX = x2APIC id; EBX[7:0] core id,
		 * EBX[15:8] threads per core - 1; ECX node 0 of 1 per package.
		 */
		e->eax = t->index;
		e->ebx = t->index & 0xff;
		e->ecx = 0;
		e->edx = 0;
		break;
	default:
		/* Everything else, the KVM leaves 0x4000000x included, is kept as KVM reports it. */
		break;
	}
}

int cpuid_filter(struct kvm_cpuid2 *c, unsigned int index, unsigned int ncpus)
{
	struct cpuid_topo t = { .index = index, .ncpus = ncpus };

	if (!c || ncpus == 0 || index >= ncpus)
		return -EINVAL;
	while (t.core_shift < 32 && (1ull << t.core_shift) < ncpus)
		t.core_shift++;
	t.amd = cpuid_vendor_is(c, "AuthenticAMD") || cpuid_vendor_is(c, "HygonGenuine");
	t.leaf_b = cpuid_has(c, 0xb, 0) && cpuid_has(c, 0xb, 1);
	t.leaf_1f = cpuid_has(c, 0x1f, 0) && cpuid_has(c, 0x1f, 1);
	for (uint32_t i = 0; i < c->nent; i++)
		cpuid_entry(&c->entries[i], &t);
	return 0;
}

// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the CPUID filter on synthetic Intel and AMD leaf sets, and on
 * the host's real KVM_GET_SUPPORTED_CPUID when /dev/kvm answers.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cmocka.h>

#include "cpuid.h"

#define BIT(n) (1u << (n))
#define MAX_ENT 64

struct leaf {
	uint32_t fn, idx, eax, ebx, ecx, edx;
};

static struct kvm_cpuid2 *make(const struct leaf *l, size_t n)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

	assert_non_null(c);
	c->nent = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		e->function = l[i].fn;
		e->index = l[i].idx;
		e->eax = l[i].eax;
		e->ebx = l[i].ebx;
		e->ecx = l[i].ecx;
		e->edx = l[i].edx;
		if (l[i].fn == 4 || l[i].fn == 7 || l[i].fn == 0xb || l[i].fn == 0xd ||
		    l[i].fn == 0x1f || l[i].fn == 0x8000001d)
			e->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
	}
	return c;
}

static struct kvm_cpuid2 *clone(const struct kvm_cpuid2 *c)
{
	size_t sz = sizeof(*c) + c->nent * sizeof(c->entries[0]);
	struct kvm_cpuid2 *d = malloc(sz);

	assert_non_null(d);
	memcpy(d, c, sz);
	return d;
}

static const struct kvm_cpuid_entry2 *get_opt(const struct kvm_cpuid2 *c, uint32_t fn,
					      uint32_t idx)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	return NULL;
}

static const struct kvm_cpuid_entry2 *get(const struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	const struct kvm_cpuid_entry2 *e = get_opt(c, fn, idx);

	if (!e) {
		fail_msg("leaf 0x%x.%u missing", fn, idx);
		abort(); /* not reached: fail_msg() leaves the test */
	}
	return e;
}

/* Leaf values in the shape a host's KVM_GET_SUPPORTED_CPUID returns them. */
static const struct leaf intel_leaves[] = {
	{ 0x0, 0, 0x1f, 0x756e6547, 0x6c65746e, 0x49656e69 }, /* GenuineIntel */
	/* host APIC id 7, 16 logical ids; SSE3, MONITOR, VMX, PDCM, AVX; HTT, SSE2 */
	{ 0x1, 0, 0x000906ea, 0x07100800, BIT(0) | BIT(3) | BIT(5) | BIT(15) | BIT(28),
	  BIT(26) | BIT(28) | BIT(21) },
	{ 0x4, 0, 0x1c004121, 0x01c0003f, 0x3f, 0 }, /* L1d, 8 cores, 2 sharing */
	{ 0x4, 1, 0x1c004122, 0x01c0003f, 0x3f, 0 }, /* L1i */
	{ 0x4, 2, 0x1c004143, 0x00c0003f, 0x3ff, 0 }, /* L2 */
	{ 0x4, 3, 0x1c03c163, 0x02c0003f, 0x2fff, 6 }, /* L3, 16 sharing */
	{ 0x4, 4, 0, 0, 0, 0 },
	{ 0x5, 0, 0x40, 0x40, 3, 0x11142120 },
	{ 0x6, 0, BIT(2), 0, 0, 0 },
	{ 0x7, 0, 0, BIT(5) | BIT(25), BIT(5), BIT(15) | BIT(19) | BIT(26) },
	{ 0xa, 0, 0x07300805, 0, 0, 0x603 },
	{ 0xb, 0, 1, 2, 0x100, 7 },
	{ 0xb, 1, 4, 8, 0x201, 7 },
	{ 0xb, 2, 0, 0, 2, 7 },
	{ 0xd, 0, 0x7, 0x340, 0x340, 0 },
	{ 0x1f, 0, 1, 2, 0x100, 7 },
	{ 0x1f, 1, 4, 8, 0x201, 7 },
	{ 0x1f, 2, 0, 0, 2, 7 },
	{ 0x40000000, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d },
	{ 0x40000001, 0, 0x01007afb, 0, 0, 0 },
	{ 0x80000000, 0, 0x80000008, 0, 0, 0 },
	{ 0x80000001, 0, 0, 0, BIT(0) | BIT(5) | BIT(8), BIT(11) | BIT(20) | BIT(29) },
	{ 0x80000008, 0, 0x3027, 0, 0, 0 },
};

static const struct leaf amd_leaves[] = {
	{ 0x0, 0, 0x10, 0x68747541, 0x444d4163, 0x69746e65 }, /* AuthenticAMD */
	{ 0x1, 0, 0x00a20f10, 0x0a100800, BIT(0) | BIT(3) | BIT(28), BIT(26) | BIT(28) },
	{ 0x5, 0, 0x40, 0x40, 3, 0x11 },
	{ 0x7, 0, 0, BIT(5), 0, 0 },
	{ 0xd, 0, 0x7, 0x340, 0x340, 0 },
	{ 0x40000000, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d },
	{ 0x40000001, 0, 0x01007afb, 0, 0, 0 },
	{ 0x80000000, 0, 0x80000022, 0x68747541, 0x444d4163, 0x69746e65 },
	/* CmpLegacy, SVM, TopoExt, PerfCtrCore, PerfCtrNB, MWAITX */
	{ 0x80000001, 0, 0x00a20f10, 0,
	  BIT(0) | BIT(1) | BIT(2) | BIT(22) | BIT(23) | BIT(24) | BIT(29), BIT(11) },
	{ 0x80000008, 0, 0x3030, 0, 0x0003400f, 0 }, /* PerfTscSize, 16-core id size, NC 15 */
	{ 0x8000000a, 0, 1, 0x8000, 0, 0x1ebfbcff },
	{ 0x8000001d, 0, 0x00004121, 0x01c0003f, 0x3f, 0 },
	{ 0x8000001d, 1, 0x00004122, 0x01c0003f, 0x3f, 0 },
	{ 0x8000001d, 2, 0x00004143, 0x01c0003f, 0x3ff, 2 },
	{ 0x8000001d, 3, 0x0003c163, 0x03c0003f, 0x7fff, 1 },
	{ 0x8000001d, 4, 0, 0, 0, 0 },
	{ 0x8000001e, 0, 0x0a, 0x0105, 0, 0 },
	{ 0x80000022, 0, 0x7, 0x5106, 0, 0 },
};

#define NLEAVES(a) (sizeof(a) / sizeof((a)[0]))

static unsigned int pow2_at_least(unsigned int n)
{
	unsigned int p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

static unsigned int log2_of(unsigned int p)
{
	unsigned int s = 0;

	while ((1u << s) < p)
		s++;
	return s;
}

/* Invariants that must hold on any input: ids, hypervisor bit, hidden features. */
static void check_common(const struct kvm_cpuid2 *c, unsigned int index, unsigned int ncpus)
{
	const struct kvm_cpuid_entry2 *e;
	unsigned int p2 = pow2_at_least(ncpus);

	bool amd = get(c, 0, 0)->ebx == 0x68747541; /* "Auth" */
	bool topo_b = get_opt(c, 0xb, 1) != NULL, topo_1f = get_opt(c, 0x1f, 1) != NULL;

	e = get(c, 1, 0);
	assert_int_equal(e->ebx >> 24, index & 0xff);
	assert_int_equal((e->ebx >> 16) & 0xff, p2 > 0xff ? 0xff : p2);
	assert_int_equal(!!(e->edx & BIT(28)), ncpus > 1);
	assert_true(e->ecx & BIT(31));
	assert_false(e->ecx & BIT(3)); /* MONITOR */
	assert_false(e->ecx & BIT(5)); /* VMX */
	assert_false(e->ecx & BIT(15)); /* PDCM */

	for (uint32_t i = 0; i < c->nent; i++) {
		e = &c->entries[i];
		if (e->function == 0xa || e->function == 5) {
			assert_int_equal(e->eax | e->ebx | e->ecx | e->edx, 0);
		} else if ((e->function == 0xb && !topo_b) || (e->function == 0x1f && !topo_1f)) {
			/* Without a core level the leaf is hidden whole. */
			assert_int_equal(e->eax | e->ebx | e->ecx | e->edx, 0);
		} else if (e->function == 0xb || e->function == 0x1f) {
			assert_int_equal(e->edx, index);
			if (e->index == 0) {
				assert_int_equal(e->eax, 0);
				assert_int_equal(e->ebx, 1);
				assert_int_equal(e->ecx, 0x100);
			} else if (e->index == 1) {
				assert_int_equal(e->eax, log2_of(p2));
				assert_int_equal(e->ebx, ncpus);
				assert_int_equal(e->ecx, 0x201);
			} else {
				assert_int_equal((e->ecx >> 8) & 0xff, 0);
				assert_int_equal(e->ebx, 0);
			}
		} else if (e->function == 0x4 && (e->eax & 0x1f)) {
			unsigned int level = (e->eax >> 5) & 7;

			assert_int_equal(e->eax >> 26, p2 - 1 > 63 ? 63 : p2 - 1);
			assert_int_equal((e->eax >> 14) & 0xfff, level >= 3 ? p2 - 1 : 0);
		} else if (e->function == 0x80000001) {
			assert_false(e->ecx & (BIT(2) | BIT(23) | BIT(24) | BIT(28) | BIT(29)));
		} else if (e->function == 0x8000001e && amd) {
			assert_int_equal(e->eax, index);
			assert_int_equal(e->ebx & 0xff, index & 0xff);
			assert_int_equal((e->ebx >> 8) & 0xff, 0);
		}
	}
}

/* Every vCPU sees the same features: only the id fields may differ. */
static void check_same_features(const struct kvm_cpuid2 *a, const struct kvm_cpuid2 *b)
{
	assert_int_equal(a->nent, b->nent);
	for (uint32_t i = 0; i < a->nent; i++) {
		struct kvm_cpuid_entry2 x = a->entries[i], y = b->entries[i];

		if (x.function == 1) {
			x.ebx &= 0x00ffffff;
			y.ebx &= 0x00ffffff;
		} else if (x.function == 0xb || x.function == 0x1f) {
			x.edx = y.edx = 0;
		} else if (x.function == 0x8000001e) {
			x.eax = y.eax = 0;
			x.ebx = y.ebx = 0;
		}
		assert_memory_equal(&x, &y, sizeof(x));
	}
}

static const unsigned int cases[][2] = {
	{ 0, 1 }, { 0, 2 }, { 1, 2 }, { 0, 4 }, { 3, 4 }, { 5, 8 }, { 6, 7 },
	{ 0, 255 }, { 254, 255 }, { 300, 512 },
};

static void run_cases(const struct leaf *l, size_t n, bool amd)
{
	struct kvm_cpuid2 *orig = make(l, n);

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		unsigned int index = cases[k][0], ncpus = cases[k][1];
		struct kvm_cpuid2 *c = clone(orig), *c0 = clone(orig), *again;
		const struct kvm_cpuid_entry2 *e, *o;

		assert_int_equal(cpuid_filter(c, index, ncpus), 0);
		check_common(c, index, ncpus);

		/* The paravirt leaves pass through untouched. */
		assert_memory_equal(get(c, 0x40000000, 0), get(orig, 0x40000000, 0),
				    sizeof(struct kvm_cpuid_entry2));
		assert_memory_equal(get(c, 0x40000001, 0), get(orig, 0x40000001, 0),
				    sizeof(struct kvm_cpuid_entry2));
		/* Unrelated bits survive: SSE3, AVX, brand index/CLFLUSH, SSE2. */
		e = get(c, 1, 0);
		o = get(orig, 1, 0);
		assert_int_equal(e->ecx & (BIT(0) | BIT(28)), o->ecx & (BIT(0) | BIT(28)));
		assert_int_equal(e->ebx & 0xffff, o->ebx & 0xffff);
		assert_true(e->edx & BIT(26));
		e = get(c, 7, 0);
		assert_true(e->ebx & BIT(5)); /* AVX2 kept */
		assert_false(e->ebx & BIT(25)); /* Intel PT hidden */
		assert_false(e->ecx & BIT(5)); /* WAITPKG hidden */

		if (amd) {
			e = get(c, 0x80000008, 0);
			assert_int_equal(e->ecx & 0xff, ncpus - 1 > 255 ? 255 : ncpus - 1);
			assert_int_equal((e->ecx >> 12) & 0xf, log2_of(pow2_at_least(ncpus)));
			assert_int_equal(e->ecx & 0x30000, 0x30000); /* PerfTscSize kept */
			e = get(c, 0x80000001, 0);
			assert_int_equal(!!(e->ecx & BIT(1)), ncpus > 1);
			assert_true(e->ecx & BIT(22)); /* TopologyExtensions kept */
			e = get(c, 0x8000000a, 0);
			assert_int_equal(e->eax | e->ebx | e->ecx | e->edx, 0);
			e = get(c, 0x8000001d, 3);
			assert_int_equal((e->eax >> 14) & 0xfff, pow2_at_least(ncpus) - 1);
			e = get(c, 0x8000001d, 0);
			assert_int_equal((e->eax >> 14) & 0xfff, 0);
			assert_int_equal(e->eax >> 26, 0); /* reserved on AMD: untouched */
		} else {
			/* Reserved on Intel: left as KVM reported it. */
			assert_memory_equal(get(c, 0x80000008, 0), get(orig, 0x80000008, 0),
					    sizeof(struct kvm_cpuid_entry2));
		}

		/* Same features on vCPU 0; refiltering a filtered set changes only ids. */
		assert_int_equal(cpuid_filter(c0, 0, ncpus), 0);
		check_same_features(c, c0);
		again = clone(c);
		assert_int_equal(cpuid_filter(again, 0, ncpus), 0);
		assert_memory_equal(again, c0, sizeof(*c0) + n * sizeof(c0->entries[0]));
		free(again);
		free(c0);
		free(c);
	}
	free(orig);
}

static void test_intel(void **state)
{
	(void)state;
	run_cases(intel_leaves, NLEAVES(intel_leaves), false);
}

static void test_amd(void **state)
{
	(void)state;
	run_cases(amd_leaves, NLEAVES(amd_leaves), true);
}

/* KVM may give 0xB with subleaf 0 only (seen on software KVM): no half topology. */
static void test_leaf_b_without_core_level(void **state)
{
	static const struct leaf l[] = {
		{ 0x0, 0, 0x1c, 0x756e6547, 0x6c65746e, 0x49656e69 },
		{ 0x1, 0, 0x000c06f2, 0x00020800, 0x81202000, 0x0f8bfbff },
		{ 0xb, 0, 1, 2, 0x100, 3 },
		{ 0x8000001e, 0, 5, 6, 7, 8 },
	};
	struct kvm_cpuid2 *c = make(l, NLEAVES(l));
	const struct kvm_cpuid_entry2 *e;

	(void)state;
	assert_int_equal(cpuid_filter(c, 2, 4), 0);
	check_common(c, 2, 4);
	e = get(c, 0xb, 0);
	assert_int_equal(e->eax | e->ebx | e->ecx | e->edx, 0);
	e = get(c, 0x8000001e, 0); /* reserved on Intel: untouched */
	assert_int_equal(e->eax, 5);
	assert_int_equal(e->ebx, 6);
	free(c);
}

static void test_bad_args(void **state)
{
	struct kvm_cpuid2 *c = make(intel_leaves, NLEAVES(intel_leaves));
	struct kvm_cpuid2 *orig = clone(c);
	size_t sz = sizeof(*c) + c->nent * sizeof(c->entries[0]);

	(void)state;
	assert_int_equal(cpuid_filter(NULL, 0, 1), -EINVAL);
	assert_int_equal(cpuid_filter(c, 0, 0), -EINVAL);
	assert_int_equal(cpuid_filter(c, 4, 4), -EINVAL);
	assert_int_equal(cpuid_filter(c, UINT32_MAX, 4), -EINVAL);
	assert_memory_equal(c, orig, sz); /* nothing modified on error */
	free(orig);
	free(c);
}

static void test_empty(void **state)
{
	struct kvm_cpuid2 c = { .nent = 0 };

	(void)state;
	assert_int_equal(cpuid_filter(&c, 0, 1), 0);
}

/* The host's real supported set, filtered, must keep the invariants and be accepted by KVM. */
static void test_real_kvm(void **state)
{
	struct kvm_cpuid2 *c = NULL, *v[4];
	int kvm, vm = -1, vcpu = -1;
	uint32_t nent = 128;

	(void)state;
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		printf("SKIP: /dev/kvm not available\n");
		skip();
	}
	for (;;) {
		c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
		assert_non_null(c);
		c->nent = nent;
		if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, c) == 0)
			break;
		free(c);
		c = NULL;
		if (errno != E2BIG || nent >= 4096)
			break;
		nent *= 2;
	}
	if (!c) {
		close(kvm);
		printf("SKIP: KVM_GET_SUPPORTED_CPUID failed\n");
		skip();
	}
	for (unsigned int i = 0; i < 4; i++) {
		v[i] = clone(c);
		assert_int_equal(cpuid_filter(v[i], i, 4), 0);
		check_common(v[i], i, 4);
		if (get_opt(c, 0x40000000, 0))
			assert_memory_equal(get(v[i], 0x40000000, 0), get(c, 0x40000000, 0),
					    sizeof(struct kvm_cpuid_entry2));
		if (i)
			check_same_features(v[i], v[0]);
	}
	/* KVM accepts the filtered set for a vCPU. */
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm >= 0)
		vcpu = ioctl(vm, KVM_CREATE_VCPU, 3);
	if (vcpu >= 0)
		assert_int_equal(ioctl(vcpu, KVM_SET_CPUID2, v[3]), 0);
	else
		printf("note: could not create a vCPU, KVM_SET_CPUID2 not tried\n");
	if (vcpu >= 0)
		close(vcpu);
	if (vm >= 0)
		close(vm);
	for (unsigned int i = 0; i < 4; i++)
		free(v[i]);
	free(c);
	close(kvm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_intel),
		cmocka_unit_test(test_amd),
		cmocka_unit_test(test_leaf_b_without_core_level),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_real_kvm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

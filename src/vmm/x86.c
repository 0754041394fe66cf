// SPDX-License-Identifier: Apache-2.0
/* x86-64 specifics: boot page tables and GDT, vCPU registers, MSRs, LAPIC, register dumps. */
#include "x86.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "cpuid.h"
#include "layout.h"
#include "util.h"

#define CR0_PE (1ULL << 0)
#define CR0_ET (1ULL << 4)
#define CR0_NE (1ULL << 5)
#define CR0_PG (1ULL << 31)
#define CR4_PAE (1ULL << 5)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)
#define PTE_P (1ULL << 0)
#define PTE_RW (1ULL << 1)
#define PTE_PS (1ULL << 7)

#define SEL_CODE 0x10 /* __BOOT_CS, Documentation/arch/x86/boot.rst */
#define SEL_DATA 0x18 /* __BOOT_DS */
#define SEL_TSS 0x20

#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SYSCALL_MASK 0xc0000084
#define MSR_KERNEL_GS_BASE 0xc0000102

#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7

static uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000) << 32) | ((uint64_t)(flags & 0xf0ff) << 40) |
	       ((uint64_t)(limit & 0x000f0000) << 32) | ((uint64_t)(base & 0x00ffffff) << 16) |
	       (uint64_t)(limit & 0x0000ffff);
}

int arch_write_boot_tables(struct vm *vm)
{
	uint64_t gdt[5] = {
		0,
		0,
		gdt_entry(0xa09b, 0, 0xfffff), /* 64-bit code, present, DPL 0 */
		gdt_entry(0xc093, 0, 0xfffff), /* data, 4 GiB flat */
		gdt_entry(0x808b, 0, 0xfffff), /* busy 64-bit TSS: VMX needs a usable TR */
	};
	uint64_t *pml4 = vm_gpa(vm, LAYOUT_PML4, 4096);
	uint64_t *pdpt = vm_gpa(vm, LAYOUT_PDPT, 4096);
	uint64_t *pd = vm_gpa(vm, LAYOUT_PD, 4 * 4096);
	void *g = vm_gpa(vm, LAYOUT_GDT, sizeof(gdt));

	if (!pml4 || !pdpt || !pd || !g)
		return -EFAULT;
	memcpy(g, gdt, sizeof(gdt));
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = LAYOUT_PDPT | PTE_P | PTE_RW;
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (LAYOUT_PD + i * 4096) | PTE_P | PTE_RW;
	/* 2 MiB pages: 1 GiB pages (pdpe1gb) are not on every host. */
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | PTE_P | PTE_RW | PTE_PS;
	return 0;
}

static int set_cpuid(struct vcpu *v, char *err, size_t errlen)
{
	struct vm *vm = v->vm;
	size_t sz = sizeof(*vm->cpuid) + vm->cpuid->nent * sizeof(vm->cpuid->entries[0]);
	struct kvm_cpuid2 *c = malloc(sz);
	int ret;

	if (!c)
		return util_fail(-ENOMEM, err, errlen, "out of memory");
	memcpy(c, vm->cpuid, sz);
	ret = cpuid_filter(c, v->index, vm->ncpus);
	if (ret == 0 && ioctl(v->fd, KVM_SET_CPUID2, c) < 0)
		ret = -errno;
	free(c);
	if (ret < 0)
		return util_fail(ret, err, errlen, "setting CPUID of vCPU %u: %s", v->index, strerror(-ret));
	return 0;
}

static int set_msrs(struct vcpu *v, char *err, size_t errlen)
{
	static const struct { uint32_t index; uint64_t data; } init[] = {
		{ MSR_IA32_SYSENTER_CS, 0 },
		{ MSR_IA32_SYSENTER_ESP, 0 },
		{ MSR_IA32_SYSENTER_EIP, 0 },
		{ MSR_STAR, 0 },
		{ MSR_LSTAR, 0 },
		{ MSR_CSTAR, 0 },
		{ MSR_SYSCALL_MASK, 0 },
		{ MSR_KERNEL_GS_BASE, 0 },
		{ MSR_IA32_MISC_ENABLE, 1 }, /* fast strings */
		{ MSR_MTRR_DEF_TYPE, (1 << 11) | 6 }, /* MTRRs enabled, default write-back */
	};
	/* struct kvm_msrs ends in a flexible array: give it room in an aligned buffer. */
	union {
		struct kvm_msrs hdr;
		uint8_t bytes[sizeof(struct kvm_msrs) + ARRAY_SIZE(init) * sizeof(struct kvm_msr_entry)];
	} m;
	int n;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = ARRAY_SIZE(init);
	for (size_t i = 0; i < ARRAY_SIZE(init); i++) {
		m.hdr.entries[i].index = init[i].index;
		m.hdr.entries[i].data = init[i].data;
	}
	n = ioctl(v->fd, KVM_SET_MSRS, &m.hdr);
	if (n < 0 || (size_t)n != ARRAY_SIZE(init))
		return util_fail(-EINVAL, err, errlen, "KVM_SET_MSRS on vCPU %u: MSR %#x refused", v->index,
			    n < 0 ? 0 : init[n].index);
	return 0;
}

static int set_lapic(struct vcpu *v, char *err, size_t errlen)
{
	struct kvm_lapic_state s;
	uint32_t lvt;

	if (ioctl(v->fd, KVM_GET_LAPIC, &s) < 0)
		return util_fail(-errno, err, errlen, "KVM_GET_LAPIC: %s", strerror(errno));
	/* As a PC BIOS leaves them: LINT0 carries the PIC (ExtINT), LINT1 the NMI. */
	memcpy(&lvt, &s.regs[APIC_LVT_LINT0], 4);
	lvt = (lvt & ~0x700U) | (APIC_MODE_EXTINT << 8);
	memcpy(&s.regs[APIC_LVT_LINT0], &lvt, 4);
	memcpy(&lvt, &s.regs[APIC_LVT_LINT1], 4);
	lvt = (lvt & ~0x700U) | (APIC_MODE_NMI << 8);
	memcpy(&s.regs[APIC_LVT_LINT1], &lvt, 4);
	if (ioctl(v->fd, KVM_SET_LAPIC, &s) < 0)
		return util_fail(-errno, err, errlen, "KVM_SET_LAPIC: %s", strerror(errno));
	return 0;
}

int arch_vcpu_init(struct vcpu *v, char *err, size_t errlen)
{
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };
	int ret;

	ret = set_cpuid(v, err, errlen);
	if (ret < 0)
		return ret;
	ret = set_msrs(v, err, errlen);
	if (ret < 0)
		return ret;
	if (ioctl(v->fd, KVM_SET_FPU, &fpu) < 0)
		return util_fail(-errno, err, errlen, "KVM_SET_FPU: %s", strerror(errno));
	return set_lapic(v, err, errlen);
}

static void seg(struct kvm_segment *s, uint16_t sel, uint8_t type, uint8_t l, uint8_t db)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->dpl = 0;
	s->db = db;
	s->s = 1;
	s->l = l;
	s->g = 1;
}

int arch_vcpu_boot_regs(struct vcpu *v, uint64_t entry, uint64_t boot_params, char *err,
			size_t errlen)
{
	struct kvm_sregs sr;
	struct kvm_regs r;

	if (ioctl(v->fd, KVM_GET_SREGS, &sr) < 0)
		return util_fail(-errno, err, errlen, "KVM_GET_SREGS: %s", strerror(errno));
	seg(&sr.cs, SEL_CODE, 0xb, 1, 0);
	seg(&sr.ds, SEL_DATA, 0x3, 0, 1);
	sr.es = sr.fs = sr.gs = sr.ss = sr.ds;
	memset(&sr.tr, 0, sizeof(sr.tr));
	sr.tr.selector = SEL_TSS;
	sr.tr.limit = 0xfffff;
	sr.tr.type = 0xb;
	sr.tr.present = 1;
	sr.tr.g = 1;
	sr.gdt.base = LAYOUT_GDT;
	sr.gdt.limit = 5 * 8 - 1;
	sr.idt.base = 0;
	sr.idt.limit = 0; /* any exception before Linux loads its IDT is a triple fault */
	sr.cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_PG;
	sr.cr3 = LAYOUT_PML4;
	sr.cr4 = CR4_PAE;
	sr.efer = EFER_LME | EFER_LMA;
	if (ioctl(v->fd, KVM_SET_SREGS, &sr) < 0)
		return util_fail(-errno, err, errlen, "KVM_SET_SREGS: %s", strerror(errno));
	memset(&r, 0, sizeof(r));
	r.rflags = 0x2;
	r.rip = entry;
	r.rsi = boot_params;
	r.rsp = r.rbp = LAYOUT_BOOT_STACK;
	if (ioctl(v->fd, KVM_SET_REGS, &r) < 0)
		return util_fail(-errno, err, errlen, "KVM_SET_REGS: %s", strerror(errno));
	return 0;
}

void arch_dump_regs(struct vcpu *v, FILE *f, const char *prefix)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
		fprintf(f, "%s(registers unavailable: %s)\n", prefix, strerror(errno));
		return;
	}
	fprintf(f, "%srip=%016llx rsp=%016llx rflags=%08llx\n", prefix, r.rip, r.rsp, r.rflags);
	fprintf(f, "%srax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx\n", prefix, r.rax, r.rbx,
		r.rcx, r.rdx);
	fprintf(f, "%srsi=%016llx rdi=%016llx rbp=%016llx r8=%016llx\n", prefix, r.rsi, r.rdi,
		r.rbp, r.r8);
	fprintf(f, "%scr0=%016llx cr2=%016llx cr3=%016llx cr4=%016llx efer=%llx\n", prefix, s.cr0,
		s.cr2, s.cr3, s.cr4, s.efer);
	fprintf(f, "%scs=%04x(base %llx l=%u) ss=%04x gdt=%llx/%x idt=%llx/%x\n", prefix,
		s.cs.selector, s.cs.base, s.cs.l, s.ss.selector, s.gdt.base, s.gdt.limit, s.idt.base,
		s.idt.limit);
}

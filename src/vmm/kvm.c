// SPDX-License-Identifier: Apache-2.0
/* One KVM virtual machine: the VM fd, guest RAM in a memfd, buses and the stop signal. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "irq.h"
#include "layout.h"
#include "util.h"
#include "vm.h"

#define KVM_MAX_CPUID_ENTRIES 256
#define HUGE_ALIGN (2ULL << 20)

unsigned int vm_max_vcpus(int kvm_fd)
{
	int n = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);

	if (n <= 0)
		n = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	return n > 0 ? (unsigned int)n : 1;
}

static int set_slot(struct vm *vm, uint32_t slot, uint64_t gpa, uint64_t size, uint8_t *host)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)host,
	};

	return ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno : 0;
}

static int map_memory(struct vm *vm, uint64_t mem_size, char *err, size_t errlen)
{
	int ret;

	vm->mem_fd = memfd_create("bulwark-guest-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (vm->mem_fd < 0)
		return util_fail(-errno, err, errlen, "memfd_create: %s", strerror(errno));
	if (ftruncate(vm->mem_fd, (off_t)mem_size) < 0)
		return util_fail(-errno, err, errlen, "cannot size guest RAM to %llu MiB: %s",
			    (unsigned long long)(mem_size / MiB), strerror(errno));
	/* The size is fixed for the VM's life: nobody holding the fd may shrink it under us. */
	if (fcntl(vm->mem_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		return util_fail(-errno, err, errlen, "sealing guest RAM: %s", strerror(errno));
	/*
	 * Map at a 2 MiB-aligned address so that guest RAM can be backed by huge pages
	 * (and KVM can map it with 2 MiB guest-physical pages): reserve a little more,
	 * place the memfd inside at the aligned spot, give the rest back.
	 */
	uint8_t *res = mmap(NULL, mem_size + HUGE_ALIGN, PROT_NONE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED)
		return util_fail(-errno, err, errlen, "cannot reserve %llu MiB for guest RAM: %s",
				 (unsigned long long)(mem_size / MiB), strerror(errno));
	uint8_t *at = (uint8_t *)ALIGN_UP((uintptr_t)res, (uintptr_t)HUGE_ALIGN);
	vm->mem = mmap(at, mem_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE | MAP_FIXED,
		       vm->mem_fd, 0);
	if (vm->mem == MAP_FAILED) {
		int e = errno;

		munmap(res, mem_size + HUGE_ALIGN);
		vm->mem = NULL;
		return util_fail(-e, err, errlen, "cannot map %llu MiB of guest RAM: %s",
				 (unsigned long long)(mem_size / MiB), strerror(e));
	}
	if (at > res)
		munmap(res, (size_t)(at - res));
	if (res + HUGE_ALIGN > at)
		munmap(at + mem_size, (size_t)(res + HUGE_ALIGN - at));
	vm->mem_size = mem_size;
	/* Guest RAM is not interesting in a core dump of the VMM, and may be secret. */
	madvise(vm->mem, mem_size, MADV_DONTDUMP);
	/*
	 * Huge pages cut the nested page faults of a boot by ~400x where the host allows
	 * them for shmem (transparent_hugepage/shmem_enabled = advise); elsewhere a no-op.
	 */
	madvise(vm->mem, mem_size, MADV_HUGEPAGE);
	vm->low_size = mem_size < LAYOUT_MMIO32_START ? mem_size : LAYOUT_MMIO32_START;
	ret = set_slot(vm, 0, 0, vm->low_size, vm->mem);
	if (ret == 0 && mem_size > vm->low_size)
		ret = set_slot(vm, 1, LAYOUT_4G, mem_size - vm->low_size, vm->mem + vm->low_size);
	if (ret < 0)
		return util_fail(ret, err, errlen, "KVM_SET_USER_MEMORY_REGION: %s", strerror(-ret));
	return 0;
}

int vm_open(struct vm *vm, unsigned int ncpus, uint64_t mem_size, char *err, size_t errlen)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	unsigned int max;
	int ret;

	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = vm->vm_fd = vm->mem_fd = vm->stop_efd = -1;
	bus_init(&vm->pio);
	bus_init(&vm->mmio);
	pthread_mutex_init(&vm->pause_lock, NULL);
	pthread_mutex_init(&vm->irq_lock, NULL);
	pthread_cond_init(&vm->pause_cond, NULL);
	vm->ncpus = ncpus;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return util_fail(-errno, err, errlen, "cannot open /dev/kvm: %s%s", strerror(errno),
			    errno == EACCES ? " (add the user to the kvm group)" :
			    errno == ENOENT ? " (is the kvm module loaded?)" : "");
	ret = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (ret != KVM_API_VERSION)
		return util_fail(-EINVAL, err, errlen, "KVM API version %d, need %d", ret, KVM_API_VERSION);
	static const struct { int cap; const char *name; } caps[] = {
		{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
		{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
		{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
		{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
		{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
		{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(caps); i++)
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, caps[i].cap) <= 0)
			return util_fail(-ENOTSUP, err, errlen, "this KVM lacks %s", caps[i].name);
	max = vm_max_vcpus(vm->kvm_fd);
	if (ncpus > max)
		return util_fail(-E2BIG, err, errlen, "%u vCPUs requested; this host's KVM allows %u",
			    ncpus, max);
	ret = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (ret <= 0)
		return util_fail(-EINVAL, err, errlen, "KVM_GET_VCPU_MMAP_SIZE failed");
	vm->run_size = (size_t)ret;

	vm->cpuid = calloc(1, sizeof(*vm->cpuid) +
				      KVM_MAX_CPUID_ENTRIES * sizeof(vm->cpuid->entries[0]));
	if (!vm->cpuid)
		return util_fail(-ENOMEM, err, errlen, "out of memory");
	vm->cpuid->nent = KVM_MAX_CPUID_ENTRIES;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, vm->cpuid) < 0)
		return util_fail(-errno, err, errlen, "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));

	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return util_fail(-errno, err, errlen, "KVM_CREATE_VM: %s", strerror(errno));
	/* Intel needs these three pages below 4 GiB for real-mode emulation; AMD ignores them. */
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)LAYOUT_KVM_TSS) < 0)
		return util_fail(-errno, err, errlen, "KVM_SET_TSS_ADDR: %s", strerror(errno));
	uint64_t idmap = LAYOUT_KVM_IDENTITY_MAP;
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0 &&
	    ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
		return util_fail(-errno, err, errlen, "KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return util_fail(-errno, err, errlen, "KVM_CREATE_IRQCHIP: %s", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return util_fail(-errno, err, errlen, "KVM_CREATE_PIT2: %s", strerror(errno));

	ret = map_memory(vm, mem_size, err, errlen);
	if (ret < 0)
		return ret;
	if (irq_init(vm) < 0)
		return util_fail(-ENOMEM, err, errlen, "out of memory");
	vm->stop_efd = eventfd(0, EFD_CLOEXEC);
	if (vm->stop_efd < 0)
		return util_fail(-errno, err, errlen, "eventfd: %s", strerror(errno));
	vm->vcpus = calloc(ncpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return util_fail(-ENOMEM, err, errlen, "out of memory");
	for (unsigned int i = 0; i < ncpus; i++)
		vm->vcpus[i].fd = -1;
	return 0;
}

void vm_close(struct vm *vm)
{
	if (vm->vcpus) {
		for (unsigned int i = 0; i < vm->ncpus; i++) {
			if (vm->vcpus[i].run)
				munmap(vm->vcpus[i].run, vm->run_size);
			if (vm->vcpus[i].fd >= 0)
				close(vm->vcpus[i].fd);
		}
		free(vm->vcpus);
	}
	if (vm->mem)
		munmap(vm->mem, vm->mem_size);
	if (vm->mem_fd >= 0)
		close(vm->mem_fd);
	if (vm->stop_efd >= 0)
		close(vm->stop_efd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	free(vm->cpuid);
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	pthread_mutex_destroy(&vm->pause_lock);
	pthread_mutex_destroy(&vm->irq_lock);
	free(vm->irq_routes);
	pthread_cond_destroy(&vm->pause_cond);
	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = vm->vm_fd = vm->mem_fd = vm->stop_efd = -1;
}

void *vm_gpa(struct vm *vm, uint64_t gpa, uint64_t len)
{
	uint64_t high = vm->mem_size - vm->low_size;

	if (len > vm->mem_size)
		return NULL;
	if (gpa < vm->low_size && len <= vm->low_size - gpa)
		return vm->mem + gpa;
	if (gpa >= LAYOUT_4G && gpa - LAYOUT_4G < high && len <= high - (gpa - LAYOUT_4G))
		return vm->mem + vm->low_size + (gpa - LAYOUT_4G);
	return NULL;
}

int vm_irq_line(struct vm *vm, unsigned int irq, int level)
{
	struct kvm_irq_level l = { .irq = irq, .level = (uint32_t)level };

	return ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}

bool vm_request_stop(struct vm *vm, enum vm_stop reason)
{
	int expected = VM_STOP_NONE;
	uint64_t one = 1;

	if (__atomic_compare_exchange_n(&vm->stop_reason, &expected, (int)reason, false,
					__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
		if (write(vm->stop_efd, &one, sizeof(one)) < 0) {
			/* The eventfd counter cannot overflow with one write; nothing to do. */
		}
		return true;
	}
	return false;
}

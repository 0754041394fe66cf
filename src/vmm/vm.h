/* SPDX-License-Identifier: Apache-2.0 */
/* One KVM virtual machine: the VM fd, guest RAM in a memfd, buses, vCPUs and the stop signal. */
#ifndef BULWARK_VMM_VM_H
#define BULWARK_VMM_VM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus.h"

enum vm_stop {
	VM_STOP_NONE,
	VM_STOP_POWEROFF, /* guest wrote S5 to the sleep control register */
	VM_STOP_RESET, /* guest asked for a reset (ACPI reset register, i8042) */
	VM_STOP_ERROR, /* triple fault, internal error, unhandled exit: see the printed line */
	VM_STOP_SIGNAL, /* SIGINT/SIGTERM on the host */
};

struct vcpu {
	struct vm *vm;
	unsigned int index;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	uint64_t exits; /* written by this vCPU's thread only; read racily for stats */
	uint64_t pio_exits;
	uint64_t mmio_exits;
};

struct vm {
	int kvm_fd;
	int vm_fd;
	int mem_fd; /* guest RAM: a sealed-size memfd, shareable with other processes later */
	uint8_t *mem;
	uint64_t mem_size;
	uint64_t low_size; /* RAM mapped at GPA 0; the rest starts at 4 GiB */
	size_t run_size;
	unsigned int ncpus;
	struct vcpu *vcpus;
	struct bus pio;
	struct bus mmio;
	int stop_efd; /* becomes readable when a stop is requested */
	int stop_reason; /* enum vm_stop; the first request wins */
	uint64_t t0_ns; /* process start (main entry), for the timing report */
	int first_run_done;
	struct kvm_cpuid2 *cpuid; /* KVM_GET_SUPPORTED_CPUID, unfiltered */
	/* Pause: vCPU threads park on pause_cond while `paused` is set. */
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;
	int paused;
	unsigned int parked;
	/* GSI routing (irq.c). */
	pthread_mutex_t irq_lock;
	struct kvm_irq_routing_entry *irq_routes;
	unsigned int irq_nroutes;
	uint32_t irq_next_gsi;
};

/*
 * Opens /dev/kvm, checks the API version and capabilities, creates the VM with
 * in-kernel irqchip and PIT, and maps mem_size bytes of guest RAM from a
 * memfd. Returns 0 or -errno with one line in err; on error everything
 * created is released (vm_close is still safe to call).
 */
int vm_open(struct vm *vm, unsigned int ncpus, uint64_t mem_size, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Releases everything vm_open and the vCPUs created. Safe on a zeroed or failed vm. */
void vm_close(struct vm *vm);

/* Maximum vCPUs this host's KVM allows per VM. */
unsigned int vm_max_vcpus(int kvm_fd);

/*
 * Returns a host pointer to guest physical [gpa, gpa+len), or NULL when any
 * byte of it is not RAM. Guest RAM is shared with the guest: callers copy
 * data out before checking it.
 */
void *vm_gpa(struct vm *vm, uint64_t gpa, uint64_t len);

/* Sets an interrupt line of the in-kernel PIC/IOAPIC. Returns 0 or -errno. */
int vm_irq_line(struct vm *vm, unsigned int irq, int level);

/*
 * Requests that the VM stop for `reason`. The first request wins: returns true
 * for that caller only (who then reports why). Thread-safe.
 */
bool vm_request_stop(struct vm *vm, enum vm_stop reason);

#endif

// SPDX-License-Identifier: Apache-2.0
/* vCPU threads: one per vCPU, each running KVM_RUN and dispatching exits to the buses. */
#include "vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util.h"
#include "x86.h"

#define VCPU_KICK_SIGNAL SIGUSR1
#define VCPU_STACK (512 * 1024)

static void kick_handler(int sig)
{
	(void)sig; /* only there to make KVM_RUN return -EINTR */
}

int vcpu_create_all(struct vm *vm, char *err, size_t errlen)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sigemptyset(&sa.sa_mask);
	if (sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0) {
		snprintf(err, errlen, "sigaction: %s", strerror(errno));
		return -errno;
	}
	for (unsigned int i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		int ret;

		v->vm = vm;
		v->index = i;
		v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)i);
		if (v->fd < 0) {
			ret = -errno;
			snprintf(err, errlen, "KVM_CREATE_VCPU %u: %s", i, strerror(errno));
			return ret;
		}
		v->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
		if (v->run == MAP_FAILED) {
			v->run = NULL;
			ret = -errno;
			snprintf(err, errlen, "mapping kvm_run of vCPU %u: %s", i, strerror(errno));
			return ret;
		}
		ret = arch_vcpu_init(v, err, errlen);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Reports a fatal guest or KVM condition once, with the registers, and stops the VM. */
PRINTF_LIKE(2, 3) static void guest_error(struct vcpu *v, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	if (!vm_request_stop(v->vm, VM_STOP_ERROR))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "bulwark-vmm: error: %s on vCPU %u\n", line, v->index);
	arch_dump_regs(v, stderr, "bulwark-vmm:   ");
	fflush(stderr);
}

static void handle_pio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	unsigned int size = run->io.size;

	/* KVM bounds data_offset and count*size to the kvm_run page; size is 1, 2 or 4. */
	v->pio_exits++;
	for (uint32_t i = 0; i < run->io.count; i++, data += size) {
		if (run->io.direction == KVM_EXIT_IO_OUT)
			bus_write(&v->vm->pio, run->io.port, data, size);
		else
			bus_read(&v->vm->pio, run->io.port, data, size);
	}
}

static void handle_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	unsigned int len = run->mmio.len;

	v->mmio_exits++;
	if (len > sizeof(run->mmio.data))
		len = sizeof(run->mmio.data);
	if (run->mmio.is_write)
		bus_write(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data, len);
	else
		bus_read(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data, len);
}

static void handle_system_event(struct vcpu *v)
{
	switch (v->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vm_request_stop(v->vm, VM_STOP_POWEROFF);
		break;
	case KVM_SYSTEM_EVENT_RESET:
		vm_request_stop(v->vm, VM_STOP_RESET);
		break;
	default:
		guest_error(v, "guest crash (KVM system event %u)", v->run->system_event.type);
		break;
	}
}

static bool stopping(struct vm *vm)
{
	return __atomic_load_n(&vm->stop_reason, __ATOMIC_ACQUIRE) != VM_STOP_NONE;
}

/* Waits outside KVM_RUN while the VM is paused (and not stopping). */
static void park(struct vcpu *v)
{
	struct vm *vm = v->vm;

	pthread_mutex_lock(&vm->pause_lock);
	vm->parked++;
	pthread_cond_broadcast(&vm->pause_cond);
	while (vm->paused && !stopping(vm))
		pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	vm->parked--;
	/* Cleared under the lock: a stop sets stop_reason before it sets immediate_exit. */
	__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&vm->pause_lock);
}

/*
 * After a kick that found nothing to do (a pause already undone), clear
 * immediate_exit so KVM_RUN can block again. Under pause_lock, so that it cannot
 * undo the kick of a pause that is starting; a stop is safe because its kick
 * comes after stop_reason is set.
 */
static void rearm(struct vcpu *v)
{
	struct vm *vm = v->vm;

	pthread_mutex_lock(&vm->pause_lock);
	if (!vm->paused && !stopping(vm))
		__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&vm->pause_lock);
}

static void kick(struct vcpu *v)
{
	/* immediate_exit covers a kick that lands just before KVM_RUN is entered. */
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	pthread_kill(v->thread, VCPU_KICK_SIGNAL);
}

int vcpu_pause_all(struct vm *vm)
{
	int ret = 0;

	pthread_mutex_lock(&vm->pause_lock);
	__atomic_store_n(&vm->paused, 1, __ATOMIC_RELEASE);
	for (unsigned int i = 0; i < vm->ncpus; i++)
		if (vm->vcpus[i].started)
			kick(&vm->vcpus[i]);
	while (vm->parked < vm->ncpus && !stopping(vm))
		pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	if (stopping(vm))
		ret = -ESHUTDOWN;
	pthread_mutex_unlock(&vm->pause_lock);
	return ret;
}

void vcpu_resume_all(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_lock);
	__atomic_store_n(&vm->paused, 0, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	struct kvm_run *run = v->run;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	while (__atomic_load_n(&vm->stop_reason, __ATOMIC_ACQUIRE) == VM_STOP_NONE) {
		if (__atomic_load_n(&vm->paused, __ATOMIC_ACQUIRE)) {
			park(v);
			continue;
		}
		if (v->index == 0 && !vm->first_run_done) {
			vm->first_run_done = 1;
			fprintf(stderr, "bulwark-vmm: timing: first-kvm-run-us=%llu\n",
				(unsigned long long)((util_now_ns() - vm->t0_ns) / 1000));
		}
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				rearm(v);
				continue;
			}
			guest_error(v, "KVM_RUN failed: %s", strerror(errno));
			break;
		}
		v->exits++;
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			handle_pio(v);
			break;
		case KVM_EXIT_MMIO:
			handle_mmio(v);
			break;
		case KVM_EXIT_INTR:
		case KVM_EXIT_HLT: /* the in-kernel LAPIC normally handles HLT; just re-enter */
			break;
		case KVM_EXIT_SHUTDOWN:
			guest_error(v, "guest triple fault (KVM_EXIT_SHUTDOWN)");
			break;
		case KVM_EXIT_SYSTEM_EVENT:
			handle_system_event(v);
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			guest_error(v, "KVM internal error (suberror %u%s)", run->internal.suberror,
				    run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ?
					    ": instruction emulation failed" : "");
			break;
		case KVM_EXIT_FAIL_ENTRY:
			guest_error(v, "VM entry failed (hardware reason %#llx)",
				    (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
			break;
		default:
			guest_error(v, "unhandled KVM exit reason %u", run->exit_reason);
			break;
		}
	}
	return NULL;
}

int vcpu_start_all(struct vm *vm)
{
	pthread_attr_t attr;
	int ret = 0;

	/* Small stacks: below 2 MiB they can never be backed by transparent huge pages. */
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, VCPU_STACK);
	for (unsigned int i = 0; i < vm->ncpus && ret == 0; i++) {
		ret = pthread_create(&vm->vcpus[i].thread, &attr, vcpu_thread, &vm->vcpus[i]);
		if (ret == 0)
			vm->vcpus[i].started = true;
	}
	pthread_attr_destroy(&attr);
	return -ret;
}

void vcpu_stop_all(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (v->started)
			kick(v);
	}
	/* Wake parked vCPUs (and a pauser waiting for them): they see the stop and leave. */
	pthread_mutex_lock(&vm->pause_lock);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	for (unsigned int i = 0; i < vm->ncpus; i++) {
		if (vm->vcpus[i].started)
			pthread_join(vm->vcpus[i].thread, NULL);
		vm->vcpus[i].started = false;
	}
}

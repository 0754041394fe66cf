// SPDX-License-Identifier: Apache-2.0
/* bulwark-vmm: boots one guest (a domain) on /dev/kvm and runs it until it powers off. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acpi.h"
#include "boot.h"
#include "bulwark-config.h"
#include "config.h"
#include "console.h"
#include "control.h"
#include "ctl.h"
#include "devices.h"
#include "evloop.h"
#include "layout.h"
#include "pci.h"
#include "platform.h"
#include "serial.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"
#include "x86.h"

#define MAX_KERNEL (256U << 20)
#define MAX_INITRD (2048U << 20)
#define DEFAULT_CMDLINE "console=ttyS0"

/*
 * The kernel and initrd stay open files; their bytes go straight from the
 * page cache into guest RAM (no copy on the VMM's heap, which would count
 * as VMM overhead), again on every reset.
 */
struct images {
	int kernel_fd;
	uint64_t kernel_size;
	uint8_t setup[BOOT_SETUP_MAX];
	int initrd_fd;
	uint64_t initrd_len;
	struct boot_image bz;
};

/* Everything that lives across a guest reset. */
struct vmm {
	struct vmm_config cfg;
	struct images img;
	struct evloop loop;
	struct console con;
	struct serial com1;
	struct platform plat;
	struct pci_bus pci;
	struct control ctl;
	struct devices devs;
	struct vm vm;
	uint64_t t0_ns;
};

PRINTF_LIKE(2, 3) static int die(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("bulwark-vmm: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

static int build_acpi(unsigned int ncpus, uint8_t *buf, size_t len, struct acpi_blob *blob)
{
	struct acpi_params p = {
		.ncpus = ncpus,
		.pci_mmio_base = LAYOUT_PCI_MMIO_START,
		.pci_mmio_size = LAYOUT_PCI_MMIO_SIZE,
	};

	return acpi_build(&p, LAYOUT_ACPI, buf, len, blob);
}

static int dump_acpi(const struct vmm_config *cfg)
{
	static uint8_t buf[LAYOUT_ACPI_SIZE];
	struct acpi_blob blob;
	char path[CONFIG_MAX_PATH + 16];
	int ret;

	ret = build_acpi(cfg->cpus, buf, sizeof(buf), &blob);
	if (ret < 0)
		return die(VMM_EXIT_USAGE, "building ACPI tables: %s", strerror(-ret));
	if (mkdir(cfg->dump_acpi, 0755) < 0 && errno != EEXIST)
		return die(VMM_EXIT_USAGE, "cannot create %s: %s", cfg->dump_acpi, strerror(errno));
	for (unsigned int i = 0; i < blob.ntables; i++) {
		const struct acpi_table_ref *t = &blob.tables[i];
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s.dat", cfg->dump_acpi, t->sig);
		f = fopen(path, "wbe");
		if (!f || fwrite(buf + t->offset, 1, t->length, f) != t->length || fclose(f) != 0)
			return die(VMM_EXIT_USAGE, "cannot write %s: %s", path, strerror(errno));
	}
	return 0;
}

static const char *file_error(int ret)
{
	return ret == -EINVAL ? "not a regular file" : strerror(-ret);
}

static int load_images(struct vmm *m)
{
	struct images *img = &m->img;
	char err[256];
	size_t got;
	int ret;

	ret = util_open_regular(m->cfg.kernel, &img->kernel_size);
	if (ret < 0)
		return die(VMM_EXIT_IMAGE, "kernel %s: %s", m->cfg.kernel, file_error(ret));
	img->kernel_fd = ret;
	if (img->kernel_size > MAX_KERNEL)
		return die(VMM_EXIT_IMAGE, "kernel %s: larger than 256 MiB", m->cfg.kernel);
	got = img->kernel_size < sizeof(img->setup) ? (size_t)img->kernel_size : sizeof(img->setup);
	ret = util_pread_full(img->kernel_fd, img->setup, got, 0);
	if (ret < 0)
		return die(VMM_EXIT_IMAGE, "kernel %s: %s", m->cfg.kernel, strerror(-ret));
	ret = boot_parse_bzimage(img->setup, got, img->kernel_size, &img->bz, err, sizeof(err));
	if (ret < 0)
		return die(VMM_EXIT_IMAGE, "kernel %s: %s", m->cfg.kernel, err);
	if (m->cfg.initrd) {
		ret = util_open_regular(m->cfg.initrd, &img->initrd_len);
		if (ret < 0)
			return die(VMM_EXIT_IMAGE, "initrd %s: %s", m->cfg.initrd, file_error(ret));
		img->initrd_fd = ret;
		if (img->initrd_len > MAX_INITRD)
			return die(VMM_EXIT_IMAGE, "initrd %s: larger than 2 GiB", m->cfg.initrd);
	}
	return 0;
}

/* Copies kernel, initrd, command line, ACPI tables and boot_params into guest RAM. */
static int load_guest(struct vmm *m)
{
	struct vm *vm = &m->vm;
	const char *cmdline = m->cfg.cmdline ? m->cfg.cmdline : DEFAULT_CMDLINE;
	size_t clen = strlen(cmdline);
	struct boot_params *bp;
	struct boot_plan plan;
	struct acpi_blob acpi;
	char err[256];
	uint8_t *p;
	int ret;

	ret = boot_plan_layout(&m->img.bz, vm->mem_size, m->img.initrd_len, clen, &plan, err,
			       sizeof(err));
	if (ret < 0)
		return die(ret == -E2BIG ? VMM_EXIT_USAGE : VMM_EXIT_IMAGE, "%s", err);
	p = vm_gpa(vm, plan.kernel_gpa, m->img.bz.kernel_len);
	if (!p)
		return die(VMM_EXIT_IMAGE, "kernel does not fit in guest memory");
	ret = util_pread_full(m->img.kernel_fd, p, m->img.bz.kernel_len, m->img.bz.kernel_offset);
	if (ret < 0)
		return die(VMM_EXIT_IMAGE, "kernel %s: read: %s", m->cfg.kernel, strerror(-ret));
	if (m->img.initrd_len) {
		p = vm_gpa(vm, plan.initrd_gpa, m->img.initrd_len);
		if (!p)
			return die(VMM_EXIT_IMAGE, "initrd does not fit in guest memory");
		ret = util_pread_full(m->img.initrd_fd, p, m->img.initrd_len, 0);
		if (ret < 0)
			return die(VMM_EXIT_IMAGE, "initrd %s: read: %s", m->cfg.initrd,
				   strerror(-ret));
	}
	p = vm_gpa(vm, LAYOUT_CMDLINE, clen + 1);
	memcpy(p, cmdline, clen + 1);
	p = vm_gpa(vm, LAYOUT_ACPI, LAYOUT_ACPI_SIZE);
	ret = build_acpi(vm->ncpus, p, LAYOUT_ACPI_SIZE, &acpi);
	if (ret < 0)
		return die(VMM_EXIT_HOST, "building ACPI tables: %s", strerror(-ret));
	/* mov al, ACPI_RESET_VALUE; mov dx, PORT_ACPI_RESET; out dx, al; 1: hlt; jmp 1b */
	static const uint8_t reset_stub[] = {
		0xb0, ACPI_RESET_VALUE, 0xba, PORT_ACPI_RESET & 0xff, PORT_ACPI_RESET >> 8, 0xee,
		0xf4, 0xeb, 0xfd,
	};
	p = vm_gpa(vm, LAYOUT_RESET_VECTOR, sizeof(reset_stub));
	memcpy(p, reset_stub, sizeof(reset_stub));
	bp = vm_gpa(vm, LAYOUT_ZERO_PAGE, sizeof(*bp));
	boot_fill_params(&m->img.bz, &plan, vm->mem_size, LAYOUT_ACPI + acpi.rsdp_offset, bp);
	if (arch_write_boot_tables(vm) < 0)
		return die(VMM_EXIT_HOST, "guest memory too small for boot page tables");
	/* The 64-bit entry point is 0x200 past the start of the protected-mode kernel. */
	ret = arch_vcpu_boot_regs(&vm->vcpus[0], plan.kernel_gpa + 0x200, LAYOUT_ZERO_PAGE, err,
				  sizeof(err));
	if (ret < 0)
		return die(VMM_EXIT_HOST, "%s", err);
	return 0;
}

static int exit_code_for(int reason)
{
	switch (reason) {
	case VM_STOP_POWEROFF:
		return VMM_EXIT_POWEROFF;
	case VM_STOP_RESET:
		return VMM_EXIT_REBOOT;
	case VM_STOP_SIGNAL:
		return VMM_EXIT_SIGNAL;
	default:
		return VMM_EXIT_GUEST_ERROR;
	}
}

/* Boots the guest once and waits for it to stop. Returns the stop reason or an exit code < 0. */
static int run_once(struct vmm *m, int sigfd)
{
	struct vm *vm = &m->vm;
	struct pollfd pfd[2];
	char err[256];
	int ret, reason;

	ret = vm_open(vm, m->cfg.cpus, m->cfg.memory, err, sizeof(err));
	if (ret < 0)
		return -die(ret == -E2BIG ? VMM_EXIT_USAGE : VMM_EXIT_HOST, "%s", err);
	vm->t0_ns = m->t0_ns;
	ret = serial_attach(&m->com1, vm, PORT_COM1);
	if (ret == 0)
		ret = platform_init(&m->plat, vm);
	if (ret == 0)
		ret = pci_init(&m->pci, vm);
	if (ret < 0) {
		ret = -die(VMM_EXIT_HOST, "registering devices: %s", strerror(-ret));
		goto out_close;
	}
	ret = devices_create(&m->devs, &m->cfg, vm, &m->pci, &m->loop, err, sizeof(err));
	if (ret < 0) {
		ret = -die(VMM_EXIT_HOST, "%s", err);
		goto out_close;
	}
	ret = vcpu_create_all(vm, err, sizeof(err));
	if (ret < 0) {
		ret = -die(VMM_EXIT_HOST, "%s", err);
		goto out_close;
	}
	ret = load_guest(m);
	if (ret > 0) {
		ret = -ret;
		goto out_close;
	}
	control_attach(&m->ctl, vm, &m->plat, &m->devs);
	ret = vcpu_start_all(vm);
	if (ret < 0) {
		vm_request_stop(vm, VM_STOP_ERROR);
		vcpu_stop_all(vm);
		ret = -die(VMM_EXIT_HOST, "starting vCPU threads: %s", strerror(-ret));
		goto out_close;
	}

	pfd[0] = (struct pollfd){ .fd = vm->stop_efd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = sigfd, .events = POLLIN };
	for (;;) {
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sigfd, &si, sizeof(si)) == sizeof(si) &&
			    vm_request_stop(vm, VM_STOP_SIGNAL))
				fprintf(stderr, "bulwark-vmm: stopping: signal %u\n", si.ssi_signo);
		}
		if (__atomic_load_n(&vm->stop_reason, __ATOMIC_ACQUIRE) != VM_STOP_NONE)
			break;
	}
	vcpu_stop_all(vm);
	reason = __atomic_load_n(&vm->stop_reason, __ATOMIC_ACQUIRE);
	ret = reason;
out_close:
	control_attach(&m->ctl, NULL, NULL, NULL);
	devices_destroy(&m->devs);
	vm_close(vm);
	return ret;
}

static int setup_signals(void)
{
	sigset_t set;

	/* Signals reach the main thread through a signalfd; vCPU threads only take the kick. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	sigdelset(&set, SIGUSR1);
	return signalfd(-1, &set, SFD_CLOEXEC);
}

int main(int argc, char **argv)
{
	static struct vmm m;
	char err[512];
	int ret, sigfd;

	m.t0_ns = util_now_ns();
	/*
	 * One malloc arena: per-thread arenas are 64 MiB-aligned reservations that a
	 * THP=always host backs with 2 MiB pages on first touch, all of it VMM overhead.
	 */
	mallopt(M_ARENA_MAX, 1);
	m.img.kernel_fd = m.img.initrd_fd = -1;
	config_init(&m.cfg);
	ret = config_parse_args(&m.cfg, argc, argv, err, sizeof(err));
	if (ret == 0)
		ret = config_validate(&m.cfg, err, sizeof(err));
	if (ret < 0) {
		ret = die(VMM_EXIT_USAGE, "%s", err);
		goto out;
	}
	if (m.cfg.help) {
		fputs(config_usage, stdout);
		ret = 0;
		goto out;
	}
	if (m.cfg.version) {
		printf("bulwark-vmm %s\n", BULWARK_VERSION);
		ret = 0;
		goto out;
	}
	if (m.cfg.dump_acpi) {
		ret = dump_acpi(&m.cfg);
		goto out;
	}
	ret = load_images(&m);
	if (ret)
		goto out;
	sigfd = setup_signals();
	if (sigfd < 0) {
		ret = die(VMM_EXIT_HOST, "signal setup: %s", strerror(errno));
		goto out;
	}
	if (evloop_init(&m.loop) < 0) {
		ret = die(VMM_EXIT_HOST, "epoll: %s", strerror(errno));
		goto out;
	}
	serial_init(&m.com1, &m.con, PORT_COM1_IRQ);
	ret = console_open(&m.con, m.cfg.console, &m.loop, serial_rx, &m.com1, err, sizeof(err));
	if (ret < 0) {
		ret = die(VMM_EXIT_HOST, "%s", err);
		goto out_loop;
	}
	if (m.cfg.control) {
		ret = control_open(&m.ctl, m.cfg.control, &m.loop, m.t0_ns, err, sizeof(err));
		if (ret < 0) {
			ret = die(VMM_EXIT_HOST, "%s", err);
			goto out_console;
		}
		m.plat.on_guest_init = control_post_guest_init;
		m.plat.opaque = &m.ctl;
	}
	if (evloop_start(&m.loop) < 0) {
		ret = die(VMM_EXIT_HOST, "cannot start the I/O thread");
		goto out_console;
	}
	for (;;) {
		ret = run_once(&m, sigfd);
		if (ret < 0) {
			ret = -ret;
			break;
		}
		if (ret == VM_STOP_RESET && m.cfg.on_reboot == VMM_REBOOT_RESET) {
			fprintf(stderr, "bulwark-vmm: guest reset: booting again\n");
			continue;
		}
		if (ret == VM_STOP_RESET)
			fprintf(stderr, "bulwark-vmm: guest rebooted; exiting (--on-reboot exit)\n");
		ret = exit_code_for(ret);
		break;
	}
out_console:
	evloop_close(&m.loop);
	control_close(&m.ctl);
	console_close(&m.con, m.cfg.console);
out_loop:
	evloop_close(&m.loop);
out:
	if (m.img.kernel_fd >= 0)
		close(m.img.kernel_fd);
	if (m.img.initrd_fd >= 0)
		close(m.img.initrd_fd);
	config_free(&m.cfg);
	return ret;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* bulwark-vmm's configuration: command-line options and the equivalent JSON config file. */
#ifndef BULWARK_VMM_CONFIG_H
#define BULWARK_VMM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "disk.h"
#include "ratelimit.h"
#include "vsock_config.h"
#include "virtio_net_hdr.h"

/* Documented exit codes of bulwark-vmm (docs/vmm.md). */
enum vmm_exit {
	VMM_EXIT_POWEROFF = 0, /* the guest powered off */
	VMM_EXIT_GUEST_ERROR = 1, /* triple fault, KVM internal error, unhandled exit */
	VMM_EXIT_USAGE = 2, /* bad option, bad value, bad config file */
	VMM_EXIT_HOST = 3, /* no /dev/kvm, no permission, missing KVM capability, no memory */
	VMM_EXIT_IMAGE = 4, /* kernel/initrd unusable or does not fit in guest memory */
	VMM_EXIT_REBOOT = 5, /* the guest asked to reboot and --on-reboot=exit */
	VMM_EXIT_SIGNAL = 6, /* stopped by SIGINT or SIGTERM */
};

enum vmm_on_reboot { VMM_REBOOT_EXIT, VMM_REBOOT_RESET };

#define CONFIG_MIN_MEMORY (16ULL << 20)
#define CONFIG_MAX_MEMORY (1ULL << 40)
#define CONFIG_MAX_CPUS 254U /* xAPIC ids in the MADT; KVM's own limit is checked too */
#define CONFIG_MAX_PATH 4096U

struct vmm_config {
	char *kernel;
	char *initrd;
	char *cmdline;
	unsigned int cpus;
	uint64_t memory;
	char *console; /* "stdio" or a Unix socket path */
	char *control; /* control socket path for bulwarkd (src/common/ctl.h), or NULL */
	enum vmm_on_reboot on_reboot;
	char *dump_acpi; /* write the ACPI tables to this directory and exit */
	struct disk_config disks[DISK_MAX]; /* --disk, in PCI slot order */
	unsigned int ndisks;
	bool rng; /* --rng: a virtio-rng device */
	struct ratelimit_config rng_rl;
	struct vsock_config vsock; /* --vsock; cid 0: none */
	struct virtio_net_opts nets[VIRTIO_NET_MAX]; /* --net, in PCI slot order */
	unsigned int nnets;
	bool help;
	bool version;
};

/* Defaults: 1 vCPU, 512 MiB, console on stdio, reboot exits. */
void config_init(struct vmm_config *c);

/* Frees every string the config owns; the struct can be reused after config_init. */
void config_free(struct vmm_config *c);

/*
 * Parses argv (options, then --config FILE contents applied first and command
 * line options on top). On error returns -EINVAL and writes one line, without
 * a trailing newline, to err; the config may be partly filled and must be
 * freed either way.
 */
int config_parse_args(struct vmm_config *c, int argc, char **argv, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/*
 * Applies a JSON config document (bytes, not necessarily NUL-terminated).
 * Unknown keys, wrong types and bad values are errors. Returns 0 or -EINVAL
 * with one line in err.
 */
int config_parse_json(struct vmm_config *c, const char *json, size_t len, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Checks cross-field rules once everything is parsed (kernel given, ...). */
int config_validate(const struct vmm_config *c, char *err, size_t errlen)
	__attribute__((warn_unused_result));

extern const char config_usage[];

#endif

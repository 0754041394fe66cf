/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The control protocol between bulwarkd and each bulwark-vmm: fixed-size framed binary
 * messages on a SOCK_SEQPACKET Unix socket, optionally carrying file descriptors. One
 * message per packet; the header says what follows. Versioned: a peer speaking another
 * version is refused.
 */
#ifndef BULWARK_CTL_H
#define BULWARK_CTL_H

#include <stddef.h>
#include <stdint.h>

#define CTL_MAGIC 0x42574b43U /* "CKWB" little-endian: bulwark control */
#define CTL_VERSION 1
#define CTL_MAX_PAYLOAD 4096
#define CTL_MAX_FDS 8

enum ctl_type {
	/* requests, daemon -> VMM; every request gets exactly one CTL_REPLY with its seq */
	CTL_PING = 1, /* no payload; reply payload: struct ctl_status */
	CTL_PAUSE = 2, /* stop running vCPUs (they stay in the VMM); idempotent */
	CTL_RESUME = 3,
	CTL_POWER_BUTTON = 4, /* ACPI power button: the guest shuts down gracefully */
	CTL_STOP = 5, /* hard stop: the VMM exits with code 6 after replying */
	CTL_STATS = 6, /* reply payload: struct ctl_stats */
	/* replies and events, VMM -> daemon */
	CTL_REPLY = 100, /* payload: int32 status (0 or -errno), then the request's reply data */
	CTL_EVENT = 101, /* unsolicited; payload: struct ctl_event */
};

struct ctl_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t type; /* enum ctl_type */
	uint32_t seq; /* chosen by the requester, echoed in the reply */
	uint32_t len; /* payload bytes after the header, <= CTL_MAX_PAYLOAD */
};

enum ctl_state { CTL_STATE_RUNNING = 1, CTL_STATE_PAUSED = 2, CTL_STATE_STOPPING = 3 };

struct ctl_status {
	uint32_t state; /* enum ctl_state */
	uint32_t ncpus;
	uint64_t memory; /* bytes */
	uint64_t uptime_ns;
};

struct ctl_stats {
	uint64_t exits; /* all vCPUs */
	uint64_t pio_exits;
	uint64_t mmio_exits;
	uint64_t cpu_ns; /* the VMM process's CPU time, user + system */
	uint64_t rss_bytes; /* resident memory of the VMM process, guest RAM included */
	/*
	 * I/O totals since the VM's current boot (a guest reboot recreates the devices and
	 * starts them at 0), summed over devices of each kind. Appended to the version-1
	 * layout without a version bump: the daemon accepts a reply that ends before them
	 * (a VMM of an older build it re-attached to) and reads them as 0.
	 */
	uint64_t blk_reads, blk_writes; /* completed virtio-blk read/write requests */
	uint64_t blk_read_bytes, blk_write_bytes;
	uint64_t net_rx_frames, net_tx_frames; /* virtio-net; rx: to the guest */
	uint64_t net_rx_bytes, net_tx_bytes; /* frame bytes, without the virtio-net header */
	uint64_t vsock_rx_bytes, vsock_tx_bytes; /* virtio-vsock stream payload; rx: to the guest */
};

enum ctl_event_kind {
	CTL_EV_STATE = 1, /* arg: new enum ctl_state */
	CTL_EV_GUEST_INIT = 2, /* the guest wrote the boot-timer port; arg: us since start */
};

struct ctl_event {
	uint32_t kind;
	uint32_t pad;
	uint64_t arg;
};

/*
 * Sends one message: header + len payload bytes + nfds descriptors. Returns 0 or
 * -errno (-EMSGSIZE if len or nfds is too large).
 */
int ctl_send(int sock, uint16_t type, uint32_t seq, const void *payload, uint32_t len,
	     const int *fds, unsigned int nfds) __attribute__((warn_unused_result));

/*
 * Receives one message into hdr and payload (room for CTL_MAX_PAYLOAD bytes) and up to
 * CTL_MAX_FDS descriptors (made close-on-exec) into fds, count in *nfds. Checks magic,
 * version, length against the packet, and truncation; on any violation closes the
 * received descriptors and returns -EPROTO. Returns 0, -ECONNRESET on end of stream,
 * or -errno.
 */
int ctl_recv(int sock, struct ctl_hdr *hdr, void *payload, int *fds, unsigned int *nfds)
	__attribute__((warn_unused_result));

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pure parts of virtio-net (virtio 1.2, 5.1): --net options, MAC addresses and the
 * checks on virtio_net_hdr in both directions. No I/O: tests/unit drives them.
 */
#ifndef BULWARK_VMM_VIRTIO_NET_HDR_H
#define BULWARK_VMM_VIRTIO_NET_HDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ratelimit.h"

#define VIRTIO_NET_MAX 4 /* --net options per VM */
/*
 * Bucket size of a net limit when no refill= is given, as a time at the rate. TCP sends
 * in bursts (a few TSO frames, then a wait for ACKs): a 10 ms bucket throws away the
 * tokens of every longer pause and the flow falls short of its limit.
 */
#define VIRTIO_NET_DEFAULT_REFILL_MS 100U

/* Feature bits (5.1.3). */
#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_ECN 9
#define VIRTIO_NET_F_GUEST_UFO 10
#define VIRTIO_NET_F_HOST_TSO4 11
#define VIRTIO_NET_F_HOST_TSO6 12
#define VIRTIO_NET_F_HOST_ECN 13
#define VIRTIO_NET_F_HOST_UFO 14
#define VIRTIO_NET_F_STATUS 16

/* virtio_net_hdr flags and gso_type (5.1.6). */
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_GSO_NONE 0
#define VIRTIO_NET_HDR_GSO_TCPV4 1
#define VIRTIO_NET_HDR_GSO_UDP 3
#define VIRTIO_NET_HDR_GSO_TCPV6 4
#define VIRTIO_NET_HDR_GSO_ECN 0x80

/*
 * struct virtio_net_hdr as a VERSION_1 device sees it (5.1.6): 12 bytes, little-endian,
 * num_buffers always present. The tap uses the same layout (TUNSETVNETHDRSZ 12).
 */
struct virtio_net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
} __attribute__((packed));
#define VIRTIO_NET_HDR_LEN 12U

/* Largest frame after the header either way: 64 KiB of GSO payload plus headers. */
#define VIRTIO_NET_MAX_FRAME (65536U + 14U + 4U)

/* True when feature `bit` is in the set. */
static inline bool virtio_net_has(uint64_t features, unsigned int bit)
{
	return features & (1ULL << bit);
}

/* What one --net option asks for. */
struct virtio_net_opts {
	char *ifname; /* tap=NAME, or NULL when fd is used */
	int fd; /* fd=N (an open tap, the caller keeps it), or -1 */
	uint8_t mac[6];
	bool mac_set; /* mac= given; else virtio_net_default_mac of the interface name */
	bool offload; /* offload=on (default): checksum and TSO offloads are offered */
	struct ratelimit_config rx_rl, tx_rl; /* rx-bw=, tx-pps=, ...; refill 100 ms by default */
};

/*
 * Parses one --net value "tap=NAME|fd=N[,mac=xx:xx:xx:xx:xx:xx][,offload=on|off]
 * [,rx-bw=SIZE][,rx-pps=N][,rx-bw-burst=SIZE][,rx-pps-burst=N][,rx-refill=MS][,tx-...]"
 * into o (which owns its strings afterwards; free with virtio_net_opts_free). Returns 0,
 * or -EINVAL with one line in err and o left freed (all zero, fd -1).
 */
int virtio_net_parse_spec(struct virtio_net_opts *o, const char *spec, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Frees what o owns and leaves it empty (fd -1); o may already be empty. */
void virtio_net_opts_free(struct virtio_net_opts *o);

/*
 * Parses "xx:xx:xx:xx:xx:xx" (hex, two digits each) into mac. A guest's address must be
 * unicast and not all zero. Returns 0, or -EINVAL with mac untouched.
 */
int virtio_net_parse_mac(const char *s, uint8_t mac[6]) __attribute__((warn_unused_result));

/*
 * A stable address for interface `ifname`: locally administered unicast 52:54:xx:xx:xx:xx
 * whose last four bytes are a hash (FNV-1a) of the name, so a tap keeps its guest's MAC
 * from boot to boot.
 */
void virtio_net_default_mac(const char *ifname, uint8_t mac[6]);

/*
 * Checks a header the guest put before a frame of pkt_len bytes (its own copy, 5.1.6.2)
 * against the negotiated features: no flags or GSO type that were not negotiated, the
 * checksum position and GSO header length inside the frame. Returns 0 when it may go to
 * the tap as it is, -EINVAL when the frame must be dropped.
 */
int virtio_net_tx_hdr_check(const struct virtio_net_hdr *h, uint64_t features, uint64_t pkt_len)
	__attribute__((warn_unused_result));

/*
 * Makes a header read from the tap fit what the driver negotiated (5.1.6.3, 5.1.6.4):
 * DATA_VALID cleared without GUEST_CSUM, num_buffers 1 (no MRG_RXBUF). Returns 0, or
 * -EINVAL when the frame needs an offload the driver did not take (drop it).
 */
int virtio_net_rx_hdr_fixup(struct virtio_net_hdr *h, uint64_t features)
	__attribute__((warn_unused_result));

#endif

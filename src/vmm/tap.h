/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host side of virtio-net: a Linux TAP device opened with IFF_TAP | IFF_NO_PI |
 * IFF_VNET_HDR (every frame carries a virtio_net_hdr), either by name or handed in open.
 */
#ifndef BULWARK_VMM_TAP_H
#define BULWARK_VMM_TAP_H

#include <net/if.h>
#include <stddef.h>

/* TUN_F_* offload bits for tap_set_offload (linux/if_tun.h). */
#define TAP_OFFLOAD_CSUM 0x01
#define TAP_OFFLOAD_TSO4 0x02
#define TAP_OFFLOAD_TSO6 0x04

struct tap {
	int fd; /* non-blocking, close-on-exec; -1 when closed */
	char ifname[IFNAMSIZ];
};

/*
 * Attaches to the TAP interface `name` (creating it, which needs CAP_NET_ADMIN, if it
 * does not exist) with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR. Returns 0, or -errno with one
 * line in err and t->fd = -1.
 */
int tap_open(struct tap *t, const char *name, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/*
 * Takes a duplicate of an already-open TAP fd (the caller keeps fd): needs no privilege.
 * Checks that it is a TAP (not TUN) queue with IFF_NO_PI and IFF_VNET_HDR. Returns 0, or
 * -errno with one line in err and t->fd = -1.
 */
int tap_adopt(struct tap *t, int fd, char *err, size_t errlen) __attribute__((warn_unused_result));

/* Sets the size of the header that precedes every frame (TUNSETVNETHDRSZ). 0 or -errno. */
int tap_set_vnet_hdr_size(struct tap *t, int size) __attribute__((warn_unused_result));

/*
 * Tells the host kernel which offloads it may leave to us on frames it hands to the tap
 * (TUNSETOFFLOAD, TAP_OFFLOAD_* bits); 0 makes it checksum and segment everything first.
 * Returns 0 or -errno.
 */
int tap_set_offload(struct tap *t, unsigned int flags) __attribute__((warn_unused_result));

/* Closes the fd (a persistent interface stays). Safe on a closed tap. */
void tap_close(struct tap *t);

#endif

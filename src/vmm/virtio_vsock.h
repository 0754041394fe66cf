/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-vsock (device type 19, virtio 1.2 section 5.10): the guest's sockets to the host,
 * through the connection table (vsock_conn.h) and its transports (Unix sockets: vsock_unix.h).
 */
#ifndef BULWARK_VMM_VIRTIO_VSOCK_H
#define BULWARK_VMM_VIRTIO_VSOCK_H

#include "virtio.h"
#include "vsock_config.h"

/*
 * Plugs a virtio-vsock device for guest CID cfg->cid into PCI slot `slot`, with its host
 * side listening on cfg->socket. Returns 0 or -errno with one line in err; on error
 * nothing stays open or registered. Undo with virtio_vsock_destroy.
 */
int virtio_vsock_create(struct virtio_dev *d, const struct vsock_config *cfg, struct vm *vm,
			struct pci_bus *bus, struct evloop *loop, unsigned int slot, char *err,
			size_t errlen) __attribute__((warn_unused_result));

/*
 * Drops every connection the guest knows and tells it with a TRANSPORT_RESET event
 * (5.10.6.7), as after a migration or when a policy revokes all channels. I/O thread only.
 */
void virtio_vsock_transport_reset(struct virtio_dev *d);

/* Unplugs the device, closes every connection and the socket (vCPUs and I/O thread stopped). */
void virtio_vsock_destroy(struct virtio_dev *d);

#endif

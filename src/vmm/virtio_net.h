/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-net (device type 1, virtio 1.2 section 5.1) on a TAP device: one receive and one
 * transmit queue; options and header checks are in virtio_net_hdr.h.
 */
#ifndef BULWARK_VMM_VIRTIO_NET_H
#define BULWARK_VMM_VIRTIO_NET_H

#include "virtio.h"
#include "virtio_net_hdr.h"

/*
 * Opens o's tap and plugs a virtio-net device for it into PCI slot `slot` of vm, with d
 * as its transport state. Returns 0 or -errno with one line in err; on error nothing
 * stays open or registered. Undo with virtio_net_destroy.
 */
int virtio_net_create(struct virtio_dev *d, const struct virtio_net_opts *o, struct vm *vm,
		      struct pci_bus *bus, struct evloop *loop, unsigned int slot, char *err,
		      size_t errlen) __attribute__((warn_unused_result));

/* Unplugs the device and closes its tap fd (vCPUs stopped). Safe on a failed create. */
void virtio_net_destroy(struct virtio_dev *d);

#endif

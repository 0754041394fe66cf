/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-blk (device type 2, virtio 1.2 section 5.2) on a raw image file. */
#ifndef BULWARK_VMM_VIRTIO_BLK_H
#define BULWARK_VMM_VIRTIO_BLK_H

#include "disk.h"
#include "virtio.h"

/*
 * Opens cfg's image and plugs a virtio-blk device for it into PCI slot `slot` of vm,
 * with d as its transport state. Returns 0 or -errno with one line in err; on error
 * nothing stays open or registered. Undo with virtio_blk_destroy.
 */
int virtio_blk_create(struct virtio_dev *d, const struct disk_config *cfg, struct vm *vm,
		      struct pci_bus *bus, struct evloop *loop, unsigned int slot, char *err,
		      size_t errlen) __attribute__((warn_unused_result));

/* Unplugs the device and closes its image (vCPUs stopped). Safe on a failed create. */
void virtio_blk_destroy(struct virtio_dev *d);

#endif

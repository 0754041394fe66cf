/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-rng (device type 4, virtio 1.2 section 5.4): guest entropy from getrandom(). */
#ifndef BULWARK_VMM_VIRTIO_RNG_H
#define BULWARK_VMM_VIRTIO_RNG_H

#include "ratelimit.h"
#include "virtio.h"

#define VIRTIO_RNG_MAX_REQ (64U * 1024U) /* bytes filled per request, at most */

/*
 * Plugs a virtio-rng device into PCI slot `slot`, limited by rl (all zero: no limit).
 * Returns 0 or -errno with one line in err; on error nothing stays registered.
 */
int virtio_rng_create(struct virtio_dev *d, const struct ratelimit_config *rl, struct vm *vm,
		      struct pci_bus *bus, struct evloop *loop, unsigned int slot, char *err,
		      size_t errlen) __attribute__((warn_unused_result));

/* Unplugs the device (vCPUs stopped). Safe on a failed create. */
void virtio_rng_destroy(struct virtio_dev *d);

#endif

// SPDX-License-Identifier: Apache-2.0
/* The guest's PCI devices, created from the configuration for each boot of a VM. */
#include "devices.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "virtio_blk.h"
#include "virtio_net.h"
#include "virtio_rng.h"
#include "virtio_vsock.h"

/* Takes a transport struct for the next slot; NULL (with err) when none is left. */
static struct virtio_dev *next_dev(struct devices *devs, char *err, size_t errlen)
{
	struct virtio_dev *d;

	/* Slot 0 is the host bridge; PCI_SLOTS bounds the bus. */
	if (devs->n >= DEVICES_MAX || devs->n + 1 >= PCI_SLOTS) {
		snprintf(err, errlen, "too many devices (at most %u)", DEVICES_MAX);
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		snprintf(err, errlen, "devices: out of memory");
	return d;
}

int devices_create(struct devices *devs, const struct vmm_config *cfg, struct vm *vm,
		   struct pci_bus *pci, struct evloop *loop, char *err, size_t errlen)
{
	struct virtio_dev *d;
	int ret;

	memset(devs, 0, sizeof(*devs));
	/* Back-ends (virtio-blk, -net, -rng, -vsock) add themselves here, one slot each. */
	/* Disks first, in option order: the first --disk is the guest's vda. */
	for (unsigned int i = 0; i < cfg->ndisks; i++) {
		d = next_dev(devs, err, errlen);
		if (!d)
			return -ENOSPC;
		ret = virtio_blk_create(d, &cfg->disks[i], vm, pci, loop, devs->n + 1, err, errlen);
		if (ret < 0) {
			free(d);
			return ret;
		}
		devs->dev[devs->n] = d;
		devs->destroy[devs->n++] = virtio_blk_destroy;
	}
	if (cfg->rng) {
		d = next_dev(devs, err, errlen);
		if (!d)
			return -ENOSPC;
		ret = virtio_rng_create(d, &cfg->rng_rl, vm, pci, loop, devs->n + 1, err, errlen);
		if (ret < 0) {
			free(d);
			return ret;
		}
		devs->dev[devs->n] = d;
		devs->destroy[devs->n++] = virtio_rng_destroy;
	}
	if (cfg->vsock.cid) {
		d = next_dev(devs, err, errlen);
		if (!d)
			return -ENOSPC;
		ret = virtio_vsock_create(d, &cfg->vsock, vm, pci, loop, devs->n + 1, err, errlen);
		if (ret < 0) {
			free(d);
			return ret;
		}
		devs->dev[devs->n] = d;
		devs->destroy[devs->n++] = virtio_vsock_destroy;
	}
	for (unsigned int i = 0; i < cfg->nnets; i++) {
		d = next_dev(devs, err, errlen);
		if (!d)
			return -ENOSPC;
		ret = virtio_net_create(d, &cfg->nets[i], vm, pci, loop, devs->n + 1, err, errlen);
		if (ret < 0) {
			free(d);
			return ret;
		}
		devs->dev[devs->n] = d;
		devs->destroy[devs->n++] = virtio_net_destroy;
	}
	return 0;
}

void devices_io_stats(const struct devices *devs, struct virtio_io_stats *s)
{
	memset(s, 0, sizeof(*s));
	for (unsigned int i = 0; i < devs->n; i++) {
		const struct virtio_ops *ops = devs->dev[i]->ops;

		if (ops && ops->io_stats)
			ops->io_stats(devs->dev[i], s);
	}
}

static void destroy_all(void *arg)
{
	struct devices *devs = arg;

	for (unsigned int i = devs->n; i-- > 0;) {
		if (devs->destroy[i])
			devs->destroy[i](devs->dev[i]);
		virtio_pci_destroy(devs->dev[i]);
		free(devs->dev[i]);
	}
}

void devices_destroy(struct devices *devs)
{
	/*
	 * On the I/O thread, between two handlers: no back-end handler can be running,
	 * and events already fetched for the fds we close are dropped (evloop_call).
	 */
	if (devs->n && devs->dev[0] && devs->dev[0]->loop)
		evloop_call(devs->dev[0]->loop, destroy_all, devs);
	else
		destroy_all(devs);
	memset(devs, 0, sizeof(*devs));
}

// SPDX-License-Identifier: Apache-2.0
/* The guest's PCI devices, created from the configuration for each boot of a VM. */
#include "devices.h"

#include <stdlib.h>
#include <string.h>

int devices_create(struct devices *devs, const struct vmm_config *cfg, struct vm *vm,
		   struct pci_bus *pci, struct evloop *loop, char *err, size_t errlen)
{
	memset(devs, 0, sizeof(*devs));
	/* Back-ends (virtio-blk, -net, -rng, -vsock) add themselves here, one slot each. */
	(void)cfg, (void)vm, (void)pci, (void)loop, (void)err, (void)errlen;
	return 0;
}

void devices_destroy(struct devices *devs)
{
	for (unsigned int i = devs->n; i-- > 0;) {
		if (devs->destroy[i])
			devs->destroy[i](devs->dev[i]);
		virtio_pci_destroy(devs->dev[i]);
		free(devs->dev[i]);
	}
	memset(devs, 0, sizeof(*devs));
}

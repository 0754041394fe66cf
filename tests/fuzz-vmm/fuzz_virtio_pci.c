// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer harness: a hostile guest's accesses to a virtio-pci device, through PCI
 * configuration space (ports 0xcf8/0xcfc: capabilities, BAR moves, MSI-X control, the
 * PCI_CFG window) and through its BAR (common configuration, ISR, device configuration,
 * doorbells, MSI-X table and PBA), in any order and size. Needs /dev/kvm for the MSI
 * routes and irqfds the transport programs; skips without it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "evloop.h"
#include "irq.h"
#include "layout.h"
#include "pci.h"
#include "virtio.h"
#include "vm.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vm vm;
static struct evloop loop;

static uint64_t cfg_read(struct virtio_dev *d, uint32_t off, unsigned int size)
{
	(void)d, (void)size;
	return off; /* any value: the transport must bound the offset before calling */
}

static const struct virtio_ops ops = {
	.name = "fuzz-dev", .device_id = 4, .class_code = 0xff0000, .num_queues = 2,
	.queue_max_size = 64, .features = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << 29),
	.config_size = 8, .cfg_read = cfg_read,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	(void)argc, (void)argv;
	if (vm_open(&vm, 1, 16 << 20, err, sizeof(err)) < 0 || evloop_init(&loop) < 0) {
		printf("SKIP: fuzz_virtio_pci needs /dev/kvm: %s\n", err);
		exit(77);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pci_bus pci;
	static struct virtio_dev d;
	char err[256];

	/* A fresh machine for every input: buses, routes, PCI bus, the device. */
	bus_destroy(&vm.pio);
	bus_destroy(&vm.mmio);
	bus_init(&vm.pio);
	bus_init(&vm.mmio);
	irq_destroy(&vm);
	if (irq_init(&vm) < 0 || pci_init(&pci, &vm) < 0 ||
	    virtio_pci_create(&d, &vm, &pci, &loop, 1, &ops, NULL, err, sizeof(err)) < 0)
		__builtin_trap();

	for (; size >= 8; data += 8, size -= 8) {
		unsigned int len = 1U << (data[1] & 3); /* 1, 2, 4, 8 */
		uint64_t v = 0, out = 0;
		uint32_t off = (uint32_t)data[2] | ((uint32_t)(data[3] & 0x7f) << 8);

		memcpy(&v, data + 4, 4);
		switch (data[0] & 3) {
		case 0: { /* select a config register of slot 1 (or anything else) */
			uint32_t a = (data[0] & 4) ? (0x80000000U | (1U << 11) | (off & 0xfc)) : (uint32_t)v;

			bus_write(&vm.pio, PORT_PCI_CONFIG_ADDR, &a, 4);
			break;
		}
		case 1: /* config data */
			if (data[0] & 4)
				bus_write(&vm.pio, PORT_PCI_CONFIG_DATA + (off & 3), &v, len);
			else
				bus_read(&vm.pio, PORT_PCI_CONFIG_DATA + (off & 3), &out, len);
			break;
		default: /* the BAR, wherever the guest put it (or anywhere in the window) */
		{
			uint64_t base = d.bar_gpa ? d.bar_gpa : LAYOUT_PCI_MMIO_START + 0x8000;

			if (data[0] & 4)
				bus_write(&vm.mmio, base + off, &v, len);
			else
				bus_read(&vm.mmio, base + off, &out, len);
			break;
		}
		}
	}
	virtio_pci_destroy(&d);
	return 0;
}

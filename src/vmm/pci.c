// SPDX-License-Identifier: Apache-2.0
/* PCI bus 0 behind configuration mechanism #1 (ports 0xcf8/0xcfc), and its host bridge. */
#include "pci.h"

#include <errno.h>
#include <string.h>

#include "bus.h"
#include "layout.h"

#define CFG_ENABLE (1U << 31)
#define PCI_COMMAND 0x04
#define PCI_COMMAND_MEMORY 0x2
#define PCI_BAR0 0x10
#define PCI_HOST_BRIDGE_CLASS 0x060000
/* Intel's id for a generic host bridge, as other VMMs present it; Linux's conf1 probe accepts it. */
#define HB_VENDOR 0x8086
#define HB_DEVICE 0x0d57

void pci_dev_init(struct pci_dev *d, uint16_t vendor, uint16_t device, uint32_t class_code,
		  uint8_t revision)
{
	memset(d, 0, sizeof(*d));
	d->cfg[0x00] = vendor & 0xff;
	d->cfg[0x01] = vendor >> 8;
	d->cfg[0x02] = device & 0xff;
	d->cfg[0x03] = device >> 8;
	d->cfg[0x08] = revision;
	d->cfg[0x09] = class_code & 0xff;
	d->cfg[0x0a] = (class_code >> 8) & 0xff;
	d->cfg[0x0b] = (class_code >> 16) & 0xff;
	/* I/O, memory, bus master, INTx disable. */
	d->wmask[PCI_COMMAND] = 0x07;
	d->wmask[PCI_COMMAND + 1] = 0x04;
}

int pci_dev_set_bar(struct pci_dev *d, unsigned int bar, uint32_t size, uint32_t addr,
		    const struct bus_ops *ops, void *opaque)
{
	uint32_t mask;

	if (bar >= PCI_BARS || size < 4096 || (size & (size - 1)) || (addr & (size - 1)) || !ops)
		return -EINVAL;
	d->bar[bar] = (struct pci_bar){ .size = size, .ops = ops, .opaque = opaque };
	/* 32-bit, non-prefetchable memory BAR: the address bits above the size are writable. */
	mask = ~(size - 1);
	memcpy(d->cfg + PCI_BAR0 + 4 * bar, &addr, 4);
	memcpy(d->wmask + PCI_BAR0 + 4 * bar, &mask, 4);
	return 0;
}

/* Caller holds the bus lock. Maps or unmaps every BAR to follow the guest's settings. */
static void update_bars(struct pci_dev *d)
{
	uint16_t cmd;

	memcpy(&cmd, d->cfg + PCI_COMMAND, 2);
	for (unsigned int i = 0; i < PCI_BARS; i++) {
		struct pci_bar *bar = &d->bar[i];
		uint32_t addr;
		uint64_t want;

		if (!bar->size)
			continue;
		memcpy(&addr, d->cfg + PCI_BAR0 + 4 * i, 4);
		addr &= ~(bar->size - 1);
		want = (cmd & PCI_COMMAND_MEMORY) ? addr : 0;
		/* Only inside the host bridge's window: never over RAM, the IOAPIC or LAPIC. */
		if (want && (want < LAYOUT_PCI_MMIO_START ||
			     want + bar->size > LAYOUT_PCI_MMIO_START + LAYOUT_PCI_MMIO_SIZE))
			want = 0;
		if (want == bar->mapped)
			continue;
		if (bar->mapped)
			bus_unregister(d->mmio, bar->mapped);
		bar->mapped = 0;
		if (want && bus_register(d->mmio, want, bar->size, bar->ops, bar->opaque, "pci-bar") == 0)
			bar->mapped = want;
		if (d->ops && d->ops->bar_mapped)
			d->ops->bar_mapped(d, i, bar->mapped);
	}
}

uint32_t pci_cfg_read(struct pci_bus *b, unsigned int slot, unsigned int off, unsigned int size)
{
	uint32_t v = 0;
	struct pci_dev *d;

	if (slot >= PCI_SLOTS || off >= PCI_CFG_SIZE || off + size > PCI_CFG_SIZE)
		return 0xffffffff;
	pthread_mutex_lock(&b->lock);
	d = b->slot[slot];
	if (d && d->ops && d->ops->cfg_refresh)
		d->ops->cfg_refresh(d, off, size);
	if (d)
		memcpy(&v, d->cfg + off, size);
	pthread_mutex_unlock(&b->lock);
	if (!d)
		return size == 4 ? 0xffffffff : (1U << (size * 8)) - 1;
	return v;
}

void pci_cfg_write(struct pci_bus *b, unsigned int slot, unsigned int off, uint32_t v,
		   unsigned int size)
{
	struct pci_dev *d;

	if (slot >= PCI_SLOTS || off >= PCI_CFG_SIZE || off + size > PCI_CFG_SIZE)
		return;
	pthread_mutex_lock(&b->lock);
	d = b->slot[slot];
	if (d) {
		for (unsigned int i = 0; i < size; i++) {
			uint8_t m = d->wmask[off + i], nb = (uint8_t)(v >> (8 * i));

			d->cfg[off + i] = (uint8_t)((d->cfg[off + i] & ~m) | (nb & m));
		}
		if (off < PCI_BAR0 + 4 * PCI_BARS && off + size > PCI_COMMAND)
			update_bars(d);
		if (d->ops && d->ops->cfg_written)
			d->ops->cfg_written(d, off, size);
	}
	pthread_mutex_unlock(&b->lock);
}

static uint64_t addr_read(void *opaque, uint64_t off, unsigned int size)
{
	struct pci_bus *b = opaque;
	uint32_t v;

	if (off != 0 || size != 4)
		return 0xffffffff;
	pthread_mutex_lock(&b->lock);
	v = b->addr;
	pthread_mutex_unlock(&b->lock);
	return v;
}

static void addr_write(void *opaque, uint64_t off, uint64_t v, unsigned int size)
{
	struct pci_bus *b = opaque;

	/* Only a full dword latches (Linux's conf1 probe pokes 0xcfb with a byte first). */
	if (off != 0 || size != 4)
		return;
	pthread_mutex_lock(&b->lock);
	b->addr = (uint32_t)v;
	pthread_mutex_unlock(&b->lock);
}

/* Decodes the latch: returns the slot, or -1 for a disabled, non-zero bus or function address. */
static int decode(struct pci_bus *b, unsigned int *reg)
{
	uint32_t a;

	pthread_mutex_lock(&b->lock);
	a = b->addr;
	pthread_mutex_unlock(&b->lock);
	if (!(a & CFG_ENABLE) || ((a >> 16) & 0xff) != 0 || ((a >> 8) & 0x7) != 0)
		return -1;
	*reg = a & 0xfc;
	return (int)((a >> 11) & 0x1f);
}

static uint64_t data_read(void *opaque, uint64_t off, unsigned int size)
{
	struct pci_bus *b = opaque;
	unsigned int reg;
	int slot = decode(b, &reg);

	if (slot < 0 || off + size > 4)
		return 0xffffffff;
	return pci_cfg_read(b, (unsigned int)slot, reg + (unsigned int)off, size);
}

static void data_write(void *opaque, uint64_t off, uint64_t v, unsigned int size)
{
	struct pci_bus *b = opaque;
	unsigned int reg;
	int slot = decode(b, &reg);

	if (slot < 0 || off + size > 4)
		return;
	pci_cfg_write(b, (unsigned int)slot, reg + (unsigned int)off, (uint32_t)v, size);
}

static const struct bus_ops addr_ops = { .read = addr_read, .write = addr_write };
static const struct bus_ops data_ops = { .read = data_read, .write = data_write };

int pci_add(struct pci_bus *b, unsigned int slot, struct pci_dev *d)
{
	int ret = 0;

	if (slot >= PCI_SLOTS || !d)
		return -EINVAL;
	pthread_mutex_lock(&b->lock);
	if (b->slot[slot]) {
		ret = -EBUSY;
	} else {
		d->mmio = &b->vm->mmio;
		b->slot[slot] = d;
		update_bars(d);
	}
	pthread_mutex_unlock(&b->lock);
	return ret;
}

int pci_init(struct pci_bus *b, struct vm *vm)
{
	int ret;

	memset(b, 0, sizeof(*b));
	pthread_mutex_init(&b->lock, NULL);
	b->vm = vm;
	pci_dev_init(&b->host_bridge, HB_VENDOR, HB_DEVICE, PCI_HOST_BRIDGE_CLASS, 0);
	ret = pci_add(b, 0, &b->host_bridge);
	if (ret == 0)
		ret = bus_register(&vm->pio, PORT_PCI_CONFIG_ADDR, 4, &addr_ops, b, "pci-addr");
	if (ret == 0)
		ret = bus_register(&vm->pio, PORT_PCI_CONFIG_DATA, 4, &data_ops, b, "pci-data");
	return ret;
}

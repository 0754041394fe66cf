// SPDX-License-Identifier: Apache-2.0
/*
 * The virtio-pci transport (virtio 1.2, 4.1), modern only: PCI capabilities that point
 * into BAR0 (common configuration, notification, ISR, device configuration), an MSI-X
 * table and PBA in the same BAR, queue doorbells on ioeventfds and interrupts on irqfds.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "irq.h"
#include "layout.h"
#include "util.h"
#include "virtio.h"

#define VIRTIO_PCI_VENDOR 0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040 /* + device type (4.1.2.1) */
#define VIRTIO_NO_VECTOR 0xffff

/* BAR0 layout: one 4 KiB page per region. */
#define BAR_SIZE 0x8000
#define REG_COMMON 0x0000
#define REG_COMMON_LEN 0x38
#define REG_ISR 0x1000
#define REG_DEVICE 0x2000
#define REG_NOTIFY 0x3000
#define NOTIFY_MULT 4
#define REG_MSIX_TABLE 0x4000
#define REG_MSIX_PBA 0x5000

/* PCI capabilities (4.1.4). */
#define PCI_CAP_VNDR 0x09
#define PCI_CAP_MSIX 0x11
#define CAP_COMMON 1
#define CAP_NOTIFY 2
#define CAP_ISR 3
#define CAP_DEVICE 4
#define CAP_PCI_CFG 5
#define CAPS_START 0x40
#define CAP_PCI_CFG_OFF 0x84 /* its 4-byte data window is at +16 */
#define CAP_MSIX_OFF 0x98
#define MSIX_CTRL_ENABLE 0x8000
#define MSIX_CTRL_MASKALL 0x4000
#define MSIX_ENTRY_MASKED 1

/* 4.1.4.3 common configuration registers. */
enum {
	CC_DFSELECT = 0x00, CC_DF = 0x04, CC_GFSELECT = 0x08, CC_GF = 0x0c,
	CC_MSIX_CONFIG = 0x10, CC_NUM_QUEUES = 0x12, CC_STATUS = 0x14, CC_CFGGEN = 0x15,
	CC_Q_SELECT = 0x16, CC_Q_SIZE = 0x18, CC_Q_MSIX = 0x1a, CC_Q_ENABLE = 0x1c,
	CC_Q_NOFF = 0x1e, CC_Q_DESC = 0x20, CC_Q_AVAIL = 0x28, CC_Q_USED = 0x30,
};

static struct virtio_dev *of_pci(struct pci_dev *p)
{
	return p->opaque;
}

/* ---- interrupts ---- */

/* Caller holds d->lock. */
static bool vector_masked(const struct virtio_dev *d, unsigned int v)
{
	return !d->msix_enabled || d->msix_masked || (d->msix_table[v][3] & MSIX_ENTRY_MASKED);
}

/* Caller holds d->lock. Raises MSI-X vector v, or leaves it pending in the PBA. */
static void raise_vector(struct virtio_dev *d, uint16_t v)
{
	uint64_t one = 1;

	if (v == VIRTIO_NO_VECTOR || v >= d->msix_vectors)
		return; /* no INTx fallback: a driver without MSI-X gets no interrupts */
	if (vector_masked(d, v)) {
		d->msix_pending |= 1ULL << v;
		return;
	}
	d->interrupts++;
	if (write(d->irq_fd[v], &one, sizeof(one)) != sizeof(one))
		d->msix_pending |= 1ULL << v;
}

/* Caller holds d->lock. Delivers pending vectors that became unmasked, refreshing routes. */
static void msix_update(struct virtio_dev *d)
{
	for (unsigned int v = 0; v < d->msix_vectors; v++) {
		uint64_t addr = d->msix_table[v][0] | ((uint64_t)d->msix_table[v][1] << 32);

		if (vector_masked(d, v))
			continue;
		/* The route is programmed when a vector is unmasked (Linux masks while it edits). */
		if (irq_msi_route(d->vm, d->irq_gsi[v], addr, d->msix_table[v][2]) < 0)
			continue;
		if (d->msix_pending & (1ULL << v)) {
			d->msix_pending &= ~(1ULL << v);
			raise_vector(d, (uint16_t)v);
		}
	}
}

void virtio_signal_queue(struct virtq *q)
{
	struct virtio_dev *d = q->dev;

	pthread_mutex_lock(&d->lock);
	d->isr |= 1;
	raise_vector(d, q->msix_vector);
	pthread_mutex_unlock(&d->lock);
}

void virtio_set_broken(struct virtio_dev *d, const char *why)
{
	pthread_mutex_lock(&d->lock);
	if (!d->broken) {
		d->broken = true;
		fprintf(stderr, "bulwark-vmm: %s in slot %u: %s; device needs reset\n", d->ops->name,
			d->slot, why);
		d->status |= VIRTIO_STATUS_NEEDS_RESET;
		d->config_generation++;
		d->isr |= 2;
		raise_vector(d, d->config_msix_vector);
	}
	pthread_mutex_unlock(&d->lock);
}

/* ---- reset and queues ---- */

/* Caller holds d->lock. 4.1.4.3.2: writing 0 to device_status resets the device. */
static void reset(struct virtio_dev *d)
{
	d->status = 0;
	d->dfselect = d->gfselect = 0;
	d->driver_features = 0;
	d->queue_select = 0;
	d->config_msix_vector = VIRTIO_NO_VECTOR;
	d->isr = 0;
	d->broken = false;
	for (unsigned int i = 0; i < d->ops->num_queues; i++) {
		struct virtq *q = &d->vq[i];

		q->size = q->max_size;
		q->ready = false;
		q->msix_vector = VIRTIO_NO_VECTOR;
		q->desc_gpa = q->avail_gpa = q->used_gpa = 0;
		q->last_avail = q->used_idx = q->signalled_used = 0;
		q->signalled_valid = false;
	}
	if (d->ops->reset)
		d->ops->reset(d);
}

/* Caller holds d->lock. Checks the rings' alignment and that they lie in guest RAM. */
static bool queue_valid(struct virtio_dev *d, const struct virtq *q)
{
	uint64_t n = q->size;

	return (q->desc_gpa % 16) == 0 && (q->avail_gpa % 2) == 0 && (q->used_gpa % 4) == 0 &&
	       vm_gpa(d->vm, q->desc_gpa, 16 * n) && vm_gpa(d->vm, q->avail_gpa, 6 + 2 * n) &&
	       vm_gpa(d->vm, q->used_gpa, 6 + 8 * n);
}

static void on_notify(struct evloop_handler *h, uint32_t events)
{
	struct virtq *q = (struct virtq *)((char *)h - offsetof(struct virtq, notify_h));
	struct virtio_dev *d = q->dev;
	uint64_t n;
	bool run;

	(void)events;
	if (read(h->fd, &n, sizeof(n)) != sizeof(n))
		return;
	pthread_mutex_lock(&d->lock);
	q->notifies++;
	run = (d->status & VIRTIO_STATUS_DRIVER_OK) && q->ready && !d->broken;
	pthread_mutex_unlock(&d->lock);
	if (run && d->ops->queue_notify)
		d->ops->queue_notify(d, q);
}

/* ---- common configuration ---- */

static uint64_t common_read(struct virtio_dev *d, uint64_t off, unsigned int size)
{
	struct virtq *q = d->queue_select < d->ops->num_queues ? &d->vq[d->queue_select] : NULL;

	switch (off) {
	case CC_DFSELECT:
		return d->dfselect;
	case CC_DF:
		return d->dfselect < 2 ? (uint32_t)(d->ops->features >> (32 * d->dfselect)) : 0;
	case CC_GFSELECT:
		return d->gfselect;
	case CC_GF:
		return d->gfselect < 2 ? (uint32_t)(d->driver_features >> (32 * d->gfselect)) : 0;
	case CC_MSIX_CONFIG:
		return d->config_msix_vector;
	case CC_NUM_QUEUES:
		return d->ops->num_queues;
	case CC_STATUS:
		return d->status;
	case CC_CFGGEN:
		return d->config_generation;
	case CC_Q_SELECT:
		return d->queue_select;
	case CC_Q_SIZE:
		return q ? q->size : 0; /* 0: no such queue (4.1.4.3.1) */
	case CC_Q_MSIX:
		return q ? q->msix_vector : VIRTIO_NO_VECTOR;
	case CC_Q_ENABLE:
		return q ? q->ready : 0;
	case CC_Q_NOFF:
		return q ? q->index : 0;
	case CC_Q_DESC:
	case CC_Q_DESC + 4:
		return q ? (uint32_t)(q->desc_gpa >> (8 * (off - CC_Q_DESC))) : 0;
	case CC_Q_AVAIL:
	case CC_Q_AVAIL + 4:
		return q ? (uint32_t)(q->avail_gpa >> (8 * (off - CC_Q_AVAIL))) : 0;
	case CC_Q_USED:
	case CC_Q_USED + 4:
		return q ? (uint32_t)(q->used_gpa >> (8 * (off - CC_Q_USED))) : 0;
	default:
		(void)size;
		return 0;
	}
}

static void set_addr(uint64_t *a, uint64_t off, uint32_t v)
{
	if (off == 0)
		*a = (*a & 0xffffffff00000000ULL) | v;
	else
		*a = (*a & 0xffffffffULL) | ((uint64_t)v << 32);
}

/* Caller holds d->lock. 3.1.1: the driver sets FEATURES_OK only for features we offered. */
static void write_status(struct virtio_dev *d, uint8_t v)
{
	if (v == 0) {
		reset(d);
		return;
	}
	if ((v & VIRTIO_STATUS_FEATURES_OK) && !(d->status & VIRTIO_STATUS_FEATURES_OK)) {
		if ((d->driver_features & ~d->ops->features) ||
		    !(d->driver_features & (1ULL << VIRTIO_F_VERSION_1)))
			v &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK; /* refused: the driver re-reads */
	}
	if ((v & VIRTIO_STATUS_DRIVER_OK) && !(d->status & VIRTIO_STATUS_DRIVER_OK) &&
	    (d->status & VIRTIO_STATUS_FEATURES_OK)) {
		d->status = v | (d->status & VIRTIO_STATUS_NEEDS_RESET);
		if (d->ops->activate)
			d->ops->activate(d);
		return;
	}
	d->status = v | (d->status & VIRTIO_STATUS_NEEDS_RESET);
}

static void common_write(struct virtio_dev *d, uint64_t off, uint32_t v, unsigned int size)
{
	struct virtq *q = d->queue_select < d->ops->num_queues ? &d->vq[d->queue_select] : NULL;
	/* Queue registers are frozen once the queue is enabled or the driver is running. */
	bool q_writable = q && !q->ready && !(d->status & VIRTIO_STATUS_DRIVER_OK);

	switch (off) {
	case CC_DFSELECT:
		d->dfselect = v;
		break;
	case CC_GFSELECT:
		d->gfselect = v;
		break;
	case CC_GF:
		if (d->gfselect < 2 && !(d->status & VIRTIO_STATUS_FEATURES_OK)) {
			uint64_t shift = 32 * d->gfselect;

			d->driver_features = (d->driver_features & ~(0xffffffffULL << shift)) |
					     ((uint64_t)v << shift);
		}
		break;
	case CC_MSIX_CONFIG:
		d->config_msix_vector = v < d->msix_vectors ? (uint16_t)v : VIRTIO_NO_VECTOR;
		break;
	case CC_STATUS:
		write_status(d, (uint8_t)v);
		break;
	case CC_Q_SELECT:
		d->queue_select = (uint16_t)v;
		break;
	case CC_Q_SIZE:
		/* A power of two no larger than what we offered; anything else is ignored. */
		if (q_writable && v && v <= q->max_size && !(v & (v - 1)))
			q->size = (uint16_t)v;
		break;
	case CC_Q_MSIX:
		if (q)
			q->msix_vector = v < d->msix_vectors ? (uint16_t)v : VIRTIO_NO_VECTOR;
		break;
	case CC_Q_ENABLE:
		if (q_writable && v == 1) {
			if (queue_valid(d, q))
				q->ready = true;
			else
				fprintf(stderr, "bulwark-vmm: %s: queue %u rings outside guest RAM or misaligned; not enabled\n",
					d->ops->name, q->index);
		}
		break;
	case CC_Q_DESC:
	case CC_Q_DESC + 4:
		if (q_writable)
			set_addr(&q->desc_gpa, off - CC_Q_DESC, v);
		break;
	case CC_Q_AVAIL:
	case CC_Q_AVAIL + 4:
		if (q_writable)
			set_addr(&q->avail_gpa, off - CC_Q_AVAIL, v);
		break;
	case CC_Q_USED:
	case CC_Q_USED + 4:
		if (q_writable)
			set_addr(&q->used_gpa, off - CC_Q_USED, v);
		break;
	default: /* read-only or reserved */
		break;
	}
	(void)size;
}

/* ---- BAR0 dispatch ---- */

static uint64_t bar_read(void *opaque, uint64_t off, unsigned int size)
{
	struct virtio_dev *d = opaque;
	uint64_t v = 0;

	pthread_mutex_lock(&d->lock);
	if (off < REG_COMMON + REG_COMMON_LEN) {
		v = common_read(d, off, size);
	} else if (off == REG_ISR) {
		v = d->isr; /* reading acknowledges (4.1.4.5) */
		d->isr = 0;
	} else if (off >= REG_DEVICE && off - REG_DEVICE + size <= d->ops->config_size) {
		if (d->ops->cfg_read)
			v = d->ops->cfg_read(d, (uint32_t)(off - REG_DEVICE), size);
	} else if (off >= REG_MSIX_TABLE && off < REG_MSIX_TABLE + 16ULL * d->msix_vectors &&
		   size == 4 && off % 4 == 0) {
		uint64_t e = (off - REG_MSIX_TABLE) / 16, w = (off % 16) / 4;

		v = d->msix_table[e][w];
	} else if (off == REG_MSIX_PBA && (size == 4 || size == 8)) {
		v = d->msix_pending;
	}
	pthread_mutex_unlock(&d->lock);
	return v;
}

static void bar_write(void *opaque, uint64_t off, uint64_t v, unsigned int size)
{
	struct virtio_dev *d = opaque;

	if (off >= REG_NOTIFY && off < REG_NOTIFY + NOTIFY_MULT * d->ops->num_queues) {
		/* Only if the ioeventfd is not in place: forward to the I/O thread all the same. */
		uint64_t one = 1;
		struct virtq *q = &d->vq[(off - REG_NOTIFY) / NOTIFY_MULT];

		(void)!write(q->notify_fd, &one, sizeof(one));
		return;
	}
	pthread_mutex_lock(&d->lock);
	if (off < REG_COMMON + REG_COMMON_LEN) {
		common_write(d, off, (uint32_t)v, size);
	} else if (off >= REG_DEVICE && off - REG_DEVICE + size <= d->ops->config_size) {
		if (d->ops->cfg_write)
			d->ops->cfg_write(d, (uint32_t)(off - REG_DEVICE), v, size);
	} else if (off >= REG_MSIX_TABLE && off < REG_MSIX_TABLE + 16ULL * d->msix_vectors &&
		   size == 4 && off % 4 == 0) {
		uint64_t e = (off - REG_MSIX_TABLE) / 16, w = (off % 16) / 4;

		d->msix_table[e][w] = (w == 3) ? (uint32_t)(v & MSIX_ENTRY_MASKED) : (uint32_t)v;
		msix_update(d);
	}
	pthread_mutex_unlock(&d->lock);
}

static const struct bus_ops bar_ops = { .read = bar_read, .write = bar_write };

/* ---- PCI config space: capabilities, the PCI_CFG window, MSI-X control ---- */

static void put_cap(struct virtio_dev *d, uint8_t off, uint8_t next, uint8_t len, uint8_t type,
		    uint32_t offset, uint32_t length)
{
	uint8_t *c = d->pci.cfg + off;

	c[0] = PCI_CAP_VNDR;
	c[1] = next;
	c[2] = len;
	c[3] = type;
	c[4] = 0; /* BAR0 */
	memcpy(c + 8, &offset, 4);
	memcpy(c + 12, &length, 4);
}

/* The PCI_CFG capability (4.1.4.9): a window into the BAR through config space. */
static bool pci_cfg_window(struct virtio_dev *d, uint32_t *off, unsigned int *len)
{
	uint8_t *c = d->pci.cfg + CAP_PCI_CFG_OFF;

	memcpy(off, c + 8, 4);
	memcpy(len, c + 12, 4);
	return c[4] == 0 && (*len == 1 || *len == 2 || *len == 4) && *off < BAR_SIZE &&
	       *off + *len <= BAR_SIZE;
}

static void cfg_refresh(struct pci_dev *p, unsigned int off, unsigned int size)
{
	struct virtio_dev *d = of_pci(p);
	uint32_t boff, v;
	unsigned int len;

	if (off + size <= CAP_PCI_CFG_OFF + 16 || off >= CAP_PCI_CFG_OFF + 20)
		return;
	if (!pci_cfg_window(d, &boff, &len))
		return;
	v = (uint32_t)bar_read(d, boff, len);
	memcpy(p->cfg + CAP_PCI_CFG_OFF + 16, &v, 4);
}

static void cfg_written(struct pci_dev *p, unsigned int off, unsigned int size)
{
	struct virtio_dev *d = of_pci(p);

	if (off < CAP_PCI_CFG_OFF + 20 && off + size > CAP_PCI_CFG_OFF + 16) {
		uint32_t boff, v;
		unsigned int len;

		if (pci_cfg_window(d, &boff, &len)) {
			memcpy(&v, p->cfg + CAP_PCI_CFG_OFF + 16, 4);
			bar_write(d, boff, v, len);
		}
	}
	if (off < CAP_MSIX_OFF + 4 && off + size > CAP_MSIX_OFF + 2) {
		uint16_t ctrl;

		memcpy(&ctrl, p->cfg + CAP_MSIX_OFF + 2, 2);
		pthread_mutex_lock(&d->lock);
		d->msix_enabled = ctrl & MSIX_CTRL_ENABLE;
		d->msix_masked = ctrl & MSIX_CTRL_MASKALL;
		msix_update(d);
		pthread_mutex_unlock(&d->lock);
	}
}

/* Moves the queue doorbells' ioeventfds with the BAR. Called with the PCI lock held. */
static void bar_mapped(struct pci_dev *p, unsigned int bar, uint64_t addr)
{
	struct virtio_dev *d = of_pci(p);

	if (bar != 0)
		return;
	for (unsigned int i = 0; i < d->ops->num_queues; i++) {
		struct kvm_ioeventfd io = { .len = 2, .fd = d->vq[i].notify_fd };

		if (d->bar_gpa) {
			io.addr = d->bar_gpa + REG_NOTIFY + NOTIFY_MULT * i;
			io.flags = KVM_IOEVENTFD_FLAG_DEASSIGN;
			ioctl(d->vm->vm_fd, KVM_IOEVENTFD, &io);
		}
		if (addr) {
			io.addr = addr + REG_NOTIFY + NOTIFY_MULT * i;
			io.flags = 0;
			/* On failure the BAR handler still forwards doorbells: slower, same result. */
			ioctl(d->vm->vm_fd, KVM_IOEVENTFD, &io);
		}
	}
	d->bar_gpa = addr;
}

static const struct pci_dev_ops pci_ops = {
	.cfg_written = cfg_written,
	.cfg_refresh = cfg_refresh,
	.bar_mapped = bar_mapped,
};

static void build_config_space(struct virtio_dev *d)
{
	uint8_t *cfg = d->pci.cfg;
	uint32_t v;
	uint16_t ctrl = (uint16_t)(d->msix_vectors - 1);

	pci_dev_init(&d->pci, VIRTIO_PCI_VENDOR, VIRTIO_PCI_DEVICE_BASE + d->ops->device_id,
		     d->ops->class_code, 1 /* revision 1: modern (4.1.2.1) */);
	cfg[0x2c] = VIRTIO_PCI_VENDOR & 0xff; /* subsystem vendor */
	cfg[0x2d] = VIRTIO_PCI_VENDOR >> 8;
	cfg[0x2e] = 0x40; /* subsystem id >= 0x40 for modern devices */
	cfg[0x06] = 0x10; /* status: capability list */
	cfg[0x34] = CAPS_START;
	put_cap(d, 0x40, 0x50, 16, CAP_COMMON, REG_COMMON, REG_COMMON_LEN);
	put_cap(d, 0x50, 0x64, 20, CAP_NOTIFY, REG_NOTIFY, NOTIFY_MULT * d->ops->num_queues);
	v = NOTIFY_MULT;
	memcpy(cfg + 0x50 + 16, &v, 4);
	put_cap(d, 0x64, 0x74, 16, CAP_ISR, REG_ISR, 1);
	put_cap(d, 0x74, CAP_PCI_CFG_OFF, 16, CAP_DEVICE, REG_DEVICE,
		d->ops->config_size ? d->ops->config_size : 1);
	put_cap(d, CAP_PCI_CFG_OFF, CAP_MSIX_OFF, 20, CAP_PCI_CFG, 0, 0);
	/* The PCI_CFG window's bar, offset, length and data are the driver's to set. */
	d->pci.wmask[CAP_PCI_CFG_OFF + 4] = 0xff;
	memset(d->pci.wmask + CAP_PCI_CFG_OFF + 8, 0xff, 12);
	/* MSI-X (PCI 3.0, 6.8.2): table and PBA in BAR0. */
	cfg[CAP_MSIX_OFF] = PCI_CAP_MSIX;
	cfg[CAP_MSIX_OFF + 1] = 0;
	memcpy(cfg + CAP_MSIX_OFF + 2, &ctrl, 2);
	d->pci.wmask[CAP_MSIX_OFF + 3] = (MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL) >> 8;
	v = REG_MSIX_TABLE; /* BIR 0 */
	memcpy(cfg + CAP_MSIX_OFF + 4, &v, 4);
	v = REG_MSIX_PBA;
	memcpy(cfg + CAP_MSIX_OFF + 8, &v, 4);
}

int virtio_pci_create(struct virtio_dev *d, struct vm *vm, struct pci_bus *bus,
		      struct evloop *loop, unsigned int slot, const struct virtio_ops *ops,
		      void *priv, char *err, size_t errlen)
{
	unsigned int i;
	int ret;

	if (!ops->num_queues || ops->num_queues > VIRTIO_MAX_QUEUES || !ops->queue_max_size ||
	    ops->queue_max_size > VIRTQ_MAX_SIZE || (ops->queue_max_size & (ops->queue_max_size - 1)) ||
	    ops->config_size > 0x1000 || slot == 0 || slot >= PCI_SLOTS) {
		snprintf(err, errlen, "%s: invalid device description", ops->name);
		return -EINVAL;
	}
	memset(d, 0, sizeof(*d));
	pthread_mutex_init(&d->lock, NULL);
	d->ops = ops;
	d->priv = priv;
	d->vm = vm;
	d->loop = loop;
	d->slot = slot;
	d->msix_vectors = ops->num_queues + 1;
	for (i = 0; i <= VIRTIO_MAX_QUEUES; i++)
		d->irq_fd[i] = -1;
	for (i = 0; i < VIRTIO_MAX_QUEUES; i++)
		d->vq[i].notify_fd = -1;
	for (i = 0; i < ops->num_queues; i++) {
		struct virtq *q = &d->vq[i];

		q->dev = d;
		q->index = i;
		q->max_size = ops->queue_max_size;
		q->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		q->notify_h.fd = q->notify_fd;
		q->notify_h.cb = on_notify;
		if (q->notify_fd < 0 || evloop_add(loop, &q->notify_h, EPOLLIN) < 0)
			goto fail_errno;
	}
	for (i = 0; i < d->msix_vectors; i++) {
		d->msix_table[i][3] = MSIX_ENTRY_MASKED; /* masked at reset (PCI 6.8.2.9) */
		d->irq_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (d->irq_fd[i] < 0)
			goto fail_errno;
		ret = irq_msi_alloc(vm, &d->irq_gsi[i]);
		if (ret == 0)
			ret = irq_irqfd(vm, d->irq_fd[i], d->irq_gsi[i], true);
		if (ret < 0) {
			snprintf(err, errlen, "%s: interrupt routing: %s", ops->name, strerror(-ret));
			goto fail;
		}
	}
	reset(d);
	build_config_space(d);
	d->pci.ops = &pci_ops;
	d->pci.opaque = d;
	/* Firmware-style placement: one 32 KiB window per slot inside the PCI MMIO window. */
	ret = pci_dev_set_bar(&d->pci, 0, BAR_SIZE,
			      (uint32_t)(LAYOUT_PCI_MMIO_START + (uint64_t)slot * BAR_SIZE), &bar_ops, d);
	if (ret == 0)
		ret = pci_add(bus, slot, &d->pci);
	if (ret < 0) {
		snprintf(err, errlen, "%s: PCI slot %u: %s", ops->name, slot, strerror(-ret));
		goto fail;
	}
	return 0;

fail_errno:
	ret = -errno;
	snprintf(err, errlen, "%s: %s", ops->name, strerror(errno));
fail:
	virtio_pci_destroy(d);
	return ret;
}

void virtio_pci_destroy(struct virtio_dev *d)
{
	unsigned int i;

	if (!d->ops)
		return;
	/* Doorbells first: KVM holds the eventfds of registered ioeventfds until deassigned. */
	if (d->bar_gpa)
		bar_mapped(&d->pci, 0, 0);
	for (i = 0; i < d->ops->num_queues; i++) {
		if (d->vq[i].notify_fd >= 0) {
			evloop_del(d->loop, &d->vq[i].notify_h);
			close(d->vq[i].notify_fd);
			d->vq[i].notify_fd = -1;
		}
	}
	for (i = 0; i < d->msix_vectors; i++) {
		if (d->irq_fd[i] >= 0) {
			(void)!irq_irqfd(d->vm, d->irq_fd[i], d->irq_gsi[i], false);
			close(d->irq_fd[i]);
			d->irq_fd[i] = -1;
		}
	}
	pthread_mutex_destroy(&d->lock);
	d->ops = NULL;
}

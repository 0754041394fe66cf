/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Modern virtio over PCI (virtio 1.x, no legacy): the transport every device plugs into,
 * and split virtqueues. A device supplies one struct virtio_ops; the transport owns PCI
 * config space, the BAR with the COMMON/NOTIFY/ISR/DEVICE regions and the MSI-X table,
 * feature negotiation, queue notification (ioeventfd) and interrupts (irqfd).
 *
 * Threads: guest register accesses arrive on vCPU threads; queue notifications and
 * everything a back-end does run on the VMM's I/O thread. A device's ops are called with
 * the device's lock held, except queue_notify, which the transport calls on the I/O
 * thread without the lock (the back-end takes it for as short as it can).
 */
#ifndef BULWARK_VMM_VIRTIO_H
#define BULWARK_VMM_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "evloop.h"
#include "pci.h"
#include "vm.h"

/* Feature bits every transport knows (virtio 1.2, 6 "Reserved Feature Bits"). */
#define VIRTIO_F_RING_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_F_ACCESS_PLATFORM 33

/* Device status bits (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED 128

#define VIRTIO_MAX_QUEUES 8
#define VIRTQ_MAX_SIZE 1024
#define VIRTQ_MAX_CHAIN VIRTQ_MAX_SIZE /* a chain can never be longer than the queue */

/* One guest buffer of a descriptor chain, already translated and bounds-checked. */
struct virtq_buf {
	void *addr; /* host pointer into guest RAM */
	uint32_t len;
	bool write; /* device-writable */
};

/* A popped descriptor chain: readable buffers first, then writable ones (2.7.4.2). */
struct virtq_chain {
	uint16_t head;
	unsigned int nbufs;
	unsigned int nread; /* buffers [0, nread) are device-readable */
	uint64_t read_len, write_len;
	struct virtq_buf buf[VIRTQ_MAX_CHAIN];
};

struct virtio_dev;

/*
 * I/O totals of one VM, summed over its devices (devices_io_stats). Each back-end adds
 * its own counters through virtio_ops.io_stats; all are 0 for devices that have none.
 */
struct virtio_io_stats {
	uint64_t blk_reads, blk_writes; /* completed read/write requests */
	uint64_t blk_read_bytes, blk_write_bytes;
	uint64_t net_rx_frames, net_tx_frames; /* rx: to the guest; tx: from the guest */
	uint64_t net_rx_bytes, net_tx_bytes; /* frame bytes, without the virtio-net header */
	uint64_t vsock_rx_bytes, vsock_tx_bytes; /* stream payload: rx to the guest, tx from it */
};

struct virtq {
	struct virtio_dev *dev;
	unsigned int index;
	uint16_t size; /* negotiated; a power of two <= max_size */
	uint16_t max_size;
	bool ready;
	uint16_t msix_vector;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t last_avail; /* next avail entry to consume */
	uint16_t used_idx; /* next used entry to produce */
	uint16_t signalled_used; /* used_idx at the last interrupt (EVENT_IDX) */
	bool signalled_valid;
	int notify_fd; /* ioeventfd for this queue's doorbell */
	struct evloop_handler notify_h;
	uint64_t notifies, chains;
};

struct virtio_ops {
	const char *name; /* for messages: "virtio-blk" */
	uint16_t device_id; /* virtio device type (5 "Device Types"): net 1, blk 2, rng 4, vsock 19 */
	uint32_t class_code; /* PCI class code, 24 bits */
	unsigned int num_queues;
	uint16_t queue_max_size;
	uint64_t features; /* device-specific and transport bits this device implements */
	uint32_t config_size; /* bytes of device-specific configuration */
	/* Device configuration space access (offset < config_size, size 1/2/4/8). */
	uint64_t (*cfg_read)(struct virtio_dev *d, uint32_t off, unsigned int size);
	void (*cfg_write)(struct virtio_dev *d, uint32_t off, uint64_t v, unsigned int size);
	/* The guest kicked queue q (I/O thread, device lock not held). */
	void (*queue_notify)(struct virtio_dev *d, struct virtq *q);
	/* DRIVER_OK was set (lock held): start back-end work, e.g. watch a tap fd. */
	void (*activate)(struct virtio_dev *d);
	/* The driver reset the device (lock held): drop in-flight state. */
	void (*reset)(struct virtio_dev *d);
	/*
	 * Adds the device's I/O counters to *s (I/O thread, device lock not held: the
	 * counters are written on the I/O thread only). May be NULL.
	 */
	void (*io_stats)(struct virtio_dev *d, struct virtio_io_stats *s);
};

struct virtio_dev {
	pthread_mutex_t lock;
	const struct virtio_ops *ops;
	void *priv; /* the back-end's state */
	struct vm *vm;
	struct evloop *loop;
	struct pci_dev pci;
	unsigned int slot;
	uint64_t bar_gpa; /* BAR0 address while memory decoding is on, else 0 */
	/* Transport state (4.1.4.3 common configuration). */
	uint32_t dfselect, gfselect;
	uint64_t driver_features;
	uint8_t status;
	uint8_t config_generation;
	uint16_t queue_select;
	uint16_t config_msix_vector;
	uint8_t isr;
	struct virtq vq[VIRTIO_MAX_QUEUES];
	/* MSI-X: one vector per queue plus one for configuration changes. */
	unsigned int msix_vectors;
	bool msix_enabled, msix_masked;
	uint32_t msix_table[VIRTIO_MAX_QUEUES + 1][4]; /* addr lo, addr hi, data, control */
	uint64_t msix_pending; /* PBA */
	int irq_fd[VIRTIO_MAX_QUEUES + 1]; /* eventfd bound to the vector's GSI with KVM_IRQFD */
	uint32_t irq_gsi[VIRTIO_MAX_QUEUES + 1];
	uint64_t interrupts;
	bool broken; /* NEEDS_RESET: the guest broke a queue; nothing runs until reset */
};

/*
 * Creates a virtio-pci device in PCI slot `slot` with the given ops and back-end state,
 * and plugs it into vm (config space, BAR, ioeventfds, irqfds). Returns 0 or -errno with
 * one line in err; on error nothing stays registered.
 */
int virtio_pci_create(struct virtio_dev *d, struct vm *vm, struct pci_bus *bus,
		      struct evloop *loop, unsigned int slot, const struct virtio_ops *ops,
		      void *priv, char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * Releases what virtio_pci_create set up (doorbell and interrupt fds, I/O-thread
 * handlers). The PCI slot and BAR go away with the VM. Safe on a failed or zeroed
 * device. Call with the vCPUs stopped.
 */
void virtio_pci_destroy(struct virtio_dev *d);

/*
 * Takes the next available chain from q into *c (copied and checked: every
 * descriptor index, length and guest address, chain length bounded by the queue
 * size, readable before writable). Returns 1 when a chain was taken, 0 when the
 * queue is empty, or -EIO when the guest broke the queue: the device is then
 * marked NEEDS_RESET (and the guest told) and must not touch the queue again.
 * Call on the I/O thread.
 */
int virtq_pop(struct virtq *q, struct virtq_chain *c) __attribute__((warn_unused_result));

/* Returns chain `head` to the guest with `len` bytes written into its writable buffers. */
void virtq_push(struct virtq *q, uint16_t head, uint32_t len);

/*
 * Interrupts the guest for q if the driver wants it (EVENT_IDX or the avail ring's
 * NO_INTERRUPT flag), through the queue's MSI-X vector. Call after a batch of pushes,
 * without holding the device lock (it takes it).
 */
void virtq_notify_guest(struct virtq *q);

/* Marks the device NEEDS_RESET and raises a configuration interrupt (I/O thread). */
void virtio_set_broken(struct virtio_dev *d, const char *why);

/* Raises q's MSI-X vector now (virtq_notify_guest decides whether to call it). */
void virtio_signal_queue(struct virtq *q);

/* Copies up to len bytes out of / into a chain's readable / writable buffers. */
size_t virtq_chain_read(const struct virtq_chain *c, uint64_t off, void *dst, size_t len);
size_t virtq_chain_write(const struct virtq_chain *c, uint64_t off, const void *src, size_t len);

#endif

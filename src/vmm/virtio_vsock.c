// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-vsock (virtio 1.2, 5.10): the rx, tx and event queues on the I/O thread. Packets
 * from the guest are copied out of its memory, checked and handed to the connection table;
 * the table's output fills the guest's rx buffers. Host streams come from vsock_unix.c.
 */
#include "virtio_vsock.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vsock_conn.h"
#include "vsock_pkt.h"
#include "vsock_unix.h"

/* Queues (5.10.2). */
#define VQ_RX 0
#define VQ_TX 1
#define VQ_EVENT 2
#define VSOCK_QUEUE_SIZE 256
#define VSOCK_BATCH 256 /* packets per queue per turn before yielding the I/O thread */
#define VSOCK_EVENT_TRANSPORT_RESET 0 /* struct virtio_vsock_event id (5.10.6.7) */

struct virtio_vsock {
	struct virtio_dev *dev;
	struct evloop *loop;
	struct vsock_table tbl;
	struct vsock_unix *unix_tr;
	uint8_t config[8]; /* struct virtio_vsock_config: le64 guest_cid (5.10.4) */
	/* Wakes the I/O thread: new output, activation, reset, teardown. */
	int kick_fd;
	struct evloop_handler kick_h;
	bool kick_added;
	int kick_pending; /* atomic: a kick is written and not yet consumed */
	int activated; /* atomic: DRIVER_OK and not reset since (3.1.1: no buffers before) */
	int reset_seen; /* atomic: set by a reset on a vCPU thread, consumed on the I/O thread */
	/* Teardown handshake with the I/O thread (see quiesce). */
	int quiesce_stage; /* atomic: 0 none, 1 drop the fds, 2 done */
	pthread_mutex_t q_lock;
	pthread_cond_t q_cond;
	bool pci_up; /* virtio_pci_create succeeded and virtio_pci_destroy has not run */
	bool dead; /* torn down: the queues are no longer ours to touch (I/O thread) */
	bool rx_held; /* rx_chain was popped and not used: the next packet goes there */
	struct virtq_chain rx_chain, tx_chain;
	uint8_t hdr[VSOCK_HDR_SIZE];
	uint8_t payload[VSOCK_MAX_PAYLOAD];
	uint64_t bad_chains;
	uint64_t rx_bytes, tx_bytes; /* RW payload to / from the guest; I/O thread only */
};

static void kick(struct virtio_vsock *v)
{
	uint64_t one = 1;

	if (__atomic_exchange_n(&v->kick_pending, 1, __ATOMIC_ACQ_REL))
		return;
	if (write(v->kick_fd, &one, sizeof(one)) != sizeof(one))
		__atomic_store_n(&v->kick_pending, 0, __ATOMIC_RELEASE);
}

static void table_wake(void *opaque)
{
	kick(opaque);
}

/* Guest packets: copy the header and payload out of the chain, then check (5.10.6.6). */
static void tx_run(struct virtio_vsock *v)
{
	struct virtq *q = &v->dev->vq[VQ_TX];
	unsigned int n = 0;

	while (n < VSOCK_BATCH && virtq_pop(q, &v->tx_chain) == 1) {
		struct virtq_chain *c = &v->tx_chain;
		struct vsock_hdr h;

		n++;
		if (c->read_len < VSOCK_HDR_SIZE ||
		    virtq_chain_read(c, 0, v->hdr, VSOCK_HDR_SIZE) != VSOCK_HDR_SIZE) {
			v->bad_chains++;
		} else {
			uint64_t avail = c->read_len - VSOCK_HDR_SIZE;

			vsock_hdr_decode(v->hdr, &h);
			/* Copy only a payload that the checks can accept; they see `avail`. */
			if (h.len <= avail && h.len <= VSOCK_MAX_PAYLOAD) {
				if (virtq_chain_read(c, VSOCK_HDR_SIZE, v->payload, h.len) != h.len)
					avail = 0;
				else if (h.op == VSOCK_OP_RW)
					v->tx_bytes += h.len;
			}
			vsock_table_recv(&v->tbl, &h, v->payload, avail);
		}
		virtq_push(q, c->head, 0);
	}
	if (n)
		virtq_notify_guest(q);
	if (n == VSOCK_BATCH)
		kick(v);
}

/* Fills the guest's rx buffers with what the table has to say. */
static void rx_run(struct virtio_vsock *v)
{
	struct virtq *q = &v->dev->vq[VQ_RX];
	struct virtq_chain *c = &v->rx_chain;
	unsigned int n = 0;

	while (n < VSOCK_BATCH) {
		struct vsock_hdr h;
		uint64_t room;

		if (!v->rx_held) {
			if (virtq_pop(q, c) != 1)
				break;
			v->rx_held = true;
		}
		/* A buffer that cannot hold a header is useless: give it back empty. */
		if (c->write_len < VSOCK_HDR_SIZE) {
			v->bad_chains++;
			virtq_push(q, c->head, 0);
			v->rx_held = false;
			n++;
			continue;
		}
		room = c->write_len - VSOCK_HDR_SIZE;
		if (room > VSOCK_MAX_PAYLOAD)
			room = VSOCK_MAX_PAYLOAD;
		if (!vsock_table_next(&v->tbl, &h, v->payload, (size_t)room))
			break;
		vsock_hdr_encode(&h, v->hdr);
		virtq_chain_write(c, 0, v->hdr, VSOCK_HDR_SIZE);
		virtq_chain_write(c, VSOCK_HDR_SIZE, v->payload, h.len);
		virtq_push(q, c->head, VSOCK_HDR_SIZE + h.len);
		if (h.op == VSOCK_OP_RW)
			v->rx_bytes += h.len;
		v->rx_held = false;
		n++;
	}
	if (n)
		virtq_notify_guest(q);
	if (n == VSOCK_BATCH)
		kick(v);
}

/* Drops everything the guest's previous driver instance had (3.1.1, 4.1.4.3.2). */
static void take_reset(struct virtio_vsock *v)
{
	if (!__atomic_exchange_n(&v->reset_seen, 0, __ATOMIC_ACQ_REL))
		return;
	vsock_table_guest_reset(&v->tbl);
	v->rx_held = false;
}

static void run(struct virtio_vsock *v)
{
	if (v->dead)
		return;
	take_reset(v);
	if (!__atomic_load_n(&v->activated, __ATOMIC_ACQUIRE))
		return;
	tx_run(v);
	rx_run(v);
}

/* Teardown on the I/O thread: stage 1 drops our fds from the loop, stage 2 confirms. */
static bool quiesce_step(struct virtio_vsock *v)
{
	int stage = __atomic_load_n(&v->quiesce_stage, __ATOMIC_ACQUIRE);
	uint64_t one = 1;

	if (stage == 1) {
		v->dead = true;
		vsock_table_reset(&v->tbl);
		v->tbl.ntr = 0;
		vsock_unix_destroy(v->unix_tr);
		v->unix_tr = NULL;
		/* Here, not on the caller's thread, so that no doorbell event is in flight. */
		if (v->pci_up)
			virtio_pci_destroy(v->dev);
		v->pci_up = false;
		__atomic_store_n(&v->quiesce_stage, 2, __ATOMIC_RELEASE);
		/* Events of this batch may still name the fds just dropped: wait one more. */
		if (write(v->kick_fd, &one, sizeof(one)) != sizeof(one))
			abort();
		return true;
	}
	if (stage == 2) {
		evloop_del(v->loop, &v->kick_h);
		v->kick_added = false;
		pthread_mutex_lock(&v->q_lock);
		__atomic_store_n(&v->quiesce_stage, 3, __ATOMIC_RELEASE);
		pthread_cond_signal(&v->q_cond);
		pthread_mutex_unlock(&v->q_lock);
		return true;
	}
	return false;
}

static void on_kick(struct evloop_handler *h, uint32_t events)
{
	struct virtio_vsock *v = (struct virtio_vsock *)((char *)h - offsetof(struct virtio_vsock, kick_h));
	uint64_t n;

	(void)events;
	if (read(v->kick_fd, &n, sizeof(n)) != sizeof(n))
		return;
	if (quiesce_step(v))
		return;
	__atomic_store_n(&v->kick_pending, 0, __ATOMIC_RELEASE);
	run(v);
}

static void vsock_notify(struct virtio_dev *d, struct virtq *q)
{
	struct virtio_vsock *v = d->priv;

	/* The event queue's buffers wait for an event; rx and tx both mean "look again". */
	if (q->index != VQ_EVENT)
		run(v);
}

static uint64_t vsock_cfg_read(struct virtio_dev *d, uint32_t off, unsigned int size)
{
	struct virtio_vsock *v = d->priv;
	uint64_t val = 0;

	if (off < sizeof(v->config) && size <= sizeof(v->config) - off)
		memcpy(&val, v->config + off, size);
	return val;
}

/* guest_cid is read-only to the driver (5.10.4). */
static void vsock_cfg_write(struct virtio_dev *d, uint32_t off, uint64_t val, unsigned int size)
{
	(void)d, (void)off, (void)val, (void)size;
}

/* vCPU thread, device lock held: hand over to the I/O thread. */
static void vsock_activate(struct virtio_dev *d)
{
	struct virtio_vsock *v = d->priv;

	__atomic_store_n(&v->activated, 1, __ATOMIC_RELEASE);
	kick(v);
}

static void vsock_reset(struct virtio_dev *d)
{
	struct virtio_vsock *v = d->priv;

	__atomic_store_n(&v->activated, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&v->reset_seen, 1, __ATOMIC_RELEASE);
	kick(v);
}

static void vsock_io_stats(struct virtio_dev *d, struct virtio_io_stats *s)
{
	const struct virtio_vsock *v = d->priv;

	s->vsock_rx_bytes += v->rx_bytes;
	s->vsock_tx_bytes += v->tx_bytes;
}

static const struct virtio_ops vsock_ops = {
	.name = "virtio-vsock",
	.device_id = 19,
	.class_code = 0x078000, /* communication controller, other */
	.num_queues = 3,
	.queue_max_size = VSOCK_QUEUE_SIZE,
	/* Streams only: VIRTIO_VSOCK_F_SEQPACKET is not offered (5.10.3). */
	.features = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_RING_EVENT_IDX),
	.config_size = 8,
	.cfg_read = vsock_cfg_read,
	.cfg_write = vsock_cfg_write,
	.queue_notify = vsock_notify,
	.activate = vsock_activate,
	.reset = vsock_reset,
	.io_stats = vsock_io_stats,
};

void virtio_vsock_transport_reset(struct virtio_dev *d)
{
	struct virtio_vsock *v = d->priv;
	struct virtq *q = &d->vq[VQ_EVENT];
	uint8_t ev[4] = { VSOCK_EVENT_TRANSPORT_RESET, 0, 0, 0 }; /* le32 id */

	/* The queues stay as they are: a held rx buffer is still the guest's to get back. */
	vsock_table_guest_reset(&v->tbl);
	/* 5.10.6.7: the driver then drops its connections and re-reads guest_cid. */
	if (__atomic_load_n(&v->activated, __ATOMIC_ACQUIRE) && virtq_pop(q, &v->tx_chain) == 1) {
		uint32_t n = (uint32_t)virtq_chain_write(&v->tx_chain, 0, ev, sizeof(ev));

		virtq_push(q, v->tx_chain.head, n);
		virtq_notify_guest(q);
	}
}

/* Waits until the I/O thread no longer touches v (see quiesce_step). */
static void quiesce(struct virtio_vsock *v)
{
	uint64_t one = 1;

	/* On the I/O thread itself (devices_destroy runs there) nothing can race us. */
	if (!v->kick_added || !v->loop->running || evloop_in_thread(v->loop))
		return;
	pthread_mutex_lock(&v->q_lock);
	__atomic_store_n(&v->quiesce_stage, 1, __ATOMIC_RELEASE);
	if (write(v->kick_fd, &one, sizeof(one)) == sizeof(one))
		while (__atomic_load_n(&v->quiesce_stage, __ATOMIC_ACQUIRE) != 3)
			pthread_cond_wait(&v->q_cond, &v->q_lock);
	pthread_mutex_unlock(&v->q_lock);
}

static void vsock_free(struct virtio_vsock *v)
{
	quiesce(v);
	vsock_table_reset(&v->tbl);
	vsock_unix_destroy(v->unix_tr);
	if (v->kick_added)
		evloop_del(v->loop, &v->kick_h);
	if (v->kick_fd >= 0)
		close(v->kick_fd);
	pthread_cond_destroy(&v->q_cond);
	pthread_mutex_destroy(&v->q_lock);
	free(v);
}

int virtio_vsock_create(struct virtio_dev *d, const struct vsock_config *cfg, struct vm *vm,
			struct pci_bus *bus, struct evloop *loop, unsigned int slot, char *err,
			size_t errlen)
{
	struct virtio_vsock *v;
	uint64_t cid_le;
	int ret;

	d->priv = NULL;
	if (!vsock_cid_valid(cfg->cid) || !cfg->socket) {
		snprintf(err, errlen, "vsock: guest CID must be 3 to 4294967294 and a socket given");
		return -EINVAL;
	}
	v = calloc(1, sizeof(*v));
	if (!v) {
		snprintf(err, errlen, "vsock: out of memory");
		return -ENOMEM;
	}
	v->dev = d;
	v->loop = loop;
	pthread_mutex_init(&v->q_lock, NULL);
	pthread_cond_init(&v->q_cond, NULL);
	cid_le = htole64(cfg->cid);
	memcpy(v->config, &cid_le, sizeof(cid_le));
	vsock_table_init(&v->tbl, cfg->cid, table_wake, v);
	v->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->kick_fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "vsock: eventfd: %s", strerror(errno));
		goto out_free;
	}
	v->kick_h = (struct evloop_handler){ .fd = v->kick_fd, .cb = on_kick };
	ret = evloop_add(loop, &v->kick_h, EPOLLIN);
	if (ret < 0) {
		snprintf(err, errlen, "vsock: epoll: %s", strerror(-ret));
		goto out_free;
	}
	v->kick_added = true;
	v->unix_tr = vsock_unix_create(&v->tbl, loop, cfg->socket, err, errlen);
	if (!v->unix_tr) {
		ret = -EINVAL;
		goto out_free;
	}
	ret = virtio_pci_create(d, vm, bus, loop, slot, &vsock_ops, v, err, errlen);
	if (ret < 0)
		goto out_free;
	v->pci_up = true;
	return 0;

out_free:
	vsock_free(v);
	d->priv = NULL;
	return ret;
}

void virtio_vsock_destroy(struct virtio_dev *d)
{
	struct virtio_vsock *v = d->priv;

	if (!v)
		return;
	/* The I/O thread unplugs it (quiesce), then nothing of ours is in its hands. */
	quiesce(v);
	if (v->pci_up)
		virtio_pci_destroy(d);
	vsock_free(v);
	d->priv = NULL;
}

// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-net (device type 1, virtio 1.2 section 5.1) on a TAP device: one receive and one
 * transmit queue, frames passed to and from the tap with their virtio_net_hdr, which the
 * tap understands natively (IFF_VNET_HDR), so checksum and TSO offloads are the host
 * kernel's work and the header is only checked here. Runs on the VMM's I/O thread.
 */
#include "virtio_net.h"

#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "tap.h"
#include "util.h"

#define NET_RXQ 0 /* receiveq1 (5.1.2) */
#define NET_TXQ 1 /* transmitq1 */
#define NET_QUEUE_SIZE 256
#define NET_BUDGET 64 /* frames per direction per turn, so neither starves the other */
#define NET_CONFIG_SIZE 8 /* mac[6], status (5.1.4); no MQ, no MTU */
#define VIRTIO_NET_S_LINK_UP 1

enum { NET_RX, NET_TX };

struct virtio_net;

struct net_timer {
	struct evloop_handler h; /* a timerfd: a throttled direction may go on */
	struct virtio_net *n;
	unsigned int dir;
};

struct virtio_net {
	struct virtio_dev *dev;
	struct evloop *loop;
	struct tap tap;
	uint8_t mac[6];
	struct virtio_ops ops; /* net_ops with this device's features */

	/* Written by activate/reset (vCPU thread, device lock held), read by the I/O thread. */
	unsigned int gen;
	bool want_active;
	uint64_t want_features;
	int ctl_fd; /* eventfd: the I/O thread looks at gen, or goes on after a full turn */
	struct evloop_handler ctl_h;

	/*
	 * Everything below belongs to the I/O thread and is only touched with lock held.
	 * The device lock is never held while taking it (the transport calls activate and
	 * reset with the device lock held, so they only set the fields above).
	 */
	pthread_mutex_t lock;
	unsigned int seen_gen;
	bool active, dying;
	uint64_t features; /* negotiated, as of the last activation */
	struct evloop_handler tap_h;
	bool tap_watched;
	struct ratelimit rl[2];
	struct net_timer timer[2];
	bool throttled[2];
	struct virtq_chain rx_chain; /* popped, not yet used (rx_len 0) or held back (rx_len) */
	bool rx_held;
	uint32_t rx_len;
	struct virtq_chain tx_chain; /* popped, waiting for the rate limiter */
	bool tx_held;
	struct iovec iov[IOV_MAX];
	bool rx_error_said;
	uint64_t rx_frames, rx_dropped, tx_frames, tx_dropped;
	uint64_t rx_bytes, tx_bytes; /* frame bytes, virtio-net header not counted */
};

/* ---- the device: I/O thread ---- */

static void say_once(struct virtio_net *n, bool *said, const char *what, int e)
{
	if (*said)
		return;
	*said = true;
	fprintf(stderr, "bulwark-vmm: virtio-net in slot %u (%s): %s: %s\n", n->dev->slot,
		n->tap.ifname, what, strerror(e));
}

/* Caller holds n->lock. Level-triggered: watching a readable tap means reading it. */
static void tap_watch(struct virtio_net *n, bool on)
{
	if (on == n->tap_watched || (on && n->dying))
		return;
	if (on) {
		if (evloop_add(n->loop, &n->tap_h, EPOLLIN) < 0)
			return;
	} else {
		evloop_del(n->loop, &n->tap_h);
	}
	n->tap_watched = on;
}

static void timer_disarm(struct net_timer *t)
{
	struct itimerspec off = { 0 };

	(void)timerfd_settime(t->h.fd, 0, &off, NULL);
}

static unsigned int offload_flags(uint64_t features)
{
	unsigned int f = 0;

	/* The tap may hand us partial checksums and TSO frames only if the driver takes them. */
	if (virtio_net_has(features, VIRTIO_NET_F_GUEST_CSUM)) {
		f |= TAP_OFFLOAD_CSUM;
		if (virtio_net_has(features, VIRTIO_NET_F_GUEST_TSO4))
			f |= TAP_OFFLOAD_TSO4;
		if (virtio_net_has(features, VIRTIO_NET_F_GUEST_TSO6))
			f |= TAP_OFFLOAD_TSO6;
	}
	return f;
}

/*
 * Caller holds n->lock. Catches up with activations and resets the transport reported:
 * chains popped before a reset belong to a queue that no longer exists and are forgotten.
 */
static void sync_state(struct virtio_net *n)
{
	unsigned int gen = __atomic_load_n(&n->gen, __ATOMIC_ACQUIRE);
	int ret;

	if (gen == n->seen_gen || n->dying)
		return;
	n->seen_gen = gen;
	n->rx_held = n->tx_held = false;
	n->rx_len = 0;
	for (unsigned int i = 0; i < 2; i++) {
		n->throttled[i] = false;
		timer_disarm(&n->timer[i]);
	}
	n->active = __atomic_load_n(&n->want_active, __ATOMIC_ACQUIRE);
	n->features = __atomic_load_n(&n->want_features, __ATOMIC_ACQUIRE);
	ret = tap_set_offload(&n->tap, n->active ? offload_flags(n->features) : 0);
	if (ret < 0) {
		/* Without it the tap could hand the guest frames it did not agree to. */
		fprintf(stderr, "bulwark-vmm: virtio-net in slot %u (%s): TUNSETOFFLOAD: %s; "
			"receive stopped\n", n->dev->slot, n->tap.ifname, strerror(-ret));
		n->active = false;
	}
	tap_watch(n, n->active);
}

/* Gathers a chain's readable or writable buffers from byte `skip` on into n->iov[first...]. */
static int chain_iov(struct virtio_net *n, const struct virtq_chain *c, bool write,
		     uint64_t skip, unsigned int first)
{
	unsigned int i = write ? c->nread : 0, end = write ? c->nbufs : c->nread;
	unsigned int k = first;

	for (; i < end; i++) {
		const struct virtq_buf *b = &c->buf[i];

		if (skip >= b->len) {
			skip -= b->len;
			continue;
		}
		if (k == IOV_MAX)
			return -E2BIG;
		n->iov[k].iov_base = (uint8_t *)b->addr + skip;
		n->iov[k].iov_len = b->len - skip;
		skip = 0;
		k++;
	}
	return (int)(k - first);
}

/* Caller holds n->lock. False (and the timer armed) when direction dir must wait. */
static bool admit(struct virtio_net *n, unsigned int dir, uint64_t bytes)
{
	uint64_t ready;

	if (!ratelimit_enabled(&n->rl[dir]) ||
	    ratelimit_take(&n->rl[dir], util_now_ns(), bytes, &ready))
		return true;
	if (ratelimit_timer_arm(n->timer[dir].h.fd, ready) < 0)
		return true; /* cannot wait precisely: do not wait forever either */
	n->throttled[dir] = true;
	return false;
}

/*
 * Reads one frame from the tap into the held receive chain: the header into a local
 * copy (fixed up, then written to the guest), the frame straight into guest memory.
 * Returns its length with header, -EAGAIN when the tap is empty, or another -errno
 * when this frame was dropped (the chain stays held for the next one).
 */
static ssize_t rx_read(struct virtio_net *n)
{
	const struct virtq_chain *c = &n->rx_chain;
	struct virtio_net_hdr h;
	ssize_t got;
	int cnt;

	cnt = chain_iov(n, c, true, VIRTIO_NET_HDR_LEN, 1);
	if (cnt < 0)
		cnt = IOV_MAX - 1; /* the rest of a very long chain goes unused */
	n->iov[0].iov_base = &h;
	n->iov[0].iov_len = VIRTIO_NET_HDR_LEN;
	got = readv(n->tap.fd, n->iov, cnt + 1);
	if (got < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	/* The tap reports a frame's full length even when it had to cut it short. */
	if ((uint64_t)got < VIRTIO_NET_HDR_LEN || (uint64_t)got > c->write_len)
		return -EMSGSIZE;
	if (virtio_net_rx_hdr_fixup(&h, n->features) < 0)
		return -EPROTO;
	virtq_chain_write(c, 0, &h, VIRTIO_NET_HDR_LEN);
	return got;
}

/* Caller holds n->lock. Tap to guest until the tap is empty, buffers run out or the limit. */
static void rx_run(struct virtio_net *n)
{
	struct virtq *q = &n->dev->vq[NET_RXQ];
	unsigned int pushed = 0;

	if (!n->active || n->throttled[NET_RX])
		return;
	/* Level-triggered: frames left after a full budget bring us back. */
	tap_watch(n, true);
	for (unsigned int budget = NET_BUDGET; budget; budget--) {
		if (!n->rx_held) {
			int r = virtq_pop(q, &n->rx_chain);

			if (r < 0)
				n->active = false; /* broken: nothing until the driver resets */
			if (r <= 0) {
				/*
				 * No buffers: leave frames in the tap (its queue bounds them) until
				 * the driver adds some and kicks.
				 */
				tap_watch(n, false);
				break;
			}
			/* 5.1.6.3: receive buffers are device-writable and hold at least a header. */
			if (n->rx_chain.nread || n->rx_chain.write_len < VIRTIO_NET_HDR_LEN) {
				virtq_push(q, n->rx_chain.head, 0);
				pushed++;
				n->rx_dropped++;
				continue;
			}
			n->rx_held = true;
			n->rx_len = 0;
		}
		if (!n->rx_len) {
			ssize_t got = rx_read(n);

			if (got == -EAGAIN)
				break;
			if (got == -EMSGSIZE || got == -EPROTO) {
				n->rx_dropped++;
				continue;
			}
			if (got < 0) {
				if (got == -EINTR)
					continue;
				say_once(n, &n->rx_error_said, "reading the tap", (int)-got);
				tap_watch(n, false);
				break;
			}
			n->rx_len = (uint32_t)got;
		}
		if (!admit(n, NET_RX, n->rx_len - VIRTIO_NET_HDR_LEN)) {
			tap_watch(n, false);
			break;
		}
		virtq_push(q, n->rx_chain.head, n->rx_len);
		pushed++;
		n->rx_frames++;
		n->rx_bytes += n->rx_len - VIRTIO_NET_HDR_LEN;
		n->rx_held = false;
		n->rx_len = 0;
	}
	if (pushed)
		virtq_notify_guest(q);
}

/* Caller holds n->lock. Sends the held transmit chain; false if the limiter says wait. */
static bool tx_one(struct virtio_net *n)
{
	const struct virtq_chain *c = &n->tx_chain;
	struct virtio_net_hdr h;
	uint64_t len;
	int cnt;

	/* Copy, then check: the header goes to the tap from here, not from guest memory. */
	if (c->read_len < VIRTIO_NET_HDR_LEN ||
	    c->read_len - VIRTIO_NET_HDR_LEN > VIRTIO_NET_MAX_FRAME)
		goto drop;
	len = c->read_len - VIRTIO_NET_HDR_LEN;
	virtq_chain_read(c, 0, &h, VIRTIO_NET_HDR_LEN);
	if (virtio_net_tx_hdr_check(&h, n->features, len) < 0)
		goto drop;
	cnt = chain_iov(n, c, false, VIRTIO_NET_HDR_LEN, 1);
	if (cnt < 0)
		goto drop;
	if (!admit(n, NET_TX, len))
		return false;
	n->iov[0].iov_base = &h;
	n->iov[0].iov_len = VIRTIO_NET_HDR_LEN;
	/* A tap never blocks a writer; a frame it refuses (bad GSO header, down) is lost. */
	if (writev(n->tap.fd, n->iov, cnt + 1) < 0)
		goto drop;
	n->tx_frames++;
	n->tx_bytes += len;
	return true;
drop:
	n->tx_dropped++;
	return true;
}

/* Caller holds n->lock. Guest to tap; after a full budget, comes back through ctl_fd. */
static void tx_run(struct virtio_net *n)
{
	struct virtq *q = &n->dev->vq[NET_TXQ];
	unsigned int pushed = 0, budget;
	uint64_t one = 1;

	if (!n->active || n->throttled[NET_TX])
		return;
	for (budget = NET_BUDGET; budget; budget--) {
		if (!n->tx_held) {
			int r = virtq_pop(q, &n->tx_chain);

			if (r < 0)
				n->active = false;
			if (r <= 0)
				break;
			n->tx_held = true;
		}
		if (!tx_one(n))
			break;
		/* 5.1.6.2: nothing is written into transmit buffers. */
		virtq_push(q, n->tx_chain.head, 0);
		pushed++;
		n->tx_held = false;
	}
	if (pushed)
		virtq_notify_guest(q);
	/* With EVENT_IDX the driver may not kick again for chains it already queued. */
	if (!budget)
		(void)!write(n->ctl_fd, &one, sizeof(one));
}

static void on_tap(struct evloop_handler *h, uint32_t events)
{
	struct virtio_net *n = (struct virtio_net *)((char *)h - offsetof(struct virtio_net, tap_h));

	(void)events;
	pthread_mutex_lock(&n->lock);
	sync_state(n);
	if (!n->dying)
		rx_run(n);
	pthread_mutex_unlock(&n->lock);
}

static void on_ctl(struct evloop_handler *h, uint32_t events)
{
	struct virtio_net *n = (struct virtio_net *)((char *)h - offsetof(struct virtio_net, ctl_h));
	uint64_t v;

	(void)events;
	if (read(n->ctl_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&n->lock);
	sync_state(n);
	if (!n->dying) {
		rx_run(n);
		tx_run(n);
	}
	pthread_mutex_unlock(&n->lock);
}

static void on_timer(struct evloop_handler *h, uint32_t events)
{
	struct net_timer *t = (struct net_timer *)h;
	struct virtio_net *n = t->n;
	uint64_t v;

	(void)events;
	if (read(h->fd, &v, sizeof(v)) < 0)
		return; /* disarmed by a reset after it fired */
	pthread_mutex_lock(&n->lock);
	sync_state(n);
	if (!n->dying && n->throttled[t->dir]) {
		n->throttled[t->dir] = false;
		if (t->dir == NET_RX)
			rx_run(n);
		else
			tx_run(n);
	}
	pthread_mutex_unlock(&n->lock);
}

static void net_queue_notify(struct virtio_dev *d, struct virtq *q)
{
	struct virtio_net *n = d->priv;

	pthread_mutex_lock(&n->lock);
	sync_state(n);
	if (!n->dying) {
		/* An rx kick means new buffers: read the tap again (rx_run watches it). */
		if (q->index == NET_RXQ)
			rx_run(n);
		else
			tx_run(n);
	}
	pthread_mutex_unlock(&n->lock);
}

/* ---- the device: transport callbacks (device lock held) ---- */

static uint64_t net_cfg_read(struct virtio_dev *d, uint32_t off, unsigned int size)
{
	struct virtio_net *n = d->priv;
	uint8_t cfg[NET_CONFIG_SIZE];
	uint16_t status = htole16(VIRTIO_NET_S_LINK_UP);
	uint64_t v = 0;

	memcpy(cfg, n->mac, 6);
	memcpy(cfg + 6, &status, 2);
	if (off < sizeof(cfg) && size <= sizeof(cfg) - off)
		memcpy(&v, cfg + off, size);
	return le64toh(v);
}

static void net_cfg_write(struct virtio_dev *d, uint32_t off, uint64_t v, unsigned int size)
{
	/* 5.1.4: mac and status are read-only for a VERSION_1 driver. */
	(void)d, (void)off, (void)v, (void)size;
}

/* Hands the new state to the I/O thread, which must not be waited for here. */
static void kick_ctl(struct virtio_net *n, bool active, uint64_t features)
{
	uint64_t one = 1;

	__atomic_store_n(&n->want_features, features, __ATOMIC_RELEASE);
	__atomic_store_n(&n->want_active, active, __ATOMIC_RELEASE);
	__atomic_add_fetch(&n->gen, 1, __ATOMIC_RELEASE);
	/* Fails only when the counter is full, and then a wake-up is pending anyway. */
	(void)!write(n->ctl_fd, &one, sizeof(one));
}

static void net_activate(struct virtio_dev *d)
{
	kick_ctl(d->priv, true, d->driver_features);
}

static void net_reset(struct virtio_dev *d)
{
	kick_ctl(d->priv, false, 0);
}

#define NET_FEATURES_BASE                                                                    \
	((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_RING_EVENT_IDX) |                  \
	 (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS))
#define NET_FEATURES_OFFLOAD                                                                 \
	((1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_GUEST_CSUM) |                   \
	 (1ULL << VIRTIO_NET_F_HOST_TSO4) | (1ULL << VIRTIO_NET_F_HOST_TSO6) |               \
	 (1ULL << VIRTIO_NET_F_GUEST_TSO4) | (1ULL << VIRTIO_NET_F_GUEST_TSO6))

/*
 * On the I/O thread, like rx_run and tx_run, so the counters cannot change under us;
 * n->lock is not needed for them (and must not be taken: the control handler calls this
 * with its own lock held).
 */
static void net_io_stats(struct virtio_dev *d, struct virtio_io_stats *s)
{
	const struct virtio_net *n = d->priv;

	s->net_rx_frames += n->rx_frames;
	s->net_tx_frames += n->tx_frames;
	s->net_rx_bytes += n->rx_bytes;
	s->net_tx_bytes += n->tx_bytes;
}

/* The template; each device gets a copy with the features its options allow. */
static const struct virtio_ops net_ops = {
	.name = "virtio-net",
	.device_id = 1,
	.class_code = 0x020000, /* network controller, Ethernet */
	.num_queues = 2,
	.queue_max_size = NET_QUEUE_SIZE,
	.features = NET_FEATURES_BASE,
	.config_size = NET_CONFIG_SIZE,
	.cfg_read = net_cfg_read,
	.cfg_write = net_cfg_write,
	.queue_notify = net_queue_notify,
	.activate = net_activate,
	.reset = net_reset,
	.io_stats = net_io_stats,
};

static void net_free(struct virtio_net *n)
{
	for (unsigned int i = 0; i < 2; i++)
		if (n->timer[i].h.fd >= 0)
			close(n->timer[i].h.fd);
	if (n->ctl_fd >= 0)
		close(n->ctl_fd);
	tap_close(&n->tap);
	pthread_mutex_destroy(&n->lock);
	free(n);
}

int virtio_net_create(struct virtio_dev *d, const struct virtio_net_opts *o, struct vm *vm,
		      struct pci_bus *bus, struct evloop *loop, unsigned int slot, char *err,
		      size_t errlen)
{
	const struct ratelimit_config *rlc[2] = { &o->rx_rl, &o->tx_rl };
	struct virtio_net *n;
	int ret;

	n = calloc(1, sizeof(*n));
	if (!n)
		return util_fail(-ENOMEM, err, errlen, "net: out of memory");
	pthread_mutex_init(&n->lock, NULL);
	n->loop = loop;
	n->ctl_fd = n->timer[0].h.fd = n->timer[1].h.fd = -1;
	ret = o->ifname ? tap_open(&n->tap, o->ifname, err, errlen)
			: tap_adopt(&n->tap, o->fd, err, errlen);
	if (ret < 0)
		goto fail_free;
	/* VERSION_1: the 12-byte header with num_buffers, whatever else is negotiated. */
	ret = tap_set_vnet_hdr_size(&n->tap, VIRTIO_NET_HDR_LEN);
	if (ret == 0)
		ret = tap_set_offload(&n->tap, 0);
	if (ret < 0) {
		util_fail(ret, err, errlen, "net: tap %s: setting up the vnet header: %s",
			  n->tap.ifname, strerror(-ret));
		goto fail_free;
	}
	if (o->mac_set)
		memcpy(n->mac, o->mac, 6);
	else
		virtio_net_default_mac(n->tap.ifname, n->mac);
	for (unsigned int i = 0; i < 2; i++) {
		ret = ratelimit_init(&n->rl[i], rlc[i], util_now_ns());
		if (ret < 0) {
			util_fail(ret, err, errlen, "net: %s rate limit out of range",
				  i == NET_RX ? "rx" : "tx");
			goto fail_free;
		}
		n->timer[i].n = n;
		n->timer[i].dir = i;
		n->timer[i].h.cb = on_timer;
		n->timer[i].h.fd = ratelimit_timer_open();
		if (n->timer[i].h.fd < 0) {
			ret = n->timer[i].h.fd;
			goto fail_errno;
		}
	}
	n->ctl_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (n->ctl_fd < 0) {
		ret = -errno;
		goto fail_errno;
	}
	n->ctl_h.fd = n->ctl_fd;
	n->ctl_h.cb = on_ctl;
	n->tap_h.fd = n->tap.fd;
	n->tap_h.cb = on_tap;
	n->dev = d;
	ret = evloop_add(loop, &n->ctl_h, EPOLLIN);
	if (ret == 0)
		ret = evloop_add(loop, &n->timer[NET_RX].h, EPOLLIN);
	if (ret == 0)
		ret = evloop_add(loop, &n->timer[NET_TX].h, EPOLLIN);
	if (ret < 0) {
		util_fail(ret, err, errlen, "net: %s", strerror(-ret));
		goto fail_unwatch;
	}
	n->ops = net_ops;
	if (o->offload)
		n->ops.features |= NET_FEATURES_OFFLOAD;
	ret = virtio_pci_create(d, vm, bus, loop, slot, &n->ops, n, err, errlen);
	if (ret < 0)
		goto fail_unwatch;
	return 0;

fail_errno:
	util_fail(ret, err, errlen, "net: %s", strerror(-ret));
	goto fail_free;
fail_unwatch:
	/* Deleting what was never added is harmless (ENOENT). */
	evloop_del(loop, &n->ctl_h);
	for (unsigned int i = 0; i < 2; i++)
		evloop_del(loop, &n->timer[i].h);
fail_free:
	net_free(n);
	d->priv = NULL;
	return ret;
}

void virtio_net_destroy(struct virtio_dev *d)
{
	struct virtio_net *n = d->priv;

	/* Doorbells first, so no queue_notify starts once n is gone. */
	virtio_pci_destroy(d);
	if (!n)
		return;
	/* Waits out a handler that is running; one that starts later sees dying. */
	pthread_mutex_lock(&n->lock);
	n->dying = true;
	tap_watch(n, false);
	evloop_del(n->loop, &n->ctl_h);
	for (unsigned int i = 0; i < 2; i++)
		evloop_del(n->loop, &n->timer[i].h);
	pthread_mutex_unlock(&n->lock);
	net_free(n);
	d->priv = NULL;
}

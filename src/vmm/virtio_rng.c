// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-rng (virtio 1.2, 5.4): each request's writable buffers are filled from the
 * host's getrandom(), at most VIRTIO_RNG_MAX_REQ bytes a request, optionally rate-limited.
 */
#include "virtio_rng.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <unistd.h>

#include "util.h"

#define RNG_QUEUE_SIZE 64
#define RNG_BATCH 64

struct virtio_rng {
	struct virtio_dev *dev;
	struct evloop *loop;
	struct ratelimit rl;
	int timer_fd;
	struct evloop_handler timer_h;
	bool timer_added;
	bool held; /* chain popped but refused by the limiter */
	int reset_seen;
	struct virtq_chain chain;
	uint64_t bytes;
};

/* Bytes this request gets: its writable space, bounded. */
static uint32_t rng_len(const struct virtq_chain *c)
{
	return c->write_len < VIRTIO_RNG_MAX_REQ ? (uint32_t)c->write_len : VIRTIO_RNG_MAX_REQ;
}

/* Fills the first len writable bytes straight from getrandom(); returns bytes filled. */
static uint32_t rng_fill(const struct virtq_chain *c, uint32_t len)
{
	uint32_t done = 0;

	for (unsigned int i = c->nread; i < c->nbufs && done < len; i++) {
		uint32_t want = c->buf[i].len < len - done ? c->buf[i].len : len - done;
		uint32_t got = 0;

		while (got < want) {
			ssize_t n = getrandom((uint8_t *)c->buf[i].addr + got, want - got, 0);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return done + got;
			got += (uint32_t)n;
		}
		done += got;
	}
	return done;
}

static void rng_run(struct virtio_rng *r, struct virtq *q)
{
	unsigned int served = 0;
	uint64_t ready;

	if (__atomic_exchange_n(&r->reset_seen, 0, __ATOMIC_ACQ_REL))
		r->held = false;
	while (served < RNG_BATCH) {
		uint32_t n;

		if (!r->held) {
			if (virtq_pop(q, &r->chain) <= 0)
				break;
			r->held = true;
		}
		n = rng_len(&r->chain);
		if (ratelimit_enabled(&r->rl) &&
		    !ratelimit_take(&r->rl, util_now_ns(), n, &ready)) {
			if (ratelimit_timer_arm(r->timer_fd, ready) < 0)
				r->held = false;
			break;
		}
		r->held = false;
		n = rng_fill(&r->chain, n);
		r->bytes += n;
		virtq_push(q, r->chain.head, n);
		served++;
	}
	if (served == RNG_BATCH && ratelimit_timer_arm(r->timer_fd, 0) < 0)
		fprintf(stderr, "bulwark-vmm: virtio-rng: cannot arm timer\n");
	if (served)
		virtq_notify_guest(q);
}

static void rng_notify(struct virtio_dev *d, struct virtq *q)
{
	struct virtio_rng *r = d->priv;

	if (r->held && !__atomic_load_n(&r->reset_seen, __ATOMIC_ACQUIRE))
		return;
	rng_run(r, q);
}

static void rng_timer(struct evloop_handler *h, uint32_t events)
{
	struct virtio_rng *r = (struct virtio_rng *)((char *)h - offsetof(struct virtio_rng, timer_h));
	uint64_t n;

	(void)events;
	if (read(r->timer_fd, &n, sizeof(n)) != sizeof(n))
		return;
	rng_run(r, &r->dev->vq[0]);
}

/* Device lock held, vCPU thread: the I/O thread drops its held chain when it next runs. */
static void rng_reset(struct virtio_dev *d)
{
	struct virtio_rng *r = d->priv;

	__atomic_store_n(&r->reset_seen, 1, __ATOMIC_RELEASE);
}

/* No device-specific configuration and no feature bits of its own (5.4.3, 5.4.4). */
static const struct virtio_ops rng_ops = {
	.name = "virtio-rng",
	.device_id = 4,
	.class_code = 0xff0000, /* unassigned class */
	.num_queues = 1,
	.queue_max_size = RNG_QUEUE_SIZE,
	.features = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_RING_EVENT_IDX),
	.config_size = 0,
	.queue_notify = rng_notify,
	.reset = rng_reset,
};

int virtio_rng_create(struct virtio_dev *d, const struct ratelimit_config *rl, struct vm *vm,
		      struct pci_bus *bus, struct evloop *loop, unsigned int slot, char *err,
		      size_t errlen)
{
	struct virtio_rng *r = calloc(1, sizeof(*r));
	int ret;

	d->priv = NULL;
	if (!r) {
		snprintf(err, errlen, "virtio-rng: out of memory");
		return -ENOMEM;
	}
	r->dev = d;
	r->loop = loop;
	ret = ratelimit_init(&r->rl, rl, util_now_ns());
	if (ret < 0) {
		snprintf(err, errlen, "virtio-rng: bad rate limit");
		goto out_free;
	}
	r->timer_fd = ratelimit_timer_open();
	if (r->timer_fd < 0) {
		ret = r->timer_fd;
		snprintf(err, errlen, "virtio-rng: timerfd: %s", strerror(-ret));
		goto out_free;
	}
	r->timer_h = (struct evloop_handler){ .fd = r->timer_fd, .cb = rng_timer };
	ret = evloop_add(loop, &r->timer_h, EPOLLIN);
	if (ret < 0) {
		snprintf(err, errlen, "virtio-rng: epoll: %s", strerror(-ret));
		goto out_timer;
	}
	r->timer_added = true;
	ret = virtio_pci_create(d, vm, bus, loop, slot, &rng_ops, r, err, errlen);
	if (ret < 0)
		goto out_loop;
	return 0;

out_loop:
	evloop_del(loop, &r->timer_h);
out_timer:
	close(r->timer_fd);
out_free:
	free(r);
	d->priv = NULL;
	return ret;
}

void virtio_rng_destroy(struct virtio_dev *d)
{
	struct virtio_rng *r = d->priv;

	if (!r)
		return;
	virtio_pci_destroy(d);
	if (r->timer_added)
		evloop_del(r->loop, &r->timer_h);
	close(r->timer_fd);
	free(r);
	d->priv = NULL;
}

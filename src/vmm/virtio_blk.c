// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-blk (virtio 1.2, 5.2) on a raw image: one request queue served on the I/O thread
 * with preadv/pwritev straight between the file and guest buffers, optional rate limits.
 */
#include "virtio_blk.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "util.h"

/* Feature bits (5.2.3). */
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Request types and status values (5.2.6). */
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2
#define VIRTIO_BLK_WZ_UNMAP 1u

#define BLK_QUEUE_SIZE 256
#define BLK_HDR_SIZE 16
#define BLK_SEG_SIZE 16 /* struct virtio_blk_discard_write_zeroes */
#define BLK_BATCH 64 /* requests per turn before yielding the I/O thread */
/* One discard/write-zeroes segment of at most 4 GiB: bounded work per request. */
#define BLK_MAX_DISCARD_SECTORS (8U * 1024U * 1024U)

/* struct virtio_blk_config (5.2.4), little-endian, fields up to write_zeroes_may_unmap. */
struct blk_config {
	uint64_t capacity;
	uint32_t size_max;
	uint32_t seg_max;
	uint16_t cylinders;
	uint8_t heads, sectors;
	uint32_t blk_size;
	uint8_t physical_block_exp, alignment_offset;
	uint16_t min_io_size;
	uint32_t opt_io_size;
	uint8_t writeback, unused0;
	uint16_t num_queues;
	uint32_t max_discard_sectors, max_discard_seg, discard_sector_alignment;
	uint32_t max_write_zeroes_sectors, max_write_zeroes_seg;
	uint8_t write_zeroes_may_unmap, unused1[3];
} __attribute__((packed));

_Static_assert(sizeof(struct blk_config) == 60, "virtio_blk_config layout (5.2.4)");

struct blk_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

struct virtio_blk {
	struct virtio_ops ops; /* per device: features depend on ro and the file system */
	struct virtio_dev *dev;
	struct evloop *loop;
	struct disk_image img;
	struct blk_config cfg;
	char serial[DISK_SERIAL_MAX];
	struct ratelimit rl;
	int timer_fd;
	struct evloop_handler timer_h;
	bool timer_added;
	/* A popped request the limiter refused: served first when the timer fires. */
	bool held;
	struct blk_hdr held_hdr;
	int reset_seen; /* set by reset (vCPU thread), consumed by the I/O thread */
	struct virtq_chain chain;
	struct iovec iov[VIRTQ_MAX_CHAIN];
	/* I/O thread only (blk_run and blk_io_stats). */
	uint64_t reqs, errors, reads, writes, bytes_read, bytes_written;
};

/*
 * iovecs for bytes [off, off+len) of the chain's readable (or writable) buffers.
 * Returns the count; the caller has checked that the range lies inside them.
 */
static int chain_iov(const struct virtq_chain *c, bool writable, uint64_t off, uint64_t len,
		     struct iovec *iov)
{
	unsigned int i = writable ? c->nread : 0, end = writable ? c->nbufs : c->nread;
	int n = 0;

	for (; i < end && len; i++) {
		const struct virtq_buf *b = &c->buf[i];
		uint64_t take;

		if (off >= b->len) {
			off -= b->len;
			continue;
		}
		take = b->len - off;
		if (take > len)
			take = len;
		iov[n].iov_base = (uint8_t *)b->addr + off;
		iov[n].iov_len = take;
		n++;
		len -= take;
		off = 0;
	}
	return n;
}

/* True when sectors [sector, sector+count) are on the disk (no overflow). */
static bool in_range(const struct virtio_blk *b, uint64_t sector, uint64_t count)
{
	return sector <= b->img.sectors && count <= b->img.sectors - sector;
}

static uint8_t status_of(int ret)
{
	if (ret == -EOPNOTSUPP)
		return VIRTIO_BLK_S_UNSUPP;
	return ret < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

static uint8_t do_rw(struct virtio_blk *b, const struct virtq_chain *c, const struct blk_hdr *h,
		     uint32_t *written)
{
	bool out = h->type == VIRTIO_BLK_T_OUT;
	/* The data sits after the header (OUT) or before the status byte (IN), 5.2.6. */
	uint64_t len = out ? c->read_len - BLK_HDR_SIZE : c->write_len - 1;
	int n, ret;

	if (len % DISK_SECTOR || !in_range(b, h->sector, len / DISK_SECTOR))
		return VIRTIO_BLK_S_IOERR;
	if (out && b->img.readonly)
		return VIRTIO_BLK_S_IOERR;
	n = chain_iov(c, !out, out ? BLK_HDR_SIZE : 0, len, b->iov);
	ret = disk_io(&b->img, b->iov, n, h->sector * DISK_SECTOR, out);
	if (ret < 0)
		return VIRTIO_BLK_S_IOERR;
	if (out) {
		b->writes++;
		b->bytes_written += len;
	} else {
		b->reads++;
		b->bytes_read += len;
		*written += (uint32_t)len;
	}
	return VIRTIO_BLK_S_OK;
}

/* DISCARD and WRITE_ZEROES: one segment (we offer max_*_seg = 1), 5.2.6.2. */
static uint8_t do_discard(struct virtio_blk *b, const struct virtq_chain *c,
			  const struct blk_hdr *h)
{
	struct {
		uint64_t sector;
		uint32_t num_sectors;
		uint32_t flags;
	} seg;
	bool zero = h->type == VIRTIO_BLK_T_WRITE_ZEROES;
	uint32_t max = zero ? b->cfg.max_write_zeroes_sectors : b->cfg.max_discard_sectors;

	if (!(b->ops.features & (1ULL << (zero ? VIRTIO_BLK_F_WRITE_ZEROES : VIRTIO_BLK_F_DISCARD))))
		return VIRTIO_BLK_S_UNSUPP;
	if (c->read_len != BLK_HDR_SIZE + BLK_SEG_SIZE ||
	    virtq_chain_read(c, BLK_HDR_SIZE, &seg, sizeof(seg)) != sizeof(seg))
		return VIRTIO_BLK_S_UNSUPP;
	/* Unknown flags, or unmap on a discard, are unsupported (5.2.6.2). */
	if (seg.flags & ~(zero ? VIRTIO_BLK_WZ_UNMAP : 0u))
		return VIRTIO_BLK_S_UNSUPP;
	if (seg.num_sectors > max || !in_range(b, seg.sector, seg.num_sectors))
		return VIRTIO_BLK_S_IOERR;
	return status_of(disk_discard(&b->img, seg.sector * DISK_SECTOR,
				      (uint64_t)seg.num_sectors * DISK_SECTOR, zero));
}

/* Serves one request; returns the used length (bytes written into the chain). */
static uint32_t blk_serve(struct virtio_blk *b, const struct virtq_chain *c,
			  const struct blk_hdr *h)
{
	uint32_t written = 0;
	uint8_t st;

	/* No room for the status byte: nothing can be reported (5.2.6.1). */
	if (c->write_len == 0) {
		b->errors++;
		return 0;
	}
	if (c->read_len < BLK_HDR_SIZE) {
		st = VIRTIO_BLK_S_IOERR;
		goto status;
	}
	switch (h->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		st = do_rw(b, c, h, &written);
		break;
	case VIRTIO_BLK_T_FLUSH:
		st = status_of(disk_flush(&b->img));
		break;
	case VIRTIO_BLK_T_GET_ID: {
		uint64_t room = c->write_len - 1;
		size_t n = room < DISK_SERIAL_MAX ? (size_t)room : DISK_SERIAL_MAX;

		if (!b->serial[0]) {
			st = VIRTIO_BLK_S_UNSUPP;
			break;
		}
		/* 20 bytes, NUL-padded, not terminated when all 20 are used (5.2.6). */
		written = (uint32_t)virtq_chain_write(c, 0, b->serial, n);
		st = VIRTIO_BLK_S_OK;
		break;
	}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		st = do_discard(b, c, h);
		break;
	default:
		st = VIRTIO_BLK_S_UNSUPP;
		break;
	}
status:
	if (st != VIRTIO_BLK_S_OK)
		b->errors++;
	virtq_chain_write(c, c->write_len - 1, &st, 1);
	return written + 1;
}

/* Data bytes a request moves, for the bytes/s bucket (0 when the header is short). */
static uint64_t req_bytes(const struct virtq_chain *c, const struct blk_hdr *h)
{
	if (c->read_len < BLK_HDR_SIZE || c->write_len == 0)
		return 0;
	if (h->type == VIRTIO_BLK_T_IN)
		return c->write_len - 1;
	if (h->type == VIRTIO_BLK_T_OUT)
		return c->read_len - BLK_HDR_SIZE;
	return 0;
}

/* Serves the queue until it is empty, the limiter says wait, or the batch is done. */
static void blk_run(struct virtio_blk *b, struct virtq *q)
{
	unsigned int served = 0;
	uint64_t ready;
	int r;

	if (__atomic_exchange_n(&b->reset_seen, 0, __ATOMIC_ACQ_REL))
		b->held = false;
	while (served < BLK_BATCH) {
		if (!b->held) {
			r = virtq_pop(q, &b->chain);
			if (r <= 0)
				break;
			/* Copy, then check: the header is read once, out of guest memory. */
			memset(&b->held_hdr, 0, sizeof(b->held_hdr));
			virtq_chain_read(&b->chain, 0, &b->held_hdr, sizeof(b->held_hdr));
			b->held = true;
		}
		if (ratelimit_enabled(&b->rl) &&
		    !ratelimit_take(&b->rl, util_now_ns(), req_bytes(&b->chain, &b->held_hdr),
				    &ready)) {
			/* Sleep until exactly when it fits, not on a fixed tick. */
			if (ratelimit_timer_arm(b->timer_fd, ready) < 0)
				b->held = false;
			break;
		}
		b->held = false;
		b->reqs++;
		virtq_push(q, b->chain.head, blk_serve(b, &b->chain, &b->held_hdr));
		served++;
	}
	/* More may be waiting: come back after the loop's other handlers had a turn. */
	if (served == BLK_BATCH && ratelimit_timer_arm(b->timer_fd, 0) < 0)
		fprintf(stderr, "bulwark-vmm: virtio-blk: cannot arm timer\n");
	if (served)
		virtq_notify_guest(q);
}

static void blk_notify(struct virtio_dev *d, struct virtq *q)
{
	struct virtio_blk *b = d->priv;

	/* A held request goes first, when its timer fires; kicks meanwhile change nothing. */
	if (b->held && !__atomic_load_n(&b->reset_seen, __ATOMIC_ACQUIRE))
		return;
	blk_run(b, q);
}

static void blk_timer(struct evloop_handler *h, uint32_t events)
{
	struct virtio_blk *b = (struct virtio_blk *)((char *)h - offsetof(struct virtio_blk, timer_h));
	uint64_t n;

	(void)events;
	if (read(b->timer_fd, &n, sizeof(n)) != sizeof(n))
		return;
	blk_run(b, &b->dev->vq[0]);
}

static uint64_t blk_cfg_read(struct virtio_dev *d, uint32_t off, unsigned int size)
{
	struct virtio_blk *b = d->priv;
	uint64_t v = 0;

	if (off < sizeof(b->cfg) && size <= sizeof(b->cfg) - off && size <= sizeof(v))
		memcpy(&v, (const uint8_t *)&b->cfg + off, size);
	return v;
}

/* The configuration is read-only to the driver (no CONFIG_WCE offered). */
static void blk_cfg_write(struct virtio_dev *d, uint32_t off, uint64_t v, unsigned int size)
{
	(void)d;
	(void)off;
	(void)v;
	(void)size;
}

/* Called with the device lock held on a vCPU thread: only flag it for the I/O thread. */
static void blk_reset(struct virtio_dev *d)
{
	struct virtio_blk *b = d->priv;

	__atomic_store_n(&b->reset_seen, 1, __ATOMIC_RELEASE);
}

static void blk_io_stats(struct virtio_dev *d, struct virtio_io_stats *s)
{
	const struct virtio_blk *b = d->priv;

	s->blk_reads += b->reads;
	s->blk_writes += b->writes;
	s->blk_read_bytes += b->bytes_read;
	s->blk_write_bytes += b->bytes_written;
}

static const struct virtio_ops blk_ops_template = {
	.name = "virtio-blk",
	.device_id = 2,
	.class_code = 0x018000, /* mass storage, other */
	.num_queues = 1,
	.queue_max_size = BLK_QUEUE_SIZE,
	.features = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_RING_EVENT_IDX) |
		    (1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_BLK_SIZE) |
		    (1ULL << VIRTIO_BLK_F_FLUSH),
	.config_size = sizeof(struct blk_config),
	.cfg_read = blk_cfg_read,
	.cfg_write = blk_cfg_write,
	.queue_notify = blk_notify,
	.reset = blk_reset,
	.io_stats = blk_io_stats,
};

static void blk_fill_config(struct virtio_blk *b)
{
	struct blk_config *c = &b->cfg;

	memset(c, 0, sizeof(*c));
	c->capacity = b->img.sectors;
	/* A chain holds the header, the data segments and the status (5.2.4). */
	c->seg_max = BLK_QUEUE_SIZE - 2;
	c->blk_size = DISK_SECTOR;
	c->num_queues = 1;
	if (b->img.readonly) {
		b->ops.features |= 1ULL << VIRTIO_BLK_F_RO;
	} else if (b->img.can_punch) {
		b->ops.features |= (1ULL << VIRTIO_BLK_F_DISCARD) | (1ULL << VIRTIO_BLK_F_WRITE_ZEROES);
		c->max_discard_sectors = BLK_MAX_DISCARD_SECTORS;
		c->max_discard_seg = 1;
		c->discard_sector_alignment = 4096 / DISK_SECTOR;
		c->max_write_zeroes_sectors = BLK_MAX_DISCARD_SECTORS;
		c->max_write_zeroes_seg = 1;
		c->write_zeroes_may_unmap = 1;
	}
}

int virtio_blk_create(struct virtio_dev *d, const struct disk_config *cfg, struct vm *vm,
		      struct pci_bus *bus, struct evloop *loop, unsigned int slot, char *err,
		      size_t errlen)
{
	struct virtio_blk *b = calloc(1, sizeof(*b));
	int ret;

	d->priv = NULL;
	if (!b) {
		snprintf(err, errlen, "virtio-blk: out of memory");
		return -ENOMEM;
	}
	b->dev = d;
	b->loop = loop;
	b->timer_fd = -1;
	ret = disk_open(&b->img, cfg->path, cfg->readonly, err, errlen);
	if (ret < 0)
		goto out_free;
	ret = ratelimit_init(&b->rl, &cfg->rl, util_now_ns());
	if (ret < 0) {
		snprintf(err, errlen, "disk %s: bad rate limit", cfg->path);
		goto out_close;
	}
	b->timer_fd = ratelimit_timer_open();
	if (b->timer_fd < 0) {
		ret = b->timer_fd;
		snprintf(err, errlen, "virtio-blk: timerfd: %s", strerror(-ret));
		goto out_close;
	}
	b->timer_h = (struct evloop_handler){ .fd = b->timer_fd, .cb = blk_timer };
	ret = evloop_add(loop, &b->timer_h, EPOLLIN);
	if (ret < 0) {
		snprintf(err, errlen, "virtio-blk: epoll: %s", strerror(-ret));
		goto out_timer;
	}
	b->timer_added = true;
	memcpy(b->serial, cfg->serial, strnlen(cfg->serial, DISK_SERIAL_MAX));
	b->ops = blk_ops_template;
	blk_fill_config(b);
	ret = virtio_pci_create(d, vm, bus, loop, slot, &b->ops, b, err, errlen);
	if (ret < 0)
		goto out_loop;
	return 0;

out_loop:
	evloop_del(loop, &b->timer_h);
out_timer:
	close(b->timer_fd);
out_close:
	disk_close(&b->img);
out_free:
	free(b);
	d->priv = NULL;
	return ret;
}

void virtio_blk_destroy(struct virtio_dev *d)
{
	struct virtio_blk *b = d->priv;

	if (!b)
		return;
	virtio_pci_destroy(d);
	if (b->timer_added)
		evloop_del(b->loop, &b->timer_h);
	close(b->timer_fd);
	disk_close(&b->img);
	free(b);
	d->priv = NULL;
}

// SPDX-License-Identifier: Apache-2.0
/*
 * Split virtqueues (virtio 1.2, 2.7): taking descriptor chains from the guest and giving
 * them back. The guest writes these rings concurrently and may be hostile: every
 * descriptor is copied once, then checked; every index is bounded by the queue size.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util.h"
#include "virtio.h"

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

static bool event_idx(const struct virtq *q)
{
	return q->dev->driver_features & (1ULL << VIRTIO_F_RING_EVENT_IDX);
}

/*
 * The queue's size, read once. We run on the I/O thread without the device lock, and
 * the driver may reset the device and enlarge the queue meanwhile (a vCPU thread
 * rewrites q->size): every ring pointer must be checked against, and every index
 * bounded by, the same size, or a ring checked for 8 entries is indexed up to 1023.
 */
static uint16_t qsize(const struct virtq *q)
{
	return __atomic_load_n(&q->size, __ATOMIC_RELAXED);
}

/* Host pointers to the rings of `size` entries, or NULL if they leave guest RAM. */
static uint8_t *avail(const struct virtq *q, uint16_t size)
{
	return vm_gpa(q->dev->vm, q->avail_gpa, 6 + 2ULL * size);
}

static uint8_t *used(const struct virtq *q, uint16_t size)
{
	return vm_gpa(q->dev->vm, q->used_gpa, 6 + 8ULL * size);
}

static uint16_t load16(const uint8_t *p)
{
	return __atomic_load_n((const uint16_t *)(const void *)p, __ATOMIC_ACQUIRE);
}

static void store16(uint8_t *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)(void *)p, v, __ATOMIC_RELEASE);
}

static int broken(struct virtq *q, const char *why)
{
	virtio_set_broken(q->dev, why);
	return -EIO;
}

int virtq_pop(struct virtq *q, struct virtq_chain *c)
{
	const struct virtq_desc *table;
	uint16_t size = qsize(q);
	uint8_t *av = avail(q, size);
	uint16_t idx, head, i;
	bool seen_write = false;

	if (!q->ready || !av || q->dev->broken)
		return q->dev->broken ? -EIO : 0;
	idx = load16(av + 2);
	if (idx == q->last_avail && event_idx(q)) {
		/*
		 * Ask for a kick at the next buffer, then look again: the driver may have
		 * added one before it could see the new avail_event (2.7.10).
		 */
		uint8_t *u = used(q, size);

		/* Checked at enable, but a reset on a vCPU thread may be moving it now. */
		if (!u)
			return broken(q, "used ring left guest RAM");
		store16(u + 4 + 8 * size, q->last_avail);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		idx = load16(av + 2);
	}
	if (idx == q->last_avail)
		return 0;
	if ((uint16_t)(idx - q->last_avail) > size)
		return broken(q, "avail index ran more than a queue ahead");
	head = load16(av + 4 + 2 * (q->last_avail % size));
	if (head >= size)
		return broken(q, "avail ring names a descriptor beyond the queue");
	table = vm_gpa(q->dev->vm, q->desc_gpa, 16ULL * size);
	if (!table)
		return broken(q, "descriptor table left guest RAM");

	c->head = head;
	c->nbufs = c->nread = 0;
	c->read_len = c->write_len = 0;
	i = head;
	for (;;) {
		struct virtq_desc d;
		struct virtq_buf *b;
		void *p;

		/* A loop in the chain shows up as a chain longer than the queue. */
		if (c->nbufs == size)
			return broken(q, "descriptor chain loops or is longer than the queue");
		/* Copy, then check: the guest may rewrite the table while we look at it. */
		memcpy(&d, &table[i], sizeof(d));
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return broken(q, "indirect descriptor (feature not offered)");
		if (d.len == 0)
			p = NULL;
		else if (!(p = vm_gpa(q->dev->vm, d.addr, d.len)))
			return broken(q, "descriptor points outside guest RAM");
		if (d.flags & VIRTQ_DESC_F_WRITE) {
			seen_write = true;
			c->write_len += d.len;
		} else {
			if (seen_write)
				return broken(q, "readable descriptor after a writable one");
			c->nread++;
			c->read_len += d.len;
		}
		b = &c->buf[c->nbufs++];
		b->addr = p;
		b->len = d.len;
		b->write = d.flags & VIRTQ_DESC_F_WRITE;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			break;
		if (d.next >= size)
			return broken(q, "descriptor's next is beyond the queue");
		i = d.next;
	}
	q->last_avail++;
	q->chains++;
	return 1;
}

void virtq_push(struct virtq *q, uint16_t head, uint32_t len)
{
	uint16_t size = qsize(q);
	uint8_t *u = used(q, size);
	uint32_t elem[2] = { head, len };

	if (!u)
		return;
	memcpy(u + 4 + 8 * (q->used_idx % size), elem, sizeof(elem));
	q->used_idx++;
	/* The element must be visible before the index that publishes it. */
	store16(u + 2, q->used_idx);
}

void virtq_notify_guest(struct virtq *q)
{
	uint16_t size = qsize(q);
	uint8_t *av = avail(q, size);
	bool need;

	if (!av)
		return;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (event_idx(q)) {
		uint16_t used_event = load16(av + 4 + 2 * size);
		uint16_t old = q->signalled_used, new = q->used_idx;

		/* vring_need_event (2.7.10): did we pass used_event since the last signal? */
		need = !q->signalled_valid ||
		       (uint16_t)(new - used_event - 1) < (uint16_t)(new - old);
	} else {
		need = !(load16(av) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	}
	if (!need)
		return;
	q->signalled_used = q->used_idx;
	q->signalled_valid = true;
	virtio_signal_queue(q);
}

/* Copies between a flat buffer and the chain's readable (to_guest false) or writable buffers. */
static size_t chain_copy(const struct virtq_chain *c, uint64_t off, uint8_t *flat, size_t len,
			 bool to_guest)
{
	unsigned int first = to_guest ? c->nread : 0, end = to_guest ? c->nbufs : c->nread;
	size_t done = 0;

	for (unsigned int i = first; i < end && done < len; i++) {
		const struct virtq_buf *b = &c->buf[i];
		size_t n;

		if (off >= b->len) {
			off -= b->len;
			continue;
		}
		n = b->len - off;
		if (n > len - done)
			n = len - done;
		if (to_guest)
			memcpy((uint8_t *)b->addr + off, flat + done, n);
		else
			memcpy(flat + done, (uint8_t *)b->addr + off, n);
		done += n;
		off = 0;
	}
	return done;
}

size_t virtq_chain_read(const struct virtq_chain *c, uint64_t off, void *dst, size_t len)
{
	return chain_copy(c, off, dst, len, false);
}

size_t virtq_chain_write(const struct virtq_chain *c, uint64_t off, const void *src, size_t len)
{
	return chain_copy(c, off, (uint8_t *)(uintptr_t)src, len, true);
}

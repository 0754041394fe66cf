// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of virtio-net's data path on a fake guest: real split rings in malloc'd
 * "guest RAM", and a SOCK_SEQPACKET socket pair standing in for the tap (one frame per
 * read or write, as a tap). Transmit and receive, header checks on the way, running out
 * of receive buffers, malformed chains, and a rate-limited frame being held.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/socket.h>

/* The back-end's static functions are the unit under test. */
#include "../../src/vmm/virtio_net.c"

#define MEM_SIZE (1024 * 1024)
#define QSIZE 16
#define DATA_GPA 0x10000

/* Per queue: descriptor table, avail ring, used ring. */
static const uint64_t ring_gpa[2][3] = { { 0x0000, 0x1000, 0x2000 }, { 0x4000, 0x5000, 0x6000 } };

static const struct virtio_ops fake_ops = { .name = "test", .num_queues = 2 };

struct fake {
	struct vm vm;
	struct virtio_dev d;
	struct evloop loop;
	struct virtio_net *n;
	int peer; /* the host's end of the "tap" */
	uint8_t *mem;
	uint16_t avail_idx[2], ndesc[2], used_seen[2];
	uint64_t data_next;
};

static struct fake *fake_new(uint64_t features, const struct ratelimit_config *tx_rl)
{
	struct fake *f = calloc(1, sizeof(*f));
	struct ratelimit_config none = { 0 };
	struct virtio_net *n = calloc(1, sizeof(*n));
	int sv[2];

	assert_non_null(f);
	assert_non_null(n);
	f->mem = calloc(1, MEM_SIZE);
	f->vm.mem = f->mem;
	f->vm.mem_size = f->vm.low_size = MEM_SIZE;
	pthread_mutex_init(&f->d.lock, NULL);
	f->d.ops = &fake_ops;
	f->d.vm = &f->vm;
	f->d.priv = n;
	f->d.driver_features = (1ULL << VIRTIO_F_VERSION_1) | features;
	for (unsigned int i = 0; i < 2; i++) {
		struct virtq *q = &f->d.vq[i];

		q->dev = &f->d;
		q->index = i;
		q->size = q->max_size = QSIZE;
		q->desc_gpa = ring_gpa[i][0];
		q->avail_gpa = ring_gpa[i][1];
		q->used_gpa = ring_gpa[i][2];
		q->ready = true;
		q->msix_vector = 0xffff; /* no vector: no interrupt */
	}
	f->data_next = DATA_GPA;
	assert_int_equal(evloop_init(&f->loop), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
	f->peer = sv[1];

	pthread_mutex_init(&n->lock, NULL);
	n->dev = &f->d;
	n->loop = &f->loop;
	n->tap.fd = sv[0];
	snprintf(n->tap.ifname, sizeof(n->tap.ifname), "fake0");
	n->tap_h.fd = sv[0];
	n->tap_h.cb = on_tap;
	n->ctl_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	for (unsigned int i = 0; i < 2; i++) {
		n->timer[i].n = n;
		n->timer[i].dir = i;
		n->timer[i].h.fd = ratelimit_timer_open();
		assert_true(n->timer[i].h.fd >= 0);
		assert_int_equal(ratelimit_init(&n->rl[i], i == NET_TX && tx_rl ? tx_rl : &none,
						util_now_ns()), 0);
	}
	/* What sync_state does after an activation, minus TUNSETOFFLOAD (no real tap). */
	n->active = true;
	n->features = f->d.driver_features;
	f->n = n;
	return f;
}

static void fake_free(struct fake *f)
{
	struct virtio_net *n = f->n;

	tap_watch(n, false);
	close(f->peer);
	net_free(n);
	evloop_close(&f->loop);
	pthread_mutex_destroy(&f->d.lock);
	free(f->mem);
	free(f);
}

static void *gpa(struct fake *f, uint64_t a)
{
	return f->mem + a;
}

static uint64_t galloc(struct fake *f, uint32_t len)
{
	uint64_t a = f->data_next;

	f->data_next = ALIGN_UP(a + len, 16);
	assert_true(f->data_next < MEM_SIZE);
	return a;
}

struct seg {
	uint64_t addr;
	uint32_t len;
	bool write;
};

/* Publishes a chain of n descriptors in queue qi's avail ring. */
static void submit(struct fake *f, unsigned int qi, const struct seg *s, unsigned int n)
{
	uint16_t head = f->ndesc[qi];

	for (unsigned int i = 0; i < n; i++) {
		uint8_t *d = gpa(f, ring_gpa[qi][0] + 16ULL * f->ndesc[qi]);
		uint16_t flags = (s[i].write ? 2 : 0) | (i + 1 < n ? 1 : 0);
		uint16_t next = (uint16_t)((f->ndesc[qi] + 1) % QSIZE);

		memcpy(d, &s[i].addr, 8);
		memcpy(d + 8, &s[i].len, 4);
		memcpy(d + 12, &flags, 2);
		memcpy(d + 14, &next, 2);
		f->ndesc[qi] = next;
	}
	memcpy(gpa(f, ring_gpa[qi][1] + 4 + 2 * (f->avail_idx[qi] % QSIZE)), &head, 2);
	f->avail_idx[qi]++;
	memcpy(gpa(f, ring_gpa[qi][1] + 2), &f->avail_idx[qi], 2);
}

/* The used length of queue qi's next completed chain, or -1 if none. */
static int64_t used(struct fake *f, unsigned int qi)
{
	uint16_t idx;
	uint32_t len;

	memcpy(&idx, gpa(f, ring_gpa[qi][2] + 2), 2);
	if (idx == f->used_seen[qi])
		return -1;
	memcpy(&len, gpa(f, ring_gpa[qi][2] + 4 + 8 * (f->used_seen[qi] % QSIZE) + 4), 4);
	f->used_seen[qi]++;
	return len;
}

/* A transmit chain: hdr then `len` bytes of payload 0, 1, 2, ..., split after `split`. */
static void tx_frame(struct fake *f, const struct virtio_net_hdr *h, uint32_t len,
		     uint32_t split)
{
	uint64_t a = galloc(f, VIRTIO_NET_HDR_LEN + len);
	uint8_t *p = gpa(f, a);
	struct seg s[2] = { { a, split, false },
			    { a + split, VIRTIO_NET_HDR_LEN + len - split, false } };

	memcpy(p, h, VIRTIO_NET_HDR_LEN);
	for (uint32_t i = 0; i < len; i++)
		p[VIRTIO_NET_HDR_LEN + i] = (uint8_t)i;
	submit(f, NET_TXQ, s, 2);
}

static void test_tx(void **state)
{
	struct fake *f = fake_new(0, NULL);
	struct virtio_io_stats io = { 0 };
	struct virtio_net_hdr h = { 0 }, got_h;
	uint8_t buf[2048];
	ssize_t n;

	(void)state;
	/* Header split across descriptors (no framing assumptions, 2.6.4). */
	tx_frame(f, &h, 100, 5);
	tx_run(f->n);
	assert_int_equal(used(f, NET_TXQ), 0);
	n = recv(f->peer, buf, sizeof(buf), 0);
	assert_int_equal(n, VIRTIO_NET_HDR_LEN + 100);
	memcpy(&got_h, buf, sizeof(got_h));
	assert_memory_equal(&got_h, &h, sizeof(h));
	assert_int_equal(buf[VIRTIO_NET_HDR_LEN + 99], 99);
	assert_int_equal(f->n->tx_frames, 1);
	net_io_stats(&f->d, &io);
	assert_int_equal(io.net_tx_frames, 1);
	assert_int_equal(io.net_tx_bytes, 100); /* the frame, not its virtio-net header */

	/* NEEDS_CSUM without CSUM negotiated: completed, never reaches the tap. */
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	tx_frame(f, &h, 100, VIRTIO_NET_HDR_LEN);
	/* A chain too short to hold a header, and one with a writable buffer only. */
	submit(f, NET_TXQ, (struct seg[]){ { galloc(f, 8), 8, false } }, 1);
	submit(f, NET_TXQ, (struct seg[]){ { galloc(f, 64), 64, true } }, 1);
	tx_run(f->n);
	assert_int_equal(used(f, NET_TXQ), 0);
	assert_int_equal(used(f, NET_TXQ), 0);
	assert_int_equal(used(f, NET_TXQ), 0);
	assert_int_equal(used(f, NET_TXQ), -1);
	assert_int_equal(recv(f->peer, buf, sizeof(buf), 0), -1);
	assert_int_equal(f->n->tx_dropped, 3);
	/* Dropped frames are not counted; io_stats adds to what *s holds. */
	net_io_stats(&f->d, &io);
	assert_int_equal(io.net_tx_frames, 2);
	assert_int_equal(io.net_tx_bytes, 200);
	assert_int_equal(io.net_rx_frames + io.net_rx_bytes, 0);
	fake_free(f);
}

static void test_tx_offload(void **state)
{
	uint64_t feat = (1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_HOST_TSO4);
	struct fake *f = fake_new(feat, NULL);
	struct virtio_net_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
				    .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
				    .hdr_len = htole16(66), .gso_size = htole16(1448),
				    .csum_start = htole16(34), .csum_offset = htole16(16) };
	static uint8_t buf[16384];

	(void)state;
	tx_frame(f, &h, 8000, VIRTIO_NET_HDR_LEN);
	tx_run(f->n);
	assert_int_equal(used(f, NET_TXQ), 0);
	assert_int_equal(recv(f->peer, buf, sizeof(buf), 0), VIRTIO_NET_HDR_LEN + 8000);
	assert_memory_equal(buf, &h, VIRTIO_NET_HDR_LEN);
	fake_free(f);
}

/* Posts one receive buffer of len bytes: two pieces of `first` bytes, then the rest. */
static uint64_t rx_buffer(struct fake *f, uint32_t len, uint32_t first)
{
	uint64_t a = galloc(f, len);

	if (first * 2 >= len) {
		submit(f, NET_RXQ, (struct seg[]){ { a, len, true } }, 1);
		return a;
	}
	submit(f, NET_RXQ, (struct seg[]){ { a, first, true }, { a + first, first, true },
					    { a + 2 * first, len - 2 * first, true } }, 3);
	return a;
}

static void send_frame(struct fake *f, uint8_t flags, uint32_t len)
{
	uint8_t buf[2048] = { 0 };
	struct virtio_net_hdr h = { .flags = flags, .num_buffers = htole16(7) };

	memcpy(buf, &h, sizeof(h));
	for (uint32_t i = 0; i < len; i++)
		buf[VIRTIO_NET_HDR_LEN + i] = (uint8_t)(i * 3);
	assert_int_equal(send(f->peer, buf, VIRTIO_NET_HDR_LEN + len, 0),
			 VIRTIO_NET_HDR_LEN + len);
}

static void test_rx(void **state)
{
	struct fake *f = fake_new(0, NULL);
	struct virtio_io_stats io = { 0 };
	struct virtio_net_hdr h;
	uint64_t a;
	uint8_t *p;

	(void)state;
	/* No buffers: the frame stays in the tap, which is no longer watched. */
	send_frame(f, VIRTIO_NET_HDR_F_DATA_VALID, 60);
	rx_run(f->n);
	assert_false(f->n->tap_watched);
	assert_int_equal(used(f, NET_RXQ), -1);
	/* The driver adds a buffer (5 + 5 + rest: the header spans three) and kicks. */
	a = rx_buffer(f, 1526, 5);
	rx_run(f->n);
	assert_int_equal(used(f, NET_RXQ), VIRTIO_NET_HDR_LEN + 60);
	p = gpa(f, a);
	memcpy(&h, p, sizeof(h));
	assert_int_equal(h.flags, 0); /* DATA_VALID cleared: no GUEST_CSUM */
	assert_int_equal(le16toh(h.num_buffers), 1);
	assert_int_equal(p[VIRTIO_NET_HDR_LEN + 59], (uint8_t)(59 * 3));
	/* Out of buffers again: the tap is left alone until the next kick. */
	assert_false(f->n->tap_watched);
	assert_int_equal(f->n->rx_frames, 1);

	/* A frame needing a checksum the driver did not take is dropped, the buffer kept. */
	rx_buffer(f, 1526, 1526);
	send_frame(f, VIRTIO_NET_HDR_F_NEEDS_CSUM, 60);
	send_frame(f, 0, 30);
	rx_run(f->n);
	assert_int_equal(used(f, NET_RXQ), VIRTIO_NET_HDR_LEN + 30);
	assert_int_equal(f->n->rx_dropped, 1);

	/* A readable descriptor, or no room for a header: completed empty. */
	submit(f, NET_RXQ, (struct seg[]){ { galloc(f, 64), 64, false } }, 1);
	submit(f, NET_RXQ, (struct seg[]){ { galloc(f, 8), 8, true } }, 1);
	rx_run(f->n);
	assert_int_equal(used(f, NET_RXQ), 0);
	assert_int_equal(used(f, NET_RXQ), 0);
	assert_int_equal(f->n->rx_dropped, 3);
	/* Two frames delivered, 60 + 30 bytes; the dropped one and empty chains add nothing. */
	net_io_stats(&f->d, &io);
	assert_int_equal(io.net_rx_frames, 2);
	assert_int_equal(io.net_rx_bytes, 90);
	assert_int_equal(io.net_tx_frames, 0);
	fake_free(f);
}

static void test_tx_rate_limited(void **state)
{
	struct ratelimit_config rl = { .ops_per_s = 10, .refill_ms = 100 };
	struct fake *f = fake_new(0, &rl);
	struct virtio_net_hdr h = { 0 };
	struct itimerspec its;
	uint8_t buf[256];

	(void)state;
	/* A bucket of one frame: the first goes, the second is held with the timer armed. */
	tx_frame(f, &h, 50, VIRTIO_NET_HDR_LEN);
	tx_frame(f, &h, 50, VIRTIO_NET_HDR_LEN);
	tx_run(f->n);
	assert_int_equal(used(f, NET_TXQ), 0);
	assert_int_equal(used(f, NET_TXQ), -1);
	assert_true(f->n->tx_held);
	assert_true(f->n->throttled[NET_TX]);
	assert_int_equal(timerfd_gettime(f->n->timer[NET_TX].h.fd, &its), 0);
	assert_true(its.it_value.tv_sec || its.it_value.tv_nsec);
	assert_true(its.it_value.tv_sec == 0 && its.it_value.tv_nsec <= 100000000);
	assert_int_equal(recv(f->peer, buf, sizeof(buf), 0), VIRTIO_NET_HDR_LEN + 50);
	/* A kick while throttled does nothing; the timer's expiry sends it. */
	tx_run(f->n);
	assert_int_equal(used(f, NET_TXQ), -1);
	usleep(120000);
	on_timer(&f->n->timer[NET_TX].h, EPOLLIN);
	assert_int_equal(used(f, NET_TXQ), 0);
	assert_false(f->n->tx_held);
	assert_int_equal(recv(f->peer, buf, sizeof(buf), 0), VIRTIO_NET_HDR_LEN + 50);
	fake_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tx),
		cmocka_unit_test(test_tx_offload),
		cmocka_unit_test(test_rx),
		cmocka_unit_test(test_tx_rate_limited),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: Apache-2.0
/* Unit tests of virtio-rng on a fake guest: buffers filled, requests bounded, rate-limited. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/timerfd.h>

/* The back-end's static functions are the unit under test. */
#include "../../src/vmm/virtio_rng.c"

#define MEM_SIZE (1024 * 1024)
#define QSIZE 8
#define DESC_GPA 0x0000
#define AVAIL_GPA 0x1000
#define USED_GPA 0x2000

static const struct virtio_ops fake_ops = { .name = "test", .num_queues = 1 };

struct fake {
	struct vm vm;
	struct virtio_dev d;
	struct virtio_rng r;
	uint8_t *mem;
	uint16_t avail_idx, ndesc;
};

static struct fake *fake_new(uint64_t bytes_per_s)
{
	struct fake *f = calloc(1, sizeof(*f));
	struct ratelimit_config rl = { .bytes_per_s = bytes_per_s, .refill_ms = 1 };
	struct virtq *q = &f->d.vq[0];

	assert_non_null(f);
	f->mem = calloc(1, MEM_SIZE);
	f->vm.mem = f->mem;
	f->vm.mem_size = f->vm.low_size = MEM_SIZE;
	pthread_mutex_init(&f->d.lock, NULL);
	f->d.ops = &fake_ops;
	f->d.vm = &f->vm;
	f->d.priv = &f->r;
	q->dev = &f->d;
	q->size = q->max_size = QSIZE;
	q->desc_gpa = DESC_GPA;
	q->avail_gpa = AVAIL_GPA;
	q->used_gpa = USED_GPA;
	q->ready = true;
	q->msix_vector = 0xffff; /* no vector: no interrupt */
	f->r.dev = &f->d;
	f->r.timer_fd = ratelimit_timer_open();
	assert_true(f->r.timer_fd >= 0);
	assert_int_equal(ratelimit_init(&f->r.rl, &rl, util_now_ns()), 0);
	return f;
}

static void fake_free(struct fake *f)
{
	close(f->r.timer_fd);
	pthread_mutex_destroy(&f->d.lock);
	free(f->mem);
	free(f);
}

/* One chain of n buffers (addr, len, writable); returns the used length or -1. */
static int64_t submit(struct fake *f, const uint64_t (*b)[3], unsigned int n)
{
	uint16_t head = f->ndesc, used;
	uint32_t len;

	for (unsigned int i = 0; i < n; i++) {
		uint8_t *d = f->mem + DESC_GPA + 16ULL * f->ndesc;
		uint16_t flags = (b[i][2] ? 2 : 0) | (i + 1 < n ? 1 : 0);
		uint16_t next = (uint16_t)((f->ndesc + 1) % QSIZE);
		uint32_t l = (uint32_t)b[i][1];

		memcpy(d, &b[i][0], 8);
		memcpy(d + 8, &l, 4);
		memcpy(d + 12, &flags, 2);
		memcpy(d + 14, &next, 2);
		f->ndesc = (uint16_t)((f->ndesc + 1) % QSIZE);
	}
	memcpy(f->mem + AVAIL_GPA + 4 + 2 * (f->avail_idx % QSIZE), &head, 2);
	f->avail_idx++;
	memcpy(f->mem + AVAIL_GPA + 2, &f->avail_idx, 2);
	rng_notify(&f->d, &f->d.vq[0]);
	memcpy(&used, f->mem + USED_GPA + 2, 2);
	if (used != f->avail_idx)
		return -1;
	memcpy(&len, f->mem + USED_GPA + 4 + 8 * ((used - 1) % QSIZE) + 4, 4);
	return len;
}

static unsigned int nonzero(const uint8_t *p, size_t n)
{
	unsigned int c = 0;

	for (size_t i = 0; i < n; i++)
		c += p[i] != 0;
	return c;
}

static void test_fill(void **state)
{
	struct fake *f = fake_new(0);
	const uint64_t two[2][3] = { { 0x10000, 100, 1 }, { 0x20000, 4000, 1 } };
	const uint64_t big[1][3] = { { 0x30000, 128 * 1024, 1 } };
	const uint64_t ro[1][3] = { { 0x60000, 512, 0 } };

	(void)state;
	assert_int_equal(submit(f, two, 2), 4100);
	/* 4100 random bytes: a handful of zeroes at most. */
	assert_true(nonzero(f->mem + 0x10000, 100) > 90);
	assert_true(nonzero(f->mem + 0x20000, 4000) > 3900);
	/* Bounded: 64 KiB of a 128 KiB buffer, the rest untouched. */
	assert_int_equal(submit(f, big, 1), VIRTIO_RNG_MAX_REQ);
	assert_true(nonzero(f->mem + 0x30000, VIRTIO_RNG_MAX_REQ) > VIRTIO_RNG_MAX_REQ - 1024);
	assert_int_equal(nonzero(f->mem + 0x30000 + VIRTIO_RNG_MAX_REQ, 64 * 1024), 0);
	/* Only a readable buffer: completed with nothing written. */
	assert_int_equal(submit(f, ro, 1), 0);
	assert_int_equal(nonzero(f->mem + 0x60000, 512), 0);
	fake_free(f);
}

static void test_rate_limited(void **state)
{
	/* 1000 bytes/s: a 1000-byte request passes, the next waits ~1 s on the timer. */
	struct fake *f = fake_new(1000);
	const uint64_t a[1][3] = { { 0x10000, 1000, 1 } };
	struct itimerspec its;

	(void)state;
	assert_int_equal(submit(f, a, 1), 1000);
	assert_int_equal(submit(f, a, 1), -1);
	assert_true(f->r.held);
	assert_int_equal(timerfd_gettime(f->r.timer_fd, &its), 0);
	assert_true(its.it_value.tv_sec >= 0 && (its.it_value.tv_sec || its.it_value.tv_nsec));
	/* A driver reset drops the held chain. */
	rng_reset(&f->d);
	f->d.vq[0].ready = false;
	rng_run(&f->r, &f->d.vq[0]);
	assert_false(f->r.held);
	fake_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fill),
		cmocka_unit_test(test_rate_limited),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of virtio-blk request handling on a fake guest: real split-queue rings in
 * malloc'd "guest RAM", a temporary image file, well-formed and malformed requests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/timerfd.h>

/* The back-end's static functions are the unit under test. */
#include "../../src/vmm/virtio_blk.c"

#include "config.h"
#include "devices.h"

#define MEM_SIZE (1024 * 1024)
#define QSIZE 16
#define DESC_GPA 0x0000
#define AVAIL_GPA 0x1000
#define USED_GPA 0x2000
#define DATA_GPA 0x10000
#define IMG_SECTORS 64

static const struct virtio_ops fake_ops = { .name = "test", .num_queues = 1 };

struct fake {
	struct vm vm;
	struct virtio_dev d;
	struct virtio_blk b;
	uint8_t *mem;
	char path[64];
	uint16_t avail_idx, ndesc, used_seen;
	uint64_t data_next;
};

static struct fake *fake_new(bool ro, const char *serial, uint64_t iops)
{
	struct fake *f = calloc(1, sizeof(*f));
	struct virtq *q = &f->d.vq[0];
	struct disk_config dc = { .readonly = ro };
	char err[256];
	int fd;

	assert_non_null(f);
	f->mem = calloc(1, MEM_SIZE);
	f->vm.mem = f->mem;
	f->vm.mem_size = f->vm.low_size = MEM_SIZE;
	pthread_mutex_init(&f->d.lock, NULL);
	f->d.ops = &fake_ops;
	f->d.vm = &f->vm;
	f->d.priv = &f->b;
	f->d.driver_features = 1ULL << VIRTIO_F_VERSION_1;
	q->dev = &f->d;
	q->size = q->max_size = QSIZE;
	q->desc_gpa = DESC_GPA;
	q->avail_gpa = AVAIL_GPA;
	q->used_gpa = USED_GPA;
	q->ready = true;
	q->msix_vector = 0xffff; /* no vector: no interrupt */
	f->data_next = DATA_GPA;

	/* An image whose sector s is filled with byte s. */
	snprintf(f->path, sizeof(f->path), "/tmp/bulwark-test-blk.XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	for (int s = 0; s < IMG_SECTORS; s++) {
		uint8_t sec[512];

		memset(sec, s, sizeof(sec));
		assert_int_equal(write(fd, sec, sizeof(sec)), sizeof(sec));
	}
	close(fd);

	f->b.dev = &f->d;
	f->b.timer_fd = ratelimit_timer_open();
	assert_true(f->b.timer_fd >= 0);
	assert_int_equal(disk_open(&f->b.img, f->path, ro, err, sizeof(err)), 0);
	dc.rl.ops_per_s = iops;
	dc.rl.refill_ms = 1;
	assert_int_equal(ratelimit_init(&f->b.rl, &dc.rl, util_now_ns()), 0);
	if (serial)
		memcpy(f->b.serial, serial, strlen(serial));
	f->b.ops = blk_ops_template;
	blk_fill_config(&f->b);
	return f;
}

static void fake_free(struct fake *f)
{
	disk_close(&f->b.img);
	close(f->b.timer_fd);
	unlink(f->path);
	pthread_mutex_destroy(&f->d.lock);
	free(f->mem);
	free(f);
}

static void *gpa(struct fake *f, uint64_t a)
{
	return f->mem + a;
}

/* Guest memory for a buffer of len bytes. */
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

/* Publishes a chain of n descriptors in the avail ring. */
static void submit(struct fake *f, const struct seg *s, unsigned int n)
{
	uint16_t head = f->ndesc;

	for (unsigned int i = 0; i < n; i++) {
		uint8_t *d = gpa(f, DESC_GPA + 16ULL * f->ndesc);
		uint16_t flags = (s[i].write ? 2 : 0) | (i + 1 < n ? 1 : 0);
		uint16_t next = (uint16_t)((f->ndesc + 1) % QSIZE);

		memcpy(d, &s[i].addr, 8);
		memcpy(d + 8, &s[i].len, 4);
		memcpy(d + 12, &flags, 2);
		memcpy(d + 14, &next, 2);
		f->ndesc = (uint16_t)((f->ndesc + 1) % QSIZE);
	}
	memcpy(gpa(f, AVAIL_GPA + 4 + 2 * (f->avail_idx % QSIZE)), &head, 2);
	f->avail_idx++;
	memcpy(gpa(f, AVAIL_GPA + 2), &f->avail_idx, 2);
}

static uint16_t used_idx(struct fake *f)
{
	uint16_t v;

	memcpy(&v, gpa(f, USED_GPA + 2), 2);
	return v;
}

/* Runs the device and returns the used length of the next completed chain (or -1). */
static int64_t complete(struct fake *f)
{
	uint32_t len;

	blk_notify(&f->d, &f->d.vq[0]);
	if (used_idx(f) == f->used_seen)
		return -1;
	memcpy(&len, gpa(f, USED_GPA + 4 + 8 * (f->used_seen % QSIZE) + 4), 4);
	f->used_seen++;
	return len;
}

/* A request: header, optional data (readable for OUT, writable for IN), status. */
static int64_t request(struct fake *f, uint32_t type, uint64_t sector, uint64_t data,
		       uint32_t len, uint64_t status)
{
	uint64_t h = galloc(f, 16);
	struct blk_hdr hdr = { .type = type, .sector = sector };
	struct seg s[3];
	unsigned int n = 0;

	memcpy(gpa(f, h), &hdr, sizeof(hdr));
	s[n++] = (struct seg){ h, 16, false };
	if (len)
		s[n++] = (struct seg){ data, len, type != VIRTIO_BLK_T_OUT &&
					       type != VIRTIO_BLK_T_DISCARD &&
					       type != VIRTIO_BLK_T_WRITE_ZEROES };
	s[n++] = (struct seg){ status, 1, true };
	submit(f, s, n);
	return complete(f);
}

static uint8_t file_byte(struct fake *f, uint64_t off)
{
	uint8_t v = 0xee;
	int fd = open(f->path, O_RDONLY);

	assert_int_equal(pread(fd, &v, 1, (off_t)off), 1);
	close(fd);
	return v;
}

static void test_read_write(void **state)
{
	struct fake *f = fake_new(false, NULL, 0);
	uint64_t st = galloc(f, 1), buf = galloc(f, 1024);
	uint8_t *p = gpa(f, buf);

	(void)state;
	/* IN: two sectors from sector 5 land in guest memory; used = data + status. */
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, 5, buf, 1024, st), 1025);
	assert_int_equal(*(uint8_t *)gpa(f, st), VIRTIO_BLK_S_OK);
	assert_int_equal(p[0], 5);
	assert_int_equal(p[1023], 6);
	/* OUT: the guest's bytes are in the file at sector 10. */
	memset(p, 0xa5, 1024);
	assert_int_equal(request(f, VIRTIO_BLK_T_OUT, 10, buf, 1024, st), 1);
	assert_int_equal(*(uint8_t *)gpa(f, st), VIRTIO_BLK_S_OK);
	assert_int_equal(file_byte(f, 10 * 512), 0xa5);
	assert_int_equal(file_byte(f, 12 * 512 - 1), 0xa5);
	assert_int_equal(file_byte(f, 12 * 512), 12);
	assert_int_equal(request(f, VIRTIO_BLK_T_FLUSH, 0, 0, 0, st), 1);
	assert_int_equal(*(uint8_t *)gpa(f, st), VIRTIO_BLK_S_OK);
	/* The last sector is readable, one past it is not. */
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, IMG_SECTORS - 1, buf, 512, st), 513);
	assert_int_equal(*(uint8_t *)gpa(f, st), VIRTIO_BLK_S_OK);
	fake_free(f);
}

static void test_framing(void **state)
{
	/* Header and data in one descriptor, status alone (2.6.4: no framing assumptions). */
	struct fake *f = fake_new(false, NULL, 0);
	uint64_t buf = galloc(f, 16 + 512), st = galloc(f, 1);
	struct blk_hdr hdr = { .type = VIRTIO_BLK_T_OUT, .sector = 3 };
	struct seg s[2] = { { buf, 16 + 512, false }, { st, 1, true } };

	(void)state;
	memcpy(gpa(f, buf), &hdr, sizeof(hdr));
	memset(gpa(f, buf + 16), 0x5a, 512);
	submit(f, s, 2);
	assert_int_equal(complete(f), 1);
	assert_int_equal(*(uint8_t *)gpa(f, st), VIRTIO_BLK_S_OK);
	assert_int_equal(file_byte(f, 3 * 512 + 100), 0x5a);
	/* IN with data and status in one writable descriptor. */
	s[0] = (struct seg){ galloc(f, 16), 16, false };
	hdr.type = VIRTIO_BLK_T_IN;
	hdr.sector = 7;
	memcpy(gpa(f, s[0].addr), &hdr, sizeof(hdr));
	s[1] = (struct seg){ galloc(f, 513), 513, true };
	submit(f, s, 2);
	assert_int_equal(complete(f), 513);
	assert_int_equal(*(uint8_t *)gpa(f, s[1].addr), 7);
	assert_int_equal(*(uint8_t *)gpa(f, s[1].addr + 512), VIRTIO_BLK_S_OK);
	fake_free(f);
}

static void test_malformed(void **state)
{
	struct fake *f = fake_new(false, NULL, 0);
	uint64_t st = galloc(f, 1), buf = galloc(f, 4096);
	uint8_t *status = gpa(f, st);
	struct seg s[2];

	(void)state;
	/* Past the end, straddling the end, and a sector number that would overflow. */
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, IMG_SECTORS, buf, 512, st), 1);
	assert_int_equal(*status, VIRTIO_BLK_S_IOERR);
	request(f, VIRTIO_BLK_T_OUT, IMG_SECTORS - 1, buf, 1024, st);
	assert_int_equal(*status, VIRTIO_BLK_S_IOERR);
	assert_int_equal(file_byte(f, (IMG_SECTORS - 1) * 512), IMG_SECTORS - 1);
	request(f, VIRTIO_BLK_T_IN, UINT64_MAX / 256, buf, 512, st);
	assert_int_equal(*status, VIRTIO_BLK_S_IOERR);
	request(f, VIRTIO_BLK_T_IN, 0, buf, 100, st);
	assert_int_equal(*status, VIRTIO_BLK_S_IOERR); /* not a multiple of 512 */
	request(f, 99, 0, buf, 512, st);
	assert_int_equal(*status, VIRTIO_BLK_S_UNSUPP);
	request(f, VIRTIO_BLK_T_GET_ID, 0, buf, 20, st);
	assert_int_equal(*status, VIRTIO_BLK_S_UNSUPP); /* no serial configured */
	/* A header shorter than 16 bytes. */
	s[0] = (struct seg){ buf, 8, false };
	s[1] = (struct seg){ st, 1, true };
	submit(f, s, 2);
	assert_int_equal(complete(f), 1);
	assert_int_equal(*status, VIRTIO_BLK_S_IOERR);
	/* No writable byte for the status: completed with nothing written, no crash. */
	s[0] = (struct seg){ buf, 16, false };
	memset(gpa(f, buf), 0, 16);
	submit(f, s, 1);
	assert_int_equal(complete(f), 0);
	assert_int_equal(f->b.errors, 8);
	fake_free(f);
}

static void test_get_id_and_config(void **state)
{
	struct fake *f = fake_new(false, "serial-0123456789abc", 0);
	uint64_t st = galloc(f, 1), buf = galloc(f, 20);

	(void)state;
	assert_int_equal(request(f, VIRTIO_BLK_T_GET_ID, 0, buf, 20, st), 21);
	assert_int_equal(*(uint8_t *)gpa(f, st), VIRTIO_BLK_S_OK);
	assert_memory_equal(gpa(f, buf), "serial-0123456789abc", 20);
	assert_int_equal(blk_cfg_read(&f->d, 0, 8), IMG_SECTORS);
	assert_int_equal(blk_cfg_read(&f->d, 12, 4), BLK_QUEUE_SIZE - 2);
	assert_int_equal(blk_cfg_read(&f->d, 20, 4), 512);
	assert_int_equal(blk_cfg_read(&f->d, 58, 4), 0); /* runs past the end: nothing */
	assert_int_equal(blk_cfg_read(&f->d, 1000, 1), 0);
	assert_false(f->b.ops.features & (1ULL << VIRTIO_BLK_F_RO));
	fake_free(f);
}

static void test_read_only(void **state)
{
	struct fake *f = fake_new(true, NULL, 0);
	uint64_t st = galloc(f, 1), buf = galloc(f, 512);

	(void)state;
	assert_true(f->b.ops.features & (1ULL << VIRTIO_BLK_F_RO));
	assert_false(f->b.ops.features & (1ULL << VIRTIO_BLK_F_DISCARD));
	memset(gpa(f, buf), 0x77, 512);
	request(f, VIRTIO_BLK_T_OUT, 1, buf, 512, st);
	assert_int_equal(*(uint8_t *)gpa(f, st), VIRTIO_BLK_S_IOERR);
	assert_int_equal(file_byte(f, 512), 1);
	request(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, buf, 16, st);
	assert_int_not_equal(*(uint8_t *)gpa(f, st), VIRTIO_BLK_S_OK);
	assert_int_equal(file_byte(f, 0), 0);
	request(f, VIRTIO_BLK_T_FLUSH, 0, 0, 0, st);
	assert_int_equal(*(uint8_t *)gpa(f, st), VIRTIO_BLK_S_OK);
	request(f, VIRTIO_BLK_T_IN, 2, buf, 512, st);
	assert_int_equal(*(uint8_t *)gpa(f, st), VIRTIO_BLK_S_OK);
	assert_int_equal(*(uint8_t *)gpa(f, buf), 2);
	fake_free(f);
}

struct dwz {
	uint64_t sector;
	uint32_t num, flags;
};

static void test_discard(void **state)
{
	struct fake *f = fake_new(false, NULL, 0);
	uint64_t st = galloc(f, 1), seg = galloc(f, 16);
	struct dwz sg = { 8, 8, 0 };

	(void)state;
	if (!f->b.img.can_punch) {
		fake_free(f);
		skip();
	}
	memcpy(gpa(f, seg), &sg, sizeof(sg));
	request(f, VIRTIO_BLK_T_DISCARD, 0, seg, 16, st);
	assert_int_equal(*(uint8_t *)gpa(f, st), VIRTIO_BLK_S_OK);
	assert_int_equal(file_byte(f, 8 * 512), 0);
	assert_int_equal(file_byte(f, 16 * 512 - 1), 0);
	assert_int_equal(file_byte(f, 16 * 512), 16);
	sg = (struct dwz){ 20, 1, 1 };
	memcpy(gpa(f, seg), &sg, sizeof(sg));
	request(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, seg, 16, st);
	assert_int_equal(*(uint8_t *)gpa(f, st), VIRTIO_BLK_S_OK);
	assert_int_equal(file_byte(f, 20 * 512 + 5), 0);
	assert_int_equal(file_byte(f, 21 * 512), 21);
	/* The unmap flag on a discard, and a range past the end. */
	sg = (struct dwz){ 30, 1, 1 };
	memcpy(gpa(f, seg), &sg, sizeof(sg));
	request(f, VIRTIO_BLK_T_DISCARD, 0, seg, 16, st);
	assert_int_equal(*(uint8_t *)gpa(f, st), VIRTIO_BLK_S_UNSUPP);
	sg = (struct dwz){ IMG_SECTORS - 1, 2, 0 };
	memcpy(gpa(f, seg), &sg, sizeof(sg));
	request(f, VIRTIO_BLK_T_DISCARD, 0, seg, 16, st);
	assert_int_equal(*(uint8_t *)gpa(f, st), VIRTIO_BLK_S_IOERR);
	assert_int_equal(file_byte(f, (IMG_SECTORS - 1) * 512), IMG_SECTORS - 1);
	fake_free(f);
}

static void test_rate_limited(void **state)
{
	/* 10 IOPS, bucket of one op: the second request waits for the timer, ~100 ms. */
	struct fake *f = fake_new(false, NULL, 10);
	uint64_t st = galloc(f, 1), buf = galloc(f, 512);
	struct itimerspec its;
	uint64_t t0 = util_now_ns(), n;
	struct pollfd pfd = { .fd = f->b.timer_fd, .events = POLLIN };

	(void)state;
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, 0, buf, 512, st), 513);
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, 1, buf, 512, st), -1);
	assert_true(f->b.held);
	assert_int_equal(timerfd_gettime(f->b.timer_fd, &its), 0);
	assert_true(its.it_value.tv_sec > 0 || its.it_value.tv_nsec > 0);
	/* A kick meanwhile does not serve it early. */
	assert_int_equal(complete(f), -1);
	assert_int_equal(poll(&pfd, 1, 1000), 1);
	assert_int_equal(read(f->b.timer_fd, &n, sizeof(n)), sizeof(n));
	blk_run(&f->b, &f->d.vq[0]);
	assert_int_equal(used_idx(f), 2);
	n = util_now_ns() - t0;
	assert_true(n >= 99 * 1000000ULL && n < 150 * 1000000ULL);
	assert_false(f->b.held);
	fake_free(f);
}

/*
 * The I/O counters as devices_io_stats sums them: only completed reads and writes
 * count, with their data bytes; failed requests, flushes and devices without
 * counters add nothing; two disks add up.
 */
static void test_io_stats(void **state)
{
	struct fake *f = fake_new(false, NULL, 0), *g = fake_new(false, NULL, 0);
	struct virtio_dev none = { .ops = &fake_ops };
	struct devices devs = { .n = 3, .dev = { &f->d, &none, &g->d } };
	uint64_t st = galloc(f, 1), buf = galloc(f, 2048);
	struct virtio_io_stats s;

	(void)state;
	f->d.ops = &f->b.ops;
	g->d.ops = &g->b.ops;
	devices_io_stats(&devs, &s);
	assert_int_equal(s.blk_reads + s.blk_writes + s.blk_read_bytes + s.blk_write_bytes, 0);
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, 0, buf, 2048, st), 2049);
	assert_int_equal(request(f, VIRTIO_BLK_T_OUT, 4, buf, 512, st), 1);
	assert_int_equal(request(f, VIRTIO_BLK_T_OUT, 8, buf, 1024, st), 1);
	assert_int_equal(request(f, VIRTIO_BLK_T_FLUSH, 0, 0, 0, st), 1);
	request(f, VIRTIO_BLK_T_IN, IMG_SECTORS, buf, 512, st);
	assert_int_equal(*(uint8_t *)gpa(f, st), VIRTIO_BLK_S_IOERR);
	st = galloc(g, 1);
	buf = galloc(g, 512);
	assert_int_equal(request(g, VIRTIO_BLK_T_IN, 1, buf, 512, st), 513);
	devices_io_stats(&devs, &s);
	assert_int_equal(s.blk_reads, 2);
	assert_int_equal(s.blk_writes, 2);
	assert_int_equal(s.blk_read_bytes, 2048 + 512);
	assert_int_equal(s.blk_write_bytes, 512 + 1024);
	assert_int_equal(s.net_rx_frames + s.net_tx_frames + s.vsock_rx_bytes, 0);
	/* Nothing to count: all zero, whatever *s held before. */
	devs.n = 0;
	devices_io_stats(&devs, &s);
	assert_int_equal(s.blk_reads + s.blk_read_bytes, 0);
	fake_free(g);
	fake_free(f);
}

static void test_disk_options(void **state)
{
	static char a0[] = "bulwark-vmm", a1[] = "--kernel", a2[] = "k", a3[] = "--disk",
		    a4[] = "path=/a.img,ro,serial=S-1,iops=1000,bw=4M,iops-burst=5,bw-burst=1M,refill=20",
		    a5[] = "--disk", a6[] = "path=/b.img", a7[] = "--rng=bw=1M";
	char *argv[] = { a0, a1, a2, a3, a4, a5, a6, a7, NULL };
	static const char json[] = "{\"disk\": [\"path=/c.img,ro\"], \"rng\": true}";
	static const char *const bad[] = {
		"ro", "path=", "path=/a,foo", "path=/a,serial=", "path=/a,serial=123456789012345678901",
		"path=/a,serial=a b", "path=/a,iops=x", "path=/a,bw=1Q", "path=/a,refill=0",
		"path=/a,ro=1", "path=/a,size=5",
	};
	struct vmm_config c;
	struct disk_config dc = { 0 };
	char err[256];

	(void)state;
	config_init(&c);
	assert_int_equal(config_parse_args(&c, 8, argv, err, sizeof(err)), 0);
	assert_int_equal(c.ndisks, 2);
	assert_string_equal(c.disks[0].path, "/a.img");
	assert_true(c.disks[0].readonly);
	assert_string_equal(c.disks[0].serial, "S-1");
	assert_int_equal(c.disks[0].rl.ops_per_s, 1000);
	assert_int_equal(c.disks[0].rl.bytes_per_s, 4 << 20);
	assert_int_equal(c.disks[0].rl.ops_burst, 5);
	assert_int_equal(c.disks[0].rl.bytes_burst, 1 << 20);
	assert_int_equal(c.disks[0].rl.refill_ms, 20);
	assert_false(c.disks[1].readonly);
	assert_true(c.rng);
	assert_int_equal(c.rng_rl.bytes_per_s, 1 << 20);
	config_free(&c);

	config_init(&c);
	assert_int_equal(config_parse_json(&c, json, strlen(json), err, sizeof(err)), 0);
	assert_int_equal(c.ndisks, 1);
	assert_true(c.disks[0].readonly);
	assert_true(c.rng);
	assert_int_equal(config_parse_json(&c, "{\"disk\": [1]}", 13, err, sizeof(err)), -EINVAL);
	assert_int_equal(config_parse_json(&c, "{\"rng\": \"x=1\"}", 14, err, sizeof(err)),
			 -EINVAL);
	/* No more than DISK_MAX disks. */
	for (unsigned int i = c.ndisks; i < DISK_MAX; i++)
		assert_int_equal(config_parse_json(&c, "{\"disk\": \"path=/x\"}", 19, err,
						   sizeof(err)), 0);
	assert_int_equal(config_parse_json(&c, "{\"disk\": \"path=/x\"}", 19, err, sizeof(err)),
			 -EINVAL);
	config_free(&c);

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		dc.path = NULL;
		assert_int_equal(disk_parse_spec(&dc, bad[i], err, sizeof(err)), -EINVAL);
		assert_null(dc.path);
		assert_null(strchr(err, '\n'));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_write),
		cmocka_unit_test(test_framing),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_get_id_and_config),
		cmocka_unit_test(test_read_only),
		cmocka_unit_test(test_discard),
		cmocka_unit_test(test_rate_limited),
		cmocka_unit_test(test_io_stats),
		cmocka_unit_test(test_disk_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer harness: a hostile driver's virtio-blk requests. The input becomes guest RAM
 * (rings, headers, data) in front of a 64 KiB image in a memfd; the back-end must never
 * touch memory outside the guest's, grow or shrink the image, or crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

/* The back-end's static functions are the unit under test. */
#include "../../src/vmm/virtio_blk.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MEM_SIZE (64 * 1024)
#define IMG_SIZE (64 * 1024)
#define DESC_GPA 0x0000
#define AVAIL_GPA 0x1000
#define USED_GPA 0x2000

static const struct virtio_ops fuzz_ops = { .name = "fuzz", .num_queues = 1 };

/* Input: [0] queue size (1 << n % 9), [1] flags (1: read-only, 2: EVENT_IDX), then RAM. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vm vm;
	static struct virtio_dev d;
	static struct virtio_blk b;
	static struct disk_image img;
	static uint8_t *mem;
	static int timer_fd = -1;
	struct virtq *q = &d.vq[0];
	struct stat st;

	if (size < 2)
		return 0;
	if (!mem) {
		char path[64], err[256];
		int fd = memfd_create("fuzz-blk", MFD_CLOEXEC);

		mem = malloc(MEM_SIZE);
		if (!mem || fd < 0 || ftruncate(fd, IMG_SIZE) < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (disk_open(&img, path, false, err, sizeof(err)) < 0)
			abort();
		timer_fd = ratelimit_timer_open();
	}
	memset(mem, 0, MEM_SIZE);
	memcpy(mem, data + 2, size - 2 < MEM_SIZE ? size - 2 : MEM_SIZE);

	memset(&vm, 0, sizeof(vm));
	vm.mem = mem;
	vm.mem_size = vm.low_size = MEM_SIZE;
	memset(&d, 0, sizeof(d));
	pthread_mutex_init(&d.lock, NULL);
	d.ops = &fuzz_ops;
	d.vm = &vm;
	d.priv = &b;
	if (data[1] & 2)
		d.driver_features |= 1ULL << VIRTIO_F_RING_EVENT_IDX;
	q->dev = &d;
	q->size = (uint16_t)(1U << (data[0] % 9));
	q->max_size = 256;
	q->desc_gpa = DESC_GPA;
	q->avail_gpa = AVAIL_GPA;
	q->used_gpa = USED_GPA;
	q->ready = true;
	q->msix_vector = 0xffff;

	memset(&b, 0, sizeof(b));
	b.dev = &d;
	b.timer_fd = timer_fd;
	b.img = img;
	b.img.readonly = data[1] & 1;
	memcpy(b.serial, "fuzz-serial", 11);
	b.ops = blk_ops_template;
	blk_fill_config(&b);
	/* Two turns: the first may stop at the batch limit. */
	blk_notify(&d, q);
	blk_run(&b, q);

	if (fstat(img.fd, &st) < 0 || st.st_size != IMG_SIZE)
		__builtin_trap();
	pthread_mutex_destroy(&d.lock);
	return 0;
}

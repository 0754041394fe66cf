// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer harness: a hostile driver's split virtqueue. The input becomes guest RAM
 * (descriptor table, avail ring, buffers) and the walker must never read or write
 * outside it, loop, or accept a chain that breaks the rules.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "virtio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MEM_SIZE (64 * 1024)
#define DESC_GPA 0x0000
#define AVAIL_GPA 0x4000
#define USED_GPA 0x5000

static const struct virtio_ops ops = { .name = "fuzz", .num_queues = 1, .queue_max_size = 256 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vm vm;
	static struct virtio_dev d;
	static struct virtq_chain c;
	static uint8_t *mem;
	struct virtq *q = &d.vq[0];

	if (size < 2)
		return 0;
	if (!mem)
		mem = malloc(MEM_SIZE);
	memset(mem, 0, MEM_SIZE);
	memcpy(mem, data + 2, size - 2 < MEM_SIZE ? size - 2 : MEM_SIZE);

	memset(&vm, 0, sizeof(vm));
	vm.mem = mem;
	vm.mem_size = vm.low_size = MEM_SIZE;
	memset(&d, 0, sizeof(d));
	pthread_mutex_init(&d.lock, NULL);
	d.ops = &ops;
	d.vm = &vm;
	if (data[1] & 1)
		d.driver_features |= 1ULL << VIRTIO_F_RING_EVENT_IDX;
	q->dev = &d;
	q->size = (uint16_t)(1U << (data[0] % 9)); /* 1 .. 256 */
	q->max_size = 256;
	q->desc_gpa = DESC_GPA;
	q->avail_gpa = AVAIL_GPA;
	q->used_gpa = USED_GPA;
	q->ready = true;
	q->msix_vector = 0xffff;
	q->last_avail = (uint16_t)(data[1] >> 1);

	for (int round = 0; round < 64; round++) {
		uint8_t fill[512];
		int r = virtq_pop(q, &c);

		if (r <= 0)
			break;
		if (c.nbufs == 0 || c.nbufs > q->size || c.nread > c.nbufs || c.head >= q->size)
			__builtin_trap();
		for (unsigned int i = 0; i < c.nbufs; i++) {
			const uint8_t *p = c.buf[i].addr;

			if (c.buf[i].len && (p < mem || p + c.buf[i].len > mem + MEM_SIZE))
				__builtin_trap();
			if ((i < c.nread) == c.buf[i].write)
				__builtin_trap(); /* readable buffers first, then writable */
		}
		memset(fill, 0xab, sizeof(fill));
		virtq_chain_read(&c, 0, fill, sizeof(fill));
		virtq_chain_write(&c, 3, fill, sizeof(fill));
		virtq_push(q, c.head, (uint32_t)c.write_len);
	}
	virtq_notify_guest(q);
	pthread_mutex_destroy(&d.lock);
	return 0;
}

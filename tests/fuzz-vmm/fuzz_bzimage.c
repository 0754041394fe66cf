// SPDX-License-Identifier: Apache-2.0
/* libFuzzer harness: a hostile kernel image through header parsing, placement and boot_params. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boot.h"
#include "layout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct boot_params bp;
	struct boot_image k;
	struct boot_plan p;
	uint64_t mem, initrd;
	char err[256];
	uint8_t *img;

	if (size < 8)
		return 0;
	/* The first 8 bytes choose the guest's memory and initrd size; the rest is the file. */
	mem = ((uint64_t)data[0] << 21) | ((uint64_t)data[1] << 29) | ((uint64_t)data[2] << 37);
	initrd = ((uint64_t)data[3] << 12) | ((uint64_t)data[4] << 20) | ((uint64_t)data[5] << 28);
	data += 8;
	size -= 8;
	/* A private copy, so a read past the end is caught by ASan. */
	img = malloc(size ? size : 1);
	if (!img)
		return 0;
	memcpy(img, data, size);
	if (boot_parse_bzimage(img, size < BOOT_SETUP_MAX ? size : BOOT_SETUP_MAX, size, &k, err,
			       sizeof(err)) == 0 &&
	    boot_plan_layout(&k, mem, initrd, 100, &p, err, sizeof(err)) == 0) {
		/* Every planned range must lie in RAM below the hole. */
		if (p.kernel_end > p.low_mem_end || p.initrd_gpa + p.initrd_len > p.low_mem_end ||
		    (p.initrd_len && p.initrd_gpa < p.kernel_end) || p.kernel_gpa < LAYOUT_HIMEM)
			abort();
		boot_fill_params(&k, &p, mem, LAYOUT_ACPI, &bp);
	}
	free(img);
	return 0;
}

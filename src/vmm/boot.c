// SPDX-License-Identifier: Apache-2.0
/* Linux x86 boot protocol: bzImage parsing, memory placement, boot_params and e820. */
#include "boot.h"

#include <asm/e820.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "layout.h"
#include "util.h"

/* Offsets in the bzImage (Documentation/arch/x86/boot.rst, "The real-mode kernel header"). */
#define HDR_OFFSET 0x1f1
#define HDR_MAGIC_OFFSET 0x202
#define HDR_MAGIC 0x53726448 /* "HdrS" */
#define BOOT_FLAG_OFFSET 0x1fe
#define BOOT_FLAG 0xaa55
#define MIN_PROTOCOL 0x020c /* xloadflags, the 64-bit entry's flag, came with 2.12 */
#define LOADER_TYPE_UNDEFINED 0xff
#define SETUP_HEAP_END 0xfe00

int boot_parse_bzimage(const uint8_t *img, size_t len, uint64_t file_len, struct boot_image *out,
		       char *err, size_t errlen)
{
	struct setup_header h;
	size_t setup_sects, hdr_end;
	uint32_t magic;
	uint16_t flag;

	if (len > file_len)
		return util_fail(-EINVAL, err, errlen, "internal: header buffer larger than the file");
	if (len < HDR_MAGIC_OFFSET + sizeof(magic) || len < HDR_OFFSET + sizeof(h))
		return util_fail(-ENOEXEC, err, errlen, "not a bzImage: only %llu bytes",
			    (unsigned long long)file_len);
	memcpy(&magic, img + HDR_MAGIC_OFFSET, sizeof(magic));
	memcpy(&flag, img + BOOT_FLAG_OFFSET, sizeof(flag));
	if (magic != HDR_MAGIC || flag != BOOT_FLAG)
		return util_fail(-ENOEXEC, err, errlen, "not a bzImage: no HdrS boot header");
	memcpy(&h, img + HDR_OFFSET, sizeof(h));
	if (h.version < MIN_PROTOCOL)
		return util_fail(-ENOEXEC, err, errlen,
			    "boot protocol %u.%02u is too old: need 2.12 or later (64-bit entry)",
			    h.version >> 8, h.version & 0xff);
	if (!(h.xloadflags & XLF_KERNEL_64))
		return util_fail(-ENOEXEC, err, errlen, "kernel has no 64-bit entry point (xloadflags)");
	if (!(h.loadflags & LOADED_HIGH))
		return util_fail(-ENOEXEC, err, errlen, "kernel is not a bzImage (zImage not supported)");
	/* The header's own length is encoded in the jump at 0x200 (boot.rst). */
	hdr_end = 0x202 + img[0x201];
	if (hdr_end > HDR_OFFSET + sizeof(h))
		hdr_end = HDR_OFFSET + sizeof(h);
	setup_sects = h.setup_sects ? h.setup_sects : 4;
	out->setup_len = (setup_sects + 1) * 512;
	if (out->setup_len >= file_len || out->setup_len > len || out->setup_len < hdr_end)
		return util_fail(-EINVAL, err, errlen,
			    "bzImage truncated: %zu bytes of setup but the file has %llu", out->setup_len,
			    (unsigned long long)file_len);
	out->setup = img;
	out->kernel_offset = out->setup_len;
	out->kernel_len = file_len - out->setup_len;
	if ((uint64_t)h.syssize * 16 > out->kernel_len)
		return util_fail(-EINVAL, err, errlen,
			    "bzImage truncated: header says %llu bytes of kernel, file has %llu",
			    (unsigned long long)h.syssize * 16, (unsigned long long)out->kernel_len);
	if (h.init_size == 0 || h.init_size > 1U << 30)
		return util_fail(-EINVAL, err, errlen, "bzImage header: implausible init_size %u",
			    h.init_size);
	if (h.kernel_alignment & (h.kernel_alignment - 1))
		return util_fail(-EINVAL, err, errlen, "bzImage header: kernel_alignment %#x is not a power of 2",
			    h.kernel_alignment);
	out->version = h.version;
	out->init_size = h.init_size;
	out->initrd_addr_max = h.initrd_addr_max;
	out->cmdline_size = h.cmdline_size;
	out->kernel_alignment = h.kernel_alignment ? h.kernel_alignment : 0x200000;
	out->pref_address = h.pref_address;
	out->relocatable = h.relocatable_kernel;
	return 0;
}

int boot_plan_layout(const struct boot_image *k, uint64_t mem_size, uint64_t initrd_len,
		     size_t cmdline_len, struct boot_plan *p, char *err, size_t errlen)
{
	uint64_t load, end, top, need;
	size_t cmax;

	cmax = LAYOUT_CMDLINE_MAX - 1;
	if (k->cmdline_size && k->cmdline_size < cmax)
		cmax = k->cmdline_size;
	if (cmdline_len > cmax)
		return util_fail(-E2BIG, err, errlen, "command line is %zu bytes; this kernel takes at most %zu",
			    cmdline_len, cmax);

	/*
	 * Load where the kernel prefers to run (16 MiB for Debian's) so that the
	 * decompressor works in place; a non-relocatable kernel must go there.
	 */
	load = k->pref_address ? k->pref_address : LAYOUT_HIMEM;
	if (load < LAYOUT_HIMEM || load >= LAYOUT_MMIO32_START)
		return util_fail(-EINVAL, err, errlen, "bzImage header: pref_address %#llx is unusable",
			    (unsigned long long)load);
	load = ALIGN_UP(load, (uint64_t)k->kernel_alignment);
	end = load + (k->init_size > k->kernel_len ? k->init_size : k->kernel_len);
	if (k->kernel_len >= LAYOUT_MMIO32_START)
		return util_fail(-ENOSPC, err, errlen, "kernel image larger than 3 GiB");
	end = ALIGN_UP(end, 4096ULL);

	p->low_mem_end = mem_size < LAYOUT_MMIO32_START ? mem_size : LAYOUT_MMIO32_START;
	need = end + ALIGN_UP(initrd_len, 4096ULL);
	if (need > p->low_mem_end)
		return util_fail(-ENOSPC, err, errlen,
			    "memory too small: kernel%s needs %llu MiB below 3 GiB, the guest has %llu MiB",
			    initrd_len ? " and initrd" : "",
			    (unsigned long long)((need + MiB - 1) / MiB),
			    (unsigned long long)(p->low_mem_end / MiB));
	p->kernel_gpa = load;
	p->kernel_end = end;
	p->initrd_len = initrd_len;
	p->initrd_gpa = 0;
	if (initrd_len) {
		/* As high as allowed, so the decompressed kernel and early allocations stay clear. */
		top = p->low_mem_end;
		if (k->initrd_addr_max && (uint64_t)k->initrd_addr_max + 1 < top)
			top = (uint64_t)k->initrd_addr_max + 1;
		if (top < end || top - end < initrd_len)
			return util_fail(-ENOSPC, err, errlen,
				    "initrd (%llu MiB) does not fit between the kernel and initrd_addr_max",
				    (unsigned long long)((initrd_len + MiB - 1) / MiB));
		p->initrd_gpa = ALIGN_DOWN(top - initrd_len, 4096ULL);
	}
	return 0;
}

static unsigned int e820_add(struct boot_e820_entry *t, unsigned int n, unsigned int max,
			     uint64_t addr, uint64_t size, uint32_t type)
{
	if (n >= max || size == 0)
		return n;
	t[n].addr = addr;
	t[n].size = size;
	t[n].type = type;
	return n + 1;
}

unsigned int boot_e820(uint64_t mem_size, struct boot_e820_entry *t, unsigned int max)
{
	uint64_t low_end = mem_size < LAYOUT_MMIO32_START ? mem_size : LAYOUT_MMIO32_START;
	unsigned int n = 0;

	n = e820_add(t, n, max, 0, LAYOUT_EBDA, E820_RAM);
	n = e820_add(t, n, max, LAYOUT_EBDA, 0xa0000 - LAYOUT_EBDA, E820_RESERVED);
	/* ACPI tables live here; reserved keeps them out of the page allocator. */
	n = e820_add(t, n, max, LAYOUT_ACPI, LAYOUT_HIMEM - LAYOUT_ACPI, E820_RESERVED);
	n = e820_add(t, n, max, LAYOUT_HIMEM, low_end - LAYOUT_HIMEM, E820_RAM);
	if (mem_size > LAYOUT_MMIO32_START)
		n = e820_add(t, n, max, LAYOUT_4G, mem_size - LAYOUT_MMIO32_START, E820_RAM);
	return n;
}

void boot_fill_params(const struct boot_image *k, const struct boot_plan *p, uint64_t mem_size,
		      uint64_t rsdp_gpa, struct boot_params *bp)
{
	size_t hdr_end = 0x202 + k->setup[0x201];

	memset(bp, 0, sizeof(*bp));
	if (hdr_end > HDR_OFFSET + sizeof(bp->hdr))
		hdr_end = HDR_OFFSET + sizeof(bp->hdr);
	/* The loader passes the image's own header through, then fills in its fields. */
	memcpy(&bp->hdr, k->setup + HDR_OFFSET, hdr_end - HDR_OFFSET);
	bp->hdr.type_of_loader = LOADER_TYPE_UNDEFINED;
	bp->hdr.loadflags |= CAN_USE_HEAP | LOADED_HIGH;
	bp->hdr.loadflags &= (uint8_t)~KEEP_SEGMENTS;
	bp->hdr.heap_end_ptr = SETUP_HEAP_END - 0x200;
	bp->hdr.vid_mode = 0xffff; /* "normal" */
	bp->hdr.cmd_line_ptr = (uint32_t)LAYOUT_CMDLINE;
	bp->hdr.code32_start = (uint32_t)p->kernel_gpa;
	if (p->initrd_len) {
		bp->hdr.ramdisk_image = (uint32_t)p->initrd_gpa;
		bp->hdr.ramdisk_size = (uint32_t)p->initrd_len;
	}
	if (k->version >= 0x020e)
		bp->acpi_rsdp_addr = rsdp_gpa;
	bp->e820_entries = (uint8_t)boot_e820(mem_size, bp->e820_table, E820_MAX_ENTRIES_ZEROPAGE);
}

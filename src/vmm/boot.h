/* SPDX-License-Identifier: Apache-2.0 */
/* Linux x86 boot protocol: bzImage parsing, memory placement, boot_params and e820. */
#ifndef BULWARK_VMM_BOOT_H
#define BULWARK_VMM_BOOT_H

#include <asm/bootparam.h>
#include <stddef.h>
#include <stdint.h>

/* The largest real-mode part a bzImage can have: (255 + 1) sectors of 512 bytes. */
#define BOOT_SETUP_MAX (256U * 512U)

/* A parsed bzImage header; `setup` points into the caller's buffer, which must outlive it. */
struct boot_image {
	const uint8_t *setup; /* real-mode part, setup_len bytes */
	size_t setup_len;
	uint64_t kernel_offset; /* protected-mode part: file offset (== setup_len) and length, */
	uint64_t kernel_len; /* loaded at boot_plan.kernel_gpa */
	uint16_t version; /* boot protocol, e.g. 0x020f */
	uint32_t init_size; /* memory the kernel needs from its load address */
	uint32_t initrd_addr_max;
	uint32_t cmdline_size;
	uint32_t kernel_alignment;
	uint64_t pref_address;
	uint8_t relocatable;
};

/* Where everything goes in guest physical memory. */
struct boot_plan {
	uint64_t kernel_gpa;
	uint64_t kernel_end; /* kernel_gpa + the larger of init_size and the image */
	uint64_t initrd_gpa;
	uint64_t initrd_len;
	uint64_t low_mem_end; /* end of RAM below the 32-bit MMIO hole */
};

/*
 * Parses and sanity-checks a bzImage of file_len bytes whose first len bytes
 * (at least the whole real-mode part, or the whole file if smaller) are in
 * img. Returns 0 and fills *out; or -ENOEXEC (not a bzImage / too old / no
 * 64-bit entry) or -EINVAL (truncated, inconsistent header), with one line in
 * err.
 */
int boot_parse_bzimage(const uint8_t *img, size_t len, uint64_t file_len, struct boot_image *out,
		       char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * Plans the placement of kernel and initrd in a guest of mem_size bytes, and
 * checks the command line length. Returns 0, or -ENOSPC (memory too small,
 * initrd does not fit below initrd_addr_max) or -E2BIG (command line too long)
 * with one line in err.
 */
int boot_plan_layout(const struct boot_image *k, uint64_t mem_size, uint64_t initrd_len,
		     size_t cmdline_len, struct boot_plan *p, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/*
 * Fills *bp (zeroed first) from the image's setup header and the plan:
 * loader type, command line pointer, initrd, e820 map and the ACPI RSDP
 * address. Cannot fail once boot_plan_layout succeeded.
 */
void boot_fill_params(const struct boot_image *k, const struct boot_plan *p, uint64_t mem_size,
		      uint64_t rsdp_gpa, struct boot_params *bp);

/*
 * Writes the guest's e820 map for mem_size bytes of RAM into table[0..max);
 * returns the number of entries.
 */
unsigned int boot_e820(uint64_t mem_size, struct boot_e820_entry *table, unsigned int max);

#endif

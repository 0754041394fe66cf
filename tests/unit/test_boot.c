// SPDX-License-Identifier: Apache-2.0
/* Unit tests of the boot protocol code: bzImage header checks, placement, boot_params, e820. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <asm/e820.h>
#include <errno.h>
#include <string.h>

#include "boot.h"
#include "layout.h"
#include "util.h"

#define IMG_LEN (64 * 1024)
static uint8_t img[IMG_LEN];
static char err[256];

static void put16(size_t off, uint16_t v) { memcpy(img + off, &v, 2); }
static void put32(size_t off, uint32_t v) { memcpy(img + off, &v, 4); }
static void put64(size_t off, uint64_t v) { memcpy(img + off, &v, 8); }

/* A plausible modern bzImage header (like Debian's 6.1: protocol 2.15, 16 MiB preferred). */
static void make_image(void)
{
	memset(img, 0, sizeof(img));
	img[0x1f1] = 4; /* setup_sects: 5 * 512 bytes of setup */
	put32(0x1f4, (IMG_LEN - 5 * 512) / 16); /* syssize */
	put16(0x1fe, 0xaa55);
	img[0x200] = 0xeb;
	img[0x201] = 0x6a;
	memcpy(img + 0x202, "HdrS", 4);
	put16(0x206, 0x020f);
	img[0x211] = 0x01; /* LOADED_HIGH */
	put32(0x22c, 0x7fffffff); /* initrd_addr_max */
	put32(0x230, 0x200000); /* kernel_alignment */
	img[0x234] = 1; /* relocatable */
	put16(0x236, 0x7f); /* xloadflags */
	put32(0x238, 2047); /* cmdline_size */
	put64(0x258, 0x1000000); /* pref_address */
	put32(0x260, 51 << 20); /* init_size */
}

static int parse(struct boot_image *k, size_t len)
{
	return boot_parse_bzimage(img, len, len, k, err, sizeof(err));
}

static void test_parse_ok(void **state)
{
	struct boot_image k;

	(void)state;
	make_image();
	assert_int_equal(parse(&k, IMG_LEN), 0);
	assert_int_equal(k.version, 0x020f);
	assert_int_equal(k.setup_len, 5 * 512);
	assert_int_equal(k.kernel_offset, 5 * 512);
	assert_int_equal(k.kernel_len, IMG_LEN - 5 * 512);
	assert_int_equal(k.init_size, 51 << 20);
	assert_int_equal(k.pref_address, 0x1000000);
}

static void test_parse_errors(void **state)
{
	struct boot_image k;

	(void)state;
	make_image();
	assert_int_equal(parse(&k, 100), -ENOEXEC);
	assert_non_null(strstr(err, "not a bzImage"));

	make_image();
	memcpy(img + 0x202, "HdrX", 4);
	assert_int_equal(parse(&k, IMG_LEN), -ENOEXEC);

	make_image();
	put16(0x1fe, 0);
	assert_int_equal(parse(&k, IMG_LEN), -ENOEXEC);

	make_image();
	put16(0x206, 0x0209);
	assert_int_equal(parse(&k, IMG_LEN), -ENOEXEC);
	assert_non_null(strstr(err, "2.09 is too old"));

	make_image();
	put16(0x236, 0x7e);
	assert_int_equal(parse(&k, IMG_LEN), -ENOEXEC);
	assert_non_null(strstr(err, "64-bit"));

	make_image();
	img[0x211] = 0;
	assert_int_equal(parse(&k, IMG_LEN), -ENOEXEC);

	/* Truncated: the header claims more kernel than the file holds. */
	make_image();
	assert_int_equal(parse(&k, IMG_LEN - 16), -EINVAL);
	assert_non_null(strstr(err, "truncated"));

	/* Setup longer than the file. */
	make_image();
	img[0x1f1] = 200;
	assert_int_equal(parse(&k, IMG_LEN), -EINVAL);

	make_image();
	put32(0x260, 0);
	assert_int_equal(parse(&k, IMG_LEN), -EINVAL);

	make_image();
	put32(0x230, 0x300000);
	assert_int_equal(parse(&k, IMG_LEN), -EINVAL);

	/* A header buffer that claims to be longer than the file is a caller bug, refused. */
	make_image();
	assert_int_equal(boot_parse_bzimage(img, IMG_LEN, 100, &k, err, sizeof(err)), -EINVAL);
}

static void test_plan(void **state)
{
	struct boot_image k;
	struct boot_plan p;

	(void)state;
	make_image();
	assert_int_equal(parse(&k, IMG_LEN), 0);

	assert_int_equal(boot_plan_layout(&k, 512 * MiB, 10 * MiB, 100, &p, err, sizeof(err)), 0);
	assert_int_equal(p.kernel_gpa, 0x1000000);
	assert_int_equal(p.kernel_end, 0x1000000 + (51 << 20));
	assert_int_equal(p.initrd_gpa % 4096, 0);
	assert_true(p.initrd_gpa >= p.kernel_end);
	assert_true(p.initrd_gpa + 10 * MiB <= 512 * MiB);
	/* As high as possible: within a page of the top of RAM. */
	assert_true(512 * MiB - (p.initrd_gpa + 10 * MiB) < 4096);

	/* initrd_addr_max bounds the initrd even when RAM goes higher. */
	put32(0x22c, 0x37ffffff);
	assert_int_equal(parse(&k, IMG_LEN), 0);
	assert_int_equal(boot_plan_layout(&k, 2 * GiB, 10 * MiB, 0, &p, err, sizeof(err)), 0);
	assert_true(p.initrd_gpa + 10 * MiB <= 0x38000000);

	/* More than 3 GiB: RAM below the hole ends at 3 GiB. */
	assert_int_equal(boot_plan_layout(&k, 8 * GiB, 0, 0, &p, err, sizeof(err)), 0);
	assert_int_equal(p.low_mem_end, LAYOUT_MMIO32_START);
	assert_int_equal(p.initrd_len, 0);

	/* Memory too small for kernel + initrd. */
	assert_int_equal(boot_plan_layout(&k, 64 * MiB, 0, 0, &p, err, sizeof(err)), -ENOSPC);
	assert_non_null(strstr(err, "memory too small"));
	assert_int_equal(boot_plan_layout(&k, 80 * MiB, 20 * MiB, 0, &p, err, sizeof(err)),
			 -ENOSPC);

	/* The initrd must fit under initrd_addr_max, above the kernel. */
	put32(0x22c, 0x4000000);
	assert_int_equal(parse(&k, IMG_LEN), 0);
	assert_int_equal(boot_plan_layout(&k, 1 * GiB, 100 * MiB, 0, &p, err, sizeof(err)),
			 -ENOSPC);
	assert_non_null(strstr(err, "initrd"));

	/* Command line longer than the kernel accepts. */
	assert_int_equal(boot_plan_layout(&k, 1 * GiB, 0, 2048, &p, err, sizeof(err)), -E2BIG);
	assert_int_equal(boot_plan_layout(&k, 1 * GiB, 0, 2047, &p, err, sizeof(err)), 0);
}

static uint64_t ram_total(const struct boot_e820_entry *t, unsigned int n)
{
	uint64_t sum = 0;

	for (unsigned int i = 0; i < n; i++)
		if (t[i].type == E820_RAM)
			sum += t[i].size;
	return sum;
}

static void check_sorted(const struct boot_e820_entry *t, unsigned int n)
{
	for (unsigned int i = 1; i < n; i++)
		assert_true(t[i - 1].addr + t[i - 1].size <= t[i].addr);
}

static void test_e820(void **state)
{
	struct boot_e820_entry t[E820_MAX_ENTRIES_ZEROPAGE];
	unsigned int n;

	(void)state;
	n = boot_e820(512 * MiB, t, E820_MAX_ENTRIES_ZEROPAGE);
	assert_int_equal(n, 4);
	check_sorted(t, n);
	/* All RAM except the legacy hole 640 KiB..1 MiB. */
	assert_int_equal(ram_total(t, n), 512 * MiB - (LAYOUT_HIMEM - LAYOUT_EBDA));
	/* The ACPI tables are inside a reserved range. */
	assert_int_equal(t[2].type, E820_RESERVED);
	assert_true(t[2].addr <= LAYOUT_ACPI && t[2].addr + t[2].size >= LAYOUT_ACPI + LAYOUT_ACPI_SIZE);

	n = boot_e820(6 * GiB, t, E820_MAX_ENTRIES_ZEROPAGE);
	assert_int_equal(n, 5);
	check_sorted(t, n);
	assert_int_equal(t[4].addr, LAYOUT_4G);
	assert_int_equal(t[4].size, 6 * GiB - LAYOUT_MMIO32_START);
	assert_int_equal(ram_total(t, n), 6 * GiB - (LAYOUT_HIMEM - LAYOUT_EBDA));

	/* Never writes past max. */
	assert_int_equal(boot_e820(6 * GiB, t, 2), 2);
}

static void test_fill_params(void **state)
{
	static struct boot_params bp;
	struct boot_image k;
	struct boot_plan p;

	(void)state;
	make_image();
	assert_int_equal(parse(&k, IMG_LEN), 0);
	assert_int_equal(boot_plan_layout(&k, 512 * MiB, 4 * MiB, 10, &p, err, sizeof(err)), 0);
	memset(&bp, 0xa5, sizeof(bp));
	boot_fill_params(&k, &p, 512 * MiB, 0xe0000, &bp);
	assert_int_equal(bp.hdr.header, 0x53726448);
	assert_int_equal(bp.hdr.version, 0x020f);
	assert_int_equal(bp.hdr.type_of_loader, 0xff);
	assert_true(bp.hdr.loadflags & LOADED_HIGH);
	assert_true(bp.hdr.loadflags & CAN_USE_HEAP);
	assert_int_equal(bp.hdr.cmd_line_ptr, LAYOUT_CMDLINE);
	assert_int_equal(bp.hdr.ramdisk_image, p.initrd_gpa);
	assert_int_equal(bp.hdr.ramdisk_size, 4 * MiB);
	assert_int_equal(bp.acpi_rsdp_addr, 0xe0000);
	assert_int_equal(bp.e820_entries, 4);
	/* Everything else starts zeroed: no stale bytes from the buffer. */
	assert_int_equal(bp.ext_ramdisk_image, 0);
	assert_int_equal(bp.screen_info.orig_video_isVGA, 0);

	/* Protocol 2.13 has no acpi_rsdp_addr field: leave it zero. */
	put16(0x206, 0x020d);
	assert_int_equal(parse(&k, IMG_LEN), 0);
	boot_fill_params(&k, &p, 512 * MiB, 0xe0000, &bp);
	assert_int_equal(bp.acpi_rsdp_addr, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_e820),
		cmocka_unit_test(test_fill_params),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the ACPI table builder: checksums, lengths, the pointer chain,
 * MADT contents, error returns, the AML emitter, a clean `iasl -d` disassembly
 * that compiles back to the same bytes, and ACPICA's interpreter loading them
 * and running the Generic Event Device's _EVT.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "acpi.h"
#include "aml.h"
#include "layout.h"

#define BUF_SIZE (64 * 1024)

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

static struct acpi_params default_params(unsigned int ncpus)
{
	struct acpi_params p = {
		.ncpus = ncpus,
		.pci_mmio_base = LAYOUT_PCI_MMIO_START,
		.pci_mmio_size = LAYOUT_PCI_MMIO_SIZE,
	};
	return p;
}

static const struct acpi_table_ref *find(const struct acpi_blob *b, const char *sig)
{
	for (unsigned int i = 0; i < b->ntables; i++)
		if (!strcmp(b->tables[i].sig, sig))
			return &b->tables[i];
	fail_msg("table %s missing", sig);
	abort(); /* not reached: fail_msg() leaves the test */
}

/* Offset within the buffer of the table at guest physical address gpa. */
static size_t off_of(uint64_t gpa, uint64_t base, const struct acpi_blob *b)
{
	assert_true(gpa >= base);
	assert_true(gpa - base < b->used);
	return (size_t)(gpa - base);
}

static uint8_t *build(unsigned int ncpus, uint64_t base, struct acpi_blob *b)
{
	struct acpi_params p = default_params(ncpus);
	uint8_t *buf = calloc(1, BUF_SIZE);

	assert_non_null(buf);
	assert_int_equal(acpi_build(&p, base, buf, BUF_SIZE, b), 0);
	return buf;
}

static void check_tables(unsigned int ncpus, uint64_t base)
{
	struct acpi_blob b;
	uint8_t *buf = build(ncpus, base, &b);
	size_t prev_end = 0;

	assert_int_equal(b.ntables, 5);
	assert_int_equal(b.rsdp_offset, 0);
	assert_string_equal(b.tables[0].sig, "RSDP");
	for (unsigned int i = 0; i < b.ntables; i++) {
		const struct acpi_table_ref *t = &b.tables[i];
		const uint8_t *p = buf + t->offset;

		/* In order, non-overlapping, inside the used part, 8-byte aligned. */
		assert_true(t->offset >= prev_end);
		assert_true(t->offset + t->length <= b.used);
		assert_int_equal(t->offset % 8, 0);
		prev_end = t->offset + t->length;
		if (i == 0) {
			assert_memory_equal(p, "RSD PTR ", 8);
			assert_int_equal(p[15], 2);
			assert_int_equal(get32(p + 20), 36);
			assert_int_equal(t->length, 36);
			assert_int_equal(sum8(p, 20), 0);
			assert_int_equal(sum8(p, 36), 0);
			continue;
		}
		assert_memory_equal(p, t->sig, 4);
		assert_int_equal(get32(p + 4), t->length);
		assert_int_equal(sum8(p, t->length), 0);
		assert_memory_equal(p + 10, "BLWARK", 6);
		assert_memory_equal(p + 16, "BULWARK ", 8);
	}
	assert_int_equal(b.used, prev_end);
	free(buf);
}

static void test_checksums_lengths(void **state)
{
	(void)state;
	check_tables(1, LAYOUT_ACPI);
	check_tables(4, LAYOUT_ACPI);
	check_tables(ACPI_MAX_CPUS, LAYOUT_ACPI);
	check_tables(2, 0x12345670ULL);
}

static void check_chain(uint64_t base)
{
	struct acpi_blob b;
	uint8_t *buf = build(4, base, &b);
	const uint8_t *rsdp = buf + b.rsdp_offset;
	size_t xsdt, fadt, dsdt, madt;

	assert_int_equal(get32(rsdp + 16), 0); /* XSDT only */
	xsdt = off_of(get64(rsdp + 24), base, &b);
	assert_int_equal(xsdt, find(&b, "XSDT")->offset);
	assert_int_equal(get32(buf + xsdt + 4), 36 + 2 * 8);
	fadt = off_of(get64(buf + xsdt + 36), base, &b);
	madt = off_of(get64(buf + xsdt + 44), base, &b);
	assert_int_equal(fadt, find(&b, "FACP")->offset);
	assert_int_equal(madt, find(&b, "APIC")->offset);
	assert_memory_equal(buf + fadt, "FACP", 4);
	assert_memory_equal(buf + madt, "APIC", 4);
	assert_int_equal(get32(buf + fadt + 40), 0); /* 32-bit DSDT unused */
	dsdt = off_of(get64(buf + fadt + 140), base, &b);
	assert_int_equal(dsdt, find(&b, "DSDT")->offset);
	assert_memory_equal(buf + dsdt, "DSDT", 4);
	free(buf);
}

static void test_pointer_chain(void **state)
{
	(void)state;
	check_chain(LAYOUT_ACPI);
	check_chain(0);
	check_chain(0x7ffff0000ULL);
}

static void check_gas_io8(const uint8_t *g, uint16_t port)
{
	assert_int_equal(g[0], 1); /* SystemIO */
	assert_int_equal(g[1], 8);
	assert_int_equal(g[2], 0);
	assert_int_equal(g[3], 1); /* byte access */
	assert_int_equal(get64(g + 4), port);
}

static void test_fadt_fields(void **state)
{
	struct acpi_blob b;
	uint8_t *buf = build(4, LAYOUT_ACPI, &b);
	const struct acpi_table_ref *t = find(&b, "FACP");
	const uint8_t *f = buf + t->offset;
	uint32_t flags = get32(f + 112);
	uint16_t boot = get16(f + 109);

	(void)state;
	assert_int_equal(t->length, 276);
	assert_int_equal(f[8], 6); /* ACPI 6.x */
	assert_true(flags & (1u << 20)); /* HW_REDUCED_ACPI */
	assert_true(flags & (1u << 10)); /* RESET_REG_SUP */
	assert_false(boot & (1u << 3)); /* MSI allowed: virtio uses MSI-X */
	assert_false(boot & (1u << 1)); /* no 8042 */
	assert_true(boot & (1u << 2)); /* no VGA */
	assert_true(boot & (1u << 5)); /* no CMOS RTC */
	check_gas_io8(f + 116, PORT_ACPI_RESET);
	assert_int_equal(f[128], ACPI_RESET_VALUE);
	check_gas_io8(f + 244, PORT_ACPI_SLEEP_CTL);
	check_gas_io8(f + 256, PORT_ACPI_SLEEP_STS);
	assert_int_equal(get32(f + 76), 0); /* no PM timer */
	assert_int_equal(get16(f + 46), 0); /* no SCI */
	free(buf);
}

static const uint8_t *memfind(const uint8_t *hay, size_t n, const void *needle, size_t m)
{
	for (size_t i = 0; i + m <= n; i++)
		if (!memcmp(hay + i, needle, m))
			return hay + i;
	return NULL;
}

static void test_dsdt_contents(void **state)
{
	struct acpi_params p = default_params(2);
	static const uint8_t s5[] = { 0x08, '\\', '_', 'S', '5', '_', 0x12, 0x07, 0x04,
				      0x0a, ACPI_S5_SLP_TYP, 0x00, 0x00, 0x00 };
	static const uint8_t pnp0a03[] = { 0x0c, 0x41, 0xd0, 0x0a, 0x03 };
	static const uint8_t pnp0501[] = { 0x0c, 0x41, 0xd0, 0x05, 0x01 };
	static const uint8_t com1_io[] = { 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08,
					   0x22, 0x10, 0x00 };
	uint8_t win[] = { 0x87, 0x17, 0x00, 0x00, 0x0c, 0x01, 0, 0, 0, 0,
			  0x00, 0x00, 0x00, 0xd0, 0xff, 0xff, 0xff, 0xd0 };
	struct acpi_blob b;
	uint8_t *buf = calloc(1, BUF_SIZE);
	const struct acpi_table_ref *t;
	const uint8_t *d;

	(void)state;
	assert_non_null(buf);
	p.pci_mmio_base = 0xd0000000;
	p.pci_mmio_size = 0x01000000;
	assert_int_equal(acpi_build(&p, LAYOUT_ACPI, buf, BUF_SIZE, &b), 0);
	t = find(&b, "DSDT");
	d = buf + t->offset;
	assert_non_null(memfind(d, t->length, s5, sizeof(s5)));
	assert_non_null(memfind(d, t->length, pnp0a03, sizeof(pnp0a03)));
	assert_non_null(memfind(d, t->length, pnp0501, sizeof(pnp0501)));
	assert_non_null(memfind(d, t->length, com1_io, sizeof(com1_io)));
	assert_non_null(memfind(d, t->length, win, sizeof(win)));
	free(buf);
}

/* The power button and the Generic Event Device that signals it, byte for byte. */
static void test_dsdt_power_button(void **state)
{
	static const uint8_t pwrb[] = { 0x5b, 0x82, 0x15, 'P', 'W', 'R', 'B',
					0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0c, 0x0c,
					0x08, '_', 'U', 'I', 'D', 0x00 };
	static const uint8_t ged_hid[] = { 'G', 'E', 'D', '0', 0x08, '_', 'H', 'I', 'D', 0x0d,
					   'A', 'C', 'P', 'I', '0', '0', '1', '3', 0x00 };
	/* Extended interrupt: consumer, edge, active-high, exclusive; one GSI. */
	static const uint8_t crs[] = { 0x08, '_', 'C', 'R', 'S', 0x11, 0x0e, 0x0a, 0x0b,
				       0x89, 0x06, 0x00, 0x03, 0x01, GSI_GED, 0x00, 0x00, 0x00,
				       0x79, 0x00 };
	/* Method (_EVT, 1) { If (LEqual (Arg0, GSI_GED)) { Notify (\_SB.PWRB, 0x80) } } */
	static const uint8_t evt[] = { 0x14, 0x19, '_', 'E', 'V', 'T', 0x01,
				       0xa0, 0x12, 0x93, 0x68, 0x0a, GSI_GED,
				       0x86, '\\', 0x2e, '_', 'S', 'B', '_', 'P', 'W', 'R', 'B',
				       0x0a, 0x80 };
	struct acpi_blob b;
	uint8_t *buf = build(2, LAYOUT_ACPI, &b);
	const struct acpi_table_ref *t = find(&b, "DSDT");
	const uint8_t *d = buf + t->offset;
	const uint8_t *ged;

	(void)state;
	assert_non_null(memfind(d, t->length, pwrb, sizeof(pwrb)));
	ged = memfind(d, t->length, ged_hid, sizeof(ged_hid));
	assert_non_null(ged);
	/* _CRS and _EVT belong to GED0: they follow its _HID inside the device. */
	assert_non_null(memfind(ged, t->length - (size_t)(ged - d), crs, sizeof(crs)));
	assert_non_null(memfind(ged, t->length - (size_t)(ged - d), evt, sizeof(evt)));
	/* The DSDT ends with GED0, which ends with _EVT. */
	assert_memory_equal(d + t->length - sizeof(evt), evt, sizeof(evt));
	free(buf);
}

static void check_madt(unsigned int ncpus)
{
	struct acpi_blob b;
	uint8_t *buf = build(ncpus, LAYOUT_ACPI, &b);
	const struct acpi_table_ref *t = find(&b, "APIC");
	const uint8_t *m = buf + t->offset;
	unsigned int nlapic = 0, nioapic = 0, niso = 0, nnmi = 0;
	size_t off = 44;

	assert_int_equal(get32(m + 36), LAYOUT_LAPIC);
	while (off < t->length) {
		const uint8_t *e = m + off;

		assert_true(off + 2 <= t->length);
		assert_true(e[1] >= 2);
		assert_true(off + e[1] <= t->length);
		switch (e[0]) {
		case 0:
			assert_int_equal(e[1], 8);
			assert_int_equal(e[2], nlapic); /* processor UID */
			assert_int_equal(e[3], nlapic); /* APIC id */
			assert_int_equal(get32(e + 4), 1);
			nlapic++;
			break;
		case 1:
			assert_int_equal(e[1], 12);
			assert_int_equal(e[2], 0);
			assert_int_equal(get32(e + 4), LAYOUT_IOAPIC);
			assert_int_equal(get32(e + 8), 0);
			nioapic++;
			break;
		case 2:
			assert_int_equal(e[1], 10);
			assert_int_equal(e[2], 0);
			assert_int_equal(e[3], 0);
			assert_int_equal(get32(e + 4), 2);
			niso++;
			break;
		case 4:
			assert_int_equal(e[1], 6);
			assert_int_equal(e[2], 0xff);
			assert_int_equal(e[5], 1);
			nnmi++;
			break;
		default:
			fail_msg("unexpected MADT entry type %u", e[0]);
		}
		off += e[1];
	}
	assert_int_equal(off, t->length);
	assert_int_equal(nlapic, ncpus);
	assert_int_equal(nioapic, 1);
	assert_int_equal(niso, 1);
	assert_int_equal(nnmi, 1);
	free(buf);
}

static void test_madt(void **state)
{
	(void)state;
	check_madt(1);
	check_madt(4);
	check_madt(ACPI_MAX_CPUS);
}

static void test_bad_params(void **state)
{
	struct acpi_params p = default_params(4);
	struct acpi_blob b;
	uint8_t *buf = calloc(1, BUF_SIZE);

	(void)state;
	assert_non_null(buf);
	assert_int_equal(acpi_build(NULL, LAYOUT_ACPI, buf, BUF_SIZE, &b), -EINVAL);
	assert_int_equal(acpi_build(&p, LAYOUT_ACPI, buf, BUF_SIZE, NULL), -EINVAL);
	assert_int_equal(acpi_build(&p, LAYOUT_ACPI, NULL, BUF_SIZE, &b), -EINVAL);
	assert_int_equal(acpi_build(&p, LAYOUT_ACPI + 8, buf, BUF_SIZE, &b), -EINVAL);
	assert_int_equal(acpi_build(&p, UINT64_MAX - 15, buf, BUF_SIZE, &b), -EINVAL);

	p.ncpus = 0;
	assert_int_equal(acpi_build(&p, LAYOUT_ACPI, buf, BUF_SIZE, &b), -EINVAL);
	p.ncpus = ACPI_MAX_CPUS + 1;
	assert_int_equal(acpi_build(&p, LAYOUT_ACPI, buf, BUF_SIZE, &b), -EINVAL);
	p.ncpus = UINT32_MAX;
	assert_int_equal(acpi_build(&p, LAYOUT_ACPI, buf, BUF_SIZE, &b), -EINVAL);

	p = default_params(4);
	p.pci_mmio_size = 0;
	assert_int_equal(acpi_build(&p, LAYOUT_ACPI, buf, BUF_SIZE, &b), -EINVAL);
	p = default_params(4);
	p.pci_mmio_base = 0xf0000000;
	p.pci_mmio_size = 0x10000001;
	assert_int_equal(acpi_build(&p, LAYOUT_ACPI, buf, BUF_SIZE, &b), -EINVAL);
	p.pci_mmio_base = LAYOUT_4G;
	p.pci_mmio_size = 0x1000;
	assert_int_equal(acpi_build(&p, LAYOUT_ACPI, buf, BUF_SIZE, &b), -EINVAL);
	p.pci_mmio_base = 0x1000;
	p.pci_mmio_size = UINT64_MAX;
	assert_int_equal(acpi_build(&p, LAYOUT_ACPI, buf, BUF_SIZE, &b), -EINVAL);

	/* The edge of what is allowed still builds. */
	p.pci_mmio_base = 0xf0000000;
	p.pci_mmio_size = 0x10000000;
	assert_int_equal(acpi_build(&p, LAYOUT_ACPI, buf, BUF_SIZE, &b), 0);
	p = default_params(ACPI_MAX_CPUS);
	assert_int_equal(acpi_build(&p, LAYOUT_ACPI, buf, BUF_SIZE, &b), 0);
	free(buf);
}

static void test_too_small(void **state)
{
	unsigned int counts[] = { 1, 4, ACPI_MAX_CPUS };

	(void)state;
	for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		struct acpi_params p = default_params(counts[c]);
		struct acpi_blob b;
		size_t need;
		uint8_t *buf;

		memset(&b, 0, sizeof(b));
		assert_int_equal(acpi_build(&p, LAYOUT_ACPI, NULL, 0, &b), -ENOSPC);
		need = b.used;
		assert_true(need > 0);
		/* Exactly sized heap buffers, so ASan catches any overrun. */
		for (size_t len = 0; len < need; len++) {
			buf = malloc(len ? len : 1);
			assert_non_null(buf);
			b.used = 0;
			assert_int_equal(acpi_build(&p, LAYOUT_ACPI, buf, len, &b), -ENOSPC);
			assert_int_equal(b.used, need);
			free(buf);
		}
		buf = malloc(need);
		assert_non_null(buf);
		assert_int_equal(acpi_build(&p, LAYOUT_ACPI, buf, need, &b), 0);
		assert_int_equal(b.used, need);
		free(buf);
	}
}

/* A Package of n Zero elements: PkgLength covers NumElements + n bytes + itself. */
static void check_pkglen(size_t n, const uint8_t *lead, size_t nlead)
{
	static uint8_t out[0x20000];
	struct aml a;

	aml_init(&a, out, sizeof(out));
	aml_package(&a, 0);
	for (size_t i = 0; i < n; i++)
		aml_byte(&a, 0x00);
	aml_end(&a);
	assert_int_equal(aml_finish(&a), 0);
	assert_int_equal(a.len, 1 + nlead + 1 + n);
	assert_int_equal(out[0], 0x12);
	assert_memory_equal(out + 1, lead, nlead);
	assert_int_equal(out[1 + nlead], 0); /* NumElements, moved down intact */
}

static void test_aml_pkglength(void **state)
{
	(void)state;
	/* ACPI 6.5 section 20.2.4: one byte up to 63, then 4 + 8k bits. */
	check_pkglen(0, (const uint8_t[]){ 0x02 }, 1);
	check_pkglen(61, (const uint8_t[]){ 0x3f }, 1);
	check_pkglen(62, (const uint8_t[]){ 0x41, 0x04 }, 2); /* 65 = 0x41 */
	check_pkglen(4092, (const uint8_t[]){ 0x4f, 0xff }, 2); /* 0xfff */
	check_pkglen(4093, (const uint8_t[]){ 0x81, 0x00, 0x01 }, 3); /* 0x1001 */
	check_pkglen(0x10000, (const uint8_t[]){ 0x84, 0x00, 0x10 }, 3); /* 0x10004 */
}

static void test_aml_encodings(void **state)
{
	uint8_t out[64];
	struct aml a;

	(void)state;
	aml_init(&a, out, sizeof(out));
	aml_integer(&a, 0);
	aml_integer(&a, 1);
	aml_integer(&a, 0xff);
	aml_integer(&a, 0x100);
	aml_integer(&a, 0x10000);
	aml_integer(&a, 0x100000000ULL);
	assert_int_equal(aml_finish(&a), 0);
	assert_int_equal(a.len, 1 + 1 + 2 + 3 + 5 + 9);
	assert_memory_equal(out, ((const uint8_t[]){ 0x00, 0x01, 0x0a, 0xff, 0x0b, 0x00, 0x01,
						      0x0c, 0x00, 0x00, 0x01, 0x00, 0x0e }), 13);

	aml_init(&a, out, sizeof(out));
	aml_namestring(&a, "\\_SB_.PCI0");
	aml_namestring(&a, "_HID");
	aml_namestring(&a, "A.B.C");
	assert_int_equal(aml_finish(&a), 0);
	assert_memory_equal(out, "\\\x2e_SB_PCI0_HID\x2f\x03" "A___B___C___", 28);

	aml_init(&a, out, sizeof(out));
	aml_eisaid(&a, "PNP0A03");
	assert_int_equal(aml_finish(&a), 0);
	assert_memory_equal(out, ((const uint8_t[]){ 0x0c, 0x41, 0xd0, 0x0a, 0x03 }), 5);

	aml_init(&a, out, sizeof(out));
	aml_string(&a, "AB");
	aml_string(&a, "");
	aml_arg(&a, 0);
	aml_arg(&a, 6);
	assert_int_equal(aml_finish(&a), 0);
	assert_int_equal(a.len, 4 + 2 + 2);
	assert_memory_equal(out,
			    ((const uint8_t[]){ 0x0d, 'A', 'B', 0x00, 0x0d, 0x00, 0x68, 0x6e }), 8);

	/* Method (M___, 7) { If (LEqual (Arg1, 0x1234)) { Notify (\X___, 2) } } */
	aml_init(&a, out, sizeof(out));
	aml_method(&a, "M", 7);
	aml_if(&a);
	aml_lequal(&a);
	aml_arg(&a, 1);
	aml_integer(&a, 0x1234);
	aml_notify(&a, "\\X", 2);
	aml_end(&a);
	aml_end(&a);
	assert_int_equal(aml_finish(&a), 0);
	assert_int_equal(a.len, 22);
	assert_memory_equal(out, ((const uint8_t[]){ 0x14, 0x15, 'M', '_', '_', '_', 0x07, 0xa0,
						      0x0e, 0x93, 0x69, 0x0b, 0x34, 0x12, 0x86,
						      '\\', 'X', '_', '_', '_', 0x0a, 0x02 }), 22);

	aml_init(&a, out, sizeof(out));
	aml_res_interrupt(&a, 0x12345678, 0);
	aml_res_interrupt(&a, 5, AML_IRQ_EDGE | AML_IRQ_ACTIVE_LOW | AML_IRQ_SHARED);
	assert_int_equal(aml_finish(&a), 0);
	assert_int_equal(a.len, 18);
	assert_memory_equal(out, ((const uint8_t[]){ 0x89, 0x06, 0x00, 0x01, 0x01, 0x78, 0x56,
						      0x34, 0x12, 0x89, 0x06, 0x00, 0x0f, 0x01,
						      0x05, 0x00, 0x00, 0x00 }), 18);
}

static void test_aml_errors(void **state)
{
	uint8_t out[16];
	struct aml a;

	(void)state;
	aml_init(&a, out, sizeof(out));
	aml_namestring(&a, "1ABC"); /* a NameSeg may not start with a digit */
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_init(&a, out, sizeof(out));
	aml_namestring(&a, "TOOLONG");
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_init(&a, out, sizeof(out));
	aml_eisaid(&a, "pnp0a03");
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_init(&a, out, sizeof(out));
	aml_string(&a, "A\nB"); /* control characters are refused */
	assert_int_equal(aml_finish(&a), -EINVAL);
	assert_int_equal(a.len, 0);
	aml_init(&a, out, sizeof(out));
	aml_arg(&a, 7);
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_init(&a, out, sizeof(out));
	aml_method(&a, "M", 8);
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_init(&a, out, sizeof(out));
	aml_res_interrupt(&a, 5, 1u << 4); /* wake capability is not offered */
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_init(&a, out, sizeof(out));
	aml_method(&a, "M", 0);
	assert_int_equal(aml_finish(&a), -EINVAL); /* left open */
	aml_init(&a, out, sizeof(out));
	aml_scope(&a, "_SB_");
	assert_int_equal(aml_finish(&a), -EINVAL); /* left open */
	aml_init(&a, out, sizeof(out));
	aml_end(&a);
	assert_int_equal(aml_finish(&a), -EINVAL); /* nothing to close */

	/* Too small: the first failure is latched and nothing past cap is written. */
	memset(out, 0xaa, sizeof(out));
	aml_init(&a, out, 8);
	aml_bytes(&a, "0123456789", 10);
	aml_byte(&a, 1);
	assert_int_equal(aml_finish(&a), -ENOSPC);
	assert_int_equal(a.len, 0);
	assert_int_equal(out[8], 0xaa);
}

/* Runs `iasl ARGS` in dir; fails the test on a non-zero exit or any error or warning. */
static void run_iasl(const char *iasl, const char *dir, const char *args)
{
	char cmd[1024], line[512];
	FILE *f;
	int st, bad = 0;

	snprintf(cmd, sizeof(cmd), "cd '%s' && '%s' %s 2>&1", dir, iasl, args);
	f = popen(cmd, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		/* The compiler's summary line names both words even when clean. */
		if (strstr(line, " 0 Errors, 0 Warnings"))
			continue;
		if (strstr(line, "Error") || strstr(line, "Warning")) {
			fprintf(stderr, "iasl %s: %s", args, line);
			bad = 1;
		}
	}
	st = pclose(f);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("iasl %s exited with status %d", args, st);
	if (bad)
		fail_msg("iasl %s reported errors or warnings", args);
}

/*
 * The disassembler is lenient (a truncated DSDT still disassembles), so the
 * .dsl is compiled back with optimizations off (-oa) and must give the same
 * bytes. Only the checksum and the creator fields (iasl puts its own) differ.
 */
static void check_roundtrip(const char *dir, const char *sig, const uint8_t *t, size_t len)
{
	char path[512];
	uint8_t *rt = malloc(len + 1);
	FILE *f;

	assert_non_null(rt);
	snprintf(path, sizeof(path), "%s/rt_%s.aml", dir, sig);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(rt, 1, len + 1, f), len);
	fclose(f);
	unlink(path);
	assert_memory_equal(rt, t, 9); /* signature, length, revision */
	assert_memory_equal(rt + 10, t + 10, 18); /* OEM id, table id, revision */
	assert_memory_equal(rt + 36, t + 36, len - 36);
	free(rt);
}

/* A tool from acpica-tools: $IASL, or NAME beside it, or NAME in PATH; NULL if none. */
static const char *acpica_tool(const char *name, char *buf, size_t len)
{
	const char *iasl = getenv("IASL");
	char cmd[256];

	if (iasl && *iasl && !strchr(iasl, '\'')) {
		const char *slash = strrchr(iasl, '/');

		if (!strcmp(name, "iasl"))
			return iasl;
		if (slash) {
			snprintf(buf, len, "%.*s/%s", (int)(slash - iasl), iasl, name);
			if (access(buf, X_OK) == 0)
				return buf;
		}
	}
	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", name);
	if (system(cmd) == 0) {
		snprintf(buf, len, "%s", name);
		return buf;
	}
	return NULL;
}

/* Writes every table of an ncpus build into dir as <SIG>.dat. */
static uint8_t *write_tables(const char *dir, unsigned int ncpus, struct acpi_blob *b)
{
	uint8_t *buf = build(ncpus, LAYOUT_ACPI, b);
	char path[512];

	for (unsigned int i = 0; i < b->ntables; i++) {
		const struct acpi_table_ref *t = &b->tables[i];
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s.dat", dir, t->sig);
		f = fopen(path, "wb");
		assert_non_null(f);
		assert_int_equal(fwrite(buf + t->offset, 1, t->length, f), t->length);
		assert_int_equal(fclose(f), 0);
	}
	return buf;
}

static void remove_tables(const char *dir, const struct acpi_blob *b)
{
	char path[512];

	for (unsigned int i = 0; i < b->ntables; i++) {
		snprintf(path, sizeof(path), "%s/%s.dat", dir, b->tables[i].sig);
		unlink(path);
		snprintf(path, sizeof(path), "%s/%s.dsl", dir, b->tables[i].sig);
		unlink(path);
	}
	rmdir(dir);
}

static void test_iasl(void **state)
{
	static const unsigned int counts[] = { 1, 4, ACPI_MAX_CPUS };
	char tool[512], dir[] = "/tmp/bulwark-acpi-XXXXXX", args[512];
	const char *iasl = acpica_tool("iasl", tool, sizeof(tool));

	(void)state;
	if (!iasl) {
		printf("SKIP: iasl not found (install acpica-tools or set IASL)\n");
		skip();
	}
	assert_non_null(mkdtemp(dir));
	for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		struct acpi_blob b;
		uint8_t *buf = write_tables(dir, counts[c], &b);

		for (unsigned int i = 0; i < b.ntables; i++) {
			const struct acpi_table_ref *t = &b.tables[i];

			/*
			 * iasl cannot load an RSDP from a binary file ("Loading an
			 * RSDP is not supported", ACPICA acfileio.c);
			 * test_checksums_lengths checks it field by field instead.
			 */
			if (!strcmp(t->sig, "RSDP"))
				continue;
			snprintf(args, sizeof(args), "-d %s.dat", t->sig);
			run_iasl(iasl, dir, args);
			snprintf(args, sizeof(args), "-oa -p rt_%s %s.dsl", t->sig, t->sig);
			run_iasl(iasl, dir, args);
			check_roundtrip(dir, t->sig, buf + t->offset, t->length);
		}
		if (c + 1 == sizeof(counts) / sizeof(counts[0]))
			remove_tables(dir, &b);
		free(buf);
	}
}

/* What acpiexec printed for one batch of commands. */
struct acpiexec_out {
	bool s5; /* \_S5 evaluated to a package starting with 5 */
	bool ged_crs; /* GED0._CRS: the extended interrupt descriptor for GSI_GED */
	bool ged_hid; /* GED0._HID: the string ACPI0013 */
	int notify; /* Notify (PWRB, 0x80) received by acpiexec's global handler */
};

/*
 * Runs acpiexec in batch mode on the tables of a 4-vCPU build with the
 * ';'-separated commands cmds; fails the test on any error or warning.
 */
static void run_acpiexec(const char *exec, const char *cmds, struct acpiexec_out *o)
{
	char dir[] = "/tmp/bulwark-acpi-XXXXXX", cmd[1536], line[512], crs[64];
	bool bad = false;
	struct acpi_blob b;
	uint8_t *buf;
	FILE *f;
	int st;

	memset(o, 0, sizeof(*o));
	snprintf(crs, sizeof(crs), "89 06 00 03 01 %02X 00 00 00 79 00", GSI_GED);
	assert_non_null(mkdtemp(dir));
	buf = write_tables(dir, 4, &b);
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && '%s' -b '%s' FACP.dat DSDT.dat APIC.dat XSDT.dat 2>&1 </dev/null",
		 dir, exec, cmds);
	f = popen(cmd, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "[Integer] = 0000000000000005"))
			o->s5 = true;
		if (strstr(line, "[Buffer]") && strstr(line, crs))
			o->ged_crs = true;
		if (strstr(line, "[String] Length 08 = \"ACPI0013\""))
			o->ged_hid = true;
		if (strstr(line, "Notify") && strstr(line, "[PWRB]") && strstr(line, "0x80"))
			o->notify++;
		if (strstr(line, "Error") || strstr(line, "Warning") || strstr(line, "AE_")) {
			fprintf(stderr, "acpiexec: %s", line);
			bad = true;
		}
	}
	st = pclose(f);
	remove_tables(dir, &b);
	free(buf);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("acpiexec exited with status %d", st);
	assert_false(bad);
}

/*
 * ACPICA's own interpreter (the code Linux runs) loads the FADT and DSDT,
 * builds the namespace and evaluates \_S5 and every _CRS without complaint;
 * the GED's _EVT notifies the power button for GSI_GED and for nothing else.
 * Each _EVT call gets its own run, so the count does not depend on when
 * ACPICA's notify dispatch prints.
 */
static void test_acpiexec(void **state)
{
	char tool[512], cmds[256];
	const char *exec = acpica_tool("acpiexec", tool, sizeof(tool));
	struct acpiexec_out o;

	(void)state;
	if (!exec) {
		printf("SKIP: acpiexec not found (install acpica-tools)\n");
		skip();
	}
	run_acpiexec(exec,
		     "evaluate \\_S5_; evaluate \\_SB.PCI0._CRS; evaluate \\_SB.COM1._CRS; "
		     "evaluate \\_SB.PWRB._HID; evaluate \\_SB.GED0._HID; "
		     "evaluate \\_SB.GED0._CRS",
		     &o);
	assert_true(o.s5);
	assert_true(o.ged_crs);
	assert_true(o.ged_hid);
	assert_int_equal(o.notify, 0);

	snprintf(cmds, sizeof(cmds), "evaluate \\_SB.GED0._EVT 0x%x", GSI_GED);
	run_acpiexec(exec, cmds, &o);
	assert_int_equal(o.notify, 1);

	/* Another interrupt number is not the power button. */
	snprintf(cmds, sizeof(cmds), "evaluate \\_SB.GED0._EVT 0x%x", GSI_GED - 1);
	run_acpiexec(exec, cmds, &o);
	assert_int_equal(o.notify, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checksums_lengths),
		cmocka_unit_test(test_pointer_chain),
		cmocka_unit_test(test_fadt_fields),
		cmocka_unit_test(test_dsdt_contents),
		cmocka_unit_test(test_dsdt_power_button),
		cmocka_unit_test(test_madt),
		cmocka_unit_test(test_bad_params),
		cmocka_unit_test(test_too_small),
		cmocka_unit_test(test_aml_pkglength),
		cmocka_unit_test(test_aml_encodings),
		cmocka_unit_test(test_aml_errors),
		cmocka_unit_test(test_iasl),
		cmocka_unit_test(test_acpiexec),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

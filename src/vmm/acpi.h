/* SPDX-License-Identifier: Apache-2.0 */
/* ACPI tables for a direct-boot guest: RSDP, XSDT, FADT (hardware-reduced), DSDT, MADT. */
#ifndef BULWARK_VMM_ACPI_H
#define BULWARK_VMM_ACPI_H

#include <stddef.h>
#include <stdint.h>

/*
 * Processor Local APIC entries hold 8-bit APIC ids and 0xff is the xAPIC
 * broadcast id, so ids 0..254 (ACPI 6.5 section 5.2.12.2).
 */
#define ACPI_MAX_CPUS 255

struct acpi_params {
	unsigned int ncpus; /* LAPIC ids 0 .. ncpus-1, all enabled; 1..ACPI_MAX_CPUS */
	uint64_t pci_mmio_base; /* 32-bit PCI window described by PCI0's _CRS */
	uint64_t pci_mmio_size; /* > 0; base + size must not pass 4 GiB */
};

/* One table as laid out in the buffer (for tests and --dump-acpi). */
struct acpi_table_ref {
	char sig[5];
	size_t offset; /* from the start of the buffer */
	size_t length;
};

#define ACPI_MAX_TABLES 8

struct acpi_blob {
	size_t used; /* bytes of buf filled */
	size_t rsdp_offset; /* RSDP is at base_gpa + rsdp_offset */
	unsigned int ntables;
	struct acpi_table_ref tables[ACPI_MAX_TABLES]; /* RSDP first */
};

/*
 * Builds every table into buf (len bytes), which the caller copies to guest
 * physical address base_gpa; all pointers inside the tables are absolute guest
 * physical addresses computed from base_gpa. Returns 0 and fills *out, or
 * -EINVAL for bad params (NULL p or out, buf NULL with len > 0, ncpus out of
 * range, empty or non-32-bit PCI window, base_gpa not 16-byte aligned as the
 * RSDP must be), -ENOSPC if buf is too small. buf contents are unspecified on
 * error (in practice buf is not written). On -ENOSPC, out->used is set to the
 * size needed and nothing else in *out is meaningful, so a caller may size a
 * buffer by calling with buf NULL and len 0.
 */
int acpi_build(const struct acpi_params *p, uint64_t base_gpa, uint8_t *buf, size_t len,
	       struct acpi_blob *out) __attribute__((warn_unused_result));

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* ACPI tables for a direct-boot guest: RSDP, XSDT, FADT (hardware-reduced), DSDT, MADT. */
#ifndef BULWARK_VMM_ACPI_H
#define BULWARK_VMM_ACPI_H

#include <stddef.h>
#include <stdint.h>

struct acpi_params {
	unsigned int ncpus; /* LAPIC ids 0 .. ncpus-1, all enabled */
	uint64_t pci_mmio_base; /* 32-bit PCI window described by PCI0's _CRS */
	uint64_t pci_mmio_size;
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
 * -EINVAL for bad params, -ENOSPC if buf is too small. buf contents are
 * unspecified on error.
 */
int acpi_build(const struct acpi_params *p, uint64_t base_gpa, uint8_t *buf, size_t len,
	       struct acpi_blob *out) __attribute__((warn_unused_result));

#endif

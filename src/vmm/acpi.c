// SPDX-License-Identifier: Apache-2.0
/*
 * ACPI tables for a direct-boot guest: RSDP, XSDT, a hardware-reduced FADT, a
 * DSDT (sleep type, PCI host bridge, COM1, power button behind a Generic Event
 * Device) and a MADT. Section numbers: ACPI 6.5.
 */
#include "acpi.h"

#include <errno.h>
#include <string.h>

#include "aml.h"
#include "layout.h"

#define ACPI_OEM_ID "BLWARK"
#define ACPI_OEM_TABLE_ID "BULWARK "
#define ACPI_OEM_REVISION 1
#define ACPI_CREATOR_ID "BLWK"
#define ACPI_CREATOR_REVISION 2 /* bump when the table contents change */

#define ACPI_HDR_LEN 36 /* System Description Table Header, 5.2.6 */
#define RSDP_LEN 36 /* 5.2.5.3; the ACPI 1.0 part is the first 20 bytes */
#define RSDP_V1_LEN 20
#define XSDT_NENTRIES 2 /* FADT, MADT; the DSDT hangs off the FADT */
#define XSDT_LEN (ACPI_HDR_LEN + 8 * XSDT_NENTRIES)
#define FADT_LEN 276 /* ACPI 6.0 and later, up to Hypervisor Vendor Identity */
#define MADT_LAPIC_LEN 8
#define MADT_IOAPIC_LEN 12
#define MADT_ISO_LEN 10
#define MADT_LAPIC_NMI_LEN 6
#define MADT_FIXED_LEN (ACPI_HDR_LEN + 8 + MADT_IOAPIC_LEN + MADT_ISO_LEN + MADT_LAPIC_NMI_LEN)
#define DSDT_AML_MAX 512 /* the AML below is ~380 bytes whatever the params */

/* Table revisions for ACPI 6.5. */
#define XSDT_REVISION 1
#define FADT_REVISION 6
#define FADT_MINOR_REVISION 5
#define DSDT_REVISION 2 /* >= 2: AML integers are 64-bit (5.2.11.1) */
#define MADT_REVISION 5

/* FADT field offsets, table 5.9. */
#define FADT_FIRMWARE_CTRL 36
#define FADT_PREFERRED_PM_PROFILE 45
#define FADT_P_LVL2_LAT 96
#define FADT_P_LVL3_LAT 98
#define FADT_IAPC_BOOT_ARCH 109
#define FADT_FLAGS 112
#define FADT_RESET_REG 116
#define FADT_RESET_VALUE 128
#define FADT_MINOR_VERSION 131
#define FADT_X_DSDT 140
#define FADT_SLEEP_CONTROL_REG 244
#define FADT_SLEEP_STATUS_REG 256
#define FADT_HYPERVISOR_VENDOR 268

/*
 * IAPC_BOOT_ARCH (5.2.9.3). LEGACY_DEVICES and 8042 stay clear: there is no
 * ISA/LPC bus to enumerate and no keyboard controller (port 0x64 only takes
 * the reset command), so Linux skips PnP BIOS and i8042 probing. No VGA, no
 * CMOS RTC (ports 0x70/0x71 are not emulated), no PCIe ASPM. MSI stays
 * allowed: virtio-pci uses MSI-X.
 */
#define IAPC_NO_VGA (1u << 2)
#define IAPC_NO_ASPM (1u << 4)
#define IAPC_NO_CMOS_RTC (1u << 5)
#define FADT_IAPC_FLAGS (IAPC_NO_VGA | IAPC_NO_ASPM | IAPC_NO_CMOS_RTC)

/*
 * FADT flags (table 5.10). WBINVD is required of new systems. PWR_BUTTON and
 * SLP_BUTTON set mean "no fixed-feature button", true of hardware-reduced.
 * HW_REDUCED_ACPI: no PM1/GPE blocks, no SCI, no PM timer; power state
 * changes go through SLEEP_CONTROL_REG/SLEEP_STATUS_REG (4.1, 7.4.3).
 */
#define FADT_F_WBINVD (1u << 0)
#define FADT_F_PWR_BUTTON (1u << 4)
#define FADT_F_SLP_BUTTON (1u << 5)
#define FADT_F_RESET_REG_SUP (1u << 10)
#define FADT_F_HW_REDUCED_ACPI (1u << 20)
#define FADT_FLAGS_VALUE (FADT_F_WBINVD | FADT_F_PWR_BUTTON | FADT_F_SLP_BUTTON | \
			  FADT_F_RESET_REG_SUP | FADT_F_HW_REDUCED_ACPI)

/* Generic Address Structure (5.2.3.2). */
#define GAS_SYSTEM_IO 1
#define GAS_ACCESS_BYTE 1

/* MADT (5.2.12): structure types and flags. */
#define MADT_TYPE_LAPIC 0
#define MADT_TYPE_IOAPIC 1
#define MADT_TYPE_ISO 2
#define MADT_TYPE_LAPIC_NMI 4
#define MADT_LAPIC_ENABLED 1
#define MADT_ALL_PROCESSORS 0xff
#define MADT_LINT1 1
#define ISA_BUS 0

/*
 * KVM's in-kernel IOAPIC has 24 pins (GSIs 0-23, MADT below). Keeping the GED out of
 * the ISA range (0-15) means Linux programs the pin from the _CRS flags alone: no
 * Interrupt Source Override is needed and no 8259 input is shared.
 */
_Static_assert(GSI_GED >= 16 && GSI_GED < 24, "GSI_GED must be a non-ISA IOAPIC pin");

/* Notify value for a control method power button: "pressed" (4.8.2.2.1.2, 5.6.6). */
#define ACPI_NOTIFY_POWER_BUTTON 0x80

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Value that makes the bytes sum to zero mod 256 (5.2.6). */
static uint8_t acpi_checksum(const uint8_t *p, size_t n)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < n; i++)
		sum = (uint8_t)(sum + p[i]);
	return (uint8_t)-sum;
}

static void acpi_header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	put32(t + 4, len);
	t[8] = rev;
	memcpy(t + 10, ACPI_OEM_ID, 6);
	memcpy(t + 16, ACPI_OEM_TABLE_ID, 8);
	put32(t + 24, ACPI_OEM_REVISION);
	memcpy(t + 28, ACPI_CREATOR_ID, 4);
	put32(t + 32, ACPI_CREATOR_REVISION);
}

/* Called last, once the body is written. */
static void acpi_seal(uint8_t *t, uint32_t len)
{
	t[9] = 0;
	t[9] = acpi_checksum(t, len);
}

static void acpi_gas_io8(uint8_t *g, uint16_t port)
{
	g[0] = GAS_SYSTEM_IO;
	g[1] = 8; /* register bit width */
	g[2] = 0; /* bit offset */
	g[3] = GAS_ACCESS_BYTE;
	put64(g + 4, port);
}

static size_t align8(size_t v)
{
	return (v + 7) & ~(size_t)7;
}

static void acpi_rsdp(uint8_t *t, uint64_t xsdt_gpa)
{
	memcpy(t, "RSD PTR ", 8);
	memcpy(t + 9, ACPI_OEM_ID, 6);
	t[15] = 2; /* revision 2: XSDT present */
	put32(t + 16, 0); /* no RSDT: every OS we boot reads the XSDT */
	put32(t + 20, RSDP_LEN);
	put64(t + 24, xsdt_gpa);
	t[8] = acpi_checksum(t, RSDP_V1_LEN);
	t[32] = acpi_checksum(t, RSDP_LEN);
}

static void acpi_xsdt(uint8_t *t, uint64_t fadt_gpa, uint64_t madt_gpa)
{
	acpi_header(t, "XSDT", XSDT_LEN, XSDT_REVISION);
	put64(t + ACPI_HDR_LEN, fadt_gpa);
	put64(t + ACPI_HDR_LEN + 8, madt_gpa);
	acpi_seal(t, XSDT_LEN);
}

static void acpi_fadt(uint8_t *t, uint64_t dsdt_gpa)
{
	acpi_header(t, "FACP", FADT_LEN, FADT_REVISION);
	/*
	 * FIRMWARE_CTRL and X_FIRMWARE_CTRL stay zero: a hardware-reduced
	 * platform may omit the FACS (5.2.9). The 32-bit DSDT field stays zero
	 * too: X_DSDT supersedes it and ACPICA warns when both are set.
	 */
	t[FADT_PREFERRED_PM_PROFILE] = 0; /* unspecified */
	/* Latencies above 100 / 1000 us mean "C2 / C3 not supported" (table 5.9). */
	put16(t + FADT_P_LVL2_LAT, 0x0fff);
	put16(t + FADT_P_LVL3_LAT, 0x0fff);
	put16(t + FADT_IAPC_BOOT_ARCH, FADT_IAPC_FLAGS);
	put32(t + FADT_FLAGS, FADT_FLAGS_VALUE);
	acpi_gas_io8(t + FADT_RESET_REG, PORT_ACPI_RESET);
	t[FADT_RESET_VALUE] = ACPI_RESET_VALUE;
	t[FADT_MINOR_VERSION] = FADT_MINOR_REVISION;
	put64(t + FADT_X_DSDT, dsdt_gpa);
	acpi_gas_io8(t + FADT_SLEEP_CONTROL_REG, PORT_ACPI_SLEEP_CTL);
	acpi_gas_io8(t + FADT_SLEEP_STATUS_REG, PORT_ACPI_SLEEP_STS);
	memcpy(t + FADT_HYPERVISOR_VENDOR, "BULWARK ", 8);
	acpi_seal(t, FADT_LEN);
}

/* Ends resource template r (built in res) and emits it as the current scope's _CRS. */
static int put_crs(struct aml *a, struct aml *r, const uint8_t *res)
{
	int err;

	aml_res_end(r);
	err = aml_finish(r);
	if (err)
		return err;
	aml_name(a, "_CRS");
	aml_buffer(a, res, r->len);
	return 0;
}

/* The DSDT's AML, into aml[DSDT_AML_MAX]. Returns its length or -errno. */
static int acpi_dsdt_aml(const struct acpi_params *p, uint8_t *aml)
{
	uint8_t res[128];
	struct aml a, r;
	int err;

	aml_init(&a, aml, DSDT_AML_MAX);

	/*
	 * \_S5: {SLP_TYPa, SLP_TYPb, reserved, reserved} (7.4.2). On power-off
	 * OSPM writes SLP_TYPa << 2 | SLP_EN to SLEEP_CONTROL_REG (4.8.3.7).
	 */
	aml_name(&a, "\\_S5_");
	aml_package(&a, 4);
	aml_integer(&a, ACPI_S5_SLP_TYP);
	aml_integer(&a, 0);
	aml_integer(&a, 0);
	aml_integer(&a, 0);
	aml_end(&a);

	aml_scope(&a, "\\_SB_");

	/* Conventional PCI host bridge on type-1 config ports (9.14 / PCI FW 3.x). */
	aml_device(&a, "PCI0");
	aml_name(&a, "_HID");
	aml_eisaid(&a, "PNP0A03");
	aml_name(&a, "_UID");
	aml_integer(&a, 0);
	aml_name(&a, "_SEG");
	aml_integer(&a, 0);
	aml_name(&a, "_BBN");
	aml_integer(&a, 0);
	aml_init(&r, res, sizeof(res));
	aml_res_bus_window(&r, 0, 0);
	/* The bridge consumes the config ports and passes every other port down. */
	aml_res_io(&r, PORT_PCI_CONFIG_ADDR, 8);
	aml_res_io_window(&r, 0x0000, PORT_PCI_CONFIG_ADDR - 1);
	aml_res_io_window(&r, PORT_PCI_CONFIG_ADDR + 8, 0xffff);
	aml_res_mem32_window(&r, (uint32_t)p->pci_mmio_base,
			     (uint32_t)(p->pci_mmio_base + p->pci_mmio_size - 1));
	err = put_crs(&a, &r, res);
	if (err)
		return err;
	aml_end(&a);

	/* 16550 UART on COM1; the VMM's 8250 model raises ISA IRQ 4. */
	aml_device(&a, "COM1");
	aml_name(&a, "_HID");
	aml_eisaid(&a, "PNP0501");
	aml_name(&a, "_UID");
	aml_integer(&a, 0);
	aml_init(&r, res, sizeof(res));
	aml_res_io(&r, PORT_COM1, 8);
	aml_res_irq(&r, 1u << PORT_COM1_IRQ);
	err = put_crs(&a, &r, res);
	if (err)
		return err;
	aml_end(&a);

	/*
	 * Control method power button (4.8.2.2.1.2): FADT flag PWR_BUTTON says there
	 * is no fixed-feature one, so OSPM looks for PNP0C0C in the namespace.
	 */
	aml_device(&a, "PWRB");
	aml_name(&a, "_HID");
	aml_eisaid(&a, "PNP0C0C");
	aml_name(&a, "_UID");
	aml_integer(&a, 0);
	aml_end(&a);

	/*
	 * Generic Event Device (5.6.9): how a hardware-reduced platform, with no SCI
	 * and no GPE blocks, signals events. OSPM takes the interrupt from _CRS and
	 * runs _EVT(GSI) when it fires (5.6.9.3). Edge-triggered: the VMM pulses the
	 * line and there is no status register for _EVT to clear.
	 */
	aml_device(&a, "GED0");
	aml_name(&a, "_HID");
	aml_string(&a, "ACPI0013");
	aml_name(&a, "_UID");
	aml_integer(&a, 0);
	aml_init(&r, res, sizeof(res));
	aml_res_interrupt(&r, GSI_GED, AML_IRQ_EDGE);
	err = put_crs(&a, &r, res);
	if (err)
		return err;
	aml_method(&a, "_EVT", 1);
	aml_if(&a);
	aml_lequal(&a);
	aml_arg(&a, 0);
	aml_integer(&a, GSI_GED);
	aml_notify(&a, "\\_SB_.PWRB", ACPI_NOTIFY_POWER_BUTTON);
	aml_end(&a); /* If */
	aml_end(&a); /* _EVT */
	aml_end(&a); /* GED0 */

	aml_end(&a); /* \_SB_ */
	err = aml_finish(&a);
	return err ? err : (int)a.len;
}

static void acpi_dsdt(uint8_t *t, const uint8_t *aml, size_t aml_len)
{
	uint32_t len = (uint32_t)(ACPI_HDR_LEN + aml_len);

	acpi_header(t, "DSDT", len, DSDT_REVISION);
	memcpy(t + ACPI_HDR_LEN, aml, aml_len);
	acpi_seal(t, len);
}

static size_t acpi_madt_len(unsigned int ncpus)
{
	return MADT_FIXED_LEN + (size_t)ncpus * MADT_LAPIC_LEN;
}

static void acpi_madt(uint8_t *t, unsigned int ncpus)
{
	uint32_t len = (uint32_t)acpi_madt_len(ncpus);
	uint8_t *e = t + ACPI_HDR_LEN;

	acpi_header(t, "APIC", len, MADT_REVISION);
	put32(e, (uint32_t)LAYOUT_LAPIC);
	/*
	 * PCAT_COMPAT clear: a hardware-reduced guest uses no 8259 (Linux
	 * installs its null PIC), so we do not advertise one even though
	 * KVM's in-kernel irqchip models it.
	 */
	put32(e + 4, 0);
	e += 8;

	/* Processor Local APIC (5.2.12.2): UID == APIC id == vCPU index. */
	for (unsigned int i = 0; i < ncpus; i++) {
		e[0] = MADT_TYPE_LAPIC;
		e[1] = MADT_LAPIC_LEN;
		e[2] = (uint8_t)i;
		e[3] = (uint8_t)i;
		put32(e + 4, MADT_LAPIC_ENABLED);
		e += MADT_LAPIC_LEN;
	}

	/* I/O APIC (5.2.12.3): id 0, its 24 pins are GSIs 0-23. */
	e[0] = MADT_TYPE_IOAPIC;
	e[1] = MADT_IOAPIC_LEN;
	e[2] = 0;
	e[3] = 0;
	put32(e + 4, (uint32_t)LAYOUT_IOAPIC);
	put32(e + 8, 0);
	e += MADT_IOAPIC_LEN;

	/*
	 * Interrupt Source Override (5.2.12.5): the PIT's ISA IRQ 0 arrives on
	 * IOAPIC pin 2, as on PC hardware; polarity/trigger conform to ISA.
	 */
	e[0] = MADT_TYPE_ISO;
	e[1] = MADT_ISO_LEN;
	e[2] = ISA_BUS;
	e[3] = 0;
	put32(e + 4, 2);
	put16(e + 8, 0);
	e += MADT_ISO_LEN;

	/* Local APIC NMI (5.2.12.7): NMIs come in on LINT1 of every processor. */
	e[0] = MADT_TYPE_LAPIC_NMI;
	e[1] = MADT_LAPIC_NMI_LEN;
	e[2] = MADT_ALL_PROCESSORS;
	put16(e + 3, 0);
	e[5] = MADT_LINT1;

	acpi_seal(t, len);
}

static int acpi_check_params(const struct acpi_params *p, uint64_t base_gpa)
{
	if (p->ncpus == 0 || p->ncpus > ACPI_MAX_CPUS)
		return -EINVAL;
	if (p->pci_mmio_size == 0 || p->pci_mmio_base >= LAYOUT_4G ||
	    p->pci_mmio_size > LAYOUT_4G - p->pci_mmio_base ||
	    p->pci_mmio_size > UINT32_MAX)
		return -EINVAL;
	/* The legacy RSDP scan looks only at 16-byte boundaries (5.2.5.1). */
	if (base_gpa & 15)
		return -EINVAL;
	return 0;
}

static void acpi_ref(struct acpi_blob *out, const char *sig, size_t off, size_t len)
{
	struct acpi_table_ref *r = &out->tables[out->ntables++];

	memcpy(r->sig, sig, 4);
	r->sig[4] = '\0';
	r->offset = off;
	r->length = len;
}

int acpi_build(const struct acpi_params *p, uint64_t base_gpa, uint8_t *buf, size_t len,
	       struct acpi_blob *out)
{
	uint8_t aml[DSDT_AML_MAX];
	size_t xsdt, fadt, dsdt, dsdt_len, madt, madt_len, total;
	int aml_len, err;

	if (!p || !out || (!buf && len))
		return -EINVAL;
	err = acpi_check_params(p, base_gpa);
	if (err)
		return err;
	aml_len = acpi_dsdt_aml(p, aml);
	if (aml_len < 0)
		return aml_len;

	xsdt = align8(RSDP_LEN) + 8; /* keep XSDT 16-byte aligned like the RSDP */
	fadt = align8(xsdt + XSDT_LEN);
	dsdt = align8(fadt + FADT_LEN);
	dsdt_len = ACPI_HDR_LEN + (size_t)aml_len;
	madt = align8(dsdt + dsdt_len);
	madt_len = acpi_madt_len(p->ncpus);
	total = madt + madt_len;
	if (base_gpa > UINT64_MAX - total)
		return -EINVAL;
	if (len < total) {
		out->used = total;
		return -ENOSPC;
	}

	memset(buf, 0, total);
	acpi_rsdp(buf, base_gpa + xsdt);
	acpi_xsdt(buf + xsdt, base_gpa + fadt, base_gpa + madt);
	acpi_fadt(buf + fadt, base_gpa + dsdt);
	acpi_dsdt(buf + dsdt, aml, (size_t)aml_len);
	acpi_madt(buf + madt, p->ncpus);

	memset(out, 0, sizeof(*out));
	out->used = total;
	out->rsdp_offset = 0;
	acpi_ref(out, "RSDP", 0, RSDP_LEN);
	acpi_ref(out, "XSDT", xsdt, XSDT_LEN);
	acpi_ref(out, "FACP", fadt, FADT_LEN);
	acpi_ref(out, "DSDT", dsdt, dsdt_len);
	acpi_ref(out, "APIC", madt, madt_len);
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The guest's physical address map and I/O port map: one place, shared by boot, ACPI and devices. */
#ifndef BULWARK_VMM_LAYOUT_H
#define BULWARK_VMM_LAYOUT_H

/* Low memory used by the direct 64-bit boot (no firmware runs). */
#define LAYOUT_GDT 0x500ULL
#define LAYOUT_ZERO_PAGE 0x7000ULL /* struct boot_params */
#define LAYOUT_BOOT_STACK 0x8ff0ULL
#define LAYOUT_PML4 0x9000ULL
#define LAYOUT_PDPT 0xa000ULL
#define LAYOUT_PD 0xb000ULL /* four pages, identity map of 4 GiB with 2 MiB pages */
#define LAYOUT_CMDLINE 0x20000ULL
#define LAYOUT_CMDLINE_MAX 4096U
#define LAYOUT_EBDA 0x9fc00ULL /* end of conventional RAM in the e820 map */
#define LAYOUT_ACPI 0xe0000ULL /* RSDP and tables; inside the legacy RSDP scan window */
#define LAYOUT_ACPI_SIZE 0x1f000ULL /* reserved in e820 with the reset vector page */
/*
 * The x86 reset vector, F000:FFF0. There is no firmware, but Linux jumps here as its
 * last way to reboot (machine_real_restart), which it reaches first on a
 * hardware-reduced ACPI machine without EFI: a few bytes here write the ACPI reset
 * register instead, so every reboot path ends at PORT_ACPI_RESET.
 */
#define LAYOUT_RESET_VECTOR 0xffff0ULL
#define LAYOUT_HIMEM 0x100000ULL /* the protected-mode kernel is loaded here */

/* The 32-bit hole below 4 GiB: PCI BARs, IOAPIC, LAPIC, KVM's private pages. */
#define LAYOUT_MMIO32_START 0xc0000000ULL
#define LAYOUT_PCI_MMIO_START 0xc0000000ULL
#define LAYOUT_PCI_MMIO_SIZE 0x3ec00000ULL /* up to the IOAPIC */
#define LAYOUT_IOAPIC 0xfec00000ULL
#define LAYOUT_LAPIC 0xfee00000ULL
#define LAYOUT_KVM_IDENTITY_MAP 0xfffbc000ULL
#define LAYOUT_KVM_TSS 0xfffbd000ULL
#define LAYOUT_4G 0x100000000ULL

/* I/O ports we emulate. */
#define PORT_COM1 0x3f8
#define PORT_COM1_IRQ 4
#define PORT_BOOT_TIMER 0x440 /* guest writes BOOT_TIMER_MAGIC when init starts */
#define BOOT_TIMER_MAGIC 123
#define PORT_ACPI_SLEEP_CTL 0x600 /* FADT SLEEP_CONTROL_REG (hardware-reduced ACPI) */
#define PORT_ACPI_SLEEP_STS 0x601 /* FADT SLEEP_STATUS_REG */
#define PORT_ACPI_RESET 0x602 /* FADT RESET_REG */
#define ACPI_RESET_VALUE 0x0f
#define ACPI_S5_SLP_TYP 5 /* the DSDT's \_S5 value; SLP_EN is bit 5 of SLEEP_CONTROL_REG */
#define PORT_PCI_CONFIG_ADDR 0xcf8
#define PORT_PCI_CONFIG_DATA 0xcfc
#define PORT_I8042 0x64 /* only the 0xfe "pulse reset line" command is honoured */

/*
 * Interrupt lines (GSIs, i.e. IOAPIC pins) of platform devices. GSI_GED: the ACPI Generic
 * Event Device's edge-triggered interrupt (the power button). Above the ISA range so it
 * needs no MADT override and no 8259 pin, and kept off 16-19, where PCI INTx would go.
 */
#define GSI_GED 23

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A tiny guest in bzImage form for fast tests of the VMM's mechanics on any
 * /dev/kvm (no Linux needed): a valid boot header, then 64-bit code at the
 * protected-mode entry (+0x200) that talks to our emulated ports. The
 * variant is chosen at build time with -DTINY_<NAME>.
 */
#define COM1 0x3f8
#define BOOT_TIMER 0x440
#define SLEEP_CTL 0x600
#define RESET_REG 0x602
#define PM_START 0x400 /* (setup_sects + 1) * 512 */

	.section .text
	.code16
	.globl _start
_start:
	.org 0x1f1
	.byte 1 /* setup_sects */
	.word 0 /* root_flags */
	.long (pm_end - pm_start) / 16 /* syssize */
	.word 0 /* ram_size */
	.word 0xffff /* vid_mode */
	.word 0 /* root_dev */
	.word 0xaa55 /* boot_flag */
	.byte 0xeb, 0x6a /* jump over the header: its end is 0x202 + 0x6a = hdr_end */
	.ascii "HdrS"
	.word 0x020f /* version */
	.long 0 /* realmode_swtch */
	.word 0 /* start_sys_seg */
	.word 0 /* kernel_version */
	.byte 0 /* type_of_loader */
	.byte 0x01 /* loadflags: LOADED_HIGH */
	.word 0 /* setup_move_size */
	.long 0x100000 /* code32_start */
	.long 0 /* ramdisk_image */
	.long 0 /* ramdisk_size */
	.long 0 /* bootsect_kludge */
	.word 0 /* heap_end_ptr */
	.byte 0 /* ext_loader_ver */
	.byte 0 /* ext_loader_type */
	.long 0 /* cmd_line_ptr */
	.long 0x7fffffff /* initrd_addr_max */
	.long 0x1000 /* kernel_alignment */
	.byte 1 /* relocatable_kernel */
	.byte 0 /* min_alignment */
	.word 0x0001 /* xloadflags: XLF_KERNEL_64 */
	.long 255 /* cmdline_size */
	.long 0 /* hardware_subarch */
	.quad 0 /* hardware_subarch_data */
	.long 0 /* payload_offset */
	.long 0 /* payload_length */
	.quad 0 /* setup_data */
	.quad 0x100000 /* pref_address */
	.long 0x10000 /* init_size */
	.long 0 /* handover_offset */
	.long 0 /* kernel_info_offset */
hdr_end: /* 0x26c */
	.org PM_START

pm_start:
	.code64
	.org PM_START + 0x200 /* the 64-bit entry point */
entry64:
	/* RSI points at boot_params; keep it in RBX. */
	mov %rsi, %rbx
	lea banner(%rip), %rsi
	call puts
	mov $BOOT_TIMER, %dx
	mov $123, %al
	out %al, %dx

#if defined(TINY_POWEROFF)
	/* Echo the command line so the test can check boot_params. */
	lea cmdline_lbl(%rip), %rsi
	call puts
	mov 0x228(%rbx), %esi /* hdr.cmd_line_ptr */
	call puts
	mov $'\n', %al
	call putc
	mov $SLEEP_CTL, %dx
	mov $((5 << 2) | (1 << 5)), %al /* SLP_TYP=5, SLP_EN */
	out %al, %dx
#elif defined(TINY_RESET)
	mov $RESET_REG, %dx
	mov $0x0f, %al
	out %al, %dx
#elif defined(TINY_TRIPLE_FAULT)
	/* The IDT limit is 0 at entry: any exception escalates to a triple fault. */
	ud2
#elif defined(TINY_HANG)
	/* Spin forever: for the signal test. */
1:	pause
	jmp 1b
#else
#error "choose a TINY_ variant"
#endif
2:	hlt
	jmp 2b

/* Writes the NUL-terminated string at RSI to COM1. */
puts:
	lodsb
	test %al, %al
	jz 1f
	call putc
	jmp puts
1:	ret

putc:
	mov $COM1, %dx
	out %al, %dx
	ret

banner:
	.asciz "tiny: hello from the guest\n"
cmdline_lbl:
	.asciz "tiny: cmdline="
	.balign 16
pm_end:

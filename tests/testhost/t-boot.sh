#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The stock Debian cloud kernel boots under bulwark-vmm with N vCPUs to the agent (/init
# of an initramfs carrying the kernel's own virtio modules), sees N CPUs, an IOAPIC and
# ACPI, and powers off: exit status 0 within a second of the guest's power-off.
# Usage: t-boot.sh CPUS [VMM]   (VMM: bulwark (default), qemu-q35: the reference run)
. "$(dirname "$0")/lib.sh"
cpus=${1:-1}
vmm=${2:-bulwark}
if [ "$vmm" = bulwark ]; then
	th_need_vmm
else
	[ -n "${QEMU:-}" ] || th_skip "QEMU is not in this test host (run.sh --qemu)"
fi
boot_guest "$vmm" "$cpus" 512 "bulwark.test=boot"
expect '^BULWARK-AGENT: init$' "the agent ran as init"
expect_value test boot
expect '^BULWARK-AGENT: kernel=[0-9]+\.[0-9]+\.[0-9]+-.*-cloud-amd64$' "a Debian cloud kernel"
expect_value nproc "$cpus"
expect_value ioapic yes
expect_value acpi yes
expect '^BULWARK-AGENT: modules=[1-9][0-9]* failed=0$' "the initramfs' own modules loaded"
expect_value result pass
expect '^BULWARK-AGENT: poweroff$' "the guest powered off"
expect_status 0
if [ "$vmm" = bulwark ]; then
	expect '^bulwark-vmm: timing: first-kvm-run-us=[0-9]+$' "exec-to-first-KVM_RUN timing line"
	# Under the nested host's TCG, ring-3 port I/O can fault (see tests/guest/agent.c);
	# the agent says which happened and the VMM must report the write when there was one.
	if grep -q '^BULWARK-AGENT: boot-timer=written$' "$TH_OUT"; then
		expect '^bulwark-vmm: timing: guest-init-us=[0-9]+$' "boot-timer timing line"
	else
		echo "NOTE: the agent could not write the boot-timer port here; not checking guest-init-us"
	fi
	exit_us=$(delta "$t_poweroff" "$t_exit")
	case $exit_us in
	\?) fail "cannot time the exit: no 'reboot: Power down' line or no exit" ;;
	*) [ "$exit_us" -le 1000000 ] || fail "exited ${exit_us} us after the guest's power-off (limit 1 s)" ;;
	esac
fi
th_finish

#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# A guest that triple-faults ends bulwark-vmm with exit status 1 and a line naming the
# triple fault. The stock kernel faults for real: with reboot=t Linux reboots by loading
# an empty IDT and raising int3, and the agent asks it to reboot.
. "$(dirname "$0")/lib.sh"
th_need_vmm
BOOT_TIMEOUT=120 boot_guest bulwark 1 512 "reboot=t bulwark.test=triplefault"
expect '^BULWARK-AGENT: init$' "the guest booted"
expect '^BULWARK-AGENT: triplefault$' "the agent asked for the triple-fault reboot"
grep -v '^BULWARK-AGENT' "$TH_OUT" | grep -qi 'triple fault' || fail "no line from the VMM names the triple fault"
expect_status 1
th_finish

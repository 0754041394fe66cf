#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# A guest reboot ends bulwark-vmm with its documented reboot status (5, the default
# --on-reboot exit) rather than hanging or being taken for a power-off.
. "$(dirname "$0")/lib.sh"
th_need_vmm
BOOT_TIMEOUT=90 boot_guest bulwark 1 512 "bulwark.test=reboot"
expect '^BULWARK-AGENT: init$' "the guest booted"
expect '^BULWARK-AGENT: reboot$' "the agent asked for a reboot"
expect_status 5
th_finish

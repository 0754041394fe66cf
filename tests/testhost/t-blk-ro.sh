#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# A read-only disk (--disk path=...,ro): the guest sees it read-only and cannot open it
# for writing, and the image is byte-for-byte unchanged after the guest ran.
. "$(dirname "$0")/lib.sh"
th_need_vmm
img=${TMPDIR:-/tmp}/bulwark-ro.$$.img
dd if=/dev/urandom of="$img" bs=1M count=4 2>/dev/null || th_skip "cannot create an image"
before=$(md5sum < "$img")
VMM_ARGS="--disk path=$img,ro" \
	boot_guest bulwark 1 512 "bulwark.test=checks bulwark.checks=blk-info,blk-ro"
expect '^BULWARK-AGENT: blk-info=vda sectors=8192 serial=- ro=1$' "a read-only 4 MiB disk"
expect '^BULWARK-AGENT: blk-ro-write=refused' "writing to it is refused"
expect_value result pass
expect_status 0
[ "$(md5sum < "$img")" = "$before" ] || fail "the read-only image changed"
rm -f "$img"
th_finish

#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# A 2 GiB sparse image: the guest sees 4194304 sectors and writes its pattern to the last
# MiB; the host file holds it there, and stays sparse (the VMM allocated nothing else).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/blk.sh"
th_need_vmm
img=${TMPDIR:-/tmp}/bulwark-sparse.$$.img
truncate -s 2G "$img" || th_skip "cannot create a sparse 2 GiB image"
off=$((2048 * 1024 * 1024 - 1024 * 1024))
VMM_ARGS="--disk path=$img" boot_guest bulwark 1 512 \
	"bulwark.test=checks bulwark.checks=blk-info,blk-write bulwark.blk-off=$off"
expect '^BULWARK-AGENT: blk-info=vda sectors=4194304 ' "capacity 2 GiB"
expect "^BULWARK-AGENT: blk-write=ok off=$off len=1048576\$" "pattern in the last MiB"
expect_value result pass
expect_status 0
expect_sector "$img" 4192256
expect_sector "$img" 4194303
expect_zero_sector "$img" 4192255
kib=$(du -k "$img" | cut -f1)
[ "$kib" -le 8192 ] || fail "the image is no longer sparse: $kib KiB allocated"
rm -f "$img"
th_finish

#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# A hostile guest driver (issue 4): the agent's virtq-attack test takes the second
# virtio-blk disk (slot 2) away from Linux, drives it from user space through its BAR
# and feeds it broken virtqueues. Every attack must end in DEVICE_NEEDS_RESET with one
# VMM line naming the broken rule, a reset must bring the device back (for us, then for
# Linux's own driver), and the first disk and virtio-rng must go on working; the VMM
# exits 0 at power-off.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/blk.sh"
th_need_vmm
img=${TMPDIR:-/tmp}/bulwark-attack.$$.img
victim=${TMPDIR:-/tmp}/bulwark-victim.$$.img
truncate -s 16M "$img" "$victim" || th_skip "cannot create two 16 MiB images in ${TMPDIR:-/tmp}"
VMM_ARGS="--disk path=$img --disk path=$victim --rng" \
	boot_guest bulwark 1 512 "bulwark.test=virtq-attack bulwark.attack-pci=0000:00:02.0 bulwark.checks=blk-write,hwrng"
expect '^BULWARK-AGENT: virtq-attack-target=0000:00:02.0 type=2 ' "the victim is the second disk"
expect '^BULWARK-AGENT: virtq-attack-control=ok when=before$' "a well-formed request works on our rings"
# name:the rule virtq.c must name for it
for a in "loop:descriptor chain loops" "long-chain:descriptor chain loops" \
	"head-oob:avail ring names a descriptor beyond the queue" \
	"next-oob:descriptor's next is beyond the queue" \
	"addr-1tib:descriptor points outside guest RAM" "addr-wrap:descriptor points outside guest RAM" \
	"len-huge:descriptor points outside guest RAM" \
	"avail-ahead:avail index ran more than a queue ahead" \
	"read-after-write:readable descriptor after a writable one" "indirect:indirect descriptor"; do
	name=${a%%:*} why=${a#*:}
	expect "^BULWARK-AGENT: virtq-attack=$name status=0x[0-9a-f]+ needs-reset=yes$" "$name: NEEDS_RESET"
	expect "^bulwark-vmm: virtio-blk in slot 2: $why.*; device needs reset$" "$name: the VMM names the rule"
done
n=$(grep -c '^bulwark-vmm: virtio-blk in slot 2: .*; device needs reset$' "$TH_OUT")
[ "$n" -eq 10 ] || fail "$n needs-reset lines from the VMM, expected one per attack (10)"
if grep -q '^bulwark-vmm: .* in slot [13]: .*needs reset' "$TH_OUT"; then
	fail "a device that was not attacked was marked broken"
fi
expect '^BULWARK-AGENT: virtq-attack=ring-oob queue-enable=0$' "rings outside RAM: queue not enabled"
expect '^bulwark-vmm: virtio-blk: queue 0 rings outside guest RAM' "the VMM says why"
expect '^BULWARK-AGENT: virtq-attack-control=ok when=after-reset$' "a reset brings the device back"
expect '^BULWARK-AGENT: virtq-attack-needs-reset=10 of 10$' "every attack reported NEEDS_RESET"
expect '^BULWARK-AGENT: virtq-attack-rebind=ok vd[a-z]+$' "Linux's driver takes the disk back and reads it"
expect '^BULWARK-AGENT: blk-write=ok off=1048576 len=1048576$' "vda: pattern written and read back"
expect '^BULWARK-AGENT: hwrng-bytes=4096 distinct=256$' "virtio-rng still serves"
expect_value result pass
expect_status 0
for s in 2048 3000 4095; do
	expect_sector "$img" "$s"
done
rm -f "$img" "$victim"
th_finish

#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# bulwark-vmm with a virtio-blk disk and virtio-rng: the guest finds both on the virtio
# bus with MSI-X interrupts, reads 4 KiB from /dev/hwrng, sees the disk's size and
# serial, writes a pattern with O_DIRECT + fsync and reads it back; after power-off the
# image on the host holds exactly that pattern, and nothing outside it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/blk.sh"
th_need_vmm
img=${TMPDIR:-/tmp}/bulwark-disk.$$.img
truncate -s 64M "$img" || th_skip "cannot create a 64 MiB image in ${TMPDIR:-/tmp}"
VMM_ARGS="--disk path=$img,serial=bulwark-disk-1 --rng" \
	boot_guest bulwark 1 512 "bulwark.test=checks bulwark.checks=virtio,msix,hwrng,blk-info,blk-write"
expect '^BULWARK-AGENT: virtio-devices=(.*,)?virtio[0-9]+:2(,|$)' "a virtio-blk device (id 2)"
expect '^BULWARK-AGENT: virtio-devices=(.*,)?virtio[0-9]+:4(,|$)' "a virtio-rng device (id 4)"
expect '^BULWARK-AGENT: msix-virtio=[1-9][0-9]* vectors=[1-9]' "virtio interrupts are MSI-X"
expect '^BULWARK-AGENT: hwrng-current=virtio_rng' "the guest's hwrng is virtio-rng"
expect '^BULWARK-AGENT: hwrng-bytes=4096 distinct=256$' "4 KiB of random bytes from /dev/hwrng"
expect '^BULWARK-AGENT: blk-info=vda sectors=131072 serial=bulwark-disk-1 ro=0$' \
	"capacity 64 MiB, the serial, writable"
expect '^BULWARK-AGENT: blk-write=ok off=1048576 len=1048576$' "pattern written and read back"
expect_value result pass
expect_status 0
# The guest wrote sectors 2048-4095; the host file must hold them after power-off.
for s in 2048 2049 3000 4095; do
	expect_sector "$img" "$s"
done
expect_zero_sector "$img" 2047
expect_zero_sector "$img" 4096
rm -f "$img"
th_finish

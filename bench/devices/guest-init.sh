#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# /bench-init of the device benchmark's guest (rdinit=, from a layer appended to the test
# guest's initramfs): loads the initramfs' virtio modules, runs the guest half of each
# phase with devbench and prints "BENCH: begin|result|end PHASE" lines; the host side
# (bench/devices/inner.sh) samples the VMM's CPU time between begin and end.
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
say() { echo "BENCH: $*" > /dev/console; }
while read -r m; do
	insmod "$m" 2>/dev/null
done < /etc/bulwark/modules
secs=5
for a in $(cat /proc/cmdline); do
	case $a in bench.secs=*) secs=${a#bench.secs=} ;; esac
done
i=0
while [ ! -b /dev/vda ] || ! ip link show eth0 >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -gt 100 ] && { say "error=no /dev/vda or no eth0"; poweroff -f; }
	sleep 0.1
done
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
devbench vsock-echo 5000 2>/dev/null &
# The host's address answers once the link is up: wait for it, so no phase times ARP.
i=0
until ping -c 1 -W 1 10.0.2.2 >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -gt 20 ] && { say "error=10.0.2.2 does not answer"; break; }
done
say "ready"

phase() { # NAME COMMAND...
	name=$1
	shift
	say "begin $name"
	r=$("$@" 2>&1 | tr '\n' ' ')
	say "result $name $r"
	say "end $name"
}
phase blk-rand devbench blk /dev/vda rand "$secs" 32 4096
phase blk-seq devbench blk /dev/vda seq "$secs" 1 1048576
phase net-g2h devbench tcp 10.0.2.2 5001 send "$secs"
phase net-h2g devbench tcp 10.0.2.2 5001 recv "$secs"
# vsock is timed from the host; it connects to port 5003 when it is done.
say "vsock-ready"
nc -l -p 5003 >/dev/null 2>&1 </dev/null
say "done"
poweroff -f

#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# /init of the nested KVM test host: mounts the kernel filesystems, loads KVM, runs the
# command that run.sh packed into /bulwark/cmd and reports its exit status in one line.
export PATH=/usr/local/bin:/usr/bin:/usr/sbin:/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /tmp /run /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /dev/shm
# KVM's exit counters (/sys/kernel/debug/kvm), read by the benchmark.
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
# As a bulwark host should be configured: huge pages for shmem where a program asks
# (bulwark-vmm's guest RAM is a memfd and asks). Not "always": that would also put the
# test host's tmpfs files, our binaries among them, in huge pages.
echo advise > /sys/kernel/mm/transparent_hugepage/shmem_enabled 2>/dev/null
kver=$(uname -r)
vendor=kvm-amd
grep -qw vmx /proc/cpuinfo && vendor=kvm-intel
for m in irqbypass kvm $vendor; do
	insmod "/lib/modules/$kver/$m.ko" || echo "BULWARK-TESTHOST: warning=cannot load $m"
done
[ -e /dev/kvm ] || echo "BULWARK-TESTHOST: warning=no /dev/kvm (kvm modules did not load)"
[ -f /bulwark/env ] && . /bulwark/env
cd "${BULWARK_SRC:-/}" || cd /
if [ -f /bulwark/cmd ]; then
	sh /bulwark/cmd
	rc=$?
else
	echo "BULWARK-TESTHOST: error=no command was packed into the initramfs"
	rc=2
fi
sync
echo "BULWARK-TESTHOST: exit=$rc"
poweroff -f

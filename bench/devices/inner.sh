#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The device benchmark's inside half (runs where real KVM is, with QEMU): boots the same
# guest (bench/devices/guest-init.sh as rdinit) under each VMM with one virtio-blk disk
# (a raw image in tmpfs), one virtio-net on a tap and, where it can, virtio-vsock; the
# guest runs blk and net phases, the host times vsock round trips. For each phase the
# VMM's CPU time (/proc/PID/stat, plus QEMU's vhost worker threads) is sampled at the
# guest's begin and end lines. Usage: inner.sh [N] [SECONDS]
set -u
N=${1:-1}
SECS=${2:-5}
CPUS=2
MEM=512
RTTS=${BENCH_VSOCK_RTTS:-500}
DB=${BENCH_DEVBENCH:-/bench-devices/devbench}
LAYER=${BENCH_GUEST_LAYER:-/bench-devices/guest-layer.cpio}
res=/tmp/bench-dev.$$
tap=bwtap0 mac=52:54:00:12:34:56
img=/tmp/bench-disk.img
mkdir -p "$res"
die() { echo "bench: error: $*" >&2; exit 1; }
[ -x "$DB" ] || die "no $DB in this test host (bench/devices.sh packs it)"
[ -n "${QEMU:-}" ] || die "no QEMU in this test host (run with run.sh --qemu)"

kver=$(uname -r)
[ -e /dev/net/tun ] || insmod "/lib/modules/$kver/tun.ko" 2>/dev/null
ip tuntap add dev $tap mode tap 2>/dev/null || tunctl -t $tap >/dev/null || die "cannot create tap $tap"
ip addr add 10.0.2.2/24 dev $tap || die "cannot address $tap"
ip link set $tap up || die "cannot bring $tap up"
# QEMU's virtio-vsock is vhost-vsock: the kernel's, loaded here from the benchmark's layer.
for m in vhost_iotlb vhost vsock vmw_vsock_virtio_transport_common vhost_vsock; do
	[ -f "/lib/modules/$kver/$m.ko" ] && insmod "/lib/modules/$kver/$m.ko" 2>/dev/null
done
qemu_vsock=yes
[ -c /dev/vhost-vsock ] || qemu_vsock="no /dev/vhost-vsock in the test host"
dd if=/dev/zero of=$img bs=1M count=256 2>/dev/null || die "cannot write $img"
cat "$GUEST_INITRD" "$LAYER" > "$res/initrd" || die "cannot build the guest initramfs"
"$DB" tcp-server 5001 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$res" $img' EXIT

cmdline="console=ttyS0 quiet panic=-1 rdinit=/bench-init bench.secs=$SECS"
# cpu_ticks PID: the process's user+system ticks (all threads, the vCPUs' guest execution
# included: utime and stime are scaled to the scheduler's runtime, guest_time is not, so
# the two cannot be subtracted reliably), plus QEMU's vhost-PID kernel threads.
cpu_ticks() {
	t=$(awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0)
	for p in /proc/[0-9]*; do
		[ "$(cat "$p/comm" 2>/dev/null)" = "vhost-$1" ] || continue
		t=$((t + $(awk '{ print $14 + $15 }' "$p/stat")))
	done
	echo "$t"
}
# wait_line PATTERN FILE SECONDS
wait_line() {
	w=0
	while [ $w -lt $(($3 * 5)) ]; do
		grep -q -- "$1" "$2" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.2
		w=$((w + 1))
	done
	return 1
}
hz=$(getconf CLK_TCK 2>/dev/null || echo 100)

# stop_vmm: SIGTERM, then SIGKILL if the VMM is still there 10 s later.
stop_vmm() {
	kill "$pid" 2>/dev/null
	w=0
	while kill -0 "$pid" 2>/dev/null && [ $w -lt 50 ]; do sleep 0.2; w=$((w + 1)); done
	if kill -0 "$pid" 2>/dev/null; then
		echo "bench: $vmm round $rnd: no exit 10 s after SIGTERM; SIGKILL"
		kill -9 "$pid"
	fi
	wait "$pid" 2>/dev/null
}

one() { # vmm round
	vmm=$1 rnd=$2 out=$res/$1.$2.out sock=/tmp/bench-vsock.$1.$2
	case $vmm in
	bulwark)
		set -- "$BULWARK_VMM" --kernel "$GUEST_KERNEL" --initrd "$res/initrd" --cpus $CPUS \
			--memory ${MEM}M --cmdline "$cmdline" --disk path=$img --net tap=$tap,mac=$mac \
			--vsock "cid=3,socket=$sock"
		target=unix:$sock vs=yes ;;
	qemu)
		set -- "$QEMU" -M q35 -accel kvm -cpu host -smp $CPUS -m $MEM -nodefaults -display none \
			-serial stdio -no-reboot -kernel "$GUEST_KERNEL" -initrd "$res/initrd" -append "$cmdline" \
			-drive if=none,id=d0,file=$img,format=raw,cache=writeback,aio=threads \
			-device virtio-blk-pci,drive=d0 \
			-netdev tap,id=n0,ifname=$tap,script=no,downscript=no,vhost=off \
			-device virtio-net-pci,netdev=n0,mac=$mac,romfile=
		target=cid:3 vs=$qemu_vsock
		[ "$vs" = yes ] && set -- "$@" -device vhost-vsock-pci,guest-cid=3 ;;
	esac
	rm -f "$sock"
	"$@" </dev/null > "$out" 2>&1 &
	pid=$!
	if ! wait_line "BENCH: ready" "$out" 180; then
		echo "bench: $vmm round $rnd: the guest did not get ready; console (last 15 lines):"
		tr -d '\r' < "$out" | tail -15 | sed 's/^/bench:   /'
		stop_vmm
		return
	fi
	for ph in blk-rand blk-seq net-g2h net-h2g; do
		wait_line "BENCH: begin $ph" "$out" 60 || break
		c0=$(cpu_ticks $pid)
		wait_line "BENCH: end $ph" "$out" $((SECS * 6 + 60)) || break
		c1=$(cpu_ticks $pid)
		r=$(tr -d '\r' < "$out" | sed -n "s/^BENCH: result $ph //p")
		echo "bench: $vmm round $rnd: $ph: $r cpu-ticks=$((c1 - c0))"
		echo "$ph $((c1 - c0)) $r" >> "$res/$vmm"
	done
	if wait_line "BENCH: vsock-ready" "$out" 60; then
		if [ "$vs" = yes ]; then
			c0=$(cpu_ticks $pid)
			r=$("$DB" vsock-rtt "$target" 5000 "$RTTS" 64 2>&1 | tr '\n' ' ')
			c1=$(cpu_ticks $pid)
			echo "bench: $vmm round $rnd: vsock-rtt: $r cpu-ticks=$((c1 - c0))"
			echo "vsock $((c1 - c0)) $r" >> "$res/$vmm"
		fi
		echo | timeout 10 nc 10.0.2.15 5003 >/dev/null 2>&1
	fi
	w=0
	while kill -0 "$pid" 2>/dev/null && [ $w -lt 150 ]; do sleep 0.2; w=$((w + 1)); done
	if kill -0 "$pid" 2>/dev/null; then
		echo "bench: $vmm round $rnd: still running 30 s after the guest's last phase"
		stop_vmm
	fi
	wait "$pid"
	grep -q '^BENCH: error' "$out" && tr -d '\r' < "$out" | grep '^BENCH: error' | sed "s/^/bench: $vmm: /"
}

vmms=qemu
[ -n "${BULWARK_VMM:-}" ] && vmms="bulwark qemu"
for round in $(seq 1 "$N"); do
	for vmm in $vmms; do one "$vmm" "$round"; done
done

# median PHASE FIELD FILE: median over rounds of a key=value field (or "cpu": column 2).
median() {
	[ -s "$3" ] || return 0
	awk -v ph="$1" -v f="$2" '$1 == ph { if (f == "cpu") { print $2; next }
		for (i = 3; i <= NF; i++) if (index($i, f "=") == 1) print substr($i, length(f) + 2) }' "$3" |
		sort -n | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# cpu_per_op PHASE FILE: median over rounds of CPU microseconds per operation.
cpu_per_op() {
	[ -s "$2" ] || return 0
	awk -v ph="$1" -v hz="$hz" '$1 == ph { for (i = 3; i <= NF; i++) if (index($i, "ops=") == 1 || index($i, "bytes=") == 1 && ph ~ /^net/) {
		split($i, kv, "="); n = kv[2]; if (ph ~ /^net/) n /= 65536; if (n > 0) print $2 / hz * 1e6 / n } }' "$2" |
		sort -n | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo
echo "Device benchmark: Debian $kver guest, $CPUS vCPUs, $MEM MiB, ${SECS} s per phase, median of $N round(s)"
echo "(host: $BULWARK_TESTHOST; disk: raw 256 MiB image in the test host's tmpfs; net: tap, 10.0.2.2 <-> 10.0.2.15;"
echo " QEMU: -M q35 -accel kvm -cpu host, virtio-blk-pci (cache=writeback,aio=threads), virtio-net-pci vhost=off)"
printf '%-30s %12s %12s %8s %14s %14s %8s\n' row bulwark qemu ratio "cpu/op bulwark" "cpu/op qemu" ratio
row() { # LABEL PHASE FIELD UNIT-SCALE HIGHER-IS-BETTER
	b=$(median "$2" "$3" "$res/bulwark") q=$(median "$2" "$3" "$res/qemu")
	cb=$(cpu_per_op "$2" "$res/bulwark") cq=$(cpu_per_op "$2" "$res/qemu")
	awk -v l="$1" -v b="$b" -v q="$q" -v cb="$cb" -v cq="$cq" 'function f(x) { return x == "" ? "-" : sprintf("%.1f", x) }
	function r(x, y) { return (x == "" || y == "" || y == 0) ? "-" : sprintf("%.2fx", x / y) }
	BEGIN { printf "%-30s %12s %12s %8s %11s us %11s us %8s\n", l, f(b), f(q), r(b, q), f(cb), f(cq), r(cb, cq) }'
}
row "blk 4K randread, 32 thr (IOPS)" blk-rand iops
row "blk 1M seqread (MiB/s)" blk-seq mibps
row "net guest->host (Mbit/s)" net-g2h mbitps
row "net host->guest (Mbit/s)" net-h2g mbitps
row "vsock 64 B RTT mean (us)" vsock mean-us
echo
echo "cpu/op: the VMM process's user+system CPU, vCPU threads included (plus QEMU's vhost threads)"
echo "between the phase's begin and end lines, per request (blk), per 64 KiB (net), per round trip (vsock)."
echo "Ratios are bulwark / QEMU: above 1 is better for IOPS, MiB/s and Mbit/s, worse for RTT and cpu/op."
hp=$(cat /sys/module/kvm/parameters/halt_poll_ns 2>/dev/null)
[ -n "$hp" ] && echo "KVM halt_poll_ns=$hp here: an idle vCPU's halt polling is in its thread's system time, so in cpu/op."
[ "$qemu_vsock" = yes ] || echo "QEMU vsock: not measured ($qemu_vsock)."
if [ "$BULWARK_TESTHOST" = nested ]; then
	echo "Note: nested, the test host's CPU is QEMU TCG: every host-side instruction (the VMMs' I/O"
	echo "paths, the tap, tmpfs) is emulated, so absolute figures are tiny; compare the ratios."
fi

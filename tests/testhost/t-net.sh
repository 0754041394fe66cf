#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# virtio-net on a tap: for each mode given (default "on off rate") the Debian guest brings
# eth0 up, guest and host ping each other, and a TCP transfer each way (busybox nc) arrives
# with the sender's md5. The host side is a tap addressed in the test host. Modes: on/off
# (offload=), rate (offloads on, rx-bw and tx-bw at $NET_RATE_KIB KiB/s: the guest measures
# the frame bytes per second on eth0 while each transfer of 12 s worth runs, between 10% and
# 90% of it, and that must be within 5% of the limit). The rate is low because the nested
# guest itself, on a loaded machine, cannot send much faster than 128 KiB/s in small frames:
# a limit near that measures the guest, not the limiter. 1 s buckets ride out the
# scheduling stalls of a loaded machine (with the default 100 ms, a stall throws tokens
# away and a run can measure a few % under the limit).
# Usage: t-net.sh [on|off|rate]...
. "$(dirname "$0")/lib.sh"
th_need_vmm
[ -e /dev/net/tun ] || insmod "/lib/modules/$(uname -r)/tun.ko" 2>/dev/null
[ -e /dev/net/tun ] || th_skip "no /dev/net/tun (the tun module is not in this test host)"
tap=bwtap0 host_ip=10.0.2.2 guest_ip=10.0.2.15 mac=52:54:00:12:34:56 rate_kib=${NET_RATE_KIB:-64}
[ $# -gt 0 ] || set -- on off rate

ip tuntap add dev $tap mode tap 2>/dev/null || tunctl -t $tap >/dev/null ||
	th_skip "cannot create tap $tap"
ip addr add $host_ip/24 dev $tap && ip link set $tap up || fail "cannot address $tap"

# wait_line PATTERN FILE SECONDS: true once a line of FILE matches.
wait_line() {
	i=0
	while [ $i -lt $(($3 * 10)) ]; do
		grep -Eq -- "$1" "$2" 2>/dev/null && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

uptime_cs() { sed 's/^\([0-9]*\)\.\([0-9]*\) .*/\1\2/' /proc/uptime; }

# check_rate WHAT KEY: the guest's measured rate KEY (bytes/s) is the limit, within 5%.
check_rate() {
	got=$(sed -n "s/^BULWARK-AGENT: $2=\([0-9]*\).*/\1/p" "$TH_OUT" | head -1)
	want=$((rate_kib * 1024))
	echo "MEASURED: $1 ${got:-?} B/s at a limit of $want B/s ($(echo "${got:-0} $want" |
		awk '{ printf "%+.1f%%", ($1 / $2 - 1) * 100 }'))"
	[ -n "$got" ] && [ "$got" -ge $((want * 95 / 100)) ] && [ "$got" -le $((want * 105 / 100)) ] ||
		fail "$1: ${got:-no} B/s measured, limit $want B/s (+-5%)"
}

for mode; do
	echo "== mode $mode"
	kib=${NET_KIB:-2048} offload=$mode limits=
	if [ "$mode" = rate ]; then
		kib=$((rate_kib * 12)) offload=on
		limits=",rx-bw=${rate_kib}K,tx-bw=${rate_kib}K,rx-refill=1000,tx-refill=1000"
	fi
	dd if=/dev/urandom of=/tmp/h2g bs=1024 count="$kib" 2>/dev/null
	h2g_md5=$(md5sum < /tmp/h2g | cut -c1-32)
	rm -f /tmp/g2h /tmp/hold "$TH_OUT.rc"
	# The listener's stdin must not end first: nc would close its side and the guest's
	# nc would stop sending. A FIFO held open by this shell never ends.
	mkfifo /tmp/hold
	nc -l -p 5001 > /tmp/g2h < /tmp/hold &
	listener=$!
	exec 3> /tmp/hold
	(
		VMM_ARGS="--net tap=$tap,mac=$mac,offload=$offload$limits"
		boot_guest bulwark 2 512 "bulwark.test=net bulwark.net-ip=$guest_ip bulwark.net-peer=$host_ip bulwark.net-kib=$kib"
		echo "$vmm_rc" > "$TH_OUT.rc"
	) &
	vmm_job=$!
	if wait_line '^BULWARK-AGENT: net-ready' "$TH_OUT.raw" 300; then
		ping -c 3 -W 5 $guest_ip > /dev/null && host_ping=ok || host_ping=fail
		t0=$(uptime_cs)
		timeout 300 nc $guest_ip 5002 < /tmp/h2g && h2g=done || h2g=failed
		t1=$(uptime_cs)
	else
		host_ping=fail h2g=failed t0=0 t1=0
		fail "the guest never said net-ready"
	fi
	wait $vmm_job
	vmm_rc=$(cat "$TH_OUT.rc" 2>/dev/null || echo '?')
	# The guest's nc has sent everything once it exits; the listener then has it.
	i=0
	while kill -0 $listener 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	exec 3>&-
	kill $listener 2>/dev/null
	g2h_md5=$(md5sum < /tmp/g2h | cut -c1-32)
	echo "== host: ping=$host_ping host-to-guest=$h2g ${kib} KiB in $(((t1 - t0) * 10)) ms"

	expect_value test net
	expect_value net-mac $mac
	expect_value net-up yes
	expect_value net-ping ok
	[ "$host_ping" = ok ] || fail "$mode: the host cannot ping the guest"
	[ "$h2g" = done ] || fail "$mode: host-to-guest transfer failed"
	expect '^BULWARK-AGENT: net-tx=done ' "$mode: guest-to-host transfer"
	expect_value net-rx done
	expect_value net-rx-md5 "$h2g_md5"
	expect_value net-tx-md5 "$g2h_md5"
	expect '^BULWARK-AGENT: poweroff$' "the guest powered off"
	expect_status 0
	if [ "$mode" = rate ]; then
		check_rate guest-to-host net-tx-rate
		check_rate host-to-guest net-rx-rate
	fi
done
ip link del $tap 2>/dev/null || tunctl -d $tap >/dev/null
th_finish

#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# virtio-vsock under bulwark-vmm, host side on a Unix socket (Firecracker's convention):
# a host program's CONNECT to a port nobody listens on is closed without "OK"; a host
# program echoes 1 MiB through the guest's listener (host to guest); the guest echoes
# 1 MiB through a host listener at PATH_<port> (guest to host); the guest's connect to a
# host port without a listener is refused with a reset. 1 MiB is four times the
# device's per-connection buffer, so credit updates must flow in both directions.
. "$(dirname "$0")/lib.sh"
th_need_vmm
helper=${BULWARK_VSOCK_HOST:-/usr/bin/bulwark-vsock-host}
[ -x "$helper" ] || th_skip "no bulwark-vsock-host in this test host (tests/testhost/build.sh)"
port=5000
sock=${TMPDIR:-/tmp}/bulwark-vsock.$$
hostlog=$sock.log
rm -f "$sock" "${sock}_$((port + 1000))"
# Guest to host: the echo server the guest reaches as CID 2, port+1000.
"$helper" listen "${sock}_$((port + 1000))" > "$hostlog.listen" 2>&1 &
listen_pid=$!
# Host to guest: first a port where nothing listens, then the guest's echo listener.
{ "$helper" refused "$sock" $((port + 1)); "$helper" connect "$sock" "$port" 1048576; } \
	> "$hostlog.connect" 2>&1 &
connect_pid=$!
VMM_ARGS="--vsock cid=3,socket=$sock" \
	boot_guest bulwark 2 512 "bulwark.test=vsock bulwark.vsock.port=$port"
wait "$connect_pid"
connect_rc=$?
kill "$listen_pid" 2>/dev/null
wait "$listen_pid"
cat "$hostlog.listen" "$hostlog.connect" >> "$TH_OUT"
sed 's/^/host: /' "$hostlog.listen" "$hostlog.connect"
expect '^BULWARK-AGENT: vsock-listen=5000$' "the guest listens on vsock port 5000"
expect '^VSOCK-HOST: refused=pass$' "CONNECT to a guest port without a listener is closed"
expect '^VSOCK-HOST: connect=OK [0-9]+$' "CONNECT 5000 answered with OK <host_port>"
expect '^VSOCK-HOST: h2g=pass bytes=1048576$' "host to guest: 1 MiB echoed intact"
expect '^BULWARK-AGENT: vsock-h2g=pass bytes=1048576$' "the guest echoed 1 MiB"
expect '^BULWARK-AGENT: vsock-g2h=pass bytes=1048576$' "guest to host: 1 MiB echoed intact"
expect '^VSOCK-HOST: g2h-echoed=1048576$' "the host listener at PATH_6000 echoed 1 MiB"
expect '^BULWARK-AGENT: vsock-refused=pass errno=' "the guest's connect to port 6001 is reset"
expect_value result pass
expect_status 0
[ "$connect_rc" = 0 ] || fail "bulwark-vsock-host connect exited with $connect_rc"
[ -e "$sock" ] && fail "the VMM left its vsock socket $sock behind"
rm -f "$sock" "${sock}_$((port + 1000))" "$hostlog.listen" "$hostlog.connect"
th_finish

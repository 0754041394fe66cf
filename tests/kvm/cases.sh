#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bulwark-vmm mechanics on the local /dev/kvm with tiny guests (tests/kvm/tiny.S): exits,
# exit codes, console, boot_params, resets, signals and bad input. One case per call:
#   cases.sh VMM TINY_DIR CASE
set -uo pipefail
vmm=$1 dir=$2 case=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=$tmp/out err=$tmp/err

need_kvm() {
	if [ ! -c /dev/kvm ] || ! [ -r /dev/kvm -a -w /dev/kvm ]; then
		echo "SKIP: no usable /dev/kvm on this machine"; exit 77
	fi
}
fail() { echo "FAIL: $*"; echo "--- stdout"; cat "$out"; echo "--- stderr"; cat "$err"; exit 1; }
run() { # expected-rc args...
	local want=$1; shift
	timeout 30 "$vmm" "$@" >"$out" 2>"$err" </dev/null
	local rc=$?
	[ "$rc" -eq "$want" ] || fail "exit code $rc, expected $want (args: $*)"
}
expect_out() { grep -qF -- "$1" "$out" || fail "stdout lacks '$1'"; }
expect_err() { grep -qF -- "$1" "$err" || fail "stderr lacks '$1'"; }
one_line_err() { [ "$(grep -c . "$err")" -eq 1 ] || fail "expected exactly one error line"; expect_err "bulwark-vmm: error: "; }

case $case in
poweroff)
	need_kvm
	run 0 --kernel "$dir/tiny-poweroff.bin" --memory 64M --cmdline "quick brown fox"
	expect_out "tiny: hello from the guest"
	expect_out "tiny: cmdline=quick brown fox"
	expect_err "timing: first-kvm-run-us="
	expect_err "timing: guest-init-us="
	;;
poweroff-smp)
	need_kvm
	run 0 --kernel "$dir/tiny-poweroff.bin" --memory 64M --cpus 4
	expect_out "tiny: cmdline=console=ttyS0"
	;;
config-file)
	need_kvm
	printf '{"kernel": "%s", "memory": "32M", "cpus": 2, "cmdline": "from json"}' \
		"$dir/tiny-poweroff.bin" >"$tmp/c.json"
	run 0 --config "$tmp/c.json"
	expect_out "tiny: cmdline=from json"
	# The command line overrides the file.
	run 0 --config "$tmp/c.json" --cmdline "from argv"
	expect_out "tiny: cmdline=from argv"
	;;
reboot-exit)
	need_kvm
	run 5 --kernel "$dir/tiny-reset.bin" --memory 64M
	expect_err "guest rebooted"
	;;
reboot-reset)
	need_kvm
	timeout --preserve-status -s TERM 3 "$vmm" --kernel "$dir/tiny-reset.bin" --memory 64M --on-reboot reset \
		>"$out" 2>"$err" </dev/null
	rc=$?
	[ "$rc" -eq 6 ] || fail "exit code $rc after SIGTERM, expected 6"
	n=$(grep -c "tiny: hello" "$out")
	[ "$n" -ge 2 ] || fail "guest booted $n times, expected a reset loop"
	;;
devices)
	# virtio-blk (read-write and read-only) and virtio-rng are created and torn down
	# around a boot, and again on every reset (the image lock is released and retaken).
	need_kvm
	truncate -s 8M "$tmp/a.img" "$tmp/b.img"
	run 0 --kernel "$dir/tiny-poweroff.bin" --memory 64M --disk "path=$tmp/a.img,serial=x1" \
		--disk "path=$tmp/b.img,ro,iops=100" --rng=bw=1M
	expect_out "tiny: hello from the guest"
	timeout --preserve-status -s TERM 3 "$vmm" --kernel "$dir/tiny-reset.bin" --memory 64M \
		--on-reboot reset --disk "path=$tmp/a.img" --rng >"$out" 2>"$err" </dev/null
	rc=$?
	[ "$rc" -eq 6 ] || fail "exit code $rc after SIGTERM, expected 6"
	[ "$(grep -c "tiny: hello" "$out")" -ge 2 ] || fail "no reset loop with devices"
	;;
disk-locked)
	# Two VMMs cannot write one image: the second fails at start, the first runs on.
	need_kvm
	truncate -s 8M "$tmp/a.img"
	"$vmm" --kernel "$dir/tiny-hang.bin" --memory 64M --disk "path=$tmp/a.img" \
		>"$tmp/out1" 2>"$tmp/err1" </dev/null &
	pid=$!
	for _ in $(seq 50); do grep -q "tiny: hello" "$tmp/out1" && break; sleep 0.1; done
	run 3 --kernel "$dir/tiny-poweroff.bin" --memory 64M --disk "path=$tmp/a.img,ro"
	one_line_err
	expect_err "in use by another process"
	kill -0 "$pid" 2>/dev/null || fail "the first VMM died"
	kill -TERM "$pid"
	wait "$pid"
	;;
bad-disk)
	need_kvm
	run 3 --kernel "$dir/tiny-poweroff.bin" --memory 64M --disk "path=$tmp/missing.img"
	one_line_err
	expect_err "missing.img"
	run 3 --kernel "$dir/tiny-poweroff.bin" --memory 64M --disk "path=$tmp"
	one_line_err
	expect_err "disk $tmp: "
	for spec in ro "path=$tmp/x,serial=" "path=$tmp/x,iops=fast" "path=$tmp/x,bogus=1"; do
		run 2 --kernel "$dir/tiny-poweroff.bin" --disk "$spec"
		one_line_err
	done
	run 2 --kernel "$dir/tiny-poweroff.bin" --rng=sometimes
	one_line_err
	;;
triple-fault)
	need_kvm
	run 1 --kernel "$dir/tiny-triple-fault.bin" --memory 64M
	expect_err "bulwark-vmm: error: guest triple fault (KVM_EXIT_SHUTDOWN) on vCPU 0"
	expect_err "rip="
	expect_err "idt=0/0"
	;;
sigterm)
	need_kvm
	"$vmm" --kernel "$dir/tiny-hang.bin" --memory 64M >"$out" 2>"$err" </dev/null &
	pid=$!
	for _ in $(seq 50); do grep -q "tiny: hello" "$out" && break; sleep 0.1; done
	start=$(date +%s%N)
	kill -TERM $pid
	wait $pid
	rc=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	[ "$rc" -eq 6 ] || fail "exit code $rc after SIGTERM, expected 6"
	[ "$ms" -lt 1000 ] || fail "took $ms ms to stop"
	expect_err "stopping: signal 15"
	;;
console-socket)
	need_kvm
	sock=$tmp/console.sock
	"$vmm" --kernel "$dir/tiny-hang.bin" --memory 64M --console "$sock" >"$out" 2>"$err" </dev/null &
	pid=$!
	for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
	sleep 0.5
	# A client attaching late still sees the boot output (backlog).
	timeout 2 python3 -c 'import socket,sys
s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(1.5)
d=b""
try:
    while b"hello" not in d:
        c=s.recv(4096)
        if not c: break
        d+=c
except Exception: pass
sys.stdout.write(d.decode(errors="replace"))' "$sock" >"$tmp/client"
	kill -TERM $pid; wait $pid
	grep -q "tiny: hello from the guest" "$tmp/client" || fail "socket client saw no console output"
	[ ! -e "$sock" ] || fail "socket file left behind"
	;;
control)
	need_kvm
	sock=$tmp/ctl.sock
	truncate -s 8M "$tmp/ctl.img"
	"$vmm" --kernel "$dir/tiny-hang.bin" --memory 64M --cpus 2 --control "$sock" \
		--disk "path=$tmp/ctl.img" --rng >"$out" 2>"$err" </dev/null &
	pid=$!
	for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
	python3 "$(dirname "$0")/ctlclient.py" "$sock" || { kill $pid; fail "control protocol"; }
	wait $pid
	rc=$?
	[ "$rc" -eq 6 ] || fail "exit code $rc after CTL_STOP, expected 6"
	[ ! -e "$sock" ] || fail "control socket left behind"
	;;
bad-missing-kernel)
	run 4 --kernel "$tmp/nonexistent"; one_line_err; expect_err "No such file"
	;;
bad-not-bzimage)
	head -c 100000 /dev/urandom >"$tmp/junk"
	run 4 --kernel "$tmp/junk"; one_line_err; expect_err "not a bzImage"
	;;
bad-truncated)
	head -c 1100 "$dir/tiny-poweroff.bin" >"$tmp/trunc"
	run 4 --kernel "$tmp/trunc"; one_line_err; expect_err "truncated"
	;;
bad-directory)
	run 4 --kernel "$tmp"; one_line_err; expect_err "not a regular file"
	;;
bad-initrd-too-big)
	need_kvm
	truncate -s 40M "$tmp/big.img"
	run 4 --kernel "$dir/tiny-poweroff.bin" --initrd "$tmp/big.img" --memory 32M
	one_line_err; expect_err "memory too small"
	;;
bad-option)
	run 2 --kernel x --frobnicate; one_line_err; expect_err "--frobnicate"
	;;
bad-cpus)
	run 2 --kernel x --cpus 0; one_line_err
	run 2 --kernel x --cpus 100000; one_line_err
	run 2 --kernel x --cpus 2x; one_line_err
	;;
bad-memory)
	run 2 --kernel x --memory lots; one_line_err
	run 2 --kernel x --memory 1M; one_line_err
	run 2 --kernel x --memory 99999999999999999999; one_line_err
	;;
bad-config)
	echo '{"kernel": 5}' >"$tmp/a.json"; run 2 --config "$tmp/a.json"; one_line_err
	echo '{"kernel": "x", "colour": "red"}' >"$tmp/b.json"; run 2 --config "$tmp/b.json"; one_line_err
	expect_err "unknown key 'colour'"
	printf '{"kernel": ' >"$tmp/c.json"; run 2 --config "$tmp/c.json"; one_line_err
	expect_err "line 1"
	run 2 --config "$tmp/none.json"; one_line_err
	;;
bad-no-kernel)
	run 2; one_line_err; expect_err "no kernel"
	;;
no-kvm-permission)
	need_kvm
	if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null; then
		echo "SKIP: needs root and setpriv to run as an unprivileged user"; exit 77
	fi
	if setpriv --reuid=65534 --regid=65534 --clear-groups test -w /dev/kvm; then
		echo "SKIP: /dev/kvm is writable by everyone here"; exit 77
	fi
	cp "$dir/tiny-poweroff.bin" "$tmp/k"; chmod 755 "$tmp"; chmod 644 "$tmp/k"
	timeout 10 setpriv --reuid=65534 --regid=65534 --clear-groups "$vmm" --kernel "$tmp/k" \
		>"$out" 2>"$err" </dev/null
	rc=$?
	[ "$rc" -eq 3 ] || fail "exit code $rc, expected 3"
	one_line_err; expect_err "cannot open /dev/kvm: Permission denied"
	;;
help)
	run 0 --help; expect_out "usage: bulwark-vmm --kernel PATH"; expect_out "Exit codes:"
	;;
*)
	echo "unknown case $case"; exit 1
	;;
esac
echo "ok: $case"

#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs tests/daemon/t-debian.sh (a stock Debian guest through bulwarkd and the CLI) where
# real KVM is. Directly on a host with vmx/svm; otherwise in the nested test host of
# tests/testhost, reusing its cached layers and tools (build.sh, libs.sh, mkcpio.py) and
# adding one layer with bulwarkd, bulwark, bulwark-policy, bulwark-vmm and the script.
# (tests/testhost/run.sh carries only bulwark-vmm; see docs/daemon.md.)
#   tests/daemon/testhost.sh BUILD_DIR [TIMEOUT_S]
set -uo pipefail
BUILD=$(cd "$1" && pwd) timeout_s=${2:-900}
# BWD_SCRIPT picks another script from tests/daemon (make demo: demo-domains.sh).
script=${BWD_SCRIPT:-t-debian.sh}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
th=$top/tests/testhost
for b in src/daemon/bulwarkd src/cli/bulwark src/tools/bulwark-policy src/vmm/bulwark-vmm; do
	[ -x "$BUILD/$b" ] || { echo "SKIP: $BUILD/$b is not built"; exit 77; }
done
"$th/build.sh" "$BUILD" >/dev/null 2>&1
rc=$?
[ $rc -eq 0 ] || { echo "SKIP: the test host cannot be built (tests/testhost/build.sh: $rc)"; exit 77; }
TH=$BUILD/testhost
if grep -qw -e vmx -e svm /proc/cpuinfo && [ -w /dev/kvm ]; then
	mkdir -p "$BUILD/daemon-bin"
	for b in src/daemon/bulwarkd src/cli/bulwark src/tools/bulwark-policy src/vmm/bulwark-vmm; do
		ln -sf "$BUILD/$b" "$BUILD/daemon-bin/"
	done
	BWD_BIN=$BUILD/daemon-bin GUEST_KERNEL=$TH/kernel/vmlinuz \
		GUEST_INITRD=$TH/guest/initrd.cpio exec timeout "$timeout_s" "$here/$script"
fi
run=$(mktemp -d)
trap 'rm -rf "$run"' EXIT
printf 'export BULWARK_SRC=/src BWD_BIN=/usr/bin GUEST_KERNEL=/guest/vmlinuz GUEST_INITRD=/guest/initrd.cpio\n' >"$run/env"
echo "sh /src/tests/daemon/$script" >"$run/cmd"
{
	echo "file /bulwark/env $run/env 644"
	echo "file /bulwark/cmd $run/cmd 644"
	echo "dir /src 755"
	echo "dir /src/tests 755"
	echo "dir /src/tests/daemon 755"
	echo "file /src/tests/daemon/$script $here/$script 755"
	"$th/libs.sh" "$BUILD/src/vmm/bulwark-vmm" /usr/bin/bulwark-vmm
	# libs.sh names /usr/bin once per call; the later calls' dir lines repeat it (harmless).
	"$th/libs.sh" "$BUILD/src/daemon/bulwarkd" /usr/bin/bulwarkd
	"$th/libs.sh" "$BUILD/src/cli/bulwark" /usr/bin/bulwark
	"$th/libs.sh" "$BUILD/src/tools/bulwark-policy" /usr/bin/bulwark-policy
} | awk '!seen[$0]++' >"$run/manifest"
python3 "$th/mkcpio.py" "$run/manifest" >"$run/run.cpio" || exit 1
cat "$TH/host-base.cpio" "$run/run.cpio" >"$run/initrd"
timeout -k 10 "$timeout_s" qemu-system-x86_64 -accel tcg,thread=multi -cpu max -smp 2 -m 2048 \
	-nodefaults -display none -serial stdio -no-reboot \
	-kernel "$TH/kernel/vmlinuz" -initrd "$run/initrd" \
	-append "console=ttyS0 quiet loglevel=3 panic=-1 softlockup_panic=1" </dev/null |
	sed -u 's/\r//g' | tee "$run/out" | grep --line-buffered -v '^BULWARK-TESTHOST: exit='
status=$(sed -n 's/^BULWARK-TESTHOST: exit=\([0-9]*\)$/\1/p' "$run/out" | tail -1)
[ -n "$status" ] && exit "$status"
echo "ERROR: the test host ended without reporting the command's status"
exit 125

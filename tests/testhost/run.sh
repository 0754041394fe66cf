#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs COMMAND where real KVM is: directly on this machine if it has hardware
# virtualization, else inside the nested KVM test host (Debian's kernel under QEMU TCG
# -cpu max, which exposes AMD SVM). Prints COMMAND's output, exits with its status.
#
# Usage: run.sh [--qemu] [--timeout S] BUILD_DIR -- COMMAND [ARG]...
#   --qemu       also put QEMU into the test host (benchmark, reference tests)
#   --timeout S  hard limit for the whole run (default 600); on expiry exit 124
# COMMAND runs with the repository (nested: tests/ and bench/ only) as its working
# directory and these variables set, so one script works in both places:
#   BULWARK_VMM   bulwark-vmm (unset if it is not built)
#   GUEST_KERNEL  GUEST_INITRD   the guest kernel and guest initramfs
#   QEMU          qemu-system-x86_64 (nested: only with --qemu)
#   BULWARK_TSRUN the timestamping runner (tests/testhost/tsrun.c)
#   BULWARK_TESTHOST  "nested" or "direct"
# BULWARK_TESTHOST=nested|direct in the caller's environment forces the choice.
# BULWARK_TESTHOST_LAYERS="A.cpio B.cpio": more test host layers, appended before the
# per-run one (nested only; bench/devices.sh uses it for its load generator).
# Exit status: COMMAND's; 77 if the test host cannot be built (offline); 124 timeout;
# 125 the test host failed to report a status.
set -uo pipefail
with_qemu=0
timeout_s=600
while [ $# -gt 0 ]; do
	case $1 in
	--qemu) with_qemu=1; shift ;;
	--timeout) timeout_s=$2; shift 2 ;;
	*) break ;;
	esac
done
[ $# -ge 3 ] && [ "$2" = "--" ] || { echo "usage: $0 [--qemu] [--timeout S] BUILD_DIR -- COMMAND [ARG]..." >&2; exit 2; }
BUILD=$1
shift 2
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

"$here/build.sh" "$BUILD" 2>/tmp/bulwark-testhost-build.$$.log
rc=$?
if [ $rc -ne 0 ]; then
	cat /tmp/bulwark-testhost-build.$$.log >&2
	rm -f /tmp/bulwark-testhost-build.$$.log
	[ $rc -eq 77 ] && echo "SKIP: the test host cannot be built (see above)"
	exit $rc
fi
rm -f /tmp/bulwark-testhost-build.$$.log
BUILD=$(cd "$BUILD" && pwd)
TH=$BUILD/testhost
vmm=$BUILD/src/vmm/bulwark-vmm

mode=${BULWARK_TESTHOST:-}
if [ -z "$mode" ]; then
	if grep -qw -e vmx -e svm /proc/cpuinfo && [ -w /dev/kvm ]; then
		mode=direct
	else
		mode=nested
	fi
fi

if [ "$mode" = direct ]; then
	export BULWARK_TESTHOST=direct
	export GUEST_KERNEL=$TH/kernel/vmlinuz GUEST_INITRD=$TH/guest/initrd.cpio
	export BULWARK_TSRUN=$TH/bin/bulwark-tsrun
	if [ -x "$vmm" ]; then export BULWARK_VMM=$vmm; else unset BULWARK_VMM; fi
	if command -v qemu-system-x86_64 >/dev/null; then
		QEMU=$(command -v qemu-system-x86_64)
		export QEMU
	fi
	cd "$top" || exit 1
	exec timeout -k 10 "$timeout_s" "$@"
fi

# Nested: one small per-run layer with the command, the scripts and bulwark-vmm, appended
# to the cached layers (the kernel unpacks concatenated archives in order).
run=$(mktemp -d)
trap 'rm -rf "$run"' EXIT
{
	printf 'export BULWARK_TESTHOST=nested BULWARK_SRC=/src\n'
	printf 'export GUEST_KERNEL=/guest/vmlinuz GUEST_INITRD=/guest/initrd.cpio\n'
	printf 'export BULWARK_TSRUN=/usr/bin/bulwark-tsrun\n'
	[ -x "$vmm" ] && printf 'export BULWARK_VMM=/usr/bin/bulwark-vmm\n'
	[ $with_qemu = 1 ] && printf 'export QEMU=/usr/bin/qemu-system-x86_64\n'
} > "$run/env"
for a in "$@"; do
	printf "'%s' " "$(printf '%s' "$a" | sed "s/'/'\\\\''/g")"
done > "$run/cmd"
echo >> "$run/cmd"
{
	echo "file /bulwark/env $run/env 644"
	echo "file /bulwark/cmd $run/cmd 644"
	# The scripts a command may name, at the same relative paths as in the repository.
	echo "dir /src/tests 755"
	(cd "$top" && find tests/testhost tests/guest bench -type d) | while read -r d; do
		echo "dir /src/$d 755"
	done
	(cd "$top" && find tests/testhost tests/guest bench -type f \( -name '*.sh' -o -name '*.txt' \)) |
		while read -r f; do
			echo "file /src/$f $top/$f $(stat -c %a "$top/$f")"
		done
	[ -x "$vmm" ] && "$here/libs.sh" "$vmm" /usr/bin/bulwark-vmm
} > "$run/manifest"
python3 "$here/mkcpio.py" "$run/manifest" > "$run/run.cpio" || exit 1
layers="$TH/host-base.cpio"
[ $with_qemu = 1 ] && layers="$layers $TH/host-qemu.cpio"
layers="$layers ${BULWARK_TESTHOST_LAYERS:-}"
# shellcheck disable=SC2086
cat $layers "$run/run.cpio" > "$run/initrd"

# QEMU TCG's nested SVM occasionally stops delivering the test host's own timer while a
# nested guest runs: every test host CPU soft-locks inside KVM_RUN (seen about once in
# 30 nested QEMU boots, not yet under bulwark-vmm). softlockup_panic turns that into a
# panic within ~20 s instead of a hang, and run.sh tries once more, saying so. Any
# other failure is reported as it is.
for attempt in 1 2; do
	timeout -k 10 "$timeout_s" qemu-system-x86_64 -accel tcg,thread=multi -cpu max -smp 2 -m 2048 \
		-nodefaults -display none -serial stdio -no-reboot \
		-kernel "$TH/kernel/vmlinuz" -initrd "$run/initrd" \
		-append "console=ttyS0 quiet loglevel=3 panic=-1 softlockup_panic=1 ${BULWARK_TESTHOST_APPEND:-}" </dev/null |
		sed -u 's/\r//g' | tee "$run/out" |
		grep --line-buffered -v -e '^BULWARK-TESTHOST: exit=' -e '^\[ *[0-9.]*\] reboot: Power down$'
	qrc=${PIPESTATUS[0]}
	if [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ]; then
		echo "TIMEOUT: the test host ran past ${timeout_s}s"
		exit 124
	fi
	status=$(sed -n 's/^BULWARK-TESTHOST: exit=\([0-9]*\)$/\1/p' "$run/out" | tail -1)
	[ -n "$status" ] && exit "$status"
	if [ $attempt = 1 ] && grep -q 'watchdog: BUG: soft lockup' "$run/out"; then
		echo "RETRY: the test host's kernel soft-locked in KVM_RUN (a QEMU TCG nested-SVM hang, see docs/testing.md); running the command again"
		continue
	fi
	# The test host's own kernel died (seen once: a stack guard page hit inside the nested
	# QEMU's KVM_RUN under TCG). That is the emulated machine failing, not the command:
	# one more try, said out loud; a second death is reported as it is.
	if [ $attempt = 1 ] && grep -q 'Kernel panic - not syncing' "$run/out"; then
		echo "RETRY: the test host's kernel panicked (the emulated machine, see docs/testing.md); running the command again"
		continue
	fi
	break
done
echo "ERROR: the test host ended (qemu status $qrc) without reporting the command's status"
exit 125

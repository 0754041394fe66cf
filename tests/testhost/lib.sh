# SPDX-License-Identifier: Apache-2.0
# Shared by the test host scripts (sourced; POSIX sh: the nested host has busybox ash).
# A script calls boot_guest, then checks the console with expect/expect_value; any
# failed expectation makes the script exit 1 with the reason, after all checks ran.

TH_OUT=${TMPDIR:-/tmp}/bulwark-th.$$
failures=0

th_skip() {
	echo "SKIP: $*"
	exit 77
}

th_need_vmm() {
	[ -n "${BULWARK_VMM:-}" ] && [ -x "$BULWARK_VMM" ] ||
		th_skip "bulwark-vmm is not built (no BUILD_DIR/src/vmm/bulwark-vmm)"
	[ -e /dev/kvm ] || th_skip "no /dev/kvm here"
}

# boot_guest VMM CPUS MEMORY_MIB EXTRA_CMDLINE: boots the test guest under VMM
# (bulwark, qemu-q35 or qemu-microvm), console in $TH_OUT, status in $vmm_rc.
# $VMM_ARGS: more bulwark-vmm options (split on spaces), e.g. "--disk path=/tmp/a.img".
# Timestamps (us after exec; empty if not seen): t_init t_poweroff t_exit.
boot_guest() {
	vmm=$1 cpus=$2 mem=$3 extra=$4 timeout=${BOOT_TIMEOUT:-240}
	cmdline="console=ttyS0 quiet panic=-1 $extra"
	case $vmm in
	bulwark)
		# shellcheck disable=SC2086
		set -- "$BULWARK_VMM" --kernel "$GUEST_KERNEL" --initrd "$GUEST_INITRD" \
			--cpus "$cpus" --memory "${mem}M" --cmdline "$cmdline" ${VMM_ARGS:-} ;;
	qemu-q35|qemu-microvm)
		set -- "$QEMU" -accel kvm -cpu host -M "${vmm#qemu-}" -smp "$cpus" -m "$mem" \
			-nodefaults -display none -serial stdio -no-reboot \
			-kernel "$GUEST_KERNEL" -initrd "$GUEST_INITRD" -append "$cmdline" ;;
	*) echo "boot_guest: unknown VMM $vmm" >&2; return 2 ;;
	esac
	echo "== boot: $vmm, $cpus vCPUs, ${mem} MiB, cmdline \"$cmdline\""
	# shellcheck disable=SC2086
	"$BULWARK_TSRUN" --timeout "$timeout" --mark "BULWARK-AGENT: init" \
		--mark "reboot: Power down" ${TSRUN_EXTRA:-} -- "$@" </dev/null > "$TH_OUT.raw" 2>&1
	vmm_rc=$?
	tr -d '\r' < "$TH_OUT.raw" > "$TH_OUT"
	rm -f "$TH_OUT.raw"
	sed -e '/^TSRUN: /d' "$TH_OUT"
	t_init=$(sed -n 's/^TSRUN: mark=1 us=//p' "$TH_OUT")
	t_poweroff=$(sed -n 's/^TSRUN: mark=2 us=//p' "$TH_OUT")
	t_exit=$(sed -n 's/^TSRUN: exit=[0-9]* us=//p' "$TH_OUT")
	if grep -q '^TSRUN: timeout' "$TH_OUT"; then
		fail "$vmm ran past ${timeout}s and was killed"
	fi
	echo "== $vmm exited with status $vmm_rc; boot-to-init ${t_init:-?} us, power-off to exit $(delta "$t_poweroff" "$t_exit") us"
}

delta() { [ -n "$1" ] && [ -n "$2" ] && echo $(($2 - $1)) || echo "?"; }

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# expect PATTERN WHAT: an extended regexp that a console line must match.
expect() {
	grep -Eq -- "$1" "$TH_OUT" || fail "no console line matches /$1/ ($2)"
}

# expect_value KEY VALUE: the agent reported KEY=VALUE.
expect_value() {
	got=$(sed -n "s/^BULWARK-AGENT: $1=\\([^ ]*\\).*/\\1/p" "$TH_OUT" | head -1)
	[ "$got" = "$2" ] || fail "agent reported $1=${got:-<nothing>}, expected $2"
}

expect_status() {
	[ "$vmm_rc" = "$1" ] || fail "VMM exit status $vmm_rc, expected $1"
}

th_finish() {
	rm -f "$TH_OUT"
	if [ "$failures" -ne 0 ]; then
		echo "RESULT: $failures check(s) failed"
		exit 1
	fi
	echo "RESULT: pass"
	exit 0
}

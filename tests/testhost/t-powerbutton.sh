#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# CTL_POWER_BUTTON shuts a stock Debian guest down cleanly: the VMM pulses the ACPI
# Generic Event Device's interrupt, Linux's GED and button drivers turn it into KEY_POWER,
# the agent's watcher powers off, and bulwark-vmm exits 0 within a few seconds of the
# press. The guest idles far longer than that, so only the button can end it in time.
. "$(dirname "$0")/lib.sh"
th_need_vmm
ctlsend=$(dirname "$BULWARK_TSRUN")/bulwark-ctlsend
[ -x "$ctlsend" ] || th_skip "no $ctlsend (tests/testhost/build.sh builds it)"
limit_s=${PRESS_LIMIT_S:-10} # press to VMM exit
idle_s=120 # the guest's own power-off, long after the limit
boot_s=${BOOT_TIMEOUT:-240}
sock=${TMPDIR:-/tmp}/bulwark-pwrbtn.$$.sock
rm -f "$sock"

# Time since boot in hundredths of a second.
now_cs() { awk '{ printf "%d\n", $1 * 100 }' /proc/uptime; }

cmdline="console=ttyS0 quiet panic=-1 bulwark.test=idle bulwark.idle=$idle_s"
echo "== boot: bulwark, 1 vCPU, 512 MiB, --control, cmdline \"$cmdline\""
"$BULWARK_TSRUN" --timeout "$boot_s" --mark "BULWARK-AGENT: power-button-watch=" \
	--mark "BULWARK-AGENT: power-button" --mark "reboot: Power down" -- \
	"$BULWARK_VMM" --kernel "$GUEST_KERNEL" --initrd "$GUEST_INITRD" --cpus 1 \
	--memory 512M --cmdline "$cmdline" --control "$sock" </dev/null > "$TH_OUT.raw" 2>&1 &
tspid=$!

# Press only once the agent listens: a press before the guest's drivers are up is lost.
t0=$(now_cs)
while ! grep -q '^BULWARK-AGENT: power-button-watch=' "$TH_OUT.raw" 2>/dev/null; do
	kill -0 "$tspid" 2>/dev/null || break
	[ $(($(now_cs) - t0)) -lt $((boot_s * 100)) ] || break
	sleep 0.2
done
pressed=
if grep -q '^BULWARK-AGENT: power-button-watch=[1-9]' "$TH_OUT.raw"; then
	t_press=$(now_cs)
	if "$ctlsend" "$sock" power-button; then
		pressed=yes
	else
		fail "CTL_POWER_BUTTON was refused"
	fi
else
	fail "the agent found no input device with KEY_POWER (or never said so)"
fi

# Wait for the exit; past the limit (with slack to report it), stop the VMM hard.
while kill -0 "$tspid" 2>/dev/null; do
	if [ $(($(now_cs) - ${t_press:-$t0})) -gt $((limit_s * 100 + 2000)) ]; then
		echo "== no exit $((limit_s + 20)) s after the press: CTL_STOP"
		"$ctlsend" "$sock" stop || kill "$tspid"
		break
	fi
	sleep 0.1
done
wait "$tspid"
vmm_rc=$?
t_exit=$(now_cs)
tr -d '\r' < "$TH_OUT.raw" > "$TH_OUT"
rm -f "$TH_OUT.raw" "$sock"
sed -e '/^TSRUN: /d' "$TH_OUT"
grep -q '^TSRUN: timeout' "$TH_OUT" && fail "the VMM ran past ${boot_s}s and was killed"

expect '^BULWARK-AGENT: init$' "the agent ran as init"
expect_value test idle
expect '^BULWARK-AGENT: power-button$' "the agent saw KEY_POWER"
expect '^BULWARK-AGENT: poweroff$' "the agent powered off"
grep -q '^BULWARK-AGENT: result=pass$' "$TH_OUT" &&
	fail "the idle test ran to its end: the guest powered off by itself, not by the button"
expect_status 0
if [ -n "$pressed" ]; then
	press_ms=$(((t_exit - t_press) * 10))
	echo "== press to VMM exit: ${press_ms} ms (limit ${limit_s} s)"
	[ "$press_ms" -le $((limit_s * 1000)) ] || fail "exited ${press_ms} ms after the press (limit ${limit_s} s)"
fi
th_finish

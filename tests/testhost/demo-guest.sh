#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The demo's inside half (runs where real KVM is): a stock Debian guest under bulwark-vmm
# with 2 vCPUs, its console to a busybox shell running a few commands, then power-off.
[ -n "${BULWARK_VMM:-}" ] || { echo "demo: bulwark-vmm is not built"; exit 1; }
cmdline="console=ttyS0 quiet panic=-1 bulwark.test=shell"
echo "demo: \$ bulwark-vmm --kernel $GUEST_KERNEL --initrd $GUEST_INITRD --cpus 2 --memory 512M --cmdline \"$cmdline\""
echo "demo:   (the kernel is Debian's linux-image-cloud-amd64, unmodified; the initramfs holds busybox, its virtio modules and our test agent)"
echo "demo: ---------------- guest console ----------------"
out=/tmp/demo.$$
"$BULWARK_TSRUN" --timeout 240 --mark "BULWARK-AGENT: init" --mark "reboot: Power down" -- \
	"$BULWARK_VMM" --kernel "$GUEST_KERNEL" --initrd "$GUEST_INITRD" --cpus 2 --memory 512M \
	--cmdline "$cmdline" </dev/null | tr -d '\r' | tee "$out" | grep -v -e '^TSRUN: ' -e '^bulwark-vmm: timing:'
rc=$(sed -n 's/^TSRUN: exit=\([0-9]*\) .*/\1/p' "$out")
echo "demo: ---------------- end of console ----------------"
echo "demo: bulwark-vmm exit status: ${rc:-killed (timeout)}"
grep '^bulwark-vmm: timing:' "$out" | sed 's/^/demo: /'
t_init=$(sed -n 's/^TSRUN: mark=1 us=//p' "$out")
t_off=$(sed -n 's/^TSRUN: mark=2 us=//p' "$out")
t_exit=$(sed -n 's/^TSRUN: exit=[0-9]* us=//p' "$out")
[ -n "$t_init" ] && echo "demo: boot to init, seen from the host: $((t_init / 1000)) ms"
[ -n "$t_off" ] && [ -n "$t_exit" ] && echo "demo: guest power-off to VMM exit: $(((t_exit - t_off) / 1000)) ms"
ok=1
grep -q '^guest:~# uname -a' "$out" || ok=0
grep -q '^BULWARK-AGENT: shell-exit=0' "$out" || ok=0
rm -f "$out"
[ "$rc" = 0 ] && [ $ok = 1 ] || { echo "demo: FAILED"; exit 1; }
exit 0

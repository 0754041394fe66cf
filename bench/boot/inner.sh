#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The benchmark's inside half (runs where real KVM is, with QEMU): boots the same guest
# N times under each VMM and measures, the same way for all of them, from the host side:
#   boot-to-init  exec of the VMM to the agent's first console line ("BULWARK-AGENT: init")
#   overhead      the VMM's RSS less the mapping that backs guest RAM, sampled from
#                 /proc/PID/smaps 0.5 s after init while the guest idles
#   KVM exits     debugfs counters read at the same moment, where debugfs is mounted
# Usage: inner.sh [N]
N=${1:-5}
CPUS=2
MEM=512
cmdline="console=ttyS0 quiet panic=-1 bulwark.test=idle bulwark.idle=1"
res=/tmp/bench.$$
mkdir -p "$res"
# KVM's counters (debugfs totals over all VMs; one VM runs at a time here), read with the RSS.
kvm_stats="exits io_exits mmio_exits pf_taken halt_exits"
stats=""
if [ -r /sys/kernel/debug/kvm/exits ]; then
	for k in $kvm_stats; do stats="$stats --stat /sys/kernel/debug/kvm/$k"; done
fi

one() { # vmm index
	vmm=$1 i=$2 out=$res/$1.$2
	case $vmm in
	bulwark)
		set -- --exclude-name bulwark-guest-ram -- "$BULWARK_VMM" --kernel "$GUEST_KERNEL" \
			--initrd "$GUEST_INITRD" --cpus $CPUS --memory ${MEM}M --cmdline "$cmdline" ;;
	*)
		set -- --exclude-size $((MEM << 20)) -- "$QEMU" -accel kvm -cpu host -M "${vmm#qemu-}" \
			-smp $CPUS -m $MEM -nodefaults -display none -serial stdio -no-reboot \
			-kernel "$GUEST_KERNEL" -initrd "$GUEST_INITRD" -append "$cmdline" ;;
	esac
	"$BULWARK_TSRUN" --timeout 90 --mark "BULWARK-AGENT: init" --smaps-after "BULWARK-AGENT: init" \
		--smaps-delay 500 $stats "$@" </dev/null 2>&1 | tr -d '\r' > "$out"
	init=$(sed -n 's/^TSRUN: mark=1 us=//p' "$out")
	rss=$(sed -n 's/^TSRUN: rss-kib=\([0-9]*\) .*/\1/p' "$out")
	nex=$(sed -n 's/^TSRUN: rss-kib=.* excluded-mappings=\([0-9]*\) .*/\1/p' "$out")
	exc=$(sed -n 's/^TSRUN: rss-kib=[0-9]* excluded-kib=\([0-9]*\) .*/\1/p' "$out")
	rc=$(sed -n 's/^TSRUN: exit=\([0-9]*\) .*/\1/p' "$out")
	kvm=$(sed -n 's/^bulwark-vmm: timing: first-kvm-run-us=//p' "$out")
	gi=$(sed -n 's/^bulwark-vmm: timing: guest-init-us=//p' "$out")
	up=$(sed -n 's/^BULWARK-AGENT: init-uptime-s=//p' "$out")
	ex=""
	for k in $kvm_stats; do
		ex="$ex $(sed -n "s/^TSRUN: stat $k=//p" "$out" | grep . || echo -)"
	done
	ok=yes
	grep -q '^BULWARK-AGENT: result=pass' "$out" && [ "$rc" = 0 ] && [ -n "$init" ] && [ "$nex" = 1 ] || ok=no
	echo "bench: $vmm run $i: boot-to-init ${init:-none} us, overhead ${rss:-?} KiB (guest RAM ${exc:-?} KiB in ${nex:-?} mapping), exit ${rc:-timeout}, guest clock at init ${up:-?} s${kvm:+, first-kvm-run $kvm us}${gi:+, guest-init $gi us}: $( [ $ok = yes ] && echo ok || echo FAILED)"
	if [ $ok = yes ]; then
		echo "$init $rss ${up:-0} ${kvm:--} ${gi:--}$ex" >> "$res/$vmm"
	else
		echo "bench: --- $vmm run $i console (last 15 lines) ---"
		grep -v '^TSRUN' "$out" | tail -15 | sed 's/^/bench:   /'
	fi
}

vmms="qemu-q35 qemu-microvm"
[ -n "${BULWARK_VMM:-}" ] && vmms="bulwark $vmms"
# Round-robin, so a change in the machine's load over the run hits every VMM alike.
skip=""
for i in $(seq 1 "$N"); do
	for vmm in $vmms; do
		case " $skip " in *" $vmm "*) continue ;; esac
		one "$vmm" "$i"
		# microvm either boots this kernel or not; one failure says which.
		if [ "$vmm" = qemu-microvm ] && [ ! -s "$res/$vmm" ]; then
			echo "bench: qemu-microvm did not boot this kernel to init (console above); not repeated"
			skip="$skip $vmm"
		fi
	done
done

median() { # column file
	[ -s "$2" ] || { echo ""; return; }
	awk -v c="$1" '$c != "" && $c != "-" { print $c }' "$2" | sort -n | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

q_init=$(median 1 "$res/qemu-q35")
q_rss=$(median 2 "$res/qemu-q35")
echo
echo "Boot benchmark: Debian $(uname -r) guest, $CPUS vCPUs, $MEM MiB, median of $N boots per VMM"
echo "(host: $BULWARK_TESTHOST. boot-to-init: the VMM's exec to the agent's first console line, host clock;"
echo " guest kernel: the guest's own clock at init, i.e. without the VMM's and firmware's share)"
printf '%-14s %6s %16s %8s %15s %15s %8s\n' VMM boots boot-to-init "vs q35" "guest kernel" "overhead RSS" "vs q35"
for vmm in $vmms; do
	n=$( [ -s "$res/$vmm" ] && wc -l < "$res/$vmm" || echo 0)
	init=$(median 1 "$res/$vmm")
	rss=$(median 2 "$res/$vmm")
	up=$(median 3 "$res/$vmm")
	if [ -z "$init" ]; then
		printf '%-14s %6s %16s %8s %15s %15s %8s\n' "$vmm" "0/$N" "did not boot" - - - -
		continue
	fi
	awk -v v="$vmm" -v n="$n/$N" -v i="$init" -v r="$rss" -v u="$up" -v qi="$q_init" -v qr="$q_rss" 'BEGIN {
		ri = qi ? sprintf("%.2fx", i / qi) : "-"; rr = qr ? sprintf("%.2fx", r / qr) : "-"
		printf "%-14s %6s %13.0f ms %8s %13.0f ms %11.2f MiB %8s\n", v, n, i / 1000, ri, u * 1000, r / 1024, rr }'
done
if [ -s "$res/bulwark" ]; then
	kvm=$(median 4 "$res/bulwark")
	gi=$(median 5 "$res/bulwark")
	echo
	echo "bulwark-vmm exec to first KVM_RUN (its timing line, median): ${kvm} us"
	echo "bulwark-vmm exec to the boot-timer write by init (median):   ${gi} us"
fi
if [ -n "$stats" ]; then
	echo
	echo "KVM exits from the VMM's start to 0.5 s after init (medians; pf_taken: nested page faults):"
	printf '%-14s' VMM; for k in $kvm_stats; do printf ' %11s' "$k"; done; echo
	for vmm in $vmms; do
		[ -s "$res/$vmm" ] || continue
		printf '%-14s' "$vmm"
		c=6
		for k in $kvm_stats; do printf ' %11s' "$(median $c "$res/$vmm")"; c=$((c + 1)); done
		echo
	done
fi
echo
echo "Targets: boot-to-init <= 0.70x QEMU q35; overhead <= 3 MiB; exec to first KVM_RUN < 5 ms."
if [ "$BULWARK_TESTHOST" = nested ]; then
	echo "Note: nested, every host-side instruction runs under QEMU TCG (the test host's CPU),"
	echo "so absolute times are far above real hardware; the ratios compare like with like."
fi
rm -rf "$res"

#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Stock Debian guests through bulwarkd and the CLI on real KVM: define, start two (image
# digests checked), console, pause/resume, stats, refusals by the Chinese Wall and by the
# image rule, restart of the daemon with the guests running, shutdown, audit verify.
#   BWD_BIN=DIR (bulwarkd, bulwark, bulwark-policy, bulwark-vmm) GUEST_KERNEL=... \
#   GUEST_INITRD=... tests/daemon/t-debian.sh
set -u
bin=${BWD_BIN:?} kernel=${GUEST_KERNEL:?} initrd=${GUEST_INITRD:?}
[ -w /dev/kvm ] || { echo "SKIP: no /dev/kvm"; exit 77; }
grep -qE 'vmx|svm' /proc/cpuinfo || { echo "SKIP: no hardware virtualization"; exit 77; }
t=$(mktemp -d)
dpid=
fail() { echo "FAIL: $*"; [ -f "$t/d.log" ] && tail -5 "$t/d.log"; cleanup; exit 1; }
cleanup() {
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null
	for p in $(sed -n 's/.*"pid": \([1-9][0-9]*\).*/\1/p' "$t"/start-*.json 2>/dev/null); do
		kill -9 "$p" 2>/dev/null
	done
	rm -rf "$t"
}
B() { "$bin/bulwark" --socket "$t/d.sock" "$@"; }
now() { cut -d" " -f1 /proc/uptime; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
start_daemon() {
	"$bin/bulwarkd" -c "$t/c.json" 2>>"$t/d.log" &
	dpid=$!
	i=0; while [ ! -S "$t/d.sock" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
}
ksha=$(sha256sum "$kernel" | cut -d' ' -f1) isha=$(sha256sum "$initrd" | cut -d' ' -f1)
"$bin/bulwark-policy" keygen "$t/k" >/dev/null || fail keygen
cat >"$t/p.pol" <<POL
policy debian_test;
host { cpus 64; memory 256G; }
ste web;
cw bank_a, bank_b;
label web { ste web; vcpus 1; memory 512M; cpu 20%;
	image kernel sha256 "$ksha"; image initrd sha256 "$isha"; }
conflict banks = bank_a, bank_b;
label bank_a { ste web; cw bank_a; vcpus 2; memory 1G; cpu 20%;
	image kernel sha256 "$ksha"; image initrd sha256 "$isha"; }
label bank_b { ste web; cw bank_b; vcpus 2; memory 1G; cpu 20%;
	image kernel sha256 "$ksha"; image initrd sha256 "$isha"; }
role admin { uid 0; create *; manage *; }
POL
"$bin/bulwark-policy" sign --key "$t/k.key" --version 1 --first -o "$t/p.bundle" "$t/p.pol" \
	>/dev/null || fail sign
cat >"$t/c.json" <<CFG
{"socket": "$t/d.sock", "state_dir": "$t/state", "run_dir": "$t/run", "vmm": "$bin/bulwark-vmm",
 "trusted_keys": ["$t/k.pub"], "audit_fsync": true}
CFG
start_daemon
B policy load "$t/p.bundle" >/dev/null || fail "policy load"
for n in a1:bank_a b1:bank_b w1:web; do
	cat >"$t/${n%%:*}.json" <<DOM
{"name": "${n%%:*}", "label": "${n#*:}", "vcpus": 1, "memory": "256M", "kernel": "$kernel",
 "initrd": "$initrd", "cmdline": "console=ttyS0 quiet panic=-1 bulwark.test=idle bulwark.idle=600"}
DOM
	B define "$t/${n%%:*}.json" >/dev/null || fail "define ${n%%:*}"
done
t0=$(now)
B --json start a1 >"$t/start-a1.json" || fail "start a1"
# The guest agent announces itself on the console once init runs.
i=0
while ! timeout 2 "$bin/bulwark" --socket "$t/d.sock" console a1 </dev/null 2>/dev/null |
	grep -q "BULWARK-AGENT"; do
	i=$((i + 1)); [ $i -lt 60 ] || fail "no agent output on the console in 120 s"
done
echo "guest a1 up; console works ($(since "$t0") s after start)"
B --json start w1 >"$t/start-w1.json" || fail "start w1"
B list
B pause a1 >/dev/null && B resume a1 >/dev/null || fail "pause/resume"
# An image the policy does not list for the label never boots.
sed -e 's/"w1"/"rogue"/' -e "s#\"kernel\": \"$kernel\"#\"kernel\": \"$initrd\"#" "$t/w1.json" \
	>"$t/rogue.json"
B define "$t/rogue.json" >/dev/null || fail "define rogue"
B start rogue 2>"$t/err"; rc=$?
[ $rc -eq 5 ] && grep -q "image rule" "$t/err" || fail "image refusal (rc $rc): $(cat "$t/err")"
echo "rogue refused: $(cat "$t/err")"
B stats a1 | grep -E "^(cpu_ns|rss_bytes|exits)" || fail stats
B start b1 2>"$t/err"; rc=$?
[ $rc -eq 5 ] && grep -q "Chinese Wall" "$t/err" || fail "wall refusal (rc $rc): $(cat "$t/err")"
echo "b1 refused: $(cat "$t/err")"
pid=$(sed -n 's/.*"pid": \([0-9]*\).*/\1/p' "$t/start-a1.json")
kill "$dpid"; wait "$dpid"; dpid=
kill -0 "$pid" || fail "the guest died with the daemon"
start_daemon
B list | grep -q "a1 .* running" || fail "not re-attached: $(B list)"
timeout 2 "$bin/bulwark" --socket "$t/d.sock" console a1 </dev/null 2>/dev/null | grep -q . ||
	fail "console after re-attach"
echo "daemon restarted; a1 re-attached and answering"
t1=$(now)
B shutdown a1 --timeout 30 --wait || fail shutdown
echo "shutdown took $(since "$t1") s: $(B --json show a1 | grep last_exit)"
B start b1 >"$t/start-b1.json" || fail "b1 after a1 stopped"
B destroy b1 >/dev/null || fail "destroy b1"
B destroy w1 >/dev/null || fail "destroy w1"
B audit verify || fail "audit verify"
B audit tail -n 40
cleanup
echo ok

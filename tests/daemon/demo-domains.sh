#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The multi-domain part of `make demo`, narrated: bulwarkd with a signed demo policy, three
# labelled stock Debian guests through the CLI, a start refused by the Chinese Wall and one
# refused by the image rule, a graceful shutdown that lifts the wall, and the audit trail
# shown, verified, and caught when a record is edited. Runs where real KVM is (see
# tests/daemon/testhost.sh, BWD_SCRIPT=demo-domains.sh).
#   BWD_BIN=DIR GUEST_KERNEL=... GUEST_INITRD=... tests/daemon/demo-domains.sh
set -u
bin=${BWD_BIN:?} kernel=${GUEST_KERNEL:?} initrd=${GUEST_INITRD:?}
[ -w /dev/kvm ] || { echo "SKIP: no /dev/kvm"; exit 77; }
t=$(mktemp -d)
dpid=
cleanup() {
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null
	for p in $(sed -n 's/.*"pid": \([1-9][0-9]*\).*/\1/p' "$t"/start-*.json 2>/dev/null); do
		kill -9 "$p" 2>/dev/null
	done
	rm -rf "$t"
}
fail() { echo "demo: FAILED: $*"; [ -f "$t/d.log" ] && tail -5 "$t/d.log"; cleanup; exit 1; }
step() { printf '\n== %s\n' "$*"; }
# Shows a command as a user would type it, then runs it.
run() { echo "\$ $*" | sed -e "s#$bin/##g" -e 's#^\$ B #$ bulwark #' -e "s#$t/##g"; "$@"; }
B() { "$bin/bulwark" --socket "$t/d.sock" "$@"; }

step "A signing key and the demo policy (docs/policy.md)"
"$bin/bulwark-policy" keygen "$t/admin" >/dev/null || fail keygen
ksha=$(sha256sum "$kernel" | cut -d' ' -f1) isha=$(sha256sum "$initrd" | cut -d' ' -f1)
cat >"$t/demo.pol" <<POL
policy demo;
host { cpus 64; memory 256G; }
ste web;
cw bank_a, bank_b;
# Two banks that must never run on this host at the same time.
conflict banks = bank_a, bank_b;
label web    { ste web; vcpus 1; memory 512M; cpu 20%;
	image kernel sha256 "${ksha}"; image initrd sha256 "${isha}"; }
label bank_a { ste web; cw bank_a; vcpus 1; memory 512M; cpu 20%;
	image kernel sha256 "${ksha}"; image initrd sha256 "${isha}"; }
label bank_b { ste web; cw bank_b; vcpus 1; memory 512M; cpu 20%;
	image kernel sha256 "${ksha}"; image initrd sha256 "${isha}"; }
role admin { uid 0; create *; manage *; }
POL
sed -e "s/$ksha/<sha256 of Debian's vmlinuz>/" -e "s/$isha/<sha256 of the initrd>/" "$t/demo.pol"
run "$bin/bulwark-policy" sign --key "$t/admin.key" --version 1 --first -o "$t/demo.bundle" \
	"$t/demo.pol" || fail sign

step "bulwarkd, trusting only that key; the signed policy loaded"
cat >"$t/c.json" <<CFG
{"socket": "$t/d.sock", "state_dir": "$t/state", "run_dir": "$t/run", "vmm": "$bin/bulwark-vmm",
 "trusted_keys": ["$t/admin.pub"]}
CFG
"$bin/bulwarkd" -c "$t/c.json" 2>>"$t/d.log" &
dpid=$!
i=0; while [ ! -S "$t/d.sock" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
run B policy load "$t/demo.bundle" || fail "policy load"
run B policy show || fail "policy show"

step "Four domains defined: two banks, a web server, and one with an unlisted kernel"
for n in a1:bank_a b1:bank_b w1:web; do
	cat >"$t/${n%%:*}.json" <<DOM
{"name": "${n%%:*}", "label": "${n#*:}", "vcpus": 1, "memory": "256M", "kernel": "$kernel",
 "initrd": "$initrd", "cmdline": "console=ttyS0 quiet panic=-1 bulwark.test=idle bulwark.idle=600"}
DOM
	B define "$t/${n%%:*}.json" >/dev/null || fail "define ${n%%:*}"
done
sed -e 's/"w1"/"rogue"/' -e "s#\"kernel\": \"$kernel\"#\"kernel\": \"$initrd\"#" "$t/w1.json" \
	>"$t/rogue.json"
B define "$t/rogue.json" >/dev/null || fail "define rogue"
run B list

step "bank_a and web start (each start: role, label, images, resources, admission, Chinese Wall)"
B --json start a1 >"$t/start-a1.json" || fail "start a1"
echo "\$ bulwark start a1"
B --json start w1 >"$t/start-w1.json" || fail "start w1"
echo "\$ bulwark start w1"
i=0
while ! timeout 2 "$bin/bulwark" --socket "$t/d.sock" console a1 </dev/null 2>/dev/null >"$t/con" ||
	! grep -q "BULWARK-AGENT: init" "$t/con"; do
	i=$((i + 1)); [ $i -lt 90 ] || fail "no guest output on a1's console"
done
echo "\$ bulwark console a1    (first lines)"
tr -d '\r' <"$t/con" | grep "BULWARK-AGENT" | head -4
run B list

step "bank_b is refused while bank_a runs (Chinese Wall); rogue's kernel is not in the policy"
run B start b1; [ $? -eq 5 ] || fail "b1 was not refused"
run B start rogue; [ $? -eq 5 ] || fail "rogue was not refused"

step "Graceful shutdown of a1 (ACPI power button): the wall lifts, bank_b may start"
run B shutdown a1 --timeout 60 --wait || fail shutdown
run B start b1 || fail "b1 after a1"
run B list
B destroy b1 >/dev/null; B destroy w1 >/dev/null

step "The audit trail: hash-chained JSON lines"
run B audit tail -n 8
run B audit verify || fail "audit verify"
cp "$t/state/audit.log" "$t/edited.log"
sed -i '3s/"time":"20/"time":"19/' "$t/edited.log"
echo "(a copy of the log with record 3's time backdated by a century)"
run B audit verify --file "$t/edited.log"; [ $? -eq 6 ] || fail "the edit went unnoticed"
cleanup
echo
echo "demo: done"

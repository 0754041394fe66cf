#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bulwarkd load benchmark: a daemon with a signed policy, 20 defined domains and two tiny
# guests running; 64 clients for 30 s (bench_daemon); then the daemon's fds and RSS are
# compared with their values after a warm-up run (a leak shows as growth).
#   bench/daemon/run.sh BUILD [CLIENTS] [SECONDS]
set -euo pipefail
build=$(cd "${1:-build}" && pwd) clients=${2:-64} secs=${3:-30}
tmp=$(mktemp -d)
pol=$build/src/tools/bulwark-policy
cli=(env BULWARK_SOCKET=$tmp/d.sock "$build/src/cli/bulwark")
cleanup() { [ -n "${dpid:-}" ] && kill "$dpid" 2>/dev/null; for p in ${vmms:-}; do kill -9 "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
k=$(sha256sum "$build/tests/kvm/tiny-hang.bin" | cut -d' ' -f1)
"$pol" keygen "$tmp/k" >/dev/null
cat >"$tmp/p.pol" <<POL
policy bench;
host { cpus 64; memory 256G; }
ste web;
label web { ste web; vcpus 1; memory 256M; cpu 5%; image kernel sha256 "$k"; }
role admin { uid 0; create *; manage *; }
POL
"$pol" sign --key "$tmp/k.key" --version 1 --first -o "$tmp/p.bundle" "$tmp/p.pol" >/dev/null
cat >"$tmp/c.json" <<CFG
{"socket": "$tmp/d.sock", "state_dir": "$tmp/state", "run_dir": "$tmp/run",
 "vmm": "$build/src/vmm/bulwark-vmm", "trusted_keys": ["$tmp/k.pub"],
 "max_clients": 4096, "host": {"cpus": 64, "memory": "64G"}}
CFG
"$build/src/daemon/bulwarkd" -c "$tmp/c.json" 2>"$tmp/d.log" &
dpid=$!
for _ in $(seq 100); do [ -S "$tmp/d.sock" ] && break; sleep 0.05; done
"${cli[@]}" policy load "$tmp/p.bundle" >/dev/null
for i in $(seq -w 1 20); do
	echo "{\"name\":\"d$i\",\"label\":\"web\",\"memory\":64,\"kernel\":\"$build/tests/kvm/tiny-hang.bin\"}" >"$tmp/d$i.json"
	"${cli[@]}" define "$tmp/d$i.json" >/dev/null
done
vmms="$("${cli[@]}" --json start d01 | sed -n 's/.*"pid": \([0-9]*\).*/\1/p') $("${cli[@]}" --json start d02 | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')"
fds() { ls /proc/$dpid/fd | wc -l; }
rss() { awk '/VmRSS/ {print $2}' /proc/$dpid/status; }
"$build/bench/bench_daemon" "$tmp/d.sock" "$clients" 3 d01 >/dev/null || true
f0=$(fds) r0=$(rss)
"$build/bench/bench_daemon" "$tmp/d.sock" "$clients" "$secs" d01
rc=$?
sleep 0.5
f1=$(fds) r1=$(rss)
echo "daemon fds: $f0 after warm-up, $f1 after the run; RSS: ${r0} KiB -> ${r1} KiB"
"${cli[@]}" audit verify
[ "$f1" -le "$f0" ] || { echo "FD LEAK"; exit 1; }
[ "$r1" -le $((r0 + 4096)) ] || { echo "RSS grew by more than 4 MiB"; exit 1; }
exit $rc

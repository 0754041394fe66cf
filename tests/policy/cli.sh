#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# bulwark-policy end to end: keys, compile, sign, verify (replay, predecessor, tamper,
# wrong key), eval, diff, and the documented exit codes. Keys live in a temp dir only.
set -u
tool=$1 example=$2
case $tool in /*) ;; *) tool=$PWD/$tool ;; esac
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fails=0

# expect CODE DESCRIPTION -- COMMAND...: runs it, checks the exit code, keeps output in $out
expect() {
	want=$1 what=$2
	shift 3
	out=$("$@" 2>&1)
	got=$?
	if [ "$got" -ne "$want" ]; then
		echo "FAIL: $what: exit $got, expected $want"
		echo "$out" | sed 's/^/    /'
		fails=$((fails + 1))
	fi
}
contains() { # TEXT DESCRIPTION
	case $out in *"$1"*) ;; *) echo "FAIL: $2: output lacks '$1'"; echo "$out" | sed 's/^/    /'; fails=$((fails + 1)) ;; esac
}

P=$tool
expect 0 "keygen k1" -- $P keygen "$tmp/k1"
expect 0 "keygen k2" -- $P keygen "$tmp/k2"
expect 1 "keygen never overwrites" -- $P keygen "$tmp/k1"
[ "$(stat -c %a "$tmp/k1.key")" = 600 ] || { echo "FAIL: private key mode"; fails=$((fails + 1)); }

expect 0 "compile" -- $P compile -o "$tmp/ex.bin" "$example"
expect 0 "show compiled" -- $P show "$tmp/ex.bin"
a=$out
expect 0 "show text" -- $P show "$example"
[ "$a" = "$out" ] || { echo "FAIL: compiled and text show differ"; fails=$((fails + 1)); }

expect 0 "sign v1" -- $P sign --key "$tmp/k1.key" --version 1 --first -o "$tmp/b1" "$example"
expect 0 "verify v1" -- $P verify --trust "$tmp/k1.pub" "$tmp/b1"
contains "ok: version 1" "verify v1 output"
expect 1 "verify with an unpinned key" -- $P verify --trust "$tmp/k2.pub" "$tmp/b1"
contains "untrusted key" "unpinned key reason"
expect 1 "threshold 2 with one signature" -- $P verify --trust "$tmp/k1.pub" --trust "$tmp/k2.pub" --threshold 2 "$tmp/b1"

{ cat "$example"; echo "allow web -> db : grant_map_write;"; } > "$tmp/v2.pol"
expect 0 "sign v2 by two keys" -- $P sign --key "$tmp/k1.key" --key "$tmp/k2.key" --version 2 --prev "$tmp/b1" -o "$tmp/b2" "$tmp/v2.pol"
expect 0 "verify v2 over v1" -- $P verify --trust "$tmp/k1.pub" --trust "$tmp/k2.pub" --threshold 2 --current "$tmp/b1" "$tmp/b2"
expect 1 "replay v1 over v2" -- $P verify --trust "$tmp/k1.pub" --current "$tmp/b2" "$tmp/b1"
contains "rollback" "replay reason"
expect 0 "sign v3 claiming to be first" -- $P sign --key "$tmp/k1.key" --version 3 --first -o "$tmp/b3" "$tmp/v2.pol"
expect 1 "wrong predecessor" -- $P verify --trust "$tmp/k1.pub" --current "$tmp/b2" "$tmp/b3"
contains "current policy" "predecessor reason"
cp "$tmp/b2" "$tmp/bad"
printf 'X' | dd of="$tmp/bad" bs=1 seek=300 conv=notrunc 2>/dev/null
expect 1 "tampered bundle" -- $P verify --trust "$tmp/k1.pub" "$tmp/bad"
contains "bad signature" "tamper reason"
head -c 100 "$tmp/b2" > "$tmp/short"
expect 1 "truncated bundle" -- $P verify --trust "$tmp/k1.pub" "$tmp/short"
contains "truncated" "truncation reason"
expect 0 "show bundle" -- $P show "$tmp/b2"
contains "version 2, 2 signature(s)" "bundle header"

expect 0 "eval allow" -- $P eval "$example" web_frontend database vsock_connect 5432
contains "allow: rule #" "eval rule"
expect 1 "eval deny" -- $P eval "$example" web_frontend database grant_map_write
contains "deny: default deny" "eval reason"
expect 0 "eval on a bundle" -- $P eval "$tmp/b2" web_frontend database grant_map_write
expect 1 "eval explain" -- $P eval --explain "$example" web_frontend storage_backend evtchn_bind
contains "share no STE type" "explain text"
expect 2 "eval unknown label" -- $P eval "$example" nosuch database manage
expect 2 "eval unknown op" -- $P eval "$example" web_frontend database fly
expect 2 "eval vsock without port" -- $P eval "$example" web_frontend database vsock_connect
expect 2 "eval too few args" -- $P eval "$example" web_frontend

expect 0 "diff" -- $P diff "$example" "$tmp/v2.pol"
contains "+ web_frontend -> database : grant_map_write" "diff change"
contains "+ bank_a_app -> database : grant_map_write" "diff change via shared type"
contains "3 change(s)" "diff count"
sed 's/uid 2001;/uid 2001, 2002;/; s/uid 1500;/uid 1501;/' "$example" > "$tmp/roles.pol"
expect 0 "diff of roles" -- $P diff "$example" "$tmp/roles.pol"
contains "+ admin uid 2002 : create bank_a_app" "role diff create"
contains "- admin uid 1500 : load_policy" "role diff load"
contains "+ admin uid 1501 : load_policy" "role diff load"
contains "4 change(s)" "role diff count"
expect 0 "diff of a policy with itself" -- $P diff "$example" "$tmp/b1"
contains "0 change(s)" "no changes"

expect 0 "help" -- $P --help
for c in keygen check compile sign verify show eval diff; do
	expect 0 "$c --help" -- $P $c --help
done
expect 2 "no command" -- $P
expect 2 "unknown command" -- $P frobnicate
expect 2 "sign without key" -- $P sign --version 1 --first -o "$tmp/x" "$example"
expect 2 "sign with --prev and --first" -- $P sign --key "$tmp/k1.key" --version 2 --first --prev "$tmp/b1" -o "$tmp/x" "$example"
expect 1 "sign with a public key" -- $P sign --key "$tmp/k1.pub" --version 1 --first -o "$tmp/x" "$example"
expect 1 "check missing file" -- $P check "$tmp/nope.pol"

[ $fails -eq 0 ] && echo "all bulwark-policy checks passed"
exit $((fails > 0))

#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Golden-file test of the policy language: runs `bulwark-policy check` and `show` on
# DIR/NAME.pol and compares stdout, stderr and exit codes with DIR/NAME.out.
# Regenerate an expectation (then review the diff!) with: golden.sh TOOL DIR NAME --update
set -u
tool=$1 dir=$2 name=$3
# meson passes the tool relative to the build directory; make it absolute before cd.
case $tool in /*) ;; *) tool=$PWD/$tool ;; esac
cd "$dir" || exit 2
actual=$(
	echo "== check"
	"$tool" check "$name.pol" 2>&1
	echo "exit $?"
	echo "== show"
	"$tool" show "$name.pol" 2>&1
	echo "exit $?"
)
if [ "${4:-}" = "--update" ]; then
	printf '%s\n' "$actual" > "$name.out"
	exit 0
fi
printf '%s\n' "$actual" | diff -u "$name.out" - || { echo "golden mismatch: $dir/$name"; exit 1; }

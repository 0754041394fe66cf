#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Checks that a binary was built hardened: PIE, full RELRO (BIND_NOW + GNU_RELRO), a
# non-executable stack, the stack protector, and _FORTIFY_SOURCE (checked libc calls).
# Usage: hardening.sh BINARY [--no-fortify]   (sanitizer builds drop _FORTIFY_SOURCE)
set -u
bin=$1
fortify=${2:-}
fail=0
no() { echo "FAIL: $bin: $*"; fail=1; }
command -v readelf >/dev/null || { echo "SKIP: readelf not installed"; exit 77; }
h=$(readelf -h "$bin") || exit 1
echo "$h" | grep -q 'Type:.*DYN' || no "not position-independent (ELF type is not DYN)"
readelf -d "$bin" | grep -q 'FLAGS_1.*PIE' || no "no PIE flag"
readelf -d "$bin" | grep -Eq 'BIND_NOW|FLAGS.*NOW' || no "no BIND_NOW (partial RELRO only)"
readelf -lW "$bin" | grep -q 'GNU_RELRO' || no "no GNU_RELRO segment"
readelf -lW "$bin" | grep 'GNU_STACK' | grep -q 'RWE' && no "executable stack"
syms=$(readelf --dyn-syms -W "$bin")
echo "$syms" | grep -q '__stack_chk_fail' || no "no stack protector (__stack_chk_fail not referenced)"
if [ "$fortify" != --no-fortify ]; then
	echo "$syms" | grep -Eq '__[a-z_]+_chk(@|$| )' || no "no _FORTIFY_SOURCE checked calls"
fi
[ $fail -eq 0 ] && echo "ok: $bin is hardened"
exit $fail

#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Prints mkcpio.py manifest lines that put a dynamically linked program, the shared
# libraries `ldd` lists for it and the dynamic loader into an initramfs.
# Usage: libs.sh PROGRAM DEST-PATH
set -eu
prog=$1 dest=$2
dirs=""
emit_dir() {
	[ "$1" = / ] && return 0
	emit_dir "$(dirname "$1")"
	case " $dirs " in *" $1 "*) return 0 ;; esac
	dirs="$dirs $1"
	echo "dir $1 755"
}
emit_dir "$(dirname "$dest")"
echo "file $dest $prog 755"
for lib in $(ldd "$prog" | awk '/=> \// { print $3 } /^\t\// { print $1 }' | sort -u); do
	emit_dir "$(dirname "$lib")"
	echo "file $lib $(readlink -f "$lib") 755"
done

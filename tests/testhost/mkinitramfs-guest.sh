#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds a guest initramfs (uncompressed newc cpio): the bulwark guest agent as /init,
# static busybox with its applet links, and the named kernel modules with everything
# they depend on, listed in load order for the agent.
# Usage: mkinitramfs-guest.sh MODULES_DIR AGENT OUT.cpio [MODULE...]
#   MODULES_DIR: an extracted /lib/modules/<version> of the guest kernel
set -eu
[ $# -ge 3 ] || { echo "usage: $0 MODULES_DIR AGENT OUT.cpio [MODULE...]" >&2; exit 2; }
moddir=$1 agent=$2 out=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
kver=$(basename "$moddir")
busybox=${BUSYBOX:-/bin/busybox}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Index module name -> path (names use '_' and '-' interchangeably).
find "$moddir/kernel" -name '*.ko' | while read -r p; do
	n=$(basename "$p" .ko | tr - _)
	echo "$n $p"
done | sort > "$tmp/index"

# `modinfo -F depends` where kmod is installed; else the same field read from the .ko's
# .modinfo section with objcopy (binutils comes with build-essential).
moddeps() {
	if command -v modinfo >/dev/null 2>&1; then
		modinfo -F depends "$1"
	else
		objcopy -O binary -j .modinfo "$1" "$tmp/modinfo" &&
			tr '\0' '\n' < "$tmp/modinfo" | sed -n 's/^depends=//p'
	fi
}

modpath() { awk -v n="$(echo "$1" | tr - _)" '$1 == n { print $2; exit }' "$tmp/index"; }

# Depth-first: a module is listed after everything it depends on, once.
: > "$tmp/order"
visit() {
	n=$(echo "$1" | tr - _)
	grep -qx "$n" "$tmp/order" && return 0
	grep -qx "$n" "$tmp/visiting" 2>/dev/null && { echo "mkinitramfs-guest: dependency loop at $n" >&2; exit 1; }
	echo "$n" >> "$tmp/visiting"
	p=$(modpath "$n")
	if [ -z "$p" ]; then
		if grep -q "/$1.ko\$\|/$n.ko\$" "$moddir/modules.builtin" 2>/dev/null; then
			return 0
		fi
		echo "mkinitramfs-guest: no module $1 in $moddir" >&2
		exit 1
	fi
	deps=$(moddeps "$p") || { echo "mkinitramfs-guest: cannot read $p" >&2; exit 1; }
	for d in $(echo "$deps" | tr , ' '); do
		visit "$d"
	done
	n=$(echo "$1" | tr - _) # sh has no locals: the recursion reassigned it
	echo "$n" >> "$tmp/order"
	grep -vx "$n" "$tmp/visiting" > "$tmp/visiting.new" || true
	mv "$tmp/visiting.new" "$tmp/visiting"
}
for m in "$@"; do
	visit "$m"
done

{
	echo "dir /bin 755"
	echo "dir /sbin 755"
	echo "dir /etc 755"
	echo "dir /etc/bulwark 755"
	echo "dir /dev 755"
	echo "nod /dev/console 600 c 5 1"
	echo "nod /dev/null 666 c 1 3"
	echo "dir /proc 755"
	echo "dir /sys 755"
	echo "dir /tmp 1777"
	echo "dir /root 700"
	echo "file /init $agent 755"
	echo "file /bin/busybox $busybox 755"
	"$busybox" --list | sort -u | while read -r a; do
		[ "$a" = busybox ] || echo "slink /bin/$a busybox 777"
	done
	echo "dir /lib 755"
	echo "dir /lib/modules 755"
	echo "dir /lib/modules/$kver 755"
	: > "$tmp/list"
	while read -r n; do
		echo "file /lib/modules/$kver/$n.ko $(modpath "$n") 644"
		echo "/lib/modules/$kver/$n.ko" >> "$tmp/list"
	done < "$tmp/order"
	echo "file /etc/bulwark/modules $tmp/list 644"
} > "$tmp/manifest"
python3 "$here/mkcpio.py" "$tmp/manifest" > "$out.tmp"
mv "$out.tmp" "$out"
echo "mkinitramfs-guest: $out: $(wc -l < "$tmp/order") modules ($(tr '\n' ' ' < "$tmp/order"))" >&2

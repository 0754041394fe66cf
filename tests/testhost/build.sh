#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Builds the nested KVM test host's artifacts into BUILD_DIR/testhost, cached: each step
# is skipped while the hash of its inputs matches its stamp. Outputs:
#   kernel/vmlinuz            Debian's cloud kernel: the test host's and the guests' kernel
#   guest/initrd.cpio         guest initramfs: agent as /init, busybox, virtio modules
#   host-base.cpio            test host layer: busybox, kvm modules, /init, guest kernel+initrd
#   host-qemu.cpio            test host layer: qemu-system-x86_64, its libraries, firmware
#   bin/bulwark-agent, bin/bulwark-tsrun, bin/bulwark-ctlsend, bin/bulwark-vsock-host
#                             static helpers
# Exit status: 0 built or up to date, 77 the kernel cannot be had (offline), 1 error.
# BULWARK_KERNEL_DEB=path/to/linux-image-*.deb uses that package instead of downloading.
set -euo pipefail
BUILD=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
mkdir -p "$BUILD/testhost"
TH=$(cd "$BUILD/testhost" && pwd)
CACHE=$TH/cache
mkdir -p "$CACHE" "$TH/bin" "$TH/guest" "$TH/kernel"
log() { echo "testhost: $*" >&2; }

# Modules the guest initramfs loads at boot (with their dependencies): virtio transport
# and devices for the VMM's upcoming virtio-pci devices; harmless without the devices.
# button + evdev: the ACPI power button as /dev/input/event* (the agent's watcher).
GUEST_MODULES="virtio_pci virtio_blk virtio_net virtio_rng vmw_vsock_virtio_transport button evdev"
# Test host modules (under kernel/): KVM, and tun for the virtio-net tests' taps.
HOST_MODULES="virt/lib/irqbypass arch/x86/kvm/kvm arch/x86/kvm/kvm-amd arch/x86/kvm/kvm-intel drivers/net/tun"
CFLAGS_STATIC="-static -O2 -Wall -Wextra -Wshadow -Wvla -Wstrict-prototypes -Wmissing-prototypes -Werror"

# fresh NAME INPUT-DESCRIPTION: true (and remembers the hash) if NAME must be rebuilt.
fresh() {
	local h
	h=$(printf '%s' "$2" | sha256sum | cut -d' ' -f1)
	if [ -f "$TH/.stamp-$1" ] && [ "$(cat "$TH/.stamp-$1")" = "$h" ]; then
		return 1
	fi
	pending_hash=$h
	return 0
}
stamp() { echo "$pending_hash" > "$TH/.stamp-$1"; }
hashf() { sha256sum "$@" | cut -d' ' -f1 | tr '\n' ' '; }

# ---- 1. the kernel package ----
kernel_pkg() {
	apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ { print $2; exit }'
}
if [ -n "${BULWARK_KERNEL_DEB:-}" ]; then
	deb=$BULWARK_KERNEL_DEB
else
	pkg=$(kernel_pkg)
	if [ -z "$pkg" ]; then
		log "apt knows no linux-image-cloud-amd64; running apt-get update"
		apt-get update -qq >/dev/null 2>&1 || true
		pkg=$(kernel_pkg)
	fi
	if [ -z "$pkg" ]; then
		# Offline but cached from an earlier run: keep using it.
		deb=$(ls "$CACHE"/linux-image-*-cloud-amd64_*.deb 2>/dev/null | tail -1)
		[ -n "$deb" ] || { log "SKIP: cannot resolve linux-image-cloud-amd64 (no package lists, offline?)"; exit 77; }
	else
		deb=$(ls "$CACHE/${pkg}"_*.deb 2>/dev/null | tail -1 || true)
		if [ -z "$deb" ]; then
			log "downloading $pkg"
			if ! (cd "$CACHE" && apt-get download -q "$pkg" >/dev/null 2>&1); then
				log "apt-get download failed; running apt-get update and retrying"
				apt-get update -qq >/dev/null 2>&1 || true
				(cd "$CACHE" && apt-get download -q "$pkg" >/dev/null 2>&1) ||
					{ log "SKIP: cannot download $pkg (offline?)"; exit 77; }
			fi
			deb=$(ls "$CACHE/${pkg}"_*.deb | tail -1)
		fi
	fi
fi
if fresh kernel "$(hashf "$deb")"; then
	log "extracting $(basename "$deb")"
	rm -rf "$CACHE/kernel-root"
	dpkg-deb -x "$deb" "$CACHE/kernel-root"
	kver=$(ls "$CACHE/kernel-root/lib/modules" | head -1)
	cp "$CACHE/kernel-root/boot/vmlinuz-$kver" "$TH/kernel/vmlinuz"
	echo "$kver" > "$TH/kernel/version"
	stamp kernel
fi
kver=$(cat "$TH/kernel/version")
moddir=$CACHE/kernel-root/lib/modules/$kver

# ---- 2. static helpers ----
for prog in agent:tests/guest/agent.c tsrun:tests/testhost/tsrun.c ctlsend:tests/testhost/ctlsend.c \
	vsock-host:tests/testhost/vsock-host.c; do
	name=${prog%%:*} src=$top/${prog#*:}
	if fresh "$name" "$(hashf "$src" "$top/src/common/ctl.h") $CFLAGS_STATIC $(gcc -dumpfullversion)"; then
		log "compiling bulwark-$name"
		# shellcheck disable=SC2086
		gcc $CFLAGS_STATIC -o "$TH/bin/bulwark-$name" "$src"
		stamp "$name"
	fi
done

# ---- 3. guest initramfs ----
if fresh guest "$(hashf "$TH/bin/bulwark-agent" /bin/busybox "$here/mkinitramfs-guest.sh" "$here/mkcpio.py") $kver $GUEST_MODULES"; then
	log "building the guest initramfs"
	# shellcheck disable=SC2086
	"$here/mkinitramfs-guest.sh" "$moddir" "$TH/bin/bulwark-agent" "$TH/guest/initrd.cpio" $GUEST_MODULES
	stamp guest
fi

# ---- 4. test host base layer ----
if fresh host-base "$(hashf "$TH/kernel/vmlinuz" "$TH/guest/initrd.cpio" "$TH/bin/bulwark-tsrun" "$TH/bin/bulwark-ctlsend" "$TH/bin/bulwark-vsock-host" /bin/busybox "$here/host-init.sh" "$here/mkcpio.py") $kver $HOST_MODULES"; then
	log "building the test host base layer"
	kvmdir=$moddir/kernel
	{
		for d in bin sbin usr usr/bin usr/sbin usr/local usr/local/bin dev proc sys tmp run \
			etc lib lib/modules "lib/modules/$kver" guest bulwark src; do
			echo "dir /$d 755"
		done
		echo "nod /dev/console 600 c 5 1"
		echo "nod /dev/null 666 c 1 3"
		echo "file /init $here/host-init.sh 755"
		echo "file /bin/busybox /bin/busybox 755"
		/bin/busybox --list | sort -u | while read -r a; do
			[ "$a" = busybox ] || echo "slink /bin/$a busybox 777"
		done
		for m in $HOST_MODULES; do
			echo "file /lib/modules/$kver/$(basename "$m").ko $kvmdir/$m.ko 644"
		done
		echo "file /guest/vmlinuz $TH/kernel/vmlinuz 644"
		echo "file /guest/initrd.cpio $TH/guest/initrd.cpio 644"
		echo "file /usr/bin/bulwark-tsrun $TH/bin/bulwark-tsrun 755"
		echo "file /usr/bin/bulwark-ctlsend $TH/bin/bulwark-ctlsend 755"
		echo "file /usr/bin/bulwark-vsock-host $TH/bin/bulwark-vsock-host 755"
	} > "$TH/host-base.manifest"
	python3 "$here/mkcpio.py" "$TH/host-base.manifest" > "$TH/host-base.cpio"
	stamp host-base
fi

# ---- 5. test host QEMU layer (only the benchmark and the reference tests use it) ----
qemu=$(command -v qemu-system-x86_64 || true)
if [ -z "$qemu" ]; then
	log "no qemu-system-x86_64: cannot boot the test host (install qemu-system-x86)"
	exit 1
fi
fw_files="/usr/share/seabios/bios-256k.bin /usr/share/qemu/qboot.rom /usr/share/qemu/linuxboot_dma.bin
/usr/share/qemu/linuxboot.bin /usr/share/qemu/kvmvapic.bin /usr/share/qemu/pvh.bin
/usr/share/qemu/multiboot.bin /usr/share/qemu/multiboot_dma.bin"
if fresh host-qemu "$(hashf "$qemu" "$here/mkcpio.py" "$here/libs.sh" $fw_files) $(dpkg-query -W -f='${Version}' qemu-system-x86 2>/dev/null || true)"; then
	log "building the test host QEMU layer"
	{
		# shellcheck disable=SC2086
		"$here/libs.sh" "$qemu" /usr/bin/qemu-system-x86_64
		echo "dir /usr/share 755"
		echo "dir /usr/share/qemu 755"
		echo "dir /usr/share/seabios 755"
		for f in $fw_files; do
			# QEMU looks in its data dir; links are followed so the files are real.
			echo "file $f $(readlink -f "$f") 644"
		done
		echo "slink /usr/share/qemu/bios-256k.bin /usr/share/seabios/bios-256k.bin 777"
		echo "slink /usr/share/qemu/bios-microvm.bin qboot.rom 777"
	} > "$TH/host-qemu.manifest"
	python3 "$here/mkcpio.py" "$TH/host-qemu.manifest" > "$TH/host-qemu.cpio"
	stamp host-qemu
fi
log "ready: kernel $kver, $(du -h "$TH/host-base.cpio" | cut -f1) base layer, $(du -h "$TH/host-qemu.cpio" | cut -f1) QEMU layer"

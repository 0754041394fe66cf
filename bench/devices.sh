#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Device benchmark: virtio-blk IOPS and MiB/s, virtio-net throughput both ways, vsock
# round trips, and the VMM's host CPU per operation, bulwark-vmm against QEMU q35 with
# the same guest, in one run of the nested KVM test host (or directly with hardware
# virtualization). See bench/devices/README.
# Usage: bench/devices.sh [BUILD_DIR] [ROUNDS] [SECONDS]    (defaults: build, 2, 5)
set -u
BUILD=${1:-build}
N=${2:-2}
SECS=${3:-5}
top=$(cd "$(dirname "$0")/.." && pwd)
here=$top/bench/devices
th=$top/tests/testhost
die() { echo "bench: error: $*" >&2; exit 1; }
[ -x "$BUILD/src/vmm/bulwark-vmm" ] || echo "bench: $BUILD/src/vmm/bulwark-vmm is not built; measuring QEMU only" >&2
"$th/build.sh" "$BUILD" 2>/dev/null
rc=$?
[ $rc -eq 0 ] || { [ $rc -eq 77 ] && echo "SKIP: the test host cannot be built (offline?)"; exit $rc; }
out=$(cd "$BUILD" && pwd)/bench-devices
mkdir -p "$out" || die "cannot create $out"
kver=$(cat "$BUILD/testhost/kernel/version") || die "no test host kernel in $BUILD/testhost"
moddir=$BUILD/testhost/cache/kernel-root/lib/modules/$kver/kernel

# The load generator, static so it runs in the guest and in the test host alike.
cflags="-static -O2 -pthread -Wall -Wextra -Wshadow -Wvla -Wstrict-prototypes -Wmissing-prototypes -Werror"
h=$( (cat "$here/devbench.c"; echo "$cflags"; gcc -dumpfullversion) | sha256sum | cut -d' ' -f1)
if [ ! -x "$out/devbench" ] || [ "$(cat "$out/.stamp-devbench" 2>/dev/null)" != "$h" ]; then
	# shellcheck disable=SC2086
	gcc $cflags -o "$out/devbench" "$here/devbench.c" || die "cannot compile devbench.c"
	echo "$h" > "$out/.stamp-devbench"
fi
# Guest layer: appended to the test guest's initramfs, it adds /bench-init and devbench.
cat > "$out/guest.manifest" <<EOM
file /bench-init $here/guest-init.sh 755
file /bin/devbench $out/devbench 755
EOM
python3 "$th/mkcpio.py" "$out/guest.manifest" > "$out/guest-layer.cpio" || die "cannot write the guest layer"
# Test host layer: devbench, the guest layer, and vhost-vsock for QEMU's virtio-vsock.
{
	echo "dir /bench-devices 755"
	echo "file /bench-devices/devbench $out/devbench 755"
	echo "file /bench-devices/guest-layer.cpio $out/guest-layer.cpio 644"
	for m in drivers/vhost/vhost_iotlb drivers/vhost/vhost drivers/vhost/vhost_vsock \
		net/vmw_vsock/vsock net/vmw_vsock/vmw_vsock_virtio_transport_common; do
		[ -f "$moddir/$m.ko" ] && echo "file /lib/modules/$kver/$(basename "$m").ko $moddir/$m.ko 644"
	done
} > "$out/host.manifest"
python3 "$th/mkcpio.py" "$out/host.manifest" > "$out/host-layer.cpio" || die "cannot write the test host layer"

export BENCH_DEVBENCH="$out/devbench" BENCH_GUEST_LAYER="$out/guest-layer.cpio"
BULWARK_TESTHOST_LAYERS="$out/host-layer.cpio" exec "$th/run.sh" --qemu --timeout 1200 "$BUILD" -- \
	bench/devices/inner.sh "$N" "$SECS"

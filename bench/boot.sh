#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Boot benchmark: boot-to-init time and VMM memory overhead of bulwark-vmm against QEMU
# (-M q35 and -M microvm), same kernel, initramfs, vCPUs and memory, in one run of the
# nested KVM test host (or directly on a machine with hardware virtualization).
# Usage: bench/boot.sh [BUILD_DIR] [N]    (defaults: build, 5)
BUILD=${1:-build}
N=${2:-5}
top=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$BUILD/src/vmm/bulwark-vmm" ] || echo "bench: $BUILD/src/vmm/bulwark-vmm is not built; measuring QEMU only" >&2
exec "$top/tests/testhost/run.sh" --qemu --timeout 1200 "$BUILD" -- bench/boot/inner.sh "$N"

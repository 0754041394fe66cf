#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# `make demo`: boots a stock Debian guest under bulwark-vmm and shows its console: on a
# machine with hardware virtualization directly, else inside the nested KVM test host.
# Usage: demo.sh [BUILD_DIR]   (default build)
BUILD=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -x "$BUILD/src/vmm/bulwark-vmm" ]; then
	echo "demo: $BUILD/src/vmm/bulwark-vmm is not built; run make build first" >&2
	exit 1
fi
if [ "${BULWARK_TESTHOST:-}" != nested ] && grep -qw -e vmx -e svm /proc/cpuinfo && [ -w /dev/kvm ]; then
	echo "demo: this machine has hardware virtualization: running bulwark-vmm directly on /dev/kvm"
else
	echo "demo: this machine has no hardware virtualization (no vmx/svm), so the demo runs inside the nested KVM test host (Debian's kernel under QEMU TCG -cpu max; about 10 s to boot it)"
fi
exec "$here/run.sh" --timeout 400 "$BUILD" -- tests/testhost/demo-guest.sh

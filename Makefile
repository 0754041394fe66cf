# SPDX-License-Identifier: Apache-2.0
# Two commands on a fresh Debian 12 machine: `make demo` and `make check`.
# Both install missing Debian packages, configure, build and run.
BUILD ?= build
MESON_OPTS ?= -Dwerror=true
SAN_BUILD ?= build-san

.PHONY: all deps build demo check check-unit check-san testhost bench fuzz clean

all: build

deps:
	@tools/install-deps

$(BUILD)/build.ninja: | deps
	meson setup $(BUILD) $(MESON_OPTS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

# Guest kernel, guest initramfs and the nested KVM test host (cached in $(BUILD)/testhost).
testhost: build
	tests/testhost/build.sh $(BUILD)

# One stock Debian guest's console, then the management plane: bulwarkd with a signed
# policy, labelled guests through the CLI, Chinese Wall and image-rule refusals, the audit.
demo: build testhost
	tests/testhost/demo.sh $(BUILD)
	BWD_SCRIPT=demo-domains.sh tests/daemon/testhost.sh $(BUILD)

# Every test: unit tests, golden files, bounded fuzz runs, sanitizer build, real-KVM tests.
check: build
	@tools/run-checks $(BUILD) $(SAN_BUILD)

bench: build testhost
	bench/boot.sh $(BUILD)
	bench/devices.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(SAN_BUILD)

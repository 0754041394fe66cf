#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs one libFuzzer harness over its committed seed corpus (read-only) plus a scratch
# corpus, for a bounded time. usage: run-fuzz.sh HARNESS SEED_DIR [SECONDS]
# A long run on demand: run-fuzz.sh build-fuzz/tests/fuzz/fuzz_bundle tests/fuzz/corpus/bundle 86400
set -u
harness=$1 seeds=$2 secs=${3:-20}
# meson passes the harness relative to the build directory; make it absolute.
case $harness in /*) ;; *) harness=$PWD/$harness ;; esac
scratch=$(mktemp -d) || exit 1
trap 'rm -rf "$scratch"' EXIT
# A crash input is kept as ./crash-<sha1> in the directory this is run from (meson: the
# build directory), so it can be replayed: HARNESS crash-<sha1>.
"$harness" -max_total_time="$secs" -rss_limit_mb=2048 -max_len=65536 -timeout=10 \
	-print_final_stats=1 -artifact_prefix="$PWD/" "$scratch" "$seeds"

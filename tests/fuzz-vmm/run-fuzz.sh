#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Bounded fuzz run: run-fuzz.sh HARNESS WORK_CORPUS SEED_CORPUS [libFuzzer flags...]
# New inputs go to WORK_CORPUS (in the build tree), never into the committed seeds.
set -eu
exe=$1 work=$2 seeds=$3
shift 3
mkdir -p "$work"
exec "$exe" "$@" "$work" "$seeds"

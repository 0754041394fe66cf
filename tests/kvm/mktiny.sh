#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds one variant of the tiny test guest: mktiny.sh CC VARIANT tiny.S OUT.bin
set -eu
cc=$1 variant=$2 src=$3 out=$4
"$cc" -c "-DTINY_$variant" "$src" -o "$out.o"
objcopy -O binary -j .text "$out.o" "$out"
rm -f "$out.o"

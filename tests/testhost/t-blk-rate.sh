#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Rate limits as the guest measures them (O_DIRECT reads from 4 processes, first 10
# untimed): an IOPS limit and 4 MiB/s with 64 KiB requests, each within 5%. An unlimited
# third disk must be at least 1.5x faster than the IOPS limit, else this machine cannot
# tell a limit from its own speed and the test skips (77) saying so.
# On hardware KVM: 1,000 IOPS with a 10 ms refill (a 10-op bucket). The nested test host
# (TCG on a shared machine) does only a few hundred IOPS: there 100 IOPS, same refill (a
# 1-op bucket). BLK_RATE_IOPS and BLK_RATE_REFILL override both.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/blk.sh"
th_need_vmm
limit=${BLK_RATE_IOPS:-100} refill=${BLK_RATE_REFILL:-10}
[ "${BULWARK_TESTHOST:-}" = direct ] && limit=${BLK_RATE_IOPS:-1000}
n=$((limit * 3))
dir=${TMPDIR:-/tmp}
for d in a b c; do
	truncate -s 64M "$dir/bulwark-rate-$d.$$.img" || th_skip "cannot create images"
done
VMM_ARGS="--disk path=$dir/bulwark-rate-a.$$.img,iops=$limit,refill=$refill
	--disk path=$dir/bulwark-rate-b.$$.img,bw=4M,refill=$refill
	--disk path=$dir/bulwark-rate-c.$$.img" \
	boot_guest bulwark 1 512 \
	"bulwark.test=checks bulwark.checks=blk-rate bulwark.rate=vdc:4096:$n:4,vda:4096:$n:4,vdb:65536:160:4"
expect_value result pass
expect_status 0
free_iops=$(rate_field vdc iops)
iops=$(rate_field vda iops)
bw=$(rate_field vdb bytes-per-s)
echo "MEASURED: refill $refill ms; unlimited ${free_iops:-?} IOPS (4K, 4 readers); limit $limit IOPS: ${iops:-?}; limit 4194304 B/s: ${bw:-?} B/s"
if [ "$failures" -eq 0 ] && [ -n "$free_iops" ] && ! awk -v f="$free_iops" -v l="$limit" 'BEGIN { exit !(f >= 1.5 * l) }'; then
	rm -f "$dir"/bulwark-rate-?.$$.img "$TH_OUT"
	th_skip "the unlimited disk does only $free_iops IOPS here: too slow to test a $limit IOPS limit"
fi
within_pct "$iops" "$limit" 5 || fail "$limit IOPS limit: measured ${iops:-nothing}"
within_pct "$bw" 4194304 5 || fail "4 MiB/s limit: measured ${bw:-nothing} B/s"
rm -f "$dir"/bulwark-rate-?.$$.img
th_finish

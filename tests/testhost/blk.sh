# SPDX-License-Identifier: Apache-2.0
# Host-side helpers of the virtio-blk tests (sourced after lib.sh): what the guest agent's
# blk-write check must have left in an image.

# pattern_sector S: the 512 bytes the agent writes to sector S (see fill_sector in
# tests/guest/agent.c): "bulwark-%08d\n", 494 copies of letter S mod 26, "\n".
pattern_sector() {
	hdr=$(printf 'bulwark-%08d' "$1")
	c=$(echo abcdefghijklmnopqrstuvwxyz | cut -c$(($1 % 26 + 1)))
	printf '%s\n' "$hdr"
	head -c $((512 - ${#hdr} - 2)) /dev/zero | tr '\0' "$c"
	printf '\n'
}

# expect_sector IMG S: sector S of IMG holds the agent's pattern.
expect_sector() {
	pattern_sector "$2" > "$TH_OUT.want"
	dd if="$1" bs=512 skip="$2" count=1 2>/dev/null > "$TH_OUT.got"
	cmp -s "$TH_OUT.want" "$TH_OUT.got" ||
		fail "sector $2 of $1 does not hold the guest's pattern: $(head -c 16 "$TH_OUT.got" | od -An -c | head -1)"
	rm -f "$TH_OUT.want" "$TH_OUT.got"
}

# expect_zero_sector IMG S: sector S of IMG is all zeroes (the guest did not write there).
expect_zero_sector() {
	n=$(dd if="$1" bs=512 skip="$2" count=1 2>/dev/null | tr -d '\0' | wc -c)
	[ "$n" -eq 0 ] || fail "sector $2 of $1 was written ($n non-zero bytes)"
}

# rate_field DEV KEY: KEY= on the agent's blk-rate line for DEV, e.g.
# rate_field vda iops
rate_field() {
	sed -n "s/^BULWARK-AGENT: blk-rate dev=$1 .*$2=\\([0-9.]*\\).*/\\1/p" "$TH_OUT" | head -1
}

# within_pct GOT WANT PCT: true if |GOT - WANT| <= PCT% of WANT.
within_pct() {
	awk -v g="$1" -v w="$2" -v p="$3" 'BEGIN { d = g - w; if (d < 0) d = -d; exit !(g != "" && d <= w * p / 100) }'
}

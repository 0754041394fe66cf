// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of virtio-net's pure parts: --net options, MAC addresses, and the
 * virtio_net_hdr checks on frames from the guest and fix-ups on frames to it (5.1.6).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "virtio_net_hdr.h"

#define F(bit) (1ULL << (bit))
#define OFFLOADS                                                                             \
	(F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM) | F(VIRTIO_NET_F_HOST_TSO4) |      \
	 F(VIRTIO_NET_F_HOST_TSO6) | F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6))

/* ---- options ---- */

static void test_spec_tap(void **state)
{
	struct virtio_net_opts o;
	char err[256] = "";
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

	(void)state;
	assert_int_equal(virtio_net_parse_spec(&o, "tap=tap0", err, sizeof(err)), 0);
	assert_string_equal(o.ifname, "tap0");
	assert_int_equal(o.fd, -1);
	assert_false(o.mac_set);
	assert_true(o.offload);
	assert_int_equal(o.rx_rl.bytes_per_s, 0);
	assert_int_equal(o.rx_rl.refill_ms, VIRTIO_NET_DEFAULT_REFILL_MS);
	virtio_net_opts_free(&o);

	assert_int_equal(virtio_net_parse_spec(&o, "tap=t1,mac=52:54:00:12:34:56,offload=off,"
						   "rx-bw=1M,tx-pps=1000,tx-pps-burst=50,rx-refill=5",
					       err, sizeof(err)), 0);
	assert_true(o.mac_set);
	assert_memory_equal(o.mac, mac, 6);
	assert_false(o.offload);
	assert_int_equal(o.rx_rl.bytes_per_s, 1 << 20);
	assert_int_equal(o.rx_rl.refill_ms, 5);
	assert_int_equal(o.tx_rl.refill_ms, VIRTIO_NET_DEFAULT_REFILL_MS);
	assert_int_equal(o.tx_rl.ops_per_s, 1000);
	assert_int_equal(o.tx_rl.ops_burst, 50);
	assert_int_equal(o.tx_rl.bytes_per_s, 0);
	virtio_net_opts_free(&o);
	assert_null(o.ifname);
	assert_int_equal(o.fd, -1);
}

static void test_spec_fd(void **state)
{
	struct virtio_net_opts o;
	char err[256] = "";

	(void)state;
	assert_int_equal(virtio_net_parse_spec(&o, "fd=3,tx-bw=10M", err, sizeof(err)), 0);
	assert_null(o.ifname);
	assert_int_equal(o.fd, 3);
	assert_int_equal(o.tx_rl.bytes_per_s, 10 << 20);
	virtio_net_opts_free(&o);
}

static void test_spec_errors(void **state)
{
	static const char *const bad[] = {
		"", "mac=52:54:00:12:34:56", "tap=a,fd=3", "tap=a,tap=b", "fd=-1", "fd=x",
		"tap=", "tap=a/b", "tap=a:1", "tap=0123456789abcdef", "tap=..", "tap=a,mac=01:00:00:00:00:01",
		"tap=a,offload=maybe", "tap=a,speed=1G", "tap=a,rx-iops=10", "tap=a,rx-bw=lots",
		"tap=a,bw=1M", "tap", "tap=a,rx-refill=0",
	};
	struct virtio_net_opts o;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (virtio_net_parse_spec(&o, bad[i], err, sizeof(err)) != -EINVAL)
			fail_msg("'%s' was accepted", bad[i]);
		/* One line that says what was wrong, and nothing left allocated. */
		assert_true(strncmp(err, "net: ", 5) == 0);
		assert_null(strchr(err, '\n'));
		assert_null(o.ifname);
		assert_int_equal(o.fd, -1);
	}
}

static void test_mac(void **state)
{
	static const uint8_t want[6] = { 0x02, 0xab, 0xCD, 0x00, 0xff, 0x10 };
	static const char *const bad[] = {
		"", "02:ab:cd:00:ff", "02:ab:cd:00:ff:10:", "02:ab:cd:00:ff:1", "02-ab-cd-00-ff-10",
		"02:ab:cd:00:ff:1g", "2:ab:cd:00:ff:10", "03:00:00:00:00:01", "ff:ff:ff:ff:ff:ff",
		"00:00:00:00:00:00", "02:ab:cd:00:ff:100",
	};
	uint8_t mac[6] = { 0 }, before[6];

	(void)state;
	assert_int_equal(virtio_net_parse_mac("02:AB:cd:00:Ff:10", mac), 0);
	assert_memory_equal(mac, want, 6);
	memcpy(before, mac, 6);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (virtio_net_parse_mac(bad[i], mac) != -EINVAL)
			fail_msg("'%s' was accepted", bad[i]);
		assert_memory_equal(mac, before, 6);
	}
}

static void test_default_mac(void **state)
{
	uint8_t a[6], b[6], c[6];

	(void)state;
	virtio_net_default_mac("tap0", a);
	virtio_net_default_mac("tap0", b);
	virtio_net_default_mac("tap1", c);
	assert_memory_equal(a, b, 6); /* stable */
	assert_memory_not_equal(a, c, 6); /* differs per interface */
	assert_int_equal(a[0] & 1, 0); /* unicast */
	assert_int_equal(a[0] & 2, 2); /* locally administered */
	assert_int_equal(c[0], 0x52);
}

/* ---- headers ---- */

static struct virtio_net_hdr hdr(uint8_t flags, uint8_t gso, uint16_t hdr_len, uint16_t gso_size,
				 uint16_t csum_start, uint16_t csum_offset)
{
	struct virtio_net_hdr h = {
		.flags = flags, .gso_type = gso, .hdr_len = htole16(hdr_len),
		.gso_size = htole16(gso_size), .csum_start = htole16(csum_start),
		.csum_offset = htole16(csum_offset), .num_buffers = 0,
	};
	return h;
}

static void test_hdr_layout(void **state)
{
	(void)state;
	/* VERSION_1: 12 bytes, num_buffers last (5.1.6). */
	assert_int_equal(sizeof(struct virtio_net_hdr), VIRTIO_NET_HDR_LEN);
	assert_int_equal(offsetof(struct virtio_net_hdr, csum_start), 6);
	assert_int_equal(offsetof(struct virtio_net_hdr, num_buffers), 10);
}

static void test_tx_no_offload(void **state)
{
	uint64_t f = 0;
	struct virtio_net_hdr h = hdr(0, 0, 0, 0, 0, 0);

	(void)state;
	assert_int_equal(virtio_net_tx_hdr_check(&h, f, 60), 0);
	h = hdr(VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 34, 16);
	assert_int_equal(virtio_net_tx_hdr_check(&h, f, 60), -EINVAL);
	h = hdr(0, VIRTIO_NET_HDR_GSO_TCPV4, 54, 1448, 0, 0);
	assert_int_equal(virtio_net_tx_hdr_check(&h, f, 3000), -EINVAL);
	/* DATA_VALID is for the device to set (5.1.6.2.1). */
	h = hdr(VIRTIO_NET_HDR_F_DATA_VALID, 0, 0, 0, 0, 0);
	assert_int_equal(virtio_net_tx_hdr_check(&h, f, 60), -EINVAL);
}

static void test_tx_offload(void **state)
{
	uint64_t f = OFFLOADS;
	struct virtio_net_hdr h;

	(void)state;
	/* TCP over IPv4: checksum at 34 + 16, inside a 60-byte frame. */
	h = hdr(VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 34, 16);
	assert_int_equal(virtio_net_tx_hdr_check(&h, f, 60), 0);
	assert_int_equal(virtio_net_tx_hdr_check(&h, f, 52), 0);
	assert_int_equal(virtio_net_tx_hdr_check(&h, f, 51), -EINVAL);
	h = hdr(VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 0xffff, 0xffff);
	assert_int_equal(virtio_net_tx_hdr_check(&h, f, 65535), -EINVAL);
	h = hdr(VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 66, 1448, 34, 16);
	assert_int_equal(virtio_net_tx_hdr_check(&h, f, 65000), 0);
	assert_int_equal(virtio_net_tx_hdr_check(&h, f & ~F(VIRTIO_NET_F_HOST_TSO4), 65000),
			 -EINVAL);
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	assert_int_equal(virtio_net_tx_hdr_check(&h, f, 65000), 0);
	assert_int_equal(virtio_net_tx_hdr_check(&h, f & ~F(VIRTIO_NET_F_HOST_TSO6), 65000),
			 -EINVAL);
	/* ECN and UDP were never offered; GSO needs NEEDS_CSUM, an MSS, a header inside. */
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN;
	assert_int_equal(virtio_net_tx_hdr_check(&h, f, 65000), -EINVAL);
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	assert_int_equal(virtio_net_tx_hdr_check(&h, f, 65000), -EINVAL);
	h = hdr(0, VIRTIO_NET_HDR_GSO_TCPV4, 66, 1448, 34, 16);
	assert_int_equal(virtio_net_tx_hdr_check(&h, f, 65000), -EINVAL);
	h = hdr(VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 66, 0, 34, 16);
	assert_int_equal(virtio_net_tx_hdr_check(&h, f, 65000), -EINVAL);
	h = hdr(VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 100, 1448, 34, 16);
	assert_int_equal(virtio_net_tx_hdr_check(&h, f, 99), -EINVAL);
}

static void test_rx_fixup(void **state)
{
	struct virtio_net_hdr h;

	(void)state;
	/* Without GUEST_CSUM the flags are cleared; a partial checksum cannot be delivered. */
	h = hdr(VIRTIO_NET_HDR_F_DATA_VALID, 0, 0, 0, 0, 0);
	h.num_buffers = 0x7777;
	assert_int_equal(virtio_net_rx_hdr_fixup(&h, 0), 0);
	assert_int_equal(h.flags, 0);
	assert_int_equal(le16toh(h.num_buffers), 1);
	h = hdr(VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 34, 16);
	assert_int_equal(virtio_net_rx_hdr_fixup(&h, 0), -EINVAL);
	assert_int_equal(virtio_net_rx_hdr_fixup(&h, F(VIRTIO_NET_F_GUEST_CSUM)), 0);
	assert_int_equal(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(le16toh(h.csum_start), 34);
	/* TSO frames only to a driver that took them. */
	h = hdr(VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 66, 1448, 34, 16);
	assert_int_equal(virtio_net_rx_hdr_fixup(&h, F(VIRTIO_NET_F_GUEST_CSUM)), -EINVAL);
	assert_int_equal(virtio_net_rx_hdr_fixup(&h, OFFLOADS), 0);
	assert_int_equal(le16toh(h.gso_size), 1448);
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	assert_int_equal(virtio_net_rx_hdr_fixup(&h, OFFLOADS & ~F(VIRTIO_NET_F_GUEST_TSO6)),
			 -EINVAL);
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	assert_int_equal(virtio_net_rx_hdr_fixup(&h, OFFLOADS), -EINVAL);
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN;
	assert_int_equal(virtio_net_rx_hdr_fixup(&h, OFFLOADS), -EINVAL);
	/* Bits the tap may set that mean nothing to the driver are cleared. */
	h = hdr(0x80 | VIRTIO_NET_HDR_F_DATA_VALID, 0, 0, 0, 0, 0);
	assert_int_equal(virtio_net_rx_hdr_fixup(&h, OFFLOADS), 0);
	assert_int_equal(h.flags, VIRTIO_NET_HDR_F_DATA_VALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_tap),
		cmocka_unit_test(test_spec_fd),
		cmocka_unit_test(test_spec_errors),
		cmocka_unit_test(test_mac),
		cmocka_unit_test(test_default_mac),
		cmocka_unit_test(test_hdr_layout),
		cmocka_unit_test(test_tx_no_offload),
		cmocka_unit_test(test_tx_offload),
		cmocka_unit_test(test_rx_fixup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: Apache-2.0
/*
 * The pure parts of virtio-net (virtio 1.2, 5.1): --net options, MAC addresses and the
 * checks on virtio_net_hdr in both directions. No I/O, so tests/unit can drive them.
 */
#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "virtio_net_hdr.h"

#define NET_SPEC_MAX 512

void virtio_net_opts_free(struct virtio_net_opts *o)
{
	free(o->ifname);
	memset(o, 0, sizeof(*o));
	o->fd = -1;
}

int virtio_net_parse_mac(const char *s, uint8_t mac[6])
{
	uint8_t m[6];

	for (int i = 0; i < 6; i++, s += 3) {
		int hi = util_hexval(s[0]), lo = hi < 0 ? -1 : util_hexval(s[1]);

		if (lo < 0 || s[2] != (i == 5 ? '\0' : ':'))
			return -EINVAL;
		m[i] = (uint8_t)(hi << 4 | lo);
	}
	/* Bit 0 of the first byte is the group bit: a station address must be unicast. */
	if ((m[0] & 1) || !(m[0] | m[1] | m[2] | m[3] | m[4] | m[5]))
		return -EINVAL;
	memcpy(mac, m, 6);
	return 0;
}

void virtio_net_default_mac(const char *ifname, uint8_t mac[6])
{
	uint32_t h = 2166136261U;

	for (const char *p = ifname; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619U;
	/* 0x52: locally administered (bit 1), unicast (bit 0 clear). */
	mac[0] = 0x52;
	mac[1] = 0x54;
	mac[2] = (uint8_t)(h >> 24);
	mac[3] = (uint8_t)(h >> 16);
	mac[4] = (uint8_t)(h >> 8);
	mac[5] = (uint8_t)h;
}

/* Linux's dev_valid_name: what `ip` would accept as an interface name. */
static bool valid_ifname(const char *s)
{
	if (!*s || strlen(s) >= IFNAMSIZ || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || *s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

/* rx-KEY / tx-KEY: the rate limiter's keys, with pps for iops (packets per second). */
static int parse_rl(struct virtio_net_opts *o, const char *key, const char *val)
{
	struct ratelimit_config *rl;
	char k[32];

	if (!strncmp(key, "rx-", 3))
		rl = &o->rx_rl;
	else if (!strncmp(key, "tx-", 3))
		rl = &o->tx_rl;
	else
		return 0;
	key += 3;
	if (!strncmp(key, "pps", 3))
		snprintf(k, sizeof(k), "iops%s", key + 3);
	else if (!strncmp(key, "iops", 4))
		return 0; /* spelt pps here */
	else
		snprintf(k, sizeof(k), "%s", key);
	return ratelimit_parse_opt(rl, k, val);
}

int virtio_net_parse_spec(struct virtio_net_opts *o, const char *spec, char *err, size_t errlen)
{
	char buf[NET_SPEC_MAX], *save = NULL;
	uint64_t v;
	int ret;

	memset(o, 0, sizeof(*o));
	o->fd = -1;
	o->offload = true;
	if (strlen(spec) >= sizeof(buf))
		return util_fail(-EINVAL, err, errlen, "net: option longer than %d bytes",
				 NET_SPEC_MAX - 1);
	snprintf(buf, sizeof(buf), "%s", spec);
	for (char *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *val = strchr(kv, '=');

		if (!val) {
			ret = util_fail(-EINVAL, err, errlen, "net: '%.40s' is not key=value", kv);
			goto fail;
		}
		*val++ = '\0';
		if (!strcmp(kv, "tap") || !strcmp(kv, "fd")) {
			if (o->ifname || o->fd >= 0) {
				ret = util_fail(-EINVAL, err, errlen,
						"net: give one tap=NAME or fd=N per --net");
				goto fail;
			}
			if (kv[0] == 'f') {
				if (util_parse_uint(val, 0, INT_MAX, &v) < 0) {
					ret = util_fail(-EINVAL, err, errlen,
							"net: fd '%.20s' is not a file descriptor", val);
					goto fail;
				}
				o->fd = (int)v;
			} else if (!valid_ifname(val)) {
				ret = util_fail(-EINVAL, err, errlen,
						"net: '%.40s' is not an interface name (1-%d bytes, no "
						"'/', ':' or spaces)", val, IFNAMSIZ - 1);
				goto fail;
			} else if (!(o->ifname = strdup(val))) {
				ret = util_fail(-ENOMEM, err, errlen, "net: out of memory");
				goto fail;
			}
		} else if (!strcmp(kv, "mac")) {
			if (virtio_net_parse_mac(val, o->mac) < 0) {
				ret = util_fail(-EINVAL, err, errlen,
						"net: mac '%.40s' is not a unicast xx:xx:xx:xx:xx:xx", val);
				goto fail;
			}
			o->mac_set = true;
		} else if (!strcmp(kv, "offload")) {
			if (strcmp(val, "on") && strcmp(val, "off")) {
				ret = util_fail(-EINVAL, err, errlen, "net: offload must be on or off");
				goto fail;
			}
			o->offload = val[1] == 'n';
		} else if ((ret = parse_rl(o, kv, val)) != 1) {
			ret = util_fail(-EINVAL, err, errlen,
					ret == 0 ? "net: unknown key '%.40s' (tap, fd, mac, offload, "
						   "rx-/tx-bw, -pps, -bw-burst, -pps-burst, -refill)"
						 : "net: bad value for '%.40s'", kv);
			goto fail;
		}
	}
	if (!o->ifname && o->fd < 0) {
		ret = util_fail(-EINVAL, err, errlen, "net: give tap=NAME or fd=N");
		goto fail;
	}
	if (!o->rx_rl.refill_ms)
		o->rx_rl.refill_ms = VIRTIO_NET_DEFAULT_REFILL_MS;
	if (!o->tx_rl.refill_ms)
		o->tx_rl.refill_ms = VIRTIO_NET_DEFAULT_REFILL_MS;
	return 0;
fail:
	virtio_net_opts_free(o);
	return ret;
}

/* ---- header checks (5.1.6) ---- */

int virtio_net_tx_hdr_check(const struct virtio_net_hdr *h, uint64_t features, uint64_t pkt_len)
{
	uint16_t csum_start = le16toh(h->csum_start), csum_offset = le16toh(h->csum_offset);
	uint16_t hdr_len = le16toh(h->hdr_len), gso_size = le16toh(h->gso_size);

	/* 5.1.6.2.1: the driver sets no flag but NEEDS_CSUM, and that only with CSUM. */
	if (h->flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
		return -EINVAL;
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (!virtio_net_has(features, VIRTIO_NET_F_CSUM))
			return -EINVAL;
		if ((uint64_t)csum_start + csum_offset + 2 > pkt_len)
			return -EINVAL;
	}
	switch (h->gso_type) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return 0;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		if (!virtio_net_has(features, VIRTIO_NET_F_HOST_TSO4))
			return -EINVAL;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		if (!virtio_net_has(features, VIRTIO_NET_F_HOST_TSO6))
			return -EINVAL;
		break;
	default:
		/* UDP (HOST_UFO) and the ECN bit (HOST_ECN) are never offered. */
		return -EINVAL;
	}
	/* A GSO frame needs its checksum left to us and says its MSS (5.1.6.2). */
	if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || gso_size == 0 || hdr_len > pkt_len)
		return -EINVAL;
	return 0;
}

int virtio_net_rx_hdr_fixup(struct virtio_net_hdr *h, uint64_t features)
{
	uint8_t flags = h->flags & (VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID);

	/* 5.1.6.4.1: without GUEST_CSUM the device sets flags to zero. */
	if (!virtio_net_has(features, VIRTIO_NET_F_GUEST_CSUM)) {
		if (flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
			return -EINVAL;
		flags = 0;
	}
	switch (h->gso_type) {
	case VIRTIO_NET_HDR_GSO_NONE:
		break;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		if (!virtio_net_has(features, VIRTIO_NET_F_GUEST_TSO4))
			return -EINVAL;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		if (!virtio_net_has(features, VIRTIO_NET_F_GUEST_TSO6))
			return -EINVAL;
		break;
	default:
		return -EINVAL; /* GUEST_UFO, GUEST_ECN: never offered */
	}
	h->flags = flags;
	/* 5.1.6.4: without MRG_RXBUF every frame is one buffer. */
	h->num_buffers = htole16(1);
	return 0;
}

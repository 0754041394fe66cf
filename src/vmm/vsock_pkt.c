// SPDX-License-Identifier: Apache-2.0
/* virtio-vsock packet headers (virtio 1.2, 5.10.6): wire format and the driver-side checks. */
#include "vsock_pkt.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

/* Field offsets in struct virtio_vsock_hdr (5.10.6), packed. */
enum {
	OFF_SRC_CID = 0,
	OFF_DST_CID = 8,
	OFF_SRC_PORT = 16,
	OFF_DST_PORT = 20,
	OFF_LEN = 24,
	OFF_TYPE = 28,
	OFF_OP = 30,
	OFF_FLAGS = 32,
	OFF_BUF_ALLOC = 36,
	OFF_FWD_CNT = 40,
};

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return le16toh(v);
}

static void put64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, sizeof(v));
}

static void put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof(v));
}

static void put16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, sizeof(v));
}

void vsock_hdr_decode(const uint8_t raw[VSOCK_HDR_SIZE], struct vsock_hdr *h)
{
	h->src_cid = get64(raw + OFF_SRC_CID);
	h->dst_cid = get64(raw + OFF_DST_CID);
	h->src_port = get32(raw + OFF_SRC_PORT);
	h->dst_port = get32(raw + OFF_DST_PORT);
	h->len = get32(raw + OFF_LEN);
	h->type = get16(raw + OFF_TYPE);
	h->op = get16(raw + OFF_OP);
	h->flags = get32(raw + OFF_FLAGS);
	h->buf_alloc = get32(raw + OFF_BUF_ALLOC);
	h->fwd_cnt = get32(raw + OFF_FWD_CNT);
}

void vsock_hdr_encode(const struct vsock_hdr *h, uint8_t raw[VSOCK_HDR_SIZE])
{
	put64(raw + OFF_SRC_CID, h->src_cid);
	put64(raw + OFF_DST_CID, h->dst_cid);
	put32(raw + OFF_SRC_PORT, h->src_port);
	put32(raw + OFF_DST_PORT, h->dst_port);
	put32(raw + OFF_LEN, h->len);
	put16(raw + OFF_TYPE, h->type);
	put16(raw + OFF_OP, h->op);
	put32(raw + OFF_FLAGS, h->flags);
	put32(raw + OFF_BUF_ALLOC, h->buf_alloc);
	put32(raw + OFF_FWD_CNT, h->fwd_cnt);
}

bool vsock_cid_valid(uint64_t cid)
{
	return cid >= VSOCK_CID_GUEST_MIN && cid <= VSOCK_CID_GUEST_MAX;
}

int vsock_hdr_check(const struct vsock_hdr *h, uint64_t guest_cid, uint64_t payload_avail)
{
	/*
	 * The source must be the guest itself (5.10.6.6: the driver fills src_cid with
	 * guest_cid): anything else is a forgery, and answering it would address a peer
	 * the guest is not.
	 */
	if (h->src_cid != guest_cid)
		return -EBADMSG;
	/* A len the chain does not back cannot be read; nothing sane to answer. */
	if (h->len > payload_avail)
		return -EBADMSG;
	/* Never answer an RST, whatever is wrong with it: two devices would ping-pong. */
	if (h->op == VSOCK_OP_RST)
		return h->type == VSOCK_TYPE_STREAM ? 0 : -EBADMSG;
	if (h->type != VSOCK_TYPE_STREAM)
		return -EPROTO;
	if (h->op == VSOCK_OP_INVALID || h->op > VSOCK_OP_CREDIT_REQUEST)
		return -EPROTO;
	/* Only RW carries data; its size is bounded like the driver's own packets. */
	if (h->op == VSOCK_OP_RW ? h->len > VSOCK_MAX_PAYLOAD : h->len != 0)
		return -EPROTO;
	if (h->op == VSOCK_OP_SHUTDOWN && (h->flags & ~VSOCK_SHUTDOWN_BOTH))
		return -EPROTO;
	/* Packets to ourselves or to a reserved CID have no peer to reach. */
	if (h->dst_cid == guest_cid || h->dst_cid < VSOCK_CID_HOST || h->dst_cid > UINT32_MAX)
		return -EPROTO;
	return 0;
}

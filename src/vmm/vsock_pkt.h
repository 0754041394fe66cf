/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-vsock packets (virtio 1.2, 5.10.6): the little-endian header on the wire, its
 * decoded form, and the checks a packet from the driver must pass before it is acted on.
 */
#ifndef BULWARK_VMM_VSOCK_PKT_H
#define BULWARK_VMM_VSOCK_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VSOCK_HDR_SIZE 44 /* struct virtio_vsock_hdr (5.10.6) */
#define VSOCK_CID_HOST 2 /* well-known CID of the host (5.10.4) */
#define VSOCK_CID_GUEST_MIN 3 /* 0-2 are reserved; 0xffffffff and up as well (5.10.4) */
#define VSOCK_CID_GUEST_MAX 0xfffffffeULL
/* Largest payload the driver sends (Linux: VIRTIO_VSOCK_MAX_PKT_BUF_SIZE) and we accept. */
#define VSOCK_MAX_PAYLOAD (64U * 1024U)

/* type (5.10.6): only streams; SEQPACKET needs VIRTIO_VSOCK_F_SEQPACKET, not offered. */
#define VSOCK_TYPE_STREAM 1

/* op (5.10.6). */
enum vsock_op {
	VSOCK_OP_INVALID = 0,
	VSOCK_OP_REQUEST = 1,
	VSOCK_OP_RESPONSE = 2,
	VSOCK_OP_RST = 3,
	VSOCK_OP_SHUTDOWN = 4,
	VSOCK_OP_RW = 5,
	VSOCK_OP_CREDIT_UPDATE = 6,
	VSOCK_OP_CREDIT_REQUEST = 7,
};

/* flags of a SHUTDOWN (5.10.6.5): what the sender will no longer do. */
#define VSOCK_SHUTDOWN_RCV 1u
#define VSOCK_SHUTDOWN_SEND 2u
#define VSOCK_SHUTDOWN_BOTH (VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND)

/* The header, decoded to host order (the wire format is packed little-endian). */
struct vsock_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port;
	uint32_t len; /* payload bytes after the header */
	uint16_t type, op;
	uint32_t flags;
	uint32_t buf_alloc; /* sender's receive buffer for this connection (5.10.6.3) */
	uint32_t fwd_cnt; /* bytes the sender's application has consumed (5.10.6.3) */
};

/* Decodes VSOCK_HDR_SIZE bytes already copied out of guest memory. */
void vsock_hdr_decode(const uint8_t raw[VSOCK_HDR_SIZE], struct vsock_hdr *h);

/* Encodes h into VSOCK_HDR_SIZE wire bytes. */
void vsock_hdr_encode(const struct vsock_hdr *h, uint8_t raw[VSOCK_HDR_SIZE]);

/*
 * Checks a packet the driver put on the tx queue (5.10.6.6), given the guest's CID and
 * how many payload bytes its chain carried after the header. Returns 0 when it may be
 * acted on; -EBADMSG when it must be dropped without an answer (a spoofed source CID,
 * a payload larger than the chain, an RST, which is never answered); -EPROTO when it is
 * malformed but addressable, and the device answers it with an RST.
 */
int vsock_hdr_check(const struct vsock_hdr *h, uint64_t guest_cid, uint64_t payload_avail)
	__attribute__((warn_unused_result));

/* True for a CID a guest may be given (3 to 0xfffffffe, 5.10.4). */
bool vsock_cid_valid(uint64_t cid);

#endif

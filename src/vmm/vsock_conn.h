/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The vsock connection table: the per-connection state machine and credit-based flow
 * control of virtio 1.2, 5.10.6, between the guest's packets and host-side byte streams.
 * Pure logic: the streams come from transports (struct vsock_transport: Unix sockets in
 * vsock_unix.c; inter-domain channels later), packets go in and out as decoded headers.
 * Single-threaded: everything runs on the VMM's I/O thread.
 */
#ifndef BULWARK_VMM_VSOCK_CONN_H
#define BULWARK_VMM_VSOCK_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vsock_pkt.h"

#define VSOCK_CONN_MAX 64 /* connections per device, in every state */
/*
 * Receive buffer per connection (buf_alloc, 5.10.6.3): the guest may have at most this
 * many bytes in flight towards a host stream, so this bounds what a slow host reader
 * makes us hold. Allocated when a write to the stream first comes up short.
 */
#define VSOCK_CONN_BUF (256U * 1024U)
#define VSOCK_RST_QUEUE 32 /* RSTs for packets without a connection, waiting for rx buffers */
#define VSOCK_TRANSPORTS_MAX 4
#define VSOCK_HOST_PORT_FIRST 0x40000000u /* ports the device picks for host-initiated connections */

enum vsock_conn_state {
	VSOCK_CONN_FREE = 0,
	VSOCK_CONN_HOST_WAIT, /* a host stream exists, not yet addressed to a guest port */
	VSOCK_CONN_CONNECTING, /* REQUEST to the guest queued or sent, awaiting RESPONSE */
	VSOCK_CONN_ESTABLISHED,
};

struct vsock_conn;

/*
 * Where host-side streams come from. Stream calls are made on the I/O thread and must
 * not call back into the table (they return what happened); `close` is called exactly
 * once for every connection that had a stream, when the table lets it go.
 */
struct vsock_transport {
	const char *name;
	void *priv;
	/* True if guest connections to cid are this transport's to serve. */
	bool (*reaches)(const struct vsock_transport *t, uint64_t cid);
	/*
	 * The guest connects to (c->peer_cid, c->host_port): open a stream for c and set
	 * c->stream. Returns 0, or -errno and the guest gets an RST (nothing to undo).
	 */
	int (*connect)(const struct vsock_transport *t, struct vsock_conn *c);
	/* Up to len bytes from the host side: n > 0, 0 at end of stream, -EAGAIN, -errno. */
	ssize_t (*read)(struct vsock_conn *c, void *buf, size_t len);
	/* Up to len bytes to the host side: bytes taken (> 0), -EAGAIN, or -errno (broken). */
	ssize_t (*write)(struct vsock_conn *c, const void *buf, size_t len);
	/* Tell the table (vsock_conn_readable/_writable) when the stream can be read/written. */
	void (*watch)(struct vsock_conn *c, bool rd, bool wr);
	/* The guest accepted a host-initiated connection. Returns 0 or -errno (reset it). */
	int (*established)(struct vsock_conn *c);
	/* The guest will send nothing more and everything it sent was written. */
	void (*shutdown_write)(struct vsock_conn *c);
	/* Release c's stream; c->stream is cleared by the table afterwards. */
	void (*close)(struct vsock_conn *c);
};

struct vsock_table;

struct vsock_conn {
	enum vsock_conn_state state;
	struct vsock_table *tbl;
	const struct vsock_transport *tr;
	void *stream; /* the transport's per-connection state */
	/* Addressing, seen from the guest: it talks to (peer_cid, host_port). */
	uint64_t peer_cid;
	uint32_t guest_port, host_port;
	unsigned int pending; /* control packets to send (CONN_PEND_* in vsock_conn.c) */
	bool readable; /* the stream reported data or end of stream; cleared by -EAGAIN */
	bool host_eof; /* the host side ended its stream; SHUTDOWN(SEND) sent or queued */
	bool write_shut; /* shutdown_write done */
	uint32_t guest_shut; /* VSOCK_SHUTDOWN_* the guest has sent */
	/* Guest to host (we receive): bytes held for a host stream that would not take them. */
	uint8_t *buf; /* VSOCK_CONN_BUF bytes, a ring; NULL until first needed */
	uint32_t buf_head, buf_used;
	uint32_t rx_cnt; /* payload bytes received from the guest (wrapping) */
	uint32_t fwd_cnt; /* of those, bytes the host stream took: our fwd_cnt (5.10.6.3) */
	uint32_t fwd_cnt_sent; /* the fwd_cnt the guest has last been sent */
	/* Host to guest (we send). */
	uint32_t tx_cnt; /* payload bytes sent to the guest (wrapping) */
	uint32_t peer_buf_alloc, peer_fwd_cnt; /* the guest's last word on its buffer */
	bool credit_requested; /* CREDIT_REQUEST sent while the guest's credit was 0 */
	bool watch_rd, watch_wr; /* what the stream was last asked to watch */
};

struct vsock_rst {
	uint64_t src_cid;
	uint32_t src_port, dst_port;
};

struct vsock_table_stats {
	uint64_t rx_pkts, tx_pkts; /* from / to the guest */
	uint64_t dropped; /* guest packets dropped unanswered (vsock_hdr_check) */
	uint64_t rst_sent, rst_lost; /* RSTs sent; RSTs lost because the queue was full */
	uint64_t conns_opened, credit_violations;
};

struct vsock_table {
	uint64_t guest_cid;
	struct vsock_conn conn[VSOCK_CONN_MAX];
	const struct vsock_transport *tr[VSOCK_TRANSPORTS_MAX];
	unsigned int ntr;
	struct vsock_rst rst[VSOCK_RST_QUEUE]; /* FIFO ring */
	unsigned int rst_head, rst_n;
	unsigned int rr; /* next connection to look at for output: round robin */
	uint32_t next_host_port;
	/* Called when there is new output for the guest (vsock_table_next would return a packet). */
	void (*wake)(void *opaque);
	void *wake_opaque;
	struct vsock_table_stats stats;
};

/* Sets up an empty table for a guest with CID guest_cid (checked by the caller). */
void vsock_table_init(struct vsock_table *t, uint64_t guest_cid, void (*wake)(void *opaque),
		      void *wake_opaque);

/* Adds a transport (not owned). Returns 0, or -ENOSPC with nothing changed. */
int vsock_table_add_transport(struct vsock_table *t, const struct vsock_transport *tr)
	__attribute__((warn_unused_result));

/*
 * Acts on one packet from the guest (tx queue, 5.10.6.6): h decoded from guest memory,
 * payload its h->len bytes (when h->len <= payload_avail), payload_avail what its chain
 * held. The packet is checked here; a bad one is dropped or answered with an RST.
 */
void vsock_table_recv(struct vsock_table *t, const struct vsock_hdr *h, const uint8_t *payload,
		      uint64_t payload_avail);

/*
 * Produces the next packet for the guest (rx queue) with at most `room` payload bytes
 * written to payload. Returns true with *h filled (h->len bytes of payload), or false
 * when there is nothing to send now.
 */
bool vsock_table_next(struct vsock_table *t, struct vsock_hdr *h, uint8_t *payload, size_t room);

/* Drops every connection (closing their streams) and queued RST: a device reset. */
void vsock_table_reset(struct vsock_table *t);

/*
 * The guest forgot every connection (a driver reset, a transport reset event): drops
 * those it knew of, closing their streams, and the queued RSTs; host connections whose
 * REQUEST has not been sent yet stay and are offered to the next driver.
 */
void vsock_table_guest_reset(struct vsock_table *t);

/* Connections not FREE (for stats and tests). */
unsigned int vsock_table_count(const struct vsock_table *t);

/*
 * A transport accepted a host-side stream that will name its guest port later: takes a
 * slot in state HOST_WAIT with c->stream = stream. Returns the connection, or NULL when
 * the table is full (the transport then closes its stream itself).
 */
struct vsock_conn *vsock_conn_accept(struct vsock_table *t, const struct vsock_transport *tr,
				     void *stream);

/*
 * Addresses a HOST_WAIT connection from peer_cid (VSOCK_CID_HOST for host programs) to
 * the guest's port and queues the REQUEST (5.10.6.4); the peer's port is picked here.
 * Returns 0, or -errno after which the connection is gone (its stream closed).
 */
int vsock_conn_connect_guest(struct vsock_conn *c, uint64_t peer_cid, uint32_t guest_port)
	__attribute__((warn_unused_result));

/* The stream can be read (or is at its end, or failed). */
void vsock_conn_readable(struct vsock_conn *c);

/* The stream can take more bytes (or failed). May end the connection. */
void vsock_conn_writable(struct vsock_conn *c);

/* The stream failed or went away: the connection ends (RST to the guest if it knew it). */
void vsock_conn_abort(struct vsock_conn *c);

/* Credit the guest has given us: bytes we may still send it now (5.10.6.3). */
uint32_t vsock_conn_peer_credit(const struct vsock_conn *c);

#endif

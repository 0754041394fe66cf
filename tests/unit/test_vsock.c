// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of virtio-vsock's pure parts: the packet header (wire layout and checks), the
 * connection state machine and credit-based flow control driven by synthetic packets
 * against a mock transport, the --vsock option and the Unix transport's CONNECT line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "vsock_config.h"
#include "vsock_conn.h"
#include "vsock_pkt.h"
#include "vsock_unix.h"

#define GUEST 3
#define HOST VSOCK_CID_HOST

/* ---- a mock transport: streams are byte counters with scripted behaviour ---- */

struct mock_stream {
	bool used;
	size_t take; /* bytes a write accepts per call; 0: -EAGAIN */
	int write_err; /* nonzero: writes fail with it */
	size_t written;
	uint8_t last_written; /* last byte written, to check ordering */
	size_t readable; /* bytes a read can return */
	bool eof; /* then end of stream */
	size_t read_total;
	bool rd, wr; /* last watch */
	unsigned int closed, established, shut_wr;
};

static struct mock_stream ms[VSOCK_CONN_MAX * 2];
static int connect_ret;
static unsigned int wakes;

static struct mock_stream *mock_new(void)
{
	for (unsigned int i = 0; i < sizeof(ms) / sizeof(ms[0]); i++)
		if (!ms[i].used) {
			memset(&ms[i], 0, sizeof(ms[i]));
			ms[i].used = true;
			ms[i].take = SIZE_MAX;
			return &ms[i];
		}
	fail();
	return NULL;
}

static bool m_reaches(const struct vsock_transport *t, uint64_t cid)
{
	(void)t;
	return cid == HOST;
}

static int m_connect(const struct vsock_transport *t, struct vsock_conn *c)
{
	(void)t;
	if (connect_ret)
		return connect_ret;
	c->stream = mock_new();
	return 0;
}

static ssize_t m_read(struct vsock_conn *c, void *buf, size_t len)
{
	struct mock_stream *s = c->stream;

	if (!s->readable)
		return s->eof ? 0 : -EAGAIN;
	if (len > s->readable)
		len = s->readable;
	memset(buf, 0xab, len);
	s->readable -= len;
	s->read_total += len;
	return (ssize_t)len;
}

static ssize_t m_write(struct vsock_conn *c, const void *buf, size_t len)
{
	struct mock_stream *s = c->stream;

	if (s->write_err)
		return -s->write_err;
	if (!s->take)
		return -EAGAIN;
	if (len > s->take)
		len = s->take;
	s->written += len;
	s->last_written = ((const uint8_t *)buf)[len - 1];
	return (ssize_t)len;
}

static void m_watch(struct vsock_conn *c, bool rd, bool wr)
{
	struct mock_stream *s = c->stream;

	s->rd = rd;
	s->wr = wr;
}

static int m_established(struct vsock_conn *c)
{
	((struct mock_stream *)c->stream)->established++;
	return 0;
}

static void m_shutdown_write(struct vsock_conn *c)
{
	((struct mock_stream *)c->stream)->shut_wr++;
}

static void m_close(struct vsock_conn *c)
{
	struct mock_stream *s = c->stream;

	s->closed++;
	s->used = false;
}

static const struct vsock_transport mock_tr = {
	.name = "mock",
	.reaches = m_reaches,
	.connect = m_connect,
	.read = m_read,
	.write = m_write,
	.watch = m_watch,
	.established = m_established,
	.shutdown_write = m_shutdown_write,
	.close = m_close,
};

static void on_wake(void *opaque)
{
	(void)opaque;
	wakes++;
}

static struct vsock_table tbl;
static uint8_t payload[VSOCK_MAX_PAYLOAD];

static int setup(void **state)
{
	(void)state;
	memset(ms, 0, sizeof(ms));
	connect_ret = 0;
	wakes = 0;
	vsock_table_init(&tbl, GUEST, on_wake, NULL);
	assert_int_equal(vsock_table_add_transport(&tbl, &mock_tr), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	vsock_table_reset(&tbl);
	return 0;
}

/* A packet from the guest's port gp to the host's port hp. */
static struct vsock_hdr pkt(uint16_t op, uint32_t gp, uint32_t hp)
{
	return (struct vsock_hdr){
		.src_cid = GUEST, .dst_cid = HOST, .src_port = gp, .dst_port = hp,
		.type = VSOCK_TYPE_STREAM, .op = op, .buf_alloc = 65536,
	};
}

static void send_pkt(struct vsock_hdr h, uint32_t len)
{
	h.len = len;
	vsock_table_recv(&tbl, &h, payload, len);
}

/* The next packet for the guest, which must exist and have op `op`. */
static struct vsock_hdr expect_out(uint16_t op, size_t room)
{
	struct vsock_hdr h;

	assert_true(vsock_table_next(&tbl, &h, payload, room));
	assert_int_equal(h.op, op);
	assert_int_equal(h.dst_cid, GUEST);
	assert_int_equal(h.type, VSOCK_TYPE_STREAM);
	return h;
}

static void expect_nothing(void)
{
	struct vsock_hdr h;

	assert_false(vsock_table_next(&tbl, &h, payload, sizeof(payload)));
}

static struct vsock_conn *conn_of(uint32_t gp, uint32_t hp)
{
	for (unsigned int i = 0; i < VSOCK_CONN_MAX; i++)
		if (tbl.conn[i].state != VSOCK_CONN_FREE && tbl.conn[i].guest_port == gp &&
		    tbl.conn[i].host_port == hp)
			return &tbl.conn[i];
	abort(); /* the tests only ask for connections they made */
}

/* Guest connects gp -> host hp; returns the connection's mock stream. */
static struct mock_stream *open_conn(uint32_t gp, uint32_t hp)
{
	struct vsock_hdr h;

	send_pkt(pkt(VSOCK_OP_REQUEST, gp, hp), 0);
	h = expect_out(VSOCK_OP_RESPONSE, 0);
	assert_int_equal(h.src_cid, HOST);
	assert_int_equal(h.src_port, hp);
	assert_int_equal(h.dst_port, gp);
	assert_int_equal(h.buf_alloc, VSOCK_CONN_BUF);
	assert_int_equal(h.fwd_cnt, 0);
	return conn_of(gp, hp)->stream;
}

/* ---- header ---- */

static void test_hdr_layout(void **state)
{
	static const uint8_t wire[VSOCK_HDR_SIZE] = {
		3, 0, 0, 0, 0, 0, 0, 0, /* src_cid */
		2, 0, 0, 0, 0, 0, 0, 0, /* dst_cid */
		0x39, 0x30, 0, 0, /* src_port 12345 */
		0x88, 0x13, 0, 0, /* dst_port 5000 */
		4, 0, 0, 0, /* len */
		1, 0, /* type stream */
		5, 0, /* op RW */
		0, 0, 0, 0, /* flags */
		0, 0, 4, 0, /* buf_alloc 256 KiB */
		0x10, 0x20, 0x30, 0x40, /* fwd_cnt */
	};
	uint8_t back[VSOCK_HDR_SIZE];
	struct vsock_hdr h;

	(void)state;
	vsock_hdr_decode(wire, &h);
	assert_int_equal(h.src_cid, 3);
	assert_int_equal(h.dst_cid, 2);
	assert_int_equal(h.src_port, 12345);
	assert_int_equal(h.dst_port, 5000);
	assert_int_equal(h.len, 4);
	assert_int_equal(h.type, VSOCK_TYPE_STREAM);
	assert_int_equal(h.op, VSOCK_OP_RW);
	assert_int_equal(h.buf_alloc, 256 * 1024);
	assert_int_equal(h.fwd_cnt, 0x40302010);
	vsock_hdr_encode(&h, back);
	assert_memory_equal(back, wire, sizeof(wire));
}

static void test_hdr_check(void **state)
{
	struct vsock_hdr h = pkt(VSOCK_OP_RW, 1000, 5000);

	(void)state;
	h.len = 100;
	assert_int_equal(vsock_hdr_check(&h, GUEST, 100), 0);
	assert_int_equal(vsock_hdr_check(&h, GUEST, 99), -EBADMSG); /* chain too short */
	h.src_cid = 4;
	assert_int_equal(vsock_hdr_check(&h, GUEST, 100), -EBADMSG); /* spoofed source */
	h = pkt(VSOCK_OP_RW, 1000, 5000);
	h.len = VSOCK_MAX_PAYLOAD + 1;
	assert_int_equal(vsock_hdr_check(&h, GUEST, UINT32_MAX), -EPROTO);
	h = pkt(VSOCK_OP_REQUEST, 1000, 5000);
	h.len = 1;
	assert_int_equal(vsock_hdr_check(&h, GUEST, 1), -EPROTO); /* only RW has data */
	h = pkt(0, 1000, 5000);
	assert_int_equal(vsock_hdr_check(&h, GUEST, 0), -EPROTO);
	h = pkt(8, 1000, 5000);
	assert_int_equal(vsock_hdr_check(&h, GUEST, 0), -EPROTO);
	h = pkt(VSOCK_OP_REQUEST, 1000, 5000);
	h.type = 2; /* SEQPACKET: not negotiated */
	assert_int_equal(vsock_hdr_check(&h, GUEST, 0), -EPROTO);
	h = pkt(VSOCK_OP_SHUTDOWN, 1000, 5000);
	h.flags = 4;
	assert_int_equal(vsock_hdr_check(&h, GUEST, 0), -EPROTO);
	h = pkt(VSOCK_OP_REQUEST, 1000, 5000);
	h.dst_cid = GUEST;
	assert_int_equal(vsock_hdr_check(&h, GUEST, 0), -EPROTO);
	h.dst_cid = 1ULL << 32;
	assert_int_equal(vsock_hdr_check(&h, GUEST, 0), -EPROTO);
	/* An RST is never answered, even a malformed one. */
	h = pkt(VSOCK_OP_RST, 1000, 5000);
	h.type = 9;
	assert_int_equal(vsock_hdr_check(&h, GUEST, 0), -EBADMSG);
	assert_true(vsock_cid_valid(3));
	assert_false(vsock_cid_valid(2));
	assert_false(vsock_cid_valid(0xffffffffULL));
}

/* ---- connection state machine ---- */

static void test_guest_connect(void **state)
{
	struct mock_stream *s;

	(void)state;
	s = open_conn(1000, 5000);
	assert_non_null(s);
	assert_true(s->rd); /* established: watching the host side for data */
	assert_false(s->wr);
	assert_int_equal(vsock_table_count(&tbl), 1);
	expect_nothing();
	/* A guest RST ends it quietly. */
	send_pkt(pkt(VSOCK_OP_RST, 1000, 5000), 0);
	assert_int_equal(s->closed, 1);
	assert_int_equal(vsock_table_count(&tbl), 0);
	expect_nothing();
}

static void test_refused_and_unknown(void **state)
{
	struct vsock_hdr h;

	(void)state;
	connect_ret = -ENOENT; /* nothing listens at PATH_5000 */
	send_pkt(pkt(VSOCK_OP_REQUEST, 1000, 5000), 0);
	h = expect_out(VSOCK_OP_RST, 0);
	assert_int_equal(h.src_cid, HOST);
	assert_int_equal(h.src_port, 5000);
	assert_int_equal(h.dst_port, 1000);
	assert_int_equal(vsock_table_count(&tbl), 0);
	/* No transport reaches CID 7. */
	connect_ret = 0;
	h = pkt(VSOCK_OP_REQUEST, 1000, 5000);
	h.dst_cid = 7;
	send_pkt(h, 0);
	h = expect_out(VSOCK_OP_RST, 0);
	assert_int_equal(h.src_cid, 7);
	/* Data for no connection: RST. An RST for none: nothing. */
	send_pkt(pkt(VSOCK_OP_RW, 1001, 5000), 10);
	expect_out(VSOCK_OP_RST, 0);
	send_pkt(pkt(VSOCK_OP_RST, 1001, 5000), 0);
	expect_nothing();
	/* A spoofed source is dropped without an answer. */
	h = pkt(VSOCK_OP_REQUEST, 1000, 5000);
	h.src_cid = 9;
	send_pkt(h, 0);
	expect_nothing();
	assert_int_equal(tbl.stats.dropped, 1);
}

static void test_guest_to_host_credit(void **state)
{
	struct vsock_conn *c;
	struct mock_stream *s;
	struct vsock_hdr h;

	(void)state;
	s = open_conn(1000, 5000);
	c = conn_of(1000, 5000);
	/* A stream that takes everything: fwd_cnt follows at once. */
	memset(payload, 1, 4096);
	send_pkt(pkt(VSOCK_OP_RW, 1000, 5000), 4096);
	assert_int_equal(s->written, 4096);
	assert_int_equal(c->fwd_cnt, 4096);
	assert_int_equal(c->buf_used, 0);
	expect_nothing(); /* the guest still believes most of the buffer is free */
	/* A stalled stream: bytes are held, up to buf_alloc and no further. */
	s->take = 0;
	for (unsigned int i = 0; i < VSOCK_CONN_BUF / 65536; i++) {
		memset(payload, (int)(i + 2), 65536);
		send_pkt(pkt(VSOCK_OP_RW, 1000, 5000), 65536);
	}
	assert_int_equal(c->buf_used, VSOCK_CONN_BUF);
	assert_true(s->wr);
	/* The stream drains: the guest learns the new fwd_cnt in a CREDIT_UPDATE. */
	s->take = 100000;
	vsock_conn_writable(c);
	assert_int_equal(c->buf_used, 0);
	assert_int_equal(s->written, 4096 + VSOCK_CONN_BUF);
	assert_int_equal(s->last_written, VSOCK_CONN_BUF / 65536 + 1); /* in order, last byte last */
	assert_false(s->wr);
	h = expect_out(VSOCK_OP_CREDIT_UPDATE, 0);
	assert_int_equal(h.fwd_cnt, 4096 + VSOCK_CONN_BUF);
	expect_nothing();
	/* CREDIT_REQUEST is answered. */
	send_pkt(pkt(VSOCK_OP_CREDIT_REQUEST, 1000, 5000), 0);
	h = expect_out(VSOCK_OP_CREDIT_UPDATE, 0);
	assert_int_equal(h.buf_alloc, VSOCK_CONN_BUF);
}

static void test_credit_violation(void **state)
{
	struct vsock_conn *c;
	struct mock_stream *s;

	(void)state;
	s = open_conn(1000, 5000);
	c = conn_of(1000, 5000);
	s->take = 0;
	for (unsigned int i = 0; i < VSOCK_CONN_BUF / 65536; i++)
		send_pkt(pkt(VSOCK_OP_RW, 1000, 5000), 65536);
	assert_int_equal(c->buf_used, VSOCK_CONN_BUF);
	/* One byte more than the credit we gave: reset, nothing held. */
	send_pkt(pkt(VSOCK_OP_RW, 1000, 5000), 1);
	assert_int_equal(tbl.stats.credit_violations, 1);
	assert_int_equal(s->closed, 1);
	assert_int_equal(vsock_table_count(&tbl), 0);
	expect_out(VSOCK_OP_RST, 0);
}

static void test_host_to_guest_credit(void **state)
{
	struct vsock_conn *c;
	struct mock_stream *s;
	struct vsock_hdr h, g;
	unsigned int before;

	(void)state;
	s = open_conn(1000, 5000); /* the guest offered buf_alloc 65536, fwd_cnt 0 */
	c = conn_of(1000, 5000);
	s->readable = 100000;
	before = wakes;
	vsock_conn_readable(c);
	assert_true(wakes > before);
	assert_false(s->rd); /* known readable: no need to watch */
	/* Packets are bounded by the rx buffer's room, then by the guest's credit. */
	h = expect_out(VSOCK_OP_RW, 4096);
	assert_int_equal(h.len, 4096);
	h = expect_out(VSOCK_OP_RW, sizeof(payload));
	assert_int_equal(h.len, 65536 - 4096);
	assert_int_equal(vsock_conn_peer_credit(c), 0);
	/* No credit: one CREDIT_REQUEST, then silence; nothing more is read. */
	expect_out(VSOCK_OP_CREDIT_REQUEST, sizeof(payload));
	expect_nothing();
	assert_int_equal(s->read_total, 65536);
	assert_false(s->rd);
	/* The guest consumed 10000 bytes. */
	g = pkt(VSOCK_OP_CREDIT_UPDATE, 1000, 5000);
	g.fwd_cnt = 10000;
	send_pkt(g, 0);
	h = expect_out(VSOCK_OP_RW, sizeof(payload));
	assert_int_equal(h.len, 10000);
	expect_out(VSOCK_OP_CREDIT_REQUEST, sizeof(payload));
	/* A guest that claims to have consumed more than we sent gets no more data. */
	g.fwd_cnt = 1000000;
	send_pkt(g, 0);
	assert_int_equal(vsock_conn_peer_credit(c), 0);
	expect_nothing();
	/* The host stream ends: SHUTDOWN(SEND) once the data is out. */
	g.fwd_cnt = 75536;
	send_pkt(g, 0);
	s->readable = 0;
	s->eof = true;
	h = expect_out(VSOCK_OP_SHUTDOWN, sizeof(payload));
	assert_int_equal(h.flags, VSOCK_SHUTDOWN_SEND);
	expect_nothing();
	assert_false(s->rd);
}

static void test_shutdown(void **state)
{
	struct vsock_conn *c;
	struct mock_stream *s;
	struct vsock_hdr g;

	(void)state;
	s = open_conn(1000, 5000);
	c = conn_of(1000, 5000);
	/* Half close with bytes held: the stream's write side ends after they are out. */
	s->take = 0;
	send_pkt(pkt(VSOCK_OP_RW, 1000, 5000), 10);
	g = pkt(VSOCK_OP_SHUTDOWN, 1000, 5000);
	g.flags = VSOCK_SHUTDOWN_SEND;
	send_pkt(g, 0);
	assert_int_equal(s->shut_wr, 0);
	s->take = SIZE_MAX;
	vsock_conn_writable(c);
	assert_int_equal(s->shut_wr, 1);
	/* Data after SHUTDOWN(SEND) is a protocol error. */
	send_pkt(pkt(VSOCK_OP_RW, 1000, 5000), 1);
	assert_int_equal(s->closed, 1);
	expect_out(VSOCK_OP_RST, 0);
	/* A full SHUTDOWN is answered with RST (5.10.6.5) and frees the slot. */
	s = open_conn(1001, 5000);
	g = pkt(VSOCK_OP_SHUTDOWN, 1001, 5000);
	g.flags = VSOCK_SHUTDOWN_BOTH;
	send_pkt(g, 0);
	assert_int_equal(s->closed, 1);
	assert_int_equal(vsock_table_count(&tbl), 0);
	g = expect_out(VSOCK_OP_RST, 0);
	assert_int_equal(g.dst_port, 1001);
}

static void test_host_initiated(void **state)
{
	struct mock_stream *s = mock_new();
	struct vsock_conn *c;
	struct vsock_hdr h, g;

	(void)state;
	c = vsock_conn_accept(&tbl, &mock_tr, s);
	assert_non_null(c);
	expect_nothing(); /* not addressed yet: invisible to the guest */
	assert_int_equal(vsock_conn_connect_guest(c, HOST, 5000), 0);
	h = expect_out(VSOCK_OP_REQUEST, 0);
	assert_int_equal(h.src_cid, HOST);
	assert_int_equal(h.src_port, VSOCK_HOST_PORT_FIRST);
	assert_int_equal(h.dst_port, 5000);
	/* The guest accepts: the transport hears of it and starts watching for data. */
	g = pkt(VSOCK_OP_RESPONSE, 5000, VSOCK_HOST_PORT_FIRST);
	send_pkt(g, 0);
	assert_int_equal(s->established, 1);
	assert_int_equal(c->state, VSOCK_CONN_ESTABLISHED);
	assert_true(s->rd);
	/* A second RESPONSE is a protocol error. */
	send_pkt(g, 0);
	assert_int_equal(s->closed, 1);
	expect_out(VSOCK_OP_RST, 0);
	/* Refused by the guest: its RST closes the host stream. */
	s = mock_new();
	c = vsock_conn_accept(&tbl, &mock_tr, s);
	assert_int_equal(vsock_conn_connect_guest(c, HOST, 5001), 0);
	h = expect_out(VSOCK_OP_REQUEST, 0);
	assert_int_equal(h.src_port, VSOCK_HOST_PORT_FIRST + 1);
	send_pkt(pkt(VSOCK_OP_RST, 5001, h.src_port), 0);
	assert_int_equal(s->closed, 1);
	assert_int_equal(s->established, 0);
	expect_nothing();
	/* A host stream that goes away before the REQUEST went out: no RST owed. */
	s = mock_new();
	c = vsock_conn_accept(&tbl, &mock_tr, s);
	assert_int_equal(vsock_conn_connect_guest(c, HOST, 5002), 0);
	vsock_conn_abort(c);
	assert_int_equal(s->closed, 1);
	expect_nothing();
}

static void test_guest_reset(void **state)
{
	struct mock_stream *g, *waiting = mock_new(), *unsent = mock_new(), *sent = mock_new();
	struct vsock_conn *c;
	struct vsock_hdr h;

	(void)state;
	g = open_conn(1000, 5000);
	c = vsock_conn_accept(&tbl, &mock_tr, sent);
	assert_int_equal(vsock_conn_connect_guest(c, HOST, 7000), 0);
	expect_out(VSOCK_OP_REQUEST, 0);
	assert_non_null(vsock_conn_accept(&tbl, &mock_tr, waiting));
	c = vsock_conn_accept(&tbl, &mock_tr, unsent);
	assert_int_equal(vsock_conn_connect_guest(c, HOST, 7001), 0);
	send_pkt(pkt(VSOCK_OP_RW, 1, 1), 0); /* an RST is queued */
	/* The driver resets: what the guest knew goes, host programs still waiting stay. */
	vsock_table_guest_reset(&tbl);
	assert_int_equal(g->closed, 1);
	assert_int_equal(sent->closed, 1);
	assert_int_equal(waiting->closed + unsent->closed, 0);
	assert_int_equal(vsock_table_count(&tbl), 2);
	h = expect_out(VSOCK_OP_REQUEST, 0); /* offered to the next driver */
	assert_int_equal(h.dst_port, 7001);
	expect_nothing();
}

static void test_limits(void **state)
{
	struct vsock_hdr h;

	(void)state;
	for (uint32_t i = 0; i < VSOCK_CONN_MAX; i++) {
		send_pkt(pkt(VSOCK_OP_REQUEST, 2000 + i, 5000), 0);
		expect_out(VSOCK_OP_RESPONSE, 0);
	}
	assert_int_equal(vsock_table_count(&tbl), VSOCK_CONN_MAX);
	assert_null(vsock_conn_accept(&tbl, &mock_tr, NULL));
	/* Full: the next is refused with RST. */
	send_pkt(pkt(VSOCK_OP_REQUEST, 9999, 5000), 0);
	h = expect_out(VSOCK_OP_RST, 0);
	assert_int_equal(h.dst_port, 9999);
	/* The RST queue is bounded: a flood loses answers, not memory. */
	for (uint32_t i = 0; i < VSOCK_RST_QUEUE + 10; i++)
		send_pkt(pkt(VSOCK_OP_RW, 30000 + i, 6000), 0);
	assert_int_equal(tbl.rst_n, VSOCK_RST_QUEUE);
	assert_int_equal(tbl.stats.rst_lost, 10);
	/* A device reset drops all of it. */
	vsock_table_reset(&tbl);
	assert_int_equal(vsock_table_count(&tbl), 0);
	expect_nothing();
}

/* Deterministic random packets: no crash, and the table's bounds hold throughout. */
static void test_random_packets(void **state)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	struct vsock_hdr h;

	(void)state;
	for (unsigned int i = 0; i < 200000; i++) {
		struct vsock_hdr g;
		unsigned int r;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		r = (unsigned int)x;
		g = pkt((uint16_t)(r % 9), 1000 + (r >> 4) % 8, 5000 + (r >> 8) % 2);
		if ((r >> 12) % 16 == 0)
			g.type = (uint16_t)((r >> 16) % 3);
		g.flags = (r >> 18) % 5;
		g.buf_alloc = (r >> 20) % 2 ? 65536 : (uint32_t)x;
		g.fwd_cnt = (uint32_t)(x >> 32);
		send_pkt(g, g.op == VSOCK_OP_RW ? (r >> 3) % 70000 : 0);
		for (unsigned int k = 0; k < VSOCK_CONN_MAX; k++) {
			struct vsock_conn *c = &tbl.conn[k];

			if (c->state != VSOCK_CONN_FREE) {
				struct mock_stream *s = c->stream;

				assert_true(c->buf_used <= VSOCK_CONN_BUF);
				s->take = (r >> 24) % 3 ? SIZE_MAX : 0;
				s->readable = (r >> 26) % 2 ? 5000 : 0;
				if ((r >> 27) % 4 == 0)
					vsock_conn_readable(c);
				if ((r >> 29) % 4 == 0)
					vsock_conn_writable(c);
			}
		}
		while (vsock_table_next(&tbl, &h, payload, (r >> 5) % 3 ? 4096 : 0))
			assert_true(h.len <= 4096);
		assert_true(vsock_table_count(&tbl) <= VSOCK_CONN_MAX);
	}
}

/* ---- option and CONNECT line ---- */

static void test_parse(void **state)
{
	struct vsock_config vc = { 0 };
	char err[256];
	uint32_t port;

	(void)state;
	assert_int_equal(vsock_parse_spec(&vc, "cid=3,socket=/tmp/v.sock", err, sizeof(err)), 0);
	assert_int_equal(vc.cid, 3);
	assert_string_equal(vc.socket, "/tmp/v.sock");
	assert_int_equal(vsock_parse_spec(&vc, "socket=/x,cid=4294967294", err, sizeof(err)), 0);
	assert_int_equal(vc.cid, 4294967294ULL);
	assert_int_equal(vsock_parse_spec(&vc, "cid=2,socket=/x", err, sizeof(err)), -EINVAL);
	assert_int_equal(vsock_parse_spec(&vc, "cid=4294967295,socket=/x", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(vsock_parse_spec(&vc, "cid=5", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "socket=PATH"));
	assert_int_equal(vsock_parse_spec(&vc, "cid=5,socket=/x,port=1", err, sizeof(err)), -EINVAL);
	assert_int_equal(vsock_parse_spec(&vc, "cid=5,socket=", err, sizeof(err)), -EINVAL);
	assert_int_equal(vc.cid, 4294967294ULL); /* untouched by the failures */
	vsock_config_free(&vc);
	assert_null(vc.socket);

	assert_int_equal(vsock_unix_parse_connect("CONNECT 5000\n", 13, &port), 0);
	assert_int_equal(port, 5000);
	assert_int_equal(vsock_unix_parse_connect("CONNECT 4294967295\n", 19, &port), 0);
	assert_int_equal(port, UINT32_MAX);
	assert_int_equal(vsock_unix_parse_connect("CONNECT 4294967296\n", 19, &port), -EINVAL);
	assert_int_equal(vsock_unix_parse_connect("CONNECT \n", 9, &port), -EINVAL);
	assert_int_equal(vsock_unix_parse_connect("CONNECT 5000", 12, &port), -EINVAL);
	assert_int_equal(vsock_unix_parse_connect("CONNECT -1\n", 11, &port), -EINVAL);
	assert_int_equal(vsock_unix_parse_connect("connect 5\n", 10, &port), -EINVAL);
}

/* --vsock and the JSON key reach the device's configuration through config.c's table. */
static void test_config_option(void **state)
{
	static const char json[] = "{\"vsock\": \"cid=7,socket=/run/a.vsock\"}";
	char a0[] = "bulwark-vmm", a1[] = "--kernel", a2[] = "k", a3[] = "--vsock";
	char a4[] = "cid=9,socket=/run/b.vsock", bad[] = "cid=1,socket=/x";
	char *argv[] = { a0, a1, a2, a3, a4, NULL };
	struct vmm_config c;
	char err[256];

	(void)state;
	config_init(&c);
	assert_int_equal(c.vsock.cid, 0); /* off by default */
	assert_int_equal(config_parse_json(&c, json, strlen(json), err, sizeof(err)), 0);
	assert_int_equal(c.vsock.cid, 7);
	assert_string_equal(c.vsock.socket, "/run/a.vsock");
	config_free(&c);
	config_init(&c);
	assert_int_equal(config_parse_args(&c, 5, argv, err, sizeof(err)), 0);
	assert_int_equal(c.vsock.cid, 9);
	assert_string_equal(c.vsock.socket, "/run/b.vsock");
	config_free(&c);
	config_init(&c);
	argv[4] = bad;
	assert_int_equal(config_parse_args(&c, 5, argv, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "vsock: cid"));
	config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hdr_layout),
		cmocka_unit_test(test_hdr_check),
		cmocka_unit_test_setup_teardown(test_guest_connect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_and_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_to_host_credit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_credit_violation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_to_guest_credit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shutdown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_initiated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_packets, setup, teardown),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_config_option),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

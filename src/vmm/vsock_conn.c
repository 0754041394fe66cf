// SPDX-License-Identifier: Apache-2.0
/*
 * The vsock connection table (virtio 1.2, 5.10.6): connection states, clean and forced
 * disconnects, and credit-based flow control in both directions, driven by the guest's
 * packets and by readiness of the transports' host-side streams.
 */
#include "vsock_conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Control packets a connection owes the guest. */
#define CONN_PEND_REQUEST 1u
#define CONN_PEND_RESPONSE 2u
#define CONN_PEND_CREDIT_UPDATE 4u

static void wake(struct vsock_table *t)
{
	if (t->wake)
		t->wake(t->wake_opaque);
}

static void queue_rst(struct vsock_table *t, uint64_t src_cid, uint32_t src_port,
		      uint32_t dst_port)
{
	struct vsock_rst *r;

	/* Bounded: a guest that sends junk faster than it takes answers loses answers. */
	if (t->rst_n == VSOCK_RST_QUEUE) {
		t->stats.rst_lost++;
		return;
	}
	r = &t->rst[(t->rst_head + t->rst_n) % VSOCK_RST_QUEUE];
	r->src_cid = src_cid;
	r->src_port = src_port;
	r->dst_port = dst_port;
	t->rst_n++;
	wake(t);
}

/* An RST answering packet h, from where it was sent to (5.10.6.4). */
static void rst_for(struct vsock_table *t, const struct vsock_hdr *h)
{
	queue_rst(t, h->dst_cid, h->dst_port, h->src_port);
}

static void conn_free(struct vsock_conn *c)
{
	if (c->stream && c->tr->close)
		c->tr->close(c);
	free(c->buf);
	memset(c, 0, sizeof(*c));
}

/* Ends c now; the guest gets an RST if it knows the connection exists. */
static void conn_reset(struct vsock_conn *c)
{
	bool known = c->state == VSOCK_CONN_ESTABLISHED ||
		     (c->state == VSOCK_CONN_CONNECTING && !(c->pending & CONN_PEND_REQUEST));

	if (known)
		queue_rst(c->tbl, c->peer_cid, c->host_port, c->guest_port);
	conn_free(c);
}

static struct vsock_conn *conn_alloc(struct vsock_table *t, const struct vsock_transport *tr)
{
	for (unsigned int i = 0; i < VSOCK_CONN_MAX; i++) {
		struct vsock_conn *c = &t->conn[i];

		if (c->state == VSOCK_CONN_FREE) {
			memset(c, 0, sizeof(*c));
			c->tbl = t;
			c->tr = tr;
			return c;
		}
	}
	return NULL;
}

static struct vsock_conn *lookup(struct vsock_table *t, uint64_t peer_cid, uint32_t guest_port,
				 uint32_t host_port)
{
	for (unsigned int i = 0; i < VSOCK_CONN_MAX; i++) {
		struct vsock_conn *c = &t->conn[i];

		if (c->state >= VSOCK_CONN_CONNECTING && c->peer_cid == peer_cid &&
		    c->guest_port == guest_port && c->host_port == host_port)
			return c;
	}
	return NULL;
}

uint32_t vsock_conn_peer_credit(const struct vsock_conn *c)
{
	/*
	 * 5.10.6.3: we may send buf_alloc - (tx_cnt - fwd_cnt). A fwd_cnt ahead of what we
	 * sent (a lying guest) makes the difference wrap: that is no credit, not a lot.
	 */
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

	return in_flight > c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

/* The guest may get host data from c (if the stream has some). */
static bool wants_data(const struct vsock_conn *c)
{
	return c->state == VSOCK_CONN_ESTABLISHED && !c->host_eof &&
	       !(c->guest_shut & VSOCK_SHUTDOWN_RCV);
}

/* Asks the stream for exactly the readiness the connection can use now. */
static void update_watch(struct vsock_conn *c)
{
	bool rd = false, wr = false;

	if (c->state == VSOCK_CONN_ESTABLISHED && c->stream) {
		/* No credit: reading would only fill our memory, so do not even look. */
		rd = wants_data(c) && !c->readable && vsock_conn_peer_credit(c) > 0;
		wr = c->buf_used > 0;
	}
	if (rd == c->watch_rd && wr == c->watch_wr)
		return;
	c->watch_rd = rd;
	c->watch_wr = wr;
	if (c->tr->watch)
		c->tr->watch(c, rd, wr);
}

/* After bytes went to the stream: shutdowns that were waiting for them, credit updates. */
static void after_write(struct vsock_conn *c)
{
	if (c->buf_used == 0 && (c->guest_shut & VSOCK_SHUTDOWN_SEND)) {
		/* 5.10.6.5: a SHUTDOWN of both directions is answered by an RST. */
		if (c->guest_shut == VSOCK_SHUTDOWN_BOTH) {
			conn_reset(c);
			return;
		}
		if (!c->write_shut) {
			c->write_shut = true;
			if (c->tr->shutdown_write)
				c->tr->shutdown_write(c);
		}
	}
	/*
	 * The guest counts our free space from the last fwd_cnt it saw. Once it believes
	 * half the buffer is used and we have freed some, tell it, or it may stall.
	 */
	if (c->fwd_cnt != c->fwd_cnt_sent && c->rx_cnt - c->fwd_cnt_sent >= VSOCK_CONN_BUF / 2 &&
	    !(c->pending & CONN_PEND_CREDIT_UPDATE)) {
		c->pending |= CONN_PEND_CREDIT_UPDATE;
		wake(c->tbl);
	}
	update_watch(c);
}

/* Writes held bytes to the stream until it is empty or would block. */
static void flush(struct vsock_conn *c)
{
	while (c->buf_used) {
		uint32_t chunk = VSOCK_CONN_BUF - c->buf_head;
		ssize_t n;

		if (chunk > c->buf_used)
			chunk = c->buf_used;
		n = c->tr->write(c, c->buf + c->buf_head, chunk);
		if (n == -EAGAIN)
			break;
		if (n <= 0 || (size_t)n > chunk) {
			conn_reset(c);
			return;
		}
		c->buf_head = (uint32_t)((c->buf_head + (uint32_t)n) % VSOCK_CONN_BUF);
		c->buf_used -= (uint32_t)n;
		c->fwd_cnt += (uint32_t)n;
	}
	after_write(c);
}

static void recv_rw(struct vsock_conn *c, const struct vsock_hdr *h, const uint8_t *payload)
{
	uint32_t off = 0, left, tail;

	if (c->guest_shut & VSOCK_SHUTDOWN_SEND) {
		conn_reset(c);
		return;
	}
	/*
	 * 5.10.6.3: the driver must not send more than our free space. One that does is
	 * reset; holding the excess would let it grow our memory.
	 */
	if (h->len > VSOCK_CONN_BUF - c->buf_used) {
		c->tbl->stats.credit_violations++;
		conn_reset(c);
		return;
	}
	c->rx_cnt += h->len;
	/* Nothing held: straight to the stream, keeping only what it would not take. */
	while (c->buf_used == 0 && off < h->len) {
		ssize_t n = c->tr->write(c, payload + off, h->len - off);

		if (n == -EAGAIN)
			break;
		if (n <= 0 || (size_t)n > h->len - off) {
			conn_reset(c);
			return;
		}
		off += (uint32_t)n;
		c->fwd_cnt += (uint32_t)n;
	}
	left = h->len - off;
	if (left) {
		if (!c->buf && !(c->buf = malloc(VSOCK_CONN_BUF))) {
			conn_reset(c);
			return;
		}
		tail = (c->buf_head + c->buf_used) % VSOCK_CONN_BUF;
		if (left <= VSOCK_CONN_BUF - tail) {
			memcpy(c->buf + tail, payload + off, left);
		} else {
			memcpy(c->buf + tail, payload + off, VSOCK_CONN_BUF - tail);
			memcpy(c->buf, payload + off + (VSOCK_CONN_BUF - tail),
			       left - (VSOCK_CONN_BUF - tail));
		}
		c->buf_used += left;
	}
	flush(c);
}

/* A REQUEST for a connection we do not have (5.10.6.4). */
static void recv_request(struct vsock_table *t, const struct vsock_hdr *h)
{
	const struct vsock_transport *tr = NULL;
	struct vsock_conn *c;

	for (unsigned int i = 0; i < t->ntr && !tr; i++)
		if (t->tr[i]->reaches(t->tr[i], h->dst_cid))
			tr = t->tr[i];
	c = tr ? conn_alloc(t, tr) : NULL;
	if (!c) {
		rst_for(t, h);
		return;
	}
	c->peer_cid = h->dst_cid;
	c->guest_port = h->src_port;
	c->host_port = h->dst_port;
	c->state = VSOCK_CONN_CONNECTING;
	if (tr->connect(tr, c) < 0) {
		c->stream = NULL;
		conn_free(c);
		rst_for(t, h);
		return;
	}
	c->state = VSOCK_CONN_ESTABLISHED;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	c->pending |= CONN_PEND_RESPONSE;
	t->stats.conns_opened++;
	update_watch(c);
	wake(t);
}

void vsock_table_recv(struct vsock_table *t, const struct vsock_hdr *h, const uint8_t *payload,
		      uint64_t payload_avail)
{
	struct vsock_conn *c;
	int ret;

	t->stats.rx_pkts++;
	ret = vsock_hdr_check(h, t->guest_cid, payload_avail);
	if (ret < 0) {
		t->stats.dropped++;
		if (ret == -EPROTO)
			rst_for(t, h);
		return;
	}
	c = lookup(t, h->dst_cid, h->src_port, h->dst_port);
	if (!c) {
		/* 5.10.6.4: a packet for no connection is answered by an RST, an RST by nothing. */
		if (h->op == VSOCK_OP_REQUEST)
			recv_request(t, h);
		else if (h->op != VSOCK_OP_RST)
			rst_for(t, h);
		return;
	}
	if (h->op == VSOCK_OP_RST) {
		conn_free(c);
		return;
	}
	/* Every packet carries the sender's buffer state (5.10.6.3). */
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	if (vsock_conn_peer_credit(c) > 0)
		c->credit_requested = false;
	if (c->state == VSOCK_CONN_CONNECTING) {
		/* Only an answer to our REQUEST is valid here, and only once it was sent. */
		if (h->op != VSOCK_OP_RESPONSE || (c->pending & CONN_PEND_REQUEST)) {
			conn_reset(c);
			return;
		}
		c->state = VSOCK_CONN_ESTABLISHED;
		t->stats.conns_opened++;
		if (c->tr->established && c->tr->established(c) < 0) {
			conn_reset(c);
			return;
		}
	} else {
		switch (h->op) {
		case VSOCK_OP_SHUTDOWN:
			c->guest_shut |= h->flags & VSOCK_SHUTDOWN_BOTH;
			flush(c);
			return;
		case VSOCK_OP_RW:
			recv_rw(c, h, payload);
			return;
		case VSOCK_OP_CREDIT_UPDATE:
			break;
		case VSOCK_OP_CREDIT_REQUEST:
			c->pending |= CONN_PEND_CREDIT_UPDATE;
			wake(t);
			break;
		default: /* REQUEST or RESPONSE on a live connection */
			conn_reset(c);
			return;
		}
	}
	update_watch(c);
	if (c->readable && wants_data(c) && vsock_conn_peer_credit(c) > 0)
		wake(t);
}

/* Fills h for a packet from c and counts what it tells the guest. */
static bool out(struct vsock_conn *c, struct vsock_hdr *h, uint16_t op, uint32_t flags,
		uint32_t len)
{
	*h = (struct vsock_hdr){
		.src_cid = c->peer_cid,
		.dst_cid = c->tbl->guest_cid,
		.src_port = c->host_port,
		.dst_port = c->guest_port,
		.len = len,
		.type = VSOCK_TYPE_STREAM,
		.op = op,
		.flags = flags,
		.buf_alloc = VSOCK_CONN_BUF,
		.fwd_cnt = c->fwd_cnt,
	};
	c->fwd_cnt_sent = c->fwd_cnt;
	c->pending &= ~CONN_PEND_CREDIT_UPDATE;
	return true;
}

/* The next packet c has for the guest, if any. May end c (a broken stream). */
static bool emit(struct vsock_conn *c, struct vsock_hdr *h, uint8_t *payload, size_t room)
{
	if (c->pending & CONN_PEND_REQUEST) {
		c->pending &= ~CONN_PEND_REQUEST;
		return out(c, h, VSOCK_OP_REQUEST, 0, 0);
	}
	if (c->state != VSOCK_CONN_ESTABLISHED)
		return false;
	if (c->pending & CONN_PEND_RESPONSE) {
		c->pending &= ~CONN_PEND_RESPONSE;
		return out(c, h, VSOCK_OP_RESPONSE, 0, 0);
	}
	if (c->readable && wants_data(c)) {
		uint32_t credit = vsock_conn_peer_credit(c);
		size_t n = room < VSOCK_MAX_PAYLOAD ? room : VSOCK_MAX_PAYLOAD;
		ssize_t r;

		if (credit == 0 && !c->credit_requested) {
			/* 5.10.6.3: ask rather than wait for an update that may never come. */
			c->credit_requested = true;
			return out(c, h, VSOCK_OP_CREDIT_REQUEST, 0, 0);
		}
		if (credit && n) {
			if (n > credit)
				n = credit;
			r = c->tr->read(c, payload, n);
			if (r > 0 && (size_t)r <= n) {
				c->tx_cnt += (uint32_t)r;
				return out(c, h, VSOCK_OP_RW, 0, (uint32_t)r);
			}
			if (r == 0) {
				/* End of the host's stream: it will send no more (5.10.6.5). */
				c->host_eof = true;
				c->readable = false;
				update_watch(c);
				return out(c, h, VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_SEND, 0);
			}
			if (r != -EAGAIN) {
				conn_reset(c);
				return false;
			}
			c->readable = false;
			update_watch(c);
		}
	}
	if (c->pending & CONN_PEND_CREDIT_UPDATE)
		return out(c, h, VSOCK_OP_CREDIT_UPDATE, 0, 0);
	return false;
}

static bool next_rst(struct vsock_table *t, struct vsock_hdr *h)
{
	const struct vsock_rst *r;

	if (!t->rst_n)
		return false;
	r = &t->rst[t->rst_head];
	*h = (struct vsock_hdr){
		.src_cid = r->src_cid,
		.dst_cid = t->guest_cid,
		.src_port = r->src_port,
		.dst_port = r->dst_port,
		.type = VSOCK_TYPE_STREAM,
		.op = VSOCK_OP_RST,
	};
	t->rst_head = (t->rst_head + 1) % VSOCK_RST_QUEUE;
	t->rst_n--;
	t->stats.rst_sent++;
	t->stats.tx_pkts++;
	return true;
}

bool vsock_table_next(struct vsock_table *t, struct vsock_hdr *h, uint8_t *payload, size_t room)
{
	if (next_rst(t, h))
		return true;
	for (unsigned int k = 0; k < VSOCK_CONN_MAX; k++) {
		unsigned int i = (t->rr + k) % VSOCK_CONN_MAX;
		struct vsock_conn *c = &t->conn[i];

		if (c->state < VSOCK_CONN_CONNECTING)
			continue;
		if (emit(c, h, payload, room)) {
			/* Round robin: one busy stream cannot starve the others. */
			t->rr = (i + 1) % VSOCK_CONN_MAX;
			t->stats.tx_pkts++;
			return true;
		}
	}
	/* emit may have reset a connection whose stream broke: send its RST now. */
	return next_rst(t, h);
}

void vsock_table_init(struct vsock_table *t, uint64_t guest_cid, void (*wake_fn)(void *opaque),
		      void *wake_opaque)
{
	memset(t, 0, sizeof(*t));
	t->guest_cid = guest_cid;
	t->wake = wake_fn;
	t->wake_opaque = wake_opaque;
	t->next_host_port = VSOCK_HOST_PORT_FIRST;
}

int vsock_table_add_transport(struct vsock_table *t, const struct vsock_transport *tr)
{
	if (t->ntr == VSOCK_TRANSPORTS_MAX)
		return -ENOSPC;
	t->tr[t->ntr++] = tr;
	return 0;
}

void vsock_table_reset(struct vsock_table *t)
{
	for (unsigned int i = 0; i < VSOCK_CONN_MAX; i++)
		if (t->conn[i].state != VSOCK_CONN_FREE)
			conn_free(&t->conn[i]);
	t->rst_head = t->rst_n = 0;
	t->rr = 0;
}

void vsock_table_guest_reset(struct vsock_table *t)
{
	for (unsigned int i = 0; i < VSOCK_CONN_MAX; i++) {
		struct vsock_conn *c = &t->conn[i];

		/* Host programs still waiting for their REQUEST to go out keep waiting. */
		if (c->state == VSOCK_CONN_HOST_WAIT ||
		    (c->state == VSOCK_CONN_CONNECTING && (c->pending & CONN_PEND_REQUEST)))
			continue;
		if (c->state != VSOCK_CONN_FREE)
			conn_free(c);
	}
	t->rst_head = t->rst_n = 0;
	if (vsock_table_count(t))
		wake(t);
}

unsigned int vsock_table_count(const struct vsock_table *t)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < VSOCK_CONN_MAX; i++)
		n += t->conn[i].state != VSOCK_CONN_FREE;
	return n;
}

struct vsock_conn *vsock_conn_accept(struct vsock_table *t, const struct vsock_transport *tr,
				     void *stream)
{
	struct vsock_conn *c = conn_alloc(t, tr);

	if (!c)
		return NULL;
	c->state = VSOCK_CONN_HOST_WAIT;
	c->stream = stream;
	return c;
}

int vsock_conn_connect_guest(struct vsock_conn *c, uint64_t peer_cid, uint32_t guest_port)
{
	struct vsock_table *t = c->tbl;

	if (c->state != VSOCK_CONN_HOST_WAIT) {
		conn_reset(c);
		return -EINVAL;
	}
	/* A host port no live connection to this guest port uses (at most MAX tries). */
	for (unsigned int tries = 0; tries <= VSOCK_CONN_MAX; tries++) {
		uint32_t port = t->next_host_port;

		t->next_host_port = port == UINT32_MAX ? VSOCK_HOST_PORT_FIRST : port + 1;
		if (lookup(t, peer_cid, guest_port, port))
			continue;
		c->peer_cid = peer_cid;
		c->guest_port = guest_port;
		c->host_port = port;
		c->state = VSOCK_CONN_CONNECTING;
		c->pending |= CONN_PEND_REQUEST;
		wake(t);
		return 0;
	}
	conn_reset(c);
	return -EADDRINUSE;
}

void vsock_conn_readable(struct vsock_conn *c)
{
	if (c->state != VSOCK_CONN_ESTABLISHED)
		return;
	c->readable = true;
	update_watch(c);
	if (wants_data(c))
		wake(c->tbl);
}

void vsock_conn_writable(struct vsock_conn *c)
{
	if (c->state == VSOCK_CONN_ESTABLISHED)
		flush(c);
}

void vsock_conn_abort(struct vsock_conn *c)
{
	if (c->state != VSOCK_CONN_FREE)
		conn_reset(c);
}

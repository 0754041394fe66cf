// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer harness: the vsock packet checks and connection table (virtio 1.2, 5.10.6)
 * under arbitrary guest packets interleaved with host-side stream events, against a mock
 * transport whose streams take, refuse or fail writes as the input says. Checks the
 * table's bounds after every step.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vsock_conn.h"
#include "vsock_pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define GUEST_CID 3

struct fz_stream {
	bool used;
	uint8_t mode; /* bit 0: writes would block; bit 1: writes fail; bit 2: reads at EOF */
	size_t readable;
};

static struct fz_stream streams[VSOCK_CONN_MAX];
static uint8_t fz_mode;

static struct fz_stream *fz_new(void)
{
	for (unsigned int i = 0; i < VSOCK_CONN_MAX; i++)
		if (!streams[i].used) {
			streams[i] = (struct fz_stream){ .used = true, .mode = fz_mode, .readable = 3000 };
			return &streams[i];
		}
	return NULL;
}

static bool fz_reaches(const struct vsock_transport *t, uint64_t cid)
{
	(void)t;
	return cid == VSOCK_CID_HOST;
}

static int fz_connect(const struct vsock_transport *t, struct vsock_conn *c)
{
	(void)t;
	if (fz_mode & 8)
		return -ECONNREFUSED;
	c->stream = fz_new();
	return c->stream ? 0 : -EMFILE;
}

static ssize_t fz_read(struct vsock_conn *c, void *buf, size_t len)
{
	struct fz_stream *s = c->stream;

	if (!s->readable)
		return (s->mode & 4) ? 0 : -EAGAIN;
	if (len > s->readable)
		len = s->readable;
	memset(buf, 0x5a, len);
	s->readable -= len;
	return (ssize_t)len;
}

static ssize_t fz_write(struct vsock_conn *c, const void *buf, size_t len)
{
	struct fz_stream *s = c->stream;

	(void)buf;
	if (s->mode & 2)
		return -EPIPE;
	if (s->mode & 1)
		return -EAGAIN;
	return len > 1000 ? 1000 : (ssize_t)len;
}

static void fz_watch(struct vsock_conn *c, bool rd, bool wr)
{
	(void)c, (void)rd, (void)wr;
}

static int fz_established(struct vsock_conn *c)
{
	return (((struct fz_stream *)c->stream)->mode & 16) ? -EPIPE : 0;
}

static void fz_shutdown_write(struct vsock_conn *c)
{
	(void)c;
}

static void fz_close(struct vsock_conn *c)
{
	struct fz_stream *s = c->stream;

	if (!s || !s->used)
		abort(); /* closed twice, or never opened */
	s->used = false;
}

static const struct vsock_transport fz_tr = {
	.name = "fuzz",
	.reaches = fz_reaches,
	.connect = fz_connect,
	.read = fz_read,
	.write = fz_write,
	.watch = fz_watch,
	.established = fz_established,
	.shutdown_write = fz_shutdown_write,
	.close = fz_close,
};

static void check(const struct vsock_table *t)
{
	if (t->rst_n > VSOCK_RST_QUEUE)
		abort();
	for (unsigned int i = 0; i < VSOCK_CONN_MAX; i++)
		if (t->conn[i].buf_used > VSOCK_CONN_BUF)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vsock_table t;
	static uint8_t payload[VSOCK_MAX_PAYLOAD];

	memset(streams, 0, sizeof(streams));
	fz_mode = 0;
	vsock_table_init(&t, GUEST_CID, NULL, NULL);
	if (vsock_table_add_transport(&t, &fz_tr) < 0)
		abort();
	while (size >= 2) {
		uint8_t op = data[0], arg = data[1];
		struct vsock_conn *c = &t.conn[arg % VSOCK_CONN_MAX];
		struct vsock_hdr h;

		data += 2;
		size -= 2;
		fz_mode = arg;
		switch (op % 6) {
		case 0: { /* a guest packet: header, then its chain's payload bytes */
			size_t avail;

			if (size < VSOCK_HDR_SIZE)
				goto out;
			vsock_hdr_decode(data, &h);
			data += VSOCK_HDR_SIZE;
			size -= VSOCK_HDR_SIZE;
			/* Most inputs come from the guest itself. */
			if (arg & 0x80)
				h.src_cid = GUEST_CID;
			avail = size < h.len ? size : h.len;
			if (avail > sizeof(payload))
				avail = sizeof(payload);
			memcpy(payload, data, avail);
			data += avail;
			size -= avail;
			vsock_table_recv(&t, &h, payload, avail);
			break;
		}
		case 1: /* the device fills rx buffers of `arg` * 64 bytes of payload room */
			while (vsock_table_next(&t, &h, payload, (size_t)arg * 64))
				if (h.len > (size_t)arg * 64 || h.dst_cid != GUEST_CID)
					abort();
			break;
		case 2:
			if (c->state != VSOCK_CONN_FREE && c->state != VSOCK_CONN_HOST_WAIT)
				vsock_conn_readable(c);
			break;
		case 3:
			if (c->state != VSOCK_CONN_FREE && c->state != VSOCK_CONN_HOST_WAIT)
				vsock_conn_writable(c);
			break;
		case 4: { /* a host program connects to guest port `arg` */
			struct fz_stream *s = fz_new();
			struct vsock_conn *n = s ? vsock_conn_accept(&t, &fz_tr, s) : NULL;

			if (s && !n)
				s->used = false;
			if (n)
				(void)vsock_conn_connect_guest(n, VSOCK_CID_HOST, arg);
			break;
		}
		case 5:
			if (c->state != VSOCK_CONN_FREE)
				vsock_conn_abort(c);
			break;
		}
		check(&t);
	}
out:
	vsock_table_reset(&t);
	for (unsigned int i = 0; i < VSOCK_CONN_MAX; i++)
		if (streams[i].used)
			abort(); /* a stream the table forgot to close */
	return 0;
}

// SPDX-License-Identifier: Apache-2.0
/*
 * vsock's Unix-socket transport (Firecracker's convention): host programs reach the guest
 * through PATH and a "CONNECT <port>" line; the guest reaches host programs listening on
 * PATH_<port>. All on the I/O thread.
 */
#include "vsock_unix.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static struct vsock_unix_stream *stream_of(struct vsock_conn *c)
{
	return c->stream;
}

static void stream_set_events(struct vsock_unix_stream *s, uint32_t events)
{
	if (events == s->events)
		return;
	/* The loop has add and del only: re-adding is a modify. */
	if (s->events)
		evloop_del(s->u->loop, &s->h);
	s->events = 0;
	if (events && evloop_add(s->u->loop, &s->h, events) == 0)
		s->events = events;
}

static struct vsock_unix_stream *stream_get(struct vsock_unix *u, int fd)
{
	for (unsigned int i = 0; i < VSOCK_CONN_MAX; i++) {
		struct vsock_unix_stream *s = &u->s[i];

		if (s->h.fd < 0) {
			s->h.fd = fd;
			s->conn = NULL;
			s->events = 0;
			s->line_len = 0;
			return s;
		}
	}
	return NULL;
}

static void stream_put(struct vsock_unix_stream *s)
{
	stream_set_events(s, 0);
	close(s->h.fd);
	s->h.fd = -1;
	s->conn = NULL;
}

int vsock_unix_parse_connect(const char *line, size_t len, uint32_t *port)
{
	static const char verb[] = "CONNECT ";
	uint64_t v = 0;
	size_t i = sizeof(verb) - 1;

	if (len < i + 2 || memcmp(line, verb, i) != 0 || line[len - 1] != '\n')
		return -EINVAL;
	for (; i < len - 1; i++) {
		if (line[i] < '0' || line[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(line[i] - '0');
		if (v > UINT32_MAX)
			return -EINVAL;
	}
	*port = (uint32_t)v;
	return 0;
}

/* HOST_WAIT: take the CONNECT line, never a byte past its newline (that is stream data). */
static void read_connect_line(struct vsock_unix_stream *s)
{
	size_t room = sizeof(s->line) - s->line_len;
	char peek[VSOCK_UNIX_LINE_MAX];
	ssize_t n = recv(s->h.fd, peek, room, MSG_PEEK | MSG_DONTWAIT);
	char *nl;
	uint32_t port;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0)
		goto abort;
	nl = memchr(peek, '\n', (size_t)n);
	if (nl)
		n = nl - peek + 1;
	if (recv(s->h.fd, s->line + s->line_len, (size_t)n, MSG_DONTWAIT) != n)
		goto abort;
	s->line_len += (size_t)n;
	if (!nl) {
		if (s->line_len == sizeof(s->line))
			goto abort;
		return;
	}
	if (vsock_unix_parse_connect(s->line, s->line_len, &port) < 0)
		goto abort;
	/*
	 * Until the guest answers, watch only for the host program going away, so that a
	 * guest whose driver never answers cannot keep the slot after the program gave up.
	 */
	stream_set_events(s, EPOLLRDHUP);
	if (vsock_conn_connect_guest(s->conn, VSOCK_CID_HOST, port) < 0)
		s->u->refused++;
	return;
abort:
	s->u->refused++;
	vsock_conn_abort(s->conn);
}

static void on_stream(struct evloop_handler *h, uint32_t events)
{
	struct vsock_unix_stream *s = (struct vsock_unix_stream *)((char *)h - offsetof(struct vsock_unix_stream, h));
	struct vsock_conn *c = s->conn;

	/*
	 * Events are hints: the slot may have been closed, even reused, earlier in this
	 * epoll batch, so act only through reads and writes that tell the truth.
	 */
	if (h->fd < 0 || !c)
		return;
	if (c->state == VSOCK_CONN_HOST_WAIT) {
		read_connect_line(s);
		return;
	}
	if (c->state == VSOCK_CONN_CONNECTING) {
		char b;
		ssize_t n = recv(h->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			vsock_conn_abort(c);
		else if (n > 0)
			stream_set_events(s, 0); /* data, then a half close: keep it for the guest */
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		vsock_conn_readable(c);
	if (s->conn == c && (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)))
		vsock_conn_writable(c);
}

static void on_accept(struct evloop_handler *h, uint32_t events)
{
	struct vsock_unix *u = (struct vsock_unix *)((char *)h - offsetof(struct vsock_unix, accept_h));
	struct vsock_unix_stream *s;
	int fd;

	(void)events;
	fd = accept4(u->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	s = stream_get(u, fd);
	if (s)
		s->conn = vsock_conn_accept(u->tbl, &u->tr, s);
	if (!s || !s->conn) {
		/* Full: the host program sees its connection closed. */
		u->refused++;
		if (s)
			s->h.fd = -1;
		close(fd);
		return;
	}
	u->accepted++;
	stream_set_events(s, EPOLLIN);
}

static bool unix_reaches(const struct vsock_transport *t, uint64_t cid)
{
	(void)t;
	return cid == VSOCK_CID_HOST;
}

/* Firecracker's rule: the guest's connection to port P goes to the socket PATH_P. */
static int unix_connect(const struct vsock_transport *t, struct vsock_conn *c)
{
	struct vsock_unix *u = t->priv;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vsock_unix_stream *s;
	int fd, n;

	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%" PRIu32, u->path, c->host_port);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A Unix stream connect completes at once or fails (EAGAIN: backlog full). */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	s = stream_get(u, fd);
	if (!s) {
		close(fd);
		return -EMFILE;
	}
	s->conn = c;
	c->stream = s;
	return 0;
}

static ssize_t unix_read(struct vsock_conn *c, void *buf, size_t len)
{
	ssize_t n = recv(stream_of(c)->h.fd, buf, len, MSG_DONTWAIT);

	if (n < 0)
		return errno == EWOULDBLOCK || errno == EINTR ? -EAGAIN : -errno;
	return n;
}

static ssize_t unix_write(struct vsock_conn *c, const void *buf, size_t len)
{
	ssize_t n = send(stream_of(c)->h.fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);

	if (n < 0)
		return errno == EWOULDBLOCK || errno == EINTR ? -EAGAIN : -errno;
	return n == 0 ? -EPIPE : n;
}

static void unix_watch(struct vsock_conn *c, bool rd, bool wr)
{
	stream_set_events(stream_of(c), (rd ? EPOLLIN : 0u) | (wr ? EPOLLOUT : 0u));
}

/* Firecracker's answer to CONNECT: "OK <host_port>\n" before any stream data. */
static int unix_established(struct vsock_conn *c)
{
	char line[VSOCK_UNIX_LINE_MAX];
	int n = snprintf(line, sizeof(line), "OK %" PRIu32 "\n", c->host_port);

	/* The table now asks for exactly the readiness it needs (it assumes none is set). */
	stream_set_events(stream_of(c), 0);
	/* A fresh socket's buffer is empty: a short write means the peer is gone. */
	if (send(stream_of(c)->h.fd, line, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) != n)
		return -EPIPE;
	return 0;
}

static void unix_shutdown_write(struct vsock_conn *c)
{
	shutdown(stream_of(c)->h.fd, SHUT_WR);
}

static void unix_close(struct vsock_conn *c)
{
	stream_put(stream_of(c));
}

struct vsock_unix *vsock_unix_create(struct vsock_table *tbl, struct evloop *loop,
				     const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vsock_unix *u;
	int ret;

	/* PATH_4294967295 must fit too, for the guest's connections. */
	if (strlen(path) + 11 >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "vsock socket path too long (at most %zu bytes): %s",
			 sizeof(sa.sun_path) - 12, path);
		return NULL;
	}
	u = calloc(1, sizeof(*u));
	if (!u || !(u->path = strdup(path))) {
		snprintf(err, errlen, "vsock: out of memory");
		free(u);
		return NULL;
	}
	u->tbl = tbl;
	u->loop = loop;
	for (unsigned int i = 0; i < VSOCK_CONN_MAX; i++) {
		u->s[i].u = u;
		u->s[i].h = (struct evloop_handler){ .fd = -1, .cb = on_stream };
	}
	u->tr = (struct vsock_transport){
		.name = "unix",
		.priv = u,
		.reaches = unix_reaches,
		.connect = unix_connect,
		.read = unix_read,
		.write = unix_write,
		.watch = unix_watch,
		.established = unix_established,
		.shutdown_write = unix_shutdown_write,
		.close = unix_close,
	};
	strcpy(sa.sun_path, path);
	u->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->listen_fd < 0 || bind(u->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, errlen, "vsock socket %s: %s", path, strerror(errno));
		goto out_close;
	}
	if (listen(u->listen_fd, 16) < 0) {
		snprintf(err, errlen, "vsock socket %s: %s", path, strerror(errno));
		goto out_unlink;
	}
	u->accept_h = (struct evloop_handler){ .fd = u->listen_fd, .cb = on_accept };
	ret = evloop_add(loop, &u->accept_h, EPOLLIN);
	if (ret < 0) {
		snprintf(err, errlen, "vsock socket: epoll: %s", strerror(-ret));
		goto out_unlink;
	}
	u->accept_added = true;
	if (vsock_table_add_transport(tbl, &u->tr) < 0) {
		snprintf(err, errlen, "vsock: too many transports");
		goto out_del;
	}
	return u;

out_del:
	evloop_del(loop, &u->accept_h);
out_unlink:
	unlink(path);
out_close:
	if (u->listen_fd >= 0)
		close(u->listen_fd);
	free(u->path);
	free(u);
	return NULL;
}

void vsock_unix_destroy(struct vsock_unix *u)
{
	if (!u)
		return;
	for (unsigned int i = 0; i < VSOCK_CONN_MAX; i++)
		if (u->s[i].h.fd >= 0)
			stream_put(&u->s[i]);
	if (u->accept_added)
		evloop_del(u->loop, &u->accept_h);
	close(u->listen_fd);
	unlink(u->path);
	free(u->path);
	free(u);
}

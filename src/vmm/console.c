// SPDX-License-Identifier: Apache-2.0
/* The serial console's host side: stdio, or a Unix socket that one client at a time attaches to. */
#include "console.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void backlog_add(struct console *c, const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		size_t pos = (c->backlog_head + c->backlog_len) % CONSOLE_BACKLOG;

		c->backlog[pos] = buf[i];
		if (c->backlog_len < CONSOLE_BACKLOG)
			c->backlog_len++;
		else
			c->backlog_head = (c->backlog_head + 1) % CONSOLE_BACKLOG;
	}
}

static int write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

void console_write(struct console *c, const uint8_t *buf, size_t len)
{
	pthread_mutex_lock(&c->lock);
	if (c->listen_fd >= 0)
		backlog_add(c, buf, len);
	if (c->out_fd >= 0 && write_all(c->out_fd, buf, len) < 0 && c->listen_fd >= 0) {
		/* The client went away; keep the guest running and wait for the next one. */
		evloop_del(c->loop, &c->in);
		close(c->out_fd);
		c->out_fd = c->in.fd = -1;
	}
	pthread_mutex_unlock(&c->lock);
}

static void on_input(struct evloop_handler *h, uint32_t events)
{
	struct console *c = (struct console *)((char *)h - offsetof(struct console, in));
	uint8_t buf[256];
	ssize_t n = read(h->fd, buf, sizeof(buf));

	if (n > 0) {
		c->rx(c->rx_opaque, buf, (size_t)n);
		return;
	}
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	/* EOF or error: stop watching; a socket client is detached. */
	pthread_mutex_lock(&c->lock);
	evloop_del(c->loop, h);
	if (c->listen_fd >= 0) {
		close(h->fd);
		c->out_fd = -1;
	}
	h->fd = -1;
	pthread_mutex_unlock(&c->lock);
	(void)events;
}

static void on_accept(struct evloop_handler *h, uint32_t events)
{
	struct console *c = (struct console *)((char *)h - offsetof(struct console, accept));
	int fd = accept4(h->fd, NULL, NULL, SOCK_CLOEXEC);
	size_t first;

	(void)events;
	if (fd < 0)
		return;
	pthread_mutex_lock(&c->lock);
	if (c->out_fd >= 0) {
		/* One console client at a time: a second attach is refused, not stolen. */
		pthread_mutex_unlock(&c->lock);
		(void)!write(fd, "console busy\n", 13);
		close(fd);
		return;
	}
	first = CONSOLE_BACKLOG - c->backlog_head;
	if (first > c->backlog_len)
		first = c->backlog_len;
	if (write_all(fd, c->backlog + c->backlog_head, first) < 0 ||
	    write_all(fd, c->backlog, c->backlog_len - first) < 0) {
		close(fd);
		pthread_mutex_unlock(&c->lock);
		return;
	}
	c->out_fd = c->in.fd = fd;
	if (evloop_add(c->loop, &c->in, EPOLLIN) < 0) {
		close(fd);
		c->out_fd = c->in.fd = -1;
	}
	pthread_mutex_unlock(&c->lock);
}

static int open_socket(struct console *c, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "console socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->listen_fd < 0 || bind(c->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(c->listen_fd, 1) < 0) {
		int ret = -errno;

		snprintf(err, errlen, "console socket %s: %s", path, strerror(errno));
		return ret;
	}
	c->accept.fd = c->listen_fd;
	c->accept.cb = on_accept;
	if (evloop_add(c->loop, &c->accept, EPOLLIN) < 0) {
		snprintf(err, errlen, "console socket: epoll: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

int console_open(struct console *c, const char *target, struct evloop *loop,
		 void (*rx)(void *opaque, const uint8_t *buf, size_t len), void *rx_opaque,
		 char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	c->loop = loop;
	c->rx = rx;
	c->rx_opaque = rx_opaque;
	c->listen_fd = -1;
	c->in.cb = on_input;
	c->in.fd = -1;
	if (target && strcmp(target, "stdio") != 0) {
		c->out_fd = -1;
		return open_socket(c, target, err, errlen);
	}
	c->out_fd = STDOUT_FILENO;
	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &c->saved) == 0) {
		struct termios raw = c->saved;

		/* Keys go to the guest as typed; ^C still reaches the VMM as SIGINT. */
		raw.c_lflag &= (tcflag_t) ~(ICANON | ECHO | ECHONL | IEXTEN);
		raw.c_iflag &= (tcflag_t) ~(ICRNL | IXON);
		if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
			c->tty_saved = true;
	}
	c->in.fd = STDIN_FILENO;
	if (evloop_add(loop, &c->in, EPOLLIN) < 0)
		c->in.fd = -1; /* stdin is a regular file or closed: output only */
	return 0;
}

void console_close(struct console *c, const char *target)
{
	if (c->tty_saved)
		tcsetattr(STDIN_FILENO, TCSANOW, &c->saved);
	if (c->listen_fd >= 0) {
		if (c->out_fd >= 0)
			close(c->out_fd);
		close(c->listen_fd);
		if (target)
			unlink(target);
	}
	pthread_mutex_destroy(&c->lock);
}

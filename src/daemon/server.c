// SPDX-License-Identifier: Apache-2.0
/*
 * bulwarkd's event loop and clients: one epoll set, non-blocking sockets, bounded request
 * lines, buffered replies. A slow or vanished client costs only its own buffers.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon.h"
#include "util.h"

#define READ_CHUNK 65536
#define OUT_HIGH (256u << 10) /* unsent replies beyond this: stop reading that client */
#define OUT_MAX (16u << 20)   /* hard cap (one huge reply over OUT_HIGH is still sent) */

struct client {
	struct bwd_watch w;
	struct client *next, *prev;
	struct bwd_call who;           /* identity from SO_PEERCRED / SO_PEERGROUPS */
	char *in;
	size_t in_len, in_cap;
	char *out;
	size_t out_len, out_off;
	bool closing;                  /* flush what is queued, then close */
};

static struct client *clients;

int bwd_watch_add(struct bwd_watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	return epoll_ctl(bwd->epfd, EPOLL_CTL_ADD, w->fd, &ev) < 0 ? -errno : 0;
}

void bwd_watch_del(struct bwd_watch *w)
{
	if (w->fd >= 0)
		epoll_ctl(bwd->epfd, EPOLL_CTL_DEL, w->fd, NULL);
}

static void client_free(struct client *c)
{
	bwd_watch_del(&c->w);
	close(c->w.fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c->in);
	free(c->out);
	free(c);
	bwd->n_clients--;
}

static size_t pending_out(const struct client *c)
{
	return c->out_len - c->out_off;
}

static void client_events(struct client *c)
{
	struct epoll_event ev = { .events = 0, .data.ptr = &c->w };

	if (!c->closing && pending_out(c) < OUT_HIGH)
		ev.events |= EPOLLIN;
	if (c->out_len > c->out_off)
		ev.events |= EPOLLOUT;
	epoll_ctl(bwd->epfd, EPOLL_CTL_MOD, c->w.fd, &ev);
}

/* Returns false if the client must be dropped. */
static bool client_queue(struct client *c, const char *s, size_t n)
{
	char *p;

	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_len - c->out_off + n > OUT_MAX)
		return false;
	p = realloc(c->out, c->out_len + n);
	if (!p)
		return false;
	memcpy(p + c->out_len, s, n);
	c->out = p;
	c->out_len += n;
	return true;
}

/* Returns false if the client must be dropped. */
static bool client_flush(struct client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->w.fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	return true;
}

/* Sends the reply with an fd attached to its first byte (the console), then the rest. */
static bool client_send_fd(struct client *c, const char *line, size_t n, int fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	char first = line[0];
	struct iovec iov = { .iov_base = &first, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

	/* Replies are in order: queued output must go first, so only an idle client gets it. */
	if (c->out_len > c->out_off && !client_flush(c))
		return false;
	if (c->out_len > c->out_off)
		return client_queue(c, line, n);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	if (sendmsg(c->w.fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) != 1)
		return false;
	return client_queue(c, line + 1, n - 1);
}

static bool handle_line(struct client *c, const char *line, size_t n)
{
	struct rpc_req req;
	struct rpc_err err = { 0 };
	struct bwd_call call = c->who;
	json_t *result;
	char *reply;
	bool ok;

	call.pass_fd = -1;
	if (n && line[n - 1] == '\r')
		n--;
	if (n == 0)
		return true;
	if (rpc_parse(line, n, &req, &err) < 0) {
		/* Malformed requests are logged only when they named a real method. */
		if (req.method) {
			call.method = req.method;
			call.code = err.code;
			snprintf(call.msg, sizeof(call.msg), "%s", err.msg);
			bwd_audit_call(&call, false);
		}
		reply = rpc_reply_error(req.id, err.code, err.msg);
		rpc_req_clear(&req);
		ok = reply && client_queue(c, reply, strlen(reply));
		free(reply);
		return ok;
	}
	result = bwd_dispatch(&call, &req);
	if (!req.id) { /* a notification: no reply */
		json_decref(result);
		rpc_req_clear(&req);
		if (call.pass_fd >= 0)
			close(call.pass_fd);
		return true;
	}
	reply = result ? rpc_reply_result(req.id, result) : rpc_reply_error(req.id, call.code,
									     call.msg);
	rpc_req_clear(&req);
	if (!reply)
		ok = false;
	else if (call.pass_fd >= 0 && result)
		ok = client_send_fd(c, reply, strlen(reply), call.pass_fd);
	else
		ok = client_queue(c, reply, strlen(reply));
	if (call.pass_fd >= 0)
		close(call.pass_fd);
	free(reply);
	return ok;
}

/*
 * Handles the complete lines in the input buffer while the client's unsent replies stay
 * under OUT_HIGH: a client that does not read stops being served (its socket fills and its
 * writes block) instead of growing our memory. Returns false if it must be dropped.
 */
static bool process_lines(struct client *c)
{
	size_t start = 0, first;
	char *nl;

	while (!c->closing && pending_out(c) < OUT_HIGH &&
	       (nl = memchr(c->in + start, '\n', c->in_len - start)) != NULL) {
		size_t len = (size_t)(nl - (c->in + start));

		if (len > bwd->cfg.max_request)
			break;
		if (!handle_line(c, c->in + start, len))
			return false;
		start += len + 1;
	}
	memmove(c->in, c->in + start, c->in_len - start);
	c->in_len -= start;
	nl = memchr(c->in, '\n', c->in_len);
	first = nl ? (size_t)(nl - c->in) : c->in_len;
	if (!c->closing && first > bwd->cfg.max_request) {
		char msg[96], *reply;

		snprintf(msg, sizeof(msg), "request line longer than %zu bytes; closing",
			 bwd->cfg.max_request);
		reply = rpc_reply_error(NULL, RPC_INVALID_REQUEST, msg);
		if (reply)
			(void)client_queue(c, reply, strlen(reply));
		free(reply);
		c->closing = true;
		c->in_len = 0;
	}
	return true;
}

static bool client_read(struct client *c)
{
	ssize_t n;

	if (c->in_cap - c->in_len < READ_CHUNK) {
		size_t cap = c->in_len + READ_CHUNK;
		char *p = realloc(c->in, cap);

		if (!p)
			return false;
		c->in = p;
		c->in_cap = cap;
	}
	n = recv(c->w.fd, c->in + c->in_len, READ_CHUNK, MSG_DONTWAIT);
	if (n == 0) {
		/* Half-closed (shutdown(SHUT_WR)): answer what came, then close. */
		bool ok = process_lines(c);

		c->closing = true;
		return ok;
	}
	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	c->in_len += (size_t)n;
	return process_lines(c);
}

static void on_client(struct bwd_watch *w, uint32_t events)
{
	struct client *c = (struct client *)w;

	if ((events & EPOLLIN) && !c->closing && pending_out(c) < OUT_HIGH && !client_read(c))
		goto drop;
	if ((events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLIN))
		goto drop;
	if (!client_flush(c))
		goto drop;
	/* Lines held back while replies were pending, now that they have drained. */
	if (!process_lines(c) || !client_flush(c))
		goto drop;
	if (c->closing && c->out_len == c->out_off)
		goto drop;
	client_events(c);
	return;
drop:
	client_free(c);
}

static void accept_one(int lfd)
{
	struct client *c;
	struct ucred cred;
	socklen_t sl = sizeof(cred);
	gid_t groups[BWD_MAX_GROUPS];
	int fd;

	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	if (bwd->n_clients >= bwd->cfg.max_clients ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &sl) < 0) {
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->w.fd = fd;
	c->w.fn = on_client;
	c->who.pid = cred.pid;
	c->who.uid = cred.uid;
	c->who.gid = cred.gid;
	c->who.gids[0] = cred.gid;
	c->who.n_gids = 1;
	sl = sizeof(groups);
	/* Supplementary groups as the kernel saw them at connect(); too many: primary only. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &sl) == 0) {
		for (size_t i = 0; i < sl / sizeof(gid_t) && c->who.n_gids < BWD_MAX_GROUPS; i++)
			c->who.gids[c->who.n_gids++] = groups[i];
	}
	if (bwd_watch_add(&c->w, EPOLLIN) < 0) {
		close(fd);
		free(c);
		return;
	}
	c->next = clients;
	if (clients)
		clients->prev = c;
	clients = c;
	bwd->n_clients++;
}

/* A bounded batch per wake-up: a connection storm cannot starve served clients. */
static void on_accept(struct bwd_watch *w, uint32_t events)
{
	(void)events;
	for (int i = 0; i < 32; i++)
		accept_one(w->fd);
}

static void on_signal(struct bwd_watch *w, uint32_t events)
{
	struct signalfd_siginfo si;

	(void)events;
	while (read(w->fd, &si, sizeof(si)) == sizeof(si))
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			bwd->stopping = true;
}

int bwd_server_listen(struct bwd *d, char *err, size_t len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	sigset_t set;
	int fd, ret;

	if (strlen(d->cfg.socket) >= sizeof(sa.sun_path)) {
		snprintf(err, len, "socket path %s is too long", d->cfg.socket);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, d->cfg.socket);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto fail;
	unlink(d->cfg.socket);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, SOMAXCONN) < 0 ||
	    chmod(d->cfg.socket, 0666) < 0)
		goto fail_close;
	d->listen.fd = fd;
	d->listen.fn = on_accept;
	ret = bwd_watch_add(&d->listen, EPOLLIN);
	if (ret < 0) {
		errno = -ret;
		goto fail_close;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	d->sig.fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	d->sig.fn = on_signal;
	if (d->sig.fd < 0 || bwd_watch_add(&d->sig, EPOLLIN) < 0)
		goto fail_close;
	return 0;
fail_close:
	ret = -errno;
	close(fd);
	snprintf(err, len, "cannot listen on %s: %s", d->cfg.socket, strerror(-ret));
	return ret;
fail:
	ret = -errno;
	snprintf(err, len, "cannot listen on %s: %s", d->cfg.socket, strerror(-ret));
	return ret;
}

void bwd_server_run(struct bwd *d)
{
	struct epoll_event evs[64];
	uint64_t next_tick = util_now_ns();

	while (!d->stopping) {
		int n = epoll_wait(d->epfd, evs, 64, 250);

		for (int i = 0; i < n; i++) {
			struct bwd_watch *w = evs[i].data.ptr;

			w->fn(w, evs[i].events);
		}
		if (util_now_ns() >= next_tick) {
			bwd_vmm_tick();
			next_tick = util_now_ns() + 250000000ULL;
		}
	}
}

void bwd_server_close(struct bwd *d)
{
	while (clients)
		client_free(clients);
	if (d->listen.fd >= 0) {
		close(d->listen.fd);
		unlink(d->cfg.socket);
	}
	if (d->sig.fd >= 0)
		close(d->sig.fd);
}

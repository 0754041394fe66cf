// SPDX-License-Identifier: Apache-2.0
/* The control protocol between bulwarkd and each bulwark-vmm: framing and fd passing. */
#include "ctl.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

int ctl_send(int sock, uint16_t type, uint32_t seq, const void *payload, uint32_t len,
	     const int *fds, unsigned int nfds)
{
	struct ctl_hdr h = {
		.magic = CTL_MAGIC, .version = CTL_VERSION, .type = type, .seq = seq, .len = len,
	};
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * CTL_MAX_FDS)];
	} cm;
	struct iovec iov[2] = {
		{ .iov_base = &h, .iov_len = sizeof(h) },
		{ .iov_base = (void *)(uintptr_t)payload, .iov_len = len },
	};
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };
	ssize_t n;

	if (len > CTL_MAX_PAYLOAD || nfds > CTL_MAX_FDS)
		return -EMSGSIZE;
	if (nfds) {
		struct cmsghdr *c;

		memset(&cm, 0, sizeof(cm));
		msg.msg_control = cm.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == sizeof(h) + len ? 0 : -EIO;
}

int ctl_recv(int sock, struct ctl_hdr *hdr, void *payload, int *fds, unsigned int *nfds)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * CTL_MAX_FDS)];
	} cm;
	struct iovec iov[2] = {
		{ .iov_base = hdr, .iov_len = sizeof(*hdr) },
		{ .iov_base = payload, .iov_len = CTL_MAX_PAYLOAD },
	};
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2, .msg_control = cm.buf,
			      .msg_controllen = sizeof(cm.buf) };
	unsigned int got = 0;
	ssize_t n;

	*nfds = 0;
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ECONNRESET;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		unsigned int k = (unsigned int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));

		for (unsigned int i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (got < CTL_MAX_FDS)
				fds[got++] = fd;
			else
				close(fd);
		}
	}
	*nfds = got;
	/* Copy, then check: the header is ours now; validate it against what arrived. */
	if ((size_t)n < sizeof(*hdr) || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    hdr->magic != CTL_MAGIC || hdr->version != CTL_VERSION ||
	    hdr->len > CTL_MAX_PAYLOAD || (size_t)n != sizeof(*hdr) + hdr->len) {
		for (unsigned int i = 0; i < got; i++)
			close(fds[i]);
		*nfds = 0;
		return -EPROTO;
	}
	return 0;
}

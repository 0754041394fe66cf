// SPDX-License-Identifier: Apache-2.0
/* The VMM's I/O thread: one epoll loop for console input and, later, device back-ends. */
#include "evloop.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define EVLOOP_BATCH 16

int evloop_init(struct evloop *l)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	memset(l, 0, sizeof(*l));
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		return -errno;
	l->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->wake_fd < 0 || epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wake_fd, &ev) < 0) {
		int ret = -errno;

		if (l->wake_fd >= 0)
			close(l->wake_fd);
		close(l->epfd);
		l->epfd = l->wake_fd = -1;
		return ret;
	}
	return 0;
}

int evloop_add(struct evloop *l, struct evloop_handler *h, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = h };

	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, h->fd, &ev) < 0 ? -errno : 0;
}

void evloop_del(struct evloop *l, struct evloop_handler *h)
{
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, h->fd, NULL);
}

static void *evloop_thread(void *arg)
{
	struct evloop *l = arg;
	struct epoll_event ev[EVLOOP_BATCH];

	for (;;) {
		int n = epoll_wait(l->epfd, ev, EVLOOP_BATCH, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		for (int i = 0; i < n; i++) {
			struct evloop_handler *h = ev[i].data.ptr;

			if (!h)
				return NULL; /* the wake eventfd: stop */
			h->cb(h, ev[i].events);
		}
	}
	return NULL;
}

int evloop_start(struct evloop *l)
{
	int ret = pthread_create(&l->thread, NULL, evloop_thread, l);

	if (ret)
		return -ret;
	l->running = true;
	return 0;
}

void evloop_close(struct evloop *l)
{
	uint64_t one = 1;

	if (l->running) {
		if (write(l->wake_fd, &one, sizeof(one)) == sizeof(one))
			pthread_join(l->thread, NULL);
		l->running = false;
	}
	if (l->wake_fd >= 0)
		close(l->wake_fd);
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = l->wake_fd = -1;
}

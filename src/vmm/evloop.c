// SPDX-License-Identifier: Apache-2.0
/* The VMM's I/O thread: one epoll loop for console input and, later, device back-ends. */
#include "evloop.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define EVLOOP_BATCH 16
/* A small stack: below 2 MiB it can never be backed by a transparent huge page. */
#define EVLOOP_STACK (512 * 1024)

static void on_call(struct evloop_handler *h, uint32_t events)
{
	struct evloop *l = (struct evloop *)((char *)h - offsetof(struct evloop, call_h));
	uint64_t n;

	(void)events;
	if (read(h->fd, &n, sizeof(n)) != sizeof(n))
		return;
	pthread_mutex_lock(&l->call_done_lock);
	if (l->call_fn && !l->call_done) {
		l->call_fn(l->call_arg);
		l->call_done = true;
		l->batch_stale = true;
		pthread_cond_broadcast(&l->call_done_cond);
	}
	pthread_mutex_unlock(&l->call_done_lock);
}

bool evloop_in_thread(const struct evloop *l)
{
	return l->running && pthread_equal(pthread_self(), l->thread);
}

void evloop_call(struct evloop *l, void (*fn)(void *arg), void *arg)
{
	uint64_t one = 1;

	if (!l->running) {
		fn(arg);
		return;
	}
	pthread_mutex_lock(&l->call_lock);
	pthread_mutex_lock(&l->call_done_lock);
	l->call_fn = fn;
	l->call_arg = arg;
	l->call_done = false;
	if (write(l->call_h.fd, &one, sizeof(one)) == sizeof(one)) {
		while (!l->call_done)
			pthread_cond_wait(&l->call_done_cond, &l->call_done_lock);
	} else {
		fn(arg); /* cannot happen with an eventfd; keep the contract anyway */
	}
	l->call_fn = NULL;
	pthread_mutex_unlock(&l->call_done_lock);
	pthread_mutex_unlock(&l->call_lock);
}

int evloop_init(struct evloop *l)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	memset(l, 0, sizeof(*l));
	l->call_h.fd = -1;
	pthread_mutex_init(&l->call_lock, NULL);
	pthread_mutex_init(&l->call_done_lock, NULL);
	pthread_cond_init(&l->call_done_cond, NULL);
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
	l->call_h.cb = on_call;
	l->call_h.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->call_h.fd < 0 || evloop_add(l, &l->call_h, EPOLLIN) < 0)
		return -errno;
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
		l->batch_stale = false;
		for (int i = 0; i < n && !l->batch_stale; i++) {
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
	pthread_attr_t attr;
	int ret;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, EVLOOP_STACK);
	ret = pthread_create(&l->thread, &attr, evloop_thread, l);
	pthread_attr_destroy(&attr);
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
	if (l->call_h.fd >= 0)
		close(l->call_h.fd);
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = l->wake_fd = l->call_h.fd = -1;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The VMM's I/O thread: one epoll loop for console input and, later, device back-ends. */
#ifndef BULWARK_VMM_EVLOOP_H
#define BULWARK_VMM_EVLOOP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct evloop_handler {
	int fd;
	/* Called on the I/O thread with the epoll events; may call evloop_del on itself. */
	void (*cb)(struct evloop_handler *h, uint32_t events);
};

struct evloop {
	int epfd;
	int wake_fd; /* eventfd that ends the loop */
	pthread_t thread;
	bool running;
	/* evloop_call: one call at a time runs on the I/O thread between handlers. */
	pthread_mutex_t call_lock; /* serialises callers */
	pthread_mutex_t call_done_lock;
	pthread_cond_t call_done_cond;
	struct evloop_handler call_h; /* an eventfd */
	void (*call_fn)(void *arg);
	void *call_arg;
	bool call_done;
	bool batch_stale; /* a call ran: the rest of this epoll batch may name freed handlers */
};

/* Returns 0 or -errno; on error nothing is left open. */
int evloop_init(struct evloop *l) __attribute__((warn_unused_result));

/* Watches h->fd for events (EPOLLIN, ...). Returns 0 or -errno. */
int evloop_add(struct evloop *l, struct evloop_handler *h, uint32_t events)
	__attribute__((warn_unused_result));

/* Stops watching h->fd (the caller closes it). */
void evloop_del(struct evloop *l, struct evloop_handler *h);

/*
 * Runs fn(arg) on the I/O thread, between two handlers, and returns when it has
 * run; events already fetched with it are dropped (level-triggered fds report
 * again), so fn may unregister and free handlers safely. Runs fn directly when the
 * I/O thread is not running. Must not be called from the I/O thread itself.
 */
void evloop_call(struct evloop *l, void (*fn)(void *arg), void *arg);

/* True when called on l's I/O thread. */
bool evloop_in_thread(const struct evloop *l);

/* Starts the I/O thread. Returns 0 or -errno. */
int evloop_start(struct evloop *l) __attribute__((warn_unused_result));

/* Ends and joins the I/O thread (if started) and closes the loop's fds. */
void evloop_close(struct evloop *l);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* The serial console's host side: stdio, or a Unix socket that one client at a time attaches to. */
#ifndef BULWARK_VMM_CONSOLE_H
#define BULWARK_VMM_CONSOLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <termios.h>

#include "evloop.h"

#define CONSOLE_BACKLOG 16384 /* output kept for a client that attaches later */

struct console {
	pthread_mutex_t lock;
	int out_fd; /* stdout, or the attached client; -1 if none */
	int listen_fd; /* socket mode */
	struct evloop_handler in; /* stdin or the client */
	struct evloop_handler accept;
	struct evloop *loop;
	bool tty_saved;
	struct termios saved;
	/* Where guest input goes (the UART). */
	void (*rx)(void *opaque, const uint8_t *buf, size_t len);
	void *rx_opaque;
	uint8_t backlog[CONSOLE_BACKLOG];
	size_t backlog_head, backlog_len;
};

/*
 * Opens the console: target "stdio" (or NULL) uses stdin/stdout, putting a
 * terminal into raw mode (restored by console_close); anything else is a Unix
 * socket path to create and listen on. Input is read on `loop` and passed to
 * rx. Returns 0 or -errno with one line in err.
 */
int console_open(struct console *c, const char *target, struct evloop *loop,
		 void (*rx)(void *opaque, const uint8_t *buf, size_t len), void *rx_opaque,
		 char *err, size_t errlen) __attribute__((warn_unused_result));

/* Writes guest output; never blocks on an absent client (kept in the backlog). */
void console_write(struct console *c, const uint8_t *buf, size_t len);

/* Restores the terminal, closes sockets and removes the socket file. */
void console_close(struct console *c, const char *target);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host side of virtio-vsock as Unix stream sockets, in Firecracker's convention: host
 * programs connect to PATH and send "CONNECT <port>\n" (answer "OK <host_port>\n", then a
 * byte stream to the guest's port); a guest connecting to CID 2 port P reaches whatever
 * listens on PATH_P. One struct vsock_transport for the connection table (vsock_conn.h).
 */
#ifndef BULWARK_VMM_VSOCK_UNIX_H
#define BULWARK_VMM_VSOCK_UNIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evloop.h"
#include "vsock_conn.h"

#define VSOCK_UNIX_LINE_MAX 32 /* "CONNECT 4294967295\n" fits with room to spare */

struct vsock_unix;

struct vsock_unix_stream {
	struct vsock_unix *u;
	struct evloop_handler h; /* h.fd < 0 while the slot is free */
	struct vsock_conn *conn;
	uint32_t events; /* registered with the loop; 0: not registered */
	char line[VSOCK_UNIX_LINE_MAX]; /* the CONNECT line so far (HOST_WAIT) */
	size_t line_len;
};

struct vsock_unix {
	struct vsock_transport tr;
	struct vsock_table *tbl;
	struct evloop *loop;
	char *path;
	int listen_fd;
	struct evloop_handler accept_h;
	bool accept_added;
	/*
	 * A fixed pool, never freed while the loop runs: an event already fetched for a
	 * stream closed in the same epoll batch still points at valid memory.
	 */
	struct vsock_unix_stream s[VSOCK_CONN_MAX];
	uint64_t accepted, refused;
};

/*
 * Listens on the Unix socket `path` (which must not exist) and adds the transport to tbl
 * (which must outlive it). Returns the transport, or NULL with one line in err and
 * nothing left behind.
 */
struct vsock_unix *vsock_unix_create(struct vsock_table *tbl, struct evloop *loop,
				     const char *path, char *err, size_t errlen);

/*
 * Closes the listener and removes its path; streams still open must already have been
 * closed through the table (vsock_table_reset). Safe on NULL. I/O thread stopped.
 */
void vsock_unix_destroy(struct vsock_unix *u);

/*
 * Parses a "CONNECT <port>\n" line (len bytes, the newline included). Returns 0 and sets
 * *port, or -EINVAL.
 */
int vsock_unix_parse_connect(const char *line, size_t len, uint32_t *port)
	__attribute__((warn_unused_result));

#endif

// SPDX-License-Identifier: Apache-2.0
/*
 * vsock's Unix-socket transport against real sockets in a temporary directory, with the
 * connection table and synthetic guest packets: Firecracker's CONNECT/OK exchange, guest
 * connections to PATH_<port>, refusals, and host programs that go away. The epoll loop
 * is pumped by the test itself, so everything runs on one thread as on the I/O thread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "evloop.h"
#include "vsock_conn.h"
#include "vsock_unix.h"

#define GUEST 3

static struct evloop loop;
static struct vsock_table tbl;
static struct vsock_unix *vu;
static char dir[40], path[64];
static uint8_t payload[VSOCK_MAX_PAYLOAD];

/* Runs the loop's handlers until nothing happens for 50 ms. */
static void pump(void)
{
	struct epoll_event ev[16];
	int n;

	while ((n = epoll_wait(loop.epfd, ev, 16, 50)) > 0)
		for (int i = 0; i < n; i++) {
			struct evloop_handler *h = ev[i].data.ptr;

			if (h)
				h->cb(h, ev[i].events);
		}
}

static int setup(void **state)
{
	char err[256];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/bulwark-vsock-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/v.sock", dir);
	assert_int_equal(evloop_init(&loop), 0);
	vsock_table_init(&tbl, GUEST, NULL, NULL);
	vu = vsock_unix_create(&tbl, &loop, path, err, sizeof(err));
	assert_non_null(vu);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	vsock_table_reset(&tbl);
	vsock_unix_destroy(vu);
	assert_int_equal(access(path, F_OK), -1); /* the socket is gone */
	evloop_close(&loop);
	rmdir(dir);
	return 0;
}

static int unix_connect(const char *p)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", p);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void put(int fd, const char *s)
{
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* Reads what is there within 1 s into buf (NUL-terminated); returns the count, 0 at EOF. */
static ssize_t get(int fd, char *buf, size_t n)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t r;

	assert_int_equal(poll(&p, 1, 1000), 1);
	r = read(fd, buf, n - 1);
	assert_true(r >= 0);
	buf[r] = '\0';
	return r;
}

static struct vsock_hdr guest(uint16_t op, uint32_t gp, uint32_t hp)
{
	return (struct vsock_hdr){
		.src_cid = GUEST, .dst_cid = VSOCK_CID_HOST, .src_port = gp, .dst_port = hp,
		.type = VSOCK_TYPE_STREAM, .op = op, .buf_alloc = 65536,
	};
}

static struct vsock_hdr next(uint16_t op)
{
	struct vsock_hdr h;

	pump();
	assert_true(vsock_table_next(&tbl, &h, payload, sizeof(payload)));
	assert_int_equal(h.op, op);
	return h;
}

static void test_host_connect(void **state)
{
	struct vsock_hdr h, g;
	char buf[256], line[32];
	int fd;

	(void)state;
	fd = unix_connect(path);
	/* The line may come in pieces; bytes after it are stream data, not line. */
	put(fd, "CONN");
	pump();
	assert_int_equal(vsock_table_count(&tbl), 1);
	assert_false(vsock_table_next(&tbl, &h, payload, sizeof(payload)));
	put(fd, "ECT 5000\nearly");
	h = next(VSOCK_OP_REQUEST);
	assert_int_equal(h.src_cid, VSOCK_CID_HOST);
	assert_int_equal(h.dst_port, 5000);
	g = guest(VSOCK_OP_RESPONSE, 5000, h.src_port);
	vsock_table_recv(&tbl, &g, NULL, 0);
	snprintf(line, sizeof(line), "OK %u\n", h.src_port);
	assert_int_equal(get(fd, buf, sizeof(buf)), (ssize_t)strlen(line));
	assert_string_equal(buf, line);
	h = next(VSOCK_OP_RW);
	assert_int_equal(h.len, 5);
	assert_memory_equal(payload, "early", 5);
	/* Guest to host program. */
	g = guest(VSOCK_OP_RW, 5000, h.src_port);
	g.len = 5;
	vsock_table_recv(&tbl, &g, (const uint8_t *)"hello", 5);
	assert_int_equal(get(fd, buf, sizeof(buf)), 5);
	assert_string_equal(buf, "hello");
	/* The program closes: the guest hears SHUTDOWN(SEND). */
	close(fd);
	h = next(VSOCK_OP_SHUTDOWN);
	assert_int_equal(h.flags, VSOCK_SHUTDOWN_SEND);
	/* The guest closes too: RST from us after its full SHUTDOWN. */
	g = guest(VSOCK_OP_SHUTDOWN, 5000, h.src_port);
	g.flags = VSOCK_SHUTDOWN_BOTH;
	vsock_table_recv(&tbl, &g, NULL, 0);
	next(VSOCK_OP_RST);
	assert_int_equal(vsock_table_count(&tbl), 0);
}

static void test_host_refused(void **state)
{
	struct vsock_hdr h, g;
	char buf[64];
	int fd;

	(void)state;
	/* The guest resets: the program's connection is closed without OK. */
	fd = unix_connect(path);
	put(fd, "CONNECT 5001\n");
	h = next(VSOCK_OP_REQUEST);
	g = guest(VSOCK_OP_RST, 5001, h.src_port);
	vsock_table_recv(&tbl, &g, NULL, 0);
	assert_int_equal(get(fd, buf, sizeof(buf)), 0);
	close(fd);
	/* A malformed line: closed, and the guest never hears of it. */
	fd = unix_connect(path);
	put(fd, "HELLO 5001\n");
	pump();
	assert_int_equal(get(fd, buf, sizeof(buf)), 0);
	close(fd);
	/* A program that gives up while the guest has not answered frees its slot. */
	fd = unix_connect(path);
	put(fd, "CONNECT 5002\n");
	h = next(VSOCK_OP_REQUEST);
	assert_int_equal(vsock_table_count(&tbl), 1);
	close(fd);
	h = next(VSOCK_OP_RST); /* the guest had seen the REQUEST */
	assert_int_equal(h.dst_port, 5002);
	assert_int_equal(vsock_table_count(&tbl), 0);
}

static void test_guest_connect(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vsock_hdr h, g;
	char buf[64];
	int srv, fd;

	(void)state;
	/* Nothing at PATH_6000: reset. */
	g = guest(VSOCK_OP_REQUEST, 1234, 6000);
	vsock_table_recv(&tbl, &g, NULL, 0);
	h = next(VSOCK_OP_RST);
	assert_int_equal(h.src_port, 6000);
	assert_int_equal(h.dst_port, 1234);
	/* A listener at PATH_6000 gets the guest's connection and its bytes. */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_6000", path);
	srv = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(srv, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(srv, 1), 0);
	vsock_table_recv(&tbl, &g, NULL, 0);
	next(VSOCK_OP_RESPONSE);
	fd = accept(srv, NULL, NULL);
	assert_true(fd >= 0);
	g.op = VSOCK_OP_RW;
	g.len = 3;
	vsock_table_recv(&tbl, &g, (const uint8_t *)"abc", 3);
	assert_int_equal(get(fd, buf, sizeof(buf)), 3);
	put(fd, "xyz");
	h = next(VSOCK_OP_RW);
	assert_int_equal(h.len, 3);
	assert_memory_equal(payload, "xyz", 3);
	close(fd);
	close(srv);
	unlink(sa.sun_path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_host_connect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_connect, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

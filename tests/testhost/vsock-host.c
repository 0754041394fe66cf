// SPDX-License-Identifier: Apache-2.0
// bulwark-vsock-host: the host side of the vsock tests in the test host (no Python there).
// Talks to bulwark-vmm's vsock Unix socket in Firecracker's convention; prints one line
// "VSOCK-HOST: key=value" per result for tests/testhost/t-vsock.sh.
//
//   bulwark-vsock-host listen PATH_PORT        echo one connection from the guest
//   bulwark-vsock-host connect PATH PORT BYTES  CONNECT to the guest's PORT, echo-check BYTES
//   bulwark-vsock-host refused PATH PORT        CONNECT to PORT must be closed without OK
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT_S 200 /* the whole run, as the guest may take a while to boot nested */
#define IO_TIMEOUT_MS 60000

static uint8_t pattern(size_t i)
{
	return (uint8_t)((i * 13 + i / 509) & 0xff);
}

static int unix_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path)) {
		fprintf(stderr, "vsock-host: path too long: %s\n", path);
		return -1;
	}
	strcpy(sa->sun_path, path);
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Connects to the VMM's socket, waiting for it to appear. */
static int connect_vmm(const char *path)
{
	struct sockaddr_un sa;

	if (unix_addr(path, &sa) < 0)
		return -1;
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		close(fd);
		if (errno != ENOENT && errno != ECONNREFUSED)
			return -1;
		sleep_ms(100);
	}
}

/* Reads one line (at most n-1 bytes) byte by byte: what follows it is stream data. */
static ssize_t read_line(int fd, char *line, size_t n)
{
	size_t len = 0;

	while (len + 1 < n) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, IO_TIMEOUT_MS) <= 0)
			return -1;
		r = read(fd, line + len, 1);
		if (r <= 0)
			return r < 0 ? -1 : 0;
		if (line[len++] == '\n')
			break;
	}
	line[len] = '\0';
	return (ssize_t)len;
}

/* CONNECT PORT: returns the stream after "OK <host_port>", or -1 when it was closed. */
static int vsock_connect(const char *path, const char *port, char *ok, size_t oklen)
{
	char req[64];
	int fd = connect_vmm(path);
	int n = snprintf(req, sizeof(req), "CONNECT %s\n", port);

	if (fd < 0)
		return -2;
	if (write(fd, req, (size_t)n) != n || read_line(fd, ok, oklen) <= 0 ||
	    strncmp(ok, "OK ", 3) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool echo_check(int fd, size_t bytes)
{
	static uint8_t buf[65536];
	size_t sent = 0, got = 0;

	while (got < bytes) {
		struct pollfd p = { .fd = fd, .events = POLLIN | (sent < bytes ? POLLOUT : 0) };
		ssize_t n;

		if (poll(&p, 1, IO_TIMEOUT_MS) <= 0) {
			printf("VSOCK-HOST: error=stalled sent=%zu got=%zu\n", sent, got);
			return false;
		}
		if ((p.revents & POLLOUT) && sent < bytes) {
			size_t len = bytes - sent < sizeof(buf) ? bytes - sent : sizeof(buf);

			for (size_t i = 0; i < len; i++)
				buf[i] = pattern(sent + i);
			n = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n < 0 && errno != EAGAIN) {
				printf("VSOCK-HOST: error=send: %s\n", strerror(errno));
				return false;
			}
			if (n > 0)
				sent += (size_t)n;
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n < 0 && errno == EAGAIN)
				continue;
			if (n <= 0) {
				printf("VSOCK-HOST: error=recv at %zu: %s\n", got,
				       n ? strerror(errno) : "end of stream");
				return false;
			}
			for (ssize_t i = 0; i < n; i++)
				if (buf[i] != pattern(got + (size_t)i)) {
					printf("VSOCK-HOST: error=echo differs at byte %zu\n",
					       got + (size_t)i);
					return false;
				}
			got += (size_t)n;
		}
	}
	return true;
}

static int do_connect(const char *path, const char *port, const char *bytes_s)
{
	size_t bytes = strtoul(bytes_s, NULL, 10);
	char ok[64];
	bool pass;
	int fd;

	/* The guest's listener comes up late in its boot: until then we are reset. */
	while ((fd = vsock_connect(path, port, ok, sizeof(ok))) == -1)
		sleep_ms(200);
	if (fd < 0)
		return 1;
	ok[strcspn(ok, "\n")] = '\0';
	printf("VSOCK-HOST: connect=%s\n", ok);
	pass = echo_check(fd, bytes);
	printf("VSOCK-HOST: h2g=%s bytes=%zu\n", pass ? "pass" : "fail", bytes);
	close(fd);
	return pass ? 0 : 1;
}

static int do_refused(const char *path, const char *port)
{
	char ok[64];
	int fd = vsock_connect(path, port, ok, sizeof(ok));

	if (fd >= 0) {
		printf("VSOCK-HOST: refused=fail (%s)\n", ok);
		close(fd);
		return 1;
	}
	printf("VSOCK-HOST: refused=%s\n", fd == -1 ? "pass" : "fail (no socket)");
	return fd == -1 ? 0 : 1;
}

static int do_listen(const char *path)
{
	static char buf[65536];
	struct sockaddr_un sa;
	long total = 0;
	int srv, fd;

	if (unix_addr(path, &sa) < 0)
		return 1;
	srv = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (srv < 0 || bind(srv, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(srv, 4) < 0) {
		printf("VSOCK-HOST: error=listen %s: %s\n", path, strerror(errno));
		return 1;
	}
	fd = accept(srv, NULL, NULL);
	if (fd < 0)
		return 1;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n <= 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = send(fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL);

			if (w <= 0)
				goto out;
			off += w;
		}
		total += n;
	}
out:
	printf("VSOCK-HOST: g2h-echoed=%ld\n", total);
	close(fd);
	close(srv);
	unlink(path);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	alarm(TIMEOUT_S);
	if (argc == 3 && !strcmp(argv[1], "listen"))
		return do_listen(argv[2]);
	if (argc == 5 && !strcmp(argv[1], "connect"))
		return do_connect(argv[2], argv[3], argv[4]);
	if (argc == 4 && !strcmp(argv[1], "refused"))
		return do_refused(argv[2], argv[3]);
	fprintf(stderr, "usage: bulwark-vsock-host listen PATH_PORT | connect PATH PORT BYTES |"
			" refused PATH PORT\n");
	return 2;
}

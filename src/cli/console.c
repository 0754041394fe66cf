// SPDX-License-Identifier: Apache-2.0
/* bulwark console: relay a terminal to the console fd bulwarkd passed; ^] detaches. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"

#define DETACH 0x1d /* ^] */
#define QUIET_MS 1000

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int cli_console(int fd, const char *name)
{
	struct termios saved, raw;
	bool tty = isatty(0) && tcgetattr(0, &saved) == 0;
	bool in_open = true;
	char buf[4096];
	int ret = CLI_OK;

	if (tty) {
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(0, TCSANOW, &raw);
		fprintf(stderr, "bulwark: connected to %s's console; ^] detaches\r\n", name);
	}
	for (;;) {
		/* A closed stdin is left out: a pipe's end keeps reporting POLLHUP. */
		struct pollfd p[2] = { { .fd = fd, .events = POLLIN },
				       { .fd = in_open ? 0 : -1, .events = POLLIN } };
		/* Without a terminal, stdin's end is the end, once the guest has gone quiet. */
		int r = poll(p, 2, in_open ? -1 : QUIET_MS);
		ssize_t n;

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (p[0].revents) {
			n = read(fd, buf, sizeof(buf));
			if (n <= 0) {
				fprintf(stderr, "%sbulwark: console of %s closed (domain stopped?)\n",
					tty ? "\r" : "", name);
				ret = CLI_ERROR;
				break;
			}
			if (write_all(1, buf, (size_t)n) < 0)
				break;
		}
		if (p[1].revents) {
			n = read(0, buf, sizeof(buf));
			if (n <= 0) {
				in_open = false;
				continue;
			}
			for (ssize_t i = 0; i < n; i++) {
				if (buf[i] == DETACH) {
					(void)write_all(fd, buf, (size_t)i);
					goto detach;
				}
			}
			if (write_all(fd, buf, (size_t)n) < 0)
				break;
		}
	}
	goto out;
detach:
	fprintf(stderr, "%sbulwark: detached from %s\n", tty ? "\r\n" : "", name);
out:
	if (tty)
		tcsetattr(0, TCSANOW, &saved);
	close(fd);
	return ret;
}

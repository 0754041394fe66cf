// SPDX-License-Identifier: Apache-2.0
// bulwark-ctlsend: sends one request on a VMM's control socket (src/common/ctl.h) and
// prints its status, for test scripts in the nested test host, which has no Python.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../src/common/ctl.h"

static const char usage[] =
	"usage: bulwark-ctlsend SOCKET REQUEST\n"
	"REQUEST: ping, pause, resume, power-button, stop. Prints \"ctl: status=N\" (0 or\n"
	"-errno from the VMM). Exit status: 0 if N is 0, 1 if not, 2 on a usage,\n"
	"connection or protocol error.\n";

static const struct {
	const char *name;
	uint16_t type;
} requests[] = {
	{ "ping", CTL_PING },
	{ "pause", CTL_PAUSE },
	{ "resume", CTL_RESUME },
	{ "power-button", CTL_POWER_BUTTON },
	{ "stop", CTL_STOP },
};

static int die(const char *what)
{
	fprintf(stderr, "bulwark-ctlsend: %s: %s\n", what, strerror(errno));
	return 2;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 10 };
	struct ctl_hdr h = { .magic = CTL_MAGIC, .version = CTL_VERSION, .seq = 1 };
	unsigned char msg[sizeof(h) + CTL_MAX_PAYLOAD];
	int32_t status;
	ssize_t n;
	int fd;

	if (argc != 3 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fputs(usage, stderr);
		return 2;
	}
	for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++)
		if (!strcmp(argv[2], requests[i].name))
			h.type = requests[i].type;
	if (!h.type) {
		fputs(usage, stderr);
		return 2;
	}
	strcpy(sa.sun_path, argv[1]);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return die("socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return die(argv[1]);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (send(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return die("send");
	/* Events may come before the reply; the reply carries our seq. */
	for (;;) {
		n = recv(fd, msg, sizeof(msg), 0);
		if (n < 0)
			return die("recv");
		if (n < (ssize_t)(sizeof(h) + sizeof(status))) {
			fprintf(stderr, "bulwark-ctlsend: short or no reply (%zd bytes)\n", n);
			return 2;
		}
		memcpy(&h, msg, sizeof(h));
		if (h.magic != CTL_MAGIC || h.version != CTL_VERSION ||
		    h.len != (size_t)n - sizeof(h)) {
			fprintf(stderr, "bulwark-ctlsend: bad reply framing\n");
			return 2;
		}
		if (h.type == CTL_REPLY && h.seq == 1)
			break;
	}
	memcpy(&status, msg + sizeof(h), sizeof(status));
	printf("ctl: status=%d\n", (int)status);
	close(fd);
	return status == 0 ? 0 : 1;
}

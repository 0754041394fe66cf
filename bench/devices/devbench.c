// SPDX-License-Identifier: Apache-2.0
// Load generator of the device benchmark (bench/devices.sh), built static so one binary
// serves in the guest and in the test host: O_DIRECT block reads, a TCP blaster/sink
// pair, and a vsock echo server with a round-trip timer. Results are one line each.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define NET_BUF (256 * 1024)

static void die(const char *what)
{
	fprintf(stderr, "devbench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ---- block: THREADS readers, each one request in flight (pread, O_DIRECT) ---- */

struct blk_job {
	int fd;
	int random;
	size_t bs;
	uint64_t blocks;	/* device size in bs units */
	uint64_t start;		/* sequential: this thread's first block */
	double deadline;
	uint64_t ops;
	int err;
};

static void *blk_worker(void *arg)
{
	struct blk_job *j = arg;
	uint64_t x = 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)j;
	uint64_t blk = j->start;
	void *buf;

	if (posix_memalign(&buf, 4096, j->bs)) {
		j->err = ENOMEM;
		return NULL;
	}
	while (now_s() < j->deadline) {
		if (j->random) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			blk = x % j->blocks;
		} else if (blk >= j->blocks) {
			blk = 0;
		}
		if (pread(j->fd, buf, j->bs, (off_t)(blk * j->bs)) != (ssize_t)j->bs) {
			j->err = errno ? errno : EIO;
			free(buf);
			return NULL;
		}
		if (!j->random)
			blk++;
		j->ops++;
	}
	free(buf);
	return NULL;
}

static int cmd_blk(int argc, char **argv)
{
	if (argc != 7) {
		fprintf(stderr, "usage: devbench blk DEV rand|seq SECONDS THREADS BS\n");
		return 2;
	}
	const char *dev = argv[2];
	int random = !strcmp(argv[3], "rand");
	double secs = atof(argv[4]);
	int threads = atoi(argv[5]);
	size_t bs = (size_t)atol(argv[6]);
	int fd = open(dev, O_RDONLY | O_DIRECT);

	if (fd < 0)
		die(dev);
	off_t size = lseek(fd, 0, SEEK_END);
	if (size < (off_t)bs || threads < 1 || threads > 256 || bs < 512 || bs % 512) {
		fprintf(stderr, "devbench: bad size, threads or block size\n");
		return 2;
	}
	struct blk_job jobs[256];
	pthread_t tid[256];
	double t0 = now_s();
	uint64_t blocks = (uint64_t)size / bs, ops = 0;

	for (int i = 0; i < threads; i++) {
		jobs[i] = (struct blk_job){ .fd = fd, .random = random, .bs = bs, .blocks = blocks,
			.start = blocks / (uint64_t)threads * (uint64_t)i, .deadline = t0 + secs };
		if (pthread_create(&tid[i], NULL, blk_worker, &jobs[i]))
			die("pthread_create");
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(tid[i], NULL);
		if (jobs[i].err) {
			errno = jobs[i].err;
			die("pread");
		}
		ops += jobs[i].ops;
	}
	double t = now_s() - t0;
	printf("ops=%llu bytes=%llu secs=%.3f iops=%.0f mibps=%.1f\n", (unsigned long long)ops,
	       (unsigned long long)(ops * bs), t, ops / t, ops * bs / t / 1048576.0);
	return 0;
}

/* ---- TCP: the client names the direction; the receiver's count is what counts ---- */

static int tcp_listen(int port)
{
	int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };

	if (s < 0)
		die("socket");
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 4))
		die("bind/listen");
	return s;
}

/* Request: 'R' (server receives until EOF, then answers its byte count as 8 bytes) or
 * 'S' followed by 4 bytes of milliseconds (server sends that long, then closes). */
static void tcp_serve_one(int c)
{
	static char buf[NET_BUF];
	char op;

	if (read_all(c, &op, 1))
		return;
	if (op == 'R') {
		uint64_t total = 0;
		ssize_t n;

		while ((n = read(c, buf, sizeof(buf))) > 0)
			total += (uint64_t)n;
		write_all(c, &total, sizeof(total));
	} else if (op == 'S') {
		uint32_t ms;

		if (read_all(c, &ms, sizeof(ms)))
			return;
		double end = now_s() + ms / 1000.0;
		while (now_s() < end)
			if (write_all(c, buf, sizeof(buf)))
				break;
	}
}

static int cmd_tcp_server(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: devbench tcp-server PORT\n");
		return 2;
	}
	int s = tcp_listen(atoi(argv[2]));

	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		int c = accept(s, NULL, NULL);

		if (c < 0) {
			if (errno == EINTR)
				continue;
			die("accept");
		}
		tcp_serve_one(c);
		close(c);
	}
}

static int cmd_tcp(int argc, char **argv)
{
	if (argc != 6 || (strcmp(argv[4], "send") && strcmp(argv[4], "recv"))) {
		fprintf(stderr, "usage: devbench tcp HOST PORT send|recv SECONDS\n");
		return 2;
	}
	static char buf[NET_BUF];
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[3])) };
	double secs = atof(argv[5]), t0, t;
	uint64_t total = 0;
	int s = socket(AF_INET, SOCK_STREAM, 0);

	signal(SIGPIPE, SIG_IGN);
	if (s < 0 || inet_pton(AF_INET, argv[2], &a.sin_addr) != 1)
		die("socket/address");
	if (connect(s, (struct sockaddr *)&a, sizeof(a)))
		die("connect");
	memset(buf, 0x5a, sizeof(buf));
	t0 = now_s();
	if (!strcmp(argv[4], "send")) {
		if (write_all(s, "R", 1))
			die("write");
		while (now_s() < t0 + secs)
			if (write_all(s, buf, sizeof(buf)))
				die("write");
		shutdown(s, SHUT_WR);
		/* The server's count arrives after it has read everything: that is the end. */
		if (read_all(s, &total, sizeof(total)))
			die("read count");
	} else {
		char req[5] = { 'S' };
		uint32_t ms = (uint32_t)(secs * 1000);
		ssize_t n;

		memcpy(req + 1, &ms, sizeof(ms));
		if (write_all(s, req, sizeof(req)))
			die("write");
		while ((n = read(s, buf, sizeof(buf))) > 0)
			total += (uint64_t)n;
		if (n < 0)
			die("read");
	}
	t = now_s() - t0;
	printf("bytes=%llu secs=%.3f mbitps=%.1f\n", (unsigned long long)total, t, total * 8 / t / 1e6);
	close(s);
	return 0;
}

/* ---- vsock: echo server in the guest, round-trip timer on the host ---- */

static int cmd_vsock_echo(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: devbench vsock-echo PORT\n");
		return 2;
	}
	struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY,
		.svm_port = (unsigned)atoi(argv[2]) };
	int s = socket(AF_VSOCK, SOCK_STREAM, 0);
	char buf[65536];

	if (s < 0)
		die("vsock socket");
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 4))
		die("vsock bind/listen");
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		int c = accept(s, NULL, NULL);
		ssize_t n;

		if (c < 0)
			continue;
		while ((n = read(c, buf, sizeof(buf))) > 0)
			if (write_all(c, buf, (size_t)n))
				break;
		close(c);
	}
}

/* TARGET is unix:PATH (Firecracker's CONNECT convention) or cid:N (AF_VSOCK). */
static int vsock_connect(const char *target, unsigned port)
{
	int s;

	if (!strncmp(target, "unix:", 5)) {
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		char line[64];
		size_t i = 0;

		snprintf(a.sun_path, sizeof(a.sun_path), "%s", target + 5);
		s = socket(AF_UNIX, SOCK_STREAM, 0);
		if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)))
			die("connect unix");
		snprintf(line, sizeof(line), "CONNECT %u\n", port);
		if (write_all(s, line, strlen(line)))
			die("write CONNECT");
		/* The answer is "OK <port>\n", read byte by byte so no echo data is eaten. */
		while (i < sizeof(line) - 1 && read(s, &line[i], 1) == 1 && line[i] != '\n')
			i++;
		line[i] = 0;
		if (strncmp(line, "OK ", 3)) {
			fprintf(stderr, "devbench: CONNECT %u answered '%s'\n", port, line);
			exit(1);
		}
	} else if (!strncmp(target, "cid:", 4)) {
		struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = (unsigned)atoi(target + 4),
			.svm_port = port };

		s = socket(AF_VSOCK, SOCK_STREAM, 0);
		if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)))
			die("connect vsock");
	} else {
		fprintf(stderr, "devbench: target must be unix:PATH or cid:N\n");
		exit(2);
	}
	return s;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int cmd_vsock_rtt(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: devbench vsock-rtt unix:PATH|cid:N PORT COUNT SIZE\n");
		return 2;
	}
	unsigned port = (unsigned)atoi(argv[3]);
	int count = atoi(argv[4]);
	size_t size = (size_t)atol(argv[5]);
	char buf[65536];

	if (count < 1 || count > 1000000 || size < 1 || size > sizeof(buf)) {
		fprintf(stderr, "devbench: bad count or size\n");
		return 2;
	}
	double *rtt = malloc(sizeof(double) * (size_t)count), sum = 0;
	int s = vsock_connect(argv[2], port);

	memset(buf, 0x33, size);
	/* One warm-up round trip: connection set-up and first-touch costs are not latency. */
	if (write_all(s, buf, size) || read_all(s, buf, size))
		die("echo");
	for (int i = 0; i < count; i++) {
		double t0 = now_s();

		if (write_all(s, buf, size) || read_all(s, buf, size))
			die("echo");
		rtt[i] = now_s() - t0;
		sum += rtt[i];
	}
	qsort(rtt, (size_t)count, sizeof(double), cmp_double);
	printf("ops=%d secs=%.3f mean-us=%.1f median-us=%.1f p99-us=%.1f\n", count, sum,
	       sum / count * 1e6, rtt[count / 2] * 1e6, rtt[count * 99 / 100] * 1e6);
	close(s);
	free(rtt);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2) {
		if (!strcmp(argv[1], "blk"))
			return cmd_blk(argc, argv);
		if (!strcmp(argv[1], "tcp"))
			return cmd_tcp(argc, argv);
		if (!strcmp(argv[1], "tcp-server"))
			return cmd_tcp_server(argc, argv);
		if (!strcmp(argv[1], "vsock-echo"))
			return cmd_vsock_echo(argc, argv);
		if (!strcmp(argv[1], "vsock-rtt"))
			return cmd_vsock_rtt(argc, argv);
	}
	fprintf(stderr, "usage: devbench blk|tcp|tcp-server|vsock-echo|vsock-rtt ...\n");
	return 2;
}

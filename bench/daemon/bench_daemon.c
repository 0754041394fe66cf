// SPDX-License-Identifier: Apache-2.0
/*
 * Load benchmark for bulwarkd: N concurrent clients, each on its own connection, issue a
 * mix of requests for D seconds; prints throughput, latency percentiles and failures.
 *   bench_daemon SOCKET CLIENTS SECONDS DOMAIN
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_SAMPLES (1u << 22)

struct worker {
	pthread_t t;
	int id;
	uint64_t *lat;       /* ns per request */
	size_t n, fails, reconnects;
};

static const char *sock_path, *domain;
static volatile int stop;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int dial(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Sends one request and reads one reply line; returns 0 if it was a result. */
static int roundtrip(int fd, const char *req, size_t len, char *buf, size_t cap)
{
	size_t got = 0;

	if (write(fd, req, len) != (ssize_t)len)
		return -1;
	while (got == 0 || buf[got - 1] != '\n') {
		ssize_t n = read(fd, buf + got, cap - got - 1);

		if (n <= 0)
			return -1;
		got += (size_t)n;
		if (got >= cap - 1)
			return -1;
	}
	buf[got] = '\0';
	return strstr(buf, "\"result\"") ? 0 : -1;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	char reqs[4][256], buf[65536];
	int fd = dial();

	snprintf(reqs[0], sizeof(reqs[0]), "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\","
		 "\"id\":1}\n");
	snprintf(reqs[1], sizeof(reqs[1]), "{\"jsonrpc\":\"2.0\",\"method\":\"domain.list\","
		 "\"id\":2}\n");
	snprintf(reqs[2], sizeof(reqs[2]), "{\"jsonrpc\":\"2.0\",\"method\":\"domain.show\","
		 "\"params\":{\"name\":\"%s\"},\"id\":3}\n", domain);
	snprintf(reqs[3], sizeof(reqs[3]), "{\"jsonrpc\":\"2.0\",\"method\":\"policy.eval\","
		 "\"params\":{\"subject\":\"web\",\"object\":\"web\",\"op\":\"evtchn_bind\"},"
		 "\"id\":4}\n");
	for (unsigned int i = 0; !stop; i++) {
		const char *r = reqs[(i + (unsigned int)w->id) % 4];
		uint64_t t0;

		if (fd < 0) {
			fd = dial();
			w->reconnects++;
			if (fd < 0) {
				w->fails++;
				usleep(1000);
				continue;
			}
		}
		t0 = now_ns();
		if (roundtrip(fd, r, strlen(r), buf, sizeof(buf)) < 0) {
			w->fails++;
			close(fd);
			fd = -1;
			continue;
		}
		if (w->n < MAX_SAMPLES / 64)
			w->lat[w->n++] = now_ns() - t0;
		/* Every 100th request on a fresh connection: connects are part of the load. */
		if (i % 100 == 99) {
			close(fd);
			fd = -1;
		}
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct worker *w;
	uint64_t *all, t0;
	size_t total = 0, fails = 0, k = 0;
	int clients, secs;

	if (argc != 5) {
		fprintf(stderr, "usage: bench_daemon SOCKET CLIENTS SECONDS DOMAIN\n");
		return 2;
	}
	sock_path = argv[1];
	clients = atoi(argv[2]);
	secs = atoi(argv[3]);
	domain = argv[4];
	if (clients < 1 || clients > 64 * 1024 || secs < 1)
		return 2;
	w = calloc((size_t)clients, sizeof(*w));
	for (int i = 0; i < clients; i++) {
		w[i].id = i;
		w[i].lat = malloc(MAX_SAMPLES / 64 * sizeof(uint64_t));
		pthread_create(&w[i].t, NULL, run, &w[i]);
	}
	t0 = now_ns();
	sleep((unsigned int)secs);
	stop = 1;
	for (int i = 0; i < clients; i++) {
		pthread_join(w[i].t, NULL);
		total += w[i].n;
		fails += w[i].fails;
	}
	all = malloc((total + 1) * sizeof(uint64_t));
	for (int i = 0; i < clients; i++) {
		memcpy(all + k, w[i].lat, w[i].n * sizeof(uint64_t));
		k += w[i].n;
		free(w[i].lat);
	}
	qsort(all, total, sizeof(uint64_t), cmp);
	printf("clients=%d seconds=%.1f requests=%zu failures=%zu throughput=%.0f/s\n", clients,
	       (double)(now_ns() - t0) / 1e9, total, fails,
	       (double)total / ((double)(now_ns() - t0) / 1e9));
	if (total)
		printf("latency_us p50=%.1f p90=%.1f p99=%.1f p999=%.1f max=%.1f\n",
		       (double)all[total / 2] / 1e3, (double)all[total * 9 / 10] / 1e3,
		       (double)all[total * 99 / 100] / 1e3, (double)all[total * 999 / 1000] / 1e3,
		       (double)all[total - 1] / 1e3);
	free(all);
	free(w);
	return fails ? 1 : 0;
}

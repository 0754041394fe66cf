// SPDX-License-Identifier: Apache-2.0
/*
 * ACM decision latency: a generated policy with 1,000 rules and 200 running domains,
 * cached and uncached, p50/p99. Not a test; see bench/acm/README.
 */
#include "acm.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_TYPES 60
#define N_LABELS 100
#define N_RULES 1000
#define N_DOMS 200
#define SAMPLES 200000

static uint64_t rng = 0x2545f4914f6cdd1dULL;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static char *gen_policy(void)
{
	size_t cap = 1 << 20, off = 0;
	char *t = malloc(cap);

	if (!t)
		return NULL;
	off += (size_t)snprintf(t + off, cap - off, "policy bench;\nhost { cpus 64; memory 256G; }\nste ");
	for (int i = 0; i < N_TYPES; i++)
		off += (size_t)snprintf(t + off, cap - off, "%st%d", i ? ", " : "", i);
	off += (size_t)snprintf(t + off, cap - off, ";\n");
	for (int l = 0; l < N_LABELS; l++)
		off += (size_t)snprintf(t + off, cap - off, "label l%d { ste t%u, t%u, t%u; }\n", l,
					rnd(N_TYPES), rnd(N_TYPES), rnd(N_TYPES));
	for (int r = 0; r < N_RULES; r++) {
		enum acm_op op = (enum acm_op)rnd(ACM_OP_COUNT);
		uint32_t lo = 1000 + rnd(50000);

		off += (size_t)snprintf(t + off, cap - off, "allow t%u -> t%u : %s", rnd(N_TYPES),
					rnd(N_TYPES), acm_op_name(op));
		if (op == ACM_OP_VSOCK_CONNECT)
			off += (size_t)snprintf(t + off, cap - off, " %u-%u", lo, lo + rnd(100));
		off += (size_t)snprintf(t + off, cap - off, ";\n");
	}
	return t;
}

static uint64_t now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static uint64_t pct(uint64_t *v, size_t n, double p)
{
	return v[(size_t)((double)(n - 1) * p)];
}

struct result {
	uint64_t p50, p99, mean_batch;
	double hit_ratio;
};

/*
 * Times each call (clock overhead subtracted) for p50/p99, and batches of 64 calls
 * for a mean free of clock overhead.
 */
static void run(struct acm *a, const struct acm_request *rq, size_t n_rq, uint64_t overhead,
		struct result *res)
{
	uint64_t *lat = calloc(SAMPLES, sizeof(*lat));
	uint64_t hits = 0, t0, total = 0;
	struct acm_decision d;

	for (size_t i = 0; i < SAMPLES; i++) {
		const struct acm_request *r = &rq[i % n_rq];

		t0 = now();
		(void)acm_decide(a, r, &d);
		lat[i] = now() - t0;
		lat[i] = lat[i] > overhead ? lat[i] - overhead : 0;
		hits += d.cached;
	}
	qsort(lat, SAMPLES, sizeof(*lat), cmp_u64);
	res->p50 = pct(lat, SAMPLES, 0.50);
	res->p99 = pct(lat, SAMPLES, 0.99);
	res->hit_ratio = (double)hits / SAMPLES;
	t0 = now();
	for (size_t i = 0; i < SAMPLES; i++)
		(void)acm_decide(a, &rq[i % n_rq], &d);
	total = now() - t0;
	res->mean_batch = total / SAMPLES;
	free(lat);
}

static struct acm *monitor(const char *text, unsigned int slots)
{
	struct acm_trust t = { .n_keys = 1, .threshold = 1 };
	struct acm_error err;
	struct acm_policy *pol = acm_policy_parse("bench", text, strlen(text), &err);
	struct acm *a = acm_new(&t, slots);

	if (!pol || !a || acm_commit(a, pol, NULL, &err)) {
		fprintf(stderr, "bench: setup failed: %s\n", err.msg);
		exit(1);
	}
	for (uint32_t d = 1; d <= N_DOMS; d++) {
		struct acm_txn txn;
		char label[16];

		snprintf(label, sizeof(label), "l%u", rnd(N_LABELS));
		if (acm_domain_start_prepare(a, d, label, &txn, &err) ||
		    acm_domain_start_commit(a, &txn)) {
			fprintf(stderr, "bench: start: %s\n", err.msg);
			exit(1);
		}
	}
	return a;
}

int main(void)
{
	char *text = gen_policy();
	struct acm_request *hot = calloc(256, sizeof(*hot)), *cold = calloc(SAMPLES, sizeof(*cold));
	struct result rc, ru;
	struct acm_stats st;
	struct acm *ac, *au;
	uint64_t overhead, *ov = calloc(SAMPLES, sizeof(*ov));
	size_t allows = 0;

	if (!text || !hot || !cold || !ov)
		return 1;
	ac = monitor(text, 65536);
	rng = 0x9e3779b97f4a7c15ULL;
	au = monitor(text, 1);
	for (size_t i = 0; i < SAMPLES; i++) {
		ov[i] = now();
		ov[i] = now() - ov[i];
	}
	qsort(ov, SAMPLES, sizeof(*ov), cmp_u64);
	overhead = pct(ov, SAMPLES, 0.5);
	for (size_t i = 0; i < 256; i++)
		hot[i] = (struct acm_request){ 1 + rnd(N_DOMS), 1 + rnd(N_DOMS),
					       (enum acm_op)rnd(ACM_OP_COUNT), 1000 + rnd(51000) };
	for (size_t i = 0; i < SAMPLES; i++)
		cold[i] = (struct acm_request){ 1 + rnd(N_DOMS), 1 + rnd(N_DOMS),
						(enum acm_op)rnd(ACM_OP_COUNT), 1000 + rnd(51000) };
	for (size_t i = 0; i < SAMPLES; i++) {
		struct acm_decision d;

		(void)acm_decide(au, &cold[i], &d);
		allows += d.allow;
	}
	run(ac, hot, 256, overhead, &rc);
	run(au, cold, SAMPLES, overhead, &ru);
	acm_stats(au, &st);
	printf("bulwark ACM decision latency: %d rules, %d labels, %d STE types, %d domains\n",
	       N_RULES, N_LABELS, N_TYPES, N_DOMS);
	printf("(per-call times minus clock overhead of %llu ns; 'mean' is a %d-call loop)\n",
	       (unsigned long long)overhead, SAMPLES);
	printf("%-10s %8s %8s %8s %10s %8s\n", "path", "p50 ns", "p99 ns", "mean ns", "hit ratio",
	       "target");
	printf("%-10s %8llu %8llu %8llu %10.3f %8s  p99 < 50 ns: %s\n", "cached",
	       (unsigned long long)rc.p50, (unsigned long long)rc.p99,
	       (unsigned long long)rc.mean_batch, rc.hit_ratio, "50", rc.p99 < 50 ? "met" : "MISSED");
	printf("%-10s %8llu %8llu %8llu %10.3f %8s  p99 < 5000 ns: %s\n", "uncached",
	       (unsigned long long)ru.p50, (unsigned long long)ru.p99,
	       (unsigned long long)ru.mean_batch, ru.hit_ratio, "5000",
	       ru.p99 < 5000 ? "met" : "MISSED");
	printf("random requests allowed: %.1f%% (so the rules are exercised, not just denied)\n",
	       100.0 * (double)allows / SAMPLES);
	acm_free(ac);
	acm_free(au);
	free(ov);
	free(cold);
	free(hot);
	free(text);
	return 0;
}

// SPDX-License-Identifier: Apache-2.0
/*
 * ACM decision latency: a generated policy with 1,000 rules and 200 running domains,
 * cached and uncached, p50/p99. Not a test; see bench/acm/README.
 */
#include "acm.h"
#include "util.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_TYPES 40
#define N_LABELS 100
#define TYPES_PER_LABEL 4
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

/*
 * Random policy, or (worst) every rule a vsock rule over ports 1000..51099 and every label
 * holding every type, so a request for port 80 scans all 1,000 rules and matches none.
 */
static char *gen_policy(bool worst)
{
	size_t cap = 1 << 20, off = 0;
	char *t = malloc(cap);

	if (!t)
		return NULL;
	off += (size_t)snprintf(t + off, cap - off, "policy bench;\nhost { cpus 64; memory 256G; }\nste ");
	for (int i = 0; i < N_TYPES; i++)
		off += (size_t)snprintf(t + off, cap - off, "%st%d", i ? ", " : "", i);
	off += (size_t)snprintf(t + off, cap - off, ";\n");
	for (int l = 0; l < N_LABELS; l++) {
		off += (size_t)snprintf(t + off, cap - off, "label l%d { ste t0", l);
		for (int k = 1; k < (worst ? N_TYPES : TYPES_PER_LABEL); k++)
			off += (size_t)snprintf(t + off, cap - off, ", t%u",
						worst ? (uint32_t)k : rnd(N_TYPES));
		off += (size_t)snprintf(t + off, cap - off, "; }\n");
	}
	for (int r = 0; r < N_RULES; r++) {
		enum acm_op op = worst ? ACM_OP_VSOCK_CONNECT : (enum acm_op)rnd(ACM_OP_COUNT);
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

#define BATCH 16

struct result {
	uint64_t p50, p99, b50, b99, mean;
	double hit_ratio;
};

/*
 * Times each call (clock overhead subtracted) for p50/p99; times batches of BATCH calls
 * (per-call average of each batch: less timer noise, slightly smoothed tails); and a plain
 * loop for the mean.
 */
static void run(struct acm *a, const struct acm_request *rq, size_t n_rq, uint64_t overhead,
		struct result *res)
{
	uint64_t *lat = calloc(SAMPLES, sizeof(*lat));
	uint64_t hits = 0, t0;
	struct acm_decision d;
	size_t nb = SAMPLES / BATCH;

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
	for (size_t b = 0; b < nb; b++) {
		t0 = now();
		for (size_t i = 0; i < BATCH; i++)
			(void)acm_decide(a, &rq[(b * BATCH + i) % n_rq], &d);
		lat[b] = now() - t0;
		lat[b] = (lat[b] > overhead ? lat[b] - overhead : 0) / BATCH;
	}
	qsort(lat, nb, sizeof(*lat), cmp_u64);
	res->b50 = pct(lat, nb, 0.50);
	res->b99 = pct(lat, nb, 0.99);
	t0 = now();
	for (size_t i = 0; i < SAMPLES; i++)
		(void)acm_decide(a, &rq[i % n_rq], &d);
	res->mean = (now() - t0) / SAMPLES;
	free(lat);
}

static void report(const char *name, const struct result *r, uint64_t target)
{
	printf("%-15s %7llu %7llu %9llu %9llu %7llu %6.3f  p99 < %llu ns: %s\n", name,
	       (unsigned long long)r->p50, (unsigned long long)r->p99,
	       (unsigned long long)r->b50, (unsigned long long)r->b99,
	       (unsigned long long)r->mean, r->hit_ratio, (unsigned long long)target,
	       r->p99 < target ? "met" : (r->b99 < target ? "met by batch p99 only" : "MISSED"));
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
	char *text = gen_policy(false), *worst = gen_policy(true);
	struct acm_request *hot = calloc(256, sizeof(*hot)), *cold = calloc(SAMPLES, sizeof(*cold));
	struct acm_request *miss = calloc(256, sizeof(*miss));
	struct result rc, ru, rw;
	struct acm *ac, *au, *aw;
	uint64_t overhead, *ov = calloc(SAMPLES, sizeof(*ov));
	size_t allows = 0;

	if (!text || !worst || !hot || !cold || !miss || !ov)
		return 1;
	ac = monitor(text, 65536);
	rng = 0x9e3779b97f4a7c15ULL;
	au = monitor(text, 1);
	aw = monitor(worst, 1);
	for (size_t i = 0; i < SAMPLES; i++) {
		ov[i] = now();
		ov[i] = now() - ov[i];
	}
	qsort(ov, SAMPLES, sizeof(*ov), cmp_u64);
	overhead = pct(ov, SAMPLES, 0.5);
	for (size_t i = 0; i < 256; i++) {
		hot[i] = (struct acm_request){ 1 + rnd(N_DOMS), 1 + rnd(N_DOMS),
					       (enum acm_op)rnd(ACM_OP_COUNT), 1000 + rnd(51000) };
		miss[i] = (struct acm_request){ 1 + rnd(N_DOMS), 1 + rnd(N_DOMS),
						ACM_OP_VSOCK_CONNECT, 80 };
	}
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
	run(aw, miss, 256, overhead, &rw);
	printf("bulwark ACM decision latency: %d rules, %d labels, %d STE types, %d domains\n",
	       N_RULES, N_LABELS, N_TYPES, N_DOMS);
	printf("per call: clock_gettime around each call, minus its median cost (%llu ns);\n"
	       "batch: per-call average over %d calls; mean: plain %d-call loop. All in ns.\n",
	       (unsigned long long)overhead, BATCH, SAMPLES);
	printf("%-15s %7s %7s %9s %9s %7s %6s\n", "path", "p50", "p99", "batch p50", "batch p99",
	       "mean", "hits");
	report("cached", &rc, 50);
	report("uncached", &ru, 5000);
	report("uncached worst", &rw, 5000);
	printf("uncached random requests allowed: %.1f%%; worst case scans all %d rules "
	       "(every label shares every type, no rule matches)\n",
	       100.0 * (double)allows / SAMPLES, N_RULES);
	acm_free(ac);
	acm_free(au);
	acm_free(aw);
	free(ov);
	free(miss);
	free(cold);
	free(hot);
	free(worst);
	free(text);
	return 0;
}

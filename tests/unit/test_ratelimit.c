// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the token buckets: exact waiting times, and a simulated client on a
 * synthetic clock whose achieved rate must be within 5% of the limit in each configuration.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ratelimit.h"

#define MS 1000000ULL
#define US 1000ULL
#define SEC 1000000000ULL
#define MIB (1024ULL * 1024ULL)

/* ---- exact behaviour of one bucket ---- */

static void test_exact_wait(void **state)
{
	struct ratelimit_config cfg = { .ops_per_s = 1000, .refill_ms = 1 };
	struct ratelimit rl;
	uint64_t t = 5 * SEC, ready = 0;

	(void)state;
	assert_int_equal(ratelimit_init(&rl, &cfg, t), 0);
	assert_true(ratelimit_enabled(&rl));
	/* Bucket of one op: the first passes, the second must wait exactly 1 ms. */
	assert_true(ratelimit_take(&rl, t, 4096, &ready));
	assert_false(ratelimit_take(&rl, t, 4096, &ready));
	assert_int_equal(ready, t + 1 * MS);
	assert_false(ratelimit_take(&rl, ready - 1, 4096, &ready));
	assert_int_equal(ready, t + 1 * MS);
	assert_true(ratelimit_take(&rl, ready, 4096, &ready));
	assert_int_equal(rl.throttled, 2);
	/* A long idle period refills only up to the bucket size. */
	t += 10 * SEC;
	assert_true(ratelimit_take(&rl, t, 1, &ready));
	assert_false(ratelimit_take(&rl, t, 1, &ready));
}

static void test_fractional_rate(void **state)
{
	/* 3 ops per second: waits of 333,333,334 ns each, no drift over 3000 ops. */
	struct ratelimit rl = { 0 };
	uint64_t t = 0, ready;
	unsigned int n = 0;

	(void)state;
	assert_int_equal(ratelimit_bucket_init(&rl.ops, 3, SEC, 1, 0, 0), 0);
	while (n < 3001) {
		if (ratelimit_take(&rl, t, 0, &ready))
			n++;
		else
			t = ready;
	}
	/*
	 * The first op was free (full bucket); 3000 more take 1000 s, plus at most 1 ns
	 * each: a wait rounds up and a full bucket caps the excess.
	 */
	assert_true(t >= 1000 * SEC && t <= 1000 * SEC + 3000);
}

static void test_late_wakeup(void **state)
{
	/* 1000 IOPS, bucket of one op: a wake-up 0.5 ms late does not push the next one. */
	struct ratelimit_config cfg = { .ops_per_s = 1000, .refill_ms = 1 };
	struct ratelimit rl;
	uint64_t ready;

	(void)state;
	assert_int_equal(ratelimit_init(&rl, &cfg, 0), 0);
	assert_true(ratelimit_take(&rl, 0, 0, &ready));
	assert_false(ratelimit_take(&rl, 0, 0, &ready));
	assert_int_equal(ready, 1 * MS);
	assert_true(ratelimit_take(&rl, 1500 * US, 0, &ready));
	assert_false(ratelimit_take(&rl, 1500 * US, 0, &ready));
	assert_int_equal(ready, 2 * MS);
	assert_true(ratelimit_take(&rl, 2 * MS, 0, &ready));
	/* Without a refusal before it, a late arrival gets no such credit (bucket full). */
	assert_true(ratelimit_take(&rl, 3500 * US, 0, &ready));
	assert_false(ratelimit_take(&rl, 3500 * US, 0, &ready));
	assert_int_equal(ready, 4500 * US);
}

static void test_large_request_debt(void **state)
{
	/* 1 MiB/s with a 64 KiB bucket: a 1 MiB request passes, then 15/16 s of debt. */
	struct ratelimit rl = { 0 };
	uint64_t ready;

	(void)state;
	assert_int_equal(ratelimit_bucket_init(&rl.bytes, MIB, SEC, 64 * 1024, 0, 0), 0);
	assert_true(ratelimit_take(&rl, 0, MIB, &ready));
	assert_false(ratelimit_take(&rl, 0, 512, &ready));
	/* Debt of 960 KiB plus 512 bytes to earn at 1 MiB/s. */
	assert_int_equal(ready, ((960 * 1024ULL + 512) * SEC + MIB - 1) / MIB);
	assert_true(ratelimit_take(&rl, ready, 512, &ready));
}

static void test_one_time_burst(void **state)
{
	struct ratelimit_config cfg = { .ops_per_s = 10, .ops_burst = 100, .refill_ms = 100 };
	struct ratelimit rl;
	uint64_t ready;
	int n = 0;

	(void)state;
	assert_int_equal(ratelimit_init(&rl, &cfg, 0), 0);
	while (ratelimit_take(&rl, 0, 0, &ready))
		n++;
	/* Burst first, then the full bucket (1 op), then nothing until 100 ms later. */
	assert_int_equal(n, 101);
	assert_int_equal(ready, 100 * MS);
	/*
	 * Retried long after its time, the refused op is charged at 100 ms, so the bucket
	 * has refilled since: two pass, then nothing. The burst never comes back.
	 */
	assert_true(ratelimit_take(&rl, 100 * SEC, 0, &ready));
	assert_true(ratelimit_take(&rl, 100 * SEC, 0, &ready));
	assert_false(ratelimit_take(&rl, 100 * SEC, 0, &ready));
}

static void test_both_buckets(void **state)
{
	struct ratelimit_config cfg = { .ops_per_s = 1000, .bytes_per_s = 1000, .refill_ms = 1 };
	struct ratelimit rl;
	uint64_t ready;

	(void)state;
	assert_int_equal(ratelimit_init(&rl, &cfg, 0), 0);
	assert_true(ratelimit_take(&rl, 0, 1, &ready));
	/* Ops says 1 ms, bytes says 1 ms for 1 byte: a refusal takes nothing from either. */
	assert_false(ratelimit_take(&rl, 0, 1, &ready));
	assert_int_equal(ready, 1 * MS);
	assert_true(ratelimit_take(&rl, 1 * MS, 1, &ready));
	assert_int_equal(rl.ops.budget, 0);
	assert_int_equal(rl.bytes.budget, 0);
}

static void test_disabled_and_bad(void **state)
{
	struct ratelimit_config cfg = { 0 };
	struct ratelimit rl;
	uint64_t ready;

	(void)state;
	assert_int_equal(ratelimit_init(&rl, &cfg, 0), 0);
	assert_false(ratelimit_enabled(&rl));
	for (int i = 0; i < 1000; i++)
		assert_true(ratelimit_take(&rl, 0, 1ULL << 30, &ready));
	cfg.refill_ms = RATELIMIT_MAX_REFILL_MS + 1;
	cfg.ops_per_s = 5;
	assert_int_equal(ratelimit_init(&rl, &cfg, 0), -EINVAL);
	assert_false(ratelimit_enabled(&rl));
	cfg.refill_ms = 0;
	cfg.bytes_per_s = RATELIMIT_MAX_RATE + 1;
	assert_int_equal(ratelimit_init(&rl, &cfg, 0), -EINVAL);
	assert_false(ratelimit_enabled(&rl));
	assert_int_equal(ratelimit_bucket_init(&rl.ops, 1, 0, 1, 0, 0), -EINVAL);
	assert_int_equal(ratelimit_bucket_init(&rl.ops, 1, SEC, 0, 0, 0), -EINVAL);
	/* The largest rate at the longest refill still computes without overflow. */
	cfg = (struct ratelimit_config){ .bytes_per_s = RATELIMIT_MAX_RATE,
					 .refill_ms = RATELIMIT_MAX_REFILL_MS };
	assert_int_equal(ratelimit_init(&rl, &cfg, 0), 0);
	assert_true(ratelimit_take(&rl, UINT64_MAX / 2, 1ULL << 40, &ready));
}

static void test_parse(void **state)
{
	struct ratelimit_config c = { 0 };

	(void)state;
	assert_int_equal(ratelimit_parse_opt(&c, "iops", "1000"), 1);
	assert_int_equal(ratelimit_parse_opt(&c, "bw", "10M"), 1);
	assert_int_equal(ratelimit_parse_opt(&c, "iops-burst", "50"), 1);
	assert_int_equal(ratelimit_parse_opt(&c, "bw-burst", "1G"), 1);
	assert_int_equal(ratelimit_parse_opt(&c, "refill", "10"), 1);
	assert_int_equal(c.ops_per_s, 1000);
	assert_int_equal(c.bytes_per_s, 10 * MIB);
	assert_int_equal(c.ops_burst, 50);
	assert_int_equal(c.bytes_burst, 1024 * MIB);
	assert_int_equal(c.refill_ms, 10);
	assert_int_equal(ratelimit_parse_opt(&c, "serial", "x"), 0);
	assert_int_equal(ratelimit_parse_opt(&c, "iops", "-1"), -EINVAL);
	assert_int_equal(ratelimit_parse_opt(&c, "iops", "1k"), -EINVAL);
	assert_int_equal(ratelimit_parse_opt(&c, "bw", "2T"), -EINVAL);
	assert_int_equal(ratelimit_parse_opt(&c, "refill", "0"), -EINVAL);
	assert_int_equal(ratelimit_parse_opt(&c, "refill", "60001"), -EINVAL);
	assert_int_equal(c.refill_ms, 10);
}

static void test_timerfd(void **state)
{
	struct timespec ts;
	uint64_t now, n = 0;
	int fd;

	(void)state;
	fd = ratelimit_timer_open();
	assert_true(fd >= 0);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
	assert_int_equal(ratelimit_timer_arm(fd, now + 2 * MS), 0);
	/* Non-blocking: nothing yet, then one expiry. */
	assert_int_equal(read(fd, &n, sizeof(n)), -1);
	usleep(20000);
	assert_int_equal(read(fd, &n, sizeof(n)), sizeof(n));
	assert_int_equal(n, 1);
	/* A time in the past fires at once. */
	assert_int_equal(ratelimit_timer_arm(fd, 0), 0);
	usleep(1000);
	assert_int_equal(read(fd, &n, sizeof(n)), sizeof(n));
	close(fd);
}

/* ---- a simulated device and guest on a synthetic clock ---- */

struct sim {
	struct ratelimit_config rl;
	uint64_t req_bytes;
	uint64_t service_ns; /* the device's own time per request */
	uint64_t think_ns; /* the guest's time from a completion to its next request (QD 1) */
	uint64_t jitter_ns; /* timer wake-ups are late by up to this much */
	uint64_t tick_ns; /* 0: wake at the computed time; else re-check on this period */
	uint64_t duration_ns;
	uint64_t warmup_ns; /* completions before this are not counted (initial full bucket) */
};

static uint64_t lcg = 12345;

static uint64_t jitter(uint64_t max)
{
	lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
	return max ? (lcg >> 33) % (max + 1) : 0;
}

/* Runs the simulation; returns completed requests per second in the measured window. */
static double simulate(const struct sim *s, uint64_t *first_refusal_ops)
{
	struct ratelimit rl;
	uint64_t t = 0, ready, done = 0, total = 0;
	bool refused = false;

	lcg = 12345;
	assert_int_equal(ratelimit_init(&rl, &s->rl, 0), 0);
	while (t < s->duration_ns) {
		if (ratelimit_take(&rl, t, s->req_bytes, &ready)) {
			t += s->service_ns;
			total++;
			if (t >= s->warmup_ns && t < s->duration_ns)
				done++;
			t += s->think_ns;
			continue;
		}
		if (!refused && first_refusal_ops)
			*first_refusal_ops = total;
		refused = true;
		if (s->tick_ns)
			t += s->tick_ns;
		else
			t = ready;
		t += jitter(s->jitter_ns);
	}
	return (double)done * SEC / (double)(s->duration_ns - s->warmup_ns);
}

static void expect_rate(const char *what, double got, double want)
{
	double err = (got > want ? got - want : want - got) / want;

	print_message("  %-40s want %10.1f/s got %10.1f/s error %.3f%%\n", what, want, got,
		      err * 100);
	assert_true(err < 0.05);
}

static void test_sim_iops_10ms(void **state)
{
	struct sim s = {
		.rl = { .ops_per_s = 1000, .refill_ms = 10 },
		.req_bytes = 4096, .service_ns = 20 * US, .think_ns = 30 * US,
		.jitter_ns = 100 * US, .duration_ns = 20 * SEC, .warmup_ns = 1 * SEC,
	};

	(void)state;
	expect_rate("1000 IOPS, 10 ms refill, QD1", simulate(&s, NULL), 1000);
	/* Queue always full (no think time), wake-ups up to 1 ms late. */
	s.think_ns = 0;
	s.jitter_ns = 1 * MS;
	expect_rate("1000 IOPS, 10 ms refill, QD32, 1 ms late", simulate(&s, NULL), 1000);
	/* The smallest bucket, one op, and wake-ups up to 300 us late: nothing is lost. */
	s.rl.refill_ms = 1;
	s.jitter_ns = 300 * US;
	expect_rate("1000 IOPS, 1 ms refill, 300 us late", simulate(&s, NULL), 1000);
	s.rl = (struct ratelimit_config){ .ops_per_s = 333, .refill_ms = 7 };
	s.jitter_ns = 500 * US;
	expect_rate("333 IOPS, 7 ms refill", simulate(&s, NULL), 333);
	s.rl = (struct ratelimit_config){ .ops_per_s = 50000, .refill_ms = 10 };
	s.service_ns = 5 * US;
	s.jitter_ns = 50 * US;
	expect_rate("50k IOPS, 10 ms refill", simulate(&s, NULL), 50000);
}

static void test_sim_fixed_tick_misses(void **state)
{
	/*
	 * The same 1000 IOPS / 10 ms limit re-checked every 100 ms (Firecracker's and
	 * Cloud Hypervisor's timer): the bucket holds 10 ops, so about 100 IOPS get
	 * through. This shows the simulation can tell a coarse timer from ours.
	 */
	struct sim s = {
		.rl = { .ops_per_s = 1000, .refill_ms = 10 },
		.req_bytes = 4096, .service_ns = 20 * US, .tick_ns = 100 * MS,
		.duration_ns = 20 * SEC, .warmup_ns = 1 * SEC,
	};
	double got = simulate(&s, NULL);

	(void)state;
	print_message("  1000 IOPS / 10 ms on a 100 ms tick: %.1f/s\n", got);
	assert_true(got < 0.5 * 1000);
}

static void test_sim_bandwidth(void **state)
{
	struct sim s = {
		.rl = { .bytes_per_s = 100 * MIB, .refill_ms = 10 },
		.req_bytes = 4096, .service_ns = 5 * US, .jitter_ns = 200 * US,
		.duration_ns = 10 * SEC, .warmup_ns = 1 * SEC,
	};

	(void)state;
	expect_rate("100 MiB/s, 4K requests (bytes/s)", simulate(&s, NULL) * 4096, 100.0 * MIB);
	/* 1 MiB requests against a 1 MiB bucket. */
	s.req_bytes = MIB;
	s.service_ns = 500 * US;
	expect_rate("100 MiB/s, 1M requests (bytes/s)", simulate(&s, NULL) * MIB, 100.0 * MIB);
	/* 1 MiB requests against a 100 KiB bucket: every request goes into debt. */
	s.rl.bytes_per_s = 10 * MIB;
	s.jitter_ns = 5 * MS;
	s.duration_ns = 30 * SEC;
	expect_rate("10 MiB/s, 1M requests, bucket < request", simulate(&s, NULL) * MIB,
		    10.0 * MIB);
	/* Both limits: the bytes one binds (256 ops/s of 4K) below the ops one (500). */
	s.rl = (struct ratelimit_config){ .ops_per_s = 500, .bytes_per_s = 1 * MIB };
	s.req_bytes = 4096;
	s.service_ns = 20 * US;
	expect_rate("500 IOPS and 1 MiB/s with 4K", simulate(&s, NULL), 256);
	/* ... and the ops one binds with 512-byte requests (2048 > 500). */
	s.req_bytes = 512;
	expect_rate("500 IOPS and 1 MiB/s with 512 B", simulate(&s, NULL), 500);
}

static void test_sim_burst(void **state)
{
	struct sim s = {
		.rl = { .ops_per_s = 100, .ops_burst = 1000, .refill_ms = 10 },
		.req_bytes = 4096, .service_ns = 50 * US, .jitter_ns = 200 * US,
		.duration_ns = 30 * SEC, .warmup_ns = 1 * SEC,
	};
	uint64_t first = 0;

	(void)state;
	/* 1000 burst ops plus the 1-op bucket go at device speed (50 ms), then 100/s. */
	expect_rate("100 IOPS after a 1000-op burst", simulate(&s, &first), 100);
	assert_int_equal(first, 1001);
	s.rl = (struct ratelimit_config){ .bytes_per_s = 1 * MIB, .bytes_burst = 64 * MIB,
					  .refill_ms = 100 };
	s.req_bytes = 64 * 1024;
	s.service_ns = 100 * US;
	expect_rate("1 MiB/s after a 64 MiB burst (bytes/s)", simulate(&s, &first) * 64 * 1024,
		    1.0 * MIB);
	/* 64 MiB of burst plus the 100 KiB bucket (one 64 KiB request fits). */
	assert_int_equal(first, 1025);
	/* A device slower than the limit is not limited at all. */
	s.rl = (struct ratelimit_config){ .ops_per_s = 10000 };
	s.service_ns = 1 * MS;
	expect_rate("10k IOPS limit, 1k IOPS device", simulate(&s, NULL), 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_wait),
		cmocka_unit_test(test_fractional_rate),
		cmocka_unit_test(test_late_wakeup),
		cmocka_unit_test(test_large_request_debt),
		cmocka_unit_test(test_one_time_burst),
		cmocka_unit_test(test_both_buckets),
		cmocka_unit_test(test_disabled_and_bad),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_timerfd),
		cmocka_unit_test(test_sim_iops_10ms),
		cmocka_unit_test(test_sim_fixed_tick_misses),
		cmocka_unit_test(test_sim_bandwidth),
		cmocka_unit_test(test_sim_burst),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Token-bucket rate limiters for device back-ends (ops/s and bytes/s, each with a bucket
 * size and a one-time burst, as Firecracker's fields). Pure logic on a clock the caller
 * passes in, plus a timerfd helper: a refused request learns the exact time it will fit.
 */
#ifndef BULWARK_VMM_RATELIMIT_H
#define BULWARK_VMM_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define RATELIMIT_NS 1000000000ULL
#define RATELIMIT_MAX_RATE (1ULL << 40) /* tokens per second: 1 Ti ops or bytes */
#define RATELIMIT_MAX_REFILL_MS 60000U
#define RATELIMIT_DEFAULT_REFILL_MS 10U

/*
 * Tokens accrue at `amount` per `per_ns` nanoseconds up to `size`; `otb` tokens (the
 * one-time burst) are spent first and never come back. The budget is kept in units of
 * 1/per_ns token, so accrual and waiting times are exact integers with no drift. It may go
 * negative: a request larger than the bucket is admitted from a full bucket and the
 * excess is paid back before the next one (debt), so the long-run rate is still exact.
 */
struct ratelimit_bucket {
	uint64_t amount; /* 0: this bucket does not limit */
	uint64_t per_ns;
	uint64_t size;
	uint64_t otb;
	__int128 budget; /* tokens * per_ns */
	uint64_t last_ns;
};

struct ratelimit {
	struct ratelimit_bucket ops;
	struct ratelimit_bucket bytes;
	uint64_t retry_ns; /* when the last refused request was told it fits; 0: none */
	uint64_t throttled; /* requests refused at least once (statistics) */
};

/* What a user configures (command line, JSON); zero rates mean "no limit". */
struct ratelimit_config {
	uint64_t ops_per_s;
	uint64_t bytes_per_s;
	uint64_t ops_burst; /* one-time burst, ops */
	uint64_t bytes_burst; /* one-time burst, bytes */
	uint32_t refill_ms; /* bucket size = rate * refill_ms (0: RATELIMIT_DEFAULT_REFILL_MS) */
};

/*
 * Sets up bucket b: `amount` tokens per `per_ns` ns, holding at most `size` (at least 1),
 * full at `now_ns`, with a one-time burst of `otb`. amount 0 disables the bucket.
 * Returns 0, or -EINVAL (per_ns 0, size 0 with amount > 0, amount > RATELIMIT_MAX_RATE
 * per second); on error b is disabled.
 */
int ratelimit_bucket_init(struct ratelimit_bucket *b, uint64_t amount, uint64_t per_ns,
			  uint64_t size, uint64_t otb, uint64_t now_ns)
	__attribute__((warn_unused_result));

/*
 * Sets up rl from a user config, full at now_ns. Returns 0 or -EINVAL (rl then does not
 * limit at all).
 */
int ratelimit_init(struct ratelimit *rl, const struct ratelimit_config *cfg, uint64_t now_ns)
	__attribute__((warn_unused_result));

/* True when either bucket limits. */
bool ratelimit_enabled(const struct ratelimit *rl);

/*
 * Asks for one operation of `bytes` bytes at now_ns (monotonic, non-decreasing across
 * calls). Returns true and takes the tokens when both buckets admit it; otherwise takes
 * nothing, returns false and sets *ready_ns to the earliest time at which this same
 * request will be admitted (if nothing else is taken before then). A request retried
 * after *ready_ns is charged as of *ready_ns, so a late wake-up costs no rate.
 */
bool ratelimit_take(struct ratelimit *rl, uint64_t now_ns, uint64_t bytes, uint64_t *ready_ns)
	__attribute__((warn_unused_result));

/* A non-blocking CLOCK_MONOTONIC timerfd (close-on-exec). Returns the fd or -errno. */
int ratelimit_timer_open(void);

/* Arms timerfd fd to fire once at absolute CLOCK_MONOTONIC time at_ns. Returns 0 or -errno. */
int ratelimit_timer_arm(int fd, uint64_t at_ns) __attribute__((warn_unused_result));

/*
 * Parses one "key=value" rate-limit option into cfg: iops=N, bw=SIZE (bytes/s),
 * iops-burst=N, bw-burst=SIZE, refill=MS. Returns 1 when the key is one of these and
 * the value is good, 0 when the key is not a rate-limit key, -EINVAL on a bad value.
 */
int ratelimit_parse_opt(struct ratelimit_config *cfg, const char *key, const char *val)
	__attribute__((warn_unused_result));

#endif

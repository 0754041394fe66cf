// SPDX-License-Identifier: Apache-2.0
/*
 * Token buckets with exact integer accrual, and the time a refused request will fit, so
 * a back-end sleeps on a timerfd until then instead of re-checking on a fixed tick.
 */
#include "ratelimit.h"

#include <errno.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>

#include "util.h"

int ratelimit_bucket_init(struct ratelimit_bucket *b, uint64_t amount, uint64_t per_ns,
			  uint64_t size, uint64_t otb, uint64_t now_ns)
{
	memset(b, 0, sizeof(*b));
	if (amount == 0)
		return 0;
	if (per_ns == 0 || size == 0 ||
	    (unsigned __int128)amount * RATELIMIT_NS > (unsigned __int128)RATELIMIT_MAX_RATE * per_ns)
		return -EINVAL;
	b->amount = amount;
	b->per_ns = per_ns;
	b->size = size;
	b->otb = otb;
	b->budget = (__int128)size * per_ns;
	b->last_ns = now_ns;
	return 0;
}

static int bucket_from_rate(struct ratelimit_bucket *b, uint64_t rate, uint64_t burst,
			    uint32_t refill_ms, uint64_t now_ns)
{
	/* A bucket smaller than one token could never admit anything. */
	uint64_t size = (uint64_t)((unsigned __int128)rate * refill_ms / 1000);

	if (rate > RATELIMIT_MAX_RATE)
		return -EINVAL;
	return ratelimit_bucket_init(b, rate, RATELIMIT_NS, size ? size : 1, burst, now_ns);
}

int ratelimit_init(struct ratelimit *rl, const struct ratelimit_config *cfg, uint64_t now_ns)
{
	uint32_t refill = cfg->refill_ms ? cfg->refill_ms : RATELIMIT_DEFAULT_REFILL_MS;
	int ret;

	memset(rl, 0, sizeof(*rl));
	if (refill > RATELIMIT_MAX_REFILL_MS)
		return -EINVAL;
	ret = bucket_from_rate(&rl->ops, cfg->ops_per_s, cfg->ops_burst, refill, now_ns);
	if (ret == 0)
		ret = bucket_from_rate(&rl->bytes, cfg->bytes_per_s, cfg->bytes_burst, refill,
				       now_ns);
	if (ret < 0)
		memset(rl, 0, sizeof(*rl));
	return ret;
}

bool ratelimit_enabled(const struct ratelimit *rl)
{
	return rl->ops.amount || rl->bytes.amount;
}

static void accrue(struct ratelimit_bucket *b, uint64_t now_ns)
{
	__int128 full = (__int128)b->size * b->per_ns;

	if (now_ns <= b->last_ns)
		return;
	/* Capped right away, so the sum stays far below 2^127 whatever the gap. */
	b->budget += (__int128)(now_ns - b->last_ns) * b->amount;
	if (b->budget > full)
		b->budget = full;
	b->last_ns = now_ns;
}

/* Tokens that must come from the bucket after the one-time burst is used up. */
static uint64_t after_otb(const struct ratelimit_bucket *b, uint64_t n)
{
	return n > b->otb ? n - b->otb : 0;
}

/* 0 if the bucket admits n tokens now, else the ns until it will. */
static uint64_t wait_for(const struct ratelimit_bucket *b, uint64_t n)
{
	uint64_t rest = after_otb(b, n);
	__int128 need, deficit;

	if (!b->amount || rest == 0)
		return 0;
	/*
	 * More than the bucket can hold is admitted from a full bucket (the rest becomes
	 * debt); otherwise a request of that size could never pass.
	 */
	need = (__int128)(rest < b->size ? rest : b->size) * b->per_ns;
	if (b->budget >= need)
		return 0;
	deficit = need - b->budget;
	return (uint64_t)((deficit + b->amount - 1) / b->amount);
}

static void consume(struct ratelimit_bucket *b, uint64_t n)
{
	uint64_t rest = after_otb(b, n);

	if (!b->amount)
		return;
	b->otb -= n - rest;
	b->budget -= (__int128)rest * b->per_ns;
}

static uint64_t wait_both(struct ratelimit *rl, uint64_t t, uint64_t bytes)
{
	uint64_t w_ops, w_bytes;

	if (rl->ops.amount)
		accrue(&rl->ops, t);
	if (rl->bytes.amount)
		accrue(&rl->bytes, t);
	w_ops = wait_for(&rl->ops, 1);
	w_bytes = wait_for(&rl->bytes, bytes);
	/* Budgets only grow until something is taken, so the later of the two suffices. */
	return w_ops > w_bytes ? w_ops : w_bytes;
}

bool ratelimit_take(struct ratelimit *rl, uint64_t now_ns, uint64_t bytes, uint64_t *ready_ns)
{
	uint64_t w, t = now_ns;

	/*
	 * A refused request is retried when its timer fires, a little late. Admitting it as
	 * of the promised time keeps the tokens of the delay: otherwise a full bucket would
	 * drop them and the achieved rate would fall short by the wake-up latency.
	 */
	if (rl->retry_ns && rl->retry_ns < now_ns)
		t = rl->retry_ns;
	for (;;) {
		w = wait_both(rl, t, bytes);
		if (w == 0) {
			consume(&rl->ops, 1);
			consume(&rl->bytes, bytes);
			if (t != now_ns)
				wait_both(rl, now_ns, 0);
			rl->retry_ns = 0;
			return true;
		}
		if (t == now_ns)
			break;
		t = now_ns;
	}
	*ready_ns = now_ns + w;
	rl->retry_ns = *ready_ns;
	rl->throttled++;
	return false;
}

int ratelimit_timer_open(void)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int ratelimit_timer_arm(int fd, uint64_t at_ns)
{
	struct itimerspec its = { 0 };

	/* An all-zero it_value would disarm the timer instead of firing at once. */
	if (at_ns == 0)
		at_ns = 1;
	its.it_value.tv_sec = (time_t)(at_ns / RATELIMIT_NS);
	its.it_value.tv_nsec = (long)(at_ns % RATELIMIT_NS);
	return timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL) < 0 ? -errno : 0;
}

int ratelimit_parse_opt(struct ratelimit_config *cfg, const char *key, const char *val)
{
	uint64_t v;

	if (strcmp(key, "iops") == 0 || strcmp(key, "iops-burst") == 0) {
		if (util_parse_uint(val, 0, RATELIMIT_MAX_RATE, &v) < 0)
			return -EINVAL;
		if (key[4])
			cfg->ops_burst = v;
		else
			cfg->ops_per_s = v;
		return 1;
	}
	if (strcmp(key, "bw") == 0 || strcmp(key, "bw-burst") == 0) {
		if (util_parse_size(val, &v) < 0 || v > RATELIMIT_MAX_RATE)
			return -EINVAL;
		if (key[2])
			cfg->bytes_burst = v;
		else
			cfg->bytes_per_s = v;
		return 1;
	}
	if (strcmp(key, "refill") == 0) {
		if (util_parse_uint(val, 1, RATELIMIT_MAX_REFILL_MS, &v) < 0)
			return -EINVAL;
		cfg->refill_ms = (uint32_t)v;
		return 1;
	}
	return 0;
}

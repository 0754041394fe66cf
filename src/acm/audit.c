// SPDX-License-Identifier: Apache-2.0
/*
 * Audit records: one JSON line per deny (and per allow by an "audit" rule), rate-limited
 * per (subject, object, op) with a count of what was dropped. Returned as text, no I/O.
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static uint32_t rl_slot(uint32_t s, uint32_t o, uint8_t op)
{
	uint64_t h = ((uint64_t)s << 32 | (uint64_t)o << 4 | op) * 0x9e3779b97f4a7c15ULL;

	return (uint32_t)(h >> 40) % ACM_RL_SLOTS;
}

bool acm_rl_admit(struct acm_ratelimit *rl, uint32_t subject, uint32_t object, uint8_t op,
		  uint64_t now, uint64_t *dropped)
{
	struct acm_rl_slot *s = &rl->slots[rl_slot(subject, object, op)];

	/*
	 * A colliding key takes the slot over. That can let a few extra records through,
	 * never suppress a key forever, and keeps the limiter's memory fixed.
	 */
	if (!s->used || s->subject != subject || s->object != object || s->op != op) {
		*s = (struct acm_rl_slot){ .subject = subject, .object = object, .op = op,
					   .used = 1, .window_start = now };
	}
	if (now - s->window_start >= rl->window_ns || now < s->window_start) {
		s->window_start = now;
		s->count = 0;
	}
	if (s->count >= rl->burst) {
		s->dropped++;
		return false;
	}
	s->count++;
	*dropped = s->dropped;
	s->dropped = 0;
	return true;
}

void acm_audit_config(struct acm *a, unsigned int burst, uint64_t window_ns)
{
	pthread_mutex_lock(&a->lock);
	a->rl.burst = burst;
	a->rl.window_ns = window_ns ? window_ns : 1;
	memset(a->rl.slots, 0, sizeof(a->rl.slots));
	pthread_mutex_unlock(&a->lock);
}

/* Label name if the decision came from the installed policy, else NULL. */
static const char *label_name(const struct acm *a, const struct acm_decision *d, uint32_t l)
{
	if (!a->pol || d->policy_gen != a->gen)
		return NULL;
	return acm_policy_label_name(a->pol, l);
}

static int put_party(char *buf, size_t len, const char *key, uint32_t dom, const char *label)
{
	/* Label names are identifiers ([A-Za-z0-9_]), so they need no JSON escaping. */
	if (label)
		return snprintf(buf, len, "\"%s\":{\"dom\":%u,\"label\":\"%s\"}", key, dom, label);
	return snprintf(buf, len, "\"%s\":{\"dom\":%u,\"label\":null}", key, dom);
}

int acm_audit_record(struct acm *a, const struct acm_request *rq, const struct acm_decision *d,
		     uint64_t now_ns, char *buf, size_t len)
{
	char subj[128], obj[128], hash[2 * ACM_HASH_LEN + 3] = "null", port[32] = "";
	char rule[16] = "null";
	bool current;
	uint64_t dropped = 0;
	int n, ret;

	if (!d->audit)
		return 0;
	pthread_mutex_lock(&a->lock);
	if (!acm_rl_admit(&a->rl, rq->subject, rq->object, (uint8_t)rq->op, now_ns, &dropped)) {
		a->st.audit_dropped++;
		ret = 0;
		goto out_unlock;
	}
	put_party(subj, sizeof(subj), "subject", rq->subject, label_name(a, d, d->subject_label));
	put_party(obj, sizeof(obj), "object", rq->object, label_name(a, d, d->object_label));
	current = a->pol && d->policy_gen == a->gen;
	if (current) {
		hash[0] = '"';
		for (int i = 0; i < ACM_HASH_LEN; i++)
			snprintf(hash + 1 + 2 * i, 3, "%02x", a->hash[i]);
		snprintf(hash + 1 + 2 * ACM_HASH_LEN, 2, "\"");
	}
	if (rq->op == ACM_OP_VSOCK_CONNECT)
		snprintf(port, sizeof(port), ",\"port\":%u", rq->port);
	if (d->rule != ACM_NO_RULE)
		snprintf(rule, sizeof(rule), "%d", d->rule);
	n = snprintf(buf, len,
		     "{\"time_ns\":%llu,%s,%s,\"op\":\"%s\"%s,\"decision\":\"%s\",\"rule\":%s,"
		     "\"reason\":\"%s\",\"policy\":{\"version\":%llu,\"hash\":%s,"
		     "\"current\":%s},\"dropped\":%llu}",
		     (unsigned long long)now_ns, subj, obj, acm_op_name(rq->op), port,
		     d->allow ? "allow" : "deny", rule, acm_reason_name(d->reason),
		     (unsigned long long)d->policy_version, hash, current ? "true" : "false",
		     (unsigned long long)dropped);
	if (n < 0 || (size_t)n >= len) {
		/* Give the slot back: nothing was emitted. */
		struct acm_rl_slot *s = &a->rl.slots[rl_slot(rq->subject, rq->object,
							      (uint8_t)rq->op)];

		s->count--;
		s->dropped += dropped;
		ret = -ENOSPC;
		goto out_unlock;
	}
	a->st.audit_emitted++;
	ret = n;
out_unlock:
	pthread_mutex_unlock(&a->lock);
	return ret;
}

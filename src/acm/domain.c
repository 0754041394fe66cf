// SPDX-License-Identifier: Apache-2.0
/*
 * Domain lifecycle hooks (Chinese Wall as a prepare/commit/abort transaction) and the
 * monitor's decision entry points, with the cache and counters.
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Drops a live domain's reservations; purges cache entries its label no longer needs. */
static void release(struct acm *a, uint32_t domid)
{
	struct acm_dom *d = &a->doms[domid];
	const struct acm_label *l = &a->pol->labels[d->label];

	for (uint32_t j = 0; j < l->n_cw; j++)
		a->cw_count[l->cw[j]]--;
	/*
	 * Entries are keyed by label, and the domain table is consulted before the cache,
	 * so a reused domid can never hit a stale entry; purging the label's entries when its
	 * last domain goes keeps the cache free of decisions nobody can use.
	 */
	if (--a->label_live[d->label] == 0)
		a->st.purges += acm_cache_purge_label(&a->cache, d->label);
	d->state = ACM_DOM_FREE;
	d->label = 0;
	d->seq = 0;
}

static uint32_t holder_of(const struct acm *a, uint32_t cw_type)
{
	for (uint32_t id = 0; id <= ACM_DOMID_MAX; id++) {
		const struct acm_dom *d = &a->doms[id];

		if (d->state != ACM_DOM_FREE &&
		    acm_set_has(&a->pol->labels[d->label].cw_set, cw_type))
			return id;
	}
	return UINT32_MAX;
}

int acm_domain_start_prepare(struct acm *a, uint32_t domid, const char *label,
			     struct acm_txn *txn, struct acm_error *err)
{
	const struct acm_label *l;
	uint32_t li;
	int ret = 0;

	txn->open = false;
	pthread_mutex_lock(&a->lock);
	if (!a->pol) {
		acm_errf(err, "no policy loaded: only the management plane may run");
		ret = -ENOPKG;
	} else if (domid > ACM_DOMID_MAX) {
		acm_errf(err, "domain id %u out of range (0..%d)", domid, ACM_DOMID_MAX);
		ret = -ERANGE;
	} else if (a->doms[domid].state != ACM_DOM_FREE) {
		acm_errf(err, "domain id %u is already in use", domid);
		ret = -EEXIST;
	} else if (acm_policy_label_find(a->pol, label, &li)) {
		acm_errf(err, "label %s is not in the policy", label);
		ret = -ENOENT;
	}
	if (ret)
		goto out_unlock;
	l = &a->pol->labels[li];
	for (uint32_t t = 0; t < a->pol->n_cw; t++) {
		if (acm_set_has(&l->cw_conflicts, t) && a->cw_count[t]) {
			acm_errf(err, "Chinese Wall: label %s may not start while domain %u holds "
				      "conflicting type %s", label, holder_of(a, t), a->pol->cw[t]);
			ret = -EPERM;
			goto out_unlock;
		}
	}
	/* Reserve now, so a concurrent start of a conflicting label sees this one. */
	for (uint32_t j = 0; j < l->n_cw; j++)
		a->cw_count[l->cw[j]]++;
	a->label_live[li]++;
	a->doms[domid] = (struct acm_dom){ .label = li, .state = ACM_DOM_PENDING, .seq = ++a->seq };
	*txn = (struct acm_txn){ .domid = domid, .label = li, .seq = a->seq, .open = true };
out_unlock:
	pthread_mutex_unlock(&a->lock);
	return ret;
}

static bool txn_valid(const struct acm *a, const struct acm_txn *txn)
{
	return txn->open && txn->domid <= ACM_DOMID_MAX &&
	       a->doms[txn->domid].state == ACM_DOM_PENDING && a->doms[txn->domid].seq == txn->seq;
}

int acm_domain_start_commit(struct acm *a, struct acm_txn *txn)
{
	int ret = -EINVAL;

	pthread_mutex_lock(&a->lock);
	if (txn_valid(a, txn)) {
		a->doms[txn->domid].state = ACM_DOM_RUNNING;
		txn->open = false;
		ret = 0;
	}
	pthread_mutex_unlock(&a->lock);
	return ret;
}

void acm_domain_start_abort(struct acm *a, struct acm_txn *txn)
{
	pthread_mutex_lock(&a->lock);
	if (txn_valid(a, txn))
		release(a, txn->domid);
	txn->open = false;
	pthread_mutex_unlock(&a->lock);
}

int acm_domain_stop(struct acm *a, uint32_t domid)
{
	int ret = -ENOENT;

	pthread_mutex_lock(&a->lock);
	if (domid <= ACM_DOMID_MAX && a->doms[domid].state == ACM_DOM_RUNNING) {
		release(a, domid);
		ret = 0;
	}
	pthread_mutex_unlock(&a->lock);
	return ret;
}

int acm_domain_label(struct acm *a, uint32_t domid, uint32_t *label)
{
	int ret = -ENOENT;

	pthread_mutex_lock(&a->lock);
	if (domid <= ACM_DOMID_MAX && a->doms[domid].state != ACM_DOM_FREE) {
		*label = a->doms[domid].label;
		ret = 0;
	}
	pthread_mutex_unlock(&a->lock);
	return ret;
}

/* Under a->lock: label of a live domain or UINT32_MAX. */
static uint32_t label_of(const struct acm *a, uint32_t domid)
{
	if (domid > ACM_DOMID_MAX || a->doms[domid].state == ACM_DOM_FREE)
		return UINT32_MAX;
	return a->doms[domid].label;
}

static void set_deny(struct acm_decision *d, enum acm_reason r)
{
	d->allow = false;
	d->audit = true;
	d->cached = false;
	d->reason = r;
	d->rule = ACM_NO_RULE;
}

int acm_decide(struct acm *a, const struct acm_request *rq, struct acm_decision *d)
{
	uint32_t sl, ol, port;
	int ret = 0;

	pthread_mutex_lock(&a->lock);
	a->st.decisions++;
	d->policy_version = a->version;
	d->policy_gen = a->gen;
	sl = label_of(a, rq->subject);
	ol = label_of(a, rq->object);
	d->subject_label = sl;
	d->object_label = ol;
	port = rq->op == ACM_OP_VSOCK_CONNECT ? rq->port : 0;
	if ((unsigned int)rq->op >= ACM_OP_COUNT) {
		set_deny(d, ACM_R_DEFAULT_DENY);
		ret = -EINVAL;
	} else if (!a->pol) {
		set_deny(d, ACM_R_NO_POLICY);
	} else if (sl == UINT32_MAX) {
		set_deny(d, ACM_R_NO_SUBJECT);
	} else if (ol == UINT32_MAX) {
		set_deny(d, ACM_R_NO_OBJECT);
	} else if (acm_cache_get(&a->cache, (uint32_t)a->gen, sl, ol, rq->op, port, d)) {
		a->st.hits++;
	} else {
		a->st.misses++;
		acm_policy_decide(a->pol, sl, ol, rq->op, port, d);
		acm_cache_put(&a->cache, (uint32_t)a->gen, sl, ol, rq->op, port, d);
	}
	if (d->allow)
		a->st.allows++;
	else
		a->st.denies++;
	pthread_mutex_unlock(&a->lock);
	return ret;
}

int acm_explain(struct acm *a, const struct acm_request *rq, char *buf, size_t len)
{
	uint32_t sl, ol;
	int n, ret;

	if (!len)
		return -ENOSPC;
	pthread_mutex_lock(&a->lock);
	sl = label_of(a, rq->subject);
	ol = label_of(a, rq->object);
	n = snprintf(buf, len, "subject domain %u, object domain %u, policy version %llu\n",
		     rq->subject, rq->object, (unsigned long long)a->version);
	if (n < 0 || (size_t)n >= len) {
		ret = -ENOSPC;
	} else {
		ret = acm_policy_explain(a->pol, sl, ol, rq->op, rq->port, buf + n, len - (size_t)n);
		if (ret >= 0)
			ret += n;
	}
	pthread_mutex_unlock(&a->lock);
	return ret;
}

bool acm_admin_allowed(struct acm *a, uint32_t uid, const uint32_t *gids, size_t n_gids,
		       enum acm_admin_op op, const char *label)
{
	uint32_t li;
	bool ok = false;

	pthread_mutex_lock(&a->lock);
	if (a->pol && !acm_policy_label_find(a->pol, label, &li))
		ok = acm_policy_admin_allowed(a->pol, uid, gids, n_gids, op, li, NULL);
	pthread_mutex_unlock(&a->lock);
	return ok;
}

bool acm_admin_may_load(struct acm *a, uint32_t uid, const uint32_t *gids, size_t n_gids)
{
	bool ok;

	pthread_mutex_lock(&a->lock);
	ok = acm_policy_may_load(a->pol, uid, gids, n_gids);
	pthread_mutex_unlock(&a->lock);
	return ok;
}

void acm_stats(struct acm *a, struct acm_stats *out)
{
	pthread_mutex_lock(&a->lock);
	*out = a->st;
	pthread_mutex_unlock(&a->lock);
}

void acm_cache_flush(struct acm *a)
{
	pthread_mutex_lock(&a->lock);
	acm_cache_clear(&a->cache);
	a->st.flushes++;
	pthread_mutex_unlock(&a->lock);
}

// SPDX-License-Identifier: Apache-2.0
/*
 * The reference monitor: the installed policy, live domains and their Chinese Wall
 * reservations, atomic policy switch and dry run. One lock guards all of it, so no
 * decision ever sees half of a switch.
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct acm *acm_new(const struct acm_trust *trust, unsigned int cache_slots)
{
	struct acm *a;

	if (!trust || trust->n_keys == 0 || trust->n_keys > ACM_MAX_KEYS)
		return NULL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->trust = *trust;
	if (a->trust.threshold == 0)
		a->trust.threshold = 1;
	a->gen = 1;
	a->rl.burst = 5;
	a->rl.window_ns = 1000000000ULL;
	a->doms = calloc(ACM_DOMID_MAX + 1, sizeof(*a->doms));
	if (!a->doms)
		goto out_free;
	if (acm_cache_init(&a->cache, cache_slots))
		goto out_doms;
	if (pthread_mutex_init(&a->lock, NULL))
		goto out_cache;
	return a;
out_cache:
	acm_cache_destroy(&a->cache);
out_doms:
	free(a->doms);
out_free:
	free(a);
	return NULL;
}

void acm_free(struct acm *a)
{
	if (!a)
		return;
	pthread_mutex_destroy(&a->lock);
	acm_cache_destroy(&a->cache);
	acm_policy_free(a->pol);
	free(a->cw_count);
	free(a->label_live);
	free(a->doms);
	free(a);
}

void acm_set_version_floor(struct acm *a, uint64_t version)
{
	pthread_mutex_lock(&a->lock);
	if (version > a->floor)
		a->floor = version;
	pthread_mutex_unlock(&a->lock);
}

bool acm_current(struct acm *a, uint64_t *version, uint8_t hash[ACM_HASH_LEN])
{
	bool have;

	pthread_mutex_lock(&a->lock);
	have = a->pol != NULL;
	if (version)
		*version = a->version;
	if (hash)
		memcpy(hash, a->hash, ACM_HASH_LEN);
	pthread_mutex_unlock(&a->lock);
	return have;
}

static bool live(const struct acm_dom *d)
{
	return d->state != ACM_DOM_FREE;
}

/*
 * Maps every live domain's label (by name) into pol and counts CW types and labels.
 * Returns 0, or the first problem as -EBUSY with err set when out/max is NULL;
 * otherwise records every problem as violations.
 */
static int remap_domains(const struct acm *a, const struct acm_policy *pol, uint32_t *map,
			 uint32_t *cw_count, uint32_t *label_live, struct acm_violation *out,
			 size_t max, size_t *n, struct acm_error *err)
{
	int ret = 0;

	for (uint32_t id = 0; id <= ACM_DOMID_MAX; id++) {
		const char *name;

		if (!live(&a->doms[id]))
			continue;
		name = a->pol->labels[a->doms[id].label].name;
		if (acm_policy_label_find(pol, name, &map[id])) {
			map[id] = UINT32_MAX;
			acm_errf(err, "policy refused: running domain %u has label %s, which the "
				      "new policy lacks", id, name);
			if (n) {
				if (*n < max)
					out[*n] = (struct acm_violation){ .kind = ACM_V_LABEL_GONE,
									  .domid = id };
				if (*n < max)
					snprintf(out[*n].reason, sizeof(out[*n].reason),
						 "label %s is not in the new policy", name);
				(*n)++;
			}
			ret = -EBUSY;
			continue;
		}
		label_live[map[id]]++;
		for (uint32_t j = 0; j < pol->labels[map[id]].n_cw; j++)
			cw_count[pol->labels[map[id]].cw[j]]++;
	}
	for (uint32_t id = 0; id <= ACM_DOMID_MAX; id++) {
		const struct acm_label *l;

		if (!live(&a->doms[id]) || map[id] == UINT32_MAX)
			continue;
		l = &pol->labels[map[id]];
		for (uint32_t t = 0; t < pol->n_cw; t++) {
			if (!acm_set_has(&l->cw_conflicts, t) || !cw_count[t])
				continue;
			acm_errf(err, "policy refused: running domain %u (label %s) would be in a "
				      "Chinese Wall conflict on type %s", id, l->name, pol->cw[t]);
			if (n) {
				if (*n < max) {
					out[*n] = (struct acm_violation){ .kind = ACM_V_WALL,
									  .domid = id };
					snprintf(out[*n].reason, sizeof(out[*n].reason),
						 "label %s conflicts with running type %s",
						 l->name, pol->cw[t]);
				}
				(*n)++;
			}
			ret = -EBUSY;
			break;
		}
	}
	return ret;
}

int acm_bundle_open(struct acm *a, const uint8_t *buf, size_t len, struct acm_policy **pol,
		    struct acm_bundle_info *info, struct acm_error *err)
{
	uint8_t hash[ACM_HASH_LEN];
	const uint8_t *payload;
	size_t plen;
	uint64_t min;
	bool have;
	int ret;

	pthread_mutex_lock(&a->lock);
	have = a->pol != NULL;
	min = a->version > a->floor ? a->version : a->floor;
	memcpy(hash, a->hash, sizeof(hash));
	pthread_mutex_unlock(&a->lock);
	ret = acm_bundle_verify(&a->trust, buf, len, min, have ? hash : NULL, info, &payload,
				&plen, err);
	if (!ret) {
		*pol = acm_policy_decode(payload, plen, err);
		if (!*pol)
			ret = -EINVAL;
	}
	if (ret) {
		pthread_mutex_lock(&a->lock);
		a->st.loads_refused++;
		pthread_mutex_unlock(&a->lock);
	}
	return ret;
}

int acm_dry_run(struct acm *a, const struct acm_policy *pol, const struct acm_binding *b,
		size_t n_b, struct acm_violation *out, size_t max, size_t *n)
{
	uint32_t *map = calloc(ACM_DOMID_MAX + 1, sizeof(uint32_t));
	uint32_t *cw = calloc(pol->n_cw + 1, sizeof(uint32_t));
	uint32_t *lv = calloc(pol->n_labels + 1, sizeof(uint32_t));
	int ret = -ENOMEM;

	*n = 0;
	if (!map || !cw || !lv)
		goto out_free;
	pthread_mutex_lock(&a->lock);
	if (a->pol)
		remap_domains(a, pol, map, cw, lv, out, max, n, NULL);
	for (size_t i = 0; i < n_b; i++) {
		struct acm_decision d = { 0 };
		const char *why;

		if (b[i].subject > ACM_DOMID_MAX || b[i].object > ACM_DOMID_MAX ||
		    !a->pol || !live(&a->doms[b[i].subject]) || !live(&a->doms[b[i].object]))
			why = "a domain of the binding is not running";
		else if (map[b[i].subject] == UINT32_MAX || map[b[i].object] == UINT32_MAX)
			why = "a domain of the binding loses its label";
		else
			why = NULL;
		if (!why) {
			acm_policy_decide(pol, map[b[i].subject], map[b[i].object], b[i].op,
					  b[i].port, &d);
			if (d.allow)
				continue;
			why = acm_reason_name(d.reason);
		}
		if (*n < max) {
			out[*n] = (struct acm_violation){ .kind = ACM_V_BINDING, .index = i,
							  .domid = b[i].subject };
			snprintf(out[*n].reason, sizeof(out[*n].reason), "%s from %u to %u: %s",
				 acm_op_name(b[i].op), b[i].subject, b[i].object, why);
		}
		(*n)++;
	}
	pthread_mutex_unlock(&a->lock);
	ret = 0;
out_free:
	free(lv);
	free(cw);
	free(map);
	return ret;
}

int acm_commit(struct acm *a, struct acm_policy *pol, const struct acm_bundle_info *info,
	       struct acm_error *err)
{
	uint32_t *map = calloc(ACM_DOMID_MAX + 1, sizeof(uint32_t));
	uint32_t *cw = calloc(pol->n_cw + 1, sizeof(uint32_t));
	uint32_t *lv = calloc(pol->n_labels + 1, sizeof(uint32_t));
	uint8_t hash[ACM_HASH_LEN];
	int ret = -ENOMEM;

	if (!map || !cw || !lv)
		goto out_free;
	if (info)
		memcpy(hash, info->hash, sizeof(hash));
	else if ((ret = acm_policy_hash(pol, hash)))
		goto out_free;
	pthread_mutex_lock(&a->lock);
	/* Recheck under the lock: another load may have won since acm_bundle_open. */
	if (info && (info->version <= a->version || info->version <= a->floor)) {
		acm_errf(err, "bundle refused: version %llu is not newer than %llu (rollback)",
			 (unsigned long long)info->version,
			 (unsigned long long)(a->version > a->floor ? a->version : a->floor));
		ret = -ESTALE;
	} else if (info && a->pol && memcmp(info->prev_hash, a->hash, ACM_HASH_LEN)) {
		acm_errf(err, "bundle refused: it does not replace the current policy");
		ret = -EXDEV;
	} else {
		ret = a->pol ? remap_domains(a, pol, map, cw, lv, NULL, 0, NULL, err) : 0;
	}
	if (ret) {
		a->st.loads_refused++;
		pthread_mutex_unlock(&a->lock);
		goto out_free;
	}
	for (uint32_t id = 0; id <= ACM_DOMID_MAX; id++)
		if (live(&a->doms[id]))
			a->doms[id].label = map[id];
	acm_policy_free(a->pol);
	free(a->cw_count);
	free(a->label_live);
	a->pol = pol;
	a->cw_count = cw;
	a->label_live = lv;
	a->version = info ? info->version : a->version + 1;
	memcpy(a->hash, hash, sizeof(hash));
	/* The generation tags cache entries: bumping it flushes the cache atomically. */
	a->gen++;
	if ((uint32_t)a->gen == 0) {
		a->gen++;
		acm_cache_clear(&a->cache);
	}
	a->st.loads++;
	a->st.flushes++;
	pthread_mutex_unlock(&a->lock);
	cw = NULL;
	lv = NULL;
out_free:
	free(lv);
	free(cw);
	free(map);
	return ret;
}

int acm_load_bundle(struct acm *a, const uint8_t *buf, size_t len, struct acm_error *err)
{
	struct acm_bundle_info info;
	struct acm_policy *pol = NULL;
	int ret = acm_bundle_open(a, buf, len, &pol, &info, err);

	if (ret)
		return ret;
	ret = acm_commit(a, pol, &info, err);
	if (ret)
		acm_policy_free(pol);
	return ret;
}

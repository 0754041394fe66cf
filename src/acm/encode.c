// SPDX-License-Identifier: Apache-2.0
/*
 * The canonical binary form of a policy (layout in docs/acm.md). Decoding accepts only
 * canonical input, so every policy has exactly one encoding and one hash.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t pol_magic[8] = { 'B', 'W', 'A', 'C', 'M', 'P', 'O', 'L' };
#define POL_FORMAT 1

struct wbuf {
	uint8_t *p;
	size_t len, cap;
	bool fail;
};

static void put(struct wbuf *w, const void *src, size_t n)
{
	if (w->fail)
		return;
	if (w->len + n > ACM_POLICY_MAX) {
		w->fail = true;
		return;
	}
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 4096;
		uint8_t *p;

		while (cap < w->len + n)
			cap *= 2;
		p = realloc(w->p, cap);
		if (!p) {
			w->fail = true;
			return;
		}
		w->p = p;
		w->cap = cap;
	}
	memcpy(w->p + w->len, src, n);
	w->len += n;
}

static void put8(struct wbuf *w, uint8_t v)
{
	put(w, &v, 1);
}

static void put32(struct wbuf *w, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	put(w, b, 4);
}

static void put64(struct wbuf *w, uint64_t v)
{
	put32(w, (uint32_t)v);
	put32(w, (uint32_t)(v >> 32));
}

static void put_name(struct wbuf *w, const char *s)
{
	size_t n = strlen(s);

	put8(w, (uint8_t)n);
	put(w, s, n);
}

static void put_list(struct wbuf *w, const uint32_t *v, uint32_t n)
{
	put32(w, n);
	for (uint32_t i = 0; i < n; i++)
		put32(w, v[i]);
}

int acm_policy_encode(const struct acm_policy *pol, uint8_t **out, size_t *len)
{
	struct wbuf w = { 0 };

	put(&w, pol_magic, sizeof(pol_magic));
	put32(&w, POL_FORMAT);
	put_name(&w, pol->name);
	put32(&w, pol->host_cpus);
	put64(&w, pol->host_memory);
	put32(&w, pol->n_ste);
	for (uint32_t i = 0; i < pol->n_ste; i++)
		put_name(&w, pol->ste[i]);
	put32(&w, pol->n_cw);
	for (uint32_t i = 0; i < pol->n_cw; i++)
		put_name(&w, pol->cw[i]);
	put32(&w, pol->n_conflicts);
	for (uint32_t i = 0; i < pol->n_conflicts; i++) {
		put_name(&w, pol->conflicts[i].name);
		put_list(&w, pol->conflicts[i].types, pol->conflicts[i].n);
	}
	put32(&w, pol->n_labels);
	for (uint32_t i = 0; i < pol->n_labels; i++) {
		const struct acm_label *l = &pol->labels[i];

		put_name(&w, l->name);
		put_list(&w, l->ste, l->n_ste);
		put_list(&w, l->cw, l->n_cw);
		put32(&w, l->limits.vcpus);
		put64(&w, l->limits.memory);
		put32(&w, l->limits.cpu_pct);
		put64(&w, l->limits.io_read);
		put64(&w, l->limits.io_write);
		put32(&w, l->n_images);
		for (uint32_t j = 0; j < l->n_images; j++)
			put(&w, &l->images[j], sizeof(l->images[j]));
	}
	put32(&w, pol->n_rules);
	for (uint32_t i = 0; i < pol->n_rules; i++) {
		const struct acm_rule *r = &pol->rules[i];

		put32(&w, r->subj_type);
		put32(&w, r->obj_type);
		put8(&w, r->op);
		put8(&w, r->audit);
		put32(&w, r->port_lo);
		put32(&w, r->port_hi);
	}
	put32(&w, pol->n_roles);
	for (uint32_t i = 0; i < pol->n_roles; i++) {
		const struct acm_role *r = &pol->roles[i];

		put_name(&w, r->name);
		put_list(&w, r->uids, r->n_uids);
		put_list(&w, r->gids, r->n_gids);
		put32(&w, r->n_grants);
		for (uint32_t j = 0; j < r->n_grants; j++) {
			put8(&w, r->grants[j].op);
			put32(&w, r->grants[j].label);
		}
	}
	if (w.fail) {
		free(w.p);
		return w.len + 1 > ACM_POLICY_MAX ? -EFBIG : -ENOMEM;
	}
	*out = w.p;
	*len = w.len;
	return 0;
}

int acm_policy_hash(const struct acm_policy *pol, uint8_t out[ACM_HASH_LEN])
{
	uint8_t *buf;
	size_t len;
	int ret = acm_policy_encode(pol, &buf, &len);

	if (ret)
		return ret;
	ret = acm_sha256(buf, len, out);
	free(buf);
	return ret;
}

struct rbuf {
	const uint8_t *p;
	size_t len, off;
	struct acm_error *err;
	const char *what;      /* first failure, for the message */
};

static bool get(struct rbuf *r, void *dst, size_t n, const char *what)
{
	if (r->what)
		return false;
	if (r->len - r->off < n) {
		r->what = what;
		return false;
	}
	memcpy(dst, r->p + r->off, n);
	r->off += n;
	return true;
}

static bool bad(struct rbuf *r, const char *what)
{
	if (!r->what)
		r->what = what;
	return false;
}

static bool get8(struct rbuf *r, uint8_t *v, const char *what)
{
	return get(r, v, 1, what);
}

static bool get32(struct rbuf *r, uint32_t *v, const char *what)
{
	uint8_t b[4];

	if (!get(r, b, 4, what))
		return false;
	*v = b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	return true;
}

static bool get64(struct rbuf *r, uint64_t *v, const char *what)
{
	uint32_t lo, hi;

	if (!get32(r, &lo, what) || !get32(r, &hi, what))
		return false;
	*v = lo | (uint64_t)hi << 32;
	return true;
}

static bool get_name(struct rbuf *r, char *out, const char *what)
{
	uint8_t n;

	if (!get8(r, &n, what))
		return false;
	if (n == 0 || n > ACM_NAME_MAX)
		return bad(r, what);
	if (!get(r, out, n, what))
		return false;
	out[n] = '\0';
	/* An embedded NUL would make two encodings of one name. */
	return strlen(out) == n && acm_name_valid(out) ? true : bad(r, what);
}

/* A count whose elements take at least min bytes each must fit in what is left. */
static bool get_count(struct rbuf *r, uint32_t *n, uint32_t max, size_t min, const char *what)
{
	if (!get32(r, n, what))
		return false;
	if (*n > max || (size_t)*n > (r->len - r->off) / min)
		return bad(r, what);
	return true;
}

static void *alloc_n(struct rbuf *r, uint32_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p)
		bad(r, "out of memory");
	return p;
}

/* A strictly increasing list of indices below limit. */
static bool get_list(struct rbuf *r, uint32_t **out, uint32_t *n, uint32_t max, uint32_t limit,
		     const char *what)
{
	if (!get_count(r, n, max, 4, what))
		return false;
	*out = alloc_n(r, *n, sizeof(uint32_t));
	if (!*out)
		return false;
	for (uint32_t i = 0; i < *n; i++) {
		if (!get32(r, &(*out)[i], what))
			return false;
		if ((*out)[i] >= limit || (i && (*out)[i] <= (*out)[i - 1]))
			return bad(r, what);
	}
	return true;
}

static bool get_names(struct rbuf *r, char (**out)[ACM_NAME_MAX + 1], uint32_t *n,
		      const char *what)
{
	if (!get_count(r, n, ACM_MAX_TYPES, 2, what))
		return false;
	*out = alloc_n(r, *n, ACM_NAME_MAX + 1);
	if (!*out)
		return false;
	for (uint32_t i = 0; i < *n; i++) {
		if (!get_name(r, (*out)[i], what))
			return false;
		if (i && strcmp((*out)[i - 1], (*out)[i]) >= 0)
			return bad(r, what);
	}
	return true;
}

static bool get_label(struct rbuf *r, const struct acm_policy *pol, struct acm_label *l)
{
	if (!get_name(r, l->name, "label name") ||
	    !get_list(r, &l->ste, &l->n_ste, ACM_MAX_TYPES, pol->n_ste, "label STE types") ||
	    !get_list(r, &l->cw, &l->n_cw, ACM_MAX_TYPES, pol->n_cw, "label CW types") ||
	    !get32(r, &l->limits.vcpus, "label limits") ||
	    !get64(r, &l->limits.memory, "label limits") ||
	    !get32(r, &l->limits.cpu_pct, "label limits") ||
	    !get64(r, &l->limits.io_read, "label limits") ||
	    !get64(r, &l->limits.io_write, "label limits") ||
	    !get_count(r, &l->n_images, ACM_MAX_IMAGES, sizeof(struct acm_image), "images"))
		return false;
	l->images = alloc_n(r, l->n_images, sizeof(*l->images));
	if (!l->images)
		return false;
	for (uint32_t j = 0; j < l->n_images; j++) {
		if (!get(r, &l->images[j], sizeof(l->images[j]), "images"))
			return false;
		if (j && memcmp(&l->images[j - 1], &l->images[j], sizeof(l->images[j])) >= 0)
			return bad(r, "images (order)");
	}
	return true;
}

static bool get_rule(struct rbuf *r, const struct acm_policy *pol, uint32_t i)
{
	struct acm_rule *x = &pol->rules[i];

	if (!get32(r, &x->subj_type, "rule") || !get32(r, &x->obj_type, "rule") ||
	    !get8(r, &x->op, "rule") || !get8(r, &x->audit, "rule") ||
	    !get32(r, &x->port_lo, "rule") || !get32(r, &x->port_hi, "rule"))
		return false;
	if (x->subj_type >= pol->n_ste || x->obj_type >= pol->n_ste || x->op >= ACM_OP_COUNT ||
	    x->audit > 1 || x->port_lo > x->port_hi)
		return bad(r, "rule (field out of range)");
	if (x->op != ACM_OP_VSOCK_CONNECT && (x->port_lo != 0 || x->port_hi != ACM_PORT_MAX))
		return bad(r, "rule (ports on a non-vsock rule)");
	if (i && acm_rule_cmp(&pol->rules[i - 1], x) >= 0)
		return bad(r, "rules (order)");
	return true;
}

static bool get_role(struct rbuf *r, const struct acm_policy *pol, struct acm_role *x)
{
	if (!get_name(r, x->name, "role name") ||
	    !get_list(r, &x->uids, &x->n_uids, ACM_MAX_IDS, UINT32_MAX, "role uids") ||
	    !get_list(r, &x->gids, &x->n_gids, ACM_MAX_IDS, UINT32_MAX, "role gids") ||
	    !get_count(r, &x->n_grants, ACM_MAX_LABELS * ACM_ADMIN_COUNT, 5, "role grants"))
		return false;
	x->grants = alloc_n(r, x->n_grants, sizeof(*x->grants));
	if (!x->grants)
		return false;
	for (uint32_t j = 0; j < x->n_grants; j++) {
		struct acm_grant *g = &x->grants[j];

		if (!get8(r, &g->op, "role grants") || !get32(r, &g->label, "role grants"))
			return false;
		if (g->op >= ACM_ADMIN_COUNT || (g->label >= pol->n_labels && g->label != ACM_ANY_LABEL))
			return bad(r, "role grants (out of range)");
		if (g->op == ACM_ADMIN_LOAD_POLICY && g->label != ACM_ANY_LABEL)
			return bad(r, "role grants (load_policy with a label)");
		if (j && (x->grants[j - 1].op > g->op ||
			  (x->grants[j - 1].op == g->op && x->grants[j - 1].label >= g->label)))
			return bad(r, "role grants (order)");
	}
	return true;
}

static bool decode_body(struct rbuf *r, struct acm_policy *pol)
{
	uint8_t magic[8];
	uint32_t fmt;

	if (!get(r, magic, sizeof(magic), "magic") || memcmp(magic, pol_magic, sizeof(magic)))
		return bad(r, "magic (not a compiled bulwark policy)");
	if (!get32(r, &fmt, "format") || fmt != POL_FORMAT)
		return bad(r, "format version (this build reads version 1)");
	if (!get_name(r, pol->name, "policy name") || !get32(r, &pol->host_cpus, "host") ||
	    !get64(r, &pol->host_memory, "host") ||
	    !get_names(r, &pol->ste, &pol->n_ste, "STE type names") ||
	    !get_names(r, &pol->cw, &pol->n_cw, "CW type names") ||
	    !get_count(r, &pol->n_conflicts, ACM_MAX_TYPES, 6, "conflict sets"))
		return false;
	pol->conflicts = alloc_n(r, pol->n_conflicts, sizeof(*pol->conflicts));
	if (!pol->conflicts)
		return false;
	for (uint32_t i = 0; i < pol->n_conflicts; i++) {
		struct acm_conflict *c = &pol->conflicts[i];

		if (!get_name(r, c->name, "conflict set") ||
		    !get_list(r, &c->types, &c->n, ACM_MAX_TYPES, pol->n_cw, "conflict set types"))
			return false;
		if (i && strcmp(pol->conflicts[i - 1].name, c->name) >= 0)
			return bad(r, "conflict sets (order)");
	}
	/* Smallest label: 1-char name (2) + type counts (8) + limits (32) + image count (4). */
	if (!get_count(r, &pol->n_labels, ACM_MAX_LABELS, 46, "labels"))
		return false;
	pol->labels = alloc_n(r, pol->n_labels, sizeof(*pol->labels));
	if (!pol->labels)
		return false;
	for (uint32_t i = 0; i < pol->n_labels; i++) {
		if (!get_label(r, pol, &pol->labels[i]))
			return false;
		if (i && strcmp(pol->labels[i - 1].name, pol->labels[i].name) >= 0)
			return bad(r, "labels (order)");
	}
	if (!get_count(r, &pol->n_rules, ACM_MAX_RULES, 18, "rules"))
		return false;
	pol->rules = alloc_n(r, pol->n_rules, sizeof(*pol->rules));
	if (!pol->rules)
		return false;
	for (uint32_t i = 0; i < pol->n_rules; i++)
		if (!get_rule(r, pol, i))
			return false;
	if (!get_count(r, &pol->n_roles, ACM_MAX_ROLES, 14, "roles"))
		return false;
	pol->roles = alloc_n(r, pol->n_roles, sizeof(*pol->roles));
	if (!pol->roles)
		return false;
	for (uint32_t i = 0; i < pol->n_roles; i++) {
		if (!get_role(r, pol, &pol->roles[i]))
			return false;
		if (i && strcmp(pol->roles[i - 1].name, pol->roles[i].name) >= 0)
			return bad(r, "roles (order)");
	}
	if (r->off != r->len)
		return bad(r, "trailing bytes");
	return true;
}

struct acm_policy *acm_policy_decode(const uint8_t *buf, size_t len, struct acm_error *err)
{
	struct rbuf r = { .p = buf, .len = len, .err = err };
	struct acm_policy *pol;

	if (len > ACM_POLICY_MAX) {
		acm_errf(err, "compiled policy: larger than %u bytes", ACM_POLICY_MAX);
		return NULL;
	}
	pol = calloc(1, sizeof(*pol));
	if (!pol) {
		acm_errf(err, "compiled policy: out of memory");
		return NULL;
	}
	if (!decode_body(&r, pol)) {
		acm_errf(err, "compiled policy: bad or truncated %s at byte %zu", r.what, r.off);
		goto out_free;
	}
	if (acm_policy_derive(pol, "compiled policy", err))
		goto out_free;
	return pol;
out_free:
	acm_policy_free(pol);
	return NULL;
}

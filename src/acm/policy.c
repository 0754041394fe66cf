// SPDX-License-Identifier: Apache-2.0
/*
 * The in-memory policy: canonical ordering, semantic validation, derived indices,
 * accessors. Both the text parser and the binary decoder end here.
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const op_names[ACM_OP_COUNT] = {
	[ACM_OP_EVTCHN_BIND] = "evtchn_bind",
	[ACM_OP_GRANT_MAP_READ] = "grant_map_read",
	[ACM_OP_GRANT_MAP_WRITE] = "grant_map_write",
	[ACM_OP_GRANT_COPY] = "grant_copy",
	[ACM_OP_VSOCK_CONNECT] = "vsock_connect",
	[ACM_OP_BLOCK_SHARE] = "block_share",
	[ACM_OP_INTROSPECT] = "introspect",
	[ACM_OP_MANAGE] = "manage",
};

static const char *const admin_names[ACM_ADMIN_COUNT] = {
	[ACM_ADMIN_CREATE] = "create",
	[ACM_ADMIN_MANAGE] = "manage",
	[ACM_ADMIN_INTROSPECT] = "introspect",
	[ACM_ADMIN_LOAD_POLICY] = "load_policy",
};

static const char *const reason_names[ACM_R_COUNT] = {
	[ACM_R_RULE] = "rule",
	[ACM_R_NO_POLICY] = "no policy loaded",
	[ACM_R_NO_SUBJECT] = "subject domain not running",
	[ACM_R_NO_OBJECT] = "object domain not running",
	[ACM_R_NO_SHARED_TYPE] = "labels share no STE type",
	[ACM_R_DEFAULT_DENY] = "default deny",
};

const char *acm_op_name(enum acm_op op)
{
	return (unsigned int)op < ACM_OP_COUNT ? op_names[op] : "?";
}

int acm_op_from_name(const char *name, enum acm_op *op)
{
	for (unsigned int i = 0; i < ACM_OP_COUNT; i++) {
		if (strcmp(name, op_names[i]) == 0) {
			*op = (enum acm_op)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *acm_admin_op_name(enum acm_admin_op op)
{
	return (unsigned int)op < ACM_ADMIN_COUNT ? admin_names[op] : "?";
}

const char *acm_reason_name(enum acm_reason r)
{
	return (unsigned int)r < ACM_R_COUNT ? reason_names[r] : "?";
}

void acm_errf(struct acm_error *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

void acm_errat(struct acm_error *err, const char *fname, uint32_t line, uint32_t col,
	       const char *fmt, ...)
{
	char what[256];
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (line)
		snprintf(err->msg, sizeof(err->msg), "%s:%u:%u: %s", fname, line, col, what);
	else
		snprintf(err->msg, sizeof(err->msg), "%s: %s", fname, what);
}

bool acm_name_valid(const char *s)
{
	size_t n = 0;

	if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return false;
	for (; s[n]; n++) {
		char c = s[n];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	return n <= ACM_NAME_MAX;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static int label_cmp(const void *a, const void *b)
{
	return strcmp(((const struct acm_label *)a)->name, ((const struct acm_label *)b)->name);
}

int acm_rule_cmp(const void *a, const void *b)
{
	const struct acm_rule *x = a, *y = b;

	if (x->op != y->op)
		return x->op < y->op ? -1 : 1;
	if (x->subj_type != y->subj_type)
		return x->subj_type < y->subj_type ? -1 : 1;
	if (x->obj_type != y->obj_type)
		return x->obj_type < y->obj_type ? -1 : 1;
	if (x->port_lo != y->port_lo)
		return x->port_lo < y->port_lo ? -1 : 1;
	if (x->port_hi != y->port_hi)
		return x->port_hi < y->port_hi ? -1 : 1;
	return (x->audit > y->audit) - (x->audit < y->audit);
}

static int image_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct acm_image));
}

static int grant_cmp(const void *a, const void *b)
{
	const struct acm_grant *x = a, *y = b;

	if (x->op != y->op)
		return x->op < y->op ? -1 : 1;
	return (x->label > y->label) - (x->label < y->label);
}

static int conflict_cmp(const void *a, const void *b)
{
	return strcmp(((const struct acm_conflict *)a)->name,
		      ((const struct acm_conflict *)b)->name);
}

static int role_cmp(const void *a, const void *b)
{
	return strcmp(((const struct acm_role *)a)->name, ((const struct acm_role *)b)->name);
}

/* qsort that accepts an empty (possibly NULL) array. */
static void sort(void *base, uint32_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

/* Sorts and removes duplicates; returns the new count. */
static uint32_t sort_unique(void *base, uint32_t n, size_t size,
			    int (*cmp)(const void *, const void *))
{
	uint8_t *p = base;
	uint32_t out = 0;

	if (n == 0)
		return 0;
	sort(base, n, size, cmp);
	for (uint32_t i = 1; i < n; i++) {
		if (cmp(p + out * size, p + i * size) != 0) {
			out++;
			if (out != i)
				memcpy(p + out * size, p + i * size, size);
		}
	}
	return out + 1;
}

/* Sorts a name table; map[old] = new. */
static int sort_names(char (*names)[ACM_NAME_MAX + 1], uint32_t n, uint32_t *map)
{
	uint32_t *order = calloc(n ? n : 1, sizeof(*order));
	char (*tmp)[ACM_NAME_MAX + 1] = calloc(n ? n : 1, sizeof(*tmp));
	int ret = -ENOMEM;

	if (!order || !tmp)
		goto out_free;
	ret = 0;
	if (n == 0)
		goto out_free;
	for (uint32_t i = 0; i < n; i++)
		order[i] = i;
	/* Insertion sort on indices keeps this simple; names are unique, n <= 1024. */
	for (uint32_t i = 1; i < n; i++) {
		uint32_t v = order[i], j = i;

		while (j > 0 && strcmp(names[order[j - 1]], names[v]) > 0) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = v;
	}
	for (uint32_t i = 0; i < n; i++) {
		memcpy(tmp[i], names[order[i]], sizeof(tmp[i]));
		map[order[i]] = i;
	}
	memcpy(names, tmp, n * sizeof(*tmp));
out_free:
	free(tmp);
	free(order);
	return ret;
}

static void remap(uint32_t *v, uint32_t n, const uint32_t *map)
{
	for (uint32_t i = 0; i < n; i++)
		v[i] = map[v[i]];
}

int acm_policy_finish(struct acm_policy *pol, const char *fname, struct acm_error *err)
{
	uint32_t *ste_map = calloc(pol->n_ste + 1, sizeof(uint32_t));
	uint32_t *cw_map = calloc(pol->n_cw + 1, sizeof(uint32_t));
	uint32_t *label_map = calloc(pol->n_labels + 1, sizeof(uint32_t));
	char (*old_names)[ACM_NAME_MAX + 1] = calloc(pol->n_labels + 1, ACM_NAME_MAX + 1);
	int ret = -ENOMEM;

	if (!ste_map || !cw_map || !label_map || !old_names)
		goto out_free;
	if (sort_names(pol->ste, pol->n_ste, ste_map) || sort_names(pol->cw, pol->n_cw, cw_map))
		goto out_free;
	for (uint32_t i = 0; i < pol->n_labels; i++)
		memcpy(old_names[i], pol->labels[i].name, sizeof(old_names[i]));
	sort(pol->labels, pol->n_labels, sizeof(*pol->labels), label_cmp);
	for (uint32_t i = 0; i < pol->n_labels; i++) {
		uint32_t j;

		/* Label names are unique (the parser checks), so lookup is exact. */
		for (j = 0; j < pol->n_labels; j++)
			if (strcmp(pol->labels[j].name, old_names[i]) == 0)
				break;
		label_map[i] = j;
	}
	for (uint32_t i = 0; i < pol->n_labels; i++) {
		struct acm_label *l = &pol->labels[i];

		remap(l->ste, l->n_ste, ste_map);
		remap(l->cw, l->n_cw, cw_map);
		l->n_ste = sort_unique(l->ste, l->n_ste, sizeof(uint32_t), cmp_u32);
		l->n_cw = sort_unique(l->cw, l->n_cw, sizeof(uint32_t), cmp_u32);
		l->n_images = sort_unique(l->images, l->n_images, sizeof(*l->images), image_cmp);
	}
	for (uint32_t i = 0; i < pol->n_conflicts; i++) {
		struct acm_conflict *c = &pol->conflicts[i];

		remap(c->types, c->n, cw_map);
		c->n = sort_unique(c->types, c->n, sizeof(uint32_t), cmp_u32);
	}
	sort(pol->conflicts, pol->n_conflicts, sizeof(*pol->conflicts), conflict_cmp);
	for (uint32_t i = 0; i < pol->n_rules; i++) {
		pol->rules[i].subj_type = ste_map[pol->rules[i].subj_type];
		pol->rules[i].obj_type = ste_map[pol->rules[i].obj_type];
	}
	pol->n_rules = sort_unique(pol->rules, pol->n_rules, sizeof(*pol->rules), acm_rule_cmp);
	for (uint32_t i = 0; i < pol->n_roles; i++) {
		struct acm_role *r = &pol->roles[i];

		for (uint32_t j = 0; j < r->n_grants; j++)
			if (r->grants[j].label != ACM_ANY_LABEL)
				r->grants[j].label = label_map[r->grants[j].label];
		r->n_uids = sort_unique(r->uids, r->n_uids, sizeof(uint32_t), cmp_u32);
		r->n_gids = sort_unique(r->gids, r->n_gids, sizeof(uint32_t), cmp_u32);
		r->n_grants = sort_unique(r->grants, r->n_grants, sizeof(*r->grants), grant_cmp);
	}
	sort(pol->roles, pol->n_roles, sizeof(*pol->roles), role_cmp);
	ret = acm_policy_derive(pol, fname, err);
out_free:
	if (ret == -ENOMEM)
		acm_errf(err, "out of memory");
	free(old_names);
	free(label_map);
	free(cw_map);
	free(ste_map);
	return ret;
}

static int check_label(const struct acm_policy *pol, const struct acm_label *l,
		       const char *fname, struct acm_error *err)
{
	const struct acm_limits *m = &l->limits;
	const char *why = NULL;

	if (m->vcpus == 0 || m->vcpus >= pol->host_cpus)
		why = "vcpus must be at least 1 and less than the host's cpus";
	else if (m->memory < (1u << 20) || m->memory >= pol->host_memory)
		why = "memory must be at least 1M and less than the host's memory";
	else if (m->cpu_pct == 0 || m->cpu_pct >= 100)
		why = "cpu must be between 1% and 99% (no domain may take the whole host)";
	else if (m->io_read == 0 || m->io_write == 0)
		why = "io_read and io_write must be above zero";
	if (why) {
		acm_errat(err, fname, l->line, 1, "label '%s': %s", l->name, why);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < l->n_images; i++) {
		if (l->images[i].kind >= ACM_IMAGE_KIND_COUNT || l->images[i].match > ACM_IMG_ED25519) {
			acm_errat(err, fname, l->line, 1, "label '%s': bad image rule", l->name);
			return -EINVAL;
		}
	}
	return 0;
}

int acm_policy_derive(struct acm_policy *pol, const char *fname, struct acm_error *err)
{
	if (pol->host_cpus < 2 || pol->host_memory < (2u << 20)) {
		acm_errat(err, fname, 0, 0, "host needs at least 2 cpus and 2M of memory");
		return -EINVAL;
	}
	for (uint32_t i = 0; i < pol->n_labels; i++) {
		struct acm_label *l = &pol->labels[i];
		int ret = check_label(pol, l, fname, err);

		if (ret)
			return ret;
		memset(&l->ste_set, 0, sizeof(l->ste_set));
		memset(&l->cw_set, 0, sizeof(l->cw_set));
		memset(&l->cw_conflicts, 0, sizeof(l->cw_conflicts));
		for (uint32_t j = 0; j < l->n_ste; j++)
			acm_set_add(&l->ste_set, l->ste[j]);
		for (uint32_t j = 0; j < l->n_cw; j++)
			acm_set_add(&l->cw_set, l->cw[j]);
	}
	for (uint32_t c = 0; c < pol->n_conflicts; c++) {
		const struct acm_conflict *cf = &pol->conflicts[c];

		if (cf->n < 2) {
			acm_errat(err, fname, cf->line, 1, "conflict set '%s' needs at least two types",
				  cf->name);
			return -EINVAL;
		}
		for (uint32_t i = 0; i < pol->n_labels; i++) {
			struct acm_label *l = &pol->labels[i];
			uint32_t held = 0;

			for (uint32_t j = 0; j < cf->n; j++)
				held += acm_set_has(&l->cw_set, cf->types[j]);
			if (held > 1) {
				acm_errat(err, fname, l->line, 1,
					  "label '%s' holds two types of conflict set '%s'", l->name,
					  cf->name);
				return -EINVAL;
			}
			if (held == 0)
				continue;
			for (uint32_t j = 0; j < cf->n; j++)
				if (!acm_set_has(&l->cw_set, cf->types[j]))
					acm_set_add(&l->cw_conflicts, cf->types[j]);
		}
	}
	for (unsigned int op = 0; op < ACM_OP_COUNT; op++) {
		free(pol->by_op[op]);
		pol->by_op[op] = calloc(pol->n_rules + 1, sizeof(uint32_t));
		pol->n_by_op[op] = 0;
		if (!pol->by_op[op]) {
			acm_errf(err, "out of memory");
			return -ENOMEM;
		}
	}
	for (uint32_t i = 0; i < pol->n_rules; i++) {
		const struct acm_rule *r = &pol->rules[i];

		pol->by_op[r->op][pol->n_by_op[r->op]++] = i;
	}
	return 0;
}

void acm_policy_free(struct acm_policy *pol)
{
	if (!pol)
		return;
	/* A decode that failed part-way may leave counts without arrays. */
	for (uint32_t i = 0; pol->labels && i < pol->n_labels; i++) {
		free(pol->labels[i].ste);
		free(pol->labels[i].cw);
		free(pol->labels[i].images);
	}
	for (uint32_t i = 0; pol->conflicts && i < pol->n_conflicts; i++)
		free(pol->conflicts[i].types);
	for (uint32_t i = 0; pol->roles && i < pol->n_roles; i++) {
		free(pol->roles[i].uids);
		free(pol->roles[i].gids);
		free(pol->roles[i].grants);
	}
	for (unsigned int op = 0; op < ACM_OP_COUNT; op++)
		free(pol->by_op[op]);
	free(pol->ste);
	free(pol->cw);
	free(pol->conflicts);
	free(pol->labels);
	free(pol->rules);
	free(pol->roles);
	free(pol);
}

const char *acm_policy_name(const struct acm_policy *pol)
{
	return pol->name;
}

uint32_t acm_policy_label_count(const struct acm_policy *pol)
{
	return pol->n_labels;
}

const char *acm_policy_label_name(const struct acm_policy *pol, uint32_t label)
{
	return label < pol->n_labels ? pol->labels[label].name : NULL;
}

int acm_policy_label_find(const struct acm_policy *pol, const char *name, uint32_t *label)
{
	uint32_t lo = 0, hi = pol->n_labels;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = strcmp(pol->labels[mid].name, name);

		if (c == 0) {
			*label = mid;
			return 0;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -ENOENT;
}

uint32_t acm_policy_rule_count(const struct acm_policy *pol)
{
	return pol->n_rules;
}

uint32_t acm_policy_rule_line(const struct acm_policy *pol, uint32_t rule)
{
	return rule < pol->n_rules ? pol->rules[rule].line : 0;
}

int acm_policy_rule_text(const struct acm_policy *pol, uint32_t rule, char *buf, size_t len)
{
	const struct acm_rule *r;
	char ports[32] = "";
	int n;

	if (rule >= pol->n_rules)
		return -ERANGE;
	r = &pol->rules[rule];
	if (r->op == ACM_OP_VSOCK_CONNECT) {
		if (r->port_lo == 0 && r->port_hi == ACM_PORT_MAX)
			snprintf(ports, sizeof(ports), " *");
		else if (r->port_lo == r->port_hi)
			snprintf(ports, sizeof(ports), " %u", r->port_lo);
		else
			snprintf(ports, sizeof(ports), " %u-%u", r->port_lo, r->port_hi);
	}
	n = snprintf(buf, len, "allow %s -> %s : %s%s%s;", pol->ste[r->subj_type],
		     pol->ste[r->obj_type], acm_op_name((enum acm_op)r->op), ports,
		     r->audit ? " audit" : "");
	return (n < 0 || (size_t)n >= len) ? -ENOSPC : 0;
}

int acm_policy_rule_get(const struct acm_policy *pol, uint32_t rule, struct acm_rule_info *out)
{
	const struct acm_rule *r;

	if (rule >= pol->n_rules)
		return -ERANGE;
	r = &pol->rules[rule];
	*out = (struct acm_rule_info){ .subject_type = pol->ste[r->subj_type],
				       .object_type = pol->ste[r->obj_type],
				       .op = (enum acm_op)r->op, .port_lo = r->port_lo,
				       .port_hi = r->port_hi, .audit = r->audit, .line = r->line };
	return 0;
}

bool acm_policy_labels_conflict(const struct acm_policy *pol, uint32_t a, uint32_t b)
{
	if (a >= pol->n_labels || b >= pol->n_labels)
		return false;
	return acm_set_meets(&pol->labels[a].cw_conflicts, &pol->labels[b].cw_set);
}

uint32_t acm_policy_role_count(const struct acm_policy *pol)
{
	return pol->n_roles;
}

int acm_policy_role_members(const struct acm_policy *pol, uint32_t role, const uint32_t **uids,
			    uint32_t *n_uids, const uint32_t **gids, uint32_t *n_gids)
{
	if (role >= pol->n_roles)
		return -ERANGE;
	*uids = pol->roles[role].uids;
	*n_uids = pol->roles[role].n_uids;
	*gids = pol->roles[role].gids;
	*n_gids = pol->roles[role].n_gids;
	return 0;
}

// SPDX-License-Identifier: Apache-2.0
/*
 * The canonical text form of a policy (what `show` prints) and the linter. The printed
 * text parses back to the same compiled policy.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sbuf {
	char *p;
	size_t len, cap;
	bool fail;
};

static void __attribute__((format(printf, 2, 3))) sbf(struct sbuf *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (s->fail)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(s->p ? s->p + s->len : NULL, s->p ? s->cap - s->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			s->fail = true;
			return;
		}
		if (s->p && (size_t)n < s->cap - s->len) {
			s->len += (size_t)n;
			return;
		}
		size_t cap = s->cap ? s->cap * 2 : 4096;
		char *p;

		while (cap < s->len + (size_t)n + 1)
			cap *= 2;
		p = realloc(s->p, cap);
		if (!p) {
			s->fail = true;
			return;
		}
		s->p = p;
		s->cap = cap;
	}
}

static void size_str(uint64_t v, char out[32])
{
	static const char units[] = "TGMK";
	static const int shifts[] = { 40, 30, 20, 10 };

	for (int i = 0; i < 4; i++) {
		if (v && (v & ((1ULL << shifts[i]) - 1)) == 0) {
			snprintf(out, 32, "%llu%c", (unsigned long long)(v >> shifts[i]), units[i]);
			return;
		}
	}
	snprintf(out, 32, "%llu", (unsigned long long)v);
}

static void name_list(struct sbuf *s, const char *kw, char (*names)[ACM_NAME_MAX + 1],
		      const uint32_t *idx, uint32_t n, const char *indent)
{
	if (!n)
		return;
	sbf(s, "%s%s ", indent, kw);
	for (uint32_t i = 0; i < n; i++)
		sbf(s, "%s%s", i ? ", " : "", names[idx ? idx[i] : i]);
	sbf(s, ";\n");
}

static void print_label(struct sbuf *s, const struct acm_policy *pol, const struct acm_label *l)
{
	char a[32], b[32];

	sbf(s, "\nlabel %s {\n", l->name);
	name_list(s, "ste", pol->ste, l->ste, l->n_ste, "\t");
	name_list(s, "cw", pol->cw, l->cw, l->n_cw, "\t");
	size_str(l->limits.memory, a);
	sbf(s, "\tvcpus %u;\n\tmemory %s;\n\tcpu %u%%;\n", l->limits.vcpus, a, l->limits.cpu_pct);
	size_str(l->limits.io_read, a);
	size_str(l->limits.io_write, b);
	sbf(s, "\tio_read %s;\n\tio_write %s;\n", a, b);
	for (uint32_t i = 0; i < l->n_images; i++) {
		const struct acm_image *img = &l->images[i];

		sbf(s, "\timage %s %s \"", img->kind == ACM_IMAGE_KERNEL ? "kernel" : "initrd",
		    img->match == ACM_IMG_SHA256 ? "sha256" : "ed25519");
		for (int j = 0; j < 32; j++)
			sbf(s, "%02x", img->data[j]);
		sbf(s, "\";\n");
	}
	sbf(s, "}\n");
}

static void print_role(struct sbuf *s, const struct acm_policy *pol, const struct acm_role *r)
{
	sbf(s, "\nrole %s {\n", r->name);
	for (int k = 0; k < 2; k++) {
		const uint32_t *v = k ? r->gids : r->uids;
		uint32_t n = k ? r->n_gids : r->n_uids;

		if (!n)
			continue;
		sbf(s, "\t%s ", k ? "gid" : "uid");
		for (uint32_t i = 0; i < n; i++)
			sbf(s, "%s%u", i ? ", " : "", v[i]);
		sbf(s, ";\n");
	}
	for (unsigned int op = 0; op < ACM_ADMIN_COUNT; op++) {
		bool first = true;

		if (op == ACM_ADMIN_LOAD_POLICY) {
			for (uint32_t i = 0; i < r->n_grants; i++)
				if (r->grants[i].op == op)
					sbf(s, "\tload_policy;\n");
			continue;
		}

		for (uint32_t i = 0; i < r->n_grants; i++) {
			const struct acm_grant *g = &r->grants[i];

			if (g->op != op)
				continue;
			sbf(s, "%s%s", first ? "\t" : ", ", first ? acm_admin_op_name(op) : "");
			sbf(s, "%s%s", first ? " " : "",
			    g->label == ACM_ANY_LABEL ? "*" : pol->labels[g->label].name);
			first = false;
		}
		if (!first)
			sbf(s, ";\n");
	}
	sbf(s, "}\n");
}

char *acm_policy_print(const struct acm_policy *pol)
{
	struct sbuf s = { 0 };
	char mem[32], text[256];

	size_str(pol->host_memory, mem);
	sbf(&s, "policy %s;\n\nhost {\n\tcpus %u;\n\tmemory %s;\n}\n\n", pol->name,
	    pol->host_cpus, mem);
	name_list(&s, "ste", pol->ste, NULL, pol->n_ste, "");
	name_list(&s, "cw", pol->cw, NULL, pol->n_cw, "");
	for (uint32_t i = 0; i < pol->n_conflicts; i++) {
		const struct acm_conflict *c = &pol->conflicts[i];

		sbf(&s, "conflict %s = ", c->name);
		for (uint32_t j = 0; j < c->n; j++)
			sbf(&s, "%s%s", j ? ", " : "", pol->cw[c->types[j]]);
		sbf(&s, ";\n");
	}
	for (uint32_t i = 0; i < pol->n_labels; i++)
		print_label(&s, pol, &pol->labels[i]);
	if (pol->n_rules)
		sbf(&s, "\n");
	for (uint32_t i = 0; i < pol->n_rules; i++) {
		if (acm_policy_rule_text(pol, i, text, sizeof(text)))
			s.fail = true;
		sbf(&s, "%s\n", text);
	}
	for (uint32_t i = 0; i < pol->n_roles; i++)
		print_role(&s, pol, &pol->roles[i]);
	if (s.fail) {
		free(s.p);
		return NULL;
	}
	return s.p;
}

/* Can the rule ever fire: some label pair with its types and a shared type? */
static bool rule_reachable(const struct acm_policy *pol, const struct acm_rule *r)
{
	for (uint32_t i = 0; i < pol->n_labels; i++) {
		const struct acm_label *s = &pol->labels[i];

		if (!acm_set_has(&s->ste_set, r->subj_type))
			continue;
		for (uint32_t j = 0; j < pol->n_labels; j++) {
			const struct acm_label *o = &pol->labels[j];

			if (acm_set_has(&o->ste_set, r->obj_type) &&
			    acm_set_meets(&s->ste_set, &o->ste_set))
				return true;
		}
	}
	return false;
}

unsigned int acm_policy_lint(const struct acm_policy *pol,
			     void (*warn)(void *ctx, const char *msg), void *ctx)
{
	unsigned int n = 0;
	char msg[384], text[256];

	for (uint32_t i = 0; i < pol->n_rules; i++) {
		if (rule_reachable(pol, &pol->rules[i]))
			continue;
		if (acm_policy_rule_text(pol, i, text, sizeof(text)))
			text[0] = '\0';
		snprintf(msg, sizeof(msg), "line %u: rule can never apply (no pair of labels with "
			 "these types shares an STE type): %s", pol->rules[i].line, text);
		warn(ctx, msg);
		n++;
	}
	for (uint32_t t = 0; t < pol->n_ste; t++) {
		bool used = false;

		for (uint32_t i = 0; !used && i < pol->n_labels; i++)
			used = acm_set_has(&pol->labels[i].ste_set, t);
		if (!used) {
			snprintf(msg, sizeof(msg), "STE type %s is given to no label", pol->ste[t]);
			warn(ctx, msg);
			n++;
		}
	}
	for (uint32_t i = 0; i < pol->n_labels; i++) {
		const struct acm_label *l = &pol->labels[i];
		bool k = false;

		for (uint32_t j = 0; j < l->n_images; j++)
			k |= l->images[j].kind == ACM_IMAGE_KERNEL;
		if (!k) {
			snprintf(msg, sizeof(msg), "line %u: label %s has no kernel image rule, so "
				 "no domain can launch under it", l->line, l->name);
			warn(ctx, msg);
			n++;
		}
	}
	for (uint32_t i = 0; i < pol->n_roles; i++) {
		const struct acm_role *r = &pol->roles[i];

		if (!r->n_grants || (!r->n_uids && !r->n_gids)) {
			snprintf(msg, sizeof(msg), "line %u: role %s %s", r->line, r->name,
				 r->n_grants ? "has no members" : "grants nothing");
			warn(ctx, msg);
			n++;
		}
	}
	return n;
}

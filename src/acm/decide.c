// SPDX-License-Identifier: Apache-2.0
/*
 * Decisions on a policy alone: STE with operations and ports, administrator roles,
 * resource caps and image rules. Everything not allowed by a rule is denied.
 */
#include "internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void deny(struct acm_decision *d, enum acm_reason why)
{
	d->allow = false;
	d->audit = true;
	d->reason = why;
	d->rule = ACM_NO_RULE;
}

/* The first rule in canonical order that matches, or ACM_NO_RULE. */
static int32_t match(const struct acm_policy *pol, const struct acm_label *s,
		     const struct acm_label *o, enum acm_op op, uint32_t port)
{
	const uint32_t *idx = pol->by_op[op];

	for (uint32_t i = 0; i < pol->n_by_op[op]; i++) {
		const struct acm_rule *r = &pol->rules[idx[i]];

		if (acm_set_has(&s->ste_set, r->subj_type) && acm_set_has(&o->ste_set, r->obj_type) &&
		    port >= r->port_lo && port <= r->port_hi)
			return (int32_t)idx[i];
	}
	return ACM_NO_RULE;
}

void acm_policy_decide(const struct acm_policy *pol, uint32_t subj_label, uint32_t obj_label,
		       enum acm_op op, uint32_t port, struct acm_decision *d)
{
	const struct acm_label *s, *o;

	d->subject_label = subj_label;
	d->object_label = obj_label;
	d->cached = false;
	if (!pol) {
		deny(d, ACM_R_NO_POLICY);
		return;
	}
	if (subj_label >= pol->n_labels) {
		deny(d, ACM_R_NO_SUBJECT);
		return;
	}
	if (obj_label >= pol->n_labels) {
		deny(d, ACM_R_NO_OBJECT);
		return;
	}
	if ((unsigned int)op >= ACM_OP_COUNT) {
		deny(d, ACM_R_DEFAULT_DENY);
		return;
	}
	if (op != ACM_OP_VSOCK_CONNECT)
		port = 0;
	s = &pol->labels[subj_label];
	o = &pol->labels[obj_label];
	/* sHype STE: no shared type, no sharing, whatever the rules say. */
	if (!acm_set_meets(&s->ste_set, &o->ste_set)) {
		deny(d, ACM_R_NO_SHARED_TYPE);
		return;
	}
	d->rule = match(pol, s, o, op, port);
	if (d->rule == ACM_NO_RULE) {
		deny(d, ACM_R_DEFAULT_DENY);
		return;
	}
	d->allow = true;
	d->reason = ACM_R_RULE;
	d->audit = pol->rules[d->rule].audit;
}

struct out {
	char *p;
	size_t len, off;
	bool full;
};

static void __attribute__((format(printf, 2, 3))) outf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->p + o->off, o->len - o->off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->len - o->off) {
		o->full = true;
		return;
	}
	o->off += (size_t)n;
}

static void type_names(struct out *o, const struct acm_policy *pol, const uint32_t *t,
		       uint32_t n)
{
	outf(o, "{");
	for (uint32_t i = 0; i < n; i++)
		outf(o, "%s%s", i ? ", " : "", pol->ste[t[i]]);
	outf(o, "}");
}

static void explain_rule(struct out *o, const struct acm_policy *pol, int32_t rule)
{
	char text[256];

	if (acm_policy_rule_text(pol, (uint32_t)rule, text, sizeof(text)))
		text[0] = '\0';
	outf(o, "rule #%d: %s", rule, text);
	if (pol->rules[rule].line)
		outf(o, " (line %u)", pol->rules[rule].line);
	outf(o, "\n");
}

int acm_policy_explain(const struct acm_policy *pol, uint32_t subj_label, uint32_t obj_label,
		       enum acm_op op, uint32_t port, char *buf, size_t len)
{
	struct out o = { .p = buf, .len = len };
	struct acm_decision d;
	const struct acm_label *s, *ob;

	if (!len)
		return -ENOSPC;
	buf[0] = '\0';
	acm_policy_decide(pol, subj_label, obj_label, op, port, &d);
	outf(&o, "request: %s", acm_op_name(op));
	if (op == ACM_OP_VSOCK_CONNECT)
		outf(&o, " port %u", port);
	outf(&o, "\n");
	if (d.reason == ACM_R_NO_POLICY || d.reason == ACM_R_NO_SUBJECT ||
	    d.reason == ACM_R_NO_OBJECT || (unsigned int)op >= ACM_OP_COUNT) {
		outf(&o, "decision: deny (%s)\n", acm_reason_name(d.reason));
		return o.full ? -ENOSPC : (int)o.off;
	}
	s = &pol->labels[subj_label];
	ob = &pol->labels[obj_label];
	outf(&o, "subject label %s: ste ", s->name);
	type_names(&o, pol, s->ste, s->n_ste);
	outf(&o, "\nobject label %s: ste ", ob->name);
	type_names(&o, pol, ob->ste, ob->n_ste);
	outf(&o, "\nshared STE types: {");
	for (uint32_t i = 0, k = 0; i < s->n_ste; i++)
		if (acm_set_has(&ob->ste_set, s->ste[i]))
			outf(&o, "%s%s", k++ ? ", " : "", pol->ste[s->ste[i]]);
	outf(&o, "}\n");
	if (d.reason == ACM_R_NO_SHARED_TYPE) {
		outf(&o, "the labels share no STE type, so no rule can apply\n");
	} else if (d.allow) {
		explain_rule(&o, pol, d.rule);
	} else {
		/* Rules for this op between these labels that missed only on the port. */
		for (uint32_t i = 0; i < pol->n_by_op[op]; i++) {
			const struct acm_rule *r = &pol->rules[pol->by_op[op][i]];

			if (acm_set_has(&s->ste_set, r->subj_type) &&
			    acm_set_has(&ob->ste_set, r->obj_type)) {
				outf(&o, "not matching (port): ");
				explain_rule(&o, pol, (int32_t)pol->by_op[op][i]);
			}
		}
		outf(&o, "no rule allows %s from a type of %s to a type of %s\n", acm_op_name(op),
		     s->name, ob->name);
	}
	outf(&o, "decision: %s (%s)\n", d.allow ? "allow" : "deny",
	     d.allow ? "rule" : acm_reason_name(d.reason));
	return o.full ? -ENOSPC : (int)o.off;
}

static bool has_id(const uint32_t *v, uint32_t n, uint32_t id)
{
	for (uint32_t i = 0; i < n; i++)
		if (v[i] == id)
			return true;
	return false;
}

bool acm_policy_admin_allowed(const struct acm_policy *pol, uint32_t uid, const uint32_t *gids,
			      size_t n_gids, enum acm_admin_op op, uint32_t label,
			      uint32_t *role)
{
	if (!pol || label >= pol->n_labels || (unsigned int)op >= ACM_ADMIN_COUNT ||
	    op == ACM_ADMIN_LOAD_POLICY)
		return false;
	for (uint32_t i = 0; i < pol->n_roles; i++) {
		const struct acm_role *r = &pol->roles[i];
		bool member = has_id(r->uids, r->n_uids, uid);

		for (size_t g = 0; !member && g < n_gids; g++)
			member = has_id(r->gids, r->n_gids, gids[g]);
		if (!member)
			continue;
		for (uint32_t j = 0; j < r->n_grants; j++) {
			if (r->grants[j].op == op &&
			    (r->grants[j].label == label || r->grants[j].label == ACM_ANY_LABEL)) {
				if (role)
					*role = i;
				return true;
			}
		}
	}
	return false;
}

bool acm_policy_may_load(const struct acm_policy *pol, uint32_t uid, const uint32_t *gids,
			 size_t n_gids)
{
	if (!pol)
		return false;
	for (uint32_t i = 0; i < pol->n_roles; i++) {
		const struct acm_role *r = &pol->roles[i];
		bool member = has_id(r->uids, r->n_uids, uid);

		for (size_t g = 0; !member && g < n_gids; g++)
			member = has_id(r->gids, r->n_gids, gids[g]);
		for (uint32_t j = 0; member && j < r->n_grants; j++)
			if (r->grants[j].op == ACM_ADMIN_LOAD_POLICY)
				return true;
	}
	return false;
}

int acm_policy_limits(const struct acm_policy *pol, uint32_t label, struct acm_limits *out)
{
	if (!pol || label >= pol->n_labels)
		return -ENOENT;
	*out = pol->labels[label].limits;
	return 0;
}

int acm_policy_check_resources(const struct acm_policy *pol, uint32_t label,
			       const struct acm_limits *req, struct acm_error *err)
{
	const struct acm_limits *m;
	const char *name;

	if (!pol || label >= pol->n_labels) {
		acm_errf(err, "unknown label");
		return -ENOENT;
	}
	m = &pol->labels[label].limits;
	name = pol->labels[label].name;
	if (req->vcpus > m->vcpus) {
		acm_errf(err, "label %s allows at most %u vCPUs, %u requested", name, m->vcpus,
			 req->vcpus);
		return -EPERM;
	}
	if (req->memory > m->memory) {
		acm_errf(err, "label %s allows at most %llu bytes of memory, %llu requested", name,
			 (unsigned long long)m->memory, (unsigned long long)req->memory);
		return -EPERM;
	}
	if (req->cpu_pct > m->cpu_pct) {
		acm_errf(err, "label %s allows at most %u%% CPU, %u%% requested", name, m->cpu_pct,
			 req->cpu_pct);
		return -EPERM;
	}
	if (req->io_read > m->io_read || req->io_write > m->io_write) {
		acm_errf(err, "label %s allows at most %llu/%llu bytes/s read/write", name,
			 (unsigned long long)m->io_read, (unsigned long long)m->io_write);
		return -EPERM;
	}
	return 0;
}

int acm_policy_check_image(const struct acm_policy *pol, uint32_t label, enum acm_image_kind kind,
			   const uint8_t digest[ACM_HASH_LEN], const uint8_t *sig,
			   struct acm_error *err)
{
	const struct acm_label *l;
	uint8_t msg[ACM_IMAGE_MSG_LEN];

	if (!pol || label >= pol->n_labels) {
		acm_errf(err, "unknown label");
		return -ENOENT;
	}
	l = &pol->labels[label];
	acm_image_message(kind, digest, msg);
	for (uint32_t i = 0; i < l->n_images; i++) {
		const struct acm_image *img = &l->images[i];

		if (img->kind != kind)
			continue;
		if (img->match == ACM_IMG_SHA256 && !memcmp(img->data, digest, ACM_HASH_LEN))
			return 0;
		if (img->match == ACM_IMG_ED25519 && sig &&
		    acm_ed25519_verify(img->data, msg, sizeof(msg), sig))
			return 0;
	}
	acm_errf(err, "%s image is neither listed for label %s nor signed by one of its signers",
		 kind == ACM_IMAGE_KERNEL ? "kernel" : "initrd", l->name);
	return -EPERM;
}

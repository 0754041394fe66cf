// SPDX-License-Identifier: Apache-2.0
/*
 * The policy language parser (grammar in docs/policy.md): text in, struct acm_policy
 * out, or one error at file:line:col. Declarations come before their uses.
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Grows *arr (element size sz) so index n fits; caps at max. */
static int grow(struct acm_parser *ps, void **arr, uint32_t *cap, uint32_t n, size_t sz,
		uint32_t max, const char *what)
{
	void *p;
	uint32_t ncap;

	if (n >= max)
		ACM_PFAIL(ps, &ps->t, "too many %s (at most %u)", what, max);
	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 8;
	if (ncap > max)
		ncap = max;
	p = realloc(*arr, (size_t)ncap * sz);
	if (!p)
		ACM_PFAIL(ps, &ps->t, "out of memory");
	memset((uint8_t *)p + (size_t)*cap * sz, 0, (size_t)(ncap - *cap) * sz);
	*arr = p;
	*cap = ncap;
	return 0;
}

static int lookup(char (*names)[ACM_NAME_MAX + 1], uint32_t n, const char *s, uint32_t *idx)
{
	for (uint32_t i = 0; i < n; i++) {
		if (strcmp(names[i], s) == 0) {
			*idx = i;
			return 0;
		}
	}
	return -ENOENT;
}

/* type-list := NAME { ',' NAME } ';' appended to a u32 array of declared types. */
static int type_list(struct acm_parser *ps, bool cw, uint32_t **arr, uint32_t *n)
{
	char(*names)[ACM_NAME_MAX + 1] = cw ? ps->pol->cw : ps->pol->ste;
	uint32_t count = cw ? ps->pol->n_cw : ps->pol->n_ste;
	const char *kind = cw ? "Chinese Wall type" : "STE type";

	for (;;) {
		char name[ACM_NAME_MAX + 1];
		struct acm_tok at;
		uint32_t idx, *p;
		int ret = acm_take_name(ps, kind, name, &at);

		if (ret)
			return ret;
		if (lookup(names, count, name, &idx))
			ACM_PFAIL(ps, &at, "unknown %s '%s' (declare it first with '%s %s;')", kind,
			     name, cw ? "cw" : "ste", name);
		if (*n >= ACM_MAX_TYPES)
			ACM_PFAIL(ps, &at, "too many types in one list");
		p = realloc(*arr, (*n + 1) * sizeof(uint32_t));
		if (!p)
			ACM_PFAIL(ps, &at, "out of memory");
		*arr = p;
		p[(*n)++] = idx;
		if (!acm_tok_punct(&ps->t, ","))
			break;
		ret = acm_lex(ps);
		if (ret)
			return ret;
	}
	return acm_expect(ps, ";", "after the list");
}

static int stmt_policy(struct acm_parser *ps)
{
	int ret = acm_take_name(ps, "policy", ps->pol->name, NULL);

	return ret ? ret : acm_expect(ps, ";", "after the policy name");
}

static int stmt_host(struct acm_parser *ps, const struct acm_tok *kw)
{
	bool cpus = false, mem = false;
	int ret;

	if (ps->have_host)
		ACM_PFAIL(ps, kw, "second 'host' block; there is one host");
	ps->have_host = true;
	ret = acm_expect(ps, "{", "after 'host'");
	while (!ret && !acm_tok_punct(&ps->t, "}")) {
		uint64_t v = 0;

		if (acm_tok_word(&ps->t, "cpus")) {
			ret = acm_lex(ps) ?: acm_take_uint(ps, "a cpu count", 65536, &v);
			ps->pol->host_cpus = (uint32_t)v;
			cpus = true;
		} else if (acm_tok_word(&ps->t, "memory")) {
			ret = acm_lex(ps) ?: acm_take_size(ps, "host memory", &ps->pol->host_memory);
			mem = true;
		} else {
			ACM_PFAIL(ps, &ps->t, "expected 'cpus' or 'memory' in host, found '%s'",
			     acm_tok_describe(&ps->t));
		}
		ret = ret ?: acm_expect(ps, ";", "after a host setting");
	}
	if (ret)
		return ret;
	if (!cpus || !mem)
		ACM_PFAIL(ps, &ps->t, "host needs both 'cpus' and 'memory'");
	return acm_lex(ps);
}

static int stmt_types(struct acm_parser *ps, bool cw)
{
	for (;;) {
		char name[ACM_NAME_MAX + 1];
		struct acm_tok at;
		uint32_t idx;
		char(**names)[ACM_NAME_MAX + 1] = cw ? &ps->pol->cw : &ps->pol->ste;
		uint32_t *n = cw ? &ps->pol->n_cw : &ps->pol->n_ste;
		int ret = acm_take_name(ps, "type", name, &at);

		if (ret)
			return ret;
		if (!lookup(*names, *n, name, &idx))
			ACM_PFAIL(ps, &at, "type '%s' declared twice", name);
		ret = grow(ps, (void **)names, cw ? &ps->cap_cw : &ps->cap_ste, *n,
			   ACM_NAME_MAX + 1, ACM_MAX_TYPES, "types");
		if (ret)
			return ret;
		strcpy((*names)[(*n)++], name);
		if (!acm_tok_punct(&ps->t, ","))
			break;
		ret = acm_lex(ps);
		if (ret)
			return ret;
	}
	return acm_expect(ps, ";", "after the type list");
}

static int stmt_conflict(struct acm_parser *ps, const struct acm_tok *kw)
{
	struct acm_policy *pol = ps->pol;
	struct acm_conflict *c;
	struct acm_tok at;
	int ret = grow(ps, (void **)&pol->conflicts, &ps->cap_conflicts, pol->n_conflicts,
		       sizeof(*c), ACM_MAX_TYPES, "conflict sets");

	if (ret)
		return ret;
	c = &pol->conflicts[pol->n_conflicts++];
	c->line = kw->line;
	ret = acm_take_name(ps, "conflict set", c->name, &at);
	if (ret)
		return ret;
	for (uint32_t i = 0; i + 1 < pol->n_conflicts; i++)
		if (strcmp(pol->conflicts[i].name, c->name) == 0)
			ACM_PFAIL(ps, &at, "conflict set '%s' declared twice", c->name);
	ret = acm_expect(ps, "=", "after the conflict set name");
	return ret ? ret : type_list(ps, true, &c->types, &c->n);
}

static int image_stmt(struct acm_parser *ps, struct acm_label *l)
{
	struct acm_image img = { 0 };
	struct acm_image *p;
	struct acm_tok at;
	int ret;

	if (acm_tok_word(&ps->t, "kernel"))
		img.kind = ACM_IMAGE_KERNEL;
	else if (acm_tok_word(&ps->t, "initrd"))
		img.kind = ACM_IMAGE_INITRD;
	else
		ACM_PFAIL(ps, &ps->t, "expected 'kernel' or 'initrd', found '%s'", acm_tok_describe(&ps->t));
	ret = acm_lex(ps);
	if (ret)
		return ret;
	if (acm_tok_word(&ps->t, "sha256"))
		img.match = ACM_IMG_SHA256;
	else if (acm_tok_word(&ps->t, "ed25519"))
		img.match = ACM_IMG_ED25519;
	else
		ACM_PFAIL(ps, &ps->t, "expected 'sha256' or 'ed25519', found '%s'", acm_tok_describe(&ps->t));
	ret = acm_lex(ps);
	if (ret)
		return ret;
	at = ps->t;
	if (at.type != ACM_T_STR || strlen(at.s) != 64)
		ACM_PFAIL(ps, &at, "expected 64 hex digits in quotes");
	for (int i = 0; i < 32; i++) {
		unsigned int byte;

		if (!strchr("0123456789abcdef", at.s[2 * i]) ||
		    !strchr("0123456789abcdef", at.s[2 * i + 1]) ||
		    sscanf(at.s + 2 * i, "%2x", &byte) != 1)
			ACM_PFAIL(ps, &at, "expected 64 lower-case hex digits in quotes");
		img.data[i] = (uint8_t)byte;
	}
	if (l->n_images >= ACM_MAX_IMAGES)
		ACM_PFAIL(ps, &at, "too many image rules in label '%s' (at most %d)", l->name,
		     ACM_MAX_IMAGES);
	p = realloc(l->images, (l->n_images + 1) * sizeof(*p));
	if (!p)
		ACM_PFAIL(ps, &at, "out of memory");
	l->images = p;
	p[l->n_images++] = img;
	ret = acm_lex(ps);
	return ret ? ret : acm_expect(ps, ";", "after the image rule");
}

static int label_body(struct acm_parser *ps, struct acm_label *l)
{
	struct acm_limits *m = &l->limits;
	uint64_t v = 0;
	int ret = acm_expect(ps, "{", "after the label name");

	while (!ret && !acm_tok_punct(&ps->t, "}")) {
		struct acm_tok kw = ps->t;

		if (kw.type != ACM_T_IDENT)
			ACM_PFAIL(ps, &kw, "expected a label setting, found '%s'", acm_tok_describe(&kw));
		ret = acm_lex(ps);
		if (ret)
			return ret;
		if (strcmp(kw.s, "ste") == 0) {
			ret = type_list(ps, false, &l->ste, &l->n_ste);
		} else if (strcmp(kw.s, "cw") == 0) {
			ret = type_list(ps, true, &l->cw, &l->n_cw);
		} else if (strcmp(kw.s, "image") == 0) {
			ret = image_stmt(ps, l);
		} else if (strcmp(kw.s, "vcpus") == 0) {
			ret = acm_take_uint(ps, "a vCPU count", 65536, &v);
			m->vcpus = (uint32_t)v;
			ret = ret ?: acm_expect(ps, ";", "after vcpus");
		} else if (strcmp(kw.s, "cpu") == 0) {
			struct acm_tok at = ps->t;

			ret = acm_take_uint(ps, "a percentage", 100, &v);
			if (!ret && (v == 0 || v > 99))
				ACM_PFAIL(ps, &at, "cpu must be between 1%% and 99%% (no domain may take "
					      "the whole host)");
			m->cpu_pct = (uint32_t)v;
			ret = ret ?: acm_expect(ps, "%", "after the cpu share");
			ret = ret ?: acm_expect(ps, ";", "after cpu");
		} else if (strcmp(kw.s, "memory") == 0) {
			ret = acm_take_size(ps, "memory", &m->memory);
			ret = ret ?: acm_expect(ps, ";", "after memory");
		} else if (strcmp(kw.s, "io_read") == 0) {
			ret = acm_take_size(ps, "bytes per second", &m->io_read);
			ret = ret ?: acm_expect(ps, ";", "after io_read");
		} else if (strcmp(kw.s, "io_write") == 0) {
			ret = acm_take_size(ps, "bytes per second", &m->io_write);
			ret = ret ?: acm_expect(ps, ";", "after io_write");
		} else {
			ACM_PFAIL(ps, &kw, "unknown label setting '%s' (ste, cw, vcpus, memory, cpu, "
				      "io_read, io_write, image)", kw.s);
		}
	}
	return ret ? ret : acm_lex(ps);
}

static int stmt_label(struct acm_parser *ps, const struct acm_tok *kw)
{
	struct acm_policy *pol = ps->pol;
	struct acm_label *l;
	struct acm_tok at;
	int ret = grow(ps, (void **)&pol->labels, &ps->cap_labels, pol->n_labels, sizeof(*l),
		       ACM_MAX_LABELS, "labels");

	if (ret)
		return ret;
	l = &pol->labels[pol->n_labels++];
	l->line = kw->line;
	/* Defaults are small: a label gets more only by saying so. */
	l->limits = (struct acm_limits){ .vcpus = 1, .memory = 256u << 20, .cpu_pct = 10,
					 .io_read = 10u << 20, .io_write = 10u << 20 };
	ret = acm_take_name(ps, "label", l->name, &at);
	if (ret)
		return ret;
	for (uint32_t i = 0; i + 1 < pol->n_labels; i++)
		if (strcmp(pol->labels[i].name, l->name) == 0)
			ACM_PFAIL(ps, &at, "label '%s' declared twice", l->name);
	return label_body(ps, l);
}

static int op_spec(struct acm_parser *ps, struct acm_rule *r)
{
	enum acm_op op;
	uint64_t lo = 0, hi = 0;
	int ret;

	if (ps->t.type != ACM_T_IDENT || acm_op_from_name(ps->t.s, &op))
		ACM_PFAIL(ps, &ps->t, "unknown operation '%s' (evtchn_bind, grant_map_read, "
				 "grant_map_write, grant_copy, vsock_connect, block_share, "
				 "introspect, manage)", acm_tok_describe(&ps->t));
	r->op = (uint8_t)op;
	r->port_lo = 0;
	r->port_hi = ACM_PORT_MAX;
	ret = acm_lex(ps);
	if (ret || op != ACM_OP_VSOCK_CONNECT)
		return ret;
	if (acm_tok_punct(&ps->t, "*"))
		return acm_lex(ps);
	if (ps->t.type != ACM_T_NUM)
		ACM_PFAIL(ps, &ps->t, "vsock_connect needs a port, a range lo-hi, or '*'");
	ret = acm_take_uint(ps, "a port", ACM_PORT_MAX, &lo);
	hi = lo;
	if (!ret && acm_tok_punct(&ps->t, "-")) {
		struct acm_tok at;

		ret = acm_lex(ps);
		at = ps->t;
		ret = ret ?: acm_take_uint(ps, "a port", ACM_PORT_MAX, &hi);
		if (!ret && hi < lo)
			ACM_PFAIL(ps, &at, "port range %llu-%llu is empty", (unsigned long long)lo,
			     (unsigned long long)hi);
	}
	r->port_lo = (uint32_t)lo;
	r->port_hi = (uint32_t)hi;
	return ret;
}

static int add_rule(struct acm_parser *ps, const struct acm_rule *r)
{
	int ret = grow(ps, (void **)&ps->pol->rules, &ps->cap_rules, ps->pol->n_rules,
		       sizeof(*r), ACM_MAX_RULES, "rules");

	if (!ret)
		ps->pol->rules[ps->pol->n_rules++] = *r;
	return ret;
}

/* allow A (-> | <->) B : op [ports] {, op [ports]} [audit] ;   or   allow A : ... ; */
static int stmt_allow(struct acm_parser *ps, const struct acm_tok *kw)
{
	struct acm_rule tmpl = { .line = kw->line, .col = kw->col };
	uint32_t first = ps->pol->n_rules;
	char a[ACM_NAME_MAX + 1], b[ACM_NAME_MAX + 1];
	struct acm_tok at_a, at_b;
	bool both = false;
	int ret = acm_take_name(ps, "STE type", a, &at_a);

	if (ret)
		return ret;
	if (lookup(ps->pol->ste, ps->pol->n_ste, a, &tmpl.subj_type))
		ACM_PFAIL(ps, &at_a, "unknown STE type '%s'", a);
	tmpl.obj_type = tmpl.subj_type;
	if (acm_tok_punct(&ps->t, "->") || acm_tok_punct(&ps->t, "<->")) {
		both = acm_tok_punct(&ps->t, "<->");
		ret = acm_lex(ps) ?: acm_take_name(ps, "STE type", b, &at_b);
		if (ret)
			return ret;
		if (lookup(ps->pol->ste, ps->pol->n_ste, b, &tmpl.obj_type))
			ACM_PFAIL(ps, &at_b, "unknown STE type '%s'", b);
	}
	ret = acm_expect(ps, ":", "before the operations");
	while (!ret) {
		struct acm_rule r = tmpl;

		ret = op_spec(ps, &r) ?: add_rule(ps, &r);
		if (!ret && both && r.subj_type != r.obj_type) {
			uint32_t t = r.subj_type;

			r.subj_type = r.obj_type;
			r.obj_type = t;
			ret = add_rule(ps, &r);
		}
		if (ret || !acm_tok_punct(&ps->t, ","))
			break;
		ret = acm_lex(ps);
	}
	if (ret)
		return ret;
	if (acm_tok_word(&ps->t, "audit")) {
		for (uint32_t i = first; i < ps->pol->n_rules; i++)
			ps->pol->rules[i].audit = 1;
		ret = acm_lex(ps);
	}
	return ret ?: acm_expect(ps, ";", "after the rule");
}

static int id_list(struct acm_parser *ps, uint32_t **arr, uint32_t *n)
{
	for (;;) {
		uint64_t v = 0;
		uint32_t *p;
		int ret = acm_take_uint(ps, "an id", UINT32_MAX - 1, &v);

		if (ret)
			return ret;
		if (*n >= ACM_MAX_IDS)
			ACM_PFAIL(ps, &ps->t, "too many ids (at most %d)", ACM_MAX_IDS);
		p = realloc(*arr, (*n + 1) * sizeof(*p));
		if (!p)
			ACM_PFAIL(ps, &ps->t, "out of memory");
		*arr = p;
		p[(*n)++] = (uint32_t)v;
		if (!acm_tok_punct(&ps->t, ","))
			break;
		ret = acm_lex(ps);
		if (ret)
			return ret;
	}
	return acm_expect(ps, ";", "after the id list");
}

static int grant_list(struct acm_parser *ps, struct acm_role *r, enum acm_admin_op op)
{
	for (;;) {
		struct acm_grant g = { .op = (uint8_t)op, .label = ACM_ANY_LABEL };
		struct acm_grant *p;
		int ret;

		if (acm_tok_punct(&ps->t, "*")) {
			ret = acm_lex(ps);
		} else {
			char name[ACM_NAME_MAX + 1];
			struct acm_tok at;
			uint32_t i;

			ret = acm_take_name(ps, "label", name, &at);
			if (ret)
				return ret;
			for (i = 0; i < ps->pol->n_labels; i++)
				if (strcmp(ps->pol->labels[i].name, name) == 0)
					break;
			if (i == ps->pol->n_labels)
				ACM_PFAIL(ps, &at, "unknown label '%s' (declare labels before roles)",
				     name);
			g.label = i;
		}
		if (ret)
			return ret;
		if (r->n_grants >= ACM_MAX_LABELS * ACM_ADMIN_COUNT)
			ACM_PFAIL(ps, &ps->t, "too many grants in role '%s'", r->name);
		p = realloc(r->grants, (r->n_grants + 1) * sizeof(*p));
		if (!p)
			ACM_PFAIL(ps, &ps->t, "out of memory");
		r->grants = p;
		p[r->n_grants++] = g;
		if (!acm_tok_punct(&ps->t, ","))
			break;
		ret = acm_lex(ps);
		if (ret)
			return ret;
	}
	return acm_expect(ps, ";", "after the label list");
}

static int load_grant(struct acm_parser *ps, struct acm_role *r)
{
	struct acm_grant *p = realloc(r->grants, (r->n_grants + 1) * sizeof(*p));

	if (!p)
		ACM_PFAIL(ps, &ps->t, "out of memory");
	r->grants = p;
	p[r->n_grants++] = (struct acm_grant){ .op = ACM_ADMIN_LOAD_POLICY,
					       .label = ACM_ANY_LABEL };
	return acm_expect(ps, ";", "after load_policy");
}

static int stmt_role(struct acm_parser *ps, const struct acm_tok *kw)
{
	struct acm_policy *pol = ps->pol;
	struct acm_role *r;
	struct acm_tok at;
	int ret = grow(ps, (void **)&pol->roles, &ps->cap_roles, pol->n_roles, sizeof(*r),
		       ACM_MAX_ROLES, "roles");

	if (ret)
		return ret;
	r = &pol->roles[pol->n_roles++];
	r->line = kw->line;
	ret = acm_take_name(ps, "role", r->name, &at);
	if (ret)
		return ret;
	for (uint32_t i = 0; i + 1 < pol->n_roles; i++)
		if (strcmp(pol->roles[i].name, r->name) == 0)
			ACM_PFAIL(ps, &at, "role '%s' declared twice", r->name);
	ret = acm_expect(ps, "{", "after the role name");
	while (!ret && !acm_tok_punct(&ps->t, "}")) {
		struct acm_tok k = ps->t;

		ret = acm_lex(ps);
		if (ret)
			return ret;
		if (acm_tok_word(&k, "uid"))
			ret = id_list(ps, &r->uids, &r->n_uids);
		else if (acm_tok_word(&k, "gid"))
			ret = id_list(ps, &r->gids, &r->n_gids);
		else if (acm_tok_word(&k, "create"))
			ret = grant_list(ps, r, ACM_ADMIN_CREATE);
		else if (acm_tok_word(&k, "manage"))
			ret = grant_list(ps, r, ACM_ADMIN_MANAGE);
		else if (acm_tok_word(&k, "introspect"))
			ret = grant_list(ps, r, ACM_ADMIN_INTROSPECT);
		else if (acm_tok_word(&k, "load_policy"))
			ret = load_grant(ps, r);
		else
			ACM_PFAIL(ps, &k, "unknown role setting '%s' (uid, gid, create, manage, "
				     "introspect, load_policy)", acm_tok_describe(&k));
	}
	return ret ? ret : acm_lex(ps);
}

static int parse_all(struct acm_parser *ps)
{
	bool named = false;
	int ret = acm_lex(ps);

	while (!ret && ps->t.type != ACM_T_EOF) {
		struct acm_tok kw = ps->t;

		if (kw.type != ACM_T_IDENT)
			ACM_PFAIL(ps, &kw, "expected a statement, found '%s'", acm_tok_describe(&kw));
		if (!named && strcmp(kw.s, "policy") != 0)
			ACM_PFAIL(ps, &kw, "a policy starts with 'policy NAME;'");
		ret = acm_lex(ps);
		if (ret)
			return ret;
		if (strcmp(kw.s, "policy") == 0) {
			if (named)
				ACM_PFAIL(ps, &kw, "second 'policy' statement");
			named = true;
			ret = stmt_policy(ps);
		} else if (strcmp(kw.s, "host") == 0) {
			ret = stmt_host(ps, &kw);
		} else if (strcmp(kw.s, "ste") == 0) {
			ret = stmt_types(ps, false);
		} else if (strcmp(kw.s, "cw") == 0) {
			ret = stmt_types(ps, true);
		} else if (strcmp(kw.s, "conflict") == 0) {
			ret = stmt_conflict(ps, &kw);
		} else if (strcmp(kw.s, "label") == 0) {
			ret = stmt_label(ps, &kw);
		} else if (strcmp(kw.s, "allow") == 0) {
			ret = stmt_allow(ps, &kw);
		} else if (strcmp(kw.s, "role") == 0) {
			ret = stmt_role(ps, &kw);
		} else {
			ACM_PFAIL(ps, &kw, "unknown statement '%s' (policy, host, ste, cw, conflict, "
				      "label, allow, role)", kw.s);
		}
	}
	if (ret)
		return ret;
	if (!named)
		ACM_PFAIL(ps, &ps->t, "empty policy: it starts with 'policy NAME;'");
	if (!ps->have_host)
		ACM_PFAIL(ps, &ps->t, "no 'host { cpus N; memory SIZE; }' block");
	return 0;
}

struct acm_policy *acm_policy_parse(const char *fname, const char *text, size_t len,
				    struct acm_error *err)
{
	struct acm_parser ps = { .fname = fname ? fname : "<policy>", .p = text, .end = text + len,
			     .line = 1, .col = 1, .err = err };

	if (len > ACM_POLICY_MAX) {
		acm_errat(err, ps.fname, 0, 0, "policy text larger than %u bytes", ACM_POLICY_MAX);
		return NULL;
	}
	ps.pol = calloc(1, sizeof(*ps.pol));
	if (!ps.pol) {
		acm_errat(err, ps.fname, 0, 0, "out of memory");
		return NULL;
	}
	if (parse_all(&ps) || acm_policy_finish(ps.pol, ps.fname, err)) {
		acm_policy_free(ps.pol);
		return NULL;
	}
	return ps.pol;
}

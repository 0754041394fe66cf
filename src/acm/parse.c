// SPDX-License-Identifier: Apache-2.0
/*
 * The policy language parser (grammar in docs/policy.md): text in, struct acm_policy
 * out, or one error at file:line:col. Declarations come before their uses.
 */
#include "internal.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum tok_type { T_EOF, T_IDENT, T_NUM, T_STR, T_PUNCT };

#define TOK_MAX 127

struct tok {
	enum tok_type type;
	char s[TOK_MAX + 1];
	uint32_t line, col;
};

struct parser {
	const char *fname;
	const char *p, *end;
	uint32_t line, col;
	struct tok t;
	struct acm_policy *pol;
	struct acm_error *err;
	uint32_t cap_ste, cap_cw, cap_conflicts, cap_labels, cap_rules, cap_roles;
	bool have_host;
};

#define FAIL(ps, tk, ...)                                                          \
	do {                                                                       \
		acm_errat((ps)->err, (ps)->fname, (tk)->line, (tk)->col, __VA_ARGS__); \
		return -EINVAL;                                                    \
	} while (0)

static bool is_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static void adv(struct parser *ps)
{
	if (*ps->p == '\n') {
		ps->line++;
		ps->col = 1;
	} else {
		ps->col++;
	}
	ps->p++;
}

/* Reads the next token into ps->t. */
static int lex(struct parser *ps)
{
	struct tok *t = &ps->t;
	size_t n = 0;

	for (;;) {
		while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' ||
					   *ps->p == '\r'))
			adv(ps);
		if (ps->p < ps->end && *ps->p == '#') {
			while (ps->p < ps->end && *ps->p != '\n')
				adv(ps);
			continue;
		}
		break;
	}
	t->line = ps->line;
	t->col = ps->col;
	t->s[0] = '\0';
	if (ps->p >= ps->end) {
		t->type = T_EOF;
		return 0;
	}
	if (is_alpha(*ps->p) || is_digit(*ps->p)) {
		t->type = is_digit(*ps->p) ? T_NUM : T_IDENT;
		while (ps->p < ps->end && (is_alpha(*ps->p) || is_digit(*ps->p))) {
			if (n == TOK_MAX)
				FAIL(ps, t, "word too long (at most %d characters)", TOK_MAX);
			t->s[n++] = *ps->p;
			adv(ps);
		}
		t->s[n] = '\0';
		return 0;
	}
	if (*ps->p == '"') {
		t->type = T_STR;
		adv(ps);
		while (ps->p < ps->end && *ps->p != '"') {
			if (*ps->p < 0x20 || *ps->p > 0x7e)
				FAIL(ps, t, "string not closed on its line, or not printable ASCII");
			if (n == TOK_MAX)
				FAIL(ps, t, "string too long (at most %d characters)", TOK_MAX);
			t->s[n++] = *ps->p;
			adv(ps);
		}
		if (ps->p >= ps->end)
			FAIL(ps, t, "string not closed");
		adv(ps);
		t->s[n] = '\0';
		return 0;
	}
	t->type = T_PUNCT;
	if (ps->end - ps->p >= 2 && ps->p[0] == '-' && ps->p[1] == '>') {
		strcpy(t->s, "->");
		adv(ps);
		adv(ps);
		return 0;
	}
	if (ps->end - ps->p >= 3 && memcmp(ps->p, "<->", 3) == 0) {
		strcpy(t->s, "<->");
		adv(ps);
		adv(ps);
		adv(ps);
		return 0;
	}
	if (strchr(";,{}:=*%-", *ps->p) && *ps->p) {
		t->s[0] = *ps->p;
		t->s[1] = '\0';
		adv(ps);
		return 0;
	}
	if ((unsigned char)*ps->p >= 0x21 && (unsigned char)*ps->p <= 0x7e)
		FAIL(ps, t, "unexpected character '%c'", *ps->p);
	FAIL(ps, t, "unexpected byte 0x%02x", (unsigned char)*ps->p);
}

static const char *describe(const struct tok *t)
{
	switch (t->type) {
	case T_EOF:
		return "end of file";
	case T_STR:
		return "a string";
	default:
		return t->s;
	}
}

static bool is_punct(const struct tok *t, const char *s)
{
	return t->type == T_PUNCT && strcmp(t->s, s) == 0;
}

static bool is_word(const struct tok *t, const char *s)
{
	return t->type == T_IDENT && strcmp(t->s, s) == 0;
}

static int expect(struct parser *ps, const char *punct, const char *after)
{
	if (!is_punct(&ps->t, punct))
		FAIL(ps, &ps->t, "expected '%s' %s, found '%s'", punct, after, describe(&ps->t));
	return lex(ps);
}

/* Takes an identifier into out (ACM_NAME_MAX + 1 bytes), remembering its position. */
static int take_name(struct parser *ps, const char *what, char *out, struct tok *where)
{
	if (ps->t.type != T_IDENT)
		FAIL(ps, &ps->t, "expected %s name, found '%s'", what, describe(&ps->t));
	if (strlen(ps->t.s) > ACM_NAME_MAX)
		FAIL(ps, &ps->t, "%s name longer than %d characters", what, ACM_NAME_MAX);
	strcpy(out, ps->t.s);
	if (where)
		*where = ps->t;
	return lex(ps);
}

static int take_uint(struct parser *ps, const char *what, uint64_t max, uint64_t *out)
{
	if (ps->t.type != T_NUM || util_parse_uint(ps->t.s, 0, max, out))
		FAIL(ps, &ps->t, "expected %s (a whole number up to %llu), found '%s'", what,
		     (unsigned long long)max, describe(&ps->t));
	return lex(ps);
}

static int take_size(struct parser *ps, const char *what, uint64_t *out)
{
	if (ps->t.type != T_NUM || util_parse_size(ps->t.s, out))
		FAIL(ps, &ps->t, "expected %s (a size such as 512M or 4G), found '%s'", what,
		     describe(&ps->t));
	return lex(ps);
}

/* Grows *arr (element size sz) so index n fits; caps at max. */
static int grow(struct parser *ps, void **arr, uint32_t *cap, uint32_t n, size_t sz,
		uint32_t max, const char *what)
{
	void *p;
	uint32_t ncap;

	if (n >= max)
		FAIL(ps, &ps->t, "too many %s (at most %u)", what, max);
	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 8;
	if (ncap > max)
		ncap = max;
	p = realloc(*arr, (size_t)ncap * sz);
	if (!p)
		FAIL(ps, &ps->t, "out of memory");
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
static int type_list(struct parser *ps, bool cw, uint32_t **arr, uint32_t *n)
{
	char(*names)[ACM_NAME_MAX + 1] = cw ? ps->pol->cw : ps->pol->ste;
	uint32_t count = cw ? ps->pol->n_cw : ps->pol->n_ste;
	const char *kind = cw ? "Chinese Wall type" : "STE type";

	for (;;) {
		char name[ACM_NAME_MAX + 1];
		struct tok at;
		uint32_t idx, *p;
		int ret = take_name(ps, kind, name, &at);

		if (ret)
			return ret;
		if (lookup(names, count, name, &idx))
			FAIL(ps, &at, "unknown %s '%s' (declare it first with '%s %s;')", kind,
			     name, cw ? "cw" : "ste", name);
		if (*n >= ACM_MAX_TYPES)
			FAIL(ps, &at, "too many types in one list");
		p = realloc(*arr, (*n + 1) * sizeof(uint32_t));
		if (!p)
			FAIL(ps, &at, "out of memory");
		*arr = p;
		p[(*n)++] = idx;
		if (!is_punct(&ps->t, ","))
			break;
		ret = lex(ps);
		if (ret)
			return ret;
	}
	return expect(ps, ";", "after the list");
}

static int stmt_policy(struct parser *ps)
{
	int ret = take_name(ps, "policy", ps->pol->name, NULL);

	return ret ? ret : expect(ps, ";", "after the policy name");
}

static int stmt_host(struct parser *ps, const struct tok *kw)
{
	bool cpus = false, mem = false;
	int ret;

	if (ps->have_host)
		FAIL(ps, kw, "second 'host' block; there is one host");
	ps->have_host = true;
	ret = expect(ps, "{", "after 'host'");
	while (!ret && !is_punct(&ps->t, "}")) {
		uint64_t v = 0;

		if (is_word(&ps->t, "cpus")) {
			ret = lex(ps) ?: take_uint(ps, "a cpu count", 65536, &v);
			ps->pol->host_cpus = (uint32_t)v;
			cpus = true;
		} else if (is_word(&ps->t, "memory")) {
			ret = lex(ps) ?: take_size(ps, "host memory", &ps->pol->host_memory);
			mem = true;
		} else {
			FAIL(ps, &ps->t, "expected 'cpus' or 'memory' in host, found '%s'",
			     describe(&ps->t));
		}
		ret = ret ?: expect(ps, ";", "after a host setting");
	}
	if (ret)
		return ret;
	if (!cpus || !mem)
		FAIL(ps, &ps->t, "host needs both 'cpus' and 'memory'");
	return lex(ps);
}

static int stmt_types(struct parser *ps, bool cw)
{
	for (;;) {
		char name[ACM_NAME_MAX + 1];
		struct tok at;
		uint32_t idx;
		char(**names)[ACM_NAME_MAX + 1] = cw ? &ps->pol->cw : &ps->pol->ste;
		uint32_t *n = cw ? &ps->pol->n_cw : &ps->pol->n_ste;
		int ret = take_name(ps, "type", name, &at);

		if (ret)
			return ret;
		if (!lookup(*names, *n, name, &idx))
			FAIL(ps, &at, "type '%s' declared twice", name);
		ret = grow(ps, (void **)names, cw ? &ps->cap_cw : &ps->cap_ste, *n,
			   ACM_NAME_MAX + 1, ACM_MAX_TYPES, "types");
		if (ret)
			return ret;
		strcpy((*names)[(*n)++], name);
		if (!is_punct(&ps->t, ","))
			break;
		ret = lex(ps);
		if (ret)
			return ret;
	}
	return expect(ps, ";", "after the type list");
}

static int stmt_conflict(struct parser *ps, const struct tok *kw)
{
	struct acm_policy *pol = ps->pol;
	struct acm_conflict *c;
	struct tok at;
	int ret = grow(ps, (void **)&pol->conflicts, &ps->cap_conflicts, pol->n_conflicts,
		       sizeof(*c), ACM_MAX_TYPES, "conflict sets");

	if (ret)
		return ret;
	c = &pol->conflicts[pol->n_conflicts++];
	c->line = kw->line;
	ret = take_name(ps, "conflict set", c->name, &at);
	if (ret)
		return ret;
	for (uint32_t i = 0; i + 1 < pol->n_conflicts; i++)
		if (strcmp(pol->conflicts[i].name, c->name) == 0)
			FAIL(ps, &at, "conflict set '%s' declared twice", c->name);
	ret = expect(ps, "=", "after the conflict set name");
	return ret ? ret : type_list(ps, true, &c->types, &c->n);
}

static int image_stmt(struct parser *ps, struct acm_label *l)
{
	struct acm_image img = { 0 };
	struct acm_image *p;
	struct tok at;
	int ret;

	if (is_word(&ps->t, "kernel"))
		img.kind = ACM_IMAGE_KERNEL;
	else if (is_word(&ps->t, "initrd"))
		img.kind = ACM_IMAGE_INITRD;
	else
		FAIL(ps, &ps->t, "expected 'kernel' or 'initrd', found '%s'", describe(&ps->t));
	ret = lex(ps);
	if (ret)
		return ret;
	if (is_word(&ps->t, "sha256"))
		img.match = ACM_IMG_SHA256;
	else if (is_word(&ps->t, "ed25519"))
		img.match = ACM_IMG_ED25519;
	else
		FAIL(ps, &ps->t, "expected 'sha256' or 'ed25519', found '%s'", describe(&ps->t));
	ret = lex(ps);
	if (ret)
		return ret;
	at = ps->t;
	if (at.type != T_STR || strlen(at.s) != 64)
		FAIL(ps, &at, "expected 64 hex digits in quotes");
	for (int i = 0; i < 32; i++) {
		unsigned int byte;

		if (!strchr("0123456789abcdef", at.s[2 * i]) ||
		    !strchr("0123456789abcdef", at.s[2 * i + 1]) ||
		    sscanf(at.s + 2 * i, "%2x", &byte) != 1)
			FAIL(ps, &at, "expected 64 lower-case hex digits in quotes");
		img.data[i] = (uint8_t)byte;
	}
	if (l->n_images >= ACM_MAX_IMAGES)
		FAIL(ps, &at, "too many image rules in label '%s' (at most %d)", l->name,
		     ACM_MAX_IMAGES);
	p = realloc(l->images, (l->n_images + 1) * sizeof(*p));
	if (!p)
		FAIL(ps, &at, "out of memory");
	l->images = p;
	p[l->n_images++] = img;
	ret = lex(ps);
	return ret ? ret : expect(ps, ";", "after the image rule");
}

static int label_body(struct parser *ps, struct acm_label *l)
{
	struct acm_limits *m = &l->limits;
	uint64_t v = 0;
	int ret = expect(ps, "{", "after the label name");

	while (!ret && !is_punct(&ps->t, "}")) {
		struct tok kw = ps->t;

		if (kw.type != T_IDENT)
			FAIL(ps, &kw, "expected a label setting, found '%s'", describe(&kw));
		ret = lex(ps);
		if (ret)
			return ret;
		if (strcmp(kw.s, "ste") == 0) {
			ret = type_list(ps, false, &l->ste, &l->n_ste);
		} else if (strcmp(kw.s, "cw") == 0) {
			ret = type_list(ps, true, &l->cw, &l->n_cw);
		} else if (strcmp(kw.s, "image") == 0) {
			ret = image_stmt(ps, l);
		} else if (strcmp(kw.s, "vcpus") == 0) {
			ret = take_uint(ps, "a vCPU count", 65536, &v);
			m->vcpus = (uint32_t)v;
			ret = ret ?: expect(ps, ";", "after vcpus");
		} else if (strcmp(kw.s, "cpu") == 0) {
			struct tok at = ps->t;

			ret = take_uint(ps, "a percentage", 100, &v);
			if (!ret && (v == 0 || v > 99))
				FAIL(ps, &at, "cpu must be between 1%% and 99%% (no domain may take "
					      "the whole host)");
			m->cpu_pct = (uint32_t)v;
			ret = ret ?: expect(ps, "%", "after the cpu share");
			ret = ret ?: expect(ps, ";", "after cpu");
		} else if (strcmp(kw.s, "memory") == 0) {
			ret = take_size(ps, "memory", &m->memory);
			ret = ret ?: expect(ps, ";", "after memory");
		} else if (strcmp(kw.s, "io_read") == 0) {
			ret = take_size(ps, "bytes per second", &m->io_read);
			ret = ret ?: expect(ps, ";", "after io_read");
		} else if (strcmp(kw.s, "io_write") == 0) {
			ret = take_size(ps, "bytes per second", &m->io_write);
			ret = ret ?: expect(ps, ";", "after io_write");
		} else {
			FAIL(ps, &kw, "unknown label setting '%s' (ste, cw, vcpus, memory, cpu, "
				      "io_read, io_write, image)", kw.s);
		}
	}
	return ret ? ret : lex(ps);
}

static int stmt_label(struct parser *ps, const struct tok *kw)
{
	struct acm_policy *pol = ps->pol;
	struct acm_label *l;
	struct tok at;
	int ret = grow(ps, (void **)&pol->labels, &ps->cap_labels, pol->n_labels, sizeof(*l),
		       ACM_MAX_LABELS, "labels");

	if (ret)
		return ret;
	l = &pol->labels[pol->n_labels++];
	l->line = kw->line;
	/* Defaults are small: a label gets more only by saying so. */
	l->limits = (struct acm_limits){ .vcpus = 1, .memory = 256u << 20, .cpu_pct = 10,
					 .io_read = 10u << 20, .io_write = 10u << 20 };
	ret = take_name(ps, "label", l->name, &at);
	if (ret)
		return ret;
	for (uint32_t i = 0; i + 1 < pol->n_labels; i++)
		if (strcmp(pol->labels[i].name, l->name) == 0)
			FAIL(ps, &at, "label '%s' declared twice", l->name);
	return label_body(ps, l);
}

static int op_spec(struct parser *ps, struct acm_rule *r)
{
	enum acm_op op;
	uint64_t lo = 0, hi = 0;
	int ret;

	if (ps->t.type != T_IDENT || acm_op_from_name(ps->t.s, &op))
		FAIL(ps, &ps->t, "unknown operation '%s' (evtchn_bind, grant_map_read, "
				 "grant_map_write, grant_copy, vsock_connect, block_share, "
				 "introspect, manage)", describe(&ps->t));
	r->op = (uint8_t)op;
	r->port_lo = 0;
	r->port_hi = ACM_PORT_MAX;
	ret = lex(ps);
	if (ret || op != ACM_OP_VSOCK_CONNECT)
		return ret;
	if (is_punct(&ps->t, "*"))
		return lex(ps);
	if (ps->t.type != T_NUM)
		FAIL(ps, &ps->t, "vsock_connect needs a port, a range lo-hi, or '*'");
	ret = take_uint(ps, "a port", ACM_PORT_MAX, &lo);
	hi = lo;
	if (!ret && is_punct(&ps->t, "-")) {
		struct tok at;

		ret = lex(ps);
		at = ps->t;
		ret = ret ?: take_uint(ps, "a port", ACM_PORT_MAX, &hi);
		if (!ret && hi < lo)
			FAIL(ps, &at, "port range %llu-%llu is empty", (unsigned long long)lo,
			     (unsigned long long)hi);
	}
	r->port_lo = (uint32_t)lo;
	r->port_hi = (uint32_t)hi;
	return ret;
}

static int add_rule(struct parser *ps, const struct acm_rule *r)
{
	int ret = grow(ps, (void **)&ps->pol->rules, &ps->cap_rules, ps->pol->n_rules,
		       sizeof(*r), ACM_MAX_RULES, "rules");

	if (!ret)
		ps->pol->rules[ps->pol->n_rules++] = *r;
	return ret;
}

/* allow A (-> | <->) B : op [ports] {, op [ports]} [audit] ;   or   allow A : ... ; */
static int stmt_allow(struct parser *ps, const struct tok *kw)
{
	struct acm_rule tmpl = { .line = kw->line, .col = kw->col };
	uint32_t first = ps->pol->n_rules;
	char a[ACM_NAME_MAX + 1], b[ACM_NAME_MAX + 1];
	struct tok at_a, at_b;
	bool both = false;
	int ret = take_name(ps, "STE type", a, &at_a);

	if (ret)
		return ret;
	if (lookup(ps->pol->ste, ps->pol->n_ste, a, &tmpl.subj_type))
		FAIL(ps, &at_a, "unknown STE type '%s'", a);
	tmpl.obj_type = tmpl.subj_type;
	if (is_punct(&ps->t, "->") || is_punct(&ps->t, "<->")) {
		both = is_punct(&ps->t, "<->");
		ret = lex(ps) ?: take_name(ps, "STE type", b, &at_b);
		if (ret)
			return ret;
		if (lookup(ps->pol->ste, ps->pol->n_ste, b, &tmpl.obj_type))
			FAIL(ps, &at_b, "unknown STE type '%s'", b);
	}
	ret = expect(ps, ":", "before the operations");
	while (!ret) {
		struct acm_rule r = tmpl;

		ret = op_spec(ps, &r) ?: add_rule(ps, &r);
		if (!ret && both && r.subj_type != r.obj_type) {
			uint32_t t = r.subj_type;

			r.subj_type = r.obj_type;
			r.obj_type = t;
			ret = add_rule(ps, &r);
		}
		if (ret || !is_punct(&ps->t, ","))
			break;
		ret = lex(ps);
	}
	if (ret)
		return ret;
	if (is_word(&ps->t, "audit")) {
		for (uint32_t i = first; i < ps->pol->n_rules; i++)
			ps->pol->rules[i].audit = 1;
		ret = lex(ps);
	}
	return ret ?: expect(ps, ";", "after the rule");
}

static int id_list(struct parser *ps, uint32_t **arr, uint32_t *n)
{
	for (;;) {
		uint64_t v = 0;
		uint32_t *p;
		int ret = take_uint(ps, "an id", UINT32_MAX - 1, &v);

		if (ret)
			return ret;
		if (*n >= ACM_MAX_IDS)
			FAIL(ps, &ps->t, "too many ids (at most %d)", ACM_MAX_IDS);
		p = realloc(*arr, (*n + 1) * sizeof(*p));
		if (!p)
			FAIL(ps, &ps->t, "out of memory");
		*arr = p;
		p[(*n)++] = (uint32_t)v;
		if (!is_punct(&ps->t, ","))
			break;
		ret = lex(ps);
		if (ret)
			return ret;
	}
	return expect(ps, ";", "after the id list");
}

static int grant_list(struct parser *ps, struct acm_role *r, enum acm_admin_op op)
{
	for (;;) {
		struct acm_grant g = { .op = (uint8_t)op, .label = ACM_ANY_LABEL };
		struct acm_grant *p;
		int ret;

		if (is_punct(&ps->t, "*")) {
			ret = lex(ps);
		} else {
			char name[ACM_NAME_MAX + 1];
			struct tok at;
			uint32_t i;

			ret = take_name(ps, "label", name, &at);
			if (ret)
				return ret;
			for (i = 0; i < ps->pol->n_labels; i++)
				if (strcmp(ps->pol->labels[i].name, name) == 0)
					break;
			if (i == ps->pol->n_labels)
				FAIL(ps, &at, "unknown label '%s' (declare labels before roles)",
				     name);
			g.label = i;
		}
		if (ret)
			return ret;
		if (r->n_grants >= ACM_MAX_LABELS * ACM_ADMIN_COUNT)
			FAIL(ps, &ps->t, "too many grants in role '%s'", r->name);
		p = realloc(r->grants, (r->n_grants + 1) * sizeof(*p));
		if (!p)
			FAIL(ps, &ps->t, "out of memory");
		r->grants = p;
		p[r->n_grants++] = g;
		if (!is_punct(&ps->t, ","))
			break;
		ret = lex(ps);
		if (ret)
			return ret;
	}
	return expect(ps, ";", "after the label list");
}

static int stmt_role(struct parser *ps, const struct tok *kw)
{
	struct acm_policy *pol = ps->pol;
	struct acm_role *r;
	struct tok at;
	int ret = grow(ps, (void **)&pol->roles, &ps->cap_roles, pol->n_roles, sizeof(*r),
		       ACM_MAX_ROLES, "roles");

	if (ret)
		return ret;
	r = &pol->roles[pol->n_roles++];
	r->line = kw->line;
	ret = take_name(ps, "role", r->name, &at);
	if (ret)
		return ret;
	for (uint32_t i = 0; i + 1 < pol->n_roles; i++)
		if (strcmp(pol->roles[i].name, r->name) == 0)
			FAIL(ps, &at, "role '%s' declared twice", r->name);
	ret = expect(ps, "{", "after the role name");
	while (!ret && !is_punct(&ps->t, "}")) {
		struct tok k = ps->t;

		ret = lex(ps);
		if (ret)
			return ret;
		if (is_word(&k, "uid"))
			ret = id_list(ps, &r->uids, &r->n_uids);
		else if (is_word(&k, "gid"))
			ret = id_list(ps, &r->gids, &r->n_gids);
		else if (is_word(&k, "create"))
			ret = grant_list(ps, r, ACM_ADMIN_CREATE);
		else if (is_word(&k, "manage"))
			ret = grant_list(ps, r, ACM_ADMIN_MANAGE);
		else if (is_word(&k, "introspect"))
			ret = grant_list(ps, r, ACM_ADMIN_INTROSPECT);
		else
			FAIL(ps, &k, "unknown role setting '%s' (uid, gid, create, manage, "
				     "introspect)", describe(&k));
	}
	return ret ? ret : lex(ps);
}

static int parse_all(struct parser *ps)
{
	bool named = false;
	int ret = lex(ps);

	while (!ret && ps->t.type != T_EOF) {
		struct tok kw = ps->t;

		if (kw.type != T_IDENT)
			FAIL(ps, &kw, "expected a statement, found '%s'", describe(&kw));
		if (!named && strcmp(kw.s, "policy") != 0)
			FAIL(ps, &kw, "a policy starts with 'policy NAME;'");
		ret = lex(ps);
		if (ret)
			return ret;
		if (strcmp(kw.s, "policy") == 0) {
			if (named)
				FAIL(ps, &kw, "second 'policy' statement");
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
			FAIL(ps, &kw, "unknown statement '%s' (policy, host, ste, cw, conflict, "
				      "label, allow, role)", kw.s);
		}
	}
	if (ret)
		return ret;
	if (!named)
		FAIL(ps, &ps->t, "empty policy: it starts with 'policy NAME;'");
	if (!ps->have_host)
		FAIL(ps, &ps->t, "no 'host { cpus N; memory SIZE; }' block");
	return 0;
}

struct acm_policy *acm_policy_parse(const char *fname, const char *text, size_t len,
				    struct acm_error *err)
{
	struct parser ps = { .fname = fname ? fname : "<policy>", .p = text, .end = text + len,
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

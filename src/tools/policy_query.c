// SPDX-License-Identifier: Apache-2.0
/*
 * bulwark-policy eval and diff: what-if questions against a policy, and which
 * decisions change between two policies.
 */
#include "policy_tool.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(const char *cmd, const char *what)
{
	fprintf(stderr, "bulwark-policy %s: %s (see --help)\n", cmd, what);
	return EXIT_USAGE;
}

int tool_cmd_eval(int argc, char **argv)
{
	static const struct option opts[] = { { "explain", no_argument, NULL, 'x' }, { 0 } };
	struct tool_loaded info;
	struct acm_policy *pol;
	struct acm_decision d;
	uint32_t sl, ol;
	uint64_t port = 0;
	bool explain = false;
	enum acm_op op;
	char text[256], *buf;
	int c, rc = EXIT_USAGE;

	while ((c = getopt_long(argc, argv, "x", opts, NULL)) != -1) {
		if (c != 'x')
			return usage("eval", "unknown option");
		explain = true;
	}
	if (argc - optind < 4 || argc - optind > 5)
		return usage("eval", "expected POLICY SUBJ_LABEL OBJ_LABEL OP [PORT]");
	if (acm_op_from_name(argv[optind + 3], &op))
		return usage("eval", "unknown operation (evtchn_bind, grant_map_read, "
				     "grant_map_write, grant_copy, vsock_connect, block_share, "
				     "introspect, manage)");
	if (op == ACM_OP_VSOCK_CONNECT && argc - optind != 5)
		return usage("eval", "vsock_connect needs a PORT");
	if (argc - optind == 5 && util_parse_uint(argv[optind + 4], 0, UINT32_MAX, &port))
		return usage("eval", "PORT must be a number up to 4294967295");
	pol = tool_load(argv[optind], &info);
	if (!pol)
		return EXIT_REFUSED;
	if (acm_policy_label_find(pol, argv[optind + 1], &sl) ||
	    acm_policy_label_find(pol, argv[optind + 2], &ol)) {
		fprintf(stderr, "bulwark-policy eval: no label '%s' in %s\n",
			acm_policy_label_find(pol, argv[optind + 1], &sl) ? argv[optind + 1]
									  : argv[optind + 2],
			argv[optind]);
		goto out_free;
	}
	acm_policy_decide(pol, sl, ol, op, (uint32_t)port, &d);
	if (d.allow) {
		if (acm_policy_rule_text(pol, (uint32_t)d.rule, text, sizeof(text)))
			text[0] = '\0';
		printf("allow: rule #%d: %s", d.rule, text);
		if (acm_policy_rule_line(pol, (uint32_t)d.rule))
			printf(" (%s:%u)", argv[optind], acm_policy_rule_line(pol, (uint32_t)d.rule));
		printf("\n");
	} else {
		printf("deny: %s\n", acm_reason_name(d.reason));
	}
	rc = d.allow ? EXIT_OK : EXIT_REFUSED;
	if (explain) {
		buf = malloc(65536);
		if (buf && acm_policy_explain(pol, sl, ol, op, (uint32_t)port, buf, 65536) >= 0)
			fputs(buf, stdout);
		free(buf);
	}
out_free:
	acm_policy_free(pol);
	return rc;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Every port at which some vsock rule of either policy starts or stops matching. */
static uint32_t *port_edges(const struct acm_policy *a, const struct acm_policy *b, size_t *n)
{
	size_t cap = 2 * (acm_policy_rule_count(a) + acm_policy_rule_count(b)) + 1, k = 0;
	uint32_t *v = malloc(cap * sizeof(*v));

	if (!v)
		return NULL;
	v[k++] = 0;
	for (int p = 0; p < 2; p++) {
		const struct acm_policy *pol = p ? b : a;

		for (uint32_t i = 0; i < acm_policy_rule_count(pol); i++) {
			struct acm_rule_info r;

			if (acm_policy_rule_get(pol, i, &r) || r.op != ACM_OP_VSOCK_CONNECT)
				continue;
			v[k++] = r.port_lo;
			if (r.port_hi != UINT32_MAX)
				v[k++] = r.port_hi + 1;
		}
	}
	qsort(v, k, sizeof(*v), cmp_u32);
	*n = 0;
	for (size_t i = 0; i < k; i++)
		if (i == 0 || v[i] != v[i - 1])
			v[(*n)++] = v[i];
	return v;
}

static unsigned int diff_pair(const struct acm_policy *a, const struct acm_policy *b,
			      uint32_t as, uint32_t ao, uint32_t bs, uint32_t bo,
			      const uint32_t *edges, size_t n_edges)
{
	const char *s = acm_policy_label_name(a, as), *o = acm_policy_label_name(a, ao);
	unsigned int changes = 0;

	for (unsigned int op = 0; op < ACM_OP_COUNT; op++) {
		size_t n = op == ACM_OP_VSOCK_CONNECT ? n_edges : 1;

		for (size_t i = 0; i < n; i++) {
			struct acm_decision x, y;
			uint32_t port = op == ACM_OP_VSOCK_CONNECT ? edges[i] : 0;

			acm_policy_decide(a, as, ao, (enum acm_op)op, port, &x);
			acm_policy_decide(b, bs, bo, (enum acm_op)op, port, &y);
			if (x.allow == y.allow)
				continue;
			printf("%c %s -> %s : %s", y.allow ? '+' : '-', s, o,
			       acm_op_name((enum acm_op)op));
			if (op == ACM_OP_VSOCK_CONNECT)
				printf(" %u-%u", port,
				       i + 1 < n_edges ? edges[i + 1] - 1 : UINT32_MAX);
			printf("\n");
			changes++;
		}
	}
	if (acm_policy_labels_conflict(a, as, ao) != acm_policy_labels_conflict(b, bs, bo) &&
	    as < ao) {
		printf("%c wall %s, %s: %s\n", acm_policy_labels_conflict(b, bs, bo) ? '+' : '-', s,
		       o, acm_policy_labels_conflict(b, bs, bo) ? "may no longer run together"
								: "may now run together");
		changes++;
	}
	return changes;
}

/* Identities named by either policy: each uid alone, each gid with a uid no policy names. */
struct ident {
	uint32_t uid, gid;
	bool by_gid;
};

static size_t idents(const struct acm_policy *a, const struct acm_policy *b, struct ident **out)
{
	size_t n = 0, cap = 0;
	struct ident *v = NULL;

	for (int p = 0; p < 2; p++) {
		const struct acm_policy *pol = p ? b : a;

		for (uint32_t r = 0; r < acm_policy_role_count(pol); r++) {
			const uint32_t *u, *g;
			uint32_t nu, ng;

			if (acm_policy_role_members(pol, r, &u, &nu, &g, &ng))
				continue;
			for (uint32_t i = 0; i < nu + ng; i++) {
				struct ident id = { i < nu ? u[i] : UINT32_MAX,
						    i < nu ? 0 : g[i - nu], i >= nu };
				bool seen = false;

				for (size_t k = 0; k < n && !seen; k++)
					seen = !memcmp(&v[k], &id, sizeof(id));
				if (seen)
					continue;
				if (n == cap) {
					struct ident *nv = realloc(v, (cap = cap ? 2 * cap : 16) *
									  sizeof(*v));
					if (!nv)
						break;
					v = nv;
				}
				v[n++] = id;
			}
		}
	}
	*out = v;
	return n;
}

static unsigned int diff_admins(const struct acm_policy *a, const struct acm_policy *b)
{
	struct ident *ids = NULL;
	size_t n = idents(a, b, &ids);
	unsigned int changes = 0;

	for (size_t i = 0; i < n; i++) {
		const uint32_t *g = ids[i].by_gid ? &ids[i].gid : NULL;
		size_t ng = ids[i].by_gid ? 1 : 0;
		char who[32];
		bool x, y;

		snprintf(who, sizeof(who), "%s %u", ids[i].by_gid ? "gid" : "uid",
			 ids[i].by_gid ? ids[i].gid : ids[i].uid);
		x = acm_policy_may_load(a, ids[i].uid, g, ng);
		y = acm_policy_may_load(b, ids[i].uid, g, ng);
		if (x != y) {
			printf("%c admin %s : load_policy\n", y ? '+' : '-', who);
			changes++;
		}
		for (uint32_t l = 0; l < acm_policy_label_count(a); l++) {
			uint32_t bl;

			if (acm_policy_label_find(b, acm_policy_label_name(a, l), &bl))
				continue;
			for (unsigned int op = 0; op < ACM_ADMIN_LOAD_POLICY; op++) {
				x = acm_policy_admin_allowed(a, ids[i].uid, g, ng,
							     (enum acm_admin_op)op, l, NULL);
				y = acm_policy_admin_allowed(b, ids[i].uid, g, ng,
							     (enum acm_admin_op)op, bl, NULL);
				if (x == y)
					continue;
				printf("%c admin %s : %s %s\n", y ? '+' : '-', who,
				       acm_admin_op_name((enum acm_admin_op)op),
				       acm_policy_label_name(a, l));
				changes++;
			}
		}
	}
	free(ids);
	return changes;
}

int tool_cmd_diff(int argc, char **argv)
{
	struct tool_loaded ia, ib;
	struct acm_policy *a, *b = NULL;
	unsigned int changes = 0;
	uint32_t *edges = NULL, x;
	size_t n_edges;
	int rc = EXIT_REFUSED;

	if (argc != 3)
		return usage("diff", "expected OLD NEW");
	a = tool_load(argv[1], &ia);
	if (a)
		b = tool_load(argv[2], &ib);
	if (!a || !b)
		goto out_free;
	edges = port_edges(a, b, &n_edges);
	if (!edges)
		goto out_free;
	for (int p = 0; p < 2; p++) {
		const struct acm_policy *from = p ? b : a, *to = p ? a : b;

		for (uint32_t i = 0; i < acm_policy_label_count(from); i++) {
			if (acm_policy_label_find(to, acm_policy_label_name(from, i), &x)) {
				printf("%c label %s\n", p ? '+' : '-', acm_policy_label_name(from, i));
				changes++;
			}
		}
	}
	for (uint32_t s = 0; s < acm_policy_label_count(a); s++) {
		uint32_t bs, bo;

		if (acm_policy_label_find(b, acm_policy_label_name(a, s), &bs))
			continue;
		for (uint32_t o = 0; o < acm_policy_label_count(a); o++)
			if (!acm_policy_label_find(b, acm_policy_label_name(a, o), &bo))
				changes += diff_pair(a, b, s, o, bs, bo, edges, n_edges);
	}
	changes += diff_admins(a, b);
	printf("%u change(s)\n", changes);
	rc = EXIT_OK;
out_free:
	free(edges);
	acm_policy_free(b);
	acm_policy_free(a);
	return rc;
}

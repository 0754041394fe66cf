// SPDX-License-Identifier: Apache-2.0
/*
 * Differential test with fixed seeds: random policies and 10,000 random requests, decided
 * three ways: a naive model written here from the spec (docs/policy.md), the policy-only
 * decision (what `bulwark-policy eval` runs) and the cached monitor (what bulwarkd runs).
 */
#include "acm_test.h"

#define TYPES 12
#define LABELS 20
#define RULES 150
#define DOMS 40
#define REQUESTS 10000

struct model_rule {
	unsigned int s, o;
	enum acm_op op;
	uint32_t lo, hi;
};

struct model {
	bool has[LABELS][TYPES];
	struct model_rule rules[RULES];
	unsigned int dom_label[DOMS];
};

static uint64_t seed;

static uint32_t rnd(uint32_t n)
{
	seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(seed >> 33) % n;
}

/* The spec, literally: shared type, then any rule with subject/object types and port. */
static bool model_allows(const struct model *m, unsigned int sl, unsigned int ol,
			 enum acm_op op, uint32_t port)
{
	bool shared = false;

	for (unsigned int t = 0; t < TYPES; t++)
		shared |= m->has[sl][t] && m->has[ol][t];
	if (!shared)
		return false;
	if (op != ACM_OP_VSOCK_CONNECT)
		port = 0;
	for (unsigned int r = 0; r < RULES; r++) {
		const struct model_rule *x = &m->rules[r];

		if (x->op == op && m->has[sl][x->s] && m->has[ol][x->o] && port >= x->lo &&
		    port <= x->hi)
			return true;
	}
	return false;
}

static char *gen(struct model *m)
{
	size_t cap = 1 << 16, off = 0;
	char *t = malloc(cap);

	assert_non_null(t);
	memset(m, 0, sizeof(*m));
	off += (size_t)snprintf(t, cap, "policy diff;\nhost { cpus 8; memory 8G; }\nste t0");
	for (int i = 1; i < TYPES; i++)
		off += (size_t)snprintf(t + off, cap - off, ", t%d", i);
	off += (size_t)snprintf(t + off, cap - off, ";\n");
	for (int l = 0; l < LABELS; l++) {
		unsigned int n = 1 + rnd(3);

		off += (size_t)snprintf(t + off, cap - off, "label L%02d { ste ", l);
		for (unsigned int k = 0; k < n; k++) {
			unsigned int ty = rnd(TYPES);

			m->has[l][ty] = true;
			off += (size_t)snprintf(t + off, cap - off, "%st%u", k ? ", " : "", ty);
		}
		off += (size_t)snprintf(t + off, cap - off, "; }\n");
	}
	for (int r = 0; r < RULES; r++) {
		struct model_rule *x = &m->rules[r];

		x->s = rnd(TYPES);
		x->o = rnd(TYPES);
		x->op = (enum acm_op)rnd(ACM_OP_COUNT);
		x->lo = 0;
		x->hi = UINT32_MAX;
		off += (size_t)snprintf(t + off, cap - off, "allow t%u -> t%u : %s", x->s, x->o,
					acm_op_name(x->op));
		if (x->op == ACM_OP_VSOCK_CONNECT) {
			x->lo = rnd(100);
			x->hi = x->lo + rnd(20);
			off += (size_t)snprintf(t + off, cap - off, " %u-%u", x->lo, x->hi);
		}
		off += (size_t)snprintf(t + off, cap - off, ";\n");
	}
	return t;
}

static void one_policy(uint64_t s)
{
	struct acm_trust tr = { .n_keys = 1, .threshold = 1 };
	struct acm_error err;
	struct model m;
	struct acm_policy *pol, *pol2;
	struct acm *a;
	uint32_t map[LABELS];
	char *text, name[8];
	unsigned int allows = 0;

	seed = s;
	text = gen(&m);
	pol = t_parse(text);
	pol2 = t_parse(text);
	/* A small cache, so the requests also exercise eviction. */
	a = acm_new(&tr, 64);
	assert_non_null(a);
	assert_int_equal(acm_commit(a, pol2, NULL, &err), 0);
	for (unsigned int l = 0; l < LABELS; l++) {
		snprintf(name, sizeof(name), "L%02u", l);
		map[l] = t_label(pol, name);
	}
	for (uint32_t d = 0; d < DOMS; d++) {
		struct acm_txn txn;

		m.dom_label[d] = rnd(LABELS);
		snprintf(name, sizeof(name), "L%02u", m.dom_label[d]);
		assert_int_equal(acm_domain_start_prepare(a, d + 1, name, &txn, &err), 0);
		assert_int_equal(acm_domain_start_commit(a, &txn), 0);
	}
	for (int i = 0; i < REQUESTS; i++) {
		struct acm_request rq = { 1 + rnd(DOMS), 1 + rnd(DOMS),
					  (enum acm_op)rnd(ACM_OP_COUNT), rnd(130) };
		unsigned int sl = m.dom_label[rq.subject - 1], ol = m.dom_label[rq.object - 1];
		bool want = model_allows(&m, sl, ol, rq.op, rq.port);
		struct acm_decision d1, d2;

		acm_policy_decide(pol, map[sl], map[ol], rq.op, rq.port, &d1);
		assert_int_equal(acm_decide(a, &rq, &d2), 0);
		if (d1.allow != want || d2.allow != want)
			fail_msg("seed %llu request %d: L%02u -> L%02u %s %u: model %d eval %d "
				 "monitor %d", (unsigned long long)s, i, sl, ol,
				 acm_op_name(rq.op), rq.port, want, d1.allow, d2.allow);
		if (want) {
			struct acm_rule_info ri;

			/* The rule reported must itself allow the request. */
			assert_int_equal(d1.rule, d2.rule);
			assert_int_equal(acm_policy_rule_get(pol, (uint32_t)d1.rule, &ri), 0);
			assert_int_equal(ri.op, rq.op);
		}
		allows += want;
	}
	/* Both outcomes are common, so the comparison means something. */
	assert_true(allows > REQUESTS / 20 && allows < REQUESTS - REQUESTS / 20);
	free(text);
	acm_policy_free(pol);
	acm_free(a);
}

static void test_differential(void **state)
{
	static const uint64_t seeds[] = { 1, 42, 123456789, 0xdeadbeef, 7777 };

	for (size_t i = 0; i < ARRAY_SIZE(seeds); i++)
		one_policy(seeds[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_differential),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

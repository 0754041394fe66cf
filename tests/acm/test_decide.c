// SPDX-License-Identifier: Apache-2.0
/*
 * Table-driven semantics of policy decisions: STE with operations and ports, read/write
 * separation, the shared-type rule, default deny, roles, resource caps and image rules.
 */
#include "acm_test.h"

#include <openssl/evp.h>

struct row {
	const char *subj, *obj;
	enum acm_op op;
	uint32_t port;
	bool allow;
	enum acm_reason reason;
};

#define A(s, o, op, port) { s, o, op, port, true, ACM_R_RULE }
#define D(s, o, op, port, why) { s, o, op, port, false, why }

static const struct row example_rows[] = {
	A("web_frontend", "database", ACM_OP_EVTCHN_BIND, 0),
	A("database", "web_frontend", ACM_OP_EVTCHN_BIND, 0),
	A("web_frontend", "database", ACM_OP_VSOCK_CONNECT, 5432),
	D("web_frontend", "database", ACM_OP_VSOCK_CONNECT, 5433, ACM_R_DEFAULT_DENY),
	D("web_frontend", "database", ACM_OP_VSOCK_CONNECT, 5431, ACM_R_DEFAULT_DENY),
	D("database", "web_frontend", ACM_OP_VSOCK_CONNECT, 5432, ACM_R_DEFAULT_DENY),
	/* One-way channel: read-only mapping of the database by the front end. */
	A("web_frontend", "database", ACM_OP_GRANT_MAP_READ, 0),
	D("web_frontend", "database", ACM_OP_GRANT_MAP_WRITE, 0, ACM_R_DEFAULT_DENY),
	D("web_frontend", "database", ACM_OP_GRANT_COPY, 0, ACM_R_DEFAULT_DENY),
	D("database", "web_frontend", ACM_OP_GRANT_MAP_READ, 0, ACM_R_DEFAULT_DENY),
	A("database", "storage_backend", ACM_OP_BLOCK_SHARE, 0),
	A("storage_backend", "database", ACM_OP_BLOCK_SHARE, 0),
	A("storage_backend", "database", ACM_OP_GRANT_MAP_WRITE, 0),
	A("database", "storage_backend", ACM_OP_GRANT_COPY, 0),
	A("database", "storage_backend", ACM_OP_VSOCK_CONNECT, 9000),
	A("database", "storage_backend", ACM_OP_VSOCK_CONNECT, 9010),
	D("database", "storage_backend", ACM_OP_VSOCK_CONNECT, 9011, ACM_R_DEFAULT_DENY),
	D("database", "storage_backend", ACM_OP_VSOCK_CONNECT, 8999, ACM_R_DEFAULT_DENY),
	D("storage_backend", "database", ACM_OP_VSOCK_CONNECT, 9000, ACM_R_DEFAULT_DENY),
	/* No shared STE type: nothing at all, not even with a rule for the types. */
	D("web_frontend", "storage_backend", ACM_OP_EVTCHN_BIND, 0, ACM_R_NO_SHARED_TYPE),
	D("storage_backend", "web_frontend", ACM_OP_GRANT_MAP_READ, 0, ACM_R_NO_SHARED_TYPE),
	D("monitor", "storage_backend", ACM_OP_INTROSPECT, 0, ACM_R_NO_SHARED_TYPE),
	A("monitor", "web_frontend", ACM_OP_INTROSPECT, 0),
	A("monitor", "database", ACM_OP_INTROSPECT, 0),
	D("web_frontend", "database", ACM_OP_INTROSPECT, 0, ACM_R_DEFAULT_DENY),
	D("database", "monitor", ACM_OP_INTROSPECT, 0, ACM_R_DEFAULT_DENY),
	D("monitor", "web_frontend", ACM_OP_MANAGE, 0, ACM_R_DEFAULT_DENY),
	D("monitor", "web_frontend", ACM_OP_GRANT_MAP_READ, 0, ACM_R_DEFAULT_DENY),
	A("bank_a_app", "database", ACM_OP_EVTCHN_BIND, 0),
	D("bank_a_app", "bank_b_app", ACM_OP_EVTCHN_BIND, 0, ACM_R_DEFAULT_DENY),
	D("web_frontend", "web_frontend", ACM_OP_MANAGE, 0, ACM_R_DEFAULT_DENY),
};

static void test_example_table(void **state)
{
	struct acm_policy *pol = t_example();

	for (size_t i = 0; i < ARRAY_SIZE(example_rows); i++) {
		const struct row *r = &example_rows[i];
		struct acm_decision d;

		acm_policy_decide(pol, t_label(pol, r->subj), t_label(pol, r->obj), r->op, r->port,
				  &d);
		if (d.allow != r->allow || d.reason != r->reason)
			fail_msg("row %zu: %s -> %s %s %u: got %s (%s)", i, r->subj, r->obj,
				 acm_op_name(r->op), r->port, d.allow ? "allow" : "deny",
				 acm_reason_name(d.reason));
		assert_true(d.allow ? d.rule >= 0 : d.rule == ACM_NO_RULE);
		/* Every deny is audited; allows only by an "audit" rule. */
		assert_true(d.allow || d.audit);
	}
	acm_policy_free(pol);
}

static void test_audit_flag_and_rule(void **state)
{
	struct acm_policy *pol = t_example();
	struct acm_decision d;
	struct acm_rule_info ri;

	acm_policy_decide(pol, t_label(pol, "monitor"), t_label(pol, "database"),
			  ACM_OP_INTROSPECT, 0, &d);
	assert_true(d.allow && d.audit);
	assert_int_equal(acm_policy_rule_get(pol, (uint32_t)d.rule, &ri), 0);
	assert_string_equal(ri.subject_type, "ops");
	assert_string_equal(ri.object_type, "watched");
	assert_int_equal(ri.op, ACM_OP_INTROSPECT);
	assert_true(ri.line > 0);
	acm_policy_decide(pol, t_label(pol, "web_frontend"), t_label(pol, "database"),
			  ACM_OP_EVTCHN_BIND, 0, &d);
	assert_true(d.allow && !d.audit);
	acm_policy_free(pol);
}

static const char mini[] =
	"policy mini;\nhost { cpus 4; memory 8G; }\nste x, y, z;\n"
	"label a { ste x; }\nlabel b { ste y; }\nlabel c { ste y, z; }\n"
	"allow x -> y : evtchn_bind;\nallow y <-> z : grant_map_read;\n";

static void test_shared_type_required(void **state)
{
	struct acm_policy *pol = t_parse(mini);
	struct acm_decision d;

	/* A rule x -> y exists, but a and b share no type: sHype says no. */
	acm_policy_decide(pol, t_label(pol, "a"), t_label(pol, "b"), ACM_OP_EVTCHN_BIND, 0, &d);
	assert_false(d.allow);
	assert_int_equal(d.reason, ACM_R_NO_SHARED_TYPE);
	acm_policy_decide(pol, t_label(pol, "b"), t_label(pol, "c"), ACM_OP_GRANT_MAP_READ, 0, &d);
	assert_true(d.allow);
	acm_policy_decide(pol, t_label(pol, "c"), t_label(pol, "b"), ACM_OP_GRANT_MAP_READ, 0, &d);
	assert_true(d.allow);
	acm_policy_decide(pol, t_label(pol, "c"), t_label(pol, "c"), ACM_OP_GRANT_MAP_READ, 0, &d);
	assert_true(d.allow);
	acm_policy_decide(pol, t_label(pol, "b"), t_label(pol, "b"), ACM_OP_GRANT_MAP_READ, 0, &d);
	assert_false(d.allow);
	acm_policy_free(pol);
}

static void test_default_deny(void **state)
{
	struct acm_policy *pol = t_parse("policy empty;\nhost { cpus 2; memory 1G; }\n"
					 "ste t;\nlabel a { ste t; }\nlabel b { ste t; }\n");
	struct acm_decision d;

	for (unsigned int op = 0; op < ACM_OP_COUNT; op++) {
		acm_policy_decide(pol, 0, 1, (enum acm_op)op, 80, &d);
		assert_false(d.allow);
		assert_int_equal(d.reason, ACM_R_DEFAULT_DENY);
	}
	acm_policy_decide(pol, 0, 7, ACM_OP_EVTCHN_BIND, 0, &d);
	assert_int_equal(d.reason, ACM_R_NO_OBJECT);
	acm_policy_decide(pol, 9, 0, ACM_OP_EVTCHN_BIND, 0, &d);
	assert_int_equal(d.reason, ACM_R_NO_SUBJECT);
	acm_policy_decide(pol, 0, 1, ACM_OP_COUNT, 0, &d);
	assert_false(d.allow);
	acm_policy_decide(NULL, 0, 1, ACM_OP_EVTCHN_BIND, 0, &d);
	assert_int_equal(d.reason, ACM_R_NO_POLICY);
	acm_policy_free(pol);
}

struct admin_row {
	uint32_t uid, gid;
	enum acm_admin_op op;
	const char *label;
	bool allow;
};

static void test_roles(void **state)
{
	static const struct admin_row rows[] = {
		{ 1000, 1000, ACM_ADMIN_CREATE, "database", true },
		{ 1000, 1000, ACM_ADMIN_MANAGE, "bank_b_app", true },
		{ 1000, 1000, ACM_ADMIN_INTROSPECT, "database", false },
		{ 5, 27, ACM_ADMIN_CREATE, "monitor", true },
		{ 2001, 2001, ACM_ADMIN_CREATE, "bank_a_app", true },
		{ 2001, 2001, ACM_ADMIN_MANAGE, "bank_a_app", true },
		{ 2001, 2001, ACM_ADMIN_CREATE, "bank_b_app", false },
		{ 2001, 2001, ACM_ADMIN_MANAGE, "database", false },
		{ 7, 2500, ACM_ADMIN_INTROSPECT, "web_frontend", true },
		{ 7, 2500, ACM_ADMIN_INTROSPECT, "monitor", false },
		{ 7, 2500, ACM_ADMIN_CREATE, "web_frontend", false },
		/* root is nobody special */
		{ 0, 0, ACM_ADMIN_CREATE, "database", false },
		{ 0, 0, ACM_ADMIN_MANAGE, "monitor", false },
	};
	struct acm_policy *pol = t_example();

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		bool got = acm_policy_admin_allowed(pol, rows[i].uid, &rows[i].gid, 1, rows[i].op,
						    t_label(pol, rows[i].label), NULL);

		if (got != rows[i].allow)
			fail_msg("admin row %zu: uid %u gid %u %s %s: got %d", i, rows[i].uid,
				 rows[i].gid, acm_admin_op_name(rows[i].op), rows[i].label, got);
	}
	assert_false(acm_policy_admin_allowed(pol, 1000, NULL, 0, ACM_ADMIN_CREATE, 999, NULL));
	/* Submitting a policy is its own permission, not implied by create/manage *. */
	assert_true(acm_policy_may_load(pol, 1500, NULL, 0));
	assert_false(acm_policy_may_load(pol, 1000, NULL, 0));
	assert_false(acm_policy_may_load(pol, 0, NULL, 0));
	assert_false(acm_policy_admin_allowed(pol, 1500, NULL, 0, ACM_ADMIN_LOAD_POLICY, 0, NULL));
	assert_false(acm_policy_may_load(NULL, 1500, NULL, 0));
	acm_policy_free(pol);
}

static void test_resources(void **state)
{
	struct acm_policy *pol = t_example();
	uint32_t web = t_label(pol, "web_frontend");
	struct acm_limits ok = { 4, 4ULL << 30, 40, 100u << 20, 50u << 20 }, r;
	struct acm_error err;

	assert_int_equal(acm_policy_check_resources(pol, web, &ok, &err), 0);
	r = ok, r.vcpus = 5;
	assert_int_equal(acm_policy_check_resources(pol, web, &r, &err), -EPERM);
	assert_non_null(strstr(err.msg, "vCPUs"));
	r = ok, r.memory++;
	assert_int_equal(acm_policy_check_resources(pol, web, &r, &err), -EPERM);
	r = ok, r.cpu_pct = 41;
	assert_int_equal(acm_policy_check_resources(pol, web, &r, &err), -EPERM);
	r = ok, r.io_write++;
	assert_int_equal(acm_policy_check_resources(pol, web, &r, &err), -EPERM);
	assert_int_equal(acm_policy_check_resources(pol, 999, &r, &err), -ENOENT);
	/* A label without limits gets the small defaults. */
	assert_int_equal(acm_policy_limits(pol, t_label(pol, "bank_a_app"), &r), 0);
	assert_int_equal(r.io_read, 10u << 20);
	acm_policy_free(pol);
}

static void test_never_whole_host(void **state)
{
	static const char *const bad[] = {
		"label l { cpu 100%; }", "label l { vcpus 8; }", "label l { memory 16G; }",
		"label l { vcpus 0; }", "label l { cpu 0%; }", "label l { io_read 0; }",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char text[256];
		struct acm_error err = { "" };
		struct acm_policy *pol;

		snprintf(text, sizeof(text), "policy p;\nhost { cpus 8; memory 16G; }\n%s\n", bad[i]);
		pol = acm_policy_parse("h.pol", text, strlen(text), &err);
		if (pol)
			fail_msg("accepted: %s", bad[i]);
		assert_non_null(strstr(err.msg, "h.pol:3:"));
	}
}

static void sign_image(const uint8_t seed[32], enum acm_image_kind kind, const uint8_t dig[32],
		       uint8_t sig[64])
{
	uint8_t msg[ACM_IMAGE_MSG_LEN];
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t n = 64;

	acm_image_message(kind, dig, msg);
	assert_non_null(k);
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, NULL, NULL, k), 1);
	assert_int_equal(EVP_DigestSign(ctx, sig, &n, msg, sizeof(msg)), 1);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(k);
}

static void hex(const char *s, uint8_t *out)
{
	for (int i = 0; i < 32; i++) {
		unsigned int b;

		assert_int_equal(sscanf(s + 2 * i, "%2x", &b), 1);
		out[i] = (uint8_t)b;
	}
}

static void test_images(void **state)
{
	/* RFC 8032 test vector 1: a public test key, pinned for bank_*_app in the example. */
	static const char rfc_seed[] =
		"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
	static const char kernel[] =
		"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
	static const char initrd[] =
		"60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752";
	struct acm_policy *pol = t_example();
	uint32_t web = t_label(pol, "web_frontend"), bank = t_label(pol, "bank_a_app");
	uint8_t seed[32], other[32], dig[32], dig2[32], sig[64];
	struct acm_error err;

	hex(rfc_seed, seed);
	hex(kernel, dig);
	hex(initrd, dig2);
	assert_int_equal(acm_policy_check_image(pol, web, ACM_IMAGE_KERNEL, dig, NULL, &err), 0);
	assert_int_equal(acm_policy_check_image(pol, web, ACM_IMAGE_INITRD, dig2, NULL, &err), 0);
	/* Digests are per kind: the kernel's digest is not an allowed initrd. */
	assert_int_equal(acm_policy_check_image(pol, web, ACM_IMAGE_INITRD, dig, NULL, &err),
			 -EPERM);
	assert_int_equal(acm_policy_check_image(pol, bank, ACM_IMAGE_KERNEL, dig, NULL, &err),
			 -EPERM);
	sign_image(seed, ACM_IMAGE_KERNEL, dig2, sig);
	assert_int_equal(acm_policy_check_image(pol, bank, ACM_IMAGE_KERNEL, dig2, sig, &err), 0);
	/* The signature binds kind and digest. */
	assert_int_equal(acm_policy_check_image(pol, bank, ACM_IMAGE_INITRD, dig2, sig, &err),
			 -EPERM);
	dig2[0] ^= 1;
	assert_int_equal(acm_policy_check_image(pol, bank, ACM_IMAGE_KERNEL, dig2, sig, &err),
			 -EPERM);
	dig2[0] ^= 1;
	memcpy(other, seed, 32);
	other[5] ^= 0x40;
	sign_image(other, ACM_IMAGE_KERNEL, dig2, sig);
	assert_int_equal(acm_policy_check_image(pol, bank, ACM_IMAGE_KERNEL, dig2, sig, &err),
			 -EPERM);
	/* The web label lists digests only; a signature does not help. */
	sign_image(seed, ACM_IMAGE_KERNEL, dig2, sig);
	assert_int_equal(acm_policy_check_image(pol, web, ACM_IMAGE_KERNEL, dig2, sig, &err),
			 -EPERM);
	acm_policy_free(pol);
}

static void test_explain(void **state)
{
	struct acm_policy *pol = t_example();
	char buf[4096];
	int n;

	n = acm_policy_explain(pol, t_label(pol, "web_frontend"), t_label(pol, "database"),
			       ACM_OP_VSOCK_CONNECT, 80, buf, sizeof(buf));
	assert_true(n > 0);
	assert_non_null(strstr(buf, "shared STE types: {watched, web}"));
	assert_non_null(strstr(buf, "not matching (port): rule #"));
	assert_non_null(strstr(buf, "decision: deny (default deny)"));
	n = acm_policy_explain(pol, t_label(pol, "web_frontend"), t_label(pol, "storage_backend"),
			       ACM_OP_EVTCHN_BIND, 0, buf, sizeof(buf));
	assert_non_null(strstr(buf, "share no STE type"));
	assert_int_equal(acm_policy_explain(pol, 0, 1, ACM_OP_EVTCHN_BIND, 0, buf, 20), -ENOSPC);
	acm_policy_free(pol);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_table),
		cmocka_unit_test(test_audit_flag_and_rule),
		cmocka_unit_test(test_shared_type_required),
		cmocka_unit_test(test_default_deny),
		cmocka_unit_test(test_roles),
		cmocka_unit_test(test_resources),
		cmocka_unit_test(test_never_whole_host),
		cmocka_unit_test(test_images),
		cmocka_unit_test(test_explain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: Apache-2.0
/*
 * The language and the compiled form: errors at file:line:col, canonical encoding
 * (declaration order does not matter), print/parse round trip, strict decoding.
 */
#include "acm_test.h"

struct bad {
	const char *text;
	const char *msg;     /* expected substring, including line:col */
};

#define HDR "policy p;\nhost { cpus 8; memory 16G; }\n"

static const struct bad bad_inputs[] = {
	{ "", "<x>:1:1: empty policy" },
	{ "host { cpus 2; memory 1G; }", "<x>:1:1: a policy starts with 'policy NAME;'" },
	{ "policy p", "<x>:1:9: expected ';' after the policy name, found 'end of file'" },
	{ "policy p;\n", "no 'host" },
	{ HDR "ste a, a;", "<x>:3:8: type 'a' declared twice" },
	{ HDR "ste a;\nlabel l { ste b; }", "<x>:4:15: unknown STE type 'b'" },
	{ HDR "ste a;\nlabel l { vcpus many; }", "<x>:4:17: expected a vCPU count" },
	{ HDR "label l { }\nlabel l { }", "<x>:4:7: label 'l' declared twice" },
	{ HDR "label l { colour red; }", "<x>:3:11: unknown label setting 'colour'" },
	{ HDR "ste a;\nallow a -> b : evtchn_bind;", "<x>:4:12: unknown STE type 'b'" },
	{ HDR "ste a;\nallow a : fly;", "<x>:4:11: unknown operation 'fly'" },
	{ HDR "ste a;\nallow a : vsock_connect;", "<x>:4:24: vsock_connect needs a port" },
	{ HDR "ste a;\nallow a : vsock_connect 90-80;", "<x>:4:28: port range 90-80 is empty" },
	{ HDR "ste a;\nallow a : vsock_connect 99999999999;", "<x>:4:25: expected a port" },
	{ HDR "ste a;\nallow a : evtchn_bind", "<x>:4:22: expected ';' after the rule" },
	{ HDR "cw x, y;\nconflict c = x;", "<x>:4:1: conflict set 'c' needs at least two types" },
	{ HDR "cw x, y;\nconflict c = x, y;\nlabel l { cw x, y; }",
	  "<x>:5:1: label 'l' holds two types of conflict set 'c'" },
	{ HDR "label l { image kernel sha256 \"abc\"; }", "<x>:3:31: expected 64 hex digits" },
	{ HDR "label l { image kernel md5 \"abc\"; }", "<x>:3:24: expected 'sha256' or 'ed25519'" },
	{ HDR "role r { create nobody; }", "<x>:3:17: unknown label 'nobody'" },
	{ HDR "role r { uid -1; }", "<x>:3:14: expected an id" },
	{ HDR "label l { memory 5X; }", "<x>:3:18: expected memory (a size" },
	{ HDR "ste a; $", "<x>:3:8: unexpected character '$'" },
	{ HDR "ste \"a\";", "<x>:3:5: expected type name, found 'a string'" },
	{ HDR "label l { ste a\x01; }", "<x>:3:16: unexpected byte 0x01" },
	{ HDR "policy q;", "<x>:3:1: second 'policy' statement" },
	{ HDR "host { cpus 2; memory 1G; }", "<x>:3:1: second 'host' block" },
	{ HDR "frobnicate;", "<x>:3:1: unknown statement 'frobnicate'" },
	{ HDR "ste aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa;",
	  "<x>:3:5: type name longer than 63" },
	{ "policy p;\nhost { cpus 1; memory 1G; }", "host needs at least 2 cpus" },
	{ "policy p;\nhost { cpus 4; }", "<x>:2:16: host needs both 'cpus' and 'memory'" },
	{ HDR "label l { ste \"unterminated", "<x>:3:15: string not closed" },
};

static void test_errors(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad_inputs); i++) {
		struct acm_error err = { "" };
		struct acm_policy *pol = acm_policy_parse("<x>", bad_inputs[i].text,
							  strlen(bad_inputs[i].text), &err);

		if (pol)
			fail_msg("input %zu accepted", i);
		if (!strstr(err.msg, bad_inputs[i].msg))
			fail_msg("input %zu: got \"%s\", want \"%s\"", i, err.msg, bad_inputs[i].msg);
		/* One line, always. */
		assert_null(strchr(err.msg, '\n'));
	}
}

static const char order_a[] =
	"policy o;\nhost { cpus 8; memory 16G; }\nste b, a;\ncw y, x;\nconflict c = y, x;\n"
	"label z { ste b, a; cw x; }\nlabel m { ste a; cw y; }\n"
	"allow b -> a : grant_copy, evtchn_bind;\nallow a <-> b : vsock_connect 7;\n"
	"role r2 { gid 5; uid 9, 3; manage z, m; }\nrole r1 { uid 1; create *; }\n";
static const char order_b[] =
	"# same policy, different order and spelling\npolicy o;\nhost { memory 16384M; cpus 8; }\n"
	"ste a;\nste b;\ncw x, y;\nconflict c = x, y;\n"
	"label m { cw y; ste a; }\nlabel z { cw x; ste a; ste b; }\n"
	"allow a -> b : vsock_connect 7;\nallow b -> a : evtchn_bind;\n"
	"allow b -> a : vsock_connect 7-7, grant_copy;\nallow b -> a : evtchn_bind;\n"
	"role r1 { create *; uid 1; }\nrole r2 { uid 3, 9, 9; gid 5; manage m, z; }\n";

static void encode(const struct acm_policy *pol, uint8_t **b, size_t *n)
{
	assert_int_equal(acm_policy_encode(pol, b, n), 0);
}

static void test_canonical(void **state)
{
	struct acm_policy *a = t_parse(order_a), *b = t_parse(order_b);
	uint8_t *ea, *eb, ha[ACM_HASH_LEN], hb[ACM_HASH_LEN];
	size_t na, nb;

	encode(a, &ea, &na);
	encode(b, &eb, &nb);
	assert_int_equal(na, nb);
	assert_memory_equal(ea, eb, na);
	assert_int_equal(acm_policy_hash(a, ha), 0);
	assert_int_equal(acm_policy_hash(b, hb), 0);
	assert_memory_equal(ha, hb, ACM_HASH_LEN);
	/* Duplicates collapse: 4 distinct rules. */
	assert_int_equal(acm_policy_rule_count(b), 4);
	free(ea);
	free(eb);
	acm_policy_free(a);
	acm_policy_free(b);
}

static void test_roundtrip(void **state)
{
	struct acm_policy *pol = t_example(), *back, *dec;
	struct acm_error err;
	uint8_t *e1, *e2, *e3;
	size_t n1, n2, n3;
	char *text = acm_policy_print(pol);

	assert_non_null(text);
	back = acm_policy_parse("printed", text, strlen(text), &err);
	assert_non_null(back);
	encode(pol, &e1, &n1);
	encode(back, &e2, &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(e1, e2, n1);
	dec = acm_policy_decode(e1, n1, &err);
	assert_non_null(dec);
	encode(dec, &e3, &n3);
	assert_int_equal(n1, n3);
	assert_memory_equal(e1, e3, n1);
	/* Decoded policies decide like parsed ones (lines are not part of the form). */
	assert_int_equal(acm_policy_rule_line(dec, 0), 0);
	assert_true(acm_policy_rule_line(pol, 0) > 0);
	free(text);
	free(e1);
	free(e2);
	free(e3);
	acm_policy_free(dec);
	acm_policy_free(back);
	acm_policy_free(pol);
}

static void test_decode_strict(void **state)
{
	struct acm_policy *pol = t_example(), *d;
	struct acm_error err;
	uint8_t *e, *e2;
	size_t n, n2;
	unsigned int refused = 0, accepted = 0;

	encode(pol, &e, &n);
	for (size_t len = 0; len < n; len++) {
		d = acm_policy_decode(e, len, &err);
		if (d)
			fail_msg("truncation to %zu accepted", len);
	}
	/* Any change either fails or yields a policy that encodes to exactly those bytes. */
	for (size_t i = 0; i < n; i++) {
		for (int bit = 0; bit < 8; bit++) {
			e[i] ^= (uint8_t)(1u << bit);
			d = acm_policy_decode(e, n, &err);
			if (d) {
				encode(d, &e2, &n2);
				assert_int_equal(n2, n);
				assert_memory_equal(e2, e, n);
				free(e2);
				acm_policy_free(d);
				accepted++;
			} else {
				assert_non_null(strstr(err.msg, "compiled policy"));
				refused++;
			}
			e[i] ^= (uint8_t)(1u << bit);
		}
	}
	assert_true(refused > accepted);
	free(e);
	acm_policy_free(pol);
}

/* Found by fuzz_policy_decode: a name with an embedded NUL must not decode. */
static void test_decode_embedded_nul(void **state)
{
	struct acm_policy *pol = t_example(), *d;
	struct acm_error err;
	uint8_t *e, *p;
	size_t n;

	encode(pol, &e, &n);
	p = memmem(e, n, "\x07monitor", 8);
	assert_non_null(p);
	p[3] = 0;
	d = acm_policy_decode(e, n, &err);
	assert_null(d);
	assert_non_null(strstr(err.msg, "label name"));
	free(e);
	acm_policy_free(pol);
}

/* Many minimal labels: the decoder's size bounds must not reject a valid policy. */
static void test_many_small_labels(void **state)
{
	size_t cap = 1 << 16, off;
	char *text = malloc(cap);
	struct acm_policy *pol, *d;
	struct acm_error err;
	uint8_t *e;
	size_t n;

	off = (size_t)snprintf(text, cap, "policy m;\nhost { cpus 2; memory 1G; }\n");
	for (int i = 0; i < 300; i++)
		off += (size_t)snprintf(text + off, cap - off, "label %c%d { }\n", 'a' + i % 26, i);
	pol = t_parse(text);
	assert_int_equal(acm_policy_label_count(pol), 300);
	encode(pol, &e, &n);
	d = acm_policy_decode(e, n, &err);
	if (!d)
		fail_msg("decode: %s", err.msg);
	assert_int_equal(acm_policy_label_count(d), 300);
	free(e);
	free(text);
	acm_policy_free(d);
	acm_policy_free(pol);
}

static void warn_count(void *ctx, const char *msg)
{
	(void)msg;
	(*(unsigned int *)ctx)++;
}

static void test_lint(void **state)
{
	struct acm_policy *ex = t_example();
	struct acm_policy *p = t_parse("policy l;\nhost { cpus 4; memory 8G; }\nste x, y, unused;\n"
				       "label a { ste x; }\nlabel b { ste y; }\n"
				       "allow x -> y : evtchn_bind;\nrole empty { uid 1; }\n");
	unsigned int n = 0;

	assert_int_equal(acm_policy_lint(ex, warn_count, &n), 0);
	assert_int_equal(n, 0);
	/* unreachable rule, unused type, two labels without kernels, a role granting nothing */
	assert_int_equal(acm_policy_lint(p, warn_count, &n), 5);
	assert_int_equal(n, 5);
	acm_policy_free(p);
	acm_policy_free(ex);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_canonical),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_decode_strict),
		cmocka_unit_test(test_decode_embedded_nul),
		cmocka_unit_test(test_many_small_labels),
		cmocka_unit_test(test_lint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

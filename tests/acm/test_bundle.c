// SPDX-License-Identifier: Apache-2.0
/*
 * Signed bundles: every way to get one wrong (tampered byte, wrong key, replay, wrong
 * predecessor, truncation, oversize, threshold) is refused and leaves the policy as it was.
 * Keys are generated afresh for each run; none is committed.
 */
#include "acm_test.h"

static uint8_t k1[ACM_KEY_LEN], k2[ACM_KEY_LEN], k3[ACM_KEY_LEN];

static int gen_keys(void **state)
{
	assert_int_equal(acm_key_generate(k1), 0);
	assert_int_equal(acm_key_generate(k2), 0);
	assert_int_equal(acm_key_generate(k3), 0);
	return 0;
}

static struct acm *monitor(unsigned int threshold)
{
	struct acm_trust t = { .n_keys = 2, .threshold = threshold };
	struct acm *a;

	assert_int_equal(acm_key_public(k1, t.keys[0]), 0);
	assert_int_equal(acm_key_public(k2, t.keys[1]), 0);
	a = acm_new(&t, 0);
	assert_non_null(a);
	return a;
}

/* The observable state: version, hash, and a decision that every policy here allows. */
struct snap {
	bool have;
	uint64_t version;
	uint8_t hash[ACM_HASH_LEN];
};

static void snap(struct acm *a, struct snap *s)
{
	memset(s, 0, sizeof(*s));
	s->have = acm_current(a, &s->version, s->hash);
}

static void assert_same(struct acm *a, const struct snap *before)
{
	struct snap now;

	snap(a, &now);
	assert_int_equal(now.have, before->have);
	assert_int_equal(now.version, before->version);
	assert_memory_equal(now.hash, before->hash, ACM_HASH_LEN);
}

/* Loads a v1 (example) then returns its hash. */
static void load_v1(struct acm *a, uint8_t hash[ACM_HASH_LEN])
{
	struct acm_policy *pol = t_example();
	struct acm_error err = { "" };
	size_t len;
	uint8_t *b = t_bundle(pol, 1, NULL, (const uint8_t(*)[ACM_KEY_LEN])k1, 1, &len);

	if (acm_load_bundle(a, b, len, &err))
		fail_msg("v1 refused: %s", err.msg);
	assert_int_equal(acm_policy_hash(pol, hash), 0);
	free(b);
	acm_policy_free(pol);
}

static void test_chain(void **state)
{
	struct acm *a = monitor(1);
	struct acm_policy *pol = t_example();
	uint8_t h1[ACM_HASH_LEN], cur[ACM_HASH_LEN], zero[ACM_HASH_LEN] = { 0 }, *b;
	struct acm_error err;
	struct snap s;
	uint64_t v;
	size_t len;

	load_v1(a, h1);
	assert_true(acm_current(a, &v, cur));
	assert_int_equal(v, 1);
	assert_memory_equal(cur, h1, ACM_HASH_LEN);
	b = t_bundle(pol, 2, h1, (const uint8_t(*)[ACM_KEY_LEN])k2, 1, &len);
	assert_int_equal(acm_load_bundle(a, b, len, &err), 0);
	free(b);
	snap(a, &s);
	/* Replays: the same or an older version. */
	b = t_bundle(pol, 2, h1, (const uint8_t(*)[ACM_KEY_LEN])k1, 1, &len);
	assert_int_equal(acm_load_bundle(a, b, len, &err), -ESTALE);
	assert_non_null(strstr(err.msg, "rollback"));
	free(b);
	b = t_bundle(pol, 1, NULL, (const uint8_t(*)[ACM_KEY_LEN])k1, 1, &len);
	assert_int_equal(acm_load_bundle(a, b, len, &err), -ESTALE);
	free(b);
	/* A newer version that does not replace the current policy. */
	b = t_bundle(pol, 3, zero, (const uint8_t(*)[ACM_KEY_LEN])k1, 1, &len);
	assert_int_equal(acm_load_bundle(a, b, len, &err), -EXDEV);
	free(b);
	h1[0] ^= 1;
	b = t_bundle(pol, 3, h1, (const uint8_t(*)[ACM_KEY_LEN])k1, 1, &len);
	assert_int_equal(acm_load_bundle(a, b, len, &err), -EXDEV);
	free(b);
	assert_same(a, &s);
	/* The rollback floor survives a restart: a fresh monitor with floor 2 refuses v2. */
	acm_free(a);
	a = monitor(1);
	acm_set_version_floor(a, 2);
	b = t_bundle(pol, 2, NULL, (const uint8_t(*)[ACM_KEY_LEN])k1, 1, &len);
	assert_int_equal(acm_load_bundle(a, b, len, &err), -ESTALE);
	free(b);
	assert_false(acm_current(a, NULL, NULL));
	acm_policy_free(pol);
	acm_free(a);
}

static void test_tamper_every_byte(void **state)
{
	struct acm *a = monitor(1);
	struct acm_policy *pol = t_example();
	uint8_t h1[ACM_HASH_LEN], *b;
	struct acm_error err;
	struct snap s;
	size_t len;

	load_v1(a, h1);
	snap(a, &s);
	b = t_bundle(pol, 2, h1, (const uint8_t(*)[ACM_KEY_LEN])k1, 1, &len);
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit += 3) {
			b[i] ^= (uint8_t)(1u << bit);
			if (acm_load_bundle(a, b, len, &err) == 0)
				fail_msg("tampered byte %zu bit %d accepted", i, bit);
			b[i] ^= (uint8_t)(1u << bit);
		}
	}
	assert_same(a, &s);
	/* Every truncation, and one byte too many. */
	for (size_t n = 0; n < len; n++)
		assert_int_equal(acm_load_bundle(a, b, n, &err), -EINVAL);
	b = realloc(b, len + 1);
	b[len] = 0;
	assert_int_equal(acm_load_bundle(a, b, len + 1, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "trailing"));
	assert_same(a, &s);
	/* The untouched bundle still loads: the refusals were about the changes. */
	assert_int_equal(acm_load_bundle(a, b, len, &err), 0);
	free(b);
	acm_policy_free(pol);
	acm_free(a);
}

static void test_keys(void **state)
{
	struct acm *a = monitor(1);
	struct acm_policy *pol = t_example();
	uint8_t *b, *big, h1[ACM_HASH_LEN];
	struct acm_error err;
	struct snap s;
	size_t len;

	b = t_bundle(pol, 1, NULL, (const uint8_t(*)[ACM_KEY_LEN])k3, 1, &len);
	assert_int_equal(acm_load_bundle(a, b, len, &err), -EKEYREJECTED);
	assert_non_null(strstr(err.msg, "untrusted key"));
	free(b);
	b = t_bundle(pol, 1, NULL, NULL, 0, &len);
	assert_int_equal(acm_load_bundle(a, b, len, &err), -EKEYREJECTED);
	assert_non_null(strstr(err.msg, "not signed"));
	/* The same key may not sign twice. */
	assert_int_equal(acm_bundle_sign(&b, &len, k1), 0);
	assert_int_equal(acm_bundle_sign(&b, &len, k1), -EEXIST);
	free(b);
	assert_false(acm_current(a, NULL, NULL));
	/* An oversize bundle is refused on its size alone. */
	big = calloc(1, ACM_BUNDLE_MAX + 1);
	memcpy(big, "BWPOLBDL", 8);
	assert_int_equal(acm_load_bundle(a, big, ACM_BUNDLE_MAX + 1, &err), -E2BIG);
	free(big);
	load_v1(a, h1);
	snap(a, &s);
	acm_free(a);

	/* Threshold two: one pinned signature is not enough, an untrusted one never counts. */
	a = monitor(2);
	b = t_bundle(pol, 1, NULL, (const uint8_t(*)[ACM_KEY_LEN])k1, 1, &len);
	assert_int_equal(acm_load_bundle(a, b, len, &err), -EKEYREJECTED);
	assert_int_equal(acm_bundle_sign(&b, &len, k3), 0);
	assert_int_equal(acm_load_bundle(a, b, len, &err), -EKEYREJECTED);
	assert_int_equal(acm_bundle_sign(&b, &len, k2), 0);
	assert_int_equal(acm_load_bundle(a, b, len, &err), 0);
	free(b);
	acm_policy_free(pol);
	acm_free(a);
}

static void test_verify_before_parse(void **state)
{
	struct acm *a = monitor(1);
	static const uint8_t junk[] = "this is not a compiled policy";
	struct acm_error err;
	uint8_t *b;
	size_t len;

	/* Junk payload with a bad signature: refused for the signature, never parsed. */
	assert_int_equal(acm_bundle_build(junk, sizeof(junk), 1, NULL, &b, &len), 0);
	assert_int_equal(acm_bundle_sign(&b, &len, k1), 0);
	b[len - 1] ^= 1;
	assert_int_equal(acm_load_bundle(a, b, len, &err), -EKEYREJECTED);
	assert_non_null(strstr(err.msg, "bad signature"));
	b[len - 1] ^= 1;
	/* With a good signature it reaches the decoder, which refuses it. */
	assert_int_equal(acm_load_bundle(a, b, len, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "compiled policy"));
	assert_false(acm_current(a, NULL, NULL));
	free(b);
	acm_free(a);
}

static void test_open_commit_race(void **state)
{
	struct acm *a = monitor(1);
	struct acm_policy *pol = t_example(), *p1, *p2;
	struct acm_bundle_info i1, i2;
	uint8_t h1[ACM_HASH_LEN], *b;
	struct acm_error err;
	size_t len;

	load_v1(a, h1);
	b = t_bundle(pol, 2, h1, (const uint8_t(*)[ACM_KEY_LEN])k1, 1, &len);
	assert_int_equal(acm_bundle_open(a, b, len, &p1, &i1, &err), 0);
	assert_int_equal(acm_bundle_open(a, b, len, &p2, &i2, &err), 0);
	assert_int_equal(acm_commit(a, p1, &i1, &err), 0);
	/* The second opener lost: its version is no longer newer. */
	assert_int_equal(acm_commit(a, p2, &i2, &err), -ESTALE);
	acm_policy_free(p2);
	free(b);
	acm_policy_free(pol);
	acm_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_tamper_every_byte),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_verify_before_parse),
		cmocka_unit_test(test_open_commit_race),
	};

	return cmocka_run_group_tests(tests, gen_keys, NULL);
}

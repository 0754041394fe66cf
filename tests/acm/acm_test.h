/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the ACM unit tests: policies from text, keys and bundles. */
#ifndef BULWARK_ACM_TEST_H
#define BULWARK_ACM_TEST_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "acm.h"
#include "util.h"

/* Parses text or fails the test with the parser's message. */
static inline struct acm_policy *t_parse(const char *text)
{
	struct acm_error err = { "" };
	struct acm_policy *pol = acm_policy_parse("test.pol", text, strlen(text), &err);

	if (!pol)
		fail_msg("parse failed: %s", err.msg);
	return pol;
}

/* Loads the documented example policy (path from the build). */
static inline struct acm_policy *t_example(void)
{
	struct acm_error err = { "" };
	struct acm_policy *pol;
	uint8_t *buf;
	size_t len;

	if (util_read_file(EXAMPLE_POLICY, 1 << 20, &buf, &len))
		fail_msg("cannot read %s", EXAMPLE_POLICY);
	pol = acm_policy_parse(EXAMPLE_POLICY, (const char *)buf, len, &err);
	free(buf);
	if (!pol)
		fail_msg("example policy: %s", err.msg);
	return pol;
}

static inline uint32_t t_label(const struct acm_policy *pol, const char *name)
{
	uint32_t l = UINT32_MAX;

	if (acm_policy_label_find(pol, name, &l))
		fail_msg("no label %s", name);
	return l;
}

/* A compiled policy as a signed bundle (caller frees). */
static inline uint8_t *t_bundle(const struct acm_policy *pol, uint64_t version,
				const uint8_t *prev, const uint8_t (*keys)[ACM_KEY_LEN],
				unsigned int n_keys, size_t *len)
{
	uint8_t *bin, *bdl;
	size_t blen;

	assert_int_equal(acm_policy_encode(pol, &bin, &blen), 0);
	assert_int_equal(acm_bundle_build(bin, blen, version, prev, &bdl, len), 0);
	free(bin);
	for (unsigned int i = 0; i < n_keys; i++)
		assert_int_equal(acm_bundle_sign(&bdl, len, keys[i]), 0);
	return bdl;
}

#endif

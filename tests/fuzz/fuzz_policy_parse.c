// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer harness: policy text. Beyond "no crash": whatever parses must print, parse
 * again and encode to the same bytes, and its encoding must decode to itself.
 */
#include "acm.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void noop(void *ctx, const char *msg)
{
	(void)ctx;
	(void)msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acm_error err;
	struct acm_policy *pol = acm_policy_parse("fuzz", (const char *)data, size, &err), *p2, *p3;
	struct acm_decision d;
	uint8_t *e1, *e2, *e3;
	size_t n1, n2, n3;
	char *text;

	if (!pol)
		return 0;
	(void)acm_policy_lint(pol, noop, NULL);
	for (uint32_t s = 0; s < acm_policy_label_count(pol) && s < 4; s++)
		for (unsigned int op = 0; op < ACM_OP_COUNT; op++)
			acm_policy_decide(pol, s, 0, (enum acm_op)op, 80, &d);
	text = acm_policy_print(pol);
	if (!text || acm_policy_encode(pol, &e1, &n1))
		abort();
	p2 = acm_policy_parse("printed", text, strlen(text), &err);
	if (!p2 || acm_policy_encode(p2, &e2, &n2) || n1 != n2 || memcmp(e1, e2, n1))
		abort();
	p3 = acm_policy_decode(e1, n1, &err);
	if (!p3 || acm_policy_encode(p3, &e3, &n3) || n1 != n3 || memcmp(e1, e3, n1))
		abort();
	free(e3);
	free(e2);
	free(e1);
	free(text);
	acm_policy_free(p3);
	acm_policy_free(p2);
	acm_policy_free(pol);
	return 0;
}

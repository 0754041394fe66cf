// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer harness: the compiled policy decoder (what a signed bundle carries).
 * Anything it accepts must be canonical: re-encoding gives the input bytes back.
 */
#include "acm.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acm_error err;
	struct acm_policy *pol = acm_policy_decode(data, size, &err);
	struct acm_decision d;
	uint8_t *e;
	size_t n;
	char *text;

	if (!pol)
		return 0;
	if (acm_policy_encode(pol, &e, &n) || n != size || memcmp(e, data, size))
		abort();
	for (uint32_t s = 0; s < acm_policy_label_count(pol) && s < 4; s++)
		for (unsigned int op = 0; op < ACM_OP_COUNT; op++)
			acm_policy_decide(pol, 0, s, (enum acm_op)op, 443, &d);
	text = acm_policy_print(pol);
	free(text);
	free(e);
	acm_policy_free(pol);
	return 0;
}

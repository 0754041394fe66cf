// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer harness: the bundle loader as bulwarkd runs it. The pinned key is RFC 8032's
 * first test vector (public, test-only), so the seed corpus can hold validly signed
 * bundles. A refused bundle must leave the monitor without a policy.
 */
#include "acm.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t rfc8032_pub[ACM_KEY_LEN] = {
	0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07, 0x3a,
	0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acm_trust t = { .n_keys = 1, .threshold = 1 };
	struct acm_bundle_info info;
	struct acm_error err;
	struct acm *a;
	int ret;

	memcpy(t.keys[0], rfc8032_pub, ACM_KEY_LEN);
	a = acm_new(&t, 64);
	if (!a)
		abort();
	ret = acm_load_bundle(a, data, size, &err);
	if (ret != 0 && acm_current(a, NULL, NULL))
		abort();
	if (ret == 0) {
		struct acm_request rq = { 1, 1, ACM_OP_EVTCHN_BIND, 0 };
		struct acm_decision d;

		if (!acm_current(a, NULL, NULL))
			abort();
		/* Whatever got in, decisions and a repeat load (a replay) behave. */
		(void)acm_decide(a, &rq, &d);
		if (acm_load_bundle(a, data, size, &err) == 0)
			abort();
	}
	(void)acm_bundle_peek(data, size, &info, &(const uint8_t *){ NULL }, &(size_t){ 0 });
	acm_free(a);
	return 0;
}

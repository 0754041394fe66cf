// SPDX-License-Identifier: Apache-2.0
/* libFuzzer harness: arbitrary bytes as a domain definition (what `bulwark define` sends). */
#include <stdint.h>
#include <string.h>

#include "domcfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bwd_dom_cfg c;
	char err[256] = "";
	json_t *o = json_loadb((const char *)data, size, JSON_ALLOW_NUL, NULL);

	if (!o)
		return 0;
	if (domcfg_parse(o, &c, err, sizeof(err)) == 0) {
		/* Accepted: every field is within the bounds the daemon relies on. */
		if (!domcfg_name_ok(c.name) || c.vcpus < 1 || c.vcpus > DOMCFG_MAX_VCPUS ||
		    c.memory < (16u << 20) || c.kernel[0] != '/' ||
		    (c.initrd[0] && c.initrd[0] != '/') ||
		    strnlen(c.cmdline, sizeof(c.cmdline)) == sizeof(c.cmdline))
			__builtin_trap();
	} else if (!err[0] || memchr(err, '\n', strnlen(err, sizeof(err)))) {
		__builtin_trap(); /* every refusal says why, in one line */
	}
	json_decref(o);
	return 0;
}

// SPDX-License-Identifier: Apache-2.0
/* libFuzzer harness: arbitrary bytes as a bulwark-vmm JSON config file. */
#include <stdint.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmm_config c;
	char err[512];

	config_init(&c);
	if (config_parse_json(&c, (const char *)data, size, err, sizeof(err)) == 0) {
		(void)!config_validate(&c, err, sizeof(err));
		if (c.cpus == 0 || c.cpus > CONFIG_MAX_CPUS || c.memory < CONFIG_MIN_MEMORY)
			__builtin_trap();
	} else if (memchr(err, '\n', strnlen(err, sizeof(err)))) {
		__builtin_trap(); /* errors are one line */
	}
	config_free(&c);
	return 0;
}

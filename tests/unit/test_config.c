// SPDX-License-Identifier: Apache-2.0
/* Unit tests of option, JSON config and size parsing, including bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "util.h"

static char err[512];

static void test_sizes(void **state)
{
	uint64_t v = 7;

	(void)state;
	assert_int_equal(util_parse_size("512M", &v), 0);
	assert_int_equal(v, 512 * MiB);
	assert_int_equal(util_parse_size("2G", &v), 0);
	assert_int_equal(v, 2 * GiB);
	assert_int_equal(util_parse_size("2GiB", &v), 0);
	assert_int_equal(v, 2 * GiB);
	assert_int_equal(util_parse_size("4096k", &v), 0);
	assert_int_equal(v, 4 * MiB);
	assert_int_equal(util_parse_size("65536", &v), 0);
	assert_int_equal(v, 65536);
	v = 7;
	assert_int_equal(util_parse_size("", &v), -EINVAL);
	assert_int_equal(util_parse_size("M", &v), -EINVAL);
	assert_int_equal(util_parse_size("-1M", &v), -EINVAL);
	assert_int_equal(util_parse_size("12X", &v), -EINVAL);
	assert_int_equal(util_parse_size("12MM", &v), -EINVAL);
	assert_int_equal(util_parse_size("1 M", &v), -EINVAL);
	assert_int_equal(util_parse_size("99999999999999999999", &v), -ERANGE);
	assert_int_equal(util_parse_size("17179869184G", &v), -ERANGE);
	assert_int_equal(v, 7); /* untouched on error */

	assert_int_equal(util_parse_uint("42", 1, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(util_parse_uint("0", 1, 100, &v), -ERANGE);
	assert_int_equal(util_parse_uint("101", 1, 100, &v), -ERANGE);
	assert_int_equal(util_parse_uint("4x", 1, 100, &v), -EINVAL);
	assert_int_equal(util_parse_uint("+4", 1, 100, &v), -EINVAL);
}

static int args(struct vmm_config *c, int n, ...)
{
	static char prog[] = "bulwark-vmm";
	char *argv[32];
	va_list ap;

	argv[0] = prog;
	va_start(ap, n);
	for (int i = 0; i < n; i++)
		argv[i + 1] = va_arg(ap, char *);
	va_end(ap);
	argv[n + 1] = NULL;
	config_init(c);
	return config_parse_args(c, n + 1, argv, err, sizeof(err));
}

static void test_args(void **state)
{
	struct vmm_config c;

	(void)state;
	assert_int_equal(args(&c, 10, "--kernel", "/k", "--initrd", "/i", "--cpus", "4",
			      "--memory", "1G", "--cmdline", "console=ttyS0 quiet"), 0);
	assert_string_equal(c.kernel, "/k");
	assert_string_equal(c.initrd, "/i");
	assert_int_equal(c.cpus, 4);
	assert_int_equal(c.memory, 1 * GiB);
	assert_string_equal(c.cmdline, "console=ttyS0 quiet");
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);
	config_free(&c);

	assert_int_equal(args(&c, 2, "--on-reboot", "reset"), 0);
	assert_int_equal(c.on_reboot, VMM_REBOOT_RESET);
	assert_int_equal(config_validate(&c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "no kernel"));
	config_free(&c);

	assert_int_equal(args(&c, 1, "--help"), 0);
	assert_true(c.help);
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);
	config_free(&c);

	static const char *const bad[][2] = {
		{ "--cpus", "0" }, { "--cpus", "255" }, { "--cpus", "two" },
		{ "--memory", "1M" }, { "--memory", "3M" }, { "--memory", "2T" },
		{ "--memory", "x" }, { "--on-reboot", "halt" }, { "--kernel", "" },
		{ "--nope", "1" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err[0] = '\0';
		char a0[32], a1[32];

		snprintf(a0, sizeof(a0), "%s", bad[i][0]);
		snprintf(a1, sizeof(a1), "%s", bad[i][1]);
		assert_int_equal(args(&c, 2, a0, a1), -EINVAL);
		assert_true(strlen(err) > 0);
		assert_null(strchr(err, '\n'));
		config_free(&c);
	}
	assert_int_equal(args(&c, 1, "--kernel"), -EINVAL);
	config_free(&c);
	assert_int_equal(args(&c, 3, "--kernel", "/k", "stray"), -EINVAL);
	assert_non_null(strstr(err, "stray"));
	config_free(&c);
}

static int json(struct vmm_config *c, const char *s)
{
	config_init(c);
	return config_parse_json(c, s, strlen(s), err, sizeof(err));
}

static void test_json(void **state)
{
	struct vmm_config c;

	(void)state;
	assert_int_equal(json(&c, "{\"kernel\":\"/k\",\"cpus\":2,\"memory\":\"256M\","
				  "\"on_reboot\":\"reset\",\"console\":\"/run/c.sock\"}"), 0);
	assert_string_equal(c.kernel, "/k");
	assert_int_equal(c.cpus, 2);
	assert_int_equal(c.memory, 256 * MiB);
	assert_int_equal(c.on_reboot, VMM_REBOOT_RESET);
	assert_string_equal(c.console, "/run/c.sock");
	config_free(&c);

	assert_int_equal(json(&c, "{\"memory\": 268435456}"), 0);
	assert_int_equal(c.memory, 256 * MiB);
	config_free(&c);

	static const char *const bad[] = {
		"", "[]", "\"x\"", "{", "{\"kernel\":1}", "{\"cpus\":\"x\"}", "{\"cpus\":-1}",
		"{\"cpus\":true}", "{\"memory\":-4}", "{\"kernel\":\"/a\",\"kernel\":\"/b\"}",
		"{\"colour\":\"red\"}", "{\"kernel\":null}", "{\"cmdline\":[\"a\"]}",
		"{\"kernel\":\"a\\u0000b\"}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err[0] = '\0';
		assert_int_equal(json(&c, bad[i]), -EINVAL);
		assert_true(strlen(err) > 0);
		config_free(&c);
	}
	/* A very long command line is refused, not truncated. */
	static char big[8192];
	memset(big, 'a', sizeof(big));
	memcpy(big, "{\"cmdline\":\"", 12);
	memcpy(big + sizeof(big) - 3, "\"}", 3);
	assert_int_equal(json(&c, big), -EINVAL);
	config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

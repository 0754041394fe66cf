// SPDX-License-Identifier: Apache-2.0
/* Unit tests of admission control and domain config validation (admit.c, domcfg.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "admit.h"
#include "domcfg.h"

#define M (1024ULL * 1024ULL)

static void test_admission(void **state)
{
	struct admit a = { .host_cpus = 4, .host_memory = 4096 * M, .reserve_cpus = 1,
			   .reserve_cpu_pct = 10, .reserve_memory = 1024 * M };
	struct admit_req r = { .vcpus = 2, .memory = 1024 * M, .cpu_pct = 30 };
	char why[256];

	(void)state;
	assert_int_equal(admit_check(&a, &r, why, sizeof(why)), 0);
	admit_add(&a, &r);
	admit_add(&a, &r);
	assert_int_equal(a.used_memory, 2048 * M);
	/* 3 GiB usable: a third 1 GiB domain fits on memory, then the CPU share is full. */
	assert_int_equal(admit_check(&a, &r, why, sizeof(why)), 0);
	admit_add(&a, &r);
	assert_int_equal(admit_check(&a, &(struct admit_req){ 1, 16 * M, 1 }, why, sizeof(why)),
			 -EPERM);
	assert_non_null(strstr(why, "admission: memory"));
	admit_release(&a, &r);
	r.cpu_pct = 61;
	assert_int_equal(admit_check(&a, &r, why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, "cpu share"));
	/* No single domain gets the whole host. */
	assert_int_equal(admit_check(&a, &(struct admit_req){ 4, 16 * M, 1 }, why, sizeof(why)),
			 -EPERM);
	assert_non_null(strstr(why, "single-domain"));
	assert_int_equal(admit_check(&a, &(struct admit_req){ 1, 4096 * M, 1 }, why, sizeof(why)),
			 -EPERM);
	assert_int_equal(admit_check(&a, &(struct admit_req){ 1, 16 * M, 100 }, why, sizeof(why)),
			 -EPERM);
	assert_int_equal(admit_check(&a, &(struct admit_req){ 0, 16 * M, 1 }, why, sizeof(why)),
			 -EPERM);
	/* Releasing more than held saturates. */
	admit_release(&a, &(struct admit_req){ 1, 99999 * M, 99 });
	admit_release(&a, &(struct admit_req){ 1, 99999 * M, 99 });
	admit_release(&a, &(struct admit_req){ 1, 99999 * M, 99 });
	assert_int_equal(a.used_memory, 0);
	assert_int_equal(a.domains, 0);
}

static int cfg(const char *text, struct bwd_dom_cfg *out, char *err)
{
	json_t *o = json_loads(text, 0, NULL);
	int ret;

	assert_non_null(o);
	ret = domcfg_parse(o, out, err, 256);
	json_decref(o);
	return ret;
}

static void test_domcfg(void **state)
{
	static const struct {
		const char *text, *needle;
	} bad[] = {
		{ "{\"label\":\"web\",\"memory\":64,\"kernel\":\"/k\"}", "lacks \"name\"" },
		{ "{\"name\":\"a\",\"memory\":64,\"kernel\":\"/k\"}", "lacks \"label\"" },
		{ "{\"name\":\"a/b\",\"label\":\"web\",\"memory\":64,\"kernel\":\"/k\"}", "name" },
		{ "{\"name\":\"-a\",\"label\":\"web\",\"memory\":64,\"kernel\":\"/k\"}", "name" },
		{ "{\"name\":\"a\",\"label\":\"we b\",\"memory\":64,\"kernel\":\"/k\"}", "label" },
		{ "{\"name\":\"a\",\"label\":\"web\",\"memory\":64,\"kernel\":\"k\"}", "absolute" },
		{ "{\"name\":\"a\",\"label\":\"web\",\"kernel\":\"/k\"}", "memory" },
		{ "{\"name\":\"a\",\"label\":\"web\",\"memory\":\"lots\",\"kernel\":\"/k\"}", "memory" },
		{ "{\"name\":\"a\",\"label\":\"web\",\"memory\":64,\"kernel\":\"/k\",\"vcpus\":0}",
		  "vcpus" },
		{ "{\"name\":\"a\",\"label\":\"web\",\"memory\":64,\"kernel\":\"/k\",\"vcpus\":\"2\"}",
		  "vcpus" },
		{ "{\"name\":\"a\",\"label\":\"web\",\"memory\":64,\"kernel\":\"/k\",\"root\":1}",
		  "unknown member" },
		{ "{\"name\":\"a\",\"label\":\"web\",\"memory\":64,\"kernel\":\"/k\",\"vsock_cid\":2}",
		  "vsock_cid" },
		{ "{\"name\":\"a\",\"label\":\"web\",\"memory\":64,\"kernel\":\"/k\","
		  "\"kernel_sig\":\"xyz\"}", "kernel_sig" },
		{ "{\"name\":\"a\\u0000b\",\"label\":\"web\",\"memory\":64,\"kernel\":\"/k\"}", NULL },
	};
	struct bwd_dom_cfg c;
	char err[256];

	(void)state;
	assert_int_equal(cfg("{\"name\":\"web-1\",\"label\":\"web\",\"vcpus\":2,\"memory\":\"1G\","
			     "\"kernel\":\"/k\",\"initrd\":\"/i\",\"cmdline\":\"console=ttyS0\","
			     "\"disks\":[],\"nics\":[],\"vsock_cid\":3}", &c, err), 0);
	assert_int_equal(c.vcpus, 2);
	assert_int_equal(c.memory, 1024 * M);
	assert_string_equal(c.initrd, "/i");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *o = json_loads(bad[i].text, JSON_ALLOW_NUL, NULL);

		assert_non_null(o);
		err[0] = '\0';
		assert_int_equal(domcfg_parse(o, &c, err, sizeof(err)), -EINVAL);
		json_decref(o);
		if (bad[i].needle && !strstr(err, bad[i].needle))
			fail_msg("case %zu: '%s' lacks '%s'", i, err, bad[i].needle);
	}
}

static void test_sha256(void **state)
{
	char hex[65];

	(void)state;
	assert_int_equal(domcfg_sha256_file("/dev/null", hex), -EINVAL);
	assert_int_equal(domcfg_sha256_file("/nonexistent", hex), -ENOENT);
	assert_int_equal(domcfg_sha256_file("/proc/self/exe", hex), 0);
	assert_int_equal(strlen(hex), 64);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_admission),
		cmocka_unit_test(test_domcfg),
		cmocka_unit_test(test_sha256),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

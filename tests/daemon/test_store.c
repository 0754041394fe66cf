// SPDX-License-Identifier: Apache-2.0
/* Unit tests of the SQLite inventory (src/daemon/store.c) in a temporary directory. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "store.h"

static char dir[64];

static int setup(void **state)
{
	char err[256];

	snprintf(dir, sizeof(dir), "/tmp/bwd-store-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	*state = store_open(dir, err, sizeof(err));
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	store_close(*state);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int count(void *ctx, const struct store_dom *d)
{
	(void)d;
	(*(int *)ctx)++;
	return 0;
}

static void test_lifecycle(void **state)
{
	struct store *s = *state;
	struct store_dom d;
	json_t *h;
	int n = 0;

	assert_int_equal(store_define(s, "web1", "web", 1000, "{\"name\":\"web1\"}", "aa", ""), 0);
	assert_int_equal(store_define(s, "web1", "web", 1000, "{}", "aa", ""), -EEXIST);
	assert_int_equal(store_get(s, "web2", &d), -ENOENT);
	assert_int_equal(store_get(s, "web1", &d), 0);
	assert_string_equal(d.state, "shutoff");
	assert_int_equal(d.owner, 1000);
	assert_int_equal(d.domid, -1);
	assert_string_equal(d.config, "{\"name\":\"web1\"}");
	store_dom_clear(&d);
	assert_int_equal(store_set_running(s, "web1", 3, 4242, 777, "bb", "cc"), 0);
	assert_int_equal(store_get(s, "web1", &d), 0);
	assert_string_equal(d.state, "running");
	assert_int_equal(d.pid, 4242);
	assert_int_equal(d.pid_start, 777);
	assert_string_equal(d.kernel_sha, "bb");
	store_dom_clear(&d);
	/* paused keeps the live fields; crashed forgets them and keeps the reason */
	assert_int_equal(store_set_state(s, "web1", "paused", NULL), 0);
	assert_int_equal(store_get(s, "web1", &d), 0);
	assert_int_equal(d.domid, 3);
	store_dom_clear(&d);
	assert_int_equal(store_set_state(s, "web1", "crashed", "signal 9"), 0);
	assert_int_equal(store_get(s, "web1", &d), 0);
	assert_int_equal(d.domid, -1);
	assert_int_equal(d.pid, 0);
	assert_string_equal(d.last_exit, "signal 9");
	store_dom_clear(&d);
	assert_int_equal(store_set_state(s, "nosuch", "crashed", ""), -ENOENT);
	for (int i = 0; i < 30; i++)
		assert_int_equal(store_history(s, "web1", "event", i % 2 ? "odd" : "even"), 0);
	h = store_history_json(s, "web1", 20);
	assert_int_equal(json_array_size(h), 20);
	assert_string_equal(json_string_value(json_object_get(json_array_get(h, 19), "detail")),
			    "odd");
	json_decref(h);
	assert_int_equal(store_define(s, "db1", "db", 0, "{}", "", ""), 0);
	assert_int_equal(store_foreach(s, count, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_undefine(s, "db1"), 0);
	assert_int_equal(store_undefine(s, "db1"), -ENOENT);
}

static void test_meta_and_reopen(void **state)
{
	struct store *s = *state;
	char v[32], err[256];

	assert_int_equal(store_meta_get(s, "policy_version", v, sizeof(v)), -ENOENT);
	assert_int_equal(store_meta_set(s, "policy_version", "7"), 0);
	assert_int_equal(store_meta_set(s, "policy_version", "8"), 0);
	assert_int_equal(store_define(s, "keep", "web", 0, "{}", "", ""), 0);
	store_close(s);
	/* What a restarted daemon sees. */
	s = store_open(dir, err, sizeof(err));
	assert_non_null(s);
	*state = s;
	assert_int_equal(store_meta_get(s, "policy_version", v, sizeof(v)), 0);
	assert_string_equal(v, "8");
	assert_int_equal(store_meta_get(s, "schema", v, sizeof(v)), 0);
	assert_string_equal(v, "1");
	/* A newer schema is refused, not misread. */
	assert_int_equal(store_meta_set(s, "schema", "99"), 0);
	store_close(s);
	*state = NULL;
	assert_null(store_open(dir, err, sizeof(err)));
	assert_non_null(strstr(err, "schema 99"));
	*state = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_meta_and_reopen, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

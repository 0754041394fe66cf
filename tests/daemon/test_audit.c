// SPDX-License-Identifier: Apache-2.0
/* Unit tests of the hash-chained audit log (src/daemon/audit.c): append, verify, tamper. */
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

#include "audit.h"

static char path[64];

static int setup(void **state)
{
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/bwd-audit-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

static void write_records(int n)
{
	struct audit a;
	char err[128];

	assert_int_equal(audit_open(&a, path, false, err, sizeof(err)), 0);
	for (int i = 0; i < n; i++) {
		json_t *r = json_pack("{s:s, s:i, s:s}", "op", "domain.start", "uid", i, "decision",
				      i % 2 ? "deny" : "allow");

		assert_int_equal(audit_append(&a, r, 1700000000000000000ULL + (uint64_t)i), 0);
		json_decref(r);
	}
	audit_close(&a);
}

static struct audit_verify verify(void)
{
	struct audit_verify v;
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	assert_int_equal(audit_verify_fd(fileno(f), &v), 0);
	fclose(f);
	return v;
}

/* Rewrites the file with line idx (0-based) changed by fn. */
static void mutate(void (*fn)(char **lines, int *n, int idx), int idx)
{
	char *lines[64], buf[4096];
	int n = 0;
	FILE *f = fopen(path, "r");

	while (n < 64 && fgets(buf, sizeof(buf), f))
		lines[n++] = strdup(buf);
	fclose(f);
	fn(lines, &n, idx);
	f = fopen(path, "w");
	for (int i = 0; i < n; i++) {
		fputs(lines[i], f);
		free(lines[i]);
	}
	fclose(f);
}

static void edit(char **lines, int *n, int idx)
{
	char *p = strstr(lines[idx], "\"deny\"");

	(void)n;
	if (!p)
		p = strstr(lines[idx], "\"allow\"");
	p[1] ^= 0x20; /* one letter's case */
}

static void drop(char **lines, int *n, int idx)
{
	free(lines[idx]);
	memmove(&lines[idx], &lines[idx + 1], (size_t)(*n - idx - 1) * sizeof(char *));
	(*n)--;
}

static void swap(char **lines, int *n, int idx)
{
	char *t = lines[idx];

	(void)n;
	lines[idx] = lines[idx + 1];
	lines[idx + 1] = t;
}

static void test_chain(void **state)
{
	struct audit_verify v;
	struct audit a;
	char err[128];

	(void)state;
	write_records(5);
	v = verify();
	assert_true(v.ok);
	assert_int_equal(v.records, 5);
	/* Reopening continues the chain. */
	assert_int_equal(audit_open(&a, path, false, err, sizeof(err)), 0);
	assert_int_equal(a.seq, 5);
	assert_string_equal(a.head, v.last_hash);
	audit_close(&a);
	write_records(2);
	v = verify();
	assert_true(v.ok);
	assert_int_equal(v.records, 7);
}

static void test_empty(void **state)
{
	struct audit_verify v;

	(void)state;
	v = verify();
	assert_true(v.ok);
	assert_int_equal(v.records, 0);
	assert_string_equal(v.last_hash, audit_genesis);
}

static void test_tamper(void **state)
{
	struct {
		void (*fn)(char **, int *, int);
		int idx;
		uint64_t bad_line;
		const char *what;
	} cases[] = {
		{ edit, 2, 3, "edited" },
		{ edit, 5, 6, "edited" },
		{ drop, 2, 3, "removed" },
		{ drop, 0, 1, "removed" },
		{ swap, 1, 2, "order" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct audit_verify v;

		assert_int_equal(truncate(path, 0), 0);
		write_records(6);
		mutate(cases[i].fn, cases[i].idx);
		v = verify();
		assert_false(v.ok);
		assert_int_equal(v.bad_line, cases[i].bad_line);
		if (!strstr(v.reason, cases[i].what))
			fail_msg("case %zu: '%s' lacks '%s'", i, v.reason, cases[i].what);
	}
}

static void test_tail(void **state)
{
	json_t *t;
	FILE *f;

	(void)state;
	write_records(10);
	f = fopen(path, "r");
	t = audit_tail_fd(fileno(f), 3, NULL, NULL, "deny");
	assert_int_equal(json_array_size(t), 3);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(t, 2), "uid")), 9);
	json_decref(t);
	t = audit_tail_fd(fileno(f), 100, NULL, "domain.stop", NULL);
	assert_int_equal(json_array_size(t), 0);
	json_decref(t);
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tamper, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tail, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: Apache-2.0
/*
 * The reference monitor: Chinese Wall transactions under churn and domain-id reuse,
 * the decision cache, atomic policy switch, dry run and audit records.
 */
#include "acm_test.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <sched.h>

static struct acm *new_monitor(void)
{
	struct acm_trust t = { .n_keys = 1, .threshold = 1 };
	struct acm *a;

	memset(t.keys[0], 0x42, ACM_KEY_LEN);
	a = acm_new(&t, 0);
	assert_non_null(a);
	return a;
}

static struct acm *with_example(void)
{
	struct acm *a = new_monitor();
	struct acm_error err;

	assert_int_equal(acm_commit(a, t_example(), NULL, &err), 0);
	return a;
}

static void start(struct acm *a, uint32_t domid, const char *label)
{
	struct acm_txn txn;
	struct acm_error err = { "" };

	if (acm_domain_start_prepare(a, domid, label, &txn, &err))
		fail_msg("start %u %s: %s", domid, label, err.msg);
	assert_int_equal(acm_domain_start_commit(a, &txn), 0);
}

static bool decide(struct acm *a, uint32_t s, uint32_t o, enum acm_op op)
{
	struct acm_request rq = { .subject = s, .object = o, .op = op };
	struct acm_decision d;

	assert_int_equal(acm_decide(a, &rq, &d), 0);
	return d.allow;
}

static void test_no_policy(void **state)
{
	struct acm *a = new_monitor();
	struct acm_request rq = { 1, 2, ACM_OP_EVTCHN_BIND, 0 };
	struct acm_decision d;
	struct acm_txn txn;
	struct acm_error err;

	assert_int_equal(acm_decide(a, &rq, &d), 0);
	assert_false(d.allow);
	assert_int_equal(d.reason, ACM_R_NO_POLICY);
	assert_int_equal(acm_domain_start_prepare(a, 1, "web_frontend", &txn, &err), -ENOPKG);
	assert_false(acm_admin_allowed(a, 1000, NULL, 0, ACM_ADMIN_CREATE, "web_frontend"));
	assert_false(acm_admin_may_load(a, 1500, NULL, 0));
	acm_free(a);
	a = with_example();
	assert_true(acm_admin_may_load(a, 1500, NULL, 0));
	assert_false(acm_admin_may_load(a, 2001, NULL, 0));
	assert_true(acm_admin_allowed(a, 2001, NULL, 0, ACM_ADMIN_CREATE, "bank_a_app"));
	assert_false(acm_admin_allowed(a, 2001, NULL, 0, ACM_ADMIN_CREATE, "nosuch"));
	acm_free(a);
}

static void test_wall(void **state)
{
	struct acm *a = with_example();
	struct acm_txn t1, t2;
	struct acm_error err;

	start(a, 1, "database");
	assert_int_equal(acm_domain_start_prepare(a, 2, "bank_a_app", &t1, &err), 0);
	/* A pending start already holds its wall types. */
	assert_int_equal(acm_domain_start_prepare(a, 3, "bank_b_app", &t2, &err), -EPERM);
	assert_non_null(strstr(err.msg, "domain 2"));
	assert_false(t2.open);
	/* A failed start rolls back: the conflicting label may start afterwards. */
	acm_domain_start_abort(a, &t1);
	assert_int_equal(acm_domain_start_commit(a, &t1), -EINVAL);
	assert_int_equal(acm_domain_start_prepare(a, 3, "bank_b_app", &t2, &err), 0);
	assert_int_equal(acm_domain_start_commit(a, &t2), 0);
	assert_int_equal(acm_domain_start_prepare(a, 4, "bank_a_app", &t1, &err), -EPERM);
	/* Same type on both sides is no conflict. */
	start(a, 5, "bank_b_app");
	assert_int_equal(acm_domain_stop(a, 3), 0);
	assert_int_equal(acm_domain_start_prepare(a, 4, "bank_a_app", &t1, &err), -EPERM);
	assert_int_equal(acm_domain_stop(a, 5), 0);
	start(a, 4, "bank_a_app");
	/* Bad input changes nothing. */
	assert_int_equal(acm_domain_start_prepare(a, 4, "monitor", &t1, &err), -EEXIST);
	assert_int_equal(acm_domain_start_prepare(a, 9, "nosuch", &t1, &err), -ENOENT);
	assert_int_equal(acm_domain_start_prepare(a, ACM_DOMID_MAX + 1, "monitor", &t1, &err),
			 -ERANGE);
	assert_int_equal(acm_domain_stop(a, 9), -ENOENT);
	assert_int_equal(acm_domain_stop(a, 3), -ENOENT);
	acm_free(a);
}

static void test_churn_and_reuse(void **state)
{
	static const char *const labels[] = { "web_frontend", "storage_backend", "bank_a_app",
					       "bank_b_app", "monitor" };
	struct acm *a = with_example();
	uint32_t seed = 12345;

	start(a, 1, "database");
	for (int i = 0; i < 10000; i++) {
		const char *l;
		struct acm_txn txn;
		struct acm_error err;
		bool wall_b;

		seed = seed * 1103515245 + 12345;
		l = labels[(seed >> 16) % ARRAY_SIZE(labels)];
		start(a, 5, l);
		/* Write-mapping the database: only storage may; a reused id never inherits. */
		assert_int_equal(decide(a, 5, 1, ACM_OP_GRANT_MAP_WRITE),
				 !strcmp(l, "storage_backend"));
		assert_int_equal(decide(a, 5, 1, ACM_OP_GRANT_MAP_READ), strcmp(l, "monitor") != 0);
		assert_int_equal(decide(a, 1, 5, ACM_OP_INTROSPECT), false);
		assert_int_equal(decide(a, 5, 1, ACM_OP_INTROSPECT), !strcmp(l, "monitor"));
		wall_b = !strcmp(l, "bank_a_app");
		assert_int_equal(acm_domain_start_prepare(a, 6, "bank_b_app", &txn, &err),
				 wall_b ? -EPERM : 0);
		if (!wall_b) {
			/* Alternate abort and commit+stop for the second domain. */
			if (i & 1) {
				acm_domain_start_abort(a, &txn);
			} else {
				assert_int_equal(acm_domain_start_commit(a, &txn), 0);
				assert_int_equal(acm_domain_stop(a, 6), 0);
			}
		}
		assert_int_equal(acm_domain_stop(a, 5), 0);
		assert_false(decide(a, 5, 1, ACM_OP_EVTCHN_BIND));
	}
	/* The counts came back to zero: both banks can start, one after the other. */
	start(a, 7, "bank_a_app");
	assert_int_equal(acm_domain_stop(a, 7), 0);
	start(a, 7, "bank_b_app");
	assert_int_equal(acm_domain_stop(a, 7), 0);
	acm_free(a);
}

static void test_cache(void **state)
{
	struct acm *a = with_example();
	struct acm_request rq = { 2, 1, ACM_OP_GRANT_MAP_READ, 0 };
	struct acm_decision d;
	struct acm_stats st;

	start(a, 1, "database");
	start(a, 2, "web_frontend");
	start(a, 3, "web_frontend");
	assert_int_equal(acm_decide(a, &rq, &d), 0);
	assert_true(d.allow && !d.cached);
	assert_int_equal(acm_decide(a, &rq, &d), 0);
	assert_true(d.allow && d.cached);
	/* Keyed by label: another domain with the same label hits. */
	rq.subject = 3;
	assert_int_equal(acm_decide(a, &rq, &d), 0);
	assert_true(d.allow && d.cached);
	rq.op = ACM_OP_GRANT_MAP_WRITE;
	assert_int_equal(acm_decide(a, &rq, &d), 0);
	assert_int_equal(acm_decide(a, &rq, &d), 0);
	assert_true(!d.allow && d.cached);
	acm_stats(a, &st);
	assert_int_equal(st.decisions, 5);
	assert_int_equal(st.hits, 3);
	assert_int_equal(st.misses, 2);
	assert_int_equal(st.denies, 2);
	assert_int_equal(st.allows, 3);
	/* The label's last domain going purges its entries; the first one does not. */
	assert_int_equal(acm_domain_stop(a, 3), 0);
	acm_stats(a, &st);
	assert_int_equal(st.purges, 0);
	assert_int_equal(acm_domain_stop(a, 2), 0);
	acm_stats(a, &st);
	assert_int_equal(st.purges, 2);
	start(a, 2, "web_frontend");
	assert_int_equal(acm_decide(a, &rq, &d), 0);
	assert_false(d.cached);
	acm_cache_flush(a);
	assert_int_equal(acm_decide(a, &rq, &d), 0);
	assert_false(d.cached);
	/* vsock ports are separate entries. */
	rq = (struct acm_request){ 2, 1, ACM_OP_VSOCK_CONNECT, 5432 };
	assert_int_equal(acm_decide(a, &rq, &d), 0);
	assert_true(d.allow);
	rq.port = 5433;
	assert_int_equal(acm_decide(a, &rq, &d), 0);
	assert_false(d.allow);
	rq.op = ACM_OP_COUNT;
	assert_int_equal(acm_decide(a, &rq, &d), -EINVAL);
	assert_false(d.allow);
	acm_free(a);
}

/* The example with one change: the front end may also write-map the database. */
static struct acm_policy *example_v2(void)
{
	uint8_t *buf;
	size_t len;
	char *text;
	struct acm_policy *pol;

	assert_int_equal(util_read_file(EXAMPLE_POLICY, 1 << 20, &buf, &len), 0);
	text = calloc(1, len + 64);
	memcpy(text, buf, len);
	strcat(text, "\nallow web -> db : grant_map_write;\n");
	pol = t_parse(text);
	free(text);
	free(buf);
	return pol;
}

static void test_switch(void **state)
{
	struct acm *a = with_example();
	struct acm_policy *v2 = example_v2(), *bad;
	struct acm_binding b[3] = {
		{ 2, 1, ACM_OP_GRANT_MAP_READ, 0 },
		{ 2, 1, ACM_OP_EVTCHN_BIND, 0 },
		{ 1, 4, ACM_OP_BLOCK_SHARE, 0 },
	};
	struct acm_violation v[8];
	struct acm_error err;
	uint64_t ver;
	size_t n;

	start(a, 1, "database");
	start(a, 2, "web_frontend");
	start(a, 4, "storage_backend");
	assert_false(decide(a, 2, 1, ACM_OP_GRANT_MAP_WRITE));
	assert_true(acm_current(a, &ver, NULL));
	assert_int_equal(ver, 1);
	assert_int_equal(acm_dry_run(a, v2, b, 3, v, 8, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(acm_commit(a, v2, NULL, &err), 0);
	assert_true(decide(a, 2, 1, ACM_OP_GRANT_MAP_WRITE));
	/* A policy without the front end's label: dry run names it, commit refuses. */
	bad = t_parse("policy small;\nhost { cpus 4; memory 8G; }\nste web, db;\n"
		      "label database { ste db; }\nlabel storage_backend { ste db; }\n"
		      "allow db : block_share;\n");
	assert_int_equal(acm_dry_run(a, bad, b, 3, v, 8, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(v[0].kind, ACM_V_LABEL_GONE);
	assert_int_equal(v[0].domid, 2);
	assert_int_equal(v[1].kind, ACM_V_BINDING);
	assert_int_equal(v[1].index, 0);
	assert_int_equal(v[2].index, 1);
	assert_int_equal(acm_commit(a, bad, NULL, &err), -EBUSY);
	assert_non_null(strstr(err.msg, "web_frontend"));
	assert_true(decide(a, 2, 1, ACM_OP_GRANT_MAP_WRITE));
	assert_true(acm_current(a, &ver, NULL));
	assert_int_equal(ver, 2);
	/* Once the front end is gone, only the binding check remains: block share is fine. */
	assert_int_equal(acm_domain_stop(a, 2), 0);
	assert_int_equal(acm_dry_run(a, bad, b + 2, 1, v, 8, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(acm_commit(a, bad, NULL, &err), 0);
	assert_true(decide(a, 1, 4, ACM_OP_BLOCK_SHARE));
	assert_false(decide(a, 4, 1, ACM_OP_GRANT_MAP_WRITE));
	acm_free(a);
}

static void test_switch_wall(void **state)
{
	struct acm *a = with_example();
	struct acm_policy *p;
	struct acm_violation v[4];
	struct acm_error err;
	size_t n;

	start(a, 1, "bank_a_app");
	start(a, 2, "monitor");
	p = t_parse("policy walls;\nhost { cpus 4; memory 8G; }\nste t;\ncw x, y;\n"
		    "conflict c = x, y;\nlabel bank_a_app { ste t; cw x; }\n"
		    "label monitor { ste t; cw y; }\n");
	assert_int_equal(acm_dry_run(a, p, NULL, 0, v, 4, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].kind, ACM_V_WALL);
	assert_int_equal(acm_commit(a, p, NULL, &err), -EBUSY);
	assert_non_null(strstr(err.msg, "Chinese Wall"));
	acm_policy_free(p);
	acm_free(a);
}

struct racer {
	struct acm *a;
	bool stop, started;    /* accessed with __atomic builtins */
	unsigned long mixed, runs;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	struct acm_request rq = { 2, 1, ACM_OP_GRANT_MAP_WRITE, 0 };

	__atomic_store_n(&r->started, true, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		struct acm_decision d;

		(void)acm_decide(r->a, &rq, &d);
		/* Odd versions are the example (deny), even ones v2 (allow). */
		if (d.allow != (d.policy_version % 2 == 0))
			r->mixed++;
		__atomic_fetch_add(&r->runs, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void test_switch_atomic(void **state)
{
	struct racer r = { .a = with_example() };
	struct acm_error err;
	pthread_t th;

	start(r.a, 1, "database");
	start(r.a, 2, "web_frontend");
	assert_int_equal(pthread_create(&th, NULL, race, &r), 0);
	/* On a loaded machine the racer might not run at all before the switches end. */
	while (!__atomic_load_n(&r.started, __ATOMIC_ACQUIRE))
		sched_yield();
	/* At least 400 switches, and keep switching until the racer has decided a while. */
	for (int i = 0; i < 400 || (__atomic_load_n(&r.runs, __ATOMIC_RELAXED) < 2000 &&
				    i < 100000); i++)
		assert_int_equal(acm_commit(r.a, i % 2 ? t_example() : example_v2(), NULL, &err), 0);
	__atomic_store_n(&r.stop, true, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	assert_int_equal(r.mixed, 0);
	assert_true(r.runs >= 2000);
	acm_free(r.a);
}

static json_t *record(struct acm *a, struct acm_request *rq, uint64_t now)
{
	struct acm_decision d;
	char buf[1024];
	json_error_t je;
	int n;

	(void)acm_decide(a, rq, &d);
	n = acm_audit_record(a, rq, &d, now, buf, sizeof(buf));
	assert_true(n >= 0);
	if (n == 0)
		return NULL;
	assert_int_equal((size_t)n, strlen(buf));
	assert_null(strchr(buf, '\n'));
	return json_loads(buf, 0, &je);
}

static void test_audit(void **state)
{
	struct acm *a = with_example();
	struct acm_request deny = { 2, 1, ACM_OP_GRANT_MAP_WRITE, 0 };
	struct acm_request ok = { 2, 1, ACM_OP_EVTCHN_BIND, 0 };
	struct acm_request watch = { 3, 1, ACM_OP_INTROSPECT, 0 };
	struct acm_decision d;
	struct acm_stats st;
	char small[16];
	json_t *j;
	int emitted = 0;

	start(a, 1, "database");
	start(a, 2, "web_frontend");
	start(a, 3, "monitor");
	acm_audit_config(a, 3, 1000);
	for (int i = 0; i < 5; i++) {
		j = record(a, &deny, 100 + (uint64_t)i);
		emitted += j != NULL;
		json_decref(j);
	}
	assert_int_equal(emitted, 3);
	j = record(a, &deny, 1200);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "dropped")), 2);
	assert_int_equal(json_integer_value(json_object_get(j, "time_ns")), 1200);
	assert_string_equal(json_string_value(json_object_get(j, "decision")), "deny");
	assert_string_equal(json_string_value(json_object_get(j, "op")), "grant_map_write");
	assert_string_equal(json_string_value(json_object_get(j, "reason")), "default deny");
	assert_true(json_is_null(json_object_get(j, "rule")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "subject"),
							       "label")), "web_frontend");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "object"), "dom")),
			 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "policy"),
							   "version")), 1);
	assert_int_equal(strlen(json_string_value(json_object_get(json_object_get(j, "policy"),
								  "hash"))), 64);
	json_decref(j);
	/* Other keys have their own budget; plain allows are not recorded. */
	assert_null(record(a, &ok, 1300));
	j = record(a, &watch, 1300);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "decision")), "allow");
	assert_true(json_is_integer(json_object_get(j, "rule")));
	json_decref(j);
	(void)acm_decide(a, &watch, &d);
	assert_int_equal(acm_audit_record(a, &watch, &d, 1301, small, sizeof(small)), -ENOSPC);
	acm_stats(a, &st);
	assert_int_equal(st.audit_emitted, 5);
	assert_int_equal(st.audit_dropped, 2);
	acm_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_policy),
		cmocka_unit_test(test_wall),
		cmocka_unit_test(test_churn_and_reuse),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_switch),
		cmocka_unit_test(test_switch_wall),
		cmocka_unit_test(test_switch_atomic),
		cmocka_unit_test(test_audit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

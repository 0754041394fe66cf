// SPDX-License-Identifier: Apache-2.0
/* Unit tests of bulwarkd's request parser and method table (src/daemon/rpc.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rpc.h"

static int parse(const char *line, struct rpc_req *req, struct rpc_err *err)
{
	memset(err, 0, sizeof(*err));
	return rpc_parse(line, strlen(line), req, err);
}

static void expect_error(const char *line, int code, const char *needle)
{
	struct rpc_req req;
	struct rpc_err err;

	assert_int_equal(parse(line, &req, &err), -EINVAL);
	assert_int_equal(err.code, code);
	if (needle && !strstr(err.msg, needle))
		fail_msg("'%s': message '%s' lacks '%s'", line, err.msg, needle);
	assert_null(memchr(err.msg, '\n', sizeof(err.msg)));
	rpc_req_clear(&req);
}

static void test_valid(void **state)
{
	struct rpc_req req;
	struct rpc_err err;

	(void)state;
	assert_int_equal(parse("{\"jsonrpc\":\"2.0\",\"method\":\"domain.shutdown\","
			       "\"params\":{\"name\":\"a\",\"timeout\":3},\"id\":9}", &req, &err), 0);
	assert_string_equal(req.method->name, "domain.shutdown");
	assert_int_equal(json_integer_value(req.id), 9);
	assert_int_equal(json_integer_value(json_object_get(req.params, "timeout")), 3);
	rpc_req_clear(&req);
	/* no params, [] params, a notification, a string id */
	assert_int_equal(parse("{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\"}", &req, &err), 0);
	assert_null(req.id);
	assert_true(json_is_object(req.params));
	rpc_req_clear(&req);
	assert_int_equal(parse("{\"jsonrpc\":\"2.0\",\"method\":\"domain.list\",\"params\":[],"
			       "\"id\":\"x\"}", &req, &err), 0);
	assert_string_equal(json_string_value(req.id), "x");
	rpc_req_clear(&req);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("", RPC_PARSE_ERROR, "malformed JSON");
	expect_error("{", RPC_PARSE_ERROR, NULL);
	expect_error("{\"a\":1}{", RPC_PARSE_ERROR, NULL);
	expect_error("{\"jsonrpc\":\"2.0\",\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\"}",
		     RPC_PARSE_ERROR, NULL);
	expect_error("[]", RPC_INVALID_REQUEST, "object");
	expect_error("{\"method\":\"daemon.ping\"}", RPC_INVALID_REQUEST, "jsonrpc");
	expect_error("{\"jsonrpc\":2,\"method\":\"daemon.ping\"}", RPC_INVALID_REQUEST, "jsonrpc");
	expect_error("{\"jsonrpc\":\"2.0\"}", RPC_INVALID_REQUEST, "method");
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":7}", RPC_INVALID_REQUEST, "method");
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":[1]}",
		     RPC_INVALID_REQUEST, "id");
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"extra\":1}",
		     RPC_INVALID_REQUEST, "extra");
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"domain.explode\"}", RPC_METHOD_NOT_FOUND,
		     "domain.explode");
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"domain.start\"}", RPC_INVALID_PARAMS,
		     "missing parameter 'name'");
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"domain.start\",\"params\":[\"a\"]}",
		     RPC_INVALID_PARAMS, "object");
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"domain.start\",\"params\":{\"name\":1}}",
		     RPC_INVALID_PARAMS, "'name' must be a string");
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"domain.shutdown\",\"params\":"
		     "{\"name\":\"a\",\"timeout\":\"3\"}}", RPC_INVALID_PARAMS, "integer");
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"domain.start\",\"params\":"
		     "{\"name\":\"a\",\"as_uid\":0}}", RPC_INVALID_PARAMS, "unknown parameter");
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"policy.load\",\"params\":"
		     "{\"bundle\":\"\",\"revoke\":1}}", RPC_INVALID_PARAMS, "boolean");
	/* A newline in a request string never splits an error message (found by fuzz_rpc). */
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"policy.load\",\"params\":"
		     "{\"bun\\nd\":1}}", RPC_INVALID_PARAMS, "'bun?d'");
	/* jansson quotes the raw bytes near a bad escape; the reply must still encode. */
	{
		static const char bad[] = "{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"params\":"
					  "{\"b\\\xd0\x97\":1}}";
		struct rpc_req req;
		struct rpc_err err;
		char *reply;

		assert_int_equal(parse(bad, &req, &err), -EINVAL);
		reply = rpc_reply_error(req.id, err.code, err.msg);
		assert_non_null(reply);
		free(reply);
		rpc_req_clear(&req);
	}
}

static void test_id_kept_on_error(void **state)
{
	struct rpc_req req;
	struct rpc_err err;
	char *reply;

	(void)state;
	assert_int_equal(parse("{\"jsonrpc\":\"2.0\",\"method\":\"nope\",\"id\":42}", &req, &err),
			 -EINVAL);
	reply = rpc_reply_error(req.id, err.code, err.msg);
	assert_non_null(strstr(reply, "\"id\":42"));
	assert_non_null(strstr(reply, "-32601"));
	assert_int_equal(reply[strlen(reply) - 1], '\n');
	free(reply);
	rpc_req_clear(&req);
}

static void test_table(void **state)
{
	(void)state;
	/* Every method is unique, documented, and its parameter spec is well formed. */
	for (size_t i = 0; i < rpc_n_methods; i++) {
		const struct rpc_method *m = &rpc_methods[i];

		assert_ptr_equal(rpc_method_find(m->name, NULL), m);
		assert_true(strlen(m->help) > 10);
		assert_true(m->access != RPC_ACC_LABEL || m->admin != RPC_ADM_NONE);
		for (const char *p = m->params; *p; p++)
			assert_non_null(strchr("abcdefghijklmnopqrstuvwxyz_:,?sibo", *p));
	}
	assert_null(rpc_method_find("", NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_id_kept_on_error),
		cmocka_unit_test(test_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: Apache-2.0
/* bulwark: each subcommand's options, the parameters it sends, and what it prints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "util.h"

#define WAIT_POLL_US 100000

static int usage_err(const struct cmd *cmd, const char *what)
{
	fprintf(stderr, "bulwark: %s: %s (usage: bulwark %s %s; see bulwark --help)\n",
		cmd->name, what, cmd->name, cmd->args);
	return CLI_USAGE;
}

/* Waits until a domain leaves the running states, polling domain.show. */
static int wait_stopped(struct cli *c, const char *name, unsigned int seconds)
{
	for (unsigned int i = 0; i < seconds * 10 + 20; i++) {
		json_t *r = NULL;
		const char *st;
		int ret = cli_call(c, "domain.show", json_pack("{s:s}", "name", name), &r);

		if (ret != CLI_OK)
			return ret;
		close(c->fd);
		st = json_string_value(json_object_get(r, "state"));
		if (st && strcmp(st, "running") && strcmp(st, "paused")) {
			printf("%s: %s\n", name, st);
			json_decref(r);
			return CLI_OK;
		}
		json_decref(r);
		usleep(WAIT_POLL_US);
	}
	fprintf(stderr, "bulwark: %s did not stop in time\n", name);
	return CLI_ERROR;
}

int cli_main_cmd(struct cli *c, const struct cmd *cmd, int argc, char **argv)
{
	json_t *params = json_object(), *result = NULL;
	const char *pos[4] = { NULL };
	unsigned int npos = 0, want = 0, timeout = 30;
	bool wait = false;
	int ret;

	if (!params)
		return CLI_ERROR;
	for (const char *p = cmd->args; *p; p++)
		if (p == cmd->args || p[-1] == ' ')
			want++;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t x;

		if (!strcmp(a, "--json")) {
			c->json = true;
		} else if (!strcmp(cmd->name, "shutdown") && !strcmp(a, "--wait")) {
			wait = true;
		} else if (!strcmp(cmd->name, "shutdown") && !strcmp(a, "--timeout") && v) {
			if (util_parse_uint(v, 0, 3600, &x) < 0)
				return usage_err(cmd, "--timeout takes seconds, 0..3600");
			timeout = (unsigned int)x;
			json_object_set_new(params, "timeout", json_integer((json_int_t)x));
			i++;
		} else if (!strcmp(cmd->name, "policy load") &&
			   (!strcmp(a, "--dry-run") || !strcmp(a, "--revoke"))) {
			json_object_set_new(params, a[2] == 'd' ? "dry_run" : "revoke", json_true());
		} else if (!strcmp(cmd->name, "audit verify") && !strcmp(a, "--file") && v) {
			json_decref(params);
			return cli_verify_file(v, c->json);
		} else if (!strcmp(cmd->name, "audit tail") && !strcmp(a, "-n") && v) {
			if (util_parse_uint(v, 1, 1000, &x) < 0)
				return usage_err(cmd, "-n takes 1..1000");
			json_object_set_new(params, "count", json_integer((json_int_t)x));
			i++;
		} else if (!strcmp(cmd->name, "audit tail") && v &&
			   (!strcmp(a, "--domain") || !strcmp(a, "--op") ||
			    !strcmp(a, "--decision"))) {
			json_object_set_new(params, a + 2, json_string(v));
			i++;
		} else if (a[0] == '-' && a[1]) {
			json_decref(params);
			return usage_err(cmd, "unknown option");
		} else if (npos < 4) {
			pos[npos++] = a;
		} else {
			json_decref(params);
			return usage_err(cmd, "too many arguments");
		}
	}
	if (npos < want || (npos > want && strcmp(cmd->name, "policy eval")) || npos > want + 1) {
		json_decref(params);
		return usage_err(cmd, npos < want ? "missing argument" : "too many arguments");
	}
	if (!strcmp(cmd->name, "define")) {
		json_t *cfg;

		ret = cli_read_json_file(pos[0], &cfg);
		if (ret != CLI_OK)
			goto out;
		json_object_set_new(params, "config", cfg);
	} else if (!strcmp(cmd->name, "policy load")) {
		json_t *b;

		ret = cli_read_base64(pos[0], &b);
		if (ret != CLI_OK)
			goto out;
		json_object_set_new(params, "bundle", b);
	} else if (!strcmp(cmd->name, "policy eval")) {
		uint64_t port;

		json_object_set_new(params, "subject", json_string(pos[0]));
		json_object_set_new(params, "object", json_string(pos[1]));
		json_object_set_new(params, "op", json_string(pos[2]));
		if (pos[3]) {
			if (util_parse_uint(pos[3], 0, 0xffffffffULL, &port) < 0) {
				ret = usage_err(cmd, "PORT must be a number");
				goto out;
			}
			json_object_set_new(params, "port", json_integer((json_int_t)port));
		}
	} else if (want == 1) {
		json_object_set_new(params, "name", json_string(pos[0]));
	}
	ret = cli_call(c, cmd->method, json_incref(params), &result);
	if (ret != CLI_OK)
		goto out;
	if (!strcmp(cmd->name, "console")) {
		if (c->passed_fd < 0) {
			fprintf(stderr, "bulwark: bulwarkd sent no console descriptor\n");
			ret = CLI_ERROR;
			goto out;
		}
		ret = cli_console(c->passed_fd, pos[0]);
		goto out;
	}
	cli_print(c, cmd->method, result);
	if (!strcmp(cmd->name, "audit verify") &&
	    !json_is_true(json_object_get(result, "ok")))
		ret = CLI_TAMPERED;
	if (!strcmp(cmd->name, "shutdown") && wait) {
		close(c->fd);
		ret = wait_stopped(c, pos[0], timeout);
	}
out:
	json_decref(result);
	json_decref(params);
	return ret;
}

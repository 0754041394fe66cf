// SPDX-License-Identifier: Apache-2.0
/*
 * bulwark: the command-line client of bulwarkd. Subcommands map onto the JSON-RPC methods
 * of src/daemon/api.def, whose descriptions are also the help text here.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "audit.h"
#include "bulwark-config.h"
#include "cli.h"
#include "rpc.h"
#include "util.h"

#define REPLY_MAX (64u << 20)

static const struct cmd cmds[] = {
	{ "ping", "daemon.ping", "" },
	{ "define", "domain.define", "FILE" },
	{ "undefine", "domain.undefine", "name" },
	{ "start", "domain.start", "name" },
	{ "pause", "domain.pause", "name" },
	{ "resume", "domain.resume", "name" },
	{ "shutdown", "domain.shutdown", "name" },
	{ "destroy", "domain.destroy", "name" },
	{ "list", "domain.list", "" },
	{ "show", "domain.show", "name" },
	{ "stats", "domain.stats", "name" },
	{ "console", "domain.console", "name" },
	{ "policy load", "policy.load", "FILE" },
	{ "policy show", "policy.show", "" },
	{ "policy eval", "policy.eval", "subject object op" },
	{ "audit verify", "audit.verify", "" },
	{ "audit tail", "audit.tail", "" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: bulwark [--socket PATH] [--json] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
		const struct rpc_method *m = rpc_method_find(cmds[i].method, NULL);

		fprintf(f, "  %-14s %-18s %s\n", cmds[i].name, cmds[i].args, m ? m->help : "");
	}
	fprintf(f, "  %-14s %-18s %s\n", "policy ...", "", "keygen, check, compile, sign, "
		"verify, diff: run bulwark-policy");
	fprintf(f, "  %-14s %-18s %s\n", "help", "[--markdown]", "this text, or the method "
		"table of docs/api.md");
	fprintf(f, "\noptions: shutdown --timeout S --wait; policy load --dry-run --revoke;\n"
		"  policy eval ... [PORT]; audit verify --file PATH (offline);\n"
		"  audit tail -n N --domain D --op M --decision allow|deny|error|event\n"
		"socket: --socket, else $BULWARK_SOCKET, else /run/bulwark/bulwarkd.sock\n"
		"exit codes: 0 ok, 1 error, 2 usage, 3 daemon unreachable, 4 permission denied,\n"
		"  5 refused by a rule, 6 audit log tampered\n");
}

/* The method table as docs/api.md carries it; a test compares the two. */
static void markdown(void)
{
	printf("| method | params | access | audited | description |\n|---|---|---|---|---|\n");
	for (size_t i = 0; i < rpc_n_methods; i++) {
		const struct rpc_method *m = &rpc_methods[i];

		printf("| `%s` | %s%s%s | %s | %s | %s |\n", m->name, m->params[0] ? "`" : "",
		       m->params[0] ? m->params : "none", m->params[0] ? "`" : "",
		       rpc_access_name(m), m->control ? "always" : "on deny", m->help);
	}
}

static int connect_daemon(struct cli *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(c->socket) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "bulwark: socket path too long: %s\n", c->socket);
		return CLI_USAGE;
	}
	strcpy(sa.sun_path, c->socket);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "bulwark: cannot reach bulwarkd at %s: %s (is it running? "
			"--socket sets the path)\n", c->socket, strerror(errno));
		return CLI_UNREACHABLE;
	}
	return CLI_OK;
}

/* Reads one reply line, keeping any fd that arrives with it. Returns a malloc'd line. */
static char *read_line(struct cli *c)
{
	size_t len = 0, cap = 0;
	char *buf = NULL;

	for (;;) {
		union {
			struct cmsghdr align;
			char b[CMSG_SPACE(sizeof(int))];
		} u;
		char chunk[8192];
		struct iovec iov = { chunk, sizeof(chunk) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
				     .msg_controllen = sizeof(u.b) };
		struct cmsghdr *cm;
		char *nl, *p;
		/* Peek without a control buffer: a peek would install passed fds twice. */
		ssize_t n = recv(c->fd, chunk, sizeof(chunk), MSG_PEEK);

		if (n <= 0)
			break;
		/* Consume only up to the newline: what follows belongs to the next reply. */
		nl = memchr(chunk, '\n', (size_t)n);
		iov.iov_len = nl ? (size_t)(nl - chunk) + 1 : (size_t)n;
		mh.msg_controllen = sizeof(u.b);
		n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC);
		if (n <= 0)
			break;
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
				if (c->passed_fd >= 0)
					close(c->passed_fd);
				memcpy(&c->passed_fd, CMSG_DATA(cm), sizeof(int));
			}
		}
		if (len + (size_t)n + 1 > REPLY_MAX)
			break;
		if (len + (size_t)n + 1 > cap) {
			cap = (len + (size_t)n + 1) * 2;
			p = realloc(buf, cap);
			if (!p)
				break;
			buf = p;
		}
		memcpy(buf + len, chunk, (size_t)n);
		len += (size_t)n;
		buf[len] = '\0';
		if (buf[len - 1] == '\n')
			return buf;
	}
	free(buf);
	return NULL;
}

int cli_call(struct cli *c, const char *method, json_t *params, json_t **result)
{
	json_t *req = json_pack("{s:s, s:s, s:o, s:i}", "jsonrpc", "2.0", "method", method,
				"params", params ? params : json_object(), "id", 1);
	json_t *reply, *err;
	char *text, *line;
	int ret;

	if (!req)
		return CLI_ERROR;
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!text)
		return CLI_ERROR;
	ret = connect_daemon(c);
	if (ret != CLI_OK) {
		free(text);
		return ret;
	}
	if (dprintf(c->fd, "%s\n", text) < 0) {
		free(text);
		fprintf(stderr, "bulwark: cannot send to bulwarkd: %s\n", strerror(errno));
		return CLI_UNREACHABLE;
	}
	free(text);
	line = read_line(c);
	reply = line ? json_loads(line, 0, NULL) : NULL;
	free(line);
	if (!json_is_object(reply)) {
		json_decref(reply);
		fprintf(stderr, "bulwark: bulwarkd closed the connection without a valid reply\n");
		return CLI_UNREACHABLE;
	}
	err = json_object_get(reply, "error");
	if (err) {
		int code = (int)json_integer_value(json_object_get(err, "code"));

		fprintf(stderr, "bulwark: %s\n",
			json_string_value(json_object_get(err, "message")) ?: "unknown error");
		json_decref(reply);
		return code == RPC_DENIED ? CLI_DENIED : code == RPC_REFUSED ? CLI_REFUSED :
		       code == RPC_INVALID_PARAMS ? CLI_USAGE : CLI_ERROR;
	}
	*result = json_incref(json_object_get(reply, "result"));
	json_decref(reply);
	return CLI_OK;
}

int cli_read_json_file(const char *path, json_t **out)
{
	json_error_t e;

	*out = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
	if (!*out) {
		fprintf(stderr, "bulwark: %s:%d:%d: %s\n", path, e.line, e.column, e.text);
		return CLI_USAGE;
	}
	return CLI_OK;
}

int cli_read_base64(const char *path, json_t **out)
{
	uint8_t *buf;
	size_t len;
	char *b64;
	int ret = util_read_file(path, 64u << 20, &buf, &len);

	if (ret < 0) {
		fprintf(stderr, "bulwark: cannot read %s: %s\n", path, strerror(-ret));
		return CLI_USAGE;
	}
	b64 = malloc(4 * ((len + 2) / 3) + 1);
	if (!b64) {
		free(buf);
		return CLI_ERROR;
	}
	EVP_EncodeBlock((unsigned char *)b64, buf, (int)len);
	*out = json_string(b64);
	free(b64);
	free(buf);
	return *out ? CLI_OK : CLI_ERROR;
}

int cli_verify_file(const char *path, bool json)
{
	struct audit_verify v;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || audit_verify_fd(fd, &v) < 0) {
		fprintf(stderr, "bulwark: cannot read %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return CLI_USAGE;
	}
	close(fd);
	if (json)
		printf("{\"ok\": %s, \"records\": %llu, \"bad_line\": %llu, \"reason\": \"%s\"}\n",
		       v.ok ? "true" : "false", (unsigned long long)v.records,
		       (unsigned long long)v.bad_line, v.ok ? "" : v.reason);
	else if (v.ok)
		printf("audit log intact: %llu records, head %s\n", (unsigned long long)v.records,
		       v.last_hash);
	else
		printf("audit log TAMPERED: %s\n", v.reason);
	return v.ok ? CLI_OK : CLI_TAMPERED;
}

/* The offline policy commands belong to bulwark-policy: argv[0] is "policy". */
static int run_policy_tool(char **argv)
{
	argv[0] = (char *)(uintptr_t)"bulwark-policy";
	execvp("bulwark-policy", argv);
	fprintf(stderr, "bulwark: cannot run bulwark-policy: %s (is it on PATH?)\n",
		strerror(errno));
	return CLI_USAGE;
}

int main(int argc, char **argv)
{
	struct cli c = { .fd = -1, .passed_fd = -1 };
	char name[32];
	int i = 1;

	c.socket = getenv("BULWARK_SOCKET") ?: "/run/bulwark/bulwarkd.sock";
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--json")) {
			c.json = true;
		} else if ((!strcmp(argv[i], "--socket") || !strcmp(argv[i], "-s")) && i + 1 < argc) {
			c.socket = argv[++i];
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return CLI_OK;
		} else if (!strcmp(argv[i], "--version")) {
			printf("bulwark %s\n", BULWARK_VERSION);
			return CLI_OK;
		} else {
			fprintf(stderr, "bulwark: unknown option %s (see bulwark --help)\n", argv[i]);
			return CLI_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (!strcmp(argv[i], "help")) {
		if (i + 1 < argc && !strcmp(argv[i + 1], "--markdown"))
			markdown();
		else
			usage(stdout);
		return CLI_OK;
	}
	if ((!strcmp(argv[i], "policy") || !strcmp(argv[i], "audit")) && i + 1 < argc)
		snprintf(name, sizeof(name), "%s %s", argv[i], argv[i + 1]);
	else
		snprintf(name, sizeof(name), "%s", argv[i]);
	/* `policy show FILE`, `policy eval FILE ...`: the offline tool's forms (a file first). */
	if ((!strcmp(name, "policy show") || !strcmp(name, "policy eval")) && i + 2 < argc &&
	    access(argv[i + 2], F_OK) == 0)
		return run_policy_tool(argv + i);
	for (size_t k = 0; k < ARRAY_SIZE(cmds); k++)
		if (!strcmp(cmds[k].name, name))
			return cli_main_cmd(&c, &cmds[k], argc - i - (strchr(name, ' ') ? 2 : 1),
					    argv + i + (strchr(name, ' ') ? 2 : 1));
	if (!strcmp(argv[i], "policy") && i + 1 < argc)
		return run_policy_tool(argv + i);
	fprintf(stderr, "bulwark: unknown command '%s' (see bulwark --help)\n", name);
	return CLI_USAGE;
}

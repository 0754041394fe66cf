/* SPDX-License-Identifier: Apache-2.0 */
/* bulwark, the command-line client of bulwarkd: shared declarations of its files. */
#ifndef BULWARK_CLI_H
#define BULWARK_CLI_H

#include <jansson.h>
#include <stdbool.h>

/* Exit codes (docs/daemon.md#cli). */
enum cli_exit {
	CLI_OK = 0,
	CLI_ERROR = 1,       /* the daemon reported an error: not found, wrong state, failed */
	CLI_USAGE = 2,
	CLI_UNREACHABLE = 3, /* no daemon at the socket, or it broke the protocol */
	CLI_DENIED = 4,      /* the caller's role does not allow it */
	CLI_REFUSED = 5,     /* a rule refused it: Chinese Wall, admission, image, policy */
	CLI_TAMPERED = 6,    /* audit verify found a bad record */
};

struct cli {
	const char *socket;
	bool json;
	int fd;
	int passed_fd;       /* an fd that came with the last reply, or -1 */
};

/* Subcommand -> method, and how positional arguments become parameters. */
struct cmd {
	const char *name, *method;
	const char *args;   /* positional parameter names, space-separated ("" none) */
};

/* Runs one subcommand with its own arguments (argv[0] is the first after the name). */
int cli_main_cmd(struct cli *c, const struct cmd *cmd, int argc, char **argv);
/* Reads a JSON file into *out; CLI_OK or CLI_USAGE with a message printed. */
int cli_read_json_file(const char *path, json_t **out);
/* Reads a file as a base64 JSON string; CLI_OK or an exit code with a message printed. */
int cli_read_base64(const char *path, json_t **out);
/* Verifies a copy of the audit log offline; CLI_OK, CLI_TAMPERED or CLI_USAGE. */
int cli_verify_file(const char *path, bool json);

/*
 * Sends one request and waits for its reply. On success returns CLI_OK and the result
 * (caller frees); otherwise prints a one-line error and returns the exit code.
 */
int cli_call(struct cli *c, const char *method, json_t *params, json_t **result);

/* Prints a result for humans (or as JSON with --json). */
void cli_print(const struct cli *c, const char *method, json_t *result);

/* Relays the terminal to a console fd until the detach key (^]) or EOF. */
int cli_console(int fd, const char *name);

#endif

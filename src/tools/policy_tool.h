/* SPDX-License-Identifier: Apache-2.0 */
/* bulwark-policy: shared helpers of the policy tool's commands (files, keys, loading). */
#ifndef BULWARK_POLICY_TOOL_H
#define BULWARK_POLICY_TOOL_H

#include "acm.h"
#include "util.h"

/* Exit codes, documented in docs/policy.md. */
#define EXIT_OK 0        /* success, or the decision is allow */
#define EXIT_REFUSED 1   /* deny, invalid policy, refused bundle, I/O failure */
#define EXIT_USAGE 2     /* bad command line */

enum tool_kind { TOOL_TEXT, TOOL_COMPILED, TOOL_BUNDLE };

struct tool_loaded {
	enum tool_kind kind;
	struct acm_bundle_info bundle;  /* TOOL_BUNDLE: header, unverified */
};

/* Reads a file (at most ACM_BUNDLE_MAX bytes); prints a one-line error on failure. */
int tool_read(const char *path, uint8_t **buf, size_t *len);
/* Writes a whole file with the given mode; prints a one-line error on failure. */
int tool_write(const char *path, const void *buf, size_t len, int mode);
/* Guesses what a file holds from its magic. */
enum tool_kind tool_kind_of(const uint8_t *buf, size_t len);
/*
 * Loads a policy from text, compiled form or (without verifying it) a bundle. Returns a
 * new policy or NULL after printing the error.
 */
struct acm_policy *tool_load(const char *path, struct tool_loaded *info);
/* Writes PREFIX.key (0600) and PREFIX.pub, never overwriting. Returns 0 or -errno. */
int tool_key_write(const char *prefix, const uint8_t priv[ACM_KEY_LEN]);
/* Reads a PEM Ed25519 private or public key. Returns 0 or -errno after printing why. */
int tool_key_read(const char *path, bool private_key, uint8_t out[ACM_KEY_LEN]);
/* The eval and diff commands (policy_query.c); argv[0] is the command name. Exit code. */
int tool_cmd_eval(int argc, char **argv);
int tool_cmd_diff(int argc, char **argv);

/* Lower-case hex of n bytes into out (2n + 1 bytes). */
void tool_hex(const uint8_t *p, size_t n, char *out);

#endif

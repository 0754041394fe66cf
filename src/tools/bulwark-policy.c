// SPDX-License-Identifier: Apache-2.0
/*
 * bulwark-policy: write, check, compile, sign, verify, inspect and query ACM policies.
 * Exit codes: 0 success or allow, 1 deny or refusal, 2 bad usage.
 */
#include "policy_tool.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
	const char *help;
};

static const struct cmd *current;

static int PRINTF_LIKE(1, 2) usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bulwark-policy %s: ", current->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: bulwark-policy %s %s (see --help)\n", current->name,
		current->usage);
	return EXIT_USAGE;
}

static bool want_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	return false;
}

static int cmd_keygen(int argc, char **argv)
{
	uint8_t priv[ACM_KEY_LEN];
	int ret;

	if (argc != 2)
		return usage_error("expected one PREFIX");
	if (acm_key_generate(priv)) {
		fprintf(stderr, "bulwark-policy keygen: no randomness available\n");
		return EXIT_REFUSED;
	}
	ret = tool_key_write(argv[1], priv);
	memset(priv, 0, sizeof(priv));
	if (ret)
		return EXIT_REFUSED;
	printf("wrote %s.key (private, keep it offline) and %s.pub (pin it in bulwarkd)\n",
	       argv[1], argv[1]);
	return EXIT_OK;
}

static void print_warning(void *ctx, const char *msg)
{
	fprintf(stderr, "%s: warning: %s\n", (const char *)ctx, msg);
}

static int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = { { "strict", no_argument, NULL, 's' }, { 0 } };
	bool strict = false;
	int c, rc = EXIT_OK;

	while ((c = getopt_long(argc, argv, "s", opts, NULL)) != -1) {
		if (c != 's')
			return usage_error("unknown option");
		strict = true;
	}
	if (optind >= argc)
		return usage_error("expected at least one FILE");
	for (int i = optind; i < argc; i++) {
		struct tool_loaded info;
		struct acm_policy *pol = tool_load(argv[i], &info);
		unsigned int warnings;

		if (!pol) {
			rc = EXIT_REFUSED;
			continue;
		}
		warnings = acm_policy_lint(pol, print_warning, argv[i]);
		printf("%s: %s (%u labels, %u rules, %u warnings)\n", argv[i],
		       strict && warnings ? "warnings" : "ok", acm_policy_label_count(pol),
		       acm_policy_rule_count(pol), warnings);
		if (strict && warnings)
			rc = EXIT_REFUSED;
		acm_policy_free(pol);
	}
	return rc;
}

static int cmd_compile(int argc, char **argv)
{
	const char *out = NULL;
	struct tool_loaded info;
	struct acm_policy *pol;
	uint8_t *bin;
	size_t len;
	int c, rc = EXIT_REFUSED;

	while ((c = getopt(argc, argv, "o:")) != -1) {
		if (c != 'o')
			return usage_error("unknown option");
		out = optarg;
	}
	if (!out || optind != argc - 1)
		return usage_error("expected -o OUT and one FILE");
	pol = tool_load(argv[optind], &info);
	if (!pol)
		return EXIT_REFUSED;
	if (acm_policy_encode(pol, &bin, &len)) {
		fprintf(stderr, "bulwark-policy compile: policy too large to encode\n");
	} else {
		rc = tool_write(out, bin, len, 0644) ? EXIT_REFUSED : EXIT_OK;
		free(bin);
	}
	acm_policy_free(pol);
	return rc;
}

/* Hash of the policy in any file form; for a bundle also its version. */
static int policy_hash_of(const char *path, uint8_t hash[ACM_HASH_LEN], uint64_t *version)
{
	struct tool_loaded info;
	struct acm_policy *pol = tool_load(path, &info);
	int ret;

	if (!pol)
		return -EINVAL;
	ret = acm_policy_hash(pol, hash);
	if (version)
		*version = info.kind == TOOL_BUNDLE ? info.bundle.version : 0;
	acm_policy_free(pol);
	return ret;
}

static int cmd_sign(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' }, { "version", required_argument, NULL, 'v' },
		{ "prev", required_argument, NULL, 'p' }, { "first", no_argument, NULL, 'f' },
		{ "out", required_argument, NULL, 'o' }, { 0 }
	};
	const char *keys[ACM_MAX_SIGS], *prev = NULL, *out = NULL;
	uint8_t hash[ACM_HASH_LEN], priv[ACM_KEY_LEN], *bin = NULL, *bdl = NULL;
	unsigned int n_keys = 0;
	uint64_t version = 0;
	bool first = false, have_version = false;
	struct tool_loaded info;
	struct acm_policy *pol;
	size_t len, blen;
	int c, rc = EXIT_REFUSED;

	while ((c = getopt_long(argc, argv, "k:v:p:fo:", opts, NULL)) != -1) {
		if (c == 'k' && n_keys < ACM_MAX_SIGS)
			keys[n_keys++] = optarg;
		else if (c == 'v' && !util_parse_uint(optarg, 1, UINT64_MAX, &version))
			have_version = true;
		else if (c == 'v')
			return usage_error("--version needs a number above 0, not '%s'", optarg);
		else if (c == 'p')
			prev = optarg;
		else if (c == 'f')
			first = true;
		else if (c == 'o')
			out = optarg;
		else
			return usage_error("unknown option or too many keys");
	}
	if (!n_keys || !have_version || !out || optind != argc - 1 || first == !!prev)
		return usage_error("needs --key, --version, -o, one of --prev/--first, one POLICY");
	if (prev && policy_hash_of(prev, hash, NULL))
		return EXIT_REFUSED;
	pol = tool_load(argv[optind], &info);
	if (!pol)
		return EXIT_REFUSED;
	if (acm_policy_encode(pol, &bin, &len) ||
	    acm_bundle_build(bin, len, version, prev ? hash : NULL, &bdl, &blen)) {
		fprintf(stderr, "bulwark-policy sign: cannot build the bundle\n");
		goto out_free;
	}
	for (unsigned int i = 0; i < n_keys; i++) {
		int ret = tool_key_read(keys[i], true, priv);

		ret = ret ?: acm_bundle_sign(&bdl, &blen, priv);
		memset(priv, 0, sizeof(priv));
		if (ret) {
			fprintf(stderr, "bulwark-policy sign: cannot sign with %s: %s\n", keys[i],
				ret == -EEXIST ? "that key already signed" : strerror(-ret));
			goto out_free;
		}
	}
	if (!tool_write(out, bdl, blen, 0644)) {
		printf("wrote %s: version %llu, %u signature(s)\n", out,
		       (unsigned long long)version, n_keys);
		rc = EXIT_OK;
	}
out_free:
	free(bdl);
	free(bin);
	acm_policy_free(pol);
	return rc;
}

static int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "trust", required_argument, NULL, 't' }, { "threshold", required_argument, NULL, 'n' },
		{ "current", required_argument, NULL, 'c' }, { "floor", required_argument, NULL, 'f' },
		{ 0 }
	};
	struct acm_trust trust = { .threshold = 1 };
	uint8_t hash[ACM_HASH_LEN], *buf;
	const char *cur = NULL;
	struct acm_bundle_info info;
	struct acm_error err;
	const uint8_t *payload;
	struct acm_policy *pol;
	uint64_t floor = 0, v;
	size_t len, plen;
	char hex[2 * ACM_HASH_LEN + 1];
	int c, ret;

	while ((c = getopt_long(argc, argv, "t:n:c:f:", opts, NULL)) != -1) {
		if (c == 't' && trust.n_keys < ACM_MAX_KEYS) {
			if (tool_key_read(optarg, false, trust.keys[trust.n_keys]))
				return EXIT_REFUSED;
			trust.n_keys++;
		} else if (c == 'n' && !util_parse_uint(optarg, 1, ACM_MAX_SIGS, &v)) {
			trust.threshold = (unsigned int)v;
		} else if (c == 'c') {
			cur = optarg;
		} else if (c == 'f' && !util_parse_uint(optarg, 0, UINT64_MAX, &floor)) {
			continue;
		} else {
			return usage_error("bad option or value");
		}
	}
	if (!trust.n_keys || optind != argc - 1)
		return usage_error("needs at least one --trust PUB and one BUNDLE");
	if (cur && policy_hash_of(cur, hash, &v))
		return EXIT_REFUSED;
	if (cur && v > floor)
		floor = v;
	if (tool_read(argv[optind], &buf, &len))
		return EXIT_REFUSED;
	ret = acm_bundle_verify(&trust, buf, len, floor, cur ? hash : NULL, &info, &payload, &plen,
				&err);
	if (!ret) {
		/* Only now, with the signature good, is the payload parsed. */
		pol = acm_policy_decode(payload, plen, &err);
		ret = pol ? 0 : -EINVAL;
		acm_policy_free(pol);
	}
	free(buf);
	if (ret) {
		fprintf(stderr, "%s: %s\n", argv[optind], err.msg);
		return EXIT_REFUSED;
	}
	tool_hex(info.hash, ACM_HASH_LEN, hex);
	printf("%s: ok: version %llu, policy sha256 %s, %u of %u signature(s) by pinned keys\n",
	       argv[optind], (unsigned long long)info.version, hex, info.n_trusted, info.n_sigs);
	return EXIT_OK;
}

static int cmd_show(int argc, char **argv)
{
	struct tool_loaded info;
	struct acm_policy *pol;
	char hex[2 * ACM_HASH_LEN + 1], *text;

	if (argc != 2)
		return usage_error("expected one FILE");
	pol = tool_load(argv[1], &info);
	if (!pol)
		return EXIT_REFUSED;
	if (info.kind == TOOL_BUNDLE) {
		tool_hex(info.bundle.prev_hash, ACM_HASH_LEN, hex);
		printf("# bundle (not verified here; use verify): version %llu, %u signature(s)\n"
		       "# replaces policy %s\n", (unsigned long long)info.bundle.version,
		       info.bundle.n_sigs, hex);
	}
	text = acm_policy_print(pol);
	if (text)
		fputs(text, stdout);
	free(text);
	acm_policy_free(pol);
	return text ? EXIT_OK : EXIT_REFUSED;
}

static const struct cmd cmds[] = {
	{ "keygen", cmd_keygen, "PREFIX", "create an Ed25519 key pair PREFIX.key, PREFIX.pub" },
	{ "check", cmd_check, "[--strict] FILE...", "parse and lint; --strict fails on warnings" },
	{ "compile", cmd_compile, "-o OUT FILE", "write the canonical compiled form" },
	{ "sign", cmd_sign,
	  "--key KEY [--key KEY2] --version N (--prev OLD | --first) -o OUT POLICY",
	  "build a signed bundle; OLD is the policy (any form) it replaces" },
	{ "verify", cmd_verify,
	  "--trust PUB [--trust PUB2] [--threshold N] [--current OLD] [--floor N] BUNDLE",
	  "check signatures, version and predecessor, as bulwarkd would" },
	{ "show", cmd_show, "FILE", "print the canonical text form of a policy or bundle" },
	{ "eval", tool_cmd_eval, "[--explain] POLICY SUBJ_LABEL OBJ_LABEL OP [PORT]",
	  "decide one request; exit 0 allow, 1 deny" },
	{ "diff", tool_cmd_diff, "OLD NEW", "list the decisions that change between policies" },
};

static void help(FILE *f)
{
	fprintf(f, "usage: bulwark-policy COMMAND [ARGS] (COMMAND --help for more)\n\n");
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f, "\nexit codes: 0 success or allow, 1 deny or refusal, 2 bad usage\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		help(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		help(stdout);
		return EXIT_OK;
	}
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
		if (strcmp(argv[1], cmds[i].name))
			continue;
		current = &cmds[i];
		if (want_help(argc - 1, argv + 1)) {
			printf("usage: bulwark-policy %s %s\n  %s\n", cmds[i].name, cmds[i].usage,
			       cmds[i].help);
			return EXIT_OK;
		}
		optind = 1;
		return cmds[i].fn(argc - 1, argv + 1);
	}
	fprintf(stderr, "bulwark-policy: unknown command '%s'\n", argv[1]);
	help(stderr);
	return EXIT_USAGE;
}

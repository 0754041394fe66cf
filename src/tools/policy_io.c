// SPDX-License-Identifier: Apache-2.0
/*
 * File handling for bulwark-policy: loading a policy from text, compiled form or bundle,
 * and Ed25519 keys as PEM files (OpenSSL's formats, so `openssl pkey` reads them).
 */
#include "policy_tool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

int tool_read(const char *path, uint8_t **buf, size_t *len)
{
	int ret = util_read_file(path, ACM_BUNDLE_MAX, buf, len);

	if (ret)
		fprintf(stderr, "bulwark-policy: cannot read %s: %s\n", path,
			ret == -EFBIG ? "file too large" : strerror(-ret));
	return ret;
}

int tool_write(const char *path, const void *buf, size_t len, int mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	const uint8_t *p = buf;

	if (fd < 0)
		goto out_err;
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			close(fd);
			goto out_err;
		}
		p += n;
		len -= (size_t)n;
	}
	if (close(fd))
		goto out_err;
	return 0;
out_err:
	fprintf(stderr, "bulwark-policy: cannot write %s: %s\n", path, strerror(errno));
	return -EIO;
}

enum tool_kind tool_kind_of(const uint8_t *buf, size_t len)
{
	if (len >= 8 && !memcmp(buf, "BWPOLBDL", 8))
		return TOOL_BUNDLE;
	if (len >= 8 && !memcmp(buf, "BWACMPOL", 8))
		return TOOL_COMPILED;
	return TOOL_TEXT;
}

struct acm_policy *tool_load(const char *path, struct tool_loaded *info)
{
	struct acm_policy *pol = NULL;
	struct acm_error err = { "" };
	const uint8_t *payload;
	size_t len, plen;
	uint8_t *buf;

	memset(info, 0, sizeof(*info));
	if (tool_read(path, &buf, &len))
		return NULL;
	info->kind = tool_kind_of(buf, len);
	switch (info->kind) {
	case TOOL_BUNDLE:
		if (acm_bundle_peek(buf, len, &info->bundle, &payload, &plen)) {
			snprintf(err.msg, sizeof(err.msg), "%s: malformed bundle", path);
			break;
		}
		pol = acm_policy_decode(payload, plen, &err);
		break;
	case TOOL_COMPILED:
		pol = acm_policy_decode(buf, len, &err);
		break;
	case TOOL_TEXT:
		pol = acm_policy_parse(path, (const char *)buf, len, &err);
		break;
	}
	if (!pol)
		fprintf(stderr, "%s%s%s\n", info->kind == TOOL_TEXT ? "" : path,
			info->kind == TOOL_TEXT ? "" : ": ", err.msg);
	free(buf);
	return pol;
}

int tool_key_write(const char *prefix, const uint8_t priv[ACM_KEY_LEN])
{
	EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, priv, ACM_KEY_LEN);
	char path[4096];
	FILE *f = NULL;
	int fd, ret = -EIO;

	if (!key)
		goto out;
	for (int pub = 0; pub < 2; pub++) {
		snprintf(path, sizeof(path), "%s.%s", prefix, pub ? "pub" : "key");
		/* Never overwrite a key; the private half is readable by its owner only. */
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, pub ? 0644 : 0600);
		f = fd < 0 ? NULL : fdopen(fd, "w");
		if (!f) {
			fprintf(stderr, "bulwark-policy: cannot create %s: %s\n", path,
				strerror(errno));
			if (fd >= 0)
				close(fd);
			goto out;
		}
		if ((pub ? PEM_write_PUBKEY(f, key)
			 : PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL)) != 1) {
			fprintf(stderr, "bulwark-policy: cannot write %s\n", path);
			fclose(f);
			goto out;
		}
		if (fclose(f)) {
			fprintf(stderr, "bulwark-policy: cannot write %s\n", path);
			goto out;
		}
	}
	ret = 0;
out:
	EVP_PKEY_free(key);
	return ret;
}

int tool_key_read(const char *path, bool private_key, uint8_t out[ACM_KEY_LEN])
{
	FILE *f = fopen(path, "re");
	EVP_PKEY *key = NULL;
	size_t n = ACM_KEY_LEN;
	int ok = 0;

	if (!f) {
		fprintf(stderr, "bulwark-policy: cannot open key %s: %s\n", path, strerror(errno));
		return -errno;
	}
	key = private_key ? PEM_read_PrivateKey(f, NULL, NULL, NULL)
			  : PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (key && EVP_PKEY_get_id(key) == EVP_PKEY_ED25519)
		ok = private_key ? EVP_PKEY_get_raw_private_key(key, out, &n)
				 : EVP_PKEY_get_raw_public_key(key, out, &n);
	EVP_PKEY_free(key);
	if (ok != 1 || n != ACM_KEY_LEN) {
		fprintf(stderr, "bulwark-policy: %s is not an Ed25519 %s key in PEM form\n", path,
			private_key ? "private" : "public");
		return -EINVAL;
	}
	return 0;
}

void tool_hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

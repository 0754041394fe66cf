// SPDX-License-Identifier: Apache-2.0
/* Domain config validation and image digests. */
#include "domcfg.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rpc.h"
#include "util.h"

bool domcfg_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > DOMCFG_NAME_MAX || name[0] == '-' || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

static bool ident_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > DOMCFG_NAME_MAX || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

static int str_member(const json_t *obj, const char *key, bool required, char *dst,
		      size_t cap, char *err, size_t len)
{
	json_t *v = json_object_get(obj, key);

	dst[0] = '\0';
	if (!v) {
		if (required)
			snprintf(err, len, "domain config lacks \"%s\"", key);
		return required ? -EINVAL : 0;
	}
	if (!json_is_string(v) || json_string_length(v) >= cap ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		snprintf(err, len, "domain config: \"%s\" must be a string of at most %zu bytes",
			 key, cap - 1);
		return -EINVAL;
	}
	memcpy(dst, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

static int parse_memory(const json_t *v, uint64_t *out)
{
	if (json_is_integer(v)) {
		json_int_t mib = json_integer_value(v);

		if (mib <= 0 || mib > (json_int_t)(1ULL << 24))
			return -ERANGE;
		*out = (uint64_t)mib * MiB;
		return 0;
	}
	if (json_is_string(v))
		return util_parse_size(json_string_value(v), out);
	return -EINVAL;
}

static int parse(json_t *obj, struct bwd_dom_cfg *out, char *err, size_t len);

int domcfg_parse(json_t *obj, struct bwd_dom_cfg *out, char *err, size_t len)
{
	int ret = parse(obj, out, err, len);

	if (ret < 0)
		rpc_one_line(err); /* names from the config are quoted in messages */
	return ret;
}

static int parse(json_t *obj, struct bwd_dom_cfg *out, char *err, size_t len)
{
	static const char *const known[] = { "name", "label", "vcpus", "memory", "kernel",
					     "initrd", "cmdline", "kernel_sig", "disks", "nics",
					     "vsock_cid" };
	char sig[130];
	const char *key;
	json_t *v;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(obj)) {
		snprintf(err, len, "domain config must be a JSON object");
		return -EINVAL;
	}
	json_object_foreach(obj, key, v) {
		size_t i;

		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (strcmp(key, known[i]) == 0)
				break;
		if (i == sizeof(known) / sizeof(known[0])) {
			snprintf(err, len, "domain config: unknown member \"%.64s\"", key);
			return -EINVAL;
		}
	}
	if (str_member(obj, "name", true, out->name, sizeof(out->name), err, len) ||
	    str_member(obj, "label", true, out->label, sizeof(out->label), err, len) ||
	    str_member(obj, "kernel", true, out->kernel, sizeof(out->kernel), err, len) ||
	    str_member(obj, "initrd", false, out->initrd, sizeof(out->initrd), err, len) ||
	    str_member(obj, "cmdline", false, out->cmdline, sizeof(out->cmdline), err, len) ||
	    str_member(obj, "kernel_sig", false, sig, sizeof(sig), err, len))
		return -EINVAL;
	if (!domcfg_name_ok(out->name)) {
		snprintf(err, len, "domain config: name must be 1-63 of [A-Za-z0-9_-], not "
			 "starting with '-'");
		return -EINVAL;
	}
	if (!ident_ok(out->label)) {
		snprintf(err, len, "domain config: label \"%.64s\" is not a policy label name",
			 out->label);
		return -EINVAL;
	}
	if (out->kernel[0] != '/' || (out->initrd[0] && out->initrd[0] != '/')) {
		snprintf(err, len, "domain config: kernel and initrd must be absolute paths");
		return -EINVAL;
	}
	v = json_object_get(obj, "vcpus");
	out->vcpus = 1;
	if (v && (!json_is_integer(v) || json_integer_value(v) < 1 ||
		  json_integer_value(v) > DOMCFG_MAX_VCPUS)) {
		snprintf(err, len, "domain config: vcpus must be an integer from 1 to %d",
			 DOMCFG_MAX_VCPUS);
		return -EINVAL;
	}
	if (v)
		out->vcpus = (uint32_t)json_integer_value(v);
	v = json_object_get(obj, "memory");
	if (!v || parse_memory(v, &out->memory) < 0 || out->memory < 16 * MiB) {
		snprintf(err, len, "domain config: memory must be MiB (integer) or a size like "
			 "\"512M\", at least 16M");
		return -EINVAL;
	}
	if (sig[0]) {
		if (strlen(sig) != 128) {
			snprintf(err, len, "domain config: kernel_sig must be 128 hex digits");
			return -EINVAL;
		}
		for (int i = 0; i < 64; i++) {
			int hi = util_hexval(sig[2 * i]), lo = util_hexval(sig[2 * i + 1]);

			if (hi < 0 || lo < 0) {
				snprintf(err, len, "domain config: kernel_sig must be hex");
				return -EINVAL;
			}
			out->kernel_sig[i] = (uint8_t)(hi << 4 | lo);
		}
		out->has_kernel_sig = true;
	}
	v = json_object_get(obj, "disks");
	if (v && !json_is_array(v)) {
		snprintf(err, len, "domain config: disks must be an array");
		return -EINVAL;
	}
	v = json_object_get(obj, "nics");
	if (v && !json_is_array(v)) {
		snprintf(err, len, "domain config: nics must be an array");
		return -EINVAL;
	}
	v = json_object_get(obj, "vsock_cid");
	if (v && (!json_is_integer(v) || json_integer_value(v) < 3 ||
		  json_integer_value(v) > 0xfffffffe)) {
		snprintf(err, len, "domain config: vsock_cid must be an integer >= 3");
		return -EINVAL;
	}
	return 0;
}

int domcfg_sha256_file(const char *path, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE], buf[65536];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx;
	struct stat st;
	ssize_t n;
	int fd, ret = -EIO;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	/* Hashing blocks the daemon's loop: a huge (sparse) file must not stall it. */
	if (st.st_size > DOMCFG_IMAGE_MAX) {
		close(fd);
		return -EFBIG;
	}
	ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
			goto out;
	if (n < 0) {
		ret = -errno;
		goto out;
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32)
		goto out;
	for (unsigned int i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	ret = 0;
out:
	EVP_MD_CTX_free(ctx);
	close(fd);
	return ret;
}

// SPDX-License-Identifier: Apache-2.0
/* bulwarkd's configuration file (JSON): paths, trusted policy keys, operators, reserve. */
#include <errno.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "util.h"

#ifndef BWD_DEFAULT_VMM
#define BWD_DEFAULT_VMM "/usr/local/bin/bulwark-vmm"
#endif

static int key_read(const char *path, uint8_t out[ACM_KEY_LEN], char *err, size_t len)
{
	FILE *f = fopen(path, "re");
	EVP_PKEY *key;
	size_t n = ACM_KEY_LEN;
	int ok = 0;

	if (!f) {
		snprintf(err, len, "cannot open trusted key %s: %s", path, strerror(errno));
		return -ENOENT;
	}
	key = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (key && EVP_PKEY_get_id(key) == EVP_PKEY_ED25519)
		ok = EVP_PKEY_get_raw_public_key(key, out, &n);
	EVP_PKEY_free(key);
	if (ok != 1 || n != ACM_KEY_LEN) {
		snprintf(err, len, "trusted key %s is not an Ed25519 public key in PEM form", path);
		return -EINVAL;
	}
	return 0;
}

static int get_path(json_t *root, const char *key, char *dst, size_t cap, char *err,
		    size_t len)
{
	json_t *v = json_object_get(root, key);

	if (!v)
		return 0;
	if (!json_is_string(v) || json_string_value(v)[0] != '/' ||
	    json_string_length(v) >= cap) {
		snprintf(err, len, "config: \"%s\" must be an absolute path shorter than %zu bytes",
			 key, cap);
		return -EINVAL;
	}
	memcpy(dst, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

static int get_uint(json_t *obj, const char *key, uint64_t min, uint64_t max, uint64_t *out,
		    char *err, size_t len)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < (json_int_t)min ||
	    (uint64_t)json_integer_value(v) > max) {
		snprintf(err, len, "config: \"%s\" must be an integer from %llu to %llu", key,
			 (unsigned long long)min, (unsigned long long)max);
		return -EINVAL;
	}
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int get_size(json_t *obj, const char *key, uint64_t *out, char *err, size_t len)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return 0;
	if (!json_is_string(v) || util_parse_size(json_string_value(v), out) < 0) {
		snprintf(err, len, "config: \"%s\" must be a size like \"512M\"", key);
		return -EINVAL;
	}
	return 0;
}

static void defaults(struct bwd_config *c)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	memset(c, 0, sizeof(*c));
	snprintf(c->socket, sizeof(c->socket), "/run/bulwark/bulwarkd.sock");
	snprintf(c->state_dir, sizeof(c->state_dir), "/var/lib/bulwark");
	snprintf(c->run_dir, sizeof(c->run_dir), "/run/bulwark/domains");
	snprintf(c->vmm, sizeof(c->vmm), "%s", BWD_DEFAULT_VMM);
	c->trust.threshold = 1;
	c->operators[0] = 0;
	c->n_operators = 1;
	c->max_request = 1u << 20;
	c->max_clients = 1024;
	c->admit.host_cpus = cpus > 0 ? (uint32_t)cpus : 1;
	c->admit.host_memory = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
	c->admit.reserve_cpus = c->admit.host_cpus > 1 ? 1 : 0;
	c->admit.reserve_cpu_pct = 10;
	c->admit.reserve_memory = 512 * MiB;
}

int bwd_config_load(struct bwd_config *c, const char *path, char *err, size_t len)
{
	static const char *const known[] = { "socket", "state_dir", "run_dir", "audit_log", "vmm",
					     "trusted_keys", "key_threshold", "operators",
					     "audit_allows", "audit_fsync", "max_request",
					     "max_clients", "reserve", "host" };
	json_error_t jerr;
	json_t *root, *v, *o;
	const char *key;
	uint64_t x;
	size_t i;
	int ret = -EINVAL;

	defaults(c);
	if (!path)
		goto finish;
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root || !json_is_object(root)) {
		snprintf(err, len, "%s:%d:%d: %s", path, jerr.line, jerr.column,
			 root ? "config must be a JSON object" : jerr.text);
		json_decref(root);
		return -EINVAL;
	}
	json_object_foreach(root, key, v) {
		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (strcmp(key, known[i]) == 0)
				break;
		if (i == sizeof(known) / sizeof(known[0])) {
			snprintf(err, len, "%s: unknown setting \"%.64s\"", path, key);
			goto out;
		}
	}
	if (get_path(root, "socket", c->socket, sizeof(c->socket), err, len) ||
	    get_path(root, "state_dir", c->state_dir, sizeof(c->state_dir), err, len) ||
	    get_path(root, "run_dir", c->run_dir, sizeof(c->run_dir), err, len) ||
	    get_path(root, "audit_log", c->audit_path, sizeof(c->audit_path), err, len) ||
	    get_path(root, "vmm", c->vmm, sizeof(c->vmm), err, len))
		goto out;
	v = json_object_get(root, "trusted_keys");
	if (v && (!json_is_array(v) || json_array_size(v) > ACM_MAX_KEYS)) {
		snprintf(err, len, "config: \"trusted_keys\" must be a list of at most %d paths",
			 ACM_MAX_KEYS);
		goto out;
	}
	json_array_foreach(v, i, o) {
		if (!json_is_string(o) ||
		    key_read(json_string_value(o), c->trust.keys[c->trust.n_keys], err, len) < 0) {
			if (!json_is_string(o))
				snprintf(err, len, "config: trusted_keys entries must be paths");
			goto out;
		}
		c->trust.n_keys++;
	}
	x = 1;
	if (get_uint(root, "key_threshold", 1, ACM_MAX_KEYS, &x, err, len))
		goto out;
	c->trust.threshold = (unsigned int)x;
	v = json_object_get(root, "operators");
	if (v && (!json_is_array(v) || json_array_size(v) > BWD_MAX_OPERATORS)) {
		snprintf(err, len, "config: \"operators\" must be a list of at most %d uids",
			 BWD_MAX_OPERATORS);
		goto out;
	}
	if (v)
		c->n_operators = 0;
	json_array_foreach(v, i, o) {
		if (!json_is_integer(o) || json_integer_value(o) < 0 ||
		    json_integer_value(o) > 0xfffffffeLL) {
			snprintf(err, len, "config: operators must be uids");
			goto out;
		}
		c->operators[c->n_operators++] = (uint32_t)json_integer_value(o);
	}
	c->audit_allows = json_is_true(json_object_get(root, "audit_allows"));
	c->audit_fsync = json_is_true(json_object_get(root, "audit_fsync"));
	x = c->max_request;
	if (get_uint(root, "max_request", 1024, 64u << 20, &x, err, len))
		goto out;
	c->max_request = x;
	x = c->max_clients;
	if (get_uint(root, "max_clients", 1, 65536, &x, err, len))
		goto out;
	c->max_clients = (unsigned int)x;
	o = json_object_get(root, "reserve");
	x = c->admit.reserve_cpus;
	if (get_uint(o, "cpus", 0, 4096, &x, err, len))
		goto out;
	c->admit.reserve_cpus = (uint32_t)x;
	x = c->admit.reserve_cpu_pct;
	if (get_uint(o, "cpu_pct", 0, 99, &x, err, len))
		goto out;
	c->admit.reserve_cpu_pct = (uint32_t)x;
	if (get_size(o, "memory", &c->admit.reserve_memory, err, len))
		goto out;
	o = json_object_get(root, "host");
	x = c->admit.host_cpus;
	if (get_uint(o, "cpus", 1, 4096, &x, err, len))
		goto out;
	c->admit.host_cpus = (uint32_t)x;
	if (get_size(o, "memory", &c->admit.host_memory, err, len))
		goto out;
	ret = 0;
out:
	json_decref(root);
	if (ret < 0)
		return ret;
finish:
	if (!c->audit_path[0] &&
	    (size_t)snprintf(c->audit_path, sizeof(c->audit_path), "%s/audit.log",
			     c->state_dir) >= sizeof(c->audit_path)) {
		snprintf(err, len, "config: state_dir is too long");
		return -ENAMETOOLONG;
	}
	if (c->trust.n_keys == 0) {
		snprintf(err, len, "config: no trusted_keys: name at least one Ed25519 public key "
			 "(bulwark-policy keygen) that signs policy bundles");
		return -EINVAL;
	}
	if (c->trust.threshold > c->trust.n_keys) {
		snprintf(err, len, "config: key_threshold %u exceeds the %u trusted keys",
			 c->trust.threshold, c->trust.n_keys);
		return -EINVAL;
	}
	return 0;
}

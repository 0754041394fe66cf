/* SPDX-License-Identifier: Apache-2.0 */
/* Domain definitions: the JSON config a user defines, validated into a fixed struct. */
#ifndef BULWARK_DAEMON_DOMCFG_H
#define BULWARK_DAEMON_DOMCFG_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define DOMCFG_NAME_MAX 63
#define DOMCFG_PATH_MAX 1024
#define DOMCFG_CMDLINE_MAX 2048
#define DOMCFG_MAX_VCPUS 255
#define DOMCFG_IMAGE_MAX (1LL << 30)     /* largest kernel or initrd, bytes */

struct bwd_dom_cfg {
	char name[DOMCFG_NAME_MAX + 1];
	char label[DOMCFG_NAME_MAX + 1];
	uint32_t vcpus;
	uint64_t memory;                   /* bytes */
	char kernel[DOMCFG_PATH_MAX];
	char initrd[DOMCFG_PATH_MAX];      /* empty: none */
	char cmdline[DOMCFG_CMDLINE_MAX];
	bool has_kernel_sig;
	uint8_t kernel_sig[64];            /* Ed25519 over acm_image_message, optional */
	/* stored, not yet acted on (issue 4): disks, nics, vsock_cid */
};

/*
 * Validates a domain config object: name ([A-Za-z0-9_-], 1..63), label (a policy
 * identifier), vcpus (1..255), memory (MiB integer or "512M" string), kernel and optional
 * initrd (absolute paths), cmdline, optional kernel_sig (128 hex digits), and the
 * stored-only disks (array), nics (array), vsock_cid (integer >= 3). Unknown members are
 * refused. Returns 0 with out filled, or -EINVAL with a one-line message in err.
 */
int domcfg_parse(json_t *obj, struct bwd_dom_cfg *out, char *err, size_t len);

/* True if name is a valid domain name. */
bool domcfg_name_ok(const char *name);

/*
 * SHA-256 of a regular file, as 64 lower-case hex digits into hex (65 bytes). Returns 0
 * or -errno (-EINVAL if not a regular file, -EFBIG over DOMCFG_IMAGE_MAX).
 */
int domcfg_sha256_file(const char *path, char hex[65]);

#endif

// SPDX-License-Identifier: Apache-2.0
/* The --vsock option: "cid=N,socket=PATH" (docs/vmm.md, virtio-vsock). */
#include "vsock_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "vsock_pkt.h"

#define VSOCK_SPEC_MAX 4096U

int vsock_parse_spec(struct vsock_config *vc, const char *spec, char *err, size_t errlen)
{
	char buf[VSOCK_SPEC_MAX + 1], *save = NULL, *sock = NULL;
	uint64_t cid = 0;

	if (strlen(spec) > VSOCK_SPEC_MAX)
		return util_fail(-EINVAL, err, errlen, "vsock: option longer than %u bytes",
				 VSOCK_SPEC_MAX);
	strcpy(buf, spec);
	for (char *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *v = strchr(kv, '=');

		if (!v)
			return util_fail(-EINVAL, err, errlen,
					 "vsock: expected cid=N,socket=PATH, got a bare '%.32s'", kv);
		*v++ = '\0';
		if (strcmp(kv, "cid") == 0) {
			/* 5.10.4: 0-2 and 0xffffffff are reserved; the upper 32 bits are zero. */
			if (util_parse_uint(v, VSOCK_CID_GUEST_MIN, VSOCK_CID_GUEST_MAX, &cid) < 0)
				return util_fail(-EINVAL, err, errlen,
						 "vsock: cid '%.32s' is not a number from 3 to 4294967294", v);
		} else if (strcmp(kv, "socket") == 0) {
			if (!*v)
				return util_fail(-EINVAL, err, errlen, "vsock: socket= is empty");
			sock = v;
		} else {
			return util_fail(-EINVAL, err, errlen,
					 "vsock: unknown key '%.32s' (expected cid=N,socket=PATH)", kv);
		}
	}
	if (!cid || !sock)
		return util_fail(-EINVAL, err, errlen, "vsock: both cid=N and socket=PATH are needed");
	sock = strdup(sock);
	if (!sock)
		return util_fail(-EINVAL, err, errlen, "vsock: out of memory");
	free(vc->socket);
	vc->socket = sock;
	vc->cid = cid;
	return 0;
}

void vsock_config_free(struct vsock_config *vc)
{
	free(vc->socket);
	vc->socket = NULL;
	vc->cid = 0;
}

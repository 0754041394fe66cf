/* SPDX-License-Identifier: Apache-2.0 */
/* The --vsock option: the guest's CID and the host-side Unix socket path of virtio-vsock. */
#ifndef BULWARK_VMM_VSOCK_CONFIG_H
#define BULWARK_VMM_VSOCK_CONFIG_H

#include <stddef.h>
#include <stdint.h>

struct vsock_config {
	uint64_t cid; /* 0: no vsock device */
	char *socket; /* owned */
};

/*
 * Parses "cid=N,socket=PATH" (N from 3 to 0xfffffffe; PATH without commas) into vc,
 * replacing what it held. Returns 0, or -EINVAL with one line in err and vc untouched.
 */
int vsock_parse_spec(struct vsock_config *vc, const char *spec, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Frees what vc owns and zeroes it; vc may be zeroed or already freed. */
void vsock_config_free(struct vsock_config *vc);

#endif

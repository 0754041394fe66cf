// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer harness: arbitrary bytes as one bulwarkd request line, through the parser and
 * the method table's parameter checks, then the reply builders.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rpc_req req;
	struct rpc_err err = { 0 };
	char *reply;

	if (rpc_parse((const char *)data, size, &req, &err) == 0) {
		/* Accepted: the method exists and params is an object matching its spec. */
		if (!req.method || !json_is_object(req.params))
			__builtin_trap();
		reply = rpc_reply_result(req.id, json_object());
	} else {
		if (err.code >= 0 || memchr(err.msg, '\n', strnlen(err.msg, sizeof(err.msg))))
			__builtin_trap(); /* errors are negative codes with one-line messages */
		reply = rpc_reply_error(req.id, err.code, err.msg);
	}
	if (!reply || reply[strlen(reply) - 1] != '\n' || memchr(reply, '\n', strlen(reply) - 1))
		__builtin_trap(); /* a reply is exactly one line */
	free(reply);
	rpc_req_clear(&req);
	return 0;
}

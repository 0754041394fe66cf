/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON-RPC 2.0 framing for bulwarkd: parse and validate one request line against the
 * method table (api.def), build replies. Pure: no I/O, so it is unit-tested and fuzzed.
 */
#ifndef BULWARK_DAEMON_RPC_H
#define BULWARK_DAEMON_RPC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* JSON-RPC error codes: the standard ones, then ours (documented in docs/api.md). */
enum rpc_code {
	RPC_PARSE_ERROR = -32700,
	RPC_INVALID_REQUEST = -32600,
	RPC_METHOD_NOT_FOUND = -32601,
	RPC_INVALID_PARAMS = -32602,
	RPC_INTERNAL = -32603,
	RPC_DENIED = -32001,     /* the caller's role does not allow it */
	RPC_NOT_FOUND = -32002,  /* no such domain */
	RPC_STATE = -32003,      /* wrong state (already running, not running, exists) */
	RPC_REFUSED = -32004,    /* a rule refused it: Chinese Wall, admission, image, policy */
	RPC_FAILED = -32005,     /* the host could not do it (VMM failed, I/O error) */
};

enum rpc_access { RPC_ACC_ANY, RPC_ACC_OPERATOR, RPC_ACC_LABEL };
enum rpc_admin { RPC_ADM_NONE, RPC_ADM_CREATE, RPC_ADM_MANAGE };

/* One method as api.def describes it; handler is an opaque slot the daemon fills. */
struct rpc_method {
	const char *name;
	enum rpc_access access;
	enum rpc_admin admin;
	bool control;            /* always audited (else: when denied) */
	const char *params;
	const char *help;
};

/* The method table, in api.def order, and its length. */
extern const struct rpc_method rpc_methods[];
extern const size_t rpc_n_methods;

/* A parsed request: borrowed references into root (freed by rpc_req_clear). */
struct rpc_req {
	json_t *root;
	json_t *id;              /* NULL for a notification (no reply is sent) */
	const struct rpc_method *method;
	size_t method_index;
	json_t *params;          /* always an object (empty when absent) */
};

struct rpc_err {
	int code;
	char msg[200];
};

/*
 * Parses one request line (len bytes, no newline, need not be NUL-terminated) and checks
 * it against the method table: JSON-RPC 2.0 shape, known method, every parameter of the
 * declared type, required ones present, no unknown ones. Returns 0 with req filled (free
 * with rpc_req_clear), or -EINVAL with err set; then req->id is the request's id when it
 * could be read (else NULL) and must still be cleared.
 */
int rpc_parse(const char *line, size_t len, struct rpc_req *req, struct rpc_err *err);

/* Releases what rpc_parse took; safe on a zeroed or already cleared req. */
void rpc_req_clear(struct rpc_req *req);

/*
 * Builds the reply line (compact JSON, with a trailing newline) for a result (stolen) or
 * an error; id may be NULL (then "id": null). Returns a malloc'd string or NULL.
 */
char *rpc_reply_result(json_t *id, json_t *result);
char *rpc_reply_error(json_t *id, int code, const char *msg);

/*
 * Replaces control characters and non-ASCII bytes from request strings with '?', so a
 * message stays one line and valid UTF-8 (a reply with invalid UTF-8 cannot be encoded).
 */
void rpc_one_line(char *msg);

/* Finds a method by name; NULL if unknown. */
const struct rpc_method *rpc_method_find(const char *name, size_t *index);

/* Name of an access class and of an admin op, for help and docs. */
const char *rpc_access_name(const struct rpc_method *m);

#endif

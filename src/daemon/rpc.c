// SPDX-License-Identifier: Apache-2.0
/* JSON-RPC 2.0 request parsing and validation against api.def, and reply building. */
#include "rpc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACC_ANY RPC_ACC_ANY
#define ACC_OPERATOR RPC_ACC_OPERATOR
#define ACC_LABEL RPC_ACC_LABEL
#define ADM_NONE RPC_ADM_NONE
#define ADM_CREATE RPC_ADM_CREATE
#define ADM_MANAGE RPC_ADM_MANAGE
#define KIND_CTL true
#define KIND_READ false
#define BWD_METHOD(n, h, acc, adm, kind, p, help) { n, ACC_##acc, ADM_##adm, KIND_##kind, p, help },
const struct rpc_method rpc_methods[] = {
#include "api.def"
};
#undef BWD_METHOD
const size_t rpc_n_methods = sizeof(rpc_methods) / sizeof(rpc_methods[0]);

#define PARAM_MAX 16
#define PARAM_NAME_MAX 32

struct param_spec {
	char name[PARAM_NAME_MAX];
	char type;
	bool optional;
};

void rpc_one_line(char *msg)
{
	for (unsigned char *p = (unsigned char *)msg; *p; p++)
		if (*p < 0x20 || *p >= 0x7f)
			*p = '?';
}

const struct rpc_method *rpc_method_find(const char *name, size_t *index)
{
	for (size_t i = 0; i < rpc_n_methods; i++) {
		if (strcmp(rpc_methods[i].name, name) == 0) {
			if (index)
				*index = i;
			return &rpc_methods[i];
		}
	}
	return NULL;
}

const char *rpc_access_name(const struct rpc_method *m)
{
	switch (m->access) {
	case RPC_ACC_ANY:
		return "any caller";
	case RPC_ACC_OPERATOR:
		return "operator";
	case RPC_ACC_LABEL:
		return m->admin == RPC_ADM_CREATE ? "role: create LABEL" : "role: manage LABEL";
	}
	return "?";
}

/* Splits "a:s,b:i?" into specs. The table is ours, so a malformed spec is a bug. */
static size_t parse_specs(const char *spec, struct param_spec *out)
{
	size_t n = 0;
	const char *p = spec;

	while (*p && n < PARAM_MAX) {
		const char *colon = strchr(p, ':');
		size_t nl;

		if (!colon || colon == p || (size_t)(colon - p) >= PARAM_NAME_MAX)
			break;
		nl = (size_t)(colon - p);
		memcpy(out[n].name, p, nl);
		out[n].name[nl] = '\0';
		out[n].type = colon[1];
		out[n].optional = colon[2] == '?';
		p = colon + 2 + (out[n].optional ? 1 : 0);
		if (*p == ',')
			p++;
		n++;
	}
	return n;
}

static bool type_ok(char type, const json_t *v)
{
	switch (type) {
	case 's':
		return json_is_string(v);
	case 'i':
		return json_is_integer(v);
	case 'b':
		return json_is_boolean(v);
	case 'o':
		return json_is_object(v);
	}
	return false;
}

static const char *type_name(char type)
{
	switch (type) {
	case 's':
		return "a string";
	case 'i':
		return "an integer";
	case 'b':
		return "a boolean";
	case 'o':
		return "an object";
	}
	return "?";
}

__attribute__((format(printf, 3, 4)))
static int fail(struct rpc_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	rpc_one_line(err->msg);
	return -EINVAL;
}

static int check_params(const struct rpc_method *m, json_t *params, struct rpc_err *err)
{
	struct param_spec specs[PARAM_MAX];
	size_t n = parse_specs(m->params, specs);
	const char *key;
	json_t *v;

	json_object_foreach(params, key, v) {
		size_t i;

		for (i = 0; i < n; i++)
			if (strcmp(specs[i].name, key) == 0)
				break;
		if (i == n)
			return fail(err, RPC_INVALID_PARAMS, "unknown parameter '%.64s'", key);
		if (!type_ok(specs[i].type, v)) {
			err->code = RPC_INVALID_PARAMS;
			snprintf(err->msg, sizeof(err->msg), "parameter '%s' must be %s",
				 specs[i].name, type_name(specs[i].type));
			return -EINVAL;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (!specs[i].optional && !json_object_get(params, specs[i].name))
			return fail(err, RPC_INVALID_PARAMS, "missing parameter '%s'",
				    specs[i].name);
	return 0;
}

int rpc_parse(const char *line, size_t len, struct rpc_req *req, struct rpc_err *err)
{
	json_error_t jerr;
	json_t *v, *id;
	const char *name;

	memset(req, 0, sizeof(*req));
	req->root = json_loadb(line, len, JSON_REJECT_DUPLICATES,
			       &jerr);
	if (!req->root) {
		err->code = RPC_PARSE_ERROR;
		snprintf(err->msg, sizeof(err->msg), "malformed JSON at column %d: %.120s",
			 jerr.column, jerr.text);
		rpc_one_line(err->msg); /* jansson quotes the offending raw bytes */
		return -EINVAL;
	}
	if (!json_is_object(req->root))
		return fail(err, RPC_INVALID_REQUEST, "a request must be a JSON object");
	id = json_object_get(req->root, "id");
	if (id && (json_is_string(id) || json_is_integer(id) || json_is_null(id)))
		req->id = id;
	else if (id)
		return fail(err, RPC_INVALID_REQUEST, "'id' must be a string, integer or null");
	v = json_object_get(req->root, "jsonrpc");
	if (!json_is_string(v) || strcmp(json_string_value(v), "2.0") != 0)
		return fail(err, RPC_INVALID_REQUEST, "'jsonrpc' must be \"2.0\"");
	json_object_foreach(req->root, name, v) {
		if (strcmp(name, "jsonrpc") && strcmp(name, "id") && strcmp(name, "method") &&
		    strcmp(name, "params"))
			return fail(err, RPC_INVALID_REQUEST, "unknown member '%.64s'", name);
	}
	v = json_object_get(req->root, "method");
	if (!json_is_string(v))
		return fail(err, RPC_INVALID_REQUEST, "'method' must be a string");
	req->method = rpc_method_find(json_string_value(v), &req->method_index);
	if (!req->method)
		return fail(err, RPC_METHOD_NOT_FOUND,
			    "unknown method '%.64s' (try daemon.ping; `bulwark help` lists them)",
			    json_string_value(v));
	v = json_object_get(req->root, "params");
	if (v && json_is_array(v) && json_array_size(v) == 0)
		v = NULL; /* [] is how some clients say "no parameters" */
	if (v && !json_is_object(v))
		return fail(err, RPC_INVALID_PARAMS, "'params' must be an object");
	if (v) {
		req->params = json_incref(v);
	} else {
		req->params = json_object();
		if (!req->params)
			return fail(err, RPC_INTERNAL, "out of memory");
	}
	return check_params(req->method, req->params, err);
}

void rpc_req_clear(struct rpc_req *req)
{
	json_decref(req->params);
	json_decref(req->root);
	memset(req, 0, sizeof(*req));
}

static char *dump_line(json_t *msg)
{
	char *s, *line;
	size_t n;

	if (!msg)
		return NULL;
	s = json_dumps(msg, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(msg);
	if (!s)
		return NULL;
	n = strlen(s);
	line = realloc(s, n + 2);
	if (!line) {
		free(s);
		return NULL;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	return line;
}

char *rpc_reply_result(json_t *id, json_t *result)
{
	return dump_line(json_pack("{s:s, s:o, s:O}", "jsonrpc", "2.0", "result",
				   result ? result : json_null(), "id", id ? id : json_null()));
}

char *rpc_reply_error(json_t *id, int code, const char *msg)
{
	return dump_line(json_pack("{s:s, s:{s:i, s:s}, s:O}", "jsonrpc", "2.0", "error", "code",
				   code, "message", msg, "id", id ? id : json_null()));
}

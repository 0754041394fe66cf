// SPDX-License-Identifier: Apache-2.0
/*
 * The enforcement point: every request passes bwd_dispatch, which checks the method's
 * access class, runs the handler (which asks the ACM for the label's role), refuses any
 * LABEL method whose handler did not authorize, and audits the outcome.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "daemon.h"

#define BWD_METHOD(n, h, acc, adm, kind, p, help) h,
static json_t *(*const handlers[])(struct bwd_call *, json_t *) = {
#include "api.def"
};
#undef BWD_METHOD

uint64_t bwd_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

json_t *bwd_fail(struct bwd_call *call, int code, const char *fmt, ...)
{
	va_list ap;

	call->code = code;
	va_start(ap, fmt);
	vsnprintf(call->msg, sizeof(call->msg), fmt, ap);
	va_end(ap);
	rpc_one_line(call->msg);
	return NULL;
}

bool bwd_is_operator(const struct bwd_call *call)
{
	for (unsigned int i = 0; i < bwd->cfg.n_operators; i++)
		if (bwd->cfg.operators[i] == call->uid)
			return true;
	return false;
}

bool bwd_authorize(struct bwd_call *call, enum acm_admin_op op, const char *label)
{
	call->label = label;
	if (acm_admin_allowed(bwd->acm, call->uid, call->gids, call->n_gids, op, label)) {
		call->authorized = true;
		return true;
	}
	call->authorized = false;
	if (!bwd->pol)
		bwd_fail(call, RPC_DENIED, "permission denied: no policy is loaded, so no role "
			 "may %s anything (load a signed policy with `bulwark policy load`)",
			 acm_admin_op_name(op));
	else
		bwd_fail(call, RPC_DENIED, "permission denied: no role of uid %u may %s label %s "
			 "(policy version %llu)", (unsigned int)call->uid, acm_admin_op_name(op),
			 label, (unsigned long long)bwd->pol_version);
	return false;
}

static void audit_write(json_t *rec)
{
	if (!rec)
		return;
	char head[AUDIT_HEX_LEN + 32];

	if (audit_append(&bwd->audit, rec, bwd_wall_ns()) < 0) {
		fprintf(stderr, "bulwarkd: warning: cannot write the audit log\n");
	} else {
		/* The inventory keeps the head too: a log cut short while we are down shows. */
		snprintf(head, sizeof(head), "%llu %s", (unsigned long long)bwd->audit.seq,
			 bwd->audit.head);
		if (store_meta_set(bwd->store, "audit_head", head) < 0)
			fprintf(stderr, "bulwarkd: warning: cannot record the audit head\n");
	}
	json_decref(rec);
}

void bwd_audit_call(struct bwd_call *call, bool denied)
{
	const char *decision = denied ? "deny" : call->code ? "error" : "allow";
	json_t *rec = json_pack("{s:s, s:I, s:I, s:s}", "op", call->method->name, "uid",
				(json_int_t)call->uid, "pid", (json_int_t)call->pid, "decision",
				decision);

	if (!rec)
		return;
	if (call->domain)
		json_object_set_new(rec, "domain", json_string(call->domain));
	if (call->label)
		json_object_set_new(rec, "label", json_string(call->label));
	if (call->code) {
		json_object_set_new(rec, "code", json_integer(call->code));
		json_object_set_new(rec, "reason", json_string(call->msg));
	}
	audit_write(rec);
}

void bwd_audit_check_head(void)
{
	char stored[AUDIT_HEX_LEN + 32], mine[AUDIT_HEX_LEN + 32], gap[AUDIT_GAP_MAX];
	unsigned long long seq = 0;

	if (store_meta_get(bwd->store, "audit_head", stored, sizeof(stored)) < 0)
		return;
	snprintf(mine, sizeof(mine), "%llu %s", (unsigned long long)bwd->audit.seq,
		 bwd->audit.head);
	if (strcmp(stored, mine) == 0)
		return;
	sscanf(stored, "%llu", &seq);
	if (seq > bwd->audit.seq)
		snprintf(gap, sizeof(gap), "records %llu..%llu were removed from the end of the "
			 "log while bulwarkd was down", (unsigned long long)bwd->audit.seq + 1, seq);
	else
		snprintf(gap, sizeof(gap), "the log's last record (seq %llu) is not the one "
			 "bulwarkd wrote last (seq %llu): replaced while bulwarkd was down",
			 (unsigned long long)bwd->audit.seq, seq);
	fprintf(stderr, "bulwarkd: warning: audit log: %s\n", gap);
	if (store_meta_set(bwd->store, "audit_gap", gap) < 0)
		fprintf(stderr, "bulwarkd: warning: cannot record the audit gap\n");
	bwd_audit_event("audit.gap", "-", gap);
}

void bwd_audit_event(const char *op, const char *domain, const char *detail)
{
	audit_write(json_pack("{s:s, s:s, s:s, s:s}", "op", op, "domain", domain, "decision",
			      "event", "reason", detail));
}

json_t *bwd_dispatch(struct bwd_call *call, const struct rpc_req *req)
{
	const struct rpc_method *m = req->method;
	json_t *res = NULL;
	bool denied = false;

	call->method = m;
	call->authorized = false;
	call->code = 0;
	call->msg[0] = '\0';
	switch (m->access) {
	case RPC_ACC_ANY:
		call->authorized = true;
		break;
	case RPC_ACC_OPERATOR:
		call->authorized = bwd_is_operator(call);
		if (!call->authorized)
			bwd_fail(call, RPC_DENIED, "permission denied: %s is for operators (uid %u "
				 "is not in the daemon's operators list)", m->name,
				 (unsigned int)call->uid);
		break;
	case RPC_ACC_LABEL:
		break; /* the handler knows the label and calls bwd_authorize */
	}
	if (m->access != RPC_ACC_LABEL && !call->authorized) {
		denied = true;
		goto audit;
	}
	res = handlers[req->method_index](call, req->params);
	if (!call->authorized) {
		/* Fail closed: a LABEL method must have asked the ACM before doing anything. */
		if (res) {
			json_decref(res);
			res = NULL;
			bwd_fail(call, RPC_INTERNAL, "internal error: %s did not check authorization",
				 m->name);
		}
		denied = call->code == RPC_DENIED;
	}
	if (!res && !call->code)
		bwd_fail(call, RPC_INTERNAL, "internal error in %s", m->name);
audit:
	if (m->control || denied || !res || bwd->cfg.audit_allows)
		bwd_audit_call(call, denied);
	return res;
}

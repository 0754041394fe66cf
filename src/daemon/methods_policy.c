// SPDX-License-Identifier: Apache-2.0
/* Policy and audit handlers: policy.load (verify, dry run, refuse or revoke), show, eval;
 * audit.verify, audit.tail. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"

#define MAX_VIOLATIONS 64
#define TAIL_MAX 1000

static void hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

/* Decodes standard base64 into a new buffer. Returns 0 or -EINVAL/-ENOMEM. */
static int unbase64(const char *s, size_t n, uint8_t **out, size_t *len)
{
	uint8_t *buf;
	int got;

	if (n == 0 || n % 4 != 0)
		return -EINVAL;
	buf = malloc(n / 4 * 3 + 1);
	if (!buf)
		return -ENOMEM;
	got = EVP_DecodeBlock(buf, (const unsigned char *)s, (int)n);
	if (got < 0) {
		free(buf);
		return -EINVAL;
	}
	/* EVP_DecodeBlock counts the padding as data. */
	if (s[n - 1] == '=')
		got--;
	if (s[n - 2] == '=')
		got--;
	*out = buf;
	*len = (size_t)got;
	return 0;
}

static const char *violation_kind(enum acm_violation_kind k)
{
	return k == ACM_V_WALL ? "chinese-wall" : k == ACM_V_LABEL_GONE ? "label-gone" : "binding";
}

static struct bwd_dom *dom_by_id(uint32_t domid)
{
	for (struct bwd_dom *d = bwd->doms; d; d = d->next)
		if (d->domid == domid)
			return d;
	return NULL;
}

/* Persists the bundle (atomically) and its version for the next start. */
static int persist(const uint8_t *buf, size_t len, uint64_t version)
{
	char path[BWD_PATH_MAX + 32], tmp[BWD_PATH_MAX + 40], v[32];
	int fd, ret = -EIO;

	snprintf(path, sizeof(path), "%s/policy.bundle", bwd->cfg.state_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, buf, len) == (ssize_t)len && fsync(fd) == 0 && rename(tmp, path) == 0)
		ret = 0;
	close(fd);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)version);
	if (ret == 0)
		ret = store_meta_set(bwd->store, "policy_version", v);
	return ret;
}

int bwd_policy_install(struct acm_policy *pol, const struct acm_bundle_info *info,
		       struct acm_error *err)
{
	struct acm_policy *copy = NULL;
	uint8_t *enc = NULL;
	size_t len;
	int ret;

	ret = acm_policy_encode(pol, &enc, &len);
	if (ret == 0) {
		copy = acm_policy_decode(enc, len, err);
		ret = copy ? 0 : -EINVAL;
	}
	free(enc);
	if (ret == 0)
		ret = acm_commit(bwd->acm, pol, info, err);
	if (ret < 0) {
		acm_policy_free(pol);
		acm_policy_free(copy);
		return ret;
	}
	acm_policy_free(bwd->pol);
	bwd->pol = copy;
	bwd->pol_version = info->version;
	memcpy(bwd->pol_hash, info->hash, ACM_HASH_LEN);
	return 0;
}

json_t *bwd_do_policy_load(struct bwd_call *call, json_t *params)
{
	json_t *b = json_object_get(params, "bundle"), *viol = NULL, *res = NULL;
	bool dry = json_is_true(json_object_get(params, "dry_run"));
	bool revoke = json_is_true(json_object_get(params, "revoke"));
	struct acm_violation v[MAX_VIOLATIONS];
	struct acm_error err = { "" };
	struct acm_bundle_info info;
	struct acm_policy *pol = NULL;
	char hash[2 * ACM_HASH_LEN + 1];
	uint8_t *buf = NULL;
	size_t len, nv = 0;

	if (unbase64(json_string_value(b), json_string_length(b), &buf, &len) < 0)
		return bwd_fail(call, RPC_INVALID_PARAMS, "bundle must be base64 (as `bulwark "
				"policy load FILE` sends it)");
	if (acm_bundle_open(bwd->acm, buf, len, &pol, &info, &err) < 0) {
		res = bwd_fail(call, RPC_REFUSED, "policy refused: %s", err.msg);
		goto out;
	}
	hex(info.hash, ACM_HASH_LEN, hash);
	if (acm_dry_run(bwd->acm, pol, NULL, 0, v, MAX_VIOLATIONS, &nv) < 0) {
		res = bwd_fail(call, RPC_FAILED, "dry run failed");
		goto out;
	}
	viol = json_array();
	for (size_t i = 0; viol && i < nv && i < MAX_VIOLATIONS; i++) {
		struct bwd_dom *d = dom_by_id(v[i].domid);

		json_array_append_new(viol, json_pack("{s:s, s:s, s:s}", "kind",
						      violation_kind(v[i].kind), "domain",
						      d ? d->name : "?", "reason", v[i].reason));
	}
	if (dry) {
		res = json_pack("{s:b, s:I, s:s, s:O}", "installed", 0, "version",
				(json_int_t)info.version, "hash", hash, "violations", viol);
		goto out;
	}
	if (nv && !revoke) {
		res = bwd_fail(call, RPC_REFUSED, "policy refused: it would break %zu running "
			       "domain(s), first: %s (retry with --revoke to stop them)", nv,
			       v[0].reason);
		goto out;
	}
	for (size_t i = 0; i < nv && i < MAX_VIOLATIONS; i++) {
		struct bwd_dom *d = dom_by_id(v[i].domid);

		if (d) {
			bwd_audit_event("policy.revoke", d->name, v[i].reason);
			(void)bwd_vmm_stop(d);
		}
	}
	if (bwd_policy_install(pol, &info, &err) < 0) {
		pol = NULL;
		res = bwd_fail(call, RPC_REFUSED, "policy refused at commit: %s", err.msg);
		goto out;
	}
	pol = NULL;
	if (persist(buf, len, info.version) < 0)
		fprintf(stderr, "bulwarkd: warning: cannot persist the policy bundle\n");
	res = json_pack("{s:b, s:I, s:s, s:O}", "installed", 1, "version",
			(json_int_t)info.version, "hash", hash, "violations", viol);
out:
	json_decref(viol);
	acm_policy_free(pol);
	free(buf);
	return res;
}

json_t *bwd_do_policy_show(struct bwd_call *call, json_t *params)
{
	char hash[2 * ACM_HASH_LEN + 1];
	json_t *labels;

	(void)params;
	if (!bwd->pol)
		return json_pack("{s:b, s:s}", "loaded", 0, "note",
				 "no policy: everything but the management plane is denied");
	hex(bwd->pol_hash, ACM_HASH_LEN, hash);
	labels = json_array();
	for (uint32_t i = 0; labels && i < acm_policy_label_count(bwd->pol); i++)
		json_array_append_new(labels, json_string(acm_policy_label_name(bwd->pol, i)));
	(void)call;
	return json_pack("{s:b, s:s, s:I, s:s, s:o, s:i}", "loaded", 1, "name",
			 acm_policy_name(bwd->pol), "version", (json_int_t)bwd->pol_version, "hash",
			 hash, "labels", labels ? labels : json_array(), "rules",
			 (int)acm_policy_rule_count(bwd->pol));
}

json_t *bwd_do_policy_eval(struct bwd_call *call, json_t *params)
{
	const char *subj = json_string_value(json_object_get(params, "subject"));
	const char *obj = json_string_value(json_object_get(params, "object"));
	const char *opn = json_string_value(json_object_get(params, "op"));
	json_t *p = json_object_get(params, "port");
	uint32_t sl, ol, port = p ? (uint32_t)json_integer_value(p) : 0;
	struct acm_decision d;
	char why[2048], rule[256] = "";
	enum acm_op op;

	if (!bwd->pol)
		return bwd_fail(call, RPC_REFUSED, "no policy is loaded: everything is denied");
	if (acm_op_from_name(opn, &op) < 0)
		return bwd_fail(call, RPC_INVALID_PARAMS, "unknown operation '%.64s' (see "
				"docs/policy.md)", opn);
	if (acm_policy_label_find(bwd->pol, subj, &sl) < 0 ||
	    acm_policy_label_find(bwd->pol, obj, &ol) < 0)
		return bwd_fail(call, RPC_INVALID_PARAMS, "unknown label '%.64s' (see `bulwark "
				"policy show`)", acm_policy_label_find(bwd->pol, subj, &sl) < 0 ?
				subj : obj);
	if (p && (json_integer_value(p) < 0 || json_integer_value(p) > 0xffffffffLL))
		return bwd_fail(call, RPC_INVALID_PARAMS, "port out of range");
	acm_policy_decide(bwd->pol, sl, ol, op, port, &d);
	if (acm_policy_explain(bwd->pol, sl, ol, op, port, why, sizeof(why)) < 0)
		why[sizeof(why) - 1] = '\0';
	if (d.rule != ACM_NO_RULE)
		if (acm_policy_rule_text(bwd->pol, (uint32_t)d.rule, rule, sizeof(rule)) < 0)
			rule[0] = 0;
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "decision", d.allow ? "allow" : "deny",
			 "reason", acm_reason_name(d.reason), "rule", rule, "explain", why,
			 "subject", subj, "policy_version", (json_int_t)bwd->pol_version);
}

json_t *bwd_do_audit_verify(struct bwd_call *call, json_t *params)
{
	struct audit_verify v;
	char gap[AUDIT_GAP_MAX];

	(void)params;
	if (audit_verify_fd(bwd->audit.fd, &v) < 0)
		return bwd_fail(call, RPC_FAILED, "cannot read the audit log");
	if (v.ok && store_meta_get(bwd->store, "audit_gap", gap, sizeof(gap)) == 0) {
		v.ok = false;
		v.bad_line = 0;
		snprintf(v.reason, sizeof(v.reason), "%s (found at start-up)", gap);
	}
	/* The chain cannot show records cut from its end; the daemon's own head can. */
	if (v.ok && (v.last_seq != bwd->audit.seq || strcmp(v.last_hash, bwd->audit.head))) {
		v.ok = false;
		v.bad_line = v.records + 1;
		snprintf(v.reason, sizeof(v.reason), "the log ends at record %llu but bulwarkd "
			 "wrote %llu: records were removed from its end",
			 (unsigned long long)v.last_seq, (unsigned long long)bwd->audit.seq);
	}
	return json_pack("{s:b, s:I, s:I, s:s, s:s}", "ok", v.ok, "records",
			 (json_int_t)v.records, "bad_line", (json_int_t)v.bad_line, "reason",
			 v.ok ? "" : v.reason, "head", bwd->audit.head);
}

json_t *bwd_do_audit_tail(struct bwd_call *call, json_t *params)
{
	json_t *c = json_object_get(params, "count"), *out;
	json_int_t count = c ? json_integer_value(c) : 20;

	if (count < 1 || count > TAIL_MAX)
		return bwd_fail(call, RPC_INVALID_PARAMS, "count must be 1..%d", TAIL_MAX);
	out = audit_tail_fd(bwd->audit.fd, (size_t)count,
			    json_string_value(json_object_get(params, "domain")),
			    json_string_value(json_object_get(params, "op")),
			    json_string_value(json_object_get(params, "decision")));
	return out ? out : bwd_fail(call, RPC_FAILED, "cannot read the audit log");
}

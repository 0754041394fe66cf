// SPDX-License-Identifier: Apache-2.0
/*
 * Domain method handlers: define, undefine, start (every check of docs/daemon.md#start),
 * pause, resume, shutdown, destroy, list, show, stats, console.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <grp.h>
#include <stdlib.h>
#include <sys/fsuid.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "daemon.h"
#include "domcfg.h"
#include "util.h"

#define SHUTDOWN_DEFAULT_S 30
#define SHUTDOWN_MAX_S 3600

static const char *pstr(json_t *params, const char *key)
{
	return json_string_value(json_object_get(params, key));
}

/*
 * Loads the named domain and checks the caller's role for op on its label. Returns 0
 * with sd filled (clear it), or -1 with the call's error set.
 */
static int load_dom(struct bwd_call *call, json_t *params, enum acm_admin_op op,
		    struct store_dom *sd)
{
	const char *name = pstr(params, "name");
	int ret;

	if (!domcfg_name_ok(name)) {
		bwd_fail(call, RPC_INVALID_PARAMS, "'%.64s' is not a domain name", name);
		return -1;
	}
	call->domain = name;
	ret = store_get(bwd->store, name, sd);
	if (ret == -ENOENT) {
		bwd_fail(call, RPC_NOT_FOUND, "no domain named %s (see `bulwark list`)", name);
		return -1;
	}
	if (ret < 0) {
		bwd_fail(call, RPC_FAILED, "inventory read failed");
		return -1;
	}
	/* The label is the inventory's, never the request's. */
	call->label = sd->label;
	if (!bwd_authorize(call, op, sd->label)) {
		store_dom_clear(sd);
		return -1;
	}
	return 0;
}

/* The call's strings point into sd; keep copies that outlive it for the audit record. */
struct names {
	char domain[STORE_NAME_MAX], label[STORE_NAME_MAX];
};

static void keep_names(struct bwd_call *call, struct names *n, const struct store_dom *sd)
{
	snprintf(n->domain, sizeof(n->domain), "%s", sd->name);
	snprintf(n->label, sizeof(n->label), "%s", sd->label);
	call->domain = n->domain;
	call->label = n->label;
}

static struct names call_names; /* one request at a time: the loop is single-threaded */

/*
 * Hashes an image with the caller's file-system identity (fsuid, fsgid, groups), so the
 * daemon never reads, or reveals the digest of, a file the caller could not read itself.
 * The daemon is single-threaded, so switching the identity for one open is safe.
 */
static int hash_as_caller(const struct bwd_call *call, const char *path, char hex[65])
{
	gid_t mine[BWD_MAX_GROUPS], theirs[BWD_MAX_GROUPS];
	int n_mine, ret;
	uid_t olduid;
	gid_t oldgid;

	if (geteuid() != 0)
		return domcfg_sha256_file(path, hex); /* no more privilege than the caller's */
	n_mine = getgroups(BWD_MAX_GROUPS, mine);
	for (size_t i = 0; i < call->n_gids; i++)
		theirs[i] = call->gids[i];
	if (n_mine < 0 || setgroups(call->n_gids, theirs) < 0)
		return -EPERM;
	oldgid = (gid_t)setfsgid(call->gid);
	olduid = (uid_t)setfsuid(call->uid);
	ret = domcfg_sha256_file(path, hex);
	setfsuid(olduid);
	setfsgid(oldgid);
	if (setgroups((size_t)n_mine, mine) < 0)
		abort(); /* cannot return to our own identity: a broken invariant */
	return ret;
}

json_t *bwd_do_define(struct bwd_call *call, json_t *params)
{
	struct bwd_dom_cfg cfg;
	char err[256], ksha[65], isha[65] = "";
	char *text;
	int ret;

	if (domcfg_parse(json_object_get(params, "config"), &cfg, err, sizeof(err)) < 0)
		return bwd_fail(call, RPC_INVALID_PARAMS, "%s", err);
	snprintf(call_names.domain, sizeof(call_names.domain), "%s", cfg.name);
	snprintf(call_names.label, sizeof(call_names.label), "%s", cfg.label);
	call->domain = call_names.domain;
	if (!bwd_authorize(call, ACM_ADMIN_CREATE, call_names.label))
		return NULL;
	call->label = call_names.label;
	ret = hash_as_caller(call, cfg.kernel, ksha);
	if (ret == 0 && cfg.initrd[0])
		ret = hash_as_caller(call, cfg.initrd, isha);
	if (ret < 0)
		return bwd_fail(call, RPC_FAILED, "cannot read the kernel or initrd as uid %u: %s "
				"(give absolute paths of regular files you can read, at most 1 GiB)",
				(unsigned int)call->uid, strerror(-ret));
	text = json_dumps(json_object_get(params, "config"), JSON_COMPACT | JSON_SORT_KEYS);
	if (!text)
		return bwd_fail(call, RPC_FAILED, "out of memory");
	ret = store_define(bwd->store, cfg.name, cfg.label, call->uid, text, ksha, isha);
	free(text);
	if (ret == -EEXIST)
		return bwd_fail(call, RPC_STATE, "domain %s already exists (undefine it first)",
				cfg.name);
	if (ret < 0 || store_history(bwd->store, cfg.name, "defined", cfg.label) < 0)
		return bwd_fail(call, RPC_FAILED, "inventory write failed");
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "name", cfg.name, "label", cfg.label,
			 "state", "shutoff", "kernel_sha256", ksha, "initrd_sha256", isha);
}

json_t *bwd_do_undefine(struct bwd_call *call, json_t *params)
{
	struct store_dom sd;

	if (load_dom(call, params, ACM_ADMIN_MANAGE, &sd) < 0)
		return NULL;
	keep_names(call, &call_names, &sd);
	store_dom_clear(&sd);
	if (bwd_dom_find(call_names.domain))
		return bwd_fail(call, RPC_STATE, "domain %s is running: destroy or shut it down "
				"first", call_names.domain);
	if (store_undefine(bwd->store, call_names.domain) < 0 ||
	    store_history(bwd->store, call_names.domain, "undefined", "") < 0)
		return bwd_fail(call, RPC_FAILED, "inventory write failed");
	return json_pack("{s:s}", "name", call_names.domain);
}

static uint32_t free_domid(void)
{
	for (uint32_t id = 1; id <= ACM_DOMID_MAX; id++) {
		struct bwd_dom *d = bwd->doms;

		while (d && d->domid != id)
			d = d->next;
		if (!d)
			return id;
	}
	return 0;
}

/* Image rules: digest listed for the label, or a signature by a listed signer. */
static int check_images(struct bwd_call *call, const struct bwd_dom_cfg *cfg, uint32_t label,
			char ksha[65], char isha[65])
{
	struct acm_error e = { "" };
	uint8_t dig[ACM_HASH_LEN];
	int ret = hash_as_caller(call, cfg->kernel, ksha);

	if (ret == 0 && cfg->initrd[0])
		ret = hash_as_caller(call, cfg->initrd, isha);
	if (ret < 0) {
		bwd_fail(call, RPC_FAILED, "cannot read the kernel or initrd as uid %u: %s",
			 (unsigned int)call->uid, strerror(-ret));
		return -1;
	}
	for (int i = 0; i < ACM_HASH_LEN; i++)
		sscanf(ksha + 2 * i, "%2hhx", &dig[i]);
	if (acm_policy_check_image(bwd->pol, label, ACM_IMAGE_KERNEL, dig,
				   cfg->has_kernel_sig ? cfg->kernel_sig : NULL, &e) < 0) {
		bwd_fail(call, RPC_REFUSED, "refused by image rule: kernel sha256 %.16s...: %s",
			 ksha, e.msg);
		return -1;
	}
	if (cfg->initrd[0]) {
		for (int i = 0; i < ACM_HASH_LEN; i++)
			sscanf(isha + 2 * i, "%2hhx", &dig[i]);
		if (acm_policy_check_image(bwd->pol, label, ACM_IMAGE_INITRD, dig, NULL, &e) < 0) {
			bwd_fail(call, RPC_REFUSED, "refused by image rule: initrd sha256 "
				 "%.16s...: %s", isha, e.msg);
			return -1;
		}
	}
	return 0;
}

static json_t *start_checked(struct bwd_call *call, const struct bwd_dom_cfg *cfg)
{
	struct acm_limits lim, req = { .vcpus = cfg->vcpus, .memory = cfg->memory };
	struct acm_error e = { "" };
	struct acm_txn txn;
	struct admit_req ar;
	struct bwd_dom *dom;
	char why[320], ksha[65], isha[65] = "";
	uint32_t label, domid;
	int ret;

	if (!bwd->pol)
		return bwd_fail(call, RPC_REFUSED, "refused: no policy is loaded");
	if (acm_policy_label_find(bwd->pol, cfg->label, &label) < 0)
		return bwd_fail(call, RPC_REFUSED, "refused: label %s is not in the active policy "
				"(version %llu): unlabelled domains cannot start", cfg->label,
				(unsigned long long)bwd->pol_version);
	if (acm_policy_check_resources(bwd->pol, label, &req, &e) < 0)
		return bwd_fail(call, RPC_REFUSED, "refused by resource rule: %s", e.msg);
	if (check_images(call, cfg, label, ksha, isha) < 0)
		return NULL;
	if (acm_policy_limits(bwd->pol, label, &lim) < 0)
		return bwd_fail(call, RPC_FAILED, "policy has no limits for %s", cfg->label);
	ar = (struct admit_req){ .vcpus = cfg->vcpus, .memory = cfg->memory,
				 .cpu_pct = lim.cpu_pct };
	if (admit_check(&bwd->admit, &ar, why, sizeof(why)) < 0)
		return bwd_fail(call, RPC_REFUSED, "refused by %s", why);
	domid = free_domid();
	ret = acm_domain_start_prepare(bwd->acm, domid, cfg->label, &txn, &e);
	if (ret == -EPERM)
		return bwd_fail(call, RPC_REFUSED, "refused by %s%s",
				strncmp(e.msg, "Chinese Wall", 12) ? "Chinese Wall: " : "", e.msg);
	if (ret < 0)
		return bwd_fail(call, RPC_REFUSED, "refused: %s", e.msg[0] ? e.msg : strerror(-ret));
	dom = bwd_vmm_spawn(cfg, domid, why, sizeof(why));
	if (!dom) {
		acm_domain_start_abort(bwd->acm, &txn);
		(void)store_history(bwd->store, cfg->name, "start-failed", why);
		return bwd_fail(call, RPC_FAILED, "start failed: %s", why);
	}
	if (acm_domain_start_commit(bwd->acm, &txn) < 0) {
		acm_domain_start_abort(bwd->acm, &txn);
		(void)bwd_vmm_stop(dom);
		return bwd_fail(call, RPC_FAILED, "start failed: ACM transaction lost");
	}
	dom->res = ar;
	admit_add(&bwd->admit, &ar);
	if (store_set_running(bwd->store, cfg->name, (int)domid, dom->pid, dom->pid_start, ksha,
			      isha) < 0)
		fprintf(stderr, "bulwarkd: warning: cannot record %s as running\n", cfg->name);
	(void)store_history(bwd->store, cfg->name, "started", "");
	return json_pack("{s:s, s:s, s:i, s:i}", "name", cfg->name, "state", "running", "domid",
			 (int)domid, "pid", (int)dom->pid);
}

json_t *bwd_do_start(struct bwd_call *call, json_t *params)
{
	struct store_dom sd;
	struct bwd_dom_cfg cfg;
	char err[256];
	json_t *obj, *res = NULL;

	if (load_dom(call, params, ACM_ADMIN_CREATE, &sd) < 0)
		return NULL;
	keep_names(call, &call_names, &sd);
	if (bwd_dom_find(sd.name)) {
		res = bwd_fail(call, RPC_STATE, "domain %s is already running", sd.name);
		goto out;
	}
	obj = json_loads(sd.config, 0, NULL);
	if (domcfg_parse(obj, &cfg, err, sizeof(err)) < 0)
		res = bwd_fail(call, RPC_FAILED, "stored definition is invalid: %s", err);
	else
		res = start_checked(call, &cfg);
	json_decref(obj);
out:
	store_dom_clear(&sd);
	return res;
}

/* Loads a live domain for a MANAGE operation. */
static struct bwd_dom *live_dom(struct bwd_call *call, json_t *params)
{
	struct store_dom sd;
	struct bwd_dom *dom;

	if (load_dom(call, params, ACM_ADMIN_MANAGE, &sd) < 0)
		return NULL;
	keep_names(call, &call_names, &sd);
	store_dom_clear(&sd);
	dom = bwd_dom_find(call_names.domain);
	if (!dom)
		bwd_fail(call, RPC_STATE, "domain %s is not running", call_names.domain);
	return dom;
}

static json_t *simple_ctl(struct bwd_call *call, json_t *params, uint16_t type,
			  const char *state)
{
	struct bwd_dom *dom = live_dom(call, params);
	int ret;

	if (!dom)
		return NULL;
	ret = bwd_vmm_call(dom, type, NULL, 0);
	if (ret < 0)
		return bwd_fail(call, RPC_FAILED, "VMM of %s refused: %s", dom->name,
				strerror(-ret));
	(void)store_set_state(bwd->store, dom->name, state, NULL);
	(void)store_history(bwd->store, dom->name, state, "");
	return json_pack("{s:s, s:s}", "name", dom->name, "state", state);
}

json_t *bwd_do_pause(struct bwd_call *call, json_t *params)
{
	return simple_ctl(call, params, CTL_PAUSE, "paused");
}

json_t *bwd_do_resume(struct bwd_call *call, json_t *params)
{
	return simple_ctl(call, params, CTL_RESUME, "running");
}

json_t *bwd_do_shutdown(struct bwd_call *call, json_t *params)
{
	json_t *t = json_object_get(params, "timeout");
	json_int_t timeout = t ? json_integer_value(t) : SHUTDOWN_DEFAULT_S;
	struct bwd_dom *dom;
	char name[STORE_NAME_MAX];
	int ret;

	if (timeout < 0 || timeout > SHUTDOWN_MAX_S)
		return bwd_fail(call, RPC_INVALID_PARAMS, "timeout must be 0..%d seconds",
				SHUTDOWN_MAX_S);
	dom = live_dom(call, params);
	if (!dom)
		return NULL;
	snprintf(name, sizeof(name), "%s", dom->name);
	dom->stop_requested = true;
	ret = timeout ? bwd_vmm_call(dom, CTL_POWER_BUTTON, NULL, 0) : -ECANCELED;
	if (ret < 0) {
		/* No power button yet (EOPNOTSUPP until the DSDT has one), or timeout 0. */
		char why[96];

		snprintf(why, sizeof(why), "power button: %s; hard stop", strerror(-ret));
		(void)store_history(bwd->store, name, "shutdown", why);
		if (bwd_vmm_stop(dom) < 0)
			return bwd_fail(call, RPC_FAILED, "domain %s did not stop", name);
		return json_pack("{s:s, s:s, s:b, s:s}", "name", name, "state", "shutoff",
				 "graceful", 0, "note", why);
	}
	dom->shutdown_deadline = util_now_ns() + (uint64_t)timeout * 1000000000ULL;
	(void)store_history(bwd->store, name, "shutdown", "power button pressed");
	return json_pack("{s:s, s:s, s:b, s:I}", "name", name, "state", "shutting-down",
			 "graceful", 1, "timeout", (json_int_t)timeout);
}

json_t *bwd_do_destroy(struct bwd_call *call, json_t *params)
{
	struct bwd_dom *dom = live_dom(call, params);
	char name[STORE_NAME_MAX];

	if (!dom)
		return NULL;
	snprintf(name, sizeof(name), "%s", dom->name);
	if (bwd_vmm_stop(dom) < 0)
		return bwd_fail(call, RPC_FAILED, "domain %s did not stop even after SIGKILL", name);
	return json_pack("{s:s, s:s}", "name", name, "state", "shutoff");
}

json_t *bwd_do_console(struct bwd_call *call, json_t *params)
{
	struct bwd_dom *dom = live_dom(call, params);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (!dom)
		return NULL;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", dom->con_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		return bwd_fail(call, RPC_FAILED, "console of %s is not reachable", dom->name);
	}
	call->pass_fd = fd;
	return json_pack("{s:s, s:s}", "name", dom->name, "detach", "^]");
}

// SPDX-License-Identifier: Apache-2.0
/* Read-only handlers: daemon.ping, domain.list, domain.show, domain.stats. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "bulwark-config.h"
#include "ctl.h"
#include "daemon.h"
#include "domcfg.h"
#include "util.h"

json_t *bwd_do_ping(struct bwd_call *call, json_t *params)
{
	json_t *gids = json_array();

	(void)params;
	for (size_t i = 0; gids && i < call->n_gids; i++)
		json_array_append_new(gids, json_integer(call->gids[i]));
	return json_pack("{s:s, s:I, s:I, s:I, s:o, s:I, s:i}", "version", BULWARK_VERSION,
			 "uptime_ms", (json_int_t)((util_now_ns() - bwd->started_ns) / 1000000),
			 "uid", (json_int_t)call->uid, "pid", (json_int_t)call->pid, "gids",
			 gids ? gids : json_array(), "policy_version",
			 (json_int_t)bwd->pol_version, "domains_running",
			 (int)bwd->admit.domains);
}

static json_t *dom_summary(const struct store_dom *sd)
{
	json_t *cfg = json_loads(sd->config, 0, NULL);
	json_t *vc = json_object_get(cfg, "vcpus"), *mem = json_object_get(cfg, "memory");
	json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:o, s:o, s:i, s:I}", "name", sd->name,
			      "label", sd->label, "state", sd->state, "owner",
			      (json_int_t)sd->owner, "vcpus",
			      vc ? json_incref(vc) : json_integer(1), "memory",
			      mem ? json_incref(mem) : json_null(), "domid", sd->domid, "pid",
			      (json_int_t)sd->pid);

	json_decref(cfg);
	return o;
}

struct list_ctx {
	struct bwd_call *call;
	json_t *out;
};

static int list_one(void *p, const struct store_dom *sd)
{
	struct list_ctx *lc = p;

	/* Only what the caller could manage: names of others' domains stay private. */
	if (!acm_admin_allowed(bwd->acm, lc->call->uid, lc->call->gids, lc->call->n_gids,
			       ACM_ADMIN_MANAGE, sd->label))
		return 0;
	return json_array_append_new(lc->out, dom_summary(sd)) < 0 ? -ENOMEM : 0;
}

json_t *bwd_do_list(struct bwd_call *call, json_t *params)
{
	struct list_ctx lc = { call, json_array() };

	(void)params;
	if (!lc.out || store_foreach(bwd->store, list_one, &lc) < 0) {
		json_decref(lc.out);
		return bwd_fail(call, RPC_FAILED, "inventory read failed");
	}
	return lc.out;
}

static struct {
	char domain[STORE_NAME_MAX], label[STORE_NAME_MAX];
} names;

static int get_authorized(struct bwd_call *call, json_t *params, struct store_dom *sd)
{
	const char *name = json_string_value(json_object_get(params, "name"));
	int ret;

	if (!domcfg_name_ok(name)) {
		bwd_fail(call, RPC_INVALID_PARAMS, "'%.64s' is not a domain name", name);
		return -1;
	}
	call->domain = name;
	ret = store_get(bwd->store, name, sd);
	if (ret < 0) {
		bwd_fail(call, ret == -ENOENT ? RPC_NOT_FOUND : RPC_FAILED,
			 ret == -ENOENT ? "no domain named %s (see `bulwark list`)"
					: "inventory read failed for %s", name);
		return -1;
	}
	snprintf(names.domain, sizeof(names.domain), "%s", sd->name);
	snprintf(names.label, sizeof(names.label), "%s", sd->label);
	call->domain = names.domain;
	if (!bwd_authorize(call, ACM_ADMIN_MANAGE, names.label)) {
		store_dom_clear(sd);
		return -1;
	}
	return 0;
}

json_t *bwd_do_show(struct bwd_call *call, json_t *params)
{
	struct store_dom sd;
	json_t *o;

	if (get_authorized(call, params, &sd) < 0)
		return NULL;
	o = dom_summary(&sd);
	if (o) {
		json_object_set_new(o, "config", json_loads(sd.config, 0, NULL));
		json_object_set_new(o, "kernel_sha256", json_string(sd.kernel_sha));
		json_object_set_new(o, "initrd_sha256", json_string(sd.initrd_sha));
		json_object_set_new(o, "last_exit", json_string(sd.last_exit));
		json_object_set_new(o, "created", json_integer(sd.created));
		json_object_set_new(o, "started", json_integer(sd.started));
		json_object_set_new(o, "history", store_history_json(bwd->store, sd.name, 20));
	}
	store_dom_clear(&sd);
	return o ? o : bwd_fail(call, RPC_FAILED, "out of memory");
}

/* The "io" object of domain.stats: totals since the guest's current boot. */
static json_t *io_json(const struct ctl_stats *s)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "blk_reads",
			 (json_int_t)s->blk_reads, "blk_writes", (json_int_t)s->blk_writes,
			 "blk_read_bytes", (json_int_t)s->blk_read_bytes, "blk_write_bytes",
			 (json_int_t)s->blk_write_bytes, "net_rx_frames",
			 (json_int_t)s->net_rx_frames, "net_tx_frames",
			 (json_int_t)s->net_tx_frames, "net_rx_bytes", (json_int_t)s->net_rx_bytes,
			 "net_tx_bytes", (json_int_t)s->net_tx_bytes, "vsock_rx_bytes",
			 (json_int_t)s->vsock_rx_bytes, "vsock_tx_bytes",
			 (json_int_t)s->vsock_tx_bytes);
}

json_t *bwd_do_stats(struct bwd_call *call, json_t *params)
{
	struct store_dom sd;
	struct ctl_status st;
	struct ctl_stats s;
	struct bwd_dom *dom;
	int ret;

	if (get_authorized(call, params, &sd) < 0)
		return NULL;
	store_dom_clear(&sd);
	dom = bwd_dom_find(names.domain);
	if (!dom)
		return bwd_fail(call, RPC_STATE, "domain %s is not running", names.domain);
	ret = bwd_vmm_call(dom, CTL_PING, &st, sizeof(st));
	/* A VMM from before the I/O counters answers without them: they read as 0. */
	if (ret == 0)
		ret = bwd_vmm_call_min(dom, CTL_STATS, &s, offsetof(struct ctl_stats, blk_reads),
				       sizeof(s));
	if (ret < 0)
		return bwd_fail(call, RPC_FAILED, "VMM of %s does not answer: %s", dom->name,
				strerror(-ret));
	return json_pack("{s:s, s:s, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "name",
			 dom->name, "state", st.state == CTL_STATE_PAUSED ? "paused" : "running",
			 "vcpus", (int)st.ncpus, "memory", (json_int_t)st.memory, "uptime_ns",
			 (json_int_t)st.uptime_ns, "cpu_ns", (json_int_t)s.cpu_ns, "rss_bytes",
			 (json_int_t)s.rss_bytes, "exits", (json_int_t)s.exits, "pio_exits",
			 (json_int_t)s.pio_exits, "mmio_exits", (json_int_t)s.mmio_exits, "io",
			 io_json(&s));
}

// SPDX-License-Identifier: Apache-2.0
/*
 * bulwarkd: the management daemon. Start-up (config, inventory, audit, persisted policy,
 * re-attach to running domains), the event loop, and an orderly exit that leaves domains
 * running.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bulwark-config.h"
#include "daemon.h"
#include "domcfg.h"
#include "util.h"

struct bwd *bwd;

static void usage(FILE *f)
{
	fprintf(f, "usage: bulwarkd [--config FILE]\n"
		   "The bulwark management daemon (docs/daemon.md). Runs in the foreground.\n"
		   "  -c, --config FILE  JSON configuration (default: built-in defaults)\n"
		   "  -h, --help         this text\n"
		   "  -V, --version      print the version\n"
		   "exit codes: 0 stopped by SIGTERM/SIGINT, 1 start-up failure, 2 usage\n");
}

static int mkdirs(const char *path, mode_t mode)
{
	char buf[BWD_PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Loads the policy persisted by the last policy.load, so a restart enforces the same. */
static int load_persisted_policy(void)
{
	char path[BWD_PATH_MAX + 32], v[32];
	struct acm_error err = { "" };
	struct acm_bundle_info info;
	struct acm_policy *pol = NULL;
	uint64_t version;
	uint8_t *buf;
	size_t len;
	int ret;

	if (store_meta_get(bwd->store, "policy_version", v, sizeof(v)) < 0)
		return 0;
	version = strtoull(v, NULL, 10);
	snprintf(path, sizeof(path), "%s/policy.bundle", bwd->cfg.state_dir);
	ret = util_read_file(path, ACM_BUNDLE_MAX, &buf, &len);
	if (ret < 0) {
		fprintf(stderr, "bulwarkd: error: policy version %llu is recorded but %s cannot be "
			"read: %s\n", (unsigned long long)version, path, strerror(-ret));
		return ret;
	}
	/* Exactly the recorded version may load: never an older one (rollback). */
	acm_set_version_floor(bwd->acm, version ? version - 1 : 0);
	ret = acm_bundle_open(bwd->acm, buf, len, &pol, &info, &err);
	if (ret == 0 && info.version != version) {
		acm_policy_free(pol);
		ret = -ESTALE;
	} else if (ret == 0) {
		ret = bwd_policy_install(pol, &info, &err);
	}
	free(buf);
	acm_set_version_floor(bwd->acm, version);
	if (ret < 0)
		fprintf(stderr, "bulwarkd: error: persisted policy %s refused: %s\n", path,
			err.msg[0] ? err.msg : strerror(-ret));
	return ret;
}

static int reattach_one(void *ctx, const struct store_dom *sd)
{
	struct acm_error err = { "" };
	struct acm_limits lim = { 0 };
	struct acm_txn txn;
	struct bwd_dom *dom;
	uint32_t label;
	char why[256];

	(void)ctx;
	if (strcmp(sd->state, "running") && strcmp(sd->state, "paused"))
		return 0;
	dom = bwd_vmm_attach(sd, why, sizeof(why));
	if (!dom) {
		(void)store_set_state(bwd->store, sd->name, "crashed", why);
		(void)store_history(bwd->store, sd->name, "lost", why);
		bwd_audit_event("domain.lost", sd->name, why);
		return 0;
	}
	if (bwd->pol && acm_policy_label_find(bwd->pol, sd->label, &label) == 0)
		if (acm_policy_limits(bwd->pol, label, &lim) < 0)
			lim.cpu_pct = 0;
	if (acm_domain_start_prepare(bwd->acm, dom->domid, sd->label, &txn, &err) < 0 ||
	    acm_domain_start_commit(bwd->acm, &txn) < 0)
		/* It runs; the monitor must know it even if its label went away. */
		fprintf(stderr, "bulwarkd: warning: re-attached %s is not admitted by the "
			"policy: %s\n", sd->name, err.msg);
	{
		json_t *cfg = json_loads(sd->config, 0, NULL);
		struct bwd_dom_cfg dc;
		char e[256];

		if (domcfg_parse(cfg, &dc, e, sizeof(e)) == 0)
			dom->res = (struct admit_req){ dc.vcpus, dc.memory, lim.cpu_pct };
		json_decref(cfg);
	}
	admit_add(&bwd->admit, &dom->res);
	(void)store_history(bwd->store, sd->name, "re-attached", "");
	bwd_audit_event("domain.reattach", sd->name, "re-attached after a daemon restart");
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct bwd d;
	const char *cfgpath = NULL;
	char err[512], logs[BWD_PATH_MAX + 8], lock[BWD_PATH_MAX + 16];
	int c, rc = 1, lockfd;

	while ((c = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cfgpath = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("bulwarkd %s\n", BULWARK_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	bwd = &d;
	d.listen.fd = d.sig.fd = d.audit.fd = -1;
	d.started_ns = util_now_ns();
	signal(SIGPIPE, SIG_IGN);
	if (bwd_config_load(&d.cfg, cfgpath, err, sizeof(err)) < 0) {
		fprintf(stderr, "bulwarkd: error: %s\n", err);
		return 1;
	}
	d.admit = d.cfg.admit;
	snprintf(logs, sizeof(logs), "%s/logs", d.cfg.state_dir);
	umask(077);
	if (mkdirs(d.cfg.state_dir, 0700) < 0 || mkdirs(logs, 0700) < 0 ||
	    mkdirs(d.cfg.run_dir, 0700) < 0) {
		fprintf(stderr, "bulwarkd: error: cannot create %s, %s or %s: %s\n",
			d.cfg.state_dir, logs, d.cfg.run_dir, strerror(errno));
		return 1;
	}
	/* One daemon per state directory: a second would steal the socket and the domains. */
	snprintf(lock, sizeof(lock), "%s/bulwarkd.lock", d.cfg.state_dir);
	lockfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lockfd < 0 || flock(lockfd, LOCK_EX | LOCK_NB) < 0) {
		fprintf(stderr, "bulwarkd: error: another bulwarkd is using %s (%s)\n",
			d.cfg.state_dir, strerror(errno));
		if (lockfd >= 0)
			close(lockfd);
		return 1;
	}
	d.epfd = epoll_create1(EPOLL_CLOEXEC);
	d.acm = acm_new(&d.cfg.trust, 0);
	if (d.epfd < 0 || !d.acm) {
		fprintf(stderr, "bulwarkd: error: cannot set up the event loop or the ACM\n");
		goto out;
	}
	d.store = store_open(d.cfg.state_dir, err, sizeof(err));
	if (!d.store || audit_open(&d.audit, d.cfg.audit_path, d.cfg.audit_fsync, err,
				   sizeof(err)) < 0) {
		fprintf(stderr, "bulwarkd: error: %s\n", err);
		goto out;
	}
	bwd_audit_check_head();
	if (load_persisted_policy() < 0)
		goto out;
	bwd_audit_event("daemon.start", "-", BULWARK_VERSION);
	if (store_foreach(d.store, reattach_one, NULL) < 0) {
		fprintf(stderr, "bulwarkd: error: cannot read the inventory\n");
		goto out;
	}
	if (bwd_server_listen(&d, err, sizeof(err)) < 0) {
		fprintf(stderr, "bulwarkd: error: %s\n", err);
		goto out;
	}
	fprintf(stderr, "bulwarkd: listening on %s (policy version %llu, %u domains running)\n",
		d.cfg.socket, (unsigned long long)d.pol_version, d.admit.domains);
	bwd_server_run(&d);
	bwd_audit_event("daemon.stop", "-", "SIGTERM/SIGINT; domains left running");
	rc = 0;
out:
	bwd_server_close(&d);
	/* Running domains stay up: their VMMs are in their own sessions; drop only our fds. */
	while (d.doms) {
		struct bwd_dom *dom = d.doms;

		d.doms = dom->next;
		if (dom->ctlw.fd >= 0)
			close(dom->ctlw.fd);
		if (dom->pidw.fd >= 0)
			close(dom->pidw.fd);
		free(dom);
	}
	bwd_vmm_tick(); /* frees the graveyard */
	audit_close(&d.audit);
	store_close(d.store);
	acm_policy_free(d.pol);
	acm_free(d.acm);
	if (d.epfd >= 0)
		close(d.epfd);
	close(lockfd);
	return rc;
}

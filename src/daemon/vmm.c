// SPDX-License-Identifier: Apache-2.0
/*
 * Live domains: spawn bulwark-vmm (fork/exec, close-on-exec everywhere), watch it with a
 * pidfd, talk to it over its SOCK_SEQPACKET control socket (src/common/ctl.h), re-attach
 * after a daemon restart, and release everything when it exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"
#include "daemon.h"
#include "domcfg.h"
#include "util.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#define CTL_TIMEOUT_MS 3000
#define START_TIMEOUT_NS (5ULL * 1000000000ULL)
#define STOP_TIMEOUT_MS 3000

static struct bwd_dom *graveyard; /* freed after the current batch of events */

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int pidfd_kill(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

uint64_t bwd_pid_start(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* Field 22 (starttime), counted after the ")" that ends the command name. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d "
			 "%*d %*d %*d %*d %llu", &start) != 1)
		return 0;
	return start;
}

struct bwd_dom *bwd_dom_find(const char *name)
{
	for (struct bwd_dom *d = bwd->doms; d; d = d->next)
		if (strcmp(d->name, name) == 0)
			return d;
	return NULL;
}

static void unlink_dom(struct bwd_dom *dom)
{
	for (struct bwd_dom **pp = &bwd->doms; *pp; pp = &(*pp)->next) {
		if (*pp == dom) {
			*pp = dom->next;
			break;
		}
	}
}

static void ctl_detach(struct bwd_dom *dom)
{
	if (dom->ctlw.fd >= 0) {
		bwd_watch_del(&dom->ctlw);
		close(dom->ctlw.fd);
		dom->ctlw.fd = -1;
	}
}

/* Maps a VMM's wait status to the inventory state and a sentence (docs/vmm.md codes). */
static const char *exit_reason(int status, bool have, bool requested, char *buf, size_t len)
{
	static const char *const codes[] = {
		"guest powered off", "guest crashed", "VMM usage or config error",
		"VMM host error", "kernel, initrd or memory-size error", "guest rebooted",
		"stopped on request",
	};

	if (!have) {
		/* A re-attached VMM is not our child: the kernel gives its status to init. */
		snprintf(buf, len, "%s (exit status unknown after re-attach)",
			 requested ? "stopped on request" : "VMM exited");
		return requested ? "shutoff" : "crashed";
	}
	if (WIFEXITED(status)) {
		int c = WEXITSTATUS(status);

		snprintf(buf, len, "exit %d: %s", c,
			 c < (int)(sizeof(codes) / sizeof(codes[0])) ? codes[c] : "unknown");
		return c == 0 || c == 6 || c == 5 ? "shutoff" : "crashed";
	}
	snprintf(buf, len, "VMM killed by signal %d (%s)", WTERMSIG(status),
		 strsignal(WTERMSIG(status)));
	return "crashed";
}

void bwd_dom_gone(struct bwd_dom *dom, int status, bool have_status)
{
	char why[160];
	const char *state = exit_reason(status, have_status, dom->stop_requested, why,
					 sizeof(why));

	ctl_detach(dom);
	bwd_watch_del(&dom->pidw);
	close(dom->pidw.fd);
	dom->pidw.fd = -1;
	if (acm_domain_stop(bwd->acm, dom->domid) < 0)
		fprintf(stderr, "bulwarkd: warning: domain %s was not live in the ACM\n", dom->name);
	admit_release(&bwd->admit, &dom->res);
	if (store_set_state(bwd->store, dom->name, state, why) < 0 ||
	    store_history(bwd->store, dom->name, state, why) < 0)
		fprintf(stderr, "bulwarkd: warning: cannot record the exit of %s\n", dom->name);
	bwd_audit_event("domain.exit", dom->name, why);
	unlink(dom->ctl_path);
	unlink(dom->con_path);
	unlink_dom(dom);
	dom->next = graveyard;
	graveyard = dom;
}

static void on_pidfd(struct bwd_watch *w, uint32_t events)
{
	struct bwd_dom *dom = (struct bwd_dom *)((char *)w - offsetof(struct bwd_dom, pidw));
	siginfo_t si = { 0 };
	int status = 0;
	bool have = false;

	(void)events;
	if (w->fd < 0)
		return; /* already gone earlier in this batch */
	if (dom->child && waitid((idtype_t)P_PIDFD, (id_t)w->fd, &si, WEXITED | WNOHANG) == 0 &&
	    si.si_pid) {
		have = true;
		status = si.si_code == CLD_EXITED ? W_EXITCODE(si.si_status, 0) : si.si_status;
	} else if (dom->child) {
		return; /* not exited yet */
	}
	bwd_dom_gone(dom, status, have);
}

/* An unsolicited message from the VMM; anything but a known event is ignored. */
static void handle_event(struct bwd_dom *dom, const struct ctl_hdr *h, const uint8_t *payload)
{
	struct ctl_event ev;
	char detail[64];

	if (h->type != CTL_EVENT || h->len < sizeof(ev))
		return;
	memcpy(&ev, payload, sizeof(ev));
	if (ev.kind == CTL_EV_GUEST_INIT) {
		snprintf(detail, sizeof(detail), "guest init after %llu us",
			 (unsigned long long)ev.arg);
		(void)store_history(bwd->store, dom->name, "guest-init", detail);
	}
}

static void on_ctl(struct bwd_watch *w, uint32_t events)
{
	struct bwd_dom *dom = (struct bwd_dom *)((char *)w - offsetof(struct bwd_dom, ctlw));
	uint8_t payload[CTL_MAX_PAYLOAD];
	int fds[CTL_MAX_FDS];
	unsigned int nfds = 0;
	struct ctl_hdr h;

	(void)events;
	if (w->fd < 0)
		return;
	if (ctl_recv(w->fd, &h, payload, fds, &nfds) < 0) {
		ctl_detach(dom); /* the pidfd tells us whether the VMM is gone */
		return;
	}
	for (unsigned int i = 0; i < nfds; i++)
		close(fds[i]);
	handle_event(dom, &h, payload);
}

static int ctl_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

static int ctl_watch(struct bwd_dom *dom, int fd)
{
	dom->ctlw.fd = fd;
	dom->ctlw.fn = on_ctl;
	if (bwd_watch_add(&dom->ctlw, EPOLLIN) < 0) {
		close(fd);
		dom->ctlw.fd = -1;
		return -EIO;
	}
	return 0;
}

static int vmm_call_once(struct bwd_dom *dom, uint16_t type, void *reply, size_t min_len,
			 size_t reply_len)
{
	uint8_t payload[CTL_MAX_PAYLOAD];
	uint64_t deadline = util_now_ns() + CTL_TIMEOUT_MS * 1000000ULL;
	int fds[CTL_MAX_FDS];
	unsigned int nfds;
	struct ctl_hdr h;
	int32_t status;
	uint32_t seq;
	int ret;

	if (dom->ctlw.fd < 0) {
		ret = ctl_connect(dom->ctl_path);
		if (ret < 0 || ctl_watch(dom, ret) < 0)
			return -ENOTCONN;
	}
	seq = ++dom->seq;
	ret = ctl_send(dom->ctlw.fd, type, seq, NULL, 0, NULL, 0);
	if (ret < 0)
		goto broken;
	for (;;) {
		struct pollfd p = { .fd = dom->ctlw.fd, .events = POLLIN };
		uint64_t now = util_now_ns();

		if (now >= deadline ||
		    poll(&p, 1, (int)((deadline - now) / 1000000ULL) + 1) <= 0) {
			ret = -ETIMEDOUT;
			goto broken;
		}
		ret = ctl_recv(dom->ctlw.fd, &h, payload, fds, &nfds);
		if (ret < 0)
			goto broken;
		for (unsigned int i = 0; i < nfds; i++)
			close(fds[i]);
		if (h.type == CTL_REPLY && h.seq == seq)
			break;
		handle_event(dom, &h, payload); /* an event that came before our reply */
	}
	if (h.len < sizeof(status))
		return -EPROTO;
	memcpy(&status, payload, sizeof(status));
	if (status == 0 && reply) {
		size_t got = h.len - sizeof(status);

		if (got < min_len)
			return -EPROTO;
		if (got > reply_len)
			got = reply_len;
		memset(reply, 0, reply_len);
		memcpy(reply, payload + sizeof(status), got);
	}
	return status;
broken:
	ctl_detach(dom);
	return ret;
}

int bwd_vmm_call(struct bwd_dom *dom, uint16_t type, void *reply, size_t reply_len)
{
	return bwd_vmm_call_min(dom, type, reply, reply_len, reply_len);
}

int bwd_vmm_call_min(struct bwd_dom *dom, uint16_t type, void *reply, size_t min_len,
		     size_t reply_len)
{
	int ret;

	/* -EAGAIN: the VMM listens before its VM exists, and between a reset and the next. */
	for (int i = 0; i < 100; i++) {
		ret = vmm_call_once(dom, type, reply, min_len, reply_len);
		if (ret != -EAGAIN)
			break;
		usleep(10000);
	}
	return ret;
}

static pid_t spawn(const struct bwd_dom_cfg *cfg, const char *ctl, const char *con,
		   const char *log)
{
	char cpus[16], mem[32];
	const char *argv[24];
	int n = 0;
	pid_t pid;

	snprintf(cpus, sizeof(cpus), "%u", cfg->vcpus);
	snprintf(mem, sizeof(mem), "%lluM", (unsigned long long)(cfg->memory / MiB));
	argv[n++] = bwd->cfg.vmm;
	argv[n++] = "--kernel";
	argv[n++] = cfg->kernel;
	if (cfg->initrd[0]) {
		argv[n++] = "--initrd";
		argv[n++] = cfg->initrd;
	}
	if (cfg->cmdline[0]) {
		argv[n++] = "--cmdline";
		argv[n++] = cfg->cmdline;
	}
	argv[n++] = "--cpus";
	argv[n++] = cpus;
	argv[n++] = "--memory";
	argv[n++] = mem;
	argv[n++] = "--console";
	argv[n++] = con;
	argv[n++] = "--control";
	argv[n++] = ctl;
	argv[n++] = "--on-reboot";
	argv[n++] = "reset";
	argv[n] = NULL;
	pid = fork();
	if (pid != 0)
		return pid;
	/*
	 * Child: its own session, so the daemon's terminal and process group never reach it
	 * and a daemon restart leaves it running. Every daemon fd is O_CLOEXEC; only 0-2 pass.
	 */
	setsid();
	{
		sigset_t none;
		int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
		int out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
			_exit(127);
	}
	execv(bwd->cfg.vmm, (char *const *)(uintptr_t)argv);
	_exit(127);
}

/* The last line the VMM wrote to its log: its one-line error when it failed to start. */
static void last_log_line(const char *log, char *buf, size_t len)
{
	char line[512] = "";
	FILE *f = fopen(log, "re");

	snprintf(buf, len, "no message");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "error"))
			snprintf(buf, len, "%.*s", (int)strcspn(line, "\n"), line);
	fclose(f);
}

struct bwd_dom *bwd_vmm_spawn(const struct bwd_dom_cfg *cfg, uint32_t domid, char *why,
			      size_t len)
{
	struct bwd_dom *dom = calloc(1, sizeof(*dom));
	char log[BWD_PATH_MAX + 80];
	uint64_t deadline;
	int fd = -1;

	if (!dom) {
		snprintf(why, len, "out of memory");
		return NULL;
	}
	dom->ctlw.fd = dom->pidw.fd = -1;
	snprintf(dom->name, sizeof(dom->name), "%s", cfg->name);
	snprintf(dom->label, sizeof(dom->label), "%s", cfg->label);
	dom->domid = domid;
	if ((size_t)snprintf(dom->ctl_path, sizeof(dom->ctl_path), "%s/%s.ctl", bwd->cfg.run_dir,
			     cfg->name) >= sizeof(dom->ctl_path) ||
	    (size_t)snprintf(dom->con_path, sizeof(dom->con_path), "%s/%s.console",
			     bwd->cfg.run_dir, cfg->name) >= sizeof(dom->con_path)) {
		snprintf(why, len, "run_dir %s is too long for socket paths", bwd->cfg.run_dir);
		goto out_free;
	}
	snprintf(log, sizeof(log), "%s/logs/%s.log", bwd->cfg.state_dir, cfg->name);
	unlink(dom->ctl_path);
	unlink(dom->con_path);
	dom->pid = spawn(cfg, dom->ctl_path, dom->con_path, log);
	if (dom->pid < 0) {
		snprintf(why, len, "fork: %s", strerror(errno));
		goto out_free;
	}
	dom->child = true;
	dom->pidw.fd = pidfd_open_(dom->pid);
	if (dom->pidw.fd < 0) {
		snprintf(why, len, "pidfd_open: %s", strerror(errno));
		kill(dom->pid, SIGKILL);
		waitpid(dom->pid, NULL, 0);
		goto out_free;
	}
	/* The VMM listens once its VM is built; until then connect() fails. Bounded wait. */
	deadline = util_now_ns() + START_TIMEOUT_NS;
	while ((fd = ctl_connect(dom->ctl_path)) < 0) {
		struct pollfd p = { .fd = dom->pidw.fd, .events = POLLIN };

		if (poll(&p, 1, 5) > 0) {
			int st = 0;
			char msg[256];

			waitpid(dom->pid, &st, 0);
			last_log_line(log, msg, sizeof(msg));
			snprintf(why, len, "bulwark-vmm exited at start (%s): %s",
				 WIFEXITED(st) ? "exit code" : "signal", msg);
			goto out_pidfd;
		}
		if (util_now_ns() > deadline) {
			snprintf(why, len, "bulwark-vmm did not open its control socket in 5 s");
			pidfd_kill(dom->pidw.fd, SIGKILL);
			waitpid(dom->pid, NULL, 0);
			goto out_pidfd;
		}
	}
	dom->pid_start = bwd_pid_start(dom->pid);
	dom->pidw.fn = on_pidfd;
	if (ctl_watch(dom, fd) < 0 || bwd_watch_add(&dom->pidw, EPOLLIN) < 0) {
		snprintf(why, len, "cannot watch the VMM");
		ctl_detach(dom);
		pidfd_kill(dom->pidw.fd, SIGKILL);
		waitpid(dom->pid, NULL, 0);
		goto out_pidfd;
	}
	dom->next = bwd->doms;
	bwd->doms = dom;
	return dom;
out_pidfd:
	close(dom->pidw.fd);
out_free:
	free(dom);
	return NULL;
}

struct bwd_dom *bwd_vmm_attach(const struct store_dom *sd, char *why, size_t len)
{
	struct bwd_dom *dom = calloc(1, sizeof(*dom));
	int fd;

	if (!dom) {
		snprintf(why, len, "out of memory");
		return NULL;
	}
	dom->ctlw.fd = -1;
	snprintf(dom->name, sizeof(dom->name), "%s", sd->name);
	snprintf(dom->label, sizeof(dom->label), "%s", sd->label);
	if ((size_t)snprintf(dom->ctl_path, sizeof(dom->ctl_path), "%s/%s.ctl", bwd->cfg.run_dir,
			     sd->name) >= sizeof(dom->ctl_path) ||
	    (size_t)snprintf(dom->con_path, sizeof(dom->con_path), "%s/%s.console",
			     bwd->cfg.run_dir, sd->name) >= sizeof(dom->con_path)) {
		snprintf(why, len, "run_dir is too long for socket paths");
		free(dom);
		return NULL;
	}
	dom->domid = (uint32_t)sd->domid;
	dom->pid = sd->pid;
	dom->pid_start = sd->pid_start;
	dom->pidw.fd = sd->pid > 0 ? pidfd_open_(sd->pid) : -1;
	/* A recycled pid would have another start time: then ours is gone. */
	if (dom->pidw.fd < 0 || bwd_pid_start(sd->pid) != sd->pid_start) {
		snprintf(why, len, "VMM pid %d exited while bulwarkd was down", (int)sd->pid);
		goto out_free;
	}
	fd = ctl_connect(dom->ctl_path);
	if (fd < 0 || ctl_watch(dom, fd) < 0) {
		snprintf(why, len, "VMM pid %d does not answer on %s", (int)sd->pid, dom->ctl_path);
		goto out_free;
	}
	dom->pidw.fn = on_pidfd;
	if (bwd_watch_add(&dom->pidw, EPOLLIN) < 0) {
		snprintf(why, len, "cannot watch pid %d", (int)sd->pid);
		ctl_detach(dom);
		goto out_free;
	}
	dom->next = bwd->doms;
	bwd->doms = dom;
	return dom;
out_free:
	if (dom->pidw.fd >= 0)
		close(dom->pidw.fd);
	free(dom);
	return NULL;
}

int bwd_vmm_stop(struct bwd_dom *dom)
{
	struct pollfd p = { .fd = dom->pidw.fd, .events = POLLIN };

	dom->stop_requested = true;
	if (bwd_vmm_call(dom, CTL_STOP, NULL, 0) < 0 || poll(&p, 1, STOP_TIMEOUT_MS) <= 0) {
		/* No answer, or it did not exit in time: the kernel stops it. */
		pidfd_kill(dom->pidw.fd, SIGKILL);
		if (poll(&p, 1, STOP_TIMEOUT_MS) <= 0)
			return -ETIMEDOUT;
	}
	on_pidfd(&dom->pidw, EPOLLIN);
	return 0;
}

void bwd_vmm_tick(void)
{
	uint64_t now = util_now_ns();
	struct bwd_dom *next;

	for (struct bwd_dom *d = bwd->doms; d; d = next) {
		next = d->next;
		if (d->shutdown_deadline && now >= d->shutdown_deadline) {
			d->shutdown_deadline = 0;
			(void)store_history(bwd->store, d->name, "shutdown-timeout",
					    "no power-off in time: hard stop");
			(void)bwd_vmm_stop(d);
		}
	}
	while (graveyard) {
		struct bwd_dom *g = graveyard;

		graveyard = g->next;
		free(g);
	}
}

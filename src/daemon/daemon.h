/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bulwarkd's shared state and the interfaces between its files: configuration, the epoll
 * loop and clients (server.c), live domains and their VMMs (vmm.c), method handlers
 * (methods*.c), authorization and audit (auth.c).
 */
#ifndef BULWARK_DAEMON_H
#define BULWARK_DAEMON_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "acm.h"
#include "admit.h"
#include "audit.h"
#include "rpc.h"
#include "store.h"

#define BWD_PATH_MAX 4096
#define BWD_SUN_MAX 108
#define BWD_MAX_GROUPS 64
#define BWD_MAX_OPERATORS 32

struct bwd_config {
	char socket[BWD_SUN_MAX];
	char state_dir[BWD_PATH_MAX];  /* inventory.db, policy.bundle, logs/ */
	char run_dir[BWD_PATH_MAX];    /* per-domain control and console sockets */
	char audit_path[BWD_PATH_MAX];
	char vmm[BWD_PATH_MAX];
	struct acm_trust trust;
	uint32_t operators[BWD_MAX_OPERATORS]; /* uids that may load policy and read the audit */
	unsigned int n_operators;
	bool audit_allows, audit_fsync;
	size_t max_request;            /* longest request line, bytes */
	unsigned int max_clients;
	struct admit admit;            /* host size and reserve; the used part starts at zero */
};

/* One fd in the epoll set and what to call when it is ready. */
struct bwd_watch {
	int fd;
	void (*fn)(struct bwd_watch *w, uint32_t events);
};

/* A domain with a live VMM. */
struct bwd_dom {
	struct bwd_dom *next;
	char name[STORE_NAME_MAX], label[STORE_NAME_MAX];
	uint32_t domid;
	pid_t pid;
	uint64_t pid_start;
	bool child;                    /* forked by this daemon, so waitid gives the exit code */
	struct bwd_watch pidw;         /* pidfd */
	struct bwd_watch ctlw;         /* control socket, -1 when detached */
	struct admit_req res;
	uint64_t shutdown_deadline;    /* monotonic ns; 0 when no shutdown is pending */
	bool stop_requested;           /* an exit now is a stop, not a crash */
	uint32_t seq;
	char ctl_path[BWD_SUN_MAX], con_path[BWD_SUN_MAX];
};

struct bwd {
	struct bwd_config cfg;
	int epfd;
	struct bwd_watch listen, sig;
	struct acm *acm;
	struct acm_policy *pol;        /* the daemon's read-only copy of the active policy */
	uint64_t pol_version;
	uint8_t pol_hash[ACM_HASH_LEN];
	struct store *store;
	struct audit audit;
	struct bwd_dom *doms;
	struct admit admit;
	unsigned int n_clients;
	uint64_t started_ns;
	bool stopping;
};

extern struct bwd *bwd; /* the one daemon; set by main() */

/* The caller of one request, as the kernel describes it. */
struct bwd_call {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	uint32_t gids[BWD_MAX_GROUPS];
	size_t n_gids;
	const struct rpc_method *method;
	bool authorized;               /* set by bwd_authorize on allow */
	int code;                      /* error code when the handler fails */
	char msg[320];
	const char *domain, *label;    /* what the request was about, for the audit */
	int pass_fd;                   /* sent with the reply (SCM_RIGHTS), closed after */
};

/* ---- config.c ---- */
/* Fills defaults, then reads the JSON config file (NULL: none). 0 or -errno, err says why. */
int bwd_config_load(struct bwd_config *c, const char *path, char *err, size_t len);

/* ---- server.c ---- */
/* Creates the listening socket (mode 0666: the ACM decides, not file modes). 0 or -errno. */
int bwd_server_listen(struct bwd *d, char *err, size_t len);
/* Adds w to the epoll set for events. 0 or -errno. */
int bwd_watch_add(struct bwd_watch *w, uint32_t events);
/* Removes w from the set (does not close it). */
void bwd_watch_del(struct bwd_watch *w);
/* Runs the loop until d->stopping. */
void bwd_server_run(struct bwd *d);
/* Closes every client. */
void bwd_server_close(struct bwd *d);

/* ---- auth.c ---- */
/*
 * Checks the caller's management role for op on label with the ACM (default deny). On
 * allow marks the call authorized and returns true; on deny fills call->code/msg.
 */
bool bwd_authorize(struct bwd_call *call, enum acm_admin_op op, const char *label);
/* True if the caller's uid is a configured operator. */
bool bwd_is_operator(const struct bwd_call *call);
/* Sets the call's error and returns NULL (for handlers' one-line returns). */
json_t *bwd_fail(struct bwd_call *call, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Writes one audit record for a finished call (result NULL means it failed). */
void bwd_audit_call(struct bwd_call *call, bool denied);
#define AUDIT_GAP_MAX 200
/*
 * At start-up: compares the log's last record with the head the inventory recorded; on a
 * difference records the gap (meta "audit_gap", an audit.gap event) for audit.verify.
 */
void bwd_audit_check_head(void);
/* Writes one audit record for a daemon-side event (a VMM exit, a re-attach). */
void bwd_audit_event(const char *op, const char *domain, const char *detail);
/* Current wall-clock time, ns. */
uint64_t bwd_wall_ns(void);

/* ---- methods.c, methods_policy.c: handlers named in api.def ---- */
#define BWD_METHOD(n, h, acc, adm, kind, p, help) json_t *h(struct bwd_call *call, json_t *params);
#include "api.def"
#undef BWD_METHOD
/* Runs one validated request: access class, handler, audit. Returns the result or NULL. */
json_t *bwd_dispatch(struct bwd_call *call, const struct rpc_req *req);

/* ---- methods_policy.c ---- */
/*
 * Commits an opened policy (the ACM takes pol) and keeps a decoded copy for the daemon's
 * own checks. Returns 0 or -errno with err set; on error pol is freed, nothing changes.
 */
int bwd_policy_install(struct acm_policy *pol, const struct acm_bundle_info *info,
		       struct acm_error *err);

/* ---- vmm.c ---- */
struct bwd_dom_cfg;
/*
 * Forks and execs bulwark-vmm for cfg, watches it with a pidfd and connects to its control
 * socket. Returns a new live domain (linked into d->doms) or NULL with why set; on error
 * no process is left running.
 */
struct bwd_dom *bwd_vmm_spawn(const struct bwd_dom_cfg *cfg, uint32_t domid, char *why,
			      size_t len);
/*
 * Re-attaches to a VMM a previous daemon started (pid, start time and paths from the
 * inventory). Returns the live domain or NULL if it is gone (why says so).
 */
struct bwd_dom *bwd_vmm_attach(const struct store_dom *sd, char *why, size_t len);
/* Sends a control request and waits (bounded) for the reply. 0, or -errno from the VMM. */
int bwd_vmm_call(struct bwd_dom *dom, uint16_t type, void *reply, size_t reply_len);
/*
 * Like bwd_vmm_call, for a reply struct that grew by appended fields: a reply of at
 * least min_len bytes is accepted and zero-extended to reply_len (a VMM of an older
 * build that this daemon re-attached to), a shorter one is -EPROTO.
 */
int bwd_vmm_call_min(struct bwd_dom *dom, uint16_t type, void *reply, size_t min_len,
		     size_t reply_len);
/* Hard stop: CTL_STOP, then SIGKILL if it has not exited in time; reaps it. 0 or -errno. */
int bwd_vmm_stop(struct bwd_dom *dom);
/* Finds a live domain by name. */
struct bwd_dom *bwd_dom_find(const char *name);
/* Called when a VMM is gone: records why, releases ACM, admission, frees dom. */
void bwd_dom_gone(struct bwd_dom *dom, int status, bool have_status);
/* Per-second housekeeping: shutdown deadlines. */
void bwd_vmm_tick(void);
/* Clock ticks since boot at which pid started (from /proc), 0 if unknown. */
uint64_t bwd_pid_start(pid_t pid);

#endif

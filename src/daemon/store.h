/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The inventory: domains (definition, label, owner, image digests, state, the live VMM's
 * pid and domain id) and their history, in SQLite (WAL) under the state directory.
 */
#ifndef BULWARK_DAEMON_STORE_H
#define BULWARK_DAEMON_STORE_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

#define STORE_NAME_MAX 64
#define STORE_SCHEMA 1

struct store;

struct store_dom {
	char name[STORE_NAME_MAX];
	char label[STORE_NAME_MAX];
	uint32_t owner;
	char *config;            /* the JSON definition, malloc'd */
	char kernel_sha[65], initrd_sha[65];
	char state[16];          /* shutoff, running, paused, crashed */
	int domid;               /* ACM domain id while live, else -1 */
	pid_t pid;               /* VMM pid while live, else 0 */
	uint64_t pid_start;      /* the VMM's start time (clock ticks since boot) */
	char last_exit[160];
	int64_t created, started;
};

/*
 * Opens (creating) dir/inventory.db in WAL mode and checks its schema version. Returns a
 * handle or NULL with a one-line message in err.
 */
struct store *store_open(const char *dir, char *err, size_t errlen);
/* Closes the handle; NULL is fine. */
void store_close(struct store *s);

/* Adds a shutoff domain. Returns 0, -EEXIST if the name is taken, or -EIO. */
int store_define(struct store *s, const char *name, const char *label, uint32_t owner,
		 const char *config, const char *kernel_sha, const char *initrd_sha);
/* Removes a domain. Returns 0, -ENOENT, or -EIO. */
int store_undefine(struct store *s, const char *name);
/* Reads a domain into out (free out->config with store_dom_clear). 0, -ENOENT or -EIO. */
int store_get(struct store *s, const char *name, struct store_dom *out);
void store_dom_clear(struct store_dom *d);
/* Records a live VMM. Returns 0 or -EIO. */
int store_set_running(struct store *s, const char *name, int domid, pid_t pid,
		      uint64_t pid_start, const char *kernel_sha, const char *initrd_sha);
/* Sets the state; a state other than running/paused forgets pid and domid. 0 or -EIO. */
int store_set_state(struct store *s, const char *name, const char *state,
		    const char *last_exit);
/* Appends a history event. Returns 0 or -EIO. */
int store_history(struct store *s, const char *name, const char *event, const char *detail);
/* The last limit history events of a domain, oldest first; NULL on error. */
json_t *store_history_json(struct store *s, const char *name, int limit);
/*
 * Calls fn for every domain in name order; stops early when fn returns non-zero and
 * returns that value. Returns 0, fn's value, or -EIO.
 */
int store_foreach(struct store *s, int (*fn)(void *ctx, const struct store_dom *d), void *ctx);
/* Small key/value settings (policy version, audit head). 0, -ENOENT, -EIO. */
int store_meta_get(struct store *s, const char *key, char *val, size_t len);
int store_meta_set(struct store *s, const char *key, const char *val);

#endif

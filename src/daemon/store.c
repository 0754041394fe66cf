// SPDX-License-Identifier: Apache-2.0
/* SQLite inventory of domains and their history (schema in docs/daemon.md). */
#include "store.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct store {
	sqlite3 *db;
};

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS domains("
	" name TEXT PRIMARY KEY, label TEXT NOT NULL, owner INTEGER NOT NULL,"
	" config TEXT NOT NULL, kernel_sha TEXT NOT NULL, initrd_sha TEXT NOT NULL,"
	" state TEXT NOT NULL, domid INTEGER NOT NULL DEFAULT -1, pid INTEGER NOT NULL DEFAULT 0,"
	" pid_start INTEGER NOT NULL DEFAULT 0, last_exit TEXT NOT NULL DEFAULT '',"
	" created INTEGER NOT NULL, started INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE IF NOT EXISTS history(id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" name TEXT NOT NULL, time INTEGER NOT NULL, event TEXT NOT NULL, detail TEXT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS history_name ON history(name, id);";

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

/* Prepares sql and binds the text/int arguments described by fmt ('t' text, 'i' int64). */
static sqlite3_stmt *prep(struct store *s, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st = NULL;
	va_list ap;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	va_start(ap, fmt);
	for (int i = 0; fmt[i]; i++) {
		int rc = fmt[i] == 't' ? sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1,
							   SQLITE_TRANSIENT)
				       : sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
		if (rc != SQLITE_OK) {
			sqlite3_finalize(st);
			st = NULL;
			break;
		}
	}
	va_end(ap);
	return st;
}

/* Runs a statement that returns no rows; returns 0, -ENOENT (no row changed), -EEXIST, -EIO. */
static int exec_stmt(struct store *s, sqlite3_stmt *st, bool need_change)
{
	int rc;

	if (!st)
		return -EIO;
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if ((rc & 0xff) == SQLITE_CONSTRAINT) /* extended codes: SQLITE_CONSTRAINT_PRIMARYKEY */
		return -EEXIST;
	if (rc != SQLITE_DONE)
		return -EIO;
	if (need_change && sqlite3_changes(s->db) == 0)
		return -ENOENT;
	return 0;
}

struct store *store_open(const char *dir, char *err, size_t errlen)
{
	struct store *s = calloc(1, sizeof(*s));
	char path[4096], ver[16];
	int ret;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/inventory.db", dir);
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
					      SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
			    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open inventory %s: %s", path,
			 s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto out_close;
	}
	sqlite3_busy_timeout(s->db, 2000);
	if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL,
			 NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(s->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot set up inventory %s: %s", path,
			 sqlite3_errmsg(s->db));
		goto out_close;
	}
	ret = store_meta_get(s, "schema", ver, sizeof(ver));
	if (ret == -ENOENT) {
		snprintf(ver, sizeof(ver), "%d", STORE_SCHEMA);
		ret = store_meta_set(s, "schema", ver);
	} else if (ret == 0 && atoi(ver) != STORE_SCHEMA) {
		snprintf(err, errlen, "inventory %s has schema %s, this bulwarkd knows %d", path,
			 ver, STORE_SCHEMA);
		goto out_close;
	}
	if (ret < 0) {
		snprintf(err, errlen, "cannot read inventory %s: %s", path, sqlite3_errmsg(s->db));
		goto out_close;
	}
	return s;
out_close:
	sqlite3_close(s->db);
	free(s);
	return NULL;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	sqlite3_close(s->db);
	free(s);
}

int store_define(struct store *s, const char *name, const char *label, uint32_t owner,
		 const char *config, const char *kernel_sha, const char *initrd_sha)
{
	return exec_stmt(s, prep(s, "INSERT INTO domains(name, label, owner, config, kernel_sha,"
				 " initrd_sha, state, created) VALUES(?,?,?,?,?,?,'shutoff',?)",
				 "ttittti", name, label, (int64_t)owner,
				 config, kernel_sha, initrd_sha, now_s()),
			 false);
}

int store_undefine(struct store *s, const char *name)
{
	return exec_stmt(s, prep(s, "DELETE FROM domains WHERE name = ?", "t", name), true);
}

static void copy_col(char *dst, size_t len, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(dst, len, "%s", t ? (const char *)t : "");
}

static void row_to_dom(sqlite3_stmt *st, struct store_dom *d)
{
	const unsigned char *cfg = sqlite3_column_text(st, 3);

	memset(d, 0, sizeof(*d));
	copy_col(d->name, sizeof(d->name), st, 0);
	copy_col(d->label, sizeof(d->label), st, 1);
	d->owner = (uint32_t)sqlite3_column_int64(st, 2);
	d->config = strdup(cfg ? (const char *)cfg : "{}");
	copy_col(d->kernel_sha, sizeof(d->kernel_sha), st, 4);
	copy_col(d->initrd_sha, sizeof(d->initrd_sha), st, 5);
	copy_col(d->state, sizeof(d->state), st, 6);
	d->domid = sqlite3_column_int(st, 7);
	d->pid = (pid_t)sqlite3_column_int64(st, 8);
	d->pid_start = (uint64_t)sqlite3_column_int64(st, 9);
	copy_col(d->last_exit, sizeof(d->last_exit), st, 10);
	d->created = sqlite3_column_int64(st, 11);
	d->started = sqlite3_column_int64(st, 12);
}

#define DOM_COLS "name, label, owner, config, kernel_sha, initrd_sha, state, domid, pid," \
		 " pid_start, last_exit, created, started"

int store_get(struct store *s, const char *name, struct store_dom *out)
{
	sqlite3_stmt *st = prep(s, "SELECT " DOM_COLS " FROM domains WHERE name = ?", "t", name);
	int rc, ret;

	if (!st)
		return -EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		row_to_dom(st, out);
		ret = out->config ? 0 : -ENOMEM;
	} else {
		ret = rc == SQLITE_DONE ? -ENOENT : -EIO;
	}
	sqlite3_finalize(st);
	return ret;
}

void store_dom_clear(struct store_dom *d)
{
	free(d->config);
	d->config = NULL;
}

int store_set_running(struct store *s, const char *name, int domid, pid_t pid,
		      uint64_t pid_start, const char *kernel_sha, const char *initrd_sha)
{
	return exec_stmt(s, prep(s, "UPDATE domains SET state = 'running', domid = ?, pid = ?,"
				 " pid_start = ?, kernel_sha = ?, initrd_sha = ?, started = ?,"
				 " last_exit = '' WHERE name = ?", "iiittit", (int64_t)domid,
				 (int64_t)pid, (int64_t)pid_start, kernel_sha, initrd_sha, now_s(),
				 name),
			 true);
}

int store_set_state(struct store *s, const char *name, const char *state,
		    const char *last_exit)
{
	bool live = strcmp(state, "running") == 0 || strcmp(state, "paused") == 0;

	if (live)
		return exec_stmt(s, prep(s, "UPDATE domains SET state = ? WHERE name = ?", "tt",
					 state, name),
				 true);
	return exec_stmt(s, prep(s, "UPDATE domains SET state = ?, last_exit = ?, domid = -1,"
				 " pid = 0, pid_start = 0 WHERE name = ?", "ttt", state,
				 last_exit ? last_exit : "", name),
			 true);
}

int store_history(struct store *s, const char *name, const char *event, const char *detail)
{
	return exec_stmt(s, prep(s, "INSERT INTO history(name, time, event, detail)"
				 " VALUES(?,?,?,?)", "titt", name, now_s(), event,
				 detail ? detail : ""),
			 false);
}

json_t *store_history_json(struct store *s, const char *name, int limit)
{
	sqlite3_stmt *st = prep(s, "SELECT time, event, detail FROM (SELECT id, time, event,"
				" detail FROM history WHERE name = ? ORDER BY id DESC LIMIT ?)"
				" ORDER BY id", "ti", name, (int64_t)limit);
	json_t *out = json_array();

	if (!st || !out)
		goto fail;
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *e = json_pack("{s:I, s:s, s:s}", "time",
				      (json_int_t)sqlite3_column_int64(st, 0), "event",
				      (const char *)sqlite3_column_text(st, 1), "detail",
				      (const char *)sqlite3_column_text(st, 2));

		if (!e || json_array_append_new(out, e) < 0)
			goto fail;
	}
	sqlite3_finalize(st);
	return out;
fail:
	sqlite3_finalize(st);
	json_decref(out);
	return NULL;
}

int store_foreach(struct store *s, int (*fn)(void *ctx, const struct store_dom *d), void *ctx)
{
	sqlite3_stmt *st = prep(s, "SELECT " DOM_COLS " FROM domains ORDER BY name", "");
	struct store_dom d;
	int rc, ret = 0;

	if (!st)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row_to_dom(st, &d);
		ret = d.config ? fn(ctx, &d) : -ENOMEM;
		store_dom_clear(&d);
		if (ret)
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = -EIO;
	sqlite3_finalize(st);
	return ret;
}

int store_meta_get(struct store *s, const char *key, char *val, size_t len)
{
	sqlite3_stmt *st = prep(s, "SELECT value FROM meta WHERE key = ?", "t", key);
	int rc, ret;

	if (!st)
		return -EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		copy_col(val, len, st, 0);
		ret = 0;
	} else {
		ret = rc == SQLITE_DONE ? -ENOENT : -EIO;
	}
	sqlite3_finalize(st);
	return ret;
}

int store_meta_set(struct store *s, const char *key, const char *val)
{
	return exec_stmt(s, prep(s, "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key)"
				 " DO UPDATE SET value = excluded.value", "tt", key, val),
			 false);
}

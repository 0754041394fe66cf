/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The audit log: JSON lines, each carrying the SHA-256 of the one before (a hash chain
 * from a fixed genesis value), so any edited, removed or reordered record is found.
 */
#ifndef BULWARK_DAEMON_AUDIT_H
#define BULWARK_DAEMON_AUDIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUDIT_VERSION 1
#define AUDIT_HEX_LEN 64
#define AUDIT_LINE_MAX 8192

struct audit {
	int fd;
	bool sync;                    /* fdatasync after every record */
	uint64_t seq;                 /* of the last record written */
	char head[AUDIT_HEX_LEN + 1]; /* its hash; the genesis value when empty */
};

struct audit_verify {
	bool ok;
	uint64_t records;
	uint64_t bad_line;            /* first bad line (1-based), 0 when ok */
	uint64_t last_seq;
	char last_hash[AUDIT_HEX_LEN + 1];
	char reason[240];
};

/* The genesis value: what the first record's "prev" holds. */
extern const char audit_genesis[AUDIT_HEX_LEN + 1];

/*
 * Opens (creating, mode 0600) the log at path for appending and reads its last record to
 * continue the chain. Returns 0, or -errno with a one-line message in err; on error a is
 * left closed (fd -1).
 */
int audit_open(struct audit *a, const char *path, bool sync, char *err, size_t errlen);

/* Closes the log; safe on a closed one. */
void audit_close(struct audit *a);

/*
 * Appends rec (borrowed: the caller still owns it) as the next record: "v", "seq",
 * "time", "prev" are put first, then rec's members in order, then "hash". Returns 0 or
 * -errno (-E2BIG for a record over AUDIT_LINE_MAX); on error the chain head is unchanged.
 */
int audit_append(struct audit *a, json_t *rec, uint64_t wall_ns);

/*
 * Verifies the chain in the open file fd from the start: each record's hash over its own
 * bytes, "prev" equal to the hash before, "seq" counting up from 1. Stops at the first bad
 * record and names it in out. Returns 0 (out filled, ok or not) or -errno on read error.
 */
int audit_verify_fd(int fd, struct audit_verify *out);

/*
 * Reads the records of fd matching the filters (NULL: any) and returns the last count of
 * them as a new JSON array (caller frees), oldest first; NULL on error.
 */
json_t *audit_tail_fd(int fd, size_t count, const char *domain, const char *op,
		      const char *decision);

#endif

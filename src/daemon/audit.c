// SPDX-License-Identifier: Apache-2.0
/* Hash-chained JSON-lines audit log: append, verify, tail. Format in docs/daemon.md. */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char audit_genesis[AUDIT_HEX_LEN + 1] =
	"0000000000000000000000000000000000000000000000000000000000000000";

static const char hash_key[] = ",\"hash\":\"";

static void sha256_hex(const void *p, size_t n, char out[AUDIT_HEX_LEN + 1])
{
	uint8_t md[SHA256_DIGEST_LENGTH];

	SHA256(p, n, md);
	for (size_t i = 0; i < sizeof(md); i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/*
 * Splits a record line (without newline) into body and stated hash: the line is
 * BODY_WITHOUT_BRACE ,"hash":"HEX"} and the hash covers BODY_WITHOUT_BRACE + "}".
 * Returns the body length (excluding the closing brace) or -1 if the line is not shaped so.
 */
static long split_record(const char *line, size_t len, char hash[AUDIT_HEX_LEN + 1])
{
	size_t tail = sizeof(hash_key) - 1 + AUDIT_HEX_LEN + 2;

	if (len < tail + 2 || line[0] != '{' || line[len - 1] != '}' || line[len - 2] != '"')
		return -1;
	if (memcmp(line + len - tail, hash_key, sizeof(hash_key) - 1) != 0)
		return -1;
	memcpy(hash, line + len - AUDIT_HEX_LEN - 2, AUDIT_HEX_LEN);
	hash[AUDIT_HEX_LEN] = '\0';
	return (long)(len - tail);
}

static int hash_body(const char *line, size_t body_len, char out[AUDIT_HEX_LEN + 1])
{
	char *buf = malloc(body_len + 1);

	if (!buf)
		return -ENOMEM;
	memcpy(buf, line, body_len);
	buf[body_len] = '}';
	sha256_hex(buf, body_len + 1, out);
	free(buf);
	return 0;
}

int audit_open(struct audit *a, const char *path, bool sync, char *err, size_t errlen)
{
	struct audit_verify v;
	int ret;

	a->sync = sync;
	a->seq = 0;
	memcpy(a->head, audit_genesis, sizeof(a->head));
	a->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (a->fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot open audit log %s: %s", path, strerror(errno));
		return ret;
	}
	/*
	 * Continue from the last record as written, even when the chain is broken
	 * somewhere before it: verify reports the break; refusing to start would stop
	 * auditing altogether.
	 */
	ret = audit_verify_fd(a->fd, &v);
	if (ret < 0) {
		snprintf(err, errlen, "cannot read audit log %s: %s", path, strerror(-ret));
		close(a->fd);
		a->fd = -1;
		return ret;
	}
	if (v.records) {
		a->seq = v.last_seq;
		memcpy(a->head, v.last_hash, sizeof(a->head));
	}
	return 0;
}

void audit_close(struct audit *a)
{
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
}

int audit_append(struct audit *a, json_t *rec, uint64_t wall_ns)
{
	char stamp[64], hash[AUDIT_HEX_LEN + 1], *body = NULL, *line = NULL;
	time_t secs = (time_t)(wall_ns / 1000000000ULL);
	json_t *full, *v;
	const char *key;
	struct tm tm;
	size_t blen, llen;
	int ret = -ENOMEM;

	gmtime_r(&secs, &tm);
	snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned int)(wall_ns % 1000000000ULL / 1000));
	full = json_pack("{s:i, s:I, s:s, s:s}", "v", AUDIT_VERSION, "seq",
			 (json_int_t)(a->seq + 1), "time", stamp, "prev", a->head);
	if (!full)
		return -ENOMEM;
	json_object_foreach(rec, key, v) {
		if (!json_object_get(full, key) && strcmp(key, "hash") != 0 &&
		    json_object_set(full, key, v) < 0)
			goto out;
	}
	body = json_dumps(full, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!body)
		goto out;
	blen = strlen(body);
	if (blen + 128 > AUDIT_LINE_MAX) {
		ret = -E2BIG;
		goto out;
	}
	sha256_hex(body, blen, hash);
	llen = blen - 1 + sizeof(hash_key) - 1 + AUDIT_HEX_LEN + 3;
	line = malloc(llen + 1);
	if (!line)
		goto out;
	snprintf(line, llen + 1, "%.*s%s%s\"}\n", (int)(blen - 1), body, hash_key, hash);
	/* One write of the whole line with O_APPEND: records never interleave. */
	if (write(a->fd, line, llen) != (ssize_t)llen) {
		ret = errno ? -errno : -EIO;
		goto out;
	}
	if (a->sync)
		(void)fdatasync(a->fd);
	a->seq++;
	memcpy(a->head, hash, sizeof(a->head));
	ret = 0;
out:
	free(line);
	free(body);
	json_decref(full);
	return ret;
}

/* Marks the verification failed at lineno; the caller writes out->reason. */
static char *bad(struct audit_verify *out, uint64_t lineno)
{
	out->ok = false;
	out->bad_line = lineno;
	return out->reason;
}

int audit_verify_fd(int fd, struct audit_verify *out)
{
	char stated[AUDIT_HEX_LEN + 1], actual[AUDIT_HEX_LEN + 1], prev[AUDIT_HEX_LEN + 1];
	char *line = NULL;
	size_t cap = 0;
	uint64_t lineno = 0;
	ssize_t n;
	FILE *f;
	int dfd = dup(fd);

	memset(out, 0, sizeof(*out));
	out->ok = true;
	memcpy(prev, audit_genesis, sizeof(prev));
	memcpy(out->last_hash, audit_genesis, sizeof(prev));
	if (dfd < 0)
		return -errno;
	f = fdopen(dfd, "r");
	if (!f) {
		close(dfd);
		return -errno;
	}
	rewind(f);
	while ((n = getline(&line, &cap, f)) > 0) {
		json_t *rec, *pv, *sv;
		long blen;

		lineno++;
		if (line[n - 1] != '\n') {
			snprintf(bad(out, lineno), sizeof(out->reason),
				 "line %" PRIu64 " is incomplete (no newline): the log was cut short",
				 lineno);
			break;
		}
		line[--n] = '\0';
		blen = split_record(line, (size_t)n, stated);
		if (blen < 0 || hash_body(line, (size_t)blen, actual) < 0) {
			snprintf(bad(out, lineno), sizeof(out->reason),
				 "line %" PRIu64 " is not an audit record (edited or damaged)", lineno);
			break;
		}
		line[blen] = '}';
		rec = json_loadb(line, (size_t)blen + 1, JSON_REJECT_DUPLICATES, NULL);
		pv = rec ? json_object_get(rec, "prev") : NULL;
		sv = rec ? json_object_get(rec, "seq") : NULL;
		if (strcmp(stated, actual) != 0 || !json_is_string(pv) || !json_is_integer(sv)) {
			snprintf(bad(out, lineno), sizeof(out->reason),
				 "record at line %" PRIu64 " was edited: its hash does not match its contents",
				 lineno);
			json_decref(rec);
			break;
		}
		if (strcmp(json_string_value(pv), prev) != 0 ||
		    (uint64_t)json_integer_value(sv) != out->records + 1) {
			snprintf(bad(out, lineno), sizeof(out->reason),
				 "record at line %" PRIu64 " (seq %" PRIu64 ") does not follow record %" PRIu64
				 ": a record was removed or the order changed",
				 lineno, (uint64_t)json_integer_value(sv), out->records);
			json_decref(rec);
			break;
		}
		json_decref(rec);
		out->records++;
		out->last_seq = out->records;
		memcpy(prev, stated, sizeof(prev));
		memcpy(out->last_hash, stated, sizeof(prev));
	}
	free(line);
	fclose(f);
	return 0;
}

static bool field_is(json_t *rec, const char *key, const char *want)
{
	json_t *v = json_object_get(rec, key);

	return !want || (json_is_string(v) && strcmp(json_string_value(v), want) == 0);
}

json_t *audit_tail_fd(int fd, size_t count, const char *domain, const char *op,
		      const char *decision)
{
	json_t *out = json_array();
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;
	int dfd;

	if (!out)
		return NULL;
	dfd = dup(fd);
	f = dfd >= 0 ? fdopen(dfd, "r") : NULL;
	if (!f) {
		if (dfd >= 0)
			close(dfd);
		json_decref(out);
		return NULL;
	}
	rewind(f);
	while ((n = getline(&line, &cap, f)) > 0) {
		json_t *rec = json_loadb(line, (size_t)n, 0, NULL);

		if (rec && field_is(rec, "domain", domain) && field_is(rec, "op", op) &&
		    field_is(rec, "decision", decision)) {
			json_array_append(out, rec);
			if (json_array_size(out) > count)
				json_array_remove(out, 0);
		}
		json_decref(rec);
	}
	free(line);
	fclose(f);
	return out;
}

// SPDX-License-Identifier: Apache-2.0
/* bulwark: human-readable tables and summaries of bulwarkd's results (--json skips them). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const char *s(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : "-";
}

static long long n(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

static void memstr(json_t *v, char *buf, size_t len)
{
	if (json_is_integer(v))
		snprintf(buf, len, "%lldM", (long long)json_integer_value(v));
	else
		snprintf(buf, len, "%s", json_is_string(v) ? json_string_value(v) : "-");
}

static void print_list(json_t *r)
{
	size_t i;
	json_t *d;
	char mem[32];

	printf("%-20s %-18s %-9s %5s %8s %6s %8s\n", "NAME", "LABEL", "STATE", "VCPUS", "MEMORY",
	       "DOMID", "PID");
	json_array_foreach(r, i, d) {
		char domid[24] = "-", pid[24] = "-";

		memstr(json_object_get(d, "memory"), mem, sizeof(mem));
		if (n(d, "domid") >= 0)
			snprintf(domid, sizeof(domid), "%lld", n(d, "domid"));
		if (n(d, "pid") > 0)
			snprintf(pid, sizeof(pid), "%lld", n(d, "pid"));
		printf("%-20s %-18s %-9s %5lld %8s %6s %8s\n", s(d, "name"), s(d, "label"),
		       s(d, "state"), n(d, "vcpus"), mem, domid, pid);
	}
}

static void print_kv(json_t *r)
{
	const char *k;
	json_t *v;

	json_object_foreach(r, k, v) {
		char *t;

		if (json_is_array(v) || json_is_object(v))
			continue;
		t = json_dumps(v, JSON_ENCODE_ANY);
		printf("%-16s %s\n", k, json_is_string(v) ? json_string_value(v) : t ? t : "?");
		free(t);
	}
}

/* domain.stats: the scalars, then the "io" object as a small table. */
static void print_stats(json_t *r)
{
	static const struct {
		const char *what, *count, *bytes;
	} rows[] = {
		{ "disk read", "blk_reads", "blk_read_bytes" },
		{ "disk write", "blk_writes", "blk_write_bytes" },
		{ "net rx", "net_rx_frames", "net_rx_bytes" },
		{ "net tx", "net_tx_frames", "net_tx_bytes" },
		{ "vsock rx", NULL, "vsock_rx_bytes" },
		{ "vsock tx", NULL, "vsock_tx_bytes" },
	};
	json_t *io = json_object_get(r, "io");

	print_kv(r);
	if (!json_is_object(io))
		return;
	printf("%-16s %14s %16s\n", "IO", "REQS/FRAMES", "BYTES");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char count[24] = "-";

		if (rows[i].count)
			snprintf(count, sizeof(count), "%lld", n(io, rows[i].count));
		printf("%-16s %14s %16lld\n", rows[i].what, count, n(io, rows[i].bytes));
	}
}

static void print_show(json_t *r)
{
	char *cfg = json_dumps(json_object_get(r, "config"), JSON_COMPACT | JSON_SORT_KEYS);
	size_t i;
	json_t *h;

	print_kv(r);
	printf("%-16s %s\n", "config", cfg ? cfg : "-");
	free(cfg);
	printf("history:\n");
	json_array_foreach(json_object_get(r, "history"), i, h) {
		time_t t = (time_t)n(h, "time");
		char stamp[32];

		strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", gmtime(&t));
		printf("  %s  %-14s %s\n", stamp, s(h, "event"), s(h, "detail"));
	}
}

static void print_audit(json_t *r)
{
	size_t i;
	json_t *a;

	json_array_foreach(r, i, a) {
		char uid[24] = "-";

		/* Daemon events (VMM exits, re-attach) have no caller. */
		if (json_object_get(a, "uid"))
			snprintf(uid, sizeof(uid), "%lld", n(a, "uid"));
		printf("%6lld %s uid=%-5s %-16s %-12s %-6s %s\n", n(a, "seq"), s(a, "time"), uid,
		       s(a, "op"), s(a, "domain"), s(a, "decision"),
		       json_object_get(a, "reason") ? s(a, "reason") : "");
	}
}

void cli_print(const struct cli *c, const char *method, json_t *r)
{
	if (c->json) {
		char *t = json_dumps(r, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);

		printf("%s\n", t ? t : "null");
		free(t);
		return;
	}
	if (!strcmp(method, "domain.list"))
		print_list(r);
	else if (!strcmp(method, "domain.show"))
		print_show(r);
	else if (!strcmp(method, "domain.stats"))
		print_stats(r);
	else if (!strcmp(method, "audit.tail"))
		print_audit(r);
	else if (!strcmp(method, "policy.show") && json_object_get(r, "labels")) {
		size_t i;
		json_t *l;

		print_kv(r);
		printf("%-16s", "labels");
		json_array_foreach(json_object_get(r, "labels"), i, l)
			printf(" %s", json_string_value(l));
		printf("\n");
	}
	else if (!strcmp(method, "policy.eval"))
		printf("%s (%s)%s%s\n%s", s(r, "decision"), s(r, "reason"),
		       *s(r, "rule") ? ": " : "", s(r, "rule"), s(r, "explain"));
	else if (!strcmp(method, "audit.verify")) {
		if (json_is_true(json_object_get(r, "ok")))
			printf("audit log intact: %lld records, head %s\n", n(r, "records"),
			       s(r, "head"));
		else
			printf("audit log TAMPERED: %s\n", s(r, "reason"));
	} else if (json_is_object(r))
		print_kv(r);
}

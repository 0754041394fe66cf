// SPDX-License-Identifier: Apache-2.0
// bulwark-tsrun: runs a VMM, passes its console through and timestamps it from the host
// side: when marker lines appear, when it exits, and its RSS minus guest RAM while it runs.
// The same measurement for every VMM, so boot times and overheads compare fairly.
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_MARKS 8
#define MAX_STATS 16

static const char usage[] =
	"usage: bulwark-tsrun [--timeout S] [--mark STR]... [--smaps-after STR\n"
	"       [--smaps-delay MS] [--exclude-name STR] [--exclude-size BYTES]\n"
	"       [--stat FILE]...] -- CMD [ARG]...\n"
	"Runs CMD with stdout and stderr passed through, then prints on stdout:\n"
	"  TSRUN: mark=N us=T        first line containing the Nth --mark, T us after exec\n"
	"  TSRUN: rss-kib=R excluded-kib=E   RSS of CMD less the guest RAM mapping\n"
	"  TSRUN: stat NAME=V       first line of each --stat FILE, read with the RSS\n"
	"  TSRUN: exit=C us=T        exit status (128+signal) and when it exited\n"
	"  TSRUN: timeout            CMD ran past --timeout and was killed (exit 124)\n";

struct tsrun {
	const char *marks[MAX_MARKS];
	long long mark_us[MAX_MARKS];
	int nmarks;
	const char *smaps_after;
	long smaps_delay_ms;
	const char *exclude_name;
	unsigned long long exclude_size;
	long long smaps_due_us;
	bool smaps_done;
	double timeout_s;
	struct timespec t0;
	pid_t pid;
	char smaps_result[256];
	const char *stats[MAX_STATS];
	int nstats;
	char stat_result[MAX_STATS][160];
};

/* One of the child's output streams, passed through a whole line at a time. */
struct tsrun_stream {
	int fd;
	char line[8192];
	size_t len;
};

static long long now_us(const struct tsrun *t)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec - t->t0.tv_sec) * 1000000LL + (ts.tv_nsec - t->t0.tv_nsec) / 1000;
}

/* Sums Rss over the child's mappings, leaving out the one that backs guest RAM. */
static void sample_smaps(struct tsrun *t)
{
	char path[64], buf[1024], name[512] = "";
	unsigned long long rss = 0, excl = 0, kib;
	unsigned long long size = 0;
	bool skip = false;
	int nexcl = 0;
	FILE *f;

	/* Counters such as KVM's debugfs totals, taken at the same moment as the RSS. */
	for (int i = 0; i < t->nstats; i++) {
		const char *base = strrchr(t->stats[i], '/') ? strrchr(t->stats[i], '/') + 1 : t->stats[i];

		f = fopen(t->stats[i], "r");
		if (f && fgets(buf, sizeof(buf), f)) {
			buf[strcspn(buf, "\n")] = '\0';
			snprintf(t->stat_result[i], sizeof(t->stat_result[i]), "TSRUN: stat %s=%.100s\n",
				 base, buf);
		}
		if (f)
			fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)t->pid);
	f = fopen(path, "r");
	if (!f) {
		snprintf(t->smaps_result, sizeof(t->smaps_result), "TSRUN: smaps-error=%s\n",
			 strerror(errno));
		return;
	}
	while (fgets(buf, sizeof(buf), f)) {
		unsigned long long lo, hi;
		int off = 0;

		if (sscanf(buf, "%llx-%llx %*s %*s %*s %*s%n", &lo, &hi, &off) == 2 && off > 0) {
			char *p = buf + off;

			while (*p == ' ')
				p++;
			snprintf(name, sizeof(name), "%s", p);
			name[strcspn(name, "\n")] = '\0';
			size = hi - lo;
			skip = (t->exclude_name && strstr(name, t->exclude_name)) ||
			       (t->exclude_size && name[0] == '\0' && size == t->exclude_size);
			nexcl += skip;
		} else if (sscanf(buf, "Rss: %llu kB", &kib) == 1) {
			if (skip)
				excl += kib;
			else
				rss += kib;
		}
	}
	fclose(f);
	/* Reported at the end: printed now it would split a console line in two. */
	snprintf(t->smaps_result, sizeof(t->smaps_result),
		 "TSRUN: rss-kib=%llu excluded-kib=%llu excluded-mappings=%d at-us=%lld\n",
		 rss, excl, nexcl, now_us(t));
}

static void scan_line(struct tsrun *t, const char *line)
{
	for (int i = 0; i < t->nmarks; i++)
		if (t->mark_us[i] < 0 && strstr(line, t->marks[i]))
			t->mark_us[i] = now_us(t);
	if (t->smaps_after && t->smaps_due_us < 0 && strstr(line, t->smaps_after))
		t->smaps_due_us = now_us(t) + t->smaps_delay_ms * 1000;
}

/*
 * Passes complete lines through and scans them. The VMM writes the guest's console on
 * stdout byte by byte and its own lines on stderr, so only whole lines keep one from
 * splitting the other. An over-long line is passed on in pieces.
 */
static void feed(struct tsrun *t, struct tsrun_stream *s, const char *buf, size_t n, bool eof)
{
	for (size_t i = 0; i < n; i++) {
		s->line[s->len++] = buf[i];
		if (buf[i] == '\n' || s->len + 1 >= sizeof(s->line)) {
			fwrite(s->line, 1, s->len, stdout);
			s->line[s->len] = '\0';
			scan_line(t, s->line);
			s->len = 0;
		}
	}
	if (eof && s->len) {
		s->line[s->len] = '\0';
		fwrite(s->line, 1, s->len, stdout);
		fputc('\n', stdout);
		scan_line(t, s->line);
		s->len = 0;
	}
	fflush(stdout);
}

static int parse_args(struct tsrun *t, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--"))
			return i + 1 < argc ? i + 1 : -1;
		if (i + 1 >= argc)
			return -1;
		if (!strcmp(a, "--timeout"))
			t->timeout_s = atof(argv[++i]);
		else if (!strcmp(a, "--mark") && t->nmarks < MAX_MARKS)
			t->marks[t->nmarks++] = argv[++i];
		else if (!strcmp(a, "--smaps-after"))
			t->smaps_after = argv[++i];
		else if (!strcmp(a, "--smaps-delay"))
			t->smaps_delay_ms = atol(argv[++i]);
		else if (!strcmp(a, "--exclude-name"))
			t->exclude_name = argv[++i];
		else if (!strcmp(a, "--stat") && t->nstats < MAX_STATS)
			t->stats[t->nstats++] = argv[++i];
		else if (!strcmp(a, "--exclude-size"))
			t->exclude_size = strtoull(argv[++i], NULL, 0);
		else
			return -1;
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct tsrun t = { .timeout_s = 300, .smaps_delay_ms = 500, .smaps_due_us = -1 };
	bool timed_out = false;
	static struct tsrun_stream streams[2];
	int opipe[2], epipe[2], status = 0, first, open_streams = 2;
	long long exit_us;

	first = parse_args(&t, argc, argv);
	if (first < 0) {
		fputs(usage, stderr);
		return 2;
	}
	for (int i = 0; i < MAX_MARKS; i++)
		t.mark_us[i] = -1;
	if (pipe(opipe) < 0 || pipe(epipe) < 0) {
		perror("bulwark-tsrun: pipe");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t.t0);
	t.pid = fork();
	if (t.pid < 0) {
		perror("bulwark-tsrun: fork");
		return 1;
	}
	if (t.pid == 0) {
		setpgid(0, 0);
		dup2(opipe[1], STDOUT_FILENO);
		dup2(epipe[1], STDERR_FILENO);
		close(opipe[0]);
		close(opipe[1]);
		close(epipe[0]);
		close(epipe[1]);
		execvp(argv[first], argv + first);
		fprintf(stderr, "bulwark-tsrun: cannot run %s: %s\n", argv[first], strerror(errno));
		_exit(127);
	}
	close(opipe[1]);
	close(epipe[1]);
	streams[0].fd = opipe[0];
	streams[1].fd = epipe[0];
	while (open_streams > 0) {
		struct pollfd p[2];
		long long now = now_us(&t), wait_ms = 200;

		if (now > t.timeout_s * 1e6) {
			kill(-t.pid, SIGKILL);
			timed_out = true;
			break;
		}
		if (t.smaps_due_us >= 0 && !t.smaps_done) {
			if (now >= t.smaps_due_us) {
				sample_smaps(&t);
				t.smaps_done = true;
			} else if ((t.smaps_due_us - now) / 1000 < wait_ms) {
				wait_ms = (t.smaps_due_us - now) / 1000 + 1;
			}
		}
		for (int i = 0; i < 2; i++)
			p[i] = (struct pollfd){ .fd = streams[i].fd, .events = POLLIN };
		if (poll(p, 2, (int)wait_ms) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++) {
			char buf[4096];
			ssize_t n;

			if (streams[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(streams[i].fd, buf, sizeof(buf));
			if (n > 0) {
				feed(&t, &streams[i], buf, n, false);
			} else if (n == 0 || errno != EINTR) {
				feed(&t, &streams[i], buf, 0, true);
				close(streams[i].fd);
				streams[i].fd = -1;
				open_streams--;
			}
		}
	}
	while (waitpid(t.pid, &status, 0) < 0 && errno == EINTR)
		;
	exit_us = now_us(&t);
	fputs(t.smaps_result, stdout);
	for (int i = 0; i < t.nstats; i++)
		fputs(t.stat_result[i], stdout);
	for (int i = 0; i < t.nmarks; i++)
		if (t.mark_us[i] >= 0)
			printf("TSRUN: mark=%d us=%lld\n", i + 1, t.mark_us[i]);
		else
			printf("TSRUN: mark=%d missing\n", i + 1);
	if (timed_out) {
		printf("TSRUN: timeout\n");
		return 124;
	}
	status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	printf("TSRUN: exit=%d us=%lld\n", status, exit_us);
	return status;
}

// SPDX-License-Identifier: Apache-2.0
// bulwark guest agent: /init of the test guests. Stamps the boot-timer port, loads the
// initramfs' modules, runs the test named by `bulwark.test=` and reports on the console
// in lines "BULWARK-AGENT: key=value" that the host-side tests parse.
#define _GNU_SOURCE /* O_DIRECT */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/input.h>
#include <linux/vm_sockets.h>

/* The boot-timer port (see docs/testing.md): the VMM timestamps a write of this value. */
#define BOOT_TIMER_PORT 0x440
#define BOOT_TIMER_INIT 123

#define MODULE_LIST "/etc/bulwark/modules"

static char cmdline[4096];

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	/* One write per line so lines from the agent never interleave with others. */
	if (write(STDOUT_FILENO, "BULWARK-AGENT: ", 15) < 0 || write(STDOUT_FILENO, buf, n) < 0)
		return;
}

/* Value of `key=` on the kernel command line copied into out; false if absent. */
static bool cmdline_get(const char *key, char *out, size_t outsz)
{
	size_t klen = strlen(key);
	const char *p = cmdline;

	while (*p) {
		while (*p == ' ')
			p++;
		if (!strncmp(p, key, klen) && p[klen] == '=') {
			size_t i = 0;

			p += klen + 1;
			while (p[i] && p[i] != ' ' && p[i] != '\n' && i + 1 < outsz) {
				out[i] = p[i];
				i++;
			}
			out[i] = '\0';
			return true;
		}
		while (*p && *p != ' ')
			p++;
	}
	return false;
}

static bool cmdline_has(const char *word)
{
	size_t wlen = strlen(word);
	const char *p = cmdline;

	while ((p = strstr(p, word)) != NULL) {
		bool start = p == cmdline || p[-1] == ' ';
		bool end = p[wlen] == '\0' || p[wlen] == ' ' || p[wlen] == '\n';

		if (start && end)
			return true;
		p += wlen;
	}
	return false;
}

static ssize_t read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	while (len + 1 < size && (n = read(fd, buf + len, size - 1 - len)) > 0)
		len += n;
	buf[len] = '\0';
	close(fd);
	return len;
}

static double uptime_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- checks: each prints one or more result lines and returns false on failure ---- */

static bool check_kernel(void)
{
	struct utsname u;

	if (uname(&u) < 0)
		return false;
	say("kernel=%s", u.release);
	return true;
}

static bool check_nproc(void)
{
	say("nproc=%ld", sysconf(_SC_NPROCESSORS_ONLN));
	return true;
}

static bool check_ioapic(void)
{
	static char buf[65536];

	if (read_file("/proc/interrupts", buf, sizeof(buf)) < 0) {
		say("ioapic=unknown (no /proc/interrupts)");
		return false;
	}
	say("ioapic=%s", strstr(buf, "IO-APIC") ? "yes" : "no");
	return true;
}

static bool check_acpi(void)
{
	struct stat st;

	say("acpi=%s", stat("/sys/firmware/acpi/tables/DSDT", &st) == 0 ? "yes" : "no");
	return true;
}

static bool check_memory(void)
{
	struct sysinfo si;

	if (sysinfo(&si) < 0)
		return false;
	say("memtotal-mib=%llu", (unsigned long long)si.totalram * si.mem_unit >> 20);
	return true;
}

static bool check_modules(void)
{
	static char buf[65536];
	int n = 0;

	if (read_file("/proc/modules", buf, sizeof(buf)) < 0)
		return false;
	for (char *p = buf; *p; p++)
		n += *p == '\n';
	say("modules-loaded=%d", n);
	return true;
}

static bool check_uptime(void)
{
	say("uptime-s=%.3f", uptime_s());
	return true;
}

/* ---- device checks (issue 4): parameters from bulwark.* on the kernel command line ---- */

static unsigned long long cmdline_num(const char *key, unsigned long long def)
{
	char val[32];

	return cmdline_get(key, val, sizeof(val)) ? strtoull(val, NULL, 0) : def;
}

/* "virtio-devices=virtio0:2,virtio1:4": name and device id of every virtio device. */
static bool check_virtio(void)
{
	char line[512] = "", id[32], path[300];
	struct dirent *e;
	DIR *d = opendir("/sys/bus/virtio/devices");
	size_t len = 0;
	int n = 0;

	if (!d) {
		say("virtio-devices=none (no /sys/bus/virtio/devices)");
		return false;
	}
	while ((e = readdir(d)) != NULL && len + 40 < sizeof(line)) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/virtio/devices/%s/device", e->d_name);
		if (read_file(path, id, sizeof(id)) < 0)
			continue;
		len += snprintf(line + len, sizeof(line) - len, "%s%s:%lu", n ? "," : "",
				e->d_name, strtoul(id, NULL, 0));
		n++;
	}
	closedir(d);
	say("virtio-devices=%s", n ? line : "none");
	return n > 0;
}

/*
 * "msix-virtio=N vectors=M": N /proc/interrupts lines of virtio devices on PCI MSI
 * ("PCI-MSI", or "PCI-MSIX-..." on newer kernels), M of the virtio PCI functions' vectors
 * in MSI-X mode (/sys/bus/pci/devices/.../msi_irqs/N reads "msix").
 */
static bool check_msix(void)
{
	static char buf[65536];
	char *save = NULL, path[600], mode[16], vendor[16];
	struct dirent *e, *v;
	DIR *d;
	int n = 0, m = 0;

	if (read_file("/proc/interrupts", buf, sizeof(buf)) < 0)
		return false;
	for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		n += strstr(l, "PCI-MSI") && strstr(l, "virtio");
	d = opendir("/sys/bus/pci/devices");
	while (d && (e = readdir(d)) != NULL) {
		DIR *vd;

		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", e->d_name);
		if (e->d_name[0] == '.' || read_file(path, vendor, sizeof(vendor)) < 0 ||
		    strtoul(vendor, NULL, 0) != 0x1af4)
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/msi_irqs", e->d_name);
		vd = opendir(path);
		while (vd && (v = readdir(vd)) != NULL) {
			snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/msi_irqs/%s",
				 e->d_name, v->d_name);
			m += v->d_name[0] != '.' && read_file(path, mode, sizeof(mode)) > 0 &&
			     strncmp(mode, "msix", 4) == 0;
		}
		if (vd)
			closedir(vd);
	}
	if (d)
		closedir(d);
	say("msix-virtio=%d vectors=%d", n, m);
	return n > 0 && m > 0;
}

/* Reads bulwark.rng-bytes= (default 4096) from /dev/hwrng. */
static bool check_hwrng(void)
{
	static unsigned char buf[65536];
	size_t want = cmdline_num("bulwark.rng-bytes", 4096), got = 0;
	char cur[64] = "";
	unsigned int seen[256] = { 0 }, distinct = 0;
	int fd;

	if (want > sizeof(buf))
		want = sizeof(buf);
	read_file("/sys/class/misc/hw_random/rng_current", cur, sizeof(cur));
	cur[strcspn(cur, "\n")] = '\0';
	say("hwrng-current=%s", cur[0] ? cur : "none");
	fd = open("/dev/hwrng", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		say("hwrng-bytes=0 (open: %s)", strerror(errno));
		return false;
	}
	while (got < want) {
		ssize_t n = read(fd, buf + got, want - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	for (size_t i = 0; i < got; i++)
		distinct += !seen[buf[i]]++;
	say("hwrng-bytes=%zu distinct=%u", got, distinct);
	/* 4 KiB of random bytes covers all 256 values with overwhelming probability. */
	return got == want && (got < 4096 || distinct == 256);
}

static int open_blk(int flags)
{
	char dev[32] = "vda", path[64];

	cmdline_get("bulwark.blk-dev", dev, sizeof(dev));
	snprintf(path, sizeof(path), "/dev/%s", dev);
	return open(path, flags | O_CLOEXEC);
}

/* Sector s of the pattern: its number in text, then a byte that depends on it. */
static void fill_sector(unsigned char *p, unsigned long long s)
{
	int n = snprintf((char *)p, 512, "bulwark-%08llu\n", s);

	memset(p + n, 'a' + (int)(s % 26), 512 - (size_t)n - 1);
	p[511] = '\n';
}

/*
 * Writes the pattern to bulwark.blk-len bytes at bulwark.blk-off of the disk with
 * O_DIRECT (the guest's page cache is not in the way), fsyncs (a FLUSH to the device),
 * reads it back with O_DIRECT and compares. The host checks the image afterwards.
 */
static bool check_blk_write(void)
{
	unsigned long long off = cmdline_num("bulwark.blk-off", 1 << 20);
	unsigned long long len = cmdline_num("bulwark.blk-len", 1 << 20);
	unsigned char *buf, *back;
	bool ok = false;
	int fd;

	if (len == 0 || len % 4096 || off % 4096 || len > (64 << 20))
		return false;
	fd = open_blk(O_RDWR | O_DIRECT);
	if (fd < 0) {
		say("blk-write=error (open: %s)", strerror(errno));
		return false;
	}
	if (posix_memalign((void **)&buf, 4096, len) || posix_memalign((void **)&back, 4096, len)) {
		close(fd);
		return false;
	}
	for (unsigned long long s = 0; s < len / 512; s++)
		fill_sector(buf + s * 512, off / 512 + s);
	if (pwrite(fd, buf, len, (off_t)off) != (ssize_t)len)
		say("blk-write=error (write: %s)", strerror(errno));
	else if (fsync(fd) < 0)
		say("blk-write=error (fsync: %s)", strerror(errno));
	else if (pread(fd, back, len, (off_t)off) != (ssize_t)len)
		say("blk-write=error (read back: %s)", strerror(errno));
	else if (memcmp(buf, back, len) != 0)
		say("blk-write=mismatch");
	else
		ok = true;
	if (ok)
		say("blk-write=ok off=%llu len=%llu", off, len);
	free(buf);
	free(back);
	close(fd);
	return ok;
}

/* Size (sectors), serial and read-only flag of the disk as the guest kernel sees them. */
static bool check_blk_info(void)
{
	char dev[32] = "vda", path[96], size[32] = "", serial[64] = "", ro[8] = "";

	cmdline_get("bulwark.blk-dev", dev, sizeof(dev));
	snprintf(path, sizeof(path), "/sys/block/%s/size", dev);
	read_file(path, size, sizeof(size));
	snprintf(path, sizeof(path), "/sys/block/%s/serial", dev);
	read_file(path, serial, sizeof(serial));
	snprintf(path, sizeof(path), "/sys/block/%s/ro", dev);
	read_file(path, ro, sizeof(ro));
	size[strcspn(size, "\n")] = serial[strcspn(serial, "\n")] = ro[strcspn(ro, "\n")] = '\0';
	say("blk-info=%s sectors=%s serial=%s ro=%s", dev, size[0] ? size : "?",
	    serial[0] ? serial : "-", ro[0] ? ro : "?");
	return size[0] != '\0';
}

/*
 * A read-only disk (VIRTIO_BLK_F_RO): a write must fail, at open (EROFS) or at the write
 * itself (the kernel lets O_WRONLY opens of a read-only disk through in some versions).
 * The device's own refusal (IOERR) cannot be reached from here: the kernel marks the
 * whole disk read-only, which BLKROSET cannot undo; the host test checks the image.
 */
static bool check_blk_ro(void)
{
	static unsigned char buf[4096] __attribute__((aligned(4096)));
	int fd = open_blk(O_WRONLY | O_DIRECT);
	ssize_t n;

	if (fd < 0) {
		say("blk-ro-write=refused (open: %s)", strerror(errno));
		return true;
	}
	n = pwrite(fd, buf, sizeof(buf), 0);
	if (n == (ssize_t)sizeof(buf) && fsync(fd) == 0) {
		say("blk-ro-write=accepted");
		close(fd);
		return false;
	}
	say("blk-ro-write=refused (%s: %s)", n < 0 ? "write" : "fsync", strerror(errno));
	close(fd);
	return true;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One reader: `count` O_DIRECT reads of bs bytes at slots first, first+step, ... */
static bool rate_reads(int fd, unsigned char *buf, unsigned long long bs,
		       unsigned long long first, unsigned long long step, unsigned long long count)
{
	const unsigned long long slots = (64ULL << 20) / bs;

	for (unsigned long long i = 0; i < count; i++) {
		unsigned long long slot = (first + i * step) % slots;

		if (pread(fd, buf, bs, (off_t)(slot * bs)) != (ssize_t)bs)
			return false;
	}
	return true;
}

/*
 * Times O_DIRECT reads walking the first 64 MiB of a disk: for each "DEV:BS:N[:QD]" in
 * bulwark.rate= (e.g. vda:4096:2000:4,vdb:65536:200) QD processes (default 1) share N
 * reads and the agent prints "blk-rate dev=DEV iops=X bytes-per-s=Y n=N qd=QD s=T".
 * The first 10 reads (the bucket's initial fill and one-time burst) are not timed. More
 * than one reader keeps a request queued while the guest itself stalls (TCG).
 */
static bool rate_one(const char *dev, unsigned long long bs, unsigned long long n,
		     unsigned int qd)
{
	unsigned char *buf;
	char path[64];
	pid_t pids[64];
	double t0, t;
	bool ok = true;
	int fd;

	if (bs == 0 || bs % 512 || bs > (16 << 20) || n == 0 || qd == 0 || qd > 64)
		return false;
	snprintf(path, sizeof(path), "/dev/%s", dev);
	fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0 || posix_memalign((void **)&buf, 4096, bs)) {
		say("blk-rate dev=%s error=open: %s", dev, strerror(errno));
		return false;
	}
	ok = rate_reads(fd, buf, bs, 0, 1, 10);
	t0 = now_s();
	for (unsigned int r = 0; r < qd; r++) {
		pids[r] = ok ? fork() : -1;
		if (pids[r] == 0)
			_exit(rate_reads(fd, buf, bs, 10 + r, qd, n / qd + (r < n % qd)) ? 0 : 1);
		ok &= pids[r] > 0;
	}
	/* Our readers only: init has other children (watchers) that never exit. */
	for (unsigned int r = 0; r < qd; r++) {
		int st = 1;

		while (pids[r] > 0 && waitpid(pids[r], &st, 0) < 0 && errno == EINTR)
			;
		ok &= pids[r] > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
	}
	t = now_s() - t0;
	close(fd);
	free(buf);
	if (!ok) {
		say("blk-rate dev=%s error=read failed", dev);
		return false;
	}
	say("blk-rate dev=%s iops=%.1f bytes-per-s=%.0f n=%llu qd=%u s=%.3f", dev, n / t,
	    n * bs / t, n, qd, t);
	return true;
}

static bool check_blk_rate(void)
{
	char list[256] = "vda:4096:2000", *save = NULL;
	bool ok = true;

	cmdline_get("bulwark.rate", list, sizeof(list));
	for (char *it = strtok_r(list, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
		char dev[32];
		unsigned long long bs, n;
		unsigned int qd = 1;

		if (sscanf(it, "%31[a-z]:%llu:%llu:%u", dev, &bs, &n, &qd) < 3)
			return false;
		ok &= rate_one(dev, bs, n, qd);
	}
	return ok;
}

struct agent_check {
	const char *name;
	bool (*fn)(void);
};

/* Checks run by name; tests for later issues add device checks here. */
static const struct agent_check checks[] = {
	{ "kernel", check_kernel },
	{ "nproc", check_nproc },
	{ "ioapic", check_ioapic },
	{ "acpi", check_acpi },
	{ "memory", check_memory },
	{ "modules", check_modules },
	{ "uptime", check_uptime },
	{ "virtio", check_virtio },
	{ "msix", check_msix },
	{ "hwrng", check_hwrng },
	{ "blk-info", check_blk_info },
	{ "blk-write", check_blk_write },
	{ "blk-ro", check_blk_ro },
	{ "blk-rate", check_blk_rate },
};

static bool run_check(const char *name)
{
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		if (!strcmp(checks[i].name, name)) {
			if (checks[i].fn())
				return true;
			say("check-failed=%s", name);
			return false;
		}
	say("check-unknown=%s", name);
	return false;
}

/* Runs every check in the comma-separated list; false if any failed. */
static bool run_checks(const char *list)
{
	char buf[256], *save = NULL;
	bool ok = true;

	snprintf(buf, sizeof(buf), "%s", list);
	for (char *c = strtok_r(buf, ",", &save); c; c = strtok_r(NULL, ",", &save))
		ok &= run_check(c);
	return ok;
}

static const char basic_checks[] = "kernel,nproc,ioapic,acpi,memory,modules,uptime";

/* ---- tests: what to do after init; each ends the guest ---- */

static void power_off(void)
{
	say("poweroff");
	sync();
	reboot(RB_POWER_OFF);
	say("error=poweroff failed: %s", strerror(errno));
}

static void do_reboot(void)
{
	sync();
	reboot(RB_AUTOBOOT);
	say("error=reboot failed: %s", strerror(errno));
}

static int run_shell(const char *script)
{
	int pfd[2];
	pid_t pid;
	int status = 0;

	if (pipe(pfd) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(pfd[0], STDIN_FILENO);
		close(pfd[0]);
		close(pfd[1]);
		setenv("PS1", "guest:~# ", 1);
		setenv("PATH", "/bin:/sbin", 1);
		setenv("HOME", "/", 1);
		/* -i prints the prompt, -v echoes each command as the shell reads it. */
		execl("/bin/sh", "sh", "-iv", (char *)NULL);
		_exit(127);
	}
	close(pfd[0]);
	if (pid < 0) {
		close(pfd[1]);
		return -1;
	}
	if (write(pfd[1], script, strlen(script)) < 0)
		say("error=cannot feed the shell: %s", strerror(errno));
	close(pfd[1]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void test_boot(void)
{
	say("result=%s", run_checks(basic_checks) ? "pass" : "fail");
	power_off();
}

/* Stays up for bulwark.idle= seconds (default 2) so the host can sample the VMM. */
static void test_idle(void)
{
	char val[32];
	int secs = 2;

	if (cmdline_get("bulwark.idle", val, sizeof(val)))
		secs = atoi(val);
	say("idle-s=%d", secs);
	sleep(secs);
	say("result=pass");
	power_off();
}

static void test_reboot(void)
{
	say("reboot");
	do_reboot();
}

/*
 * `reboot=t` makes Linux reboot by loading an empty IDT and raising int3: a genuine
 * triple fault from the stock kernel. Without it this test would only reboot.
 */
static void test_triplefault(void)
{
	if (!cmdline_has("reboot=t") && !cmdline_has("reboot=triple")) {
		say("error=triplefault needs reboot=t on the kernel command line");
		power_off();
		return;
	}
	say("triplefault");
	do_reboot();
}

/* Runs the checks listed in bulwark.checks= (comma-separated), powers off. */
static void test_checks(void)
{
	char list[256] = "";

	cmdline_get("bulwark.checks", list, sizeof(list));
	say("result=%s", list[0] && run_checks(list) ? "pass" : "fail");
	power_off();
}

static void test_shell(void)
{
	static const char script[] =
		"uname -a\n"
		"nproc\n"
		"cat /proc/cmdline\n"
		"free -m\n"
		"grep -c processor /proc/cpuinfo\n"
		"exit 0\n";
	int rc;

	run_checks("nproc,ioapic");
	rc = run_shell(script);
	printf("\n");
	fflush(stdout);
	say("shell-exit=%d", rc);
	power_off();
}

/* ---- vsock (virtio-vsock, tests/testhost/t-vsock.sh) ---- */

#define VSOCK_TEST_BYTES (1024 * 1024) /* more than the device's 256 KiB buffer: credit */
#define VSOCK_TEST_TIMEOUT_MS 120000

/* Byte i of the echo pattern: not periodic in any buffer size we use. */
static uint8_t vsock_pattern(size_t i)
{
	return (uint8_t)((i * 7 + i / 251) & 0xff);
}

/* Echoes fd's bytes back until end of stream; returns the count or -1. */
static long vsock_echo(int fd)
{
	static char buf[65536];
	long total = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, VSOCK_TEST_TIMEOUT_MS) <= 0)
			return -1;
		n = read(fd, buf, sizeof(buf));
		if (n == 0)
			return total;
		if (n < 0)
			return -1;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(fd, buf + off, (size_t)(n - off));

			if (w <= 0)
				return -1;
			off += w;
		}
		total += n;
	}
}

/* Sends `bytes` of the pattern and checks that the same bytes come back. */
static bool vsock_echo_check(int fd, size_t bytes)
{
	static uint8_t buf[65536];
	size_t sent = 0, got = 0;

	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	while (got < bytes) {
		struct pollfd p = { .fd = fd, .events = POLLIN | (sent < bytes ? POLLOUT : 0) };
		ssize_t n;

		if (poll(&p, 1, VSOCK_TEST_TIMEOUT_MS) <= 0) {
			say("error=vsock echo stalled at sent=%zu got=%zu", sent, got);
			return false;
		}
		if ((p.revents & POLLOUT) && sent < bytes) {
			size_t len = bytes - sent < sizeof(buf) ? bytes - sent : sizeof(buf);

			for (size_t i = 0; i < len; i++)
				buf[i] = vsock_pattern(sent + i);
			n = write(fd, buf, len);
			if (n < 0 && errno != EAGAIN) {
				say("error=vsock write: %s", strerror(errno));
				return false;
			}
			if (n > 0)
				sent += (size_t)n;
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(fd, buf, sizeof(buf));
			if (n < 0 && errno == EAGAIN)
				continue;
			if (n <= 0) {
				say("error=vsock read at %zu: %s", got, n ? strerror(errno) : "end of stream");
				return false;
			}
			for (ssize_t i = 0; i < n; i++)
				if (buf[i] != vsock_pattern(got + (size_t)i)) {
					say("error=vsock echo differs at byte %zu", got + (size_t)i);
					return false;
				}
			got += (size_t)n;
		}
	}
	return true;
}

static int vsock_connect(unsigned int cid, unsigned int port)
{
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port };
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

/*
 * Host to guest: echo one connection on port bulwark.vsock.port (default 5000). Guest to
 * host: echo through CID 2 port+1000 (the host's echo server), then port+1001, where
 * nothing listens, must be refused (the device answers with a reset).
 */
static void test_vsock(void)
{
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY };
	unsigned int port = 5000;
	char val[32];
	bool ok = true;
	long echoed;
	int srv, fd;

	if (cmdline_get("bulwark.vsock.port", val, sizeof(val)))
		port = (unsigned int)atoi(val);
	sa.svm_port = port;
	srv = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (srv < 0 || bind(srv, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(srv, 1) < 0) {
		say("error=vsock listen on port %u: %s", port, strerror(errno));
		say("result=fail");
		power_off();
		return;
	}
	say("vsock-listen=%u", port);
	{
		struct pollfd p = { .fd = srv, .events = POLLIN };

		fd = poll(&p, 1, VSOCK_TEST_TIMEOUT_MS) == 1 ? accept(srv, NULL, NULL) : -1;
	}
	echoed = fd >= 0 ? vsock_echo(fd) : -1;
	say("vsock-h2g=%s bytes=%ld", echoed > 0 ? "pass" : "fail", echoed);
	ok &= echoed > 0;
	if (fd >= 0)
		close(fd);
	close(srv);

	fd = vsock_connect(VMADDR_CID_HOST, port + 1000);
	if (fd < 0) {
		say("error=vsock connect to host port %u: %s", port + 1000, strerror(-fd));
		ok = false;
	} else {
		bool echo_ok = vsock_echo_check(fd, VSOCK_TEST_BYTES);

		say("vsock-g2h=%s bytes=%d", echo_ok ? "pass" : "fail", VSOCK_TEST_BYTES);
		ok &= echo_ok;
		close(fd);
	}

	fd = vsock_connect(VMADDR_CID_HOST, port + 1001);
	if (fd >= 0) {
		say("vsock-refused=fail (connected)");
		close(fd);
		ok = false;
	} else {
		/* Linux maps the device's RST on a connecting socket to ECONNRESET. */
		say("vsock-refused=%s errno=%s", fd == -ECONNRESET ? "pass" : "fail", strerror(-fd));
		ok &= fd == -ECONNRESET;
	}
	say("result=%s", ok ? "pass" : "fail");
	power_off();
}

/* ---- network (virtio-net): bulwark.net-ip=, bulwark.net-peer=, bulwark.net-kib= ---- */

/* Runs argv with stdin and stdout redirected (NULL: inherited); returns the child's pid. */
static pid_t net_spawn(char *const argv[], const char *in, const char *out)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd;

		if (in && (fd = open(in, O_RDONLY)) >= 0)
			dup2(fd, STDIN_FILENO);
		if (out && (fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644)) >= 0)
			dup2(fd, STDOUT_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/*
 * Rate of a byte counter (/sys/class/net/eth0/statistics/...) while a transfer of about
 * `expect` bytes runs: measured between 10% and 90% of it, so start-up and the end
 * (process start, handshake, close) do not count.
 */
struct net_meter {
	const char *path;
	unsigned long long expect, start, d_lo, d_hi;
	double t_lo, t_hi;
};

static unsigned long long net_counter(const char *path)
{
	char buf[32] = "";

	read_file(path, buf, sizeof(buf));
	return strtoull(buf, NULL, 10);
}

static void net_meter_sample(struct net_meter *m)
{
	unsigned long long d;

	if (!m)
		return;
	d = net_counter(m->path) - m->start;
	if (!m->t_lo && d >= m->expect / 10) {
		m->t_lo = uptime_s();
		m->d_lo = d;
	}
	if (d <= m->expect * 9 / 10) {
		m->t_hi = uptime_s();
		m->d_hi = d;
	}
}

/* Bytes per second between 10% and 90%, or 0 if the transfer was too short to tell. */
static unsigned long long net_meter_rate(const struct net_meter *m)
{
	if (!m->t_lo || m->t_hi <= m->t_lo + 0.5)
		return 0;
	return (unsigned long long)((m->d_hi - m->d_lo) / (m->t_hi - m->t_lo));
}

/* Waits up to secs seconds for pid, sampling m (may be NULL) every 20 ms. */
static int net_wait(pid_t pid, int secs, struct net_meter *m)
{
	int status;

	for (int i = 0; pid > 0 && i < secs * 50; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
		net_meter_sample(m);
		usleep(20000);
	}
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	return -1;
}

static int net_run(char *const argv[], const char *in, const char *out, int secs)
{
	return net_wait(net_spawn(argv, in, out), secs, NULL);
}

/* "KEY=<md5 of path>" from busybox md5sum. */
static void net_say_md5(const char *key, const char *path)
{
	char sum[128] = "";
	char *argv[] = { "md5sum", (char *)path, NULL };

	net_run(argv, NULL, "/tmp/net.md5", 60);
	read_file("/tmp/net.md5", sum, sizeof(sum));
	say("%s=%.32s", key, sum);
}

/*
 * Guest half of tests/testhost/t-net.sh: eth0 up at net-ip, ping net-peer, then a TCP
 * transfer each way with busybox nc: the guest sends net-kib KiB of random bytes to the
 * host's port 5001, then listens on 5002 and says net-ready, and the host sends as much.
 * The host compares the md5 sums and the rates (Ethernet frame bytes per second).
 */
static void test_net(void)
{
	char ip[32] = "10.0.2.15", peer[32] = "10.0.2.2", addr[40], buf[256] = "", kib[24];
	char *up_lo[] = { "ip", "link", "set", "lo", "up", NULL };
	char *up[] = { "ip", "link", "set", "eth0", "up", NULL };
	char *add[] = { "ip", "addr", "add", addr, "dev", "eth0", NULL };
	char *ping[] = { "ping", "-c", "3", "-W", "5", peer, NULL };
	char *listen[] = { "nc", "-l", "-p", "5002", NULL };
	char *send[] = { "nc", peer, "5001", NULL };
	char count[40];
	char *dd[] = { "dd", "if=/dev/urandom", "of=/tmp/g2h", "bs=1024", count, NULL };
	struct net_meter tx = { .path = "/sys/class/net/eth0/statistics/tx_bytes" };
	struct net_meter rxm = { .path = "/sys/class/net/eth0/statistics/rx_bytes" };
	double t0;
	pid_t rx;
	int rc;

	setenv("PATH", "/bin:/sbin", 1);
	cmdline_get("bulwark.net-ip", ip, sizeof(ip));
	cmdline_get("bulwark.net-peer", peer, sizeof(peer));
	if (!cmdline_get("bulwark.net-kib", kib, sizeof(kib)))
		snprintf(kib, sizeof(kib), "2048");
	snprintf(count, sizeof(count), "count=%s", kib);
	snprintf(addr, sizeof(addr), "%s/24", ip);
	read_file("/sys/class/net/eth0/address", buf, sizeof(buf));
	buf[strcspn(buf, "\n")] = '\0';
	say("net-mac=%s", buf[0] ? buf : "none");
	buf[0] = '\0';
	read_file("/sys/class/net/eth0/device/features", buf, sizeof(buf));
	buf[strcspn(buf, "\n")] = '\0';
	say("net-features=%s", buf[0] ? buf : "none");
	net_run(up_lo, NULL, NULL, 10);
	rc = net_run(up, NULL, NULL, 10);
	if (rc == 0)
		rc = net_run(add, NULL, NULL, 10);
	say("net-up=%s", rc == 0 ? "yes" : "no");
	say("net-ping=%s", net_run(ping, NULL, NULL, 30) == 0 ? "ok" : "fail");
	net_run(dd, NULL, NULL, 60);
	net_say_md5("net-tx-md5", "/tmp/g2h");
	/* One direction at a time, so that each has the guest to itself. */
	tx.start = net_counter(tx.path);
	tx.expect = strtoull(kib, NULL, 10) * 1024;
	t0 = uptime_s();
	rc = net_wait(net_spawn(send, "/tmp/g2h", NULL), 300, &tx);
	say("net-tx=%s kib=%s s=%.3f", rc == 0 ? "done" : "failed", kib, uptime_s() - t0);
	say("net-tx-rate=%llu", net_meter_rate(&tx));
	rx = net_spawn(listen, NULL, "/tmp/h2g");
	usleep(200000); /* let nc bind before the host is told to connect */
	rxm.start = net_counter(rxm.path);
	rxm.expect = tx.expect;
	say("net-ready");
	rc = net_wait(rx, 300, &rxm);
	say("net-rx=%s", rc == 0 ? "done" : "failed");
	say("net-rx-rate=%llu", net_meter_rate(&rxm));
	net_say_md5("net-rx-md5", "/tmp/h2g");
	power_off();
}

/*
 * ---- virtq-attack (issue 4): a hostile virtio driver in guest user space ----
 *
 * Takes the virtio-pci function bulwark.attack-pci= (e.g. 0000:00:02.0) away from Linux
 * (sysfs unbind), maps its BAR0 through resource0 and drives it as a malicious driver
 * would, with rings in a locked page of our own whose guest-physical address comes from
 * /proc/self/pagemap. Each attack breaks one rule of split virtqueues (virtio 1.2, 2.7)
 * and must leave the device in DEVICE_NEEDS_RESET (2.1.2) with the VMM still running;
 * a well-formed request before and after the attacks shows the rings really are live
 * and that a reset recovers the device. Then the checks in bulwark.checks= (other
 * devices) run. Host half: tests/testhost/t-virtq-attack.sh.
 */

#define VA_PAGE 4096
#define VA_QSIZE 8 /* desc (128 B), avail (22 B) and used (70 B) fit one page */
#define VA_AVAIL 128
#define VA_USED 256 /* 4-byte aligned (2.7.8) */
#define VA_HDR 1024 /* scratch buffers for the requests */
#define VA_STATUS 1040
#define VA_DATA 2048

/* Common configuration (4.1.4.3). */
#define VA_CC_GFSELECT 0x08
#define VA_CC_GF 0x0c
#define VA_CC_STATUS 0x14
#define VA_CC_Q_SELECT 0x16
#define VA_CC_Q_SIZE 0x18
#define VA_CC_Q_ENABLE 0x1c
#define VA_CC_Q_NOFF 0x1e
#define VA_CC_Q_DESC 0x20
#define VA_CC_Q_AVAIL 0x28
#define VA_CC_Q_USED 0x30

#define VA_S_ACK 1
#define VA_S_DRIVER 2
#define VA_S_DRIVER_OK 4
#define VA_S_FEATURES_OK 8
#define VA_S_NEEDS_RESET 0x40

#define VA_F_NEXT 1
#define VA_F_WRITE 2
#define VA_F_INDIRECT 4

struct va_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct va {
	char pci[64]; /* sysfs name, 0000:00:02.0 */
	unsigned int type; /* virtio device type (5): blk 2, rng 4 */
	volatile uint8_t *bar;
	size_t bar_len;
	uint32_t common, notify, notify_mult; /* from the vendor capabilities (4.1.4) */
	uint16_t noff;
	uint8_t *page; /* desc table, rings, buffers */
	uint64_t gpa;
};

static void va_w8(struct va *a, uint32_t off, uint8_t v)
{
	*(volatile uint8_t *)(a->bar + a->common + off) = v;
}

static void va_w16(struct va *a, uint32_t off, uint16_t v)
{
	*(volatile uint16_t *)(a->bar + a->common + off) = v;
}

static void va_w32(struct va *a, uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)(a->bar + a->common + off) = v;
}

/* 64-bit registers as two 32-bit halves, low first: what 4.1.3.1 lets a driver do. */
static void va_w64(struct va *a, uint32_t off, uint64_t v)
{
	va_w32(a, off, (uint32_t)v);
	va_w32(a, off + 4, (uint32_t)(v >> 32));
}

static uint8_t va_r8(struct va *a, uint32_t off)
{
	return *(volatile uint8_t *)(a->bar + a->common + off);
}

static uint16_t va_r16(struct va *a, uint32_t off)
{
	return *(volatile uint16_t *)(a->bar + a->common + off);
}

static int va_sysfs_write(const char *pci, const char *file, const char *val)
{
	char path[160];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", pci, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, val, strlen(val)) < 0)
		ret = -errno;
	if (fd >= 0)
		close(fd);
	return ret;
}

/* Finds the common and notify structures in config space; both must be in BAR0. */
static bool va_find_caps(struct va *a, const uint8_t *cfg)
{
	bool common = false, notify = false;
	unsigned int p = cfg[0x34], hops = 0;

	/* The list is the device's to build: bound the walk like any untrusted list. */
	while (p >= 0x40 && p < 0xec && hops++ < 48) {
		uint32_t off;

		memcpy(&off, cfg + p + 8, 4);
		if (cfg[p] == 0x09 && cfg[p + 4] == 0 && cfg[p + 3] == 1) {
			a->common = off;
			common = true;
		} else if (cfg[p] == 0x09 && cfg[p + 4] == 0 && cfg[p + 3] == 2 && p + 20 <= 0x100) {
			a->notify = off;
			memcpy(&a->notify_mult, cfg + p + 16, 4);
			notify = true;
		}
		p = cfg[p + 1];
	}
	return common && notify;
}

/* Guest-physical address of a locked page, from /proc/self/pagemap (root only). */
static uint64_t va_gpa(void *p)
{
	uint64_t e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	if (pread(fd, &e, sizeof(e), (off_t)((uintptr_t)p / VA_PAGE * sizeof(e))) != sizeof(e))
		e = 0;
	close(fd);
	/* Bit 63: present; bits 0-54: the PFN (zero without CAP_SYS_ADMIN). */
	if (!(e >> 63))
		return 0;
	return (e & ((1ULL << 55) - 1)) * VA_PAGE;
}

/* Unbinds a->pci from its driver, enables memory decoding, maps BAR0 and our ring page. */
static const char *va_open(struct va *a)
{
	char path[160], val[32] = "";
	uint8_t cfg[256];
	uint16_t cmd;
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", a->pci);
	if (read_file(path, val, sizeof(val)) < 0 || strtoul(val, NULL, 0) != 0x1af4)
		return "not a virtio PCI function";
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", a->pci);
	read_file(path, val, sizeof(val));
	if (strtoul(val, NULL, 0) < 0x1040)
		return "not a modern virtio device";
	a->type = (unsigned int)strtoul(val, NULL, 0) - 0x1040;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", a->pci);
	if (access(path, F_OK) == 0 && va_sysfs_write(a->pci, "driver/unbind", a->pci) < 0)
		return "unbind failed";
	/* Memory space and bus master (PCI 3.0, 6.2.2): virtio-pci's remove turns BM off. */
	va_sysfs_write(a->pci, "enable", "1");
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", a->pci);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 || pread(fd, cfg, sizeof(cfg), 0) != sizeof(cfg)) {
		if (fd >= 0)
			close(fd);
		return "cannot read config space (need root and the full 256 bytes)";
	}
	memcpy(&cmd, cfg + 4, 2);
	cmd |= 0x6;
	if (pwrite(fd, &cmd, 2, 4) != 2) {
		close(fd);
		return "cannot write the command register";
	}
	close(fd);
	if (!va_find_caps(a, cfg))
		return "no common/notify capability in BAR0";
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource0", a->pci);
	fd = open(path, O_RDWR | O_SYNC | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return "cannot open resource0";
	}
	a->bar_len = (size_t)st.st_size;
	a->bar = mmap(NULL, a->bar_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (a->bar == MAP_FAILED || a->common + 0x38 > a->bar_len || a->notify >= a->bar_len)
		return "cannot map BAR0";
	/*
	 * The device reads our rings by guest-physical address: the page must stay put.
	 * mlock keeps it resident; compaction may still move unevictable pages unless told.
	 */
	fd = open("/proc/sys/vm/compact_unevictable_allowed", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		(void)!write(fd, "0", 1);
		close(fd);
	}
	a->page = mmap(NULL, VA_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a->page == MAP_FAILED || mlock(a->page, VA_PAGE) < 0)
		return "cannot lock a ring page";
	memset(a->page, 0, VA_PAGE);
	a->gpa = va_gpa(a->page);
	if (!a->gpa)
		return "no PFN in /proc/self/pagemap";
	return NULL;
}

/* Polls device_status until (status & mask) == want, for up to 5 s; returns the last value. */
static uint8_t va_wait_status(struct va *a, uint8_t mask, uint8_t want)
{
	uint8_t s = va_r8(a, VA_CC_STATUS);

	for (int i = 0; i < 5000 && (s & mask) != want; i++) {
		usleep(1000);
		s = va_r8(a, VA_CC_STATUS);
	}
	return s;
}

/*
 * Device initialization as 3.1.1 orders it, VERSION_1 only (no EVENT_IDX, no MSI-X:
 * this driver polls), queue 0 of size VA_QSIZE in our page. On error returns why.
 */
static const char *va_setup(struct va *a)
{
	volatile uint16_t *avail = (volatile uint16_t *)(a->page + VA_AVAIL);

	/* 4.1.4.3.2: after writing 0 the driver waits until device_status reads 0. */
	va_w8(a, VA_CC_STATUS, 0);
	if (va_wait_status(a, 0xff, 0) != 0)
		return "reset did not complete";
	memset(a->page, 0, VA_HDR);
	va_w8(a, VA_CC_STATUS, VA_S_ACK);
	va_w8(a, VA_CC_STATUS, VA_S_ACK | VA_S_DRIVER);
	va_w32(a, VA_CC_GFSELECT, 0);
	va_w32(a, VA_CC_GF, 0);
	va_w32(a, VA_CC_GFSELECT, 1);
	va_w32(a, VA_CC_GF, 1); /* VIRTIO_F_VERSION_1, bit 32 */
	va_w8(a, VA_CC_STATUS, VA_S_ACK | VA_S_DRIVER | VA_S_FEATURES_OK);
	if (!(va_r8(a, VA_CC_STATUS) & VA_S_FEATURES_OK))
		return "FEATURES_OK refused";
	va_w16(a, VA_CC_Q_SELECT, 0);
	if (va_r16(a, VA_CC_Q_SIZE) < VA_QSIZE)
		return "queue 0 too small";
	va_w16(a, VA_CC_Q_SIZE, VA_QSIZE);
	va_w64(a, VA_CC_Q_DESC, a->gpa);
	va_w64(a, VA_CC_Q_AVAIL, a->gpa + VA_AVAIL);
	va_w64(a, VA_CC_Q_USED, a->gpa + VA_USED);
	a->noff = va_r16(a, VA_CC_Q_NOFF);
	avail[0] = 1; /* VIRTQ_AVAIL_F_NO_INTERRUPT: we poll */
	va_w16(a, VA_CC_Q_ENABLE, 1);
	if (va_r16(a, VA_CC_Q_ENABLE) != 1)
		return "queue 0 not enabled";
	va_w8(a, VA_CC_STATUS, VA_S_ACK | VA_S_DRIVER | VA_S_FEATURES_OK | VA_S_DRIVER_OK);
	return NULL;
}

static void va_desc(struct va *a, unsigned int i, uint64_t addr, uint32_t len, uint16_t flags,
		    uint16_t next)
{
	struct va_desc d = { .addr = addr, .len = len, .flags = flags, .next = next };

	memcpy(a->page + 16 * i, &d, sizeof(d));
}

/* Offers `head` in avail slot 0, sets avail idx to `idx` and rings queue 0's doorbell. */
static void va_kick(struct va *a, uint16_t head, uint16_t idx)
{
	volatile uint16_t *avail = (volatile uint16_t *)(a->page + VA_AVAIL);

	avail[2] = head;
	/* 2.7.13.2: the ring entry before the index that publishes it. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	avail[1] = idx;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	*(volatile uint16_t *)(a->bar + a->notify + a->noff * a->notify_mult) = 0;
}

/* ---- the attacks: each builds a broken queue state and kicks ---- */

static void va_loop(struct va *a)
{
	va_desc(a, 0, a->gpa + VA_DATA, 16, VA_F_NEXT, 0);
	va_kick(a, 0, 1);
}

/* Every descriptor chained to the next, the last back to the first: longer than the queue. */
static void va_long_chain(struct va *a)
{
	for (unsigned int i = 0; i < VA_QSIZE; i++)
		va_desc(a, i, a->gpa + VA_DATA, 16, VA_F_NEXT, (i + 1) % VA_QSIZE);
	va_kick(a, 0, 1);
}

static void va_head_oob(struct va *a)
{
	va_desc(a, 0, a->gpa + VA_DATA, 16, 0, 0);
	va_kick(a, 200, 1);
}

static void va_next_oob(struct va *a)
{
	va_desc(a, 0, a->gpa + VA_DATA, 16, VA_F_NEXT, 200);
	va_kick(a, 0, 1);
}

static void va_addr_1tib(struct va *a)
{
	va_desc(a, 0, 1ULL << 40, 4096, VA_F_WRITE, 0);
	va_kick(a, 0, 1);
}

/* addr + len wraps past 2^64 to a low, valid-looking address: an end-only check passes. */
static void va_addr_wrap(struct va *a)
{
	va_desc(a, 0, 0xfffffffffffff000ULL, 0x2000, VA_F_WRITE, 0);
	va_kick(a, 0, 1);
}

/* A buffer inside our page but 4 GiB - 1 long: runs off the end of guest RAM. */
static void va_len_huge(struct va *a)
{
	va_desc(a, 0, a->gpa + VA_DATA, 0xffffffffU, VA_F_WRITE, 0);
	va_kick(a, 0, 1);
}

static void va_avail_ahead(struct va *a)
{
	va_desc(a, 0, a->gpa + VA_DATA, 16, VA_F_WRITE, 0);
	va_kick(a, 0, 0x8000);
}

/* 2.7.4.2: device-readable descriptors must all come before device-writable ones. */
static void va_read_after_write(struct va *a)
{
	va_desc(a, 0, a->gpa + VA_DATA, 512, VA_F_WRITE | VA_F_NEXT, 1);
	va_desc(a, 1, a->gpa + VA_HDR, 16, 0, 0);
	va_kick(a, 0, 1);
}

/* VIRTIO_F_INDIRECT_DESC was not negotiated (2.7.5.3.1). */
static void va_indirect(struct va *a)
{
	va_desc(a, 0, a->gpa + VA_DATA, 32, VA_F_INDIRECT, 0);
	va_desc(a, 2, a->gpa + VA_DATA, 16, VA_F_WRITE, 0);
	memcpy(a->page + VA_DATA, a->page + 32, 16);
	va_kick(a, 0, 1);
}

static const struct {
	const char *name;
	void (*fn)(struct va *a);
} va_attacks[] = {
	{ "loop", va_loop },
	{ "long-chain", va_long_chain },
	{ "head-oob", va_head_oob },
	{ "next-oob", va_next_oob },
	{ "addr-1tib", va_addr_1tib },
	{ "addr-wrap", va_addr_wrap },
	{ "len-huge", va_len_huge },
	{ "avail-ahead", va_avail_ahead },
	{ "read-after-write", va_read_after_write },
	{ "indirect", va_indirect },
};

/*
 * A well-formed request on the freshly set-up queue: sector 0 read for virtio-blk
 * (5.2.6), 64 random bytes for virtio-rng (5.4.6). True if the device returned it
 * through the used ring (and, for blk, with VIRTIO_BLK_S_OK) and stayed healthy.
 */
static bool va_control(struct va *a)
{
	volatile uint16_t *used = (volatile uint16_t *)(a->page + VA_USED);
	uint32_t hdr[4] = { 0 }; /* type VIRTIO_BLK_T_IN, reserved, sector 0 */

	if (a->type == 2) {
		memcpy(a->page + VA_HDR, hdr, sizeof(hdr));
		a->page[VA_STATUS] = 0xff;
		va_desc(a, 0, a->gpa + VA_HDR, 16, VA_F_NEXT, 1);
		va_desc(a, 1, a->gpa + VA_DATA, 512, VA_F_WRITE | VA_F_NEXT, 2);
		va_desc(a, 2, a->gpa + VA_STATUS, 1, VA_F_WRITE, 0);
	} else {
		va_desc(a, 0, a->gpa + VA_DATA, 64, VA_F_WRITE, 0);
	}
	va_kick(a, 0, 1);
	for (int i = 0; i < 5000 && used[1] != 1; i++)
		usleep(1000);
	if (used[1] != 1 || (va_r8(a, VA_CC_STATUS) & VA_S_NEEDS_RESET))
		return false;
	return a->type != 2 || *(volatile uint8_t *)(a->page + VA_STATUS) == 0;
}

/* Attack one: set up, break the queue, expect NEEDS_RESET. True if the device reported it. */
static bool va_attack(struct va *a, unsigned int i)
{
	const char *err = va_setup(a);
	uint8_t s;

	if (err) {
		say("virtq-attack=%s setup-failed (%s)", va_attacks[i].name, err);
		return false;
	}
	va_attacks[i].fn(a);
	s = va_wait_status(a, VA_S_NEEDS_RESET, VA_S_NEEDS_RESET);
	say("virtq-attack=%s status=0x%02x needs-reset=%s", va_attacks[i].name, s,
	    (s & VA_S_NEEDS_RESET) ? "yes" : "no");
	return s & VA_S_NEEDS_RESET;
}

/*
 * Enabling a queue whose rings lie outside guest RAM must be refused (the transport
 * checks at enable time so that the walker can trust the ring addresses).
 */
static bool va_ring_oob(struct va *a)
{
	uint16_t en;

	va_w8(a, VA_CC_STATUS, 0);
	va_wait_status(a, 0xff, 0);
	va_w8(a, VA_CC_STATUS, VA_S_ACK | VA_S_DRIVER);
	va_w32(a, VA_CC_GFSELECT, 1);
	va_w32(a, VA_CC_GF, 1);
	va_w8(a, VA_CC_STATUS, VA_S_ACK | VA_S_DRIVER | VA_S_FEATURES_OK);
	va_w16(a, VA_CC_Q_SELECT, 0);
	va_w16(a, VA_CC_Q_SIZE, VA_QSIZE);
	va_w64(a, VA_CC_Q_DESC, 1ULL << 40);
	va_w64(a, VA_CC_Q_AVAIL, a->gpa + VA_AVAIL);
	va_w64(a, VA_CC_Q_USED, a->gpa + VA_USED);
	va_w16(a, VA_CC_Q_ENABLE, 1);
	en = va_r16(a, VA_CC_Q_ENABLE);
	say("virtq-attack=ring-oob queue-enable=%u", en);
	return en == 0;
}

/*
 * Gives the function back to Linux (virtio-pci bind): its driver resets the device and
 * sets it up from scratch, which must work after what we did. For a disk, reads the
 * first 4 KiB of it. Returns why not, or NULL.
 */
static const char *va_rebind(struct va *a, char *name, size_t namelen)
{
	char path[600];
	struct dirent *e;
	static unsigned char buf[4096] __attribute__((aligned(4096)));
	int fd, i;

	munmap((void *)a->bar, a->bar_len);
	a->bar = NULL;
	fd = open("/sys/bus/pci/drivers/virtio-pci/bind", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, a->pci, strlen(a->pci)) < 0) {
		if (fd >= 0)
			close(fd);
		return "bind failed";
	}
	close(fd);
	snprintf(name, namelen, "bound");
	if (a->type != 2)
		return NULL;
	/* The disk appears under .../virtioN/block/NAME once virtio_blk has probed it. */
	for (i = 0, name[0] = '\0'; i < 100 && !name[0]; i++) {
		DIR *d;

		usleep(100000);
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", a->pci);
		d = opendir(path);
		while (d && (e = readdir(d)) != NULL) {
			DIR *b;
			struct dirent *f;

			if (strncmp(e->d_name, "virtio", 6) != 0)
				continue;
			snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s/block", a->pci,
				 e->d_name);
			b = opendir(path);
			while (b && (f = readdir(b)) != NULL)
				if (f->d_name[0] != '.')
					snprintf(name, namelen, "%.31s", f->d_name);
			if (b)
				closedir(b);
		}
		if (d)
			closedir(d);
	}
	if (!name[0])
		return "no block device after bind";
	snprintf(path, sizeof(path), "/dev/%s", name);
	fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0)
		return "cannot open the disk";
	i = pread(fd, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf);
	close(fd);
	return i ? NULL : "cannot read the disk";
}

static void test_virtq_attack(void)
{
	struct va a = { .pci = "" };
	char list[256] = "", dev[64] = "";
	const char *err;
	bool ok = true;
	unsigned int n = 0;

	if (!cmdline_get("bulwark.attack-pci", a.pci, sizeof(a.pci)) || strchr(a.pci, '/')) {
		say("virtq-attack-error=no bulwark.attack-pci= (e.g. 0000:00:02.0)");
		say("result=fail");
		power_off();
		return;
	}
	err = va_open(&a);
	if (!err)
		err = va_setup(&a);
	if (err) {
		say("virtq-attack-error=%s: %s", a.pci, err);
		say("result=fail");
		power_off();
		return;
	}
	say("virtq-attack-target=%s type=%u ring-gpa=0x%llx", a.pci, a.type,
	    (unsigned long long)a.gpa);
	/* The rings must be live before an absent NEEDS_RESET can mean anything. */
	ok &= va_control(&a);
	say("virtq-attack-control=%s when=before", ok ? "ok" : "fail");
	for (unsigned int i = 0; i < sizeof(va_attacks) / sizeof(va_attacks[0]); i++) {
		bool hit = va_attack(&a, i);

		n += hit;
		ok &= hit;
	}
	ok &= va_ring_oob(&a);
	err = va_setup(&a);
	if (err || !va_control(&a)) {
		say("virtq-attack-control=fail when=after-reset%s%s", err ? " " : "", err ? err : "");
		ok = false;
	} else {
		say("virtq-attack-control=ok when=after-reset");
	}
	va_w8(&a, VA_CC_STATUS, 0);
	say("virtq-attack-needs-reset=%u of %zu", n, sizeof(va_attacks) / sizeof(va_attacks[0]));
	err = va_rebind(&a, dev, sizeof(dev));
	say("virtq-attack-rebind=%s %s", err ? "fail" : "ok", err ? err : dev);
	ok &= !err;
	/* The other devices must not have noticed. */
	if (cmdline_get("bulwark.checks", list, sizeof(list)))
		ok &= run_checks(list);
	say("result=%s", ok ? "pass" : "fail");
	power_off();
}

struct agent_test {
	const char *name;
	void (*fn)(void);
	const char *help;
};

static const struct agent_test tests[] = {
	{ "boot", test_boot, "print the basic checks, power off (default)" },
	{ "idle", test_idle, "stay up bulwark.idle= seconds, power off" },
	{ "reboot", test_reboot, "reboot" },
	{ "triplefault", test_triplefault, "reboot through a triple fault (needs reboot=t)" },
	{ "shell", test_shell, "run a few commands in a busybox shell, power off" },
	{ "net", test_net, "eth0 up, ping, TCP both ways with nc (tests/testhost/t-net.sh)" },
	{ "vsock", test_vsock, "vsock echo both ways and a refused port (t-vsock.sh)" },
	{ "checks", test_checks, "run the checks named in bulwark.checks=, power off" },
	{ "virtq-attack", test_virtq_attack,
	  "hostile driver on bulwark.attack-pci=: broken queues must mean NEEDS_RESET" },
};

/* ---- init ---- */

static sigjmp_buf io_fault;

static void on_io_fault(int sig)
{
	siglongjmp(io_fault, sig);
}

/*
 * Ring-3 port I/O through the ioperm() bitmap. QEMU's TCG (the nested test host's CPU)
 * accepts the bitmap only from a TSS whose type is "available", while KVM runs its
 * guests with TR "busy" as SVM requires, so there the OUT raises #GP: catch it and say
 * so rather than let init die. On real hardware the write goes through.
 */
static void stamp_boot_timer(void)
{
	struct sigaction sa = { .sa_handler = on_io_fault }, old;

	if (ioperm(BOOT_TIMER_PORT, 1, 1) < 0) {
		say("boot-timer=unavailable (ioperm: %s)", strerror(errno));
		return;
	}
	sigaction(SIGSEGV, &sa, &old);
	if (sigsetjmp(io_fault, 1) == 0) {
		outb(BOOT_TIMER_INIT, BOOT_TIMER_PORT);
		say("boot-timer=written");
	} else {
		say("boot-timer=unavailable (port I/O from ring 3 faults on this CPU)");
	}
	sigaction(SIGSEGV, &old, NULL);
	ioperm(BOOT_TIMER_PORT, 1, 0);
}

static void mount_fs(void)
{
	mkdir("/proc", 0755);
	mkdir("/sys", 0755);
	mkdir("/dev", 0755);
	mkdir("/tmp", 01777);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mount("tmpfs", "/tmp", "tmpfs", 0, NULL);
}

static void load_modules(void)
{
	static char list[8192];
	char *save = NULL;
	int n = 0, failed = 0;

	if (read_file(MODULE_LIST, list, sizeof(list)) < 0)
		return;
	for (char *m = strtok_r(list, "\n", &save); m; m = strtok_r(NULL, "\n", &save)) {
		int fd = open(m, O_RDONLY | O_CLOEXEC);

		if (fd < 0 || syscall(SYS_finit_module, fd, "", 0) < 0) {
			if (errno != EEXIST) {
				say("error=module %s: %s", m, strerror(errno));
				failed++;
			}
		} else {
			n++;
		}
		if (fd >= 0)
			close(fd);
	}
	say("modules=%d failed=%d", n, failed);
}

/* ---- power button: what logind or acpid does on a stock distro ---- */

#define INPUT_MAX 32

static bool has_power_key(int fd)
{
	unsigned long keys[KEY_MAX / (8 * sizeof(long)) + 1] = { 0 };
	const size_t bits = 8 * sizeof(long);

	if (ioctl(fd, EVIOCGBIT(EV_KEY, sizeof(keys)), keys) < 0)
		return false;
	return (keys[KEY_POWER / bits] >> (KEY_POWER % bits)) & 1;
}

static bool is_power_press(const struct input_event *e)
{
	return e->type == EV_KEY && e->code == KEY_POWER && e->value == 1;
}

/*
 * Forks a watcher that waits for a KEY_POWER press on the input devices that have the
 * key (the ACPI button driver's "Power Button" is /dev/input/eventN once `button` and
 * `evdev` are loaded), then prints "power-button" and powers off cleanly. It prints
 * "power-button-watch=N" when it listens on N devices; init waits for that line, so
 * that it never interleaves with init's own, then goes on with its test.
 */
static void watch_power_button(void)
{
	struct pollfd pfd[INPUT_MAX];
	struct input_event ev[16];
	char path[32], c;
	int n = 0, ready[2];
	pid_t pid;

	if (pipe(ready) < 0) {
		say("error=power button watcher: %s", strerror(errno));
		return;
	}
	pid = fork();
	if (pid != 0) {
		if (pid < 0)
			say("error=power button watcher: %s", strerror(errno));
		close(ready[1]);
		/* EOF once the watcher has said its line (or died). */
		while (read(ready[0], &c, 1) < 0 && errno == EINTR)
			;
		close(ready[0]);
		return;
	}
	close(ready[0]);
	for (int i = 0; i < INPUT_MAX; i++) {
		int fd;

		snprintf(path, sizeof(path), "/dev/input/event%d", i);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (!has_power_key(fd)) {
			close(fd);
			continue;
		}
		pfd[n].fd = fd;
		pfd[n].events = POLLIN;
		n++;
	}
	say("power-button-watch=%d", n);
	close(ready[1]);
	while (n > 0) {
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < n; i++) {
			ssize_t r;

			if (!(pfd[i].revents & POLLIN))
				continue;
			r = read(pfd[i].fd, ev, sizeof(ev));
			for (ssize_t j = 0; r > 0 && j < r / (ssize_t)sizeof(ev[0]); j++) {
				if (!is_power_press(&ev[j]))
					continue;
				say("power-button");
				power_off();
				_exit(1);
			}
		}
	}
	_exit(0);
}

int main(void)
{
	char name[64] = "boot";

	/* The marker the host-side boot-to-init measurements wait for, then the VMM's. */
	say("init");
	if (getpid() == 1)
		stamp_boot_timer();
	/* The guest's own clock: kernel start to init, without the VMM's share before it. */
	say("init-uptime-s=%.3f", uptime_s());
	mount_fs();
	if (read_file("/proc/cmdline", cmdline, sizeof(cmdline)) < 0)
		cmdline[0] = '\0';
	load_modules();
	watch_power_button();
	cmdline_get("bulwark.test", name, sizeof(name));
	say("test=%s", name);
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		if (!strcmp(tests[i].name, name)) {
			tests[i].fn();
			goto hang;
		}
	say("error=unknown test %s; tests are:", name);
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		say("  %s: %s", tests[i].name, tests[i].help);
	power_off();
hang:
	/* pid 1 must not exit: the kernel would panic and hide what went wrong. */
	for (;;)
		pause();
}

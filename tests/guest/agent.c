// SPDX-License-Identifier: Apache-2.0
// bulwark guest agent: /init of the test guests. Stamps the boot-timer port, loads the
// initramfs' modules, runs the test named by `bulwark.test=` and reports on the console
// in lines "BULWARK-AGENT: key=value" that the host-side tests parse.
#include <ctype.h>
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
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/input.h>

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

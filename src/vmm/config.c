// SPDX-License-Identifier: Apache-2.0
/* bulwark-vmm's configuration: command-line options and the equivalent JSON config file. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define CONFIG_MAX_FILE (64U * 1024U)
#define CONFIG_MAX_CMDLINE 4095U

const char config_usage[] =
	"usage: bulwark-vmm --kernel PATH [--initrd PATH] [--cmdline STR] [--cpus N]\n"
	"                   [--memory SIZE] [--console stdio|PATH] [--on-reboot exit|reset]\n"
	"                   [--control PATH] [--disk SPEC]... [--rng[=LIMITS]]\n"
	"                   [--net SPEC]...\n"
	"       bulwark-vmm --config FILE.json [options...]\n"
	"       bulwark-vmm --dump-acpi DIR [--cpus N]\n"
	"\n"
	"Boots a 64-bit Linux bzImage directly (no firmware) on /dev/kvm.\n"
	"  --kernel PATH      bzImage (boot protocol 2.12 or later, 64-bit entry)\n"
	"  --initrd PATH      initial ramdisk\n"
	"  --cmdline STR      kernel command line (default \"console=ttyS0\")\n"
	"  --cpus N           vCPUs, 1 to the KVM limit (default 1)\n"
	"  --memory SIZE      guest RAM, e.g. 512M or 2G (default 512M)\n"
	"  --console TARGET   serial console: stdio (default) or a Unix socket path to listen on\n"
	"  --on-reboot ACTION exit (default; exit code 5) or reset (boot again)\n"
	"  --control PATH     listen for bulwarkd on a SOCK_SEQPACKET socket at PATH\n"
	"  --disk SPEC        virtio-blk on a raw image, up to 8: path=FILE[,ro][,serial=S]\n"
	"                     [,iops=N][,bw=SIZE][,iops-burst=N][,bw-burst=SIZE][,refill=MS]\n"
	"  --rng[=LIMITS]     virtio-rng from the host's getrandom(); LIMITS as for --disk\n"
	"                     (bw=SIZE,...) or 'off'\n"
	"  --net SPEC         virtio-net on a tap, up to 4: tap=NAME|fd=N[,mac=MAC]\n"
	"                     [,offload=on|off][,rx-bw=SIZE][,rx-pps=N][,tx-bw=SIZE][,tx-pps=N]\n"
	"                     [,{rx,tx}-bw-burst=SIZE][,{rx,tx}-pps-burst=N][,{rx,tx}-refill=MS]\n"
	"  --vsock cid=N,socket=PATH  virtio-vsock: guest CID N (>= 3), host side on the\n"
	"                     Unix socket PATH (connect, send \"CONNECT <port>\\n\")\n"
	"  --config FILE      JSON object with the same keys (kernel, initrd, cmdline, cpus,\n"
	"                     memory, console, on_reboot, control, disk (array of SPEC),\n"
	"                     rng, net (array of SPEC)); command-line options override it,\n"
	"                     --disk and --net add devices\n"
	"  --dump-acpi DIR    write the ACPI tables as DIR/<SIG>.dat and exit\n"
	"  --help, --version\n"
	"\n"
	"Exit codes: 0 guest powered off; 1 guest crashed or unhandled exit; 2 usage or\n"
	"config error; 3 host error (/dev/kvm); 4 kernel/initrd/memory error; 5 guest\n"
	"rebooted (--on-reboot exit); 6 stopped on request (SIGINT/SIGTERM, control socket).\n";

void config_init(struct vmm_config *c)
{
	memset(c, 0, sizeof(*c));
	c->cpus = 1;
	c->memory = 512ULL << 20;
	c->on_reboot = VMM_REBOOT_EXIT;
}

void config_free(struct vmm_config *c)
{
	free(c->kernel);
	free(c->initrd);
	free(c->cmdline);
	free(c->console);
	free(c->control);
	free(c->dump_acpi);
	for (unsigned int i = 0; i < c->ndisks; i++)
		disk_config_free(&c->disks[i]);
	vsock_config_free(&c->vsock);
	for (unsigned int i = 0; i < c->nnets; i++)
		virtio_net_opts_free(&c->nets[i]);
	memset(c, 0, sizeof(*c));
}

/* Copies s into buf with control and non-ASCII bytes shown as '?': errors stay one line. */
static const char *shown(const char *s, char *buf, size_t n)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < n; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	buf[i] = '\0';
	return buf;
}

static int set_str(char **dst, const char *v, size_t max, const char *what, char *err, size_t errlen)
{
	char *s;

	if (v[0] == '\0' && strcmp(what, "cmdline") != 0)
		return util_fail(-EINVAL, err, errlen, "%s: must not be empty", what);
	if (strlen(v) > max)
		return util_fail(-EINVAL, err, errlen, "%s: longer than %zu bytes", what, max);
	s = strdup(v);
	if (!s)
		return util_fail(-EINVAL, err, errlen, "%s: out of memory", what);
	free(*dst);
	*dst = s;
	return 0;
}

static int set_cpus(struct vmm_config *c, const char *v, char *err, size_t errlen)
{
	char b[64];
	uint64_t n;

	if (util_parse_uint(v, 1, CONFIG_MAX_CPUS, &n) < 0)
		return util_fail(-EINVAL, err, errlen, "cpus: '%s' is not a number from 1 to %u",
			    shown(v, b, sizeof(b)), CONFIG_MAX_CPUS);
	c->cpus = (unsigned int)n;
	return 0;
}

static int set_memory(struct vmm_config *c, const char *v, char *err, size_t errlen)
{
	char b[64];
	uint64_t m;

	if (util_parse_size(v, &m) < 0)
		return util_fail(-EINVAL, err, errlen, "memory: '%s' is not a size (e.g. 512M, 2G)",
			    shown(v, b, sizeof(b)));
	if (m < CONFIG_MIN_MEMORY || m > CONFIG_MAX_MEMORY)
		return util_fail(-EINVAL, err, errlen, "memory: %s is outside 16M..1T", shown(v, b, sizeof(b)));
	if (m % (2ULL << 20))
		return util_fail(-EINVAL, err, errlen, "memory: %s is not a multiple of 2 MiB",
			    shown(v, b, sizeof(b)));
	c->memory = m;
	return 0;
}

static int set_on_reboot(struct vmm_config *c, const char *v, char *err, size_t errlen)
{
	if (strcmp(v, "exit") == 0)
		c->on_reboot = VMM_REBOOT_EXIT;
	else if (strcmp(v, "reset") == 0)
		c->on_reboot = VMM_REBOOT_RESET;
	else
		return util_fail(-EINVAL, err, errlen, "on-reboot: '%s' is not exit or reset",
			    shown(v, (char[64]){ 0 }, 64));
	return 0;
}

static int add_disk(struct vmm_config *c, const char *v, char *err, size_t errlen)
{
	if (c->ndisks >= DISK_MAX)
		return util_fail(-EINVAL, err, errlen, "disk: at most %u disks", DISK_MAX);
	if (disk_parse_spec(&c->disks[c->ndisks], v, err, errlen) < 0)
		return -EINVAL;
	c->ndisks++;
	return 0;
}

static int add_net(struct vmm_config *c, const char *v, char *err, size_t errlen)
{
	if (c->nnets >= VIRTIO_NET_MAX)
		return util_fail(-EINVAL, err, errlen, "net: at most %u network devices", VIRTIO_NET_MAX);
	if (virtio_net_parse_spec(&c->nets[c->nnets], v, err, errlen) < 0)
		return -EINVAL;
	c->nnets++;
	return 0;
}

/* "on", "off", or rate-limit options (which imply on). */
static int set_rng(struct vmm_config *c, const char *v, char *err, size_t errlen)
{
	struct ratelimit_config rl = { 0 };
	char buf[256], *save = NULL;

	if (!v || strcmp(v, "on") == 0 || strcmp(v, "") == 0) {
		c->rng = true;
		return 0;
	}
	if (strcmp(v, "off") == 0) {
		c->rng = false;
		return 0;
	}
	if (strlen(v) >= sizeof(buf))
		return util_fail(-EINVAL, err, errlen, "rng: option too long");
	snprintf(buf, sizeof(buf), "%s", v);
	for (char *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *val = strchr(kv, '=');

		if (val)
			*val++ = '\0';
		if (!val || ratelimit_parse_opt(&rl, kv, val) != 1)
			return util_fail(-EINVAL, err, errlen, "rng: '%s' is not on, off or bw=SIZE,...",
				    shown(v, (char[64]){ 0 }, 64));
	}
	c->rng = true;
	c->rng_rl = rl;
	return 0;
}

/* One table drives both the JSON keys and the long options' value handling. */
enum key { K_KERNEL, K_INITRD, K_CMDLINE, K_CPUS, K_MEMORY, K_CONSOLE, K_ON_REBOOT, K_CONTROL,
	   K_DISK, K_RNG, K_NET, K_VSOCK, K_NKEYS };
static const char *const key_names[K_NKEYS] = {
	"kernel", "initrd", "cmdline", "cpus", "memory", "console", "on_reboot", "control",
	"disk", "rng", "net", "vsock",
};

static int set_key(struct vmm_config *c, enum key k, const char *v, char *err, size_t errlen)
{
	switch (k) {
	case K_KERNEL:
		return set_str(&c->kernel, v, CONFIG_MAX_PATH, "kernel", err, errlen);
	case K_INITRD:
		return set_str(&c->initrd, v, CONFIG_MAX_PATH, "initrd", err, errlen);
	case K_CMDLINE:
		return set_str(&c->cmdline, v, CONFIG_MAX_CMDLINE, "cmdline", err, errlen);
	case K_CPUS:
		return set_cpus(c, v, err, errlen);
	case K_MEMORY:
		return set_memory(c, v, err, errlen);
	case K_CONSOLE:
		return set_str(&c->console, v, CONFIG_MAX_PATH, "console", err, errlen);
	case K_ON_REBOOT:
		return set_on_reboot(c, v, err, errlen);
	case K_CONTROL:
		return set_str(&c->control, v, CONFIG_MAX_PATH, "control", err, errlen);
	case K_DISK:
		return add_disk(c, v, err, errlen);
	case K_RNG:
		return set_rng(c, v, err, errlen);
	case K_VSOCK:
		return vsock_parse_spec(&c->vsock, v, err, errlen);
	case K_NET:
		return add_net(c, v, err, errlen);
	case K_NKEYS:
		break;
	}
	return util_fail(-EINVAL, err, errlen, "internal: bad key");
}

int config_parse_json(struct vmm_config *c, const char *json, size_t len, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root, *val;
	const char *name;
	char num[32];
	int ret = 0;

	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		char b[sizeof(jerr.text)];

		/* jansson quotes the offending input, which may hold a newline. */
		return util_fail(-EINVAL, err, errlen, "config: line %d column %d: %s", jerr.line, jerr.column,
			    shown(jerr.text, b, sizeof(b)));
	}
	if (!json_is_object(root)) {
		ret = util_fail(-EINVAL, err, errlen, "config: top level must be a JSON object");
		goto out;
	}
	json_object_foreach(root, name, val) {
		enum key k;
		const char *s;

		for (k = 0; k < K_NKEYS; k++)
			if (strcmp(name, key_names[k]) == 0)
				break;
		if (k == K_NKEYS) {
			char b[64];

			ret = util_fail(-EINVAL, err, errlen, "config: unknown key '%s'", shown(name, b, sizeof(b)));
			goto out;
		}
		if ((k == K_DISK || k == K_NET) && json_is_array(val)) {
			size_t i;
			json_t *el;

			/* "disk": ["path=a.img", "path=b.img,ro"], one --disk each. */
			json_array_foreach(val, i, el) {
				if (!json_is_string(el) ||
				    strlen(json_string_value(el)) != json_string_length(el)) {
					ret = util_fail(-EINVAL, err, errlen, "config: '%s' must be an array of strings",
						   name);
					goto out;
				}
				ret = set_key(c, k, json_string_value(el), err, errlen);
				if (ret < 0)
					goto out;
			}
			continue;
		}
		if (k == K_RNG && json_is_boolean(val)) {
			s = json_is_true(val) ? "on" : "off";
		} else if (json_is_string(val)) {
			s = json_string_value(val);
			if (strlen(s) != json_string_length(val)) {
				ret = util_fail(-EINVAL, err, errlen, "config: '%s' contains a NUL byte", name);
				goto out;
			}
		} else if (json_is_integer(val) && (k == K_CPUS || k == K_MEMORY) &&
			   json_integer_value(val) >= 0) {
			snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(val));
			s = num;
		} else {
			ret = util_fail(-EINVAL, err, errlen, "config: '%s' has the wrong type", name);
			goto out;
		}
		ret = set_key(c, k, s, err, errlen);
		if (ret < 0)
			goto out;
	}
out:
	json_decref(root);
	return ret;
}

enum { OPT_CONFIG = 0x100, OPT_DUMP_ACPI, OPT_HELP, OPT_VERSION };

int config_parse_args(struct vmm_config *c, int argc, char **argv, char *err, size_t errlen)
{
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, K_KERNEL },
		{ "initrd", required_argument, NULL, K_INITRD },
		{ "cmdline", required_argument, NULL, K_CMDLINE },
		{ "cpus", required_argument, NULL, K_CPUS },
		{ "memory", required_argument, NULL, K_MEMORY },
		{ "console", required_argument, NULL, K_CONSOLE },
		{ "on-reboot", required_argument, NULL, K_ON_REBOOT },
		{ "control", required_argument, NULL, K_CONTROL },
		{ "disk", required_argument, NULL, K_DISK },
		{ "rng", optional_argument, NULL, K_RNG },
		{ "vsock", required_argument, NULL, K_VSOCK },
		{ "net", required_argument, NULL, K_NET },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "dump-acpi", required_argument, NULL, OPT_DUMP_ACPI },
		{ "help", no_argument, NULL, OPT_HELP },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_file = NULL;
	int opt, ret;

	/* First pass: find --config so that the command line can override it. */
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (opt == OPT_CONFIG)
			config_file = optarg;
		else if (opt == '?' || opt == ':')
			return util_fail(-EINVAL, err, errlen, "unknown or incomplete option '%s' (see --help)",
				    shown(argv[optind - 1], (char[64]){ 0 }, 64));
	}
	if (optind < argc)
		return util_fail(-EINVAL, err, errlen, "unexpected argument '%s' (see --help)",
			    shown(argv[optind], (char[64]){ 0 }, 64));
	if (config_file) {
		uint8_t *buf;
		size_t len;

		ret = util_read_file(config_file, CONFIG_MAX_FILE, &buf, &len);
		if (ret < 0)
			return util_fail(-EINVAL, err, errlen, "config: cannot read %s: %s", config_file,
				    ret == -EFBIG ? "larger than 64 KiB" : strerror(-ret));
		ret = config_parse_json(c, (const char *)buf, len, err, errlen);
		free(buf);
		if (ret < 0)
			return ret;
	}
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_CONFIG:
			break;
		case OPT_DUMP_ACPI:
			ret = set_str(&c->dump_acpi, optarg, CONFIG_MAX_PATH, "dump-acpi", err,
				      errlen);
			if (ret < 0)
				return ret;
			break;
		case OPT_HELP:
			c->help = true;
			break;
		case OPT_VERSION:
			c->version = true;
			break;
		default:
			if (opt < 0 || opt >= K_NKEYS)
				return util_fail(-EINVAL, err, errlen, "unknown option (see --help)");
			ret = set_key(c, (enum key)opt, optarg, err, errlen);
			if (ret < 0)
				return ret;
			break;
		}
	}
	return 0;
}

int config_validate(const struct vmm_config *c, char *err, size_t errlen)
{
	if (c->help || c->version || c->dump_acpi)
		return 0;
	if (!c->kernel)
		return util_fail(-EINVAL, err, errlen, "no kernel given (--kernel PATH; see --help)");
	return 0;
}

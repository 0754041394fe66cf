// SPDX-License-Identifier: Apache-2.0
/*
 * The host side of virtio-net: a Linux TAP device opened with IFF_TAP | IFF_NO_PI |
 * IFF_VNET_HDR (every frame carries a virtio_net_hdr), either by name or handed in open.
 */
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util.h"

#define TAP_FLAGS (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR)

_Static_assert(TAP_OFFLOAD_CSUM == TUN_F_CSUM && TAP_OFFLOAD_TSO4 == TUN_F_TSO4 &&
		       TAP_OFFLOAD_TSO6 == TUN_F_TSO6,
	       "TAP_OFFLOAD_* are the kernel's TUN_F_* bits");

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

int tap_open(struct tap *t, const char *name, char *err, size_t errlen)
{
	struct ifreq ifr = { 0 };
	int ret;

	t->fd = -1;
	if (strlen(name) >= IFNAMSIZ)
		return util_fail(-EINVAL, err, errlen, "net: tap name '%s' is longer than %d bytes",
				 name, IFNAMSIZ - 1);
	t->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0)
		return util_fail(-errno, err, errlen, "net: cannot open /dev/net/tun: %s",
				 strerror(errno));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = TAP_FLAGS;
	if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		tap_close(t);
		if (ret == -EPERM || ret == -EBUSY || ret == -EINVAL)
			return util_fail(ret, err, errlen,
					 "net: cannot attach to tap %s: %s (it must be a tap owned by "
					 "this user, not a tun, not in use; or pass fd=N)",
					 name, strerror(-ret));
		return util_fail(ret, err, errlen, "net: cannot attach to tap %s: %s", name,
				 strerror(-ret));
	}
	snprintf(t->ifname, sizeof(t->ifname), "%s", ifr.ifr_name);
	return 0;
}

int tap_adopt(struct tap *t, int fd, char *err, size_t errlen)
{
	struct ifreq ifr = { 0 };
	int ret;

	t->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (t->fd < 0)
		return util_fail(-errno, err, errlen, "net: fd %d: %s", fd, strerror(errno));
	if (ioctl(t->fd, TUNGETIFF, &ifr) < 0) {
		ret = -errno;
		tap_close(t);
		return util_fail(ret == -EBADFD || ret == -ENOTTY || ret == -EINVAL ? -EINVAL : ret,
				 err, errlen, "net: fd %d is not an attached tun/tap device: %s", fd,
				 strerror(-ret));
	}
	if ((ifr.ifr_flags & TAP_FLAGS) != TAP_FLAGS || (ifr.ifr_flags & IFF_TUN)) {
		tap_close(t);
		return util_fail(-EINVAL, err, errlen,
				 "net: fd %d (%.*s) must be a tap opened with IFF_TAP|IFF_NO_PI|"
				 "IFF_VNET_HDR",
				 fd, IFNAMSIZ, ifr.ifr_name);
	}
	ret = set_nonblock(t->fd);
	if (ret < 0) {
		tap_close(t);
		return util_fail(ret, err, errlen, "net: fd %d: %s", fd, strerror(-ret));
	}
	snprintf(t->ifname, sizeof(t->ifname), "%.*s", IFNAMSIZ - 1, ifr.ifr_name);
	return 0;
}

int tap_set_vnet_hdr_size(struct tap *t, int size)
{
	return ioctl(t->fd, TUNSETVNETHDRSZ, &size) < 0 ? -errno : 0;
}

int tap_set_offload(struct tap *t, unsigned int flags)
{
	return ioctl(t->fd, TUNSETOFFLOAD, (unsigned long)flags) < 0 ? -errno : 0;
}

void tap_close(struct tap *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

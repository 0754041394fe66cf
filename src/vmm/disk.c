// SPDX-License-Identifier: Apache-2.0
/*
 * Disk options and the raw image back-end of virtio-blk: the file is the disk, byte for
 * byte; nothing here knows about virtio.
 */
#include "disk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

#define DISK_MAX_SPEC 8192U

static int bad(char *err, size_t errlen, const char *what, const char *val)
{
	char shown[64];
	size_t i;

	/* Control bytes would break the one-line error. */
	for (i = 0; val[i] && i + 1 < sizeof(shown); i++)
		shown[i] = (val[i] >= 0x20 && val[i] < 0x7f) ? val[i] : '?';
	shown[i] = '\0';
	snprintf(err, errlen, "disk: %s '%s'", what, shown);
	return -EINVAL;
}

static bool serial_ok(const char *s)
{
	if (s[0] == '\0' || strlen(s) > DISK_SERIAL_MAX)
		return false;
	for (; *s; s++)
		if (*s < 0x21 || *s > 0x7e)
			return false;
	return true;
}

int disk_parse_spec(struct disk_config *dc, const char *spec, char *err, size_t errlen)
{
	struct disk_config n = { 0 };
	char *buf, *save = NULL;
	int ret = 0;

	if (strlen(spec) > DISK_MAX_SPEC)
		return bad(err, errlen, "option too long:", "...");
	buf = strdup(spec);
	if (!buf) {
		snprintf(err, errlen, "disk: out of memory");
		return -EINVAL;
	}
	for (char *kv = strtok_r(buf, ",", &save); kv && ret == 0;
	     kv = strtok_r(NULL, ",", &save)) {
		char *val = strchr(kv, '=');

		if (val)
			*val++ = '\0';
		if (strcmp(kv, "path") == 0 && val && *val && strlen(val) <= CONFIG_MAX_PATH) {
			free(n.path);
			n.path = strdup(val);
			if (!n.path)
				ret = bad(err, errlen, "out of memory at", kv);
		} else if (strcmp(kv, "ro") == 0 && !val) {
			n.readonly = true;
		} else if (strcmp(kv, "serial") == 0 && val) {
			if (!serial_ok(val))
				ret = bad(err, errlen, "serial must be 1-20 printable characters, not",
					  val);
			else
				snprintf(n.serial, sizeof(n.serial), "%s", val);
		} else if (val) {
			int r = ratelimit_parse_opt(&n.rl, kv, val);

			if (r == 0)
				ret = bad(err, errlen, "unknown key", kv);
			else if (r < 0)
				ret = bad(err, errlen, "bad value for", kv);
		} else {
			ret = bad(err, errlen, "unknown option", kv);
		}
	}
	if (ret == 0 && !n.path)
		ret = bad(err, errlen, "no path=FILE in", spec);
	free(buf);
	if (ret < 0) {
		free(n.path);
		return ret;
	}
	*dc = n;
	return 0;
}

void disk_config_free(struct disk_config *dc)
{
	free(dc->path);
	memset(dc, 0, sizeof(*dc));
}

int disk_open(struct disk_image *img, const char *path, bool ro, char *err, size_t errlen)
{
	struct stat st;
	int fd, ret;

	memset(img, 0, sizeof(*img));
	img->fd = -1;
	fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "disk %s: %s", path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		ret = S_ISREG(st.st_mode) ? -errno : -EINVAL;
		snprintf(err, errlen, "disk %s: not a regular file (raw images only)", path);
		goto out_close;
	}
	/* Two writers of one image corrupt it; readers may share. */
	if (flock(fd, (ro ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		ret = -errno;
		snprintf(err, errlen, "disk %s: in use by another process (%s)", path,
			 strerror(errno));
		goto out_close;
	}
	img->fd = fd;
	img->size = (uint64_t)st.st_size;
	img->sectors = img->size / DISK_SECTOR;
	img->readonly = ro;
	/* Probe past the end of the file, where a hole changes nothing. */
	img->can_punch = !ro && fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					  (off_t)img->size, 4096) == 0;
	return 0;

out_close:
	close(fd);
	return ret;
}

void disk_close(struct disk_image *img)
{
	if (img->fd >= 0)
		close(img->fd);
	img->fd = -1;
}

int disk_io(struct disk_image *img, struct iovec *iov, int cnt, uint64_t off, bool write)
{
	if (write && img->readonly)
		return -EROFS;
	while (cnt > 0) {
		ssize_t n = write ? pwritev(img->fd, iov, cnt, (off_t)off)
				  : preadv(img->fd, iov, cnt, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		/* Someone truncated the image under us. */
		if (n == 0)
			return -EIO;
		off += (uint64_t)n;
		while (cnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

int disk_flush(struct disk_image *img)
{
	if (img->readonly)
		return 0;
	return fdatasync(img->fd) < 0 ? -errno : 0;
}

int disk_discard(struct disk_image *img, uint64_t off, uint64_t len, bool zero)
{
	int mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;

	if (img->readonly)
		return -EROFS;
	if (!img->can_punch)
		return -EOPNOTSUPP;
	if (len == 0)
		return 0;
	if (zero && fallocate(img->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off,
			      (off_t)len) == 0)
		return 0;
	/* Without ZERO_RANGE (tmpfs), a punched hole reads as zeroes too. */
	return fallocate(img->fd, mode, (off_t)off, (off_t)len) < 0 ? -errno : 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Disk options (--disk path=FILE,ro,serial=S,iops=N,...) and the raw image back-end that
 * virtio-blk runs on: open and lock the file, size it, vectored I/O, flush, discard.
 */
#ifndef BULWARK_VMM_DISK_H
#define BULWARK_VMM_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "ratelimit.h"

#define DISK_MAX 8 /* --disk options per VM */
#define DISK_SERIAL_MAX 20 /* VIRTIO_BLK_ID_BYTES (virtio 1.2, 5.2.6) */
#define DISK_SECTOR 512ULL

struct disk_config {
	char *path;
	bool readonly;
	char serial[DISK_SERIAL_MAX + 1]; /* printable ASCII; empty: no serial */
	struct ratelimit_config rl;
};

struct disk_image {
	int fd;
	uint64_t size; /* bytes, at open */
	uint64_t sectors; /* size / 512: a partial last sector is not exposed */
	bool readonly;
	bool can_punch; /* fallocate(PUNCH_HOLE) works on this file system */
};

/*
 * Parses one --disk value "path=FILE[,ro][,serial=S][,iops=N][,bw=SIZE][,iops-burst=N]
 * [,bw-burst=SIZE][,refill=MS]" into dc (which it owns afterwards; free with
 * disk_config_free). Returns 0, or -EINVAL with one line in err and dc untouched.
 */
int disk_parse_spec(struct disk_config *dc, const char *spec, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Frees what dc owns; dc may be zeroed or already freed. */
void disk_config_free(struct disk_config *dc);

/*
 * Opens the regular file at path (read-only when ro) and takes an advisory lock on it
 * (shared for read-only, exclusive otherwise) so two VMMs cannot write one image. Returns
 * 0 or -errno with one line in err; on error nothing is left open.
 */
int disk_open(struct disk_image *img, const char *path, bool ro, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Closes the image (and drops its lock). Safe on a closed image (fd < 0). */
void disk_close(struct disk_image *img);

/*
 * Reads or writes all of iov[0..cnt) at byte offset off, resuming after short
 * transfers; iov is consumed (modified). Returns 0, -EIO past the end of the file,
 * -EROFS for a write to a read-only image, or -errno.
 */
int disk_io(struct disk_image *img, struct iovec *iov, int cnt, uint64_t off, bool write)
	__attribute__((warn_unused_result));

/* Makes written data durable (fdatasync). Returns 0 or -errno. */
int disk_flush(struct disk_image *img) __attribute__((warn_unused_result));

/*
 * Deallocates [off, off+len) (discard) or makes it read as zeroes (zero). Returns 0,
 * -EROFS, -EOPNOTSUPP when the file system cannot, or -errno. The file size never changes.
 */
int disk_discard(struct disk_image *img, uint64_t off, uint64_t len, bool zero)
	__attribute__((warn_unused_result));

#endif

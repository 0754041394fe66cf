/* SPDX-License-Identifier: Apache-2.0 */
/* Small helpers shared by every bulwark program: sizes, bounded file reads, clocks. */
#ifndef BULWARK_UTIL_H
#define BULWARK_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define MUST_CHECK __attribute__((warn_unused_result))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))

#define KiB (1024ULL)
#define MiB (1024ULL * KiB)
#define GiB (1024ULL * MiB)

/*
 * Parses "512M", "2G", "65536", "4096K" (binary units, case-insensitive,
 * optional trailing "iB"/"B") into bytes. Returns 0 and sets *out, or -EINVAL
 * for malformed text and -ERANGE on overflow; *out is untouched on error.
 */
int util_parse_size(const char *s, uint64_t *out) MUST_CHECK;

/*
 * Parses a decimal unsigned integer in [min, max]. Returns 0 or -EINVAL/-ERANGE;
 * *out is untouched on error.
 */
int util_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out) MUST_CHECK;

/*
 * Reads a whole regular file of at most max_len bytes into a new malloc'd
 * buffer (the caller frees it). Returns 0, or -errno (-EFBIG when larger than
 * max_len, -EINVAL when not a regular file); on error *buf is untouched.
 */
int util_read_file(const char *path, size_t max_len, uint8_t **buf, size_t *len) MUST_CHECK;

/*
 * Reads exactly len bytes at offset off (pread, retried on EINTR and short
 * reads). Returns 0, -EIO if the file ends first, or -errno.
 */
int util_pread_full(int fd, void *buf, size_t len, uint64_t off) MUST_CHECK;

/*
 * Opens a regular file read-only (O_CLOEXEC) and returns its fd and size.
 * Returns the fd, or -errno (-EINVAL when not a regular file).
 */
int util_open_regular(const char *path, uint64_t *size) MUST_CHECK;

/*
 * Formats one line into err (errlen bytes, always terminated) and returns ret:
 * `return util_fail(-EINVAL, err, errlen, "bad %s", what);`.
 */
int util_fail(int ret, char *err, size_t errlen, const char *fmt, ...) PRINTF_LIKE(4, 5);

/* The value of one hexadecimal digit (either case), or -1. */
int util_hexval(char c);

/* Monotonic clock in nanoseconds. */
uint64_t util_now_ns(void);

#endif

// SPDX-License-Identifier: Apache-2.0
/* A tiny AML byte-code and resource-descriptor emitter (ACPI 6.5 chapters 6.4 and 20). */
#include "aml.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* AML opcodes, ACPI 6.5 section 20.2.5. */
#define AML_ZERO_OP 0x00
#define AML_ONE_OP 0x01
#define AML_NAME_OP 0x08
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_STRING_PREFIX 0x0d
#define AML_QWORD_PREFIX 0x0e
#define AML_SCOPE_OP 0x10
#define AML_BUFFER_OP 0x11
#define AML_PACKAGE_OP 0x12
#define AML_METHOD_OP 0x14
#define AML_ARG0_OP 0x68 /* Arg0Op .. Arg6Op are 0x68 .. 0x6e */
#define AML_NOTIFY_OP 0x86
#define AML_LEQUAL_OP 0x93
#define AML_IF_OP 0xa0
#define AML_EXT_PREFIX 0x5b
#define AML_DEVICE_OP 0x82 /* after AML_EXT_PREFIX */
#define AML_ROOT_CHAR '\\'
#define AML_DUAL_NAME_PREFIX 0x2e
#define AML_MULTI_NAME_PREFIX 0x2f

/* The PkgLength field is at most 4 bytes: a lead byte and three more (20.2.4). */
#define AML_PKGLEN_MAX_BYTES 4

#define AML_METHOD_MAX_ARGS 7 /* MethodFlags bits 2:0 (20.2.5.2) */
#define AML_MAX_ARG 6 /* Arg0 .. Arg6 */

/* Resource descriptor tags, ACPI 6.5 sections 6.4.2 and 6.4.3. */
#define RES_IRQ_NOFLAGS 0x22 /* small item 0x04, length 2 */
#define RES_IO 0x47 /* small item 0x08, length 7 */
#define RES_END_TAG 0x79 /* small item 0x0f, length 1 */
#define RES_DWORD_ADDR 0x87
#define RES_WORD_ADDR 0x88
#define RES_EXT_IRQ 0x89
#define RES_DWORD_ADDR_LEN 23 /* bytes after the 3-byte large header */
#define RES_WORD_ADDR_LEN 13
#define RES_EXT_IRQ_LEN 6 /* flags, table length, one interrupt; no resource source */
#define RES_IRQ_CONSUMER (1u << 0)

/* Address space descriptor fields (6.4.3.5, table 6.47). */
#define RES_TYPE_MEM 0
#define RES_TYPE_IO 1
#define RES_TYPE_BUS 2
/* General flags: _MAF | _MIF, positive decode, producer (bit 0 clear). */
#define RES_GFLAGS_PRODUCER_FIXED 0x0c
#define RES_IO_ENTIRE_RANGE 0x03 /* _RNG: both ISA and non-ISA ranges */
#define RES_MEM_RW_UNCACHED 0x01 /* _RW = read/write, _MEM = non-cacheable */

void aml_init(struct aml *a, uint8_t *buf, size_t cap)
{
	memset(a, 0, sizeof(*a));
	a->buf = buf;
	a->cap = cap;
}

int aml_finish(const struct aml *a)
{
	if (a->err)
		return a->err;
	return a->depth ? -EINVAL : 0;
}

static void aml_fail(struct aml *a, int err)
{
	if (!a->err)
		a->err = err;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->err)
		return;
	if (n > a->cap - a->len) {
		aml_fail(a, -ENOSPC);
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

static void aml_le(struct aml *a, uint64_t v, unsigned int n)
{
	uint8_t b[8];

	for (unsigned int i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	aml_bytes(a, b, n);
}

/* NameSeg: a lead char A-Z or '_', then A-Z, 0-9 or '_' (20.2.2). */
static int aml_nameseg(const char *s, size_t n, uint8_t seg[4])
{
	if (n == 0 || n > 4)
		return -EINVAL;
	for (size_t i = 0; i < 4; i++) {
		char c = i < n ? s[i] : '_';
		bool ok = (c >= 'A' && c <= 'Z') || c == '_' || (i > 0 && c >= '0' && c <= '9');

		if (!ok)
			return -EINVAL;
		seg[i] = (uint8_t)c;
	}
	return 0;
}

void aml_namestring(struct aml *a, const char *path)
{
	uint8_t segs[AML_MAX_DEPTH][4];
	unsigned int nsegs = 0;
	const char *p = path;

	if (*p == AML_ROOT_CHAR) {
		aml_byte(a, AML_ROOT_CHAR);
		p++;
	}
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);

		if (nsegs == AML_MAX_DEPTH || aml_nameseg(p, n, segs[nsegs])) {
			aml_fail(a, -EINVAL);
			return;
		}
		nsegs++;
		p += n;
		if (*p == '.')
			p++;
	}
	if (nsegs == 0) {
		aml_byte(a, 0x00); /* NullName */
		return;
	}
	if (nsegs == 2) {
		aml_byte(a, AML_DUAL_NAME_PREFIX);
	} else if (nsegs > 2) {
		aml_byte(a, AML_MULTI_NAME_PREFIX);
		aml_byte(a, (uint8_t)nsegs);
	}
	aml_bytes(a, segs, 4 * nsegs);
}

void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0) {
		aml_byte(a, AML_ZERO_OP);
	} else if (v == 1) {
		aml_byte(a, AML_ONE_OP);
	} else if (v <= UINT8_MAX) {
		aml_byte(a, AML_BYTE_PREFIX);
		aml_le(a, v, 1);
	} else if (v <= UINT16_MAX) {
		aml_byte(a, AML_WORD_PREFIX);
		aml_le(a, v, 2);
	} else if (v <= UINT32_MAX) {
		aml_byte(a, AML_DWORD_PREFIX);
		aml_le(a, v, 4);
	} else {
		aml_byte(a, AML_QWORD_PREFIX);
		aml_le(a, v, 8);
	}
}

static int aml_hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void aml_eisaid(struct aml *a, const char *id)
{
	uint8_t b[4];
	int h[4];

	/* Three letters as 5-bit values, then four hex digits, stored big-endian (6.1.5). */
	if (strlen(id) != 7) {
		aml_fail(a, -EINVAL);
		return;
	}
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z') {
			aml_fail(a, -EINVAL);
			return;
		}
	}
	for (int i = 0; i < 4; i++) {
		h[i] = aml_hexdigit(id[3 + i]);
		if (h[i] < 0) {
			aml_fail(a, -EINVAL);
			return;
		}
	}
	b[0] = (uint8_t)(((id[0] - 0x40) << 2) | ((id[1] - 0x40) >> 3));
	b[1] = (uint8_t)(((id[1] - 0x40) << 5) | (id[2] - 0x40));
	b[2] = (uint8_t)((h[0] << 4) | h[1]);
	b[3] = (uint8_t)((h[2] << 4) | h[3]);
	aml_byte(a, AML_DWORD_PREFIX);
	aml_bytes(a, b, sizeof(b));
}

void aml_string(struct aml *a, const char *s)
{
	/* AsciiCharList: 0x01-0x7f, then NullChar (20.2.3); we also refuse control bytes. */
	for (const char *p = s; *p; p++) {
		if (*p < 0x20 || *p > 0x7e) {
			aml_fail(a, -EINVAL);
			return;
		}
	}
	aml_byte(a, AML_STRING_PREFIX);
	aml_bytes(a, s, strlen(s) + 1);
}

void aml_name(struct aml *a, const char *path)
{
	aml_byte(a, AML_NAME_OP);
	aml_namestring(a, path);
}

/* Reserves the largest PkgLength; aml_end() shrinks it to the encoding needed. */
static void aml_open(struct aml *a)
{
	static const uint8_t zero[AML_PKGLEN_MAX_BYTES];

	if (a->err)
		return;
	if (a->depth == AML_MAX_DEPTH) {
		aml_fail(a, -EINVAL);
		return;
	}
	a->open[a->depth++] = a->len;
	aml_bytes(a, zero, sizeof(zero));
}

void aml_end(struct aml *a)
{
	size_t start, body;
	unsigned int n;

	if (a->err)
		return;
	if (a->depth == 0) {
		aml_fail(a, -EINVAL);
		return;
	}
	start = a->open[--a->depth];
	body = a->len - start - AML_PKGLEN_MAX_BYTES;
	/*
	 * PkgLength counts itself (20.2.4): one byte holds up to 63; otherwise
	 * bits 7:6 of the lead byte give the number of following bytes, its
	 * bits 3:0 the low nibble, and each following byte 8 more bits.
	 */
	if (body + 1 <= 0x3f)
		n = 1;
	else if (body + 2 <= 0xfff)
		n = 2;
	else if (body + 3 <= 0xfffff)
		n = 3;
	else if (body + 4 <= 0xfffffff)
		n = 4;
	else {
		aml_fail(a, -E2BIG);
		return;
	}
	size_t total = body + n;
	uint8_t *p = a->buf + start;

	memmove(p + n, p + AML_PKGLEN_MAX_BYTES, body);
	if (n == 1) {
		p[0] = (uint8_t)total;
	} else {
		p[0] = (uint8_t)(((n - 1) << 6) | (total & 0x0f));
		for (unsigned int i = 1; i < n; i++)
			p[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	a->len -= AML_PKGLEN_MAX_BYTES - n;
}

void aml_scope(struct aml *a, const char *path)
{
	aml_byte(a, AML_SCOPE_OP);
	aml_open(a);
	aml_namestring(a, path);
}

void aml_device(struct aml *a, const char *path)
{
	aml_byte(a, AML_EXT_PREFIX);
	aml_byte(a, AML_DEVICE_OP);
	aml_open(a);
	aml_namestring(a, path);
}

void aml_package(struct aml *a, uint8_t nelems)
{
	aml_byte(a, AML_PACKAGE_OP);
	aml_open(a);
	aml_byte(a, nelems);
}

void aml_method(struct aml *a, const char *path, unsigned int nargs)
{
	if (nargs > AML_METHOD_MAX_ARGS) {
		aml_fail(a, -EINVAL);
		return;
	}
	aml_byte(a, AML_METHOD_OP);
	aml_open(a);
	aml_namestring(a, path);
	/* MethodFlags: ArgCount in bits 2:0; NotSerialized, SyncLevel 0 (20.2.5.2). */
	aml_byte(a, (uint8_t)nargs);
}

void aml_if(struct aml *a)
{
	aml_byte(a, AML_IF_OP);
	aml_open(a);
}

void aml_lequal(struct aml *a)
{
	aml_byte(a, AML_LEQUAL_OP);
}

void aml_arg(struct aml *a, unsigned int n)
{
	if (n > AML_MAX_ARG) {
		aml_fail(a, -EINVAL);
		return;
	}
	aml_byte(a, (uint8_t)(AML_ARG0_OP + n));
}

void aml_notify(struct aml *a, const char *target, uint8_t value)
{
	aml_byte(a, AML_NOTIFY_OP);
	aml_namestring(a, target);
	aml_integer(a, value);
}

void aml_buffer(struct aml *a, const void *data, size_t n)
{
	aml_byte(a, AML_BUFFER_OP);
	aml_open(a);
	aml_integer(a, n);
	aml_bytes(a, data, n);
	aml_end(a);
}

void aml_res_io(struct aml *a, uint16_t base, uint8_t len)
{
	/* 16-bit decode, fixed base: minimum == maximum, alignment 1 (6.4.2.5). */
	aml_byte(a, RES_IO);
	aml_byte(a, 0x01);
	aml_le(a, base, 2);
	aml_le(a, base, 2);
	aml_byte(a, 0x01);
	aml_byte(a, len);
}

void aml_res_irq(struct aml *a, uint16_t irq_mask)
{
	/* No flags byte: edge triggered, active high, exclusive (6.4.2.1). */
	aml_byte(a, RES_IRQ_NOFLAGS);
	aml_le(a, irq_mask, 2);
}

void aml_res_interrupt(struct aml *a, uint32_t gsi, unsigned int flags)
{
	if (flags & ~(AML_IRQ_EDGE | AML_IRQ_ACTIVE_LOW | AML_IRQ_SHARED)) {
		aml_fail(a, -EINVAL);
		return;
	}
	aml_byte(a, RES_EXT_IRQ);
	aml_le(a, RES_EXT_IRQ_LEN, 2);
	/* Flag bits 1-3 are _HE, _LL, _SHR (6.4.3.6); bit 0 set: a consumer. */
	aml_byte(a, (uint8_t)(RES_IRQ_CONSUMER | flags));
	aml_byte(a, 1); /* interrupt table length */
	aml_le(a, gsi, 4);
}

/* Word Address Space Descriptor (6.4.3.5.3), a fixed window the bridge produces. */
static void aml_res_word(struct aml *a, uint8_t type, uint8_t tflags, uint16_t min,
			 uint16_t max)
{
	aml_byte(a, RES_WORD_ADDR);
	aml_le(a, RES_WORD_ADDR_LEN, 2);
	aml_byte(a, type);
	aml_byte(a, RES_GFLAGS_PRODUCER_FIXED);
	aml_byte(a, tflags);
	aml_le(a, 0, 2); /* granularity: 0 for a fixed window */
	aml_le(a, min, 2);
	aml_le(a, max, 2);
	aml_le(a, 0, 2); /* translation offset */
	aml_le(a, (uint32_t)max - min + 1, 2);
}

void aml_res_bus_window(struct aml *a, uint16_t min, uint16_t max)
{
	aml_res_word(a, RES_TYPE_BUS, 0, min, max);
}

void aml_res_io_window(struct aml *a, uint16_t min, uint16_t max)
{
	aml_res_word(a, RES_TYPE_IO, RES_IO_ENTIRE_RANGE, min, max);
}

void aml_res_mem32_window(struct aml *a, uint32_t min, uint32_t max)
{
	/* DWord Address Space Descriptor (6.4.3.5.2). */
	aml_byte(a, RES_DWORD_ADDR);
	aml_le(a, RES_DWORD_ADDR_LEN, 2);
	aml_byte(a, RES_TYPE_MEM);
	aml_byte(a, RES_GFLAGS_PRODUCER_FIXED);
	aml_byte(a, RES_MEM_RW_UNCACHED);
	aml_le(a, 0, 4);
	aml_le(a, min, 4);
	aml_le(a, max, 4);
	aml_le(a, 0, 4);
	aml_le(a, (uint64_t)max - min + 1, 4);
}

void aml_res_end(struct aml *a)
{
	/* A zero checksum means "treat as valid" (6.4.2.9). */
	aml_byte(a, RES_END_TAG);
	aml_byte(a, 0x00);
}

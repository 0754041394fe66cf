/* SPDX-License-Identifier: Apache-2.0 */
/* A tiny AML byte-code and resource-descriptor emitter: just what the DSDT needs. */
#ifndef BULWARK_VMM_AML_H
#define BULWARK_VMM_AML_H

#include <stddef.h>
#include <stdint.h>

#define AML_MAX_DEPTH 8

/*
 * An output stream over a caller-owned buffer. The first failure (buffer too
 * small, nesting too deep, bad name) is latched in err; later calls do nothing,
 * so a builder can emit everything and check once with aml_finish().
 */
struct aml {
	uint8_t *buf;
	size_t cap;
	size_t len;
	int err;
	unsigned int depth;
	size_t open[AML_MAX_DEPTH]; /* offset of each open object's PkgLength */
};

/* Starts an empty stream over buf[0..cap). */
void aml_init(struct aml *a, uint8_t *buf, size_t cap);

/* Returns 0 if every call succeeded and every object was closed, else the first -errno. */
int aml_finish(const struct aml *a) __attribute__((warn_unused_result));

/* Raw bytes (opcodes, resource descriptors). */
void aml_byte(struct aml *a, uint8_t b);
void aml_bytes(struct aml *a, const void *p, size_t n);

/*
 * A NameString: an optional leading '\', then 4-character segments separated
 * by '.', e.g. "\\_SB_.PCI0" or "_HID" (ACPI 6.5 section 20.2.2). Segments
 * shorter than 4 characters are padded with '_'. Sets -EINVAL on a bad name.
 */
void aml_namestring(struct aml *a, const char *path);

/* An Integer in its shortest encoding: ZeroOp, OneOp, Byte/Word/DWord/QWordConst. */
void aml_integer(struct aml *a, uint64_t v);

/* A compressed EISA id ("PNP0A03") as a DWordConst, like ASL's EisaId(). */
void aml_eisaid(struct aml *a, const char *id);

/* A String: printable ASCII only (20.2.3); sets -EINVAL on any other byte. */
void aml_string(struct aml *a, const char *s);

/* Name (path, <next object>): emits NameOp and the name; the caller emits the value. */
void aml_name(struct aml *a, const char *path);

/* Scope / Device / Package: open an object with a PkgLength, closed by aml_end(). */
void aml_scope(struct aml *a, const char *path);
void aml_device(struct aml *a, const char *path);
void aml_package(struct aml *a, uint8_t nelems);
void aml_end(struct aml *a);

/* A Buffer object holding n bytes (e.g. a finished resource template). */
void aml_buffer(struct aml *a, const void *data, size_t n);

/*
 * Control methods (20.2.5.2, 20.2.5.3). aml_method() opens Method (path, nargs,
 * NotSerialized); aml_if() opens If, whose predicate the caller emits first, then the
 * body; both are closed by aml_end(). nargs above 7 sets -EINVAL.
 */
void aml_method(struct aml *a, const char *path, unsigned int nargs);
void aml_if(struct aml *a);

/* LEqual (lhs, rhs): emits the operator; the caller emits the two operands. */
void aml_lequal(struct aml *a);

/* ArgN, the method's Nth argument (20.2.6.1); n above 6 sets -EINVAL. */
void aml_arg(struct aml *a, unsigned int n);

/* Notify (target, value): target is a NameString as for aml_namestring() (5.6.6). */
void aml_notify(struct aml *a, const char *target, uint8_t value);

/*
 * Resource descriptors (ACPI 6.5 section 6.4), appended to a stream that is
 * later wrapped with aml_buffer(). aml_res_end() appends the End Tag.
 */
void aml_res_io(struct aml *a, uint16_t base, uint8_t len);
void aml_res_irq(struct aml *a, uint16_t irq_mask);

/* Flags of aml_res_interrupt(); 0 is level-triggered, active-high, exclusive. */
#define AML_IRQ_EDGE (1u << 1)
#define AML_IRQ_ACTIVE_LOW (1u << 2)
#define AML_IRQ_SHARED (1u << 3)

/*
 * An Extended Interrupt Descriptor (6.4.3.6) for one interrupt that the device
 * consumes: on x86 the number is a GSI. flags: the AML_IRQ_* above; others set -EINVAL.
 */
void aml_res_interrupt(struct aml *a, uint32_t gsi, unsigned int flags);
void aml_res_bus_window(struct aml *a, uint16_t min, uint16_t max);
void aml_res_io_window(struct aml *a, uint16_t min, uint16_t max);
void aml_res_mem32_window(struct aml *a, uint32_t min, uint32_t max);
void aml_res_end(struct aml *a);

#endif

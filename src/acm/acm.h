/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The access control module (ACM): an sHype-style reference monitor. Pure library:
 * bytes in, decisions out; no I/O, no hidden global state. See docs/acm.md.
 */
#ifndef BULWARK_ACM_H
#define BULWARK_ACM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACM_MUST_CHECK __attribute__((warn_unused_result))

#define ACM_NAME_MAX 63            /* identifiers: [A-Za-z_][A-Za-z0-9_]{0,62} */
#define ACM_MAX_TYPES 1024         /* STE types, and separately CW types */
#define ACM_MAX_LABELS 4096
#define ACM_MAX_RULES 65536
#define ACM_MAX_ROLES 256
#define ACM_MAX_IMAGES 64          /* image rules per label */
#define ACM_MAX_IDS 64             /* uids or gids per role */
#define ACM_POLICY_MAX (4u << 20)  /* largest compiled policy, bytes */
#define ACM_BUNDLE_MAX (ACM_POLICY_MAX + 4096)
#define ACM_MAX_SIGS 8
#define ACM_MAX_KEYS 16
#define ACM_DOMID_MAX 32767        /* domain ids are 0..ACM_DOMID_MAX */
#define ACM_HASH_LEN 32            /* SHA-256 */
#define ACM_KEY_LEN 32             /* Ed25519 public or private (seed) key */
#define ACM_SIG_LEN 64
#define ACM_NO_RULE (-1)

/* A message for the user: one line, what was wrong and where (file:line:col). */
struct acm_error {
	char msg[320];
};

/* Domain-to-domain operations: each is decided separately (read != write). */
enum acm_op {
	ACM_OP_EVTCHN_BIND,
	ACM_OP_GRANT_MAP_READ,
	ACM_OP_GRANT_MAP_WRITE,
	ACM_OP_GRANT_COPY,
	ACM_OP_VSOCK_CONNECT,      /* request port = destination vsock port */
	ACM_OP_BLOCK_SHARE,
	ACM_OP_INTROSPECT,
	ACM_OP_MANAGE,             /* pause, destroy, console, save, migrate */
	ACM_OP_COUNT
};

/* What administrators (identified by SO_PEERCRED uid/gids) may do to a label. */
enum acm_admin_op {
	ACM_ADMIN_CREATE,
	ACM_ADMIN_MANAGE,
	ACM_ADMIN_INTROSPECT,
	ACM_ADMIN_LOAD_POLICY,     /* may submit policy bundles; not tied to a label */
	ACM_ADMIN_COUNT
};

enum acm_image_kind {
	ACM_IMAGE_KERNEL,
	ACM_IMAGE_INITRD,
	ACM_IMAGE_KIND_COUNT
};

/* Why a decision came out the way it did. */
enum acm_reason {
	ACM_R_RULE,            /* allowed by rule d.rule */
	ACM_R_NO_POLICY,       /* nothing loaded: default deny */
	ACM_R_NO_SUBJECT,      /* subject domain not known to the monitor */
	ACM_R_NO_OBJECT,       /* object domain not known to the monitor */
	ACM_R_NO_SHARED_TYPE,  /* the labels share no STE type */
	ACM_R_DEFAULT_DENY,    /* no rule allows it */
	ACM_R_COUNT
};

struct acm_request {
	uint32_t subject;      /* domain id */
	uint32_t object;       /* domain id */
	enum acm_op op;
	uint32_t port;         /* ACM_OP_VSOCK_CONNECT only, else ignored */
};

struct acm_decision {
	bool allow;
	bool audit;            /* an allow rule marked "audit", or any deny */
	bool cached;
	enum acm_reason reason;
	int32_t rule;          /* canonical rule index, or ACM_NO_RULE */
	uint32_t subject_label, object_label;  /* label indices, UINT32_MAX if none */
	uint64_t policy_version;
	uint64_t policy_gen;   /* which installed policy decided (for acm_audit_record) */
};

struct acm_limits {
	uint32_t vcpus;        /* max vCPUs */
	uint64_t memory;       /* max guest memory, bytes */
	uint32_t cpu_pct;      /* max CPU share of the host, percent, < 100 */
	uint64_t io_read;      /* max bytes per second */
	uint64_t io_write;
};

struct acm_trust {
	uint8_t keys[ACM_MAX_KEYS][ACM_KEY_LEN];  /* pinned Ed25519 public keys */
	unsigned int n_keys;
	unsigned int threshold;                   /* valid signatures needed, >= 1 */
};

struct acm_bundle_info {
	uint64_t version;
	uint8_t prev_hash[ACM_HASH_LEN];          /* hash of the policy it replaces; zero if first */
	uint8_t hash[ACM_HASH_LEN];               /* SHA-256 of the compiled policy it carries */
	unsigned int n_sigs, n_trusted;           /* signatures present / valid by trusted keys */
};

struct acm_stats {
	uint64_t decisions, hits, misses, allows, denies;
	uint64_t flushes, purges, audit_emitted, audit_dropped;
	uint64_t loads, loads_refused;
};

/* An existing channel or mapping, given to a dry run. */
struct acm_binding {
	uint32_t subject, object;
	enum acm_op op;
	uint32_t port;
};

enum acm_violation_kind {
	ACM_V_BINDING,         /* binding[index] would be denied */
	ACM_V_LABEL_GONE,      /* running domain's label is not in the new policy */
	ACM_V_WALL,            /* running domain conflicts under the new Chinese Wall */
};

struct acm_violation {
	enum acm_violation_kind kind;
	size_t index;          /* binding index (ACM_V_BINDING) */
	uint32_t domid;        /* domain concerned */
	char reason[160];
};

/* Start transaction for a domain (create, restore, migrate-in). */
struct acm_txn {
	uint32_t domid;
	uint32_t label;
	uint64_t seq;
	bool open;
};

struct acm_policy;
struct acm;

/* ---- names ---- */

/* Returns the policy-language name of an operation, or "?" when out of range. */
const char *acm_op_name(enum acm_op op);
/* Parses an operation name; returns 0 and sets *op, or -EINVAL. */
int acm_op_from_name(const char *name, enum acm_op *op) ACM_MUST_CHECK;
/* Returns the name of an admin operation, or "?". */
const char *acm_admin_op_name(enum acm_admin_op op);
/* Returns a short description of a decision reason, or "?". */
const char *acm_reason_name(enum acm_reason r);

/* ---- policies: parse, compile, inspect (policy.c, parse.c, encode.c, print.c) ---- */

/*
 * Parses policy text (len bytes, need not be NUL-terminated); fname is used only in
 * messages. Returns a new policy (caller frees with acm_policy_free), or NULL with
 * err->msg = "fname:line:col: what was wrong".
 */
struct acm_policy *acm_policy_parse(const char *fname, const char *text, size_t len,
				    struct acm_error *err) ACM_MUST_CHECK;

/*
 * Decodes a compiled policy. Every field is validated and the encoding must be
 * canonical (so decode then encode gives back the same bytes). Returns a new policy
 * or NULL with err set; buf is not retained.
 */
struct acm_policy *acm_policy_decode(const uint8_t *buf, size_t len,
				     struct acm_error *err) ACM_MUST_CHECK;

/*
 * Encodes pol in the canonical binary form into a new malloc'd buffer (caller frees).
 * Returns 0, or -ENOMEM / -EFBIG (over ACM_POLICY_MAX); *out is untouched on error.
 */
int acm_policy_encode(const struct acm_policy *pol, uint8_t **out, size_t *len) ACM_MUST_CHECK;

/* SHA-256 of the canonical encoding. Returns 0 or -errno. */
int acm_policy_hash(const struct acm_policy *pol, uint8_t out[ACM_HASH_LEN]) ACM_MUST_CHECK;

/* Frees a policy; NULL is fine. */
void acm_policy_free(struct acm_policy *pol);

/*
 * Writes the canonical text form of pol (what `bulwark-policy show` prints) into a new
 * malloc'd NUL-terminated string. Returns NULL on allocation failure.
 */
char *acm_policy_print(const struct acm_policy *pol) ACM_MUST_CHECK;

/*
 * Lint: calls warn(ctx, msg) once per finding (unreachable rule, unused type, label
 * that can never launch, ...). Returns the number of findings.
 */
unsigned int acm_policy_lint(const struct acm_policy *pol,
			     void (*warn)(void *ctx, const char *msg), void *ctx);

const char *acm_policy_name(const struct acm_policy *pol);
uint32_t acm_policy_label_count(const struct acm_policy *pol);
/* Label name by index, or NULL when out of range. */
const char *acm_policy_label_name(const struct acm_policy *pol, uint32_t label);
/* Label index by name; returns 0 and sets *label, or -ENOENT. */
int acm_policy_label_find(const struct acm_policy *pol, const char *name,
			  uint32_t *label) ACM_MUST_CHECK;
uint32_t acm_policy_rule_count(const struct acm_policy *pol);
/* Writes "allow a -> b : op ports" for rule index into buf; returns 0 or -ERANGE/-ENOSPC. */
int acm_policy_rule_text(const struct acm_policy *pol, uint32_t rule, char *buf,
			 size_t len) ACM_MUST_CHECK;
/* Source line of a rule (0 when the policy was decoded from binary). */
uint32_t acm_policy_rule_line(const struct acm_policy *pol, uint32_t rule);

struct acm_rule_info {
	const char *subject_type, *object_type;   /* owned by the policy */
	enum acm_op op;
	uint32_t port_lo, port_hi;
	bool audit;
	uint32_t line;
};
/* Describes rule index; returns 0 or -ERANGE. */
int acm_policy_rule_get(const struct acm_policy *pol, uint32_t rule,
			struct acm_rule_info *out) ACM_MUST_CHECK;

uint32_t acm_policy_role_count(const struct acm_policy *pol);
/*
 * Members of role index: pointers into the policy (valid until it is freed). Returns 0
 * or -ERANGE.
 */
int acm_policy_role_members(const struct acm_policy *pol, uint32_t role, const uint32_t **uids,
			    uint32_t *n_uids, const uint32_t **gids, uint32_t *n_gids) ACM_MUST_CHECK;

/* True if domains of the two labels may not run at the same time (Chinese Wall). */
bool acm_policy_labels_conflict(const struct acm_policy *pol, uint32_t a, uint32_t b);

/* ---- decisions on a policy alone (decide.c): no domains, no cache ---- */

/*
 * Decides op (with port for vsock) from subject label to object label. Never fails:
 * out-of-range labels or ops are denied.
 */
void acm_policy_decide(const struct acm_policy *pol, uint32_t subj_label, uint32_t obj_label,
		       enum acm_op op, uint32_t port, struct acm_decision *d);

/*
 * Writes the chain of reasoning for that decision as text lines into buf. Returns the
 * length written, or -ENOSPC when buf is too small (buf then holds a truncated text).
 */
int acm_policy_explain(const struct acm_policy *pol, uint32_t subj_label, uint32_t obj_label,
		       enum acm_op op, uint32_t port, char *buf, size_t len);

/*
 * May an administrator with this uid and these groups do op to label? Default deny;
 * uid 0 has no special standing. On allow, *role (if not NULL) is the deciding role.
 */
bool acm_policy_admin_allowed(const struct acm_policy *pol, uint32_t uid, const uint32_t *gids,
			      size_t n_gids, enum acm_admin_op op, uint32_t label,
			      uint32_t *role);

/*
 * May this administrator submit a new policy bundle? Ask before reading the bundle, so an
 * unauthorised caller never reaches the parser. Default deny.
 */
bool acm_policy_may_load(const struct acm_policy *pol, uint32_t uid, const uint32_t *gids,
			 size_t n_gids);

/* Resource caps of a label; returns 0 or -ENOENT. */
int acm_policy_limits(const struct acm_policy *pol, uint32_t label,
		      struct acm_limits *out) ACM_MUST_CHECK;

/*
 * Checks a requested domain size against the label's caps. Returns 0 if within them,
 * -EPERM (with err saying which cap) if not, -ENOENT for an unknown label.
 */
int acm_policy_check_resources(const struct acm_policy *pol, uint32_t label,
			       const struct acm_limits *req, struct acm_error *err) ACM_MUST_CHECK;

/*
 * May an image with this SHA-256 digest boot as kind under label? Allowed when the
 * digest is listed for that kind, or sig (may be NULL) is a valid Ed25519 signature by a
 * signer key listed for the label over acm_image_message(kind, digest).
 * Returns 0 if allowed, -EPERM if not (err says why), -ENOENT for an unknown label.
 */
int acm_policy_check_image(const struct acm_policy *pol, uint32_t label, enum acm_image_kind kind,
			   const uint8_t digest[ACM_HASH_LEN], const uint8_t *sig,
			   struct acm_error *err) ACM_MUST_CHECK;

/* The 48-byte message an image signer signs: "bulwark-image-v1" || kind byte pad || digest. */
#define ACM_IMAGE_MSG_LEN 48
void acm_image_message(enum acm_image_kind kind, const uint8_t digest[ACM_HASH_LEN],
		       uint8_t msg[ACM_IMAGE_MSG_LEN]);

/* ---- bundles (bundle.c): signed, versioned, chained ---- */

/*
 * Builds an unsigned bundle around a compiled policy. prev_hash may be NULL (first
 * policy: all zero). Returns 0 and a new malloc'd buffer, or -errno.
 */
int acm_bundle_build(const uint8_t *policy, size_t policy_len, uint64_t version,
		     const uint8_t *prev_hash, uint8_t **out, size_t *out_len) ACM_MUST_CHECK;

/*
 * Appends an Ed25519 signature by priv (32-byte seed) to a bundle; *buf is realloc'd.
 * Returns 0, -EINVAL for a malformed bundle, -EEXIST if that key already signed,
 * -E2BIG beyond ACM_MAX_SIGS; on error the bundle is unchanged.
 */
int acm_bundle_sign(uint8_t **buf, size_t *len, const uint8_t priv[ACM_KEY_LEN]) ACM_MUST_CHECK;

/*
 * Verifies a bundle before anything in its payload is parsed: size, magic and format,
 * signatures (at least trust->threshold valid ones by distinct pinned keys, none bad),
 * then version > min_version and, when expected_prev is not NULL, the predecessor hash.
 * On success returns 0, fills info and points *payload into buf. On failure returns
 * -EINVAL (malformed), -E2BIG (oversize), -EKEYREJECTED (signature), -ESTALE (version),
 * -EXDEV (predecessor) with err saying why.
 */
int acm_bundle_verify(const struct acm_trust *trust, const uint8_t *buf, size_t len,
		      uint64_t min_version, const uint8_t *expected_prev,
		      struct acm_bundle_info *info, const uint8_t **payload, size_t *payload_len,
		      struct acm_error *err) ACM_MUST_CHECK;

/* Reads the header of a bundle without verifying it (for `show`). Returns 0 or -EINVAL. */
int acm_bundle_peek(const uint8_t *buf, size_t len, struct acm_bundle_info *info,
		    const uint8_t **payload, size_t *payload_len) ACM_MUST_CHECK;

/* Derives the public key of a private seed. Returns 0 or -EINVAL. */
int acm_key_public(const uint8_t priv[ACM_KEY_LEN], uint8_t pub[ACM_KEY_LEN]) ACM_MUST_CHECK;

/* Fills a new private seed from the OS random source. Returns 0 or -EIO. */
int acm_key_generate(uint8_t priv[ACM_KEY_LEN]) ACM_MUST_CHECK;

/* ---- the reference monitor (monitor.c, cache.c, audit.c) ---- */

/*
 * Creates a monitor with no policy (everything denied), cache_slots decision-cache
 * entries (rounded up to a power of two, 0 for the default 4096) and the given trust
 * anchors (copied). Returns NULL on allocation failure or a trust set without keys.
 */
struct acm *acm_new(const struct acm_trust *trust, unsigned int cache_slots) ACM_MUST_CHECK;

/* Frees the monitor and its policy; NULL is fine. */
void acm_free(struct acm *a);

/* Sets the rollback floor: bundles must have a version above it (persisted by the caller). */
void acm_set_version_floor(struct acm *a, uint64_t version);

/* Current policy version (0 if none) and hash; returns false if no policy is loaded. */
bool acm_current(struct acm *a, uint64_t *version, uint8_t hash[ACM_HASH_LEN]);

/*
 * Verifies a bundle against the pinned keys, the version floor and the current policy's
 * hash, then decodes it. Nothing is installed. On success *pol is a new policy for
 * acm_dry_run / acm_commit. On failure returns -errno (see acm_bundle_verify, plus
 * -EINVAL for a payload that does not decode) with err set; state is unchanged.
 */
int acm_bundle_open(struct acm *a, const uint8_t *buf, size_t len, struct acm_policy **pol,
		    struct acm_bundle_info *info, struct acm_error *err) ACM_MUST_CHECK;

/*
 * Lists what installing pol would break: each binding (subject/object domain, op) the new
 * policy denies, each live domain whose label it lacks, each live domain that would sit
 * in a Chinese Wall conflict. Writes at most max entries to out and the total count
 * to *n. Returns 0 or -EINVAL. Changes nothing.
 */
int acm_dry_run(struct acm *a, const struct acm_policy *pol, const struct acm_binding *b,
		size_t n_b, struct acm_violation *out, size_t max, size_t *n) ACM_MUST_CHECK;

/*
 * Installs pol atomically: rechecks info's version and predecessor against the current
 * state, remaps live domains by label name and flushes the cache, all under one lock.
 * Refuses (-EBUSY) if a live domain's label is missing or would conflict, -ESTALE /
 * -EXDEV if another load won the race. Takes ownership of pol only on success.
 */
int acm_commit(struct acm *a, struct acm_policy *pol, const struct acm_bundle_info *info,
	       struct acm_error *err) ACM_MUST_CHECK;

/* acm_bundle_open + acm_commit. On error nothing changes and err says why. */
int acm_load_bundle(struct acm *a, const uint8_t *buf, size_t len,
		    struct acm_error *err) ACM_MUST_CHECK;

/*
 * Begins starting domid under label (create, restore or migrate-in): checks the label
 * exists and the Chinese Wall, and reserves the label's CW types so concurrent starts
 * see each other. Returns 0 with *txn open, or -ENOENT (label), -EEXIST (domid live),
 * -EPERM (wall conflict, err names the running domain), -ERANGE (domid), -ENOPKG
 * (no policy). On error nothing is reserved.
 */
int acm_domain_start_prepare(struct acm *a, uint32_t domid, const char *label,
			     struct acm_txn *txn, struct acm_error *err) ACM_MUST_CHECK;
/* Marks the prepared domain running. Returns 0 or -EINVAL for a txn that is not open. */
int acm_domain_start_commit(struct acm *a, struct acm_txn *txn) ACM_MUST_CHECK;
/* Rolls back a prepared start: releases the reservation. Closed txns are ignored. */
void acm_domain_start_abort(struct acm *a, struct acm_txn *txn);
/*
 * Forgets a running domain: releases its CW types and purges cache entries that no
 * live domain can use any more. Returns 0 or -ENOENT.
 */
int acm_domain_stop(struct acm *a, uint32_t domid) ACM_MUST_CHECK;
/* Label index of a live domain; returns 0 or -ENOENT. */
int acm_domain_label(struct acm *a, uint32_t domid, uint32_t *label) ACM_MUST_CHECK;

/*
 * The reference-monitor decision: default deny, cached. Returns 0 with d filled (allow
 * or deny) or -EINVAL for a malformed request (then d says deny).
 */
int acm_decide(struct acm *a, const struct acm_request *rq, struct acm_decision *d);

/* Explains rq against the current policy and live domains; see acm_policy_explain. */
int acm_explain(struct acm *a, const struct acm_request *rq, char *buf, size_t len);

/* Administrator check against the current policy (false when none is loaded). */
bool acm_admin_allowed(struct acm *a, uint32_t uid, const uint32_t *gids, size_t n_gids,
		       enum acm_admin_op op, const char *label);

/*
 * acm_policy_may_load against the current policy. False when none is loaded: the first
 * policy's submitter is decided by bulwarkd's own configuration.
 */
bool acm_admin_may_load(struct acm *a, uint32_t uid, const uint32_t *gids, size_t n_gids);

/* Copies the counters. */
void acm_stats(struct acm *a, struct acm_stats *out);

/* Drops every cached decision (a policy change does this itself). */
void acm_cache_flush(struct acm *a);

/*
 * Audit rate limit: at most burst records per (subject, object, op) per window_ns.
 * Defaults: 5 per second.
 */
void acm_audit_config(struct acm *a, unsigned int burst, uint64_t window_ns);

/*
 * Formats the audit record for a decision as one JSON line (no newline) into buf.
 * Returns its length; 0 when nothing is due (an allow without "audit") or the record is
 * rate-limited (counted as dropped; the next record for that key reports the count);
 * -ENOSPC when buf is too small (the record is then not counted as emitted).
 * now_ns is the wall-clock time to stamp, supplied by the caller.
 */
int acm_audit_record(struct acm *a, const struct acm_request *rq, const struct acm_decision *d,
		     uint64_t now_ns, char *buf, size_t len);

#endif

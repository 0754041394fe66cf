/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private structures of the ACM, shared by its source files only. Callers see
 * struct acm_policy and struct acm as opaque (acm.h).
 */
#ifndef BULWARK_ACM_INTERNAL_H
#define BULWARK_ACM_INTERNAL_H

#include "acm.h"

#include <pthread.h>
#include <stdarg.h>

#define ACM_SET_WORDS (ACM_MAX_TYPES / 64)
#define ACM_ANY_LABEL UINT32_MAX
#define ACM_PORT_MAX UINT32_MAX

/* A set of type indices; small policies touch only the first words. */
struct acm_set {
	uint64_t w[ACM_SET_WORDS];
};

enum acm_image_match {
	ACM_IMG_SHA256,        /* data = digest */
	ACM_IMG_ED25519,       /* data = signer public key */
};

struct acm_image {
	uint8_t kind;          /* enum acm_image_kind */
	uint8_t match;         /* enum acm_image_match */
	uint8_t data[32];
};

struct acm_label {
	char name[ACM_NAME_MAX + 1];
	uint32_t n_ste, n_cw;
	uint32_t *ste;         /* sorted type indices */
	uint32_t *cw;
	struct acm_set ste_set, cw_set;
	struct acm_set cw_conflicts;   /* CW types that may not run beside this label */
	struct acm_limits limits;
	uint32_t n_images;
	struct acm_image *images;      /* sorted, distinct */
	uint32_t line;
};

struct acm_conflict {
	char name[ACM_NAME_MAX + 1];
	uint32_t n;
	uint32_t *types;       /* sorted CW type indices */
	uint32_t line;
};

struct acm_rule {
	uint32_t subj_type, obj_type;
	uint8_t op;
	uint8_t audit;
	uint32_t port_lo, port_hi;     /* vsock only; 0..UINT32_MAX otherwise */
	uint32_t line, col;            /* source position, 0 if decoded */
};

struct acm_grant {
	uint8_t op;                    /* enum acm_admin_op */
	uint32_t label;                /* label index or ACM_ANY_LABEL */
};

struct acm_role {
	char name[ACM_NAME_MAX + 1];
	uint32_t n_uids, n_gids, n_grants;
	uint32_t *uids, *gids;         /* sorted, distinct */
	struct acm_grant *grants;      /* sorted, distinct */
	uint32_t line;
};

struct acm_policy {
	char name[ACM_NAME_MAX + 1];
	uint32_t host_cpus;
	uint64_t host_memory;
	uint32_t n_ste, n_cw, n_conflicts, n_labels, n_rules, n_roles;
	char (*ste)[ACM_NAME_MAX + 1];   /* sorted names */
	char (*cw)[ACM_NAME_MAX + 1];
	struct acm_conflict *conflicts;  /* sorted by name */
	struct acm_label *labels;        /* sorted by name */
	struct acm_rule *rules;          /* canonical order, distinct */
	struct acm_role *roles;          /* sorted by name */
	/* derived: rule indices per op, in canonical order */
	uint32_t *by_op[ACM_OP_COUNT];
	uint32_t n_by_op[ACM_OP_COUNT];
};

static inline bool acm_set_has(const struct acm_set *s, uint32_t i)
{
	return (s->w[i / 64] >> (i % 64)) & 1;
}

static inline void acm_set_add(struct acm_set *s, uint32_t i)
{
	s->w[i / 64] |= 1ULL << (i % 64);
}

static inline bool acm_set_meets(const struct acm_set *a, const struct acm_set *b)
{
	for (unsigned int i = 0; i < ACM_SET_WORDS; i++)
		if (a->w[i] & b->w[i])
			return true;
	return false;
}

/* Formats err->msg (err may be NULL). */
void acm_errf(struct acm_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Formats "fname:line:col: msg" (or "fname: msg" when line is 0). */
void acm_errat(struct acm_error *err, const char *fname, uint32_t line, uint32_t col,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* True if s is a policy identifier: [A-Za-z_][A-Za-z0-9_]*, at most ACM_NAME_MAX long. */
bool acm_name_valid(const char *s);

/*
 * Sorts, deduplicates and derives (sets, indices, conflicts) a policy built by the
 * parser, then validates it. Returns 0 or -EINVAL with err set (semantic error).
 */
int acm_policy_finish(struct acm_policy *pol, const char *fname, struct acm_error *err);
/* Validates a policy whose arrays are already canonical and derives its indices. */
int acm_policy_derive(struct acm_policy *pol, const char *fname, struct acm_error *err);
/* Compares two rules in canonical order (op, subject type, object type, ports, audit). */
int acm_rule_cmp(const void *a, const void *b);

/* Ed25519 verify of msg with a raw public key (bundle.c). */
bool acm_ed25519_verify(const uint8_t pub[ACM_KEY_LEN], const uint8_t *msg, size_t len,
			const uint8_t sig[ACM_SIG_LEN]);
int acm_sha256(const uint8_t *buf, size_t len, uint8_t out[ACM_HASH_LEN]);

/* Decision cache (cache.c): direct-mapped, generation-tagged. */
struct acm_cache_entry {
	uint64_t key;          /* subj label << 40 | obj label << 24 ... see cache.c */
	uint32_t port;
	uint32_t gen;          /* low 32 bits of the monitor's generation; 0 = empty */
	int32_t rule;
	uint8_t allow, audit, reason;
};

struct acm_cache {
	struct acm_cache_entry *slots;
	uint32_t mask;
};

/* Allocates slots entries (power of two, default 4096, at most 2^20). 0 or -ENOMEM. */
int acm_cache_init(struct acm_cache *c, unsigned int slots);
void acm_cache_destroy(struct acm_cache *c);
/* On a hit for generation gen, fills d (allow, reason, rule, labels) and returns true. */
bool acm_cache_get(const struct acm_cache *c, uint32_t gen, uint32_t sl, uint32_t ol,
		   enum acm_op op, uint32_t port, struct acm_decision *d);
/* Stores d for the key, evicting whatever held its slot. */
void acm_cache_put(struct acm_cache *c, uint32_t gen, uint32_t sl, uint32_t ol, enum acm_op op,
		   uint32_t port, const struct acm_decision *d);
/* Drops entries whose subject or object label is label; returns how many. */
unsigned int acm_cache_purge_label(struct acm_cache *c, uint32_t label);
/* Empties every slot. */
void acm_cache_clear(struct acm_cache *c);

/* Audit rate limiter (audit.c). */
struct acm_rl_slot {
	uint32_t subject, object;
	uint8_t op, used;
	uint32_t count;        /* records in the current window */
	uint64_t window_start;
	uint64_t dropped;      /* since the last emitted record for this key */
};

#define ACM_RL_SLOTS 1024
struct acm_ratelimit {
	struct acm_rl_slot slots[ACM_RL_SLOTS];
	unsigned int burst;
	uint64_t window_ns;
};

enum acm_dom_state { ACM_DOM_FREE, ACM_DOM_PENDING, ACM_DOM_RUNNING };

struct acm_dom {
	uint32_t label;
	uint8_t state;
	uint64_t seq;          /* start transaction that created it */
};

struct acm {
	pthread_mutex_t lock;
	struct acm_policy *pol;
	uint64_t version, floor;
	uint8_t hash[ACM_HASH_LEN];
	uint64_t gen;                  /* bumped on every install */
	uint64_t seq;
	struct acm_trust trust;
	struct acm_dom *doms;          /* [ACM_DOMID_MAX + 1] */
	uint32_t *cw_count;            /* per CW type: live domains holding it */
	uint32_t *label_live;          /* per label: live domains */
	struct acm_cache cache;
	struct acm_ratelimit rl;
	struct acm_stats st;
};

/* Audit limiter entry point, under a->lock: true if a record may be emitted now. */
bool acm_rl_admit(struct acm_ratelimit *rl, uint32_t subject, uint32_t object, uint8_t op,
		  uint64_t now, uint64_t *dropped);

/* ---- the policy text lexer (lex.c), used by the parser (parse.c) ---- */

enum acm_tok_type { ACM_T_EOF, ACM_T_IDENT, ACM_T_NUM, ACM_T_STR, ACM_T_PUNCT };

#define ACM_TOK_MAX 127

struct acm_tok {
	enum acm_tok_type type;
	char s[ACM_TOK_MAX + 1];
	uint32_t line, col;
};

struct acm_parser {
	const char *fname;
	const char *p, *end;
	uint32_t line, col;
	struct acm_tok t;
	struct acm_policy *pol;
	struct acm_error *err;
	uint32_t cap_ste, cap_cw, cap_conflicts, cap_labels, cap_rules, cap_roles;
	bool have_host;
};

#define ACM_PFAIL(ps, tk, ...)                                                          \
	do {                                                                       \
		acm_errat((ps)->err, (ps)->fname, (tk)->line, (tk)->col, __VA_ARGS__); \
		return -EINVAL;                                                    \
	} while (0)

/* Reads the next token into ps->t. Returns 0 or -EINVAL with ps->err set. */
int acm_lex(struct acm_parser *ps);
/* How a token reads in a message ("end of file", "a string", or its text). */
const char *acm_tok_describe(const struct acm_tok *t);
/* Is the token this punctuation / this bare word? */
bool acm_tok_punct(const struct acm_tok *t, const char *s);
bool acm_tok_word(const struct acm_tok *t, const char *s);
/* Consumes punctuation punct or fails with "expected 'punct' after". Returns 0/-EINVAL. */
int acm_expect(struct acm_parser *ps, const char *punct, const char *after);
/* Consume a name (into out, ACM_NAME_MAX + 1 bytes), a number, or a size; 0/-EINVAL. */
int acm_take_name(struct acm_parser *ps, const char *what, char *out, struct acm_tok *where);
int acm_take_uint(struct acm_parser *ps, const char *what, uint64_t max, uint64_t *out);
int acm_take_size(struct acm_parser *ps, const char *what, uint64_t *out);

#endif

// SPDX-License-Identifier: Apache-2.0
/*
 * Signed policy bundles: header (magic, format, version, predecessor hash), compiled
 * policy, Ed25519 signatures. Verification never looks inside the payload.
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

static const uint8_t bdl_magic[8] = { 'B', 'W', 'P', 'O', 'L', 'B', 'D', 'L' };
#define BDL_FORMAT 1
#define BDL_HDR 56             /* magic 8, format 2, reserved 2, len 4, version 8, prev 32 */
#define BDL_SIG (ACM_KEY_LEN + ACM_SIG_LEN)
/* Domain separation: a bundle signature can never be confused with an image one. */
static const char bdl_context[] = "bulwark-policy-bundle-v1";

struct layout {
	uint32_t payload_len, n_sigs;
	uint64_t version;
	const uint8_t *prev, *payload, *sigs;
};

int acm_sha256(const uint8_t *buf, size_t len, uint8_t out[ACM_HASH_LEN])
{
	unsigned int n = 0;

	if (EVP_Digest(buf, len, out, &n, EVP_sha256(), NULL) != 1 || n != ACM_HASH_LEN)
		return -EIO;
	return 0;
}

bool acm_ed25519_verify(const uint8_t pub[ACM_KEY_LEN], const uint8_t *msg, size_t len,
			const uint8_t sig[ACM_SIG_LEN])
{
	EVP_PKEY *key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, ACM_KEY_LEN);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = false;

	if (key && ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1)
		ok = EVP_DigestVerify(ctx, sig, ACM_SIG_LEN, msg, len) == 1;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(key);
	return ok;
}

static int ed25519_sign(const uint8_t priv[ACM_KEY_LEN], const uint8_t *msg, size_t len,
			uint8_t sig[ACM_SIG_LEN])
{
	EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, priv, ACM_KEY_LEN);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t n = ACM_SIG_LEN;
	int ret = -EINVAL;

	if (key && ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1 &&
	    EVP_DigestSign(ctx, sig, &n, msg, len) == 1 && n == ACM_SIG_LEN)
		ret = 0;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(key);
	return ret;
}

int acm_key_public(const uint8_t priv[ACM_KEY_LEN], uint8_t pub[ACM_KEY_LEN])
{
	EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, priv, ACM_KEY_LEN);
	size_t n = ACM_KEY_LEN;
	int ret = -EINVAL;

	if (key && EVP_PKEY_get_raw_public_key(key, pub, &n) == 1 && n == ACM_KEY_LEN)
		ret = 0;
	EVP_PKEY_free(key);
	return ret;
}

int acm_key_generate(uint8_t priv[ACM_KEY_LEN])
{
	return RAND_priv_bytes(priv, ACM_KEY_LEN) == 1 ? 0 : -EIO;
}

void acm_image_message(enum acm_image_kind kind, const uint8_t digest[ACM_HASH_LEN],
		       uint8_t msg[ACM_IMAGE_MSG_LEN])
{
	memset(msg, 0, ACM_IMAGE_MSG_LEN);
	memcpy(msg, "bulwark-image-v1", 16);
	msg[15] = (uint8_t)('0' + (unsigned int)kind);
	memcpy(msg + 16, digest, ACM_HASH_LEN);
}

static uint32_t rd32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Checks the framing (sizes, magic, format) and locates the parts. */
static int split(const uint8_t *buf, size_t len, struct layout *l, struct acm_error *err)
{
	size_t need;

	if (len > ACM_BUNDLE_MAX) {
		acm_errf(err, "bundle refused: %zu bytes is over the %u-byte limit", len,
			 ACM_BUNDLE_MAX);
		return -E2BIG;
	}
	if (len < BDL_HDR + 4) {
		acm_errf(err, "bundle refused: truncated (%zu bytes, header needs %d)", len,
			 BDL_HDR + 4);
		return -EINVAL;
	}
	if (memcmp(buf, bdl_magic, sizeof(bdl_magic))) {
		acm_errf(err, "bundle refused: bad magic (not a bulwark policy bundle)");
		return -EINVAL;
	}
	if ((buf[8] | buf[9] << 8) != BDL_FORMAT || buf[10] || buf[11]) {
		acm_errf(err, "bundle refused: format %u is not supported (this build reads 1)",
			 buf[8] | buf[9] << 8);
		return -EINVAL;
	}
	l->payload_len = rd32(buf + 12);
	l->version = rd32(buf + 16) | (uint64_t)rd32(buf + 20) << 32;
	l->prev = buf + 24;
	l->payload = buf + BDL_HDR;
	if (l->payload_len > ACM_POLICY_MAX || (size_t)BDL_HDR + l->payload_len + 4 > len) {
		acm_errf(err, "bundle refused: truncated (payload length %u, bundle %zu bytes)",
			 l->payload_len, len);
		return -EINVAL;
	}
	l->n_sigs = rd32(buf + BDL_HDR + l->payload_len);
	l->sigs = buf + BDL_HDR + l->payload_len + 4;
	if (l->n_sigs > ACM_MAX_SIGS) {
		acm_errf(err, "bundle refused: %u signatures (at most %d)", l->n_sigs, ACM_MAX_SIGS);
		return -EINVAL;
	}
	need = (size_t)BDL_HDR + l->payload_len + 4 + (size_t)l->n_sigs * BDL_SIG;
	if (need != len) {
		acm_errf(err, "bundle refused: %s (%zu bytes, expected %zu)",
			 len < need ? "truncated" : "trailing bytes", len, need);
		return -EINVAL;
	}
	return 0;
}

/* The signed message: context string, then SHA-256 of header and payload. */
static int signed_msg(const uint8_t *buf, const struct layout *l, uint8_t *msg, size_t *n)
{
	memcpy(msg, bdl_context, sizeof(bdl_context));
	*n = sizeof(bdl_context) + ACM_HASH_LEN;
	return acm_sha256(buf, BDL_HDR + (size_t)l->payload_len, msg + sizeof(bdl_context));
}

int acm_bundle_build(const uint8_t *policy, size_t policy_len, uint64_t version,
		     const uint8_t *prev_hash, uint8_t **out, size_t *out_len)
{
	size_t len = BDL_HDR + policy_len + 4;
	uint8_t *b;

	if (policy_len > ACM_POLICY_MAX)
		return -EFBIG;
	if (version == 0)
		return -EINVAL;
	b = calloc(1, len);
	if (!b)
		return -ENOMEM;
	memcpy(b, bdl_magic, sizeof(bdl_magic));
	b[8] = BDL_FORMAT;
	wr32(b + 12, (uint32_t)policy_len);
	wr32(b + 16, (uint32_t)version);
	wr32(b + 20, (uint32_t)(version >> 32));
	if (prev_hash)
		memcpy(b + 24, prev_hash, ACM_HASH_LEN);
	if (policy_len)
		memcpy(b + BDL_HDR, policy, policy_len);
	*out = b;
	*out_len = len;
	return 0;
}

int acm_bundle_sign(uint8_t **buf, size_t *len, const uint8_t priv[ACM_KEY_LEN])
{
	uint8_t pub[ACM_KEY_LEN], msg[sizeof(bdl_context) + ACM_HASH_LEN], sig[ACM_SIG_LEN];
	struct layout l;
	size_t mlen;
	uint8_t *nb;
	int ret = split(*buf, *len, &l, NULL);

	if (ret)
		return -EINVAL;
	if (l.n_sigs >= ACM_MAX_SIGS)
		return -E2BIG;
	ret = acm_key_public(priv, pub);
	if (ret)
		return ret;
	for (uint32_t i = 0; i < l.n_sigs; i++)
		if (!memcmp(l.sigs + i * BDL_SIG, pub, ACM_KEY_LEN))
			return -EEXIST;
	ret = signed_msg(*buf, &l, msg, &mlen);
	ret = ret ?: ed25519_sign(priv, msg, mlen, sig);
	if (ret)
		return ret;
	nb = realloc(*buf, *len + BDL_SIG);
	if (!nb)
		return -ENOMEM;
	memcpy(nb + *len, pub, ACM_KEY_LEN);
	memcpy(nb + *len + ACM_KEY_LEN, sig, ACM_SIG_LEN);
	wr32(nb + BDL_HDR + l.payload_len, l.n_sigs + 1);
	*buf = nb;
	*len += BDL_SIG;
	return 0;
}

int acm_bundle_peek(const uint8_t *buf, size_t len, struct acm_bundle_info *info,
		    const uint8_t **payload, size_t *payload_len)
{
	struct layout l;

	if (split(buf, len, &l, NULL))
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	info->version = l.version;
	memcpy(info->prev_hash, l.prev, ACM_HASH_LEN);
	info->n_sigs = l.n_sigs;
	*payload = l.payload;
	*payload_len = l.payload_len;
	return acm_sha256(l.payload, l.payload_len, info->hash);
}

static bool pinned(const struct acm_trust *t, const uint8_t *pub)
{
	for (unsigned int i = 0; i < t->n_keys && i < ACM_MAX_KEYS; i++)
		if (!memcmp(t->keys[i], pub, ACM_KEY_LEN))
			return true;
	return false;
}

static void hex8(const uint8_t *p, char out[17])
{
	for (int i = 0; i < 8; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

static int check_sigs(const struct acm_trust *t, const uint8_t *buf, const struct layout *l,
		      struct acm_bundle_info *info, struct acm_error *err)
{
	uint8_t msg[sizeof(bdl_context) + ACM_HASH_LEN];
	char id[17] = "";
	size_t mlen;
	int ret = signed_msg(buf, l, msg, &mlen);

	if (ret)
		return ret;
	if (l->n_sigs == 0) {
		acm_errf(err, "bundle refused: not signed");
		return -EKEYREJECTED;
	}
	for (uint32_t i = 0; i < l->n_sigs; i++) {
		const uint8_t *pub = l->sigs + i * BDL_SIG;

		for (uint32_t j = 0; j < i; j++) {
			if (!memcmp(l->sigs + j * BDL_SIG, pub, ACM_KEY_LEN)) {
				acm_errf(err, "bundle refused: key signed twice");
				return -EINVAL;
			}
		}
		if (!pinned(t, pub)) {
			hex8(pub, id);
			continue;
		}
		if (!acm_ed25519_verify(pub, msg, mlen, pub + ACM_KEY_LEN)) {
			hex8(pub, id);
			acm_errf(err, "bundle refused: bad signature by pinned key %s... (tampered?)",
				 id);
			return -EKEYREJECTED;
		}
		info->n_trusted++;
	}
	if (info->n_trusted == 0) {
		acm_errf(err, "bundle refused: no signature by a pinned key (signed by untrusted "
			      "key %s...)", id);
		return -EKEYREJECTED;
	}
	if (info->n_trusted < (t->threshold ? t->threshold : 1)) {
		acm_errf(err, "bundle refused: %u valid signature(s) by pinned keys, %u needed",
			 info->n_trusted, t->threshold);
		return -EKEYREJECTED;
	}
	return 0;
}

int acm_bundle_verify(const struct acm_trust *trust, const uint8_t *buf, size_t len,
		      uint64_t min_version, const uint8_t *expected_prev,
		      struct acm_bundle_info *info, const uint8_t **payload, size_t *payload_len,
		      struct acm_error *err)
{
	struct acm_bundle_info tmp = { 0 };
	struct layout l;
	int ret = split(buf, len, &l, err);

	if (ret)
		return ret;
	tmp.version = l.version;
	tmp.n_sigs = l.n_sigs;
	memcpy(tmp.prev_hash, l.prev, ACM_HASH_LEN);
	ret = check_sigs(trust, buf, &l, &tmp, err);
	if (ret)
		return ret;
	if (l.version <= min_version) {
		acm_errf(err, "bundle refused: version %llu is not newer than %llu (rollback)",
			 (unsigned long long)l.version, (unsigned long long)min_version);
		return -ESTALE;
	}
	if (expected_prev && memcmp(expected_prev, l.prev, ACM_HASH_LEN)) {
		char want[17], got[17];

		hex8(expected_prev, want);
		hex8(l.prev, got);
		acm_errf(err, "bundle refused: it replaces policy %s..., but the current policy "
			      "is %s...", got, want);
		return -EXDEV;
	}
	ret = acm_sha256(l.payload, l.payload_len, tmp.hash);
	if (ret)
		return ret;
	*info = tmp;
	*payload = l.payload;
	*payload_len = l.payload_len;
	return 0;
}

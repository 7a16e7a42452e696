/*
 * codec.h - hashes and text encodings used by BigchainDB: SHA3-256 (FIPS
 * 202, OpenSSL EVP with a fetched method and reusable contexts), SHA-256,
 * base58 with the Bitcoin alphabet, base64url without padding, and Ed25519
 * keys and signatures through libsodium.
 *
 * Decoders are strict: base58 rejects characters outside the alphabet and
 * any input that does not re-encode to the same text (non-canonical);
 * base64url rejects padding, other alphabets and non-zero trailing bits.
 *
 * Not here: JSON, conditions, transactions.
 */
#ifndef LTD_CODEC_H
#define LTD_CODEC_H

#include "err.h"
#include "ltd.h"

/* Must be called once before any hash or signature function (calls
 * sodium_init and fetches the SHA3 method).  Safe to call repeatedly and
 * from several threads. */
void codec_init(void);

/* SHA3-256 (padding 0x06, not Keccak). */
void codec_sha3_256(struct ltd_hash *out, const void *p, size_t n);
/* Incremental SHA3-256: ctx is opaque and thread-local reuse is allowed. */
struct codec_sha3;
struct codec_sha3 *codec_sha3_new(void);
void codec_sha3_free(struct codec_sha3 *h);
void codec_sha3_begin(struct codec_sha3 *h);
void codec_sha3_update(struct codec_sha3 *h, const void *p, size_t n);
void codec_sha3_end(struct codec_sha3 *h, struct ltd_hash *out);

/* SHA-256 (crypto-condition fingerprints). */
void codec_sha256(struct ltd_hash *out, const void *p, size_t n);

/* Base58 (Bitcoin alphabet).  encode appends to out.  decode writes at most
 * outcap bytes, sets *outlen; LTD_E_BASE58 for a bad character or too long,
 * LTD_E_BASE58_NONCANON when the text is not the canonical encoding. */
void codec_b58_encode(const uint8_t *in, size_t n, struct buf *out);
LTD_MUST_CHECK enum ltd_err codec_b58_decode(const char *in, size_t inlen, uint8_t *out,
                                             size_t outcap, size_t *outlen);
/* Exactly 32 bytes, as BigchainDB public keys and seeds are encoded (fast
 * path, no allocation).  LTD_E_BASE58 for a character outside the alphabet,
 * LTD_E_BASE58_NONCANON for a 32-byte value written with surplus leading
 * '1's, LTD_E_KEY for any other length.  out is zeroed on failure. */
LTD_MUST_CHECK enum ltd_err codec_b58_decode32(const char *in, size_t inlen, uint8_t out[32]);
/* Writes the base58 text of a 32-byte value into out (room for 45 bytes + NUL). */
void codec_b58_encode32(const uint8_t in[32], char out[48]);

/* Base64url without padding.  decode: LTD_E_BASE64 on any bad input. */
void codec_b64url_encode(const uint8_t *in, size_t n, struct buf *out);
LTD_MUST_CHECK enum ltd_err codec_b64url_decode(const char *in, size_t inlen, uint8_t *out,
                                                size_t outcap, size_t *outlen);
/* Standard base64 with padding (validators endpoint). */
void codec_b64_encode(const uint8_t *in, size_t n, struct buf *out);

/* Ed25519 via libsodium.  The seed is the 32-byte "private key" of the
 * drivers.  codec_ed25519_sign wipes its expanded secret key before
 * returning.  verify returns true only for a valid signature
 * (crypto_sign_ed25519_verify_detached: canonical S, no small-order keys). */
void codec_ed25519_keypair(struct ltd_pubkey *pk, struct ltd_seed *seed); /* random */
void codec_ed25519_seed_pubkey(const struct ltd_seed *seed, struct ltd_pubkey *pk);
void codec_ed25519_sign(const struct ltd_seed *seed, const uint8_t *msg, size_t n,
                        struct ltd_sig *sig);
LTD_MUST_CHECK bool codec_ed25519_verify(const struct ltd_pubkey *pk, const uint8_t *msg, size_t n,
                                         const struct ltd_sig *sig);
/* Random bytes (libsodium). */
void codec_random(void *p, size_t n);
/* Wipes n bytes (sodium_memzero). */
void codec_wipe(void *p, size_t n);

#endif

/*
 * codec.c - hashes, text encodings and Ed25519 (see codec.h).
 *
 * SHA3-256 and SHA-256 come from OpenSSL 3 EVP: the methods are fetched
 * once (pthread_once) and every thread keeps one reusable EVP_MD_CTX per
 * algorithm, freed by a pthread key destructor when the thread exits, so a
 * one-shot hash costs no allocation.  Ed25519 and randomness come from
 * libsodium; the 64-byte expanded secret key exists only on the stack of
 * one call and is wiped before returning.
 *
 * Base58 works on 32-bit limbs in radix 58^5 for the 32-byte fast paths
 * and byte-wise (in the caller's output buffer, no allocation) otherwise.
 * With the Bitcoin convention (each leading '1' <-> one leading zero byte,
 * the rest a number without leading zero digits) decoding is a bijection
 * between alphabet strings and byte strings, so every string that decodes
 * also re-encodes to itself; the only non-canonical form left is a 32-byte
 * key written with surplus leading '1's, which codec_b58_decode32 reports
 * as LTD_E_BASE58_NONCANON.  fuzz_b58 asserts the re-encoding property.
 *
 * Not here: JSON, conditions, transactions, key storage.
 */
#include "codec.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

_Static_assert(sizeof(struct ltd_pubkey) == crypto_sign_ed25519_PUBLICKEYBYTES, "pubkey size");
_Static_assert(sizeof(struct ltd_seed) == crypto_sign_ed25519_SEEDBYTES, "seed size");
_Static_assert(sizeof(struct ltd_sig) == crypto_sign_ed25519_BYTES, "signature size");
_Static_assert(sizeof(struct ltd_hash) == 32, "hash size");

/* ---- initialisation and per-thread digest contexts ---- */

static pthread_once_t codec_once = PTHREAD_ONCE_INIT;
static EVP_MD *codec_md_sha3;   /* fetched once, read-only afterwards */
static EVP_MD *codec_md_sha256; /* fetched once, read-only afterwards */
static pthread_key_t codec_ctx_key;

/* Both contexts of one thread, freed together at thread exit. */
struct codec_tls {
    EVP_MD_CTX *sha3;
    EVP_MD_CTX *sha256;
};
static _Thread_local struct codec_tls *codec_tls;

static void
codec_tls_free(void *p)
{
    struct codec_tls *t = p;
    EVP_MD_CTX_free(t->sha3);
    EVP_MD_CTX_free(t->sha256);
    free(t);
}

static void
codec_init_once(void)
{
    LTD_ASSERT(sodium_init() >= 0);
    codec_md_sha3 = EVP_MD_fetch(NULL, "SHA3-256", NULL);
    codec_md_sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
    LTD_ASSERT(codec_md_sha3 != NULL);
    LTD_ASSERT(codec_md_sha256 != NULL);
    LTD_ASSERT(pthread_key_create(&codec_ctx_key, codec_tls_free) == 0);
}

void
codec_init(void)
{
    LTD_ASSERT(pthread_once(&codec_once, codec_init_once) == 0);
}

static struct codec_tls *
codec_tls_get(void)
{
    if (codec_tls != NULL)
        return codec_tls;
    codec_init();
    struct codec_tls *t = xmalloc(sizeof *t);
    t->sha3 = EVP_MD_CTX_new();
    t->sha256 = EVP_MD_CTX_new();
    LTD_ASSERT(t->sha3 != NULL);
    LTD_ASSERT(t->sha256 != NULL);
    LTD_ASSERT(pthread_setspecific(codec_ctx_key, t) == 0);
    codec_tls = t;
    return t;
}

static void
codec_digest(EVP_MD_CTX *c, const EVP_MD *md, struct ltd_hash *out, const void *p, size_t n)
{
    unsigned int len = 0;
    int ok = EVP_DigestInit_ex2(c, md, NULL);
    ok = ok && EVP_DigestUpdate(c, p, n);
    ok = ok && EVP_DigestFinal_ex(c, out->b, &len);
    LTD_ASSERT(ok);
    LTD_ASSERT(len == sizeof out->b);
}

void
codec_sha3_256(struct ltd_hash *out, const void *p, size_t n)
{
    codec_digest(codec_tls_get()->sha3, codec_md_sha3, out, p, n);
}

void
codec_sha256(struct ltd_hash *out, const void *p, size_t n)
{
    codec_digest(codec_tls_get()->sha256, codec_md_sha256, out, p, n);
}

/* ---- incremental SHA3-256 ---- */

struct codec_sha3 {
    EVP_MD_CTX *ctx; /* owned */
};

struct codec_sha3 *
codec_sha3_new(void)
{
    codec_init();
    struct codec_sha3 *h = xmalloc(sizeof *h);
    h->ctx = EVP_MD_CTX_new();
    LTD_ASSERT(h->ctx != NULL);
    return h;
}

void
codec_sha3_free(struct codec_sha3 *h)
{
    if (h == NULL)
        return;
    EVP_MD_CTX_free(h->ctx);
    free(h);
}

void
codec_sha3_begin(struct codec_sha3 *h)
{
    LTD_ASSERT(EVP_DigestInit_ex2(h->ctx, codec_md_sha3, NULL) == 1);
}

void
codec_sha3_update(struct codec_sha3 *h, const void *p, size_t n)
{
    LTD_ASSERT(EVP_DigestUpdate(h->ctx, p, n) == 1);
}

void
codec_sha3_end(struct codec_sha3 *h, struct ltd_hash *out)
{
    unsigned int len = 0;
    LTD_ASSERT(EVP_DigestFinal_ex(h->ctx, out->b, &len) == 1);
    LTD_ASSERT(len == sizeof out->b);
}

/* ---- base58 ---- */

static const char b58_alphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/* Digit value + 1 of each byte; the zero default means "not in the alphabet". */
static const int8_t b58_digit[256] = {
    ['1'] = 1,  ['2'] = 2,  ['3'] = 3,  ['4'] = 4,  ['5'] = 5,  ['6'] = 6,  ['7'] = 7,  ['8'] = 8,
    ['9'] = 9,  ['A'] = 10, ['B'] = 11, ['C'] = 12, ['D'] = 13, ['E'] = 14, ['F'] = 15, ['G'] = 16,
    ['H'] = 17, ['J'] = 18, ['K'] = 19, ['L'] = 20, ['M'] = 21, ['N'] = 22, ['P'] = 23, ['Q'] = 24,
    ['R'] = 25, ['S'] = 26, ['T'] = 27, ['U'] = 28, ['V'] = 29, ['W'] = 30, ['X'] = 31, ['Y'] = 32,
    ['Z'] = 33, ['a'] = 34, ['b'] = 35, ['c'] = 36, ['d'] = 37, ['e'] = 38, ['f'] = 39, ['g'] = 40,
    ['h'] = 41, ['i'] = 42, ['j'] = 43, ['k'] = 44, ['m'] = 45, ['n'] = 46, ['o'] = 47, ['p'] = 48,
    ['q'] = 49, ['r'] = 50, ['s'] = 51, ['t'] = 52, ['u'] = 53, ['v'] = 54, ['w'] = 55, ['x'] = 56,
    ['y'] = 57, ['z'] = 58,
};

enum {
    b58_pow5 = 58 * 58 * 58 * 58 * 58, /* 656356768: five digits per 32-bit limb step */
    b58_limbs32 = 9,                   /* 36 bytes: room to see a value above 2^256 */
    b58_key_chars_max = 64,            /* no 32-byte key needs more than 44 (+ '1's) */
};

static int
b58_value(char c)
{
    return b58_digit[(unsigned char)c] - 1;
}

/* Base-58 digits of the big-endian number in[0..n), least significant
 * first, into dig[0..cap); returns the number of digits. */
static size_t
b58_digits_of(const uint8_t *in, size_t n, uint8_t *dig, size_t cap)
{
    size_t nd = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned carry = in[i];
        for (size_t j = 0; j < nd; j++) {
            carry += (unsigned)dig[j] << 8;
            dig[j] = (uint8_t)(carry % 58);
            carry /= 58;
        }
        while (carry) {
            LTD_ASSERT(nd < cap);
            dig[nd++] = (uint8_t)(carry % 58);
            carry /= 58;
        }
    }
    return nd;
}

void
codec_b58_encode(const uint8_t *in, size_t n, struct buf *out)
{
    size_t z = 0;
    while (z < n && in[z] == 0)
        z++;
    /* log(256)/log(58) < 1.37: 138/100 digits per byte, plus one. */
    size_t cap = (n - z) * 138 / 100 + 1;
    uint8_t stackdig[128];
    uint8_t *dig = cap <= sizeof stackdig ? stackdig : xmalloc(cap);
    size_t nd = b58_digits_of(in + z, n - z, dig, cap);
    buf_reserve(out, z + nd);
    for (size_t i = 0; i < z; i++)
        out->p[out->len++] = '1';
    for (size_t i = nd; i > 0; i--)
        out->p[out->len++] = b58_alphabet[dig[i - 1]];
    out->p[out->len] = 0;
    sodium_memzero(dig, cap); /* seeds are encoded here too */
    if (dig != stackdig)
        free(dig);
}

void
codec_b58_encode32(const uint8_t in[32], char out[48])
{
    uint32_t limb[8];
    for (size_t i = 0; i < 8; i++)
        limb[i] = (uint32_t)in[4 * i] << 24 | (uint32_t)in[4 * i + 1] << 16 |
                  (uint32_t)in[4 * i + 2] << 8 | in[4 * i + 3];
    char rev[50] = {0}; /* only rev[0..nd) is read; zeroed so tools can see that */
    size_t nd = 0;
    size_t top = 0; /* first non-zero limb */
    while (top < 8 && limb[top] == 0)
        top++;
    while (top < 8) { /* at most 9 rounds: 58^45 > 2^256 */
        uint64_t rem = 0;
        for (size_t i = top; i < 8; i++) {
            uint64_t cur = rem << 32 | limb[i];
            limb[i] = (uint32_t)(cur / b58_pow5);
            rem = cur % b58_pow5;
        }
        for (int k = 0; k < 5; k++) {
            rev[nd++] = b58_alphabet[rem % 58];
            rem /= 58;
        }
        while (top < 8 && limb[top] == 0)
            top++;
    }
    while (nd > 0 && rev[nd - 1] == '1') /* drop leading zero digits */
        nd--;
    size_t z = 0, o = 0;
    while (z < 32 && in[z] == 0)
        z++;
    LTD_ASSERT(z + nd <= 45);
    for (size_t i = 0; i < z; i++)
        out[o++] = '1';
    while (nd > 0)
        out[o++] = rev[--nd];
    out[o] = 0;
    sodium_memzero(rev, sizeof rev); /* seeds are encoded here too */
    sodium_memzero(limb, sizeof limb);
}

enum ltd_err
codec_b58_decode(const char *in, size_t inlen, uint8_t *out, size_t outcap, size_t *outlen)
{
    enum ltd_err rc = LTD_OK;
    size_t z = 0, len = 0;
    *outlen = 0;
    for (size_t i = 0; i < inlen; i++)
        if (b58_value(in[i]) < 0)
            return LTD_E_BASE58;
    while (z < inlen && in[z] == '1')
        z++;
    if (z > outcap)
        return LTD_E_BASE58;
    /* A value of k digits (first one non-zero) needs more than
     * (k-1)*log256(58) > (k-1)*0.732 bytes: refuse early, bounding work. */
    size_t k = inlen - z, room = outcap - z;
    if (k > 0 && (k - 1) / 1000 * 732 + (k - 1) % 1000 * 732 / 1000 + 1 > room)
        return LTD_E_BASE58;
    uint8_t *w = out + z; /* little-endian accumulator, reversed at the end */
    for (size_t i = z; i < inlen; i++) {
        unsigned carry = (unsigned)b58_value(in[i]);
        for (size_t j = 0; j < len; j++) {
            carry += (unsigned)w[j] * 58;
            w[j] = (uint8_t)carry;
            carry >>= 8;
        }
        while (carry) {
            if (len == room) {
                rc = LTD_E_BASE58;
                goto out;
            }
            w[len++] = (uint8_t)carry;
            carry >>= 8;
        }
    }
    for (size_t i = 0; i < len / 2; i++) {
        uint8_t t = w[i];
        w[i] = w[len - 1 - i];
        w[len - 1 - i] = t;
    }
    memset(out, 0, z);
    *outlen = z + len;
out:
    if (rc != LTD_OK)
        memset(out, 0, z + len);
    return rc;
}

/* Value of in[0..n) (digits only, no '1' prefix handling) into 9 big-endian
 * 32-bit limbs; false when it exceeds 288 bits. */
static bool
b58_limbs(const char *in, size_t n, uint32_t limb[b58_limbs32])
{
    memset(limb, 0, b58_limbs32 * sizeof limb[0]);
    size_t i = 0;
    while (i < n) {
        uint64_t mul = 1, add = 0;
        for (int k = 0; k < 5 && i < n; k++, i++) {
            mul *= 58;
            add = add * 58 + (uint64_t)b58_value(in[i]);
        }
        for (size_t j = b58_limbs32; j > 0; j--) {
            uint64_t cur = (uint64_t)limb[j - 1] * mul + add;
            limb[j - 1] = (uint32_t)cur;
            add = cur >> 32;
        }
        if (add != 0)
            return false;
    }
    return true;
}

enum ltd_err
codec_b58_decode32(const char *in, size_t inlen, uint8_t out[32])
{
    uint32_t limb[b58_limbs32];
    uint8_t be[4 * b58_limbs32];
    enum ltd_err rc = LTD_OK;
    memset(out, 0, 32);
    for (size_t i = 0; i < inlen; i++)
        if (b58_value(in[i]) < 0)
            return LTD_E_BASE58;
    if (inlen > b58_key_chars_max)
        return LTD_E_KEY;
    size_t z = 0;
    while (z < inlen && in[z] == '1')
        z++;
    if (!b58_limbs(in + z, inlen - z, limb)) {
        rc = LTD_E_KEY;
        goto out;
    }
    for (size_t i = 0; i < b58_limbs32; i++) {
        be[4 * i] = (uint8_t)(limb[i] >> 24);
        be[4 * i + 1] = (uint8_t)(limb[i] >> 16);
        be[4 * i + 2] = (uint8_t)(limb[i] >> 8);
        be[4 * i + 3] = (uint8_t)limb[i];
    }
    size_t lead = 0; /* value bytes = sizeof be - lead */
    while (lead < sizeof be && be[lead] == 0)
        lead++;
    size_t vlen = sizeof be - lead;
    if (vlen > 32 || z + vlen < 32)
        rc = LTD_E_KEY;
    else if (z + vlen > 32)
        rc = LTD_E_BASE58_NONCANON; /* the 32 bytes with surplus leading '1's */
    else
        memcpy(out + z, be + lead, vlen);
out:
    sodium_memzero(be, sizeof be); /* seeds are decoded here too */
    sodium_memzero(limb, sizeof limb);
    return rc;
}

/* ---- base64 ---- */

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void
b64_encode_with(const char *alpha, bool pad, const uint8_t *in, size_t n, struct buf *out)
{
    buf_reserve(out, (n + 2) / 3 * 4);
    char *o = out->p + out->len;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *o++ = alpha[v >> 18];
        *o++ = alpha[(v >> 12) & 63];
        *o++ = alpha[(v >> 6) & 63];
        *o++ = alpha[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        *o++ = alpha[v >> 18];
        *o++ = alpha[(v >> 12) & 63];
        if (pad)
            *o++ = '=', *o++ = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        *o++ = alpha[v >> 18];
        *o++ = alpha[(v >> 12) & 63];
        *o++ = alpha[(v >> 6) & 63];
        if (pad)
            *o++ = '=';
    }
    out->len = (size_t)(o - out->p);
    out->p[out->len] = 0;
}

void
codec_b64url_encode(const uint8_t *in, size_t n, struct buf *out)
{
    b64_encode_with(b64url_alphabet, false, in, n, out);
}

void
codec_b64_encode(const uint8_t *in, size_t n, struct buf *out)
{
    b64_encode_with(b64_alphabet, true, in, n, out);
}

/* Sextet of each byte in the URL-safe alphabet plus one; 0 = invalid. */
static const uint8_t b64url_value[256] = {
    ['A'] = 1,  ['B'] = 2,  ['C'] = 3,  ['D'] = 4,  ['E'] = 5,  ['F'] = 6,  ['G'] = 7,  ['H'] = 8,
    ['I'] = 9,  ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16,
    ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
    ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32,
    ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40,
    ['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
    ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
    ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['-'] = 63, ['_'] = 64,
};

enum ltd_err
codec_b64url_decode(const char *in, size_t inlen, uint8_t *out, size_t outcap, size_t *outlen)
{
    *outlen = 0;
    size_t rem = inlen % 4, need = inlen / 4 * 3 + (rem ? rem - 1 : 0);
    if (rem == 1 || need > outcap)
        return LTD_E_BASE64;
    uint32_t acc = 0;
    size_t o = 0;
    for (size_t i = 0; i < inlen; i++) {
        unsigned v = b64url_value[(unsigned char)in[i]];
        if (v == 0)
            goto bad;
        acc = acc << 6 | (v - 1);
        if (i % 4 == 3) {
            out[o++] = (uint8_t)(acc >> 16);
            out[o++] = (uint8_t)(acc >> 8);
            out[o++] = (uint8_t)acc;
            acc = 0;
        }
    }
    if (rem == 2) { /* 12 bits: one byte, 4 unused bits that must be zero */
        if (acc & 0x0f)
            goto bad;
        out[o++] = (uint8_t)(acc >> 4);
    } else if (rem == 3) { /* 18 bits: two bytes, 2 unused bits */
        if (acc & 0x03)
            goto bad;
        out[o++] = (uint8_t)(acc >> 10);
        out[o++] = (uint8_t)(acc >> 2);
    }
    LTD_ASSERT(o == need);
    *outlen = o;
    return LTD_OK;
bad:
    memset(out, 0, o);
    return LTD_E_BASE64;
}

/* ---- Ed25519 ---- */

void
codec_ed25519_keypair(struct ltd_pubkey *pk, struct ltd_seed *seed)
{
    codec_init();
    randombytes_buf(seed->b, sizeof seed->b);
    codec_ed25519_seed_pubkey(seed, pk);
}

void
codec_ed25519_seed_pubkey(const struct ltd_seed *seed, struct ltd_pubkey *pk)
{
    unsigned char sk[crypto_sign_ed25519_SECRETKEYBYTES];
    codec_init();
    LTD_ASSERT(crypto_sign_ed25519_seed_keypair(pk->b, sk, seed->b) == 0);
    sodium_memzero(sk, sizeof sk);
}

void
codec_ed25519_sign(const struct ltd_seed *seed, const uint8_t *msg, size_t n, struct ltd_sig *sig)
{
    unsigned char sk[crypto_sign_ed25519_SECRETKEYBYTES];
    unsigned char pk[crypto_sign_ed25519_PUBLICKEYBYTES];
    codec_init();
    LTD_ASSERT(crypto_sign_ed25519_seed_keypair(pk, sk, seed->b) == 0);
    int rc = crypto_sign_ed25519_detached(sig->b, NULL, msg, n, sk);
    sodium_memzero(sk, sizeof sk);
    LTD_ASSERT(rc == 0);
}

bool
codec_ed25519_verify(const struct ltd_pubkey *pk, const uint8_t *msg, size_t n,
                     const struct ltd_sig *sig)
{
    return crypto_sign_ed25519_verify_detached(sig->b, msg, n, pk->b) == 0;
}

void
codec_random(void *p, size_t n)
{
    codec_init();
    randombytes_buf(p, n);
}

void
codec_wipe(void *p, size_t n)
{
    sodium_memzero(p, n);
}

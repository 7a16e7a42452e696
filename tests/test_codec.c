/*
 * test_codec.c - unit tests for codec.c: SHA3-256 / SHA-256 known answers,
 * base58 (protocol doc §3.7, §3.8 keys and seeds, seed -> public key),
 * base64url / base64, Ed25519 (RFC 8032 test 1), and the refusals of every
 * decoder (bad alphabet, non-canonical forms, wrong sizes).
 */
#include "../src/codec.h"
#include "test.h"

static void
unhex(uint8_t *out, size_t n, const char *hex)
{
    if (!hex_decode(out, n, hex, strlen(hex))) {
        fprintf(stderr, "bad hex in test: %s\n", hex);
        abort();
    }
}

static bool
hash_is(const struct ltd_hash *h, const char *hex)
{
    uint8_t want[32];
    unhex(want, 32, hex);
    return memcmp(h->b, want, 32) == 0;
}

/* ---- hashes ---- */

static void
test_sha3_known(void)
{
    struct ltd_hash h;
    codec_sha3_256(&h, "", 0);
    CHECK(hash_is(&h, "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"));
    codec_sha3_256(&h, "abc", 3);
    CHECK(hash_is(&h, "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"));
    codec_sha3_256(&h, "hello", 5);
    CHECK(hash_is(&h, "3338be694f50c5f338814986cdf0686453a888b84f424d792af4b9202398f392"));
    /* Not Keccak-256 (whose empty-string digest is c5d2460186f7...). */
    codec_sha3_256(&h, "", 0);
    CHECK(!hash_is(&h, "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"));
}

static void
test_sha3_incremental(void)
{
    uint8_t data[1000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7 + 3);
    struct ltd_hash one, inc;
    codec_sha3_256(&one, data, sizeof data);
    struct codec_sha3 *h = codec_sha3_new();
    for (int round = 0; round < 3; round++) { /* the context is reusable */
        codec_sha3_begin(h);
        codec_sha3_update(h, data, 1);
        codec_sha3_update(h, data + 1, 499);
        codec_sha3_update(h, data + 500, 0);
        codec_sha3_update(h, data + 500, 500);
        codec_sha3_end(h, &inc);
        CHECK_EQ_MEM(one.b, inc.b, 32);
    }
    codec_sha3_begin(h);
    codec_sha3_update(h, "abc", 3);
    codec_sha3_end(h, &inc);
    CHECK(hash_is(&inc, "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"));
    codec_sha3_free(h);
    codec_sha3_free(NULL);
}

static void
test_sha256_known(void)
{
    struct ltd_hash h;
    codec_sha256(&h, "", 0);
    CHECK(hash_is(&h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    codec_sha256(&h, "abc", 3);
    CHECK(hash_is(&h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    /* Interleaving SHA3 and SHA-256 on one thread keeps both contexts apart. */
    struct ltd_hash h3;
    codec_sha3_256(&h3, "abc", 3);
    codec_sha256(&h, "abc", 3);
    CHECK(hash_is(&h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    CHECK(hash_is(&h3, "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"));
}

/* ---- base58 ---- */

struct key_vec {
    const char *b58;
    const char *hex;
};

static const struct key_vec key_vecs[] = {
    /* §3.8 public keys */
    {"4K9sWUMFwTgaDGPfdynrbxWqWS6sWmKbZoTjxLtVUibD",
     "31398baddc9f85fc4fc375b19da61a4243e653519c13383d9808ff3bf36ebf9c"},
    {"3yfQPHeWAa1MxTX9Zf9176QqcpcnWcanVZZbaHb8B3h9",
     "2c3b525f9cda51ba3456c7a7715b2910bb7e2bd070d18eec64b8c15dc0fb5420"},
    {"3Af3fhhjU6d9WecEM9Uw5hfom9kNEwE7YuDWdqAUssqm",
     "20309eafc4fd9152c4f2cd77fc973c49bcd6dc2abd26ffcc8272d86054175e34"},
    /* §3.8 seeds (alice, bob) */
    {"CfdqtD7sS7FgkMoGPXw55MVGGFwQLAoHYTcBhZDtF99Z",
     "ad564904ee5ac34accc256f8663b30bf8fd4c6e335dcf272ebbe8e6d81407af0"},
    {"3AeWpPdhEZzWLYfkfYHBfMFC2r1f8HEaGS9NtbbKssya",
     "203004b9071ff190ed85277fd6a6b5548810b7329cc4f0767900ad053c0ee109"},
    /* edge values */
    {"11111111111111111111111111111111",
     "0000000000000000000000000000000000000000000000000000000000000000"},
    {"JEKNVnkbo3jma5nREBBJCDoXFVeKkD56V3xKrvRmWxFG",
     "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"},
    {"11111111111111111111111111111112",
     "0000000000000000000000000000000000000000000000000000000000000001"},
};

static void
test_b58_keys(void)
{
    for (size_t i = 0; i < ARRAY_LEN(key_vecs); i++) {
        uint8_t want[32], got[32];
        unhex(want, 32, key_vecs[i].hex);
        const char *s = key_vecs[i].b58;
        CHECK_EQ_INT(codec_b58_decode32(s, strlen(s), got), LTD_OK);
        CHECK_EQ_MEM(got, want, 32);
        size_t n = 0;
        uint8_t gen[64];
        CHECK_EQ_INT(codec_b58_decode(s, strlen(s), gen, sizeof gen, &n), LTD_OK);
        CHECK_EQ_INT(n, 32);
        CHECK_EQ_MEM(gen, want, 32);
        char enc[48];
        codec_b58_encode32(want, enc);
        CHECK_EQ_STR(enc, s);
        struct buf b;
        buf_init(&b);
        codec_b58_encode(want, 32, &b);
        CHECK_EQ_STR(b.p, s);
        buf_release(&b);
    }
}

struct seed_vec {
    const char *seed_b58; /* NULL: seed_hex given */
    const char *seed_hex;
    const char *pub_b58;
};

static const struct seed_vec seed_vecs[] = {
    {"CfdqtD7sS7FgkMoGPXw55MVGGFwQLAoHYTcBhZDtF99Z", NULL,
     "4K9sWUMFwTgaDGPfdynrbxWqWS6sWmKbZoTjxLtVUibD"},
    {"3AeWpPdhEZzWLYfkfYHBfMFC2r1f8HEaGS9NtbbKssya", NULL,
     "3yfQPHeWAa1MxTX9Zf9176QqcpcnWcanVZZbaHb8B3h9"},
    {"sG3jWDtdTXUidBJK53ucSTrosktG616U3tQHBk81eQe", NULL,
     "3Af3fhhjU6d9WecEM9Uw5hfom9kNEwE7YuDWdqAUssqm"},
    {"3x7MQpPq8AEUGEuzAxSVHjU1FhLWVQJKFNNkvHhJPGCX", NULL, /* BEP-13 example */
     "9WYFf8T65bv4S8jKU8wongKPD4AmMZAwvk1absFDbYLM"},
};

static void
test_seed_to_pubkey(void)
{
    for (size_t i = 0; i < ARRAY_LEN(seed_vecs); i++) {
        struct ltd_seed seed;
        struct ltd_pubkey pk;
        const char *s = seed_vecs[i].seed_b58;
        CHECK_EQ_INT(codec_b58_decode32(s, strlen(s), seed.b), LTD_OK);
        codec_ed25519_seed_pubkey(&seed, &pk);
        char enc[48];
        codec_b58_encode32(pk.b, enc);
        CHECK_EQ_STR(enc, seed_vecs[i].pub_b58);
        codec_wipe(&seed, sizeof seed);
    }
    /* RFC 8032 test 1 */
    struct ltd_seed seed;
    struct ltd_pubkey pk;
    uint8_t want[32];
    unhex(seed.b, 32, "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
    unhex(want, 32, "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    codec_ed25519_seed_pubkey(&seed, &pk);
    CHECK_EQ_MEM(pk.b, want, 32);
}

static void
test_b58_general(void)
{
    struct buf b;
    buf_init(&b);
    codec_b58_encode((const uint8_t *)"hello world", 11, &b);
    CHECK_EQ_STR(b.p, "StV1DL6CwTryKyV");
    buf_reset(&b);
    codec_b58_encode((const uint8_t *)"\0\0\1", 3, &b);
    CHECK_EQ_STR(b.p, "112");
    buf_reset(&b);
    codec_b58_encode(NULL, 0, &b);
    CHECK_EQ_INT(b.len, 0);
    buf_release(&b);

    uint8_t out[64];
    size_t n = 99;
    CHECK_EQ_INT(codec_b58_decode("StV1DL6CwTryKyV", 15, out, sizeof out, &n), LTD_OK);
    CHECK_EQ_INT(n, 11);
    CHECK_EQ_MEM(out, "hello world", 11);
    CHECK_EQ_INT(codec_b58_decode("112", 3, out, sizeof out, &n), LTD_OK);
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_MEM(out, "\0\0\1", 3);
    CHECK_EQ_INT(codec_b58_decode("", 0, out, sizeof out, &n), LTD_OK);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(codec_b58_decode("1", 1, out, sizeof out, &n), LTD_OK);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(out[0], 0);
    /* exactly fitting the output capacity */
    CHECK_EQ_INT(codec_b58_decode("StV1DL6CwTryKyV", 15, out, 11, &n), LTD_OK);
    CHECK_EQ_INT(n, 11);
}

/* Pseudo-random bytes, deterministic across runs. */
static uint32_t rng_state = 12345;
static uint8_t
rng_byte(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return (uint8_t)(rng_state >> 16);
}

static void
test_b58_roundtrip(void)
{
    int bad = 0;
    for (int round = 0; round < 2000; round++) {
        uint8_t v[32], back[32], gen[40];
        for (size_t i = 0; i < 32; i++)
            v[i] = rng_byte();
        for (int z = 0; z < round % 5; z++) /* leading zero bytes */
            v[z] = 0;
        char enc[48];
        codec_b58_encode32(v, enc);
        struct buf b;
        buf_init(&b);
        codec_b58_encode(v, 32, &b);
        bad += strcmp(b.p, enc) != 0;
        buf_release(&b);
        size_t n = 0;
        bad += codec_b58_decode32(enc, strlen(enc), back) != LTD_OK;
        bad += memcmp(back, v, 32) != 0;
        bad += codec_b58_decode(enc, strlen(enc), gen, sizeof gen, &n) != LTD_OK;
        bad += n != 32 || memcmp(gen, v, 32) != 0;
    }
    CHECK_EQ_INT(bad, 0);
    for (size_t len = 0; len < 80; len++) { /* general lengths */
        uint8_t v[80], back[80];
        for (size_t i = 0; i < len; i++)
            v[i] = len % 3 == 0 && i < 2 ? 0 : rng_byte();
        struct buf b;
        buf_init(&b);
        codec_b58_encode(v, len, &b);
        size_t n = 0;
        CHECK_EQ_INT(codec_b58_decode(b.p ? b.p : "", b.len, back, len, &n), LTD_OK);
        CHECK_EQ_INT(n, len);
        CHECK(len == 0 || memcmp(back, v, len) == 0);
        buf_release(&b);
    }
}

static void
test_b58_bad(void)
{
    uint8_t k[32], out[64];
    size_t n;
    const char *alice = "4K9sWUMFwTgaDGPfdynrbxWqWS6sWmKbZoTjxLtVUibD";
    /* characters outside the alphabet: 0 O I l and others */
    const char *bad_chars[] = {
        "0K9sWUMFwTgaDGPfdynrbxWqWS6sWmKbZoTjxLtVUibD",
        "4K9sWUMFwTgaDGPfdynrbxWqWS6sWmKbZoTjxLtVUibO",
        "4K9sWUMFwTgaDGPfdynrbxWqWS6sWmKbZoTjxLtVUibI",
        "4K9sWUMFwTgaDGPfdynrbxWqWS6sWmKbZoTjxLtVUibl",
        "4K9sWUMFwTgaDGPfdynrbxWqWS6sWmKbZoTjxLtVUib+",
        " 4K9sWUMFwTgaDGPfdynrbxWqWS6sWmKbZoTjxLtVUibD",
        "4K9sWUMFwTgaDGPfdynrbxWqWS6sWmKbZoTjxLtVUibD\n",
        "4K9s-UMFwTgaDGPfdynrbxWqWS6sWmKbZoTjxLtVUibD",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad_chars); i++) {
        CHECK_EQ_INT(codec_b58_decode32(bad_chars[i], strlen(bad_chars[i]), k), LTD_E_BASE58);
        CHECK_EQ_INT(codec_b58_decode(bad_chars[i], strlen(bad_chars[i]), out, 64, &n),
                     LTD_E_BASE58);
    }
    /* an embedded NUL byte */
    CHECK_EQ_INT(codec_b58_decode32("4K9sWUMF\0wTgaDGPfdynrbxWqWS6sWmKbZoTjxLtVUib", 44, k),
                 LTD_E_BASE58);
    /* non-canonical: surplus leading '1's */
    char buf[80];
    snprintf(buf, sizeof buf, "1%s", alice);
    CHECK_EQ_INT(codec_b58_decode32(buf, strlen(buf), k), LTD_E_BASE58_NONCANON);
    CHECK_EQ_INT(codec_b58_decode(buf, strlen(buf), out, 32, &n), LTD_E_BASE58); /* too long */
    snprintf(buf, sizeof buf, "11%s", alice);
    CHECK_EQ_INT(codec_b58_decode32(buf, strlen(buf), k), LTD_E_BASE58_NONCANON);
    CHECK_EQ_INT(codec_b58_decode32("111111111111111111111111111111111", 33, k),
                 LTD_E_BASE58_NONCANON);
    /* 31 and 33 bytes */
    uint8_t v[33];
    memset(v, 0x5a, sizeof v);
    struct buf b;
    buf_init(&b);
    codec_b58_encode(v, 31, &b);
    CHECK_EQ_INT(codec_b58_decode32(b.p, b.len, k), LTD_E_KEY);
    buf_reset(&b);
    codec_b58_encode(v, 33, &b);
    CHECK_EQ_INT(codec_b58_decode32(b.p, b.len, k), LTD_E_KEY);
    CHECK_EQ_INT(codec_b58_decode(b.p, b.len, out, 32, &n), LTD_E_BASE58);
    CHECK_EQ_INT(n, 0);
    buf_release(&b);
    /* the key without its leading '1' (first byte 0) decodes to 31 bytes */
    CHECK_EQ_INT(codec_b58_decode32("1111111111111111111111111111111", 31, k), LTD_E_KEY);
    CHECK_EQ_INT(codec_b58_decode32("", 0, k), LTD_E_KEY);
    CHECK_EQ_INT(codec_b58_decode32("z", 1, k), LTD_E_KEY);
    CHECK_EQ_INT(
        codec_b58_decode32("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", 60, k),
        LTD_E_KEY);
    /* longer than the output capacity */
    CHECK_EQ_INT(codec_b58_decode("StV1DL6CwTryKyV", 15, out, 10, &n), LTD_E_BASE58);
    CHECK_EQ_INT(codec_b58_decode("11", 2, out, 1, &n), LTD_E_BASE58);
    char huge[4096];
    memset(huge, 'z', sizeof huge);
    CHECK_EQ_INT(codec_b58_decode(huge, sizeof huge, out, sizeof out, &n), LTD_E_BASE58);
    CHECK_EQ_INT(codec_b58_decode32(huge, sizeof huge, k), LTD_E_KEY);
    /* the output is cleared on failure */
    CHECK_EQ_INT(k[0] | k[31], 0);
}

/* ---- base64 ---- */

static void
test_b64url(void)
{
    static const struct {
        const char *in, *url, *std;
    } v[] = {
        {"", "", ""},
        {"f", "Zg", "Zg=="},
        {"fo", "Zm8", "Zm8="},
        {"foo", "Zm9v", "Zm9v"},
        {"foob", "Zm9vYg", "Zm9vYg=="},
        {"fooba", "Zm9vYmE", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
        {"\xfb\xff\xbf", "-_-_", "+/+/"},
    };
    for (size_t i = 0; i < ARRAY_LEN(v); i++) {
        struct buf b;
        buf_init(&b);
        size_t len = strlen(v[i].in);
        codec_b64url_encode((const uint8_t *)v[i].in, len, &b);
        CHECK_EQ_STR(b.p ? b.p : "", v[i].url);
        buf_reset(&b);
        codec_b64_encode((const uint8_t *)v[i].in, len, &b);
        CHECK_EQ_STR(b.p ? b.p : "", v[i].std);
        buf_release(&b);
        uint8_t out[16];
        size_t n = 99;
        CHECK_EQ_INT(codec_b64url_decode(v[i].url, strlen(v[i].url), out, len, &n), LTD_OK);
        CHECK_EQ_INT(n, len);
        CHECK_EQ_MEM(out, v[i].in, len);
    }
    int bad = 0;
    for (size_t len = 0; len < 300; len++) {
        uint8_t d[300], back[300];
        for (size_t i = 0; i < len; i++)
            d[i] = rng_byte();
        struct buf b;
        buf_init(&b);
        codec_b64url_encode(d, len, &b);
        size_t n = 0;
        bad += codec_b64url_decode(b.p ? b.p : "", b.len, back, len, &n) != LTD_OK;
        bad += n != len || (len && memcmp(back, d, len) != 0);
        buf_release(&b);
    }
    CHECK_EQ_INT(bad, 0);
}

static void
test_b64url_bad(void)
{
    static const char *const bad[] = {
        "Zg==",  "Zm8=",  "Zg=",       "Z===",    "=",      "Zm9v====", /* padding */
        "+/+/",  "Zm+v",  "Zm/v",                                       /* standard alphabet */
        " Zm9v", "Zm9v ", "Zm 9v",     "Zm9v\n",  "Zm9v\t", "Zm\r\n9v", /* whitespace */
        "Z",     "Zm9vY", "Zm9vYmFyZ",                                  /* length 1 mod 4 */
        "Zh",    "Zv",    "Zm9",       "Zm-",     "AB",     "AAB",      /* non-zero trailing bits */
        "Zm9v.", "Zm9v!", "Zm\x80v",   "Zm\xffv",                       /* other bytes */
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        uint8_t out[16];
        size_t n = 99;
        enum ltd_err rc = codec_b64url_decode(bad[i], strlen(bad[i]), out, sizeof out, &n);
        if (rc != LTD_E_BASE64)
            fprintf(stderr, "accepted bad base64url '%s'\n", bad[i]);
        CHECK_EQ_INT(rc, LTD_E_BASE64);
        CHECK_EQ_INT(n, 0);
    }
    uint8_t out[4];
    size_t n;
    CHECK_EQ_INT(codec_b64url_decode("Zm9vYmFy", 8, out, 4, &n), LTD_E_BASE64); /* too long */
    CHECK_EQ_INT(codec_b64url_decode("Zm\0v", 4, out, 4, &n), LTD_E_BASE64);    /* NUL */
    CHECK_EQ_INT(codec_b64url_decode("Zg", 2, out, 1, &n), LTD_OK);             /* exact */
}

static void
test_b58_bad_positions(void)
{
    /* every position of a key, every character outside the alphabet */
    const char *alice = "4K9sWUMFwTgaDGPfdynrbxWqWS6sWmKbZoTjxLtVUibD";
    const char bad[] = "0OIl+/ -_=\x80";
    for (size_t pos = 0; pos < 44; pos++) {
        for (size_t c = 0; c < sizeof bad - 1; c++) {
            char k[45];
            uint8_t out[32];
            memcpy(k, alice, 45);
            k[pos] = bad[c];
            CHECK_EQ_INT(codec_b58_decode32(k, 44, out), LTD_E_BASE58);
        }
    }
}

static void
test_b64url_bad_positions(void)
{
    /* every position of a fulfillment string: other alphabets and padding */
    const char *f =
        "pGSAIDE5i63cn4X8T8N1sZ2mGkJD5lNRnBM4PZgI_zvzbr-cgUALm0PJMsa_Yvjp1PDxtUOZajRy5LR3"
        "6EvqgPkeaouTHCSxDUfbAsAlkBKqCj_rClPPJ3v2Ih18Td_QlI__hEcG";
    size_t n = strlen(f);
    static uint8_t out[200];
    size_t len;
    CHECK_EQ_INT(codec_b64url_decode(f, n, out, sizeof out, &len), LTD_OK);
    CHECK_EQ_INT(len, 102);
    for (size_t pos = 0; pos < n; pos++) {
        const char bad[] = "+/=";
        for (size_t c = 0; c < 3; c++) {
            char t[200];
            memcpy(t, f, n);
            t[pos] = bad[c];
            CHECK_EQ_INT(codec_b64url_decode(t, n, out, sizeof out, &len), LTD_E_BASE64);
        }
    }
    /* the last sextet of a 2-char tail: only 16 of 64 have zero unused bits */
    const char *alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (unsigned v = 0; v < 64; v++) {
        char t[2] = {'Z', alpha[v]};
        enum ltd_err want = (v & 15) ? LTD_E_BASE64 : LTD_OK;
        CHECK_EQ_INT(codec_b64url_decode(t, 2, out, sizeof out, &len), want);
    }
}

/* ---- Ed25519 ---- */

static void
test_ed25519_rfc8032(void)
{
    struct ltd_seed seed;
    struct ltd_pubkey pk;
    struct ltd_sig sig, want;
    unhex(seed.b, 32, "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
    unhex(want.b, 64,
          "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc6"
          "1e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
    codec_ed25519_seed_pubkey(&seed, &pk);
    codec_ed25519_sign(&seed, (const uint8_t *)"", 0, &sig);
    CHECK_EQ_MEM(sig.b, want.b, 64);
    CHECK(codec_ed25519_verify(&pk, (const uint8_t *)"", 0, &sig));
    CHECK(!codec_ed25519_verify(&pk, (const uint8_t *)"a", 1, &sig));
    codec_wipe(&seed, sizeof seed);
    CHECK_EQ_INT(seed.b[0] | seed.b[31], 0);
}

static void
test_ed25519_bad(void)
{
    struct ltd_seed seed;
    struct ltd_pubkey pk, other;
    struct ltd_sig sig;
    codec_ed25519_keypair(&pk, &seed);
    codec_ed25519_keypair(&other, &seed); /* seed now belongs to `other` */
    const uint8_t msg[32] = {1, 2, 3};
    codec_ed25519_sign(&seed, msg, sizeof msg, &sig);
    CHECK(codec_ed25519_verify(&other, msg, sizeof msg, &sig));
    CHECK(!codec_ed25519_verify(&pk, msg, sizeof msg, &sig)); /* another key */
    int accepted = 0;
    for (size_t bit = 0; bit < 512; bit += 7) { /* flipped signature bits */
        struct ltd_sig s = sig;
        s.b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        accepted += codec_ed25519_verify(&other, msg, sizeof msg, &s);
    }
    CHECK_EQ_INT(accepted, 0);
    uint8_t msg2[32] = {1, 2, 4};
    CHECK(!codec_ed25519_verify(&other, msg2, sizeof msg2, &sig)); /* another message */
    CHECK(!codec_ed25519_verify(&other, msg, sizeof msg - 1, &sig));
    struct ltd_sig hi = sig; /* S >= L is refused (non-canonical) */
    hi.b[63] |= 0xf0;
    CHECK(!codec_ed25519_verify(&other, msg, sizeof msg, &hi));
    struct ltd_pubkey zero = {{0}}, ident = {{1}}; /* small-order keys */
    CHECK(!codec_ed25519_verify(&zero, msg, sizeof msg, &sig));
    CHECK(!codec_ed25519_verify(&ident, msg, sizeof msg, &sig));
    struct ltd_sig zsig = {{0}};
    CHECK(!codec_ed25519_verify(&other, msg, sizeof msg, &zsig));
    codec_wipe(&seed, sizeof seed);
}

static void
test_random(void)
{
    uint8_t a[32] = {0}, b[32] = {0};
    codec_random(a, sizeof a);
    codec_random(b, sizeof b);
    CHECK(memcmp(a, b, 32) != 0);
}

/* ltd_u64_text and buf_addu64 write what printf's %llu writes. */
static void
test_addu64(void)
{
    static const uint64_t v[] = {0,
                                 1,
                                 9,
                                 10,
                                 99,
                                 100,
                                 131072,
                                 4294967295u,
                                 4294967296u,
                                 999999999999999999u,
                                 10000000000000000000u,
                                 UINT64_MAX};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        struct buf a, b;
        buf_init(&a);
        buf_init(&b);
        buf_adds(&a, "x=");
        buf_addu64(&a, v[i]);
        buf_addf(&b, "x=%llu", (unsigned long long)v[i]);
        CHECK_EQ_STR(a.p, b.p);
        char tmp[ltd_u64_digits_max];
        const char *d = ltd_u64_text(v[i], tmp);
        CHECK(d >= tmp && (size_t)(tmp + sizeof tmp - d) == b.len - 2);
        CHECK(memcmp(d, b.p + 2, b.len - 2) == 0);
        buf_release(&b);
        buf_release(&a);
    }
}

/* ltd_deadline: now + us on the given clock, normalised. */
static void
test_deadline(void)
{
    static const uint64_t us[] = {0, 1, 999, 999999, 1000000, 1000001, 1500000, 86400000000ull};
    const clockid_t clocks[] = {CLOCK_REALTIME, CLOCK_MONOTONIC};
    for (size_t c = 0; c < 2; c++) {
        for (size_t i = 0; i < sizeof us / sizeof us[0]; i++) {
            struct timespec before, after;
            clock_gettime(clocks[c], &before);
            struct timespec d = ltd_deadline(clocks[c], us[i]);
            clock_gettime(clocks[c], &after);
            CHECK(d.tv_nsec >= 0 && d.tv_nsec < 1000000000L);
            int64_t dn = (int64_t)d.tv_sec * 1000000000 + d.tv_nsec;
            int64_t bn = (int64_t)before.tv_sec * 1000000000 + before.tv_nsec;
            int64_t an = (int64_t)after.tv_sec * 1000000000 + after.tv_nsec;
            CHECK(dn >= bn + (int64_t)us[i] * 1000 && dn <= an + (int64_t)us[i] * 1000);
        }
    }
}

int
main(void)
{
    codec_init();
    codec_init(); /* idempotent */
    RUN(test_sha3_known);
    RUN(test_sha3_incremental);
    RUN(test_sha256_known);
    RUN(test_b58_keys);
    RUN(test_seed_to_pubkey);
    RUN(test_b58_general);
    RUN(test_b58_roundtrip);
    RUN(test_b58_bad);
    RUN(test_b64url);
    RUN(test_b64url_bad);
    RUN(test_b58_bad_positions);
    RUN(test_b64url_bad_positions);
    RUN(test_ed25519_rfc8032);
    RUN(test_ed25519_bad);
    RUN(test_random);
    RUN(test_deadline);
    RUN(test_addu64);
    return test_report("codec");
}

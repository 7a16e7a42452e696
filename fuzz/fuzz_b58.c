/*
 * fuzz_b58.c - libFuzzer target for the text codecs of codec.c: base58
 * (general and 32-byte) and base64url.
 *
 * Properties: any text that decodes re-encodes to exactly itself
 * (canonical), the 32-byte fast paths agree with the general ones, bytes
 * survive encode -> decode, and decode32 reports LTD_E_BASE58 exactly when
 * a character lies outside the alphabet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { fuzz_out_bytes_max = 4096 };

static void
fuzz_fail(const char *what, size_t size)
{
    fprintf(stderr, "fuzz_b58: property violated: %s (input %zu bytes)\n", what, size);
    abort();
}

static bool
all_b58(const char *s, size_t n)
{
    static const char alpha[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    for (size_t i = 0; i < n; i++)
        if (s[i] == 0 || strchr(alpha, s[i]) == NULL)
            return false;
    return true;
}

static void
check_b58_text(const char *s, size_t n)
{
    static uint8_t out[fuzz_out_bytes_max];
    size_t len = 0;
    enum ltd_err rc = codec_b58_decode(s, n, out, sizeof out, &len);
    if (rc == LTD_OK) {
        struct buf b;
        buf_init(&b);
        codec_b58_encode(out, len, &b);
        if (b.len != n || (n && memcmp(b.p, s, n) != 0))
            fuzz_fail("base58 decode does not re-encode to the input", n);
        buf_release(&b);
    } else if (rc != LTD_E_BASE58) {
        fuzz_fail("unexpected base58 error", n);
    }
    uint8_t k[32];
    enum ltd_err rc32 = codec_b58_decode32(s, n, k);
    if ((rc32 == LTD_E_BASE58) != !all_b58(s, n))
        fuzz_fail("decode32 alphabet verdict", n);
    if (rc32 == LTD_OK) {
        char enc[48];
        codec_b58_encode32(k, enc);
        if (strlen(enc) != n || memcmp(enc, s, n) != 0)
            fuzz_fail("decode32 does not re-encode to the input", n);
        if (rc != LTD_OK || len != 32 || memcmp(out, k, 32) != 0)
            fuzz_fail("decode32 and decode disagree", n);
    } else if (rc == LTD_OK && len == 32) {
        fuzz_fail("decode accepts 32 bytes that decode32 refuses", n);
    }
}

static void
check_b58_bytes(const uint8_t *d, size_t n)
{
    static uint8_t out[fuzz_out_bytes_max];
    if (n > 160) /* quadratic, as above */
        n = 160;
    struct buf b;
    buf_init(&b);
    codec_b58_encode(d, n, &b);
    size_t len = 0;
    if (codec_b58_decode(b.p ? b.p : "", b.len, out, n, &len) != LTD_OK || len != n ||
        (n && memcmp(out, d, n) != 0))
        fuzz_fail("base58 bytes round trip", n);
    if (n >= 32) {
        char enc[48];
        codec_b58_encode32(d, enc);
        buf_reset(&b);
        codec_b58_encode(d, 32, &b);
        if (strcmp(enc, b.p) != 0)
            fuzz_fail("encode32 and encode disagree", n);
    }
    buf_release(&b);
}

static void
check_b64(const uint8_t *d, size_t n)
{
    static uint8_t out[fuzz_out_bytes_max * 2];
    size_t len = 0;
    if (codec_b64url_decode((const char *)d, n, out, sizeof out, &len) == LTD_OK) {
        struct buf b;
        buf_init(&b);
        codec_b64url_encode(out, len, &b);
        if (b.len != n || (n && memcmp(b.p, d, n) != 0))
            fuzz_fail("base64url decode does not re-encode to the input", n);
        buf_release(&b);
    }
    struct buf b;
    buf_init(&b);
    codec_b64url_encode(d, n, &b);
    if (codec_b64url_decode(b.p ? b.p : "", b.len, out, sizeof out, &len) != LTD_OK || len != n ||
        (n && memcmp(out, d, n) != 0))
        fuzz_fail("base64url bytes round trip", n);
    buf_reset(&b);
    codec_b64_encode(d, n, &b);
    if (b.len != (n + 2) / 3 * 4)
        fuzz_fail("base64 length", n);
    buf_release(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > fuzz_out_bytes_max)
        return 0;
    if (size <= 200) /* base58 is quadratic: long texts only slow the fuzzer */
        check_b58_text((const char *)data, size);
    check_b58_bytes(data, size);
    check_b64(data, size);
    return 0;
}

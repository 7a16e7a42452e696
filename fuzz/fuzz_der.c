/*
 * fuzz_der.c - libFuzzer target for the strict DER decoders of cc.c.
 *
 * Properties checked on every input (not just "no crash"):
 *   - a fulfillment that decodes re-encodes to exactly the input bytes
 *     (strict DER is canonical);
 *   - its derived condition survives URI -> parse -> equal, and, when its
 *     cost fits DER (<= 2^53), binary -> decode -> equal;
 *   - a condition binary that decodes re-encodes to the input bytes and
 *     round-trips through its URI.
 * Verification runs too (for coverage of the tree walk), on small inputs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc.h"
#include "codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_fail(const char *what, size_t size)
{
    fprintf(stderr, "fuzz_der: property violated: %s (input %zu bytes)\n", what, size);
    abort();
}

static void
check_condition(const struct cc_condition *c, size_t size)
{
    struct buf u;
    buf_init(&u);
    cc_condition_uri(c, &u);
    struct cc_condition back;
    if (cc_condition_from_uri(u.p, u.len, &back, NULL) != LTD_OK || !cc_condition_eq(c, &back))
        fuzz_fail("condition uri round trip", size);
    buf_release(&u);
    if (c->cost > (UINT64_C(1) << 53))
        return;
    struct buf b;
    buf_init(&b);
    cc_condition_encode(c, &b);
    if (cc_condition_decode((const uint8_t *)b.p, b.len, &back, NULL) != LTD_OK ||
        !cc_condition_eq(c, &back))
        fuzz_fail("condition binary round trip", size);
    buf_release(&b);
}

static void
check_fulfillment(const uint8_t *data, size_t size)
{
    struct arena a;
    arena_init(&a);
    struct cc_fulfillment *f = NULL;
    if (cc_fulfillment_decode(&a, data, size, &f, NULL) == LTD_OK) {
        if (f == NULL)
            fuzz_fail("decode ok without a tree", size);
        struct buf b;
        buf_init(&b);
        cc_fulfillment_encode(f, &b);
        if (b.len != size || memcmp(b.p, data, size) != 0)
            fuzz_fail("fulfillment re-encoding differs", size);
        buf_release(&b);
        struct cc_condition c;
        cc_fulfillment_condition(f, &c);
        check_condition(&c, size);
        struct cc_signer sg[4];
        size_t k = cc_fulfillment_signatures(f, sg, 4);
        struct ltd_pubkey keys[4];
        if (cc_fulfillment_signers(f, keys, 4) != k)
            fuzz_fail("signers and signatures disagree", size);
        if (cc_fulfillment_is_signed(f) && k == 0)
            fuzz_fail("signed without a signature", size);
        if (size <= 1024 && cc_fulfillment_verify(f, (const uint8_t *)"", 0) &&
            f->type == CC_ED25519 && k != 1)
            fuzz_fail("verified leaf without its signature", size);
    }
    arena_release(&a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    codec_init();
    check_fulfillment(data, size);
    struct cc_condition c;
    if (cc_condition_decode(data, size, &c, NULL) == LTD_OK) {
        struct buf b;
        buf_init(&b);
        cc_condition_encode(&c, &b);
        if (b.len != size || memcmp(b.p, data, size) != 0)
            fuzz_fail("condition re-encoding differs", size);
        buf_release(&b);
        check_condition(&c, size);
    }
    return 0;
}

/*
 * test_cc.c - unit tests for cc.c: every vector of protocol doc §3.6
 * (official crypto-conditions vectors), §3.7 (BEP-13) and §3.8 (own
 * vectors, including the 2-of-2 TRANSFER 9132d8fc... whose signatures are
 * verified against the reconstructed signing message), the details JSON
 * mapping, fulfillment building, and the negative space of the strict DER
 * decoder, the URI parser and the details parser.
 */
#include "../src/cc.h"
#include "../src/codec.h"
#include "test.h"

/* ---- helpers ---- */

static size_t
unhexv(uint8_t *out, size_t cap, const char *hex)
{
    size_t n = strlen(hex) / 2;
    if (n > cap || !hex_decode(out, n, hex, 2 * n)) {
        fprintf(stderr, "bad hex in test: %.40s\n", hex);
        abort();
    }
    return n;
}

static size_t
unb64(uint8_t *out, size_t cap, const char *s)
{
    size_t n = 0;
    if (codec_b64url_decode(s, strlen(s), out, cap, &n) != LTD_OK) {
        fprintf(stderr, "bad base64url in test: %.40s\n", s);
        abort();
    }
    return n;
}

static struct ltd_pubkey
pk58(const char *s)
{
    struct ltd_pubkey pk;
    if (codec_b58_decode32(s, strlen(s), pk.b) != LTD_OK)
        abort();
    return pk;
}

static struct ltd_seed
seed58(const char *s)
{
    struct ltd_seed sd;
    if (codec_b58_decode32(s, strlen(s), sd.b) != LTD_OK)
        abort();
    return sd;
}

/* URI of a condition, in a static buffer valid until the next call. */
static const char *
uri_of(const struct cc_condition *c)
{
    static char s[512];
    struct buf b;
    buf_init(&b);
    cc_condition_uri(c, &b);
    snprintf(s, sizeof s, "%s", b.p);
    buf_release(&b);
    return s;
}

static enum ltd_err
ful_dec(struct arena *a, const uint8_t *d, size_t n, struct cc_fulfillment **f)
{
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    enum ltd_err rc = cc_fulfillment_decode(a, d, n, f, &eb);
    CHECK((rc == LTD_OK) == (eb.code == LTD_OK));
    CHECK(rc == LTD_OK || *f == NULL);
    return rc;
}

/* Decodes, checks the re-encoding is byte-identical, returns the tree. */
static struct cc_fulfillment *
ful_roundtrip(struct arena *a, const uint8_t *d, size_t n)
{
    struct cc_fulfillment *f = NULL;
    CHECK_EQ_INT(ful_dec(a, d, n, &f), LTD_OK);
    if (f == NULL)
        return NULL;
    struct buf b;
    buf_init(&b);
    cc_fulfillment_encode(f, &b);
    CHECK_EQ_INT(b.len, n);
    CHECK(b.len == n && memcmp(b.p, d, n) == 0);
    buf_release(&b);
    return f;
}

static enum ltd_err
cond_dec(const uint8_t *d, size_t n, struct cc_condition *c)
{
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    return cc_condition_decode(d, n, c, &eb);
}

static enum ltd_err
uri_dec(const char *s, struct cc_condition *c)
{
    return cc_condition_from_uri(s, strlen(s), c, NULL);
}

/* ---- vectors ---- */

#define PK_RFC "D75A980182B10AB7D54BFED3C964073A0EE172F3DAA62325AF021A68F707511A"
static const char F0004[] =
    "A4648020" PK_RFC "8140E5564300C360AC729086E2CC806E828A84877F1EB8E5D974D873E06522490155"
    "5FB8821590A33BACC61E39701CF9B46BD25BF5F0595BBE24655141438E7A100B";
static const char F0015[] =
    "A4648020" PK_RFC "8140506A1EA68318E62D40635DAD043E1987EBC26E5B5C4406F7BDF85A73388FBFE5"
    "C245AC49F4770EBC787708270AA6A8769FEFE8930FD0EA1EE64B31407D769509";
static const char FPC0004[] = "30228020" PK_RFC;
static const char C0004[] =
    "A4278020799239ABA8FC4FF7EABFBC4C44E69E8BDFED993324E12ED64792ABE289CF1D5F8103020000";
static const char U0004[] =
    "ni:///sha-256;eZI5q6j8T_fqv7xMROaei9_tmTMk4S7WR5Kr4onPHV8?fpt=ed25519-sha-256&cost=131072";
static const char F0002[] = "A208A004A0028000A100";
static const char FPC0002[] = "302C800101A127A0258020E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B"
                              "934CA495991B7852B855810100";
static const char C0002[] =
    "A22A8020B4B84136DF48A71D73F4985C04C6767A778ECB65BA7023B4506823BEEE7631B98102040082020780";
static const char U0002[] = "ni:///sha-256;tLhBNt9Ipx1z9JhcBMZ2eneOy2W6cCO0UGgjvu52Mbk?fpt="
                            "threshold-sha-256&cost=1024&subtypes=preimage-sha-256";
static const char F0012[] = "A232A007A0058003616161A127A02580209834876DCFB05CB167A5C24953EBA58C4"
                            "AC89B1ADF57F28F2F9D09AF107EE8F0810103";
static const char U0012[] = "ni:///sha-256;5P20ZSxvF6OLKr6aoAZAseGE_nqNDJcbXST37ab8aL8?fpt="
                            "threshold-sha-256&cost=2051&subtypes=preimage-sha-256";
static const char U0008[] =
    "ni:///sha-256;tqz0CD5Di-Q1byX_ksKV6cjhurFBtGB7pIUR66Na78w?fpt=threshold-sha-256&cost=397315"
    "&subtypes=ed25519-sha-256,prefix-sha-256,rsa-sha-256";
static const char C0008[] =
    "A22B8020B6ACF4083E438BE4356F25FF92C295E9C8E1BAB141B4607BA48511EBA35AEFCC810306100382020358";

#define ALICE "4K9sWUMFwTgaDGPfdynrbxWqWS6sWmKbZoTjxLtVUibD"
#define BOB "3yfQPHeWAa1MxTX9Zf9176QqcpcnWcanVZZbaHb8B3h9"
#define CAROL "3Af3fhhjU6d9WecEM9Uw5hfom9kNEwE7YuDWdqAUssqm"
#define ALICE_SEED "CfdqtD7sS7FgkMoGPXw55MVGGFwQLAoHYTcBhZDtF99Z"
#define BOB_SEED "3AeWpPdhEZzWLYfkfYHBfMFC2r1f8HEaGS9NtbbKssya"
#define CAROL_SEED "sG3jWDtdTXUidBJK53ucSTrosktG616U3tQHBk81eQe"
#define ALICE_HEX "31398baddc9f85fc4fc375b19da61a4243e653519c13383d9808ff3bf36ebf9c"
static const char C_ALICE[] =
    "a42780203cd63077169168dc3ad0de8b0c5cce58ef7b6fcb497ab6a07336a42fc3eb00f78103020000";
static const char C_BOB[] =
    "a427802096eea8bf800a91e7ba2961a7ca33952c17b2b8fd1bcf8f8eebf74f8b5e5e61478103020000";
static const char U_ALICE[] =
    "ni:///sha-256;PNYwdxaRaNw60N6LDFzOWO97b8tJeragczakL8PrAPc?fpt=ed25519-sha-256&cost=131072";
static const char U_BOB[] =
    "ni:///sha-256;lu6ov4AKkee6KWGnyjOVLBeyuP0bz4-O6_dPi15eYUc?fpt=ed25519-sha-256&cost=131072";
static const char U_2OF2[] = "ni:///sha-256;l54H4WnHsEY09w42XzThrjl_wjMsXLQr2XUTV0ws43M?fpt="
                             "threshold-sha-256&cost=264192&subtypes=ed25519-sha-256";
static const char U_1OF2[] = "ni:///sha-256;-zBNp_ay1_q4qA6UJ6WmmD5fmx4FuQMu3fq_VTYvn60?fpt="
                             "threshold-sha-256&cost=133120&subtypes=ed25519-sha-256";
static const char U_NESTED[] = "ni:///sha-256;ipTTAT5rY524NTzACkI9flhx4-kKP7KB_Xgp0JulDK8?fpt="
                               "threshold-sha-256&cost=266240&subtypes=ed25519-sha-256";
static const char U_INNER[] = "ni:///sha-256;WImSU6plkTnVFaJVT0rXXwXlzoNs81yHwR5lMe6jwcM?fpt="
                              "threshold-sha-256&cost=133120&subtypes=ed25519-sha-256";
static const char U_CAROL[] =
    "ni:///sha-256;Ll1r0LzgHUvWB87yIrNFYo731MMUEypqvrbPATTbuD4?fpt=ed25519-sha-256&cost=131072";
static const char F_1OF2_B64[] =
    "ooGToGakZIAgMTmLrdyfhfxPw3WxnaYaQkPmU1GcEzg9mAj_O_Nuv5yBQNfgR3bKGtVnk8jenVf4vzYbJO72gKf3K47S"
    "DdRHh_PS5MZq6-ET23Gd2pPjI9r9EdAO2JtLOokxgWvwLWkUaQOhKaQngCCW7qi_gAqR57opYafKM5UsF7K4_RvPj47r"
    "90-LXl5hR4EDAgAA";
static const char F_2OF2_B64[] =
    "ooHRoIHMpGSAICw7Ul-c2lG6NFbHp3FbKRC7fivQcNGO7GS4wV3A-1QggUAjXnmTznDb1lKuuc63sAHGjup1drsBmLdN"
    "yJifqZG8uL1kZxa_Ffs2BNW-8HBbQMndYORf9u4WJT_jUPxABLwPpGSAIDE5i63cn4X8T8N1sZ2mGkJD5lNRnBM4PZg"
    "I_zvzbr-cgUBPCW6otDMZ_LXXSYsHRs7DbN2mYGkrkNnEu4TEMBc6HKaVnO7kT121bfXKz2iEEjcITHkwUzAJj-gZfoL"
    "buG8EoQA";
static const char F_CREATE_B64[] =
    "pGSAIDE5i63cn4X8T8N1sZ2mGkJD5lNRnBM4PZgI_zvzbr-cgUALm0PJMsa_Yvjp1PDxtUOZajRy5LR36EvqgPkeaou"
    "THCSxDUfbAsAlkBKqCj_rClPPJ3v2Ih18Td_QlI__hEcG";
#define CREATE_ID "6d2d45a6094408f229536fc14e03b6c8301194a344a1485af271b8c7327ad2f8"
/* §2.4 U of the CREATE and TRANSFER of §3.8 (canonical, id and fulfillments null). */
static const char U_CREATE_TX[] =
    "{\"asset\":{\"data\":{\"msg\":\"threshold demo\"}},\"id\":null,\"inputs\":[{\"fulfillment\":"
    "null,\"fulfills\":null,\"owners_before\":[\"" ALICE "\"]}],\"metadata\":null,\"operation\":"
    "\"CREATE\",\"outputs\":[{\"amount\":\"1\",\"condition\":{\"details\":{\"subconditions\":[{"
    "\"public_key\":\"" ALICE "\",\"type\":\"ed25519-sha-256\"},{\"public_key\":\"" BOB "\",\"type"
    "\":\"ed25519-sha-256\"}],\"threshold\":2,\"type\":\"threshold-sha-256\"},\"uri\":\"ni:///sha-"
    "256;l54H4WnHsEY09w42XzThrjl_wjMsXLQr2XUTV0ws43M?fpt=threshold-sha-256&cost=264192&subtypes="
    "ed25519-sha-256\"},\"public_keys\":[\"" ALICE "\",\"" BOB "\"]}],\"version\":\"2.0\"}";
static const char U_TRANSFER_TX[] =
    "{\"asset\":{\"id\":\"" CREATE_ID "\"},\"id\":null,\"inputs\":[{\"fulfillment\":null,\"fulfills"
    "\":{\"output_index\":0,\"transaction_id\":\"" CREATE_ID "\"},\"owners_before\":[\"" ALICE
    "\",\"" BOB "\"]}],\"metadata\":null,\"operation\":\"TRANSFER\",\"outputs\":[{\"amount\":\"1\","
    "\"condition\":{\"details\":{\"public_key\":\"" CAROL "\",\"type\":\"ed25519-sha-256\"},\"uri"
    "\":\"ni:///sha-256;Ll1r0LzgHUvWB87yIrNFYo731MMUEypqvrbPATTbuD4?fpt=ed25519-sha-256&cost="
    "131072\"},\"public_keys\":[\"" CAROL "\"]}],\"version\":\"2.0\"}";

static void
transfer_msg(struct ltd_hash *m)
{
    struct codec_sha3 *h = codec_sha3_new();
    codec_sha3_begin(h);
    codec_sha3_update(h, U_TRANSFER_TX, strlen(U_TRANSFER_TX));
    codec_sha3_update(h, CREATE_ID "0", 65);
    codec_sha3_end(h, m);
    codec_sha3_free(h);
}

/* ---- §3.6 official vectors ---- */

static void
test_vector_0004_0015(void)
{
    struct arena a;
    arena_init(&a);
    uint8_t d[200], fpc[64], cb[64];
    size_t n = unhexv(d, sizeof d, F0004);
    struct cc_fulfillment *f = ful_roundtrip(&a, d, n);
    CHECK(f && f->type == CC_ED25519);
    if (!f)
        goto out;
    CHECK(cc_fulfillment_verify(f, (const uint8_t *)"", 0));
    CHECK(!cc_fulfillment_verify(f, (const uint8_t *)"aaa", 3));
    CHECK(cc_fulfillment_is_signed(f));
    struct cc_condition c, c2;
    cc_fulfillment_condition(f, &c);
    /* fingerprint contents -> fingerprint */
    struct ltd_hash fp;
    size_t fn = unhexv(fpc, sizeof fpc, FPC0004);
    codec_sha256(&fp, fpc, fn);
    CHECK_EQ_MEM(fp.b, c.fingerprint.b, 32);
    CHECK_EQ_INT(c.cost, 131072);
    /* condition binary both ways */
    size_t cn = unhexv(cb, sizeof cb, C0004);
    struct buf b;
    buf_init(&b);
    cc_condition_encode(&c, &b);
    CHECK(b.len == cn && memcmp(b.p, cb, cn) == 0);
    buf_release(&b);
    CHECK_EQ_INT(cond_dec(cb, cn, &c2), LTD_OK);
    CHECK(cc_condition_eq(&c, &c2));
    /* URI both ways */
    CHECK_EQ_STR(uri_of(&c), U0004);
    CHECK_EQ_INT(uri_dec(U0004, &c2), LTD_OK);
    CHECK(cc_condition_eq(&c, &c2));
    /* 0015: same key, message "aaa" */
    n = unhexv(d, sizeof d, F0015);
    f = ful_roundtrip(&a, d, n);
    CHECK(f != NULL);
    if (!f)
        goto out;
    CHECK(cc_fulfillment_verify(f, (const uint8_t *)"aaa", 3));
    CHECK(!cc_fulfillment_verify(f, (const uint8_t *)"", 0));
    CHECK(!cc_fulfillment_verify(f, (const uint8_t *)"aab", 3));
    cc_fulfillment_condition(f, &c2);
    CHECK(cc_condition_eq(&c, &c2));
out:
    arena_release(&a);
}

static void
test_vector_0002(void)
{
    struct arena a;
    arena_init(&a);
    uint8_t d[64], fpc[64], cb[64];
    size_t n = unhexv(d, sizeof d, F0002);
    struct cc_fulfillment *f = ful_roundtrip(&a, d, n);
    CHECK(f && f->type == CC_THRESHOLD && f->n_ful == 1 && f->n_cond == 0);
    if (!f)
        goto out;
    CHECK(f->ful[0]->type == CC_PREIMAGE && f->ful[0]->preimage_len == 0);
    CHECK(cc_fulfillment_verify(f, (const uint8_t *)"", 0));
    CHECK(!cc_fulfillment_is_signed(f)); /* no signature anywhere */
    struct cc_condition c, c2;
    cc_fulfillment_condition(f, &c);
    struct ltd_hash fp;
    size_t fn = unhexv(fpc, sizeof fpc, FPC0002);
    codec_sha256(&fp, fpc, fn);
    CHECK_EQ_MEM(fp.b, c.fingerprint.b, 32);
    CHECK_EQ_INT(c.cost, 1024);
    CHECK_EQ_INT(c.subtypes, 1u << CC_PREIMAGE);
    size_t cn = unhexv(cb, sizeof cb, C0002);
    struct buf b;
    buf_init(&b);
    cc_condition_encode(&c, &b);
    CHECK(b.len == cn && memcmp(b.p, cb, cn) == 0);
    buf_release(&b);
    CHECK_EQ_INT(cond_dec(cb, cn, &c2), LTD_OK);
    CHECK(cc_condition_eq(&c, &c2));
    CHECK_EQ_STR(uri_of(&c), U0002);
    CHECK_EQ_INT(uri_dec(U0002, &c2), LTD_OK);
    CHECK(cc_condition_eq(&c, &c2));
out:
    arena_release(&a);
}

static void
test_vector_0012(void)
{
    struct arena a;
    arena_init(&a);
    uint8_t d[128];
    size_t n = unhexv(d, sizeof d, F0012);
    struct cc_fulfillment *f = ful_roundtrip(&a, d, n);
    CHECK(f && f->n_ful == 1 && f->n_cond == 1);
    if (!f)
        goto out;
    CHECK(f->ful[0]->preimage_len == 3 && memcmp(f->ful[0]->preimage, "aaa", 3) == 0);
    CHECK_EQ_INT(f->cond[0].type, CC_PREIMAGE);
    CHECK_EQ_INT(f->cond[0].cost, 3);
    CHECK(cc_fulfillment_verify(f, (const uint8_t *)"", 0));
    struct cc_condition c, c2;
    cc_fulfillment_condition(f, &c);
    CHECK_EQ_STR(uri_of(&c), U0012);
    CHECK_EQ_INT(uri_dec(U0012, &c2), LTD_OK);
    CHECK(cc_condition_eq(&c, &c2));
out:
    arena_release(&a);
}

static void
test_vector_0008(void)
{
    uint8_t cb[64];
    size_t cn = unhexv(cb, sizeof cb, C0008);
    struct cc_condition c, c2;
    CHECK_EQ_INT(cond_dec(cb, cn, &c), LTD_OK);
    CHECK_EQ_INT(c.type, CC_THRESHOLD);
    CHECK_EQ_INT(c.cost, 397315);
    CHECK_EQ_INT(c.subtypes, (1u << CC_ED25519) | (1u << CC_PREFIX) | (1u << CC_RSA));
    CHECK_EQ_STR(uri_of(&c), U0008);
    CHECK_EQ_INT(uri_dec(U0008, &c2), LTD_OK);
    CHECK(cc_condition_eq(&c, &c2));
    struct buf b;
    buf_init(&b);
    cc_condition_encode(&c2, &b);
    CHECK(b.len == cn && memcmp(b.p, cb, cn) == 0);
    buf_release(&b);
}

/* ---- §3.7 BEP-13 and §3.8 own vectors (via details) ---- */

static struct cc_details *
leaf(struct arena *a, const char *b58)
{
    struct ltd_pubkey pk = pk58(b58);
    return cc_details_ed25519(a, &pk);
}

static struct cc_details *
thr2(struct arena *a, uint32_t t, struct cc_details *x, struct cc_details *y)
{
    struct cc_details *s[2] = {x, y};
    return cc_details_threshold(a, t, 2, s);
}

static void
test_bep13(void)
{
    struct arena a;
    arena_init(&a);
    struct cc_condition c;
    cc_details_condition(leaf(&a, "HFp773FH21sPFrn4y8wX3Ddrkzhqy4La4cQLfePT2vz7"), &c);
    CHECK_EQ_STR(uri_of(&c), "ni:///sha-256;at0MY6Ye8yvidsgL9FrnKmsVzX0XrNNXFmuAPF4bQeU?fpt="
                             "ed25519-sha-256&cost=131072");
    const char *k1 = "5ycPMinRx7D7e6wYXLNLa3TCtQrMQfjkap4ih7JVJy3h";
    const char *k2 = "9RSas2uCxR5sx1rJoUgcd2PB3tBK7KXuCHbUMbnH3X1M";
    cc_details_condition(thr2(&a, 2, leaf(&a, k1), leaf(&a, k2)), &c);
    CHECK_EQ_STR(uri_of(&c), "ni:///sha-256;zr5oThl2kk6613WKGFDg-JGu00Fv88nXcDcp6Cyr0Vw?fpt="
                             "threshold-sha-256&cost=264192&subtypes=ed25519-sha-256");
    uint8_t cb[64];
    size_t cn = unhexv(cb, sizeof cb,
                       "a22b8020cebe684e1976924ebad7758a1850e0f891aed3416ff3c9d7703729e82cabd15c"
                       "810304080082020308");
    struct buf b;
    buf_init(&b);
    cc_condition_encode(&c, &b);
    CHECK(b.len == cn && memcmp(b.p, cb, cn) == 0);
    buf_release(&b);
    cc_details_condition(thr2(&a, 1, leaf(&a, k1), leaf(&a, k2)), &c);
    CHECK_EQ_STR(uri_of(&c), "ni:///sha-256;K_nKgXb6HVqV_JcSoBEk-SwOfGpx3fsMETBBt29wXYM?fpt="
                             "threshold-sha-256&cost=133120&subtypes=ed25519-sha-256");
    /* the order of subconditions does not change the condition */
    struct cc_condition c2;
    cc_details_condition(thr2(&a, 1, leaf(&a, k2), leaf(&a, k1)), &c2);
    CHECK(cc_condition_eq(&c, &c2));
    arena_release(&a);
}

static void
test_own_conditions(void)
{
    struct arena a;
    arena_init(&a);
    struct cc_condition c, c2;
    uint8_t cb[64], fpc[200];
    struct buf b;
    buf_init(&b);
    const char *names[2] = {ALICE, BOB}, *bins[2] = {C_ALICE, C_BOB}, *uris[2] = {U_ALICE, U_BOB};
    for (int i = 0; i < 2; i++) {
        cc_details_condition(leaf(&a, names[i]), &c);
        size_t cn = unhexv(cb, sizeof cb, bins[i]);
        buf_reset(&b);
        cc_condition_encode(&c, &b);
        CHECK(b.len == cn && memcmp(b.p, cb, cn) == 0);
        CHECK_EQ_STR(uri_of(&c), uris[i]);
        CHECK_EQ_INT(cond_dec(cb, cn, &c2), LTD_OK);
        CHECK(cc_condition_eq(&c, &c2));
    }
    /* alice's fingerprint contents */
    struct ltd_hash fp;
    size_t fn = unhexv(fpc, sizeof fpc, "30228020" ALICE_HEX);
    codec_sha256(&fp, fpc, fn);
    cc_details_condition(leaf(&a, ALICE), &c);
    CHECK_EQ_MEM(fp.b, c.fingerprint.b, 32);
    cc_details_condition(leaf(&a, CAROL), &c);
    CHECK_EQ_STR(uri_of(&c), U_CAROL);
    /* 2-of-2 (alice, bob): URI and fingerprint contents, alice's binary first */
    char hex[400];
    snprintf(hex, sizeof hex, "3057800102a152%s%s", C_ALICE, C_BOB);
    fn = unhexv(fpc, sizeof fpc, hex);
    codec_sha256(&fp, fpc, fn);
    cc_details_condition(thr2(&a, 2, leaf(&a, BOB), leaf(&a, ALICE)), &c);
    CHECK_EQ_STR(uri_of(&c), U_2OF2);
    CHECK_EQ_MEM(fp.b, c.fingerprint.b, 32);
    cc_details_condition(thr2(&a, 1, leaf(&a, ALICE), leaf(&a, BOB)), &c);
    CHECK_EQ_STR(uri_of(&c), U_1OF2);
    /* nested 2-of-(alice, 1-of-(bob, carol)) */
    struct cc_details *inner = thr2(&a, 1, leaf(&a, BOB), leaf(&a, CAROL));
    cc_details_condition(inner, &c);
    CHECK_EQ_STR(uri_of(&c), U_INNER);
    cc_details_condition(thr2(&a, 2, leaf(&a, ALICE), inner), &c);
    CHECK_EQ_STR(uri_of(&c), U_NESTED);
    CHECK_EQ_INT(uri_dec(U_NESTED, &c2), LTD_OK);
    CHECK(cc_condition_eq(&c, &c2));
    buf_release(&b);
    arena_release(&a);
}

static void
test_1of2_hello(void)
{
    struct arena a;
    arena_init(&a);
    uint8_t d[400];
    size_t n = unb64(d, sizeof d, F_1OF2_B64);
    CHECK_EQ_INT(n, 3 + 0x93);
    /* A2 81 93 { A0 66 { A4 64 ... } A1 29 { A4 27 ... } } */
    CHECK(d[0] == 0xA2 && d[1] == 0x81 && d[2] == 0x93 && d[3] == 0xA0 && d[4] == 0x66);
    CHECK(d[5] == 0xA4 && d[6] == 0x64 && d[107] == 0xA1 && d[108] == 0x29 && d[109] == 0xA4);
    struct cc_fulfillment *f = ful_roundtrip(&a, d, n);
    CHECK(f && f->n_ful == 1 && f->n_cond == 1);
    if (!f)
        goto out;
    struct ltd_hash m;
    codec_sha3_256(&m, "hello", 5);
    CHECK(cc_fulfillment_verify(f, m.b, 32));
    CHECK(!cc_fulfillment_verify(f, (const uint8_t *)"hello", 5));
    struct cc_condition c;
    cc_fulfillment_condition(f, &c);
    CHECK_EQ_STR(uri_of(&c), U_1OF2);
    struct ltd_pubkey keys[4];
    CHECK_EQ_INT(cc_fulfillment_signers(f, keys, 4), 1);
    struct ltd_pubkey alice = pk58(ALICE);
    CHECK_EQ_MEM(keys[0].b, alice.b, 32);
    /* the same string from a fresh signature: alice alone, or alice + bob */
    struct ltd_seed sa = seed58(ALICE_SEED), sb = seed58(BOB_SEED);
    struct cc_signer sg[2];
    sg[0].pk = alice;
    codec_ed25519_sign(&sa, m.b, 32, &sg[0].sig);
    sg[1].pk = pk58(BOB);
    codec_ed25519_sign(&sb, m.b, 32, &sg[1].sig);
    struct cc_details *d12 = thr2(&a, 1, leaf(&a, ALICE), leaf(&a, BOB));
    for (size_t k = 1; k <= 2; k++) {
        struct cc_fulfillment *g = NULL;
        CHECK_EQ_INT(cc_fulfillment_build(&a, d12, sg, k, false, &g, NULL), LTD_OK);
        struct buf b;
        buf_init(&b);
        if (g)
            cc_fulfillment_encode(g, &b);
        CHECK(b.len == n && memcmp(b.p, d, n) == 0);
        buf_release(&b);
    }
    /* bob alone: another valid fulfillment of the same condition */
    struct cc_fulfillment *g = NULL;
    CHECK_EQ_INT(cc_fulfillment_build(&a, d12, &sg[1], 1, false, &g, NULL), LTD_OK);
    if (g) {
        struct cc_condition c2;
        cc_fulfillment_condition(g, &c2);
        CHECK(cc_condition_eq(&c, &c2));
        CHECK(cc_fulfillment_verify(g, m.b, 32));
    }
    codec_wipe(&sa, sizeof sa);
    codec_wipe(&sb, sizeof sb);
out:
    arena_release(&a);
}

static void
test_transfer_2of2(void)
{
    struct arena a;
    arena_init(&a);
    uint8_t d[400];
    size_t n = unb64(d, sizeof d, F_2OF2_B64);
    CHECK_EQ_INT(n, 3 + 0xD1);
    CHECK(d[0] == 0xA2 && d[1] == 0x81 && d[2] == 0xD1 && d[3] == 0xA0 && d[4] == 0x81 &&
          d[5] == 0xCC);
    CHECK(d[n - 2] == 0xA1 && d[n - 1] == 0x00);
    struct cc_fulfillment *f = ful_roundtrip(&a, d, n);
    CHECK(f && f->n_ful == 2 && f->n_cond == 0);
    if (!f)
        goto out;
    struct ltd_pubkey alice = pk58(ALICE), bob = pk58(BOB);
    CHECK_EQ_MEM(f->ful[0]->pubkey.b, bob.b, 32); /* bob first: 2c3b... < 3139... */
    CHECK_EQ_MEM(f->ful[1]->pubkey.b, alice.b, 32);
    struct cc_condition c;
    cc_fulfillment_condition(f, &c);
    CHECK_EQ_STR(uri_of(&c), U_2OF2);
    struct ltd_hash m;
    transfer_msg(&m);
    CHECK(cc_fulfillment_verify(f, m.b, 32));
    m.b[0] ^= 1;
    CHECK(!cc_fulfillment_verify(f, m.b, 32));
    transfer_msg(&m);
    /* signatures collected, then rebuilt from the details: same bytes */
    struct cc_signer sg[3];
    CHECK_EQ_INT(cc_fulfillment_signatures(f, sg, 3), 2);
    CHECK_EQ_INT(cc_fulfillment_signatures(f, sg, 1), 2); /* total even when capped */
    CHECK_EQ_INT(cc_fulfillment_signatures(f, sg, 3), 2);
    struct cc_details *dt = thr2(&a, 2, leaf(&a, ALICE), leaf(&a, BOB));
    struct cc_fulfillment *g = NULL;
    CHECK_EQ_INT(cc_fulfillment_build(&a, dt, sg, 2, false, &g, NULL), LTD_OK);
    struct buf b;
    buf_init(&b);
    if (g)
        cc_fulfillment_encode(g, &b);
    CHECK(b.len == n && memcmp(b.p, d, n) == 0);
    /* fresh deterministic signatures from the seeds give the same bytes */
    struct ltd_seed sa = seed58(ALICE_SEED), sb = seed58(BOB_SEED);
    sg[0].pk = alice;
    codec_ed25519_sign(&sa, m.b, 32, &sg[0].sig);
    sg[1].pk = bob;
    codec_ed25519_sign(&sb, m.b, 32, &sg[1].sig);
    CHECK_EQ_INT(cc_fulfillment_build(&a, dt, sg, 2, false, &g, NULL), LTD_OK);
    buf_reset(&b);
    if (g)
        cc_fulfillment_encode(g, &b);
    CHECK(b.len == n && memcmp(b.p, d, n) == 0);
    /* only alice: refused, or partial on request; bob completes it later */
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    CHECK_EQ_INT(cc_fulfillment_build(&a, dt, sg, 1, false, &g, &eb), LTD_E_CC_THRESHOLD);
    CHECK(g == NULL);
    CHECK_EQ_INT(cc_fulfillment_build(&a, dt, sg, 1, true, &g, NULL), LTD_OK);
    CHECK(g && g->n_ful == 1 && g->n_cond == 1);
    if (g) {
        struct cc_condition pc;
        cc_fulfillment_condition(g, &pc);
        CHECK(!cc_condition_eq(&pc, &c)); /* a partial one does not match */
        struct cc_signer all[3];
        size_t k = cc_fulfillment_signatures(g, all, 3);
        CHECK_EQ_INT(k, 1);
        all[k++] = sg[1];
        CHECK_EQ_INT(cc_fulfillment_build(&a, dt, all, k, false, &g, NULL), LTD_OK);
        buf_reset(&b);
        if (g)
            cc_fulfillment_encode(g, &b);
        CHECK(b.len == n && memcmp(b.p, d, n) == 0);
    }
    buf_release(&b);
    codec_wipe(&sa, sizeof sa);
    codec_wipe(&sb, sizeof sb);
out:
    arena_release(&a);
}

static void
test_create_input(void)
{
    struct arena a;
    arena_init(&a);
    uint8_t d[200];
    size_t n = unb64(d, sizeof d, F_CREATE_B64);
    struct cc_fulfillment *f = ful_roundtrip(&a, d, n);
    CHECK(f && f->type == CC_ED25519);
    if (f) {
        struct ltd_hash m;
        codec_sha3_256(&m, U_CREATE_TX, strlen(U_CREATE_TX));
        CHECK(cc_fulfillment_verify(f, m.b, 32));
        struct cc_condition c;
        cc_fulfillment_condition(f, &c);
        CHECK_EQ_STR(uri_of(&c), U_ALICE);
    }
    arena_release(&a);
}

static void
test_nested_build(void)
{
    struct arena a;
    arena_init(&a);
    struct cc_details *inner = thr2(&a, 1, leaf(&a, BOB), leaf(&a, CAROL));
    struct cc_details *top = thr2(&a, 2, leaf(&a, ALICE), inner);
    struct ltd_hash m;
    codec_sha3_256(&m, "nested", 6);
    struct ltd_seed sa = seed58(ALICE_SEED), sc = seed58(CAROL_SEED);
    struct cc_signer sg[2];
    sg[0].pk = pk58(CAROL);
    codec_ed25519_sign(&sc, m.b, 32, &sg[0].sig);
    sg[1].pk = pk58(ALICE);
    codec_ed25519_sign(&sa, m.b, 32, &sg[1].sig);
    struct cc_fulfillment *f = NULL;
    CHECK_EQ_INT(cc_fulfillment_build(&a, top, sg, 2, false, &f, NULL), LTD_OK);
    if (f) {
        struct cc_condition c;
        cc_fulfillment_condition(f, &c);
        CHECK_EQ_STR(uri_of(&c), U_NESTED);
        CHECK(cc_fulfillment_verify(f, m.b, 32));
        CHECK(cc_fulfillment_is_signed(f));
        struct buf b;
        buf_init(&b);
        cc_fulfillment_encode(f, &b);
        ful_roundtrip(&a, (const uint8_t *)b.p, b.len);
        buf_release(&b);
        struct ltd_pubkey keys[4];
        CHECK_EQ_INT(cc_fulfillment_signers(f, keys, 4), 2);
    }
    CHECK_EQ_INT(cc_fulfillment_build(&a, top, sg, 1, false, &f, NULL), LTD_E_CC_THRESHOLD);
    CHECK_EQ_INT(cc_fulfillment_build(&a, top, sg, 1, true, &f, NULL), LTD_OK);
    CHECK(f && f->n_ful == 1); /* carol's inner branch kept, alice missing */
    CHECK_EQ_INT(cc_fulfillment_build(&a, top, NULL, 0, true, &f, NULL), LTD_OK);
    CHECK(f && f->n_ful == 0 && f->n_cond == 2);
    if (f)
        CHECK(!cc_fulfillment_verify(f, m.b, 32)); /* no fulfilled child */
    CHECK_EQ_INT(cc_fulfillment_build(&a, leaf(&a, BOB), sg, 2, true, &f, NULL),
                 LTD_E_CC_THRESHOLD);
    struct ltd_pubkey keys[8];
    CHECK_EQ_INT(cc_details_pubkeys(top, keys, 8), 3);
    CHECK_EQ_INT(cc_details_pubkeys(top, keys, 1), 3);
    struct ltd_pubkey alice = pk58(ALICE);
    CHECK_EQ_MEM(keys[0].b, alice.b, 32);
    codec_wipe(&sa, sizeof sa);
    codec_wipe(&sc, sizeof sc);
    arena_release(&a);
}

static void
test_build_limits(void)
{
    struct arena a;
    arena_init(&a);
    struct cc_details *d = leaf(&a, ALICE);
    for (int i = 0; i < cc_depth_max; i++)
        d = cc_details_threshold(&a, 1, 1, &d);
    struct cc_fulfillment *f = NULL;
    struct cc_signer s = {pk58(ALICE), {{0}}};
    CHECK_EQ_INT(cc_fulfillment_build(&a, d, &s, 1, false, &f, NULL), LTD_E_TX_THRESHOLD_DEEP);
    CHECK_EQ_INT(cc_fulfillment_build(&a, d->sub[0], &s, 1, false, &f, NULL), LTD_OK);
    /* 100-of-100 of 100-of-100: about 1 MB of DER, refused */
    struct cc_details *kids[100], *wide[100];
    for (int i = 0; i < 100; i++)
        kids[i] = leaf(&a, ALICE);
    struct cc_details *mid = cc_details_threshold(&a, 100, 100, kids);
    for (int i = 0; i < 100; i++)
        wide[i] = mid;
    struct cc_details *big = cc_details_threshold(&a, 100, 100, wide);
    CHECK_EQ_INT(cc_fulfillment_build(&a, big, &s, 1, false, &f, NULL), LTD_E_TOO_LARGE);
    CHECK(f == NULL);
    arena_release(&a);
}

/* ---- DER: negative space ---- */

static void
expect_ful(const uint8_t *d, size_t n, enum ltd_err want, const char *what)
{
    struct arena a;
    arena_init(&a);
    struct cc_fulfillment *f = (struct cc_fulfillment *)1;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    enum ltd_err rc = cc_fulfillment_decode(&a, d, n, &f, &eb);
    CHECK(rc == LTD_OK || f == NULL);
    if (rc != want || getenv("TEST_VERBOSE"))
        fprintf(stderr, "  case '%s': got %s (%s)\n", what, ltd_err_name(rc), eb.msg);
    CHECK_EQ_INT(rc, want);
    arena_release(&a);
}

static void
expect_ful_hex(const char *hex, enum ltd_err want, const char *what)
{
    uint8_t d[512];
    size_t n = unhexv(d, sizeof d, hex);
    expect_ful(d, n, want, what);
}

static void
test_der_truncated(void)
{
    const char *vecs[] = {F0004, F0002, F0012};
    uint8_t d[400];
    for (size_t v = 0; v < ARRAY_LEN(vecs) + 2; v++) {
        size_t n = v < ARRAY_LEN(vecs)    ? unhexv(d, sizeof d, vecs[v])
                   : v == ARRAY_LEN(vecs) ? unb64(d, sizeof d, F_1OF2_B64)
                                          : unb64(d, sizeof d, F_2OF2_B64);
        int accepted = 0;
        for (size_t k = 0; k < n; k++) { /* every proper prefix */
            struct arena a;
            arena_init(&a);
            struct cc_fulfillment *f;
            accepted += cc_fulfillment_decode(&a, d, k, &f, NULL) != LTD_E_CC_DER;
            arena_release(&a);
        }
        CHECK_EQ_INT(accepted, 0);
        d[n] = 0x00; /* over-long: one trailing byte */
        expect_ful(d, n + 1, LTD_E_CC_DER, "trailing byte");
        d[n] = 0xA4;
        expect_ful(d, n + 1, LTD_E_CC_DER, "trailing tag byte");
    }
}

#define SIG64                                                                                      \
    "E5564300C360AC729086E2CC806E828A84877F1EB8E5D974D873E065224901555FB8821590A33BACC61E3970"     \
    "1CF9B46BD25BF5F0595BBE24655141438E7A100B"
#define FP32 "799239ABA8FC4FF7EABFBC4C44E69E8BDFED993324E12ED64792ABE289CF1D5F"

static void
test_der_bad_ed25519(void)
{
    expect_ful_hex("A3648020" PK_RFC "8140" SIG64, LTD_E_CC_TYPE, "rsa tag");
    expect_ful_hex("A1648020" PK_RFC "8140" SIG64, LTD_E_CC_TYPE, "prefix tag");
    expect_ful_hex("A5648020" PK_RFC "8140" SIG64, LTD_E_CC_TYPE, "type 5");
    expect_ful_hex("A0648020" PK_RFC "8140" SIG64, LTD_E_CC_DER, "preimage tag");
    expect_ful_hex("A2648020" PK_RFC "8140" SIG64, LTD_E_CC_DER, "threshold tag");
    expect_ful_hex("30648020" PK_RFC "8140" SIG64, LTD_E_CC_DER, "SEQUENCE tag");
    expect_ful_hex("04648020" PK_RFC "8140" SIG64, LTD_E_CC_DER, "OCTET STRING tag");
    expect_ful_hex("84648020" PK_RFC "8140" SIG64, LTD_E_CC_DER, "primitive [4]");
    expect_ful_hex("BF648020" PK_RFC "8140" SIG64, LTD_E_CC_DER, "high tag form");
    expect_ful_hex("A4648220" PK_RFC "8140" SIG64, LTD_E_CC_DER, "key tag 82");
    expect_ful_hex("A4648120" PK_RFC "8140" SIG64, LTD_E_CC_DER, "key tag 81");
    expect_ful_hex("A4648020" PK_RFC "8040" SIG64, LTD_E_CC_DER, "sig tag 80");
    expect_ful_hex("A4648020" PK_RFC "A140" SIG64, LTD_E_CC_DER, "sig tag A1");
    expect_ful_hex("A481648020" PK_RFC "8140" SIG64, LTD_E_CC_DER, "81 64 long form");
    expect_ful_hex("A48200648020" PK_RFC "8140" SIG64, LTD_E_CC_DER, "82 0064 long form");
    expect_ful_hex("A465808120" PK_RFC "8140" SIG64, LTD_E_CC_DER, "inner 81 20");
    expect_ful_hex("A4658020" PK_RFC "818140" SIG64, LTD_E_CC_DER, "inner 81 40");
    expect_ful_hex("A4808020" PK_RFC "8140" SIG64 "0000", LTD_E_CC_DER, "indefinite");
    expect_ful_hex("A483000064"
                   "8020" PK_RFC "8140" SIG64,
                   LTD_E_CC_DER, "83 length");
    expect_ful_hex("A48400000064"
                   "8020" PK_RFC "8140" SIG64,
                   LTD_E_CC_DER, "84 length");
    expect_ful_hex("A4658020" PK_RFC "8140" SIG64, LTD_E_CC_DER, "length beyond data");
    expect_ful_hex("A482FFFF8020" PK_RFC "8140" SIG64, LTD_E_CC_DER, "82 FFFF beyond data");
    expect_ful_hex("A4648021" PK_RFC "8140" SIG64, LTD_E_CC_DER, "key length 33 claims sig");
    expect_ful_hex("A463801F"
                   "5A980182B10AB7D54BFED3C964073A0EE172F3DAA62325AF021A68F707511A"
                   "8140" SIG64,
                   LTD_E_CC_DER, "31-byte key");
    expect_ful_hex("A4658021" PK_RFC "00"
                   "8140" SIG64,
                   LTD_E_CC_DER, "33-byte key");
    expect_ful_hex("A4638020" PK_RFC "813F"
                   "5564300C360AC729086E2CC806E828A84877F1EB8E5D974D873"
                   "E065224901555FB8821590A33BACC61E39701CF9B46BD25BF5F0595BBE24655141438E7A100B",
                   LTD_E_CC_DER, "63-byte sig");
    expect_ful_hex("A4658020" PK_RFC "8141" SIG64 "00", LTD_E_CC_DER, "65-byte sig");
    expect_ful_hex("A4668020" PK_RFC "8140" SIG64 "0000", LTD_E_CC_DER, "bytes after the sig");
    expect_ful_hex("A4668020" PK_RFC "8140" SIG64 "8200", LTD_E_CC_DER, "extra field");
    expect_ful_hex("A4648140" SIG64 "8020" PK_RFC, LTD_E_CC_DER, "fields swapped");
    expect_ful_hex("A4228020" PK_RFC, LTD_E_CC_DER, "no signature");
    expect_ful_hex("A400", LTD_E_CC_DER, "empty ed25519");
    expect_ful_hex("", LTD_E_CC_DER, "empty input");
    expect_ful_hex("A4", LTD_E_CC_DER, "tag only");
    expect_ful_hex("A481", LTD_E_CC_DER, "81 without length");
    expect_ful_hex("A48201", LTD_E_CC_DER, "82 with one byte");
}

static void
test_der_bad_threshold(void)
{
    expect_ful_hex("A208A104A0028000A000", LTD_E_CC_DER, "sets swapped");
    expect_ful_hex("A206A0028000A100", LTD_E_CC_DER, "primitive in set");
    expect_ful_hex("A204A100A000", LTD_E_CC_DER, "A1 before A0");
    expect_ful_hex("A202A000", LTD_E_CC_DER, "missing subconditions");
    expect_ful_hex("A20AA004A0028000A1000000", LTD_E_CC_DER, "bytes after sets");
    expect_ful_hex("A209A004A0028000A10000", LTD_E_CC_DER, "length mismatch");
    expect_ful_hex("A208A004A3028000A100", LTD_E_CC_TYPE, "rsa subfulfillment");
    expect_ful_hex("A208A004A1028000A100", LTD_E_CC_TYPE, "prefix subfulfillment");
    expect_ful_hex("A208A004A0028100A100", LTD_E_CC_DER, "preimage field tag 81");
    expect_ful_hex("A20AA006A00480000000A100", LTD_E_CC_DER, "trailing in preimage");
    expect_ful_hex("A209A005A003808100A100", LTD_E_CC_DER, "preimage 81 00");
    expect_ful_hex("A204A000A100", LTD_OK, "empty threshold decodes");
    /* subconditions: bad conditions inside A1 */
    expect_ful_hex("A22DA000A129A5278020" FP32 "8103020000", LTD_E_CC_TYPE, "A5 condition");
    expect_ful_hex("A22DA000A12930278020" FP32 "8103020000", LTD_E_CC_DER, "30 condition");
    expect_ful_hex("A22DA000A129A4278020" FP32 "8103820000", LTD_E_CC_DER, "negative cost");
    expect_ful_hex("A22EA000A12AA4288020" FP32 "810400020000", LTD_E_CC_DER, "non-minimal cost");
    expect_ful_hex("A22AA000A126A4248020" FP32 "8100", LTD_E_CC_DER, "empty cost");
    expect_ful_hex("A22DA000A129A4278020" FP32 "8303020000", LTD_E_CC_DER, "cost tag 83");
    expect_ful_hex("A22EA000A12AA4288020" FP32 "810302000000", LTD_E_CC_DER, "after cost");
    expect_ful_hex("A231A000A12DA42B8020" FP32 "810302000082020308", LTD_E_CC_DER,
                   "subtypes on ed25519");
    expect_ful_hex("A22DA000A129A2278020" FP32 "8103020000", LTD_E_CC_DER, "threshold no subtypes");
    expect_ful_hex("A22CA000A128A4268020" FP32 "81020000", LTD_E_CC_DER, "cost 00 00");
    expect_ful_hex("A22CA000A128A426801F"
                   "9239ABA8FC4FF7EABFBC4C44E69E8BDFED993324E12ED64792ABE289"
                   "CF1D5F"
                   "8103020000",
                   LTD_E_CC_DER, "31-byte fingerprint");
    /* costs at and above 2^53 */
    expect_ful_hex("A231A000A12DA42B8020" FP32 "810720000000000000", LTD_OK, "cost 2^53");
    expect_ful_hex("A231A000A12DA42B8020" FP32 "810720000000000001", LTD_E_CC_DER, "cost 2^53+1");
    expect_ful_hex("A233A000A12FA42D8020" FP32 "8109000000000000000001", LTD_E_CC_DER,
                   "9-byte cost");
    /* subtypes BIT STRING */
    expect_ful_hex("A231A000A12DA22B8020" FP32 "810302000082020308", LTD_OK, "ed25519 subtype");
    expect_ful_hex("A230A000A12CA22A8020" FP32 "8103020000820100", LTD_OK, "empty subtypes");
    expect_ful_hex("A231A000A12DA22B8020" FP32 "810302000082020208", LTD_E_CC_DER,
                   "trailing 0 bit");
    expect_ful_hex("A231A000A12DA22B8020" FP32 "810302000082020309", LTD_E_CC_DER,
                   "unused bit set");
    expect_ful_hex("A231A000A12DA22B8020" FP32 "810302000082020804", LTD_E_CC_DER, "unused 8");
    expect_ful_hex("A230A000A12CA22A8020" FP32 "8103020000820101", LTD_E_CC_DER, "empty, unused 1");
    expect_ful_hex("A231A000A12DA22B8020" FP32 "810302000082020204", LTD_E_CC_TYPE, "type 5 bit");
    expect_ful_hex("A232A000A12EA22C8020" FP32 "81030200008203070080", LTD_E_CC_TYPE, "type 8 bit");
    expect_ful_hex("A231A000A12DA22B8020" FP32 "810302000083020308", LTD_E_CC_DER, "subtypes tag");
}

/* Wraps an ed25519 fulfillment in `levels` 1-of-1 thresholds. */
static size_t
nest(uint8_t *out, size_t cap, int levels)
{
    uint8_t tmp[4096];
    size_t n = unhexv(out, cap, F0004);
    for (int i = 0; i < levels; i++) {
        size_t k = 0, inner = (n < 128 ? 2 : n < 256 ? 3 : 4) + n + 2;
        uint8_t h[4];
        size_t hn;
        /* A2 len { A0 len {child} A1 00 } */
        hn = inner < 128   ? (h[0] = 0xA2, h[1] = (uint8_t)inner, 2)
             : inner < 256 ? (h[0] = 0xA2, h[1] = 0x81, h[2] = (uint8_t)inner, 3)
                           : (h[0] = 0xA2, h[1] = 0x82, h[2] = (uint8_t)(inner >> 8),
                              h[3] = (uint8_t)inner, 4);
        memcpy(tmp + k, h, hn);
        k += hn;
        tmp[k++] = 0xA0;
        if (n < 128) {
            tmp[k++] = (uint8_t)n;
        } else if (n < 256) {
            tmp[k++] = 0x81;
            tmp[k++] = (uint8_t)n;
        } else {
            tmp[k++] = 0x82;
            tmp[k++] = (uint8_t)(n >> 8);
            tmp[k++] = (uint8_t)n;
        }
        memcpy(tmp + k, out, n);
        k += n;
        tmp[k++] = 0xA1;
        tmp[k++] = 0x00;
        if (k > cap)
            abort();
        memcpy(out, tmp, k);
        n = k;
    }
    return n;
}

static void
test_der_depth(void)
{
    uint8_t d[4096];
    size_t n = nest(d, sizeof d, cc_depth_max - 1);
    struct arena a;
    arena_init(&a);
    struct cc_fulfillment *f = ful_roundtrip(&a, d, n); /* leaf at depth 99: fine */
    CHECK(f != NULL);
    if (f) {
        CHECK(cc_fulfillment_verify(f, (const uint8_t *)"", 0));
        struct cc_condition c;
        cc_fulfillment_condition(f, &c);
        CHECK_EQ_INT(c.type, CC_THRESHOLD);
    }
    arena_release(&a);
    n = nest(d, sizeof d, cc_depth_max);
    expect_ful(d, n, LTD_E_CC_DEPTH, "depth 100");
    n = nest(d, sizeof d, cc_depth_max + 20);
    expect_ful(d, n, LTD_E_CC_DEPTH, "depth 120");
}

static void
test_der_sets(void)
{
    uint8_t d[400];
    size_t n = unb64(d, sizeof d, F_2OF2_B64);
    /* swap the two leaves: alice before bob is not DER order */
    uint8_t sw[400];
    memcpy(sw, d, n);
    memcpy(sw + 6, d + 6 + 102, 102);
    memcpy(sw + 6 + 102, d + 6, 102);
    expect_ful(sw, n, LTD_E_CC_DER, "unsorted subfulfillments");
    /* two identical leaves are in order (equal elements) */
    memcpy(sw + 6 + 102, sw + 6, 102);
    expect_ful(sw, n, LTD_OK, "duplicate subfulfillments");
    /* unsorted subconditions */
    char hex[600];
    snprintf(hex, sizeof hex, "A256A000A152%s%s", C_BOB, C_ALICE);
    expect_ful_hex(hex, LTD_E_CC_DER, "unsorted subconditions");
    snprintf(hex, sizeof hex, "A256A000A152%s%s", C_ALICE, C_BOB);
    expect_ful_hex(hex, LTD_OK, "sorted subconditions");
    /* 257 children */
    static uint8_t big[20000];
    size_t k = 0, set = 257 * 41;
    big[k++] = 0xA2;
    big[k++] = 0x82;
    big[k++] = (uint8_t)((set + 6) >> 8);
    big[k++] = (uint8_t)(set + 6);
    big[k++] = 0xA0;
    big[k++] = 0x00;
    big[k++] = 0xA1;
    big[k++] = 0x82;
    big[k++] = (uint8_t)(set >> 8);
    big[k++] = (uint8_t)set;
    uint8_t one[64];
    size_t on = unhexv(one, sizeof one, C_ALICE);
    for (int i = 0; i < 257; i++, k += on)
        memcpy(big + k, one, on);
    expect_ful(big, k, LTD_E_CC_DER, "257 subconditions");
    /* 256 are fine */
    set = 256 * 41;
    big[2] = (uint8_t)((set + 6) >> 8);
    big[3] = (uint8_t)(set + 6);
    big[8] = (uint8_t)(set >> 8);
    big[9] = (uint8_t)set;
    expect_ful(big, k - 41, LTD_OK, "256 subconditions");
    /* larger than cc_der_bytes_max */
    static uint8_t huge[cc_der_bytes_max + 2];
    memset(huge, 0, sizeof huge);
    expect_ful(huge, sizeof huge, LTD_E_CC_DER, "too large");
}

static void
test_der_mutations(void)
{
    /* Random byte edits of valid fulfillments: never crash; anything
     * accepted re-encodes to the same bytes. */
    uint8_t base[400], d[400];
    size_t n = unb64(base, sizeof base, F_1OF2_B64);
    uint32_t s = 7;
    int mismatch = 0, accepted = 0;
    for (int round = 0; round < 20000; round++) {
        memcpy(d, base, n);
        for (int e = 0; e < 1 + round % 3; e++) {
            s = s * 1103515245u + 12345u;
            size_t at = (s >> 8) % n;
            s = s * 1103515245u + 12345u;
            d[at] = (uint8_t)(s >> 16);
        }
        struct arena a;
        arena_init(&a);
        struct cc_fulfillment *f;
        if (cc_fulfillment_decode(&a, d, n, &f, NULL) == LTD_OK) {
            accepted++;
            struct buf b;
            buf_init(&b);
            cc_fulfillment_encode(f, &b);
            mismatch += b.len != n || memcmp(b.p, d, n) != 0;
            buf_release(&b);
        }
        arena_release(&a);
    }
    CHECK_EQ_INT(mismatch, 0);
    CHECK(accepted > 0); /* edits of keys/signatures still parse */
}

static void
test_condition_decode_bad(void)
{
    uint8_t cb[80];
    struct cc_condition c;
    size_t n = unhexv(cb, sizeof cb, C_ALICE);
    int accepted = 0;
    for (size_t k = 0; k < n; k++)
        accepted += cond_dec(cb, k, &c) == LTD_OK;
    CHECK_EQ_INT(accepted, 0);
    cb[n] = 0;
    CHECK_EQ_INT(cond_dec(cb, n + 1, &c), LTD_E_CC_DER);
    CHECK_EQ_INT(c.type | c.cost, 0); /* cleared */
    n = unhexv(cb, sizeof cb, "A4278020" FP32 "8103820000");
    CHECK_EQ_INT(cond_dec(cb, n, &c), LTD_E_CC_DER);
    n = unhexv(cb, sizeof cb, "A5278020" FP32 "8103020000");
    CHECK_EQ_INT(cond_dec(cb, n, &c), LTD_E_CC_TYPE);
    n = unhexv(cb, sizeof cb, "A4288020" FP32 "810400020000");
    CHECK_EQ_INT(cond_dec(cb, n, &c), LTD_E_CC_DER);
    n = unhexv(cb, sizeof cb, "A428802100" FP32 "8103020000");
    CHECK_EQ_INT(cond_dec(cb, n, &c), LTD_E_CC_DER);
    n = unhexv(cb, sizeof cb,
               "A42780"
               "81"
               "20" FP32 "8103020000");
    CHECK_EQ_INT(cond_dec(cb, n, &c), LTD_E_CC_DER);
    n = unhexv(cb, sizeof cb, "A481278020" FP32 "8103020000");
    CHECK_EQ_INT(cond_dec(cb, n, &c), LTD_E_CC_DER);
    /* every type decodes: preimage, prefix, rsa */
    n = unhexv(cb, sizeof cb, "A0258020" FP32 "810100");
    CHECK_EQ_INT(cond_dec(cb, n, &c), LTD_OK);
    CHECK_EQ_STR(uri_of(&c), "ni:///sha-256;eZI5q6j8T_fqv7xMROaei9_tmTMk4S7WR5Kr4onPHV8?fpt="
                             "preimage-sha-256&cost=0");
    n = unhexv(cb, sizeof cb, "A32A8020" FP32 "8106010000000000");
    CHECK_EQ_INT(cond_dec(cb, n, &c), LTD_OK);
    CHECK_EQ_INT(c.cost, 1099511627776ull);
    n = unhexv(cb, sizeof cb, "A12B8020" FP32 "810302000082020308");
    CHECK_EQ_INT(cond_dec(cb, n, &c), LTD_OK);
    CHECK_EQ_STR(uri_of(&c), "ni:///sha-256;eZI5q6j8T_fqv7xMROaei9_tmTMk4S7WR5Kr4onPHV8?fpt="
                             "prefix-sha-256&cost=131072&subtypes=ed25519-sha-256");
    /* INTEGER with the top bit set needs a leading zero: 128 = 00 80 */
    n = unhexv(cb, sizeof cb, "A0268020" FP32 "81020080");
    CHECK_EQ_INT(cond_dec(cb, n, &c), LTD_OK);
    CHECK_EQ_INT(c.cost, 128);
    n = unhexv(cb, sizeof cb, "A0258020" FP32 "810180");
    CHECK_EQ_INT(cond_dec(cb, n, &c), LTD_E_CC_DER);
}

/* ---- URIs ---- */

static void
test_uri_bad(void)
{
    static const char *const bad[] = {
        "",
        "ni:///sha-512;PNYwdxaRaNw60N6LDFzOWO97b8tJeragczakL8PrAPc?fpt=ed25519-sha-256&cost=131072",
        "NI:///sha-256;PNYwdxaRaNw60N6LDFzOWO97b8tJeragczakL8PrAPc?fpt=ed25519-sha-256&cost=131072",
        "ni://sha-256;PNYwdxaRaNw60N6LDFzOWO97b8tJeragczakL8PrAPc?fpt=ed25519-sha-256&cost=131072",
        "ni:///sha-256;PNYwdxaRaNw60N6LDFzOWO97b8tJeragczakL8PrAP?fpt=ed25519-sha-256&cost=131072",
        "ni:///"
        "sha-256;PNYwdxaRaNw60N6LDFzOWO97b8tJeragczakL8PrAPcA?fpt=ed25519-sha-256&cost=131072",
        "ni:///"
        "sha-256;PNYwdxaRaNw60N6LDFzOWO97b8tJeragczakL8PrAPc=?fpt=ed25519-sha-256&cost=131072",
        "ni:///sha-256;PNYwdxaRaNw60N6LDFzOWO97b8tJeragczakL8PrAPd?fpt=ed25519-sha-256&cost=131072",
        "ni:///sha-256;PNYwdxaRaNw60N6LDFzOWO97b8tJeragczakL8Pr+Pc?fpt=ed25519-sha-256&cost=131072",
        "ni:///sha-256;PNYwdxaRaNw60N6LDFzOWO97b8tJeragczakL8PrAPc?fpt=ed25519-sha-512&cost=131072",
        "ni:///sha-256;PNYwdxaRaNw60N6LDFzOWO97b8tJeragczakL8PrAPc?fpt=ED25519-SHA-256&cost=131072",
        "ni:///sha-256;PNYwdxaRaNw60N6LDFzOWO97b8tJeragczakL8PrAPc?cost=131072&fpt=ed25519-sha-256",
        "ni:///sha-256;PNYwdxaRaNw60N6LDFzOWO97b8tJeragczakL8PrAPc?fpt=ed25519-sha-256",
        "ni:///sha-256;PNYwdxaRaNw60N6LDFzOWO97b8tJeragczakL8PrAPc?fpt=ed25519-sha-256&cost=",
        "ni:///"
        "sha-256;PNYwdxaRaNw60N6LDFzOWO97b8tJeragczakL8PrAPc?fpt=ed25519-sha-256&cost=0131072",
        "ni:///sha-256;PNYwdxaRaNw60N6LDFzOWO97b8tJeragczakL8PrAPc?fpt=ed25519-sha-256&cost=-1",
        "ni:///"
        "sha-256;PNYwdxaRaNw60N6LDFzOWO97b8tJeragczakL8PrAPc?fpt=ed25519-sha-256&cost=+131072",
        "ni:///"
        "sha-256;PNYwdxaRaNw60N6LDFzOWO97b8tJeragczakL8PrAPc?fpt=ed25519-sha-256&cost=131072x",
        "ni:///"
        "sha-256;PNYwdxaRaNw60N6LDFzOWO97b8tJeragczakL8PrAPc?fpt=ed25519-sha-256&cost=131072&",
        "ni:///"
        "sha-256;PNYwdxaRaNw60N6LDFzOWO97b8tJeragczakL8PrAPc?fpt=ed25519-sha-256&cost=131072 ",
        "ni:///sha-256;PNYwdxaRaNw60N6LDFzOWO97b8tJeragczakL8PrAPc?fpt=ed25519-sha-256&cost="
        "18446744073709551616",
        "ni:///sha-256;PNYwdxaRaNw60N6LDFzOWO97b8tJeragczakL8PrAPc?fpt=ed25519-sha-256&cost=131072"
        "&subtypes=ed25519-sha-256",
        "ni:///sha-256;PNYwdxaRaNw60N6LDFzOWO97b8tJeragczakL8PrAPc?fpt=ed25519-sha-256&cost=131072"
        "&subtypes=",
        "ni:///"
        "sha-256;l54H4WnHsEY09w42XzThrjl_wjMsXLQr2XUTV0ws43M?fpt=threshold-sha-256&cost=264192",
        "ni:///"
        "sha-256;l54H4WnHsEY09w42XzThrjl_wjMsXLQr2XUTV0ws43M?fpt=threshold-sha-256&cost=264192"
        "&subtypes=ed25519-sha-256,",
        "ni:///"
        "sha-256;l54H4WnHsEY09w42XzThrjl_wjMsXLQr2XUTV0ws43M?fpt=threshold-sha-256&cost=264192"
        "&subtypes=,ed25519-sha-256",
        "ni:///"
        "sha-256;l54H4WnHsEY09w42XzThrjl_wjMsXLQr2XUTV0ws43M?fpt=threshold-sha-256&cost=264192"
        "&subtypes=prefix-sha-256,ed25519-sha-256",
        "ni:///"
        "sha-256;l54H4WnHsEY09w42XzThrjl_wjMsXLQr2XUTV0ws43M?fpt=threshold-sha-256&cost=264192"
        "&subtypes=ed25519-sha-256,ed25519-sha-256",
        "ni:///"
        "sha-256;l54H4WnHsEY09w42XzThrjl_wjMsXLQr2XUTV0ws43M?fpt=threshold-sha-256&cost=264192"
        "&subtypes=foo-sha-256",
        "ni:///"
        "sha-256;l54H4WnHsEY09w42XzThrjl_wjMsXLQr2XUTV0ws43M?fpt=threshold-sha-256&cost=264192"
        "&subtypes=ed25519-sha-256%2Cprefix-sha-256",
        "ni:///"
        "sha-256;l54H4WnHsEY09w42XzThrjl_wjMsXLQr2XUTV0ws43M?fpt=threshold-sha-256&cost=264192"
        "&subtypes=ed25519-sha-256&x=1",
        "ni:///"
        "sha-256;l54H4WnHsEY09w42XzThrjl_wjMsXLQr2XUTV0ws43M?fpt=threshold-sha-256&cost=264192"
        "&subtypes= ed25519-sha-256",
        "ni:///sha-256;l54H4WnHsEY09w42XzThrjl_wjMsXLQr2XUTV0ws43M?fpt=threshold-sha-256&subtypes="
        "ed25519-sha-256&cost=264192",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        struct cc_condition c;
        struct ltd_errbuf eb;
        ltd_errbuf_clear(&eb);
        enum ltd_err rc = cc_condition_from_uri(bad[i], strlen(bad[i]), &c, &eb);
        if (rc != LTD_E_CC_URI)
            fprintf(stderr, "  accepted uri #%zu\n", i);
        CHECK_EQ_INT(rc, LTD_E_CC_URI);
        CHECK_EQ_INT(eb.code, LTD_E_CC_URI);
    }
    /* an embedded NUL, and a length that cuts the URI short */
    struct cc_condition c;
    char nul[200];
    snprintf(nul, sizeof nul, "%s", U_ALICE);
    nul[20] = 0;
    CHECK_EQ_INT(cc_condition_from_uri(nul, strlen(U_ALICE), &c, NULL), LTD_E_CC_URI);
    CHECK_EQ_INT(cc_condition_from_uri(U_ALICE, strlen(U_ALICE) - 1, &c, NULL), LTD_OK);
    CHECK_EQ_INT(c.cost, 13107); /* a prefix of the digits is itself a URI */
    CHECK_EQ_INT(cc_condition_from_uri(U_ALICE, strlen(U_ALICE) - 6, &c, NULL), LTD_E_CC_URI);
}

static void
test_uri_good(void)
{
    /* compound with an empty subtypes list, as both references print it */
    const char *u = "ni:///sha-256;l54H4WnHsEY09w42XzThrjl_wjMsXLQr2XUTV0ws43M?fpt=threshold-sha-"
                    "256&cost=264192&subtypes=";
    struct cc_condition c;
    CHECK_EQ_INT(uri_dec(u, &c), LTD_OK);
    CHECK_EQ_INT(c.subtypes, 0);
    CHECK_EQ_STR(uri_of(&c), u);
    u = "ni:///sha-256;l54H4WnHsEY09w42XzThrjl_wjMsXLQr2XUTV0ws43M?fpt=prefix-sha-256&cost=0&"
        "subtypes=ed25519-sha-256,prefix-sha-256,preimage-sha-256,rsa-sha-256,threshold-sha-256";
    CHECK_EQ_INT(uri_dec(u, &c), LTD_OK);
    CHECK_EQ_INT(c.subtypes, 0x1f);
    CHECK_EQ_STR(uri_of(&c), u);
    u = "ni:///sha-256;l54H4WnHsEY09w42XzThrjl_wjMsXLQr2XUTV0ws43M?fpt=rsa-sha-256&cost="
        "18446744073709551615";
    CHECK_EQ_INT(uri_dec(u, &c), LTD_OK);
    CHECK_EQ_STR(uri_of(&c), u);
    CHECK_EQ_STR(cc_type_name(CC_ED25519), "ed25519-sha-256");
    CHECK(cc_type_name(5) == NULL);
}

/* ---- details JSON ---- */

static enum ltd_err
details_parse(struct arena *a, const char *json, struct cc_details **d, struct ltd_errbuf *eb)
{
    struct cjson *j = NULL;
    ltd_errbuf_clear(eb);
    enum ltd_err rc = cjson_parse(a, json, strlen(json), NULL, &j, eb);
    if (rc != LTD_OK) {
        fprintf(stderr, "  test JSON does not parse: %s\n", eb->msg);
        return rc;
    }
    return cc_details_from_json(a, j, d, eb);
}

#define ED(k) "{\"type\":\"ed25519-sha-256\",\"public_key\":\"" k "\"}"

static void
test_details_good(void)
{
    struct arena a;
    arena_init(&a);
    struct ltd_errbuf eb;
    struct cc_details *d = NULL;
    struct cc_condition c;
    CHECK_EQ_INT(details_parse(&a, ED(ALICE), &d, &eb), LTD_OK);
    if (d) {
        cc_details_condition(d, &c);
        CHECK_EQ_STR(uri_of(&c), U_ALICE);
    }
    const char *two =
        "{\"subconditions\":[" ED(ALICE) "," ED(BOB) "],\"threshold\":2,"
                                                     "\"type\":\"threshold-sha-256\"}";
    CHECK_EQ_INT(details_parse(&a, two, &d, &eb), LTD_OK);
    if (d) {
        cc_details_condition(d, &c);
        CHECK_EQ_STR(uri_of(&c), U_2OF2);
        /* to_json gives back the canonical text of the input */
        struct cjson *j = NULL, *back = cc_details_to_json(&a, d);
        CHECK_EQ_INT(cjson_parse(&a, two, strlen(two), NULL, &j, &eb), LTD_OK);
        struct buf x, y;
        buf_init(&x);
        buf_init(&y);
        cjson_canonical(j, &x);
        cjson_canonical(back, &y);
        CHECK_EQ_STR(y.p, x.p);
        buf_release(&x);
        buf_release(&y);
    }
    const char *nested = "{\"type\":\"threshold-sha-256\",\"threshold\":2,\"subconditions\":[" ED(
        ALICE) ",{\"type\":\"threshold-sha-256\",\"threshold\":1,"
               "\"subconditions\":[" ED(BOB) "," ED(CAROL) "]}]}";
    CHECK_EQ_INT(details_parse(&a, nested, &d, &eb), LTD_OK);
    if (d) {
        cc_details_condition(d, &c);
        CHECK_EQ_STR(uri_of(&c), U_NESTED);
        struct ltd_pubkey keys[3], carol = pk58(CAROL);
        CHECK_EQ_INT(cc_details_pubkeys(d, keys, 3), 3);
        CHECK_EQ_MEM(keys[2].b, carol.b, 32);
    }
    /* threshold 100 of 100 is the upper bound */
    struct buf j;
    buf_init(&j);
    buf_adds(&j, "{\"type\":\"threshold-sha-256\",\"threshold\":100,\"subconditions\":[");
    for (int i = 0; i < 100; i++)
        buf_addf(&j, "%s" ED(ALICE), i ? "," : "");
    buf_adds(&j, "]}");
    CHECK_EQ_INT(details_parse(&a, j.p, &d, &eb), LTD_OK);
    buf_release(&j);
    arena_release(&a);
}

/* `levels` nested 1-of-1 thresholds around alice, as JSON; bad_leaf spoils
 * the innermost key. */
static void
deep_json(struct buf *j, int levels, bool bad_leaf)
{
    for (int i = 0; i < levels; i++)
        buf_adds(j, "{\"type\":\"threshold-sha-256\",\"threshold\":1,\"subconditions\":[");
    buf_adds(j, bad_leaf ? ED("0lIO") : ED(ALICE));
    for (int i = 0; i < levels; i++)
        buf_adds(j, "]}");
}

static void
expect_details(const char *json, enum ltd_err want, const char *path)
{
    struct arena a;
    arena_init(&a);
    struct ltd_errbuf eb;
    struct cc_details *d = (struct cc_details *)1;
    enum ltd_err rc = details_parse(&a, json, &d, &eb);
    if (rc != want || getenv("TEST_VERBOSE"))
        fprintf(stderr, "  details %.60s: got %s (%.120s)\n", json, ltd_err_name(rc), eb.msg);
    CHECK_EQ_INT(rc, want);
    CHECK(rc == LTD_OK || d == NULL);
    if (path && strncmp(eb.msg, path, strlen(path)) != 0)
        fprintf(stderr, "  message '%s' does not start with '%s'\n", eb.msg, path);
    CHECK(path == NULL || strncmp(eb.msg, path, strlen(path)) == 0);
    arena_release(&a);
}

#define THR(t, subs)                                                                               \
    "{\"type\":\"threshold-sha-256\",\"threshold\":" t ",\"subconditions\":[" subs "]}"

static void
test_details_bad(void)
{
    const enum ltd_err E = LTD_E_CC_DETAILS;
    expect_details(THR("0", ED(ALICE)), E, "details.threshold:");
    expect_details(THR("3", ED(ALICE) "," ED(BOB)), E, "details.subconditions:");
    expect_details(THR("101", ED(ALICE)), E, "details.threshold:");
    expect_details(THR("1000000000000000000000", ED(ALICE)), E, "details.threshold:");
    expect_details(THR("-1", ED(ALICE)), E, "details.threshold:");
    expect_details(THR("1.0", ED(ALICE)), E, "details.threshold:");
    expect_details(THR("1e0", ED(ALICE)), E, "details.threshold:");
    expect_details(THR("\"1\"", ED(ALICE)), E, "details.threshold:");
    expect_details(THR("true", ED(ALICE)), E, "details.threshold:");
    expect_details(THR("null", ED(ALICE)), E, "details.threshold:");
    expect_details(THR("1", ""), E, "details.subconditions:");
    expect_details("{\"type\":\"threshold-sha-256\",\"threshold\":1,\"subconditions\":{}}", E,
                   "details.subconditions:");
    expect_details("{\"type\":\"threshold-sha-256\",\"threshold\":1}", E, "details:");
    expect_details("{\"type\":\"threshold-sha-256\",\"subconditions\":[" ED(ALICE) "]}", E,
                   "details:");
    expect_details("{\"type\":\"rsa-sha-256\",\"public_key\":\"" ALICE "\"}", E, "details.type:");
    expect_details("{\"type\":\"preimage-sha-256\",\"preimage\":\"\"}", E, "details.type:");
    expect_details("{\"type\":\"Ed25519-sha-256\",\"public_key\":\"" ALICE "\"}", E, NULL);
    expect_details("{\"type\":7,\"public_key\":\"" ALICE "\"}", E, "details.type:");
    expect_details("{\"public_key\":\"" ALICE "\"}", E, "details:");
    expect_details("{\"type\":\"ed25519-sha-256\"}", E, "details:");
    expect_details("{\"type\":\"ed25519-sha-256\",\"public_key\":\"" ALICE "\",\"x\":1}", E,
                   "details: unexpected key 'x'");
    expect_details("{\"type\":\"ed25519-sha-256\",\"public_key\":\"" ALICE "\",\"uri\":\"\"}", E,
                   NULL);
    expect_details("{\"type\":\"ed25519-sha-256\",\"public_key\":\"" ALICE "\",\"threshold\":1}", E,
                   NULL);
    expect_details(THR("1", ED(ALICE)) "", LTD_OK, NULL);
    expect_details("{\"type\":\"threshold-sha-256\",\"threshold\":1,\"subconditions\":[" ED(
                       ALICE) "],\"public_key\":\"" ALICE "\"}",
                   E, "details: unexpected key 'public_key'");
    expect_details(THR("1", ED(ALICE) ",{\"type\":\"ed25519-sha-256\",\"public_key\":\"" BOB
                                      "\",\"extra\":null}"),
                   E, "details.subconditions[1]: unexpected key 'extra'");
    expect_details(THR("1", ED(ALICE) "," ED("4K9sWUMFwTgaDGPfdynrbxWqWS6sWmKbZoTjxLtVUib0")), E,
                   "details.subconditions[1].public_key:");
    expect_details(ED("1" ALICE), E, "details.public_key:"); /* non-canonical */
    expect_details(ED("4K9sWUMFwTgaDGPfdynrbxWqWS6sWmKbZoTjxLtVUi"), E, "details.public_key:");
    expect_details(ED("JEKNVnkbo3jma5nREBBJCDoXFVeKkD56V3xKrvRmWxFH"), E, "details.public_key:");
    expect_details(ED(""), E, "details.public_key:");
    expect_details("{\"type\":\"ed25519-sha-256\",\"public_key\":5}", E, "details.public_key:");
    expect_details("{\"type\":\"ed25519-sha-256\",\"public_key\":null}", E, "details.public_key:");
    expect_details("[]", E, "details:");
    expect_details("\"ed25519-sha-256\"", E, "details:");
    expect_details("null", E, "details:");
    expect_details(THR("1", "[]"), E, "details.subconditions[0]:");
    expect_details(THR("1", "null"), E, "details.subconditions[0]:");
    expect_details(THR("1", THR("1", "{}")), E, "details.subconditions[0].subconditions[0]:");
    /* 257 subconditions */
    struct buf j;
    buf_init(&j);
    buf_adds(&j, "{\"type\":\"threshold-sha-256\",\"threshold\":1,\"subconditions\":[");
    for (int i = 0; i < 257; i++)
        buf_addf(&j, "%s" ED(ALICE), i ? "," : "");
    buf_adds(&j, "]}");
    expect_details(j.p, E, "details.subconditions:");
    /* depth: 99 thresholds fine, 100 too deep, and a shape error wins */
    buf_reset(&j);
    deep_json(&j, cc_depth_max - 1, false);
    expect_details(j.p, LTD_OK, NULL);
    buf_reset(&j);
    deep_json(&j, cc_depth_max, false);
    expect_details(j.p, LTD_E_TX_THRESHOLD_DEEP, NULL);
    buf_reset(&j);
    deep_json(&j, cc_depth_max + 20, false);
    expect_details(j.p, LTD_E_TX_THRESHOLD_DEEP, NULL);
    buf_reset(&j);
    deep_json(&j, cc_depth_max, true);
    expect_details(j.p, E, "details.subconditions[0]");
    buf_release(&j);
}

static void
test_details_code_built_deep(void)
{
    /* A tree built in code deeper than any JSON the parser accepts. */
    struct arena a;
    arena_init(&a);
    struct cjson *leafj = cjson_new_object(&a);
    cjson_obj_set(&a, leafj, "type", cjson_new_stringz(&a, "ed25519-sha-256"));
    cjson_obj_set(&a, leafj, "public_key", cjson_new_stringz(&a, ALICE));
    struct cjson *cur = leafj;
    for (int i = 0; i < 400; i++) {
        struct cjson *o = cjson_new_object(&a), *arr = cjson_new_array(&a);
        cjson_arr_push(&a, arr, cur);
        cjson_obj_set(&a, o, "type", cjson_new_stringz(&a, "threshold-sha-256"));
        cjson_obj_set(&a, o, "threshold", cjson_new_int(&a, 1));
        cjson_obj_set(&a, o, "subconditions", arr);
        cur = o;
    }
    struct cc_details *d = NULL;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    CHECK_EQ_INT(cc_details_from_json(&a, cur, &d, &eb), LTD_E_TX_THRESHOLD_DEEP);
    CHECK(d == NULL);
    arena_release(&a);
}

int
main(void)
{
    codec_init();
    RUN(test_vector_0004_0015);
    RUN(test_vector_0002);
    RUN(test_vector_0012);
    RUN(test_vector_0008);
    RUN(test_bep13);
    RUN(test_own_conditions);
    RUN(test_1of2_hello);
    RUN(test_transfer_2of2);
    RUN(test_create_input);
    RUN(test_nested_build);
    RUN(test_build_limits);
    RUN(test_der_truncated);
    RUN(test_der_bad_ed25519);
    RUN(test_der_bad_threshold);
    RUN(test_der_depth);
    RUN(test_der_sets);
    RUN(test_der_mutations);
    RUN(test_condition_decode_bad);
    RUN(test_uri_bad);
    RUN(test_uri_good);
    RUN(test_details_good);
    RUN(test_details_bad);
    RUN(test_details_code_built_deep);
    return test_report("cc");
}

/*
 * test_tx.c - transactions: the documented transactions of the protocol doc
 * reproduce byte for byte (ids, signing messages, signatures, fulfillments),
 * and every stateless rule has a test that breaks it (schema, key names,
 * languages, fulfillments, amounts, tightenings, JSON-level attacks).
 */
#include "test.h"

#include "../src/codec.h"
#include "../src/tx.h"

#include <stdlib.h>
#include <string.h>

static const char alice_seed_hex[] =
    "ad564904ee5ac34accc256f8663b30bf8fd4c6e335dcf272ebbe8e6d81407af0";
static const char bob_seed_hex[] =
    "203004b9071ff190ed85277fd6a6b5548810b7329cc4f0767900ad053c0ee109";
static const char carol_seed_b58[] = "sG3jWDtdTXUidBJK53ucSTrosktG616U3tQHBk81eQe";

struct key {
    struct ltd_seed seed;
    struct ltd_pubkey pk;
};
static struct key alice, bob, carol;

static void
keys_init(void)
{
    LTD_ASSERT(hex_decode(alice.seed.b, 32, alice_seed_hex, 64));
    LTD_ASSERT(hex_decode(bob.seed.b, 32, bob_seed_hex, 64));
    LTD_ASSERT(codec_b58_decode32(carol_seed_b58, strlen(carol_seed_b58), carol.seed.b) == LTD_OK);
    codec_ed25519_seed_pubkey(&alice.seed, &alice.pk);
    codec_ed25519_seed_pubkey(&bob.seed, &bob.pk);
    codec_ed25519_seed_pubkey(&carol.seed, &carol.pk);
}

static struct cjson *
json(struct arena *a, const char *text)
{
    struct cjson *v = NULL;
    LTD_ASSERT(cjson_parse(a, text, strlen(text), NULL, &v, NULL) == LTD_OK);
    return v;
}

static char *
canon(const struct tx *t)
{
    struct buf b;
    buf_init(&b);
    tx_serialize(t, &b);
    return buf_detach(&b, NULL);
}

/* The CREATE of §6.4 (alice, {"msg":"Hello BigchainDB!"}, {"sequence":0}). */
static void
build_hello(struct arena *a, struct tx *t)
{
    struct tx_new_output o = {cc_details_ed25519(a, &alice.pk), 1};
    LTD_ASSERT(tx_build_create(a, &alice.pk, 1, json(a, "{\"msg\":\"Hello BigchainDB!\"}"),
                               json(a, "{\"sequence\":0}"), &o, 1, t, NULL) == LTD_OK);
}

static void
build_transfer(struct arena *a, const struct tx *prev, const struct key *from,
               const struct ltd_pubkey *to, const char *metadata, struct tx *t)
{
    struct tx_new_input in = {prev->id, 0, cc_details_ed25519(a, &from->pk)};
    struct tx_new_output o = {cc_details_ed25519(a, to), 1};
    LTD_ASSERT(tx_build_transfer(a, &prev->asset_id, &in, 1, json(a, metadata), &o, 1, t, NULL) ==
               LTD_OK);
    const struct cc_details *spent[1] = {in.details};
    LTD_ASSERT(tx_sign(a, t, &from->seed, spent, false, NULL, NULL) == LTD_OK);
}

static void
test_documented_create(void)
{
    struct arena a;
    arena_init(&a);
    struct tx t;
    build_hello(&a, &t);
    char *u = canon(&t);
    CHECK_EQ_STR(u,
                 "{\"asset\":{\"data\":{\"msg\":\"Hello BigchainDB!\"}},\"id\":null,\"inputs\":[{"
                 "\"fulfillment\":null,\"fulfills\":null,\"owners_before\":[\"4K9sWUMFwTgaDGPfdy"
                 "nrbxWqWS6sWmKbZoTjxLtVUibD\"]}],\"metadata\":{\"sequence\":0},\"operation\":\""
                 "CREATE\",\"outputs\":[{\"amount\":\"1\",\"condition\":{\"details\":{\"public_k"
                 "ey\":\"4K9sWUMFwTgaDGPfdynrbxWqWS6sWmKbZoTjxLtVUibD\",\"type\":\"ed25519-sha-2"
                 "56\"},\"uri\":\"ni:///sha-256;PNYwdxaRaNw60N6LDFzOWO97b8tJeragczakL8PrAPc?fpt="
                 "ed25519-sha-256&cost=131072\"},\"public_keys\":[\"4K9sWUMFwTgaDGPfdynrbxWqWS6s"
                 "WmKbZoTjxLtVUibD\"]}],\"version\":\"2.0\"}");
    free(u);
    struct ltd_hash msg;
    tx_signing_message(&t, 0, &msg);
    char hex[65];
    hex_encode(hex, msg.b, 32);
    CHECK_EQ_STR(hex, "28b73bdcb02e34c72f3a83ce391e91c4220f7f7b36a20c578ac71626dc9e3672");
    CHECK_EQ_INT(tx_sign(&a, &t, &alice.seed, NULL, false, NULL, NULL), LTD_OK);
    CHECK_EQ_STR(t.id_hex, "4957744b3ac54434b8270f2c854cc1040228c82ea4e72d66d2887a4d3e30b317");
    CHECK_EQ_STR(t.in[0].fulfillment_json->str,
                 "pGSAIDE5i63cn4X8T8N1sZ2mGkJD5lNRnBM4PZgI_zvzbr-cgUCy4BR6gKaYT-tdyAGPPpknIqI4JYQQ-"
                 "p2nCg3_9BfOI-15vzldhyz-j_LZVpqAlRmbTzKS-Q5gs7ZIFaZCA_UD");
    CHECK_EQ_INT(tx_verify_create(&t, NULL), LTD_OK);
    CHECK_EQ_INT(tx_check_strict(&t, NULL), LTD_OK);
    arena_release(&a);
}

static const char driver_create[] =
    "{\"id\":\"4957744b3ac54434b8270f2c854cc1040228c82ea4e72d66d2887a4d3e30b317\",\"operation\":"
    "\"CREATE\",\"outputs\":[{\"condition\":{\"details\":{\"type\":\"ed25519-sha-256\",\"public_ke"
    "y\":\"4K9sWUMFwTgaDGPfdynrbxWqWS6sWmKbZoTjxLtVUibD\"},\"uri\":\"ni:///sha-256;PNYwdxaRaNw60N6"
    "LDFzOWO97b8tJeragczakL8PrAPc?fpt=ed25519-sha-256&cost=131072\"},\"amount\":\"1\",\"public_key"
    "s\":[\"4K9sWUMFwTgaDGPfdynrbxWqWS6sWmKbZoTjxLtVUibD\"]}],\"inputs\":[{\"fulfillment\":\"pGSAID"
    "E5i63cn4X8T8N1sZ2mGkJD5lNRnBM4PZgI_zvzbr-cgUCy4BR6gKaYT-tdyAGPPpknIqI4JYQQ-p2nCg3_9BfOI-15vzl"
    "dhyz-j_LZVpqAlRmbTzKS-Q5gs7ZIFaZCA_UD\",\"fulfills\":null,\"owners_before\":[\"4K9sWUMFwTgaDGP"
    "fdynrbxWqWS6sWmKbZoTjxLtVUibD\"]}],\"metadata\":{\"sequence\":0},\"asset\":{\"data\":{\"msg\":"
    "\"Hello BigchainDB!\"}},\"version\":\"2.0\"}";

static void
test_driver_create_parses(void)
{
    struct arena a;
    arena_init(&a);
    struct tx t;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    CHECK_EQ_INT(tx_parse(&a, driver_create, strlen(driver_create), 0, &t, &eb), LTD_OK);
    CHECK_EQ_STR(t.id_hex, "4957744b3ac54434b8270f2c854cc1040228c82ea4e72d66d2887a4d3e30b317");
    CHECK_EQ_INT(t.op, TX_CREATE);
    CHECK_EQ_INT(tx_verify_create(&t, NULL), LTD_OK);
    CHECK_EQ_INT(tx_check_strict(&t, NULL), LTD_OK);
    arena_release(&a);
}

static void
test_documented_transfers(void)
{
    struct arena a;
    arena_init(&a);
    struct tx c, t1, t2;
    build_hello(&a, &c);
    LTD_ASSERT(tx_sign(&a, &c, &alice.seed, NULL, false, NULL, NULL) == LTD_OK);
    build_transfer(&a, &c, &alice, &bob.pk, "{\"sequence\":1}", &t1);
    CHECK_EQ_STR(t1.id_hex, "79ef6803210c941903d63d08b40fa17f0a5a04f11ac0ff04451553a187d97a30");
    struct ltd_hash msg;
    tx_signing_message(&t1, 0, &msg);
    char hex[129];
    hex_encode(hex, msg.b, 32);
    CHECK_EQ_STR(hex, "ba82b9c74be97e39dd12427ffb734b7876e5b4618a9370cb7ceebac6bd76e5ff");
    hex_encode(hex, t1.in[0].ff->sig.b, 64);
    CHECK_EQ_STR(hex, "18448f24cca69972b5befdabd0ac0224e6afbba3fed4e9b881be81e4d62a012ea1d205c13f3"
                      "c074d11a7967ac0005bf1de0aa35458a689e4bce8e4d7f3ed080d");
    CHECK_EQ_INT(tx_verify_input(&t1, 0, c.out[0].details, &msg, NULL), LTD_OK);
    build_transfer(&a, &t1, &bob, &carol.pk, "{\"sequence\":2}", &t2);
    CHECK_EQ_STR(t2.id_hex, "1fec726a3b426498147f1a1f19a92c187d551a7f66db4b88d666d7dcc10e86a4");
    CHECK_EQ_STR(t2.in[0].fulfillment_json->str,
                 "pGSAICw7Ul-c2lG6NFbHp3FbKRC7fivQcNGO7GS4wV3A-1QggUARCMty2JBK_OyPJntWEFxDG4-VbKMy8"
                 "53NtqwnPib5QUJIuwPQa1Y4aN2iIBuoqGE85Pmjcc1ScG9FCPSQHacK");
    /* the serialized transfer parses back with the same id */
    char *body = canon(&t2);
    struct tx back;
    CHECK_EQ_INT(tx_parse(&a, body, strlen(body), 0, &back, NULL), LTD_OK);
    CHECK_EQ_STR(back.id_hex, t2.id_hex);
    free(body);
    arena_release(&a);
}

/* The id, the signing messages and the serialization of a parse that kept
 * its canonical text equal those written from the tree. */
static void
same_as_tree(const struct tx *t)
{
    struct tx plain = *t;
    plain.text = NULL;
    struct ltd_hash a, b, ma[4], mb[4];
    tx_compute_id(t, &a);
    tx_compute_id(&plain, &b);
    CHECK_EQ_MEM(a.b, b.b, 32);
    LTD_ASSERT(t->n_in <= 4);
    tx_signing_messages(t, ma);
    tx_signing_messages(&plain, mb);
    for (uint32_t i = 0; i < t->n_in; i++)
        CHECK_EQ_MEM(ma[i].b, mb[i].b, 32);
    char *x = canon(t), *y = canon(&plain);
    CHECK_EQ_STR(x, y);
    free(y);
    free(x);
}

static void
test_canonical_text(void)
{
    struct arena a;
    arena_init(&a);
    struct tx c, t1, back;
    struct tx_new_output o = {cc_details_ed25519(&a, &alice.pk), 1};
    LTD_ASSERT(tx_build_create(&a, &alice.pk, 1,
                               json(&a, "{\"q\":\"say \\\"hi\\\"\\n\\u0001\",\"z\":[1.5,-2]}"),
                               json(&a, "{\"note\":\"\xe8\xae\xb2\xe5\xba\xa7\"}"), &o, 1, &c,
                               NULL) == LTD_OK);
    LTD_ASSERT(tx_sign(&a, &c, &alice.seed, NULL, false, NULL, NULL) == LTD_OK);
    CHECK(c.text == NULL); /* built, not parsed */
    build_transfer(&a, &c, &alice, &bob.pk, "{\"sequence\":1}", &t1);
    const struct tx *src[] = {&c, &t1};
    for (size_t k = 0; k < 2; k++) {
        char *body = canon(src[k]);
        CHECK_EQ_INT(tx_parse(&a, body, strlen(body), 0, &back, NULL), LTD_OK);
        CHECK(back.text != NULL && back.text != body && back.text_len == strlen(body));
        CHECK_EQ_STR(back.id_hex, src[k]->id_hex);
        same_as_tree(&back);
        /* not canonical (a space): no text kept, the same id */
        size_t n = strlen(body);
        char *spaced = malloc(n + 2);
        spaced[0] = '{';
        spaced[1] = ' ';
        memcpy(spaced + 2, body + 1, n);
        CHECK_EQ_INT(tx_parse(&a, spaced, n + 1, 0, &back, NULL), LTD_OK);
        CHECK(back.text == NULL);
        CHECK_EQ_STR(back.id_hex, src[k]->id_hex);
        char *re = canon(&back);
        CHECK_EQ_STR(re, body);
        free(re);
        free(spaced);
        /* a wrong id is still found (InvalidHash) when the text is kept */
        char *bad = strdup(body);
        char *idv = strstr(bad, "\"id\":\"") + 6;
        idv[0] = idv[0] == '0' ? '1' : '0';
        CHECK_EQ_INT(tx_parse(&a, bad, strlen(bad), 0, &back, NULL), LTD_E_TX_HASH);
        free(bad);
        free(body);
    }
    /* unsigned (id and fulfillment null): the text is kept, the cuts are
     * not strings, so the tree is written; co-signing drops the text */
    struct tx u;
    struct tx_new_output o2 = {cc_details_ed25519(&a, &bob.pk), 1};
    LTD_ASSERT(tx_build_create(&a, &alice.pk, 1, json(&a, "{\"k\":1}"), NULL, &o2, 1, &u, NULL) ==
               LTD_OK);
    char *ub = canon(&u);
    CHECK_EQ_INT(tx_parse(&a, ub, strlen(ub), TX_FLAG_UNSIGNED, &back, NULL), LTD_OK);
    CHECK(back.text != NULL);
    same_as_tree(&back);
    CHECK_EQ_INT(tx_sign(&a, &back, &alice.seed, NULL, false, NULL, NULL), LTD_OK);
    CHECK(back.text == NULL);
    char *signed_body = canon(&back);
    CHECK(strcmp(signed_body, ub) != 0);
    struct tx again;
    CHECK_EQ_INT(tx_parse(&a, signed_body, strlen(signed_body), 0, &again, NULL), LTD_OK);
    CHECK_EQ_STR(again.id_hex, back.id_hex);
    CHECK_EQ_INT(tx_verify_create(&again, NULL), LTD_OK);
    free(signed_body);
    free(ub);
    arena_release(&a);
}

static void
build_threshold_pair(struct arena *a, struct tx *c, struct tx *t, bool bob_signs)
{
    struct cc_details *subs[2] = {cc_details_ed25519(a, &alice.pk), cc_details_ed25519(a, &bob.pk)};
    struct tx_new_output o = {cc_details_threshold(a, 2, 2, subs), 1};
    LTD_ASSERT(tx_build_create(a, &alice.pk, 1, json(a, "{\"msg\":\"threshold demo\"}"), NULL, &o,
                               1, c, NULL) == LTD_OK);
    LTD_ASSERT(tx_sign(a, c, &alice.seed, NULL, false, NULL, NULL) == LTD_OK);
    struct tx_new_input in = {c->id, 0, c->out[0].details};
    struct tx_new_output o2 = {cc_details_ed25519(a, &carol.pk), 1};
    LTD_ASSERT(tx_build_transfer(a, &c->id, &in, 1, NULL, &o2, 1, t, NULL) == LTD_OK);
    const struct cc_details *spent[1] = {in.details};
    LTD_ASSERT(tx_sign(a, t, &alice.seed, spent, true, NULL, NULL) == LTD_OK);
    if (bob_signs)
        LTD_ASSERT(tx_sign(a, t, &bob.seed, spent, true, NULL, NULL) == LTD_OK);
}

static void
test_documented_threshold(void)
{
    struct arena a;
    arena_init(&a);
    struct tx c, t;
    build_threshold_pair(&a, &c, &t, true);
    CHECK_EQ_STR(c.id_hex, "6d2d45a6094408f229536fc14e03b6c8301194a344a1485af271b8c7327ad2f8");
    CHECK_EQ_STR(t.id_hex, "9132d8fc0eba6336e2eaaf9dc1490aeada20b702d6a02e3748bbe081753548b3");
    CHECK_EQ_STR(
        t.in[0].fulfillment_json->str,
        "ooHRoIHMpGSAICw7Ul-c2lG6NFbHp3FbKRC7fivQcNGO7GS4wV3A-1QggUAjXnmTznDb1lKuuc63sAHGjup1"
        "drsBmLdNyJifqZG8uL1kZxa_Ffs2BNW-8HBbQMndYORf9u4WJT_jUPxABLwPpGSAIDE5i63cn4X8T8N1sZ2m"
        "GkJD5lNRnBM4PZgI_zvzbr-cgUBPCW6otDMZ_LXXSYsHRs7DbN2mYGkrkNnEu4TEMBc6HKaVnO7kT121bfXK"
        "z2iEEjcITHkwUzAJj-gZfoLbuG8EoQA");
    struct ltd_hash msg;
    tx_signing_message(&t, 0, &msg);
    CHECK_EQ_INT(tx_verify_input(&t, 0, c.out[0].details, &msg, NULL), LTD_OK);
    CHECK_EQ_INT(tx_check_strict(&t, NULL), LTD_OK);
    arena_release(&a);
}

/* A 2-of-2 output spent with one signature, or with a 1-of-2 fulfillment,
 * or with a substituted key, is refused. */
static void
test_threshold_negative(void)
{
    struct arena a;
    arena_init(&a);
    struct tx c, t;
    build_threshold_pair(&a, &c, &t, false);
    CHECK(!t.has_id); /* incomplete: id stays null */
    struct ltd_hash msg;
    tx_signing_message(&t, 0, &msg);
    CHECK_EQ_INT(tx_verify_input(&t, 0, c.out[0].details, &msg, NULL), LTD_E_TX_SIGNATURE);
    /* carol signs in bob's place: her key is not in the condition */
    const struct cc_details *spent[1] = {c.out[0].details};
    CHECK_EQ_INT(tx_sign(&a, &t, &carol.seed, spent, true, NULL, NULL), LTD_E_TX_SIGN_KEY);
    /* a fulfillment of 1-of-2 (alice, bob) does not fulfil the 2-of-2 */
    struct cc_details *subs[2] = {cc_details_ed25519(&a, &alice.pk),
                                  cc_details_ed25519(&a, &bob.pk)};
    struct cc_details *one_of_two = cc_details_threshold(&a, 1, 2, subs);
    struct cc_signer s = {.pk = alice.pk};
    codec_ed25519_sign(&alice.seed, msg.b, 32, &s.sig);
    struct cc_fulfillment *ff = NULL;
    CHECK_EQ_INT(cc_fulfillment_build(&a, one_of_two, &s, 1, false, &ff, NULL), LTD_OK);
    t.in[0].ff = ff;
    CHECK_EQ_INT(tx_verify_input(&t, 0, c.out[0].details, &msg, NULL), LTD_E_TX_SIGNATURE);
    /* spending a single-key output of alice with a 2-of-2 fulfillment: condition differs */
    struct cc_details *alice_only = cc_details_ed25519(&a, &alice.pk);
    CHECK_EQ_INT(tx_verify_input(&t, 0, alice_only, &msg, NULL), LTD_E_TX_SIGNATURE);
    arena_release(&a);
}

/* ---- mutations of a valid CREATE: each breaks exactly one rule ---- */

static struct cjson *
in0_of(struct cjson *root)
{
    return cjson_get(root, "inputs")->items[0];
}

/* Recomputes the id of root (after a mutation) so the id check passes. */
static void
reid(struct arena *a, struct cjson *root)
{
    cjson_obj_set(a, root, "id", cjson_new_null(a));
    struct buf b;
    buf_init(&b);
    cjson_canonical(root, &b);
    struct ltd_hash h;
    codec_sha3_256(&h, b.p, b.len);
    char hex[65];
    hex_encode(hex, h.b, 32);
    cjson_obj_set(a, root, "id", cjson_new_stringz(a, hex));
    buf_release(&b);
}

/* Parses driver_create, applies `mut` (a JSON path edit) and returns the
 * error of parse (+ verify + strict when parse passes). */
typedef void (*mutator)(struct arena *a, struct cjson *root);

/* Alice signs whatever the mutated CREATE now says (as a careless or
 * malicious signer would), so that rules after the signature are reached. */
static void
resign_alice(struct arena *a, struct cjson *root)
{
    cjson_obj_set(a, root, "id", cjson_new_null(a));
    cjson_obj_set(a, in0_of(root), "fulfillment", cjson_new_null(a));
    struct buf b;
    buf_init(&b);
    cjson_canonical(root, &b);
    struct ltd_hash msg;
    codec_sha3_256(&msg, b.p, b.len);
    struct cc_fulfillment ff;
    memset(&ff, 0, sizeof ff);
    ff.type = CC_ED25519;
    ff.pubkey = alice.pk;
    codec_ed25519_sign(&alice.seed, msg.b, 32, &ff.sig);
    buf_reset(&b);
    cc_fulfillment_encode(&ff, &b);
    struct buf b64;
    buf_init(&b64);
    codec_b64url_encode((const uint8_t *)b.p, b.len, &b64);
    cjson_obj_set(a, in0_of(root), "fulfillment", cjson_new_string(a, b64.p, b64.len));
    buf_release(&b);
    buf_release(&b64);
}

static enum ltd_err
run_mutation(mutator mut, int fix_id, char *msg, size_t cap)
{
    struct arena a;
    arena_init(&a);
    struct cjson *root = json(&a, driver_create);
    mut(&a, root);
    if (fix_id == 2)
        resign_alice(&a, root);
    if (fix_id)
        reid(&a, root);
    struct buf b;
    buf_init(&b);
    cjson_canonical(root, &b);
    struct tx t;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    enum ltd_err e = tx_parse(&a, b.p, b.len, 0, &t, &eb);
    if (e == LTD_OK)
        e = tx_verify_create(&t, &eb);
    if (e == LTD_OK)
        e = tx_check_strict(&t, &eb);
    if (msg)
        snprintf(msg, cap, "%s", eb.msg);
    buf_release(&b);
    arena_release(&a);
    return e;
}

#define ROOT_SET(name, key, text)                                                                  \
    static void name(struct arena *a, struct cjson *root)                                          \
    {                                                                                              \
        cjson_obj_set(a, root, key, json(a, text));                                                \
    }

static void
m_none(struct arena *a, struct cjson *root)
{
    (void)a;
    (void)root;
}
static void
m_drop_version(struct arena *a, struct cjson *root)
{
    (void)a;
    struct cjson *n = cjson_new_object(a);
    for (uint32_t i = 0; i < root->len; i++)
        if (strcmp(root->members[i].key, "version") != 0)
            cjson_obj_set(a, n, root->members[i].key, root->members[i].val);
    *root = *n;
}
ROOT_SET(m_version_1, "version", "\"1.0\"")
ROOT_SET(m_extra_key, "foo", "1")
ROOT_SET(m_op_vote, "operation", "\"VOTE\"")
ROOT_SET(m_meta_empty, "metadata", "{}")
ROOT_SET(m_meta_array, "metadata", "[1]")
ROOT_SET(m_asset_extra, "asset", "{\"data\":null,\"id\":\"x\"}")
ROOT_SET(m_asset_string, "asset", "{\"data\":\"text\"}")
ROOT_SET(m_key_dollar, "asset", "{\"data\":{\"$where\":1}}")
ROOT_SET(m_key_dot, "metadata", "{\"a\":[{\"b.c\":1}]}")
ROOT_SET(m_key_nul, "asset", "{\"data\":{\"a\\u0000b\":1}}")
ROOT_SET(m_language, "metadata", "{\"x\":{\"language\":\"klingon\"}}")
ROOT_SET(m_language_ok, "metadata", "{\"x\":{\"language\":\"english\"}}")
ROOT_SET(m_inputs_empty, "inputs", "[]")
ROOT_SET(m_outputs_empty, "outputs", "[]")

static struct cjson *
out0(struct cjson *root)
{
    return cjson_get(root, "outputs")->items[0];
}
static struct cjson *
in0(struct cjson *root)
{
    return cjson_get(root, "inputs")->items[0];
}
#define OUT_SET(name, key, text)                                                                   \
    static void name(struct arena *a, struct cjson *root)                                          \
    {                                                                                              \
        cjson_obj_set(a, out0(root), key, json(a, text));                                          \
    }
#define IN_SET(name, key, text)                                                                    \
    static void name(struct arena *a, struct cjson *root)                                          \
    {                                                                                              \
        cjson_obj_set(a, in0(root), key, json(a, text));                                           \
    }
OUT_SET(m_amount_0, "amount", "\"0\"")
OUT_SET(m_amount_abc, "amount", "\"abc\"")
OUT_SET(m_amount_int, "amount", "1")
OUT_SET(m_amount_21, "amount", "\"100000000000000000000\"")
OUT_SET(m_amount_over, "amount", "\"9000000000000000001\"")
OUT_SET(m_amount_max, "amount", "\"9000000000000000000\"")
OUT_SET(m_amount_lead0, "amount", "\"01\"")
OUT_SET(m_pubkeys_lie, "public_keys", "[\"3yfQPHeWAa1MxTX9Zf9176QqcpcnWcanVZZbaHb8B3h9\"]")
OUT_SET(m_pubkeys_null, "public_keys", "null")
OUT_SET(m_pubkeys_bad, "public_keys", "[\"0OIl\"]")
IN_SET(m_owner_other, "owners_before", "[\"3yfQPHeWAa1MxTX9Zf9176QqcpcnWcanVZZbaHb8B3h9\"]")
IN_SET(m_owner_noncanon, "owners_before", "[\"14K9sWUMFwTgaDGPfdynrbxWqWS6sWmKbZoTjxLtVUibD\"]")
IN_SET(m_fulfills_set, "fulfills",
       "{\"transaction_id\":\"4957744b3ac54434b8270f2c854cc1040228c82ea4e72d66d2887a4d3e30b317\","
       "\"output_index\":0}")
IN_SET(m_ff_preimage, "fulfillment", "\"oAKAAA\"")
IN_SET(m_ff_garbage, "fulfillment", "\"AAAA\"")
IN_SET(m_ff_badchar, "fulfillment", "\"pGSA+/==\"")
IN_SET(m_ff_null, "fulfillment", "null")
IN_SET(m_ff_object, "fulfillment", "{\"type\":\"ed25519-sha-256\"}")
IN_SET(m_ff_other_sig, "fulfillment",
       "\"pGSAIDE5i63cn4X8T8N1sZ2mGkJD5lNRnBM4PZgI_zvzbr-cgUAYRI8kzKaZcrW-_avQrAIk5q-7o_7U6biBvoH"
       "k1ioBLqHSBcE_PAdNEaeWesAAW_HeCqNUWKaJ5Lzo5Nfz7QgN\"")
IN_SET(m_ff_flipped, "fulfillment",
       "\"pGSAIDE5i63cn4X8T8N1sZ2mGkJD5lNRnBM4PZgI_zvzbr-cgUCy4BR6gKaYT-tdyAGPPpknIqI4JYQQ-p2nCg"
       "3_9BfOI-15vzldhyz-j_LZVpqAlRmbTzKS-Q5gs7ZIFaZCA_UE\"")

static void
m_uri_other(struct arena *a, struct cjson *root)
{
    struct cjson *cond = cjson_get(out0(root), "condition");
    cjson_obj_set(a, cond, "uri",
                  json(a, "\"ni:///sha-256;lu6ov4AKkee6KWGnyjOVLBeyuP0bz4-O6_dPi15eYUc?fpt=ed25519-"
                          "sha-256&cost=131072\""));
}
static void
m_uri_garbage(struct arena *a, struct cjson *root)
{
    cjson_obj_set(a, cjson_get(out0(root), "condition"), "uri", json(a, "\"http://x\""));
}
static void
m_details_type(struct arena *a, struct cjson *root)
{
    struct cjson *d = cjson_get(cjson_get(out0(root), "condition"), "details");
    cjson_obj_set(a, d, "type", json(a, "\"rsa-sha-256\""));
}
static void
m_details_deep(struct arena *a, struct cjson *root)
{
    /* 101 nested 1-of-1 thresholds around alice's key */
    struct buf b;
    buf_init(&b);
    for (int i = 0; i < 101; i++)
        buf_adds(&b, "{\"type\":\"threshold-sha-256\",\"threshold\":1,\"subconditions\":[");
    buf_adds(&b, "{\"type\":\"ed25519-sha-256\",\"public_key\":\"4K9sWUMFwTgaDGPfdynrbxWqWS6sWmKbZo"
                 "TjxLtVUibD\"}");
    for (int i = 0; i < 101; i++)
        buf_adds(&b, "]}");
    cjson_obj_set(a, cjson_get(out0(root), "condition"), "details", json(a, b.p));
    buf_release(&b);
}
static void
m_three_max_outputs(struct arena *a, struct cjson *root)
{
    struct cjson *outs = cjson_get(root, "outputs");
    struct cjson *o = outs->items[0];
    cjson_obj_set(a, o, "amount", json(a, "\"9000000000000000000\""));
    cjson_arr_push(a, outs, cjson_clone(a, o));
    cjson_arr_push(a, outs, cjson_clone(a, o));
}
static void
m_id_missing(struct arena *a, struct cjson *root)
{
    struct cjson *n = cjson_new_object(a);
    for (uint32_t i = 0; i < root->len; i++)
        if (strcmp(root->members[i].key, "id") != 0)
            cjson_obj_set(a, n, root->members[i].key, root->members[i].val);
    *root = *n;
}
ROOT_SET(m_id_null, "id", "null")
ROOT_SET(m_id_wrong, "id", "\"0000000000000000000000000000000000000000000000000000000000000000\"")
ROOT_SET(m_id_upper, "id", "\"4957744B3AC54434B8270F2C854CC1040228C82EA4E72D66D2887A4D3E30B317\"")
ROOT_SET(m_meta_change, "metadata", "{\"sequence\":1}")

struct mcase {
    const char *name;
    mutator fn;
    int fix_id; /* 0 keep id, 1 recompute id, 2 re-sign by alice and recompute id */
    enum ltd_err want;
    const char *msg_part;
};

static const struct mcase mcases[] = {
    {"unchanged", m_none, false, LTD_OK, NULL},
    {"unchanged, re-id", m_none, 2, LTD_OK, NULL},
    {"language english", m_language_ok, 2, LTD_OK, NULL},
    {"amount at max", m_amount_max, 2, LTD_OK, NULL},
    {"three outputs of 9e18 (no wrap)", m_three_max_outputs, 2, LTD_OK, NULL},
    {"id missing", m_id_missing, false, LTD_E_TX_NO_ID, "No transaction id found!"},
    {"id null", m_id_null, false, LTD_E_TX_HASH, "The transaction's id 'None' isn't equal"},
    {"id wrong", m_id_wrong, false, LTD_E_TX_HASH, "isn't equal to the hash of its body"},
    {"id uppercase", m_id_upper, false, LTD_E_TX_HASH, NULL},
    {"body changed, id kept", m_meta_change, false, LTD_E_TX_HASH, NULL},
    {"version missing", m_drop_version, true, LTD_E_TX_SCHEMA, "'version' is a required property"},
    {"version 1.0", m_version_1, true, LTD_E_TX_SCHEMA, "does not match"},
    {"extra key", m_extra_key, true, LTD_E_TX_SCHEMA, "Additional properties are not allowed"},
    {"operation VOTE", m_op_vote, true, LTD_E_TX_SCHEMA, "is not one of"},
    {"metadata {}", m_meta_empty, true, LTD_E_TX_SCHEMA, "does not have enough properties"},
    {"metadata array", m_meta_array, true, LTD_E_TX_SCHEMA, "is not of type 'object'"},
    {"asset extra key", m_asset_extra, true, LTD_E_TX_SCHEMA, "Additional properties"},
    {"asset data string", m_asset_string, true, LTD_E_TX_SCHEMA, "is not of type 'object'"},
    {"inputs empty", m_inputs_empty, true, LTD_E_TX_SCHEMA, "too short"},
    {"owners_before bad base58", m_owner_noncanon, true, LTD_E_TX_SCHEMA, "base58"},
    {"fulfills on CREATE", m_fulfills_set, true, LTD_E_TX_SCHEMA, "is not of type 'null'"},
    {"amount abc", m_amount_abc, true, LTD_E_TX_SCHEMA, "does not match '^[0-9]{1,20}$'"},
    {"amount integer", m_amount_int, true, LTD_E_TX_SCHEMA, "is not of type 'string'"},
    {"amount 21 digits", m_amount_21, true, LTD_E_TX_SCHEMA, "does not match"},
    {"public_keys bad", m_pubkeys_bad, true, LTD_E_TX_SCHEMA, "base58"},
    {"uri not ni:", m_uri_garbage, true, LTD_E_TX_SCHEMA, "uri"},
    {"details type rsa", m_details_type, true, LTD_E_TX_SCHEMA, "details"},
    {"key $where", m_key_dollar, true, LTD_E_TX_KEY_NAME, "in asset object"},
    {"key a.b in metadata array", m_key_dot, true, LTD_E_TX_KEY_NAME, "in metadata object"},
    {"key with NUL", m_key_nul, true, LTD_E_TX_KEY_NAME, "null characters"},
    {"language klingon", m_language, true, LTD_E_TX_LANGUAGE, "MongoDB does not support"},
    {"fulfillment garbage", m_ff_garbage, true, LTD_E_TX_FULFILLMENT, "couldn't been parsed"},
    {"fulfillment bad chars", m_ff_badchar, true, LTD_E_TX_SCHEMA, "fulfillment"},
    {"fulfillment null", m_ff_null, true, LTD_E_TX_NOT_SIGNED, NULL},
    {"fulfillment object", m_ff_object, true, LTD_E_TX_NOT_SIGNED, NULL},
    {"amount 0", m_amount_0, true, LTD_E_TX_AMOUNT, "must be greater than 0"},
    {"amount 9e18+1", m_amount_over, true, LTD_E_TX_AMOUNT, "must be <= 9000000000000000000"},
    {"amount leading zero", m_amount_lead0, true, LTD_E_TX_AMOUNT, "Invalid amount"},
    {"details 101 deep", m_details_deep, true, LTD_E_TX_THRESHOLD_DEEP, NULL},
    {"signature of another message", m_ff_other_sig, true, LTD_E_TX_SIGNATURE,
     "Transaction signature is invalid."},
    {"signature bit flipped", m_ff_flipped, true, LTD_E_TX_SIGNATURE, NULL},
    {"preimage fulfillment (reference accepts)", m_ff_preimage, true, LTD_E_TX_UNSIGNED, NULL},
    {"uri of another key", m_uri_other, 2, LTD_E_TX_URI, "uri"},
    {"public_keys lie", m_pubkeys_lie, 2, LTD_E_TX_PUBKEYS, "public_keys"},
    {"public_keys null", m_pubkeys_null, 2, LTD_E_TX_PUBKEYS, NULL},
    {"owners_before another key", m_owner_other, 2, LTD_E_TX_OWNERS, "owners_before"},
    {"outputs empty (reference accepts)", m_outputs_empty, 2, LTD_OK, NULL},
};

static void
test_mutations(void)
{
    int pos = 0, neg = 0;
    for (size_t i = 0; i < ARRAY_LEN(mcases); i++) {
        const struct mcase *c = &mcases[i];
        char msg[512] = {0};
        test_current = c->name;
        enum ltd_err e = run_mutation(c->fn, c->fix_id, msg, sizeof msg);
        if (e != c->want)
            fprintf(stderr, "  case '%s': got %s (%s) want %s\n", c->name, ltd_err_name(e), msg,
                    ltd_err_name(c->want));
        CHECK_EQ_INT(e, c->want);
        if (c->msg_part) {
            if (strstr(msg, c->msg_part) == NULL)
                fprintf(stderr, "  case '%s': message '%s' lacks '%s'\n", c->name, msg,
                        c->msg_part);
            CHECK(strstr(msg, c->msg_part) != NULL);
        }
        if (c->want == LTD_OK)
            pos++;
        else
            neg++;
    }
    CHECK(neg >= pos);
}

/* ---- JSON-level attacks on the whole body ---- */

static enum ltd_err
parse_text(const char *s, size_t n)
{
    struct arena a;
    arena_init(&a);
    struct tx t;
    enum ltd_err e = tx_parse(&a, s, n, 0, &t, NULL);
    arena_release(&a);
    return e;
}

static void
test_json_attacks(void)
{
    /* duplicate key */
    const char dup[] = "{\"id\":null,\"id\":null}";
    CHECK_EQ_INT(parse_text(dup, sizeof dup - 1), LTD_E_JSON_DUP_KEY);
    /* bad UTF-8 and lone surrogates */
    const char bad_utf8[] = "{\"id\":\"\xc0\x80\"}";
    CHECK_EQ_INT(parse_text(bad_utf8, sizeof bad_utf8 - 1), LTD_E_JSON_UTF8);
    const char lone[] = "{\"id\":\"\\ud800\"}";
    CHECK_EQ_INT(parse_text(lone, sizeof lone - 1), LTD_E_JSON_SURROGATE);
    /* depth 100,000 */
    size_t n = 100000;
    char *deep = xmalloc(n + 1);
    memset(deep, '[', n);
    deep[n] = 0;
    CHECK_EQ_INT(parse_text(deep, n), LTD_E_JSON_DEPTH);
    free(deep);
    /* a 10 MB string: refused before parsing (over tx_bytes_max) */
    size_t big = 10u << 20;
    char *s = xmalloc(big + 16);
    memcpy(s, "{\"id\":\"", 7);
    memset(s + 7, 'a', big);
    memcpy(s + 7 + big, "\"}", 3);
    CHECK_EQ_INT(parse_text(s, big + 9), LTD_E_JSON_TOO_LARGE);
    free(s);
    /* not an object at all */
    CHECK_EQ_INT(parse_text("[1]", 3), LTD_E_TX_SCHEMA);
    CHECK_EQ_INT(parse_text("", 0), LTD_E_JSON_SYNTAX);
    /* every truncation of a valid transaction fails cleanly */
    size_t len = strlen(driver_create);
    int failures = 0;
    for (size_t k = 0; k < len; k++)
        failures += parse_text(driver_create, k) != LTD_OK;
    CHECK_EQ_INT(failures, (long long)len);
}

/* CREATE by two issuers: one input, n-of-n threshold fulfillment. */
static void
test_multi_issuer_create(void)
{
    struct arena a;
    arena_init(&a);
    struct ltd_pubkey issuers[2] = {alice.pk, bob.pk};
    struct tx_new_output o = {cc_details_ed25519(&a, &carol.pk), 3};
    struct tx t;
    CHECK_EQ_INT(tx_build_create(&a, issuers, 2, NULL, NULL, &o, 1, &t, NULL), LTD_OK);
    CHECK_EQ_INT(tx_sign(&a, &t, &alice.seed, NULL, true, NULL, NULL), LTD_OK);
    CHECK(!t.has_id);
    CHECK_EQ_INT(tx_sign(&a, &t, &bob.seed, NULL, true, NULL, NULL), LTD_OK);
    CHECK(t.has_id);
    char *body = canon(&t);
    struct tx back;
    CHECK_EQ_INT(tx_parse(&a, body, strlen(body), 0, &back, NULL), LTD_OK);
    CHECK_EQ_INT(tx_verify_create(&back, NULL), LTD_OK);
    CHECK_EQ_INT(tx_check_strict(&back, NULL), LTD_OK);
    free(body);
    /* carol cannot sign it */
    CHECK_EQ_INT(tx_sign(&a, &t, &carol.seed, NULL, true, NULL, NULL), LTD_E_TX_SIGN_KEY);
    arena_release(&a);
}

int
main(void)
{
    codec_init();
    keys_init();
    RUN(test_documented_create);
    RUN(test_driver_create_parses);
    RUN(test_documented_transfers);
    RUN(test_documented_threshold);
    RUN(test_threshold_negative);
    RUN(test_mutations);
    RUN(test_json_attacks);
    RUN(test_multi_issuer_create);
    RUN(test_canonical_text);
    return test_report("tx");
}

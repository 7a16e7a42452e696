/*
 * test_ltdrs.c - every LTDRS rule of docs/ltdrs-records.md, each broken on
 * purpose, through the node (node_submit in commit mode, so the rules run
 * both in the precheck and in the applier).  The scenario: roster, students
 * register, a department registers and is certified, applies, the admin
 * approves, the department distributes, a student tries to trade, the admin
 * revokes, the department closes.
 */
#include "test.h"

/* The cases below pass record templates held in variables. */
#pragma GCC diagnostic ignored "-Wformat-nonliteral"

#include "../src/codec.h"
#include "../src/ltdrs.h"
#include "../src/node.h"
#include "../src/tx.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct key {
    struct ltd_pubkey pk;
    struct ltd_seed seed;
    char b58[48];
};

static void
key_new(struct key *k)
{
    codec_ed25519_keypair(&k->pk, &k->seed);
    codec_b58_encode32(k->pk.b, k->b58);
}

static struct node *node;
static struct key admin;
static char dir[256];

/* ---- submitting ---- */

struct waiter {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
    enum ltd_err result;
    char msg[512];
};

static void
on_done(void *arg, enum ltd_err result, const struct ltd_errbuf *eb, uint64_t height)
{
    (void)height;
    struct waiter *w = arg;
    pthread_mutex_lock(&w->lock);
    w->done = true;
    w->result = result;
    snprintf(w->msg, sizeof w->msg, "%s", eb ? eb->msg : "");
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

static char last_msg[512];

static enum ltd_err
commit(const struct buf *body)
{
    struct waiter w;
    memset(&w, 0, sizeof w);
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.cond, NULL);
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    enum ltd_err e =
        node_submit(node, body->p, body->len, NODE_COMMIT, on_done, &w, NULL, NULL, &eb);
    if (e == LTD_OK) {
        pthread_mutex_lock(&w.lock);
        while (!w.done)
            pthread_cond_wait(&w.cond, &w.lock);
        pthread_mutex_unlock(&w.lock);
        e = w.result;
        snprintf(last_msg, sizeof last_msg, "%s", w.msg);
    } else {
        snprintf(last_msg, sizeof last_msg, "%s", eb.msg);
    }
    pthread_mutex_destroy(&w.lock);
    pthread_cond_destroy(&w.cond);
    return e;
}

/* ---- building records ---- */

/* A CREATE by k with asset data from printf-style JSON; outputs: one of
 * `amount` to `to` (NULL: the signer). */
static enum ltd_err LTD_PRINTF(5, 6) create(const struct key *k, const struct ltd_pubkey *to,
                                            uint64_t amount, char id[65], const char *fmt, ...)
{
    char text[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    struct arena a;
    arena_init(&a);
    struct cjson *data = NULL;
    LTD_ASSERT(cjson_parse(&a, text, strlen(text), NULL, &data, NULL) == LTD_OK);
    struct tx_new_output o = {cc_details_ed25519(&a, to ? to : &k->pk), amount};
    struct tx t;
    /* a nonce in the metadata, as the CLI and pages add, so that a record
     * filed again (after a rejection) is a new transaction */
    static int nonce;
    struct cjson *md = cjson_new_object(&a);
    cjson_obj_set(&a, md, "nonce", cjson_new_int(&a, ++nonce));
    LTD_ASSERT(tx_build_create(&a, &k->pk, 1, data, md, &o, 1, &t, NULL) == LTD_OK);
    LTD_ASSERT(tx_sign(&a, &t, &k->seed, NULL, false, NULL, NULL) == LTD_OK);
    struct buf b;
    buf_init(&b);
    tx_serialize(&t, &b);
    if (id)
        memcpy(id, t.id_hex, 65);
    enum ltd_err e = commit(&b);
    buf_release(&b);
    arena_release(&a);
    return e;
}

/* One output of a ticket TRANSFER. */
struct out {
    int kind; /* 0 plain to key a, 1 2-of-2 {a, b}, 2 1-of-2 {a, b}, 3 nested 2-of-(a, 1-of-(b, a))
               */
    const struct ltd_pubkey *a, *b;
    uint64_t amount;
};

static struct cc_details *
out_details(struct arena *ar, const struct out *o)
{
    struct cc_details **subs = arena_alloc(ar, sizeof *subs * 2);
    switch (o->kind) {
    case 0:
        return cc_details_ed25519(ar, o->a);
    case 1:
    case 2:
        subs[0] = cc_details_ed25519(ar, o->a);
        subs[1] = cc_details_ed25519(ar, o->b);
        return cc_details_threshold(ar, o->kind == 1 ? 2 : 1, 2, subs);
    default: {
        struct cc_details **inner = arena_alloc(ar, sizeof *inner * 2);
        inner[0] = cc_details_ed25519(ar, o->b);
        inner[1] = cc_details_ed25519(ar, o->a);
        subs[0] = cc_details_ed25519(ar, o->a);
        subs[1] = cc_details_threshold(ar, 1, 2, inner);
        return cc_details_threshold(ar, 2, 2, subs);
    }
    }
}

/* TRANSFER of asset spending (txid, idx) whose details are `spent`
 * (described as an out), signed by k1 (and k2), to outs, metadata text. */
static enum ltd_err
transfer(const char *asset_hex, const char *txid_hex, uint64_t idx, const struct out *spent,
         const struct key *k1, const struct key *k2, const struct out *outs, uint32_t n_out,
         const char *metadata, char id[65])
{
    struct arena a;
    arena_init(&a);
    struct tx_new_input in;
    LTD_ASSERT(hex_decode(in.txid.b, 32, txid_hex, 64));
    in.index = idx;
    in.details = out_details(&a, spent);
    struct ltd_hash asset;
    LTD_ASSERT(hex_decode(asset.b, 32, asset_hex, 64));
    struct tx_new_output *o = arena_alloc(&a, sizeof *o * n_out);
    for (uint32_t i = 0; i < n_out; i++) {
        o[i].details = out_details(&a, &outs[i]);
        o[i].amount = outs[i].amount;
    }
    struct cjson *md = NULL;
    if (metadata)
        LTD_ASSERT(cjson_parse(&a, metadata, strlen(metadata), NULL, &md, NULL) == LTD_OK);
    struct tx t;
    LTD_ASSERT(tx_build_transfer(&a, &asset, &in, 1, md, o, n_out, &t, NULL) == LTD_OK);
    const struct cc_details *sp[1] = {in.details};
    if (tx_sign(&a, &t, &k1->seed, sp, true, NULL, NULL) != LTD_OK ||
        (k2 && tx_sign(&a, &t, &k2->seed, sp, true, NULL, NULL) != LTD_OK)) {
        arena_release(&a);
        return LTD_E_TX_SIGN_KEY;
    }
    struct buf b;
    buf_init(&b);
    tx_serialize(&t, &b);
    if (id)
        memcpy(id, t.id_hex, 65);
    enum ltd_err e = t.has_id ? commit(&b) : LTD_E_TX_NOT_SIGNED;
    buf_release(&b);
    arena_release(&a);
    return e;
}

static void
code_hash_hex(const char *sid, const char *code, char out[65])
{
    uint8_t h[32];
    ltdrs_code_hash(sid, code, h);
    hex_encode(out, h, 32);
}

#define EXPECT(call, want)                                                                         \
    do {                                                                                           \
        enum ltd_err got_ = (call);                                                                \
        if (got_ != (want))                                                                        \
            fprintf(stderr, "  %s:%d got %s (%s), want %s\n", __FILE__, __LINE__,                  \
                    ltd_err_name(got_), last_msg, ltd_err_name(want));                             \
        CHECK_EQ_INT(got_, (want));                                                                \
    } while (0)

/* ---- the scenario with every rule broken on the way ---- */

static struct key s1, s2, s3, dept, dept2, outsider;
static char dept_id[65], dept2_id[65], app_id[65], ticket_id[65], dist_id[65];

static void
test_roster_and_students(void)
{
    char h1[65], h2[65], h3[65];
    code_hash_hex("2020001", "code-one", h1);
    code_hash_hex("2020002", "code-two", h2);
    code_hash_hex("2020003", "code-three", h3);
    const char *fmt =
        "{\"ltdrs\":\"roster\",\"v\":1,\"generation\":1,\"students\":["
        "{\"sid\":\"2020001\",\"code_hash\":\"%s\"},{\"sid\":\"2020002\",\"code_hash\":"
        "\"%s\"},{\"sid\":\"2020003\",\"code_hash\":\"%s\"}]}";
    EXPECT(create(&outsider, NULL, 1, NULL, fmt, h1, h2, h3), LTD_E_L_NOT_ADMIN);
    EXPECT(create(&admin, NULL, 1, NULL,
                  "{\"ltdrs\":\"roster\",\"v\":1,\"generation\":1,\"students\":[{\"sid\":\"20 01\","
                  "\"code_hash\":\"%s\"}]}",
                  h1),
           LTD_E_L_BAD_SID);
    EXPECT(
        create(&admin, NULL, 1, NULL,
               "{\"ltdrs\":\"roster\",\"v\":1,\"generation\":1,\"students\":[{\"sid\":\"2020001\","
               "\"code_hash\":\"%s\"},{\"sid\":\"2020001\",\"code_hash\":\"%s\"}]}",
               h1, h1),
        LTD_E_L_DUP_ROSTER);
    EXPECT(create(&admin, NULL, 1, NULL, fmt, h1, h2, h3), LTD_OK);
    /* the same generation again */
    EXPECT(
        create(&admin, NULL, 1, NULL,
               "{\"ltdrs\":\"roster\",\"v\":1,\"generation\":1,\"students\":[{\"sid\":\"2020001\","
               "\"code_hash\":\"%s\"}]}",
               h1),
        LTD_E_L_DUP_ROSTER);
    /* students register */
    EXPECT(create(&s1, NULL, 1, NULL,
                  "{\"ltdrs\":\"student\",\"v\":1,\"sid\":\"2029999\","
                  "\"code\":\"x\"}"),
           LTD_E_L_NOT_ON_ROSTER);
    EXPECT(create(&s1, NULL, 1, NULL,
                  "{\"ltdrs\":\"student\",\"v\":1,\"sid\":\"2020001\","
                  "\"code\":\"wrong\"}"),
           LTD_E_L_BAD_CODE);
    EXPECT(create(&s1, NULL, 1, NULL,
                  "{\"ltdrs\":\"student\",\"v\":1,\"sid\":\"2020001\","
                  "\"code\":\"code-one\",\"name\":\"张三\"}"),
           LTD_OK);
    EXPECT(create(&s2, NULL, 1, NULL,
                  "{\"ltdrs\":\"student\",\"v\":1,\"sid\":\"2020001\","
                  "\"code\":\"code-one\"}"),
           LTD_E_L_SID_BOUND);
    EXPECT(create(&s1, NULL, 1, NULL,
                  "{\"ltdrs\":\"student\",\"v\":1,\"sid\":\"2020002\","
                  "\"code\":\"code-two\"}"),
           LTD_E_L_KEY_BOUND);
    EXPECT(create(&s2, NULL, 1, NULL,
                  "{\"ltdrs\":\"student\",\"v\":1,\"sid\":\"2020002\","
                  "\"code\":\"code-two\"}"),
           LTD_OK);
    /* a bound student cannot be re-listed on a later roster */
    EXPECT(
        create(&admin, NULL, 1, NULL,
               "{\"ltdrs\":\"roster\",\"v\":1,\"generation\":2,\"students\":[{\"sid\":\"2020001\","
               "\"code_hash\":\"%s\"}]}",
               h1),
        LTD_E_L_SID_BOUND);
    /* record token output must go to the signer */
    EXPECT(create(&s3, &admin.pk, 1, NULL,
                  "{\"ltdrs\":\"student\",\"v\":1,\"sid\":\"2020003\","
                  "\"code\":\"code-three\"}"),
           LTD_E_L_BAD_RECORD);
    /* malformed records */
    EXPECT(create(&s3, NULL, 1, NULL,
                  "{\"ltdrs\":\"student\",\"v\":2,\"sid\":\"2020003\","
                  "\"code\":\"code-three\"}"),
           LTD_E_L_BAD_RECORD);
    EXPECT(create(&s3, NULL, 1, NULL,
                  "{\"ltdrs\":\"student\",\"v\":1,\"sid\":\"2020003\","
                  "\"code\":\"code-three\",\"extra\":1}"),
           LTD_E_L_BAD_RECORD);
    EXPECT(create(&s3, NULL, 1, NULL, "{\"ltdrs\":\"party\",\"v\":1}"), LTD_E_L_BAD_RECORD);
    EXPECT(create(&s3, NULL, 1, NULL, "{\"ltdrs\":\"distribution\",\"v\":1,\"students\":[]}"),
           LTD_E_L_BAD_RECORD);
    EXPECT(create(&s3, NULL, 1, NULL,
                  "{\"ltdrs\":\"student\",\"v\":1,\"sid\":\"2020003\","
                  "\"code\":\"code-three\"}"),
           LTD_OK);
    /* a plain BigchainDB CREATE is still accepted */
    EXPECT(create(&outsider, NULL, 1, NULL, "{\"msg\":\"plain\"}"), LTD_OK);
}

static void
test_unbind(void)
{
    char h[65];
    code_hash_hex("2020003", "new-code", h);
    EXPECT(create(&outsider, NULL, 1, NULL,
                  "{\"ltdrs\":\"unbind\",\"v\":1,\"sid\":\"2020003\",\"reason\":\"lost\","
                  "\"code_hash\":\"%s\"}",
                  h),
           LTD_E_L_NOT_ADMIN);
    EXPECT(create(&admin, NULL, 1, NULL,
                  "{\"ltdrs\":\"unbind\",\"v\":1,\"sid\":\"2029999\",\"reason\":\"lost\","
                  "\"code_hash\":\"%s\"}",
                  h),
           LTD_E_L_SID_NOT_BOUND);
    EXPECT(create(&admin, NULL, 1, NULL,
                  "{\"ltdrs\":\"unbind\",\"v\":1,\"sid\":\"2020003\",\"reason\":\"lost key\","
                  "\"code_hash\":\"%s\"}",
                  h),
           LTD_OK);
    /* the old key stays used; a new key registers with the new code */
    EXPECT(create(&s3, NULL, 1, NULL,
                  "{\"ltdrs\":\"student\",\"v\":1,\"sid\":\"2020003\","
                  "\"code\":\"new-code\"}"),
           LTD_E_L_KEY_BOUND);
    key_new(&s3);
    EXPECT(create(&s3, NULL, 1, NULL,
                  "{\"ltdrs\":\"student\",\"v\":1,\"sid\":\"2020003\","
                  "\"code\":\"code-three\"}"),
           LTD_E_L_BAD_CODE);
    EXPECT(create(&s3, NULL, 1, NULL,
                  "{\"ltdrs\":\"student\",\"v\":1,\"sid\":\"2020003\","
                  "\"code\":\"new-code\"}"),
           LTD_OK);
}

static void
test_departments(void)
{
    EXPECT(create(&dept, NULL, 1, dept_id,
                  "{\"ltdrs\":\"department\",\"v\":1,\"name\":\"学习部\","
                  "\"contact\":\"study@example.edu\"}"),
           LTD_OK);
    EXPECT(create(&dept2, NULL, 1, NULL,
                  "{\"ltdrs\":\"department\",\"v\":1,\"name\":\"  学习部 \","
                  "\"contact\":\"x\"}"),
           LTD_E_L_DUP_DEPT);
    EXPECT(create(&s1, NULL, 1, NULL,
                  "{\"ltdrs\":\"department\",\"v\":1,\"name\":\"Sports\","
                  "\"contact\":\"x\"}"),
           LTD_E_L_KEY_BOUND);
    /* the admin's key cannot become a department or a student */
    EXPECT(create(&admin, NULL, 1, NULL,
                  "{\"ltdrs\":\"department\",\"v\":1,\"name\":\"Admin club\","
                  "\"contact\":\"x\"}"),
           LTD_E_L_KEY_BOUND);
    EXPECT(create(&dept2, NULL, 1, dept2_id,
                  "{\"ltdrs\":\"department\",\"v\":1,\"name\":\"体育部\","
                  "\"contact\":\"sport@example.edu\"}"),
           LTD_OK);
    /* a pending department cannot apply */
    EXPECT(create(&dept, NULL, 1, NULL,
                  "{\"ltdrs\":\"application\",\"v\":1,\"name\":\"一对一帮扶学习\",\"start\":"
                  "\"2020-06-28T08:00:00+08:00\",\"end\":\"2020-08-01T18:00:00+08:00\",\"venue\":"
                  "\"A1 教学楼\",\"tickets\":300,\"category\":\"学习\"}"),
           LTD_E_L_NOT_CERTIFIED);
    EXPECT(create(&outsider, NULL, 1, NULL,
                  "{\"ltdrs\":\"certify\",\"v\":1,\"department\":\"%s\",\"decision\":"
                  "\"approved\"}",
                  dept_id),
           LTD_E_L_NOT_ADMIN);
    EXPECT(create(&admin, NULL, 1, NULL,
                  "{\"ltdrs\":\"certify\",\"v\":1,\"department\":\"%064d\",\"decision\":"
                  "\"approved\"}",
                  0),
           LTD_E_L_UNKNOWN_DEPT);
    EXPECT(create(&admin, NULL, 1, NULL,
                  "{\"ltdrs\":\"certify\",\"v\":1,\"department\":\"%s\",\"decision\":\"maybe\"}",
                  dept_id),
           LTD_E_L_BAD_RECORD);
    EXPECT(create(&admin, NULL, 1, NULL,
                  "{\"ltdrs\":\"certify\",\"v\":1,\"department\":\"%s\",\"decision\":"
                  "\"approved\",\"reason\":\"ok\"}",
                  dept_id),
           LTD_OK);
    EXPECT(create(&admin, NULL, 1, NULL,
                  "{\"ltdrs\":\"certify\",\"v\":1,\"department\":\"%s\",\"decision\":"
                  "\"rejected\",\"reason\":\"changed mind\"}",
                  dept_id),
           LTD_E_L_DECIDED);
    EXPECT(create(&admin, NULL, 1, NULL,
                  "{\"ltdrs\":\"certify\",\"v\":1,\"department\":\"%s\",\"decision\":"
                  "\"approved\"}",
                  dept2_id),
           LTD_OK);
}

#define APP_FMT                                                                                    \
    "{\"ltdrs\":\"application\",\"v\":1,\"name\":\"%s\",\"start\":\"%s\",\"end\":\"%s\","          \
    "\"venue\":\"A1 教学楼\",\"tickets\":%d,\"category\":\"学习\",\"description\":\"d\"}"

static void
test_applications(void)
{
    const char *start = "2020-06-28T08:00:00+08:00", *end = "2020-08-01T18:00:00+08:00";
    EXPECT(create(&dept, NULL, 1, NULL, APP_FMT, "一对一帮扶学习", end, start, 300),
           LTD_E_L_BAD_TIME);
    EXPECT(create(&dept, NULL, 1, NULL, APP_FMT, "一对一帮扶学习", "2020-06-28", end, 300),
           LTD_E_L_BAD_TIME);
    EXPECT(create(&dept, NULL, 1, NULL, APP_FMT, "一对一帮扶学习", start, end, 0),
           LTD_E_L_BAD_COUNT);
    EXPECT(create(&dept, NULL, 1, NULL, APP_FMT, "一对一帮扶学习", start, end, 100001),
           LTD_E_L_BAD_COUNT);
    EXPECT(create(&dept, NULL, 1, app_id, APP_FMT, "一对一帮扶学习", start, end, 300), LTD_OK);
    /* the same activity again (even spelled with other spacing) */
    EXPECT(create(&dept, NULL, 1, NULL, APP_FMT, " 一对一帮扶学习  ", start, end, 200),
           LTD_E_L_DUP_ACTIVITY);
    /* same instant written in UTC is the same start */
    EXPECT(create(&dept, NULL, 1, NULL, APP_FMT, "一对一帮扶学习", "2020-06-28T00:00:00Z", end, 5),
           LTD_E_L_DUP_ACTIVITY);
    /* rejections */
    char other[65];
    EXPECT(create(&dept, NULL, 1, other, APP_FMT, "Reading club", start, end, 10), LTD_OK);
    EXPECT(create(&outsider, NULL, 1, NULL,
                  "{\"ltdrs\":\"decision\",\"v\":1,\"application\":\"%s\",\"decision\":"
                  "\"rejected\",\"reason\":\"no\"}",
                  other),
           LTD_E_L_NOT_ADMIN);
    EXPECT(create(&admin, NULL, 1, NULL,
                  "{\"ltdrs\":\"decision\",\"v\":1,\"application\":\"%064d\",\"decision\":"
                  "\"rejected\",\"reason\":\"no\"}",
                  0),
           LTD_E_L_UNKNOWN_APP);
    EXPECT(create(&admin, NULL, 1, NULL,
                  "{\"ltdrs\":\"decision\",\"v\":1,\"application\":\"%s\",\"decision\":"
                  "\"rejected\",\"reason\":\"venue booked\"}",
                  other),
           LTD_OK);
    EXPECT(create(&admin, NULL, 1, NULL,
                  "{\"ltdrs\":\"decision\",\"v\":1,\"application\":\"%s\",\"decision\":"
                  "\"rejected\",\"reason\":\"twice\"}",
                  other),
           LTD_E_L_DECIDED);
    /* after a rejection the department may file it again */
    EXPECT(create(&dept, NULL, 1, NULL, APP_FMT, "Reading club", start, end, 10), LTD_OK);
}

#define TICKET_FMT                                                                                 \
    "{\"ltdrs\":\"ticket\",\"v\":1,\"application\":\"%s\",\"name\":\"%s\",\"start\":"              \
    "\"2020-06-28T08:00:00+08:00\",\"end\":\"2020-08-01T18:00:00+08:00\",\"venue\":"               \
    "\"A1 教学楼\",\"category\":\"学习\"}"

static void
test_approval(void)
{
    EXPECT(create(&outsider, &dept.pk, 300, NULL, TICKET_FMT, app_id, "一对一帮扶学习"),
           LTD_E_L_NOT_ADMIN);
    EXPECT(create(&admin, &dept.pk, 301, NULL, TICKET_FMT, app_id, "一对一帮扶学习"),
           LTD_E_L_OVER_QUOTA);
    EXPECT(create(&admin, &admin.pk, 300, NULL, TICKET_FMT, app_id, "一对一帮扶学习"),
           LTD_E_L_BAD_TICKET_OUT);
    EXPECT(create(&admin, &dept.pk, 300, NULL, TICKET_FMT, app_id, "另一个活动"),
           LTD_E_L_ACT_MISMATCH);
    EXPECT(create(&admin, &dept.pk, 300, ticket_id, TICKET_FMT, app_id, "一对一帮扶学习"), LTD_OK);
    EXPECT(create(&admin, &dept.pk, 300, NULL, TICKET_FMT, app_id, "一对一帮扶学习"),
           LTD_E_L_DECIDED);
}

static void
test_distribution(void)
{
    struct out dept_out = {0, &dept.pk, NULL, 300};
    const char *md2 = "{\"ltdrs\":\"distribution\",\"v\":1,\"students\":[\"2020001\",\"2020002\"]}";
    const char *md1 = "{\"ltdrs\":\"distribution\",\"v\":1,\"students\":[\"2020001\"]}";
    /* single-key student output */
    struct out o_single[2] = {{0, &s1.pk, NULL, 1}, {0, &dept.pk, NULL, 299}};
    EXPECT(transfer(ticket_id, ticket_id, 0, &dept_out, &dept, NULL, o_single, 2, md1, NULL),
           LTD_E_L_NOT_TRANSFERABLE);
    /* 1-of-2 */
    struct out o_1of2[2] = {{2, &s1.pk, &dept.pk, 1}, {0, &dept.pk, NULL, 299}};
    EXPECT(transfer(ticket_id, ticket_id, 0, &dept_out, &dept, NULL, o_1of2, 2, md1, NULL),
           LTD_E_L_NOT_TRANSFERABLE);
    /* substituted key: 2-of-2 {student, outsider} */
    struct out o_subst[2] = {{1, &s1.pk, &outsider.pk, 1}, {0, &dept.pk, NULL, 299}};
    EXPECT(transfer(ticket_id, ticket_id, 0, &dept_out, &dept, NULL, o_subst, 2, md1, NULL),
           LTD_E_L_NOT_TRANSFERABLE);
    /* nested threshold */
    struct out o_nested[2] = {{3, &dept.pk, &s1.pk, 1}, {0, &dept.pk, NULL, 299}};
    EXPECT(transfer(ticket_id, ticket_id, 0, &dept_out, &dept, NULL, o_nested, 2, md1, NULL),
           LTD_E_L_NOT_TRANSFERABLE);
    /* amount 2 to a student */
    struct out o_two[2] = {{1, &s1.pk, &dept.pk, 2}, {0, &dept.pk, NULL, 298}};
    EXPECT(transfer(ticket_id, ticket_id, 0, &dept_out, &dept, NULL, o_two, 2, md1, NULL),
           LTD_E_L_NOT_TRANSFERABLE);
    /* change to someone else */
    struct out o_change[2] = {{1, &s1.pk, &dept.pk, 1}, {0, &outsider.pk, NULL, 299}};
    EXPECT(transfer(ticket_id, ticket_id, 0, &dept_out, &dept, NULL, o_change, 2, md1, NULL),
           LTD_E_L_NOT_TRANSFERABLE);
    /* the key of student 2 listed as 2020001 */
    struct out o_wrongkey[2] = {{1, &s2.pk, &dept.pk, 1}, {0, &dept.pk, NULL, 299}};
    EXPECT(transfer(ticket_id, ticket_id, 0, &dept_out, &dept, NULL, o_wrongkey, 2, md1, NULL),
           LTD_E_L_KEY_MISMATCH);
    /* an unregistered number */
    EXPECT(transfer(ticket_id, ticket_id, 0, &dept_out, &dept, NULL, o_wrongkey, 2,
                    "{\"ltdrs\":\"distribution\",\"v\":1,\"students\":[\"2029999\"]}", NULL),
           LTD_E_L_NOT_REGISTERED);
    /* number list does not match the outputs */
    struct out o_ok2[3] = {
        {1, &s1.pk, &dept.pk, 1}, {1, &s2.pk, &dept.pk, 1}, {0, &dept.pk, NULL, 298}};
    EXPECT(transfer(ticket_id, ticket_id, 0, &dept_out, &dept, NULL, o_ok2, 3, md1, NULL),
           LTD_E_L_BAD_RECORD);
    /* no LTDRS metadata at all: still ticket rules */
    EXPECT(transfer(ticket_id, ticket_id, 0, &dept_out, &dept, NULL, o_ok2, 3, NULL, NULL),
           LTD_E_L_BAD_RECORD);
    /* the same student twice in one distribution */
    struct out o_dup[3] = {
        {1, &s1.pk, &dept.pk, 1}, {1, &s1.pk, &dept.pk, 1}, {0, &dept.pk, NULL, 298}};
    EXPECT(transfer(ticket_id, ticket_id, 0, &dept_out, &dept, NULL, o_dup, 3,
                    "{\"ltdrs\":\"distribution\",\"v\":1,\"students\":[\"2020001\",\"2020001\"]}",
                    NULL),
           LTD_E_L_HAS_TICKET);
    /* a valid distribution to two students with change */
    EXPECT(transfer(ticket_id, ticket_id, 0, &dept_out, &dept, NULL, o_ok2, 3, md2, dist_id),
           LTD_OK);
    /* a second ticket of the same activity for student 1 */
    struct out change_out = {0, &dept.pk, NULL, 298};
    struct out o_again[2] = {{1, &s1.pk, &dept.pk, 1}, {0, &dept.pk, NULL, 297}};
    EXPECT(transfer(ticket_id, dist_id, 2, &change_out, &dept, NULL, o_again, 2, md1, NULL),
           LTD_E_L_HAS_TICKET);
    /* a department cannot spend another department's tickets (BigchainDB signature rule) */
    EXPECT(transfer(ticket_id, dist_id, 2, &change_out, &dept2, NULL, o_again, 2, md1, NULL),
           LTD_E_TX_SIGN_KEY);
}

static void
test_no_trading(void)
{
    struct out held = {1, &s1.pk, &dept.pk, 1};
    /* student 1 and the department co-sign a move to student 2: refused */
    struct out to_s2 = {1, &s2.pk, &dept.pk, 1};
    EXPECT(transfer(ticket_id, dist_id, 0, &held, &s1, &dept, &to_s2, 1,
                    "{\"ltdrs\":\"distribution\",\"v\":1,\"students\":[\"2020002\"]}", NULL),
           LTD_E_L_NOT_TRANSFERABLE);
    /* ... to student 1's own single key: refused */
    struct out to_self = {0, &s1.pk, NULL, 1};
    EXPECT(transfer(ticket_id, dist_id, 0, &held, &s1, &dept, &to_self, 1, NULL, NULL),
           LTD_E_L_NOT_TRANSFERABLE);
    /* ... to the outsider: refused */
    struct out to_out = {0, &outsider.pk, NULL, 1};
    EXPECT(transfer(ticket_id, dist_id, 0, &held, &s1, &dept, &to_out, 1, NULL, NULL),
           LTD_E_L_NOT_TRANSFERABLE);
    /* student alone cannot sign a 2-of-2 spend at all */
    struct out to_dept = {0, &dept.pk, NULL, 1};
    EXPECT(transfer(ticket_id, dist_id, 0, &held, &s1, NULL, &to_dept, 1, NULL, NULL),
           LTD_E_TX_NOT_SIGNED);
    /* a return to the department, signed by both, is fine */
    struct out held2 = {1, &s2.pk, &dept.pk, 1};
    EXPECT(transfer(ticket_id, dist_id, 1, &held2, &s2, &dept, &to_dept, 1,
                    "{\"ltdrs\":\"return\",\"v\":1,\"reason\":\"left early\"}", NULL),
           LTD_OK);
}

static void
test_revocation_and_close(void)
{
    char t0[100], t9[100];
    snprintf(t0, sizeof t0, "%s:0", dist_id);
    snprintf(t9, sizeof t9, "%s:2", dist_id); /* department change: not student-held */
    const char *fmt = "{\"ltdrs\":\"revocation\",\"v\":1,\"ticket\":\"%s\",\"reason\":\"%s\"}";
    EXPECT(create(&outsider, NULL, 1, NULL, fmt, t0, "fraud"), LTD_E_L_NOT_ADMIN);
    EXPECT(create(&admin, NULL, 1, NULL, fmt, t9, "fraud"), LTD_E_L_UNKNOWN_TICKET);
    EXPECT(create(&admin, NULL, 1, NULL, fmt, "nothex:0", "fraud"), LTD_E_L_BAD_RECORD);
    EXPECT(create(&admin, NULL, 1, NULL, fmt, t0, "bought, not attended"), LTD_OK);
    EXPECT(create(&admin, NULL, 1, NULL, fmt, t0, "again"), LTD_E_L_REVOKED);
    /* a revoked ticket returned to the department cannot be handed out again
     * to the same student: the revocation keeps counting as "held" */
    {
        struct out held = {1, &s1.pk, &dept.pk, 1};
        struct out to_dept = {0, &dept.pk, NULL, 1};
        char ret_id[65];
        EXPECT(transfer(ticket_id, dist_id, 0, &held, &s1, &dept, &to_dept, 1,
                        "{\"ltdrs\":\"return\",\"v\":1}", ret_id),
               LTD_OK);
        struct out back = {0, &dept.pk, NULL, 1};
        struct out again = {1, &s1.pk, &dept.pk, 1};
        EXPECT(transfer(ticket_id, ret_id, 0, &back, &dept, NULL, &again, 1,
                        "{\"ltdrs\":\"distribution\",\"v\":1,\"students\":[\"2020001\"]}", NULL),
               LTD_E_L_HAS_TICKET);
    }
    /* close */
    const char *cfmt = "{\"ltdrs\":\"close\",\"v\":1,\"application\":\"%s\"}";
    EXPECT(create(&dept2, NULL, 1, NULL, cfmt, app_id), LTD_E_L_NOT_ALLOWED);
    EXPECT(create(&dept, NULL, 1, NULL, cfmt, app_id), LTD_OK);
    EXPECT(create(&dept, NULL, 1, NULL, cfmt, app_id), LTD_E_L_ALREADY_CLOSED);
    struct out change_out = {0, &dept.pk, NULL, 298};
    struct out o3[2] = {{1, &s3.pk, &dept.pk, 1}, {0, &dept.pk, NULL, 297}};
    EXPECT(transfer(ticket_id, dist_id, 2, &change_out, &dept, NULL, o3, 2,
                    "{\"ltdrs\":\"distribution\",\"v\":1,\"students\":[\"2020003\"]}", NULL),
           LTD_E_L_CLOSED);
    /* announcements */
    const char *afmt = "{\"ltdrs\":\"announcement\",\"v\":1,\"title\":\"t\",\"text\":\"x\"%s}";
    EXPECT(create(&dept, NULL, 1, NULL, afmt, ""), LTD_E_L_NOT_ADMIN);
    EXPECT(create(&admin, NULL, 1, NULL, afmt, ",\"link\":\"javascript:alert(1)\""),
           LTD_E_L_BAD_RECORD);
    EXPECT(create(&admin, NULL, 1, NULL, afmt, ",\"application\":\"00\""), LTD_E_L_BAD_RECORD);
    EXPECT(create(&admin, NULL, 1, NULL, afmt, ",\"link\":\"https://example.edu/a\""), LTD_OK);
}

static void
test_audit_after(void)
{
    node_close(node);
    node = NULL;
    struct node_verify_report rep;
    CHECK_EQ_INT(node_verify_dir(dir, 2, &rep, NULL), LTD_OK);
    CHECK(rep.ok);
}

int
main(void)
{
    codec_init();
    snprintf(dir, sizeof dir, "/tmp/ltdrs-test-ltdrs-%d", (int)getpid());
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 2;
    key_new(&admin);
    key_new(&s1);
    key_new(&s2);
    key_new(&s3);
    key_new(&dept);
    key_new(&dept2);
    key_new(&outsider);
    LTD_ASSERT(node_init(dir, &admin.pk, NULL, NULL) == LTD_OK);
    struct node_config cfg;
    node_config_defaults(&cfg);
    cfg.data_dir = dir;
    cfg.block_wait_us = 0;
    cfg.cache_mib = 8;
    LTD_ASSERT(node_open(&cfg, &node, NULL) == LTD_OK);
    RUN(test_roster_and_students);
    RUN(test_unbind);
    RUN(test_departments);
    RUN(test_applications);
    RUN(test_approval);
    RUN(test_distribution);
    RUN(test_no_trading);
    RUN(test_revocation_and_close);
    RUN(test_audit_after);
    if (system(cmd) != 0)
        return 2;
    return test_report("ltdrs");
}

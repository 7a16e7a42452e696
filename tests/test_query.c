/*
 * test_query.c - the LTDRS queries (query.c) over a real node with a small
 * scenario, the login/session logic (session.c) in isolation with an
 * injected clock, and a few requests through the HTTP routes
 * (api_ltdrs.c) to see headers, cookies and CSRF end to end.
 *
 * Scenario (records per docs/ltdrs-records.md, committed with node_submit
 * in commit mode): a roster of five numbers; four students register; three
 * departments register (one certified, one left pending, one rejected);
 * the certified one files four applications (A, B approved with tickets,
 * C rejected, D pending); it distributes A to three students and B to
 * one, with change; the admin revokes one ticket of A, a student returns
 * another; B is closed; two announcements; at the end a number is unbound.
 *
 * Case counts: POS()/NEG() mark the main check of each positive/negative
 * case; they are reported at the end next to the plain CHECK totals.
 */
#include "test.h"

#pragma GCC diagnostic ignored "-Wformat-nonliteral" /* record templates in variables */

#include "../src/api.h"
#include "../src/cjson.h"
#include "../src/codec.h"
#include "../src/ltdrs.h"
#include "../src/node.h"
#include "../src/query.h"
#include "../src/session.h"
#include "../src/store_int.h"
#include "../src/tx.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int n_pos, n_neg;
#define POS(c)                                                                                     \
    do {                                                                                           \
        n_pos++;                                                                                   \
        CHECK(c);                                                                                  \
    } while (0)
#define NEG(c)                                                                                     \
    do {                                                                                           \
        n_neg++;                                                                                   \
        CHECK(c);                                                                                  \
    } while (0)

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
static struct store *st;
static char dir[256];
static struct key admin, s1, s2, s3, s6, dept, dept2, dept3, outsider;
static char dept_id[65], dept2_id[65], dept3_id[65], app_a[65], app_b[65], app_c[65], app_d[65];
static char tick_a[65], tick_b[65], dist_a[65], dist_b[65], ret_id[65], roster_id[65];

/* ------------------------------------------------------------ submitting */

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
        if (e)
            fprintf(stderr, "  commit: %s\n", w.msg);
    } else {
        fprintf(stderr, "  submit: %s\n", eb.msg);
    }
    pthread_mutex_destroy(&w.lock);
    pthread_cond_destroy(&w.cond);
    return e;
}

/* A CREATE record by k (one output of `amount` to `to`, NULL = k). */
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
    static int nonce;
    struct cjson *md = cjson_new_object(&a);
    cjson_obj_set(&a, md, "nonce", cjson_new_int(&a, ++nonce));
    struct tx t;
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

/* An output: plain to a (b NULL) or 2-of-2 {a, b}. */
struct out {
    const struct ltd_pubkey *a, *b;
    uint64_t amount;
};

static struct cc_details *
out_details(struct arena *ar, const struct out *o)
{
    if (o->b == NULL)
        return cc_details_ed25519(ar, o->a);
    struct cc_details **subs = arena_alloc(ar, sizeof *subs * 2);
    subs[0] = cc_details_ed25519(ar, o->a);
    subs[1] = cc_details_ed25519(ar, o->b);
    return cc_details_threshold(ar, 2, 2, subs);
}

/* TRANSFER of (txid, idx) whose owner is `spent`, signed by k1 (and k2). */
static enum ltd_err
transfer(const char *asset, const char *txid, uint64_t idx, const struct out *spent,
         const struct key *k1, const struct key *k2, const struct out *outs, uint32_t n_out,
         const char *metadata, char id[65])
{
    struct arena a;
    arena_init(&a);
    struct tx_new_input in;
    LTD_ASSERT(hex_decode(in.txid.b, 32, txid, 64));
    in.index = idx;
    in.details = out_details(&a, spent);
    struct ltd_hash aid;
    LTD_ASSERT(hex_decode(aid.b, 32, asset, 64));
    struct tx_new_output *o = arena_alloc(&a, sizeof *o * n_out);
    for (uint32_t i = 0; i < n_out; i++) {
        o[i].details = out_details(&a, &outs[i]);
        o[i].amount = outs[i].amount;
    }
    struct cjson *md = NULL;
    LTD_ASSERT(cjson_parse(&a, metadata, strlen(metadata), NULL, &md, NULL) == LTD_OK);
    struct tx t;
    LTD_ASSERT(tx_build_transfer(&a, &aid, &in, 1, md, o, n_out, &t, NULL) == LTD_OK);
    const struct cc_details *sp[1] = {in.details};
    LTD_ASSERT(tx_sign(&a, &t, &k1->seed, sp, true, NULL, NULL) == LTD_OK);
    if (k2)
        LTD_ASSERT(tx_sign(&a, &t, &k2->seed, sp, true, NULL, NULL) == LTD_OK);
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

static void
code_hash_hex(const char *sid, const char *code, char out[65])
{
    uint8_t h[32];
    ltdrs_code_hash(sid, code, h);
    hex_encode(out, h, 32);
}

#define APP_FMT                                                                                    \
    "{\"ltdrs\":\"application\",\"v\":1,\"name\":\"%s\",\"start\":\"%s\",\"end\":"                 \
    "\"2030-01-01T18:00:00+08:00\",\"venue\":\"A1 教学楼\",\"tickets\":%d,\"category\":\"%s\"," \
    "\"description\":\"d\"}"
#define TICKET_FMT                                                                                 \
    "{\"ltdrs\":\"ticket\",\"v\":1,\"application\":\"%s\",\"name\":\"%s\",\"start\":\"%s\","       \
    "\"end\":\"2030-01-01T18:00:00+08:00\",\"venue\":\"A1 教学楼\",\"category\":\"%s\"}"

static void
scenario(void)
{
    char h[5][65];
    static const char *const sids[] = {"2020001", "2020002", "2020003", "2020004", "-2020006"};
    for (int i = 0; i < 5; i++)
        code_hash_hex(sids[i], "code", h[i]);
    LTD_ASSERT(create(&admin, NULL, 1, roster_id,
                      "{\"ltdrs\":\"roster\",\"v\":1,\"generation\":1,\"students\":["
                      "{\"sid\":\"%s\",\"code_hash\":\"%s\"},{\"sid\":\"%s\",\"code_hash\":\"%s\"},"
                      "{\"sid\":\"%s\",\"code_hash\":\"%s\"},{\"sid\":\"%s\",\"code_hash\":\"%s\"},"
                      "{\"sid\":\"%s\",\"code_hash\":\"%s\"}]}",
                      sids[0], h[0], sids[1], h[1], sids[2], h[2], sids[3], h[3], sids[4],
                      h[4]) == LTD_OK);
    const char *sfmt = "{\"ltdrs\":\"student\",\"v\":1,\"sid\":\"%s\",\"code\":\"code\"%s}";
    LTD_ASSERT(create(&s1, NULL, 1, NULL, sfmt, sids[0], ",\"name\":\"张三\"") == LTD_OK);
    LTD_ASSERT(create(&s2, NULL, 1, NULL, sfmt, sids[1], "") == LTD_OK);
    LTD_ASSERT(create(&s3, NULL, 1, NULL, sfmt, sids[2],
                      ",\"name\":\"=cmd|' /C calc'!A0, \\\"x\\\"\"") == LTD_OK);
    LTD_ASSERT(create(&s6, NULL, 1, NULL, sfmt, sids[4], ",\"name\":\"@SUM(1)\"") == LTD_OK);
    const char *dfmt = "{\"ltdrs\":\"department\",\"v\":1,\"name\":\"%s\",\"contact\":\"%s\"}";
    LTD_ASSERT(create(&dept, NULL, 1, dept_id, dfmt, "学习部", "xxb@example.edu") == LTD_OK);
    LTD_ASSERT(create(&dept2, NULL, 1, dept2_id, dfmt, "体育部", "tyb@example.edu") == LTD_OK);
    LTD_ASSERT(create(&dept3, NULL, 1, dept3_id, dfmt, "Chess Club", "cc@example.edu") == LTD_OK);
    const char *cfmt = "{\"ltdrs\":\"certify\",\"v\":1,\"department\":\"%s\",\"decision\":\"%s\","
                       "\"reason\":\"%s\"}";
    LTD_ASSERT(create(&admin, NULL, 1, NULL, cfmt, dept_id, "approved", "ok") == LTD_OK);
    LTD_ASSERT(create(&admin, NULL, 1, NULL, cfmt, dept3_id, "rejected", "not a club") == LTD_OK);
    const char *t1 = "2030-01-01T08:00:00+08:00", *t2 = "2030-01-01T09:00:00+08:00";
    LTD_ASSERT(create(&dept, NULL, 1, app_a, APP_FMT, "一对一帮扶学习", t1, 300, "学习") == LTD_OK);
    LTD_ASSERT(create(&dept, NULL, 1, app_b, APP_FMT, "Lecture B", t2, 10, "讲座") == LTD_OK);
    LTD_ASSERT(create(&dept, NULL, 1, app_c, APP_FMT, "Rejected C", t1, 7, "讲座") == LTD_OK);
    LTD_ASSERT(create(&dept, NULL, 1, app_d, APP_FMT, "Pending D", t1, 9, "讲座") == LTD_OK);
    LTD_ASSERT(create(&admin, NULL, 1, NULL,
                      "{\"ltdrs\":\"decision\",\"v\":1,\"application\":\"%s\",\"decision\":"
                      "\"rejected\",\"reason\":\"no venue\"}",
                      app_c) == LTD_OK);
    LTD_ASSERT(create(&admin, &dept.pk, 5, tick_a, TICKET_FMT, app_a, "一对一帮扶学习", t1,
                      "学习") == LTD_OK);
    LTD_ASSERT(create(&admin, &dept.pk, 3, tick_b, TICKET_FMT, app_b, "Lecture B", t2, "讲座") ==
               LTD_OK);
    struct out da = {&dept.pk, NULL, 5};
    struct out oa[4] = {
        {&s1.pk, &dept.pk, 1}, {&s2.pk, &dept.pk, 1}, {&s3.pk, &dept.pk, 1}, {&dept.pk, NULL, 2}};
    LTD_ASSERT(transfer(tick_a, tick_a, 0, &da, &dept, NULL, oa, 4,
                        "{\"ltdrs\":\"distribution\",\"v\":1,\"students\":[\"2020001\","
                        "\"2020002\",\"2020003\"]}",
                        dist_a) == LTD_OK);
    struct out db = {&dept.pk, NULL, 3};
    struct out ob[2] = {{&s1.pk, &dept.pk, 1}, {&dept.pk, NULL, 2}};
    LTD_ASSERT(transfer(tick_b, tick_b, 0, &db, &dept, NULL, ob, 2,
                        "{\"ltdrs\":\"distribution\",\"v\":1,\"students\":[\"2020001\"]}",
                        dist_b) == LTD_OK);
    char t[100];
    snprintf(t, sizeof t, "%s:1", dist_a);
    LTD_ASSERT(create(&admin, NULL, 1, NULL,
                      "{\"ltdrs\":\"revocation\",\"v\":1,\"ticket\":\"%s\",\"reason\":\"bought\"}",
                      t) == LTD_OK);
    struct out held = {&s3.pk, &dept.pk, 1}, back = {&dept.pk, NULL, 1};
    LTD_ASSERT(transfer(tick_a, dist_a, 2, &held, &s3, &dept, &back, 1,
                        "{\"ltdrs\":\"return\",\"v\":1,\"reason\":\"left early\"}",
                        ret_id) == LTD_OK);
    LTD_ASSERT(create(&dept, NULL, 1, NULL, "{\"ltdrs\":\"close\",\"v\":1,\"application\":\"%s\"}",
                      app_b) == LTD_OK);
    const char *afmt = "{\"ltdrs\":\"announcement\",\"v\":1,\"title\":\"%s\",\"text\":\"%s\"%s}";
    char with_app[100];
    snprintf(with_app, sizeof with_app, ",\"application\":\"%s\"", app_a);
    LTD_ASSERT(create(&admin, NULL, 1, NULL, afmt, "First", "hello", "") == LTD_OK);
    LTD_ASSERT(create(&admin, NULL, 1, NULL, afmt, "Second <b>", "see A", with_app) == LTD_OK);
}

/* ------------------------------------------------------------ JSON access */

static struct arena ja;

/* Parses b (which must be JSON); NULL on a parse failure. */
static const struct cjson *
parse(const struct buf *b)
{
    struct cjson *root = NULL;
    if (b->p == NULL || cjson_parse(&ja, b->p, b->len, NULL, &root, NULL) != LTD_OK) {
        fprintf(stderr, "  not JSON: %.300s\n", b->p ? b->p : "(null)");
        return NULL;
    }
    return root;
}

/* "a.b.2.c": members and array indexes. */
static const struct cjson *
jp(const struct cjson *v, const char *path)
{
    char part[80];
    while (v && *path) {
        size_t n = strcspn(path, ".");
        LTD_ASSERT(n < sizeof part);
        memcpy(part, path, n);
        part[n] = 0;
        path += n + (path[n] == '.');
        if (v->type == CJSON_ARRAY)
            v = cjson_at(v, (uint32_t)strtoul(part, NULL, 10));
        else
            v = cjson_get(v, part);
    }
    return v;
}

static const char *
js(const struct cjson *v, const char *path)
{
    v = jp(v, path);
    return v && v->type == CJSON_STRING ? v->str : NULL;
}

static long long
ji(const struct cjson *v, const char *path)
{
    v = jp(v, path);
    return v && v->type == CJSON_INT ? strtoll(v->str, NULL, 10) : -999;
}

static int
jb(const struct cjson *v, const char *path)
{
    v = jp(v, path);
    return v == NULL ? -1 : v->type == CJSON_TRUE ? 1 : v->type == CJSON_FALSE ? 0 : -1;
}

static uint32_t
jlen(const struct cjson *v, const char *path)
{
    v = jp(v, path);
    return v && (v->type == CJSON_ARRAY || v->type == CJSON_OBJECT) ? v->len : 9999;
}

static bool
is_null(const struct cjson *v, const char *path)
{
    v = jp(v, path);
    return v && v->type == CJSON_NULL;
}

static struct ltd_hash
H(const char *hex) {
    struct ltd_hash h;
    LTD_ASSERT(hex_decode(h.b, 32, hex, 64));
    return h;
}

/* ---------------------------------------------------------- query tests */

static void
test_student(void)
{
    struct buf b;
    buf_init(&b);
    POS(query_student(st, "2020001", &b, NULL) == LTD_OK);
    const struct cjson *j = parse(&b);
    CHECK_EQ_STR(js(j, "sid"), "2020001");
    CHECK_EQ_INT(jb(j, "on_roster"), 1);
    CHECK_EQ_INT(jb(j, "registered"), 1);
    CHECK_EQ_STR(js(j, "key"), s1.b58);
    CHECK_EQ_STR(js(j, "name"), "张三");
    CHECK_EQ_INT(ji(j, "legal_tickets"), 2);
    CHECK_EQ_INT(jlen(j, "tickets"), 2);
    char want[100];
    snprintf(want, sizeof want, "%s:0", dist_a);
    CHECK_EQ_STR(js(j, "tickets.0.ticket"), want);
    CHECK_EQ_STR(js(j, "tickets.0.activity.name"), "一对一帮扶学习");
    CHECK_EQ_STR(js(j, "tickets.0.activity.venue"), "A1 教学楼");
    CHECK_EQ_STR(js(j, "tickets.0.activity.category"), "学习");
    CHECK_EQ_STR(js(j, "tickets.0.activity.start"), "2030-01-01T08:00:00+08:00");
    CHECK_EQ_STR(js(j, "tickets.0.department.name"), "学习部");
    CHECK_EQ_STR(js(j, "tickets.0.department.id"), dept_id);
    CHECK_EQ_INT(jb(j, "tickets.0.legal"), 1);
    CHECK(is_null(j, "tickets.0.why_not"));
    CHECK_EQ_INT(jlen(j, "tickets.0.history"), 2);
    CHECK_EQ_STR(js(j, "tickets.0.history.0.event"), "approved");
    CHECK_EQ_STR(js(j, "tickets.0.history.0.transaction_id"), tick_a);
    CHECK_EQ_STR(js(j, "tickets.0.history.1.event"), "distributed");
    CHECK_EQ_STR(js(j, "tickets.0.history.1.transaction_id"), dist_a);
    CHECK(ji(j, "tickets.0.history.1.height") > ji(j, "tickets.0.history.0.height"));
    CHECK_EQ_INT(jb(j, "tickets.1.activity.closed"), 1);
    CHECK_EQ_INT(jb(j, "tickets.1.legal"), 1); /* closing freezes; it does not invalidate */

    buf_reset(&b); /* revoked */
    POS(query_student(st, "2020002", &b, NULL) == LTD_OK);
    j = parse(&b);
    CHECK_EQ_INT(ji(j, "legal_tickets"), 0);
    CHECK(is_null(j, "name"));
    CHECK_EQ_INT(jb(j, "tickets.0.legal"), 0);
    CHECK_EQ_STR(js(j, "tickets.0.why_not"), "revoked: bought");
    CHECK_EQ_STR(js(j, "tickets.0.history.2.event"), "revoked");
    CHECK_EQ_STR(js(j, "tickets.0.history.2.reason"), "bought");

    buf_reset(&b); /* returned */
    POS(query_student(st, "2020003", &b, NULL) == LTD_OK);
    j = parse(&b);
    CHECK_EQ_INT(ji(j, "legal_tickets"), 0);
    CHECK_EQ_STR(js(j, "tickets.0.why_not"), "returned");
    CHECK_EQ_STR(js(j, "tickets.0.history.2.event"), "returned");
    CHECK_EQ_STR(js(j, "tickets.0.history.2.transaction_id"), ret_id);

    buf_reset(&b); /* on the roster, never registered */
    POS(query_student(st, "2020004", &b, NULL) == LTD_OK);
    j = parse(&b);
    CHECK_EQ_INT(jb(j, "registered"), 0);
    CHECK(is_null(j, "key"));
    CHECK_EQ_INT(jlen(j, "tickets"), 0);
    CHECK_EQ_INT(ji(j, "legal_tickets"), 0);

    buf_reset(&b);
    buf_adds(&b, "keep");
    NEG(query_student(st, "2029999", &b, NULL) == LTD_E_NOT_FOUND);
    CHECK_EQ_STR(b.p, "keep"); /* nothing appended on failure */
    NEG(query_student(st, "20 01", &b, NULL) == LTD_E_L_BAD_SID);
    NEG(query_student(st, "", &b, NULL) == LTD_E_L_BAD_SID);
    NEG(query_student(st, "123456789012345678901234567890123", &b, NULL) == LTD_E_L_BAD_SID);
    NEG(query_student(st, "2020001'; DROP TABLE l_tally; --", &b, NULL) == LTD_E_L_BAD_SID);
    NEG(query_student(st, NULL, &b, NULL) == LTD_E_L_BAD_SID);
    CHECK_EQ_STR(b.p, "keep");
    buf_release(&b);
}

static void
test_ticket(void)
{
    struct ltd_hash id;
    uint32_t idx;
    char s[120];
    snprintf(s, sizeof s, "%s:0", dist_a);
    POS(query_ticket_parse(s, &id, &idx) && idx == 0);
    snprintf(s, sizeof s, "%s:65535", dist_a);
    POS(query_ticket_parse(s, &id, &idx) && idx == 65535);
    static const char *const bad_tail[] = {":65536", ":01",  ":",   ":-1", ":1x",
                                           "",       ":1:2", ": 1", ":+1"};
    for (size_t i = 0; i < ARRAY_LEN(bad_tail); i++) {
        snprintf(s, sizeof s, "%s%s", dist_a, bad_tail[i]);
        NEG(!query_ticket_parse(s, &id, &idx));
    }
    snprintf(s, sizeof s, "%s:0", dist_a);
    s[0] = s[0] >= 'a' ? (char)(s[0] - 32) : 'A'; /* uppercase or not hex */
    NEG(!query_ticket_parse(s, &id, &idx));
    NEG(!query_ticket_parse("abc:0", &id, &idx));
    NEG(!query_ticket_parse(NULL, &id, &idx));

    struct buf b;
    buf_init(&b);
    struct ltd_hash da = H(dist_a);
    POS(query_ticket(st, &da, 0, &b, NULL) == LTD_OK);
    const struct cjson *j = parse(&b);
    CHECK_EQ_STR(js(j, "holder"), "student");
    CHECK_EQ_STR(js(j, "sid"), "2020001");
    CHECK_EQ_STR(js(j, "student_key"), s1.b58);
    CHECK_EQ_INT(jb(j, "legal"), 1);
    CHECK_EQ_INT(ji(j, "output_index"), 0);
    CHECK_EQ_STR(js(j, "transaction_id"), dist_a);
    buf_reset(&b); /* the department's change of the distribution */
    POS(query_ticket(st, &da, 3, &b, NULL) == LTD_OK);
    j = parse(&b);
    CHECK_EQ_STR(js(j, "holder"), "department");
    CHECK_EQ_INT(jb(j, "legal"), 0);
    CHECK_EQ_STR(js(j, "why_not"), "held by the department");
    CHECK_EQ_STR(js(j, "history.1.event"), "received");
    CHECK_EQ_INT(ji(j, "amount"), 2);
    buf_reset(&b); /* the ticket asset itself: approved, then spent */
    struct ltd_hash ta = H(tick_a);
    POS(query_ticket(st, &ta, 0, &b, NULL) == LTD_OK);
    j = parse(&b);
    CHECK_EQ_INT(jlen(j, "history"), 2);
    CHECK_EQ_STR(js(j, "history.0.event"), "approved");
    CHECK_EQ_STR(js(j, "history.1.event"), "spent");
    CHECK_EQ_STR(js(j, "history.1.transaction_id"), dist_a);
    buf_reset(&b);
    NEG(query_ticket(st, &da, 4, &b, NULL) == LTD_E_NOT_FOUND);     /* no such output */
    NEG(query_ticket(st, &da, 65535, &b, NULL) == LTD_E_NOT_FOUND); /* far index */
    NEG(query_ticket(st, &da, 70000, &b, NULL) == LTD_E_NOT_FOUND); /* beyond okey bits */
    struct ltd_hash ro = H(roster_id);
    NEG(query_ticket(st, &ro, 0, &b, NULL) == LTD_E_NOT_FOUND); /* a tx, not a ticket */
    struct ltd_hash zero = {{0}};
    NEG(query_ticket(st, &zero, 0, &b, NULL) == LTD_E_NOT_FOUND);
    CHECK_EQ_INT(b.len, 0);
    buf_release(&b);
}

static const struct cjson *
report(struct buf *b, const struct query_report *r)
{
    buf_reset(b);
    enum ltd_err e = query_report_json(st, r, b, NULL);
    CHECK_EQ_INT(e, LTD_OK);
    return e == LTD_OK ? parse(b) : NULL;
}

static void
test_students_report(void)
{
    struct buf b;
    buf_init(&b);
    struct query_report r = {.pg = {1, 100}};
    const struct cjson *j = report(&b, &r);
    POS(ji(j, "total") == 5);
    CHECK_EQ_INT(jlen(j, "students"), 5);
    CHECK_EQ_STR(js(j, "students.0.sid"), "-2020006"); /* ASCII order */
    CHECK_EQ_STR(js(j, "students.1.sid"), "2020001");
    CHECK_EQ_INT(ji(j, "students.1.legal_tickets"), 2);
    CHECK_EQ_STR(js(j, "students.1.name"), "张三");
    CHECK(is_null(j, "students.4.name")); /* 2020004: not registered */
    r.sort = QUERY_SORT_COUNT;
    r.desc = true;
    j = report(&b, &r);
    POS(ji(j, "students.0.legal_tickets") == 2 && js(j, "students.0.sid") &&
        strcmp(js(j, "students.0.sid"), "2020001") == 0);
    CHECK_EQ_STR(js(j, "students.1.sid"), "-2020006"); /* ties by sid */
    r.desc = false;
    j = report(&b, &r);
    CHECK_EQ_STR(js(j, "students.4.sid"), "2020001");
    r.sort = QUERY_SORT_SID;
    r.desc = true;
    j = report(&b, &r);
    CHECK_EQ_STR(js(j, "students.0.sid"), "2020004");
    /* paging */
    r.desc = false;
    r.pg = (struct query_page){3, 2};
    j = report(&b, &r);
    POS(jlen(j, "students") == 1 && ji(j, "total") == 5 && ji(j, "page") == 3);
    CHECK_EQ_STR(js(j, "students.0.sid"), "2020004");
    r.pg = (struct query_page){4, 2};
    j = report(&b, &r);
    NEG(jlen(j, "students") == 0 && ji(j, "total") == 5); /* past the end: empty */
    r.pg = (struct query_page){query_page_max, query_per_page_max};
    j = report(&b, &r);
    NEG(jlen(j, "students") == 0);
    /* nonzero */
    r.pg = (struct query_page){1, 100};
    r.nonzero = true;
    j = report(&b, &r);
    POS(ji(j, "total") == 1 && jlen(j, "students") == 1);
    r.nonzero = false;
    /* filters: only matching activities count */
    r.f.has_app = true;
    r.f.app = H(app_b);
    j = report(&b, &r);
    POS(ji(j, "students.1.legal_tickets") == 1 && ji(j, "total") == 5);
    r.f.app = H(app_a);
    j = report(&b, &r);
    POS(ji(j, "students.1.legal_tickets") == 1);
    CHECK_EQ_INT(ji(j, "students.2.legal_tickets"), 0); /* revoked */
    CHECK_EQ_INT(ji(j, "students.3.legal_tickets"), 0); /* returned */
    r.f.has_app = false;
    r.f.category = "讲座";
    j = report(&b, &r);
    POS(ji(j, "students.1.legal_tickets") == 1);
    r.f.category = "学习";
    r.f.has_dept = true;
    r.f.dept = H(dept_id);
    r.nonzero = true;
    j = report(&b, &r);
    POS(ji(j, "total") == 1 && ji(j, "students.0.legal_tickets") == 1);
    r.f.category = NULL;
    j = report(&b, &r);
    POS(ji(j, "students.0.legal_tickets") == 2);
    r.f.dept = H(dept2_id);
    j = report(&b, &r);
    NEG(ji(j, "total") == 0 && jlen(j, "students") == 0);
    r.f.has_dept = false;
    r.f.has_app = true;
    r.f.app = H(roster_id); /* not an activity */
    j = report(&b, &r);
    NEG(ji(j, "total") == 0);
    r.f.has_app = false;
    r.f.category = "no such category";
    r.nonzero = false;
    j = report(&b, &r);
    NEG(ji(j, "total") == 5 && ji(j, "students.1.legal_tickets") == 0);
    r.f.category = "' OR 1=1 --";
    j = report(&b, &r);
    NEG(ji(j, "students.1.legal_tickets") == 0);
    buf_release(&b);
}

static void
test_csv(void)
{
    struct buf b;
    buf_init(&b);
    struct query_report r = {.pg = {1, 1}}; /* paging does not apply to CSV */
    POS(query_report_csv(st, &r, &b, NULL) == LTD_OK);
    CHECK_EQ_STR(b.p, "sid,name,legal_tickets\r\n"
                      "'-2020006,'@SUM(1),0\r\n"
                      "2020001,张三,2\r\n"
                      "2020002,,0\r\n"
                      "2020003,\"'=cmd|' /C calc'!A0, \"\"x\"\"\",0\r\n"
                      "2020004,,0\r\n");
    buf_reset(&b);
    r.sort = QUERY_SORT_COUNT;
    r.desc = true;
    r.nonzero = true;
    r.f.has_app = true;
    r.f.app = H(app_b);
    POS(query_report_csv(st, &r, &b, NULL) == LTD_OK);
    CHECK_EQ_STR(b.p, "sid,name,legal_tickets\r\n2020001,张三,1\r\n");
    buf_release(&b);
}

static void
test_histogram(void)
{
    struct buf b;
    buf_init(&b);
    struct query_filter f = {0};
    POS(query_histogram(st, &f, &b, NULL) == LTD_OK);
    const struct cjson *j = parse(&b);
    CHECK_EQ_INT(ji(j, "students"), 5);
    CHECK_EQ_INT(jlen(j, "buckets"), 11);
    CHECK_EQ_INT(ji(j, "buckets.0"), 4);
    CHECK_EQ_INT(ji(j, "buckets.2"), 1);
    CHECK_EQ_STR(js(j, "labels.10"), "10+");
    buf_reset(&b);
    f.has_app = true;
    f.app = H(app_b);
    POS(query_histogram(st, &f, &b, NULL) == LTD_OK);
    j = parse(&b);
    CHECK_EQ_INT(ji(j, "buckets.1"), 1);
    CHECK_EQ_INT(ji(j, "buckets.2"), 0);
    buf_reset(&b);
    f.app = H(roster_id);
    NEG(query_histogram(st, &f, &b, NULL) == LTD_OK && (j = parse(&b)) && ji(j, "buckets.0") == 5);
    buf_release(&b);
}

/* The "tickets" statistics of an activity/department object. */
static void
check_tickets(const struct cjson *t, long long req, long long appr, long long dist, long long ret,
              long long rev, long long legal, long long rem, long long lapsed)
{
    CHECK_EQ_INT(ji(t, "requested"), req);
    CHECK_EQ_INT(ji(t, "approved"), appr);
    CHECK_EQ_INT(ji(t, "distributed"), dist);
    CHECK_EQ_INT(ji(t, "returned"), ret);
    CHECK_EQ_INT(ji(t, "revoked"), rev);
    CHECK_EQ_INT(ji(t, "legal"), legal);
    CHECK_EQ_INT(ji(t, "remaining"), rem);
    CHECK_EQ_INT(ji(t, "lapsed"), lapsed);
}

static void
test_activities(void)
{
    struct buf b;
    buf_init(&b);
    struct query_filter f = {0};
    struct query_page pg = {1, 50};
    POS(query_activities(st, &f, &pg, &b, NULL) == LTD_OK);
    const struct cjson *j = parse(&b);
    CHECK_EQ_INT(ji(j, "total"), 2);
    CHECK_EQ_STR(js(j, "activities.0.name"), "Lecture B"); /* later start first */
    CHECK_EQ_INT(jb(j, "activities.0.closed"), 1);
    check_tickets(jp(j, "activities.0.tickets"), 10, 3, 1, 0, 0, 1, 0, 2);
    CHECK_EQ_STR(js(j, "activities.1.name"), "一对一帮扶学习");
    CHECK_EQ_STR(js(j, "activities.1.department.name"), "学习部");
    CHECK_EQ_STR(js(j, "activities.1.status"), "approved");
    CHECK_EQ_STR(js(j, "activities.1.asset_id"), tick_a);
    check_tickets(jp(j, "activities.1.tickets"), 300, 5, 3, 1, 1, 1, 3, 0);
    buf_reset(&b);
    f.category = "讲座";
    POS(query_activities(st, &f, &pg, &b, NULL) == LTD_OK);
    j = parse(&b);
    CHECK_EQ_INT(ji(j, "total"), 1); /* C and D are not approved */
    buf_reset(&b);
    f.category = NULL;
    f.has_dept = true;
    f.dept = H(dept2_id);
    POS(query_activities(st, &f, &pg, &b, NULL) == LTD_OK);
    j = parse(&b);
    NEG(ji(j, "total") == 0 && jlen(j, "activities") == 0);
    buf_reset(&b);
    f.has_dept = false;
    pg = (struct query_page){2, 1};
    POS(query_activities(st, &f, &pg, &b, NULL) == LTD_OK);
    j = parse(&b);
    CHECK_EQ_INT(jlen(j, "activities"), 1);
    CHECK_EQ_STR(js(j, "activities.0.name"), "一对一帮扶学习");
    /* one activity, visibility */
    struct ltd_hash a = H(app_a), c = H(app_c), d1 = H(dept_id), d2 = H(dept2_id);
    buf_reset(&b);
    POS(query_activity(st, &a, false, NULL, &b, NULL) == LTD_OK);
    check_tickets(jp(parse(&b), "tickets"), 300, 5, 3, 1, 1, 1, 3, 0);
    buf_reset(&b);
    NEG(query_activity(st, &c, false, NULL, &b, NULL) == LTD_E_NOT_FOUND);
    NEG(query_activity(st, &c, false, &d2, &b, NULL) == LTD_E_NOT_FOUND);
    POS(query_activity(st, &c, false, &d1, &b, NULL) == LTD_OK);
    j = parse(&b);
    CHECK_EQ_STR(js(j, "status"), "rejected");
    CHECK_EQ_STR(js(j, "reason"), "no venue");
    check_tickets(jp(j, "tickets"), 7, 0, 0, 0, 0, 0, 0, 0);
    buf_reset(&b);
    POS(query_activity(st, &c, true, NULL, &b, NULL) == LTD_OK);
    buf_reset(&b);
    struct ltd_hash ro = H(roster_id);
    NEG(query_activity(st, &ro, true, NULL, &b, NULL) == LTD_E_NOT_FOUND);
    /* applications */
    buf_reset(&b);
    pg = (struct query_page){1, 50};
    POS(query_applications(st, &d1, -1, &pg, &b, NULL) == LTD_OK);
    j = parse(&b);
    CHECK_EQ_INT(ji(j, "total"), 4);
    CHECK_EQ_STR(js(j, "applications.0.name"), "Pending D"); /* newest first */
    CHECK_EQ_STR(js(j, "applications.0.status"), "pending");
    buf_reset(&b);
    POS(query_applications(st, &d1, LTDRS_REJECTED, &pg, &b, NULL) == LTD_OK);
    j = parse(&b);
    CHECK_EQ_INT(ji(j, "total"), 1);
    CHECK_EQ_STR(js(j, "applications.0.reason"), "no venue");
    buf_reset(&b);
    POS(query_applications(st, NULL, LTDRS_APPROVED, &pg, &b, NULL) == LTD_OK);
    CHECK_EQ_INT(ji(parse(&b), "total"), 2);
    buf_reset(&b);
    NEG(query_applications(st, &d2, -1, &pg, &b, NULL) == LTD_OK && ji(parse(&b), "total") == 0);
    buf_release(&b);
}

static void
test_departments(void)
{
    struct buf b;
    buf_init(&b);
    POS(query_departments(st, false, &b, NULL) == LTD_OK);
    const struct cjson *j = parse(&b);
    CHECK_EQ_INT(jlen(j, "departments"), 1);
    CHECK_EQ_STR(js(j, "departments.0.name"), "学习部");
    CHECK_EQ_STR(js(j, "departments.0.status"), "approved");
    NEG(jp(j, "departments.0.contact") == NULL); /* contacts are for the admin */
    buf_reset(&b);
    POS(query_departments(st, true, &b, NULL) == LTD_OK);
    j = parse(&b);
    CHECK_EQ_INT(jlen(j, "departments"), 3);
    CHECK_EQ_STR(js(j, "departments.0.name"), "Chess Club");
    CHECK_EQ_STR(js(j, "departments.0.status"), "rejected");
    CHECK_EQ_STR(js(j, "departments.0.reason"), "not a club");
    CHECK_EQ_STR(js(j, "departments.1.status"), "pending");
    CHECK_EQ_STR(js(j, "departments.2.contact"), "xxb@example.edu");
    CHECK_EQ_STR(js(j, "departments.2.public_key"), dept.b58);
    /* statistics */
    struct ltd_hash d1 = H(dept_id), d2 = H(dept2_id), zero = {{0}};
    buf_reset(&b);
    POS(query_department_stats(st, &d1, false, &b, NULL) == LTD_OK);
    j = parse(&b);
    CHECK_EQ_INT(ji(j, "applications.total"), 4);
    CHECK_EQ_INT(ji(j, "applications.pending"), 1);
    CHECK_EQ_INT(ji(j, "applications.approved"), 2);
    CHECK_EQ_INT(ji(j, "applications.rejected"), 1);
    check_tickets(jp(j, "tickets"), 326, 8, 4, 1, 1, 2, 3, 2);
    buf_reset(&b);
    NEG(query_department_stats(st, &d2, false, &b, NULL) == LTD_E_NOT_FOUND); /* pending */
    POS(query_department_stats(st, &d2, true, &b, NULL) == LTD_OK);
    buf_reset(&b);
    NEG(query_department_stats(st, &zero, true, &b, NULL) == LTD_E_NOT_FOUND);
    POS(query_department_stats(st, NULL, false, &b, NULL) == LTD_OK);
    j = parse(&b);
    CHECK_EQ_INT(jlen(j, "departments"), 1);
    CHECK_EQ_INT(ji(j, "departments.0.tickets.distributed"), 4);
    buf_reset(&b);
    POS(query_department_stats(st, NULL, true, &b, NULL) == LTD_OK);
    CHECK_EQ_INT(jlen(parse(&b), "departments"), 3);
    buf_release(&b);
}

static void
test_announcements(void)
{
    struct buf b;
    buf_init(&b);
    struct query_page pg = {1, 50};
    POS(query_announcements(st, &pg, &b, NULL) == LTD_OK);
    const struct cjson *j = parse(&b);
    CHECK_EQ_INT(ji(j, "total"), 2);
    CHECK_EQ_STR(js(j, "announcements.0.title"), "Second <b>"); /* stored literally */
    CHECK_EQ_STR(js(j, "announcements.0.application"), app_a);
    CHECK_EQ_STR(js(j, "announcements.0.activity"), "一对一帮扶学习");
    CHECK(is_null(j, "announcements.1.application"));
    CHECK(is_null(j, "announcements.1.link"));
    buf_reset(&b);
    pg = (struct query_page){2, 1};
    POS(query_announcements(st, &pg, &b, NULL) == LTD_OK);
    CHECK_EQ_STR(js(parse(&b), "announcements.0.title"), "First");
    buf_reset(&b);
    pg = (struct query_page){3, 1};
    NEG(query_announcements(st, &pg, &b, NULL) == LTD_OK && jlen(parse(&b), "announcements") == 0);
    buf_release(&b);
}

static void
test_helpers(void)
{
    struct buf b;
    buf_init(&b);
    struct ltd_hash a = H(app_a), bb = H(app_b), c = H(app_c), ro = H(roster_id);
    POS(query_dept_outputs(st, &a, &b, NULL) == LTD_OK);
    const struct cjson *j = parse(&b);
    CHECK_EQ_STR(js(j, "asset_id"), tick_a);
    CHECK_EQ_STR(js(j, "department_key"), dept.b58);
    CHECK_EQ_INT(jlen(j, "outputs"), 2);
    CHECK_EQ_STR(js(j, "outputs.0.transaction_id"), dist_a);
    CHECK_EQ_INT(ji(j, "outputs.0.output_index"), 3);
    CHECK_EQ_STR(js(j, "outputs.0.amount"), "2");
    CHECK_EQ_STR(js(j, "outputs.1.transaction_id"), ret_id);
    CHECK_EQ_INT(ji(j, "remaining"), 3);
    buf_reset(&b);
    POS(query_dept_outputs(st, &bb, &b, NULL) == LTD_OK);
    CHECK_EQ_INT(jb(parse(&b), "closed"), 1);
    buf_reset(&b);
    NEG(query_dept_outputs(st, &c, &b, NULL) == LTD_E_NOT_FOUND);
    NEG(query_dept_outputs(st, &ro, &b, NULL) == LTD_E_NOT_FOUND);
    /* keys of many numbers */
    const char *sids[] = {"2020001", "2020004", "2029999", "bad sid!",
                          "2020001", "2020002", "2020003"};
    buf_reset(&b);
    POS(query_student_keys(st, sids, ARRAY_LEN(sids), &a, &b, NULL) == LTD_OK);
    j = parse(&b);
    CHECK_EQ_INT(jlen(j, ""), 6); /* the repeated number once */
    CHECK_EQ_STR(js(j, "2020001.status"), "has_ticket");
    CHECK_EQ_STR(js(j, "2020001.key"), s1.b58);
    CHECK_EQ_STR(js(j, "2020004.status"), "unregistered");
    CHECK(is_null(j, "2020004.key"));
    CHECK_EQ_STR(js(j, "2029999.status"), "unknown");
    CHECK_EQ_STR(js(j, "bad sid!.status"), "invalid");
    CHECK_EQ_STR(js(j, "2020002.status"), "has_ticket"); /* revoked, still held */
    CHECK_EQ_STR(js(j, "2020003.status"), "ok");         /* returned: may get one again */
    buf_reset(&b);
    POS(query_student_keys(st, sids, 1, NULL, &b, NULL) == LTD_OK);
    CHECK_EQ_STR(js(parse(&b), "2020001.status"), "ok");
    buf_reset(&b);
    POS(query_student_keys(st, sids, 0, NULL, &b, NULL) == LTD_OK);
    CHECK_EQ_STR(b.p, "{}");
    const char **many = calloc(query_keys_sids_max + 1, sizeof *many);
    for (int i = 0; i <= query_keys_sids_max; i++)
        many[i] = "2020001";
    buf_reset(&b);
    NEG(query_student_keys(st, many, query_keys_sids_max + 1, NULL, &b, NULL) == LTD_E_TOO_LARGE);
    POS(query_student_keys(st, many, query_keys_sids_max, NULL, &b, NULL) == LTD_OK);
    free(many);
    /* roles */
    struct query_role r;
    POS(query_role(st, &admin.pk, &admin.pk, &r, NULL) == LTD_OK && r.role == QUERY_ROLE_ADMIN);
    POS(query_role(st, &admin.pk, &dept.pk, &r, NULL) == LTD_OK &&
        r.role == QUERY_ROLE_DEPARTMENT && r.dept_status == LTDRS_APPROVED);
    CHECK(memcmp(r.dept.b, H(dept_id).b, 32) == 0);
    CHECK_EQ_STR(r.name, "学习部");
    POS(query_role(st, &admin.pk, &dept2.pk, &r, NULL) == LTD_OK && r.dept_status == LTDRS_PENDING);
    POS(query_role(st, &admin.pk, &dept3.pk, &r, NULL) == LTD_OK &&
        r.dept_status == LTDRS_REJECTED);
    POS(query_role(st, &admin.pk, &s1.pk, &r, NULL) == LTD_OK && r.role == QUERY_ROLE_STUDENT);
    CHECK_EQ_STR(r.sid, "2020001");
    buf_reset(&b);
    query_role_json(&r, &s1.pk, &b);
    j = parse(&b);
    CHECK_EQ_STR(js(j, "role"), "student");
    CHECK_EQ_STR(js(j, "sid"), "2020001");
    CHECK_EQ_STR(js(j, "public_key"), s1.b58);
    NEG(query_role(st, &admin.pk, &outsider.pk, &r, NULL) == LTD_OK && r.role == QUERY_ROLE_NONE);
    buf_reset(&b);
    query_role_json(&r, &outsider.pk, &b);
    CHECK_EQ_STR(js(parse(&b), "role"), "none");
    buf_release(&b);
}

/* ------------------------------------------- roster, distributions */

static void
test_roster(void)
{
    struct buf b;
    buf_init(&b);
    POS(query_roster(st, &b, NULL) == LTD_OK);
    const struct cjson *j = parse(&b);
    CHECK_EQ_INT(ji(j, "generation"), 1);
    CHECK_EQ_INT(ji(j, "students"), 5);
    CHECK_EQ_INT(ji(j, "registered"), 4); /* 2020004 never registered */
    CHECK_EQ_INT(ji(j, "unregistered"), 1);
    CHECK_EQ_INT(ji(j, "off_roster"), 0);
    CHECK_EQ_INT(jlen(j, "generations"), 1);
    CHECK_EQ_INT(ji(j, "generations.0.students"), 5);
    CHECK(ji(j, "updated.height") >= 1);
    CHECK(ji(j, "updated.time_ms") > 1700000000000LL);
    const char *tm = js(j, "updated.time");
    CHECK(tm && strlen(tm) == 24 && tm[10] == 'T' && tm[23] == 'Z');
    /* a second generation re-lists a number that is not bound yet */
    char h[65];
    code_hash_hex("2020004", "code2", h);
    LTD_ASSERT(create(&admin, NULL, 1, NULL,
                      "{\"ltdrs\":\"roster\",\"v\":1,\"generation\":2,\"students\":["
                      "{\"sid\":\"2020004\",\"code_hash\":\"%s\"},"
                      "{\"sid\":\"2020007\",\"code_hash\":\"%s\"}]}",
                      h, h) == LTD_OK);
    int64_t before = ji(j, "updated.height");
    buf_reset(&b);
    POS(query_roster(st, &b, NULL) == LTD_OK);
    j = parse(&b);
    CHECK_EQ_INT(ji(j, "generation"), 2);
    CHECK_EQ_INT(ji(j, "students"), 6);
    CHECK_EQ_INT(ji(j, "registered"), 4);
    CHECK_EQ_INT(jlen(j, "generations"), 2);
    CHECK_EQ_INT(ji(j, "generations.0.students"), 4); /* 2020004 moved to generation 2 */
    CHECK_EQ_INT(ji(j, "generations.1.generation"), 2);
    CHECK_EQ_INT(ji(j, "generations.1.students"), 2);
    CHECK(ji(j, "updated.height") > before);
    /* the rules still refuse a stale generation and a bound number: the
     * roster figures do not move */
    NEG(create(&admin, NULL, 1, NULL,
               "{\"ltdrs\":\"roster\",\"v\":1,\"generation\":1,\"students\":["
               "{\"sid\":\"2020007\",\"code_hash\":\"%s\"}]}",
               h) == LTD_E_L_DUP_ROSTER);
    NEG(create(&admin, NULL, 1, NULL,
               "{\"ltdrs\":\"roster\",\"v\":1,\"generation\":3,\"students\":["
               "{\"sid\":\"2020001\",\"code_hash\":\"%s\"}]}",
               h) != LTD_OK);
    NEG(create(&s1, NULL, 1, NULL,
               "{\"ltdrs\":\"roster\",\"v\":1,\"generation\":3,\"students\":["
               "{\"sid\":\"2020008\",\"code_hash\":\"%s\"}]}",
               h) == LTD_E_L_NOT_ADMIN);
    buf_reset(&b);
    POS(query_roster(st, &b, NULL) == LTD_OK);
    j = parse(&b);
    NEG(ji(j, "generation") == 2 && ji(j, "students") == 6);
    buf_release(&b);
}

/* The applier's counters and distribution list equal a recount of
 * l_ticket (the invariant behind the statistics). */
static bool
counters_agree(void)
{
    static const char *const sql[] = {
        /* rows of l_app_count that differ from a recount, either way */
        "SELECT COUNT(*) FROM (SELECT app, SUM(holder = 2) d, SUM(holder = 2 AND spent = 1) r,"
        " SUM(holder = 2 AND revoked = 1) v, SUM(holder = 2 AND spent = 0 AND revoked = 0) l,"
        " SUM(CASE WHEN holder = 1 AND spent = 0 THEN amount ELSE 0 END) h FROM l_ticket"
        " GROUP BY app EXCEPT SELECT app, distributed, returned, revoked, legal, held"
        " FROM l_app_count)",
        "SELECT COUNT(*) FROM (SELECT app, distributed, returned, revoked, legal, held FROM"
        " l_app_count EXCEPT SELECT app, SUM(holder = 2), SUM(holder = 2 AND spent = 1),"
        " SUM(holder = 2 AND revoked = 1), SUM(holder = 2 AND spent = 0 AND revoked = 0),"
        " SUM(CASE WHEN holder = 1 AND spent = 0 THEN amount ELSE 0 END) FROM l_ticket"
        " GROUP BY app)",
        "SELECT COUNT(*) FROM (SELECT t.seq, t.app, a.dept, COUNT(*) FROM l_ticket t"
        " JOIN l_application a ON a.id = t.app WHERE t.holder = 2 GROUP BY t.seq"
        " EXCEPT SELECT seq, app, dept, students FROM l_distribution)",
        "SELECT COUNT(*) FROM (SELECT seq, app, dept, students FROM l_distribution EXCEPT"
        " SELECT t.seq, t.app, a.dept, COUNT(*) FROM l_ticket t JOIN l_application a"
        " ON a.id = t.app WHERE t.holder = 2 GROUP BY t.seq)",
        "SELECT COUNT(*) FROM l_application WHERE status = 1"
        " AND id NOT IN (SELECT app FROM l_app_count)",
    };
    struct conn *c;
    LTD_ASSERT(store_conn_get(st, &c, NULL) == LTD_OK);
    bool ok = true;
    for (size_t i = 0; i < ARRAY_LEN(sql); i++) {
        sqlite3_stmt *s = NULL;
        LTD_ASSERT(sqlite3_prepare_v2(c->db, sql[i], -1, &s, NULL) == SQLITE_OK);
        LTD_ASSERT(sqlite3_step(s) == SQLITE_ROW);
        if (sqlite3_column_int64(s, 0) != 0) {
            fprintf(stderr, "  counters differ from l_ticket: %s\n", sql[i]);
            ok = false;
        }
        sqlite3_finalize(s);
    }
    store_conn_put(st, c);
    return ok;
}

static const struct cjson *
dists(struct buf *b, const char *dept_hex, const char *app_hex, uint32_t page, uint32_t per_page)
{
    struct ltd_hash d, a;
    if (dept_hex)
        d = H(dept_hex);
    if (app_hex)
        a = H(app_hex);
    struct query_page pg = {page, per_page};
    buf_reset(b);
    enum ltd_err e =
        query_distributions(st, dept_hex ? &d : NULL, app_hex ? &a : NULL, &pg, b, NULL);
    CHECK_EQ_INT(e, LTD_OK);
    return e == LTD_OK ? parse(b) : NULL;
}

static void
test_distributions(void)
{
    struct buf b;
    buf_init(&b);
    const struct cjson *j = dists(&b, NULL, NULL, 1, 20);
    POS(ji(j, "total") == 2 && jlen(j, "distributions") == 2);
    CHECK_EQ_STR(js(j, "distributions.0.transaction_id"), dist_b); /* newest first */
    CHECK_EQ_STR(js(j, "distributions.1.transaction_id"), dist_a);
    CHECK(ji(j, "distributions.0.height") > ji(j, "distributions.1.height"));
    CHECK(ji(j, "distributions.0.time_ms") >= ji(j, "distributions.1.time_ms"));
    CHECK(ji(j, "distributions.1.time_ms") > 1700000000000LL);
    const char *tm = js(j, "distributions.1.time");
    CHECK(tm && strlen(tm) == 24 && tm[4] == '-' && tm[10] == 'T' && tm[23] == 'Z');
    CHECK_EQ_STR(js(j, "distributions.1.activity.name"), "一对一帮扶学习");
    CHECK_EQ_STR(js(j, "distributions.1.activity.id"), app_a);
    CHECK_EQ_INT(jb(j, "distributions.0.activity.closed"), 1);
    CHECK_EQ_STR(js(j, "distributions.1.department.name"), "学习部");
    CHECK_EQ_STR(js(j, "distributions.1.department.id"), dept_id);
    CHECK_EQ_INT(ji(j, "distributions.1.count"), 3);
    CHECK_EQ_INT(jlen(j, "distributions.1.students"), 3);
    CHECK_EQ_STR(js(j, "distributions.1.students.0.sid"), "2020001");
    CHECK_EQ_INT(ji(j, "distributions.1.students.0.output_index"), 0);
    CHECK_EQ_STR(js(j, "distributions.1.students.0.status"), "legal");
    CHECK_EQ_STR(js(j, "distributions.1.students.1.status"), "revoked");
    CHECK_EQ_STR(js(j, "distributions.1.students.2.sid"), "2020003");
    CHECK_EQ_STR(js(j, "distributions.1.students.2.status"), "returned");
    CHECK_EQ_INT(ji(j, "distributions.1.students.2.output_index"), 2);
    /* filters */
    j = dists(&b, dept_id, NULL, 1, 20);
    POS(ji(j, "total") == 2);
    j = dists(&b, NULL, app_a, 1, 20);
    POS(ji(j, "total") == 1 && js(j, "distributions.0.transaction_id") &&
        strcmp(js(j, "distributions.0.transaction_id"), dist_a) == 0);
    j = dists(&b, dept_id, app_b, 1, 20);
    POS(ji(j, "total") == 1 && ji(j, "distributions.0.count") == 1);
    /* paging */
    j = dists(&b, NULL, NULL, 2, 1);
    POS(ji(j, "total") == 2 && jlen(j, "distributions") == 1 && ji(j, "page") == 2);
    CHECK_EQ_STR(js(j, "distributions.0.transaction_id"), dist_a);
    j = dists(&b, NULL, NULL, 3, 1);
    NEG(ji(j, "total") == 2 && jlen(j, "distributions") == 0); /* past the end: empty */
    /* what matches nothing, and what is not a distribution */
    j = dists(&b, dept2_id, NULL, 1, 20);
    NEG(ji(j, "total") == 0 && jlen(j, "distributions") == 0);
    j = dists(&b, dept2_id, app_a, 1, 20); /* another department's activity */
    NEG(ji(j, "total") == 0);
    j = dists(&b, NULL, roster_id, 1, 20);
    NEG(ji(j, "total") == 0);
    j = dists(&b, NULL, app_c, 1, 20); /* rejected: never distributed */
    NEG(ji(j, "total") == 0);
    j = dists(&b, NULL, NULL, 1, 20);
    for (uint32_t i = 0; i < 2; i++) { /* neither the return nor the ticket CREATEs */
        char k[40];
        snprintf(k, sizeof k, "distributions.%u.transaction_id", i);
        const char *id = js(j, k);
        NEG(id && strcmp(id, ret_id) != 0 && strcmp(id, tick_a) != 0 && strcmp(id, tick_b) != 0);
    }
    buf_reset(&b);
    buf_adds(&b, "keep");
    struct ltd_hash ro = H(roster_id);
    struct query_page pg = {1, 1};
    NEG(query_distributions(st, &ro, &ro, &pg, &b, NULL) == LTD_OK &&
        strncmp(b.p, "keep{", 5) == 0);
    POS(counters_agree());
    buf_release(&b);
}

/* Transactions that break the rules change neither the counters nor the
 * history; a valid one changes both. */
static void
test_counters(void)
{
    struct buf b;
    buf_init(&b);
    struct ltd_hash a = H(app_a);
    POS(query_activity(st, &a, false, NULL, &b, NULL) == LTD_OK);
    char before[2048];
    snprintf(before, sizeof before, "%s", b.p);
    /* student-to-student trading of s1's ticket of A: refused */
    struct out held = {&s1.pk, &dept.pk, 1}, to_s2 = {&s2.pk, &dept.pk, 1};
    NEG(transfer(tick_a, dist_a, 0, &held, &s1, &dept, &to_s2, 1,
                 "{\"ltdrs\":\"distribution\",\"v\":1,\"students\":[\"2020002\"]}",
                 NULL) != LTD_OK);
    /* a second ticket of A for s2 (whose first was revoked): refused */
    struct out change = {&dept.pk, NULL, 2};
    struct out o2[2] = {{&s2.pk, &dept.pk, 1}, {&dept.pk, NULL, 1}};
    NEG(transfer(tick_a, dist_a, 3, &change, &dept, NULL, o2, 2,
                 "{\"ltdrs\":\"distribution\",\"v\":1,\"students\":[\"2020002\"]}",
                 NULL) == LTD_E_L_HAS_TICKET);
    /* a distribution of the closed activity B: refused */
    struct out ch_b = {&dept.pk, NULL, 2};
    struct out ob[2] = {{&s3.pk, &dept.pk, 1}, {&dept.pk, NULL, 1}};
    NEG(transfer(tick_b, dist_b, 1, &ch_b, &dept, NULL, ob, 2,
                 "{\"ltdrs\":\"distribution\",\"v\":1,\"students\":[\"2020003\"]}",
                 NULL) == LTD_E_L_CLOSED);
    buf_reset(&b);
    POS(query_activity(st, &a, false, NULL, &b, NULL) == LTD_OK);
    NEG(strcmp(before, b.p) == 0);
    const struct cjson *j = dists(&b, NULL, NULL, 1, 20);
    NEG(ji(j, "total") == 2);
    POS(counters_agree());
    /* a valid one: s3 (returned before) gets a ticket of A again */
    struct out o3[2] = {{&s3.pk, &dept.pk, 1}, {&dept.pk, NULL, 1}};
    char d3[65];
    POS(transfer(tick_a, dist_a, 3, &change, &dept, NULL, o3, 2,
                 "{\"ltdrs\":\"distribution\",\"v\":1,\"students\":[\"2020003\"]}", d3) == LTD_OK);
    buf_reset(&b);
    POS(query_activity(st, &a, false, NULL, &b, NULL) == LTD_OK);
    check_tickets(jp(parse(&b), "tickets"), 300, 5, 4, 1, 1, 2, 2, 0);
    j = dists(&b, dept_id, app_a, 1, 20);
    POS(ji(j, "total") == 2 && js(j, "distributions.0.transaction_id") &&
        strcmp(js(j, "distributions.0.transaction_id"), d3) == 0);
    CHECK_EQ_STR(js(j, "distributions.0.students.0.sid"), "2020003");
    POS(counters_agree());
    buf_release(&b);
}

/* Unbinding keeps the old tickets counted ("is or was bound"). */
static void
test_unbind(void)
{
    char h[65];
    code_hash_hex("2020001", "new-code", h);
    LTD_ASSERT(create(&admin, NULL, 1, NULL,
                      "{\"ltdrs\":\"unbind\",\"v\":1,\"sid\":\"2020001\",\"reason\":\"lost key\","
                      "\"code_hash\":\"%s\"}",
                      h) == LTD_OK);
    struct buf b;
    buf_init(&b);
    POS(query_student(st, "2020001", &b, NULL) == LTD_OK);
    const struct cjson *j = parse(&b);
    CHECK_EQ_INT(jb(j, "registered"), 0);
    CHECK(is_null(j, "key"));
    CHECK_EQ_INT(ji(j, "legal_tickets"), 2);
    CHECK_EQ_INT(jb(j, "tickets.0.legal"), 1);
    CHECK_EQ_STR(js(j, "tickets.0.student_key"), s1.b58);
    struct query_report r = {.pg = {1, 10}, .nonzero = true};
    buf_reset(&b);
    POS(query_report_json(st, &r, &b, NULL) == LTD_OK &&
        ji(parse(&b), "students.0.legal_tickets") == 2);
    struct query_role role;
    NEG(query_role(st, &admin.pk, &s1.pk, &role, NULL) == LTD_OK && role.role == QUERY_ROLE_NONE);
    const char *one[] = {"2020001"};
    buf_reset(&b);
    POS(query_student_keys(st, one, 1, NULL, &b, NULL) == LTD_OK);
    CHECK_EQ_STR(js(parse(&b), "2020001.status"), "unregistered");
    buf_release(&b);
}

/* --------------------------------------------------------- session tests */

static uint64_t fake_now = 1000000;

static uint64_t
clock_fn(void *ctx)
{
    (void)ctx;
    return __atomic_load_n(&fake_now, __ATOMIC_SEQ_CST);
}

static struct sessions *
new_sessions(uint32_t sessions_max)
{
    struct session_config cfg;
    session_config_init(&cfg);
    cfg.now_ms = clock_fn;
    cfg.sessions_max = sessions_max;
    return sessions_new(&cfg, st, &admin.pk);
}

static const char *origin = "http://127.0.0.1:9984";

/* Signs the login message for (origin, challenge) with k: base64url. */
static void
sign_login(const struct key *k, const char *org, const char *ch, char out[130], bool hex)
{
    struct buf m, s;
    buf_init(&m);
    buf_init(&s);
    session_login_message(org, ch, &m);
    struct ltd_sig sig;
    codec_ed25519_sign(&k->seed, (const uint8_t *)m.p, m.len, &sig);
    if (hex) {
        hex_encode(out, sig.b, 64);
    } else {
        codec_b64url_encode(sig.b, 64, &s);
        snprintf(out, 130, "%s", s.p);
    }
    buf_release(&m);
    buf_release(&s);
}

static enum ltd_err
login(struct sessions *ss, const struct key *k, char id[65], struct session_info *si)
{
    char ch[65], sig[130];
    uint64_t exp;
    sessions_challenge(ss, origin, ch, &exp);
    sign_login(k, origin, ch, sig, false);
    return sessions_login(ss, origin, k->b58, ch, sig, id, si, NULL);
}

static void
test_login(void)
{
    struct sessions *ss = new_sessions(100);
    char ch[65], sig[130], id[65], id2[65];
    uint64_t exp;
    struct session_info si;
    struct buf m;
    buf_init(&m);
    sessions_challenge(ss, origin, ch, &exp);
    CHECK_EQ_INT(strlen(ch), 64);
    CHECK_EQ_INT(exp, fake_now + 120000);
    session_login_message(origin, ch, &m);
    CHECK(strncmp(m.p, "ltdrs-login:v1:http://127.0.0.1:9984:", 37) == 0);
    /* signature over the SHA-256 of the text (a 32-byte digest): refused */
    struct ltd_hash dg;
    codec_sha256(&dg, m.p, m.len);
    struct ltd_sig raw;
    codec_ed25519_sign(&s1.seed, dg.b, 32, &raw);
    hex_encode(sig, raw.b, 64);
    NEG(sessions_login(ss, origin, s1.b58, ch, sig, id, &si, NULL) == LTD_E_TX_SIGNATURE);
    codec_sha3_256(&dg, m.p, m.len);
    codec_ed25519_sign(&s1.seed, dg.b, 32, &raw);
    hex_encode(sig, raw.b, 64);
    NEG(sessions_login(ss, origin, s1.b58, ch, sig, id, &si, NULL) == LTD_E_TX_SIGNATURE);
    CHECK_EQ_INT(session_login_status(LTD_E_TX_SIGNATURE), 401);
    /* signed by another key */
    sign_login(&s2, origin, ch, sig, false);
    NEG(sessions_login(ss, origin, s1.b58, ch, sig, id, &si, NULL) == LTD_E_TX_SIGNATURE);
    /* signed for another origin */
    sign_login(&s1, "http://evil.example", ch, sig, false);
    NEG(sessions_login(ss, origin, s1.b58, ch, sig, id, &si, NULL) == LTD_E_TX_SIGNATURE);
    /* malformed inputs */
    sign_login(&s1, origin, ch, sig, false);
    NEG(sessions_login(ss, origin, "not-a-key", ch, sig, id, &si, NULL) != LTD_OK);
    NEG(sessions_login(ss, origin, NULL, ch, sig, id, &si, NULL) == LTD_E_KEY);
    NEG(sessions_login(ss, origin, s1.b58, "abc", sig, id, &si, NULL) == LTD_E_HTTP_BAD_REQUEST);
    char upper[65];
    memcpy(upper, ch, 65);
    for (int i = 0; i < 64; i++)
        upper[i] = (char)(upper[i] >= 'a' ? upper[i] - 32 : upper[i]);
    NEG(sessions_login(ss, origin, s1.b58, upper, sig, id, &si, NULL) == LTD_E_HTTP_BAD_REQUEST);
    NEG(sessions_login(ss, origin, s1.b58, ch, "AAAA", id, &si, NULL) == LTD_E_HTTP_BAD_REQUEST);
    NEG(sessions_login(ss, "", s1.b58, ch, sig, id, &si, NULL) == LTD_E_HTTP_BAD_REQUEST);
    char bad_b64[130];
    memcpy(bad_b64, sig, sizeof bad_b64);
    bad_b64[3] = '+';
    NEG(sessions_login(ss, origin, s1.b58, ch, bad_b64, id, &si, NULL) == LTD_E_BASE64);
    /* none of that consumed the challenge: the good login works (hex signature) */
    sign_login(&s1, origin, ch, sig, true);
    POS(sessions_login(ss, origin, s1.b58, ch, sig, id, &si, NULL) == LTD_OK);
    CHECK_EQ_INT(strlen(id), 64);
    CHECK_EQ_INT(strlen(si.csrf), 64);
    CHECK_EQ_INT(si.who.role, QUERY_ROLE_STUDENT);
    CHECK_EQ_STR(si.who.sid, "2020001");
    CHECK_EQ_INT(si.expires_ms, fake_now + SESSION_TTL_MS_DEFAULT);
    CHECK(strcmp(id, si.csrf) != 0);
    /* replay of the same challenge and signature */
    NEG(sessions_login(ss, origin, s1.b58, ch, sig, id2, &si, NULL) == LTD_E_NOT_FOUND);
    CHECK_EQ_INT(session_login_status(LTD_E_NOT_FOUND), 401);
    /* a challenge nobody issued */
    char made_up[65];
    uint8_t rnd[32];
    codec_random(rnd, 32);
    hex_encode(made_up, rnd, 32);
    sign_login(&s1, origin, made_up, sig, false);
    NEG(sessions_login(ss, origin, s1.b58, made_up, sig, id2, &si, NULL) == LTD_E_NOT_FOUND);
    /* issued for another origin, signed for the origin it is presented from */
    sessions_challenge(ss, "http://other.example:8080", ch, &exp);
    sign_login(&s1, origin, ch, sig, false);
    NEG(sessions_login(ss, origin, s1.b58, ch, sig, id2, &si, NULL) == LTD_E_NOT_FOUND);
    sign_login(&s1, "http://other.example:8080", ch, sig, false); /* consumed by then */
    NEG(sessions_login(ss, "http://other.example:8080", s1.b58, ch, sig, id2, &si, NULL) ==
        LTD_E_NOT_FOUND);
    /* expiry with the injected clock */
    sessions_challenge(ss, origin, ch, &exp);
    sign_login(&s2, origin, ch, sig, false);
    fake_now += session_challenge_ttl_ms - 1;
    POS(sessions_login(ss, origin, s2.b58, ch, sig, id2, &si, NULL) == LTD_OK);
    sessions_challenge(ss, origin, ch, &exp);
    sign_login(&s2, origin, ch, sig, false);
    fake_now += session_challenge_ttl_ms;
    NEG(sessions_login(ss, origin, s2.b58, ch, sig, id2, &si, NULL) == LTD_E_NOT_FOUND);
    /* roles: none / rejected department refused, pending department admitted */
    NEG(login(ss, &outsider, id2, &si) == LTD_E_L_NOT_ALLOWED);
    CHECK_EQ_INT(session_login_status(LTD_E_L_NOT_ALLOWED), 403);
    NEG(login(ss, &dept3, id2, &si) == LTD_E_L_NOT_ALLOWED);
    POS(login(ss, &dept2, id2, &si) == LTD_OK && si.who.role == QUERY_ROLE_DEPARTMENT &&
        si.who.dept_status == LTDRS_PENDING);
    POS(login(ss, &admin, id2, &si) == LTD_OK && si.who.role == QUERY_ROLE_ADMIN);
    buf_release(&m);
    sessions_free(ss);
}

struct racer {
    struct sessions *ss;
    const char *ch, *sig;
    pthread_barrier_t *bar;
    enum ltd_err result;
};

static void *
race_login(void *arg)
{
    struct racer *r = arg;
    char id[65];
    struct session_info si;
    pthread_barrier_wait(r->bar);
    r->result = sessions_login(r->ss, origin, s2.b58, r->ch, r->sig, id, &si, NULL);
    return NULL;
}

static void
test_login_race(void)
{
    enum { racers = 8, rounds = 25 };
    struct sessions *ss = new_sessions(1000);
    int bad_rounds = 0;
    for (int round = 0; round < rounds; round++) {
        char ch[65], sig[130];
        uint64_t exp;
        sessions_challenge(ss, origin, ch, &exp);
        sign_login(&s2, origin, ch, sig, false);
        pthread_barrier_t bar;
        pthread_barrier_init(&bar, NULL, racers);
        pthread_t th[racers];
        struct racer r[racers];
        for (int i = 0; i < racers; i++) {
            r[i] = (struct racer){ss, ch, sig, &bar, LTD_E_INTERNAL};
            LTD_ASSERT(pthread_create(&th[i], NULL, race_login, &r[i]) == 0);
        }
        int ok = 0, used = 0;
        for (int i = 0; i < racers; i++) {
            pthread_join(th[i], NULL);
            ok += r[i].result == LTD_OK;
            used += r[i].result == LTD_E_NOT_FOUND;
        }
        pthread_barrier_destroy(&bar);
        bad_rounds += !(ok == 1 && used == racers - 1);
    }
    POS(bad_rounds == 0); /* exactly one winner in every round */
    CHECK_EQ_INT(sessions_count(ss), rounds);
    sessions_free(ss);
}

static struct session_req
sreq(enum http_method m, const char *cookie, const char *org, const char *csrf)
{
    struct session_req r = {m, cookie, org, "127.0.0.1:9984", NULL, NULL, csrf};
    return r;
}

static void
test_sessions(void)
{
    struct sessions *ss = new_sessions(3);
    char id[65], cookie[200];
    struct session_info si, got;
    LTD_ASSERT(login(ss, &s2, id, &si) == LTD_OK);
    snprintf(cookie, sizeof cookie, "theme=dark; " SESSION_COOKIE "=%s; other=1", id);
    struct session_req r = sreq(HTTP_GET, cookie, NULL, NULL);
    POS(sessions_check(ss, &r, 0, &got, NULL) == 0 && got.who.role == QUERY_ROLE_STUDENT);
    CHECK_EQ_STR(got.csrf, si.csrf);
    POS(sessions_check(ss, &r, QUERY_ROLE_STUDENT, &got, NULL) == 0);
    NEG(sessions_check(ss, &r, QUERY_ROLE_ADMIN, &got, NULL) == 403);
    NEG(sessions_check(ss, &r, QUERY_ROLE_ADMIN | QUERY_ROLE_DEPARTMENT, &got, NULL) == 403);
    /* anonymous, forged and malformed cookies */
    r = sreq(HTTP_GET, NULL, NULL, NULL);
    NEG(sessions_check(ss, &r, 0, &got, NULL) == 401);
    char forged[120];
    snprintf(forged, sizeof forged, SESSION_COOKIE "=%064d", 7);
    r = sreq(HTTP_GET, forged, NULL, NULL);
    NEG(sessions_check(ss, &r, 0, &got, NULL) == 401); /* a pre-set id is never adopted */
    snprintf(forged, sizeof forged, SESSION_COOKIE "=%.63s", id);
    r = sreq(HTTP_GET, forged, NULL, NULL);
    NEG(sessions_check(ss, &r, 0, &got, NULL) == 401);
    snprintf(forged, sizeof forged, "x" SESSION_COOKIE "=%s", id);
    r = sreq(HTTP_GET, forged, NULL, NULL);
    NEG(sessions_check(ss, &r, 0, &got, NULL) == 401);
    /* state-changing requests need the CSRF token and a same-origin Origin */
    r = sreq(HTTP_POST, cookie, NULL, NULL);
    NEG(sessions_check(ss, &r, 0, &got, NULL) == 403);
    char wrong[65];
    memcpy(wrong, si.csrf, 65);
    wrong[10] = wrong[10] == 'a' ? 'b' : 'a';
    r = sreq(HTTP_POST, cookie, NULL, wrong);
    NEG(sessions_check(ss, &r, 0, &got, NULL) == 403);
    r = sreq(HTTP_DELETE, cookie, NULL, "");
    NEG(sessions_check(ss, &r, 0, &got, NULL) == 403);
    r = sreq(HTTP_POST, cookie, NULL, si.csrf);
    POS(sessions_check(ss, &r, 0, &got, NULL) == 0);
    r = sreq(HTTP_POST, cookie, "http://127.0.0.1:9984", si.csrf);
    POS(sessions_check(ss, &r, 0, &got, NULL) == 0);
    r = sreq(HTTP_POST, cookie, "http://evil.example", si.csrf);
    NEG(sessions_check(ss, &r, 0, &got, NULL) == 403);
    r = sreq(HTTP_PUT, cookie, "null", si.csrf);
    NEG(sessions_check(ss, &r, 0, &got, NULL) == 403);
    /* another session's token does not work */
    char id_b[65], cookie_b[200];
    struct session_info si_b;
    LTD_ASSERT(login(ss, &dept, id_b, &si_b) == LTD_OK);
    CHECK(strcmp(id_b, id) != 0);
    snprintf(cookie_b, sizeof cookie_b, SESSION_COOKIE "=%s", id_b);
    r = sreq(HTTP_POST, cookie_b, NULL, si.csrf);
    NEG(sessions_check(ss, &r, 0, &got, NULL) == 403);
    /* logout: the id is dead afterwards */
    POS(sessions_logout(ss, cookie));
    r = sreq(HTTP_GET, cookie, NULL, NULL);
    NEG(sessions_check(ss, &r, 0, &got, NULL) == 401);
    NEG(!sessions_logout(ss, cookie));
    /* expiry: 8 hours later */
    r = sreq(HTTP_GET, cookie_b, NULL, NULL);
    POS(sessions_check(ss, &r, QUERY_ROLE_DEPARTMENT, &got, NULL) == 0);
    fake_now += SESSION_TTL_MS_DEFAULT;
    NEG(sessions_check(ss, &r, 0, &got, NULL) == 401);
    /* bounded table: the oldest session is evicted */
    char ids[4][65];
    for (int i = 0; i < 4; i++) {
        LTD_ASSERT(login(ss, &s2, ids[i], &si) == LTD_OK);
        fake_now += 1;
    }
    CHECK_EQ_INT(sessions_count(ss), 3);
    snprintf(cookie, sizeof cookie, SESSION_COOKIE "=%s", ids[0]);
    NEG(sessions_find(ss, cookie, &got) == LTD_E_NOT_FOUND);
    snprintf(cookie, sizeof cookie, SESSION_COOKIE "=%s", ids[3]);
    POS(sessions_find(ss, cookie, &got) == LTD_OK);
    /* cookie attributes */
    struct buf c;
    buf_init(&c);
    r = sreq(HTTP_POST, NULL, NULL, NULL);
    sessions_cookie(ss, &r, ids[3], &c);
    char want[200];
    snprintf(want, sizeof want,
             SESSION_COOKIE "=%s; HttpOnly; SameSite=Strict; Path=/; Max-Age=28800", ids[3]);
    POS(strcmp(c.p, want) == 0);
    buf_reset(&c);
    r.fwd_proto = "https";
    sessions_cookie(ss, &r, NULL, &c);
    POS(strcmp(c.p, SESSION_COOKIE "=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0; Secure") == 0);
    buf_release(&c);
    sessions_free(ss);
}

static void
test_origins(void)
{
    struct session_req r = sreq(HTTP_POST, NULL, NULL, NULL);
    char o[300];
    POS(session_origin_ok(&r));
    POS(session_request_origin(&r, o, sizeof o) && strcmp(o, "http://127.0.0.1:9984") == 0);
    r.origin = "http://127.0.0.1:9984";
    POS(session_origin_ok(&r));
    r.origin = "https://127.0.0.1:9984"; /* TLS proxy that does not say so */
    POS(session_origin_ok(&r));
    r.origin = "http://127.0.0.1:9985";
    NEG(!session_origin_ok(&r));
    r.origin = "http://127.0.0.1:9984.evil.example";
    NEG(!session_origin_ok(&r));
    r.origin = "null";
    NEG(!session_origin_ok(&r));
    r.fwd_proto = "https";
    r.origin = "http://127.0.0.1:9984";
    NEG(!session_origin_ok(&r)); /* the proxy said https */
    r.origin = "https://127.0.0.1:9984";
    POS(session_origin_ok(&r));
    r.fwd_host = "ltdrs.example.edu, inner.proxy";
    NEG(!session_origin_ok(&r));
    r.origin = "https://ltdrs.example.edu";
    POS(session_origin_ok(&r));
    POS(session_request_origin(&r, o, sizeof o) && strcmp(o, "https://ltdrs.example.edu") == 0);
    r = sreq(HTTP_POST, NULL, NULL, NULL);
    r.host = NULL;
    NEG(!session_request_origin(&r, o, sizeof o));
    r.host = "bad host";
    NEG(!session_request_origin(&r, o, sizeof o));
    r.host = "h";
    r.origin = "http://a b";
    NEG(!session_request_origin(&r, o, sizeof o));
}

/* The role is re-derived per request: an unbound key loses it at once. */
static void
test_session_role_follows_ledger(struct sessions *ss, const char *cookie)
{
    struct session_req r = sreq(HTTP_GET, cookie, NULL, NULL);
    struct session_info got;
    NEG(sessions_check(ss, &r, QUERY_ROLE_STUDENT, &got, NULL) == 403);
    CHECK_EQ_INT(got.who.role, QUERY_ROLE_NONE);
}

/* ------------------------------------------------------ through HTTP */

static uint16_t port;

/* One request on a fresh connection; returns the status, headers and body
 * in out (the whole response text). */
static int
http_do(const char *method, const char *path, const char *headers, const char *body,
        struct buf *out)
{
    buf_reset(out);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        return -1;
    struct buf req;
    buf_init(&req);
    buf_addf(&req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nConnection: close\r\n%s", method, path,
             port, headers ? headers : "");
    if (body)
        buf_addf(&req, "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                 strlen(body), body);
    else
        buf_adds(&req, "Content-Length: 0\r\n\r\n");
    LTD_ASSERT(write(fd, req.p, req.len) == (ssize_t)req.len);
    buf_release(&req);
    char tmp[4096];
    ssize_t n;
    while ((n = read(fd, tmp, sizeof tmp)) > 0)
        buf_add(out, tmp, (size_t)n);
    close(fd);
    int status = -1;
    if (out->p == NULL || sscanf(out->p, "HTTP/1.1 %d", &status) != 1)
        return -1;
    return status;
}

static const char *
body_of(const struct buf *resp)
{
    const char *p = resp->p ? strstr(resp->p, "\r\n\r\n") : NULL;
    return p ? p + 4 : "";
}

/* The value of header name (case-insensitive) copied into out. */
static bool
header_of(const struct buf *resp, const char *name, char *out, size_t cap)
{
    const char *p = resp->p;
    size_t n = strlen(name);
    while (p && (p = strstr(p, "\r\n")) != NULL) {
        p += 2;
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            p += n + 1;
            while (*p == ' ')
                p++;
            size_t len = strcspn(p, "\r");
            if (len >= cap)
                return false;
            memcpy(out, p, len);
            out[len] = 0;
            return true;
        }
        if (p[0] == '\r')
            break;
    }
    return false;
}

/* Static: the node keeps the api as a block listener after api_stop (there
 * is no way to remove one), and a stopped api ignores blocks. */
static struct api api;

static void
test_http(void)
{
    memset(&api, 0, sizeof api);
    api.node = node;
    api.commit_timeout_ms = 5000;
    struct session_config cfg;
    session_config_init(&cfg);
    api.sessions = sessions_new(&cfg, st, &admin.pk);
    struct http_config hc;
    http_config_init(&hc);
    hc.listen = "127.0.0.1:0";
    hc.threads = 2;
    hc.quiet = true;
    LTD_ASSERT(api_start(&api, &hc, NULL) == LTD_OK);
    port = http_port(api.srv);
    struct buf resp;
    buf_init(&resp);
    char val[512], org[100];
    snprintf(org, sizeof org, "Origin: http://127.0.0.1:%u\r\n", port);

    POS(http_do("GET", "/ltdrs/api/v1/students/2020002", NULL, NULL, &resp) == 200);
    CHECK(strstr(body_of(&resp), "\"why_not\":\"revoked: bought\"") != NULL);
    NEG(!header_of(&resp, "Access-Control-Allow-Origin", val, sizeof val)); /* no CORS */
    NEG(http_do("GET", "/ltdrs/api/v1/students/2029999", NULL, NULL, &resp) == 404);
    CHECK(strstr(body_of(&resp), "\"error\":\"LTD_E_NOT_FOUND\"") != NULL);
    NEG(http_do("GET", "/ltdrs/api/v1/students/bad%20sid", NULL, NULL, &resp) == 400);
    NEG(http_do("GET", "/ltdrs/api/v1/tickets/nothex:0", NULL, NULL, &resp) == 400);
    char path[200];
    snprintf(path, sizeof path, "/ltdrs/api/v1/tickets/%s:0", dist_a);
    POS(http_do("GET", path, NULL, NULL, &resp) == 200);
    NEG(http_do("GET", "/ltdrs/api/v1/activities?per_page=1001", NULL, NULL, &resp) == 400);
    NEG(http_do("GET", "/ltdrs/api/v1/activities?page=0", NULL, NULL, &resp) == 400);
    NEG(http_do("GET", "/ltdrs/api/v1/activities?bogus=1", NULL, NULL, &resp) == 400);
    POS(http_do("GET", "/ltdrs/api/v1/activities?per_page=1000&page=1", NULL, NULL, &resp) == 200);
    NEG(http_do("GET", "/ltdrs/api/v1/students", NULL, NULL, &resp) == 401);
    NEG(http_do("GET", "/ltdrs/api/v1/stats/histogram", NULL, NULL, &resp) == 401);
    NEG(http_do("GET", "/ltdrs/api/v1/session", NULL, NULL, &resp) == 401);
    NEG(http_do("GET", "/ltdrs/api/v1/roster", NULL, NULL, &resp) == 401);
    NEG(http_do("GET", "/ltdrs/api/v1/distributions", NULL, NULL, &resp) == 401);
    POS(http_do("POST", "/ltdrs/api/v1/students/keys", org, "[\"2020002\",\"x y\"]", &resp) == 200);
    NEG(http_do("POST", "/ltdrs/api/v1/students/keys", "Origin: http://evil.example\r\n",
                "[\"2020002\"]", &resp) == 403);
    NEG(http_do("POST", "/ltdrs/api/v1/students/keys", NULL, "{\"sids\":1}", &resp) == 400);
    NEG(http_do("POST", "/ltdrs/api/v1/login/challenge", "Origin: http://evil.example\r\n", NULL,
                &resp) == 403);

    /* log in as the admin */
    POS(http_do("POST", "/ltdrs/api/v1/login/challenge", org, NULL, &resp) == 200);
    struct buf copy;
    buf_init(&copy);
    buf_adds(&copy, body_of(&resp));
    const struct cjson *j = parse(&copy);
    const char *ch = js(j, "challenge");
    char want_msg[200], sig[130], body[600];
    snprintf(want_msg, sizeof want_msg, "ltdrs-login:v1:http://127.0.0.1:%u:%s", port,
             ch ? ch : "");
    CHECK_EQ_STR(js(j, "message"), want_msg);
    char o2[80];
    snprintf(o2, sizeof o2, "http://127.0.0.1:%u", port);
    sign_login(&admin, o2, ch ? ch : "", sig, false);
    snprintf(body, sizeof body, "{\"public_key\":\"%s\",\"challenge\":\"%s\",\"signature\":\"%s\"}",
             admin.b58, ch ? ch : "", sig);
    char hdr[300];
    snprintf(hdr, sizeof hdr, "%sCookie: " SESSION_COOKIE "=%064d\r\n", org, 1);
    POS(http_do("POST", "/ltdrs/api/v1/login", hdr, body, &resp) == 200);
    CHECK(header_of(&resp, "Set-Cookie", val, sizeof val));
    CHECK(strstr(val, "HttpOnly; SameSite=Strict; Path=/; Max-Age=28800") != NULL);
    CHECK(strstr(val, "=0000000000") == NULL); /* the pre-set id is not adopted */
    char cookie[200], csrf[65] = "";
    snprintf(cookie, sizeof cookie, "Cookie: %.*s\r\n", (int)strcspn(val, ";"), val);
    buf_reset(&copy);
    buf_adds(&copy, body_of(&resp));
    j = parse(&copy);
    CHECK_EQ_STR(js(j, "role"), "admin");
    if (js(j, "csrf_token"))
        snprintf(csrf, sizeof csrf, "%s", js(j, "csrf_token"));
    NEG(http_do("POST", "/ltdrs/api/v1/login", org, body, &resp) == 401); /* replay */
    POS(http_do("GET", "/ltdrs/api/v1/students?format=csv&sort=count", cookie, NULL, &resp) == 200);
    CHECK(header_of(&resp, "Content-Type", val, sizeof val) && strstr(val, "text/csv"));
    CHECK(strncmp(body_of(&resp), "sid,name,legal_tickets\r\n", 24) == 0);
    POS(http_do("GET", "/ltdrs/api/v1/stats/histogram", cookie, NULL, &resp) == 200);
    POS(http_do("GET", "/ltdrs/api/v1/roster", cookie, NULL, &resp) == 200);
    CHECK(strstr(body_of(&resp), "\"generation\":2,\"students\":6,") != NULL);
    NEG(http_do("GET", "/ltdrs/api/v1/roster?generation=1", cookie, NULL, &resp) == 400);
    POS(http_do("GET", "/ltdrs/api/v1/distributions", cookie, NULL, &resp) == 200);
    CHECK(strstr(body_of(&resp), "\"total\":2,\"distributions\":[") != NULL);
    snprintf(path, sizeof path,
             "/ltdrs/api/v1/distributions?department=%s&activity=%s&per_page=100", dept_id, app_b);
    POS(http_do("GET", path, cookie, NULL, &resp) == 200);
    CHECK(strstr(body_of(&resp), "\"total\":1,") != NULL);
    NEG(http_do("GET", "/ltdrs/api/v1/distributions?per_page=101", cookie, NULL, &resp) == 400);
    NEG(http_do("GET", "/ltdrs/api/v1/distributions?page=0", cookie, NULL, &resp) == 400);
    NEG(http_do("GET", "/ltdrs/api/v1/distributions?department=XYZ", cookie, NULL, &resp) == 400);
    NEG(http_do("GET", "/ltdrs/api/v1/distributions?activity=", cookie, NULL, &resp) == 400);
    NEG(http_do("GET", "/ltdrs/api/v1/distributions?sort=time", cookie, NULL, &resp) == 400);
    NEG(http_do("GET", "/ltdrs/api/v1/students?sort=name", cookie, NULL, &resp) == 400);
    NEG(http_do("GET", "/ltdrs/api/v1/applications?status=maybe", cookie, NULL, &resp) == 400);
    POS(http_do("GET", "/ltdrs/api/v1/departments", cookie, NULL, &resp) == 200);
    CHECK(strstr(body_of(&resp), "Chess Club") != NULL); /* the admin sees them all */
    /* logout needs the CSRF token */
    NEG(http_do("POST", "/ltdrs/api/v1/logout", cookie, NULL, &resp) == 403);
    char with_csrf[400];
    snprintf(with_csrf, sizeof with_csrf, "%sX-CSRF-Token: %s\r\nOrigin: http://evil.example\r\n",
             cookie, csrf);
    NEG(http_do("POST", "/ltdrs/api/v1/logout", with_csrf, NULL, &resp) == 403);
    snprintf(with_csrf, sizeof with_csrf, "%sX-CSRF-Token: %s\r\n%s", cookie, csrf, org);
    POS(http_do("POST", "/ltdrs/api/v1/logout", with_csrf, NULL, &resp) == 200);
    CHECK(header_of(&resp, "Set-Cookie", val, sizeof val) && strstr(val, "Max-Age=0"));
    NEG(http_do("GET", "/ltdrs/api/v1/session", cookie, NULL, &resp) == 401);
    NEG(http_do("GET", "/ltdrs/api/v1/students", cookie, NULL, &resp) == 401);

    /* a student gets 403 on admin endpoints */
    char id[65];
    struct session_info si;
    LTD_ASSERT(login(api.sessions, &s2, id, &si) == LTD_OK);
    snprintf(cookie, sizeof cookie, "Cookie: " SESSION_COOKIE "=%s\r\n", id);
    NEG(http_do("GET", "/ltdrs/api/v1/students", cookie, NULL, &resp) == 403);
    NEG(http_do("GET", "/ltdrs/api/v1/applications", cookie, NULL, &resp) == 403);
    NEG(http_do("GET", "/ltdrs/api/v1/roster", cookie, NULL, &resp) == 403);
    NEG(http_do("GET", "/ltdrs/api/v1/distributions", cookie, NULL, &resp) == 403);
    POS(http_do("GET", "/ltdrs/api/v1/session", cookie, NULL, &resp) == 200);
    CHECK(strstr(body_of(&resp), "\"sid\":\"2020002\"") != NULL);

    /* a department: its own distributions only; no roster */
    LTD_ASSERT(login(api.sessions, &dept, id, &si) == LTD_OK);
    snprintf(cookie, sizeof cookie, "Cookie: " SESSION_COOKIE "=%s\r\n", id);
    POS(http_do("GET", "/ltdrs/api/v1/distributions?per_page=1", cookie, NULL, &resp) == 200);
    CHECK(strstr(body_of(&resp), "\"per_page\":1,\"total\":2,") != NULL);
    snprintf(path, sizeof path, "/ltdrs/api/v1/distributions?department=%s", dept_id);
    POS(http_do("GET", path, cookie, NULL, &resp) == 200);
    snprintf(path, sizeof path, "/ltdrs/api/v1/distributions?department=%s", dept2_id);
    NEG(http_do("GET", path, cookie, NULL, &resp) == 403);
    CHECK(strstr(body_of(&resp), "LTD_E_L_NOT_ALLOWED") != NULL);
    NEG(http_do("GET", "/ltdrs/api/v1/roster", cookie, NULL, &resp) == 403);
    /* a pending department sees an empty history, not another's */
    LTD_ASSERT(login(api.sessions, &dept2, id, &si) == LTD_OK);
    snprintf(cookie, sizeof cookie, "Cookie: " SESSION_COOKIE "=%s\r\n", id);
    NEG(http_do("GET", "/ltdrs/api/v1/distributions", cookie, NULL, &resp) == 200 &&
        strstr(body_of(&resp), "\"total\":0,") != NULL);
    buf_release(&copy);
    buf_release(&resp);
    api_stop(&api);
    sessions_free(api.sessions);
}

int
main(void)
{
    codec_init();
    arena_init(&ja);
    snprintf(dir, sizeof dir, "/tmp/ltdrs-test-query-%d", (int)getpid());
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 2;
    struct key *keys[] = {&admin, &s1, &s2, &s3, &s6, &dept, &dept2, &dept3, &outsider};
    for (size_t i = 0; i < ARRAY_LEN(keys); i++)
        key_new(keys[i]);
    LTD_ASSERT(node_init(dir, &admin.pk, NULL, NULL) == LTD_OK);
    struct node_config cfg;
    node_config_defaults(&cfg);
    cfg.data_dir = dir;
    cfg.block_wait_us = 0;
    cfg.cache_mib = 8;
    LTD_ASSERT(node_open(&cfg, &node, NULL) == LTD_OK);
    st = node_store(node);
    scenario();
    RUN(test_student);
    RUN(test_ticket);
    RUN(test_students_report);
    RUN(test_csv);
    RUN(test_histogram);
    RUN(test_activities);
    RUN(test_departments);
    RUN(test_announcements);
    RUN(test_helpers);
    RUN(test_roster);
    RUN(test_distributions);
    RUN(test_login);
    RUN(test_login_race);
    RUN(test_sessions);
    RUN(test_origins);
    RUN(test_http);
    /* a session opened before the unbind loses its role right after it */
    struct sessions *ss = new_sessions(10);
    char id[65], cookie[120];
    struct session_info si;
    LTD_ASSERT(login(ss, &s1, id, &si) == LTD_OK);
    snprintf(cookie, sizeof cookie, SESSION_COOKIE "=%s", id);
    RUN(test_unbind);
    RUN(test_counters);
    test_current = "test_session_role_follows_ledger";
    test_session_role_follows_ledger(ss, cookie);
    sessions_free(ss);
    node_close(node);
    arena_release(&ja);
    if (system(cmd) != 0)
        return 2;
    printf("query: %d positive and %d negative cases\n", n_pos, n_neg);
    return test_report("query");
}

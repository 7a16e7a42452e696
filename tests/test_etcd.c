/*
 * test_etcd.c - tests of etcd.c.
 *
 * Unit part (always; no etcd needed, runs under ASan in `make test`): base64,
 * decimal int64 fields, every documented answer shape of the JSON gateway
 * (including omitted proto3 defaults: a failed txn without "succeeded", no
 * "count" when 0, no "value" when empty, no "type" on PUT events), error
 * bodies with gRPC codes 14/11/8/3, the watch stream split at every byte
 * position, oversized lines, resume after a cut inside a fragmented revision,
 * argument checks, and failover to refused endpoints (nothing listens on
 * 127.0.0.1:1).
 *
 * Live part: when LTDRS_TEST_ETCD holds a comma list of endpoints, put/get,
 * paged ranges pinned to a revision, guarded appends, watches (history, live,
 * large values, liveness reconnect), compaction.  When LTDRS_TEST_ETCD_CTL
 * also names a control command (scripts/etcd3.sh with E3_BASE set), the
 * failure tests run too: kill -9 the leader during appends, lose quorum,
 * restart.  tests/e2e/40_etcd_client.sh sets both.
 *
 * Includes etcd.c to reach its static parsers (rule 23).
 */
#include "../src/etcd.c"
#include "test.h"

#include <time.h>
#include <unistd.h>

/* ---- a watch event recorder shared by unit and live tests ---- */

struct rec_ev {
    enum etcd_watch_kind kind;
    char *key;   /* owned copy */
    char *value; /* owned copy */
    size_t value_len;
    int64_t create_rev, mod_rev, rev;
    char reason[160];
};

struct rec {
    pthread_mutex_t mu;
    struct rec_ev *ev;
    size_t n, cap;
    size_t n_put, n_progress, n_disc, n_compacted, n_failed;
    bool saw_no_leader, saw_silent;
    int stop_after_puts; /* >0: callback returns 1 after that many PUTs */
};

static void
rec_init(struct rec *r)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
}

static void
rec_release(struct rec *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->ev[i].key);
        free(r->ev[i].value);
    }
    free(r->ev);
    pthread_mutex_destroy(&r->mu);
}

static int
rec_cb(void *arg, const struct etcd_watch_event *ev)
{
    struct rec *r = arg;
    int stop = 0;
    pthread_mutex_lock(&r->mu);
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 64;
        r->ev = xrealloc(r->ev, r->cap * sizeof *r->ev);
    }
    struct rec_ev *e = &r->ev[r->n++];
    memset(e, 0, sizeof *e);
    e->kind = ev->kind;
    e->create_rev = ev->create_revision;
    e->mod_rev = ev->mod_revision;
    e->rev = ev->revision;
    if (ev->reason)
        snprintf(e->reason, sizeof e->reason, "%s", ev->reason);
    switch (ev->kind) {
    case ETCD_WATCH_PUT:
        e->key = xmemdup(ev->key, ev->key_len);
        e->value = xmemdup(ev->value, ev->value_len);
        e->value_len = ev->value_len;
        r->n_put++;
        if (r->stop_after_puts > 0 && r->n_put == (size_t)r->stop_after_puts)
            stop = 1;
        break;
    case ETCD_WATCH_PROGRESS:
        r->n_progress++;
        break;
    case ETCD_WATCH_DISCONNECTED:
        r->n_disc++;
        if (ev->reason && strstr(ev->reason, "no leader"))
            r->saw_no_leader = true;
        if (ev->reason && strstr(ev->reason, "silent"))
            r->saw_silent = true;
        break;
    case ETCD_WATCH_COMPACTED:
        r->n_compacted++;
        break;
    case ETCD_WATCH_FAILED:
        r->n_failed++;
        break;
    }
    pthread_mutex_unlock(&r->mu);
    return stop;
}

static size_t
rec_count(struct rec *r, size_t *field)
{
    pthread_mutex_lock(&r->mu);
    size_t n = *field;
    pthread_mutex_unlock(&r->mu);
    return n;
}

static void
sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waits until *field >= want or timeout; returns whether it got there. */
static bool
rec_wait(struct rec *r, size_t *field, size_t want, unsigned timeout_ms)
{
    for (unsigned t = 0; t < timeout_ms; t += 10) {
        if (rec_count(r, field) >= want)
            return true;
        sleep_ms(10);
    }
    return rec_count(r, field) >= want;
}

static bool
rec_wait_flag(struct rec *r, bool *flag, unsigned timeout_ms)
{
    for (unsigned t = 0; t <= timeout_ms; t += 10) {
        pthread_mutex_lock(&r->mu);
        bool v = *flag;
        pthread_mutex_unlock(&r->mu);
        if (v)
            return true;
        sleep_ms(10);
    }
    return false;
}

/* ---- base64 ---- */

static void
test_b64_vectors(void)
{
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const enc[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                      "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (size_t i = 0; i < ARRAY_LEN(plain); i++) {
        struct buf b;
        buf_init(&b);
        b64_encode(&b, plain[i], strlen(plain[i]));
        CHECK_EQ_STR(b.p ? b.p : "", enc[i]);
        CHECK_EQ_INT(b.len, b64_encoded_len(strlen(plain[i])));
        uint8_t out[16];
        size_t n = 99;
        CHECK(b64_decode(enc[i], strlen(enc[i]), out, &n));
        CHECK_EQ_INT(n, strlen(plain[i]));
        CHECK_EQ_MEM(out, plain[i], n);
        buf_release(&b);
    }
    /* The doc's examples. */
    struct buf b;
    buf_init(&b);
    b64_encode(&b, "/L/e/00000000000000000001", 25);
    CHECK_EQ_STR(b.p, "L0wvZS8wMDAwMDAwMDAwMDAwMDAwMDAwMQ==");
    buf_release(&b);
}

static void
test_b64_roundtrip(void)
{
    uint8_t in[300], out[300];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof in; i++) {
        x = x * 1103515245u + 12345u;
        in[i] = (uint8_t)(x >> 16);
    }
    int bad = 0;
    for (size_t n = 0; n <= sizeof in; n++) {
        struct buf b;
        buf_init(&b);
        b64_encode(&b, in, n);
        size_t m;
        if (b.len != b64_encoded_len(n) || !b64_decode(b.p ? b.p : "", b.len, out, &m) || m != n ||
            (n && memcmp(in, out, n) != 0))
            bad++;
        buf_release(&b);
    }
    CHECK_EQ_INT(bad, 0);
}

static void
test_b64_rejects(void)
{
    static const char *const bad[] = {
        "Zg",       /* not a multiple of 4 */
        "Zg=",      /* idem */
        "Zh==",     /* unused bits set */
        "Zm9=",     /* unused bits set (Zm8= is canonical) */
        "Z===",     /* too much padding */
        "====",     /* only padding */
        "Zg==Zm9v", /* padding in the middle */
        "Zm=v",     /* '=' then data */
        "Zm9v!A==", /* bad character */
        "Zm9-",     /* base64url alphabet */
        "Zm9_",     /* base64url alphabet */
        "Zm 9",     /* whitespace */
        "Zm9\n",    /* newline */
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        uint8_t out[16];
        size_t n;
        if (b64_decode(bad[i], strlen(bad[i]), out, &n)) {
            test_fail++;
            fprintf(stderr, "FAIL b64 accepted '%s'\n", bad[i]);
        } else {
            test_pass++;
        }
    }
}

/* ---- integers ---- */

static void
test_ints(void)
{
    int64_t v;
    uint64_t u;
    CHECK(parse_i64("0", 1, &v) && v == 0);
    CHECK(parse_i64("7", 1, &v) && v == 7);
    CHECK(parse_i64("-1", 2, &v) && v == -1);
    CHECK(parse_i64("9223372036854775807", 19, &v) && v == INT64_MAX);
    CHECK(parse_i64("-9223372036854775808", 20, &v) && v == INT64_MIN);
    CHECK(!parse_i64("9223372036854775808", 19, &v));
    CHECK(!parse_i64("", 0, &v));
    CHECK(!parse_i64("-", 1, &v));
    CHECK(!parse_i64("-0", 2, &v));
    CHECK(!parse_i64("007", 3, &v));
    CHECK(!parse_i64("+1", 2, &v));
    CHECK(!parse_i64("1a", 2, &v));
    CHECK(!parse_i64("1.0", 3, &v));
    CHECK(parse_u64("18446744073709551615", 20, &u) && u == UINT64_MAX);
    CHECK(!parse_u64("18446744073709551616", 20, &u));
    CHECK(!parse_u64("99999999999999999999", 20, &u));
    CHECK(!parse_u64("-1", 2, &u));
    /* JSON fields: string, integer, absent (proto3 default), wrong type. */
    json_t *o = json_loads("{\"a\":\"12\",\"b\":13,\"c\":true,\"d\":\"x\",\"e\":1.5}", 0, NULL);
    CHECK(json_i64(o, "a", &v) && v == 12);
    CHECK(json_i64(o, "b", &v) && v == 13);
    CHECK(json_i64(o, "zz", &v) && v == 0);
    CHECK(!json_i64(o, "c", &v));
    CHECK(!json_i64(o, "d", &v));
    CHECK(!json_i64(o, "e", &v));
    json_decref(o);
}

/* ---- answer shapes ---- */

#define HDR                                                                                        \
    "\"header\":{\"cluster_id\":\"715398714193583271\",\"member_id\":"                             \
    "\"11086779826612415948\",\"revision\":\"7\",\"raft_term\":\"2\"}"

static enum ltd_err
range_of(const char *json, struct etcd_range_result *r)
{
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    return parse_range_response(json, strlen(json), r, &eb);
}

static void
test_parse_range(void)
{
    struct etcd_range_result r;
    /* The doc's §3.1 answer. */
    CHECK_EQ_INT(range_of("{" HDR ",\"kvs\":[{\"key\":\"Zm9v\",\"create_revision\":\"2\","
                          "\"mod_revision\":\"3\",\"version\":\"2\",\"value\":"
                          "\"YmFyLXYzYmV0YQ==\"}],\"count\":\"1\"}",
                          &r),
                 LTD_OK);
    CHECK_EQ_INT(r.kvs_len, 1);
    CHECK_EQ_INT(r.revision, 7);
    CHECK_EQ_INT(r.count, 1);
    CHECK(!r.more);
    CHECK_EQ_INT(r.kvs[0].key_len, 3);
    CHECK_EQ_MEM(r.kvs[0].key, "foo", 3);
    CHECK_EQ_INT(r.kvs[0].value_len, 10);
    CHECK_EQ_STR((const char *)r.kvs[0].value, "bar-v3beta");
    CHECK_EQ_INT(r.kvs[0].create_revision, 2);
    CHECK_EQ_INT(r.kvs[0].mod_revision, 3);
    CHECK_EQ_INT(r.kvs[0].version, 2);
    etcd_range_result_release(&r);

    /* Nothing found: no kvs, no count, no more. */
    CHECK_EQ_INT(range_of("{" HDR "}", &r), LTD_OK);
    CHECK_EQ_INT(r.kvs_len, 0);
    CHECK_EQ_INT(r.count, 0);
    CHECK(!r.more);
    CHECK(r.kvs == NULL);
    etcd_range_result_release(&r);

    /* count_only. */
    CHECK_EQ_INT(range_of("{" HDR ",\"count\":\"4\"}", &r), LTD_OK);
    CHECK_EQ_INT(r.count, 4);
    CHECK_EQ_INT(r.kvs_len, 0);
    etcd_range_result_release(&r);

    /* A page with more; an empty value omitted; a binary key with a NUL. */
    CHECK_EQ_INT(range_of("{" HDR ",\"kvs\":[{\"key\":\"YQBi\",\"create_revision\":\"5\","
                          "\"mod_revision\":\"5\",\"version\":\"1\"},{\"key\":\"Yw==\","
                          "\"create_revision\":\"6\",\"mod_revision\":\"6\",\"version\":\"1\","
                          "\"value\":\"AP8=\"}],\"more\":true,\"count\":\"4\"}",
                          &r),
                 LTD_OK);
    CHECK_EQ_INT(r.kvs_len, 2);
    CHECK(r.more);
    CHECK_EQ_INT(r.count, 4);
    CHECK_EQ_INT(r.kvs[0].key_len, 3);
    CHECK_EQ_MEM(r.kvs[0].key, "a\0b", 3);
    CHECK_EQ_INT(r.kvs[0].value_len, 0);
    CHECK(r.kvs[0].value != NULL);
    CHECK_EQ_INT(r.kvs[1].value_len, 2);
    CHECK_EQ_MEM(r.kvs[1].value, "\x00\xff", 2);
    etcd_range_result_release(&r);

    /* Malformed answers: each is LTD_E_IO and leaves the result zeroed. */
    static const char *const bad[] = {
        "",
        "[]",
        "{\"kvs\":[]}",                      /* no header */
        "{\"header\":{\"revision\":\"0\"}}", /* revision 0 */
        "{\"header\":{\"revision\":\"x\"}}",
        "{" HDR ",\"kvs\":{}}",                                     /* kvs not an array */
        "{" HDR ",\"kvs\":[{\"value\":\"YQ==\"}],\"count\":\"1\"}", /* no key */
        "{" HDR ",\"kvs\":[{\"key\":\"YQ\"}],\"count\":\"1\"}",     /* bad base64 */
        "{" HDR ",\"kvs\":[{\"key\":\"\"}],\"count\":\"1\"}",       /* empty key */
        "{" HDR ",\"kvs\":[{\"key\":\"YQ==\",\"mod_revision\":\"-3\"}],\"count\":\"1\"}",
        "{" HDR ",\"kvs\":[{\"key\":\"YQ==\",\"value\":5}],\"count\":\"1\"}",
        "{" HDR ",\"kvs\":[{\"key\":\"YQ==\"}]}", /* count below kvs */
        "{" HDR ",\"count\":\"1e3\"}",
        "{" HDR ",\"more\":\"yes\"}",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        enum ltd_err rc = range_of(bad[i], &r);
        if (rc != LTD_E_IO || r.kvs != NULL || r.kvs_len != 0 || r.arena.head != NULL) {
            test_fail++;
            fprintf(stderr, "FAIL range accepted bad[%zu]: %s\n", i, bad[i]);
        } else {
            test_pass++;
        }
        etcd_range_result_release(&r);
    }
}

static enum ltd_err
append_of(const char *json, const char *key, const char *value, bool had_prev,
          struct etcd_append_result *out)
{
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    return parse_append_response(json, strlen(json), key, strlen(key), value, strlen(value),
                                 had_prev, out, &eb);
}

static void
test_parse_append(void)
{
    struct etcd_append_result a;
    const char *k = "/L/e/00000000000000000001"; /* L0wvZS8wMDAwMDAwMDAwMDAwMDAwMDAwMQ== */
    /* §3.2: success. */
    CHECK_EQ_INT(append_of("{\"header\":{\"revision\":\"4\"},\"succeeded\":true,\"responses\":"
                           "[{\"response_put\":{\"header\":{\"revision\":\"4\"}}}]}",
                           k, "block-1 from nodeA", true, &a),
                 LTD_OK);
    CHECK_EQ_INT(a.outcome, ETCD_APPEND_APPENDED);
    CHECK_EQ_INT(a.revision, 4);
    /* §3.2: slot taken, no "succeeded"; the same bytes -> EXISTS_SAME. */
    const char *taken = "{\"header\":{\"revision\":\"9\"},\"responses\":[{\"response_range\":"
                        "{\"header\":{\"revision\":\"9\"},\"kvs\":[{\"key\":"
                        "\"L0wvZS8wMDAwMDAwMDAwMDAwMDAwMDAwMQ==\",\"create_revision\":\"4\","
                        "\"mod_revision\":\"4\",\"version\":\"1\",\"value\":"
                        "\"YmxvY2stMSBmcm9tIG5vZGVB\"}],\"count\":\"1\"}}]}";
    CHECK_EQ_INT(append_of(taken, k, "block-1 from nodeA", true, &a), LTD_OK);
    CHECK_EQ_INT(a.outcome, ETCD_APPEND_EXISTS_SAME);
    CHECK_EQ_INT(a.revision, 4);
    CHECK_EQ_INT(append_of(taken, k, "block-1 from nodeA", false, &a), LTD_OK);
    CHECK_EQ_INT(a.outcome, ETCD_APPEND_EXISTS_SAME);
    /* Different bytes, a prefix of them, a longer value. */
    CHECK_EQ_INT(append_of(taken, k, "block-1 from nodeB", true, &a), LTD_OK);
    CHECK_EQ_INT(a.outcome, ETCD_APPEND_EXISTS_OTHER);
    CHECK_EQ_INT(a.revision, 4);
    CHECK_EQ_INT(append_of(taken, k, "block-1 from node", true, &a), LTD_OK);
    CHECK_EQ_INT(a.outcome, ETCD_APPEND_EXISTS_OTHER);
    CHECK_EQ_INT(append_of(taken, k, "block-1 from nodeAA", true, &a), LTD_OK);
    CHECK_EQ_INT(a.outcome, ETCD_APPEND_EXISTS_OTHER);
    /* Stored value empty (omitted) vs ours empty. */
    const char *empty = "{\"header\":{\"revision\":\"9\"},\"responses\":[{\"response_range\":"
                        "{\"header\":{\"revision\":\"9\"},\"kvs\":[{\"key\":\"eA==\","
                        "\"create_revision\":\"8\",\"mod_revision\":\"8\",\"version\":\"1\"}],"
                        "\"count\":\"1\"}}]}";
    CHECK_EQ_INT(append_of(empty, "x", "", true, &a), LTD_OK);
    CHECK_EQ_INT(a.outcome, ETCD_APPEND_EXISTS_SAME);
    CHECK_EQ_INT(append_of(empty, "x", "y", true, &a), LTD_OK);
    CHECK_EQ_INT(a.outcome, ETCD_APPEND_EXISTS_OTHER);
    /* Gap: the failure range is empty (no kvs, no count). */
    const char *gap = "{\"header\":{\"revision\":\"2\"},\"responses\":[{\"response_range\":"
                      "{\"header\":{\"revision\":\"2\"}}}]}";
    CHECK_EQ_INT(append_of(gap, k, "v", true, &a), LTD_OK);
    CHECK_EQ_INT(a.outcome, ETCD_APPEND_GAP);
    CHECK_EQ_INT(a.revision, 0);
    /* "succeeded":false spelled out is the same as absent. */
    const char *gap2 = "{\"header\":{\"revision\":\"2\"},\"succeeded\":false,\"responses\":"
                       "[{\"response_range\":{\"header\":{\"revision\":\"2\"}}}]}";
    CHECK_EQ_INT(append_of(gap2, k, "v", true, &a), LTD_OK);
    CHECK_EQ_INT(a.outcome, ETCD_APPEND_GAP);
    /* Without a prev compare an empty failure range cannot happen: unknown. */
    CHECK_EQ_INT(append_of(gap, k, "v", false, &a), LTD_E_IO);
    CHECK_EQ_INT(a.outcome, ETCD_APPEND_UNKNOWN);
    /* Malformed: each unknown. */
    static const char *const bad[] = {
        "not json",
        "{}",
        "{\"header\":{\"revision\":\"2\"},\"succeeded\":\"true\"}",
        "{\"header\":{\"revision\":\"2\"}}",
        "{\"header\":{\"revision\":\"2\"},\"responses\":[]}",
        "{\"header\":{\"revision\":\"2\"},\"responses\":[{\"response_put\":{}}]}",
        "{\"header\":{\"revision\":\"2\"},\"responses\":[{\"response_range\":{\"kvs\":"
        "[{\"key\":\"eQ==\",\"create_revision\":\"1\"}],\"count\":\"1\"}}]}", /* other key */
        "{\"header\":{\"revision\":\"2\"},\"responses\":[{\"response_range\":{\"kvs\":"
        "[{\"key\":\"eA=\"}],\"count\":\"1\"}}]}",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        enum ltd_err rc = append_of(bad[i], "x", "v", true, &a);
        if (rc != LTD_E_IO || a.outcome != ETCD_APPEND_UNKNOWN) {
            test_fail++;
            fprintf(stderr, "FAIL append accepted bad[%zu]: %s\n", i, bad[i]);
        } else {
            test_pass++;
        }
    }
}

static void
test_parse_misc(void)
{
    int64_t rev;
    const char *put = "{" HDR "}";
    CHECK_EQ_INT(parse_header_response(put, strlen(put), "put", &rev, NULL), LTD_OK);
    CHECK_EQ_INT(rev, 7);
    CHECK_EQ_INT(parse_header_response("{}", 2, "put", &rev, NULL), LTD_E_IO);
    CHECK_EQ_INT(rev, 0);

    struct etcd_status st;
    const char *s = "{\"header\":{\"cluster_id\":\"1906443098861769519\",\"member_id\":"
                    "\"5568639278513698769\",\"revision\":\"1\",\"raft_term\":\"2\"},"
                    "\"version\":\"3.4.23\",\"dbSize\":\"20480\",\"leader\":"
                    "\"5568639278513698769\",\"raftIndex\":\"11\",\"raftTerm\":\"2\","
                    "\"raftAppliedIndex\":\"11\",\"dbSizeInUse\":\"16384\"}";
    CHECK_EQ_INT(parse_status_response(s, strlen(s), &st, NULL), LTD_OK);
    CHECK_EQ_STR(st.version, "3.4.23");
    CHECK(st.member_id == UINT64_C(5568639278513698769));
    CHECK(st.leader == st.member_id);
    CHECK_EQ_INT(st.db_size, 20480);
    CHECK_EQ_INT(st.db_size_in_use, 16384);
    CHECK_EQ_INT(st.raft_index, 11);
    CHECK_EQ_INT(st.raft_term, 2);
    CHECK_EQ_INT(st.revision, 1);
    const char *s2 = "{\"header\":{\"revision\":\"1\"},\"dbSize\":\"x\",\"version\":\"3\"}";
    CHECK_EQ_INT(parse_status_response(s2, strlen(s2), &st, NULL), LTD_E_IO);
    CHECK_EQ_INT(st.db_size, 0);
}

static enum ltd_err
classify_of(long http, const char *body, bool *unavail, struct rpc_error *e)
{
    return classify_http(http, body, strlen(body), unavail, e);
}

static void
test_classify(void)
{
    bool u;
    struct rpc_error e;
    CHECK_EQ_INT(classify_of(503,
                             "{\"error\":\"etcdserver: request timed out\",\"code\":14,"
                             "\"message\":\"etcdserver: request timed out\"}",
                             &u, &e),
                 LTD_E_HTTP_TIMEOUT);
    CHECK(u);
    CHECK_EQ_INT(e.grpc_code, 14);
    CHECK_EQ_STR(e.message, "etcdserver: request timed out");
    CHECK_EQ_INT(classify_of(503,
                             "{\"error\":\"etcdserver: no leader\",\"message\":"
                             "\"etcdserver: no leader\",\"code\":14}",
                             &u, &e),
                 LTD_E_HTTP_TIMEOUT);
    CHECK(u);
    CHECK_EQ_INT(classify_of(400,
                             "{\"error\":\"etcdserver: mvcc: required revision has been "
                             "compacted\",\"message\":\"etcdserver: mvcc: required revision has "
                             "been compacted\",\"code\":11}",
                             &u, &e),
                 LTD_E_NOT_FOUND);
    CHECK(!u);
    CHECK_EQ_INT(e.grpc_code, 11);
    CHECK_EQ_INT(classify_of(429,
                             "{\"error\":\"etcdserver: mvcc: database space exceeded\","
                             "\"message\":\"etcdserver: mvcc: database space exceeded\","
                             "\"code\":8}",
                             &u, &e),
                 LTD_E_OVERLOAD);
    CHECK(!u);
    CHECK_EQ_INT(classify_of(400,
                             "{\"error\":\"etcdserver: request is too large\",\"message\":"
                             "\"etcdserver: request is too large\",\"code\":3}",
                             &u, &e),
                 LTD_E_TOO_LARGE);
    CHECK_EQ_INT(classify_of(400,
                             "{\"error\":\"etcdserver: key is not provided\",\"message\":"
                             "\"etcdserver: key is not provided\",\"code\":3}",
                             &u, &e),
                 LTD_E_USAGE);
    CHECK_EQ_INT(
        classify_of(400, "{\"error\":\"illegal base64 data at input byte 0\",\"code\":3}", &u, &e),
        LTD_E_USAGE);
    CHECK_EQ_STR(e.message, "illegal base64 data at input byte 0");
    CHECK_EQ_INT(classify_of(404, "404 page not found\n", &u, &e), LTD_E_IO);
    CHECK(!u);
    CHECK_EQ_STR(e.message, "404 page not found");
    CHECK_EQ_INT(classify_of(502, "", &u, &e), LTD_E_HTTP_TIMEOUT);
    CHECK(u);
    CHECK_EQ_INT(classify_of(503, "{\"health\":\"false\"}", &u, &e), LTD_E_HTTP_TIMEOUT);
    CHECK(u);
    CHECK_EQ_INT(classify_of(504, "{\"error\":\"context deadline exceeded\",\"code\":4}", &u, &e),
                 LTD_E_HTTP_TIMEOUT);
    CHECK(u);
    CHECK_EQ_INT(classify_of(429, "", &u, &e), LTD_E_OVERLOAD);
    CHECK_EQ_INT(classify_of(500, "{\"error\":\"x\",\"code\":2}", &u, &e), LTD_E_IO);
    CHECK(!u);
}

static void
test_prefix_end(void)
{
    uint8_t out[64];
    size_t n = etcd_prefix_end("/ledger/v1/log/", 15, out);
    CHECK_EQ_INT(n, 15);
    CHECK_EQ_MEM(out, "/ledger/v1/log0", 15);
    n = etcd_prefix_end("a\xff\xff", 3, out);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_MEM(out, "b", 1);
    n = etcd_prefix_end("\xff\xff", 2, out);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(out[0], 0);
}

/* ---- the watch stream, without a server ---- */

static const char *const watch_transcript[] = {
    "{\"result\":{" HDR ",\"created\":true}}\n",
    /* history: two events in one result, the first value empty (omitted) */
    "{\"result\":{" HDR ",\"events\":[{\"kv\":{\"key\":\"L2EvMQ==\",\"create_revision\":\"3\","
    "\"mod_revision\":\"3\",\"version\":\"1\"}},{\"kv\":{\"key\":\"L2EvMg==\",\"create_revision\":"
    "\"4\",\"mod_revision\":\"4\",\"version\":\"1\",\"value\":\"dHdv\"}}]}}\n",
    /* a delete: skipped */
    "{\"result\":{" HDR ",\"events\":[{\"type\":\"DELETE\",\"kv\":{\"key\":\"L2EvMQ==\","
    "\"mod_revision\":\"5\"}}]}}\n",
    /* progress notification */
    "{\"result\":{\"header\":{\"revision\":\"6\"}}}\n",
    /* live event with explicit "type":"PUT" */
    "{\"result\":{\"header\":{\"revision\":\"7\"},\"events\":[{\"type\":\"PUT\",\"kv\":{\"key\":"
    "\"L2EvMw==\",\"create_revision\":\"7\",\"mod_revision\":\"7\",\"version\":\"1\",\"value\":"
    "\"dGhyZWU=\"}}]}}\n",
};

static void
transcript(struct buf *b)
{
    buf_init(b);
    for (size_t i = 0; i < ARRAY_LEN(watch_transcript); i++)
        buf_adds(b, watch_transcript[i]);
}

/* Checks the events the transcript must produce. */
static bool
transcript_ok(struct rec *r)
{
    return r->n == 4 && r->n_put == 3 && r->n_progress == 1 && r->ev[0].kind == ETCD_WATCH_PUT &&
           strcmp(r->ev[0].key, "/a/1") == 0 && r->ev[0].value_len == 0 && r->ev[0].mod_rev == 3 &&
           r->ev[1].kind == ETCD_WATCH_PUT && strcmp(r->ev[1].key, "/a/2") == 0 &&
           strcmp(r->ev[1].value, "two") == 0 && r->ev[1].create_rev == 4 &&
           r->ev[2].kind == ETCD_WATCH_PROGRESS && r->ev[2].rev == 6 &&
           r->ev[3].kind == ETCD_WATCH_PUT && strcmp(r->ev[3].key, "/a/3") == 0 &&
           strcmp(r->ev[3].value, "three") == 0 && r->ev[3].mod_rev == 7;
}

static void
test_watch_whole(void)
{
    struct buf t;
    struct rec r;
    struct watch_state st;
    transcript(&t);
    rec_init(&r);
    watch_state_init(&st, rec_cb, &r, 1 << 20, 1);
    CHECK_EQ_INT(watch_state_reconnect(&st), 1);
    CHECK(watch_feed(&st, t.p, t.len));
    CHECK(transcript_ok(&r));
    CHECK(st.created);
    CHECK(!st.drop);
    CHECK(!st.terminal);
    /* After a disconnect it resumes after the delete at 5 and the put at 7. */
    CHECK_EQ_INT(watch_state_reconnect(&st), 8);
    watch_state_release(&st);
    rec_release(&r);
    buf_release(&t);
}

static void
test_watch_splits(void)
{
    struct buf t;
    transcript(&t);
    int bad = 0;
    /* Two reads split at every byte position. */
    for (size_t cut = 0; cut <= t.len; cut++) {
        struct rec r;
        struct watch_state st;
        rec_init(&r);
        watch_state_init(&st, rec_cb, &r, 1 << 20, 1);
        watch_state_reconnect(&st);
        bool ok = watch_feed(&st, t.p, cut) && watch_feed(&st, t.p + cut, t.len - cut);
        if (!ok || !transcript_ok(&r))
            bad++;
        watch_state_release(&st);
        rec_release(&r);
    }
    CHECK_EQ_INT(bad, 0);
    /* Byte by byte, and pseudo-random read sizes. */
    for (unsigned seed = 0; seed < 50; seed++) {
        struct rec r;
        struct watch_state st;
        rec_init(&r);
        watch_state_init(&st, rec_cb, &r, 1 << 20, 1);
        watch_state_reconnect(&st);
        uint32_t x = seed * 2654435761u + 1;
        size_t off = 0;
        bool ok = true;
        while (off < t.len && ok) {
            x = x * 1103515245u + 12345u;
            size_t n = seed == 0 ? 1 : 1 + (x >> 16) % 97;
            if (n > t.len - off)
                n = t.len - off;
            ok = watch_feed(&st, t.p + off, n);
            off += n;
        }
        if (!ok || !transcript_ok(&r))
            bad++;
        watch_state_release(&st);
        rec_release(&r);
    }
    CHECK_EQ_INT(bad, 0);
    buf_release(&t);
}

static void
test_watch_large_line(void)
{
    /* A 3 MiB value in one event, fed in reads of 16 KiB. */
    size_t vlen = 3 * 1024 * 1024;
    uint8_t *val = xmalloc(vlen);
    for (size_t i = 0; i < vlen; i++)
        val[i] = (uint8_t)(i * 7 + 3);
    struct buf line;
    buf_init(&line);
    buf_adds(&line, "{\"result\":{\"header\":{\"revision\":\"9\"},\"events\":[{\"kv\":{\"key\":"
                    "\"Ymln\",\"create_revision\":\"9\",\"mod_revision\":\"9\",\"value\":\"");
    b64_encode(&line, val, vlen);
    buf_adds(&line, "\"}}]}}\n");
    struct rec r;
    struct watch_state st;
    rec_init(&r);
    watch_state_init(&st, rec_cb, &r, etcd_watch_line_bytes_max, 1);
    watch_state_reconnect(&st);
    bool ok = true;
    for (size_t off = 0; off < line.len && ok; off += 16384)
        ok = watch_feed(&st, line.p + off, line.len - off < 16384 ? line.len - off : 16384);
    CHECK(ok);
    CHECK_EQ_INT(r.n_put, 1);
    if (r.n_put == 1) {
        CHECK_EQ_INT(r.ev[0].value_len, vlen);
        CHECK_EQ_MEM(r.ev[0].value, val, vlen);
        CHECK_EQ_STR(r.ev[0].key, "big");
    }
    watch_state_release(&st);
    rec_release(&r);

    /* Over the line limit: FAILED, terminal, before buffering it all. */
    rec_init(&r);
    watch_state_init(&st, rec_cb, &r, 1024 * 1024, 1);
    watch_state_reconnect(&st);
    ok = true;
    size_t fed = 0;
    for (size_t off = 0; off < line.len && ok; off += 16384) {
        size_t n = line.len - off < 16384 ? line.len - off : 16384;
        ok = watch_feed(&st, line.p + off, n);
        fed += n;
    }
    CHECK(!ok);
    CHECK(st.terminal);
    CHECK_EQ_INT(r.n_failed, 1);
    CHECK_EQ_INT(r.n_put, 0);
    CHECK(fed <= 1024 * 1024 + 16384);
    CHECK(st.line.len <= 1024 * 1024);
    watch_state_release(&st);
    rec_release(&r);
    buf_release(&line);
    free(val);
}

static bool
feed_str(struct watch_state *st, const char *s)
{
    return watch_feed(st, s, strlen(s));
}

static void
test_watch_errors(void)
{
    struct rec r;
    struct watch_state st;
    /* "no leader" from a member that lost its leader (hasleader header). */
    rec_init(&r);
    watch_state_init(&st, rec_cb, &r, 1 << 20, 5);
    CHECK_EQ_INT(watch_state_reconnect(&st), 5);
    CHECK(!feed_str(&st, "{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":"
                         "\"etcdserver: no leader\",\"http_status\":\"Service Unavailable\"}}\n"));
    CHECK(st.drop);
    CHECK(!st.terminal);
    CHECK(strstr(st.reason, "no leader") != NULL);
    CHECK(strstr(st.reason, "code 14") != NULL);
    CHECK_EQ_INT(watch_state_reconnect(&st), 5);
    CHECK(!st.drop);
    /* The same as the last bytes of a stream, without '\n' (as etcd sends
     * it), in the unary shape of a 503 answer to the create request. */
    CHECK(feed_str(&st, "{\"result\":{" HDR ",\"created\":true}}\n{\"error\":\"etcdserver: "
                        "no leader\",\"message\":\"etcdserver: no "));
    CHECK(!st.drop);
    CHECK(feed_str(&st, "leader\",\"code\":14}"));
    CHECK(!st.drop);
    watch_finish(&st);
    CHECK(st.drop);
    CHECK(strstr(st.reason, "code 14: etcdserver: no leader") != NULL);
    CHECK_EQ_INT(st.line.len, 0);
    watch_state_release(&st);
    rec_release(&r);

    /* Compaction: created, then canceled with compact_revision: terminal. */
    rec_init(&r);
    watch_state_init(&st, rec_cb, &r, 1 << 20, 1);
    watch_state_reconnect(&st);
    CHECK(!feed_str(&st, "{\"result\":{" HDR ",\"created\":true}}\n{\"result\":{" HDR
                         ",\"canceled\":true,\"compact_revision\":\"7\"}}\n"
                         "{\"result\":{\"header\":{\"revision\":\"8\"}}}\n"));
    CHECK(st.terminal);
    CHECK_EQ_INT(r.n, 1);
    CHECK_EQ_INT(r.n_compacted, 1);
    CHECK_EQ_INT(r.ev[0].rev, 7);
    watch_state_release(&st);
    rec_release(&r);

    /* Canceled without compaction: reconnect. */
    rec_init(&r);
    watch_state_init(&st, rec_cb, &r, 1 << 20, 1);
    watch_state_reconnect(&st);
    CHECK(!feed_str(&st, "{\"result\":{" HDR ",\"canceled\":true,\"cancel_reason\":"
                         "\"permission denied\"}}\n"));
    CHECK(st.drop);
    CHECK(!st.terminal);
    CHECK(strstr(st.reason, "permission denied") != NULL);
    watch_state_release(&st);
    rec_release(&r);

    /* Garbage lines and malformed events drop the stream. */
    static const char *const bad[] = {
        "404 page not found\n",
        "{\"foo\":1}\n",
        "[1]\n",
        "{\"result\":{" HDR ",\"events\":{}}}\n",
        "{\"result\":{" HDR ",\"events\":[{\"kv\":{\"key\":\"eA==\"}}]}}\n",
        "{\"result\":{" HDR ",\"events\":[{\"kv\":{\"key\":\"eA=\",\"create_revision\":\"3\","
        "\"mod_revision\":\"3\"}}]}}\n",
        "{\"result\":{" HDR ",\"events\":[{\"kv\":{\"key\":\"eA==\",\"create_revision\":\"3\","
        "\"mod_revision\":\"3\",\"value\":\"!!!!\"}}]}}\n",
        "{\"result\":{" HDR ",\"events\":[{\"type\":7,\"kv\":{\"key\":\"eA==\","
        "\"create_revision\":\"3\",\"mod_revision\":\"3\"}}]}}\n",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        rec_init(&r);
        watch_state_init(&st, rec_cb, &r, 1 << 20, 1);
        watch_state_reconnect(&st);
        bool ok = feed_str(&st, bad[i]);
        if (ok || !st.drop || st.terminal || r.n_put != 0) {
            test_fail++;
            fprintf(stderr, "FAIL watch accepted bad[%zu]: %s", i, bad[i]);
        } else {
            test_pass++;
        }
        watch_state_release(&st);
        rec_release(&r);
    }
    /* Blank lines and CRLF are tolerated. */
    rec_init(&r);
    watch_state_init(&st, rec_cb, &r, 1 << 20, 1);
    watch_state_reconnect(&st);
    CHECK(feed_str(&st, "\n\r\n{\"result\":{\"header\":{\"revision\":\"6\"}}}\r\n"));
    CHECK_EQ_INT(r.n_progress, 1);
    watch_state_release(&st);
    rec_release(&r);
}

#define EV(rev, key)                                                                               \
    "{\"kv\":{\"key\":\"" key "\",\"create_revision\":\"" rev "\",\"mod_revision\":\"" rev         \
    "\",\"version\":\"1\",\"value\":\"dg==\"}}"

static void
test_watch_resume(void)
{
    struct rec r;
    struct watch_state st;
    rec_init(&r);
    watch_state_init(&st, rec_cb, &r, 1 << 20, 3);
    CHECK_EQ_INT(watch_state_reconnect(&st), 3);
    /* Revision 5 holds three keys (one txn); a fragment brings two of them,
     * then the stream is cut. */
    CHECK(feed_str(
        &st, "{\"result\":{\"header\":{\"revision\":\"5\"},\"events\":[" EV(
                 "3", "YQ==") "]}}\n{\"result\":{\"header\":{\"revision\":\"5\"},\"fragment\":true,"
                              "\"events\":[" EV("5", "Yg==") "," EV("5", "Yw==") "]}}\n"));
    CHECK_EQ_INT(r.n_put, 3);
    /* Resume at 5 itself, skipping the two handled events. */
    CHECK_EQ_INT(watch_state_reconnect(&st), 5);
    CHECK(feed_str(
        &st, "{\"result\":{\"header\":{\"revision\":\"6\"},\"events\":[" EV("5", "Yg==") "," EV(
                 "5", "Yw==") "," EV("5", "ZA==") "," EV("6", "ZQ==") "]}}\n"));
    CHECK_EQ_INT(r.n_put, 5);
    if (r.n_put == 5) {
        CHECK_EQ_STR(r.ev[0].key, "a");
        CHECK_EQ_STR(r.ev[1].key, "b");
        CHECK_EQ_STR(r.ev[2].key, "c");
        CHECK_EQ_STR(r.ev[3].key, "d");
        CHECK_EQ_STR(r.ev[4].key, "e");
        CHECK_EQ_INT(r.ev[3].mod_rev, 5);
        CHECK_EQ_INT(r.ev[4].mod_rev, 6);
    }
    /* Complete now: resume after 6; a replay of 6 is skipped. */
    CHECK_EQ_INT(watch_state_reconnect(&st), 7);
    CHECK(feed_str(&st, "{\"result\":{\"header\":{\"revision\":\"7\"},\"events\":[" EV(
                            "6", "ZQ==") "," EV("7", "Zg==") "]}}\n"));
    CHECK_EQ_INT(r.n_put, 6);
    watch_state_release(&st);
    rec_release(&r);

    /* From now (revision 0): "created" fixes the resume point. */
    rec_init(&r);
    watch_state_init(&st, rec_cb, &r, 1 << 20, 0);
    CHECK_EQ_INT(watch_state_reconnect(&st), 0);
    CHECK(feed_str(&st, "{\"result\":{\"header\":{\"revision\":\"41\"},\"created\":true}}\n"));
    CHECK_EQ_INT(watch_state_reconnect(&st), 42);
    CHECK_EQ_INT(r.n, 0);
    watch_state_release(&st);
    rec_release(&r);

    /* The callback ends the watch. */
    rec_init(&r);
    r.stop_after_puts = 1;
    watch_state_init(&st, rec_cb, &r, 1 << 20, 1);
    watch_state_reconnect(&st);
    CHECK(!feed_str(&st, "{\"result\":{\"header\":{\"revision\":\"6\"},\"events\":[" EV(
                             "5", "Yg==") "," EV("6", "Yw==") "]}}\n"));
    CHECK(st.terminal);
    CHECK_EQ_INT(r.n_put, 1);
    watch_state_release(&st);
    rec_release(&r);
}

/* ---- client without a server ---- */

static struct etcd_client *
client_for(const char *endpoints, unsigned request_ms)
{
    struct etcd_config cfg;
    etcd_config_init(&cfg);
    cfg.endpoints = endpoints;
    cfg.request_timeout_ms = request_ms;
    cfg.connect_timeout_ms = 1000;
    struct etcd_client *c = NULL;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    if (etcd_client_new(&cfg, &c, &eb) != LTD_OK)
        fprintf(stderr, "client_for(%s): %s\n", endpoints, eb.msg);
    return c;
}

static void
test_client_args(void)
{
    struct etcd_config cfg;
    struct etcd_client *c;
    etcd_config_init(&cfg);
    static const char *const bad[] = {"",        " , ",     "127.0.0.1:2379",
                                      "ftp://x", "http://", "http://a,,http://b,ftp://c"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        cfg.endpoints = bad[i];
        CHECK_EQ_INT(etcd_client_new(&cfg, &c, NULL), LTD_E_USAGE);
        CHECK(c == NULL);
    }
    cfg.endpoints = NULL;
    CHECK_EQ_INT(etcd_client_new(&cfg, &c, NULL), LTD_E_USAGE);
    struct buf many;
    buf_init(&many);
    for (int i = 0; i <= etcd_endpoints_max; i++)
        buf_addf(&many, "http://127.0.0.1:%d,", 30000 + i);
    cfg.endpoints = many.p;
    CHECK_EQ_INT(etcd_client_new(&cfg, &c, NULL), LTD_E_USAGE);
    buf_release(&many);
    cfg.endpoints = "http://127.0.0.1:1";
    cfg.request_timeout_ms = 0;
    CHECK_EQ_INT(etcd_client_new(&cfg, &c, NULL), LTD_E_USAGE);

    c = client_for(" http://127.0.0.1:1/ ,https://127.0.0.1:2", 1000);
    CHECK(c != NULL);
    if (c == NULL)
        return;
    CHECK_EQ_INT(etcd_endpoint_count(c), 2);
    CHECK_EQ_STR(etcd_endpoint_url(c, 0), "http://127.0.0.1:1");
    CHECK_EQ_STR(etcd_endpoint_url(c, 1), "https://127.0.0.1:2");
    /* Argument checks, before any network. */
    int64_t rev = 5;
    struct etcd_append_result a = {ETCD_APPEND_APPENDED, 9};
    struct ltd_errbuf eb;
    CHECK_EQ_INT(etcd_put(c, "", 0, "v", 1, &rev, NULL), LTD_E_USAGE);
    CHECK_EQ_INT(rev, 0);
    char *big = xcalloc(1, etcd_request_bytes_max);
    ltd_errbuf_clear(&eb);
    CHECK_EQ_INT(etcd_put(c, "k", 1, big, etcd_request_bytes_max - 10, NULL, &eb), LTD_E_TOO_LARGE);
    CHECK(strstr(eb.msg, "request_bytes_max") != NULL);
    CHECK_EQ_INT(etcd_append(c, "p", 1, "k", 1, big, etcd_request_bytes_max - 60, &a, NULL),
                 LTD_E_TOO_LARGE);
    CHECK_EQ_INT(a.outcome, ETCD_APPEND_UNKNOWN);
    CHECK_EQ_INT(a.revision, 0);
    free(big);
    CHECK_EQ_INT(etcd_append(c, "k", 1, "k", 1, "v", 1, &a, NULL), LTD_E_USAGE);
    char longkey[etcd_key_bytes_max + 1];
    memset(longkey, 'k', sizeof longkey);
    CHECK_EQ_INT(etcd_append(c, NULL, 0, longkey, sizeof longkey, "v", 1, &a, NULL), LTD_E_USAGE);
    struct etcd_range_result r;
    struct etcd_range_req req = {.key = "a", .key_len = 1, .limit = -1};
    CHECK_EQ_INT(etcd_range(c, &req, &r, NULL), LTD_E_USAGE);
    req.limit = 0;
    req.flags = 1u << 7;
    CHECK_EQ_INT(etcd_range(c, &req, &r, NULL), LTD_E_USAGE);
    CHECK_EQ_INT(etcd_get(c, "a", 1, ETCD_RANGE_COUNT_ONLY, &r, NULL), LTD_E_USAGE);
    CHECK_EQ_INT(etcd_health(c, 2, NULL), LTD_E_USAGE);
    CHECK_EQ_INT(etcd_compact(c, 0, true, NULL), LTD_E_USAGE);
    struct etcd_watch *w = (struct etcd_watch *)1;
    CHECK_EQ_INT(etcd_watch_start(c, "", 0, NULL, 0, 1, rec_cb, NULL, &w, NULL), LTD_E_USAGE);
    CHECK(w == NULL);
    CHECK_EQ_INT(etcd_watch_start(c, "a", 1, NULL, 0, -1, rec_cb, NULL, &w, NULL), LTD_E_USAGE);
    etcd_client_free(c);
}

static void
test_client_refused(void)
{
    /* Nothing listens on ports 1 and 2: connections are refused at once. */
    struct etcd_client *c = client_for("http://127.0.0.1:1,http://127.0.0.1:2", 2000);
    if (c == NULL) {
        CHECK(c != NULL);
        return;
    }
    uint64_t t0 = ltd_mono_ns();
    struct ltd_errbuf eb;
    struct etcd_append_result a;
    ltd_errbuf_clear(&eb);
    CHECK_EQ_INT(etcd_append(c, NULL, 0, "k", 1, "v", 1, &a, &eb), LTD_E_HTTP_TIMEOUT);
    CHECK_EQ_INT(a.outcome, ETCD_APPEND_UNKNOWN);
    CHECK(strstr(eb.msg, "no member answered") != NULL);
    struct etcd_range_result r;
    CHECK_EQ_INT(etcd_get(c, "k", 1, 0, &r, NULL), LTD_E_HTTP_TIMEOUT);
    CHECK_EQ_INT(r.kvs_len, 0);
    CHECK_EQ_INT(etcd_health(c, ETCD_ENDPOINT_ANY, NULL), LTD_E_HTTP_TIMEOUT);
    struct etcd_status st;
    CHECK_EQ_INT(etcd_status(c, 1, &st, NULL), LTD_E_HTTP_TIMEOUT);
    CHECK(ltd_mono_ns() - t0 < 3000000000u);

    /* A watch keeps trying, reports each failure, and stops at once. */
    struct rec rc;
    rec_init(&rc);
    struct etcd_watch *w = NULL;
    CHECK_EQ_INT(etcd_watch_start(c, "a", 1, "b", 1, 1, rec_cb, &rc, &w, NULL), LTD_OK);
    CHECK(rec_wait(&rc, &rc.n_disc, 3, 3000));
    t0 = ltd_mono_ns();
    etcd_watch_stop(w);
    CHECK(ltd_mono_ns() - t0 < 500000000u);
    CHECK_EQ_INT(rc.n_put, 0);
    if (rc.n > 0)
        CHECK(rc.ev[0].kind == ETCD_WATCH_DISCONNECTED && rc.ev[0].rev == 1);
    rec_release(&rc);
    etcd_client_free(c);
}

/* ---- live tests ---- */

static const char *live_eps;
static const char *live_ctl; /* control command (etcd3.sh), NULL: no failure tests */
static char live_prefix[96];

static void
lkey(char *out, size_t cap, const char *sub, long k)
{
    snprintf(out, cap, "%s%s/%020ld", live_prefix, sub, k);
}

/* Runs "<ctl> <verb> <member>", e.g. "bash etcd3.sh kill1 2". */
static int
ctl(const char *verb, int member)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s %s %d", live_ctl, verb, member);
    int rc = system(cmd);
    if (rc != 0)
        fprintf(stderr, "live: '%s' failed (%d)\n", cmd, rc);
    return rc;
}

static void
live_basic(void)
{
    struct etcd_client *c = client_for(live_eps, 10000);
    if (c == NULL) {
        CHECK(c != NULL);
        return;
    }
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    CHECK_EQ_INT(etcd_health(c, ETCD_ENDPOINT_ANY, &eb), LTD_OK);
    for (size_t i = 0; i < etcd_endpoint_count(c); i++) {
        struct etcd_status st;
        CHECK_EQ_INT(etcd_health(c, i, NULL), LTD_OK);
        CHECK_EQ_INT(etcd_status(c, i, &st, NULL), LTD_OK);
        CHECK(strncmp(st.version, "3.", 2) == 0);
        CHECK(st.leader != 0);
        CHECK(st.member_id != 0);
        CHECK_EQ_INT(st.endpoint, i);
        CHECK(st.db_size > 0);
    }
    /* put/get with binary bytes and an empty value */
    char k[160];
    snprintf(k, sizeof k, "%sbasic/bin", live_prefix);
    const char val[] = "a\0b\xff\n\"\\c";
    int64_t rev1 = 0, rev2 = 0;
    CHECK_EQ_INT(etcd_put(c, k, strlen(k), val, sizeof val, &rev1, NULL), LTD_OK);
    CHECK(rev1 > 0);
    struct etcd_range_result r;
    CHECK_EQ_INT(etcd_get(c, k, strlen(k), 0, &r, NULL), LTD_OK);
    CHECK_EQ_INT(r.kvs_len, 1);
    if (r.kvs_len == 1) {
        CHECK_EQ_INT(r.kvs[0].value_len, sizeof val);
        CHECK_EQ_MEM(r.kvs[0].value, val, sizeof val);
        CHECK_EQ_INT(r.kvs[0].create_revision, rev1);
        CHECK(r.revision >= rev1);
    }
    etcd_range_result_release(&r);
    CHECK_EQ_INT(etcd_put(c, k, strlen(k), "", 0, &rev2, NULL), LTD_OK);
    CHECK(rev2 > rev1);
    CHECK_EQ_INT(etcd_get(c, k, strlen(k), ETCD_RANGE_SERIALIZABLE, &r, NULL), LTD_OK);
    if (r.kvs_len == 1) {
        CHECK_EQ_INT(r.kvs[0].value_len, 0);
        CHECK_EQ_INT(r.kvs[0].version, 2);
        CHECK_EQ_INT(r.kvs[0].mod_revision, rev2);
        CHECK_EQ_INT(r.kvs[0].create_revision, rev1);
    }
    etcd_range_result_release(&r);
    snprintf(k, sizeof k, "%sbasic/missing", live_prefix);
    CHECK_EQ_INT(etcd_get(c, k, strlen(k), 0, &r, NULL), LTD_E_NOT_FOUND);
    CHECK(r.kvs == NULL);
    /* A read at a future revision is gRPC 11. */
    struct etcd_range_req req = {.key = k, .key_len = strlen(k), .revision = rev2 + 1000000};
    CHECK_EQ_INT(etcd_range(c, &req, &r, NULL), LTD_E_NOT_FOUND);
    /* Size limit: one byte under is accepted by etcd, over is refused locally. */
    size_t vmax = etcd_request_bytes_max - strlen(k) - etcd_request_overhead_bytes;
    char *big = xcalloc(1, vmax + 1);
    ltd_errbuf_clear(&eb);
    CHECK_EQ_INT(etcd_put(c, k, strlen(k), big, vmax, NULL, &eb), LTD_OK);
    if (eb.code)
        fprintf(stderr, "  %s\n", eb.msg);
    CHECK_EQ_INT(etcd_put(c, k, strlen(k), big, vmax + 1, NULL, NULL), LTD_E_TOO_LARGE);
    free(big);
    etcd_client_free(c);
}

static void
live_range_paging(void)
{
    struct etcd_client *c = client_for(live_eps, 10000);
    if (c == NULL)
        return;
    char k[160], pfx[160];
    uint8_t end[160];
    snprintf(pfx, sizeof pfx, "%spage/", live_prefix);
    size_t end_len = etcd_prefix_end(pfx, strlen(pfx), end);
    for (long i = 1; i <= 25; i++) {
        char v[32];
        lkey(k, sizeof k, "page", i);
        snprintf(v, sizeof v, "v%ld", i);
        CHECK_EQ_INT(etcd_put(c, k, strlen(k), v, strlen(v), NULL, NULL), LTD_OK);
    }
    struct etcd_range_req req = {.key = pfx,
                                 .key_len = strlen(pfx),
                                 .range_end = end,
                                 .range_end_len = end_len,
                                 .limit = 10};
    struct etcd_range_result r;
    CHECK_EQ_INT(etcd_range(c, &req, &r, NULL), LTD_OK);
    CHECK_EQ_INT(r.kvs_len, 10);
    CHECK(r.more);
    CHECK_EQ_INT(r.count, 25);
    int64_t pin = r.revision;
    char next[200];
    size_t next_len = 0;
    if (r.kvs_len == 10) {
        memcpy(next, r.kvs[9].key, r.kvs[9].key_len);
        next[r.kvs[9].key_len] = 0; /* last key + "\0" */
        next_len = r.kvs[9].key_len + 1;
    }
    etcd_range_result_release(&r);
    /* Writes after the pin must not show up in later pages. */
    for (long i = 26; i <= 30; i++) {
        lkey(k, sizeof k, "page", i);
        CHECK_EQ_INT(etcd_put(c, k, strlen(k), "late", 4, NULL, NULL), LTD_OK);
    }
    long seen = 10, pages = 1;
    bool order_ok = true;
    while (next_len > 0 && pages < 10) {
        req.key = next;
        req.key_len = next_len;
        req.revision = pin;
        CHECK_EQ_INT(etcd_range(c, &req, &r, NULL), LTD_OK);
        pages++;
        for (size_t i = 0; i < r.kvs_len; i++) {
            seen++;
            lkey(k, sizeof k, "page", seen);
            if (r.kvs[i].key_len != strlen(k) || memcmp(r.kvs[i].key, k, strlen(k)) != 0)
                order_ok = false;
        }
        CHECK(r.revision >= pin); /* header.revision is the current one, even when pinned */
        next_len = 0;
        if (r.more && r.kvs_len > 0) {
            struct etcd_kv *last = &r.kvs[r.kvs_len - 1];
            memcpy(next, last->key, last->key_len);
            next[last->key_len] = 0;
            next_len = last->key_len + 1;
        }
        etcd_range_result_release(&r);
    }
    CHECK_EQ_INT(seen, 25);
    CHECK_EQ_INT(pages, 3);
    CHECK(order_ok);
    /* count_only at the pin and now; keys_only. */
    req.key = pfx;
    req.key_len = strlen(pfx);
    req.limit = 0;
    req.flags = ETCD_RANGE_COUNT_ONLY;
    CHECK_EQ_INT(etcd_range(c, &req, &r, NULL), LTD_OK);
    CHECK_EQ_INT(r.count, 25);
    CHECK_EQ_INT(r.kvs_len, 0);
    etcd_range_result_release(&r);
    req.revision = 0;
    req.flags = ETCD_RANGE_COUNT_ONLY | ETCD_RANGE_SERIALIZABLE;
    CHECK_EQ_INT(etcd_range(c, &req, &r, NULL), LTD_OK);
    CHECK_EQ_INT(r.count, 30);
    etcd_range_result_release(&r);
    req.flags = ETCD_RANGE_KEYS_ONLY;
    req.limit = 3;
    CHECK_EQ_INT(etcd_range(c, &req, &r, NULL), LTD_OK);
    CHECK_EQ_INT(r.kvs_len, 3);
    if (r.kvs_len == 3)
        CHECK_EQ_INT(r.kvs[0].value_len, 0);
    etcd_range_result_release(&r);
    etcd_client_free(c);
}

static enum etcd_append_outcome
append_k(struct etcd_client *c, const char *sub, long k, const char *val, size_t vlen, int64_t *rev,
         enum ltd_err *rc_out)
{
    char key[160], prev[160];
    struct etcd_append_result a;
    struct ltd_errbuf eb;
    lkey(key, sizeof key, sub, k);
    lkey(prev, sizeof prev, sub, k - 1);
    ltd_errbuf_clear(&eb);
    enum ltd_err rc =
        etcd_append(c, k > 1 ? prev : NULL, strlen(prev), key, strlen(key), val, vlen, &a, &eb);
    if (rc_out)
        *rc_out = rc;
    if (rev)
        *rev = a.revision;
    if (rc != LTD_OK && rc_out == NULL)
        fprintf(stderr, "  append %s/%ld: %s\n", sub, k, eb.msg);
    return a.outcome;
}

static void
live_append(void)
{
    struct etcd_client *c = client_for(live_eps, 10000);
    if (c == NULL)
        return;
    int64_t r1, r2, r;
    CHECK_EQ_INT(append_k(c, "app", 1, "batch-1", 7, &r1, NULL), ETCD_APPEND_APPENDED);
    CHECK(r1 > 0);
    CHECK_EQ_INT(append_k(c, "app", 3, "batch-3", 7, &r, NULL), ETCD_APPEND_GAP);
    CHECK_EQ_INT(r, 0);
    CHECK_EQ_INT(append_k(c, "app", 2, "batch-2", 7, &r2, NULL), ETCD_APPEND_APPENDED);
    CHECK(r2 > r1);
    CHECK_EQ_INT(append_k(c, "app", 2, "batch-2", 7, &r, NULL), ETCD_APPEND_EXISTS_SAME);
    CHECK_EQ_INT(r, r2);
    CHECK_EQ_INT(append_k(c, "app", 2, "batch-2-other", 13, &r, NULL), ETCD_APPEND_EXISTS_OTHER);
    CHECK_EQ_INT(r, r2);
    CHECK_EQ_INT(append_k(c, "app", 2, "batch-", 6, &r, NULL), ETCD_APPEND_EXISTS_OTHER);
    CHECK_EQ_INT(append_k(c, "app", 1, "batch-1", 7, &r, NULL), ETCD_APPEND_EXISTS_SAME);
    CHECK_EQ_INT(r, r1);
    CHECK_EQ_INT(append_k(c, "app", 3, "batch-3", 7, &r, NULL), ETCD_APPEND_APPENDED);
    /* The log is contiguous: count == head. */
    char pfx[160];
    uint8_t end[160];
    snprintf(pfx, sizeof pfx, "%sapp/", live_prefix);
    struct etcd_range_req req = {
        .key = pfx, .key_len = strlen(pfx), .range_end = end, .flags = ETCD_RANGE_COUNT_ONLY};
    req.range_end_len = etcd_prefix_end(pfx, strlen(pfx), end);
    struct etcd_range_result res;
    CHECK_EQ_INT(etcd_range(c, &req, &res, NULL), LTD_OK);
    CHECK_EQ_INT(res.count, 3);
    etcd_range_result_release(&res);
    etcd_client_free(c);
}

/* One shared client, several threads appending to their own sub-logs. */
struct conc_arg {
    struct etcd_client *c;
    char sub[16];
    int ok;
};

static void *
conc_main(void *arg)
{
    struct conc_arg *a = arg;
    for (long k = 1; k <= 25; k++) {
        char val[48];
        snprintf(val, sizeof val, "%s-%ld", a->sub, k);
        if (append_k(a->c, a->sub, k, val, strlen(val), NULL, NULL) == ETCD_APPEND_APPENDED)
            a->ok++;
    }
    return NULL;
}

static void
live_concurrent(void)
{
    struct etcd_client *c = client_for(live_eps, 10000);
    if (c == NULL)
        return;
    struct conc_arg args[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (struct conc_arg){.c = c};
        snprintf(args[i].sub, sizeof args[i].sub, "conc%d", i);
        CHECK_EQ_INT(pthread_create(&t[i], NULL, conc_main, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK_EQ_INT(args[i].ok, 25);
    }
    CHECK(c->n_idle >= 1);
    CHECK(c->n_idle <= 4);
    etcd_client_free(c);
}

/* Checks that the recorded PUTs under sub are exactly keys 1..n in order,
 * each once, with strictly increasing revisions. */
static bool
rec_log_ok(struct rec *r, const char *sub, long n)
{
    char k[160];
    long next = 1;
    int64_t last = 0;
    bool ok = true;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->n; i++) {
        if (r->ev[i].kind != ETCD_WATCH_PUT)
            continue;
        lkey(k, sizeof k, sub, next);
        if (strcmp(r->ev[i].key, k) != 0 || r->ev[i].mod_rev <= last) {
            if (ok)
                fprintf(stderr, "  watch order: event %zu key %s rev %lld, want %s after %lld\n", i,
                        r->ev[i].key, (long long)r->ev[i].mod_rev, k, (long long)last);
            ok = false;
        }
        last = r->ev[i].mod_rev;
        next++;
    }
    pthread_mutex_unlock(&r->mu);
    if (next - 1 != n) {
        fprintf(stderr, "  watch: %ld events under %s, want %ld\n", next - 1, sub, n);
        ok = false;
    }
    return ok;
}

static void
live_watch(void)
{
    struct etcd_client *c = client_for(live_eps, 10000);
    if (c == NULL)
        return;
    char pfx[160];
    uint8_t end[160];
    snprintf(pfx, sizeof pfx, "%swatch/", live_prefix);
    size_t end_len = etcd_prefix_end(pfx, strlen(pfx), end);
    int64_t first = 0;
    for (long k = 1; k <= 20; k++)
        CHECK_EQ_INT(append_k(c, "watch", k, "hist", 4, k == 1 ? &first : NULL, NULL),
                     ETCD_APPEND_APPENDED);
    /* From revision 1: the history first, then live events, in order.  On a
     * cluster compacted by an earlier run, from this test's first write. */
    struct rec r;
    rec_init(&r);
    struct etcd_watch *w = NULL;
    int64_t start = 1;
    CHECK_EQ_INT(etcd_watch_start(c, pfx, strlen(pfx), end, end_len, start, rec_cb, &r, &w, NULL),
                 LTD_OK);
    for (int t = 0; t < 500 && rec_count(&r, &r.n_put) < 20 && rec_count(&r, &r.n_compacted) == 0;
         t++)
        sleep_ms(10);
    if (rec_count(&r, &r.n_compacted) > 0) {
        printf("  history before revision %lld compacted: watching from %lld\n",
               (long long)r.ev[0].rev, (long long)first);
        etcd_watch_stop(w);
        rec_release(&r);
        rec_init(&r);
        start = first;
        CHECK_EQ_INT(
            etcd_watch_start(c, pfx, strlen(pfx), end, end_len, start, rec_cb, &r, &w, NULL),
            LTD_OK);
    }
    CHECK(rec_wait(&r, &r.n_put, 20, 5000));
    for (long k = 21; k <= 40; k++)
        CHECK_EQ_INT(append_k(c, "watch", k, "live", 4, NULL, NULL), ETCD_APPEND_APPENDED);
    CHECK(rec_wait(&r, &r.n_put, 40, 5000));
    /* Large values (1 MiB each): several per watch response -> fragments. */
    size_t big_len = 1024 * 1024;
    char *big = xmalloc(big_len);
    for (long k = 41; k <= 44; k++) {
        memset(big, (int)('a' + k - 41), big_len);
        CHECK_EQ_INT(append_k(c, "watch", k, big, big_len, NULL, NULL), ETCD_APPEND_APPENDED);
    }
    CHECK(rec_wait(&r, &r.n_put, 44, 10000));
    CHECK(rec_wait(&r, &r.n_progress, 1, 4000)); /* etcd3.sh sets a 1 s interval */
    etcd_watch_stop(w);
    CHECK(rec_log_ok(&r, "watch", 44));
    bool big_ok = r.n_put == 44;
    for (size_t i = 0, p = 0; i < r.n && big_ok; i++) {
        if (r.ev[i].kind != ETCD_WATCH_PUT)
            continue;
        if (++p > 40)
            big_ok = r.ev[i].value_len == big_len && r.ev[i].value[0] == (char)('a' + p - 41) &&
                     r.ev[i].value[big_len - 1] == (char)('a' + p - 41);
    }
    CHECK(big_ok);
    rec_release(&r);

    /* The same history replayed from 1 with all four big values pending at
     * once, through a client with a small line limit: fragments must fit. */
    rec_init(&r);
    struct etcd_config cfg;
    etcd_config_init(&cfg);
    cfg.endpoints = live_eps;
    cfg.watch_line_bytes_max = 3 * 1024 * 1024;
    struct etcd_client *c2 = NULL;
    CHECK_EQ_INT(etcd_client_new(&cfg, &c2, NULL), LTD_OK);
    if (c2 != NULL) {
        CHECK_EQ_INT(
            etcd_watch_start(c2, pfx, strlen(pfx), end, end_len, start, rec_cb, &r, &w, NULL),
            LTD_OK);
        CHECK(rec_wait(&r, &r.n_put, 44, 10000));
        etcd_watch_stop(w);
        CHECK_EQ_INT(r.n_failed, 0);
        CHECK(rec_log_ok(&r, "watch", 44));
        etcd_client_free(c2);
    }
    rec_release(&r);
    free(big);

    /* Liveness: a timeout shorter than etcd's progress interval forces
     * reconnects on a quiet range; events still arrive exactly once. */
    rec_init(&r);
    etcd_config_init(&cfg);
    cfg.endpoints = live_eps;
    cfg.watch_liveness_ms = 300;
    c2 = NULL;
    CHECK_EQ_INT(etcd_client_new(&cfg, &c2, NULL), LTD_OK);
    if (c2 != NULL) {
        char qk[160];
        snprintf(qk, sizeof qk, "%squiet/", live_prefix);
        uint8_t qend[160];
        size_t qend_len = etcd_prefix_end(qk, strlen(qk), qend);
        CHECK_EQ_INT(etcd_watch_start(c2, qk, strlen(qk), qend, qend_len, 0, rec_cb, &r, &w, NULL),
                     LTD_OK);
        CHECK(rec_wait_flag(&r, &r.saw_silent, 3000));
        for (long k = 1; k <= 3; k++)
            CHECK_EQ_INT(append_k(c, "quiet", k, "q", 1, NULL, NULL), ETCD_APPEND_APPENDED);
        CHECK(rec_wait(&r, &r.n_put, 3, 5000));
        sleep_ms(700);
        etcd_watch_stop(w);
        CHECK(rec_log_ok(&r, "quiet", 3));
        etcd_client_free(c2);
    }
    rec_release(&r);
    etcd_client_free(c);
}

/* Appends k until known (retrying the same bytes on UNKNOWN, bounded). */
static enum etcd_append_outcome
append_until_known(struct etcd_client *c, const char *sub, long k, int *unknowns)
{
    char val[64];
    snprintf(val, sizeof val, "%s-batch-%ld", sub, k);
    for (int attempt = 0; attempt < 40; attempt++) {
        enum ltd_err rc;
        enum etcd_append_outcome o = append_k(c, sub, k, val, strlen(val), NULL, &rc);
        if (o != ETCD_APPEND_UNKNOWN)
            return o;
        (*unknowns)++;
        sleep_ms(100);
    }
    return ETCD_APPEND_UNKNOWN;
}

/* kill -9 of one member from another thread, while appends are in flight. */
struct killer {
    pthread_t t;
    int member; /* 1..3 */
    int rc;
};

static void *
killer_main(void *arg)
{
    struct killer *k = arg;
    sleep_ms(30);
    k->rc = ctl("kill1", k->member);
    return NULL;
}

/* Index of the endpoint whose member is the leader, or -1. */
static int
leader_endpoint(struct etcd_client *c)
{
    struct etcd_status st[etcd_endpoints_max];
    uint64_t leader = 0;
    size_t n = etcd_endpoint_count(c);
    for (size_t i = 0; i < n; i++) {
        if (etcd_status(c, i, &st[i], NULL) == LTD_OK && st[i].leader != 0)
            leader = st[i].leader;
    }
    for (size_t i = 0; i < n; i++)
        if (leader != 0 && st[i].member_id == leader)
            return (int)i;
    return -1;
}

static void
live_failures(void)
{
    struct etcd_client *c = client_for(live_eps, 4000);
    if (c == NULL)
        return;
    char pfx[160];
    uint8_t end[160];
    snprintf(pfx, sizeof pfx, "%sfail/", live_prefix);
    size_t end_len = etcd_prefix_end(pfx, strlen(pfx), end);
    struct rec r;
    rec_init(&r);
    struct etcd_watch *w = NULL;
    struct etcd_status st;
    CHECK_EQ_INT(etcd_status(c, ETCD_ENDPOINT_ANY, &st, NULL), LTD_OK);
    CHECK_EQ_INT(
        etcd_watch_start(c, pfx, strlen(pfx), end, end_len, st.revision + 1, rec_cb, &r, &w, NULL),
        LTD_OK);
    /* 1. kill -9 the leader in the middle of appends: they continue. */
    int lead = leader_endpoint(c);
    CHECK(lead >= 0);
    /* Send the appends to the leader itself (white-box), so that the kill
     * cuts requests in flight rather than only forwarded ones. */
    if (lead >= 0)
        atomic_store(&c->preferred, (size_t)lead);
    int unknowns = 0, bad = 0;
    long k = 1;
    uint64_t t0 = ltd_mono_ns();
    struct killer kl = {.member = lead + 1, .rc = -1};
    bool killing = false;
    for (; k <= 60; k++) {
        if (k == 21 && lead >= 0)
            killing = pthread_create(&kl.t, NULL, killer_main, &kl) == 0;
        enum etcd_append_outcome o = append_until_known(c, "fail", k, &unknowns);
        if (o != ETCD_APPEND_APPENDED && o != ETCD_APPEND_EXISTS_SAME)
            bad++;
    }
    if (killing)
        pthread_join(kl.t, NULL);
    CHECK(killing);
    CHECK_EQ_INT(kl.rc, 0);
    CHECK_EQ_INT(bad, 0);
    printf("  leader kill: 60 appends in %.1f s, %d unknown outcomes retried\n",
           (double)(ltd_mono_ns() - t0) / 1e9, unknowns);
    CHECK(rec_wait(&r, &r.n_put, 60, 10000));
    CHECK(rec_log_ok(&r, "fail", 60));

    /* 2. Kill a second member: no quorum. */
    int second = lead >= 0 ? (lead + 1) % 3 : 1;
    int survivor = 3 - (lead >= 0 ? lead : 0) - second;
    CHECK_EQ_INT(ctl("kill1", second + 1), 0);
    t0 = ltd_mono_ns();
    enum ltd_err rc;
    enum etcd_append_outcome o = append_k(c, "fail", 61, "fail-batch-61", 13, NULL, &rc);
    double secs = (double)(ltd_mono_ns() - t0) / 1e9;
    printf("  no quorum: append -> %s after %.1f s\n", ltd_err_name(rc), secs);
    CHECK_EQ_INT(o, ETCD_APPEND_UNKNOWN);
    CHECK(rc == LTD_E_HTTP_TIMEOUT);
    CHECK(secs < 4.0 * 3 + 1);
    struct etcd_range_result res;
    char key[160];
    lkey(key, sizeof key, "fail", 60);
    CHECK_EQ_INT(etcd_get(c, key, strlen(key), ETCD_RANGE_SERIALIZABLE, &res, NULL), LTD_OK);
    etcd_range_result_release(&res);
    CHECK_EQ_INT(etcd_get(c, key, strlen(key), 0, &res, NULL), LTD_E_HTTP_TIMEOUT);
    if (!rec_wait_flag(&r, &r.saw_no_leader, 15000)) {
        CHECK(!"watch reported no leader");
        pthread_mutex_lock(&r.mu);
        for (size_t i = 0; i < r.n; i++)
            if (r.ev[i].kind == ETCD_WATCH_DISCONNECTED)
                fprintf(stderr, "  disconnected: %s\n", r.ev[i].reason);
        pthread_mutex_unlock(&r.mu);
    }
    CHECK_EQ_INT(etcd_health(c, (size_t)survivor, NULL), LTD_E_HTTP_TIMEOUT);

    /* 3. Restart both: the unknown append resolves, the watch resumes. */
    CHECK_EQ_INT(ctl("start1", lead + 1), 0);
    CHECK_EQ_INT(ctl("start1", second + 1), 0);
    CHECK_EQ_INT(ctl("wait1", lead + 1), 0);
    CHECK_EQ_INT(ctl("wait1", second + 1), 0);
    CHECK_EQ_INT(ctl("wait1", survivor + 1), 0);
    for (k = 61; k <= 70; k++) {
        o = append_until_known(c, "fail", k, &unknowns);
        CHECK(o == ETCD_APPEND_APPENDED || o == ETCD_APPEND_EXISTS_SAME);
    }
    CHECK(rec_wait(&r, &r.n_put, 70, 15000));
    etcd_watch_stop(w);
    CHECK(rec_log_ok(&r, "fail", 70));
    rec_release(&r);
    etcd_client_free(c);
}

static void
live_compaction(void)
{
    struct etcd_client *c = client_for(live_eps, 10000);
    if (c == NULL)
        return;
    char k[160];
    snprintf(k, sizeof k, "%scompact/x", live_prefix);
    int64_t rev1 = 0, rev2 = 0;
    CHECK_EQ_INT(etcd_put(c, k, strlen(k), "1", 1, &rev1, NULL), LTD_OK);
    CHECK_EQ_INT(etcd_put(c, k, strlen(k), "2", 1, &rev2, NULL), LTD_OK);
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    CHECK_EQ_INT(etcd_compact(c, rev2, true, &eb), LTD_OK);
    CHECK_EQ_INT(etcd_compact(c, rev2, true, NULL), LTD_E_NOT_FOUND);
    struct etcd_range_result r;
    struct etcd_range_req req = {.key = k, .key_len = strlen(k), .revision = rev1};
    CHECK_EQ_INT(etcd_range(c, &req, &r, NULL), LTD_E_NOT_FOUND);
    /* Current keys survive, with their create revisions. */
    char a1[160];
    lkey(a1, sizeof a1, "app", 1);
    CHECK_EQ_INT(etcd_get(c, a1, strlen(a1), 0, &r, NULL), LTD_OK);
    etcd_range_result_release(&r);
    /* A watch from an old revision: COMPACTED, then nothing. */
    struct rec rc;
    rec_init(&rc);
    struct etcd_watch *w = NULL;
    CHECK_EQ_INT(
        etcd_watch_start(c, live_prefix, strlen(live_prefix), "\0", 1, 1, rec_cb, &rc, &w, NULL),
        LTD_OK);
    CHECK(rec_wait(&rc, &rc.n_compacted, 1, 5000));
    sleep_ms(200);
    etcd_watch_stop(w);
    CHECK_EQ_INT(rc.n, 1);
    if (rc.n >= 1)
        CHECK_EQ_INT(rc.ev[0].rev, rev2);
    CHECK_EQ_INT(rc.n_put, 0);
    rec_release(&rc);
    etcd_client_free(c);
}

int
main(void)
{
    RUN(test_b64_vectors);
    RUN(test_b64_roundtrip);
    RUN(test_b64_rejects);
    RUN(test_ints);
    RUN(test_parse_range);
    RUN(test_parse_append);
    RUN(test_parse_misc);
    RUN(test_classify);
    RUN(test_prefix_end);
    RUN(test_watch_whole);
    RUN(test_watch_splits);
    RUN(test_watch_large_line);
    RUN(test_watch_errors);
    RUN(test_watch_resume);
    RUN(test_client_args);
    RUN(test_client_refused);
    int unit_pass = test_pass, unit_fail = test_fail;
    printf("etcd unit: %d passed, %d failed\n", unit_pass, unit_fail);

    live_eps = getenv("LTDRS_TEST_ETCD");
    live_ctl = getenv("LTDRS_TEST_ETCD_CTL");
    if (live_eps == NULL || *live_eps == 0) {
        printf("etcd live tests skipped (set LTDRS_TEST_ETCD to a comma list of endpoints)\n");
        return test_report("etcd");
    }
    snprintf(live_prefix, sizeof live_prefix, "/ltdrs-test/%ld-%lld/", (long)getpid(),
             (long long)ltd_now_ms());
    RUN(live_basic);
    RUN(live_range_paging);
    RUN(live_append);
    RUN(live_concurrent);
    RUN(live_watch);
    if (live_ctl != NULL && *live_ctl != 0)
        RUN(live_failures);
    else
        printf("etcd failure tests skipped (set LTDRS_TEST_ETCD_CTL to the etcd3.sh command)\n");
    RUN(live_compaction);
    printf("etcd live: %d passed, %d failed\n", test_pass - unit_pass, test_fail - unit_fail);
    return test_report("etcd");
}

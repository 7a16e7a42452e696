/*
 * test_cluster.c - the pure parts of cluster mode (src/node_cluster.c,
 * included to reach its static helpers) without etcd: the batch decoder
 * and everything it refuses, the waiter map, the per-node sequence check
 * and the stored position, waiter matching (who is answered by which
 * occurrence of a transaction), deadline expiry (504 when sent, 503 when
 * not), and signed heads.  The whole cluster against real etcd members is
 * tests/e2e/70_cluster.sh.
 */
#include "test.h"

#include "../src/node_cluster.c" // NOLINT(bugprone-suspicious-include): static helpers

static struct node fake_node;

static struct cluster *
fake_cluster(const char *id)
{
    struct cluster *cl = xcalloc(1, sizeof *cl);
    cl->n = &fake_node;
    snprintf(cl->id, sizeof cl->id, "%s", id);
    codec_ed25519_keypair(&cl->pub, &cl->seed);
    pthread_mutex_init(&cl->lock, NULL);
    cond_init_mono(&cl->ship_cv);
    cond_init_mono(&cl->work_cv);
    cond_init_mono(&cl->space_cv);
    cond_init_mono(&cl->ready_cv);
    cond_init_mono(&cl->mon_cv);
    cond_init_mono(&cl->sync_cv);
    cond_init_mono(&cl->fol_cv);
    cl->healthy = true;
    cl->queue_max = 100000;
    cl->next_nseq = 1;
    return cl;
}

static void
fake_free(struct cluster *cl)
{
    for (size_t i = 0; i < cl->map.cap; i++)
        if (cl->map.slot[i] && cl->map.slot[i] != WM_TOMB)
            node_entry_free(cl->map.slot[i]);
    cl->map.n = 0;
    cluster_release(cl);
}

struct key {
    struct ltd_pubkey pk;
    struct ltd_seed seed;
};

static void
make_create(const struct key *k, const char *msg, struct buf *out, char id[65])
{
    struct arena a;
    arena_init(&a);
    struct cjson *data = cjson_new_object(&a);
    cjson_obj_set(&a, data, "msg", cjson_new_stringz(&a, msg));
    struct tx_new_output o = {cc_details_ed25519(&a, &k->pk), 1};
    struct tx t;
    LTD_ASSERT(tx_build_create(&a, &k->pk, 1, data, NULL, &o, 1, &t, NULL) == LTD_OK);
    LTD_ASSERT(tx_sign(&a, &t, &k->seed, NULL, false, NULL, NULL) == LTD_OK);
    tx_serialize(&t, out);
    if (id)
        memcpy(id, t.id_hex, 65);
    arena_release(&a);
}

/* A queue item as the watch would make it. */
static struct citem *
item(int64_t rev, const char *key, const char *val)
{
    struct citem *it = xcalloc(1, sizeof *it);
    arena_init(&it->arena);
    it->revision = rev;
    it->key = (uint8_t *)xmemdup(key, strlen(key));
    it->key_len = strlen(key);
    it->val = (uint8_t *)xmemdup(val, strlen(val));
    it->val_len = strlen(val);
    return it;
}

static uint32_t
count_entries(const struct citem *it)
{
    uint32_t n = 0;
    for (const struct entry *e = it->b.entries; e; e = e->next)
        n++;
    return n;
}

static void
test_object_end(void)
{
    size_t end = 0;
    CHECK(object_end("{}", 2, &end) && end == 2);
    CHECK(object_end("{\"a\":[1,{\"b\":2}]},x", 19, &end) && end == 17);
    CHECK(object_end("{\"a\":\"}\\\"{\"}", 12, &end) && end == 12);
    CHECK(!object_end("{\"a\":1", 6, &end));
    CHECK(!object_end("{\"a\":\"x}", 8, &end));
    CHECK(!object_end("{]", 2, &end));
    CHECK(!object_end("[1]", 3, &end)); /* a transaction is an object */
}

static void
test_decode(void)
{
    struct cluster *cl = fake_cluster("n1");
    struct key k;
    codec_ed25519_keypair(&k.pk, &k.seed);
    struct buf t1, t2, v;
    buf_init(&t1);
    buf_init(&t2);
    buf_init(&v);
    char id1[65], id2[65];
    make_create(&k, "one", &t1, id1);
    make_create(&k, "two", &t2, id2);
    const char *key = "/ledger/v1/log/n2/00000000000000000007";

    buf_addf(&v, "{\"v\":1,\"node\":\"n2\",\"nseq\":7,\"time_ms\":1234,\"txs\":[%s,%s]}", t1.p,
             t2.p);
    struct citem *it = item(42, key, v.p);
    decode_item(cl, it);
    CHECK(!it->skip);
    CHECK_EQ_INT(count_entries(it), 2);
    CHECK_EQ_STR(it->b.node, "n2");
    CHECK_EQ_INT(it->b.nseq, 7);
    CHECK_EQ_INT(it->b.time_ms, 1234);
    CHECK_EQ_INT(it->b.revision, 42);
    CHECK(it->b.entries && strcmp(it->b.entries->tx.id_hex, id1) == 0);
    CHECK(it->b.entries && it->b.entries->verified && !it->b.entries->bad);
    CHECK(it->b.entries && it->b.entries->body.len == t1.len &&
          memcmp(it->b.entries->body.p, t1.p, t1.len) == 0);
    cluster_batch_free(&it->b);

    /* an empty batch is fine; a transaction that does not parse is rejected alone */
    it = item(43, key, "{\"v\":1,\"node\":\"n2\",\"nseq\":7,\"time_ms\":1,\"txs\":[]}");
    decode_item(cl, it);
    CHECK(!it->skip && it->b.entries == NULL);
    cluster_batch_free(&it->b);
    buf_reset(&v);
    buf_addf(&v, "{\"v\":1,\"node\":\"n2\",\"nseq\":7,\"time_ms\":1,\"txs\":[{\"id\":\"x\"},%s]}",
             t2.p);
    it = item(44, key, v.p);
    decode_item(cl, it);
    CHECK(!it->skip);
    CHECK_EQ_INT(count_entries(it), 2);
    CHECK(it->b.entries && it->b.entries->bad && it->b.entries->result != LTD_OK);
    CHECK(it->b.entries && it->b.entries->next && !it->b.entries->next->bad);
    cluster_batch_free(&it->b);

    /* a tampered signature: parses, but is not pre-verified (the applier decides) */
    buf_reset(&v);
    char *sig = strstr(t1.p, "\"fulfillment\":\"");
    LTD_ASSERT(sig);
    sig[30] = sig[30] == 'A' ? 'B' : 'A';
    buf_addf(&v, "{\"v\":1,\"node\":\"n2\",\"nseq\":7,\"time_ms\":1,\"txs\":[%s]}", t1.p);
    it = item(45, key, v.p);
    decode_item(cl, it);
    CHECK(it->b.entries && !it->b.entries->verified);
    cluster_batch_free(&it->b);

    /* everything that makes the whole batch malformed: skipped alike on every node */
    static const char *const bad_vals[] = {
        "{\"v\":1,\"node\":\"n3\",\"nseq\":7,\"time_ms\":1,\"txs\":[]}",    /* other node */
        "{\"v\":1,\"node\":\"n2\",\"nseq\":8,\"time_ms\":1,\"txs\":[]}",    /* other nseq */
        "{\"v\":2,\"node\":\"n2\",\"nseq\":7,\"time_ms\":1,\"txs\":[]}",    /* version */
        "{\"v\":1,\"node\":\"n2\",\"nseq\":07,\"time_ms\":1,\"txs\":[]}",   /* leading 0 */
        "{\"v\":1,\"node\":\"n2\",\"nseq\":7,\"time_ms\":1,\"txs\":[]}x",   /* trailing */
        "{\"v\":1, \"node\":\"n2\",\"nseq\":7,\"time_ms\":1,\"txs\":[]}",   /* layout */
        "{\"v\":1,\"node\":\"n2\",\"nseq\":7,\"time_ms\":1,\"txs\":[{}",    /* cut */
        "{\"v\":1,\"node\":\"n2\",\"nseq\":7,\"time_ms\":1,\"txs\":[{},]}", /* comma */
        "{\"v\":1,\"node\":\"n2\",\"nseq\":7,\"time_ms\":1,\"txs\":[1]}",   /* not an object */
        "",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad_vals); i++) {
        it = item(50 + (int64_t)i, key, bad_vals[i]);
        decode_item(cl, it);
        CHECK(it->skip);
        CHECK(it->b.entries == NULL);
        cluster_batch_free(&it->b);
    }
    static const char *const bad_keys[] = {
        "/ledger/v1/log/n2/7",
        "/ledger/v1/log/N2/00000000000000000007",
        "/ledger/v1/log/n2/0000000000000000000x",
        "/ledger/v1/log//00000000000000000007",
        "/ledger/v1/heads/n2",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad_keys); i++) {
        it = item(60 + (int64_t)i, bad_keys[i],
                  "{\"v\":1,\"node\":\"n2\",\"nseq\":7,\"time_ms\":1,\"txs\":[]}");
        decode_item(cl, it);
        CHECK(it->skip);
        cluster_batch_free(&it->b);
    }
    buf_release(&t1);
    buf_release(&t2);
    buf_release(&v);
    fake_free(cl);
}

static struct entry *
entry_with_id(uint32_t i)
{
    struct entry *e = xcalloc(1, sizeof *e);
    arena_init(&e->arena);
    buf_init(&e->body);
    uint8_t seed[32] = {0};
    memcpy(seed, &i, sizeof i);
    codec_sha3_256(&e->tx.id, seed, sizeof seed);
    hex_encode(e->tx.id_hex, e->tx.id.b, 32);
    e->tx.has_id = true;
    return e;
}

static void
test_wmap(void)
{
    struct wmap m;
    memset(&m, 0, sizeof m);
    enum { n = 5000 };
    struct entry **es = xcalloc(n, sizeof(struct entry *));
    for (uint32_t i = 0; i < n; i++) {
        es[i] = entry_with_id(i);
        wm_put(&m, es[i]);
    }
    CHECK_EQ_INT(m.n, n);
    bool all = true;
    for (uint32_t i = 0; i < n; i++)
        all = all && wm_get(&m, &es[i]->tx.id) == es[i];
    CHECK(all);
    for (uint32_t i = 0; i < n; i += 2)
        wm_del(&m, es[i]);
    CHECK_EQ_INT(m.n, n / 2);
    all = true;
    for (uint32_t i = 0; i < n; i++)
        all = all && (wm_get(&m, &es[i]->tx.id) == (i % 2 ? es[i] : NULL));
    CHECK(all);
    /* tombstones are reused and rehashed away */
    for (uint32_t round = 0; round < 20; round++)
        for (uint32_t i = 0; i < n; i += 2) {
            wm_put(&m, es[i]);
            wm_del(&m, es[i]);
        }
    CHECK_EQ_INT(m.n, n / 2);
    CHECK(m.cap <= 4 * 16384);
    struct entry *absent = entry_with_id(n + 1);
    CHECK(wm_get(&m, &absent->tx.id) == NULL);
    node_entry_free(absent);
    for (uint32_t i = 0; i < n; i++)
        node_entry_free(es[i]);
    free(es);
    free(m.slot);
}

static void
test_sequence_and_position(void)
{
    struct cluster *cl = fake_cluster("n1");
    const char *v = "{\"v\":1,\"node\":\"n2\",\"nseq\":1,\"time_ms\":5,\"txs\":[]}";
    struct citem *it = item(10, "/ledger/v1/log/n2/00000000000000000001", v);
    decode_item(cl, it);
    check_sequence(cl, it);
    CHECK(!it->skip);
    struct store_block b;
    memset(&b, 0, sizeof b);
    cluster_applied(cl, &it->b, &b, 0);
    CHECK_EQ_INT(cl->pos.revision, 10);
    CHECK_EQ_INT(cl->pos.batches, 1);
    CHECK(pos_find(&cl->pos, "n2") && pos_find(&cl->pos, "n2")->nseq == 1);
    cluster_batch_free(&it->b);

    /* batch 3 of n2 before batch 2: skipped, the position still moves */
    it = item(11, "/ledger/v1/log/n2/00000000000000000003",
              "{\"v\":1,\"node\":\"n2\",\"nseq\":3,\"time_ms\":5,\"txs\":[]}");
    decode_item(cl, it);
    check_sequence(cl, it);
    CHECK(it->skip);
    cluster_applied(cl, &it->b, &b, 0);
    CHECK_EQ_INT(cl->pos.revision, 11);
    CHECK_EQ_INT(cl->pos.batches, 2);
    CHECK_EQ_INT(pos_find(&cl->pos, "n2")->nseq, 1);
    cluster_batch_free(&it->b);

    /* the first batch of another node must be its batch 1 */
    it = item(12, "/ledger/v1/log/n3/00000000000000000002",
              "{\"v\":1,\"node\":\"n3\",\"nseq\":2,\"time_ms\":5,\"txs\":[]}");
    decode_item(cl, it);
    check_sequence(cl, it);
    CHECK(it->skip);
    cluster_batch_free(&it->b);

    it = item(13, "/ledger/v1/log/n3/00000000000000000001",
              "{\"v\":1,\"node\":\"n3\",\"nseq\":1,\"time_ms\":5,\"txs\":[]}");
    decode_item(cl, it);
    check_sequence(cl, it);
    CHECK(!it->skip);
    fake_node.head.height = 6;
    struct buf pos;
    buf_init(&pos);
    cluster_position_json(cl, &it->b, &pos);
    CHECK_EQ_STR(pos.p,
                 "{\"batches\":3,\"height\":7,\"nseq\":{\"n2\":1,\"n3\":1},\"revision\":13}");
    buf_release(&pos);
    cluster_batch_free(&it->b);
    fake_free(cl);
}

struct answer {
    int calls;
    enum ltd_err result;
    char msg[512];
};

static void
on_done(void *arg, enum ltd_err result, const struct ltd_errbuf *eb, uint64_t height)
{
    (void)height;
    struct answer *a = arg;
    a->calls++;
    a->result = result;
    snprintf(a->msg, sizeof a->msg, "%s", eb ? eb->msg : "");
}

/* A prechecked submission of body with a commit waiter. */
static struct entry *
submitted(const struct buf *body, struct answer *a)
{
    struct entry *e = xcalloc(1, sizeof *e);
    arena_init(&e->arena);
    buf_init(&e->body);
    LTD_ASSERT(tx_parse(&e->arena, body->p, body->len, 0, &e->tx, NULL) == LTD_OK);
    buf_add(&e->body, body->p, body->len);
    e->verified = true;
    e->done = on_done;
    e->arg = a;
    e->deadline_ms = ltd_now_ms() + 60000;
    return e;
}

/* A decoded log entry of the same transaction with its verdict. */
static struct citem *
applied_batch(struct cluster *cl, const char *node, uint64_t nseq, const struct buf *body,
              enum ltd_err verdict)
{
    char key[128];
    snprintf(key, sizeof key, "/ledger/v1/log/%s/%020llu", node, (unsigned long long)nseq);
    struct buf v;
    buf_init(&v);
    buf_addf(&v, "{\"v\":1,\"node\":\"%s\",\"nseq\":%llu,\"time_ms\":1,\"txs\":[%s]}", node,
             (unsigned long long)nseq, body->p);
    struct citem *it = item(100 + (int64_t)nseq, key, v.p);
    buf_release(&v);
    decode_item(cl, it);
    LTD_ASSERT(it->b.entries);
    it->b.entries->result = verdict;
    return it;
}

static void
test_waiters(void)
{
    pthread_mutex_init(&fake_node.lock, NULL);
    struct cluster *cl = fake_cluster("n1");
    struct key k;
    codec_ed25519_keypair(&k.pk, &k.seed);
    struct buf t1, t2;
    buf_init(&t1);
    buf_init(&t2);
    make_create(&k, "w1", &t1, NULL);
    make_create(&k, "w2", &t2, NULL);
    struct answer a1 = {0}, a2 = {0};
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    CHECK(cluster_submit(cl, submitted(&t1, &a1), &eb) == LTD_OK);
    CHECK(cluster_submit(cl, submitted(&t2, &a2), &eb) == LTD_OK);
    struct entry *dup = submitted(&t1, &a1);
    CHECK(cluster_submit(cl, dup, &eb) == LTD_E_TX_QUEUED);
    node_entry_free(dup);
    CHECK_EQ_INT(cl->pend_n, 2);

    /* the shipper puts both in batch 5 */
    struct flight f;
    memset(&f, 0, sizeof f);
    buf_init(&f.txs);
    buf_init(&f.value);
    f.ids = xcalloc(cl_batch_txs_max, sizeof *f.ids);
    cl->next_nseq = 5;
    form_batch(cl, &f);
    CHECK_EQ_INT(f.n_ids, 2);
    CHECK_EQ_INT(cl->pend_n, 0);
    CHECK(strncmp(f.value.p, "{\"v\":1,\"node\":\"n1\",\"nseq\":5,\"time_ms\":", 38) == 0);

    /* decoding our own transaction reuses the submit-time verification */
    struct citem *x = applied_batch(cl, "n2", 1, &t1, LTD_E_DOUBLE_SPEND);
    CHECK(x->b.entries->verified);
    /* another node's copy rejected: not ours to answer with */
    struct store_block b;
    memset(&b, 0, sizeof b);
    cluster_applied(cl, &x->b, &b, 0);
    CHECK(x->b.entries->done == NULL);
    cluster_batch_free(&x->b);
    /* our own batch 5 rejects it: answered (by notify) with that verdict */
    x = applied_batch(cl, "n1", 5, &t1, LTD_E_DOUBLE_SPEND);
    cluster_applied(cl, &x->b, &b, 0);
    CHECK(x->b.entries->done == on_done && x->b.entries->arg == &a1);
    CHECK(wm_get(&cl->map, &x->b.entries->tx.id) == NULL);
    cluster_batch_free(&x->b);
    /* t2 committed from another node's batch first: answered OK at once */
    x = applied_batch(cl, "n3", 1, &t2, LTD_OK);
    cluster_applied(cl, &x->b, &b, 1);
    CHECK(x->b.entries->done == on_done && x->b.entries->arg == &a2);
    CHECK_EQ_INT(cl->map.n, 0);
    CHECK(cl->dl_head == NULL && cl->dl_tail == NULL);
    cluster_batch_free(&x->b);

    /* deadlines: sent -> 504 with the id, stays known; unsent -> 503, forgotten */
    struct answer a3 = {0}, a4 = {0};
    struct entry *e3 = submitted(&t1, &a3), *e4 = submitted(&t2, &a4);
    CHECK(cluster_submit(cl, e3, &eb) == LTD_OK);
    form_batch(cl, &f); /* e3 sent as batch 5 */
    CHECK(cluster_submit(cl, e4, &eb) == LTD_OK);
    e3->deadline_ms = e4->deadline_ms = 1;
    struct entry *list = NULL;
    pthread_mutex_lock(&cl->lock);
    expire_waiters(cl, &list);
    pthread_mutex_unlock(&cl->lock);
    answer_all(cl, list);
    CHECK_EQ_INT(a3.calls, 1);
    CHECK_EQ_INT(a3.result, LTD_E_HTTP_TIMEOUT);
    CHECK(strstr(a3.msg, e3->tx.id_hex) != NULL);
    CHECK_EQ_INT(a4.calls, 1);
    CHECK_EQ_INT(a4.result, LTD_E_ETCD_UNAVAILABLE);
    CHECK_EQ_INT(cl->map.n, 1); /* e3 may still commit */
    CHECK_EQ_INT(cl->pend_n, 0);

    /* no quorum: submissions refused, and nothing unsent is kept */
    list = NULL;
    pthread_mutex_lock(&cl->lock);
    set_health(cl, false, "test", &list);
    pthread_mutex_unlock(&cl->lock);
    answer_all(cl, list);
    CHECK(cluster_writable(cl, &eb) == LTD_E_ETCD_UNAVAILABLE);
    buf_release(&f.txs);
    buf_release(&f.value);
    free(f.ids);
    buf_release(&t1);
    buf_release(&t2);
    fake_free(cl);
}

static void
test_heads(void)
{
    struct cluster *cl = fake_cluster("n1");
    memset(fake_node.genesis.chain_id, 'a', 64);
    struct ltd_hash h;
    codec_sha3_256(&h, "block", 5);
    struct buf v;
    buf_init(&v);
    head_value(cl, 77, &h, &v);
    struct headrec r;
    CHECK(parse_head((const uint8_t *)v.p, v.len, &r));
    CHECK_EQ_STR(r.id, "n1");
    CHECK_EQ_INT(r.height, 77);
    CHECK_EQ_MEM(r.hash.b, h.b, 32);
    char msg[256];
    size_t mn = head_message(msg, sizeof msg, fake_node.genesis.chain_id, r.height, &r.hash);
    CHECK(strncmp(msg, "ltdrs-head:v1:aaaa", 18) == 0);
    CHECK(codec_ed25519_verify(&cl->pub, (const uint8_t *)msg, mn, &r.sig));
    /* another height, another hash or another key: the signature fails */
    mn = head_message(msg, sizeof msg, fake_node.genesis.chain_id, 78, &r.hash);
    CHECK(!codec_ed25519_verify(&cl->pub, (const uint8_t *)msg, mn, &r.sig));
    struct ltd_pubkey other;
    struct ltd_seed os;
    codec_ed25519_keypair(&other, &os);
    mn = head_message(msg, sizeof msg, fake_node.genesis.chain_id, 77, &r.hash);
    CHECK(!codec_ed25519_verify(&other, (const uint8_t *)msg, mn, &r.sig));
    CHECK(!parse_head((const uint8_t *)"{\"node\":\"n1\"}", 13, &r));
    struct reg g;
    const char *r1 = "{\"node\":\"n2\",\"public_key\":"
                     "\"8wdVfWXwqDs9vZMjBf4i43jV16rsotG29rEXEVjsBsu\",\"url\":\"x\"}";
    const char *r2 = "{\"node\":\"N2\",\"public_key\":\"x\",\"url\":\"x\"}";
    CHECK(parse_reg((const uint8_t *)r1, strlen(r1), &g));
    CHECK_EQ_STR(g.id, "n2");
    CHECK(!parse_reg((const uint8_t *)r2, strlen(r2), &g));
    buf_release(&v);
    fake_free(cl);
}

int
main(void)
{
    codec_init();
    RUN(test_object_end);
    RUN(test_decode);
    RUN(test_wmap);
    RUN(test_sequence_and_position);
    RUN(test_waiters);
    RUN(test_heads);
    return test_report("cluster");
}

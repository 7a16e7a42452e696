/*
 * test_node.c - the node without HTTP: genesis, submit (CheckTx), blocks
 * and group commit, BigchainDB's stateful rules with their exact messages,
 * store queries, restart, and the audit finding corruption.
 */
#include "test.h"

#include "../src/codec.h"
#include "../src/node.h"
#include "../src/store.h"
#include "../src/tx.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct waiter {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
    enum ltd_err result;
    char msg[512];
    uint64_t height;
};

static void
on_done(void *arg, enum ltd_err result, const struct ltd_errbuf *eb, uint64_t height)
{
    struct waiter *w = arg;
    pthread_mutex_lock(&w->lock);
    w->done = true;
    w->result = result;
    w->height = height;
    snprintf(w->msg, sizeof w->msg, "%s", eb ? eb->msg : "");
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

static void
waiter_init(struct waiter *w)
{
    memset(w, 0, sizeof *w);
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
}

static enum ltd_err
waiter_wait(struct waiter *w)
{
    pthread_mutex_lock(&w->lock);
    while (!w->done)
        pthread_cond_wait(&w->cond, &w->lock);
    pthread_mutex_unlock(&w->lock);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    return w->result;
}

struct key {
    struct ltd_pubkey pk;
    struct ltd_seed seed;
};

static void
key_new(struct key *k)
{
    codec_ed25519_keypair(&k->pk, &k->seed);
}

/* Builds a signed CREATE of `amount` to owner, issued by issuer; body in out. */
static void
make_create(const struct key *issuer, const struct ltd_pubkey *owner, uint64_t amount,
            const char *msg, struct buf *out, char id[65])
{
    struct arena a;
    arena_init(&a);
    struct cjson *data = cjson_new_object(&a);
    cjson_obj_set(&a, data, "msg", cjson_new_stringz(&a, msg));
    struct tx_new_output o = {cc_details_ed25519(&a, owner), amount};
    struct tx t;
    LTD_ASSERT(tx_build_create(&a, &issuer->pk, 1, data, NULL, &o, 1, &t, NULL) == LTD_OK);
    LTD_ASSERT(tx_sign(&a, &t, &issuer->seed, NULL, false, NULL, NULL) == LTD_OK);
    tx_serialize(&t, out);
    memcpy(id, t.id_hex, 65);
    arena_release(&a);
}

/* TRANSFER of (txid, idx) owned by `from` (amount) to `to`. */
static void
make_transfer(const char *asset_hex, const char *txid_hex, uint64_t idx, const struct key *from,
              const struct ltd_pubkey *to, uint64_t amount, struct buf *out, char id[65])
{
    struct arena a;
    arena_init(&a);
    struct tx_new_input in;
    LTD_ASSERT(hex_decode(in.txid.b, 32, txid_hex, 64));
    in.index = idx;
    in.details = cc_details_ed25519(&a, &from->pk);
    struct ltd_hash asset;
    LTD_ASSERT(hex_decode(asset.b, 32, asset_hex, 64));
    struct tx_new_output o = {cc_details_ed25519(&a, to), amount};
    struct tx t;
    LTD_ASSERT(tx_build_transfer(&a, &asset, &in, 1, NULL, &o, 1, &t, NULL) == LTD_OK);
    const struct cc_details *spent[1] = {in.details};
    LTD_ASSERT(tx_sign(&a, &t, &from->seed, spent, false, NULL, NULL) == LTD_OK);
    tx_serialize(&t, out);
    memcpy(id, t.id_hex, 65);
    arena_release(&a);
}

static char dir[256];
static struct key admin;

static struct node *
open_node(uint32_t block_wait_us)
{
    struct node_config cfg;
    node_config_defaults(&cfg);
    cfg.data_dir = dir;
    cfg.block_wait_us = block_wait_us;
    cfg.cache_mib = 8;
    struct node *n = NULL;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    enum ltd_err e = node_open(&cfg, &n, &eb);
    if (e)
        fprintf(stderr, "node_open: %s\n", eb.msg);
    LTD_ASSERT(e == LTD_OK);
    return n;
}

static enum ltd_err
commit(struct node *n, const struct buf *body, char *msg_out)
{
    struct waiter w;
    waiter_init(&w);
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    enum ltd_err e = node_submit(n, body->p, body->len, NODE_COMMIT, on_done, &w, NULL, NULL, &eb);
    if (e) {
        if (msg_out)
            snprintf(msg_out, 512, "%s", eb.msg);
        pthread_mutex_destroy(&w.lock);
        pthread_cond_destroy(&w.cond);
        return e;
    }
    e = waiter_wait(&w);
    if (msg_out)
        snprintf(msg_out, 512, "%s", w.msg);
    return e;
}

static void
test_genesis(void)
{
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    struct node_genesis g;
    CHECK_EQ_INT(node_init(dir, &admin.pk, &g, &eb), LTD_OK);
    CHECK_EQ_INT(strlen(g.chain_id), 64);
    /* a second init of the same directory is refused */
    ltd_errbuf_clear(&eb);
    CHECK_EQ_INT(node_init(dir, &admin.pk, &g, &eb), LTD_E_USAGE);
    /* no directory: node_open refuses */
    struct node_config cfg;
    node_config_defaults(&cfg);
    cfg.data_dir = "/nonexistent/ltdrs-test";
    struct node *n = NULL;
    CHECK(node_open(&cfg, &n, NULL) != LTD_OK);
    CHECK(n == NULL);
}

static void
test_flow(void)
{
    struct node *n = open_node(1000);
    struct key alice, bob, carol;
    key_new(&alice);
    key_new(&bob);
    key_new(&carol);
    struct buf c1, t1, t2, t3;
    buf_init(&c1);
    buf_init(&t1);
    buf_init(&t2);
    buf_init(&t3);
    char cid[65], t1id[65], t2id[65], t3id[65], msg[512];
    make_create(&alice, &alice.pk, 5, "学习部 lecture", &c1, cid);
    CHECK_EQ_INT(commit(n, &c1, msg), LTD_OK);
    /* the same CREATE again: DuplicateTransaction */
    CHECK_EQ_INT(commit(n, &c1, msg), LTD_E_DUPLICATE_TX);
    CHECK(strstr(msg, "already exists") != NULL);
    make_transfer(cid, cid, 0, &alice, &bob.pk, 5, &t1, t1id);
    CHECK_EQ_INT(commit(n, &t1, msg), LTD_OK);
    /* spend alice's output again (to carol): DoubleSpend */
    make_transfer(cid, cid, 0, &alice, &carol.pk, 5, &t2, t2id);
    CHECK_EQ_INT(commit(n, &t2, msg), LTD_E_DOUBLE_SPEND);
    CHECK(strstr(msg, "was already spent") != NULL);
    /* bob spends with the wrong amount: AmountError */
    buf_reset(&t3);
    make_transfer(cid, t1id, 0, &bob, &carol.pk, 4, &t3, t3id);
    CHECK_EQ_INT(commit(n, &t3, msg), LTD_E_AMOUNT_MISMATCH);
    CHECK(strstr(msg, "`5` needs to be same as the amount used in the outputs `4`") != NULL);
    /* carol tries to spend bob's output: InvalidSignature */
    buf_reset(&t3);
    make_transfer(cid, t1id, 0, &carol, &carol.pk, 5, &t3, t3id);
    CHECK_EQ_INT(commit(n, &t3, msg), LTD_E_TX_SIGNATURE);
    /* input that does not exist */
    buf_reset(&t3);
    make_transfer(cid, "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc", 0, &bob,
                  &carol.pk, 5, &t3, t3id);
    CHECK_EQ_INT(commit(n, &t3, msg), LTD_E_INPUT_MISSING);
    /* output index out of range: 400, not 500 */
    buf_reset(&t3);
    make_transfer(cid, t1id, 7, &bob, &carol.pk, 5, &t3, t3id);
    CHECK_EQ_INT(commit(n, &t3, msg), LTD_E_OUTPUT_INDEX);
    /* asset id mismatch: claim another asset */
    buf_reset(&t3);
    make_transfer(t1id, t1id, 0, &bob, &carol.pk, 5, &t3, t3id);
    CHECK_EQ_INT(commit(n, &t3, msg), LTD_E_ASSET_MISMATCH);
    /* queries */
    struct store *st = node_store(n);
    struct buf q;
    buf_init(&q);
    CHECK_EQ_INT(store_outputs_by_key(st, &bob.pk, 0, &q, NULL), LTD_OK);
    CHECK(strstr(q.p, t1id) != NULL);
    buf_reset(&q);
    CHECK_EQ_INT(store_outputs_by_key(st, &alice.pk, 1, &q, NULL), LTD_OK);
    CHECK(strstr(q.p, cid) != NULL);
    buf_reset(&q);
    CHECK_EQ_INT(store_outputs_by_key(st, &alice.pk, 0, &q, NULL), LTD_OK);
    CHECK_EQ_STR(q.p, "[]");
    buf_reset(&q);
    struct ltd_hash aid;
    CHECK(hex_decode(aid.b, 32, cid, 64));
    CHECK_EQ_INT(store_asset_txs(st, &aid, 0, false, &q, NULL), LTD_OK);
    CHECK(strstr(q.p, cid) && strstr(q.p, t1id));
    buf_reset(&q);
    CHECK_EQ_INT(store_asset_txs(st, &aid, TX_TRANSFER, true, &q, NULL), LTD_OK);
    CHECK(strstr(q.p, t1id) != NULL && strstr(q.p, "\"operation\":\"CREATE\"") == NULL);
    buf_reset(&q);
    CHECK_EQ_INT(store_search(st, 0, "lecture", 0, &q, NULL), LTD_OK);
    CHECK(strstr(q.p, cid) != NULL);
    buf_reset(&q);
    CHECK_EQ_INT(store_search(st, 0, "nothingmatches", 0, &q, NULL), LTD_OK);
    CHECK_EQ_STR(q.p, "[]");
    buf_reset(&q);
    CHECK_EQ_INT(store_search(st, 0, "lecture -lecture", 0, &q, NULL), LTD_OK);
    CHECK_EQ_STR(q.p, "[]");
    int64_t h = -1;
    struct ltd_hash t1h;
    CHECK(hex_decode(t1h.b, 32, t1id, 64));
    CHECK_EQ_INT(store_block_of_tx(st, &t1h, &h, NULL), LTD_OK);
    CHECK(h == 2);
    buf_release(&q);
    node_close(n);
    buf_release(&c1);
    buf_release(&t1);
    buf_release(&t2);
    buf_release(&t3);
}

/* Many conflicting spends submitted at once: exactly one wins. */
struct racer {
    struct node *n;
    struct buf body;
    enum ltd_err result;
};

static void *
race_main(void *arg)
{
    struct racer *r = arg;
    r->result = commit(r->n, &r->body, NULL);
    return NULL;
}

static void
test_race(void)
{
    struct node *n = open_node(3000);
    enum { racers = 20 };
    struct key owner;
    key_new(&owner);
    struct buf c;
    buf_init(&c);
    char cid[65], tid[65];
    make_create(&owner, &owner.pk, 1, "race", &c, cid);
    CHECK_EQ_INT(commit(n, &c, NULL), LTD_OK);
    struct racer r[racers];
    pthread_t th[racers];
    for (int i = 0; i < racers; i++) {
        struct key to;
        key_new(&to);
        r[i].n = n;
        buf_init(&r[i].body);
        make_transfer(cid, cid, 0, &owner, &to.pk, 1, &r[i].body, tid);
        pthread_create(&th[i], NULL, race_main, &r[i]);
    }
    int ok = 0, ds = 0;
    for (int i = 0; i < racers; i++) {
        pthread_join(th[i], NULL);
        ok += r[i].result == LTD_OK;
        ds += r[i].result == LTD_E_DOUBLE_SPEND;
        buf_release(&r[i].body);
    }
    CHECK_EQ_INT(ok, 1);
    CHECK_EQ_INT(ds, racers - 1);
    node_close(n);
    buf_release(&c);
}

/* Restart keeps everything; audit passes, then finds corruption. */
static void
test_restart_and_audit(void)
{
    struct node *n = open_node(1000);
    struct node_stats s1;
    node_stats(n, &s1);
    node_close(n);
    n = open_node(1000);
    struct node_stats s2;
    node_stats(n, &s2);
    CHECK_EQ_INT(s1.height, s2.height);
    node_close(n);
    struct node_verify_report rep;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    CHECK_EQ_INT(node_verify_dir(dir, 2, &rep, &eb), LTD_OK);
    CHECK(rep.ok);
    CHECK(rep.txs >= 3);
    /* corrupt one byte of a stored transaction body */
    char path[512];
    snprintf(path, sizeof path, "%s/ledger.db", dir);
    sqlite3 *db = NULL;
    CHECK_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
    CHECK_EQ_INT(sqlite3_exec(db,
                              "UPDATE tx SET body = CAST(replace(CAST(body AS TEXT), '\"2.0\"',"
                              " '\"2.1\"') AS BLOB) WHERE seq = 2",
                              NULL, NULL, NULL),
                 SQLITE_OK);
    sqlite3_close(db);
    CHECK_EQ_INT(node_verify_dir(dir, 2, &rep, NULL), LTD_OK);
    CHECK(!rep.ok);
    CHECK_EQ_INT(rep.bad_height, 2);
    CHECK(rep.bad_txid[0] != 0);
    /* repair it by restoring, then corrupt a block hash instead */
    CHECK_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
    CHECK_EQ_INT(sqlite3_exec(db,
                              "UPDATE tx SET body = CAST(replace(CAST(body AS TEXT), '\"2.1\"',"
                              " '\"2.0\"') AS BLOB) WHERE seq = 2;"
                              "UPDATE block SET time_ms = time_ms + 1 WHERE height = 1",
                              NULL, NULL, NULL),
                 SQLITE_OK);
    sqlite3_close(db);
    CHECK_EQ_INT(node_verify_dir(dir, 2, &rep, NULL), LTD_OK);
    CHECK(!rep.ok);
    CHECK_EQ_INT(rep.bad_height, 1);
    CHECK(strstr(rep.message, "block") != NULL);
}

/* The in-memory indexes (tx id -> seq, owner key -> outputs) come back at
 * open from block_keys; rows missing (data written before migration 0004)
 * are rebuilt from the stored transactions; a damaged row stops the open. */
static void
exec_sql(const char *sql)
{
    char path[512];
    snprintf(path, sizeof path, "%s/ledger.db", dir);
    sqlite3 *db = NULL;
    CHECK_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
    CHECK_EQ_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void
check_indexes(struct node *n, const char *cid, const char *tid, const struct key *a,
              const struct key *b)
{
    struct store *st = node_store(n);
    struct ltd_hash h;
    uint64_t seq = 0;
    CHECK(hex_decode(h.b, 32, cid, 64));
    CHECK_EQ_INT(store_tx_seq(st, &h, &seq, NULL), LTD_OK);
    CHECK(seq != 0);
    CHECK(hex_decode(h.b, 32, tid, 64));
    uint64_t seq2 = 0;
    CHECK_EQ_INT(store_tx_seq(st, &h, &seq2, NULL), LTD_OK);
    CHECK_EQ_INT(seq2, seq + 1);
    /* an id that shares nothing, and one that shares the 8-byte prefix */
    memset(h.b, 0xcc, 32);
    CHECK_EQ_INT(store_tx_seq(st, &h, &seq2, NULL), LTD_OK);
    CHECK_EQ_INT(seq2, 0);
    CHECK(hex_decode(h.b, 32, cid, 64));
    h.b[31] ^= 1;
    CHECK_EQ_INT(store_tx_seq(st, &h, &seq2, NULL), LTD_OK);
    CHECK_EQ_INT(seq2, 0);
    struct buf q;
    buf_init(&q);
    CHECK_EQ_INT(store_outputs_by_key(st, &b->pk, 0, &q, NULL), LTD_OK);
    CHECK(q.p && strstr(q.p, tid) != NULL);
    buf_reset(&q);
    CHECK_EQ_INT(store_outputs_by_key(st, &a->pk, 1, &q, NULL), LTD_OK);
    CHECK(q.p && strstr(q.p, cid) != NULL);
    buf_reset(&q);
    CHECK_EQ_INT(store_outputs_by_key(st, &a->pk, 0, &q, NULL), LTD_OK);
    CHECK_EQ_STR(q.p, "[]");
    buf_release(&q);
}

static void
test_keys_rebuilt(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_EQ_INT(system(cmd), 0);
    struct node_genesis g;
    CHECK_EQ_INT(node_init(dir, &admin.pk, &g, NULL), LTD_OK);
    struct node *n = open_node(1000);
    struct key a, b;
    key_new(&a);
    key_new(&b);
    struct buf c, t;
    buf_init(&c);
    buf_init(&t);
    char cid[65], tid[65];
    make_create(&a, &a.pk, 3, "keys", &c, cid);
    CHECK_EQ_INT(commit(n, &c, NULL), LTD_OK);
    make_transfer(cid, cid, 0, &a, &b.pk, 3, &t, tid);
    CHECK_EQ_INT(commit(n, &t, NULL), LTD_OK);
    check_indexes(n, cid, tid, &a, &b);
    node_close(n);
    /* from block_keys */
    n = open_node(1000);
    check_indexes(n, cid, tid, &a, &b);
    node_close(n);
    /* rows gone: rebuilt from the transactions, then found again */
    exec_sql("DELETE FROM block_keys");
    n = open_node(1000);
    check_indexes(n, cid, tid, &a, &b);
    node_close(n);
    /* a damaged row: the open fails and names it */
    exec_sql("UPDATE block_keys SET idks = x'0102' WHERE height = 2");
    struct node_config cfg;
    node_config_defaults(&cfg);
    cfg.data_dir = dir;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    n = NULL;
    CHECK_EQ_INT(node_open(&cfg, &n, &eb), LTD_E_STORE_CORRUPT);
    CHECK(n == NULL);
    CHECK(strstr(eb.msg, "block_keys") != NULL);
    /* the audit opens read-only: data no serve has migrated (no block_keys
     * yet) still verifies */
    exec_sql("DROP TABLE block_keys");
    struct node_verify_report rep;
    CHECK_EQ_INT(node_verify_dir(dir, 2, &rep, NULL), LTD_OK);
    CHECK(rep.ok);
    CHECK(rep.txs >= 2);
    buf_release(&c);
    buf_release(&t);
}

/* search.db is derived: deleted, damaged or ahead of the ledger, it is
 * rebuilt from the ledger at open, and a search right after a commit sees
 * the committed transaction. */
static int
search_hits(struct node *n, const char *q, const char *want)
{
    struct buf out;
    buf_init(&out);
    enum ltd_err e = store_search(node_store(n), 0, q, 0, &out, NULL);
    int hit = e == LTD_OK && out.p && strstr(out.p, want) != NULL;
    buf_release(&out);
    return hit;
}

static void
test_search_rebuilt(void)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_EQ_INT(system(cmd), 0);
    struct node_genesis g;
    CHECK_EQ_INT(node_init(dir, &admin.pk, &g, NULL), LTD_OK);
    struct node *n = open_node(1000);
    struct key a;
    key_new(&a);
    struct buf c;
    buf_init(&c);
    char cid[65], c2id[65];
    make_create(&a, &a.pk, 1, "kaleidoscope seminar", &c, cid);
    CHECK_EQ_INT(commit(n, &c, NULL), LTD_OK);
    CHECK(search_hits(n, "kaleidoscope", cid));
    CHECK(!search_hits(n, "seminarless", cid));
    node_close(n);
    /* deleted */
    snprintf(cmd, sizeof cmd, "rm -f %s/search.db %s/search.db-wal %s/search.db-shm", dir, dir,
             dir);
    CHECK_EQ_INT(system(cmd), 0);
    n = open_node(1000);
    CHECK(search_hits(n, "kaleidoscope", cid));
    buf_reset(&c);
    make_create(&a, &a.pk, 1, "second kaleidoscope", &c, c2id);
    CHECK_EQ_INT(commit(n, &c, NULL), LTD_OK);
    CHECK(search_hits(n, "second", c2id));
    node_close(n);
    /* damaged: not a database at all */
    snprintf(cmd, sizeof cmd,
             "rm -f %s/search.db-wal %s/search.db-shm; head -c 8192 /dev/urandom > %s/search.db",
             dir, dir, dir);
    CHECK_EQ_INT(system(cmd), 0);
    n = open_node(1000);
    CHECK(search_hits(n, "kaleidoscope", cid));
    CHECK(search_hits(n, "kaleidoscope", c2id));
    node_close(n);
    /* ahead of the ledger (a restored ledger): emptied and rebuilt */
    char path[600];
    snprintf(path, sizeof path, "%s/search.db", dir);
    sqlite3 *db = NULL;
    CHECK_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
    CHECK_EQ_INT(sqlite3_exec(db,
                              "INSERT INTO fts_asset(rowid, text) VALUES (999, 'phantom');"
                              "UPDATE fts_state SET v = 999 WHERE k = 'indexed'",
                              NULL, NULL, NULL),
                 SQLITE_OK);
    sqlite3_close(db);
    n = open_node(1000);
    CHECK(search_hits(n, "kaleidoscope", cid));
    CHECK(!search_hits(n, "phantom", "\"id\""));
    node_close(n);
    buf_release(&c);
}

int
main(void)
{
    codec_init();
    snprintf(dir, sizeof dir, "/tmp/ltdrs-test-node-%d", (int)getpid());
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 2;
    key_new(&admin);
    RUN(test_genesis);
    RUN(test_flow);
    RUN(test_race);
    RUN(test_restart_and_audit);
    RUN(test_keys_rebuilt);
    RUN(test_search_rebuilt);
    if (system(cmd) != 0)
        return 2;
    return test_report("node");
}

/*
 * audit.c - `ltdrs verify`: re-checks a data directory from genesis.
 *
 * The main thread walks blocks and transactions in commit order and checks
 * the hash chain, each block's transaction list hash, every id, and every
 * spend (each output spent at most once, only after it was created, amounts
 * balanced, one asset) with an in-memory table of outputs.  Worker threads
 * re-verify every signature in parallel (an output's details never change,
 * so workers may read them from the store in any order).  The first bad
 * block or transaction in commit order is reported.
 *
 * Not here: repairing anything.
 */
#include "node.h"

#include "codec.h"
#include "rules.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { audit_threads_max = 16 };

/* ---- outputs table: txid -> amounts, asset, spent flags ---- */

struct aud_tx {
    struct ltd_hash id;
    struct ltd_hash asset;
    uint64_t seq;
    uint32_t n_out;
    uint64_t *amount;
    uint8_t *spent;
};

struct aud_map {
    struct aud_tx *slot;
    size_t cap, n;
};

static size_t
map_home(const struct aud_map *m, const struct ltd_hash *h)
{
    uint64_t x;
    memcpy(&x, h->b + 8, 8);
    return (size_t)(x & (m->cap - 1));
}

static struct aud_tx *
map_find(struct aud_map *m, const struct ltd_hash *h)
{
    if (m->cap == 0)
        return NULL;
    for (size_t i = map_home(m, h);; i = (i + 1) & (m->cap - 1)) {
        if (m->slot[i].seq == 0)
            return NULL;
        if (memcmp(m->slot[i].id.b, h->b, 32) == 0)
            return &m->slot[i];
    }
}

static struct aud_tx *
map_add(struct aud_map *m, const struct ltd_hash *h)
{
    if ((m->n + 1) * 2 > m->cap) {
        struct aud_map old = *m;
        m->cap = old.cap ? old.cap * 2 : 4096;
        m->slot = xcalloc(m->cap, sizeof *m->slot);
        m->n = 0;
        for (size_t i = 0; i < old.cap; i++)
            if (old.slot[i].seq) {
                struct aud_tx *t = map_add(m, &old.slot[i].id);
                *t = old.slot[i];
            }
        free(old.slot);
    }
    size_t i = map_home(m, h);
    while (m->slot[i].seq)
        i = (i + 1) & (m->cap - 1);
    m->slot[i].id = *h;
    m->n++;
    return &m->slot[i];
}

static void
map_release(struct aud_map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slot[i].seq) {
            free(m->slot[i].amount);
            free(m->slot[i].spent);
        }
    free(m->slot);
    memset(m, 0, sizeof *m);
}

/* ---- first failure, shared by all threads ---- */

struct aud_fail {
    pthread_mutex_t lock;
    uint64_t seq; /* UINT64_MAX: none */
    int64_t height;
    char txid[65];
    char msg[errmsg_bytes_max];
};

static void LTD_PRINTF(5, 6) fail_at(struct aud_fail *f, uint64_t seq, int64_t height,
                                     const struct ltd_hash *id, const char *fmt, ...)
{
    char msg[errmsg_bytes_max];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&f->lock);
    if (seq < f->seq) {
        f->seq = seq;
        f->height = height;
        if (id)
            hex_encode(f->txid, id->b, 32);
        else
            f->txid[0] = 0;
        snprintf(f->msg, sizeof f->msg, "%s", msg);
    }
    pthread_mutex_unlock(&f->lock);
}

/* ---- signature workers ---- */

struct aud_worker {
    struct store *st;
    struct aud_fail *fail;
    int index, count;
    uint64_t checked;
};

static enum ltd_err
w_exists(void *ctx, const struct ltd_hash *id, bool *exists, struct ltd_errbuf *eb)
{
    (void)ctx;
    (void)id;
    (void)eb;
    *exists = false; /* duplicates are the main thread's job */
    return LTD_OK;
}

static enum ltd_err
w_output(void *ctx, struct arena *a, const struct ltd_hash *txid, uint64_t index,
         struct rules_output *out, struct ltd_errbuf *eb)
{
    struct store_out o;
    enum ltd_err e = store_output(ctx, a, txid, index, &o, eb);
    if (e)
        return e;
    out->amount = o.amount;
    out->spent = false; /* spends are the main thread's job */
    out->asset_id = o.asset_id;
    out->details = o.details;
    return LTD_OK;
}

static int
worker_tx(void *ctx, uint64_t seq, uint64_t height, const struct ltd_hash *id, const char *body,
          size_t n)
{
    struct aud_worker *w = ctx;
    if (seq % (uint64_t)w->count != (uint64_t)w->index)
        return 0;
    struct arena a;
    arena_init(&a);
    struct tx t;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    if (tx_parse(&a, body, n, 0, &t, &eb) == LTD_OK) {
        struct rules_view v = {.ctx = w->st, .tx_exists = w_exists, .output = w_output};
        if (rules_check(&v, &a, &t, 0, &eb) != LTD_OK && eb.code != LTD_E_INPUT_MISSING)
            fail_at(w->fail, seq, (int64_t)height, id, "signature check failed: %s", eb.msg);
    }
    /* parse failures are reported by the main thread */
    w->checked++;
    arena_release(&a);
    return 0;
}

static void *
worker_main(void *arg)
{
    struct aud_worker *w = arg;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    if (store_scan_txs(w->st, 1, UINT64_MAX, worker_tx, w, &eb) != LTD_OK)
        fail_at(w->fail, 0, -1, NULL, "store read failed: %s", eb.msg);
    return NULL;
}

/* ---- the main walk ---- */

struct aud_main {
    struct store *st;
    struct aud_fail *fail;
    struct aud_map map;
    const struct node_genesis *g;
    struct store_block prev;
    uint64_t blocks, txs;
    uint64_t expect_seq;
    struct codec_sha3 *h;
    struct store_block cur; /* block whose transactions are being walked */
    uint32_t in_cur;
};

static void
spend_check(struct aud_main *m, const struct tx *t, uint64_t seq, uint64_t height)
{
    unsigned __int128 in_sum = 0;
    for (uint32_t i = 0; i < t->n_in; i++) {
        const struct tx_input *in = &t->in[i];
        struct aud_tx *src = map_find(&m->map, &in->fulfills_txid);
        if (src == NULL || in->fulfills_index >= src->n_out) {
            fail_at(m->fail, seq, (int64_t)height, &t->id, "spends a missing output");
            return;
        }
        if (src->spent[in->fulfills_index]) {
            fail_at(m->fail, seq, (int64_t)height, &t->id, "double spend of input %s",
                    in->fulfills_txid_hex);
            return;
        }
        if (memcmp(src->asset.b, t->asset_id.b, 32) != 0) {
            fail_at(m->fail, seq, (int64_t)height, &t->id, "asset mismatch");
            return;
        }
        src->spent[in->fulfills_index] = 1;
        in_sum += src->amount[in->fulfills_index];
    }
    if (in_sum != t->out_sum)
        fail_at(m->fail, seq, (int64_t)height, &t->id, "amounts do not balance");
}

static int
main_tx(void *ctx, uint64_t seq, uint64_t height, const struct ltd_hash *id, const char *body,
        size_t n)
{
    struct aud_main *m = ctx;
    m->txs++;
    if (seq != m->expect_seq)
        fail_at(m->fail, seq, (int64_t)height, id, "transaction sequence has a gap");
    m->expect_seq = seq + 1;
    struct arena a;
    arena_init(&a);
    struct tx t;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    if (tx_parse(&a, body, n, 0, &t, &eb) != LTD_OK) {
        fail_at(m->fail, seq, (int64_t)height, id, "stored transaction is invalid: %s", eb.msg);
        goto out;
    }
    if (memcmp(t.id.b, id->b, 32) != 0) {
        fail_at(m->fail, seq, (int64_t)height, id, "stored id differs from the body's id");
        goto out;
    }
    if (map_find(&m->map, &t.id)) {
        fail_at(m->fail, seq, (int64_t)height, id, "duplicate transaction");
        goto out;
    }
    if (t.op == TX_TRANSFER)
        spend_check(m, &t, seq, height);
    struct aud_tx *rec = map_add(&m->map, &t.id);
    rec->seq = seq;
    rec->asset = t.asset_id;
    rec->n_out = t.n_out;
    rec->amount = xcalloc(t.n_out ? t.n_out : 1, sizeof *rec->amount);
    rec->spent = xcalloc(t.n_out ? t.n_out : 1, 1);
    for (uint32_t i = 0; i < t.n_out; i++)
        rec->amount[i] = t.out[i].amount;
out:
    arena_release(&a);
    return 0;
}

static int
main_block(void *ctx, const struct store_block *b)
{
    struct aud_main *m = ctx;
    struct ltd_hash want;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    uint64_t first = m->expect_seq;
    if (b->height != m->blocks) {
        fail_at(m->fail, first, (int64_t)b->height, NULL, "block height gap");
        return 1;
    }
    const struct ltd_hash *prev = b->height == 0 ? &m->g->hash : &m->prev.hash;
    if (memcmp(b->prev_hash.b, prev->b, 32) != 0)
        fail_at(m->fail, first, (int64_t)b->height, NULL, "block does not link to its predecessor");
    store_block_hash(m->g->chain_id, b, &want);
    if (memcmp(want.b, b->hash.b, 32) != 0)
        fail_at(m->fail, first, (int64_t)b->height, NULL, "block hash does not match");
    if (b->n_tx && b->first_seq != first)
        fail_at(m->fail, first, (int64_t)b->height, NULL, "block transactions out of order");
    m->cur = *b;
    if (b->n_tx) {
        uint64_t last = b->first_seq + b->n_tx - 1;
        if (store_scan_txs(m->st, b->first_seq, last, main_tx, m, &eb) != LTD_OK)
            fail_at(m->fail, first, (int64_t)b->height, NULL, "read failed: %s", eb.msg);
    }
    m->prev = *b;
    m->blocks++;
    return 0;
}

/* txs_hash check needs the ids in block order; a second light pass. */
struct aud_ids {
    struct codec_sha3 *h;
};

static int
ids_tx(void *ctx, uint64_t seq, uint64_t height, const struct ltd_hash *id, const char *body,
       size_t n)
{
    (void)seq;
    (void)height;
    (void)body;
    (void)n;
    struct aud_ids *x = ctx;
    char hex[65];
    hex_encode(hex, id->b, 32);
    codec_sha3_update(x->h, hex, 64);
    return 0;
}

static int
txs_hash_block(void *ctx, const struct store_block *b)
{
    struct aud_main *m = ctx;
    struct aud_ids x = {m->h};
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    codec_sha3_begin(m->h);
    if (b->n_tx &&
        store_scan_txs(m->st, b->first_seq, b->first_seq + b->n_tx - 1, ids_tx, &x, &eb) != LTD_OK)
        return 1;
    struct ltd_hash got;
    codec_sha3_end(m->h, &got);
    if (memcmp(got.b, b->txs_hash.b, 32) != 0)
        fail_at(m->fail, b->first_seq, (int64_t)b->height, NULL,
                "block's transaction list hash does not match its transactions");
    return 0;
}

enum ltd_err
node_verify_dir(const char *data_dir, int threads, struct node_verify_report *rep,
                struct ltd_errbuf *eb)
{
    codec_init();
    memset(rep, 0, sizeof *rep);
    rep->bad_height = -1;
    uint64_t t0 = ltd_mono_ns();
    struct store_config sc = {
        .dir = data_dir, .sync_full = true, .cache_mib = 256, .readonly = true};
    struct store *st = NULL;
    enum ltd_err e = store_open(&sc, &st, eb);
    if (e)
        return e;
    struct node_genesis g;
    memset(&g, 0, sizeof g);
    struct buf raw;
    buf_init(&raw);
    struct aud_fail fail = {.seq = UINT64_MAX, .height = -1};
    pthread_mutex_init(&fail.lock, NULL);
    /* genesis: re-derive its hash from the stored record */
    if ((e = store_meta_get(st, "genesis", &raw, eb)))
        goto out;
    {
        struct arena a;
        arena_init(&a);
        struct cjson *root = NULL;
        if (cjson_parse(&a, raw.p, raw.len, NULL, &root, eb) == LTD_OK &&
            cjson_get(root, "chain_id") && cjson_get(root, "chain_id")->len == 64)
            memcpy(g.chain_id, cjson_get(root, "chain_id")->str, 65);
        codec_sha3_256(&g.hash, raw.p, raw.len);
        arena_release(&a);
    }
    if (threads < 1)
        threads = 1;
    if (threads > audit_threads_max)
        threads = audit_threads_max;
    struct aud_worker w[audit_threads_max];
    pthread_t tid[audit_threads_max];
    for (int i = 0; i < threads; i++) {
        w[i] = (struct aud_worker){.st = st, .fail = &fail, .index = i, .count = threads};
        if (pthread_create(&tid[i], NULL, worker_main, &w[i]) != 0)
            LTD_ASSERT(!"pthread_create");
    }
    struct aud_main m = {.st = st, .fail = &fail, .g = &g, .expect_seq = 1};
    m.h = codec_sha3_new();
    e = store_scan_blocks(st, main_block, &m, eb);
    if (e == LTD_OK)
        e = store_scan_blocks(st, txs_hash_block, &m, eb);
    for (int i = 0; i < threads; i++)
        pthread_join(tid[i], NULL);
    codec_sha3_free(m.h);
    map_release(&m.map);
    rep->blocks = m.blocks;
    rep->txs = m.txs;
    rep->ok = fail.seq == UINT64_MAX && e == LTD_OK;
    rep->bad_height = fail.height;
    memcpy(rep->bad_txid, fail.txid, sizeof rep->bad_txid);
    snprintf(rep->message, sizeof rep->message, "%s", rep->ok ? "ok" : fail.msg);
out:
    rep->seconds = (double)(ltd_mono_ns() - t0) / 1e9;
    pthread_mutex_destroy(&fail.lock);
    buf_release(&raw);
    store_close(st);
    return e;
}

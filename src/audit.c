/*
 * audit.c - `ltdrs verify`: re-checks a data directory from genesis.
 *
 * Pass 0 (this thread): reads every block header once and checks the chain
 * links, the heights and that each block's transactions follow the
 * previous block's; then cuts the blocks into chunks of about
 * audit_chunk_txs transactions.
 *
 * Pass 1 (`threads` workers, each with its own read connection and scratch
 * memory, taking the next chunk from a shared counter): recomputes each
 * block's hash and transaction-list hash, and checks every transaction on
 * its own, parsing it once (audit_tx.c: id, schema, signatures,
 * tightenings).  Each chunk keeps a compact record per transaction.
 *
 * Pass 2 (this thread, in commit order, no store access in the common
 * case): duplicates, and every spend against a hash map of the records:
 * the output exists and was created earlier, is spent once, has the same
 * asset, amounts balance, and the spending input matches the spent output's
 * condition and owners (compared through the records' locks).
 *
 * The first bad block or transaction in commit order is reported; failures
 * of one transaction sort in the reference's order (audit_rank).
 *
 * Not here: repairing anything.
 */
#include "node.h"

#include "audit_int.h"
#include "codec.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint64_t audit_seq_key_max = UINT64_C(1) << 60; /* seq part of a failure key */

enum {
    audit_threads_max = 16,
    audit_chunk_txs = 512,     /* transactions per unit of work (block-aligned) */
    audit_chunk_blocks = 4096, /* ... or at most this many (empty) blocks */
    audit_chunk_presize_max = 8 * audit_chunk_txs, /* records allocated up front per chunk */
};

/* ------------------------------------------------------------- failures */

void
audit_fail_at(struct audit_fail *f, uint64_t seq, enum audit_rank rank, int64_t height,
              const struct ltd_hash *id, const char *fmt, ...)
{
    /* seq comes from the store: clamp, never assert (rule 8b) */
    uint64_t key = (seq < audit_seq_key_max ? seq : audit_seq_key_max) << 3 | (uint64_t)rank;
    char msg[errmsg_bytes_max];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&f->lock);
    if (key < f->key) {
        f->key = key;
        f->height = height;
        if (id)
            hex_encode(f->txid, id->b, 32);
        else
            f->txid[0] = 0;
        snprintf(f->msg, sizeof f->msg, "%s", msg);
    }
    pthread_mutex_unlock(&f->lock);
}

/* ------------------------------------------------------- pass 0: blocks */

struct audit_plan {
    char chain_id[65];
    struct ltd_hash genesis; /* SHA3 of the stored genesis record */
    struct store_block *blk; /* blocks 0..n_blk-1, by height */
    uint64_t *first;         /* the seq each block's transactions must start at */
    uint32_t n_blk, cap_blk;
    struct audit_chunk *chunk;
    uint32_t n_chunk;
    uint64_t max_seq; /* the highest seq stored */
};

static void
plan_release(struct audit_plan *p)
{
    for (uint32_t i = 0; i < p->n_chunk; i++) {
        free(p->chunk[i].rec);
        free(p->chunk[i].out);
        free(p->chunk[i].in);
    }
    free(p->chunk);
    free(p->first);
    free(p->blk);
    memset(p, 0, sizeof *p);
}

/* Checks one block header against its predecessor and files it. */
static void
plan_block(struct audit_plan *p, const struct store_block *b, uint64_t *next_seq,
           struct audit_fail *f)
{
    if (p->n_blk == p->cap_blk) {
        p->cap_blk = p->cap_blk ? p->cap_blk * 2 : 1024;
        LTD_ASSERT(p->cap_blk > p->n_blk);
        p->blk = xrealloc(p->blk, sizeof *p->blk * p->cap_blk);
        p->first = xrealloc(p->first, sizeof *p->first * p->cap_blk);
    }
    uint32_t i = p->n_blk++;
    p->blk[i] = *b;
    p->first[i] = *next_seq;
    const struct ltd_hash *prev = i == 0 ? &p->genesis : &p->blk[i - 1].hash;
    if (memcmp(b->prev_hash.b, prev->b, 32) != 0)
        audit_fail_at(f, *next_seq, AUDIT_RANK_BLOCK, (int64_t)b->height, NULL,
                      "block does not link to its predecessor");
    if (b->n_tx && b->first_seq != *next_seq)
        audit_fail_at(f, *next_seq, AUDIT_RANK_BLOCK, (int64_t)b->height, NULL,
                      "block transactions out of order");
    *next_seq += b->n_tx;
}

static void
plan_chunks(struct audit_plan *p)
{
    p->chunk = xcalloc(p->n_blk ? p->n_blk : 1, sizeof *p->chunk);
    uint32_t b = 0;
    while (b < p->n_blk) {
        struct audit_chunk *c = &p->chunk[p->n_chunk++];
        c->b0 = b;
        uint64_t txs = 0;
        while (b < p->n_blk && txs < audit_chunk_txs && b - c->b0 < audit_chunk_blocks)
            txs += p->blk[b++].n_tx;
        c->b1 = b;
    }
}

/* Reads the block headers (up to the height committed together with the
 * highest seq) and plans the chunks. */
static enum ltd_err
plan_read(struct store *st, struct audit_plan *p, struct audit_fail *f, struct ltd_errbuf *eb)
{
    struct store_cursor *cur = NULL;
    enum ltd_err e = store_cursor_open(st, &cur, eb);
    if (e)
        return e;
    int64_t max_height = -1;
    if ((e = store_cursor_bounds(cur, &max_height, &p->max_seq, eb)))
        goto out;
    if (max_height >= 0 && (e = store_cursor_blocks(cur, 0, (uint64_t)max_height, eb)))
        goto out;
    uint64_t next_seq = 1;
    for (int64_t h = 0; h <= max_height; h++) {
        struct store_block b;
        bool got = false;
        if ((e = store_cursor_block_next(cur, &b, &got, eb)))
            goto out;
        if (!got || b.height != (uint64_t)h) {
            audit_fail_at(f, next_seq, AUDIT_RANK_BLOCK, h, NULL, "block height gap");
            break;
        }
        plan_block(p, &b, &next_seq, f);
    }
    if (p->max_seq >= next_seq) {
        unsigned long long extra = p->max_seq - next_seq + 1;
        audit_fail_at(f, next_seq, AUDIT_RANK_BLOCK, (int64_t)p->n_blk, NULL,
                      "%llu transactions are stored after the last block", extra);
    }
    plan_chunks(p);
out:
    store_cursor_close(cur);
    return e;
}

/* ----------------------------------------------------- pass 1: workers */

struct audit_run {
    struct store *st;
    struct audit_plan *plan;
    struct audit_fail *fail;
    atomic_uint next_chunk;
    atomic_bool stop;
};

struct audit_worker {
    struct audit_run *run;
    struct store_cursor *cur;
    struct audit_txck *k;
    struct codec_sha3 *h; /* transaction-list hash */
    uint64_t txs;         /* transactions checked */
    enum ltd_err e;       /* first store error */
    struct ltd_errbuf eb;
};

static void
block_hash_check(struct audit_worker *w, uint32_t b)
{
    const struct audit_plan *p = w->run->plan;
    struct ltd_hash want;
    store_block_hash(p->chain_id, &p->blk[b], &want);
    if (memcmp(want.b, p->blk[b].hash.b, 32) != 0)
        audit_fail_at(w->run->fail, p->first[b], AUDIT_RANK_BLOCK, (int64_t)p->blk[b].height, NULL,
                      "block hash does not match");
}

/* One stored row of block b: its place in the sequence, then the tx. */
static void
chunk_row(struct audit_worker *w, struct audit_chunk *c, uint32_t b,
          const struct store_cursor_tx *row, uint64_t *expect)
{
    const struct audit_plan *p = w->run->plan;
    int64_t height = (int64_t)p->blk[b].height;
    if (row->seq != *expect)
        audit_fail_at(w->run->fail, row->seq, AUDIT_RANK_PARSE, height, &row->id,
                      "transaction sequence has a gap");
    *expect = row->seq + 1;
    if (row->height != p->blk[b].height)
        audit_fail_at(w->run->fail, row->seq, AUDIT_RANK_PARSE, height, &row->id,
                      "stored height differs from its block's");
    char hex[65];
    hex_encode(hex, row->id.b, 32);
    codec_sha3_update(w->h, hex, 64);
    audit_tx_check(w->k, row, c, w->run->fail);
    w->txs++;
}

static enum ltd_err
chunk_run(struct audit_worker *w, struct audit_chunk *c)
{
    const struct audit_plan *p = w->run->plan;
    LTD_ASSERT(c->b0 < c->b1);
    uint64_t from = p->first[c->b0];
    uint64_t end = p->first[c->b1 - 1] + p->blk[c->b1 - 1].n_tx; /* one past the last */
    struct store_cursor_tx row;
    bool have = false;
    enum ltd_err e;
    if (end > from && ((e = store_cursor_txs(w->cur, from, end - 1, &w->eb)) ||
                       (e = store_cursor_tx_next(w->cur, &row, &have, &w->eb))))
        return e;
    if (end > from && c->cap_rec == 0) {
        /* one record and (usually) one output per row: sized once, since
         * every fresh page of memory is costly to touch here (the counts
         * come from the store, so the guess is bounded) */
        uint64_t n = end - from;
        c->cap_rec = c->cap_out =
            (uint32_t)(n < audit_chunk_presize_max ? n : audit_chunk_presize_max);
        c->rec = xmalloc(sizeof *c->rec * c->cap_rec);
        c->out = xmalloc(sizeof *c->out * c->cap_out);
    }
    uint64_t expect = from;
    for (uint32_t b = c->b0; b < c->b1; b++) {
        block_hash_check(w, b);
        uint64_t stop = p->first[b] + p->blk[b].n_tx; /* rows below belong to b */
        codec_sha3_begin(w->h);
        while (have && row.seq < stop) {
            chunk_row(w, c, b, &row, &expect);
            if ((e = store_cursor_tx_next(w->cur, &row, &have, &w->eb)))
                return e;
        }
        struct ltd_hash got;
        codec_sha3_end(w->h, &got);
        if (memcmp(got.b, p->blk[b].txs_hash.b, 32) != 0)
            audit_fail_at(w->run->fail, p->first[b], AUDIT_RANK_BLOCK, (int64_t)p->blk[b].height,
                          NULL, "block's transaction list hash does not match its transactions");
    }
    return LTD_OK;
}

static void *
worker_main(void *arg)
{
    struct audit_worker *w = arg;
    struct audit_run *r = w->run;
    w->k = audit_txck_new();
    w->h = codec_sha3_new();
    w->e = store_cursor_open(r->st, &w->cur, &w->eb);
    while (w->e == LTD_OK && !atomic_load(&r->stop)) {
        unsigned i = atomic_fetch_add(&r->next_chunk, 1);
        if (i >= r->plan->n_chunk)
            break;
        w->e = chunk_run(w, &r->plan->chunk[i]);
    }
    if (w->e)
        atomic_store(&r->stop, true);
    store_cursor_close(w->cur);
    codec_sha3_free(w->h);
    audit_txck_free(w->k);
    return NULL;
}

/* Runs pass 1 on n threads; the first store error, if any. */
static enum ltd_err
run_workers(struct audit_run *r, int n, uint64_t *txs, struct ltd_errbuf *eb)
{
    LTD_ASSERT(n >= 1 && n <= audit_threads_max);
    struct audit_worker w[audit_threads_max];
    pthread_t tid[audit_threads_max];
    for (int i = 0; i < n; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].run = r;
        ltd_errbuf_clear(&w[i].eb);
        LTD_ASSERT(pthread_create(&tid[i], NULL, worker_main, &w[i]) == 0);
    }
    enum ltd_err e = LTD_OK;
    *txs = 0;
    for (int i = 0; i < n; i++) {
        LTD_ASSERT(pthread_join(tid[i], NULL) == 0);
        *txs += w[i].txs;
        if (w[i].e && e == LTD_OK)
            e = ltd_fail(eb, w[i].e, "%s", w[i].eb.msg);
    }
    return e;
}

/* ------------------------------------------------------ pass 2: spends */

struct audit_map {
    struct audit_rec **slot;
    size_t cap; /* a power of two, at least twice the entries */
};

static size_t
map_home(const struct audit_map *m, const struct ltd_hash *h)
{
    uint64_t x;
    memcpy(&x, h->b + 8, 8);
    return (size_t)(x & (m->cap - 1));
}

static struct audit_rec *
map_find(const struct audit_map *m, const struct ltd_hash *h)
{
    for (size_t i = map_home(m, h), n = 0; n < m->cap; i = (i + 1) & (m->cap - 1), n++) {
        if (m->slot[i] == NULL)
            return NULL;
        if (memcmp(m->slot[i]->id.b, h->b, 32) == 0)
            return m->slot[i];
    }
    return NULL;
}

static void
map_add(struct audit_map *m, struct audit_rec *r)
{
    size_t i = map_home(m, &r->id);
    while (m->slot[i])
        i = (i + 1) & (m->cap - 1);
    m->slot[i] = r;
}

/* The output in->index of src, or NULL. */
static struct audit_out *
spent_output(const struct audit_map *m, const struct audit_in *in, struct audit_rec **src)
{
    *src = map_find(m, &in->txid);
    if (*src == NULL || in->index >= (*src)->n_out)
        return NULL;
    return &(*src)->out[in->index];
}

/* Inputs whose lock differs from the spent output's: tx_verify_input decides. */
static void
locks_check(struct store *st, const struct audit_map *m, const struct audit_rec *r,
            struct audit_fail *f)
{
    for (uint32_t i = 0; i < r->n_in; i++) {
        struct audit_rec *src;
        const struct audit_out *o = spent_output(m, &r->in[i], &src);
        LTD_ASSERT(o != NULL);
        if (memcmp(o->lock.b, r->in[i].lock.b, sizeof o->lock.b) == 0)
            continue;
        struct ltd_errbuf eb;
        ltd_errbuf_clear(&eb);
        if (audit_tx_input_exact(st, r->seq, i, src->seq, r->in[i].index, &eb) != LTD_OK) {
            audit_fail_at(f, r->seq, AUDIT_RANK_SIG, (int64_t)r->height, &r->id,
                          "signature check failed: %s", eb.msg);
            return;
        }
    }
}

static void
spend_check(struct store *st, const struct audit_map *m, const struct audit_rec *r,
            struct audit_fail *f)
{
    unsigned __int128 in_sum = 0, out_sum = 0;
    int64_t h = (int64_t)r->height;
    for (uint32_t i = 0; i < r->n_in; i++) {
        const struct audit_in *in = &r->in[i];
        struct audit_rec *src;
        struct audit_out *o = spent_output(m, in, &src);
        if (o == NULL) {
            audit_fail_at(f, r->seq, AUDIT_RANK_STATE, h, &r->id, "spends a missing output");
            return;
        }
        if (o->spent) {
            char hex[65];
            hex_encode(hex, in->txid.b, 32);
            audit_fail_at(f, r->seq, AUDIT_RANK_STATE, h, &r->id, "double spend of input %s", hex);
            return;
        }
        if (memcmp(src->asset.b, r->asset.b, 32) != 0) {
            audit_fail_at(f, r->seq, AUDIT_RANK_STATE, h, &r->id, "asset mismatch");
            return;
        }
        o->spent = true;
        in_sum += o->amount;
    }
    for (uint32_t i = 0; i < r->n_out; i++)
        out_sum += r->out[i].amount;
    if (in_sum != out_sum) {
        audit_fail_at(f, r->seq, AUDIT_RANK_STATE, h, &r->id, "amounts do not balance");
        return;
    }
    locks_check(st, m, r, f);
}

static void
ledger_walk(struct store *st, struct audit_plan *p, struct audit_fail *f)
{
    size_t n = 0;
    for (uint32_t c = 0; c < p->n_chunk; c++)
        n += p->chunk[c].n_rec;
    struct audit_map m = {.cap = 1024};
    while (m.cap < 2 * n)
        m.cap *= 2;
    m.slot = xcalloc(m.cap, sizeof(struct audit_rec *));
    for (uint32_t c = 0; c < p->n_chunk; c++) {
        struct audit_chunk *ch = &p->chunk[c];
        for (uint32_t i = 0; i < ch->n_rec; i++) {
            struct audit_rec *r = &ch->rec[i];
            LTD_ASSERT(r->out_first + r->n_out <= ch->n_out);
            LTD_ASSERT(r->in_first + r->n_in <= ch->n_in);
            r->out = ch->out + r->out_first; /* the arrays no longer move */
            r->in = ch->in + r->in_first;
            if (!r->parsed)
                continue; /* reported by pass 1 */
            if (map_find(&m, &r->id)) {
                audit_fail_at(f, r->seq, AUDIT_RANK_STATE, (int64_t)r->height, &r->id,
                              "duplicate transaction");
                continue;
            }
            if (r->op == TX_TRANSFER)
                spend_check(st, &m, r, f);
            map_add(&m, r);
        }
    }
    free(m.slot);
}

/* ---------------------------------------------------------------- driver */

/* The chain id and hash of the stored genesis record. */
static enum ltd_err
genesis_read(struct store *st, struct audit_plan *p, struct ltd_errbuf *eb)
{
    struct buf raw;
    buf_init(&raw);
    enum ltd_err e = store_meta_get(st, "genesis", &raw, eb);
    if (e == LTD_OK) {
        struct arena a;
        arena_init(&a);
        struct cjson *root = NULL;
        if (cjson_parse(&a, raw.p, raw.len, NULL, &root, NULL) == LTD_OK &&
            cjson_get(root, "chain_id") && cjson_get(root, "chain_id")->len == 64)
            memcpy(p->chain_id, cjson_get(root, "chain_id")->str, 65);
        codec_sha3_256(&p->genesis, raw.p, raw.len);
        arena_release(&a);
    }
    buf_release(&raw);
    return e;
}

static void
report(struct node_verify_report *rep, const struct audit_plan *p, const struct audit_fail *f,
       uint64_t txs)
{
    rep->blocks = p->n_blk;
    rep->txs = txs;
    rep->ok = f->key == UINT64_MAX;
    rep->bad_height = f->height;
    memcpy(rep->bad_txid, f->txid, sizeof rep->bad_txid);
    snprintf(rep->message, sizeof rep->message, "%s", rep->ok ? "ok" : f->msg);
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
    struct audit_plan plan;
    memset(&plan, 0, sizeof plan);
    struct audit_fail fail = {.key = UINT64_MAX, .height = -1};
    pthread_mutex_init(&fail.lock, NULL);
    if ((e = genesis_read(st, &plan, eb)) || (e = plan_read(st, &plan, &fail, eb)))
        goto out;
    struct audit_run run = {.st = st, .plan = &plan, .fail = &fail};
    atomic_init(&run.next_chunk, 0);
    atomic_init(&run.stop, false);
    int n = threads < 1 ? 1 : threads > audit_threads_max ? audit_threads_max : threads;
    uint64_t txs = 0;
    if ((e = run_workers(&run, n, &txs, eb)))
        goto out;
    ledger_walk(st, &plan, &fail);
    report(rep, &plan, &fail, txs);
out:
    rep->seconds = (double)(ltd_mono_ns() - t0) / 1e9;
    plan_release(&plan);
    pthread_mutex_destroy(&fail.lock);
    store_close(st);
    return e;
}

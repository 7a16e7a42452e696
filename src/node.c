/*
 * node.c - genesis, submit path, ordered log, block applier, audit.
 *
 * Threads: any number of submitters (HTTP threads) run the stateless checks
 * and the CheckTx-like precheck (signatures included) in parallel, then
 * append to the log under one mutex.  One applier thread takes everything
 * waiting (group commit), validates each transaction against the committed
 * state plus the block so far (through the store's write connection, which
 * sees its own uncommitted rows), writes the block in one SQLite
 * transaction and commits it synced.  Only then are commit-mode waiters and
 * listeners told.
 *
 * The log here is local (struct node_log, in memory).  In cluster mode the
 * two ends of the log are node_cluster.c's: submit hands the prechecked
 * transaction to cluster_submit, and the applier takes its batches from
 * cluster_take (one batch of the etcd log = one block, its time proposed by
 * the batch) instead of the FIFO.  Validation reads no clock: the block time
 * is a field chosen when the block is formed.
 */
#include "node_int.h"

#include "codec.h"
#include "rules.h"
#include "store_ltdrs.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

enum {
    node_pending_slots_min = 1024,
    node_tick_ms = 50,
    node_sync_wait_ms = 1500, /* cluster: precheck waits this long for the log to catch up */
    node_full_retry_ms = 500, /* cluster: a log batch that found the disk full is retried */
};

/* Meta row holding the cluster log position (node_cluster.c writes it). */
#define NODE_META_CLUSTER_POS "cluster_pos"

void
node_config_defaults(struct node_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->data_dir = "data";
    cfg->sync_full = true;
    cfg->block_txs_max = 2000;
    cfg->block_wait_us = 2000;
    cfg->queue_max = 100000;
    cfg->commit_timeout_ms = 30000;
    cfg->cache_mib = 256;
    cfg->batch_wait_ms = 10;
    cfg->watch_liveness_ms = 30000;
    cfg->decoders = 2;
}

/* ---------------------------------------------------------------- idset */

static size_t
idset_home(const struct idset *s, const struct ltd_hash *h)
{
    uint64_t x;
    memcpy(&x, h->b, 8);
    return (size_t)(x & (s->cap - 1));
}

static void idset_put(struct idset *s, const struct ltd_hash *h);

static void
idset_grow(struct idset *s)
{
    struct idset old = *s;
    s->cap = old.cap ? old.cap * 2 : node_pending_slots_min;
    if (old.cap && old.n * 4 < old.cap)
        s->cap = old.cap; /* only tombstones: rehash at the same size */
    s->slot = xcalloc(s->cap, sizeof *s->slot);
    s->used = xcalloc(s->cap, 1);
    s->n = s->tomb = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.used[i] == 1)
            idset_put(s, &old.slot[i]);
    free(old.slot);
    free(old.used);
}

static bool
idset_has(const struct idset *s, const struct ltd_hash *h)
{
    if (s->cap == 0)
        return false;
    for (size_t i = idset_home(s, h), k = 0; k < s->cap; i = (i + 1) & (s->cap - 1), k++) {
        if (s->used[i] == 0)
            return false;
        if (s->used[i] == 1 && memcmp(s->slot[i].b, h->b, 32) == 0)
            return true;
    }
    return false;
}

static void
idset_put(struct idset *s, const struct ltd_hash *h)
{
    if ((s->n + s->tomb + 1) * 2 > s->cap)
        idset_grow(s);
    size_t i = idset_home(s, h);
    while (s->used[i] == 1)
        i = (i + 1) & (s->cap - 1);
    if (s->used[i] == 2)
        s->tomb--;
    s->slot[i] = *h;
    s->used[i] = 1;
    s->n++;
}

static void
idset_del(struct idset *s, const struct ltd_hash *h)
{
    if (s->cap == 0)
        return;
    for (size_t i = idset_home(s, h), k = 0; k < s->cap; i = (i + 1) & (s->cap - 1), k++) {
        if (s->used[i] == 0)
            return;
        if (s->used[i] == 1 && memcmp(s->slot[i].b, h->b, 32) == 0) {
            s->used[i] = 2;
            s->n--;
            s->tomb++;
            return;
        }
    }
}

static void
idset_release(struct idset *s)
{
    free(s->slot);
    free(s->used);
    memset(s, 0, sizeof *s);
}

/* -------------------------------------------------------------- genesis */

void
node_genesis_text(const struct node_genesis *g, struct buf *out)
{
    char admin[48];
    codec_b58_encode32(g->admin.b, admin);
    buf_addf(out,
             "{\"admin_public_key\":\"%s\",\"chain_id\":\"%s\",\"created_ms\":%llu,"
             "\"software\":\"ltdrs\",\"version\":1}",
             admin, g->chain_id, (unsigned long long)g->created_ms);
}

/* Parses a genesis record; it must be exactly its canonical text. */
static enum ltd_err
genesis_parse(const char *raw, size_t len, struct node_genesis *g, struct ltd_errbuf *eb)
{
    memset(g, 0, sizeof *g);
    struct arena a;
    arena_init(&a);
    struct cjson *root = NULL;
    enum ltd_err e = cjson_parse(&a, raw, len, NULL, &root, eb);
    if (e) {
        e = ltd_fail(eb, LTD_E_STORE_CORRUPT, "genesis record is not JSON");
        goto out;
    }
    const struct cjson *cid = cjson_get(root, "chain_id");
    const struct cjson *adm = cjson_get(root, "admin_public_key");
    const struct cjson *cr = cjson_get(root, "created_ms");
    uint8_t idb[32];
    if (cid == NULL || cid->type != CJSON_STRING || cid->len != 64 ||
        !hex_decode(idb, 32, cid->str, 64) || adm == NULL || adm->type != CJSON_STRING ||
        cr == NULL || cr->type != CJSON_INT || cr->len > 15 ||
        codec_b58_decode32(adm->str, adm->len, g->admin.b) != LTD_OK) {
        e = ltd_fail(eb, LTD_E_STORE_CORRUPT, "genesis record is malformed");
        goto out;
    }
    memcpy(g->chain_id, cid->str, 65);
    g->created_ms = strtoull(cr->str, NULL, 10);
    struct buf canon;
    buf_init(&canon);
    node_genesis_text(g, &canon);
    codec_sha3_256(&g->hash, canon.p, canon.len);
    if (canon.len != len || memcmp(canon.p, raw, len) != 0)
        e = ltd_fail(eb, LTD_E_STORE_CORRUPT, "genesis record is not canonical");
    buf_release(&canon);
out:
    arena_release(&a);
    if (e)
        memset(g, 0, sizeof *g);
    return e;
}

static enum ltd_err
genesis_load(struct store *st, struct node_genesis *g, struct ltd_errbuf *eb)
{
    struct buf raw;
    buf_init(&raw);
    enum ltd_err e = store_meta_get(st, "genesis", &raw, eb);
    if (e) {
        if (e == LTD_E_NOT_FOUND)
            e = ltd_fail(eb, LTD_E_USAGE, "no ledger here: run `ltdrs init` first");
    } else {
        e = genesis_parse(raw.p, raw.len, g, eb);
    }
    buf_release(&raw);
    return e;
}

/* Writes genesis g and block 0 into a new data directory. */
static enum ltd_err
init_dir(const char *data_dir, const struct node_genesis *g, struct ltd_errbuf *eb)
{
    codec_init();
    struct store_config sc = {.dir = data_dir, .sync_full = true, .cache_mib = 16};
    struct store *st = NULL;
    enum ltd_err e = store_open(&sc, &st, eb);
    if (e)
        return e;
    struct buf tmp;
    buf_init(&tmp);
    if (store_meta_get(st, "genesis", &tmp, NULL) == LTD_OK) {
        e = ltd_fail(eb, LTD_E_USAGE, "'%s' already holds a ledger", data_dir);
        goto out;
    }
    buf_reset(&tmp);
    node_genesis_text(g, &tmp);
    struct store_block b = {.height = 0, .time_ms = g->created_ms, .n_tx = 0, .first_seq = 1};
    b.prev_hash = g->hash;
    codec_sha3_256(&b.txs_hash, "", 0);
    store_block_hash(g->chain_id, &b, &b.hash);
    if ((e = store_block_begin(st, eb)))
        goto out;
    if ((e = store_meta_put(st, "genesis", tmp.p, tmp.len, eb))) {
        store_block_rollback(st);
        goto out;
    }
    e = store_block_commit(st, &b, eb);
out:
    buf_release(&tmp);
    store_close(st);
    return e;
}

enum ltd_err
node_init(const char *data_dir, const struct ltd_pubkey *admin, struct node_genesis *out,
          struct ltd_errbuf *eb)
{
    codec_init();
    struct node_genesis g;
    memset(&g, 0, sizeof g);
    uint8_t rnd[32];
    codec_random(rnd, sizeof rnd);
    hex_encode(g.chain_id, rnd, 32);
    g.created_ms = ltd_now_ms();
    g.admin = *admin;
    struct buf tmp;
    buf_init(&tmp);
    node_genesis_text(&g, &tmp);
    codec_sha3_256(&g.hash, tmp.p, tmp.len);
    buf_release(&tmp);
    enum ltd_err e = init_dir(data_dir, &g, eb);
    if (e == LTD_OK && out)
        *out = g;
    return e;
}

enum ltd_err
node_init_from(const char *data_dir, const char *genesis, size_t len, struct node_genesis *out,
               struct ltd_errbuf *eb)
{
    codec_init();
    while (len > 0 && (genesis[len - 1] == '\n' || genesis[len - 1] == '\r' ||
                       genesis[len - 1] == ' ' || genesis[len - 1] == '\t'))
        len--;
    struct node_genesis g;
    enum ltd_err e = genesis_parse(genesis, len, &g, eb);
    if (e == LTD_OK)
        e = init_dir(data_dir, &g, eb);
    if (e == LTD_OK && out)
        *out = g;
    return e;
}

/* ------------------------------------------------------------ the view */

static enum ltd_err
view_tx_exists(void *ctx, const struct ltd_hash *id, bool *exists, struct ltd_errbuf *eb)
{
    uint64_t seq = 0;
    enum ltd_err e = store_tx_seq(ctx, id, &seq, eb);
    *exists = seq != 0;
    return e;
}

static enum ltd_err
view_output(void *ctx, struct arena *a, const struct ltd_hash *txid, uint64_t index,
            struct rules_output *out, struct ltd_errbuf *eb)
{
    struct store_out o;
    enum ltd_err e = store_output(ctx, a, txid, index, &o, eb);
    if (e)
        return e;
    out->amount = o.amount;
    out->spent = o.spent_by != 0;
    out->asset_id = o.asset_id;
    out->details = o.details;
    return LTD_OK;
}

static void
view_of(struct node *n, struct rules_view *v)
{
    v->ctx = n->st;
    v->domain = &n->domain;
    v->tx_exists = view_tx_exists;
    v->output = view_output;
}

/* --------------------------------------------------------------- submit */

void
node_entry_free(struct entry *e)
{
    arena_release(&e->arena);
    buf_release(&e->body);
    free(e);
}

void
node_pending_del(struct node *n, const struct ltd_hash *id)
{
    pthread_mutex_lock(&n->lock);
    idset_del(&n->pending, id);
    pthread_mutex_unlock(&n->lock);
}

/* Rejections that a node lagging behind the log may give wrongly: the
 * input, or the LTDRS record a transaction builds on, may already be in
 * the log (acknowledged by another node) without being applied here yet. */
static bool
may_be_stale(enum ltd_err e)
{
    return e == LTD_E_INPUT_MISSING || e == LTD_E_OUTPUT_INDEX ||
           (e >= LTD_E_L_BAD_RECORD && e < LTD_E_STORE_IO);
}

enum ltd_err
node_submit(struct node *n, const char *body, size_t len, enum node_mode mode, node_done_fn done,
            void *arg, char id_hex[65], struct buf *echo, struct ltd_errbuf *eb)
{
    struct entry *en = xcalloc(1, sizeof *en);
    arena_init(&en->arena);
    buf_init(&en->body);
    bool in_pending = false;
    enum ltd_err e = tx_parse(&en->arena, body, len, 0, &en->tx, eb);
    if (e)
        goto fail;
    if (id_hex)
        memcpy(id_hex, en->tx.id_hex, 65);
    pthread_mutex_lock(&n->lock);
    if (n->write_failed) {
        pthread_mutex_unlock(&n->lock);
        e = ltd_fail(eb, LTD_E_STORE_STOPPED,
                     "writes are stopped after a storage failure; restart the node");
        goto fail;
    }
    if (idset_has(&n->pending, &en->tx.id)) {
        pthread_mutex_unlock(&n->lock);
        e = ltd_fail(eb, LTD_E_TX_QUEUED, "Tx already exists in cache");
        goto fail;
    }
    idset_put(&n->pending, &en->tx.id);
    in_pending = true;
    pthread_mutex_unlock(&n->lock);
    if (n->cluster && (e = cluster_writable(n->cluster, eb)))
        goto fail;
    struct rules_view v;
    view_of(n, &v);
    e = rules_check(&v, &en->arena, &en->tx, 0, eb);
    if (e && n->cluster && may_be_stale(e) && cluster_sync(n->cluster, node_sync_wait_ms)) {
        ltd_errbuf_clear(eb);
        e = rules_check(&v, &en->arena, &en->tx, 0, eb);
    }
    if (e)
        goto fail;
    en->verified = true;
    tx_serialize(&en->tx, &en->body);
    if (echo)
        buf_add(echo, en->body.p, en->body.len);
    en->done = mode == NODE_COMMIT ? done : NULL;
    en->arg = arg;
    en->deadline_ms = ltd_now_ms() + n->cfg.commit_timeout_ms;
    if (n->cluster) {
        /* the shipper owns en from here; the applier may free it at once */
        if ((e = cluster_submit(n->cluster, en, eb)))
            goto fail;
        pthread_mutex_lock(&n->lock);
        n->stats.submitted++;
        pthread_mutex_unlock(&n->lock);
        return LTD_OK;
    }
    pthread_mutex_lock(&n->lock);
    if (n->log.len >= n->cfg.queue_max || n->stopping) {
        pthread_mutex_unlock(&n->lock);
        e = ltd_fail(eb, LTD_E_OVERLOAD, "the node is busy: %u transactions are waiting",
                     n->log.len);
        goto fail;
    }
    if (n->log.tail)
        n->log.tail->next = en;
    else
        n->log.head = en;
    n->log.tail = en;
    n->log.len++;
    n->stats.submitted++;
    pthread_cond_signal(&n->wake);
    pthread_mutex_unlock(&n->lock);
    return LTD_OK;
fail:
    if (in_pending) {
        pthread_mutex_lock(&n->lock);
        idset_del(&n->pending, &en->tx.id);
        n->stats.rejected++;
        pthread_mutex_unlock(&n->lock);
    }
    node_entry_free(en);
    return e;
}

void
node_add_listener(struct node *n, node_listener_fn fn, void *arg)
{
    pthread_mutex_lock(&n->lock);
    LTD_ASSERT(n->n_listeners < node_listeners_max);
    n->listeners[n->n_listeners].fn = fn;
    n->listeners[n->n_listeners].arg = arg;
    n->n_listeners++;
    pthread_mutex_unlock(&n->lock);
}

/* -------------------------------------------------------------- applier */

/* Records whether the last block failed for want of space, and says so
 * once when that starts and once when writes resume (applier thread). */
static void
disk_full_note(struct node *n, bool full)
{
    if (n->disk_full == full) /* only the applier writes it: no lock to read */
        return;
    pthread_mutex_lock(&n->lock);
    n->disk_full = full;
    pthread_mutex_unlock(&n->lock);
    if (full)
        fprintf(stderr, "ltdrs: disk full: blocks are not written (answered 507) until "
                        "space is freed; reads go on\n");
    else
        fprintf(stderr, "ltdrs: space freed: blocks are written again\n");
}

/* Validates and writes the batch as one block.  Sets each entry's result.
 * cb (cluster mode) gives the block time and the log position stored in
 * the same transaction; NULL in local mode (time from the clock).
 * Returns the number of transactions in the block (0: no block written). */
static uint32_t
apply_batch(struct node *n, struct entry *batch, const struct cluster_batch *cb,
            struct store_block *b, struct ltd_errbuf *eb)
{
    struct rules_view v;
    view_of(n, &v);
    enum ltd_err e = store_block_begin(n->st, eb);
    struct entry *en;
    if (e)
        goto fail;
    memset(b, 0, sizeof *b);
    b->height = n->head.height + 1;
    struct codec_sha3 *h = codec_sha3_new();
    codec_sha3_begin(h);
    for (en = batch; en; en = en->next) {
        if (en->bad)
            continue; /* did not parse: result and message preset */
        ltd_errbuf_clear(&en->eb);
        en->result = rules_check(&v, en->pool ? en->pool : &en->arena, &en->tx,
                                 en->verified ? RULES_SIGS_VERIFIED : 0, &en->eb);
        if (en->result >= LTD_E_STORE_IO && en->result < LTD_E_HTTP_BAD_REQUEST) {
            e = ltd_fail(eb, en->result, "%s", en->eb.msg);
            break;
        }
        if (en->result != LTD_OK)
            continue;
        uint64_t seq = 0;
        if ((e = store_block_add_tx(n->st, &en->tx, en->body.p, en->body.len, b->height, &seq, eb)))
            break;
        if ((e = store_ltdrs_apply(n->st, &en->tx, seq, eb)))
            break;
        if (b->n_tx++ == 0)
            b->first_seq = seq;
        codec_sha3_update(h, en->tx.id_hex, 64);
        en->height = b->height;
    }
    codec_sha3_end(h, &b->txs_hash);
    codec_sha3_free(h);
    if (e)
        goto fail;
    if (b->n_tx == 0) {
        store_block_rollback(n->st);
        return 0;
    }
    /* block times never go back; in a cluster the batch's proposer chose it */
    uint64_t t = cb ? cb->time_ms : ltd_now_ms();
    b->time_ms = t > n->head.time_ms ? t : n->head.time_ms;
    b->prev_hash = n->head.hash;
    store_block_hash(n->genesis.chain_id, b, &b->hash);
    if (cb) {
        struct buf pos;
        buf_init(&pos);
        cluster_position_json(n->cluster, cb, &pos);
        e = store_meta_put(n->st, NODE_META_CLUSTER_POS, pos.p, pos.len, eb);
        buf_release(&pos);
        if (e)
            goto fail;
    }
    if ((e = store_block_commit(n->st, b, eb)))
        goto fail;
    n->head = *b;
    disk_full_note(n, false);
    return b->n_tx;
fail:
    store_block_rollback(n->st);
    for (en = batch; en; en = en->next) {
        if (en->result != LTD_OK && en->result < LTD_E_STORE_IO)
            continue; /* refused by the rules: that answer stands */
        ltd_errbuf_clear(&en->eb);
        if (e == LTD_E_STORE_FULL) {
            en->result = e;
            ltd_fail(&en->eb, e, "not committed: %s", eb->msg);
        } else { /* a failed fsync may still have left the block on disk */
            en->result = LTD_E_STORE_STOPPED;
            ltd_fail(&en->eb, en->result,
                     "storage failed while writing its block (%s): it may or may not be "
                     "stored; writes are stopped until the node is restarted, then look it up",
                     eb->msg);
        }
    }
    if (e == LTD_E_STORE_FULL) {
        /* Nothing of the block is written (SQLite wrote no commit record)
         * and the space may come back: its transactions get 507 and the
         * next block tries again, so writes resume by themselves. */
        disk_full_note(n, true);
        return 0;
    }
    /* Any other failure (an I/O error, a failed fsync) leaves the file's
     * state in doubt: stop writing until a restart recovers from the WAL. */
    pthread_mutex_lock(&n->lock);
    n->write_failed = true;
    pthread_mutex_unlock(&n->lock);
    return 0;
}

static void
notify(struct node *n, struct entry *batch, const struct store_block *b, uint32_t n_tx)
{
    struct node_event *ev = n_tx ? xmalloc(sizeof *ev * n_tx) : NULL;
    size_t k = 0;
    for (struct entry *en = batch; en; en = en->next) {
        if (en->result != LTD_OK)
            continue;
        LTD_ASSERT(k < n_tx);
        ev[k].height = b->height;
        memcpy(ev[k].txid, en->tx.id_hex, 65);
        hex_encode(ev[k].asset_id, en->tx.asset_id.b, 32);
        k++;
    }
    pthread_mutex_lock(&n->lock);
    for (struct entry *en = batch; en; en = en->next) {
        idset_del(&n->pending, &en->tx.id);
        if (en->result == LTD_OK)
            n->stats.committed++;
        else
            n->stats.rejected++;
    }
    if (n_tx) {
        n->stats.blocks++;
        n->stats.height = b->height;
    }
    int nl = n->n_listeners;
    struct listener ls[node_listeners_max];
    memcpy(ls, n->listeners, sizeof ls);
    pthread_mutex_unlock(&n->lock);
    for (struct entry *en = batch; en; en = en->next)
        if (en->done)
            en->done(en->arg, en->result, &en->eb, en->height);
    if (k)
        for (int i = 0; i < nl; i++)
            ls[i].fn(ls[i].arg, b, ev, k);
    free(ev);
}

/* Answers commit waiters that waited past their deadline with 504 (the
 * transaction stays in the log and may still commit). */
static void
expire_waiters(struct node *n, uint64_t now)
{
    for (struct entry *en = n->log.head; en; en = en->next) {
        if (en->done && en->deadline_ms <= now) {
            struct ltd_errbuf eb;
            ltd_errbuf_clear(&eb);
            ltd_fail(&eb, LTD_E_HTTP_TIMEOUT,
                     "transaction %s is queued but not yet committed; look it up later",
                     en->tx.id_hex);
            en->done(en->arg, LTD_E_HTTP_TIMEOUT, &eb, 0);
            en->done = NULL;
        }
    }
}

/* Takes the next batch off the log (blocking), or NULL when stopping. */
static struct entry *
take_batch(struct node *n)
{
    pthread_mutex_lock(&n->lock);
    for (;;) {
        uint64_t now = ltd_now_ms();
        expire_waiters(n, now);
        if (n->log.len > 0) {
            /* group commit: let a small batch grow for block_wait_us */
            if (n->log.len < n->cfg.block_txs_max && !n->stopping && n->cfg.block_wait_us) {
                struct timespec ts = ltd_deadline(CLOCK_REALTIME, n->cfg.block_wait_us);
                pthread_cond_timedwait(&n->wake, &n->lock, &ts);
            }
            break;
        }
        if (n->stopping) {
            pthread_mutex_unlock(&n->lock);
            return NULL;
        }
        struct timespec ts = ltd_deadline(CLOCK_REALTIME, node_tick_ms * 1000u);
        pthread_cond_timedwait(&n->wake, &n->lock, &ts);
    }
    struct entry *batch = n->log.head, *last = batch;
    uint32_t k = 1;
    while (k < n->cfg.block_txs_max && last->next) {
        last = last->next;
        k++;
    }
    n->log.head = last->next;
    if (n->log.head == NULL)
        n->log.tail = NULL;
    last->next = NULL;
    n->log.len -= k;
    pthread_mutex_unlock(&n->lock);
    return batch;
}

/* Waits up to ms (or until the node stops); true when it is stopping. */
static bool
node_wait_stopping(struct node *n, unsigned ms)
{
    struct timespec ts = ltd_deadline(CLOCK_REALTIME, (uint64_t)ms * 1000u);
    pthread_mutex_lock(&n->lock);
    if (!n->stopping)
        pthread_cond_timedwait(&n->wake, &n->lock, &ts);
    bool stop = n->stopping;
    pthread_mutex_unlock(&n->lock);
    return stop;
}

/* Cluster mode: applies the etcd log in order.  A batch that finds the
 * disk full is retried until it is written.  A batch that cannot be
 * written for any other reason stops applying altogether (apply_batch sets
 * write_failed, and cluster_take then hands out no more batches: skipping
 * one would make this node differ from the others).  The node serves reads
 * until restarted, when it resumes from the position stored with its last
 * block. */
static void
cluster_applier(struct node *n)
{
    struct cluster_batch *cb;
    while ((cb = cluster_take(n->cluster)) != NULL) {
        struct store_block b;
        struct ltd_errbuf eb;
        ltd_errbuf_clear(&eb);
        memset(&b, 0, sizeof b);
        uint32_t n_tx = cb->entries ? apply_batch(n, cb->entries, cb, &b, &eb) : 0;
        /* a full disk: the same batch again once there is room (skipping
         * it would fork this node); waiters meanwhile time out with 504 */
        while (eb.code == LTD_E_STORE_FULL && !node_wait_stopping(n, node_full_retry_ms)) {
            ltd_errbuf_clear(&eb);
            memset(&b, 0, sizeof b);
            n_tx = apply_batch(n, cb->entries, cb, &b, &eb);
        }
        if (eb.code != LTD_OK) {
            fprintf(stderr,
                    "ltdrs: applying log revision %lld (block %llu) failed: %s; "
                    "applying stopped until restart\n",
                    (long long)cb->revision, (unsigned long long)n->head.height + 1, eb.msg);
            notify(n, cb->entries, &b, 0);
        } else {
            cluster_applied(n->cluster, cb, &b, n_tx);
            notify(n, cb->entries, &b, n_tx);
        }
        cluster_batch_free(cb);
    }
}

static void *
applier_main(void *arg)
{
    struct node *n = arg;
    pthread_setname_np(pthread_self(), "applier");
    if (n->cluster) {
        cluster_applier(n);
        return NULL;
    }
    struct entry *batch;
    while ((batch = take_batch(n)) != NULL) {
        struct store_block b;
        struct ltd_errbuf eb;
        ltd_errbuf_clear(&eb);
        uint32_t n_tx = apply_batch(n, batch, NULL, &b, &eb);
        if (eb.code != LTD_OK)
            fprintf(stderr, "ltdrs: block %llu failed: %s\n",
                    (unsigned long long)n->head.height + 1, eb.msg);
        notify(n, batch, &b, n_tx);
        while (batch) {
            struct entry *next = batch->next;
            node_entry_free(batch);
            batch = next;
        }
    }
    return NULL;
}

/* ------------------------------------------------------------ lifecycle */

/* A data directory is either a lone node's or a cluster member's: the
 * cluster's blocks all come from its log (the meta row "cluster_pos" is
 * written with each of them), a lone node's from its own clock and FIFO.
 * Mixing them would fork this node from the others, so refuse. */
static enum ltd_err
check_mode(struct node *n, struct ltd_errbuf *eb)
{
    struct buf pos;
    buf_init(&pos);
    enum ltd_err e = store_meta_get(n->st, NODE_META_CLUSTER_POS, &pos, NULL);
    buf_release(&pos);
    if (e != LTD_OK && e != LTD_E_NOT_FOUND)
        return ltd_fail(eb, e, "cannot read the cluster position");
    bool member = e == LTD_OK;
    if (member && n->cfg.etcd == NULL)
        return ltd_fail(eb, LTD_E_USAGE,
                        "'%s' holds a cluster member's ledger: serve it with --etcd (alone it "
                        "would fork from the cluster)",
                        n->cfg.data_dir);
    if (!member && n->cfg.etcd != NULL && n->head.height > 0)
        return ltd_fail(eb, LTD_E_USAGE,
                        "'%s' holds %llu blocks made by a lone node: a cluster member starts "
                        "from genesis (ltdrs init --genesis FILE)",
                        n->cfg.data_dir, (unsigned long long)n->head.height);
    return LTD_OK;
}

enum ltd_err
node_open(const struct node_config *cfg, struct node **out, struct ltd_errbuf *eb)
{
    *out = NULL;
    codec_init();
    struct node *n = xcalloc(1, sizeof *n);
    n->cfg = *cfg;
    if (n->cfg.block_txs_max == 0)
        n->cfg.block_txs_max = 1;
    struct stat sb;
    if (stat(cfg->data_dir, &sb) != 0) {
        free(n);
        return ltd_fail(eb, LTD_E_USAGE, "no data directory '%s': run `ltdrs init` first",
                        cfg->data_dir);
    }
    struct store_config sc = {
        .dir = cfg->data_dir, .sync_full = cfg->sync_full, .cache_mib = cfg->cache_mib};
    enum ltd_err e = store_open(&sc, &n->st, eb);
    if (e)
        goto fail;
    if ((e = genesis_load(n->st, &n->genesis, eb)) || (e = store_head(n->st, &n->head, eb)))
        goto fail;
    n->stats.height = n->head.height;
    store_ltdrs_view(n->st, &n->genesis.admin, false, &n->domain);
    if ((e = check_mode(n, eb)))
        goto fail;
    pthread_mutex_init(&n->lock, NULL);
    pthread_cond_init(&n->wake, NULL);
    if (cfg->etcd && (e = cluster_open(n, &n->cluster, eb))) {
        pthread_mutex_destroy(&n->lock);
        pthread_cond_destroy(&n->wake);
        goto fail;
    }
    if (pthread_create(&n->applier, NULL, applier_main, n) != 0) {
        e = ltd_fail(eb, LTD_E_INTERNAL, "cannot start the applier thread");
        if (n->cluster) {
            cluster_stop(n->cluster);
            cluster_free(n->cluster);
        }
        pthread_mutex_destroy(&n->lock);
        pthread_cond_destroy(&n->wake);
        goto fail;
    }
    *out = n;
    return LTD_OK;
fail:
    codec_wipe(&n->cfg.node_seed, sizeof n->cfg.node_seed);
    store_close(n->st);
    free(n);
    return e;
}

void
node_close(struct node *n)
{
    if (n == NULL)
        return;
    pthread_mutex_lock(&n->lock);
    n->stopping = true;
    pthread_cond_broadcast(&n->wake);
    pthread_mutex_unlock(&n->lock);
    if (n->cluster)
        cluster_stop(n->cluster); /* wakes the applier out of cluster_take */
    pthread_join(n->applier, NULL);
    if (n->cluster)
        cluster_free(n->cluster);
    codec_wipe(&n->cfg.node_seed, sizeof n->cfg.node_seed);
    LTD_ASSERT(n->log.head == NULL);
    idset_release(&n->pending);
    store_close(n->st);
    pthread_mutex_destroy(&n->lock);
    pthread_cond_destroy(&n->wake);
    free(n);
}

const struct node_genesis *
node_genesis(const struct node *n)
{
    return &n->genesis;
}

struct store *
node_store(struct node *n)
{
    return n->st;
}

void
node_stats(struct node *n, struct node_stats *out)
{
    pthread_mutex_lock(&n->lock);
    *out = n->stats;
    out->queue_len = n->log.len;
    out->write_failed = n->write_failed;
    out->disk_full = n->disk_full;
    pthread_mutex_unlock(&n->lock);
    if (n->cluster)
        out->queue_len = cluster_waiting(n->cluster);
}

bool
node_cluster_json(struct node *n, struct buf *out)
{
    if (n->cluster == NULL)
        return false;
    cluster_status_json(n->cluster, out);
    return true;
}

bool
node_validators_json(struct node *n, struct buf *out)
{
    if (n->cluster == NULL)
        return false;
    cluster_validators_json(n->cluster, out);
    return true;
}

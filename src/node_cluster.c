/*
 * node_cluster.c - cluster mode: several nodes keep one ledger, ordered by
 * etcd (docs/etcd-ordering.md §7).  Every node validates every transaction
 * itself and applies the same ordered log to its own SQLite, so all nodes
 * reach the same state and the same block hashes.
 *
 * Keys in etcd, under /ledger/v1/:
 *   genesis              the canonical genesis record; put-if-absent by the
 *                        first node, compared by every later one
 *   nodes/<id>           {"node","public_key","url"}: the registry
 *   log/<id>/<%020d k>   batch k of node <id>: write-once, appended with a
 *                        guarded txn (k-1 exists, k absent).  The global
 *                        order is the etcd revision of each batch
 *   heads/<id>           {"hash","height","node","sig","time_ms"}: the node's
 *                        head, signed with its node key
 * A batch is {"v":1,"node":"<id>","nseq":k,"time_ms":T,"txs":[<tx>,...]}
 * with canonical transaction bodies; one batch becomes one block whose time
 * is max(previous block time, T), so block hashes match on every node.
 *
 * Threads (besides node.c's applier and the HTTP threads that submit):
 *   shipper   batches prechecked transactions and appends one batch at a
 *             time to this node's sub-log.  An unknown outcome (timeout,
 *             503, lost connection) is retried with the same key and the
 *             same bytes until etcd says which; those transactions never go
 *             into another batch.
 *   watch     etcd.c's thread: log PUT events in revision order; the
 *             callback queues the raw batch (bounded by bytes).
 *   decoders  parse queued batches and verify their signatures in parallel;
 *             the applier takes them in revision order.
 *   follower  owns the watch; after a compaction it catches up by merging
 *             the paged ranges of every sub-log on create_revision (§7.5).
 *   monitor   probes etcd for a quorum, publishes this node's signed head,
 *             reads the registry and the peers' heads and compares each
 *             with the local block at the same height.
 * The applier stores (revision, batch count, nseq per node) in the meta row
 * "cluster_pos" inside each block's transaction; a restart resumes the watch
 * after that revision.  Batches that make no block (every transaction
 * rejected) are not recorded: a restart re-reads them and decides the same.
 *
 * Commit waiters: a map tx id -> entry.  A waiter is answered when its
 * transaction commits from any node's batch, or is rejected in the batch
 * this node shipped it in; 504 after the commit timeout when it was sent
 * (it may still commit), 503 when it was never sent.
 *
 * Deliberately not here: leader election, log pruning and checkpoints
 * (§7.6), membership changes beyond registering, BFT (a Byzantine etcd
 * majority or node can write anything to the log; the head comparison
 * detects a node whose state differs, it does not prevent it).
 */
#include "node_int.h"

#include "codec.h"
#include "etcd.h"
#include "rules.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KP "/ledger/v1/"
#define KEY_GENESIS KP "genesis"
#define PFX_NODES KP "nodes/"
#define PFX_LOG KP "log/"
#define PFX_HEADS KP "heads/"
#define HEAD_TAG "ltdrs-head:v1:"

enum {
    cl_batch_txs_max = 1000,              /* flush a batch at this many transactions */
    cl_batch_bytes_max = 256 * 1024,      /* ... or this many bytes of transactions */
    cl_queue_bytes_max = 8 * 1024 * 1024, /* raw batches read but not yet applied */
    cl_nodes_max = 64,                    /* nodes in one cluster (nseq table) */
    cl_divergences_max = 32,              /* divergences remembered */
    cl_decoders_max = 8,
    cl_url_bytes_max = 256,
    cl_key_bytes_max = 160,
    cl_fast_timeout_ms = 2000, /* probes, heads, registry, sync */
    cl_probe_ms = 1000,        /* quorum probe period while healthy */
    cl_probe_unhealthy_ms = 500,
    cl_probe_fails_max = 2,    /* consecutive failed probes before "no quorum" */
    cl_unknown_max = 2,        /* consecutive unknown appends before "no quorum" */
    cl_head_publish_ms = 200,  /* heads are published at most this often */
    cl_ship_window = 2,        /* own batches appended but not yet applied here */
    cl_ship_wait_max_ms = 250, /* ... beyond which a batch is sent anyway */
    cl_peers_check_ms = 1000,
    cl_retry_ms_min = 100, /* retry of an unknown append: first pause */
    cl_retry_ms_max = 2000,
    cl_join_wait_ms = 15000, /* start-up: how long etcd may be unreachable */
    cl_range_page = 16,      /* batches per page when catching up by ranges */
    cl_tick_ms = 50,
    cl_resync_max = 3,
    cl_disc_log_ms = 5000, /* watch disconnections are logged at most this often */
    cl_watch_retry_ms = 1000,
};

/* ------------------------------------------------------------ helpers */

static void
cond_init_mono(pthread_cond_t *c)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(c, &a);
    pthread_condattr_destroy(&a);
}

static uint64_t
mono_ms(void)
{
    return ltd_mono_ns() / 1000000u;
}

static void
cond_wait_ms(pthread_cond_t *c, pthread_mutex_t *m, uint64_t ms)
{
    struct timespec ts = ltd_deadline(CLOCK_MONOTONIC, ms * 1000u);
    pthread_cond_timedwait(c, m, &ts);
}

static bool
id_ok(const char *s, size_t n)
{
    if (n == 0 || n >= node_id_text_max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-' || c == '_'))
            return false;
    }
    return true;
}

static size_t
log_key(char *out, size_t cap, const char *id, uint64_t k)
{
    int n = snprintf(out, cap, PFX_LOG "%s/%020llu", id, (unsigned long long)k);
    LTD_ASSERT(n > 0 && (size_t)n < cap);
    return (size_t)n;
}

/* Text the head signature covers (domain-tagged, rule 13). */
static size_t
head_message(char *out, size_t cap, const char *chain_id, uint64_t height,
             const struct ltd_hash *hash)
{
    char hex[65];
    hex_encode(hex, hash->b, 32);
    int n = snprintf(out, cap, HEAD_TAG "%s:%llu:%s", chain_id, (unsigned long long)height, hex);
    LTD_ASSERT(n > 0 && (size_t)n < cap);
    return (size_t)n;
}

/* Appends s as JSON string content (quotes, backslashes, controls escaped). */
static void
json_text(struct buf *out, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            buf_addf(out, "\\%c", c);
        else if (c < 0x20)
            buf_addf(out, "\\u%04X", c);
        else
            buf_addc(out, (char)c);
    }
}

static const struct cjson *
get_type(const struct cjson *o, const char *name, enum cjson_type t)
{
    const struct cjson *v = cjson_get(o, name);
    return v && v->type == t ? v : NULL;
}

static bool
get_u64(const struct cjson *o, const char *name, uint64_t *out)
{
    const struct cjson *v = get_type(o, name, CJSON_INT);
    if (v == NULL || v->len == 0 || v->len > 19 || v->str[0] == '-')
        return false;
    *out = strtoull(v->str, NULL, 10);
    return true;
}

/* ------------------------------------------------------- waiter map */

/* Open addressing over entry pointers, keyed by the transaction id. */
struct wmap {
    struct entry **slot;
    size_t cap, n, used; /* used: live + tombstones */
};

static struct entry wm_tomb_;
#define WM_TOMB (&wm_tomb_)

static size_t
wm_home(const struct wmap *m, const struct ltd_hash *h)
{
    uint64_t x;
    memcpy(&x, h->b + 8, 8);
    return (size_t)(x & (m->cap - 1));
}

static struct entry *
wm_get(const struct wmap *m, const struct ltd_hash *id)
{
    if (m->cap == 0)
        return NULL;
    for (size_t i = wm_home(m, id), k = 0; k < m->cap; i = (i + 1) & (m->cap - 1), k++) {
        struct entry *e = m->slot[i];
        if (e == NULL)
            return NULL;
        if (e != WM_TOMB && memcmp(e->tx.id.b, id->b, 32) == 0)
            return e;
    }
    return NULL;
}

static void wm_put(struct wmap *m, struct entry *e);

static void
wm_grow(struct wmap *m)
{
    struct wmap old = *m;
    size_t cap = old.cap ? old.cap : 1024;
    while ((old.n + 1) * 4 > cap)
        cap *= 2;
    m->cap = cap;
    m->slot = xcalloc(cap, sizeof(struct entry *));
    m->n = m->used = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.slot[i] && old.slot[i] != WM_TOMB)
            wm_put(m, old.slot[i]);
    free(old.slot);
}

static void
wm_put(struct wmap *m, struct entry *e)
{
    if ((m->used + 1) * 2 > m->cap)
        wm_grow(m);
    size_t i = wm_home(m, &e->tx.id);
    while (m->slot[i] != NULL && m->slot[i] != WM_TOMB)
        i = (i + 1) & (m->cap - 1);
    if (m->slot[i] == NULL)
        m->used++;
    m->slot[i] = e;
    m->n++;
}

static void
wm_del(struct wmap *m, struct entry *e)
{
    if (m->cap == 0)
        return;
    for (size_t i = wm_home(m, &e->tx.id), k = 0; k < m->cap; i = (i + 1) & (m->cap - 1), k++) {
        if (m->slot[i] == NULL)
            return;
        if (m->slot[i] == e) {
            m->slot[i] = WM_TOMB;
            m->n--;
            return;
        }
    }
}

/* ------------------------------------------------------- the cluster */

/* One batch read from the log, on its way to the applier. */
struct citem {
    struct cluster_batch b; /* first: cluster_batch_free finds the item from it */
    struct citem *next;
    struct arena arena; /* every entry's parse and scratch */
    int64_t revision;
    uint8_t *key, *val; /* raw, owned; val is freed once decoded */
    size_t key_len, val_len;
    size_t bytes; /* counted against cl_queue_bytes_max */
    int state;    /* 0 raw, 1 decoding, 2 ready */
    bool skip;    /* malformed or out of sequence: no block, position advances */
};

struct nseq_rec {
    char id[node_id_text_max];
    uint64_t nseq;
};

/* How far the log has been applied here (the applier writes it). */
struct position {
    int64_t revision; /* last batch applied */
    uint64_t batches; /* batches of the log applied (all nodes) */
    uint32_t n;
    struct nseq_rec rec[cl_nodes_max]; /* last nseq applied per node */
};

struct peer {
    char id[node_id_text_max];
    struct ltd_pubkey pk;
    char url[cl_url_bytes_max];
    bool has_head;
    uint64_t height;
    struct ltd_hash hash;
    bool sig_ok;
    int agrees;               /* -1 not compared yet, 0 differs, 1 agrees */
    uint64_t compared_height; /* last head compared (height, hash) */
    struct ltd_hash compared_hash;
    bool pend; /* a sample waiting until we reach its height */
    uint64_t pend_height;
    struct ltd_hash pend_hash;
};

struct divergence {
    char node[node_id_text_max];
    uint64_t height, last_height, count;
    struct ltd_hash hash, local_hash;
    char message[160];
};

/* The batch being appended. */
struct flight {
    bool active;
    uint64_t nseq;
    uint64_t time_ms;
    struct buf txs;   /* "[tx,...]" */
    struct buf value; /* the whole batch */
    struct ltd_hash *ids;
    uint32_t n_ids;
    unsigned retry_ms;
    uint32_t resyncs;
};

enum watch_end { WATCH_RUNNING, WATCH_COMPACTED, WATCH_FAILED };

struct cluster {
    struct node *n;
    char id[node_id_text_max];
    struct ltd_pubkey pub;
    struct ltd_seed seed;
    char url[cl_url_bytes_max];
    struct etcd_client *etcd; /* appends, catch-up ranges, the watch */
    struct etcd_client *fast; /* probes, heads, registry, sync: short timeouts */

    pthread_mutex_t lock;
    pthread_cond_t ship_cv;  /* shipper: work or retry */
    pthread_cond_t work_cv;  /* decoders: raw items */
    pthread_cond_t space_cv; /* watch callback: queue space */
    pthread_cond_t ready_cv; /* applier: a decoded head item */
    pthread_cond_t mon_cv;   /* monitor */
    pthread_cond_t sync_cv;  /* cluster_sync: position advanced */
    pthread_cond_t fol_cv;   /* follower: the watch ended */

    /* health */
    char fatal_msg[errmsg_bytes_max];
    uint64_t appends_ok, appends_unknown;

    /* waiters */
    struct wmap map;
    struct entry *pend_head, *pend_tail; /* not yet in a batch */
    size_t pend_bytes;
    uint64_t pend_first_ms;
    struct entry *dl_head, *dl_tail; /* commit waiters, oldest deadline first */

    /* shipper */
    uint64_t next_nseq;

    /* the queue from the watch to the applier */
    struct citem *q_head, *q_tail, *q_raw;
    size_t q_bytes;
    int64_t pushed_rev; /* last revision queued */

    /* follower */
    int64_t compact_rev;

    /* applied position, heads */
    struct position pos;
    uint64_t head_height;
    struct ltd_hash head_hash;

    /* peers */
    struct peer peers[cl_nodes_max];
    struct divergence div[cl_divergences_max];
    uint64_t peers_checked_ms;
    uint64_t disc_logged_ms; /* last "watch disconnected" line */

    pthread_t shipper, follower, monitor, decoders[cl_decoders_max];

    /* the small fields, together (padding) */
    uint32_t queue_max;
    uint32_t batch_wait_ms;
    uint32_t pend_n;
    uint32_t n_peers;
    uint32_t n_div;
    uint32_t n_decoders;
    int unknown_streak;
    int probe_fails;
    enum ltd_err fatal; /* writes stopped for good (conflict) */
    enum watch_end watch_end;
    bool stopping;
    bool healthy;
    bool shipped_once;
    bool head_dirty;
    bool threads_started;
};

static void LTD_PRINTF(2, 3) cl_log(const struct cluster *cl, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "ltdrs: cluster node=%s: %s\n", cl->id, msg);
}

static struct nseq_rec *
pos_find(struct position *p, const char *id)
{
    for (uint32_t i = 0; i < p->n; i++)
        if (strcmp(p->rec[i].id, id) == 0)
            return &p->rec[i];
    return NULL;
}

/* ---------------------------------------------- answering waiters */

/* Deadline list of commit waiters (entries with done set). */
static bool
dl_in(const struct cluster *cl, const struct entry *e)
{
    return e->wprev != NULL || cl->dl_head == e;
}

static void
dl_push(struct cluster *cl, struct entry *e)
{
    e->wnext = NULL;
    e->wprev = cl->dl_tail;
    if (cl->dl_tail)
        cl->dl_tail->wnext = e;
    else
        cl->dl_head = e;
    cl->dl_tail = e;
}

static void
dl_del(struct cluster *cl, struct entry *e)
{
    if (!dl_in(cl, e))
        return;
    if (e->wprev)
        e->wprev->wnext = e->wnext;
    else
        cl->dl_head = e->wnext;
    if (e->wnext)
        e->wnext->wprev = e->wprev;
    else
        cl->dl_tail = e->wprev;
    e->wprev = e->wnext = NULL;
}

/* Removes an unsent entry from the pending list (rare: only when another
 * node's copy of the same transaction committed first). */
static void
pend_remove(struct cluster *cl, struct entry *w)
{
    struct entry *prev = NULL;
    for (struct entry *e = cl->pend_head; e; prev = e, e = e->next) {
        if (e != w)
            continue;
        if (prev)
            prev->next = e->next;
        else
            cl->pend_head = e->next;
        if (cl->pend_tail == e)
            cl->pend_tail = prev;
        cl->pend_n--;
        cl->pend_bytes -= e->body.len;
        e->next = NULL;
        return;
    }
}

/* Takes w out of every structure (lock held); the caller owns it then. */
static void
detach(struct cluster *cl, struct entry *w)
{
    wm_del(&cl->map, w);
    dl_del(cl, w);
    if (w->nseq == 0)
        pend_remove(cl, w);
}

/* Queues w to be answered with code (lock held); w must be detached. */
static void LTD_PRINTF(4, 5)
    answer_add(struct entry **list, struct entry *w, enum ltd_err code, const char *fmt, ...)
{
    char msg[errmsg_bytes_max];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    w->result = code;
    ltd_errbuf_clear(&w->eb);
    ltd_fail(&w->eb, code, "%s", msg);
    w->next = *list;
    *list = w;
}

/* Answers and frees the queued entries (lock NOT held). */
static void
answer_all(struct cluster *cl, struct entry *list)
{
    while (list) {
        struct entry *next = list->next;
        if (list->done)
            list->done(list->arg, list->result, &list->eb, 0);
        node_pending_del(cl->n, &list->tx.id);
        node_entry_free(list);
        list = next;
    }
}

/* Every unsent transaction fails with 503: it never reached etcd. */
static void
fail_pending(struct cluster *cl, enum ltd_err code, const char *why, struct entry **list)
{
    struct entry *e = cl->pend_head;
    cl->pend_head = cl->pend_tail = NULL;
    cl->pend_n = 0;
    cl->pend_bytes = 0;
    while (e) {
        struct entry *next = e->next;
        wm_del(&cl->map, e);
        dl_del(cl, e);
        answer_add(list, e, code, "transaction %s was not sent to the ordering log: %s",
                   e->tx.id_hex, why);
        e = next;
    }
}

static void
set_health(struct cluster *cl, bool ok, const char *why, struct entry **list)
{
    if (ok && !cl->healthy) {
        cl->healthy = true;
        cl_log(cl, "etcd quorum reachable again: writes resume");
    } else if (!ok && cl->healthy) {
        cl->healthy = false;
        cl_log(cl, "no etcd quorum (%s): writes answer 503, reads keep working", why);
        fail_pending(cl, LTD_E_ETCD_UNAVAILABLE, "no etcd quorum", list);
    }
}

/* Commit waiters past their deadline (lock held).  A sent transaction may
 * still commit: 504 and it stays known; an unsent one is dropped: 503. */
static void
expire_waiters(struct cluster *cl, struct entry **list)
{
    uint64_t now = ltd_now_ms();
    while (cl->dl_head && cl->dl_head->deadline_ms <= now) {
        struct entry *w = cl->dl_head;
        dl_del(cl, w);
        if (w->nseq == 0) {
            detach(cl, w);
            answer_add(list, w, LTD_E_ETCD_UNAVAILABLE,
                       "transaction %s was not sent to the ordering log in time", w->tx.id_hex);
            continue;
        }
        struct ltd_errbuf eb;
        ltd_errbuf_clear(&eb);
        ltd_fail(&eb, LTD_E_HTTP_TIMEOUT,
                 "transaction %s is in the ordering log or on its way but not yet applied "
                 "here; look it up later with GET /api/v1/transactions/%s",
                 w->tx.id_hex, w->tx.id_hex);
        /* answered now, outside the lock would be nicer; done is quick */
        node_done_fn done = w->done;
        w->done = NULL;
        done(w->arg, LTD_E_HTTP_TIMEOUT, &eb, 0);
    }
}

/* ------------------------------------------------------------ submit */

enum ltd_err
cluster_writable(struct cluster *cl, struct ltd_errbuf *eb)
{
    pthread_mutex_lock(&cl->lock);
    enum ltd_err e = LTD_OK;
    if (cl->fatal)
        e = ltd_fail(eb, cl->fatal, "writes are stopped: %s", cl->fatal_msg);
    else if (!cl->healthy)
        e = ltd_fail(eb, LTD_E_ETCD_UNAVAILABLE,
                     "no etcd quorum: writes are refused until it is back (reads keep working)");
    pthread_mutex_unlock(&cl->lock);
    return e;
}

enum ltd_err
cluster_submit(struct cluster *cl, struct entry *en, struct ltd_errbuf *eb)
{
    LTD_ASSERT(en->tx.has_id);
    pthread_mutex_lock(&cl->lock);
    enum ltd_err e = LTD_OK;
    if (cl->fatal)
        e = ltd_fail(eb, cl->fatal, "writes are stopped: %s", cl->fatal_msg);
    else if (!cl->healthy)
        e = ltd_fail(eb, LTD_E_ETCD_UNAVAILABLE,
                     "no etcd quorum: writes are refused until it is back (reads keep working)");
    else if (cl->stopping)
        e = ltd_fail(eb, LTD_E_OVERLOAD, "the node is stopping");
    else if (cl->map.n >= cl->queue_max)
        e = ltd_fail(eb, LTD_E_OVERLOAD, "the node is busy: %zu transactions are waiting",
                     cl->map.n);
    else if (wm_get(&cl->map, &en->tx.id))
        e = ltd_fail(eb, LTD_E_TX_QUEUED, "Tx already exists in cache");
    if (e == LTD_OK) {
        en->nseq = 0;
        en->next = NULL;
        en->wprev = en->wnext = NULL;
        wm_put(&cl->map, en);
        if (cl->pend_tail)
            cl->pend_tail->next = en;
        else
            cl->pend_head = en;
        cl->pend_tail = en;
        if (cl->pend_n++ == 0)
            cl->pend_first_ms = mono_ms();
        cl->pend_bytes += en->body.len;
        if (en->done)
            dl_push(cl, en);
        pthread_cond_signal(&cl->ship_cv);
    }
    pthread_mutex_unlock(&cl->lock);
    return e;
}

uint32_t
cluster_waiting(struct cluster *cl)
{
    pthread_mutex_lock(&cl->lock);
    uint32_t n = (uint32_t)cl->map.n;
    pthread_mutex_unlock(&cl->lock);
    return n;
}

bool
cluster_sync(struct cluster *cl, unsigned timeout_ms)
{
    uint8_t end[cl_key_bytes_max];
    size_t end_len = etcd_prefix_end(PFX_LOG, strlen(PFX_LOG), end);
    struct etcd_range_req r = {.key = PFX_LOG,
                               .key_len = strlen(PFX_LOG),
                               .range_end = end,
                               .range_end_len = end_len,
                               .flags = ETCD_RANGE_COUNT_ONLY};
    struct etcd_range_result res;
    if (etcd_range(cl->fast, &r, &res, NULL) != LTD_OK)
        return false;
    uint64_t target = res.count > 0 ? (uint64_t)res.count : 0;
    etcd_range_result_release(&res);
    uint64_t deadline = mono_ms() + timeout_ms;
    pthread_mutex_lock(&cl->lock);
    while (cl->pos.batches < target && !cl->stopping) {
        uint64_t now = mono_ms();
        if (now >= deadline)
            break;
        cond_wait_ms(&cl->sync_cv, &cl->lock, deadline - now);
    }
    bool ok = cl->pos.batches >= target;
    pthread_mutex_unlock(&cl->lock);
    return ok;
}

/* ------------------------------------------------------------ shipper */

static void
flight_value(const struct cluster *cl, struct flight *f)
{
    buf_reset(&f->value);
    buf_addf(&f->value, "{\"v\":1,\"node\":\"%s\",\"nseq\":%llu,\"time_ms\":%llu,\"txs\":", cl->id,
             (unsigned long long)f->nseq, (unsigned long long)f->time_ms);
    buf_add(&f->value, f->txs.p, f->txs.len);
    buf_addc(&f->value, '}');
}

/* Moves pending entries into a new batch (lock held). */
static void
form_batch(struct cluster *cl, struct flight *f)
{
    buf_reset(&f->txs);
    buf_addc(&f->txs, '[');
    f->n_ids = 0;
    while (cl->pend_head && f->n_ids < cl_batch_txs_max &&
           (f->n_ids == 0 || f->txs.len + cl->pend_head->body.len + 2 <= cl_batch_bytes_max)) {
        struct entry *e = cl->pend_head;
        cl->pend_head = e->next;
        if (cl->pend_head == NULL)
            cl->pend_tail = NULL;
        e->next = NULL;
        cl->pend_n--;
        cl->pend_bytes -= e->body.len;
        e->nseq = cl->next_nseq;
        if (f->n_ids)
            buf_addc(&f->txs, ',');
        buf_add(&f->txs, e->body.p, e->body.len);
        f->ids[f->n_ids++] = e->tx.id;
        /* From here on the waiter needs only its id, verdict and callback:
         * drop the parse and the body (an async flood keeps queue_max of
         * these).  The tx's pointers are cleared so that nothing uses them. */
        arena_release(&e->arena);
        buf_release(&e->body);
        struct ltd_hash id = e->tx.id;
        char hex[65];
        memcpy(hex, e->tx.id_hex, sizeof hex);
        memset(&e->tx, 0, sizeof e->tx);
        e->tx.id = id;
        e->tx.has_id = true;
        memcpy(e->tx.id_hex, hex, sizeof hex);
    }
    buf_addc(&f->txs, ']');
    if (cl->pend_n)
        cl->pend_first_ms = mono_ms();
    f->active = true;
    f->nseq = cl->next_nseq;
    f->time_ms = ltd_now_ms();
    f->retry_ms = cl_retry_ms_min;
    f->resyncs = 0;
    flight_value(cl, f);
}

/* The batch was not written (a definite answer): its waiters fail. */
static void
flight_fail(struct cluster *cl, struct flight *f, enum ltd_err code, const char *why,
            struct entry **list)
{
    for (uint32_t i = 0; i < f->n_ids; i++) {
        struct entry *w = wm_get(&cl->map, &f->ids[i]);
        if (w == NULL || w->nseq != f->nseq)
            continue;
        detach(cl, w);
        answer_add(list, w, code, "transaction %s was not written to the ordering log: %s",
                   w->tx.id_hex, why);
    }
    f->active = false;
}

/* Gives the batch a new sequence number (it was definitely not written). */
static void
flight_renumber(struct cluster *cl, struct flight *f, uint64_t nseq)
{
    for (uint32_t i = 0; i < f->n_ids; i++) {
        struct entry *w = wm_get(&cl->map, &f->ids[i]);
        if (w && w->nseq == f->nseq)
            w->nseq = nseq;
    }
    f->nseq = nseq;
    cl->next_nseq = nseq;
    flight_value(cl, f);
}

/* Number of batches in this node's sub-log (gap-free, so the next k is +1). */
static enum ltd_err
own_count(struct cluster *cl, struct etcd_client *c, uint64_t *count, struct ltd_errbuf *eb)
{
    char pfx[cl_key_bytes_max];
    int pn = snprintf(pfx, sizeof pfx, PFX_LOG "%s/", cl->id);
    LTD_ASSERT(pn > 0 && (size_t)pn < sizeof pfx);
    uint8_t end[cl_key_bytes_max];
    size_t end_len = etcd_prefix_end(pfx, (size_t)pn, end);
    struct etcd_range_req r = {.key = pfx,
                               .key_len = (size_t)pn,
                               .range_end = end,
                               .range_end_len = end_len,
                               .flags = ETCD_RANGE_COUNT_ONLY};
    struct etcd_range_result res;
    enum ltd_err e = etcd_range(c, &r, &res, eb);
    if (e == LTD_OK)
        *count = res.count > 0 ? (uint64_t)res.count : 0;
    etcd_range_result_release(&res);
    return e;
}

/* Handles the answer to an append (lock held).  Returns true when the same
 * batch must be sent again after f->retry_ms. */
static bool
ship_outcome(struct cluster *cl, struct flight *f, enum ltd_err rc,
             const struct etcd_append_result *ar, const struct ltd_errbuf *eb, bool *resync,
             struct entry **list)
{
    *resync = false;
    if (rc == LTD_OK &&
        (ar->outcome == ETCD_APPEND_APPENDED || ar->outcome == ETCD_APPEND_EXISTS_SAME)) {
        f->active = false;
        cl->next_nseq = f->nseq + 1;
        cl->shipped_once = true;
        cl->unknown_streak = 0;
        cl->appends_ok++;
        set_health(cl, true, NULL, list);
        return false;
    }
    if (rc == LTD_OK && (ar->outcome == ETCD_APPEND_GAP ||
                         (ar->outcome == ETCD_APPEND_EXISTS_OTHER && !cl->shipped_once))) {
        /* Not written.  A gap: our k is ahead of the sub-log.  Taken before
         * our first append: a batch of this node's previous run, sent just
         * before it died, landed after our start-up count.  Count again. */
        set_health(cl, true, NULL, list);
        if (++f->resyncs > cl_resync_max) {
            cl->fatal = LTD_E_ETCD_LOG_GAP;
            snprintf(cl->fatal_msg, sizeof cl->fatal_msg,
                     "this node's sub-log in etcd stays out of step with batch %llu",
                     (unsigned long long)f->nseq);
            flight_fail(cl, f, cl->fatal, cl->fatal_msg, list);
            fail_pending(cl, cl->fatal, cl->fatal_msg, list);
            cl_log(cl, "%s: writes stopped", cl->fatal_msg);
            return false;
        }
        *resync = true;
        return false;
    }
    if (rc == LTD_OK && ar->outcome == ETCD_APPEND_EXISTS_OTHER) {
        cl->fatal = LTD_E_ETCD_LOG_CONFLICT;
        snprintf(cl->fatal_msg, sizeof cl->fatal_msg,
                 "batch %llu of node %s in etcd holds other bytes: two processes use this node "
                 "id",
                 (unsigned long long)f->nseq, cl->id);
        flight_fail(cl, f, cl->fatal, cl->fatal_msg, list);
        fail_pending(cl, cl->fatal, cl->fatal_msg, list);
        cl_log(cl, "%s: writes stopped", cl->fatal_msg);
        return false;
    }
    if (rc == LTD_E_HTTP_TIMEOUT || rc == LTD_E_IO) {
        /* outcome unknown: the same key and bytes again, never another k */
        cl->appends_unknown++;
        if (++cl->unknown_streak >= cl_unknown_max)
            set_health(cl, false, eb->msg, list);
        if (cl->unknown_streak == 1 || cl->unknown_streak % 10 == 0)
            cl_log(cl, "append of batch %llu: outcome unknown (%s); retrying the same batch",
                   (unsigned long long)f->nseq, eb->msg);
        return true;
    }
    if (rc == LTD_E_OVERLOAD) {
        set_health(cl, true, NULL, list);
        flight_fail(cl, f, LTD_E_ETCD_NOSPACE, "etcd is out of space (NOSPACE alarm)", list);
        return false;
    }
    flight_fail(cl, f, LTD_E_ETCD_REJECTED, eb->msg, list);
    cl_log(cl, "append of batch %llu refused: %s", (unsigned long long)f->nseq, eb->msg);
    return false;
}

static void *
shipper_main(void *arg)
{
    struct cluster *cl = arg;
    struct flight f;
    memset(&f, 0, sizeof f);
    buf_init(&f.txs);
    buf_init(&f.value);
    f.ids = xcalloc(cl_batch_txs_max, sizeof *f.ids);
    char key[cl_key_bytes_max], prev[cl_key_bytes_max];
    pthread_mutex_lock(&cl->lock);
    while (!cl->stopping) {
        struct entry *list = NULL;
        if (!f.active) {
            if (cl->fatal || cl->pend_n == 0) {
                cond_wait_ms(&cl->ship_cv, &cl->lock, 200);
                continue;
            }
            if (!cl->healthy) {
                fail_pending(cl, LTD_E_ETCD_UNAVAILABLE, "no etcd quorum", &list);
                pthread_mutex_unlock(&cl->lock);
                answer_all(cl, list);
                pthread_mutex_lock(&cl->lock);
                continue;
            }
            /* Send when the batch is full; else after batch_wait_ms, but only
             * while fewer than cl_ship_window of our batches wait to be applied
             * here: when the applier is the bottleneck, sending sooner only
             * makes more, smaller blocks (each with its fixed cost in etcd and
             * in every node), so the batch grows instead. */
            uint64_t now = mono_ms(), due = cl->pend_first_ms + cl->batch_wait_ms;
            const struct nseq_rec *mine = pos_find(&cl->pos, cl->id);
            uint64_t unapplied = cl->next_nseq - 1 - (mine ? mine->nseq : 0);
            if (unapplied >= cl_ship_window && due < cl->pend_first_ms + cl_ship_wait_max_ms)
                due = cl->pend_first_ms + cl_ship_wait_max_ms;
            if (cl->pend_n < cl_batch_txs_max && cl->pend_bytes < cl_batch_bytes_max && now < due) {
                cond_wait_ms(&cl->ship_cv, &cl->lock, due - now);
                continue;
            }
            form_batch(cl, &f);
        }
        uint64_t nseq = f.nseq;
        pthread_mutex_unlock(&cl->lock);
        size_t kl = log_key(key, sizeof key, cl->id, nseq);
        size_t pl = nseq > 1 ? log_key(prev, sizeof prev, cl->id, nseq - 1) : 0;
        struct etcd_append_result ar;
        struct ltd_errbuf eb;
        ltd_errbuf_clear(&eb);
        enum ltd_err rc =
            etcd_append(cl->etcd, pl ? prev : NULL, pl, key, kl, f.value.p, f.value.len, &ar, &eb);
        pthread_mutex_lock(&cl->lock);
        bool resync = false;
        bool retry = ship_outcome(cl, &f, rc, &ar, &eb, &resync, &list);
        if (resync) {
            pthread_mutex_unlock(&cl->lock);
            uint64_t count = 0;
            struct ltd_errbuf eb2;
            ltd_errbuf_clear(&eb2);
            enum ltd_err ce = own_count(cl, cl->etcd, &count, &eb2);
            pthread_mutex_lock(&cl->lock);
            if (ce == LTD_OK) {
                cl_log(cl, "batch %llu not written (%s); sub-log holds %llu: resending as %llu",
                       (unsigned long long)f.nseq, ar.outcome == ETCD_APPEND_GAP ? "gap" : "taken",
                       (unsigned long long)count, (unsigned long long)count + 1);
                flight_renumber(cl, &f, count + 1);
            } else {
                retry = true;
            }
        }
        if (list) {
            pthread_mutex_unlock(&cl->lock);
            answer_all(cl, list);
            pthread_mutex_lock(&cl->lock);
        }
        if (retry && f.active) {
            uint64_t until = mono_ms() + f.retry_ms;
            while (!cl->stopping && mono_ms() < until)
                cond_wait_ms(&cl->ship_cv, &cl->lock, until - mono_ms());
            f.retry_ms = f.retry_ms * 2 > cl_retry_ms_max ? cl_retry_ms_max : f.retry_ms * 2;
        }
    }
    pthread_mutex_unlock(&cl->lock);
    buf_release(&f.txs);
    buf_release(&f.value);
    free(f.ids);
    return NULL;
}

/* ------------------------------------------------------- read side */

/* Queues one raw batch for the decoders; blocks while the queue is full.
 * False when stopping. */
static bool
push_raw(struct cluster *cl, int64_t revision, const uint8_t *key, size_t key_len,
         const uint8_t *val, size_t val_len)
{
    struct citem *it = xcalloc(1, sizeof *it);
    arena_init(&it->arena);
    it->revision = revision;
    it->key = (uint8_t *)xmemdup(key, key_len);
    it->key_len = key_len;
    it->val = (uint8_t *)xmemdup(val, val_len);
    it->val_len = val_len;
    it->bytes = key_len + val_len;
    pthread_mutex_lock(&cl->lock);
    while (!cl->stopping && cl->q_head && cl->q_bytes + it->bytes > cl_queue_bytes_max)
        cond_wait_ms(&cl->space_cv, &cl->lock, 200);
    if (cl->stopping) {
        pthread_mutex_unlock(&cl->lock);
        cluster_batch_free(&it->b);
        return false;
    }
    if (revision <= cl->pushed_rev) { /* etcd repeating itself: already queued */
        pthread_mutex_unlock(&cl->lock);
        cluster_batch_free(&it->b);
        return true;
    }
    if (cl->q_tail)
        cl->q_tail->next = it;
    else
        cl->q_head = it;
    cl->q_tail = it;
    if (cl->q_raw == NULL)
        cl->q_raw = it;
    cl->q_bytes += it->bytes;
    cl->pushed_rev = revision;
    pthread_cond_signal(&cl->work_cv);
    pthread_mutex_unlock(&cl->lock);
    return true;
}

static int
on_watch(void *arg, const struct etcd_watch_event *ev)
{
    struct cluster *cl = arg;
    switch (ev->kind) {
    case ETCD_WATCH_PUT:
        if (ev->create_revision != ev->mod_revision) {
            /* a rewrite of a write-once key is not an append: ignored */
            cl_log(cl, "ignoring a rewrite of log key %.*s at revision %lld", (int)ev->key_len,
                   (const char *)ev->key, (long long)ev->mod_revision);
            return 0;
        }
        return push_raw(cl, ev->mod_revision, ev->key, ev->key_len, ev->value, ev->value_len) ? 0
                                                                                              : 1;
    case ETCD_WATCH_PROGRESS:
        /* every log event up to this revision has been delivered: a later
         * restart of the watch need not go further back */
        pthread_mutex_lock(&cl->lock);
        if (ev->revision > cl->pushed_rev)
            cl->pushed_rev = ev->revision;
        pthread_mutex_unlock(&cl->lock);
        return 0;
    case ETCD_WATCH_DISCONNECTED: {
        uint64_t now = mono_ms();
        pthread_mutex_lock(&cl->lock);
        bool say = now >= cl->disc_logged_ms + cl_disc_log_ms;
        if (say)
            cl->disc_logged_ms = now;
        if (ev->reason && strstr(ev->reason, "no leader"))
            pthread_cond_signal(&cl->mon_cv); /* probe now */
        pthread_mutex_unlock(&cl->lock);
        if (say) /* the watch reconnects by itself, to the next member */
            cl_log(cl, "log watch disconnected (%s): resuming at revision %lld",
                   ev->reason ? ev->reason : "?", (long long)ev->revision);
        return 0;
    }
    case ETCD_WATCH_COMPACTED:
    case ETCD_WATCH_FAILED:
        pthread_mutex_lock(&cl->lock);
        cl->watch_end = ev->kind == ETCD_WATCH_COMPACTED ? WATCH_COMPACTED : WATCH_FAILED;
        cl->compact_rev = ev->revision;
        if (ev->kind == ETCD_WATCH_FAILED)
            cl_log(cl, "log watch failed: %s", ev->reason ? ev->reason : "?");
        pthread_cond_broadcast(&cl->fol_cv);
        pthread_mutex_unlock(&cl->lock);
        return 1;
    default:
        return 0;
    }
}

/* Finds the end of the JSON object starting at p[0] == '{' (strings and
 * nesting respected); tx_parse checks the slice strictly afterwards. */
static bool
object_end(const char *p, size_t n, size_t *end)
{
    size_t depth = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '"') {
            for (i++; i < n && p[i] != '"'; i++)
                if (p[i] == '\\')
                    i++;
            if (i >= n)
                return false;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth == 0)
                return false;
            if (--depth == 0) {
                *end = i + 1;
                return c == '}';
            }
        }
    }
    return false;
}

static bool
expect(const char **p, const char *end, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(end - *p) < n || memcmp(*p, lit, n) != 0)
        return false;
    *p += n;
    return true;
}

static bool
read_u64(const char **p, const char *end, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    size_t k = 0;
    while (s + k < end && s[k] >= '0' && s[k] <= '9' && k < 19) {
        v = v * 10 + (uint64_t)(s[k] - '0');
        k++;
    }
    if (k == 0 || (k > 1 && s[0] == '0'))
        return false;
    *out = v;
    *p = s + k;
    return true;
}

/* Signatures of a transaction from the log, checked before it is applied
 * where the state allows: a CREATE alone, a TRANSFER when every output it
 * spends is already committed (outputs never change once created).  When
 * this is not possible the applier verifies.  The node's own transactions
 * were verified at submit (same id, so the same bytes). */
static void
preverify(struct cluster *cl, struct entry *en)
{
    pthread_mutex_lock(&cl->lock);
    struct entry *w = wm_get(&cl->map, &en->tx.id);
    bool known = w && w->verified;
    pthread_mutex_unlock(&cl->lock);
    if (known) {
        en->verified = true;
        return;
    }
    const struct tx *t = &en->tx;
    if (t->op == TX_CREATE) {
        en->verified = tx_verify_create(t, NULL) == LTD_OK;
        return;
    }
    const struct cc_details **d =
        arena_alloc(en->pool, sizeof(const struct cc_details *) * (t->n_in ? t->n_in : 1));
    for (uint32_t i = 0; i < t->n_in; i++) {
        struct store_out o;
        if (store_output(node_store(cl->n), en->pool, &t->in[i].fulfills_txid,
                         t->in[i].fulfills_index, &o, NULL) != LTD_OK)
            return;
        d[i] = o.details;
    }
    struct ltd_hash *msgs = arena_alloc(en->pool, sizeof *msgs * (t->n_in ? t->n_in : 1));
    tx_signing_messages(t, msgs);
    for (uint32_t i = 0; i < t->n_in; i++)
        if (tx_verify_input(t, i, d[i], &msgs[i], NULL) != LTD_OK)
            return;
    en->verified = true;
}

/* Parses the key and the batch of it into it->b (decoder threads).  A
 * malformed batch is skipped by every node alike (it makes no block). */
static void
decode_item(struct cluster *cl, struct citem *it)
{
    struct cluster_batch *b = &it->b;
    b->revision = it->revision;
    const char *k = (const char *)it->key, *kend = k + it->key_len;
    const char *slash;
    if (!expect(&k, kend, PFX_LOG) || (slash = memchr(k, '/', (size_t)(kend - k))) == NULL ||
        !id_ok(k, (size_t)(slash - k)) || kend - slash != 21) {
        it->skip = true;
        goto out;
    }
    memcpy(b->node, k, (size_t)(slash - k));
    b->node[slash - k] = 0;
    uint64_t knseq = 0;
    for (const char *d = slash + 1; d < kend; d++) {
        if (*d < '0' || *d > '9') {
            it->skip = true;
            goto out;
        }
        knseq = knseq * 10 + (uint64_t)(*d - '0');
    }
    const char *p = (const char *)it->val, *end = p + it->val_len;
    uint64_t nseq = 0, t = 0;
    size_t idlen = strlen(b->node);
    if (!expect(&p, end, "{\"v\":1,\"node\":\"") || (size_t)(end - p) < idlen + 1 ||
        memcmp(p, b->node, idlen) != 0 || p[idlen] != '"') {
        it->skip = true;
        goto out;
    }
    p += idlen + 1;
    if (!expect(&p, end, ",\"nseq\":") || !read_u64(&p, end, &nseq) || nseq != knseq ||
        !expect(&p, end, ",\"time_ms\":") || !read_u64(&p, end, &t) ||
        !expect(&p, end, ",\"txs\":[")) {
        it->skip = true;
        goto out;
    }
    b->nseq = nseq;
    b->time_ms = t;
    struct entry *head = NULL, **tail = &head;
    bool ok = true;
    if (p < end && *p == ']') {
        p++;
    } else {
        for (;;) {
            size_t len;
            if (p >= end || *p != '{' || !object_end(p, (size_t)(end - p), &len)) {
                ok = false;
                break;
            }
            struct entry *en = xcalloc(1, sizeof *en);
            arena_init(&en->arena);
            en->pool = &it->arena;
            buf_init(&en->body);
            ltd_errbuf_clear(&en->eb);
            en->result = tx_parse(en->pool, p, len, 0, &en->tx, &en->eb);
            if (en->result != LTD_OK) {
                en->bad = true;
            } else {
                tx_serialize(&en->tx, &en->body);
                preverify(cl, en);
            }
            *tail = en;
            tail = &en->next;
            p += len;
            if (p < end && *p == ',') {
                p++;
                continue;
            }
            if (p < end && *p == ']') {
                p++;
                break;
            }
            ok = false;
            break;
        }
    }
    if (!ok || !expect(&p, end, "}") || p != end) {
        while (head) {
            struct entry *next = head->next;
            node_entry_free(head);
            head = next;
        }
        it->skip = true;
        goto out;
    }
    b->entries = head;
out:
    if (it->skip)
        cl_log(cl, "skipping malformed log entry %.*s at revision %lld", (int)it->key_len,
               (const char *)it->key, (long long)it->revision);
    free(it->val);
    it->val = NULL;
}

static void *
decoder_main(void *arg)
{
    struct cluster *cl = arg;
    pthread_mutex_lock(&cl->lock);
    while (!cl->stopping) {
        struct citem *it = cl->q_raw;
        if (it == NULL) {
            cond_wait_ms(&cl->work_cv, &cl->lock, 200);
            continue;
        }
        it->state = 1;
        cl->q_raw = it->next;
        pthread_mutex_unlock(&cl->lock);
        decode_item(cl, it);
        pthread_mutex_lock(&cl->lock);
        it->state = 2;
        if (it == cl->q_head)
            pthread_cond_signal(&cl->ready_cv);
    }
    pthread_mutex_unlock(&cl->lock);
    return NULL;
}

/* ---------------------------------------------------------- follower */

/* Node ids with a sub-log, found by stepping over the log prefix one
 * sub-log at a time (a handful of requests, whatever the log's size). */
static enum ltd_err
log_nodes(struct cluster *cl, int64_t rev, char ids[][node_id_text_max], uint32_t *n,
          struct ltd_errbuf *eb)
{
    uint8_t from[cl_key_bytes_max], end[cl_key_bytes_max];
    size_t from_len = strlen(PFX_LOG);
    memcpy(from, PFX_LOG, from_len);
    size_t end_len = etcd_prefix_end(PFX_LOG, strlen(PFX_LOG), end);
    *n = 0;
    while (*n < cl_nodes_max) {
        struct etcd_range_req r = {.key = from,
                                   .key_len = from_len,
                                   .range_end = end,
                                   .range_end_len = end_len,
                                   .limit = 1,
                                   .revision = rev,
                                   .flags = ETCD_RANGE_KEYS_ONLY};
        struct etcd_range_result res;
        enum ltd_err e = etcd_range(cl->etcd, &r, &res, eb);
        if (e)
            return e;
        if (res.kvs_len == 0) {
            etcd_range_result_release(&res);
            break;
        }
        const char *k = (const char *)res.kvs[0].key + strlen(PFX_LOG);
        size_t rest = res.kvs[0].key_len - strlen(PFX_LOG);
        const char *slash = memchr(k, '/', rest);
        size_t idl = slash ? (size_t)(slash - k) : rest;
        if (slash && id_ok(k, idl)) {
            memcpy(ids[*n], k, idl);
            ids[*n][idl] = 0;
            (*n)++;
        }
        /* next: past every key of this sub-log ("log/<id>/" + 1) */
        char pfx[cl_key_bytes_max];
        int pn = snprintf(pfx, sizeof pfx, PFX_LOG "%.*s/", (int)idl, k);
        etcd_range_result_release(&res);
        if (pn <= 0 || (size_t)pn >= sizeof pfx)
            return ltd_fail(eb, LTD_E_ETCD_PROTOCOL, "log key too long");
        from_len = etcd_prefix_end(pfx, (size_t)pn, from);
    }
    return LTD_OK;
}

struct sublog {
    char id[node_id_text_max];
    uint64_t next; /* next nseq to read */
    struct etcd_range_result page;
    size_t at;
    bool done;
};

static enum ltd_err
sublog_fill(struct cluster *cl, struct sublog *s, int64_t rev, struct ltd_errbuf *eb)
{
    etcd_range_result_release(&s->page);
    s->at = 0;
    char from[cl_key_bytes_max], pfx[cl_key_bytes_max];
    size_t fl = log_key(from, sizeof from, s->id, s->next);
    int pn = snprintf(pfx, sizeof pfx, PFX_LOG "%s/", s->id);
    uint8_t end[cl_key_bytes_max];
    size_t end_len = etcd_prefix_end(pfx, (size_t)pn, end);
    /* a pinned revision reads the same on any member that has it: a local
     * (serializable) read is enough, and faster; a member behind the pin
     * says so, and then the leader is asked */
    struct etcd_range_req r = {.key = from,
                               .key_len = fl,
                               .range_end = end,
                               .range_end_len = end_len,
                               .limit = cl_range_page,
                               .revision = rev,
                               .flags = ETCD_RANGE_SERIALIZABLE};
    enum ltd_err e = etcd_range(cl->etcd, &r, &s->page, NULL);
    if (e != LTD_OK) {
        r.flags = 0;
        e = etcd_range(cl->etcd, &r, &s->page, eb);
    }
    if (e == LTD_OK && s->page.kvs_len == 0)
        s->done = true;
    if (e == LTD_OK && s->page.kvs_len > 0) {
        /* continue after the last key read (its last 20 bytes are its nseq) */
        const struct etcd_kv *last = &s->page.kvs[s->page.kvs_len - 1];
        uint64_t k = 0;
        for (size_t i = last->key_len >= 20 ? last->key_len - 20 : 0; i < last->key_len; i++)
            k = k * 10 +
                (uint64_t)(last->key[i] >= '0' && last->key[i] <= '9' ? last->key[i] - '0' : 0);
        s->next = k + 1 > s->next ? k + 1 : s->next + s->page.kvs_len;
    }
    return e;
}

/* §7.5.2: every sub-log is paged at one pinned revision and merged on
 * create_revision, which is the order the watch would have given; then the
 * watch resumes after the pinned revision.  Used after a compaction, and at
 * start-up to catch up (etcd serves ranges about 3x faster than a watch
 * replays history). */
static enum ltd_err
catch_up_ranges(struct cluster *cl, bool compacted, struct ltd_errbuf *eb)
{
    uint8_t end[cl_key_bytes_max];
    size_t end_len = etcd_prefix_end(PFX_LOG, strlen(PFX_LOG), end);
    struct etcd_range_req r0 = {.key = PFX_LOG,
                                .key_len = strlen(PFX_LOG),
                                .range_end = end,
                                .range_end_len = end_len,
                                .flags = ETCD_RANGE_COUNT_ONLY};
    struct etcd_range_result res;
    enum ltd_err e = etcd_range(cl->etcd, &r0, &res, eb);
    if (e)
        return e;
    int64_t pin = res.revision;
    etcd_range_result_release(&res);
    char(*ids)[node_id_text_max] = xcalloc(cl_nodes_max, sizeof *ids);
    uint32_t n_ids = 0;
    if ((e = log_nodes(cl, pin, ids, &n_ids, eb))) {
        free(ids);
        return e;
    }
    struct sublog *subs = xcalloc(n_ids ? n_ids : 1, sizeof *subs);
    pthread_mutex_lock(&cl->lock);
    int64_t after = cl->pushed_rev;
    for (uint32_t i = 0; i < n_ids; i++) {
        memcpy(subs[i].id, ids[i], sizeof subs[i].id);
        subs[i].next = 1;
        for (uint32_t j = 0; j < cl->pos.n; j++)
            if (strcmp(cl->pos.rec[j].id, ids[i]) == 0)
                subs[i].next = cl->pos.rec[j].nseq + 1; /* applied: no need to read */
    }
    pthread_mutex_unlock(&cl->lock);
    free(ids);
    if (compacted)
        cl_log(cl, "log compacted: catching up by ranges of %u sub-logs up to revision %lld", n_ids,
               (long long)pin);
    uint64_t pushed = 0;
    for (uint32_t i = 0; i < n_ids && e == LTD_OK; i++)
        e = sublog_fill(cl, &subs[i], pin, eb);
    while (e == LTD_OK) {
        struct sublog *best = NULL;
        for (uint32_t i = 0; i < n_ids; i++) {
            struct sublog *s = &subs[i];
            if (s->done)
                continue;
            if (s->at == s->page.kvs_len) {
                if ((e = sublog_fill(cl, s, pin, eb)))
                    break;
                if (s->done)
                    continue;
            }
            if (best == NULL ||
                s->page.kvs[s->at].create_revision < best->page.kvs[best->at].create_revision)
                best = s;
        }
        if (e || best == NULL)
            break;
        const struct etcd_kv *kv = &best->page.kvs[best->at++];
        if (kv->create_revision <= after || kv->create_revision != kv->mod_revision)
            continue;
        if (!push_raw(cl, kv->create_revision, kv->key, kv->key_len, kv->value, kv->value_len)) {
            e = ltd_fail(eb, LTD_E_OVERLOAD, "stopping");
            break;
        }
        after = kv->create_revision;
        pushed++;
    }
    for (uint32_t i = 0; i < n_ids; i++)
        etcd_range_result_release(&subs[i].page);
    free(subs);
    if (e == LTD_OK) {
        pthread_mutex_lock(&cl->lock);
        if (cl->pushed_rev < pin)
            cl->pushed_rev = pin; /* everything up to the pin is queued */
        pthread_mutex_unlock(&cl->lock);
        if (compacted || pushed)
            cl_log(cl, "catching up: %llu batches read by ranges up to revision %lld",
                   (unsigned long long)pushed, (long long)pin);
    }
    return e;
}

static void *
follower_main(void *arg)
{
    struct cluster *cl = arg;
    uint8_t end[cl_key_bytes_max];
    size_t end_len = etcd_prefix_end(PFX_LOG, strlen(PFX_LOG), end);
    struct ltd_errbuf eb0;
    ltd_errbuf_clear(&eb0);
    if (catch_up_ranges(cl, false, &eb0) != LTD_OK)
        cl_log(cl, "start-up catch-up by ranges failed (%s): the watch replays instead", eb0.msg);
    pthread_mutex_lock(&cl->lock);
    while (!cl->stopping) {
        int64_t start = cl->pushed_rev + 1;
        cl->watch_end = WATCH_RUNNING;
        pthread_mutex_unlock(&cl->lock);
        struct etcd_watch *w = NULL;
        struct ltd_errbuf eb;
        ltd_errbuf_clear(&eb);
        enum ltd_err e = etcd_watch_start(cl->etcd, PFX_LOG, strlen(PFX_LOG), end, end_len, start,
                                          on_watch, cl, &w, &eb);
        pthread_mutex_lock(&cl->lock);
        if (e) {
            cl_log(cl, "cannot watch the log: %s", eb.msg);
            cond_wait_ms(&cl->fol_cv, &cl->lock, cl_watch_retry_ms);
            continue;
        }
        while (!cl->stopping && cl->watch_end == WATCH_RUNNING)
            cond_wait_ms(&cl->fol_cv, &cl->lock, 1000);
        enum watch_end why = cl->watch_end;
        pthread_mutex_unlock(&cl->lock);
        etcd_watch_stop(w); /* no callback runs after this */
        pthread_mutex_lock(&cl->lock);
        if (cl->stopping)
            break;
        if (why == WATCH_COMPACTED) {
            pthread_mutex_unlock(&cl->lock);
            ltd_errbuf_clear(&eb);
            e = catch_up_ranges(cl, true, &eb);
            pthread_mutex_lock(&cl->lock);
            if (e && !cl->stopping) {
                cl_log(cl, "catch-up by ranges failed: %s; retrying", eb.msg);
                cond_wait_ms(&cl->fol_cv, &cl->lock, cl_watch_retry_ms);
            }
        } else {
            cond_wait_ms(&cl->fol_cv, &cl->lock, cl_watch_retry_ms);
        }
    }
    pthread_mutex_unlock(&cl->lock);
    return NULL;
}

/* ------------------------------------------------------------ applier */

/* Every node checks each sub-log's sequence the same way: a batch whose
 * nseq is not the next of its node's (impossible through the guarded
 * append) is skipped, deterministically. */
static void
check_sequence(struct cluster *cl, struct citem *it)
{
    if (it->skip)
        return;
    struct nseq_rec *r = pos_find(&cl->pos, it->b.node);
    uint64_t want = r ? r->nseq + 1 : 1;
    if (it->b.nseq == want && (r || cl->pos.n < cl_nodes_max))
        return;
    cl_log(cl, "skipping batch %llu of node %s at revision %lld: expected batch %llu",
           (unsigned long long)it->b.nseq, it->b.node, (long long)it->revision,
           (unsigned long long)want);
    while (it->b.entries) {
        struct entry *next = it->b.entries->next;
        node_entry_free(it->b.entries);
        it->b.entries = next;
    }
    it->skip = true;
}

static bool
applier_halted(struct cluster *cl)
{
    struct node_stats s;
    node_stats(cl->n, &s);
    return s.write_failed;
}

struct cluster_batch *
cluster_take(struct cluster *cl)
{
    bool halted = applier_halted(cl);
    pthread_mutex_lock(&cl->lock);
    for (;;) {
        struct entry *list = NULL;
        expire_waiters(cl, &list);
        if (list) {
            pthread_mutex_unlock(&cl->lock);
            answer_all(cl, list);
            pthread_mutex_lock(&cl->lock);
            continue;
        }
        if (cl->stopping) {
            pthread_mutex_unlock(&cl->lock);
            return NULL;
        }
        struct citem *it = cl->q_head;
        if (!halted && it && it->state == 2) {
            cl->q_head = it->next;
            if (cl->q_head == NULL)
                cl->q_tail = NULL;
            cl->q_bytes -= it->bytes;
            pthread_cond_broadcast(&cl->space_cv);
            pthread_mutex_unlock(&cl->lock);
            check_sequence(cl, it);
            return &it->b;
        }
        cond_wait_ms(&cl->ready_cv, &cl->lock, cl_tick_ms);
    }
}

static void
position_text(const struct position *p, uint64_t height, struct buf *out)
{
    buf_addf(out, "{\"batches\":%llu,\"height\":%llu,\"nseq\":{", (unsigned long long)p->batches,
             (unsigned long long)height);
    for (uint32_t i = 0; i < p->n; i++)
        buf_addf(out, "%s\"%s\":%llu", i ? "," : "", p->rec[i].id,
                 (unsigned long long)p->rec[i].nseq);
    buf_addf(out, "},\"revision\":%lld}", (long long)p->revision);
}

/* The position after cb (applier thread only: it alone changes pos). */
static void
position_after(const struct cluster *cl, const struct citem *it, struct position *p)
{
    *p = cl->pos;
    p->revision = it->revision;
    p->batches++;
    if (it->skip)
        return;
    struct nseq_rec *r = pos_find(p, it->b.node);
    if (r == NULL) {
        LTD_ASSERT(p->n < cl_nodes_max);
        r = &p->rec[p->n++];
        snprintf(r->id, sizeof r->id, "%s", it->b.node);
    }
    r->nseq = it->b.nseq;
}

void
cluster_position_json(struct cluster *cl, const struct cluster_batch *cb, struct buf *out)
{
    const struct citem *it = (const struct citem *)cb;
    struct position p;
    position_after(cl, it, &p);
    position_text(&p, cl->n->head.height + 1, out);
}

void
cluster_applied(struct cluster *cl, struct cluster_batch *cb, const struct store_block *b,
                uint32_t n_tx)
{
    struct citem *it = (struct citem *)cb;
    struct position p;
    position_after(cl, it, &p);
    bool own = strcmp(cb->node, cl->id) == 0;
    struct entry *done_list = NULL;
    pthread_mutex_lock(&cl->lock);
    cl->pos = p;
    if (own)
        pthread_cond_signal(&cl->ship_cv); /* the window may be open again */
    if (n_tx > 0) {
        cl->head_height = b->height;
        cl->head_hash = b->hash;
        cl->head_dirty = true;
        pthread_cond_signal(&cl->mon_cv);
    }
    for (struct entry *en = cb->entries; en; en = en->next) {
        if (en->bad)
            continue;
        struct entry *w = wm_get(&cl->map, &en->tx.id);
        if (w == NULL || (en->result != LTD_OK && !(own && w->nseq == cb->nseq)))
            continue;
        detach(cl, w);
        en->done = w->done; /* notify answers it with this occurrence's fate */
        en->arg = w->arg;
        w->done = NULL;
        w->next = done_list;
        done_list = w;
    }
    pthread_cond_broadcast(&cl->sync_cv);
    pthread_mutex_unlock(&cl->lock);
    while (done_list) {
        struct entry *next = done_list->next;
        node_entry_free(done_list);
        done_list = next;
    }
}

void
cluster_batch_free(struct cluster_batch *cb)
{
    if (cb == NULL)
        return;
    struct citem *it = (struct citem *)cb;
    while (cb->entries) {
        struct entry *next = cb->entries->next;
        node_entry_free(cb->entries);
        cb->entries = next;
    }
    arena_release(&it->arena);
    free(it->key);
    free(it->val);
    free(it);
}

/* ------------------------------------------------------------ monitor */

struct reg {
    char id[node_id_text_max];
    struct ltd_pubkey pk;
    char url[cl_url_bytes_max];
};

static bool
parse_reg(const uint8_t *v, size_t n, struct reg *r)
{
    struct arena a;
    arena_init(&a);
    struct cjson *root = NULL;
    bool ok = false;
    memset(r, 0, sizeof *r);
    if (cjson_parse(&a, (const char *)v, n, NULL, &root, NULL) == LTD_OK) {
        const struct cjson *id = get_type(root, "node", CJSON_STRING);
        const struct cjson *pk = get_type(root, "public_key", CJSON_STRING);
        const struct cjson *url = get_type(root, "url", CJSON_STRING);
        if (id && pk && url && id_ok(id->str, id->len) && url->len < cl_url_bytes_max &&
            codec_b58_decode32(pk->str, pk->len, r->pk.b) == LTD_OK) {
            memcpy(r->id, id->str, id->len);
            memcpy(r->url, url->str, url->len);
            ok = true;
        }
    }
    arena_release(&a);
    return ok;
}

struct headrec {
    char id[node_id_text_max];
    uint64_t height;
    struct ltd_hash hash;
    struct ltd_sig sig;
};

static bool
parse_head(const uint8_t *v, size_t n, struct headrec *h)
{
    struct arena a;
    arena_init(&a);
    struct cjson *root = NULL;
    bool ok = false;
    memset(h, 0, sizeof *h);
    if (cjson_parse(&a, (const char *)v, n, NULL, &root, NULL) == LTD_OK) {
        const struct cjson *id = get_type(root, "node", CJSON_STRING);
        const struct cjson *hash = get_type(root, "hash", CJSON_STRING);
        const struct cjson *sig = get_type(root, "sig", CJSON_STRING);
        if (id && hash && sig && id_ok(id->str, id->len) && hash->len == 64 && sig->len == 128 &&
            get_u64(root, "height", &h->height) && hex_decode(h->hash.b, 32, hash->str, 64) &&
            hex_decode(h->sig.b, 64, sig->str, 128)) {
            memcpy(h->id, id->str, id->len);
            ok = true;
        }
    }
    arena_release(&a);
    return ok;
}

static void
head_value(const struct cluster *cl, uint64_t height, const struct ltd_hash *hash, struct buf *out)
{
    char msg[256], hex[65], sighex[129];
    size_t mn = head_message(msg, sizeof msg, cl->n->genesis.chain_id, height, hash);
    struct ltd_sig sig;
    codec_ed25519_sign(&cl->seed, (const uint8_t *)msg, mn, &sig);
    hex_encode(hex, hash->b, 32);
    hex_encode(sighex, sig.b, 64);
    buf_addf(out,
             "{\"hash\":\"%s\",\"height\":%llu,\"node\":\"%s\",\"sig\":\"%s\",\"time_ms\":%llu}",
             hex, (unsigned long long)height, cl->id, sighex, (unsigned long long)ltd_now_ms());
}

static bool
publish_head(struct cluster *cl, uint64_t height, const struct ltd_hash *hash)
{
    struct buf v;
    buf_init(&v);
    head_value(cl, height, hash, &v);
    char key[cl_key_bytes_max];
    int kn = snprintf(key, sizeof key, PFX_HEADS "%s", cl->id);
    bool ok = etcd_put(cl->fast, key, (size_t)kn, v.p, v.len, NULL, NULL) == LTD_OK;
    buf_release(&v);
    return ok;
}

/* A linearizable read needs a quorum (read index), so it proves one. */
static bool
probe(struct cluster *cl)
{
    struct etcd_range_result res;
    enum ltd_err e = etcd_get(cl->fast, KEY_GENESIS, strlen(KEY_GENESIS), 0, &res, NULL);
    etcd_range_result_release(&res);
    return e == LTD_OK;
}

static enum ltd_err
range_prefix(struct etcd_client *c, const char *pfx, struct etcd_range_result *res,
             struct ltd_errbuf *eb)
{
    uint8_t end[cl_key_bytes_max];
    size_t end_len = etcd_prefix_end(pfx, strlen(pfx), end);
    struct etcd_range_req r = {.key = pfx,
                               .key_len = strlen(pfx),
                               .range_end = end,
                               .range_end_len = end_len,
                               .limit = cl_nodes_max};
    return etcd_range(c, &r, res, eb);
}

static void
add_divergence(struct cluster *cl, const char *node, uint64_t height, const struct ltd_hash *theirs,
               const struct ltd_hash *mine, const char *message)
{
    for (uint32_t i = 0; i < cl->n_div; i++) {
        struct divergence *d = &cl->div[i];
        if (strcmp(d->node, node) == 0 && strcmp(d->message, message) == 0) {
            d->last_height = height;
            d->count++;
            return;
        }
    }
    if (cl->n_div == cl_divergences_max)
        return;
    struct divergence *d = &cl->div[cl->n_div++];
    memset(d, 0, sizeof *d);
    snprintf(d->node, sizeof d->node, "%s", node);
    d->height = d->last_height = height;
    d->count = 1;
    if (theirs)
        d->hash = *theirs;
    if (mine)
        d->local_hash = *mine;
    snprintf(d->message, sizeof d->message, "%s", message);
    char hex[65];
    hex_encode(hex, theirs ? theirs->b : d->hash.b, 32);
    cl_log(cl, "DIVERGENCE: node %s at height %llu: %s (their hash %.16s...)", node,
           (unsigned long long)height, message, hex);
}

/* Compares the samples of peers we have reached (lock held for the table;
 * the store reads are on the reader pool). */
static void
compare_peers(struct cluster *cl)
{
    for (uint32_t i = 0; i < cl->n_peers; i++) {
        struct peer *p = &cl->peers[i];
        if (!p->pend || p->pend_height > cl->head_height || strcmp(p->id, cl->id) == 0)
            continue;
        struct store_block blk;
        if (store_block_get(node_store(cl->n), p->pend_height, &blk, NULL) != LTD_OK)
            continue;
        p->pend = false;
        p->compared_height = p->pend_height;
        p->compared_hash = p->pend_hash;
        if (memcmp(blk.hash.b, p->pend_hash.b, 32) == 0) {
            p->agrees = 1;
        } else {
            p->agrees = 0;
            add_divergence(cl, p->id, p->pend_height, &p->pend_hash, &blk.hash,
                           "block hash differs from this node's at the same height");
        }
    }
}

static void
check_peers(struct cluster *cl)
{
    struct etcd_range_result regs, heads;
    if (range_prefix(cl->fast, PFX_NODES, &regs, NULL) != LTD_OK)
        return;
    if (range_prefix(cl->fast, PFX_HEADS, &heads, NULL) != LTD_OK) {
        etcd_range_result_release(&regs);
        return;
    }
    struct peer *np = xcalloc(cl_nodes_max, sizeof *np);
    uint32_t nn = 0;
    for (size_t i = 0; i < regs.kvs_len && nn < cl_nodes_max; i++) {
        struct reg r;
        if (!parse_reg(regs.kvs[i].value, regs.kvs[i].value_len, &r))
            continue;
        struct peer *p = &np[nn++];
        memcpy(p->id, r.id, sizeof p->id);
        p->pk = r.pk;
        memcpy(p->url, r.url, sizeof p->url);
        p->agrees = -1;
    }
    pthread_mutex_lock(&cl->lock);
    for (uint32_t i = 0; i < nn; i++) {
        struct peer *p = &np[i];
        for (uint32_t j = 0; j < cl->n_peers; j++) {
            const struct peer *o = &cl->peers[j];
            if (strcmp(o->id, p->id) != 0 || memcmp(o->pk.b, p->pk.b, 32) != 0)
                continue;
            p->agrees = o->agrees;
            p->compared_height = o->compared_height;
            p->compared_hash = o->compared_hash;
            p->pend = o->pend;
            p->pend_height = o->pend_height;
            p->pend_hash = o->pend_hash;
        }
        for (size_t k = 0; k < heads.kvs_len; k++) {
            struct headrec h;
            if (!parse_head(heads.kvs[k].value, heads.kvs[k].value_len, &h) ||
                strcmp(h.id, p->id) != 0)
                continue;
            char msg[256];
            size_t mn = head_message(msg, sizeof msg, cl->n->genesis.chain_id, h.height, &h.hash);
            p->has_head = true;
            p->height = h.height;
            p->hash = h.hash;
            p->sig_ok = codec_ed25519_verify(&p->pk, (const uint8_t *)msg, mn, &h.sig);
            if (strcmp(p->id, cl->id) == 0)
                continue;
            if (!p->sig_ok)
                add_divergence(cl, p->id, h.height, &h.hash, NULL,
                               "head signature does not verify with the registered key");
            else if (!p->pend && (h.height != p->compared_height ||
                                  memcmp(h.hash.b, p->compared_hash.b, 32) != 0)) {
                p->pend = true; /* compared once this node reaches that height */
                p->pend_height = h.height;
                p->pend_hash = h.hash;
            }
        }
    }
    memcpy(cl->peers, np, sizeof *np * nn);
    cl->n_peers = nn;
    cl->peers_checked_ms = ltd_now_ms();
    compare_peers(cl);
    pthread_mutex_unlock(&cl->lock);
    free(np);
    etcd_range_result_release(&regs);
    etcd_range_result_release(&heads);
}

static void *
monitor_main(void *arg)
{
    struct cluster *cl = arg;
    uint64_t next_probe = 0, next_check = 0, last_pub = 0;
    pthread_mutex_lock(&cl->lock);
    while (!cl->stopping) {
        uint64_t now = mono_ms();
        struct entry *list = NULL;
        if (cl->head_dirty && now >= last_pub + cl_head_publish_ms) {
            uint64_t h = cl->head_height;
            struct ltd_hash hash = cl->head_hash;
            cl->head_dirty = false;
            pthread_mutex_unlock(&cl->lock);
            bool ok = publish_head(cl, h, &hash);
            pthread_mutex_lock(&cl->lock);
            if (!ok)
                cl->head_dirty = true;
            last_pub = now;
            continue;
        }
        if (now >= next_probe) {
            pthread_mutex_unlock(&cl->lock);
            bool ok = probe(cl);
            pthread_mutex_lock(&cl->lock);
            if (ok) {
                cl->probe_fails = 0;
                set_health(cl, true, NULL, &list);
            } else if (++cl->probe_fails >= cl_probe_fails_max) {
                set_health(cl, false, "linearizable reads time out", &list);
            }
            next_probe = mono_ms() + (cl->healthy ? cl_probe_ms : cl_probe_unhealthy_ms);
            if (list) {
                pthread_mutex_unlock(&cl->lock);
                answer_all(cl, list);
                pthread_mutex_lock(&cl->lock);
            }
            continue;
        }
        if (now >= next_check) {
            pthread_mutex_unlock(&cl->lock);
            check_peers(cl);
            pthread_mutex_lock(&cl->lock);
            next_check = mono_ms() + cl_peers_check_ms;
            continue;
        }
        compare_peers(cl);
        uint64_t next = next_probe < next_check ? next_probe : next_check;
        if (cl->head_dirty && last_pub + cl_head_publish_ms < next)
            next = last_pub + cl_head_publish_ms;
        uint64_t wait = next > now ? next - now : 1;
        cond_wait_ms(&cl->mon_cv, &cl->lock, wait > 100 ? 100 : wait);
    }
    pthread_mutex_unlock(&cl->lock);
    return NULL;
}

/* ------------------------------------------------------------ status */

void
cluster_status_json(struct cluster *cl, struct buf *out)
{
    char hex[65];
    pthread_mutex_lock(&cl->lock);
    const char *etcd = cl->fatal ? "stopped" : cl->healthy ? "ok" : "unavailable";
    buf_addf(out,
             "{\"applied_revision\":%lld,\"etcd\":\"%s\",\"log_batches_applied\":%llu,"
             "\"next_nseq\":%llu,\"node_id\":\"%s\",\"waiting\":%zu,",
             (long long)cl->pos.revision, etcd, (unsigned long long)cl->pos.batches,
             (unsigned long long)cl->next_nseq, cl->id, cl->map.n);
    if (cl->fatal) {
        buf_adds(out, "\"stopped_because\":\"");
        json_text(out, cl->fatal_msg);
        buf_adds(out, "\",");
    }
    int agree = 1, differ = 0;
    buf_adds(out, "\"nodes\":[");
    for (uint32_t i = 0; i < cl->n_peers; i++) {
        const struct peer *p = &cl->peers[i];
        bool self = strcmp(p->id, cl->id) == 0;
        char pk[48];
        codec_b58_encode32(p->pk.b, pk);
        hex_encode(hex, p->hash.b, 32);
        buf_addf(out, "%s{\"agrees\":%s,\"node\":\"%s\",\"public_key\":\"%s\",\"self\":%s,",
                 i ? "," : "",
                 self            ? "true"
                 : p->agrees < 0 ? "null"
                 : p->agrees     ? "true"
                                 : "false",
                 p->id, pk, self ? "true" : "false");
        if (self) {
            hex_encode(hex, cl->head_hash.b, 32);
            buf_addf(out, "\"hash\":\"%s\",\"height\":%llu,\"signature_ok\":true,", hex,
                     (unsigned long long)cl->head_height);
        } else if (p->has_head) {
            buf_addf(out, "\"hash\":\"%s\",\"height\":%llu,\"signature_ok\":%s,", hex,
                     (unsigned long long)p->height, p->sig_ok ? "true" : "false");
        }
        buf_adds(out, "\"url\":\"");
        json_text(out, p->url);
        buf_adds(out, "\"}");
        if (!self && p->agrees == 1)
            agree++;
        if (!self && (p->agrees == 0 || (p->has_head && !p->sig_ok)))
            differ++;
    }
    buf_adds(out, "],\"divergences\":[");
    for (uint32_t i = 0; i < cl->n_div; i++) {
        const struct divergence *d = &cl->div[i];
        char lh[65];
        hex_encode(hex, d->hash.b, 32);
        hex_encode(lh, d->local_hash.b, 32);
        buf_addf(out,
                 "%s{\"count\":%llu,\"hash\":\"%s\",\"height\":%llu,\"last_height\":%llu,"
                 "\"local_hash\":\"%s\",\"message\":\"%s\",\"node\":\"%s\"}",
                 i ? "," : "", (unsigned long long)d->count, hex, (unsigned long long)d->height,
                 (unsigned long long)d->last_height, lh, d->message, d->node);
    }
    /* who is probably wrong: the side with fewer nodes agreeing */
    buf_adds(out, "],\"suspects\":[");
    bool first = true;
    if (differ > 0 && differ >= agree) {
        buf_addf(out, "\"%s\"", cl->id);
        first = false;
    }
    if (differ > 0 && agree >= differ) {
        for (uint32_t i = 0; i < cl->n_peers; i++) {
            const struct peer *p = &cl->peers[i];
            if (strcmp(p->id, cl->id) == 0 || !(p->agrees == 0 || (p->has_head && !p->sig_ok)))
                continue;
            buf_addf(out, "%s\"%s\"", first ? "" : ",", p->id);
            first = false;
        }
    }
    buf_addf(out, "],\"peers_checked_ms\":%llu}", (unsigned long long)cl->peers_checked_ms);
    pthread_mutex_unlock(&cl->lock);
}

void
cluster_validators_json(struct cluster *cl, struct buf *out)
{
    pthread_mutex_lock(&cl->lock);
    buf_addc(out, '[');
    for (uint32_t i = 0; i < cl->n_peers; i++) {
        const struct peer *p = &cl->peers[i];
        buf_addf(out,
                 "%s{\"node_id\":\"%s\",\"public_key\":{\"type\":\"ed25519-base64\",\"value\":\"",
                 i ? "," : "", p->id);
        codec_b64_encode(p->pk.b, 32, out);
        buf_adds(out, "\"},\"url\":\"");
        json_text(out, p->url);
        buf_adds(out, "\",\"voting_power\":10}");
    }
    buf_addc(out, ']');
    pthread_mutex_unlock(&cl->lock);
}

/* ------------------------------------------------------------- joining */

/* The position stored with the last block (none: from the start). */
static enum ltd_err
position_load(struct cluster *cl, struct ltd_errbuf *eb)
{
    struct buf raw;
    buf_init(&raw);
    memset(&cl->pos, 0, sizeof cl->pos);
    enum ltd_err e = store_meta_get(node_store(cl->n), "cluster_pos", &raw, eb);
    if (e == LTD_E_NOT_FOUND) {
        buf_release(&raw);
        ltd_errbuf_clear(eb);
        return LTD_OK;
    }
    struct arena a;
    arena_init(&a);
    struct cjson *root = NULL;
    uint64_t height = 0, rev = 0;
    const struct cjson *ns = NULL;
    if (e == LTD_OK &&
        (cjson_parse(&a, raw.p, raw.len, NULL, &root, NULL) != LTD_OK ||
         !get_u64(root, "batches", &cl->pos.batches) || !get_u64(root, "height", &height) ||
         !get_u64(root, "revision", &rev) || (ns = get_type(root, "nseq", CJSON_OBJECT)) == NULL ||
         ns->len > cl_nodes_max))
        e = ltd_fail(eb, LTD_E_STORE_CORRUPT, "the stored cluster position is malformed");
    for (uint32_t i = 0; e == LTD_OK && ns != NULL && i < ns->len; i++) {
        const struct cjson_member *m = &ns->members[i];
        struct nseq_rec *r = &cl->pos.rec[cl->pos.n++];
        const struct cjson *v = m->val;
        if (!id_ok(m->key, m->klen) || v->type != CJSON_INT || v->len > 19 || v->str[0] == '-') {
            e = ltd_fail(eb, LTD_E_STORE_CORRUPT, "the stored cluster position is malformed");
            break;
        }
        memcpy(r->id, m->key, m->klen);
        r->nseq = strtoull(v->str, NULL, 10);
    }
    cl->pos.revision = (int64_t)rev;
    if (e == LTD_OK && height != cl->n->head.height)
        e = ltd_fail(eb, LTD_E_STORE_CORRUPT,
                     "the stored cluster position is for block %llu but the head is block %llu",
                     (unsigned long long)height, (unsigned long long)cl->n->head.height);
    arena_release(&a);
    buf_release(&raw);
    return e;
}

/* Genesis put-if-absent / compare; registry; next nseq.  Idempotent, so
 * an unknown outcome is simply tried again. */
static enum ltd_err
join(struct cluster *cl, struct ltd_errbuf *eb)
{
    struct buf g;
    buf_init(&g);
    node_genesis_text(&cl->n->genesis, &g);
    struct etcd_append_result ar;
    enum ltd_err e =
        etcd_append(cl->fast, NULL, 0, KEY_GENESIS, strlen(KEY_GENESIS), g.p, g.len, &ar, eb);
    buf_release(&g);
    if (e)
        return e;
    if (ar.outcome == ETCD_APPEND_EXISTS_OTHER) {
        struct etcd_range_result res;
        char other[65] = "?";
        if (etcd_get(cl->fast, KEY_GENESIS, strlen(KEY_GENESIS), 0, &res, NULL) == LTD_OK) {
            const char *c = strstr((const char *)res.kvs[0].value, "\"chain_id\":\"");
            if (c && strlen(c) >= 12 + 64)
                snprintf(other, sizeof other, "%.64s", c + 12);
        }
        etcd_range_result_release(&res);
        return ltd_fail(eb, LTD_E_CLUSTER_GENESIS,
                        "this node's genesis (chain %.16s...) is not the cluster's (chain "
                        "%.16s... in etcd): a node joins with `ltdrs init --genesis FILE` from "
                        "a member's genesis.json",
                        cl->n->genesis.chain_id, other);
    }
    if (ar.outcome != ETCD_APPEND_APPENDED && ar.outcome != ETCD_APPEND_EXISTS_SAME)
        return ltd_fail(eb, LTD_E_ETCD_PROTOCOL, "genesis put-if-absent: odd outcome %d",
                        (int)ar.outcome);
    /* registry */
    char key[cl_key_bytes_max], pk[48];
    int kn = snprintf(key, sizeof key, PFX_NODES "%s", cl->id);
    codec_b58_encode32(cl->pub.b, pk);
    struct etcd_range_result res;
    e = etcd_get(cl->fast, key, (size_t)kn, 0, &res, eb);
    bool same = false;
    if (e == LTD_OK) {
        struct reg r;
        if (parse_reg(res.kvs[0].value, res.kvs[0].value_len, &r) &&
            memcmp(r.pk.b, cl->pub.b, 32) != 0) {
            etcd_range_result_release(&res);
            return ltd_fail(eb, LTD_E_ETCD_LOG_CONFLICT,
                            "node id '%s' is registered in etcd with another key: pick another "
                            "--node-id",
                            cl->id);
        }
        same = strcmp(r.url, cl->url) == 0;
    } else if (e != LTD_E_NOT_FOUND) {
        return e;
    }
    etcd_range_result_release(&res);
    ltd_errbuf_clear(eb);
    if (!same) {
        struct buf v;
        buf_init(&v);
        buf_addf(&v, "{\"node\":\"%s\",\"public_key\":\"%s\",\"url\":\"", cl->id, pk);
        json_text(&v, cl->url);
        buf_adds(&v, "\"}");
        e = etcd_put(cl->fast, key, (size_t)kn, v.p, v.len, NULL, eb);
        buf_release(&v);
        if (e)
            return e;
    }
    /* where this node's sub-log ends */
    uint64_t count = 0;
    if ((e = own_count(cl, cl->fast, &count, eb)))
        return e;
    struct nseq_rec *r = pos_find(&cl->pos, cl->id);
    if (r && r->nseq > count)
        return ltd_fail(eb, LTD_E_ETCD_LOG_GAP,
                        "etcd holds %llu batches of this node but %llu were applied here: etcd "
                        "lost its data, or it is another cluster",
                        (unsigned long long)count, (unsigned long long)r->nseq);
    cl->next_nseq = count + 1;
    return LTD_OK;
}

static void
cluster_release(struct cluster *cl)
{
    etcd_client_free(cl->etcd);
    etcd_client_free(cl->fast);
    pthread_mutex_destroy(&cl->lock);
    pthread_cond_destroy(&cl->ship_cv);
    pthread_cond_destroy(&cl->work_cv);
    pthread_cond_destroy(&cl->space_cv);
    pthread_cond_destroy(&cl->ready_cv);
    pthread_cond_destroy(&cl->mon_cv);
    pthread_cond_destroy(&cl->sync_cv);
    pthread_cond_destroy(&cl->fol_cv);
    codec_wipe(&cl->seed, sizeof cl->seed);
    free(cl->map.slot);
    free(cl);
}

enum ltd_err
cluster_open(struct node *n, struct cluster **out, struct ltd_errbuf *eb)
{
    *out = NULL;
    const struct node_config *cfg = &n->cfg;
    struct cluster *cl = xcalloc(1, sizeof *cl);
    cl->n = n;
    cl->seed = cfg->node_seed;
    codec_ed25519_seed_pubkey(&cl->seed, &cl->pub);
    if (cfg->node_id) {
        snprintf(cl->id, sizeof cl->id, "%s", cfg->node_id);
    } else {
        hex_encode(cl->id, cl->pub.b, 8);
    }
    snprintf(cl->url, sizeof cl->url, "%s", cfg->advertise_url ? cfg->advertise_url : "");
    cl->queue_max = cfg->queue_max ? cfg->queue_max : 1;
    cl->batch_wait_ms = cfg->batch_wait_ms;
    cl->healthy = true;
    cl->n_decoders = cfg->decoders < 1                 ? 1
                     : cfg->decoders > cl_decoders_max ? cl_decoders_max
                                                       : cfg->decoders;
    pthread_mutex_init(&cl->lock, NULL);
    cond_init_mono(&cl->ship_cv);
    cond_init_mono(&cl->work_cv);
    cond_init_mono(&cl->space_cv);
    cond_init_mono(&cl->ready_cv);
    cond_init_mono(&cl->mon_cv);
    cond_init_mono(&cl->sync_cv);
    cond_init_mono(&cl->fol_cv);
    enum ltd_err e = LTD_OK;
    if (!id_ok(cl->id, strlen(cl->id))) {
        e = ltd_fail(eb, LTD_E_USAGE, "node id '%s': use 1-63 of [0-9a-z_-]", cl->id);
        goto fail;
    }
    struct etcd_config ec;
    etcd_config_init(&ec);
    ec.endpoints = cfg->etcd;
    if (cfg->watch_liveness_ms)
        ec.watch_liveness_ms = cfg->watch_liveness_ms;
    if ((e = etcd_client_new(&ec, &cl->etcd, eb)))
        goto fail;
    ec.request_timeout_ms = cl_fast_timeout_ms;
    ec.connect_timeout_ms = 500;
    if ((e = etcd_client_new(&ec, &cl->fast, eb)))
        goto fail;
    if ((e = position_load(cl, eb)))
        goto fail;
    cl->pushed_rev = cl->pos.revision;
    cl->head_height = n->head.height;
    cl->head_hash = n->head.hash;
    cl->head_dirty = true;
    /* etcd may be restarting too: wait a little for a quorum */
    uint64_t until = mono_ms() + cl_join_wait_ms;
    for (;;) {
        ltd_errbuf_clear(eb);
        e = join(cl, eb);
        if (e != LTD_E_HTTP_TIMEOUT && e != LTD_E_IO)
            break;
        if (mono_ms() >= until) {
            e = ltd_fail(eb, LTD_E_ETCD_UNAVAILABLE, "cannot reach an etcd quorum at %s: %s",
                         cfg->etcd, eb->msg);
            break;
        }
        struct timespec ts = {0, 500 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (e)
        goto fail;
    cl_log(cl,
           "joined: chain %.16s..., log applied up to revision %lld (%llu batches), next "
           "batch %llu",
           n->genesis.chain_id, (long long)cl->pos.revision, (unsigned long long)cl->pos.batches,
           (unsigned long long)cl->next_nseq);
    check_peers(cl); /* the validators list is complete from the start */
    for (uint32_t i = 0; i < cl->n_decoders; i++)
        LTD_ASSERT(pthread_create(&cl->decoders[i], NULL, decoder_main, cl) == 0);
    LTD_ASSERT(pthread_create(&cl->follower, NULL, follower_main, cl) == 0);
    LTD_ASSERT(pthread_create(&cl->shipper, NULL, shipper_main, cl) == 0);
    LTD_ASSERT(pthread_create(&cl->monitor, NULL, monitor_main, cl) == 0);
    cl->threads_started = true;
    *out = cl;
    return LTD_OK;
fail:
    cluster_release(cl);
    return e;
}

void
cluster_stop(struct cluster *cl)
{
    pthread_mutex_lock(&cl->lock);
    cl->stopping = true;
    pthread_cond_broadcast(&cl->ship_cv);
    pthread_cond_broadcast(&cl->work_cv);
    pthread_cond_broadcast(&cl->space_cv);
    pthread_cond_broadcast(&cl->ready_cv);
    pthread_cond_broadcast(&cl->mon_cv);
    pthread_cond_broadcast(&cl->sync_cv);
    pthread_cond_broadcast(&cl->fol_cv);
    bool started = cl->threads_started;
    cl->threads_started = false;
    pthread_mutex_unlock(&cl->lock);
    if (!started)
        return;
    pthread_join(cl->follower, NULL);
    pthread_join(cl->shipper, NULL);
    pthread_join(cl->monitor, NULL);
    for (uint32_t i = 0; i < cl->n_decoders; i++)
        pthread_join(cl->decoders[i], NULL);
}

void
cluster_free(struct cluster *cl)
{
    if (cl == NULL)
        return;
    /* Waiters left: a sent transaction may be in the log (504: look it up);
     * an unsent one is not (503). */
    struct entry *list = NULL;
    for (size_t i = 0; i < cl->map.cap; i++) {
        struct entry *w = cl->map.slot[i];
        if (w == NULL || w == WM_TOMB)
            continue;
        cl->map.slot[i] = NULL;
        if (w->nseq == 0)
            answer_add(&list, w, LTD_E_ETCD_UNAVAILABLE,
                       "transaction %s was not sent: the node is stopping", w->tx.id_hex);
        else
            answer_add(&list, w, LTD_E_HTTP_TIMEOUT,
                       "transaction %s was sent to the ordering log but not applied before the "
                       "node stopped; look it up later",
                       w->tx.id_hex);
    }
    cl->map.n = 0;
    answer_all(cl, list);
    while (cl->q_head) {
        struct citem *it = cl->q_head;
        cl->q_head = it->next;
        cluster_batch_free(&it->b);
    }
    cluster_release(cl);
}

/* ------------------------------------------------ verify --cluster */

enum ltd_err
node_verify_cluster(const char *data_dir, const char *etcd, const char *node_id,
                    struct node_cluster_report *rep, struct ltd_errbuf *eb)
{
    codec_init();
    rep->nodes = rep->compared = rep->divergent = 0;
    rep->self[0] = 0;
    buf_init(&rep->text);
    if (node_id)
        snprintf(rep->self, sizeof rep->self, "%s", node_id);
    struct store_config sc = {
        .dir = data_dir, .sync_full = true, .cache_mib = 16, .readonly = true};
    struct store *st = NULL;
    struct etcd_client *c = NULL;
    struct etcd_range_result regs, heads, gen;
    memset(&regs, 0, sizeof regs);
    memset(&heads, 0, sizeof heads);
    memset(&gen, 0, sizeof gen);
    struct buf raw;
    buf_init(&raw);
    char chain[65] = "";
    enum ltd_err e = store_open(&sc, &st, eb);
    if (e)
        goto out;
    struct store_block head;
    if ((e = store_meta_get(st, "genesis", &raw, eb)) || (e = store_head(st, &head, eb)))
        goto out;
    const char *cid = strstr(raw.p, "\"chain_id\":\"");
    if (cid == NULL || strlen(cid) < 12 + 64) {
        e = ltd_fail(eb, LTD_E_STORE_CORRUPT, "genesis record is malformed");
        goto out;
    }
    memcpy(chain, cid + 12, 64);
    struct etcd_config ec;
    etcd_config_init(&ec);
    ec.endpoints = etcd;
    ec.request_timeout_ms = 5000;
    if ((e = etcd_client_new(&ec, &c, eb)))
        goto out;
    if ((e = etcd_get(c, KEY_GENESIS, strlen(KEY_GENESIS), 0, &gen, eb)))
        goto out;
    if (gen.kvs[0].value_len != raw.len || memcmp(gen.kvs[0].value, raw.p, raw.len) != 0) {
        e = ltd_fail(eb, LTD_E_CLUSTER_GENESIS,
                     "the data directory's genesis is not the cluster's: nothing to compare");
        goto out;
    }
    if ((e = range_prefix(c, PFX_NODES, &regs, eb)) || (e = range_prefix(c, PFX_HEADS, &heads, eb)))
        goto out;
    char hex[65], lhex[65];
    hex_encode(lhex, head.hash.b, 32);
    buf_addf(&rep->text, "this copy (%s%s%s): height %llu hash %s\n", data_dir,
             rep->self[0] ? ", node " : "", rep->self, (unsigned long long)head.height, lhex);
    uint32_t agree = 0, differ = 0;
    for (size_t i = 0; i < regs.kvs_len; i++) {
        struct reg r;
        if (!parse_reg(regs.kvs[i].value, regs.kvs[i].value_len, &r))
            continue;
        rep->nodes++;
        bool self = strcmp(r.id, rep->self) == 0;
        struct headrec h;
        bool found = false;
        for (size_t k = 0; k < heads.kvs_len && !found; k++)
            found = parse_head(heads.kvs[k].value, heads.kvs[k].value_len, &h) &&
                    strcmp(h.id, r.id) == 0;
        if (!found) {
            buf_addf(&rep->text, "node %s: no head published yet\n", r.id);
            continue;
        }
        char msg[256];
        size_t mn = head_message(msg, sizeof msg, chain, h.height, &h.hash);
        hex_encode(hex, h.hash.b, 32);
        if (!codec_ed25519_verify(&r.pk, (const uint8_t *)msg, mn, &h.sig)) {
            rep->divergent++;
            differ++;
            buf_addf(&rep->text,
                     "node %s: DIVERGES at height %llu: its head signature does not verify with "
                     "its registered key\n",
                     r.id, (unsigned long long)h.height);
            continue;
        }
        if (h.height > head.height) {
            buf_addf(&rep->text,
                     "node %s: height %llu hash %.16s... is ahead of this copy: not compared\n",
                     r.id, (unsigned long long)h.height, hex);
            continue;
        }
        struct store_block b;
        if ((e = store_block_get(st, h.height, &b, eb)))
            goto out;
        rep->compared++;
        if (memcmp(b.hash.b, h.hash.b, 32) == 0) {
            if (!self)
                agree++;
            buf_addf(&rep->text, "node %s%s: height %llu hash %.16s... agrees with this copy\n",
                     r.id, self ? " (this node)" : "", (unsigned long long)h.height, hex);
        } else {
            rep->divergent++;
            differ++;
            hex_encode(lhex, b.hash.b, 32);
            buf_addf(&rep->text,
                     "node %s%s: DIVERGES at height %llu: its hash %.16s... differs from this "
                     "copy's %.16s...\n",
                     r.id, self ? " (this node)" : "", (unsigned long long)h.height, hex, lhex);
        }
    }
    if (rep->divergent == 0)
        buf_addf(&rep->text, "ok: %u nodes, %u heads compared, no divergence\n", rep->nodes,
                 rep->compared);
    else if (differ > agree && rep->self[0])
        buf_addf(&rep->text,
                 "DIVERGENCE: most nodes differ from this copy: this node (%s) is probably the "
                 "one that diverged\n",
                 rep->self);
    else
        buf_addf(&rep->text, "DIVERGENCE: %u of %u nodes differ from this copy\n", rep->divergent,
                 rep->nodes);
out:
    etcd_range_result_release(&regs);
    etcd_range_result_release(&heads);
    etcd_range_result_release(&gen);
    etcd_client_free(c);
    buf_release(&raw);
    store_close(st);
    return e;
}

/*
 * store_fts.c - the full-text index (FTS5 over the string values of asset
 * data and metadata), kept off the commit path.
 *
 * The index lives in its own file, search.db, written by one indexer
 * thread in large transactions.  The applier hands over the text of each
 * transaction it writes (store_fts_add, from the parse it already has);
 * after the block commits the texts join a queue (store_fts_committed)
 * and the indexer drains it.  search.db records how far it got (indexed
 * seq) in the same transaction as the index rows, so after a crash, or
 * when the queue overflowed, the indexer reads the missing transactions
 * back from ledger.db.  The ledger is the truth; search.db can be deleted
 * at any time and is rebuilt.
 *
 * A search first waits until every transaction committed before it is
 * indexed (store_fts_wait), so a client that posted in commit mode and
 * then searches finds its transaction, as with BigchainDB.
 *
 * Reader connections ATTACH search.db as "s" (store_fts_attach).
 */
#include "store_int.h"

#include "cjson.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

enum {
    fts_queue_bytes_max = 64 * 1024 * 1024, /* texts waiting; beyond, reread from the ledger */
    fts_batch_txs_max = 20000,              /* transactions per catch-up transaction */
    fts_wait_ms = 10000,                    /* longest a search waits for the indexer */
    fts_idle_ms = 1000,                     /* indexer wake-up without work */
    fts_round_txs_min = 5000,               /* a round starts with this many waiting, */
    fts_delay_ms = 200,                     /* or when the oldest waited this long */
    fts_retry_s = 1,                        /* pause after a failed round */
    fts_nice = 5,                           /* the indexer thread's nice value */
};

/* One committed block's texts: records of (seq u64, kind u8, len u32, text). */
struct fts_block {
    struct fts_block *next;
    uint64_t first_seq, last_seq;
    struct buf recs;
};

struct store_fts {
    char *path;        /* search.db */
    char *ledger_path; /* ledger.db, read back when texts are missing */
    pthread_t thread;
    bool started;
    pthread_mutex_t lock;
    pthread_cond_t wake, indexed_cv;
    bool stop;
    uint64_t committed;       /* last committed seq */
    uint64_t indexed;         /* last seq in search.db */
    uint64_t behind_since_ns; /* when committed last moved past indexed */
    int searchers;            /* searches waiting for the indexer */
    struct fts_block *head, *tail;
    size_t queued_bytes;
    struct buf open_recs; /* the applier's open block (applier only) */
    struct buf spare;     /* a drained block's buffer, for the next block */
    uint64_t open_first;  /* its first seq, when open_any */
    bool open_any;
    enum ltd_err failed; /* the last round failed with this (retried) */
    char failed_msg[errmsg_bytes_max];
};

static const char fts_schema[] =
    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS fts_state(k TEXT PRIMARY KEY, v INTEGER NOT NULL);"
    "CREATE VIRTUAL TABLE IF NOT EXISTS fts_asset USING fts5(text, content='',"
    "  tokenize='porter unicode61 remove_diacritics 2');"
    "CREATE VIRTUAL TABLE IF NOT EXISTS fts_meta USING fts5(text, content='',"
    "  tokenize='porter unicode61 remove_diacritics 2');"
    /* merge 16 segments at a time instead of 4: about a quarter less work
     * per insert (measured 25 -> 19.5 us per 700-byte record in batches of
     * 2,000), a few more segments for a query to read */
    "INSERT INTO fts_asset(fts_asset, rank) VALUES ('automerge', 16);"
    "INSERT INTO fts_meta(fts_meta, rank) VALUES ('automerge', 16);"
    /* and keep up to 16 MiB of new terms in memory before writing a
     * segment (default 1 MiB): fewer, larger segments to merge */
    "INSERT INTO fts_asset(fts_asset, rank) VALUES ('hashsize', 16777216);"
    "INSERT INTO fts_meta(fts_meta, rank) VALUES ('hashsize', 16777216);";

/* Appends every string value below v, space separated. */
static void
collect_strings(const struct cjson *v, struct buf *out)
{
    switch (v->type) {
    case CJSON_STRING:
        if (out->len)
            buf_addc(out, ' ');
        buf_add(out, v->str, v->len);
        return;
    case CJSON_ARRAY:
        for (uint32_t i = 0; i < v->len; i++)
            collect_strings(v->items[i], out);
        return;
    case CJSON_OBJECT:
        for (uint32_t i = 0; i < v->len; i++)
            collect_strings(v->members[i].val, out);
        return;
    default:
        return;
    }
}

/* kind 0: asset (CREATE only: id and the strings of asset.data);
 * kind 1: metadata (when an object: id and its strings). */
static void
add_rec(struct buf *recs, uint64_t seq, uint8_t kind, const char *id_hex,
        const struct cjson *strings)
{
    uint32_t len = 0;
    buf_add(recs, &seq, sizeof seq);
    buf_add(recs, &kind, 1);
    size_t at = recs->len;
    buf_add(recs, &len, sizeof len);
    size_t start = recs->len;
    buf_add(recs, id_hex, 64);
    if (strings)
        collect_strings(strings, recs); /* space separated after the id */
    LTD_ASSERT(recs->len - start <= UINT32_MAX);
    len = (uint32_t)(recs->len - start);
    memcpy(recs->p + at, &len, sizeof len);
}

static void
recs_of(struct buf *recs, uint64_t seq, bool create, const char *id_hex,
        const struct cjson *asset_data, const struct cjson *metadata)
{
    if (create)
        add_rec(recs, seq, 0, id_hex, asset_data);
    if (metadata && metadata->type == CJSON_OBJECT)
        add_rec(recs, seq, 1, id_hex, metadata);
}

/* ------------------------------------------------------------ applier */

void
store_fts_add(struct store_fts *f, uint64_t seq, const struct tx *t)
{
    if (f == NULL)
        return;
    if (!f->open_any) {
        f->open_first = seq;
        f->open_any = true;
    }
    recs_of(&f->open_recs, seq, t->op == TX_CREATE, t->id_hex, t->asset_data, t->metadata);
}

void
store_fts_rolledback(struct store_fts *f)
{
    if (f) {
        buf_reset(&f->open_recs);
        f->open_any = false;
    }
}

void
store_fts_committed(struct store_fts *f, uint64_t last_seq)
{
    if (f == NULL)
        return;
    pthread_mutex_lock(&f->lock);
    LTD_ASSERT(last_seq >= f->committed);
    if (f->open_any && f->queued_bytes + f->open_recs.len <= fts_queue_bytes_max) {
        struct fts_block *b = xcalloc(1, sizeof *b);
        b->first_seq = f->open_first;
        b->last_seq = last_seq;
        b->recs = f->open_recs; /* moved; the spare (if any) takes its place */
        f->open_recs = f->spare;
        buf_init(&f->spare);
        f->queued_bytes += b->recs.len;
        if (f->tail)
            f->tail->next = b;
        else
            f->head = b;
        f->tail = b;
    }
    /* else: dropped; the indexer reads these transactions back */
    buf_reset(&f->open_recs);
    f->open_any = false;
    if (f->committed == f->indexed)
        f->behind_since_ns = ltd_mono_ns();
    f->committed = last_seq;
    if (f->searchers > 0 || f->committed - f->indexed >= fts_round_txs_min)
        pthread_cond_signal(&f->wake);
    pthread_mutex_unlock(&f->lock);
}

/* ------------------------------------------------------------ indexer */

static enum ltd_err
exec_sql(sqlite3 *db, const char *sql, struct ltd_errbuf *eb)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? LTD_OK : store_sql_fail(eb, db, rc, "search index");
}

struct indexer {
    struct store_fts *f;
    sqlite3 *db;     /* search.db */
    sqlite3 *ledger; /* ledger.db, read only */
    sqlite3_stmt *ins[2], *set_state, *scan;
};

static void
indexer_free(struct indexer *x)
{
    for (int i = 0; i < 2; i++)
        sqlite3_finalize(x->ins[i]);
    sqlite3_finalize(x->set_state);
    sqlite3_finalize(x->scan);
    sqlite3_close(x->db);
    sqlite3_close(x->ledger);
    free(x);
}

static enum ltd_err
insert_recs(struct indexer *x, const struct buf *recs, uint64_t after, struct ltd_errbuf *eb)
{
    const char *p = recs->p, *end = recs->p + recs->len;
    while (p < end) {
        uint64_t seq;
        uint8_t kind;
        uint32_t len;
        LTD_ASSERT((size_t)(end - p) >= sizeof seq + 1 + sizeof len);
        memcpy(&seq, p, sizeof seq);
        kind = (uint8_t)p[sizeof seq];
        memcpy(&len, p + sizeof seq + 1, sizeof len);
        const char *text = p + sizeof seq + 1 + sizeof len;
        p = text + len;
        LTD_ASSERT(p <= end && kind < 2);
        if (seq <= after)
            continue;
        sqlite3_stmt *s = x->ins[kind];
        sqlite3_bind_int64(s, 1, (int64_t)seq);
        sqlite3_bind_text(s, 2, text, (int)len, SQLITE_STATIC);
        int rc = sqlite3_step(s);
        sqlite3_reset(s);
        if (rc != SQLITE_DONE)
            return store_sql_fail(eb, x->db, rc, "search index insert");
    }
    return LTD_OK;
}

/* Texts of ledger transactions from..to, read back from their bodies. */
static enum ltd_err
reread(struct indexer *x, uint64_t from, uint64_t to, struct ltd_errbuf *eb)
{
    sqlite3_stmt *s = x->scan;
    sqlite3_bind_int64(s, 1, (int64_t)from);
    sqlite3_bind_int64(s, 2, (int64_t)to);
    struct buf recs;
    buf_init(&recs);
    enum ltd_err e = LTD_OK;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct arena a;
        arena_init(&a);
        struct cjson *root = NULL;
        uint64_t seq = (uint64_t)sqlite3_column_int64(s, 0);
        const char *body = sqlite3_column_blob(s, 1);
        size_t len = (size_t)sqlite3_column_bytes(s, 1);
        if (cjson_parse(&a, body, len, NULL, &root, NULL) == LTD_OK) {
            const struct cjson *id = cjson_get(root, "id");
            const struct cjson *asset = cjson_get(root, "asset");
            if (id && id->type == CJSON_STRING && id->len == 64)
                recs_of(&recs, seq, cjson_string_eq(cjson_get(root, "operation"), "CREATE"),
                        id->str, asset ? cjson_get(asset, "data") : NULL,
                        cjson_get(root, "metadata"));
        }
        arena_release(&a);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        e = store_sql_fail(eb, x->ledger, rc, "search index: read ledger");
    else
        e = insert_recs(x, &recs, from - 1, eb);
    buf_release(&recs);
    return e;
}

static enum ltd_err
set_indexed(struct indexer *x, uint64_t seq, struct ltd_errbuf *eb)
{
    sqlite3_bind_int64(x->set_state, 1, (int64_t)seq);
    int rc = sqlite3_step(x->set_state);
    sqlite3_reset(x->set_state);
    return rc == SQLITE_DONE ? LTD_OK : store_sql_fail(eb, x->db, rc, "search index state");
}

/* One indexer round: the queued blocks plus whatever is missing up to
 * target, in one transaction (catch-up in chunks). */
static enum ltd_err
index_round(struct indexer *x, struct fts_block *list, uint64_t target, uint64_t *indexed,
            struct ltd_errbuf *eb)
{
    enum ltd_err e = exec_sql(x->db, "BEGIN IMMEDIATE", eb);
    if (e)
        return e;
    uint64_t at = *indexed;
    for (struct fts_block *b = list; b && e == LTD_OK; b = b->next) {
        if (b->last_seq <= at)
            continue;
        if (b->first_seq > at + 1 && (e = reread(x, at + 1, b->first_seq - 1, eb)))
            break;
        if ((e = insert_recs(x, &b->recs, at, eb)))
            break;
        at = b->last_seq;
    }
    while (e == LTD_OK && at < target) {
        uint64_t to = target - at > fts_batch_txs_max ? at + fts_batch_txs_max : target;
        if ((e = reread(x, at + 1, to, eb)))
            break;
        at = to;
        if (at < target) { /* long catch-up: commit each chunk */
            if ((e = set_indexed(x, at, eb)) || (e = exec_sql(x->db, "COMMIT", eb)))
                break;
            *indexed = at;
            pthread_mutex_lock(&x->f->lock);
            x->f->indexed = at;
            pthread_cond_broadcast(&x->f->indexed_cv);
            pthread_mutex_unlock(&x->f->lock);
            if ((e = exec_sql(x->db, "BEGIN IMMEDIATE", eb)))
                return e;
        }
    }
    if (e == LTD_OK && (e = set_indexed(x, at, eb)) == LTD_OK)
        e = exec_sql(x->db, "COMMIT", eb);
    if (e) {
        sqlite3_exec(x->db, "ROLLBACK", NULL, NULL, NULL);
        return e;
    }
    *indexed = at;
    return LTD_OK;
}

static void
free_blocks(struct fts_block *b)
{
    while (b) {
        struct fts_block *next = b->next;
        buf_release(&b->recs);
        free(b);
        b = next;
    }
}

static void *
indexer_main(void *arg)
{
    struct indexer *x = arg;
    struct store_fts *f = x->f;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    pthread_setname_np(pthread_self(), "indexer");
    /* behind the request and commit threads: the index may lag under a
     * burst (searches wait for it), commits should not */
    if (setpriority(PRIO_PROCESS, (id_t)gettid(), fts_nice) != 0)
        fprintf(stderr, "ltdrs: cannot lower the indexer's priority\n");
    pthread_mutex_lock(&f->lock);
    uint64_t indexed = f->indexed;
    for (;;) {
        /* Rounds are large: FTS5's cost per row falls steeply with the
         * rows per transaction.  Go when enough has piled up, when the
         * oldest waiting commit is fts_delay_ms old, or at once when a
         * search waits. */
        while (!f->stop) {
            uint64_t behind = f->committed - indexed;
            if (behind > 0 && (f->searchers > 0 || behind >= fts_round_txs_min ||
                               ltd_mono_ns() - f->behind_since_ns >= fts_delay_ms * 1000000ull))
                break;
            struct timespec ts =
                ltd_deadline(CLOCK_REALTIME, (behind ? fts_delay_ms / 4 : fts_idle_ms) * 1000ull);
            pthread_cond_timedwait(&f->wake, &f->lock, &ts);
        }
        if (f->stop)
            break;
        struct fts_block *list = f->head;
        f->head = f->tail = NULL;
        f->queued_bytes = 0;
        uint64_t target = f->committed;
        pthread_mutex_unlock(&f->lock);
        enum ltd_err e = index_round(x, list, target, &indexed, &eb);
        pthread_mutex_lock(&f->lock);
        if (list && f->spare.cap == 0) { /* keep one grown buffer */
            f->spare = list->recs;
            buf_reset(&f->spare);
            buf_init(&list->recs);
        }
        pthread_mutex_unlock(&f->lock);
        free_blocks(list);
        pthread_mutex_lock(&f->lock);
        if (e) {
            /* e.g. a full disk: searches say so meanwhile; the next round
             * reads what was lost with this one back from the ledger */
            if (!f->failed)
                fprintf(stderr, "ltdrs: search index paused: %s\n", eb.msg);
            f->failed = e;
            snprintf(f->failed_msg, sizeof f->failed_msg, "%s", eb.msg);
            ltd_errbuf_clear(&eb);
            pthread_cond_broadcast(&f->indexed_cv);
            struct timespec ts = ltd_deadline(CLOCK_REALTIME, fts_retry_s * 1000000ull);
            while (!f->stop)
                if (pthread_cond_timedwait(&f->wake, &f->lock, &ts) != 0)
                    break;
            continue;
        }
        if (f->failed)
            fprintf(stderr, "ltdrs: search index resumed\n");
        f->failed = LTD_OK;
        f->indexed = indexed;
        f->behind_since_ns = ltd_mono_ns(); /* for what arrived meanwhile */
        pthread_cond_broadcast(&f->indexed_cv);
    }
    pthread_mutex_unlock(&f->lock);
    indexer_free(x);
    return NULL;
}

static enum ltd_err
prep(sqlite3 *db, const char *sql, sqlite3_stmt **s, struct ltd_errbuf *eb)
{
    int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, s, NULL);
    return rc == SQLITE_OK ? LTD_OK : store_sql_fail(eb, db, rc, "search index prepare");
}

/* ------------------------------------------------------------ lifecycle */

static enum ltd_err fts_open_once(const char *dir, uint64_t committed, struct store_fts **out,
                                  struct ltd_errbuf *eb);

/* search.db holds nothing the ledger does not: when it is damaged it is
 * removed and rebuilt. */
enum ltd_err
store_fts_open(const char *dir, uint64_t committed, struct store_fts **out, struct ltd_errbuf *eb)
{
    enum ltd_err e = fts_open_once(dir, committed, out, eb);
    if (e != LTD_E_STORE_CORRUPT)
        return e;
    fprintf(stderr, "ltdrs: search.db is damaged (%s); rebuilding it from the ledger\n",
            eb ? eb->msg : "");
    static const char *const parts[] = {"search.db", "search.db-wal", "search.db-shm"};
    for (size_t i = 0; i < ARRAY_LEN(parts); i++) {
        struct buf p;
        buf_init(&p);
        buf_addf(&p, "%s/%s", dir, parts[i]);
        unlink(p.p);
        buf_release(&p);
    }
    if (eb)
        ltd_errbuf_clear(eb);
    return fts_open_once(dir, committed, out, eb);
}

static enum ltd_err
fts_open_once(const char *dir, uint64_t committed, struct store_fts **out, struct ltd_errbuf *eb)
{
    *out = NULL;
    struct store_fts *f = xcalloc(1, sizeof *f);
    struct indexer *x = xcalloc(1, sizeof *x);
    x->f = f;
    struct buf p;
    buf_init(&p);
    buf_addf(&p, "%s/search.db", dir);
    f->path = buf_detach(&p, NULL);
    buf_addf(&p, "%s/ledger.db", dir);
    f->ledger_path = buf_detach(&p, NULL);
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->wake, NULL);
    pthread_cond_init(&f->indexed_cv, NULL);
    buf_init(&f->open_recs);
    buf_init(&f->spare);
    f->committed = committed;
    enum ltd_err e = LTD_OK;
    int rc = sqlite3_open_v2(
        f->path, &x->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        e = store_sql_fail(eb, x->db, rc, "open search.db");
        goto fail;
    }
    sqlite3_busy_timeout(x->db, 5000);
    rc = sqlite3_open_v2(f->ledger_path, &x->ledger, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                         NULL);
    if (rc != SQLITE_OK) {
        e = store_sql_fail(eb, x->ledger, rc, "open ledger.db for the search index");
        goto fail;
    }
    sqlite3_busy_timeout(x->ledger, 5000);
    if ((e = exec_sql(x->db, fts_schema, eb)) ||
        (e = prep(x->db, "INSERT INTO fts_asset(rowid, text) VALUES (?1, ?2)", &x->ins[0], eb)) ||
        (e = prep(x->db, "INSERT INTO fts_meta(rowid, text) VALUES (?1, ?2)", &x->ins[1], eb)) ||
        (e = prep(x->db, "INSERT OR REPLACE INTO fts_state(k, v) VALUES ('indexed', ?1)",
                  &x->set_state, eb)) ||
        (e = prep(x->ledger, "SELECT seq, body FROM tx WHERE seq >= ?1 AND seq <= ?2 ORDER BY seq",
                  &x->scan, eb)))
        goto fail;
    sqlite3_stmt *s = NULL;
    if ((e = prep(x->db, "SELECT v FROM fts_state WHERE k = 'indexed'", &s, eb)))
        goto fail;
    uint64_t indexed = sqlite3_step(s) == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(s, 0) : 0;
    sqlite3_finalize(s);
    if (indexed > committed) {
        /* the index is ahead of this ledger (a restored ledger): rebuild it */
        if ((e = exec_sql(x->db,
                          "BEGIN; INSERT INTO fts_asset(fts_asset) VALUES ('delete-all');"
                          "INSERT INTO fts_meta(fts_meta) VALUES ('delete-all');"
                          "DELETE FROM fts_state; COMMIT;",
                          eb)))
            goto fail;
        indexed = 0;
    }
    f->indexed = indexed;
    if (pthread_create(&f->thread, NULL, indexer_main, x) != 0) {
        e = ltd_fail(eb, LTD_E_IO, "cannot start the search indexer");
        goto fail;
    }
    f->started = true;
    *out = f;
    return LTD_OK;
fail:
    indexer_free(x);
    store_fts_close(f);
    return e;
}

void
store_fts_close(struct store_fts *f)
{
    if (f == NULL)
        return;
    if (f->started) {
        pthread_mutex_lock(&f->lock);
        f->stop = true;
        pthread_cond_signal(&f->wake);
        pthread_mutex_unlock(&f->lock);
        pthread_join(f->thread, NULL);
    }
    free_blocks(f->head);
    buf_release(&f->open_recs);
    buf_release(&f->spare);
    pthread_mutex_destroy(&f->lock);
    pthread_cond_destroy(&f->wake);
    pthread_cond_destroy(&f->indexed_cv);
    free(f->path);
    free(f->ledger_path);
    free(f);
}

enum ltd_err
store_fts_wait(struct store_fts *f, struct ltd_errbuf *eb)
{
    if (f == NULL)
        return LTD_OK; /* read-only store: the index is as it is */
    pthread_mutex_lock(&f->lock);
    uint64_t want = f->committed;
    struct timespec ts = ltd_deadline(CLOCK_REALTIME, fts_wait_ms * 1000ull);
    int rc = 0;
    if (f->indexed < want) {
        f->searchers++;
        pthread_cond_signal(&f->wake);
        while (f->indexed < want && !f->failed && rc == 0)
            rc = pthread_cond_timedwait(&f->indexed_cv, &f->lock, &ts);
        f->searchers--;
    }
    enum ltd_err e = LTD_OK;
    if (f->failed)
        e = ltd_fail(eb, f->failed, "the search index cannot be written: %s", f->failed_msg);
    else if (f->indexed < want)
        e = ltd_fail(eb, LTD_E_OVERLOAD, "the search index is %llu transactions behind; try again",
                     (unsigned long long)(want - f->indexed));
    pthread_mutex_unlock(&f->lock);
    return e;
}

enum ltd_err
store_fts_attach(sqlite3 *db, const char *dir, struct ltd_errbuf *eb)
{
    struct buf p;
    buf_init(&p);
    buf_addf(&p, "%s/search.db", dir);
    enum ltd_err e = LTD_OK;
    if (access(p.p, R_OK) == 0) { /* absent in a read-only open of a fresh copy */
        sqlite3_stmt *s = NULL;
        int rc = sqlite3_prepare_v2(db, "ATTACH DATABASE ?1 AS s", -1, &s, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_text(s, 1, p.p, (int)p.len, SQLITE_STATIC);
            rc = sqlite3_step(s);
        }
        sqlite3_finalize(s);
        if (rc != SQLITE_DONE && rc != SQLITE_OK)
            e = store_sql_fail(eb, db, rc, "attach search.db");
    }
    buf_release(&p);
    return e;
}

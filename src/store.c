/*
 * store.c - the SQLite backend behind store.h.
 *
 * One write connection (used by the applier thread inside a block) and a
 * pool of read-only connections for every other thread.  Prepared
 * statements are cached per connection.  Schema changes are numbered
 * migrations recorded in schema_version.
 *
 * Not here: deciding validity.  The store trusts that what it is given was
 * validated; it asserts only its own invariants (e.g. an output it marks
 * spent exists and is unspent).
 */
#include "store.h"
#include "store_int.h"

#include "cc.h"
#include "cjson.h"
#include "codec.h"
#include "kidx.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum stmt_id {
    S_TX_BODY,
    S_TX_INSERT,
    S_OUT_INSERT,
    S_OUT_GET,
    S_OUT_SPEND,
    S_KEYS_INSERT,
    S_KEYS_LOAD,
    S_KEYS_MISSING,
    S_BLOCK_INSERT,
    S_BLOCK_GET,
    S_BLOCK_HEAD,
    S_BLOCK_TXS,
    S_ASSET_ALL,
    S_ASSET_OP,
    S_ASSET_LAST,
    S_ASSET_OP_LAST,
    S_META_GET,
    S_META_PUT,
    S_COUNT_TX,
    S_COUNT_BLOCKS,
    S_SCAN_TXS,
    S_SCAN_BLOCKS,
    S_TX_ID_BY_SEQ,
    S_SEARCH_ASSET,
    S_SEARCH_META,
    S_BLOCK_OF_SEQ,
    S__COUNT
};

_Static_assert((int)S__COUNT <= (int)store_stmts_max, "struct conn has room for every statement");

static const char *const stmt_sql[S__COUNT] = {
    [S_TX_BODY] = "SELECT body, height FROM tx WHERE seq = ?1",
    [S_TX_INSERT] = "INSERT INTO tx(seq, idk, id, height, op, asset_seq, body) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [S_OUT_INSERT] = "INSERT INTO out(okey, amount, spent_by) VALUES (?1, ?2, NULL)",
    [S_OUT_GET] = "SELECT amount, spent_by FROM out WHERE okey = ?1",
    [S_OUT_SPEND] = "UPDATE out SET spent_by = ?2 WHERE okey = ?1 AND spent_by IS NULL",
    [S_KEYS_INSERT] = "INSERT INTO block_keys(height, first_seq, idks, owners) "
                      "VALUES (?1, ?2, ?3, ?4)",
    [S_KEYS_LOAD] = "SELECT first_seq, idks, owners FROM block_keys ORDER BY height",
    [S_KEYS_MISSING] = "SELECT b.height, b.first_seq, b.n_tx FROM block b "
                       "LEFT JOIN block_keys k ON k.height = b.height "
                       "WHERE k.height IS NULL ORDER BY b.height",
    [S_BLOCK_INSERT] = "INSERT INTO block(height, time_ms, n_tx, first_seq, prev_hash, "
                       "txs_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [S_BLOCK_GET] = "SELECT height, time_ms, n_tx, first_seq, prev_hash, txs_hash, hash "
                    "FROM block WHERE height = ?1",
    [S_BLOCK_HEAD] = "SELECT height, time_ms, n_tx, first_seq, prev_hash, txs_hash, hash "
                     "FROM block ORDER BY height DESC LIMIT 1",
    [S_BLOCK_TXS] = "SELECT body FROM tx WHERE seq >= ?1 AND seq < ?2 ORDER BY seq",
    [S_ASSET_ALL] = "SELECT body FROM tx WHERE asset_seq = ?1 ORDER BY seq",
    [S_ASSET_OP] = "SELECT body FROM tx WHERE asset_seq = ?1 AND op = ?2 ORDER BY seq",
    [S_ASSET_LAST] = "SELECT body FROM tx WHERE asset_seq = ?1 ORDER BY seq DESC LIMIT 1",
    [S_ASSET_OP_LAST] =
        "SELECT body FROM tx WHERE asset_seq = ?1 AND op = ?2 ORDER BY seq DESC LIMIT 1",
    [S_META_GET] = "SELECT v FROM meta WHERE k = ?1",
    [S_META_PUT] = "INSERT OR REPLACE INTO meta(k, v) VALUES (?1, ?2)",
    [S_COUNT_TX] = "SELECT COALESCE(MAX(seq), 0) FROM tx",
    [S_COUNT_BLOCKS] = "SELECT COUNT(*) FROM block",
    [S_SCAN_TXS] = "SELECT seq, height, id, body FROM tx WHERE seq >= ?1 AND seq <= ?2 "
                   "ORDER BY seq",
    [S_SCAN_BLOCKS] = "SELECT height, time_ms, n_tx, first_seq, prev_hash, txs_hash, hash "
                      "FROM block ORDER BY height",
    [S_TX_ID_BY_SEQ] = "SELECT id FROM tx WHERE seq = ?1",
    [S_SEARCH_ASSET] = "SELECT rowid FROM s.fts_asset WHERE fts_asset MATCH ?1 ORDER BY rank "
                       "LIMIT ?2",
    [S_SEARCH_META] = "SELECT rowid FROM s.fts_meta WHERE fts_meta MATCH ?1 ORDER BY rank "
                      "LIMIT ?2",
    [S_BLOCK_OF_SEQ] = "SELECT height FROM tx WHERE seq = ?1",
};

/* Numbered migrations (rule 18).  Never edit a published one: add another. */
static const char *const migrations[] = {
    /* 0001: the ledger */
    "CREATE TABLE meta(k TEXT PRIMARY KEY, v BLOB NOT NULL);"
    "CREATE TABLE block(height INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL,"
    "  n_tx INTEGER NOT NULL, first_seq INTEGER NOT NULL, prev_hash BLOB NOT NULL,"
    "  txs_hash BLOB NOT NULL, hash BLOB NOT NULL);"
    "CREATE TABLE tx(seq INTEGER PRIMARY KEY, idk INTEGER NOT NULL, id BLOB NOT NULL,"
    "  height INTEGER NOT NULL, op INTEGER NOT NULL, asset_seq INTEGER NOT NULL,"
    "  body BLOB NOT NULL);"
    "CREATE INDEX tx_idk ON tx(idk);"
    "CREATE INDEX tx_asset ON tx(asset_seq);"
    "CREATE TABLE out(okey INTEGER PRIMARY KEY, amount INTEGER NOT NULL, spent_by INTEGER);"
    "CREATE TABLE owner(pkk INTEGER NOT NULL, okey INTEGER NOT NULL,"
    "  PRIMARY KEY(pkk, okey)) WITHOUT ROWID;"
    "CREATE VIRTUAL TABLE fts_asset USING fts5(text, content='',"
    "  tokenize='porter unicode61 remove_diacritics 2');"
    "CREATE VIRTUAL TABLE fts_meta USING fts5(text, content='',"
    "  tokenize='porter unicode61 remove_diacritics 2');",
    /* 0002: LTDRS domain state, maintained by the applier with each block */
    "CREATE TABLE l_roster(sid TEXT PRIMARY KEY, code_hash BLOB NOT NULL,"
    "  generation INTEGER NOT NULL, seq INTEGER NOT NULL);"
    "CREATE TABLE l_student(sid TEXT PRIMARY KEY, key BLOB, name TEXT, seq INTEGER NOT NULL);"
    "CREATE TABLE l_key(key BLOB PRIMARY KEY, role INTEGER NOT NULL, ref TEXT NOT NULL,"
    "  seq INTEGER NOT NULL);"
    "CREATE TABLE l_department(id BLOB PRIMARY KEY, key BLOB NOT NULL, name TEXT NOT NULL,"
    "  norm TEXT NOT NULL, contact TEXT NOT NULL, status INTEGER NOT NULL, reason TEXT,"
    "  seq INTEGER NOT NULL, decided_seq INTEGER);"
    "CREATE INDEX l_department_norm ON l_department(norm);"
    "CREATE INDEX l_department_key ON l_department(key);"
    "CREATE TABLE l_application(id BLOB PRIMARY KEY, dept BLOB NOT NULL, name TEXT NOT NULL,"
    "  norm TEXT NOT NULL, start TEXT NOT NULL, end TEXT NOT NULL, start_s INTEGER NOT NULL,"
    "  end_s INTEGER NOT NULL, venue TEXT NOT NULL, tickets INTEGER NOT NULL,"
    "  category TEXT NOT NULL, description TEXT, status INTEGER NOT NULL, reason TEXT,"
    "  asset BLOB, approved_n INTEGER, closed INTEGER NOT NULL DEFAULT 0,"
    "  seq INTEGER NOT NULL, decided_seq INTEGER);"
    "CREATE INDEX l_application_act ON l_application(dept, norm, start_s, venue);"
    "CREATE INDEX l_application_asset ON l_application(asset);"
    "CREATE TABLE l_ticket(okey INTEGER PRIMARY KEY, app BLOB NOT NULL, holder INTEGER NOT NULL,"
    "  sid TEXT, skey BLOB, amount INTEGER NOT NULL, spent INTEGER NOT NULL DEFAULT 0,"
    "  revoked INTEGER NOT NULL DEFAULT 0, revoke_reason TEXT, revoke_seq INTEGER,"
    "  seq INTEGER NOT NULL);"
    "CREATE INDEX l_ticket_sid ON l_ticket(sid, app);"
    "CREATE INDEX l_ticket_app ON l_ticket(app, holder);"
    "CREATE TABLE l_tally(sid TEXT PRIMARY KEY, legal INTEGER NOT NULL);"
    "CREATE TABLE l_announcement(seq INTEGER PRIMARY KEY, id BLOB NOT NULL, title TEXT NOT NULL,"
    "  text TEXT NOT NULL, link TEXT, app BLOB);",
    /* 0003: indexes of the LTDRS queries (query.c).  l_ticket_cover answers
     * per-activity counts and legal tickets per student of chosen activities
     * from the index alone; it replaces l_ticket_app, its prefix. */
    "DROP INDEX l_ticket_app;"
    "CREATE INDEX l_ticket_cover ON l_ticket(app, holder, spent, revoked, sid, amount);"
    "CREATE INDEX l_application_status ON l_application(status, start_s);",
    /* 0004: the two random-key indexes (tx id prefix, owner key prefix) move
     * to memory (kidx.h); each block stores its keys in one row, read back
     * at open.  Rows of blocks written before are made at open from the
     * stored transactions (keys_backfill). */
    "CREATE TABLE block_keys(height INTEGER PRIMARY KEY, first_seq INTEGER NOT NULL,"
    "  idks BLOB NOT NULL, owners BLOB NOT NULL);"
    "DROP INDEX tx_idk;"
    "DROP TABLE owner;"
    /* and the full-text index moves to search.db, off the commit path
     * (store_fts.c); it is rebuilt there from the ledger */
    "DROP TABLE fts_asset;"
    "DROP TABLE fts_meta;",
    /* 0005: counters per activity and the list of distributions,
     * kept by the applier (store_ltdrs.c), filled here from l_ticket for an
     * existing ledger.  l_app_count answers the ticket statistics without
     * reading l_ticket (held = department-held unspent tickets);
     * l_distribution lists the TRANSFERs that made student outputs. */
    "CREATE TABLE l_app_count(app BLOB PRIMARY KEY, distributed INTEGER NOT NULL,"
    "  returned INTEGER NOT NULL, revoked INTEGER NOT NULL, legal INTEGER NOT NULL,"
    "  held INTEGER NOT NULL);"
    "INSERT INTO l_app_count SELECT app, SUM(holder = 2), SUM(holder = 2 AND spent = 1),"
    "  SUM(holder = 2 AND revoked = 1), SUM(holder = 2 AND spent = 0 AND revoked = 0),"
    "  SUM(CASE WHEN holder = 1 AND spent = 0 THEN amount ELSE 0 END) FROM l_ticket GROUP BY app;"
    "CREATE TABLE l_distribution(seq INTEGER PRIMARY KEY, app BLOB NOT NULL, dept BLOB NOT NULL,"
    "  students INTEGER NOT NULL);"
    "INSERT INTO l_distribution SELECT t.seq, t.app, a.dept, COUNT(*) FROM l_ticket t"
    "  JOIN l_application a ON a.id = t.app WHERE t.holder = 2 GROUP BY t.seq;"
    "CREATE INDEX l_distribution_dept ON l_distribution(dept, seq);"
    "CREATE INDEX l_distribution_app ON l_distribution(app, seq);",
};

enum {
    store_readers_max = 64,
    store_busy_ms = 5000,
    /* WAL pages (4 KiB) after which the checkpointer copies the WAL into
     * the database, in its own thread: a checkpoint inside the applier's
     * COMMIT stalled every block behind it for 100-300 ms */
    store_ckpt_pages = 8192,
};

struct store {
    struct store_config cfg;
    char *path;
    struct conn writer;
    pthread_mutex_t pool_lock;
    struct conn *free_readers;
    int n_readers;
    pthread_t writer_thread;
    bool in_block;
    uint64_t next_seq; /* next tx seq to assign (writer only) */
    /* In-memory indexes (kidx.h) under keys_lock: tx id prefix -> seq
     * (entries of the open block included: readers confirm each candidate
     * against their own snapshot), owner key prefix -> output key (added
     * after each commit). */
    pthread_rwlock_t keys_lock;
    struct kidx ids, owners;
    uint32_t ids_mark;     /* ids before the open block */
    struct buf blk_idks;   /* the open block's id prefixes, 8 bytes each */
    struct buf blk_owners; /* and its (owner prefix, output key) pairs */
    struct store_fts *fts; /* the search indexer; NULL when read-only */
    /* the checkpointer thread (not when read-only) */
    pthread_t ckpt_thread;
    bool ckpt_started, ckpt_stop, ckpt_due;
    pthread_mutex_t ckpt_lock;
    pthread_cond_t ckpt_wake;
};

/* ------------------------------------------------------------ plumbing */

enum ltd_err
store_sql_fail(struct ltd_errbuf *eb, sqlite3 *db, int rc, const char *what)
{
    int ext = db ? sqlite3_extended_errcode(db) : rc;
    enum ltd_err code = LTD_E_STORE_IO;
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
        code = LTD_E_STORE_BUSY;
    else if (rc == SQLITE_FULL)
        code = LTD_E_STORE_FULL;
    else if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB)
        code = LTD_E_STORE_CORRUPT;
    return ltd_fail(eb, code, "%s failed: %s (sqlite %d)", what,
                    db ? sqlite3_errmsg(db) : sqlite3_errstr(rc), ext);
}

static enum ltd_err
conn_exec(struct conn *c, const char *sql, struct ltd_errbuf *eb)
{
    char *err = NULL;
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK) {
        enum ltd_err e = store_sql_fail(eb, c->db, rc, "exec");
        sqlite3_free(err);
        return e;
    }
    return LTD_OK;
}

static enum ltd_err
conn_stmt(struct conn *c, enum stmt_id id, sqlite3_stmt **out, struct ltd_errbuf *eb)
{
    LTD_ASSERT(id < S__COUNT);
    *out = NULL; /* rule 6: a failed prepare leaves no stale statement behind */
    if (c->stmt[id] == NULL) {
        int rc = sqlite3_prepare_v3(c->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                    &c->stmt[id], NULL);
        if (rc != SQLITE_OK)
            return store_sql_fail(eb, c->db, rc, "prepare");
    }
    *out = c->stmt[id];
    sqlite3_reset(*out);
    sqlite3_clear_bindings(*out);
    return LTD_OK;
}

static void
conn_close(struct conn *c)
{
    for (int i = 0; i < S__COUNT; i++)
        sqlite3_finalize(c->stmt[i]);
    for (int i = 0; i < store_lstmts_max; i++)
        sqlite3_finalize(c->lstmt[i]);
    sqlite3_close(c->db);
    memset(c, 0, sizeof *c);
}

static enum ltd_err
conn_open(struct store *st, struct conn *c, bool writer, struct ltd_errbuf *eb)
{
    memset(c, 0, sizeof *c);
    int flags = SQLITE_OPEN_NOMUTEX;
    if (writer && !st->cfg.readonly)
        flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    else
        flags |= SQLITE_OPEN_READONLY;
    int rc = sqlite3_open_v2(st->path, &c->db, flags, NULL);
    if (rc != SQLITE_OK) {
        enum ltd_err e = store_sql_fail(eb, c->db, rc, "open");
        sqlite3_close(c->db);
        c->db = NULL;
        return e;
    }
    sqlite3_busy_timeout(c->db, store_busy_ms);
    char sql[320];
    if (writer) {
        snprintf(sql, sizeof sql,
                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; PRAGMA cache_size=-%d;"
                 "PRAGMA temp_store=MEMORY; PRAGMA wal_autocheckpoint=0;"
                 "PRAGMA journal_size_limit=67108864;",
                 st->cfg.sync_full ? "FULL" : "OFF",
                 st->cfg.cache_mib > 0 ? st->cfg.cache_mib * 1024 : 65536);
        if (st->cfg.readonly)
            snprintf(sql, sizeof sql, "PRAGMA cache_size=-%d; PRAGMA query_only=1;",
                     st->cfg.cache_mib > 0 ? st->cfg.cache_mib * 1024 : 65536);
    } else {
        snprintf(sql, sizeof sql, "PRAGMA cache_size=-16384; PRAGMA query_only=1;");
    }
    enum ltd_err e = conn_exec(c, sql, eb);
    if (e == LTD_OK && !writer)
        e = store_fts_attach(c->db, st->cfg.dir, eb);
    if (e)
        conn_close(c);
    return e;
}

/* The connection for this thread: the writer's inside its open block, else
 * a pooled reader.  Pair with conn_put. */
enum ltd_err
store_conn_get(struct store *st, struct conn **out, struct ltd_errbuf *eb)
{
    if (st->in_block && pthread_equal(pthread_self(), st->writer_thread)) {
        *out = &st->writer;
        return LTD_OK;
    }
    pthread_mutex_lock(&st->pool_lock);
    struct conn *c = st->free_readers;
    if (c)
        st->free_readers = c->next;
    pthread_mutex_unlock(&st->pool_lock);
    if (c == NULL) {
        c = xcalloc(1, sizeof *c);
        enum ltd_err e = conn_open(st, c, false, eb);
        if (e) {
            free(c);
            return e;
        }
        __atomic_add_fetch(&st->n_readers, 1, __ATOMIC_RELAXED);
    }
    *out = c;
    return LTD_OK;
}

void
store_conn_put(struct store *st, struct conn *c)
{
    if (c == &st->writer)
        return;
    pthread_mutex_lock(&st->pool_lock);
    c->next = st->free_readers;
    st->free_readers = c;
    pthread_mutex_unlock(&st->pool_lock);
}

static enum ltd_err
migrate(struct store *st, struct ltd_errbuf *eb)
{
    struct conn *c = &st->writer;
    enum ltd_err e = conn_exec(c,
                               "CREATE TABLE IF NOT EXISTS schema_version("
                               "version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL)",
                               eb);
    if (e)
        return e;
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(c->db, "SELECT COALESCE(MAX(version),0) FROM schema_version", -1,
                                &s, NULL);
    if (rc != SQLITE_OK)
        return store_sql_fail(eb, c->db, rc, "read schema_version");
    int have = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
    sqlite3_finalize(s);
    if (have > (int)ARRAY_LEN(migrations))
        return ltd_fail(eb, LTD_E_STORE_CORRUPT,
                        "data directory has schema %d, newer than this build (%d)", have,
                        (int)ARRAY_LEN(migrations));
    for (int v = have; v < (int)ARRAY_LEN(migrations); v++) {
        char rec[128];
        snprintf(rec, sizeof rec, "INSERT INTO schema_version VALUES (%d, %llu);", v + 1,
                 (unsigned long long)ltd_now_ms());
        if ((e = conn_exec(c, "BEGIN IMMEDIATE", eb)))
            return e;
        if ((e = conn_exec(c, migrations[v], eb)) || (e = conn_exec(c, rec, eb))) {
            conn_exec(c, "ROLLBACK", NULL);
            return e;
        }
        if ((e = conn_exec(c, "COMMIT", eb)))
            return e;
    }
    return LTD_OK;
}

/* ------------------------------------------------------- checkpointing */

/* After each commit of the writer: wake the checkpointer when the WAL is
 * long.  Runs in the applier thread, so it only sets a flag. */
static int
ckpt_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
    (void)db;
    (void)name;
    struct store *st = arg;
    if (pages >= store_ckpt_pages) {
        pthread_mutex_lock(&st->ckpt_lock);
        if (!st->ckpt_due) {
            st->ckpt_due = true;
            pthread_cond_signal(&st->ckpt_wake);
        }
        pthread_mutex_unlock(&st->ckpt_lock);
    }
    return SQLITE_OK;
}

/* PASSIVE checkpoints from a connection of its own: they never block the
 * writer or readers; the writer starts the WAL over once one has copied
 * everything and no reader still needs the old frames. */
static void *
ckpt_main(void *arg)
{
    struct store *st = arg;
    pthread_setname_np(pthread_self(), "checkpointer");
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(st->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK)
        sqlite3_exec(db, st->cfg.sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=OFF",
                     NULL, NULL, NULL);
    pthread_mutex_lock(&st->ckpt_lock);
    while (!st->ckpt_stop) {
        if (!st->ckpt_due) {
            pthread_cond_wait(&st->ckpt_wake, &st->ckpt_lock);
            continue;
        }
        st->ckpt_due = false;
        pthread_mutex_unlock(&st->ckpt_lock);
        int log = 0, done = 0;
        rc = db ? sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done)
                : SQLITE_CANTOPEN;
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
            fprintf(stderr, "ltdrs: checkpoint failed: %s\n",
                    db ? sqlite3_errmsg(db) : "cannot open the database");
        pthread_mutex_lock(&st->ckpt_lock);
    }
    pthread_mutex_unlock(&st->ckpt_lock);
    sqlite3_close(db);
    return NULL;
}

static enum ltd_err
ckpt_start(struct store *st, struct ltd_errbuf *eb)
{
    if (pthread_create(&st->ckpt_thread, NULL, ckpt_main, st) != 0)
        return ltd_fail(eb, LTD_E_IO, "cannot start the checkpointer");
    st->ckpt_started = true;
    sqlite3_wal_hook(st->writer.db, ckpt_hook, st);
    return LTD_OK;
}

static void
ckpt_stop(struct store *st)
{
    if (!st->ckpt_started)
        return;
    sqlite3_wal_hook(st->writer.db, NULL, NULL);
    pthread_mutex_lock(&st->ckpt_lock);
    st->ckpt_stop = true;
    pthread_cond_signal(&st->ckpt_wake);
    pthread_mutex_unlock(&st->ckpt_lock);
    pthread_join(st->ckpt_thread, NULL);
    st->ckpt_started = false;
}

/* ------------------------------------------------------- in-memory keys */

static void
put64(struct buf *b, uint64_t v)
{
    uint8_t x[8];
    for (int i = 0; i < 8; i++)
        x[i] = (uint8_t)(v >> (8 * i));
    buf_add(b, x, 8);
}

static uint64_t
get64(const uint8_t *x)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | x[i];
    return v;
}

/* The first 8 bytes of a hash or key, big-endian: the prefix both maps use. */
static uint64_t
prefix8(const uint8_t *b)
{
    uint64_t x = 0;
    for (int i = 0; i < 8; i++)
        x = x << 8 | b[i];
    return x;
}

/* Appends output okey's (owner prefix, okey) pairs, each key once. */
static void
owner_pairs(const struct cc_details *d, uint64_t okey, struct buf *pairs)
{
    struct ltd_pubkey keys[tx_keys_max];
    size_t nk = cc_details_pubkeys(d, keys, tx_keys_max);
    LTD_ASSERT(nk <= tx_keys_max);
    for (size_t k = 0; k < nk; k++) {
        bool seen = false;
        for (size_t j = 0; j < k && !seen; j++)
            seen = memcmp(keys[j].b, keys[k].b, 32) == 0;
        if (!seen) {
            put64(pairs, prefix8(keys[k].b));
            put64(pairs, okey);
        }
    }
}

static enum ltd_err keys_row(struct store *st, uint64_t height, uint64_t first_seq,
                             const struct buf *idks, const struct buf *owners,
                             struct ltd_errbuf *eb);

/* Owner pairs of one stored transaction body. */
static enum ltd_err
keys_of_body(const char *body, size_t len, uint64_t seq, struct buf *owners, struct ltd_errbuf *eb)
{
    struct arena a;
    arena_init(&a);
    struct cjson *root = NULL;
    enum ltd_err e = cjson_parse(&a, body, len, NULL, &root, eb);
    const struct cjson *outs = e ? NULL : cjson_get(root, "outputs");
    if (outs == NULL || outs->type != CJSON_ARRAY) {
        e = ltd_fail(eb, LTD_E_STORE_CORRUPT, "stored transaction #%llu does not parse",
                     (unsigned long long)seq);
        goto out;
    }
    for (uint32_t i = 0; i < outs->len; i++) {
        struct cc_details *d = NULL;
        const struct cjson *det = cjson_get(cjson_get(outs->items[i], "condition"), "details");
        if (det == NULL || cc_details_from_json(&a, det, &d, eb) != LTD_OK) {
            e = ltd_fail(eb, LTD_E_STORE_CORRUPT,
                         "stored transaction #%llu: output %u has no "
                         "valid details",
                         (unsigned long long)seq, i);
            goto out;
        }
        owner_pairs(d, seq << store_okey_index_bits | i, owners);
    }
out:
    arena_release(&a);
    return e;
}

/* Makes the block_keys rows of blocks stored before migration 0004, from
 * their transactions.  One transaction; a no-op on current data. */
static enum ltd_err
keys_backfill(struct store *st, struct ltd_errbuf *eb)
{
    struct conn *c = &st->writer;
    sqlite3_stmt *m = NULL, *s;
    struct buf idks, owners;
    buf_init(&idks);
    buf_init(&owners);
    bool open = false;
    int rc = sqlite3_prepare_v2(c->db, stmt_sql[S_KEYS_MISSING], -1, &m, NULL);
    enum ltd_err e = LTD_OK;
    if (rc != SQLITE_OK) {
        e = store_sql_fail(eb, c->db, rc, "find blocks without keys");
        goto out;
    }
    while ((rc = sqlite3_step(m)) == SQLITE_ROW) {
        if (!open) {
            if ((e = conn_exec(c, "BEGIN IMMEDIATE", eb)))
                goto out;
            open = true;
        }
        uint64_t height = (uint64_t)sqlite3_column_int64(m, 0);
        uint64_t first = (uint64_t)sqlite3_column_int64(m, 1);
        uint64_t n = (uint64_t)sqlite3_column_int64(m, 2);
        buf_reset(&idks);
        buf_reset(&owners);
        if (n > 0) {
            if ((e = conn_stmt(c, S_SCAN_TXS, &s, eb)))
                goto out;
            sqlite3_bind_int64(s, 1, (int64_t)first);
            sqlite3_bind_int64(s, 2, (int64_t)(first + n - 1));
            uint64_t want = first;
            while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
                uint64_t seq = (uint64_t)sqlite3_column_int64(s, 0);
                if (seq != want || sqlite3_column_bytes(s, 2) != 32) {
                    sqlite3_reset(s);
                    e = ltd_fail(eb, LTD_E_STORE_CORRUPT, "block %llu: transaction #%llu missing",
                                 (unsigned long long)height, (unsigned long long)want);
                    goto out;
                }
                want++;
                put64(&idks, prefix8(sqlite3_column_blob(s, 2)));
                if ((e = keys_of_body(sqlite3_column_blob(s, 3), (size_t)sqlite3_column_bytes(s, 3),
                                      seq, &owners, eb))) {
                    sqlite3_reset(s);
                    goto out;
                }
            }
            sqlite3_reset(s);
            if (rc != SQLITE_DONE) {
                e = store_sql_fail(eb, c->db, rc, "read block transactions");
                goto out;
            }
            if (want != first + n) {
                e = ltd_fail(eb, LTD_E_STORE_CORRUPT, "block %llu: transaction #%llu missing",
                             (unsigned long long)height, (unsigned long long)want);
                goto out;
            }
        }
        if ((e = keys_row(st, height, first, &idks, &owners, eb)))
            goto out;
    }
    if (rc != SQLITE_DONE)
        e = store_sql_fail(eb, c->db, rc, "find blocks without keys");
    else if (open)
        e = conn_exec(c, "COMMIT", eb);
out:
    sqlite3_finalize(m);
    if (e && open)
        conn_exec(c, "ROLLBACK", NULL);
    buf_release(&idks);
    buf_release(&owners);
    return e;
}

/* Fills both maps from block_keys. */
static enum ltd_err
keys_load(struct store *st, struct ltd_errbuf *eb)
{
    struct conn *c = &st->writer;
    sqlite3_stmt *s;
    enum ltd_err e = conn_stmt(c, S_KEYS_LOAD, &s, eb);
    if (e)
        return e;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        uint64_t seq = (uint64_t)sqlite3_column_int64(s, 0);
        const uint8_t *ids = sqlite3_column_blob(s, 1);
        size_t n_ids = (size_t)sqlite3_column_bytes(s, 1);
        const uint8_t *own = sqlite3_column_blob(s, 2);
        size_t n_own = (size_t)sqlite3_column_bytes(s, 2);
        if (n_ids % 8 || n_own % 16) {
            sqlite3_reset(s);
            return ltd_fail(eb, LTD_E_STORE_CORRUPT, "block_keys row of seq %llu is damaged",
                            (unsigned long long)seq);
        }
        for (size_t i = 0; i < n_ids; i += 8)
            kidx_add(&st->ids, get64(ids + i), seq++);
        for (size_t i = 0; i < n_own; i += 16)
            kidx_add(&st->owners, get64(own + i), get64(own + i + 8));
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return store_sql_fail(eb, c->db, rc, "load block keys");
    return LTD_OK;
}

static enum ltd_err
keys_row(struct store *st, uint64_t height, uint64_t first_seq, const struct buf *idks,
         const struct buf *owners, struct ltd_errbuf *eb)
{
    struct conn *c = &st->writer;
    sqlite3_stmt *s;
    enum ltd_err e = conn_stmt(c, S_KEYS_INSERT, &s, eb);
    if (e)
        return e;
    sqlite3_bind_int64(s, 1, (int64_t)height);
    sqlite3_bind_int64(s, 2, (int64_t)first_seq);
    sqlite3_bind_blob(s, 3, idks->p ? idks->p : "", (int)idks->len, SQLITE_STATIC);
    sqlite3_bind_blob(s, 4, owners->p ? owners->p : "", (int)owners->len, SQLITE_STATIC);
    return store_step_done(c, s, "insert block keys", eb);
}

enum ltd_err
store_open(const struct store_config *cfg, struct store **out, struct ltd_errbuf *eb)
{
    *out = NULL;
    LTD_ASSERT(cfg->dir != NULL);
    if (!cfg->readonly && mkdir(cfg->dir, 0700) != 0 && errno != EEXIST)
        return ltd_fail(eb, LTD_E_IO, "mkdir '%s' failed: %s", cfg->dir, strerror(errno));
    struct store *st = xcalloc(1, sizeof *st);
    st->cfg = *cfg;
    struct buf p;
    buf_init(&p);
    buf_addf(&p, "%s/ledger.db", cfg->dir);
    st->path = buf_detach(&p, NULL);
    pthread_mutex_init(&st->pool_lock, NULL);
    pthread_mutex_init(&st->ckpt_lock, NULL);
    pthread_cond_init(&st->ckpt_wake, NULL);
    pthread_rwlock_init(&st->keys_lock, NULL);
    kidx_init(&st->ids);
    kidx_init(&st->owners);
    buf_init(&st->blk_idks);
    buf_init(&st->blk_owners);
    enum ltd_err e = conn_open(st, &st->writer, true, eb);
    if (e)
        goto fail;
    if (!cfg->readonly && (e = migrate(st, eb)))
        goto fail;
    uint64_t n_tx = 0, n_blocks = 0;
    st->writer_thread = pthread_self();
    st->in_block = true; /* read through the writer during open */
    e = store_counts(st, &n_tx, &n_blocks, eb);
    if (e == LTD_OK && !cfg->readonly)
        e = keys_backfill(st, eb);
    /* read-only opens (the audits) read by seq and keep their own maps */
    if (e == LTD_OK && !cfg->readonly)
        e = keys_load(st, eb);
    st->in_block = false;
    if (e == LTD_OK && !cfg->readonly)
        e = store_fts_open(cfg->dir, n_tx, &st->fts, eb);
    if (e == LTD_OK && !cfg->readonly)
        e = ckpt_start(st, eb);
    if (e)
        goto fail;
    st->next_seq = n_tx + 1;
    *out = st;
    return LTD_OK;
fail:
    store_close(st);
    return e;
}

void
store_close(struct store *st)
{
    if (st == NULL)
        return;
    ckpt_stop(st);
    store_fts_close(st->fts);
    struct conn *c = st->free_readers;
    while (c) {
        struct conn *next = c->next;
        conn_close(c);
        free(c);
        c = next;
    }
    if (st->writer.db)
        conn_close(&st->writer);
    pthread_mutex_destroy(&st->pool_lock);
    pthread_mutex_destroy(&st->ckpt_lock);
    pthread_cond_destroy(&st->ckpt_wake);
    pthread_rwlock_destroy(&st->keys_lock);
    kidx_release(&st->ids);
    kidx_release(&st->owners);
    buf_release(&st->blk_idks);
    buf_release(&st->blk_owners);
    free(st->path);
    free(st);
}

/* ---------------------------------------------------------------- meta */

enum ltd_err
store_meta_get(struct store *st, const char *key, struct buf *val, struct ltd_errbuf *eb)
{
    struct conn *c;
    sqlite3_stmt *s;
    enum ltd_err e = store_conn_get(st, &c, eb);
    if (e)
        return e;
    if ((e = conn_stmt(c, S_META_GET, &s, eb)))
        goto out;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        buf_add(val, sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0));
    } else if (rc == SQLITE_DONE) {
        e = ltd_fail(eb, LTD_E_NOT_FOUND, "meta '%s' not found", key);
    } else {
        e = store_sql_fail(eb, c->db, rc, "meta get");
    }
    sqlite3_reset(s);
out:
    store_conn_put(st, c);
    return e;
}

enum ltd_err
store_meta_put(struct store *st, const char *key, const void *val, size_t n, struct ltd_errbuf *eb)
{
    sqlite3_stmt *s;
    enum ltd_err e = conn_stmt(&st->writer, S_META_PUT, &s, eb);
    if (e)
        return e;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, val, (int)n, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return store_sql_fail(eb, st->writer.db, rc, "meta put");
    return LTD_OK;
}

/* -------------------------------------------------------------- writing */

static int64_t
key8(const uint8_t *b)
{
    return (int64_t)prefix8(b);
}

enum ltd_err
store_block_begin(struct store *st, struct ltd_errbuf *eb)
{
    LTD_ASSERT(!st->in_block);
    enum ltd_err e = LTD_OK;
    for (int attempt = 0; attempt < store_txn_retries_max; attempt++) {
        ltd_errbuf_clear(eb ? eb : &(struct ltd_errbuf){0});
        e = conn_exec(&st->writer, "BEGIN IMMEDIATE", eb);
        if (e != LTD_E_STORE_BUSY)
            break;
    }
    if (e)
        return e;
    st->writer_thread = pthread_self();
    st->in_block = true;
    st->ids_mark = kidx_mark(&st->ids);
    buf_reset(&st->blk_idks);
    buf_reset(&st->blk_owners);
    return LTD_OK;
}

void
store_block_rollback(struct store *st)
{
    if (!st->in_block)
        return;
    conn_exec(&st->writer, "ROLLBACK", NULL);
    pthread_rwlock_wrlock(&st->keys_lock);
    kidx_truncate(&st->ids, st->ids_mark);
    pthread_rwlock_unlock(&st->keys_lock);
    store_fts_rolledback(st->fts);
    st->in_block = false;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    uint64_t n_tx = 0, n_blocks = 0;
    st->in_block = true;
    if (store_counts(st, &n_tx, &n_blocks, &eb) == LTD_OK)
        st->next_seq = n_tx + 1;
    st->in_block = false;
}

enum ltd_err
store_step_done(struct conn *c, sqlite3_stmt *s, const char *what, struct ltd_errbuf *eb)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return store_sql_fail(eb, c->db, rc, what);
    return LTD_OK;
}

static enum ltd_err
add_outputs(struct store *st, const struct tx *t, uint64_t seq, struct ltd_errbuf *eb)
{
    struct conn *c = &st->writer;
    sqlite3_stmt *s;
    enum ltd_err e;
    for (uint32_t i = 0; i < t->n_out; i++) {
        int64_t okey = (int64_t)(seq << store_okey_index_bits | i);
        if ((e = conn_stmt(c, S_OUT_INSERT, &s, eb)))
            return e;
        sqlite3_bind_int64(s, 1, okey);
        sqlite3_bind_int64(s, 2, (int64_t)t->out[i].amount);
        if ((e = store_step_done(c, s, "insert output", eb)))
            return e;
        owner_pairs(t->out[i].details, (uint64_t)okey, &st->blk_owners);
    }
    return LTD_OK;
}

static enum ltd_err
spend_inputs(struct store *st, const struct tx *t, uint64_t seq, struct ltd_errbuf *eb)
{
    struct conn *c = &st->writer;
    for (uint32_t i = 0; i < t->n_in; i++) {
        const struct tx_input *in = &t->in[i];
        if (!in->has_fulfills)
            continue;
        uint64_t spent_seq = 0;
        enum ltd_err e = store_tx_seq(st, &in->fulfills_txid, &spent_seq, eb);
        if (e)
            return e;
        LTD_ASSERT(spent_seq != 0); /* validated before */
        LTD_ASSERT(in->fulfills_index < (1u << store_okey_index_bits));
        sqlite3_stmt *s;
        if ((e = conn_stmt(c, S_OUT_SPEND, &s, eb)))
            return e;
        sqlite3_bind_int64(s, 1,
                           (int64_t)(spent_seq << store_okey_index_bits | in->fulfills_index));
        sqlite3_bind_int64(s, 2, (int64_t)seq);
        if ((e = store_step_done(c, s, "spend output", eb)))
            return e;
        LTD_ASSERT(sqlite3_changes(c->db) == 1); /* existed and was unspent */
    }
    return LTD_OK;
}

enum ltd_err
store_block_add_tx(struct store *st, const struct tx *t, const char *body, size_t body_len,
                   uint64_t height, uint64_t *seq_out, struct ltd_errbuf *eb)
{
    LTD_ASSERT(st->in_block);
    LTD_ASSERT(t->has_id);
    struct conn *c = &st->writer;
    uint64_t seq = st->next_seq;
    uint64_t asset_seq = seq;
    enum ltd_err e;
    if (t->op == TX_TRANSFER) {
        if ((e = store_tx_seq(st, &t->asset_id, &asset_seq, eb)))
            return e;
        LTD_ASSERT(asset_seq != 0);
    }
    sqlite3_stmt *s;
    if ((e = conn_stmt(c, S_TX_INSERT, &s, eb)))
        return e;
    sqlite3_bind_int64(s, 1, (int64_t)seq);
    sqlite3_bind_int64(s, 2, key8(t->id.b));
    sqlite3_bind_blob(s, 3, t->id.b, 32, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, (int64_t)height);
    sqlite3_bind_int(s, 5, (int)t->op);
    sqlite3_bind_int64(s, 6, (int64_t)asset_seq);
    sqlite3_bind_blob(s, 7, body, (int)body_len, SQLITE_STATIC);
    if ((e = store_step_done(c, s, "insert tx", eb)))
        return e;
    put64(&st->blk_idks, prefix8(t->id.b));
    pthread_rwlock_wrlock(&st->keys_lock);
    kidx_add(&st->ids, prefix8(t->id.b), seq);
    pthread_rwlock_unlock(&st->keys_lock);
    if ((e = spend_inputs(st, t, seq, eb)) || (e = add_outputs(st, t, seq, eb)))
        return e;
    store_fts_add(st->fts, seq, t);
    st->next_seq = seq + 1;
    if (seq_out)
        *seq_out = seq;
    return LTD_OK;
}

enum ltd_err
store_block_commit(struct store *st, const struct store_block *b, struct ltd_errbuf *eb)
{
    LTD_ASSERT(st->in_block);
    struct conn *c = &st->writer;
    sqlite3_stmt *s;
    enum ltd_err e = conn_stmt(c, S_BLOCK_INSERT, &s, eb);
    if (e)
        goto fail;
    sqlite3_bind_int64(s, 1, (int64_t)b->height);
    sqlite3_bind_int64(s, 2, (int64_t)b->time_ms);
    sqlite3_bind_int64(s, 3, b->n_tx);
    sqlite3_bind_int64(s, 4, (int64_t)b->first_seq);
    sqlite3_bind_blob(s, 5, b->prev_hash.b, 32, SQLITE_STATIC);
    sqlite3_bind_blob(s, 6, b->txs_hash.b, 32, SQLITE_STATIC);
    sqlite3_bind_blob(s, 7, b->hash.b, 32, SQLITE_STATIC);
    if ((e = store_step_done(c, s, "insert block", eb)))
        goto fail;
    LTD_ASSERT(st->blk_idks.len == (size_t)b->n_tx * 8);
    if ((e = keys_row(st, b->height, b->first_seq, &st->blk_idks, &st->blk_owners, eb)))
        goto fail;
    if ((e = conn_exec(c, "COMMIT", eb)))
        goto fail;
    st->in_block = false;
    store_fts_committed(st->fts, st->next_seq - 1);
    /* owners are read only by other threads: add them once committed */
    pthread_rwlock_wrlock(&st->keys_lock);
    const uint8_t *own = (const uint8_t *)st->blk_owners.p;
    for (size_t i = 0; i + 16 <= st->blk_owners.len; i += 16)
        kidx_add(&st->owners, get64(own + i), get64(own + i + 8));
    pthread_rwlock_unlock(&st->keys_lock);
    return LTD_OK;
fail:
    store_block_rollback(st);
    return e;
}

/* -------------------------------------------------------------- reading */

enum ltd_err
store_tx_seq(struct store *st, const struct ltd_hash *id, uint64_t *seq, struct ltd_errbuf *eb)
{
    LTD_ASSERT(!st->cfg.readonly); /* the maps are not loaded then */
    *seq = 0;
    enum { cands_max = 16 };
    uint64_t cands[cands_max], *cand = cands;
    pthread_rwlock_rdlock(&st->keys_lock);
    size_t n = kidx_get(&st->ids, prefix8(id->b), cands, cands_max);
    if (n > cands_max) { /* many ids share the prefix: only by design */
        cand = xmalloc(n * sizeof *cand);
        n = kidx_get(&st->ids, prefix8(id->b), cand, n);
    }
    pthread_rwlock_unlock(&st->keys_lock);
    if (n == 0)
        return LTD_OK;
    /* Confirm each candidate (newest first) in this thread's snapshot: the
     * prefix may be shared, and the open block's ids are in the map before
     * they are committed. */
    struct conn *c;
    sqlite3_stmt *s;
    enum ltd_err e = store_conn_get(st, &c, eb);
    if (e)
        goto out;
    if ((e = conn_stmt(c, S_TX_ID_BY_SEQ, &s, eb)) == LTD_OK) {
        for (size_t i = 0; i < n && *seq == 0 && e == LTD_OK; i++) {
            sqlite3_bind_int64(s, 1, (int64_t)cand[i]);
            int rc = sqlite3_step(s);
            if (rc == SQLITE_ROW) {
                if (sqlite3_column_bytes(s, 0) == 32 &&
                    memcmp(sqlite3_column_blob(s, 0), id->b, 32) == 0)
                    *seq = cand[i];
            } else if (rc != SQLITE_DONE) {
                e = store_sql_fail(eb, c->db, rc, "find tx");
            }
            sqlite3_reset(s);
        }
    }
    store_conn_put(st, c);
out:
    if (cand != cands)
        free(cand);
    return e;
}

static enum ltd_err
body_on(struct conn *c, uint64_t seq, struct buf *body, uint64_t *height, struct ltd_errbuf *eb)
{
    sqlite3_stmt *s;
    enum ltd_err e = conn_stmt(c, S_TX_BODY, &s, eb);
    if (e)
        return e;
    sqlite3_bind_int64(s, 1, (int64_t)seq);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        buf_add(body, sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0));
        if (height)
            *height = (uint64_t)sqlite3_column_int64(s, 1);
    } else if (rc == SQLITE_DONE) {
        e = ltd_fail(eb, LTD_E_NOT_FOUND, "no transaction #%llu", (unsigned long long)seq);
    } else {
        e = store_sql_fail(eb, c->db, rc, "read tx");
    }
    sqlite3_reset(s);
    return e;
}

enum ltd_err
store_tx_body(struct store *st, uint64_t seq, struct buf *body, uint64_t *height,
              struct ltd_errbuf *eb)
{
    struct conn *c;
    enum ltd_err e = store_conn_get(st, &c, eb);
    if (e)
        return e;
    e = body_on(c, seq, body, height, eb);
    store_conn_put(st, c);
    return e;
}

/* Reads output idx of stored tx body: details and asset id. */
static enum ltd_err
output_from_body(struct arena *a, const struct buf *body, uint64_t idx, struct store_out *o,
                 char txid_hex[65], struct ltd_errbuf *eb)
{
    struct cjson *root = NULL;
    enum ltd_err e = cjson_parse(a, body->p, body->len, NULL, &root, eb);
    if (e)
        return ltd_fail(eb, LTD_E_STORE_CORRUPT, "stored transaction does not parse");
    struct cjson *outs = cjson_get(root, "outputs");
    struct cjson *ov = outs ? cjson_at(outs, (uint32_t)idx) : NULL;
    struct cjson *cond = ov ? cjson_get(ov, "condition") : NULL;
    struct cjson *det = cond ? cjson_get(cond, "details") : NULL;
    if (det == NULL || cc_details_from_json(a, det, &o->details, eb) != LTD_OK)
        return ltd_fail(eb, LTD_E_STORE_CORRUPT, "stored output has no valid details");
    struct cjson *op = cjson_get(root, "operation");
    const struct cjson *own = cjson_get(root, "id");
    if (txid_hex && own && own->type == CJSON_STRING && own->len == 64) {
        memcpy(txid_hex, own->str, 64);
        txid_hex[64] = 0;
    }
    const struct cjson *aid = NULL;
    if (cjson_string_eq(op, "TRANSFER"))
        aid = cjson_get(cjson_get(root, "asset"), "id");
    else
        aid = cjson_get(root, "id");
    if (aid == NULL || aid->type != CJSON_STRING ||
        !hex_decode(o->asset_id.b, 32, aid->str, aid->len))
        return ltd_fail(eb, LTD_E_STORE_CORRUPT, "stored transaction has no asset id");
    return LTD_OK;
}

enum ltd_err
store_output(struct store *st, struct arena *a, const struct ltd_hash *txid, uint64_t index,
             struct store_out *o, struct ltd_errbuf *eb)
{
    memset(o, 0, sizeof *o);
    char hex[65];
    hex_encode(hex, txid->b, 32);
    uint64_t seq = 0;
    enum ltd_err e = store_tx_seq(st, txid, &seq, eb);
    if (e)
        return e;
    if (seq == 0)
        return ltd_fail(eb, LTD_E_INPUT_MISSING, "input `%s` doesn't exist", hex);
    if (index >= (1u << store_okey_index_bits))
        return ltd_fail(eb, LTD_E_OUTPUT_INDEX, "input `%s` has no output %llu", hex,
                        (unsigned long long)index);
    struct conn *c;
    if ((e = store_conn_get(st, &c, eb)))
        return e;
    sqlite3_stmt *s;
    if ((e = conn_stmt(c, S_OUT_GET, &s, eb)))
        goto out;
    sqlite3_bind_int64(s, 1, (int64_t)(seq << store_okey_index_bits | index));
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        o->amount = (uint64_t)sqlite3_column_int64(s, 0);
        o->spent_by =
            sqlite3_column_type(s, 1) == SQLITE_NULL ? 0 : (uint64_t)sqlite3_column_int64(s, 1);
        o->tx_seq = seq;
    } else if (rc == SQLITE_DONE) {
        e = ltd_fail(eb, LTD_E_OUTPUT_INDEX, "input `%s` has no output %llu", hex,
                     (unsigned long long)index);
    } else {
        e = store_sql_fail(eb, c->db, rc, "read output");
    }
    sqlite3_reset(s);
    if (e)
        goto out;
    struct buf body;
    buf_init(&body);
    e = body_on(c, seq, &body, NULL, eb);
    if (e == LTD_OK)
        e = output_from_body(a, &body, index, o, NULL, eb);
    buf_release(&body);
out:
    store_conn_put(st, c);
    return e;
}

/* Runs stmt (already bound) and appends each row's column 0 as a JSON array
 * element. */
static enum ltd_err
rows_to_array(struct conn *c, sqlite3_stmt *s, struct buf *out, struct ltd_errbuf *eb)
{
    buf_addc(out, '[');
    int rc, n = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n++)
            buf_addc(out, ',');
        buf_add(out, sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0));
    }
    buf_addc(out, ']');
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return store_sql_fail(eb, c->db, rc, "read rows");
    return LTD_OK;
}

enum ltd_err
store_asset_txs(struct store *st, const struct ltd_hash *asset_id, int op, bool last_only,
                struct buf *out, struct ltd_errbuf *eb)
{
    uint64_t aseq = 0;
    enum ltd_err e = store_tx_seq(st, asset_id, &aseq, eb);
    if (e)
        return e;
    if (aseq == 0) {
        buf_adds(out, "[]");
        return LTD_OK;
    }
    struct conn *c;
    if ((e = store_conn_get(st, &c, eb)))
        return e;
    enum stmt_id id =
        op ? (last_only ? S_ASSET_OP_LAST : S_ASSET_OP) : (last_only ? S_ASSET_LAST : S_ASSET_ALL);
    sqlite3_stmt *s;
    if ((e = conn_stmt(c, id, &s, eb)) == LTD_OK) {
        sqlite3_bind_int64(s, 1, (int64_t)aseq);
        if (op)
            sqlite3_bind_int(s, 2, op);
        e = rows_to_array(c, s, out, eb);
    }
    store_conn_put(st, c);
    return e;
}

static bool
details_has_key(const struct cc_details *d, const struct ltd_pubkey *k)
{
    struct ltd_pubkey keys[tx_keys_max];
    size_t n = cc_details_pubkeys(d, keys, tx_keys_max);
    for (size_t i = 0; i < n && i < tx_keys_max; i++)
        if (memcmp(keys[i].b, k->b, 32) == 0)
            return true;
    return false;
}

enum ltd_err
store_outputs_by_key(struct store *st, const struct ltd_pubkey *key, int spent, struct buf *out,
                     struct ltd_errbuf *eb)
{
    LTD_ASSERT(!st->cfg.readonly); /* the maps are not loaded then */
    struct conn *c;
    enum ltd_err e = store_conn_get(st, &c, eb);
    if (e)
        return e;
    sqlite3_stmt *s;
    struct arena a;
    arena_init(&a);
    struct buf body;
    buf_init(&body);
    uint64_t *okeys = NULL;
    size_t n_okeys = 0;
    pthread_rwlock_rdlock(&st->keys_lock);
    n_okeys = kidx_get(&st->owners, prefix8(key->b), NULL, 0);
    if (n_okeys) {
        okeys = xmalloc(n_okeys * sizeof *okeys);
        kidx_get(&st->owners, prefix8(key->b), okeys, n_okeys);
    }
    pthread_rwlock_unlock(&st->keys_lock);
    if ((e = conn_stmt(c, S_OUT_GET, &s, eb)))
        goto out;
    buf_addc(out, '[');
    int rc = SQLITE_DONE, n = 0;
    for (size_t k = n_okeys; k-- > 0;) { /* newest first in the map */
        uint64_t okey = okeys[k];
        sqlite3_bind_int64(s, 1, (int64_t)okey);
        rc = sqlite3_step(s);
        bool is_spent = rc == SQLITE_ROW && sqlite3_column_type(s, 1) != SQLITE_NULL;
        sqlite3_reset(s);
        if (rc == SQLITE_DONE) /* not in this snapshot */
            continue;
        if (rc != SQLITE_ROW)
            break;
        rc = SQLITE_DONE;
        if ((spent == 0 && is_spent) || (spent == 1 && !is_spent))
            continue;
        uint64_t seq = okey >> store_okey_index_bits, idx = okey & 0xffff;
        arena_release(&a);
        /* Confirm the key really is in the details (pkk is only a prefix). */
        struct store_out o;
        buf_reset(&body);
        sqlite3_stmt *b;
        enum ltd_err e2 = conn_stmt(c, S_TX_BODY, &b, eb);
        (void)e2;
        sqlite3_bind_int64(b, 1, (int64_t)seq);
        if (sqlite3_step(b) != SQLITE_ROW) {
            sqlite3_reset(b);
            continue;
        }
        buf_add(&body, sqlite3_column_blob(b, 0), (size_t)sqlite3_column_bytes(b, 0));
        sqlite3_reset(b);
        memset(&o, 0, sizeof o);
        char txid[65] = {0};
        if (output_from_body(&a, &body, idx, &o, txid, NULL) != LTD_OK ||
            !details_has_key(o.details, key) || txid[0] == 0)
            continue;
        if (n++)
            buf_addc(out, ',');
        buf_adds(out, "{\"transaction_id\":\"");
        buf_add(out, txid, 64);
        buf_addf(out, "\",\"output_index\":%llu}", (unsigned long long)idx);
    }
    buf_addc(out, ']');
    if (rc != SQLITE_DONE)
        e = store_sql_fail(eb, c->db, rc, "read outputs");
out:
    free(okeys);
    buf_release(&body);
    arena_release(&a);
    store_conn_put(st, c);
    return e;
}

/* ------------------------------------------------------------- search */

/* Appends s as one FTS5 string literal ("..." with "" for "). */
static void
fts_quote(struct buf *q, const char *s, size_t n)
{
    buf_addc(q, '"');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            buf_addc(q, '"');
        buf_addc(q, s[i]);
    }
    buf_addc(q, '"');
}

/*
 * Translates MongoDB $text search syntax into an FTS5 expression: plain
 * terms are OR-ed, "quoted phrases" must all match (and then the terms do
 * not widen the match, as in MongoDB), -term excludes.  Returns false when
 * nothing positive is asked for (MongoDB then matches nothing).
 */
static bool
fts_translate(const char *query, struct buf *expr)
{
    struct buf terms, phrases, nots;
    buf_init(&terms);
    buf_init(&phrases);
    buf_init(&nots);
    const char *p = query;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            p++;
        if (!*p)
            break;
        if (*p == '"') {
            const char *e = strchr(p + 1, '"');
            size_t n = e ? (size_t)(e - p - 1) : strlen(p + 1);
            if (n) {
                if (phrases.len)
                    buf_adds(&phrases, " AND ");
                fts_quote(&phrases, p + 1, n);
            }
            p = e ? e + 1 : p + 1 + n;
            continue;
        }
        bool neg = *p == '-';
        if (neg)
            p++;
        const char *start = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r' && *p != '"')
            p++;
        size_t n = (size_t)(p - start);
        if (n == 0)
            continue;
        struct buf *dst = neg ? &nots : &terms;
        if (dst->len)
            buf_adds(dst, " OR "); /* terms are alternatives, and so are the NOT terms */
        fts_quote(dst, start, n);
    }
    bool any = phrases.len || terms.len;
    if (any) {
        buf_addc(expr, '(');
        if (phrases.len)
            buf_add(expr, phrases.p, phrases.len);
        else
            buf_add(expr, terms.p, terms.len);
        buf_addc(expr, ')');
        if (nots.len) {
            buf_adds(expr, " NOT (");
            buf_add(expr, nots.p, nots.len);
            buf_addc(expr, ')');
        }
    }
    buf_release(&terms);
    buf_release(&phrases);
    buf_release(&nots);
    return any;
}

static void
search_row(const struct buf *body, int which, struct arena *a, struct buf *out)
{
    struct cjson *root = NULL;
    if (cjson_parse(a, body->p, body->len, NULL, &root, NULL) != LTD_OK)
        return;
    struct cjson *id = cjson_get(root, "id");
    if (id == NULL)
        return;
    if (which == 0) {
        buf_adds(out, "{\"data\":");
        struct cjson *data = cjson_get(cjson_get(root, "asset"), "data");
        cjson_canonical(data ? data : &cjson_null_value, out);
        buf_adds(out, ",\"id\":");
        cjson_canonical(id, out);
        buf_addc(out, '}');
    } else {
        buf_adds(out, "{\"id\":");
        cjson_canonical(id, out);
        buf_adds(out, ",\"metadata\":");
        struct cjson *md = cjson_get(root, "metadata");
        cjson_canonical(md ? md : &cjson_null_value, out);
        buf_addc(out, '}');
    }
}

enum ltd_err
store_search(struct store *st, int which, const char *query, uint32_t limit, struct buf *out,
             struct ltd_errbuf *eb)
{
    struct buf expr, body;
    buf_init(&expr);
    buf_init(&body);
    if (!fts_translate(query, &expr)) {
        buf_adds(out, "[]");
        return LTD_OK;
    }
    struct conn *c;
    enum ltd_err e = store_fts_wait(st->fts, eb);
    if (e || (e = store_conn_get(st, &c, eb)))
        goto out0;
    sqlite3_stmt *s;
    if ((e = conn_stmt(c, which == 0 ? S_SEARCH_ASSET : S_SEARCH_META, &s, eb)))
        goto out;
    sqlite3_bind_text(s, 1, expr.p, (int)expr.len, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, limit ? (int64_t)limit : -1);
    struct arena a;
    arena_init(&a);
    int rc, n = 0;
    uint64_t *seqs = NULL;
    size_t ns = 0, cap = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (ns == cap) {
            cap = cap ? cap * 2 : 64;
            seqs = xrealloc(seqs, sizeof *seqs * cap);
        }
        seqs[ns++] = (uint64_t)sqlite3_column_int64(s, 0);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        e = (rc == SQLITE_ERROR) ? LTD_OK : store_sql_fail(eb, c->db, rc, "search");
        ns = 0; /* a query FTS5 cannot parse matches nothing */
    }
    buf_addc(out, '[');
    for (size_t i = 0; i < ns && e == LTD_OK; i++) {
        buf_reset(&body);
        if (body_on(c, seqs[i], &body, NULL, NULL) != LTD_OK)
            continue;
        if (n++)
            buf_addc(out, ',');
        search_row(&body, which, &a, out);
        arena_release(&a);
    }
    buf_addc(out, ']');
    free(seqs);
    arena_release(&a);
out:
    store_conn_put(st, c);
out0:
    buf_release(&expr);
    buf_release(&body);
    return e;
}

/* --------------------------------------------------------------- blocks */

static void
block_from_row(sqlite3_stmt *s, struct store_block *b)
{
    memset(b, 0, sizeof *b);
    b->height = (uint64_t)sqlite3_column_int64(s, 0);
    b->time_ms = (uint64_t)sqlite3_column_int64(s, 1);
    b->n_tx = (uint32_t)sqlite3_column_int64(s, 2);
    b->first_seq = (uint64_t)sqlite3_column_int64(s, 3);
    if (sqlite3_column_bytes(s, 4) == 32)
        memcpy(b->prev_hash.b, sqlite3_column_blob(s, 4), 32);
    if (sqlite3_column_bytes(s, 5) == 32)
        memcpy(b->txs_hash.b, sqlite3_column_blob(s, 5), 32);
    if (sqlite3_column_bytes(s, 6) == 32)
        memcpy(b->hash.b, sqlite3_column_blob(s, 6), 32);
}

static enum ltd_err
block_query(struct store *st, enum stmt_id id, uint64_t height, struct store_block *b,
            struct ltd_errbuf *eb)
{
    struct conn *c;
    enum ltd_err e = store_conn_get(st, &c, eb);
    if (e)
        return e;
    sqlite3_stmt *s;
    if ((e = conn_stmt(c, id, &s, eb)) == LTD_OK) {
        if (id == S_BLOCK_GET)
            sqlite3_bind_int64(s, 1, (int64_t)height);
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW)
            block_from_row(s, b);
        else if (rc == SQLITE_DONE)
            e = ltd_fail(eb, LTD_E_NOT_FOUND, "no block");
        else
            e = store_sql_fail(eb, c->db, rc, "read block");
        sqlite3_reset(s);
    }
    store_conn_put(st, c);
    return e;
}

enum ltd_err
store_block_get(struct store *st, uint64_t height, struct store_block *b, struct ltd_errbuf *eb)
{
    return block_query(st, S_BLOCK_GET, height, b, eb);
}

enum ltd_err
store_head(struct store *st, struct store_block *b, struct ltd_errbuf *eb)
{
    return block_query(st, S_BLOCK_HEAD, 0, b, eb);
}

enum ltd_err
store_block_txs(struct store *st, const struct store_block *b, struct buf *out,
                struct ltd_errbuf *eb)
{
    struct conn *c;
    enum ltd_err e = store_conn_get(st, &c, eb);
    if (e)
        return e;
    sqlite3_stmt *s;
    if ((e = conn_stmt(c, S_BLOCK_TXS, &s, eb)) == LTD_OK) {
        sqlite3_bind_int64(s, 1, (int64_t)b->first_seq);
        sqlite3_bind_int64(s, 2, (int64_t)(b->first_seq + b->n_tx));
        e = rows_to_array(c, s, out, eb);
    }
    store_conn_put(st, c);
    return e;
}

enum ltd_err
store_block_of_tx(struct store *st, const struct ltd_hash *id, int64_t *height,
                  struct ltd_errbuf *eb)
{
    *height = -1;
    uint64_t seq = 0;
    enum ltd_err e = store_tx_seq(st, id, &seq, eb);
    if (e || seq == 0)
        return e;
    struct conn *c;
    if ((e = store_conn_get(st, &c, eb)))
        return e;
    sqlite3_stmt *s;
    if ((e = conn_stmt(c, S_BLOCK_OF_SEQ, &s, eb)) == LTD_OK) {
        sqlite3_bind_int64(s, 1, (int64_t)seq);
        if (sqlite3_step(s) == SQLITE_ROW)
            *height = sqlite3_column_int64(s, 0);
        sqlite3_reset(s);
    }
    store_conn_put(st, c);
    return e;
}

enum ltd_err
store_counts(struct store *st, uint64_t *n_tx, uint64_t *n_blocks, struct ltd_errbuf *eb)
{
    struct conn *c;
    enum ltd_err e = store_conn_get(st, &c, eb);
    if (e)
        return e;
    sqlite3_stmt *s;
    if ((e = conn_stmt(c, S_COUNT_TX, &s, eb)) == LTD_OK) {
        if (sqlite3_step(s) == SQLITE_ROW)
            *n_tx = (uint64_t)sqlite3_column_int64(s, 0);
        sqlite3_reset(s);
    }
    if (e == LTD_OK && (e = conn_stmt(c, S_COUNT_BLOCKS, &s, eb)) == LTD_OK) {
        if (sqlite3_step(s) == SQLITE_ROW)
            *n_blocks = (uint64_t)sqlite3_column_int64(s, 0);
        sqlite3_reset(s);
    }
    store_conn_put(st, c);
    return e;
}

enum ltd_err
store_scan_txs(struct store *st, uint64_t from_seq, uint64_t to_seq, store_tx_cb cb, void *ctx,
               struct ltd_errbuf *eb)
{
    struct conn *c;
    enum ltd_err e = store_conn_get(st, &c, eb);
    if (e)
        return e;
    sqlite3_stmt *s;
    if ((e = conn_stmt(c, S_SCAN_TXS, &s, eb)) == LTD_OK) {
        sqlite3_bind_int64(s, 1, (int64_t)from_seq);
        sqlite3_bind_int64(s, 2, (int64_t)(to_seq > INT64_MAX ? INT64_MAX : to_seq));
        int rc;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            struct ltd_hash id;
            memset(&id, 0, sizeof id);
            if (sqlite3_column_bytes(s, 2) == 32)
                memcpy(id.b, sqlite3_column_blob(s, 2), 32);
            if (cb(ctx, (uint64_t)sqlite3_column_int64(s, 0), (uint64_t)sqlite3_column_int64(s, 1),
                   &id, (const char *)sqlite3_column_blob(s, 3),
                   (size_t)sqlite3_column_bytes(s, 3)))
                break;
        }
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            e = store_sql_fail(eb, c->db, rc, "scan txs");
        sqlite3_reset(s);
    }
    store_conn_put(st, c);
    return e;
}

enum ltd_err
store_scan_blocks(struct store *st, store_block_cb cb, void *ctx, struct ltd_errbuf *eb)
{
    struct conn *c;
    enum ltd_err e = store_conn_get(st, &c, eb);
    if (e)
        return e;
    sqlite3_stmt *s;
    if ((e = conn_stmt(c, S_SCAN_BLOCKS, &s, eb)) == LTD_OK) {
        int rc;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            struct store_block b;
            block_from_row(s, &b);
            if (cb(ctx, &b))
                break;
        }
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            e = store_sql_fail(eb, c->db, rc, "scan blocks");
        sqlite3_reset(s);
    }
    store_conn_put(st, c);
    return e;
}

void
store_block_hash(const char *chain_id, const struct store_block *b, struct ltd_hash *out)
{
    char prev[65], txs[65];
    hex_encode(prev, b->prev_hash.b, 32);
    hex_encode(txs, b->txs_hash.b, 32);
    struct buf h;
    buf_init(&h);
    /* Keys in canonical (sorted) order; chain_id is hex, so no escaping. */
    buf_addf(&h,
             "{\"chain_id\":\"%s\",\"height\":%llu,\"n_tx\":%u,\"prev_hash\":\"%s\","
             "\"time_ms\":%llu,\"txs_hash\":\"%s\"}",
             chain_id, (unsigned long long)b->height, b->n_tx, prev, (unsigned long long)b->time_ms,
             txs);
    codec_sha3_256(out, h.p, h.len);
    buf_release(&h);
}

enum ltd_err
store_lstmt(struct conn *c, int id, const char *sql, sqlite3_stmt **out, struct ltd_errbuf *eb)
{
    LTD_ASSERT(id >= 0 && id < store_lstmts_max);
    if (c->lstmt[id] == NULL) {
        int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &c->lstmt[id], NULL);
        if (rc != SQLITE_OK)
            return store_sql_fail(eb, c->db, rc, "prepare");
    }
    *out = c->lstmt[id];
    sqlite3_reset(*out);
    sqlite3_clear_bindings(*out);
    return LTD_OK;
}

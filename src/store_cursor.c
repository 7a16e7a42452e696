/*
 * store_cursor.c - the audit's read cursors (see store_cursor.h).
 *
 * Each cursor opens a read-only connection of its own to the store's
 * database file (its name taken from a pooled connection) with a small page
 * cache: a sequential scan gains nothing from a large one, and on the
 * project machine every fresh page of memory costs about 20 us to touch
 * the first time (a pooled reader's 16 MiB cache filled by a scan costs
 * some 80 ms), while mapping the file (mmap_size) costs about 3 us per
 * 4 KiB page, no less than reading it.
 *
 * Not here: checks of what is read.
 */
#include "store_cursor.h"

#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    cursor_cache_kib = 2048, /* page cache of a cursor's connection */
    cursor_busy_ms = 5000,   /* as the store's own connections */
};

enum cursor_stmt { CS_BLOCKS, CS_TXS, CS_COUNT };

static const char *const cursor_sql[CS_COUNT] = {
    [CS_BLOCKS] = "SELECT height, time_ms, n_tx, first_seq, prev_hash, txs_hash, hash "
                  "FROM block WHERE height >= ?1 AND height <= ?2 ORDER BY height",
    [CS_TXS] = "SELECT seq, height, id, body FROM tx WHERE seq >= ?1 AND seq <= ?2 ORDER BY seq",
};

struct store_cursor {
    sqlite3 *db;                  /* owned */
    sqlite3_stmt *stmt[CS_COUNT]; /* owned; finalized at close */
};

static int64_t
clamp_i64(uint64_t x)
{
    return x > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)x;
}

/* The file name of st's database, from a pooled connection. */
static enum ltd_err
db_path(struct store *st, char **out, struct ltd_errbuf *eb)
{
    struct conn *c = NULL;
    enum ltd_err e = store_conn_get(st, &c, eb);
    if (e)
        return e;
    const char *name = sqlite3_db_filename(c->db, "main");
    if (name == NULL || name[0] == 0) {
        e = ltd_fail(eb, LTD_E_STORE_IO, "cursor: the store has no database file");
    } else {
        size_t n = strlen(name);
        *out = xmalloc(n + 1);
        memcpy(*out, name, n + 1);
    }
    store_conn_put(st, c);
    return e;
}

enum ltd_err
store_cursor_open(struct store *st, struct store_cursor **out, struct ltd_errbuf *eb)
{
    LTD_ASSERT(st != NULL);
    LTD_ASSERT(out != NULL);
    *out = NULL;
    char *path = NULL;
    enum ltd_err e = db_path(st, &path, eb);
    if (e)
        return e;
    struct store_cursor *cur = xcalloc(1, sizeof *cur);
    int rc = sqlite3_open_v2(path, &cur->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    char sql[96];
    snprintf(sql, sizeof sql, "PRAGMA cache_size=-%d; PRAGMA query_only=1; PRAGMA mmap_size=0",
             (int)cursor_cache_kib);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(cur->db, cursor_busy_ms);
        rc = sqlite3_exec(cur->db, sql, NULL, NULL, NULL);
    }
    for (int i = 0; rc == SQLITE_OK && i < CS_COUNT; i++)
        rc = sqlite3_prepare_v2(cur->db, cursor_sql[i], -1, &cur->stmt[i], NULL);
    if (rc != SQLITE_OK) {
        e = store_sql_fail(eb, cur->db, rc, "cursor open");
        goto out;
    }
    *out = cur;
    cur = NULL;
out:
    store_cursor_close(cur);
    free(path);
    return e;
}

void
store_cursor_close(struct store_cursor *cur)
{
    if (cur == NULL)
        return;
    for (int i = 0; i < CS_COUNT; i++)
        sqlite3_finalize(cur->stmt[i]);
    sqlite3_close(cur->db);
    free(cur);
}

/* One int64 from a one-row query; *v untouched when the value is NULL. */
static enum ltd_err
query_int(struct store_cursor *cur, const char *sql, int64_t *v, struct ltd_errbuf *eb)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(cur->db, sql, -1, &s, NULL);
    if (rc != SQLITE_OK)
        return store_sql_fail(eb, cur->db, rc, "cursor prepare");
    enum ltd_err e = LTD_OK;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        if (sqlite3_column_type(s, 0) != SQLITE_NULL)
            *v = sqlite3_column_int64(s, 0);
    } else {
        e = store_sql_fail(eb, cur->db, rc, "cursor bounds");
    }
    sqlite3_finalize(s);
    return e;
}

enum ltd_err
store_cursor_bounds(struct store_cursor *cur, int64_t *max_height, uint64_t *max_seq,
                    struct ltd_errbuf *eb)
{
    LTD_ASSERT(cur != NULL);
    *max_height = -1;
    *max_seq = 0;
    int rc = sqlite3_exec(cur->db, "BEGIN", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return store_sql_fail(eb, cur->db, rc, "cursor begin");
    int64_t seq = 0;
    enum ltd_err e = query_int(cur, "SELECT MAX(height) FROM block", max_height, eb);
    if (e == LTD_OK)
        e = query_int(cur, "SELECT MAX(seq) FROM tx", &seq, eb);
    (void)sqlite3_exec(cur->db, "COMMIT", NULL, NULL, NULL);
    *max_seq = seq > 0 ? (uint64_t)seq : 0;
    return e;
}

static enum ltd_err
start(struct store_cursor *cur, enum cursor_stmt id, uint64_t from, uint64_t to,
      struct ltd_errbuf *eb)
{
    sqlite3_stmt *s = cur->stmt[id];
    sqlite3_reset(s);
    int rc = sqlite3_bind_int64(s, 1, clamp_i64(from));
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(s, 2, clamp_i64(to));
    return rc == SQLITE_OK ? LTD_OK : store_sql_fail(eb, cur->db, rc, "cursor bind");
}

enum ltd_err
store_cursor_blocks(struct store_cursor *cur, uint64_t from, uint64_t to, struct ltd_errbuf *eb)
{
    LTD_ASSERT(cur != NULL);
    return start(cur, CS_BLOCKS, from, to, eb);
}

enum ltd_err
store_cursor_txs(struct store_cursor *cur, uint64_t from, uint64_t to, struct ltd_errbuf *eb)
{
    LTD_ASSERT(cur != NULL);
    return start(cur, CS_TXS, from, to, eb);
}

/* Copies a 32-byte blob column; false (and zeroes) when it has another size. */
static bool
hash_col(sqlite3_stmt *s, int col, struct ltd_hash *h)
{
    if (sqlite3_column_bytes(s, col) != 32) {
        memset(h->b, 0, sizeof h->b);
        return false;
    }
    memcpy(h->b, sqlite3_column_blob(s, col), 32);
    return true;
}

enum ltd_err
store_cursor_block_next(struct store_cursor *cur, struct store_block *b, bool *got,
                        struct ltd_errbuf *eb)
{
    sqlite3_stmt *s = cur->stmt[CS_BLOCKS];
    memset(b, 0, sizeof *b);
    *got = false;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE)
        return LTD_OK;
    if (rc != SQLITE_ROW)
        return store_sql_fail(eb, cur->db, rc, "cursor blocks");
    b->height = (uint64_t)sqlite3_column_int64(s, 0);
    b->time_ms = (uint64_t)sqlite3_column_int64(s, 1);
    b->n_tx = (uint32_t)sqlite3_column_int64(s, 2);
    b->first_seq = (uint64_t)sqlite3_column_int64(s, 3);
    (void)hash_col(s, 4, &b->prev_hash);
    (void)hash_col(s, 5, &b->txs_hash);
    (void)hash_col(s, 6, &b->hash);
    *got = true;
    return LTD_OK;
}

enum ltd_err
store_cursor_tx_next(struct store_cursor *cur, struct store_cursor_tx *row, bool *got,
                     struct ltd_errbuf *eb)
{
    sqlite3_stmt *s = cur->stmt[CS_TXS];
    memset(row, 0, sizeof *row);
    *got = false;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE)
        return LTD_OK;
    if (rc != SQLITE_ROW)
        return store_sql_fail(eb, cur->db, rc, "cursor txs");
    row->seq = (uint64_t)sqlite3_column_int64(s, 0);
    row->height = (uint64_t)sqlite3_column_int64(s, 1);
    row->id_ok = hash_col(s, 2, &row->id);
    row->body = sqlite3_column_blob(s, 3);
    row->len = (size_t)sqlite3_column_bytes(s, 3);
    if (row->body == NULL)
        row->body = "";
    *got = true;
    return LTD_OK;
}

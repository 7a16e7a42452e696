/*
 * store_int.h - internals shared by the store's files (store.c and
 * store_ltdrs.c).  Not for other modules: they use store.h.
 */
#ifndef LTD_STORE_INT_H
#define LTD_STORE_INT_H

#include "store.h"

#include <sqlite3.h>

enum { store_lstmts_max = 64, store_stmts_max = 32 };

/* One SQLite connection with its cached statements. */
struct conn {
    sqlite3 *db;
    sqlite3_stmt *stmt[store_stmts_max];   /* store.c's statements */
    sqlite3_stmt *lstmt[store_lstmts_max]; /* store_ltdrs.c's statements */
    struct conn *next;                     /* free list of the reader pool */
};

/* The connection for this thread (the writer's inside the applier's open
 * block, else a pooled reader).  Pair every get with a put. */
enum ltd_err store_conn_get(struct store *st, struct conn **out, struct ltd_errbuf *eb);
void store_conn_put(struct store *st, struct conn *c);
/* A cached statement of store_ltdrs.c: slot id holds sql (always the same
 * sql for one id), reset and unbound. */
enum ltd_err store_lstmt(struct conn *c, int id, const char *sql, sqlite3_stmt **out,
                         struct ltd_errbuf *eb);
enum ltd_err store_sql_fail(struct ltd_errbuf *eb, sqlite3 *db, int rc, const char *what);
/* Steps a statement that returns no rows; resets it. */
enum ltd_err store_step_done(struct conn *c, sqlite3_stmt *s, const char *what,
                             struct ltd_errbuf *eb);

/* The full-text indexer (store_fts.c): search.db, written off the commit
 * path by its own thread.  The applier calls add for each transaction of
 * the open block, then committed or rolledback; searches call wait first. */
struct store_fts;
LTD_MUST_CHECK enum ltd_err store_fts_open(const char *dir, uint64_t committed,
                                           struct store_fts **out, struct ltd_errbuf *eb);
void store_fts_close(struct store_fts *f);
void store_fts_add(struct store_fts *f, uint64_t seq, const struct tx *t);
void store_fts_committed(struct store_fts *f, uint64_t last_seq);
void store_fts_rolledback(struct store_fts *f);
LTD_MUST_CHECK enum ltd_err store_fts_wait(struct store_fts *f, struct ltd_errbuf *eb);
/* ATTACHes search.db as "s" to a reader connection (if the file exists). */
LTD_MUST_CHECK enum ltd_err store_fts_attach(sqlite3 *db, const char *dir, struct ltd_errbuf *eb);

#endif

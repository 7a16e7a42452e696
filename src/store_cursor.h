/*
 * store_cursor.h - sequential read cursors over the block and tx tables for
 * the audit (`ltdrs verify`): one cursor per thread, each on a read
 * connection of its own, stepping rows in key order without copying the
 * transaction bodies.
 *
 * A cursor holds a read-only connection of its own, with a small page
 * cache, and its prepared statements; reads never block the node's writer.  Each range
 * query sees the committed state when its first row is stepped, so a range
 * of blocks known to be committed is always complete (blocks and their
 * transactions are committed together).
 *
 * Not here: any checking (audit.c decides), writing.
 */
#ifndef LTD_STORE_CURSOR_H
#define LTD_STORE_CURSOR_H

#include "store.h"

struct store_cursor;

/* One transaction row as stored.  body is borrowed from SQLite and valid
 * until the next store_cursor_tx_next or store_cursor_close. */
struct store_cursor_tx {
    uint64_t seq;
    uint64_t height;
    struct ltd_hash id; /* the id column (zero when it is not 32 bytes) */
    bool id_ok;         /* the id column held exactly 32 bytes */
    const char *body;
    size_t len;
};

/* Opens a cursor on a read-only connection of its own to st's database.
 * [out] out  the cursor; the caller closes it with store_cursor_close.
 * Returns LTD_OK or a store error (LTD_E_STORE_*). */
LTD_MUST_CHECK enum ltd_err store_cursor_open(struct store *st, struct store_cursor **out,
                                              struct ltd_errbuf *eb);
/* Returns the connection to the store's pool and frees the cursor (NULL ok). */
void store_cursor_close(struct store_cursor *cur);

/* The highest block height (-1: no block) and the highest transaction seq (0:
 * none), read in one read transaction so that they belong together. */
LTD_MUST_CHECK enum ltd_err store_cursor_bounds(struct store_cursor *cur, int64_t *max_height,
                                                uint64_t *max_seq, struct ltd_errbuf *eb);

/* Starts a walk over the blocks with from <= height <= to, in height order;
 * step with store_cursor_block_next until *got is false. */
LTD_MUST_CHECK enum ltd_err store_cursor_blocks(struct store_cursor *cur, uint64_t from,
                                                uint64_t to, struct ltd_errbuf *eb);
LTD_MUST_CHECK enum ltd_err store_cursor_block_next(struct store_cursor *cur, struct store_block *b,
                                                    bool *got, struct ltd_errbuf *eb);

/* Starts a walk over the transactions with from <= seq <= to, in seq order;
 * step with store_cursor_tx_next until *got is false. */
LTD_MUST_CHECK enum ltd_err store_cursor_txs(struct store_cursor *cur, uint64_t from, uint64_t to,
                                             struct ltd_errbuf *eb);
LTD_MUST_CHECK enum ltd_err store_cursor_tx_next(struct store_cursor *cur,
                                                 struct store_cursor_tx *row, bool *got,
                                                 struct ltd_errbuf *eb);

#endif

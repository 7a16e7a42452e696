/*
 * store.h - the ledger's storage on SQLite (WAL).
 *
 * Layout (migrations 0001-0004), designed so that every write is an append
 * in commit order; the two random-key indexes live in memory:
 *   meta(k, v)                     genesis record, chain id, admin key
 *   block(height PK, ...)          one row per block, hash chain
 *   block_keys(height PK, first_seq, idks, owners)
 *                                  per block: the 8-byte id prefix of each tx
 *                                  and the (owner key prefix, okey) pairs of
 *                                  its outputs; read back at open into the
 *                                  in-memory maps (kidx.h) id -> seq and
 *                                  owner -> outputs (every candidate is
 *                                  confirmed against the stored row)
 *   tx(seq PK, idk, id, height, op, asset_seq, body)
 *                                  seq assigned in commit order; body is the
 *                                  canonical JSON
 *   out(okey PK, amount, spent_by) okey = seq << 16 | output index; spent_by =
 *                                  seq of the spender or NULL
 *   l_*                            LTDRS domain state (store_ltdrs.c)
 * and, in its own file search.db (store_fts.c, off the commit path):
 *   fts_asset, fts_meta            FTS5 over string values (rowid = seq)
 *
 * Threads: one writer (struct store_writer, used by the block applier only)
 * holds the write connection; every other thread reads through its own
 * read-only connection (store_reader), so reads never block writes.
 * Every write goes through store_run_txn (rule 18).
 *
 * Not here: validation (rules.c decides; the store only records), HTTP.
 */
#ifndef LTD_STORE_H
#define LTD_STORE_H

#include "err.h"
#include "ltd.h"
#include "tx.h"

struct store;

enum { store_txn_retries_max = 50, store_okey_index_bits = 16 };

struct store_config {
    const char *dir; /* data directory (holds ledger.db) */
    bool sync_full;  /* synchronous=FULL (ack = durable); false only for tests */
    int cache_mib;   /* page cache of the writer, MiB */
    bool readonly;   /* open for audit only: no in-memory key maps, so no
                        store_tx_seq / store_outputs_by_key (asserted) */
};

/* Opens (creating and migrating if needed) the store in cfg->dir. */
LTD_MUST_CHECK enum ltd_err store_open(const struct store_config *cfg, struct store **out,
                                       struct ltd_errbuf *eb);
void store_close(struct store *st);

/* ---- meta ---- */
LTD_MUST_CHECK enum ltd_err store_meta_get(struct store *st, const char *key, struct buf *val,
                                           struct ltd_errbuf *eb); /* LTD_E_NOT_FOUND */
LTD_MUST_CHECK enum ltd_err store_meta_put(struct store *st, const char *key, const void *val,
                                           size_t n, struct ltd_errbuf *eb);

/* ---- writing (applier thread only) ---- */

/* Begins a write transaction for one block (BEGIN IMMEDIATE). */
LTD_MUST_CHECK enum ltd_err store_block_begin(struct store *st, struct ltd_errbuf *eb);
/* Appends one validated transaction to the open block: tx row, outputs,
 * spent markers, owner index, FTS.  seq is assigned here and returned. */
LTD_MUST_CHECK enum ltd_err store_block_add_tx(struct store *st, const struct tx *t,
                                               const char *body, size_t body_len, uint64_t height,
                                               uint64_t *seq_out, struct ltd_errbuf *eb);
/* Writes the block row and commits (synced when sync_full). */
struct store_block {
    uint64_t height;
    uint64_t time_ms;
    uint32_t n_tx;
    uint64_t first_seq;
    struct ltd_hash prev_hash;
    struct ltd_hash txs_hash;
    struct ltd_hash hash;
};
LTD_MUST_CHECK enum ltd_err store_block_commit(struct store *st, const struct store_block *b,
                                               struct ltd_errbuf *eb);
void store_block_rollback(struct store *st);

/* ---- reading (any thread; the applier reads through its write connection
 * and so sees its own uncommitted block) ---- */

/* The committed or in-block transaction with this id: seq (0 = absent). */
LTD_MUST_CHECK enum ltd_err store_tx_seq(struct store *st, const struct ltd_hash *id, uint64_t *seq,
                                         struct ltd_errbuf *eb);
/* Body (canonical JSON) of a transaction by seq; LTD_E_NOT_FOUND. */
LTD_MUST_CHECK enum ltd_err store_tx_body(struct store *st, uint64_t seq, struct buf *body,
                                          uint64_t *height, struct ltd_errbuf *eb);
struct store_out {
    uint64_t amount;
    uint64_t spent_by; /* seq of the spender, 0 if unspent */
    uint64_t tx_seq;
    struct ltd_hash asset_id;
    struct cc_details *details; /* arena-allocated */
};
/* Looks up output (txid, index).  LTD_E_INPUT_MISSING if the tx is
 * unknown, LTD_E_OUTPUT_INDEX if it has no such output. */
LTD_MUST_CHECK enum ltd_err store_output(struct store *st, struct arena *a,
                                         const struct ltd_hash *txid, uint64_t index,
                                         struct store_out *out, struct ltd_errbuf *eb);

/* Transactions of an asset in commit order; op 0 = any, else TX_CREATE/TX_TRANSFER;
 * last_only returns at most the newest.  Appends each body to a JSON array in out. */
LTD_MUST_CHECK enum ltd_err store_asset_txs(struct store *st, const struct ltd_hash *asset_id,
                                            int op, bool last_only, struct buf *out,
                                            struct ltd_errbuf *eb);
/* Outputs whose details contain key; spent: -1 any, 0 unspent, 1 spent.
 * Appends [{"transaction_id":..,"output_index":..},...] to out. */
LTD_MUST_CHECK enum ltd_err store_outputs_by_key(struct store *st, const struct ltd_pubkey *key,
                                                 int spent, struct buf *out, struct ltd_errbuf *eb);
/* Full-text search: which = 0 assets, 1 metadata; limit 0 = none.  Appends
 * the BigchainDB result array to out. */
LTD_MUST_CHECK enum ltd_err store_search(struct store *st, int which, const char *query,
                                         uint32_t limit, struct buf *out, struct ltd_errbuf *eb);

/* Blocks. */
LTD_MUST_CHECK enum ltd_err store_block_get(struct store *st, uint64_t height,
                                            struct store_block *b, struct ltd_errbuf *eb);
LTD_MUST_CHECK enum ltd_err store_block_txs(struct store *st, const struct store_block *b,
                                            struct buf *out_json_array, struct ltd_errbuf *eb);
LTD_MUST_CHECK enum ltd_err store_head(struct store *st, struct store_block *b,
                                       struct ltd_errbuf *eb); /* latest block */
LTD_MUST_CHECK enum ltd_err store_block_of_tx(struct store *st, const struct ltd_hash *id,
                                              int64_t *height, struct ltd_errbuf *eb);
/* -1 when absent */

/* Counts for status pages. */
LTD_MUST_CHECK enum ltd_err store_counts(struct store *st, uint64_t *n_tx, uint64_t *n_blocks,
                                         struct ltd_errbuf *eb);

/* Iterates all transactions in commit order (audit).  cb returns non-zero
 * to stop. */
typedef int (*store_tx_cb)(void *ctx, uint64_t seq, uint64_t height, const struct ltd_hash *id,
                           const char *body, size_t n);
LTD_MUST_CHECK enum ltd_err store_scan_txs(struct store *st, uint64_t from_seq, uint64_t to_seq,
                                           store_tx_cb cb, void *ctx, struct ltd_errbuf *eb);
typedef int (*store_block_cb)(void *ctx, const struct store_block *b);
LTD_MUST_CHECK enum ltd_err store_scan_blocks(struct store *st, store_block_cb cb, void *ctx,
                                              struct ltd_errbuf *eb);

/* The block hash: SHA3-256 of the canonical header
 * {"chain_id":..,"height":..,"prev_hash":..,"time_ms":..,"txs_hash":..}. */
void store_block_hash(const char *chain_id, const struct store_block *b, struct ltd_hash *out);

#endif

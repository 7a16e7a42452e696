/*
 * audit_int.h - what the audit's files (audit.c, audit_tx.c) share.  Not for
 * other modules: they call node_verify_dir (node.h).
 *
 * The audit runs in two passes.  Pass 1, on every worker thread over chunks
 * of consecutive blocks: each stored transaction is parsed once and checked
 * on its own (id, schema, signatures, tightenings), and leaves a compact
 * record: its outputs (amount and a digest of what may spend it) and its
 * inputs (what they spend and the same digest computed from the spending
 * side).  Pass 2, on one thread in commit order: duplicates and spends over
 * a hash map of those records, without touching the store again.
 */
#ifndef LTD_AUDIT_INT_H
#define LTD_AUDIT_INT_H

#include "err.h"
#include "ltd.h"
#include "store.h"
#include "store_cursor.h"
#include "tx.h"

#include <pthread.h>

enum { audit_lock_bytes = 16 };

/*
 * The "lock" of an output: a keyed digest of its condition (type, cost,
 * subtypes, fingerprint) and of the set of keys in its details.  An input
 * carries the same digest of its fulfillment's derived condition and of its
 * owners_before set, so the two are equal exactly when tx_verify_input's
 * condition and owners checks would pass (the signature itself is checked
 * in pass 1).  A mismatch is re-checked with tx_verify_input for the
 * precise verdict.
 */
struct audit_lock {
    uint8_t b[audit_lock_bytes];
};

struct audit_out {
    uint64_t amount;
    struct audit_lock lock;
    bool spent; /* set by pass 2 */
};

struct audit_in {
    struct ltd_hash txid; /* the transaction whose output is spent */
    uint64_t index;       /* its output index */
    struct audit_lock lock;
};

/* One stored transaction as pass 1 leaves it. */
struct audit_rec {
    struct ltd_hash id;
    struct ltd_hash asset; /* CREATE: the id */
    uint64_t seq;
    uint64_t height;
    uint32_t out_first, n_out; /* into the chunk's out[] */
    uint32_t in_first, n_in;   /* into the chunk's in[] (TRANSFER only) */
    struct audit_out *out;     /* resolved before pass 2 */
    struct audit_in *in;       /* resolved before pass 2 */
    uint8_t op;                /* enum tx_op */
    bool parsed;               /* outputs known: the tx enters pass 2 */
};

/* A run of consecutive blocks [b0, b1) and what pass 1 found in them. */
struct audit_chunk {
    uint32_t b0, b1;
    struct audit_rec *rec;
    uint32_t n_rec, cap_rec;
    struct audit_out *out;
    uint32_t n_out, cap_out;
    struct audit_in *in;
    uint32_t n_in, cap_in;
};

/* Where a failure sorts among failures of the same transaction: the
 * reference's order (block, then the body, then ledger state, then
 * signatures, then the tightenings). */
enum audit_rank {
    AUDIT_RANK_BLOCK = 0,
    AUDIT_RANK_PARSE = 1,
    AUDIT_RANK_STATE = 2,
    AUDIT_RANK_SIG = 3,
    AUDIT_RANK_STRICT = 4,
};

/* The first failure in commit order, shared by all threads. */
struct audit_fail {
    pthread_mutex_t lock;
    uint64_t key; /* seq << 3 | rank; UINT64_MAX: none */
    int64_t height;
    char txid[65];
    char msg[errmsg_bytes_max];
};

/* Records a failure at (seq, rank) unless an earlier one is known.  id may
 * be NULL (block-level failures). */
void audit_fail_at(struct audit_fail *f, uint64_t seq, enum audit_rank rank, int64_t height,
                   const struct ltd_hash *id, const char *fmt, ...) LTD_PRINTF(6, 7);

/* ---- audit_tx.c: one transaction on its own ---- */

/* Per-thread scratch (arena, buffers, hash contexts), reused across
 * transactions so that checking one allocates nothing in the common case. */
struct audit_txck;
struct audit_txck *audit_txck_new(void);
void audit_txck_free(struct audit_txck *k);

/*
 * Checks one stored transaction: parses the body once, checks the id against
 * the hash of the canonical body and against the id column, the schema and
 * the stateless rules, every signature (CREATE: against its owners; TRANSFER:
 * against the fulfillment's keys, the spent condition being compared in pass
 * 2), and tx_check_strict.  Appends the transaction's record to ch (parsed =
 * false when the body is unusable) and reports failures through f.
 */
void audit_tx_check(struct audit_txck *k, const struct store_cursor_tx *row, struct audit_chunk *ch,
                    struct audit_fail *f);

/*
 * The precise verdict on input i of the transaction with seq `seq`, spending
 * output `index` of the transaction with seq `src_seq` (both read from st):
 * tx_verify_input with the spent output's details.  Used when the locks
 * differ.  Returns LTD_OK or the failure (message in eb); store errors come
 * back as such.
 */
LTD_MUST_CHECK enum ltd_err audit_tx_input_exact(struct store *st, uint64_t seq, uint32_t i,
                                                 uint64_t src_seq, uint64_t index,
                                                 struct ltd_errbuf *eb);

#endif

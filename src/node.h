/*
 * node.h - the ledger node: genesis, the submit path (CheckTx against
 * committed state, then into the ordered log), the block applier
 * (deterministic validation against committed state plus the block being
 * built, group commit with one synced SQLite commit per block), and the
 * listeners told about every committed block.
 *
 * The ordering of transactions sits behind struct node_log (submit ->
 * ordered log -> apply).  The local log is an in-memory queue; a cluster
 * replaces it with etcd without touching validation or storage.
 *
 * Not here: HTTP.  api.c translates between requests and these calls.
 */
#ifndef LTD_NODE_H
#define LTD_NODE_H

#include "err.h"
#include "ltd.h"
#include "store.h"
#include "tx.h"

struct node;

struct node_config {
    const char *data_dir;
    bool sync_full;             /* synchronous=FULL: a commit ack means on disk */
    uint32_t block_txs_max;     /* close a block at this many transactions */
    uint32_t block_wait_us;     /* ... or when the oldest waited this long */
    uint32_t queue_max;         /* pending transactions; beyond: 503 */
    uint32_t commit_timeout_ms; /* commit-mode wait before 504 */
    int cache_mib;
};
void node_config_defaults(struct node_config *cfg);

/* The genesis record, written once by node_init. */
struct node_genesis {
    char chain_id[65];           /* random, hex */
    uint64_t created_ms;
    struct ltd_pubkey admin;     /* the school admin's public key */
    struct ltd_hash hash;        /* SHA3-256 of the canonical genesis JSON */
};

/* Creates a new data directory with genesis (block 0).  Fails with
 * LTD_E_USAGE if the directory already holds a ledger. */
LTD_MUST_CHECK enum ltd_err node_init(const char *data_dir, const struct ltd_pubkey *admin,
                                      struct node_genesis *out, struct ltd_errbuf *eb);

/* Opens a data directory and starts the applier thread. */
LTD_MUST_CHECK enum ltd_err node_open(const struct node_config *cfg, struct node **out,
                                      struct ltd_errbuf *eb);
/* Stops the applier after the block in progress, answers the waiting
 * commits with 503, closes the store. */
void node_close(struct node *n);

const struct node_genesis *node_genesis(const struct node *n);
struct store *node_store(struct node *n);

enum node_mode { NODE_ASYNC, NODE_SYNC, NODE_COMMIT };

/* Told the fate of a commit-mode submission, from the applier thread:
 * LTD_OK and the block height, or the rule it broke (4xx), or a 5xx code
 * (LTD_E_HTTP_TIMEOUT: outcome unknown; store errors: not committed). */
typedef void (*node_done_fn)(void *arg, enum ltd_err result, const struct ltd_errbuf *eb,
                             uint64_t height);

/*
 * Submits one transaction body.  Runs tx_parse and rules_check against the
 * committed state (signatures included), then appends it to the ordered
 * log.  Returns LTD_OK when accepted into the log; for NODE_COMMIT, `done`
 * is then called exactly once later.  On any other return `done` is never
 * called.  LTD_E_TX_QUEUED if the same id is already waiting;
 * LTD_E_OVERLOAD when the log is full; LTD_E_STORE_* if writes failed.
 * [out] id_hex (may be NULL) the id of the transaction when it parsed.
 * [out] echo  (may be NULL) the canonical body, for the 202 reply.
 */
LTD_MUST_CHECK enum ltd_err node_submit(struct node *n, const char *body, size_t len,
                                        enum node_mode mode, node_done_fn done, void *arg,
                                        char id_hex[65], struct buf *echo,
                                        struct ltd_errbuf *eb);

/* One committed transaction, as told to listeners. */
struct node_event {
    uint64_t height;
    char txid[65];
    char asset_id[65];
};
/* Called from the applier thread after each durable block (events in
 * block order).  Must not block for long. */
typedef void (*node_listener_fn)(void *arg, const struct store_block *b,
                                 const struct node_event *events, size_t n);
void node_add_listener(struct node *n, node_listener_fn fn, void *arg);

struct node_stats {
    uint64_t submitted, committed, rejected, blocks, queue_len, height;
    bool write_failed;
};
void node_stats(struct node *n, struct node_stats *out);

/* ---- audit ---- */
struct node_verify_report {
    uint64_t blocks, txs;
    bool ok;
    int64_t bad_height;       /* -1 if none */
    char bad_txid[65];        /* "" if none */
    char message[errmsg_bytes_max];
    double seconds;
};
/* Re-checks the hash chain from genesis, every id, every signature, every
 * spend, using `threads` worker threads for the signatures. */
LTD_MUST_CHECK enum ltd_err node_verify_dir(const char *data_dir, int threads,
                                            struct node_verify_report *rep,
                                            struct ltd_errbuf *eb);

#endif

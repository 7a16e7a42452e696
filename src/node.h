/*
 * node.h - the ledger node: genesis, the submit path (CheckTx against
 * committed state, then into the ordered log), the block applier
 * (deterministic validation against committed state plus the block being
 * built, group commit with one synced SQLite commit per block), and the
 * listeners told about every committed block.
 *
 * The ordering of transactions sits behind struct node_log (submit ->
 * ordered log -> apply).  The local log is an in-memory queue; in cluster
 * mode (cfg.etcd set, node_cluster.c) the log is etcd: every node ships its
 * batches there and applies every node's batches in etcd revision order,
 * with the same validation and storage.
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

enum { node_id_text_max = 64 };

struct node_config {
    const char *data_dir;
    bool sync_full;             /* synchronous=FULL: a commit ack means on disk */
    uint32_t block_txs_max;     /* close a block at this many transactions */
    uint32_t block_wait_us;     /* ... or when the oldest waited this long */
    uint32_t queue_max;         /* pending transactions; beyond: 503 */
    uint32_t commit_timeout_ms; /* commit-mode wait before 504 */
    int cache_mib;
    /* Cluster mode (docs: README "Cluster mode").  etcd NULL: the node runs alone. */
    const char *etcd;           /* etcd client URLs, comma-separated */
    const char *node_id;        /* NULL: the first 16 hex digits of the node key */
    const char *advertise_url;  /* this node's API URL, for the registry */
    struct ltd_seed node_seed;  /* the node key (signs heads); wiped by node_close */
    uint32_t batch_wait_ms;     /* shipper: let a batch grow this long */
    uint32_t watch_liveness_ms; /* etcd watch silence before reconnecting */
    uint32_t decoders;          /* threads decoding and pre-verifying batches */
};
void node_config_defaults(struct node_config *cfg);

/* The genesis record, written once by node_init. */
struct node_genesis {
    char chain_id[65]; /* random, hex */
    uint64_t created_ms;
    struct ltd_pubkey admin; /* the school admin's public key */
    struct ltd_hash hash;    /* SHA3-256 of the canonical genesis JSON */
};

/* Creates a new data directory with genesis (block 0).  Fails with
 * LTD_E_USAGE if the directory already holds a ledger. */
LTD_MUST_CHECK enum ltd_err node_init(const char *data_dir, const struct ltd_pubkey *admin,
                                      struct node_genesis *out, struct ltd_errbuf *eb);

/* Creates a new data directory from an existing genesis record (the
 * canonical JSON another node's init wrote to DIR/genesis.json; trailing
 * white space is ignored), so that it can join that node's cluster.
 * LTD_E_USAGE if the directory already holds a ledger, LTD_E_STORE_CORRUPT
 * (message names the problem) if the record is malformed or not canonical. */
LTD_MUST_CHECK enum ltd_err node_init_from(const char *data_dir, const char *genesis, size_t len,
                                           struct node_genesis *out, struct ltd_errbuf *eb);
/* Appends the canonical genesis record of g (no newline). */
void node_genesis_text(const struct node_genesis *g, struct buf *out);

/* Opens a data directory and starts the applier thread (in cluster mode:
 * joins the cluster first; LTD_E_CLUSTER_GENESIS when its genesis differs). */
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
                                        char id_hex[65], struct buf *echo, struct ltd_errbuf *eb);

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
    bool disk_full; /* the last block failed for want of space; the next one tries again */
};
void node_stats(struct node *n, struct node_stats *out);

/* Cluster mode: appends the "cluster" object of the ledger head (this node,
 * etcd health, every node's signed head, divergences naming node and
 * height) and returns true; false (nothing appended) for a local node. */
bool node_cluster_json(struct node *n, struct buf *out);
/* Cluster mode: appends the validators array (every registered node with
 * its key) and returns true; false for a local node. */
bool node_validators_json(struct node *n, struct buf *out);

/* ---- audit ---- */
struct node_verify_report {
    uint64_t blocks, txs;
    bool ok;
    int64_t bad_height; /* -1 if none */
    char bad_txid[65];  /* "" if none */
    char message[errmsg_bytes_max];
    double seconds;
};
/* Re-checks the hash chain from genesis, every id, every signature, every
 * spend, using `threads` worker threads for the signatures. */
LTD_MUST_CHECK enum ltd_err node_verify_dir(const char *data_dir, int threads,
                                            struct node_verify_report *rep, struct ltd_errbuf *eb);

/* `ltdrs verify --cluster`: compares the signed heads every node published
 * in etcd with the blocks of the data directory at the same heights, and
 * with each other. */
struct node_cluster_report {
    uint32_t nodes;              /* registered nodes */
    uint32_t compared;           /* heads compared with a local block */
    uint32_t divergent;          /* heads that differ or whose signature fails */
    char self[node_id_text_max]; /* this data directory's node id ("" if unknown) */
    struct buf text;             /* one line per node, then the verdict (caller releases) */
};
/* Returns LTD_OK with the report (ok when divergent == 0), or an etcd/store
 * error.  node_id: this directory's node id (may be NULL). */
LTD_MUST_CHECK enum ltd_err node_verify_cluster(const char *data_dir, const char *etcd,
                                                const char *node_id,
                                                struct node_cluster_report *rep,
                                                struct ltd_errbuf *eb);

#endif

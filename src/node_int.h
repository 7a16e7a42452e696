/*
 * node_int.h - what node.c and node_cluster.c share: the node itself, one
 * transaction on its way through the node (struct entry), and the hooks
 * between the two files.  Not for any other module: they use node.h.
 *
 * The split: node.c owns the local mode, validation and storage (submit
 * precheck, the applier thread, apply_batch, notify).  node_cluster.c owns
 * everything that talks to etcd: it replaces the local FIFO on the submit
 * side (cluster_submit: a shipper appends batches to etcd) and on the apply
 * side (cluster_take: the next batch of the ordered log).
 */
#ifndef LTD_NODE_INT_H
#define LTD_NODE_INT_H

#include "node.h"
#include "rules.h"
#include "store_ltdrs.h"

#include <pthread.h>

enum { node_listeners_max = 8 };

/* One transaction: submitted here (it owns its parse) or read from the log. */
struct entry {
    struct entry *next;
    struct arena arena; /* owns the parsed tx (unless pool is set) */
    struct arena *pool; /* from the log: the batch's arena holds the parse and
                           the applier's scratch (one arena for the whole batch) */
    struct tx tx;
    struct buf body;   /* canonical JSON */
    bool verified;     /* signatures checked (at submit, or before apply) */
    bool bad;          /* from the log: did not parse; result/eb preset */
    node_done_fn done; /* commit mode only */
    void *arg;
    uint64_t deadline_ms;
    enum ltd_err result;
    struct ltd_errbuf eb;
    uint64_t height;
    /* cluster mode, waiters only (node_cluster.c, under its lock) */
    uint64_t nseq;               /* the batch it was shipped in; 0: not yet */
    struct entry *wprev, *wnext; /* commit waiters in deadline order */
};

/* The local ordered log: a FIFO of entries. */
struct node_log {
    struct entry *head, *tail;
    uint32_t len;
};

/* Set of ids waiting in the log or in the block being applied. */
struct idset {
    struct ltd_hash *slot;
    uint8_t *used; /* 0 empty, 1 used, 2 deleted */
    size_t cap, n, tomb;
};

struct listener {
    node_listener_fn fn;
    void *arg;
};

struct cluster;

struct node {
    struct node_config cfg;
    struct store *st;
    struct node_genesis genesis;
    struct store_block head;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct node_log log;
    struct idset pending;
    bool stopping;
    bool write_failed; /* a storage failure stopped writes until restart */
    bool disk_full;    /* the last block failed for want of space (retried) */
    pthread_t applier;
    struct listener listeners[node_listeners_max];
    int n_listeners;
    struct node_stats stats;
    struct ltdrs_view domain; /* LTDRS rules over the store */
    struct cluster *cluster;  /* NULL: local mode */
};

/* ---- node.c, for node_cluster.c ---- */

/* Frees an entry and what it owns. */
void node_entry_free(struct entry *e);
/* Forgets id in the set of waiting ids (takes n->lock). */
void node_pending_del(struct node *n, const struct ltd_hash *id);

/* ---- node_cluster.c, for node.c ---- */

/* One batch of the ordered log, as the applier sees it (one block). */
struct cluster_batch {
    int64_t revision;            /* its etcd revision: its place in the order */
    char node[node_id_text_max]; /* the node that appended it */
    uint64_t nseq;               /* its place in that node's sub-log */
    uint64_t time_ms;            /* the block time proposed by that node */
    struct entry *entries;       /* in batch order; NULL when empty or skipped */
};

/* Joins the cluster cfg->etcd names for node n (genesis, registration, log
 * position from the store) and starts the cluster's threads.  The applier
 * thread must then call cluster_take.  LTD_E_CLUSTER_GENESIS when etcd holds
 * another genesis, LTD_E_ETCD_LOG_CONFLICT when the node id belongs to
 * another key, LTD_E_USAGE for a data directory that cannot join. */
LTD_MUST_CHECK enum ltd_err cluster_open(struct node *n, struct cluster **out,
                                         struct ltd_errbuf *eb);
/* Stops every cluster thread and wakes cluster_take (which then returns
 * NULL).  Waiters are answered later, by cluster_free. */
void cluster_stop(struct cluster *cl);
/* After the applier has stopped: answers every waiter still waiting (504:
 * its transaction may still be ordered) and frees everything. */
void cluster_free(struct cluster *cl);

/* LTD_OK when writes may be accepted now, else LTD_E_ETCD_UNAVAILABLE (no
 * quorum) or the error that stopped writes. */
LTD_MUST_CHECK enum ltd_err cluster_writable(struct cluster *cl, struct ltd_errbuf *eb);
/* Waits (at most timeout_ms) until every batch in the log when this is
 * called has been applied here: a transaction acknowledged by any node is
 * then visible.  False on timeout or when etcd cannot be asked. */
bool cluster_sync(struct cluster *cl, unsigned timeout_ms);
/* Hands a prechecked entry to the shipper (ownership passes on LTD_OK).
 * LTD_E_TX_QUEUED (same id waiting), LTD_E_OVERLOAD, LTD_E_ETCD_UNAVAILABLE. */
LTD_MUST_CHECK enum ltd_err cluster_submit(struct cluster *cl, struct entry *en,
                                           struct ltd_errbuf *eb);
/* Pending and shipped-but-not-applied transactions (for stats). */
uint32_t cluster_waiting(struct cluster *cl);

/* Applier thread: the next batch in log order (blocking), NULL when
 * stopping.  Also answers commit waiters past their deadline (504). */
struct cluster_batch *cluster_take(struct cluster *cl);
/* The log position after cb, for the store's meta row "cluster_pos"
 * (written in cb's block transaction). */
void cluster_position_json(struct cluster *cl, const struct cluster_batch *cb, struct buf *out);
/* After cb was applied (b written when n_tx > 0): advances the position,
 * attaches the commit waiters of cb's transactions to its entries (node.c's
 * notify then answers them) and schedules the head publication. */
void cluster_applied(struct cluster *cl, struct cluster_batch *cb, const struct store_block *b,
                     uint32_t n_tx);
void cluster_batch_free(struct cluster_batch *cb);

/* The "cluster" object of the ledger head, and the validators list. */
void cluster_status_json(struct cluster *cl, struct buf *out);
void cluster_validators_json(struct cluster *cl, struct buf *out);

#endif

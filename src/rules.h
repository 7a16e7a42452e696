/*
 * rules.h - ledger validation against a view of the state: BigchainDB's
 * stateful steps (§1.6 8C-14T) in the reference's order, then the
 * stateless tightenings (tx_check_strict).  Pure: the view is the only way
 * to the state, and nothing here reads a clock, randomness or does I/O of
 * its own, so the same ordered transactions give the same verdicts on every
 * node (deterministic validation).
 *
 * LTDRS domain rules will hang off the same entry point (rules_check calls
 * them after the BigchainDB rules).
 */
#ifndef LTD_RULES_H
#define LTD_RULES_H

#include "err.h"
#include "tx.h"

/* One spendable output as the view reports it. */
struct rules_output {
    uint64_t amount;
    bool spent;
    struct ltd_hash asset_id;
    const struct cc_details *details; /* arena-owned by the view's caller */
};

struct ltdrs_view;

struct rules_view {
    void *ctx;
    /* LTDRS domain rules, checked after BigchainDB's; NULL = plain BigchainDB. */
    const struct ltdrs_view *domain;
    /* *exists = whether a transaction with this id is committed (or earlier
     * in the block being built).  Returns LTD_OK or a store error. */
    enum ltd_err (*tx_exists)(void *ctx, const struct ltd_hash *id, bool *exists,
                              struct ltd_errbuf *eb);
    /* The output (txid, index): LTD_E_INPUT_MISSING if the tx is unknown,
     * LTD_E_OUTPUT_INDEX if it has no such output, else fills *out. */
    enum ltd_err (*output)(void *ctx, struct arena *a, const struct ltd_hash *txid, uint64_t index,
                           struct rules_output *out, struct ltd_errbuf *eb);
};

enum rules_flags {
    /* Signatures were already verified against the same immutable outputs
     * (the node's precheck); skip the Ed25519 work. */
    RULES_SIGS_VERIFIED = 1 << 0,
};

/*
 * Validates t (already through tx_parse) against the view.  Returns LTD_OK
 * or the first failure in reference order: DuplicateTransaction (CREATE),
 * InvalidSignature (CREATE), InputDoesNotExist, DoubleSpend, AssetIdMismatch,
 * AmountError, InvalidSignature (TRANSFER), then the tightenings.  Store
 * errors from the view come back unchanged (5xx).
 */
LTD_MUST_CHECK enum ltd_err rules_check(const struct rules_view *v, struct arena *a,
                                        const struct tx *t, unsigned flags, struct ltd_errbuf *eb);

#endif
